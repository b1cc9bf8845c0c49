//! Reports fit for where they are pasted: Markdown within its budget,
//! `--stat` in every format, graph filters, Mermaid within Mermaid's
//! limits, the plan DOT by waves.

use std::path::Path;

use crate::common::*;

/// Two versions of a configuration of `n` resources in a chain (each
/// depends on the one before), the second changing every input and
/// removing every tenth resource.
pub(crate) fn chain(t: &Scratch, name: &str, n: usize) -> (String, String) {
    let write = |side: &str, input: &str, skip: bool| {
        let dir = t.path(&format!("{name}-{side}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut tf = String::new();
        for i in 0..n {
            if skip && i % 10 == 5 {
                continue;
            }
            let dep = if i == 0 || (skip && (i - 1) % 10 == 5) {
                String::new()
            } else {
                format!("  triggers_replace = terraform_data.r{}.id\n", i - 1)
            };
            tf.push_str(&format!(
                "resource \"terraform_data\" \"r{i}\" {{\n  input = \"{input}-{i}-a-long-enough-value-to-fill-the-comment\"\n{dep}}}\n"
            ));
        }
        std::fs::write(dir.join("main.tf"), tf).unwrap();
        dir.to_str().unwrap().to_string()
    };
    (write("a", "one", false), write("b", "two", true))
}

#[test]
fn markdown_diff_and_plan_stay_within_the_budget_and_say_what_was_cut() {
    let t = Scratch::new("md-budget");
    let (a, b) = chain(&t, "big", 1500);
    let md = t.run(&["diff", &a, &b, "--format", "markdown"]).ok().stdout;
    assert!(md.len() <= 60_000, "{} characters", md.len());
    assert!(
        md.contains("Cut to fit 60000 characters"),
        "{}",
        &md[md.len() - 600..]
    );
    assert!(md.contains("--format html"), "says how to see everything");
    // every destroy is listed, whatever the budget
    for i in (5..1500).step_by(10) {
        assert!(
            md.contains(&format!("`terraform_data.r{i}` | removed")),
            "r{i}"
        );
    }
    let full = t
        .run(&["diff", &a, &b, "--format", "markdown", "--budget", "0"])
        .ok()
        .stdout;
    assert!(full.len() > 60_000 && !full.contains("Cut to fit"));
    let small = t
        .run(&["diff", &a, &b, "--format", "markdown", "--budget", "20000"])
        .ok()
        .stdout;
    assert!(small.len() < md.len());

    let plan = t
        .run(&["plan", "--from", &b, "--to", &a, "--format", "markdown"])
        .ok()
        .stdout;
    assert!(plan.len() <= 60_000, "{} characters", plan.len());
    assert!(plan.contains("Cut to fit"));
    assert!(plan.starts_with("### rewind plan:") && plan.contains("**Plan:"));

    // a small report is not cut
    let shop_md = t
        .run(&["diff", s(&shop(1)), s(&shop(2)), "--format", "markdown"])
        .ok()
        .stdout;
    assert!(!shop_md.contains("Cut to fit"));
}

#[test]
fn stat_works_in_every_format() {
    let t = Scratch::new("stat");
    let (a, b) = (shop(3), shop(4));
    let text = t.run(&["diff", s(&a), s(&b), "--stat"]).ok().stdout;
    assert!(
        text.contains("aws_efs_mount_target") && text.contains("total:"),
        "{text}"
    );
    let j = t
        .run(&["diff", s(&a), s(&b), "--stat", "--format", "json"])
        .ok()
        .json();
    assert_eq!(j["command"], "diff");
    let config = &j["groups"][0];
    assert_eq!(config["title"], "configuration");
    let removed: u64 = config["types"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["removed"].as_u64().unwrap())
        .sum();
    assert_eq!(removed, config["total"]["removed"].as_u64().unwrap());
    assert!(removed > 0);
    let md = t
        .run(&["diff", s(&a), s(&b), "--stat", "--format", "markdown"])
        .ok()
        .stdout;
    assert!(
        md.contains("| Type | removed | replaced |") && md.contains("`aws_efs_mount_target`"),
        "{md}"
    );
    let html = t
        .run(&["diff", s(&a), s(&b), "--stat", "--format", "html"])
        .ok()
        .stdout;
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("aws_efs_mount_target"));
    // plan --stat: a replacement counts once
    let p = plan_back(&t, &["--stat", "--format", "json"]).json();
    let full = plan_back(&t, &["--format", "json"]).json();
    let total = &p["groups"][0]["total"];
    assert_eq!(total["replace"], full["summary"]["replace"]);
    assert_eq!(
        total["destroy"].as_u64().unwrap() + total["replace"].as_u64().unwrap(),
        full["summary"]["destroy"].as_u64().unwrap()
    );
    let pt = plan_back(&t, &["--stat"]).stdout;
    assert!(pt.starts_with("rewind plan --stat:"), "{pt}");
    let r = t.run(&["diff", s(&a), s(&b), "--stat", "--format", "dot"]);
    assert_eq!(r.code, 1);
}

/// `rewind plan` from the shop's release 4 back to release 1.
fn plan_back(t: &Scratch, extra: &[&str]) -> Run {
    let (from, to) = (shop(4), shop(1));
    let mut args = vec!["plan", "--from", s(&from), "--to", s(&to)];
    args.extend(extra);
    t.run(&args).ok()
}

fn graph_json(t: &Scratch, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["graph", s(dir), "--format", "json"];
    args.extend(extra);
    t.run(&args).ok().json()
}

fn addresses(j: &serde_json::Value) -> Vec<String> {
    j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn graph_filters_keep_what_was_asked_and_bridge_the_rest() {
    let t = Scratch::new("graph-filters");
    let v4 = shop(4);
    let all = graph_json(&t, &v4, &[]);
    let res = graph_json(&t, &v4, &["--resources-only"]);
    assert!(res["nodes"].as_array().unwrap().len() < all["nodes"].as_array().unwrap().len());
    for n in res["nodes"].as_array().unwrap() {
        assert!(
            matches!(n["kind"].as_str().unwrap(), "resource" | "data"),
            "{n}"
        );
    }
    // a dependency through a local or a module output is bridged: the
    // compute module's instances still depend on the network's subnets
    let names = addresses(&res);
    let edges = res["edges"].as_array().unwrap();
    assert!(!edges.is_empty());
    for e in edges {
        assert!(
            names.contains(&e["to"].as_str().unwrap().to_string()),
            "{e}"
        );
    }
    let net = graph_json(&t, &v4, &["--module", "network"]);
    let net_names = addresses(&net);
    assert!(!net_names.is_empty());
    assert!(
        net_names.iter().all(|a| a.starts_with("module.network.")),
        "{net_names:?}"
    );
    let depth0 = graph_json(&t, &v4, &["--depth", "0"]);
    let d0 = addresses(&depth0);
    assert!(
        d0.iter().all(|a| !a.starts_with("module.network.")),
        "{d0:?}"
    );
    assert!(d0.contains(&"module.network".to_string()));
    let typed = graph_json(&t, &v4, &["--type", "aws_subnet"]);
    let types: Vec<&str> = typed["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(
        !types.is_empty() && types.iter().all(|t| *t == "aws_subnet"),
        "{types:?}"
    );
    // DOT and Mermaid draw the same view
    let dot = t
        .run(&["graph", s(&v4), "--resources-only", "--format", "dot"])
        .ok()
        .stdout;
    assert!(!dot.contains("\"var.") && !dot.contains("\"local."));
}

/// Mermaid refuses more than 500 edges or 50,000 characters.
pub(crate) fn assert_mermaid_limits(chart: &str) {
    let edges = chart
        .lines()
        .filter(|l| !l.trim_start().starts_with("%%") && (l.contains("-->") || l.contains(".->")))
        .count();
    assert!(edges <= 500, "{edges} edges");
    assert!(chart.len() <= 50_000, "{} characters", chart.len());
    assert!(chart.starts_with("flowchart"));
}

#[test]
fn mermaid_stays_within_mermaids_limits_and_says_what_it_collapsed() {
    let t = Scratch::new("mermaid");
    // the bundled application: more than 500 edges in full
    let r = t.run(&["graph", s(&shop(4)), "--format", "mermaid"]).ok();
    assert_mermaid_limits(&r.stdout);
    let full: usize = graph_json(&t, &shop(4), &[])["edges"]
        .as_array()
        .unwrap()
        .len();
    if full > 500 {
        assert!(
            r.stdout.contains("%% the whole graph"),
            "{}",
            &r.stdout[..400]
        );
        assert!(r.stderr.contains("note: the whole graph"), "{}", r.stderr);
    }
    // a flat chain of 800 resources: no module to collapse, so it is cut
    let (a, _) = chain(&t, "flat", 800);
    let r = t.run(&["graph", &a, "--format", "mermaid"]).ok();
    assert_mermaid_limits(&r.stdout);
    assert!(r.stdout.contains("still too large"), "{}", &r.stdout[..600]);
    // a small graph is drawn whole, without notes
    let (small, _) = chain(&t, "small", 20);
    let r = t.run(&["graph", &small, "--format", "mermaid"]).ok();
    assert!(
        !r.stdout.contains("%%") && r.stderr.is_empty(),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout.matches("-->").count(), 19);
}

#[test]
fn plan_dot_has_one_cluster_per_wave_and_only_the_edges_that_matter() {
    let t = Scratch::new("plan-dot");
    let dot = plan_back(&t, &["--format", "dot"]).stdout;
    let j = plan_back(&t, &["--format", "json"]).json();
    let waves = j["summary"]["waves"].as_u64().unwrap() as usize;
    assert!(dot.contains("rankdir = \"LR\""));
    for w in 0..waves {
        assert!(
            dot.contains(&format!("subgraph \"cluster_wave_{w}\"")),
            "wave {w}"
        );
    }
    let steps = j["steps"].as_array().unwrap();
    let all: usize = steps
        .iter()
        .map(|s| s["after"].as_array().unwrap().len())
        .sum();
    let drawn: Vec<(u64, u64)> = dot
        .lines()
        .filter_map(|l| {
            let (a, b) = l.trim().strip_suffix(';')?.split_once(" -> ")?;
            Some((
                a.trim_matches(&['"', 's'][..]).parse().ok()?,
                b.trim_matches(&['"', 's'][..]).parse().ok()?,
            ))
        })
        .collect();
    assert!(
        !drawn.is_empty() && drawn.len() <= all,
        "{} of {all}",
        drawn.len()
    );
    // every drawn arrow leads from a step to one that waits for it (left to right)
    for (before, after) in &drawn {
        let s = &steps[*after as usize];
        assert!(s["after"].as_array().unwrap().iter().any(|x| x == before));
        assert!(steps[*before as usize]["wave"].as_u64() < s["wave"].as_u64());
    }
    // and no drawn arrow is implied by two others
    for (a, c) in &drawn {
        let implied = drawn
            .iter()
            .any(|(x, b)| x == a && drawn.contains(&(*b, *c)));
        assert!(!implied, "{a} -> {c} is implied");
    }
}
