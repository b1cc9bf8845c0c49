//! Readers beside a changing set of packs.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rewind_odb::{ObjType, ObjectWriter, Store};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rewind-odb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pack_names(store: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(store.join("packs")) else {
        return BTreeSet::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".idx").map(str::to_string))
        .collect()
}

/// Regression: a reader that found a pack gone (gc rewrote it) listed the
/// packs again, and the combined index built over its earlier list still
/// named packs by their old positions, so the object was read at the
/// right offset of the wrong pack ("its header does not match the
/// index"). One in about ten runs of the e2e gc-beside-readers test.
#[test]
fn a_reader_finds_an_object_moved_to_a_new_pack_after_its_list_changed() {
    let dir = scratch("moved-object");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    // twelve packs of one object each: more than the combined index
    // leaves uncovered, so reads go through it
    let blobs: Vec<Vec<u8>> = (0..12)
        .map(|i| format!("resource \"terraform_data\" \"r{i}\" {{}}\n").into_bytes())
        .collect();
    let mut pack_of = Vec::new();
    for b in &blobs {
        let before = pack_names(&root);
        let mut w = ObjectWriter::new(&store);
        w.add(store.object_id(b), ObjType::Blob, b).unwrap();
        w.finish().unwrap();
        let added: Vec<String> = pack_names(&root).difference(&before).cloned().collect();
        assert_eq!(added.len(), 1, "one pack per object");
        pack_of.push(added[0].clone());
    }
    let ids: Vec<_> = blobs.iter().map(|b| store.object_id(b)).collect();
    assert_eq!(store.get_many(&ids).unwrap(), blobs);
    // what gc does beside this reader: object 2 rewritten into a new pack
    // (here one written by another store, with another object beside it),
    // its old pack deleted
    let other_root = dir.join("other");
    let other = Store::init(other_root.to_str().unwrap()).unwrap();
    let mut w = ObjectWriter::new(&other);
    let beside = b"locals {\n  rewritten = true\n}\n".to_vec();
    for b in [&blobs[2], &beside] {
        w.add(other.object_id(b), ObjType::Blob, b).unwrap();
    }
    w.finish().unwrap();
    assert!(
        !pack_names(&other_root).contains(&pack_of[2]),
        "another pack"
    );
    for name in pack_names(&other_root) {
        for ext in ["pack", "idx"] {
            let file = format!("{name}.{ext}");
            std::fs::copy(
                other_root.join("packs").join(&file),
                root.join("packs").join(&file),
            )
            .unwrap();
        }
    }
    for ext in ["pack", "idx"] {
        std::fs::remove_file(root.join("packs").join(format!("{}.{ext}", pack_of[2]))).unwrap();
    }
    assert_eq!(store.get_many(&ids[2..3]).unwrap()[0], blobs[2]);
    assert_eq!(store.get_many(&ids).unwrap(), blobs);
    let _ = std::fs::remove_dir_all(&dir);
}
