//! `rekey` that rotates: a fresh sealing key, every pack re-sealed with
//! it, the old packs deleted; object ids and snapshot ids unchanged
//! (docs/store-format.md §22.6).
//!
//! The order makes a rotation killed at any moment leave a store that
//! opens with the old user key or the new one, and verifies with it:
//!
//! 1. the new packs are written without their indexes (readers, verify
//!    and the old key never see them; gc removes them if the rotation
//!    dies here);
//! 2. the config is replaced, conditionally: the new user key now wraps
//!    the data key, the new sealing key and the retired ones, so both the
//!    old packs and the new ones open (the old user key no longer does);
//! 3. the new packs' indexes are written, then the old packs deleted
//!    (index first);
//! 4. the config is replaced again without the retired keys.
//!
//! Killed between 2 and 4, the store is whole with the new user key and
//! `verify` says the rotation is unfinished: running `rekey` again
//! rotates once more and finishes.

use std::collections::HashSet;
use std::sync::Arc;

use rewind_model::Hash;

use crate::backend::{Cond, Put, Version};
use crate::crypt::{KeySlot, Keys, UserKey};
use crate::error::{Error, Result};
use crate::gc::{GcReport, Rewrite};
use crate::pack::PackWriter;
use crate::store::{Config, Store, ROTATION_VERSION};

/// What a key rotation did.
#[derive(Debug, Default, Clone)]
pub struct RotateReport {
    /// The sealing key generation the store is now at.
    pub generation: u32,
    /// Packs re-sealed and deleted.
    pub removed_packs: usize,
    /// Packs written, sealed with the new key.
    pub written_packs: usize,
    /// Objects copied into them.
    pub objects: usize,
    /// Bytes of the packs written.
    pub bytes: u64,
    /// Packs without an index (interrupted writes) deleted with the old
    /// ones: a local store's lock proves no snapshot is writing them.
    pub removed_unindexed: usize,
    /// Packs without an index left in place (a remote store has no lock:
    /// one may be a running snapshot's); `gc` removes them.
    pub unindexed_left: usize,
    /// Local cache folders removed (sealed with the old key).
    pub caches_dropped: Vec<String>,
    /// True once every step ran (false when stopped by a test hook).
    pub finished: bool,
}

/// What step 1 of a rotation leaves for the others.
#[derive(Default)]
struct Staged {
    /// The new packs, written without their indexes: name and index.
    packs: Vec<(Hash, Vec<u8>)>,
    /// The keys of the old packs and indexes to delete (index first).
    old: Vec<String>,
    /// Packs without an index found in the listing.
    unindexed: Vec<String>,
}

/// Where [`Store::rotate_key_until`] stops, as if killed right after
/// that step (tests of crash safety).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotateStep {
    /// The new packs are written, without their indexes.
    Packs,
    /// The config names the new sealing key and keeps the retired ones.
    Config,
    /// The new packs' indexes are written.
    Indexes,
    /// The old packs are deleted.
    Deletes,
}

impl Store {
    /// Rotates the keys of an encrypted store: a fresh random sealing key
    /// of the next generation seals a copy of every pack, the new config
    /// (the data key, so every id, unchanged; every key wrapped by `new`
    /// only) replaces the old one conditionally, and only then are the
    /// old packs deleted and the local caches sealed with the old key
    /// dropped. Afterwards neither the old user key nor the old sealing
    /// key opens anything in the store. Takes the store's lock, as `gc`
    /// does. The value is consumed: its keys are the old ones; open the
    /// store again with `new`.
    pub fn rotate_key(self, new: &UserKey) -> Result<RotateReport> {
        self.rotate_key_until(new, None)
    }

    /// [`Store::rotate_key`], stopping after `stop` as if killed there.
    #[doc(hidden)]
    pub fn rotate_key_until(self, new: &UserKey, stop: Option<RotateStep>) -> Result<RotateReport> {
        let keys = self.open_keys("rekey")?;
        let _lock = self.exclusive_lock()?;
        let (config, version) = Self::read_config(self.backend(), self.location())?;
        self.check_keys_current(&config, &keys)?;
        let rotated = Arc::new(keys.rotated()?);
        // wrapped before anything is written: a KMS that fails stops here
        let slot = rotated.wrap(new)?;
        let mut report = RotateReport {
            generation: rotated.generation,
            ..RotateReport::default()
        };

        // 1. every object into new packs, sealed with the new key; no
        // index yet
        let staged = self.reseal_packs(&rotated, &mut report)?;
        if stop == Some(RotateStep::Packs) {
            return Ok(report);
        }

        // 2. the commit: the new user key opens the store, and every pack
        // (old or new) opens with the keys it wraps
        self.commit_rotation(config, version, &rotated, slot, &staged)?;
        if stop == Some(RotateStep::Config) {
            return Ok(report);
        }

        // 3. the new packs become visible, then the old ones go
        self.publish_staged(&staged)?;
        if stop == Some(RotateStep::Indexes) {
            return Ok(report);
        }
        self.delete_resealed(&staged, &mut report)?;
        // one combined index of the re-sealed packs, for the next open
        self.rebuild_multi_index()?;
        if stop == Some(RotateStep::Deletes) {
            return Ok(report);
        }

        // 4. the retired keys leave the config, unless a pack sealed with
        // one appeared meanwhile (a remote store has no lock)
        self.check_no_strays(&staged)?;
        self.settle(new, &rotated)?;
        report.caches_dropped = self.drop_sealed_caches();
        report.finished = true;
        Ok(report)
    }

    /// The config still holds the keys this store was opened with: another
    /// rekey did not run since.
    fn check_keys_current(&self, config: &Config, keys: &Keys) -> Result<()> {
        let desc = self.describe();
        let Some(enc) = config.encryption.as_ref() else {
            return Err(Error::Config(format!(
                "{desc} (config): its encryption disappeared while it was open"
            )));
        };
        if enc.fingerprint != keys.fingerprint || enc.generation != keys.generation {
            return Err(Error::Config(format!(
                "{desc} (config): its data key or sealing key changed while it was open (another rekey?); nothing was written, try again"
            )));
        }
        Ok(())
    }

    /// Step 1: copies every object of every indexed pack into new packs
    /// sealed with `rotated`, written without their indexes. On failure
    /// the packs written so far are deleted.
    fn reseal_packs(&self, rotated: &Arc<Keys>, report: &mut RotateReport) -> Result<Staged> {
        let listing = self.list_packs()?;
        let mut rewrite = Rewrite::new(Some(rotated.clone()));
        let mut counts = GcReport::default();
        let mut staged = Staged::default();
        let result = (|| -> Result<()> {
            for (name, key) in &listing.packs {
                if !listing.indexed.contains(name) {
                    staged.unindexed.push(key.clone());
                    continue;
                }
                self.sweep_pack(*name, key, &|_| true, true, &mut rewrite, &mut counts)?;
                for w in rewrite.take_full(false) {
                    staged.packs.extend(self.stage_pack(w, report)?);
                }
            }
            for w in rewrite.take_full(true) {
                staged.packs.extend(self.stage_pack(w, report)?);
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.unstage(&staged.packs);
            return Err(e);
        }
        report.objects = rewrite.copied();
        report.removed_packs = counts.removed_packs;
        staged.old = rewrite.delete;
        Ok(staged)
    }

    /// Step 2: one conditional write of the config wrapping the new and
    /// the retired sealing keys under the new user key. A conflict deletes
    /// the staged packs and changes nothing.
    fn commit_rotation(
        &self,
        mut config: Config,
        version: Version,
        rotated: &Keys,
        slot: KeySlot,
        staged: &Staged,
    ) -> Result<()> {
        config.version = config.version.max(ROTATION_VERSION);
        if let Some(enc) = config.encryption.as_mut() {
            rotated.describe_into(enc, slot);
        }
        let committed = self
            .backend()
            .put("config", &config.encode(), Cond::Match(version))?;
        if committed == Put::Conflict {
            self.unstage(&staged.packs);
            return Err(Error::Config(format!(
                "{} (config) changed while its key was being rotated (another rekey?); nothing was changed, try again",
                self.describe()
            )));
        }
        Ok(())
    }

    /// Step 3, first half: the staged packs' indexes, which make them
    /// visible to readers.
    fn publish_staged(&self, staged: &Staged) -> Result<()> {
        for (name, idx) in &staged.packs {
            let hex = name.to_hex();
            self.backend()
                .put(&format!("packs/{hex}.idx"), idx, Cond::Always)?;
            self.write_cache(&format!("idx/{hex}.idx"), idx);
        }
        Ok(())
    }

    /// Step 3, second half: the old packs (each index before its pack)
    /// and, in a local store, the packs without an index.
    fn delete_resealed(&self, staged: &Staged, report: &mut RotateReport) -> Result<()> {
        for key in &staged.old {
            self.backend().delete(key)?;
        }
        if self.backend().local_root().is_some() {
            for key in &staged.unindexed {
                self.backend().delete(key)?;
            }
            report.removed_unindexed = staged.unindexed.len();
        } else {
            report.unindexed_left = staged.unindexed.len();
        }
        Ok(())
    }

    /// Step 4's check: no index appeared that step 1 did not write (a
    /// snapshot of a remote store, which has no lock, may have sealed a
    /// pack with a retired key meanwhile).
    fn check_no_strays(&self, staged: &Staged) -> Result<()> {
        let ours: HashSet<Hash> = staged.packs.iter().map(|(n, _)| *n).collect();
        let strays: Vec<String> = self
            .list_packs()?
            .indexed
            .iter()
            .filter(|n| !ours.contains(n))
            .map(|n| format!("packs/{}.pack", n.to_hex()))
            .collect();
        if let Some(first) = strays.first() {
            return Err(Error::Config(format!(
                "{}: {} pack{} written during the rotation ({first}{}) may be sealed with the retired key, which the config keeps for now (the new key opens everything); run `rewind rekey` again once no snapshot is running",
                self.describe(),
                strays.len(),
                if strays.len() == 1 { " was" } else { "s were" },
                if strays.len() > 1 { ", …" } else { "" }
            )));
        }
        Ok(())
    }

    /// Step 4: the config again, conditionally, with one slot wrapping the
    /// data key and the new sealing key only.
    fn settle(&self, new: &UserKey, rotated: &Keys) -> Result<()> {
        let desc = self.describe();
        let (mut config, version) = Self::read_config(self.backend(), self.location())?;
        let settled = rotated.settled();
        let slot = settled.wrap(new)?;
        let Some(enc) = config.encryption.as_mut() else {
            return Err(Error::Config(format!(
                "{desc} (config): its encryption disappeared during the rotation"
            )));
        };
        if enc.generation != settled.generation || enc.fingerprint != settled.fingerprint {
            return Err(Error::Config(format!(
                "{desc} (config) changed during the rotation (another rekey?); run `rewind rekey` again"
            )));
        }
        settled.describe_into(enc, slot);
        if self
            .backend()
            .put("config", &config.encode(), Cond::Match(version))?
            == Put::Conflict
        {
            return Err(Error::Config(format!(
                "{desc} (config) changed during the rotation (another rekey?); the retired key stays in it: run `rewind rekey` again"
            )));
        }
        Ok(())
    }

    /// Writes a new pack without its index; returns its name and index.
    fn stage_pack(
        &self,
        w: PackWriter,
        report: &mut RotateReport,
    ) -> Result<Option<(Hash, Vec<u8>)>> {
        if w.is_empty() {
            return Ok(None);
        }
        let (pack, idx, name) = w.try_finish()?;
        self.backend().put(
            &format!("packs/{}.pack", name.to_hex()),
            &pack,
            Cond::Always,
        )?;
        report.written_packs += 1;
        report.bytes += pack.len() as u64;
        Ok(Some((name, idx)))
    }

    /// Deletes staged packs after a failure (best effort: gc removes
    /// whatever is left, packs without an index).
    fn unstage(&self, staged: &[(Hash, Vec<u8>)]) {
        for (name, _) in staged {
            let _ = self
                .backend()
                .delete(&format!("packs/{}.pack", name.to_hex()));
        }
    }

    /// Removes this machine's cache folders that hold what the old key
    /// sealed: `dirs/` (stat and parse caches) and `ranges/` (a remote
    /// store's blocks). They are accelerators: snapshots rebuild them.
    fn drop_sealed_caches(&self) -> Vec<String> {
        let Some(dir) = self.cache_dir() else {
            return Vec::new();
        };
        ["dirs", "ranges"]
            .iter()
            .map(|sub| dir.join(sub))
            .filter(|p| p.is_dir() && std::fs::remove_dir_all(p).is_ok())
            .map(|p| p.display().to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypt::Crypt;
    use crate::pack::{open_block, ObjType, PackIndex};
    use crate::tree::TreeFile;
    use crate::writer::ObjectWriter;

    fn key(s: &str) -> UserKey {
        UserKey::Secret {
            secret: s.as_bytes().to_vec(),
            origin: "the test".into(),
        }
    }

    /// Every block of every indexed pack: (pack key, header+body bytes).
    fn blocks(store: &Store) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for l in store.backend().list("packs/").unwrap() {
            let Some(hex) = l.key.strip_suffix(".idx") else {
                continue;
            };
            let name = Hash::from_hex(hex.trim_start_matches("packs/")).unwrap();
            let (idx, _) = store.backend().get(&l.key).unwrap().unwrap();
            let idx = PackIndex::parse(name, idx, "t").unwrap();
            let (pack, _) = store
                .backend()
                .get(&format!("{hex}.pack"))
                .unwrap()
                .unwrap();
            let mut seen = HashSet::new();
            for (_, loc) in idx.iter() {
                if seen.insert(loc.block) {
                    let b =
                        &pack[loc.block as usize..(loc.block + u64::from(loc.block_len)) as usize];
                    out.push((format!("{hex}.pack"), b.to_vec()));
                }
            }
        }
        out
    }

    /// A store holding a tree of two files in two packs.
    fn store(dir: &std::path::Path) -> (Store, Vec<crate::id::ObjectId>) {
        let _ = std::fs::remove_dir_all(dir);
        let store = Store::init_with(
            dir.to_str().unwrap(),
            &crate::InitOptions {
                encrypt: Some(key("the key before rotation")),
                ..Default::default()
            },
        )
        .unwrap();
        let mut ids = Vec::new();
        for (i, content) in [
            &b"resource \"aws_db_instance\" \"db\" { password = \"Wq9xZp4LmT2v\" }\n"[..],
            &b"variable \"region\" { default = \"eu-west-1\" }\n"[..],
        ]
        .iter()
        .enumerate()
        {
            let id = store.object_id(content);
            let mut w = ObjectWriter::new(&store);
            w.add(id, ObjType::Blob, content).unwrap();
            w.add_tree(&[TreeFile {
                path: format!("f{i}.tf"),
                executable: false,
                link: false,
                size: content.len() as u64,
                id,
            }])
            .unwrap();
            w.finish().unwrap();
            ids.push(id);
        }
        (store, ids)
    }

    #[test]
    fn after_a_rotation_no_block_opens_with_the_old_keys() {
        let dir = std::env::temp_dir().join(format!("rewind-rotate-old-{}", std::process::id()));
        let (store, ids) = store(&dir);
        let old = Crypt::Open(store.open_keys("t").unwrap());
        let before = blocks(&store);
        assert!(before.len() >= 2);
        for (k, b) in &before {
            assert!(open_block(b, &old, &|| k.clone()).is_ok());
        }
        let r = store.rotate_key(&key("the key after rotation")).unwrap();
        assert!(r.finished && r.generation == 1, "{r:?}");
        assert_eq!(r.removed_packs, 2, "{r:?}");
        let again =
            Store::open_with(dir.to_str().unwrap(), Some(&key("the key after rotation"))).unwrap();
        let new = Crypt::Open(again.open_keys("t").unwrap());
        let after = blocks(&again);
        assert!(!after.is_empty());
        for (k, b) in &after {
            let e = open_block(b, &old, &|| k.clone()).unwrap_err().to_string();
            assert!(e.contains("does not authenticate"), "{e}");
            assert!(open_block(b, &new, &|| k.clone()).is_ok());
        }
        // the same ids, the same bytes; no retired key left
        assert_eq!(
            again.object_id(b"variable \"region\" { default = \"eu-west-1\" }\n"),
            ids[1]
        );
        assert_eq!(
            again.get_many(&ids).unwrap()[1],
            b"variable \"region\" { default = \"eu-west-1\" }\n"
        );
        let (config, _) = Store::read_config(again.backend(), again.location()).unwrap();
        let enc = config.encryption.unwrap();
        assert_eq!((config.version, enc.generation), (ROTATION_VERSION, 1));
        assert!(enc.retired.is_empty());
        assert!(again.verify().unwrap().ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
