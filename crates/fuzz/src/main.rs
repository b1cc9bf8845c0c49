//! The `rewind-fuzz` command; see the library documentation for what it
//! checks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rewind_fuzz::{driver, oracle, seeds, target};

const USAGE: &str = "usage: rewind-fuzz run [--seconds 60] [--seed 1] [--corpus DIR]... [--out fuzz-failures] [--max-rss-mb 1024] [--per-input-ms 5000] [--inject panic@N,hang@N,abort@N,alloc@N]
       rewind-fuzz replay FILE...
       rewind-fuzz oracle [--seconds 60] [--seed 1] [--corpus DIR]... [--out fuzz-failures] [--terraform terraform]";

struct Args {
    seconds: f64,
    seed: u64,
    from: u64,
    corpus: Vec<PathBuf>,
    out: PathBuf,
    max_rss_mb: u64,
    terraform: PathBuf,
    files: Vec<PathBuf>,
    per_input_ms: u64,
    inject: String,
}

fn number<T: std::str::FromStr>(option: &str, value: String) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{option}: not a number: {value}"))
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        seconds: 60.0,
        seed: 1,
        from: 0,
        corpus: Vec::new(),
        out: PathBuf::from("fuzz-failures"),
        max_rss_mb: 1024,
        terraform: PathBuf::from("terraform"),
        files: Vec::new(),
        per_input_ms: 5000,
        inject: String::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--seconds" => a.seconds = number(arg, value()?)?,
            "--seed" => a.seed = number(arg, value()?)?,
            "--from" => a.from = number(arg, value()?)?,
            "--max-rss-mb" => a.max_rss_mb = number(arg, value()?)?,
            "--per-input-ms" => a.per_input_ms = number(arg, value()?)?,
            "--inject" => {
                a.inject = value()?;
                driver::parse_faults(&a.inject)?;
            }
            "--corpus" => a.corpus.push(PathBuf::from(value()?)),
            "--out" => a.out = PathBuf::from(value()?),
            "--terraform" => a.terraform = PathBuf::from(value()?),
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            s => a.files.push(PathBuf::from(s)),
        }
    }
    if a.corpus.is_empty() {
        a.corpus.push(PathBuf::from("fixtures"));
    }
    Ok(a)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let args = match parse_args(rest) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rewind-fuzz: {e}\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    // Parsing recurses as deep as the input nests: run on a thread with the
    // stack rewind's own parsing threads get.
    let command = command.clone();
    let worker = std::thread::Builder::new()
        .stack_size(rewind_parse::PARSE_STACK)
        .spawn(move || run(&command, args));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => ExitCode::FAILURE,
    }
}

/// Runs `command` with `args`: a worker's share of a run, a run, a replay
/// of saved inputs, or a comparison with `terraform fmt`.
fn run(command: &str, args: Args) -> ExitCode {
    let dirs: Vec<&std::path::Path> = args.corpus.iter().map(PathBuf::as_path).collect();
    match command {
        "worker" => {
            let seeds = seeds::load(&dirs);
            let faults = driver::parse_faults(&args.inject).unwrap_or_default();
            driver::worker(&seeds, args.seed, args.from, args.seconds, &faults);
            ExitCode::SUCCESS
        }
        "run" => fuzz_run(&args, &dirs),
        "replay" => replay(&args),
        "oracle" => oracle_run(&args, &dirs),
        other => {
            eprintln!("rewind-fuzz: unknown command {other}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

/// `run`: mutates the seeds of `dirs` for the given time on worker
/// processes, and reports the failures found (saved under `--out`).
fn fuzz_run(args: &Args, dirs: &[&std::path::Path]) -> ExitCode {
    let seeds = seeds::load(dirs);
    let opts = driver::Options {
        seed: args.seed,
        duration: Duration::from_secs_f64(args.seconds),
        per_input: Duration::from_millis(args.per_input_ms),
        max_rss_mb: args.max_rss_mb,
        out: args.out.clone(),
        corpus: args.corpus.clone(),
        inject: args.inject.clone(),
    };
    match driver::run(&opts, &seeds) {
        Ok(outcome) => {
            println!(
                "rewind-fuzz: {} inputs ({} parsed, the others rejected) from {} seeds in {:.0} s (seed {}), {} failures",
                outcome.iterations,
                outcome.parsed,
                seeds.len(),
                args.seconds,
                args.seed,
                outcome.failures.len()
            );
            for f in &outcome.failures {
                println!("  {}: {}", f.path.display(), f.message);
            }
            if outcome.failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("rewind-fuzz: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `replay`: runs each saved input of `args.files` through its target
/// again, printing what it gives or how it fails.
fn replay(args: &Args) -> ExitCode {
    let mut failed = 0;
    for f in &args.files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(kind) = target::kind_of(name) else {
            eprintln!("{}: not a fuzzable file name", f.display());
            failed += 1;
            continue;
        };
        let result = std::fs::read(f)
            .map_err(|e| e.to_string())
            .and_then(|bytes| target::exercise(&bytes, kind));
        match result {
            Ok(v) => println!("{}: {v:?}", f.display()),
            Err(e) => {
                println!("{}: FAILED: {e}", f.display());
                failed += 1;
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `oracle`: compares what rewind accepts with what `terraform fmt`
/// accepts, on inputs mutated from the seeds of `dirs`.
fn oracle_run(args: &Args, dirs: &[&std::path::Path]) -> ExitCode {
    let seeds = seeds::load(dirs);
    match oracle::run(
        &args.terraform,
        &seeds,
        args.seed,
        Duration::from_secs_f64(args.seconds),
        &args.out,
    ) {
        Ok(outcome) => {
            println!(
                "rewind-fuzz oracle: {} inputs compared with terraform fmt ({} skipped: terraform failed on them), {} disagreements",
                outcome.compared,
                outcome.skipped,
                outcome.disagreements.len()
            );
            for d in &outcome.disagreements {
                println!(
                    "  {}: rewind {}, terraform {}",
                    d.path.display(),
                    if d.rewind_accepts {
                        "accepts"
                    } else {
                        "rejects"
                    },
                    match &d.terraform {
                        Ok(()) => "accepts".to_string(),
                        Err(e) => format!("rejects ({e})"),
                    }
                );
            }
            if outcome.disagreements.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("rewind-fuzz oracle: {e}");
            ExitCode::FAILURE
        }
    }
}
