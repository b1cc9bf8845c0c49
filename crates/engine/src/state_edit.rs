//! The state side of an incremental snapshot (`incremental.rs`,
//! docs/store-format.md §11): a state file that changed, or one beside
//! configuration blocks added or removed. An apply rewrites a few
//! resources of a state: the resources whose JSON text the last state
//! held are not parsed, encoded or hashed again (the cache's state index
//! says which they were and where their instances are); only the others'
//! instances are made, and the groups of the modules they are in written
//! anew. Exact, as the rest of the incremental snapshot: what a state
//! marks secret for a resource type must be what it marked (so no
//! configuration node changes with it), and an instance whose
//! configuration changed its secret paths is not one it keeps.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use rewind_model::{Hash, Node, NodeKind, Path};
use rewind_odb::{GroupEntry, ModelEdit, ObjectId, ObjectWriter, Store};
use rewind_parse::{FileStat, StateResource, StateScan};
// FxHash for the tables of state resources by content hash (a hundred
// thousand of them at 100k resources; SipHash was 5% of such a snapshot)
use rustc_hash::{FxHashMap, FxHashSet};

use crate::cache::{DirCache, Stat};
use crate::error::Result;

/// What a state marks secret for each resource type (data source or not,
/// type): the paths every resource of the type is given
/// (what its instances mark, up to the first index).
pub(crate) type TypePaths = HashMap<rewind_parse::state::TypeKey, BTreeSet<Path>>;

/// A file whose content changed since the last snapshot (a configuration
/// file, or the state).
pub(crate) struct ChangedFile {
    pub(crate) abs: PathBuf,
    /// Relative to the tree's root, `/`-separated (a configuration file's
    /// group key).
    pub(crate) rel: String,
    pub(crate) stat: FileStat,
    pub(crate) executable: bool,
    /// The content hash the last snapshot recorded.
    pub(crate) old: Hash,
    pub(crate) hash: Hash,
    /// (shared with the thread that stores a state's)
    pub(crate) bytes: std::sync::Arc<Vec<u8>>,
}

impl ChangedFile {
    /// What the stat cache records of it now.
    pub(crate) fn recorded(&self) -> Stat {
        Stat {
            stat: self.stat,
            executable: self.executable,
            hash: self.hash,
        }
    }
}

/// The model's state as an incremental snapshot sees it.
pub(crate) struct StateSide {
    /// The last state's resources (the cache's index of it).
    old: Vec<StateResource>,
    /// The new state, when its file changed: the file and what it holds
    /// (the resources the last state held are not parsed).
    pub(crate) change: Option<(ChangedFile, StateScan)>,
    /// What the state marks secret for each type (the same before and
    /// after: checked).
    pub(crate) type_paths: TypePaths,
}

impl StateSide {
    /// The state side of a snapshot where the state file `file` changed
    /// (`None`: it did not, and its content hash is `current`), from the
    /// cache's index of the last state; `None` when there is no usable
    /// index, the new state cannot be read so, or it changes what is
    /// secret for a type.
    pub(crate) fn read(
        cache: &DirCache,
        current: &Hash,
        file: Option<ChangedFile>,
        shown: &str,
    ) -> Option<StateSide> {
        let old_hash = file.as_ref().map_or(*current, |f| f.old);
        let Some(old) = cache.state_index(&old_hash) else {
            return declined(40);
        };
        let old_type_paths = type_paths_of(old.iter());
        let Some(file) = file else {
            return Some(StateSide {
                old,
                change: None,
                type_paths: old_type_paths,
            });
        };
        let known: FxHashSet<Hash> = old.iter().map(|r| r.hash).collect();
        if known.len() != old.len() {
            return declined(41);
        }
        let scan = rewind_parse::scan_state(shown, &file.bytes, &|h: &Hash| known.contains(h));
        let Ok(scan) = scan else {
            return declined(42);
        };
        let by_hash: FxHashMap<Hash, &StateResource> = old.iter().map(|r| (r.hash, r)).collect();
        let added: Vec<StateResource> = scan
            .resources
            .iter()
            .filter_map(|(h, nodes)| Some(StateResource::of(*h, nodes.as_deref()?)))
            .collect();
        let kept = scan
            .resources
            .iter()
            .filter_map(|(h, _)| by_hash.get(h).copied());
        if type_paths_of(kept.chain(&added)) != old_type_paths {
            return declined(43);
        }
        Some(StateSide {
            old,
            change: Some((file, scan)),
            type_paths: old_type_paths,
        })
    }

    /// The last state's resources whose instances stay as they were: all
    /// of them, or, when the state changed, those the new one holds too.
    fn kept(&self) -> Vec<&StateResource> {
        match &self.change {
            None => self.old.iter().collect(),
            Some((_, scan)) => {
                let new: FxHashSet<Hash> = scan.resources.iter().map(|(h, _)| *h).collect();
                self.old.iter().filter(|r| new.contains(&r.hash)).collect()
            }
        }
    }

    /// Are the instances the state keeps untouched by the configuration's
    /// change? Not when one's configuration node was added or removed
    /// with secret paths (`with_secrets`: their addresses), which an instance
    /// takes from it.
    pub(crate) fn keeps_instances(&self, with_secrets: &HashSet<String>) -> bool {
        if with_secrets.is_empty() {
            return true;
        }
        // (most addresses have no key: they are their resource's)
        let ok = self.kept().iter().all(|r| {
            r.addresses.iter().all(|a| {
                if a.contains(['[', ' ']) {
                    !with_secrets.contains(&rewind_parse::sensitive::without_keys(a))
                } else {
                    !with_secrets.contains(a)
                }
            })
        });
        if !ok {
            let _ = declined::<()>(44);
        }
        ok
    }
}

/// The union of what resources make secret for their types.
fn type_paths_of<'a>(resources: impl Iterator<Item = &'a StateResource>) -> TypePaths {
    let mut out = TypePaths::new();
    for r in resources {
        if let Some((key, paths)) = &r.type_paths {
            out.entry(key.clone())
                .or_default()
                .extend(paths.iter().map(|(p, _)| p.clone()));
        }
    }
    out
}

/// The configuration's secret paths by node address, as far as an
/// incremental snapshot knows them: the nodes it made (`made`: changed
/// and added blocks, with their secret paths), those it dropped
/// (`dropped`), the others read from the last model when asked for.
pub(crate) struct ConfigSecrets<'a> {
    pub(crate) made: HashMap<String, Vec<Path>>,
    pub(crate) dropped: HashSet<String>,
    /// The groups made anew, with their last ids (what they hold but
    /// `made` and `dropped` is unchanged, and read from those).
    pub(crate) replaced: HashMap<&'a str, ObjectId>,
}

impl ConfigSecrets<'_> {
    /// The secret paths of the resource-like configuration nodes of
    /// `addresses` (those that have some); `None` when the last model's
    /// nodes cannot be read, or an address names two.
    fn lookup(
        &self,
        store: &Store,
        edit: &ModelEdit,
        addresses: &HashSet<String>,
    ) -> Option<HashMap<String, Vec<Path>>> {
        let mut out: HashMap<String, Vec<Path>> = HashMap::new();
        let mut rest: HashSet<&str> = HashSet::new();
        for a in addresses {
            if let Some(paths) = self.made.get(a) {
                out.insert(a.clone(), paths.clone());
            } else if !self.dropped.contains(a) {
                rest.insert(a.as_str());
            }
        }
        if rest.is_empty() {
            return Some(out);
        }
        // an unchanged node's: every configuration group is read (a group
        // made anew as it was: the writer holds the new one)
        let keys: Vec<(ObjectId, &str)> = edit
            .groups()
            .filter(|(k, ..)| !ModelEdit::is_state_group(k))
            .map(|(k, id, _)| (self.replaced.get(k).copied().unwrap_or(id), k))
            .collect();
        let groups = store.groups_entries(&keys).ok()?;
        let mut found: Vec<(&str, &GroupEntry)> = Vec::new();
        for ((_, key), entries) in keys.iter().zip(&groups) {
            for e in entries {
                if e.kind.is_resource_like() && rest.contains(e.address.as_str()) {
                    found.push((key, e));
                }
            }
        }
        let nodes = store.entries_nodes(&found).ok()?;
        for n in nodes {
            if out.contains_key(&n.address) {
                return None;
            }
            out.insert(n.address.clone(), n.sensitive);
        }
        Some(out)
    }
}

/// What [`edit_state`] changed: the number of instances (root outputs not
/// counted), and the new state's index.
pub(crate) struct StateEdited {
    pub(crate) instances: u64,
    pub(crate) index: Vec<StateResource>,
    pub(crate) file: ChangedFile,
}

/// Replaces the state's instances in `edit` with those of the new state
/// of `side`: the instances of resources the last state held stay, those
/// of the others are dropped or made (each given its configuration's
/// secret paths, as the sensitivity pass gives them), the root outputs
/// made anew, and the groups of the modules concerned written anew.
/// `None` when an address would be there twice (a whole load reports it).
pub(crate) fn edit_state(
    store: &Store,
    w: &mut ObjectWriter<'_>,
    edit: &mut ModelEdit,
    side: StateSide,
    config: &ConfigSecrets<'_>,
) -> Result<Option<StateEdited>> {
    let Some((file, scan)) = side.change else {
        return Ok(None);
    };
    let new: FxHashSet<Hash> = scan.resources.iter().map(|(h, _)| *h).collect();
    if new.len() != scan.resources.len() {
        return Ok(declined(45));
    }
    let mut by_hash: FxHashMap<Hash, StateResource> =
        side.old.into_iter().map(|r| (r.hash, r)).collect();
    // the instances to take out, by module
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for r in by_hash.values().filter(|r| !new.contains(&r.hash)) {
        out.entry(r.module.clone())
            .or_default()
            .extend(r.addresses.iter().cloned());
    }
    let mut index = Vec::with_capacity(scan.resources.len());
    let mut made: Vec<Node> = Vec::new();
    for (h, nodes) in scan.resources {
        match nodes {
            Some(nodes) => {
                index.push(StateResource::of(h, &nodes));
                made.extend(nodes);
            }
            // (each hash is there once: checked above)
            None => match by_hash.remove(&h) {
                Some(r) => index.push(r),
                None => return Ok(None),
            },
        }
    }
    // the instances' configuration secret paths
    let wanted: HashSet<String> = made
        .iter()
        .filter(|n| !n.type_.is_empty())
        .map(|n| rewind_parse::sensitive::without_keys(&n.address))
        .collect();
    let Some(secrets) = config.lookup(store, edit, &wanted) else {
        return Ok(declined(46));
    };
    for n in made.iter_mut().filter(|n| !n.type_.is_empty()) {
        if let Some(paths) = secrets.get(&rewind_parse::sensitive::without_keys(&n.address)) {
            rewind_parse::add_secret_paths(n, paths.iter().cloned());
        }
    }
    // the root outputs are made anew, in the root module's group
    out.entry(String::new()).or_default();
    let mut add: HashMap<String, Vec<Node>> = HashMap::new();
    for n in made {
        add.entry(n.module.clone()).or_default().push(n);
    }
    let outputs = scan.outputs.len() as u64;
    add.entry(String::new()).or_default().extend(scan.outputs);
    for module in add.keys() {
        out.entry(module.clone()).or_default();
    }
    if !replace_groups(store, w, edit, out, add)? {
        return Ok(declined(47));
    }
    edit.set_state(Some(scan.info));
    let instances = edit
        .groups()
        .filter(|(k, ..)| ModelEdit::is_state_group(k))
        .map(|(.., count)| u64::from(count))
        .sum::<u64>()
        .saturating_sub(outputs);
    Ok(Some(StateEdited {
        instances,
        index,
        file,
    }))
}

/// Writes the state group of each module of `out` anew: its entries but
/// those `out` names (and the root outputs), with the nodes of `add`;
/// false when an address would be there twice.
fn replace_groups(
    store: &Store,
    w: &mut ObjectWriter<'_>,
    edit: &mut ModelEdit,
    out: HashMap<String, HashSet<String>>,
    mut add: HashMap<String, Vec<Node>>,
) -> Result<bool> {
    let modules: Vec<(String, HashSet<String>)> = out.into_iter().collect();
    let keys: Vec<String> = modules
        .iter()
        .map(|(m, _)| ModelEdit::state_group_key(m))
        .collect();
    let present: Vec<(ObjectId, &str)> = keys
        .iter()
        .filter_map(|k| edit.group_id(k).map(|id| (id, k.as_str())))
        .collect();
    let Ok(groups) = store.groups_entries(&present) else {
        return Ok(false);
    };
    let mut old: HashMap<&str, Vec<GroupEntry>> =
        present.iter().map(|(_, k)| *k).zip(groups).collect();
    for ((module, gone), key) in modules.iter().zip(&keys) {
        let root = module.is_empty();
        let mut entries: Vec<GroupEntry> = old
            .remove(key.as_str())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                let output = root && e.address.starts_with("output.");
                !output && !gone.contains(&e.address)
            })
            .collect();
        let mut seen: HashSet<String> = entries.iter().map(|e| e.address.clone()).collect();
        for n in add.remove(module).unwrap_or_default() {
            if !seen.insert(n.address.clone()) {
                return Ok(false);
            }
            let node = w.add_node(&n)?;
            entries.push(GroupEntry {
                address: n.address,
                kind: NodeKind::Instance,
                node,
                line: 0,
                col: 0,
            });
        }
        if entries.is_empty() {
            edit.remove_group(key);
        } else {
            w.replace_group(edit, key, entries)?;
        }
    }
    Ok(true)
}

/// `None` (the state is not one this takes), said on stderr with the
/// reason's number when `REWIND_TRACE` is set (numbers go on from
/// `incremental.rs`'s).
pub(crate) fn declined<T>(reason: u32) -> Option<T> {
    if std::env::var_os("REWIND_TRACE").is_some() {
        eprintln!("trace: incremental snapshot declined ({reason})");
    }
    None
}
