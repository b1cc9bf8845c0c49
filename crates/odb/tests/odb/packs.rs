//! Readers beside a changing set of packs.

use rewind_odb::{ObjType, ObjectWriter, Store};

use crate::{pack_names, scratch};

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

/// A long history writes a pack per snapshot; past
/// `PACKS_BEFORE_ROLLUP`, the small ones are rolled up into one (each pack
/// left at least twice all smaller ones), every object still readable by
/// a fresh reader and by one that listed the packs before, the store
/// sound; with the store busy (a snapshot's shared lock) nothing happens.
#[test]
fn small_packs_roll_up_and_every_object_stays() {
    let dir = scratch("rollup");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    // one large pack (the first snapshot), then forty small ones
    let big: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("resource \"terraform_data\" \"big{i}\" {{}}\n").into_bytes())
        .collect();
    let mut w = ObjectWriter::new(&store);
    for b in &big {
        w.add(store.object_id(b), ObjType::Blob, b).unwrap();
    }
    w.finish().unwrap();
    let small: Vec<Vec<u8>> = (0..40)
        .map(|i| format!("locals {{\n  step = {i}\n}}\n").into_bytes())
        .collect();
    for b in &small {
        let mut w = ObjectWriter::new(&store);
        w.add(store.object_id(b), ObjType::Blob, b).unwrap();
        w.finish().unwrap();
    }
    assert_eq!(pack_names(&root).len(), 41);
    let all: Vec<Vec<u8>> = big.iter().chain(&small).cloned().collect();
    let ids: Vec<_> = all.iter().map(|b| store.object_id(b)).collect();
    // a reader that has listed the 41 packs
    let early = Store::open(root.to_str().unwrap()).unwrap();
    assert_eq!(early.get_many(&ids[..1]).unwrap(), all[..1].to_vec());

    // busy: a snapshot holds the shared lock
    {
        let _shared = store.shared_lock().unwrap();
        assert!(store.roll_up_packs().unwrap().is_none());
        assert_eq!(pack_names(&root).len(), 41);
    }
    let report = store.roll_up_packs().unwrap().expect("rolled up");
    assert_eq!(report.removed_packs, 40, "{report:?}");
    assert_eq!(report.written_packs, 1);
    assert_eq!(report.kept_objects, 40);
    assert_eq!(pack_names(&root).len(), 2, "{:?}", pack_names(&root));
    // nothing more to do until more small packs come
    assert!(store.roll_up_packs().unwrap().is_none());

    let fresh = Store::open(root.to_str().unwrap()).unwrap();
    assert_eq!(fresh.get_many(&ids).unwrap(), all);
    assert_eq!(early.get_many(&ids).unwrap(), all);
    let v = fresh.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}
