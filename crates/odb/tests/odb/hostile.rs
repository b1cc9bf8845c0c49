//! Store files that are not what the store wrote: another kind of object
//! where a blob belongs, a FIFO or a device where a file belongs.

use std::sync::mpsc;
use std::time::Duration;

use rewind_odb::{ObjType, ObjectWriter, Store};

use crate::scratch;

/// A tree where a file's contents belong is refused (checkout wrote the
/// tree's bytes out as the file); the blob beside it reads.
#[test]
fn only_blobs_are_read_as_file_contents() {
    let dir = scratch("blobs-only");
    let store = Store::init(dir.join("store").to_str().unwrap()).unwrap();
    let blob = b"resource \"terraform_data\" \"a\" {}\n".to_vec();
    let tree = b"\x02 not a file".to_vec();
    let (b, t) = (store.object_id(&blob), store.object_id(&tree));
    let mut w = ObjectWriter::new(&store);
    w.add(b, ObjType::Blob, &blob).unwrap();
    w.add(t, ObjType::Tree, &tree).unwrap();
    w.finish().unwrap();
    assert_eq!(store.get_blobs(&[b]).unwrap(), vec![blob]);
    let e = store.get_blobs(&[b, t]).unwrap_err().to_string();
    assert!(e.contains("expected a blob, found a tree"), "{e}");
    // what does not read contents still reads it
    assert_eq!(store.get_many(&[t]).unwrap(), vec![tree]);
}

/// Runs `f` on a thread and fails the test if it has not returned within
/// 20 seconds (a read of a FIFO blocks forever).
fn within_time<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: no answer after 20 s"))
}

/// A FIFO or a link to a device in place of the refs, a lock file or the
/// combined index: an error naming the file, at once, not a read that
/// never ends.
#[test]
fn fifos_and_devices_in_place_of_store_files_are_refused() {
    let dir = scratch("fifos");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let blob = b"locals {}\n".to_vec();
    let id = store.object_id(&blob);
    let mut w = ObjectWriter::new(&store);
    w.add(id, ObjType::Blob, &blob).unwrap();
    w.finish().unwrap();
    drop(store);
    let fifo = |p: &std::path::Path| {
        let _ = std::fs::remove_file(p);
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success(), "mkfifo {}", p.display());
    };
    fifo(&root.join("refs"));
    let at = root.to_str().unwrap().to_string();
    let e = within_time("refs as a FIFO", move || {
        Store::open(&at)
            .and_then(|s| s.refs())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    });
    assert!(
        e.contains("refs") && e.contains("not a regular file"),
        "{e}"
    );
    std::fs::remove_file(root.join("refs")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("refs")).unwrap();
    let at = root.to_str().unwrap().to_string();
    let e = within_time("refs as /dev/zero", move || {
        Store::open(&at)
            .and_then(|s| s.refs())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    });
    assert!(e.contains("not a regular file"), "{e}");
    std::fs::remove_file(root.join("refs")).unwrap();
    // the lock file snapshots and gc take
    fifo(&root.join("gc.lock"));
    let at = root.to_str().unwrap().to_string();
    let e = within_time("gc.lock as a FIFO", move || {
        Store::open(&at)
            .and_then(|s| s.shared_lock())
            .map(|_| ())
            .unwrap_err()
            .to_string()
    });
    assert!(
        e.contains("gc.lock") && e.contains("not a regular file"),
        "{e}"
    );
    std::fs::remove_file(root.join("gc.lock")).unwrap();
    // the store still reads
    let store = Store::open(root.to_str().unwrap()).unwrap();
    assert_eq!(store.get_blobs(&[id]).unwrap(), vec![blob]);
}
