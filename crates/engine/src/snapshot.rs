//! Taking a snapshot: load the directory, store what is new, record it and
//! move the refs (docs/store-format.md §11).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rewind_model::{Diagnostic, Hash, NodeKind, StateInfo};
use rewind_odb::{
    check_name, GitInfo, ObjType, ObjectId, ObjectWriter, RecordedInputs, SnapshotId,
    SnapshotRecord, Store, TreeFile, Written, RECORD_FORMAT,
};
use rewind_parse::load::Trace;
use rewind_parse::{FileKind, Loaded, Parsed, SourceFile};

use crate::cache::{Counts, DirCache, LastSnapshot, Stat};
use crate::error::{Error, LoadFailure, Result};
use crate::git::git_info;
use crate::inputs::Inputs;
use crate::links::Placed;
use crate::unchanged::unchanged;
use crate::version::checked_dir;

/// What to record with a snapshot.
#[derive(Clone, Debug, Default)]
pub struct SnapshotOptions {
    /// The environment (`default` when empty).
    pub env: String,
    /// Tags to give the snapshot.
    pub tags: Vec<String>,
    /// Move tags that already name another snapshot.
    pub force_tag: bool,
    /// The `-m` message.
    pub message: String,
    /// `--label k=v` pairs.
    pub labels: BTreeMap<String, String>,
    /// What the directory is given beside its files (state, variables,
    /// workspace, module cache).
    pub inputs: Inputs,
    /// Store a directory without Terraform configuration (refused
    /// otherwise: a mistyped path must not store an empty release).
    pub allow_empty: bool,
    /// The directory to record as the snapshot's source, when the files
    /// were read from a copy of it (a rollback snapshots its working
    /// directory for the deployment it rolled back).
    pub source: Option<PathBuf>,
}

/// What a snapshot did.
#[derive(Debug)]
pub struct SnapshotOutcome {
    /// The new snapshot.
    pub id: SnapshotId,
    /// Its record.
    pub record: SnapshotRecord,
    /// Objects (and their bytes) that were new to the store.
    pub written: Written,
    /// True when the directory was unchanged and nothing was re-read.
    pub unchanged: bool,
    /// True when only values of some resource and data blocks changed,
    /// and only the files holding them were read (the model is the last
    /// one with those blocks' nodes replaced).
    pub incremental: bool,
    /// Warnings found while loading the directory.
    pub diagnostics: Vec<Diagnostic>,
    /// The state the snapshot holds (lineage, serial...), if any.
    pub state: Option<StateInfo>,
    /// The state's lineage differs from the one of the environment's
    /// previous snapshot (given here): a different deployment's state, or
    /// a state created anew.
    pub lineage_changed: Option<String>,
}

/// What a snapshot stores, whether it was read now or known unchanged.
struct Content {
    tree: ObjectId,
    model: ObjectId,
    root: String,
    counts: Counts,
    written: Written,
    unchanged: bool,
    incremental: bool,
    diagnostics: Vec<Diagnostic>,
    state: Option<StateInfo>,
}

impl Content {
    fn unchanged(last: LastSnapshot) -> Content {
        Content {
            tree: last.tree,
            model: last.model,
            root: last.root,
            counts: last.counts,
            written: Written::default(),
            unchanged: true,
            incremental: false,
            diagnostics: Vec::new(),
            state: None,
        }
    }
}

/// Snapshots `dir` into `store`: its files, its parsed model and a record
/// of both, named by the environment's `latest` ref and the tags. Bad input
/// fails before anything is written; a directory unchanged since its last
/// snapshot (by the local cache's stats) is not read again.
pub fn snapshot(store: &Store, dir: &Path, opts: &SnapshotOptions) -> Result<SnapshotOutcome> {
    let env = if opts.env.is_empty() {
        "default"
    } else {
        opts.env.as_str()
    };
    let refs = checked_refs(store, env, opts)?;
    let lock = store.shared_lock()?;
    let trace = Trace::new();
    let cwd = std::env::current_dir().unwrap_or_default();
    let abs = rewind_parse::load::normalize(&cwd.join(dir));
    let cache_path = store.cache_dir().map(|c| DirCache::file_for(c, &abs));
    let seal = store.cache_seal()?;
    let mut cache = cache_path
        .map(|p| DirCache::load(p, seal))
        .unwrap_or_default();
    trace.mark("cache");
    // git runs while the directory is checked or loaded (it reads, we
    // read: neither waits for the other)
    let git_job = {
        let abs = abs.clone();
        std::thread::spawn(move || git_info(&abs))
    };
    let latest = refs.envs.get(env).and_then(|e| e.latest);
    // the model depends on inputs the directory's stats do not show
    // (and the workspace: another's state is another file)
    let same_inputs = opts.inputs.state.is_none()
        && opts.inputs.variables.is_empty()
        && opts.inputs.modules.is_none()
        && opts.inputs.workspace_of(&abs).is_ok_and(|w| w == "default");
    let cached = if same_inputs {
        unchanged(store, &abs, &cache, latest)?
    } else {
        None
    };
    let mut content = match cached {
        Some(last) => {
            let mut c = Content::unchanged(last);
            c.state = store.model_state(&c.model)?;
            c
        }
        None => read_directory(store, &abs, &mut cache, dir, opts, same_inputs, &trace)?,
    };
    let inputs = opts.inputs.recorded(&abs)?;
    let lineage_changed = lineage_change(store, &mut content, latest, env)?;
    let git = git_job
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    trace.mark("git");
    let time = rewind_odb::time::now();
    let (id, record) = store.publish_snapshot(env, &opts.tags, opts.force_tag, |parent| {
        record(
            opts,
            env,
            &abs,
            &content,
            &git,
            &time,
            parent,
            inputs.clone(),
        )
    })?;
    trace.mark("record and refs");
    // an unchanged directory whose entries were too recent to trust has
    // had them checked again now: saved, they are trusted next time
    if !content.unchanged || cache.has_racy_entries() {
        cache.save();
    }
    trace.mark("cache save");
    // maintenance once the snapshot is published and the store's shared
    // lock released: a failure leaves the snapshot as it is, and a warning
    drop(lock);
    if let Err(e) = store.roll_up_packs() {
        content.diagnostics.push(Diagnostic {
            severity: rewind_model::Severity::Warning,
            loc: rewind_model::Loc::default(),
            message: format!("the store's small packs were not rolled up into one: {e}"),
            source_line: None,
        });
    }
    trace.mark("roll up packs");
    Ok(SnapshotOutcome {
        id,
        record,
        written: content.written,
        unchanged: content.unchanged,
        incremental: content.incremental,
        diagnostics: content.diagnostics,
        state: content.state,
        lineage_changed,
    })
}

/// What a snapshot of a directory that changed stores: made from the last
/// snapshot's model when the change allows it (nothing given beside the
/// directory, `same_inputs`: see `incremental.rs`), or by loading the
/// whole directory.
fn read_directory(
    store: &Store,
    abs: &Path,
    cache: &mut DirCache,
    given: &Path,
    opts: &SnapshotOptions,
    same_inputs: bool,
    trace: &Trace,
) -> Result<Content> {
    let edited = if same_inputs {
        crate::incremental::snapshot_edits(store, abs, given, cache, trace)?
    } else {
        None
    };
    trace.mark("incremental");
    Ok(match edited {
        Some(e) => Content {
            tree: e.tree,
            model: e.model,
            root: String::new(),
            counts: e.counts,
            written: e.written,
            unchanged: false,
            incremental: true,
            diagnostics: e.diagnostics,
            state: e.state,
        },
        None => store_directory(store, abs, cache, given, opts, trace)?,
    })
}

/// The store's refs, once the names of environment `env` and of the tags
/// are checked: valid names, not taken by the other kind, the tags free
/// (or moved with `force_tag`), and the store's key at hand. Bad input
/// fails here, before any work.
fn checked_refs(store: &Store, env: &str, opts: &SnapshotOptions) -> Result<rewind_odb::Refs> {
    check_name("environment", env)?;
    for t in &opts.tags {
        check_name("tag", t)?;
    }
    // Refuse a taken tag before doing any work.
    let refs = store.refs()?;
    refs.check_namespace("environment", env)?;
    for t in &opts.tags {
        refs.check_tag_free(t, None, opts.force_tag)?;
        refs.check_namespace("tag", t)?;
    }
    store.require_key("snapshot")?;
    Ok(refs)
}

/// The lineage of the state of environment `env`'s previous snapshot
/// `latest`, when `content`'s state has another one (another deployment's
/// state, or one created anew); then a warning saying so is added to
/// `content`.
fn lineage_change(
    store: &Store,
    content: &mut Content,
    latest: Option<SnapshotId>,
    env: &str,
) -> Result<Option<String>> {
    let lineage_changed = match (&content.state, latest) {
        (Some(now), Some(prev)) => {
            let prev_model = store.record(&prev)?.model;
            store
                .model_state(&prev_model)?
                .filter(|p| !p.lineage.is_empty() && p.lineage != now.lineage)
                .map(|p| p.lineage)
        }
        _ => None,
    };
    if let (Some(old), Some(now)) = (&lineage_changed, &content.state) {
        content.diagnostics.push(Diagnostic {
            severity: rewind_model::Severity::Warning,
            loc: rewind_model::Loc {
                file: now.path.clone(),
                ..Default::default()
            },
            message: format!(
                "the state's lineage {} differs from {old} of environment {env}'s previous snapshot: this is another deployment's state, or one created anew (plans from this snapshot compare with it)",
                now.lineage
            ),
            source_line: None,
        });
    }
    Ok(lineage_changed)
}

/// The record of a snapshot whose environment's latest was `parent`.
#[allow(clippy::too_many_arguments)]
fn record(
    opts: &SnapshotOptions,
    env: &str,
    abs: &Path,
    content: &Content,
    git: &Option<GitInfo>,
    time: &str,
    parent: Option<SnapshotId>,
    inputs: Option<RecordedInputs>,
) -> SnapshotRecord {
    SnapshotRecord {
        format: RECORD_FORMAT,
        tree: content.tree,
        model: content.model,
        parent,
        time: time.to_string(),
        message: opts.message.clone(),
        env: env.to_string(),
        labels: opts.labels.clone(),
        source: opts.source.as_deref().unwrap_or(abs).display().to_string(),
        root: content.root.clone(),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        git: git.clone(),
        files: content.counts.files,
        resources: content.counts.resources,
        instances: content.counts.instances,
        inputs,
    }
}

/// Loads the directory and writes what the store lacks: the parse results
/// freed, three jobs at once, as the file contents go into packs of their
/// own, the model's nodes go into the main pack, and the parse cache's new
/// results go into its log.
fn store_directory(
    store: &Store,
    abs: &Path,
    cache: &mut DirCache,
    given: &Path,
    sopts: &SnapshotOptions,
    trace: &Trace,
) -> Result<Content> {
    let (mut loaded, blobs) = load_directory(store, abs, cache, given, sopts, trace)?;
    // the parse cache's new results go into its log while the objects are
    // written: mostly the kernel's copying, which the core left idle by
    // the model's serial part takes
    let Objects {
        tree,
        model,
        writer,
        blobs_written,
        tree_len,
        links,
    } = std::thread::scope(|s| {
        let saved = s.spawn(|| {
            let t = Trace::new();
            cache.save_parse_results();
            cache.release_parse_log();
            t.mark("(thread) parse cache");
        });
        let objects = write_objects(store, &loaded, blobs);
        saved
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        objects
    })?;
    trace.mark("blobs, trees and model");
    // the main pack (the model's, tens of MB at 100k resources) is written
    // while the cache is brought up to date: the cache needs the ids, not
    // the pack, and is saved only once the snapshot is recorded
    let counts = counts_of(&loaded, tree_len);
    let written = std::thread::scope(|s| {
        let finishing = s.spawn(|| {
            let t = Trace::new();
            let written = writer.finish();
            t.mark("(thread) main pack");
            written
        });
        update_stats(cache, &loaded, tree, model, counts);
        cache.links = links
            .into_iter()
            .filter_map(|path| crate::unchanged::link_stat(&loaded.base.join(path)))
            .collect();
        if sopts.inputs.state.is_some()
            || !sopts.inputs.variables.is_empty()
            || sopts.inputs.modules.is_some()
            || !sopts
                .inputs
                .workspace_of(&loaded.base.join(&loaded.root))
                .is_ok_and(|w| w == "default")
            || !loaded.unreadable.is_empty()
        {
            // this model depends on more than the directory (or on a file
            // it could not read, whose stats did not go in the cache):
            // the next snapshot must read it again
            cache.last = None;
        }
        save_state_index(cache, &loaded);
        if cache.last.is_some() {
            // for the next snapshot, should a block's references change
            if let Some(ranks) = &loaded.ranks {
                let ranks = crate::ranks::spaced(ranks);
                cache.save_ranks(&model, &crate::ranks::by_address(&loaded.model, &ranks));
            }
        }
        finishing
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })? + blobs_written;
    let state = loaded.model.state.clone();
    trace.mark("cache update and main pack");
    let diagnostics = std::mem::take(&mut loaded.model.diagnostics);
    let root = std::mem::take(&mut loaded.root);
    // Freeing a large model takes as long as building parts of it: let
    // another thread do it while the refs move.
    std::thread::spawn(move || drop(loaded));
    Ok(Content {
        tree,
        model,
        root,
        counts,
        written,
        unchanged: false,
        incremental: false,
        diagnostics,
        state,
    })
}

/// What a snapshot's load hands the parser: the parse cache, and the
/// writer each file's content goes into as soon as it is read (and
/// hashed and parsed from the same buffer), so no file is held through
/// the load nor read twice, and the store keeps exactly the bytes that
/// were parsed even when a file changes meanwhile. The writer writes
/// nothing before the load succeeded ([`ObjectWriter::deferred`]).
struct Reading<'c, 's> {
    cache: &'c DirCache,
    store: &'s Store,
    blobs: Mutex<ObjectWriter<'s>>,
    /// The first failure to add a file's content.
    failed: Mutex<Option<rewind_odb::Error>>,
    /// The parse results of the configuration files read, for the
    /// cache's spool ([`encode_parse_results`]).
    parsed: Mutex<Vec<ParseResult>>,
}

/// A file's content hash, kind and parse result.
type ParseResult = (Hash, FileKind, Arc<Parsed>);

impl rewind_parse::Cache for Reading<'_, '_> {
    fn known(&self, abs: &Path, stat: &rewind_parse::FileStat) -> Option<Hash> {
        self.cache.known(abs, stat)
    }
    fn parsed(&self, hash: &Hash, kind: FileKind) -> Option<std::sync::Arc<Parsed>> {
        self.cache.parsed(hash, kind)
    }
    fn keep_state_index(&self, path: &str, resources: Vec<rewind_parse::StateResource>) {
        self.cache.keep_state_index(path, resources);
    }
    /// Held, not encoded: the reading threads keep both cores busy, and
    /// the load's assembly that follows leaves one idle for the most part
    /// ([`encode_parse_results`]).
    fn keep_parsed(&self, hash: &Hash, kind: FileKind, parsed: &Arc<Parsed>) {
        // only what the cache records: a state's parse results (its
        // nodes) are never held
        if !crate::cache::spooled(parsed) {
            return;
        }
        if let Ok(mut held) = self.parsed.lock() {
            held.push((*hash, kind, Arc::clone(parsed)));
        }
    }
    fn keep_bytes(&self, file: &SourceFile, bytes: &[u8]) {
        let id = self.store.object_id_of_hash(file.hash);
        let added = if bytes.len() >= READY_APART {
            self.add_large(id, bytes)
        } else {
            match self.blobs.lock() {
                Ok(mut w) => w.add(id, ObjType::Blob, bytes),
                Err(_) => return,
            }
        };
        if let (Err(e), Ok(mut failed)) = (added, self.failed.lock()) {
            failed.get_or_insert(e);
        }
    }
}

/// From this size on, a file's content is compressed (and sealed) by the
/// thread that read it, outside the lock of the writer the reading
/// threads share ([`ObjectWriter::ready`]): the state file of 100k
/// resources (76 MB) held it 0.1 s, and the other thread, with a small
/// file to add, waited as long.
const READY_APART: usize = 1 << 20;

impl Reading<'_, '_> {
    /// Adds a large file's content `bytes` (of object `id`) to the blobs'
    /// writer, compressed first without its lock, unless the store or the
    /// writer has it.
    fn add_large(&self, id: ObjectId, bytes: &[u8]) -> rewind_odb::Result<()> {
        match self.blobs.lock() {
            Ok(w) if !w.needs(&id)? => return Ok(()),
            Ok(_) => {}
            Err(_) => return Ok(()),
        }
        let ready = ObjectWriter::ready(self.store, id, ObjType::Blob, bytes)?;
        match self.blobs.lock() {
            Ok(mut w) => w.add_ready(ready),
            Err(_) => Ok(()),
        }
    }
}

/// Loads directory `abs` (given as `given`) with the parse cache of
/// `cache`, checked as a snapshot needs it (a warning when it has no
/// state); the parse results are written to the cache's log as they are
/// made and freed once the module tree is built. Returns the loaded
/// directory and the writer holding the contents of the files read
/// (written to the store only by [`write_objects`]: a failing load
/// leaves the store as it was).
fn load_directory<'s>(
    store: &'s Store,
    abs: &Path,
    cache: &mut DirCache,
    given: &Path,
    sopts: &SnapshotOptions,
    trace: &Trace,
) -> Result<(Loaded, ObjectWriter<'s>)> {
    cache.start_spool();
    let reading = Reading {
        cache: &*cache,
        store,
        blobs: Mutex::new(ObjectWriter::deferred(store)),
        failed: Mutex::new(None),
        parsed: Mutex::new(Vec::new()),
    };
    let opts = rewind_parse::Options {
        cache: Some(&reading),
        // each file's bytes go into the blobs' pack as they are read
        // (`Reading::keep_bytes`): holding them through the load would
        // add the whole tree (a large state) to the peak memory
        keep_bytes: false,
        // the parse results are in the cache's spool once the load is
        // assembled (`encode_parse_results`)
        free_parsed: true,
        ..sopts.inputs.parse_options(rewind_odb::Load::Full)
    };
    let parsed_dir = rewind_parse::parse_dir(abs, &opts);
    let results = std::mem::take(&mut *reading.parsed.lock().unwrap_or_else(|p| p.into_inner()));
    let stop = AtomicBool::new(false);
    let loaded = std::thread::scope(|s| {
        let (cache, stop) = (reading.cache, &stop);
        let encoding = s.spawn(move || encode_parse_results(cache, results, stop));
        let loaded = parsed_dir.and_then(|d| d.assemble(&opts));
        if loaded.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        encoding
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        loaded
    });
    let blobs = reading
        .blobs
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(e) = reading
        .failed
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
    {
        return Err(e.into());
    }
    let mut loaded = checked_dir(given, loaded, sopts.allow_empty).map_err(|e| LoadFailure {
        what: given.display().to_string(),
        earlier: Vec::new(),
        diagnostics: e.diagnostics,
    })?;
    if loaded.model.state.is_none() {
        loaded.model.diagnostics.push(no_state(given));
    }
    trace.mark("load");
    // The parse results are in the cache's spool (those of configuration
    // files freed already): the state's go before the model and the blobs
    // are written, so those phases reuse their memory instead of faulting
    // in fresh pages (most of the system time of a large snapshot).
    // The log's update, and freeing the log read from the cache, go
    // alongside the writing of the objects (`store_directory`).
    update_parse_results(cache, &loaded);
    drop(std::mem::take(&mut loaded.parsed));
    trace.mark("parse results");
    Ok((loaded, blobs))
}

/// Encodes the parse results of a load's configuration files into the
/// cache's spool, each freed once encoded, until `stop` (the load
/// failed, and the spool is not kept): on a thread of its own while the
/// load assembles. At 100k resources this is 0.2-0.3 s of processor time
/// the reading threads spent before, with both cores busy, where the
/// module tree's building that follows runs on one.
fn encode_parse_results(cache: &DirCache, results: Vec<ParseResult>, stop: &AtomicBool) {
    let trace = Trace::new();
    for (hash, kind, parsed) in results {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        rewind_parse::Cache::keep_parsed(cache, &hash, kind, &parsed);
    }
    trace.mark("(thread) parse results encoded");
}

/// The warning a snapshot of directory `given` (as the user named it)
/// without a state records in its model.
pub(crate) fn no_state(given: &Path) -> Diagnostic {
    Diagnostic {
        severity: rewind_model::Severity::Warning,
        loc: rewind_model::Loc {
            file: given.display().to_string(),
            ..Default::default()
        },
        message: "no state: the directory has no terraform.tfstate and no --state was given (with a remote backend, pipe `terraform state pull` into --state -); plans from this snapshot take the configuration for what is deployed".into(),
        source_line: None,
    }
}

/// What [`write_objects`] wrote.
struct Objects<'s> {
    tree: ObjectId,
    model: ObjectId,
    /// The writer holding the main pack, still to be finished.
    writer: ObjectWriter<'s>,
    /// What the blob packs added.
    blobs_written: Written,
    /// The files and links the tree lists.
    tree_len: usize,
    /// The paths of the links among them.
    links: Vec<String>,
}

/// Writes what the store lacks of `loaded`, two jobs at once: the file
/// contents into packs of their own (`blobs` holds those read by the
/// load), the model's nodes (then the tree) into the main pack, which is
/// left to the caller to finish (written) in [`Objects::writer`].
fn write_objects<'s>(
    store: &'s Store,
    loaded: &Loaded,
    blobs: ObjectWriter<'s>,
) -> Result<Objects<'s>> {
    std::thread::scope(|s| -> Result<_> {
        let blobs = s.spawn(|| {
            let t = Trace::new();
            let r = store_blobs(store, loaded, blobs);
            t.mark("(thread) blobs");
            r
        });
        let mut w = ObjectWriter::new(store);
        let t = Trace::new();
        let model = w.add_model(&loaded.model, &loaded.root);
        t.mark("(thread) model");
        let blobs = blobs
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let model = model?;
        let (files, blobs_written) = blobs?;
        let tree = w.add_tree(&files)?;
        let links: Vec<String> = files
            .iter()
            .filter(|f| f.link)
            .map(|f| f.path.clone())
            .collect();
        Ok(Objects {
            tree,
            model,
            writer: w,
            blobs_written,
            tree_len: files.len(),
            links,
        })
    })
}

/// The counts a record keeps of a loaded directory whose tree lists
/// `tree_len` files and links.
fn counts_of(loaded: &Loaded, tree_len: usize) -> Counts {
    Counts {
        files: tree_len as u64,
        resources: loaded
            .model
            .resources()
            .filter(|n| n.kind == NodeKind::Resource)
            .count() as u64,
        instances: loaded
            .model
            .instances
            .iter()
            .filter(|n| !n.address.starts_with("output."))
            .count() as u64,
    }
}

/// Stores the contents of the snapshot's files not yet in the store, in
/// packs of their own, with those writer `w` took while the files were
/// read; returns the tree's files (and links) and what was written. A
/// file the load did not read (the cache vouched for it) whose content
/// the store lacks is read again, and must not have changed.
fn store_blobs<'s>(
    store: &'s Store,
    loaded: &Loaded,
    mut w: ObjectWriter<'s>,
) -> Result<(Vec<TreeFile>, Written)> {
    let mut files = Vec::with_capacity(loaded.files.len());
    let entries =
        crate::links::tree_entries(&loaded.base, loaded.files.iter().map(|f| f.path.as_str()))?;
    for (path, placed) in entries {
        let i = match placed {
            Placed::File(i) => i,
            Placed::Link(target) => {
                let id = store.object_id(target.as_bytes());
                w.add(id, ObjType::Blob, target.as_bytes())?;
                files.push(TreeFile {
                    path,
                    executable: false,
                    link: true,
                    size: target.len() as u64,
                    id,
                });
                continue;
            }
        };
        let f = &loaded.files[i];
        let id = store.object_id_of_hash(f.hash);
        if w.needs(&id)? {
            let read;
            let bytes: &[u8] = match &f.bytes {
                Some(b) => b,
                None => {
                    read =
                        rewind_parse::read_regular(&f.abs, f.size).map_err(|source| Error::Io {
                            path: f.abs.clone(),
                            source,
                        })?;
                    if Hash::of(&read) != f.hash {
                        return Err(Error::FileChanged {
                            path: f.abs.clone(),
                        });
                    }
                    &read
                }
            };
            w.add(id, ObjType::Blob, bytes)?;
        }
        files.push(TreeFile {
            path,
            executable: f.executable,
            link: false,
            size: f.size,
            id,
        });
    }
    let written = w.finish()?;
    Ok((files, written))
}

/// Sets the parse cache's update: the keys of this snapshot's files whose
/// parse results are cached (state files are cached per resource).
fn update_parse_results(cache: &mut DirCache, loaded: &Loaded) {
    let keys = loaded
        .files
        .iter()
        .filter(|f| {
            matches!(
                f.kind,
                FileKind::Tf | FileKind::TfJson | FileKind::Tfvars | FileKind::TfvarsJson
            )
        })
        .map(|f| (f.hash, f.kind.code()));
    cache.update_parse_results(keys);
}

/// Records in the cache what the model's state file holds, for an
/// incremental snapshot after it changes (or that there is none).
fn save_state_index(cache: &DirCache, loaded: &Loaded) {
    let state = loaded.model.state.as_ref().and_then(|info| {
        // the model names the state file by its path in the tree
        let file = loaded
            .files
            .iter()
            .find(|f| f.kind == FileKind::State && f.path == info.path)?;
        let resources = cache.take_state_index(&file.abs)?;
        Some((file.hash, resources))
    });
    cache.save_encoded_state_index(state);
}

/// Records the files' sizes and times and the snapshot in the cache.
fn update_stats(
    cache: &mut DirCache,
    loaded: &Loaded,
    tree: ObjectId,
    model: ObjectId,
    counts: Counts,
) {
    let mut stats = HashMap::new();
    for f in &loaded.files {
        stats.insert(
            PathBuf::from(&f.abs),
            Stat {
                stat: f.stat,
                executable: f.executable,
                hash: f.hash,
            },
        );
    }
    cache.stats = stats;
    cache.dirs = loaded.dirs.clone();
    cache.last = Some(LastSnapshot {
        tree,
        model,
        root: loaded.root.clone(),
        base: loaded.base.display().to_string(),
        counts,
        addressing: loaded.model.nodes.iter().any(|n| {
            matches!(
                n.kind,
                NodeKind::Moved | NodeKind::Import | NodeKind::Removed
            )
        }),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rewind-snapshot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const MAIN_V1: &str = "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs-v1\"\n}\n";

    /// A file rewritten after the load read it (between the load and the
    /// writing of the objects, where a snapshot used to read every file
    /// again) is stored as it was read and parsed: the tree's content and
    /// the model agree, and neither is the new text.
    #[test]
    fn a_file_changed_during_the_snapshot_is_stored_as_it_was_parsed() {
        let d = scratch("changed");
        let src = d.join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("main.tf"), MAIN_V1).unwrap();
        std::fs::write(
            src.join("vars.tf"),
            "variable \"region\" {\n  default = \"eu-west-1\"\n}\n",
        )
        .unwrap();
        let store = Store::init(d.join("store").to_str().unwrap()).unwrap();
        let mut cache = DirCache::default();
        let trace = Trace::new();
        let sopts = SnapshotOptions::default();
        let (loaded, blobs) =
            load_directory(&store, &src, &mut cache, &src, &sopts, &trace).unwrap();
        let changed = "resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"logs-v2-renamed\"\n}\n";
        std::fs::write(src.join("main.tf"), changed).unwrap();
        let objects = write_objects(&store, &loaded, blobs).unwrap();
        objects.writer.finish().unwrap();
        let files = store.tree_files(&objects.tree).unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["main.tf", "vars.tf"]);
        let stored = store.get_many(&[files[0].id]).unwrap();
        assert_eq!(String::from_utf8_lossy(&stored[0]), MAIN_V1);
        assert_eq!(files[0].size, MAIN_V1.len() as u64);
        let (model, _) = store
            .load_model(&objects.model, rewind_odb::Load::Full)
            .unwrap();
        let bucket = model
            .nodes
            .iter()
            .find(|n| n.address == "aws_s3_bucket.logs")
            .unwrap();
        let body = format!("{:?}", bucket.body);
        assert!(body.contains("logs-v1"), "{body}");
        assert!(!body.contains("logs-v2"), "{body}");
        assert!(store.verify().unwrap().ok());
        let _ = std::fs::remove_dir_all(&d);
    }
}
