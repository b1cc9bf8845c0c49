//! The ref log: recent entries in the refs document, older ones in log
//! chunks, read back whole and kept by gc.

use crate::scratch;
use std::time::Duration;

use rewind_odb::{SnapshotId, Store};

fn packs(store: &std::path::Path) -> usize {
    std::fs::read_dir(store.join("packs"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".idx"))
            })
            .count()
        })
        .unwrap_or(0)
}

/// `n` changes of the tag `t<first>`..: each a distinct entry.
fn record(store: &Store, first: usize, n: usize) {
    store
        .update_refs(|r| {
            for i in first..first + n {
                r.record(
                    "2026-12-01T08:00:00Z",
                    format!("tags/t{i}"),
                    None,
                    Some(SnapshotId::of(format!("snapshot {i}").as_bytes())),
                    "tag",
                );
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_long_ref_log_moves_to_chunks_and_reads_back_whole() {
    let dir = scratch("reflog");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let before = packs(&root);
    // 2000 entries at once (what a document written with the old limit
    // held): several chunks, written in one pack
    record(&store, 0, 2000);
    let refs = store.refs().unwrap();
    assert!(!refs.log_chunks.is_empty());
    assert!(refs.log.len() <= 256, "{} entries inline", refs.log.len());
    assert_eq!(packs(&root), before + 1, "the chunks share one pack");
    let refs_bytes = std::fs::metadata(root.join("refs")).unwrap().len();
    assert!(refs_bytes < 64 * 1024, "refs is {refs_bytes} bytes");
    // then one entry at a time, as snapshots add them
    for i in 2000..2150 {
        record(&store, i, 1);
    }
    let refs = store.refs().unwrap();
    assert!(refs.log.len() <= 256);
    let log = store.full_log(&refs).unwrap();
    let names: Vec<String> = log.iter().map(|l| l.name.clone()).collect();
    let want: Vec<String> = (0..2150).map(|i| format!("tags/t{i}")).collect();
    assert_eq!(names, want, "every entry, oldest first, once");
    // gc keeps the chunks (nothing else names them), verify reads them
    store.gc(Duration::ZERO, false).unwrap();
    let refs = store.refs().unwrap();
    assert_eq!(store.full_log(&refs).unwrap().len(), 2150);
    let v = store.verify().unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    let _ = std::fs::remove_dir_all(&dir);
}
