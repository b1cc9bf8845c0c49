//! Revert plans that agree with Terraform.
//!
//! From the current deployment (a snapshot's configuration and, when it has
//! one, its state) to a target configuration: the action of every resource
//! instance in Terraform's vocabulary, with its reasons and risks, and the
//! single operations in an order that satisfies Terraform's apply graph
//! (see DESIGN.md, "How Terraform orders a plan"), grouped into waves.

mod analysis;
pub mod expand;
mod order;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rewind_diff::knowledge;
use rewind_model::graph::resource_dependencies;
use rewind_model::{EdgeKind, Model, Node, NodeKind, Value};

pub use analysis::{Analysis, ConfigAction, ResChange};
use expand::{config_address, module_instances, split_instance, Evaluator, Key, Keys};
pub use order::{PlanError, Step};

/// One of Terraform's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    NoOp,
    Create,
    Update,
    Delete,
    Forget,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Forget => "forget",
        }
    }
}

/// What kind of risk a change carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RiskKind {
    /// Deleting or replacing destroys data.
    DataLoss,
    /// `prevent_destroy` forbids this delete or replace.
    DestroyProtected,
    /// A remote module's contents are unknown: its changes are not planned.
    UnresolvedModule,
    /// The object leaves Terraform's management but keeps running.
    Forget,
    /// `count` / `for_each` could not be evaluated.
    UnknownInstances,
}

impl RiskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskKind::DataLoss => "data_loss",
            RiskKind::DestroyProtected => "prevent_destroy",
            RiskKind::UnresolvedModule => "unresolved_module",
            RiskKind::Forget => "forget",
            RiskKind::UnknownInstances => "unknown_instances",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    pub kind: RiskKind,
    pub message: String,
}

/// The planned change of one resource instance.
#[derive(Clone, Debug)]
pub struct Change {
    pub address: String,
    /// The resource type (empty for module-level entries).
    pub type_: String,
    pub actions: Vec<Action>,
    /// Terraform's `action_reason`, where it gives one.
    pub action_reason: Option<&'static str>,
    pub reasons: Vec<String>,
    pub risks: Vec<Risk>,
    /// Set when a `moved` block renamed the instance.
    pub previous_address: Option<String>,
    /// The deposed key, for a deposed object being deleted.
    pub deposed: Option<String>,
    /// For a replace: create the new object before deleting the old one.
    pub create_before_destroy: bool,
}

impl Change {
    pub fn is_noop(&self) -> bool {
        self.actions == [Action::NoOp]
    }
    pub fn destroys(&self) -> bool {
        self.actions.contains(&Action::Delete)
    }
}

/// A whole plan.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Every instance with a change (no-ops only when moved), by address.
    pub changes: Vec<Change>,
    /// Single operations in a valid execution order.
    pub steps: Vec<Step>,
    /// Deletes and replaces `prevent_destroy` forbids.
    pub blocked: Vec<String>,
    /// Plan-wide risks (unresolved modules, unknown instance counts).
    pub notes: Vec<Risk>,
    /// True when the current side had a state file (instances and their
    /// recorded dependencies come from it).
    pub from_state: bool,
}

impl Plan {
    /// True when nothing changes (a move is a change, as in Terraform).
    pub fn is_empty(&self) -> bool {
        self.changes
            .iter()
            .all(|c| c.is_noop() && c.previous_address.is_none())
    }
}

/// A current instance.
#[derive(Clone, Debug)]
struct CurInst {
    /// Address after the target's moves.
    addr: String,
    original: String,
    config: String,
    type_: String,
    tainted: bool,
    cbd: bool,
    /// Resource config addresses this instance depended on (transitive).
    deps: Vec<String>,
    deposed: Option<String>,
}

/// Expands a model's managed resources into instance addresses. Returns
/// the instances and the resources whose instances could not be known
/// (they carry one keyless placeholder instance).
fn expand_resources(
    model: &Model,
    notes: &mut Vec<Risk>,
) -> (BTreeMap<String, (String, Key)>, BTreeSet<String>) {
    let eval = Evaluator::new(model);
    let mut unknown_modules = Vec::new();
    let modules = module_instances(model, &eval, &mut unknown_modules);
    let mut out = BTreeMap::new();
    let mut unknown = BTreeSet::new();
    let mut messages = Vec::new();
    for n in model.nodes.iter().filter(|n| n.kind == NodeKind::Resource) {
        let keys = match eval.keys(n) {
            Keys::Single => vec![Key::None],
            Keys::Known(k) => k,
            Keys::Unknown(why) => {
                messages.push(format!("{}: {why}", n.address));
                unknown.insert(n.address.clone());
                vec![Key::None]
            }
        };
        if unknown_modules.iter().any(|m: &String| {
            n.address
                .starts_with(&format!("{}.", m.split(':').next().unwrap_or_default()))
        }) {
            unknown.insert(n.address.clone());
        }
        let local = if n.module.is_empty() {
            n.address.clone()
        } else {
            n.address[n.module.len() + 1..].to_string()
        };
        let prefixes = modules
            .get(&n.module)
            .cloned()
            .unwrap_or_else(|| vec![String::new()]);
        for p in prefixes {
            for k in &keys {
                out.insert(
                    format!("{p}{local}{}", k.suffix()),
                    (n.address.clone(), k.clone()),
                );
            }
        }
    }
    for u in unknown_modules.into_iter().chain(messages) {
        notes.push(Risk {
            kind: RiskKind::UnknownInstances,
            message: format!("instances of {u}; the deployed instances are assumed to stay"),
        });
    }
    (out, unknown)
}

/// Transitive resource dependencies of a model's configuration.
fn config_deps(model: &Model) -> HashMap<String, BTreeSet<String>> {
    let direct = resource_dependencies(model);
    let mut map: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (i, ds) in &direct {
        map.insert(
            model.nodes[*i].address.clone(),
            ds.iter().map(|d| model.nodes[*d].address.clone()).collect(),
        );
    }
    map
}

/// Every resource some resource in `from` depends on, directly or not
/// (breadth-first; linear in the graph).
fn all_dependencies(
    direct: &HashMap<String, BTreeSet<String>>,
    from: &str,
    seen: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut queue: Vec<&str> = direct
        .get(from)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    while let Some(x) = queue.pop() {
        if !seen.insert(x.to_string()) {
            continue;
        }
        out.push(x.to_string());
        queue.extend(direct.get(x).into_iter().flatten().map(String::as_str));
    }
    out
}

/// Moves declared by the target's `moved` blocks, as (from, to) address
/// patterns relative to their module (`module.x.`).
fn target_moves(tgt: &Model) -> Vec<(String, String, String)> {
    rewind_diff::moves_of(tgt)
        .into_iter()
        .map(|(from, to)| {
            // moves_of prefixes the module path; keep it apart for instance matching
            let module = tgt
                .nodes
                .iter()
                .find(|n| {
                    n.kind == NodeKind::Moved
                        && !n.module.is_empty()
                        && from.starts_with(&format!("{}.", n.module))
                })
                .map(|n| n.module.clone())
                .unwrap_or_default();
            let strip = |s: &str| {
                if module.is_empty() {
                    s.to_string()
                } else {
                    s[module.len() + 1..].to_string()
                }
            };
            let (f, t) = (strip(&from), strip(&to));
            (module, f, t)
        })
        .collect()
}

/// The address an instance gets after the moves (module-relative patterns
/// apply inside every instance of their module).
fn apply_moves(
    addr: &str,
    moves: &[(String, String, String)],
    taken: &BTreeSet<String>,
) -> Option<String> {
    let mut cur = addr.to_string();
    let mut moved = false;
    for _ in 0..moves.len().max(1) {
        let mut step = false;
        for (module, from, to) in moves {
            let (prefix, rest) = if module.is_empty() {
                (String::new(), cur.clone())
            } else {
                let (p, r) = split_instance(&cur);
                if config_address(p.trim_end_matches('.')) != *module {
                    continue;
                }
                (p, r)
            };
            if let Some(next) = rewind_diff::apply_move(&rest, from, to) {
                let candidate = format!("{prefix}{next}");
                if candidate != cur && !taken.contains(&candidate) {
                    cur = candidate;
                    moved = true;
                    step = true;
                }
            }
        }
        if !step {
            break;
        }
    }
    moved.then_some(cur)
}

/// Options of a plan.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub allow_destroy_protected: bool,
}

/// Plans going from `current` to `target`.
pub fn plan(current: &Model, target: &Model, opts: &Options) -> Result<Plan, PlanError> {
    let mut notes = Vec::new();
    // Current instances: the state when there is one, else the configuration.
    let trace = rewind_parse::load::Trace::new();
    let from_state = current.state.is_some();
    let cur_direct = config_deps(current);
    let mut cur: Vec<CurInst> = Vec::new();
    if from_state {
        for n in current
            .instances
            .iter()
            .filter(|n| matches!(n.meta.get("mode"), Some(Value::String(m)) if m == "managed"))
        {
            let deposed = n
                .meta
                .get("deposed")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            let addr = n
                .address
                .split(" (deposed")
                .next()
                .unwrap_or_default()
                .to_string();
            let config = config_address(&addr);
            cur.push(CurInst {
                addr: addr.clone(),
                original: addr,
                config,
                type_: n.type_.clone(),
                tainted: matches!(n.meta.get("status"), Some(Value::String(s)) if s == "tainted"),
                cbd: n.lifecycle().create_before_destroy,
                deps: n
                    .edges
                    .iter()
                    .filter(|e| e.kind == EdgeKind::State)
                    .map(|e| e.to.clone())
                    .collect(),
                deposed,
            });
        }
    } else {
        let mut ignore = Vec::new();
        for (addr, (config, _)) in expand_resources(current, &mut ignore).0 {
            let node = current.node(&config);
            cur.push(CurInst {
                addr: addr.clone(),
                original: addr,
                config: config.clone(),
                type_: node.map(|n| n.type_.clone()).unwrap_or_default(),
                tainted: false,
                cbd: node
                    .map(|n| n.lifecycle().create_before_destroy)
                    .unwrap_or(false),
                deps: cur_direct
                    .get(&config)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default(),
                deposed: None,
            });
        }
    }
    trace.mark("plan: current instances");
    // Target instances.
    let (mut tgt_insts, unknown) = expand_resources(target, &mut notes);
    // Moves from the target's moved blocks.
    let moves = target_moves(target);
    let taken: BTreeSet<String> = cur.iter().map(|c| c.addr.clone()).collect();
    let mut prev_config: HashMap<String, String> = HashMap::new();
    for c in cur.iter_mut().filter(|c| c.deposed.is_none()) {
        if let Some(next) = apply_moves(&c.addr, &moves, &taken) {
            if tgt_insts.contains_key(&next) || unknown.contains(&config_address(&next)) {
                prev_config.insert(config_address(&next), c.config.clone());
                c.addr = next;
            }
        }
    }
    // Where the target's instances cannot be known, the deployed ones stay.
    for config in &unknown {
        let deployed: Vec<&CurInst> = cur
            .iter()
            .filter(|c| c.deposed.is_none() && config_address(&c.addr) == *config)
            .collect();
        if deployed.is_empty() {
            continue;
        }
        tgt_insts.retain(|_, (c, _)| c != config);
        for c in deployed {
            let key = match split_instance(&c.addr).1.rsplit_once('[') {
                Some((_, k)) => {
                    let k = k.trim_end_matches(']');
                    match k.parse::<u64>() {
                        Ok(i) => Key::Int(i),
                        Err(_) => Key::Str(k.trim_matches('"').to_string()),
                    }
                }
                None => Key::None,
            };
            tgt_insts.insert(c.addr.clone(), (config.clone(), key));
        }
    }
    let cur_live: BTreeMap<String, &CurInst> = cur
        .iter()
        .filter(|c| c.deposed.is_none())
        .map(|c| (c.addr.clone(), c))
        .collect();

    let mut analysis = Analysis::new(current, target);
    analysis.prev = prev_config;
    analysis.renames = moves.clone();
    {
        let mut ignore = Vec::new();
        let cm = module_instances(current, &Evaluator::new(current), &mut ignore);
        let tm = module_instances(target, &Evaluator::new(target), &mut ignore);
        for (call, insts) in &tm {
            if !call.is_empty() && cm.get(call).is_some_and(|c| c != insts) {
                analysis.module_instances_change.insert(call.clone());
            }
        }
    }
    for (addr, (config, _)) in &tgt_insts {
        if !cur_live.contains_key(addr) {
            analysis.created_instances.insert(addr.clone());
            analysis.instances_change.insert(config.clone());
        }
    }
    for c in cur_live.values() {
        if !tgt_insts.contains_key(&c.addr) {
            analysis.instances_change.insert(c.config.clone());
        }
    }

    trace.mark("plan: target instances and moves");
    // Explicit and forced create_before_destroy in the target: a resource
    // is forced when anything depending on it (transitively) is CBD.
    let tgt_deps = config_deps(target);
    let mut forced: BTreeMap<String, String> = BTreeMap::new();
    // each dependency is marked once, by the first CBD resource reaching it
    let mut marked = BTreeSet::new();
    for n in target
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Resource && n.lifecycle().create_before_destroy)
    {
        for d in all_dependencies(&tgt_deps, &n.address, &mut marked) {
            forced.entry(d).or_insert_with(|| n.address.clone());
        }
    }
    let is_cbd = |config: &str| -> (bool, Option<String>) {
        let explicit = target
            .node(config)
            .is_some_and(|n| n.lifecycle().create_before_destroy);
        if explicit {
            return (true, None);
        }
        match forced.get(config) {
            Some(by) => (true, Some(by.clone())),
            None => (false, None),
        }
    };

    // Removed blocks of the target: resource config address → destroy?
    let mut removed: Vec<(String, bool)> = Vec::new();
    for n in target.nodes.iter().filter(|n| n.kind == NodeKind::Removed) {
        let prefix = if n.module.is_empty() {
            String::new()
        } else {
            format!("{}.", n.module)
        };
        let from = match n.body.get("from") {
            Some(Value::Expr(e)) => format!("{prefix}{e}"),
            Some(Value::String(e)) => format!("{prefix}{e}"),
            _ => continue,
        };
        let destroy = n
            .body
            .block("lifecycle")
            .and_then(|l| l.get("destroy"))
            .and_then(Value::as_bool)
            .unwrap_or(true);
        removed.push((from, destroy));
    }

    trace.mark("plan: create_before_destroy");
    // Changes.
    let mut changes: Vec<Change> = Vec::new();
    for (addr, (config, _)) in &tgt_insts {
        let tnode = target.node(config);
        let type_ = tnode.map(|n| n.type_.clone()).unwrap_or_default();
        let mut ch = Change {
            address: addr.clone(),
            type_: type_.clone(),
            actions: vec![Action::NoOp],
            action_reason: None,
            reasons: Vec::new(),
            risks: Vec::new(),
            previous_address: None,
            deposed: None,
            create_before_destroy: false,
        };
        match cur_live.get(addr) {
            None => {
                ch.actions = vec![Action::Create];
                ch.reasons
                    .push("in the target configuration but not deployed now".into());
            }
            Some(c) => {
                if c.original != c.addr {
                    ch.previous_address = Some(c.original.clone());
                    ch.reasons
                        .push(format!("moved from {} (moved block)", c.original));
                }
                let rc = analysis.resource_change(config);
                let replace = |ch: &mut Change, token: Option<&'static str>| {
                    let (cbd, by) = is_cbd(config);
                    ch.create_before_destroy = cbd;
                    ch.actions = if cbd {
                        vec![Action::Create, Action::Delete]
                    } else {
                        vec![Action::Delete, Action::Create]
                    };
                    ch.action_reason = token;
                    if let Some(by) = by {
                        ch.reasons.push(format!(
                            "create_before_destroy is forced by {by}, which depends on it"
                        ));
                    }
                };
                if c.tainted {
                    replace(&mut ch, Some("replace_because_tainted"));
                    ch.reasons.insert(0, "the current object is tainted".into());
                } else {
                    match rc.action {
                        ConfigAction::NoOp => {}
                        ConfigAction::Update | ConfigAction::Create => {
                            ch.actions = vec![Action::Update]
                        }
                        ConfigAction::Replace => replace(&mut ch, rc.replace_token),
                    }
                }
                ch.reasons.extend(rc.reasons.iter().cloned());
            }
        }
        // no-ops are left out of the plan (below): most instances of a
        // large plan are unchanged, and keeping them costs memory
        if ch.is_noop() && ch.previous_address.is_none() {
            continue;
        }
        changes.push(ch);
    }
    trace.mark("plan: changes of target instances");
    // Module calls whose contents the target cannot show (remote, not
    // downloaded): what is deployed inside them is left alone.
    let opaque: Vec<String> = target
        .nodes
        .iter()
        .filter(|n| {
            n.kind == NodeKind::Module
                && matches!(n.meta.get("resolved"), Some(Value::String(s)) if s == "remote")
        })
        .map(|n| format!("{}.", n.address))
        .collect();
    for c in &cur {
        if c.deposed.is_none() && tgt_insts.contains_key(&c.addr) {
            continue;
        }
        if opaque.iter().any(|m| c.config.starts_with(m.as_str())) {
            continue;
        }
        let mut ch = Change {
            address: c.addr.clone(),
            type_: c.type_.clone(),
            actions: vec![Action::Delete],
            action_reason: None,
            reasons: Vec::new(),
            risks: Vec::new(),
            previous_address: None,
            deposed: c.deposed.clone(),
            create_before_destroy: c.cbd,
        };
        if let Some(d) = &c.deposed {
            ch.reasons.push(format!(
                "a deposed object ({d}) left by an earlier create-before-destroy replacement"
            ));
            changes.push(ch);
            continue;
        }
        let rem = removed.iter().find(|(from, _)| {
            c.config == *from
                || c.config.starts_with(&format!("{from}."))
                || config_address(&c.addr).starts_with(&format!("{from}."))
        });
        let (module_prefix, _) = split_instance(&c.addr);
        let module_config = config_address(module_prefix.trim_end_matches('.'));
        let module_gone = !module_prefix.is_empty()
            && target.node(&module_config).is_some()
            // sorted addresses: those under the prefix start at its place
            && !tgt_insts
                .range::<str, _>((
                    std::ops::Bound::Included(module_prefix.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .next()
                .is_some_and(|(a, _)| a.starts_with(module_prefix.as_str()));
        if let Some((_, false)) = rem {
            ch.actions = vec![Action::Forget];
            ch.action_reason = Some("delete_because_no_resource_config");
            ch.reasons.push("a removed block with destroy = false: Terraform stops managing it, the object stays".into());
        } else if let Some(t) = target
            .node(&c.config)
            .filter(|n| n.kind == NodeKind::Resource)
        {
            // the block is still there: the instance key is gone
            if module_gone {
                ch.action_reason = Some("delete_because_no_module");
                ch.reasons.push(format!(
                    "module instance {} is not in the target",
                    module_prefix.trim_end_matches('.')
                ));
            } else {
                let (_, rest) = split_instance(&c.addr);
                let key_is_int = rest.ends_with(']')
                    && rest
                        .rsplit('[')
                        .next()
                        .is_some_and(|k| k.trim_end_matches(']').parse::<u64>().is_ok());
                let key_is_str = rest.ends_with("\"]");
                let reason: &'static str = if t.body.get("count").is_some() {
                    if key_is_int {
                        "delete_because_count_index"
                    } else {
                        "delete_because_wrong_repetition"
                    }
                } else if t.body.get("for_each").is_some() {
                    if key_is_str {
                        "delete_because_each_key"
                    } else {
                        "delete_because_wrong_repetition"
                    }
                } else {
                    "delete_because_wrong_repetition"
                };
                ch.action_reason = Some(reason);
                ch.reasons.push(match reason {
                    "delete_because_count_index" => {
                        "its index is beyond the target's count".to_string()
                    }
                    "delete_because_each_key" => {
                        "its key is not in the target's for_each".to_string()
                    }
                    _ => {
                        "its instance key no longer fits the target's count / for_each".to_string()
                    }
                });
            }
        } else if module_gone
            || (!module_prefix.is_empty() && target.node(&module_config).is_none())
        {
            ch.action_reason = Some("delete_because_no_module");
            ch.reasons
                .push(format!("module {} is not in the target", module_config));
            if target.node(&c.config).is_none() && target.node(&module_config).is_none() {
                ch.action_reason = Some("delete_because_no_resource_config");
            }
        } else {
            ch.action_reason = Some("delete_because_no_resource_config");
            ch.reasons.push("not in the target configuration".into());
            if let Some((_, true)) = rem {
                ch.reasons
                    .push("a removed block says destroy = true".into());
            }
        }
        changes.push(ch);
    }

    trace.mark("plan: changes");
    // Risks.
    let mut blocked = Vec::new();
    for ch in &mut changes {
        if ch.destroys() {
            if let Some(db) = knowledge::data_bearing(&ch.type_) {
                let verb = if ch.actions.len() == 2 {
                    "replacing"
                } else {
                    "deleting"
                };
                ch.risks.push(Risk {
                    kind: RiskKind::DataLoss,
                    message: format!(
                        "{verb} {} destroys {} ({} severity)",
                        ch.type_, db.holds, db.severity
                    ),
                });
            }
            let protected = current
                .node(&config_address(
                    ch.previous_address.as_deref().unwrap_or(&ch.address),
                ))
                .is_some_and(|n| n.lifecycle().prevent_destroy);
            if protected {
                ch.risks.push(Risk {
                    kind: RiskKind::DestroyProtected,
                    message: "lifecycle.prevent_destroy is set in the current configuration".into(),
                });
                if !opts.allow_destroy_protected {
                    blocked.push(ch.address.clone());
                }
            }
        }
        if ch.actions == [Action::Forget] {
            ch.risks.push(Risk {
                kind: RiskKind::Forget,
                message: "the object keeps running but is no longer managed by Terraform".into(),
            });
        }
    }
    for m in current
        .nodes
        .iter()
        .chain(target.nodes.iter())
        .filter(|n| n.kind == NodeKind::Module)
    {
        if matches!(m.meta.get("resolved"), Some(Value::String(s)) if s == "remote") {
            let msg = format!(
                "{} uses remote module {} which is not downloaded: its resources are not planned (run terraform init before snapshotting)",
                m.address,
                m.body.get("source").map(Value::render).unwrap_or_default()
            );
            if !notes.iter().any(|n: &Risk| n.message == msg) {
                notes.push(Risk {
                    kind: RiskKind::UnresolvedModule,
                    message: msg,
                });
            }
        }
    }
    let _ = Node::default;
    changes.retain(|c| !c.is_noop() || c.previous_address.is_some());
    changes.sort_by(|a, b| a.address.cmp(&b.address).then(a.deposed.cmp(&b.deposed)));

    trace.mark("plan: risks");
    // Ordering.
    let cur_deps: HashMap<String, Vec<String>> = cur
        .iter()
        .map(|c| (c.original.clone(), c.deps.clone()))
        .collect();
    let cur_graph = (!from_state).then_some(&cur_direct);
    blocked.sort();
    let steps = order::order(&changes, &tgt_insts, &tgt_deps, &cur, &cur_deps, cur_graph)?;
    trace.mark("plan: order");
    Ok(Plan {
        changes,
        steps,
        blocked,
        notes,
        from_state,
    })
}

pub(crate) use CurInst as CurrentInstance;
