//! Remote (S3-compatible) backends.

use std::path::PathBuf;

use crate::backend::Backend;
use crate::error::{Result, StoreError};

/// Where the local cache of a remote store lives:
/// `$REWIND_CACHE_DIR`, else `$XDG_CACHE_HOME/rewind`, else `~/.cache/rewind`,
/// then one folder per store location.
pub fn cache_dir_for(location: &str) -> Option<PathBuf> {
    let base = std::env::var_os("REWIND_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("rewind")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rewind")))?;
    Some(base.join(rewind_model::Hash::of(location.as_bytes()).short(16)))
}

pub fn open_s3(location: &str) -> Result<Box<dyn Backend>> {
    Err(StoreError::Config(format!(
        "{location}: S3 stores are not supported by this build"
    )))
}
