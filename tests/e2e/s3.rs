//! The S3 backend end to end, against a real S3-protocol server on
//! loopback, configured through the standard environment variables only.

use std::process::Command;
use std::sync::atomic::Ordering;

use crate::common::*;
use crate::s3server::S3Server;

/// `rewind` with the store in a bucket of `server`.
pub(crate) fn s3(t: &Scratch, server: &S3Server, store: &str, args: &[&str]) -> Command {
    let mut c = t.cmd(args);
    for k in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL_S3",
    ] {
        c.env_remove(k);
    }
    for (k, v) in server.env() {
        c.env(k, v);
    }
    c.env("REWIND_STORE", store);
    c
}

fn run(mut c: Command) -> Run {
    let o = c.output().expect("run rewind");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn every_command_works_on_s3() {
    let server = S3Server::start("flow", &["infra-state"]);
    let t = Scratch::new("s3flow");
    let store = "s3://infra-state/rewind/prod";
    let rw = |args: &[&str]| run(s3(&t, &server, store, args));
    rw(&["init"]).ok();
    let again = rw(&["init"]).ok();
    assert!(
        again.stderr.contains("already exists"),
        "a second init leaves the store as it is: {}",
        again.stderr
    );
    for v in 1..=3 {
        let (tag, msg) = (format!("v{v}"), format!("release {v}"));
        rw(&[
            "snapshot",
            s(&shop(v)),
            "--env",
            "prod",
            "--tag",
            &tag,
            "-m",
            &msg,
        ])
        .ok();
    }
    let log = rw(&["log", "--env", "prod", "--format", "json"])
        .ok()
        .json();
    assert_eq!(log.as_array().unwrap().len(), 3);
    assert_eq!(log[0]["message"], "release 3");
    rw(&["show", "prod~2"]).ok();
    let diff = rw(&["diff", "v1", "v2", "--format", "json"]);
    assert_eq!(diff.code, 0);
    let local = t
        .run(&["diff", s(&shop(1)), s(&shop(2)), "--format", "json"])
        .json();
    assert_eq!(
        diff.json()["changes"],
        local["changes"],
        "the same diff as from the directories"
    );
    let plan = rw(&["plan", "--to", "v2", "--format", "json"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(plan.json()["from"]["tags"][0], "v3");
    rw(&["graph", "v1", "--format", "json"]).ok();
    let out = t.path("restored");
    rw(&["checkout", "v2", s(&out)]).ok();
    for f in ["main.tf", "modules/network/main.tf", "terraform.tfstate"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(shop(2).join(f)).unwrap(),
            "{f}"
        );
    }
    rw(&["tag", "stable", "v2"]).ok();
    assert_eq!(rw(&["tag", "stable", "v3"]).code, 1, "tags do not move");
    rw(&["mark-good", "v2", "--env", "prod"]).ok();
    let refs = rw(&["log", "--refs", "--format", "json"]).ok().json();
    assert_eq!(refs[0]["ref"], "envs/prod/good");
    rw(&["verify"]).ok();
    rw(&["gc", "--grace", "0s"]).ok();
    rw(&["verify"]).ok();
    // the objects are in the bucket, under the prefix
    let packs = server.root.join("infra-state/rewind/prod/packs");
    assert!(std::fs::read_dir(&packs).unwrap().count() >= 2);
}

#[test]
fn concurrent_snapshots_both_land() {
    let server = S3Server::start("concurrent", &["ci-runs"]);
    let t = Scratch::new("s3concurrent");
    let store = "s3://ci-runs/store";
    run(s3(&t, &server, store, &["init"])).ok();
    for round in 0..3u32 {
        let a = s3(
            &t,
            &server,
            store,
            &[
                "snapshot",
                s(&shop(1 + round)),
                "--env",
                "prod",
                "-m",
                &format!("a{round}"),
            ],
        )
        .spawn()
        .unwrap();
        let b = s3(
            &t,
            &server,
            store,
            &[
                "snapshot",
                s(&shop(2 + round)),
                "--env",
                "prod",
                "-m",
                &format!("b{round}"),
            ],
        )
        .spawn()
        .unwrap();
        assert!(a.wait_with_output().unwrap().status.success());
        assert!(b.wait_with_output().unwrap().status.success());
    }
    let log = run(s3(
        &t,
        &server,
        store,
        &["log", "--env", "prod", "--format", "json"],
    ))
    .ok()
    .json();
    let msgs: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    run(s3(&t, &server, store, &["verify"])).ok();
}

#[test]
fn a_failing_server_is_retried_and_errors_are_clear() {
    let server = S3Server::start("failing", &["flaky"]);
    let t = Scratch::new("s3fail");
    let store = "s3://flaky/r";
    run(s3(&t, &server, store, &["init"])).ok();
    // every third request is throttled: retries with backoff get through
    server.fail_every.store(3, Ordering::SeqCst);
    run(s3(
        &t,
        &server,
        store,
        &["snapshot", s(&shop(1)), "--env", "prod"],
    ))
    .ok();
    run(s3(&t, &server, store, &["verify"])).ok();
    // a server that fails everything: a clear error, after retries
    server.fail_every.store(1, Ordering::SeqCst);
    let mut c = s3(
        &t,
        &server,
        store,
        &["snapshot", s(&shop(2)), "--env", "prod"],
    );
    c.env("REWIND_S3_RETRIES", "2");
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("kept failing or throttling"),
        "{}",
        r.stderr
    );
    server.fail_every.store(0, Ordering::SeqCst);
    let log = run(s3(&t, &server, store, &["log", "--format", "json"]))
        .ok()
        .json();
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "the failed snapshot left nothing visible"
    );
    run(s3(&t, &server, store, &["verify"])).ok();

    // wrong credentials, a missing bucket, an unreachable endpoint
    let mut c = s3(&t, &server, store, &["log"]);
    c.env("AWS_SECRET_ACCESS_KEY", "wrong");
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("denied") && r.stderr.contains("AWS_SECRET_ACCESS_KEY"),
        "{}",
        r.stderr
    );
    let r = run(s3(&t, &server, "s3://no-such-bucket/x", &["log"]));
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("does not exist") || r.stderr.contains("no store"),
        "{}",
        r.stderr
    );
    let mut c = s3(&t, &server, store, &["log"]);
    c.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    c.env("REWIND_S3_RETRIES", "1");
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("cannot reach the S3 endpoint http://127.0.0.1:9"),
        "{}",
        r.stderr
    );
}

/// A tree of `files` files with ten resources each.
fn tree(t: &Scratch, name: &str, files: usize) -> std::path::PathBuf {
    let dir = t.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    for f in 0..files {
        let mut text = String::new();
        for r in 0..10 {
            text.push_str(&format!(
                "resource \"terraform_data\" \"r{f}_{r}\" {{\n  input = {{\n    name = \"{name}-{f}-{r}\"\n    size = {r}\n  }}\n}}\n\n"
            ));
        }
        std::fs::write(dir.join(format!("f{f:04}.tf")), text).unwrap();
    }
    dir
}

#[test]
fn a_snapshot_costs_a_few_requests_whatever_its_size() {
    let server = S3Server::start("count", &["big"]);
    let t = Scratch::new("s3count");
    let store = "s3://big/store";
    run(s3(&t, &server, store, &["init"])).ok();
    let small = tree(&t, "small", 10);
    let large = tree(&t, "large", 1000);
    let mut counts = Vec::new();
    for (dir, env) in [(&small, "s"), (&large, "l")] {
        let before = server.requests.load(Ordering::SeqCst);
        let r = run(s3(
            &t,
            &server,
            store,
            &["--verbose", "snapshot", s(dir), "--env", env],
        ));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let used = server.requests.load(Ordering::SeqCst) - before;
        // what --verbose reports is what the server saw
        let reported: u64 = r
            .stderr
            .split(" store requests")
            .next()
            .unwrap()
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(reported, used, "{}", r.stderr);
        counts.push(used);
    }
    // 10,000 resources in 1,000 files take as many requests as 100 in 10
    assert!(counts[1] <= 16, "{counts:?}");
    assert!(counts[1] <= counts[0] + 2, "{counts:?}");
    // reading again is served from the local cache of indexes and ranges
    let first = server.requests.load(Ordering::SeqCst);
    run(s3(&t, &server, store, &["diff", "s", "l", "--stat"]));
    let cold = server.requests.load(Ordering::SeqCst) - first;
    let second = server.requests.load(Ordering::SeqCst);
    run(s3(&t, &server, store, &["diff", "s", "l", "--stat"]));
    let warm = server.requests.load(Ordering::SeqCst) - second;
    assert!(warm < cold, "cold {cold}, warm {warm}");
}

#[test]
fn sync_copies_between_local_and_s3() {
    let server = S3Server::start("sync", &["archive"]);
    let t = Scratch::new("s3sync");
    t.run(&["init"]).ok();
    t.snapshot_releases(3);
    t.run(&["mark-good", "v2", "--env", "prod"]).ok();
    let remote = "s3://archive/rewind";
    run(s3(&t, &server, remote, &["init"])).ok();
    let local = t.path(".rewind");
    let r = run(s3(&t, &server, remote, &["sync", s(&local), remote]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("copied 3 snapshots"), "{}", r.stdout);
    run(s3(&t, &server, remote, &["verify"])).ok();
    let good = run(s3(
        &t,
        &server,
        remote,
        &["show", "prod@good", "--format", "json"],
    ))
    .ok()
    .json();
    assert_eq!(good["tags"][0], "v2");
    // again: nothing to copy
    let again = run(s3(&t, &server, remote, &["sync", s(&local), remote])).ok();
    assert!(
        again.stdout.contains("copied 0 snapshots and 0 objects"),
        "{}",
        again.stdout
    );
    // back to a fresh local store
    let copy = t.path("copy");
    t.run(&["--store", s(&copy), "init"]).ok();
    run(s3(&t, &server, remote, &["sync", remote, s(&copy)])).ok();
    t.run(&["--store", s(&copy), "verify"]).ok();
    let log = t
        .run(&[
            "--store",
            s(&copy),
            "log",
            "--env",
            "prod",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(log.as_array().unwrap().len(), 3);
}

/// Two rollbacks of one environment on one S3 store: the second is refused
/// while the first holds the lock (created with `If-None-Match: *`), and
/// the lock is gone when the first ends.
#[test]
fn the_rollback_lock_holds_on_s3() {
    let server = S3Server::start("rblock", &["infra-state"]);
    let t = Scratch::new("s3rblock");
    let store = "s3://infra-state/rewind";
    let rw = |args: &[&str]| run(s3(&t, &server, store, args));
    rw(&["init"]).ok();
    let release = |v: &str| fixtures().join("rollback").join(v);
    rw(&[
        "snapshot",
        s(&release("v1")),
        "--env",
        "prod",
        "--tag",
        "v1",
    ])
    .ok();
    rw(&["mark-good", "v1", "--env", "prod"]).ok();
    rw(&[
        "snapshot",
        s(&release("v2")),
        "--env",
        "prod",
        "--tag",
        "v2",
    ])
    .ok();
    std::fs::create_dir_all(t.path("app")).unwrap();
    // an executor that takes its time and fails: the rollback holds the lock meanwhile
    let slow = t.path("slow-terraform");
    std::fs::write(&slow, "#!/bin/sh\nsleep 4\nexit 1\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let args = [
        "rollback",
        "--env",
        "prod",
        "--dir",
        "app",
        "--apply",
        "--executor",
        s(&slow),
    ];
    let first = s3(&t, &server, store, &args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // wait for the first to take the lock (s3s-fs keeps objects as files)
    let lock = server.root.join("infra-state/rewind/locks/rollback/prod");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lock.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first rollback never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = rw(&args);
    assert_eq!(second.code, 1);
    assert!(
        second.stderr.contains(&format!(
            "another rollback of \"prod\" is running: s3://infra-state/rewind/locks/rollback/prod is held by process {}",
            first.id()
        )),
        "{}",
        second.stderr
    );
    let out = first.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("init -input=false -no-color` failed (exit 1)"),
        "{err}"
    );
    // released: nothing to break, and the next rollback takes it again
    let r = rw(&["rollback", "--env", "prod", "--break-lock"]).ok();
    assert!(
        r.stderr.contains("prod has no rollback lock"),
        "{}",
        r.stderr
    );
    // both failed runs recorded what happened; the refused one did not
    let list = rw(&["incidents", "--format", "json"]).ok().json();
    let outcomes: Vec<&str> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["failed"]);
}

/// A pack larger than a part (8 MiB) is built in a file of the local
/// cache and uploaded from it in parts, not held in memory; the file is
/// gone afterwards and the pack reads back whole.
#[test]
fn a_large_pack_is_uploaded_in_parts_from_a_file() {
    let server = S3Server::start("parts", &["big"]);
    let t = Scratch::new("s3parts");
    let store = "s3://big/rewind";
    run(s3(&t, &server, store, &["init"])).ok();
    // 24 MB of base64-like text, which lz4 cannot shrink below two parts
    let dir = t.path("blob");
    std::fs::create_dir_all(&dir).unwrap();
    let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut text = String::from("locals {\n  blob = \"");
    for _ in 0..24_000_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        text.push(symbols[(x >> 58) as usize] as char);
    }
    text.push_str(
        "\"\n}\n\nresource \"terraform_data\" \"a\" {\n  input = length(local.blob)\n}\n",
    );
    std::fs::write(dir.join("main.tf"), &text).unwrap();
    let before = server.requests.load(Ordering::SeqCst);
    let r = run(s3(
        &t,
        &server,
        store,
        &[
            "--verbose",
            "snapshot",
            s(&dir),
            "--env",
            "prod",
            "--tag",
            "big",
        ],
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let parts = server.parts.load(Ordering::SeqCst);
    assert!(parts >= 3, "24 MB in parts of 8 MiB: {parts} parts");
    // --verbose counts the upload's requests as the server saw them
    let used = server.requests.load(Ordering::SeqCst) - before;
    assert!(
        r.stderr.contains(&format!("{used} store requests")),
        "{used} requests seen: {}",
        r.stderr
    );
    // no temporary file left in the cache
    let mut left = Vec::new();
    for store_cache in std::fs::read_dir(t.path("cache")).unwrap() {
        let tmp = store_cache.unwrap().path().join("tmp");
        if let Ok(entries) = std::fs::read_dir(&tmp) {
            left.extend(entries.map(|e| e.unwrap().path()));
        }
    }
    assert!(left.is_empty(), "left in the cache: {left:?}");
    // the pack reads back whole (a fresh cache: every byte from the bucket)
    std::fs::remove_dir_all(t.path("cache")).unwrap();
    run(s3(&t, &server, store, &["verify"])).ok();
    let out = t.path("out");
    run(s3(&t, &server, store, &["checkout", "big", s(&out)])).ok();
    assert!(
        std::fs::read(out.join("main.tf")).unwrap() == text.as_bytes(),
        "the checked-out file is the file snapshotted"
    );
}
