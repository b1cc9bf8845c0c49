use std::path::PathBuf;

use rewind_model::Diagnostic;

/// Everything an engine operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a version could not be loaded. Nothing was written.
    #[error(transparent)]
    Load(#[from] LoadFailure),
    /// The store failed (or a reference does not resolve).
    #[error(transparent)]
    Store(#[from] rewind_odb::Error),
    /// A version given as neither a directory nor a snapshot reference
    /// that resolves (the store could not be opened to look it up).
    #[error("{spec:?} is not a directory, so it must be a snapshot reference")]
    NotAVersion {
        /// The version as given.
        spec: String,
        /// Why the store could not be opened.
        #[source]
        source: rewind_odb::Error,
    },
    /// A bare name that is both a directory and a snapshot reference.
    #[error("{spec:?} is both a directory here and a snapshot reference in the store: write ./{spec} for the directory or ref:{spec} for the snapshot")]
    Ambiguous {
        /// The name given.
        spec: String,
    },
    /// A plan needs to know which deployment it starts from.
    #[error("--to is a directory: say which deployment to revert with --from REF (or --env ENV for its latest snapshot)")]
    NoCurrentVersion,
    /// The planner refused the plan (a cycle Terraform would reject too).
    #[error(transparent)]
    Plan(#[from] rewind_plan::PlanError),
    /// A file changed between being read for the model and being stored.
    #[error("{} changed while it was being snapshotted; try again", .path.display())]
    FileChanged {
        /// The file.
        path: PathBuf,
    },
    /// A rollback could not go on (no known-good snapshot, the executor
    /// failed, ...).
    #[error("{0}")]
    Rollback(String),
    /// Watching could not go on (a bad check, a bad configuration file).
    #[error("{0}")]
    Watch(String),
    /// A file could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// A version that could not be loaded: every problem found, in the order
/// found.
#[derive(Debug)]
pub struct LoadFailure {
    /// The version as the user named it (a directory).
    pub what: String,
    /// Warnings of the versions loaded before this one (so a caller that
    /// prints diagnostics shows them in order).
    pub earlier: Vec<Diagnostic>,
    /// The problems of this version (errors, and warnings found with them).
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "{n} problem{} in {}",
            if n == 1 { "" } else { "s" },
            self.what
        )
    }
}

impl std::error::Error for LoadFailure {}

/// A result of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
