//! The local snapshot cache of one source directory: file stats with their
//! content hashes, parse results by content hash, and the tree and model of
//! the last snapshot. It lets an unchanged re-snapshot skip reading and
//! parsing entirely. It is only an accelerator: a missing, stale or corrupt
//! cache file is ignored (it has its own checksum) and rebuilt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rewind_model::codec::{Dec, Enc};
use rewind_model::Hash;
use rewind_parse::{FileKind, Parsed};

const MAGIC: &[u8; 8] = b"RWCACHE1";

/// A file's identity as last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    pub mtime_ns: i64,
    pub executable: bool,
    pub hash: Hash,
}

/// What the last snapshot of this directory produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastSnapshot {
    pub tree: Hash,
    pub model: Hash,
    pub root: String,
    pub base: String,
    pub files: u64,
    pub resources: u64,
    pub instances: u64,
}

#[derive(Default)]
pub struct DirCache {
    pub path: Option<PathBuf>,
    /// When the cache was written (ns since epoch).
    pub written_ns: i64,
    pub stats: HashMap<PathBuf, Stat>,
    pub parsed: HashMap<(Hash, u8), Vec<u8>>,
    pub last: Option<LastSnapshot>,
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

impl DirCache {
    /// The cache file for `dir` under `cache_dir`.
    pub fn file_for(cache_dir: &Path, dir: &Path) -> PathBuf {
        let key = Hash::of(dir.display().to_string().as_bytes()).short(24);
        cache_dir.join("dirs").join(format!("{key}.bin"))
    }

    /// Loads the cache (empty when missing or unusable).
    pub fn load(path: PathBuf) -> DirCache {
        let mut c = DirCache {
            path: Some(path.clone()),
            ..Default::default()
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return c;
        };
        if bytes.len() < MAGIC.len() + 32 || &bytes[..8] != MAGIC {
            return c;
        }
        let body = bytes.len() - 32;
        if Hash::of(&bytes[..body]).0[..] != bytes[body..] {
            return c;
        }
        let mut d = Dec::new(&bytes[8..body]);
        let parse =
            |d: &mut Dec, c: &mut DirCache| -> Result<(), rewind_model::codec::DecodeError> {
                if d.str()? != version_tag() {
                    return Err(d.error("other version"));
                }
                c.written_ns = d.uvar()? as i64;
                let n = d.len()?;
                for _ in 0..n {
                    let p = PathBuf::from(d.string()?);
                    let size = d.uvar()?;
                    let mtime_ns = d.uvar()? as i64;
                    let executable = d.u8()? != 0;
                    let hash = d.hash()?;
                    c.stats.insert(
                        p,
                        Stat {
                            size,
                            mtime_ns,
                            executable,
                            hash,
                        },
                    );
                }
                if d.u8()? == 1 {
                    c.last = Some(LastSnapshot {
                        tree: d.hash()?,
                        model: d.hash()?,
                        root: d.string()?,
                        base: d.string()?,
                        files: d.uvar()?,
                        resources: d.uvar()?,
                        instances: d.uvar()?,
                    });
                }
                let n = d.len()?;
                for _ in 0..n {
                    let h = d.hash()?;
                    let k = d.u8()?;
                    let b = d.bytes()?.to_vec();
                    c.parsed.insert((h, k), b);
                }
                Ok(())
            };
        if parse(&mut d, &mut c).is_err() {
            return DirCache {
                path: Some(path),
                ..Default::default()
            };
        }
        c
    }

    /// Writes the cache atomically (errors are ignored: it is a cache).
    pub fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let mut e = Enc::with_capacity(1 << 20);
        e.raw(MAGIC);
        e.str(&version_tag());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        e.uvar(now);
        let mut stats: Vec<(&PathBuf, &Stat)> = self.stats.iter().collect();
        stats.sort_by(|a, b| a.0.cmp(b.0));
        e.uvar(stats.len() as u64);
        for (p, s) in stats {
            e.str(&p.display().to_string());
            e.uvar(s.size);
            e.uvar(s.mtime_ns as u64);
            e.u8(u8::from(s.executable));
            e.hash(&s.hash);
        }
        match &self.last {
            Some(l) => {
                e.u8(1);
                e.hash(&l.tree);
                e.hash(&l.model);
                e.str(&l.root);
                e.str(&l.base);
                e.uvar(l.files);
                e.uvar(l.resources);
                e.uvar(l.instances);
            }
            None => e.u8(0),
        }
        let mut parsed: Vec<(&(Hash, u8), &Vec<u8>)> = self.parsed.iter().collect();
        parsed.sort_by(|a, b| a.0.cmp(b.0));
        e.uvar(parsed.len() as u64);
        for ((h, k), b) in parsed {
            e.hash(h);
            e.u8(*k);
            e.bytes(b);
        }
        let mut bytes = e.into_bytes();
        let sum = Hash::of(&bytes);
        bytes.extend_from_slice(&sum.0);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        if std::fs::write(&tmp, &bytes).is_ok() {
            let _ = std::fs::rename(&tmp, path);
        }
    }

    /// A trusted stat entry for `path`.
    pub fn stat(&self, path: &Path, size: u64, mtime_ns: i64) -> Option<&Stat> {
        let s = self.stats.get(path)?;
        (s.size == size && s.mtime_ns == mtime_ns && mtime_ns < self.written_ns - RACY_NS)
            .then_some(s)
    }

    /// The content hash of `path` if it is unchanged since the cache was
    /// written: its size and time match, and when the time is too close to
    /// the cache's own (a change within the same clock tick would not show)
    /// its content is hashed again, as git does for racily clean entries.
    pub fn unchanged_hash(&self, path: &Path, size: u64, mtime_ns: i64) -> Option<Hash> {
        let s = self.stats.get(path)?;
        if s.size != size || s.mtime_ns != mtime_ns {
            return None;
        }
        if mtime_ns < self.written_ns - RACY_NS {
            return Some(s.hash);
        }
        let bytes = std::fs::read(path).ok()?;
        (Hash::of(&bytes) == s.hash).then_some(s.hash)
    }
}

impl rewind_parse::Cache for DirCache {
    fn known(&self, abs: &Path, size: u64, mtime_ns: i64) -> Option<Hash> {
        self.stat(abs, size, mtime_ns).map(|s| s.hash)
    }

    fn parsed(&self, hash: &Hash, kind: FileKind) -> Option<Parsed> {
        let bytes = self.parsed.get(&(*hash, kind.code()))?;
        Parsed::decode(bytes).ok()
    }
}
