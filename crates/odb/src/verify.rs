//! `verify`: re-hash everything and check that every snapshot is whole
//! (docs/store-format.md §14).

use std::collections::{BTreeMap, HashMap, HashSet};

use rewind_model::Hash;

use crate::error::{corrupt, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::midx::MultiIndex;
use crate::model::{Group, ModelObj};
use crate::pack::{check_pack, ObjType, PackIndex};
use crate::record::{snapshot_key, SnapshotRecord};
use crate::refs::Refs;
use crate::store::Store;
use crate::tree::EntryKind;

/// What `verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Problems: each names the file, object or ref concerned.
    pub problems: Vec<String>,
    /// Harmless leftovers (an interrupted write), removed by `gc`.
    pub notes: Vec<String>,
    /// Packs checked.
    pub packs: usize,
    /// Distinct objects in them.
    pub objects: usize,
    /// Snapshot records read.
    pub snapshots: usize,
    /// Bytes of packs read.
    pub bytes: u64,
    /// Set when the store is encrypted and was verified without its key:
    /// what was checked and what was not.
    pub limited: Option<String>,
}

impl VerifyReport {
    /// True when there is no problem.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// A problem unless the object exists with type `ty`.
    fn need(&mut self, types: &HashMap<ObjectId, ObjType>, id: &ObjectId, ty: ObjType, what: &str) {
        match types.get(id) {
            None => self
                .problems
                .push(format!("{what}: object {id} ({}) is missing", ty.name())),
            Some(t) if *t != ty => self.problems.push(format!(
                "{what}: object {id} should be a {} but is a {}",
                ty.name(),
                t.name()
            )),
            _ => {}
        }
    }
}

/// The pack name and kind (`pack` or `idx`) of a key under `packs/`.
pub(crate) fn pack_name(key: &str) -> Option<(Hash, &'static str)> {
    let rest = key.strip_prefix("packs/")?;
    if let Some(n) = rest.strip_suffix(".pack") {
        return Hash::from_hex(n).ok().map(|h| (h, "pack"));
    }
    if let Some(n) = rest.strip_suffix(".idx") {
        return Hash::from_hex(n).ok().map(|h| (h, "idx"));
    }
    None
}

impl Store {
    /// Re-hashes every object, checks every pack index, snapshot record and
    /// ref, and that every snapshot's objects are present.
    ///
    /// It runs beside snapshots (under the shared lock gc waits for) and
    /// reads in the order they write backwards: the refs, then the
    /// records, then the packs. A snapshot finishing meanwhile has written
    /// its objects before its record and its record before the refs, so
    /// whatever verify sees named is whole.
    pub fn verify(&self) -> Result<VerifyReport> {
        // best effort: a read-only copy of a store verifies without it
        let _lock = self.shared_lock().ok();
        self.verify_unlocked()
    }

    /// `verify` for a caller that holds a lock already (gc).
    pub(crate) fn verify_unlocked(&self) -> Result<VerifyReport> {
        let keys_current = || match self.crypt() {
            crate::crypt::Crypt::Open(k) => self.keys_still_current(k, "nothing was checked"),
            _ => Ok(()),
        };
        // a rekey that ran while this waited for the lock re-sealed every
        // pack: reading them with the keys opened before would report each
        // block as altered
        keys_current()?;
        let r = self.verify_with_keys()?;
        if !r.problems.is_empty() {
            // (an S3 store has no lock: a rekey may have run meanwhile)
            keys_current()?;
        }
        Ok(r)
    }

    fn verify_with_keys(&self) -> Result<VerifyReport> {
        let mut r = VerifyReport::default();
        if let crate::Encrypted::Locked(how) = self.encryption() {
            r.limited = Some(format!(
                "{how}. Without it, verify checked the config, the refs and their checksum, every snapshot record's hash and parent, every pack index, every pack's checksum and the framing of its blocks, and that each snapshot's tree and model and each log chunk exist with the right type; it did not check the blocks' authentication tags, the objects' hashes, nor the trees and models inside (their files, groups and nodes)"
            ));
        }
        if let Ok((config, _)) = Self::read_config(self.backend(), self.location()) {
            if let Some(Err(e)) = config
                .encryption
                .as_ref()
                .map(|e| e.check(&self.describe()))
            {
                r.problems.push(e.to_string());
            }
            if let Some(enc) = config.encryption.filter(|e| !e.retired.is_empty()) {
                r.notes.push(format!(
                    "a key rotation did not finish: the config still holds the retired sealing key{} of generation {} beside generation {}, and packs sealed with {} may remain; run `rewind rekey` again (the new key may be the current one) to re-seal them and drop {}",
                    if enc.retired.len() == 1 { "" } else { "s" },
                    enc.retired.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
                    enc.generation,
                    if enc.retired.len() == 1 { "it" } else { "them" },
                    if enc.retired.len() == 1 { "it" } else { "them" },
                ));
            }
        }
        let refs = match self.refs() {
            Ok(refs) => Some(refs),
            Err(e) => {
                r.problems.push(e.to_string());
                None
            }
        };
        let records = self.verify_records(&mut r)?;
        r.snapshots = records.len();
        let mut indexes = HashMap::new();
        let types = self.verify_packs(&mut r, &mut indexes)?;
        r.objects = types.len();
        self.verify_multi_index(&indexes, &mut r);
        if let Some(refs) = &refs {
            verify_refs(refs, &records, &types, &mut r);
        }
        self.verify_snapshots(&records, &types, &mut r);
        for l in self.backend().list("tmp/")? {
            let name = l.key.strip_prefix("tmp/").unwrap_or(&l.key);
            r.notes.push(if crate::backend::is_temp_name(name) {
                format!(
                    "{}: a temporary file, a running write's or one an interrupted write left; `rewind gc` removes it once it is older than its grace period (1 hour unless --grace says otherwise)",
                    l.key
                )
            } else {
                format!(
                    "{}: not a file rewind writes (its temporary files are named PID-TIME-SEQUENCE.tmp); `rewind gc` leaves it",
                    l.key
                )
            });
        }
        Ok(r)
    }

    /// Checks every pack against its index; returns the type of every
    /// object found.
    fn verify_packs(
        &self,
        r: &mut VerifyReport,
        indexes: &mut HashMap<Hash, PackIndex>,
    ) -> Result<HashMap<ObjectId, ObjType>> {
        let desc = self.describe();
        let mut packs: BTreeMap<Hash, (Option<u64>, bool)> = BTreeMap::new();
        for l in &self.backend().list("packs/")? {
            match pack_name(&l.key) {
                Some((h, "pack")) => packs.entry(h).or_default().0 = Some(l.size),
                Some((h, _)) => packs.entry(h).or_default().1 = true,
                None => r
                    .notes
                    .push(format!("{desc}/{}: not a pack file (ignored)", l.key)),
            }
        }
        let mut types = HashMap::new();
        for (name, (pack_size, has_idx)) in &packs {
            let hex = name.to_hex();
            match (pack_size, has_idx) {
                (Some(_), false) => r.notes.push(format!(
                    "packs/{hex}.pack has no index: an interrupted snapshot left it; `rewind gc` removes it"
                )),
                (None, true) => r.problems.push(format!(
                    "packs/{hex}.idx: its pack packs/{hex}.pack is missing"
                )),
                _ => {
                    if let Some(idx) = self.verify_pack(*name, &mut types, r)? {
                        indexes.insert(*name, idx);
                    }
                }
            }
        }
        Ok(types)
    }

    /// Checks one pack and its index; returns the index when it reads.
    fn verify_pack(
        &self,
        name: Hash,
        types: &mut HashMap<ObjectId, ObjType>,
        r: &mut VerifyReport,
    ) -> Result<Option<PackIndex>> {
        let hex = name.to_hex();
        let idx_key = format!("packs/{hex}.idx");
        let Some(idx_bytes) = self.backend().get_data(&idx_key)? else {
            return Ok(None);
        };
        let idx = match PackIndex::parse(name, idx_bytes, &idx_key) {
            Ok(i) => i,
            Err(e) => {
                r.problems.push(e.to_string());
                return Ok(None);
            }
        };
        let pack_key = format!("packs/{hex}.pack");
        let Some(pack) = self.backend().get_data(&pack_key)? else {
            r.problems.push(format!("{pack_key}: missing"));
            return Ok(None);
        };
        r.bytes += pack.len() as u64;
        r.problems
            .extend(check_pack(&pack, &idx, self.crypt(), &pack_key));
        r.packs += 1;
        types.extend(idx.iter().map(|(id, loc)| (id, loc.ty)));
        Ok(Some(idx))
    }

    /// Checks the combined index saved in the local cache, if there is one
    /// (docs/store-format.md §18.1), against the packs' own `indexes`. One
    /// that does not read whole, or names a pack gone since, is a note:
    /// readers ignore it. One that reads but says other than the packs'
    /// indexes is a problem: readers would trust it.
    fn verify_multi_index(&self, indexes: &HashMap<Hash, PackIndex>, r: &mut VerifyReport) {
        let Some(path) = self.multi_index_path() else {
            return;
        };
        let Ok(data) = crate::backend::read_file(&path, crate::backend::MAX_SMALL_FILE) else {
            return;
        };
        let what = path.display().to_string();
        const REBUILT: &str =
            "readers ignore it and read the packs' own indexes; `rewind gc` writes a new one (it is a cache: deleting it is safe)";
        let multi = match MultiIndex::parse(data, &what) {
            Ok(m) => m,
            Err(e) => {
                r.notes.push(format!("{e}; {REBUILT}"));
                return;
            }
        };
        if let Some(gone) = multi.packs().iter().find(|p| !indexes.contains_key(p)) {
            r.notes.push(format!(
                "{what}: the combined pack index covers packs/{}.idx, which is gone or unreadable; {REBUILT}",
                gone.to_hex()
            ));
            return;
        }
        const DELETE: &str =
            "readers would look for objects where they are not; delete it (it is a cache, built again from the packs' own indexes)";
        if let Err(e) = multi.check_entries() {
            r.problems.push(format!("{what} is corrupt: {e}; {DELETE}"));
            return;
        }
        for (id, pack, loc) in multi.iter() {
            if indexes.get(&pack).and_then(|idx| idx.find(&id)) != Some(loc) {
                r.problems.push(format!(
                    "{what}: its entry for object {id} disagrees with packs/{}.idx; {DELETE}",
                    pack.to_hex()
                ));
                return;
            }
        }
        for pack in multi.packs() {
            let Some(idx) = indexes.get(pack) else {
                continue;
            };
            if let Some((id, _)) = idx.iter().find(|(id, _)| multi.find(id).is_none()) {
                r.problems.push(format!(
                    "{what}: object {id} of packs/{}.idx is missing from it; {DELETE}",
                    pack.to_hex()
                ));
                return;
            }
        }
    }

    /// Reads every snapshot record, checking its hash and JSON.
    fn verify_records(&self, r: &mut VerifyReport) -> Result<HashMap<SnapshotId, SnapshotRecord>> {
        let mut records = HashMap::new();
        for l in self.backend().list("snapshots/")? {
            let Some(id) = snapshot_key(&l.key) else {
                if !l.key.ends_with(".tmp") {
                    r.notes
                        .push(format!("{}: not a snapshot record (ignored)", l.key));
                }
                continue;
            };
            let Some(bytes) = self.backend().get_data(&l.key)? else {
                continue;
            };
            if SnapshotId::of(&bytes) != id {
                r.problems.push(format!(
                    "snapshot record {} is corrupt: its content does not match its id",
                    l.key
                ));
                continue;
            }
            match serde_json::from_slice::<SnapshotRecord>(&bytes) {
                Ok(rec) => {
                    records.insert(id, rec);
                }
                Err(e) => r
                    .problems
                    .push(format!("snapshot record {} is corrupt: {e}", l.key)),
            }
        }
        Ok(records)
    }

    /// Checks that every snapshot's parent, tree and model are whole.
    fn verify_snapshots(
        &self,
        records: &HashMap<SnapshotId, SnapshotRecord>,
        types: &HashMap<ObjectId, ObjType>,
        r: &mut VerifyReport,
    ) {
        let mut trees_done: HashSet<ObjectId> = HashSet::new();
        let mut extents: HashMap<ObjectId, crate::tree::Extent> = HashMap::new();
        let mut models_done: HashSet<ObjectId> = HashSet::new();
        let mut ids: Vec<&SnapshotId> = records.keys().collect();
        ids.sort();
        for id in ids {
            let rec = &records[id];
            let what = format!("snapshot {}", id.short(12));
            if let Some(p) = &rec.parent {
                if !records.contains_key(p) {
                    r.problems
                        .push(format!("{what}: its parent snapshot {p} is missing"));
                }
            }
            r.need(types, &rec.tree, ObjType::Tree, &what);
            r.need(types, &rec.model, ObjType::Model, &what);
            if r.limited.is_some() {
                // the trees and models are sealed: their content needs the key
                continue;
            }
            if types.get(&rec.tree) == Some(&ObjType::Tree) {
                let before = r.problems.len();
                // the trees verify_tree reads, handed to extent (which
                // reads only those: the others are summed already)
                let mut read = HashMap::new();
                let links =
                    self.verify_tree(&rec.tree, types, &mut trees_done, &mut read, &what, r);
                if r.problems.len() == before {
                    // what the readers refuse (`tree_files`): a tree whose
                    // subtrees, shared, spell out too many files or too
                    // long a path
                    let why = self
                        .extent(&rec.tree, &mut extents, &mut read)
                        .map(|e| e.too_large());
                    match why {
                        Ok(None) => {}
                        Ok(Some(e)) => r.problems.push(format!(
                            "{what}: tree {}: {e} (a checkout refuses it)",
                            rec.tree
                        )),
                        Err(e) => r.problems.push(format!("{what}: {e}")),
                    }
                }
                if links && r.problems.len() == before {
                    self.verify_links(&rec.tree, &what, r);
                }
            }
            if types.get(&rec.model) == Some(&ObjType::Model) && models_done.insert(rec.model) {
                match self.model_obj(&rec.model) {
                    Ok(m) => self.verify_model(&m, types, &what, r),
                    Err(e) => r.problems.push(format!("{what}: {e}")),
                }
            }
        }
    }

    /// Checks a snapshot's symbolic links as `checkout` would: one that
    /// leads outside the tree (rewind never stores one) is a problem, not
    /// found only when a checkout refuses it.
    fn verify_links(&self, tree: &ObjectId, what: &str, r: &mut VerifyReport) {
        let checked = self
            .tree_files(tree)
            .and_then(|files| self.link_targets(&files).map(|links| (files, links)))
            .and_then(|(files, links)| crate::checkout::check_links(&files, &links));
        if let Err(e) = checked {
            r.problems.push(format!("{what}: {e}"));
        }
    }

    /// Checks a tree and its subtrees (those not `done` already), each
    /// kept in `read`; true when one of those it read holds a symbolic
    /// link.
    fn verify_tree(
        &self,
        id: &ObjectId,
        types: &HashMap<ObjectId, ObjType>,
        done: &mut HashSet<ObjectId>,
        read: &mut HashMap<ObjectId, crate::tree::Tree>,
        what: &str,
        r: &mut VerifyReport,
    ) -> bool {
        let mut links = false;
        let mut stack = vec![*id];
        while let Some(t) = stack.pop() {
            if !done.insert(t) {
                continue;
            }
            let tree = match self.tree(&t) {
                Ok(tree) => tree,
                Err(e) => {
                    r.problems.push(format!("{what}: {e}"));
                    continue;
                }
            };
            for e in &tree.entries {
                links |= e.kind == EntryKind::Link;
                let want = if e.kind == EntryKind::Dir {
                    ObjType::Tree
                } else {
                    ObjType::Blob
                };
                match types.get(&e.id) {
                    None => r.problems.push(format!(
                        "{what}: {} ({} {}) is missing",
                        e.name,
                        want.name(),
                        e.id
                    )),
                    Some(ty) if *ty != want => r.problems.push(format!(
                        "{what}: {} should be a {} but is a {}",
                        e.name,
                        want.name(),
                        ty.name()
                    )),
                    _ if want == ObjType::Tree => stack.push(e.id),
                    _ => {}
                }
            }
            read.insert(t, tree);
        }
        links
    }

    fn verify_model(
        &self,
        m: &ModelObj,
        types: &HashMap<ObjectId, ObjType>,
        what: &str,
        r: &mut VerifyReport,
    ) {
        for (key, (gid, count)) in &m.groups {
            if types.get(gid) != Some(&ObjType::Group) {
                r.problems
                    .push(format!("{what}: node group {key} ({gid}) is missing"));
                continue;
            }
            let g = match self.get_typed(gid, ObjType::Group).and_then(|b| {
                Group::decode(&b).map_err(|e| corrupt(format!("node group {gid}"), e.to_string()))
            }) {
                Ok(g) => g,
                Err(e) => {
                    r.problems.push(format!("{what}: {e}"));
                    continue;
                }
            };
            if g.entries.len() != *count as usize {
                r.problems.push(format!(
                    "{what}: node group {key} has {} nodes, the model says {count}",
                    g.entries.len()
                ));
            }
            for e in &g.entries {
                if types.get(&e.node) != Some(&ObjType::Node) {
                    r.problems.push(format!(
                        "{what}: node {} ({}) is missing",
                        e.address, e.node
                    ));
                }
            }
        }
    }
}

/// Checks that every ref names a record and every log chunk exists.
fn verify_refs(
    refs: &Refs,
    records: &HashMap<SnapshotId, SnapshotRecord>,
    types: &HashMap<ObjectId, ObjType>,
    r: &mut VerifyReport,
) {
    let mut check_ref = |name: String, id: &SnapshotId| {
        if !records.contains_key(id) {
            r.problems.push(format!(
                "ref {name} points to snapshot {id}, which is missing"
            ));
        }
    };
    for (t, id) in &refs.tags {
        check_ref(format!("tags/{t}"), id);
    }
    for (e, v) in &refs.envs {
        if let Some(id) = &v.latest {
            check_ref(format!("envs/{e}/latest"), id);
        }
        if let Some(id) = &v.good {
            check_ref(format!("envs/{e}/good"), id);
        }
    }
    for c in &refs.log_chunks {
        r.need(types, c, ObjType::LogChunk, "ref log");
    }
}
