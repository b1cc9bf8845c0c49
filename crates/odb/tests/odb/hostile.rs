//! Store files that are not what the store wrote: another kind of object
//! where a blob belongs, a FIFO or a device where a file belongs.

use std::path::Path;
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

/// The error of opening the store at `root` and asking `ask` of it, on
/// a thread: the test fails if there is no answer within 20 seconds (a
/// read of a FIFO blocks forever) or no error.
fn error_of(root: &Path, what: &str, ask: fn(&Store) -> Result<(), String>) -> String {
    let (tx, rx) = mpsc::channel();
    let at = root.to_str().unwrap().to_string();
    std::thread::spawn(move || {
        let r = Store::open(&at)
            .map_err(|e| e.to_string())
            .and_then(|s| ask(&s));
        let _ = tx.send(r);
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: no answer after 20 s"))
        .expect_err(what)
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
    let refs = |s: &Store| s.refs().map(|_| ()).map_err(|e| e.to_string());
    fifo(&root.join("refs"));
    let e = error_of(&root, "refs as a FIFO", refs);
    assert!(
        e.contains("refs") && e.contains("not a regular file"),
        "{e}"
    );
    std::fs::remove_file(root.join("refs")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join("refs")).unwrap();
    let e = error_of(&root, "refs as /dev/zero", refs);
    assert!(e.contains("not a regular file"), "{e}");
    std::fs::remove_file(root.join("refs")).unwrap();
    // the lock file snapshots and gc take
    fifo(&root.join("gc.lock"));
    let lock = |s: &Store| s.shared_lock().map(|_| ()).map_err(|e| e.to_string());
    let e = error_of(&root, "gc.lock as a FIFO", lock);
    assert!(
        e.contains("gc.lock") && e.contains("not a regular file"),
        "{e}"
    );
    std::fs::remove_file(root.join("gc.lock")).unwrap();
    // the store still reads
    let store = Store::open(root.to_str().unwrap()).unwrap();
    assert_eq!(store.get_blobs(&[id]).unwrap(), vec![blob]);
}
