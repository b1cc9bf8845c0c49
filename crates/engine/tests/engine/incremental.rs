//! Incremental snapshots: a snapshot that takes unchanged files' and state
//! resources' parse results from the local cache stores exactly what a
//! cold snapshot of the same directory stores, through random edits,
//! deletes, renames, additions and state changes; and a parse cache cut
//! short or damaged (a snapshot killed while appending to it) is never
//! trusted for a wrong result.

use std::path::{Path, PathBuf};

use rewind_engine::{snapshot, SnapshotOptions};
use rewind_odb::Store;

use crate::common::TempDir;

/// A small seeded generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// A resource of the generated tree: module, file, name, a number in its
/// body, whether its state marks a secret, the resources of its module it
/// reads beside the one before it.
#[derive(Clone)]
struct Res {
    module: usize,
    file: usize,
    name: String,
    size: usize,
    secret: bool,
    reads: Vec<String>,
}

const MODULES: usize = 3;

fn resource_text(r: &Res, all: &[Res]) -> String {
    // a reference to the previous resource of the same module, if any
    let dep = all
        .iter()
        .take_while(|o| o.name != r.name)
        .filter(|o| o.module == r.module)
        .last();
    let mut body = format!(
        "resource \"aws_instance\" \"{}\" {{\n  ami = var.ami\n  instance_type = \"t3.{}\"\n  tags = {{ Name = \"{}\", Size = {} }}\n",
        r.name,
        if r.size.is_multiple_of(2) { "micro" } else { "small" },
        r.name,
        r.size
    );
    if let Some(d) = dep {
        body.push_str(&format!("  subnet_id = aws_instance.{}.id\n", d.name));
    }
    if r.secret {
        body.push_str("  user_data = var.token\n");
    }
    for other in &r.reads {
        body.push_str(&format!("  ref_{other} = aws_instance.{other}.arn\n"));
    }
    body.push_str("}\n");
    body
}

/// Writes the tree: per module a variables file and its resource files, a
/// root that calls every module, and a state with every resource.
fn write_tree(dir: &Path, res: &[Res], serial: u64) {
    // files are rewritten only when their text changes, so the others
    // keep their identities (and the stat cache vouches for them)
    std::fs::create_dir_all(dir).unwrap();
    let mut root =
        String::from("variable \"token\" {\n  sensitive = true\n  default = \"t0k3n\"\n}\n");
    for m in 0..MODULES {
        root.push_str(&format!(
            "module \"m{m}\" {{\n  source = \"./modules/m{m}\"\n  ami = \"ami-{m}\"\n  token = var.token\n}}\n"
        ));
        let mdir = dir.join(format!("modules/m{m}"));
        std::fs::create_dir_all(&mdir).unwrap();
        write_if_changed(
            &mdir.join("variables.tf"),
            "variable \"ami\" {}\nvariable \"token\" {\n  sensitive = true\n}\n",
        );
    }
    write_if_changed(&dir.join("main.tf"), &root);
    let mut files: std::collections::BTreeMap<PathBuf, String> = Default::default();
    for r in res {
        files
            .entry(dir.join(format!("modules/m{}/r{:02}.tf", r.module, r.file)))
            .or_default()
            .push_str(&resource_text(r, res));
    }
    // files no resource lives in any more are removed
    for m in 0..MODULES {
        for e in std::fs::read_dir(dir.join(format!("modules/m{m}"))).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with('r') && !files.contains_key(&p) {
                std::fs::remove_file(&p).unwrap();
            }
        }
    }
    for (p, text) in &files {
        write_if_changed(p, text);
    }
    let resources: Vec<serde_json::Value> = res
        .iter()
        .map(|r| {
            let mut attrs = serde_json::json!({
                "id": format!("i-{}", r.name),
                "instance_type": if r.size.is_multiple_of(2) { "t3.micro" } else { "t3.small" },
                "tags": {"Name": r.name, "Size": r.size.to_string()},
            });
            let mut sensitive = serde_json::json!([]);
            if r.secret {
                attrs["user_data"] = serde_json::json!("t0k3n");
                sensitive = serde_json::json!([[{"type": "get_attr", "value": "user_data"}]]);
            }
            serde_json::json!({
                "module": format!("module.m{}", r.module),
                "mode": "managed",
                "type": "aws_instance",
                "name": r.name,
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{
                    "schema_version": 1,
                    "attributes": attrs,
                    "sensitive_attributes": sensitive,
                    "dependencies": [],
                }],
            })
        })
        .collect();
    let state = serde_json::json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": serial,
        "lineage": "0b6c1f43-0000-4000-8000-000000000001",
        "outputs": {},
        "resources": resources,
    });
    write_if_changed(
        &dir.join("terraform.tfstate"),
        &serde_json::to_string_pretty(&state).unwrap(),
    );
}

fn write_if_changed(p: &Path, text: &str) {
    if std::fs::read_to_string(p).ok().as_deref() != Some(text) {
        std::fs::write(p, text).unwrap();
    }
}

fn opts() -> SnapshotOptions {
    SnapshotOptions {
        env: "prod".into(),
        ..Default::default()
    }
}

/// A snapshot of `dir` into `store`: incremental or not as `incremental`
/// says, and with the tree and model of a cold one (`what` names the
/// change in a failure).
fn like_cold(
    store: &Store,
    t: &TempDir,
    dir: &Path,
    round: usize,
    what: &str,
    incremental: bool,
) -> rewind_engine::SnapshotOutcome {
    let o = snapshot(store, dir, &opts()).unwrap();
    assert_eq!(
        (o.record.tree, o.record.model),
        cold(t, dir, round),
        "{what}: the snapshot differs from a cold one"
    );
    assert_eq!(o.incremental, incremental, "{what}: incremental or not");
    o
}

/// The tree and model ids of a cold snapshot of `dir` (a fresh store,
/// so an empty cache).
fn cold(t: &TempDir, dir: &Path, round: usize) -> (rewind_odb::ObjectId, rewind_odb::ObjectId) {
    let path = t.0.join(format!("cold-{round}"));
    let store = Store::init(path.to_str().unwrap()).unwrap();
    let o = snapshot(&store, dir, &opts()).unwrap();
    drop(store);
    std::fs::remove_dir_all(&path).unwrap();
    (o.record.tree, o.record.model)
}

/// The parse log of the store's only cached directory.
fn parse_log(store: &Path) -> PathBuf {
    std::fs::read_dir(store.join("cache/dirs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "parse"))
        .expect("a parse cache file")
}

fn initial(rng: &mut Rng, n: usize) -> Vec<Res> {
    (0..n)
        .map(|i| Res {
            module: rng.below(MODULES),
            file: rng.below(4),
            name: format!("r{i}"),
            size: rng.below(100),
            secret: rng.below(5) == 0,
            reads: Vec::new(),
        })
        .collect()
}

#[test]
fn incremental_snapshots_equal_cold_ones_through_random_changes() {
    let t = TempDir::new("incremental");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut res = initial(&mut rng, 60);
    let mut serial = 1;
    write_tree(&dir, &res, serial);
    let first = snapshot(&store, &dir, &opts()).unwrap();
    assert_eq!(
        (first.record.tree, first.record.model),
        cold(&t, &dir, 0),
        "a first snapshot is a cold one"
    );
    let mut next_name = res.len();
    for round in 1..=14 {
        let before = std::fs::read(parse_log(&store_path)).unwrap();
        let what = round % 7;
        match what {
            // attribute edits in a few resources (configuration and state)
            0 | 1 => {
                for _ in 0..3 {
                    let i = rng.below(res.len());
                    res[i].size += 1 + rng.below(3);
                }
            }
            // a resource deleted
            2 => {
                let i = rng.below(res.len());
                res.remove(i);
            }
            // a resource moved to another file (a file renamed, in effect)
            3 => {
                let i = rng.below(res.len());
                res[i].file = 4 + rng.below(3);
            }
            // resources added, one of them secret
            4 => {
                for k in 0..2 {
                    res.push(Res {
                        module: rng.below(MODULES),
                        file: rng.below(4),
                        name: format!("r{next_name}"),
                        size: rng.below(100),
                        secret: k == 0,
                        reads: Vec::new(),
                    });
                    next_name += 1;
                }
            }
            // the state alone: an apply that changed a secret and a serial
            5 => {
                let i = rng.below(res.len());
                res[i].secret = !res[i].secret;
            }
            // a whole file renamed on disk
            _ => {
                let m = rng.below(MODULES);
                let mdir = dir.join(format!("modules/m{m}"));
                let from = std::fs::read_dir(&mdir)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .find(|p| p.file_name().unwrap().to_string_lossy().starts_with('r'));
                if let Some(from) = from {
                    std::fs::rename(&from, mdir.join("renamed.tf")).unwrap();
                }
            }
        }
        if what != 6 {
            serial += 1;
            write_tree(&dir, &res, serial);
        }
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert!(!o.unchanged, "round {round}: the change is seen");
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, round),
            "round {round} (change {what}): the incremental snapshot differs from a cold one"
        );
        // the parse cache grew by appending: what was there is untouched
        let after = std::fs::read(parse_log(&store_path)).unwrap();
        assert!(
            after.len() >= before.len() && after[..before.len()] == before[..],
            "round {round}: the parse cache was rewritten, not appended to"
        );
        // what the state holds is the state that was written
        let state = o.state.expect("the tree has a state");
        assert_eq!(state.serial, serial);
        // the log's index describes the log as it now is (the next
        // snapshot reads the records it needs through it)
        let len = std::fs::metadata(parse_log(&store_path)).unwrap().len();
        assert_eq!(
            indexed_length(&store_path),
            len,
            "round {round}: the index's log length"
        );
    }
    assert!(store.verify().unwrap().ok());
}

/// References added and dropped at random, beside a state, with values
/// changed between: each snapshot equals a cold one, and one whose new
/// reference closes a cycle is refused as a cold one is.
#[test]
fn relinks_equal_cold_snapshots_through_random_reference_changes() {
    let t = TempDir::new("relinks");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_4444_0000_0005);
    let mut res = initial(&mut rng, 45);
    write_tree(&dir, &res, 1);
    snapshot(&store, &dir, &opts()).unwrap();
    let (mut incremental, mut cycles, mut fine) = (0, 0, 0);
    for round in 1..=40 {
        let before = res.clone();
        for _ in 0..1 + rng.below(2) {
            let i = rng.below(res.len());
            let peers: Vec<String> = res
                .iter()
                .filter(|o| o.module == res[i].module && o.name != res[i].name)
                .map(|o| o.name.clone())
                .collect();
            if peers.is_empty() {
                continue;
            }
            let j = peers[rng.below(peers.len())].clone();
            let reads = &mut res[i].reads;
            match reads.iter().position(|r| *r == j) {
                Some(k) => {
                    reads.remove(k);
                }
                None => reads.push(j),
            }
        }
        if round % 5 == 0 {
            let i = rng.below(res.len());
            res[i].size += 1;
        }
        write_tree(&dir, &res, 1);
        let cold_path = t.0.join(format!("cold-{round}"));
        let cold_store = Store::init(cold_path.to_str().unwrap()).unwrap();
        let c = snapshot(&cold_store, &dir, &opts());
        let o = snapshot(&store, &dir, &opts());
        match (o, c) {
            (Ok(o), Ok(c)) => {
                assert_eq!(
                    (o.record.tree, o.record.model),
                    (c.record.tree, c.record.model),
                    "round {round}: the snapshot differs from a cold one"
                );
                fine += 1;
                incremental += usize::from(o.incremental);
            }
            (Err(o), Err(c)) => {
                let (o, c) = (format!("{o:?}"), format!("{c:?}"));
                assert!(c.contains("dependency cycle"), "round {round}: {c}");
                assert!(o.contains("dependency cycle"), "round {round}: {o}");
                cycles += 1;
                // back to the last snapshot's files
                res = before;
                write_tree(&dir, &res, 1);
            }
            (o, c) => panic!(
                "round {round}: the snapshot {} where a cold one {}",
                if o.is_ok() { "passed" } else { "failed" },
                if c.is_ok() { "passed" } else { "failed" }
            ),
        }
    }
    // the path is exercised: most changes are taken incrementally, and
    // some references closed cycles
    assert!(
        incremental * 4 >= fine * 3,
        "{incremental} of {fine} incremental"
    );
    assert!(
        cycles > 0 && fine >= 15,
        "{cycles} cycles, {fine} snapshots"
    );
    assert!(store.verify().unwrap().ok());
}

#[test]
fn a_parse_cache_cut_short_or_damaged_is_never_trusted() {
    let t = TempDir::new("torn-cache");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_0000_7777_0002);
    let mut res = initial(&mut rng, 40);
    write_tree(&dir, &res, 1);
    snapshot(&store, &dir, &opts()).unwrap();
    res[3].size += 7;
    res[9].secret = !res[9].secret;
    write_tree(&dir, &res, 2);
    let log = parse_log(&store_path);
    let whole_before = std::fs::read(&log).unwrap();
    let good = snapshot(&store, &dir, &opts()).unwrap();
    let whole = std::fs::read(&log).unwrap();
    assert!(
        whole.len() > whole_before.len(),
        "the second snapshot appended its new results"
    );
    assert_eq!((good.record.tree, good.record.model), cold(&t, &dir, 98));
    // A snapshot killed while appending leaves any prefix of its records;
    // a damaged byte anywhere: each case loads the same model.
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in [
        whole_before.len() + 1,
        whole_before.len() + 20,
        (whole_before.len() + whole.len()) / 2,
        whole.len() - 1,
        whole_before.len() / 2,
        10,
    ] {
        cases.push((format!("cut at {cut}"), whole[..cut].to_vec()));
    }
    for at in [9, 40, whole.len() / 3, whole.len() / 2, whole.len() - 5] {
        let mut b = whole.clone();
        b[at] ^= 0x40;
        cases.push((format!("byte {at} flipped"), b));
    }
    let mut garbage = whole.clone();
    garbage.extend_from_slice(&[7u8; 100]);
    cases.push(("garbage appended".into(), garbage));
    for (what, bytes) in cases {
        std::fs::write(&log, &bytes).unwrap();
        // the directory changes a little each time, so the snapshot is not
        // taken from the stat cache alone
        res[0].size += 1;
        write_tree(&dir, &res, 3);
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, 99),
            "{what}: a damaged parse cache gave another snapshot"
        );
        // and the cache is usable again afterwards
        let again = std::fs::read(&log).unwrap();
        assert!(
            again.starts_with(b"RWPRSE"),
            "{what}: the cache was rebuilt"
        );
    }
    assert!(store.verify().unwrap().ok());
}

/// The log's length as its index records it (the index describes the log
/// as it is, or the next snapshot would not use it).
fn indexed_length(store: &Path) -> u64 {
    let index = parse_log(store).with_extension("pidx");
    let text = std::fs::read(&index).expect("the parse log has an index");
    let mut v = rewind_model::codec::Dec::new(&text[8..]);
    v.str().unwrap();
    v.uvar().unwrap()
}

/// A log whose unused records outgrow the used ones is rewritten with
/// those in use only, copied from the log through its index (not read
/// whole): its index then says where each kept record now is, and a
/// snapshot that needs a kept record's old result (a value changed in a
/// file unchanged since the first snapshot) reads it there and stays
/// incremental.
#[test]
fn a_log_rewritten_through_its_index_keeps_its_records_readable() {
    let t = TempDir::new("compact");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    std::fs::create_dir_all(&dir).unwrap();
    // 16 large files rewritten each round, 4 small ones kept
    let write = |round: usize, kept: usize| {
        for f in 0..16 {
            let mut text = String::new();
            for r in 0..40 {
                let filler = "x".repeat(2500);
                text.push_str(&format!(
                    "resource \"terraform_data\" \"big{f}_{r}\" {{\n  input = \"{filler}-{round}\"\n}}\n\n"
                ));
            }
            write_if_changed(&dir.join(format!("big{f}.tf")), &text);
        }
        for k in 0..4 {
            let v = if k == 2 { kept } else { 0 };
            write_if_changed(
                &dir.join(format!("keep{k}.tf")),
                &format!(
                    "resource \"terraform_data\" \"keep{k}\" {{\n  input = \"k{k}-{v}\"\n}}\n"
                ),
            );
        }
    };
    write(0, 0);
    snapshot(&store, &dir, &opts()).unwrap();
    let mut lengths = Vec::new();
    for round in 1..=2 {
        write(round, 0);
        // (every large file changed: loaded whole)
        like_cold(&store, &t, &dir, round, &format!("round {round}"), false);
        let len = std::fs::metadata(parse_log(&store_path)).unwrap().len();
        assert_eq!(
            indexed_length(&store_path),
            len,
            "round {round}: the index's log length"
        );
        lengths.push(len);
        // the spool went into the log (renamed, appended or copied)
        let spools = std::fs::read_dir(store_path.join("cache/dirs"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .to_string_lossy()
                    .ends_with(".spool")
            })
            .count();
        assert_eq!(spools, 0, "round {round}: a spool file was left");
    }
    // the second round's unused records (the first two versions of the
    // large files) passed the used ones: the log was rewritten
    assert!(
        lengths[1] < lengths[0],
        "the log grew, then was rewritten smaller: {lengths:?}"
    );
    // keep2.tf's record was copied by the rewrite: its old result is read
    // where the new index says (a record not found there is a whole load)
    write(2, 1);
    like_cold(&store, &t, &dir, 3, "a value in a kept file", true);
    assert_eq!(
        indexed_length(&store_path),
        std::fs::metadata(parse_log(&store_path)).unwrap().len()
    );
    assert!(store.verify().unwrap().ok());
}

/// An encrypted store's parse log is still a log, its records sealed one
/// by one: a second snapshot appends, nothing of the files or the state is
/// in the clear (not their text, not their content hashes), and a record
/// that does not open (altered, its checksum made to fit) ends what is
/// trusted of the log, as a damaged one does.
#[test]
fn an_encrypted_stores_parse_log_is_sealed_record_by_record() {
    let t = TempDir::new("sealed-log");
    let store_path = t.0.join("store");
    let store = Store::init_with(
        store_path.to_str().unwrap(),
        &rewind_odb::InitOptions {
            encrypt: Some(rewind_odb::UserKey::Secret {
                secret: b"the sealed log's passphrase".to_vec(),
                origin: "the test".into(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_0000_5ea1_0003);
    let mut res = initial(&mut rng, 30);
    write_tree(&dir, &res, 1);
    snapshot(&store, &dir, &opts()).unwrap();
    let log = parse_log(&store_path);
    let before = std::fs::read(&log).unwrap();
    assert!(before.starts_with(b"RWSLOG01"), "a sealed log's header");
    res[2].size += 5;
    res[4].secret = !res[4].secret;
    write_tree(&dir, &res, 2);
    snapshot(&store, &dir, &opts()).unwrap();
    let after = std::fs::read(&log).unwrap();
    assert!(
        after.len() > before.len() && after[..before.len()] == before[..],
        "the second snapshot appended to the sealed log"
    );
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for clear in [&b"t0k3n"[..], b"aws_instance", b"t3.micro", b"ami-0"] {
        assert!(
            !contains(&after, clear),
            "{} is in the log in the clear",
            String::from_utf8_lossy(clear)
        );
    }
    let files = ["main.tf", "terraform.tfstate", "modules/m0/variables.tf"];
    for f in files {
        let hash = blake3::hash(&std::fs::read(dir.join(f)).unwrap());
        assert!(
            !contains(&after, hash.as_bytes()),
            "the content hash of {f} is in the log in the clear"
        );
    }
    // the records: after the header, each a u32 length, the blake3 of the
    // payload, the sealed payload
    let tag_len = u32::from_le_bytes(after[8..12].try_into().unwrap()) as usize;
    let mut at = 12 + tag_len;
    let mut records = Vec::new();
    while at < after.len() {
        let len = u32::from_le_bytes(after[at..at + 4].try_into().unwrap()) as usize;
        records.push(at);
        at += 36 + len;
    }
    assert_eq!(at, after.len(), "the log is whole records");
    assert!(records.len() > 5, "{} records", records.len());
    // a record altered past its seal (its checksum recomputed)
    let mut altered = after.clone();
    let victim = records[records.len() / 2];
    let len = u32::from_le_bytes(altered[victim..victim + 4].try_into().unwrap()) as usize;
    altered[victim + 36 + len / 2] ^= 0x01;
    let sum = blake3::hash(&altered[victim + 36..victim + 36 + len]);
    altered[victim + 4..victim + 36].copy_from_slice(sum.as_bytes());
    std::fs::write(&log, &altered).unwrap();
    res[7].size += 1;
    write_tree(&dir, &res, 3);
    let warm = snapshot(&store, &dir, &opts()).unwrap();
    assert!(
        std::fs::read(&log).unwrap().starts_with(b"RWSLOG01"),
        "the log was rebuilt, sealed"
    );
    // what a snapshot of the same store without any cache gives
    std::fs::remove_dir_all(store_path.join("cache")).unwrap();
    let cold = snapshot(&store, &dir, &opts()).unwrap();
    assert_eq!(
        (warm.record.tree, warm.record.model),
        (cold.record.tree, cold.record.model),
        "a record that does not open gave another snapshot"
    );
    assert!(store.verify().unwrap().ok());
}

/// Copies a fixture directory (hidden entries too: `.terraform` holds the
/// module manifest).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Replaces the one occurrence of `from` in `file` by `to`.
fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{from:?} once in {}",
        file.display()
    );
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// Edits of every kind a model depends on, one after the other, on a real
/// configuration (the shop: modules, tfvars, JSON syntax, a state): after
/// each, the snapshot taken with the cache of the previous one stores
/// exactly the tree and model a cold snapshot of the same directory
/// stores, and the edit did change the model.
#[test]
fn incremental_snapshots_of_the_shop_equal_cold_ones_after_edits_of_every_kind() {
    let t = TempDir::new("shop-edits");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("shop");
    copy_tree(&crate::common::shop(1), &dir);
    let first = snapshot(&store, &dir, &opts()).unwrap();
    assert_eq!((first.record.tree, first.record.model), cold(&t, &dir, 0));
    type Edit = Box<dyn Fn(&Path)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a variable default another module reads",
            Box::new(|d: &Path| {
                edit(
                    &d.join("variables.tf"),
                    "default     = \"t3.small\"",
                    "default     = \"t3.large\"",
                )
            }),
        ),
        (
            "a module call's input",
            Box::new(|d: &Path| {
                edit(
                    &d.join("main.tf"),
                    "single_nat_gateway = var.environment != \"prod\"",
                    "single_nat_gateway = true",
                )
            }),
        ),
        (
            "a variable made sensitive (the sensitivity spreads into a module)",
            Box::new(|d: &Path| {
                edit(
                    &d.join("variables.tf"),
                    "default     = \"shop_admin\"",
                    "sensitive   = true\n  default     = \"shop_admin\"",
                )
            }),
        ),
        (
            "a tfvars value every module reads",
            Box::new(|d: &Path| {
                edit(
                    &d.join("terraform.tfvars"),
                    "project     = \"shop\"",
                    "project     = \"shoppe\"",
                )
            }),
        ),
        (
            "a file added to a module, reading its variables",
            Box::new(|d: &Path| {
                std::fs::write(
                    d.join("modules/storage/extra.tf"),
                    "resource \"aws_s3_bucket\" \"extra\" {\n  bucket = \"${var.name}-extra\"\n  tags   = var.tags\n}\n",
                )
                .unwrap()
            }),
        ),
        (
            "a file removed",
            Box::new(|d: &Path| std::fs::remove_file(d.join("monitoring.tf")).unwrap()),
        ),
        (
            "the state (an apply: new serial, an attribute changed)",
            Box::new(|d: &Path| {
                let p = d.join("terraform.tfstate");
                edit(&p, "\"serial\": 27,", "\"serial\": 28,");
                let text = std::fs::read_to_string(&p).unwrap();
                assert!(text.contains("shop-prod-alb-454155509"));
                std::fs::write(
                    &p,
                    text.replace("shop-prod-alb-454155509", "shop-prod-alb-454155510"),
                )
                .unwrap();
            }),
        ),
        (
            "the file added removed again (back to a model stored before)",
            Box::new(|d: &Path| std::fs::remove_file(d.join("modules/storage/extra.tf")).unwrap()),
        ),
    ];
    let mut previous = first.record.model;
    for (round, (what, apply)) in edits.iter().enumerate() {
        apply(&dir);
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert!(!o.unchanged, "{what}: the change is seen");
        assert_ne!(o.record.model, previous, "{what}: the model changed");
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, round + 1),
            "{what}: the incremental snapshot differs from a cold one"
        );
        previous = o.record.model;
    }
    assert!(store.verify().unwrap().ok());
}

/// The stat file vouches for unchanged files by their stats: a damaged
/// one (any byte flipped, cut short) is ignored whole, and the snapshot
/// reads the directory as a cold one does, even when a file changed
/// without changing its size.
#[test]
fn a_damaged_stat_file_is_never_trusted() {
    let t = TempDir::new("torn-stat");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("shop");
    copy_tree(&crate::common::shop(1), &dir);
    snapshot(&store, &dir, &opts()).unwrap();
    let stat = std::fs::read_dir(store_path.join("cache/dirs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "stat"))
        .expect("a stat file");
    let whole = std::fs::read(&stat).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for at in [3, 20, whole.len() / 2, whole.len() - 40, whole.len() - 1] {
        let mut b = whole.clone();
        b[at] ^= 0x10;
        cases.push((format!("byte {at} flipped"), b));
    }
    cases.push(("cut short".into(), whole[..whole.len() / 2].to_vec()));
    for (i, (what, bytes)) in cases.into_iter().enumerate() {
        // a same-size edit: only the content tells it changed
        let size = if i % 2 == 0 { "50" } else { "60" };
        let text = std::fs::read_to_string(dir.join("variables.tf")).unwrap();
        let edited = text.replacen("default     = 50", &format!("default     = {size}"), 1);
        let edited = edited.replacen("default     = 60", &format!("default     = {size}"), 1);
        std::fs::write(dir.join("variables.tf"), edited).unwrap();
        std::fs::write(&stat, &bytes).unwrap();
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, 50 + i),
            "{what}: a damaged stat file gave another snapshot"
        );
    }
}

/// The generated tree (three modules called from the root, a state, a
/// secret passed down): a module call's input and a root variable's
/// default that every module reads, changed, then made no longer
/// sensitive, then sensitive again; each snapshot, taken with the
/// previous one's cache, stores what a cold one stores.
#[test]
fn incremental_snapshots_equal_cold_ones_after_module_inputs_change() {
    let t = TempDir::new("module-inputs");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_0000_1111_0004);
    let res = initial(&mut rng, 40);
    write_tree(&dir, &res, 1);
    let mut previous = snapshot(&store, &dir, &opts()).unwrap().record.model;
    let main = dir.join("main.tf");
    let edits: [(&str, &str, &str); 4] = [
        (
            "a module call's input",
            "ami = \"ami-1\"",
            "ami = \"ami-7\"",
        ),
        (
            "the default of a variable every module reads",
            "default = \"t0k3n\"",
            "default = \"n3wt0k3n\"",
        ),
        (
            "that variable no longer sensitive",
            "variable \"token\" {\n  sensitive = true\n",
            "variable \"token\" {\n",
        ),
        (
            "that variable sensitive again",
            "variable \"token\" {\n",
            "variable \"token\" {\n  sensitive = true\n",
        ),
    ];
    for (round, (what, from, to)) in edits.into_iter().enumerate() {
        edit(&main, from, to);
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert_ne!(o.record.model, previous, "{what}: the model changed");
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, round),
            "{what}: the incremental snapshot differs from a cold one"
        );
        previous = o.record.model;
    }
}

/// A release without a state: a module called twice, resources with
/// secret names and secret reads, a data source, a file read by a
/// function, locals and outputs; `vals` are the literal values that
/// value-only edits change.
fn write_values_tree(dir: &Path, vals: &[usize; 6], extra: &str) {
    std::fs::create_dir_all(dir.join("modules/app")).unwrap();
    write_if_changed(
        &dir.join("main.tf"),
        "variable \"token\" {\n  sensitive = true\n  default = \"t0k3n\"\n}\n\
         module \"blue\" {\n  source = \"./modules/app\"\n  name = \"blue\"\n  token = var.token\n}\n\
         module \"green\" {\n  source = \"./modules/app\"\n  name = \"green\"\n  token = var.token\n}\n\
         output \"blue_id\" {\n  value = module.blue.id\n}\n",
    );
    write_if_changed(
        &dir.join("modules/app/variables.tf"),
        "variable \"name\" {}\nvariable \"token\" {\n  sensitive = true\n}\n\
         locals {\n  prefix = \"app-${var.name}\"\n}\noutput \"id\" {\n  value = aws_instance.web.id\n}\n",
    );
    write_if_changed(
        &dir.join("modules/app/main.tf"),
        &format!(
            "data \"aws_ami\" \"base\" {{\n  owners = [\"{owner}\"]\n  most_recent = true\n}}\n\n\
             resource \"aws_instance\" \"web\" {{\n  ami = data.aws_ami.base.id\n  instance_type = \"t3.{size}\"\n  \
             tags = {{ Name = \"${{local.prefix}}-web-{n}\", Tier = \"web\" }}\n  user_data = var.token\n}}\n\n\
             resource \"aws_db_instance\" \"db\" {{\n  identifier = \"${{local.prefix}}-db\"\n  \
             allocated_storage = {storage}\n  password = \"pw-{pw}\"\n}}\n{extra}",
            owner = vals[0],
            size = ["micro", "small", "medium", "large"][vals[1] % 4],
            n = vals[2],
            storage = 20 + vals[3],
            pw = vals[4],
        ),
    );
    write_if_changed(
        &dir.join("modules/app/boot.tf"),
        &format!(
            "resource \"aws_s3_object\" \"boot\" {{\n  key = \"boot-{k}\"\n  content = file(\"${{path.module}}/boot.sh\")\n}}\n",
            k = vals[5]
        ),
    );
    write_if_changed(&dir.join("modules/app/boot.sh"), "#!/bin/sh\necho boot\n");
}

/// The state of the tree of [`write_values_tree`] after an apply of
/// serial `serial` (the web servers' address moves with it).
fn write_values_state(dir: &Path, serial: u64) {
    let resources: Vec<serde_json::Value> = ["blue", "green"]
        .iter()
        .flat_map(|m| {
            [
                serde_json::json!({
                    "module": format!("module.{m}"), "mode": "managed", "type": "aws_instance", "name": "web",
                    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                    "instances": [{"schema_version": 1, "attributes": {"id": format!("i-{m}"),
                        "private_ip": format!("10.0.{serial}.{}", m.len()), "user_data": "t0k3n"},
                        "sensitive_attributes": [[{"type": "get_attr", "value": "user_data"}]]}],
                }),
                serde_json::json!({
                    "module": format!("module.{m}"), "mode": "managed", "type": "aws_db_instance", "name": "db",
                    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                    "instances": [{"schema_version": 2, "attributes": {"id": format!("db-{m}"), "password": "pw"},
                        "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]]}],
                }),
            ]
        })
        .collect();
    let state = serde_json::json!({
        "version": 4, "terraform_version": "1.11.4", "serial": serial,
        "lineage": "0b6c1f43-0000-4000-8000-000000000002", "outputs": {}, "resources": resources,
    });
    std::fs::write(
        dir.join("terraform.tfstate"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
}

#[test]
fn snapshots_that_only_change_values_are_incremental_and_equal_cold_ones() {
    let t = TempDir::new("values-only");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut vals = [1, 0, 1, 0, 1, 1];
    write_values_tree(&dir, &vals, "");
    let first = snapshot(&store, &dir, &opts()).unwrap();
    assert!(!first.incremental, "a first snapshot reads everything");
    let main = dir.join("modules/app/main.tf");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&main).unwrap();
        assert!(text.contains(from), "{from:?} in {text}");
        std::fs::write(&main, text.replacen(from, to, 1)).unwrap();
    };
    // (what, whether the snapshot can be incremental, the edit)
    type Change = Box<dyn Fn(&mut [usize; 6])>;
    let rounds: Vec<(&str, bool, Change)> = vec![
        ("a literal", true, Box::new(|v| v[1] += 1)),
        (
            "a template around a reference",
            true,
            Box::new(|v| v[2] += 1),
        ),
        ("a data source's list", true, Box::new(|v| v[0] += 1)),
        (
            "a number and a secret-named value",
            true,
            Box::new(|v| {
                v[3] += 1;
                v[4] += 1
            }),
        ),
        (
            "two blocks at once",
            true,
            Box::new(|v| {
                v[1] += 1;
                v[3] += 1
            }),
        ),
        (
            "a block calling a file function",
            false,
            Box::new(|v| v[5] += 1),
        ),
        ("nothing (the same text)", true, Box::new(|_| {})),
    ];
    let mut round = 0;
    let check = |what: &str, incremental: bool, round: usize| {
        let o = snapshot(&store, &dir, &opts()).unwrap();
        let cold_store = Store::init(t.0.join(format!("cold-{round}")).to_str().unwrap()).unwrap();
        let c = snapshot(&cold_store, &dir, &opts()).unwrap();
        assert_eq!(
            (o.record.tree, o.record.model),
            (c.record.tree, c.record.model),
            "{what}: the snapshot differs from a cold one"
        );
        assert_eq!(o.diagnostics, c.diagnostics, "{what}: the warnings");
        assert_eq!(o.incremental, incremental, "{what}: incremental or not");
        assert_eq!(
            (o.record.resources, o.record.files),
            (c.record.resources, c.record.files),
            "{what}"
        );
    };
    for (what, incremental, change) in &rounds {
        round += 1;
        change(&mut vals);
        write_values_tree(&dir, &vals, "");
        if *what == "nothing (the same text)" {
            // rewritten with its own text, a new file in its place: the
            // stats change, the content does not
            let text = std::fs::read(&main).unwrap();
            std::fs::remove_file(&main).unwrap();
            std::fs::write(&main, text).unwrap();
        }
        check(what, *incremental, round);
    }
    // blocks moved down a few lines (a comment above them): the nodes are
    // the same, their places in the model are not
    round += 1;
    edit("data \"aws_ami\"", "# the base image\n\ndata \"aws_ami\"");
    check("lines moved", true, round);
    // blocks added and removed, and changes that must be loaded whole:
    // (what, incremental or not, the text replaced, its replacement)
    let edits: Vec<(&str, bool, &str, &str)> = vec![
        (
            "a secret-named attribute added",
            false,
            "  allocated_storage",
            "  api_key = \"k\"\n  allocated_storage",
        ),
        (
            "a secret read moved",
            false,
            "  user_data = var.token\n",
            "  tags_all = { t = var.token }\n",
        ),
        // (in both module instances; the rank file was carried over by
        // the incremental snapshots before)
        ("a reference added", true, "Tier = \"web\"", "Tier = local.prefix"),
        (
            "a reference to a block written after it (ranked anew below it)",
            true,
            "Tier = local.prefix",
            "Tier = aws_db_instance.db.identifier",
        ),
        (
            "a reference dropped",
            true,
            "Tier = aws_db_instance.db.identifier",
            "Tier = \"web\"",
        ),
        (
            "a resource added",
            true,
            "\nresource \"aws_db_instance\"",
            "\nresource \"aws_eip\" \"ip\" {\n  tags = { n = local.prefix }\n  depends_on = [aws_db_instance.db]\n}\nresource \"aws_db_instance\"",
        ),
        (
            "a resource removed",
            true,
            "\nresource \"aws_eip\" \"ip\" {\n  tags = { n = local.prefix }\n  depends_on = [aws_db_instance.db]\n}",
            "",
        ),
        (
            "a resource added that reads a secret",
            true,
            "\nresource \"aws_db_instance\"",
            "\nresource \"aws_ssm_parameter\" \"t\" {\n  value = var.token\n}\nresource \"aws_db_instance\"",
        ),
        (
            "a resource added that reads an added one",
            false,
            "\nresource \"aws_db_instance\"",
            "\nresource \"aws_eip\" \"a\" {}\nresource \"aws_eip\" \"b\" {\n  tags = { a = aws_eip.a.id }\n}\nresource \"aws_db_instance\"",
        ),
        (
            "the resources added removed, one read by another",
            false,
            "\nresource \"aws_eip\" \"a\" {}",
            "",
        ),
        (
            "a resource of a provider nothing else uses",
            false,
            "\nresource \"aws_db_instance\"",
            "\nresource \"google_compute_address\" \"g\" {}\nresource \"aws_db_instance\"",
        ),
        (
            "a file function called",
            false,
            "  allocated_storage",
            "  description = file(\"${path.module}/boot.sh\")\n  allocated_storage",
        ),
        (
            "a lifecycle rule added",
            false,
            "  identifier =",
            "  lifecycle {\n    prevent_destroy = true\n  }\n  identifier =",
        ),
        (
            "a data source another block reads removed",
            false,
            "data \"aws_ami\" \"base\" {\n  owners = [\"2\"]\n  most_recent = true\n}\n",
            "",
        ),
    ];
    for (what, incremental, from, to) in edits {
        round += 1;
        edit(from, to);
        check(what, incremental, round);
        if what == "the resources added removed, one read by another" {
            // the reference left is a warning: the model records it, so
            // the next snapshot (which would not) is loaded whole
            round += 1;
            edit(
                "\nresource \"aws_eip\" \"b\" {\n  tags = { a = aws_eip.a.id }\n}",
                "",
            );
            check("the reader removed too", false, round);
        }
        if what.starts_with("a data source") {
            // (its reader's warning stays: what follows is loaded whole)
            break;
        }
        // and a value-only edit right after is incremental again
        round += 1;
        edit("t3.", "t3a.");
        check(&format!("a value after {what}"), true, round);
        edit("t3a.", "t3.");
        round += 1;
        check(&format!("a value back after {what}"), true, round);
    }
    // a variable's default: not a resource or data block
    round += 1;
    let vars = dir.join("modules/app/variables.tf");
    let text = std::fs::read_to_string(&vars).unwrap();
    std::fs::write(&vars, text.replace("app-${var.name}", "svc-${var.name}")).unwrap();
    check("a local's value", false, round);
    // a file that is not configuration
    round += 1;
    std::fs::write(dir.join("modules/app/boot.sh"), "#!/bin/sh\necho boot 2\n").unwrap();
    check("a file read by a function", false, round);
    // the directory named another way: the warning of a release without a
    // state names it, so the model is not the last one's
    edit("t3.", "t3a.");
    let other = dir.join("modules/..");
    let o = snapshot(&store, &other, &opts()).unwrap();
    let cold_store = Store::init(t.0.join("cold-other").to_str().unwrap()).unwrap();
    let c = snapshot(&cold_store, &other, &opts()).unwrap();
    assert_eq!(
        (o.record.tree, o.record.model),
        (c.record.tree, c.record.model)
    );
    assert!(
        !o.incremental,
        "the directory named another way is loaded whole"
    );
    assert!(store.verify().unwrap().ok());
}

/// A block whose references change is taken incrementally when its new
/// edges go down in the ranks kept from the last whole load; a reference
/// that could close a cycle is loaded whole, and one that does is refused
/// as a whole load refuses it. Without the ranks, the whole load again.
#[test]
fn relinked_blocks_are_incremental_unless_a_cycle_could_close() {
    let t = TempDir::new("relinked");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    write_values_tree(&dir, &[1, 0, 1, 0, 1, 1], "");
    snapshot(&store, &dir, &opts()).unwrap();
    let main = dir.join("modules/app/main.tf");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&main).unwrap();
        assert!(text.contains(from), "{from:?} in {text}");
        std::fs::write(&main, text.replacen(from, to, 1)).unwrap();
    };
    let mut round = 0;
    let mut check = |what: &str, incremental: bool| {
        round += 1;
        like_cold(&store, &t, &dir, round, what, incremental)
    };
    let ranks = || -> Vec<PathBuf> {
        std::fs::read_dir(t.0.join("store/cache/dirs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".rank-"))
            .collect()
    };
    assert_eq!(ranks().len(), 1, "a whole load keeps one rank file");
    // the database reads the web server (written before it): the edge
    // goes down, in both module instances
    edit("\"${local.prefix}-db\"", "\"${aws_instance.web.id}-db\"");
    let o = check("a reference to a block written before", true);
    let (model, _) = store
        .load_model(&o.record.model, rewind_odb::Load::ConfigOnly)
        .unwrap();
    for m in ["blue", "green"] {
        let db = model
            .node(&format!("module.{m}.aws_db_instance.db"))
            .unwrap();
        let to: Vec<&str> = db.edges.iter().map(|e| e.to.as_str()).collect();
        assert!(
            to.contains(&format!("module.{m}.aws_instance.web").as_str()),
            "{to:?}"
        );
        assert!(
            !to.contains(&format!("module.{m}.local.prefix").as_str()),
            "{to:?}"
        );
    }
    assert_eq!(
        ranks().len(),
        1,
        "the ranks carried over, the old ones gone"
    );
    // the web server reads the database back: a cycle, refused as a whole
    // load refuses it, nothing stored
    edit("Tier = \"web\"", "Tier = aws_db_instance.db.identifier");
    let head = store.resolve("prod").unwrap();
    let Err(e) = snapshot(&store, &dir, &opts()) else {
        panic!("a cycle is refused");
    };
    assert!(format!("{e:?}").contains("dependency cycle"), "{e:?}");
    assert_eq!(store.resolve("prod").unwrap(), head);
    edit("Tier = aws_db_instance.db.identifier", "Tier = \"web\"");
    check("the cycle undone", true);
    // without the ranks a relinked block is loaded whole, which keeps
    // them again
    for r in ranks() {
        std::fs::remove_file(r).unwrap();
    }
    edit("\"${aws_instance.web.id}-db\"", "\"${local.prefix}-db\"");
    check("a reference changed without ranks", false);
    assert_eq!(ranks().len(), 1);
    edit("\"${local.prefix}-db\"", "\"${aws_instance.web.id}-db\"");
    check("a reference changed with them", true);
    // a block added (ranked above what it reads, the ranks written anew
    // with it), then relinked to read one ranked below
    edit(
        "\nresource \"aws_db_instance\"",
        "\nresource \"aws_eip\" \"ip\" {\n  tags = { w = aws_instance.web.id }\n}\nresource \"aws_db_instance\"",
    );
    check("a block added", true);
    let file = ranks();
    assert_eq!(file.len(), 1);
    let bytes = std::fs::read(&file[0]).unwrap();
    assert!(
        bytes
            .windows(b"module.green.aws_eip.ip".len())
            .any(|w| w == b"module.green.aws_eip.ip"),
        "the added block is ranked"
    );
    edit(
        "tags = { w = aws_instance.web.id }",
        "tags = { w = aws_instance.web.id, a = data.aws_ami.base.id }",
    );
    check("the added block relinked", true);
    // a reference that moves where a secret is read: loaded whole; one
    // added where it was read already: incremental
    edit(
        "  user_data = var.token\n",
        "  tags_all = { t = var.token }\n",
    );
    check("a secret read moved", false);
    edit(
        "  tags_all = { t = var.token }\n",
        "  tags_all = { t = \"${var.token}-${local.prefix}\" }\n",
    );
    check("a reference beside a secret read", true);
    assert!(store.verify().unwrap().ok());
}

/// References to blocks written after the reader: what they reach above
/// it is ranked anew below it, and the next snapshot checks against the
/// mended order (here: finds the cycle a third reference closes).
#[test]
fn relinked_blocks_reach_forward_when_the_order_can_be_mended() {
    let t = TempDir::new("relinked-forward");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    std::fs::create_dir_all(&dir).unwrap();
    let main = dir.join("main.tf");
    let block = |name: &str, reads: &str| {
        format!("resource \"aws_sqs_queue\" \"{name}\" {{\n  name = \"q-{name}\"\n  tags = {{ r = {reads} }}\n}}\n")
    };
    let write = |a: &str, b: &str, c: &str| {
        std::fs::write(&main, block("a", a) + &block("b", b) + &block("c", c)).unwrap();
    };
    write("\"x\"", "\"x\"", "\"x\"");
    snapshot(&store, &dir, &opts()).unwrap();
    let mut round = 0;
    let mut check = |what: &str, incremental: bool| {
        round += 1;
        like_cold(&store, &t, &dir, round, what, incremental);
    };
    write("aws_sqs_queue.c.arn", "\"x\"", "\"x\"");
    check("a reads c, written after it", true);
    write("aws_sqs_queue.c.arn", "aws_sqs_queue.a.arn", "\"x\"");
    check("b reads a", true);
    // c reads b: c → b → a → c
    write(
        "aws_sqs_queue.c.arn",
        "aws_sqs_queue.a.arn",
        "aws_sqs_queue.b.arn",
    );
    let Err(e) = snapshot(&store, &dir, &opts()) else {
        panic!("a cycle is refused");
    };
    assert!(format!("{e:?}").contains("dependency cycle"), "{e:?}");
    // c reads nothing again; then a reads b instead of c, which now
    // reads a: b → a → b
    write("aws_sqs_queue.c.arn", "aws_sqs_queue.a.arn", "\"x\"");
    check("back to the last snapshot's files", true);
    write("aws_sqs_queue.b.arn", "aws_sqs_queue.a.arn", "\"x\"");
    let Err(e) = snapshot(&store, &dir, &opts()) else {
        panic!("a cycle is refused");
    };
    assert!(format!("{e:?}").contains("dependency cycle"), "{e:?}");
    write("aws_sqs_queue.b.arn", "\"x\"", "\"x\"");
    check("a reads b, b nothing", true);
    assert!(store.verify().unwrap().ok());
}

#[test]
fn a_state_beside_the_configuration_is_kept_by_an_incremental_snapshot() {
    let t = TempDir::new("values-state");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_0000_1111_0003);
    let mut res = initial(&mut rng, 30);
    write_tree(&dir, &res, 1);
    snapshot(&store, &dir, &opts()).unwrap();
    // the configuration alone changes (the state is the same file): the
    // tags' values of a few resources, secret ones among them
    let file = |r: &Res| dir.join(format!("modules/m{}/r{:02}.tf", r.module, r.file));
    let mut round = 0;
    for i in [0, 7, 13, 21] {
        round += 1;
        let r = res[i].clone();
        let text = std::fs::read_to_string(file(&r)).unwrap();
        let from = format!("Size = {} }}", r.size);
        let to = format!("Size = {} }}", r.size + 1000);
        assert!(text.contains(&from));
        std::fs::write(file(&r), text.replacen(&from, &to, 1)).unwrap();
        res[i].size += 1000;
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert!(o.incremental, "round {round}: only values changed");
        assert_eq!((o.record.tree, o.record.model), cold(&t, &dir, 200 + round));
        assert_eq!(
            o.state.as_ref().map(|s| s.serial),
            Some(1),
            "the state is kept"
        );
        assert_eq!(o.record.instances, res.len() as u64);
    }
    // then an apply rewrites the state (the changed resources' tags):
    // only those resources are taken from it anew
    write_tree(&dir, &res, 2);
    let o = snapshot(&store, &dir, &opts()).unwrap();
    assert!(o.incremental, "an apply that changed a few resources");
    assert_eq!((o.record.tree, o.record.model), cold(&t, &dir, 299));
    assert_eq!(o.state.as_ref().map(|s| s.serial), Some(2));
    assert!(store.verify().unwrap().ok());
}

/// Rewrites the state file of `dir` with `f` applied to its JSON.
fn rewrite_state(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("terraform.tfstate");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut state);
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

/// A state that changes with the configuration, as applies change it:
/// each snapshot equals a cold one, and those whose change keeps what the
/// state marks secret for each type (and what the kept instances take
/// from their configuration) are incremental; the others are loaded
/// whole, as is a state the cache has no index of.
#[test]
fn snapshots_beside_a_changing_state_are_incremental_and_equal_cold_ones() {
    let t = TempDir::new("incremental-state");
    let store_path = t.0.join("store");
    let store = Store::init(store_path.to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_0000_7777_0005);
    let mut res = initial(&mut rng, 40);
    // two resources with a secret, so that one more or less changes
    // nothing the state marks for the type
    res[0].secret = true;
    res[1].secret = true;
    let mut serial = 1;
    write_tree(&dir, &res, serial);
    snapshot(&store, &dir, &opts()).unwrap();
    let mut round = 0;
    let mut check = |what: &str, incremental: bool, serial: u64| {
        round += 1;
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert_eq!(o.incremental, incremental, "{what}");
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, 600 + round),
            "{what}: the snapshot differs from a cold one"
        );
        assert_eq!(o.state.as_ref().map(|s| s.serial), Some(serial), "{what}");
        o
    };
    // an apply of values changed in a few resources
    for i in [3, 9, 17] {
        res[i].size += 7;
    }
    serial += 1;
    write_tree(&dir, &res, serial);
    check("values applied", true, serial);
    // a value changed in one block of a file, and the state of another
    // block of the same file drifted: its instance takes the secret paths
    // of its configuration (an unchanged node of a changed file), which
    // has those the state marks for its type (`user_data`), unlike the
    // instance's own state
    let (a, b) = (0..res.len())
        .flat_map(|a| (0..res.len()).map(move |b| (a, b)))
        .find(|&(a, b)| {
            a != b
                && !res[a].secret
                && !res[b].secret
                && (res[a].module, res[a].file) == (res[b].module, res[b].file)
        })
        .expect("two blocks in a file");
    res[a].size += 1;
    serial += 1;
    write_tree(&dir, &res, serial);
    let name = res[b].name.clone();
    rewrite_state(&dir, |s| {
        let r = s["resources"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|r| r["name"] == name.as_str())
            .unwrap();
        r["instances"][0]["attributes"]["id"] = serde_json::json!("i-drifted-too");
    });
    check("a value, and the drift of a block beside it", true, serial);
    // the state alone: drift one attribute, and an output appears
    rewrite_state(&dir, |s| {
        s["serial"] = serde_json::json!(serial + 1);
        s["resources"][5]["instances"][0]["attributes"]["id"] = serde_json::json!("i-drifted");
        s["outputs"] = serde_json::json!({"ip": {"value": "10.0.0.1", "type": "string"},
            "token": {"value": "t0k3n", "type": "string", "sensitive": true}});
    });
    serial += 1;
    check("drift and outputs", true, serial);
    // a resource removed (the last of its module: no other reads it) and
    // one of another type added, configuration and state
    let last = res.iter().rposition(|r| r.module == 1).unwrap();
    res.remove(last);
    serial += 1;
    write_tree(&dir, &res, serial);
    let file = dir.join(format!(
        "modules/m1/r{:02}.tf",
        res.iter().find(|r| r.module == 1).unwrap().file
    ));
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs-${var.ami}\"\n}\n");
    std::fs::write(&file, text).unwrap();
    rewrite_state(&dir, |s| {
        s["resources"].as_array_mut().unwrap().push(serde_json::json!({
            "module": "module.m1", "mode": "managed", "type": "aws_s3_bucket", "name": "logs",
            "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
            "instances": [{"schema_version": 0, "attributes": {"id": "logs-ami-1", "bucket": "logs-ami-1"},
                "sensitive_attributes": [], "dependencies": []}],
        }));
    });
    let o = check("a resource added and one removed", true, serial);
    assert_eq!(o.record.instances, res.len() as u64 + 1);
    assert_eq!(o.record.resources, res.len() as u64 + 1);
    // a secret more in the state: aws_instance already has it
    rewrite_state(&dir, |s| {
        s["serial"] = serde_json::json!(serial + 1);
        let i = &mut s["resources"][4]["instances"][0];
        i["attributes"]["user_data"] = serde_json::json!("s3cr3t");
        i["sensitive_attributes"] =
            serde_json::json!([[{"type": "get_attr", "value": "user_data"}]]);
    });
    serial += 1;
    check("one more secret of a type that has it", true, serial);
    // the type's secrets change: every resource of it changes
    rewrite_state(&dir, |s| {
        s["serial"] = serde_json::json!(serial + 1);
        s["resources"][2]["instances"][0]["sensitive_attributes"] =
            serde_json::json!([[{"type": "get_attr", "value": "tags"}]]);
    });
    serial += 1;
    check("a new secret path for the type", false, serial);
    // a resource twice in the state: an error, as from a whole load
    let text = std::fs::read_to_string(dir.join("terraform.tfstate")).unwrap();
    rewrite_state(&dir, |s| {
        let r = s["resources"][3].clone();
        s["resources"].as_array_mut().unwrap().push(r);
    });
    let e = format!("{:?}", snapshot(&store, &dir, &opts()).unwrap_err());
    assert!(e.contains("appears twice"), "{e}");
    std::fs::write(dir.join("terraform.tfstate"), text).unwrap();
    check("the state as it was", true, serial);
    // without the cache's index of the state, loaded whole
    for e in std::fs::read_dir(store_path.join("cache/dirs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "sidx") {
            std::fs::write(&p, b"RWSIDX01 damaged").unwrap();
        }
    }
    res[6].size += 1;
    serial += 1;
    write_tree(&dir, &res, serial);
    check("a damaged state index", false, serial);
    res[6].size += 1;
    serial += 1;
    write_tree(&dir, &res, serial);
    check("the index written again", true, serial);
    assert!(store.verify().unwrap().ok());
}

/// In an encrypted store (keyed ids, sealed caches) an incremental
/// snapshot stores what the whole load of the same directory stores in
/// that store (a cold store would have another key, so other ids): the
/// second snapshot of each change is made with the local cache removed.
/// The state changes with each (an apply), and its index in the cache is
/// sealed.
#[test]
fn an_incremental_snapshot_in_an_encrypted_store_equals_a_whole_load() {
    let t = TempDir::new("values-sealed");
    let store_path = t.0.join("store");
    let store = Store::init_with(
        store_path.to_str().unwrap(),
        &rewind_odb::InitOptions {
            encrypt: Some(rewind_odb::UserKey::Secret {
                secret: b"the incremental passphrase".to_vec(),
                origin: "the test".into(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let dir = t.0.join("tree");
    let mut vals = [3, 1, 4, 1, 5, 9];
    write_values_tree(&dir, &vals, "");
    write_values_state(&dir, 1);
    snapshot(&store, &dir, &opts()).unwrap();
    for round in 0..3 {
        vals[round % 5] += 1;
        vals[4] += 1;
        write_values_tree(&dir, &vals, "");
        // and an apply: the state changes too
        write_values_state(&dir, 2 + round as u64);
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert!(o.incremental, "round {round}: values and the state");
        // the index of the state is sealed with the rest of the cache
        let index = std::fs::read_dir(store_path.join("cache/dirs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "sidx"))
            .expect("the state's index");
        let bytes = std::fs::read(&index).unwrap();
        assert!(bytes.starts_with(b"RWSEAL01"), "round {round}");
        assert!(
            !bytes.windows(11).any(|w| w == b"module.blue"),
            "round {round}: an address in the clear"
        );
        std::fs::remove_dir_all(store_path.join("cache/dirs")).unwrap();
        let whole = snapshot(&store, &dir, &opts()).unwrap();
        assert!(
            !whole.incremental && !whole.unchanged,
            "round {round}: loaded whole"
        );
        assert_eq!(
            (o.record.tree, o.record.model),
            (whole.record.tree, whole.record.model),
            "round {round}"
        );
    }
    assert!(store.verify().unwrap().ok());
}

/// The random changes of the tree above without its state: values
/// edited, resources deleted, moved to other files and added; every
/// snapshot equals a cold one, and those the incremental path can take
/// are taken by it.
#[test]
fn snapshots_without_a_state_equal_cold_ones_through_random_changes() {
    let t = TempDir::new("incremental-stateless");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let mut rng = Rng(0x5eed_0000_9999_0004);
    let mut res = initial(&mut rng, 60);
    let write = |res: &[Res]| {
        write_tree(&dir, res, 1);
        let _ = std::fs::remove_file(dir.join("terraform.tfstate"));
    };
    write(&res);
    snapshot(&store, &dir, &opts()).unwrap();
    let mut next_name = res.len();
    let mut incremental = 0;
    for round in 1..=24 {
        match round % 4 {
            0 | 1 => {
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(res.len());
                    res[i].size += 1 + rng.below(3);
                }
            }
            2 => {
                let i = rng.below(res.len());
                res.remove(i);
            }
            _ => {
                res.push(Res {
                    module: rng.below(MODULES),
                    file: rng.below(4),
                    name: format!("r{next_name}"),
                    size: rng.below(100),
                    secret: false,
                    reads: Vec::new(),
                });
                next_name += 1;
            }
        }
        write(&res);
        let o = snapshot(&store, &dir, &opts()).unwrap();
        incremental += usize::from(o.incremental);
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, 400 + round),
            "round {round}: the snapshot differs from a cold one"
        );
        assert_eq!(o.record.resources, res.len() as u64, "round {round}");
    }
    assert!(
        incremental >= 6,
        "{incremental} of 24 snapshots were incremental"
    );
    assert!(store.verify().unwrap().ok());
}

/// A `moved` block in the root names a resource of a module by address: a
/// block added or removed in that module is loaded whole (what the moved
/// block names could change), a value changed is still incremental.
#[test]
fn a_moved_block_anywhere_keeps_blocks_added_or_removed_from_being_incremental() {
    let t = TempDir::new("values-moved");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    let vals = [1, 1, 1, 1, 1, 1];
    write_values_tree(&dir, &vals, "");
    let main = dir.join("main.tf");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str(
        "moved {\n  from = module.blue.aws_eip.old\n  to   = module.blue.aws_eip.ip\n}\n",
    );
    std::fs::write(&main, text).unwrap();
    snapshot(&store, &dir, &opts()).unwrap();
    let app = dir.join("modules/app/main.tf");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&app).unwrap();
        assert!(text.contains(from), "{from:?} in {text}");
        std::fs::write(&app, text.replacen(from, to, 1)).unwrap();
    };
    let rounds: [(&str, bool, &str, &str); 3] = [
        ("a value", true, "t3.", "t3a."),
        (
            "the resource the moved block names added",
            false,
            "\nresource \"aws_db_instance\"",
            "\nresource \"aws_eip\" \"ip\" {}\nresource \"aws_db_instance\"",
        ),
        ("it removed", false, "\nresource \"aws_eip\" \"ip\" {}", ""),
    ];
    for (round, (what, incremental, from, to)) in rounds.into_iter().enumerate() {
        edit(from, to);
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert_eq!(o.incremental, incremental, "{what}");
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, 500 + round),
            "{what}"
        );
    }
}

/// The values of local values, outputs and variables change in place as
/// resources' do: incremental, and equal to a cold snapshot; one that
/// reads something else falls back.
#[test]
fn values_of_locals_outputs_and_variables_are_incremental_and_equal_cold_ones() {
    let t = TempDir::new("values-locals");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dir = t.0.join("tree");
    write_values_tree(&dir, &[1, 1, 1, 1, 1, 1], "");
    write_values_state(&dir, 1);
    snapshot(&store, &dir, &opts()).unwrap();
    let vars = dir.join("modules/app/variables.tf");
    let main = dir.join("main.tf");
    let rounds: [(&str, &Path, bool, &str, &str); 6] = [
        (
            "a local's literal",
            &vars,
            true,
            "\"app-${var.name}\"",
            "\"svc-${var.name}\"",
        ),
        (
            "an output's template around its reference",
            &vars,
            true,
            "value = aws_instance.web.id",
            "value = \"${aws_instance.web.id}-web\"",
        ),
        (
            "a variable's default",
            &vars,
            true,
            "variable \"name\" {}",
            "variable \"name\" {\n  default = \"x\"\n}",
        ),
        (
            "a sensitive variable's default",
            &main,
            true,
            "default = \"t0k3n\"",
            "default = \"t0k3n-2\"",
        ),
        (
            "a root output reading something else",
            &main,
            false,
            "value = module.blue.id",
            "value = module.green.id",
        ),
        (
            "a local reading a secret",
            &vars,
            false,
            "\"svc-${var.name}\"",
            "\"svc-${var.name}-${var.token}\"",
        ),
    ];
    for (round, (what, file, incremental, from, to)) in rounds.into_iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(text.contains(from), "{what}: {from:?} in {text}");
        std::fs::write(file, text.replacen(from, to, 1)).unwrap();
        let o = snapshot(&store, &dir, &opts()).unwrap();
        assert_eq!(o.incremental, incremental, "{what}");
        assert_eq!(
            (o.record.tree, o.record.model),
            cold(&t, &dir, 700 + round),
            "{what}"
        );
    }
    assert!(store.verify().unwrap().ok());
}
