//! Ranks of a model's configuration nodes in a dependency order: what
//! lets an incremental snapshot take a block whose references changed
//! without looking at the rest of the graph for a cycle.
//!
//! Every node gets a number, each higher than the numbers of the nodes
//! it depends on (a topological order the last whole load's cycle check
//! found, [`rewind_model::Model::ranks`], kept in the directory's cache:
//! `<key>.rank-<model>`, docs/store-format.md §18).
//! New edges that each go from a node to one of a lower rank keep the
//! numbers an order of the new graph, so they close no cycle: any path
//! back would have to climb. A new edge to a node of an equal or higher
//! rank may close one: what it reaches at or above its reader's rank is
//! ranked anew below the reader ([`reorder`]), unless the reader is among
//! it (a cycle) or it cannot be looked at; then the snapshot loads the
//! whole directory, which checks for cycles and numbers the nodes anew.
//!
//! Ranks are kept through incremental snapshots: a change of values or
//! of references that passed the check leaves them an order of the new
//! model; an added block is numbered above everything it depends on (or
//! [`NO_DEPENDENTS`] when one of those has no rank), nothing depending
//! on it yet.

use rewind_model::Model;
use rustc_hash::{FxHashMap, FxHashSet};

/// The rank of a node nothing may depend on: one added by an incremental
/// snapshot whose dependencies are not all ranked. A new edge to it is
/// refused (no rank is below it... nor above), and edges from it close no
/// cycle since nothing reaches it.
pub(crate) const NO_DEPENDENTS: u32 = u32::MAX;

/// The ranks of `model`'s configuration nodes by address (sorted), from
/// those the loader's cycle check found (`ranks`, parallel to
/// `model.nodes`: [`rewind_model::Model::ranks`]).
pub(crate) fn by_address<'m>(model: &'m Model, ranks: &[u32]) -> Vec<(&'m str, u32)> {
    model
        .nodes
        .iter()
        .zip(ranks)
        .map(|(n, &r)| (n.address.as_str(), r))
        .collect()
}

/// How far apart a whole load's ranks are: room for nodes ranked anew
/// between two (see [`reorder`]).
const SPACING: u32 = 256;

/// At most this many nodes are looked at to rank a relinked block's
/// targets anew ([`reorder`]); beyond, the whole load.
const REORDER_LIMIT: usize = 4096;

/// The ranks `ranks` of a whole load spaced out (×[`SPACING`], when the
/// numbers fit), so that [`reorder`] can rank nodes between two.
pub(crate) fn spaced(ranks: &[u32]) -> Vec<u32> {
    let spacing = if ranks.len() < (NO_DEPENDENTS / SPACING) as usize - 1 {
        SPACING
    } else {
        1
    };
    ranks.iter().map(|r| r * spacing).collect()
}

/// What [`reorder`] needs to know of a node: what it depends on (each
/// address), or `None` when that cannot be read (a node of another
/// module directory).
pub(crate) type EdgesOf<'a> = dyn FnMut(&[String]) -> Option<Vec<Vec<String>>> + 'a;

/// Ranks anew the nodes that the relinked nodes' edges (`relinked`: each
/// address with what it now depends on) reach above them, so that every
/// edge goes down again; `ranks` holds every node's rank and is updated.
/// Returns the nodes ranked anew, or `None` when an edge closes a cycle or
/// the order cannot be mended so (a node it would move belongs to
/// another module directory or is unranked, too many nodes, no room left
/// between two ranks).
///
/// For an edge `n → t` with `t` ranked at or above `n`: the nodes `t`
/// reaches at or above `n`'s rank (`F`, found through `edges_of`, which
/// gives a relinked node's new edges) must all move below `n`: if `n` is
/// among them, the edge closes a cycle; else each, from the lowest,
/// takes the rank one above the highest of what it depends on, which
/// must stay below `n`'s. What depends on a node of `F` from outside it
/// is ranked above its old rank, so above `n`'s, so above its new one.
pub(crate) fn reorder(
    ranks: &mut FxHashMap<String, u32>,
    relinked: &[(String, Vec<String>)],
    edges_of: &mut EdgesOf<'_>,
) -> Option<Vec<(String, u32)>> {
    let mut moved: Vec<String> = Vec::new();
    for (n, to) in relinked {
        for t in to {
            let rn = *ranks.get(n)?;
            if rn == NO_DEPENDENTS {
                // nothing depends on it: any edge from it closes no cycle
                break;
            }
            let rt = *ranks.get(t)?;
            if rt < rn {
                continue;
            }
            let f = above(ranks, n, rn, t, edges_of)?;
            for (x, deps) in f {
                let mut r = 0u32;
                for d in &deps {
                    r = r.max(ranks.get(d)?.checked_add(1)?);
                }
                if r >= rn {
                    return None;
                }
                ranks.insert(x.clone(), r);
                moved.push(x);
            }
        }
    }
    // (a node moved twice keeps its last rank)
    moved.sort_unstable();
    moved.dedup();
    moved
        .into_iter()
        .map(|x| {
            let r = ranks[&x];
            Some((x, r))
        })
        .collect()
}

/// The nodes `t` reaches (itself included) ranked at or above `rn` (`n`'s
/// rank), each with what it depends on, from the lowest ranked; `None`
/// when `n` is among them (a cycle) or one cannot be looked at.
fn above(
    ranks: &FxHashMap<String, u32>,
    n: &str,
    rn: u32,
    t: &str,
    edges_of: &mut EdgesOf<'_>,
) -> Option<Vec<(String, Vec<String>)>> {
    let mut seen: FxHashSet<String> = FxHashSet::default();
    seen.insert(t.to_string());
    let mut frontier = vec![t.to_string()];
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    while !frontier.is_empty() {
        if seen.len() > REORDER_LIMIT {
            return None;
        }
        let deps = edges_of(&frontier)?;
        let mut next = Vec::new();
        for (x, deps) in frontier.into_iter().zip(deps) {
            for d in &deps {
                if *ranks.get(d)? >= rn {
                    if d == n {
                        return None;
                    }
                    if seen.insert(d.clone()) {
                        next.push(d.clone());
                    }
                }
            }
            found.push((x, deps));
        }
        frontier = next;
    }
    found.sort_by_key(|(x, _)| ranks.get(x).copied());
    Some(found)
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

    /// What each of `xs` depends on in `graph`.
    fn deps_in(graph: &FxHashMap<&str, Vec<&str>>, xs: &[String]) -> Option<Vec<Vec<String>>> {
        xs.iter()
            .map(|x| {
                Some(
                    graph
                        .get(x.as_str())?
                        .iter()
                        .map(|d| d.to_string())
                        .collect(),
                )
            })
            .collect()
    }

    /// `t.a` (rank 30) comes to read `t.c` (rank 40), which reads `t.b`
    /// (rank 35) and `t.z` (rank 10): `t.b` and `t.c` move below `t.a`,
    /// in their order; `t.b` reading `t.a` instead would close a cycle.
    #[test]
    fn an_edge_up_moves_what_it_reaches_below() {
        let ranks = |pairs: &[(&str, u32)]| -> FxHashMap<String, u32> {
            pairs.iter().map(|(a, r)| (a.to_string(), *r)).collect()
        };
        let graph: FxHashMap<&str, Vec<&str>> = [
            ("t.a", vec!["t.c"]),
            ("t.b", vec!["t.z"]),
            ("t.c", vec!["t.b", "t.z"]),
        ]
        .into_iter()
        .collect();
        let looked = std::cell::Cell::new(0);
        let mut edges_of = |xs: &[String]| -> Option<Vec<Vec<String>>> {
            looked.set(looked.get() + xs.len());
            deps_in(&graph, xs)
        };
        let mut r = ranks(&[("t.a", 30), ("t.b", 35), ("t.c", 40), ("t.z", 10)]);
        let relinked = vec![("t.a".to_string(), vec!["t.c".to_string()])];
        let moved = reorder(&mut r, &relinked, &mut edges_of).expect("no cycle");
        assert_eq!(
            moved,
            vec![("t.b".to_string(), 11), ("t.c".to_string(), 12)]
        );
        assert!(r["t.z"] < r["t.b"] && r["t.b"] < r["t.c"] && r["t.c"] < r["t.a"]);
        assert_eq!(looked.get(), 2, "only the nodes above t.a are looked at");
        // no room below t.a: refused
        let mut r = ranks(&[("t.a", 12), ("t.b", 35), ("t.c", 40), ("t.z", 10)]);
        assert!(reorder(&mut r, &relinked, &mut edges_of).is_none());
        // t.z reads t.a and t.a comes to read t.z: a cycle
        let cyclic: FxHashMap<&str, Vec<&str>> = [("t.z", vec!["t.a"]), ("t.a", vec!["t.z"])]
            .into_iter()
            .collect();
        let mut edges_of = |xs: &[String]| deps_in(&cyclic, xs);
        let mut r = ranks(&[("t.a", 300), ("t.z", 400)]);
        let relinked = vec![("t.a".to_string(), vec!["t.z".to_string()])];
        assert!(reorder(&mut r, &relinked, &mut edges_of).is_none());
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
