//! rewind's engine: the operations the `rewind` command, the benchmarks
//! and embedders call, from a directory or a snapshot to a result.
//!
//! * [`snapshot`] loads a directory (parsing only what changed since its
//!   last snapshot, by the local cache) and stores its files and model.
//! * [`diff`], [`plan`] and [`graph`] take [`Version`]s (a directory, or a
//!   snapshot in a store) and return plain data for `rewind-report` to
//!   render.
//! * [`rollback`] takes an environment back to a snapshot through
//!   Terraform, with rewind's plan as the gate Terraform's plan must pass;
//!   [`watch`] checks an environment's health and rolls back or promotes.
//!
//! ```
//! use std::path::PathBuf;
//! use rewind_engine::{diff, plan, DiffOptions, PlanOptions, Version};
//!
//! # fn main() -> Result<(), rewind_engine::Error> {
//! let shop = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/apps/shop");
//! let (v1, v4) = (Version::Dir(shop.join("v1")), Version::Dir(shop.join("v4")));
//! let d = diff(&v1, &v4, &DiffOptions::default())?;
//! assert!(!d.diff.config.is_empty());
//! // going back from release 4 to release 1
//! let p = plan(&v4, &v1, &PlanOptions::default())?;
//! assert!(!p.plan.steps.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! # Limitations
//!
//! * Two snapshot versions are compared part by part only when they are in
//!   the same [`rewind_odb::Store`] value; otherwise both models are read.
//! * A directory version is parsed whole every time (only [`snapshot`]
//!   uses the parse cache).
//! * [`rollback`] carries the deployment's backend over from
//!   `.terraform/terraform.tfstate` (or the default local backend); it is
//!   tested with local backends only (the tests run offline). The gate
//!   compares actions per address; it does not compare attribute values
//!   of updates (an update the preview did not show is a note).
//! * The preview starts from the environment's latest snapshot, so drift
//!   since then shows up only at the gate, as a refusal.

#![warn(missing_docs)]

mod actor;
mod cache;
mod checkout;
mod diff;
mod error;
mod files;
mod git;
mod graph;
mod incremental;
mod inputs;
mod links;
mod plan;
mod ranks;
mod reads;
mod rollback;
mod snapshot;
mod state_edit;
mod tree_files;
mod unchanged;
mod version;
mod watch;

pub use actor::{actor_from, actor_from_env};
pub use checkout::{checkout, CheckoutReport};
pub use diff::{diff, DiffOptions, DiffOutcome, Only};
pub use error::{Error, LoadFailure, Result};
pub use graph::{graph, GraphOptions, GraphOutcome};
pub use inputs::{check_workspace, ExternalState, InputSource, Inputs, ENVIRONMENT_FILE};
pub use plan::{plan, plan_models, PlanOptions, PlanOutcome};
/// Phase timings on standard error when `REWIND_TRACE` is set.
pub use rewind_parse::load::{read_bounded, read_bounded_from, Trace, MAX_STATE_INPUT};
pub use rollback::{
    data_at_risk, gate, parse_show_json, policy_violations, record_breach, rollback, Breach,
    Difference, Event, Executor, GateVerdict, RiskPolicy, RollbackOptions, RollbackOutcome, Status,
    TerraformChange,
};
pub use snapshot::{snapshot, SnapshotOptions, SnapshotOutcome};
pub use version::{LazyStore, Side, StoredVersion, Version};
pub use watch::{
    parse_duration, parse_status, prometheus_samples, redact_url, watch, Check, Observation,
    OnBreach, Probe, Sample, Verdict, WatchConfig, WatchEnd, WatchOptions,
};
