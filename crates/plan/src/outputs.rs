//! The root module's outputs: the values the deployment's state records
//! against the values the target configuration gives them, as Terraform
//! plans `output_changes`.

use rewind_eval::Value;
use rewind_model::{Model, NodeKind};

use crate::walk::{lit_value, Walk};
use crate::{Action, OutputChange};

/// Every root output of the state or of the target, by name. Empty
/// without a state: the outputs of a deployment known only from its
/// configuration are not recorded anywhere.
pub(crate) fn changes(current: &Model, walk: &Walk) -> Vec<OutputChange> {
    if current.state.is_none() {
        return Vec::new();
    }
    let mut before: std::collections::BTreeMap<String, Value> = Default::default();
    for n in current
        .instances
        .iter()
        .filter(|n| n.address.starts_with("output."))
    {
        let mut ev = rewind_eval::Evaluator::new(&rewind_eval::EmptyScope);
        let Ok(v) = lit_value(&n.body, &mut ev) else {
            continue;
        };
        let v = if n.sensitive.is_empty() {
            v
        } else {
            v.sensitive()
        };
        before.insert(n.name.clone(), v);
    }
    let mut after: std::collections::BTreeMap<String, Value> = Default::default();
    let model = walk.cfg.model;
    for (i, n) in model.nodes.iter().enumerate() {
        if n.kind == NodeKind::Output && n.module.is_empty() {
            if let Some(v) = walk.value_of(i, 0) {
                // secret by how it is written or named (a key named like a
                // secret inside it), as its state side is
                let v = if n.sensitive.is_empty() {
                    v.clone()
                } else {
                    v.clone().sensitive()
                };
                after.insert(n.name.clone(), v);
            }
        }
    }
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let (b, a) = (before.get(name), after.get(name));
            let action = match (b, a) {
                (None, _) => Action::Create,
                (_, None) => Action::Delete,
                (Some(b), Some(a)) => {
                    let (b, a) = (b.unmark_deep().0, a.unmark_deep().0);
                    if a.is_wholly_known() && !a.has_opaque() && b.raw_eq(&a) {
                        Action::NoOp
                    } else {
                        Action::Update
                    }
                }
            };
            OutputChange {
                name: name.clone(),
                action,
                before: b.cloned(),
                after: a.cloned(),
            }
        })
        .collect()
}
