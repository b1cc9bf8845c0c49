//! The files of a load: what kinds there are, discovery (which files
//! and directories a snapshot holds) and reading them, bounded and
//! without following what is not a regular file.

use super::*;

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

    /// The largest file of this kind read from a directory: a file
    /// parsed into syntax takes many times its size in memory (a 20 MB
    /// list of numbers took 1.6 GB), so what is parsed is bounded well
    /// below what exhausts a machine ([`MAX_PARSED_FILE`], a state
    /// [`MAX_STATE_INPUT`]); a file only stored (a template) by
    /// [`MAX_FILE`].
    pub fn read_limit(self) -> u64 {
        match self {
            FileKind::State => MAX_STATE_INPUT,
            FileKind::Template => MAX_FILE,
            _ => MAX_PARSED_FILE,
        }
    }
}

/// The largest configuration, variable, lock or `modules.json` file
/// read: 64 MiB, hundreds of thousands of blocks in one file.
pub const MAX_PARSED_FILE: u64 = 64 << 20;

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
pub(super) fn call_may_read_files(bytes: &[u8], kind: FileKind) -> bool {
    let json = matches!(kind, FileKind::TfJson | FileKind::TfvarsJson);
    memchr::memmem::find(bytes, b"file").is_some()
        || (json && memchr::memmem::find(bytes, b"\\u").is_some())
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

pub(super) fn rel_str(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}

/// The path of file `abs` inside the tree rooted at `base`, `/`-separated:
/// a file's path in a snapshot, and its group's key in the model.
pub fn tree_path(base: &Path, abs: &Path) -> String {
    rel_str(abs.strip_prefix(base).unwrap_or(abs))
}

/// Should the walk descend into this directory? (`rel` is relative to the root.)
pub(super) fn keep_dir(rel: &Path) -> bool {
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
pub(super) fn escape_path(p: &Path) -> String {
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
pub(super) fn not_readable_as_file(
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

pub(super) fn mtime_ns(md: &std::fs::Metadata) -> i64 {
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
pub(super) const O_NONBLOCK: i32 = 0o4000;

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
pub(super) const O_NONBLOCK: i32 = 0x0004;

/// [`read_regular`] of a file of `kind` no larger than its
/// [`FileKind::read_limit`], refused by its size before it is read (a
/// 6 GB state was read whole, then refused by the store; a 2 GB `.tf`
/// read whole before its parse failed on its first line).
pub(super) fn read_at_most(path: &Path, size: u64, kind: FileKind) -> std::io::Result<Vec<u8>> {
    let limit = kind.read_limit();
    if size > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file is {size} bytes, more than rewind reads for a file of its kind ({limit} bytes)"),
        ));
    }
    // read no more than the limit either, should it grow meanwhile
    let bytes = read_regular(path, size)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("the file grew to {} bytes while read, more than rewind reads for a file of its kind ({limit} bytes)", bytes.len()),
        ));
    }
    Ok(bytes)
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
    read_bounded_from(std::fs::File::open(path)?, limit)
}

/// [`read_bounded`] of an open stream (`--state -`, standard input): the
/// same limit and the same refusal at the first NUL byte, so an endless
/// stream is refused, not held in memory.
pub fn read_bounded_from(mut f: impl std::io::Read, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
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
pub(super) fn read_open(mut f: std::fs::File, size: u64) -> std::io::Result<Vec<u8>> {
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
pub(super) fn open_regular(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
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
