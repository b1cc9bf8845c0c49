//! The local snapshot cache of one source directory, in two files:
//!
//! * `<key>.stat`: file stats with their content hashes and the tree and
//!   model of the last snapshot: small, read on every snapshot, enough to
//!   recognize an unchanged directory without reading anything else;
//! * `<key>.parse`: parse results by content hash, read only when some
//!   file changed, so unchanged files are not parsed again.
//!
//! The cache is only an accelerator: a missing, stale or corrupt file is
//! ignored (each has its own checksum) and rebuilt. For an encrypted
//! store both files are sealed with the store's cache key (they hold what
//! the directory's files hold: parse results keep secret values).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rewind_model::codec::{Dec, DecodeError, Enc};
use rewind_model::Hash;
use rewind_odb::{CacheSeal, ObjectId};
use rewind_parse::{FileKind, FileStat, Parsed};

const STAT_MAGIC: &[u8; 8] = b"RWSTAT04";
const PARSE_MAGIC: &[u8; 8] = b"RWPRSE01";
/// The first bytes of a sealed cache file: then a nonce, the
/// XChaCha20-Poly1305 ciphertext of the plain file and its tag.
const SEALED_MAGIC: &[u8; 8] = b"RWSEAL01";

/// A file's identity as last seen: size, times, inode and device, as git
/// compares them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) stat: FileStat,
    pub(crate) executable: bool,
    pub(crate) hash: Hash,
}

/// What the last snapshot of this directory produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LastSnapshot {
    pub(crate) tree: ObjectId,
    pub(crate) model: ObjectId,
    pub(crate) root: String,
    pub(crate) base: String,
    pub(crate) counts: Counts,
}

/// The counts a snapshot record keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) files: u64,
    pub(crate) resources: u64,
    pub(crate) instances: u64,
}

type ParseMap = HashMap<(Hash, u8), Vec<u8>>;

/// The cache of one source directory.
#[derive(Default)]
pub(crate) struct DirCache {
    /// The stat file; the parse file sits beside it.
    path: Option<PathBuf>,
    /// When the stat file was written (ns since epoch).
    written_ns: i64,
    /// Every file's stat, by absolute path.
    pub(crate) stats: HashMap<PathBuf, Stat>,
    /// Every directory walked and its modification time (ns).
    pub(crate) dirs: Vec<(PathBuf, i64)>,
    /// Every symbolic link the snapshot stored: its own stat (`lstat`: a
    /// link replaced by another has another inode and change time) and
    /// its target.
    pub(crate) links: Vec<(PathBuf, FileStat, String)>,
    /// The last snapshot of the directory.
    pub(crate) last: Option<LastSnapshot>,
    parsed: OnceLock<ParseMap>,
    /// Parse results to write, when they changed.
    new_parsed: Option<ParseMap>,
    /// An encrypted store's cache key: both files are sealed.
    seal: Option<CacheSeal>,
}

/// Stats this close to the cache's writing time are not trusted (a file
/// changed twice within one clock tick would keep its size and mtime).
const RACY_NS: i64 = 2_000_000_000;

fn version_tag() -> String {
    format!(
        "{}/{}",
        env!("CARGO_PKG_VERSION"),
        rewind_parse::PARSE_CACHE_VERSION
    )
}

fn decode_stat(d: &mut Dec) -> Result<FileStat, DecodeError> {
    Ok(FileStat {
        size: d.uvar()?,
        mtime_ns: d.uvar()? as i64,
        ctime_ns: d.uvar()? as i64,
        ino: d.uvar()?,
        dev: d.uvar()?,
    })
}

fn encode_stat(e: &mut Enc, s: &FileStat) {
    e.uvar(s.size);
    e.uvar(s.mtime_ns as u64);
    e.uvar(s.ctime_ns as u64);
    e.uvar(s.ino);
    e.uvar(s.dev);
}

/// Reads a checksummed cache file (sealed when `seal` is given) and
/// hands its body to `f`.
fn read_checked<T>(
    path: &Path,
    magic: &[u8; 8],
    seal: Option<&CacheSeal>,
    f: impl FnOnce(&mut Dec) -> Result<T, DecodeError>,
) -> Option<T> {
    let mut bytes = std::fs::read(path).ok()?;
    if let Some(seal) = seal {
        let sealed = bytes.strip_prefix(SEALED_MAGIC.as_slice())?;
        bytes = seal.open(&String::from_utf8_lossy(magic), sealed)?;
    }
    if bytes.len() < magic.len() + 32 || &bytes[..8] != magic {
        return None;
    }
    let body = bytes.len() - 32;
    if Hash::of(&bytes[..body]).0[..] != bytes[body..] {
        return None;
    }
    let mut d = Dec::new(&bytes[8..body]);
    if d.str().ok()? != version_tag() {
        return None;
    }
    f(&mut d).ok()
}

/// Writes a checksummed cache file atomically, sealed when `seal` is
/// given (errors ignored: nothing at all is written then).
fn write_checked(path: &Path, magic: &[u8; 8], seal: Option<&CacheSeal>, f: impl FnOnce(&mut Enc)) {
    let mut e = Enc::with_capacity(1 << 16);
    e.raw(magic);
    e.str(&version_tag());
    f(&mut e);
    let mut bytes = e.into_bytes();
    let sum = Hash::of(&bytes);
    bytes.extend_from_slice(&sum.0);
    if let Some(seal) = seal {
        let Ok(sealed) = seal.seal(&String::from_utf8_lossy(magic), &bytes) else {
            return;
        };
        bytes = SEALED_MAGIC.to_vec();
        bytes.extend_from_slice(&sealed);
    }
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, &bytes).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

impl DirCache {
    /// The stat file for `dir` under `cache_dir`.
    pub(crate) fn file_for(cache_dir: &Path, dir: &Path) -> PathBuf {
        let key = Hash::of(dir.display().to_string().as_bytes()).short(24);
        cache_dir.join("dirs").join(format!("{key}.stat"))
    }

    fn parse_path(&self) -> Option<PathBuf> {
        self.path.as_ref().map(|p| p.with_extension("parse"))
    }

    /// Loads the stat file (empty when missing or unusable), sealed with
    /// `seal` for an encrypted store.
    pub(crate) fn load(path: PathBuf, seal: Option<CacheSeal>) -> DirCache {
        let mut c = DirCache {
            path: Some(path.clone()),
            seal,
            ..Default::default()
        };
        let read = read_checked(&path, STAT_MAGIC, c.seal.as_ref(), |d| {
            let written_ns = d.uvar()? as i64;
            let n = d.len()?;
            let mut stats = HashMap::with_capacity(n);
            for _ in 0..n {
                let p = PathBuf::from(d.string()?);
                let stat = decode_stat(d)?;
                let executable = d.u8()? != 0;
                let hash = d.hash()?;
                stats.insert(
                    p,
                    Stat {
                        stat,
                        executable,
                        hash,
                    },
                );
            }
            let n = d.len()?;
            let mut dirs = Vec::with_capacity(n);
            for _ in 0..n {
                dirs.push((PathBuf::from(d.string()?), d.uvar()? as i64));
            }
            let n = d.len()?;
            let mut links = Vec::with_capacity(n);
            for _ in 0..n {
                let p = PathBuf::from(d.string()?);
                let stat = decode_stat(d)?;
                links.push((p, stat, d.string()?));
            }
            let last = if d.u8()? == 1 {
                Some(LastSnapshot {
                    tree: ObjectId::from(d.hash()?),
                    model: ObjectId::from(d.hash()?),
                    root: d.string()?,
                    base: d.string()?,
                    counts: Counts {
                        files: d.uvar()?,
                        resources: d.uvar()?,
                        instances: d.uvar()?,
                    },
                })
            } else {
                None
            };
            Ok((written_ns, stats, dirs, links, last))
        });
        if let Some((written_ns, stats, dirs, links, last)) = read {
            c.written_ns = written_ns;
            c.stats = stats;
            c.dirs = dirs;
            c.links = links;
            c.last = last;
        }
        c
    }

    /// The parse results, read from disk the first time they are needed.
    fn parse_results(&self) -> &ParseMap {
        self.parsed.get_or_init(|| {
            let Some(path) = self.parse_path() else {
                return ParseMap::new();
            };
            read_checked(&path, PARSE_MAGIC, self.seal.as_ref(), |d| {
                let n = d.len()?;
                let mut m = ParseMap::with_capacity(n);
                for _ in 0..n {
                    let h = d.hash()?;
                    let k = d.u8()?;
                    let b = d.bytes()?.to_vec();
                    m.insert((h, k), b);
                }
                Ok(m)
            })
            .unwrap_or_default()
        })
    }

    /// Replaces the parse results (written by the next `save`).
    pub(crate) fn set_parse_results(&mut self, m: ParseMap) {
        self.new_parsed = Some(m);
    }

    /// Writes the stat file (the parse file is written by
    /// `save_parse_results`).
    pub(crate) fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        write_checked(path, STAT_MAGIC, self.seal.as_ref(), |e| {
            e.uvar(now);
            let mut stats: Vec<(&PathBuf, &Stat)> = self.stats.iter().collect();
            stats.sort_by(|a, b| a.0.cmp(b.0));
            e.uvar(stats.len() as u64);
            for (p, s) in stats {
                e.str(&p.display().to_string());
                encode_stat(e, &s.stat);
                e.u8(u8::from(s.executable));
                e.hash(&s.hash);
            }
            e.uvar(self.dirs.len() as u64);
            for (p, mtime) in &self.dirs {
                e.str(&p.display().to_string());
                e.uvar(*mtime as u64);
            }
            e.uvar(self.links.len() as u64);
            for (p, stat, target) in &self.links {
                e.str(&p.display().to_string());
                encode_stat(e, stat);
                e.str(target);
            }
            match &self.last {
                Some(l) => {
                    e.u8(1);
                    e.hash(&l.tree.hash());
                    e.hash(&l.model.hash());
                    e.str(&l.root);
                    e.str(&l.base);
                    e.uvar(l.counts.files);
                    e.uvar(l.counts.resources);
                    e.uvar(l.counts.instances);
                }
                None => e.u8(0),
            }
        });
    }

    /// Writes the parse file if the parse results were replaced.
    pub(crate) fn save_parse_results(&self) {
        if let (Some(m), Some(ppath)) = (&self.new_parsed, self.parse_path()) {
            write_checked(&ppath, PARSE_MAGIC, self.seal.as_ref(), |e| {
                let mut items: Vec<(&(Hash, u8), &Vec<u8>)> = m.iter().collect();
                items.sort_by(|a, b| a.0.cmp(b.0));
                e.uvar(items.len() as u64);
                for ((h, k), b) in items {
                    e.hash(h);
                    e.u8(*k);
                    e.bytes(b);
                }
            });
        }
    }

    /// Takes the parse results read from disk (an empty map afterwards).
    pub(crate) fn take_parse_results(&mut self) -> ParseMap {
        self.parse_results();
        self.parsed.take().unwrap_or_default()
    }

    /// Is the directory's modification time the recorded one, and old
    /// enough to trust (a change within the same clock tick would not show)?
    pub(crate) fn dir_unchanged(&self, recorded_mtime_ns: i64, mtime_ns: i64) -> bool {
        recorded_mtime_ns == mtime_ns && mtime_ns < self.written_ns - RACY_NS
    }

    /// Is a stat too close to the cache's writing time to trust (a change
    /// within the same clock tick would not show in it)?
    fn racy(&self, stat: &FileStat) -> bool {
        stat.mtime_ns >= self.written_ns - RACY_NS || stat.ctime_ns >= self.written_ns - RACY_NS
    }

    /// A trusted stat entry for `path`: every field of the stat is the
    /// recorded one, and not racily so.
    fn stat(&self, path: &Path, stat: &FileStat) -> Option<&Stat> {
        let s = self.stats.get(path)?;
        (s.stat == *stat && !self.racy(stat)).then_some(s)
    }

    /// The content hash of `path` if it is unchanged since the cache was
    /// written: size, modification and change times, inode and device all
    /// match, and when a time is too close to the cache's own (a change
    /// within the same clock tick would not show) its content is hashed
    /// again, as git does for racily clean entries.
    pub(crate) fn unchanged_hash(&self, path: &Path, stat: &FileStat) -> Option<Hash> {
        let s = self.stats.get(path)?;
        if s.stat != *stat {
            return None;
        }
        if !self.racy(stat) {
            return Some(s.hash);
        }
        let bytes = rewind_parse::read_regular(path, stat.size).ok()?;
        (Hash::of(&bytes) == s.hash).then_some(s.hash)
    }
}

impl rewind_parse::Cache for DirCache {
    fn known(&self, abs: &Path, stat: &FileStat) -> Option<Hash> {
        self.stat(abs, stat).map(|s| s.hash)
    }

    fn parsed(&self, hash: &Hash, kind: FileKind) -> Option<Parsed> {
        let bytes = self.parse_results().get(&(*hash, kind.code()))?;
        Parsed::decode(bytes).ok()
    }
}
