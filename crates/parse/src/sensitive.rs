//! Where secrets are, from every source Terraform knows of, and how
//! sensitivity spreads the way Terraform's marks do.
//!
//! The loader marks the direct sources as it builds nodes (`sensitive =
//! true` variables and outputs, attributes named like secrets, a state's
//! `sensitive_attributes`, tfvars entries and module arguments of
//! sensitive variables). `propagate` then adds what follows from them
//! over the whole model:
//!
//! * an attribute a state marks sensitive for a resource type is sensitive
//!   in the configuration of every resource of that type (the provider's
//!   schema marks it, whatever the value), and an attribute sensitive in
//!   the configuration is sensitive in the state's instances of it;
//! * an expression that reads a sensitive value is sensitive (a local, an
//!   output, a resource argument, a module argument built from a secret);
//! * a module argument that is sensitive makes the module's variable
//!   sensitive inside the module, as the value keeps its mark.
//!
//! The spreading runs to a fixed point (locals of locals, outputs of
//! modules of modules), once per load, by a worklist: a reference is
//! looked at again only when a node it reads became more secret, so the
//! pass is linear in the number of references whatever the length of the
//! chains.

use std::collections::{BTreeSet, HashMap};

use rewind_model::expr::{Expr, Part, TravOp};
use rewind_model::{Model, Node, NodeKind, Path, PathStep, Value};

/// Spreads sensitivity over `model` (configuration nodes and state
/// instances) as described in the module documentation.
pub(crate) fn propagate(model: &mut Model) {
    from_state_to_config(model);
    through_references(model);
    output_of_input(&mut model.nodes);
    from_config_to_state(model);
    output_of_input(&mut model.instances);
}

/// A `terraform_data`'s `output` is its `input`, as the resource copies
/// it: what is secret in one is secret in the other (its schema marks
/// neither, so the marks come only from the value and the configuration).
fn output_of_input(nodes: &mut [Node]) {
    for n in nodes.iter_mut().filter(|n| n.type_ == "terraform_data") {
        let copies: Vec<Path> = n
            .sensitive
            .iter()
            .filter_map(|p| match p.0.split_first() {
                Some((PathStep::Key(k), rest)) if k == "input" || k == "output" => {
                    let other = if k == "input" { "output" } else { "input" };
                    let mut steps = vec![PathStep::Key(other.to_string())];
                    steps.extend_from_slice(rest);
                    Some(Path(steps))
                }
                _ => None,
            })
            .collect();
        for p in copies {
            add_path(n, p);
        }
    }
}

/// The key of the path a variable's, an output's or a local's secret
/// value sits at.
fn value_key(kind: NodeKind) -> Option<&'static str> {
    match kind {
        NodeKind::Variable => Some("default"),
        NodeKind::Output | NodeKind::Local => Some("value"),
        _ => None,
    }
}

/// A path with its index steps cut off: `ebs_block_device[0].kms_key_id`
/// → `ebs_block_device` (a state's index means nothing in a
/// configuration block list of another resource; the whole list is
/// hidden instead).
fn up_to_index(p: &Path) -> Path {
    Path(
        p.0.iter()
            .take_while(|s| matches!(s, PathStep::Key(_)))
            .cloned()
            .collect(),
    )
}

/// Adds secret paths to a node as the sensitivity pass adds them (a path
/// under one it has already is not added; paths under a new one give way
/// to it): what a state marks for the node's type, or what an instance's
/// configuration holds secret (an incremental snapshot makes the nodes it
/// changes so).
pub fn add_secret_paths(node: &mut Node, paths: impl IntoIterator<Item = Path>) {
    for p in paths {
        add_path(node, p);
    }
}

fn add_path(node: &mut Node, p: Path) -> bool {
    if covered(node, &p) {
        return false;
    }
    insert_path(node, p);
    true
}

/// True when `p` is one of `node`'s secret paths or under one.
fn covered(node: &Node, p: &Path) -> bool {
    node.sensitive.iter().any(|s| s.is_prefix_of(p))
}

/// Adds `p`, not [`covered`], to `node`'s secret paths in place of those
/// under it.
fn insert_path(node: &mut Node, p: Path) {
    node.sensitive.retain(|s| !p.is_prefix_of(s));
    node.sensitive.push(p);
    node.sensitive.sort();
}

/// The provider's schema marks an attribute sensitive for every resource
/// of a type: what a state records for one instance holds for the
/// configuration of all of them. Not for `terraform_data`, whose schema
/// marks nothing: what its state records comes from that instance's own
/// value (a sensitive variable, `sensitive()`), and a plan compares those
/// marks (a value only marked or unmarked is an update).
/// What state instance `i` (with its own secret paths: those its state
/// marks and its names give) makes secret in the configuration of every
/// resource of its type: the type's key (data source or not, type) and
/// the paths, none when it makes nothing secret.
pub(crate) fn type_paths(i: &Node) -> Option<((bool, &str), BTreeSet<Path>)> {
    if i.type_.is_empty() || i.type_ == "terraform_data" {
        return None;
    }
    let data = i.facts.mode == Some(rewind_model::ObjectMode::Data);
    let paths: BTreeSet<Path> = i
        .sensitive
        .iter()
        .map(up_to_index)
        .filter(|p| !p.0.is_empty())
        .collect();
    (!paths.is_empty()).then_some(((data, i.type_.as_str()), paths))
}

/// The key a configuration node is given its type's secret paths by
/// (what the state's instances of its type mark); none for a node that is
/// not a resource or data source.
pub fn type_key(n: &Node) -> Option<(bool, &str)> {
    n.kind
        .is_resource_like()
        .then_some((n.kind == NodeKind::Data, n.type_.as_str()))
}

fn from_state_to_config(model: &mut Model) {
    // each type's paths once: every instance of a type repeats them, and
    // adding each instance's copy to each resource of the type would be
    // quadratic in the number of instances; gathered on every core, by
    // type for managed resources ([0]) and data sources ([1])
    type ByType = [rustc_hash::FxHashMap<String, BTreeSet<Path>>; 2];
    let parts = rewind_model::parts::in_parts(&model.instances, None, |_, part| {
        let mut by_type = ByType::default();
        for i in part {
            if let Some(((data, type_), paths)) = type_paths(i) {
                let types = &mut by_type[usize::from(data)];
                match types.get_mut(type_) {
                    Some(all) => all.extend(paths),
                    None => {
                        types.insert(type_.to_string(), paths);
                    }
                }
            }
        }
        vec![by_type]
    });
    let mut by_type = ByType::default();
    for part in parts {
        for (data, types) in part.into_iter().enumerate() {
            for (type_, paths) in types {
                by_type[data].entry(type_).or_default().extend(paths);
            }
        }
    }
    if by_type.iter().all(|types| types.is_empty()) {
        return;
    }
    let by_type: [rustc_hash::FxHashMap<String, Vec<Path>>; 2] = by_type.map(|types| {
        types
            .into_iter()
            .map(|(type_, paths)| (type_, paths.into_iter().collect()))
            .collect()
    });
    for n in &mut model.nodes {
        let Some((data, type_)) = type_key(n) else {
            continue;
        };
        if let Some(paths) = by_type[usize::from(data)].get(type_) {
            add_paths_from(n, paths);
        }
    }
}

/// The configuration address of an instance address: every instance key
/// removed (`module.db[0].aws_x.y["a"]` → `module.db.aws_x.y`).
pub fn without_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0u32;
    let mut in_str = false;
    let mut escaped = false;
    for c in address.split(" (deposed").next().unwrap_or(address).chars() {
        if depth > 0 {
            if in_str {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    in_str = false;
                }
            } else if c == '"' {
                in_str = true;
            } else if c == '[' {
                depth += 1;
            } else if c == ']' {
                depth -= 1;
            }
            continue;
        }
        if c == '[' {
            depth = 1;
        } else {
            out.push(c);
        }
    }
    out
}

/// What an instance's state value holds is what its configuration
/// evaluated to: a path the configuration knows to be secret is secret in
/// the state too.
fn from_config_to_state(model: &mut Model) {
    let Model {
        nodes, instances, ..
    } = model;
    let config: rustc_hash::FxHashMap<&str, &[Path]> = nodes
        .iter()
        .filter(|n| n.kind.is_resource_like() && !n.sensitive.is_empty())
        .map(|n| (n.address.as_str(), n.sensitive.as_slice()))
        .collect();
    if config.is_empty() {
        return;
    }
    // each instance's configuration found on every core (a key removed
    // from an address is a string made), the paths added on this one
    let adds: Vec<(usize, &[Path])> =
        rewind_model::parts::in_parts(instances, None, |from, part| {
            part.iter()
                .enumerate()
                .filter(|(_, inst)| !inst.type_.is_empty())
                .filter_map(|(k, inst)| {
                    // most instances have no key: their address is their
                    // resource's
                    let found = if inst.address.contains(['[', ' ']) {
                        config.get(without_keys(&inst.address).as_str())
                    } else {
                        config.get(inst.address.as_str())
                    };
                    found.map(|&paths| (from + k, paths))
                })
                .collect()
        });
    for (i, paths) in adds {
        add_paths_from(&mut instances[i], paths);
    }
}

/// `paths` added to `node`'s secret paths as [`add_path`] adds each, a
/// path cloned only when it is added.
fn add_paths_from(node: &mut Node, paths: &[Path]) {
    for p in paths {
        if !covered(node, p) {
            insert_path(node, p.clone());
        }
    }
}

/// A reference resolved to the node it reads and the path inside it.
#[derive(Clone)]
struct Target {
    node: usize,
    path: Path,
}

/// Every expression of the configuration that reads other nodes
/// ([`value_reads`]), compactly: a configuration of 100,000 resources
/// makes about half a million of them, and as a path and a list of
/// resolved references each they were 100 MB at the peak of a load. The
/// paths repeat (`name`, `tags`, `arn`, the root...) and are stored once.
#[derive(Default)]
struct Reads {
    reads: Vec<Read>,
    /// The references of every read, read after read.
    targets: Vec<ReadTarget>,
    paths: PathTable,
}

/// An expression that reads other nodes: the node it is in, its path in
/// the node's body (in [`Reads::paths`]) and what it reads (a range of
/// [`Reads::targets`]).
struct Read {
    node: u32,
    path: u32,
    targets: std::ops::Range<u32>,
}

/// A [`Target`] with its path in [`Reads::paths`].
#[derive(Clone, Copy)]
struct ReadTarget {
    node: u32,
    path: u32,
}

/// Paths, each stored once, by number.
#[derive(Default)]
struct PathTable {
    paths: Vec<Path>,
    /// FxHash: SipHash of every path was 2% of a `graph` of 10,000
    /// resources.
    ids: rustc_hash::FxHashMap<Path, u32>,
}

impl PathTable {
    fn id(&mut self, p: Path) -> u32 {
        if let Some(&id) = self.ids.get(&p) {
            return id;
        }
        let id = number(self.paths.len());
        self.paths.push(p.clone());
        self.ids.insert(p, id);
        id
    }

    fn get(&self, id: u32) -> &Path {
        &self.paths[id as usize]
    }
}

/// A position as a `u32` (a model has far fewer than 2^32 nodes, reads or
/// paths: each is made from bytes of the configuration).
fn number(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 nodes, reads and paths")
}

impl Reads {
    /// Adds the reads of `node` at `path`.
    fn add(&mut self, node: usize, path: Path, targets: impl Iterator<Item = Target>) {
        let start = number(self.targets.len());
        for t in targets {
            let path = self.paths.id(t.path);
            self.targets.push(ReadTarget {
                node: number(t.node),
                path,
            });
        }
        let path = self.paths.id(path);
        self.reads.push(Read {
            node: number(node),
            path,
            targets: start..number(self.targets.len()),
        });
    }

    /// Appends `other`'s reads after these (its paths numbered anew).
    fn append(&mut self, other: Reads) {
        let ids: Vec<u32> = other
            .paths
            .paths
            .into_iter()
            .map(|p| self.paths.id(p))
            .collect();
        let shift = number(self.targets.len());
        self.targets
            .extend(other.targets.into_iter().map(|t| ReadTarget {
                node: t.node,
                path: ids[t.path as usize],
            }));
        self.reads.extend(other.reads.into_iter().map(|r| Read {
            node: r.node,
            path: ids[r.path as usize],
            targets: r.targets.start + shift..r.targets.end + shift,
        }));
    }

    fn targets(&self, r: &Read) -> &[ReadTarget] {
        &self.targets[r.targets.start as usize..r.targets.end as usize]
    }
}

/// The steps of a reference as a path (`[0]` an index, `["k"]` a key; a
/// splat or a computed index ends it).
fn steps_path(ops: &[TravOp]) -> Path {
    let mut p = Path::root();
    for op in ops {
        p = match op {
            TravOp::Attr(a) => p.key(a),
            TravOp::LegacyIndex(n) => match usize::try_from(*n) {
                Ok(i) => p.index(i),
                Err(_) => break,
            },
            TravOp::Index(e) => match &**e {
                Expr::Number(n) => match n.parse::<usize>() {
                    Ok(i) => p.index(i),
                    Err(_) => break,
                },
                Expr::Template(parts) => match parts.as_slice() {
                    [Part::Lit(k)] => p.key(k),
                    _ => break,
                },
                _ => break,
            },
            TravOp::AttrSplat | TravOp::FullSplat => break,
        };
    }
    p
}

/// Leading index steps skipped (`[0]`, `["a"]`, `[*]`: which instance).
fn skip_keys(ops: &[TravOp]) -> &[TravOp] {
    let n = ops
        .iter()
        .take_while(|op| !matches!(op, TravOp::Attr(_)))
        .count();
    &ops[n..]
}

/// The node (by index) a reference (`root` then `ops`, as
/// [`crate::hcl::for_each_ref`] finds it) made in module `prefix` reads
/// (`buf` holds the address looked up: one allocation for every
/// reference). Each step is spelt as in the reference's text
/// ([`crate::hcl::push_step`]).
fn resolve(
    index: &rustc_hash::FxHashMap<&str, usize>,
    prefix: &str,
    root: &str,
    ops: &[TravOp],
    buf: &mut String,
) -> Option<Target> {
    use crate::hcl::push_step;
    let first = ops.first()?;
    buf.clear();
    buf.push_str(prefix);
    let rest: &[TravOp] = match root {
        "var" | "local" => {
            buf.push_str(root);
            buf.push('.');
            push_step(buf, first);
            &[]
        }
        "module" => {
            let rest = skip_keys(&ops[1..]);
            buf.push_str("module.");
            push_step(buf, first);
            buf.push_str(".output.");
            match rest.first() {
                Some(out) => {
                    push_step(buf, out);
                    &[]
                }
                // the whole module object: every output of it
                None => {
                    let want = buf.as_str();
                    return index
                        .iter()
                        .filter(|(a, _)| a.starts_with(want) && !a[want.len()..].contains('.'))
                        .map(|(_, &node)| node)
                        .min()
                        .map(|node| Target {
                            node,
                            path: Path::root(),
                        });
                }
            }
        }
        "data" => {
            let name = ops.get(1)?;
            buf.push_str("data.");
            push_step(buf, first);
            buf.push('.');
            push_step(buf, name);
            skip_keys(&ops[2..])
        }
        "each" | "count" | "path" | "self" | "terraform" => return None,
        ty => {
            buf.push_str(ty);
            buf.push('.');
            push_step(buf, first);
            skip_keys(&ops[1..])
        }
    };
    index.get(buf.as_str()).map(|&node| Target {
        node,
        path: steps_path(rest),
    })
}

/// Whether the value `path` of node `t` reads is secret.
fn reads_secret(t: &Node, path: &Path) -> bool {
    match value_key(t.kind) {
        Some(k) => t.is_sensitive() || t.is_sensitive_path(&Path::root().key(k)),
        None => {
            if t.kind == NodeKind::Variable {
                !t.sensitive.is_empty()
            } else {
                t.is_sensitive_path(path)
            }
        }
    }
}

/// A step of the path being walked, borrowed from the body (the owned
/// path is built only for an expression that makes references).
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Every expression of a node body that reads other nodes ([`resolve`],
/// not node `node` itself), with its path, added to `reads`, in the order
/// of the body; `wanted` says which top-level keys' expressions count (a
/// key of `None`: an expression that is the whole body).
struct Expressions<'a, 'r> {
    index: &'r rustc_hash::FxHashMap<&'r str, usize>,
    node: usize,
    prefix: &'r str,
    wanted: &'r dyn Fn(Option<&str>) -> bool,
    /// The iterators in scope, innermost last: `each` (of the node's
    /// `for_each`) and those of the `dynamic` blocks around, each with
    /// what its `for_each` reads (`NAME.value` reads that too: an element
    /// of a map holding a secret may be that secret).
    iterators: Vec<(String, Vec<Target>)>,
    path: Vec<Step<'a>>,
    /// The targets of the expression at hand (kept for its allocation).
    targets: Vec<Target>,
    buf: String,
}

impl<'a> Expressions<'a, '_> {
    fn value(&mut self, v: &'a Value, reads: &mut Reads) {
        match v {
            Value::Map(m) => {
                let iterator = self.dynamic_iterator(m);
                let dynamic = iterator.is_some();
                if let Some((name, for_each)) = iterator {
                    let mut read = Vec::new();
                    self.expr_targets(for_each, &mut read);
                    self.iterators.push((name, read));
                }
                for (k, child) in m {
                    if self.path.is_empty() && !(self.wanted)(Some(k)) {
                        continue;
                    }
                    self.path.push(Step::Key(k));
                    self.value(child, reads);
                    self.path.pop();
                }
                if dynamic {
                    self.iterators.pop();
                }
            }
            Value::List(l) => {
                if self.path.is_empty() && !(self.wanted)(None) {
                    return;
                }
                for (i, child) in l.iter().enumerate() {
                    self.path.push(Step::Index(i));
                    self.value(child, reads);
                    self.path.pop();
                }
            }
            Value::Expr(e) => {
                if self.path.is_empty() && !(self.wanted)(None) {
                    return;
                }
                let mut targets = std::mem::take(&mut self.targets);
                self.expr_targets(e, &mut targets);
                if !targets.is_empty() {
                    let owned = self
                        .path
                        .iter()
                        .map(|s| match s {
                            Step::Key(k) => PathStep::Key((*k).to_string()),
                            Step::Index(i) => PathStep::Index(*i),
                        })
                        .collect();
                    reads.add(self.node, Path(owned), targets.drain(..));
                }
                self.targets = targets;
            }
            _ => {}
        }
    }

    /// The nodes expression `e` reads (not this node), added to `out`: by
    /// its references, and an iterator's `value` by what the iterator's
    /// `for_each` reads.
    fn expr_targets(&mut self, e: &Expr, out: &mut Vec<Target>) {
        let Expressions {
            index,
            node,
            prefix,
            iterators,
            buf,
            ..
        } = self;
        crate::hcl::for_each_ref(e, &[], &mut |root, ops, _| {
            let value = matches!(ops.first(), Some(TravOp::Attr(a)) if a == "value");
            match iterators.iter().rev().find(|(name, _)| name == root) {
                Some((_, read)) if value => {
                    out.extend(read.iter().filter(|t| t.node != *node).cloned())
                }
                Some(_) => {}
                None => {
                    if let Some(t) = resolve(index, prefix, root, ops, buf) {
                        if t.node != *node {
                            out.push(t);
                        }
                    }
                }
            }
        });
    }

    /// The iterator's name and the `for_each` of map `m` when it is a
    /// `dynamic "LABEL"` block's body (at `dynamic.LABEL` or
    /// `dynamic.LABEL[i]`): its `iterator`, or the label.
    fn dynamic_iterator(
        &self,
        m: &'a rewind_model::Map<String, Value>,
    ) -> Option<(String, &'a Expr)> {
        let Some(Value::Expr(for_each)) = m.get("for_each") else {
            return None;
        };
        let label = match self.path.as_slice() {
            [.., Step::Key("dynamic"), Step::Key(label)]
            | [.., Step::Key("dynamic"), Step::Key(label), Step::Index(_)] => *label,
            _ => return None,
        };
        let name = match m.get("iterator") {
            Some(Value::Expr(e)) => match &**e {
                Expr::Traversal { root, ops, .. } if ops.is_empty() => root.clone(),
                _ => label.to_string(),
            },
            Some(Value::String(s)) => s.clone(),
            _ => label.to_string(),
        };
        Some((name, &**for_each))
    }
}

/// A value derived from a secret is secret: the paths of every
/// configuration node whose expressions read a sensitive value, to a fixed
/// point.
fn through_references(model: &mut Model) {
    let reads = value_reads(model);
    let module_vars: HashMap<String, usize> = model
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.kind == NodeKind::Variable)
        .map(|(i, n)| (n.address.clone(), i))
        .collect();
    mark_marked_arguments(model, &module_vars);
    spread_to_readers(model, &reads, &module_vars);
}

/// Every expression of the configuration that can make a node's value and
/// reads other nodes (not a variable's validation, an output's or local's
/// conditions, nor the meta-arguments that cannot hold values a resource
/// keeps).
fn value_reads(model: &Model) -> Reads {
    let index: rustc_hash::FxHashMap<&str, usize> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.address.as_str(), i))
        .collect();
    // each node's reads are its own: the nodes are split over the cores
    // and their reads put back in node order
    let parts =
        rewind_model::parts::in_parts(&model.nodes, Some(crate::PARSE_STACK), |from, nodes| {
            let mut reads = Reads::default();
            let mut buf = String::new();
            for (k, n) in nodes.iter().enumerate() {
                node_value_reads(&index, from + k, n, &mut buf, &mut reads);
            }
            vec![reads]
        });
    let mut all = Reads::default();
    for part in parts {
        all.append(part);
    }
    all
}

/// The reads of node `i` ([`value_reads`]), appended to `reads`.
fn node_value_reads(
    index: &rustc_hash::FxHashMap<&str, usize>,
    i: usize,
    n: &Node,
    buf: &mut String,
    reads: &mut Reads,
) {
    // a variable's own expressions (validation) never make its value
    if matches!(
        n.kind,
        NodeKind::Variable
            | NodeKind::Tfvars
            | NodeKind::Moved
            | NodeKind::Removed
            | NodeKind::Import
    ) {
        return;
    }
    let prefix = if n.module.is_empty() {
        String::new()
    } else {
        crate::concat(&[&n.module, "."])
    };
    let key = value_key(n.kind);
    let wanted = |first: Option<&str>| {
        // an output's or a local's value only (not a precondition)
        if let Some(k) = key {
            if first != Some(k) {
                return false;
            }
        }
        // meta-arguments that cannot hold values a resource keeps
        !matches!(
            first,
            Some("depends_on" | "provider" | "providers" | "lifecycle")
        )
    };
    let mut walk = Expressions {
        index,
        node: i,
        prefix: &prefix,
        wanted: &wanted,
        iterators: Vec::new(),
        path: Vec::new(),
        targets: Vec::new(),
        buf: std::mem::take(buf),
    };
    // `each.value`: an element of what the node's `for_each` reads
    if let Some(Value::Expr(e)) = n.body.get("for_each") {
        let mut read = Vec::new();
        walk.expr_targets(e, &mut read);
        walk.iterators.push(("each".to_string(), read));
    }
    walk.value(&n.body, reads);
    *buf = walk.buf;
}

/// The secret paths what node `n` reads gives it: where an expression
/// that makes its value reads a secret of one of `targets` (the nodes it
/// may read, with their secret paths), as the sensitivity pass marks it
/// (a whole output's or local's value), sorted. With those, its own
/// names, its `sensitive` flag and what a state marks for its type, they
/// are all the node's secret paths: what an incremental snapshot relies
/// on to make a node whose references changed, or an added one, without
/// the pass (nothing in a model reads either of them back into `targets`
/// but through a cycle, which the snapshot refuses).
pub fn secret_reads(n: &Node, targets: &[&Node]) -> Vec<Path> {
    let index: rustc_hash::FxHashMap<&str, usize> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| (t.address.as_str(), i))
        .collect();
    let mut reads = Reads::default();
    let mut buf = String::new();
    // (`n` is none of `targets`: numbered after them)
    node_value_reads(&index, targets.len(), n, &mut buf, &mut reads);
    let mut out: Vec<Path> = reads
        .reads
        .iter()
        .filter(|r| {
            reads
                .targets(r)
                .iter()
                .any(|t| reads_secret(targets[t.node as usize], reads.paths.get(t.path)))
        })
        .map(|r| match value_key(n.kind) {
            Some(k) => Path::root().key(k),
            None => reads.paths.get(r.path).clone(),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Module arguments marked directly (a literal under a secret name, a
/// sensitive variable's argument): their variables (in `module_vars`, by
/// address) are sensitive inside the module.
fn mark_marked_arguments(model: &mut Model, module_vars: &HashMap<String, usize>) {
    let mut direct = Vec::new();
    for n in &model.nodes {
        if n.kind == NodeKind::Module {
            for p in &n.sensitive {
                if let Some(PathStep::Key(arg)) = p.0.first() {
                    if let Some(&vi) = module_vars.get(&format!("{}.var.{arg}", n.address)) {
                        direct.push(vi);
                    }
                }
            }
        }
    }
    for vi in direct {
        add_path(&mut model.nodes[vi], Path::root().key("default"));
    }
}

/// Marks every read of `reads` that reads a secret, to the fixed point.
///
/// A worklist: every read is looked at once, and again only when a node it
/// reads became more secret (a read's answer depends on the nodes it reads
/// alone). Each look that makes a node more secret queues the reads of
/// that node, so a chain of any length settles in time linear in the
/// number of reads (a pass over every read per step of the longest chain
/// before).
fn spread_to_readers(model: &mut Model, all: &Reads, module_vars: &HashMap<String, usize>) {
    let reads = &all.reads;
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); model.nodes.len()];
    for (ri, r) in reads.iter().enumerate() {
        for t in all.targets(r) {
            let readers = &mut readers[t.node as usize];
            if readers.last() != Some(&ri) {
                readers.push(ri);
            }
        }
    }
    let mut done = vec![false; reads.len()];
    let mut queued = vec![true; reads.len()];
    let mut queue: std::collections::VecDeque<usize> = (0..reads.len()).collect();
    while let Some(ri) = queue.pop_front() {
        queued[ri] = false;
        if done[ri] {
            continue;
        }
        let r = &reads[ri];
        let secret = all
            .targets(r)
            .iter()
            .any(|t| reads_secret(&model.nodes[t.node as usize], all.paths.get(t.path)));
        if !secret {
            continue;
        }
        done[ri] = true;
        let (node, path) = (r.node as usize, all.paths.get(r.path));
        for changed in mark_read(model, node, path, module_vars)
            .into_iter()
            .flatten()
        {
            for &r in &readers[changed] {
                if !done[r] && !queued[r] {
                    queued[r] = true;
                    queue.push_back(r);
                }
            }
        }
    }
}

/// Marks the expression at `path` of node `node` secret (the whole value
/// of an output or local), and for a module argument the module's variable
/// inside it. Returns the nodes that became more secret.
fn mark_read(
    model: &mut Model,
    node: usize,
    path: &Path,
    module_vars: &HashMap<String, usize>,
) -> [Option<usize>; 2] {
    let n = &mut model.nodes[node];
    let p = match value_key(n.kind) {
        Some(k) => Path::root().key(k),
        None => path.clone(),
    };
    let mut more_secret: [Option<usize>; 2] = [None, None];
    if add_path(n, p) {
        more_secret[0] = Some(node);
    }
    // a sensitive module argument: the module's variable is
    // sensitive inside it
    if n.kind == NodeKind::Module {
        if let Some(PathStep::Key(arg)) = path.0.first() {
            let var = format!("{}.var.{arg}", n.address);
            if let Some(&vi) = module_vars.get(&var) {
                if add_path(&mut model.nodes[vi], Path::root().key("default")) {
                    more_secret[1] = Some(vi);
                }
            }
        }
    }
    more_secret
}

/// Whether an expression marks a value secret (`sensitive("...")`, also
/// inside a list, an object or a template) or writes a value under a
/// secret-looking name in an object it builds: `templatefile("init.tpl",
/// { password = "..." })`, `merge(local.base, { api_key = var.k })`. The
/// attribute holding it is then secret as a whole. What `nonsensitive()`
/// is given is not looked into (it takes the mark off).
pub(crate) fn builds_secret(e: &Expr) -> bool {
    fn parts(ps: &[Part]) -> bool {
        ps.iter().any(|p| match p {
            Part::Lit(_) => false,
            Part::Interp(e) => builds_secret(e),
            Part::If {
                cond,
                then,
                otherwise,
            } => builds_secret(cond) || parts(then) || parts(otherwise),
            Part::For(f) => builds_secret(&f.coll) || parts(&f.body),
        })
    }
    match e {
        Expr::Null | Expr::Bool(_) | Expr::Number(_) | Expr::Traversal { .. } => false,
        Expr::Template(ps) => parts(ps),
        Expr::Tuple(items) => items.iter().any(builds_secret),
        Expr::Object(items) => items.iter().any(|(k, v)| {
            let named = crate::hcl::with_static_key(k, crate::load::is_secret_name)
                .unwrap_or(false)
                && !matches!(v, Expr::Null | Expr::Bool(_));
            named || builds_secret(v)
        }),
        Expr::Postfix(inner, _) | Expr::Unary(_, inner) | Expr::Paren(inner) => {
            builds_secret(inner)
        }
        Expr::Call { name, args, .. } => match name.as_str() {
            "sensitive" => true,
            "nonsensitive" => false,
            _ => args.iter().any(builds_secret),
        },
        Expr::Binary(_, l, r) => builds_secret(l) || builds_secret(r),
        Expr::Cond(c, t, f) => builds_secret(c) || builds_secret(t) || builds_secret(f),
        Expr::For(f) => {
            builds_secret(&f.coll)
                || builds_secret(&f.value)
                || f.key.as_ref().is_some_and(builds_secret)
        }
    }
}

/// The shortest secret [`secret_strings`] gives: shorter ones would be
/// found in too much text that is not them.
pub const SHORTEST_SECRET: usize = 4;

/// The text of every secret the nodes hold (configuration nodes and state
/// instances alike): the strings at their secret paths, the string
/// literals of the expressions there, a multi-line secret line by line too,
/// and the keys of secret maps unless named like secrets themselves (a
/// sensitive output's map keys are secret; `password` is not); none
/// shorter than [`SHORTEST_SECRET`]. Sorted longest first, for output
/// that rewind does not write itself (Terraform's) to have them replaced.
pub fn secret_strings<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Vec<String> {
    secret_strings_and(nodes, std::iter::empty::<(&str, bool)>())
}

/// [`secret_strings`] of the nodes and of more secret texts, such as the
/// evaluated values a plan marks (`(text, true)` for a map key: added
/// unless named like a secret, as a node's map keys).
pub fn secret_strings_and<'a, 's>(
    nodes: impl IntoIterator<Item = &'a Node>,
    more: impl IntoIterator<Item = (&'s str, bool)>,
) -> Vec<String> {
    fn value(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::String(s) => add(s, out),
            Value::List(l) => l.iter().for_each(|x| value(x, out)),
            Value::Map(m) => {
                for (k, x) in m {
                    if !crate::load::is_secret_name(k) {
                        add(k, out);
                    }
                    value(x, out);
                }
            }
            Value::Expr(e) => expr(e, out),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    fn parts(ps: &[Part], out: &mut BTreeSet<String>) {
        for p in ps {
            match p {
                Part::Lit(s) => add(s, out),
                Part::Interp(e) => expr(e, out),
                Part::If {
                    then, otherwise, ..
                } => {
                    parts(then, out);
                    parts(otherwise, out);
                }
                Part::For(f) => parts(&f.body, out),
            }
        }
    }
    fn expr(e: &Expr, out: &mut BTreeSet<String>) {
        match e {
            Expr::Template(ps) => parts(ps, out),
            Expr::Tuple(items) => items.iter().for_each(|x| expr(x, out)),
            Expr::Object(items) => items.iter().for_each(|(k, x)| {
                expr(k, out);
                expr(x, out);
            }),
            Expr::Postfix(x, _) | Expr::Unary(_, x) | Expr::Paren(x) => expr(x, out),
            Expr::Call { args, .. } => args.iter().for_each(|x| expr(x, out)),
            Expr::Binary(_, l, r) => {
                expr(l, out);
                expr(r, out);
            }
            Expr::Cond(c, t, f) => [c, t, f].into_iter().for_each(|x| expr(x, out)),
            Expr::For(f) => {
                expr(&f.coll, out);
                expr(&f.value, out);
            }
            Expr::Null | Expr::Bool(_) | Expr::Number(_) | Expr::Traversal { .. } => {}
        }
    }
    // the value at a path, through the `{"value", "type"}` wrapper a
    // state writes dynamic values in (`terraform_data`'s input)
    fn at<'v>(mut v: &'v Value, path: &Path) -> Option<&'v Value> {
        for step in &path.0 {
            if let Value::Map(m) = v {
                if m.len() == 2 && m.contains_key("type") && step != &PathStep::Key("value".into())
                {
                    if let Some(inner) = m.get("value") {
                        v = inner;
                    }
                }
            }
            v = match (step, v) {
                (PathStep::Key(k), Value::Map(m)) => m.get(k)?,
                (PathStep::Index(i), Value::List(l)) => l.get(*i)?,
                _ => return None,
            };
        }
        Some(v)
    }
    let mut out = BTreeSet::new();
    for n in nodes {
        for p in &n.sensitive {
            if let Some(v) = at(&n.body, p) {
                value(v, &mut out);
            }
        }
    }
    for (s, key) in more {
        if !key || !crate::load::is_secret_name(s) {
            add(s, &mut out);
        }
    }
    let mut out: Vec<String> = out.into_iter().collect();
    out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    out
}

/// Adds secret text `s` to `out` (see [`secret_strings`]): as it is, as
/// Terraform's plan quotes it, and each line of a multi-line one.
fn add(s: &str, out: &mut BTreeSet<String>) {
    if s.len() >= SHORTEST_SECRET {
        out.insert(s.to_string());
        // as Terraform's plan writes a string (`"a\"b"`): the text a
        // rollback streams holds that form, not the value
        let escaped = terraform_quoted(s);
        if escaped != s {
            out.insert(escaped);
        }
    }
    if s.contains('\n') {
        for l in s.lines().map(str::trim) {
            if l.len() >= SHORTEST_SECRET {
                out.insert(l.to_string());
            }
        }
    }
}

/// A string as Terraform's plan renderer writes it between quotes, as an
/// address's key is written ([`rewind_model::quote_key`]: backslash,
/// quote and control characters escaped, `${` as `$${`, `%{` as `%%{`),
/// without the quotes.
fn terraform_quoted(s: &str) -> String {
    let q = rewind_model::quote_key(s);
    q[1..q.len() - 1].to_string()
}

/// `text` with every one of `secrets` (as [`secret_strings`] gives them,
/// longest first) replaced by `(sensitive value)`, in one pass (a secret
/// is never looked for in what replaced another).
pub fn scrub<'t>(text: &'t str, secrets: &[String]) -> std::borrow::Cow<'t, str> {
    if !secrets.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match secrets.iter().find(|s| rest.starts_with(s.as_str())) {
            Some(s) => {
                out.push_str("(sensitive value)");
                rest = &rest[s.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret with quotes, backslashes, tabs or template sequences is
    /// found in the form Terraform's plan shows it too.
    #[test]
    fn terraform_escaped_forms_are_secrets_too() {
        let mut n = Node::new(NodeKind::Instance, "terraform_data.x");
        let mut body = rewind_model::Map::new();
        for (k, v) in [
            ("api_token", "S3CRET-\"051\"-XYZ"),
            ("password", "S3CRET-\\052\\-XYZ"),
            ("pwd", "S3CRET-053\t-${x}-%{y}"),
        ] {
            body.insert(k.into(), Value::String(v.into()));
        }
        n.body = std::sync::Arc::new(Value::Map(body));
        n.sensitive = ["api_token", "password", "pwd"]
            .iter()
            .map(|k| Path::root().key(k))
            .collect();
        let found = secret_strings([&n]);
        for shown in [
            r#"~ api_token = "S3CRET-\"051\"-XYZ" -> null"#,
            r#"~ password = "S3CRET-\\052\\-XYZ" -> null"#,
            r#"~ pwd = "S3CRET-053\t-$${x}-%%{y}" -> null"#,
        ] {
            let scrubbed = scrub(shown, &found);
            assert!(!scrubbed.contains("S3CRET"), "{scrubbed}");
        }
    }

    /// Evaluated secrets are added as a node's are: a map key named like a
    /// secret is not (it would hide every `password =` in the text).
    #[test]
    fn more_secret_texts_follow_the_nodes_rules() {
        let found = secret_strings_and(
            std::iter::empty(),
            [
                ("static-4417", false),
                ("password", true),
                ("db-hunter", true),
                ("abc", false),
                ("a\"b-q", false),
            ],
        );
        assert_eq!(found, ["static-4417", "db-hunter", "a\\\"b-q", "a\"b-q"],);
    }

    #[test]
    fn secrets_are_found_and_scrubbed() {
        let mut n = Node::new(NodeKind::Instance, "terraform_data.x");
        let mut input = rewind_model::Map::new();
        input.insert("password".into(), Value::String("hunter22".into()));
        input.insert("short".into(), Value::String("abc".into()));
        let mut wrapped = rewind_model::Map::new();
        wrapped.insert("value".into(), Value::Map(input));
        wrapped.insert("type".into(), Value::String("dynamic".into()));
        let mut body = rewind_model::Map::new();
        body.insert("input".into(), Value::Map(wrapped));
        body.insert("id".into(), Value::String("not-a-secret".into()));
        n.body = std::sync::Arc::new(Value::Map(body));
        n.sensitive = vec![Path::root().key("input").key("password")];
        let mut o = Node::new(NodeKind::Instance, "output.o");
        let mut keys = rewind_model::Map::new();
        keys.insert(
            "key-hunter-1".into(),
            Value::String("line one\nline two".into()),
        );
        o.body = std::sync::Arc::new(Value::Map(keys));
        o.sensitive = vec![Path::root()];
        let found = secret_strings([&n, &o]);
        assert_eq!(
            found,
            [
                // as Terraform's plan quotes it
                "line one\\nline two",
                "line one\nline two",
                "key-hunter-1",
                "hunter22",
                "line one",
                "line two"
            ]
        );
        assert_eq!(
            scrub(
                "  ~ input = \"postgres://u:hunter22@db\" id=not-a-secret",
                &found
            ),
            "  ~ input = \"postgres://u:(sensitive value)@db\" id=not-a-secret"
        );
        assert_eq!(scrub("  + line two", &found), "  + (sensitive value)");
        assert!(matches!(
            scrub("nothing here", &found),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn instance_keys_are_removed() {
        assert_eq!(
            without_keys("module.db[0].aws_x.y[\"a]b\"]"),
            "module.db.aws_x.y"
        );
        assert_eq!(without_keys("aws_x.y (deposed 00ab)"), "aws_x.y");
    }
}
