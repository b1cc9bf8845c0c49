//! rewind's content-addressed snapshot store.
//!
//! Objects (file contents, directory trees, parsed models and their nodes)
//! are named by the blake3 hash of their bytes and written in packs with an
//! index; snapshot records and refs sit beside them. The format is
//! documented in `docs/store-format.md`.

pub mod backend;
pub mod cache;
mod error;
pub mod maint;
pub mod objects;
pub mod pack;
pub mod read;
pub mod refs;
pub mod remote;
mod resolve;
mod store;
mod sync;
pub mod time;
pub mod write;

pub use backend::total_requests;
pub use error::{Result, StoreError};
pub use objects::SnapshotRecord;
pub use store::{Store, STORE_VERSION};
pub use sync::SyncReport;
pub use write::{SnapshotError, SnapshotOptions, SnapshotOutcome};
