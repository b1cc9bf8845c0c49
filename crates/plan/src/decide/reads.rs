//! Data sources Terraform reads during apply instead of during plan: one
//! whose configuration is known only after apply
//! (`read_because_config_unknown`), and one that depends, through its own
//! `depends_on` or that of a module call around it, on a resource, data
//! source or module call with changes pending
//! (`read_because_dependency_pending`). Its value is then unknown to the
//! rest of the plan, and the plan shows the read (`<= read`), as
//! `terraform plan` does.

use rustc_hash::FxHashSet;

use rewind_model::{InstanceAddr, ModuleInstance, Node};

use super::{Decide, Kind};
use crate::walk::Walk;

/// Terraform's `action_reason` for a read during apply of a data source
/// whose dependency has changes pending.
pub(crate) const DEPENDENCY_PENDING: &str = "read_because_dependency_pending";
/// ... and for one whose configuration is known only after apply.
pub(crate) const CONFIG_UNKNOWN: &str = "read_because_config_unknown";

/// What has changes pending so far in the walk, as keys: a resource
/// (`module.a[0].terraform_data.x`, `data.TYPE.NAME` for a data source
/// read during apply) and every module call around it, without its key
/// (`call module.a[0].module.b`).
#[derive(Default)]
pub(crate) struct Pending {
    /// Whether anything asks (a data source or module call of the target
    /// has `depends_on`): else nothing is recorded.
    pub(crate) wanted: bool,
    keys: FxHashSet<String>,
    /// The deployed instances' addresses after the moves, sorted, with
    /// the address (`None` for a deposed object, always deleted): the
    /// deletes a `depends_on` waits for are found among them (built on
    /// the first question).
    deployed: std::sync::OnceLock<Vec<(String, Option<InstanceAddr>)>>,
}

fn resource_key(module: &ModuleInstance, local: &str) -> String {
    if module.is_root() {
        local.to_string()
    } else {
        format!("{module}.{local}")
    }
}

fn call_key(module: &ModuleInstance, name: &str) -> String {
    if module.is_root() {
        format!("call module.{name}")
    } else {
        format!("call {module}.module.{name}")
    }
}

/// Whether a data source of `target` may wait for changes through a
/// `depends_on` (its own or a module call's).
pub(crate) fn wanted(target: &rewind_model::Model) -> bool {
    target.nodes.iter().any(|n| {
        matches!(
            n.kind,
            rewind_model::NodeKind::Data | rewind_model::NodeKind::Module
        ) && n.body.get("depends_on").is_some()
    })
}

impl Pending {
    /// Records an instance with a change.
    pub(crate) fn add(&mut self, addr: &InstanceAddr) {
        if !self.wanted {
            return;
        }
        self.keys.insert(addr.resource.to_string());
        let steps = &addr.resource.module.0;
        for i in 0..steps.len() {
            let parent = ModuleInstance(steps[..i].to_vec());
            self.keys.insert(call_key(&parent, &steps[i].name));
        }
    }
}

impl Decide<'_, '_> {
    /// Why the data source instance `addr` (of `node`, in module instance
    /// `mid`) is read during apply, if it is.
    pub(super) fn read_during_apply(
        &self,
        walk: &Walk,
        node: &Node,
        mid: u32,
        config_known: bool,
    ) -> Option<&'static str> {
        if !config_known {
            return Some(CONFIG_UNKNOWN);
        }
        // its own depends_on, then those of the module calls around it
        let module = &walk.modules[mid as usize];
        let mut holders: Vec<(&Node, ModuleInstance)> = vec![(node, module.clone())];
        let mut path = node.module.clone();
        for depth in (0..module.0.len()).rev() {
            let Some(call) = walk.cfg.find(&path).map(|i| walk.cfg.node(i)) else {
                break;
            };
            holders.push((call, ModuleInstance(module.0[..depth].to_vec())));
            path = call.module.clone();
        }
        let pending = holders.iter().any(|(holder, at)| {
            crate::validate::depends_on(holder).iter().any(|d| {
                let key = match d.address.strip_prefix("module.") {
                    Some(name) if d.module_call => call_key(at, name),
                    _ => resource_key(at, &d.address),
                };
                self.pending.keys.contains(&key) || self.deletes_under(&key)
            })
        });
        pending.then_some(DEPENDENCY_PENDING)
    }

    /// Whether a deployed instance under `key` (a resource, or a module
    /// call) is not in the target: it will be deleted, a change pending.
    fn deletes_under(&self, key: &str) -> bool {
        let deployed = self.pending.deployed.get_or_init(|| {
            let moved_to: std::collections::HashMap<&InstanceAddr, &InstanceAddr> = self
                .moved_from
                .iter()
                .map(|(to, (from, _))| (from, to))
                .collect();
            let mut all: Vec<(String, Option<InstanceAddr>)> = self
                .prior
                .managed
                .iter()
                .map(|p| match &p.deposed {
                    Some(_) => (format!("{} (deposed)", p.addr), None),
                    None => {
                        let at = moved_to.get(&p.addr).copied().unwrap_or(&p.addr);
                        (at.to_string(), Some(at.clone()))
                    }
                })
                .collect();
            all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            all
        });
        let prefix = key.strip_prefix("call ").unwrap_or(key);
        let start = deployed.partition_point(|(a, _)| a.as_str() < prefix);
        deployed[start..]
            .iter()
            .take_while(|(a, _)| a.starts_with(prefix))
            // the resource itself or its instances, the call's instances
            .filter(|(a, _)| {
                matches!(
                    a.as_bytes().get(prefix.len()),
                    None | Some(b'[' | b'.' | b' ')
                )
            })
            .any(|(_, addr)| addr.as_ref().is_none_or(|addr| !self.has(addr)))
    }

    /// Records a decision that changes something.
    pub(super) fn note_pending(&mut self, kind: Kind, addr: &InstanceAddr) {
        if kind != Kind::NoOp {
            self.pending.add(addr);
        }
    }
}
