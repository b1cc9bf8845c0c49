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
    let mut removed = Vec::new();
    if force && dest.is_dir() {
        clear_link_places(store, snapshot, dest, &mut removed)?;
    }
    let written = store.checkout(snapshot, dest, force)?;
    if force {
        let keep: HashSet<&str> = written.paths.iter().map(String::as_str).collect();
        let io = |d: rewind_model::Diagnostic| Error::Io {
            path: PathBuf::from(&d.loc.file),
            source: std::io::Error::other(d.message),
        };
        // links that leave the directory are skipped by discovery, but
        // Terraform follows them: they go too (the links, not their targets)
        let stale: Vec<PathBuf> = rewind_parse::discover(dest)
            .map_err(io)?
            .into_iter()
            .map(|(abs, _)| abs)
            .chain(rewind_parse::discover_unfollowed_links(dest).map_err(io)?)
            .collect();
        for abs in stale {
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
            remove_stale(dest, &abs)?;
            removed.push(rel_str);
        }
    }
    Ok(CheckoutReport { written, removed })
}

/// Removes a file (or link) the snapshot does not have, and the
/// directories the removal left empty (not `dest`).
fn remove_stale(dest: &Path, abs: &Path) -> Result<()> {
    std::fs::remove_file(abs).map_err(|source| Error::Io {
        path: abs.to_path_buf(),
        source,
    })?;
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if d == dest || std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// Where the snapshot has a symbolic link and `dest` a directory (an
/// earlier release kept real files there), the Terraform files of that
/// directory go (listed in `removed`), and the directory with them when
/// that empties it; a directory still holding other files is refused
/// before anything is written.
fn clear_link_places(
    store: &Store,
    snapshot: &SnapshotId,
    dest: &Path,
    removed: &mut Vec<String>,
) -> Result<()> {
    let rec = store.record(snapshot)?;
    for f in store.tree_files(&rec.tree)?.iter().filter(|f| f.link) {
        let place = dest.join(&f.path);
        if !std::fs::symlink_metadata(&place).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        let found = rewind_parse::discover(&place).map_err(|d| Error::Io {
            path: PathBuf::from(&d.loc.file),
            source: std::io::Error::other(d.message),
        })?;
        for (abs, _) in found {
            remove_stale(&place, &abs)?;
            if let Ok(rel) = abs.strip_prefix(dest) {
                removed.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
        if std::fs::remove_dir(&place).is_err() {
            return Err(Error::Io {
                path: place.clone(),
                source: std::io::Error::other(format!(
                    "the snapshot has a symbolic link here (-> {}), and this directory holds files rewind does not manage: move them away first",
                    String::from_utf8_lossy(&store.get_many(&[f.id])?.pop().unwrap_or_default())
                )),
            });
        }
    }
    Ok(())
}
