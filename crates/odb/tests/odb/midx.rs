//! The combined pack index saved in the local cache
//! (docs/store-format.md §18.1): read at open instead of the indexes of
//! the packs it covers, and never trusted past what the pack listing and
//! the objects' own checks say.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::{pack_names, scratch};

use rewind_odb::{ObjType, ObjectId, ObjectWriter, Store};

/// `store` verifies with neither a problem nor a note.
fn verified_clean(store: &Store) {
    let v = store.verify().unwrap();
    assert!(
        v.ok() && v.notes.is_empty(),
        "{:?} {:?}",
        v.problems,
        v.notes
    );
}

fn midx_path(store: &Path) -> PathBuf {
    store.join("cache").join("packs.midx")
}

/// The packs a saved combined index covers (its header: magic, pack
/// count, object count, then the packs' names).
fn covered(store: &Path) -> BTreeSet<String> {
    let data = std::fs::read(midx_path(store)).unwrap();
    assert_eq!(&data[..8], b"RWMIDX01");
    let n = u32::from_le_bytes(data[8..12].try_into().unwrap()) as usize;
    (0..n)
        .map(|i| {
            data[16 + 32 * i..16 + 32 * (i + 1)]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
        .collect()
}

/// Blobs of a Terraform-looking file each, one pack per blob, written by
/// `store`; returns them with their ids and the pack each went into.
fn one_pack_each(
    store: &Store,
    root: &Path,
    from: usize,
    n: usize,
) -> Vec<(Vec<u8>, ObjectId, String)> {
    (from..from + n)
        .map(|i| {
            let blob = format!("resource \"terraform_data\" \"r{i}\" {{\n  input = {i}\n}}\n")
                .into_bytes();
            let before = pack_names(root);
            let id = store.object_id(&blob);
            let mut w = ObjectWriter::new(store);
            w.add(id, ObjType::Blob, &blob).unwrap();
            w.finish().unwrap();
            let added: Vec<String> = pack_names(root).difference(&before).cloned().collect();
            assert_eq!(added.len(), 1, "one pack per blob");
            (blob, id, added[0].clone())
        })
        .collect()
}

/// Every blob reads back whole through a fresh reader, and `has` says so.
fn all_read(root: &Path, blobs: &[(Vec<u8>, ObjectId, String)]) {
    let reader = Store::open(root.to_str().unwrap()).unwrap();
    let ids: Vec<ObjectId> = blobs.iter().map(|b| b.1).collect();
    let want: Vec<Vec<u8>> = blobs.iter().map(|b| b.0.clone()).collect();
    assert_eq!(reader.get_many(&ids).unwrap(), want);
    for (blob, id, _) in blobs {
        assert!(reader.has(id).unwrap());
        assert_eq!(&reader.get_many(std::slice::from_ref(id)).unwrap()[0], blob);
    }
    assert!(!reader.has(&reader.object_id(b"never written")).unwrap());
}

/// Replaces a pack's index with bytes no reader accepts: a reader that
/// reads it fails, so a reader that works did not read it.
fn spoil_index(root: &Path, pack: &str) -> Vec<u8> {
    let path = root.join("packs").join(format!("{pack}.idx"));
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, b"not an index").unwrap();
    good
}

/// Past eight packs outside it, a snapshot's writer saves a combined
/// index; a new reader finds every object through it and the indexes of
/// the packs newer than it, without reading the indexes it covers; the
/// newer packs do not rewrite it until more than eight are outside it.
#[test]
fn a_saved_index_is_read_at_open_instead_of_the_indexes_it_covers() {
    let dir = scratch("midx-open");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let mut blobs = one_pack_each(&store, &root, 0, 8);
    assert!(!midx_path(&root).exists(), "eight packs: none yet");
    blobs.extend(one_pack_each(&store, &root, 8, 1));
    let saved = std::fs::read(midx_path(&root)).unwrap();
    assert_eq!(
        covered(&root),
        pack_names(&root),
        "the ninth pack folds all in"
    );
    // three newer packs: outside it, read from their own indexes
    blobs.extend(one_pack_each(&store, &root, 9, 3));
    assert_eq!(std::fs::read(midx_path(&root)).unwrap(), saved);
    assert_eq!(pack_names(&root).len(), 12);
    all_read(&root, &blobs);
    // the covered packs' indexes are not read (spoiled, reads still
    // work); a newer pack's is
    let spoiled: Vec<(String, Vec<u8>)> = blobs[..9]
        .iter()
        .map(|b| (b.2.clone(), spoil_index(&root, &b.2)))
        .collect();
    all_read(&root, &blobs);
    let newer = spoil_index(&root, &blobs[10].2);
    let err = Store::open(root.to_str().unwrap())
        .unwrap()
        .has(&blobs[0].1)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("{}.idx", blobs[10].2)), "{err}");
    std::fs::write(
        root.join("packs").join(format!("{}.idx", blobs[10].2)),
        newer,
    )
    .unwrap();
    for (pack, good) in spoiled {
        std::fs::write(root.join("packs").join(format!("{pack}.idx")), good).unwrap();
    }
    verified_clean(&store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// gc or a roll-up removed a pack the saved index covers: the index is
/// not used (an object that went with the pack is not found through it,
/// one moved to a new pack is read there), and is built again.
#[test]
fn a_saved_index_naming_a_removed_pack_is_ignored_and_built_again() {
    let dir = scratch("midx-removed");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let mut blobs = one_pack_each(&store, &root, 0, 10);
    assert_eq!(covered(&root).len(), 9);
    // what gc does: blob 3 copied into a new pack beside another object,
    // its pack removed (index first); blob 5's pack removed with it (no
    // ref reached it)
    let other_root = dir.join("other");
    let other = Store::init(other_root.to_str().unwrap()).unwrap();
    let beside = b"locals {\n  rewritten = true\n}\n".to_vec();
    let mut w = ObjectWriter::new(&other);
    w.add(blobs[3].1, ObjType::Blob, &blobs[3].0).unwrap();
    w.add(other.object_id(&beside), ObjType::Blob, &beside)
        .unwrap();
    w.finish().unwrap();
    let new_pack = pack_names(&other_root).into_iter().next().unwrap();
    for ext in ["pack", "idx"] {
        let file = format!("{new_pack}.{ext}");
        std::fs::copy(
            other_root.join("packs").join(&file),
            root.join("packs").join(&file),
        )
        .unwrap();
    }
    let dead = blobs.remove(5);
    for pack in [&blobs[3].2, &dead.2] {
        for ext in ["idx", "pack"] {
            std::fs::remove_file(root.join("packs").join(format!("{pack}.{ext}"))).unwrap();
        }
    }
    blobs[3].2 = new_pack;
    let reader = Store::open(root.to_str().unwrap()).unwrap();
    assert!(!reader.has(&dead.1).unwrap(), "gone with its pack");
    assert!(reader.get_many(&[dead.1]).is_err());
    all_read(&root, &blobs);
    // nine packs listed, none covered: folded into a new saved index
    assert_eq!(covered(&root), pack_names(&root));
    verified_clean(&store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A saved index cut short or with a byte changed fails its checksum: it
/// is ignored (every object still read), verify notes it naming the file,
/// and it is built again.
#[test]
fn a_damaged_saved_index_is_ignored_and_built_again() {
    let dir = scratch("midx-damaged");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let blobs = one_pack_each(&store, &root, 0, 9);
    let good = std::fs::read(midx_path(&root)).unwrap();
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 1;
    for bad in [
        good[..good.len() - 7].to_vec(),
        flipped,
        b"RWMIDX01".to_vec(),
    ] {
        std::fs::write(midx_path(&root), &bad).unwrap();
        let v = Store::open(root.to_str().unwrap())
            .unwrap()
            .verify()
            .unwrap();
        assert!(v.ok(), "{:?}", v.problems);
        assert_eq!(v.notes.len(), 1, "{:?}", v.notes);
        assert!(
            v.notes[0].contains("cache/packs.midx is corrupt")
                && v.notes[0].contains("readers ignore it"),
            "{}",
            v.notes[0]
        );
        all_read(&root, &blobs);
        // nine packs outside any usable index: built and saved again
        assert_eq!(covered(&root), pack_names(&root));
        verified_clean(&store);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A saved index that reads whole but is wrong (here two entries' places
/// swapped and the checksum made to match, as a bug could write it):
/// verify says it is a problem, naming it; a read that goes wrong through
/// it drops it and reads the packs' own indexes.
#[test]
fn a_wrong_but_whole_saved_index_fails_verify_and_reads_still_work() {
    let dir = scratch("midx-wrong");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let blobs = one_pack_each(&store, &root, 0, 9);
    let mut data = std::fs::read(midx_path(&root)).unwrap();
    let (packs, count) = (9, 9);
    let locs = 16 + 32 * packs + 1024 + 32 * count;
    let (a, b) = (locs, locs + 25);
    let first: Vec<u8> = data[a..a + 25].to_vec();
    data.copy_within(b..b + 25, a);
    data[b..b + 25].copy_from_slice(&first);
    let body = data.len() - 32;
    let sum = rewind_model::Hash::of(&data[..body]);
    data[body..].copy_from_slice(&sum.0);
    std::fs::write(midx_path(&root), &data).unwrap();
    let reader = Store::open(root.to_str().unwrap()).unwrap();
    let v = reader.verify().unwrap();
    assert!(!v.ok());
    assert!(
        v.problems[0].contains("cache/packs.midx: its entry for object")
            && v.problems[0].contains("delete it"),
        "{:?}",
        v.problems
    );
    all_read(&root, &blobs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The roll-up of small packs writes a new saved index over the packs
/// it leaves.
#[test]
fn the_roll_up_writes_a_new_saved_index() {
    let dir = scratch("midx-rollup");
    let root = dir.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let blobs = one_pack_each(&store, &root, 0, 20);
    let before = covered(&root);
    assert_ne!(before, pack_names(&root), "packs newer than it");
    store.roll_up_packs().unwrap().expect("rolled up");
    assert!(pack_names(&root).len() < 20);
    assert_eq!(covered(&root), pack_names(&root));
    all_read(&root, &blobs);
    verified_clean(&store);
    let _ = std::fs::remove_dir_all(&dir);
}
