//! Rolling small packs up (git's geometric repack): every snapshot writes
//! a pack or two, and a store with a long history would otherwise hold
//! thousands of them, each index read by every command that opens the
//! store. After a snapshot, once there are more than
//! [`PACKS_BEFORE_ROLLUP`] packs, the smallest ones are copied into one
//! new pack, chosen so that each pack left is at least twice the size (in
//! objects) of all the smaller ones together: the number of packs stays
//! logarithmic in the number of objects, and an object is copied a
//! logarithmic number of times over the store's life.
//!
//! Nothing is lost at any moment: the new pack is written (pack, then
//! index) before the old ones are deleted, every object of a rolled-up
//! pack is copied whether anything reaches it or not (that is gc's
//! decision), and a reader that finds a pack gone lists the packs again.
//! It runs only under the store's exclusive lock, taken without waiting: a
//! snapshot or gc running meanwhile makes it a no-op, left to the next
//! snapshot. Stores without a lock file (object storage) are left to `gc`.

use std::time::Duration;

use rewind_model::Hash;

use crate::error::Result;
use crate::gc::{GcReport, Rewrite};
use crate::lock;
use crate::pack::PackIndex;
use crate::store::Store;

/// Packs a store keeps before a snapshot rolls the small ones up.
pub const PACKS_BEFORE_ROLLUP: usize = 16;

/// How many of the packs, sorted by size (smallest first), to roll up into
/// one so that each pack left is at least twice all smaller ones together
/// (0 or 1: nothing to do).
pub(crate) fn rollup_count(sizes: &[u64]) -> usize {
    // from the largest down, the first pack that is not twice the one
    // below it: it and everything smaller go
    let mut split = 0;
    for i in (1..sizes.len()).rev() {
        if sizes[i] < 2 * sizes[i - 1] {
            split = i + 1;
            break;
        }
    }
    if split == 0 {
        return 0;
    }
    // the rolled-up pack may now be too large for the next ones: take them
    // too while they are less than twice it
    let mut rolled: u64 = sizes[..split].iter().sum();
    while split < sizes.len() && sizes[split] < 2 * rolled {
        rolled += sizes[split];
        split += 1;
    }
    split
}

impl Store {
    /// Rolls the smallest packs up into one when the store holds more
    /// than [`PACKS_BEFORE_ROLLUP`] (see the module documentation). `None`
    /// when there was nothing to do, or the store is busy or has no lock
    /// file; the packs written and removed otherwise.
    pub fn roll_up_packs(&self) -> Result<Option<GcReport>> {
        let Some(lock_path) = self.gc_lock_path() else {
            return Ok(None);
        };
        if self.list_packs()?.packs.len() <= PACKS_BEFORE_ROLLUP {
            return Ok(None);
        }
        let Ok(_lock) = lock::exclusive(lock_path, Duration::ZERO, Duration::ZERO, "busy") else {
            return Ok(None);
        };
        self.require_key("roll up packs")?;
        // listed again under the lock; an unindexed pack is a write in
        // progress or interrupted (gc's to judge)
        let listing = self.list_packs()?;
        let mut sized: Vec<(u64, Hash, String)> = Vec::new();
        for (name, key) in &listing.packs {
            if !listing.indexed.contains(name) {
                continue;
            }
            let idx_key = format!("packs/{}.idx", name.to_hex());
            let Some(bytes) = self.backend().get_data(&idx_key)? else {
                continue;
            };
            let idx = PackIndex::parse(*name, bytes, &idx_key)?;
            sized.push((idx.count() as u64, *name, key.clone()));
        }
        if sized.len() <= PACKS_BEFORE_ROLLUP {
            return Ok(None);
        }
        sized.sort();
        let sizes: Vec<u64> = sized.iter().map(|(n, _, _)| *n).collect();
        let n = rollup_count(&sizes);
        if n < 2 {
            return Ok(None);
        }
        let mut rewrite = Rewrite::new(self.sealing_keys());
        let mut report = GcReport::default();
        for (_, name, key) in &sized[..n] {
            self.sweep_pack(*name, key, &|_| true, true, &mut rewrite, &mut report)?;
        }
        // the new packs first, then the old ones go
        for w in rewrite.packs {
            if !w.is_empty() {
                self.write_pack(w)?;
                report.written_packs += 1;
            }
        }
        for key in rewrite.delete {
            self.backend().delete(&key)?;
        }
        // one combined index of the packs left, for the next open
        self.rebuild_multi_index()?;
        Ok(Some(report))
    }
}

#[cfg(test)]
mod tests {
    use super::rollup_count;

    #[test]
    fn a_geometric_progression_is_left_alone() {
        assert_eq!(rollup_count(&[1, 2, 4, 8, 16]), 0);
        assert_eq!(rollup_count(&[10, 1000]), 0);
    }

    #[test]
    fn small_packs_roll_up_until_the_rest_is_twice_them() {
        // a snapshot's worth of objects each, beside the first big one
        assert_eq!(rollup_count(&[3, 3, 3, 3, 24_000]), 4);
        // the rolled-up 12 is not twice smaller than 20: it goes too
        assert_eq!(rollup_count(&[3, 3, 3, 3, 20, 24_000]), 5);
        assert_eq!(rollup_count(&[5, 5]), 2);
    }
}
