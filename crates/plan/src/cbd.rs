//! `create_before_destroy`: a configuration's own (explicit, or forced on
//! what a `create_before_destroy` resource depends on), and, without a
//! state, what Terraform would have recorded for each deployed instance.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rewind_model::expr::{Expr, Part, TravOp};
use rewind_model::{EdgeKind, InstanceAddr, InstanceKey, Model, Node, NodeKind};

use crate::refs::each_value_reference;
use crate::{all_dependencies, ConfigDeps};

/// create_before_destroy of a configuration: explicit, or forced by a
/// create_before_destroy resource that depends on it. Returns the forced
/// ones with the resource forcing them.
pub(crate) fn cbd_of(model: &Model, deps: &ConfigDeps) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    let mut marked = BTreeSet::new();
    let explicit: Vec<&Node> = model
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Resource && n.lifecycle().create_before_destroy)
        .collect();
    for n in &explicit {
        out.insert(n.address.clone(), None);
    }
    for n in explicit {
        for d in all_dependencies(deps, &n.address, &mut marked) {
            out.entry(d).or_insert_with(|| Some(n.address.clone()));
        }
    }
    out
}

/// The instances of a resource that hold create_before_destroy.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Keys {
    All,
    Only(BTreeSet<InstanceKey>),
}

impl Keys {
    fn merge(&mut self, other: Keys) {
        match (&mut *self, other) {
            (Keys::All, _) => {}
            (_, Keys::All) => *self = Keys::All,
            (Keys::Only(a), Keys::Only(b)) => a.extend(b),
        }
    }
}

/// Without a state, the create_before_destroy Terraform would have
/// recorded for each instance of the current configuration.
///
/// The state records it per instance, as the apply graph that last wrote
/// the instance had it (`ForcedCBDTransformer`): forced on an instance
/// with a create_before_destroy resource among the nodes that depend on
/// it. In that graph a reference with a literal key (`aws_x.a["k"]`,
/// `aws_x.a[0]`) depends on that instance alone when the graph holds it,
/// so only the instances named by key are forced when every reference on
/// the way is by key; any other reference (`aws_x.a`, `aws_x.a[*]`,
/// `aws_x.a[var.i]`, a `for` over it), a `depends_on` or a whole module
/// forces them all. The resources forced are those of [`cbd_of`]; only
/// which of their instances is narrowed ([`RecordedCbd::holds`]).
pub(crate) struct RecordedCbd(HashMap<String, Keys>);

impl RecordedCbd {
    pub(crate) fn of(model: &Model, deps: &ConfigDeps) -> RecordedCbd {
        let forced = cbd_of(model, deps);
        let mut keys: HashMap<String, Keys> = HashMap::new();
        let mut stack: Vec<&Node> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for (addr, by) in &forced {
            if by.is_none() {
                keys.insert(addr.clone(), Keys::All);
                if let Some(n) = model.node(addr) {
                    seen.insert(&n.address);
                    stack.push(n);
                }
            }
        }
        // every node a create_before_destroy resource depends on, with the
        // instances each of its edges to a resource depends on
        while let Some(y) = stack.pop() {
            let mut refs: Option<HashMap<String, Keys>> = None;
            for e in &y.edges {
                let Some(t) = model.node(&e.to) else { continue };
                let mut reached = vec![t];
                if t.kind.is_resource_like() {
                    let local = match t.module.is_empty() {
                        true => t.address.as_str(),
                        false => t.address.get(t.module.len() + 1..).unwrap_or_default(),
                    };
                    let k = match e.kind {
                        // an edge none of the expressions explains (one
                        // through a provider's or a module's): all of them
                        EdgeKind::Reference => refs
                            .get_or_insert_with(|| references_by_resource(y))
                            .get(local)
                            .cloned()
                            .unwrap_or(Keys::All),
                        _ => Keys::All,
                    };
                    merge(&mut keys, &forced, &t.address, k);
                } else if t.kind == NodeKind::Module
                    && matches!(e.kind, EdgeKind::DependsOn | EdgeKind::Reference)
                {
                    // the whole module: every resource in it
                    // (`resource_dependencies`' rule)
                    for m in model.module_resources(&t.address).map(|i| &model.nodes[i]) {
                        merge(&mut keys, &forced, &m.address, Keys::All);
                        reached.push(m);
                    }
                }
                for r in reached {
                    if seen.insert(&r.address) {
                        stack.push(r);
                    }
                }
            }
        }
        // forced in a way the walk above did not see: all of them
        for addr in forced.keys() {
            keys.entry(addr.clone()).or_insert(Keys::All);
        }
        RecordedCbd(keys)
    }

    /// Does the state record create_before_destroy for `addr`, an object
    /// the last apply wrote (one the target does not have: the revert
    /// deletes it)? `written` tells which instances of a resource (by
    /// configuration address and key) the last apply wrote, taken to be
    /// those the revert changes: a revert undoes the last apply. That
    /// apply's graph held only those, and a reference by a key whose
    /// instance it did not hold stood for the whole resource
    /// (`ReferenceMap.References`); an instance it did not write kept
    /// what the plan's refresh wrote, which follows the configuration.
    pub(crate) fn holds(
        &self,
        addr: &InstanceAddr,
        written: &dyn Fn(&str, &InstanceKey) -> bool,
    ) -> bool {
        let config = addr.resource.config_address();
        match self.0.get(&config) {
            None => false,
            Some(Keys::All) => true,
            Some(Keys::Only(keys)) => keys
                .iter()
                .any(|k| same_key(k, &addr.key) || !written_key(written, &config, k)),
        }
    }
}

/// Did the last apply write `config[k]`?
fn written_key(
    written: &dyn Fn(&str, &InstanceKey) -> bool,
    config: &str,
    k: &InstanceKey,
) -> bool {
    written(config, k) || other_spelling(k).is_some_and(|o| written(config, &o))
}

fn merge(
    keys: &mut HashMap<String, Keys>,
    forced: &BTreeMap<String, Option<String>>,
    addr: &str,
    k: Keys,
) {
    if !forced.contains_key(addr) {
        return;
    }
    match keys.get_mut(addr) {
        Some(have) => have.merge(k),
        None => {
            keys.insert(addr.to_string(), k);
        }
    }
}

/// A key written as a literal string where the instances are numbered
/// (`aws_x.a["0"]`) names the same instance, as Terraform converts it.
fn same_key(a: &InstanceKey, b: &InstanceKey) -> bool {
    a == b || other_spelling(a).as_ref() == Some(b)
}

/// The same key as a number or as a string (`0` and `"0"`), when it has one.
fn other_spelling(k: &InstanceKey) -> Option<InstanceKey> {
    match k {
        InstanceKey::Int(i) => Some(InstanceKey::Str(i.to_string())),
        InstanceKey::Str(s) => s.parse().ok().map(InstanceKey::Int),
        InstanceKey::None => None,
    }
}

/// The instances of each resource or data source that `y`'s expressions
/// refer to, by address in `y`'s module (`aws_x.a`, `data.aws_y.b`): the
/// literal keys, or all of them.
fn references_by_resource(y: &Node) -> HashMap<String, Keys> {
    let mut out: HashMap<String, Keys> = HashMap::new();
    each_value_reference(&y.body, &mut |root, ops| {
        let attr = |i: usize| match ops.get(i) {
            Some(TravOp::Attr(a)) => Some(a.as_str()),
            _ => None,
        };
        let (addr, rest) = match root {
            "var" | "local" | "module" | "each" | "count" | "self" | "path" | "terraform" => return,
            "data" | "resource" => {
                let (Some(t), Some(n)) = (attr(0), attr(1)) else {
                    return;
                };
                let mode = if root == "data" { "data." } else { "" };
                (format!("{mode}{t}.{n}"), &ops[2..])
            }
            t => {
                let Some(n) = attr(0) else { return };
                (format!("{t}.{n}"), &ops[1..])
            }
        };
        let k = match rest.first() {
            Some(TravOp::Index(k)) => match literal_key(k) {
                Some(k) => Keys::Only(BTreeSet::from([k])),
                None => Keys::All,
            },
            Some(TravOp::LegacyIndex(i)) => match i64::try_from(*i) {
                Ok(i) => Keys::Only(BTreeSet::from([InstanceKey::Int(i)])),
                Err(_) => Keys::All,
            },
            _ => Keys::All,
        };
        match out.get_mut(&addr) {
            Some(have) => have.merge(k),
            None => {
                out.insert(addr, k);
            }
        }
    });
    out
}

/// An instance key written as a literal: `0`, `"k"`.
fn literal_key(k: &Expr) -> Option<InstanceKey> {
    match k.unparen() {
        Expr::Number(n) => n.parse().ok().map(InstanceKey::Int),
        Expr::Template(parts) => match parts.as_slice() {
            [] => Some(InstanceKey::Str(String::new())),
            [Part::Lit(s)] => Some(InstanceKey::Str(s.clone())),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_deps;
    use crate::prior::tests::model_of;

    fn addr(s: &str) -> InstanceAddr {
        InstanceAddr::parse(s).expect("an address")
    }

    /// Which of `instances` hold create_before_destroy when the last apply
    /// wrote `written`.
    fn holding(text: &str, instances: &[&str], written: &[&str]) -> Vec<String> {
        let model = model_of("cbd", text);
        let deps = config_deps(&model);
        let cbd = RecordedCbd::of(&model, &deps);
        let written: Vec<InstanceAddr> = written.iter().map(|a| addr(a)).collect();
        let written = |config: &str, key: &InstanceKey| {
            written
                .iter()
                .any(|w| w.resource.config_address() == config && w.key == *key)
        };
        instances
            .iter()
            .filter(|a| cbd.holds(&addr(a), &written))
            .map(|a| a.to_string())
            .collect()
    }

    const KEYED: &str = r#"
resource "terraform_data" "a" {
  for_each = toset(["x", "y", "z"])
}
locals {
  picked = terraform_data.a["x"].id
}
resource "terraform_data" "b" {
  input = local.picked
  lifecycle {
    create_before_destroy = true
  }
}
resource "terraform_data" "c" {
  input = terraform_data.a["y"].id
}
"#;

    #[test]
    fn a_reference_by_key_forces_that_instance_when_the_apply_wrote_it() {
        let all = [
            "terraform_data.a[\"x\"]",
            "terraform_data.a[\"y\"]",
            "terraform_data.a[\"z\"]",
        ];
        // the apply wrote all three: only the one read by key (through a
        // local) holds it; c is not create_before_destroy and forces none
        assert_eq!(holding(KEYED, &all, &all), vec![all[0]]);
        // the apply did not write a["x"]: the reference stood for the
        // whole resource
        assert_eq!(holding(KEYED, &all, &all[1..]), all.to_vec());
        // c is not forced at all
        assert!(holding(KEYED, &["terraform_data.c"], &["terraform_data.c"]).is_empty());
    }

    #[test]
    fn other_references_force_every_instance() {
        for (name, reference) in [
            ("whole", "terraform_data.a"),
            ("for", "[for v in terraform_data.a : v.id]"),
            ("splat", "values(terraform_data.a)[*].id"),
            ("computed key", "terraform_data.a[var.k].id"),
            ("resource form", "resource.terraform_data.a"),
        ] {
            let text = format!(
                r#"
variable "k" {{
  default = "x"
}}
resource "terraform_data" "a" {{
  for_each = toset(["x", "y"])
}}
resource "terraform_data" "b" {{
  input = {reference}
  lifecycle {{
    create_before_destroy = true
  }}
}}
"#
            );
            let all = ["terraform_data.a[\"x\"]", "terraform_data.a[\"y\"]"];
            assert_eq!(holding(&text, &all, &all), all.to_vec(), "{name}");
        }
        // `resource.` before a key is the same reference by key
        let text = KEYED.replace(
            "terraform_data.a[\"x\"].id",
            "resource.terraform_data.a[\"z\"].id",
        );
        let all = ["terraform_data.a[\"x\"]", "terraform_data.a[\"z\"]"];
        assert_eq!(holding(&text, &all, &all), vec![all[1]]);
    }

    #[test]
    fn depends_on_and_counted_keys() {
        let text = r#"
resource "terraform_data" "a" {
  count = 3
}
resource "terraform_data" "d" {
  count = 2
}
resource "terraform_data" "b" {
  input = terraform_data.a[1].id
  depends_on = [terraform_data.d]
  lifecycle {
    create_before_destroy = true
  }
}
"#;
        let all = [
            "terraform_data.a[0]",
            "terraform_data.a[1]",
            "terraform_data.a[2]",
            "terraform_data.d[0]",
            "terraform_data.d[1]",
        ];
        assert_eq!(
            holding(text, &all, &all),
            vec![all[1], all[3], all[4]],
            "a by index, d by depends_on"
        );
    }
}
