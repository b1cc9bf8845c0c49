//! Runs inputs in a child process and watches it: progress (a hang), its
//! exit (a crash or an abort) and its memory (a runaway allocation).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::seeds::Seed;
use crate::target::{exercise, extension};

/// Settings of a fuzz run.
#[derive(Clone, Debug)]
pub struct Options {
    pub seed: u64,
    pub duration: Duration,
    /// An input running longer than this is a hang.
    pub per_input: Duration,
    /// Resident memory of the child beyond this is a runaway allocation.
    pub max_rss_mb: u64,
    /// Failing inputs are written here.
    pub out: PathBuf,
    pub corpus: Vec<PathBuf>,
    /// Faults to plant (tests of the fuzzer itself).
    pub inject: String,
}

/// One failing input.
#[derive(Debug)]
pub struct Failure {
    pub iteration: u64,
    pub path: PathBuf,
    pub message: String,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub iterations: u64,
    /// Inputs that parsed (the others were rejected with an error).
    pub parsed: u64,
    pub failures: Vec<Failure>,
}

/// A fault planted on purpose at one iteration, to test the fuzzer itself
/// (`--inject panic@5,hang@9`): each must be caught and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Panic,
    Hang,
    Abort,
    /// Allocates without bound, as a parser gone wrong would.
    Alloc,
}

/// Parses `panic@5,hang@9,...`.
pub fn parse_faults(text: &str) -> Result<Vec<(u64, Fault)>, String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (kind, at) = item
                .split_once('@')
                .ok_or_else(|| format!("{item}: expected KIND@ITERATION"))?;
            let fault = match kind {
                "panic" => Fault::Panic,
                "hang" => Fault::Hang,
                "abort" => Fault::Abort,
                "alloc" => Fault::Alloc,
                other => return Err(format!("unknown fault {other}")),
            };
            let at = at
                .parse()
                .map_err(|_| format!("{item}: not an iteration"))?;
            Ok((at, fault))
        })
        .collect()
}

fn plant(fault: Fault) {
    match fault {
        Fault::Panic => panic!("injected panic"),
        Fault::Hang => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        Fault::Abort => std::process::abort(),
        Fault::Alloc => {
            let mut held: Vec<Vec<u8>> = Vec::new();
            loop {
                held.push(std::hint::black_box(vec![1u8; 16 << 20]));
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// The child side: runs iterations `from..` for `seconds`, printing `i N`
/// before each input and `fail N MESSAGE` for a broken property or a
/// panic.
pub fn worker(seeds: &[Seed], seed: u64, from: u64, seconds: f64, faults: &[(u64, Fault)]) {
    // a panic is reported as a failure line, not as noise on stderr
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    let mut out = std::io::stdout().lock();
    let mut n = from;
    let mut parsed = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let (kind, bytes) = crate::input(seeds, seed, n);
        if writeln!(out, "i {n}").is_err() {
            return;
        }
        let fault = faults.iter().find(|(at, _)| *at == n).map(|(_, f)| *f);
        let result = std::panic::catch_unwind(|| {
            if let Some(f) = fault {
                plant(f);
            }
            exercise(&bytes, kind)
        });
        let failure = match result {
            Ok(Ok(verdict)) => {
                if verdict == crate::target::Verdict::Parsed {
                    parsed += 1;
                }
                None
            }
            Ok(Err(broken)) => Some(broken),
            Err(panic) => Some(format!("panic: {}", panic_message(&panic))),
        };
        if let Some(message) = failure {
            let one_line = message.replace('\n', "\\n");
            if writeln!(out, "fail {n} {one_line}").is_err() {
                return;
            }
        }
        n += 1;
    }
    let _ = writeln!(out, "done {n} {parsed}");
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

enum Event {
    Line(String),
    Eof,
}

/// The parent side: runs workers until the time is up, restarting one
/// after a crash, and saves every failing input.
pub fn run(opts: &Options, seeds: &[Seed]) -> std::io::Result<Outcome> {
    let exe = std::env::current_exe()?;
    let deadline = Instant::now() + opts.duration;
    let mut outcome = Outcome::default();
    let mut next = 0u64;
    while Instant::now() < deadline {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs_f64();
        let mut child = spawn_worker(&exe, opts, next, left)?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(Event::Line(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Event::Eof);
        });
        let mut current: Option<u64> = None;
        let mut since = Instant::now();
        let mut finished = false;
        let mut checked = Instant::now();
        let trouble = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Event::Line(line)) => {
                    if let Some(n) = line.strip_prefix("i ").and_then(|n| n.parse().ok()) {
                        current = Some(n);
                        since = Instant::now();
                        outcome.iterations += 1;
                    } else if let Some(rest) = line.strip_prefix("fail ") {
                        let (n, message) = rest.split_once(' ').unwrap_or((rest, ""));
                        if let Ok(n) = n.parse() {
                            outcome
                                .failures
                                .push(save(opts, seeds, n, message.to_string())?);
                        }
                    } else if let Some(rest) = line.strip_prefix("done ") {
                        let mut nums = rest.split(' ').filter_map(|x| x.parse::<u64>().ok());
                        next = nums.next().unwrap_or(next);
                        outcome.parsed += nums.next().unwrap_or(0);
                        finished = true;
                    }
                }
                Ok(Event::Eof) => break None,
                Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if since.elapsed() > opts.per_input && current.is_some() {
                break Some(format!("hang: no result after {:?}", opts.per_input));
            }
            if checked.elapsed() < Duration::from_millis(50) {
                continue;
            }
            checked = Instant::now();
            if let Some(rss) = resident_mb(&child) {
                if rss > opts.max_rss_mb {
                    break Some(format!(
                        "memory: the parser holds {rss} MB (limit {} MB)",
                        opts.max_rss_mb
                    ));
                }
            }
        };
        let status = match trouble {
            Some(_) => {
                let _ = child.kill();
                child.wait()?
            }
            None => child.wait()?,
        };
        let _ = reader.join();
        let crash = match trouble {
            Some(t) => Some(t),
            None if finished && status.success() => None,
            None => Some(format!("crash: the worker ended with {status} (an abort, a stack overflow or an allocation failure)")),
        };
        if let Some(message) = crash {
            let n = current.unwrap_or(next);
            outcome.failures.push(save(opts, seeds, n, message)?);
            next = n + 1;
        } else if finished {
            break;
        }
    }
    Ok(outcome)
}

fn spawn_worker(exe: &Path, opts: &Options, from: u64, seconds: f64) -> std::io::Result<Child> {
    let mut args: Vec<String> = vec![
        "worker".into(),
        "--seed".into(),
        opts.seed.to_string(),
        "--from".into(),
        from.to_string(),
        "--seconds".into(),
        format!("{seconds:.3}"),
    ];
    for c in &opts.corpus {
        args.push("--corpus".into());
        args.push(c.display().to_string());
    }
    if !opts.inject.is_empty() {
        args.push("--inject".into());
        args.push(opts.inject.clone());
    }
    // Address space limited as a backstop: an allocation far beyond the
    // limit fails at once (and is reported as a crash) instead of paging.
    let limit_kb = opts.max_rss_mb.saturating_mul(4).max(2048) * 1024;
    let mut cmd = if Path::new("/bin/sh").exists() {
        let mut c = Command::new("/bin/sh");
        c.arg("-c")
            .arg(format!("ulimit -v {limit_kb} && exec \"$0\" \"$@\""))
            .arg(exe)
            .args(&args);
        c
    } else {
        let mut c = Command::new(exe);
        c.args(&args);
        c
    };
    cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn()
}

/// Resident memory of the child in MB (Linux; `None` elsewhere).
fn resident_mb(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// Regenerates the input of `iteration` and writes it (and the message) to
/// the output directory.
fn save(
    opts: &Options,
    seeds: &[Seed],
    iteration: u64,
    message: String,
) -> std::io::Result<Failure> {
    let (kind, bytes) = crate::input(seeds, opts.seed, iteration);
    std::fs::create_dir_all(&opts.out)?;
    let path = opts
        .out
        .join(format!("seed{}-{iteration}.{}", opts.seed, extension(kind)));
    std::fs::write(&path, &bytes)?;
    std::fs::write(format!("{}.txt", path.display()), format!("{message}\n"))?;
    Ok(Failure {
        iteration,
        path,
        message,
    })
}
