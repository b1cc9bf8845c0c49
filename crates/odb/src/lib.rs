//! rewind's object database: content-addressed objects in packs, snapshot
//! records and the refs that name them, in a local directory or in
//! S3-compatible object storage.
//!
//! It knows how snapshots are stored, not what Terraform means: it reads
//! and writes bytes, trees of files and [`rewind_model::Model`]s, and
//! never parses configuration (that is `rewind-engine`'s job, above it).
//! Every read is checked against its hash; every write is atomic; refs
//! change by conditional writes that never lose an update. The format is
//! specified in `docs/store-format.md`.
//!
//! ```
//! use rewind_odb::{ObjType, ObjectId, ObjectWriter, Store, TreeFile};
//!
//! # fn main() -> Result<(), rewind_odb::Error> {
//! let dir = std::env::temp_dir().join(format!("rewind-odb-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let store = Store::init(dir.to_str().expect("a UTF-8 temporary directory"))?;
//! let content = b"terraform {}\n";
//! let blob = ObjectId::of(content);
//! let mut w = ObjectWriter::new(&store);
//! w.add(blob, ObjType::Blob, content)?;
//! let tree = w.add_tree(&[TreeFile { path: "main.tf".into(), executable: false, link: false, size: 13, id: blob }])?;
//! w.finish()?;
//! assert_eq!(store.tree_files(&tree)?[0].path, "main.tf");
//! assert_eq!(store.get_many(&[blob])?[0], content);
//! assert!(store.verify()?.ok());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(())
//! # }
//! ```
//!
//! # Limitations
//!
//! * An object is at most 4 GiB (lengths are 32-bit).
//! * A remote store has no locks: `gc` there relies on its grace period
//!   to leave running snapshots alone.
//! * Stores of format versions 1 and 2 (older rewinds) are refused, not
//!   migrated.

#![warn(missing_docs)]

mod backend;
mod checkout;
mod crypt;
mod error;
mod gc;
mod id;
mod incident;
mod kms;
mod lock;
mod midx;
mod model;
mod oplock;
mod pack;
mod record;
mod refs;
mod remote;
mod repair;
mod resolve;
mod rollup;
mod rotate;
mod store;
mod sync;
pub mod time;
mod tree;
mod verify;
mod writer;

pub use backend::total_requests;
pub use checkout::CheckoutOutcome;
pub use crypt::{generate_key_text, CacheSeal, UserKey};
pub use error::{Error, Result};
pub use gc::GcReport;
pub use id::{IncidentId, ObjectId, SnapshotId};
pub use incident::{
    ApplyRecord, DataAtRisk, Evidence, GateRecord, IncidentRecord, PlannedChange, TimelineEntry,
    INCIDENT_FORMAT,
};
pub use lock::StoreLock;
pub use model::{GroupEntry, Load, ModelEdit};
pub use oplock::{LockHolder, RollbackLock};
pub use pack::{ObjType, PackWriter};
pub use record::{GitInfo, RecordedInputs, SnapshotRecord, RECORD_FORMAT};
pub use refs::{check_name, Actor, CiJob, EnvRefs, LogEntry, Refs};
pub use repair::RepairReport;
pub use rollup::PACKS_BEFORE_ROLLUP;
pub use rotate::{RotateReport, RotateStep};
pub use store::{Encrypted, InitOptions, Store, STORE_VERSION};
pub use sync::SyncReport;
pub use tree::{resolve_links, Resolved, TreeFile, MAX_LINK_HOPS};
pub use verify::VerifyReport;
pub use writer::{ObjectWriter, ReadyObject, Written};
