//! Semantic diff of two models.
//!
//! Nodes are matched by Terraform address (so formatting, comments,
//! attribute order and the file a block lives in never show), `moved`
//! blocks turn a delete plus a create into a move, and a changed node lists
//! the attribute paths that changed, with list elements matched by content
//! so an insertion is one insertion.

mod attrs;
mod files;
pub mod knowledge;

use std::collections::{BTreeMap, BTreeSet};

use attrs::diff_values;
pub use attrs::{AttrChange, AttrOp};
pub use files::{unified_diff, FileChange};
use rewind_model::{Edge, EdgeKind, Loc, Model, Node, NodeKind, Path, Value};

/// What happened to a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
    /// Renamed by a `moved` block (possibly with changes too).
    Moved {
        from: String,
    },
}

impl ChangeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::Moved { .. } => "moved",
        }
    }
}

/// One changed node (configuration block or state instance).
#[derive(Clone, Debug)]
pub struct NodeChange {
    pub address: String,
    pub kind: NodeKind,
    pub type_: String,
    pub change: ChangeKind,
    /// Attribute changes (for changed and moved nodes).
    pub attrs: Vec<AttrChange>,
    /// Changes to facts that are not attributes (a module's resolved
    /// source, an instance's status...).
    pub meta: Vec<AttrChange>,
    pub edges_added: Vec<Edge>,
    pub edges_removed: Vec<Edge>,
    /// Attributes whose change forces the resource to be replaced (known
    /// from the provider tables, or `terraform_data.triggers_replace`).
    pub forces_replacement: Vec<String>,
    pub before: Option<Loc>,
    pub after: Option<Loc>,
}

impl NodeChange {
    pub fn is_replacement(&self) -> bool {
        !self.forces_replacement.is_empty()
    }
}

/// The differences between two models.
#[derive(Clone, Debug, Default)]
pub struct Diff {
    /// Configuration changes, sorted by address.
    pub config: Vec<NodeChange>,
    /// State instance changes (when both sides have a state), sorted.
    pub instances: Vec<NodeChange>,
    /// True when both sides had a state file.
    pub state_compared: bool,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.config.is_empty() && self.instances.is_empty()
    }
}

/// Options of a diff.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Print sensitive values instead of "(sensitive value changed)".
    pub show_sensitive: bool,
}

fn by_address(nodes: &[Node]) -> BTreeMap<&str, &Node> {
    nodes.iter().map(|n| (n.address.as_str(), n)).collect()
}

/// Moves declared by `moved` blocks of a model: (from, to) addresses.
pub fn moves_of(model: &Model) -> Vec<(String, String)> {
    model
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Moved)
        .filter_map(|n| {
            let prefix = if n.module.is_empty() {
                String::new()
            } else {
                format!("{}.", n.module)
            };
            let from = expr_text(n.body.get("from")?)?;
            let to = expr_text(n.body.get("to")?)?;
            Some((format!("{prefix}{from}"), format!("{prefix}{to}")))
        })
        .collect()
}

fn expr_text(v: &Value) -> Option<String> {
    match v {
        Value::Expr(e) => Some(e.to_string()),
        Value::String(e) => Some(e.clone()),
        _ => None,
    }
}

/// Applies a move to an address: exact, or as a module / resource prefix
/// (`module.a` moves `module.a.aws_vpc.x`; `aws_instance.a` moves
/// `aws_instance.a[0]`).
pub(crate) fn apply_move(address: &str, from: &str, to: &str) -> Option<String> {
    if address == from {
        return Some(to.to_string());
    }
    let rest = address.strip_prefix(from)?;
    if rest.starts_with('.') || rest.starts_with('[') {
        return Some(format!("{to}{rest}"));
    }
    None
}

/// Compares two sets of nodes keyed by address. `moves` pairs a removed
/// address with an added one.
fn diff_nodes(
    a: &[Node],
    b: &[Node],
    moves: &[(String, String)],
    opts: &Options,
) -> Vec<NodeChange> {
    let am = by_address(a);
    let bm = by_address(b);
    let mut out = Vec::new();
    let mut moved_from: BTreeMap<&str, &str> = BTreeMap::new(); // to -> from
    let removed: BTreeSet<&str> = am
        .keys()
        .filter(|k| !bm.contains_key(*k))
        .copied()
        .collect();
    let added: BTreeSet<&str> = bm
        .keys()
        .filter(|k| !am.contains_key(*k))
        .copied()
        .collect();
    for r in &removed {
        for (from, to) in moves {
            if let Some(target) = apply_move(r, from, to) {
                if let Some(t) = added.get(target.as_str()) {
                    moved_from.insert(t, r);
                    break;
                }
            }
        }
    }
    let moved_sources: BTreeSet<&str> = moved_from.values().copied().collect();
    for (addr, n) in &am {
        match bm.get(addr) {
            None if moved_sources.contains(addr) => {}
            None => out.push(whole(n, ChangeKind::Removed, true)),
            Some(m) => {
                if n.hash() != m.hash() {
                    out.push(compare(n, m, ChangeKind::Changed, opts));
                }
            }
        }
    }
    for (addr, n) in &bm {
        if am.contains_key(addr) {
            continue;
        }
        match moved_from.get(addr) {
            Some(from) => {
                let old = am[from];
                out.push(compare(
                    old,
                    n,
                    ChangeKind::Moved {
                        from: from.to_string(),
                    },
                    opts,
                ));
            }
            None => out.push(whole(n, ChangeKind::Added, false)),
        }
    }
    out.sort_by(|x, y| x.address.cmp(&y.address));
    out
}

fn whole(n: &Node, change: ChangeKind, removed: bool) -> NodeChange {
    NodeChange {
        address: n.address.clone(),
        kind: n.kind,
        type_: n.type_.clone(),
        change,
        attrs: Vec::new(),
        meta: Vec::new(),
        edges_added: Vec::new(),
        edges_removed: Vec::new(),
        forces_replacement: Vec::new(),
        before: removed.then(|| n.loc.clone()),
        after: (!removed).then(|| n.loc.clone()),
    }
}

/// Edges worth reporting (module nesting is structure, not a dependency).
fn reported(e: &Edge) -> bool {
    !matches!(e.kind, EdgeKind::Module)
}

fn compare(a: &Node, b: &Node, change: ChangeKind, opts: &Options) -> NodeChange {
    let sensitive = |p: &Path| a.is_sensitive_path(p) || b.is_sensitive_path(p);
    // a value secret as a whole (a sensitive output's) is one change, its
    // keys and all: a map's keys may be the secrets
    let whole = (a.is_sensitive() || b.is_sensitive()) && !opts.show_sensitive;
    let mut attrs = if whole && a.body != b.body {
        vec![AttrChange {
            path: Path::root(),
            op: AttrOp::Modify,
            before: None,
            after: None,
            sensitive: true,
        }]
    } else if whole {
        Vec::new()
    } else {
        diff_values(&a.body, &b.body, &sensitive, opts.show_sensitive)
    };
    read_changes(a, b, &sensitive, opts, &mut attrs);
    // facts, less those that repeat an attribute (a module's source and
    // version) and the files attributes read (shown as their changes)
    let facts = |n: &Node| {
        let mut m = n.facts.to_map();
        m.retain(|k, _| n.body.get(k).is_none() && k != READS);
        Value::Map(m)
    };
    let meta_a = facts(a);
    let meta_b = facts(b);
    let meta = diff_values(&meta_a, &meta_b, &|_| false, true);
    let ea: BTreeSet<&Edge> = a.edges.iter().filter(|e| reported(e)).collect();
    let eb: BTreeSet<&Edge> = b.edges.iter().filter(|e| reported(e)).collect();
    let forces = if b.kind == NodeKind::Resource {
        knowledge::forcing_paths(&b.type_, &attrs)
    } else {
        Vec::new()
    };
    NodeChange {
        address: b.address.clone(),
        kind: b.kind,
        type_: b.type_.clone(),
        change,
        attrs,
        meta,
        edges_added: eb.difference(&ea).map(|e| (*e).clone()).collect(),
        edges_removed: ea.difference(&eb).map(|e| (*e).clone()).collect(),
        forces_replacement: forces,
        before: Some(a.loc.clone()),
        after: Some(b.loc.clone()),
    }
}

/// The fact under which a node lists the files its attributes read
/// through functions (`file()`, `templatefile()`, `fileset()`...):
/// attribute path → file path → content hash (or `(missing)`).
pub(crate) const READS: &str = "reads";

/// Changes of files read by an attribute whose expression did not change
/// (or changed too): each is a change of that attribute, `before` and
/// `after` naming the file and a short content hash.
fn read_changes(
    a: &Node,
    b: &Node,
    sensitive: &dyn Fn(&Path) -> bool,
    opts: &Options,
    attrs: &mut Vec<AttrChange>,
) {
    let empty = rewind_model::Map::new();
    let reads = |n: &Node| n.facts.more.reads.clone().unwrap_or_else(|| empty.clone());
    let (ra, rb) = (reads(a), reads(b));
    if ra == rb {
        return;
    }
    let keys: BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
    for k in keys {
        let files = |m: &rewind_model::Map<String, Value>| match m.get(k) {
            Some(Value::Map(f)) => f.clone(),
            _ => rewind_model::Map::new(),
        };
        let (fa, fb) = (files(&ra), files(&rb));
        let path = Path::parse(k);
        let names: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
        for name in names {
            let (x, y) = (fa.get(name), fb.get(name));
            if x == y {
                continue;
            }
            let op = match (x, y) {
                (None, _) => AttrOp::Add,
                (_, None) => AttrOp::Remove,
                _ => AttrOp::Modify,
            };
            let shown = |v: Option<&Value>, side: &str| {
                v.map(|v| {
                    Value::String(read_shown(
                        name,
                        v.as_str().unwrap_or_default(),
                        side,
                        op,
                        opts,
                    ))
                })
            };
            let secret = sensitive(&path);
            attrs.push(AttrChange {
                path: path.clone(),
                op,
                before: if secret && !opts.show_sensitive {
                    None
                } else {
                    shown(x, "before")
                },
                after: if secret && !opts.show_sensitive {
                    None
                } else {
                    shown(y, "after")
                },
                sensitive: secret,
            });
        }
    }
    attrs.sort_by(|x, y| x.path.cmp(&y.path));
}

/// How a file read by an attribute is shown on one side of its change:
/// by name, and whether its content changed; its content's hash (the
/// first 48 bits) only with `show_sensitive`, as a hash of a small secret
/// file (a PIN, a token) lets whoever reads the diff check guesses at it.
/// A file missing, or whose links lead out of the tree, says so.
fn read_shown(name: &str, hash: &str, side: &str, op: AttrOp, opts: &Options) -> String {
    if hash.starts_with('(') {
        // `(missing)`, `(outside the tree)`
        return format!("{name} {hash}");
    }
    if opts.show_sensitive {
        let h = if hash.len() > 12 { &hash[..12] } else { hash };
        return format!("{name} (content {h})");
    }
    match (op, side) {
        (AttrOp::Modify, "before") => format!("{name} (content before)"),
        (AttrOp::Modify, _) => format!("{name} (content changed)"),
        _ => format!("{name} (read)"),
    }
}

/// The semantic diff from `a` (before) to `b` (after). Moves come from the
/// `moved` blocks of `b` (how Terraform reads them), or of `a` read in
/// reverse when comparing backwards in time.
pub fn diff(a: &Model, b: &Model, opts: &Options) -> Diff {
    let mut moves = moves_of(b);
    for (from, to) in moves_of(a) {
        moves.push((to, from));
    }
    let config = diff_nodes(&a.nodes, &b.nodes, &moves, opts);
    let state_compared = a.state.is_some() && b.state.is_some();
    let instances = if state_compared {
        diff_nodes(&a.instances, &b.instances, &moves, opts)
    } else {
        Vec::new()
    };
    Diff {
        config,
        instances,
        state_compared,
    }
}
