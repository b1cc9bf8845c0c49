//! Advisory file locks of a local store: `lock` (serializes conditional
//! writes of `refs`) and `gc.lock` (shared by snapshot writers, exclusive
//! for gc). The kernel releases them when a process dies, so a crash never
//! leaves a store locked (docs/store-format.md §16).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// A held lock, released when dropped (or by the kernel if the process
/// dies). A remote store has no lock files: its guard holds nothing.
pub struct StoreLock {
    _file: Option<File>,
}

impl StoreLock {
    /// A guard that holds nothing (stores without lock files).
    pub(crate) fn none() -> StoreLock {
        StoreLock { _file: None }
    }
}

fn lock_error(path: &Path, detail: impl Into<String>) -> Error {
    Error::Lock {
        path: path.to_path_buf(),
        detail: detail.into(),
    }
}

/// Opens (creating it empty) a lock file; one that is there but not a
/// regular file (a FIFO would block the open forever) is refused.
fn open(path: &Path) -> Result<File> {
    match std::fs::metadata(path) {
        Ok(md) if !md.is_file() => {
            return Err(lock_error(path, "not a regular file"));
        }
        _ => {}
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| lock_error(path, e.to_string()))
}

/// Takes a shared lock on `path`, waiting as long as it takes.
pub(crate) fn shared(path: PathBuf) -> Result<StoreLock> {
    let f = open(&path)?;
    f.lock_shared()
        .map_err(|e| lock_error(&path, e.to_string()))?;
    Ok(StoreLock { _file: Some(f) })
}

/// Takes an exclusive lock on `path`, trying every `every` for at most
/// `wait`; `busy` says in the error who held it that long.
pub(crate) fn exclusive(
    path: PathBuf,
    wait: Duration,
    every: Duration,
    busy: &str,
) -> Result<StoreLock> {
    let f = open(&path)?;
    let start = Instant::now();
    loop {
        match f.try_lock() {
            Ok(()) => return Ok(StoreLock { _file: Some(f) }),
            Err(TryLockError::WouldBlock) if start.elapsed() < wait => std::thread::sleep(every),
            Err(TryLockError::WouldBlock) => return Err(lock_error(&path, busy)),
            Err(TryLockError::Error(e)) => return Err(lock_error(&path, e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exclusive_lock_waits_then_names_the_lock_file() {
        let dir = std::env::temp_dir().join(format!("rewind-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("gc.lock");
        let held = shared(path.clone()).unwrap();
        let err = exclusive(
            path.clone(),
            Duration::from_millis(30),
            Duration::from_millis(5),
            "snapshots kept running",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("gc.lock") && err.contains("snapshots kept running"),
            "{err}"
        );
        drop(held);
        exclusive(path, Duration::ZERO, Duration::ZERO, "busy").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
