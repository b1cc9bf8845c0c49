//! `checkout`: the exact files of a snapshot in a directory.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use rewind_odb::{CheckoutOutcome, SnapshotId, Store};

use crate::error::{Error, Result};

/// What `checkout` did.
#[derive(Debug)]
pub struct CheckoutReport {
    /// The files written.
    pub written: CheckoutOutcome,
    /// Files removed because the snapshot does not have them (with
    /// `force`), relative to the directory, with `/`.
    pub removed: Vec<String>,
}

/// Writes the files of `snapshot` into `dest`. With `force` into a
/// directory that is not empty, its Terraform content becomes exactly the
/// snapshot's: the files a snapshot would hold (`*.tf`, `*.tfvars`, state,
/// …) that this snapshot does not have are removed afterwards. `.terraform/`,
/// `.git/` and files a snapshot never holds are left alone.
pub fn checkout(
    store: &Store,
    snapshot: &SnapshotId,
    dest: &Path,
    force: bool,
) -> Result<CheckoutReport> {
    let written = store.checkout(snapshot, dest, force)?;
    let mut removed = Vec::new();
    if force {
        let keep: HashSet<&str> = written.paths.iter().map(String::as_str).collect();
        let found = rewind_parse::discover(dest).map_err(|d| Error::Io {
            path: PathBuf::from(&d.loc.file),
            source: std::io::Error::other(d.message),
        })?;
        for (abs, _) in found {
            let Ok(rel) = abs.strip_prefix(dest) else {
                continue;
            };
            if rel
                .components()
                .any(|c| matches!(c, Component::Normal(n) if n == ".terraform"))
            {
                continue;
            }
            let Some(rel_str) = rel.to_str().map(|s| s.replace('\\', "/")) else {
                continue;
            };
            if keep.contains(rel_str.as_str()) {
                continue;
            }
            std::fs::remove_file(&abs).map_err(|source| Error::Io {
                path: abs.clone(),
                source,
            })?;
            removed.push(rel_str);
            // a directory the removal left empty goes too (not the root)
            let mut dir = abs.parent();
            while let Some(d) = dir {
                if d == dest || std::fs::remove_dir(d).is_err() {
                    break;
                }
                dir = d.parent();
            }
        }
    }
    Ok(CheckoutReport { written, removed })
}
