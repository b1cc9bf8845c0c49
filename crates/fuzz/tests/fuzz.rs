//! The fuzzer itself: inputs are reproducible, planted faults are caught
//! and saved, and every recorded regression replays cleanly.

use std::path::{Path, PathBuf};
use std::process::Command;

use rewind_fuzz::{input, seeds, target};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rewind-fuzz-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_iteration_is_reproducible_from_its_seed_and_number() {
    let fixtures = fixtures();
    let seeds = seeds::load(&[fixtures.as_path()]);
    assert!(seeds.len() > 100, "{} seeds", seeds.len());
    let a = input(&seeds, 7, 1234);
    let b = input(&seeds, 7, 1234);
    assert_eq!(a, b);
    let others: Vec<_> = (1235..1245).map(|n| input(&seeds, 7, n)).collect();
    assert!(others.iter().any(|o| o.1 != a.1));
    // every kind of input is fed
    let kinds: std::collections::BTreeSet<_> =
        (0..2000).map(|n| input(&seeds, 1, n).0.code()).collect();
    assert_eq!(kinds.len(), 5, "{kinds:?}");
}

#[test]
fn planted_faults_are_caught_and_their_inputs_saved() {
    let out = scratch("faults");
    let run = Command::new(env!("CARGO_BIN_EXE_rewind-fuzz"))
        .args([
            "run",
            // generous limits: on a loaded machine a slow parse must not
            // count as a hang, and iteration 120 must be reached
            "--seconds",
            "10",
            "--per-input-ms",
            "3000",
            "--max-rss-mb",
            "300",
        ])
        .args(["--inject", "panic@5,hang@40,abort@80,alloc@120"])
        .arg("--corpus")
        .arg(fixtures())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success(), "{text}");
    for (n, what) in [
        (5, "panic: injected panic"),
        (40, "hang: no result"),
        (80, "crash: the worker ended"),
        (120, "memory: the parser holds"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("seed1-{n}.")))
            .unwrap_or_else(|| panic!("iteration {n} not reported:\n{text}"));
        assert!(line.contains(what), "{line}");
    }
    assert!(text.contains(", 4 failures"), "{text}");
    // the saved input is the input of that iteration
    let fixtures = fixtures();
    let seeds = seeds::load(&[fixtures.as_path()]);
    let (kind, bytes) = input(&seeds, 1, 80);
    let saved = out.join(format!("seed1-80.{}", target::extension(kind)));
    assert_eq!(std::fs::read(&saved).unwrap(), bytes);
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn recorded_regressions_replay_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Some(kind) = target::kind_of(&name) else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        if let Err(broken) = target::exercise(&bytes, kind) {
            panic!("{name}: {broken}");
        }
        n += 1;
    }
    assert!(n >= 4, "{n} regression inputs");
}
