//! Fixtures and scratch directories.

use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn shop(v: u32) -> PathBuf {
    fixtures().join(format!("apps/shop/v{v}"))
}

/// A scratch directory, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "rewind-engine-test-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A store with releases 1 (known-good) and 2 of the small service.
pub fn store_with_releases(t: &TempDir) -> rewind_odb::Store {
    let store = rewind_odb::Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    for v in ["v1", "v2"] {
        let o = rewind_engine::snapshot(
            &store,
            &fixtures().join("rollback").join(v),
            &rewind_engine::SnapshotOptions {
                env: "prod".into(),
                tags: vec![v.into()],
                ..Default::default()
            },
        )
        .unwrap();
        if v == "v1" {
            store.mark_good("prod", o.id, false).unwrap();
        }
    }
    store
}
