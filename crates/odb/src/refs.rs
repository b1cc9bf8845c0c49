//! Names for snapshots: tags, each environment's latest snapshot and its
//! known-good mark, and the log of every change to them.
//!
//! All refs live in one small document (`refs`) updated with a conditional
//! write, so concurrent writers never lose each other's updates: a writer
//! that loses the race re-reads and re-applies its change. The document
//! ends with a blake3 checksum line; older log entries move to immutable
//! log-chunk objects so the document stays small.

use std::collections::BTreeMap;

use rewind_model::Hash;
use serde::{Deserialize, Serialize};

use crate::backend::{Cond, Put, Version};
use crate::error::{corrupt, Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::pack::ObjType;
use crate::record::SnapshotRecord;
use crate::store::Store;

/// The marks of one environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvRefs {
    /// Its latest snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latest: Option<SnapshotId>,
    /// Its last known-good snapshot.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub good: Option<SnapshotId>,
}

/// One ref change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When (RFC 3339, UTC).
    pub time: String,
    /// `tags/v42`, `envs/prod/latest`, `envs/prod/good`.
    #[serde(rename = "ref")]
    pub name: String,
    /// The value before.
    pub old: Option<SnapshotId>,
    /// The value after.
    pub new: Option<SnapshotId>,
    /// Why (`snapshot: MSG`, `tag`, `mark-good`, `mark-good: MSG`, …).
    pub reason: String,
    /// Who made the change (absent in entries written by earlier versions).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub who: Option<Actor>,
}

/// Who changed a ref: the user and host, and the CI job when the change
/// was made by one (docs/store-format.md §8.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The login name (`USER`, `USERNAME` or `LOGNAME`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub user: String,
    /// The host name.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub host: String,
    /// The CI job, when one made the change.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ci: Option<CiJob>,
}

/// A CI job, as the usual CI variables describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiJob {
    /// `github-actions`, `gitlab`, `jenkins`, `circleci`, `buildkite`,
    /// `azure-pipelines`, or `ci` (only `CI` is set).
    pub system: String,
    /// The account that started the job (`GITHUB_ACTOR`, `GITLAB_USER_LOGIN`, …).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub actor: String,
    /// The pipeline or run (`owner/repo#run`, `project#pipeline`, `job#build`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub run: String,
    /// A link to the run.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub url: String,
}

impl std::fmt::Display for Actor {
    /// `alice@build-7 (github-actions: octocat, acme/infra#8812)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let user = if self.user.is_empty() {
            "?"
        } else {
            &self.user
        };
        write!(f, "{user}")?;
        if !self.host.is_empty() {
            write!(f, "@{}", self.host)?;
        }
        if let Some(ci) = &self.ci {
            let parts: Vec<&str> = [ci.actor.as_str(), ci.run.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            if parts.is_empty() {
                write!(f, " ({})", ci.system)?;
            } else {
                write!(f, " ({}: {})", ci.system, parts.join(", "))?;
            }
        }
        Ok(())
    }
}

/// The refs document (docs/store-format.md §8).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refs {
    /// The document's version (1).
    pub version: u32,
    /// Tags; a tag never moves unless forced.
    pub tags: BTreeMap<String, SnapshotId>,
    /// Each environment's marks.
    pub envs: BTreeMap<String, EnvRefs>,
    /// Recent changes, oldest first.
    pub log: Vec<LogEntry>,
    /// Older changes, in log-chunk objects, oldest first.
    #[serde(default)]
    pub log_chunks: Vec<ObjectId>,
}

/// Entries kept in the refs document before older ones move to a chunk:
/// every command that names a snapshot reads the whole document, so it
/// stays small (2000 entries, a store's first 1,000 snapshots, took a
/// `diff` longer to read than its own work).
const LOG_INLINE_MAX: usize = 256;
/// Entries moved to a chunk at a time.
const LOG_CHUNK: usize = 128;
/// How many times a ref update is retried after losing a race.
const REF_RETRIES: usize = 50;

const TRAILER: &str = "\n# blake3 ";

/// The key of the copy of the refs written after each change
/// (docs/store-format.md §8).
pub(crate) const REFS_BACKUP: &str = "refs.backup";

impl Refs {
    /// A document naming nothing.
    pub(crate) fn empty() -> Refs {
        Refs {
            version: 1,
            ..Default::default()
        }
    }

    /// The document's bytes, checksum line included.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_string_pretty(self).expect("refs always serialize");
        let sum = Hash::of(json.as_bytes());
        format!("{json}{TRAILER}{}\n", sum.to_hex()).into_bytes()
    }

    /// Reads a document, checking its checksum and version (`what` names
    /// it in errors).
    pub(crate) fn decode(bytes: &[u8], what: &str) -> Result<Refs> {
        let text = std::str::from_utf8(bytes).map_err(|_| corrupt(what, "not UTF-8"))?;
        let Some(at) = text.rfind(TRAILER) else {
            return Err(corrupt(what, "the checksum line is missing"));
        };
        let json = &text[..at];
        let sum = text[at + TRAILER.len()..].trim();
        if Hash::of(json.as_bytes()).to_hex() != sum {
            return Err(corrupt(what, "checksum mismatch"));
        }
        let refs: Refs = serde_json::from_str(json).map_err(|e| corrupt(what, e.to_string()))?;
        if refs.version != 1 {
            return Err(corrupt(
                what,
                format!("unknown refs version {}", refs.version),
            ));
        }
        // names the checksum vouches for, but no rewind wrote (the rules
        // that came later, such as reserved words, are not held against
        // older stores)
        let names = refs.tags.keys().map(|t| ("tag", t));
        let envs = refs.envs.keys().map(|e| ("environment", e));
        if let Some((kind, name)) = names.chain(envs).find(|(_, n)| !well_formed(n)) {
            return Err(corrupt(
                what,
                format!("the {kind} name {name:?} breaks the naming rules (letters, digits, '-', '_', '.', '+'; not empty, not starting with '.', at most 200 bytes): not a document rewind wrote"),
            ));
        }
        Ok(refs)
    }

    /// Appends a log entry.
    pub fn record(
        &mut self,
        time: &str,
        name: String,
        old: Option<SnapshotId>,
        new: Option<SnapshotId>,
        reason: &str,
    ) {
        self.log.push(LogEntry {
            time: time.to_string(),
            name,
            old,
            new,
            reason: reason.to_string(),
            who: None,
        });
    }

    /// Every snapshot id a ref or an inline log entry names.
    pub(crate) fn named_ids(&self) -> Vec<SnapshotId> {
        let mut ids: Vec<SnapshotId> = self.tags.values().copied().collect();
        for e in self.envs.values() {
            ids.extend(e.latest);
            ids.extend(e.good);
        }
        for l in &self.log {
            ids.extend(l.old);
            ids.extend(l.new);
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// Tags naming a snapshot.
    pub fn tags_of(&self, id: &SnapshotId) -> Vec<String> {
        self.tags
            .iter()
            .filter(|(_, v)| *v == id)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Fails when a name would be both a tag and an environment (`kind`
    /// says which it is to become): tags and environments share one
    /// namespace, or `stage` could mean either.
    pub fn check_namespace(&self, kind: &str, name: &str) -> Result<()> {
        let taken = match kind {
            "tag" => self.envs.contains_key(name).then_some("an environment"),
            _ => self.tags.contains_key(name).then_some("a tag"),
        };
        match taken {
            Some(other) => Err(Error::BadRef(format!(
                "{name:?} is already {other}'s name: tags and environments share one namespace, so it cannot also name {}",
                if kind == "tag" { "a tag" } else { "an environment" }
            ))),
            None => Ok(()),
        }
    }

    /// Fails when `tag` names a snapshot other than `id` and may not move.
    pub fn check_tag_free(&self, tag: &str, id: Option<SnapshotId>, force: bool) -> Result<()> {
        match self.tags.get(tag) {
            Some(old) if Some(*old) != id && !force => Err(Error::TagTaken {
                tag: tag.to_string(),
                id: *old,
            }),
            _ => Ok(()),
        }
    }
}

/// The characters and length every tag and environment name has had
/// since the first store: what a refs document read back must hold too
/// (a crafted document could carry control characters, `/` or `..`).
fn well_formed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
        && !name.starts_with('.')
}

/// Validates a tag or environment name (`kind` says which, for the message).
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    let ok = well_formed(name)
        && !matches!(name, "good" | "latest")
        // hex letters and digits only would read as an id; digits only is
        // a pipeline number (`8812`): accepted, and a tag wins over an id
        // prefix when resolving, as a ref does in git
        && (!name.chars().all(|c| c.is_ascii_hexdigit())
            || name.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(Error::BadRef(format!(
            "invalid {kind} name {name:?}: use letters, digits, '-', '_', '.', '+' (not only hex letters and digits, which would read as an id, and not \"good\" or \"latest\", which are reference words)"
        )))
    }
}

impl Store {
    /// The refs and the version they were read at (`None`: no `refs` key
    /// yet, read as an empty document).
    pub(crate) fn refs_versioned(&self) -> Result<(Refs, Option<Version>)> {
        match self.backend().get("refs")? {
            Some((bytes, v)) => Ok((
                Refs::decode(&bytes, &format!("{} (refs)", self.describe()))?,
                Some(v),
            )),
            None => {
                // `init` writes the refs with the config: a store without
                // them but with snapshots has lost them, and must not read
                // as empty (gc would delete everything).
                let records = self.list_snapshots()?.len();
                if records > 0 {
                    return Err(Error::RefsMissing {
                        store: self.describe(),
                        records,
                    });
                }
                Ok((Refs::empty(), None))
            }
        }
    }

    /// The refs as they are now.
    pub fn refs(&self) -> Result<Refs> {
        Ok(self.refs_versioned()?.0)
    }

    /// Applies `change` to the refs with a conditional write, re-reading
    /// and applying it again when another writer got there first (backing
    /// off a little more each time). `change` may write objects and
    /// records: only the refs make them visible. Returns what the
    /// successful `change` returned.
    pub(crate) fn refs_transaction<T>(
        &self,
        mut change: impl FnMut(&mut Refs) -> Result<T>,
    ) -> Result<T> {
        for attempt in 0..REF_RETRIES {
            let (mut refs, version) = self.refs_versioned()?;
            let logged = refs.log.len();
            let out = change(&mut refs)?;
            if let Some(actor) = self.actor() {
                for l in refs.log[logged..].iter_mut().filter(|l| l.who.is_none()) {
                    l.who = Some(actor.clone());
                }
            }
            let cond = match version {
                Some(v) => Cond::Match(v),
                None => Cond::Absent,
            };
            match self.put_refs(&mut refs, cond)? {
                Put::Done => return Ok(out),
                Put::Conflict => {
                    // back off a little, more each time, with jitter
                    let jitter = u64::from(std::process::id() % 7) + attempt as u64 * 3;
                    std::thread::sleep(std::time::Duration::from_millis(2 + jitter));
                }
            }
        }
        Err(Error::RefsContended {
            store: self.describe(),
            attempts: REF_RETRIES,
        })
    }

    /// Applies `change` to the refs with a conditional write, under the
    /// shared gc lock (so a log chunk written meanwhile is safe from gc),
    /// re-reading and applying it again when another writer got there first.
    pub fn update_refs(&self, change: impl FnMut(&mut Refs) -> Result<()>) -> Result<()> {
        let _lock = self.shared_lock()?;
        self.refs_transaction(change)
    }

    /// One conditional write of the refs (spilling old log entries into a
    /// log chunk first).
    fn put_refs(&self, refs: &mut Refs, cond: Cond) -> Result<Put> {
        // A document written with a larger limit may spill several chunks
        // at once: they share one pack.
        let mut spilled = Vec::new();
        while refs.log.len() > LOG_INLINE_MAX {
            let old: Vec<_> = refs.log.drain(..LOG_CHUNK).collect();
            let bytes = serde_json::to_vec(&old).expect("log entries always serialize");
            let id = self.object_id(&bytes);
            if !self.has(&id)? && !spilled.iter().any(|(s, _)| *s == id) {
                spilled.push((id, bytes));
            }
            refs.log_chunks.push(id);
        }
        if !spilled.is_empty() {
            let mut w = self.pack_writer();
            for (id, bytes) in &spilled {
                w.add(*id, ObjType::LogChunk, bytes);
            }
            self.write_pack(w)?;
        }
        let bytes = refs.encode();
        let put = self.backend().put("refs", &bytes, cond)?;
        if put == Put::Done {
            // A second copy, for `verify --repair` should `refs` be lost:
            // at worst one change behind, which the snapshot records and
            // the log chunks make up for. Its failure is not the change's.
            let _ = self.backend().put(REFS_BACKUP, &bytes, Cond::Always);
        }
        Ok(put)
    }

    /// The whole ref log, oldest first.
    pub fn full_log(&self, refs: &Refs) -> Result<Vec<LogEntry>> {
        let mut out = Vec::new();
        for c in &refs.log_chunks {
            let bytes = self.get_typed(c, ObjType::LogChunk)?;
            let entries: Vec<LogEntry> = serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("log chunk {c}"), e.to_string()))?;
            out.extend(entries);
        }
        out.extend(refs.log.iter().cloned());
        Ok(out)
    }

    /// Records a snapshot and makes it `env`'s latest (and
    /// gives it `tags`), in one conditional write of the refs. `make`
    /// builds the record from its parent, the environment's latest
    /// snapshot as read; when another writer moves the refs first, the
    /// record is built again on the new parent (the losing record stays
    /// unnamed until gc removes it). The caller holds the shared lock for
    /// the objects it wrote.
    pub fn publish_snapshot(
        &self,
        env: &str,
        tags: &[String],
        force_tag: bool,
        make: impl Fn(Option<SnapshotId>) -> SnapshotRecord,
    ) -> Result<(SnapshotId, SnapshotRecord)> {
        self.refs_transaction(|refs| {
            refs.check_namespace("environment", env)?;
            for t in tags {
                refs.check_tag_free(t, None, force_tag)?;
                if t == env {
                    return Err(Error::BadRef(format!(
                        "{t:?} cannot be both the environment and a tag: tags and environments share one namespace"
                    )));
                }
                refs.check_namespace("tag", t)?;
            }
            let parent = refs.envs.get(env).and_then(|e| e.latest);
            let record = make(parent);
            let id = self.put_snapshot(&record)?;
            let reason = if record.message.is_empty() {
                "snapshot".to_string()
            } else {
                format!("snapshot: {}", record.message)
            };
            let time = &record.time;
            refs.envs.entry(env.to_string()).or_default().latest = Some(id);
            refs.record(
                time,
                format!("envs/{env}/latest"),
                parent,
                Some(id),
                &reason,
            );
            for t in tags {
                let old = refs.tags.insert(t.clone(), id);
                refs.record(time, format!("tags/{t}"), old, Some(id), &reason);
            }
            Ok((id, record))
        })
    }

    /// Names a snapshot with a tag (moving an existing tag only with
    /// `force`); logged as `tags/NAME`.
    pub fn tag(&self, name: &str, id: SnapshotId, force: bool) -> Result<()> {
        check_name("tag", name)?;
        let time = crate::time::now();
        self.update_refs(|refs| {
            if refs.tags.get(name) == Some(&id) {
                return Ok(());
            }
            refs.check_tag_free(name, Some(id), force)?;
            refs.check_namespace("tag", name)?;
            let old = refs.tags.insert(name.to_string(), id);
            let reason = if force { "tag (forced)" } else { "tag" };
            refs.record(&time, format!("tags/{name}"), old, Some(id), reason);
            Ok(())
        })
    }

    /// Marks a snapshot known-good for an environment (a snapshot taken
    /// for another environment only with `force`); logged as
    /// `envs/ENV/good`.
    pub fn mark_good(&self, env: &str, id: SnapshotId, force: bool) -> Result<()> {
        self.mark_good_because(env, id, force, "")
    }

    /// [`Store::mark_good`] with the reason given (`mark-good -m`), logged
    /// as `mark-good: MESSAGE`.
    pub fn mark_good_because(
        &self,
        env: &str,
        id: SnapshotId,
        force: bool,
        message: &str,
    ) -> Result<()> {
        check_name("environment", env)?;
        let rec = self.record(&id)?;
        if rec.env != env && !force {
            return Err(Error::OtherEnvironment {
                id,
                taken_for: rec.env,
                env: env.to_string(),
            });
        }
        let time = crate::time::now();
        self.update_refs(|refs| {
            refs.check_namespace("environment", env)?;
            let e = refs.envs.entry(env.to_string()).or_default();
            let old = e.good;
            if old == Some(id) {
                return Ok(());
            }
            e.good = Some(id);
            let reason = if message.is_empty() {
                "mark-good".to_string()
            } else {
                format!("mark-good: {message}")
            };
            refs.record(&time, format!("envs/{env}/good"), old, Some(id), &reason);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_round_trip_and_detect_corruption() {
        let mut r = Refs::empty();
        let x = SnapshotId::of(b"x");
        r.tags.insert("v1".into(), x);
        r.envs.entry("prod".into()).or_default().latest = Some(x);
        r.record(
            "2026-01-01T00:00:00Z",
            "tags/v1".into(),
            None,
            Some(x),
            "snapshot",
        );
        let bytes = r.encode();
        assert_eq!(Refs::decode(&bytes, "refs").unwrap(), r);
        let mut bad = bytes.clone();
        let i = bad.iter().position(|&b| b == b'v').unwrap();
        bad[i] = b'w';
        assert!(Refs::decode(&bad, "refs").is_err());
        assert!(check_name("tag", "v1.2.3").is_ok());
        assert!(check_name("tag", "deadbeef").is_err());
        assert!(check_name("tag", "8812").is_ok(), "a pipeline number");
        assert!(check_name("tag", "8812ab").is_err());
        assert!(check_name("tag", "a/b").is_err());
    }

    /// A document with a valid checksum whose names no rewind wrote (a
    /// terminal escape, a path, `..`) is refused, naming the name; names
    /// only later rules forbid (a reserved word, hex digits) still read.
    #[test]
    fn crafted_names_under_a_valid_checksum_are_refused() {
        let x = SnapshotId::of(b"x");
        for (tag, env) in [
            ("v1\u{1b}[2J", "prod"),
            ("../../etc", "prod"),
            ("v1", "pro/d"),
            ("", "prod"),
            ("v1", ".hidden"),
            ("v1", &"e".repeat(201)),
        ] {
            let mut r = Refs::empty();
            r.tags.insert(tag.into(), x);
            r.envs.entry(env.to_string()).or_default().latest = Some(x);
            let err = Refs::decode(&r.encode(), "refs").unwrap_err().to_string();
            assert!(
                err.contains("breaks the naming rules"),
                "{tag:?} {env:?}: {err}"
            );
            assert!(!err.contains('\u{1b}'), "the name is quoted escaped: {err}");
        }
        let mut older = Refs::empty();
        older.tags.insert("deadbeef".into(), x);
        older.tags.insert("latest".into(), x);
        assert_eq!(Refs::decode(&older.encode(), "refs").unwrap(), older);
    }

    #[test]
    fn a_tag_moves_only_with_force_or_to_itself() {
        let mut r = Refs::empty();
        let (a, b) = (SnapshotId::of(b"a"), SnapshotId::of(b"b"));
        r.tags.insert("v1".into(), a);
        let err = r.check_tag_free("v1", Some(b), false).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "tag \"v1\" already names snapshot {}",
                a.short(12)
            )),
            "{err}"
        );
        assert!(r.check_tag_free("v1", None, false).is_err());
        r.check_tag_free("v1", Some(a), false).unwrap();
        r.check_tag_free("v1", Some(b), true).unwrap();
        r.check_tag_free("v2", Some(b), false).unwrap();
        assert_eq!(r.tags_of(&a), vec!["v1".to_string()]);
    }
}
