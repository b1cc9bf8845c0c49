//! The local snapshot cache of one source directory, in two files:
//!
//! * `<key>.stat`: file stats with their content hashes and the tree and
//!   model of the last snapshot: small, read on every snapshot, enough to
//!   recognize an unchanged directory without reading anything else;
//! * `<key>.parse`: parse results of configuration and variable files by
//!   content hash, read only when some file changed, so unchanged files
//!   are not parsed again (a state's resources are not kept there: an
//!   incremental snapshot skips those its state index, `<key>.sidx`,
//!   knows, and a whole load parses them again, measured no slower than
//!   taking them from here was; see `rewind_parse`'s `resources_of`). It is a
//!   log: a snapshot appends the results it adds, each record with its
//!   length and checksum, and rewrites the file (atomically, by rename)
//!   only when most of it is no longer used.
//!
//! The cache is only an accelerator: a missing, stale or corrupt file is
//! ignored (each has its own checksum; a torn or damaged record of the
//! log ends what is read of it) and rebuilt. For an encrypted store both
//! files are sealed with the store's cache key (they hold what the
//! directory's files hold: parse results keep secret values): the stat
//! file whole, the log record by record (keys included, so the log does
//! not say which contents it holds).

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rewind_model::codec::{Dec, DecodeError, Enc};
use rewind_model::Hash;
use rewind_odb::{CacheSeal, ObjectId};
use rewind_parse::{FileKind, FileStat, Parsed, StateResource};

const STAT_MAGIC: &[u8; 8] = b"RWSTAT06";
const PARSE_MAGIC: &[u8; 8] = b"RWPRSE02";
const STATE_INDEX_MAGIC: &[u8; 8] = b"RWSIDX01";
/// The first bytes of a model's ranks (`ranks.rs`).
const RANKS_MAGIC: &[u8; 8] = b"RWRANK01";
/// The first bytes of a parse log's index (where each record is).
const LOG_INDEX_MAGIC: &[u8; 8] = b"RWPIDX01";
/// The first bytes of a sealed stat file: then a nonce, the
/// XChaCha20-Poly1305 ciphertext of the plain file and its tag.
const SEALED_MAGIC: &[u8; 8] = b"RWSEAL01";
/// The first bytes of a sealed parse log: each record's payload is
/// sealed (nonce, ciphertext of key and result, tag).
const SEALED_LOG_MAGIC: &[u8; 8] = b"RWSLOG01";
/// The kind code of the records older logs hold of a state resource's
/// instance nodes, no longer made nor read: never in use, so they go
/// when the log is next rewritten.
const OLD_STATE_RESOURCE: u8 = 0xff;
/// A log record: payload length (u32 LE), blake3 of the payload, payload
/// (content hash, kind code, encoded parse result).
const RECORD_HEAD: usize = 4 + 32;
/// The log is rewritten when its unused records pass this size and the
/// size of the used ones.
const COMPACT_MIN: usize = 1 << 20;

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
    /// The model has `moved`, `import` or `removed` blocks: they name
    /// resources by address anywhere in the module tree, so a snapshot
    /// that adds or removes one loads the whole directory.
    pub(crate) addressing: bool,
}

/// The counts a snapshot record keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) files: u64,
    pub(crate) resources: u64,
    pub(crate) instances: u64,
}

/// A parse result's key: content hash and kind code.
pub(crate) type Key = (Hash, u8);

/// New parse log records, written while the directory is read (from
/// every parsing thread) to a file beside the log instead of being held in
/// memory, and appended to the log once the snapshot's load succeeded
/// (the file is removed when the spool is dropped).
struct Spool {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
    /// The keys of the records in the file.
    keys: HashSet<Key>,
    /// Each record's key, offset in the file and length, in file order
    /// (the log's index is made from them, without reading the file back).
    records: Vec<(Key, usize, usize)>,
    /// The bytes written so far: the file begins with the log's header,
    /// so that a snapshot that keeps no record of the log renames it into
    /// the log instead of copying it.
    len: usize,
    /// A write failed: the file is not used.
    failed: bool,
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How long a spool file is left alone: a snapshot writes its spool while
/// its load reads the files, and appends it to the log right after, so
/// one unchanged this long belongs to a process that was killed (or lost
/// its machine) and never removed it.
const STALE_SPOOL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the spool files of `dir` (the cache's directory of parse logs)
/// not modified for [`STALE_SPOOL`]: a snapshot killed while it read a large
/// directory left its spool behind (47 MB at 100k resources), and
/// nothing else would ever remove it. A failure is left for the next
/// snapshot.
fn remove_stale_spools(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().ends_with(".spool") {
            continue;
        }
        // (a link is never a spool this cache wrote: not followed)
        let old = e
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .and_then(|m| m.modified().ok())
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= STALE_SPOOL);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Whether the parse log records `parsed`: not a file kept raw, nor a
/// state (a state's resources go into its state index).
pub(crate) fn spooled(parsed: &Parsed) -> bool {
    !matches!(parsed, Parsed::Raw | Parsed::State(..))
}

/// The parse log as read: its bytes and where each record's result is.
#[derive(Default)]
struct ParseLog {
    bytes: Vec<u8>,
    /// A sealed log's records opened, one after the other (results are
    /// ranges of this, not of `bytes`).
    opened: Option<Vec<u8>>,
    /// Each key's result (byte range of `opened`, or of `bytes` when the
    /// log is not sealed) and record (range of `bytes`).
    entries: HashMap<Key, (std::ops::Range<usize>, std::ops::Range<usize>)>,
    /// The file has this rewind's header and every record is whole: new
    /// records may be appended to it.
    appendable: bool,
    /// The records' checksums are checked as they are used, not as the
    /// log is read (a log that is not sealed: a snapshot that uses a few
    /// records does not hash the whole log).
    lazy: bool,
    /// The log not read, but its index (`<key>.pidx`): `bytes` is empty,
    /// the ranges are the file's, and a record is read from it when used
    /// (a snapshot that uses a few records does not read the whole log).
    file: Option<std::fs::File>,
}

/// The cache of one source directory.
#[derive(Default)]
pub(crate) struct DirCache {
    /// The stat file; the parse file sits beside it.
    path: Option<PathBuf>,
    /// When the run that wrote the stat file started, before it took any
    /// stat (ns since the epoch); for a cache being built, this run's start.
    written_ns: i64,
    /// When this run started (what [`DirCache::save`] records).
    started_ns: i64,
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
    parsed: OnceLock<ParseLog>,
    /// Results parsed in this run, to append
    /// (see [`DirCache::start_spool`]).
    spool: Mutex<Option<Spool>>,
    /// What the state files parsed whole in this run hold, by the path
    /// the load named each by (see [`DirCache::take_state_index`]).
    state_indexes: Mutex<Vec<(String, Vec<u8>)>>,
    /// What the next `save_parse_results` writes: the new results (the
    /// spool), and the keys of the log's results still in use.
    update: Option<(Option<Spool>, HashSet<Key>)>,
    /// An encrypted store's cache key: both files are sealed.
    seal: Option<CacheSeal>,
}

/// Stats this close to the start of the run that recorded them are not
/// trusted: a file changed twice within one clock tick keeps its size and
/// times. A file's times come from the kernel's coarse clock, at most one
/// tick (1-10 ms) behind the clock the start is read from; 100 ms covers it
/// ten times over.
const RACY_NS: i64 = 100_000_000;

/// The same for a time in whole seconds: a file system that keeps no
/// fraction of a second (FAT rounds to 2 s, HFS+ and ext3 to 1 s) stamps a
/// change with a time up to 2 s before it happened.
const COARSE_RACY_NS: i64 = 2_000_000_000;

/// How long before the start of a run a file time must lie to be trusted.
fn racy_window(time_ns: i64) -> i64 {
    if time_ns % 1_000_000_000 == 0 {
        COARSE_RACY_NS
    } else {
        RACY_NS
    }
}

/// Now, in ns since the epoch.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

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
    write_atomic(path, &bytes);
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
        // taken before the run stats anything: a file changed after this
        // has a time after it (less a clock tick), so its stat is racy
        let mut c = DirCache {
            path: Some(path.clone()),
            seal,
            started_ns: now_ns(),
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
                    addressing: d.u8()? != 0,
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

    /// The parse log, read from disk the first time it is needed.
    fn parse_log(&self) -> &ParseLog {
        self.parsed.get_or_init(|| {
            let Some(p) = self.parse_path() else {
                return ParseLog::default();
            };
            // a log that is not sealed is found through its index
            if self.seal.is_none() {
                if let Some(log) = self.log_index().and_then(|i| read_log_index(&p, &i)) {
                    return log;
                }
            }
            read_log(&p, self.seal.as_ref())
        })
    }

    /// The parse log's index (`<key>.pidx`, §18).
    fn log_index(&self) -> Option<PathBuf> {
        self.path.as_ref().map(|p| p.with_extension("pidx"))
    }

    /// The encoded result recorded for `key`.
    fn logged(&self, key: &Key) -> Option<std::borrow::Cow<'_, [u8]>> {
        let log = self.parse_log();
        let (result, record) = log.entries.get(key)?;
        if let Some(file) = &log.file {
            // the record read from the file, checked: its checksum, and
            // the key it holds
            let mut bytes = vec![0u8; record.len()];
            read_at(file, &mut bytes, record.start as u64).ok()?;
            let (sum, payload) = record_at(&bytes, 0)?;
            if RECORD_HEAD + payload.len() != bytes.len()
                || Hash::of(payload).0[..] != *sum
                || key_of(payload) != Some(*key)
            {
                return None;
            }
            bytes.drain(..RECORD_HEAD + 33);
            return Some(std::borrow::Cow::Owned(bytes));
        }
        let results = log.opened.as_ref().unwrap_or(&log.bytes);
        if log.lazy {
            let record = &log.bytes[record.clone()];
            if Hash::of(&record[RECORD_HEAD..]).0[..] != record[4..RECORD_HEAD] {
                return None;
            }
        }
        Some(std::borrow::Cow::Borrowed(&results[result.clone()]))
    }

    /// Starts writing the results this run parses to a file beside the
    /// parse log (nothing is kept when it cannot be created: the cache is
    /// only an accelerator). Without it, results parsed are not kept.
    pub(crate) fn start_spool(&mut self) {
        let Some(log) = self.parse_path() else {
            return;
        };
        // one spool a run: what an incremental snapshot spooled before it
        // fell back to the whole load is kept (the same path: made anew,
        // the file the old one removed on its drop would be this one)
        if self.spool.get_mut().is_ok_and(|s| s.is_some()) {
            return;
        }
        if let Some(dir) = log.parent() {
            let _ = std::fs::create_dir_all(dir);
            remove_stale_spools(dir);
        }
        let path = log.with_extension(format!("parse.{}.spool", std::process::id()));
        let Ok(file) = std::fs::File::create(&path) else {
            return;
        };
        let header = log_header(self.seal.is_some());
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        let failed = out.write_all(&header).is_err();
        *self.spool.get_mut().unwrap_or_else(|p| p.into_inner()) = Some(Spool {
            path,
            out,
            keys: HashSet::new(),
            records: Vec::new(),
            len: header.len(),
            failed,
        });
    }

    /// Writes the result `encode` gives for `key` to the spool, unless
    /// the log or the spool has it already (called from every parsing
    /// thread: the result is encoded and sealed outside the lock).
    fn spool(&self, key: Key, encode: impl FnOnce() -> Vec<u8>) {
        let wanted = |g: &Option<Spool>| {
            g.as_ref()
                .is_some_and(|s| !s.failed && !s.keys.contains(&key))
        };
        match self.spool.lock() {
            Ok(g) if wanted(&g) => {}
            _ => return,
        }
        if self.logged(&key).is_some() {
            return;
        }
        let Ok(record) = record_bytes(&key, &encode(), self.seal.as_ref()) else {
            return;
        };
        let Ok(mut g) = self.spool.lock() else {
            return;
        };
        let Some(s) = g.as_mut() else {
            return;
        };
        if s.failed || !s.keys.insert(key) {
            return;
        }
        if s.out.write_all(&record).is_err() {
            s.failed = true;
        }
        s.records.push((key, s.len, record.len()));
        s.len += record.len();
    }

    /// Sets what `save_parse_results` writes: the results spooled while
    /// this snapshot's files were read, the keys of its files (`files`:
    /// content hash and kind code of every file whose parse result is
    /// cached) being the ones in use.
    pub(crate) fn update_parse_results(&mut self, files: impl Iterator<Item = Key>) {
        let mut live: HashSet<Key> = files.collect();
        let mut spool = self
            .spool
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(s) = &mut spool {
            if s.out.flush().is_err() {
                s.failed = true;
            }
            live.extend(s.keys.iter().copied());
        }
        self.update = Some((spool.filter(|s| !s.failed), live));
    }

    /// Sets what `save_parse_results` writes after a snapshot that read
    /// only the files that changed: the results spooled, and every result
    /// of the log but those of `replaced` (the old contents of those
    /// files) still in use, unless `current` (the keys of the snapshot's
    /// files) still names them. An older log's records of a state
    /// resource's nodes are never in use.
    pub(crate) fn update_parse_results_replacing(
        &mut self,
        replaced: &HashSet<Key>,
        current: &HashSet<Key>,
    ) {
        let live: Vec<Key> = self
            .parse_log()
            .entries
            .keys()
            .filter(|k| k.1 != OLD_STATE_RESOURCE)
            .filter(|k| !replaced.contains(k) || current.contains(k))
            .copied()
            .collect();
        self.update_parse_results(live.into_iter());
    }

    /// The state file's index (`<key>.sidx`): what an incremental
    /// snapshot needs of the state of the last snapshot, whose content
    /// hash it records.
    fn state_index_path(&self) -> Option<PathBuf> {
        self.path.as_ref().map(|p| p.with_extension("sidx"))
    }

    /// The resources of the state whose content hash is `state`, as the
    /// last snapshot recorded them; `None` when the index is missing,
    /// damaged or of another content.
    pub(crate) fn state_index(&self, state: &Hash) -> Option<Vec<StateResource>> {
        let path = self.state_index_path()?;
        read_checked(&path, STATE_INDEX_MAGIC, self.seal.as_ref(), |d| {
            if d.hash()? != *state {
                return Err(DecodeError {
                    message: "another state".into(),
                    offset: 0,
                });
            }
            let n = d.len()?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                out.push(decode_state_resource(d)?);
            }
            Ok(out)
        })
    }

    /// The index a whole load made of state file `abs` (the load named
    /// its files by their absolute paths), taken.
    pub(crate) fn take_state_index(&self, abs: &Path) -> Option<Vec<u8>> {
        let mut all = self.state_indexes.lock().ok()?;
        let i = all.iter().position(|(p, _)| Path::new(p) == abs)?;
        Some(all.swap_remove(i).1)
    }

    /// Writes the state index: `resources` of the state of content hash
    /// `state` (errors ignored: the index is only an accelerator), or
    /// removes it when there is no state.
    pub(crate) fn save_state_index(&self, state: Option<(&Hash, &[StateResource])>) {
        self.save_encoded_state_index(state.map(|(h, r)| (*h, encode_state_index(r))));
    }

    /// [`DirCache::save_state_index`] of resources encoded by
    /// [`encode_state_index`].
    pub(crate) fn save_encoded_state_index(&self, state: Option<(Hash, Vec<u8>)>) {
        let Some(path) = self.state_index_path() else {
            return;
        };
        let Some((hash, resources)) = state else {
            let _ = std::fs::remove_file(&path);
            return;
        };
        write_checked(&path, STATE_INDEX_MAGIC, self.seal.as_ref(), |e| {
            e.hash(&hash);
            e.raw(&resources);
        });
    }

    /// The ranks of model `model`'s nodes (`<key>.rank-<model>`, §18):
    /// named by the model (the first 128 bits of its id), so a file is
    /// right for the model it names however old, and carried over to a
    /// model with the same edges by a rename.
    fn ranks_path(&self, model: &ObjectId) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        Some(path.with_extension(format!("rank-{}", model.short(32))))
    }

    /// The ranks of `model`'s nodes of `wanted` addresses (those it has);
    /// `None` when they are missing or damaged.
    pub(crate) fn ranks(
        &self,
        model: &ObjectId,
        wanted: &HashSet<&str>,
    ) -> Option<HashMap<String, u32>> {
        let mut out = HashMap::with_capacity(wanted.len());
        self.read_ranks(model, |a, r| {
            if wanted.contains(a) {
                out.insert(a.to_string(), r);
            }
        })?;
        Some(out)
    }

    /// Every rank of `model`'s nodes, by address; `None` when they are
    /// missing or damaged.
    pub(crate) fn all_ranks(&self, model: &ObjectId) -> Option<rustc_hash::FxHashMap<String, u32>> {
        let mut out = rustc_hash::FxHashMap::default();
        self.read_ranks(model, |a, r| {
            out.insert(a.to_string(), r);
        })?;
        Some(out)
    }

    /// Reads the ranks of `model`'s nodes, handing each to `f`.
    fn read_ranks(&self, model: &ObjectId, mut f: impl FnMut(&str, u32)) -> Option<()> {
        let path = self.ranks_path(model)?;
        read_checked(&path, RANKS_MAGIC, self.seal.as_ref(), |d| {
            for _ in 0..d.len()? {
                let a = d.str()?;
                f(a, d.uvar()? as u32);
            }
            Ok(())
        })
    }

    /// Writes the ranks of `model`'s nodes, `ranks` sorted by address
    /// (errors ignored: they are only an accelerator), and removes those
    /// of the directory's other models.
    pub(crate) fn save_ranks(&self, model: &ObjectId, ranks: &[(&str, u32)]) {
        let Some(path) = self.ranks_path(model) else {
            return;
        };
        write_checked(&path, RANKS_MAGIC, self.seal.as_ref(), |e| {
            e.uvar(ranks.len() as u64);
            for (a, r) in ranks {
                e.str(a);
                e.uvar(u64::from(*r));
            }
        });
        self.remove_other_ranks(&path);
    }

    /// Removes the rank files of this directory but `keep`.
    fn remove_other_ranks(&self, keep: &Path) {
        let (Some(dir), Some(stem)) = (
            keep.parent(),
            self.path.as_ref().and_then(|p| p.file_stem()),
        ) else {
            return;
        };
        let prefix = format!("{}.rank-", stem.to_string_lossy());
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with(&prefix) && e.path() != keep {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Carries the ranks of model `from` over to model `to`, made from it
    /// by an incremental snapshot whose new edges each go down in them,
    /// with the nodes it added (`added`: each address with what it depends
    /// on) ranked above what they depend on, and the nodes it ranked anew
    /// (`reranked`) with their new ranks: the file renamed when there are
    /// none. Nothing when `from` has none.
    pub(crate) fn carry_ranks(
        &self,
        from: &ObjectId,
        to: &ObjectId,
        added: &[(String, Vec<String>)],
        reranked: &[(String, u32)],
    ) {
        let (Some(old), Some(new)) = (self.ranks_path(from), self.ranks_path(to)) else {
            return;
        };
        if from == to {
            return;
        }
        if added.is_empty() && reranked.is_empty() {
            let _ = std::fs::rename(old, new);
            return;
        }
        // the old ranks borrowed from the file as read, merged with the
        // added ones into the new file
        let _ = read_checked(&old, RANKS_MAGIC, self.seal.as_ref(), |d| {
            let n = d.len()?;
            let mut all: Vec<(&str, u32)> = Vec::with_capacity(n);
            for _ in 0..n {
                let a = d.str()?;
                all.push((a, d.uvar()? as u32));
            }
            let find = |a: &str| {
                all.binary_search_by(|(x, _)| (*x).cmp(a))
                    .ok()
                    .map(|i| all[i].1)
            };
            // (an added node depends on none added with it; ranked above
            // the old rank of a node ranked anew, it is above its new one)
            let mut ranked: Vec<(&str, u32)> = added
                .iter()
                .map(|(a, deps)| {
                    let rank = crate::ranks::added(deps.iter().map(|d| find(d)));
                    (a.as_str(), rank)
                })
                .chain(reranked.iter().map(|(a, r)| (a.as_str(), *r)))
                .collect();
            ranked.sort_unstable();
            ranked.dedup_by(|a, b| a.0 == b.0);
            let mut merged: Vec<(&str, u32)> = Vec::with_capacity(n + ranked.len());
            let mut kept = all.iter().peekable();
            for &(a, r) in &ranked {
                while let Some(&&(x, q)) = kept.peek() {
                    if x >= a {
                        break;
                    }
                    merged.push((x, q));
                    kept.next();
                }
                // an added node's stale rank (of a block removed before)
                // gives way
                if kept.peek().is_some_and(|(x, _)| *x == a) {
                    kept.next();
                }
                merged.push((a, r));
            }
            merged.extend(kept.copied());
            self.save_ranks(to, &merged);
            Ok(())
        });
    }

    /// Writes the stat file (the parse file is written by
    /// `save_parse_results`).
    pub(crate) fn save(&self) {
        let Some(path) = &self.path else {
            return;
        };
        write_checked(path, STAT_MAGIC, self.seal.as_ref(), |e| {
            e.uvar(self.started_ns.max(0) as u64);
            let mut stats: Vec<(&PathBuf, &Stat)> = self.stats.iter().collect();
            // by bytes, not by path components: the order only has to be
            // the same each time (the stats are read into a map)
            stats.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
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
                    e.u8(u8::from(l.addressing));
                }
                None => e.u8(0),
            }
        });
    }

    /// Writes what `update_parse_results` set: the new results are
    /// appended to the log, or, when most of the log is no longer used (or
    /// it is not this rewind's, or damaged), the log is rewritten with the
    /// results in use only.
    pub(crate) fn save_parse_results(&self) {
        let (Some((spool, live)), Some(path)) = (&self.update, self.parse_path()) else {
            return;
        };
        let new = spool.as_ref().filter(|s| !s.keys.is_empty());
        let log = self.parse_log();
        let mut dead = 0;
        let mut kept = 0;
        for (key, (_, rec)) in &log.entries {
            if live.contains(key) {
                kept += rec.len();
            } else {
                dead += rec.len();
            }
        }
        // (the spool's records follow a header as long as the log's)
        let header = log_header(self.seal.is_some()).len();
        let added = new.map_or(0, |s| s.len - header);
        let index = self.log_index();
        if log.appendable && (dead < COMPACT_MIN || dead < kept + added) {
            let Some(new) = new else {
                if let (Some(index), None, None) = (&index, &log.file, &self.seal) {
                    // a log read whole gets its index
                    write_log_index(index, &path, by_offset(&log.entries, |_| true).into_iter());
                }
                return;
            };
            let at = std::fs::metadata(&path).map_or(0, |m| m.len() as usize);
            // the index is removed first: one that does not say the log's
            // length is not used, and a torn append is not indexed
            if let Some(index) = &index {
                let _ = std::fs::remove_file(index);
            }
            if append(&path, &new.path, header).is_ok() && self.seal.is_none() {
                if let Some(index) = &index {
                    let old = by_offset(&log.entries, |_| true);
                    let spooled = new
                        .records
                        .iter()
                        .map(|&(k, off, len)| (k, at + off - header, len));
                    write_log_index(index, &path, old.iter().copied().chain(spooled));
                }
            }
            return;
        }
        let kept = by_offset(&log.entries, |k| live.contains(k));
        if let Some(index) = &index {
            let _ = std::fs::remove_file(index);
        }
        // a log found through its index: the records kept are copied
        // from the file (the log is not read whole into memory)
        let source = match &log.file {
            Some(f) => Kept::File(f),
            None => Kept::Bytes(&log.bytes),
        };
        // nothing kept: the spool, header and all, becomes the log (a
        // rename: at 100k resources a cold snapshot copied 93 MB)
        let renamed =
            kept.is_empty() && new.is_some_and(|s| std::fs::rename(&s.path, &path).is_ok());
        let written = if renamed {
            Ok(())
        } else {
            rewrite(
                &path,
                &kept,
                source,
                new.map(|s| s.path.as_path()),
                self.seal.is_some(),
            )
        };
        if let (Ok(()), Some(index), None) = (written, &index, &self.seal) {
            // the records where `rewrite` (or the rename) put them: the
            // header, the kept ones in order, then the spool's (made as
            // they are written out: at 100k resources a list of them is
            // 12 MB, made while the snapshot's objects are)
            let kept_len: usize = kept.iter().map(|&(_, _, len)| len).sum();
            let moved = kept.iter().scan(header, |at, &(key, _, len)| {
                *at += len;
                Some((key, *at - len, len))
            });
            let spooled = new
                .map_or(&[][..], |s| &s.records[..])
                .iter()
                .map(|&(key, off, len)| (key, kept_len + off, len));
            write_log_index(index, &path, moved.chain(spooled));
        }
    }

    /// Frees the parse log read from disk (its results are no longer
    /// needed once `save_parse_results` wrote what this snapshot adds;
    /// read again if asked for).
    pub(crate) fn release_parse_log(&mut self) {
        self.parsed.take();
        self.update = None;
    }

    /// Is the directory's modification time the recorded one, and old
    /// enough to trust (a change within the same clock tick would not show)?
    pub(crate) fn dir_unchanged(&self, recorded_mtime_ns: i64, mtime_ns: i64) -> bool {
        recorded_mtime_ns == mtime_ns && !self.too_recent(mtime_ns)
    }

    /// Is a time too close to the start of the run that recorded it to
    /// trust (a change within the same clock tick would not show in it)?
    fn too_recent(&self, time_ns: i64) -> bool {
        time_ns >= self.written_ns.saturating_sub(racy_window(time_ns))
    }

    /// Is a stat too close to the start of the run that recorded it to
    /// trust?
    fn racy(&self, stat: &FileStat) -> bool {
        self.too_recent(stat.mtime_ns) || self.too_recent(stat.ctime_ns)
    }

    /// Does the stat file hold an entry (file or directory) too recent to
    /// trust? A run that found the directory unchanged checked those again
    /// (hashed the files, listed the directories) and saves the stat file
    /// with its own start, so the next run trusts them, as `git status`
    /// refreshes the index: without it they were checked again on every
    /// run.
    pub(crate) fn has_racy_entries(&self) -> bool {
        self.stats.values().any(|s| self.racy(&s.stat))
            || self.dirs.iter().any(|(_, mtime)| self.too_recent(*mtime))
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

    fn parsed(&self, hash: &Hash, kind: FileKind) -> Option<Arc<Parsed>> {
        Parsed::decode(&self.logged(&(*hash, kind.code()))?)
            .ok()
            .map(Arc::new)
    }

    fn keep_state_index(&self, path: &str, resources: Vec<StateResource>) {
        // kept encoded: at 100k resources the structures took 17 MiB
        // through the rest of the load, their encoding 7 MiB
        let encoded = encode_state_index(&resources);
        drop(resources);
        if let Ok(mut all) = self.state_indexes.lock() {
            all.push((path.to_string(), encoded));
        }
    }

    fn keep_parsed(&self, hash: &Hash, kind: FileKind, parsed: &Arc<Parsed>) {
        if spooled(parsed) {
            self.spool((*hash, kind.code()), || parsed.encode());
        }
    }
}

/// A state index's resources as its file holds them after the state's
/// hash: their number, then each.
pub(crate) fn encode_state_index(resources: &[StateResource]) -> Vec<u8> {
    let mut e = Enc::with_capacity(resources.len() * 64);
    e.uvar(resources.len() as u64);
    for r in resources {
        encode_state_resource(&mut e, r);
    }
    e.into_bytes()
}

fn encode_state_resource(e: &mut Enc, r: &StateResource) {
    e.hash(&r.hash);
    e.str(&r.module);
    e.uvar(r.addresses.len() as u64);
    for a in &r.addresses {
        e.str(a);
    }
    match &r.type_paths {
        None => e.u8(0),
        Some(((data, type_), paths)) => {
            e.u8(1 + u8::from(*data));
            e.str(type_);
            e.uvar(paths.len() as u64);
            for (p, count) in paths {
                e.path(p);
                e.uvar(u64::from(*count));
            }
        }
    }
}

fn decode_state_resource(d: &mut Dec) -> Result<StateResource, DecodeError> {
    let hash = d.hash()?;
    let module = d.string()?;
    let n = d.len()?;
    let mut addresses = Vec::with_capacity(n);
    for _ in 0..n {
        addresses.push(d.string()?);
    }
    let type_paths = match d.u8()? {
        0 => None,
        tag => {
            let key = (tag == 2, d.string()?);
            let n = d.len()?;
            let mut paths = Vec::with_capacity(n);
            for _ in 0..n {
                let p = d.path()?;
                let count = u32::try_from(d.uvar()?).map_err(|_| DecodeError {
                    message: "count".into(),
                    offset: 0,
                })?;
                paths.push((p, count));
            }
            Some((key, paths))
        }
    };
    Ok(StateResource {
        hash,
        module,
        addresses,
        type_paths,
    })
}

/// The parse log's header: magic (sealed or not) and the version of what
/// it holds.
fn log_header(sealed: bool) -> Vec<u8> {
    let tag = version_tag();
    let mut h = if sealed {
        SEALED_LOG_MAGIC
    } else {
        PARSE_MAGIC
    }
    .to_vec();
    h.extend_from_slice(&(tag.len() as u32).to_le_bytes());
    h.extend_from_slice(tag.as_bytes());
    h
}

/// The kind a sealed log record is sealed as (bound to its ciphertext).
const LOG_RECORD_KIND: &str = "RWPRSE02 record";

/// One log record of a result: payload length, checksum, payload (key
/// and result, sealed when `seal` is given).
fn record_bytes(key: &Key, result: &[u8], seal: Option<&CacheSeal>) -> std::io::Result<Vec<u8>> {
    let mut record = Vec::with_capacity(RECORD_HEAD + 33 + result.len());
    record.resize(RECORD_HEAD, 0);
    record.extend_from_slice(&key.0 .0);
    record.push(key.1);
    record.extend_from_slice(result);
    if let Some(seal) = seal {
        let sealed = seal
            .seal(LOG_RECORD_KIND, &record[RECORD_HEAD..])
            .map_err(std::io::Error::other)?;
        record.truncate(RECORD_HEAD);
        record.extend_from_slice(&sealed);
    }
    let payload = &record[RECORD_HEAD..];
    let len = u32::try_from(payload.len()).map_err(std::io::Error::other)?;
    let sum = Hash::of(payload);
    record[..4].copy_from_slice(&len.to_le_bytes());
    record[4..RECORD_HEAD].copy_from_slice(&sum.0);
    Ok(record)
}

/// Reads the parse log: every whole record up to the first torn or
/// damaged one (a killed snapshot leaves at most its last append half
/// written; what follows a bad record is not trusted either). A sealed
/// record that does not open with `seal` counts as damaged.
fn read_log(path: &Path, seal: Option<&CacheSeal>) -> ParseLog {
    let Ok(bytes) = std::fs::read(path) else {
        return ParseLog::default();
    };
    let header = log_header(seal.is_some());
    if !bytes.starts_with(&header) {
        return ParseLog::default();
    }
    let mut opened = seal.map(|_| Vec::new());
    let mut entries = HashMap::new();
    let mut at = header.len();
    let mut whole = true;
    while at < bytes.len() {
        let Some((sum, payload)) = record_at(&bytes, at) else {
            whole = false;
            break;
        };
        // (a sealed record is checked as it is opened; another one when
        // it is used, see `logged`)
        if seal.is_some() && Hash::of(payload).0[..] != *sum {
            whole = false;
            break;
        }
        let len = payload.len();
        let start = at + RECORD_HEAD;
        let record = at..start + len;
        // the payload (key and result), and where in `bytes` or `opened`
        // it begins
        let (plain, base) = match (seal, opened.as_mut()) {
            (Some(seal), Some(opened)) => {
                let Some(plain) = seal.open(LOG_RECORD_KIND, payload) else {
                    whole = false;
                    break;
                };
                let base = opened.len();
                opened.extend_from_slice(&plain);
                (&opened[base..], base)
            }
            _ => (payload, start),
        };
        let Some(key) = key_of(plain) else {
            whole = false;
            break;
        };
        entries.insert(key, (base + 33..base + plain.len(), record));
        at = start + len;
    }
    ParseLog {
        bytes,
        lazy: opened.is_none(),
        opened,
        entries,
        appendable: whole,
        file: None,
    }
}

/// The log record that begins at `at` of `bytes`: the checksum of its
/// payload, and the payload; `None` when it is cut short.
fn record_at(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    let head = bytes.get(at..at + RECORD_HEAD)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let payload = bytes.get(at + RECORD_HEAD..at + RECORD_HEAD + len)?;
    Some((&head[4..], payload))
}

/// The key a record's plain payload begins with (content hash, kind
/// code); `None` when it is too short to hold one.
fn key_of(plain: &[u8]) -> Option<Key> {
    let hash: [u8; 32] = plain.get(..32)?.try_into().ok()?;
    Some((Hash(hash), *plain.get(32)?))
}

/// Enters in `entries` the record of `key` at offset `start` of the log,
/// `len` bytes long: its result follows the record's head and key.
fn place(
    entries: &mut HashMap<Key, (std::ops::Range<usize>, std::ops::Range<usize>)>,
    key: Key,
    start: usize,
    len: usize,
) {
    let end = start + len;
    entries.insert(key, (start + RECORD_HEAD + 33..end, start..end));
}

/// Writes the index of the parse log at `log` (not sealed): its length,
/// and each record's key, offset and length (`records`, in the log's
/// order; errors ignored: without it the log is read whole).
fn write_log_index(
    index: &Path,
    log: &Path,
    records: impl Iterator<Item = (Key, usize, usize)> + Clone,
) {
    let Ok(len) = std::fs::metadata(log).map(|m| m.len()) else {
        return;
    };
    let mut count = 0usize;
    for (_, at, n) in records.clone() {
        if (at + n) as u64 > len {
            return;
        }
        count += 1;
    }
    write_checked(index, LOG_INDEX_MAGIC, None, |e| {
        e.uvar(len);
        e.uvar(count as u64);
        for ((hash, kind), at, n) in records {
            e.hash(&hash);
            e.u8(kind);
            e.uvar(at as u64);
            e.uvar(n as u64);
        }
    });
}

/// The records of `entries` whose keys `keep` takes, as (key, offset,
/// length) in the log's order.
fn by_offset(
    entries: &HashMap<Key, (std::ops::Range<usize>, std::ops::Range<usize>)>,
    keep: impl Fn(&Key) -> bool,
) -> Vec<(Key, usize, usize)> {
    let mut records: Vec<(Key, usize, usize)> = entries
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, (_, rec))| (*k, rec.start, rec.len()))
        .collect();
    records.sort_unstable_by_key(|&(_, at, _)| at);
    records
}

/// The parse log at `log` (not sealed) as its index describes it, none of
/// it read; `None` when the index is missing or damaged, or describes
/// another length of the log or another header (a torn append, a log
/// written by another rewind).
fn read_log_index(log: &Path, index: &Path) -> Option<ParseLog> {
    let mut entries = HashMap::new();
    let len = read_checked(index, LOG_INDEX_MAGIC, None, |d| {
        let len = d.uvar()?;
        let n = d.len()?;
        entries.reserve(n);
        for _ in 0..n {
            let hash = d.hash()?;
            let kind = d.u8()?;
            let start = d.uvar()?;
            let rec = d.uvar()?;
            // a record holds its head and key, and ends within the log
            if rec < (RECORD_HEAD + 33) as u64 || start.checked_add(rec).is_none_or(|e| e > len) {
                return Err(d.error("a record out of the log"));
            }
            place(&mut entries, (hash, kind), start as usize, rec as usize);
        }
        Ok(len)
    })?;
    let file = std::fs::File::open(log).ok()?;
    if file.metadata().ok()?.len() != len {
        return None;
    }
    let header = log_header(false);
    let mut head = vec![0u8; header.len()];
    read_at(&file, &mut head, 0).ok()?;
    if head != header {
        return None;
    }
    Some(ParseLog {
        bytes: Vec::new(),
        opened: None,
        entries,
        appendable: true,
        lazy: true,
        file: Some(file),
    })
}

/// Reads `buf.len()` bytes of `file` from offset `at` (shared by threads:
/// no seek). Elsewhere than Unix, an error: the log is read whole.
#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt as _;
    file.read_exact_at(buf, at)
}

#[cfg(not(unix))]
fn read_at(_: &std::fs::File, _: &mut [u8], _: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// Appends the records of spool file `new` to the log (errors are the
/// caller's to ignore: the cache is an accelerator, and a torn append is
/// found by its checksum).
fn append(path: &Path, new: &Path, header: usize) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().append(true).open(path)?;
    std::io::copy(&mut records_of(new, header)?, &mut f)?;
    Ok(())
}

/// Spool file `new`, opened past its header (`header` bytes).
fn records_of(new: &Path, header: usize) -> std::io::Result<std::fs::File> {
    use std::io::Seek as _;
    let mut f = std::fs::File::open(new)?;
    f.seek(std::io::SeekFrom::Start(header as u64))?;
    Ok(f)
}

/// Where the records a rewritten log keeps are: the log read whole, or
/// its file (read through its index).
enum Kept<'a> {
    Bytes(&'a [u8]),
    File(&'a std::fs::File),
}

/// Writes the log anew (a temporary file renamed over it): the header,
/// the records `kept` (key, offset, length in the old log, in its order)
/// copied from `source`, then the new ones (those of spool file `new`).
fn rewrite(
    path: &Path,
    kept: &[(Key, usize, usize)],
    source: Kept<'_>,
    new: Option<&Path>,
    sealed: bool,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    let written = (|| {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
        w.write_all(&log_header(sealed))?;
        let mut buf = Vec::new();
        for &(_, at, n) in kept {
            match source {
                Kept::Bytes(b) => {
                    let rec = b.get(at..at + n).ok_or(std::io::ErrorKind::UnexpectedEof)?;
                    w.write_all(rec)?;
                }
                Kept::File(f) => {
                    buf.resize(n, 0);
                    read_at(f, &mut buf, at as u64)?;
                    w.write_all(&buf)?;
                }
            }
        }
        if let Some(new) = new {
            std::io::copy(&mut records_of(new, log_header(sealed).len())?, &mut w)?;
        }
        w.flush()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Writes a file atomically: a temporary file beside it, then a rename
/// (errors ignored).
fn write_atomic(path: &Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
    if std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .is_err()
    {
        let _ = std::fs::remove_file(&tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: i64 = 1_764_590_000_123_456_789;

    fn stat(mtime_ns: i64, ctime_ns: i64) -> FileStat {
        FileStat {
            size: 10,
            mtime_ns,
            ctime_ns,
            ino: 7,
            dev: 1,
        }
    }

    fn recorded_at(start: i64) -> DirCache {
        DirCache {
            written_ns: start,
            ..Default::default()
        }
    }

    /// A log an older rewind wrote holds the nodes of state resources
    /// (kind `ff`): after a snapshot that read only the files that
    /// changed, the results of files are still in use, those never.
    #[test]
    fn an_older_logs_state_resource_records_are_never_in_use() {
        let dir = std::env::temp_dir().join(format!("rewind-old-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut c = DirCache::load(dir.join("key.stat"), None);
        let file = (Hash::of(b"main.tf"), FileKind::Tf.code());
        let state = (
            Hash::of(b"{\"type\": \"aws_db_instance\"}"),
            OLD_STATE_RESOURCE,
        );
        let mut log = log_header(false);
        log.extend(record_bytes(&file, b"a parse result", None).unwrap());
        log.extend(record_bytes(&state, &[7u8; 100], None).unwrap());
        std::fs::write(c.parse_path().unwrap(), &log).unwrap();
        // both records are read
        assert!(c.logged(&file).is_some() && c.logged(&state).is_some());
        c.update_parse_results_replacing(&HashSet::new(), &HashSet::new());
        let (_, live) = c.update.as_ref().expect("an update");
        assert!(live.contains(&file));
        assert!(!live.contains(&state));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stat_is_trusted_once_it_is_a_clock_tick_older_than_the_run_that_took_it() {
        let c = recorded_at(START);
        let ms = 1_000_000;
        // changed 150 ms before the run started: no change after the stat
        // can keep these times
        assert!(!c.racy(&stat(START - 150 * ms, START - 150 * ms)));
        // within 100 ms of it, or after: hashed again
        assert!(c.racy(&stat(START - 50 * ms, START - 150 * ms)));
        assert!(c.racy(&stat(START - 150 * ms, START - 50 * ms)));
        assert!(c.racy(&stat(START + 10 * ms, START + 10 * ms)));
        // a system without change times (0) decides by the modification time
        assert!(!c.racy(&stat(START - 150 * ms, 0)));
    }

    #[test]
    fn whole_second_times_are_trusted_two_seconds_after_only() {
        let c = recorded_at(START);
        let second = START - START % 1_000_000_000;
        // a file system keeping whole seconds (FAT, HFS+): a change can be
        // stamped up to 2 s before it happened
        assert!(c.racy(&stat(second - 1_000_000_000, second - 1_000_000_000)));
        assert!(!c.racy(&stat(second - 3_000_000_000, second - 3_000_000_000)));
        assert!(!c.dir_unchanged(second - 1_000_000_000, second - 1_000_000_000));
        assert!(c.dir_unchanged(second - 3_000_000_000, second - 3_000_000_000));
        // a fine time as old is trusted; a changed directory never is
        assert!(c.dir_unchanged(START - 200_000_000, START - 200_000_000));
        assert!(!c.dir_unchanged(START - 300_000_000, START - 200_000_000));
        assert!(!c.dir_unchanged(START - 50_000_000, START - 50_000_000));
    }

    #[test]
    fn racy_entries_are_told_apart_from_settled_ones() {
        let mut c = recorded_at(START);
        let entry = |t: i64| Stat {
            stat: stat(t, t),
            executable: false,
            hash: Hash::of(b"x"),
        };
        c.stats
            .insert(PathBuf::from("/t/old.tf"), entry(START - 500_000_000));
        c.dirs.push((PathBuf::from("/t"), START - 500_000_000));
        assert!(!c.has_racy_entries());
        c.dirs.push((PathBuf::from("/t/m"), START - 50_000_000));
        assert!(c.has_racy_entries());
        c.dirs.pop();
        c.stats
            .insert(PathBuf::from("/t/new.tf"), entry(START - 50_000_000));
        assert!(c.has_racy_entries());
    }

    #[test]
    fn the_stat_file_records_when_the_run_started_not_when_it_saved() {
        let dir = std::env::temp_dir().join(format!("rewind-cache-start-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.stat");
        let mut c = DirCache::load(path.clone(), None);
        let started = c.started_ns;
        assert!(started > 0 && started <= now_ns());
        c.stats.insert(
            dir.join("main.tf"),
            Stat {
                stat: stat(START, START),
                executable: false,
                hash: Hash::of(b"x"),
            },
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        c.save();
        let again = DirCache::load(path, None);
        assert_eq!(again.written_ns, started);
        assert_eq!(again.stats.len(), 1);
        assert!(again.started_ns >= started + 20_000_000);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
