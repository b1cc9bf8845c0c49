//! Reading snapshots back: models, file trees, and checkout.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use rewind_model::{Hash, Loc, Model, Node, NodeKind};

use crate::error::{corrupt, io, Result, StoreError};
use crate::objects::{EntryKind, Group, ModelObj, Tree};
use crate::pack::ObjType;
use crate::store::Store;

/// A file of a snapshot's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    pub path: String,
    pub executable: bool,
    pub size: u64,
    pub id: Hash,
}

/// How much of a model to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// Everything.
    Full,
    /// State instances without their attributes (addresses, facts and
    /// recorded dependencies only): what a plan needs of the current side.
    Light,
    /// No state instances: the configuration alone.
    ConfigOnly,
}

/// What `checkout` wrote.
#[derive(Debug)]
pub struct CheckoutSummary {
    pub files: usize,
    pub bytes: u64,
}

impl Store {
    pub fn model_obj(&self, id: &Hash) -> Result<ModelObj> {
        let bytes = self.get_typed(id, ObjType::Model)?;
        ModelObj::decode(&bytes).map_err(|e| corrupt(format!("model {id}"), e.to_string()))
    }

    /// The groups of a model (in the model's key order).
    pub fn groups(&self, obj: &ModelObj) -> Result<Vec<(String, Group)>> {
        self.groups_with(obj, Load::Full)
    }

    fn groups_with(&self, obj: &ModelObj, load: Load) -> Result<Vec<(String, Group)>> {
        if load == Load::ConfigOnly {
            let mut only = obj.clone();
            only.groups
                .retain(|k, _| !k.starts_with(crate::objects::STATE_GROUP_PREFIX));
            return self.groups_with(&only, Load::Full);
        }
        let ids: Vec<Hash> = obj.groups.values().map(|(h, _)| *h).collect();
        let raw = self.get_many(&ids)?;
        let mut out = Vec::with_capacity(raw.len());
        for ((key, (id, _)), bytes) in obj.groups.iter().zip(raw) {
            let g = Group::decode(&bytes)
                .map_err(|e| corrupt(format!("node group {id} ({key})"), e.to_string()))?;
            out.push((key.clone(), g));
        }
        Ok(out)
    }

    /// Decodes the nodes of some groups.
    pub fn group_nodes(
        &self,
        obj: &ModelObj,
        groups: &[(String, Group)],
    ) -> Result<(Vec<Node>, Vec<Node>)> {
        self.group_nodes_with(obj, groups, Load::Full)
    }

    fn group_nodes_with(
        &self,
        obj: &ModelObj,
        groups: &[(String, Group)],
        load: Load,
    ) -> Result<(Vec<Node>, Vec<Node>)> {
        let wanted = |e: &crate::objects::GroupEntry| {
            load != Load::ConfigOnly || e.kind != NodeKind::Instance
        };
        let mut ids = Vec::new();
        for (_, g) in groups {
            ids.extend(g.entries.iter().filter(|e| wanted(e)).map(|e| e.node));
        }
        let raw = self.get_many(&ids)?;
        let mut raw = raw.into_iter();
        let mut nodes = Vec::new();
        let mut instances = Vec::new();
        let state_file = obj
            .state
            .as_ref()
            .map(|s| s.path.clone())
            .unwrap_or_default();
        for (key, g) in groups {
            for e in g.entries.iter().filter(|e| wanted(e)) {
                let bytes = raw.next().unwrap_or_default();
                let skip = load == Load::Light && e.kind == NodeKind::Instance;
                let mut n = Node::decode_with(&bytes, skip).map_err(|err| {
                    corrupt(format!("node {} ({})", e.node, e.address), err.to_string())
                })?;
                if n.address != e.address {
                    return Err(corrupt(
                        format!("node group {key}"),
                        format!("entry {} names node {}", e.address, n.address),
                    ));
                }
                if e.kind == NodeKind::Instance {
                    n.loc = Loc {
                        file: state_file.clone(),
                        line: 0,
                        col: 0,
                    };
                    instances.push(n);
                } else {
                    n.loc = Loc {
                        file: key.clone(),
                        line: e.line,
                        col: e.col,
                    };
                    nodes.push(n);
                }
            }
        }
        Ok((nodes, instances))
    }

    /// Loads a whole model.
    pub fn load_model(&self, id: &Hash) -> Result<(Model, String)> {
        self.load_model_with(id, Load::Full)
    }

    /// Loads a model, its state instances in full, without their
    /// attributes, or not at all.
    pub fn load_model_with(&self, id: &Hash, load: Load) -> Result<(Model, String)> {
        let obj = self.model_obj(id)?;
        let mut groups = self.groups_with(&obj, load)?;
        if load == Load::ConfigOnly {
            groups.retain(|(_, g)| g.entries.iter().any(|e| e.kind != NodeKind::Instance));
        }
        let (nodes, instances) = self.group_nodes_with(&obj, &groups, load)?;
        let mut model = Model {
            nodes,
            instances,
            state: obj.state.clone(),
            diagnostics: obj.diagnostics.clone(),
        };
        model.sort();
        Ok((model, obj.root))
    }

    pub fn tree(&self, id: &Hash) -> Result<Tree> {
        let bytes = self.get_typed(id, ObjType::Tree)?;
        Tree::decode(&bytes).map_err(|e| corrupt(format!("tree {id}"), e.to_string()))
    }

    /// Every file of a tree, with its path.
    pub fn tree_files(&self, id: &Hash) -> Result<Vec<TreeFile>> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), *id)];
        let mut depth_guard = 0usize;
        while let Some((prefix, tid)) = stack.pop() {
            depth_guard += 1;
            if depth_guard > 1_000_000 {
                return Err(corrupt(format!("tree {id}"), "too many directories"));
            }
            for e in self.tree(&tid)?.entries {
                let path = if prefix.is_empty() {
                    e.name.clone()
                } else {
                    format!("{prefix}/{}", e.name)
                };
                match e.kind {
                    EntryKind::Dir => stack.push((path, e.id)),
                    k => out.push(TreeFile {
                        path,
                        executable: k == EntryKind::Executable,
                        size: e.size,
                        id: e.id,
                    }),
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// The contents of many files.
    pub fn blobs(&self, ids: &[Hash]) -> Result<Vec<Vec<u8>>> {
        self.get_many(ids)
    }

    /// Restores the exact files of a snapshot into `dest`.
    pub fn checkout(&self, snapshot: &Hash, dest: &Path, force: bool) -> Result<CheckoutSummary> {
        let rec = self.record(snapshot)?;
        let files = self.tree_files(&rec.tree)?;
        if dest.exists() {
            if !dest.is_dir() {
                return Err(StoreError::Conflict(format!(
                    "{} exists and is not a directory",
                    dest.display()
                )));
            }
            let non_empty = std::fs::read_dir(dest).map_err(io(dest))?.next().is_some();
            if non_empty && !force {
                return Err(StoreError::Conflict(format!(
                    "{} is not empty; use --force to write into it",
                    dest.display()
                )));
            }
        }
        std::fs::create_dir_all(dest).map_err(io(dest))?;
        let root = dest.canonicalize().map_err(io(dest))?;
        // Check every path before writing anything.
        let mut targets = Vec::with_capacity(files.len());
        for f in &files {
            targets.push(safe_join(&root, &f.path)?);
        }
        let mut bytes_total = 0u64;
        // In batches, so memory stays bounded on huge trees.
        for (chunk_files, chunk_targets) in files.chunks(2048).zip(targets.chunks(2048)) {
            let chunk_ids: Vec<Hash> = chunk_files.iter().map(|f| f.id).collect();
            let contents = self.get_many(&chunk_ids)?;
            for ((f, target), data) in chunk_files.iter().zip(chunk_targets).zip(contents) {
                if let Some(parent) = target.parent() {
                    create_dirs_inside(&root, parent)?;
                }
                if let Ok(md) = std::fs::symlink_metadata(target) {
                    if md.file_type().is_symlink() || md.is_dir() {
                        return Err(StoreError::Conflict(format!(
                            "{} exists and is a {}; refusing to replace it",
                            target.display(),
                            if md.is_dir() {
                                "directory"
                            } else {
                                "symbolic link"
                            }
                        )));
                    }
                }
                let tmp = target.with_file_name(format!(
                    ".{}.rewind-tmp",
                    target
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                ));
                std::fs::write(&tmp, &data).map_err(io(&tmp))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = if f.executable { 0o755 } else { 0o644 };
                    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
                        .map_err(io(&tmp))?;
                }
                std::fs::rename(&tmp, target).map_err(io(target))?;
                bytes_total += data.len() as u64;
            }
        }
        Ok(CheckoutSummary {
            files: files.len(),
            bytes: bytes_total,
        })
    }

    /// Counts of each object type reachable from a snapshot (for `show`).
    pub fn model_summary(&self, model: &Model) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for n in &model.nodes {
            *m.entry(n.kind.as_str()).or_insert(0) += 1;
        }
        if !model.instances.is_empty() {
            m.insert("instance", model.instances.len());
        }
        m
    }
}

/// `root/path`, refusing anything that could land outside `root`.
pub fn safe_join(root: &Path, path: &str) -> Result<PathBuf> {
    let escape = || {
        StoreError::Conflict(format!(
            "refusing path {path:?}: it would escape the checkout directory"
        ))
    };
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return Err(escape());
    }
    let p = Path::new(path);
    let mut out = root.to_path_buf();
    for c in p.components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => return Err(escape()),
        }
    }
    if !out.starts_with(root) {
        return Err(escape());
    }
    Ok(out)
}

/// Creates `dir` (under `root`) refusing to go through symbolic links.
fn create_dirs_inside(root: &Path, dir: &Path) -> Result<()> {
    let rel = dir.strip_prefix(root).map_err(|_| {
        StoreError::Conflict(format!(
            "refusing {}: outside the checkout directory",
            dir.display()
        ))
    })?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() => {
                return Err(StoreError::Conflict(format!(
                    "refusing to write through the symbolic link {}",
                    cur.display()
                )))
            }
            Ok(md) if md.is_dir() => {}
            Ok(_) => {
                return Err(StoreError::Conflict(format!(
                    "{} exists and is not a directory",
                    cur.display()
                )))
            }
            Err(_) => std::fs::create_dir(&cur).map_err(io(&cur))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_join_refuses_escapes() {
        let root = Path::new("/tmp/x");
        assert!(safe_join(root, "a/b.tf").is_ok());
        for bad in ["../a", "/etc/passwd", "a/../../b", "", "a\\..\\b"] {
            assert!(safe_join(root, bad).is_err(), "{bad}");
        }
    }
}

impl Store {
    /// The parts of two models that can differ, for a fast diff: only the
    /// groups whose hashes differ are read, and of those only the nodes
    /// whose hashes differ (plus `moved` blocks, which explain renames).
    /// Unchanged nodes are never loaded.
    pub fn changed_parts(&self, a: &Hash, b: &Hash) -> Result<(Model, Model)> {
        let oa = self.model_obj(a)?;
        let ob = self.model_obj(b)?;
        let differing = |x: &ModelObj, y: &ModelObj| -> ModelObj {
            let mut m = x.clone();
            m.groups
                .retain(|k, (h, _)| y.groups.get(k).map(|(h2, _)| h2 != h).unwrap_or(true));
            m
        };
        let da = differing(&oa, &ob);
        let db = differing(&ob, &oa);
        let ga = self.groups(&da)?;
        let gb = self.groups(&db)?;
        let index = |gs: &[(String, Group)]| -> std::collections::HashMap<String, Hash> {
            gs.iter()
                .flat_map(|(_, g)| g.entries.iter().map(|e| (e.address.clone(), e.node)))
                .collect()
        };
        let ia = index(&ga);
        let ib = index(&gb);
        let keep = |gs: Vec<(String, Group)>,
                    other: &std::collections::HashMap<String, Hash>|
         -> Vec<(String, Group)> {
            gs.into_iter()
                .map(|(k, mut g)| {
                    g.entries.retain(|e| {
                        e.kind == rewind_model::NodeKind::Moved
                            || other.get(&e.address) != Some(&e.node)
                    });
                    (k, g)
                })
                .collect()
        };
        let ga = keep(ga, &ib);
        let gb = keep(gb, &ia);
        let (na, ia_) = self.group_nodes(&da, &ga)?;
        let (nb, ib_) = self.group_nodes(&db, &gb)?;
        let mut ma = Model {
            nodes: na,
            instances: ia_,
            state: oa.state.clone(),
            diagnostics: Vec::new(),
        };
        let mut mb = Model {
            nodes: nb,
            instances: ib_,
            state: ob.state.clone(),
            diagnostics: Vec::new(),
        };
        ma.sort();
        mb.sort();
        Ok((ma, mb))
    }
}
