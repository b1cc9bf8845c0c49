//! Models in the store: one Node object per node, gathered into Group
//! objects (the nodes of one file, or the state instances of one module)
//! that a Model object lists (docs/store-format.md §4.3-4.5). An unchanged
//! file or module keeps its group's id, so a diff of two snapshots reads
//! only the groups that differ.

use std::collections::{BTreeMap, HashMap};

use rewind_model::codec::{Dec, DecodeError, Enc};
use rewind_model::{Diagnostic, Loc, Model, Node, NodeKind, Severity, StateInfo};

use crate::error::{corrupt, Result};
use crate::id::ObjectId;
use crate::pack::{BlockBuilder, ObjType, ReadyBlock};
use crate::store::Store;
use crate::writer::ObjectWriter;

/// How much of a model to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Load {
    /// Everything.
    Full,
    /// State instances without their attributes (addresses, facts and
    /// recorded dependencies only).
    Light,
    /// No state instances: the configuration alone.
    ConfigOnly,
}

/// One node in a group: where it is and which node object it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    /// The node's address.
    pub address: String,
    /// The node's kind.
    pub kind: NodeKind,
    /// The Node object.
    pub node: ObjectId,
    /// Where its block starts in the group's file (0 for instances).
    pub line: u32,
    /// The column there.
    pub col: u32,
}

/// The nodes of one file (config nodes) or of one module's instances.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Group {
    pub(crate) entries: Vec<GroupEntry>,
}

/// The prefix of the group keys of state instances (`state:` + module).
pub(crate) const STATE_GROUP_PREFIX: &str = "state:";

fn kind_code(k: NodeKind) -> u8 {
    NodeKind::ALL.iter().position(|x| *x == k).unwrap_or(0) as u8
}

/// A group entry as the model's writer holds it: the address borrowed
/// from the node (a copy of every address was 237,000 strings held while
/// a model of 100k resources was written).
#[derive(Clone, Copy)]
struct EntryRef<'a> {
    address: &'a str,
    kind: NodeKind,
    node: ObjectId,
    line: u32,
    col: u32,
}

/// A Group object's bytes from its entries, in address order.
fn encode_group<'a>(entries: impl ExactSizeIterator<Item = EntryRef<'a>>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(16 + entries.len() * 80);
    encode_group_into(&mut buf, entries);
    buf
}

/// [`encode_group`] appended to `buf`.
fn encode_group_into<'a>(buf: &mut Vec<u8>, entries: impl ExactSizeIterator<Item = EntryRef<'a>>) {
    let mut e = Enc::from_vec(std::mem::take(buf));
    e.u8(1);
    e.uvar(entries.len() as u64);
    for g in entries {
        e.str(g.address);
        e.u8(kind_code(g.kind));
        e.hash(&g.node.hash());
        e.uvar(u64::from(g.line));
        e.uvar(u64::from(g.col));
    }
    *buf = e.into_bytes();
}

impl Group {
    /// The Group object's bytes (the model's writer encodes its borrowed
    /// entries directly).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> Vec<u8> {
        encode_group(self.entries.iter().map(|g| EntryRef {
            address: &g.address,
            kind: g.kind,
            node: g.node,
            line: g.line,
            col: g.col,
        }))
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Group, DecodeError> {
        let mut d = Dec::new(b);
        if d.u8()? != 1 {
            return Err(d.error("unknown group version"));
        }
        // address (1+), kind (1), node (32), line (1+), col (1+)
        let n = d.count(36)?;
        let mut entries = Vec::with_capacity(n.min(crate::tree::PREALLOC_MAX));
        for _ in 0..n {
            let address = d.string()?;
            let kind = *NodeKind::ALL
                .get(d.u8()? as usize)
                .ok_or_else(|| d.error("unknown node kind"))?;
            let node = ObjectId::from(d.hash()?);
            let line = d.uvar()? as u32;
            let col = d.uvar()? as u32;
            entries.push(GroupEntry {
                address,
                kind,
                node,
                line,
                col,
            });
        }
        d.finish()?;
        Ok(Group { entries })
    }
}

/// A model: state facts, diagnostics and node groups by key. Config groups
/// are keyed by file path; instance groups by `state:` and module path.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct ModelObj {
    pub(crate) root: String,
    pub(crate) state: Option<StateInfo>,
    pub(crate) groups: BTreeMap<String, (ObjectId, u32)>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl ModelObj {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(256 + self.groups.len() * 64);
        e.u8(1);
        e.str(&self.root);
        match &self.state {
            Some(s) => {
                e.u8(1);
                e.str(&s.path);
                e.str(&s.lineage);
                e.uvar(s.serial);
                e.str(&s.terraform_version);
            }
            None => e.u8(0),
        }
        e.uvar(self.groups.len() as u64);
        for (k, (h, n)) in &self.groups {
            e.str(k);
            e.hash(&h.hash());
            e.uvar(u64::from(*n));
        }
        e.uvar(self.diagnostics.len() as u64);
        for d in &self.diagnostics {
            e.u8(match d.severity {
                Severity::Warning => 0,
                Severity::Error => 1,
            });
            e.str(&d.loc.file);
            e.uvar(u64::from(d.loc.line));
            e.uvar(u64::from(d.loc.col));
            e.str(&d.message);
        }
        e.into_bytes()
    }

    pub(crate) fn decode(b: &[u8]) -> Result<ModelObj, DecodeError> {
        let mut d = Dec::new(b);
        if d.u8()? != 1 {
            return Err(d.error("unknown model version"));
        }
        let root = d.string()?;
        let state = match d.u8()? {
            0 => None,
            _ => Some(StateInfo {
                path: d.string()?,
                lineage: d.string()?,
                serial: d.uvar()?,
                terraform_version: d.string()?,
            }),
        };
        // key (1+), id (32), count (1+)
        let n = d.count(34)?;
        let mut groups = BTreeMap::new();
        for _ in 0..n {
            let k = d.string()?;
            let h = ObjectId::from(d.hash()?);
            let c = d.uvar()? as u32;
            groups.insert(k, (h, c));
        }
        // severity, file, line, col, message: one byte each at least
        let n = d.count(5)?;
        let mut diagnostics = Vec::with_capacity(n.min(crate::tree::PREALLOC_MAX));
        for _ in 0..n {
            diagnostics.push(decode_diagnostic(&mut d)?);
        }
        d.finish()?;
        Ok(ModelObj {
            root,
            state,
            groups,
            diagnostics,
        })
    }
}

fn decode_diagnostic(d: &mut Dec) -> Result<Diagnostic, DecodeError> {
    let severity = if d.u8()? == 0 {
        Severity::Warning
    } else {
        Severity::Error
    };
    let file = d.string()?;
    let line = d.uvar()? as u32;
    let col = d.uvar()? as u32;
    let message = d.string()?;
    Ok(Diagnostic {
        severity,
        loc: Loc { file, line, col },
        message,
        source_line: None,
    })
}

impl ObjectWriter<'_> {
    /// Adds a model's nodes, groups and Model object; returns the model's
    /// id. `root` is the root module's directory inside the snapshot's tree.
    pub fn add_model(&mut self, model: &Model, root: &str) -> Result<ObjectId> {
        let all: Vec<(&Node, bool)> = model
            .nodes
            .iter()
            .map(|n| (n, false))
            .chain(model.instances.iter().map(|n| (n, true)))
            .collect();
        self.reserve(all.len());
        // gathered by borrowed file or module first (a key made for every
        // node was a string allocated and compared along a tree each time),
        // then keyed as the Model object keys them
        // FxHash: SipHash of each node's file or module was a fifth of
        // the time of the thread that adds the nodes
        let mut by_file: rustc_hash::FxHashMap<&str, Vec<EntryRef>> = Default::default();
        let mut by_module: rustc_hash::FxHashMap<&str, Vec<EntryRef>> = Default::default();
        each_node_encoded(&all, self.store(), |slice, encoded| {
            self.add_encoded(slice, encoded, |&(n, instance), id| {
                let entry = EntryRef {
                    address: &n.address,
                    kind: n.kind,
                    node: id,
                    line: n.loc.line,
                    col: n.loc.col,
                };
                if instance {
                    by_module.entry(n.module.as_str()).or_default().push(entry);
                } else {
                    by_file.entry(n.loc.file.as_str()).or_default().push(entry);
                }
            })
        })?;
        // each list moved, not copied (a file named like a module's state
        // group shares its group)
        let mut groups: BTreeMap<String, Vec<EntryRef>> = BTreeMap::new();
        let keyed = by_file
            .into_iter()
            .map(|(file, entries)| (file.to_string(), entries))
            .chain(
                by_module
                    .into_iter()
                    .map(|(module, entries)| (format!("{STATE_GROUP_PREFIX}{module}"), entries)),
            );
        for (key, entries) in keyed {
            match groups.entry(key) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(entries);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().extend(entries),
            }
        }
        let mut obj = ModelObj {
            root: root.to_string(),
            state: model.state.clone(),
            groups: BTreeMap::new(),
            diagnostics: model.diagnostics.clone(),
        };
        // the groups too are sorted, encoded, hashed and compressed on
        // every core: on one, after the nodes, they were a tenth of the
        // model's time at 100k resources (14,000 groups)
        let groups: Vec<(String, Vec<EntryRef>)> = groups.into_iter().collect();
        let group_bytes = |(_, entries): &(String, Vec<EntryRef>), buf: &mut Vec<u8>| {
            let mut sorted: Vec<&EntryRef> = entries.iter().collect();
            sorted.sort_by(|a, b| a.address.cmp(b.address));
            encode_group_into(buf, sorted.into_iter().copied());
        };
        each_encoded(
            &groups,
            self.store(),
            GROUP_CHUNK,
            ObjType::Group,
            group_bytes,
            |slice, encoded| {
                self.add_encoded(slice, encoded, |(key, entries), id| {
                    obj.groups.insert(key.clone(), (id, entries.len() as u32));
                })
            },
        )?;
        let bytes = obj.encode();
        let id = self.store().object_id(&bytes);
        self.add(id, ObjType::Model, &bytes)?;
        Ok(id)
    }
}

/// A model made from an earlier one by replacing some of its
/// configuration groups (a snapshot where only some files' blocks changed
/// in place): everything else, the state's facts and the diagnostics
/// included, is the earlier model's.
#[derive(Clone, Debug)]
pub struct ModelEdit {
    obj: ModelObj,
}

impl ModelEdit {
    /// The root module's directory inside the tree.
    pub fn root(&self) -> &str {
        &self.obj.root
    }

    /// The state's facts.
    pub fn state(&self) -> Option<&StateInfo> {
        self.obj.state.as_ref()
    }

    /// The diagnostics recorded with the model.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.obj.diagnostics
    }

    /// The id of the group of key `key` (a file's path), if the model has
    /// one.
    pub fn group_id(&self, key: &str) -> Option<ObjectId> {
        self.obj.groups.get(key).map(|(id, _)| *id)
    }

    /// Every group: key, id and number of entries, in key order.
    pub fn groups(&self) -> impl Iterator<Item = (&str, ObjectId, u32)> {
        self.obj
            .groups
            .iter()
            .map(|(k, (id, count))| (k.as_str(), *id, *count))
    }

    /// The key of the group of the state instances of module `module`
    /// (`""`: the root module, whose group also holds the root outputs).
    pub fn state_group_key(module: &str) -> String {
        format!("{STATE_GROUP_PREFIX}{module}")
    }

    /// Is `key` the key of a group of state instances?
    pub fn is_state_group(key: &str) -> bool {
        key.starts_with(STATE_GROUP_PREFIX)
    }

    /// Sets the state's facts.
    pub fn set_state(&mut self, state: Option<StateInfo>) {
        self.obj.state = state;
    }

    /// Removes group `key` (a model has no empty group).
    pub fn remove_group(&mut self, key: &str) {
        self.obj.groups.remove(key);
    }
}

impl Store {
    /// A model to edit, starting as model `id`.
    pub fn model_edit(&self, id: &ObjectId) -> Result<ModelEdit> {
        Ok(ModelEdit {
            obj: self.model_obj(id)?,
        })
    }

    /// The entries of some groups, each given as its id and key (for
    /// messages), read together (each pack block opened once).
    pub fn groups_entries(&self, groups: &[(ObjectId, &str)]) -> Result<Vec<Vec<GroupEntry>>> {
        let ids: Vec<ObjectId> = groups.iter().map(|(id, _)| *id).collect();
        let raw = self.get_many(&ids)?;
        groups
            .iter()
            .zip(raw)
            .map(|((id, key), bytes)| {
                Group::decode(&bytes)
                    .map(|g| g.entries)
                    .map_err(|e| corrupt(format!("node group {id} ({key})"), e.to_string()))
            })
            .collect()
    }

    /// The nodes some group entries name, each given with its group's
    /// key, read together and checked to be the nodes named (a node's
    /// location is not part of it: left empty).
    pub fn entries_nodes(&self, entries: &[(&str, &GroupEntry)]) -> Result<Vec<Node>> {
        let ids: Vec<ObjectId> = entries.iter().map(|(_, e)| e.node).collect();
        let raw = self.get_many(&ids)?;
        entries
            .iter()
            .zip(raw)
            .map(|((key, e), bytes)| decode_node(key, e, &bytes, false))
            .collect()
    }
}

impl ObjectWriter<'_> {
    /// Adds one node object; returns its id.
    pub fn add_node(&mut self, node: &Node) -> Result<ObjectId> {
        let bytes = node.encode();
        let id = self.store().crypt().id_of(&bytes);
        self.add(id, ObjType::Node, &bytes)?;
        Ok(id)
    }

    /// Adds the blocks `encoded` of the objects of `slice`, after handing
    /// `each` every item of `slice` with its object's id.
    fn add_encoded<'a, T>(
        &mut self,
        slice: &'a [T],
        encoded: Encoded,
        mut each: impl FnMut(&'a T, ObjectId),
    ) -> Result<()> {
        let ids = encoded
            .blocks
            .iter()
            .flat_map(|b| b.objects().map(|(id, _, _)| id));
        for (x, id) in slice.iter().zip(ids) {
            each(x, id);
        }
        for block in encoded.blocks {
            self.add_ready_block(block)?;
        }
        Ok(())
    }

    /// Replaces group `key` of `edit` with a group of `entries` (any
    /// order: a group is written in address order), and adds its object.
    pub fn replace_group(
        &mut self,
        edit: &mut ModelEdit,
        key: &str,
        mut entries: Vec<GroupEntry>,
    ) -> Result<()> {
        entries.sort_by(|a, b| a.address.cmp(&b.address));
        let count = entries.len() as u32;
        let bytes = encode_group(entries.iter().map(|g| EntryRef {
            address: &g.address,
            kind: g.kind,
            node: g.node,
            line: g.line,
            col: g.col,
        }));
        let id = self.store().object_id(&bytes);
        self.add(id, ObjType::Group, &bytes)?;
        edit.obj.groups.insert(key.to_string(), (id, count));
        Ok(())
    }

    /// Adds the Model object of `edit`; returns its id.
    pub fn add_model_edit(&mut self, edit: &ModelEdit) -> Result<ObjectId> {
        let bytes = edit.obj.encode();
        let id = self.store().object_id(&bytes);
        self.add(id, ObjType::Model, &bytes)?;
        Ok(id)
    }
}

/// The encodings of some nodes, in order, in blocks framed for a pack
/// (compressed, sealed in an encrypted store): one object per node.
struct Encoded {
    blocks: Vec<ReadyBlock>,
}

/// Nodes encoded per chunk on every core.
const NODE_CHUNK: usize = 2048;

/// [`each_encoded`] of nodes (configuration nodes, and instances marked
/// `true`), [`NODE_CHUNK`] at a time.
fn each_node_encoded<'n>(
    all: &[(&'n Node, bool)],
    store: &Store,
    consume: impl FnMut(&[(&'n Node, bool)], Encoded) -> Result<()>,
) -> Result<()> {
    let node_bytes = |&(n, _): &(&Node, bool), buf: &mut Vec<u8>| n.encode_into(buf);
    each_encoded(all, store, NODE_CHUNK, ObjType::Node, node_bytes, consume)
}

/// Groups encoded per chunk on every core (a group of a file holds a
/// few nodes, one of a module's instances a few hundred).
const GROUP_CHUNK: usize = 64;

/// The objects of `part` (of type `ty`, each's bytes appended by
/// `write`) encoded, with their ids, into blocks framed by the encoding
/// thread (compressing them was a third of the time of the one thread
/// that adds them to the pack), unless `store` has one of a block's
/// objects already: that block's objects are added one by one, as
/// needed, instead of compressed for nothing.
fn encode_chunk<T>(
    part: &[T],
    store: &Store,
    ty: ObjType,
    write: &impl Fn(&T, &mut Vec<u8>),
) -> Result<Encoded> {
    let crypt = store.crypt();
    let keys = crypt.keys("writing objects")?;
    let mut blocks = Vec::new();
    let mut block = BlockBuilder::default();
    let mut stored = false;
    let mut close = |block: BlockBuilder, stored: bool| -> Result<()> {
        blocks.push(if stored {
            block.unframed()
        } else {
            block.ready(keys)?
        });
        Ok(())
    };
    for x in part {
        let id = block.push_with(ty, |buf| write(x, buf), |bytes| crypt.id_of(bytes))?;
        stored = stored || store.has(&id)?;
        if block.is_full() {
            close(std::mem::take(&mut block), stored)?;
            stored = false;
        }
    }
    if !block.is_empty() {
        close(block, stored)?;
    }
    Ok(Encoded { blocks })
}

/// Encodes `all` (objects of type `ty`, each's bytes appended by
/// `write`) in chunks of `chunk` on every core (encoding, hashing and
/// compressing every node is most of the work of storing a model) and
/// hands each chunk to `consume` in order, while the next chunks are
/// encoded: the writer's serial part (the pack's bookkeeping) runs beside
/// the encoding instead of after it. Thread `t` of `n` encodes chunks
/// `t`, `t + n`, ... into a channel of one, so at most two chunks per
/// thread wait encoded. The first error (of an encoding, or of
/// `consume`) stops the encoding and is returned; a panic of an encoding
/// thread is propagated.
fn each_encoded<'a, T: Sync>(
    all: &'a [T],
    store: &Store,
    chunk: usize,
    ty: ObjType,
    write: impl Fn(&T, &mut Vec<u8>) + Sync,
    mut consume: impl FnMut(&'a [T], Encoded) -> Result<()>,
) -> Result<()> {
    let chunks: Vec<&[T]> = all.chunks(chunk).collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(chunks.len());
    if threads <= 1 {
        for part in chunks {
            consume(part, encode_chunk(part, store, ty, &write)?)?;
        }
        return Ok(());
    }
    std::thread::scope(|s| {
        let mut receivers = Vec::with_capacity(threads);
        let mut workers = Vec::with_capacity(threads);
        for t in 0..threads {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Encoded>>(1);
            receivers.push(rx);
            let (chunks, write) = (&chunks, &write);
            workers.push(s.spawn(move || {
                for part in chunks.iter().skip(t).step_by(threads) {
                    // a closed channel: the writer failed and stopped
                    if tx.send(encode_chunk(part, store, ty, write)).is_err() {
                        break;
                    }
                }
            }));
        }
        let mut result = Ok(());
        for (i, part) in chunks.iter().enumerate() {
            // an error here: the thread panicked (its join says why)
            let Ok(encoded) = receivers[i % threads].recv() else {
                break;
            };
            result = encoded.and_then(|encoded| consume(part, encoded));
            if result.is_err() {
                break;
            }
        }
        drop(receivers);
        for w in workers {
            w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        }
        result
    })
}

impl Store {
    /// Reads and decodes a Model object.
    pub(crate) fn model_obj(&self, id: &ObjectId) -> Result<ModelObj> {
        let bytes = self.get_typed(id, ObjType::Model)?;
        ModelObj::decode(&bytes).map_err(|e| corrupt(format!("model {id}"), e.to_string()))
    }

    /// The state facts (lineage, serial...) a model was built with, read
    /// from its Model object alone.
    pub fn model_state(&self, id: &ObjectId) -> Result<Option<StateInfo>> {
        Ok(self.model_obj(id)?.state)
    }

    /// The groups of a model (in the model's key order); with
    /// [`Load::ConfigOnly`], only configuration groups.
    pub(crate) fn groups(&self, obj: &ModelObj, load: Load) -> Result<Vec<(String, Group)>> {
        let wanted: Vec<(&String, ObjectId)> = obj
            .groups
            .iter()
            .filter(|(k, _)| load != Load::ConfigOnly || !k.starts_with(STATE_GROUP_PREFIX))
            .map(|(k, (id, _))| (k, *id))
            .collect();
        let ids: Vec<ObjectId> = wanted.iter().map(|(_, id)| *id).collect();
        let raw = self.get_many(&ids)?;
        let mut out = Vec::with_capacity(raw.len());
        for ((key, id), bytes) in wanted.into_iter().zip(raw) {
            let g = Group::decode(&bytes)
                .map_err(|e| corrupt(format!("node group {id} ({key})"), e.to_string()))?;
            out.push((key.clone(), g));
        }
        Ok(out)
    }

    /// Decodes the nodes of some groups: (configuration nodes, instances),
    /// each given its location back.
    fn group_nodes(
        &self,
        obj: &ModelObj,
        groups: &[(String, Group)],
        load: Load,
    ) -> Result<(Vec<Node>, Vec<Node>)> {
        let wanted = |e: &GroupEntry| load != Load::ConfigOnly || e.kind != NodeKind::Instance;
        let ids: Vec<ObjectId> = groups
            .iter()
            .flat_map(|(_, g)| g.entries.iter().filter(|e| wanted(e)).map(|e| e.node))
            .collect();
        let mut raw = self.get_many(&ids)?.into_iter();
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
                let mut n = decode_node(key, e, &bytes, skip)?;
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

    /// Loads a model (its state instances in full, without their
    /// attributes, or not at all) and the root module's directory.
    pub fn load_model(&self, id: &ObjectId, load: Load) -> Result<(Model, String)> {
        let obj = self.model_obj(id)?;
        let mut groups = self.groups(&obj, load)?;
        if load == Load::ConfigOnly {
            groups.retain(|(_, g)| g.entries.iter().any(|e| e.kind != NodeKind::Instance));
        }
        let (nodes, instances) = self.group_nodes(&obj, &groups, load)?;
        let mut model = Model {
            nodes,
            instances,
            state: obj.state.clone(),
            diagnostics: obj.diagnostics.clone(),
        };
        model.sort();
        Ok((model, obj.root))
    }

    /// The parts of two models that can differ, for a fast diff: only the
    /// groups whose ids differ are read, and of those only the nodes whose
    /// ids differ (plus `moved` blocks, which explain renames). Unchanged
    /// nodes are never loaded; the models carry no diagnostics.
    pub fn changed_parts(&self, a: &ObjectId, b: &ObjectId) -> Result<(Model, Model)> {
        let (oa, ob) = (self.model_obj(a)?, self.model_obj(b)?);
        let (da, db) = (differing_groups(&oa, &ob), differing_groups(&ob, &oa));
        let ga = self.groups(&da, Load::Full)?;
        let gb = self.groups(&db, Load::Full)?;
        let (ia, ib) = (node_ids(&ga), node_ids(&gb));
        let ga = changed_entries(ga, &ib);
        let gb = changed_entries(gb, &ia);
        let part = |obj: &ModelObj, groups| -> Result<Model> {
            let (nodes, instances) = self.group_nodes(obj, groups, Load::Full)?;
            let mut m = Model {
                nodes,
                instances,
                state: obj.state.clone(),
                diagnostics: Vec::new(),
            };
            m.sort();
            Ok(m)
        };
        Ok((part(&da, &ga)?, part(&db, &gb)?))
    }
}

/// Decodes one node of a group, checking that it is the node the entry names.
fn decode_node(key: &str, e: &GroupEntry, bytes: &[u8], skip_attrs: bool) -> Result<Node> {
    let n = Node::decode_with(bytes, skip_attrs)
        .map_err(|err| corrupt(format!("node {} ({})", e.node, e.address), err.to_string()))?;
    if n.address != e.address {
        return Err(corrupt(
            format!("node group {key}"),
            format!("entry {} names node {}", e.address, n.address),
        ));
    }
    Ok(n)
}

/// `x` with only the groups whose id differs in `y` (or that `y` lacks).
fn differing_groups(x: &ModelObj, y: &ModelObj) -> ModelObj {
    let mut m = x.clone();
    m.groups
        .retain(|k, (h, _)| y.groups.get(k).map(|(h2, _)| h2 != h).unwrap_or(true));
    m
}

/// Node ids by whether they are state instances, and address (a
/// resource and its single instance share an address).
fn node_ids(groups: &[(String, Group)]) -> HashMap<(bool, String), ObjectId> {
    groups
        .iter()
        .flat_map(|(_, g)| {
            g.entries
                .iter()
                .map(|e| ((e.kind == NodeKind::Instance, e.address.clone()), e.node))
        })
        .collect()
}

/// The entries of `groups` whose node differs from `other`'s, and every
/// `moved` block.
fn changed_entries(
    groups: Vec<(String, Group)>,
    other: &HashMap<(bool, String), ObjectId>,
) -> Vec<(String, Group)> {
    groups
        .into_iter()
        .map(|(k, mut g)| {
            g.entries.retain(|e| {
                e.kind == NodeKind::Moved
                    || other.get(&(e.kind == NodeKind::Instance, e.address.clone()))
                        != Some(&e.node)
            });
            (k, g)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes encoded on every core reach the writer in their order, each
    /// with its own bytes and id, in framed blocks over several chunks
    /// and a short last one; a block holding a node the store has is not
    /// framed; an error of the writer stops the encoding and is returned.
    #[test]
    fn nodes_encoded_on_every_core_arrive_in_order_and_an_error_stops_them() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-encoded-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let nodes: Vec<Node> = (0..NODE_CHUNK * 3 + 17)
            .map(|i| {
                let mut n = Node::new(NodeKind::Resource, format!("aws_s3_bucket.b{i}"));
                n.type_ = "aws_s3_bucket".into();
                n.name = format!("b{i}");
                n
            })
            .collect();
        let all: Vec<(&Node, bool)> = nodes.iter().map(|n| (n, false)).collect();
        let crypt = store.crypt();
        let mut seen = Vec::new();
        let mut blocks = 0;
        each_node_encoded(&all, &store, |slice, encoded| {
            assert!(encoded.blocks.iter().all(ReadyBlock::is_framed));
            let objects: Vec<(ObjectId, ObjType, &[u8])> =
                encoded.blocks.iter().flat_map(|b| b.objects()).collect();
            assert_eq!(slice.len(), objects.len());
            for ((n, _), &(id, ty, got)) in slice.iter().zip(&objects) {
                let bytes = n.encode();
                assert_eq!(got, bytes.as_slice(), "{}", n.address);
                assert_eq!(id, crypt.id_of(&bytes));
                assert_eq!(ty, ObjType::Node);
                seen.push(n.address.clone());
            }
            blocks += encoded.blocks.len();
            Ok(())
        })
        .unwrap();
        // blocks of about BLOCK_TARGET each, none across two chunks
        let total: usize = nodes
            .iter()
            .map(|n| n.encode().len() + crate::pack::OBJ_HEADER)
            .sum();
        assert!(
            blocks >= 4 && blocks <= 4 + total / crate::pack::BLOCK_TARGET,
            "{blocks} blocks of {total} bytes"
        );
        let want: Vec<String> = nodes.iter().map(|n| n.address.clone()).collect();
        assert_eq!(seen, want);

        // the store has the last node: the last block is not framed
        let last = nodes.last().unwrap();
        let mut w = ObjectWriter::new(&store);
        w.add_node(last).unwrap();
        w.finish().unwrap();
        let store = Store::open(dir.to_str().unwrap()).unwrap();
        let mut framed = Vec::new();
        each_node_encoded(&all, &store, |_, encoded| {
            framed.extend(encoded.blocks.iter().map(ReadyBlock::is_framed));
            Ok(())
        })
        .unwrap();
        assert_eq!(framed.len(), blocks);
        assert_eq!(framed.iter().filter(|&&f| !f).count(), 1);
        assert!(!framed.last().unwrap());

        let mut chunks = 0;
        let err = each_node_encoded(&all, &store, |_, _| {
            chunks += 1;
            if chunks == 2 {
                return Err(corrupt("the second chunk", "refused"));
            }
            Ok(())
        })
        .unwrap_err();
        assert!(err.to_string().contains("the second chunk"), "{err}");
        assert_eq!(chunks, 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A model of more groups than one thread's chunk (files and modules
    /// given out of order, each file's nodes too) reads back whole: each
    /// group under its key with its count, its entries in address order,
    /// every node and instance as it was written.
    #[test]
    fn a_model_of_many_groups_reads_back_group_by_group() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-groups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let files = GROUP_CHUNK * 3 + 5;
        let mut model = Model::default();
        for i in (0..files).rev() {
            for j in (0..3).rev() {
                let mut n = Node::new(NodeKind::Resource, format!("aws_sqs_queue.q{i}_{j}"));
                n.type_ = "aws_sqs_queue".into();
                n.name = format!("q{i}_{j}");
                n.loc = Loc {
                    file: format!("f{i:03}.tf"),
                    line: 1 + 4 * j,
                    col: 1,
                };
                model.nodes.push(n);
            }
        }
        for m in (0..GROUP_CHUNK + 9).rev() {
            for k in (0..2).rev() {
                let mut n = Node::new(
                    NodeKind::Instance,
                    format!("module.m{m}.aws_sqs_queue.q[{k}]"),
                );
                n.module = format!("module.m{m}");
                model.instances.push(n);
            }
        }
        model.state = Some(StateInfo {
            path: "terraform.tfstate".into(),
            lineage: "l".into(),
            serial: 7,
            terraform_version: "1.11.4".into(),
        });
        let mut w = ObjectWriter::new(&store);
        let id = w.add_model(&model, "").unwrap();
        w.finish().unwrap();

        let store = Store::open(dir.to_str().unwrap()).unwrap();
        let obj = store.model_obj(&id).unwrap();
        assert_eq!(obj.groups.len(), files + GROUP_CHUNK + 9);
        let groups = store.groups(&obj, Load::Full).unwrap();
        for (key, g) in &groups {
            assert_eq!(obj.groups[key].1 as usize, g.entries.len(), "{key}");
            let want = if key.starts_with(STATE_GROUP_PREFIX) {
                2
            } else {
                3
            };
            assert_eq!(g.entries.len(), want, "{key}");
            assert!(
                g.entries.is_sorted_by(|a, b| a.address < b.address),
                "{key}"
            );
        }
        let (back, _) = store.load_model(&id, Load::Full).unwrap();
        model.sort();
        let shown = |ns: &[Node]| -> Vec<(String, Vec<u8>, u32)> {
            ns.iter()
                .map(|n| (n.address.clone(), n.encode(), n.loc.line))
                .collect()
        };
        assert_eq!(shown(&back.nodes), shown(&model.nodes));
        assert_eq!(shown(&back.instances), shown(&model.instances));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn groups_and_models_round_trip() {
        let g = Group {
            entries: vec![GroupEntry {
                address: "aws_vpc.main".into(),
                kind: NodeKind::Resource,
                node: ObjectId::of(b"n"),
                line: 3,
                col: 1,
            }],
        };
        assert_eq!(Group::decode(&g.encode()).unwrap(), g);
        let mut m = ModelObj {
            root: String::new(),
            state: Some(StateInfo {
                path: "terraform.tfstate".into(),
                lineage: "l".into(),
                serial: 3,
                terraform_version: "1.11.4".into(),
            }),
            ..Default::default()
        };
        m.groups.insert("main.tf".into(), (ObjectId::of(b"g"), 1));
        assert_eq!(ModelObj::decode(&m.encode()).unwrap(), m);
    }
}
