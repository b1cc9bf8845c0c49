//! The snapshot of a directory whose only change since its last snapshot
//! is in the values of some blocks (resources, data sources, local values,
//! outputs, variables), in the references of some, or in whole `resource`
//! and `data` blocks added or removed (docs/store-format.md §11): the files that
//! changed are read and parsed, and the model is the last one with the
//! nodes of those blocks replaced, added or dropped,
//! without loading the rest of the directory (the parse results of the
//! unchanged files, the state, the module tree, the references and the
//! sensitivity pass): what a release that changes a few resources' values
//! costs is then in proportion to the change, as it is for git.
//!
//! It is exact, not a guess: the model made here is the model a whole load
//! makes, byte for byte. That holds because every condition below is
//! checked, and any other change falls back to the whole load:
//!
//! * the same files (no file added, removed or renamed, no mode changed,
//!   no link), no OpenTofu `.tofu` file and no override file anywhere (both
//!   replace blocks of other files), the same root and no inputs given
//!   beside the directory (state, variables, module cache);
//! * beside `.tf` files, only the model's state file changed, as an apply
//!   changes it: `state_edit.rs` keeps the instances of the resources the
//!   last state held and makes the others';
//! * only `.tf` files changed ([`rewind_parse::body_edits`]), and in each
//!   only the values inside `resource`, `data`, `variable` and `output`
//!   blocks and local values, the same blocks making the same references
//!   at the same places with the same `sensitive` flags, or the references
//!   of `resource`, `data`, `output` blocks and local values (relinked),
//!   or whole `resource` and `data` blocks were added or removed; no
//!   warning or error in either version. So no other node changes (what a
//!   local, an output or a variable holds secret comes from what it reads
//!   and its flag alone: attribute names mark only resources, data
//!   sources, providers and module calls);
//! * a relinked block names, before and after, only blocks of its module
//!   that exist (not itself, not an added one), and what it reads makes
//!   the same paths secret as what it read ([`rewind_parse::secret_reads`]),
//!   so its secret paths, and its readers', stay; each of its new edges
//!   goes down in the ranks of the last model (`ranks.rs`), or the order
//!   is mended by ranking anew, below the reader, what the edge reaches
//!   above it, so none closes a cycle;
//! * the secret paths a changed node's attribute names give it are the
//!   same with its new body; it reads what it read where it read it, so
//!   the rest of its secret paths (what it reads, what a state marks for
//!   its type) stay too, and the nodes that read it do not change;
//! * neither version of a changed node calls a file function (whose
//!   `reads` fact and stored files depend on other files);
//! * an added block names in its references only nodes of its
//!   module that exist, and uses a provider another block of its
//!   instance uses: its node is made from those, as the loader makes it
//!   (with what a state marks secret for its type, and what it reads
//!   makes secret);
//! * a removed block is named by no reference of its module,
//!   and leaves no implicit provider without a user;
//! * beside a state, an added or removed block with secret paths has no
//!   instance the state keeps (its secret paths would change);
//! * no block is added or removed when the model has `moved`, `import` or
//!   `removed` blocks (they name resources by address from any module);
//! * the last model's diagnostics are exactly those this snapshot would
//!   record (none, or the warning of a directory without a state, named as
//!   this snapshot names it).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rewind_model::{Diagnostic, EdgeKind, Hash, NodeKind, StateInfo};
use rewind_odb::{GroupEntry, ObjType, ObjectId, ObjectWriter, Store, Written};
use rewind_parse::{AddedBlock, BlockEdit, Cache as _, FileEdits, FileKind, FileStat, Parsed};

use crate::cache::{Counts, DirCache, Key, LastSnapshot, Stat};
use crate::error::{Error, Result};
use crate::state_edit::{ChangedFile, ConfigSecrets, StateEdited, StateSide, TypePaths};

/// What an incremental snapshot stored.
pub(crate) struct Edited {
    pub(crate) tree: ObjectId,
    pub(crate) model: ObjectId,
    pub(crate) written: Written,
    pub(crate) counts: Counts,
    pub(crate) state: Option<StateInfo>,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Edited {
    /// The last snapshot `last` again, its files only stat-ed anew.
    fn unchanged(
        last: &LastSnapshot,
        state: Option<StateInfo>,
        diagnostics: Vec<Diagnostic>,
    ) -> Edited {
        Edited {
            tree: last.tree,
            model: last.model,
            written: Written::default(),
            counts: last.counts,
            state,
            diagnostics,
        }
    }
}

/// A configuration file whose content changed, and how.
struct Changed {
    file: ChangedFile,
    edits: FileEdits,
    /// The new parse result (its removed blocks are looked for in it).
    parsed: Arc<rewind_parse::Parsed>,
}

impl Changed {
    /// Were blocks added to the file or removed from it?
    fn structural(&self) -> bool {
        !self.edits.added.is_empty() || !self.edits.removed.is_empty()
    }

    /// Did the references of one of its blocks change?
    fn relinked(&self) -> bool {
        self.edits.kept.iter().any(|b| b.targets.is_some())
    }
}

/// More changed files than this share of the directory's are loaded
/// whole: the whole load is then as fast.
const MAX_CHANGED_SHARE: usize = 4;

/// Snapshots directory `abs` (named `given`) when it changed as the
/// module documentation says, writing the objects the store lacks and
/// updating `cache`; `None` (nothing written) when it did not: the whole
/// load is needed.
pub(crate) fn snapshot_edits(
    store: &Store,
    abs: &Path,
    given: &Path,
    cache: &mut DirCache,
    trace: &rewind_parse::load::Trace,
) -> Result<Option<Edited>> {
    let Some(last) = cache.last.clone() else {
        return declined(1, None);
    };
    if !last.root.is_empty()
        || last.base != abs.display().to_string()
        || !cache.links.is_empty()
        || !cache.stats.keys().all(|p| plain(p))
    {
        return declined(2, None);
    }
    let Some(dirs) = file_list(abs, cache) else {
        return declined(20, None);
    };
    trace.mark("(incremental) file list");
    // the new parse results are spooled as they are made
    cache.start_spool();
    let Some(found) = changed_files(abs, given, cache)? else {
        return declined(3, None);
    };
    let Found {
        refreshed,
        changed,
        state,
    } = found;
    if changed.len() > cache.stats.len() / MAX_CHANGED_SHARE + 1 {
        return declined(4, None);
    }
    trace.mark("(incremental) changed files");
    // (the last snapshot's objects may be gone, or damaged: the whole load
    // stores them again)
    let Ok(edit) = store.model_edit(&last.model) else {
        return declined(5, None);
    };
    let expected: Vec<Diagnostic> = match edit.state() {
        Some(_) => Vec::new(),
        None => vec![crate::snapshot::no_state(given)],
    };
    if edit.diagnostics() != expected.as_slice() {
        return declined(35, None);
    }
    if changed.is_empty() && state.is_none() {
        // files rewritten with the same content (stats changed, not
        // what they hold): the last snapshot's tree and model
        if !store.has(&last.tree)? {
            return declined(36, None);
        }
        let ids = (last.tree, last.model, last.counts);
        update_cache(cache, &last, ids, dirs, refreshed, changed, None);
        let state = edit.state().cloned();
        return Ok(Some(Edited::unchanged(&last, state, expected)));
    }
    // `moved`, `import` and `removed` blocks name resources by address
    // from any module: one added or removed could change what they name
    let structural = changed.iter().any(Changed::structural);
    if last.addressing && structural {
        return declined(34, None);
    }
    let Some(side) = state_side(abs, cache, &edit, state, structural) else {
        return Ok(None);
    };
    trace.mark("(incremental) state");
    let blob_of = side
        .as_ref()
        .and_then(|s| s.change.as_ref())
        .map(|(f, _)| (f.hash, Arc::clone(&f.bytes)));
    let last_state = Last {
        snapshot: &last,
        dirs,
        refreshed,
        expected,
    };
    std::thread::scope(|s| {
        // a changed state's blob (most of the bytes a snapshot after an
        // apply writes: 73 MB at 100k resources) is compressed on another
        // core while the model is edited; written only when it succeeds
        let blob = blob_of.map(|(hash, bytes)| {
            s.spawn(move || -> Result<ObjectWriter<'_>> {
                let mut bw = ObjectWriter::deferred(store);
                let id = store.object_id_of_hash(hash);
                if bw.needs(&id)? {
                    bw.add(id, ObjType::Blob, &bytes)?;
                }
                Ok(bw)
            })
        });
        write_edit(
            store, abs, cache, trace, edit, side, changed, last_state, blob,
        )
    })
}

/// What an incremental snapshot keeps of the last one and of its look at
/// the files, to record once it is written.
struct Last<'a> {
    snapshot: &'a LastSnapshot,
    dirs: Vec<(PathBuf, i64)>,
    refreshed: Vec<(PathBuf, Stat)>,
    expected: Vec<Diagnostic>,
}

/// The rest of [`snapshot_edits`]: edits `edit` (the configuration's
/// groups, then the state's), writes the model, the tree and, from `blob`,
/// the state's content, and records the snapshot in `cache`.
#[allow(clippy::too_many_arguments)]
fn write_edit<'s>(
    store: &'s Store,
    abs: &Path,
    cache: &mut DirCache,
    trace: &rewind_parse::load::Trace,
    mut edit: rewind_odb::ModelEdit,
    side: Option<StateSide>,
    changed: Vec<Changed>,
    last: Last<'_>,
    blob: Option<std::thread::ScopedJoinHandle<'_, Result<ObjectWriter<'s>>>>,
) -> Result<Option<Edited>> {
    // the changed files' groups as they were (an instance's configuration
    // node may be one of their unchanged blocks)
    let last_groups: HashMap<&str, ObjectId> = changed
        .iter()
        .filter_map(|c| Some((c.file.rel.as_str(), edit.group_id(&c.file.rel)?)))
        .collect();
    let mut w = ObjectWriter::new(store);
    let type_paths = side.as_ref().map(|s| &s.type_paths);
    let Some(mut config) = edit_groups(store, abs, &mut w, &mut edit, cache, &changed, type_paths)?
    else {
        return declined(6, None);
    };
    let mut counts = last.snapshot.counts;
    counts.resources = counts.resources.saturating_add_signed(config.resources);
    let added = std::mem::take(&mut config.added);
    let reranked = std::mem::take(&mut config.reranked);
    let mut state_edited: Option<StateEdited> = None;
    if let Some(side) = side {
        if !side.keeps_instances(&config.with_secrets) {
            return Ok(None);
        }
        if side.change.is_some() {
            let secrets = ConfigSecrets {
                made: config.made,
                dropped: config.dropped,
                replaced: last_groups,
            };
            let edited = crate::state_edit::edit_state(store, &mut w, &mut edit, side, &secrets)?;
            let Some(edited) = edited else {
                return Ok(None);
            };
            counts.instances = edited.instances;
            state_edited = Some(edited);
        }
    }
    let model = w.add_model_edit(&edit)?;
    trace.mark("(incremental) model");
    // (a state's blob is added by the thread of `blob`)
    let mut blobs: Vec<(&ChangedFile, bool)> = changed.iter().map(|c| (&c.file, false)).collect();
    if let Some(e) = &state_edited {
        blobs.push((&e.file, blob.is_some()));
    }
    let Some(tree) = edit_tree(store, &mut w, last.snapshot, &blobs)? else {
        return declined(7, None);
    };
    drop(blobs);
    trace.mark("(incremental) tree");
    let blob = match blob {
        Some(b) => Some(b.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?),
        None => None,
    };
    trace.mark("(incremental) state's blob");
    let mut written = w.finish()?;
    if let Some(b) = blob {
        written = written + b.finish()?;
    }
    trace.mark("(incremental) pack");
    cache.carry_ranks(&last.snapshot.model, &model, &added, &reranked);
    update_cache(
        cache,
        last.snapshot,
        (tree, model, counts),
        last.dirs,
        last.refreshed,
        changed,
        state_edited,
    );
    Ok(Some(Edited {
        tree,
        model,
        written,
        counts,
        state: edit.state().cloned(),
        diagnostics: last.expected,
    }))
}

/// The state side of the snapshot (`Some(None)`: none is needed, as there
/// is no state, or it is unchanged and no block was added or removed);
/// `None` when it cannot be taken so (said with `REWIND_TRACE`).
fn state_side(
    abs: &Path,
    cache: &DirCache,
    edit: &rewind_odb::ModelEdit,
    file: Option<ChangedFile>,
    structural: bool,
) -> Option<Option<StateSide>> {
    let Some(info) = edit.state() else {
        // a state file that no model used (several, none the root's)
        return match file {
            Some(_) => crate::state_edit::declined(48),
            None => Some(None),
        };
    };
    if file.is_none() && !structural {
        return Some(None);
    }
    // (the model names its files by their path in the tree)
    let named = |path: &Path| rewind_parse::load::tree_path(abs, path) == info.path;
    // the model's state file, and the content the last snapshot read
    let current = match &file {
        Some(f) if named(&f.abs) => f.hash,
        Some(_) => return crate::state_edit::declined(49),
        None => {
            let found = cache.stats.iter().find(|(p, _)| is_state(p) && named(p));
            match found {
                Some((_, stat)) => stat.hash,
                None => return crate::state_edit::declined(50),
            }
        }
    };
    let path = info.path.clone();
    StateSide::read(cache, &current, file, &path).map(Some)
}

/// The directories' times to record when the files are the ones the
/// last snapshot stored: by the directories' times, or, when those
/// changed (a file replaced by a new one changes its directory's time),
/// by listing them again. `None` when a file was added, removed or
/// renamed, or an entry is skipped (with a warning a model records).
fn file_list(abs: &Path, cache: &DirCache) -> Option<Vec<(PathBuf, i64)>> {
    if crate::unchanged::same_file_list(abs, cache) {
        return Some(cache.dirs.clone());
    }
    let found = rewind_parse::discover_with_dirs(abs).ok()?;
    (found.skipped.is_empty() && crate::unchanged::same_files(&found.files, cache))
        .then_some(found.dirs)
}

/// A file that changes no other file's blocks: not OpenTofu's (a `.tofu`
/// file replaces the `.tf` file of its name), not an override file.
fn plain(path: &Path) -> bool {
    let name = name_of(path);
    !name.ends_with(".tofu")
        && !name.ends_with(".tofu.json")
        && !rewind_parse::is_override_file(&name)
}

/// What a file is since the last snapshot.
enum Seen {
    /// The same content with another stat.
    Restat(Stat),
    Changed(Box<Changed>),
    /// A state file with another content.
    State(ChangedFile),
}

/// The files a snapshot found changed: those with the same content (only
/// to be stat-ed anew, as `(path, Stat)`), the changed configuration
/// files, and the state file when it changed.
struct Found {
    refreshed: Vec<(PathBuf, Stat)>,
    changed: Vec<Changed>,
    state: Option<ChangedFile>,
}

/// The files whose stats changed, checked against the cache on every
/// core: those whose content is the same (only to be stat-ed anew, as
/// `(path, Stat)`), and those changed, read, parsed and compared with
/// their last version. `None` when a change is not one
/// [`snapshot_edits`] can take.
fn changed_files(abs: &Path, given: &Path, cache: &DirCache) -> Result<Option<Found>> {
    let items: Vec<(&PathBuf, &Stat)> = cache.stats.iter().collect();
    // first the stats: a change that is not one this can take (a state
    // written by an apply) is found before any file is read
    let stated = on_threads(&items, |part| {
        let mut out = Vec::new();
        for &(path, recorded) in part {
            match stat_of(cache, path, recorded) {
                None => return Ok(None),
                Some(None) => {}
                Some(Some(stat)) => out.push((path, recorded, stat)),
            }
        }
        Ok(Some(out))
    })?;
    let Some(candidates) = stated else {
        return Ok(None);
    };
    if !candidates
        .iter()
        .all(|(path, ..)| is_tf(path) || is_state(path))
    {
        return declined(10, None);
    }
    let seen = on_threads(&candidates, |part| {
        let mut out = Vec::new();
        for &(path, recorded, stat) in part {
            match seen(abs, given, cache, path, recorded, stat)? {
                None => return Ok(None),
                Some(s) => out.push((path.clone(), s)),
            }
        }
        Ok(Some(out))
    })?;
    let Some(seen) = seen else {
        return Ok(None);
    };
    let mut found = Found {
        refreshed: Vec::new(),
        changed: Vec::new(),
        state: None,
    };
    for (path, s) in seen {
        match s {
            Seen::Restat(stat) => found.refreshed.push((path, stat)),
            Seen::Changed(c) => found.changed.push(*c),
            Seen::State(f) => {
                if found.state.replace(f).is_some() {
                    return declined(39, None);
                }
            }
        }
    }
    // the same order every run (the cache's map has none)
    found.changed.sort_by(|a, b| a.file.rel.cmp(&b.file.rel));
    Ok(Some(found))
}

/// A file's name (empty for none).
fn name_of(path: &Path) -> std::borrow::Cow<'_, str> {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
}

/// A state file (`*.tfstate`).
fn is_state(path: &Path) -> bool {
    FileKind::of(&name_of(path)) == Some(FileKind::State)
}

/// `f` of `items` in parts, one on each core, on threads with a parsing
/// thread's stack (deeply nested input recurses deeply); the parts'
/// results in order, or `None` when one part's is.
fn on_threads<I: Sync, T: Send>(
    items: &[I],
    f: impl Fn(&[I]) -> Result<Option<Vec<T>>> + Sync,
) -> Result<Option<Vec<T>>> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let size = items.len().div_ceil(threads).max(256);
    let f = &f;
    let parts: Vec<Result<Option<Vec<T>>>> = std::thread::scope(|s| {
        let jobs: Vec<_> = items
            .chunks(size)
            .map(|c| {
                std::thread::Builder::new()
                    .stack_size(rewind_parse::PARSE_STACK)
                    .spawn_scoped(s, move || f(c))
            })
            .collect();
        jobs.into_iter()
            .map(|j| match j {
                Ok(j) => j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(e) => Err(Error::Io {
                    path: PathBuf::from("(a thread)"),
                    source: e,
                }),
            })
            .collect()
    });
    let mut all = Vec::new();
    for part in parts {
        let Some(part) = part? else {
            return Ok(None);
        };
        all.extend(part);
    }
    Ok(Some(all))
}

/// A `.tf` file (not OpenTofu's, not JSON).
fn is_tf(path: &Path) -> bool {
    let name = name_of(path);
    FileKind::of(&name) == Some(FileKind::Tf) && name.ends_with(".tf")
}

/// The stat of file `path` (recorded as `recorded`) when it may have
/// changed (`Some(None)`: it has not); `None` when it is gone, not a
/// file, or its executable bit changed.
fn stat_of(cache: &DirCache, path: &Path, recorded: &Stat) -> Option<Option<FileStat>> {
    let Ok(md) = std::fs::metadata(path) else {
        let _ = declined(8, ());
        return None;
    };
    let stat = FileStat::of(&md);
    if !md.is_file() || rewind_parse::load::is_executable(&md) != recorded.executable {
        let _ = declined(9, ());
        return None;
    }
    // (a racily clean file is hashed to tell: checked now, it is trusted
    // once the stat file is saved with this run's start)
    if cache.unchanged_hash(path, &stat).is_some() {
        return Some(None);
    }
    Some(Some(stat))
}

/// What file `path` (recorded as `recorded`, now of `stat`) is; `None`
/// when its change is not one [`snapshot_edits`] can take.
fn seen(
    abs: &Path,
    given: &Path,
    cache: &DirCache,
    path: &Path,
    recorded: &Stat,
    stat: FileStat,
) -> Result<Option<Seen>> {
    // a file past what a load reads of its kind: the whole load refuses it
    let kind = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(rewind_parse::FileKind::of);
    if kind.is_some_and(|k| stat.size > k.read_limit()) {
        return declined(53, None);
    }
    let bytes = rewind_parse::read_regular(path, stat.size).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let hash = Hash::of(&bytes);
    if hash == recorded.hash {
        return Ok(Some(Seen::Restat(Stat {
            stat,
            ..recorded.clone()
        })));
    }
    if !path.starts_with(abs) {
        return declined(11, None);
    }
    let file = ChangedFile {
        abs: path.to_path_buf(),
        rel: rewind_parse::load::tree_path(abs, path),
        stat,
        executable: recorded.executable,
        old: recorded.hash,
        hash,
        bytes: Arc::new(bytes),
    };
    if is_state(path) {
        return Ok(Some(Seen::State(file)));
    }
    let bytes = &file.bytes;
    let shown = given.join(&file.rel).display().to_string();
    let Ok(parsed) = rewind_parse::load::parse_bytes(bytes, FileKind::Tf, &shown) else {
        return declined(12, None);
    };
    let Some(old) = cache.parsed(&recorded.hash, FileKind::Tf) else {
        return declined(13, None);
    };
    let Some(edits) = rewind_parse::body_edits(&old, &parsed) else {
        return declined(14, None);
    };
    // kept for the next snapshot, encoded here on this file's thread
    let parsed = Arc::new(parsed);
    cache.keep_parsed(&hash, FileKind::Tf, &parsed);
    Ok(Some(Seen::Changed(Box::new(Changed {
        file,
        edits,
        parsed,
    }))))
}

/// Replaces the groups of the changed files in `edit`: each entry moved
/// to where its block now starts; the nodes of the blocks whose values
/// changed made anew from the old ones and the new bodies; the nodes of
/// removed blocks dropped and those of added blocks made (in each module
/// instance loading the file). The groups, then the nodes needed, are
/// read together. Returns the change in the number of resources, or
/// `None` when a node cannot be made so (see the module documentation).
fn edit_groups(
    store: &Store,
    abs: &Path,
    w: &mut ObjectWriter<'_>,
    edit: &mut rewind_odb::ModelEdit,
    cache: &DirCache,
    changed: &[Changed],
    type_paths: Option<&TypePaths>,
) -> Result<Option<ConfigChange>> {
    let structural = changed.iter().any(Changed::structural);
    // beside a state, an added block takes what it marks secret for its
    // type: known from the state side
    if !placeable(edit, changed) || (structural && edit.state().is_some() && type_paths.is_none()) {
        return declined(22, None);
    }
    let with_group: Vec<(&Changed, ObjectId)> = changed
        .iter()
        .filter_map(|c| edit.group_id(&c.file.rel).map(|id| (c, id)))
        .collect();
    let keys: Vec<(ObjectId, &str)> = with_group
        .iter()
        .map(|(c, id)| (*id, c.file.rel.as_str()))
        .collect();
    let Ok(groups) = store.groups_entries(&keys) else {
        return declined(15, None);
    };
    let mut module = Module::default();
    let relinked = changed.iter().any(Changed::relinked);
    if (structural || relinked) && !module.read(store, abs, edit, cache, changed)? {
        return declined(23, None);
    }
    let mut out = ConfigChange {
        resources: 0,
        made: HashMap::new(),
        dropped: HashSet::new(),
        with_secrets: HashSet::new(),
        relinked: Vec::new(),
        added: Vec::new(),
        reranked: Vec::new(),
    };
    let resources = &mut out.resources;
    // each entry placed anew, and the old nodes to read: those of changed
    // blocks, of removed ones, and a sibling of each added one
    let mut placed: Vec<Vec<GroupEntry>> = Vec::with_capacity(groups.len());
    let mut wanted: Vec<(usize, Want)> = Vec::new();
    for (gi, ((c, _), entries)) in with_group.iter().zip(groups).enumerate() {
        let Some(entries) = place(c, gi, entries, &mut wanted, resources) else {
            return declined(16, None);
        };
        placed.push(entries);
    }
    // the nodes the added blocks name (what they read may be secret)
    let targets = read_targets(&wanted);
    if !module.read_nodes(store, targets.iter().map(String::as_str)) {
        return declined(31, None);
    }
    let read = to_read(&wanted, &placed, &with_group);
    let Ok(nodes) = store.entries_nodes(&read) else {
        return declined(17, None);
    };
    if !make_nodes(
        store,
        edit,
        w,
        (wanted, nodes),
        &mut placed,
        &mut module,
        type_paths,
        &mut out,
    )? {
        return Ok(None);
    }
    if !out.relinked.is_empty() {
        let Some(moved) = ordered(store, cache, &mut module, &out.relinked) else {
            return declined(52, None);
        };
        out.reranked = moved;
    }
    for ((c, _), entries) in with_group.iter().zip(placed) {
        w.replace_group(edit, &c.file.rel, entries)?;
    }
    Ok(Some(out))
}

/// Makes the nodes `wanted` asks for from the old `nodes` (in `placed`,
/// the changed files' new groups, and `out`); false when one cannot be
/// made so (said with `REWIND_TRACE`).
#[allow(clippy::too_many_arguments)]
fn make_nodes(
    store: &Store,
    edit: &rewind_odb::ModelEdit,
    w: &mut ObjectWriter<'_>,
    (wanted, nodes): (Vec<(usize, Want)>, Vec<rewind_model::Node>),
    placed: &mut [Vec<GroupEntry>],
    module: &mut Module,
    type_paths: Option<&TypePaths>,
    out: &mut ConfigChange,
) -> Result<bool> {
    let removed_addresses = removed_addresses(&wanted);
    // (only a removed block can leave an implicit provider without a user)
    let implicit = if removed_addresses.is_empty() {
        HashSet::new()
    } else {
        let Some(implicit) = implicit_providers(store, edit) else {
            return declined(25, false);
        };
        implicit
    };
    for ((gi, want), node) in wanted.into_iter().zip(nodes) {
        match want {
            Want::Changed(ei, body, None) => {
                let Some(node) = changed_node(node, body) else {
                    return declined(18, false);
                };
                placed[gi][ei].node = w.add_node(&node)?;
                out.made.insert(node.address, node.sensitive);
            }
            Want::Changed(ei, body, Some((prefix, targets))) => {
                let Some(node) = relinked_node(store, node, body, (&prefix, targets), module)
                else {
                    return declined(51, false);
                };
                placed[gi][ei].node = w.add_node(&node)?;
                let to = node.edges.iter().map(|e| e.to.clone()).collect();
                out.relinked.push((node.address.clone(), to));
                out.made.insert(node.address, node.sensitive);
            }
            Want::Removed(_) => {
                if !removable(store, &node, &implicit, module, &removed_addresses) {
                    return declined(26, false);
                }
                if !node.sensitive.is_empty() {
                    out.with_secrets.insert(node.address.clone());
                }
                out.dropped.insert(node.address);
            }
            Want::Added(_, prefix, a) => {
                let Some(node) = added_node(&node, &prefix, a, module, type_paths) else {
                    return declined(27, false);
                };
                if !node.sensitive.is_empty() {
                    out.with_secrets.insert(node.address.clone());
                }
                out.made
                    .insert(node.address.clone(), node.sensitive.clone());
                let (address, kind) = (node.address.clone(), node.kind);
                let deps = node.edges.iter().map(|e| e.to.clone()).collect();
                out.added.push((address.clone(), deps));
                let (line, col) = a.at;
                let node = w.add_node(&node)?;
                placed[gi].push(GroupEntry {
                    address,
                    kind,
                    node,
                    line,
                    col,
                });
            }
        }
    }
    Ok(true)
}

/// What [`edit_groups`] changed: the number of resources, the secret
/// paths of the nodes it made (changed and added blocks) by address, the
/// addresses of those it dropped, and of the nodes with secret paths added
/// or dropped (a state's instances of them would change).
struct ConfigChange {
    resources: i64,
    made: HashMap<String, Vec<rewind_model::Path>>,
    dropped: HashSet<String>,
    with_secrets: HashSet<String>,
    /// The relinked nodes' addresses, each with what it depends on.
    relinked: Vec<(String, Vec<String>)>,
    /// The added nodes' addresses, each with what it depends on.
    added: Vec<(String, Vec<String>)>,
    /// The nodes ranked anew for the relinked nodes' edges, with their
    /// new ranks.
    reranked: Vec<(String, u32)>,
}

/// Can the changed files' blocks be placed in `edit`'s groups? Not when
/// a file that gains blocks has no group (a file no module instance loads
/// has none, before and after, but neither has a file that had no block:
/// what it gains could not be placed).
fn placeable(edit: &rewind_odb::ModelEdit, changed: &[Changed]) -> bool {
    !changed
        .iter()
        .any(|c| !c.edits.added.is_empty() && edit.group_id(&c.file.rel).is_none())
}

/// The addresses of the removed blocks' nodes in `wanted`.
fn removed_addresses(wanted: &[(usize, Want)]) -> HashSet<String> {
    wanted
        .iter()
        .filter_map(|(_, w)| match w {
            Want::Removed(e) => Some(e.address.clone()),
            _ => None,
        })
        .collect()
}

/// The entries of the nodes `wanted` asks for (in `placed`, the new
/// groups of the files of `with_group`), each with its group's key.
fn to_read<'a>(
    wanted: &'a [(usize, Want)],
    placed: &'a [Vec<GroupEntry>],
    with_group: &'a [(&Changed, ObjectId)],
) -> Vec<(&'a str, &'a GroupEntry)> {
    wanted
        .iter()
        .map(|(gi, want)| {
            let e = match want {
                Want::Changed(ei, ..) | Want::Added(ei, ..) => &placed[*gi][*ei],
                Want::Removed(e) => e,
            };
            (with_group[*gi].0.file.rel.as_str(), e)
        })
        .collect()
}

/// Places the entries of changed file `c`'s group (`gi`, of `entries`)
/// anew, and adds to `wanted` the old nodes to read (and to `resources`
/// the change in their number); `None` when an entry is not one of the
/// file's blocks, or an added block has no module instance or no other
/// block using its provider in one.
fn place<'c>(
    c: &'c Changed,
    gi: usize,
    entries: Vec<GroupEntry>,
    wanted: &mut Vec<(usize, Want<'c>)>,
    resources: &mut i64,
) -> Option<Vec<GroupEntry>> {
    let at: HashMap<(u32, u32), &BlockEdit> = c.edits.kept.iter().map(|e| (e.old_at, e)).collect();
    let removed: HashSet<(u32, u32)> = c.edits.removed.iter().map(|r| r.at).collect();
    let mut out = Vec::with_capacity(entries.len());
    // the module instances loading the file, by the prefix of their
    // addresses, each with its first entry of each provider key
    let mut instances: Vec<(String, HashMap<&str, usize>)> = Vec::new();
    for mut e in entries {
        if removed.contains(&(e.line, e.col)) {
            if e.kind == NodeKind::Resource {
                *resources -= 1;
            }
            wanted.push((gi, Want::Removed(e)));
            continue;
        }
        let b = at.get(&(e.line, e.col))?;
        (e.line, e.col) = b.new_at;
        let prefix = e.address.strip_suffix(b.local.as_str())?;
        let i = match instances.iter().position(|(p, _)| p == prefix) {
            Some(i) => i,
            None => {
                instances.push((prefix.to_string(), HashMap::new()));
                instances.len() - 1
            }
        };
        if let Some(k) = &b.provider_key {
            instances[i].1.entry(k.as_str()).or_insert(out.len());
        }
        if let Some(body) = &b.body {
            let relink = b.targets.as_deref().map(|t| (prefix.to_string(), t));
            wanted.push((gi, Want::Changed(out.len(), Arc::clone(body), relink)));
        }
        out.push(e);
    }
    if !c.edits.added.is_empty() && instances.is_empty() {
        return None;
    }
    for a in &c.edits.added {
        for (prefix, by_key) in &instances {
            let sibling = *by_key.get(a.provider_key.as_str())?;
            if a.kind == NodeKind::Resource {
                *resources += 1;
            }
            wanted.push((gi, Want::Added(sibling, prefix.clone(), a)));
        }
    }
    Some(out)
}

/// The addresses the added blocks of `wanted` name.
fn read_targets(wanted: &[(usize, Want)]) -> Vec<String> {
    wanted
        .iter()
        .filter_map(|(_, w)| match w {
            Want::Added(_, prefix, a) => Some((prefix, a)),
            _ => None,
        })
        .flat_map(|(prefix, a)| {
            a.targets
                .iter()
                .flatten()
                .map(move |(t, _)| format!("{prefix}{t}"))
        })
        .collect()
}

/// The addresses of the implicit providers (the nodes of no file: group
/// `""`); `None` when they cannot be read.
fn implicit_providers(store: &Store, edit: &rewind_odb::ModelEdit) -> Option<HashSet<String>> {
    let Some(id) = edit.group_id("") else {
        return Some(HashSet::new());
    };
    let mut groups = store.groups_entries(&[(id, "")]).ok()?;
    Some(
        groups
            .pop()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.address)
            .collect(),
    )
}

/// Can `node` (of a removed block) go without another node changing? An
/// implicit provider (of `implicit`) goes with the last node using it:
/// another node of the module, not removed too, must still use it.
fn removable(
    store: &Store,
    node: &rewind_model::Node,
    implicit: &HashSet<String>,
    module: &mut Module,
    removed: &HashSet<String>,
) -> bool {
    let uses_implicit = |n: &rewind_model::Node| {
        n.edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Provider && implicit.contains(&e.to))
            .map(|e| e.to.clone())
            .collect::<Vec<_>>()
    };
    let providers = uses_implicit(node);
    if providers.is_empty() {
        return true;
    }
    let all: Vec<String> = module.entries.keys().cloned().collect();
    if !module.read_nodes(store, all.iter().map(String::as_str)) {
        return false;
    }
    providers.iter().all(|to| {
        module.nodes.values().any(|other| {
            other.address != node.address
                && !removed.contains(&other.address)
                && other
                    .edges
                    .iter()
                    .any(|o| o.kind == EdgeKind::Provider && o.to == *to)
        })
    })
}

/// An old node to read, and why.
enum Want<'a> {
    /// The node of a block whose values changed (at its place in the new
    /// group), the new body and, when its references changed, its module
    /// instance's prefix and what they now name.
    Changed(
        usize,
        Arc<rewind_model::Value>,
        Option<(String, &'a [(String, EdgeKind)])>,
    ),
    /// The node of a removed block.
    Removed(GroupEntry),
    /// A node of the same module instance using the same provider as an
    /// added block (at its place in the new group), that instance's
    /// prefix, and the block.
    Added(usize, String, &'a AddedBlock),
}

/// The node of a block whose values changed: `node` with `body`; `None`
/// when that is not the node a whole load makes (see the module
/// documentation).
fn changed_node(
    mut node: rewind_model::Node,
    body: Arc<rewind_model::Value>,
) -> Option<rewind_model::Node> {
    if !matches!(
        node.kind,
        NodeKind::Resource
            | NodeKind::Data
            | NodeKind::Local
            | NodeKind::Output
            | NodeKind::Variable
    ) || node.facts.more.reads.is_some()
        || crate::reads::calls_file_functions(&node.body)
        || crate::reads::calls_file_functions(&body)
    {
        return None;
    }
    // what the node's names make secret must be what they made secret:
    // the rest of its secret paths (what it reads, what the state marks
    // for its type) are the same
    let old_names = secret_names(&node, Arc::clone(&node.body));
    if secret_names(&node, Arc::clone(&body)) != old_names {
        return None;
    }
    node.body = body;
    Some(node)
}

/// The node of a block whose references changed: `node` with `body`, its
/// edges to its module call and provider kept and the others going to
/// what `targets` name in the instance of address prefix `prefix`. `None`
/// when that cannot be known so: a target (before or after) that is not a
/// block of its module, or is the node itself; secrets read at other
/// paths than before (the node's secret paths would change); and what
/// [`changed_node`] refuses.
/// Whether the new edges close a cycle is checked after ([`ordered`]).
fn relinked_node(
    store: &Store,
    node: rewind_model::Node,
    body: Arc<rewind_model::Value>,
    (prefix, targets): (&str, &[(String, EdgeKind)]),
    module: &mut Module,
) -> Option<rewind_model::Node> {
    let kept = |k: EdgeKind| matches!(k, EdgeKind::Module | EdgeKind::Provider);
    let old: Vec<String> = node
        .edges
        .iter()
        .filter(|e| !kept(e.kind))
        .map(|e| e.to.clone())
        .collect();
    let new: Vec<(String, EdgeKind)> = targets
        .iter()
        .map(|(t, k)| (format!("{prefix}{t}"), *k))
        .collect();
    let both = || old.iter().chain(new.iter().map(|(t, _)| t));
    if both().any(|t| *t == node.address || !module.entries.contains_key(t))
        || !module.read_nodes(store, both().map(String::as_str))
    {
        return None;
    }
    // what it reads must make the same paths secret as what it read
    let of = |list: &mut dyn Iterator<Item = &String>| -> Option<Vec<&rewind_model::Node>> {
        list.map(|t| module.nodes.get(t)).collect()
    };
    let read = rewind_parse::secret_reads(&node, &of(&mut old.iter())?);
    let mut node = changed_node(node, body)?;
    if node.kind == NodeKind::Variable
        || rewind_parse::secret_reads(&node, &of(&mut new.iter().map(|(t, _)| t))?) != read
    {
        return None;
    }
    node.edges.retain(|e| kept(e.kind));
    for (t, k) in new {
        node.add_edge(t, k);
    }
    Some(node)
}

/// The nodes to rank anew so that the relinked nodes' edges (`relinked`:
/// each address with what it depends on) go down in the ranks of the last
/// model (`ranks.rs`), so that they close no cycle: none when they do
/// already (the usual case: only their own ranks are read); `None` when
/// an edge may close a cycle (or does), or the ranks are missing.
fn ordered(
    store: &Store,
    cache: &DirCache,
    module: &mut Module,
    relinked: &[(String, Vec<String>)],
) -> Option<Vec<(String, u32)>> {
    let last = cache.last.as_ref()?;
    let wanted: HashSet<&str> = relinked
        .iter()
        .flat_map(|(n, to)| std::iter::once(n).chain(to))
        .map(String::as_str)
        .collect();
    let ranks = cache.ranks(&last.model, &wanted)?;
    let down = relinked.iter().all(|(n, to)| {
        crate::ranks::descending(
            ranks.get(n).copied(),
            to.iter().map(|t| ranks.get(t).copied()),
        )
    });
    if down {
        return Some(Vec::new());
    }
    // some edge goes up: the nodes above it, of its module, ranked anew
    let mut all = cache.all_ranks(&last.model)?;
    let new_edges: HashMap<&str, &Vec<String>> =
        relinked.iter().map(|(n, to)| (n.as_str(), to)).collect();
    let mut edges_of = |addresses: &[String]| -> Option<Vec<Vec<String>>> {
        let stored: Vec<&str> = addresses
            .iter()
            .map(String::as_str)
            .filter(|a| !new_edges.contains_key(a))
            .collect();
        if stored.iter().any(|a| !module.entries.contains_key(*a))
            || !module.read_nodes(store, stored.into_iter())
        {
            return None;
        }
        addresses
            .iter()
            .map(|a| match new_edges.get(a.as_str()) {
                Some(to) => Some((*to).clone()),
                None => Some(
                    module
                        .nodes
                        .get(a)?
                        .edges
                        .iter()
                        .map(|e| e.to.clone())
                        .collect(),
                ),
            })
            .collect()
    };
    crate::ranks::reorder(&mut all, relinked, &mut edges_of)
}

/// The node a whole load makes of added block `a` in the module instance
/// of address prefix `prefix`: its edges to the module call and to its
/// provider are those of `sibling` (a node of the same instance using the
/// same provider), its references' edges go to the nodes they name. `None`
/// when that cannot be known so: a reference to a node that is not there,
/// or to the block itself; an address taken; a file function.
fn added_node(
    sibling: &rewind_model::Node,
    prefix: &str,
    a: &AddedBlock,
    module: &Module,
    type_paths: Option<&TypePaths>,
) -> Option<rewind_model::Node> {
    let address = format!("{prefix}{}", a.local);
    if module.entries.contains_key(&address) || crate::reads::calls_file_functions(&a.body) {
        return None;
    }
    let mut n = rewind_model::Node::new(a.kind, address);
    n.module = prefix.trim_end_matches('.').to_string();
    n.type_ = a.type_.clone();
    n.name = a.name.clone();
    n.body = Arc::clone(&a.body);
    n.facts = a.facts.clone();
    rewind_parse::mark_secret_names(&mut n);
    // what the state marks secret for its type
    let key = rewind_parse::type_key(&n).map(|(d, t)| (d, t.to_string()));
    if let Some(paths) = key.and_then(|k| type_paths?.get(&k)) {
        rewind_parse::add_secret_paths(&mut n, paths.iter().cloned());
    }
    for e in &sibling.edges {
        if matches!(e.kind, EdgeKind::Module | EdgeKind::Provider) {
            n.add_edge(e.to.clone(), e.kind);
        }
    }
    let mut read = Vec::new();
    for (target, kind) in a.targets.as_ref()? {
        let to = format!("{prefix}{target}");
        if !module.entries.contains_key(&to) {
            return None;
        }
        read.push(module.nodes.get(&to)?);
        n.add_edge(to, *kind);
    }
    // what it reads makes secret (nothing reads it back: it is new)
    let secret = rewind_parse::secret_reads(&n, &read);
    rewind_parse::add_secret_paths(&mut n, secret);
    Some(n)
}

/// The module directories where blocks were added or removed: their
/// files' group entries by address (every instance loading them), and
/// the nodes read of them.
#[derive(Default)]
struct Module {
    entries: HashMap<String, (String, GroupEntry)>,
    nodes: HashMap<String, rewind_model::Node>,
}

impl Module {
    /// Reads the nodes of every module directory where a block was added,
    /// removed or relinked; false when a removed block may be referred to by a
    /// block of its directory (or a file of it cannot be read).
    fn read(
        &mut self,
        store: &Store,
        abs: &Path,
        edit: &rewind_odb::ModelEdit,
        cache: &DirCache,
        changed: &[Changed],
    ) -> Result<bool> {
        let by_rel: HashMap<&str, &Changed> =
            changed.iter().map(|c| (c.file.rel.as_str(), c)).collect();
        // each directory where blocks were added or removed, with the
        // blocks removed from it
        let mut dirs: HashMap<&Path, Vec<&rewind_parse::RemovedBlock>> = HashMap::new();
        for c in changed.iter().filter(|c| c.structural() || c.relinked()) {
            if let Some(dir) = c.file.abs.parent() {
                dirs.entry(dir).or_default().extend(&c.edits.removed);
            }
        }
        let mut keys: Vec<(ObjectId, String)> = Vec::new();
        for (path, stat) in &cache.stats {
            let Some(removed) = path.parent().and_then(|d| dirs.get(d)) else {
                continue;
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let Some(kind) = FileKind::of(&name).filter(|k| k.is_config()) else {
                continue;
            };
            if !path.starts_with(abs) {
                return declined(28, false);
            }
            let rel = rewind_parse::load::tree_path(abs, path);
            if !removed.is_empty() {
                let parsed: Arc<Parsed> = match by_rel.get(rel.as_str()) {
                    Some(c) => Arc::clone(&c.parsed),
                    None => match cache.parsed(&stat.hash, kind) {
                        Some(p) => p,
                        None => return declined(37, false),
                    },
                };
                if removed
                    .iter()
                    .any(|r| rewind_parse::may_refer_to(&parsed, r.kind, &r.type_, &r.name))
                {
                    return declined(29, false);
                }
            }
            if let Some(id) = edit.group_id(&rel) {
                keys.push((id, rel));
            }
        }
        let keyed: Vec<(ObjectId, &str)> = keys.iter().map(|(id, k)| (*id, k.as_str())).collect();
        let Ok(groups) = store.groups_entries(&keyed) else {
            return declined(30, false);
        };
        for ((_, key), group) in keyed.iter().zip(groups) {
            for e in group {
                self.entries.insert(e.address.clone(), (key.to_string(), e));
            }
        }
        Ok(true)
    }

    /// Reads the nodes of `addresses` (those the module has); false when
    /// they cannot be read.
    fn read_nodes<'a>(&mut self, store: &Store, addresses: impl Iterator<Item = &'a str>) -> bool {
        let wanted: Vec<(&str, &GroupEntry)> = addresses
            .filter(|a| !self.nodes.contains_key(*a))
            .filter_map(|a| self.entries.get(a))
            .map(|(k, e)| (k.as_str(), e))
            .collect();
        let Ok(nodes) = store.entries_nodes(&wanted) else {
            return false;
        };
        self.nodes
            .extend(nodes.into_iter().map(|n| (n.address.clone(), n)));
        true
    }
}

/// The secret paths the names of `body` give a node like `node` (a
/// resource or data block: nothing else marks it before).
fn secret_names(
    node: &rewind_model::Node,
    body: Arc<rewind_model::Value>,
) -> Vec<rewind_model::Path> {
    let mut n = rewind_model::Node::new(node.kind, node.address.clone());
    n.type_ = node.type_.clone();
    n.name = node.name.clone();
    n.body = body;
    rewind_parse::mark_secret_names(&mut n);
    n.sensitive
}

/// The last snapshot's tree with the changed files' new contents (added
/// to the store, unless another writer adds them: `true`); `None` when
/// the tree does not list one of them.
fn edit_tree(
    store: &Store,
    w: &mut ObjectWriter<'_>,
    last: &LastSnapshot,
    changed: &[(&ChangedFile, bool)],
) -> Result<Option<ObjectId>> {
    let Ok(mut files) = store.tree_files(&last.tree) else {
        return declined(19, None);
    };
    let index: HashMap<String, usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| !f.link)
        .map(|(i, f)| (f.path.clone(), i))
        .collect();
    for &(f, elsewhere) in changed {
        let Some(&i) = index.get(f.rel.as_str()) else {
            return declined(38, None);
        };
        let id = store.object_id_of_hash(f.hash);
        if !elsewhere && w.needs(&id)? {
            w.add(id, ObjType::Blob, &f.bytes)?;
        }
        files[i].id = id;
        files[i].size = f.bytes.len() as u64;
    }
    Ok(Some(w.add_tree(&files)?))
}

/// Records the new stats, parse results and snapshot in `cache`: the
/// parse results of the changed files' new contents are appended to the
/// parse log, and their old ones no longer count as in use.
fn update_cache(
    cache: &mut DirCache,
    last: &LastSnapshot,
    (tree, model, counts): (ObjectId, ObjectId, Counts),
    dirs: Vec<(PathBuf, i64)>,
    refreshed: Vec<(PathBuf, Stat)>,
    changed: Vec<Changed>,
    state: Option<StateEdited>,
) {
    let tf = FileKind::Tf.code();
    let replaced: HashSet<Key> = changed.iter().map(|c| (c.file.old, tf)).collect();
    for (path, stat) in refreshed {
        cache.stats.insert(path, stat);
    }
    if let Some(e) = state {
        cache.save_state_index(Some((&e.file.hash, &e.index)));
        cache.stats.insert(e.file.abs.clone(), e.file.recorded());
    }
    for c in &changed {
        cache.stats.insert(c.file.abs.clone(), c.file.recorded());
    }
    // freeing the files' contents and parse results takes as long as
    // reading parts of them: another thread does it while the refs move
    std::thread::spawn(move || drop(changed));
    let current: HashSet<Key> = cache.stats.values().map(|s| (s.hash, tf)).collect();
    cache.update_parse_results_replacing(&replaced, &current);
    cache.save_parse_results();
    cache.release_parse_log();
    cache.dirs = dirs;
    cache.last = Some(LastSnapshot {
        tree,
        model,
        counts,
        ..last.clone()
    });
}

/// `what` (no incremental snapshot), said on stderr with the reason's
/// number when `REWIND_TRACE` is set (for profiling). Each number is used
/// at one place of this file: search for `declined(N,`.
fn declined<T>(reason: u32, what: T) -> Result<T> {
    if std::env::var_os("REWIND_TRACE").is_some() {
        eprintln!("trace: incremental snapshot declined ({reason})");
    }
    Ok(what)
}
