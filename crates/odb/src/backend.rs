//! The boundary between the store's logic and where its bytes live.
//!
//! A backend is a flat key → bytes object store with the operations both a
//! local directory and S3-compatible object storage offer: whole and
//! ranged reads, writes that are atomic (a reader sees the old object or
//! the new one, never a mix), conditional writes for refs, listing and
//! deletion.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::error::{io, Result};
use crate::lock::{self, StoreLock};

/// The largest store file other than a pack that is read (refs, config,
/// snapshot records, pack indexes, the cache's files): a pack index of
/// 20 million objects is 1 GiB; anything larger is not the store's.
pub(crate) const MAX_SMALL_FILE: u64 = 1 << 30;

/// Reads a store file whole, up to `limit` bytes. What is not a regular
/// file is refused before it is opened (a FIFO would block the read
/// forever, a link to `/dev/zero` never end it), and so is a file larger
/// than `limit` (a crafted 20 GB index would be read into memory).
pub(crate) fn read_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind};
    let md = fs::metadata(path)?;
    if !md.is_file() {
        return Err(Error::new(ErrorKind::InvalidData, "not a regular file"));
    }
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    if len > limit {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{len} bytes, more than a store file of its kind holds ({limit})"),
        ));
    }
    let mut data = Vec::with_capacity(len as usize);
    // what was there when it was opened: a file growing meanwhile is not
    // read on without end
    f.take(len).read_to_end(&mut data)?;
    Ok(data)
}

/// The limit [`read_file`] reads the store file `key` with: a pack is as
/// large as it is.
fn limit_of(key: &str) -> u64 {
    if key.ends_with(".pack") {
        u64::MAX
    } else {
        MAX_SMALL_FILE
    }
}

/// An opaque version of an object, for conditional writes (an ETag).
pub(crate) type Version = String;

/// The condition of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    /// Write whatever is there.
    Always,
    /// Only if the key does not exist (`If-None-Match: *`).
    Absent,
    /// Only if the key still has this version (`If-Match`).
    Match(Version),
}

/// What a conditional write did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Put {
    Done,
    /// The condition failed: somebody else wrote first.
    Conflict,
}

/// One listed object.
#[derive(Clone, Debug)]
pub(crate) struct Listed {
    pub(crate) key: String,
    pub(crate) size: u64,
    pub(crate) modified: SystemTime,
}

pub(crate) trait Backend: Send + Sync {
    /// Where the store lives, for messages.
    fn describe(&self) -> String;
    /// The whole object and its version, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>>;
    /// The whole object, or `None` when absent, for a reader that makes
    /// no conditional write of it (a local store need not hash it for a
    /// version: every command reads all the pack indexes).
    fn get_data(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get(key)?.map(|(data, _)| data))
    }
    /// `len` bytes from `start`.
    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>>;
    fn put(&self, key: &str, data: &[u8], cond: Cond) -> Result<Put>;
    /// Every key under `prefix`.
    fn list(&self, prefix: &str) -> Result<Vec<Listed>>;
    fn delete(&self, key: &str) -> Result<()>;
    /// Requests made so far (for `--verbose`).
    fn requests(&self) -> u64;
    /// The directory of a local store (caches live inside it).
    fn local_root(&self) -> Option<&Path> {
        None
    }
    /// A new temporary file, created exclusively, for an object written
    /// as it is made (its name ends in `.<ext>`); `None` for a backend
    /// with nowhere to make one (the object is then made in memory).
    fn create_temp(&self, _ext: &str) -> Option<Result<(File, PathBuf)>> {
        None
    }
    /// Writes `key` (as [`Cond::Always`]) from `tmp`, a complete and
    /// synced file made by [`Backend::create_temp`], which is gone
    /// afterwards.
    fn put_temp(&self, key: &str, tmp: &Path) -> Result<()> {
        let data = fs::read(tmp).map_err(io(tmp))?;
        self.put(key, &data, Cond::Always)?;
        let _ = fs::remove_file(tmp);
        Ok(())
    }
}

/// A store in a local directory. Writes go to a temporary file that is
/// synced and renamed into place; conditional writes hold an exclusive
/// advisory lock (released by the kernel if the process dies).
pub(crate) struct LocalBackend {
    root: PathBuf,
    requests: AtomicU64,
}

/// How long a conditional write waits for the lock.
const LOCK_WAIT: Duration = Duration::from_secs(60);

impl LocalBackend {
    pub(crate) fn new(root: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend {
            root: root.into(),
            requests: AtomicU64::new(0),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn count(&self) {
        count_request();
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A new file in the store's `tmp/`, created exclusively:
    /// `<pid>-<unix time ns>-<counter>.<ext>`.
    fn new_temp(&self, ext: &str) -> Result<(File, PathBuf)> {
        // the store's own mode bits (a pack is renamed into place)
        new_temp_in(&self.root.join("tmp"), ext, false)
    }

    /// Writes `data` to a new temporary file in the store's `tmp/` and
    /// syncs it.
    fn temp_file(&self, data: &[u8]) -> Result<PathBuf> {
        let (mut f, path) = self.new_temp("tmp")?;
        f.write_all(data).map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        Ok(path)
    }

    fn sync_dir(dir: &Path) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }

    /// Holds the store's lock file for conditional writes.
    fn lock(&self) -> Result<StoreLock> {
        lock::exclusive(
            self.root.join("lock"),
            LOCK_WAIT,
            Duration::from_millis(5),
            &format!(
                "another rewind process has held it for more than {}s",
                LOCK_WAIT.as_secs()
            ),
        )
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A new file in `dir` (made if missing), created exclusively:
/// `<pid>-<unix time ns>-<counter>.<ext>`; `private`: readable by its
/// owner only (else as the umask says).
/// Is `name` one [`new_temp_in`] makes (`PID-NANOS-SEQ.EXT`)? Only such
/// files of `tmp/` are rewind's to remove: `tmp/` may be a link to a
/// directory that holds other files too.
pub(crate) fn is_temp_name(name: &str) -> bool {
    let Some((stem, ext)) = name.split_once('.') else {
        return false;
    };
    let mut parts = stem.split('-');
    let numbers = (0..3).all(|_| {
        parts
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    numbers && parts.next().is_none() && matches!(ext, "tmp" | "pack.tmp")
}

pub(crate) fn new_temp_in(dir: &Path, ext: &str, private: bool) -> Result<(File, PathBuf)> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    let name = format!(
        "{}-{}-{}.{ext}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let path = dir.join(name);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    }
    let f = opts.open(&path).map_err(io(&path))?;
    Ok((f, path))
}

/// Requests made by every backend of this process (for `--verbose`).
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// Counts one request.
pub(crate) fn count_request() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
}

/// Requests made by every backend of this process so far.
pub fn total_requests() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

fn version_of(data: &[u8]) -> Version {
    blake3::hash(data).to_hex().to_string()
}

impl Backend for LocalBackend {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>> {
        self.count();
        let path = self.path(key);
        match read_file(&path, limit_of(key)) {
            Ok(d) => {
                let v = version_of(&d);
                Ok(Some((d, v)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    fn get_data(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.count();
        let path = self.path(key);
        match read_file(&path, limit_of(key)) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        self.count();
        let path = self.path(key);
        let md = fs::metadata(&path).map_err(io(&path))?;
        let size = md.len();
        let end = start.checked_add(len);
        if !md.is_file() || end.is_none_or(|e| e > size) {
            let why = if md.is_file() {
                format!(
                    "bytes {start}..{} lie outside the file ({size} bytes)",
                    start as u128 + len as u128
                )
            } else {
                "not a regular file".to_string()
            };
            return Err(io(&path)(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                why,
            )));
        }
        let mut f = File::open(&path).map_err(io(&path))?;
        f.seek(SeekFrom::Start(start)).map_err(io(&path))?;
        let mut buf = vec![0u8; len as usize];
        f.read_exact(&mut buf).map_err(io(&path))?;
        Ok(buf)
    }

    fn put(&self, key: &str, data: &[u8], cond: Cond) -> Result<Put> {
        self.count();
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        match cond {
            Cond::Always => {
                let tmp = self.temp_file(data)?;
                fs::rename(&tmp, &path).map_err(io(&path))?;
            }
            Cond::Absent => {
                // A hard link fails if the target exists: atomic create.
                let tmp = self.temp_file(data)?;
                let r = fs::hard_link(&tmp, &path);
                let _ = fs::remove_file(&tmp);
                match r {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Ok(Put::Conflict)
                    }
                    Err(e) => return Err(io(&path)(e)),
                }
            }
            Cond::Match(expected) => {
                let _guard = self.lock()?;
                let current = match read_file(&path, MAX_SMALL_FILE) {
                    Ok(d) => Some(version_of(&d)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(io(&path)(e)),
                };
                if current.as_deref() != Some(expected.as_str()) {
                    return Ok(Put::Conflict);
                }
                let tmp = self.temp_file(data)?;
                fs::rename(&tmp, &path).map_err(io(&path))?;
            }
        }
        if let Some(parent) = path.parent() {
            Self::sync_dir(parent);
        }
        Ok(Put::Done)
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        self.count();
        // Prefixes are directory paths ("packs/", "snapshots/") or keys.
        let (dir, name_prefix) = match prefix.rfind('/') {
            Some(i) => (self.root.join(&prefix[..i]), &prefix[i + 1..]),
            None => (self.root.clone(), prefix),
        };
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let key_dir = match prefix.rfind('/') {
            Some(i) => &prefix[..=i],
            None => "",
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(io(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(name_prefix) {
                continue;
            }
            let md = entry.metadata().map_err(io(entry.path()))?;
            if md.is_dir() {
                continue;
            }
            out.push(Listed {
                key: format!("{key_dir}{name}"),
                size: md.len(),
                modified: md.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.count();
        let path = self.path(key);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(path)(e)),
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }

    fn create_temp(&self, ext: &str) -> Option<Result<(File, PathBuf)>> {
        Some(self.new_temp(ext))
    }

    fn put_temp(&self, key: &str, tmp: &Path) -> Result<()> {
        self.count();
        let path = self.path(key);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::rename(tmp, &path).map_err(io(&path))?;
        if let Some(parent) = path.parent() {
            Self::sync_dir(parent);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rewind-backend-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// The names gc may remove from `tmp/` are exactly those rewind makes.
    #[test]
    fn temporary_names_are_rewinds_own() {
        let d = temp_dir("tempnames");
        for ext in ["tmp", "pack.tmp"] {
            let (_, path) = new_temp_in(&d, ext, false).unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(is_temp_name(name), "{name}");
        }
        for other in [
            "report.pdf",
            "123.tmp",
            "1-2.tmp",
            "1-2-3-4.tmp",
            "1-2-x.tmp",
            "1--3.tmp",
            "1-2-3.pack",
            "1-2-3",
            "a-2-3.tmp",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
    }

    #[test]
    fn conditional_writes() {
        let b = LocalBackend::new(temp_dir("cond"));
        assert_eq!(b.put("refs", b"one", Cond::Absent).unwrap(), Put::Done);
        assert_eq!(b.put("refs", b"two", Cond::Absent).unwrap(), Put::Conflict);
        let (data, v) = b.get("refs").unwrap().unwrap();
        assert_eq!(data, b"one");
        assert_eq!(
            b.put("refs", b"two", Cond::Match(v.clone())).unwrap(),
            Put::Done
        );
        assert_eq!(
            b.put("refs", b"three", Cond::Match(v)).unwrap(),
            Put::Conflict
        );
        assert_eq!(b.get("refs").unwrap().unwrap().0, b"two");
        assert_eq!(b.get_data("refs").unwrap().unwrap(), b"two");
        assert_eq!(b.get_range("refs", 1, 2).unwrap(), b"wo");
        b.put("packs/a.pack", b"x", Cond::Always).unwrap();
        b.put("packs/b.idx", b"y", Cond::Always).unwrap();
        let keys: Vec<String> = b
            .list("packs/")
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect();
        assert_eq!(keys, vec!["packs/a.pack", "packs/b.idx"]);
        b.delete("packs/a.pack").unwrap();
        assert!(b.get("packs/a.pack").unwrap().is_none());
        assert!(b.get_data("packs/a.pack").unwrap().is_none());
    }
}
