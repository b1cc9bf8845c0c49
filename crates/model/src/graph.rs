//! Graph algorithms over a model's configuration nodes (petgraph).

use std::collections::{BTreeSet, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::{EdgeKind, Model, NodeKind};

/// The dependency graph of a model's configuration nodes. An edge `a → b`
/// means `a` depends on `b`.
pub struct Graph {
    pub graph: DiGraph<usize, EdgeKind>,
    /// Addresses hashed with FxHash: SipHash of every address and edge
    /// target was 1% of a `graph` of 10,000 resources (addresses come from
    /// the configuration, and a collision made on purpose only slows its
    /// own lookups).
    index: rustc_hash::FxHashMap<String, NodeIndex>,
}

impl Model {
    /// Ranks of the configuration nodes (by position) in a dependency
    /// order: each node's above those of the nodes it depends on; `None`
    /// when they have a cycle. Among the nodes ready at once (Kahn's
    /// algorithm, dependencies first), the one written first (by file,
    /// line, column) is numbered first, so that a block that comes to read
    /// another written before it usually reads one ranked below it. A pass
    /// over indices, without a [`Graph`] (edges to addresses that are not
    /// nodes are skipped, as it skips them): cheaper than
    /// [`Graph::cycles`], which an acyclic model then does not need.
    pub fn ranks(&self) -> Option<Vec<u32>> {
        use std::cmp::Reverse;
        let nodes = &self.nodes;
        let n = nodes.len();
        // the dependencies and the places are apart: on two cores for a
        // large model
        let ((mut waiting, start, readers), (by_place, place)) = if n < PARALLEL_RANKS {
            (dependencies(nodes), places(nodes))
        } else {
            std::thread::scope(|s| {
                let placed = s.spawn(|| places(nodes));
                let dependencies = dependencies(nodes);
                let placed = placed
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                (dependencies, placed)
            })
        };
        // The ready node first in place is ranked next. Most nodes are
        // ready from the start: they are taken from a list in place
        // order, and only those freed by a ranked node go through a heap
        // (a heap of them all was most of the time of this function).
        let first: Vec<u32> = (0..n as u32)
            .filter(|&p| waiting[by_place[p as usize] as usize] == 0)
            .collect();
        let mut first = first.into_iter().peekable();
        let mut freed: std::collections::BinaryHeap<Reverse<u32>> =
            std::collections::BinaryHeap::new();
        let mut rank = vec![u32::MAX; n];
        let mut next = 0u32;
        loop {
            // places are distinct: no tie between the two
            let p = match (first.peek(), freed.peek()) {
                (Some(&a), Some(&Reverse(b))) if b < a => {
                    freed.pop();
                    b
                }
                (Some(&a), _) => {
                    first.next();
                    a
                }
                (None, Some(&Reverse(b))) => {
                    freed.pop();
                    b
                }
                (None, None) => break,
            };
            let i = by_place[p as usize] as usize;
            rank[i] = next;
            next += 1;
            // each edge into `i` is one dependency less of its reader
            for &d in &readers[start[i] as usize..start[i + 1] as usize] {
                let d = d as usize;
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    freed.push(Reverse(place[d]));
                }
            }
        }
        ((next as usize) == n).then_some(rank)
    }
}

/// From this many nodes on, [`Model::ranks`] finds the dependencies and
/// the places on two threads.
const PARALLEL_RANKS: usize = 8192;

/// The dependencies of `nodes` for [`Model::ranks`]: each node's number
/// of dependencies, and the readers of each node (one entry an edge,
/// grouped by node: node `i`'s are `readers[start[i]..start[i + 1]]`).
/// Edges to addresses that are no node are skipped; the last node of an
/// address is the one its edges lead to, as in [`Graph::build`].
fn dependencies(nodes: &[crate::Node]) -> (Vec<u32>, Vec<u32>, Vec<u32>) {
    let n = nodes.len();
    // addresses borrowed, not copied
    let index: rustc_hash::FxHashMap<&str, u32> = nodes
        .iter()
        .enumerate()
        .map(|(i, x)| (x.address.as_str(), i as u32))
        .collect();
    let mut waiting = vec![0u32; n];
    let mut start = vec![0u32; n + 1];
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for (i, x) in nodes.iter().enumerate() {
        for e in &x.edges {
            if let Some(&to) = index.get(e.to.as_str()) {
                waiting[i] += 1;
                start[to as usize + 1] += 1;
                edges.push((to, i as u32));
            }
        }
    }
    drop(index);
    for k in 0..n {
        start[k + 1] += start[k];
    }
    let mut fill = start.clone();
    let mut readers = vec![0u32; edges.len()];
    for (to, from) in edges {
        readers[fill[to as usize] as usize] = from;
        fill[to as usize] += 1;
    }
    (waiting, start, readers)
}

/// The places of `nodes` for [`Model::ranks`], in the order of the files
/// (by name), lines and columns, ties by position: the node at each
/// place, and each node's place.
fn places(nodes: &[crate::Node]) -> (Vec<u32>, Vec<u32>) {
    // the files numbered in their order, then one integer key a node
    // (each file once before the sort: a file holds many nodes)
    let mut seen = rustc_hash::FxHashSet::default();
    let mut files: Vec<&str> = nodes
        .iter()
        .map(|x| x.loc.file.as_str())
        .filter(|f| seen.insert(*f))
        .collect();
    drop(seen);
    files.sort_unstable();
    let file_no: rustc_hash::FxHashMap<&str, u64> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i as u64))
        .collect();
    let mut by_place: Vec<(u64, u32, u32)> = nodes
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let file = file_no[x.loc.file.as_str()];
            ((file << 32) | u64::from(x.loc.line), x.loc.col, i as u32)
        })
        .collect();
    by_place.sort_unstable();
    let mut place = vec![0u32; nodes.len()];
    for (p, &(_, _, i)) in by_place.iter().enumerate() {
        place[i as usize] = p as u32;
    }
    (by_place.into_iter().map(|(_, _, i)| i).collect(), place)
}

/// A dependency cycle, as the path of addresses around it (the first
/// address is repeated at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub path: Vec<String>,
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path.join(" → "))
    }
}

impl Graph {
    /// Builds the graph of `model.nodes`. Edges to addresses that are not
    /// nodes are skipped.
    pub fn build(model: &Model) -> Graph {
        let mut graph = DiGraph::with_capacity(model.nodes.len(), model.nodes.len() * 2);
        let mut index = rustc_hash::FxHashMap::default();
        index.reserve(model.nodes.len());
        for (i, n) in model.nodes.iter().enumerate() {
            let ix = graph.add_node(i);
            index.insert(n.address.clone(), ix);
        }
        for (i, n) in model.nodes.iter().enumerate() {
            let from = NodeIndex::new(i);
            for e in &n.edges {
                if let Some(&to) = index.get(&e.to) {
                    graph.add_edge(from, to, e.kind);
                }
            }
        }
        Graph { graph, index }
    }

    pub fn index_of(&self, address: &str) -> Option<NodeIndex> {
        self.index.get(address).copied()
    }

    /// Every dependency cycle (one path per strongly connected component).
    pub fn cycles(&self, model: &Model) -> Vec<Cycle> {
        let mut out = Vec::new();
        // Kosaraju walks with its own stack: tarjan_scc recurses once per
        // node of a chain and overflowed the stack at 15,000 resources.
        for scc in petgraph::algo::kosaraju_scc(&self.graph) {
            let self_loop = scc.len() == 1 && self.graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
            // Start at the smallest address so the report is deterministic.
            let start = *scc
                .iter()
                .min_by_key(|ix| &model.nodes[self.graph[**ix]].address)
                .unwrap_or(&scc[0]);
            let path = self.cycle_path(start, &members);
            out.push(Cycle {
                path: path
                    .into_iter()
                    .map(|ix| model.nodes[self.graph[ix]].address.clone())
                    .collect(),
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    }

    /// A path from `start` back to itself inside one strongly connected
    /// component (breadth-first, so it is a shortest one).
    fn cycle_path(&self, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
        let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
        let mut queue = std::collections::VecDeque::new();
        queue.push_back(start);
        while let Some(n) = queue.pop_front() {
            let mut succ: Vec<NodeIndex> = self
                .graph
                .neighbors(n)
                .filter(|s| members.contains(s))
                .collect();
            succ.sort();
            for s in succ {
                if s == start {
                    let mut path = vec![n];
                    let mut cur = n;
                    while cur != start {
                        cur = prev[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    path.push(start);
                    return path;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(s) {
                    e.insert(n);
                    queue.push_back(s);
                }
            }
        }
        vec![start, start]
    }
}

/// For every resource or data node, the resource and data nodes it depends
/// on directly or through non-resource nodes (variables, locals, outputs,
/// module calls). A `depends_on` on a module call, or a reference to the
/// whole module, stands for every resource inside that module. Keys and
/// values are indexes into `model.nodes`.
pub fn resource_dependencies(model: &Model) -> Vec<(usize, BTreeSet<usize>)> {
    let pos: rustc_hash::FxHashMap<&str, usize> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.address.as_str(), i))
        .collect();
    // Resources inside each module prefix, for depends_on = [module.x].
    let module_members =
        |module_addr: &str| -> Vec<usize> { model.module_resources(module_addr).collect() };
    let mut memo: HashMap<usize, BTreeSet<usize>> = HashMap::new();
    let mut out = Vec::new();
    for (i, n) in model.nodes.iter().enumerate() {
        if !n.kind.is_resource_like() {
            continue;
        }
        let mut deps = BTreeSet::new();
        let mut visiting = BTreeSet::new();
        for e in &n.edges {
            collect(
                model,
                &pos,
                &module_members,
                e,
                &mut deps,
                &mut memo,
                &mut visiting,
            );
        }
        deps.remove(&i);
        out.push((i, deps));
    }
    out
}

/// What edge `e` adds to a resource's dependencies: its target when that
/// is a resource, else what the target leads to (memoized per node). A
/// walk with its own stack, not recursion: a chain of 50,000 locals is
/// 50,000 levels deep.
fn collect(
    model: &Model,
    pos: &rustc_hash::FxHashMap<&str, usize>,
    module_members: &dyn Fn(&str) -> Vec<usize>,
    e: &crate::Edge,
    out: &mut BTreeSet<usize>,
    memo: &mut HashMap<usize, BTreeSet<usize>>,
    visiting: &mut BTreeSet<usize>,
) {
    // A node whose edges are being followed: the next edge and what its
    // edges added so far.
    let mut stack: Vec<(usize, usize, BTreeSet<usize>)> = Vec::new();
    // Adds what `e` contributes directly to `acc`; returns the node to
    // descend into, if any.
    let step = |e: &crate::Edge,
                acc: &mut BTreeSet<usize>,
                memo: &HashMap<usize, BTreeSet<usize>>,
                visiting: &mut BTreeSet<usize>|
     -> Option<usize> {
        let &t = pos.get(e.to.as_str())?;
        let target = &model.nodes[t];
        if target.kind.is_resource_like() {
            acc.insert(t);
            return None;
        }
        // `depends_on = [module.x]` and a reference to the whole module
        // (`module.x`, `values(module.x)`, `module.x[*].out`) wait for all
        // of it (Terraform's `module.x (close)`)
        if target.kind == NodeKind::Module
            && matches!(e.kind, EdgeKind::DependsOn | EdgeKind::Reference)
        {
            acc.extend(module_members(&target.address));
        }
        if let Some(m) = memo.get(&t) {
            acc.extend(m.iter().copied());
            return None;
        }
        visiting.insert(t).then_some(t)
    };
    let Some(t) = step(e, out, memo, visiting) else {
        return;
    };
    stack.push((t, 0, BTreeSet::new()));
    while let Some((node, next, acc)) = stack.last_mut() {
        let edges = &model.nodes[*node].edges;
        if let Some(e2) = edges.get(*next) {
            *next += 1;
            if let Some(child) = step(e2, acc, memo, visiting) {
                stack.push((child, 0, BTreeSet::new()));
            }
            continue;
        }
        let (node, _, acc) = stack.pop().expect("the loop holds a frame");
        visiting.remove(&node);
        match stack.last_mut() {
            Some(parent) => parent.2.extend(acc.iter().copied()),
            None => out.extend(acc.iter().copied()),
        }
        memo.insert(node, acc);
    }
}

/// The transitive reduction of a DAG given as adjacency sets over
/// `0..n`: only edges not implied by a longer path remain.
pub fn transitive_reduction(n: usize, edges: &[(usize, usize)]) -> BTreeSet<(usize, usize)> {
    let mut g: DiGraph<(), ()> = DiGraph::with_capacity(n, edges.len());
    for _ in 0..n {
        g.add_node(());
    }
    for &(a, b) in edges {
        if a != b {
            g.update_edge(NodeIndex::new(a), NodeIndex::new(b), ());
        }
    }
    let Ok(order) = petgraph::algo::toposort(&g, None) else {
        return edges.iter().copied().collect();
    };
    let (list, revmap) =
        petgraph::algo::tred::dag_to_toposorted_adjacency_list::<_, u32>(&g, &order);
    let (reduction, _closure) = petgraph::algo::tred::dag_transitive_reduction_closure(&list);
    let mut out = BTreeSet::new();
    for e in reduction.edge_indices() {
        if let Some((a, b)) = reduction.edge_endpoints(e) {
            let a = order[a as usize].index();
            let b = order[b as usize].index();
            out.insert((a, b));
        }
    }
    let _ = revmap;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Node;

    fn model(edges: &[(&str, &str)]) -> Model {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        for (a, b) in edges {
            names.insert(a);
            names.insert(b);
        }
        let mut m = Model::default();
        for n in names {
            let mut node = Node::new(NodeKind::Resource, n);
            for (a, b) in edges {
                if *a == n {
                    node.add_edge(*b, EdgeKind::Reference);
                }
            }
            m.nodes.push(node);
        }
        m.sort();
        m
    }

    #[test]
    fn finds_cycle_path() {
        let m = model(&[
            ("t.a", "t.b"),
            ("t.b", "t.c"),
            ("t.c", "t.a"),
            ("t.d", "t.a"),
        ]);
        let g = Graph::build(&m);
        let cycles = g.cycles(&m);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].path, vec!["t.a", "t.b", "t.c", "t.a"]);
    }

    /// Ranks go up along every edge; among nodes ready at once, the one
    /// written first comes first; a cycle has none.
    #[test]
    fn ranks_follow_dependencies_then_places() {
        let mut m = Model::default();
        for (a, line, deps) in [
            ("t.a", 2, vec!["t.b"]),
            ("t.b", 3, vec![]),
            ("t.c", 1, vec![]),
            ("t.d", 4, vec!["t.a", "t.c"]),
        ] {
            let mut n = Node::new(NodeKind::Resource, a);
            n.loc.file = "main.tf".into();
            n.loc.line = line;
            for d in deps {
                n.add_edge(d, EdgeKind::Reference);
                n.add_edge(d, EdgeKind::DependsOn);
            }
            m.nodes.push(n);
        }
        let r = m.ranks().expect("no cycle");
        // t.c (line 1) and t.b (line 3) are ready first: t.c first
        assert_eq!(r, vec![2, 1, 0, 3]);
        m.nodes[1].add_edge("t.d", EdgeKind::Reference);
        assert!(m.ranks().is_none());
        assert!(!Graph::build(&m).cycles(&m).is_empty());
    }

    /// On random acyclic graphs whose nodes are spread over files, lines
    /// and columns, ranks are exactly the order a plain search gives:
    /// each time, of the nodes whose dependencies are all ranked, the one
    /// first in (file, line, column, position), all of them in one heap.
    #[test]
    fn ranks_equal_the_plain_first_in_place_order() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        // the last rounds are large enough to be ranked on two threads
        for round in 0..44 {
            let n = if round < 40 {
                1 + next(60) as usize
            } else {
                PARALLEL_RANKS + next(3000) as usize
            };
            let mut m = Model::default();
            for i in 0..n {
                let mut node = Node::new(NodeKind::Resource, format!("t.n{i}"));
                node.loc.file = format!("f{}.tf", next(3));
                node.loc.line = 1 + next(n as u64 / 3 + 20) as u32;
                node.loc.col = 1 + next(3) as u32;
                // edges only to earlier nodes (acyclic), some to nothing
                for _ in 0..next(4) {
                    if i > 0 && next(5) > 0 {
                        let to = i as u64 - 1 - next((i as u64).min(50));
                        node.add_edge(format!("t.n{to}"), EdgeKind::Reference);
                    } else {
                        node.add_edge("t.missing", EdgeKind::Reference);
                    }
                }
                m.nodes.push(node);
            }
            let index: std::collections::HashMap<&str, usize> = m
                .nodes
                .iter()
                .enumerate()
                .map(|(i, x)| (x.address.as_str(), i))
                .collect();
            // Kahn's search with every ready node in one heap, keyed by
            // (file, line, column, position)
            let key = |i: usize| {
                let l = &m.nodes[i].loc;
                std::cmp::Reverse((l.file.clone(), l.line, l.col, i))
            };
            let mut waiting = vec![0usize; n];
            let mut readers = vec![Vec::new(); n];
            for (i, x) in m.nodes.iter().enumerate() {
                for e in &x.edges {
                    if let Some(&d) = index.get(e.to.as_str()) {
                        waiting[i] += 1;
                        readers[d].push(i);
                    }
                }
            }
            let mut ready: std::collections::BinaryHeap<_> =
                (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
            let mut expected = vec![u32::MAX; n];
            let mut r = 0;
            while let Some(std::cmp::Reverse((_, _, _, i))) = ready.pop() {
                expected[i] = r;
                r += 1;
                for &d in &readers[i] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 {
                        ready.push(key(d));
                    }
                }
            }
            assert_eq!(m.ranks(), Some(expected), "round {round}");
        }
    }

    #[test]
    fn no_cycle_in_dag() {
        let m = model(&[("t.a", "t.b"), ("t.b", "t.c"), ("t.a", "t.c")]);
        assert!(Graph::build(&m).cycles(&m).is_empty());
    }

    #[test]
    fn reduction_drops_implied_edges() {
        let r = transitive_reduction(3, &[(0, 1), (1, 2), (0, 2)]);
        assert_eq!(r.into_iter().collect::<Vec<_>>(), vec![(0, 1), (1, 2)]);
    }

    /// Regression: a chain of 15,000 resources overflowed the stack in
    /// `plan` (recursive Tarjan) and a chain of 50,000 locals in the
    /// dependency walk; both now walk with their own stack. Run on a
    /// thread with a small stack, so recursion would show at once.
    #[test]
    fn long_dependency_chains_do_not_recurse() {
        std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                let n = 50_000;
                let mut m = Model::default();
                let name = |i: usize| format!("local.l{i:06}");
                for i in 0..n {
                    let mut node = Node::new(NodeKind::Local, name(i));
                    if i > 0 {
                        node.add_edge(name(i - 1), EdgeKind::Reference);
                    }
                    m.nodes.push(node);
                }
                let mut top = Node::new(NodeKind::Resource, "t.top");
                top.add_edge(name(n - 1), EdgeKind::Reference);
                m.nodes.push(top);
                let mut bottom = Node::new(NodeKind::Resource, "t.bottom");
                bottom.add_edge("t.top", EdgeKind::Reference);
                m.nodes.push(bottom);
                m.nodes[0].add_edge("t.zero", EdgeKind::Reference);
                m.nodes.push(Node::new(NodeKind::Resource, "t.zero"));
                m.sort();
                assert!(Graph::build(&m).cycles(&m).is_empty());
                let deps = resource_dependencies(&m);
                let of = |a: &str| {
                    let i = m.nodes.iter().position(|n| n.address == a).unwrap();
                    let (_, d) = deps.iter().find(|(j, _)| *j == i).unwrap();
                    d.iter()
                        .map(|&j| m.nodes[j].address.clone())
                        .collect::<Vec<_>>()
                };
                assert_eq!(of("t.top"), vec!["t.zero"], "through 50,000 locals");
                assert_eq!(of("t.bottom"), vec!["t.top"]);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
