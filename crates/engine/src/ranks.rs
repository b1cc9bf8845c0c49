//! Ranks of a model's configuration nodes in a dependency order: what
//! lets an incremental snapshot take a block whose references changed
//! without looking at the rest of the graph for a cycle.
//!
//! Every node gets a number, each higher than the numbers of the nodes
//! it depends on (a topological order of the last whole load, kept in the
//! directory's cache: `<key>.rank-<model>`, docs/store-format.md §18).
//! New edges that each go from a node to one of a lower rank keep the
//! numbers an order of the new graph, so they close no cycle: any path
//! back would have to climb. A new edge to a node of an equal or higher
//! rank may close one, and the snapshot loads the whole directory, which
//! checks for cycles and numbers the nodes anew.
//!
//! Ranks are kept through incremental snapshots: a change of values or
//! of references that passed the check leaves them an order of the new
//! model; an added block is numbered above everything it depends on (or
//! [`NO_DEPENDENTS`] when one of those has no rank), nothing depending
//! on it yet.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rewind_model::{Model, NodeKind};
use rustc_hash::FxHashMap;

/// The rank of a node nothing may depend on: one added by an incremental
/// snapshot whose dependencies are not all ranked. A new edge to it is
/// refused (no rank is below it... nor above), and edges from it close no
/// cycle since nothing reaches it.
pub(crate) const NO_DEPENDENTS: u32 = u32::MAX;

/// The ranks of `model`'s configuration nodes (sorted by address), each
/// above those of the nodes it depends on; `None` when the graph has a
/// cycle (a directory loaded with a cycle through a module that is not
/// downloaded) or an edge to a state instance.
///
/// Among nodes ready at once, the one written first (by file, line and
/// column) is numbered first, so a block that comes to read another
/// written before it (the usual new reference) passes the check.
pub(crate) fn of_model(model: &Model) -> Option<Vec<(String, u32)>> {
    let nodes = &model.nodes;
    let index: FxHashMap<&str, u32> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.address.as_str(), i as u32))
        .collect();
    // each node's place in the order of the files
    let mut by_place: Vec<u32> = (0..nodes.len() as u32).collect();
    by_place.sort_unstable_by(|&a, &b| {
        let (x, y) = (&nodes[a as usize].loc, &nodes[b as usize].loc);
        (&x.file, x.line, x.col, a).cmp(&(&y.file, y.line, y.col, b))
    });
    let mut place = vec![0u32; nodes.len()];
    for (p, &i) in by_place.iter().enumerate() {
        place[i as usize] = p as u32;
    }
    // Kahn's algorithm, dependencies first
    let mut waiting = vec![0u32; nodes.len()];
    let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        let mut deps: Vec<u32> = Vec::with_capacity(n.edges.len());
        for e in &n.edges {
            match index.get(e.to.as_str()) {
                Some(&d) => deps.push(d),
                // a configuration node reading an instance: not an order
                // of configuration nodes alone
                None if model.instance(&e.to).is_some() => return None,
                None => {}
            }
        }
        deps.sort_unstable();
        deps.dedup();
        waiting[i] = deps.len() as u32;
        for d in deps {
            dependents[d as usize].push(i as u32);
        }
    }
    let mut ready: BinaryHeap<Reverse<u32>> = (0..nodes.len())
        .filter(|&i| waiting[i] == 0)
        .map(|i| Reverse(place[i]))
        .collect();
    let mut rank = vec![NO_DEPENDENTS; nodes.len()];
    let mut next = 0u32;
    while let Some(Reverse(p)) = ready.pop() {
        let i = by_place[p as usize] as usize;
        rank[i] = next;
        next += 1;
        for &d in &dependents[i] {
            waiting[d as usize] -= 1;
            if waiting[d as usize] == 0 {
                ready.push(Reverse(place[d as usize]));
            }
        }
    }
    if (next as usize) < nodes.len() {
        return None;
    }
    Some(
        nodes
            .iter()
            .zip(rank)
            .filter(|(n, _)| n.kind != NodeKind::Instance)
            .map(|(n, r)| (n.address.clone(), r))
            .collect(),
    )
}

/// The rank of a node added with edges to nodes of ranks `deps`: above
/// them all, or [`NO_DEPENDENTS`] when one is not ranked.
pub(crate) fn added(deps: impl IntoIterator<Item = Option<u32>>) -> u32 {
    let mut top = 0u32;
    for d in deps {
        match d {
            Some(r) if r < NO_DEPENDENTS - 1 => top = top.max(r + 1),
            _ => return NO_DEPENDENTS,
        }
    }
    top
}

/// Do edges from a node of rank `from` to nodes of ranks `to` keep the
/// ranks an order (each target ranked, and below)?
pub(crate) fn descending(from: Option<u32>, to: impl IntoIterator<Item = Option<u32>>) -> bool {
    let Some(from) = from else {
        return false;
    };
    to.into_iter()
        .all(|t| t.is_some_and(|t| t < from && t != NO_DEPENDENTS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::{EdgeKind, Node};

    fn node(address: &str, line: u32, deps: &[&str]) -> Node {
        let mut n = Node::new(NodeKind::Resource, address.to_string());
        n.loc.file = "main.tf".into();
        n.loc.line = line;
        for d in deps {
            n.add_edge(d.to_string(), EdgeKind::Reference);
        }
        n
    }

    fn ranks(m: &Model) -> FxHashMap<String, u32> {
        of_model(m).unwrap().into_iter().collect()
    }

    #[test]
    fn dependencies_rank_below_and_ties_go_by_place() {
        // written: t.c (line 1), t.a (2), t.b (3); t.a reads t.b
        let m = Model {
            nodes: vec![
                node("t.a", 2, &["t.b"]),
                node("t.b", 3, &[]),
                node("t.c", 1, &[]),
            ],
            ..Model::default()
        };
        let r = ranks(&m);
        assert!(r["t.b"] < r["t.a"]);
        // t.c is written first and depends on nothing: numbered first
        assert_eq!(r["t.c"], 0);
        assert_eq!(r.len(), 3);
    }

    #[test]
    fn a_cycle_has_no_ranks() {
        let m = Model {
            nodes: vec![node("t.a", 1, &["t.b"]), node("t.b", 2, &["t.a"])],
            ..Model::default()
        };
        assert!(of_model(&m).is_none());
    }

    #[test]
    fn an_edge_to_an_instance_has_no_ranks() {
        let mut i = Node::new(NodeKind::Instance, "t.b[0]".to_string());
        i.loc.line = 1;
        let m = Model {
            nodes: vec![node("t.a", 1, &["t.b[0]"])],
            instances: vec![i],
            ..Model::default()
        };
        assert!(of_model(&m).is_none());
    }

    #[test]
    fn new_edges_must_go_down() {
        assert!(descending(Some(5), [Some(1), Some(4)]));
        assert!(!descending(Some(5), [Some(1), Some(5)]));
        assert!(!descending(Some(5), [None]));
        assert!(!descending(None, [Some(1)]));
        // nothing may depend on a node of no dependents
        assert!(!descending(Some(NO_DEPENDENTS), [Some(NO_DEPENDENTS)]));
        assert!(descending(Some(NO_DEPENDENTS), [Some(3)]));
        assert_eq!(added([Some(3), Some(7)]), 8);
        assert_eq!(added([]), 0);
        assert_eq!(added([Some(3), None]), NO_DEPENDENTS);
        assert_eq!(added([Some(NO_DEPENDENTS)]), NO_DEPENDENTS);
    }
}
