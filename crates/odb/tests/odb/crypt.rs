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

/// The keys under `packs/` (names only), sorted.
fn pack_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("packs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The store opened with `k`, checked whole: verify ok, the tree and
/// the state file as written, the same ids.
fn assert_whole(
    dir: &Path,
    k: &str,
    root: &rewind_odb::ObjectId,
    ids: &[rewind_odb::ObjectId],
) -> Store {
    let store = Store::open_with(dir.to_str().unwrap(), Some(&key(k))).unwrap();
    let v = store.verify().unwrap();
    assert!(v.ok(), "verify with {k:?}: {:?}", v.problems);
    assert_eq!(store.object_id(STATE), ids[1], "ids unchanged");
    assert_eq!(store.get_many(ids).unwrap()[1], STATE);
    let files = store.tree_files(root).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[1].id, ids[1]);
    store
}

#[test]
fn rotation_reseals_every_pack_and_keeps_every_id() {
    let dir = scratch("rotate");
    let (store, root, ids) = store_with_files(&dir, "the old key 123");
    let packs_before = pack_files(&dir);
    let pack_before_bytes = std::fs::read(
        dir.join("packs")
            .join(packs_before.iter().find(|p| p.ends_with(".pack")).unwrap()),
    )
    .unwrap();
    let r = store.rotate_key(&key("the new key 456")).unwrap();
    assert!(r.finished, "{r:?}");
    assert_eq!(
        (r.generation, r.removed_packs, r.written_packs),
        (1, 1, 1),
        "{r:?}"
    );
    assert_eq!(r.objects, 3, "two blobs and a tree: {r:?}");
    let loc = dir.to_str().unwrap();
    let err = Store::open_with(loc, Some(&key("the old key 123")))
        .err()
        .unwrap();
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("does not open"), "{err}");
    let again = assert_whole(&dir, "the new key 456", &root, &ids);
    assert!(again.verify().unwrap().notes.is_empty());
    // every pack is new, the old ones are gone, and none holds a byte run
    // of the old ones (re-sealed under fresh nonces and a fresh key)
    let after = pack_files(&dir);
    assert_eq!(after.len(), packs_before.len());
    assert!(
        after.iter().all(|p| !packs_before.contains(p)),
        "{after:?} / {packs_before:?}"
    );
    // 64 bytes of the first block's ciphertext (after the pack magic, the
    // block header and the nonce) of the old pack
    let cipher_before = &pack_before_bytes[8 + 9 + 24..8 + 9 + 24 + 64];
    for p in after.iter().filter(|p| p.ends_with(".pack")) {
        let bytes = std::fs::read(dir.join("packs").join(p)).unwrap();
        assert!(!contains(&bytes, cipher_before), "{p} holds old ciphertext");
    }
    // the config: version 6, generation 1, nothing retired
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config")).unwrap()).unwrap();
    assert_eq!(config["version"], 6);
    assert_eq!(config["encryption"]["generation"], 1);
    assert!(config["encryption"].get("retired").is_none(), "{config}");
    // a second rotation: generation 2, the same ids again
    let r = again.rotate_key(&key("a third key 789")).unwrap();
    assert_eq!(r.generation, 2);
    assert_whole(&dir, "a third key 789", &root, &ids);
    // re-wrapping only keeps the generation and every pack
    let store = Store::open_with(loc, Some(&key("a third key 789"))).unwrap();
    let packs = pack_files(&dir);
    store.rekey(&key("a fourth key 000")).unwrap();
    assert_eq!(pack_files(&dir), packs);
    assert_whole(&dir, "a fourth key 000", &root, &ids);
    std::fs::remove_dir_all(&dir).ok();
}

/// A rotation killed after any step leaves a store that opens with the
/// old key or the new one and verifies with it; `rekey` again finishes.
#[test]
fn a_rotation_stopped_after_any_step_leaves_a_whole_store() {
    use rewind_odb::RotateStep;
    for (i, step) in [
        RotateStep::Packs,
        RotateStep::Config,
        RotateStep::Indexes,
        RotateStep::Deletes,
    ]
    .into_iter()
    .enumerate()
    {
        let dir = scratch(&format!("rotate-stop-{i}"));
        let (store, root, ids) = store_with_files(&dir, "the old key 123");
        let old_packs = pack_files(&dir);
        let r = store
            .rotate_key_until(&key("the new key 456"), Some(step))
            .unwrap();
        assert!(!r.finished);
        let loc = dir.to_str().unwrap();
        let (opens, refused) = if step == RotateStep::Packs {
            ("the old key 123", "the new key 456")
        } else {
            ("the new key 456", "the old key 123")
        };
        assert!(
            matches!(
                Store::open_with(loc, Some(&key(refused))),
                Err(Error::WrongKey { .. })
            ),
            "{step:?}: {refused:?} is refused"
        );
        let store = assert_whole(&dir, opens, &root, &ids);
        let notes = store.verify().unwrap().notes.join("\n");
        if step == RotateStep::Packs {
            assert!(notes.contains("has no index"), "{step:?}: {notes}");
        } else {
            assert!(notes.contains("did not finish"), "{step:?}: {notes}");
        }
        // rekey again, with the key that opens it: finished, every pack
        // from before the first attempt is gone
        let r = store.rotate_key(&key("the new key 456")).unwrap();
        assert!(r.finished, "{step:?}: {r:?}");
        let store = assert_whole(&dir, "the new key 456", &root, &ids);
        assert!(store.verify().unwrap().notes.is_empty(), "{step:?}");
        let now = pack_files(&dir);
        assert_eq!(now.len(), 2, "{step:?}: one pack and its index: {now:?}");
        assert!(now.iter().all(|p| !old_packs.contains(p)), "{step:?}");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn a_store_without_encryption_or_without_its_key_is_not_rotated() {
    let dir = scratch("rotate-plain");
    let store = Store::init(dir.to_str().unwrap()).unwrap();
    let e = store.rotate_key(&key("a new key here")).unwrap_err();
    assert!(e.to_string().contains("not encrypted"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
    let dir = scratch("rotate-locked");
    let (_, _, _) = store_with_files(&dir, "the old key 123");
    let locked = Store::open_with(dir.to_str().unwrap(), None).unwrap();
    let e = locked.rotate_key(&key("a new key here")).unwrap_err();
    assert!(matches!(e, Error::KeyNeeded(_)), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The error of writing one blob of `content` into `store`, which must
/// refuse it.
fn failed_write(store: &Store, content: &[u8]) -> String {
    let mut w = ObjectWriter::new(store);
    w.add(store.object_id(content), ObjType::Blob, content)
        .unwrap();
    w.finish().unwrap_err().to_string()
}

#[test]
fn a_store_opened_before_a_rotation_writes_nothing_after_it() {
    let dir = scratch("rotate-stale");
    let (store, _, _) = store_with_files(&dir, "the old key 123");
    let loc = dir.to_str().unwrap();
    let stale = Store::open_with(loc, Some(&key("the old key 123"))).unwrap();
    store.rotate_key(&key("the new key 456")).unwrap();
    let packs = pack_files(&dir);
    let e = failed_write(&stale, b"written with the retired sealing key");
    assert!(e.contains("rotated"), "{e}");
    assert_eq!(pack_files(&dir), packs, "nothing written");
    std::fs::remove_dir_all(&dir).ok();
}

/// A store written by the rewind before key rotation (format 5) opens as
/// it is and becomes format 6 at its first rotation; a format 5 config
/// naming a sealing key generation is refused.
#[test]
fn a_version_5_store_opens_and_is_raised_by_its_first_rotation() {
    let dir = scratch("rotate-v5");
    let (store, root, ids) = store_with_files(&dir, "the old key 123");
    drop(store);
    let cfg = dir.join("config");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("\"version\": 6"), "{text}");
    std::fs::write(&cfg, text.replace("\"version\": 6", "\"version\": 5")).unwrap();
    let v5 = assert_whole(&dir, "the old key 123", &root, &ids);
    assert_eq!(v5.format_version(), 5);
    // re-wrapping keeps generation 0, so the config stays version 5
    v5.rekey(&key("the old key 123")).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("\"version\": 5") && !text.contains("generation"),
        "{text}"
    );
    let v5 = Store::open_with(dir.to_str().unwrap(), Some(&key("the old key 123"))).unwrap();
    v5.rotate_key(&key("the new key 456")).unwrap();
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("\"version\": 6") && text.contains("\"generation\": 1"),
        "{text}"
    );
    assert_whole(&dir, "the new key 456", &root, &ids);
    // what a rewind before rotation would misread: refused by name
    std::fs::write(&cfg, text.replace("\"version\": 6", "\"version\": 5")).unwrap();
    let e = Store::open_with(dir.to_str().unwrap(), Some(&key("the new key 456")))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("format version 5") && e.contains("generation 1"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A config put back from before a full rotation (by someone who can
/// write the store) opens with the old key, but none of the packs opens
/// with its keys: the first write is refused before anything is written,
/// so no new secret is sealed with the retired key and the real config,
/// restored, still verifies. The same for a config whose encryption was
/// removed: nothing is written in the clear beside sealed packs.
#[test]
fn a_replaced_config_is_refused_before_anything_is_written() {
    let dir = scratch("rolled-back-config");
    let (store, _, _) = store_with_files(&dir, "the old key 123");
    let loc = dir.to_str().unwrap();
    let config = dir.join("config");
    let old_config = std::fs::read(&config).unwrap();
    store.rotate_key(&key("the new key 456")).unwrap();
    let new_config = std::fs::read(&config).unwrap();
    let packs = pack_files(&dir);

    std::fs::write(&config, &old_config).unwrap();
    let rolled_back = Store::open_with(loc, Some(&key("the old key 123"))).unwrap();
    let e = failed_write(&rolled_back, b"a new secret: Vb3kQ9mZ");
    assert!(
        e.contains("do not open with the keys its config wraps")
            && e.contains("nothing was written"),
        "{e}"
    );
    assert_eq!(pack_files(&dir), packs, "nothing written");

    let mut plain: serde_json::Value = serde_json::from_slice(&old_config).unwrap();
    plain.as_object_mut().unwrap().remove("encryption");
    std::fs::write(&config, serde_json::to_vec(&plain).unwrap()).unwrap();
    let stripped = Store::open_with(loc, None).unwrap();
    assert_eq!(stripped.encryption(), Encrypted::No);
    let e = failed_write(&stripped, b"a new secret: Vb3kQ9mZ");
    assert!(
        e.contains("its packs are sealed, but its config has no encryption"),
        "{e}"
    );
    assert_eq!(pack_files(&dir), packs, "nothing written");
    assert!(!contains(&all_bytes(&dir), b"Vb3kQ9mZ"));

    std::fs::write(&config, &new_config).unwrap();
    let restored = Store::open_with(loc, Some(&key("the new key 456"))).unwrap();
    let v = restored.verify().unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    std::fs::remove_dir_all(&dir).ok();
}

/// verify (and gc, which verifies first) with keys opened before a
/// rotation says the key was rotated; it does not report every re-sealed
/// block as altered.
#[test]
fn verify_after_a_rotation_it_waited_for_says_so() {
    let dir = scratch("verify-stale");
    let (store, _, _) = store_with_files(&dir, "the old key 123");
    let loc = dir.to_str().unwrap();
    let stale = Store::open_with(loc, Some(&key("the old key 123"))).unwrap();
    store.rotate_key(&key("the new key 456")).unwrap();
    let e = stale.verify().unwrap_err().to_string();
    assert!(
        e.contains("its key was rotated") && e.contains("with the new key"),
        "{e}"
    );
    let e = stale
        .gc(std::time::Duration::ZERO, true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("its key was rotated"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A config whose key slots no key could open is a problem for verify
/// without the key, and a clear error (naming the config, not "wrong
/// key") with it.
#[test]
fn a_config_no_key_opens_is_found_without_the_key() {
    let dir = scratch("config-slots");
    let (store, _, _) = store_with_files(&dir, "the right key 1");
    drop(store);
    let loc = dir.to_str().unwrap();
    let config = dir.join("config");
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
    type Case = (&'static str, fn(&mut serde_json::Value), &'static str);
    let cases: [Case; 7] = [
        (
            "no slot",
            |e| e["keys"] = serde_json::json!([]),
            "holds no key slot",
        ),
        (
            "kdf",
            |e| e["keys"][0]["kdf"] = "pbkdf2".into(),
            "key derivation \"pbkdf2\"",
        ),
        (
            "memory",
            |e| e["keys"][0]["memory_kib"] = 4194305.into(),
            "out of range",
        ),
        (
            "lanes",
            |e| e["keys"][0]["parallelism"] = 0.into(),
            "out of range",
        ),
        (
            "salt",
            |e| e["keys"][0]["salt"] = "".into(),
            "salt is 0 bytes long",
        ),
        (
            "wrapped",
            |e| {
                let w = e["keys"][0]["wrapped"].as_str().unwrap().to_string();
                e["keys"][0]["wrapped"] = w[..w.len() - 2].into();
            },
            "wrapped keys are 71 bytes long",
        ),
        (
            "generation",
            |e| e["generation"] = 3.into(),
            "generation 3 with 0 retired needs 104",
        ),
    ];
    for (name, change, says) in cases {
        let mut c = good.clone();
        change(&mut c["encryption"]);
        std::fs::write(&config, serde_json::to_vec(&c).unwrap()).unwrap();
        let locked = Store::open_with(loc, None).unwrap();
        let v = locked.verify().unwrap();
        assert!(
            v.problems
                .iter()
                .any(|p| p.contains("(config)") && p.contains(says)),
            "{name}: {:?}",
            v.problems
        );
        let e = Store::open_with(loc, Some(&key("the right key 1")))
            .err()
            .unwrap_or_else(|| panic!("{name}: opened"))
            .to_string();
        assert!(
            e.contains("(config)") && e.contains(says) && !e.contains("wrong key"),
            "{name}: {e}"
        );
    }
    std::fs::write(&config, serde_json::to_vec(&good).unwrap()).unwrap();
    assert!(Store::open_with(loc, None).unwrap().verify().unwrap().ok());
    std::fs::remove_dir_all(&dir).ok();
}

/// Key files: a device or a file far longer than any key is refused
/// before it is read whole; a pipe is read.
#[test]
fn key_files_are_bounded() {
    let e = UserKey::from_file(Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file"),
        "{e}"
    );
    let dir = scratch("key-files");
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.key");
    std::fs::write(&big, vec![b'k'; 64 * 1024 + 1]).unwrap();
    let e = UserKey::from_file(&big).unwrap_err().to_string();
    assert!(
        e.contains("big.key") && e.contains("longer than 65536 bytes"),
        "{e}"
    );
    std::fs::write(&big, vec![b'k'; 64 * 1024]).unwrap();
    assert!(UserKey::from_file(&big).is_ok());
    let fifo = dir.join("fifo.key");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, b"a key from a pipe\n").unwrap())
    };
    let k = UserKey::from_file(&fifo).unwrap();
    writer.join().unwrap();
    assert!(matches!(k, UserKey::Secret { ref secret, .. } if secret == b"a key from a pipe"));
    std::fs::remove_dir_all(&dir).ok();
}
