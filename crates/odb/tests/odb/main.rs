//! Integration tests of the object database, one module per concern.

mod crypt;
mod hostile;
mod midx;
mod packs;
mod reflog;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rewind-odb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names of the packs a local store holds (by their indexes).
fn pack_names(store: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(store.join("packs")) else {
        return BTreeSet::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".idx").map(str::to_string))
        .collect()
}
