//! `verify --repair`: rebuilding lost or corrupt refs from what the store
//! still holds (docs/store-format.md §14).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::backend::Cond;
use crate::error::{Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::pack::ObjType;
use crate::record::SnapshotRecord;
use crate::refs::{LogEntry, Refs, REFS_BACKUP};
use crate::store::Store;

/// What `repair_refs` did.
#[derive(Debug, Default)]
pub struct RepairReport {
    /// False when the refs were sound and nothing was written.
    pub repaired: bool,
    /// What was wrong with the refs.
    pub reason: String,
    /// Each ref restored, as `name -> short id`.
    pub restored: Vec<String>,
    /// Ref-log entries recovered (from the backup copy and log chunks).
    pub log_entries: usize,
}

impl Store {
    /// Rebuilds the refs when they are missing or unreadable: from the copy
    /// written after each change (`refs.backup`), every log chunk in the
    /// packs (the older ref log, replayed in order), and the snapshot
    /// records (each environment's newest snapshot becomes its latest when
    /// the log does not know a newer one). Refs that read fine are left
    /// alone. Tags given after the backup's last change and the log's
    /// inline entries cannot be recovered when the backup is lost too.
    pub fn repair_refs(&self) -> Result<RepairReport> {
        let _lock = self.exclusive_lock()?;
        let Some((reason, cond)) = self.refs_damage()? else {
            return Ok(RepairReport::default());
        };
        let mut report = RepairReport {
            repaired: true,
            reason,
            ..Default::default()
        };
        let base = self.refs_backup()?;
        let mut refs = Refs::empty();
        let log = self.recover_log(&mut refs, &base)?;
        report.log_entries = log.len();
        // Replay the log onto the backup: it says what every ref became.
        refs.tags = base.tags.clone();
        refs.envs = base.envs.clone();
        for e in &log {
            apply(&mut refs, e);
        }
        // The records: each environment's newest head.
        let records = self.all_records()?;
        advance_to_heads(&mut refs, &records);
        drop_missing(&mut refs, &records);
        report.restored = restored(&refs);
        let bytes = refs.encode();
        if self.backend().put("refs", &bytes, cond)? != crate::backend::Put::Done {
            return Err(Error::RefsContended {
                store: self.describe(),
                attempts: 1,
            });
        }
        let _ = self.backend().put(REFS_BACKUP, &bytes, Cond::Always);
        Ok(report)
    }

    /// What is wrong with the refs file, and the condition a repaired one
    /// is written under; none when it reads fine.
    fn refs_damage(&self) -> Result<Option<(String, Cond)>> {
        Ok(match self.backend().get("refs")? {
            None => Some(("the refs file is missing".to_string(), Cond::Absent)),
            Some((bytes, v)) => match Refs::decode(&bytes, "refs") {
                Ok(_) => None,
                Err(e) => Some((e.to_string(), Cond::Match(v))),
            },
        })
    }

    /// The copy of the refs written after each change (empty when it is
    /// missing or unreadable too).
    fn refs_backup(&self) -> Result<Refs> {
        Ok(match self.backend().get(REFS_BACKUP)? {
            Some((bytes, _)) => Refs::decode(&bytes, REFS_BACKUP).unwrap_or_else(|_| Refs::empty()),
            None => Refs::empty(),
        })
    }

    /// The log: every chunk the packs hold, oldest first, then the
    /// backup's inline entries that no chunk has. The chunks and those
    /// entries become `refs`' log; returns the whole log, in order.
    fn recover_log(&self, refs: &mut Refs, base: &Refs) -> Result<Vec<LogEntry>> {
        let mut chunks: Vec<(String, ObjectId, Vec<LogEntry>)> = Vec::new();
        for id in self.objects_of_type(ObjType::LogChunk)? {
            let bytes = self.get_typed(&id, ObjType::LogChunk)?;
            if let Ok(entries) = serde_json::from_slice::<Vec<LogEntry>>(&bytes) {
                let first = entries.first().map(|e| e.time.clone()).unwrap_or_default();
                chunks.push((first, id, entries));
            }
        }
        chunks.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        let mut seen: HashSet<String> = HashSet::new();
        let key = |e: &LogEntry| {
            format!(
                "{}\0{}\0{:?}\0{:?}\0{}",
                e.time, e.name, e.old, e.new, e.reason
            )
        };
        let mut log: Vec<LogEntry> = Vec::new();
        for (_, id, entries) in &chunks {
            refs.log_chunks.push(*id);
            for e in entries {
                seen.insert(key(e));
                log.push(e.clone());
            }
        }
        for e in &base.log {
            if seen.insert(key(e)) {
                refs.log.push(e.clone());
                log.push(e.clone());
            }
        }
        Ok(log)
    }

    /// Every readable snapshot record.
    fn all_records(&self) -> Result<HashMap<SnapshotId, SnapshotRecord>> {
        let mut out = HashMap::new();
        for id in self.list_snapshots()? {
            match self.record(&id) {
                Ok(r) => {
                    out.insert(id, r);
                }
                Err(Error::MissingSnapshot(_)) | Err(Error::Corrupt { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}

/// Each environment's newest head (a record no other names as parent;
/// the latest by time, then by id), by environment.
fn newest_heads(records: &HashMap<SnapshotId, SnapshotRecord>) -> BTreeMap<String, SnapshotId> {
    let mut heads: BTreeMap<String, (String, SnapshotId)> = BTreeMap::new();
    let parents: HashSet<SnapshotId> = records.values().filter_map(|r| r.parent).collect();
    for (id, rec) in records {
        if parents.contains(id) {
            continue;
        }
        let newer = heads
            .get(&rec.env)
            .is_none_or(|(t, hid)| (&rec.time, id) > (t, hid));
        if newer {
            heads.insert(rec.env.clone(), (rec.time.clone(), *id));
        }
    }
    heads
        .into_iter()
        .map(|(env, (_, head))| (env, head))
        .collect()
}

/// Each environment's latest moves to its newest head when the log left
/// it behind (on none, or on an ancestor of the head), with a log entry.
fn advance_to_heads(refs: &mut Refs, records: &HashMap<SnapshotId, SnapshotRecord>) {
    let heads = newest_heads(records);
    let time = crate::time::now();
    for (env, head) in heads {
        let current = refs.envs.get(&env).and_then(|e| e.latest);
        let behind = match current {
            None => true,
            Some(c) => c != head && is_ancestor(records, &c, &head),
        };
        if behind {
            refs.envs.entry(env.clone()).or_default().latest = Some(head);
            refs.record(
                &time,
                format!("envs/{env}/latest"),
                current,
                Some(head),
                "repair: the environment's newest snapshot record",
            );
        }
    }
}

/// Names of snapshots that no longer exist are dropped (and environments
/// left with none).
fn drop_missing(refs: &mut Refs, records: &HashMap<SnapshotId, SnapshotRecord>) {
    refs.tags.retain(|_, id| records.contains_key(id));
    for e in refs.envs.values_mut() {
        e.latest = e.latest.filter(|id| records.contains_key(id));
        e.good = e.good.filter(|id| records.contains_key(id));
    }
    refs.envs
        .retain(|_, e| e.latest.is_some() || e.good.is_some());
}

/// Every ref of `refs`, as `name -> short id`: tags, then each
/// environment's latest and good.
fn restored(refs: &Refs) -> Vec<String> {
    let mut out = Vec::new();
    for (t, id) in &refs.tags {
        out.push(format!("tags/{t} -> {}", id.short(12)));
    }
    for (env, e) in &refs.envs {
        if let Some(id) = e.latest {
            out.push(format!("envs/{env}/latest -> {}", id.short(12)));
        }
        if let Some(id) = e.good {
            out.push(format!("envs/{env}/good -> {}", id.short(12)));
        }
    }
    out
}

/// Sets the ref a log entry changed to its new value.
fn apply(refs: &mut Refs, e: &LogEntry) {
    let parts: Vec<&str> = e.name.split('/').collect();
    match parts.as_slice() {
        ["tags", t] => match e.new {
            Some(id) => {
                refs.tags.insert((*t).to_string(), id);
            }
            None => {
                refs.tags.remove(*t);
            }
        },
        ["envs", env, "latest"] => refs.envs.entry((*env).to_string()).or_default().latest = e.new,
        ["envs", env, "good"] => refs.envs.entry((*env).to_string()).or_default().good = e.new,
        _ => {}
    }
}

/// Is `a` an ancestor of `b` (following parents through the records)?
fn is_ancestor(
    records: &HashMap<SnapshotId, SnapshotRecord>,
    a: &SnapshotId,
    b: &SnapshotId,
) -> bool {
    let mut cur = records.get(b).and_then(|r| r.parent);
    let mut steps = 0usize;
    while let Some(id) = cur {
        if id == *a {
            return true;
        }
        steps += 1;
        if steps > records.len() {
            return false;
        }
        cur = records.get(&id).and_then(|r| r.parent);
    }
    false
}
