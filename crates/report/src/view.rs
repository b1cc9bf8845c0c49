//! What part of a dependency graph to draw: `graph --resources-only`,
//! `--module`, `--type`, `--depth`, and the collapsing that keeps a
//! Mermaid chart within Mermaid's limits.
//!
//! A view is a smaller [`Model`]: dropped nodes are bridged (when A uses a
//! local that uses B, A gets an edge to B), collapsed modules become their
//! module call's node. Every renderer draws a view as it draws a model.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rewind_model::{Edge, EdgeKind, Model, Node, NodeKind};

/// Which nodes a view keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only resources and data sources (variables, locals, outputs,
    /// providers and module calls are bridged over).
    pub resources_only: bool,
    /// Only what is inside this module (`module.net` or `net`), nested
    /// modules included.
    pub module: Option<String>,
    /// Only resources and data sources of these types.
    pub types: Vec<String>,
    /// Draw modules nested deeper than this as one node each (0: every
    /// module call is one node).
    pub depth: Option<usize>,
    /// Draw these module calls (`module.net`, nested ones included) as one
    /// node each.
    pub collapse: Vec<String>,
}

impl Filter {
    /// True when the view is the whole graph.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

/// The module call a node in `module` collapses into when modules deeper
/// than `depth` are drawn as one node (`module.a.module.b`, depth 0:
/// `module.a`); instance keys are dropped.
fn collapsed_into(module: &str, depth: usize) -> Option<String> {
    let call = call_address(module);
    let parts: Vec<&str> = call.split('.').collect();
    let calls = parts.len() / 2;
    (calls > depth).then(|| parts[..(depth + 1) * 2].join("."))
}

/// The top-level module calls of a model, those with the most nodes first.
pub(crate) fn biggest_modules(model: &Model) -> Vec<String> {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for n in &model.nodes {
        if let Some(top) = collapsed_into(&n.module, 0) {
            *count.entry(top).or_insert(0) += 1;
        }
    }
    let mut v: Vec<(String, usize)> = count.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(m, _)| m).collect()
}

/// The module call part of a module path without instance keys
/// (`module.a["x"].module.b` → `module.a.module.b`).
fn call_address(module: &str) -> String {
    let mut out = String::with_capacity(module.len());
    let mut depth = 0;
    for c in module.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// A view of `model` (its configuration nodes; state instances are not
/// drawn). `notes` says what was left out or collapsed.
pub fn view(model: &Model, f: &Filter) -> (Model, Vec<String>) {
    let module = f.module.as_ref().map(|m| {
        if m.starts_with("module.") {
            m.clone()
        } else {
            format!("module.{m}")
        }
    });
    let by_addr: HashMap<&str, &Node> = model
        .nodes
        .iter()
        .map(|n| (n.address.as_str(), n))
        .collect();
    let chosen = choose(model, f, &module, &by_addr);
    let mut edges = bridged_edges(model, &by_addr, &chosen.reps, &chosen.kept);
    let mut out = Model::default();
    for (addr, mut node) in chosen.kept {
        if let Some(es) = edges.remove(&addr) {
            node.edges = es.into_iter().map(|(to, kind)| Edge { to, kind }).collect();
        }
        out.nodes.push(node);
    }
    out.sort();
    let notes = notes(&out, f, &module, &chosen.collapsed);
    (out, notes)
}

/// Which nodes a view keeps, and what each node is drawn as.
struct Chosen<'a> {
    /// Every node in the view's module → its representative: its own
    /// address, or the module call it collapses into.
    reps: HashMap<&'a str, String>,
    /// The kept representatives' nodes (without edges), by address.
    kept: BTreeMap<String, Node>,
    /// Each collapsed module call → how many nodes it stands for.
    collapsed: BTreeMap<String, usize>,
}

/// The representatives of the nodes in the view's module, and those
/// kept: nodes of the kinds and types asked for, collapsed module calls.
fn choose<'a>(
    model: &'a Model,
    f: &Filter,
    module: &Option<String>,
    by_addr: &HashMap<&str, &Node>,
) -> Chosen<'a> {
    let mut chosen = Chosen {
        reps: HashMap::new(),
        kept: BTreeMap::new(),
        collapsed: BTreeMap::new(),
    };
    for n in &model.nodes {
        if !in_module(n, module) {
            continue;
        }
        let r = representative(n, f, module);
        let collapsed = r != n.address;
        if collapsed {
            *chosen.collapsed.entry(r.clone()).or_insert(0) += 1;
        }
        if keeps_kind(f, n, collapsed) {
            chosen
                .kept
                .entry(r.clone())
                .or_insert_with(|| kept_node(n, &r, collapsed, by_addr));
        }
        chosen.reps.insert(n.address.as_str(), r);
    }
    chosen
}

/// Is the node inside the view's module (nested modules included)?
fn in_module(n: &Node, module: &Option<String>) -> bool {
    match module {
        None => true,
        Some(m) => {
            let nm = call_address(&n.module);
            nm == *m || nm.starts_with(&format!("{m}."))
        }
    }
}

/// A node's representative: itself, or the module call it collapses into
/// (one named in `collapse`, or one deeper than `depth` below the view's
/// module).
fn representative(n: &Node, f: &Filter, module: &Option<String>) -> String {
    let call = call_address(&n.module);
    if let Some(c) = f
        .collapse
        .iter()
        .find(|c| call == **c || call.starts_with(&format!("{c}.")))
    {
        return c.clone();
    }
    match f
        .depth
        .and_then(|d| collapsed_into(&n.module, d + module_depth(module)))
    {
        Some(call) => call,
        None => n.address.clone(),
    }
}

/// Does the filter keep a node of this kind (or, collapsed, the module
/// call it stands in)?
fn keeps_kind(f: &Filter, n: &Node, collapsed: bool) -> bool {
    if collapsed {
        return f.types.is_empty();
    }
    let resource = matches!(n.kind, NodeKind::Resource | NodeKind::Data);
    if !f.types.is_empty() {
        return resource && f.types.contains(&n.type_);
    }
    !f.resources_only || resource
}

/// The node drawn for the representative `r` of `n`, without edges: `n`
/// itself, or the module call's node (made up when the model has none).
fn kept_node(n: &Node, r: &str, collapsed: bool, by_addr: &HashMap<&str, &Node>) -> Node {
    if !collapsed {
        return Node {
            edges: Vec::new(),
            ..n.clone()
        };
    }
    match by_addr.get(r) {
        Some(call) => Node {
            edges: Vec::new(),
            ..(*call).clone()
        },
        None => {
            let mut m = Node::new(NodeKind::Module, r.to_string());
            m.name = r.rsplit('.').next().unwrap_or_default().to_string();
            m
        }
    }
}

/// The edges between kept representatives (from → to → kind), bridging
/// dropped nodes: an edge through dropped ones is a reference.
fn bridged_edges(
    model: &Model,
    by_addr: &HashMap<&str, &Node>,
    reps: &HashMap<&str, String>,
    kept: &BTreeMap<String, Node>,
) -> BTreeMap<String, BTreeMap<String, EdgeKind>> {
    let mut memo: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut edges: BTreeMap<String, BTreeMap<String, EdgeKind>> = BTreeMap::new();
    for n in &model.nodes {
        let Some(from) = reps.get(n.address.as_str()) else {
            continue;
        };
        if !kept.contains_key(from) {
            continue;
        }
        for e in &n.edges {
            let Some(to) = reps.get(e.to.as_str()) else {
                continue;
            };
            let targets = if kept.contains_key(to) {
                BTreeSet::from([to.clone()])
            } else {
                bridge(&e.to, by_addr, reps, kept, &mut memo)
            };
            for t in targets {
                if t != *from {
                    let kind = if kept.contains_key(to) {
                        e.kind
                    } else {
                        EdgeKind::Reference
                    };
                    edges
                        .entry(from.clone())
                        .or_default()
                        .entry(t)
                        .or_insert(kind);
                }
            }
        }
    }
    edges
}

/// What the view left out or collapsed: an empty module, the module
/// calls drawn as one node (with their node counts).
fn notes(
    out: &Model,
    f: &Filter,
    module: &Option<String>,
    collapsed: &BTreeMap<String, usize>,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(m) = module {
        if out.nodes.is_empty() {
            notes.push(format!("no node is inside {m}"));
        }
    }
    if !collapsed.is_empty() {
        let list: Vec<String> = collapsed
            .iter()
            .map(|(m, n)| format!("{m} ({n} nodes)"))
            .collect();
        let how = match f.depth {
            Some(d) => format!("modules deeper than {d} drawn as one node each"),
            None => "modules drawn as one node each".to_string(),
        };
        notes.push(format!("{how}: {}", list.join(", ")));
    }
    notes
}

/// How many module calls deep the view's module is.
fn module_depth(module: &Option<String>) -> usize {
    module
        .as_deref()
        .map(|m| m.split('.').filter(|p| *p == "module").count())
        .unwrap_or(0)
}

/// The kept nodes reachable from a dropped node through dropped nodes.
fn bridge(
    start: &str,
    by_addr: &HashMap<&str, &Node>,
    reps: &HashMap<&str, String>,
    kept: &BTreeMap<String, Node>,
    memo: &mut HashMap<String, BTreeSet<String>>,
) -> BTreeSet<String> {
    if let Some(m) = memo.get(start) {
        return m.clone();
    }
    let mut found = BTreeSet::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(a) = stack.pop() {
        if !seen.insert(a) {
            continue;
        }
        if a != start {
            if let Some(m) = memo.get(a) {
                found.extend(m.iter().cloned());
                continue;
            }
        }
        let Some(n) = by_addr.get(a) else { continue };
        for e in &n.edges {
            match reps.get(e.to.as_str()) {
                Some(r) if kept.contains_key(r) => {
                    found.insert(r.clone());
                }
                Some(_) => stack.push(e.to.as_str()),
                None => {}
            }
        }
    }
    memo.insert(start.to_string(), found.clone());
    found
}
