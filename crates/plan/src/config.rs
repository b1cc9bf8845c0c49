//! A configuration ready to evaluate: its nodes indexed by address, the
//! order they evaluate in (what a node refers to comes first), and where
//! each module's files are.

use std::collections::{BTreeMap, HashMap, VecDeque};

use rustc_hash::FxHashMap;

use rewind_model::{EdgeKind, Model, Node, NodeKind};

use crate::PlanError;

/// The nodes of one module (path), by the names references use.
#[derive(Default)]
pub(crate) struct ModuleIndex<'m> {
    pub vars: FxHashMap<&'m str, usize>,
    pub locals: FxHashMap<&'m str, usize>,
    pub outputs: FxHashMap<&'m str, usize>,
    /// Module calls, by call name.
    pub calls: FxHashMap<&'m str, usize>,
    /// Managed resources by type, then name.
    pub managed: FxHashMap<&'m str, FxHashMap<&'m str, usize>>,
    /// Data sources by type, then name.
    pub data: FxHashMap<&'m str, FxHashMap<&'m str, usize>>,
}

/// An index over one side's model.
pub(crate) struct Config<'m> {
    pub model: &'m Model,
    index: FxHashMap<&'m str, usize>,
    /// By module path, names borrowed from the model (they were copied
    /// for every node of both models).
    modules: FxHashMap<&'m str, ModuleIndex<'m>>,
    /// Node indexes, dependencies first.
    pub order: Vec<usize>,
    /// Directory of each module path (`""` for the root), relative to the
    /// snapshot root, `/`-separated (`""` when it is the root itself).
    module_dirs: HashMap<String, String>,
}

impl<'m> Config<'m> {
    pub fn new(model: &'m Model) -> Result<Config<'m>, PlanError> {
        let index: FxHashMap<&str, usize> = model
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.address.as_str(), i))
            .collect();
        let mut module_dirs: HashMap<String, String> = HashMap::new();
        for n in &model.nodes {
            if n.kind == NodeKind::Tfvars || n.loc.file.is_empty() {
                continue;
            }
            module_dirs
                .entry(n.module.clone())
                .or_insert_with(|| parent_dir(&n.loc.file));
        }
        let mut deps = evaluation_deps(model, &index);
        imports_first(model, &index, &mut deps);
        let order = topo_order(model, &deps)?;
        let mut modules: FxHashMap<&str, ModuleIndex> = FxHashMap::default();
        modules.entry("").or_default();
        for (i, n) in model.nodes.iter().enumerate() {
            let m = modules.entry(n.module.as_str()).or_default();
            let name = n.name.as_str();
            match n.kind {
                NodeKind::Variable => {
                    m.vars.insert(name, i);
                }
                NodeKind::Local => {
                    m.locals.insert(name, i);
                }
                NodeKind::Output => {
                    m.outputs.insert(name, i);
                }
                NodeKind::Module => {
                    m.calls.insert(name, i);
                }
                NodeKind::Resource => {
                    m.managed
                        .entry(n.type_.as_str())
                        .or_default()
                        .insert(name, i);
                }
                NodeKind::Data => {
                    m.data.entry(n.type_.as_str()).or_default().insert(name, i);
                }
                _ => {}
            }
        }
        Ok(Config {
            model,
            index,
            modules,
            order,
            module_dirs,
        })
    }

    /// The nodes of a module path (an empty index for an unknown path).
    pub fn module(&self, path: &str) -> &ModuleIndex<'m> {
        static EMPTY: std::sync::OnceLock<ModuleIndex<'static>> = std::sync::OnceLock::new();
        self.modules
            .get(path)
            .unwrap_or_else(|| EMPTY.get_or_init(ModuleIndex::default))
    }

    pub fn node(&self, i: usize) -> &'m Node {
        &self.model.nodes[i]
    }

    pub fn find(&self, address: &str) -> Option<usize> {
        self.index.get(address).copied()
    }

    /// `path.module` of a module path: its directory relative to the root
    /// module's (`.` for the root).
    pub(crate) fn path_module(&self, module: &str) -> String {
        let root = self.module_dirs.get("").cloned().unwrap_or_default();
        let dir = self
            .module_dirs
            .get(module)
            .cloned()
            .unwrap_or_else(|| root.clone());
        relative(&root, &dir)
    }
}

fn parent_dir(file: &str) -> String {
    match file.rfind('/') {
        Some(i) => file[..i].to_string(),
        None => String::new(),
    }
}

/// `to` relative to `from` (both `/`-separated, relative to one root).
fn relative(from: &str, to: &str) -> String {
    let f: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let t: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = f.iter().zip(t.iter()).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; f.len() - common];
    parts.extend(&t[common..]);
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// What each node needs evaluated before it: what it refers to, its module
/// call, and for a reference to a whole module (`module.x`, `depends_on =
/// [module.x]`), everything inside that module.
fn evaluation_deps(model: &Model, index: &FxHashMap<&str, usize>) -> Vec<Vec<usize>> {
    // nodes inside each module call, by the call's address
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in model.nodes.iter().enumerate() {
        let mut m = n.module.as_str();
        while !m.is_empty() {
            members.entry(m).or_default().push(i);
            m = match m.rfind(".module.") {
                Some(p) => &m[..p],
                None => "",
            };
        }
    }
    model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut out = Vec::new();
            for e in &n.edges {
                if matches!(e.kind, EdgeKind::Provider | EdgeKind::State) {
                    continue;
                }
                let Some(&t) = index.get(e.to.as_str()) else {
                    continue;
                };
                let target = &model.nodes[t];
                out.push(t);
                let inside = n.address.starts_with(&format!("{}.", target.address));
                if target.kind == NodeKind::Module && e.kind != EdgeKind::Module && !inside {
                    out.extend(members.get(target.address.as_str()).into_iter().flatten());
                }
            }
            out.retain(|&t| t != i);
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}

/// A resource is evaluated after the `import` blocks that import into it
/// (the walk hands their imports to the planner before the resource's
/// instances are planned).
fn imports_first(model: &Model, index: &FxHashMap<&str, usize>, deps: &mut [Vec<usize>]) {
    for (i, n) in model.nodes.iter().enumerate() {
        if n.kind != NodeKind::Import {
            continue;
        }
        let Some(rewind_model::Value::Expr(e)) = n.body.get("to") else {
            continue;
        };
        let rewind_model::expr::Expr::Traversal { root, ops, .. } = e.as_ref() else {
            continue;
        };
        let mut names = vec![root.as_str()];
        names.extend(ops.iter().filter_map(|op| match op {
            rewind_model::expr::TravOp::Attr(a) => Some(a.as_str()),
            _ => None,
        }));
        if names.len() > 2 && names[names.len() - 3] == "resource" {
            names.remove(names.len() - 3);
        }
        if let Some(&r) = index.get(names.join(".").as_str()) {
            if !deps[r].contains(&i) {
                deps[r].push(i);
            }
        }
    }
}

/// Kahn's algorithm; a cycle is an error naming its nodes.
fn topo_order(model: &Model, deps: &[Vec<usize>]) -> Result<Vec<usize>, PlanError> {
    let n = deps.len();
    let mut pending: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            users[d].push(i);
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &u in &users[i] {
            pending[u] -= 1;
            if pending[u] == 0 {
                queue.push_back(u);
            }
        }
    }
    if order.len() < n {
        // walk dependencies among the nodes left until one repeats
        let start = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        let mut path = Vec::new();
        let mut cur = start;
        loop {
            if let Some(&pos) = seen.get(&cur) {
                let mut cycle: Vec<String> = path[pos..]
                    .iter()
                    .map(|&i: &usize| model.nodes[i].address.clone())
                    .collect();
                cycle.push(model.nodes[cur].address.clone());
                return Err(PlanError::ConfigCycle(cycle));
            }
            seen.insert(cur, path.len());
            path.push(cur);
            match deps[cur].iter().find(|&&d| pending[d] > 0) {
                Some(&next) => cur = next,
                None => {
                    return Err(PlanError::ConfigCycle(
                        path.iter()
                            .map(|&i| model.nodes[i].address.clone())
                            .collect(),
                    ))
                }
            }
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_paths() {
        assert_eq!(relative("", ""), ".");
        assert_eq!(relative("", "modules/net"), "modules/net");
        assert_eq!(relative("infra", "infra/modules/net"), "modules/net");
        assert_eq!(relative("infra", "modules/net"), "../modules/net");
    }
}
