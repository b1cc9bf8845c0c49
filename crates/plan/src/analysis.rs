//! What changes, and why: each target resource compared with its current
//! configuration, with "known after apply" values followed from what they
//! reference (through variables, locals, module inputs and outputs).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use rewind_diff::{diff_values, AttrChange, AttrOp};
use rewind_model::{Model, Node, NodeKind, Path, Value};
use rewind_parse::hcl::{self, collect_refs, Reference};

/// How a resource's configuration changes (for instances that exist on
/// both sides).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigAction {
    NoOp,
    Update,
    Replace,
    /// No current configuration: every instance is new.
    Create,
}

/// The change of one target resource block.
#[derive(Clone, Debug)]
pub struct ResChange {
    pub action: ConfigAction,
    /// Terraform's `action_reason` for a replace.
    pub replace_token: Option<&'static str>,
    /// Human reasons, most important first.
    pub reasons: Vec<String>,
    /// Top-level attributes whose value changes.
    pub changed: BTreeSet<String>,
    /// Instances are created or deleted (a whole-resource reference changes).
    pub instances_change: bool,
}

/// Meta-arguments: they decide instances and ordering, not values.
const META: &[&str] = &[
    "count",
    "for_each",
    "depends_on",
    "provider",
    "lifecycle",
    "provisioner",
    "connection",
];

/// Change analysis between the current and the target configuration.
pub struct Analysis<'a> {
    pub cur: &'a Model,
    pub tgt: &'a Model,
    /// Target resource config address → current config address (moves).
    pub prev: HashMap<String, String>,
    /// The target's moves as (module, from, to), module-relative: a current
    /// expression that names `from` means what the target's `to` means.
    pub renames: Vec<(String, String, String)>,
    /// Target resources whose instance set changes.
    pub instances_change: BTreeSet<String>,
    /// Target instance addresses that are created.
    pub created_instances: BTreeSet<String>,
    /// Module calls whose instances change (count / for_each).
    pub module_instances_change: BTreeSet<String>,
    memo: RefCell<HashMap<String, ResChange>>,
    value_memo: RefCell<HashMap<String, Option<String>>>,
    /// `upstream` of target expressions by (module, text), both borrowed
    /// from the target model: no key is allocated, even for a miss.
    expr_memo: RefCell<HashMap<(&'a str, &'a hcl::Expr), Option<String>>>,
    in_progress: RefCell<BTreeSet<String>>,
}

fn short(v: &Value) -> String {
    let s = v.render();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn ref_text(r: &Reference) -> String {
    let mut s = r.root.clone();
    for st in &r.steps {
        if !st.starts_with('[') {
            s.push('.');
        }
        s.push_str(st);
    }
    s
}

/// References in every expression of a value, read precisely enough for
/// change analysis: inside `for x in COLL : ... x.attr ...` a use of
/// `x.attr` is a reference to `COLL[*].attr`, and COLL itself only counts
/// for its keys (marked with a `[keys]` step), as does `keys(COLL)`.
pub fn value_refs(v: &Value, out: &mut Vec<Reference>) {
    match v {
        Value::Expr(e) => precise_refs(e, &HashMap::new(), out),
        Value::List(l) => l.iter().for_each(|x| value_refs(x, out)),
        Value::Map(m) => m.values().for_each(|x| value_refs(x, out)),
        _ => {}
    }
}

/// One step of the path to an expression leaf, borrowed from the value.
enum LeafStep<'v> {
    Key(&'v str),
    Index(usize),
}

/// Calls `f` with each expression leaf of a value and the steps to it (a
/// `Path` is only built for the few leaves that matter).
fn for_expr_leaves<'v>(
    v: &'v Value,
    stack: &mut Vec<LeafStep<'v>>,
    f: &mut dyn FnMut(&[LeafStep<'v>], &'v hcl::Expr),
) {
    match v {
        Value::Expr(t) => f(stack, t),
        Value::List(l) => {
            for (i, x) in l.iter().enumerate() {
                stack.push(LeafStep::Index(i));
                for_expr_leaves(x, stack, f);
                stack.pop();
            }
        }
        Value::Map(m) => {
            for (k, x) in m {
                stack.push(LeafStep::Key(k));
                for_expr_leaves(x, stack, f);
                stack.pop();
            }
        }
        _ => {}
    }
}

impl<'a> Analysis<'a> {
    pub fn new(cur: &'a Model, tgt: &'a Model) -> Analysis<'a> {
        Analysis {
            cur,
            tgt,
            prev: HashMap::new(),
            renames: Vec::new(),
            instances_change: BTreeSet::new(),
            created_instances: BTreeSet::new(),
            module_instances_change: BTreeSet::new(),
            memo: RefCell::new(HashMap::new()),
            value_memo: RefCell::new(HashMap::new()),
            expr_memo: RefCell::new(HashMap::new()),
            in_progress: RefCell::new(BTreeSet::new()),
        }
    }

    /// A current value with the target's moved addresses renamed in its
    /// expressions (`terraform_data.c.id` → `terraform_data.c_new.id`).
    fn renamed<'v>(&self, v: &'v Value, module: &str) -> std::borrow::Cow<'v, Value> {
        if !self.renames.iter().any(|(m, _, _)| m == module) {
            return std::borrow::Cow::Borrowed(v);
        }
        std::borrow::Cow::Owned(self.renamed_owned(v, module))
    }

    fn renamed_owned(&self, v: &Value, module: &str) -> Value {
        let renames: Vec<(&str, &str)> = self
            .renames
            .iter()
            .filter(|(m, _, _)| m == module)
            .map(|(_, f, t)| (f.as_str(), t.as_str()))
            .collect();
        match v {
            Value::Expr(e) => Value::expr(rename_refs(e, &renames)),
            Value::List(l) => {
                Value::List(l.iter().map(|x| self.renamed_owned(x, module)).collect())
            }
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.renamed_owned(x, module)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn scope_of(n: &Node) -> String {
        if n.module.is_empty() {
            String::new()
        } else {
            format!("{}.", n.module)
        }
    }

    /// Does `v` (an attribute value in the target, in module `scope`) take
    /// a value that changes because of something it references? Returns why.
    pub fn upstream(&self, v: &Value, scope: &str) -> Option<String> {
        let mut refs = Vec::new();
        value_refs(v, &mut refs);
        refs.iter().find_map(|r| self.ref_changes(scope, r))
    }

    /// [`Analysis::upstream`] of an expression written in the target's
    /// module `module`, memoized: the same expression in the same module
    /// means the same thing.
    fn upstream_expr(&self, module: &'a str, text: &'a hcl::Expr) -> Option<String> {
        if let Some(hit) = self.expr_memo.borrow().get(&(module, text)) {
            return hit.clone();
        }
        let scope = if module.is_empty() {
            String::new()
        } else {
            format!("{module}.")
        };
        let mut refs = Vec::new();
        precise_refs(text, &HashMap::new(), &mut refs);
        let result = refs.iter().find_map(|r| self.ref_changes(&scope, r));
        self.expr_memo
            .borrow_mut()
            .insert((module, text), result.clone());
        result
    }

    /// Why the value a reference reads changes, if it does.
    pub fn ref_changes(&self, scope: &str, r: &Reference) -> Option<String> {
        let step = |i: usize| r.steps.get(i).filter(|s| !s.starts_with('[')).cloned();
        match r.root.as_str() {
            "count" | "each" | "self" | "path" | "terraform" => None,
            "var" | "local" => {
                let name = step(0)?;
                let addr = format!("{scope}{}.{name}", r.root);
                self.through(&addr, &r.steps[1..])
                    .map(|why| format!("{} changes ({why})", ref_text(r)))
            }
            "module" => {
                let name = step(0)?;
                let call = format!("{scope}module.{name}");
                if self.module_instances_change.contains(&call) {
                    return Some(format!(
                        "{} changes (module instances are added or removed)",
                        ref_text(r)
                    ));
                }
                let out_i = if r.steps.get(1).is_some_and(|s| s.starts_with('[')) {
                    2
                } else {
                    1
                };
                match step(out_i) {
                    Some(out) => {
                        let addr = format!("{call}.output.{out}");
                        self.through(&addr, &r.steps[out_i + 1..])
                            .map(|why| format!("{} changes ({why})", ref_text(r)))
                    }
                    None => {
                        // the whole module: any of its outputs
                        let prefix = format!("{call}.output.");
                        let outs: Vec<String> = self
                            .tgt
                            .nodes
                            .iter()
                            .filter(|n| {
                                n.kind == NodeKind::Output && n.address.starts_with(&prefix)
                            })
                            .map(|n| n.address.clone())
                            .collect();
                        outs.iter()
                            .find_map(|o| self.node_value_changes(o))
                            .map(|why| format!("{} changes ({why})", ref_text(r)))
                    }
                }
            }
            "data" | "ephemeral" => {
                let (t, n) = (step(0)?, step(1)?);
                let addr = format!("{scope}{}.{t}.{n}", r.root);
                self.node_value_changes(&addr)
                    .map(|why| format!("{} is read again at apply time ({why})", ref_text(r)))
            }
            "resource" => {
                // `resource.TYPE.NAME...`, the explicit form of a reference
                // to a managed resource
                let (t, n) = (step(0)?, step(1)?);
                let addr = format!("{scope}{t}.{n}");
                let node = self.tgt.node(&addr)?;
                if node.kind != NodeKind::Resource {
                    return None;
                }
                self.resource_ref_changes(&addr, node, &r.steps[2..])
                    .map(|why| format!("{} {why}", ref_text(r)))
            }
            ty => {
                let name = step(0)?;
                let addr = format!("{scope}{ty}.{name}");
                let node = self.tgt.node(&addr)?;
                if node.kind == NodeKind::Data {
                    return self
                        .node_value_changes(&addr)
                        .map(|why| format!("{} is read again at apply time ({why})", ref_text(r)));
                }
                if node.kind != NodeKind::Resource {
                    return None;
                }
                self.resource_ref_changes(&addr, node, &r.steps[1..])
                    .map(|why| format!("{} {why}", ref_text(r)))
            }
        }
    }

    /// A reference into resource `addr` with `steps` after its name.
    fn resource_ref_changes(&self, addr: &str, node: &Node, steps: &[String]) -> Option<String> {
        let rc = self.resource_change(addr);
        if steps.first().map(String::as_str) == Some("[keys]") {
            // only the set of instances is read
            return (rc.instances_change || self.instances_change.contains(addr))
                .then(|| "changes: instances are added or removed".to_string());
        }
        let (index, rest) = match steps.first() {
            Some(s) if s == "[*]" => (None, &steps[1..]),
            Some(s) if s.starts_with('[') => (Some(s.clone()), &steps[1..]),
            _ => (None, steps),
        };
        let counted = node.body.get("count").is_some() || node.body.get("for_each").is_some();
        match (&index, counted) {
            (Some(k), _) => {
                let created = self
                    .created_instances
                    .iter()
                    .any(|c| c.ends_with(k.as_str()) && crate::expand::config_address(c) == addr);
                if created {
                    return Some("is created".to_string());
                }
            }
            (None, true) => {
                if rc.instances_change || self.instances_change.contains(addr) {
                    return Some("changes: instances are added or removed".into());
                }
            }
            (None, false) => {}
        }
        let attr = rest.iter().find(|s| !s.starts_with('[')).cloned();
        let why = |what: &str| {
            let first = rc.reasons.first().cloned().unwrap_or_default();
            format!("{what} ({first})")
        };
        match rc.action {
            ConfigAction::NoOp => None,
            ConfigAction::Create => Some(why("is created")),
            ConfigAction::Replace => Some(why("is replaced")),
            ConfigAction::Update => {
                let is_data = node.type_ == "terraform_data";
                match attr.as_deref() {
                    None => Some(why("is updated")),
                    // terraform_data: output mirrors input and is only known
                    // after apply; id survives an update.
                    Some("output") if is_data => rc
                        .changed
                        .contains("input")
                        .then(|| why("output is known only after apply")),
                    Some("id") => None,
                    Some(a) => rc.changed.contains(a).then(|| why(&format!("{a} changes"))),
                }
            }
        }
    }

    /// A reference that reads `rest` inside the value of `addr` (a
    /// variable, local or output). When that value is itself a plain
    /// reference (`value = terraform_data.a`), follow it with the remaining
    /// steps, so `module.m.a[0].output` asks about `a[0].output` only.
    fn through(&self, addr: &str, rest: &[String]) -> Option<String> {
        if rest.is_empty() {
            return self.node_value_changes(addr);
        }
        let t = self.tgt.node(addr)?;
        let c = self.cur.node(addr);
        // the expression that gives the value, and the scope it is read in
        let (tv, cv, scope) = match t.kind {
            NodeKind::Local | NodeKind::Output => (
                t.body.get("value").cloned(),
                c.and_then(|c| c.body.get("value").cloned()),
                Self::scope_of(t),
            ),
            NodeKind::Variable if !t.module.is_empty() => {
                let tcall = self.tgt.node(&t.module)?;
                let ccall = self.cur.node(&t.module);
                (
                    tcall.body.get(&t.name).cloned(),
                    ccall.and_then(|cc| cc.body.get(&t.name).cloned()),
                    Self::scope_of(tcall),
                )
            }
            _ => return self.node_value_changes(addr),
        };
        if tv != cv {
            return self.node_value_changes(addr);
        }
        if let Some(Value::Expr(text)) = &tv {
            if let e @ hcl::Expr::Traversal { .. } = &**text {
                let mut refs = Vec::new();
                collect_refs(e, &mut Vec::new(), &mut refs);
                if let [r] = refs.as_slice() {
                    let mut composed = r.clone();
                    composed.steps.extend(rest.iter().cloned());
                    return self.ref_changes(&scope, &composed);
                }
            }
        }
        self.node_value_changes(addr)
    }

    /// Does the value of a variable, local, output or data source change?
    fn node_value_changes(&self, addr: &str) -> Option<String> {
        if let Some(v) = self.value_memo.borrow().get(addr) {
            return v.clone();
        }
        if !self.in_progress.borrow_mut().insert(addr.to_string()) {
            return None;
        }
        let result = self.compute_node_value_changes(addr);
        self.in_progress.borrow_mut().remove(addr);
        self.value_memo
            .borrow_mut()
            .insert(addr.to_string(), result.clone());
        result
    }

    fn compute_node_value_changes(&self, addr: &str) -> Option<String> {
        let t = self.tgt.node(addr)?;
        let c = self.cur.node(addr);
        let scope = Self::scope_of(t);
        match t.kind {
            NodeKind::Variable => {
                if t.module.is_empty() {
                    let tv = root_var_value(self.tgt, t);
                    let cv = c.and_then(|c| root_var_value(self.cur, c));
                    if tv != cv {
                        return Some(format!("{addr} is {}", value_or_secret(t, tv.as_ref())));
                    }
                    return tv.and_then(|v| self.upstream(&v, ""));
                }
                // a module input: the argument of its call, in the parent scope
                let call_addr = &t.module;
                let tcall = self.tgt.node(call_addr)?;
                let ccall = self.cur.node(call_addr);
                let targ = tcall
                    .body
                    .get(&t.name)
                    .cloned()
                    .or_else(|| t.body.get("default").cloned());
                let carg = match (ccall, c) {
                    (Some(cc), Some(cv)) => cc
                        .body
                        .get(&cv.name)
                        .cloned()
                        .or_else(|| cv.body.get("default").cloned()),
                    _ => None,
                }
                .map(|v| self.renamed(&v, &tcall.module).into_owned());
                if targ != carg {
                    return Some(format!("{addr} is {}", value_or_secret(t, targ.as_ref())));
                }
                let parent = Self::scope_of(tcall);
                targ.and_then(|v| self.upstream(&v, &parent))
            }
            NodeKind::Local | NodeKind::Output => {
                let tv = t.body.get("value")?;
                let cv = c
                    .and_then(|c| c.body.get("value"))
                    .map(|v| self.renamed(v, &t.module).into_owned());
                if Some(tv) != cv.as_ref() {
                    return Some(format!("{addr} is {}", value_or_secret(t, Some(tv))));
                }
                self.upstream(tv, &scope)
            }
            NodeKind::Data => {
                let Some(c) = c else {
                    return Some(format!("{addr} is new"));
                };
                let strip = |b: &Value| {
                    let mut b = b.clone();
                    if let Value::Map(m) = &mut b {
                        m.retain(|k, _| !META.contains(&k.as_str()));
                    }
                    b
                };
                if strip(&t.body) != strip(&c.body) {
                    return Some(format!("{addr}'s arguments change"));
                }
                self.upstream(&strip(&t.body), &scope)
            }
            _ => None,
        }
    }

    /// The change of target resource `addr` (memoized).
    pub fn resource_change(&self, addr: &str) -> ResChange {
        if let Some(rc) = self.memo.borrow().get(addr) {
            return rc.clone();
        }
        if !self.in_progress.borrow_mut().insert(addr.to_string()) {
            // a reference cycle: Terraform rejects it; treat as unchanged here
            return ResChange {
                action: ConfigAction::NoOp,
                replace_token: None,
                reasons: Vec::new(),
                changed: BTreeSet::new(),
                instances_change: false,
            };
        }
        let rc = self.compute_resource_change(addr);
        self.in_progress.borrow_mut().remove(addr);
        self.memo.borrow_mut().insert(addr.to_string(), rc.clone());
        rc
    }

    fn compute_resource_change(&self, addr: &str) -> ResChange {
        let mut rc = ResChange {
            action: ConfigAction::NoOp,
            replace_token: None,
            reasons: Vec::new(),
            changed: BTreeSet::new(),
            instances_change: self.instances_change.contains(addr),
        };
        let tgt: &'a Model = self.tgt;
        let Some(t) = tgt.node(addr) else {
            return rc;
        };
        let prev = self
            .prev
            .get(addr)
            .cloned()
            .unwrap_or_else(|| addr.to_string());
        let Some(c) = self
            .cur
            .node(&prev)
            .filter(|c| c.kind == NodeKind::Resource)
        else {
            rc.action = ConfigAction::Create;
            rc.reasons.push(format!(
                "{addr} is in the target configuration but not deployed now"
            ));
            return rc;
        };
        let scope = Self::scope_of(t);
        let lc = t.lifecycle();
        let ignore_all = lc.ignore_all_changes;
        let ignored: BTreeSet<String> = lc
            .ignore_changes
            .iter()
            .map(|p| p.split(['.', '[']).next().unwrap_or_default().to_string())
            .collect();
        let empty = rewind_model::Map::new();
        let tb = t.body.as_map().unwrap_or(&empty);
        let c_body = self.renamed(&c.body, &c.module);
        let cb = c_body.as_map().unwrap_or(&empty);
        let keys: BTreeSet<&String> = tb.keys().chain(cb.keys()).collect();
        let mut attr_changes: Vec<AttrChange> = Vec::new();
        for k in keys {
            if META.contains(&k.as_str()) || ignore_all || ignored.contains(k) {
                continue;
            }
            let (tv, cv) = (tb.get(k), cb.get(k));
            if tv != cv {
                let secret = t.is_sensitive_path(&Path::root().key(k))
                    || c.is_sensitive_path(&Path::root().key(k));
                let text = if secret {
                    format!("{k} changes (sensitive value)")
                } else {
                    format!(
                        "{k} changes: {} → {}",
                        cv.map(short).unwrap_or_else(|| "null".into()),
                        tv.map(short).unwrap_or_else(|| "null".into())
                    )
                };
                rc.reasons.push(text);
                rc.changed.insert(k.clone());
                let nested = diff_values(
                    cv.unwrap_or(&Value::Null),
                    tv.unwrap_or(&Value::Null),
                    &|_| false,
                    true,
                );
                for mut a in nested {
                    a.path = Path(
                        std::iter::once(rewind_model::PathStep::Key(k.clone()))
                            .chain(a.path.0)
                            .collect(),
                    );
                    attr_changes.push(a);
                }
                continue;
            }
            // borrowed from the target model itself, for the memo
            if let Some(tv) = t.body.as_map().and_then(|m| m.get(k)) {
                for_expr_leaves(tv, &mut Vec::new(), &mut |steps, text| {
                    let Some(why) = self.upstream_expr(&t.module, text) else {
                        return;
                    };
                    if rc.changed.insert(k.clone()) {
                        rc.reasons
                            .push(format!("{k} is known only after apply: {why}"));
                    }
                    let mut path = Path::root().key(k);
                    for step in steps {
                        path = match step {
                            LeafStep::Key(s) => path.key(s),
                            LeafStep::Index(i) => path.index(*i),
                        };
                    }
                    attr_changes.push(AttrChange {
                        path,
                        op: AttrOp::Modify,
                        before: None,
                        after: None,
                        sensitive: false,
                    });
                });
            }
        }
        // replace_triggered_by
        let mut triggered = None;
        for entry in &lc.replace_triggered_by {
            let Ok(e) = hcl::parse_expression(entry) else {
                continue;
            };
            let mut refs = Vec::new();
            collect_refs(&e, &mut Vec::new(), &mut refs);
            for r in refs {
                let has_attr = r.steps.iter().skip(1).any(|s| !s.starts_with('['));
                let why =
                    if has_attr || matches!(r.root.as_str(), "var" | "local" | "module" | "data") {
                        self.ref_changes(&scope, &r)
                    } else {
                        // a whole resource: triggers on any planned change
                        let target = format!(
                            "{scope}{}.{}",
                            r.root,
                            r.steps.first().cloned().unwrap_or_default()
                        );
                        let other = self.resource_change(&target);
                        (other.action != ConfigAction::NoOp).then(|| {
                            format!(
                                "{} is {}",
                                ref_text(&r),
                                match other.action {
                                    ConfigAction::Replace => "replaced",
                                    ConfigAction::Create => "created",
                                    _ => "updated",
                                }
                            )
                        })
                    };
                if let Some(w) = why {
                    triggered = Some(format!("replace_triggered_by: {w}"));
                    break;
                }
            }
            if triggered.is_some() {
                break;
            }
        }
        let forcing: Vec<String> = rewind_diff::knowledge::forcing_paths(&t.type_, &attr_changes);
        if let Some(why) = triggered {
            rc.action = ConfigAction::Replace;
            rc.replace_token = Some("replace_by_triggers");
            rc.reasons.insert(0, why);
        } else if !forcing.is_empty() {
            rc.action = ConfigAction::Replace;
            rc.replace_token = Some("replace_because_cannot_update");
            rc.reasons
                .insert(0, format!("{} forces replacement", forcing.join(", ")));
        } else if !rc.changed.is_empty() {
            // terraform_data: only input and triggers_replace are arguments
            rc.action = ConfigAction::Update;
        }
        rc
    }
}

fn value_or_secret(n: &Node, v: Option<&Value>) -> String {
    if !n.sensitive.is_empty() {
        return "(sensitive value)".into();
    }
    v.map(short).unwrap_or_else(|| "null".into())
}

/// A root variable's value: an auto-loaded variables file, else its default.
pub fn root_var_value(model: &Model, var: &Node) -> Option<Value> {
    for e in &var.edges {
        if let Some(t) = model.node(&e.to).filter(|t| t.kind == NodeKind::Tfvars) {
            if let Some(v) = t.body.get(&var.name) {
                return Some(v.clone());
            }
        }
    }
    var.body.get("default").cloned()
}

/// A reference written as a traversal, when `e` is one.
fn traversal_ref(e: &hcl::Expr) -> Option<Reference> {
    if let hcl::Expr::Traversal { .. } = e {
        let mut refs = Vec::new();
        collect_refs(e, &mut Vec::new(), &mut refs);
        if let Some(first) = refs.into_iter().next() {
            return Some(first);
        }
    }
    None
}

/// See [`value_refs`]. `subst` maps iteration variables to the reference
/// they stand for (`x` → `COLL[*]`), or to `None` for variables that only
/// see keys (and plain bound names).
fn precise_refs(
    e: &hcl::Expr,
    subst: &HashMap<String, Option<Reference>>,
    out: &mut Vec<Reference>,
) {
    use hcl::Expr;
    match e {
        Expr::For(f) => {
            let coll = traversal_ref(&f.coll).filter(|r| !subst.contains_key(&r.root));
            let mut inner = subst.clone();
            match &coll {
                Some(c) => {
                    let mut keys = c.clone();
                    keys.steps.push("[keys]".into());
                    out.push(keys);
                    let mut each = c.clone();
                    each.steps.push("[*]".into());
                    inner.insert(f.value_var.clone(), Some(each));
                }
                None => {
                    precise_refs(&f.coll, subst, out);
                    inner.insert(f.value_var.clone(), None);
                }
            }
            if let Some(k) = &f.key_var {
                inner.insert(k.clone(), None);
            }
            for x in [Some(&f.value), f.key.as_ref(), f.cond.as_ref()]
                .into_iter()
                .flatten()
            {
                precise_refs(x, &inner, out);
            }
        }
        Expr::Call { name, args, .. } if name == "keys" && args.len() == 1 => {
            match traversal_ref(&args[0]) {
                Some(mut r) if !subst.contains_key(&r.root) => {
                    r.steps.push("[keys]".into());
                    out.push(r);
                }
                _ => precise_refs(&args[0], subst, out),
            }
        }
        Expr::Traversal { root, .. } if subst.contains_key(root) => {
            if let (Some(Some(base)), Some(mut r)) = (subst.get(root), traversal_ref(e)) {
                let mut composed = base.clone();
                composed.steps.append(&mut r.steps);
                out.push(composed);
            }
            // indexes inside the traversal may reference things too
            let mut found = Vec::new();
            collect_refs(e, &mut vec![root.clone()], &mut found);
            out.extend(found.into_iter().filter(|r| !subst.contains_key(&r.root)));
        }
        _ => {
            // everything else: the plain references, then recurse into
            // sub-expressions that may hold `for` expressions
            let bound: Vec<String> = subst.keys().cloned().collect();
            let mut found = Vec::new();
            collect_refs(e, &mut bound.clone(), &mut found);
            if !contains_for(e) {
                out.extend(found);
                return;
            }
            for child in children(e) {
                precise_refs(child, subst, out);
            }
            // the node's own traversal, if it is one, was covered by children
        }
    }
}

fn contains_for(e: &hcl::Expr) -> bool {
    use hcl::Expr;
    match e {
        Expr::For(_) => true,
        Expr::Call { name, .. } if name == "keys" => true,
        _ => children(e).into_iter().any(contains_for),
    }
}

/// The direct sub-expressions of an expression.
fn children(e: &hcl::Expr) -> Vec<&hcl::Expr> {
    use hcl::{Expr, Part, TravOp};
    fn parts<'x>(ps: &'x [Part], out: &mut Vec<&'x Expr>) {
        for p in ps {
            match p {
                Part::Lit(_) => {}
                Part::Interp(e) => out.push(e),
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    out.push(cond);
                    parts(then, out);
                    parts(otherwise, out);
                }
                Part::For { coll, body, .. } => {
                    out.push(coll);
                    parts(body, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    match e {
        Expr::Template(ps) => parts(ps, &mut out),
        Expr::Tuple(items) => out.extend(items.iter()),
        Expr::Object(items) => {
            for (k, v) in items {
                if hcl::static_key(k).is_none() {
                    out.push(k);
                }
                out.push(v);
            }
        }
        Expr::Traversal { ops, .. } => {
            // a traversal is a leaf reference; its computed indexes are
            // expressions of their own
            let _ = ops;
        }
        Expr::Postfix(inner, ops) => {
            out.push(inner);
            for op in ops {
                if let TravOp::Index(i) = op {
                    out.push(i);
                }
            }
        }
        Expr::Call { args, .. } => out.extend(args.iter()),
        Expr::Unary(_, x) | Expr::Paren(x) => out.push(x),
        Expr::Binary(_, l, r) => {
            out.push(l);
            out.push(r);
        }
        Expr::Cond(c, a, b) => {
            out.push(c);
            out.push(a);
            out.push(b);
        }
        Expr::For(f) => {
            out.push(&f.coll);
            out.push(&f.value);
            out.extend(f.key.as_ref());
            out.extend(f.cond.as_ref());
        }
        _ => {}
    }
    out
}

/// Replaces references to `from` by `to` in normalized expression text,
/// at whole-name boundaries (`terraform_data.c` does not touch
/// `terraform_data.cc` or `x.terraform_data.c`).
/// An expression with the references to renamed resources (`from` → `to`,
/// dotted addresses relative to the module) renamed.
fn rename_refs(e: &hcl::Expr, renames: &[(&str, &str)]) -> hcl::Expr {
    use hcl::{Expr, Part, TravOp};
    let ops_of = |ops: &[TravOp]| -> Vec<TravOp> {
        ops.iter()
            .map(|op| match op {
                TravOp::Index(i) => TravOp::Index(rename_refs(i, renames)),
                other => other.clone(),
            })
            .collect()
    };
    let parts_of = |parts: &[Part]| -> Vec<Part> { rename_parts(parts, renames) };
    match e {
        Expr::Traversal { root, ops, pos } => {
            // the dotted prefix of the traversal: root.attr.attr...
            let mut names = vec![root.as_str()];
            for op in ops {
                match op {
                    TravOp::Attr(a) => names.push(a),
                    _ => break,
                }
            }
            for (from, to) in renames {
                let from_names: Vec<&str> = from.split('.').collect();
                if names.len() >= from_names.len() && names[..from_names.len()] == from_names[..] {
                    let mut to_names = to.split('.');
                    let new_root = to_names.next().unwrap_or_default().to_string();
                    let mut new_ops: Vec<TravOp> =
                        to_names.map(|n| TravOp::Attr(n.to_string())).collect();
                    new_ops.extend(ops_of(&ops[from_names.len() - 1..]));
                    return Expr::Traversal {
                        root: new_root,
                        ops: new_ops,
                        pos: *pos,
                    };
                }
            }
            Expr::Traversal {
                root: root.clone(),
                ops: ops_of(ops),
                pos: *pos,
            }
        }
        Expr::Template(parts) => Expr::Template(parts_of(parts)),
        Expr::Tuple(items) => Expr::Tuple(items.iter().map(|i| rename_refs(i, renames)).collect()),
        Expr::Object(items) => Expr::Object(
            items
                .iter()
                .map(|(k, v)| (rename_refs(k, renames), rename_refs(v, renames)))
                .collect(),
        ),
        Expr::Postfix(inner, ops) => {
            Expr::Postfix(Box::new(rename_refs(inner, renames)), ops_of(ops))
        }
        Expr::Call {
            name,
            args,
            expand_final,
        } => Expr::Call {
            name: name.clone(),
            args: args.iter().map(|a| rename_refs(a, renames)).collect(),
            expand_final: *expand_final,
        },
        Expr::Unary(op, inner) => Expr::Unary(*op, Box::new(rename_refs(inner, renames))),
        Expr::Binary(op, l, r) => Expr::Binary(
            *op,
            Box::new(rename_refs(l, renames)),
            Box::new(rename_refs(r, renames)),
        ),
        Expr::Cond(c, a, b) => Expr::Cond(
            Box::new(rename_refs(c, renames)),
            Box::new(rename_refs(a, renames)),
            Box::new(rename_refs(b, renames)),
        ),
        Expr::For(f) => {
            let mut f2 = (**f).clone();
            f2.coll = rename_refs(&f.coll, renames);
            f2.key = f.key.as_ref().map(|k| rename_refs(k, renames));
            f2.value = rename_refs(&f.value, renames);
            f2.cond = f.cond.as_ref().map(|c| rename_refs(c, renames));
            Expr::For(Box::new(f2))
        }
        Expr::Paren(inner) => Expr::Paren(Box::new(rename_refs(inner, renames))),
        other => other.clone(),
    }
}

fn rename_parts(parts: &[hcl::Part], renames: &[(&str, &str)]) -> Vec<hcl::Part> {
    use hcl::Part;
    parts
        .iter()
        .map(|p| match p {
            Part::Lit(s) => Part::Lit(s.clone()),
            Part::Interp(e) => Part::Interp(rename_refs(e, renames)),
            Part::If {
                cond,
                then,
                otherwise,
            } => Part::If {
                cond: rename_refs(cond, renames),
                then: rename_parts(then, renames),
                otherwise: rename_parts(otherwise, renames),
            },
            Part::For {
                key_var,
                value_var,
                coll,
                body,
            } => Part::For {
                key_var: key_var.clone(),
                value_var: value_var.clone(),
                coll: rename_refs(coll, renames),
                body: rename_parts(body, renames),
            },
        })
        .collect()
}
