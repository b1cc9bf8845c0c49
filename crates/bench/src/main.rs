//! `rewind-bench`: generate synthetic trees, and time rewind side by side
//! with git and Terraform on them.
//!
//! ```text
//! rewind-bench gen --resources 10000 --out DIR [--seed 1] [--terraform-data] [--version 2]
//! rewind-bench run [--sizes 1000,10000,100000] [--runs 5] [--terraform-runs 1] [--no-terraform]
//!                  [--rewind target/release/rewind] [--work bench/work] [--results bench/results]
//! ```

use rewind_bench::gen;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(args: &[String], name: &str) -> bool {
    args.iter().any(|a| a == name)
}

const USAGE: &str = "usage: rewind-bench gen --resources N --out DIR [--seed S] [--terraform-data | --factory] [--version 2]\n       rewind-bench run [--sizes 1000,10000,100000] [--runs 5] [--terraform-runs 1] [--no-terraform] [--rewind PATH] [--work DIR] [--results DIR] [--factory-projects 300] [--history 1000] [--history-size 10000]";

/// Every argument after the subcommand must be a known option (with its
/// value when it takes one): a typo or `--help` prints the usage instead of
/// silently starting a run that takes many minutes.
fn check_args(args: &[String], valued: &[&str], flags: &[&str]) -> bool {
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        if valued.contains(&a) && i + 1 < args.len() {
            i += 2;
        } else if flags.contains(&a) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let known = match args.first().map(String::as_str) {
        Some("gen") => check_args(
            &args,
            &["--resources", "--seed", "--out", "--version"],
            &["--terraform-data", "--factory"],
        ),
        Some("run") => check_args(
            &args,
            &[
                "--sizes",
                "--runs",
                "--terraform-runs",
                "--rewind",
                "--work",
                "--results",
                "--factory-projects",
                "--history",
                "--history-size",
            ],
            &["--no-terraform"],
        ),
        _ => false,
    };
    if !known {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    match args.first().map(String::as_str) {
        Some("gen") => {
            let n: usize = arg(&args, "--resources")
                .unwrap_or_else(|| "1000".into())
                .parse()?;
            let seed: u64 = arg(&args, "--seed").unwrap_or_else(|| "1".into()).parse()?;
            let out = PathBuf::from(arg(&args, "--out").context("--out DIR is required")?);
            let version: u32 = arg(&args, "--version")
                .unwrap_or_else(|| "1".into())
                .parse()?;
            if flag(&args, "--factory") {
                let projects = n.div_ceil(rewind_bench::factory::RESOURCES_PER_PROJECT);
                rewind_bench::factory::write_factory(&out, projects)?;
                eprintln!(
                    "wrote a factory configuration of {projects} projects to {}",
                    out.display()
                );
                return Ok(());
            }
            let o = gen::Options {
                resources: n,
                seed,
                terraform_data: flag(&args, "--terraform-data"),
            };
            generate(&o, version, &out)?;
            eprintln!(
                "wrote {} resources (version {version}) to {}",
                n,
                out.display()
            );
            Ok(())
        }
        Some("run") => run(&args),
        _ => unreachable!("checked above"),
    }
}

fn generate(o: &gen::Options, version: u32, out: &Path) -> Result<()> {
    let res = gen::resources(o);
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    if version >= 2 {
        let (v2, moved) = gen::mutate(&res, o.seed, 1);
        gen::write_tree(out, &v2, o, 2, &moved)?;
    } else {
        gen::write_tree(out, &res, o, 1, &[])?;
    }
    Ok(())
}

/// One timed process: wall time, processor time and peak resident memory.
#[derive(Clone, Copy, Debug)]
struct Sample {
    secs: f64,
    /// User and system time of the process (all its threads): what a
    /// loaded machine changes least.
    cpu: f64,
    rss_kb: u64,
}

/// Processor time of this process's children that have been waited for
/// (`cutime` + `cstime` of /proc/self/stat), in seconds: the difference
/// around a command is its own (to the clock tick, 10 ms).
fn children_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command name, which is in parentheses
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of the line, 14 and 15 here
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(13) + ticks(14)) / CLOCK_TICKS
}

/// Linux's USER_HZ, the unit of /proc times (100 on every architecture
/// Linux runs rewind on).
const CLOCK_TICKS: f64 = 100.0;

/// Peak RSS of a running process (VmHWM), in kB.
fn hwm(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Writes back what the previous command left dirty, so that no command
/// pays for the one before it (a cold `git commit` leaves 100+ MB for the
/// kernel to write while the next snapshot runs).
fn write_back() {
    let _ = Command::new("sync").status();
}

/// A `rewind -q` command line, on `store` when given.
fn rewind_cmd(rewind: &Path, store: Option<&Path>, args: &[&str]) -> Vec<String> {
    let mut c = vec![rewind.display().to_string()];
    if let Some(store) = store {
        c.push("--store".into());
        c.push(store.display().to_string());
    }
    c.push("-q".into());
    c.extend(args.iter().map(|s| s.to_string()));
    c
}

/// Runs a sequence of commands (like `git add -A && git commit`) and times
/// the whole; memory is the largest peak among them.
fn time(cmds: &[Vec<String>], dir: &Path, env: &[(&str, String)]) -> Result<Sample> {
    write_back();
    let start = Instant::now();
    let cpu0 = children_cpu();
    let mut rss = 0;
    for c in cmds {
        let mut cmd = Command::new(&c[0]);
        cmd.args(&c[1..])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().with_context(|| format!("running {}", c[0]))?;
        let pid = child.id();
        // read stderr while the command runs: one that writes more than a
        // pipe holds (a plan listing a thousand problems) would otherwise
        // wait for a reader forever
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                use std::io::Read;
                let mut err = String::new();
                let _ = e.read_to_string(&mut err);
                err
            })
        });
        loop {
            if let Some(h) = hwm(pid) {
                rss = rss.max(h);
            }
            if let Some(status) = child.try_wait()? {
                // exit code 2 means "changes" for rewind diff/plan and git diff
                let err = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
                if !status.success() && status.code() != Some(2) && status.code() != Some(1) {
                    bail!("{} failed ({status}): {err}", c.join(" "));
                }
                break;
            }
            // VmHWM is the kernel's own high-water mark, so sparse reads
            // miss nothing but the last moments: every millisecond at
            // first (short commands), then every 5 ms (a tight loop would
            // take a core of this 2-core machine from the measured command)
            let pause = if start.elapsed() < Duration::from_millis(100) {
                1
            } else {
                5
            };
            std::thread::sleep(Duration::from_millis(pause));
        }
    }
    Ok(Sample {
        secs: start.elapsed().as_secs_f64(),
        cpu: children_cpu() - cpu0,
        rss_kb: rss,
    })
}

/// Runs a rewind command once more with `REWIND_TRACE=1` and returns its
/// phase profile (each phase's time and memory): the explanation printed
/// under a missed goal.
fn profile(cmd: &[String], dir: &Path) -> Result<String> {
    write_back();
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .current_dir(dir)
        .env("REWIND_TRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .with_context(|| format!("running {}", cmd[0]))?;
    if !out.status.success() && out.status.code() != Some(2) {
        bail!(
            "{} failed ({}): {}",
            cmd.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("trace: "))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn median(v: &[Sample]) -> Sample {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let mid = s[s.len() / 2];
    let rss = v.iter().map(|x| x.rss_kb).max().unwrap_or(0);
    let mut cpu: Vec<f64> = v.iter().map(|x| x.cpu).collect();
    cpu.sort_by(f64::total_cmp);
    Sample {
        secs: mid.secs,
        cpu: cpu[cpu.len() / 2],
        rss_kb: rss,
    }
}

fn sh(cmd: &str, args: &[&str], dir: &Path) -> Result<String> {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("running {cmd}"))?;
    if !out.status.success() {
        bail!(
            "{cmd} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Makes `dst` hold exactly the files of `src`, rewriting only the files
/// whose content differs (so unchanged files keep their times, as in a
/// real working copy).
fn sync(src: &Path, dst: &Path) -> Result<()> {
    let mut want = std::collections::BTreeSet::new();
    for e in walk(src)? {
        let rel = e.strip_prefix(src)?.to_path_buf();
        let target = dst.join(&rel);
        let data = std::fs::read(&e)?;
        if std::fs::read(&target).ok().as_deref() != Some(&data[..]) {
            if let Some(p) = target.parent() {
                std::fs::create_dir_all(p)?;
            }
            std::fs::write(&target, &data)?;
        }
        want.insert(rel);
    }
    if dst.exists() {
        for e in walk(dst)? {
            let rel = e.strip_prefix(dst)?.to_path_buf();
            if rel.starts_with(".git") || rel.starts_with(".rewind") {
                continue;
            }
            if !want.contains(&rel) {
                std::fs::remove_file(&e)?;
            }
        }
    }
    Ok(())
}

fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let p = e.path();
            let name = e.file_name();
            if name == ".git" || name == ".rewind" || name == ".terraform" {
                continue;
            }
            if e.file_type()?.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The generated tree of `n` resources (seed 42) at versions 1 and 2,
/// under `work/n` (generated once): the folder and both versions.
fn versions(work: &Path, n: usize) -> Result<(PathBuf, PathBuf, PathBuf)> {
    let base = work.join(format!("{n}"));
    let (v1, v2) = (base.join("v1"), base.join("v2"));
    let marker = base.join(".generated-v1");
    if !marker.exists() {
        let o = gen::Options {
            resources: n,
            seed: 42,
            terraform_data: false,
        };
        generate(&o, 1, &v1)?;
        generate(&o, 2, &v2)?;
        std::fs::write(&marker, "seed 42\n")?;
    }
    Ok((base, v1, v2))
}

/// Snapshot (after a 1% change), diff and plan of the newest snapshot on
/// a store holding `history` earlier snapshots of a `size`-resource tree
/// (each a small change: a few new objects, new packs), against the same
/// commands on a store holding one; goal: within 1.2×.
fn history_case(
    rewind: &Path,
    work: &Path,
    size: usize,
    history: usize,
    runs: usize,
    raw: &mut String,
) -> Result<Vec<Row>> {
    let (_, v1, v2) = versions(work, size)?;
    let hdir = work.join(format!("history-{size}"));
    std::fs::create_dir_all(&hdir)?;
    let mut samples: BTreeMap<(&str, usize), Vec<Sample>> = BTreeMap::new();
    for steps in [0, history] {
        let store = hdir.join(format!("store-{steps}"));
        let wt = hdir.join(format!("wt-{steps}"));
        let done = hdir.join(format!(".built-{steps}"));
        let st = store.display().to_string();
        let w = wt.display().to_string();
        if !done.exists() {
            eprintln!("  history: a store of {} snapshots", steps + 1);
            if store.exists() {
                std::fs::remove_dir_all(&store)?;
            }
            sh(
                rewind.to_str().unwrap_or("rewind"),
                &["--store", &st, "init", "-q"],
                &hdir,
            )?;
            sync(&v1, &wt)?;
            let step_file = wt.join("bench_history.tf");
            for i in 0..steps {
                std::fs::write(
                    &step_file,
                    format!("locals {{\n  bench_history_step = {i}\n}}\n"),
                )?;
                sh(
                    rewind.to_str().unwrap_or("rewind"),
                    &["--store", &st, "snapshot", &w, "-q"],
                    &hdir,
                )?;
            }
            if step_file.exists() {
                std::fs::remove_file(&step_file)?;
            }
            sh(
                rewind.to_str().unwrap_or("rewind"),
                &["--store", &st, "snapshot", &w, "--tag", "base", "-q"],
                &hdir,
            )?;
            std::fs::write(&done, "built\n")?;
        }
        let run_store = hdir.join("run-store");
        let rs = run_store.display().to_string();
        for r in 0..runs {
            eprintln!("  history {} snapshots, run {}/{runs}", steps + 1, r + 1);
            if run_store.exists() {
                std::fs::remove_dir_all(&run_store)?;
            }
            sh("cp", &["-a", &st, &rs], &hdir)?;
            sync(&v2, &wt)?;
            let rw = |a: &[&str]| rewind_cmd(rewind, Some(&run_store), a);
            samples
                .entry(("snapshot after a 1% change", steps))
                .or_default()
                .push(time(&[rw(&["snapshot", &w, "--tag", "next"])], &hdir, &[])?);
            samples.entry(("diff", steps)).or_default().push(time(
                &[rw(&["diff", "base", "next", "--format", "json"])],
                &hdir,
                &[],
            )?);
            samples.entry(("plan", steps)).or_default().push(time(
                &[rw(&[
                    "plan", "--from", "next", "--to", "base", "--format", "json",
                ])],
                &hdir,
                &[],
            )?);
            sync(&v1, &wt)?;
        }
        std::fs::remove_dir_all(&run_store)?;
    }
    let _ = writeln!(
        raw,
        "\n### history: {size} resources, a store of 1 and of {} snapshots\n\n| measurement | runs (s) | peak RSS (MB) |\n|---|---|---|",
        history + 1
    );
    for ((what, steps), list) in &samples {
        let _ = writeln!(
            raw,
            "| {what}, {} snapshots | {} | {:.0} |",
            steps + 1,
            list.iter()
                .map(|x| format!("{:.3}", x.secs))
                .collect::<Vec<_>>()
                .join(", "),
            median(list).rss_kb as f64 / 1024.0
        );
    }
    let row = |what: &'static str, key: &str| Row {
        size,
        what,
        ours: median(&samples[&(key, history)]),
        peer_name: "the same, store of 1 snapshot",
        peer: Some(median(&samples[&(key, 0)])),
        goal: Some(1.2),
        limit: None,
        resources: size,
    };
    Ok(vec![
        row(
            "snapshot after a 1% change, long history",
            "snapshot after a 1% change",
        ),
        row("diff, long history", "diff"),
        row("plan, long history", "plan"),
    ])
}

/// A throughput case: configuration bytes handled per second of
/// processor time (so per core, whatever the load).
struct Throughput {
    size: usize,
    what: &'static str,
    sample: Sample,
    bytes: u64,
    goal_mb_per_core: f64,
}

struct Row {
    size: usize,
    what: &'static str,
    ours: Sample,
    peer_name: &'static str,
    peer: Option<Sample>,
    goal: Option<f64>,
    /// An absolute goal: seconds, and peak memory in MB.
    limit: Option<(f64, Option<f64>)>,
    resources: usize,
}

/// How many times `rewind graph` of a directory its plan against itself
/// may take (it parses the directory twice and evaluates it: a small
/// multiple, on every real configuration).
const PLAN_OVER_GRAPH: f64 = 4.0;

/// The issue's absolute goals for graph and plan: under 1 s up to 10k
/// resources, under 5 s and 1 GB at 100k.
fn limit_for(n: usize) -> Option<(f64, Option<f64>)> {
    Some(if n <= 10_000 {
        (1.0, None)
    } else {
        (5.0, Some(1024.0))
    })
}

/// The 1-minute load average (other work on the machine while it ran).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1024
                    / 1024
            })
        })
        .unwrap_or(0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cores} cores ({cpu}), {mem} GiB RAM")
}

fn run(args: &[String]) -> Result<()> {
    let sizes: Vec<usize> = arg(args, "--sizes")
        .unwrap_or_else(|| "1000,10000,100000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let runs: usize = arg(args, "--runs").unwrap_or_else(|| "5".into()).parse()?;
    let factory_projects: usize = arg(args, "--factory-projects")
        .unwrap_or_else(|| "300".into())
        .parse()?;
    let history: usize = arg(args, "--history")
        .unwrap_or_else(|| "1000".into())
        .parse()?;
    let history_size: usize = arg(args, "--history-size")
        .unwrap_or_else(|| "10000".into())
        .parse()?;
    let tf_runs: usize = arg(args, "--terraform-runs")
        .unwrap_or_else(|| "1".into())
        .parse()?;
    let use_tf =
        !flag(args, "--no-terraform") && Command::new("terraform").arg("version").output().is_ok();
    let cwd = std::env::current_dir()?;
    let rewind = cwd.join(arg(args, "--rewind").unwrap_or_else(|| "target/release/rewind".into()));
    if !rewind.exists() {
        bail!(
            "{} not found: build it first (cargo build --release -p rewind-cli)",
            rewind.display()
        );
    }
    let work = cwd.join(arg(args, "--work").unwrap_or_else(|| "bench/work".into()));
    let results = cwd.join(arg(args, "--results").unwrap_or_else(|| "bench/results".into()));
    let git_env = |gitdir: &Path, tree: &Path| {
        vec![
            ("GIT_DIR", gitdir.display().to_string()),
            ("GIT_WORK_TREE", tree.display().to_string()),
            ("GIT_AUTHOR_NAME", "bench".to_string()),
            ("GIT_AUTHOR_EMAIL", "bench@example.com".to_string()),
            ("GIT_COMMITTER_NAME", "bench".to_string()),
            ("GIT_COMMITTER_EMAIL", "bench@example.com".to_string()),
            // A commit of 13,000 new files starts `git gc --auto` detached
            // in the background: it would pack while the next command is
            // timed, and its work would count for nobody.
            ("GIT_CONFIG_COUNT", "2".to_string()),
            ("GIT_CONFIG_KEY_0", "gc.auto".to_string()),
            ("GIT_CONFIG_VALUE_0", "0".to_string()),
            ("GIT_CONFIG_KEY_1", "maintenance.auto".to_string()),
            ("GIT_CONFIG_VALUE_1", "false".to_string()),
        ]
    };
    let mut rows: Vec<Row> = Vec::new();
    // (size, measurement) → phase profile of one extra traced run
    let mut profiles: BTreeMap<(usize, &'static str), String> = BTreeMap::new();
    let mut raw = String::new();
    let mut throughput: Vec<Throughput> = Vec::new();
    let load_start = load_average();
    for &n in &sizes {
        eprintln!("== {n} resources");
        let (base, v1, v2) = versions(&work, n)?;
        let files = walk(&v1)?.len();
        let bytes: u64 = walk(&v1)?
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        let _ = writeln!(
            raw,
            "\n### {n} resources: {files} files, {:.1} MB\n",
            bytes as f64 / 1e6
        );
        let wt = base.join("wt");
        let store = base.join("store");
        let gitdir = base.join("git");
        let rw = |a: &[&str]| rewind_cmd(&rewind, Some(&store), a);
        let mut s: BTreeMap<&str, Vec<Sample>> = BTreeMap::new();
        for r in 0..runs {
            eprintln!("  run {}/{runs}", r + 1);
            // fresh working copy at v1, fresh store and repository
            sync(&v1, &wt)?;
            for d in [&store, &gitdir] {
                if d.exists() {
                    std::fs::remove_dir_all(d)?;
                }
            }
            sh(
                rewind.to_str().unwrap_or("rewind"),
                &["--store", store.to_str().unwrap_or(""), "init", "-q"],
                &base,
            )?;
            sh(
                "git",
                &["init", "-q", "--bare", gitdir.to_str().unwrap_or("")],
                &base,
            )?;
            let genv = git_env(&gitdir, &wt);
            let head = || {
                let dir = gitdir.to_str().unwrap_or("");
                sh("git", &["--git-dir", dir, "rev-parse", "HEAD"], &base)
            };
            // cold
            s.entry("snap_cold").or_default().push(time(
                &[rw(&[
                    "snapshot",
                    wt.to_str().unwrap_or(""),
                    "--tag",
                    "release-1",
                ])],
                &base,
                &[],
            )?);
            s.entry("git_cold").or_default().push(time(
                &[
                    v(&["git", "add", "-A"]),
                    v(&["git", "commit", "-q", "-m", "v1"]),
                ],
                &base,
                &genv,
            )?);
            let c1 = head()?;
            // incremental: the working copy moves to v2
            sync(&v2, &wt)?;
            s.entry("snap_incr").or_default().push(time(
                &[rw(&[
                    "snapshot",
                    wt.to_str().unwrap_or(""),
                    "--tag",
                    "release-2",
                ])],
                &base,
                &[],
            )?);
            s.entry("git_incr").or_default().push(time(
                &[
                    v(&["git", "add", "-A"]),
                    v(&["git", "commit", "-q", "-m", "v2"]),
                ],
                &base,
                &genv,
            )?);
            let c2 = head()?;
            // unchanged
            s.entry("snap_same").or_default().push(time(
                &[rw(&["snapshot", wt.to_str().unwrap_or("")])],
                &base,
                &[],
            )?);
            s.entry("git_status").or_default().push(time(
                &[v(&["git", "status", "--porcelain"])],
                &base,
                &genv,
            )?);
            // diff and plan
            s.entry("diff").or_default().push(time(
                &[rw(&["diff", "release-1", "release-2", "--format", "json"])],
                &base,
                &[],
            )?);
            s.entry("git_diff").or_default().push(time(
                &[v(&["git", "diff", &c1, &c2])],
                &base,
                &genv,
            )?);
            s.entry("plan").or_default().push(time(
                &[rw(&[
                    "plan",
                    "--from",
                    "release-2",
                    "--to",
                    "release-1",
                    "--format",
                    "json",
                ])],
                &base,
                &[],
            )?);
            s.entry("graph").or_default().push(time(
                &[rw(&["graph", "release-1", "--format", "json"])],
                &base,
                &[],
            )?);
            // parse + graph throughput: a whole `rewind graph` of the
            // directory (every file parsed, no store)
            s.entry("graph_dir").or_default().push(time(
                &[rewind_cmd(
                    &rewind,
                    None,
                    &["graph", v1.to_str().unwrap_or(""), "--format", "json"],
                )],
                &base,
                &[],
            )?);
        }
        // One traced run of each rewind measurement, in a store and working
        // copy of its own (its own cache: the cold snapshot is cold).
        eprintln!("  profiles");
        let pstore = base.join("profile-store");
        let pwt = base.join("profile-wt");
        if pstore.exists() {
            std::fs::remove_dir_all(&pstore)?;
        }
        sh(
            rewind.to_str().unwrap_or("rewind"),
            &["--store", pstore.to_str().unwrap_or(""), "init", "-q"],
            &base,
        )?;
        let rp = |a: &[&str]| rewind_cmd(&rewind, Some(&pstore), a);
        let pw = pwt.to_str().unwrap_or("");
        sync(&v1, &pwt)?;
        let cold = profile(&rp(&["snapshot", pw, "--tag", "release-1"]), &base)?;
        profiles.insert((n, "snapshot, cold"), cold);
        sync(&v2, &pwt)?;
        let incr = profile(&rp(&["snapshot", pw, "--tag", "release-2"]), &base)?;
        profiles.insert((n, "snapshot after a 1% change"), incr);
        let same = profile(&rp(&["snapshot", pw]), &base)?;
        profiles.insert((n, "snapshot, unchanged"), same);
        let diff = profile(
            &rp(&["diff", "release-1", "release-2", "--format", "json"]),
            &base,
        )?;
        profiles.insert((n, "diff v1 v2"), diff);
        let plan = profile(
            &rp(&[
                "plan",
                "--from",
                "release-2",
                "--to",
                "release-1",
                "--format",
                "json",
            ]),
            &base,
        )?;
        profiles.insert((n, "plan v2 → v1"), plan);
        let graph = profile(&rp(&["graph", "release-1", "--format", "json"]), &base)?;
        profiles.insert((n, "graph"), graph);
        std::fs::remove_dir_all(&pstore)?;
        std::fs::remove_dir_all(&pwt)?;

        let m = |k: &str| median(&s[k]);
        let _ = writeln!(
            raw,
            "| measurement | runs (s) | processor time of each run (s) | peak RSS (MB) |\n|---|---|---|---|"
        );
        for (k, samples) in &s {
            let list: Vec<String> = samples.iter().map(|x| format!("{:.3}", x.secs)).collect();
            let cpu: Vec<String> = samples.iter().map(|x| format!("{:.2}", x.cpu)).collect();
            let _ = writeln!(
                raw,
                "| {k} | {} | {} | {:.0} |",
                list.join(", "),
                cpu.join(", "),
                median(samples).rss_kb as f64 / 1024.0
            );
        }
        let hcl: u64 = walk(&v1)?
            .iter()
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".tf") || name.ends_with(".tf.json")
            })
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        throughput.push(Throughput {
            size: n,
            what: "graph of a directory (parse + graph)",
            sample: m("graph_dir"),
            bytes: hcl,
            goal_mb_per_core: 30.0,
        });
        profiles.insert(
            (n, "graph of a directory (parse + graph)"),
            profile(
                &rewind_cmd(
                    &rewind,
                    None,
                    &["graph", v1.to_str().unwrap_or(""), "--format", "json"],
                ),
                &base,
            )?,
        );
        rows.push(Row {
            size: n,
            what: "snapshot, cold",
            ours: m("snap_cold"),
            peer_name: "git add -A && git commit",
            peer: Some(m("git_cold")),
            goal: Some(0.5),
            limit: None,
            resources: n,
        });
        rows.push(Row {
            size: n,
            what: "snapshot after a 1% change",
            ours: m("snap_incr"),
            peer_name: "git add -A && git commit",
            peer: Some(m("git_incr")),
            goal: Some(1.0),
            limit: None,
            resources: n,
        });
        rows.push(Row {
            size: n,
            what: "snapshot, unchanged",
            ours: m("snap_same"),
            peer_name: "git status",
            peer: Some(m("git_status")),
            goal: Some(2.0),
            limit: None,
            resources: n,
        });
        rows.push(Row {
            size: n,
            what: "diff v1 v2",
            ours: m("diff"),
            peer_name: "git diff",
            peer: Some(m("git_diff")),
            goal: Some(1.0),
            limit: None,
            resources: n,
        });
        rows.push(Row {
            size: n,
            what: "plan v2 → v1",
            ours: m("plan"),
            peer_name: "-",
            peer: None,
            goal: None,
            limit: limit_for(n),
            resources: n,
        });
        rows.push(Row {
            size: n,
            what: "graph",
            ours: m("graph"),
            peer_name: "-",
            peer: None,
            goal: None,
            limit: limit_for(n),
            resources: n,
        });

        // The terraform_data variant: what Terraform itself can run offline.
        let td = base.join("tfdata");
        let td2 = base.join("tfdata-v2");
        let tmarker = base.join(".generated-tfdata-v2");
        if !tmarker.exists() {
            let o = gen::Options {
                resources: n,
                seed: 42,
                terraform_data: true,
            };
            generate(&o, 1, &td)?;
            // Terraform graphs the configuration; the state is for the plan
            std::fs::remove_file(td.join("terraform.tfstate"))?;
            generate(&o, 2, &td2)?;
            std::fs::write(&tmarker, "seed 42\n")?;
        }
        // rewind plan between the two directories (no store): v2 with its
        // state back to v1
        let (td_s, td2_s) = (td.display().to_string(), td2.display().to_string());
        let td_plan = rewind_cmd(
            &rewind,
            None,
            &["plan", "--from", &td2_s, "--to", &td_s, "--format", "json"],
        );
        let td_graph = rewind_cmd(&rewind, None, &["graph", &td_s]);
        let mut tdplan = Vec::new();
        for r in 0..runs {
            eprintln!("  plan (terraform_data) run {}/{runs}", r + 1);
            tdplan.push(time(std::slice::from_ref(&td_plan), &base, &[])?);
        }
        let _ = writeln!(
            raw,
            "| rewind plan (terraform_data, directories) | {} | {:.0} |",
            tdplan
                .iter()
                .map(|x| format!("{:.3}", x.secs))
                .collect::<Vec<_>>()
                .join(", "),
            median(&tdplan).rss_kb as f64 / 1024.0
        );
        let tdprofile = profile(&td_plan, &base)?;
        profiles.insert((n, "plan v2 → v1 (terraform_data, directories)"), tdprofile);
        let tdgraph = profile(&td_graph, &base)?;
        profiles.insert((n, "graph (terraform_data)"), tdgraph);
        rows.push(Row {
            size: n,
            what: "plan v2 → v1 (terraform_data, directories)",
            ours: median(&tdplan),
            peer_name: "-",
            peer: None,
            goal: None,
            limit: limit_for(n),
            resources: n,
        });
        // rewind graph against terraform graph (Terraform up to 10k)
        if !use_tf || n > 10_000 {
            let mut ours = Vec::new();
            for _ in 0..runs {
                ours.push(time(std::slice::from_ref(&td_graph), &base, &[])?);
            }
            rows.push(Row {
                size: n,
                what: "graph (terraform_data)",
                ours: median(&ours),
                peer_name: "-",
                peer: None,
                goal: None,
                limit: limit_for(n),
                resources: n,
            });
        } else {
            let tf_env = vec![
                ("TF_IN_AUTOMATION", "1".to_string()),
                ("CHECKPOINT_DISABLE", "1".to_string()),
            ];
            if !td.join(".terraform").exists() {
                eprintln!("  terraform init ({n})");
                let _ = time(
                    &[v(&["terraform", "init", "-input=false", "-backend=false"])],
                    &td,
                    &tf_env,
                )?;
            }
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            for r in 0..tf_runs.max(1) {
                eprintln!("  terraform graph run {}/{}", r + 1, tf_runs.max(1));
                ours.push(time(std::slice::from_ref(&td_graph), &base, &[])?);
                theirs.push(time(&[v(&["terraform", "graph"])], &td, &tf_env)?);
            }
            let _ = writeln!(
                raw,
                "| rewind graph (terraform_data) | {} | {:.0} |",
                ours.iter()
                    .map(|x| format!("{:.3}", x.secs))
                    .collect::<Vec<_>>()
                    .join(", "),
                median(&ours).rss_kb as f64 / 1024.0
            );
            let _ = writeln!(
                raw,
                "| terraform graph (terraform_data) | {} | {:.0} |",
                theirs
                    .iter()
                    .map(|x| format!("{:.3}", x.secs))
                    .collect::<Vec<_>>()
                    .join(", "),
                median(&theirs).rss_kb as f64 / 1024.0
            );
            rows.push(Row {
                size: n,
                what: "graph (terraform_data)",
                ours: median(&ours),
                peer_name: "terraform graph",
                peer: Some(median(&theirs)),
                goal: None,
                limit: limit_for(n),
                resources: n,
            });
        }
    }
    // A long history: the same snapshot, diff and plan on a store that
    // already holds many snapshots, against a store holding one.
    if history > 0 {
        rows.extend(history_case(
            &rewind,
            &work,
            history_size,
            history,
            runs,
            &mut raw,
        )?);
    }
    // The shape of the slowest real configuration found (see
    // rewind_bench::factory): plan of the directory against itself (no
    // state: rewind simulates one) against graph of the same directory.
    if factory_projects > 0 {
        let fdir = work.join(format!("factory-{factory_projects}"));
        if !fdir.join("main.tf").exists() {
            rewind_bench::factory::write_factory(&fdir, factory_projects)?;
        }
        let f = fdir.display().to_string();
        let fplan = rewind_cmd(&rewind, None, &["plan", "--from", &f, "--to", &f]);
        let fgraph = rewind_cmd(&rewind, None, &["graph", &f]);
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for r in 0..runs {
            eprintln!("  factory plan and graph run {}/{runs}", r + 1);
            // plan may exit 1 (instances it cannot know without a state
            // file): only its time counts here
            ours.push(time(std::slice::from_ref(&fplan), &work, &[])?);
            theirs.push(time(std::slice::from_ref(&fgraph), &work, &[])?);
        }
        let resources = factory_projects * rewind_bench::factory::RESOURCES_PER_PROJECT;
        let _ = writeln!(
            raw,
            "\n### factory configuration: {factory_projects} projects\n\n| measurement | runs (s) | peak RSS (MB) |\n|---|---|---|\n| plan (directory against itself) | {} | {:.0} |\n| graph | {} | {:.0} |",
            ours.iter().map(|x| format!("{:.3}", x.secs)).collect::<Vec<_>>().join(", "),
            median(&ours).rss_kb as f64 / 1024.0,
            theirs.iter().map(|x| format!("{:.3}", x.secs)).collect::<Vec<_>>().join(", "),
            median(&theirs).rss_kb as f64 / 1024.0,
        );
        profiles.insert(
            (resources, "plan of a factory configuration (no state)"),
            profile(&fplan, &work)?,
        );
        rows.push(Row {
            size: resources,
            what: "plan of a factory configuration (no state)",
            ours: median(&ours),
            peer_name: "rewind graph",
            peer: Some(median(&theirs)),
            goal: Some(PLAN_OVER_GRAPH),
            limit: None,
            resources,
        });
    }
    // The table.
    let mut missed = String::new();
    let mut table = String::from("| resources | measurement | rewind (s) | peer | peer (s) | rewind / peer | goal | rewind RSS (MB) | peer RSS (MB) | rewind CPU (s) | peer CPU (s) | rewind / peer, CPU |\n|---:|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|\n");
    for r in &rows {
        let (peer_s, ratio, peer_rss, peer_cpu, cpu_ratio) = match r.peer {
            Some(p) => (
                format!("{:.3}", p.secs),
                format!("{:.2}", r.ours.secs / p.secs),
                format!("{:.0}", p.rss_kb as f64 / 1024.0),
                format!("{:.2}", p.cpu),
                if p.cpu > 0.0 {
                    format!("{:.2}", r.ours.cpu / p.cpu)
                } else {
                    "-".into()
                },
            ),
            None => (
                "-".into(),
                format!("{:.0} resources/s", r.resources as f64 / r.ours.secs),
                "-".into(),
                "-".into(),
                "-".into(),
            ),
        };
        let goal = match (r.goal, r.peer, r.limit) {
            (Some(g), Some(p), _) => {
                let ok = r.ours.secs / p.secs <= g;
                format!("≤ {g}× {}", if ok { "met" } else { "MISSED" })
            }
            (_, _, Some((secs, rss))) => {
                let mb = r.ours.rss_kb as f64 / 1024.0;
                let ok = r.ours.secs < secs && rss.is_none_or(|m| mb < m);
                let what = match rss {
                    Some(m) => format!("< {secs} s, < {:.0} GB", m / 1024.0),
                    None => format!("< {secs} s"),
                };
                format!("{what} {}", if ok { "met" } else { "MISSED" })
            }
            _ => "-".into(),
        };
        if goal.ends_with("MISSED") {
            let _ = write!(
                missed,
                "\n### {}, {} resources: {:.3} s, {goal}\n\n```\n{}\n```\n",
                r.what,
                r.size,
                r.ours.secs,
                profiles
                    .get(&(r.size, r.what))
                    .map(String::as_str)
                    .unwrap_or("(no profile)")
            );
        }
        let _ = writeln!(
            table,
            "| {} | {} | {:.3} | {} | {peer_s} | {ratio} | {goal} | {:.0} | {peer_rss} | {:.2} | {peer_cpu} | {cpu_ratio} |",
            r.size,
            r.what,
            r.ours.secs,
            r.peer_name,
            r.ours.rss_kb as f64 / 1024.0,
            r.ours.cpu,
        );
    }
    for t in &throughput {
        let mb = t.bytes as f64 / 1e6;
        let per_core = if t.sample.cpu > 0.0 {
            mb / t.sample.cpu
        } else {
            f64::INFINITY
        };
        let ok = per_core >= t.goal_mb_per_core;
        let goal = format!(
            "≥ {} MB/s per core {}",
            t.goal_mb_per_core,
            if ok { "met" } else { "MISSED" }
        );
        if !ok {
            let _ = write!(
                missed,
                "\n### {}, {} resources: {per_core:.1} MB/s per core, {goal}\n\n```\n{}\n```\n",
                t.what,
                t.size,
                profiles
                    .get(&(t.size, t.what))
                    .map(String::as_str)
                    .unwrap_or("(no profile)")
            );
        }
        let _ = writeln!(
            table,
            "| {} | {} ({mb:.1} MB of HCL) | {:.3} | - | - | {per_core:.1} MB/s per core ({:.1} MB/s) | {goal} | {:.0} | - | {:.2} | - | - |",
            t.size,
            t.what,
            t.sample.secs,
            mb / t.sample.secs,
            t.sample.rss_kb as f64 / 1024.0,
            t.sample.cpu,
        );
    }
    println!("{table}");
    let host = sh("hostname", &[], &cwd).unwrap_or_else(|_| "machine".into());
    let date = sh("date", &["-u", "+%Y-%m-%d"], &cwd).unwrap_or_else(|_| "today".into());
    std::fs::create_dir_all(&results)?;
    let versions = format!(
        "{} / {} / {}",
        sh(rewind.to_str().unwrap_or("rewind"), &["--version"], &cwd).unwrap_or_default(),
        sh("git", &["--version"], &cwd).unwrap_or_default(),
        sh("terraform", &["version"], &cwd)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or("")
    );
    let load_end = load_average();
    let doc = format!(
        "# Benchmark {date} on {host}\n\nMachine: {}. Versions: {versions}.\n\nCommand: `rewind-bench run --sizes {} --runs {runs} --terraform-runs {tf_runs}`. Times are wall-clock medians of {runs} runs of whole processes (rewind and git side by side in the same run, same trees), memory is the peak resident set (VmHWM); CPU is the median user + system time of the process (all its threads, from the parent's `cutime` + `cstime`, to 10 ms), which a loaded machine changes much less than wall time. Load average (1 min) when the run started: {load_start}, when it ended: {load_end}. The file system is synced before each timed command, so none pays for the write-back of the one before it, and git's automatic gc is off (after a cold commit it packs in the background, detached, while the next command is being timed). Trees: seed 42, about ten resources per file, ten files per module, with a state file; version 2 changes about 1% of the resources.\n\n{table}\n## Missed goals and their profiles\n\nFor each missed goal, the phases of one more run of the same command with `REWIND_TRACE=1` (time of each phase, then resident and peak memory after it; `(thread)` lines ran alongside the phase that follows them).\n{}\n## Raw numbers\n{raw}",
        machine(),
        sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
        if missed.is_empty() { "\nNone.\n".to_string() } else { missed },
    );
    let file = results.join(format!("{date}-{host}.md"));
    std::fs::write(&file, doc)?;
    eprintln!("results written to {}", file.display());
    Ok(())
}
