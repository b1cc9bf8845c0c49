//! Terraform state files (format version 4): deployed instances, their
//! attributes, sensitive paths, recorded dependencies and lifecycle facts.

use std::collections::BTreeMap;

use rewind_model::{Edge, EdgeKind, Hash, Loc, Node, NodeKind, Path, PathStep, StateInfo, Value};
use serde_json::Value as J;

use crate::load::Cache;

/// A state file problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    pub line: u32,
    pub col: u32,
    pub message: String,
}

fn err(message: impl Into<String>) -> StateError {
    StateError {
        line: 0,
        col: 0,
        message: message.into(),
    }
}

#[derive(serde::Deserialize)]
#[serde(bound = "A: serde::Deserialize<'de>")]
struct StateDoc<'a, A> {
    version: Option<u64>,
    #[serde(default)]
    terraform_version: String,
    #[serde(default)]
    serial: u64,
    #[serde(default)]
    lineage: String,
    #[serde(default)]
    outputs: BTreeMap<String, OutputDoc<A>>,
    /// Each resource's JSON text, parsed on every core afterwards.
    #[serde(default, borrow)]
    resources: Option<Vec<&'a serde_json::value::RawValue>>,
}

#[derive(serde::Deserialize)]
#[serde(bound = "A: serde::Deserialize<'de>")]
struct OutputDoc<A> {
    #[serde(default = "none")]
    value: Option<A>,
    #[serde(default)]
    sensitive: bool,
}

#[derive(serde::Deserialize)]
#[serde(bound = "A: serde::Deserialize<'de>")]
struct ResourceDoc<A> {
    /// `managed` or `data` (absent: managed, as in hand-written states).
    #[serde(default)]
    mode: Option<String>,
    #[serde(default, rename = "type")]
    type_: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    module: String,
    #[serde(default)]
    provider: String,
    #[serde(default = "Vec::new")]
    instances: Vec<InstanceDoc<A>>,
}

#[derive(serde::Deserialize)]
#[serde(bound = "A: serde::Deserialize<'de>")]
struct InstanceDoc<A> {
    #[serde(default)]
    index_key: Option<J>,
    #[serde(default)]
    schema_version: Option<u64>,
    #[serde(default = "none")]
    attributes: Option<A>,
    #[serde(default = "none")]
    attributes_flat: Option<BTreeMap<String, A>>,
    #[serde(default)]
    sensitive_attributes: Option<J>,
    #[serde(default)]
    dependencies: Vec<String>,
    #[serde(default)]
    create_before_destroy: bool,
    #[serde(default)]
    deposed: String,
    #[serde(default)]
    status: Option<String>,
}

fn none<T>() -> Option<T> {
    None
}

/// What becomes of an attribute value: the value, or nothing at all.
trait Attr: for<'de> serde::Deserialize<'de> {
    /// Are values kept?
    const KEEP: bool;
    fn into_value(self) -> Value;
}

impl Attr for Value {
    const KEEP: bool = true;
    fn into_value(self) -> Value {
        self
    }
}

impl Attr for serde::de::IgnoredAny {
    const KEEP: bool = false;
    fn into_value(self) -> Value {
        Value::Null
    }
}

/// The most values (each string, number, boolean, null, list and map of
/// the attributes and root outputs) a state's model is made of:
/// 25,000,000, 1 to 2.5 GB of memory at 40 to 100 bytes a value. Past it
/// the state is refused, with the limit, where it is reached, before its
/// model exhausts the machine: what a value costs does not depend on how
/// many bytes the file spends on it (an 80 MB state of lists of numbers
/// took 1.7 GB, and refused here takes 1.1 GB; a 570 MB one would take
/// some 12 GB). A state of 340,000 `terraform_data` resources (578 MB as
/// Terraform writes it, 225 MB without spaces) holds 13 million, and
/// 1.0 GB of model; a real one of a few hundred MB, fewer.
pub const MAX_STATE_VALUES: usize = 25_000_000;

/// How a parse that ran out of [`MAX_STATE_VALUES`] says so (through
/// serde_json, which adds where).
const TOO_MANY_VALUES: &str = "rewind: more values than a state may hold";

thread_local! {
    /// The values this thread may still build for the state it parses,
    /// taken from the parse's [`Budget`] in blocks.
    static ROOM: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The budget of the state this thread parses (none: no limit).
    static BUDGET: std::cell::RefCell<Option<std::sync::Arc<Left>>> =
        const { std::cell::RefCell::new(None) };
}

/// The values left to build for one state, and the limit they were.
struct Left {
    values: std::sync::atomic::AtomicUsize,
    limit: usize,
}

/// The values left to build for one state, shared by the threads that
/// parse it; [`Budget::enter`] makes it the budget of this thread.
#[derive(Clone)]
struct Budget(std::sync::Arc<Left>);

/// This thread's budget until dropped (what it did not use goes back).
struct Entered;

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget(std::sync::Arc::new(Left {
            values: limit.into(),
            limit,
        }))
    }

    fn enter(&self) -> Entered {
        BUDGET.with(|b| *b.borrow_mut() = Some(self.0.clone()));
        ROOM.with(|r| r.set(0));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let left = ROOM.with(|r| r.replace(0));
        BUDGET.with(|b| {
            if let Some(shared) = b.borrow_mut().take() {
                shared
                    .values
                    .fetch_add(left, std::sync::atomic::Ordering::Relaxed);
            }
        });
    }
}

/// Takes one value from this thread's budget; the limit when the
/// state's is spent (never outside a budget).
fn take_value() -> Result<(), usize> {
    const BLOCK: usize = 1 << 12;
    ROOM.with(|r| {
        let left = r.get();
        if left > 0 {
            r.set(left - 1);
            return Ok(());
        }
        BUDGET.with(|b| {
            let Some(shared) = &*b.borrow() else {
                return Ok(());
            };
            let taken = shared.values.fetch_update(
                std::sync::atomic::Ordering::Relaxed,
                std::sync::atomic::Ordering::Relaxed,
                |n| (n > 0).then(|| n - n.min(BLOCK)),
            );
            match taken {
                Ok(n) => {
                    r.set(n.min(BLOCK) - 1);
                    Ok(())
                }
                Err(_) => Err(shared.limit),
            }
        })
    })
}

/// An attribute value whose parse counts against the state's
/// [`Budget`]: the same value [`Value`]'s own parse builds.
struct Counted(Value);

impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Counted, D::Error> {
        d.deserialize_any(CountedVisitor).map(Counted)
    }
}

struct CountedVisitor;

use rewind_model::value::NUMBER_TOKEN;

impl CountedVisitor {
    fn take<E: serde::de::Error>() -> Result<(), E> {
        take_value().map_err(|limit| E::custom(format!("{TOO_MANY_VALUES} ({limit})")))
    }
}

impl<'de> serde::de::Visitor<'de> for CountedVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::Null)
    }
    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::Bool(b))
    }
    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::Number(n.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::Number(n.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::number(&format!("{n}")))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::String(s.to_string()))
    }
    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Value, E> {
        Self::take()?;
        Ok(Value::String(s))
    }
    fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<Value, S::Error> {
        Self::take()?;
        let mut l = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(Counted(v)) = seq.next_element()? {
            l.push(v);
        }
        Ok(Value::List(rewind_model::map::exact(l)))
    }
    fn visit_map<M: serde::de::MapAccess<'de>>(self, mut map: M) -> Result<Value, M::Error> {
        Self::take()?;
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 12));
        while let Some(k) = map.next_key::<String>()? {
            if entries.is_empty() && k == NUMBER_TOKEN {
                // a number as serde_json's `arbitrary_precision` hands it
                // over: its text, every digit kept
                let text: String = map.next_value()?;
                return Ok(Value::number(&text));
            }
            let Counted(v) = map.next_value()?;
            entries.push((k, v));
        }
        // sorted once; of repeated keys the last wins
        Ok(Value::Map(entries.into_iter().collect()))
    }
}

impl Attr for Counted {
    const KEEP: bool = true;
    fn into_value(self) -> Value {
        self.0
    }
}

/// Parses a state file into its facts and instance nodes (sorted).
pub fn parse_state(path: &str, bytes: &[u8]) -> Result<(StateInfo, Vec<Node>), StateError> {
    parse_state_as::<Counted>(path, bytes, None, MAX_STATE_VALUES)
}

/// [`parse_state`], giving `cache` the state's index (each resource's
/// hash, addresses and secret paths: [`Cache::keep_state_index`]).
pub(crate) fn parse_state_cached(
    path: &str,
    bytes: &[u8],
    cache: Option<&dyn Cache>,
) -> Result<(StateInfo, Vec<Node>), StateError> {
    parse_state_as::<Counted>(path, bytes, cache, MAX_STATE_VALUES)
}

/// Parses a state file without the values of attributes and outputs (their
/// bodies are null): the addresses, facts, sensitive paths and recorded
/// dependencies a plan needs of the current side, in a fraction of the
/// memory.
pub(crate) fn parse_state_light(
    path: &str,
    bytes: &[u8],
) -> Result<(StateInfo, Vec<Node>), StateError> {
    parse_state_as::<serde::de::IgnoredAny>(path, bytes, None, MAX_STATE_VALUES)
}

/// A JSON error at a line and column of the state file.
fn json_error(e: &serde_json::Error, line: u32, col: u32) -> StateError {
    StateError {
        line,
        col,
        message: match e.classify() {
            serde_json::error::Category::Data if e.to_string().starts_with(TOO_MANY_VALUES) => {
                let limit = e.to_string()[TOO_MANY_VALUES.len()..]
                    .trim_start_matches(" (")
                    .split(')')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                format!(
                    "the state holds more than {limit} values (the strings, numbers, lists and maps of its attributes and outputs), more than rewind reads (MAX_STATE_VALUES: each value takes 40 to 100 bytes of memory); refused where the limit is reached"
                )
            }
            serde_json::error::Category::Eof => {
                format!("the state file is truncated ({})", without_position(e))
            }
            serde_json::error::Category::Data => {
                format!(
                    "the state file is not a Terraform state ({})",
                    without_position(e)
                )
            }
            _ => format!("the state file is not valid JSON ({})", without_position(e)),
        },
    }
}

/// serde_json's message without the position it appends (`at line 1
/// column 112`): the error names the position once, in front.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => text,
    }
}

/// The byte offset that serde_json's 1-based line and byte column name
/// (column 0 is the newline that ends the line before).
pub(crate) fn json_offset(bytes: &[u8], line: usize, col: usize) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(i) => start += i + 1,
            None => return bytes.len(),
        }
    }
    if col == 0 {
        start.saturating_sub(1)
    } else {
        (start + col - 1).min(bytes.len())
    }
}

/// The 1-based line and column (in characters, as everywhere in rewind's
/// messages) of a byte offset.
pub(crate) fn offset_position(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .filter(|&&b| b & 0xC0 != 0x80)
        .count()
        + 1;
    (line as u32, col as u32)
}

/// A JSON error of the text that starts at byte `base` of the file.
fn json_error_at(e: &serde_json::Error, bytes: &[u8], base: usize) -> StateError {
    let offset = base + json_offset(&bytes[base..], e.line(), e.column());
    let (line, col) = offset_position(bytes, offset);
    json_error(e, line, col)
}

/// An error about the state's JSON value that starts at byte `offset`.
fn error_at(bytes: &[u8], offset: usize, message: String) -> StateError {
    let (line, col) = offset_position(bytes, offset);
    StateError { line, col, message }
}

/// A resource type's key in what a state marks secret for a type: data
/// source or not, and the type.
pub type TypeKey = (bool, String);

/// One resource of a state file as an incremental snapshot remembers it:
/// enough to take it out of a model (its instances' addresses), and what
/// it makes secret in the configuration of its type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateResource {
    /// BLAKE3 of the resource's JSON text.
    pub hash: Hash,
    /// Its instances' module path (`""`: the root module, or no instance).
    pub module: String,
    /// Its instances' addresses.
    pub addresses: Vec<String>,
    /// What its instances make secret for their type (their own secret
    /// paths up to the first index): the type's key, and each path with
    /// the number of instances making it secret.
    pub type_paths: Option<(TypeKey, Vec<(Path, u32)>)>,
}

impl StateResource {
    /// The resource of JSON text hash `hash` whose instances are `nodes`
    /// (as parsed: their own secret paths only).
    pub fn of(hash: Hash, nodes: &[Node]) -> StateResource {
        let mut key = None;
        let mut paths: BTreeMap<Path, u32> = BTreeMap::new();
        for n in nodes {
            if let Some((k, ps)) = crate::sensitive::type_paths(n) {
                key.get_or_insert_with(|| (k.0, k.1.to_string()));
                for p in ps {
                    *paths.entry(p).or_default() += 1;
                }
            }
        }
        StateResource {
            hash,
            module: nodes.first().map(|n| n.module.clone()).unwrap_or_default(),
            addresses: nodes.iter().map(|n| n.address.clone()).collect(),
            type_paths: key.map(|k| (k, paths.into_iter().collect())),
        }
    }
}

/// A state file read for an incremental snapshot: its facts, its root
/// outputs, and each resource (in the file's order) with the hash of its
/// JSON text and, unless the caller knew that hash, its instance nodes.
#[derive(Debug)]
pub struct StateScan {
    pub info: StateInfo,
    pub outputs: Vec<Node>,
    pub resources: Vec<(Hash, Option<Vec<Node>>)>,
}

/// Reads state file `bytes` (named `path`) as [`parse_state`] does, but
/// parses only the resources whose JSON text's hash `known` does not
/// know, and leaves to the caller the check that no instance address
/// repeats.
pub fn scan_state(
    path: &str,
    bytes: &[u8],
    known: &(dyn Fn(&Hash) -> bool + Sync),
) -> Result<StateScan, StateError> {
    let budget = Budget::new(MAX_STATE_VALUES);
    let doc: StateDoc<Counted> = {
        let _in = budget.enter();
        serde_json::from_slice(bytes).map_err(|e| json_error_at(&e, bytes, 0))?
    };
    let (info, outputs, raws) = doc_parts(doc, path, bytes)?;
    // (with `known` given, every resource is hashed)
    let resources = resources_of::<Counted>(&raws, path, bytes, false, Some(known), Some(&budget))?
        .into_iter()
        .filter_map(|(h, nodes)| Some((h?, nodes)))
        .collect();
    Ok(StateScan {
        info,
        outputs,
        resources,
    })
}

/// A state document's facts (its version checked), root outputs and
/// resources' JSON texts.
#[allow(clippy::type_complexity)]
fn doc_parts<'a, A: Attr>(
    doc: StateDoc<'a, A>,
    path: &str,
    bytes: &[u8],
) -> Result<(StateInfo, Vec<Node>, Vec<&'a serde_json::value::RawValue>), StateError> {
    check_version(bytes, doc.version)?;
    let info = StateInfo {
        path: path.to_string(),
        lineage: doc.lineage,
        serial: doc.serial,
        terraform_version: doc.terraform_version,
    };
    let outputs = output_nodes(doc.outputs, path);
    Ok((info, outputs, doc.resources.unwrap_or_default()))
}

/// Each resource of `raws` (on every core): the hash of its JSON text
/// (when `hashed`, or there is a `known`) and its instance nodes (none
/// when `known` knows the hash).
///
/// The nodes are not cached: an incremental snapshot skips the resources
/// its state index knows (`known`). Cached by their hash, the nodes of a
/// state of 100k resources were most of the 93 MB parse log and 0.4-0.6 s
/// of a cold snapshot's 2.8-3.3 s, for no measurable gain when a snapshot
/// that could not be incremental loaded the directory again (see
/// bench/results/2026-12-03-session38.md).
#[allow(clippy::type_complexity)]
fn resources_of<A: Attr>(
    raws: &[&serde_json::value::RawValue],
    path: &str,
    bytes: &[u8],
    hashed: bool,
    known: Option<&(dyn Fn(&Hash) -> bool + Sync)>,
    budget: Option<&Budget>,
) -> Result<Vec<(Option<Hash>, Option<Vec<Node>>)>, StateError> {
    let one = |ri: usize,
               raw: &serde_json::value::RawValue|
     -> Result<(Option<Hash>, Option<Vec<Node>>), StateError> {
        let hash = (hashed || known.is_some()).then(|| Hash::of(raw.get().as_bytes()));
        if let (Some(h), Some(k)) = (&hash, known) {
            if k(h) {
                return Ok((hash, None));
            }
        }
        let r: ResourceDoc<A> = {
            let _in = budget.map(Budget::enter);
            serde_json::from_str(raw.get())
                .map_err(|e| json_error_at(&e, bytes, offset_in(bytes, raw)))?
        };
        // the resource's problems are reported where it starts
        let nodes = resource_nodes(ri, r, path)
            .map_err(|e| error_at(bytes, offset_in(bytes, raw), e.message))?;
        Ok((hash, Some(nodes)))
    };
    let mut out = Vec::with_capacity(raws.len());
    for part in on_every_core(raws, one) {
        out.extend(part?);
    }
    Ok(out)
}

fn parse_state_as<A: Attr>(
    path: &str,
    bytes: &[u8],
    cache: Option<&dyn Cache>,
    max_values: usize,
) -> Result<(StateInfo, Vec<Node>), StateError> {
    // only full parses are cached (a light parse drops the values)
    let cache = cache.filter(|_| A::KEEP);
    // (values are counted only where they are kept)
    let budget = A::KEEP.then(|| Budget::new(max_values));
    let doc: StateDoc<A> = {
        let _in = budget.as_ref().map(Budget::enter);
        serde_json::from_slice(bytes).map_err(|e| json_error_at(&e, bytes, 0))?
    };
    let (info, mut nodes, raws) = doc_parts(doc, path, bytes)?;
    // A large state is most of a load's parsing: its resources are parsed
    // on every core (each is an independent JSON value).
    let resources = resources_of::<A>(&raws, path, bytes, cache.is_some(), None, budget.as_ref())?;
    if let Some(c) = cache {
        // what an incremental snapshot needs of this state, should it
        // become the model's
        // (sized exactly: kept until the snapshot is written, and at 100k
        // resources a vector grown by doubling holds 4 MiB of room)
        let mut index = Vec::with_capacity(resources.len());
        index.extend(
            resources
                .iter()
                .filter_map(|(h, nodes)| Some(StateResource::of((*h)?, nodes.as_deref()?))),
        );
        c.keep_state_index(path, index);
    }
    // reserved exactly: at 100k resources a vector grown by doubling
    // holds room for some 20,000 more nodes of 200 bytes through the load
    nodes.reserve_exact(
        resources
            .iter()
            .map(|(_, n)| n.as_ref().map_or(0, Vec::len))
            .sum(),
    );
    nodes.extend(
        resources
            .into_iter()
            .flat_map(|(_, n)| n.unwrap_or_default()),
    );
    rewind_model::sort_by_address(&mut nodes);
    check_unique(&nodes, &raws, bytes, path)?;
    Ok((info, nodes))
}

/// Only state format version 4 (Terraform 0.12 and later) is read.
fn check_version(bytes: &[u8], version: Option<u64>) -> Result<(), StateError> {
    match version {
        Some(4) => Ok(()),
        Some(v) => {
            let (line, col) = value_position(bytes, "version").unwrap_or((1, 1));
            Err(StateError {
                line,
                col,
                message: format!(
                    "state format version {v} is not supported: rewind reads version 4, written by Terraform 0.12 and later (terraform 0.12+ upgrades an older state the next time it writes it)"
                ),
            })
        }
        None => Err(error_at(
            bytes,
            0,
            "the state file has no \"version\" number".into(),
        )),
    }
}

/// Where a state's instances are: the state file, no line.
fn state_loc(path: &str) -> Loc {
    Loc {
        file: path.to_string(),
        line: 0,
        col: 0,
    }
}

/// The root outputs as instance nodes `output.NAME` of mode `output`.
fn output_nodes<A: Attr>(outputs: BTreeMap<String, OutputDoc<A>>, path: &str) -> Vec<Node> {
    let mut nodes = Vec::new();
    for (name, o) in outputs {
        let mut n = Node::new(NodeKind::Instance, format!("output.{name}"));
        // an output named like a secret is secret, as in the configuration
        let secret = o.sensitive || crate::load::is_secret_name(&name);
        n.name = name;
        n.facts.mode = Some(rewind_model::ObjectMode::Output);
        n.body = o.value.map(Attr::into_value).unwrap_or(Value::Null).into();
        if secret {
            n.sensitive.push(Path::root());
        } else {
            // a key named like a secret in its value, at any depth, as in
            // a resource's attributes (`{ api_token = ..., host = ... }`)
            crate::load::mark_secret_names(&mut n);
        }
        n.loc = state_loc(path);
        nodes.push(n);
    }
    nodes
}

/// Where a resource's JSON text starts in the file.
fn offset_in(bytes: &[u8], raw: &serde_json::value::RawValue) -> usize {
    (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize)
}

/// `one(index, resource)` for every resource, in order, in one part per
/// thread (each stops at its first error): on every core when there are
/// many.
fn on_every_core<'r, T: Send>(
    raws: &[&'r serde_json::value::RawValue],
    one: impl Fn(usize, &'r serde_json::value::RawValue) -> Result<T, StateError> + Sync,
) -> Vec<Result<Vec<T>, StateError>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if threads <= 1 || raws.len() < 1024 {
        return vec![raws
            .iter()
            .enumerate()
            .map(|(ri, raw)| one(ri, raw))
            .collect()];
    }
    let size = raws.len().div_ceil(threads);
    let one = &one;
    std::thread::scope(|s| {
        let jobs: Vec<_> = raws
            .chunks(size)
            .enumerate()
            .map(|(c, chunk)| {
                s.spawn(move || -> Result<Vec<T>, StateError> {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, raw)| one(c * size + i, raw))
                        .collect()
                })
            })
            .collect();
        jobs.into_iter()
            .map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// No address twice among the (sorted) instances; a duplicate is
/// reported at the later of the resources that hold it.
fn check_unique(
    nodes: &[Node],
    raws: &[&serde_json::value::RawValue],
    bytes: &[u8],
    path: &str,
) -> Result<(), StateError> {
    let Some(w) = nodes.windows(2).find(|w| w[0].address == w[1].address) else {
        return Ok(());
    };
    let address = &w[0].address;
    let at = raws
        .iter()
        .rev()
        .find(|raw| {
            serde_json::from_str::<ResourceDoc<serde::de::IgnoredAny>>(raw.get())
                .ok()
                .and_then(|r| resource_nodes(0, r, path).ok())
                .is_some_and(|ns| ns.iter().any(|n| &n.address == address))
        })
        .map(|raw| offset_in(bytes, raw))
        .unwrap_or(0);
    Err(error_at(
        bytes,
        at,
        format!("instance {address} appears twice"),
    ))
}

/// An instance's status and deposed key as Terraform 1.11 reads them: a
/// status is `tainted` or none, a deposed key eight bytes (Terraform
/// checks only the length: `zzzzzzzz` plans, `xyz` is refused).
fn check_instance_status(
    base: &str,
    address: &str,
    status: Option<&str>,
    deposed: &str,
) -> Result<(), StateError> {
    let why = match status {
        None | Some("" | "tainted") if deposed.is_empty() || deposed.len() == 8 => return Ok(()),
        None | Some("" | "tainted") => format!(
            "Instance {address} has an object with deposed key {deposed:?}, which is not correctly formatted"
        ),
        Some(s) => format!("Instance {address} has invalid status {s:?}"),
    };
    Err(err(format!(
        "{base}: Invalid resource instance metadata in state: {why} (Terraform refuses the state)"
    )))
}

/// The instance nodes of one state resource.
fn resource_nodes<A: Attr>(
    ri: usize,
    r: ResourceDoc<A>,
    path: &str,
) -> Result<Vec<Node>, StateError> {
    // sized exactly: nodes are 200 bytes, and a vector grown from empty
    // holds room for 4, which at 100k resources of one instance each was
    // 66 MB allocated (and faulted in) for nothing until the state's nodes
    // were gathered
    let mut nodes = Vec::with_capacity(r.instances.len());
    if r.type_.is_empty() || r.name.is_empty() {
        return Err(err(format!("resource #{ri} has no type or name")));
    }
    let (mode, module, base) = resource_place(&r)?;
    // one copy for all the resource's instances
    let provider: std::sync::Arc<str> = r.provider.as_str().into();
    for inst in r.instances {
        let index_key = instance_key(inst.index_key.as_ref()).map_err(|why| {
            err(format!(
                "{base}: Invalid resource instance metadata in state: the resource has an instance with the invalid instance key {} ({why}; Terraform refuses the state)",
                inst.index_key.as_ref().map(J::to_string).unwrap_or_default()
            ))
        })?;
        let mut address = format!("{base}{index_key}");
        check_instance_status(&base, &address, inst.status.as_deref(), &inst.deposed)?;
        if !inst.deposed.is_empty() {
            address.push_str(&format!(" (deposed {})", inst.deposed));
        }
        let mut n = Node::new(NodeKind::Instance, address);
        n.module = module.clone();
        n.type_ = r.type_.clone();
        n.name = r.name.clone();
        n.facts.mode = Some(mode);
        n.facts.provider = Some(provider.clone());
        match index_key {
            rewind_model::InstanceKey::None => {}
            rewind_model::InstanceKey::Int(i) => n
                .facts
                .insert("index_key".into(), Value::Number(i.to_string())),
            rewind_model::InstanceKey::Str(k) => {
                n.facts.insert("index_key".into(), Value::String(k))
            }
        }
        n.facts.schema_version = inst.schema_version;
        if let Some(s) = inst.status {
            n.facts.insert("status".into(), Value::String(s));
        }
        if !inst.deposed.is_empty() {
            n.facts.more.deposed = Some(inst.deposed);
        }
        n.facts.create_before_destroy = inst.create_before_destroy;
        n.body = match (inst.attributes, inst.attributes_flat) {
            _ if !A::KEEP => Value::Null,
            (Some(a), _) => a.into_value(),
            (None, Some(flat)) => {
                Value::Map(flat.into_iter().map(|(k, v)| (k, v.into_value())).collect())
            }
            _ => Value::Map(rewind_model::Map::new()),
        }
        .into();
        // a malformed list is refused, as Terraform refuses it: dropping
        // it would print the values it marks
        match inst.sensitive_attributes.as_ref() {
            None | Some(J::Null) => {}
            Some(J::Array(paths)) => mark_sensitive_attributes(&mut n, paths)
                .map_err(|m| err(format!("{}: sensitive_attributes: {m}", n.address)))?,
            Some(_) => {
                return Err(err(format!(
                    "{}: sensitive_attributes is not a list of paths",
                    n.address
                )))
            }
        }
        n.edges = inst
            .dependencies
            .into_iter()
            .map(|to| Edge {
                to,
                kind: EdgeKind::State,
            })
            .collect();
        n.edges.sort();
        n.edges.dedup();
        n.loc = state_loc(path);
        crate::load::mark_secret_names(&mut n);
        nodes.push(n);
    }
    Ok(nodes)
}

/// A resource's mode, module path and address without instance key,
/// refused as Terraform refuses them: a mode other than `managed` or
/// `data` (none: managed, as in hand-written states), a module address
/// that is not one.
fn resource_place<A>(
    r: &ResourceDoc<A>,
) -> Result<(rewind_model::ObjectMode, String, String), StateError> {
    let mode = match r.mode.as_deref() {
        None | Some("managed") => rewind_model::ObjectMode::Managed,
        Some("data") => rewind_model::ObjectMode::Data,
        // (named without quotes: a state's messages lose what they quote)
        Some(other) => {
            return Err(err(format!(
                "{}.{}: Invalid resource mode in state: the resource has mode {}, which is not supported: managed or data (Terraform refuses the state)",
                r.type_,
                r.name,
                if other.is_empty() { "(empty)".into() } else { other.escape_debug().to_string() }
            )))
        }
    };
    let module = module_address(&r.module).map_err(|why| {
        err(format!(
            "{}.{}: invalid module address {} ({why}; Terraform refuses the state)",
            r.type_,
            r.name,
            r.module.escape_debug()
        ))
    })?;
    let base = resource_address(&module, mode, &r.type_, &r.name);
    Ok((mode, module, base))
}

/// A resource's address without instance key: `module.m.data.t.n`.
fn resource_address(
    module: &str,
    mode: rewind_model::ObjectMode,
    type_: &str,
    name: &str,
) -> String {
    let mut base = String::new();
    if !module.is_empty() {
        base.push_str(module);
        base.push('.');
    }
    if mode == rewind_model::ObjectMode::Data {
        base.push_str("data.");
    }
    base.push_str(type_);
    base.push('.');
    base.push_str(name);
    base
}

/// A resource's `module` as Terraform reads it (`module.a[0].module.b`,
/// `""` for the root), in the form rewind's addresses take; why not,
/// for what Terraform refuses (`module.`, `module.a[`, `module.a[1.5]`,
/// `module.a[-1]`, a name that starts with a digit).
fn module_address(module: &str) -> Result<String, String> {
    if module.is_empty() {
        return Ok(String::new());
    }
    let m = rewind_model::ModuleInstance::parse(module).map_err(|e| e.message)?;
    for step in &m.0 {
        if !step
            .name
            .starts_with(|c: char| c.is_alphabetic() || c == '_')
        {
            return Err(format!("{} is not a module name", step.name.escape_debug()));
        }
        if matches!(step.key, rewind_model::InstanceKey::Int(i) if i < 0) {
            return Err("an index is a number of 0 or more, or a string".into());
        }
    }
    Ok(m.to_string())
}

/// An instance's `index_key` as Terraform 1.11 reads it: none, a string,
/// or a number taken as the whole number toward zero (`1.5` is `[1]`, as
/// Go's conversion makes it); why not, for anything else (a number
/// beyond 64 bits, whose conversion Go leaves to the processor, is
/// refused).
fn instance_key(key: Option<&J>) -> Result<rewind_model::InstanceKey, String> {
    use rewind_model::InstanceKey;
    Ok(match key {
        None | Some(J::Null) => InstanceKey::None,
        Some(J::String(s)) => InstanceKey::Str(s.clone()),
        Some(J::Number(n)) => match n.as_i64() {
            Some(i) => InstanceKey::Int(i),
            None => {
                let f = n.as_f64().unwrap_or(f64::NAN).trunc();
                // (the bounds are -2^63 and 2^63, exact in an f64)
                if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f) {
                    return Err("a number beyond 64 bits".into());
                }
                InstanceKey::Int(f as i64)
            }
        },
        Some(_) => return Err("an instance key is a number or a string".into()),
    })
}

/// The state's `sensitive_attributes` of an instance as its sensitive
/// paths (sorted, no duplicates).
fn mark_sensitive_attributes(n: &mut Node, paths: &[J]) -> Result<(), String> {
    for p in paths {
        {
            let path = sensitive_path(p)?;
            // terraform_data's `output` mirrors its `input`, but
            // Terraform marks only the input: the output holds
            // the same secret
            if n.type_ == "terraform_data"
                && path.0.first() == Some(&rewind_model::PathStep::Key("input".into()))
            {
                let mut mirrored = path.clone();
                mirrored.0[0] = rewind_model::PathStep::Key("output".into());
                n.sensitive.push(mirrored);
            }
            n.sensitive.push(path);
        }
    }
    n.sensitive.sort();
    n.sensitive.dedup();
    Ok(())
}

/// The 1-based line and column of the value of the first `"key":` in a
/// JSON document (for messages about a top-level field).
fn value_position(bytes: &[u8], key: &str) -> Option<(u32, u32)> {
    let needle = format!("\"{key}\"");
    let text = std::str::from_utf8(bytes).ok()?;
    let at = text.find(&needle)? + needle.len();
    let rest = &text[at..];
    let colon = rest.find(':')?;
    let after = &rest[colon + 1..];
    let value = at + colon + 1 + (after.len() - after.trim_start().len());
    let before = &text[..value];
    let line = before.matches('\n').count() as u32 + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0) as u32
        + 1;
    Some((line, col))
}

/// A `sensitive_attributes` entry: `[{"type":"get_attr","value":"password"}]`
/// or, with index steps, `{"type":"index","value":{"value":0,"type":"number"}}`;
/// why not, for anything else (Terraform's "Unsupported path step").
fn sensitive_path(p: &J) -> Result<Path, String> {
    let steps = p
        .as_array()
        .ok_or_else(|| "an entry is not a path (a list of steps)".to_string())?;
    let mut out = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        // (the step is not shown: a map key it names may be a secret)
        let bad = || {
            format!("step {} of a path is not one Terraform writes (Terraform's \"Unsupported path step\")", i + 1)
        };
        let ty = s.get("type").and_then(J::as_str).ok_or_else(bad)?;
        let v = s.get("value").ok_or_else(bad)?;
        match ty {
            "get_attr" => out.push(PathStep::Key(v.as_str().ok_or_else(bad)?.to_string())),
            "index" => {
                let inner = v.get("value").unwrap_or(v);
                let declared = v.get("type").and_then(J::as_str);
                match (inner, declared) {
                    (J::Number(n), None | Some("number")) => out.push(PathStep::Index(
                        n.as_u64()
                            .and_then(|i| usize::try_from(i).ok())
                            .ok_or_else(bad)?,
                    )),
                    (J::String(s), None | Some("string")) => out.push(PathStep::Key(s.clone())),
                    _ => return Err(bad()),
                }
            }
            _ => return Err(bad()),
        }
    }
    Ok(Path(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = r#"{
      "version": 4, "terraform_version": "1.11.4", "serial": 7, "lineage": "abc",
      "outputs": {"db_password": {"value": "hunter2", "type": "string", "sensitive": true}},
      "resources": [
        {"mode": "managed", "type": "aws_db_instance", "name": "main", "module": "module.db",
         "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
         "instances": [{"schema_version": 2, "attributes": {"id": "db-1", "password": "hunter2"},
            "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]],
            "dependencies": ["module.net.aws_subnet.a"], "create_before_destroy": true}]},
        {"mode": "managed", "type": "aws_instance", "name": "web",
         "instances": [
           {"index_key": 0, "attributes": {"id": "i-0"}, "status": "tainted"},
           {"index_key": 1, "attributes": {"id": "i-1"}},
           {"index_key": 1, "deposed": "00000001", "attributes": {"id": "i-old"}}]},
        {"mode": "data", "type": "aws_ami", "name": "x", "instances": [{"index_key": "k", "attributes": {}}]}
      ]}"#;

    /// A JSON error names its position once, in front (serde_json's own
    /// message appended it again).
    #[test]
    fn json_errors_name_their_position_once() {
        for (bad, at) in [
            (
                r#"{"version": 4, "resources": [{"mode": "managed",,}]}"#,
                (1, 49),
            ),
            ("{\n  \"version\": 4,\n  \"resources\": [", (3, 16)),
        ] {
            let e = parse_state("terraform.tfstate", bad.as_bytes()).unwrap_err();
            assert_eq!((e.line, e.col), at, "{}", e.message);
            assert!(!e.message.contains(" at line "), "{}", e.message);
        }
    }

    /// A `sensitive_attributes` Terraform would not read is refused, never
    /// dropped (the values it marks would be printed), and the error
    /// does not repeat the steps; the forms Terraform writes are read.
    #[test]
    fn malformed_sensitive_attributes_are_refused() {
        let good = r#"[[{"type": "get_attr", "value": "password"}]]"#;
        let typed_index = r#"[[{"type": "get_attr", "value": "tags"}, {"type": "index", "value": {"value": "k", "type": "string"}}]]"#;
        for ok in [good, typed_index, "[]", "null"] {
            let st = STATE.replacen(good, ok, 1);
            assert!(parse_state("t.tfstate", st.as_bytes()).is_ok(), "{ok}");
        }
        for bad in [
            r#"[{"type": "get_attr", "value": "password"}]"#,
            r#""password""#,
            r#"{"password": true}"#,
            r#"[[{"type": "get_secret", "value": "password"}]]"#,
            r#"[[{"type": "get_attr", "value": 7}]]"#,
            r#"[[{"type": "index", "value": {"value": "hunter2", "type": "number"}}]]"#,
        ] {
            let st = STATE.replacen(good, bad, 1);
            let e = format!("{:?}", parse_state("t.tfstate", st.as_bytes()).unwrap_err());
            assert!(
                e.contains("module.db.aws_db_instance.main: sensitive_attributes"),
                "{bad}: {e}"
            );
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn reads_instances() {
        let (info, nodes) = parse_state("terraform.tfstate", STATE.as_bytes()).unwrap();
        assert_eq!(info.serial, 7);
        let addrs: Vec<&str> = nodes.iter().map(|n| n.address.as_str()).collect();
        assert_eq!(
            addrs,
            vec![
                "aws_instance.web[0]",
                "aws_instance.web[1]",
                "aws_instance.web[1] (deposed 00000001)",
                "data.aws_ami.x[\"k\"]",
                "module.db.aws_db_instance.main",
                "output.db_password",
            ]
        );
        let db = &nodes[4];
        assert!(db.is_sensitive_path(&Path::root().key("password")));
        assert!(!db.is_sensitive_path(&Path::root().key("id")));
        assert!(db.lifecycle().create_before_destroy);
        assert_eq!(db.edges[0].to, "module.net.aws_subnet.a");
        assert!(nodes[0].facts.tainted);
        assert!(nodes[5].is_sensitive());
    }

    #[test]
    fn light_parse_keeps_everything_but_values() {
        let (info, full) = parse_state("terraform.tfstate", STATE.as_bytes()).unwrap();
        let (light_info, light) = parse_state_light("terraform.tfstate", STATE.as_bytes()).unwrap();
        assert_eq!(info, light_info);
        assert_eq!(full.len(), light.len());
        for (f, l) in full.iter().zip(&light) {
            assert_eq!(f.address, l.address);
            assert_eq!(f.facts, l.facts, "{}", f.address);
            assert_eq!(f.edges, l.edges, "{}", f.address);
            assert_eq!(*l.body, Value::Null, "{}", l.address);
        }
        assert!(full.iter().any(|n| *n.body != Value::Null));
        // the recorded sensitive paths stay (names are only guessed from values)
        assert!(light[4].is_sensitive_path(&Path::root().key("password")));
        assert!(light[5].is_sensitive());
        let e = parse_state_light("s", &STATE.as_bytes()[..200]).unwrap_err();
        assert!(e.message.contains("truncated"), "{}", e.message);
    }

    /// A state with `n` resources, one per line, the `bad`th broken (its
    /// instances are not a list).
    fn big_state(n: usize, bad: Option<usize>) -> String {
        let mut s = String::from("{\n\"version\": 4,\n\"serial\": 1,\n\"resources\": [\n");
        for i in 0..n {
            let instances = if Some(i) == bad {
                "5".to_string()
            } else {
                format!("[{{\"attributes\": {{\"id\": \"i-{i}\", \"password\": \"p\"}}}}]")
            };
            s.push_str(&format!(
                "{{\"mode\": \"managed\", \"type\": \"aws_instance\", \"name\": \"r{i}\", \"instances\": {instances}}}{}\n",
                if i + 1 < n { "," } else { "" }
            ));
        }
        s.push_str("]\n}\n");
        s
    }

    #[test]
    fn large_states_parse_on_every_core_with_exact_positions() {
        let (_, nodes) = parse_state("big.tfstate", big_state(3000, None).as_bytes()).unwrap();
        assert_eq!(nodes.len(), 3000);
        assert!(nodes.windows(2).all(|w| w[0].address < w[1].address));
        let r2999 = nodes
            .iter()
            .find(|n| n.address == "aws_instance.r2999")
            .unwrap();
        assert_eq!(r2999.body.get("id"), Some(&Value::str("i-2999")));
        assert!(r2999.is_sensitive_path(&Path::root().key("password")));
        // resource 2500 is on line 5 + 2500; its "instances" value is a number
        let text = big_state(3000, Some(2500));
        let e = parse_state("big.tfstate", text.as_bytes()).unwrap_err();
        assert_eq!(e.line, 5 + 2500, "{}", e.message);
        let line = text.lines().nth(e.line as usize - 1).unwrap();
        assert_eq!(
            &line[e.col as usize - 1..e.col as usize],
            "5",
            "{line} col {}",
            e.col
        );
        assert!(e.message.contains("not a Terraform state"), "{}", e.message);
    }

    #[test]
    fn rejects_bad_files() {
        let e = parse_state("s", &STATE.as_bytes()[..200]).unwrap_err();
        assert!(e.message.contains("truncated"), "{}", e.message);
        assert!(e.line > 0);
        let e = parse_state("s", br#"{"version": 3, "modules": []}"#).unwrap_err();
        assert!(e.message.contains("version 3"), "{}", e.message);
        let e = parse_state("s", b"not json").unwrap_err();
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
    }

    /// A resource of `mode`, `module` and `index_key` (JSON texts), as
    /// Terraform 1.11 writes one, on line 3 of its state.
    fn shaped(mode: &str, module: &str, key: &str) -> String {
        format!(
            "{{\"version\": 4, \"serial\": 1, \"lineage\": \"l\",\n \"resources\": [\n  {{\"mode\": {mode}, \"type\": \"terraform_data\", \"name\": \"x\", \"module\": {module}, \"provider\": \"provider[\\\"terraform.io/builtin/terraform\\\"]\", \"instances\": [{{\"index_key\": {key}, \"attributes\": {{\"id\": \"abc\"}}}}]}}\n]}}"
        )
    }

    /// The shapes Terraform refuses in a state are refused where the
    /// resource starts (`terraform plan` on each: "Invalid resource mode
    /// in state", "Dot must be followed by attribute name", "Index value
    /// required", "Invalid module index"...), never kept to break every
    /// later plan.
    #[test]
    fn shapes_terraform_refuses_are_refused_at_the_resource() {
        let refused = [
            (r#""weird""#, r#""""#, "0", "Invalid resource mode in state"),
            (r#""""#, r#""""#, "0", "Invalid resource mode in state"),
            (
                r#""managed""#,
                r#""module.""#,
                "0",
                "invalid module address",
            ),
            (
                r#""managed""#,
                r#""module.a[""#,
                "0",
                "invalid module address",
            ),
            (r#""managed""#, r#""mod.a""#, "0", "invalid module address"),
            (
                r#""managed""#,
                r#""module.a[1.5]""#,
                "0",
                "invalid module address",
            ),
            (
                r#""managed""#,
                r#""module.a.b""#,
                "0",
                "invalid module address",
            ),
            (
                r#""managed""#,
                r#""module.a[-1]""#,
                "0",
                "invalid module address",
            ),
            (
                r#""managed""#,
                r#""module.1a""#,
                "0",
                "invalid module address",
            ),
            (r#""managed""#, r#""""#, "true", "invalid instance key true"),
            (r#""managed""#, r#""""#, "[1]", "invalid instance key [1]"),
            (r#""managed""#, r#""""#, "1e300", "beyond 64 bits"),
            // `terraform plan` on each: "Instance terraform_data.x has
            // invalid status", "... deposed key "xyz", which is not
            // correctly formatted"
            (
                r#""managed""#,
                r#""""#,
                r#"0, "status": "bogus""#,
                r#"Instance terraform_data.x[0] has invalid status "bogus""#,
            ),
            (
                r#""managed""#,
                r#""""#,
                r#"0, "deposed": "xyz""#,
                r#"deposed key "xyz", which is not correctly formatted"#,
            ),
            (
                r#""managed""#,
                r#""""#,
                r#"0, "deposed": "toolong12""#,
                r#"deposed key "toolong12""#,
            ),
        ];
        for (mode, module, key, why) in refused {
            let text = shaped(mode, module, key);
            for e in [
                parse_state("s", text.as_bytes()).unwrap_err(),
                parse_state_light("s", text.as_bytes()).unwrap_err(),
            ] {
                assert_eq!((e.line, e.col), (3, 3), "{text}: {}", e.message);
                assert!(e.message.contains(why), "{text}: {}", e.message);
                assert!(e.message.starts_with("terraform_data.x: "), "{}", e.message);
                assert!(
                    e.message.contains("Terraform refuses the state"),
                    "{}",
                    e.message
                );
            }
        }
    }

    /// What Terraform 1.11 plans of the shapes it reads: a number key
    /// toward zero (`1.5` is `x[1]`, `-1.5` is `x[-1]`: `terraform plan`
    /// refreshes `terraform_data.x[1]`), a module path as written, and
    /// no mode at all as managed (hand-written states).
    #[test]
    fn shapes_terraform_reads_are_read_as_it_reads_them() {
        let read = [
            (r#""managed""#, r#""""#, "1.5", "terraform_data.x[1]"),
            (r#""managed""#, r#""""#, "1.0", "terraform_data.x[1]"),
            (r#""managed""#, r#""""#, "-1.5", "terraform_data.x[-1]"),
            (r#""managed""#, r#""""#, "-1", "terraform_data.x[-1]"),
            (r#""managed""#, r#""""#, "null", "terraform_data.x"),
            (
                r#""data""#,
                r#""""#,
                r#""k""#,
                "data.terraform_data.x[\"k\"]",
            ),
            (
                r#""managed""#,
                r#""module.a-b_c""#,
                "0",
                "module.a-b_c.terraform_data.x[0]",
            ),
            (
                r#""managed""#,
                r#""module.a[\"k\"].module.b[01]""#,
                "0",
                "module.a[\"k\"].module.b[1].terraform_data.x[0]",
            ),
            // a deposed key of eight bytes, hex or not; an empty status
            (
                r#""managed""#,
                r#""""#,
                r#"0, "deposed": "zzzzzzzz""#,
                "terraform_data.x[0] (deposed zzzzzzzz)",
            ),
            (
                r#""managed""#,
                r#""""#,
                r#"0, "status": "", "deposed": """#,
                "terraform_data.x[0]",
            ),
        ];
        for (mode, module, key, address) in read {
            let text = shaped(mode, module, key);
            let (_, nodes) = parse_state("s", text.as_bytes())
                .unwrap_or_else(|e| panic!("{text}: {}", e.message));
            assert_eq!(nodes[0].address, address, "{text}");
            // the address reads back, as every plan reads it (a deposed
            // object's without its key)
            let (plain, _) = address.split_once(" (deposed").unwrap_or((address, ""));
            let parsed = rewind_model::InstanceAddr::parse(plain)
                .unwrap_or_else(|e| panic!("{address}: {}", e.message));
            assert_eq!(parsed.to_string(), plain);
            assert_eq!(nodes[0].module, parsed.resource.module.to_string());
        }
        let text = shaped(r#""managed""#, r#""""#, "1.5");
        let (_, nodes) = parse_state("s", text.as_bytes()).unwrap();
        assert_eq!(
            nodes[0].facts.index_key,
            Some(rewind_model::InstanceKey::Int(1))
        );
        let no_mode = text.replace(r#""mode": "managed", "#, "");
        let (_, nodes) = parse_state("s", no_mode.as_bytes()).unwrap();
        assert_eq!(nodes[0].facts.mode, Some(rewind_model::ObjectMode::Managed));
    }

    /// Values are counted as they are built, outputs and attributes alike:
    /// past the limit the state is refused where it is reached, with the
    /// limit; below it the values are those [`Value`]'s own parse builds.
    #[test]
    fn a_state_past_the_value_limit_is_refused_where_it_is_reached() {
        let (_, counted) = parse_state("t", STATE.as_bytes()).unwrap();
        let (_, plain) =
            parse_state_as::<Value>("t", STATE.as_bytes(), None, MAX_STATE_VALUES).unwrap();
        assert_eq!(counted, plain);
        // 3 resources of one instance, 5 values each (a map, its 2
        // strings, a list, its number), on lines 3 to 5
        let text = "{\"version\": 4, \"outputs\": {\"o\": {\"value\": [1, 2.50, {\"k\": null}]}},\n \"resources\": [\n{\"mode\": \"managed\", \"type\": \"t\", \"name\": \"a\", \"instances\": [{\"attributes\": {\"id\": \"a\", \"l\": [1]}}]},\n{\"mode\": \"managed\", \"type\": \"t\", \"name\": \"b\", \"instances\": [{\"attributes\": {\"id\": \"b\", \"l\": [1]}}]},\n{\"mode\": \"managed\", \"type\": \"t\", \"name\": \"c\", \"instances\": [{\"attributes\": {\"id\": \"c\", \"l\": [1]}}]}\n]}";
        // the output's 5 values and the resources' 12
        let parse = |limit| parse_state_as::<Counted>("t", text.as_bytes(), None, limit);
        let (_, nodes) = parse(17).unwrap();
        assert_eq!(nodes.len(), 4);
        let output = nodes.iter().find(|n| n.address == "output.o").unwrap();
        assert_eq!(
            *output.body,
            Value::List(vec![
                Value::number("1"),
                Value::number("2.5"),
                Value::Map([("k".to_string(), Value::Null)].into_iter().collect()),
            ])
        );
        let e = parse(16).unwrap_err();
        assert_eq!(e.line, 5, "{}", e.message);
        assert!(e.message.contains("more than 16 values"), "{}", e.message);
        assert!(e.message.contains("MAX_STATE_VALUES"), "{}", e.message);
        let e = parse(4).unwrap_err();
        assert_eq!(e.line, 1, "{}", e.message);
        // a light parse keeps no value: nothing to count
        assert!(parse_state_light("t", text.as_bytes()).is_ok());
    }

    /// Every state error names a line and column inside the file (found
    /// by rewind-fuzz: serde_json's column 0, and errors with no place).
    #[test]
    fn errors_name_a_place_in_the_file() {
        let at = |text: &str| {
            let e = parse_state("s", text.as_bytes()).unwrap_err();
            (e.line, e.col, e.message)
        };
        // a raw newline inside a string: serde_json says column 0 of the
        // next line; the newline ends line 1, after its 14 characters
        let (line, col, m) = at("{\"lineage\": \"é\n\"}");
        assert_eq!((line, col), (1, 15), "{m}");
        let (line, col, m) = at("{\n  \"serial\": 1\n}\n");
        assert_eq!((line, col), (1, 1));
        assert!(m.contains("no \"version\""), "{m}");
        let doc = "{\"version\": 4,\n \"resources\": [\n  {\"mode\": \"managed\", \"type\": \"a\", \"name\": \"b\"},\n  {\"mode\": \"managed\", \"name\": \"c\"}\n]}";
        let (line, col, m) = at(doc);
        assert_eq!((line, col), (4, 3), "{m}");
        assert!(m.contains("no type or name"), "{m}");
        let twice = "{\"version\": 4,\n \"resources\": [\n  {\"type\": \"a\", \"name\": \"b\", \"instances\": [{}]},\n  {\"type\": \"a\", \"name\": \"b\", \"instances\": [{}]}\n]}";
        let (line, col, m) = at(twice);
        assert_eq!((line, col), (4, 3), "{m}");
        assert!(m.contains("a.b appears twice"), "{m}");
        // inside a resource, in characters, not bytes
        let bad = "{\"version\": 4, \"resources\": [{\"name\": \"é\", \"type\": tru}]}";
        let (line, col, _) = at(bad);
        assert_eq!((line, col), (1, 55));
    }
}
