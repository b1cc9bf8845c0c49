//! The order of operations, following Terraform's apply graph:
//!
//! * creates and updates follow the target graph (through unchanged
//!   resources);
//! * a delete-first replace creates after it deletes; a create-first
//!   (create_before_destroy) replace deletes after it creates;
//! * for a delete of D and every R that D depended on (recorded in state,
//!   or the current graph without state): R's delete waits for D's delete,
//!   and R's create or update waits for D's delete (DestroyEdgeTransformer),
//!   except where R is in another instance of D's module (another key of
//!   the same module call: the same module, another instance of it);
//! * the create or update of an existing instance waits for the delete of
//!   every R it depended on, with the same exception;
//! * the create or update of C waits for the delete of every R that C
//!   depended on (a new instance: what its target configuration depends
//!   on, except in another instance of the same module);
//! * edges between a creator and a create_before_destroy delete are
//!   reversed (CBDEdgeTransformer).
//!
//! Steps are grouped into waves: a step's wave is one more than the
//! highest wave of the steps it waits for.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::PlanError;

use crate::{Action, Change};

/// A deployed object, for ordering: where it is after the moves, where it
/// was, its current configuration address.
pub(crate) struct CurrentInstance {
    pub addr: String,
    pub original: String,
    pub config: String,
    pub deposed: Option<String>,
}

/// Are two instances in different instances of one module (Terraform's
/// `graphNodesAreResourceInstancesInDifferentInstancesOfSameModule`)?
fn other_instance_of_same_module(
    a: &rewind_model::ModuleInstance,
    b: &rewind_model::ModuleInstance,
) -> bool {
    a != b && a.0.len() == b.0.len() && a.0.iter().zip(&b.0).all(|(x, y)| x.name == y.name)
}

/// One operation of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub index: usize,
    pub address: rewind_model::InstanceAddr,
    pub operation: Action,
    /// Deleting the old (deposed) object of a create-first replace, or a
    /// deposed object from the state.
    pub deposed: bool,
    /// The index of the change (in the plan's changes) this step belongs to.
    pub change: usize,
    pub wave: usize,
    /// Indexes of the steps this one waits for.
    pub after: Vec<usize>,
}

struct Raw {
    change: usize,
    address: String,
    op: Action,
    deposed: bool,
    cbd: bool,
    /// current config address (for destroyers) / target config (creators)
    config: String,
    /// the address in the current state, for creators of existing instances
    original: Option<String>,
    /// the module instance the address is in
    module: rewind_model::ModuleInstance,
}

fn name(r: &Raw) -> String {
    match (r.op, r.deposed) {
        (Action::Delete, true) => format!("delete {} (deposed)", r.address),
        (op, _) => format!("{} {}", op.as_str(), r.address),
    }
}

/// The steps of `changes`, ordered: `tgt_insts` gives the target
/// configuration address of each decided instance, `tgt_deps` the target
/// configuration's dependencies, `cur` the deployed objects and `cur_deps`
/// their recorded dependencies (by address before the moves).
pub(crate) fn order(
    changes: &[Change],
    tgt_insts: &HashMap<String, String>,
    tgt_deps: &crate::ConfigDeps,
    cur: &[CurrentInstance],
    cur_deps: &HashMap<String, crate::prior::Deps>,
) -> Result<Vec<Step>, PlanError> {
    let (raw, replace_edges) = operations(changes, tgt_insts, cur);
    let ops = Operations::new(&raw, cur_deps);
    let mut edges = Edges {
        edges: replace_edges,
        reversed: Vec::new(),
    };
    ops.target_edges(tgt_deps, &mut edges);
    ops.destroy_edges(&mut edges);
    ops.existing_creator_edges(&mut edges);
    ops.new_creator_edges(tgt_deps, &mut edges);
    let Edges {
        mut edges,
        reversed,
    } = edges;
    edges.extend(reversed);
    steps(changes, &raw, &edges)
}

/// The single operations of each change (a replace is two), and the edge
/// between the two halves of a replace: a delete-first replace creates
/// after it deletes, a create-first one deletes after it creates.
fn operations(
    changes: &[Change],
    tgt_insts: &HashMap<String, String>,
    cur: &[CurrentInstance],
) -> (Vec<Raw>, BTreeSet<(usize, usize)>) {
    let original_of: HashMap<&str, &CurrentInstance> = cur
        .iter()
        .filter(|c| c.deposed.is_none())
        .map(|c| (c.addr.as_str(), c))
        .collect();
    let mut raw: Vec<Raw> = Vec::new();
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new(); // (waiter, waited)
    for (change_index, ch) in changes.iter().enumerate() {
        let address = ch.address.to_string();
        let tconfig = tgt_insts
            .get(&address)
            .cloned()
            .unwrap_or_else(|| ch.address.resource.config_address());
        let cur_inst = original_of.get(address.as_str()).copied();
        let original = cur_inst.map(|c| c.original.clone());
        let cconfig = cur_inst
            .map(|c| c.config.clone())
            .unwrap_or_else(|| ch.address.resource.config_address());
        let mut push =
            |op: Action, deposed: bool, cbd: bool, config: &str, original: Option<String>| {
                raw.push(Raw {
                    change: change_index,
                    address: address.clone(),
                    op,
                    deposed,
                    cbd,
                    config: config.to_string(),
                    original,
                    module: ch.address.resource.module.clone(),
                });
                raw.len() - 1
            };
        let this = || Some(address.clone());
        match ch.actions.as_slice() {
            [Action::Create] => {
                push(Action::Create, false, false, &tconfig, None);
            }
            [Action::Update] => {
                push(Action::Update, false, false, &tconfig, original);
            }
            [Action::Read] => {
                // a data source read during apply: ordered as a write of
                // its configuration address (what it depends on first,
                // what reads it after)
                push(Action::Read, false, false, &tconfig, None);
            }
            [Action::Forget] => {
                // Terraform orders a forget like a delete (its node is a
                // destroyer), never create-before-destroy
                push(Action::Forget, false, false, &cconfig, this());
            }
            [Action::Delete] => {
                let deposed = ch.deposed.is_some();
                // a deposed object's address is the resource's; its deps
                // come from the instance it belonged to
                let cbd = ch.create_before_destroy || deposed;
                push(Action::Delete, deposed, cbd, &cconfig, this());
            }
            [Action::Delete, Action::Create] => {
                let d = push(Action::Delete, false, false, &cconfig, this());
                let c = push(Action::Create, false, false, &tconfig, original);
                edges.insert((c, d));
            }
            [Action::Create, Action::Delete] => {
                let c = push(Action::Create, false, false, &tconfig, original);
                let d = push(Action::Delete, true, true, &cconfig, this());
                edges.insert((d, c));
            }
            _ => {}
        }
    }
    (raw, edges)
}

/// The "waits for" edges found so far: `(waiter, waited)`, and those a
/// create_before_destroy delete reverses (CBDEdgeTransformer), added last.
struct Edges {
    edges: BTreeSet<(usize, usize)>,
    reversed: Vec<(usize, usize)>,
}

impl Edges {
    /// Creator `c` waits for delete `d`, or under create_before_destroy
    /// (`cbd`, the delete's) the delete waits for the creator.
    fn creator_after_delete(&mut self, c: usize, d: usize, cbd: bool) {
        if cbd {
            self.reversed.push((d, c));
        } else {
            self.edges.insert((c, d));
        }
    }
}

/// The operations with their creators indexed by target configuration
/// address and their destroyers by current configuration address.
struct Operations<'a> {
    raw: &'a [Raw],
    creators: HashMap<&'a str, Vec<usize>>,
    destroyers: HashMap<&'a str, Vec<usize>>,
    cur_deps: &'a HashMap<String, crate::prior::Deps>,
}

impl<'a> Operations<'a> {
    fn new(raw: &'a [Raw], cur_deps: &'a HashMap<String, crate::prior::Deps>) -> Operations<'a> {
        let mut creators: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut destroyers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, r) in raw.iter().enumerate() {
            match r.op {
                Action::Create | Action::Update | Action::Read => {
                    creators.entry(r.config.as_str()).or_default().push(i)
                }
                Action::Delete | Action::Forget => {
                    destroyers.entry(r.config.as_str()).or_default().push(i)
                }
                _ => {}
            }
        }
        Operations {
            raw,
            creators,
            destroyers,
            cur_deps,
        }
    }

    /// The creators of a configuration address.
    fn creators_of(&self, config: &str) -> impl Iterator<Item = usize> + '_ {
        self.creators.get(config).into_iter().flatten().copied()
    }

    /// The destroyers of a configuration address.
    fn destroyers_of(&self, config: &str) -> impl Iterator<Item = usize> + '_ {
        self.destroyers.get(config).into_iter().flatten().copied()
    }

    /// The operations of `op` kinds, with their index.
    fn of<'s>(&'s self, ops: &'s [Action]) -> impl Iterator<Item = (usize, &'a Raw)> + 's {
        self.raw
            .iter()
            .enumerate()
            .filter(move |(_, r)| ops.contains(&r.op))
    }

    /// Is operation `i` in another instance of the module `r` is in? Terraform
    /// connects no such pair by a dependency, stored or configured.
    fn other_module_instance(&self, i: usize, r: &Raw) -> bool {
        other_instance_of_same_module(&self.raw[i].module, &r.module)
    }

    /// The state dependencies of the deployed object an operation changes
    /// (by its address in the current state; none for a new instance).
    fn state_deps(&self, r: &Raw) -> Option<crate::prior::Deps> {
        let original = r.original.as_deref()?;
        Some(
            self.cur_deps
                .get(original)
                .cloned()
                .or_else(|| {
                    self.cur_deps
                        .get(original.split(" (deposed").next().unwrap_or(original))
                        .cloned()
                })
                .unwrap_or_else(|| crate::prior::Deps::from([])),
        )
    }

    /// E1: creators follow the target graph; dependencies without an
    /// operation are looked through (the order is transitive).
    fn target_edges(&self, tgt_deps: &crate::ConfigDeps, edges: &mut Edges) {
        let mut tgt_nearest = Nearest::new(tgt_deps);
        for (i, r) in self.of(&[Action::Create, Action::Update, Action::Read]) {
            for dep in tgt_nearest.get(&r.config, &|x| self.creators.contains_key(x)) {
                for t in self.creators_of(dep) {
                    if t != i {
                        edges.edges.insert((i, t));
                    }
                }
            }
        }
    }

    /// E3/E4: destroy edges from the current graph. For a delete of D and
    /// every R that D depended on: R's delete waits for D's delete, and R's
    /// create or update waits for D's delete (DestroyEdgeTransformer).
    fn destroy_edges(&self, edges: &mut Edges) {
        for (d, r) in self.of(&[Action::Delete, Action::Forget]) {
            let Some(deps) = self.state_deps(r) else {
                continue;
            };
            for dep in deps.iter() {
                for t in self.destroyers_of(dep) {
                    if t != d && !self.other_module_instance(t, r) {
                        edges.edges.insert((t, d));
                    }
                }
                for c in self.creators_of(dep) {
                    if self.raw[c].address != r.address && !self.other_module_instance(c, r) {
                        edges.creator_after_delete(c, d, r.cbd);
                    }
                }
            }
        }
    }

    /// E5: creators of existing instances wait for the deletes of what they
    /// depended on (reversed for create_before_destroy deletes).
    fn existing_creator_edges(&self, edges: &mut Edges) {
        for (c, r) in self.of(&[Action::Create, Action::Update]) {
            let Some(deps) = self.state_deps(r) else {
                continue;
            };
            for dep in deps.iter() {
                for t in self.destroyers_of(dep) {
                    if self.raw[t].address != r.address && !self.other_module_instance(t, r) {
                        edges.creator_after_delete(c, t, self.raw[t].cbd);
                    }
                }
            }
        }
    }

    /// E6: a new instance (no prior object) waits for the deletes of what
    /// its target configuration depends on, directly or not (the
    /// dependencies Terraform attaches to it), except instances of the same
    /// module in another of its instances; reversed for
    /// create_before_destroy deletes.
    fn new_creator_edges(&self, tgt_deps: &crate::ConfigDeps, edges: &mut Edges) {
        if self.destroyers.is_empty() {
            return;
        }
        let mut closure: HashMap<String, Vec<String>> = HashMap::new();
        for (c, r) in self.of(&[Action::Create]) {
            if r.original.is_some() {
                continue;
            }
            let deps = closure.entry(r.config.clone()).or_insert_with(|| {
                crate::all_dependencies(tgt_deps, &r.config, &mut BTreeSet::new())
            });
            for dep in deps.iter() {
                for t in self.destroyers_of(dep) {
                    if self.raw[t].address != r.address && !self.other_module_instance(t, r) {
                        edges.creator_after_delete(c, t, self.raw[t].cbd);
                    }
                }
            }
        }
    }
}

/// The steps: waves by Kahn's algorithm (a step's wave is one more than
/// the highest wave of the steps it waits for), sorted by wave, deletes
/// before creates within a wave, then address.
fn steps(
    changes: &[Change],
    raw: &[Raw],
    edges: &BTreeSet<(usize, usize)>,
) -> Result<Vec<Step>, PlanError> {
    let n = raw.len();
    let mut waits: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut released: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        waits[a].push(b);
        released[b].push(a);
    }
    let mut pending: Vec<usize> = waits.iter().map(Vec::len).collect();
    let mut wave = vec![0usize; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = queue.pop_front() {
        done += 1;
        for &j in &released[i] {
            wave[j] = wave[j].max(wave[i] + 1);
            pending[j] -= 1;
            if pending[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    if done < n {
        return Err(PlanError::Cycle(find_cycle(raw, &waits, &pending)));
    }
    let rank = |a: Action| match a {
        Action::Delete => 0,
        Action::Forget => 1,
        Action::Create => 2,
        Action::Update => 3,
        Action::Read => 4,
        Action::NoOp => 5,
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        wave[a]
            .cmp(&wave[b])
            .then(rank(raw[a].op).cmp(&rank(raw[b].op)))
            .then(raw[a].address.cmp(&raw[b].address))
            .then(raw[a].deposed.cmp(&raw[b].deposed))
    });
    let mut new_index = vec![0usize; n];
    for (pos, &i) in order.iter().enumerate() {
        new_index[i] = pos;
    }
    Ok(order
        .iter()
        .enumerate()
        .map(|(pos, &i)| {
            let mut after: Vec<usize> = waits[i].iter().map(|&w| new_index[w]).collect();
            after.sort_unstable();
            after.dedup();
            Step {
                index: pos,
                address: changes[raw[i].change].address.clone(),
                operation: raw[i].op,
                deposed: raw[i].deposed,
                change: raw[i].change,
                wave: wave[i],
                after,
            }
        })
        .collect())
}

fn find_cycle(raw: &[Raw], waits: &[Vec<usize>], pending: &[usize]) -> Vec<String> {
    // Walk "waits for" edges among the steps left over until one repeats.
    let Some(start) = (0..raw.len()).find(|&i| pending[i] > 0) else {
        return Vec::new();
    };
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut path = Vec::new();
    let mut cur = start;
    loop {
        if let Some(&pos) = seen.get(&cur) {
            let mut cycle: Vec<String> = path[pos..].iter().map(|&i| name(&raw[i])).collect();
            cycle.push(name(&raw[cur]));
            return cycle;
        }
        seen.insert(cur, path.len());
        path.push(cur);
        match waits[cur].iter().find(|&&w| pending[w] > 0) {
            Some(&next) => cur = next,
            None => return path.iter().map(|&i| name(&raw[i])).collect(),
        }
    }
}

/// For each resource, the nearest resources it depends on that satisfy
/// `hit`, looking through those that do not (memoized, iterative: chains of
/// any length, linear overall).
struct Nearest<'g> {
    direct: &'g crate::ConfigDeps<'g>,
    memo: HashMap<&'g str, Vec<&'g str>>,
}

impl<'g> Nearest<'g> {
    fn new(direct: &'g crate::ConfigDeps<'g>) -> Nearest<'g> {
        Nearest {
            direct,
            memo: HashMap::new(),
        }
    }

    fn get(&mut self, from: &str, hit: &dyn Fn(&str) -> bool) -> Vec<&'g str> {
        let mut out = BTreeSet::new();
        let direct = self.direct;
        for &y in direct.get(from).into_iter().flatten() {
            if hit(y) {
                out.insert(y);
            } else {
                self.fill(y, hit);
                out.extend(self.memo.get(y).into_iter().flatten().copied());
            }
        }
        out.into_iter().collect()
    }

    /// Computes the memo of `start` (a resource without a hit).
    fn fill(&mut self, start: &'g str, hit: &dyn Fn(&str) -> bool) {
        if self.memo.contains_key(start) {
            return;
        }
        let direct = self.direct;
        let mut in_progress = BTreeSet::new();
        let mut stack: Vec<(&'g str, bool)> = vec![(start, false)];
        while let Some((n, expanded)) = stack.pop() {
            if self.memo.contains_key(n) {
                continue;
            }
            let deps: &[&'g str] = direct.get(n).map(|d| &**d).unwrap_or_default();
            if !expanded {
                in_progress.insert(n);
                stack.push((n, true));
                for &y in deps {
                    if !hit(y) && !self.memo.contains_key(y) && !in_progress.contains(y) {
                        stack.push((y, false));
                    }
                }
                continue;
            }
            let mut set = BTreeSet::new();
            for &y in deps {
                if hit(y) {
                    set.insert(y);
                } else if let Some(m) = self.memo.get(y) {
                    set.extend(m.iter().copied());
                }
            }
            in_progress.remove(n);
            self.memo.insert(n, set.into_iter().collect());
        }
    }
}
