//! `gc`: remove what no ref or ref-log entry reaches, marking first and
//! deleting later (docs/store-format.md §15).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use rewind_model::Hash;

use crate::error::{corrupt, Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::model::Group;
use crate::pack::{ObjType, PackIndex, PackWriter};
use crate::record::snapshot_key;
use crate::refs::Refs;
use crate::store::{Store, PACK_SPLIT};
use crate::tree::EntryKind;
use crate::verify::pack_name;

/// What `gc` did (or would do with `dry_run`).
#[derive(Debug, Default)]
pub struct GcReport {
    /// Snapshot records no ref reached.
    pub removed_snapshots: usize,
    /// Objects only they (or nothing) used.
    pub removed_objects: usize,
    /// The bytes of those objects.
    pub removed_bytes: u64,
    /// Packs removed (rewritten, or left without an index).
    pub removed_packs: usize,
    /// Packs written with the live objects of rewritten ones.
    pub written_packs: usize,
    /// Objects kept.
    pub kept_objects: usize,
    /// Temporary files removed.
    pub removed_temp: usize,
}

/// The packs of a store, as listed.
pub(crate) struct PackListing {
    /// Every `.pack` key with its name.
    pub(crate) packs: Vec<(Hash, String)>,
    /// Modification times of the packs.
    times: HashMap<Hash, SystemTime>,
    /// Packs that have an index.
    pub(crate) indexed: HashSet<Hash>,
}

/// The live objects of the packs being rewritten, and what goes away
/// (gc's, and a key rotation's: docs/store-format.md §15, §22.6).
pub(crate) struct Rewrite {
    /// The new packs; the last one is being filled.
    pub(crate) packs: Vec<PackWriter>,
    copied: HashSet<ObjectId>,
    /// Keys to delete once the new packs are written (index before pack).
    pub(crate) delete: Vec<String>,
    /// What new packs are sealed with.
    keys: Option<std::sync::Arc<crate::crypt::Keys>>,
}

impl Rewrite {
    /// An empty rewrite whose packs are sealed with `keys`.
    pub(crate) fn new(keys: Option<std::sync::Arc<crate::crypt::Keys>>) -> Rewrite {
        Rewrite {
            packs: vec![PackWriter::sealed(keys.clone())],
            copied: HashSet::new(),
            delete: Vec::new(),
            keys,
        }
    }

    /// Objects copied so far (each once).
    pub(crate) fn copied(&self) -> usize {
        self.copied.len()
    }

    /// The packs filled up to [`PACK_SPLIT`], taken out (all of them with
    /// `all`, the one being filled too).
    pub(crate) fn take_full(&mut self, all: bool) -> Vec<PackWriter> {
        let keep = if all { 0 } else { 1 };
        let n = self.packs.len().saturating_sub(keep);
        let out: Vec<PackWriter> = self.packs.drain(..n).collect();
        if self.packs.is_empty() {
            self.packs.push(PackWriter::sealed(self.keys.clone()));
        }
        out
    }
}

impl Store {
    /// Every snapshot reachable from a ref or a ref-log entry, with their
    /// ancestors.
    pub(crate) fn reachable_snapshots(&self, refs: &Refs) -> Result<HashSet<SnapshotId>> {
        let mut todo: Vec<SnapshotId> = refs.named_ids();
        for e in self.full_log(refs)? {
            todo.extend(e.old);
            todo.extend(e.new);
        }
        let mut seen = HashSet::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            match self.record(&id) {
                Ok(rec) => todo.extend(rec.parent),
                Err(Error::MissingSnapshot(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(seen)
    }

    /// Every object a set of snapshots needs (and the ref log's chunks).
    pub(crate) fn reachable_objects(
        &self,
        snapshots: &HashSet<SnapshotId>,
        refs: &Refs,
    ) -> Result<HashSet<ObjectId>> {
        let mut objs: HashSet<ObjectId> = refs.log_chunks.iter().copied().collect();
        for id in snapshots {
            // A record that cannot be read could need anything: give up
            // rather than delete what it might use.
            let rec = match self.record(id) {
                Ok(r) => r,
                Err(Error::MissingSnapshot(_)) => continue,
                Err(e) => return Err(e),
            };
            self.mark_tree(rec.tree, &mut objs)?;
            if objs.insert(rec.model) {
                let m = self.model_obj(&rec.model)?;
                // a group another snapshot shares was marked with its
                // nodes: only new groups are read (a long history shares
                // nearly all of them from one snapshot to the next)
                let new: Vec<ObjectId> = m
                    .groups
                    .values()
                    .map(|(gid, _)| *gid)
                    .filter(|gid| !objs.contains(gid))
                    .collect();
                for (gid, bytes) in new.iter().zip(self.get_many(&new)?) {
                    let g = Group::decode(&bytes)
                        .map_err(|e| corrupt(format!("node group {gid}"), e.to_string()))?;
                    objs.extend(g.entries.iter().map(|e| e.node));
                    objs.insert(*gid);
                }
            }
        }
        Ok(objs)
    }

    /// Marks a tree, its subtrees and their blobs.
    fn mark_tree(&self, root: ObjectId, objs: &mut HashSet<ObjectId>) -> Result<()> {
        let mut stack = vec![root];
        while let Some(t) = stack.pop() {
            if !objs.insert(t) {
                continue;
            }
            for e in self.tree(&t)?.entries {
                if e.kind == EntryKind::Dir {
                    stack.push(e.id);
                } else {
                    objs.insert(e.id);
                }
            }
        }
        Ok(())
    }

    /// Removes what no ref or ref-log entry reaches. Packs, snapshot records
    /// and temporary files younger than `grace` are never touched, so a
    /// snapshot running meanwhile is safe.
    pub fn gc(&self, grace: Duration, dry_run: bool) -> Result<GcReport> {
        // what is live is only known from the trees and models
        self.require_key("gc")?;
        let _lock = self.exclusive_lock()?;
        // Deleting by what the refs reach is only safe when they are whole:
        // a store whose refs were lost would otherwise lose everything.
        let sound = self.verify_unlocked()?;
        if let Some(first) = sound.problems.first() {
            return Err(Error::NotSound {
                store: self.describe(),
                problems: sound.problems.len(),
                first: first.clone(),
            });
        }
        let mut report = GcReport::default();
        let now = SystemTime::now();
        let old = |t: SystemTime| now.duration_since(t).map(|d| d >= grace).unwrap_or(false);
        let refs = self.refs()?;
        let live = self.reachable_snapshots(&refs)?;
        let young = self.collect_records(&live, &old, dry_run, &mut report)?;
        // Snapshots that remain (live, or too young to judge) keep their objects.
        let keep_snaps: HashSet<SnapshotId> = live.union(&young).copied().collect();
        let keep = self.reachable_objects(&keep_snaps, &refs)?;
        let listing = self.list_packs()?;
        let mut rewrite = Rewrite::new(self.sealing_keys());
        for (name, key) in &listing.packs {
            if !listing.times.get(name).copied().is_some_and(&old) {
                continue;
            }
            if !listing.indexed.contains(name) {
                // an interrupted write
                report.removed_packs += 1;
                rewrite.delete.push(key.clone());
                continue;
            }
            self.sweep_pack(
                *name,
                key,
                &|id| keep.contains(id),
                false,
                &mut rewrite,
                &mut report,
            )?;
        }
        if dry_run {
            return Ok(report);
        }
        // New packs first, then remove the old ones: never a moment where a
        // live object exists nowhere.
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
        for l in self.backend().list("tmp/")? {
            let name = l.key.strip_prefix("tmp/").unwrap_or(&l.key);
            if old(l.modified) && crate::backend::is_temp_name(name) {
                self.backend().delete(&l.key)?;
                report.removed_temp += 1;
            }
        }
        Ok(report)
    }

    /// Deletes the old records no ref reaches (unless `dry_run`); returns
    /// the records too young to judge.
    fn collect_records(
        &self,
        live: &HashSet<SnapshotId>,
        old: &dyn Fn(SystemTime) -> bool,
        dry_run: bool,
        report: &mut GcReport,
    ) -> Result<HashSet<SnapshotId>> {
        let mut young = HashSet::new();
        for l in self.backend().list("snapshots/")? {
            let Some(id) = snapshot_key(&l.key) else {
                continue;
            };
            if !old(l.modified) {
                young.insert(id);
            } else if !live.contains(&id) {
                report.removed_snapshots += 1;
                if !dry_run {
                    self.backend().delete(&l.key)?;
                    self.forget_record(&id);
                }
            }
        }
        Ok(young)
    }

    pub(crate) fn list_packs(&self) -> Result<PackListing> {
        let mut listing = PackListing {
            packs: Vec::new(),
            times: HashMap::new(),
            indexed: HashSet::new(),
        };
        for l in self.backend().list("packs/")? {
            match pack_name(&l.key) {
                Some((h, "idx")) => {
                    listing.indexed.insert(h);
                }
                Some((h, _)) => {
                    listing.times.insert(h, l.modified);
                    listing.packs.push((h, l.key.clone()));
                }
                None => {}
            }
        }
        Ok(listing)
    }

    /// Leaves a pack whose objects are all kept (unless `always`: a key
    /// rotation re-seals every pack); otherwise copies its kept objects
    /// into the rewrite and schedules the pack (index first) for deletion.
    pub(crate) fn sweep_pack(
        &self,
        name: Hash,
        key: &str,
        keep: &dyn Fn(&ObjectId) -> bool,
        always: bool,
        rewrite: &mut Rewrite,
        report: &mut GcReport,
    ) -> Result<()> {
        let idx_key = format!("packs/{}.idx", name.to_hex());
        let Some(idx_bytes) = self.backend().get_data(&idx_key)? else {
            return Ok(());
        };
        let idx = PackIndex::parse(name, idx_bytes, &idx_key)?;
        let (live, dead): (Vec<_>, Vec<_>) = idx.iter().partition(|(id, _)| keep(id));
        report.kept_objects += live.len();
        if dead.is_empty() && !always {
            return Ok(());
        }
        report.removed_objects += dead.len();
        report.removed_bytes += dead.iter().map(|(_, l)| u64::from(l.len)).sum::<u64>();
        let wanted: Vec<(ObjectId, ObjType)> = live
            .iter()
            .filter(|(id, _)| rewrite.copied.insert(*id))
            .map(|(id, l)| (*id, l.ty))
            .collect();
        let ids: Vec<ObjectId> = wanted.iter().map(|(id, _)| *id).collect();
        let data = if ids.is_empty() {
            Vec::new()
        } else {
            self.get_many(&ids)?
        };
        for ((id, ty), bytes) in wanted.iter().zip(data) {
            if rewrite.packs.last().is_some_and(|w| w.len() > PACK_SPLIT) {
                rewrite.packs.push(PackWriter::sealed(rewrite.keys.clone()));
            }
            if let Some(w) = rewrite.packs.last_mut() {
                w.add(*id, *ty, &bytes);
            }
        }
        report.removed_packs += 1;
        rewrite.delete.push(idx_key);
        rewrite.delete.push(key.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::midx::MultiIndex;
    use crate::tree::TreeFile;
    use crate::writer::ObjectWriter;

    fn temp_store(name: &str) -> (std::path::PathBuf, Store) {
        let dir = std::env::temp_dir().join(format!("rewind-odb-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        (dir, store)
    }

    /// A snapshot of one file, in one pack with a blob nothing uses.
    fn snapshot_beside_garbage(store: &Store) -> ObjectId {
        let content = b"resource \"terraform_data\" \"a\" {}\n".to_vec();
        let blob = ObjectId::of(&content);
        let mut w = ObjectWriter::new(store);
        w.add(blob, ObjType::Blob, &content).unwrap();
        let garbage = b"nothing names this".to_vec();
        w.add(ObjectId::of(&garbage), ObjType::Blob, &garbage)
            .unwrap();
        let tree = w
            .add_tree(&[TreeFile {
                path: "main.tf".into(),
                executable: false,
                link: false,
                size: content.len() as u64,
                id: blob,
            }])
            .unwrap();
        let model = w.add_model(&rewind_model::Model::default(), "").unwrap();
        w.finish().unwrap();
        store
            .publish_snapshot("prod", &["v1".to_string()], false, |parent| {
                crate::record::test_record(tree, model, parent, 1)
            })
            .unwrap();
        blob
    }

    /// Regression: gc rewrote a pack and deleted the old one while a
    /// reader that had listed the indexes still read from it (14 of 20
    /// concurrent diffs failed).
    #[test]
    fn a_reader_that_listed_the_packs_before_gc_still_reads() {
        let (dir, store) = temp_store("gc-reader");
        let blob = snapshot_beside_garbage(&store);
        let reader = Store::open(dir.to_str().unwrap()).unwrap();
        assert_eq!(reader.get_many(&[blob]).unwrap().len(), 1);
        let r = store.gc(Duration::ZERO, false).unwrap();
        assert_eq!((r.removed_objects, r.written_packs), (1, 1), "{r:?}");
        // the reader's listing names a pack that is gone
        let got = reader.get_many(&[blob]).unwrap();
        assert_eq!(got[0], b"resource \"terraform_data\" \"a\" {}\n");
        assert!(reader.get(&blob).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// gc removes packs a saved combined index covers: it writes a new
    /// one over the packs it leaves, through which a new reader finds the
    /// snapshot's objects.
    #[test]
    fn gc_writes_a_new_combined_index() {
        let (dir, store) = temp_store("gc-midx");
        let blob = snapshot_beside_garbage(&store);
        // ten packs of garbage beside it: a combined index is saved
        for i in 0..10 {
            let junk = format!("locals {{\n  junk = {i}\n}}\n").into_bytes();
            let mut w = ObjectWriter::new(&store);
            w.add(ObjectId::of(&junk), ObjType::Blob, &junk).unwrap();
            w.finish().unwrap();
        }
        let path = store.multi_index_path().unwrap();
        let before = MultiIndex::parse(std::fs::read(&path).unwrap(), "midx").unwrap();
        assert_eq!(before.packs().len(), 9);
        let r = store.gc(Duration::ZERO, false).unwrap();
        assert_eq!(r.written_packs, 1, "{r:?}");
        let listed = store.listed_indexes().unwrap();
        assert_eq!(listed.len(), 1);
        let after = MultiIndex::parse(std::fs::read(&path).unwrap(), "midx").unwrap();
        assert_eq!(after.packs(), &listed[..]);
        assert!(after.find(&blob).is_some());
        let reader = Store::open(dir.to_str().unwrap()).unwrap();
        assert_eq!(
            reader.get_many(&[blob]).unwrap()[0],
            b"resource \"terraform_data\" \"a\" {}\n"
        );
        let v = reader.verify().unwrap();
        assert!(
            v.ok() && v.notes.is_empty(),
            "{:?} {:?}",
            v.problems,
            v.notes
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Regression: with its refs file lost, a store verified, `log` said
    /// "no snapshots yet" and gc deleted every snapshot.
    #[test]
    fn a_store_that_lost_its_refs_fails_verify_refuses_gc_and_is_repaired() {
        let (dir, store) = temp_store("lost-refs");
        let blob = snapshot_beside_garbage(&store);
        let before = store.refs().unwrap();
        std::fs::remove_file(dir.join("refs")).unwrap();
        let store = Store::open(dir.to_str().unwrap()).unwrap();
        let err = store.refs().unwrap_err().to_string();
        assert!(
            err.contains("refs file is missing") && err.contains("verify --repair"),
            "{err}"
        );
        let v = store.verify().unwrap();
        assert!(!v.ok(), "{:?}", v.problems);
        let err = store.gc(Duration::ZERO, false).unwrap_err().to_string();
        assert!(err.starts_with("refusing to collect garbage"), "{err}");
        assert!(store.has(&blob).unwrap(), "gc deleted nothing");
        // the backup copy and the records give every name back
        let rep = store.repair_refs().unwrap();
        assert!(rep.repaired);
        let after = store.refs().unwrap();
        assert_eq!(after.tags, before.tags);
        assert_eq!(after.envs, before.envs);
        assert!(store.verify().unwrap().ok());
        // with the backup lost as well, the records still give each
        // environment its latest snapshot
        std::fs::remove_file(dir.join("refs")).unwrap();
        std::fs::remove_file(dir.join("refs.backup")).unwrap();
        let rep = store.repair_refs().unwrap();
        assert!(rep.repaired);
        assert_eq!(store.refs().unwrap().envs, before.envs);
        assert!(store.verify().unwrap().ok());
        // sound refs are left alone
        assert!(!store.repair_refs().unwrap().repaired);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
