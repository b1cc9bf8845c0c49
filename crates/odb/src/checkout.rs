//! Restoring the exact files of a snapshot into a directory
//! (docs/store-format.md §12, "Checkout").

use std::path::{Component, Path, PathBuf};

use crate::error::{io, Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::store::Store;
use crate::tree::TreeFile;

/// What `checkout` wrote.
#[derive(Debug)]
pub struct CheckoutOutcome {
    /// Files written.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The snapshot's files, relative to the checkout directory, with `/`.
    pub paths: Vec<String>,
}

/// Files are fetched and written in batches of this many, so memory stays
/// bounded on huge trees.
const BATCH: usize = 2048;

impl Store {
    /// Restores the exact files of a snapshot into `dest`, which must not
    /// exist or be empty (any directory with `force`). Every path is checked
    /// before anything is written; nothing is written through a symbolic
    /// link or outside `dest`.
    pub fn checkout(
        &self,
        snapshot: &SnapshotId,
        dest: &Path,
        force: bool,
    ) -> Result<CheckoutOutcome> {
        let rec = self.record(snapshot)?;
        let files = self.tree_files(&rec.tree)?;
        prepare_destination(dest, force)?;
        let root = dest.canonicalize().map_err(io(dest))?;
        let targets = files
            .iter()
            .map(|f| safe_join(&root, &f.path))
            .collect::<Result<Vec<_>>>()?;
        let mut bytes = 0u64;
        for (chunk_files, chunk_targets) in files.chunks(BATCH).zip(targets.chunks(BATCH)) {
            let ids: Vec<ObjectId> = chunk_files.iter().map(|f| f.id).collect();
            let contents = self.get_many(&ids)?;
            for ((f, target), data) in chunk_files.iter().zip(chunk_targets).zip(contents) {
                write_file(&root, f, target, &data)?;
                bytes += data.len() as u64;
            }
        }
        Ok(CheckoutOutcome {
            files: files.len(),
            bytes,
            paths: files.into_iter().map(|f| f.path).collect(),
        })
    }
}

/// Checks that `dest` is absent, or an empty directory (any directory with
/// `force`), and creates it.
fn prepare_destination(dest: &Path, force: bool) -> Result<()> {
    if dest.exists() {
        if !dest.is_dir() {
            return Err(Error::Checkout(format!(
                "{} exists and is not a directory",
                dest.display()
            )));
        }
        let non_empty = std::fs::read_dir(dest).map_err(io(dest))?.next().is_some();
        if non_empty && !force {
            return Err(Error::Checkout(format!(
                "{} is not empty; use --force to write into it",
                dest.display()
            )));
        }
    }
    std::fs::create_dir_all(dest).map_err(io(dest))
}

/// Writes one file through a temporary file beside it, with its mode.
fn write_file(root: &Path, f: &TreeFile, target: &Path, data: &[u8]) -> Result<()> {
    if let Some(parent) = target.parent() {
        create_dirs_inside(root, parent)?;
    }
    if let Ok(md) = std::fs::symlink_metadata(target) {
        if md.file_type().is_symlink() || md.is_dir() {
            return Err(Error::Checkout(format!(
                "{} exists and is a {}; refusing to replace it",
                target.display(),
                if md.is_dir() {
                    "directory"
                } else {
                    "symbolic link"
                }
            )));
        }
    }
    let mode = if f.executable { 0o755 } else { 0o644 };
    let (tmp, mut file) = create_temp_beside(target, mode)?;
    let written = (|| {
        use std::io::Write;
        file.write_all(data)?;
        #[cfg(unix)]
        {
            // the umask may have narrowed the mode given at creation
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    })();
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    std::fs::rename(&tmp, target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(target)(e)
    })
}

/// Creates a new temporary file beside `target`, exclusively: never
/// through an existing name or a symbolic link planted at it (another
/// name is tried instead).
fn create_temp_beside(target: &Path, mode: u32) -> Result<(PathBuf, std::fs::File)> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..64u32 {
        let tmp = target.with_file_name(format!(".{name}.{pid}-{attempt}.rewind-tmp"));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        match opts.open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some((tmp, e)),
            Err(e) => return Err(io(&tmp)(e)),
        }
    }
    let (tmp, e) = last.expect("the loop ran and every attempt found a name taken");
    Err(io(&tmp)(e))
}

/// `root/path`, refusing anything that could land outside `root`.
fn safe_join(root: &Path, path: &str) -> Result<PathBuf> {
    let escape = || {
        Error::Checkout(format!(
            "refusing path {path:?}: it would escape the checkout directory"
        ))
    };
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return Err(escape());
    }
    let mut out = root.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => return Err(escape()),
        }
    }
    if !out.starts_with(root) {
        return Err(escape());
    }
    Ok(out)
}

/// Creates `dir` (under `root`) refusing to go through symbolic links.
fn create_dirs_inside(root: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(root).map_err(|_| {
        Error::Checkout(format!(
            "refusing {}: outside the checkout directory",
            dir.display()
        ))
    })?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(Error::Checkout(format!(
                    "refusing to write through the symbolic link {}",
                    cur.display()
                )))
            }
            Ok(md) if md.is_dir() => {}
            Ok(_) => {
                return Err(Error::Checkout(format!(
                    "{} exists and is not a directory",
                    cur.display()
                )))
            }
            Err(_) => std::fs::create_dir(&cur).map_err(io(&cur))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_join_refuses_escapes() {
        let root = Path::new("/tmp/x");
        assert!(safe_join(root, "a/b.tf").is_ok());
        for bad in ["../a", "/etc/passwd", "a/../../b", "", "a\\..\\b"] {
            assert!(safe_join(root, bad).is_err(), "{bad}");
        }
    }
}
