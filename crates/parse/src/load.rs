//! Loading a directory: discovery, parallel parsing, the module tree,
//! reference resolution and the dependency graph.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rewind_model::{
    Diagnostic, EdgeKind, Graph, Hash, InputKind, Loc, Model, ModuleSource, Node, NodeKind,
    Severity, StateInfo, Value,
};

use crate::config::{file_config_for, tfvars_value, FileConfig, RawNode, RawRef};
use crate::hcl::{parse_body_bytes, LineIndex};
use crate::json::{json_config, json_literal, parse_json};
use crate::state::parse_state;

/// What a discovered file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    /// `.tf` (or OpenTofu's `.tofu`)
    Tf,
    /// `.tf.json` (or OpenTofu's `.tofu.json`)
    TfJson,
    /// `.tfvars`
    Tfvars,
    /// `.tfvars.json`
    TfvarsJson,
    /// `*.tfstate`
    State,
    /// `.terraform/modules/modules.json`
    ModulesJson,
    /// `.terraform.lock.hcl`
    LockFile,
    /// `.tftpl` / `.tpl` templates read by `templatefile()`
    Template,
}

impl FileKind {
    /// Classifies a file by name; `None` for files rewind does not keep.
    pub fn of(name: &str) -> Option<FileKind> {
        Some(
            if name.ends_with(".tf.json") || name.ends_with(".tofu.json") {
                FileKind::TfJson
            } else if name.ends_with(".tf") || name.ends_with(".tofu") {
                FileKind::Tf
            } else if name.ends_with(".tfvars.json") {
                FileKind::TfvarsJson
            } else if name.ends_with(".tfvars") {
                FileKind::Tfvars
            } else if name.ends_with(".tfstate") {
                FileKind::State
            } else if name == ".terraform.lock.hcl" {
                FileKind::LockFile
            } else if name.ends_with(".tftpl") || name.ends_with(".tpl") {
                FileKind::Template
            } else if name == "modules.json" {
                FileKind::ModulesJson
            } else {
                return None;
            },
        )
    }

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn is_config(self) -> bool {
        matches!(self, FileKind::Tf | FileKind::TfJson)
    }

    /// A variable file (`.tfvars`, `.tfvars.json`).
    pub fn is_tfvars(self) -> bool {
        matches!(self, FileKind::Tfvars | FileKind::TfvarsJson)
    }
}

/// What parsing a file produced (cacheable by content hash).
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Config(FileConfig),
    Tfvars(Value),
    State(StateInfo, Vec<Node>),
    /// Kept as bytes only.
    Raw,
}

/// What one `stat` says of a file: enough to tell that it changed without
/// reading it, as git's index does (a rewrite that restores the size and
/// the modification time still moves the change time, and a file
/// replaced by another has another inode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStat {
    /// Length in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Status change time in nanoseconds since the epoch (0 where the
    /// system has none).
    pub ctime_ns: i64,
    /// Inode number (0 where the system has none).
    pub ino: u64,
    /// Device number (0 where the system has none).
    pub dev: u64,
}

impl FileStat {
    /// The stat of `md` (no system call: it reads the metadata given).
    pub fn of(md: &std::fs::Metadata) -> FileStat {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileStat {
                size: md.len(),
                mtime_ns: mtime_ns(md),
                ctime_ns: md.ctime().saturating_mul(1_000_000_000) + md.ctime_nsec(),
                ino: md.ino(),
                dev: md.dev(),
            }
        }
        #[cfg(not(unix))]
        FileStat {
            size: md.len(),
            mtime_ns: mtime_ns(md),
            ..FileStat::default()
        }
    }
}

/// A file of the snapshot.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Relative to [`Loaded::base`], `/`-separated.
    pub path: String,
    pub abs: PathBuf,
    pub kind: FileKind,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// The whole stat the file was read with.
    pub stat: FileStat,
    pub executable: bool,
    pub hash: Hash,
    /// The content, when [`Options::keep_bytes`] asked for it; `None` also
    /// when a cache vouched for an unchanged file.
    pub bytes: Option<Vec<u8>>,
    /// True when this run parsed the file (a cache may want to keep it).
    pub fresh: bool,
    /// Whether the file may call a function that reads a file: false only
    /// when this load read its text and found no `file` in it (the name
    /// of every such function holds it: `file`, `fileexists`, `fileset`,
    /// `templatefile`, `filebase64sha256`...) and, in JSON, no `\u`
    /// either (a string there may spell a name in escapes). Lets the
    /// look for such calls skip the file's nodes.
    pub file_fns: bool,
}

/// Whether the text of a configuration file may call a function that
/// reads a file (see [`SourceFile::file_fns`]).
fn call_may_read_files(bytes: &[u8], kind: FileKind) -> bool {
    let json = matches!(kind, FileKind::TfJson | FileKind::TfvarsJson);
    memchr::memmem::find(bytes, b"file").is_some()
        || (json && memchr::memmem::find(bytes, b"\\u").is_some())
}

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

/// Lexically normalizes a path (`a/b/../c` → `a/c`).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn rel_str(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}

/// The path of file `abs` inside the tree rooted at `base`, `/`-separated:
/// a file's path in a snapshot, and its group's key in the model.
pub fn tree_path(base: &Path, abs: &Path) -> String {
    rel_str(abs.strip_prefix(base).unwrap_or(abs))
}

/// Should the walk descend into this directory? (`rel` is relative to the root.)
fn keep_dir(rel: &Path) -> bool {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let Some(last) = parts.last() else {
        return true;
    };
    if last == ".git" || last == ".rewind" || last == ".terragrunt-cache" {
        return false;
    }
    // Inside .terraform only the downloaded modules are kept.
    if let Some(i) = parts.iter().position(|p| p == ".terraform") {
        return match parts.get(i + 1) {
            None => true,
            Some(next) => next == "modules",
        };
    }
    true
}

/// Lists the files rewind keeps under `dir` (recursively), sorted.
pub fn discover(dir: &Path) -> Result<Vec<(PathBuf, FileKind)>, Diagnostic> {
    discover_with_dirs(dir).map(|d| d.files)
}

/// The symbolic links under `dir` that [`discover`] skips (kept names
/// leading out of the directory, or to something that is not a regular
/// file), as absolute paths: Terraform follows them, so a checkout that
/// makes a directory exactly a snapshot's removes them.
pub fn discover_unfollowed_links(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let found = discover_with_dirs(dir)?;
    Ok(found
        .skipped_paths
        .into_iter()
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()))
        .collect())
}

/// What a walk of a directory found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The files rewind keeps, sorted.
    pub files: Vec<(PathBuf, FileKind)>,
    /// Every directory walked with its modification time in nanoseconds.
    pub dirs: Vec<(PathBuf, i64)>,
    /// Entries with a kept name that were skipped, and why: special files
    /// (FIFOs, devices, sockets), symbolic links that leave the directory
    /// or lead to something that is not a regular file.
    pub skipped: Vec<Diagnostic>,
    /// The paths of the entries skipped, as found.
    pub(crate) skipped_paths: Vec<PathBuf>,
}

/// The files rewind keeps under `dir`, every directory walked, and what
/// was skipped. A name that is not UTF-8 is an error (a snapshot stores
/// names as UTF-8): nothing has been read or written then.
pub fn discover_with_dirs(dir: &Path) -> Result<Discovered, Diagnostic> {
    let mut found = Discovered::default();
    // where links may lead: the directory itself, with its links resolved
    let real_root = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !e.file_type().is_dir() || keep_dir(e.path().strip_prefix(dir).unwrap_or(e.path()))
        });
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            error_at(&path, 0, 0, format!("cannot read: {e}"), None)
        })?;
        if entry.file_type().is_dir() {
            let mtime = entry.metadata().map(|m| mtime_ns(&m)).unwrap_or(0);
            found.dirs.push((entry.path().to_path_buf(), mtime));
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        let Some(kind) = FileKind::of(&name) else {
            continue;
        };
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        if rel.to_str().is_none() {
            return Err(error_at(
                &escape_path(entry.path()),
                0,
                0,
                "the file's path is not valid UTF-8, which a snapshot cannot store: rename it",
                None,
            ));
        }
        let in_dot_terraform = rel.components().any(|c| c.as_os_str() == ".terraform");
        if kind == FileKind::ModulesJson && rel != Path::new(".terraform/modules/modules.json") {
            continue;
        }
        if in_dot_terraform && kind == FileKind::State {
            // .terraform/terraform.tfstate is backend metadata, not state
            continue;
        }
        if let Some(why) = not_readable_as_file(entry.path(), entry.file_type(), &real_root) {
            found.skipped.push(warning(
                Loc {
                    file: escape_path(entry.path()),
                    line: 0,
                    col: 0,
                },
                format!("skipped: {why}"),
            ));
            found.skipped_paths.push(entry.path().to_path_buf());
            continue;
        }
        found.files.push((entry.path().to_path_buf(), kind));
    }
    Ok(found)
}

/// A path as text, with what is not printable escaped.
fn escape_path(p: &Path) -> String {
    let lossy = p.to_string_lossy();
    if p.to_str().is_some() && !lossy.chars().any(char::is_control) {
        return lossy.into_owned();
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().escape_ascii().to_string()
    }
    #[cfg(not(unix))]
    lossy.escape_debug().to_string()
}

/// Why an entry with a kept name is not read, if it is not: a special
/// file (a FIFO would block, a device never ends), or a symbolic link that
/// leaves `real_root` or leads to one. A link to nothing is kept (its read
/// fails, or Terraform goes on without it: `is_missing_default_tfvars`).
fn not_readable_as_file(
    path: &Path,
    ty: std::fs::FileType,
    real_root: &Path,
) -> Option<&'static str> {
    if ty.is_file() {
        return None;
    }
    if !ty.is_symlink() {
        return Some("not a regular file (a FIFO, socket or device)");
    }
    let Ok(target) = path.canonicalize() else {
        return None;
    };
    if !target.starts_with(real_root) {
        return Some("a symbolic link that leads outside the directory is not followed");
    }
    match std::fs::metadata(&target) {
        Ok(md) if md.is_file() => None,
        Ok(_) => Some("a symbolic link to something that is not a regular file"),
        Err(_) => None,
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

fn mtime_ns(md: &std::fs::Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Does the file of `md` have an executable bit (always false where the
/// system has none)?
#[cfg(unix)]
pub fn is_executable(md: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    md.permissions().mode() & 0o111 != 0
}

/// Does the file of `md` have an executable bit (always false where the
/// system has none)?
#[cfg(not(unix))]
pub fn is_executable(_md: &std::fs::Metadata) -> bool {
    false
}

/// Reads a regular file outside discovery (a file the configuration reads
/// through a function): its facts and bytes, fresh.
pub fn source_file(abs: &Path, kind: FileKind) -> std::io::Result<SourceFile> {
    let md = std::fs::metadata(abs)?;
    if !md.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let bytes = read_regular(abs, md.len())?;
    Ok(SourceFile {
        path: String::new(),
        abs: abs.to_path_buf(),
        kind,
        size: bytes.len() as u64,
        mtime_ns: mtime_ns(&md),
        stat: FileStat::of(&md),
        executable: is_executable(&md),
        hash: Hash::of(&bytes),
        bytes: Some(bytes),
        fresh: true,
        file_fns: true,
    })
}

/// The largest file a directory may hold: the largest object a pack
/// holds (4 GiB less its header).
pub const MAX_FILE: u64 = u32::MAX as u64 - 64;

/// `O_NONBLOCK`: opening a FIFO that replaced a file must not wait for a
/// writer (the opened file is then refused as not regular).
#[cfg(any(target_os = "linux", target_os = "android"))]
const O_NONBLOCK: i32 = 0o4000;
#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
const O_NONBLOCK: i32 = 0x0004;

/// [`read_regular`] of a file no larger than [`MAX_FILE`], refused by its
/// size before it is read (a 6 GB state was read whole, then refused by
/// the store).
fn read_at_most(path: &Path, size: u64) -> std::io::Result<Vec<u8>> {
    if size > MAX_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is {size} bytes, more than rewind reads or stores ({MAX_FILE})"),
        ));
    }
    read_regular(path, size)
}

/// The largest variable file read (`-var-file`).
pub const MAX_VAR_FILE: u64 = 256 << 20;

/// The largest state read from the command line (`--state`, which may be
/// a pipe of unknown length): 1 GiB, a million resources and more.
pub const MAX_STATE_INPUT: u64 = 1 << 30;

/// Reads a text file given on the command line, which may be a pipe
/// (`--state <(terraform state pull)`), to its end; refused past `limit`
/// bytes, and at its first NUL byte (no state or variable file holds one:
/// `/dev/zero` is refused at once, not read to the limit).
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let mut f = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match f.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = chunk[..n].iter().position(|&b| b == 0) {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!(
                    "binary data (a NUL byte at offset {}), not a text file",
                    bytes.len() + i
                ),
            ));
        }
        if (bytes.len() + n) as u64 > limit {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("more than {limit} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
}

/// Reads a file that must be a regular file (checked on the opened file,
/// so a FIFO or device swapped in after discovery is refused, not read);
/// `size` is the length it was seen with, a hint for the buffer.
pub fn read_regular(path: &Path, size: u64) -> std::io::Result<Vec<u8>> {
    let (f, _) = open_regular(path)?;
    read_open(f, size)
}

/// The bytes of an opened file `size` bytes long when it was looked at
/// (or any other length: it is read to its end). `File::read_to_end`
/// asks the file's size and position again (a `statx` and an `lseek` for
/// each of the 13,000 files of a large configuration); this reads into a
/// buffer of the known size, then once more to find the end.
fn read_open(mut f: std::fs::File, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let want = size.min(1 << 30) as usize;
    let mut bytes = vec![0u8; want];
    let mut filled = 0;
    while filled < want {
        match f.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    if filled == want {
        // the file may have grown since: the rest, as it is now
        // (`Take` reads to the end without asking the size)
        (&mut f).take(u64::MAX).read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

/// Opens a file that must be a regular file (see [`read_regular`]), with
/// its metadata as the opened file's.
fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(O_NONBLOCK);
    }
    let f = opts.open(path)?;
    let md = f.metadata()?;
    if !md.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a FIFO, socket or device)",
        ));
    }
    Ok((f, md))
}

/// Why a file failed, with the file when it could be read.
type Failed = Box<(Option<SourceFile>, Diagnostic)>;

/// Reads and parses one file; on failure, the file when it could be read.
fn load_one(
    path: &Path,
    kind: FileKind,
    shown: &str,
    opts: &Options,
) -> Result<(SourceFile, Arc<Parsed>), Failed> {
    let cache = opts.cache;
    let md = std::fs::metadata(path).map_err(|e| {
        Box::new((
            None,
            error_at(shown, 0, 0, format!("cannot read: {e}"), None),
        ))
    })?;
    if !md.is_file() {
        return Err(Box::new((
            None,
            error_at(
                shown,
                0,
                0,
                "cannot read: not a regular file (a FIFO, socket or device)",
                None,
            ),
        )));
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
    if let Some(cache) = cache {
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
            Err(e) => Err(Box::new((
                None,
                error_at(shown, 0, 0, format!("cannot read: {e}"), None),
            ))),
        };
    }
    let bytes = read_at_most(path, size).map_err(|e| {
        Box::new((
            None,
            error_at(shown, 0, 0, format!("cannot read: {e}"), None),
        ))
    })?;
    file.hash = Hash::of(&bytes);
    file.size = bytes.len() as u64;
    file.file_fns = call_may_read_files(&bytes, kind);
    if let Some(cache) = cache {
        cache.keep_bytes(&file, &bytes);
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
        error_at(shown, line, col, msg, Some(src))
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
            let cfg = file_config_for(&body, &src, whole);
            if let Some((l, c, m)) = cfg.errors.first() {
                return Err(error_at(shown, *l, *c, m.clone(), Some(&src)));
            }
            Parsed::Config(cfg)
        }
        FileKind::Tfvars => {
            let (src, body) = parse_body_bytes(bytes);
            let body = body.map_err(|e| at(&src, e.offset, e.message))?;
            Parsed::Tfvars(
                tfvars_value(&body, &src)
                    .map_err(|(l, c, m)| error_at(shown, l, c, m, Some(&src)))?,
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
            b.take_state(&mut model);
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
        })
    }
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

    /// The directory's state into the model: `terraform.tfstate` of the
    /// root module, or the only state file; with several and none of them
    /// the root's, a warning and no instances.
    fn take_state(&mut self, model: &mut Model) {
        let states: Vec<usize> = (0..self.files.len())
            .filter(|&i| self.files[i].kind == FileKind::State)
            .collect();
        let root_state = states.iter().copied().find(|&i| {
            self.files[i].abs.parent() == Some(self.root_abs.as_path())
                && self.files[i]
                    .abs
                    .file_name()
                    .is_some_and(|n| n == "terraform.tfstate")
        });
        let chosen = root_state.or(if states.len() == 1 {
            Some(states[0])
        } else {
            None
        });
        if chosen.is_none() && states.len() > 1 {
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

    /// Reads the module manifest `terraform init` wrote, or else the one
    /// of the module cache `cache` (a directory laid out as
    /// `.terraform/modules`, whose `Dir` entries are read inside it).
    fn read_modules_json(
        &mut self,
        shown: &(dyn Fn(&Path) -> String + Sync),
        cache: Option<&Path>,
    ) {
        let path = self.root_abs.join(".terraform/modules/modules.json");
        let (path, bytes, cache) = match self.files.iter().position(|f| f.abs == path) {
            Some(i) => {
                let bytes = match &self.files[i].bytes {
                    Some(b) => b.clone(),
                    None => match std::fs::read(&path) {
                        Ok(b) => b,
                        Err(_) => return,
                    },
                };
                (path, bytes, None)
            }
            None => {
                let Some(cache) = cache else {
                    return;
                };
                let cache = normalize(&std::env::current_dir().unwrap_or_default().join(cache));
                let path = cache.join("modules.json");
                match std::fs::read(&path) {
                    Ok(b) => (path, b, Some(cache)),
                    Err(e) => {
                        self.errors.push(error_at(
                            &path.display().to_string(),
                            0,
                            0,
                            format!("cannot read the module cache's manifest (--modules names a directory laid out as .terraform/modules, with the modules.json of `terraform init`): {e}"),
                            None,
                        ));
                        return;
                    }
                }
            }
        };
        let doc: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(d) => d,
            Err(e) => {
                self.diags.push(warning(
                    Loc {
                        file: shown(&path),
                        line: e.line() as u32,
                        col: e.column() as u32,
                    },
                    format!("cannot read the module manifest ({e}); downloaded modules are not followed"),
                ));
                return;
            }
        };
        for m in doc
            .get("Modules")
            .and_then(|m| m.as_array())
            .into_iter()
            .flatten()
        {
            let key = m.get("Key").and_then(|v| v.as_str()).unwrap_or_default();
            let dir = m.get("Dir").and_then(|v| v.as_str()).unwrap_or_default();
            let version = m
                .get("Version")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            if key.is_empty() || dir.is_empty() {
                continue;
            }
            let abs = match (&cache, dir.strip_prefix(".terraform/modules")) {
                (Some(c), Some(rest)) => normalize(&c.join(rest.trim_start_matches('/'))),
                _ => normalize(&self.root_abs.join(dir)),
            };
            self.modules_json
                .insert(key.to_string(), (abs, version.to_string()));
        }
    }

    /// Makes sure the config files of `dir` are loaded (for modules outside
    /// the walked directory).
    fn ensure_dir(
        &mut self,
        dir: &Path,
        opts: &Options,
        shown: &(dyn Fn(&Path) -> String + Sync),
    ) -> bool {
        if self.by_dir.contains_key(dir) {
            return true;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        // links may lead inside the loaded tree or inside the module's own
        // directory (which a link to a module directory may put elsewhere)
        let real_root = self
            .root_abs
            .canonicalize()
            .unwrap_or_else(|_| self.root_abs.clone());
        let real_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let mut items: Vec<(PathBuf, FileKind)> = Vec::new();
        for e in rd.filter_map(Result::ok) {
            let Ok(ty) = e.file_type() else {
                continue;
            };
            if ty.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(kind) = FileKind::of(&name) else {
                continue;
            };
            if !(kind.is_config() || kind == FileKind::Template)
                || self.files.iter().any(|f| f.abs == e.path())
            {
                continue;
            }
            let why = not_readable_as_file(&e.path(), ty, &real_root).and(not_readable_as_file(
                &e.path(),
                ty,
                &real_dir,
            ));
            if let Some(why) = why {
                self.diags.push(warning(
                    Loc {
                        file: escape_path(&e.path()),
                        line: 0,
                        col: 0,
                    },
                    format!("skipped: {why}"),
                ));
                continue;
            }
            items.push((e.path(), kind));
        }
        items.sort();
        let from = self.files.len();
        for r in read_and_parse(&items, shown, opts) {
            match r {
                Ok((f, p)) => {
                    self.files.push(f);
                    self.parsed.push(p);
                }
                Err(u) => self.errors.push(u.diag),
            }
        }
        self.index_dirs(from);
        self.by_dir.entry(dir.to_path_buf()).or_default();
        true
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

    /// The files of the module in `dir`: as OpenTofu reads them, a
    /// `NAME.tofu` file replaces `NAME.tf` (and `NAME.tofu.json`
    /// replaces `NAME.tf.json`).
    fn module_files(&self, dir: &Path) -> Vec<usize> {
        let ids: Vec<usize> = self.by_dir.get(dir).cloned().unwrap_or_default();
        let name = |fi: usize| {
            self.files[fi]
                .abs
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let tofu: HashSet<String> = ids
            .iter()
            .map(|&fi| name(fi))
            .filter(|n| n.ends_with(".tofu") || n.ends_with(".tofu.json"))
            .collect();
        if tofu.is_empty() {
            return ids;
        }
        ids.into_iter()
            .filter(|&fi| {
                let n = name(fi);
                let replaced = if let Some(stem) = n.strip_suffix(".tf.json") {
                    tofu.contains(&format!("{stem}.tofu.json"))
                } else if let Some(stem) = n.strip_suffix(".tf") {
                    tofu.contains(&format!("{stem}.tofu"))
                } else {
                    false
                };
                !replaced
            })
            .collect()
    }

    fn is_override(&self, fi: usize) -> bool {
        self.files[fi]
            .abs
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(crate::merge::is_override_file)
    }

    /// The blocks of a module's files as its override files change them,
    /// by (file, node) of the base block, and the override files' blocks
    /// that count as blocks of their own (a default provider configuration
    /// without a base, terraform blocks); errors go to `self.errors`. As
    /// Terraform, override files' check, removed and ephemeral blocks are
    /// ignored and their moved and import blocks are errors.
    fn overrides(&mut self, file_ids: &[usize], secrets: bool) -> Overrides {
        let mut merged = HashMap::new();
        let mut own = HashSet::new();
        let (mut over_ids, base_ids): (Vec<usize>, Vec<usize>) =
            file_ids.iter().partition(|&&fi| self.is_override(fi));
        if over_ids.is_empty() {
            return (merged, own);
        }
        // in the order of their names, as Terraform applies them
        over_ids.sort_by(|a, b| {
            self.files[*a]
                .abs
                .file_name()
                .cmp(&self.files[*b].abs.file_name())
        });
        let mut by_local: HashMap<String, (usize, usize)> = HashMap::new();
        for &fi in &base_ids {
            if let Parsed::Config(cfg) = &*self.parsed[fi] {
                for (ri, raw) in cfg.nodes.iter().enumerate() {
                    by_local.entry(raw.local.clone()).or_insert((fi, ri));
                }
            }
        }
        for &fi in &over_ids {
            let parsed = Arc::clone(&self.parsed[fi]);
            let Parsed::Config(cfg) = &*parsed else {
                continue;
            };
            for (ri, over) in cfg.nodes.iter().enumerate() {
                let loc = Loc {
                    file: self.files[fi].abs.display().to_string(),
                    line: over.line,
                    col: over.col,
                };
                let ephemeral = over.facts.mode == Some(rewind_model::ObjectMode::Ephemeral);
                match over.kind {
                    NodeKind::Terraform => {
                        own.insert((fi, ri));
                        continue;
                    }
                    NodeKind::Check | NodeKind::Removed => continue,
                    NodeKind::Data if ephemeral => continue,
                    NodeKind::Moved | NodeKind::Import => {
                        self.errors.push(Diagnostic {
                            severity: Severity::Error,
                            loc,
                            message: format!(
                                "cannot override {} blocks: they may appear only in normal files, not in override files",
                                over.kind
                            ),
                            source_line: None,
                        });
                        continue;
                    }
                    _ => {}
                }
                let Some(&(bfi, bri)) = by_local.get(&over.local) else {
                    if over.kind == NodeKind::Provider && over.name.is_empty() {
                        // a default provider configuration needs no base
                        by_local.insert(over.local.clone(), (fi, ri));
                        own.insert((fi, ri));
                        continue;
                    }
                    self.errors.push(Diagnostic {
                        severity: Severity::Error,
                        loc,
                        message: format!(
                            "missing base {} {} to override: an override file changes blocks the module's other files declare",
                            over.kind, over.local
                        ),
                        source_line: None,
                    });
                    continue;
                };
                let base_starts = self.item_starts(bfi, over_base_pos(&self.parsed[bfi], bri));
                let over_starts = self.item_starts(fi, (over.line, over.col));
                let base = merged
                    .entry((bfi, bri))
                    .or_insert_with(|| match &*self.parsed[bfi] {
                        Parsed::Config(c) => c.nodes[bri].clone(),
                        _ => over.clone(),
                    });
                if let Err(message) = crate::merge::merge(base, over, &base_starts, &over_starts) {
                    self.errors.push(Diagnostic {
                        severity: Severity::Error,
                        loc,
                        message,
                        source_line: None,
                    });
                }
            }
        }
        if secrets {
            for m in merged.values_mut() {
                m.secrets = secret_names(m.kind, &m.name, &m.body);
            }
        }
        (merged, own)
    }

    /// The items of the block that starts at `pos` in file `fi` (the file
    /// is read and parsed again: see crate::merge).
    fn item_starts(&self, fi: usize, (line, col): (u32, u32)) -> Vec<(u32, u32, String)> {
        let f = &self.files[fi];
        let bytes = match &f.bytes {
            Some(b) => b.clone(),
            None => std::fs::read(&f.abs).unwrap_or_default(),
        };
        if f.kind == FileKind::TfJson {
            let Ok(src) = std::str::from_utf8(&bytes) else {
                return Vec::new();
            };
            match parse_json(src).and_then(|j| json_config(&j, src)) {
                Ok(body) => crate::merge::item_starts(src, &body, line, col),
                Err(_) => Vec::new(),
            }
        } else {
            match parse_body_bytes(&bytes) {
                (src, Ok(body)) => crate::merge::item_starts(&src, &body, line, col),
                (_, Err(_)) => Vec::new(),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn instantiate(
        &mut self,
        dir: &Path,
        prefix: &str,
        key: &str,
        parent: Option<(usize, RawNode)>,
        depth: usize,
        opts: &Options,
        shown: &(dyn Fn(&Path) -> String + Sync),
    ) {
        if depth > 64 {
            let loc = parent
                .as_ref()
                .map(|p| self.nodes[p.0].loc.clone())
                .unwrap_or_default();
            self.errors.push(Diagnostic {
                severity: Severity::Error,
                loc,
                message: format!("modules nested more than 64 levels deep at {prefix} (a module that calls itself?)"),
                source_line: None,
            });
            return;
        }
        self.loaded_dirs.insert(dir.to_path_buf());
        let file_ids = self.module_files(dir);
        let (merged, own) = self.overrides(&file_ids, opts.whole_parse());
        let mut module = ModuleNodes {
            prefix,
            call: parent.as_ref().map(|p| p.0),
            calls: Vec::new(),
            declared_vars: HashSet::new(),
        };
        for &fi in &file_ids {
            let parsed = Arc::clone(&self.parsed[fi]);
            match &*parsed {
                Parsed::Config(cfg) => {
                    let file_abs = self.files[fi].abs.display().to_string();
                    for (line, col, msg) in &cfg.warnings {
                        let loc = Loc {
                            file: file_abs.clone(),
                            line: *line,
                            col: *col,
                        };
                        self.diags.push(warning(loc, msg.clone()));
                    }
                    let override_file = self.is_override(fi);
                    for (raw_index, raw) in cfg.nodes.iter().enumerate() {
                        // an override file's blocks are merged into their
                        // base blocks (terraform blocks merge anyway)
                        if override_file && !own.contains(&(fi, raw_index)) {
                            continue;
                        }
                        let refs = match merged.get(&(fi, raw_index)) {
                            Some(m) => (m, Refs::Owned(m.refs.clone())),
                            None => (raw, Refs::Raw(Arc::clone(&parsed), raw_index)),
                        };
                        self.add_config_node(&mut module, refs.0, refs.1, &file_abs);
                    }
                }
                Parsed::Tfvars(v) if prefix.is_empty() => self.add_tfvars_node(fi, v),
                _ => {}
            }
        }
        if let Some((call_idx, call_raw)) = &parent {
            self.call_arguments(prefix, *call_idx, call_raw, &module.declared_vars);
        }
        for (idx, raw) in module.calls {
            self.expand_call(dir, prefix, key, idx, raw, depth, opts, shown);
        }
    }

    /// One node of a module instance's configuration (`raw`, after
    /// overrides are merged, with `refs` to resolve later) added to the
    /// model, with its module edge, provider key and secret names.
    fn add_config_node(&mut self, module: &mut ModuleNodes, raw: &RawNode, refs: Refs, file: &str) {
        let prefix = module.prefix;
        let mut node = Node::new(raw.kind, crate::concat(&[prefix, &raw.local]));
        node.module = prefix.trim_end_matches('.').to_string();
        node.type_ = raw.type_.clone();
        node.name = raw.name.clone();
        node.body = Arc::clone(&raw.body);
        node.facts = raw.facts.clone();
        if raw.sensitive {
            // the value is secret; its description, type... are not
            let key = if raw.kind == NodeKind::Output {
                "value"
            } else {
                "default"
            };
            node.sensitive.push(rewind_model::Path::root().key(key));
        }
        add_secret_paths(&mut node, &raw.secrets);
        node.loc = Loc {
            file: file.to_string(),
            line: raw.line,
            col: raw.col,
        };
        if raw.kind == NodeKind::Variable {
            module.declared_vars.insert(raw.name.clone());
        }
        let Some(idx) = self.add_node(node) else {
            return;
        };
        if let Some(call_idx) = module.call {
            let call = self.nodes[call_idx].address.clone();
            self.nodes[idx].add_edge(call, EdgeKind::Module);
        }
        if !raw.refs.is_empty() {
            self.pending.push(Pending {
                node: node_number(idx),
                at: node_number(idx),
                refs,
            });
        }
        if raw.kind.is_resource_like() || matches!(raw.kind, NodeKind::Import | NodeKind::Action) {
            let pkey = match &raw.provider {
                Some((n, a)) if a.is_empty() => n.clone(),
                Some((n, a)) => format!("{n}.{a}"),
                None if raw.kind == NodeKind::Import => return,
                None => raw.type_.split('_').next().unwrap_or_default().to_string(),
            };
            self.nodes[idx].facts.provider_key = Some(pkey);
        }
        if raw.kind == NodeKind::Module {
            module.calls.push((idx, raw.clone()));
        }
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

    /// A `.tfvars` file of the root module as a node.
    fn add_tfvars_node(&mut self, fi: usize, v: &Value) {
        let abs = &self.files[fi].abs;
        let name = abs
            .strip_prefix(&self.root_abs)
            .map(rel_str)
            .unwrap_or_else(|_| abs.display().to_string());
        let mut node = Node::new(
            NodeKind::Tfvars,
            format!("tfvars[{}]", rewind_model::value::quote(&name)),
        );
        node.type_ = name;
        node.body = v.clone().into();
        node.loc = Loc {
            file: abs.display().to_string(),
            line: 1,
            col: 1,
        };
        self.add_node(node);
    }

    /// The arguments of a module call become references of the child
    /// instance's variables (resolved in the calling module); an argument
    /// the module has no variable for is a warning, as Terraform ignores it.
    fn call_arguments(
        &mut self,
        prefix: &str,
        call_idx: usize,
        call_raw: &RawNode,
        declared_vars: &HashSet<String>,
    ) {
        for (name, refs) in &call_raw.args {
            let var = format!("{prefix}var.{name}");
            if let Some(&vi) = self.index.get(&var) {
                if !refs.is_empty() {
                    // resolved in the calling module (the call's), with
                    // the call's file
                    self.pending.push(Pending {
                        node: node_number(vi),
                        at: node_number(call_idx),
                        refs: Refs::Owned(refs.clone()),
                    });
                }
            } else if !declared_vars.contains(name) {
                let loc = self.nodes[call_idx].loc.clone();
                self.diags.push(warning(
                    loc,
                    format!(
                        "module {} has no variable {name:?}; the argument is ignored by Terraform",
                        self.nodes[call_idx].address
                    ),
                ));
            }
        }
    }

    /// Expands call node `idx` (`raw`, in module `prefix` read from `dir`,
    /// `key` in modules.json): reads the module it calls, local or
    /// downloaded, as a child module; a remote module that was not
    /// downloaded stays an opaque node.
    #[allow(clippy::too_many_arguments)]
    fn expand_call(
        &mut self,
        dir: &Path,
        prefix: &str,
        key: &str,
        idx: usize,
        raw: RawNode,
        depth: usize,
        opts: &Options,
        shown: &(dyn Fn(&Path) -> String + Sync),
    ) {
        let source = raw
            .body
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let child_key = if key.is_empty() {
            raw.name.clone()
        } else {
            format!("{key}.{}", raw.name)
        };
        let child_prefix = format!("{prefix}module.{}.", raw.name);
        self.calls.insert(
            self.nodes[idx].address.clone(),
            (prefix.to_string(), raw.providers.clone()),
        );
        let Some(target) = self.module_target(dir, &source, &child_key, idx) else {
            self.opaque_call(idx, &source, &raw);
            return;
        };
        if !self.ensure_dir(&target, opts, shown) || !target.is_dir() {
            let loc = self.nodes[idx].loc.clone();
            self.errors.push(Diagnostic {
                severity: Severity::Error,
                loc,
                message: format!(
                    "module {}: source {source:?} is not a directory ({})",
                    self.nodes[idx].address,
                    target.display()
                ),
                source_line: None,
            });
            return;
        }
        self.instantiate(
            &target,
            &child_prefix,
            &child_key,
            Some((idx, raw)),
            depth + 1,
            opts,
            shown,
        );
    }

    /// Where the module that call node `idx` (source `source`, `child_key`
    /// in modules.json) is read from: the directory of a local source, or
    /// the one `terraform init` downloaded it to; records which on the
    /// node. `None`: a remote module that was not downloaded.
    fn module_target(
        &mut self,
        dir: &Path,
        source: &str,
        child_key: &str,
        idx: usize,
    ) -> Option<PathBuf> {
        let local = source.starts_with("./")
            || source.starts_with("../")
            || source == "."
            || source == "..";
        if local {
            // Terraform records local modules in the manifest too, under
            // the calling module's directory.
            self.nodes[idx].facts.more.resolved = Some(ModuleSource::Local);
            return Some(normalize(&dir.join(source)));
        }
        let (d, version) = self.modules_json.get(child_key).cloned()?;
        if !d.is_dir() {
            return None;
        }
        self.nodes[idx].facts.more.resolved = Some(ModuleSource::Downloaded);
        if !version.is_empty() {
            self.nodes[idx].facts.more.downloaded_version = Some(version);
        }
        Some(d)
    }

    /// A call node `idx` whose module cannot be read:
    /// an error when it has no `source` at all; otherwise a remote module
    /// that was not downloaded, an opaque node whose arguments are its own
    /// references. (`source = var.x` is Terraform 1.15's: known at init
    /// only, so the module is opaque here unless it was downloaded.)
    fn opaque_call(&mut self, idx: usize, source: &str, raw: &RawNode) {
        if source.is_empty() && raw.body.get("source").is_none() {
            let loc = self.nodes[idx].loc.clone();
            self.errors.push(Diagnostic {
                severity: Severity::Error,
                loc,
                message: format!("module {} has no source", self.nodes[idx].address),
                source_line: None,
            });
            return;
        }
        self.nodes[idx].facts.more.resolved = Some(ModuleSource::Remote);
        let refs: Vec<RawRef> = raw
            .args
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect();
        if !refs.is_empty() {
            // resolved in the call's own module (`prefix`)
            self.pending.push(Pending {
                node: node_number(idx),
                at: node_number(idx),
                refs: Refs::Owned(refs),
            });
        }
    }

    /// The edges and warnings of a run of pending references (resolving
    /// only reads the index, so runs resolve on every core at once).
    fn resolve_pending(&self, pending: &[Pending]) -> Resolution {
        // about one edge a reference: made at their number, not grown
        // (by doubling, leaving the smaller blocks behind)
        let refs = pending.iter().map(|p| p.refs.get().len()).sum();
        let mut edges = Vec::with_capacity(refs);
        let mut warnings = Vec::new();
        // the scope's prefix and the address looked up, one allocation each
        let mut scope = String::new();
        let mut buf = String::new();
        for p in pending {
            let at = &self.nodes[p.at as usize];
            scope.clear();
            if !at.module.is_empty() {
                scope.push_str(&at.module);
                scope.push('.');
            }
            for r in p.refs.get() {
                let mut edge = |t: usize| {
                    let t = node_number(t);
                    if t != p.node {
                        edges.push((p.node, t, r.kind));
                    }
                };
                match self.resolve_ref(&scope, r, &mut buf) {
                    Resolved::Node(t) => edge(t),
                    Resolved::Nodes(targets) => targets.into_iter().for_each(edge),
                    Resolved::Ignore => {}
                    Resolved::Missing(what) => warnings.push(warning(
                        Loc {
                            file: at.loc.file.clone(),
                            line: r.line,
                            col: r.col,
                        },
                        format!("reference to undeclared {what}"),
                    )),
                }
            }
        }
        (edges, warnings)
    }

    fn resolve(&mut self, threads: usize) {
        let pending = std::mem::take(&mut self.pending);
        let runs = self.resolve_runs(&pending, threads);
        // The references are resolved: the parse results they were read
        // from (when the load frees them, these are their last holders)
        // are freed on another core while the edges are applied, which
        // left it idle (0.06 s of the one-core path at 100k resources).
        std::thread::scope(|s| {
            if threads > 1 {
                s.spawn(move || drop(pending));
            } else {
                drop(pending);
            }
            self.apply_edges(runs);
            self.provider_edges();
        });
    }

    /// The edges and warnings of the references of `pending`, resolved
    /// on `threads` threads, in runs in the order of `pending`.
    fn resolve_runs(&self, pending: &[Pending], threads: usize) -> Vec<Resolution> {
        if threads <= 1 || pending.len() < 4096 {
            return vec![self.resolve_pending(pending)];
        }
        let size = pending.len().div_ceil(threads);
        let mut chunks = pending.chunks(size);
        let first = chunks.next().unwrap_or_default();
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .map(|run| s.spawn(move || self.resolve_pending(run)))
                .collect();
            // the first run on this thread (one thread fewer started)
            let mut runs = vec![self.resolve_pending(first)];
            runs.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            runs
        })
    }

    /// Adds the resolved references' edges `runs` to their nodes.
    fn apply_edges(&mut self, runs: Vec<Resolution>) {
        // each node's edges in one block of their number (pushed one by
        // one they grew by doubling, and the load's end moved them to
        // blocks of the right size): the references' and the provider's
        let mut more = vec![0u32; self.nodes.len()];
        for (edges, _) in &runs {
            for &(node, _, _) in edges {
                more[node as usize] += 1;
            }
        }
        for (n, more) in self.nodes.iter_mut().zip(more) {
            let provider = u32::from(n.facts.provider_key.is_some());
            n.edges.reserve_exact((more + provider) as usize);
        }
        // applied in the order of the pending list: the same model and the
        // same warnings whatever the number of threads
        for (edges, warnings) in runs {
            for (node, to, kind) in edges {
                let to = self.nodes[to as usize].address.clone();
                self.nodes[node as usize].add_edge(to, kind);
            }
            self.diags.extend(warnings);
        }
    }

    /// Adds each node's edge to the provider configuration it uses, and
    /// each module call's to those it passes.
    fn provider_edges(&mut self) {
        for i in 0..self.nodes.len() {
            if let Some(key) = self.take_provider_key(i) {
                let prefix = if self.nodes[i].module.is_empty() {
                    String::new()
                } else {
                    crate::concat(&[&self.nodes[i].module, "."])
                };
                let target = self.resolve_provider(&prefix, &key, 0);
                self.nodes[i].add_edge(target, EdgeKind::Provider);
            }
        }
        let call_addrs: Vec<String> = self.calls.keys().cloned().collect();
        for call in call_addrs {
            let (prefix, providers) = self.calls[&call].clone();
            for (_, parent) in providers {
                let target = self.resolve_provider(&prefix, &parent, 0);
                if let Some(&ci) = self.index.get(&call) {
                    self.nodes[ci].add_edge(target, EdgeKind::Provider);
                }
            }
        }
        // Provider configurations inside a module depend on the call too
        // (their references were resolved with the rest).
    }

    /// The provider configuration `key` (`aws` or `aws.west`) means in the
    /// module at `prefix`.
    fn resolve_provider(&mut self, prefix: &str, key: &str, depth: usize) -> String {
        let here = crate::concat(&[prefix, "provider.", key]);
        if self.index.contains_key(&here) || depth > 64 {
            return here;
        }
        if !prefix.is_empty() {
            let call = prefix.trim_end_matches('.').to_string();
            if let Some((parent_prefix, providers)) = self.calls.get(&call).cloned() {
                if let Some((_, parent_key)) = providers.iter().find(|(c, _)| c == key) {
                    return self.resolve_provider(&parent_prefix, parent_key, depth + 1);
                }
                if !key.contains('.') && providers.is_empty() {
                    return self.resolve_provider(&parent_prefix, key, depth + 1);
                }
                if !key.contains('.') {
                    // An explicit providers map without this default provider:
                    // Terraform still passes the default implicitly.
                    return self.resolve_provider(&parent_prefix, key, depth + 1);
                }
            }
        }
        // Not configured anywhere: Terraform uses an empty configuration of
        // the provider in the root module.
        let root = format!("provider.{key}");
        if !self.index.contains_key(&root) {
            let mut n = Node::new(NodeKind::Provider, root.clone());
            let mut parts = key.splitn(2, '.');
            n.type_ = parts.next().unwrap_or_default().to_string();
            n.name = parts.next().unwrap_or_default().to_string();
            n.facts.more.implicit = true;
            let i = self.nodes.len();
            self.index.insert(root.clone(), i);
            self.nodes.push(n);
        }
        root
    }

    /// What reference `r`, written in module `scope`, depends on: the
    /// nodes it names, or what it names that does not exist; references
    /// to `count`, `each`, `self`, `path` and `terraform` (and incomplete
    /// ones) depend on nothing. `buf` holds the address looked up.
    fn resolve_ref(&self, scope: &str, r: &RawRef, buf: &mut String) -> Resolved {
        let s = |i: usize| r.step(i).filter(|x| !x.starts_with('['));
        let root = r.root();
        // the node at `scope` + `parts`, or what is missing
        let mut find = |parts: &[&str], missing: &dyn Fn() -> String| {
            buf.clear();
            buf.push_str(scope);
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                buf.push_str(part);
            }
            match self.index.get(buf.as_str()) {
                Some(&i) => Resolved::Node(i),
                None => Resolved::Missing(missing()),
            }
        };
        match root {
            "count" | "each" | "self" | "path" | "terraform" => Resolved::Ignore,
            "var" | "local" => {
                let Some(name) = s(0) else {
                    return Resolved::Ignore;
                };
                find(&[root, name], &|| {
                    format!(
                        "{} {root}.{name}",
                        if root == "var" {
                            "input variable"
                        } else {
                            "local value"
                        },
                    )
                })
            }
            "module" => match s(0) {
                Some(name) => self.resolve_module_ref(scope, r, name, buf),
                None => Resolved::Ignore,
            },
            "data" | "ephemeral" => {
                let (Some(t), Some(n)) = (s(0), s(1)) else {
                    return Resolved::Ignore;
                };
                find(&[root, t, n], &|| format!("{root} source {root}.{t}.{n}"))
            }
            "action" => {
                let (Some(t), Some(n)) = (s(0), s(1)) else {
                    return Resolved::Ignore;
                };
                find(&["action", t, n], &|| format!("action action {t}.{n}"))
            }
            "resource" => {
                // `resource.TYPE.NAME`: the explicit form Terraform
                // accepts for a managed resource
                let (Some(t), Some(n)) = (s(0), s(1)) else {
                    return Resolved::Ignore;
                };
                find(&[t, n], &|| format!("resource {t}.{n}"))
            }
            ty => {
                let Some(name) = s(0) else {
                    return Resolved::Missing(format!("name {ty:?}"));
                };
                find(&[ty, name], &|| format!("resource {ty}.{name}"))
            }
        }
    }

    /// What a reference `r` to `module.NAME` in module `scope` depends
    /// on: the one output it reads, or (a whole-module reference) all the
    /// module's outputs and the call; only the call for a remote module
    /// that was not downloaded, and for `depends_on`. `buf` holds the
    /// address looked up.
    fn resolve_module_ref(
        &self,
        scope: &str,
        r: &RawRef,
        name: &str,
        buf: &mut String,
    ) -> Resolved {
        buf.clear();
        buf.push_str(scope);
        buf.push_str("module.");
        buf.push_str(name);
        let Some(&ci) = self.index.get(buf.as_str()) else {
            return Resolved::Missing(format!("module call module.{name}"));
        };
        let opaque = self.nodes[ci].facts.more.resolved == Some(ModuleSource::Remote);
        // depends_on = [module.x] waits for everything inside it.
        if opaque || r.kind == EdgeKind::DependsOn {
            return Resolved::Node(ci);
        }
        // skip an instance key: module.x[0].out (a splat or a
        // computed key ends Terraform's traversal: `module.x[*].out`
        // refers to the whole module)
        let out_step = match r.step(1) {
            Some("[*]") => usize::MAX,
            Some(x) if x.starts_with('[') => 2,
            _ => 1,
        };
        buf.push_str(".output.");
        match r.step(out_step).filter(|x| !x.starts_with('[')) {
            Some(out) => {
                buf.push_str(out);
                match self.index.get(buf.as_str()) {
                    Some(&i) => Resolved::Node(i),
                    None => Resolved::Missing(format!("output {out:?} of module.{name}")),
                }
            }
            None => {
                let prefix = buf.as_str();
                let mut outs: Vec<usize> = self
                    .index
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix) && !k[prefix.len()..].contains('.'))
                    .map(|(_, &i)| i)
                    .collect();
                // the whole module: its outputs, and the call (all
                // of the module, as Terraform's `module.x (close)`)
                outs.push(ci);
                Resolved::Nodes(outs)
            }
        }
    }

    /// Values assigned to sensitive variables are secret wherever they are
    /// written: in variable files and in module call arguments.
    fn sensitive_assignments(&mut self) {
        let secret_vars: HashSet<String> = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Variable && !n.sensitive.is_empty())
            .map(|n| n.address.clone())
            .collect();
        for n in &mut self.nodes {
            let keys: Vec<String> = match n.kind {
                NodeKind::Tfvars => n
                    .body
                    .as_map()
                    .map(|m| {
                        m.keys()
                            .filter(|k| secret_vars.contains(&format!("var.{k}")))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                NodeKind::Module => n
                    .body
                    .as_map()
                    .map(|m| {
                        m.keys()
                            .filter(|k| secret_vars.contains(&format!("{}.var.{k}", n.address)))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => continue,
            };
            for k in keys {
                let p = rewind_model::Path::root().key(&k);
                if !n.sensitive.contains(&p) {
                    n.sensitive.push(p);
                }
            }
            n.sensitive.sort();
        }
    }

    /// Root variables depend on the variable files Terraform loads
    /// automatically (`terraform.tfvars`, `*.auto.tfvars`, and their JSON forms).
    /// Adds the variable values given beside the directory as the
    /// `tfvars` nodes of [`crate::inputs`]; problems go to `self.errors`
    /// (a `-var` for an undeclared variable is Terraform's error too; in a
    /// `-var-file` it is its warning; `TF_VAR_` of undeclared variables
    /// are ignored, as Terraform ignores them).
    fn add_inputs(&mut self, opts: &Options) {
        use crate::inputs::{input_node, InputSource, CLI_INPUT, ENV_INPUT};
        let mut env = Given::default();
        let mut cli = Given::default();
        for source in &opts.inputs {
            match source {
                InputSource::Env(name, raw) => self.env_input(name, raw, &mut env),
                InputSource::Var(name, raw) => self.var_input(name, raw, &mut cli),
                InputSource::File(path) => self.file_input(path, &mut cli),
            }
        }
        for (address, kind, (values, sources)) in [
            (ENV_INPUT, InputKind::Env, env),
            (CLI_INPUT, InputKind::Cli, cli),
        ] {
            if opts.inputs.iter().any(|s| match s {
                InputSource::Env(..) => kind == InputKind::Env,
                _ => kind == InputKind::Cli,
            }) {
                let node = input_node(address, kind, values, sources);
                self.add_node(node);
            }
        }
    }

    /// The node of root variable `name`, when the root module declares it.
    fn declared_variable(&self, name: &str) -> Option<usize> {
        self.index
            .get(&format!("var.{name}"))
            .copied()
            .filter(|&i| self.nodes[i].kind == NodeKind::Variable)
    }

    /// Adds `TF_VAR_name=raw` to `env`; ignored when the variable is not
    /// declared, an error when its value does not parse.
    fn env_input(&mut self, name: &str, raw: &str, env: &mut Given) {
        let Some(vi) = self.declared_variable(name) else {
            return;
        };
        match self.raw_value(name, raw, vi) {
            Ok(v) => {
                env.0.insert(name.to_string(), v);
                env.1
                    .insert(name.to_string(), Value::str(format!("TF_VAR_{name}")));
            }
            Err(m) => self.errors.push(error_at(
                &format!("TF_VAR_{name}"),
                0,
                0,
                format!("invalid value for variable {name:?} in the environment: {m}"),
                None,
            )),
        }
    }

    /// Adds `--var name=raw` to `cli`; an error when the variable is not
    /// declared or its value does not parse.
    fn var_input(&mut self, name: &str, raw: &str, cli: &mut Given) {
        let Some(vi) = self.declared_variable(name) else {
            self.errors.push(error_at(
                &format!("--var {name}"),
                0,
                0,
                format!("value for undeclared variable: the root module declares no variable {name:?} (Terraform refuses it too)"),
                None,
            ));
            return;
        };
        match self.raw_value(name, raw, vi) {
            Ok(v) => {
                cli.0.insert(name.to_string(), v);
                cli.1.insert(name.to_string(), Value::str("--var"));
            }
            Err(m) => self.errors.push(error_at(
                &format!("--var {name}"),
                0,
                0,
                format!("invalid value for variable {name:?}: {m}"),
                None,
            )),
        }
    }

    /// Adds the values of the variable file `path` (`--var-file`) to
    /// `cli`, each with the file as its source, named from the root module
    /// when it is inside it (the same file of two checkouts is the same
    /// source). An unreadable or invalid file is an error; a value for an
    /// undeclared variable a warning.
    fn file_input(&mut self, path: &Path, cli: &mut Given) {
        let abs = normalize(&std::env::current_dir().unwrap_or_default().join(path));
        let given = path.display().to_string();
        let shown = match abs.strip_prefix(&self.root_abs) {
            Ok(rel) => rel_str(rel),
            Err(_) => given.clone(),
        };
        let bytes = match read_bounded(path, MAX_VAR_FILE) {
            Ok(b) => b,
            Err(e) => {
                self.errors.push(error_at(
                    &given,
                    0,
                    0,
                    format!("cannot read the variable file: {e}"),
                    None,
                ));
                return;
            }
        };
        let kind = if given.ends_with(".json") {
            FileKind::TfvarsJson
        } else {
            FileKind::Tfvars
        };
        let values = match parse_bytes(&bytes, kind, &given) {
            Ok(Parsed::Tfvars(Value::Map(m))) => m,
            Ok(_) => return,
            Err(d) => {
                self.errors.push(d);
                return;
            }
        };
        for (k, v) in values {
            if self.declared_variable(&k).is_none() {
                self.diags.push(warning(
                    Loc {
                        file: given.clone(),
                        line: 1,
                        col: 1,
                    },
                    format!("value for undeclared variable {k:?}: the root module declares no such variable, so Terraform ignores it"),
                ));
            }
            cli.1.insert(k.clone(), Value::str(shown.clone()));
            cli.0.insert(k, v);
        }
    }

    /// A raw value of the command line or environment for variable `vi`:
    /// a string, or an HCL expression when the variable's type is not
    /// `string` (as Terraform reads it).
    fn raw_value(&self, name: &str, raw: &str, vi: usize) -> Result<Value, String> {
        if crate::inputs::is_literal_mode(Some(&self.nodes[vi])) {
            Ok(Value::String(raw.to_string()))
        } else {
            crate::inputs::parse_hcl_value(name, raw)
        }
    }

    fn tfvars_edges(&mut self) {
        let auto: Vec<(String, Vec<String>)> = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Tfvars)
            .filter(|n| {
                let t = n.type_.as_str();
                n.facts.more.input.is_some()
                    || !t.contains('/')
                        && (t == "terraform.tfvars"
                            || t == "terraform.tfvars.json"
                            || t.ends_with(".auto.tfvars")
                            || t.ends_with(".auto.tfvars.json"))
            })
            .map(|n| {
                let keys = n
                    .body
                    .as_map()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                (n.address.clone(), keys)
            })
            .collect();
        for (addr, keys) in auto {
            for k in keys {
                if let Some(&vi) = self.index.get(&format!("var.{k}")) {
                    self.nodes[vi].add_edge(addr.clone(), EdgeKind::Reference);
                }
            }
        }
    }
}

/// Attribute names that hold secrets in every provider Terraform users
/// meet (the providers' schemas mark them sensitive; rewind has no schemas).
/// A word counts as a whole name or as one of its parts, parts being
/// separated by `_`, `-` or a change from a small letter to a capital
/// (`db_password`, `db-password`, `dbPassword`, `secretKey`).
pub(crate) fn is_secret_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "private_key",
        "api_key",
        "apikey",
        "access_key",
        "client_secret",
        "connection_string",
        "credentials",
        "master_password",
        "auth_key",
        "sas",
    ];
    const NOT: &[&str] = &["_arn", "_id", "_name", "_version"];
    if name.len() > 64 || !name.bytes().all(|b| b.is_ascii()) {
        return false;
    }
    // lower case, one `_` between parts (a name of 64 bytes has at most
    // 32 small-to-capital changes)
    let mut buf = [0u8; 96];
    let mut len = 0;
    let mut prev_small = false;
    for &b in name.as_bytes() {
        if b.is_ascii_uppercase() && prev_small {
            buf[len] = b'_';
            len += 1;
        }
        prev_small = b.is_ascii_lowercase() || b.is_ascii_digit();
        buf[len] = if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        };
        len += 1;
    }
    let n: &[u8] = &buf[..len];
    if NOT.iter().any(|s| n.ends_with(s.as_bytes())) {
        return false;
    }
    // the word is the whole name, or an underscore-separated part of it:
    // it starts where a part starts and ends where a part ends (this runs
    // on every key of every resource, so no substring searcher is built)
    let mut rest = n;
    loop {
        // every word starts with one of these letters: most parts of most
        // names are told apart by their first letter alone
        let hit = matches!(rest.first(), Some(b'p' | b's' | b't' | b'a' | b'c' | b'm'))
            && WORDS.iter().any(|w| {
                let w = w.as_bytes();
                rest.starts_with(w) && (rest.len() == w.len() || rest[w.len()] == b'_')
            });
        if hit {
            return true;
        }
        match rest.iter().position(|&b| b == b'_') {
            Some(j) => rest = &rest[j + 1..],
            None => return false,
        }
    }
}

/// Marks attributes with secret-looking names as sensitive (config nodes
/// and state instances alike).
pub fn mark_secret_names(node: &mut Node) {
    let found = secret_names(node.kind, &node.name, &node.body);
    add_secret_paths(node, &found);
}

/// Adds `found` (paths none of which is a prefix of another) to the
/// node's sensitive paths, but those under one it has.
pub(crate) fn add_secret_paths(node: &mut Node, found: &[rewind_model::Path]) {
    if found.is_empty() {
        return;
    }
    for p in found {
        if !node.sensitive.iter().any(|s| s.is_prefix_of(p)) {
            node.sensitive.push(p.clone());
        }
    }
    node.sensitive.sort();
}

/// The paths of a node's body that hold secrets by their names or by how
/// they are written, in the order they are written; none is under
/// another:
///
/// * in the arguments of resources, data sources, providers, module
///   calls, state instances, the `terraform` block (a backend's
///   `access_key`) and variable files: an attribute or object key named
///   like a secret ([`is_secret_name`]), at any depth;
/// * a local, an output or a variable named like a secret: its value
///   (its default, and so the variable files and module arguments that
///   set it);
/// * anywhere: a value whose expression marks it (`sensitive("...")`) or
///   builds an object with a key named like a secret
///   (`templatefile("init.tpl", { password = "..." })`), as a whole.
pub(crate) fn secret_names(kind: NodeKind, name: &str, body: &Value) -> Vec<rewind_model::Path> {
    // the key a named value sits at, and whether its name makes it secret
    let value_key = match kind {
        NodeKind::Local | NodeKind::Output => "value",
        NodeKind::Variable => "default",
        NodeKind::Resource
        | NodeKind::Data
        | NodeKind::Provider
        | NodeKind::Module
        | NodeKind::Instance
        | NodeKind::Action
        | NodeKind::Terraform
        | NodeKind::Tfvars => {
            let mut found = Vec::new();
            walk_secrets(body, &mut Vec::new(), &mut found, 0);
            return found;
        }
        _ => return Vec::new(),
    };
    let value = body.as_map().and_then(|m| m.get(value_key));
    let root = rewind_model::Path::root().key(value_key);
    let trivial = matches!(value, Some(Value::Null | Value::Bool(_)));
    // a variable named like a secret is secret without a default: what
    // sets it is
    let named = is_secret_name(name) && !trivial && (value.is_some() || kind == NodeKind::Variable);
    if named || value.is_some_and(marked_secret) {
        return vec![root];
    }
    let mut found = Vec::new();
    if let Some(v) = value {
        walk_secrets(v, &mut vec![SecretStep::Key(value_key)], &mut found, 0);
    }
    found
}

/// A value written so that it is secret as a whole: an expression that
/// marks it or builds an object with a key named like a secret.
fn marked_secret(v: &Value) -> bool {
    matches!(v, Value::Expr(e) if crate::sensitive::builds_secret(e))
}

/// A step of the path [`walk_secrets`] is at, borrowed: it only becomes a
/// `Path` when a secret is found (most keys are not secrets).
enum SecretStep<'a> {
    Key(&'a str),
    Index(usize),
}

/// The secrets under `v` (at the path `stack`) by name or by how they are
/// written, into `found`.
fn walk_secrets<'a>(
    v: &'a Value,
    stack: &mut Vec<SecretStep<'a>>,
    found: &mut Vec<rewind_model::Path>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let mut visit = |step: SecretStep<'a>, child: &'a Value, named: bool| {
        let secret =
            (named && !matches!(child, Value::Null | Value::Bool(_))) || marked_secret(child);
        if secret {
            let mut p = rewind_model::Path::root();
            for s in stack.iter().chain([&step]) {
                p = match s {
                    SecretStep::Key(k) => p.key(k),
                    SecretStep::Index(i) => p.index(*i),
                };
            }
            found.push(p);
        } else if matches!(child, Value::Map(_) | Value::List(_)) {
            stack.push(step);
            walk_secrets(child, stack, found, depth + 1);
            stack.pop();
        }
    };
    match v {
        Value::Map(m) => {
            for (k, child) in m {
                visit(SecretStep::Key(k), child, is_secret_name(k));
            }
        }
        Value::List(l) => {
            for (i, child) in l.iter().enumerate() {
                visit(SecretStep::Index(i), child, false);
            }
        }
        _ => {}
    }
}

enum Resolved {
    Node(usize),
    Nodes(Vec<usize>),
    Ignore,
    Missing(String),
}

/// Phase timings on stderr when `REWIND_TRACE` is set (for profiling).
pub struct Trace {
    on: bool,
    last: std::cell::Cell<std::time::Instant>,
    /// The process's processor time (user and system) at the last mark.
    cpu: std::cell::Cell<f64>,
}

/// The processor time (user and system, all threads) the process has
/// used, in seconds, where the system tells it (Linux's
/// `/proc/self/stat`, in ticks of 1/100 s); else 0.
fn process_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // the fields after the command's name, which is in parentheses
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

impl Trace {
    pub fn new() -> Trace {
        let on = std::env::var_os("REWIND_TRACE").is_some();
        Trace {
            on,
            last: std::cell::Cell::new(std::time::Instant::now()),
            cpu: std::cell::Cell::new(if on { process_cpu() } else { 0.0 }),
        }
    }

    pub fn mark(&self, what: &str) {
        if self.on {
            let now = std::time::Instant::now();
            // resident and peak memory, where the system tells them
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let mb = |key: &str| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
                    .map(|kb| format!(" {}MiB", kb / 1024))
                    .unwrap_or_default()
            };
            // the processor time of every thread of the process (on
            // every core) since this trace's last mark
            let cpu = process_cpu();
            eprintln!(
                "trace: {what}: {:.3}s (cpu {:.2}s, rss{}, peak{})",
                (now - self.last.get()).as_secs_f64(),
                cpu - self.cpu.get(),
                mb("VmRSS:"),
                mb("VmHWM:")
            );
            self.last.set(now);
            self.cpu.set(cpu);
        }
    }
}

impl Default for Trace {
    fn default() -> Self {
        Trace::new()
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
            "",
        ] {
            assert!(!is_secret_name(no), "{no}");
        }
    }
}
