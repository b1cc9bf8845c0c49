//! Evaluating a configuration the way Terraform walks it: nodes in
//! dependency order, each for every instance of its module; module calls
//! and resources expanded by their `count` and `for_each`; variables,
//! locals and outputs evaluated from their expressions; each resource
//! instance's configuration evaluated and handed to a [`Planner`], whose
//! answer is the value the rest of the configuration sees.

use std::collections::{BTreeMap, HashMap};

use rewind_eval::{
    convert, convert_constraint, Constraint, EvalError, Evaluator, Files, Scope, Type, Value,
};
use rewind_model::expr::{Expr, TravOp};
use rewind_model::{
    InstanceAddr, InstanceKey, Mode, ModuleInstance, Node, NodeKind, ResourceAddr, Value as Lit,
};

use crate::config::Config;

mod conditions;
mod held;
mod imports;
mod memory;

pub(crate) use imports::SECRET_ID;

/// Most instances one resource or module call may expand to, and all
/// resources of a walk together.
pub(crate) const MAX_INSTANCES: usize = 1_000_000;

/// Most elements all the evaluations of one walk may build or visit
/// together (each evaluation has its own, smaller limit: see
/// [`rewind_eval::Limits`]): past it the walk's evaluations fail, naming
/// the expression, rather than run on for minutes.
pub(crate) const WALK_WORK: u64 = 2_000_000_000;

/// What a walk is given beyond the configuration.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Values of root module variables, by name, with where each came
    /// from (for messages).
    pub variables: BTreeMap<String, (Value, String)>,
    /// `terraform.workspace`.
    pub workspace: String,
}

/// How a resource or module call expanded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expansion {
    /// No `count` or `for_each`.
    Single,
    Count(usize),
    ForEach(Vec<String>),
    /// Depends on a value only known after apply; why.
    Unknown(String),
}

/// What an instance's value says about attributes it does not list
/// (resources whose provider schema rewind does not have).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Missing {
    /// Unknown until apply (an object being created or replaced).
    Unknown,
    /// None: the value lists every attribute the object has (it was read
    /// from the state, which records them all). An attribute it does not
    /// list reads as unknown (rewind does not know every provider's
    /// schema to refuse it as Terraform would).
    Listed,
    /// Deployed, but not visible to rewind (no state): opaque, named
    /// after this instance address.
    Opaque(String),
}

/// The value one resource instance shows the rest of the configuration.
#[derive(Clone, Debug)]
pub(crate) struct InstanceValue {
    pub value: Value,
    pub missing: Missing,
}

impl InstanceValue {
    /// The value as references see it: an object whose attributes not
    /// listed read the way `missing` says (a [`Value::Partial`]), so that
    /// `[for sa in google_service_account.this : sa.email]` reads an
    /// attribute the configuration does not set as Terraform would (known
    /// after apply, or deployed), not as an error.
    fn open(self, type_: &str) -> InstanceValue {
        let (v, marked) = self.value.unmark();
        let Value::Object(attrs) = v else {
            return self;
        };
        // terraform_data's schema is known: its values list every attribute
        if type_ == "terraform_data" {
            return self;
        }
        let rest = match &self.missing {
            Missing::Listed => return self,
            Missing::Unknown => Value::unknown(),
            Missing::Opaque(addr) => Value::Opaque(Type::Dynamic, addr.as_str().into()),
        };
        InstanceValue {
            value: Value::partial(attrs.clone(), rest).mark_if(marked),
            missing: self.missing,
        }
    }

    /// The attribute `name`.
    pub fn attr(&self, name: &str) -> Result<Value, EvalError> {
        let (v, marked) = self.value.unmark();
        if let Value::Partial(p) = v {
            return Ok(p.attr(name).mark_if(marked));
        }
        if !v.is_known() {
            return Ok(Value::unknown().mark_if(marked));
        }
        if let Some(a) = v.get_attr(name) {
            return Ok(a.clone().mark_if(marked));
        }
        match &self.missing {
            Missing::Unknown | Missing::Listed => Ok(Value::unknown().mark_if(marked)),
            Missing::Opaque(addr) => {
                Ok(Value::Opaque(Type::Dynamic, format!("{addr}.{name}").into()).mark_if(marked))
            }
        }
    }
}

/// One resource (or data source) in one module instance.
#[derive(Clone, Debug)]
pub(crate) struct ResourceValue {
    pub expansion: Expansion,
    /// The value each instance shows the rest of the configuration, by
    /// key (a sorted vector: most resources have one or two instances,
    /// and a `BTreeMap` node of eleven slots for each was 1.5 KB, 165 MB
    /// of the two walks of a plan of 100,000 resources).
    pub instances: rewind_model::Map<InstanceKey, InstanceValue>,
}

impl ResourceValue {
    /// The resource as a reference sees it: an object, a tuple (`count`)
    /// or an object of instances (`for_each`).
    pub fn value(&self) -> Value {
        match &self.expansion {
            Expansion::Single => self
                .instances
                .get(&InstanceKey::None)
                .map(|i| i.value.clone())
                .unwrap_or_else(Value::unknown),
            Expansion::Count(_) => {
                Value::tuple(self.instances.values().map(|i| i.value.clone()).collect())
            }
            Expansion::ForEach(_) => Value::object(
                self.instances
                    .iter()
                    .map(|(k, v)| {
                        let name = match k {
                            InstanceKey::Str(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (name, v.value.clone())
                    })
                    .collect(),
            ),
            Expansion::Unknown(_) => Value::unknown(),
        }
    }
}

/// The repetition of one instance: `count.index`, `each.key`/`each.value`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Repetition {
    pub count: Option<i64>,
    pub each: Option<(String, Value)>,
}

/// Decides what each resource instance becomes.
pub(crate) trait Planner {
    /// A resource instance and its evaluated configuration (`Err` when it
    /// could not be evaluated). Returns the value the rest of the
    /// configuration sees for it.
    fn instance(
        &mut self,
        walk: &Walk,
        node: usize,
        addr: &InstanceAddr,
        config: Result<Value, EvalError>,
        scope: &InstanceScope,
    ) -> InstanceValue;

    /// A resource whose instances cannot be known.
    fn unknown_instances(&mut self, walk: &Walk, node: usize, resource: &ResourceAddr, why: &str);
    /// An import of the target's `import` blocks: the object with `id` is
    /// brought under management at `addr` (the target's walk gives them,
    /// each before its resource is planned).
    fn import(&mut self, _addr: InstanceAddr, _id: String) {}

    /// The first `walked` nodes of the configuration's order have been
    /// walked, every instance of each.
    fn walked(&mut self, _walked: usize) {}
}

/// A problem found while walking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WalkError {
    /// The address of the node (with its module instance).
    pub address: String,
    /// Where the node is declared (`main.tf:12`), when known.
    pub at: Option<String>,
    pub message: String,
}

/// A value's place in the configuration: file, block line, path in the
/// block.
type PositionKey = (String, u32, Vec<String>);

/// The state of a walk.
pub(crate) struct Walk<'c> {
    pub cfg: &'c Config<'c>,
    inputs: &'c Inputs,
    files: Option<&'c dyn Files>,
    /// Module instances; index 0 is the root.
    pub modules: Vec<ModuleInstance>,
    /// The module path of each module instance (`module.a.module.b`).
    module_paths: Vec<String>,
    module_ids: HashMap<ModuleInstance, u32>,
    /// The repetition of each module instance (for its call's arguments).
    module_rep: Vec<Repetition>,
    /// Instances of each module path.
    pub instances_of: HashMap<String, Vec<u32>>,
    /// Module calls whose instances could not be known: why.
    pub unknown_modules: BTreeMap<String, String>,
    /// The same, by (calling module instance, call node).
    unknown_calls: rustc_hash::FxHashSet<(u32, usize)>,
    /// The child instances of each module call, by (calling module
    /// instance, call node).
    children: rustc_hash::FxHashMap<(u32, usize), Vec<u32>>,
    /// Values of variables, locals and outputs: per node, per module
    /// instance (few per node: a short list beats a hash).
    values: Vec<Vec<(u32, Value)>>,
    /// Resources and data sources, likewise.
    resources: Vec<Vec<(u32, ResourceValue)>>,
    /// What names the outputs of each instance of a remote module that was
    /// not downloaded (its source, version and evaluated arguments), by
    /// module instance: evaluated once, however often the outputs are read.
    remote_given: std::cell::RefCell<rustc_hash::FxHashMap<u32, std::sync::Arc<str>>>,
    /// Where the values errors are of are written, found once each (see
    /// [`Walk::place`]): by file, block line and path in the block.
    positions: std::cell::RefCell<HashMap<PositionKey, Option<(u32, u32)>>>,
    /// The work all evaluations of this walk did (see [`WALK_WORK`]).
    work: std::cell::Cell<u64>,
    /// Resource instances expanded so far (see [`MAX_INSTANCES`]).
    planned: usize,
    /// What the values kept hold (see [`held::MAX_HELD`]).
    held: std::cell::RefCell<held::Held>,
    /// The memory the process holds (see [`memory`]).
    memory: memory::MemoryGuard,
    pub errors: Vec<WalkError>,
    pub notes: Vec<String>,
    /// What the evaluations noted (a function whose result rewind cannot
    /// see: a file outside the tree, none at hand), each once.
    pub eval_notes: std::cell::RefCell<Vec<String>>,
    /// The target's walk: custom conditions are checked (see
    /// [`conditions`]) and `import` blocks read (see [`imports`]); the
    /// current configuration's walk does neither.
    pub is_target: bool,
    /// Failed `check` assertions (warnings, as Terraform gives them).
    pub warnings: Vec<String>,
}

impl<'c> Walk<'c> {
    pub fn new(cfg: &'c Config<'c>, inputs: &'c Inputs, files: Option<&'c dyn Files>) -> Walk<'c> {
        let root = ModuleInstance::root();
        let mut module_ids = HashMap::new();
        module_ids.insert(root.clone(), 0);
        let mut instances_of = HashMap::new();
        instances_of.insert(String::new(), vec![0]);
        Walk {
            cfg,
            inputs,
            files,
            modules: vec![root],
            module_paths: vec![String::new()],
            module_ids,
            module_rep: vec![Repetition::default()],
            instances_of,
            unknown_modules: BTreeMap::new(),
            unknown_calls: Default::default(),
            children: Default::default(),
            values: vec![Vec::new(); cfg.model.nodes.len()],
            resources: (0..cfg.model.nodes.len()).map(|_| Vec::new()).collect(),
            remote_given: Default::default(),
            positions: Default::default(),
            work: std::cell::Cell::new(0),
            planned: 0,
            held: Default::default(),
            memory: Default::default(),
            errors: Vec::new(),
            notes: Vec::new(),
            eval_notes: Default::default(),
            is_target: false,
            warnings: Vec::new(),
        }
    }

    /// Walks every node in dependency order.
    pub fn run(&mut self, planner: &mut dyn Planner) {
        let cfg = self.cfg;
        for (pos, &ni) in cfg.order.iter().enumerate() {
            let node = cfg.node(ni);
            let mids = self
                .instances_of
                .get(&node.module)
                .cloned()
                .unwrap_or_default();
            match node.kind {
                NodeKind::Module => {
                    for mid in mids {
                        self.expand_module(ni, node, mid);
                    }
                }
                NodeKind::Variable => {
                    for mid in mids {
                        let v = self.variable(node, mid);
                        self.store(ni, mid, node, v);
                        let rep = Repetition::default();
                        self.check_rules(conditions::Rule::Validation, node, mid, &rep, None);
                    }
                }
                NodeKind::Local => {
                    for mid in mids {
                        let v = match node.body.get("value") {
                            Some(e) => self.eval_in(e, mid, &Repetition::default()),
                            None => Ok(Value::null()),
                        };
                        self.store(ni, mid, node, v);
                    }
                }
                NodeKind::Output => {
                    for mid in mids {
                        let rep = Repetition::default();
                        self.check_rules(
                            conditions::Rule::OutputPrecondition,
                            node,
                            mid,
                            &rep,
                            None,
                        );
                        let v = match node.body.get("value") {
                            Some(e) => self.eval_in(e, mid, &Repetition::default()),
                            None => Ok(Value::null()),
                        };
                        let sensitive = node
                            .body
                            .get("sensitive")
                            .and_then(Lit::as_bool)
                            .unwrap_or(false);
                        let root = node.module.is_empty();
                        let v = v.and_then(|v| match root {
                            // root outputs are written to the state whole
                            true => {
                                let written = self
                                    .held
                                    .borrow_mut()
                                    .write(&v, || format!("output.{}", node.name));
                                written.map(|()| v)
                            }
                            false => Ok(v),
                        });
                        let v = v.and_then(|v| match root && v.has_infinity() {
                            // root outputs are written to the state
                            true => Err(EvalError::new(
                                "Failed to serialize output value",
                                format!(
                                    "output value {:?}: cannot serialize infinity as JSON",
                                    node.name
                                ),
                            )),
                            false => Ok(v.mark_if(sensitive)),
                        });
                        self.store(ni, mid, node, v);
                    }
                }
                NodeKind::Resource | NodeKind::Data => {
                    // exactly one entry per module instance (a first
                    // push reserves four: 190 bytes more per resource)
                    self.resources[ni].reserve_exact(mids.len());
                    for mid in mids {
                        self.resource(ni, node, mid, planner);
                    }
                }
                NodeKind::Import => self.import_block(node, planner),
                NodeKind::Check => {
                    for mid in mids {
                        let rep = Repetition::default();
                        self.check_rules(conditions::Rule::Assert, node, mid, &rep, None);
                    }
                }
                _ => {}
            }
            planner.walked(pos + 1);
        }
    }

    fn store(&mut self, ni: usize, mid: u32, node: &Node, v: Result<Value, EvalError>) {
        let v = v.and_then(|v| {
            let kept = self
                .held
                .borrow_mut()
                .keep(&v, || self.instance_address(mid, node));
            kept.map(|()| v)
        });
        let v = match v {
            Ok(v) => v,
            Err(e) => {
                let address = self.instance_address(mid, node);
                let at = self.place(node, &e.path);
                self.push_error(address, at, e.to_string());
                Value::unknown()
            }
        };
        self.values[ni].push((mid, v));
    }

    fn error(&mut self, mid: u32, node: &Node, message: String) {
        let address = self.instance_address(mid, node);
        self.error_at(address, node, message);
    }

    /// An error of `node`, named by `address` (an instance's).
    fn error_at(&mut self, address: String, node: &Node, message: String) {
        let at = self.place(node, &[]);
        self.push_error(address, at, message);
    }

    /// Where an error of `node` lies, as errors name it: the file, line
    /// and column of the value it is of (`path`, [`EvalError::path`]: an
    /// argument, a nested block, a key), read again from the file when
    /// the side's files lend it, else the block's; and the argument
    /// (`main.tf:8:5, argument input.count`).
    pub(crate) fn place(&self, node: &Node, path: &[String]) -> Option<String> {
        let argument = (!path.is_empty()).then(|| format!("argument {}", path.join(".")));
        if node.loc.file.is_empty() {
            return argument;
        }
        let mut loc = node.loc.clone();
        if let Some((line, col)) = self.position(node, path) {
            (loc.line, loc.col) = (line, col);
        }
        Some(match argument {
            Some(a) => format!("{loc}, {a}"),
            None => loc.to_string(),
        })
    }

    fn position(&self, node: &Node, path: &[String]) -> Option<(u32, u32)> {
        let files = self.files?;
        // the block's own line is the node's: nothing to read for that
        if path.is_empty() || node.loc.line == 0 {
            return None;
        }
        let name = node.loc.file.rsplit('/').next().unwrap_or_default();
        let locate = match rewind_parse::FileKind::of(name) {
            Some(rewind_parse::FileKind::Tf) => rewind_parse::hcl::value_position,
            Some(rewind_parse::FileKind::TfJson) => rewind_parse::hcl::json_value_position,
            _ => return None,
        };
        let key = (node.loc.file.clone(), node.loc.line, path.to_vec());
        if let Some(p) = self.positions.borrow().get(&key) {
            return *p;
        }
        let p = files
            .source(&node.loc.file)
            .and_then(|src| locate(&src, node.loc.line, path));
        self.positions.borrow_mut().insert(key, p);
        p
    }

    fn push_error(&mut self, address: String, at: Option<String>, message: String) {
        let e = WalkError {
            address,
            at,
            message,
        };
        if !self.errors.contains(&e) {
            self.errors.push(e);
        }
    }

    /// A node's address in a module instance (`module.a[0].var.x`).
    pub(crate) fn instance_address(&self, mid: u32, node: &Node) -> String {
        let m = &self.modules[mid as usize];
        let local = if node.module.is_empty() {
            node.address.as_str()
        } else {
            &node.address[node.module.len() + 1..]
        };
        if m.is_root() {
            local.to_string()
        } else {
            format!("{m}.{local}")
        }
    }

    fn intern(&mut self, m: ModuleInstance, rep: Repetition) -> u32 {
        if let Some(&id) = self.module_ids.get(&m) {
            return id;
        }
        let id = self.modules.len() as u32;
        self.module_ids.insert(m.clone(), id);
        self.module_paths.push(m.config_path());
        self.modules.push(m);
        self.module_rep.push(rep);
        id
    }

    /// The value of a variable, local or output in a module instance.
    pub(crate) fn value_of(&self, node: usize, mid: u32) -> Option<&Value> {
        self.values[node]
            .iter()
            .find(|(m, _)| *m == mid)
            .map(|(_, v)| v)
    }

    /// A resource (or data source) in a module instance.
    pub(crate) fn resource_of(&self, node: usize, mid: u32) -> Option<&ResourceValue> {
        self.resources[node]
            .iter()
            .find(|(m, _)| *m == mid)
            .map(|(_, r)| r)
    }

    /// `(module SOURCE VERSION given {ARGS})`: what the outputs of the
    /// instance `id` of the remote module `call` (called from the module
    /// instance `caller`) are named after, evaluated once per instance (and
    /// bounded in length, see [`rewind_eval::render::bounded_symbol`]).
    fn remote_given(&self, id: u32, call: &Node, caller: u32) -> std::sync::Arc<str> {
        if let Some(g) = self.remote_given.borrow().get(&id) {
            return g.clone();
        }
        let rep = &self.module_rep[id as usize];
        let scope = self.scope(caller, rep.clone());
        let mut args = Vec::new();
        for (k, v) in call.body.as_map().into_iter().flatten() {
            if MODULE_META.contains(&k.as_str()) {
                continue;
            }
            let mut ev = Evaluator::new(&scope);
            let shown = match lit_value(v, &mut ev) {
                Ok(v) => rewind_eval::render::symbol(&v),
                Err(_) => "?".to_string(),
            };
            args.push(format!("{k} = {shown}"));
        }
        let source = call.body.get("source").map(Lit::render).unwrap_or_default();
        let version = call
            .body
            .get("version")
            .map(Lit::render)
            .unwrap_or_default();
        let given = format!("(module {source} {version} given {{{}}})", args.join(", "));
        let given: std::sync::Arc<str> = rewind_eval::render::bounded_symbol(given).into();
        self.remote_given.borrow_mut().insert(id, given.clone());
        given
    }

    /// Evaluates a body value (a literal, or an expression) in a module
    /// instance.
    pub(crate) fn eval_in(&self, v: &Lit, mid: u32, rep: &Repetition) -> Result<Value, EvalError> {
        self.eval_scoped(v, &self.scope(mid, rep.clone()))
    }

    /// Evaluates `v` in `scope`, within the walk's budget.
    fn eval_scoped(&self, v: &Lit, scope: &InstanceScope) -> Result<Value, EvalError> {
        self.budget(|| v.render())?;
        let mut ev = Evaluator::new(scope);
        let r = lit_value(v, &mut ev);
        self.spent(r, &ev, || v.render())
    }

    /// Fails, naming the expression, once the walk's evaluations have done
    /// more than [`WALK_WORK`] together, or the process holds more memory
    /// than its limit (see [`memory`]).
    fn budget(&self, expr: impl Fn() -> String) -> Result<(), EvalError> {
        if let Some((held, limit)) = self.memory.over(self.work.get()) {
            return Err(EvalError::new(
                LIMIT,
                format!(
                    "rewind holds {} MiB of memory, more than its limit of {} MiB (three quarters of this machine's or container's memory; REWIND_MAX_MEMORY_MB sets another); it stops here rather than run out of memory (evaluating {})",
                    held >> 20,
                    limit >> 20,
                    shorten(&expr())
                ),
            ));
        }
        if self.work.get() <= WALK_WORK {
            return Ok(());
        }
        Err(EvalError::new(
            LIMIT,
            format!(
                "the configuration's expressions built or visited more than {WALK_WORK} elements in all; rewind stops here rather than run away (evaluating {})",
                shorten(&expr())
            ),
        ))
    }

    /// Counts the work of an evaluation against the walk's budget; an
    /// evaluation stopped by its own limit names its expression.
    fn spent(
        &self,
        r: Result<Value, EvalError>,
        ev: &Evaluator,
        expr: impl Fn() -> String,
    ) -> Result<Value, EvalError> {
        self.work
            .set(self.work.get().saturating_add(ev.work_done()));
        if !ev.notes.is_empty() {
            let mut notes = self.eval_notes.borrow_mut();
            for n in &ev.notes {
                if !notes.contains(n) {
                    notes.push(n.clone());
                }
            }
        }
        // the evaluator's own limit stopped it (its error may have been
        // wrapped, by a function call for one)
        let stopped = ev.work_done() > rewind_eval::Limits::default().work;
        match r {
            Err(mut e) if stopped => {
                e.detail = format!("{} (evaluating {})", e.detail, shorten(&expr()));
                Err(e)
            }
            r => r,
        }
    }

    pub fn scope(&self, mid: u32, rep: Repetition) -> InstanceScope<'_> {
        let path = self.module_paths[mid as usize].as_str();
        InstanceScope {
            walk: self,
            mid,
            path,
            index: self.cfg.module(path),
            rep,
            this: None,
            secrets: None,
        }
    }

    fn expand_module(&mut self, ni: usize, node: &Node, parent: u32) {
        let rep = Repetition::default();
        let expansion = self.expansion(node, parent, &rep);
        let child_path = node.address.clone();
        let mut keys: Vec<(InstanceKey, Repetition)> = Vec::new();
        match expansion {
            Ok((Expansion::Single, _)) => keys.push((InstanceKey::None, Repetition::default())),
            Ok((Expansion::Count(n), _)) => {
                for i in 0..n {
                    keys.push((
                        InstanceKey::Int(i as i64),
                        Repetition {
                            count: Some(i as i64),
                            each: None,
                        },
                    ));
                }
            }
            Ok((Expansion::ForEach(ks), values)) => {
                for (k, v) in ks.into_iter().zip(values) {
                    keys.push((
                        InstanceKey::Str(k.clone()),
                        Repetition {
                            count: None,
                            each: Some((k, v)),
                        },
                    ));
                }
            }
            Ok((Expansion::Unknown(why), _)) => {
                let addr = self.instance_address(parent, node);
                self.unknown_modules.insert(addr, why);
                self.unknown_calls.insert((parent, ni));
            }
            Err(e) => {
                self.error(parent, node, e);
            }
        }
        let name = node.name.clone();
        let mut ids = Vec::with_capacity(keys.len());
        for (key, rep) in keys {
            let child = self.modules[parent as usize].child(&name, key);
            let id = self.intern(child, rep);
            self.instances_of
                .entry(child_path.clone())
                .or_default()
                .push(id);
            ids.push(id);
        }
        self.children.insert((parent, ni), ids);
    }

    /// Evaluates `count` / `for_each` of a resource or module call; with
    /// `for_each`, the `each.value` of every key too.
    fn expansion(
        &self,
        node: &Node,
        mid: u32,
        rep: &Repetition,
    ) -> Result<(Expansion, Vec<Value>), String> {
        if let Some(c) = node.body.get("count") {
            self.count_expansion(c, mid, rep)
        } else if let Some(f) = node.body.get("for_each") {
            self.for_each_expansion(f, mid, rep)
        } else {
            Ok((Expansion::Single, Vec::new()))
        }
    }

    /// Evaluates a `count` argument `c`: as many instances as it says, or
    /// [`Expansion::Unknown`] when its value is known only after apply.
    /// Sensitive, null, fractional, negative and too large counts are
    /// errors.
    /// Counts a resource's instances against the walk's
    /// [`MAX_INSTANCES`]: each instance planned takes a few KB, and
    /// resources of a million instances each would together take more
    /// memory than a machine has.
    fn within_total(
        &mut self,
        e: (Expansion, Vec<Value>),
    ) -> Result<(Expansion, Vec<Value>), String> {
        let n = match &e.0 {
            Expansion::Single => 1,
            Expansion::Count(n) => *n,
            Expansion::ForEach(keys) => keys.len(),
            Expansion::Unknown(_) => 0,
        };
        if n > MAX_INSTANCES - self.planned {
            return Err(format!(
                "more than {MAX_INSTANCES} resource instances in all (with the {} before this resource): rewind stops here rather than plan past the memory it has",
                self.planned
            ));
        }
        self.planned += n;
        Ok(e)
    }

    fn count_expansion(
        &self,
        c: &Lit,
        mid: u32,
        rep: &Repetition,
    ) -> Result<(Expansion, Vec<Value>), String> {
        let v = self
            .eval_in(c, mid, rep)
            .map_err(|e| format!("count: {e}"))?;
        let (v, marked) = v.unmark();
        if marked {
            return Err("count: sensitive values cannot be used as count".into());
        }
        if v.is_null() {
            return Err("count: the given \"count\" argument value is null".into());
        }
        if !v.is_known() || v.has_opaque() {
            return Ok((
                Expansion::Unknown(format!(
                    "count = {} depends on values known only after apply",
                    c.render()
                )),
                Vec::new(),
            ));
        }
        let n = convert(v, &Type::Number).map_err(|e| format!("count: {e}"))?;
        let n = n
            .as_number()
            .cloned()
            .unwrap_or_else(rewind_eval::Number::zero);
        Ok((Expansion::Count(instance_count(&n)?), Vec::new()))
    }

    /// Evaluates a `for_each` argument `f`: one instance per key of a map
    /// or object, or per string of a set of strings, with the `each.value`
    /// of each; [`Expansion::Unknown`] when the value or one of the set's
    /// strings is known only after apply.
    fn for_each_expansion(
        &self,
        f: &Lit,
        mid: u32,
        rep: &Repetition,
    ) -> Result<(Expansion, Vec<Value>), String> {
        let v = self
            .eval_in(f, mid, rep)
            .map_err(|e| format!("for_each: {e}"))?;
        let (v, marked) = v.unmark();
        // a set's elements cannot keep their marks (cty moves them to the
        // set): a sensitive string would become an instance key
        if marked || (matches!(v, Value::Set(..)) && v.has_marks()) {
            return Err("for_each: sensitive values cannot be used as for_each arguments".into());
        }
        if v.is_null() {
            return Err("for_each: the given \"for_each\" argument value is null".into());
        }
        let unknown = || {
            Ok((
                Expansion::Unknown(format!(
                    "for_each = {} depends on values known only after apply",
                    f.render()
                )),
                Vec::new(),
            ))
        };
        if !v.is_known() || matches!(v, Value::Opaque(..)) {
            return unknown();
        }
        match v {
            Value::Map(_, m) | Value::Object(m) => {
                if m.len() > MAX_INSTANCES {
                    return Err(format!("for_each: more than {MAX_INSTANCES} instances"));
                }
                Ok((
                    Expansion::ForEach(m.keys().cloned().collect()),
                    m.values().cloned().collect(),
                ))
            }
            Value::Set(t, items) => match set_keys(t, items)? {
                Some(keys) => {
                    let values = keys.iter().map(Value::string).collect();
                    Ok((Expansion::ForEach(keys), values))
                }
                None => unknown(),
            },
            other => Err(format!(
                "for_each: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}",
                other.ty().friendly_name()
            )),
        }
    }

    /// The value of variable `node` in module instance `mid`, as
    /// Terraform's `prepareFinalInputVariableValue` makes it: the value
    /// given (by the root's inputs or the module call), else the default;
    /// converted to the type; and, for `nullable = false`, a null value
    /// replaced by the default, or refused without one (terraform 1.11.4).
    fn variable(&self, node: &Node, mid: u32) -> Result<Value, EvalError> {
        let constraint = match node.body.get("type") {
            Some(Lit::Expr(e)) => Constraint::from_expr(e)?,
            Some(Lit::String(s)) => {
                Constraint::from_expr(&Expr::Template(vec![rewind_model::expr::Part::Lit(
                    s.clone(),
                )]))?
            }
            _ => Constraint::Any,
        };
        let sensitive = node
            .body
            .get("sensitive")
            .and_then(Lit::as_bool)
            .unwrap_or(false);
        let nullable = node
            .body
            .get("nullable")
            .and_then(Lit::as_bool)
            .unwrap_or(true);
        let default = match node.body.get("default") {
            Some(d) => {
                let mut ev = Evaluator::new(&rewind_eval::EmptyScope);
                Some(lit_value(d, &mut ev)?)
            }
            None => None,
        };
        if !nullable && default.as_ref().is_some_and(Value::is_null) {
            let mut e = EvalError::new(
                "Invalid default value for variable",
                "A null default value is not valid when nullable=false.",
            );
            e.path = vec!["default".into()];
            return Err(e);
        }
        let given: Option<Value> = if mid == 0 {
            self.inputs
                .variables
                .get(&node.name)
                .map(|(v, _)| v.clone())
        } else {
            // the argument of the module call, in the calling instance
            let m = &self.modules[mid as usize];
            let parent_id = self.module_ids.get(&m.parent()).copied().unwrap_or(0);
            let call = self.cfg.find(&node.module).map(|i| self.cfg.node(i));
            match call.and_then(|c| c.body.get(&node.name)) {
                Some(arg) => Some(self.eval_in(arg, parent_id, &self.module_rep[mid as usize])?),
                None => None,
            }
        };
        let value = match (given, &default) {
            (Some(v), Some(d)) if v.is_null() && !nullable => d.clone(),
            (Some(v), None) if v.is_null() && !nullable => {
                return Err(self.null_for_required(node, mid))
            }
            (Some(v), _) => v,
            (None, Some(d)) => d.clone(),
            (None, None) => {
                return Err(EvalError::new(
                    "No value for required variable",
                    format!(
                        "The variable {:?} has no default and no value was given{}.",
                        node.name,
                        if mid == 0 {
                            " (terraform.tfvars, *.auto.tfvars, --var-file or --var)"
                        } else {
                            " by the module call"
                        }
                    ),
                ))
            }
        };
        let converted = if value.is_null() {
            Value::Null(constraint.to_type())
        } else {
            convert_constraint(&value, &constraint).map_err(|e| {
                EvalError::new(
                    "Invalid value for input variable",
                    format!(
                        "The given value is not suitable for var.{}: {e}.",
                        node.name
                    ),
                )
            })?
        };
        Ok(converted.mark_if(sensitive))
    }

    /// Terraform's error for a null value given to a variable with
    /// `nullable = false` and no default, naming where the value came
    /// from: `-var`, `TF_VAR_`, a variable file, or the module call's
    /// argument (terraform 1.11.4 "Required variable not set").
    fn null_for_required(&self, node: &Node, mid: u32) -> EvalError {
        let address = self.instance_address(mid, node);
        let detail = if mid == 0 {
            let from = self
                .inputs
                .variables
                .get(&node.name)
                .map(|(_, from)| from.as_str())
                .unwrap_or_default();
            if from == "--var" {
                format!(
                    "Unsuitable value for {address} set using -var=\"{}=...\"",
                    node.name
                )
            } else if from.starts_with("TF_VAR_") {
                format!("Unsuitable value for {address} set using the {from} environment variable")
            } else {
                format!("The given value is not suitable for {address} (set in {from})")
            }
        } else {
            let call = self.cfg.find(&node.module).map(|i| self.cfg.node(i));
            let at = call.and_then(|c| self.place(c, std::slice::from_ref(&node.name)));
            match at {
                Some(at) => format!(
                    "The given value is not suitable for {address} (set by the module call at {at})"
                ),
                None => format!("The given value is not suitable for {address}"),
            }
        };
        EvalError::new(
            "Required variable not set",
            format!("{detail}: required variable may not be set to null."),
        )
    }

    fn resource(&mut self, ni: usize, node: &Node, mid: u32, planner: &mut dyn Planner) {
        let raddr = ResourceAddr {
            module: self.modules[mid as usize].clone(),
            mode: if node.kind == NodeKind::Data {
                Mode::Data
            } else {
                Mode::Managed
            },
            type_: node.type_.clone(),
            name: node.name.clone(),
        };
        let expansion = match self
            .expansion(node, mid, &Repetition::default())
            .and_then(|e| self.within_total(e))
        {
            Ok(e) => e,
            Err(msg) => {
                self.error(mid, node, msg.clone());
                (Expansion::Unknown(msg), Vec::new())
            }
        };
        let reps: Vec<(InstanceKey, Repetition)> = match &expansion.0 {
            Expansion::Single => vec![(InstanceKey::None, Repetition::default())],
            Expansion::Count(n) => (0..*n)
                .map(|i| {
                    (
                        InstanceKey::Int(i as i64),
                        Repetition {
                            count: Some(i as i64),
                            each: None,
                        },
                    )
                })
                .collect(),
            Expansion::ForEach(keys) => keys
                .iter()
                .zip(expansion.1.iter())
                .map(|(k, v)| {
                    (
                        InstanceKey::Str(k.clone()),
                        Repetition {
                            count: None,
                            each: Some((k.clone(), v.clone())),
                        },
                    )
                })
                .collect(),
            Expansion::Unknown(why) => {
                planner.unknown_instances(self, ni, &raddr, why);
                Vec::new()
            }
        };
        let mut instances = rewind_model::Map::with_capacity(reps.len());
        for (key, rep) in reps {
            let addr = raddr.instance(key.clone());
            let this = (&addr, Value::unknown());
            self.check_rules(conditions::Rule::Precondition, node, mid, &rep, Some(this));
            let scope = self.scope(mid, rep.clone());
            let config = self.budget(|| addr.to_string()).and_then(|()| {
                let mut ev = Evaluator::new(&scope);
                let r = resource_config(node, &mut ev)
                    .and_then(|v| {
                        let written = self.held.borrow_mut().write(&v, || addr.to_string());
                        written.map(|()| v)
                    })
                    .and_then(|v| finite(v, &addr))
                    .and_then(|v| {
                        let kept = self.held.borrow_mut().keep(&v, || addr.to_string());
                        kept.map(|()| v)
                    });
                self.spent(r, &ev, || format!("the configuration of {addr}"))
            });
            let v = planner
                .instance(self, ni, &addr, config, &scope)
                .open(&node.type_);
            let this = (&addr, v.value.clone());
            self.check_rules(conditions::Rule::Postcondition, node, mid, &rep, Some(this));
            instances.insert(key, v);
        }
        self.resources[ni].push((
            mid,
            ResourceValue {
                expansion: expansion.0,
                instances,
            },
        ));
    }
}

/// A resource instance's configuration as Terraform can encode it: an
/// infinite number (`1/0`, `pow(10, 400)`) anywhere in it fails, as
/// Terraform fails to write the planned object ("cannot serialize
/// infinity as JSON"), naming the argument that holds it.
fn finite(v: Value, addr: &InstanceAddr) -> Result<Value, EvalError> {
    if !v.has_infinity() {
        return Ok(v);
    }
    let mut e = EvalError::new(
        "Failed to encode value",
        format!("failed to encode {addr} in state: failed to serialize value: cannot serialize infinity as JSON"),
    );
    if let Value::Object(m) = &v {
        if let Some((k, _)) = m.iter().find(|(_, x)| x.has_infinity()) {
            e.path.push(k.clone());
        }
    }
    Err(e)
}

/// The summary of the error a walk past its limit gives (as the
/// evaluator's own).
const LIMIT: &str = "Evaluation limit";

/// An expression as an error message quotes it: its first line, at most
/// 200 characters.
fn shorten(expr: &str) -> String {
    let line = expr.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None if line.len() < expr.len() => format!("{line}…"),
        None => line.to_string(),
    }
}

/// Meta-arguments of module calls (everything else is an input).
const MODULE_META: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "depends_on",
    "providers",
];

/// Meta-arguments of resources: not part of the object sent to the
/// provider.
const RESOURCE_META: &[&str] = &[
    "count",
    "for_each",
    "provider",
    "depends_on",
    "lifecycle",
    "provisioner",
    "connection",
    "dynamic",
];

/// The evaluated configuration of a resource instance: its arguments and
/// nested blocks (with `dynamic` blocks expanded) as an object.
pub(crate) fn resource_config(node: &Node, ev: &mut Evaluator) -> Result<Value, EvalError> {
    let Some(body) = node.body.as_map() else {
        return Ok(Value::empty_object());
    };
    let mut out = rewind_eval::Map::new();
    for (k, v) in body {
        if RESOURCE_META.contains(&k.as_str()) {
            continue;
        }
        out.insert(k.clone(), block_or_value(v, ev).map_err(|e| e.within(k))?);
    }
    if let Some(d) = body.get("dynamic") {
        dynamic_blocks(d, ev, &mut out).map_err(|e| e.within("dynamic"))?;
    }
    Ok(Value::object(out))
}

/// A nested body (a map of arguments and blocks) with its own `dynamic`
/// blocks expanded.
fn nested_body(m: &rewind_model::Map<String, Lit>, ev: &mut Evaluator) -> Result<Value, EvalError> {
    let mut out = rewind_eval::Map::new();
    for (k, v) in m {
        if k == "dynamic" {
            continue;
        }
        out.insert(k.clone(), block_or_value(v, ev).map_err(|e| e.within(k))?);
    }
    if let Some(d) = m.get("dynamic") {
        dynamic_blocks(d, ev, &mut out).map_err(|e| e.within("dynamic"))?;
    }
    Ok(Value::object(out))
}

fn block_or_value(v: &Lit, ev: &mut Evaluator) -> Result<Value, EvalError> {
    match v {
        // nested blocks: a list of bodies
        Lit::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Lit::Map(_))) => {
            let mut out = Vec::with_capacity(items.len());
            for (n, i) in items.iter().enumerate() {
                let v = match i {
                    Lit::Map(m) => nested_body(m, ev),
                    other => lit_value(other, ev),
                };
                out.push(v.map_err(|e| e.within(n.to_string()))?);
            }
            Ok(Value::tuple(out))
        }
        other => lit_value(other, ev),
    }
}

/// Expands `dynamic "NAME" { for_each = ..., iterator = ..., content { } }`
/// into `NAME` blocks.
fn dynamic_blocks(
    d: &Lit,
    ev: &mut Evaluator,
    out: &mut rewind_eval::Map<String, Value>,
) -> Result<(), EvalError> {
    // `dynamic "LABEL" { ... }` blocks are kept as a map from label to the
    // list of their bodies
    let groups: Vec<&Lit> = match d {
        Lit::Map(_) => vec![d],
        Lit::List(items) => items.iter().collect(),
        _ => return Ok(()),
    };
    for g in groups {
        let Some(by_label) = g.as_map() else { continue };
        for (label, specs) in by_label {
            let Lit::List(specs) = specs else { continue };
            for spec in specs {
                let Some(spec) = spec.as_map() else { continue };
                let iterator = match spec.get("iterator") {
                    Some(Lit::Expr(e)) => match &**e {
                        Expr::Traversal { root, ops, .. } if ops.is_empty() => root.clone(),
                        _ => label.clone(),
                    },
                    Some(Lit::String(s)) => s.clone(),
                    _ => label.clone(),
                };
                let coll = match spec.get("for_each") {
                    Some(f) => lit_value(f, ev)?,
                    None => {
                        return Err(EvalError::new(
                            "Missing required argument",
                            format!("dynamic {label:?} has no for_each"),
                        ))
                    }
                };
                let (coll, marked) = coll.unmark();
                let existing = out.remove(label);
                if !coll.is_known() || coll.has_opaque() {
                    out.insert(label.clone(), Value::unknown());
                    continue;
                }
                let elems = rewind_eval::expr::elements(coll).ok_or_else(|| {
                    EvalError::new(
                        "Invalid dynamic for_each value",
                        format!(
                            "cannot use a {} value in for_each",
                            coll.ty().friendly_name()
                        ),
                    )
                })?;
                let mut blocks: Vec<Value> = match existing {
                    Some(Value::Tuple(items)) => items.to_vec(),
                    _ => Vec::new(),
                };
                let content = spec.get("content").and_then(|c| match c {
                    Lit::List(l) => l.first().and_then(Lit::as_map),
                    _ => None,
                });
                for (k, v) in elems {
                    let mut it = rewind_eval::Map::new();
                    it.insert("key".to_string(), k);
                    it.insert("value".to_string(), v);
                    ev.bind(&iterator, Value::object(it).mark_if(marked));
                    let block = match content {
                        Some(c) => nested_body(c, ev),
                        None => Ok(Value::empty_object()),
                    };
                    ev.unbind();
                    blocks.push(block?);
                }
                out.insert(label.clone(), Value::tuple(blocks));
            }
        }
    }
    Ok(())
}

/// A body value as a Terraform value: literals as values (`[...]` as a
/// tuple, `{...}` as an object), expressions evaluated.
pub(crate) fn lit_value(v: &Lit, ev: &mut Evaluator) -> Result<Value, EvalError> {
    let value = lit_parts(v, ev)?;
    if matches!(v, Lit::List(_) | Lit::Map(_)) {
        // a list or map of references can hold a value more than once
        ev.bound(&value)?;
    }
    Ok(value)
}

fn lit_parts(v: &Lit, ev: &mut Evaluator) -> Result<Value, EvalError> {
    Ok(match v {
        Lit::Null => Value::null(),
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Number(n) => Value::Number(
            rewind_eval::Number::parse(n)
                .map_err(|e| EvalError::new("Invalid number", format!("{n}: {e}")))?,
        ),
        Lit::String(s) => Value::string(s),
        Lit::List(items) => Value::tuple(
            items
                .iter()
                .enumerate()
                .map(|(n, i)| lit_value(i, ev).map_err(|e| e.within(n.to_string())))
                .collect::<Result<_, _>>()?,
        ),
        Lit::Map(m) => Value::object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), lit_value(x, ev).map_err(|e| e.within(k))?)))
                .collect::<Result<_, EvalError>>()?,
        ),
        Lit::Expr(e) => ev.eval(e)?,
    })
}

/// The scope of one module instance (and one resource instance's
/// repetition, when evaluating a resource).
pub(crate) struct InstanceScope<'w> {
    pub walk: &'w Walk<'w>,
    pub mid: u32,
    path: &'w str,
    index: &'w crate::config::ModuleIndex<'w>,
    pub rep: Repetition,
    /// `self`: a postcondition's planned value.
    this: Option<Value>,
    /// Evaluating a rule of this node: what reads a secret is marked (see
    /// [`InstanceScope::reads_secret`]).
    secrets: Option<&'w Node>,
}

impl InstanceScope<'_> {
    fn not_ready(&self, what: &str) -> EvalError {
        EvalError::new(
            "Reference not evaluated",
            format!(
                "{what} in {} was needed before it was evaluated (rewind's dependency order missed it)",
                if self.walk.modules[self.mid as usize].is_root() {
                    "the root module".to_string()
                } else {
                    self.walk.modules[self.mid as usize].to_string()
                }
            ),
        )
    }

    fn undeclared(&self, kind: &str, name: &str) -> EvalError {
        EvalError::new(
            format!("Reference to undeclared {kind}"),
            format!(
                "{name} is not declared in {}",
                if self.path.is_empty() {
                    "the root module".to_string()
                } else {
                    self.path.to_string()
                }
            ),
        )
    }

    /// A reference to a resource (`local` is `TYPE.NAME` or
    /// `data.TYPE.NAME`) and the steps after it: instance selection and
    /// the first attribute are resolved here, so attributes only the plan
    /// knows come out right. Returns the value and the steps used.
    fn resource(
        &self,
        mode: Mode,
        type_: &str,
        name: &str,
        ops: &[TravOp],
        ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        let by_type = match mode {
            Mode::Managed => &self.index.managed,
            Mode::Data => &self.index.data,
        };
        let local = || match mode {
            Mode::Managed => format!("{type_}.{name}"),
            Mode::Data => format!("data.{type_}.{name}"),
        };
        let ni = by_type
            .get(type_)
            .and_then(|m| m.get(name))
            .copied()
            .ok_or_else(|| self.undeclared("resource", &local()))?;
        let r = self
            .walk
            .resource_of(ni, self.mid)
            .ok_or_else(|| self.not_ready(&local()))?;
        match &r.expansion {
            Expansion::Unknown(_) => Ok((Value::unknown(), 0)),
            Expansion::Single => {
                let inst = r
                    .instances
                    .get(&InstanceKey::None)
                    .ok_or_else(|| self.not_ready(&local()))?;
                match ops.first() {
                    Some(TravOp::Attr(a)) => Ok((inst.attr(a)?, 1)),
                    _ => Ok((inst.value.clone(), 0)),
                }
            }
            Expansion::Count(_) | Expansion::ForEach(_) => {
                let key = match ops.first() {
                    Some(TravOp::Index(e)) => Some(ev.eval(e)?),
                    Some(TravOp::LegacyIndex(n)) => Some(Value::int(*n as i64)),
                    Some(TravOp::FullSplat) | Some(TravOp::AttrSplat)
                        if matches!(r.expansion, Expansion::Count(_)) =>
                    {
                        return self.splat(r, ops, ev);
                    }
                    _ => None,
                };
                let Some(key) = key else {
                    // all the instances: each is within the limits, but
                    // together they may repeat a shared value many times
                    let v = r.value();
                    ev.bound(&v)?;
                    return Ok((v, 0));
                };
                let (k, _) = key.unmark();
                if !k.is_known() || k.has_opaque() {
                    return Ok((Value::unknown(), ops.len()));
                }
                let ikey = match (&r.expansion, k) {
                    (Expansion::Count(_), _) => {
                        let n = convert(k, &Type::Number).map_err(|_| {
                            EvalError::new("Invalid index", "A number is required.")
                        })?;
                        InstanceKey::Int(n.as_number().and_then(|n| n.to_i64()).unwrap_or(-1))
                    }
                    (_, _) => {
                        let s = convert(k, &Type::String).map_err(|_| {
                            EvalError::new("Invalid index", "A string is required.")
                        })?;
                        InstanceKey::Str(s.as_str().unwrap_or_default().to_string())
                    }
                };
                let inst = r.instances.get(&ikey).ok_or_else(|| {
                    EvalError::new(
                        "Invalid index",
                        format!(
                            "The given key does not identify an element in this collection value: {}{ikey} is not an instance.",
                            local()
                        ),
                    )
                })?;
                match ops.get(1) {
                    Some(TravOp::Attr(a)) => Ok((inst.attr(a)?, 2)),
                    _ => Ok((inst.value.clone(), 1)),
                }
            }
        }
    }

    /// `TYPE.NAME[*].attr...` over the instances of a counted resource.
    fn splat(
        &self,
        r: &ResourceValue,
        ops: &[TravOp],
        ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        let end = match ops[0] {
            TravOp::FullSplat => ops.len(),
            _ => {
                let mut e = 1;
                while e < ops.len() && matches!(ops[e], TravOp::Attr(_) | TravOp::LegacyIndex(_)) {
                    e += 1;
                }
                e
            }
        };
        let mut items = Vec::with_capacity(r.instances.len());
        for inst in r.instances.values() {
            let v = match ops.get(1) {
                Some(TravOp::Attr(a)) if end > 1 => {
                    let v = inst.attr(a)?;
                    ev.apply_ops(v, &ops[2..end])?
                }
                _ => ev.apply_ops(inst.value.clone(), &ops[1..end])?,
            };
            items.push(v);
        }
        let v = Value::tuple(items);
        ev.bound(&v)?;
        Ok((v, end))
    }

    /// Resolves a reference to `module.NAME` (`ops` starts at NAME): the
    /// call's outputs as an object, a tuple of them (`count`) or an object
    /// of them by key (`for_each`); only the output the reference reads
    /// when it names one. Returns the value and how many of `ops` it used.
    fn module_call(&self, name: &str, ops: &[TravOp]) -> Result<(Value, usize), EvalError> {
        let Some(&ci) = self.index.calls.get(name) else {
            return Err(self.undeclared("module", &format!("module.{name}")));
        };
        let call = self.walk.cfg.node(ci);
        if self.walk.unknown_calls.contains(&(self.mid, ci)) {
            return Ok((Value::unknown(), 1));
        }
        let children: &[u32] = self
            .walk
            .children
            .get(&(self.mid, ci))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let repeated = call.body.get("count").is_some() || call.body.get("for_each").is_some();
        let wanted = wanted_output(repeated, ops);
        if call.facts.more.resolved == Some(rewind_model::ModuleSource::Remote) {
            return Ok(self.remote_module_call(call, children, repeated, wanted));
        }
        let call_local = format!("module.{name}");
        let outputs_of = |id: u32| self.module_outputs(call, &call_local, id, wanted);
        if !repeated {
            let id = children
                .first()
                .copied()
                .ok_or_else(|| self.not_ready(&call_local))?;
            let obj = outputs_of(id)?;
            if let (Some(o), Some(TravOp::Attr(_))) = (wanted, ops.get(1)) {
                return Ok((obj.get_attr(o).cloned().unwrap_or_else(Value::null), 2));
            }
            return Ok((obj, 1));
        }
        if call.body.get("count").is_some() {
            let mut items = Vec::new();
            for &id in children {
                items.push(outputs_of(id)?);
            }
            Ok((Value::tuple(items), 1))
        } else {
            let mut m = rewind_eval::Map::new();
            for &id in children {
                m.insert(
                    for_each_key(&self.walk.modules[id as usize]),
                    outputs_of(id)?,
                );
            }
            Ok((Value::object(m), 1))
        }
    }

    /// The outputs of a call to a remote module that was not downloaded,
    /// for each of its instances `children`: values rewind cannot see,
    /// named by the call and its arguments (the same module given the same
    /// arguments gives the same outputs). Only the `wanted` output when
    /// the reference names one.
    fn remote_module_call(
        &self,
        call: &Node,
        children: &[u32],
        repeated: bool,
        wanted: Option<&str>,
    ) -> (Value, usize) {
        let opaque_outputs = |id: u32| -> Value {
            let given = self.walk.remote_given(id, call, self.mid);
            let inst = self.walk.modules[id as usize].to_string();
            let sym =
                |o: &str| rewind_eval::render::opaque(Type::Dynamic, format!("{inst}.{o} {given}"));
            match wanted {
                Some(o) => {
                    let mut m = rewind_eval::Map::new();
                    m.insert(o.to_string(), sym(o));
                    Value::object(m)
                }
                None => sym("*"),
            }
        };
        if !repeated {
            let Some(&id) = children.first() else {
                return (Value::unknown(), 1);
            };
            let obj = opaque_outputs(id);
            return match wanted {
                Some(o) => (obj.get_attr(o).cloned().unwrap_or_else(Value::unknown), 2),
                None => (obj, 1),
            };
        }
        let items: Vec<Value> = children.iter().map(|&id| opaque_outputs(id)).collect();
        (Value::tuple(items), 1)
    }

    /// The outputs of module instance `id`, made by `call` (named
    /// `call_local` in messages), as an object: all of them, or only the
    /// `wanted` one. An output not yet evaluated is an error (the
    /// dependency order missed it), and so is a `wanted` output the module
    /// does not declare.
    fn module_outputs(
        &self,
        call: &Node,
        call_local: &str,
        id: u32,
        wanted: Option<&str>,
    ) -> Result<Value, EvalError> {
        let child_index = self.walk.cfg.module(call.address.as_str());
        let mut m = rewind_eval::Map::new();
        match wanted {
            Some(o) => {
                let oi = child_index.outputs.get(o).copied().ok_or_else(|| {
                    EvalError::new(
                        "Unsupported attribute",
                        format!("This object does not have an attribute named {o:?} ({call_local} has no such output)."),
                    )
                })?;
                let v = self
                    .walk
                    .value_of(oi, id)
                    .cloned()
                    .ok_or_else(|| self.not_ready(&format!("{call_local}.{o}")))?;
                m.insert(o.to_string(), v);
            }
            None => {
                for (name, &i) in &child_index.outputs {
                    let v = self
                        .walk
                        .value_of(i, id)
                        .cloned()
                        .ok_or_else(|| self.not_ready(&format!("{call_local}.{name}")))?;
                    m.insert(name.to_string(), v);
                }
            }
        }
        Ok(Value::object(m))
    }

    /// Resolves `var.NAME` or `local.NAME` (`root` is `var` or `local`):
    /// the value evaluated for this module instance.
    fn variable_or_local(&self, root: &str, name: &str) -> Result<(Value, usize), EvalError> {
        let (map, kind) = if root == "var" {
            (&self.index.vars, "input variable")
        } else {
            (&self.index.locals, "local value")
        };
        let ni = map
            .get(name)
            .copied()
            .ok_or_else(|| self.undeclared(kind, &format!("{root}.{name}")))?;
        let v = self
            .walk
            .value_of(ni, self.mid)
            .cloned()
            .ok_or_else(|| self.not_ready(&format!("{root}.{name}")))?;
        Ok((v, 1))
    }

    /// Resolves `count.ATTR`: `count.index` of this instance; an error
    /// outside a counted block, or for any other attribute.
    fn count_attr(&self, attr: Option<&str>) -> Result<(Value, usize), EvalError> {
        match attr {
            Some("index") => match self.rep.count {
                Some(i) => Ok((Value::int(i), 1)),
                None => Err(EvalError::new(
                    "Reference to \"count\" in non-counted context",
                    "The \"count\" object can only be used in \"module\", \"resource\", and \"data\" blocks, and only when the \"count\" argument is set.",
                )),
            },
            _ => Err(EvalError::new(
                "Invalid \"count\" attribute",
                "The \"count\" object does not have an attribute with that name; only \"index\".",
            )),
        }
    }

    /// Resolves `each.key` or `each.value` of this instance; an error
    /// outside a block with `for_each`, or for any other attribute.
    fn each_attr(&self, attr: Option<&str>) -> Result<(Value, usize), EvalError> {
        match (&self.rep.each, attr) {
            (Some((k, _)), Some("key")) => Ok((Value::string(k), 1)),
            (Some((_, v)), Some("value")) => Ok((v.clone(), 1)),
            (Some(_), _) => Err(EvalError::new(
                "Invalid \"each\" attribute",
                "The \"each\" object has only \"key\" and \"value\".",
            )),
            (None, _) => Err(EvalError::new(
                "Reference to \"each\" in context without for_each",
                "The \"each\" object can be used only in \"module\" or \"resource\" blocks, and only when the \"for_each\" argument is set.",
            )),
        }
    }

    /// Resolves `path.module` (the module's directory, relative to the
    /// root), `path.root` and `path.cwd` (both `.`).
    fn path_attr(&self, attr: Option<&str>) -> Result<(Value, usize), EvalError> {
        match attr {
            Some("module") => Ok((Value::string(self.walk.cfg.path_module(self.path)), 1)),
            Some("root") | Some("cwd") => Ok((Value::string("."), 1)),
            _ => Err(EvalError::new(
                "Invalid \"path\" attribute",
                "The \"path\" object has only \"module\", \"root\" and \"cwd\".",
            )),
        }
    }

    /// Resolves `terraform.workspace`: the workspace the walk was given,
    /// `default` when none.
    fn terraform_attr(&self, attr: Option<&str>) -> Result<(Value, usize), EvalError> {
        match attr {
            Some("workspace") => Ok((
                Value::string(if self.walk.inputs.workspace.is_empty() {
                    "default"
                } else {
                    &self.walk.inputs.workspace
                }),
                1,
            )),
            _ => Err(EvalError::new(
                "Invalid \"terraform\" attribute",
                "The \"terraform\" object has only \"workspace\".",
            )),
        }
    }
}

/// The `for_each` key that made module instance `m` (its last step), as
/// the key of the object a reference to the call reads.
fn for_each_key(m: &ModuleInstance) -> String {
    match m.0.last().map(|s| &s.key) {
        Some(InstanceKey::Str(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// The one output a reference to a module call reads, when it names one:
/// `module.x.o` on a call without `count` or `for_each`, `module.x[k].o` on
/// a repeated call, and `module.x[*].o` on either (on a call without
/// repetition the splat reads `o` only, like on a repeated call). `None`:
/// the reference reads all of them (a whole-module reference). `ops` starts
/// at the call's name.
fn wanted_output(repeated: bool, ops: &[TravOp]) -> Option<&str> {
    match (repeated, ops.get(1), ops.get(2)) {
        (false, Some(TravOp::Attr(o)), _) => Some(o.as_str()),
        (false, Some(TravOp::FullSplat | TravOp::AttrSplat), Some(TravOp::Attr(o))) => {
            Some(o.as_str())
        }
        (true, Some(TravOp::Index(_) | TravOp::LegacyIndex(_)), Some(TravOp::Attr(o))) => {
            Some(o.as_str())
        }
        (true, Some(TravOp::FullSplat | TravOp::AttrSplat), Some(TravOp::Attr(o))) => {
            Some(o.as_str())
        }
        _ => None,
    }
}

/// The error for a reference to `what` (`var`, `data`, ...) with no
/// attribute name after it.
fn needs_attribute(what: &str) -> EvalError {
    EvalError::new(
        "Invalid reference",
        format!("A reference to {what} needs an attribute name after it."),
    )
}

fn attr_name(ops: &[TravOp], i: usize) -> Option<&str> {
    match ops.get(i) {
        Some(TravOp::Attr(a)) => Some(a),
        _ => None,
    }
}

/// The number of instances a known `count` value `n` asks for: a whole
/// number, not negative, at most [`MAX_INSTANCES`].
fn instance_count(n: &rewind_eval::Number) -> Result<usize, String> {
    if n.is_integer() && !n.is_negative() && n.to_i64().is_none_or(|i| i as usize > MAX_INSTANCES) {
        return Err(format!(
            "count: {} instances is more than rewind plans ({MAX_INSTANCES} per resource)",
            if n.to_i64().is_some() {
                n.to_string()
            } else {
                "so many".to_string()
            }
        ));
    }
    let i = n.to_i64().filter(|i| *i >= 0).ok_or_else(|| {
        format!("count: the \"count\" argument must be a whole number, not negative (got {n})")
    })?;
    if i as usize > MAX_INSTANCES {
        return Err(format!(
            "count: {i} instances is more than rewind plans ({MAX_INSTANCES} per resource)"
        ));
    }
    Ok(i as usize)
}

/// The instance keys of a `for_each` set of element type `t`: its strings,
/// in the set's order; `None` when one of them is known only after apply.
/// A set of anything but strings, or holding null, is an error.
fn set_keys(t: &Type, items: &[Value]) -> Result<Option<Vec<String>>, String> {
    if !matches!(t, Type::String | Type::Dynamic) {
        return Err(format!(
            "for_each: a set must hold strings, not {}",
            t.friendly_name()
        ));
    }
    let mut keys = Vec::new();
    for i in items {
        if !i.is_known() || i.has_opaque() {
            return Ok(None);
        }
        if i.is_null() {
            return Err("for_each: a set of strings must not hold null".into());
        }
        match i.unmark().0 {
            Value::String(s) => keys.push(s.to_string()),
            other => {
                return Err(format!(
                    "for_each: a set must hold strings, not {}",
                    other.ty().friendly_name()
                ))
            }
        }
    }
    Ok(Some(keys))
}

impl Scope for InstanceScope<'_> {
    fn resolve(
        &self,
        root: &str,
        ops: &[TravOp],
        ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        let (v, used) = self.lookup(root, ops, ev)?;
        match self.secrets {
            Some(node) if self.reads_secret(node, root, ops) => Ok((v.sensitive(), used)),
            _ => Ok((v, used)),
        }
    }

    fn files(&self) -> Option<&dyn Files> {
        self.walk.files
    }
}

impl InstanceScope<'_> {
    fn lookup(
        &self,
        root: &str,
        ops: &[TravOp],
        ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        match root {
            "var" | "local" => {
                let name = attr_name(ops, 0).ok_or_else(|| needs_attribute(root))?;
                self.variable_or_local(root, name)
            }
            "module" => {
                let name = attr_name(ops, 0).ok_or_else(|| needs_attribute(root))?;
                let (v, used) = self.module_call(name, ops)?;
                let one = matches!(ops.get(1), Some(TravOp::Index(_) | TravOp::LegacyIndex(_)));
                if used == 1 && !one {
                    // the outputs of all the instances: each is within the
                    // limits, together they may repeat a value many times
                    ev.bound(&v)?;
                }
                Ok((v, used))
            }
            "count" => self.count_attr(attr_name(ops, 0)),
            "each" => self.each_attr(attr_name(ops, 0)),
            "path" => self.path_attr(attr_name(ops, 0)),
            "terraform" => self.terraform_attr(attr_name(ops, 0)),
            // `self`: a postcondition's planned value; provisioners and
            // connections, which a plan does not evaluate, read it too
            "self" => Ok((self.this.clone().unwrap_or_else(Value::unknown), 0)),
            "data" | "resource" => {
                let t = attr_name(ops, 0).ok_or_else(|| needs_attribute(root))?;
                let n = attr_name(ops, 1).ok_or_else(|| needs_attribute(root))?;
                let mode = if root == "data" {
                    Mode::Data
                } else {
                    Mode::Managed
                };
                let (v, used) = self.resource(mode, t, n, &ops[2..], ev)?;
                Ok((v, 2 + used))
            }
            type_ => {
                let n = attr_name(ops, 0).ok_or_else(|| {
                    EvalError::new(
                        "Unknown variable",
                        format!("There is no variable named {type_:?}."),
                    )
                })?;
                let (v, used) = self.resource(Mode::Managed, type_, n, &ops[1..], ev)?;
                Ok((v, 1 + used))
            }
        }
    }
}
