//! Loading a directory: discovery, parallel parsing, the module tree,
//! reference resolution and the dependency graph.
//!
//! This module reads the files on every core and builds the model
//! ([`load`], [`parse_dir`]); the steps live in its parts: `files`
//! (kinds, discovery, bounded reading), `modules` (the module tree and
//! each instance's nodes), `resolve` (references to edges), `variables`
//! (values given on the command line, in the environment and in
//! `.tfvars` files), `secrets` (values secret by name) and `trace`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rewind_model::{
    Diagnostic, EdgeKind, Graph, Hash, InputKind, Loc, Model, ModuleSource, Node, NodeKind,
    Severity, StateInfo, Value,
};

use crate::config::{file_config_for, tfvars_value, FileConfig, RawNode, RawRef};
use crate::hcl::{parse_body_bytes, quoted_text, LineIndex};
use crate::json::{json_config, json_literal, parse_json};
use crate::state::parse_state;

mod files;
mod modules;
mod resolve;
mod secrets;
mod trace;
mod variables;

pub use files::*;
pub use modules::MAX_BLOCKS;
pub use secrets::*;
pub use trace::Trace;

/// Hooks that let a store skip reading and parsing unchanged files.
pub trait Cache: Sync {
    /// The content hash of a file last seen with exactly this stat.
    fn known(&self, _abs: &Path, _stat: &FileStat) -> Option<Hash> {
        None
    }
    /// A parse result recorded earlier for this content.
    fn parsed(&self, _hash: &Hash, _kind: FileKind) -> Option<Arc<Parsed>> {
        None
    }
    /// Records what an incremental snapshot needs of state file `path`
    /// once parsed whole: each resource's hash, addresses and type paths
    /// (called once per state file, after its resources are parsed).
    fn keep_state_index(&self, _path: &str, _resources: Vec<crate::state::StateResource>) {}
    /// Records the parse result of a file this run parsed (called from
    /// every parsing thread, once per file parsed, before the load goes
    /// on): a cache may encode it now, or hold it and encode it later
    /// (a snapshot does so while the load assembles, on one core).
    fn keep_parsed(&self, _hash: &Hash, _kind: FileKind, _parsed: &Arc<Parsed>) {}
    /// The content of a file as it was read, hashed (`file.hash`) and
    /// parsed (called from every parsing thread, once per file read,
    /// before its bytes are freed): a snapshot stores exactly these bytes,
    /// without reading the file again.
    fn keep_bytes(&self, _file: &SourceFile, _bytes: &[u8]) {}
}

/// Options for [`load`].
#[derive(Default)]
pub struct Options<'a> {
    pub cache: Option<&'a dyn Cache>,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Report dependency cycles as errors (default true via `load`).
    pub allow_cycles: bool,
    /// Do not parse state files (for commands that only need the
    /// configuration, such as `graph`); they are still discovered.
    pub skip_state: bool,
    /// With `skip_state`: state files are opened (a file that cannot be
    /// read is still an error) but neither read nor hashed, and their
    /// [`SourceFile::hash`] is left zero (for `graph`, whose output uses
    /// neither; a large state was a tenth of its time).
    pub unread_state: bool,
    /// Parse state files without attribute values (what a plan needs of
    /// the current side).
    pub light_state: bool,
    /// Keep each file's bytes in [`SourceFile::bytes`] (a snapshot stores
    /// them); otherwise they are freed once parsed.
    pub keep_bytes: bool,
    /// A state given from elsewhere (`--state`), used instead of the
    /// directory's state files and kept in [`Loaded::files`] as
    /// [`EXTERNAL_STATE_FILE`](crate::inputs::EXTERNAL_STATE_FILE) of the
    /// root module's directory.
    pub state: Option<crate::inputs::ExternalState>,
    /// Values of root module variables given beside the directory, in
    /// command-line order (see [`crate::inputs`]).
    pub inputs: Vec<crate::inputs::InputSource>,
    /// A module cache (`--modules DIR`): a directory laid out as
    /// `.terraform/modules` (its `modules.json` and the modules it lists),
    /// read when the directory has no downloaded modules of its own.
    pub modules_dir: Option<PathBuf>,
    /// Free the parse results of configuration and variable files once
    /// the module tree is built (their [`Loaded::parsed`] entries are
    /// then [`Parsed::Raw`]), for a caller that does not read them: the
    /// rest of the load (references, sensitivity) runs without them.
    pub free_parsed: bool,
    /// A load for a caller that shows only the nodes and edges, neither
    /// values nor the nodes' hashes (`graph` drawn in DOT or Mermaid).
    /// Sensitivity is not spread over the model (it was a sixth of the
    /// time of such a graph), and, unless the parse results go to a
    /// [`Options::cache`] (they are another load's then), attributes
    /// named like secrets are not looked for (a twentieth) and the
    /// bodies of resources and data sources are not built (they are
    /// left empty, their references read all the same: a fifth of the
    /// instructions and half the heap of a graph of 10,000 resources).
    /// The nodes' secret paths are then only those `sensitive = true`
    /// marks.
    pub labels_only: bool,
    /// The most blocks the model may hold once modules are instantiated
    /// (0: [`MAX_BLOCKS`], a million): a configuration past it is refused.
    pub max_blocks: usize,
    /// The workspace given (`--workspace`, `TF_WORKSPACE`); `None`: the
    /// one `.terraform/environment` names, else `default`. It decides
    /// which state file is the directory's (a workspace other than
    /// `default` keeps its state in `terraform.tfstate.d/NAME/`).
    pub workspace: Option<String>,
}

impl Options<'_> {
    /// Whether files are parsed whole (values built, names like secrets
    /// marked): always, but for a [`Options::labels_only`] load that
    /// feeds no cache.
    fn whole_parse(&self) -> bool {
        !(self.labels_only && self.cache.is_none())
    }
}

/// A loaded directory.
#[derive(Debug)]
pub struct Loaded {
    /// The directory every file path is relative to: the loaded directory,
    /// or a parent of it when local modules live outside it.
    pub base: PathBuf,
    /// The root module's directory relative to `base` (`""` when the same).
    pub root: String,
    pub files: Vec<SourceFile>,
    /// Parse results, parallel to `files`.
    pub parsed: Vec<Arc<Parsed>>,
    pub model: Model,
    /// Every directory the walk read, with its modification time (ns),
    /// taken before its files were read: a file added, removed or renamed
    /// in one changes it.
    pub dirs: Vec<(PathBuf, i64)>,
    /// The ranks of `model.nodes` in a dependency order
    /// ([`rewind_model::Model::ranks`]), found by the cycle check; `None`
    /// when it did not run, or the graph has a cycle it only warns of.
    pub ranks: Option<Vec<u32>>,
    /// Files the configuration reads through functions that are there
    /// but could not be read (no permission): nothing about the
    /// directory's stats tells when they become readable, so a snapshot
    /// that met one is not taken as the directory's last (filled in by
    /// the engine, which follows the reads).
    pub unreadable: Vec<PathBuf>,
}

/// Why a directory could not be loaded: every problem found.
#[derive(Debug)]
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Variable values given in one way (the environment, or the command
/// line and its variable files): the values by name, and the source of
/// each by name (for messages).
type Given = (
    rewind_model::Map<String, Value>,
    rewind_model::Map<String, Value>,
);

fn error_at(
    file: &str,
    line: u32,
    col: u32,
    message: impl Into<String>,
    src: Option<&str>,
) -> Diagnostic {
    let source_line = src.and_then(|s| {
        if line == 0 {
            return None;
        }
        Some(crate::redact::redact_source_line(file, s, line))
    });
    let mut message = message.into();
    if crate::redact::is_secret_file(file) {
        message = crate::redact::redact_quoted_values(&message);
    }
    Diagnostic {
        severity: Severity::Error,
        loc: Loc {
            file: file.to_string(),
            line,
            col,
        },
        message,
        source_line,
    }
}

fn warning(loc: Loc, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        loc,
        message: message.into(),
        source_line: None,
    }
}

/// The number of worker threads `opts` asks for (0: one per core).
fn threads_for(opts: &Options) -> usize {
    if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    }
}

/// A file that could not be read or parsed.
struct Unloaded {
    path: PathBuf,
    kind: FileKind,
    /// The file, when it could be read (bytes kept as for any other file).
    file: Option<SourceFile>,
    diag: Diagnostic,
}

/// A file read and parsed, or why not (boxed: the failure is rare and large).
type FileLoad = Result<(SourceFile, Arc<Parsed>), Box<Unloaded>>;

/// Reads and parses files in parallel.
fn read_and_parse(
    items: &[(PathBuf, FileKind)],
    display: &(dyn Fn(&Path) -> String + Sync),
    opts: &Options,
) -> Vec<FileLoad> {
    let threads = threads_for(opts).min(items.len().max(1));
    // State files first: one is often the largest single piece of work,
    // and started last it would run alone on one core at the end.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| items[i].1 != FileKind::State);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<FileLoad>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        // equal expressions of the files this thread parses share one copy
        let _shared = rewind_model::value::ShareExprs::new();
        while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let (path, kind) = &items[i];
            let r = load_one(path, *kind, &display(path), opts).map_err(|failed| {
                let (file, diag) = *failed;
                Box::new(Unloaded {
                    path: path.clone(),
                    kind: *kind,
                    file,
                    diag,
                })
            });
            if let Ok(mut slot) = results[i].lock() {
                *slot = Some(r);
            }
        }
    };
    if threads <= 1 || items.len() < 4 {
        // still on a big stack: deeply nested input recurses deeply
        std::thread::scope(|s| {
            let _ = std::thread::Builder::new()
                .stack_size(crate::PARSE_STACK)
                .spawn_scoped(s, work)
                .map(|h| h.join());
        });
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                let _ = std::thread::Builder::new()
                    .stack_size(crate::PARSE_STACK)
                    .spawn_scoped(s, work);
            }
        });
    }
    results
        .into_iter()
        .zip(items)
        .map(|(m, (path, kind))| {
            m.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(Box::new(Unloaded {
                    path: path.clone(),
                    kind: *kind,
                    file: None,
                    diag: error_at(
                        &display(path),
                        0,
                        0,
                        "internal error: file not processed",
                        None,
                    ),
                }))
            })
        })
        .collect()
}

/// Why a file failed, with the file when it could be read.
type Failed = Box<(Option<SourceFile>, Diagnostic)>;

/// The failure of a file that could not be read.
fn unreadable(shown: &str, why: impl std::fmt::Display) -> Failed {
    Box::new((
        None,
        error_at(shown, 0, 0, format!("cannot read: {why}"), None),
    ))
}

/// Reads and parses one file; on failure, the file when it could be read.
fn load_one(
    path: &Path,
    kind: FileKind,
    shown: &str,
    opts: &Options,
) -> Result<(SourceFile, Arc<Parsed>), Failed> {
    let cache = opts.cache;
    // an override file is parsed again each time: what Terraform refuses
    // in one (crate::merge::refusal) is checked as it is parsed, and a
    // parse of the same bytes recorded under another name was not checked
    let parsed_cache = cache.filter(|_| !is_override_path(path, kind));
    let md = std::fs::metadata(path).map_err(|e| unreadable(shown, e))?;
    if !md.is_file() {
        return Err(unreadable(
            shown,
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    let stat = FileStat::of(&md);
    let size = md.len();
    let mut file = SourceFile {
        path: String::new(),
        abs: path.to_path_buf(),
        kind,
        size,
        mtime_ns: stat.mtime_ns,
        stat,
        executable: is_executable(&md),
        hash: Hash::default(),
        bytes: None,
        fresh: false,
        file_fns: true,
    };
    if let Some(cache) = parsed_cache {
        if let Some(hash) = cache.known(path, &stat) {
            if let Some(parsed) = cache.parsed(&hash, kind) {
                file.hash = hash;
                return Ok((file, parsed));
            }
        }
    }
    if kind == FileKind::State && opts.skip_state && opts.unread_state {
        return match open_regular(path) {
            Ok(_) => Ok((file, Arc::new(Parsed::Raw))),
            Err(e) => Err(unreadable(shown, e)),
        };
    }
    let bytes = read_at_most(path, size, kind).map_err(|e| unreadable(shown, e))?;
    file.hash = Hash::of(&bytes);
    file.size = bytes.len() as u64;
    file.file_fns = call_may_read_files(&bytes, kind);
    if let Some(cache) = cache {
        cache.keep_bytes(&file, &bytes);
    }
    if let Some(cache) = parsed_cache {
        if let Some(parsed) = cache.parsed(&file.hash, kind) {
            file.bytes = opts.keep_bytes.then_some(bytes);
            return Ok((file, parsed));
        }
    }
    let parsed = if kind == FileKind::State && opts.skip_state {
        Ok(Parsed::Raw)
    } else if kind == FileKind::State && opts.light_state {
        crate::state::parse_state_light(shown, &bytes)
            .map(|(info, nodes)| Parsed::State(info, nodes))
            .map_err(|e| {
                let src = std::str::from_utf8(&bytes).ok();
                error_at(shown, e.line, e.col, e.message, src)
            })
    } else {
        parse_bytes_cached(&bytes, kind, shown, cache, opts.whole_parse())
    };
    file.bytes = opts.keep_bytes.then_some(bytes);
    match parsed {
        Ok(parsed) => {
            file.fresh = true;
            let parsed = Arc::new(parsed);
            if let Some(cache) = cache {
                cache.keep_parsed(&file.hash, kind, &parsed);
            }
            Ok((file, parsed))
        }
        // not fresh: a parse cache never records a file that failed
        Err(d) => Err(Box::new((Some(file), d))),
    }
}

/// Whether `path` is an override file (`override.tf`, `*_override.tf`
/// and their JSON forms) of configuration kind `kind`.
fn is_override_path(path: &Path, kind: FileKind) -> bool {
    matches!(kind, FileKind::Tf | FileKind::TfJson)
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(crate::merge::is_override_file)
}

/// What override files do to a module: merged base blocks by (file,
/// node), and the override files' own blocks.
type Overrides = (HashMap<(usize, usize), RawNode>, HashSet<(usize, usize)>);

/// Where a file's node `ri` starts.
fn over_base_pos(parsed: &Parsed, ri: usize) -> (u32, u32) {
    match parsed {
        Parsed::Config(c) => (c.nodes[ri].line, c.nodes[ri].col),
        _ => (0, 0),
    }
}

/// `terraform.tfvars` (or its JSON form) as a link to a missing file:
/// Terraform checks for the file with a stat that follows links, and goes
/// on without it (a `*.auto.tfvars` link to nothing is its error).
fn is_missing_default_tfvars(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n == "terraform.tfvars" || n == "terraform.tfvars.json")
        && std::fs::symlink_metadata(path).is_ok()
        && std::fs::metadata(path).is_err()
}

/// A variable file Terraform loads by itself from the root directory
/// (`terraform.tfvars`, `*.auto.tfvars` and their JSON forms); any other
/// `.tfvars` file is read only when given with `-var-file`.
fn is_auto_loaded_tfvars(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
        n == "terraform.tfvars"
            || n == "terraform.tfvars.json"
            || n.ends_with(".auto.tfvars")
            || n.ends_with(".auto.tfvars.json")
    })
}

/// Parses one file's bytes according to its kind.
pub fn parse_bytes(bytes: &[u8], kind: FileKind, shown: &str) -> Result<Parsed, Diagnostic> {
    parse_bytes_cached(bytes, kind, shown, None, true)
}

/// [`parse_bytes`], with a cache (given a state's index: see
/// [`Cache::keep_state_index`]); configuration files parsed `whole` or not (see
/// [`crate::config::file_config_for`]).
fn parse_bytes_cached(
    bytes: &[u8],
    kind: FileKind,
    shown: &str,
    cache: Option<&dyn Cache>,
    whole: bool,
) -> Result<Parsed, Diagnostic> {
    let text = || -> Result<&str, Diagnostic> {
        std::str::from_utf8(bytes).map_err(|e| {
            let before = &bytes[..e.valid_up_to()];
            let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
            let col = before.iter().rev().take_while(|&&b| b != b'\n').count() as u32 + 1;
            error_at(shown, line, col, "the file is not valid UTF-8", None)
        })
    };
    let at = |src: &str, offset: u32, msg: String| {
        let idx = LineIndex::new(src);
        let (line, col) = idx.locate(offset);
        // the file's own bytes quoted, not the stand-ins parsed for bytes
        // that are not UTF-8
        error_at(shown, line, col, msg, Some(&quoted_text(bytes)))
    };
    Ok(match kind {
        FileKind::Tf | FileKind::TfJson => {
            let (src, body) = if kind == FileKind::Tf {
                // comments may hold bytes that are not UTF-8
                let (src, body) = parse_body_bytes(bytes);
                let body = body.map_err(|e| at(&src, e.offset, e.message))?;
                (src, body)
            } else {
                let src = text()?;
                let j = parse_json(src).map_err(|(o, m)| at(src, o, m))?;
                let body = json_config(&j, src).map_err(|(o, m)| at(src, o, m))?;
                (std::borrow::Cow::Borrowed(src), body)
            };
            let mut cfg = file_config_for(&body, &src, whole);
            if is_override_path(Path::new(shown), kind) {
                cfg.errors.extend(crate::merge::refusal(&body, &src));
                cfg.errors.sort_by_key(|(l, c, _)| (*l, *c));
            }
            if let Some((l, c, m)) = cfg.errors.first() {
                return Err(error_at(
                    shown,
                    *l,
                    *c,
                    m.clone(),
                    Some(&quoted_text(bytes)),
                ));
            }
            Parsed::Config(cfg)
        }
        FileKind::Tfvars => {
            let (src, body) = parse_body_bytes(bytes);
            let body = body.map_err(|e| at(&src, e.offset, e.message))?;
            Parsed::Tfvars(
                tfvars_value(&body, &src)
                    .map_err(|(l, c, m)| error_at(shown, l, c, m, Some(&quoted_text(bytes))))?,
            )
        }
        FileKind::TfvarsJson => {
            let src = text()?;
            let j = parse_json(src).map_err(|(o, m)| at(src, o, m))?;
            let crate::json::JV::Object(members) = &j.v else {
                return Err(at(
                    src,
                    j.pos,
                    "a .tfvars.json file must contain a JSON object".into(),
                ));
            };
            let mut map = rewind_model::Map::new();
            for (k, _, v) in members {
                map.insert(k.clone(), crate::hcl::to_value(&json_literal(v)));
            }
            Parsed::Tfvars(Value::Map(map))
        }
        FileKind::State => {
            let (info, nodes) =
                crate::state::parse_state_cached(shown, bytes, cache).map_err(|e| {
                    let src = std::str::from_utf8(bytes).ok();
                    error_at(shown, e.line, e.col, e.message, src)
                })?;
            Parsed::State(info, nodes)
        }
        FileKind::ModulesJson | FileKind::LockFile | FileKind::Template => Parsed::Raw,
    })
}

/// Loads `dir`: discovers, parses and resolves everything, and checks the
/// graph for cycles ([`parse_dir`], then [`ParsedDir::assemble`]).
pub fn load(dir: &Path, opts: &Options) -> Result<Loaded, LoadError> {
    parse_dir(dir, opts)?.assemble(opts)
}

/// A directory discovered, read and parsed (on every core), not yet
/// assembled into a model: [`load`]'s first step. A caller may hand its
/// parse results to another load (through a [`Cache`]) while this one
/// assembles, which runs on one core for the most part.
pub struct ParsedDir {
    /// The directory as the caller named it (what messages show).
    dir: PathBuf,
    root_abs: PathBuf,
    builder: Builder,
    undecided: Vec<Undecided>,
    dirs: Vec<(PathBuf, i64)>,
    trace: Trace,
}

/// Discovers, reads and parses `dir` with `opts`: the first step of
/// [`load`]; [`ParsedDir::assemble`] (with the same options) is the second.
pub fn parse_dir(dir: &Path, opts: &Options) -> Result<ParsedDir, LoadError> {
    let root_abs = root_directory(dir)?;
    let trace = Trace::new();
    let Discovered {
        files: items,
        dirs,
        skipped,
        ..
    } = discover_with_dirs(&root_abs).map_err(LoadError::one)?;
    let shown = |p: &Path| shown_path(dir, &root_abs, p);
    trace.mark("discover");
    let (mut b, undecided) = read_all(&items, &root_abs, &shown, opts)?;
    b.diags.extend(skipped.into_iter().map(|mut d| {
        d.loc.file = shown(Path::new(&d.loc.file));
        d
    }));
    trace.mark("read and parse");
    Ok(ParsedDir {
        dir: dir.to_path_buf(),
        root_abs,
        builder: b,
        undecided,
        dirs,
        trace,
    })
}

/// Does a path (relative to a snapshot's base) hold a backslash in a
/// name? Paths are stored `/`-separated with `\\` read as a separator
/// too (Windows'), so on Unix, where `\\` may be part of a name,
/// `a\\b.tf` would be stored as `a/b.tf` (and `..\\x.tf` as a tree no
/// reader accepts).
pub fn backslash_in(rel: &Path) -> bool {
    cfg!(unix) && rel.as_os_str().as_encoded_bytes().contains(&b'\\')
}

/// A path under the root directory `root_abs` as the user named it
/// (under `dir`, the directory as given).
fn shown_path(dir: &Path, root_abs: &Path, p: &Path) -> String {
    match p.strip_prefix(root_abs) {
        Ok(r) => rel_str(&dir.join(r)).trim_start_matches("./").to_string(),
        Err(_) => p.display().to_string(),
    }
}

impl ParsedDir {
    /// The files read, parallel to [`ParsedDir::parsed`] (every file
    /// discovered that could be read).
    pub fn files(&self) -> &[SourceFile] {
        &self.builder.files
    }

    /// The parse results, parallel to [`ParsedDir::files`].
    pub fn parsed(&self) -> &[Arc<Parsed>] {
        &self.builder.parsed
    }

    /// The module tree, the inputs given beside the directory, references
    /// resolved, sensitivity spread, the model sorted and checked for
    /// cycles: [`load`]'s second step, with the options of the first.
    pub fn assemble(self, opts: &Options) -> Result<Loaded, LoadError> {
        let ParsedDir {
            dir,
            root_abs,
            builder: mut b,
            undecided,
            dirs,
            trace,
        } = self;
        let dir = dir.as_path();
        let shown = |p: &Path| shown_path(dir, &root_abs, p);
        b.index_dirs(0);
        b.read_modules_json(&shown, opts.modules_dir.as_deref());
        b.reserve_nodes();
        b.instantiate(&root_abs, "", "", None, 0, opts, &shown);
        b.add_inputs(opts);
        b.settle_undecided(undecided)?;
        b.check_errors(&shown)?;
        if opts.free_parsed {
            b.free_config_parses();
        }
        trace.mark("modules");
        b.resolve(threads_for(opts));
        b.tfvars_edges();
        b.free_index();
        b.sensitive_assignments();
        b.check_errors(&shown)?;
        trace.mark("references");
        let base = b.relative_paths();
        b.check_errors(&shown)?;
        let root = rel_str(root_abs.strip_prefix(&base).unwrap_or(&root_abs));
        let mut model = Model {
            nodes: std::mem::take(&mut b.nodes),
            instances: Vec::new(),
            state: None,
            diagnostics: std::mem::take(&mut b.diags),
        };
        if let Some(ext) = &opts.state {
            let (info, nodes) = external_state(
                ext,
                &root,
                &root_abs,
                opts,
                (&mut b.files, &mut b.parsed),
                &mut model.diagnostics,
            )?;
            model.state = Some(info);
            model.instances = nodes;
        } else {
            b.take_state(&mut model, opts);
        }
        if !opts.labels_only {
            crate::sensitive::propagate(&mut model);
        }
        trace.mark("state and sensitivity");
        let ranks = model.sort_and_rank(!opts.allow_cycles);
        let ranks = if opts.allow_cycles {
            None
        } else {
            check_cycles(&mut model, ranks, &|f: &str| shown(&base.join(f)))?
        };
        trace.mark("sort and cycles");
        Ok(Loaded {
            base,
            root,
            files: b.files,
            parsed: b.parsed,
            model,
            dirs,
            ranks,
            unreadable: Vec::new(),
        })
    }
}

/// A literal setting (`path`, `workspace_dir`) of the root module's
/// `backend "local"` block, if it has one.
fn local_backend_setting(model: &Model, key: &str) -> Option<String> {
    model
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Terraform && n.module.is_empty())
        .find_map(|n| {
            let local = n.body.get("backend")?.get("local")?;
            let local = match local {
                Value::List(items) => items.first()?,
                other => other,
            };
            local.get(key)?.as_str().map(str::to_string)
        })
}

impl LoadError {
    /// A load error of one diagnostic.
    fn one(d: Diagnostic) -> LoadError {
        LoadError {
            diagnostics: vec![d],
        }
    }
}

/// The absolute path of the directory to load, or an error if it is none.
fn root_directory(dir: &Path) -> Result<PathBuf, LoadError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let root_abs = normalize(&cwd.join(dir));
    let shown = dir.display().to_string();
    let md = std::fs::metadata(&root_abs).map_err(|e| {
        LoadError::one(error_at(
            &shown,
            0,
            0,
            format!("cannot read the directory: {e}"),
            None,
        ))
    })?;
    if !md.is_dir() {
        return Err(LoadError::one(error_at(
            &shown,
            0,
            0,
            "not a directory",
            None,
        )));
    }
    Ok(root_abs)
}

/// A file that failed outside the root directory, not yet an error: see
/// [`Builder::settle_undecided`].
type Undecided = (PathBuf, FileKind, Diagnostic);

/// Every discovered file read and parsed (on every core): a builder with
/// the files and their parse results, and the failures outside the root directory that are an
/// error only if Terraform reads them, which the module tree tells. A
/// failure in the root directory or of a state file is an error now.
fn read_all(
    items: &[(PathBuf, FileKind)],
    root_abs: &Path,
    shown: &(dyn Fn(&Path) -> String + Sync),
    opts: &Options,
) -> Result<(Builder, Vec<Undecided>), LoadError> {
    let mut files = Vec::new();
    let mut parsed = Vec::new();
    let mut errors = Vec::new();
    let mut undecided = Vec::new();
    for r in read_and_parse(items, shown, opts) {
        match r {
            Ok((f, p)) => {
                files.push(f);
                parsed.push(p);
            }
            Err(u) => {
                let in_root = u.path.parent() == Some(root_abs);
                if let Some(f) = u.file {
                    files.push(f);
                    parsed.push(Arc::new(Parsed::Raw));
                }
                if is_missing_default_tfvars(&u.path) {
                    // Terraform takes a terraform.tfvars that is a link to
                    // nothing for no file at all
                } else if in_root && u.kind.is_tfvars() && !is_auto_loaded_tfvars(&u.path) {
                    // Terraform reads it only when given with -var-file
                    // (rewind's --var-file reads it apart): a warning
                    undecided.push((u.path, u.kind, u.diag));
                } else if in_root || u.kind == FileKind::State {
                    errors.push(u.diag);
                } else {
                    undecided.push((u.path, u.kind, u.diag));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(LoadError {
            diagnostics: errors,
        });
    }
    Ok((
        Builder::new(root_abs.to_path_buf(), files, parsed),
        undecided,
    ))
}

/// Checks the model's dependency graph for cycles: an error naming each
/// cycle at its first node (`shown` turns the node's file, relative to the
/// base, into the file as the user named it). Cycles only through a remote
/// module that was not downloaded are warnings added to the model. Returns
/// the ranks of an acyclic graph ([`Model::ranks`](rewind_model::Model::ranks)).
fn check_cycles(
    model: &mut Model,
    ranks: Option<Vec<u32>>,
    shown: &dyn Fn(&str) -> String,
) -> Result<Option<Vec<u32>>, LoadError> {
    // an order of the nodes is the proof there is no cycle
    if let Some(ranks) = ranks {
        return Ok(Some(ranks));
    }
    let mut cycles = Graph::build(model).cycles(model);
    // A remote module that is not downloaded is one node here, but
    // Terraform sees each of its inputs and outputs apart: a cycle
    // through it (a resource feeding one input and reading an unrelated
    // output, as routes through a router VM do) may be none at all.
    // Only the cycles left without the opaque modules' own edges are
    // certain; the others are warnings.
    let opaque = |model: &Model, a: &str| {
        model.node(a).is_some_and(|n| {
            n.kind == NodeKind::Module && n.facts.more.resolved == Some(ModuleSource::Remote)
        })
    };
    if cycles
        .iter()
        .any(|c| c.path.iter().any(|a| opaque(model, a)))
    {
        let mut certain = model.clone();
        for n in &mut certain.nodes {
            if opaque(model, &n.address) {
                n.edges.clear();
            }
        }
        let hard = Graph::build(&certain).cycles(&certain);
        if hard.is_empty() {
            let mut notes = Vec::new();
            for c in &cycles {
                let modules: BTreeSet<&str> = c
                    .path
                    .iter()
                    .filter(|a| opaque(model, a))
                    .map(String::as_str)
                    .collect();
                let modules: Vec<&str> = modules.into_iter().collect();
                let loc = model
                    .node(&c.path[0])
                    .map(|n| n.loc.clone())
                    .unwrap_or_default();
                notes.push(warning(
                    loc,
                    format!(
                        "dependency cycle through {} (a remote module that is not downloaded, seen as one node): {c}; Terraform sees the module's inputs and outputs apart, so this is likely no cycle (terraform init downloads the module and settles it)",
                        modules.join(", ")
                    ),
                ));
            }
            model.diagnostics.extend(notes);
            cycles.clear();
        } else {
            cycles = hard;
        }
    }
    if cycles.is_empty() {
        return Ok(None);
    }
    let diagnostics = cycles
        .iter()
        .map(|c| {
            let mut first = model
                .node(&c.path[0])
                .map(|n| n.loc.clone())
                .unwrap_or_default();
            first.file = shown(&first.file);
            Diagnostic {
                severity: Severity::Error,
                loc: first,
                message: format!("dependency cycle: {c}"),
                source_line: None,
            }
        })
        .collect();
    Err(LoadError { diagnostics })
}

/// Parses a state given from elsewhere and puts it among the files, as
/// [`EXTERNAL_STATE_FILE`](crate::inputs::EXTERNAL_STATE_FILE) of the root
/// module's directory (replacing a checked-out copy of an earlier one);
/// state files of the directory itself are then ignored, with a warning.
fn external_state(
    ext: &crate::inputs::ExternalState,
    root: &str,
    root_abs: &Path,
    opts: &Options,
    (files, parsed): (&mut Vec<SourceFile>, &mut Vec<Arc<Parsed>>),
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<(StateInfo, Vec<Node>), LoadError> {
    let shown = ext.shown.as_str();
    let result = if opts.light_state || opts.skip_state {
        crate::state::parse_state_light(shown, &ext.bytes)
    } else {
        parse_state(shown, &ext.bytes)
    };
    let (mut info, mut nodes) = result.map_err(|e| {
        let src = std::str::from_utf8(&ext.bytes).ok();
        LoadError {
            diagnostics: vec![error_at(shown, e.line, e.col, e.message, src)],
        }
    })?;
    let missing = |what: &str| {
        LoadError {
        diagnostics: vec![error_at(
            shown,
            1,
            1,
            format!("the state has no {what}: Terraform writes one in every state (is this the output of `terraform state pull`?)"),
            None,
        )],
    }
    };
    if info.lineage.is_empty() {
        return Err(missing("\"lineage\""));
    }
    if !json_has_key(&ext.bytes, "serial") {
        return Err(missing("\"serial\""));
    }
    let name = crate::inputs::EXTERNAL_STATE_FILE;
    let path = if root.is_empty() {
        name.to_string()
    } else {
        format!("{root}/{name}")
    };
    for f in files.iter() {
        if f.kind == FileKind::State && f.path != path && f.abs.parent() == Some(root_abs) {
            diagnostics.push(warning(
                Loc {
                    file: f.path.clone(),
                    ..Loc::default()
                },
                format!(
                    "{} is not used: the state given with --state ({shown}) is",
                    f.path
                ),
            ));
        }
    }
    if let Some(i) = files.iter().position(|f| f.path == path) {
        files.remove(i);
        parsed.remove(i);
    }
    files.push(SourceFile {
        path: path.clone(),
        abs: root_abs.join(name),
        kind: FileKind::State,
        size: ext.bytes.len() as u64,
        mtime_ns: 0,
        stat: FileStat::default(),
        executable: false,
        hash: Hash::of(&ext.bytes),
        bytes: Some(ext.bytes.clone()),
        fresh: true,
        file_fns: true,
    });
    parsed.push(Arc::new(Parsed::Raw));
    info.path = path;
    for n in &mut nodes {
        n.loc.file.clone_from(&info.path);
    }
    Ok((info, nodes))
}

/// True when the top-level JSON object in `bytes` has the member `key`.
fn json_has_key(bytes: &[u8], key: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Keys(std::collections::BTreeMap<String, serde::de::IgnoredAny>);
    serde_json::from_slice::<Keys>(bytes).is_ok_and(|k| k.0.contains_key(key))
}

/// A node's references waiting to be resolved.
struct Pending {
    /// The node the references are of (whose edges they become).
    node: u32,
    /// The node they were written in: its module is the scope they are
    /// resolved in, its file the file of their warnings (the node itself,
    /// or for a module argument the module call).
    at: u32,
    refs: Refs,
}

/// References waiting to be resolved: a raw node's own (shared with the
/// parse result, not copied), or a list made for this module instance.
enum Refs {
    Raw(Arc<Parsed>, usize),
    Owned(Vec<RawRef>),
}

impl Refs {
    fn get(&self) -> &[RawRef] {
        match self {
            Refs::Raw(p, i) => match &**p {
                Parsed::Config(cfg) => &cfg.nodes[*i].refs,
                _ => &[],
            },
            Refs::Owned(v) => v,
        }
    }
}

/// What a run of pending references resolves to: edges (from node, to
/// node, by index) and warnings.
type Resolution = (Vec<(u32, u32, EdgeKind)>, Vec<Diagnostic>);

/// A node's position as a `u32` (a model has far fewer than 2^32 nodes:
/// each is made from bytes of the configuration).
fn node_number(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 nodes")
}

struct Builder {
    root_abs: PathBuf,
    files: Vec<SourceFile>,
    parsed: Vec<Arc<Parsed>>,
    by_dir: HashMap<PathBuf, Vec<usize>>,
    nodes: Vec<Node>,
    /// Nodes by address (FxHash: addresses are not attacker-chosen keys
    /// here that need SipHash's protection, and this map is hashed once
    /// per node and per reference).
    index: rustc_hash::FxHashMap<String, usize>,
    pending: Vec<Pending>,
    diags: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
    /// modules.json: key → directory.
    modules_json: HashMap<String, (PathBuf, String)>,
    /// Module call address → (prefix of its instance, raw node) for provider resolution.
    calls: HashMap<String, (String, Vec<(String, String)>)>,
    /// Directories loaded as modules (the root and every module called).
    loaded_dirs: HashSet<PathBuf>,
}

/// What [`Builder::instantiate`] gathers of one module instance while it
/// adds its nodes.
struct ModuleNodes<'p> {
    /// The instance's address prefix (`module.a["x"].`, empty for the root).
    prefix: &'p str,
    /// The module call node that made this instance.
    call: Option<usize>,
    /// The module calls found, to expand after this instance.
    calls: Vec<(usize, RawNode)>,
    /// The variables the module declares.
    declared_vars: HashSet<String>,
}

impl Builder {
    fn new(root_abs: PathBuf, files: Vec<SourceFile>, parsed: Vec<Arc<Parsed>>) -> Builder {
        Builder {
            root_abs,
            files,
            parsed,
            by_dir: HashMap::new(),
            nodes: Vec::new(),
            index: rustc_hash::FxHashMap::default(),
            pending: Vec::new(),
            diags: Vec::new(),
            errors: Vec::new(),
            modules_json: HashMap::new(),
            calls: HashMap::new(),
            loaded_dirs: HashSet::new(),
        }
    }

    /// A file that failed is an error in a module Terraform loads, and
    /// only a warning elsewhere (an example's or a template's file, which
    /// Terraform never reads for this directory).
    fn settle_undecided(&mut self, undecided: Vec<Undecided>) -> Result<(), LoadError> {
        let mut failed = Vec::new();
        for (path, kind, mut d) in undecided {
            let read =
                kind.is_config() && path.parent().is_some_and(|p| self.loaded_dirs.contains(p));
            if read {
                failed.push(d);
            } else {
                d.severity = Severity::Warning;
                d.message = if kind.is_tfvars() && path.parent() == Some(&*self.root_abs) {
                    format!(
                        "{} (Terraform does not load this file by itself, only when given with -var-file)",
                        d.message
                    )
                } else {
                    format!(
                        "{} (Terraform does not read this file for this directory: not part of its configuration)",
                        d.message
                    )
                };
                self.diags.push(d);
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        Err(LoadError {
            diagnostics: failed,
        })
    }

    /// The errors found while assembling, if any. They name files by
    /// absolute path: shown here the way the user named the directory, and
    /// so are messages naming another place ("already declared at ...").
    fn check_errors(&mut self, shown: &dyn Fn(&Path) -> String) -> Result<(), LoadError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let root_prefix = format!("{}/", self.root_abs.display());
        let shown_prefix = match shown(&self.root_abs).trim_end_matches('/') {
            "" | "." => String::new(),
            s => format!("{s}/"),
        };
        let mut errors = std::mem::take(&mut self.errors);
        for d in &mut errors {
            if Path::new(&d.loc.file).is_absolute() {
                d.loc.file = shown(Path::new(&d.loc.file));
            }
            if d.message.contains(&root_prefix) {
                d.message = d.message.replace(&root_prefix, &shown_prefix);
            }
        }
        Err(LoadError {
            diagnostics: errors,
        })
    }

    /// Makes the paths of files, nodes and diagnostics relative to the
    /// common base of every file (and the root directory), and returns it.
    fn relative_paths(&mut self) -> PathBuf {
        let mut base = self.root_abs.clone();
        for f in &self.files {
            while !f.abs.starts_with(&base) {
                if !base.pop() {
                    break;
                }
            }
        }
        let mut file_rel: rustc_hash::FxHashMap<String, String> = Default::default();
        for f in &mut self.files {
            let rel = f.abs.strip_prefix(&base).unwrap_or(&f.abs);
            if backslash_in(rel) {
                self.errors.push(error_at(
                    &f.abs.display().to_string(),
                    0,
                    0,
                    format!(
                        "the file's path ({}) holds a backslash (\\), which a snapshot's paths use as a directory separator: rename it",
                        escape_path(rel)
                    ),
                    None,
                ));
            }
            f.path = tree_path(&base, &f.abs);
            file_rel.insert(f.abs.display().to_string(), f.path.clone());
        }
        // a file's nodes are added one after another: each run of them
        // looks its file up once (once per node, the lookups were 7% of
        // the sensitivity phase at 100k resources)
        let mut last: Option<(&String, &String)> = None;
        for n in &mut self.nodes {
            let r = match last {
                Some((abs, rel)) if *abs == n.loc.file => Some(rel),
                _ => file_rel
                    .get_key_value(&n.loc.file)
                    .inspect(|&found| last = Some(found))
                    .map(|(_, r)| r),
            };
            if let Some(r) = r {
                // in the absolute path's room (shorter): no string of
                // every node freed and made again
                n.loc.file.clone_from(r);
            }
        }
        for d in &mut self.diags {
            if let Some(r) = file_rel.get(&d.loc.file) {
                d.loc.file = r.clone();
            }
        }
        base
    }

    /// The directory's state into the model: the file Terraform's local
    /// backend reads for the workspace (`terraform.tfstate` of the root
    /// module, or the backend's `path`; `terraform.tfstate.d/NAME/
    /// terraform.tfstate`, or under its `workspace_dir`, for another
    /// workspace), or for the default workspace the only state file; with
    /// several and none of them that one, a warning and no instances. A
    /// workspace other than `default` never takes another's state.
    fn take_state(&mut self, model: &mut Model, opts: &Options) {
        let states: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].kind == FileKind::State)
            .collect();
        let workspace = crate::inputs::workspace_of(&self.root_abs, opts.workspace.as_deref())
            .unwrap_or_else(|_| "default".into());
        let local = |key: &str| local_backend_setting(model, key);
        let wanted = if workspace == "default" {
            normalize(
                &self
                    .root_abs
                    .join(local("path").unwrap_or("terraform.tfstate".into())),
            )
        } else {
            normalize(
                &self
                    .root_abs
                    .join(local("workspace_dir").unwrap_or("terraform.tfstate.d".into()))
                    .join(&workspace)
                    .join("terraform.tfstate"),
            )
        };
        let root_state = states
            .iter()
            .copied()
            .find(|&i| normalize(&self.files[i].abs) == wanted);
        let chosen = root_state.or(
            if states.len() == 1 && workspace == "default" && local("path").is_none() {
                Some(states[0])
            } else {
                None
            },
        );
        if chosen.is_none() && !states.is_empty() && (workspace != "default" || states.len() == 1) {
            let shown = wanted
                .strip_prefix(&self.root_abs)
                .map(rel_str)
                .unwrap_or_else(|_| wanted.display().to_string());
            model.diagnostics.push(warning(
                Loc::default(),
                format!(
                    "workspace {workspace:?} keeps its state in {shown}, which is not here: the other state files are not this workspace's, so the directory has no state (give it with --state)"
                ),
            ));
        } else if chosen.is_none() && states.len() > 1 {
            let names: Vec<&str> = states
                .iter()
                .map(|&i| self.files[i].path.as_str())
                .collect();
            model.diagnostics.push(warning(
                Loc::default(),
                format!(
                    "several state files and none is the root module's terraform.tfstate; instances are not compared: {}",
                    names.join(", ")
                ),
            ));
        }
        let Some(i) = chosen else { return };
        // The instances move into the model (a large state is not copied);
        // state parse results are not cached, so nothing else needs them.
        let taken = std::mem::replace(&mut self.parsed[i], Arc::new(Parsed::Raw));
        let owned = Arc::try_unwrap(taken).unwrap_or_else(|shared| (*shared).clone());
        if let Parsed::State(mut info, mut nodes) = owned {
            info.path = self.files[i].path.clone();
            for n in &mut nodes {
                n.loc.file.clone_from(&info.path);
            }
            model.state = Some(info);
            model.instances = nodes;
        }
    }

    /// Room for a node of each block parsed, in the nodes and the index
    /// by address, before the module tree is built: a module called once
    /// makes one node of each block. Grown by doubling instead, the nodes
    /// of 100k resources (200 bytes each) were copied at each step into
    /// memory the kernel had to fault in and zero, and the index rehashed;
    /// an overestimate (a directory no module calls) is given back when
    /// the nodes are shrunk after sorting.
    fn reserve_nodes(&mut self) {
        let blocks: usize = self
            .parsed
            .iter()
            .map(|p| match &**p {
                Parsed::Config(cfg) => cfg.nodes.len(),
                _ => 0,
            })
            .sum();
        self.nodes.reserve(blocks);
        self.index.reserve(blocks);
    }

    fn index_dirs(&mut self, from: usize) {
        for i in from..self.files.len() {
            let f = &self.files[i];
            if f.kind.is_config() || matches!(f.kind, FileKind::Tfvars | FileKind::TfvarsJson) {
                if let Some(parent) = f.abs.parent() {
                    self.by_dir.entry(parent.to_path_buf()).or_default().push(i);
                }
            }
        }
    }

    /// Adds `node` unless its address is taken (an error at `node.loc`,
    /// or terraform blocks merged); returns its index.
    fn add_node(&mut self, node: Node) -> Option<usize> {
        if let Some(&existing) = self.index.get(&node.address) {
            let prev = &mut self.nodes[existing];
            if node.kind == NodeKind::Terraform {
                // Several terraform blocks merge.
                if let (Value::Map(a), Value::Map(b)) = (Arc::make_mut(&mut prev.body), &*node.body)
                {
                    for (k, v) in b {
                        a.insert(k.clone(), v.clone());
                    }
                }
                return None;
            }
            let prev_loc = prev.loc.clone();
            if node.kind == NodeKind::Moved && prev.kind == NodeKind::Moved {
                // Terraform accepts the same move written twice; the same
                // `from` moved to two places is its "Ambiguous move
                // statements" error.
                if prev.body == node.body {
                    return None;
                }
                self.errors.push(Diagnostic {
                    severity: Severity::Error,
                    loc: node.loc.clone(),
                    message: format!(
                        "ambiguous move statements: {} is also moved at {}, to {}",
                        node.address,
                        prev_loc,
                        prev.body.get("to").map(Value::render).unwrap_or_default()
                    ),
                    source_line: None,
                });
                return None;
            }
            self.errors.push(Diagnostic {
                severity: Severity::Error,
                loc: node.loc.clone(),
                message: format!(
                    "duplicate {} {}: it is already declared at {}",
                    node.kind, node.address, prev_loc
                ),
                source_line: None,
            });
            return None;
        }
        let i = self.nodes.len();
        self.index.insert(node.address.clone(), i);
        self.nodes.push(node);
        Some(i)
    }

    /// Drops this load's hold on the parse results of every file but the
    /// state files (which [`Builder::take_state`] still reads): the module
    /// tree is built, and the nodes share the bodies they need.
    fn free_config_parses(&mut self) {
        let raw = Arc::new(Parsed::Raw);
        for p in &mut self.parsed {
            if !matches!(**p, Parsed::State(..) | Parsed::Raw) {
                *p = Arc::clone(&raw);
            }
        }
    }

    /// Drops the index of nodes by address and the module calls' providers
    /// once every edge is made (the sensitivity pass that follows makes an
    /// index of its own).
    fn free_index(&mut self) {
        self.index = rustc_hash::FxHashMap::default();
        self.calls = HashMap::new();
    }

    /// Node `i`'s provider configuration key, taken out; the node's facts
    /// freed when that was their only one (most resources: a `Facts` of
    /// about 300 bytes each, 59 MB of the two models of a plan of 100,000
    /// resources, held for nothing).
    fn take_provider_key(&mut self, i: usize) -> Option<String> {
        let facts = &mut self.nodes[i].facts;
        facts.provider_key.as_ref()?;
        let key = facts.provider_key.take();
        if facts.is_empty() {
            *facts = rewind_model::NodeFacts::default();
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::{is_secret_name, read_regular};
    use std::path::Path;

    /// A file is read whole whatever the size it was seen with: grown
    /// since, shrunk since, empty, or larger than a read returns at once.
    #[test]
    fn a_file_is_read_whole_whatever_size_was_seen() {
        let p = std::env::temp_dir().join(format!("rewind-read-open-{}", std::process::id()));
        let text: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &text).unwrap();
        for seen in [0, 1, 1000, 299_999, 300_000, 300_001, 1 << 20] {
            assert_eq!(
                read_regular(&p, seen).unwrap(),
                text,
                "seen as {seen} bytes"
            );
        }
        std::fs::write(&p, b"").unwrap();
        assert!(read_regular(&p, 10).unwrap().is_empty());
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn command_line_files_are_read_to_a_limit_and_as_text() {
        let e = super::read_bounded(Path::new("/dev/zero"), 1 << 30).unwrap_err();
        assert!(e.to_string().contains("NUL byte at offset 0"), "{e}");
        let dir = std::env::temp_dir().join(format!("rewind-bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("big.tfvars");
        std::fs::write(&p, "a = 1\n".repeat(30_000)).unwrap();
        assert_eq!(super::read_bounded(&p, 180_000).unwrap().len(), 180_000);
        let e = super::read_bounded(&p, 179_999).unwrap_err();
        assert!(e.to_string().contains("more than 179999 bytes"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn secret_names() {
        for yes in [
            "password",
            "db_password",
            "master_password",
            "api_key",
            "Client_Secret",
            "sas_token",
            "secret_value",
            "tls_private_key_pem",
            "storage_connection_string",
            "my_secret",
            // each word, alone and as a part (the first-letter filter)
            "passwd",
            "token",
            "apikey",
            "access_key",
            "credentials",
            "auth_key",
            "sas",
            "x_passwd_y",
            "app_token",
            "svc_apikey",
            "s3_access_key",
            "gcp_credentials",
            "x_auth_key",
            // found by an adversarial review (session 46)
            "PGPASSWORD",
            "dbpassword",
            "spring.datasource.password",
            "token2",
            "password_1",
            "clientsecret",
            "DB_PASSWORD",
        ] {
            assert!(is_secret_name(yes), "{yes}");
        }
        for no in [
            "password_arn",
            "secret_id",
            "kms_key_name",
            "tokens",
            "passwords_policy",
            "description",
            "engine_version",
            "secretive",
            "aprivate_key",
            "private_keys",
            "tokenizer",
            "secretsmanager_arn",
            "",
        ] {
            assert!(!is_secret_name(no), "{no}");
        }
    }

    /// Arguments the providers' schemas mark sensitive under ordinary
    /// names (found by an adversarial review, session 46): secret in the
    /// configuration and in a state that records no `sensitive_attributes`.
    #[test]
    fn schema_sensitive_arguments_are_secret() {
        use rewind_model::{Map, Node, NodeKind, Path, Value};
        let node = |kind: NodeKind, type_: &str, attrs: &[(&str, Value)]| {
            let mut n = Node::new(kind, format!("{type_}.x"));
            n.type_ = type_.to_string();
            n.name = "x".into();
            let mut m = Map::new();
            for (k, v) in attrs {
                m.insert(k.to_string(), v.clone());
            }
            n.body = std::sync::Arc::new(Value::Map(m));
            super::mark_secret_names(&mut n);
            n.sensitive
        };
        let s = |v: &str| Value::String(v.into());
        assert_eq!(
            node(
                NodeKind::Resource,
                "aws_ssm_parameter",
                &[("name", s("/app/db")), ("value", s("S3CRET"))]
            ),
            vec![Path::root().key("value")]
        );
        assert_eq!(
            node(
                NodeKind::Instance,
                "random_password",
                &[
                    ("id", s("none")),
                    ("result", s("S3CRET")),
                    ("length", Value::Null)
                ]
            ),
            vec![Path::root().key("result")]
        );
        // an argument not set, and another type's `value`: nothing
        assert!(node(NodeKind::Resource, "aws_ssm_parameter", &[("name", s("n"))]).is_empty());
        assert!(node(NodeKind::Resource, "aws_s3_object", &[("value", s("v"))]).is_empty());
    }
}
