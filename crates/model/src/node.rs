use std::fmt;
use std::sync::Arc;

use crate::codec::{Dec, DecodeError, Enc};
use crate::{Hash, Path, Value};

/// The version byte that starts a node's encoding. Version 2 encodes
/// expressions as syntax trees; version 1 (rewind 0.1) kept them as text.
pub(crate) const NODE_ENCODING: u8 = 2;

/// What a node is. The order is the order nodes sort in within a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Terraform,
    Provider,
    Variable,
    Local,
    Data,
    #[default]
    Resource,
    Module,
    Output,
    Moved,
    Removed,
    Import,
    Check,
    /// A `.tfvars` / `.tfvars.json` file: assignments to root variables.
    Tfvars,
    /// A deployed object read from a state file.
    Instance,
    /// An `action` block (Terraform 1.14): an operation a provider runs
    /// when a resource's `action_trigger` fires or on `-invoke`; it has no
    /// state of its own.
    Action,
}

impl NodeKind {
    pub const ALL: [NodeKind; 15] = [
        NodeKind::Terraform,
        NodeKind::Provider,
        NodeKind::Variable,
        NodeKind::Local,
        NodeKind::Data,
        NodeKind::Resource,
        NodeKind::Module,
        NodeKind::Output,
        NodeKind::Moved,
        NodeKind::Removed,
        NodeKind::Import,
        NodeKind::Check,
        NodeKind::Tfvars,
        NodeKind::Instance,
        NodeKind::Action,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Terraform => "terraform",
            NodeKind::Provider => "provider",
            NodeKind::Variable => "variable",
            NodeKind::Local => "local",
            NodeKind::Data => "data",
            NodeKind::Resource => "resource",
            NodeKind::Module => "module",
            NodeKind::Output => "output",
            NodeKind::Moved => "moved",
            NodeKind::Removed => "removed",
            NodeKind::Import => "import",
            NodeKind::Check => "check",
            NodeKind::Tfvars => "tfvars",
            NodeKind::Instance => "instance",
            NodeKind::Action => "action",
        }
    }

    pub fn parse(s: &str) -> Option<NodeKind> {
        NodeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn code(self) -> u8 {
        NodeKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    fn from_code(c: u8) -> Option<NodeKind> {
        NodeKind::ALL.get(c as usize).copied()
    }

    /// Resources and data sources: the things Terraform creates or reads.
    pub fn is_resource_like(self) -> bool {
        matches!(self, NodeKind::Resource | NodeKind::Data)
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one node depends on another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// An expression refers to the target.
    Reference,
    /// `depends_on`.
    DependsOn,
    /// The provider configuration a resource (or module) uses.
    Provider,
    /// Module nesting: a node inside a module depends on its module call.
    Module,
    /// A `dependencies` entry of a state instance.
    State,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 5] = [
        EdgeKind::Reference,
        EdgeKind::DependsOn,
        EdgeKind::Provider,
        EdgeKind::Module,
        EdgeKind::State,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Reference => "reference",
            EdgeKind::DependsOn => "depends_on",
            EdgeKind::Provider => "provider",
            EdgeKind::Module => "module",
            EdgeKind::State => "state",
        }
    }

    fn code(self) -> u8 {
        EdgeKind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    fn from_code(c: u8) -> Option<EdgeKind> {
        EdgeKind::ALL.get(c as usize).copied()
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An outgoing edge: the node it sits on depends on `to`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edge {
    pub to: String,
    pub kind: EdgeKind,
}

/// Where a node was written. Not part of a node's content: moving a block
/// to another file or line is not a change.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Loc {
    /// Path relative to the snapshot root, with `/` separators.
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

/// One node of the model: a configuration block, or a deployed instance.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Node {
    /// Terraform's address: `module.net.aws_subnet.a`, `var.region`,
    /// `aws_instance.web[0]` (instances)...
    pub address: String,
    pub kind: NodeKind,
    /// The module path (`module.net.module.sub`), empty at the root.
    pub module: String,
    /// Resource or data source type, provider local name, tfvars path...
    pub type_: String,
    /// The block's name label (or `alias` for providers).
    pub name: String,
    /// Canonical attributes and nested blocks (shared: a module used twice,
    /// or a parse result and its node, hold one copy).
    pub body: Arc<Value>,
    /// Facts about the node that are not attributes: a module's resolved
    /// source, an instance's status, index key, deposed key... (allocated
    /// only when there is one: see [`NodeFacts`](crate::NodeFacts)).
    pub facts: crate::NodeFacts,
    /// Attribute paths whose values are secret (empty path: the whole node).
    pub sensitive: Vec<Path>,
    /// Outgoing edges, sorted and without duplicates.
    pub edges: Vec<Edge>,
    /// Where it was written (not hashed).
    pub loc: Loc,
}

/// The lifecycle settings of a resource.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    pub ignore_changes: Vec<String>,
    pub ignore_all_changes: bool,
    pub replace_triggered_by: Vec<String>,
}

impl Node {
    pub fn new(kind: NodeKind, address: impl Into<String>) -> Node {
        Node {
            address: address.into(),
            kind,
            ..Node::default()
        }
    }

    /// The canonical bytes of the node's content (everything but `loc`).
    pub fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(256);
        self.encode_into(&mut buf);
        buf
    }

    /// [`Node::encode`] appended to `buf` (a buffer kept by the caller
    /// saves growing a new one for every node).
    pub fn encode_into(&self, buf: &mut Vec<u8>) {
        let mut e = Enc::from_vec(std::mem::take(buf));
        e.u8(NODE_ENCODING); // node encoding version
        e.u8(self.kind.code());
        e.str(&self.address);
        e.str(&self.module);
        e.str(&self.type_);
        e.str(&self.name);
        e.value(&self.body);
        let facts = self.facts.to_map();
        e.uvar(facts.len() as u64);
        for (k, v) in &facts {
            e.str(k);
            e.value(v);
        }
        e.uvar(self.sensitive.len() as u64);
        for p in &self.sensitive {
            e.path(p);
        }
        e.uvar(self.edges.len() as u64);
        for edge in &self.edges {
            e.str(&edge.to);
            e.u8(edge.kind.code());
        }
        *buf = e.into_bytes();
    }

    /// Decodes what [`Node::encode`] wrote; `loc` is left empty.
    pub fn decode(bytes: &[u8]) -> Result<Node, DecodeError> {
        Node::decode_with(bytes, false)
    }

    /// Like [`Node::decode`]; with `skip_body` the attributes are not built
    /// (the body is null), for uses that need only addresses, facts and
    /// edges.
    pub fn decode_with(bytes: &[u8], skip_body: bool) -> Result<Node, DecodeError> {
        let mut d = Dec::new(bytes);
        let version = d.u8()?;
        if version != NODE_ENCODING {
            return Err(d.error(format!(
                "unknown node encoding version {version} (this rewind reads version {NODE_ENCODING})"
            )));
        }
        let kind = NodeKind::from_code(d.u8()?).ok_or_else(|| d.error("unknown node kind"))?;
        let address = d.string()?;
        let module = d.string()?;
        let type_ = d.string()?;
        let name = d.string()?;
        let body = if skip_body {
            d.skip_value()?;
            Value::Null
        } else {
            d.value()?
        };
        let n = d.len()?;
        let mut facts = crate::Facts::default();
        for _ in 0..n {
            let k = d.string()?;
            facts.insert(k, d.value()?);
        }
        let n = d.len()?;
        let mut sensitive = Vec::with_capacity(n);
        for _ in 0..n {
            sensitive.push(d.path()?);
        }
        let n = d.len()?;
        let mut edges = Vec::with_capacity(n);
        for _ in 0..n {
            let to = d.string()?;
            let kind = EdgeKind::from_code(d.u8()?).ok_or_else(|| d.error("unknown edge kind"))?;
            edges.push(Edge { to, kind });
        }
        d.finish()?;
        Ok(Node {
            address,
            kind,
            module,
            type_,
            name,
            body: Arc::new(body),
            facts: facts.into(),
            sensitive,
            edges,
            loc: Loc::default(),
        })
    }

    /// The blake3 hash of the canonical content.
    /// The encoding is made in a buffer kept by the thread (the JSON
    /// graph hashes every node).
    pub fn hash(&self) -> Hash {
        thread_local! {
            static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUF.with(|b| match b.try_borrow_mut() {
            Ok(mut buf) => {
                buf.clear();
                self.encode_into(&mut buf);
                let h = Hash::of(&buf);
                // a rare huge node does not keep its buffer alive
                if buf.capacity() > 1 << 20 {
                    *buf = Vec::new();
                }
                h
            }
            Err(_) => Hash::of(&self.encode()),
        })
    }

    /// Adds an edge, keeping `edges` sorted and unique.
    pub fn add_edge(&mut self, to: impl Into<String>, kind: EdgeKind) {
        let edge = Edge {
            to: to.into(),
            kind,
        };
        if let Err(pos) = self.edges.binary_search(&edge) {
            self.edges.insert(pos, edge);
        }
    }

    /// The lifecycle block of a resource.
    pub fn lifecycle(&self) -> Lifecycle {
        let mut lc = Lifecycle::default();
        if self.kind == NodeKind::Instance {
            lc.create_before_destroy = self.facts.create_before_destroy;
            return lc;
        }
        let Some(block) = self.body.block("lifecycle") else {
            return lc;
        };
        lc.create_before_destroy = block
            .get("create_before_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        lc.prevent_destroy = block
            .get("prevent_destroy")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match block.get("ignore_changes") {
            Some(Value::List(items)) => {
                for i in items {
                    match i {
                        Value::Expr(e) => lc.ignore_changes.push(e.to_string()),
                        Value::String(e) => lc.ignore_changes.push(e.clone()),
                        _ => {}
                    }
                }
            }
            Some(Value::Expr(e)) if e.to_string() == "all" => lc.ignore_all_changes = true,
            Some(Value::String(e)) if e == "all" => lc.ignore_all_changes = true,
            _ => {}
        }
        if let Some(Value::List(items)) = block.get("replace_triggered_by") {
            for i in items {
                match i {
                    Value::Expr(e) => lc.replace_triggered_by.push(e.to_string()),
                    Value::String(e) => lc.replace_triggered_by.push(e.clone()),
                    _ => {}
                }
            }
        }
        lc
    }

    /// True when the whole node is secret (`sensitive = true`).
    pub fn is_sensitive(&self) -> bool {
        self.sensitive.iter().any(|p| p.0.is_empty())
    }

    /// True when the value at `path` is secret.
    pub fn is_sensitive_path(&self, path: &Path) -> bool {
        self.sensitive
            .iter()
            .any(|p| p.is_prefix_of(path) || path.is_prefix_of(p))
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

/// A problem found in the input, with its location.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    pub severity: Severity,
    pub loc: Loc,
    pub message: String,
    /// The source line, quoted in error output.
    pub source_line: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.loc.file.is_empty() {
            write!(f, "{sev}: {}", self.message)?;
        } else {
            write!(f, "{sev}: {}: {}", self.loc, self.message)?;
        }
        if let Some(line) = &self.source_line {
            // a long line is quoted around the column only (an error at
            // the end of a 10 MB line printed 20 MB)
            const WIDTH: usize = 160;
            let col = (self.loc.col as usize).saturating_sub(1);
            let total = line.chars().count();
            let start = if total <= WIDTH {
                0
            } else {
                col.saturating_sub(WIDTH / 2).min(total - WIDTH)
            };
            let shown: String = line.chars().skip(start).take(WIDTH).collect();
            let (before, after) = (
                if start > 0 { "…" } else { "" },
                if start + WIDTH < total { "…" } else { "" },
            );
            let gutter = self.loc.line.to_string();
            write!(
                f,
                "\n {} |\n {gutter} | {before}{shown}{after}",
                " ".repeat(gutter.len())
            )?;
            if self.loc.col > 0 {
                let prefix: String = before
                    .chars()
                    .chain(shown.chars())
                    .take(col - start + before.chars().count())
                    .map(|c| if c == '\t' { '\t' } else { ' ' })
                    .collect();
                write!(f, "\n {} | {prefix}^", " ".repeat(gutter.len()))?;
            }
        }
        Ok(())
    }
}

/// Facts about the state file a model's instances came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateInfo {
    pub path: String,
    pub lineage: String,
    pub serial: u64,
    pub terraform_version: String,
}

/// Everything one snapshot means.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Configuration nodes, sorted by address.
    pub nodes: Vec<Node>,
    /// Deployed instances from the state file, sorted by address.
    pub instances: Vec<Node>,
    pub state: Option<StateInfo>,
    /// Warnings (unresolved references, ignored files...).
    pub diagnostics: Vec<Diagnostic>,
}

/// Frees the spare capacity of `nodes` and of each node's edges and
/// secret paths ([`Model::shrink_to_fit`]).
fn shrink_nodes(nodes: &mut Vec<Node>) {
    for n in nodes.iter_mut() {
        n.edges = crate::map::exact(std::mem::take(&mut n.edges));
        n.sensitive = crate::map::exact(std::mem::take(&mut n.sensitive));
    }
    nodes.shrink_to_fit();
}

/// Sorts `nodes` by address, stably (as `sort_by` on the address does),
/// moving each node at most once: the order is found on their indexes,
/// then applied by following its cycles. A node is a few hundred bytes,
/// and a sort that moves them `n log n` times spent more time copying
/// them than comparing addresses.
pub fn sort_by_address(nodes: &mut [Node]) {
    if nodes.is_sorted_by(|a, b| a.address <= b.address) {
        return;
    }
    // sorted with the addresses beside the indexes (not read through the
    // nodes: a node and then its address were two cache misses a
    // comparison), ties by index, which keeps it stable
    let mut keyed: Vec<(&str, usize)> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.address.as_str(), i))
        .collect();
    keyed.sort_unstable();
    let mut order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    // position `k` takes the node at `order[k]`; a visited position is
    // marked with `usize::MAX`
    for start in 0..nodes.len() {
        let mut at = start;
        while order[at] != usize::MAX {
            let from = order[at];
            order[at] = usize::MAX;
            if from == start {
                break;
            }
            nodes.swap(at, from);
            at = from;
        }
    }
}

impl Model {
    /// Sorts nodes and instances by address (the canonical order).
    pub fn sort(&mut self) {
        sort_by_address(&mut self.nodes);
        sort_by_address(&mut self.instances);
    }

    /// Frees the spare capacity of the node lists and of every node's
    /// edges and secret paths (grown one push at a time while loading:
    /// about 10 MB of each model of 100,000 resources).
    pub fn shrink_to_fit(&mut self) {
        shrink_nodes(&mut self.nodes);
        shrink_nodes(&mut self.instances);
    }

    /// [`Model::sort`], [`Model::shrink_to_fit`] and, if `rank`,
    /// [`Model::ranks`] (None without `rank`): the instances are sorted
    /// and shrunk on another thread while the configuration's nodes are
    /// sorted, shrunk and ranked (a load's last serial step, 0.1 s of
    /// one core at 100k resources, otherwise).
    pub fn sort_and_rank(&mut self, rank: bool) -> Option<Vec<u32>> {
        let mut instances = std::mem::take(&mut self.instances);
        let (ranks, instances) = std::thread::scope(|s| {
            let sorted = s.spawn(move || {
                sort_by_address(&mut instances);
                shrink_nodes(&mut instances);
                instances
            });
            sort_by_address(&mut self.nodes);
            shrink_nodes(&mut self.nodes);
            let ranks = if rank { self.ranks() } else { None };
            let instances = sorted
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            (ranks, instances)
        });
        self.instances = instances;
        ranks
    }

    /// The configuration node with this address (nodes must be sorted).
    pub fn node(&self, address: &str) -> Option<&Node> {
        self.nodes
            .binary_search_by(|n| n.address.as_str().cmp(address))
            .ok()
            .map(|i| &self.nodes[i])
    }

    /// The instance with this address (instances must be sorted).
    pub fn instance(&self, address: &str) -> Option<&Node> {
        self.instances
            .binary_search_by(|n| n.address.as_str().cmp(address))
            .ok()
            .map(|i| &self.instances[i])
    }

    /// The indexes of the resource and data nodes inside the module call
    /// `call` (`module.net`), at any depth (nodes must be sorted: those of
    /// the call are one run).
    pub fn module_resources(&self, call: &str) -> impl Iterator<Item = usize> + '_ {
        let prefix = format!("{call}.");
        let start = self
            .nodes
            .partition_point(|n| n.address.as_str() < prefix.as_str());
        self.nodes[start..]
            .iter()
            .enumerate()
            .take_while(move |(_, n)| n.address.starts_with(&prefix))
            .filter(|(_, n)| n.kind.is_resource_like())
            .map(move |(i, _)| start + i)
    }

    /// All resource and data nodes.
    pub fn resources(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind.is_resource_like())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long line is quoted around the error's column, with the caret
    /// under the character; a short one whole.
    #[test]
    fn long_source_lines_are_quoted_around_the_column() {
        let d = |line: String, col: u32| {
            Diagnostic {
                severity: Severity::Error,
                loc: Loc {
                    file: "main.tf".into(),
                    line: 2,
                    col,
                },
                message: "unexpected '+'".into(),
                source_line: Some(line),
            }
            .to_string()
        };
        let long = format!("  a = \"{}\" + x", "y".repeat(10_000_000));
        let col = long.len() as u32 - 2;
        let text = d(long, col);
        assert!(text.len() < 600, "{} bytes", text.len());
        let lines: Vec<&str> = text.lines().collect();
        let (quoted, caret) = (lines[2], lines[3]);
        assert!(
            quoted.contains("…yyy") && quoted.ends_with("\" + x"),
            "{quoted}"
        );
        let at = caret.chars().count() - 1;
        assert_eq!(quoted.chars().nth(at), Some('+'), "{quoted}\n{caret}");
        let short = d("  a = 1 +".into(), 9);
        assert!(short.ends_with("2 |   a = 1 +\n   |         ^"), "{short}");
    }

    /// Hashes made in the thread's buffer, one node after another (a
    /// large body, then small ones, so a longer encoding before is never
    /// left in the buffer), are the hashes of each node's own encoding;
    /// `encode_into` appends.
    #[test]
    fn hashes_from_the_kept_buffer_are_each_nodes_own() {
        let node = |i: usize, attrs: usize| {
            let mut n = Node::new(NodeKind::Resource, format!("aws_sqs_queue.q{i}"));
            n.type_ = "aws_sqs_queue".into();
            n.name = format!("q{i}");
            let mut body = crate::Map::new();
            for a in 0..attrs {
                body.insert(format!("tag_{a}"), Value::str(format!("value-{i}-{a}")));
            }
            n.body = Arc::new(Value::Map(body));
            n.add_edge(format!("aws_kms_key.k{i}"), EdgeKind::Reference);
            n
        };
        let nodes: Vec<Node> = [(0, 5000), (1, 0), (2, 3), (3, 200), (4, 1)]
            .iter()
            .map(|&(i, attrs)| node(i, attrs))
            .collect();
        let hashes: Vec<Hash> = nodes.iter().map(Node::hash).collect();
        for (n, h) in nodes.iter().zip(&hashes) {
            assert_eq!(*h, Hash::of(&n.encode()));
        }
        assert_ne!(hashes[1], hashes[2]);
        let mut buf = b"prefix".to_vec();
        nodes[2].encode_into(&mut buf);
        assert_eq!(buf, [b"prefix".as_slice(), &nodes[2].encode()].concat());
    }

    /// The permutation sort gives the order of a stable sort by address:
    /// shuffled addresses with repeats (their names tell them apart, so a
    /// repeat's order is checked), already sorted, reversed, empty.
    #[test]
    fn sort_by_address_is_a_stable_sort_by_address() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let make = |addrs: &[String]| -> Vec<Node> {
            addrs
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    let mut n = Node::new(NodeKind::Resource, a.clone());
                    n.name = format!("n{i}");
                    n
                })
                .collect()
        };
        let shuffled: Vec<String> = (0..500)
            .map(|_| format!("module.m{}.aws_x.r{}", next(7), next(60)))
            .collect();
        let mut sorted = shuffled.clone();
        sorted.sort();
        let mut reversed = sorted.clone();
        reversed.reverse();
        for addrs in [shuffled, sorted, reversed, Vec::new()] {
            let mut ours = make(&addrs);
            let mut std_sorted = ours.clone();
            std_sorted.sort_by(|a, b| a.address.cmp(&b.address));
            sort_by_address(&mut ours);
            let names = |v: &[Node]| -> Vec<(String, String)> {
                v.iter()
                    .map(|n| (n.address.clone(), n.name.clone()))
                    .collect()
            };
            assert_eq!(names(&ours), names(&std_sorted));
        }
    }

    #[test]
    fn node_round_trips_and_hash_ignores_location() {
        let mut n = Node::new(NodeKind::Resource, "module.net.aws_subnet.a");
        n.module = "module.net".into();
        n.type_ = "aws_subnet".into();
        n.name = "a".into();
        let mut body = crate::Map::new();
        body.insert("cidr_block".into(), Value::str("10.0.1.0/24"));
        body.insert(
            "vpc_id".into(),
            Value::expr(crate::expr::Expr::Traversal {
                root: "aws_vpc".into(),
                ops: vec![
                    crate::expr::TravOp::Attr("main".into()),
                    crate::expr::TravOp::Attr("id".into()),
                ],
                pos: 0,
            }),
        );
        n.body = Value::Map(body).into();
        n.add_edge("module.net.aws_vpc.main", EdgeKind::Reference);
        n.add_edge("module.net", EdgeKind::Module);
        n.add_edge("module.net.aws_vpc.main", EdgeKind::Reference);
        assert_eq!(n.edges.len(), 2);
        n.sensitive.push(Path::root().key("password"));
        let bytes = n.encode();
        let back = Node::decode(&bytes).unwrap();
        assert_eq!(back, n);
        let mut moved = n.clone();
        moved.loc = Loc {
            file: "other.tf".into(),
            line: 40,
            col: 1,
        };
        assert_eq!(moved.hash(), n.hash());
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 3);
        assert!(Node::decode(&truncated).is_err());
    }

    #[test]
    fn lifecycle_reads_block() {
        let mut n = Node::new(NodeKind::Resource, "aws_db_instance.main");
        let mut lc = crate::Map::new();
        lc.insert("prevent_destroy".into(), Value::Bool(true));
        lc.insert(
            "ignore_changes".into(),
            Value::List(vec![Value::expr(crate::expr::Expr::Traversal {
                root: "tags".into(),
                ops: vec![],
                pos: 0,
            })]),
        );
        let mut body = crate::Map::new();
        body.insert("lifecycle".into(), Value::List(vec![Value::Map(lc)]));
        n.body = Value::Map(body).into();
        let l = n.lifecycle();
        assert!(l.prevent_destroy);
        assert!(!l.create_before_destroy);
        assert_eq!(l.ignore_changes, vec!["tags".to_string()]);
    }
}

#[cfg(test)]
mod format_example {
    use super::*;
    use crate::expr::{Expr, TravOp};

    /// docs/store-format.md §19.4: the worked example of a node's bytes.
    #[test]
    fn store_format_node_example() {
        let mut n = Node::new(NodeKind::Resource, "aws_subnet.a");
        n.type_ = "aws_subnet".into();
        n.name = "a".into();
        let mut body = crate::Map::new();
        body.insert("cidr_block".into(), Value::str("10.0.1.0/24"));
        body.insert(
            "vpc_id".into(),
            Value::expr(Expr::Traversal {
                root: "aws_vpc".into(),
                ops: vec![TravOp::Attr("main".into()), TravOp::Attr("id".into())],
                pos: 0,
            }),
        );
        n.body = Value::Map(body).into();
        n.add_edge("aws_vpc.main", EdgeKind::Reference);
        let bytes = n.encode();
        let hex: Vec<String> = bytes
            .chunks(16)
            .map(|c| {
                c.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let dump: String = hex
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{:04x}  {l}\n", i * 16))
            .collect();
        let expected = include_str!("../../../docs/store-format.md");
        let start = expected
            .find("### 19.4 A Node")
            .expect("the section exists");
        let section = &expected[start..];
        assert!(
            section.contains(&dump),
            "the document's hex dump differs from the encoding:\n{dump}"
        );
        assert!(section.contains(&format!("Length {};", bytes.len())));
        assert!(section.contains(&n.hash().to_string()), "id {}", n.hash());
        assert_eq!(Node::decode(&bytes).expect("decodes"), n);
    }
}
