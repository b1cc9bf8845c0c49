//! Revert plans that agree with Terraform.
//!
//! From the current deployment (a snapshot's configuration and, when it has
//! one, its state) to a target configuration, the plan evaluates both
//! configurations as Terraform does (values, not text: [`rewind_eval`]) and
//! decides, for every resource instance, what Terraform would do: the prior
//! value (from state, or simulated from the current configuration) against
//! the planned value of the target configuration. The single operations are
//! then ordered to satisfy Terraform's apply graph (see DESIGN.md, "How
//! Terraform orders a plan") and grouped into waves.
//!
//! The phases, each in its own function of [`plan`]: the configurations
//! (`config`), what is deployed (`prior`), the moves (`moves`), the
//! target walk that decides each instance (`decide`), the objects the
//! target no longer has, the risks, and the order (`order`).

mod cbd;
mod config;
mod decide;
mod moves;
mod order;
mod outputs;
mod prior;
mod refs;
mod resource;
mod show;
mod validate;

/// The `importing` id of an import whose id is secret: the id itself is
/// never kept in a plan.
pub const SECRET_IMPORT_ID: &str = walk::SECRET_ID;
mod walk;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rewind_diff::knowledge;
use rewind_model::graph::resource_dependencies;
use rewind_model::{DeposedKey, InstanceAddr, InstanceKey, Model, NodeKind, Value as Lit};

pub use order::Step;
pub use walk::Inputs;

use cbd::cbd_of;
use config::Config;
use decide::{Decide, Kind};
use prior::Prior;

/// One of Terraform's actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    NoOp,
    Create,
    Update,
    Delete,
    Forget,
    /// A data source read during apply (`<= read`), not during plan.
    Read,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Forget => "forget",
            Action::Read => "read",
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
    /// The object still exists outside Terraform (a `removed` block with
    /// `destroy = false` forgot it): creating it again duplicates it.
    Forgotten,
    /// Something rewind does not evaluate exactly (a function, a provider
    /// resource type it has no knowledge of).
    Approximation,
    /// A `check` block's assertion is false in the target (Terraform
    /// warns and plans on).
    CheckFailed,
}

impl RiskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskKind::DataLoss => "data_loss",
            RiskKind::DestroyProtected => "prevent_destroy",
            RiskKind::UnresolvedModule => "unresolved_module",
            RiskKind::Forget => "forget",
            RiskKind::UnknownInstances => "unknown_instances",
            RiskKind::Forgotten => "forgotten_object",
            RiskKind::Approximation => "approximation",
            RiskKind::CheckFailed => "check_failed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Risk {
    pub kind: RiskKind,
    pub message: String,
}

/// One changed argument of a change, as `terraform plan` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeChange {
    /// `input`, `tags["Name"]`, `ingress[0].cidr_blocks`.
    pub path: String,
    /// The value before (`None`: not set), rendered; sensitive values are
    /// `(sensitive value)`.
    pub before: Option<String>,
    /// The value after, rendered; `(known after apply)` when unknown.
    pub after: Option<String>,
    pub sensitive: bool,
    pub forces_replacement: bool,
}

/// The values of a change as Terraform's plan holds them: evaluated, with
/// unknown parts (known only after apply) and sensitive marks, and
/// unredacted (renderers redact; see [`rewind_eval::Value::has_marks`]).
#[derive(Clone, Debug, Default)]
pub struct Values {
    /// The prior value of the object (`None`: there is none, a create).
    pub before: Option<rewind_eval::Value>,
    /// The planned value (`None`: no object after, a delete or forget).
    pub after: Option<rewind_eval::Value>,
    /// For a replace, the attributes whose change forces it (empty
    /// otherwise, and when nothing but a taint or `replace_triggered_by`
    /// does).
    pub replace_paths: Vec<rewind_model::Path>,
}

/// A deployed instance the plan leaves as it is (Terraform's `no-op`),
/// with its value: what `terraform show -json` lists besides the changes.
#[derive(Clone, Debug)]
pub struct Unchanged {
    pub address: InstanceAddr,
    /// The resource type.
    pub type_: String,
    /// Its value (prior and planned are the same).
    pub value: rewind_eval::Value,
}

/// The change of one output of the root module, as Terraform plans it.
#[derive(Clone, Debug)]
pub struct OutputChange {
    pub name: String,
    /// `NoOp`, `Create`, `Update` or `Delete`.
    pub action: Action,
    /// The value the state records (`None`: the state has no such output).
    pub before: Option<rewind_eval::Value>,
    /// The value the target gives it, unknown parts included (`None`: the
    /// target has no such output).
    pub after: Option<rewind_eval::Value>,
}

/// The planned change of one resource instance.
#[derive(Clone, Debug)]
pub struct Change {
    pub address: InstanceAddr,
    /// The resource type (empty for module-level entries).
    pub type_: String,
    pub actions: Vec<Action>,
    /// Terraform's `action_reason`, where it gives one.
    pub action_reason: Option<&'static str>,
    pub reasons: Vec<String>,
    pub risks: Vec<Risk>,
    /// Set when a `moved` block (or an implied move) renamed the instance.
    pub previous_address: Option<InstanceAddr>,
    /// The deposed key, for a deposed object being deleted.
    pub deposed: Option<DeposedKey>,
    /// Set when an `import` block of the target brings an existing object
    /// under management at this address (Terraform's `importing`): the
    /// import id. The change is then planned against the imported object,
    /// not as a create.
    pub importing: Option<String>,
    /// For a replace: create the new object before deleting the old one.
    pub create_before_destroy: bool,
    /// The arguments that change, before and after.
    pub attributes: Vec<AttributeChange>,
    /// The whole values before and after.
    pub values: Values,
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
    /// Deployed instances left as they are, with their values (by
    /// address).
    pub unchanged: Vec<Unchanged>,
    /// The root module's outputs, by name; empty when the current side
    /// has no state (nothing records its outputs).
    pub outputs: Vec<OutputChange>,
    /// Deletes and replaces Terraform refuses: the target configuration
    /// sets `prevent_destroy` on the object.
    pub blocked: Vec<InstanceAddr>,
    /// Resources and module calls whose instances depend on values known
    /// only after apply: Terraform refuses to plan them (their deployed
    /// instances are left as they are here).
    pub unknown_instances: Vec<String>,
    /// Plan-wide notes (unresolved modules, unknown instance counts,
    /// approximations).
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
            .all(|c| c.is_noop() && c.previous_address.is_none() && c.importing.is_none())
    }
}

/// A plan that cannot be made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("the revert cannot be ordered: its operations form a cycle ({}). Terraform refuses such a plan too (Error: Cycle); apply it in two steps, for example by first removing create_before_destroy or reverting the dependents", .0.join(" → "))]
    Cycle(Vec<String>),
    #[error("the configuration has a dependency cycle: {}", .0.join(" → "))]
    ConfigCycle(Vec<String>),
    #[error("the target configuration cannot be planned:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
    #[error("the current configuration cannot be evaluated:\n  {}", .0.join("\n  "))]
    Current(Vec<String>),
    /// Work that would exceed a limit rewind sets (rather than run out of
    /// time or memory).
    #[error("{0}")]
    TooLarge(String),
}

/// The files a side's configuration reads (`file()`, `templatefile()`...).
#[derive(Clone)]
pub struct FileSource(pub std::sync::Arc<dyn rewind_eval::Files + Send + Sync>);

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileSource")
    }
}

/// Options of a plan.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub allow_destroy_protected: bool,
    /// Variables and workspace of the current side (besides its
    /// automatically loaded variable files).
    pub current_inputs: Inputs,
    /// Variables and workspace of the target side.
    pub target_inputs: Inputs,
    /// Files of the current side; without them, file functions give
    /// unknown values (with a note).
    pub current_files: Option<FileSource>,
    /// Files of the target side.
    pub target_files: Option<FileSource>,
    /// The target's `.terraform.lock.hcl`: its provider versions choose
    /// the provider tables (without it, the newest of each provider).
    pub target_lock_file: Option<String>,
}

impl Options {
    fn files(side: &Option<FileSource>) -> Option<&dyn rewind_eval::Files> {
        side.as_ref().map(|f| &*f.0 as &dyn rewind_eval::Files)
    }
}

/// Values of root variables as Terraform ranks them, lowest first:
/// `TF_VAR_name` values, the variable files Terraform loads by itself
/// (`terraform.tfvars`, `terraform.tfvars.json`, `*.auto.tfvars`,
/// `*.auto.tfvars.json`), then `-var-file` and `-var` in command-line
/// order (the last two as the model's input nodes hold them, see
/// `rewind_parse::inputs`); all under what `given` sets.
pub(crate) fn root_inputs(model: &Model, given: &Inputs) -> Inputs {
    let root_dir = model
        .nodes
        .iter()
        .find(|n| n.module.is_empty() && n.kind != NodeKind::Tfvars && !n.loc.file.is_empty())
        .map(|n| match n.loc.file.rfind('/') {
            Some(i) => n.loc.file[..i].to_string(),
            None => String::new(),
        })
        .unwrap_or_default();
    let mut files: Vec<(u8, &str, &rewind_model::Node)> = Vec::new();
    for n in model.nodes.iter().filter(|n| n.kind == NodeKind::Tfvars) {
        let (dir, name) = match n.type_.rfind('/') {
            Some(i) => (&n.type_[..i], &n.type_[i + 1..]),
            None => ("", n.type_.as_str()),
        };
        // values given beside the directory (rewind_parse::inputs):
        // `TF_VAR_` below every file, `-var-file` and `-var` above
        let rank = match (n.facts.more.input, name) {
            (Some(rewind_model::InputKind::Env), _) => 0,
            (Some(rewind_model::InputKind::Cli), _) => 4,
            _ if dir != root_dir => continue,
            (None, "terraform.tfvars") => 1,
            (None, "terraform.tfvars.json") => 2,
            (None, _) if name.ends_with(".auto.tfvars") || name.ends_with(".auto.tfvars.json") => 3,
            _ => continue,
        };
        files.push((rank, name, n));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    let mut out = given.clone();
    for (_, name, n) in files {
        for (k, v) in n.body.as_map().into_iter().flatten() {
            if given.variables.contains_key(k) {
                continue;
            }
            let mut ev = rewind_eval::Evaluator::new(&rewind_eval::EmptyScope);
            let from = match n.facts.more.sources.as_ref().and_then(|s| s.get(k)) {
                Some(rewind_model::Value::String(s)) => s.as_str(),
                _ => name,
            };
            if let Ok(v) = walk::lit_value(v, &mut ev) {
                out.variables.insert(k.clone(), (v, from.to_string()));
            }
        }
    }
    out
}

/// Resource dependencies of a configuration (through variables, locals,
/// outputs and modules): by configuration address, each resource's
/// dependencies sorted, without duplicates.
pub(crate) type ConfigDeps<'m> = HashMap<&'m str, Box<[&'m str]>>;

/// The [`ConfigDeps`] of `model`, borrowing its addresses (copies of them
/// in sets of strings were 45 MB at 100,000 resources).
fn config_deps(model: &Model) -> ConfigDeps<'_> {
    resource_dependencies(model)
        .into_iter()
        .map(|(i, ds)| {
            let mut deps: Vec<&str> = ds
                .iter()
                .map(|d| model.nodes[*d].address.as_str())
                .collect();
            deps.sort_unstable();
            deps.dedup();
            (model.nodes[i].address.as_str(), deps.into_boxed_slice())
        })
        .collect()
}

/// The most entries the transitive dependencies of a configuration without
/// state may have in all: a chain of n resources has n²/2 (15,000 in a
/// chain would be 112 million, gigabytes of memory).
pub(crate) const MAX_TRANSITIVE_DEPENDENCIES: usize = 5_000_000;

/// The transitive closure of resource dependencies: what Terraform records
/// in state as each instance's `dependencies`, or an error past
/// [`MAX_TRANSITIVE_DEPENDENCIES`]. Computed once per
/// configuration address over numbered addresses (closures are sorted
/// lists of numbers merged bottom-up, in an iterative depth-first order),
/// and shared by every instance of the resource: the closure of a deep
/// module tree has thousands of members, and copying them as strings per
/// resource was quadratic (minutes on real configurations).
fn transitive(direct: &ConfigDeps) -> Result<HashMap<String, prior::Deps>, PlanError> {
    let (names, edges) = numbered(direct);
    let closure = close(&edges)?;
    Ok(named_closures(direct, &names, &closure))
}

/// A resource's dependency closure, as sorted address numbers.
type Closure = std::sync::Arc<[u32]>;

/// Every address numbered, in a stable (sorted) order (the names), and the
/// direct dependencies of each by number (the edges).
fn numbered<'m>(direct: &ConfigDeps<'m>) -> (Vec<&'m str>, Vec<Vec<u32>>) {
    let mut names: Vec<&str> = direct
        .iter()
        .flat_map(|(k, ds)| std::iter::once(*k).chain(ds.iter().copied()))
        .collect();
    names.sort_unstable();
    names.dedup();
    let number = |s: &str| names.binary_search(&s).expect("every address is numbered") as u32;
    let mut edges: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
    for (k, ds) in direct {
        edges[number(k) as usize] = ds.iter().map(|d| number(d)).collect();
    }
    (names, edges)
}

/// The closure of every numbered address, dependencies first in an
/// iterative depth-first order, or an error past
/// [`MAX_TRANSITIVE_DEPENDENCIES`] in all.
fn close(edges: &[Vec<u32>]) -> Result<Vec<Option<Closure>>, PlanError> {
    let mut total = 0usize;
    let mut closure: Vec<Option<Closure>> = vec![None; edges.len()];
    let mut on_stack = vec![false; edges.len()];
    let mut stamp = vec![u32::MAX; edges.len()];
    let mut same_edges: HashMap<&[u32], Closure> = HashMap::new();
    let mut stack: Vec<(u32, bool)> = Vec::new();
    for start in 0..edges.len() as u32 {
        if closure[start as usize].is_some() {
            continue;
        }
        stack.push((start, false));
        while let Some((n, expanded)) = stack.pop() {
            let ni = n as usize;
            if closure[ni].is_some() {
                continue;
            }
            if !expanded {
                on_stack[ni] = true;
                stack.push((n, true));
                for &d in &edges[ni] {
                    if closure[d as usize].is_none() && !on_stack[d as usize] {
                        stack.push((d, false));
                    }
                }
                continue;
            }
            // the same direct dependencies as a resource closed before (the
            // resources of a module instance often have): the same closure
            if let Some(c) = same_edges.get(edges[ni].as_slice()) {
                on_stack[ni] = false;
                closure[ni] = Some(c.clone());
                continue;
            }
            let all = merged(n, &edges[ni], &closure, &mut stamp);
            total += all.len();
            if total > MAX_TRANSITIVE_DEPENDENCIES {
                return Err(too_many_dependencies());
            }
            let all: Closure = all.into();
            if edges[ni].iter().all(|&d| closure[d as usize].is_some()) {
                same_edges.insert(edges[ni].as_slice(), all.clone());
            }
            on_stack[ni] = false;
            closure[ni] = Some(all);
        }
    }
    Ok(closure)
}

/// The closure of `n` from its direct dependencies and theirs, sorted.
/// A dependency still on the stack is part of a cycle: it counts, its own
/// dependencies are not known yet. Members are collected once each
/// (stamped with `n`), and only the union is sorted, not the overlapping
/// lists.
fn merged(n: u32, edges: &[u32], closure: &[Option<Closure>], stamp: &mut [u32]) -> Vec<u32> {
    let mut all: Vec<u32> = Vec::new();
    let mut add = |x: u32, all: &mut Vec<u32>| {
        if x != n && stamp[x as usize] != n {
            stamp[x as usize] = n;
            all.push(x);
        }
    };
    for &d in edges {
        add(d, &mut all);
        if let Some(c) = &closure[d as usize] {
            for &x in c.iter() {
                add(x, &mut all);
            }
        }
    }
    all.sort_unstable();
    all
}

/// The error for a configuration past [`MAX_TRANSITIVE_DEPENDENCIES`].
fn too_many_dependencies() -> PlanError {
    PlanError::TooLarge(format!(
        "the current configuration's resources have more than {MAX_TRANSITIVE_DEPENDENCIES} dependencies in all, counting each resource's indirect ones as Terraform records them in state (a chain of {} resources has that many): too many to simulate its state; plan from a snapshot with a state file, or split the configuration",
        ((2 * MAX_TRANSITIVE_DEPENDENCIES) as f64).sqrt() as u64
    ))
}

/// Each resource's closure as addresses. Resources of a module instance
/// often depend on the same things: equal closures are made into names
/// once, and shared.
fn named_closures(
    direct: &ConfigDeps,
    names: &[&str],
    closure: &[Option<Closure>],
) -> HashMap<String, prior::Deps> {
    let number = |s: &str| names.binary_search(&s).expect("every address is numbered") as u32;
    let shared: Vec<std::sync::Arc<str>> = names.iter().map(|&n| n.into()).collect();
    let mut named: HashMap<Closure, prior::Deps> = HashMap::new();
    direct
        .keys()
        .map(|k| {
            let c = closure[number(k) as usize]
                .clone()
                .unwrap_or_else(|| [].into());
            let deps = named
                .entry(c)
                .or_insert_with_key(|c| c.iter().map(|&i| shared[i as usize].clone()).collect())
                .clone();
            (k.to_string(), deps)
        })
        .collect()
}

/// Every resource `from` depends on, directly or not (marking each once).
pub(crate) fn all_dependencies(
    direct: &ConfigDeps,
    from: &str,
    seen: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut queue: Vec<&str> = direct.get(from).into_iter().flatten().copied().collect();
    while let Some(x) = queue.pop() {
        if !seen.insert(x.to_string()) {
            continue;
        }
        out.push(x.to_string());
        queue.extend(direct.get(x).into_iter().flatten().copied());
    }
    out
}

/// Plans going from `current` to `target`.
///
/// The phases, in order, each a function of this module: what is deployed
/// (`current_instances`), where it moves (`moves_of`), the target's
/// `create_before_destroy` (`cbd_of`), the target walked instance by
/// instance with `count`/`for_each` expanded and each instance's action
/// decided (`expansion`), the actions (each decision's change, and the
/// objects the target no longer has: `orphans`), the risks
/// (`assess_risks`), and the single
/// operations ordered by Terraform's rules (`ordering`).
pub fn plan(current: &Model, target: &Model, opts: &Options) -> Result<Plan, PlanError> {
    let trace = rewind_parse::load::Trace::new();
    // two threads where the phases do not depend on each other: the
    // target's index and dependencies beside the current side's index and
    // what is deployed
    let (cur_cfg, prior, tgt) = std::thread::scope(|s| {
        let tgt = s.spawn(|| {
            validate::check(target)?;
            let cfg = Config::new(target)?;
            let deps = config_deps(target);
            let cbd = cbd_of(target, &deps);
            let inputs = root_inputs(target, &opts.target_inputs);
            Ok((cfg, deps, cbd, inputs, provider_knowledge(opts)))
        });
        let cur_cfg = Config::new(current);
        let prior = match &cur_cfg {
            Ok(cfg) => current_instances(current, cfg, opts),
            Err(e) => Err(e.clone()),
        };
        (cur_cfg, prior, joined(tgt))
    });
    // the errors in the order the phases had one after the other
    let cur_cfg = cur_cfg?;
    let (tgt_cfg, tgt_deps, cbd, tgt_inputs, knowledge) = tgt?;
    let prior = prior?;
    let knowledge = knowledge?;
    trace.mark("plan: configurations, current instances");

    // with a state, the current configuration is walked over the deployed
    // values on a second thread while this one walks the target: the
    // target's decisions read its arguments instance by instance, each
    // once the other walk has passed it (`prior::CurrentArgs`)
    let current_args = prior.from_state.then(|| prior::CurrentArgs::new(&cur_cfg));
    let (moved, move_errors, walk, decide) = std::thread::scope(|s| {
        if let Some(args) = &current_args {
            let (cur_cfg, prior) = (&cur_cfg, &prior);
            s.spawn(move || {
                let trace = rewind_parse::load::Trace::new();
                current_configurations(current, cur_cfg, prior, opts, args);
                trace.mark("plan: current configuration (beside moves and target walk)");
            });
        }
        let (moved, move_errors) = moves_of(target, &prior);
        trace.mark("plan: moves");
        let mut decide = Decide::new(&prior, &moved, &cbd, &knowledge);
        decide.pending.wanted = decide::waits_for_changes(target);
        decide.current_configs = current_args.as_ref();
        let walk = expansion(&tgt_cfg, &tgt_inputs, opts, &mut decide);
        // the current configuration's arguments are read by the walk only
        (moved, move_errors, walk, decide.walked())
    });
    // the current configuration is not read again
    drop(current_args);
    drop(cur_cfg);
    target_errors(&move_errors, &walk, &decide)?;
    trace.mark("plan: target walk");

    let mut changes = actions(target, &prior, &moved, &decide, &walk);
    trace.mark("plan: changes");
    let (assessed, unchanged, outputs, steps) = std::thread::scope(|s| {
        // the unchanged instances (most of them) on a second thread, the
        // changes and the order on this one
        let unchanged = s.spawn(|| {
            let mut unchanged = decide.unchanged();
            unchanged.sort_by_cached_key(|u| u.address.to_string());
            mark_unchanged_secrets(current, target, &mut unchanged);
            unchanged
        });
        let assessed = assess_risks(
            current,
            target,
            &knowledge,
            &walk,
            &decide,
            &mut changes,
            opts,
        );
        mark_change_secrets(current, target, &mut changes);
        let outputs = outputs::changes(current, &walk);
        // the walk's values are not read again: freed before the order
        // (the last phase, where the memory peaks)
        drop(walk);
        trace.mark("plan: risks");
        let steps = ordering(&changes, &prior, &moved, &decide, &tgt_deps);
        (assessed, joined(unchanged), outputs, steps)
    });
    drop(tgt_cfg);
    let steps = steps?;
    trace.mark("plan: order, unchanged instances");
    Ok(Plan {
        changes,
        steps,
        unchanged,
        outputs,
        blocked: assessed.blocked,
        unknown_instances: assessed.unknown_instances,
        notes: assessed.notes,
        from_state: prior.from_state,
    })
}

/// The result of a scoped thread; its panic goes on in the caller.
fn joined<T>(h: std::thread::ScopedJoinHandle<'_, T>) -> T {
    match h.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Where each deployed instance moves: `moved` blocks, and the moves a
/// change of `count` implies. Instances that do not move are absent.
type Moves = BTreeMap<InstanceAddr, (InstanceAddr, String)>;

/// Phase 1, what is deployed: the state's instances, or without a state
/// what Terraform would have recorded from the current configuration
/// (the current configuration's dependencies are only needed then).
fn current_instances(
    current: &Model,
    cur_cfg: &Config,
    opts: &Options,
) -> Result<Prior, PlanError> {
    if current.state.is_some() {
        return prior::from_state(current);
    }
    let cur_deps = &config_deps(current);
    let inputs = root_inputs(current, &opts.current_inputs);
    let cbd = cbd::RecordedCbd::of(current, cur_deps);
    // what Terraform would have recorded in state: every resource each
    // depended on, transitively
    prior::simulate(
        cur_cfg,
        &inputs,
        Options::files(&opts.current_files),
        &transitive(cur_deps)?,
        cbd,
    )
}

/// Phase 2, the moves: the target's `moved` statements applied to the
/// deployed instances, then the moves implied by a change of `count`.
/// Returns the moves and the statements' errors.
fn moves_of(target: &Model, prior: &Prior) -> (Moves, Vec<moves::MoveError>) {
    let (statements, move_errors) = moves::statements(target);
    let addrs: Vec<&InstanceAddr> = prior
        .managed
        .iter()
        .filter(|p| p.deposed.is_none())
        .map(|p| &p.addr)
        .collect();
    let mut moved = moves::apply_all(&statements, &addrs);
    let deployed: rustc_hash::FxHashSet<&InstanceAddr> = addrs.iter().copied().collect();
    for &a in &addrs {
        if moved.contains_key(a) {
            continue;
        }
        if let Some(to) = moves::implied(target, a, &deployed) {
            if !moved.values().any(|(t, _)| *t == to) {
                moved.insert(a.clone(), (to, "implied by a change of count".to_string()));
            }
        }
    }
    (moved, move_errors)
}

/// The provider tables that decide replace-or-update: those of the
/// target's lock file, or the newest rewind knows.
fn provider_knowledge(opts: &Options) -> Result<knowledge::Knowledge, PlanError> {
    match &opts.target_lock_file {
        Some(text) => knowledge::Knowledge::from_lock_file(text)
            .map_err(|e| PlanError::Invalid(vec![format!(".terraform.lock.hcl: {e}")])),
        None => Ok(knowledge::Knowledge::newest()),
    }
}

/// What the current configuration gives each deployed instance, into
/// `args` (only with a state: without one, the prior values are that
/// already).
fn current_configurations(
    current: &Model,
    cur_cfg: &Config,
    prior: &Prior,
    opts: &Options,
    args: &prior::CurrentArgs,
) {
    let inputs = root_inputs(current, &opts.current_inputs);
    prior::current_configs(
        cur_cfg,
        &inputs,
        Options::files(&opts.current_files),
        prior,
        args,
    );
}

/// Phase 4, expansion: the target configuration walked module instance by
/// module instance, `count` and `for_each` expanded, each resource
/// instance evaluated and its action decided by `decide`.
fn expansion<'c>(
    tgt_cfg: &'c Config,
    tgt_inputs: &'c Inputs,
    opts: &'c Options,
    decide: &mut Decide,
) -> walk::Walk<'c> {
    let mut walk = walk::Walk::new(tgt_cfg, tgt_inputs, Options::files(&opts.target_files));
    walk.is_target = true;
    walk.run(decide);
    walk
}

/// The errors of the moves, the walk and the decisions, sorted, as one
/// [`PlanError::Invalid`]: Terraform plans nothing when there is one.
fn target_errors(
    move_errors: &[moves::MoveError],
    walk: &walk::Walk,
    decide: &Decide,
) -> Result<(), PlanError> {
    let mut errors: Vec<String> = move_errors
        .iter()
        .map(|e| format!("{}: {}", e.address, e.message))
        .collect();
    errors.extend(walk.errors.iter().map(|e| match &e.at {
        Some(at) => format!("{} ({at}): {}", e.address, e.message),
        None => format!("{}: {}", e.address, e.message),
    }));
    errors.extend(decide.errors.iter().cloned());
    if errors.is_empty() {
        return Ok(());
    }
    errors.sort();
    errors.dedup();
    Err(PlanError::Invalid(errors))
}

/// What [`assess_risks`] finds beside the changes' own risks.
struct Assessed {
    notes: Vec<Risk>,
    blocked: Vec<InstanceAddr>,
    unknown_instances: Vec<String>,
}

/// Phase 6, the risks: instances whose number is unknown, the provider
/// tables used, what was approximated, and each change's risks
/// ([`risks`]: data loss, `prevent_destroy`, forgotten objects).
fn assess_risks(
    current: &Model,
    target: &Model,
    knowledge: &knowledge::Knowledge,
    walk: &walk::Walk,
    decide: &Decide,
    changes: &mut [Change],
    opts: &Options,
) -> Assessed {
    let mut notes: Vec<Risk> = Vec::new();
    let mut blocked: Vec<InstanceAddr> = Vec::new();
    let mut unknown_instances: Vec<String> = Vec::new();
    let unknown = walk
        .unknown_modules
        .iter()
        .map(|(m, why)| (m.clone(), why))
        .chain(decide.unknown.iter().map(|(r, why)| (r.to_string(), why)));
    for (what, why) in unknown {
        notes.push(Risk {
            kind: RiskKind::UnknownInstances,
            message: format!("instances of {what}: {why}; Terraform refuses to plan this (Invalid count/for_each argument)"),
        });
        unknown_instances.push(what);
    }
    // a target whose required_version no Terraform 1.11 satisfies:
    // planned as 1.11 plans, which the Terraform it asks for may not
    for d in &target.diagnostics {
        if d.severity == rewind_model::Severity::Warning
            && d.message.starts_with("Unsupported Terraform Core version")
        {
            notes.push(Risk {
                kind: RiskKind::Approximation,
                message: format!("{} (the target configuration, {})", d.message, d.loc),
            });
        }
    }
    // which provider tables decided replace-or-update, for the providers
    // the target uses
    let used: BTreeSet<&str> = target
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Resource && n.type_ != "terraform_data")
        .map(|n| knowledge::provider_of(&n.type_))
        .collect();
    for choice in knowledge.choices() {
        if used.contains(choice.provider) {
            notes.push(Risk {
                kind: RiskKind::Approximation,
                message: format!("provider table: {choice}"),
            });
        }
    }
    for w in &walk.warnings {
        notes.push(Risk {
            kind: RiskKind::CheckFailed,
            message: w.clone(),
        });
    }
    let eval_notes = walk.eval_notes.borrow();
    for n in walk
        .notes
        .iter()
        .chain(eval_notes.iter())
        .chain(decide.notes.iter())
    {
        let r = Risk {
            kind: RiskKind::Approximation,
            message: n.clone(),
        };
        if !notes.contains(&r) {
            notes.push(r);
        }
    }
    risks(current, target, changes, &mut blocked, &mut notes, opts);
    blocked.sort_by_cached_key(|a| a.to_string());
    blocked.dedup();
    unknown_instances.sort();
    unknown_instances.dedup();
    Assessed {
        notes,
        blocked,
        unknown_instances,
    }
}

/// Phase 7, the order: the single operations of `changes` ordered by
/// Terraform's rules (the target's dependencies for creates and updates,
/// the state's for deletes) and grouped into waves.
fn ordering(
    changes: &[Change],
    prior: &Prior,
    moved: &Moves,
    decide: &Decide,
    tgt_deps: &ConfigDeps,
) -> Result<Vec<Step>, PlanError> {
    // `order` looks the deployed objects, their recorded dependencies and
    // the target configuration addresses up by the addresses of the
    // changes (and the deployed objects' addresses before the moves):
    // only those are made into strings, in the order of the full lists
    // (the last of equal keys wins, as when every instance was listed)
    let changed: rustc_hash::FxHashSet<&InstanceAddr> =
        changes.iter().map(|c| &c.address).collect();
    let mut originals: rustc_hash::FxHashSet<&InstanceAddr> = changed.clone();
    let cur_insts: Vec<order::CurrentInstance> = prior
        .managed
        .iter()
        .filter_map(|p| {
            let to = moved
                .get(&p.addr)
                .filter(|_| p.deposed.is_none())
                .map(|(t, _)| t)
                .unwrap_or(&p.addr);
            if !changed.contains(to) {
                return None;
            }
            originals.insert(&p.addr);
            Some(order::CurrentInstance {
                addr: to.to_string(),
                original: p.addr.to_string(),
                config: p.addr.resource.config_address(),
                deposed: p.deposed.clone(),
            })
        })
        .collect();
    let cur_state_deps: HashMap<String, prior::Deps> = prior
        .managed
        .iter()
        .filter(|p| originals.contains(&p.addr))
        .map(|p| (p.addr.to_string(), p.deps.clone()))
        .collect();
    let tgt_configs: HashMap<String, String> = decide
        .decisions
        .iter()
        .filter(|d| changed.contains(&d.addr))
        .map(|d| (d.addr.to_string(), d.addr.resource.config_address()))
        .collect();
    order::order(changes, &tgt_configs, tgt_deps, &cur_insts, &cur_state_deps)
}

/// The paths where either configuration knows the values of the instance
/// at `addr` (at `previous` before a move) to be secret (a state's
/// `sensitive_attributes` for the type, attribute names, values derived
/// from secrets: `Node::sensitive`).
fn secret_paths(
    current: &Model,
    target: &Model,
    addr: &InstanceAddr,
    previous: Option<&InstanceAddr>,
) -> Vec<rewind_model::Path> {
    let config = addr.resource.config_address();
    let before = previous.map_or_else(|| config.clone(), |p| p.resource.config_address());
    let mut out: Vec<rewind_model::Path> = Vec::new();
    for n in [
        target.node(&config),
        current.node(&before),
        current.node(&config),
    ]
    .into_iter()
    .flatten()
    {
        out.extend(n.sensitive.iter().cloned());
    }
    out
}

/// Marks the values of the changes at their [`secret_paths`], besides
/// what the evaluation and the state marked: the values then carry every
/// mark a renderer must honour.
fn mark_change_secrets(current: &Model, target: &Model, changes: &mut [Change]) {
    let mark = |v: &mut Option<rewind_eval::Value>, paths: &[rewind_model::Path]| {
        if let Some(x) = v.take() {
            *v = Some(prior::mark_paths(x, paths));
        }
    };
    for c in changes.iter_mut() {
        let p = secret_paths(current, target, &c.address, c.previous_address.as_ref());
        if !p.is_empty() {
            mark(&mut c.values.before, &p);
            mark(&mut c.values.after, &p);
        }
    }
}

/// Marks the values of the unchanged instances at their
/// [`secret_paths`], as [`mark_change_secrets`] those of the changes.
fn mark_unchanged_secrets(current: &Model, target: &Model, unchanged: &mut [Unchanged]) {
    for u in unchanged.iter_mut() {
        let p = secret_paths(current, target, &u.address, None);
        if !p.is_empty() {
            u.value = prior::mark_paths(
                std::mem::replace(&mut u.value, rewind_eval::Value::null()),
                &p,
            );
        }
    }
}

/// Phase 5, the actions the target's decisions do not give: the deployed
/// objects the target does not keep, as deletes (and forgets, for
/// `removed` blocks with `destroy = false`), with Terraform's reasons.
/// The actions: every decided instance's change, and the deletes and
/// forgets of the deployed objects the target does not keep; in the order
/// of the printed addresses, as the reports list them.
fn actions(
    target: &Model,
    prior: &Prior,
    moved: &Moves,
    decide: &Decide,
    walk: &walk::Walk,
) -> Vec<Change> {
    let mut changes = decide.changes(target);
    changes.extend(orphans(target, prior, moved, decide, walk));
    changes.retain(|c| !c.is_noop() || c.previous_address.is_some() || c.importing.is_some());
    if let Some(cbd) = &prior.recorded_cbd {
        recorded_cbd(&mut changes, cbd);
    }
    changes.sort_by_cached_key(|c| (c.address.to_string(), c.deposed.clone()));
    changes
}

/// Without a state: the create_before_destroy of each object the revert
/// deletes, as the last apply recorded it, that apply taken to be the one
/// the revert undoes (it wrote what the revert changes).
fn recorded_cbd(changes: &mut [Change], cbd: &cbd::RecordedCbd) {
    let written: std::collections::HashSet<(String, InstanceKey)> = changes
        .iter()
        // deployed objects the revert changes (a create is of one the
        // last apply did not hold)
        .filter(|c| {
            c.actions
                .iter()
                .any(|a| matches!(a, Action::Update | Action::Delete))
        })
        .map(|c| (c.address.resource.config_address(), c.address.key.clone()))
        .collect();
    let written =
        |config: &str, key: &InstanceKey| written.contains(&(config.to_string(), key.clone()));
    for c in changes.iter_mut() {
        if c.actions == [Action::Delete] && c.deposed.is_none() {
            c.create_before_destroy = cbd.holds(&c.address, &written);
        }
    }
}

fn orphans(
    target: &Model,
    prior: &Prior,
    moved: &Moves,
    decide: &Decide,
    walk: &walk::Walk,
) -> Vec<Change> {
    let removed = removed_blocks(target);
    let mut out = Vec::new();
    for p in &prior.managed {
        let addr = match &p.deposed {
            Some(_) => p.addr.clone(),
            None => moved
                .get(&p.addr)
                .map(|(t, _)| t.clone())
                .unwrap_or_else(|| p.addr.clone()),
        };
        if p.deposed.is_none() && decide.has(&addr) {
            continue;
        }
        let config = addr.resource.config_address();
        // what the target cannot show is left alone: remote modules that
        // were not downloaded, instances whose count is unknown
        if opaque_module(target, &config)
            || decide.unknown_resource(&addr)
            || walk_unknown(walk, &addr)
        {
            continue;
        }
        let mut ch = Change {
            address: addr.clone(),
            type_: p.type_.clone(),
            actions: vec![Action::Delete],
            action_reason: None,
            reasons: Vec::new(),
            risks: Vec::new(),
            // a moved block applies to an object the target then deletes
            // (Terraform moves it first, and says where from)
            previous_address: (p.deposed.is_none() && addr != p.addr).then(|| p.addr.clone()),
            deposed: p.deposed.clone().map(DeposedKey),
            importing: None,
            create_before_destroy: p.cbd,
            attributes: Vec::new(),
            values: Values {
                before: Some(p.value.clone()),
                after: None,
                replace_paths: Vec::new(),
            },
        };
        if let Some(d) = &p.deposed {
            ch.reasons.push(format!(
                "a deposed object ({d}) left by an earlier create-before-destroy replacement"
            ));
            out.push(ch);
            continue;
        }
        orphan_reason(target, walk, &addr, &config, &removed, &mut ch);
        out.push(ch);
    }
    out
}

/// Why the target deletes (or forgets) the deployed object at `addr`
/// (configuration address `config`), as Terraform's action reason and in
/// words, into `ch`.
fn orphan_reason(
    target: &Model,
    walk: &walk::Walk,
    addr: &InstanceAddr,
    config: &str,
    removed: &[(String, bool)],
    ch: &mut Change,
) {
    let rem = removed
        .iter()
        .find(|(from, _)| config == *from || config.starts_with(&format!("{from}.")));
    let module_addr = addr.resource.module.clone();
    let module_config = module_addr.config_path();
    let resource_in_target = target
        .node(config)
        .is_some_and(|n| n.kind == NodeKind::Resource);
    let module_instance_gone = !module_addr.is_root()
        && target.node(&module_config).is_some()
        && !walk.modules.contains(&module_addr);
    if let Some((_, false)) = rem {
        ch.actions = vec![Action::Forget];
        ch.action_reason = Some("delete_because_no_resource_config");
        ch.reasons.push(
            "a removed block with destroy = false: Terraform stops managing it, the object stays"
                .into(),
        );
    } else if module_instance_gone {
        ch.action_reason = Some("delete_because_no_module");
        ch.reasons.push(format!(
            "module instance {module_addr} is not in the target"
        ));
    } else if resource_in_target {
        let t = target.node(config).expect("checked above");
        let (reason, text) = match (&addr.key, t.body.get("count"), t.body.get("for_each")) {
            (InstanceKey::Int(_), Some(_), _) => (
                "delete_because_count_index",
                "its index is beyond the target's count",
            ),
            (InstanceKey::Str(_), _, Some(_)) => (
                "delete_because_each_key",
                "its key is not in the target's for_each",
            ),
            _ => (
                "delete_because_wrong_repetition",
                "its instance key no longer fits the target's count / for_each",
            ),
        };
        ch.action_reason = Some(reason);
        ch.reasons.push(text.to_string());
    } else if !module_addr.is_root() && target.node(&module_config).is_none() {
        ch.action_reason = Some("delete_because_no_module");
        ch.reasons
            .push(format!("module {module_config} is not in the target"));
        if target.node(config).is_none() {
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
}

fn walk_unknown(walk: &walk::Walk, addr: &InstanceAddr) -> bool {
    let s = addr.to_string();
    walk.unknown_modules
        .keys()
        .any(|m| s.starts_with(&format!("{m}.")) || s.starts_with(&format!("{m}[")))
}

/// `removed` blocks of the target: the configuration address they name,
/// and whether the object is destroyed.
fn removed_blocks(target: &Model) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for n in target.nodes.iter().filter(|n| n.kind == NodeKind::Removed) {
        let from = match n.body.get("from") {
            Some(Lit::Expr(e)) => e.to_string(),
            Some(Lit::String(s)) => s.clone(),
            _ => continue,
        };
        let from = if n.module.is_empty() {
            from
        } else {
            format!("{}.{from}", n.module)
        };
        let destroy = n
            .body
            .block("lifecycle")
            .and_then(|l| l.get("destroy"))
            .and_then(Lit::as_bool)
            .unwrap_or(true);
        out.push((from, destroy));
    }
    out
}

/// Is `config` inside a module call whose contents the target cannot show
/// (remote, not downloaded)?
fn opaque_module(target: &Model, config: &str) -> bool {
    target.nodes.iter().any(|n| {
        n.kind == NodeKind::Module
            && n.facts.more.resolved == Some(rewind_model::ModuleSource::Remote)
            && config.starts_with(&format!("{}.", n.address))
    })
}

/// Data loss, `prevent_destroy` (Terraform refuses a destroy or replace
/// of an object whose target configuration sets it), forgets, remote
/// modules, and objects a `removed` block forgot that the revert would
/// create again.
fn risks(
    current: &Model,
    target: &Model,
    changes: &mut [Change],
    blocked: &mut Vec<InstanceAddr>,
    notes: &mut Vec<Risk>,
    opts: &Options,
) {
    let forgotten = removed_blocks(current);
    for ch in changes.iter_mut() {
        let config = ch.address.resource.config_address();
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
            let target_protects = ch.deposed.is_none()
                && target
                    .node(&config)
                    .is_some_and(|n| n.lifecycle().prevent_destroy);
            if target_protects {
                ch.risks.push(Risk {
                    kind: RiskKind::DestroyProtected,
                    message: "lifecycle.prevent_destroy is set in the target configuration: Terraform refuses to destroy this object".into(),
                });
                if !opts.allow_destroy_protected {
                    blocked.push(ch.address.clone());
                }
            } else {
                let prev = ch
                    .previous_address
                    .as_ref()
                    .map(|a| a.resource.config_address())
                    .unwrap_or_else(|| config.clone());
                if current
                    .node(&prev)
                    .is_some_and(|n| n.lifecycle().prevent_destroy)
                {
                    ch.risks.push(Risk {
                        kind: RiskKind::DestroyProtected,
                        message: "lifecycle.prevent_destroy is set in the current configuration; the target no longer has it, so Terraform will not stop this destroy".into(),
                    });
                }
            }
        }
        if ch.actions == [Action::Forget] {
            ch.risks.push(Risk {
                kind: RiskKind::Forget,
                message: "the object keeps running but is no longer managed by Terraform".into(),
            });
        }
        if ch.actions == [Action::Create] {
            if let Some((from, _)) = forgotten.iter().find(|(from, destroy)| {
                !destroy && (config == *from || config.starts_with(&format!("{from}.")))
            }) {
                ch.risks.push(Risk {
                    kind: RiskKind::Forgotten,
                    message: format!(
                        "the current release forgot {from} with removed {{ lifecycle {{ destroy = false }} }}: the real object still exists, and creating it again makes a duplicate (or fails on a name clash). Import it instead: import {{ to = {} id = \"<the object's id>\" }}",
                        ch.address
                    ),
                });
            }
        }
    }
    for m in current
        .nodes
        .iter()
        .chain(target.nodes.iter())
        .filter(|n| n.kind == NodeKind::Module)
    {
        if m.facts.more.resolved == Some(rewind_model::ModuleSource::Remote) {
            let msg = format!(
                "{} uses remote module {} which is not downloaded: its resources are not planned (run terraform init before snapshotting)",
                m.address,
                m.body.get("source").map(Lit::render).unwrap_or_default()
            );
            if !notes.iter().any(|n| n.message == msg) {
                notes.push(Risk {
                    kind: RiskKind::UnresolvedModule,
                    message: msg,
                });
            }
        }
    }
}

/// Used by [`decide`]: Terraform's action vocabulary for a decision.
fn actions_of(kind: Kind, cbd: bool) -> Vec<Action> {
    match kind {
        Kind::NoOp => vec![Action::NoOp],
        Kind::Create => vec![Action::Create],
        Kind::Update => vec![Action::Update],
        Kind::Replace if cbd => vec![Action::Create, Action::Delete],
        Kind::Replace => vec![Action::Delete, Action::Create],
    }
}
