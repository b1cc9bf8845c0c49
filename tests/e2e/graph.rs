//! `rewind graph` and input errors.

use crate::common::*;

#[test]
fn graph_of_the_bundled_application() {
    let t = Scratch::new("graph");
    let r = t.run(&["graph", s(&shop(1)), "--format", "json"]).ok();
    let g = r.json();
    assert_eq!(g["format_version"], "1");
    let nodes = g["nodes"].as_array().unwrap();
    let has = |a: &str| nodes.iter().any(|n| n["address"] == a);
    assert!(has("module.network.aws_vpc.this"), "{}", r.stdout);
    assert!(
        has("module.database.aws_db_instance.this")
            || nodes.iter().any(|n| n["address"]
                .as_str()
                .unwrap()
                .starts_with("module.database.aws_db_instance"))
    );
    for n in nodes {
        assert!(n["file"].is_string() && n["line"].is_u64(), "{n}");
    }
    let edges = g["edges"].as_array().unwrap();
    assert!(edges.iter().any(|e| e["kind"] == "provider"));
    assert!(edges.iter().any(|e| e["kind"] == "module"));
    assert!(edges.iter().any(|e| e["kind"] == "reference"));
    // DOT and Mermaid
    let dot = t.run(&["graph", s(&shop(1))]).ok().stdout;
    assert!(
        dot.starts_with("digraph G {") && dot.contains("subgraph \"cluster_module.network\""),
        "{dot}"
    );
    let mm = t
        .run(&["graph", s(&shop(1)), "--format", "mermaid"])
        .ok()
        .stdout;
    assert!(
        mm.starts_with("flowchart RL\n") && mm.contains("subgraph"),
        "{mm}"
    );
    // formats a graph does not have
    let r = t.run(&["graph", s(&shop(1)), "--format", "html"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("does not support --format html"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_cycle_is_an_error_that_prints_the_cycle() {
    let t = Scratch::new("cycle");
    std::fs::write(
        t.path("main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = terraform_data.b.output\n}\nresource \"terraform_data\" \"b\" {\n  input = terraform_data.a.output\n}\n",
    )
    .unwrap();
    let r = t.run(&["graph", "."]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("dependency cycle: terraform_data.a → terraform_data.b → terraform_data.a"),
        "{}",
        r.stderr
    );
}

#[test]
fn parse_errors_name_file_line_column_for_every_broken_file() {
    let t = Scratch::new("broken");
    std::fs::write(
        t.path("a.tf"),
        "resource \"aws_vpc\" \"main\" {\n  cidr_block = \"10.0.0.0/16\"\n",
    )
    .unwrap();
    std::fs::write(t.path("b.tf"), "variable \"x\" {\n  default = [1, 2\n}\n").unwrap();
    std::fs::write(t.path("ok.tf"), "locals {\n  a = 1\n}\n").unwrap();
    let r = t.run(&["graph", "."]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("a.tf:1:27: unclosed '{'"), "{}", r.stderr);
    assert!(r.stderr.contains("b.tf:2:13: unclosed '['"), "{}", r.stderr);
    // the offending line is quoted
    assert!(
        r.stderr.contains("resource \"aws_vpc\" \"main\" {"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("2 problems"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}
