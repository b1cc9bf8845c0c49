//! Ranks of a model's configuration nodes in a dependency order: what
//! lets an incremental snapshot take a block whose references changed
//! without looking at the rest of the graph for a cycle.
//!
//! Every node gets a number, each higher than the numbers of the nodes
//! it depends on (a topological order the last whole load's cycle check
//! found, [`rewind_model::Graph::ranks`], kept in the directory's cache:
//! `<key>.rank-<model>`, docs/store-format.md §18).
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

use rewind_model::Model;

/// The rank of a node nothing may depend on: one added by an incremental
/// snapshot whose dependencies are not all ranked. A new edge to it is
/// refused (no rank is below it... nor above), and edges from it close no
/// cycle since nothing reaches it.
pub(crate) const NO_DEPENDENTS: u32 = u32::MAX;

/// The ranks of `model`'s configuration nodes by address (sorted), from
/// those the loader's cycle check found (`ranks`, parallel to
/// `model.nodes`: [`rewind_model::Graph::ranks`]).
pub(crate) fn by_address<'m>(model: &'m Model, ranks: &[u32]) -> Vec<(&'m str, u32)> {
    model
        .nodes
        .iter()
        .zip(ranks)
        .map(|(n, &r)| (n.address.as_str(), r))
        .collect()
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
