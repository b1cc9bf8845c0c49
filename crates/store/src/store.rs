//! Opening a store and reading and writing its objects and refs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rewind_model::Hash;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Cond, LocalBackend, Put, Version};
use crate::error::{corrupt, Result, StoreError};
use crate::objects::SnapshotRecord;
use crate::pack::{object_in, open_block, Location, ObjType, PackIndex, PackWriter};
use crate::refs::Refs;

/// The store format this program reads and writes.
/// Version 2: expressions in nodes are syntax trees (version 1 kept them as
/// text).
pub const STORE_VERSION: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Config {
    format: String,
    version: u32,
    created: String,
}

/// A snapshot store.
pub struct Store {
    backend: Box<dyn Backend>,
    location: String,
    packs: RwLock<Vec<Arc<PackIndex>>>,
    packs_loaded: RwLock<bool>,
    cache_dir: Option<PathBuf>,
    records: RwLock<HashMap<Hash, SnapshotRecord>>,
}

/// How many times a ref update is retried after losing a race.
const REF_RETRIES: usize = 50;

/// Packs are split when they grow past this.
pub const PACK_SPLIT: usize = 128 << 20;

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
        let mut dir = std::env::current_dir().map_err(|e| StoreError::Io {
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
        Err(StoreError::NotFound(
            "no store found: pass --store PATH, set REWIND_STORE, or run `rewind init` (which creates .rewind/ here)".into(),
        ))
    }

    fn backend_for(location: &str) -> Result<Box<dyn Backend>> {
        if location.starts_with("s3://") {
            return crate::remote::open_s3(location);
        }
        Ok(Box::new(LocalBackend::new(PathBuf::from(location))))
    }

    fn with_backend(location: &str, backend: Box<dyn Backend>) -> Store {
        let cache_dir = match backend.local_root() {
            Some(root) => Some(root.join("cache")),
            None => crate::remote::cache_dir_for(location),
        };
        Store {
            backend,
            location: location.to_string(),
            packs: RwLock::new(Vec::new()),
            packs_loaded: RwLock::new(false),
            cache_dir,
            records: RwLock::new(HashMap::new()),
        }
    }

    /// Creates a new store (an existing one is an error).
    pub fn init(location: &str) -> Result<Store> {
        let backend = Self::backend_for(location)?;
        let config = Config {
            format: "rewind-store".into(),
            version: STORE_VERSION,
            created: crate::time::now(),
        };
        let mut bytes = serde_json::to_vec_pretty(&config).unwrap_or_default();
        bytes.push(b'\n');
        match backend.put("config", &bytes, Cond::Absent)? {
            Put::Done => {}
            Put::Conflict => {
                return Err(StoreError::Config(format!(
                    "a store already exists at {}",
                    backend.describe()
                )))
            }
        }
        let refs = Refs {
            version: 1,
            ..Default::default()
        };
        backend.put("refs", &refs.encode(), Cond::Absent)?;
        Ok(Self::with_backend(location, backend))
    }

    /// Opens an existing store, checking its format version.
    pub fn open(location: &str) -> Result<Store> {
        let backend = Self::backend_for(location)?;
        let what = format!("{} (config)", backend.describe());
        let Some((bytes, _)) = backend.get("config")? else {
            return Err(StoreError::NotFound(format!(
                "no store at {}: run `rewind init --store {location}` first",
                backend.describe()
            )));
        };
        let config: Config = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("store config {what}"), e.to_string()))?;
        if config.format != "rewind-store" {
            return Err(StoreError::Config(format!(
                "{what} is not a rewind store config"
            )));
        }
        if config.version < STORE_VERSION {
            return Err(StoreError::Config(format!(
                "{what}: store format version {} was written by an earlier rewind (version {STORE_VERSION} keeps expressions as syntax trees); read it with rewind 0.1, or start a new store and snapshot the releases again",
                config.version
            )));
        }
        if config.version != STORE_VERSION {
            return Err(StoreError::Config(format!(
                "{what}: store format version {} is not supported by this rewind (it reads version {STORE_VERSION}); use a matching rewind release",
                config.version
            )));
        }
        Ok(Self::with_backend(location, backend))
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    pub fn describe(&self) -> String {
        self.backend.describe()
    }

    pub fn requests(&self) -> u64 {
        self.backend.requests()
    }

    /// A directory for local caches (safe to delete).
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache_dir.as_deref()
    }

    // ---- packs --------------------------------------------------------

    fn cached_index(&self, name: &str) -> Option<Vec<u8>> {
        if self.backend.local_root().is_some() {
            return None;
        }
        std::fs::read(self.cache_dir.as_ref()?.join("idx").join(name)).ok()
    }

    fn cache_index(&self, name: &str, data: &[u8]) {
        if self.backend.local_root().is_some() {
            return;
        }
        if let Some(dir) = &self.cache_dir {
            let dir = dir.join("idx");
            if std::fs::create_dir_all(&dir).is_ok() {
                let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
                if std::fs::write(&tmp, data).is_ok() {
                    let _ = std::fs::rename(&tmp, dir.join(name));
                }
            }
        }
    }

    /// Loads the pack indexes not loaded yet.
    pub fn refresh_packs(&self) -> Result<()> {
        let listed = self.backend.list("packs/")?;
        let known: Vec<Hash> = self
            .packs
            .read()
            .map(|p| p.iter().map(|i| i.name).collect())
            .unwrap_or_default();
        let mut new = Vec::new();
        for l in listed {
            let Some(name) = l
                .key
                .strip_prefix("packs/")
                .and_then(|n| n.strip_suffix(".idx"))
            else {
                continue;
            };
            let Ok(hash) = Hash::from_hex(name) else {
                continue;
            };
            if known.contains(&hash) {
                continue;
            }
            let what = format!("pack index {}", l.key);
            let file = format!("{name}.idx");
            let data = match self.cached_index(&file) {
                Some(d) => match PackIndex::parse(hash, d, &what) {
                    Ok(i) => {
                        new.push(Arc::new(i));
                        continue;
                    }
                    Err(_) => None,
                },
                None => None,
            };
            let data = match data {
                Some(d) => d,
                None => match self.backend.get(&l.key)? {
                    Some((d, _)) => d,
                    None => continue,
                },
            };
            let idx =
                PackIndex::parse(hash, data.clone(), &format!("{} ({what})", self.describe()))?;
            self.cache_index(&file, &data);
            new.push(Arc::new(idx));
        }
        if let Ok(mut p) = self.packs.write() {
            p.extend(new);
        }
        if let Ok(mut l) = self.packs_loaded.write() {
            *l = true;
        }
        Ok(())
    }

    fn ensure_packs(&self) -> Result<()> {
        let loaded = self.packs_loaded.read().map(|l| *l).unwrap_or(false);
        if !loaded {
            self.refresh_packs()?;
        }
        Ok(())
    }

    /// The loaded pack indexes.
    pub fn packs(&self) -> Result<Vec<Arc<PackIndex>>> {
        self.ensure_packs()?;
        Ok(self.packs.read().map(|p| p.clone()).unwrap_or_default())
    }

    fn locate_obj(&self, id: &Hash) -> Result<Option<(Arc<PackIndex>, Location)>> {
        self.ensure_packs()?;
        let Ok(packs) = self.packs.read() else {
            return Ok(None);
        };
        for p in packs.iter().rev() {
            if let Some(loc) = p.find(id) {
                return Ok(Some((p.clone(), loc)));
            }
        }
        Ok(None)
    }

    /// The type of a stored object (from its index entry).
    pub fn get_location_type(&self, id: &Hash) -> Result<(ObjType, u32)> {
        match self.locate_obj(id)? {
            Some((_, loc)) => Ok((loc.ty, loc.len)),
            None => Err(StoreError::MissingObject(id.to_hex())),
        }
    }

    pub fn has(&self, id: &Hash) -> Result<bool> {
        Ok(self.locate_obj(id)?.is_some())
    }

    /// Reads one object, checking its hash.
    pub fn get(&self, id: &Hash) -> Result<(ObjType, Vec<u8>)> {
        let Some((pack, loc)) = self.locate_obj(id)? else {
            return Err(StoreError::MissingObject(id.to_hex()));
        };
        let key = format!("packs/{}.pack", pack.name.to_hex());
        let stored = self
            .backend
            .get_range(&key, loc.block, u64::from(loc.block_len))?;
        let what = || format!("object {id} ({}) in {key}", loc.ty.name());
        let block = open_block(&stored, &what)?;
        Ok((loc.ty, object_in(&block, id, &loc, &what)?))
    }

    /// Reads an object that must be of type `ty`.
    pub fn get_typed(&self, id: &Hash, ty: ObjType) -> Result<Vec<u8>> {
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
    pub fn get_many(&self, ids: &[Hash]) -> Result<Vec<Vec<u8>>> {
        self.ensure_packs()?;
        let packs = self.packs.read().map(|p| p.clone()).unwrap_or_default();
        let mut by_pack: BTreeMap<usize, Vec<(usize, Location)>> = BTreeMap::new();
        'ids: for (i, id) in ids.iter().enumerate() {
            for (pi, p) in packs.iter().enumerate().rev() {
                if let Some(loc) = p.find(id) {
                    by_pack.entry(pi).or_default().push((i, loc));
                    continue 'ids;
                }
            }
            return Err(StoreError::MissingObject(id.to_hex()));
        }
        let mut out: Vec<Vec<u8>> = vec![Vec::new(); ids.len()];
        for (pi, mut wanted) in by_pack {
            let key = format!("packs/{}.pack", packs[pi].name.to_hex());
            wanted.sort_by_key(|(_, l)| l.block);
            // Read the blocks in runs of nearby ones, open each block once.
            let mut runs: Vec<(u64, u64, Vec<(usize, Location)>)> = Vec::new();
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
            for (start, end, items) in runs {
                let data = self.backend.get_range(&key, start, end - start)?;
                let mut opened: HashMap<u64, Vec<u8>> = HashMap::new();
                for (i, loc) in items {
                    let what = || format!("object {} ({}) in {key}", ids[i], loc.ty.name());
                    if !opened.contains_key(&loc.block) {
                        let s = (loc.block - start) as usize;
                        let b = open_block(&data[s..s + loc.block_len as usize], &what)?;
                        opened.insert(loc.block, b);
                    }
                    out[i] = object_in(&opened[&loc.block], &ids[i], &loc, &what)?;
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
        let (pack, idx, name) = w.finish();
        let hex = name.to_hex();
        self.backend
            .put(&format!("packs/{hex}.pack"), &pack, Cond::Always)?;
        self.backend
            .put(&format!("packs/{hex}.idx"), &idx, Cond::Always)?;
        self.cache_index(&format!("{hex}.idx"), &idx);
        let parsed = PackIndex::parse(name, idx, "new pack index")?;
        if let Ok(mut p) = self.packs.write() {
            p.push(Arc::new(parsed));
        }
        Ok(Some(name))
    }

    // ---- refs ---------------------------------------------------------

    pub fn refs(&self) -> Result<(Refs, Option<Version>)> {
        match self.backend.get("refs")? {
            Some((bytes, v)) => Ok((
                Refs::decode(&bytes, &format!("{} (refs)", self.describe()))?,
                Some(v),
            )),
            None => Ok((
                Refs {
                    version: 1,
                    ..Default::default()
                },
                None,
            )),
        }
    }

    /// Applies `change` to the refs with a conditional write, re-reading
    /// and re-applying it when another writer got there first.
    pub fn update_refs(&self, mut change: impl FnMut(&mut Refs) -> Result<()>) -> Result<Refs> {
        let _lock = self.shared_lock()?;
        for attempt in 0..REF_RETRIES {
            let (mut refs, version) = self.refs()?;
            change(&mut refs)?;
            let cond = match version {
                Some(v) => Cond::Match(v),
                None => Cond::Absent,
            };
            match self.put_refs(&mut refs, cond)? {
                Put::Done => return Ok(refs),
                Put::Conflict => {
                    // back off a little, more each time, with jitter
                    let jitter = u64::from(std::process::id() % 7) + attempt as u64 * 3;
                    std::thread::sleep(std::time::Duration::from_millis(2 + jitter));
                }
            }
        }
        Err(StoreError::Conflict(format!(
            "could not update the refs of {} after {REF_RETRIES} attempts: other writers keep changing them",
            self.describe()
        )))
    }

    /// The whole ref log, oldest first.
    pub fn full_log(&self, refs: &Refs) -> Result<Vec<crate::refs::LogEntry>> {
        let mut out = Vec::new();
        for c in &refs.log_chunks {
            let bytes = self.get_typed(c, ObjType::LogChunk)?;
            let entries: Vec<crate::refs::LogEntry> = serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("log chunk {c}"), e.to_string()))?;
            out.extend(entries);
        }
        out.extend(refs.log.iter().cloned());
        Ok(out)
    }

    // ---- snapshot records ---------------------------------------------

    pub fn put_snapshot(&self, rec: &SnapshotRecord) -> Result<Hash> {
        let bytes = rec.encode();
        let id = Hash::of(&bytes);
        self.backend
            .put(&format!("snapshots/{}", id.to_hex()), &bytes, Cond::Absent)?;
        if let Ok(mut r) = self.records.write() {
            r.insert(id, rec.clone());
        }
        Ok(id)
    }

    fn cached_record(&self, id: &Hash) -> Option<Vec<u8>> {
        if self.backend.local_root().is_some() {
            return None;
        }
        std::fs::read(self.cache_dir.as_ref()?.join("snapshots").join(id.to_hex())).ok()
    }

    /// Reads a snapshot record, checking its hash.
    pub fn record(&self, id: &Hash) -> Result<SnapshotRecord> {
        if let Some(r) = self.records.read().ok().and_then(|r| r.get(id).cloned()) {
            return Ok(r);
        }
        let key = format!("snapshots/{}", id.to_hex());
        let bytes = match self.cached_record(id).filter(|b| Hash::of(b) == *id) {
            Some(b) => b,
            None => {
                let Some((bytes, _)) = self.backend.get(&key)? else {
                    return Err(StoreError::NotFound(format!(
                        "snapshot {id} is not in the store"
                    )));
                };
                if Hash::of(&bytes) != *id {
                    return Err(corrupt(
                        format!("snapshot record {key}"),
                        "its content does not match its id",
                    ));
                }
                if let Some(dir) = self
                    .cache_dir
                    .as_ref()
                    .filter(|_| self.backend.local_root().is_none())
                {
                    let dir = dir.join("snapshots");
                    if std::fs::create_dir_all(&dir).is_ok() {
                        let tmp = dir.join(format!("{}.{}.tmp", id.to_hex(), std::process::id()));
                        if std::fs::write(&tmp, &bytes).is_ok() {
                            let _ = std::fs::rename(&tmp, dir.join(id.to_hex()));
                        }
                    }
                }
                bytes
            }
        };
        let rec: SnapshotRecord = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("snapshot record {key}"), e.to_string()))?;
        if let Ok(mut r) = self.records.write() {
            r.insert(*id, rec.clone());
        }
        Ok(rec)
    }

    /// Drops a record from the in-memory cache (after `gc` deleted it).
    pub(crate) fn forget_record(&self, id: &Hash) {
        if let Ok(mut r) = self.records.write() {
            r.remove(id);
        }
    }

    /// Every snapshot id in the store.
    pub fn list_snapshots(&self) -> Result<Vec<Hash>> {
        let mut out = Vec::new();
        for l in self.backend.list("snapshots/")? {
            if let Some(h) = l
                .key
                .strip_prefix("snapshots/")
                .and_then(|n| Hash::from_hex(n).ok())
            {
                out.push(h);
            }
        }
        Ok(out)
    }
}

/// A held store lock (released on drop, or by the kernel if the process dies).
pub struct StoreLock {
    _file: Option<std::fs::File>,
}

impl Store {
    fn lock_file(&self) -> Result<Option<(std::fs::File, PathBuf)>> {
        let Some(root) = self.backend.local_root() else {
            return Ok(None);
        };
        let path = root.join("gc.lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Lock {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        Ok(Some((f, path)))
    }

    /// Held by writers for the length of a snapshot: `gc` waits for them.
    pub fn shared_lock(&self) -> Result<StoreLock> {
        let Some((f, path)) = self.lock_file()? else {
            return Ok(StoreLock { _file: None });
        };
        f.lock_shared().map_err(|e| StoreError::Lock {
            path,
            detail: e.to_string(),
        })?;
        Ok(StoreLock { _file: Some(f) })
    }

    /// Held by `gc`: no snapshot runs meanwhile.
    pub fn exclusive_lock(&self) -> Result<StoreLock> {
        let Some((f, path)) = self.lock_file()? else {
            return Ok(StoreLock { _file: None });
        };
        let start = std::time::Instant::now();
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(StoreLock { _file: Some(f) }),
                Err(std::fs::TryLockError::WouldBlock)
                    if start.elapsed() < std::time::Duration::from_secs(120) =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Lock {
                        path,
                        detail: "snapshots kept running for 120s; try again".into(),
                    })
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::Lock {
                        path,
                        detail: e.to_string(),
                    })
                }
            }
        }
    }
}
