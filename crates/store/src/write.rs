//! Taking a snapshot: load the directory, store what is new, record it and
//! move the refs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rewind_model::{Hash, Model, Node};
use rewind_parse::{Loaded, Parsed};

use crate::backend::{Cond, Put};
use crate::cache::{DirCache, LastSnapshot, Stat};
use crate::error::{Result, StoreError};
use crate::objects::{
    EntryKind, GitInfo, Group, GroupEntry, ModelObj, SnapshotRecord, Tree, TreeEntry,
    STATE_GROUP_PREFIX,
};
use crate::pack::{ObjType, PackWriter};
use crate::refs::check_name;
use crate::store::{Store, PACK_SPLIT};

/// What to record with a snapshot.
#[derive(Clone, Debug, Default)]
pub struct SnapshotOptions {
    pub env: String,
    pub tags: Vec<String>,
    pub force_tag: bool,
    pub message: String,
    pub labels: BTreeMap<String, String>,
}

/// What a snapshot did.
#[derive(Debug)]
pub struct SnapshotOutcome {
    pub id: Hash,
    pub record: SnapshotRecord,
    pub new_objects: usize,
    pub new_bytes: u64,
    /// True when the directory was unchanged and nothing was re-read.
    pub unchanged: bool,
    pub diagnostics: Vec<rewind_model::Diagnostic>,
}

/// Either the snapshot failed to load (bad input), or the store failed.
#[derive(Debug)]
pub enum SnapshotError {
    Load(rewind_parse::LoadError),
    Store(StoreError),
}

impl From<StoreError> for SnapshotError {
    fn from(e: StoreError) -> Self {
        SnapshotError::Store(e)
    }
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::Load(e) => e.fmt(f),
            SnapshotError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SnapshotError {}

/// Objects waiting to be written, split into packs as they grow.
struct Batch<'s> {
    store: &'s Store,
    writer: PackWriter,
    seen: std::collections::HashSet<Hash>,
    objects: usize,
    bytes: u64,
}

impl<'s> Batch<'s> {
    fn new(store: &'s Store) -> Batch<'s> {
        Batch {
            store,
            writer: PackWriter::new(),
            seen: Default::default(),
            objects: 0,
            bytes: 0,
        }
    }

    /// Adds an object unless the store or this batch has it already.
    fn add(&mut self, id: Hash, ty: ObjType, bytes: &[u8]) -> Result<()> {
        if self.seen.contains(&id) || self.store.has(&id)? {
            return Ok(());
        }
        if bytes.len() >= crate::pack::MAX_OBJECT {
            return Err(StoreError::Conflict(format!(
                "an object of {} bytes ({} {id}) is larger than a pack block can hold ({} bytes)",
                bytes.len(),
                ty.name(),
                crate::pack::MAX_OBJECT
            )));
        }
        self.seen.insert(id);
        self.writer.add(id, ty, bytes);
        self.objects += 1;
        self.bytes += bytes.len() as u64;
        if self.writer.len() > PACK_SPLIT {
            let w = std::mem::take(&mut self.writer);
            self.store.write_pack(w)?;
        }
        Ok(())
    }

    fn needs(&self, id: &Hash) -> Result<bool> {
        Ok(!self.seen.contains(id) && !self.store.has(id)?)
    }

    fn finish(self) -> Result<(usize, u64)> {
        self.store.write_pack(self.writer)?;
        Ok((self.objects, self.bytes))
    }
}

fn split_path(path: &str) -> (String, String) {
    match path.rfind('/') {
        Some(i) => (path[..i].to_string(), path[i + 1..].to_string()),
        None => (String::new(), path.to_string()),
    }
}

/// Builds the directory trees of `files` (paths relative to the base) and
/// returns the root tree id.
fn build_trees(files: &[(String, EntryKind, u64, Hash)], batch: &mut Batch) -> Result<Hash> {
    let mut dirs: BTreeMap<String, Vec<TreeEntry>> = BTreeMap::new();
    dirs.insert(String::new(), Vec::new());
    for (path, kind, size, id) in files {
        let (dir, name) = split_path(path);
        let mut d = dir.clone();
        while !d.is_empty() {
            dirs.entry(d.clone()).or_default();
            d = split_path(&d).0;
        }
        dirs.entry(dir).or_default().push(TreeEntry {
            name,
            kind: *kind,
            size: *size,
            id: *id,
        });
    }
    // Deepest first: a directory is finished before its parent.
    let depth = |d: &String| {
        if d.is_empty() {
            0
        } else {
            d.matches('/').count() + 1
        }
    };
    let mut order: Vec<String> = dirs.keys().cloned().collect();
    order.sort_by_key(|d| std::cmp::Reverse(depth(d)));
    let mut root = Hash::default();
    for d in order {
        let mut entries = dirs.remove(&d).unwrap_or_default();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let bytes = Tree { entries }.encode();
        let id = Hash::of(&bytes);
        batch.add(id, ObjType::Tree, &bytes)?;
        if d.is_empty() {
            root = id;
        } else {
            let (parent, name) = split_path(&d);
            dirs.entry(parent).or_default().push(TreeEntry {
                name,
                kind: EntryKind::Dir,
                size: 0,
                id,
            });
        }
    }
    Ok(root)
}

/// Stores a model's nodes, groups and model object; returns the model id.
fn store_model(model: &Model, root: &str, batch: &mut Batch) -> Result<Hash> {
    let mut groups: BTreeMap<String, Vec<GroupEntry>> = BTreeMap::new();
    // Encoding and hashing every node is most of the work: it runs on every
    // core, a slice at a time; adding to the pack stays in order.
    let all: Vec<(&Node, bool)> = model
        .nodes
        .iter()
        .map(|n| (n, false))
        .chain(model.instances.iter().map(|n| (n, true)))
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for slice in all.chunks(8192) {
        let encode = |part: &[(&Node, bool)]| -> Vec<(Vec<u8>, Hash)> {
            part.iter()
                .map(|(n, _)| {
                    let bytes = n.encode();
                    let id = Hash::of(&bytes);
                    (bytes, id)
                })
                .collect()
        };
        let encoded: Vec<(Vec<u8>, Hash)> = if threads > 1 && slice.len() > 256 {
            let size = slice.len().div_ceil(threads);
            std::thread::scope(|s| {
                let jobs: Vec<_> = slice
                    .chunks(size)
                    .map(|part| s.spawn(move || encode(part)))
                    .collect();
                jobs.into_iter()
                    .flat_map(|j| j.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            })
        } else {
            encode(slice)
        };
        for ((n, instance), (bytes, id)) in slice.iter().zip(encoded) {
            batch.add(id, ObjType::Node, &bytes)?;
            let key = if *instance {
                format!("{STATE_GROUP_PREFIX}{}", n.module)
            } else {
                n.loc.file.clone()
            };
            groups.entry(key).or_default().push(GroupEntry {
                address: n.address.clone(),
                kind: n.kind,
                node: id,
                line: n.loc.line,
                col: n.loc.col,
            });
        }
    }
    let mut obj = ModelObj {
        root: root.to_string(),
        state: model.state.clone(),
        groups: BTreeMap::new(),
        diagnostics: model.diagnostics.clone(),
    };
    for (key, mut entries) in groups {
        entries.sort_by(|a, b| a.address.cmp(&b.address));
        let g = Group { entries };
        let bytes = g.encode();
        let id = Hash::of(&bytes);
        batch.add(id, ObjType::Group, &bytes)?;
        obj.groups.insert(key, (id, g.entries.len() as u32));
    }
    let bytes = obj.encode();
    let id = Hash::of(&bytes);
    batch.add(id, ObjType::Model, &bytes)?;
    Ok(id)
}

/// The git commit of `dir`, if it is inside a git work tree.
pub fn git_info(dir: &Path) -> Option<GitInfo> {
    // Spawning git costs milliseconds: only when a repository can be there.
    let in_repo =
        std::env::var_os("GIT_DIR").is_some() || dir.ancestors().any(|d| d.join(".git").exists());
    if !in_repo {
        return None;
    }
    let run = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // One process gives everything: the `# branch.oid` header is HEAD's
    // commit (`(initial)` before the first one), `!` lines are ignored
    // paths, every other line is a change.
    let status = run(&[
        "status",
        "--porcelain=v2",
        "--branch",
        "--untracked-files=normal",
        "--ignored=matching",
        "--",
        ".",
    ])?;
    git_info_of(&status)
}

/// What `git status --porcelain=v2 --branch --ignored=matching -- .`, run
/// in the directory, says of it.
fn git_info_of(status: &str) -> Option<GitInfo> {
    let commit = status
        .lines()
        .find_map(|l| l.strip_prefix("# branch.oid "))
        .filter(|c| c.bytes().all(|b| b.is_ascii_hexdigit()) && !c.is_empty())?
        .to_string();
    // The directory itself, or a folder above it, is ignored: its files are
    // not versioned, so HEAD's commit says nothing about them.
    let ignored_tree = status.lines().any(|l| {
        l.strip_prefix("! ").is_some_and(|p| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .all(|s| s == ".." || s == ".")
        })
    });
    if ignored_tree {
        return None;
    }
    Some(GitInfo {
        commit,
        // ignored files inside (a local state file, .terraform/) are not
        // changes
        dirty: status
            .lines()
            .any(|l| !l.starts_with('#') && !l.starts_with('!')),
    })
}

#[cfg(test)]
mod git_tests {
    use super::git_info_of;

    const HEAD: &str =
        "# branch.oid 22c4ad5f1b6e4d0ac3d3eacb7d2b62d4ca609621\n# branch.head main\n";

    #[test]
    fn git_status_lines() {
        let clean = git_info_of(HEAD).unwrap();
        assert_eq!(clean.commit, "22c4ad5f1b6e4d0ac3d3eacb7d2b62d4ca609621");
        assert!(!clean.dirty);
        let ignored_inside =
            git_info_of(&format!("{HEAD}! terraform.tfstate\n! .terraform/\n")).unwrap();
        assert!(!ignored_inside.dirty);
        let edited = git_info_of(&format!(
            "{HEAD}1 .M N... 100644 100644 100644 3f2a 3f2a main.tf\n! .terraform/\n"
        ))
        .unwrap();
        assert!(edited.dirty);
        assert!(git_info_of(&format!("{HEAD}? notes.txt\n")).unwrap().dirty);
        assert!(git_info_of(&format!("{HEAD}! ../../\n")).is_none());
        assert!(git_info_of(&format!("{HEAD}! ./\n")).is_none());
        assert!(git_info_of("# branch.oid (initial)\n# branch.head main\n").is_none());
    }
}

fn entry_kind(executable: bool) -> EntryKind {
    if executable {
        EntryKind::Executable
    } else {
        EntryKind::File
    }
}

impl Store {
    /// Snapshots `dir`.
    pub fn snapshot(
        &self,
        dir: &Path,
        opts: &SnapshotOptions,
    ) -> std::result::Result<SnapshotOutcome, SnapshotError> {
        let env = if opts.env.is_empty() {
            "default".to_string()
        } else {
            opts.env.clone()
        };
        check_name("environment", &env)?;
        for t in &opts.tags {
            check_name("tag", t)?;
        }
        // Refuse a taken tag before doing any work.
        let (refs, _) = self.refs()?;
        for t in &opts.tags {
            if let (Some(old), false) = (refs.tags.get(t), opts.force_tag) {
                return Err(StoreError::Conflict(format!(
                    "tag {t:?} already names snapshot {}; tags never move unless --force",
                    old.short(12)
                ))
                .into());
            }
        }
        let _lock = self.shared_lock()?;
        let trace = rewind_parse::load::Trace::new();
        let cwd = std::env::current_dir().unwrap_or_default();
        let abs = rewind_parse::load::normalize(&cwd.join(dir));
        let cache_path = self.cache_dir().map(|c| DirCache::file_for(c, &abs));
        let mut cache = cache_path.map(DirCache::load).unwrap_or_default();
        trace.mark("cache");
        // git runs while the directory is checked or loaded (it reads,
        // we read: neither waits for the other)
        let git_job = {
            let abs = abs.clone();
            std::thread::spawn(move || git_info(&abs))
        };

        let (tree, model, counts, new_objects, new_bytes, unchanged, diagnostics, root) =
            if let Some(last) =
                self.unchanged(&abs, &cache, refs.envs.get(&env).and_then(|e| e.latest))?
            {
                (
                    last.tree,
                    last.model,
                    (last.files, last.resources, last.instances),
                    0,
                    0,
                    true,
                    Vec::new(),
                    last.root,
                )
            } else {
                let mut loaded = rewind_parse::load(
                    &abs,
                    &rewind_parse::Options {
                        cache: Some(&cache),
                        keep_bytes: true,
                        ..Default::default()
                    },
                )
                .map_err(SnapshotError::Load)?;
                trace.mark("load");
                // Three jobs at once: the file contents go into packs of
                // their own, the parse cache is encoded and written, and
                // the model's nodes go into the main batch.
                let (tree, model, objs, bytes) = std::thread::scope(|s| -> Result<_> {
                    let parse_cache = s.spawn(|| {
                        let t = rewind_parse::load::Trace::new();
                        update_parse_results(&mut cache, &loaded);
                        cache.save_parse_results();
                        t.mark("(thread) parse cache");
                    });
                    let blobs = s.spawn(|| {
                        let t = rewind_parse::load::Trace::new();
                        let r = store_blobs(self, &loaded);
                        t.mark("(thread) blobs");
                        r
                    });
                    let mut batch = Batch::new(self);
                    let t = rewind_parse::load::Trace::new();
                    let model = store_model(&loaded.model, &loaded.root, &mut batch);
                    t.mark("(thread) model");
                    let blobs = blobs
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    let model = model?;
                    let (entries, blob_objs, blob_bytes) = blobs?;
                    let tree = build_trees(&entries, &mut batch)?;
                    let (objs, bytes) = batch.finish()?;
                    parse_cache
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p));
                    Ok((tree, model, objs + blob_objs, bytes + blob_bytes))
                })?;
                trace.mark("blobs, trees, model, packs and parse cache");
                let counts = (
                    loaded.files.len() as u64,
                    loaded
                        .model
                        .resources()
                        .filter(|n| n.kind == rewind_model::NodeKind::Resource)
                        .count() as u64,
                    loaded
                        .model
                        .instances
                        .iter()
                        .filter(|n| !n.address.starts_with("output."))
                        .count() as u64,
                );
                update_stats(&mut cache, &loaded, tree, model, counts);
                trace.mark("cache update");
                let diagnostics = std::mem::take(&mut loaded.model.diagnostics);
                let root = std::mem::take(&mut loaded.root);
                // Freeing a large model takes as long as building parts of
                // it: let another thread do it while the refs move.
                std::thread::spawn(move || drop(loaded));
                (tree, model, counts, objs, bytes, false, diagnostics, root)
            };

        let git = git_job
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        trace.mark("git");
        // Record and move the refs; on a lost race, re-read the parent.
        let time = crate::time::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (refs, version) = self.refs()?;
            for t in &opts.tags {
                if let (Some(old), false) = (refs.tags.get(t), opts.force_tag) {
                    return Err(StoreError::Conflict(format!(
                        "tag {t:?} already names snapshot {}; tags never move unless --force",
                        old.short(12)
                    ))
                    .into());
                }
            }
            let parent = refs.envs.get(&env).and_then(|e| e.latest);
            let record = SnapshotRecord {
                format: 1,
                tree,
                model,
                parent,
                time: time.clone(),
                message: opts.message.clone(),
                env: env.clone(),
                labels: opts.labels.clone(),
                source: abs.display().to_string(),
                root: root.clone(),
                program_version: env!("CARGO_PKG_VERSION").to_string(),
                git: git.clone(),
                files: counts.0,
                resources: counts.1,
                instances: counts.2,
            };
            let id = self.put_snapshot(&record)?;
            let mut refs = refs;
            let old_latest = parent;
            refs.envs.entry(env.clone()).or_default().latest = Some(id);
            let reason = if opts.message.is_empty() {
                "snapshot".to_string()
            } else {
                format!("snapshot: {}", opts.message)
            };
            refs.record(
                &time,
                format!("envs/{env}/latest"),
                old_latest,
                Some(id),
                &reason,
            );
            for t in &opts.tags {
                let old = refs.tags.insert(t.clone(), id);
                refs.record(&time, format!("tags/{t}"), old, Some(id), &reason);
            }
            let cond = match version {
                Some(v) => Cond::Match(v),
                None => Cond::Absent,
            };
            match self.put_refs(&mut refs, cond)? {
                Put::Done => {
                    trace.mark("record and refs");
                    if !unchanged {
                        cache.save();
                    }
                    trace.mark("cache save");
                    return Ok(SnapshotOutcome {
                        id,
                        record,
                        new_objects,
                        new_bytes,
                        unchanged,
                        diagnostics,
                    });
                }
                Put::Conflict if attempt < 50 => {
                    std::thread::sleep(std::time::Duration::from_millis(2 + (attempt as u64 * 3)));
                }
                Put::Conflict => {
                    return Err(StoreError::Conflict(format!(
                        "could not update the refs of {} after {attempt} attempts",
                        self.describe()
                    ))
                    .into())
                }
            }
        }
    }

    /// When nothing under `dir` changed since the cached snapshot (same
    /// files, sizes, times and modes), that snapshot's tree and model.
    fn unchanged(
        &self,
        abs: &Path,
        cache: &DirCache,
        latest: Option<Hash>,
    ) -> Result<Option<LastSnapshot>> {
        let Some(last) = &cache.last else {
            return Ok(None);
        };
        if !last.root.is_empty() || last.base != abs.display().to_string() {
            return Ok(None);
        }
        // Nothing was added, removed or renamed when no directory's time
        // changed (as git's untracked cache reasons): the recorded files
        // are then the whole list, and only they need a stat.
        if cache.dirs.is_empty() || !cache.dirs.iter().any(|(d, _)| d == abs) {
            return Ok(None);
        }
        let mtime_of = |md: &std::fs::Metadata| {
            md.modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as i64)
                .unwrap_or(0)
        };
        let mut racy = false;
        for (d, recorded) in &cache.dirs {
            let Ok(md) = std::fs::symlink_metadata(d) else {
                return Ok(None);
            };
            let mtime = mtime_of(&md);
            if !md.is_dir() || mtime != *recorded {
                return Ok(None);
            }
            racy |= !cache.dir_unchanged(*recorded, mtime);
        }
        // A directory changed within a clock tick of the cache's writing
        // could hide an addition: list the files again then.
        if racy {
            let Ok(found) = rewind_parse::discover(abs) else {
                return Ok(None);
            };
            if found.len() != cache.stats.len()
                || found.iter().any(|(p, _)| !cache.stats.contains_key(p))
            {
                return Ok(None);
            }
        }
        let items: Vec<&PathBuf> = cache.stats.keys().collect();
        // One stat per file, on every core (as git's preloaded index does).
        let check = |chunk: &[&PathBuf]| -> bool {
            chunk.iter().all(|path| {
                let Ok(md) = std::fs::metadata(path) else {
                    return false;
                };
                let mtime = mtime_of(&md);
                if cache.unchanged_hash(path, md.len(), mtime).is_none() {
                    return false;
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let executable = cache
                        .stats
                        .get(path.as_path())
                        .is_some_and(|s| s.executable);
                    if executable != (md.permissions().mode() & 0o111 != 0) {
                        return false;
                    }
                }
                true
            })
        };
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let all_same = if threads > 1 && items.len() >= 512 {
            let size = items.len().div_ceil(threads);
            std::thread::scope(|s| {
                let jobs: Vec<_> = items
                    .chunks(size)
                    .map(|c| s.spawn(move || check(c)))
                    .collect();
                jobs.into_iter().all(|j| j.join().unwrap_or(false))
            })
        } else {
            check(&items)
        };
        if !all_same {
            return Ok(None);
        }
        // The objects must still be in the store. When the environment's
        // latest snapshot names the same tree and model, they are (a ref
        // reaches them, so gc keeps them), and the pack indexes need not be
        // read at all.
        let reachable = latest
            .and_then(|id| self.record(&id).ok())
            .is_some_and(|r| r.tree == last.tree && r.model == last.model);
        if !reachable && (!self.has(&last.tree)? || !self.has(&last.model)?) {
            return Ok(None);
        }
        Ok(Some(last.clone()))
    }

    /// One conditional write of the refs (spilling old log entries first).
    pub(crate) fn put_refs(&self, refs: &mut crate::refs::Refs, cond: Cond) -> Result<Put> {
        if refs.log.len() > crate::refs::LOG_INLINE_MAX {
            let old: Vec<_> = refs.log.drain(..crate::refs::LOG_CHUNK).collect();
            let bytes = serde_json::to_vec(&old).unwrap_or_default();
            let id = Hash::of(&bytes);
            if !self.has(&id)? {
                let mut w = PackWriter::new();
                w.add(id, ObjType::LogChunk, &bytes);
                self.write_pack(w)?;
            }
            refs.log_chunks.push(id);
        }
        self.backend().put("refs", &refs.encode(), cond)
    }
}

/// Stores the contents of the snapshot's files not yet in the store, in
/// packs of their own; returns the tree entries, objects and bytes written.
#[allow(clippy::type_complexity)]
fn store_blobs(
    store: &Store,
    loaded: &Loaded,
) -> Result<(Vec<(String, EntryKind, u64, Hash)>, usize, u64)> {
    let mut batch = Batch::new(store);
    let mut entries = Vec::with_capacity(loaded.files.len());
    for f in &loaded.files {
        if batch.needs(&f.hash)? {
            let read;
            let bytes: &[u8] = match &f.bytes {
                Some(b) => b,
                None => {
                    read = std::fs::read(&f.abs).map_err(crate::error::io(&f.abs))?;
                    if Hash::of(&read) != f.hash {
                        return Err(StoreError::Conflict(format!(
                            "{} changed while it was being snapshotted; try again",
                            f.abs.display()
                        )));
                    }
                    &read
                }
            };
            batch.add(f.hash, ObjType::Blob, bytes)?;
        }
        entries.push((f.path.clone(), entry_kind(f.executable), f.size, f.hash));
    }
    let (objs, bytes) = batch.finish()?;
    Ok((entries, objs, bytes))
}

/// Replaces the cached parse results with those of this snapshot's files
/// (entries of files no longer present are dropped).
fn update_parse_results(cache: &mut DirCache, loaded: &Loaded) {
    let mut old = cache.take_parse_results();
    let mut parsed = HashMap::new();
    let mut changed = false;
    for (f, p) in loaded.files.iter().zip(&loaded.parsed) {
        // state files change with every apply: parsing them again is as
        // cheap as decoding a cache entry
        if matches!(**p, Parsed::Raw | Parsed::State(..)) {
            continue;
        }
        let key = (f.hash, f.kind.code());
        if parsed.contains_key(&key) {
            continue;
        }
        let bytes = match old.remove(&key) {
            Some(b) if !f.fresh => b,
            _ => {
                changed = true;
                p.encode()
            }
        };
        parsed.insert(key, bytes);
    }
    changed |= !old.is_empty();
    if changed {
        cache.set_parse_results(parsed);
    }
}

/// Records the files' sizes and times and the snapshot in the cache.
fn update_stats(
    cache: &mut DirCache,
    loaded: &Loaded,
    tree: Hash,
    model: Hash,
    counts: (u64, u64, u64),
) {
    let mut stats = HashMap::new();
    for f in &loaded.files {
        stats.insert(
            PathBuf::from(&f.abs),
            Stat {
                size: f.size,
                mtime_ns: f.mtime_ns,
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
        files: counts.0,
        resources: counts.1,
        instances: counts.2,
    });
}
