//! From a parsed file to raw nodes: every top-level block Terraform knows,
//! with its canonical body and the references it makes (not yet resolved:
//! resolution needs the whole module tree, see `resolve`).

use rewind_model::Map;

use rewind_model::{EdgeKind, NodeKind, Value};

use crate::hcl::{collect_refs, to_value, Block, Body, Expr, Item, LineIndex, Part, TravOp};

mod required_version;

/// A reference as written, with the kind of edge it makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawRef {
    /// The root name and each step after a NUL (`var\0name`), in one
    /// allocation: a parse keeps every reference of its files until the
    /// references are resolved, close to a million of them at 100,000
    /// resources, and as a `String` and a list of `String`s they were
    /// 86 MB at the peak of a plan's load. No name holds a NUL, and a
    /// quoted key is escaped (`["a\u0000b"]`).
    names: Box<str>,
    pub kind: EdgeKind,
    pub line: u32,
    pub col: u32,
}

impl RawRef {
    pub(crate) fn new(root: &str, steps: &[String], kind: EdgeKind, line: u32, col: u32) -> RawRef {
        let mut names =
            String::with_capacity(root.len() + steps.iter().map(|s| s.len() + 1).sum::<usize>());
        names.push_str(root);
        for s in steps {
            debug_assert!(!s.contains('\0'), "a step holds no NUL: {s:?}");
            names.push('\0');
            names.push_str(s);
        }
        RawRef {
            names: names.into_boxed_str(),
            kind,
            line,
            col,
        }
    }

    /// The reference `root` and `ops` make ([`crate::hcl::for_each_ref`]),
    /// its names written straight into their one allocation.
    pub(crate) fn of_ops(
        root: &str,
        ops: &[TravOp],
        kind: EdgeKind,
        line: u32,
        col: u32,
    ) -> RawRef {
        let mut names = String::with_capacity(
            root.len()
                + ops
                    .iter()
                    .map(|op| match op {
                        TravOp::Attr(a) => a.len() + 1,
                        _ => 8,
                    })
                    .sum::<usize>(),
        );
        names.push_str(root);
        for op in ops {
            names.push('\0');
            crate::hcl::push_step(&mut names, op);
        }
        RawRef {
            names: names.into_boxed_str(),
            kind,
            line,
            col,
        }
    }

    /// `var`, `local`, `module`, a resource type...
    pub(crate) fn root(&self) -> &str {
        self.names.split('\0').next().unwrap_or_default()
    }

    /// The attribute names, or index keys written as `[0]` / `["k"]`.
    pub(crate) fn steps(&self) -> impl Iterator<Item = &str> + '_ {
        self.names.split('\0').skip(1)
    }

    /// Step `i`.
    pub(crate) fn step(&self, i: usize) -> Option<&str> {
        self.steps().nth(i)
    }
}

impl RawRef {
    /// The same reference, wherever it is written.
    fn same_but_place(&self, other: &RawRef) -> bool {
        self.names == other.names && self.kind == other.kind
    }
}

fn same_refs(a: &[RawRef], b: &[RawRef]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_but_place(y))
}

/// Every value of `body` that makes references, by its path in the body,
/// with its references (root and steps, as written), in the order of the
/// body. Where a value that reads a secret sits is what the sensitivity
/// pass marks secret (`sensitive.rs`): bodies alike in this read alike.
fn reads_by_path(body: &Value) -> Vec<(String, Vec<String>)> {
    fn walk(v: &Value, path: &mut String, out: &mut Vec<(String, Vec<String>)>) {
        let at = path.len();
        match v {
            // each step by its length or index first: no key can be
            // written to read as another path
            Value::Map(m) => {
                for (k, child) in m {
                    path.push_str(&format!("k{}:", k.len()));
                    path.push_str(k);
                    walk(child, path, out);
                    path.truncate(at);
                }
            }
            Value::List(l) => {
                for (i, child) in l.iter().enumerate() {
                    path.push_str(&format!("i{i};"));
                    walk(child, path, out);
                    path.truncate(at);
                }
            }
            Value::Expr(e) => {
                let mut refs = Vec::new();
                crate::hcl::for_each_ref(e, &[], &mut |root, ops, _| {
                    let mut r = root.to_string();
                    for op in ops {
                        r.push('\0');
                        crate::hcl::push_step(&mut r, op);
                    }
                    refs.push(r);
                });
                if !refs.is_empty() {
                    out.push((path.clone(), refs));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut String::new(), &mut out);
    out
}

/// Where a block of a file was and is, and its new body when only that
/// changed ([`body_edits`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BlockEdit {
    /// Its address inside its module (`aws_instance.web`, `var.x`).
    pub local: String,
    /// Line and column of the block in the old version of the file.
    pub old_at: (u32, u32),
    /// Line and column of the block in the new version.
    pub new_at: (u32, u32),
    /// The new body of a resource or data block whose values changed
    /// (`None`: the block is the same but for its place).
    pub body: Option<std::sync::Arc<Value>>,
    /// The provider configuration a resource or data block uses, as the
    /// loader keys it (`aws`, `aws.west`).
    pub provider_key: Option<String>,
    /// When the block's references changed (a resource, data source,
    /// local value or output "relinked"): what they now name, as
    /// [`AddedBlock::targets`] says, every one resolved; `None` when they
    /// are the same.
    pub targets: Option<Vec<(String, EdgeKind)>>,
}

/// A `resource` or `data` block a file gained ([`body_edits`]): what the
/// loader makes a node of, in each module instance loading the file.
#[derive(Clone, Debug, PartialEq)]
pub struct AddedBlock {
    pub kind: NodeKind,
    /// Its address inside its module.
    pub local: String,
    pub type_: String,
    pub name: String,
    pub body: std::sync::Arc<Value>,
    pub facts: rewind_model::NodeFacts,
    /// The provider configuration it uses, as the loader keys it.
    pub provider_key: String,
    /// What its references name, as addresses inside its module
    /// (`var.x`, `local.y`, `data.t.n`, `t.n`) with their edges' kinds,
    /// in order; `None` when one names anything else (a module's output,
    /// an action...) or nothing the loader would find.
    pub targets: Option<Vec<(String, EdgeKind)>>,
    /// Line and column of the block.
    pub at: (u32, u32),
}

/// A `resource` or `data` block a file lost ([`body_edits`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RemovedBlock {
    pub kind: NodeKind,
    pub type_: String,
    pub name: String,
    /// Line and column of the block in the old version.
    pub at: (u32, u32),
}

/// How a file changed, block by block ([`body_edits`]).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FileEdits {
    /// The blocks of both versions.
    pub kept: Vec<BlockEdit>,
    /// The resource and data blocks only the new version has.
    pub added: Vec<AddedBlock>,
    /// The resource and data blocks only the old version has.
    pub removed: Vec<RemovedBlock>,
}

/// The provider key the loader gives a resource or data block
/// (`Builder::add_config_node`).
fn block_provider_key(x: &RawNode) -> String {
    match &x.provider {
        Some(p) => provider_key(p),
        None => x.type_.split('_').next().unwrap_or_default().to_string(),
    }
}

/// The addresses inside its module that the references of `x` name, as
/// the loader resolves them (`Builder::resolve_ref`): `var.N`, `local.N`,
/// `data.T.N`, `resource.T.N` (→ `T.N`) and `T.N`; references to
/// `count`, `each`, `self`, `path` and `terraform` name nothing. `None`
/// for any other reference.
fn ref_targets(x: &RawNode) -> Option<Vec<(String, EdgeKind)>> {
    let mut out = Vec::with_capacity(x.refs.len());
    for r in &x.refs {
        let s = |i: usize| r.step(i).filter(|x| !x.starts_with('['));
        let root = r.root();
        let address = match root {
            "count" | "each" | "self" | "path" | "terraform" => continue,
            "var" | "local" => format!("{root}.{}", s(0)?),
            "data" => format!("data.{}.{}", s(0)?, s(1)?),
            "resource" => format!("{}.{}", s(0)?, s(1)?),
            "module" | "ephemeral" | "action" => return None,
            ty => format!("{ty}.{}", s(0)?),
        };
        out.push((address, r.kind));
    }
    Some(out)
}

/// Could a block of `parsed` (a module's configuration file) refer to the
/// `resource` or `data` block `kind` `type_` `name` of the same module?
/// True when one of its references names it, or one of its blocks is a
/// `moved`, `import` or `removed` block (which name resources by address).
pub fn may_refer_to(parsed: &crate::Parsed, kind: NodeKind, type_: &str, name: &str) -> bool {
    let crate::Parsed::Config(c) = parsed else {
        return false;
    };
    let names = |r: &RawRef| {
        let s = |i: usize| r.step(i);
        match (kind, r.root()) {
            (NodeKind::Data, "data") => s(0) == Some(type_) && s(1) == Some(name),
            (NodeKind::Data, _) => false,
            (_, "resource") => s(0) == Some(type_) && s(1) == Some(name),
            (_, root) => root == type_ && s(0) == Some(name),
        }
    };
    c.nodes.iter().any(|n| {
        matches!(
            n.kind,
            NodeKind::Moved | NodeKind::Import | NodeKind::Removed
        ) || n.refs.iter().any(names)
            || n.args.iter().any(|(_, refs)| refs.iter().any(names))
    })
}

/// How a configuration file changed when the change is confined to the
/// values of `resource`, `data`, `variable` and `output` blocks and of
/// local values, and to whole `resource` and `data` blocks added or
/// removed, and to the references of `resource`, `data`, `output` blocks
/// and local values when each names a block of its module
/// ([`BlockEdit::targets`]). `None` when anything else differs: another
/// kind of block added, removed or changed; of a block in both versions,
/// its provider, facts or sensitivity, a module call's references, or
/// another kind's; where in a changed body each value that makes
/// references sits, and which references it makes, when the references
/// are the same; two blocks of one address; or either version has
/// warnings or errors. Blocks are matched by kind and address. Such a
/// change makes no other block's node change: the nodes of the kept
/// blocks are the old ones with their bodies (and a relinked one's
/// reference edges) replaced (`rewind-engine`'s incremental snapshot
/// checks what follows from the bodies themselves, what a relinked block
/// reads and whether its new edges could close a cycle, and what an added
/// or removed block does to the rest of its module).
pub fn body_edits(old: &crate::Parsed, new: &crate::Parsed) -> Option<FileEdits> {
    let (crate::Parsed::Config(a), crate::Parsed::Config(b)) = (old, new) else {
        return None;
    };
    let clean = |c: &FileConfig| c.warnings.is_empty() && c.errors.is_empty();
    if !clean(a) || !clean(b) {
        return None;
    }
    let key = |x: &RawNode| (x.kind, x.local.clone());
    let mut old_at: std::collections::HashMap<(NodeKind, String), usize> =
        std::collections::HashMap::with_capacity(a.nodes.len());
    let mut places = std::collections::HashSet::with_capacity(a.nodes.len());
    for (i, x) in a.nodes.iter().enumerate() {
        // a block is found by where it starts, and by its address: two
        // at one place, or of one address, could not be told apart
        if old_at.insert(key(x), i).is_some() || !places.insert((x.line, x.col)) {
            return None;
        }
    }
    let mut edits = FileEdits::default();
    let mut matched = vec![false; a.nodes.len()];
    let mut new_keys = std::collections::HashSet::with_capacity(b.nodes.len());
    for y in &b.nodes {
        if !new_keys.insert(key(y)) {
            return None;
        }
        let Some(&i) = old_at.get(&key(y)) else {
            if !is_resource_like(y.kind)
                || y.sensitive
                || !y.args.is_empty()
                || !y.providers.is_empty()
            {
                return None;
            }
            edits.added.push(AddedBlock {
                kind: y.kind,
                local: y.local.clone(),
                type_: y.type_.clone(),
                name: y.name.clone(),
                body: std::sync::Arc::clone(&y.body),
                facts: y.facts.clone(),
                provider_key: block_provider_key(y),
                targets: ref_targets(y),
                at: (y.line, y.col),
            });
            continue;
        };
        matched[i] = true;
        edits.kept.push(kept_edit(&a.nodes[i], y)?);
    }
    for (x, _) in a.nodes.iter().zip(&matched).filter(|(_, m)| !**m) {
        if !is_resource_like(x.kind) {
            return None;
        }
        edits.removed.push(RemovedBlock {
            kind: x.kind,
            type_: x.type_.clone(),
            name: x.name.clone(),
            at: (x.line, x.col),
        });
    }
    Some(edits)
}

/// Resources and data sources.
fn is_resource_like(k: NodeKind) -> bool {
    matches!(k, NodeKind::Resource | NodeKind::Data)
}

/// How block `x` of the old version became block `y` (of the same kind and
/// address) of the new one ([`body_edits`]); `None` when not as a change
/// of values or references.
fn kept_edit(x: &RawNode, y: &RawNode) -> Option<BlockEdit> {
    // blocks whose values may change in place: what a value makes secret
    // comes from what it reads (the same), a `sensitive` flag (compared
    // below) and, for resources, the names in it (checked by the caller)
    let values = |k: NodeKind| {
        is_resource_like(k) || matches!(k, NodeKind::Local | NodeKind::Output | NodeKind::Variable)
    };
    let same_body = x.body == y.body;
    // what it reads changed, or where: the block is relinked, its new
    // targets all resolved (the caller checks what reading them makes
    // secret, and that no edge closes a cycle)
    let same_reads = same_refs(&x.refs, &y.refs);
    let targets = if (same_body && same_reads)
        || (same_reads && values(x.kind) && reads_by_path(&x.body) == reads_by_path(&y.body))
    {
        None
    } else if !same_body && relinkable(x.kind) && x.args.is_empty() && y.args.is_empty() {
        Some(ref_targets(y)?)
    } else {
        return None;
    };
    let same_rest = x.type_ == y.type_
        && x.name == y.name
        && x.facts == y.facts
        && x.sensitive == y.sensitive
        && x.provider == y.provider
        && x.providers == y.providers
        && x.args.len() == y.args.len()
        && x.args
            .iter()
            .zip(&y.args)
            .all(|((n, r), (m, s))| n == m && same_refs(r, s));
    if !same_rest {
        return None;
    }
    Some(BlockEdit {
        local: x.local.clone(),
        old_at: (x.line, x.col),
        new_at: (y.line, y.col),
        body: (!same_body || targets.is_some()).then(|| std::sync::Arc::clone(&y.body)),
        provider_key: is_resource_like(x.kind).then(|| block_provider_key(x)),
        targets,
    })
}

/// The kinds of block whose references may change in place
/// ([`body_edits`]): what they make secret comes from their own names,
/// their `sensitive` flag and what they read, and what reads them is
/// resolved by address alone.
fn relinkable(kind: NodeKind) -> bool {
    matches!(
        kind,
        NodeKind::Resource | NodeKind::Data | NodeKind::Local | NodeKind::Output
    )
}

/// One top-level block (or one local value) of a file.
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct RawNode {
    pub kind: NodeKind,
    /// Address inside its module (`aws_instance.web`, `var.x`, `module.net`).
    pub local: String,
    pub type_: String,
    pub name: String,
    pub body: std::sync::Arc<Value>,
    pub facts: rewind_model::NodeFacts,
    pub sensitive: bool,
    /// The attributes of `body` with secret-looking names
    /// (`crate::load::secret_names`), found while the file is parsed.
    pub secrets: Vec<rewind_model::Path>,
    pub refs: Vec<RawRef>,
    /// Module calls: the references of each argument, by argument name.
    pub args: Vec<(String, Vec<RawRef>)>,
    /// Explicit `provider = name.alias` of a resource, as (name, alias).
    pub provider: Option<(String, String)>,
    /// Module calls: `providers = { child = parent }` as (child, parent),
    /// each `name` or `name.alias`.
    pub providers: Vec<(String, String)>,
    pub line: u32,
    pub col: u32,
}

/// What one configuration file contributes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct FileConfig {
    pub(crate) nodes: Vec<RawNode>,
    /// Warnings: (line, col, message).
    pub(crate) warnings: Vec<(u32, u32, String)>,
    /// Errors Terraform would refuse the file for: (line, col, message).
    pub(crate) errors: Vec<(u32, u32, String)>,
}

/// Arguments whose expressions are keywords or type constraints, not
/// references: `provisioner { when = destroy, on_failure = continue }`,
/// an output's `type`, and an `action_trigger`'s `events` (keywords) and
/// `actions` (actions run by the trigger, not values the resource reads).
fn is_keyword_argument(block: &str, name: &str) -> bool {
    matches!(
        (block, name),
        ("provisioner", "when" | "on_failure")
            | ("output", "type")
            | ("action_trigger", "events" | "actions")
    )
}

/// Meta-arguments of module calls (everything else is an input variable).
const MODULE_META: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "depends_on",
    "providers",
];

#[derive(Clone, Copy)]
struct Ctx<'a> {
    lines: &'a LineIndex<'a>,
    /// Attribute values are built (else bodies are left empty, their
    /// references collected all the same: see [`file_config_for`]).
    values: bool,
    /// [`Ctx::values`] for the bodies of resources, data sources,
    /// ephemeral resources and actions.
    resource_values: bool,
}

impl Ctx<'_> {
    fn at(&self, pos: u32) -> (u32, u32) {
        self.lines.locate(pos)
    }

    /// Puts an attribute's value in `map`, when values are built.
    fn put_attribute(&self, map: &mut Map<String, Value>, a: &crate::hcl::Attribute) {
        if self.values {
            map.insert(a.name.clone(), to_value(&a.expr));
        }
    }

    /// Puts a nested block's value in `map` ([`insert_block`]), when
    /// values are built.
    fn put_block(&self, map: &mut Map<String, Value>, b: &Block, v: Value) {
        if self.values {
            insert_block(map, b, v);
        }
    }

    fn refs_of(&self, e: &Expr, kind: EdgeKind, bound: &[String], out: &mut Vec<RawRef>) {
        crate::hcl::for_each_ref(e, bound, &mut |root, ops, pos| {
            let (line, col) = self.at(pos);
            out.push(RawRef::of_ops(root, ops, kind, line, col));
        });
    }

    /// References in `depends_on` / `replace_triggered_by` lists, where
    /// Terraform 0.11 also accepted quoted addresses.
    fn address_list_refs(&self, e: &Expr, kind: EdgeKind, out: &mut Vec<RawRef>) {
        let items: Vec<&Expr> = match e {
            Expr::Tuple(items) => items.iter().collect(),
            other => vec![other],
        };
        for item in items {
            if let Some(text) = literal_string(item) {
                if let Ok(parsed) = crate::hcl::parse_expression(&text) {
                    let mut found = Vec::new();
                    collect_refs(&parsed, &[], &mut found);
                    let (line, col) = expr_pos(item).map(|p| self.at(p)).unwrap_or((0, 0));
                    for r in found {
                        out.push(RawRef::new(&r.root, &r.steps, kind, line, col));
                    }
                }
            } else {
                self.refs_of(item, kind, &[], out);
            }
        }
    }

    /// Converts a block body to its canonical value, collecting references.
    /// `skip_refs` lists attributes whose expressions are not references
    /// (`type`, `ignore_changes`...).
    fn body_value(
        &self,
        b: &Block,
        bound: &mut Vec<String>,
        refs: &mut Vec<RawRef>,
        top: bool,
    ) -> Value {
        let room = if self.values { b.body.items.len() } else { 0 };
        let mut map: Map<String, Value> = Map::with_capacity(room);
        for item in &b.body.items {
            match item {
                Item::Attribute(a) => {
                    match a.name.as_str() {
                        name if is_keyword_argument(&b.ty, name) => {}
                        "depends_on" if top => {
                            self.address_list_refs(&a.expr, EdgeKind::DependsOn, refs)
                        }
                        // provider references are resolved separately
                        "provider" if top => {}
                        _ => self.refs_of(&a.expr, EdgeKind::Reference, bound, refs),
                    }
                    self.put_attribute(&mut map, a);
                }
                Item::Block(b) => {
                    let v = self.nested_block(b, bound, refs);
                    self.put_block(&mut map, b, v);
                }
            }
        }
        // kept for the whole command: no spare room in the lists of
        // nested blocks (grown one block at a time) nor in the map (sized
        // for every item, and blocks of one type share an entry)
        for v in map.values_mut() {
            if let Value::List(l) = v {
                *l = rewind_model::map::exact(std::mem::take(l));
            }
        }
        Value::Map(map.exact())
    }

    fn nested_block(&self, b: &Block, bound: &mut Vec<String>, refs: &mut Vec<RawRef>) -> Value {
        match b.ty.as_str() {
            "lifecycle" => {
                let mut map = Map::new();
                for item in &b.body.items {
                    match item {
                        Item::Attribute(a) => {
                            match a.name.as_str() {
                                "ignore_changes" => {}
                                "replace_triggered_by" => {
                                    self.address_list_refs(&a.expr, EdgeKind::Reference, refs)
                                }
                                _ => self.refs_of(&a.expr, EdgeKind::Reference, bound, refs),
                            }
                            self.put_attribute(&mut map, a);
                        }
                        Item::Block(inner) => {
                            let v = self.nested_block(inner, bound, refs);
                            self.put_block(&mut map, inner, v);
                        }
                    }
                }
                Value::Map(map)
            }
            "dynamic" => {
                // `iterator` (default: the block label) is bound in `content`.
                let label = b.labels.first().cloned().unwrap_or_default();
                let iterator = b
                    .body
                    .attribute("iterator")
                    .and_then(|a| match &a.expr {
                        Expr::Traversal { root, ops, .. } if ops.is_empty() => Some(root.clone()),
                        _ => None,
                    })
                    .unwrap_or(label);
                let mut map = Map::new();
                for item in &b.body.items {
                    match item {
                        Item::Attribute(a) => {
                            if a.name != "iterator" {
                                self.refs_of(&a.expr, EdgeKind::Reference, bound, refs);
                            }
                            self.put_attribute(&mut map, a);
                        }
                        Item::Block(inner) => {
                            bound.push(iterator.clone());
                            let v = self.nested_block(inner, bound, refs);
                            bound.pop();
                            self.put_block(&mut map, inner, v);
                        }
                    }
                }
                Value::Map(map)
            }
            _ => self.body_value(b, bound, refs, false),
        }
    }
}

/// Nested blocks: a list of bodies under the block type, one map level per
/// label (`dynamic "ingress" {}` → `dynamic.ingress[0]`).
fn insert_block(map: &mut Map<String, Value>, b: &Block, v: Value) {
    let mut slot = map.entry(b.ty.clone()).or_insert_with(|| {
        if b.labels.is_empty() {
            Value::List(Vec::new())
        } else {
            Value::Map(Map::new())
        }
    });
    for (i, label) in b.labels.iter().enumerate() {
        if !matches!(slot, Value::Map(_)) {
            *slot = Value::Map(Map::new());
        }
        let Value::Map(m) = slot else { unreachable!() };
        slot = m.entry(label.clone()).or_insert_with(|| {
            if i + 1 == b.labels.len() {
                Value::List(Vec::new())
            } else {
                Value::Map(Map::new())
            }
        });
    }
    match slot {
        Value::List(l) => l.push(v),
        other => *other = Value::List(vec![v]),
    }
}

/// A reference written as dotted names (`aws.west`, `data.x.y`) as an
/// expression value.
fn dotted(text: &str) -> Value {
    let mut names = text.split('.');
    let root = names.next().unwrap_or_default().to_string();
    Value::expr(Expr::Traversal {
        root,
        ops: names.map(|n| TravOp::Attr(n.to_string())).collect(),
        pos: 0,
    })
}

fn literal_string(e: &Expr) -> Option<String> {
    match e {
        Expr::Template(parts) => match parts.as_slice() {
            [Part::Lit(s)] => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn expr_pos(e: &Expr) -> Option<u32> {
    match e {
        Expr::Traversal { pos, .. } => Some(*pos),
        _ => None,
    }
}

/// `aws.west` → ("aws", "west"); `aws` → ("aws", "").
fn provider_ref(e: &Expr) -> Option<(String, String)> {
    match e {
        Expr::Traversal { root, ops, .. } => {
            let alias = match ops.as_slice() {
                [] => String::new(),
                [TravOp::Attr(a)] => a.clone(),
                _ => return None,
            };
            Some((root.clone(), alias))
        }
        _ => {
            let s = literal_string(e)?;
            let mut it = s.splitn(2, '.');
            let name = it.next()?.to_string();
            Some((name, it.next().unwrap_or("").to_string()))
        }
    }
}

fn provider_key((name, alias): &(String, String)) -> String {
    if alias.is_empty() {
        name.clone()
    } else {
        format!("{name}.{alias}")
    }
}

fn bool_attr(body: &Body, name: &str) -> bool {
    matches!(
        body.attribute(name).map(|a| to_value(&a.expr)),
        Some(Value::Bool(true))
    )
}

/// Converts a parsed HCL file into raw nodes.
pub fn file_config(body: &Body, src: &str) -> FileConfig {
    file_config_for(body, src, true)
}

/// [`file_config`]; only a `whole` parse marks the attributes named like
/// secrets and builds the bodies of resources, data sources, ephemeral
/// resources and actions (else they are empty): a load for a graph drawn
/// with labels only reads neither (see [`crate::Options::labels_only`]).
/// Their references are collected either way, and override files are
/// merged by the items their syntax holds, not by bodies (see
/// [`crate::merge`]).
pub(crate) fn file_config_for(body: &Body, src: &str, whole: bool) -> FileConfig {
    let lines = LineIndex::new(src);
    let cx = Ctx {
        lines: &lines,
        values: true,
        resource_values: whole,
    };
    let mut out = FileConfig::default();
    for item in &body.items {
        match item {
            Item::Attribute(a) => {
                let (line, col) = cx.at(a.pos);
                out.warnings.push((
                    line,
                    col,
                    format!("unexpected top-level attribute {:?} (ignored)", a.name),
                ));
            }
            Item::Block(b) => block_nodes(&cx, b, &mut out),
        }
    }
    if whole {
        for n in &mut out.nodes {
            n.secrets = crate::load::secret_names(n.kind, &n.type_, &n.name, &n.body);
        }
    }
    out
}

fn label_error(cx: &Ctx, b: &Block, want: usize, out: &mut FileConfig) -> bool {
    if b.labels.len() == want {
        return false;
    }
    // Terraform points where the missing label was expected (the brace),
    // or at the block for labels too many.
    let (line, col) = cx.at(if b.labels.len() < want { b.open } else { b.pos });
    let names: &[&str] = match b.ty.as_str() {
        "resource" | "data" | "ephemeral" | "action" => &["type", "name"],
        _ => &["name"],
    };
    let message = if b.labels.len() < want {
        format!(
            "missing {} for {}: a {:?} block needs {want} label{} ({})",
            names.get(b.labels.len()).copied().unwrap_or("label"),
            b.ty,
            b.ty,
            if want == 1 { "" } else { "s" },
            names.join(", ")
        )
    } else {
        format!(
            "extra label for {}: a {:?} block takes {want} label{}",
            b.ty,
            b.ty,
            if want == 1 { "" } else { "s" }
        )
    };
    out.errors.push((line, col, message));
    true
}

/// The nodes of one top-level block, into `out` (with its errors and
/// warnings): one function per kind of block.
fn block_nodes(cx: &Ctx, b: &Block, out: &mut FileConfig) {
    let (line, col) = cx.at(b.pos);
    let labels = match b.ty.as_str() {
        "resource" | "data" | "ephemeral" | "action" => 2,
        "module" | "variable" | "output" | "provider" | "check" => 1,
        "locals" | "terraform" | "moved" | "removed" | "import" => 0,
        other => {
            out.warnings.push((
                line,
                col,
                format!("unsupported block type {other:?} (ignored)"),
            ));
            return;
        }
    };
    if label_error(cx, b, labels, out) {
        return;
    }
    let mut node = RawNode {
        line,
        col,
        ..RawNode::default()
    };
    let mut bound = Vec::new();
    let bound = &mut bound;
    match b.ty.as_str() {
        "locals" => return locals_nodes(cx, b, out),
        "module" => module_node(cx, b, &mut node, bound),
        "variable" => variable_node(cx, b, &mut node, bound),
        "output" => {
            node.kind = NodeKind::Output;
            node.name = b.labels[0].clone();
            node.local = format!("output.{}", node.name);
            node.body = (cx.body_value(b, bound, &mut node.refs, true)).into();
            node.sensitive = bool_attr(&b.body, "sensitive");
        }
        "provider" => provider_node(cx, b, &mut node, bound),
        "terraform" => {
            node.kind = NodeKind::Terraform;
            node.local = "terraform".into();
            node.body = (cx.body_value(b, bound, &mut Vec::new(), true)).into();
            required_version_check(cx, b, out);
        }
        "moved" | "removed" | "import" => statement_node(cx, b, &mut node, bound),
        "check" => check_node(cx, b, &mut node, bound, out),
        // "resource", "data", "ephemeral", "action"
        _ => resource_node(cx, b, &mut node, bound),
    }
    // a file's references are held until the module tree is built: no
    // spare room (a vector that grew by doubling is a third empty;
    // `exact`, as mimalloc keeps a shrunk block that is half used)
    node.refs = rewind_model::map::exact(std::mem::take(&mut node.refs));
    out.nodes.push(node);
}

/// A block's body as a map: each attribute's value as `attribute` gives it
/// (which also collects its references), nested blocks as
/// [`Ctx::nested_block`] gives them.
fn body_map(
    cx: &Ctx,
    b: &Block,
    bound: &mut Vec<String>,
    refs: &mut Vec<RawRef>,
    mut attribute: impl FnMut(&crate::hcl::Attribute, &mut Vec<String>, &mut Vec<RawRef>) -> Value,
) -> Value {
    let mut map = Map::new();
    for item in &b.body.items {
        match item {
            Item::Attribute(a) => {
                let v = attribute(a, bound, refs);
                map.insert(a.name.clone(), v);
            }
            Item::Block(inner) => {
                let v = cx.nested_block(inner, bound, refs);
                insert_block(&mut map, inner, v);
            }
        }
    }
    Value::Map(map)
}

/// `resource`, `data`, `ephemeral` and `action` blocks.
fn resource_node(cx: &Ctx, b: &Block, node: &mut RawNode, bound: &mut Vec<String>) {
    node.kind = match b.ty.as_str() {
        "resource" => NodeKind::Resource,
        "action" => NodeKind::Action,
        _ => NodeKind::Data,
    };
    node.type_ = b.labels[0].clone();
    node.name = b.labels[1].clone();
    node.local = match b.ty.as_str() {
        "resource" => crate::concat(&[&node.type_, ".", &node.name]),
        other => format!("{other}.{}.{}", node.type_, node.name),
    };
    if b.ty == "ephemeral" {
        node.facts.mode = Some(rewind_model::ObjectMode::Ephemeral);
    }
    let cx = Ctx {
        values: cx.resource_values,
        ..*cx
    };
    node.body = (cx.body_value(b, bound, &mut node.refs, true)).into();
    node.provider = b
        .body
        .attribute("provider")
        .and_then(|a| provider_ref(&a.expr));
}

/// `module` blocks: arguments with their own references (each input of
/// the call is an edge of its own), `providers`, meta-arguments.
fn module_node(cx: &Ctx, b: &Block, node: &mut RawNode, bound: &mut Vec<String>) {
    node.kind = NodeKind::Module;
    node.name = b.labels[0].clone();
    node.local = format!("module.{}", node.name);
    let (providers, args) = (&mut node.providers, &mut node.args);
    let body = body_map(cx, b, bound, &mut node.refs, |a, bound, refs| {
        let name = a.name.as_str();
        if name == "depends_on" {
            cx.address_list_refs(&a.expr, EdgeKind::DependsOn, refs);
        } else if name == "providers" {
            if let Expr::Object(items) = &a.expr {
                for (k, v) in items {
                    if let (Some(child), Some(parent)) = (provider_ref(k), provider_ref(v)) {
                        providers.push((provider_key(&child), provider_key(&parent)));
                    }
                }
            }
        } else if MODULE_META.contains(&name) {
            cx.refs_of(&a.expr, EdgeKind::Reference, bound, refs);
        } else {
            let mut arg_refs = Vec::new();
            cx.refs_of(&a.expr, EdgeKind::Reference, bound, &mut arg_refs);
            args.push((a.name.clone(), arg_refs));
        }
        if name == "providers" && !providers.is_empty() {
            // a mapping, so the order it is written in does not matter
            Value::Map(
                providers
                    .iter()
                    .map(|(c, p)| (c.clone(), dotted(p)))
                    .collect(),
            )
        } else {
            to_value(&a.expr)
        }
    });
    node.body = body.into();
    node.facts.more.source = node.body.get("source").cloned();
    node.facts.more.version = node.body.get("version").cloned();
}

/// `variable` blocks (`type` is a type, not references).
fn variable_node(cx: &Ctx, b: &Block, node: &mut RawNode, bound: &mut Vec<String>) {
    node.kind = NodeKind::Variable;
    node.name = b.labels[0].clone();
    node.local = format!("var.{}", node.name);
    let body = body_map(cx, b, bound, &mut node.refs, |a, bound, refs| {
        if a.name != "type" {
            cx.refs_of(&a.expr, EdgeKind::Reference, bound, refs);
        }
        to_value(&a.expr)
    });
    node.body = body.into();
    node.sensitive = bool_attr(&b.body, "sensitive");
    // A variable's validation may refer to the variable itself.
    let own = node.name.clone();
    node.refs
        .retain(|r| !(r.root() == "var" && r.step(0) == Some(own.as_str())));
}

/// A `terraform` block's `required_version`, as Terraform 1.11 checks it:
/// a constraint Terraform cannot read is an error (its messages); one no
/// 1.11 release satisfies is a warning, for Terraform 1.11 refuses the
/// configuration ("Unsupported Terraform Core version") while the
/// Terraform it asks for, which may plan otherwise, takes it.
fn required_version_check(cx: &Ctx, b: &Block, out: &mut FileConfig) {
    let Some(a) = b.body.attribute("required_version") else {
        return;
    };
    let (line, col) = cx.at(a.pos);
    let text = match to_value(&a.expr) {
        // a null constraint is no constraint
        Value::Null => return,
        Value::String(s) | Value::Number(s) => s,
        Value::Bool(b) => b.to_string(),
        Value::List(_) | Value::Map(_) => {
            out.errors.push((
                line,
                col,
                "Invalid version constraint: A string value is required for required_version."
                    .into(),
            ));
            return;
        }
        Value::Expr(e) => {
            let refused = match not_constant(&e, &mut Vec::new()) {
                Some((_, "Function calls not allowed", _)) => {
                    "Function calls not allowed: Functions may not be called here."
                }
                Some(_) => "Variables not allowed: Variables may not be used here.",
                // a constant written as an expression: not read here
                None => return,
            };
            out.errors.push((line, col, refused.into()));
            return;
        }
    };
    match required_version::allows_1_11(&text) {
        Ok(true) => {}
        Ok(false) => out.warnings.push((
            line,
            col,
            format!(
                "Unsupported Terraform Core version: no Terraform 1.11 release satisfies required_version {text:?}; rewind plans as Terraform 1.11 does, which refuses this configuration, and the Terraform version it requires may plan otherwise"
            ),
        )),
        Err(message) => out.errors.push((line, col, message)),
    }
}

/// `locals` blocks: one node per local value.
fn locals_nodes(cx: &Ctx, b: &Block, out: &mut FileConfig) {
    for item in &b.body.items {
        match item {
            Item::Attribute(a) => {
                let (line, col) = cx.at(a.pos);
                let mut local = RawNode {
                    kind: NodeKind::Local,
                    name: a.name.clone(),
                    local: format!("local.{}", a.name),
                    line,
                    col,
                    ..RawNode::default()
                };
                cx.refs_of(&a.expr, EdgeKind::Reference, &[], &mut local.refs);
                let mut map = Map::new();
                map.insert("value".to_string(), to_value(&a.expr));
                local.body = (Value::Map(map)).into();
                out.nodes.push(local);
            }
            Item::Block(inner) => {
                let (line, col) = cx.at(inner.pos);
                out.warnings.push((
                    line,
                    col,
                    "blocks are not allowed in locals (ignored)".into(),
                ));
            }
        }
    }
}

/// `provider` blocks, named by their alias.
fn provider_node(cx: &Ctx, b: &Block, node: &mut RawNode, bound: &mut Vec<String>) {
    node.kind = NodeKind::Provider;
    node.type_ = b.labels[0].clone();
    let alias = b
        .body
        .attribute("alias")
        .and_then(|a| literal_string(&a.expr))
        .unwrap_or_default();
    node.name = alias.clone();
    node.local = if alias.is_empty() {
        format!("provider.{}", node.type_)
    } else {
        format!("provider.{}.{alias}", node.type_)
    };
    node.body = (cx.body_value(b, bound, &mut node.refs, true)).into();
}

/// `moved`, `removed` and `import` blocks, named by the address they
/// move from, remove or import to (addresses, not references).
fn statement_node(cx: &Ctx, b: &Block, node: &mut RawNode, bound: &mut Vec<String>) {
    let key_attr = if b.ty == "import" { "to" } else { "from" };
    let key = b
        .body
        .attribute(key_attr)
        .map(|a| crate::hcl::print_expr(&a.expr))
        .unwrap_or_default();
    node.kind = match b.ty.as_str() {
        "moved" => NodeKind::Moved,
        "removed" => NodeKind::Removed,
        _ => NodeKind::Import,
    };
    node.name = key.clone();
    node.local = format!("{}[{}]", b.ty, rewind_model::value::quote(&key));
    let provider = &mut node.provider;
    let body = body_map(cx, b, bound, &mut node.refs, |a, bound, refs| {
        match a.name.as_str() {
            // addresses, not references
            "from" | "to" => return Value::expr_of(&a.expr),
            "provider" => *provider = provider_ref(&a.expr),
            _ => cx.refs_of(&a.expr, EdgeKind::Reference, bound, refs),
        }
        to_value(&a.expr)
    });
    node.body = body.into();
}

/// `check` blocks; a scoped data source inside is a node of its own, read
/// by the check.
fn check_node(
    cx: &Ctx,
    b: &Block,
    node: &mut RawNode,
    bound: &mut Vec<String>,
    out: &mut FileConfig,
) {
    node.kind = NodeKind::Check;
    node.name = b.labels[0].clone();
    node.local = format!("check.{}", node.name);
    let mut map = Map::new();
    for item in &b.body.items {
        match item {
            Item::Attribute(a) => {
                cx.refs_of(&a.expr, EdgeKind::Reference, bound, &mut node.refs);
                map.insert(a.name.clone(), to_value(&a.expr));
            }
            Item::Block(inner) if inner.ty == "data" => {
                let mut sub = FileConfig::default();
                block_nodes(cx, inner, &mut sub);
                for mut n in sub.nodes {
                    n.facts.more.check = Some(node.name.clone());
                    map.insert(format!("data.{}.{}", n.type_, n.name), dotted(&n.local));
                    out.nodes.push(n);
                }
                out.warnings.extend(sub.warnings);
            }
            Item::Block(inner) => {
                let v = cx.nested_block(inner, bound, &mut node.refs);
                insert_block(&mut map, inner, v);
            }
        }
    }
    node.body = (Value::Map(map)).into();
}

/// Where a variable value refers to something or calls a function, which
/// Terraform refuses: a `.tfvars` value or a `-var` of a collection
/// type is evaluated with no variables and no functions (`bound` are the
/// names of the `for` expressions around it). The byte position (0 when
/// the expression has none), Terraform's summary and a detail.
fn not_constant(e: &Expr, bound: &mut Vec<String>) -> Option<(u32, &'static str, String)> {
    fn parts(ps: &[Part], bound: &mut Vec<String>) -> Option<(u32, &'static str, String)> {
        ps.iter().find_map(|p| match p {
            Part::Lit(_) => None,
            Part::Interp(e) => not_constant(e, bound),
            Part::If {
                cond,
                then,
                otherwise,
            } => not_constant(cond, bound)
                .or_else(|| parts(then, bound))
                .or_else(|| parts(otherwise, bound)),
            Part::For(f) => not_constant(&f.coll, bound).or_else(|| {
                let n = bound.len();
                bound.extend(f.key_var.iter().cloned());
                bound.push(f.value_var.clone());
                let r = parts(&f.body, bound);
                bound.truncate(n);
                r
            }),
        })
    }
    fn ops(ops: &[TravOp], bound: &mut Vec<String>) -> Option<(u32, &'static str, String)> {
        ops.iter().find_map(|o| match o {
            TravOp::Index(i) => not_constant(i, bound),
            _ => None,
        })
    }
    match e {
        Expr::Null | Expr::Bool(_) | Expr::Number(_) => None,
        Expr::Template(ps) => parts(ps, bound),
        Expr::Tuple(items) => items.iter().find_map(|i| not_constant(i, bound)),
        Expr::Object(pairs) => pairs.iter().find_map(|(k, v)| {
            let key = match k {
                // a bare name as a key is the key itself
                Expr::Traversal { ops, .. } if ops.is_empty() => None,
                k => not_constant(k, bound),
            };
            key.or_else(|| not_constant(v, bound))
        }),
        Expr::Traversal { root, ops: o, pos } => {
            if bound.iter().any(|b| b == root) {
                ops(o, bound)
            } else {
                // (the name is not repeated: a bare word may be a secret
                // written without its quotes)
                Some((
                    *pos,
                    "Variables not allowed",
                    "a variable value must be a constant, and a bare name is a reference (a string is quoted)".to_string(),
                ))
            }
        }
        Expr::Postfix(inner, o) => not_constant(inner, bound).or_else(|| ops(o, bound)),
        Expr::Call { name, .. } => Some((
            0,
            "Function calls not allowed",
            format!("a variable value must be a constant, and calls {name}()"),
        )),
        Expr::Unary(_, x) | Expr::Paren(x) => not_constant(x, bound),
        Expr::Binary(_, a, b) => not_constant(a, bound).or_else(|| not_constant(b, bound)),
        Expr::Cond(c, a, b) => not_constant(c, bound)
            .or_else(|| not_constant(a, bound))
            .or_else(|| not_constant(b, bound)),
        Expr::For(f) => not_constant(&f.coll, bound).or_else(|| {
            let n = bound.len();
            bound.extend(f.key_var.iter().cloned());
            bound.push(f.value_var.clone());
            let r = f
                .key
                .as_ref()
                .and_then(|k| not_constant(k, bound))
                .or_else(|| not_constant(&f.value, bound))
                .or_else(|| f.cond.as_ref().and_then(|c| not_constant(c, bound)));
            bound.truncate(n);
            r
        }),
    }
}

/// Converts a `.tfvars` body: only attributes are allowed, and their
/// values are constants.
pub(crate) fn tfvars_value(body: &Body, src: &str) -> Result<Value, (u32, u32, String)> {
    let lines = LineIndex::new(src);
    let mut map = Map::new();
    for item in &body.items {
        match item {
            Item::Attribute(a) => {
                if let Some((pos, summary, detail)) = not_constant(&a.expr, &mut Vec::new()) {
                    let (line, col) = lines.locate(if pos == 0 { a.pos } else { pos });
                    return Err((line, col, format!("{summary}: {detail}")));
                }
                map.insert(a.name.clone(), to_value(&a.expr));
            }
            Item::Block(b) => {
                let (line, col) = lines.locate(b.pos);
                return Err((
                    line,
                    col,
                    format!(
                        "blocks are not allowed in a variables file (found {:?})",
                        b.ty
                    ),
                ));
            }
        }
    }
    Ok(Value::Map(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> crate::Parsed {
        crate::load::parse_bytes(text.as_bytes(), crate::FileKind::Tf, "main.tf").expect("parses")
    }

    const BASE: &str = "variable \"n\" {}\n\
        resource \"aws_s3_bucket\" \"a\" {\n  bucket = \"${var.n}-a\"\n  tags = { x = \"1\" }\n}\n\
        resource \"aws_s3_bucket\" \"b\" {\n  bucket = aws_s3_bucket.a.id\n}\n";

    /// A file's change block by block: values changed, blocks moved,
    /// added and removed are told; any other change is not one.
    #[test]
    fn body_edits_tell_value_changes_and_blocks_added_or_removed_from_the_rest() {
        let old = parsed(BASE);
        // values and a template around the same reference; b moved down
        let values = parsed(
            &BASE
                .replace("-a\"", "-z\"")
                .replace("\"1\"", "\"2\"")
                .replace(
                    "resource \"aws_s3_bucket\" \"b\"",
                    "\n\nresource \"aws_s3_bucket\" \"b\"",
                ),
        );
        let e = body_edits(&old, &values).expect("values only");
        assert_eq!(e.kept.len(), 3);
        assert!(e.added.is_empty() && e.removed.is_empty());
        assert!(e.kept[1].body.is_some(), "a's body changed");
        assert!(e.kept[2].body.is_none(), "b's did not");
        assert_eq!(
            e.kept[2].old_at.0 + 2,
            e.kept[2].new_at.0,
            "b moved two lines down"
        );
        assert_eq!(e.kept[1].provider_key.as_deref(), Some("aws"));
        // a block added, reading a variable and a resource; one removed
        let added = parsed(&format!(
            "{BASE}resource \"aws_s3_bucket\" \"c\" {{\n  bucket = var.n\n  depends_on = [aws_s3_bucket.b]\n}}\n"
        ));
        let e = body_edits(&old, &added).expect("a block added");
        assert_eq!(e.added.len(), 1);
        assert_eq!(e.added[0].local, "aws_s3_bucket.c");
        let targets = e.added[0].targets.clone().expect("known targets");
        assert_eq!(
            targets,
            vec![
                ("var.n".to_string(), EdgeKind::Reference),
                ("aws_s3_bucket.b".to_string(), EdgeKind::DependsOn)
            ]
        );
        let e = body_edits(&added, &old).expect("a block removed");
        assert_eq!(e.removed.len(), 1);
        assert_eq!(
            (e.removed[0].type_.as_str(), e.removed[0].name.as_str()),
            ("aws_s3_bucket", "c")
        );
        // a reference to a module output: not known without the loader
        let module = parsed(&format!(
            "{BASE}resource \"aws_eip\" \"e\" {{\n  tags = {{ a = module.m.out }}\n}}\n"
        ));
        assert_eq!(
            body_edits(&old, &module).expect("added").added[0].targets,
            None
        );
        // a variable's value (its default) changed in place
        let default = BASE.replace(
            "variable \"n\" {}",
            "variable \"n\" {\n  default = \"d\"\n}",
        );
        let e = body_edits(&old, &parsed(&default)).expect("a variable's default");
        assert!(e.added.is_empty() && e.removed.is_empty());
        assert!(e
            .kept
            .iter()
            .any(|k| k.local == "var.n" && k.body.is_some()));
        // references changed: a reference added, one moved to another
        // attribute (a relinked block, with what they now name), one
        // dropped
        let targets = |text: &str, local: &str| {
            let e = body_edits(&old, &parsed(text)).expect("relinked");
            assert!(e.added.is_empty() && e.removed.is_empty());
            let k = e.kept.iter().find(|k| k.local == local).expect("kept");
            assert!(k.body.is_some(), "its body is the new one");
            k.targets.clone().expect("relinked")
        };
        let r = |a: &str, k: EdgeKind| (a.to_string(), k);
        assert_eq!(
            targets(
                &BASE.replace("\"1\"", "aws_s3_bucket.b.arn"),
                "aws_s3_bucket.a"
            ),
            vec![
                r("var.n", EdgeKind::Reference),
                r("aws_s3_bucket.b", EdgeKind::Reference)
            ]
        );
        assert_eq!(
            targets(
                &BASE.replace(
                    "bucket = aws_s3_bucket.a.id",
                    "tags = { t = aws_s3_bucket.a.id }"
                ),
                "aws_s3_bucket.b"
            ),
            vec![r("aws_s3_bucket.a", EdgeKind::Reference)]
        );
        assert_eq!(
            targets(
                &BASE.replace("aws_s3_bucket.a.id", "\"fixed\""),
                "aws_s3_bucket.b"
            ),
            vec![]
        );
        assert!(
            e.kept.iter().all(|k| k.targets.is_none()),
            "the same references: no targets"
        );
        // not such changes: a reference to a module's output added, a
        // variable made sensitive, a variable removed
        for (what, text) in [
            (
                "a module's output read",
                BASE.replace("\"1\"", "module.m.out"),
            ),
            (
                "a variable made sensitive",
                BASE.replace(
                    "variable \"n\" {}",
                    "variable \"n\" {\n  sensitive = true\n}",
                ),
            ),
            (
                "a variable removed",
                BASE.replace("variable \"n\" {}\n", ""),
            ),
        ] {
            assert!(body_edits(&old, &parsed(&text)).is_none(), "{what}");
        }
        // a key that reads like a path step is still another path: the
        // same reference read elsewhere is a relinked block, not a value
        // changed in place
        let a = parsed("resource \"x_y\" \"a\" {\n  tags = { \"k1:a\" = var.n }\n}\n");
        let b = parsed("resource \"x_y\" \"a\" {\n  tags = { \"k\" = { \"a\" = var.n } }\n}\n");
        let e = body_edits(&a, &b).expect("relinked");
        assert_eq!(
            e.kept[0].targets,
            Some(vec![r("var.n", EdgeKind::Reference)])
        );
    }

    /// A reference's names written from the traversal directly are those
    /// written from [`collect_refs`]'s owned reference, in the same order:
    /// attributes, static and legacy indexes, quoted keys (with a NUL,
    /// escaped), splats, computed indexes, and names bound by `for`s
    /// (inside the expression, and around it) left out.
    #[test]
    fn raw_refs_from_the_traversal_are_those_from_collect_refs() {
        let exprs = [
            "aws_vpc.main.id",
            "var.x",
            "module.db[0].conn",
            "aws_x.y[\"a\\u0000b\"].z",
            "aws_x.y.0.z",
            "aws_x.y[*].id",
            "aws_x.y[var.i].id",
            "aws_x.y[1.5]",
            "[for k, v in var.m : v.id if k != local.skip]",
            "\"${it.value}-%{for x in var.xs}${x}${count.index}%{endfor}\"",
            "{ (var.k) = data.a.b.c, plain = self.x }",
            "f(a.b, (c.d).e[0])",
        ];
        for text in exprs {
            let e = crate::hcl::parse_expression(text).expect("an expression");
            let bound = vec!["it".to_string()];
            let mut found = Vec::new();
            collect_refs(&e, &bound, &mut found);
            let want: Vec<RawRef> = found
                .iter()
                .map(|r| RawRef::new(&r.root, &r.steps, EdgeKind::Reference, 1, 2))
                .collect();
            let mut got = Vec::new();
            crate::hcl::for_each_ref(&e, &bound, &mut |root, ops, _| {
                got.push(RawRef::of_ops(root, ops, EdgeKind::Reference, 1, 2));
            });
            assert_eq!(got, want, "{text}");
            assert!(!got.is_empty(), "{text}");
            assert!(
                got.iter().all(|r| r.root() != "it" && r.root() != "v"),
                "{text}"
            );
        }
    }
}
