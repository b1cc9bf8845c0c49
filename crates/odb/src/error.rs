use std::path::PathBuf;

use crate::id::{ObjectId, SnapshotId};

/// Everything that can go wrong in the object database. Messages name the
/// file, object or ref concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Stored bytes fail a check (hash, checksum, layout, encoding).
    #[error("{what} is corrupt: {detail}")]
    Corrupt {
        /// The key or object, as a person would look for it.
        what: String,
        /// What is wrong with it.
        detail: String,
    },
    /// No pack index lists the object.
    #[error("object {0} is not in the store")]
    MissingObject(ObjectId),
    /// No record `snapshots/<id>` exists.
    #[error("snapshot {0} is not in the store")]
    MissingSnapshot(SnapshotId),
    /// There is no store where one was looked for.
    #[error("{0}")]
    NoStore(String),
    /// A REF that does not name a snapshot, or a bad tag or environment name.
    #[error("{0}")]
    BadRef(String),
    /// A tag may not move without force.
    #[error("tag {tag:?} already names snapshot {}; tags never move unless --force", .id.short(12))]
    TagTaken {
        /// The tag.
        tag: String,
        /// The snapshot it names.
        id: SnapshotId,
    },
    /// Marking a snapshot good for an environment it was not taken for.
    #[error("snapshot {} was taken for environment {taken_for:?}, not {env:?}; use --force to mark it good for {env:?} anyway", .id.short(12))]
    OtherEnvironment {
        /// The snapshot.
        id: SnapshotId,
        /// The environment it was taken for.
        taken_for: String,
        /// The environment it was to be marked good for.
        env: String,
    },
    /// The `refs` document is gone while the store holds snapshots: every
    /// name was lost. Nothing may treat the store as empty (gc would
    /// delete everything); `verify --repair` rebuilds the refs.
    #[error("{store}: the refs file is missing although the store holds {records} snapshot records: every tag and environment name is lost. Run `rewind verify --repair` to rebuild the refs from the ref log and the snapshot records")]
    RefsMissing {
        /// The store.
        store: String,
        /// Snapshot records found.
        records: usize,
    },
    /// `gc` refused to run on a store that does not verify.
    #[error("refusing to collect garbage in {store}: it does not verify ({problems} problems, the first: {first}). Run `rewind verify` for the whole list (`rewind verify --repair` when the refs are lost)")]
    NotSound {
        /// The store.
        store: String,
        /// How many problems verify found.
        problems: usize,
        /// The first problem.
        first: String,
    },
    /// Other writers kept changing the refs.
    #[error("could not update the refs of {store} after {attempts} attempts: other writers keep changing them")]
    RefsContended {
        /// The store.
        store: String,
        /// Attempts made.
        attempts: usize,
    },
    /// An object too large for a pack block's 32-bit lengths.
    #[error(
        "an object of {len} bytes ({kind} {id}) is larger than a pack block can hold ({max} bytes)"
    )]
    ObjectTooLarge {
        /// The object.
        id: ObjectId,
        /// Its type's name.
        kind: &'static str,
        /// Its length.
        len: usize,
        /// The largest length a pack holds.
        max: usize,
    },
    /// `checkout` refused to write (not empty, a path escaping the
    /// directory, a symbolic link in the way).
    #[error("{0}")]
    Checkout(String),
    /// The store's `config` is not one this program reads.
    #[error("{0}")]
    Config(String),
    /// `init` found a store already there (named by its description).
    #[error("a store already exists at {0}")]
    StoreExists(String),
    /// A lock could not be taken.
    #[error("could not take the lock {path}: {detail}")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// Another rollback of the environment holds its lock.
    #[error("another rollback of {env:?} is running: {key} is held by {holder}; if that process is gone, remove the lock with `rewind rollback --env {env} --break-lock`")]
    RollbackLocked {
        /// The environment.
        env: String,
        /// The lock key, with the store's location.
        key: String,
        /// Who holds it.
        holder: String,
    },
    /// The remote object storage failed.
    #[error("{0}")]
    Backend(String),
    /// An encrypted store was opened without its key and an operation
    /// needs its contents (the message says what, and how to give the key).
    #[error("{0}")]
    KeyNeeded(String),
    /// The key given does not open the encrypted store.
    #[error("wrong key for the encrypted store {store}: {detail}")]
    WrongKey {
        /// The store.
        store: String,
        /// Which key was tried, and which the store takes.
        detail: String,
    },
    /// A key could not be read, or a cipher failed.
    #[error("{0}")]
    Crypto(String),
    /// AWS KMS refused or failed to wrap or unwrap a data key.
    #[error("{0}")]
    Kms(String),
}

/// A result of the object database.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

pub(crate) fn corrupt(what: impl Into<String>, detail: impl Into<String>) -> Error {
    Error::Corrupt {
        what: what.into(),
        detail: detail.into(),
    }
}
