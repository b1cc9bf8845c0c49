//! Opening a store and reading and writing its objects.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rewind_model::Hash;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Cond, LocalBackend, Put};
use crate::crypt::{CacheSeal, Crypt, Encryption, Keys, UserKey};
use crate::error::{corrupt, Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::lock::{self, StoreLock};
use crate::midx::{self, MultiIndex, Source};
use crate::pack::{object_in, open_block, Location, ObjType, PackBody, PackIndex, PackWriter};
use crate::record::SnapshotRecord;
use crate::refs::Refs;

/// Most times a read is tried again because the packs changed under it
/// (see [`Store::retrying`]): each try follows a change it saw, so a
/// reader gives up only when gc or roll-ups keep changing the packs for
/// this many tries in a row (with the waits, about 2.6 s).
const READ_ATTEMPTS: u32 = 32;

/// The store format this program writes (docs/store-format.md §17):
/// version 1 kept expressions as text; version 2 kept them as syntax
/// trees in packs of the `RWPACK01` magic; version 3 gives the block
/// layout of packs its own magic; version 4 stores symbolic links in
/// trees; version 5 adds encryption at rest (the config's `encryption`,
/// sealed blocks, keyed ids); version 6 adds sealing key generations (a
/// key slot wraps the data key and the sealing keys once a rotation
/// replaced the key that seals packs).
pub const STORE_VERSION: u32 = 6;

/// The oldest store format this program reads: a version 3 or 4 store is
/// read and written as it is (without encryption), a version 3 store
/// becomes version 4 when it first stores a symbolic link, and a version
/// 5 store becomes version 6 when its sealing key is first rotated.
pub(crate) const OLDEST_STORE_VERSION: u32 = 3;

/// The version from which trees may hold symbolic links.
pub(crate) const LINKS_VERSION: u32 = 4;

/// The version from which a store may be encrypted.
const ENCRYPTION_VERSION: u32 = 5;

/// The version from which an encrypted store's sealing key may differ
/// from its data key (a generation above 0).
pub(crate) const ROTATION_VERSION: u32 = 6;

#[derive(Serialize, Deserialize)]
pub(crate) struct Config {
    format: String,
    pub(crate) version: u32,
    created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) encryption: Option<Encryption>,
}

impl Config {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a config always serializes");
        bytes.push(b'\n');
        bytes
    }
}

/// How to create a store.
#[derive(Debug, Default, Clone)]
pub struct InitOptions {
    /// Encrypt it, with this key wrapping its data key.
    pub encrypt: Option<UserKey>,
    /// Encrypt it with the data key (and the key slots) of this other
    /// encrypted store, opened with its key: the two share object ids, so
    /// `sync` copies between them.
    pub encrypt_like: Option<String>,
}

/// What a store's encryption is, for `rewind show`-like messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encrypted {
    /// A store without encryption.
    No,
    /// Encrypted; its key was given (the data key's fingerprint).
    Unlocked(String),
    /// Encrypted; opened without its key (what it takes to open it).
    Locked(String),
}

/// A snapshot store: a local directory or a prefix in S3-compatible
/// object storage, holding packs of objects, snapshot records and refs.
pub struct Store {
    backend: Box<dyn Backend>,
    location: String,
    /// The combined index and the pack indexes outside it.
    loaded: RwLock<Loaded>,
    cache_dir: Option<PathBuf>,
    pub(crate) records: RwLock<HashMap<SnapshotId, SnapshotRecord>>,
    actor: Option<crate::refs::Actor>,
    /// The format version of the store's config, as opened.
    version: std::sync::atomic::AtomicU32,
    /// Whether its objects are encrypted, and the keys when they are.
    crypt: Crypt,
    /// An existing pack was found sealed as the config says
    /// ([`Store::check_packs_match_config`]): checked before the first
    /// pack this value writes.
    seal_checked: std::sync::atomic::AtomicBool,
}

/// What a store has loaded to find objects: a combined index over the
/// older packs (saved in the cache, or built) and the indexes of the packs
/// outside it.
#[derive(Default)]
struct Loaded {
    /// Loaded once: later calls only add packs that appeared.
    done: bool,
    multi: Option<Arc<MultiIndex>>,
    /// The indexes of the packs `multi` does not cover, oldest first.
    loose: Vec<Arc<PackIndex>>,
    /// `multi` was read from the cache (not built from pack indexes).
    from_saved: bool,
    /// Do not read the saved combined index again: a read through it
    /// failed, or it named a pack removed since.
    ignore_saved: bool,
}

/// The combined index and the indexes of the packs outside it, as a
/// reader takes them for a batch of lookups.
type LookupTables = (Option<Arc<MultiIndex>>, Vec<Arc<PackIndex>>);

/// Packs are split when they grow past this.
pub(crate) const PACK_SPLIT: usize = 128 << 20;

/// How long `gc` waits for running snapshots to finish.
const GC_WAIT: Duration = Duration::from_secs(120);

impl Store {
    /// Finds the store: `--store`, then `REWIND_STORE`, then `.rewind/` in
    /// the current directory or a parent.
    pub fn locate(explicit: Option<&str>) -> Result<String> {
        if let Some(s) = explicit {
            return Ok(s.to_string());
        }
        if let Ok(s) = std::env::var("REWIND_STORE") {
            if !s.is_empty() {
                return Ok(s);
            }
        }
        let mut dir = std::env::current_dir().map_err(|e| Error::Io {
            path: PathBuf::from("."),
            source: e,
        })?;
        loop {
            let candidate = dir.join(".rewind");
            if candidate.join("config").is_file() {
                return Ok(candidate.display().to_string());
            }
            if !dir.pop() {
                break;
            }
        }
        Err(Error::NoStore(
            "no store found: pass --store PATH, set REWIND_STORE, or run `rewind init` (which creates .rewind/ here)".into(),
        ))
    }

    fn backend_for(location: &str) -> Result<Box<dyn Backend>> {
        if location.starts_with("s3://") {
            return crate::remote::open_s3(location);
        }
        Ok(Box::new(LocalBackend::new(PathBuf::from(location))))
    }

    fn with_backend(
        location: &str,
        backend: Box<dyn Backend>,
        version: u32,
        crypt: Crypt,
    ) -> Store {
        let cache_dir = match backend.local_root() {
            Some(root) => Some(root.join("cache")),
            None => crate::remote::cache_dir_for(location),
        };
        Store {
            backend,
            location: location.to_string(),
            loaded: RwLock::new(Loaded::default()),
            cache_dir,
            records: RwLock::new(HashMap::new()),
            actor: None,
            version: std::sync::atomic::AtomicU32::new(version),
            crypt,
            seal_checked: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Records `actor` as who made every ref change this value writes (the
    /// ref log's `who`; the store itself never reads the environment).
    pub fn with_actor(mut self, actor: crate::refs::Actor) -> Store {
        self.actor = Some(actor);
        self
    }

    /// Who this value's ref changes are recorded as made by.
    pub fn actor(&self) -> Option<&crate::refs::Actor> {
        self.actor.as_ref()
    }

    /// Creates a new store without encryption (an existing one is an
    /// error).
    pub fn init(location: &str) -> Result<Store> {
        Self::init_with(location, &InitOptions::default())
    }

    /// Creates a new store (an existing one is an error), encrypted when
    /// `opts.encrypt` gives the key that wraps its data key.
    pub fn init_with(location: &str, opts: &InitOptions) -> Result<Store> {
        let backend = Self::backend_for(location)?;
        let (crypt, encryption) = match (&opts.encrypt, &opts.encrypt_like) {
            (Some(_), Some(_)) => {
                return Err(Error::Config(
                    "give a key to encrypt with or a store to share the data key of, not both"
                        .into(),
                ))
            }
            (Some(user), None) => {
                let (keys, enc) = Keys::create(user)?;
                (Crypt::Open(Arc::new(keys)), Some(enc))
            }
            (None, Some(other)) => {
                let like = Store::open(other)?;
                let (config, _) = Self::read_config(like.backend.as_ref(), other)?;
                match (&like.crypt, config.encryption) {
                    (Crypt::Open(k), Some(enc)) if enc.fingerprint == k.fingerprint => {
                        (Crypt::Open(k.clone()), Some(enc))
                    }
                    (Crypt::Locked(how), _) => {
                        return Err(Error::KeyNeeded(format!("--encrypt-like: {how}")))
                    }
                    _ => {
                        return Err(Error::Config(format!(
                            "{} is not an encrypted store: there is no data key to share",
                            like.describe()
                        )))
                    }
                }
            }
            (None, None) => (Crypt::Plain, None),
        };
        let config = Config {
            format: "rewind-store".into(),
            version: STORE_VERSION,
            created: crate::time::now(),
            encryption,
        };
        if backend.put("config", &config.encode(), Cond::Absent)? == Put::Conflict {
            return Err(Error::StoreExists(backend.describe()));
        }
        backend.put("refs", &Refs::empty().encode(), Cond::Absent)?;
        Ok(Self::with_backend(location, backend, STORE_VERSION, crypt))
    }

    /// Opens an existing store, checking its format version. An encrypted
    /// store is unlocked with the key in `REWIND_KEY` or the file
    /// `REWIND_KEY_FILE` names, or else with its AWS KMS key slot; opened
    /// without a key, everything but its objects can be read (refs,
    /// records, `verify` of the packs' framing).
    pub fn open(location: &str) -> Result<Store> {
        Self::open_with(location, UserKey::from_env()?.as_ref())
    }

    /// Reads and checks the config; returns it with its version.
    pub(crate) fn read_config(
        backend: &dyn Backend,
        location: &str,
    ) -> Result<(Config, crate::backend::Version)> {
        let what = format!("{} (config)", backend.describe());
        let Some((bytes, version)) = backend.get("config")? else {
            return Err(Error::NoStore(format!(
                "no store at {}: run `rewind init --store {location}` first",
                backend.describe()
            )));
        };
        let config: Config = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("store config {what}"), e.to_string()))?;
        if config.format != "rewind-store" {
            return Err(Error::Config(format!(
                "{what} is not a rewind store config"
            )));
        }
        if config.version < OLDEST_STORE_VERSION {
            return Err(Error::Config(format!(
                "{what}: store format version {} was written by an earlier rewind (version {OLDEST_STORE_VERSION} and later keep expressions as syntax trees, in packs of the RWPACK02 layout); read it with the rewind that wrote it, or start a new store and snapshot the releases again",
                config.version
            )));
        }
        if config.version > STORE_VERSION {
            return Err(Error::Config(format!(
                "{what}: store format version {} is not supported by this rewind (it reads versions {OLDEST_STORE_VERSION} to {STORE_VERSION}); use a matching rewind release",
                config.version
            )));
        }
        if config.encryption.is_some() && config.version < ENCRYPTION_VERSION {
            return Err(Error::Config(format!(
                "{what}: a store of format version {} cannot be encrypted",
                config.version
            )));
        }
        if let Some(enc) = &config.encryption {
            if (enc.generation > 0 || !enc.retired.is_empty()) && config.version < ROTATION_VERSION
            {
                return Err(Error::Config(format!(
                    "{what}: a store of format version {} has no sealing key generations (its config names generation {})",
                    config.version, enc.generation
                )));
            }
        }
        Ok((config, version))
    }

    /// Opens an existing store with `key` (for an encrypted one; without a
    /// key its AWS KMS key slot is tried, if it has one). A key given for a
    /// store without encryption is an error: its config may have been
    /// stripped of its encryption to make rewind write in the clear.
    pub fn open_with(location: &str, key: Option<&UserKey>) -> Result<Store> {
        let backend = Self::backend_for(location)?;
        let (config, _) = Self::read_config(backend.as_ref(), location)?;
        let desc = backend.describe();
        let crypt = match (&config.encryption, key) {
            (None, None) => Crypt::Plain,
            (None, Some(k)) => {
                return Err(Error::WrongKey {
                    store: desc,
                    detail: format!(
                        "a key was given ({}) but the store is not encrypted; unset it to use this store (if the store was created with --encrypt, its config was altered)",
                        k.origin()
                    ),
                })
            }
            (Some(enc), key) => match Keys::unlock(enc, key, &desc) {
                Ok(Some(keys)) => Crypt::Open(Arc::new(keys)),
                Ok(None) => Crypt::Locked(format!(
                    "the store {desc} is encrypted: give its key in REWIND_KEY or in a file named by REWIND_KEY_FILE"
                )),
                Err(e @ Error::Kms(_)) if key.is_none() => Crypt::Locked(format!(
                    "the store {desc} is encrypted and its AWS KMS key did not open it ({e}); give a key in REWIND_KEY or REWIND_KEY_FILE, or fix the AWS credentials"
                )),
                Err(e) => return Err(e),
            },
        };
        Ok(Self::with_backend(location, backend, config.version, crypt))
    }

    /// Whether the store is encrypted, and whether its key was given.
    pub fn encryption(&self) -> Encrypted {
        match &self.crypt {
            Crypt::Plain => Encrypted::No,
            Crypt::Open(k) => Encrypted::Unlocked(k.fingerprint.clone()),
            Crypt::Locked(how) => Encrypted::Locked(how.clone()),
        }
    }

    /// Fails unless the store's objects can be read and written: an
    /// encrypted store needs its key.
    pub fn require_key(&self, what: &str) -> Result<()> {
        self.crypt.keys(what).map(|_| ())
    }

    /// The id of an object with content `bytes` in this store: its blake3
    /// hash, keyed in an encrypted store.
    pub fn object_id(&self, bytes: &[u8]) -> ObjectId {
        self.crypt.id_of(bytes)
    }

    /// The id in this store of content whose blake3 hash is `plain`.
    pub fn object_id_of_hash(&self, plain: Hash) -> ObjectId {
        self.crypt.id_of_hash(plain)
    }

    /// How the local cache files of an encrypted store are sealed (`None`
    /// for a store without encryption; an error for an encrypted store
    /// opened without its key).
    pub fn cache_seal(&self) -> Result<Option<CacheSeal>> {
        match &self.crypt {
            Crypt::Plain => Ok(None),
            Crypt::Open(k) => Ok(Some(CacheSeal(k.clone()))),
            Crypt::Locked(how) => Err(Error::KeyNeeded(format!("local caches: {how}"))),
        }
    }

    pub(crate) fn crypt(&self) -> &Crypt {
        &self.crypt
    }

    /// The keys of an encrypted store opened with its key (`what`: the
    /// operation, for the error otherwise).
    pub(crate) fn open_keys(&self, what: &str) -> Result<Arc<Keys>> {
        match &self.crypt {
            Crypt::Plain => Err(Error::Config(format!(
                "{} is not encrypted: there is no key to change (create an encrypted store with `rewind init --encrypt` and `rewind sync` cannot copy into it either: ids differ)",
                self.describe()
            ))),
            Crypt::Locked(how) => Err(Error::KeyNeeded(format!("{what}: {how}"))),
            Crypt::Open(k) => Ok(k.clone()),
        }
    }

    /// An empty pack for this store (sealed blocks when it is encrypted).
    pub(crate) fn pack_writer(&self) -> PackWriter {
        PackWriter::sealed(self.sealing_keys())
    }

    /// An empty pack for this store written to a new temporary file of
    /// its backend as it fills ([`PackWriter::spilled`]: in a local store,
    /// in its `tmp/`; for S3, in the `tmp/` of the store's local cache),
    /// and put in place by [`Store::write_pack`] (renamed; uploaded from
    /// the file); a pack in memory for a backend with nowhere to put the
    /// file (S3 without a cache directory), or when the file cannot be
    /// made (the pack's own write reports a store that cannot be
    /// written). A temporary file a killed process leaves is removed once
    /// it is old: by `gc` in a local store, by the next snapshot in a
    /// cache.
    pub(crate) fn spilled_pack_writer(&self) -> PackWriter {
        match self.backend.create_temp("pack.tmp") {
            Some(Ok((file, path))) => PackWriter::spilled(self.sealing_keys(), file, path),
            _ => self.pack_writer(),
        }
    }

    /// The keys new packs are sealed with (`None`: written in the clear).
    pub(crate) fn sealing_keys(&self) -> Option<Arc<Keys>> {
        match &self.crypt {
            Crypt::Open(k) => Some(k.clone()),
            Crypt::Plain | Crypt::Locked(_) => None,
        }
    }

    /// Re-wraps the keys of an encrypted store with `new` (replacing every
    /// key slot) and nothing else: the old user key stops opening the
    /// store, but the data and sealing keys stay, so whoever unwrapped
    /// them before still reads every pack. [`Store::rotate_key`] replaces
    /// the sealing key too. The new config replaces the old one with one
    /// conditional write (atomic: a crash leaves the old config or the
    /// new one, never a mix).
    pub fn rekey(&self, new: &UserKey) -> Result<()> {
        let keys = self.open_keys("rekey")?;
        let (mut config, version) = Self::read_config(self.backend.as_ref(), &self.location)?;
        let Some(enc) = config.encryption.as_mut() else {
            return Err(Error::Config(format!(
                "{} (config): its encryption disappeared while it was open",
                self.describe()
            )));
        };
        if enc.fingerprint != keys.fingerprint || enc.generation != keys.generation {
            return Err(Error::Config(format!(
                "{} (config): its data key or sealing key changed while it was open (another rekey?); nothing was written, try again",
                self.describe()
            )));
        }
        let slot = keys.wrap(new)?;
        keys.describe_into(enc, slot);
        if self
            .backend
            .put("config", &config.encode(), Cond::Match(version))?
            == Put::Conflict
        {
            return Err(Error::Config(format!(
                "{} (config) changed while it was being rekeyed (another rekey?); nothing was written, try again",
                self.describe()
            )));
        }
        Ok(())
    }

    /// Fails when the store's keys were rotated since this value opened
    /// it (a rekey ran while this command waited for the lock, or beside
    /// it in an S3 store): its blocks then no longer open with the keys at
    /// hand, which is not damage, and a pack sealed with the retired key
    /// would not open once the rotation finished (a writer calls it once
    /// per pack). `done` says what became of the command.
    pub(crate) fn keys_still_current(&self, keys: &Keys, done: &str) -> Result<()> {
        let (config, _) = Self::read_config(self.backend.as_ref(), &self.location)?;
        match config.encryption {
            Some(enc)
                if enc.fingerprint == keys.fingerprint && enc.generation == keys.generation =>
            {
                Ok(())
            }
            _ => Err(Error::Config(format!(
                "{}: its key was rotated (`rewind rekey`) since this rewind opened it; {done}, run the command again with the new key",
                self.describe()
            ))),
        }
    }

    /// Before the first pack this value writes: one block of an existing
    /// pack (the newest) must be sealed as the config says. After a full
    /// `rekey` no pack opens with the keys of an older config, and a
    /// config put back by someone who can write the store (an older one,
    /// or one with its encryption removed) would otherwise have new
    /// secrets sealed with a retired key, or written in the clear, beside
    /// packs nothing could read any more. A block that cannot be read
    /// (gone with a gc, damaged) does not stop the write: `verify` says
    /// what is wrong with it.
    fn check_packs_match_config(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.seal_checked.load(Ordering::Acquire) {
            return Ok(());
        }
        let (multi, loose) = self.lookup_tables()?;
        let probe = match loose.last() {
            Some(idx) if idx.count() > 0 => Some((idx.name, idx.entry(0).1)),
            _ => multi
                .as_deref()
                .and_then(|m| m.entry(0))
                .map(|(_, p, l)| (p, l)),
        };
        if let Some((pack, loc)) = probe {
            let key = format!("packs/{}.pack", pack.to_hex());
            if let Ok(stored) = self
                .backend
                .get_range(&key, loc.block, u64::from(loc.block_len))
            {
                if let Some(why) = crate::pack::seal_mismatch(&stored, &self.crypt) {
                    return Err(Error::Crypto(format!(
                        "{} ({key}): {why}: the config was replaced (by an older one, from before a `rekey`?) or the packs were; nothing was written. `rewind verify` says more",
                        self.describe()
                    )));
                }
            }
        }
        self.seal_checked.store(true, Ordering::Release);
        Ok(())
    }

    /// The format version of the store's config.
    pub fn format_version(&self) -> u32 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Raises the config of an older store to the version from which
    /// trees hold symbolic links, before the first such tree is written:
    /// an older rewind then refuses the store as a whole ("not supported")
    /// rather than failing on one tree. The rest of the config is kept;
    /// every writer writes the same bytes, so racing writers agree.
    fn allow_links(&self) -> Result<()> {
        if self.format_version() >= LINKS_VERSION {
            return Ok(());
        }
        let what = format!("{} (config)", self.backend.describe());
        let Some(bytes) = self.backend.get_data("config")? else {
            return Err(Error::NoStore(format!("no store at {what}")));
        };
        let mut config: Config = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("store config {what}"), e.to_string()))?;
        if config.version < LINKS_VERSION {
            config.version = LINKS_VERSION;
            self.backend.put("config", &config.encode(), Cond::Always)?;
        }
        self.version
            .store(config.version, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    /// Where the store is, as it was given (a path or `s3://…`).
    pub fn location(&self) -> &str {
        &self.location
    }

    pub(crate) fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Where the store lives, for messages.
    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    /// Requests this store made so far (for `--verbose`).
    pub fn requests(&self) -> u64 {
        self.backend.requests()
    }

    /// A directory for local caches (safe to delete).
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    // ---- the local copies of a remote store's immutable keys ----------

    /// A copy of an immutable key of a remote store, from the local cache.
    pub(crate) fn read_cache(&self, rel: &str) -> Option<Vec<u8>> {
        if self.backend.local_root().is_some() {
            return None;
        }
        crate::backend::read_file(
            &self.cache_dir.as_ref()?.join(rel),
            crate::backend::MAX_SMALL_FILE,
        )
        .ok()
    }

    /// Keeps a copy of an immutable key of a remote store (errors ignored:
    /// the cache only saves requests).
    pub(crate) fn write_cache(&self, rel: &str, data: &[u8]) {
        if self.backend.local_root().is_some() {
            return;
        }
        let Some(path) = self.cache_dir.as_ref().map(|d| d.join(rel)) else {
            return;
        };
        let Some(dir) = path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_ok() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let tmp = dir.join(format!(
                "{}.{}.tmp",
                name.unwrap_or_default(),
                std::process::id()
            ));
            if std::fs::write(&tmp, data).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
    }

    // ---- packs --------------------------------------------------------

    /// Loads one listed pack index: from the local cache when it checks
    /// out, otherwise from the store.
    fn load_index(&self, key: &str, name: Hash) -> Result<Option<PackIndex>> {
        let what = format!("pack index {key}");
        let file = format!("idx/{}.idx", name.to_hex());
        if let Some(d) = self.read_cache(&file) {
            if let Ok(i) = PackIndex::parse(name, d, &what) {
                return Ok(Some(i));
            }
        }
        let Some(data) = self.backend.get_data(key)? else {
            return Ok(None);
        };
        // checked before it is kept; not copied to be kept (a local store
        // keeps no copies: it cost a store of four packs a megabyte copied)
        let idx = PackIndex::parse(name, data, &format!("{} ({what})", self.describe()))?;
        self.write_cache(&file, idx.bytes());
        Ok(Some(idx))
    }

    /// The pack indexes listed in the store, in listing order.
    pub(crate) fn listed_indexes(&self) -> Result<Vec<Hash>> {
        Ok(self
            .backend
            .list("packs/")?
            .iter()
            .filter_map(|l| {
                l.key
                    .strip_prefix("packs/")
                    .and_then(|n| n.strip_suffix(".idx"))
                    .and_then(|n| Hash::from_hex(n).ok())
            })
            .collect())
    }

    /// Where the combined index is saved (docs/store-format.md §18.1).
    pub(crate) fn multi_index_path(&self) -> Option<PathBuf> {
        self.cache_dir.as_ref().map(|d| d.join(midx::MIDX_FILE))
    }

    /// The saved combined index, when it reads back whole and every pack
    /// it covers is still listed (`None` otherwise: it is ignored, and
    /// built again from the packs' own indexes).
    fn saved_multi_index(&self, listed: &HashSet<Hash>) -> Option<MultiIndex> {
        let path = self.multi_index_path()?;
        let data = crate::backend::read_file(&path, crate::backend::MAX_SMALL_FILE).ok()?;
        let multi = MultiIndex::parse(data, &path.display().to_string()).ok()?;
        multi
            .packs()
            .iter()
            .all(|p| listed.contains(p))
            .then_some(multi)
    }

    /// Saves a combined index to the local cache (a temporary file renamed
    /// over it; errors ignored: a store on a read-only disk is read from
    /// its packs' indexes).
    fn save_multi_index(&self, multi: &MultiIndex) {
        let Some(path) = self.multi_index_path() else {
            return;
        };
        let Some(dir) = path.parent() else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(
            "{}.{}-{}.tmp",
            midx::MIDX_FILE,
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        if std::fs::write(&tmp, multi.bytes()).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// Folds the packs outside the combined index into it once there are
    /// more than [`midx::UNCOVERED_MAX`], and saves it.
    fn combine(&self, st: &mut Loaded) {
        if st.loose.len() <= midx::UNCOVERED_MAX {
            return;
        }
        let mut sources: Vec<Source<'_>> = Vec::with_capacity(st.loose.len() + 1);
        if let Some(m) = &st.multi {
            sources.push(Source::Multi(m));
        }
        sources.extend(st.loose.iter().map(|p| Source::Pack(p)));
        let built = MultiIndex::build(&sources);
        self.save_multi_index(&built);
        st.multi = Some(Arc::new(built));
        st.loose.clear();
    }

    /// Loads the pack indexes not loaded yet: at the first call, the saved
    /// combined index when it is usable and the indexes of the packs it
    /// does not cover; later, the indexes of packs that appeared since.
    pub(crate) fn refresh_packs(&self) -> Result<()> {
        let listed = self.listed_indexes()?;
        let Ok(mut st) = self.loaded.write() else {
            return Ok(());
        };
        if !st.done && !st.ignore_saved && st.multi.is_none() {
            let set: HashSet<Hash> = listed.iter().copied().collect();
            st.multi = self.saved_multi_index(&set).map(Arc::new);
            st.from_saved = st.multi.is_some();
        }
        // a set: a long history lists thousands of packs
        let mut known: HashSet<Hash> = st.loose.iter().map(|i| i.name).collect();
        if let Some(m) = &st.multi {
            known.extend(m.packs().iter().copied());
        }
        for hash in listed {
            if known.contains(&hash) {
                continue;
            }
            let key = format!("packs/{}.idx", hash.to_hex());
            if let Some(idx) = self.load_index(&key, hash)? {
                st.loose.push(Arc::new(idx));
            }
        }
        self.combine(&mut st);
        st.done = true;
        Ok(())
    }

    /// Builds the combined index of every listed pack from the packs' own
    /// indexes and saves it (gc and the roll-up of small packs, after
    /// they rewrote packs; `verify --repair`).
    pub(crate) fn rebuild_multi_index(&self) -> Result<()> {
        let listed = self.listed_indexes()?;
        let mut loose = Vec::with_capacity(listed.len());
        for hash in listed {
            let key = format!("packs/{}.idx", hash.to_hex());
            if let Some(idx) = self.load_index(&key, hash)? {
                loose.push(Arc::new(idx));
            }
        }
        let Ok(mut st) = self.loaded.write() else {
            return Ok(());
        };
        if loose.is_empty() {
            if let Some(path) = self.multi_index_path() {
                let _ = std::fs::remove_file(path);
            }
            *st = Loaded {
                done: true,
                ..Loaded::default()
            };
            return Ok(());
        }
        let sources: Vec<Source<'_>> = loose.iter().map(|p| Source::Pack(p)).collect();
        let built = MultiIndex::build(&sources);
        self.save_multi_index(&built);
        *st = Loaded {
            done: true,
            multi: Some(Arc::new(built)),
            ..Loaded::default()
        };
        Ok(())
    }

    /// Loads the pack indexes on first use.
    fn ensure_packs(&self) -> Result<()> {
        let loaded = self.loaded.read().map(|l| l.done).unwrap_or(false);
        if !loaded {
            self.refresh_packs()?;
        }
        Ok(())
    }

    /// The combined index and the indexes of the packs outside it.
    fn lookup_tables(&self) -> Result<LookupTables> {
        self.ensure_packs()?;
        Ok(self
            .loaded
            .read()
            .map(|st| (st.multi.clone(), st.loose.clone()))
            .unwrap_or_default())
    }

    /// The pack holding an object (the most recently loaded one first).
    /// Called for every object a snapshot adds: it searches the few packs
    /// outside the combined index, then the combined index, in place.
    fn locate_obj(&self, id: &ObjectId) -> Result<Option<(Hash, Location)>> {
        self.ensure_packs()?;
        let Ok(st) = self.loaded.read() else {
            return Ok(None);
        };
        Ok(midx::locate(&st.loose, st.multi.as_deref(), id))
    }

    /// The type of a stored object (from its index entry).
    pub(crate) fn object_type(&self, id: &ObjectId) -> Result<ObjType> {
        match self.locate_obj(id)? {
            Some((_, loc)) => Ok(loc.ty),
            None => Err(Error::MissingObject(*id)),
        }
    }

    /// True when a pack index lists the object.
    pub fn has(&self, id: &ObjectId) -> Result<bool> {
        Ok(self.locate_obj(id)?.is_some())
    }

    /// Reads one object, checking its hash.
    pub(crate) fn get(&self, id: &ObjectId) -> Result<(ObjType, Vec<u8>)> {
        self.retrying(|| self.get_once(id))
    }

    /// Runs a read again when it failed because the packs changed under
    /// it: gc rewrites packs and deletes the old ones, and a reader that
    /// listed the indexes before still looks for its objects there. When
    /// the listing shows packs gone or new, or the read went through a
    /// saved combined index (which is then dropped and built again from
    /// the packs' own indexes), the read is tried again, as long as the
    /// packs keep changing (a gc or a roll-up deletes its old packs one by
    /// one, and a read of many objects can meet several of them), at most
    /// [`READ_ATTEMPTS`] times, waiting a little longer each time; any
    /// other failure stands.
    fn retrying<T>(&self, mut read: impl FnMut() -> Result<T>) -> Result<T> {
        let mut attempts = 0;
        loop {
            match read() {
                Err(_)
                    if attempts < READ_ATTEMPTS
                        && (self.packs_changed()? || self.drop_saved_index()?) =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5 * u64::from(attempts)));
                }
                r => return r,
            }
        }
    }

    /// Forgets a combined index read from the cache and loads every pack's
    /// own index instead (a read through it failed: it may be wrong
    /// although whole); the index built from them replaces the saved one.
    /// True when there was one to drop.
    fn drop_saved_index(&self) -> Result<bool> {
        match self.loaded.write() {
            Ok(mut st) if st.from_saved => {
                *st = Loaded {
                    ignore_saved: true,
                    ..Loaded::default()
                };
            }
            _ => return Ok(false),
        }
        self.refresh_packs()?;
        Ok(true)
    }

    /// Lists the pack indexes again and makes the loaded list exactly
    /// that; true when it changed.
    fn packs_changed(&self) -> Result<bool> {
        let listed: HashSet<Hash> = self.listed_indexes()?.into_iter().collect();
        let (gone, new) = match self.loaded.write() {
            Ok(mut st) => {
                let before = st.loose.len();
                st.loose.retain(|i| listed.contains(&i.name));
                let mut gone = before != st.loose.len();
                if let Some(m) = &st.multi {
                    if m.packs().iter().any(|p| !listed.contains(p)) {
                        // it names a pack removed since: every pack's own
                        // index is loaded again, and the combined index
                        // built from them
                        *st = Loaded {
                            ignore_saved: true,
                            ..Loaded::default()
                        };
                        gone = true;
                    }
                }
                let mut known: HashSet<Hash> = st.loose.iter().map(|i| i.name).collect();
                if let Some(m) = &st.multi {
                    known.extend(m.packs().iter().copied());
                }
                (gone, listed.iter().any(|h| !known.contains(h)))
            }
            Err(_) => return Ok(false),
        };
        if gone || new {
            self.refresh_packs()?;
        }
        Ok(gone || new)
    }

    fn get_once(&self, id: &ObjectId) -> Result<(ObjType, Vec<u8>)> {
        let Some((pack, loc)) = self.locate_obj(id)? else {
            return Err(Error::MissingObject(*id));
        };
        let key = format!("packs/{}.pack", pack.to_hex());
        let stored = self
            .backend
            .get_range(&key, loc.block, u64::from(loc.block_len))?;
        let what = || format!("object {id} ({}) in {key}", loc.ty.name());
        let block = open_block(&stored, &self.crypt, &what)?;
        Ok((loc.ty, object_in(&block, id, &loc, &self.crypt, &what)?))
    }

    /// Every object of one type the pack indexes list.
    pub(crate) fn objects_of_type(&self, ty: ObjType) -> Result<Vec<ObjectId>> {
        let (multi, loose) = self.lookup_tables()?;
        let mut out: Vec<ObjectId> = multi
            .iter()
            .flat_map(|m| m.iter().filter(|(_, _, l)| l.ty == ty).map(|(id, _, _)| id))
            .collect();
        for p in &loose {
            out.extend(p.iter().filter(|(_, l)| l.ty == ty).map(|(id, _)| id));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Reads an object that must be of type `ty`.
    pub(crate) fn get_typed(&self, id: &ObjectId, ty: ObjType) -> Result<Vec<u8>> {
        let (t, data) = self.get(id)?;
        if t != ty {
            return Err(corrupt(
                format!("object {id}"),
                format!("expected a {}, found a {}", ty.name(), t.name()),
            ));
        }
        Ok(data)
    }

    /// Reads many objects with few requests (adjacent ranges of a pack
    /// are read together), checking every hash. Results follow `ids`.
    pub fn get_many(&self, ids: &[ObjectId]) -> Result<Vec<Vec<u8>>> {
        self.retrying(|| self.get_many_once(ids, None))
    }

    /// [`Store::get_many`] of objects that must be blobs (files' contents,
    /// links' targets): a crafted tree naming another object as a file
    /// is refused, not written out as its bytes.
    pub fn get_blobs(&self, ids: &[ObjectId]) -> Result<Vec<Vec<u8>>> {
        self.retrying(|| self.get_many_once(ids, Some(ObjType::Blob)))
    }

    fn get_many_once(&self, ids: &[ObjectId], want: Option<ObjType>) -> Result<Vec<Vec<u8>>> {
        let (multi, loose) = self.lookup_tables()?;
        let mut by_pack: BTreeMap<Hash, Vec<(usize, Location)>> = BTreeMap::new();
        for (i, id) in ids.iter().enumerate() {
            let found = midx::locate(&loose, multi.as_deref(), id);
            let Some((pi, loc)) = found else {
                return Err(Error::MissingObject(*id));
            };
            if let Some(t) = want.filter(|&t| t != loc.ty) {
                return Err(corrupt(
                    format!("object {id}"),
                    format!("expected a {}, found a {}", t.name(), loc.ty.name()),
                ));
            }
            by_pack.entry(pi).or_default().push((i, loc));
        }
        let mut out: Vec<Vec<u8>> = vec![Vec::new(); ids.len()];
        for (pi, wanted) in by_pack {
            let key = format!("packs/{}.pack", pi.to_hex());
            for (start, end, items) in nearby_runs(wanted) {
                let data = self.backend.get_range(&key, start, end - start)?;
                // the items come in block order: one block open at a time
                // (held together, the blocks of objects spread over a large
                // pack were as many fresh 64 KiB buffers)
                let mut opened: Option<(u64, Vec<u8>)> = None;
                for (i, loc) in items {
                    let what = || format!("object {} ({}) in {key}", ids[i], loc.ty.name());
                    if opened.as_ref().map(|(at, _)| *at) != Some(loc.block) {
                        // freed before the next is made: its memory is reused
                        drop(opened.take());
                        let s = (loc.block - start) as usize;
                        let block =
                            open_block(&data[s..s + loc.block_len as usize], &self.crypt, &what)?;
                        opened = Some((loc.block, block));
                    }
                    let block = opened
                        .as_ref()
                        .map(|(_, b)| b.as_slice())
                        .unwrap_or_default();
                    out[i] = object_in(block, &ids[i], &loc, &self.crypt, &what)?;
                }
            }
        }
        Ok(out)
    }

    /// Writes a pack and its index (the pack first: an index only ever
    /// names a complete pack). Returns the pack's name.
    pub fn write_pack(&self, w: PackWriter) -> Result<Option<Hash>> {
        if w.is_empty() {
            return Ok(None);
        }
        match (&self.crypt, w.is_sealed()) {
            (Crypt::Plain, false) | (Crypt::Open(_), true) => {}
            (Crypt::Locked(how), _) => return Err(Error::KeyNeeded(format!("writing: {how}"))),
            (Crypt::Open(_), false) => {
                return Err(Error::Crypto(format!(
                    "{}: refusing to write a pack in the clear into an encrypted store",
                    self.describe()
                )))
            }
            (Crypt::Plain, true) => {
                return Err(Error::Crypto(format!(
                    "{}: refusing to write a sealed pack into a store without encryption",
                    self.describe()
                )))
            }
        }
        if let Crypt::Open(k) = &self.crypt {
            self.keys_still_current(k, "nothing was written")?;
        }
        self.check_packs_match_config()?;
        if w.holds_links() {
            self.allow_links()?;
        }
        let (body, idx, name) = w.try_finish_body()?;
        let hex = name.to_hex();
        let key = format!("packs/{hex}.pack");
        match body {
            PackBody::Mem(pack) => {
                self.backend.put(&key, &pack, Cond::Always)?;
            }
            PackBody::File(f) => f.put(&*self.backend, &key)?,
        }
        self.backend
            .put(&format!("packs/{hex}.idx"), &idx, Cond::Always)?;
        self.write_cache(&format!("idx/{hex}.idx"), &idx);
        let parsed = PackIndex::parse(name, idx, "new pack index")?;
        if let Ok(mut st) = self.loaded.write() {
            st.loose.push(Arc::new(parsed));
            // a snapshot that leaves more than a few packs outside the
            // combined index folds them in (and saves it)
            self.combine(&mut st);
        }
        Ok(Some(name))
    }

    // ---- locks ----------------------------------------------------------

    pub(crate) fn gc_lock_path(&self) -> Option<PathBuf> {
        self.backend.local_root().map(|root| root.join("gc.lock"))
    }

    /// Held by writers for the length of a snapshot: `gc` waits for them.
    pub fn shared_lock(&self) -> Result<StoreLock> {
        match self.gc_lock_path() {
            Some(path) => lock::shared(path),
            None => Ok(StoreLock::none()),
        }
    }

    /// Held by `gc`: no snapshot runs meanwhile.
    pub(crate) fn exclusive_lock(&self) -> Result<StoreLock> {
        match self.gc_lock_path() {
            Some(path) => lock::exclusive(
                path,
                GC_WAIT,
                Duration::from_millis(20),
                &format!(
                    "snapshots kept running for {}s; try again",
                    GC_WAIT.as_secs()
                ),
            ),
            None => Ok(StoreLock::none()),
        }
    }
}

/// A range of a pack read with one request, `[start, end)`, and the wanted
/// objects (their place in the caller's list, and where they are) in it.
type Run = (u64, u64, Vec<(usize, Location)>);

/// The wanted entries of one pack in runs of nearby blocks.
fn nearby_runs(mut wanted: Vec<(usize, Location)>) -> Vec<Run> {
    wanted.sort_by_key(|(_, l)| l.block);
    let mut runs: Vec<Run> = Vec::new();
    for (i, loc) in wanted {
        let end = loc.block + u64::from(loc.block_len);
        match runs.last_mut() {
            Some((_, rend, items)) if loc.block <= *rend + (256 << 10) => {
                *rend = (*rend).max(end);
                items.push((i, loc));
            }
            _ => runs.push((loc.block, end, vec![(i, loc)])),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Listed, Put};
    use std::sync::Mutex;

    /// A local store's backend where a gc runs beside the reader and
    /// always deletes an old pack (its index, then the pack, as gc does)
    /// just before the reader reads from it: the worst interleaving.
    struct GcBeside {
        inner: LocalBackend,
        /// The old packs gc has still to delete.
        old: Mutex<HashSet<String>>,
    }

    impl Backend for GcBeside {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn get(&self, key: &str) -> Result<Option<(Vec<u8>, crate::backend::Version)>> {
            self.inner.get(key)
        }
        fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
            if self.old.lock().unwrap().remove(key) {
                self.inner.delete(&key.replace(".pack", ".idx"))?;
                self.inner.delete(key)?;
            }
            self.inner.get_range(key, start, len)
        }
        fn put(&self, key: &str, data: &[u8], cond: Cond) -> Result<Put> {
            self.inner.put(key, data, cond)
        }
        fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
            self.inner.list(prefix)
        }
        fn delete(&self, key: &str) -> Result<()> {
            self.inner.delete(key)
        }
        fn requests(&self) -> u64 {
            self.inner.requests()
        }
        fn local_root(&self) -> Option<&Path> {
            self.inner.local_root()
        }
    }

    /// Regression (the soak test of `.ci/run`, session 52): a reader that
    /// listed twenty-four packs before a gc merged them reads while gc
    /// deletes the old ones; when each of its tries meets an old pack just
    /// deleted, it takes as many tries as old packs it searches before
    /// the new one, and four were not enough. It reads every object.
    #[test]
    fn a_reader_reads_through_a_gc_deleting_packs_one_by_one() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-gc-beside-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let location = dir.to_str().unwrap().to_string();
        let store = Store::init(&location).unwrap();
        let mut ids = Vec::new();
        let mut all = PackWriter::new();
        for p in 0..24 {
            let mut w = crate::writer::ObjectWriter::new(&store);
            let bytes = format!("pack {p}").into_bytes();
            let id = ObjectId::of(&bytes);
            w.add(id, ObjType::Blob, &bytes).unwrap();
            all.add(id, ObjType::Blob, &bytes);
            ids.push(id);
            w.finish().unwrap();
        }
        // the reader lists the old packs
        let mut reader = Store::open(&location).unwrap();
        assert_eq!(reader.get_many(&ids).unwrap().len(), ids.len());
        // gc: the new pack is written, then the old ones go
        let old: HashSet<String> = store
            .listed_indexes()
            .unwrap()
            .iter()
            .map(|h| format!("packs/{}.pack", h.to_hex()))
            .collect();
        assert_eq!(old.len(), 24);
        store.write_pack(all).unwrap();
        reader.backend = Box::new(GcBeside {
            inner: LocalBackend::new(dir.clone()),
            old: Mutex::new(old),
        });
        let got = reader.get_many(&ids).unwrap();
        for (p, bytes) in got.iter().enumerate() {
            assert_eq!(bytes, &format!("pack {p}").into_bytes());
        }
        // so does a read of one object
        let one = reader.get(&ids[5]).unwrap();
        assert_eq!(one.1, b"pack 5");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
