//! Incident records: what a bad release did and what was done about it,
//! for the post-mortem (JSON under `incidents/<id>`, docs/store-format.md
//! §20). Immutable and content-addressed like snapshot records; the refs
//! never name them, `gc` never removes them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::backend::Cond;
use crate::error::{corrupt, Error, Result};
use crate::id::{IncidentId, SnapshotId};
use crate::store::Store;

/// The version of the incident record format this program writes.
pub const INCIDENT_FORMAT: u32 = 1;

/// One moment of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// UTC, RFC 3339.
    pub time: String,
    /// What happened (`deployed`, `breach`, `gate`, `apply`, …).
    pub event: String,
    /// The details, one sentence.
    pub detail: String,
}

/// One health check's observation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The check's name.
    pub check: String,
    /// UTC, RFC 3339.
    pub time: String,
    /// True when the observation breached the check's threshold.
    pub failing: bool,
    /// True when it showed health neither way (a Prometheus that could
    /// not answer, a NaN, no series): `value` says why. Written only when
    /// true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inconclusive: bool,
    /// The observed value (`status 503`, `0.42`, `exit 1`).
    pub value: String,
    /// What it was held against (`status 200..=299`, `< 0.05`).
    pub expected: String,
}

/// One change of a plan, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// Terraform address.
    pub address: String,
    /// Terraform's actions (`["delete","create"]`, …).
    pub actions: Vec<String>,
}

/// A data-bearing object the rollback destroys or replaces, and what
/// getting its data back would take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataAtRisk {
    /// Terraform address.
    pub address: String,
    /// The resource type.
    pub type_: String,
    /// What it holds (`relational database`, `objects`, …).
    pub holds: String,
    /// `high`, `medium`, `low`.
    pub severity: String,
    /// Settings that guard, keep or restore the data, with their values in
    /// the state (`deletion_protection = false`, `snapshot_identifier =
    /// (not set)`).
    pub settings: Vec<String>,
    /// What restoring its data would take, one sentence.
    pub recovery: String,
}

/// The gate's verdict: did Terraform's plan stay within the preview?
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateRecord {
    /// True when Terraform's plan destroys, replaces and creates nothing
    /// the preview did not show.
    pub passed: bool,
    /// Each difference, address by address.
    pub differences: Vec<String>,
}

/// What applying did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplyRecord {
    /// True when Terraform exited 0.
    pub succeeded: bool,
    /// Seconds the apply took.
    pub seconds: f64,
    /// The executor's exit code (`None`: killed by a signal).
    pub exit_code: Option<i32>,
}

/// An incident: a breach, and the rollback if there was one. Stored as
/// JSON under `incidents/<id>`, where the id is the blake3 hash of these
/// bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    /// The record format ([`INCIDENT_FORMAT`]).
    pub format: u32,
    /// The environment.
    pub env: String,
    /// When the record was written (UTC, RFC 3339).
    pub time: String,
    /// `rolled-back`, `gate-refused`, `policy-refused`, `apply-failed`,
    /// `breach` (detected, nothing rolled back), `dry-run`.
    pub outcome: String,
    /// The snapshot that was deployed (the bad release).
    pub bad: Option<SnapshotId>,
    /// The snapshot rolled back to (the last known-good one).
    pub good: Option<SnapshotId>,
    /// The snapshot taken after the rollback.
    pub result: Option<SnapshotId>,
    /// Tags and labels of the snapshots, for the reader.
    pub labels: BTreeMap<String, String>,
    /// What changed from good to bad, one line per change.
    pub changed: Vec<String>,
    /// The preview: rewind's revert plan.
    pub previewed: Vec<PlannedChange>,
    /// Terraform's plan (empty when it did not run).
    pub terraform_plan: Vec<PlannedChange>,
    /// The gate's verdict (`None`: Terraform did not plan).
    pub gate: Option<GateRecord>,
    /// Data-bearing objects the rollback destroys or replaces.
    pub data_at_risk: Vec<DataAtRisk>,
    /// Health observations around the breach.
    pub evidence: Vec<Evidence>,
    /// The apply (`None`: nothing was applied).
    pub apply: Option<ApplyRecord>,
    /// Seconds from the deploy (the bad snapshot) to the breach's
    /// detection, when both are known.
    pub time_to_detect: Option<f64>,
    /// Seconds from the detection (or the start of the rollback) to the
    /// end of the apply, when it was applied.
    pub time_to_recover: Option<f64>,
    /// The timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Why it stopped, when it stopped.
    pub error: Option<String>,
}

impl IncidentRecord {
    /// The exact bytes stored (pretty JSON and a newline).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("an incident always serializes");
        v.push(b'\n');
        v
    }
}

fn incident_key(id: &IncidentId) -> String {
    format!("incidents/{}", id.to_hex())
}

impl Store {
    /// Writes an incident record (an identical one counts as written);
    /// returns its id.
    pub fn put_incident(&self, rec: &IncidentRecord) -> Result<IncidentId> {
        let bytes = rec.encode();
        let id = IncidentId::of(&bytes);
        self.backend()
            .put(&incident_key(&id), &bytes, Cond::Absent)?;
        Ok(id)
    }

    /// Reads an incident record, checking its hash.
    pub fn incident(&self, id: &IncidentId) -> Result<IncidentRecord> {
        let key = incident_key(id);
        let Some(bytes) = self.backend().get_data(&key)? else {
            return Err(Error::BadRef(format!("incident {id} is not in the store")));
        };
        if IncidentId::of(&bytes) != *id {
            return Err(corrupt(
                format!("incident record {key}"),
                "its content does not match its id",
            ));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("incident record {key}"), e.to_string()))
    }

    /// Every incident id in the store.
    pub fn list_incidents(&self) -> Result<Vec<IncidentId>> {
        Ok(self
            .backend()
            .list("incidents/")?
            .iter()
            .filter_map(|l| l.key.strip_prefix("incidents/"))
            .filter_map(|n| IncidentId::from_hex(n).ok())
            .collect())
    }

    /// The incident an id or a unique prefix of one (6+ hex digits) names.
    pub fn resolve_incident(&self, spec: &str) -> Result<IncidentId> {
        if spec.len() < 6 || !spec.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::BadRef(format!(
                "{spec:?} is not an incident id: give 6 or more of its hex digits"
            )));
        }
        let spec = spec.to_ascii_lowercase();
        let found: Vec<IncidentId> = self
            .list_incidents()?
            .into_iter()
            .filter(|id| id.to_hex().starts_with(&spec))
            .collect();
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::BadRef(format!("no incident id starts with {spec}"))),
            more => Err(Error::BadRef(format!(
                "{spec} is ambiguous: {} incidents start with it",
                more.len()
            ))),
        }
    }
}
