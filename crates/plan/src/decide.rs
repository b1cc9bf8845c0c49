//! Deciding each target instance: its configuration (evaluated by the
//! walk) against its prior value — create, update, replace or no-op —
//! and the value the rest of the target sees for it (known where the
//! plan knows it, unknown where only apply will).

use std::collections::{BTreeMap, HashMap, HashSet};

use rewind_eval::{EvalError, Evaluator, Value};
use rewind_model::expr::{Expr, TravOp};
use rewind_model::{InstanceAddr, InstanceKey, Mode, Model, Node, NodeKind, ResourceAddr};

use crate::prior::{by_address, hashed_by_address, Prior};
use crate::resource::{self, AttrDiff, Comparison, Ignore};
use crate::show::shown;
use crate::walk::{InstanceScope, InstanceValue, Missing, Planner, Walk};
use crate::{actions_of, Action, AttributeChange, Change, Unchanged, Values};

mod reads;

pub(crate) use reads::wanted as waits_for_changes;

/// What happens to one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    NoOp,
    Create,
    Update,
    Replace,
}

/// The decision for one target instance.
#[derive(Clone, Debug)]
pub(crate) struct Decision {
    /// Its address (whose resource type is the configuration's: a
    /// decision is made for a node of the target configuration).
    pub addr: InstanceAddr,
    /// The prior object (index in `Prior::managed`).
    pub prior: Option<usize>,
    /// Where it was before a move, and which move (boxed: few instances
    /// move, and a decision is kept for every instance of the target).
    pub moved_from: Option<Box<(InstanceAddr, String)>>,
    pub kind: Kind,
    pub reason: Option<&'static str>,
    pub notes: Vec<String>,
    pub comparison: Comparison,
    pub planned: Value,
    pub cbd: bool,
    pub cbd_forced_by: Option<String>,
    /// An object an `import` block brings in (no prior object was at the
    /// address): its import id and the value planned against (boxed: few
    /// instances are imported).
    pub imported: Option<Box<(String, Value)>>,
}

pub(crate) struct Decide<'p, 'a> {
    prior: &'p Prior,
    /// Prior objects (not deposed) by their address before the moves
    /// (borrowed: a copy of every deployed address was 17 MB at 100,000
    /// instances); see [`Decide::prior_at`] for the address after them.
    by_addr: rustc_hash::FxHashMap<&'p InstanceAddr, usize>,
    /// Where each moved prior object was (by its new address), and which
    /// move.
    moved_from: HashMap<InstanceAddr, (InstanceAddr, String)>,
    /// The addresses prior objects moved away from.
    moved_away: HashSet<InstanceAddr>,
    cbd: &'p BTreeMap<String, Option<String>>,
    pub decisions: Vec<Decision>,
    /// The decisions by their address: positions in `decisions`, hashed
    /// by the address they hold ([`addr_hash`]), which is not copied.
    index: hashbrown::HashTable<u32>,
    pub unknown: Vec<(ResourceAddr, String)>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    /// Fingerprints of the current configuration's evaluated arguments of
    /// each deployed instance (by its current address), when there is a
    /// state: what the
    /// target gives the same is no change (see [`resource::compare`]);
    /// read by the walk only, while the current configuration's walk
    /// writes them on another thread.
    pub current_configs: Option<&'a crate::prior::CurrentArgs<'a>>,
    /// What rewind knows of the providers (their force-new tables).
    pub knowledge: &'p rewind_diff::knowledge::Knowledge,
    /// The target's `import` blocks: the id to import at each address.
    pub imports: HashMap<InstanceAddr, String>,
    /// What has changes pending so far (see [`reads`]).
    pub(crate) pending: reads::Pending,
    /// Data source instances read during apply, and Terraform's reason.
    pub reads: Vec<(InstanceAddr, &'static str)>,
}

impl<'p> Decide<'p, '_> {
    pub fn new(
        prior: &'p Prior,
        moved: &BTreeMap<InstanceAddr, (InstanceAddr, String)>,
        cbd: &'p BTreeMap<String, Option<String>>,
        knowledge: &'p rewind_diff::knowledge::Knowledge,
    ) -> Self {
        let by_addr = hashed_by_address(&prior.managed);
        // in the order of the addresses: of two moves to one address the
        // last wins
        let mut moved_from = HashMap::new();
        let mut moved_away = HashSet::new();
        for (addr, _) in by_address(&prior.managed) {
            if let Some((to, why)) = moved.get(addr) {
                moved_from.insert(to.clone(), (addr.clone(), why.clone()));
                moved_away.insert(addr.clone());
            }
        }
        Decide {
            prior,
            by_addr,
            moved_from,
            moved_away,
            cbd,
            // about one decision per deployed instance: sized once
            decisions: Vec::with_capacity(prior.managed.len()),
            index: hashbrown::HashTable::with_capacity(prior.managed.len()),
            unknown: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
            current_configs: None,
            knowledge,
            imports: HashMap::new(),
            pending: Default::default(),
            reads: Vec::new(),
        }
    }

    /// The decisions once the walk is over: the current configuration's
    /// arguments are not read again (and may be freed).
    pub fn walked(self) -> Decide<'p, 'static> {
        Decide {
            prior: self.prior,
            by_addr: self.by_addr,
            moved_from: self.moved_from,
            moved_away: self.moved_away,
            cbd: self.cbd,
            decisions: self.decisions,
            index: self.index,
            unknown: self.unknown,
            errors: self.errors,
            notes: self.notes,
            current_configs: None,
            knowledge: self.knowledge,
            imports: self.imports,
            pending: self.pending,
            reads: self.reads,
        }
    }

    /// Is there a target instance at `addr`?
    pub fn has(&self, addr: &InstanceAddr) -> bool {
        let decisions = &self.decisions;
        self.index
            .find(addr_hash(addr), |&i| decisions[i as usize].addr == *addr)
            .is_some()
    }

    /// The prior object at `addr` after the moves: the one moved there, or
    /// else the one that was there and did not move away (the last of
    /// equal addresses, deposed objects aside).
    fn prior_at(&self, addr: &InstanceAddr) -> Option<usize> {
        match self.moved_from.get(addr) {
            Some((from, _)) => self.by_addr.get(from).copied(),
            None if self.moved_away.contains(addr) => None,
            None => self.by_addr.get(addr).copied(),
        }
    }

    /// Is `addr` an instance of a resource whose instances are unknown?
    pub(crate) fn unknown_resource(&self, addr: &InstanceAddr) -> bool {
        self.unknown.iter().any(|(r, _)| *r == addr.resource)
    }

    fn lifecycle_ignore(node: &Node) -> Ignore {
        let lc = node.lifecycle();
        Ignore {
            all: lc.ignore_all_changes,
            paths: lc
                .ignore_changes
                .iter()
                .filter_map(|p| resource::IgnoreStep::parse_path(p))
                .collect(),
        }
    }

    /// `replace_triggered_by`: the first reference whose object is updated
    /// or replaced (or whose referenced attribute changes), as Terraform
    /// decides it.
    fn triggered(
        &mut self,
        node: &Node,
        addr: &InstanceAddr,
        scope: &InstanceScope,
    ) -> Option<String> {
        let lc = node.body.block("lifecycle")?;
        let list = match lc.get("replace_triggered_by")? {
            rewind_model::Value::List(l) => l.clone(),
            other => vec![other.clone()],
        };
        for item in list {
            let Some(e) = item.as_expr() else { continue };
            let Expr::Traversal { root, ops, .. } = e else {
                self.errors.push(format!(
                    "{addr}: replace_triggered_by must hold references to resources, not {e}"
                ));
                continue;
            };
            let (type_, rest) = if root == "resource" {
                match ops.split_first() {
                    Some((TravOp::Attr(t), rest)) => (t.clone(), rest),
                    _ => continue,
                }
            } else {
                (root.clone(), &ops[..])
            };
            let Some((TravOp::Attr(name), rest)) = rest.split_first() else {
                continue;
            };
            let raddr = ResourceAddr {
                module: addr.resource.module.clone(),
                mode: Mode::Managed,
                type_,
                name: name.clone(),
            };
            let (key, rest) = match rest.split_first() {
                Some((TravOp::Index(k), rest)) => {
                    let mut ev = Evaluator::new(scope);
                    let key = match ev.eval(k) {
                        Ok(v) => match v.unmark().0 {
                            Value::Number(n) => n.to_i64().map(InstanceKey::Int),
                            Value::String(s) => Some(InstanceKey::Str(s.to_string())),
                            _ => None,
                        },
                        Err(err) => {
                            self.errors
                                .push(format!("{addr}: replace_triggered_by {e}: {err}"));
                            None
                        }
                    };
                    (key, rest)
                }
                Some((TravOp::LegacyIndex(n), rest)) => (Some(InstanceKey::Int(*n as i64)), rest),
                _ => (None, rest),
            };
            let matching: Vec<&Decision> = self
                .decisions
                .iter()
                .filter(|d| {
                    d.addr.resource == raddr && key.as_ref().is_none_or(|k| d.addr.key == *k)
                })
                .collect();
            let changed = |d: &Decision| matches!(d.kind, Kind::Update | Kind::Replace);
            if rest.is_empty() {
                if let Some(d) = matching.iter().find(|d| changed(d)) {
                    return Some(format!("{} is {}", d.addr, kind_word(d.kind)));
                }
                continue;
            }
            let Some(d) = matching.first() else { continue };
            if !changed(d) {
                continue;
            }
            let before = d
                .prior
                .map(|i| self.prior.managed[i].value.clone())
                .unwrap_or_else(Value::null);
            let after = d.planned.clone();
            let mut ev = Evaluator::new(scope);
            let b = ev.apply_ops(before, rest).ok();
            let a = ev.apply_ops(after, rest).ok();
            let differ = match (&b, &a) {
                (Some(b), Some(a)) => !b.unmark_deep().0.raw_eq(&a.unmark_deep().0),
                (None, None) => false,
                _ => true,
            };
            if differ {
                return Some(format!("{e} changes"));
            }
        }
        None
    }

    /// The value of the data source instance at `addr` (an instance of
    /// the node at `config_address`) read with `config`.
    fn data_value(
        &self,
        addr: &InstanceAddr,
        config_address: &str,
        config: &Value,
    ) -> InstanceValue {
        let unknown = InstanceValue {
            value: Value::unknown(),
            missing: Missing::Unknown,
        };
        if !config.is_wholly_known() {
            return unknown;
        }
        let Some(prior) = self.prior.data.get(addr) else {
            return unknown;
        };
        // the arguments it was read with: the same read gives the same
        // result
        // the walk made `addr` an instance of the node at `config`
        let current = self.current_configs.map(|c| c.of(addr, config_address));
        let cmp = resource::compare(
            self.knowledge,
            &addr.resource.type_,
            config,
            prior,
            &Ignore::default(),
            current.as_ref(),
        );
        if cmp.changed() {
            return unknown;
        }
        InstanceValue {
            value: prior.clone(),
            missing: if self.prior.from_state {
                Missing::Listed
            } else {
                Missing::Opaque(addr.to_string())
            },
        }
    }

    /// The decisions as changes (every decision but an instance left
    /// where and as it is).
    pub fn changes(&self, target: &Model) -> Vec<Change> {
        let mut out: Vec<Change> = self
            .decisions
            .iter()
            .filter(|d| d.kind != Kind::NoOp || d.moved_from.is_some() || d.imported.is_some())
            .map(|d| self.change(target, d))
            .collect();
        out.extend(self.reads.iter().map(|(addr, why)| read_change(addr, why)));
        out
    }

    /// One decision as a change: why it is made, each attribute's change
    /// and the values before and after.
    fn change(&self, target: &Model, d: &Decision) -> Change {
        let mut reasons = decision_reasons(d);
        let attributes = self.attribute_changes(target, d, &mut reasons);
        reasons.extend(d.notes.iter().cloned());
        Change {
            address: d.addr.clone(),
            type_: d.addr.resource.type_.clone(),
            actions: actions_of(d.kind, d.cbd),
            action_reason: d.reason,
            reasons,
            risks: Vec::new(),
            previous_address: d.moved_from.as_ref().map(|m| m.0.clone()),
            deposed: None,
            importing: d.imported.as_ref().map(|i| i.0.clone()),
            create_before_destroy: d.kind == Kind::Replace && d.cbd,
            attributes,
            values: Values {
                before: match (&d.prior, &d.imported) {
                    (Some(i), _) => Some(self.prior.managed[*i].value.clone()),
                    (None, Some(imported)) => Some(imported.1.clone()),
                    (None, None) => None,
                },
                after: Some(d.planned.clone()),
                replace_paths: replace_paths(d),
            },
        }
    }

    /// Each changed attribute of a decision, with secret values hidden; the
    /// line describing each is added to `reasons`.
    fn attribute_changes(
        &self,
        target: &Model,
        d: &Decision,
        reasons: &mut Vec<String>,
    ) -> Vec<AttributeChange> {
        // what the configuration knows to be secret (a state's
        // sensitive_attributes for the type, names, derived values)
        let config = target.node(&rewind_parse::sensitive::without_keys(&d.addr.to_string()));
        let mut attributes = Vec::new();
        for a in &d.comparison.diffs {
            let sensitive = self.is_sensitive(d, config, a);
            let before = rendered(&a.before, sensitive);
            let after = rendered(&a.after, sensitive);
            reasons.push(attribute_reason(
                a,
                sensitive,
                before.as_deref(),
                after.as_deref(),
            ));
            attributes.push(AttributeChange {
                path: a.path.to_string(),
                before,
                after,
                sensitive,
                forces_replacement: a.forces_replacement,
            });
        }
        attributes
    }

    /// Whether an attribute's values are to be hidden: secret in the prior
    /// object, known to be secret by the configuration (`config`, the
    /// decision's resource), or marked secret before or after.
    fn is_sensitive(&self, d: &Decision, config: Option<&Node>, a: &AttrDiff) -> bool {
        let sensitive_before = d.prior.is_some_and(|i| {
            let v = &self.prior.managed[i].value;
            value_at(v, &a.path).is_some_and(|x| x.has_marks())
        });
        sensitive_before
            || config.is_some_and(|n| crate::prior::config_secret_at(&n.sensitive, &a.path))
            || a.after.as_ref().is_some_and(Value::has_marks)
            || a.before.as_ref().is_some_and(Value::has_marks)
    }
}

/// The reasons a decision gives for itself, before its attributes: a move,
/// a creation, a tainted object, a forced create_before_destroy.
fn decision_reasons(d: &Decision) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(m) = &d.moved_from {
        let (from, why) = &**m;
        reasons.push(format!("moved from {from} ({why})"));
    }
    if let Some(i) = &d.imported {
        reasons.push(if i.0 == crate::walk::SECRET_ID {
            format!("imported from {} (import block)", i.0)
        } else {
            format!("imported from {:?} (import block)", i.0)
        });
    }
    match d.kind {
        Kind::Create => reasons.push(match &d.moved_from {
            Some(_) => "created at its new address".into(),
            None => "in the target configuration but not deployed now".into(),
        }),
        Kind::Replace if d.reason == Some("replace_because_tainted") => {
            reasons.push("the current object is tainted".into())
        }
        _ => {}
    }
    if let Some(by) = &d.cbd_forced_by {
        if d.kind == Kind::Replace {
            reasons.push(format!(
                "create_before_destroy is forced by {by}, which depends on it"
            ));
        }
    }
    reasons
}

/// An attribute value as shown in a change, or "(sensitive value)".
fn rendered(v: &Option<Value>, sensitive: bool) -> Option<String> {
    v.as_ref().map(|v| {
        if sensitive {
            "(sensitive value)".to_string()
        } else {
            shown(v)
        }
    })
}

/// The line describing one attribute's change: `~ path = before -> after`,
/// only that a secret value changed, and whether it forces replacement.
fn attribute_reason(
    a: &AttrDiff,
    sensitive: bool,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let forces = if a.forces_replacement {
        " (forces replacement)"
    } else {
        ""
    };
    if sensitive && a.before.is_some() && a.after.is_some() {
        format!("~ {} (sensitive value changed){forces}", a.path)
    } else if sensitive {
        format!(
            "~ {} = {} -> {}{forces}",
            a.path,
            before.unwrap_or("null"),
            after.unwrap_or("null")
        )
    } else {
        format!(
            "~ {} = {}{forces}",
            a.path,
            crate::show::difference(a.before.as_ref(), a.after.as_ref())
        )
    }
}

/// The paths whose change forces a replacement, for a replacement.
fn replace_paths(d: &Decision) -> Vec<rewind_model::Path> {
    match d.kind {
        Kind::Replace => d
            .comparison
            .replace_paths
            .iter()
            .map(|p| rewind_model::Path::parse(p))
            .collect(),
        _ => Vec::new(),
    }
}

/// The hash of an address in [`Decide`]'s index.
fn addr_hash(addr: &InstanceAddr) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(addr)
}

impl Decide<'_, '_> {
    /// The instances left as they are (not moved or imported either),
    /// with their values.
    pub fn unchanged(&self) -> Vec<Unchanged> {
        self.decisions
            .iter()
            .filter(|d| d.kind == Kind::NoOp && d.moved_from.is_none() && d.imported.is_none())
            .map(|d| Unchanged {
                address: d.addr.clone(),
                type_: d.addr.resource.type_.clone(),
                value: d.planned.clone(),
            })
            .collect()
    }
}

fn kind_word(k: Kind) -> &'static str {
    match k {
        Kind::NoOp => "unchanged",
        Kind::Create => "created",
        Kind::Update => "updated",
        Kind::Replace => "replaced",
    }
}

fn value_at<'v>(v: &'v Value, path: &rewind_model::Path) -> Option<&'v Value> {
    let mut cur = v;
    for s in &path.0 {
        cur = match s {
            rewind_model::PathStep::Key(k) => cur.get_attr(k)?,
            rewind_model::PathStep::Index(i) => cur.as_seq()?.get(*i)?,
        };
    }
    Some(cur)
}

impl Decide<'_, '_> {
    /// Notes (once) that what makes the provider of `type_` replace an
    /// object is not known, if it is not.
    fn note_coverage(&mut self, type_: &str) {
        let coverage = self.knowledge.coverage(type_);
        if let Some(note) = rewind_diff::knowledge::Replacement::NotKnown(coverage).note(type_) {
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
        }
    }

    /// The decision for a managed instance before comparing: a creation,
    /// with its prior object, move and create_before_destroy.
    fn new_decision(&self, addr: &InstanceAddr) -> Decision {
        let config_addr = addr.resource.config_address();
        let (cbd, cbd_forced_by) = match self.cbd.get(&config_addr) {
            Some(by) => (true, by.clone()),
            None => (false, None),
        };
        Decision {
            addr: addr.clone(),
            prior: self.prior_at(addr),
            moved_from: self.moved_from.get(addr).cloned().map(Box::new),
            kind: Kind::Create,
            reason: None,
            notes: Vec::new(),
            comparison: Comparison::default(),
            planned: Value::unknown(),
            cbd,
            cbd_forced_by,
            imported: None,
        }
    }

    /// How a value taken from a prior object is missing from what is known:
    /// listed in the state, or opaque without one.
    fn prior_missing(&self, p: &crate::prior::PriorInstance) -> Missing {
        if self.prior.from_state {
            Missing::Listed
        } else {
            Missing::Opaque(p.addr.to_string())
        }
    }

    /// Plans an instance that has a prior object (`pi`): compares its
    /// configuration with it (minus `ignore_changes`), decides the kind of
    /// change and plans the value after it.
    fn plan_existing(
        &mut self,
        d: &mut Decision,
        pi: usize,
        n: &Node,
        config: &Value,
        scope: &InstanceScope,
    ) -> InstanceValue {
        let p = &self.prior.managed[pi];
        let ignore = Self::lifecycle_ignore(n);
        // where the prior object was: the walked node's address unless it
        // moved
        let moved = (p.addr != d.addr).then(|| p.addr.resource.config_address());
        let config_address = moved.as_deref().unwrap_or(&n.address);
        let current = self.current_configs.map(|c| c.of(&p.addr, config_address));
        // a terraform_data's marks are compared (a value only marked is an
        // update): the deployed value carries the secret paths rewind adds
        // by its own rules (a key named like a secret), which Terraform's
        // evaluation does not mark; the configuration's value gets the
        // same, so the same value under such a key is no change
        let marked;
        let config = if n.type_ == "terraform_data" && !n.sensitive.is_empty() {
            marked = crate::prior::mark_paths(config.clone(), &n.sensitive);
            &marked
        } else {
            config
        };
        // ignore_changes = [input.f0]: that part keeps its prior value
        let ignored =
            resource::with_ignored(config, &p.value, &ignore, n.type_ != "terraform_data");
        d.comparison = resource::compare(
            self.knowledge,
            &n.type_,
            &ignored,
            &p.value,
            &ignore,
            current.as_ref(),
        );
        let missing = self.prior_missing(p);
        let prior_value = p.value.clone();
        let tainted = p.tainted;
        let trigger = self.triggered(n, &d.addr, scope);
        d.decide_kind(tainted, trigger);
        let (planned, missing) = match d.kind {
            Kind::Replace => (resource::created(&n.type_, config), Missing::Unknown),
            Kind::Update => (
                resource::updated(&n.type_, &ignored, &prior_value, &ignore),
                missing,
            ),
            _ => (prior_value, missing),
        };
        d.planned = planned;
        InstanceValue {
            value: d.planned.clone(),
            missing,
        }
    }
}

impl Decide<'_, '_> {
    /// Plans an instance that an `import` block of the target brings in
    /// (there is no prior object at its address): compared with the
    /// object the import reads, as Terraform plans it. `terraform_data`
    /// imports as its id alone (its other attributes null); another
    /// type's object is read from its provider, which rewind cannot do: it
    /// is taken to match the configuration (a note says so).
    fn plan_imported(&mut self, d: &mut Decision, n: &Node, config: &Value) -> InstanceValue {
        let id = self.imports.get(&d.addr).cloned().unwrap_or_default();
        let prior = if n.type_ == "terraform_data" {
            let mut m = rewind_eval::Map::new();
            m.insert("id".into(), Value::string(&id));
            for k in ["input", "output", "triggers_replace"] {
                m.insert(k.into(), Value::null());
            }
            Value::object(m)
        } else {
            let note = format!(
                "{}: the object the import block brings in is read from its provider, which rewind cannot do: it is taken to match the configuration",
                d.addr
            );
            if !self.notes.contains(&note) {
                self.notes.push(note);
            }
            resource::simulated(&n.type_, &d.addr.to_string(), config)
        };
        let ignore = Self::lifecycle_ignore(n);
        let ignored = resource::with_ignored(config, &prior, &ignore, n.type_ != "terraform_data");
        d.comparison = resource::compare(self.knowledge, &n.type_, &ignored, &prior, &ignore, None);
        d.decide_kind(false, None);
        let (planned, missing) = match d.kind {
            Kind::Replace => (resource::created(&n.type_, config), Missing::Unknown),
            Kind::Update => (
                resource::updated(&n.type_, &ignored, &prior, &ignore),
                Missing::Listed,
            ),
            _ => (prior.clone(), Missing::Listed),
        };
        d.planned = planned;
        d.imported = Some(Box::new((id, prior)));
        InstanceValue {
            value: d.planned.clone(),
            missing,
        }
    }
}

impl Decision {
    /// The kind of change for an instance with a prior object, and why it
    /// is replaced: a tainted object, a change that cannot be made in
    /// place, then `replace_triggered_by` (its reference as a note); else
    /// an update if anything changed.
    fn decide_kind(&mut self, tainted: bool, trigger: Option<String>) {
        if tainted {
            self.kind = Kind::Replace;
            self.reason = Some("replace_because_tainted");
        } else if self.comparison.replace() {
            self.kind = Kind::Replace;
            self.reason = Some("replace_because_cannot_update");
        } else if let Some(why) = trigger {
            self.kind = Kind::Replace;
            self.reason = Some("replace_by_triggers");
            self.notes.push(format!("replace_triggered_by: {why}"));
        } else if self.comparison.changed() {
            self.kind = Kind::Update;
        } else {
            self.kind = Kind::NoOp;
        }
    }
}

impl Planner for Decide<'_, '_> {
    fn instance(
        &mut self,
        walk: &Walk,
        node: usize,
        addr: &InstanceAddr,
        config: Result<Value, EvalError>,
        scope: &InstanceScope,
    ) -> InstanceValue {
        let n = walk.cfg.node(node);
        let config = match config {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(match walk.place(n, &e.path) {
                    Some(at) => format!("{addr} ({at}): {e}"),
                    None => format!("{addr}: {e}"),
                });
                return InstanceValue {
                    value: Value::unknown(),
                    missing: Missing::Unknown,
                };
            }
        };
        if n.kind == NodeKind::Data {
            if let Some(why) = self.read_during_apply(walk, n, scope.mid, config.is_wholly_known())
            {
                self.pending.add(addr);
                self.reads.push((addr.clone(), why));
                return InstanceValue {
                    value: Value::unknown(),
                    missing: Missing::Unknown,
                };
            }
            return self.data_value(addr, &n.address, &config);
        }
        self.note_coverage(&n.type_);
        let mut d = self.new_decision(addr);
        let result = match d.prior {
            None if self.imports.contains_key(addr) => self.plan_imported(&mut d, n, &config),
            None => {
                d.planned = resource::created(&n.type_, &config);
                InstanceValue {
                    value: d.planned.clone(),
                    missing: Missing::Unknown,
                }
            }
            Some(pi) => self.plan_existing(&mut d, pi, n, &config, scope),
        };
        let at = u32::try_from(self.decisions.len()).expect("fewer than 2^32 decisions");
        let decisions = &self.decisions;
        match self.index.entry(
            addr_hash(addr),
            |&i| decisions[i as usize].addr == *addr,
            |&i| addr_hash(&decisions[i as usize].addr),
        ) {
            // an address decided again: the newer decision is the one found
            hashbrown::hash_table::Entry::Occupied(mut e) => *e.get_mut() = at,
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(at);
            }
        }
        self.note_pending(d.kind, &d.addr);
        self.decisions.push(d);
        result
    }

    fn unknown_instances(&mut self, _walk: &Walk, _node: usize, r: &ResourceAddr, why: &str) {
        self.unknown.push((r.clone(), why.to_string()));
    }

    fn import(&mut self, addr: InstanceAddr, id: String) {
        self.imports.insert(addr, id);
    }
}

/// A data source read during apply, as a change.
fn read_change(addr: &InstanceAddr, why: &'static str) -> Change {
    let reason = if why == reads::CONFIG_UNKNOWN {
        "read during apply: its configuration is known only after apply"
    } else {
        "read during apply: it depends on a resource or a module with changes pending"
    };
    Change {
        address: addr.clone(),
        type_: addr.resource.type_.clone(),
        actions: vec![Action::Read],
        action_reason: Some(why),
        reasons: vec![reason.to_string()],
        risks: Vec::new(),
        previous_address: None,
        deposed: None,
        importing: None,
        create_before_destroy: false,
        attributes: Vec::new(),
        values: Values {
            before: None,
            after: Some(Value::unknown()),
            replace_paths: Vec::new(),
        },
    }
}
