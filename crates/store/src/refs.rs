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

use crate::error::{corrupt, Result};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvRefs {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub latest: Option<Hash>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub good: Option<Hash>,
}

/// One ref change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub time: String,
    /// `tags/v42`, `envs/prod/latest`, `envs/prod/good`.
    #[serde(rename = "ref")]
    pub name: String,
    pub old: Option<Hash>,
    pub new: Option<Hash>,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refs {
    pub version: u32,
    pub tags: BTreeMap<String, Hash>,
    pub envs: BTreeMap<String, EnvRefs>,
    /// Recent changes, oldest first.
    pub log: Vec<LogEntry>,
    /// Older changes, in log-chunk objects, oldest first.
    #[serde(default)]
    pub log_chunks: Vec<Hash>,
}

/// Entries kept in the refs document before older ones move to a chunk.
pub const LOG_INLINE_MAX: usize = 2000;
pub const LOG_CHUNK: usize = 1000;

const TRAILER: &str = "\n# blake3 ";

impl Refs {
    pub fn encode(&self) -> Vec<u8> {
        let json = serde_json::to_string_pretty(self).unwrap_or_default();
        let sum = Hash::of(json.as_bytes());
        format!("{json}{TRAILER}{}\n", sum.to_hex()).into_bytes()
    }

    pub fn decode(bytes: &[u8], what: &str) -> Result<Refs> {
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
        Ok(refs)
    }

    pub fn record(
        &mut self,
        time: &str,
        name: String,
        old: Option<Hash>,
        new: Option<Hash>,
        reason: &str,
    ) {
        self.log.push(LogEntry {
            time: time.to_string(),
            name,
            old,
            new,
            reason: reason.to_string(),
        });
    }

    /// Every snapshot id a ref or a log entry names.
    pub fn named_ids(&self) -> Vec<Hash> {
        let mut ids: Vec<Hash> = self.tags.values().copied().collect();
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
}

/// Validates a tag or environment name.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
        && !name.starts_with('.')
        && !matches!(name, "good" | "latest")
        && !name.chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(crate::error::StoreError::BadRef(format!(
            "invalid {kind} name {name:?}: use letters, digits, '-', '_', '.', '+' (not only hex digits, which would read as an id, and not \"good\" or \"latest\", which are reference words)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_round_trip_and_detect_corruption() {
        let mut r = Refs {
            version: 1,
            ..Default::default()
        };
        r.tags.insert("v1".into(), Hash::of(b"x"));
        r.envs.entry("prod".into()).or_default().latest = Some(Hash::of(b"x"));
        r.record(
            "2026-01-01T00:00:00Z",
            "tags/v1".into(),
            None,
            Some(Hash::of(b"x")),
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
        assert!(check_name("tag", "a/b").is_err());
    }
}
