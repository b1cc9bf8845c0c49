//! Where deployed objects move before planning: the target's `moved`
//! blocks (resources, resource instances, module calls and module
//! instances, in the module that declares them and in every instance of
//! it, chained), and Terraform's implied moves between `x` and `x[0]`
//! when `count` is added or removed.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::expr::{Expr, TravOp};
use rewind_model::{InstanceAddr, InstanceKey, Model, ModuleStep, NodeKind, Value as Lit};

/// One step of a move endpoint: a module call or a resource, with an
/// instance key when the endpoint names one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Module(String, Option<InstanceKey>),
    Resource(String, String, Option<InstanceKey>),
}

/// A `moved` statement relative to the module path that declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Move {
    /// Config path of the declaring module (`""` at the root).
    pub module: String,
    from: Vec<Step>,
    to: Vec<Step>,
    pub text: String,
}

/// A problem with a `moved` block.
#[derive(Clone, Debug)]
pub(crate) struct MoveError {
    pub address: String,
    pub message: String,
}

fn key_of(e: &Expr) -> Option<InstanceKey> {
    match e {
        Expr::Number(n) => n.parse::<i64>().ok().map(InstanceKey::Int),
        Expr::Template(parts) => match parts.as_slice() {
            [rewind_model::expr::Part::Lit(s)] => Some(InstanceKey::Str(s.clone())),
            [] => Some(InstanceKey::Str(String::new())),
            _ => None,
        },
        _ => None,
    }
}

/// Reads an endpoint (`module.a[0].aws_x.b`, `aws_x.b["k"]`).
fn endpoint(v: &Lit) -> Option<Vec<Step>> {
    let e = match v {
        Lit::Expr(e) => (**e).clone(),
        _ => return None,
    };
    let Expr::Traversal { root, ops, .. } = e else {
        return None;
    };
    let mut names: Vec<(String, Option<InstanceKey>)> = vec![(root, None)];
    for op in &ops {
        match op {
            TravOp::Attr(a) => names.push((a.clone(), None)),
            TravOp::Index(k) => {
                let last = names.last_mut()?;
                last.1 = Some(key_of(k)?);
            }
            TravOp::LegacyIndex(n) => {
                let last = names.last_mut()?;
                last.1 = Some(InstanceKey::Int(*n as i64));
            }
            _ => return None,
        }
    }
    let mut steps = Vec::new();
    let mut i = 0;
    while i < names.len() {
        if names[i].0 == "module" && names[i].1.is_none() && i + 1 < names.len() {
            steps.push(Step::Module(names[i + 1].0.clone(), names[i + 1].1.clone()));
            i += 2;
        } else if i + 1 < names.len() && names[i].1.is_none() {
            let (t, n) = if names[i].0 == "resource" && i + 2 < names.len() {
                i += 1;
                (&names[i], &names[i + 1])
            } else {
                (&names[i], &names[i + 1])
            };
            steps.push(Step::Resource(t.0.clone(), n.0.clone(), n.1.clone()));
            i += 2;
            if i != names.len() {
                return None;
            }
        } else {
            return None;
        }
    }
    Some(steps)
}

/// The target's `moved` statements.
pub(crate) fn statements(target: &Model) -> (Vec<Move>, Vec<MoveError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for n in target.nodes.iter().filter(|n| n.kind == NodeKind::Moved) {
        let (Some(from), Some(to)) = (
            n.body.get("from").and_then(endpoint),
            n.body.get("to").and_then(endpoint),
        ) else {
            errors.push(MoveError {
                address: n.address.clone(),
                message: "a moved block's from and to must be resource or module addresses".into(),
            });
            continue;
        };
        let kinds_match = matches!(
            (from.last(), to.last()),
            (Some(Step::Module(..)), Some(Step::Module(..)))
                | (Some(Step::Resource(..)), Some(Step::Resource(..)))
        );
        if !kinds_match {
            errors.push(MoveError {
                address: n.address.clone(),
                message: "a moved block must move a module to a module or a resource to a resource"
                    .into(),
            });
            continue;
        }
        let text = format!(
            "{} -> {}",
            n.body.get("from").map(Lit::render).unwrap_or_default(),
            n.body.get("to").map(Lit::render).unwrap_or_default()
        );
        let m = Move {
            module: n.module.clone(),
            from,
            to,
            text,
        };
        if !out.contains(&m) {
            out.push(m);
        }
    }
    (out, errors)
}

/// Does `addr` sit in an instance of module path `module`? Returns how
/// many of its module steps that instance takes.
fn in_module(addr: &InstanceAddr, module: &str) -> Option<usize> {
    if module.is_empty() {
        return Some(0);
    }
    let names: Vec<&str> = module.split('.').collect();
    let calls: Vec<&str> = names
        .chunks(2)
        .map(|c| c.get(1).copied().unwrap_or(""))
        .collect();
    let steps = &addr.resource.module.0;
    if steps.len() < calls.len() {
        return None;
    }
    calls
        .iter()
        .zip(steps.iter())
        .all(|(c, s)| *c == s.name)
        .then_some(calls.len())
}

/// `addr` moved by one statement, if the statement matches it.
fn apply(m: &Move, addr: &InstanceAddr) -> Option<InstanceAddr> {
    let base = in_module(addr, &m.module)?;
    let steps = &addr.resource.module.0[base..];
    // match `from` against the module steps and the resource
    let mut out_steps: Vec<ModuleStep> = addr.resource.module.0[..base].to_vec();
    let (from_mods, from_res) = split(&m.from);
    let (to_mods, to_res) = split(&m.to);
    if steps.len() < from_mods.len() {
        return None;
    }
    for (f, s) in from_mods.iter().zip(steps.iter()) {
        if f.0 != s.name || f.1.as_ref().is_some_and(|k| *k != s.key) {
            return None;
        }
    }
    let rest = &steps[from_mods.len()..];
    match (from_res, to_res) {
        (None, None) => {
            // a module call or instance moves, with everything inside
            let last = from_mods.len().checked_sub(1)?;
            // a whole module call keeps its instances' keys
            let keep_key = from_mods[last].1.is_none();
            let last_key = steps[last].key.clone();
            for (i, t) in to_mods.iter().enumerate() {
                let key = match &t.1 {
                    Some(k) => k.clone(),
                    None if i + 1 == to_mods.len() && keep_key => last_key.clone(),
                    None => InstanceKey::None,
                };
                out_steps.push(ModuleStep {
                    name: t.0.clone(),
                    key,
                });
            }
            out_steps.extend(rest.iter().cloned());
            let mut res = addr.resource.clone();
            res.module = rewind_model::ModuleInstance(out_steps);
            Some(res.instance(addr.key.clone()))
        }
        (Some(fr), Some(tr)) => {
            if !rest.is_empty() || addr.resource.mode != rewind_model::Mode::Managed {
                return None;
            }
            if addr.resource.type_ != fr.0 || addr.resource.name != fr.1 {
                return None;
            }
            if fr.2.as_ref().is_some_and(|k| *k != addr.key) {
                return None;
            }
            for t in &to_mods {
                out_steps.push(ModuleStep {
                    name: t.0.clone(),
                    key: t.1.clone().unwrap_or_default(),
                });
            }
            let key = match (&fr.2, &tr.2) {
                (_, Some(k)) => k.clone(),
                (None, None) => addr.key.clone(),
                (Some(_), None) => InstanceKey::None,
            };
            let mut res = addr.resource.clone();
            res.module = rewind_model::ModuleInstance(out_steps);
            res.type_ = tr.0.clone();
            res.name = tr.1.clone();
            Some(res.instance(key))
        }
        _ => None,
    }
}

type ModPart = (String, Option<InstanceKey>);
type ResPart = (String, String, Option<InstanceKey>);

fn split(steps: &[Step]) -> (Vec<ModPart>, Option<ResPart>) {
    let mut mods = Vec::new();
    let mut res = None;
    for s in steps {
        match s {
            Step::Module(n, k) => mods.push((n.clone(), k.clone())),
            Step::Resource(t, n, k) => res = Some((t.clone(), n.clone(), k.clone())),
        }
    }
    (mods, res)
}

/// Applies the statements to the prior instances' addresses: for each
/// address that moves, where to (chains followed; a move onto an address
/// another object holds does not happen, as Terraform refuses it).
pub(crate) fn apply_all(
    moves: &[Move],
    addrs: &[&InstanceAddr],
) -> BTreeMap<InstanceAddr, (InstanceAddr, String)> {
    let mut out = BTreeMap::new();
    if moves.is_empty() {
        // nothing moves (most plans): no set of every address to build
        return out;
    }
    let taken: rustc_hash::FxHashSet<&InstanceAddr> = addrs.iter().copied().collect();
    let mut claimed: BTreeSet<InstanceAddr> = BTreeSet::new();
    for &a in addrs {
        let mut cur = a.clone();
        let mut why = Vec::new();
        for _ in 0..=moves.len() {
            let next = moves.iter().find_map(|m| apply(m, &cur).map(|n| (n, m)));
            match next {
                Some((n, m)) if n != cur && !why.contains(&m.text) => {
                    why.push(m.text.clone());
                    cur = n;
                }
                _ => break,
            }
        }
        if cur != *a && !taken.contains(&cur) && claimed.insert(cur.clone()) {
            out.insert(a.clone(), (cur, why.join(", ")));
        }
    }
    out
}

/// Terraform's implied moves: a resource whose target configuration has
/// `count` takes a deployed keyless instance as `[0]`; one without `count`
/// or `for_each` takes a deployed `[0]` as its keyless instance.
pub(crate) fn implied(
    target: &Model,
    addr: &InstanceAddr,
    deployed: &rustc_hash::FxHashSet<&InstanceAddr>,
) -> Option<InstanceAddr> {
    let node = target.node(&addr.resource.config_address())?;
    if node.kind != NodeKind::Resource {
        return None;
    }
    let has_count = node.body.get("count").is_some();
    let has_for_each = node.body.get("for_each").is_some();
    let to = match (&addr.key, has_count, has_for_each) {
        (InstanceKey::None, true, _) => addr.resource.instance(InstanceKey::Int(0)),
        (InstanceKey::Int(0), false, false) => addr.resource.instance(InstanceKey::None),
        _ => return None,
    };
    (!deployed.contains(&to)).then_some(to)
}
