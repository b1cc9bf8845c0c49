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

/// A router VM feeds a remote network module's routes and reads one of its
/// subnets (as in terraform-google-kubernetes-engine's
/// island_cluster_with_vm_router example). Terraform accepts it: it sees
/// the module's inputs and outputs apart. rewind, which cannot see inside a
/// module that is not downloaded, warns instead of failing; a real cycle
/// next to it still fails.
#[test]
fn a_cycle_through_a_remote_module_is_a_warning_not_an_error() {
    let t = Scratch::new("remote-cycle");
    let config = r#"module "net" {
  source  = "terraform-google-modules/network/google"
  version = "~> 18.0"
  routes = [{
    name              = "egress"
    next_hop_instance = google_compute_instance.router.self_link
  }]
}

resource "google_compute_instance" "router" {
  name = "router"
  network_interface {
    subnetwork = module.net.subnets["europe-west1/private"]["self_link"]
  }
}
"#;
    std::fs::write(t.path("main.tf"), config).unwrap();
    let r = t.run(&["graph", ".", "--format", "json"]).ok();
    assert!(
        r.stderr
            .contains("warning: main.tf:10:1: dependency cycle through module.net")
            && r.stderr.contains(
                "google_compute_instance.router → module.net → google_compute_instance.router"
            ),
        "{}",
        r.stderr
    );
    let edges = r.json()["edges"].clone();
    for (from, to) in [
        ("google_compute_instance.router", "module.net"),
        ("module.net", "google_compute_instance.router"),
    ] {
        assert!(
            edges
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["from"] == from && e["to"] == to),
            "{from} -> {to} missing: {edges}"
        );
    }
    // a cycle that does not need the module is still an error
    std::fs::write(
        t.path("loop.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = terraform_data.b.output\n}\nresource \"terraform_data\" \"b\" {\n  input = terraform_data.a.output\n}\n",
    )
    .unwrap();
    let r = t.run(&["graph", "."]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("dependency cycle: terraform_data.a → terraform_data.b → terraform_data.a")
            && !r.stderr.contains("module.net →"),
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

/// The same `moved` block written twice is accepted (as Terraform does, and
/// as cloud-foundation-fabric's net-lb-app-ext has it); one `from` moved to
/// two places is Terraform's "Ambiguous move statements" error.
#[test]
fn repeated_moves_are_accepted_and_ambiguous_moves_are_errors() {
    let t = Scratch::new("moves");
    let twice = "resource \"terraform_data\" \"a\" {}\nmoved {\n  from = terraform_data.b\n  to   = terraform_data.a\n}\nmoved {\n  from = terraform_data.b\n  to   = terraform_data.a\n}\n";
    std::fs::write(t.path("main.tf"), twice).unwrap();
    let r = t.run(&["graph", ".", "--format", "json"]).ok();
    let moved: Vec<_> = r.json()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "moved")
        .cloned()
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    std::fs::write(
        t.path("other.tf"),
        "resource \"terraform_data\" \"c\" {}\nmoved {\n  from = terraform_data.b\n  to   = terraform_data.c\n}\n",
    )
    .unwrap();
    let r = t.run(&["graph", "."]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "other.tf:2:1: ambiguous move statements: moved[\"terraform_data.b\"] is also moved at main.tf:2:1, to terraform_data.a"
        ),
        "{}",
        r.stderr
    );
}
