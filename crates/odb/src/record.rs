//! Snapshot records: what was captured, when, by whom and why (JSON under
//! `snapshots/<id>`, docs/store-format.md §7).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend::Cond;
use crate::error::{corrupt, Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::store::Store;

/// The version of the record format this program writes.
pub const RECORD_FORMAT: u32 = 1;

/// The git commit of the snapshotted directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    /// HEAD's commit id.
    pub commit: String,
    /// True when `git status` listed a change in the directory.
    pub dirty: bool,
}

/// What a snapshot was given beside its directory's files (the values
/// themselves are in the model: its `tfvars["(command line)"]` and
/// `tfvars["(environment)"]` nodes, and the state's instances).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedInputs {
    /// `terraform.workspace`.
    pub workspace: String,
    /// Where the state came from (`--state FILE`, or `(standard input)`),
    /// when it was not the directory's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `--var-file` paths, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub var_files: Vec<String>,
    /// Names of variables set with `--var`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<String>,
    /// Names of variables set by `TF_VAR_name` (`--env-vars`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<String>,
    /// The module cache given with `--modules`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<String>,
}

/// A snapshot: what was captured, when, by whom and why. Stored as JSON
/// under `snapshots/<id>`, where the id is the blake3 hash of these bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// The record format ([`RECORD_FORMAT`]).
    pub format: u32,
    /// The root Tree of the snapshot's files.
    pub tree: ObjectId,
    /// The Model object.
    pub model: ObjectId,
    /// The environment's latest snapshot when this one was recorded.
    pub parent: Option<SnapshotId>,
    /// UTC, RFC 3339.
    pub time: String,
    /// The `-m` message, may be empty.
    pub message: String,
    /// The environment.
    pub env: String,
    /// `--label k=v` pairs.
    pub labels: BTreeMap<String, String>,
    /// The directory that was snapshotted (as given, made absolute).
    pub source: String,
    /// The root module's directory inside the tree.
    pub root: String,
    /// The version of the rewind that wrote it.
    pub program_version: String,
    /// The git commit of the directory, when it is versioned.
    pub git: Option<GitInfo>,
    /// Files in the tree (for `log` and `show` without loading the model).
    pub files: u64,
    /// Configuration nodes of kind `resource`.
    pub resources: u64,
    /// Instance nodes that are not outputs.
    pub instances: u64,
    /// The workspace and what was given beside the directory; absent when
    /// nothing was and the workspace is `default` (and in records written
    /// before rewind recorded inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<RecordedInputs>,
}

impl SnapshotRecord {
    /// `terraform.workspace` of the snapshot.
    pub fn workspace(&self) -> &str {
        self.inputs
            .as_ref()
            .map_or("default", |i| i.workspace.as_str())
    }
}

impl SnapshotRecord {
    /// The exact bytes stored (pretty JSON and a newline).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("a record always serializes");
        v.push(b'\n');
        v
    }

    /// The id these bytes get.
    pub fn id(&self) -> SnapshotId {
        SnapshotId::of(&self.encode())
    }
}

fn record_key(id: &SnapshotId) -> String {
    format!("snapshots/{}", id.to_hex())
}

impl Store {
    /// Writes a snapshot record (an existing identical one counts as
    /// written); returns its id. Nothing names it until a ref does.
    pub fn put_snapshot(&self, rec: &SnapshotRecord) -> Result<SnapshotId> {
        let bytes = rec.encode();
        let id = SnapshotId::of(&bytes);
        self.backend().put(&record_key(&id), &bytes, Cond::Absent)?;
        if let Ok(mut r) = self.records.write() {
            r.insert(id, rec.clone());
        }
        Ok(id)
    }

    /// Reads a snapshot record, checking its hash.
    pub fn record(&self, id: &SnapshotId) -> Result<SnapshotRecord> {
        if let Some(r) = self.records.read().ok().and_then(|r| r.get(id).cloned()) {
            return Ok(r);
        }
        let key = record_key(id);
        let cached = self
            .read_cache(&format!("snapshots/{}", id.to_hex()))
            .filter(|b| SnapshotId::of(b) == *id);
        let bytes = match cached {
            Some(b) => b,
            None => {
                let Some(bytes) = self.backend().get_data(&key)? else {
                    return Err(Error::MissingSnapshot(*id));
                };
                if SnapshotId::of(&bytes) != *id {
                    return Err(corrupt(
                        format!("snapshot record {key}"),
                        "its content does not match its id",
                    ));
                }
                self.write_cache(&format!("snapshots/{}", id.to_hex()), &bytes);
                bytes
            }
        };
        let rec: SnapshotRecord = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("snapshot record {key}"), e.to_string()))?;
        if let Ok(mut r) = self.records.write() {
            r.insert(*id, rec.clone());
        }
        Ok(rec)
    }

    /// Drops a record from the in-memory cache (after `gc` deleted it).
    pub(crate) fn forget_record(&self, id: &SnapshotId) {
        if let Ok(mut r) = self.records.write() {
            r.remove(id);
        }
    }

    /// Every snapshot id in the store, named by a ref or not.
    pub fn list_snapshots(&self) -> Result<Vec<SnapshotId>> {
        Ok(self
            .backend()
            .list("snapshots/")?
            .iter()
            .filter_map(|l| snapshot_key(&l.key))
            .collect())
    }

    /// The snapshots of a history, newest first: `start` and its parents,
    /// at most `limit` of them.
    pub fn history(
        &self,
        start: Option<SnapshotId>,
        limit: usize,
    ) -> Result<Vec<(SnapshotId, SnapshotRecord)>> {
        let mut out = Vec::new();
        let mut cur = start;
        while let Some(id) = cur {
            if out.len() >= limit {
                break;
            }
            let rec = self.record(&id)?;
            cur = rec.parent;
            out.push((id, rec));
        }
        Ok(out)
    }
}

/// The id of a key `snapshots/<64 hex>`.
pub(crate) fn snapshot_key(key: &str) -> Option<SnapshotId> {
    key.strip_prefix("snapshots/")
        .and_then(|n| SnapshotId::from_hex(n).ok())
}

/// A record of `tree` and `model` in environment `prod`, for tests.
#[cfg(test)]
pub(crate) fn test_record(
    tree: ObjectId,
    model: ObjectId,
    parent: Option<SnapshotId>,
    files: u64,
) -> SnapshotRecord {
    SnapshotRecord {
        format: RECORD_FORMAT,
        tree,
        model,
        parent,
        time: "2026-01-01T00:00:00Z".into(),
        message: String::new(),
        env: "prod".into(),
        labels: Default::default(),
        source: "/src".into(),
        root: String::new(),
        program_version: "test".into(),
        git: None,
        files,
        resources: 0,
        instances: 0,
        inputs: None,
    }
}
