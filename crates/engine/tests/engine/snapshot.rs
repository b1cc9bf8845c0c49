//! Snapshots and the store on the bundled application history: dedup,
//! the unchanged fast path, checkout, integrity checks for every file kind,
//! refs, verify and gc.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rewind_engine::{snapshot, SnapshotOptions};
use rewind_odb::{Error as StoreError, Load, ObjType, ObjectId, PackWriter, Store};

use crate::common::{shop, TempDir};

fn opts(env: &str, tag: Option<&str>) -> SnapshotOptions {
    SnapshotOptions {
        env: env.into(),
        tags: tag.map(|t| vec![t.to_string()]).unwrap_or_default(),
        message: "test".into(),
        ..Default::default()
    }
}

fn new_store(t: &TempDir) -> Store {
    Store::init(t.0.join("store").to_str().unwrap()).unwrap()
}

fn pack_bytes(t: &TempDir) -> u64 {
    std::fs::read_dir(t.0.join("store/packs"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// Bytes of the files a snapshot of `dir` keeps.
fn source_bytes(dir: &Path) -> u64 {
    rewind_parse::discover(dir)
        .unwrap()
        .iter()
        .map(|(p, _)| std::fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn history_dedups_and_unchanged_snapshots_store_nothing() {
    let t = TempDir::new("dedup");
    let store = new_store(&t);
    let mut sum = 0;
    for v in 1..=5 {
        let o = snapshot(&store, &shop(v), &opts("prod", Some(&format!("v{v}")))).unwrap();
        assert!(!o.unchanged);
        sum += source_bytes(&shop(v));
    }
    let stored = pack_bytes(&t);
    assert!(
        stored * 3 < sum,
        "5 releases of {sum} bytes in all are stored in {stored} bytes: expected at least 3 times smaller"
    );
    // The same tree again: nothing new but the record.
    let again = snapshot(&store, &shop(5), &opts("prod", None)).unwrap();
    assert_eq!(again.written.objects, 0);
    assert!(again.unchanged, "an untouched tree takes the fast path");
    assert_eq!(pack_bytes(&t), stored);
    // A copy of v3 elsewhere (other paths and times): no new objects either.
    let copy = t.0.join("copy");
    copy_dir(&shop(3), &copy);
    let o = snapshot(&store, &copy, &opts("staging", None)).unwrap();
    assert_eq!(o.written.objects, 0, "identical content is stored once");
    let v3 = store.resolve("v3").unwrap();
    assert_eq!(store.record(&v3).unwrap().tree, o.record.tree);
    assert_eq!(store.record(&v3).unwrap().model, o.record.model);
    assert!(store.verify().unwrap().ok());
}

/// Sets the modification time of every file and directory under `dir` to
/// an hour ago, so the cache trusts them without a racy re-check.
fn age(dir: &Path) {
    let then = std::time::SystemTime::now() - Duration::from_secs(3600);
    for e in walkdir::WalkDir::new(dir).contents_first(true) {
        let e = e.unwrap();
        std::fs::File::open(e.path())
            .unwrap()
            .set_modified(then)
            .unwrap();
    }
}

/// The local cache's stat file of the one directory snapshotted.
fn stat_file(t: &TempDir) -> PathBuf {
    let found: Vec<PathBuf> = walkdir::WalkDir::new(t.0.join("store"))
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|x| x == "stat"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

#[test]
fn an_unchanged_snapshot_settles_the_entries_too_recent_to_trust() {
    let t = TempDir::new("settle");
    let store = new_store(&t);
    let dir = t.0.join("tree");
    copy_dir(&shop(2), &dir);
    // written just before it: the first snapshot's stats are too recent
    // to trust (a second change within the same clock tick would not show)
    let first = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!first.unchanged);
    let recorded = std::fs::read(stat_file(&t)).unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // the second finds the tree unchanged, hashing those files again, and
    // records its own start: the files are now old enough to trust
    let second = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(second.unchanged);
    assert_eq!(second.record.tree, first.record.tree);
    let settled = std::fs::read(stat_file(&t)).unwrap();
    assert_ne!(settled, recorded, "the stat file is saved again");
    // the third has nothing to check again, and writes nothing
    let third = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(third.unchanged);
    assert_eq!(std::fs::read(stat_file(&t)).unwrap(), settled);
    // a change is still seen
    std::fs::write(dir.join("extra.tf"), "variable \"x\" {}\n").unwrap();
    let fourth = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!fourth.unchanged);
    assert_ne!(fourth.record.tree, first.record.tree);
}

#[test]
fn unchanged_fast_path_notices_added_removed_and_renamed_files() {
    let t = TempDir::new("fastpath");
    let store = new_store(&t);
    let dir = t.0.join("tree");
    copy_dir(&shop(2), &dir);
    age(&dir);
    let first = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!first.unchanged);
    let again = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(again.unchanged, "old directories and files: the fast path");
    assert_eq!(again.record.tree, first.record.tree);

    // A file added to a module directory.
    let module = dir.join("modules/network");
    assert!(module.is_dir());
    std::fs::write(
        module.join("extra.tf"),
        "resource \"aws_eip\" \"extra\" {\n  domain = \"vpc\"\n}\n",
    )
    .unwrap();
    let added = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!added.unchanged, "an added file is seen");
    assert_ne!(added.record.tree, first.record.tree);
    assert_eq!(added.record.resources, first.record.resources + 1);
    let same = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(
        same.unchanged,
        "a recently changed directory is listed again, then trusted"
    );
    assert_eq!(same.record.tree, added.record.tree);

    // A file removed, after everything has aged.
    age(&dir);
    let base = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!base.unchanged, "new directory times are recorded");
    assert!(
        snapshot(&store, &dir, &opts("prod", None))
            .unwrap()
            .unchanged
    );
    std::fs::remove_file(module.join("extra.tf")).unwrap();
    let removed = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!removed.unchanged, "a removed file is seen");
    assert_eq!(removed.record.tree, first.record.tree);

    // A file renamed, and a new directory, each after everything aged.
    age(&dir);
    snapshot(&store, &dir, &opts("prod", None)).unwrap();
    let names: Vec<PathBuf> = std::fs::read_dir(&module)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "tf"))
        .collect();
    let from = &names[0];
    std::fs::rename(from, module.join("renamed.tf")).unwrap();
    let renamed = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!renamed.unchanged, "a renamed file is seen");
    assert_ne!(renamed.record.tree, first.record.tree);
    age(&dir);
    snapshot(&store, &dir, &opts("prod", None)).unwrap();
    std::fs::create_dir(dir.join("extra")).unwrap();
    std::fs::write(dir.join("extra/notes.tf"), "locals {\n  a = 1\n}\n").unwrap();
    let nested = snapshot(&store, &dir, &opts("prod", None)).unwrap();
    assert!(!nested.unchanged, "a new directory is seen");
    assert_eq!(nested.record.files, renamed.record.files + 1);
    assert!(store.verify().unwrap().ok());
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn checkout_restores_identical_bytes() {
    let t = TempDir::new("checkout");
    let store = new_store(&t);
    for v in [1, 4] {
        let o = snapshot(&store, &shop(v), &opts("prod", None)).unwrap();
        let dest = t.0.join(format!("out{v}"));
        let summary = store.checkout(&o.id, &dest, false).unwrap();
        let expected = rewind_parse::discover(&shop(v)).unwrap();
        assert_eq!(summary.files, expected.len());
        for (p, _) in &expected {
            let rel = p.strip_prefix(shop(v)).unwrap();
            let got =
                std::fs::read(dest.join(rel)).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
            assert_eq!(got, std::fs::read(p).unwrap(), "{}", rel.display());
        }
        // not into a non-empty directory without force
        let err = store.checkout(&o.id, &dest, false).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
        store.checkout(&o.id, &dest, true).unwrap();
    }
}

#[test]
fn refs_tags_envs_and_history() {
    let t = TempDir::new("refs");
    let store = new_store(&t);
    let a = snapshot(&store, &shop(1), &opts("prod", Some("r1")))
        .unwrap()
        .id;
    let b = snapshot(&store, &shop(2), &opts("prod", Some("r2")))
        .unwrap()
        .id;
    let c = snapshot(&store, &shop(3), &opts("prod", None)).unwrap().id;
    let s = snapshot(&store, &shop(3), &opts("staging", None))
        .unwrap()
        .id;
    assert_eq!(store.resolve("prod").unwrap(), c);
    assert_eq!(store.resolve("prod@latest").unwrap(), c);
    assert_eq!(store.resolve("prod~1").unwrap(), b);
    assert_eq!(store.resolve("prod~2").unwrap(), a);
    assert_eq!(store.resolve("staging").unwrap(), s);
    assert!(store
        .resolve("prod~3")
        .unwrap_err()
        .to_string()
        .contains("only 3 snapshots"));
    assert_eq!(store.resolve(&a.to_hex()).unwrap(), a);
    assert_eq!(store.resolve(&a.short(8)).unwrap(), a);
    assert!(
        store.resolve(&a.short(4)).is_err(),
        "prefixes need 6 digits"
    );
    assert!(store
        .resolve("nope")
        .unwrap_err()
        .to_string()
        .contains("unknown reference"));
    assert!(store
        .resolve("prod@good")
        .unwrap_err()
        .to_string()
        .contains("marked good"));
    // The staging record's parent is not prod's.
    assert_eq!(store.record(&s).unwrap().parent, None);
    assert_eq!(store.record(&c).unwrap().parent, Some(b));
    // Tags do not move.
    let err = snapshot(&store, &shop(4), &opts("prod", Some("r1"))).unwrap_err();
    assert!(err.to_string().contains("already names"), "{err}");
    assert_eq!(
        store.resolve("prod").unwrap(),
        c,
        "a refused snapshot moves nothing"
    );
    // Known-good marks are logged.
    store
        .update_refs(|r| {
            r.envs.get_mut("prod").unwrap().good = Some(b);
            r.record(
                "2026-01-01T00:00:00Z",
                "envs/prod/good".into(),
                None,
                Some(b),
                "mark-good",
            );
            Ok(())
        })
        .unwrap();
    assert_eq!(store.resolve("prod@good").unwrap(), b);
    let refs = store.refs().unwrap();
    let log = store.full_log(&refs).unwrap();
    assert!(log
        .iter()
        .any(|l| l.name == "envs/prod/good" && l.new == Some(b)));
    assert_eq!(
        log.iter().filter(|l| l.name == "envs/prod/latest").count(),
        3
    );
}

#[test]
fn ambiguous_prefix_lists_candidates() {
    let t = TempDir::new("prefix");
    let store = new_store(&t);
    let o = snapshot(&store, &shop(1), &opts("prod", None)).unwrap();
    // Two more records whose ids share a prefix with nothing else: copies of
    // the real record under names that collide on their first 8 digits.
    let bytes = std::fs::read(t.0.join("store/snapshots").join(o.id.to_hex())).unwrap();
    let a = format!("abcdef12{}", &"0".repeat(56));
    let b = format!("abcdef12{}", &"1".repeat(56));
    for name in [&a, &b] {
        std::fs::write(t.0.join("store/snapshots").join(name), &bytes).unwrap();
    }
    let err = store.resolve("abcdef12").unwrap_err().to_string();
    assert!(err.contains("ambiguous"), "{err}");
    assert!(err.contains(&a[..12]) && err.contains(&b[..12]), "{err}");
    // and the copies are not trusted as records: their names are not their hashes
    assert!(store
        .resolve(&a)
        .unwrap_err()
        .to_string()
        .contains("corrupt"));
    assert_eq!(store.resolve(&o.id.short(10)).unwrap(), o.id);
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

fn load_all(store: &Store) -> Result<(), StoreError> {
    for id in store.list_snapshots()? {
        let rec = store.record(&id)?;
        store.load_model(&rec.model, Load::Full)?;
        let files = store.tree_files(&rec.tree)?;
        let ids: Vec<_> = files.iter().map(|f| f.id).collect();
        store.get_many(&ids)?;
    }
    Ok(())
}

#[test]
fn every_corrupt_file_kind_is_caught_and_named() {
    // pack contents
    {
        let t = TempDir::new("corrupt-pack");
        let store = new_store(&t);
        snapshot(&store, &shop(1), &opts("prod", None)).unwrap();
        let pack = files_in(&t.0.join("store/packs"), "pack").remove(0);
        flip(&pack, 5000);
        let reopened = Store::open(t.0.join("store").to_str().unwrap()).unwrap();
        let err = load_all(&reopened).unwrap_err().to_string();
        assert!(err.contains("corrupt") && err.contains(".pack"), "{err}");
        let report = reopened.verify().unwrap();
        assert!(!report.ok());
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains(pack.file_name().unwrap().to_str().unwrap())),
            "{:?}",
            report.problems
        );
    }
    // pack index
    {
        let t = TempDir::new("corrupt-idx");
        let store = new_store(&t);
        snapshot(&store, &shop(1), &opts("prod", None)).unwrap();
        let idx = files_in(&t.0.join("store/packs"), "idx").remove(0);
        flip(&idx, 100);
        let reopened = Store::open(t.0.join("store").to_str().unwrap()).unwrap();
        let err = load_all(&reopened).unwrap_err().to_string();
        assert!(
            err.contains(idx.file_name().unwrap().to_str().unwrap()) && err.contains("checksum"),
            "{err}"
        );
        assert!(!reopened.verify().unwrap().ok());
    }
    // refs
    {
        let t = TempDir::new("corrupt-refs");
        let store = new_store(&t);
        snapshot(&store, &shop(1), &opts("prod", Some("v1"))).unwrap();
        flip(&t.0.join("store/refs"), 30);
        let err = store.resolve("v1").unwrap_err().to_string();
        assert!(err.contains("refs") && err.contains("corrupt"), "{err}");
        assert!(!store.verify().unwrap().ok());
    }
    // snapshot record
    {
        let t = TempDir::new("corrupt-record");
        let store = new_store(&t);
        let o = snapshot(&store, &shop(1), &opts("prod", None)).unwrap();
        flip(&t.0.join("store/snapshots").join(o.id.to_hex()), 40);
        let reopened = Store::open(t.0.join("store").to_str().unwrap()).unwrap();
        let err = reopened.record(&o.id).unwrap_err().to_string();
        assert!(
            err.contains(&o.id.to_hex()) && err.contains("corrupt"),
            "{err}"
        );
        assert!(!reopened.verify().unwrap().ok());
    }
    // config: unknown version and garbage
    {
        let t = TempDir::new("corrupt-config");
        new_store(&t);
        let cfg = t.0.join("store/config");
        let original = std::fs::read_to_string(&cfg).unwrap();
        assert!(original.contains("\"version\": 6"), "{original}");
        std::fs::write(&cfg, original.replace("\"version\": 6", "\"version\": 99")).unwrap();
        let err = Store::open(t.0.join("store").to_str().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("version 99"), "{err}");
        // stores written by rewind 0.1 (expressions as text) and by the
        // first builds with expression trees (packs of layout 1)
        for old in ["1", "2"] {
            let older = original.replace("\"version\": 6", &format!("\"version\": {old}"));
            std::fs::write(&cfg, older).unwrap();
            let err = Store::open(t.0.join("store").to_str().unwrap())
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains(&format!("version {old} was written by an earlier rewind")),
                "{err}"
            );
        }
        // version 3 (before links), 4 (before encryption) and 5 (before key
        // rotation) are read and written as they are
        for old in ["3", "4", "5"] {
            let older = original.replace("\"version\": 6", &format!("\"version\": {old}"));
            std::fs::write(&cfg, older).unwrap();
            let opened = Store::open(t.0.join("store").to_str().unwrap()).unwrap();
            assert!(opened.verify().unwrap().ok(), "version {old}");
        }
        std::fs::write(&cfg, "{ garbage").unwrap();
        let err = Store::open(t.0.join("store").to_str().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("config") && err.contains("corrupt"), "{err}");
    }
    // the local cache: ignored, never wrong
    {
        let t = TempDir::new("corrupt-cache");
        let store = new_store(&t);
        let first = snapshot(&store, &shop(2), &opts("prod", None)).unwrap();
        for f in walkdir::WalkDir::new(t.0.join("store/cache"))
            .into_iter()
            .filter_map(Result::ok)
        {
            if f.file_type().is_file() {
                flip(f.path(), 200);
            }
        }
        let again = snapshot(&store, &shop(2), &opts("prod", None)).unwrap();
        assert!(!again.unchanged, "a corrupt cache is not trusted");
        assert_eq!(again.record.model, first.record.model);
        assert_eq!(again.record.tree, first.record.tree);
    }
}

#[test]
fn gc_removes_leftovers_and_keeps_history() {
    let t = TempDir::new("gc");
    let store = new_store(&t);
    for v in 1..=3 {
        snapshot(&store, &shop(v), &opts("prod", Some(&format!("v{v}")))).unwrap();
    }
    // Leftovers of an interrupted snapshot: a pack without index, a pack
    // with an unreachable object, a record no ref names, a temp file.
    let packs = t.0.join("store/packs");
    std::fs::write(packs.join(format!("{}.pack", "ab".repeat(32))), b"partial").unwrap();
    let mut w = PackWriter::new();
    let junk = b"resource \"aws_instance\" \"lost\" {}\n".repeat(10);
    w.add(ObjectId::of(&junk), ObjType::Blob, &junk);
    store.write_pack(w).unwrap();
    let mut rec = store.record(&store.resolve("v1").unwrap()).unwrap();
    rec.message = "orphan".into();
    let orphan = store.put_snapshot(&rec).unwrap();
    std::fs::write(
        t.0.join("store/tmp/4242-1733338800000000000-7.pack.tmp"),
        b"x",
    )
    .unwrap();
    // and a file rewind never writes (`tmp/` may be a link to a shared
    // directory): never removed
    std::fs::write(t.0.join("store/tmp/report.pdf"), b"keep").unwrap();
    let report = store.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.notes.iter().any(|n| n.contains("has no index")));
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("tmp/report.pdf: not a file rewind writes")),
        "{:?}",
        report.notes
    );

    // A long grace period protects everything.
    let r = store.gc(Duration::from_secs(3600), false).unwrap();
    assert_eq!(
        (r.removed_objects, r.removed_snapshots, r.removed_packs),
        (0, 0, 0)
    );

    let r = store.gc(Duration::ZERO, false).unwrap();
    assert_eq!(r.removed_snapshots, 1);
    assert_eq!(r.removed_objects, 1);
    assert!(r.removed_packs >= 2);
    assert_eq!(r.removed_temp, 1);
    assert_eq!(
        std::fs::read(t.0.join("store/tmp/report.pdf")).unwrap(),
        b"keep"
    );
    std::fs::remove_file(t.0.join("store/tmp/report.pdf")).unwrap();
    assert!(store.record(&orphan).is_err());
    let reopened = Store::open(t.0.join("store").to_str().unwrap()).unwrap();
    let report = reopened.verify().unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.notes.is_empty(), "{:?}", report.notes);
    load_all(&reopened).unwrap();
    for v in 1..=3 {
        reopened.resolve(&format!("v{v}")).unwrap();
    }
}

#[test]
fn concurrent_snapshots_of_one_environment_both_land() {
    let t = TempDir::new("concurrent");
    let loc = t.0.join("store").to_str().unwrap().to_string();
    Store::init(&loc).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let loc = loc.clone();
            std::thread::spawn(move || {
                let store = Store::open(&loc).unwrap();
                snapshot(
                    &store,
                    &shop(1 + i % 4),
                    &opts("prod", Some(&format!("t{i}"))),
                )
                .unwrap()
                .id
            })
        })
        .collect();
    let ids: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let store = Store::open(&loc).unwrap();
    // All four are in prod's history, each exactly once.
    let mut chain = Vec::new();
    let mut cur = Some(store.resolve("prod").unwrap());
    while let Some(id) = cur {
        chain.push(id);
        cur = store.record(&id).unwrap().parent;
    }
    assert_eq!(chain.len(), 4);
    for id in ids {
        assert!(chain.contains(&id));
    }
    assert!(store.verify().unwrap().ok());
}

/// Every file under `dir` with its bytes.
fn listing(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), std::fs::read(e.path()).unwrap()))
        .collect();
    out.sort();
    out
}

/// Is `e` a failed load with an error in file `name`?
fn failed_in(e: &rewind_engine::Error, name: &str) -> bool {
    match e {
        rewind_engine::Error::Load(f) => f
            .diagnostics
            .iter()
            .any(|d| d.severity == rewind_model::Severity::Error && d.loc.file.ends_with(name)),
        _ => false,
    }
}

/// A load that fails (a broken configuration file; a broken state, whose
/// parse fails while the other files' contents are already taken for the
/// store) writes nothing: no pack, no parse cache record, no
/// leftover file, and the next snapshot of the repaired directory works.
#[test]
fn a_failing_load_leaves_the_store_and_its_cache_as_they_were() {
    let t = TempDir::new("failing-load");
    let store = new_store(&t);
    let first = snapshot(&store, &shop(1), &opts("prod", None)).unwrap().id;
    let before = listing(&t.0.join("store"));
    assert!(before
        .iter()
        .any(|(p, _)| p.extension().is_some_and(|e| e == "parse")));

    let bad_config = t.0.join("bad-config");
    copy_dir(&shop(2), &bad_config);
    std::fs::write(
        bad_config.join("broken.tf"),
        "resource \"aws_s3_bucket\" \"x\" {\n",
    )
    .unwrap();
    let e = snapshot(&store, &bad_config, &opts("prod", None)).unwrap_err();
    assert!(failed_in(&e, "broken.tf"), "{e:?}");
    assert_eq!(listing(&t.0.join("store")), before);

    let bad_state = t.0.join("bad-state");
    copy_dir(&shop(2), &bad_state);
    std::fs::write(
        bad_state.join("terraform.tfstate"),
        "{\"version\": 4, \"lineage\": ",
    )
    .unwrap();
    let e = snapshot(&store, &bad_state, &opts("prod", None)).unwrap_err();
    assert!(failed_in(&e, "terraform.tfstate"), "{e:?}");
    assert_eq!(listing(&t.0.join("store")), before);
    assert_eq!(store.resolve("prod").unwrap(), first);

    // repaired, it snapshots as a copy of release 2 does
    std::fs::copy(
        shop(2).join("terraform.tfstate"),
        bad_state.join("terraform.tfstate"),
    )
    .unwrap();
    let o = snapshot(&store, &bad_state, &opts("prod", None)).unwrap();
    let fresh = TempDir::new("failing-load-fresh");
    let other = new_store(&fresh);
    let good = t.0.join("good");
    copy_dir(&shop(2), &good);
    let want = snapshot(&other, &good, &opts("prod", None)).unwrap();
    assert_eq!(o.record.tree, want.record.tree);
    assert_eq!(o.record.model, want.record.model);
    assert!(store.verify().unwrap().ok());
    let leftovers: Vec<_> = listing(&t.0.join("store"))
        .into_iter()
        .filter(|(p, _)| {
            p.to_string_lossy().contains("spool") || p.to_string_lossy().ends_with(".tmp")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "{:?}",
        leftovers.iter().map(|l| &l.0).collect::<Vec<_>>()
    );
}

/// A snapshot killed while it read a directory leaves its spool of parse
/// results beside the cache's parse log (tens of MB for a large
/// directory), and no later step of that process removes it. The next
/// snapshot through the same cache removes a spool left unchanged for an
/// hour, and leaves a younger one alone: it may be a running snapshot's.
#[test]
fn a_killed_snapshots_spool_is_removed_by_a_later_snapshot() {
    let t = TempDir::new("stale-spool");
    let store = new_store(&t);
    snapshot(&store, &shop(1), &opts("prod", None)).unwrap();
    let dirs = t.0.join("store/cache/dirs");
    let log = std::fs::read_dir(&dirs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parse"))
        .expect("a parse log");
    // what a killed snapshot of this directory and one of another left
    // (process ids no process here has), and what a running one writes
    let killed = log.with_extension("parse.4000001.spool");
    let other = dirs.join("0123456789abcdef01234567.parse.4000002.spool");
    let running = log.with_extension("parse.4000003.spool");
    let hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    for (path, modified) in [
        (&killed, Some(hours_ago)),
        (&other, Some(hours_ago)),
        (&running, None),
    ] {
        let f = std::fs::File::create(path).unwrap();
        f.set_len(1 << 20).unwrap();
        if let Some(m) = modified {
            f.set_modified(m).unwrap();
        }
    }

    snapshot(&store, &shop(2), &opts("prod", None)).unwrap();
    assert!(!killed.exists(), "the killed snapshot's spool is left");
    assert!(!other.exists(), "another directory's old spool is left");
    assert!(running.exists(), "a running snapshot's spool was removed");
    assert!(store.verify().unwrap().ok());
}
