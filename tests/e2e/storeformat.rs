//! The store format re-implemented from docs/store-format.md alone:
//! `scripts/store-format-check.py` (Python 3, standard library only) reads
//! a real store the way the document says, and must agree with rewind.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/store-format-check.py")
}

fn doc() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/store-format.md")
}

/// Runs the checker with python3: a missing python3 fails the test (it is
/// on every Debian machine; .ci/run has it), it never skips.
fn check(args: &[&str]) -> Run {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3 is needed to run {}: {e}", script().display()));
    Run::from(out)
}

/// A root module using a local module above it and reading a file through
/// a symbolic link: the tree root is a parent of the snapshotted
/// directory, and one tree holds a link (tree version 2).
fn write_linked_infra(t: &Scratch) -> PathBuf {
    let infra = t.path("infra");
    let prod = infra.join("envs/prod");
    std::fs::create_dir_all(prod.join("tpl")).unwrap();
    std::fs::create_dir_all(infra.join("modules/net")).unwrap();
    std::fs::write(
        infra.join("modules/net/main.tf"),
        "variable \"cidr\" {}\nresource \"terraform_data\" \"net\" { input = var.cidr }\n",
    )
    .unwrap();
    std::fs::write(
        prod.join("main.tf"),
        "module \"net\" {\n  source = \"../../modules/net\"\n  cidr   = \"10.0.0.0/16\"\n}\n\
         locals { motd = file(\"${path.module}/tpl/motd.txt\") }\n\
         output \"motd\" { value = local.motd }\n",
    )
    .unwrap();
    std::fs::write(prod.join("tpl/real.txt"), "hello from the tree\n").unwrap();
    std::os::unix::fs::symlink("real.txt", prod.join("tpl/motd.txt")).unwrap();
    prod
}

#[test]
fn a_reader_written_from_the_document_reads_a_real_store() {
    let t = Scratch::new("storeformat");
    t.run(&["init"]).ok();
    t.snapshot_releases(5);
    t.run(&["mark-good", "v3", "-m", "checks passed"]).ok();
    let prod = write_linked_infra(&t);
    t.run(&["snapshot", s(&prod), "--env", "linked"]).ok();
    t.run(&["gc", "--grace", "0s"]).ok();

    let run = check(&[s(&t.path(".rewind")), "--json"]).ok();
    let got = run.json();
    let verify = t.run(&["verify", "--format", "json"]).ok().json();
    assert_eq!(got["objects"], verify["objects"], "{}", run.stdout);
    assert_eq!(got["packs"], verify["packs"], "{}", run.stdout);
    assert_eq!(got["store"]["version"], 6);
    // gc wrote the combined pack index of the local cache (§18.1): read
    // from the document, it covers every pack and lists every object
    assert_eq!(got["midx"]["ignored"], false, "{}", run.stdout);
    assert_eq!(got["midx"]["packs"], verify["packs"], "{}", run.stdout);
    assert_eq!(got["midx"]["objects"], verify["objects"], "{}", run.stdout);
    for ty in ["blob", "tree", "model", "group", "node"] {
        assert!(
            got["by_type"][ty].as_u64().unwrap() > 0,
            "no {ty}: {}",
            run.stdout
        );
    }

    let log = t.run(&["log", "--format", "json"]).ok().json();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 6);
    let snaps = got["snapshots"].as_object().unwrap();
    assert_eq!(snaps.len(), 6, "{}", run.stdout);
    for entry in log {
        let id = entry["id"].as_str().unwrap();
        let snap = &snaps[id];
        for field in [
            "tree",
            "model",
            "files",
            "resources",
            "instances",
            "env",
            "parent",
        ] {
            assert_eq!(snap[field], entry[field], "{id} {field}");
        }
        for tag in entry["tags"].as_array().unwrap() {
            assert_eq!(got["tags"][tag.as_str().unwrap()], id);
        }
    }
    assert_eq!(got["envs"]["prod"]["good"], got["tags"]["v3"]);
    assert_eq!(got["envs"]["prod"]["latest"], got["tags"]["v5"]);

    // the linked snapshot: the state-less model of a root module two
    // directories below the tree root; the link is stored as a link
    // (a version 2 tree) and counted as a file
    let linked = &snaps[got["envs"]["linked"]["latest"].as_str().unwrap()];
    assert_eq!(linked["files"], 4, "{linked}");
    assert_eq!(linked["links"], 1, "{linked}");
    assert_eq!(linked["resources"], 1, "{linked}");
    assert_eq!(linked["state"], serde_json::Value::Null);
}

/// A ref log longer than the refs document keeps inline (256 entries)
/// moves, oldest first, into log chunks: the reader written from the
/// document finds every entry, the chunks included, and gc keeps them.
#[test]
fn the_reader_from_the_document_reads_a_ref_log_moved_into_chunks() {
    let t = Scratch::new("storeformat-reflog");
    t.run(&["init"]).ok();
    t.snapshot_releases(1);
    // a snapshot logs two changes (the environment's latest and the tag)
    for i in 0..300 {
        t.run(&["tag", &format!("build-{i}"), "v1"]).ok();
    }
    t.run(&["gc", "--grace", "0s"]).ok();
    let got = check(&[s(&t.path(".rewind")), "--json"]).ok().json();
    assert_eq!(got["log_entries"], 302, "{got}");
    assert!(got["log_chunks"].as_u64().unwrap() >= 1, "{got}");
    assert_eq!(got["by_type"]["logchunk"], got["log_chunks"], "{got}");
    let refs = std::fs::read_to_string(t.path(".rewind/refs")).unwrap();
    assert!(
        refs.len() < 100_000,
        "the refs document is {} bytes",
        refs.len()
    );
    assert_eq!(got["tags"]["build-299"], got["tags"]["v1"]);
}

#[test]
fn the_reader_from_the_document_refuses_a_damaged_pack() {
    let t = Scratch::new("storeformat-damaged");
    t.run(&["init"]).ok();
    t.snapshot_releases(1);
    check(&[s(&t.path(".rewind"))]).ok();

    let packs = t.path(".rewind/packs");
    let pack = std::fs::read_dir(&packs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&pack, bytes).unwrap();

    let run = check(&[s(&t.path(".rewind"))]);
    assert_eq!(
        run.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let name = pack.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stderr.contains(name) && run.stderr.contains("trailer"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_worked_examples_decode_with_the_reader_from_the_document() {
    let run = check(&["--examples", s(&doc())]).ok();
    assert!(run
        .stdout
        .contains("tree, pack, index, node and refs check"));
}
