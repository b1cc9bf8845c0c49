//! A syntax differential against Terraform itself: mutated `.tf` inputs go
//! to rewind's HCL parser and to `terraform fmt -` (which parses with
//! hclsyntax and reports syntax errors, offline, with no configuration);
//! every input one accepts and the other rejects is reduced to a small
//! case and saved. Needs `terraform` on the PATH, so it runs by hand, not
//! in CI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rewind_parse::hcl::parse_body_bytes;
use rewind_parse::FileKind;

use crate::seeds::Seed;

/// rewind's HCL parser on `bytes`: accepted, or rejected with its message.
pub fn rewind_verdict(bytes: &[u8]) -> Result<(), String> {
    parse_body_bytes(bytes).1.map(|_| ()).map_err(|e| e.message)
}

/// A disagreement that is known and deliberate: hclsyntax's scanner skips
/// some stray bytes that are not UTF-8 between tokens (`a =\xe6 false`),
/// rewind rejects them as Terraform's documentation says it should; and
/// rewind limits nesting to 500 levels of brackets (Terraform parses
/// deeper, up to where its own stack overflows).
fn known_difference(bytes: &[u8], ours: &Result<(), String>, theirs: &Result<(), String>) -> bool {
    let Err(message) = ours else {
        return false;
    };
    theirs.is_ok()
        && (std::str::from_utf8(bytes).is_err()
            || message.starts_with("nesting deeper than")
            || message.starts_with("expression nested too deeply"))
}

/// How long one `terraform fmt` may take.
const TERRAFORM_TIMEOUT: Duration = Duration::from_secs(20);

/// Terraform's answer: accepted, or rejected with its first error summary.
pub fn terraform_verdict(terraform: &Path, bytes: &[u8]) -> std::io::Result<Result<(), String>> {
    let mut child = Command::new(terraform)
        .args(["fmt", "-no-color", "-"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let input = bytes.to_vec();
    let mut stdin = child.stdin.take();
    // written from a thread: terraform may write errors before it has read
    // everything
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            // a write error means terraform stopped reading: its status says why
            let _ = stdin.write_all(&input);
        }
    });
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(e) = stderr.as_mut() {
            let _ = std::io::Read::read_to_end(e, &mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > TERRAFORM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let _ = writer.join();
            let _ = reader.join();
            return Err(std::io::Error::other("terraform fmt did not finish"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = writer.join();
    let stderr = reader.join().unwrap_or_default();
    match status.code() {
        Some(0) => Ok(Ok(())),
        Some(2) => {
            let err = String::from_utf8_lossy(&stderr);
            let summary = err
                .lines()
                .find_map(|l| l.trim().strip_prefix("Error: "))
                .unwrap_or("syntax error")
                .to_string();
            Ok(Err(summary))
        }
        _ => Err(std::io::Error::other(format!(
            "terraform fmt failed: {}",
            String::from_utf8_lossy(&stderr)
        ))),
    }
}

/// One disagreement, reduced.
#[derive(Debug)]
pub struct Disagreement {
    pub path: PathBuf,
    pub rewind_accepts: bool,
    pub terraform: Result<(), String>,
}

/// What an oracle run found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Inputs both parsers answered.
    pub compared: u64,
    /// Inputs `terraform fmt` failed on or took too long with.
    pub skipped: u64,
    pub disagreements: Vec<Disagreement>,
}

/// Compares the two parsers on mutated `.tf` inputs for `duration`.
pub fn run(
    terraform: &Path,
    seeds: &[Seed],
    seed: u64,
    duration: Duration,
    out: &Path,
) -> std::io::Result<Outcome> {
    let tf: Vec<Seed> = seeds
        .iter()
        .filter(|s| s.kind == FileKind::Tf && s.bytes.len() <= 8 * 1024)
        .map(|s| Seed {
            kind: s.kind,
            bytes: s.bytes.clone(),
        })
        .collect();
    if tf.is_empty() {
        return Ok(Outcome::default());
    }
    let started = Instant::now();
    let mut found = Vec::new();
    let mut n = 0u64;
    let mut skipped = 0u64;
    while started.elapsed() < duration {
        let (_, bytes) = crate::input(&tf, seed, n);
        n += 1;
        let verdict = rewind_verdict(&bytes);
        let ours = verdict.is_ok();
        let Ok(theirs) = terraform_verdict(terraform, &bytes) else {
            // terraform itself fails on this input (or takes too long)
            skipped += 1;
            continue;
        };
        if ours == theirs.is_ok() || known_difference(&bytes, &verdict, &theirs) {
            continue;
        }
        let small = reduce(&bytes, 600, |b| {
            let v = rewind_verdict(b);
            v.is_ok() == ours
                && terraform_verdict(terraform, b)
                    .is_ok_and(|t| t.is_ok() == theirs.is_ok() && !known_difference(b, &v, &t))
        });
        let verdict = terraform_verdict(terraform, &small)?;

        std::fs::create_dir_all(out)?;
        let path = out.join(format!("oracle-seed{seed}-{}.tf", n - 1));
        std::fs::write(&path, &small)?;
        std::fs::write(
            format!("{}.txt", path.display()),
            format!(
                "rewind: {}\nterraform: {}\n",
                if ours { "accepts" } else { "rejects" },
                match &verdict {
                    Ok(()) => "accepts".to_string(),
                    Err(e) => format!("rejects ({e})"),
                }
            ),
        )?;
        eprintln!(
            "rewind-fuzz oracle: disagreement saved in {}",
            path.display()
        );
        found.push(Disagreement {
            path,
            rewind_accepts: ours,
            terraform: verdict,
        });
    }
    Ok(Outcome {
        compared: n - skipped,
        skipped,
        disagreements: found,
    })
}

/// Removes runs of lines, then runs of bytes (halving their length down
/// to one) while `keep` still holds, within `budget` calls of `keep`.
pub fn reduce(input: &[u8], budget: usize, mut keep: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    let mut calls = 0;
    let lines: Vec<Vec<u8>> = input
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let lines = reduce_units(lines, budget, &mut calls, &mut keep);
    let bytes: Vec<Vec<u8>> = lines.concat().into_iter().map(|b| vec![b]).collect();
    reduce_units(bytes, budget, &mut calls, &mut keep).concat()
}

fn reduce_units(
    mut cur: Vec<Vec<u8>>,
    budget: usize,
    calls: &mut usize,
    keep: &mut impl FnMut(&[u8]) -> bool,
) -> Vec<Vec<u8>> {
    let mut chunk = cur.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut changed = false;
        while i < cur.len() && *calls < budget {
            let end = (i + chunk).min(cur.len());
            let candidate: Vec<Vec<u8>> = cur[..i].iter().chain(&cur[end..]).cloned().collect();
            let text = candidate.concat();
            if std::str::from_utf8(&text).is_err() {
                i += chunk;
                continue;
            }
            *calls += 1;
            if keep(&text) {
                cur = candidate;
                changed = true;
            } else {
                i += chunk;
            }
        }
        if *calls >= budget || (chunk == 1 && !changed) {
            return cur;
        }
        if !changed {
            chunk /= 2;
        }
    }
}
