//! The REF syntax: a tag, a full id, a unique id prefix (6+ hex digits),
//! `ENV` (its latest snapshot), `ENV~N` (N snapshots before), `ENV@good`
//! (its last known-good snapshot), `ENV@latest`.

use rewind_model::Hash;

use crate::error::{Result, StoreError};
use crate::refs::Refs;
use crate::store::Store;

impl Store {
    /// Resolves a REF to a snapshot id.
    pub fn resolve(&self, spec: &str) -> Result<Hash> {
        let (refs, _) = self.refs()?;
        self.resolve_in(&refs, spec)
    }

    pub fn resolve_in(&self, refs: &Refs, spec: &str) -> Result<Hash> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(StoreError::BadRef("empty snapshot reference".into()));
        }
        // ENV~N
        if let Some((base, n)) = spec.rsplit_once('~') {
            let steps: usize = n.parse().map_err(|_| {
                StoreError::BadRef(format!("{spec:?}: expected a number after '~'"))
            })?;
            let mut id = self.resolve_in(refs, base)?;
            for i in 0..steps {
                let rec = self.record(&id)?;
                id = rec.parent.ok_or_else(|| {
                    StoreError::BadRef(format!(
                        "{spec:?}: the history of {base} has only {} snapshot{}",
                        i + 1,
                        if i == 0 { "" } else { "s" }
                    ))
                })?;
            }
            return Ok(id);
        }
        if let Some((env, what)) = spec.split_once('@') {
            let e = refs.envs.get(env).ok_or_else(|| {
                StoreError::BadRef(format!(
                    "{spec:?}: no environment named {env:?}{}",
                    known_envs(refs)
                ))
            })?;
            return match what {
                "good" => e.good.ok_or_else(|| {
                    StoreError::BadRef(format!(
                        "{spec:?}: no snapshot of {env} is marked good yet (use `rewind mark-good REF --env {env}`)"
                    ))
                }),
                "latest" => e
                    .latest
                    .ok_or_else(|| StoreError::BadRef(format!("{spec:?}: {env} has no snapshot"))),
                other => Err(StoreError::BadRef(format!(
                    "{spec:?}: unknown mark {other:?} (use @good or @latest)"
                ))),
            };
        }
        if spec == "good" {
            // the last known-good mark of any environment, when only one has one
            let goods: Vec<(&String, Hash)> = refs
                .envs
                .iter()
                .filter_map(|(k, v)| v.good.map(|g| (k, g)))
                .collect();
            return match goods.as_slice() {
                [(_, g)] => Ok(*g),
                [] => Err(StoreError::BadRef(
                    "\"good\": no snapshot is marked good yet".into(),
                )),
                _ => Err(StoreError::BadRef(format!(
                    "\"good\" is ambiguous: use ENV@good ({})",
                    goods
                        .iter()
                        .map(|(k, _)| format!("{k}@good"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            };
        }
        if let Some(id) = refs.tags.get(spec) {
            return Ok(*id);
        }
        if let Some(e) = refs.envs.get(spec) {
            return e.latest.ok_or_else(|| {
                StoreError::BadRef(format!("{spec:?}: the environment has no snapshot"))
            });
        }
        if spec.len() == 64 {
            if let Ok(h) = Hash::from_hex(spec) {
                self.record(&h)?;
                return Ok(h);
            }
        }
        if spec.chars().all(|c| c.is_ascii_hexdigit()) {
            let lower = spec.to_ascii_lowercase();
            if spec.len() < 6 {
                return Err(StoreError::BadRef(format!(
                    "{spec:?}: an id prefix needs at least 6 hex digits"
                )));
            }
            let matches: Vec<Hash> = self
                .list_snapshots()?
                .into_iter()
                .filter(|h| h.to_hex().starts_with(&lower))
                .collect();
            return match matches.as_slice() {
                [one] => Ok(*one),
                [] => Err(StoreError::BadRef(format!(
                    "{spec:?}: no snapshot id starts with it"
                ))),
                many => {
                    let mut lines = vec![format!("{spec:?} is ambiguous; it could be:")];
                    for h in many {
                        let desc = self
                            .record(h)
                            .map(|r| format!("{} {} {}", r.time, r.env, r.message))
                            .unwrap_or_default();
                        lines.push(format!("  {} {desc}", h.short(12)));
                    }
                    Err(StoreError::BadRef(lines.join("\n")))
                }
            };
        }
        Err(StoreError::BadRef(format!(
            "unknown reference {spec:?}: not a tag, an environment, or a snapshot id{}",
            known_envs(refs)
        )))
    }

    /// Tags naming a snapshot.
    pub fn tags_of(&self, refs: &Refs, id: &Hash) -> Vec<String> {
        refs.tags
            .iter()
            .filter(|(_, v)| *v == id)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

fn known_envs(refs: &Refs) -> String {
    if refs.envs.is_empty() && refs.tags.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = refs.envs.keys().cloned().collect();
    names.extend(refs.tags.keys().take(10).cloned());
    format!(" (known: {})", names.join(", "))
}
