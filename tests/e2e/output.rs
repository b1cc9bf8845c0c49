//! Writing results: a failed write is an error (a full disk must not leave
//! a truncated result and exit 0); a reader that stops reading is not.

use std::process::Stdio;

use crate::common::*;

/// `rewind ARGS > /dev/full`.
fn to_full_disk(t: &Scratch, args: &[&str]) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full (Linux)");
    let o = t
        .cmd(args)
        .stdout(Stdio::from(full))
        .output()
        .expect("run rewind");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn a_full_disk_fails_every_kind_of_result() {
    let t = Scratch::new("fulldisk");
    let (v1, v2) = (shop(1), shop(2));
    for args in [
        vec!["diff", s(&v1), s(&v2), "--format", "json"],
        vec!["diff", s(&v1), s(&v2)],
        vec![
            "plan",
            "--from",
            s(&v2),
            "--to",
            s(&v1),
            "--format",
            "markdown",
        ],
        vec!["graph", s(&v1), "--format", "json"],
        vec!["graph", s(&v1)],
    ] {
        let r = to_full_disk(&t, &args);
        assert_eq!(r.code, 1, "{args:?} exited {}: {}", r.code, r.stderr);
        assert!(
            r.stderr.contains("writing the result to standard output")
                && r.stderr.contains("No space left on device"),
            "{args:?}: {}",
            r.stderr
        );
    }
    t.run(&["init"]).ok();
    let r = to_full_disk(&t, &["snapshot", s(&v1), "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // the snapshot itself was taken: only its report could not be written
    t.run(&["verify"]).ok();
    let log = t.run(&["log", "--format", "json"]).ok().json();
    assert_eq!(log.as_array().unwrap().len(), 1);
}

#[test]
fn a_reader_that_stops_reading_is_not_an_error() {
    let t = Scratch::new("closedpipe");
    let mut child = t
        .cmd(&["graph", s(&shop(3)), "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rewind");
    // close the reading end before rewind writes anything
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Standard error on a full disk (or a closed pipe): the messages are
/// lost, the exit code is the command's own (an `eprintln!` panicked and
/// exited 101). Both to a full disk: the error of the result cannot be
/// written either, and the exit says so all the same; and terraform-json,
/// written a change at a time, fails as a whole result does.
#[test]
fn a_full_standard_error_keeps_the_exit_code() {
    let t = Scratch::new("fullstderr");
    let (v1, v2) = (shop(1), shop(2));
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full (Linux)")
    };
    // an error (no such directory): exit 1, its message lost
    let o = t
        .cmd(&["graph", "no-such-dir"])
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    // warnings and notes lost, the plan written, exit 0
    let o = t
        .cmd(&["plan", "--from", s(&v2), "--to", s(&v1), "-v"])
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Plan:"));
    // both full
    let tf_json = [
        "plan",
        "--from",
        s(&v2),
        "--to",
        s(&v1),
        "--format",
        "terraform-json",
    ];
    let o = t
        .cmd(&tf_json)
        .stdout(Stdio::from(full()))
        .stderr(Stdio::from(full()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let r = to_full_disk(&t, &tf_json);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("No space left on device"), "{}", r.stderr);
}
