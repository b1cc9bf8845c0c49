//! Encrypted stores through the public API: keys, keyed ids, sealed
//! blocks, verify with and without the key, tampering, rekey.

use std::path::{Path, PathBuf};

use rewind_odb::{Encrypted, Error, InitOptions, ObjType, ObjectWriter, Store, TreeFile, UserKey};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rewind-odb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn key(s: &str) -> UserKey {
    UserKey::Secret {
        secret: s.as_bytes().to_vec(),
        origin: "the test".into(),
    }
}

const STATE: &[u8] = br#"{"version": 4, "resources": [{"type": "aws_db_instance", "instances": [{"attributes": {"password": "Qz8vTn2LkP4wRx7Hs3Jd"}}]}]}"#;

/// An encrypted store at `dir` holding one tree of two files.
fn store_with_files(
    dir: &Path,
    k: &str,
) -> (Store, rewind_odb::ObjectId, Vec<rewind_odb::ObjectId>) {
    let store = Store::init_with(
        dir.to_str().unwrap(),
        &InitOptions {
            encrypt: Some(key(k)),
            ..Default::default()
        },
    )
    .unwrap();
    let files: [(&str, &[u8]); 2] = [("main.tf", b"terraform {}\n"), ("terraform.tfstate", STATE)];
    let mut w = ObjectWriter::new(&store);
    let mut tree = Vec::new();
    let mut ids = Vec::new();
    for (path, bytes) in files {
        let id = store.object_id(bytes);
        w.add(id, ObjType::Blob, bytes).unwrap();
        ids.push(id);
        tree.push(TreeFile {
            path: path.into(),
            executable: false,
            link: false,
            size: bytes.len() as u64,
            id,
        });
    }
    let root = w.add_tree(&tree).unwrap();
    w.finish().unwrap();
    (store, root, ids)
}

fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.extend(std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn objects_are_sealed_and_ids_are_keyed() {
    let dir = scratch("sealed");
    let (store, root, ids) = store_with_files(&dir, "the first store's key");
    assert!(matches!(store.encryption(), Encrypted::Unlocked(_)));
    // dedup: the same content, the same id; but not its plain hash
    assert_eq!(store.object_id(STATE), ids[1]);
    assert_ne!(ids[1], rewind_odb::ObjectId::of(STATE));
    assert_eq!(store.get_many(&ids).unwrap()[1], STATE);
    assert_eq!(store.tree_files(&root).unwrap().len(), 2);
    let raw = all_bytes(&dir);
    assert!(
        !contains(&raw, b"Qz8vTn2LkP4wRx7Hs3Jd"),
        "the secret is not in the clear"
    );
    assert!(!contains(&raw, b"terraform.tfstate"), "nor are file names");
    assert!(
        !contains(&raw, &rewind_odb::ObjectId::of(STATE).hash().0),
        "nor plain hashes"
    );
    // another store, another data key: other ids for the same content
    let other = scratch("sealed-other");
    let (store2, _, ids2) = store_with_files(&other, "the first store's key");
    assert_ne!(ids2[1], ids[1]);
    drop(store2);
    assert!(store.verify().unwrap().ok());
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&other).ok();
}

#[test]
fn a_wrong_or_missing_key_is_a_clear_error() {
    let dir = scratch("keys");
    let (_, root, ids) = store_with_files(&dir, "right key for this");
    let loc = dir.to_str().unwrap();
    let wrong = Store::open_with(loc, Some(&key("wrong key for this")))
        .err()
        .unwrap();
    assert!(matches!(wrong, Error::WrongKey { .. }), "{wrong}");
    assert!(
        wrong.to_string().contains("the test"),
        "names the key's origin: {wrong}"
    );
    // no key: it opens, its objects do not
    let locked = Store::open_with(loc, None).unwrap();
    assert!(matches!(locked.encryption(), Encrypted::Locked(_)));
    let e = locked.get_many(&ids).err().unwrap();
    assert!(matches!(e, Error::KeyNeeded(_)), "{e}");
    assert!(e.to_string().contains("REWIND_KEY"), "{e}");
    assert!(locked.tree_files(&root).is_err());
    assert!(locked.cache_seal().is_err());
    let mut w = ObjectWriter::new(&locked);
    assert!(matches!(
        w.add(locked.object_id(b"x"), ObjType::Blob, b"x"),
        Err(Error::KeyNeeded(_))
    ));
    assert!(locked.require_key("snapshot").is_err());
    // verify without the key checks the structure and says what it did not
    let r = locked.verify().unwrap();
    assert!(r.ok(), "{:?}", r.problems);
    assert!(r.limited.as_deref().unwrap().contains("did not check"));
    // a store without encryption refuses a key
    let plain = scratch("keys-plain");
    Store::init(plain.to_str().unwrap()).unwrap();
    let e = Store::open_with(plain.to_str().unwrap(), Some(&key("right key for this")))
        .err()
        .unwrap();
    assert!(e.to_string().contains("not encrypted"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_dir_all(&plain).ok();
}

#[test]
fn tampered_ciphertext_fails_verify_naming_the_object() {
    let dir = scratch("tamper");
    let (_, _, ids) = store_with_files(&dir, "tamper test key");
    let packs: Vec<PathBuf> = std::fs::read_dir(dir.join("packs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect();
    // the blobs' pack is the one with the state: the larger
    let pack = packs
        .iter()
        .max_by_key(|p| p.metadata().unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(pack).unwrap();
    // a byte of the first block's ciphertext (past the magic, the block
    // header and the nonce)
    bytes[8 + 9 + 24 + 3] ^= 0x80;
    std::fs::write(pack, &bytes).unwrap();
    let store = Store::open_with(dir.to_str().unwrap(), Some(&key("tamper test key"))).unwrap();
    let r = store.verify().unwrap();
    assert!(!r.ok());
    let has = |what: &str| r.problems.iter().any(|p| p.contains(what));
    assert!(has("does not authenticate"), "{:?}", r.problems);
    assert!(
        has(&ids[1].to_hex()),
        "the problems name the object: {:?}",
        r.problems
    );
    let e = store.get_many(&ids[1..]).err().unwrap();
    assert!(e.to_string().contains(&ids[1].to_hex()), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rekey_rewraps_the_data_key_only() {
    let dir = scratch("rekey");
    let (store, root, ids) = store_with_files(&dir, "the old key 123");
    let packs_before = std::fs::read_dir(dir.join("packs")).unwrap().count();
    let raw_before = all_bytes(&dir.join("packs"));
    store.rekey(&key("the new key 456")).unwrap();
    let loc = dir.to_str().unwrap();
    assert!(matches!(
        Store::open_with(loc, Some(&key("the old key 123"))),
        Err(Error::WrongKey { .. })
    ));
    let again = Store::open_with(loc, Some(&key("the new key 456"))).unwrap();
    assert_eq!(again.object_id(STATE), ids[1], "ids unchanged");
    assert_eq!(again.get_many(&ids).unwrap()[1], STATE);
    assert_eq!(again.tree_files(&root).unwrap().len(), 2);
    assert_eq!(
        std::fs::read_dir(dir.join("packs")).unwrap().count(),
        packs_before
    );
    assert_eq!(all_bytes(&dir.join("packs")), raw_before, "packs untouched");
    // the old value, opened before the rekey, cannot write a stale config
    let e = store.rekey(&key("a third key 789"));
    assert!(e.is_ok(), "the config it re-reads is current: {e:?}");
    assert!(Store::open_with(loc, Some(&key("a third key 789"))).is_ok());
    // no temporary files left beside the config
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .filter(|e| e.path().is_file())
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn gc_rewrites_an_encrypted_store_sealed() {
    let dir = scratch("gc");
    let store = Store::init_with(
        dir.to_str().unwrap(),
        &InitOptions {
            encrypt: Some(key("the gc test's key")),
            ..Default::default()
        },
    )
    .unwrap();
    let content = b"resource \"terraform_data\" \"a\" { input = \"Vb7pQ2mXr9Tc\" }\n".to_vec();
    let blob = store.object_id(&content);
    let garbage = b"nothing names this: Hs4kW8nLq3Zy".to_vec();
    let mut w = ObjectWriter::new(&store);
    w.add(blob, ObjType::Blob, &content).unwrap();
    w.add(store.object_id(&garbage), ObjType::Blob, &garbage)
        .unwrap();
    let tree = w
        .add_tree(&[TreeFile {
            path: "main.tf".into(),
            executable: false,
            link: false,
            size: content.len() as u64,
            id: blob,
        }])
        .unwrap();
    let model = w.add_model(&rewind_model::Model::default(), "").unwrap();
    w.finish().unwrap();
    store
        .publish_snapshot("prod", &["v1".to_string()], false, |parent| {
            rewind_odb::SnapshotRecord {
                format: rewind_odb::RECORD_FORMAT,
                tree,
                model,
                parent,
                time: "2026-01-01T00:00:00Z".into(),
                message: String::new(),
                env: "prod".into(),
                labels: Default::default(),
                source: "/src".into(),
                root: String::new(),
                program_version: "test".into(),
                git: None,
                files: 1,
                resources: 0,
                instances: 0,
                inputs: None,
            }
        })
        .unwrap();
    let report = store.gc(std::time::Duration::ZERO, false).unwrap();
    assert_eq!(report.removed_objects, 1, "{report:?}");
    assert!(report.written_packs >= 1, "{report:?}");
    let reopened =
        Store::open_with(dir.to_str().unwrap(), Some(&key("the gc test's key"))).unwrap();
    assert!(reopened.verify().unwrap().ok());
    assert_eq!(reopened.get_many(&[blob]).unwrap()[0], content);
    let raw = all_bytes(&dir);
    assert!(
        !contains(&raw, b"Vb7pQ2mXr9Tc"),
        "the rewritten pack is sealed"
    );
    // gc needs the key: what is live is in the trees and models
    let locked = Store::open_with(dir.to_str().unwrap(), None).unwrap();
    assert!(matches!(
        locked.gc(std::time::Duration::ZERO, true),
        Err(Error::KeyNeeded(_))
    ));
    std::fs::remove_dir_all(&dir).ok();
}
