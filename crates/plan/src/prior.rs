//! What is deployed now: the prior value of every resource instance, read
//! from the current side's state, or — without a state file — simulated by
//! evaluating the current configuration as if it had been applied.

use std::collections::{BTreeMap, HashMap};

use rewind_eval::{EvalError, Value};
use rewind_model::{EdgeKind, InstanceAddr, Mode, Model, NodeKind, PathStep, ResourceAddr};

use crate::config::Config;
use crate::walk::{Inputs, InstanceScope, InstanceValue, Missing, Planner, Walk};
use crate::{resource, PlanError};

/// One deployed object.
/// The resources (configuration addresses) an instance depended on: one
/// shared list per resource, as every instance of it has the same.
pub(crate) type Deps = std::sync::Arc<[std::sync::Arc<str>]>;

#[derive(Clone, Debug)]
pub(crate) struct PriorInstance {
    /// Its address now (before the target's moves).
    pub addr: InstanceAddr,
    pub type_: String,
    pub value: Value,
    pub tainted: bool,
    /// Created with create_before_destroy (as the state records it).
    pub cbd: bool,
    pub deposed: Option<String>,
    /// Resources (configuration addresses) it depended on, as recorded.
    pub deps: Deps,
}

/// Everything deployed.
pub(crate) struct Prior {
    pub managed: Vec<PriorInstance>,
    pub data: HashMap<InstanceAddr, Value>,
    pub from_state: bool,
    /// Without a state: which deployed instances hold create_before_destroy
    /// (known once the plan knows what the last apply wrote).
    pub recorded_cbd: Option<crate::cbd::RecordedCbd>,
}

/// The prior objects of a state file.
pub(crate) fn from_state(model: &Model) -> Result<Prior, PlanError> {
    let mut managed = Vec::new();
    let mut data = HashMap::new();
    let mut share = ShareParts::default();
    for n in &model.instances {
        if n.address.starts_with("output.") {
            continue;
        }
        let base = n.address.split(" (deposed").next().unwrap_or_default();
        let addr = InstanceAddr::parse(base)
            .map_err(|e| PlanError::Invalid(vec![format!("state instance {}: {e}", n.address)]))?;
        let mut ev = rewind_eval::Evaluator::new(&rewind_eval::EmptyScope);
        let attrs = crate::walk::lit_value(&n.body, &mut ev)
            .map_err(|e| PlanError::Invalid(vec![format!("state instance {}: {e}", n.address)]))?;
        let value = share.value(mark_paths(
            resource::from_state(&n.type_, attrs),
            &n.sensitive,
        ));
        let mode = match n.facts.mode {
            Some(rewind_model::ObjectMode::Data) => Mode::Data,
            _ => Mode::Managed,
        };
        if mode == Mode::Data {
            data.insert(addr, value);
            continue;
        }
        managed.push(PriorInstance {
            addr,
            type_: n.type_.clone(),
            value,
            tainted: n.facts.tainted,
            cbd: n.lifecycle().create_before_destroy,
            deposed: n.facts.more.deposed.clone(),
            deps: n
                .edges
                .iter()
                .filter(|e| e.kind == EdgeKind::State)
                .map(|e| std::sync::Arc::from(e.to.as_str()))
                .collect(),
        });
    }
    Ok(Prior {
        managed,
        data,
        from_state: true,
        recorded_cbd: None,
    })
}

/// The deployed values with their equal parts in one copy: a state
/// repeats the same nested values in instance after instance (the same
/// `tags` on every resource of a module, empty lists, a default block),
/// and the planner holds every instance's value for the whole plan. Values
/// are immutable, so sharing changes nothing else; equal means equal for
/// [`Value::raw_eq`], fingerprinted as the current configuration's
/// arguments are ([`hash_value`], 128 bits of BLAKE3).
#[derive(Default)]
struct ShareParts {
    /// The first of each nested value seen, by its fingerprint (only
    /// while the prior objects are read).
    seen: rustc_hash::FxHashMap<u128, Value>,
    buf: Vec<u8>,
}

impl ShareParts {
    /// `v` with each nested list, set, tuple, map and object replaced by
    /// an equal one seen before, if there was one.
    fn value(&mut self, mut v: Value) -> Value {
        self.parts_of(&mut v);
        v
    }

    fn parts_of(&mut self, v: &mut Value) {
        match v {
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                for x in std::sync::Arc::make_mut(items).iter_mut() {
                    self.part(x);
                }
            }
            Value::Map(_, m) | Value::Object(m) => {
                for x in std::sync::Arc::make_mut(m).values_mut() {
                    self.part(x);
                }
            }
            Value::Sensitive(inner) => self.parts_of(std::sync::Arc::make_mut(inner)),
            _ => {}
        }
    }

    /// A nested value: its own parts first, then itself.
    fn part(&mut self, x: &mut Value) {
        if !matches!(
            x,
            Value::List(..)
                | Value::Set(..)
                | Value::Tuple(_)
                | Value::Map(..)
                | Value::Object(_)
                | Value::Sensitive(_)
        ) {
            return;
        }
        self.parts_of(x);
        self.buf.clear();
        hash_value(x, &mut Bytes(&mut self.buf));
        let print = truncate(blake3::hash(&self.buf));
        match self.seen.entry(print) {
            std::collections::hash_map::Entry::Occupied(e) => *x = e.get().clone(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(x.clone());
            }
        }
    }
}

/// Marks the values at the state's `sensitive_attributes` paths.
pub(crate) fn mark_paths(v: Value, paths: &[rewind_model::Path]) -> Value {
    let mut v = v;
    for p in paths {
        v = mark_at(&v, &p.0);
    }
    v
}

/// A configuration's path into the content of a `dynamic "LABEL"` block
/// (`dynamic.LABEL[i].content[j]` then the rest): the label and the rest,
/// which is the path in each `LABEL` block the dynamic block makes.
pub(crate) fn in_dynamic_content(path: &[PathStep]) -> Option<(&str, &[PathStep])> {
    match path {
        [PathStep::Key(d), PathStep::Key(label), PathStep::Index(_), PathStep::Key(c), PathStep::Index(_), rest @ ..]
            if d == "dynamic" && c == "content" =>
        {
            Some((label, rest))
        }
        _ => None,
    }
}

/// Whether the value at `path` of an evaluated object is secret by one of
/// a configuration node's secret `paths` (one is a prefix of the other),
/// a path into a `dynamic` block's content standing for the same place in
/// every block of its label.
pub(crate) fn config_secret_at(paths: &[rewind_model::Path], path: &rewind_model::Path) -> bool {
    fn related(secret: &[PathStep], at: &[PathStep]) -> bool {
        if let Some((label, rest)) = in_dynamic_content(secret) {
            return match at {
                [] => true,
                [PathStep::Key(k)] => k == label,
                [PathStep::Key(k), PathStep::Index(_), more @ ..] => {
                    k == label && related(rest, more)
                }
                _ => false,
            };
        }
        match (secret, at) {
            ([], _) | (_, []) => true,
            ([a, more_a @ ..], [b, more_b @ ..]) => a == b && related(more_a, more_b),
        }
    }
    paths.iter().any(|p| related(&p.0, &path.0))
}

fn mark_at(v: &Value, path: &[PathStep]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return v.clone().sensitive();
    };
    let (inner, marked) = v.unmark();
    // the blocks a `dynamic` block made: the rest in each of them (and in
    // any written out beside them: which were made is not known here)
    if let (Some((label, rest)), Value::Object(m)) = (in_dynamic_content(path), inner) {
        if let Some(blocks) = m.get(label) {
            let blocks = match blocks.unmark() {
                (Value::Tuple(items), was) => {
                    Value::tuple(items.iter().map(|b| mark_at(b, rest)).collect()).mark_if(was)
                }
                (Value::List(t, items), was) => {
                    Value::list_of(t.clone(), items.iter().map(|b| mark_at(b, rest)).collect())
                        .mark_if(was)
                }
                (Value::Set(..), _) => blocks.clone().sensitive(),
                _ => mark_at(blocks, rest),
            };
            let mut m = (**m).clone();
            m.insert(label.to_string(), blocks);
            return Value::object(m).mark_if(marked);
        }
    }
    let out = match (first, inner) {
        (PathStep::Key(k), Value::Object(m)) if m.contains_key(k) => {
            let mut m = (**m).clone();
            let x = mark_at(&m[k], rest);
            m.insert(k.clone(), x);
            Value::object(m)
        }
        (PathStep::Key(k), Value::Map(t, m)) if m.contains_key(k) => {
            let mut m = (**m).clone();
            let x = mark_at(&m[k], rest);
            m.insert(k.clone(), x);
            Value::map_of(t.clone(), m)
        }
        (PathStep::Index(i), Value::Tuple(items)) if *i < items.len() => {
            let mut items = (**items).clone();
            items[*i] = mark_at(&items[*i], rest);
            Value::tuple(items)
        }
        (PathStep::Index(i), Value::List(t, items)) if *i < items.len() => {
            let mut items = (**items).clone();
            items[*i] = mark_at(&items[*i], rest);
            Value::list_of(t.clone(), items)
        }
        // a step a sequence does not have (an index a hand-written state
        // gives as a string, an element of a set, which has no index):
        // the whole sequence, rather than a secret shown
        (_, Value::List(..) | Value::Tuple(_) | Value::Set(..)) => inner.clone().sensitive(),
        _ => inner.clone(),
    };
    out.mark_if(marked)
}

/// Simulates the prior objects from the current configuration: each
/// instance holds its configuration, `terraform_data`'s output its input,
/// and what rewind cannot see (ids, computed attributes) opaque values
/// named after the instance.
pub(crate) fn simulate(
    cfg: &Config,
    inputs: &Inputs,
    files: Option<&dyn rewind_eval::Files>,
    deps: &HashMap<String, Deps>,
    cbd: crate::cbd::RecordedCbd,
) -> Result<Prior, PlanError> {
    let mut sim = Simulate {
        deps,
        managed: Vec::new(),
        data: HashMap::new(),
        errors: Vec::new(),
        unknown: Vec::new(),
    };
    let mut walk = Walk::new(cfg, inputs, files);
    walk.run(&mut sim);
    let mut errors: Vec<String> = walk
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.address, e.message))
        .collect();
    errors.extend(sim.errors);
    for (m, why) in &walk.unknown_modules {
        errors.push(format!(
            "{m}: without a state file rewind cannot know which instances are deployed: {why}"
        ));
    }
    for (r, why) in &sim.unknown {
        errors.push(format!(
            "{r}: without a state file rewind cannot know which instances are deployed: {why}"
        ));
    }
    if !errors.is_empty() {
        errors.sort();
        errors.dedup();
        return Err(PlanError::Current(errors));
    }
    Ok(Prior {
        managed: sim.managed,
        data: sim.data,
        from_state: false,
        recorded_cbd: Some(cbd),
    })
}

struct Simulate<'a> {
    deps: &'a HashMap<String, Deps>,
    managed: Vec<PriorInstance>,
    data: HashMap<InstanceAddr, Value>,
    errors: Vec<String>,
    unknown: Vec<(String, String)>,
}

impl Planner for Simulate<'_> {
    fn instance(
        &mut self,
        walk: &Walk,
        node: usize,
        addr: &InstanceAddr,
        config: Result<Value, EvalError>,
        _scope: &InstanceScope,
    ) -> InstanceValue {
        let n = walk.cfg.node(node);
        let name = addr.to_string();
        let config = match config {
            Ok(c) => c,
            Err(e) => {
                self.errors.push(format!("{name}: {e}"));
                return InstanceValue {
                    value: Value::unknown(),
                    missing: Missing::Unknown,
                };
            }
        };
        let value = resource::simulated(&n.type_, &name, &config);
        if n.kind == NodeKind::Data {
            self.data.insert(addr.clone(), value.clone());
        } else {
            let config_addr = addr.resource.config_address();
            self.managed.push(PriorInstance {
                addr: addr.clone(),
                type_: n.type_.clone(),
                value: value.clone(),
                tainted: false,
                // as the last apply recorded it: set by the plan once it
                // knows what that apply wrote (`recorded_cbd`)
                cbd: false,
                deposed: None,
                deps: self
                    .deps
                    .get(&config_addr)
                    .cloned()
                    .unwrap_or_else(|| Deps::from([])),
            });
        }
        InstanceValue {
            value,
            missing: Missing::Opaque(name),
        }
    }

    fn unknown_instances(&mut self, _walk: &Walk, _node: usize, r: &ResourceAddr, why: &str) {
        self.unknown.push((r.to_string(), why.to_string()));
    }
}

/// The current configuration evaluated over what is deployed: a
/// fingerprint of each argument of each instance that
/// [`resource::compare`] can use (see [`kept_argument`]), with
/// references reading the state's values (what Terraform's plan of the
/// current configuration would see), published into `args` node by node
/// as the walk goes, so that the target walk can run at the same time on
/// another thread (see [`CurrentArgs::of`]). Instances that cannot be
/// evaluated have none. `args` is finished when this returns, and when it
/// panics.
pub(crate) fn current_configs(
    cfg: &Config,
    inputs: &Inputs,
    files: Option<&dyn rewind_eval::Files>,
    prior: &Prior,
    args: &CurrentArgs,
) {
    // finishes `args` however the walk ends: a reader must not wait for
    // a walk that panicked
    struct Finish<'a, 'c>(&'a CurrentArgs<'c>);
    impl Drop for Finish<'_, '_> {
        fn drop(&mut self) {
            self.0.finish();
        }
    }
    let _finish = Finish(args);
    let mut deployed = AsDeployed {
        prior,
        by_addr: hashed_by_address(&prior.managed),
        args,
        pending: Vec::new(),
        buf: Vec::new(),
    };
    let mut walk = Walk::new(cfg, inputs, files);
    walk.run(&mut deployed);
}

/// The arguments the current configuration gives the deployed instances,
/// as fingerprints: 16 bytes of BLAKE3 over the instance's address, the
/// argument's name and its (wholly known, unmarked) value, by instance
/// (the fingerprint of its address). `compare` only asks whether the
/// current configuration gives an argument exactly the value the target
/// gives it, which a fingerprint answers without holding the value (two
/// different values share one with a probability of 2^-128). At 100,000
/// resources this is a few megabytes where the values themselves were
/// hundreds.
///
/// Written by the walk of the current configuration ([`current_configs`])
/// while the target walk reads it on another thread: the writer publishes
/// after each node of the current configuration's evaluation order, and
/// a reader asking for an instance waits until its node has been walked
/// (or the walk has finished), so it reads exactly what it would read
/// after the whole walk.
pub(crate) struct CurrentArgs<'c> {
    /// The current configuration, whose order the writer walks (`None`:
    /// nothing is being walked, everything is published).
    cfg: Option<&'c Config<'c>>,
    /// The position of each node of `cfg` in its order.
    position: Vec<u32>,
    shared: std::sync::Mutex<Published>,
    ready: std::sync::Condvar,
}

/// How many nodes past the one it needs a reader of [`CurrentArgs`] that
/// caught up with the writer waits for.
const AHEAD: usize = 256;

/// What the writer of [`CurrentArgs`] has published so far.
#[derive(Default)]
struct Published {
    /// How many nodes of the order have been walked.
    walked: usize,
    /// The walk is over (or never started).
    finished: bool,
    /// A reader is waiting until `wanted` nodes have been walked (the
    /// writer then wakes it).
    waiting: bool,
    wanted: usize,
    /// The fingerprints of the kept arguments, by instance (by the
    /// fingerprint of its address: 16 bytes where the address was more
    /// than 150 at 100,000 instances).
    prints: rustc_hash::FxHashMap<u128, Box<[u128]>>,
}

impl<'c> CurrentArgs<'c> {
    /// Fingerprints the walk of `cfg` will publish.
    pub(crate) fn new(cfg: &'c Config<'c>) -> CurrentArgs<'c> {
        let mut position = vec![u32::MAX; cfg.model.nodes.len()];
        for (pos, &ni) in cfg.order.iter().enumerate() {
            position[ni] = pos as u32;
        }
        CurrentArgs {
            cfg: Some(cfg),
            position,
            shared: std::sync::Mutex::new(Published::default()),
            ready: std::sync::Condvar::new(),
        }
    }

    /// Fingerprints nothing will be added to but what the caller
    /// publishes itself (tests).
    #[cfg(test)]
    fn finished() -> CurrentArgs<'static> {
        CurrentArgs {
            cfg: None,
            position: Vec::new(),
            shared: std::sync::Mutex::new(Published {
                finished: true,
                ..Published::default()
            }),
            ready: std::sync::Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Published> {
        // a writer that panicked has finished (see `current_configs`):
        // what it published stays readable
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Publishes the fingerprints of `pending` (by instance), and that the
    /// first `walked` nodes of the order have been walked.
    fn publish(&self, walked: usize, pending: &mut Vec<(u128, Vec<u128>)>) {
        let mut p = self.lock();
        for (owner, prints) in pending.drain(..) {
            let all = match p.prints.remove(&owner) {
                // an instance walked twice (not in a valid walk): both kept
                Some(before) => before.iter().copied().chain(prints).collect(),
                None => prints.into_boxed_slice(),
            };
            p.prints.insert(owner, all);
        }
        p.walked = walked;
        if p.waiting && walked >= p.wanted {
            p.waiting = false;
            self.ready.notify_all();
        }
    }

    /// The walk is over: no reader waits any more.
    fn finish(&self) {
        let mut p = self.lock();
        p.finished = true;
        p.waiting = false;
        self.ready.notify_all();
    }

    /// The current configuration's arguments of the instance at `addr`
    /// (whose resource's configuration address is `config`), to ask
    /// [`Given::gives`]; once the walk has walked its resource (an
    /// instance of a resource the current configuration does not have
    /// has none).
    pub(crate) fn of(&self, addr: &InstanceAddr, config: &str) -> Given {
        debug_assert_eq!(addr.resource.config_address(), config);
        let needed = match self.cfg {
            Some(cfg) => cfg.find(config).map(|ni| self.position[ni] as usize),
            None => Some(0),
        };
        let mut buf = Vec::new();
        let owner = owner_print(&mut buf, addr);
        let prints = match needed {
            None => Box::default(),
            Some(pos) => {
                let mut p = self.lock();
                if p.walked <= pos && !p.finished {
                    // caught up with the writer: wait until it is a few
                    // nodes past this one, so that the next instances do
                    // not each wait (and wake) again
                    let total = self.position.len();
                    let wanted = (pos + 1 + AHEAD).min(total).max(pos + 1);
                    while p.walked < wanted && !p.finished {
                        p.waiting = true;
                        p.wanted = wanted;
                        p = self
                            .ready
                            .wait(p)
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                    }
                }
                p.prints.get(&owner).cloned().unwrap_or_default()
            }
        };
        Given {
            prints,
            owner,
            buf: std::cell::RefCell::new(buf),
        }
    }

    /// How many fingerprints were published (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().prints.values().map(|p| p.len()).sum()
    }
}

/// The fingerprints of the arguments of `config` (the configuration of the
/// instance at `addr`) that `compare` can use, with the instance's
/// address: none when it has none.
fn kept_prints(
    buf: &mut Vec<u8>,
    addr: &InstanceAddr,
    config: &Value,
    deployed: &Value,
) -> Option<(u128, Vec<u128>)> {
    let config = config.unmark_deep().0;
    let args = config.as_mapping()?;
    let deployed = deployed.unmark_deep().0;
    let mut owner = None;
    let mut prints = Vec::new();
    for (k, v) in args.iter() {
        if kept_argument(k, v, &deployed) {
            let o = *owner.get_or_insert_with(|| owner_print(buf, addr));
            prints.push(arg_print(buf, o, k, v));
        }
    }
    owner.map(|o| (o, prints))
}

/// The current configuration's arguments of one instance.
pub(crate) struct Given {
    /// Their fingerprints.
    prints: Box<[u128]>,
    owner: u128,
    buf: std::cell::RefCell<Vec<u8>>,
}

impl Given {
    /// Whether the current configuration gives the argument `name` exactly
    /// `value` (unmarked; compared as [`Value::raw_eq`] does), wholly
    /// known.
    pub(crate) fn gives(&self, name: &str, value: &Value) -> bool {
        if self.prints.is_empty() || !value.is_wholly_known() {
            return false;
        }
        let print = arg_print(&mut self.buf.borrow_mut(), self.owner, name, value);
        self.prints.contains(&print)
    }
}

fn owner_print(buf: &mut Vec<u8>, addr: &InstanceAddr) -> u128 {
    use std::hash::Hash;
    buf.clear();
    addr.hash(&mut Bytes(buf));
    truncate(blake3::hash(buf))
}

fn arg_print(buf: &mut Vec<u8>, owner: u128, name: &str, value: &Value) -> u128 {
    use std::hash::Hash;
    buf.clear();
    buf.extend_from_slice(&owner.to_le_bytes());
    let mut h = Bytes(buf);
    name.hash(&mut h);
    hash_value(value, &mut h);
    truncate(blake3::hash(buf))
}
fn truncate(h: blake3::Hash) -> u128 {
    let b = h.as_bytes();
    let mut first = [0u8; 16];
    first.copy_from_slice(&b[..16]);
    u128::from_le_bytes(first)
}

/// A [`std::hash::Hasher`] that only collects the bytes it is given
/// (hashed once, whole, by BLAKE3).
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::hash::Hasher for Bytes<'_> {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn finish(&self) -> u64 {
        0
    }
}

/// Feeds `v` to `h` so that values equal for [`Value::raw_eq`] feed the
/// same bytes, and values that are not feed different ones (each variant
/// tagged, each sequence and mapping preceded by its length, strings by
/// `str`'s own prefix-free hashing).
fn hash_value(v: &Value, h: &mut Bytes) {
    use std::hash::Hash;
    match v {
        Value::Null(t) => (0u8, t).hash(h),
        Value::Unknown(t) => (1u8, t).hash(h),
        Value::Bool(b) => (2u8, b).hash(h),
        Value::Number(n) => (3u8, n).hash(h),
        Value::String(s) => (4u8, &**s).hash(h),
        Value::List(t, items) | Value::Set(t, items) => {
            let tag = if matches!(v, Value::List(..)) {
                5u8
            } else {
                6u8
            };
            (tag, t, items.len()).hash(h);
            items.iter().for_each(|x| hash_value(x, h));
        }
        Value::Tuple(items) => {
            (7u8, items.len()).hash(h);
            items.iter().for_each(|x| hash_value(x, h));
        }
        Value::Map(t, m) => {
            (8u8, t).hash(h);
            hash_mapping(m, h);
        }
        Value::Object(m) => {
            9u8.hash(h);
            hash_mapping(m, h);
        }
        Value::Sensitive(inner) => {
            10u8.hash(h);
            hash_value(inner, h);
        }
        Value::Opaque(t, s) => (11u8, t, &**s).hash(h),
        Value::Partial(p) => {
            12u8.hash(h);
            hash_value(&p.rest, h);
            hash_mapping(&p.attrs, h);
        }
    }
}

fn hash_mapping(m: &rewind_eval::Map<String, Value>, h: &mut Bytes) {
    use std::hash::Hash;
    m.len().hash(h);
    for (k, x) in m.iter() {
        k.hash(h);
        hash_value(x, h);
    }
}

struct AsDeployed<'p, 'a, 'c> {
    prior: &'p Prior,
    by_addr: rustc_hash::FxHashMap<&'p InstanceAddr, usize>,
    args: &'a CurrentArgs<'c>,
    /// Fingerprints not published yet, by instance.
    pending: Vec<(u128, Vec<u128>)>,
    /// Reused for the bytes each fingerprint hashes.
    buf: Vec<u8>,
}

impl Planner for AsDeployed<'_, '_, '_> {
    fn instance(
        &mut self,
        walk: &Walk,
        node: usize,
        addr: &InstanceAddr,
        config: Result<Value, EvalError>,
        _scope: &InstanceScope,
    ) -> InstanceValue {
        let n = walk.cfg.node(node);
        let deployed = if n.kind == NodeKind::Data {
            self.prior.data.get(addr).cloned()
        } else {
            self.by_addr
                .get(addr)
                .map(|&i| self.prior.managed[i].value.clone())
        };
        if let (Ok(c), Some(d)) = (&config, &deployed) {
            if let Some(kept) = kept_prints(&mut self.buf, addr, c, d) {
                self.pending.push(kept);
            }
        }
        let value = match (deployed, config) {
            (Some(v), _) => v,
            (None, Ok(c)) => resource::simulated(&n.type_, &addr.to_string(), &c),
            (None, Err(_)) => Value::unknown(),
        };
        InstanceValue {
            value,
            missing: Missing::Unknown,
        }
    }

    fn unknown_instances(&mut self, _: &Walk, _: usize, _: &ResourceAddr, _: &str) {}

    fn walked(&mut self, walked: usize) {
        self.args.publish(walked, &mut self.pending);
    }
}

/// Whether `compare` can use the argument `name` of an instance's current
/// configuration (unmarked): only when it is wholly known and not the
/// deployed value. `compare` only reads an argument of the current
/// configuration to find the target giving the same wholly known value;
/// an argument whose current value is the deployed value compares the
/// same without it (the target's value is then the deployed one too), and
/// one not wholly known is never read. Keeping only the rest keeps a few
/// arguments of the instances that drifted instead of the whole evaluated
/// configuration of every deployed instance.
fn kept_argument(name: &str, value: &Value, deployed: &Value) -> bool {
    value.is_wholly_known()
        && !deployed
            .get_attr(name)
            .is_some_and(|d| d.is_wholly_known() && d.raw_eq(value))
}

/// Prior objects by address, for lookups (the addresses borrowed, not
/// copied: 100,000 of them are tens of megabytes).
pub(crate) fn by_address(managed: &[PriorInstance]) -> BTreeMap<&InstanceAddr, usize> {
    managed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.deposed.is_none())
        .map(|(i, p)| (&p.addr, i))
        .collect()
}

/// Prior objects by address, as [`by_address`] gives them, for lookups
/// only (hashed: no order).
pub(crate) fn hashed_by_address(
    managed: &[PriorInstance],
) -> rustc_hash::FxHashMap<&InstanceAddr, usize> {
    let mut out = rustc_hash::FxHashMap::default();
    out.reserve(managed.len());
    // the last of equal addresses, as `by_address` keeps it
    for (i, p) in managed.iter().enumerate() {
        if p.deposed.is_none() {
            out.insert(&p.addr, i);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rewind_eval::Type;

    fn obj(attrs: &[(&str, Value)]) -> Value {
        Value::object(
            attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn addr(s: &str) -> InstanceAddr {
        InstanceAddr::parse(s).expect("an address")
    }

    fn kept(config: &Value, deployed: &Value) -> CurrentArgs<'static> {
        let args = CurrentArgs::finished();
        let mut pending: Vec<_> =
            kept_prints(&mut Vec::new(), &addr("aws_instance.web"), config, deployed)
                .into_iter()
                .collect();
        args.publish(1, &mut pending);
        args
    }

    #[test]
    fn only_arguments_whose_current_value_is_not_the_deployed_one_are_kept() {
        let tags = obj(&[
            ("Name", Value::string("web")),
            ("Env", Value::string("prod")),
        ]);
        // a provider that stored the policy reformatted, and a name the
        // configuration changed since it was applied
        let config = obj(&[
            ("name", Value::string("web-2")),
            ("policy", Value::string("{\"a\": 1}")),
            ("tags", tags.clone()),
            ("password", Value::string("hunter2").mark_if(true)),
            ("arn", Value::unknown()),
        ]);
        let deployed = obj(&[
            ("name", Value::string("web-1")),
            ("policy", Value::string("{\"a\":1}")),
            ("tags", tags.clone()),
            ("password", Value::string("hunter2")),
            ("id", Value::string("i-123")),
        ]);
        let args = kept(&config, &deployed);
        assert_eq!(args.len(), 2);
        let web = args.of(&addr("aws_instance.web"), "aws_instance.web");
        assert!(web.gives("name", &Value::string("web-2")));
        assert!(web.gives("policy", &Value::string("{\"a\": 1}")));
        // not another value, another argument or another instance
        assert!(!web.gives("name", &Value::string("web-1")));
        assert!(!web.gives("policy", &Value::string("web-2")));
        assert!(!args
            .of(&addr("aws_instance.db"), "aws_instance.db")
            .gives("name", &Value::string("web-2")));
        // the deployed value and the unknown one are not kept
        assert!(!web.gives("tags", &tags));
        assert!(!web.gives("arn", &Value::unknown()));
    }

    #[test]
    fn equal_nested_deployed_values_are_kept_once_and_read_the_same() {
        let tags = || {
            obj(&[
                ("Env", Value::string("prod")),
                ("Team", Value::string("web")),
            ])
        };
        let instance = |id: &str, tags: Value| {
            obj(&[
                ("id", Value::string(id)),
                ("tags", tags),
                ("ports", Value::tuple(vec![Value::int(80), Value::int(443)])),
                ("secret", obj(&[("k", Value::string("v"))]).mark_if(true)),
                ("empty", Value::tuple(Vec::new())),
            ])
        };
        let (a, b) = (instance("i-1", tags()), instance("i-2", tags()));
        // another value that looks alike but is not equal: a list, not a
        // tuple; a number, not a string
        let c = obj(&[
            (
                "ports",
                Value::list_of(Type::Number, vec![Value::int(80), Value::int(443)]),
            ),
            (
                "tags",
                obj(&[("Env", Value::string("prod")), ("Team", Value::int(1))]),
            ),
        ]);
        let mut share = ShareParts::default();
        let (sa, sb, sc) = (
            share.value(a.clone()),
            share.value(b.clone()),
            share.value(c.clone()),
        );
        // the same values as before
        for (shared, original) in [(&sa, &a), (&sb, &b), (&sc, &c)] {
            assert!(shared.raw_eq(original), "{shared:?} is {original:?}");
        }
        let attr = |v: &Value, k: &str| -> Value {
            v.as_mapping().and_then(|m| m.get(k)).cloned().expect(k)
        };
        let same = |x: &Value, y: &Value| match (x, y) {
            (Value::Object(x), Value::Object(y)) => std::sync::Arc::ptr_eq(x, y),
            (Value::Tuple(x), Value::Tuple(y)) | (Value::List(_, x), Value::List(_, y)) => {
                std::sync::Arc::ptr_eq(x, y)
            }
            (Value::Sensitive(x), Value::Sensitive(y)) => std::sync::Arc::ptr_eq(x, y),
            _ => false,
        };
        // one copy of each equal nested value
        for k in ["tags", "ports", "secret", "empty"] {
            assert!(same(&attr(&sa, k), &attr(&sb, k)), "{k} is shared");
        }
        // and none between values that are not equal
        assert!(!same(&attr(&sa, "tags"), &attr(&sc, "tags")));
        assert!(!same(&attr(&sa, "ports"), &attr(&sc, "ports")));
        assert!(attr(&sc, "ports").raw_eq(&Value::list_of(
            Type::Number,
            vec![Value::int(80), Value::int(443)]
        )));
    }

    #[test]
    fn a_configuration_that_is_what_is_deployed_keeps_nothing() {
        let config = obj(&[("name", Value::string("web")), ("port", Value::int(80))]);
        let deployed = obj(&[
            ("name", Value::string("web")),
            ("port", Value::int(80)),
            ("id", Value::string("i-123")),
        ]);
        assert_eq!(kept(&config, &deployed).len(), 0);
        // a number stored as the same number, and an unknown argument
        let config = obj(&[("port", Value::int(80)), ("arn", Value::unknown())]);
        assert_eq!(kept(&config, &deployed).len(), 0);
        // a type that is not the deployed one is kept (strings and numbers
        // differ for raw equality)
        let config = obj(&[("port", Value::string("80"))]);
        let args = kept(&config, &deployed);
        let web = args.of(&addr("aws_instance.web"), "aws_instance.web");
        assert!(web.gives("port", &Value::string("80")));
        assert!(!web.gives("port", &Value::int(80)));
    }

    #[test]
    fn fingerprints_tell_apart_what_raw_equality_does() {
        let deployed = obj(&[]);
        let list = |t: Type, items: Vec<Value>| Value::list_of(t, items);
        // pairs of values that are not raw-equal, the first one kept
        let pairs = [
            (
                list(Type::String, vec![Value::string("a"), Value::string("b")]),
                Value::tuple(vec![Value::string("a"), Value::string("b")]),
            ),
            (
                list(Type::String, vec![Value::string("ab")]),
                list(Type::String, vec![Value::string("a"), Value::string("b")]),
            ),
            (
                obj(&[("a", Value::string("b"))]),
                obj(&[("ab", Value::string(""))]),
            ),
            (Value::null(), Value::string("")),
            (Value::int(1), Value::int(10)),
            (Value::Bool(true), Value::string("true")),
        ];
        for (a, b) in pairs {
            let args = kept(&obj(&[("v", a.clone())]), &deployed);
            let web = args.of(&addr("aws_instance.web"), "aws_instance.web");
            assert!(web.gives("v", &a), "{a:?}");
            assert!(!web.gives("v", &b), "{a:?} against {b:?}");
        }
    }

    /// A model of `text` as `main.tf`, parsed from a scratch directory.
    pub(crate) fn model_of(name: &str, text: &str) -> Model {
        // one directory a call: tests run on several threads
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rewind-prior-{name}-{}-{call}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        std::fs::write(dir.join("main.tf"), text).expect("main.tf written");
        let loaded = rewind_parse::load(&dir, &rewind_parse::Options::default());
        let _ = std::fs::remove_dir_all(&dir);
        loaded.expect("the configuration loads").model
    }

    /// Waits until the reader blocks in [`CurrentArgs::of`]; fails if it
    /// returned without waiting.
    fn until_waiting(args: &CurrentArgs, reader: &std::thread::ScopedJoinHandle<'_, bool>) {
        while !args.lock().waiting {
            assert!(
                !reader.is_finished(),
                "the reader did not wait for the walk"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_reader_waits_until_the_walk_has_passed_the_instance() {
        let model = model_of(
            "wait",
            "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\nresource \"terraform_data\" \"b\" {\n  input = terraform_data.a.output\n}\n",
        );
        let cfg = Config::new(&model).expect("a configuration");
        let args = CurrentArgs::new(&cfg);
        let b = addr("terraform_data.b");
        let b_node = cfg.find("terraform_data.b").expect("b is a node");
        let b_pos = args.position[b_node] as usize;
        // what the walk gives b: an input the deployed object does not have
        let config = obj(&[("input", Value::string("y"))]);
        let deployed = obj(&[("input", Value::string("x"))]);
        let kept = kept_prints(&mut Vec::new(), &b, &config, &deployed).expect("kept");
        // an instance of a resource the configuration does not have: at
        // once, with nothing
        assert!(!args
            .of(&addr("terraform_data.c"), "terraform_data.c")
            .gives("input", &Value::string("y")));
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                args.of(&b, "terraform_data.b")
                    .gives("input", &Value::string("y"))
            });
            until_waiting(&args, &reader);
            // every node before b walked: the reader still waits
            args.publish(b_pos, &mut Vec::new());
            until_waiting(&args, &reader);
            // b walked (with the rest of the order: a reader that caught
            // up waits until the writer is a few nodes ahead, or at the
            // end): the reader reads what the walk gave it
            args.publish(cfg.order.len(), &mut vec![kept]);
            assert!(reader.join().expect("the reader"));
        });
        // a walk that ends (or panics) before an instance frees its reader
        let args = CurrentArgs::new(&cfg);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                args.of(&b, "terraform_data.b")
                    .gives("input", &Value::string("y"))
            });
            until_waiting(&args, &reader);
            args.finish();
            assert!(!reader.join().expect("the reader"));
        });
    }
}
