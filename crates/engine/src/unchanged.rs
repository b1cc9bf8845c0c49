//! Recognizing a directory unchanged since its last snapshot without
//! reading it (docs/store-format.md §11, the last paragraph of steps).

use std::path::{Path, PathBuf};

use rewind_odb::{SnapshotId, Store};

use crate::cache::{DirCache, LastSnapshot};
use crate::error::Result;

fn mtime_of(md: &std::fs::Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// When nothing under `abs` changed since the cached snapshot (same
/// files, sizes, times and modes) and its objects are still in the store,
/// that snapshot's tree and model.
pub(crate) fn unchanged(
    store: &Store,
    abs: &Path,
    cache: &DirCache,
    latest: Option<SnapshotId>,
) -> Result<Option<LastSnapshot>> {
    let Some(last) = &cache.last else {
        return Ok(None);
    };
    if !last.root.is_empty() || last.base != abs.display().to_string() {
        return Ok(None);
    }
    if !same_file_list(abs, cache) || !same_stats(cache) || !same_links(cache) {
        return Ok(None);
    }
    // The objects must still be in the store. When the environment's
    // latest snapshot names the same tree and model, they are (a ref
    // reaches them, so gc keeps them), and the pack indexes need not be
    // read at all.
    let reachable = latest
        .and_then(|id| store.record(&id).ok())
        .is_some_and(|r| r.tree == last.tree && r.model == last.model);
    if !reachable && (!store.has(&last.tree)? || !store.has(&last.model)?) {
        return Ok(None);
    }
    Ok(Some(last.clone()))
}

/// Nothing was added, removed or renamed when no directory's time changed
/// (as git's untracked cache reasons): the recorded files are then the
/// whole list. A directory changed within a clock tick of the cache's
/// writing could hide an addition: the files are listed again then.
pub(crate) fn same_file_list(abs: &Path, cache: &DirCache) -> bool {
    if cache.dirs.is_empty() || !cache.dirs.iter().any(|(d, _)| d == abs) {
        return false;
    }
    let mut racy = false;
    for (d, recorded) in &cache.dirs {
        let Ok(md) = std::fs::symlink_metadata(d) else {
            return false;
        };
        let mtime = mtime_of(&md);
        if !md.is_dir() || mtime != *recorded {
            return false;
        }
        racy |= !cache.dir_unchanged(*recorded, mtime);
    }
    if !racy {
        return true;
    }
    let Ok(found) = rewind_parse::discover(abs) else {
        return false;
    };
    same_files(&found, cache)
}

/// Are the files `found` (listed now) the ones the cache records? The
/// files a function read are recorded without being discovered (a script
/// beside the configuration): those must still be there.
pub(crate) fn same_files(found: &[(PathBuf, rewind_parse::FileKind)], cache: &DirCache) -> bool {
    found.iter().all(|(p, _)| cache.stats.contains_key(p))
        && (found.len() == cache.stats.len() || {
            let found: std::collections::HashSet<&PathBuf> = found.iter().map(|(p, _)| p).collect();
            cache
                .stats
                .keys()
                .filter(|p| !found.contains(p))
                .all(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
        })
}

/// A symbolic link's own stat (`lstat`) and target, when `path` is one.
pub(crate) fn link_stat(path: &Path) -> Option<(PathBuf, rewind_parse::FileStat, String)> {
    let md = std::fs::symlink_metadata(path).ok()?;
    if !md.file_type().is_symlink() {
        return None;
    }
    let target = std::fs::read_link(path).ok()?.to_str()?.to_string();
    Some((path.to_path_buf(), rewind_parse::FileStat::of(&md), target))
}

/// Every link the last snapshot stored is still the same link (its own
/// stat, not its target's: a link replaced by one with another target
/// keeps the stat of the file it leads to, and perhaps every directory
/// time when they are put back).
fn same_links(cache: &DirCache) -> bool {
    cache.links.iter().all(|(path, stat, target)| {
        link_stat(path).is_some_and(|(_, s, t)| s == *stat && t == *target)
    })
}

/// Every recorded file has its recorded size, time and mode: one stat per
/// file, on every core (as git's preloaded index does).
fn same_stats(cache: &DirCache) -> bool {
    let items: Vec<&PathBuf> = cache.stats.keys().collect();
    let check = |chunk: &[&PathBuf]| -> bool { chunk.iter().all(|path| same_stat(cache, path)) };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if threads <= 1 || items.len() < 512 {
        return check(&items);
    }
    let size = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let jobs: Vec<_> = items
            .chunks(size)
            .map(|c| s.spawn(move || check(c)))
            .collect();
        jobs.into_iter().all(|j| j.join().unwrap_or(false))
    })
}

fn same_stat(cache: &DirCache, path: &Path) -> bool {
    let Ok(md) = std::fs::metadata(path) else {
        return false;
    };
    if !md.is_file()
        || cache
            .unchanged_hash(path, &rewind_parse::FileStat::of(&md))
            .is_none()
    {
        return false;
    }
    let executable = cache.stats.get(path).is_some_and(|s| s.executable);
    executable == rewind_parse::load::is_executable(&md)
}
