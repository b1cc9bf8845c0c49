//! Copying snapshots between stores (`rewind sync FROM TO`).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::refs::{EnvRefs, Refs};
use crate::store::{Store, PACK_SPLIT};

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Snapshot records copied.
    pub snapshots: usize,
    /// Objects copied.
    pub objects: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Refs set in the destination (`tags/v1`, `envs/prod/latest`, …).
    pub refs: Vec<String>,
    /// Tags and environments left as they were because they differ.
    pub warnings: Vec<String>,
}

impl Store {
    /// Is `ancestor` in the history of `id` (following parents)?
    fn descends(&self, id: SnapshotId, ancestor: SnapshotId) -> Result<bool> {
        let mut cur = Some(id);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == ancestor {
                return Ok(true);
            }
            steps += 1;
            if steps > 1_000_000 {
                break;
            }
            cur = match self.record(&c) {
                Ok(r) => r.parent,
                Err(Error::MissingSnapshot(_)) => None,
                Err(e) => return Err(e),
            };
        }
        Ok(false)
    }

    /// Copies every snapshot of `self` (with everything it references and
    /// its refs) into `to`, skipping what `to` has already. Tags that
    /// exist in both with different targets, and environments whose
    /// histories diverged, are left as they are in `to` and reported.
    pub fn sync_to(&self, to: &Store) -> Result<SyncReport> {
        self.require_key("sync (source)")?;
        to.require_key("sync (destination)")?;
        if self.encryption() != to.encryption() {
            // an object's id is keyed by its store's data key: copied as
            // they are, the trees and models would name objects by ids
            // the destination does not use
            return Err(Error::Config(format!(
                "cannot sync {} to {}: {}; both must be without encryption, or encrypted with the same data key (a store created with `rewind init --encrypt-like {}`)",
                self.describe(),
                to.describe(),
                match (self.encryption(), to.encryption()) {
                    (crate::Encrypted::No, _) => "the source is not encrypted and the destination is".to_string(),
                    (_, crate::Encrypted::No) => "the source is encrypted and the destination is not".to_string(),
                    _ => "they are encrypted with different data keys".to_string(),
                },
                self.location()
            )));
        }
        let mut report = SyncReport::default();
        let refs = self.refs()?;
        let live = self.reachable_snapshots(&refs)?;
        let mut missing: HashSet<SnapshotId> = HashSet::new();
        for id in &live {
            match to.record(id) {
                Ok(_) => {}
                Err(Error::MissingSnapshot(_)) => {
                    missing.insert(*id);
                }
                Err(e) => return Err(e),
            }
        }
        let _lock = to.shared_lock()?;
        to.refresh_packs()?;
        self.copy_objects(to, &self.reachable_objects(&missing, &refs)?, &mut report)?;
        // Records after their objects, refs last.
        let mut ordered: Vec<SnapshotId> = missing.into_iter().collect();
        ordered.sort();
        for id in &ordered {
            to.put_snapshot(&self.record(id)?)?;
            report.snapshots += 1;
        }
        let time = crate::time::now();
        let reason = format!("sync from {}", self.describe());
        to.update_refs(|dest| {
            let mut merge = RefMerge {
                time: &time,
                reason: &reason,
                changed: Vec::new(),
                warnings: Vec::new(),
            };
            merge.tags(&refs, dest);
            for (env, e) in &refs.envs {
                merge.env(self, to, env, e, dest);
            }
            report.refs = merge.changed;
            report.warnings = merge.warnings;
            Ok(())
        })?;
        Ok(report)
    }

    /// Copies the objects `to` lacks, in packs of at most about 128 MiB.
    fn copy_objects(
        &self,
        to: &Store,
        wanted: &HashSet<ObjectId>,
        report: &mut SyncReport,
    ) -> Result<()> {
        let mut todo: Vec<ObjectId> = Vec::new();
        for id in wanted {
            if !to.has(id)? {
                todo.push(*id);
            }
        }
        todo.sort();
        let mut w = to.pack_writer();
        for chunk in todo.chunks(4096) {
            let data = self.get_many(chunk)?;
            for (id, bytes) in chunk.iter().zip(data) {
                w.add(*id, self.object_type(id)?, &bytes);
                report.objects += 1;
                report.bytes += bytes.len() as u64;
                if w.len() > PACK_SPLIT {
                    to.write_pack(std::mem::take(&mut w))?;
                }
            }
        }
        to.write_pack(w)?;
        Ok(())
    }
}

/// Merges the source's refs into the destination's, one attempt of the
/// conditional write.
struct RefMerge<'a> {
    time: &'a str,
    reason: &'a str,
    changed: Vec<String>,
    warnings: Vec<String>,
}

impl RefMerge<'_> {
    /// New tags are copied; a tag naming another snapshot there stays.
    fn tags(&mut self, src: &Refs, dest: &mut Refs) {
        for (t, id) in &src.tags {
            match dest.tags.get(t) {
                None => {
                    dest.tags.insert(t.clone(), *id);
                    dest.record(self.time, format!("tags/{t}"), None, Some(*id), self.reason);
                    self.changed.push(format!("tags/{t}"));
                }
                Some(d) if d != id => self.warnings.push(format!(
                    "tag {t} names {} here and {} there: left as it is",
                    id.short(12),
                    d.short(12)
                )),
                _ => {}
            }
        }
    }

    /// An environment's latest snapshot moves forward along its history
    /// (never back, never to a diverged one); its good mark is copied when
    /// the destination has none.
    fn env(&mut self, from: &Store, to: &Store, env: &str, src: &EnvRefs, dest: &mut Refs) {
        let d = dest.envs.entry(env.to_string()).or_default();
        let mut set = Vec::new();
        if let Some(s) = src.latest {
            match d.latest {
                None => set.push(("latest", s)),
                Some(cur) if cur == s => {}
                Some(cur) if from.descends(s, cur).unwrap_or(false) => set.push(("latest", s)),
                Some(cur) => {
                    if !from.descends(cur, s).unwrap_or(false)
                        && !to.descends(cur, s).unwrap_or(false)
                    {
                        self.warnings.push(format!(
                            "environment {env} has diverged: {} here, {} there; left as it is",
                            s.short(12),
                            cur.short(12)
                        ));
                    }
                }
            }
        }
        if let Some(g) = src.good {
            match d.good {
                None => set.push(("good", g)),
                Some(cur) if cur != g => self.warnings.push(format!(
                    "{env}@good is {} here and {} there: left as it is",
                    g.short(12),
                    cur.short(12)
                )),
                _ => {}
            }
        }
        for (which, id) in set {
            let d = dest.envs.entry(env.to_string()).or_default();
            if which == "good" {
                d.good = Some(id);
            } else {
                d.latest = Some(id);
            }
            self.changed.push(format!("envs/{env}/{which}"));
            dest.record(
                self.time,
                format!("envs/{env}/{which}"),
                None,
                Some(id),
                self.reason,
            );
        }
    }
}
