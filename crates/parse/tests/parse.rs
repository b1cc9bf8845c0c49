//! Integration tests of loading: Terraform's graph oracle, the bundled
//! application history, broken inputs and HCL edge cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rewind_model::graph::{resource_dependencies, transitive_reduction};
use rewind_model::{Model, NodeKind, Severity};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn load(dir: &Path) -> rewind_parse::Loaded {
    rewind_parse::load(dir, &rewind_parse::Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Edges `"a" -> "b"` of a DOT file.
fn dot_edges(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((a, b)) = line.split_once("\" -> \"") else {
            continue;
        };
        let a = a.trim_start_matches('"');
        let b = b.split('"').next().unwrap_or_default();
        out.push((a.to_string(), b.to_string()));
    }
    out
}

/// Resource → resource edges of our model, transitively reduced.
fn our_resource_edges(model: &Model) -> BTreeSet<(String, String)> {
    let deps = resource_dependencies(model);
    let ids: Vec<usize> = deps.iter().map(|(i, _)| *i).collect();
    let pos: BTreeMap<usize, usize> = ids.iter().enumerate().map(|(k, i)| (*i, k)).collect();
    let mut edges = Vec::new();
    for (i, ds) in &deps {
        for d in ds {
            edges.push((pos[i], pos[d]));
        }
    }
    transitive_reduction(ids.len(), &edges)
        .into_iter()
        .map(|(a, b)| {
            (
                model.nodes[ids[a]].address.clone(),
                model.nodes[ids[b]].address.clone(),
            )
        })
        .collect()
}

fn reduce_named(edges: &[(String, String)]) -> BTreeSet<(String, String)> {
    let mut names: Vec<String> = edges
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    names.sort();
    names.dedup();
    let idx = |s: &str| names.binary_search_by(|n| n.as_str().cmp(s)).unwrap_or(0);
    let e: Vec<(usize, usize)> = edges.iter().map(|(a, b)| (idx(a), idx(b))).collect();
    transitive_reduction(names.len(), &e)
        .into_iter()
        .map(|(a, b)| (names[a].clone(), names[b].clone()))
        .collect()
}

#[test]
fn resource_edges_match_terraform_graph() {
    let root = fixtures().join("oracle/graph");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("oracle fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("graph.dot").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected at least 10 oracle cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let loaded = load(&case.join("config"));
        let ours = our_resource_edges(&loaded.model);
        let theirs_raw = dot_edges(&std::fs::read_to_string(case.join("graph.dot")).unwrap());
        let theirs = reduce_named(&theirs_raw);
        // Terraform's simplified graph lists every resource as a node.
        if ours != theirs {
            let only_ours: Vec<_> = ours.difference(&theirs).collect();
            let only_theirs: Vec<_> = theirs.difference(&ours).collect();
            failures.push(format!(
                "{}:\n  only ours: {only_ours:?}\n  only terraform: {only_theirs:?}",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
