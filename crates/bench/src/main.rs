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

/// A throughput case: configuration bytes handled per second of
/// processor time (so per core, whatever the load).
struct Throughput {
    size: usize,
    what: &'static str,
    sample: Sample,
    bytes: u64,
    goal_mb_per_core: f64,
}

/// A line of the summary table: a measurement of rewind, its peer's (if
/// any) and its goal.
struct Row {
    /// Resources.
    size: usize,
    what: &'static str,
    ours: Sample,
    peer_name: &'static str,
    peer: Option<Sample>,
    /// A goal on rewind's time over the peer's.
    goal: Option<f64>,
    /// An absolute goal: seconds, and peak memory in MB.
    limit: Option<(f64, Option<f64>)>,
}

impl Row {
    /// A measurement against a peer's, with a goal on the ratio of times.
    fn against(
        size: usize,
        what: &'static str,
        ours: Sample,
        peer_name: &'static str,
        peer: Sample,
        goal: f64,
    ) -> Row {
        Row {
            size,
            what,
            ours,
            peer_name,
            peer: Some(peer),
            goal: Some(goal),
            limit: None,
        }
    }

    /// A measurement with the issue's absolute goals for its size.
    fn within_limits(size: usize, what: &'static str, ours: Sample) -> Row {
        Row {
            size,
            what,
            ours,
            peer_name: "-",
            peer: None,
            goal: None,
            limit: limit_for(size),
        }
    }
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

/// The machine: cores, processor model and memory.
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

/// The options of `rewind-bench run`, read once from the command line
/// (defaults for those not given).
struct RunOptions {
    /// Tree sizes (resources), measured one after the other.
    sizes: Vec<usize>,
    /// Runs of each rewind and git measurement (the median counts).
    runs: usize,
    /// Runs of `terraform graph` (at least one).
    tf_runs: usize,
    /// Projects of the factory configuration (0: no factory case).
    factory_projects: usize,
    /// Earlier snapshots in the long-history store (0: no history case).
    history: usize,
    /// Resources of the tree of the history case.
    history_size: usize,
    /// Whether `terraform graph` is measured: not turned off, and
    /// Terraform runs here.
    use_tf: bool,
    /// The folder the run started in: the other paths are under it.
    cwd: PathBuf,
    /// The rewind binary measured.
    rewind: PathBuf,
    /// Where trees, stores and repositories are made (and kept).
    work: PathBuf,
    /// Where the results file is written.
    results: PathBuf,
}

impl RunOptions {
    /// Reads the options; fails on a number that does not parse and when
    /// the rewind binary is not there.
    fn parse(args: &[String]) -> Result<RunOptions> {
        let number = |name: &str, default: &str| -> Result<usize> {
            Ok(arg(args, name).unwrap_or_else(|| default.into()).parse()?)
        };
        let sizes: Vec<usize> = arg(args, "--sizes")
            .unwrap_or_else(|| "1000,10000,100000".into())
            .split(',')
            .map(|s| s.trim().parse())
            .collect::<Result<_, _>>()?;
        let runs = number("--runs", "5")?;
        let factory_projects = number("--factory-projects", "300")?;
        let history = number("--history", "1000")?;
        let history_size = number("--history-size", "10000")?;
        let tf_runs = number("--terraform-runs", "1")?;
        let use_tf = !flag(args, "--no-terraform")
            && Command::new("terraform").arg("version").output().is_ok();
        let cwd = std::env::current_dir()?;
        let rewind =
            cwd.join(arg(args, "--rewind").unwrap_or_else(|| "target/release/rewind".into()));
        if !rewind.exists() {
            bail!(
                "{} not found: build it first (cargo build --release -p rewind-cli)",
                rewind.display()
            );
        }
        let work = cwd.join(arg(args, "--work").unwrap_or_else(|| "bench/work".into()));
        let results = cwd.join(arg(args, "--results").unwrap_or_else(|| "bench/results".into()));
        Ok(RunOptions {
            sizes,
            runs,
            tf_runs,
            factory_projects,
            history,
            history_size,
            use_tf,
            cwd,
            rewind,
            work,
            results,
        })
    }

    /// `rewind --store STORE init -q` in `dir`.
    fn init_store(&self, store: &str, dir: &Path) -> Result<()> {
        sh(
            self.rewind.to_str().unwrap_or("rewind"),
            &["--store", store, "init", "-q"],
            dir,
        )?;
        Ok(())
    }
}

/// (size, measurement) → phase profile of one extra traced run.
type Profiles = BTreeMap<(usize, &'static str), String>;

/// A size's samples, by measurement (rewind's and git's side by side).
type Samples = BTreeMap<&'static str, Vec<Sample>>;

/// What the measurements gather for the results file.
#[derive(Default)]
struct Results {
    /// The summary table's rows, in order.
    rows: Vec<Row>,
    /// The throughput rows, listed after the others.
    throughput: Vec<Throughput>,
    /// The profiles shown under missed goals.
    profiles: Profiles,
    /// The "Raw numbers" section (Markdown).
    raw: String,
}

/// The measurements: each size side by side with git (and Terraform),
/// then the long history and the factory configuration; the summary is
/// printed and written to the results file.
fn run(args: &[String]) -> Result<()> {
    let o = RunOptions::parse(args)?;
    let mut out = Results::default();
    let load_start = load_average();
    for &n in &o.sizes {
        SizeCase::new(&o, n)?.measure(&mut out)?;
    }
    // A long history: the same snapshot, diff and plan on a store that
    // already holds many snapshots, against a store holding one.
    if o.history > 0 {
        history_case(&o, &mut out)?;
    }
    if o.factory_projects > 0 {
        factory_case(&o, &mut out)?;
    }
    let (table, missed) = summary(&out);
    println!("{table}");
    write_results(&o, &table, missed, &out.raw, &load_start)
}

/// The arguments of the timed and traced diff (`release-1` to `release-2`).
const DIFF_ARGS: &[&str] = &["diff", "release-1", "release-2", "--format", "json"];
/// The arguments of the timed and traced plan (`release-2` back to `release-1`).
const PLAN_ARGS: &[&str] = &[
    "plan",
    "--from",
    "release-2",
    "--to",
    "release-1",
    "--format",
    "json",
];
/// The arguments of the timed and traced graph of a snapshot.
const GRAPH_ARGS: &[&str] = &["graph", "release-1", "--format", "json"];
/// The throughput measurement (and its profile's name).
const GRAPH_DIR: &str = "graph of a directory (parse + graph)";

/// The environment of git on `gitdir` with the working tree `tree`.
fn git_env(gitdir: &Path, tree: &Path) -> Vec<(&'static str, String)> {
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
}

/// `git add -A && git commit -m MESSAGE`: git's side of a snapshot.
fn git_commit(message: &str) -> [Vec<String>; 2] {
    [
        v(&["git", "add", "-A"]),
        v(&["git", "commit", "-q", "-m", message]),
    ]
}

/// The runs' wall times, `0.123, 0.456`.
fn secs_list(samples: &[Sample]) -> String {
    samples
        .iter()
        .map(|x| format!("{:.3}", x.secs))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest peak RSS of the runs, in MB.
fn peak_mb(samples: &[Sample]) -> f64 {
    median(samples).rss_kb as f64 / 1024.0
}

/// The header of a raw table of runs and peak memory.
const RAW_HEADER: &str = "| measurement | runs (s) | peak RSS (MiB) |\n|---|---|---|";

/// A raw table's line: the runs' times and the peak memory of `what`.
fn raw_line(raw: &mut String, what: &str, samples: &[Sample]) {
    let _ = writeln!(
        raw,
        "| {what} | {} | {:.0} |",
        secs_list(samples),
        peak_mb(samples)
    );
}

/// One size's measurements: its generated trees, and the store, git
/// repository and working copy they are measured in (under `work/n`).
struct SizeCase<'a> {
    o: &'a RunOptions,
    /// Resources.
    n: usize,
    /// `work/n`, where the commands run.
    base: PathBuf,
    /// The tree at version 1.
    v1: PathBuf,
    /// The tree at version 2 (about 1% changed).
    v2: PathBuf,
    /// The working copy that both rewind and git snapshot.
    wt: PathBuf,
    store: PathBuf,
    gitdir: PathBuf,
}

impl<'a> SizeCase<'a> {
    /// The case of `n` resources (its trees generated if not yet there).
    fn new(o: &'a RunOptions, n: usize) -> Result<SizeCase<'a>> {
        eprintln!("== {n} resources");
        let (base, v1, v2) = versions(&o.work, n)?;
        Ok(SizeCase {
            o,
            n,
            wt: base.join("wt"),
            store: base.join("store"),
            gitdir: base.join("git"),
            base,
            v1,
            v2,
        })
    }

    /// Every measurement of this size, in order: the side-by-side runs,
    /// the traced runs, the raw numbers, throughput, the summary rows and
    /// the terraform_data variant.
    fn measure(&self, out: &mut Results) -> Result<()> {
        self.describe(&mut out.raw)?;
        let mut s = Samples::new();
        for r in 0..self.o.runs {
            eprintln!("  run {}/{}", r + 1, self.o.runs);
            self.one_run(&mut s)?;
        }
        self.profiles(&mut out.profiles)?;
        raw_table(&mut out.raw, &s);
        self.throughput(&s, out)?;
        out.rows.extend(self.rows(&s));
        self.terraform_data(out)
    }

    /// The raw section's heading: files and bytes of the tree.
    fn describe(&self, raw: &mut String) -> Result<()> {
        let files = walk(&self.v1)?.len();
        let bytes: u64 = walk(&self.v1)?
            .iter()
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        let _ = writeln!(
            raw,
            "\n### {} resources: {files} files, {:.1} MB\n",
            self.n,
            bytes as f64 / 1e6
        );
        Ok(())
    }

    /// A `rewind -q` command on the case's store.
    fn rw(&self, args: &[&str]) -> Vec<String> {
        rewind_cmd(&self.o.rewind, Some(&self.store), args)
    }

    /// The working copy's path as an argument.
    fn wt_arg(&self) -> &str {
        self.wt.to_str().unwrap_or("")
    }

    /// `rewind graph` of the version-1 directory (no store).
    fn graph_dir_cmd(&self) -> Vec<String> {
        rewind_cmd(
            &self.o.rewind,
            None,
            &["graph", self.v1.to_str().unwrap_or(""), "--format", "json"],
        )
    }

    /// Times `cmds` in the case's folder and adds the sample to `key`'s.
    fn record(
        &self,
        s: &mut Samples,
        key: &'static str,
        cmds: &[Vec<String>],
        env: &[(&str, String)],
    ) -> Result<()> {
        let sample = time(cmds, &self.base, env)?;
        s.entry(key).or_default().push(sample);
        Ok(())
    }

    /// The commit git's HEAD names.
    fn head(&self) -> Result<String> {
        let dir = self.gitdir.to_str().unwrap_or("");
        sh("git", &["--git-dir", dir, "rev-parse", "HEAD"], &self.base)
    }

    /// One run of every side-by-side measurement, from a fresh start.
    fn one_run(&self, s: &mut Samples) -> Result<()> {
        self.fresh()?;
        let genv = git_env(&self.gitdir, &self.wt);
        let c1 = self.snapshot_cold(s, &genv)?;
        let c2 = self.snapshot_incremental(s, &genv)?;
        self.snapshot_unchanged(s, &genv)?;
        self.diff(s, &genv, &c1, &c2)?;
        self.plan(s)?;
        self.graph(s)?;
        self.graph_dir(s)
    }

    /// A fresh working copy at version 1, a fresh store and repository.
    fn fresh(&self) -> Result<()> {
        sync(&self.v1, &self.wt)?;
        for d in [&self.store, &self.gitdir] {
            if d.exists() {
                std::fs::remove_dir_all(d)?;
            }
        }
        self.o
            .init_store(self.store.to_str().unwrap_or(""), &self.base)?;
        sh(
            "git",
            &["init", "-q", "--bare", self.gitdir.to_str().unwrap_or("")],
            &self.base,
        )?;
        Ok(())
    }

    /// The first snapshot and the first commit, into empty ones; returns
    /// the commit.
    fn snapshot_cold(&self, s: &mut Samples, genv: &[(&str, String)]) -> Result<String> {
        let snapshot = self.rw(&["snapshot", self.wt_arg(), "--tag", "release-1"]);
        self.record(s, "snap_cold", &[snapshot], &[])?;
        self.record(s, "git_cold", &git_commit("v1"), genv)?;
        self.head()
    }

    /// The working copy moves to version 2: snapshot and commit again;
    /// returns the commit.
    fn snapshot_incremental(&self, s: &mut Samples, genv: &[(&str, String)]) -> Result<String> {
        sync(&self.v2, &self.wt)?;
        let snapshot = self.rw(&["snapshot", self.wt_arg(), "--tag", "release-2"]);
        self.record(s, "snap_incr", &[snapshot], &[])?;
        self.record(s, "git_incr", &git_commit("v2"), genv)?;
        self.head()
    }

    /// A snapshot of the unchanged working copy, against `git status`.
    fn snapshot_unchanged(&self, s: &mut Samples, genv: &[(&str, String)]) -> Result<()> {
        self.record(
            s,
            "snap_same",
            &[self.rw(&["snapshot", self.wt_arg()])],
            &[],
        )?;
        let status = v(&["git", "status", "--porcelain"]);
        self.record(s, "git_status", &[status], genv)
    }

    /// The diff of the two snapshots, against `git diff` of the commits.
    fn diff(&self, s: &mut Samples, genv: &[(&str, String)], c1: &str, c2: &str) -> Result<()> {
        self.record(s, "diff", &[self.rw(DIFF_ARGS)], &[])?;
        self.record(s, "git_diff", &[v(&["git", "diff", c1, c2])], genv)
    }

    /// The revert plan from version 2 back to version 1.
    fn plan(&self, s: &mut Samples) -> Result<()> {
        self.record(s, "plan", &[self.rw(PLAN_ARGS)], &[])
    }

    /// The graph of the version-1 snapshot.
    fn graph(&self, s: &mut Samples) -> Result<()> {
        self.record(s, "graph", &[self.rw(GRAPH_ARGS)], &[])
    }

    /// Parse + graph throughput: a whole `rewind graph` of the directory
    /// (every file parsed, no store).
    fn graph_dir(&self, s: &mut Samples) -> Result<()> {
        self.record(s, "graph_dir", &[self.graph_dir_cmd()], &[])
    }

    /// One traced run of each rewind measurement, in a store and working
    /// copy of its own (its own cache: the cold snapshot is cold).
    fn profiles(&self, profiles: &mut Profiles) -> Result<()> {
        eprintln!("  profiles");
        let pstore = self.base.join("profile-store");
        let pwt = self.base.join("profile-wt");
        if pstore.exists() {
            std::fs::remove_dir_all(&pstore)?;
        }
        self.o
            .init_store(pstore.to_str().unwrap_or(""), &self.base)?;
        let pw = pwt.to_str().unwrap_or("");
        let mut traced = |what: &'static str, args: &[&str]| -> Result<()> {
            let cmd = rewind_cmd(&self.o.rewind, Some(&pstore), args);
            profiles.insert((self.n, what), profile(&cmd, &self.base)?);
            Ok(())
        };
        sync(&self.v1, &pwt)?;
        traced("snapshot, cold", &["snapshot", pw, "--tag", "release-1"])?;
        sync(&self.v2, &pwt)?;
        traced(
            "snapshot after a 1% change",
            &["snapshot", pw, "--tag", "release-2"],
        )?;
        traced("snapshot, unchanged", &["snapshot", pw])?;
        traced("diff v1 v2", DIFF_ARGS)?;
        traced("plan v2 → v1", PLAN_ARGS)?;
        traced("graph", GRAPH_ARGS)?;
        std::fs::remove_dir_all(&pstore)?;
        std::fs::remove_dir_all(&pwt)?;
        Ok(())
    }

    /// The throughput of parse + graph: bytes of configuration (`.tf`
    /// and `.tf.json`) per second of processor time; and its profile.
    fn throughput(&self, s: &Samples, out: &mut Results) -> Result<()> {
        let hcl: u64 = walk(&self.v1)?
            .iter()
            .filter(|p| {
                let name = p.to_string_lossy();
                name.ends_with(".tf") || name.ends_with(".tf.json")
            })
            .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
            .sum();
        out.throughput.push(Throughput {
            size: self.n,
            what: GRAPH_DIR,
            sample: median(&s["graph_dir"]),
            bytes: hcl,
            goal_mb_per_core: 30.0,
        });
        let traced = profile(&self.graph_dir_cmd(), &self.base)?;
        out.profiles.insert((self.n, GRAPH_DIR), traced);
        Ok(())
    }

    /// The summary rows of the side-by-side measurements.
    fn rows(&self, s: &Samples) -> Vec<Row> {
        let m = |k: &str| median(&s[k]);
        let n = self.n;
        let commit = "git add -A && git commit";
        vec![
            Row::against(
                n,
                "snapshot, cold",
                m("snap_cold"),
                commit,
                m("git_cold"),
                0.5,
            ),
            Row::against(
                n,
                "snapshot after a 1% change",
                m("snap_incr"),
                commit,
                m("git_incr"),
                1.0,
            ),
            Row::against(
                n,
                "snapshot, unchanged",
                m("snap_same"),
                "git status",
                m("git_status"),
                2.0,
            ),
            Row::against(n, "diff v1 v2", m("diff"), "git diff", m("git_diff"), 1.0),
            Row::within_limits(n, "plan v2 → v1", m("plan")),
            Row::within_limits(n, "graph", m("graph")),
        ]
    }

    /// The terraform_data variant of the trees at versions 1 and 2
    /// (generated once; version 1 without its state, which Terraform
    /// would plan against).
    fn terraform_data_trees(&self) -> Result<(PathBuf, PathBuf)> {
        let td = self.base.join("tfdata");
        let td2 = self.base.join("tfdata-v2");
        let tmarker = self.base.join(".generated-tfdata-v2");
        if !tmarker.exists() {
            let o = gen::Options {
                resources: self.n,
                seed: 42,
                terraform_data: true,
            };
            generate(&o, 1, &td)?;
            // Terraform graphs the configuration; the state is for the plan
            std::fs::remove_file(td.join("terraform.tfstate"))?;
            generate(&o, 2, &td2)?;
            std::fs::write(&tmarker, "seed 42\n")?;
        }
        Ok((td, td2))
    }

    /// The terraform_data variant: what Terraform itself can run offline.
    /// rewind plan between the two directories (no store), and rewind
    /// graph against terraform graph.
    fn terraform_data(&self, out: &mut Results) -> Result<()> {
        let (td, td2) = self.terraform_data_trees()?;
        let (td_s, td2_s) = (td.display().to_string(), td2.display().to_string());
        // v2 with its state back to v1
        let td_plan = rewind_cmd(
            &self.o.rewind,
            None,
            &["plan", "--from", &td2_s, "--to", &td_s, "--format", "json"],
        );
        let td_graph = rewind_cmd(&self.o.rewind, None, &["graph", &td_s]);
        self.terraform_data_plan(&td_plan, out)?;
        let tdgraph = profile(&td_graph, &self.base)?;
        out.profiles
            .insert((self.n, "graph (terraform_data)"), tdgraph);
        if !self.o.use_tf || self.n > 10_000 {
            self.graph_alone(&td_graph, out)
        } else {
            self.graph_against_terraform(&td, &td_graph, out)
        }
    }

    /// The plan between the terraform_data directories: runs, profile, row.
    fn terraform_data_plan(&self, td_plan: &[String], out: &mut Results) -> Result<()> {
        const WHAT: &str = "plan v2 → v1 (terraform_data, directories)";
        let runs = self.o.runs;
        let mut tdplan = Vec::new();
        for r in 0..runs {
            eprintln!("  plan (terraform_data) run {}/{runs}", r + 1);
            tdplan.push(time(&[td_plan.to_vec()], &self.base, &[])?);
        }
        raw_line(
            &mut out.raw,
            "rewind plan (terraform_data, directories)",
            &tdplan,
        );
        let tdprofile = profile(td_plan, &self.base)?;
        out.profiles.insert((self.n, WHAT), tdprofile);
        out.rows
            .push(Row::within_limits(self.n, WHAT, median(&tdplan)));
        Ok(())
    }

    /// rewind graph of the terraform_data tree, with no Terraform to
    /// compare (not installed, turned off, or over 10k resources).
    fn graph_alone(&self, td_graph: &[String], out: &mut Results) -> Result<()> {
        let mut ours = Vec::new();
        for _ in 0..self.o.runs {
            ours.push(time(&[td_graph.to_vec()], &self.base, &[])?);
        }
        out.rows.push(Row::within_limits(
            self.n,
            "graph (terraform_data)",
            median(&ours),
        ));
        Ok(())
    }

    /// rewind graph against terraform graph of the terraform_data tree
    /// (after a `terraform init` when it has none).
    fn graph_against_terraform(
        &self,
        td: &Path,
        td_graph: &[String],
        out: &mut Results,
    ) -> Result<()> {
        let tf_env = vec![
            ("TF_IN_AUTOMATION", "1".to_string()),
            ("CHECKPOINT_DISABLE", "1".to_string()),
        ];
        if !td.join(".terraform").exists() {
            eprintln!("  terraform init ({})", self.n);
            let _ = time(
                &[v(&["terraform", "init", "-input=false", "-backend=false"])],
                td,
                &tf_env,
            )?;
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let tf_runs = self.o.tf_runs.max(1);
        for r in 0..tf_runs {
            eprintln!("  terraform graph run {}/{tf_runs}", r + 1);
            ours.push(time(&[td_graph.to_vec()], &self.base, &[])?);
            theirs.push(time(&[v(&["terraform", "graph"])], td, &tf_env)?);
        }
        raw_line(&mut out.raw, "rewind graph (terraform_data)", &ours);
        raw_line(&mut out.raw, "terraform graph (terraform_data)", &theirs);
        out.rows.push(Row {
            peer_name: "terraform graph",
            peer: Some(median(&theirs)),
            ..Row::within_limits(self.n, "graph (terraform_data)", median(&ours))
        });
        Ok(())
    }
}

/// A size's raw table: every run's time and processor time, and the peak
/// memory, of each measurement.
fn raw_table(raw: &mut String, s: &Samples) {
    let _ = writeln!(
        raw,
        "| measurement | runs (s) | processor time of each run (s) | peak RSS (MiB) |\n|---|---|---|---|"
    );
    for (k, samples) in s {
        let cpu: Vec<String> = samples.iter().map(|x| format!("{:.2}", x.cpu)).collect();
        let _ = writeln!(
            raw,
            "| {k} | {} | {} | {:.0} |",
            secs_list(samples),
            cpu.join(", "),
            peak_mb(samples)
        );
    }
}

/// The history case's trees and folder.
struct History<'a> {
    o: &'a RunOptions,
    /// `work/history-SIZE`.
    hdir: PathBuf,
    v1: PathBuf,
    v2: PathBuf,
}

/// (measurement, earlier snapshots) → samples.
type HistorySamples = BTreeMap<(&'static str, usize), Vec<Sample>>;

/// Snapshot (after a 1% change), diff and plan of the newest snapshot on
/// a store holding `history` earlier snapshots of a `size`-resource tree
/// (each a small change: a few new objects, new packs), against the same
/// commands on a store holding one; goal: within 1.2×.
fn history_case(o: &RunOptions, out: &mut Results) -> Result<()> {
    let (size, history) = (o.history_size, o.history);
    let (_, v1, v2) = versions(&o.work, size)?;
    let hdir = o.work.join(format!("history-{size}"));
    std::fs::create_dir_all(&hdir)?;
    let h = History { o, hdir, v1, v2 };
    let mut samples = HistorySamples::new();
    let stores: Vec<(usize, PathBuf, PathBuf)> = [0, history]
        .into_iter()
        .map(|steps| {
            let store = h.hdir.join(format!("store-{steps}"));
            let wt = h.hdir.join(format!("wt-{steps}"));
            (steps, store, wt)
        })
        .collect();
    for (steps, store, wt) in &stores {
        h.build(store, wt, *steps)?;
    }
    // the two stores' runs interleaved, so that the machine's load, which
    // changes over minutes, weighs on both alike
    for r in 0..o.runs {
        for (steps, store, wt) in &stores {
            eprintln!(
                "  history {} snapshots, run {}/{}",
                steps + 1,
                r + 1,
                o.runs
            );
            h.time(store, wt, *steps, &mut samples)?;
        }
    }
    std::fs::remove_dir_all(h.hdir.join("run-store"))?;
    let _ = writeln!(
        out.raw,
        "\n### history: {size} resources, a store of 1 and of {} snapshots\n\n{RAW_HEADER}",
        history + 1
    );
    for ((what, steps), list) in &samples {
        raw_line(
            &mut out.raw,
            &format!("{what}, {} snapshots", steps + 1),
            list,
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
    };
    out.rows.extend([
        row(
            "snapshot after a 1% change, long history",
            "snapshot after a 1% change",
        ),
        row("diff, long history", "diff"),
        row("plan, long history", "plan"),
    ]);
    Ok(())
}

impl History<'_> {
    /// The store of `steps` + 1 snapshots of the version-1 tree (each of
    /// the first `steps` with one local changed, the last tagged `base`),
    /// built once: a marker file says it is done.
    fn build(&self, store: &Path, wt: &Path, steps: usize) -> Result<()> {
        let done = self.hdir.join(format!(".built-{steps}"));
        if done.exists() {
            return Ok(());
        }
        let rewind = self.o.rewind.to_str().unwrap_or("rewind");
        let (st, w) = (store.display().to_string(), wt.display().to_string());
        eprintln!("  history: a store of {} snapshots", steps + 1);
        if store.exists() {
            std::fs::remove_dir_all(store)?;
        }
        self.o.init_store(&st, &self.hdir)?;
        sync(&self.v1, wt)?;
        let step_file = wt.join("bench_history.tf");
        for i in 0..steps {
            std::fs::write(
                &step_file,
                format!("locals {{\n  bench_history_step = {i}\n}}\n"),
            )?;
            sh(rewind, &["--store", &st, "snapshot", &w, "-q"], &self.hdir)?;
        }
        if step_file.exists() {
            std::fs::remove_file(&step_file)?;
        }
        sh(
            rewind,
            &["--store", &st, "snapshot", &w, "--tag", "base", "-q"],
            &self.hdir,
        )?;
        std::fs::write(&done, "built\n")?;
        Ok(())
    }

    /// One run on a copy of `store` (so each starts from the same one):
    /// snapshot of version 2 tagged `next`, diff and plan between `base`
    /// and `next`.
    fn time(
        &self,
        store: &Path,
        wt: &Path,
        steps: usize,
        samples: &mut HistorySamples,
    ) -> Result<()> {
        let (st, w) = (store.display().to_string(), wt.display().to_string());
        let run_store = self.hdir.join("run-store");
        let rs = run_store.display().to_string();
        if run_store.exists() {
            std::fs::remove_dir_all(&run_store)?;
        }
        sh("cp", &["-a", &st, &rs], &self.hdir)?;
        sync(&self.v2, wt)?;
        let mut timed = |what: &'static str, args: &[&str]| -> Result<()> {
            let cmd = rewind_cmd(&self.o.rewind, Some(&run_store), args);
            let sample = time(&[cmd], &self.hdir, &[])?;
            samples.entry((what, steps)).or_default().push(sample);
            Ok(())
        };
        timed(
            "snapshot after a 1% change",
            &["snapshot", &w, "--tag", "next"],
        )?;
        timed("diff", &["diff", "base", "next", "--format", "json"])?;
        timed(
            "plan",
            &["plan", "--from", "next", "--to", "base", "--format", "json"],
        )?;
        sync(&self.v1, wt)?;
        Ok(())
    }
}

/// The shape of the slowest real configuration found (see
/// rewind_bench::factory): plan of the directory against itself (no
/// state: rewind simulates one) against graph of the same directory.
fn factory_case(o: &RunOptions, out: &mut Results) -> Result<()> {
    const WHAT: &str = "plan of a factory configuration (no state)";
    let projects = o.factory_projects;
    let fdir = o.work.join(format!("factory-{projects}"));
    if !fdir.join("main.tf").exists() {
        rewind_bench::factory::write_factory(&fdir, projects)?;
    }
    let f = fdir.display().to_string();
    let fplan = rewind_cmd(&o.rewind, None, &["plan", "--from", &f, "--to", &f]);
    let fgraph = rewind_cmd(&o.rewind, None, &["graph", &f]);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for r in 0..o.runs {
        eprintln!("  factory plan and graph run {}/{}", r + 1, o.runs);
        // plan may exit 1 (instances it cannot know without a state
        // file): only its time counts here
        ours.push(time(std::slice::from_ref(&fplan), &o.work, &[])?);
        theirs.push(time(std::slice::from_ref(&fgraph), &o.work, &[])?);
    }
    let resources = projects * rewind_bench::factory::RESOURCES_PER_PROJECT;
    let _ = writeln!(
        out.raw,
        "\n### factory configuration: {projects} projects\n\n{RAW_HEADER}"
    );
    raw_line(&mut out.raw, "plan (directory against itself)", &ours);
    raw_line(&mut out.raw, "graph", &theirs);
    out.profiles
        .insert((resources, WHAT), profile(&fplan, &o.work)?);
    out.rows.push(Row::against(
        resources,
        WHAT,
        median(&ours),
        "rewind graph",
        median(&theirs),
        PLAN_OVER_GRAPH,
    ));
    Ok(())
}

/// The summary table's header.
const TABLE_HEADER: &str = "| resources | measurement | rewind (s) | peer | peer (s) | rewind / peer | goal | rewind RSS (MiB) | peer RSS (MiB) | rewind CPU (s) | peer CPU (s) | rewind / peer, CPU |\n|---:|---|---:|---|---:|---:|---|---:|---:|---:|---:|---:|\n";

/// The summary table (Markdown) of every row and throughput, and the
/// missed goals, each with the profile of its measurement.
fn summary(out: &Results) -> (String, String) {
    let mut missed = String::new();
    let mut table = String::from(TABLE_HEADER);
    for r in &out.rows {
        let goal = goal_cell(r);
        if goal.ends_with("MISSED") {
            let _ = write!(
                missed,
                "\n### {}, {} resources: {:.3} s, {goal}\n\n```\n{}\n```\n",
                r.what,
                r.size,
                r.ours.secs,
                profile_of(&out.profiles, r.size, r.what)
            );
        }
        let (peer_s, ratio, peer_rss, peer_cpu, cpu_ratio) = peer_cells(r);
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
    for t in &out.throughput {
        throughput_line(t, &out.profiles, &mut table, &mut missed);
    }
    (table, missed)
}

/// The traced profile of a measurement, or a note that there is none.
fn profile_of<'a>(profiles: &'a Profiles, size: usize, what: &'static str) -> &'a str {
    profiles
        .get(&(size, what))
        .map(String::as_str)
        .unwrap_or("(no profile)")
}

/// A row's peer cells: seconds, ratio, memory, processor time and its
/// ratio (resources per second instead of a ratio when there is no peer).
fn peer_cells(r: &Row) -> (String, String, String, String, String) {
    match r.peer {
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
            format!("{:.0} resources/s", r.size as f64 / r.ours.secs),
            "-".into(),
            "-".into(),
            "-".into(),
        ),
    }
}

/// A row's goal and whether it was met (`... met` or `... MISSED`), or
/// `-` when it has none.
fn goal_cell(r: &Row) -> String {
    match (r.goal, r.peer, r.limit) {
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
    }
}

/// A throughput's line of the summary table (and its missed goal).
fn throughput_line(t: &Throughput, profiles: &Profiles, table: &mut String, missed: &mut String) {
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
            profile_of(profiles, t.size, t.what)
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

/// Writes the results file, `RESULTS/DATE-HOST.md`: the machine, the
/// versions, the method, the summary table, the missed goals with their
/// profiles and the raw numbers.
fn write_results(
    o: &RunOptions,
    table: &str,
    missed: String,
    raw: &str,
    load_start: &str,
) -> Result<()> {
    let cwd = &o.cwd;
    let host = sh("hostname", &[], cwd).unwrap_or_else(|_| "machine".into());
    let date = sh("date", &["-u", "+%Y-%m-%d"], cwd).unwrap_or_else(|_| "today".into());
    std::fs::create_dir_all(&o.results)?;
    let versions = format!(
        "{} / {} / {}",
        sh(o.rewind.to_str().unwrap_or("rewind"), &["--version"], cwd).unwrap_or_default(),
        sh("git", &["--version"], cwd).unwrap_or_default(),
        sh("terraform", &["version"], cwd)
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or("")
    );
    let load_end = load_average();
    let runs = o.runs;
    let tf_runs = o.tf_runs;
    let doc = format!(
        "# Benchmark {date} on {host}\n\nMachine: {}. Versions: {versions}.\n\nCommand: `rewind-bench run --sizes {} --runs {runs} --terraform-runs {tf_runs}`. Times are wall-clock medians of {runs} runs of whole processes (rewind and git side by side in the same run, same trees), memory is the peak resident set (VmHWM), in MiB (600 MB is 572 MiB); CPU is the median user + system time of the process (all its threads, from the parent's `cutime` + `cstime`, to 10 ms), which a loaded machine changes much less than wall time. Load average (1 min) when the run started: {load_start}, when it ended: {load_end}. The file system is synced before each timed command, so none pays for the write-back of the one before it, and git's automatic gc is off (after a cold commit it packs in the background, detached, while the next command is being timed). Trees: seed 42, about ten resources per file, ten files per module, with a state file; version 2 changes about 1% of the resources.\n\n{table}\n## Missed goals and their profiles\n\nFor each missed goal, the phases of one more run of the same command with `REWIND_TRACE=1` (time of each phase, then resident and peak memory after it; `(thread)` lines ran alongside the phase that follows them).\n{}\n## Raw numbers\n{raw}",
        machine(),
        o.sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
        if missed.is_empty() { "\nNone.\n".to_string() } else { missed },
    );
    let file = o.results.join(format!("{date}-{host}.md"));
    std::fs::write(&file, doc)?;
    eprintln!("results written to {}", file.display());
    Ok(())
}
