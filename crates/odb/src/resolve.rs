//! The REF syntax: a tag, a full id, a unique id prefix (6+ hex digits),
//! `id:PREFIX` (an id or prefix even where a tag has that name), any of
//! them written `ref:REF` (as `diff` and `plan` take them), `ENV`
//! (its latest snapshot), `ENV~N` (N snapshots before), `ENV@good` (its
//! last known-good snapshot), `ENV@latest` (docs/store-format.md §13).

use crate::error::{Error, Result};
use crate::id::SnapshotId;
use crate::refs::Refs;
use crate::store::Store;

fn bad(msg: String) -> Error {
    Error::BadRef(msg)
}

impl Store {
    /// Resolves a REF to a snapshot id.
    pub fn resolve(&self, spec: &str) -> Result<SnapshotId> {
        self.resolve_in(&self.refs()?, spec)
    }

    /// Resolves a REF against refs already read.
    pub fn resolve_in(&self, refs: &Refs, spec: &str) -> Result<SnapshotId> {
        // `ref:SPEC`, the spelling `diff` and `plan` take for a name that is
        // also a directory, is the same reference everywhere (no tag or
        // environment name holds a colon)
        let spec = spec.trim();
        let spec = spec.strip_prefix("ref:").unwrap_or(spec).trim();
        if spec.is_empty() {
            return Err(bad("empty snapshot reference".into()));
        }
        if let Some((base, n)) = spec.rsplit_once('~') {
            return self.ancestor(refs, spec, base, n);
        }
        if let Some((env, mark)) = spec.split_once('@') {
            return env_mark(refs, spec, env, mark);
        }
        if spec == "good" {
            return only_good(refs);
        }
        // `id:PREFIX`: the snapshot id, whatever tag has that name
        if let Some(hex) = spec.strip_prefix("id:") {
            return self.by_id(hex);
        }
        if let Some(id) = refs.tags.get(spec) {
            return Ok(*id);
        }
        if let Some(e) = refs.envs.get(spec) {
            return e
                .latest
                .ok_or_else(|| bad(format!("{spec:?}: the environment has no snapshot")));
        }
        if spec.chars().all(|c| c.is_ascii_hexdigit()) {
            return self.by_id(spec);
        }
        Err(bad(format!(
            "unknown reference {spec:?}: not a tag, an environment, or a snapshot id{}",
            known_names(refs)
        )))
    }

    /// A note for a REF that names a tag and is also the start of another
    /// snapshot's id (a pipeline number such as `881234`): the tag wins,
    /// as a ref does in git, and the note says how to name the id
    /// instead. `None` when there is no such ambiguity.
    pub fn shadowed_id(&self, refs: &Refs, spec: &str) -> Result<Option<String>> {
        let spec = spec.trim();
        let Some(tagged) = refs.tags.get(spec) else {
            return Ok(None);
        };
        if spec.len() < 6 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let lower = spec.to_ascii_lowercase();
        let others: Vec<SnapshotId> = self
            .list_snapshots()?
            .into_iter()
            .filter(|h| h != tagged && h.to_hex().starts_with(&lower))
            .collect();
        Ok(match others.as_slice() {
            [] => None,
            [one] => Some(format!(
                "note: {spec:?} is a tag (snapshot {}) and also the start of snapshot id {}: the tag wins, as a ref does in git; write id:{spec} for the snapshot whose id starts with it",
                tagged.short(12),
                one.short(12)
            )),
            many => Some(format!(
                "note: {spec:?} is a tag (snapshot {}) and also the start of {} snapshot ids: the tag wins, as a ref does in git; write id:PREFIX (6+ hex digits of the id) for one of those snapshots",
                tagged.short(12),
                many.len()
            )),
        })
    }

    /// A full snapshot id or a unique prefix of one.
    fn by_id(&self, spec: &str) -> Result<SnapshotId> {
        if spec.len() == 64 {
            if let Ok(h) = SnapshotId::from_hex(spec) {
                self.record(&h)?;
                return Ok(h);
            }
        }
        if !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(format!(
                "{spec:?}: a snapshot id is made of hex digits"
            )));
        }
        self.by_prefix(spec)
    }

    /// `BASE~N`: N parents back from BASE.
    fn ancestor(&self, refs: &Refs, spec: &str, base: &str, n: &str) -> Result<SnapshotId> {
        let steps: usize = n
            .parse()
            .map_err(|_| bad(format!("{spec:?}: expected a number after '~'")))?;
        let mut id = self.resolve_in(refs, base)?;
        for i in 0..steps {
            let rec = self.record(&id)?;
            id = rec.parent.ok_or_else(|| {
                bad(format!(
                    "{spec:?}: the history of {base} has only {} snapshot{}",
                    i + 1,
                    if i == 0 { "" } else { "s" }
                ))
            })?;
        }
        Ok(id)
    }

    /// The unique snapshot whose id starts with `spec` (6+ hex digits).
    fn by_prefix(&self, spec: &str) -> Result<SnapshotId> {
        if spec.len() < 6 {
            return Err(bad(format!(
                "{spec:?}: an id prefix needs at least 6 hex digits"
            )));
        }
        let lower = spec.to_ascii_lowercase();
        let matches: Vec<SnapshotId> = self
            .list_snapshots()?
            .into_iter()
            .filter(|h| h.to_hex().starts_with(&lower))
            .collect();
        match matches.as_slice() {
            [one] => Ok(*one),
            [] => Err(bad(format!("{spec:?}: no snapshot id starts with it"))),
            many => {
                let mut lines = vec![format!("{spec:?} is ambiguous; it could be:")];
                for h in many {
                    let desc = self
                        .record(h)
                        .map(|r| format!("{} {} {}", r.time, r.env, r.message))
                        .unwrap_or_default();
                    lines.push(format!("  {} {desc}", h.short(12)));
                }
                Err(bad(lines.join("\n")))
            }
        }
    }
}

/// `ENV@good`, `ENV@latest`.
fn env_mark(refs: &Refs, spec: &str, env: &str, mark: &str) -> Result<SnapshotId> {
    let e = refs.envs.get(env).ok_or_else(|| {
        bad(format!(
            "{spec:?}: no environment named {env:?}{}",
            known_names(refs)
        ))
    })?;
    match mark {
        "good" => e.good.ok_or_else(|| {
            bad(format!(
                "{spec:?}: no snapshot of {env} is marked good yet (use `rewind mark-good REF --env {env}`)"
            ))
        }),
        "latest" => e
            .latest
            .ok_or_else(|| bad(format!("{spec:?}: {env} has no snapshot"))),
        other => Err(bad(format!(
            "{spec:?}: unknown mark {other:?} (use @good or @latest)"
        ))),
    }
}

/// `good`: the last known-good mark of any environment, when only one has one.
fn only_good(refs: &Refs) -> Result<SnapshotId> {
    let goods: Vec<(&String, SnapshotId)> = refs
        .envs
        .iter()
        .filter_map(|(k, v)| v.good.map(|g| (k, g)))
        .collect();
    match goods.as_slice() {
        [(_, g)] => Ok(*g),
        [] => Err(bad("\"good\": no snapshot is marked good yet".into())),
        _ => Err(bad(format!(
            "\"good\" is ambiguous: use ENV@good ({})",
            goods
                .iter()
                .map(|(k, _)| format!("{k}@good"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// ` (known: …)`: the environments and some tags, for an error message.
fn known_names(refs: &Refs) -> String {
    if refs.envs.is_empty() && refs.tags.is_empty() {
        return String::new();
    }
    let mut names: Vec<String> = refs.envs.keys().cloned().collect();
    names.extend(refs.tags.keys().take(10).cloned());
    format!(" (known: {})", names.join(", "))
}
