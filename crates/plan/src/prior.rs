//! What is deployed now: the prior value of every resource instance, read
//! from the current side's state, or — without a state file — simulated by
//! evaluating the current configuration as if it had been applied.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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
}

/// The prior objects of a state file.
pub(crate) fn from_state(model: &Model) -> Result<Prior, PlanError> {
    let mut managed = Vec::new();
    let mut data = HashMap::new();
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
        let value = mark_paths(resource::from_state(&n.type_, attrs), &n.sensitive);
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
            deposed: n.facts.deposed.clone(),
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
    })
}

/// Marks the values at the state's `sensitive_attributes` paths.
pub(crate) fn mark_paths(v: Value, paths: &[rewind_model::Path]) -> Value {
    let mut v = v;
    for p in paths {
        v = mark_at(&v, &p.0);
    }
    v
}

fn mark_at(v: &Value, path: &[PathStep]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return v.clone().sensitive();
    };
    let (inner, marked) = v.unmark();
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
    cbd: &BTreeSet<String>,
) -> Result<Prior, PlanError> {
    let mut sim = Simulate {
        deps,
        cbd,
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
    })
}

struct Simulate<'a> {
    deps: &'a HashMap<String, Deps>,
    cbd: &'a BTreeSet<String>,
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
                cbd: self.cbd.contains(&config_addr),
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
/// [`resource::compare`] can use (see [`differing_arguments`]), with
/// references reading the state's values (what Terraform's plan of the
/// current configuration would see). Instances that cannot be evaluated
/// have none.
pub(crate) fn current_configs(
    cfg: &Config,
    inputs: &Inputs,
    files: Option<&dyn rewind_eval::Files>,
    prior: &Prior,
) -> CurrentArgs {
    let mut deployed = AsDeployed {
        prior,
        by_addr: by_address(&prior.managed),
        configs: CurrentArgs::default(),
    };
    let mut walk = Walk::new(cfg, inputs, files);
    walk.run(&mut deployed);
    deployed.configs.seal();
    deployed.configs
}

/// The arguments the current configuration gives the deployed instances,
/// as fingerprints: 16 bytes of BLAKE3 over the instance's address, the
/// argument's name and its (wholly known, unmarked) value, in one sorted
/// list. `compare` only asks whether the current configuration gives an
/// argument exactly the value the target gives it, which a fingerprint
/// answers without holding the value (two different values share one
/// with a probability of 2^-128). At 100,000 resources this is a few
/// megabytes where the values themselves were hundreds.
#[derive(Debug, Default)]
pub(crate) struct CurrentArgs {
    prints: Vec<u128>,
    /// Reused for the bytes each fingerprint hashes.
    buf: Vec<u8>,
}

impl CurrentArgs {
    /// Keeps the arguments of `config` that `compare` can use.
    fn keep(&mut self, addr: &InstanceAddr, config: &Value, deployed: &Value) {
        let config = config.unmark_deep().0;
        let Some(args) = config.as_mapping() else {
            return;
        };
        let deployed = deployed.unmark_deep().0;
        let owner = self.owner(addr);
        for (k, v) in args.iter() {
            if kept_argument(k, v, &deployed) {
                let print = self.print(owner, k, v);
                self.prints.push(print);
            }
        }
    }

    /// Sorts the fingerprints for [`Given::gives`].
    fn seal(&mut self) {
        self.prints.sort_unstable();
        self.prints.dedup();
        self.prints.shrink_to_fit();
        self.buf = Vec::new();
    }

    /// The arguments of the instance at `addr`, to ask
    /// [`Given::gives`].
    pub(crate) fn of(&self, addr: &InstanceAddr) -> Given<'_> {
        let mut buf = Vec::new();
        let owner = owner_print(&mut buf, addr);
        Given {
            args: self,
            owner,
            buf: std::cell::RefCell::new(buf),
        }
    }

    fn owner(&mut self, addr: &InstanceAddr) -> u128 {
        owner_print(&mut self.buf, addr)
    }

    fn print(&mut self, owner: u128, name: &str, value: &Value) -> u128 {
        arg_print(&mut self.buf, owner, name, value)
    }
}

/// The current configuration's arguments of one instance.
pub(crate) struct Given<'a> {
    args: &'a CurrentArgs,
    owner: u128,
    buf: std::cell::RefCell<Vec<u8>>,
}

impl Given<'_> {
    /// Whether the current configuration gives the argument `name` exactly
    /// `value` (unmarked; compared as [`Value::raw_eq`] does), wholly
    /// known.
    pub(crate) fn gives(&self, name: &str, value: &Value) -> bool {
        if self.args.prints.is_empty() || !value.is_wholly_known() {
            return false;
        }
        let print = arg_print(&mut self.buf.borrow_mut(), self.owner, name, value);
        self.args.prints.binary_search(&print).is_ok()
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

struct AsDeployed<'p> {
    prior: &'p Prior,
    by_addr: BTreeMap<&'p InstanceAddr, usize>,
    configs: CurrentArgs,
}

impl Planner for AsDeployed<'_> {
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
            self.configs.keep(addr, c, d);
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

#[cfg(test)]
mod tests {
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

    fn kept(config: &Value, deployed: &Value) -> CurrentArgs {
        let mut args = CurrentArgs::default();
        args.keep(&addr("aws_instance.web"), config, deployed);
        args.seal();
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
        assert_eq!(args.prints.len(), 2);
        let web = args.of(&addr("aws_instance.web"));
        assert!(web.gives("name", &Value::string("web-2")));
        assert!(web.gives("policy", &Value::string("{\"a\": 1}")));
        // not another value, another argument or another instance
        assert!(!web.gives("name", &Value::string("web-1")));
        assert!(!web.gives("policy", &Value::string("web-2")));
        assert!(!args
            .of(&addr("aws_instance.db"))
            .gives("name", &Value::string("web-2")));
        // the deployed value and the unknown one are not kept
        assert!(!web.gives("tags", &tags));
        assert!(!web.gives("arn", &Value::unknown()));
    }

    #[test]
    fn a_configuration_that_is_what_is_deployed_keeps_nothing() {
        let config = obj(&[("name", Value::string("web")), ("port", Value::int(80))]);
        let deployed = obj(&[
            ("name", Value::string("web")),
            ("port", Value::int(80)),
            ("id", Value::string("i-123")),
        ]);
        assert!(kept(&config, &deployed).prints.is_empty());
        // a number stored as the same number, and an unknown argument
        let config = obj(&[("port", Value::int(80)), ("arn", Value::unknown())]);
        assert!(kept(&config, &deployed).prints.is_empty());
        // a type that is not the deployed one is kept (strings and numbers
        // differ for raw equality)
        let config = obj(&[("port", Value::string("80"))]);
        let args = kept(&config, &deployed);
        let web = args.of(&addr("aws_instance.web"));
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
            let web = args.of(&addr("aws_instance.web"));
            assert!(web.gives("v", &a), "{a:?}");
            assert!(!web.gives("v", &b), "{a:?} against {b:?}");
        }
    }
}
