//! Every DOT and Mermaid picture rewind draws, checked by the real tools
//! (`#[ignore]`d: run by `.ci/run`, which installs graphviz, Debian's
//! chromium and the pinned `mermaid` npm package; they fail, never skip,
//! when a tool is missing):
//!
//! - DOT (`graph`, with and without filters, and `plan --format dot`) is
//!   drawn by graphviz's `dot -Tsvg` with nothing on its standard error;
//! - Mermaid (`graph --format mermaid`) is parsed by the real mermaid
//!   (`tests/tools/mermaid`, its exact version pinned there) in a headless
//!   Chromium with the network cut, under Mermaid's default limits (500
//!   edges, 50,000 characters); the whole graphs of the shop and the
//!   largest charts are also rendered (rendering is what enforces
//!   `maxTextSize`, and takes a second or more a chart).
//!
//! The inputs: the bundled application's five releases, every Terraform
//! oracle configuration under `fixtures/oracle`, the odd syntax of
//! `fixtures/hcl`, labels made of quotes, brackets, entities, unicode and
//! Mermaid's reserved words, and, when `REWIND_CORPUS` names the shared
//! corpus, every release of the real modules there (terraform-aws-vpc,
//! terraform-aws-s3-bucket) and the examples of their newest releases.
//! `diff` and `incident` have no DOT or Mermaid form and `plan` no Mermaid
//! form: they refuse those formats with an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;
use crate::html::{chromium, headless};
use crate::reports::assert_mermaid_limits;

/// The folder of the pinned mermaid package (`package.json`,
/// `package-lock.json`; `node_modules` after `npm ci`).
fn mermaid_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/tools/mermaid")
}

/// A program on the `PATH`, or the path an environment variable names.
fn tool(var: &str, name: &str, install: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed: {install}, or set {var}");
}

fn dot_bin() -> PathBuf {
    tool(
        "DOT",
        "dot",
        ".ci/run installs graphviz (apt-get install -y graphviz)",
    )
}

/// `dot -Tsvg` of `text`: an error message when graphviz refuses it or
/// writes anything to its standard error (a warning is a failure too).
fn dot_check(dot: &Path, text: &str) -> Result<(), String> {
    let mut child = Command::new(dot)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dot");
    let mut stdin = child.stdin.take().expect("dot's stdin");
    let input = text.to_string();
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().expect("dot's output");
    writer.join().expect("writing to dot");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let svg = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("dot exited {}: {stderr}", out.status));
    }
    if !stderr.trim().is_empty() {
        return Err(format!("dot warned: {stderr}"));
    }
    if !svg.contains("</svg>") {
        return Err("dot wrote no SVG".into());
    }
    Ok(())
}

/// One picture to check: the command that drew it, and the text.
pub(crate) struct Picture {
    pub name: String,
    pub text: String,
}

/// `rewind graph DIR --format FORMAT`, whole and filtered (the module
/// filter with the directory's first module, when it has one).
fn graph_pictures(t: &Scratch, name: &str, dir: &Path, format: &str) -> Vec<Picture> {
    let json = t.run(&["graph", s(dir), "--format", "json"]).ok().json();
    let first_module = json["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["kind"] == "module")
        .and_then(|n| n["address"].as_str())
        .and_then(|a| a.strip_prefix("module."))
        .map(|m| m.split(['.', '[']).next().unwrap_or(m).to_string());
    let mut views: Vec<Vec<String>> = vec![
        vec![],
        vec!["--resources-only".into()],
        vec!["--depth".into(), "0".into()],
        vec!["--depth".into(), "1".into(), "--resources-only".into()],
    ];
    if let Some(m) = first_module {
        views.push(vec!["--module".into(), m]);
    }
    views
        .into_iter()
        .map(|view| {
            let mut args = vec!["graph", s(dir), "--format", format];
            args.extend(view.iter().map(String::as_str));
            Picture {
                name: format!("{name}: rewind {}", args.join(" ")),
                text: t.run(&args).ok().stdout,
            }
        })
        .collect()
}

/// `plan --format dot` from `from` to `to` (each a directory), with
/// `extra` arguments.
fn plan_picture(t: &Scratch, name: &str, from: &Path, to: &Path, extra: &[&str]) -> Picture {
    let mut args = vec!["plan", "--from", s(from), "--to", s(to), "--format", "dot"];
    args.extend(extra);
    let r = t.run(&args);
    // 3: a plan Terraform would refuse (prevent_destroy), printed all the same
    assert!(
        r.code == 0 || r.code == 3,
        "rewind {} exited {}: {}",
        args.join(" "),
        r.code,
        r.stderr
    );
    Picture {
        name: format!("{name}: rewind {}", args.join(" ")),
        text: r.stdout,
    }
}

/// The subfolders of `dir`, sorted.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// A configuration whose addresses, keys, module names and directory
/// name hold what DOT and Mermaid treat specially: quotes, backslashes,
/// brackets, HTML, entities, comments, directives, arrows, unicode,
/// reserved words, keys that start with a digit, a newline. Returns it
/// and a configuration without resources (to plan to and from).
pub(crate) fn odd_labels(t: &Scratch) -> (PathBuf, PathBuf) {
    let dir = t.path("odd \"infra\" <v2> #quot; [x]");
    std::fs::create_dir_all(dir.join("modules/end")).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        r##"variable "keys" {
  type = set(string)
  default = ["1", "2x", "end", "a\"b", "<b>bold</b>", "x\\y", "café ☕ 日本", "#quot;", "#35;", "a;b", "{x}", "%%", "%%{init: {}}%%", "`md`", "--> n0", "a\nb", "[x]", "(y)", "graph TD", "&amp;", "click", "style", "subgraph", "\\l", "x\\"]
}

resource "terraform_data" "end" {
  for_each = var.keys
  input    = each.key
}

resource "terraform_data" "_1" {
  input = [for k, v in terraform_data.end : v.id]
}

module "end" {
  source = "./modules/end"
  x      = terraform_data._1.id
}

module "subgraph" {
  source = "./modules/end"
  x      = module.end.y
}

output "graph" {
  value = module.subgraph.y
}
"##,
    )
    .unwrap();
    std::fs::write(
        dir.join("modules/end/main.tf"),
        "variable \"x\" {}\nresource \"terraform_data\" \"class\" {\n  input = var.x\n}\noutput \"y\" {\n  value = terraform_data.class.id\n}\n",
    )
    .unwrap();
    let empty = t.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("main.tf"), "locals {}\n").unwrap();
    (dir, empty)
}

/// The configurations whose graphs are drawn: the shop's five releases,
/// the odd labels, every oracle graph case, the oracle plan cases with
/// modules, `fixtures/hcl`, and the shared corpus when `REWIND_CORPUS`
/// names it.
fn graph_dirs(t: &Scratch) -> Vec<(String, PathBuf)> {
    let mut dirs: Vec<(String, PathBuf)> =
        (1..=5).map(|v| (format!("shop v{v}"), shop(v))).collect();
    dirs.push(("odd labels".into(), odd_labels(t).0));
    let oracle = fixtures().join("oracle");
    for case in subdirs(&oracle.join("graph")) {
        dirs.push(("oracle graph".into(), case.join("config")));
    }
    for set in ["plan", "plan2", "tfjson"] {
        for case in subdirs(&oracle.join(set)) {
            let dir = case.join("current");
            if dir.join("modules").is_dir() {
                dirs.push((format!("oracle {set}"), dir));
            }
        }
    }
    dirs.push(("hcl syntax".into(), fixtures().join("hcl")));
    dirs.extend(corpus().unwrap_or_default());
    dirs
}

/// Every `plan --format dot`: between every two releases of the shop,
/// to and from the odd labels, and every oracle revert (with its state).
fn plan_pictures(t: &Scratch) -> Vec<Picture> {
    let mut out = Vec::new();
    for a in 1..=5 {
        for b in 1..=5 {
            if a != b {
                out.push(plan_picture(t, "shop", &shop(a), &shop(b), &[]));
            }
        }
    }
    out.push(plan_picture(
        t,
        "shop, protected destroys allowed",
        &shop(4),
        &shop(1),
        &["--allow-destroy-protected"],
    ));
    let (odd, empty) = odd_labels(t);
    out.push(plan_picture(t, "odd labels", &empty, &odd, &[]));
    out.push(plan_picture(t, "odd labels", &odd, &empty, &[]));
    let oracle = fixtures().join("oracle");
    for set in ["plan", "plan2", "tfjson"] {
        for case in subdirs(&oracle.join(set)) {
            let state = case.join("current.tfstate");
            out.push(plan_picture(
                t,
                set,
                &case.join("current"),
                &case.join("target"),
                &["--state", s(&state)],
            ));
        }
    }
    out
}

/// The roots of the shared corpus (`REWIND_CORPUS`, set by `.ci/run` when
/// the machine has it): each release of each module, and the examples of
/// its newest release (the examples of older releases draw the same
/// modules; dot takes seconds on each of the largest).
fn corpus() -> Option<Vec<(String, PathBuf)>> {
    let dir = PathBuf::from(std::env::var_os("REWIND_CORPUS")?);
    assert!(
        dir.is_dir(),
        "REWIND_CORPUS={} is not a directory",
        dir.display()
    );
    let mut roots = Vec::new();
    for module in subdirs(&dir) {
        let releases = subdirs(&module);
        let newest = releases.iter().max_by_key(|r| release_number(r)).cloned();
        for release in releases {
            let name = release
                .strip_prefix(&dir)
                .unwrap_or(&release)
                .display()
                .to_string();
            let examples = release.join("examples");
            let is_newest = Some(&release) == newest.as_ref();
            roots.push((name.clone(), release));
            if examples.is_dir() && is_newest {
                for ex in subdirs(&examples) {
                    let n = format!(
                        "{name}/examples/{}",
                        ex.file_name().unwrap_or_default().to_string_lossy()
                    );
                    roots.push((n, ex));
                }
            }
        }
    }
    assert!(
        !roots.is_empty(),
        "no module release under {}",
        dir.display()
    );
    Some(roots)
}

/// `v5.15.3` as numbers, to sort releases.
fn release_number(dir: &Path) -> Vec<u64> {
    dir.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Checks `pictures` with `check` on two threads; the failures, each
/// with the command that drew the picture.
fn failures(
    pictures: &[Picture],
    check: impl Fn(&str) -> Result<(), String> + Sync,
) -> Vec<String> {
    let half = pictures.len().div_ceil(2);
    std::thread::scope(|scope| {
        let workers: Vec<_> = pictures
            .chunks(half.max(1))
            .map(|chunk| {
                let check = &check;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|p| check(&p.text).err().map(|e| format!("{}: {e}", p.name)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a checking thread"))
            .collect()
    })
}

#[test]
#[ignore = "needs graphviz: run by .ci/run"]
fn graphviz_draws_every_dot_picture_without_a_warning() {
    let dot = dot_bin();
    // the check itself can fail: a broken string, and a warning
    assert!(dot_check(&dot, "digraph G {\n  \"a\"b\" -> c;\n}\n").is_err());
    let warned = dot_check(&dot, "digraph G {\n  a [style = wobbly];\n}\n");
    assert!(warned.is_err(), "a warning is a failure: {warned:?}");
    dot_check(&dot, "digraph G {\n  \"a\" -> \"b\";\n}\n").expect("a plain graph");

    let t = Scratch::new("render-dot");
    let mut pictures = plan_pictures(&t);
    let plans = pictures.len();
    for (name, dir) in graph_dirs(&t) {
        pictures.extend(graph_pictures(&t, &name, &dir, "dot"));
    }
    assert!(plans > 250, "{plans} plans");
    assert!(pictures.len() > plans + 150, "{} pictures", pictures.len());
    for p in &pictures {
        assert!(
            p.text.starts_with("digraph "),
            "{}: not DOT:\n{}",
            p.name,
            p.text
        );
    }
    let failed = failures(&pictures, |text| dot_check(&dot, text));
    assert!(
        failed.is_empty(),
        "{} of {} DOT pictures refused by graphviz:\n{}",
        failed.len(),
        pictures.len(),
        failed.join("\n")
    );
}

/// The pinned version of mermaid (`tests/tools/mermaid/package.json`)
/// and the path of its browser bundle, which must be installed at that
/// version.
fn mermaid_bundle() -> (String, PathBuf) {
    let dir = mermaid_dir();
    let pkg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap()).unwrap();
    let pinned = pkg["dependencies"]["mermaid"]
        .as_str()
        .expect("mermaid pinned in package.json")
        .to_string();
    let install = format!(
        "the mermaid package is not installed: .ci/run installs it (npm ci --prefix {})",
        dir.display()
    );
    let installed = std::fs::read_to_string(dir.join("node_modules/mermaid/package.json"))
        .unwrap_or_else(|_| panic!("{install}"));
    let installed: serde_json::Value = serde_json::from_str(&installed).unwrap();
    assert_eq!(
        installed["version"].as_str(),
        Some(pinned.as_str()),
        "the mermaid installed is not the one pinned: {install}"
    );
    let bundle = dir.join("node_modules/mermaid/dist/mermaid.min.js");
    assert!(bundle.is_file(), "{install}");
    (pinned, bundle)
}

/// Parses every chart with the real mermaid in headless Chromium (network
/// cut), and renders those `render` marks (rendering a chart takes a
/// second or more); returns mermaid's limits as configured and one result
/// per chart (`name`, `ok`, `error`).
fn mermaid_check(t: &Scratch, charts: &[Picture], render: &[bool]) -> serde_json::Value {
    let (_, bundle) = mermaid_bundle();
    let list: Vec<serde_json::Value> = charts
        .iter()
        .zip(render)
        .map(|(c, r)| serde_json::json!({ "name": c.name, "text": c.text, "render": r }))
        .collect();
    let data = t.path("charts.js");
    std::fs::write(
        &data,
        format!("window.CHARTS = {};\n", serde_json::Value::Array(list)),
    )
    .unwrap();
    let page = t.path("mermaid.html");
    let url = |p: &Path| format!("file://{}", p.display()).replace(' ', "%20");
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n<pre id=\"results\">not run</pre>\n<script src=\"{}\"></script>\n<script src=\"{}\"></script>\n<script src=\"{}\"></script>\n</body></html>\n",
            url(&data),
            url(&bundle),
            url(&mermaid_dir().join("check.js"))
        ),
    )
    .unwrap();
    let profile = t.path("chromium-profile");
    let out = headless(&profile)
        // the page's promises run to the end before the DOM is dumped
        .args(["--virtual-time-budget=3600000", "--dump-dom"])
        .arg(url(&page))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let results = dom
        .split_once("<pre id=\"results\">")
        .and_then(|(_, r)| r.split_once("</pre>"))
        .map(|(r, _)| r)
        .unwrap_or_else(|| panic!("no results in the page:\n{dom}"));
    serde_json::from_str(results).unwrap_or_else(|e| {
        panic!(
            "the page did not finish ({e}): {results}\nchromium: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
#[ignore = "needs chromium and the mermaid package: run by .ci/run"]
fn mermaid_parses_and_renders_every_chart_within_its_default_limits() {
    // the tools first: a missing one fails at once, saying how to install it
    chromium();
    mermaid_bundle();
    let t = Scratch::new("render-mermaid");
    let mut charts = Vec::new();
    for (name, dir) in graph_dirs(&t) {
        charts.extend(graph_pictures(&t, &name, &dir, "mermaid"));
    }
    // the largest charts rewind draws: a flat chain cut to fit, and one
    // of 60 modules collapsed
    let (flat, _) = crate::reports::chain(&t, "flat", 800);
    let r = t.run(&["graph", &flat, "--format", "mermaid"]).ok();
    assert!(r.stdout.contains("still too large"));
    charts.push(Picture {
        name: "a chain of 800 resources".into(),
        text: r.stdout,
    });
    assert!(charts.len() > 150, "{} charts", charts.len());
    for c in &charts {
        assert_mermaid_limits(&c.text);
    }
    let largest = charts.iter().map(|c| c.text.len()).max().unwrap_or(0);
    assert!(
        largest > 30_000,
        "the largest chart has {largest} characters"
    );
    let n = charts.len();
    // the check itself can fail: a broken chart, one edge too many, one
    // character too many
    charts.push(Picture {
        name: "control: unescaped quote".into(),
        text: "flowchart RL\n  n0[\"a\"b\"]\n".into(),
    });
    let many: String = (0..501).map(|i| format!("  a{i} --> b{i}\n")).collect();
    charts.push(Picture {
        name: "control: 501 edges".into(),
        text: format!("flowchart RL\n{many}"),
    });
    let long: String = (0..800)
        .map(|i| format!("  n{i}[\"{}\"]\n", "x".repeat(60)))
        .collect();
    charts.push(Picture {
        name: "control: 56,000 characters".into(),
        text: format!("flowchart RL\n{long}"),
    });
    // every chart is parsed; rendered: the whole graphs of the shop and
    // of the odd labels, the ten largest charts and the controls
    let mut by_size: Vec<usize> = (0..n).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(charts[i].text.len()));
    let render: Vec<bool> = charts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            i >= n
                || by_size[..10].contains(&i)
                || ((c.name.starts_with("shop") || c.name.starts_with("odd"))
                    && c.name.ends_with("--format mermaid"))
        })
        .collect();
    let rendered = render.iter().filter(|r| **r).count();
    assert!(rendered >= 13, "{rendered} charts rendered");
    let doc = mermaid_check(&t, &charts, &render);
    assert_eq!(doc["maxEdges"], 500, "{doc}");
    assert_eq!(doc["maxTextSize"], 50_000, "{doc}");
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), charts.len(), "{doc}");
    for control in &results[n..] {
        assert_eq!(control["ok"], false, "the check sees nothing: {control}");
    }
    let failed: Vec<String> = results[..n]
        .iter()
        .filter(|r| r["ok"] != true)
        .map(|r| format!("{}: {}", r["name"], r["error"]))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {n} Mermaid charts refused by mermaid {}:\n{}",
        failed.len(),
        mermaid_bundle().0,
        failed.join("\n")
    );
}

/// The quoted strings of a DOT line, read as graphviz reads them (a
/// backslash escapes the next character); None when a quote is left open.
fn dot_strings(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        loop {
            match chars.next()? {
                '\\' => {
                    let next = chars.next()?;
                    if next != '"' && next != '\\' {
                        s.push('\\');
                    }
                    s.push(next);
                }
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    Some(out)
}

/// Without graphviz (plain `cargo test`): in the plan of the odd labels,
/// every quote, backslash and bracket of a key stays inside its DOT
/// string, and each step's label reads back as the address Terraform
/// prints.
#[test]
fn odd_keys_stay_inside_their_dot_strings() {
    let t = Scratch::new("render-odd");
    let (odd, empty) = odd_labels(&t);
    let dot = plan_picture(&t, "odd labels", &empty, &odd, &[]).text;
    let mut labels = Vec::new();
    for line in dot.lines() {
        let strings = dot_strings(line).unwrap_or_else(|| panic!("an open quote: {line}"));
        if line.trim_start().starts_with("\"s") && line.contains("[label = ") {
            labels.push(strings[1].clone());
        }
    }
    for key in [
        r#"terraform_data.end["a\"b"]"#,
        r#"terraform_data.end["x\\y"]"#,
        r#"terraform_data.end["x\\"]"#,
        r#"terraform_data.end["a\nb"]"#,
        r#"terraform_data.end["<b>bold</b>"]"#,
        r#"terraform_data.end["café ☕ 日本"]"#,
        // HCL reads `%%{` as a literal `%{`, and Terraform's address
        // escapes it again
        r#"terraform_data.end["%%{init: {}}%%"]"#,
    ] {
        assert!(
            labels.iter().any(|l| l.ends_with(&format!("create {key}"))),
            "{key} not drawn as it is: {labels:?}"
        );
    }
    // the title holds the directory name, quotes and all
    let title = dot
        .lines()
        .find(|l| l.trim_start().starts_with("label = \"rewind plan:"))
        .expect("a title");
    assert!(
        dot_strings(title).expect("closed")[0].ends_with("odd \"infra\" <v2> #quot; [x]"),
        "{title}"
    );
}
