//! One index over many packs (as git's multi-pack-index): a store with a
//! long history has a pack or two per snapshot, and a lookup that probed
//! every pack's index in turn cost more with every snapshot. The combined
//! index is built in memory from the loaded pack indexes once there are
//! more than [`UNCOVERED_MAX`] packs it does not cover, so a lookup
//! searches it once and then at most that many newer packs.

use std::sync::Arc;

use crate::id::ObjectId;
use crate::pack::{Location, PackIndex};

/// Most packs left outside the combined index before it is built again.
pub(crate) const UNCOVERED_MAX: usize = 8;

/// The entries of the first [`MultiIndex::covered`] packs, sorted by id.
pub(crate) struct MultiIndex {
    /// How many of the store's packs (the first ones, in load order) it
    /// covers.
    pub(crate) covered: usize,
    /// Object ids, sorted (one entry per id: the newest pack holding it).
    ids: Vec<[u8; 32]>,
    /// For each id, its pack (place in the store's list) and entry.
    at: Vec<(u32, u32)>,
    /// `fanout[b]..fanout[b + 1]`: the ids whose first byte is `b`.
    fanout: Box<[u32; 257]>,
}

impl MultiIndex {
    /// Combines the indexes of `packs`. Ids are hashes, spread evenly: the
    /// entries are placed by their first two bytes (a counting sort), then
    /// each of those buckets, of about one entry, is sorted by id. Sorting
    /// all the entries by whole id cost a store of ten packs more than the
    /// rest of a `diff`.
    pub(crate) fn build(packs: &[Arc<PackIndex>]) -> MultiIndex {
        const BUCKETS: usize = 1 << 16;
        let bucket = |prefix: u64| (prefix >> 48) as usize;
        let total: usize = packs.iter().map(|p| p.count()).sum();
        let mut starts = vec![0u32; BUCKETS + 1];
        for p in packs {
            for e in 0..p.count() {
                starts[bucket(p.prefix_at(e)) + 1] += 1;
            }
        }
        for b in 0..BUCKETS {
            starts[b + 1] += starts[b];
        }
        let mut next = starts.clone();
        let mut keys: Vec<(u64, u32, u32)> = vec![(0, 0, 0); total];
        for (pi, p) in packs.iter().enumerate() {
            for e in 0..p.count() {
                let prefix = p.prefix_at(e);
                let at = &mut next[bucket(prefix)];
                keys[*at as usize] = (prefix, pi as u32, e as u32);
                *at += 1;
            }
        }
        // by id, the newest pack first: the copy kept is the one a probe of
        // the packs newest-first would find
        let id = |k: &(u64, u32, u32)| packs[k.1 as usize].id_at(k.2 as usize);
        for b in 0..BUCKETS {
            let run = &mut keys[starts[b] as usize..starts[b + 1] as usize];
            if run.len() > 1 {
                run.sort_unstable_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| id(a).cmp(&id(b)))
                        .then(b.1.cmp(&a.1))
                });
            }
        }
        let mut entries: Vec<([u8; 32], u32, u32)> = Vec::with_capacity(total);
        for k in &keys {
            let full = id(k);
            if entries.last().is_none_or(|last| last.0 != full) {
                entries.push((full, k.1, k.2));
            }
        }
        let mut fanout = Box::new([0u32; 257]);
        for (id, _, _) in &entries {
            fanout[id[0] as usize + 1] += 1;
        }
        for b in 0..256 {
            fanout[b + 1] += fanout[b];
        }
        let (ids, at) = entries.into_iter().map(|(id, p, e)| (id, (p, e))).unzip();
        MultiIndex {
            covered: packs.len(),
            ids,
            at,
            fanout,
        }
    }

    /// The pack (its place in the store's list) and the location of an
    /// object, if a covered pack holds it.
    pub(crate) fn find(
        &self,
        packs: &[Arc<PackIndex>],
        id: &ObjectId,
    ) -> Option<(usize, Location)> {
        let key = &id.hash().0;
        let b = key[0] as usize;
        let range = self.fanout[b] as usize..self.fanout[b + 1] as usize;
        let i = self.ids[range.clone()].binary_search(key).ok()? + range.start;
        let (pi, e) = self.at[i];
        let pack = packs.get(pi as usize)?;
        Some((pi as usize, pack.entry(e as usize).1))
    }
}

/// Finds an object in `packs`: the packs `multi` does not cover, newest
/// first, then `multi` (or, without it, every pack newest first).
pub(crate) fn locate(
    packs: &[Arc<PackIndex>],
    multi: Option<&MultiIndex>,
    id: &ObjectId,
) -> Option<(usize, Location)> {
    let covered = multi.map_or(0, |m| m.covered.min(packs.len()));
    let newer = packs[covered..]
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, p)| p.find(id).map(|loc| (covered + i, loc)));
    newer.or_else(|| multi.and_then(|m| m.find(packs, id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{ObjType, PackWriter};

    /// Pack `p` holds objects `p*10 .. p*10+20` (each shared with the next
    /// pack): returns the indexes and, per object, the newest pack with it.
    fn packs(n: usize) -> (Vec<Arc<PackIndex>>, Vec<(ObjectId, usize)>) {
        let obj = |i: usize| format!("object {i}").into_bytes();
        let mut out = Vec::new();
        for p in 0..n {
            let mut w = PackWriter::new();
            for i in p * 10..p * 10 + 20 {
                w.add(ObjectId::of(&obj(i)), ObjType::Blob, &obj(i));
            }
            let (_, idx, name) = w.finish();
            out.push(Arc::new(PackIndex::parse(name, idx, "idx").unwrap()));
        }
        let newest = (0..n * 10 + 10)
            .map(|i| (ObjectId::of(&obj(i)), (i / 10).min(n - 1)))
            .collect();
        (out, newest)
    }

    #[test]
    fn combined_index_finds_what_probing_every_pack_finds() {
        let (all, newest) = packs(40);
        for covered in [0, 1, 17, 40] {
            let multi = (covered > 0).then(|| MultiIndex::build(&all[..covered]));
            for (id, pack) in &newest {
                let (found, loc) = locate(&all, multi.as_ref(), id)
                    .unwrap_or_else(|| panic!("{id} not found ({covered} covered)"));
                assert_eq!(found, *pack, "{id} ({covered} covered)");
                assert_eq!(Some(loc), all[found].find(id));
            }
            let missing = ObjectId::of(b"never written");
            assert!(locate(&all, multi.as_ref(), &missing).is_none());
        }
    }

    #[test]
    fn combined_index_keeps_one_entry_per_object() {
        let (all, newest) = packs(12);
        let multi = MultiIndex::build(&all);
        assert_eq!(multi.ids.len(), newest.len());
        assert!(multi.ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(multi.fanout[256] as usize, newest.len());
    }

    /// Ids are hashes and spread evenly, but a crafted store's need not:
    /// ids sharing their first bytes (one bucket of the counting sort, and
    /// equal eight-byte prefixes) still come out sorted, once each, the
    /// newest pack's copy kept.
    #[test]
    fn ids_sharing_their_first_bytes_are_still_sorted_and_found() {
        let id = |i: u8, j: u8| {
            let mut h = [0xabu8; 32];
            h[20] = i;
            h[31] = j;
            ObjectId::from(rewind_model::Hash(h))
        };
        let mut all = Vec::new();
        for p in 0..3u8 {
            let mut w = PackWriter::new();
            // pack p holds (i, j) for i in p..p+3: each shared with the
            // next pack
            for i in p..p + 3 {
                for j in [9u8, 1, 5] {
                    w.add(id(i, j), ObjType::Blob, &[p, i, j]);
                }
            }
            let (_, idx, name) = w.finish();
            all.push(Arc::new(PackIndex::parse(name, idx, "idx").unwrap()));
        }
        let multi = MultiIndex::build(&all);
        assert!(multi.ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(multi.ids.len(), 5 * 3);
        for i in 0..5u8 {
            for j in [1u8, 5, 9] {
                let (pack, _) = multi.find(&all, &id(i, j)).unwrap();
                assert_eq!(
                    pack,
                    usize::from(i.min(2)),
                    "({i}, {j}): the newest pack holding it"
                );
            }
        }
    }
}
