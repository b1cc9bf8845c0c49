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

/// The current configuration evaluated over what is deployed: each
/// instance's evaluated arguments, by address, with references reading the
/// state's values (what Terraform's plan of the current configuration
/// would see). Instances that cannot be evaluated are left out.
pub(crate) fn current_configs(
    cfg: &Config,
    inputs: &Inputs,
    files: Option<&dyn rewind_eval::Files>,
    prior: &Prior,
) -> HashMap<InstanceAddr, Value> {
    let mut deployed = AsDeployed {
        prior,
        by_addr: by_address(&prior.managed),
        configs: HashMap::new(),
    };
    let mut walk = Walk::new(cfg, inputs, files);
    walk.run(&mut deployed);
    deployed.configs
}

struct AsDeployed<'p> {
    prior: &'p Prior,
    by_addr: BTreeMap<InstanceAddr, usize>,
    configs: HashMap<InstanceAddr, Value>,
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
            if let Some(kept) = differing_arguments(c, d) {
                self.configs.insert(addr.clone(), kept);
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
}

/// What of an instance's current configuration [`resource::compare`] can
/// use, or `None` for nothing: the arguments the current configuration
/// gives a wholly known value that is not the deployed one (unmarked, as
/// `compare` reads them). `compare` only reads an argument of the current
/// configuration to find the target giving the same wholly known value;
/// an argument whose current value is the deployed value compares the
/// same without it (the target's value is then the deployed one too), and
/// one not wholly known is never read. Keeping only the rest keeps a few
/// arguments of the instances that drifted instead of the whole evaluated
/// configuration of every deployed instance (hundreds of megabytes at
/// 100,000 resources).
fn differing_arguments(config: &Value, deployed: &Value) -> Option<Value> {
    let config = config.unmark_deep().0;
    let Some(args) = config.as_mapping() else {
        return Some(config);
    };
    let deployed = deployed.unmark_deep().0;
    let kept: rewind_eval::Map<String, Value> = args
        .iter()
        .filter(|(k, v)| {
            v.is_wholly_known()
                && !deployed
                    .get_attr(k)
                    .is_some_and(|d| d.is_wholly_known() && d.raw_eq(v))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!kept.is_empty()).then(|| Value::object(kept))
}

/// Prior objects by address, for lookups.
pub(crate) fn by_address(managed: &[PriorInstance]) -> BTreeMap<InstanceAddr, usize> {
    managed
        .iter()
        .enumerate()
        .filter(|(_, p)| p.deposed.is_none())
        .map(|(i, p)| (p.addr.clone(), i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(attrs: &[(&str, Value)]) -> Value {
        Value::object(
            attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
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
            ("tags", tags),
            ("password", Value::string("hunter2")),
            ("id", Value::string("i-123")),
        ]);
        let kept = differing_arguments(&config, &deployed).expect("two arguments differ");
        let names: Vec<&str> = kept
            .as_mapping()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, ["name", "policy"]);
        assert!(kept
            .get_attr("name")
            .is_some_and(|v| v.raw_eq(&Value::string("web-2"))));
    }

    #[test]
    fn a_configuration_that_is_what_is_deployed_keeps_nothing() {
        let config = obj(&[("name", Value::string("web")), ("port", Value::int(80))]);
        let deployed = obj(&[
            ("name", Value::string("web")),
            ("port", Value::int(80)),
            ("id", Value::string("i-123")),
        ]);
        assert!(differing_arguments(&config, &deployed).is_none());
        // a number stored as the same number, and an unknown argument
        let config = obj(&[("port", Value::int(80)), ("arn", Value::unknown())]);
        assert!(differing_arguments(&config, &deployed).is_none());
        // a type that is not the deployed one is kept (strings and numbers
        // differ for raw equality)
        let config = obj(&[("port", Value::string("80"))]);
        assert!(differing_arguments(&config, &deployed).is_some());
    }
}
