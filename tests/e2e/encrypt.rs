//! Encrypted stores end to end: keys from the environment and from files,
//! wrong and missing keys, tampering, rekey, sync, and an encrypted store
//! in S3 whose data key AWS KMS wraps (both servers on 127.0.0.1).

use std::process::Command;

use crate::common::*;
use crate::kmsserver::{KmsServer, KEY_ID};
use crate::s3server::S3Server;
use crate::secrets::{assert_same_files, leaks, leaks_in_files, write_corpus, Secrets};

const KEY: &str = "correct horse battery staple 42";

fn with_key(c: &mut Command, key: &str) -> Run {
    Run::from(c.env("REWIND_KEY", key).output().expect("run rewind"))
}

/// Snapshot ids of the store, newest first.
fn ids(r: Run) -> Vec<String> {
    r.ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn an_encrypted_store_needs_its_key_and_says_so() {
    let t = Scratch::new("enc-keys");
    let k = |args: &[&str]| with_key(&mut t.cmd(args), KEY);
    k(&["init", "--encrypt"]).ok();
    snapshot_releases_with(2, k);
    k(&["checkout", "v2", "restored"]).ok();
    for f in [
        "main.tf",
        "terraform.tfstate",
        "variables.tf",
        "prod.auto.tfvars",
    ] {
        assert_eq!(
            std::fs::read(t.path("restored").join(f)).unwrap(),
            std::fs::read(shop(2).join(f)).unwrap(),
            "{f} round-trips"
        );
    }

    // no key: what needs the objects fails, naming what is needed
    let none = t.run(&["diff", "v1", "v2"]);
    assert_eq!(none.code, 1, "{}", none.stderr);
    assert!(
        none.stderr.contains("encrypted") && none.stderr.contains("REWIND_KEY"),
        "{}",
        none.stderr
    );
    let snap = t.run(&["snapshot", s(&shop(3)), "--env", "prod"]);
    assert_eq!(snap.code, 1, "{}", snap.stderr);
    assert!(snap.stderr.contains("REWIND_KEY"), "{}", snap.stderr);
    // the records and refs are readable without it
    assert_eq!(ids(t.run(&["log", "--format", "json"])).len(), 2);
    // verify without the key: the structure, and it says so
    let v = t.run(&["verify"]).ok();
    assert!(v.stdout.contains("structure only"), "{}", v.stdout);
    assert!(v.stderr.contains("did not check"), "{}", v.stderr);
    let vj = t.run(&["verify", "--format", "json"]).ok().json();
    assert_eq!(vj["ok"], true);
    assert!(vj["limited"].is_string());
    let full = k(&["verify", "--format", "json"]).ok().json();
    assert!(full["limited"].is_null(), "{full}");

    // a wrong key is an error, never garbage
    let wrong = with_key(
        &mut t.cmd(&["diff", "v1", "v2"]),
        "not the right key at all",
    );
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("wrong key") && wrong.stderr.contains("REWIND_KEY"),
        "{}",
        wrong.stderr
    );
    assert!(wrong.stdout.is_empty());

    // the key from a file (a final newline is not part of it)
    std::fs::write(t.path("key.txt"), format!("{KEY}\n")).unwrap();
    let from_file = Run::from(
        t.cmd(&["diff", "v1", "v2", "--format", "json"])
            .env("REWIND_KEY_FILE", t.path("key.txt"))
            .output()
            .unwrap(),
    );
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);
    let plain = t
        .run(&["diff", s(&shop(1)), s(&shop(2)), "--format", "json"])
        .json();
    assert_eq!(from_file.json()["changes"], plain["changes"]);
    let missing_file = Run::from(
        t.cmd(&["log"])
            .env("REWIND_KEY_FILE", t.path("nope.txt"))
            .output()
            .unwrap(),
    );
    assert_eq!(missing_file.code, 1);
    assert!(
        missing_file.stderr.contains("nope.txt"),
        "{}",
        missing_file.stderr
    );

    // init without --encrypt while a key is set: surely a mistake
    let forgot = k(&["--store", "plainstore", "init"]);
    assert_eq!(forgot.code, 1);
    assert!(forgot.stderr.contains("--encrypt"), "{}", forgot.stderr);
    assert!(!t.path("plainstore").exists());
    // a key given for a store without encryption is refused (its config
    // could have been stripped of its encryption)
    t.run(&["--store", "plainstore", "init"]).ok();
    let refused = with_key(&mut t.cmd(&["--store", "plainstore", "log"]), KEY);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("not encrypted"),
        "{}",
        refused.stderr
    );
    // and an encrypted store cannot sync into it (ids differ)
    let sync = with_key(&mut t.cmd(&["sync", ".rewind", "plainstore"]), KEY);
    assert_eq!(sync.code, 1);

    // a store sharing the data key: sync copies, the ids stay
    k(&["--store", "twin", "init", "--encrypt-like", ".rewind"]).ok();
    k(&["sync", ".rewind", "twin"]).ok();
    assert_eq!(
        ids(k(&["--store", "twin", "log", "--format", "json"])),
        ids(k(&["log", "--format", "json"]))
    );
    k(&["--store", "twin", "verify"]).ok();
    k(&["--store", "twin", "checkout", "v1", "twin-restored"]).ok();
    assert_same_files(&shop(1), &t.path("twin-restored"));
    // init again (a pipeline's idempotent bootstrap): --encrypt-like a
    // store whose data key it does not share, or --generate-key (a key
    // that would not open it), is refused and writes nothing
    k(&["--store", "twin", "init", "--encrypt-like", ".rewind"]).ok();
    k(&["--store", "other", "init", "--encrypt"]).ok();
    let unlike = k(&["--store", "other", "init", "--encrypt-like", ".rewind"]);
    assert_eq!(unlike.code, 1, "{}", unlike.stderr);
    assert!(
        unlike.stderr.contains("does not share the data key"),
        "{}",
        unlike.stderr
    );
    let regen = t.run(&["init", "--encrypt", "--generate-key", "again.key"]);
    assert_eq!(regen.code, 1, "{}", regen.stderr);
    assert!(
        regen.stderr.contains("already exists") && regen.stderr.contains("no key was written"),
        "{}",
        regen.stderr
    );
    assert!(!t.path("again.key").exists());

    // an empty REWIND_KEY (a pipeline's missing secret) is an error, not
    // "no key"; so is a key file that is a device
    let empty = with_key(&mut t.cmd(&["log"]), "");
    assert_eq!(empty.code, 1);
    assert!(
        empty.stderr.contains("REWIND_KEY is set but empty"),
        "{}",
        empty.stderr
    );
    let device = Run::from(
        t.cmd(&["log"])
            .env("REWIND_KEY_FILE", "/dev/zero")
            .output()
            .unwrap(),
    );
    assert_eq!(device.code, 1);
    assert!(
        device.stderr.contains("not a regular file"),
        "{}",
        device.stderr
    );
}

#[test]
fn tampered_ciphertext_fails_verify_naming_the_object() {
    let t = Scratch::new("enc-tamper");
    let k = |args: &[&str]| with_key(&mut t.cmd(args), KEY);
    k(&["init", "--encrypt"]).ok();
    k(&["snapshot", s(&shop(1)), "--env", "prod", "--tag", "v1"]).ok();
    // the largest pack holds the blobs: flip a byte of a block's sealed
    // body and fix the pack's checksum, as someone who can write the
    // store but lacks the key could
    let packs = t.path(".rewind/packs");
    let mut largest = None;
    for e in std::fs::read_dir(&packs).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "pack") {
            let len = p.metadata().unwrap().len();
            if largest.as_ref().is_none_or(|(_, l)| len > *l) {
                largest = Some((p, len));
            }
        }
    }
    let (pack, _) = largest.unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let at = 8 + 9 + 24 + 100; // past the magic, the block header and the nonce
    bytes[at] ^= 0x01;
    std::fs::write(&pack, &bytes).unwrap();
    let v = k(&["verify"]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    assert!(
        v.stderr.contains("does not authenticate") && v.stderr.contains("object "),
        "{}",
        v.stderr
    );
    // without the key the pack's checksum still gives it away
    let nokey = t.run(&["verify"]);
    assert_eq!(nokey.code, 1);
    assert!(
        nokey.stderr.contains("checksum mismatch"),
        "{}",
        nokey.stderr
    );
    // reading it (the first block holds nodes) is an error naming it,
    // never wrong output
    let graph = k(&["graph", "v1"]);
    assert_eq!(graph.code, 1, "{}", graph.stdout);
    assert!(graph.stdout.is_empty());
    assert!(
        graph.stderr.contains("does not authenticate") && graph.stderr.contains("object "),
        "{}",
        graph.stderr
    );
}

/// The names of the files under `dir`, sorted.
fn names_under(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = crate::secrets::files_under(dir)
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn rekey_rotates_the_keys_and_keeps_every_id() {
    let t = Scratch::new("enc-rekey");
    let old = t.path("old.key");
    let init = t
        .run(&["init", "--encrypt", "--generate-key", s(&old)])
        .ok();
    assert!(init.stderr.contains("old.key"), "{}", init.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&old).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let with_file = |args: &[&str], file: &std::path::Path| {
        Run::from(t.cmd(args).env("REWIND_KEY_FILE", file).output().unwrap())
    };
    snapshot_releases_with(2, |args| with_file(args, &old));
    let before = ids(with_file(&["log", "--format", "json"], &old));
    let packs_before = names_under(&t.path(".rewind/packs"));
    let objects_before = with_file(&["verify", "--format", "json"], &old).ok();
    let objects_before: serde_json::Value = serde_json::from_str(&objects_before.stdout).unwrap();
    assert!(
        !names_under(&t.path(".rewind/cache/dirs")).is_empty(),
        "the snapshots left sealed caches"
    );
    // the new key: from REWIND_NEW_KEY; a full rotation by default
    let r = Run::from(
        t.cmd(&["rekey"])
            .env("REWIND_KEY_FILE", &old)
            .env("REWIND_NEW_KEY", "the new passphrase, longer")
            .output()
            .unwrap(),
    )
    .ok();
    assert!(
        r.stderr.contains("rotated to sealing key generation 1")
            && r.stderr
                .contains("no key from before the rotation opens its packs"),
        "{}",
        r.stderr
    );
    let stale = with_file(&["diff", "v1", "v2"], &old);
    assert_eq!(stale.code, 1);
    assert!(stale.stderr.contains("wrong key"), "{}", stale.stderr);
    let new = |args: &[&str]| with_key(&mut t.cmd(args), "the new passphrase, longer");
    assert_eq!(
        ids(new(&["log", "--format", "json"])),
        before,
        "snapshot ids unchanged"
    );
    // every pack was rewritten: none of the old ones is left
    let packs_after = names_under(&t.path(".rewind/packs"));
    assert!(!packs_after.is_empty());
    assert!(
        packs_after.iter().all(|p| !packs_before.contains(p)),
        "{packs_after:?} / {packs_before:?}"
    );
    // the caches sealed with the old key are gone
    assert!(names_under(&t.path(".rewind/cache/dirs")).is_empty());
    let v = new(&["verify", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["notes"], serde_json::json!([]), "{v}");
    assert_eq!(v["objects"], objects_before["objects"], "the same objects");
    assert_eq!(v["snapshots"], objects_before["snapshots"]);
    new(&["checkout", "v2", "back"]).ok();
    assert_same_files(&shop(2), &t.path("back"));
    // the next snapshot rebuilds the caches and dedups against the
    // re-sealed objects
    let again = new(&["snapshot", s(&shop(2)), "--env", "prod", "--format", "json"]).ok();
    let again: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        again["unchanged"], false,
        "re-read: the caches were dropped"
    );
    assert_eq!(
        (again["new_objects"].as_u64(), again["new_bytes"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
    assert!(!names_under(&t.path(".rewind/cache/dirs")).is_empty());
    // --rewrap-only: the key changes, not one pack does
    let packs = names_under(&t.path(".rewind/packs"));
    std::fs::write(t.path("third.key"), "third key, from a file\n").unwrap();
    // a new key from the flag and one from the environment: which one?
    let both = Run::from(
        t.cmd(&[
            "rekey",
            "--rewrap-only",
            "--new-key-file",
            s(&t.path("third.key")),
        ])
        .env("REWIND_KEY", "the new passphrase, longer")
        .env("REWIND_NEW_KEY", "yet another new key")
        .output()
        .unwrap(),
    );
    assert_eq!(both.code, 1);
    assert!(
        both.stderr
            .contains("REWIND_NEW_KEY is set and --new-key-file is given"),
        "{}",
        both.stderr
    );
    let r = new(&[
        "rekey",
        "--rewrap-only",
        "--new-key-file",
        s(&t.path("third.key")),
    ])
    .ok();
    assert!(r.stderr.contains("still reads them"), "{}", r.stderr);
    assert_eq!(names_under(&t.path(".rewind/packs")), packs);
    with_file(&["verify"], &t.path("third.key")).ok();
    let stale = new(&["log"]);
    assert!(stale.stderr.contains("wrong key"), "{}", stale.stderr);
    // rekey of a store without encryption says why not
    t.run(&["--store", "p", "init"]).ok();
    let plain = Run::from(
        t.cmd(&["--store", "p", "rekey"])
            .env("REWIND_NEW_KEY", "whatever key here")
            .output()
            .unwrap(),
    );
    assert_eq!(plain.code, 1);
    assert!(plain.stderr.contains("not encrypted"), "{}", plain.stderr);
}

/// `rewind` against `store` in `s3`, with `kms` as AWS KMS.
fn s3_kms(t: &Scratch, s3: &S3Server, kms: &KmsServer, store: &str, args: &[&str]) -> Command {
    let mut c = crate::s3::s3(t, s3, store, args);
    for (k, v) in kms.env() {
        c.env(k, v);
    }
    c
}

#[test]
fn an_encrypted_s3_store_with_its_data_key_wrapped_by_kms() {
    let s3 = S3Server::start("enc-kms", &["secure-state"]);
    let kms = KmsServer::start();
    let t = Scratch::new("enc-s3-kms");
    let store = "s3://secure-state/rewind";
    let mut seed = u64::from(std::process::id()) ^ 0xc0ffee;
    let v1 = Secrets::new(&mut seed);
    let v2 = Secrets::new(&mut seed);
    write_corpus(&t.path("v1"), &v1, 1);
    write_corpus(&t.path("v2"), &v2, 2);
    let mut secrets = v1.forms("v1");
    secrets.extend(v2.forms("v2"));
    let rw = |args: &[&str]| Run::from(s3_kms(&t, &s3, &kms, store, args).output().unwrap());
    rw(&["init", "--encrypt", "--kms-key", KEY_ID]).ok();
    rw(&["snapshot", "v1", "--env", "prod", "--tag", "r1"]).ok();
    rw(&["snapshot", "v2", "--env", "prod", "--tag", "r2"]).ok();
    let diff = rw(&["diff", "r1", "r2", "--format", "json"]).ok();
    assert!(leaks(&diff.stdout, &secrets).is_empty());
    rw(&["verify"]).ok();
    rw(&["checkout", "r1", "restored"]).ok();
    assert_same_files(&t.path("v1"), &t.path("restored"));
    assert!(
        kms.calls.load(std::sync::atomic::Ordering::SeqCst) >= 6,
        "every run unwraps through KMS"
    );
    let config = std::fs::read_to_string(s3.root.join("secure-state/rewind/config")).unwrap();
    assert!(
        config.contains("aws-kms") && config.contains(KEY_ID),
        "{config}"
    );
    // the bucket, and the local cache of the remote store, hold no secret
    let found = leaks_in_files(&s3.root, &secrets);
    assert!(
        found.is_empty(),
        "secrets in the bucket:\n{}",
        found.join("\n")
    );
    let found = leaks_in_files(&t.path("cache"), &secrets);
    assert!(
        found.is_empty(),
        "secrets in the local cache:\n{}",
        found.join("\n")
    );

    // KMS out of reach: reading fails and says why; the structure verifies
    let mut c = s3_kms(&t, &s3, &kms, store, &["diff", "r1", "r2"]);
    c.env("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9");
    let down = Run::from(c.output().unwrap());
    assert_eq!(down.code, 1);
    assert!(down.stderr.contains("KMS"), "{}", down.stderr);
    let mut c = s3_kms(&t, &s3, &kms, store, &["verify"]);
    c.env("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9");
    let structure = Run::from(c.output().unwrap()).ok();
    assert!(
        structure.stdout.contains("structure only"),
        "{}",
        structure.stdout
    );

    // rekey from KMS to a passphrase: every pack re-sealed, KMS no longer
    // needed, ids unchanged
    let before = ids(rw(&["log", "--format", "json"]));
    let bucket_packs = s3.root.join("secure-state/rewind/packs");
    let packs_before = names_under(&bucket_packs);
    let mut c = s3_kms(&t, &s3, &kms, store, &["rekey"]);
    c.env("REWIND_NEW_KEY", KEY);
    let r = Run::from(c.output().unwrap()).ok();
    assert!(r.stderr.contains("generation 1"), "{}", r.stderr);
    let packs_after = names_under(&bucket_packs);
    // one pack now holds what the snapshots and the ref log wrote in four
    assert!(!packs_after.is_empty() && packs_after.len() <= packs_before.len());
    assert!(
        packs_after.iter().all(|p| !packs_before.contains(p)),
        "{packs_after:?}"
    );
    let found = leaks_in_files(&s3.root, &secrets);
    assert!(
        found.is_empty(),
        "secrets in the bucket after rekey:\n{}",
        found.join("\n")
    );
    let found = leaks_in_files(&t.path("cache"), &secrets);
    assert!(
        found.is_empty(),
        "secrets in the cache after rekey:\n{}",
        found.join("\n")
    );
    let mut c = s3_kms(&t, &s3, &kms, store, &["verify", "--format", "json"]);
    c.env("REWIND_KEY", KEY)
        .env("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9");
    let v: serde_json::Value =
        serde_json::from_str(&Run::from(c.output().unwrap()).ok().stdout).unwrap();
    assert_eq!(
        (v["ok"].clone(), v["limited"].clone()),
        (serde_json::json!(true), serde_json::Value::Null),
        "{v}"
    );
    // the KMS slot is gone: without the passphrase the store is locked
    let mut c = s3_kms(&t, &s3, &kms, store, &["diff", "r1", "r2"]);
    let locked = Run::from(c.output().unwrap());
    assert_eq!(locked.code, 1, "{}", locked.stderr);
    let mut c = s3_kms(&t, &s3, &kms, store, &["log", "--format", "json"]);
    c.env("REWIND_KEY", KEY)
        .env("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9");
    assert_eq!(ids(Run::from(c.output().unwrap())), before);
    let mut c = s3_kms(&t, &s3, &kms, store, &["checkout", "r2", "restored2"]);
    c.env("REWIND_KEY", KEY)
        .env("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9");
    Run::from(c.output().unwrap()).ok();
    assert_same_files(&t.path("v2"), &t.path("restored2"));

    // and back to KMS: KMS now wraps the data key and the sealing key
    let mut c = s3_kms(&t, &s3, &kms, store, &["rekey", "--new-kms-key", KEY_ID]);
    c.env("REWIND_KEY", KEY);
    let r = Run::from(c.output().unwrap()).ok();
    assert!(r.stderr.contains("generation 2"), "{}", r.stderr);
    rw(&["verify"]).ok();
    assert_eq!(ids(rw(&["log", "--format", "json"])), before);
    rw(&["checkout", "r1", "restored3"]).ok();
    assert_same_files(&t.path("v1"), &t.path("restored3"));
    let config = std::fs::read_to_string(s3.root.join("secure-state/rewind/config")).unwrap();
    assert!(
        config.contains("\"generation\": 2") && config.contains("aws-kms"),
        "{config}"
    );
}
