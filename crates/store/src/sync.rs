//! Copying snapshots between stores (`rewind sync FROM TO`).

use std::collections::HashSet;

use rewind_model::Hash;

use crate::error::{Result, StoreError};
use crate::pack::PackWriter;
use crate::store::{Store, PACK_SPLIT};

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub snapshots: usize,
    pub objects: usize,
    pub bytes: u64,
    pub refs: Vec<String>,
    pub warnings: Vec<String>,
}

impl Store {
    /// Is `ancestor` in the history of `id` (following parents)?
    fn descends(&self, id: Hash, ancestor: Hash) -> Result<bool> {
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
                Err(StoreError::NotFound(_)) => None,
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
        let mut report = SyncReport::default();
        let (refs, _) = self.refs()?;
        let live = self.reachable_snapshots(&refs)?;
        let mut missing: HashSet<Hash> = HashSet::new();
        for id in &live {
            match to.record(id) {
                Ok(_) => {}
                Err(StoreError::NotFound(_)) => {
                    missing.insert(*id);
                }
                Err(e) => return Err(e),
            }
        }
        let _lock = to.shared_lock()?;
        to.refresh_packs()?;
        let wanted = self.reachable_objects(&missing, &refs)?;
        let mut todo: Vec<Hash> = Vec::new();
        for id in wanted {
            if !to.has(&id)? {
                todo.push(id);
            }
        }
        todo.sort();
        let mut w = PackWriter::new();
        for chunk in todo.chunks(4096) {
            let data = self.get_many(chunk)?;
            for (id, bytes) in chunk.iter().zip(data) {
                let (ty, _) = self.get_location_type(id)?;
                w.add(*id, ty, &bytes);
                report.objects += 1;
                report.bytes += bytes.len() as u64;
                if w.len() > PACK_SPLIT {
                    to.write_pack(std::mem::take(&mut w))?;
                }
            }
        }
        to.write_pack(w)?;
        // Records after their objects, refs last.
        let mut ordered: Vec<Hash> = missing.into_iter().collect();
        ordered.sort();
        for id in &ordered {
            let rec = self.record(id)?;
            to.put_snapshot(&rec)?;
            report.snapshots += 1;
        }
        let time = crate::time::now();
        let source = self.describe();
        let mut warnings = Vec::new();
        let mut changed = Vec::new();
        to.update_refs(|dest| {
            warnings.clear();
            changed.clear();
            let reason = format!("sync from {source}");
            for (t, id) in &refs.tags {
                match dest.tags.get(t) {
                    None => {
                        dest.tags.insert(t.clone(), *id);
                        dest.record(&time, format!("tags/{t}"), None, Some(*id), &reason);
                        changed.push(format!("tags/{t}"));
                    }
                    Some(d) if d != id => warnings.push(format!(
                        "tag {t} names {} here and {} there: left as it is",
                        id.short(12),
                        d.short(12)
                    )),
                    _ => {}
                }
            }
            for (env, e) in &refs.envs {
                let d = dest.envs.entry(env.clone()).or_default();
                if let Some(src) = e.latest {
                    match d.latest {
                        None => {
                            d.latest = Some(src);
                            changed.push(format!("envs/{env}/latest"));
                        }
                        Some(cur) if cur == src => {}
                        Some(cur) => {
                            if self.descends(src, cur).unwrap_or(false) {
                                d.latest = Some(src);
                                changed.push(format!("envs/{env}/latest"));
                            } else if !self.descends(cur, src).unwrap_or(false) && !to.descends(cur, src).unwrap_or(false) {
                                warnings.push(format!(
                                    "environment {env} has diverged: {} here, {} there; left as it is",
                                    src.short(12),
                                    cur.short(12)
                                ));
                            }
                        }
                    }
                }
                if let Some(g) = e.good {
                    match d.good {
                        None => {
                            d.good = Some(g);
                            changed.push(format!("envs/{env}/good"));
                        }
                        Some(cur) if cur != g => warnings.push(format!(
                            "{env}@good is {} here and {} there: left as it is",
                            g.short(12),
                            cur.short(12)
                        )),
                        _ => {}
                    }
                }
            }
            for name in changed.clone() {
                if let Some(rest) = name.strip_prefix("envs/") {
                    let (env, which) = rest.split_once('/').unwrap_or((rest, "latest"));
                    let new = dest.envs.get(env).and_then(|e| if which == "good" { e.good } else { e.latest });
                    dest.record(&time, name.clone(), None, new, &reason);
                }
            }
            Ok(())
        })?;
        report.refs = changed;
        report.warnings = warnings;
        Ok(report)
    }
}
