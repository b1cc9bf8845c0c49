//! `verify` and `gc`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

use rewind_model::Hash;

use crate::error::{corrupt, Result, StoreError};
use crate::objects::{EntryKind, Group, ModelObj, SnapshotRecord, Tree};
use crate::pack::{check_pack, ObjType, PackIndex, PackWriter};
use crate::refs::Refs;
use crate::store::Store;

/// What `verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Problems: each names the file, object or ref concerned.
    pub problems: Vec<String>,
    /// Harmless leftovers (an interrupted write), removed by `gc`.
    pub notes: Vec<String>,
    pub packs: usize,
    pub objects: usize,
    pub snapshots: usize,
    pub bytes: u64,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What `gc` did (or would do with `dry_run`).
#[derive(Debug, Default)]
pub struct GcReport {
    pub removed_snapshots: usize,
    pub removed_objects: usize,
    pub removed_bytes: u64,
    pub removed_packs: usize,
    pub written_packs: usize,
    pub kept_objects: usize,
    pub removed_temp: usize,
}

fn pack_name(key: &str) -> Option<(Hash, &'static str)> {
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
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut r = VerifyReport::default();
        let desc = self.describe();
        // Packs and indexes.
        let listed = self.backend().list("packs/")?;
        let mut packs: BTreeMap<Hash, (Option<u64>, bool)> = BTreeMap::new();
        for l in &listed {
            match pack_name(&l.key) {
                Some((h, "pack")) => packs.entry(h).or_default().0 = Some(l.size),
                Some((h, _)) => packs.entry(h).or_default().1 = true,
                None => r
                    .notes
                    .push(format!("{desc}/{}: not a pack file (ignored)", l.key)),
            }
        }
        let mut types: HashMap<Hash, ObjType> = HashMap::new();
        for (name, (pack_size, has_idx)) in &packs {
            let hex = name.to_hex();
            match (pack_size, has_idx) {
                (Some(_), false) => {
                    r.notes.push(format!(
                        "packs/{hex}.pack has no index: an interrupted snapshot left it; `rewind gc` removes it"
                    ));
                    continue;
                }
                (None, true) => {
                    r.problems.push(format!(
                        "packs/{hex}.idx: its pack packs/{hex}.pack is missing"
                    ));
                    continue;
                }
                _ => {}
            }
            let idx_key = format!("packs/{hex}.idx");
            let Some((idx_bytes, _)) = self.backend().get(&idx_key)? else {
                continue;
            };
            let idx = match PackIndex::parse(*name, idx_bytes, &idx_key) {
                Ok(i) => i,
                Err(e) => {
                    r.problems.push(e.to_string());
                    continue;
                }
            };
            let pack_key = format!("packs/{hex}.pack");
            let Some((pack, _)) = self.backend().get(&pack_key)? else {
                r.problems.push(format!("{pack_key}: missing"));
                continue;
            };
            r.bytes += pack.len() as u64;
            r.problems.extend(check_pack(&pack, &idx, &pack_key));
            r.packs += 1;
            for (id, loc) in idx.iter() {
                types.insert(id, loc.ty);
            }
        }
        r.objects = types.len();
        // Refs.
        let refs = match self.refs() {
            Ok((refs, _)) => Some(refs),
            Err(e) => {
                r.problems.push(e.to_string());
                None
            }
        };
        // Snapshot records.
        let mut records: HashMap<Hash, SnapshotRecord> = HashMap::new();
        for l in self.backend().list("snapshots/")? {
            let Some(id) = l
                .key
                .strip_prefix("snapshots/")
                .and_then(|n| Hash::from_hex(n).ok())
            else {
                if !l.key.ends_with(".tmp") {
                    r.notes
                        .push(format!("{}: not a snapshot record (ignored)", l.key));
                }
                continue;
            };
            let Some((bytes, _)) = self.backend().get(&l.key)? else {
                continue;
            };
            if Hash::of(&bytes) != id {
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
        r.snapshots = records.len();
        let need = |id: &Hash, ty: ObjType, what: &str, r: &mut VerifyReport| match types.get(id) {
            None => r
                .problems
                .push(format!("{what}: object {id} ({}) is missing", ty.name())),
            Some(t) if *t != ty => r.problems.push(format!(
                "{what}: object {id} should be a {} but is a {}",
                ty.name(),
                t.name()
            )),
            _ => {}
        };
        if let Some(refs) = &refs {
            let check_ref = |name: String, id: &Hash, r: &mut VerifyReport| {
                if !records.contains_key(id) {
                    r.problems.push(format!(
                        "ref {name} points to snapshot {id}, which is missing"
                    ));
                }
            };
            for (t, id) in &refs.tags {
                check_ref(format!("tags/{t}"), id, &mut r);
            }
            for (e, v) in &refs.envs {
                if let Some(id) = &v.latest {
                    check_ref(format!("envs/{e}/latest"), id, &mut r);
                }
                if let Some(id) = &v.good {
                    check_ref(format!("envs/{e}/good"), id, &mut r);
                }
            }
            for c in &refs.log_chunks {
                need(c, ObjType::LogChunk, "ref log", &mut r);
            }
        }
        // Every snapshot's objects.
        let mut trees_done: HashSet<Hash> = HashSet::new();
        let mut models_done: HashSet<Hash> = HashSet::new();
        let mut ids: Vec<&Hash> = records.keys().collect();
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
            need(&rec.tree, ObjType::Tree, &what, &mut r);
            need(&rec.model, ObjType::Model, &what, &mut r);
            if types.get(&rec.tree) == Some(&ObjType::Tree) {
                self.verify_tree(&rec.tree, &types, &mut trees_done, &what, &mut r);
            }
            if types.get(&rec.model) == Some(&ObjType::Model) && models_done.insert(rec.model) {
                match self.model_obj(&rec.model) {
                    Ok(m) => self.verify_model(&m, &types, &what, &mut r),
                    Err(e) => r.problems.push(format!("{what}: {e}")),
                }
            }
        }
        for l in self.backend().list("tmp/")? {
            r.notes.push(format!(
                "{}: a temporary file left by an interrupted write; `rewind gc` removes it",
                l.key
            ));
        }
        Ok(r)
    }

    fn verify_tree(
        &self,
        id: &Hash,
        types: &HashMap<Hash, ObjType>,
        done: &mut HashSet<Hash>,
        what: &str,
        r: &mut VerifyReport,
    ) {
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
            for e in tree.entries {
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
        }
    }

    fn verify_model(
        &self,
        m: &ModelObj,
        types: &HashMap<Hash, ObjType>,
        what: &str,
        r: &mut VerifyReport,
    ) {
        for (key, (gid, count)) in &m.groups {
            match types.get(gid) {
                Some(ObjType::Group) => {}
                _ => {
                    r.problems
                        .push(format!("{what}: node group {key} ({gid}) is missing"));
                    continue;
                }
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

    /// Every snapshot reachable from a ref or a ref-log entry, with their
    /// ancestors.
    pub fn reachable_snapshots(&self, refs: &Refs) -> Result<HashSet<Hash>> {
        let mut todo: Vec<Hash> = refs.named_ids();
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
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(seen)
    }

    /// Every object a set of snapshots needs.
    pub(crate) fn reachable_objects(
        &self,
        snapshots: &HashSet<Hash>,
        refs: &Refs,
    ) -> Result<HashSet<Hash>> {
        let mut objs: HashSet<Hash> = refs.log_chunks.iter().copied().collect();
        for id in snapshots {
            // A record that cannot be read could need anything: give up
            // rather than delete what it might use.
            let rec = match self.record(id) {
                Ok(r) => r,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let mut stack = vec![rec.tree];
            while let Some(t) = stack.pop() {
                if !objs.insert(t) {
                    continue;
                }
                let tree: Tree = self.tree(&t)?;
                for e in tree.entries {
                    if e.kind == EntryKind::Dir {
                        stack.push(e.id);
                    } else {
                        objs.insert(e.id);
                    }
                }
            }
            if objs.insert(rec.model) {
                let m = self.model_obj(&rec.model)?;
                for (_, g) in self.groups(&m)? {
                    for e in g.entries {
                        objs.insert(e.node);
                    }
                }
                for (gid, _) in m.groups.values() {
                    objs.insert(*gid);
                }
            }
        }
        Ok(objs)
    }

    /// Removes what no ref or ref-log entry reaches. Packs, snapshot records
    /// and temporary files younger than `grace` are never touched, so a
    /// snapshot running meanwhile is safe.
    pub fn gc(&self, grace: Duration, dry_run: bool) -> Result<GcReport> {
        let _lock = self.exclusive_lock()?;
        let mut report = GcReport::default();
        let now = SystemTime::now();
        let old = |t: SystemTime| now.duration_since(t).map(|d| d >= grace).unwrap_or(false);
        let (refs, _) = self.refs()?;
        let live = self.reachable_snapshots(&refs)?;
        // Snapshot records nothing reaches.
        for l in self.backend().list("snapshots/")? {
            let Some(id) = l
                .key
                .strip_prefix("snapshots/")
                .and_then(|n| Hash::from_hex(n).ok())
            else {
                continue;
            };
            if !live.contains(&id) && old(l.modified) {
                report.removed_snapshots += 1;
                if !dry_run {
                    self.backend().delete(&l.key)?;
                    self.forget_record(&id);
                }
            }
        }
        // Snapshots that remain (live, or too young to judge) keep their objects.
        let mut keep_snaps = live.clone();
        for l in self.backend().list("snapshots/")? {
            if let Some(id) = l
                .key
                .strip_prefix("snapshots/")
                .and_then(|n| Hash::from_hex(n).ok())
            {
                if !old(l.modified) {
                    keep_snaps.insert(id);
                }
            }
        }
        let keep = self.reachable_objects(&keep_snaps, &refs)?;
        let listed = self.backend().list("packs/")?;
        let mut times: HashMap<Hash, SystemTime> = HashMap::new();
        let mut has_idx: HashSet<Hash> = HashSet::new();
        let mut pack_keys: Vec<(Hash, String)> = Vec::new();
        for l in &listed {
            match pack_name(&l.key) {
                Some((h, "idx")) => {
                    has_idx.insert(h);
                }
                Some((h, _)) => {
                    times.insert(h, l.modified);
                    pack_keys.push((h, l.key.clone()));
                }
                None => {}
            }
        }
        let mut rewrites: Vec<PackWriter> = vec![PackWriter::new()];
        let mut copied: HashSet<Hash> = HashSet::new();
        let mut to_delete = Vec::new();
        for (name, key) in pack_keys {
            let young = !times.get(&name).copied().map(old).unwrap_or(false);
            if young {
                continue;
            }
            if !has_idx.contains(&name) {
                // an interrupted write
                report.removed_packs += 1;
                to_delete.push(key);
                continue;
            }
            let idx_key = format!("packs/{}.idx", name.to_hex());
            let Some((idx_bytes, _)) = self.backend().get(&idx_key)? else {
                continue;
            };
            let idx = PackIndex::parse(name, idx_bytes, &idx_key)?;
            let (live_objs, dead): (Vec<_>, Vec<_>) =
                idx.iter().partition(|(id, _)| keep.contains(id));
            if dead.is_empty() {
                report.kept_objects += live_objs.len();
                continue;
            }
            report.removed_objects += dead.len();
            report.removed_bytes += dead.iter().map(|(_, l)| u64::from(l.len)).sum::<u64>();
            report.kept_objects += live_objs.len();
            let ids: Vec<Hash> = live_objs
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| copied.insert(*id))
                .collect();
            if !ids.is_empty() {
                let data = self.get_many(&ids)?;
                for (id, bytes) in ids.iter().zip(data) {
                    let ty = live_objs
                        .iter()
                        .find(|(i, _)| i == id)
                        .map(|(_, l)| l.ty)
                        .unwrap_or(ObjType::Blob);
                    if rewrites
                        .last()
                        .is_some_and(|w| w.len() > crate::store::PACK_SPLIT)
                    {
                        rewrites.push(PackWriter::new());
                    }
                    if let Some(w) = rewrites.last_mut() {
                        w.add(*id, ty, &bytes);
                    }
                }
            }
            report.removed_packs += 1;
            to_delete.push(idx_key);
            to_delete.push(key);
        }
        if dry_run {
            return Ok(report);
        }
        // New pack first, then remove the old ones: never a moment where a
        // live object exists nowhere.
        for w in rewrites {
            if !w.is_empty() {
                self.write_pack(w)?;
                report.written_packs += 1;
            }
        }
        for key in to_delete {
            self.backend().delete(&key)?;
        }
        for l in self.backend().list("tmp/")? {
            if old(l.modified) {
                self.backend().delete(&l.key)?;
                report.removed_temp += 1;
            }
        }
        Ok(report)
    }
}
