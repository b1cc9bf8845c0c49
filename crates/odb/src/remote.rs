//! Stores on S3-compatible object storage (AWS S3, MinIO, Ceph, R2, GCS's
//! S3 interface), through the `object_store` crate.
//!
//! `s3://bucket/prefix` selects it. Credentials, region and endpoint come
//! from the standard environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`; path-style requests when an endpoint is set), so CI
//! needs no configuration file. Refs are updated with conditional writes
//! (`If-Match` / `If-None-Match`); transient failures are retried with
//! backoff. Immutable pack ranges and indexes are cached locally.
//!
//! A pack is built in a temporary file of that cache (`tmp/`), not in
//! memory, and uploaded from it: in one request when small, else in
//! parts of [`PART_SIZE`] (a multipart upload), so a snapshot of any size
//! holds at most one part of its pack in memory.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as OsPath;
use object_store::{
    BackoffConfig, ClientOptions, MultipartUpload, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};
use rewind_model::Hash;

use crate::backend::{Backend, Cond, Listed, Put, Version};
use crate::error::{io, Error, Result};

/// The size of each part of a pack uploaded in parts (S3 takes parts of
/// 5 MiB to 5 GiB, the last one smaller); a pack up to this size is one
/// request.
pub(crate) const PART_SIZE: usize = 8 << 20;

/// How old a temporary file left in the cache (by a killed snapshot) is
/// before a later snapshot removes it.
const STALE_TEMP: Duration = Duration::from_secs(24 * 3600);

/// Where the local cache of a remote store lives:
/// `$REWIND_CACHE_DIR`, else `$XDG_CACHE_HOME/rewind`, else `~/.cache/rewind`,
/// then one folder per store location.
pub(crate) fn cache_dir_for(location: &str) -> Option<PathBuf> {
    let base = std::env::var_os("REWIND_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("rewind")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rewind")))?;
    Some(base.join(Hash::of(location.as_bytes()).short(16)))
}

/// A store in a bucket.
pub(crate) struct S3Backend {
    store: Arc<dyn ObjectStore>,
    rt: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
    endpoint: String,
    requests: AtomicU64,
    ranges: Option<PathBuf>,
    /// Where packs are built before their upload (`None`: no cache
    /// directory, so in memory).
    temp: Option<PathBuf>,
}

/// Parses `s3://bucket/prefix`.
fn parse_location(location: &str) -> Result<(String, String)> {
    let rest = location.strip_prefix("s3://").unwrap_or(location);
    let (bucket, prefix) = match rest.split_once('/') {
        Some((b, p)) => (b, p.trim_matches('/')),
        None => (rest, ""),
    };
    if bucket.is_empty() {
        return Err(Error::Config(format!(
            "{location}: no bucket name (use s3://bucket/prefix)"
        )));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub(crate) fn open_s3(location: &str) -> Result<Box<dyn Backend>> {
    Ok(Box::new(S3Backend::new(location)?))
}

static TLS: Once = Once::new();

/// Installs rustls's crypto provider once (reqwest's rustls is built
/// without a bundled one).
pub(crate) fn install_tls() {
    TLS.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl S3Backend {
    pub(crate) fn new(location: &str) -> Result<S3Backend> {
        install_tls();
        let (bucket, prefix) = parse_location(location)?;
        let mut b = AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: env("REWIND_S3_RETRIES")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(6),
                retry_timeout: Duration::from_secs(120),
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            );
        if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
            b = b.with_region("us-east-1");
        } else if let Some(r) = env("AWS_DEFAULT_REGION").filter(|_| env("AWS_REGION").is_none()) {
            b = b.with_region(r);
        }
        let endpoint = env("AWS_ENDPOINT_URL").or_else(|| env("AWS_ENDPOINT_URL_S3"));
        if let Some(ep) = &endpoint {
            b = b
                .with_endpoint(ep)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(ep.starts_with("http://"));
        }
        let store = b.build().map_err(|e| {
            Error::Config(format!("{location}: cannot configure the S3 client: {e}"))
        })?;
        let cache = cache_dir_for(location);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Backend(format!("cannot start the S3 client: {e}")))?;
        Ok(S3Backend {
            store: Arc::new(store),
            rt,
            bucket,
            prefix,
            endpoint: endpoint.unwrap_or_else(|| "AWS S3".to_string()),
            requests: AtomicU64::new(0),
            ranges: cache.as_ref().map(|d| d.join("ranges")),
            temp: cache.map(|d| d.join("tmp")),
        })
    }

    fn path(&self, key: &str) -> OsPath {
        if self.prefix.is_empty() {
            OsPath::from(key)
        } else {
            OsPath::from(format!("{}/{key}", self.prefix))
        }
    }

    fn key_of(&self, p: &OsPath) -> String {
        let s = p.as_ref();
        if self.prefix.is_empty() {
            s.to_string()
        } else {
            s.strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(s)
                .to_string()
        }
    }

    fn count(&self) {
        crate::backend::count_request();
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// A clear message for a failed request.
    fn fail(&self, what: &str, key: &str, e: object_store::Error) -> Error {
        let text = e.to_string();
        let full = format!("{e:?}");
        let lower = full.to_ascii_lowercase();
        let status = http_status(&lower);
        let hint = if lower.contains("connection refused")
            || lower.contains("dns error")
            || lower.contains("error sending request")
            || lower.contains("connect") && lower.contains("timed out")
        {
            format!(
                "cannot reach the S3 endpoint {} (check AWS_ENDPOINT_URL and the network)",
                self.endpoint
            )
        } else if lower.contains("nosuchbucket")
            || lower.contains("bucket does not exist")
            || lower.contains("specified bucket does not exist")
        {
            format!(
                "bucket {:?} does not exist at {}",
                self.bucket, self.endpoint
            )
        } else if matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || lower.contains("signaturedoesnotmatch")
            || lower.contains("invalidaccesskeyid")
            || lower.contains("accessdenied")
            || status == Some(403)
        {
            format!(
                "access to bucket {:?} was denied (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                self.bucket
            )
        } else if status.is_some_and(|c| (500..600).contains(&c)) || lower.contains("slowdown") {
            format!(
                "the S3 endpoint {} kept failing or throttling the request, even after retries",
                self.endpoint
            )
        } else {
            "the S3 request failed".to_string()
        };
        Error::Backend(format!("{hint}: {what} {}: {text}", self.describe_key(key)))
    }

    fn describe_key(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.path(key))
    }

    fn range_file(&self, key: &str, start: u64, len: u64) -> Option<PathBuf> {
        // only packs are immutable (named by their content)
        if !key.starts_with("packs/") {
            return None;
        }
        let dir = self.ranges.as_ref()?;
        Some(dir.join(Hash::of(format!("{key}:{start}:{len}").as_bytes()).short(32)))
    }

    fn cached_range(&self, file: &PathBuf, len: u64) -> Option<Vec<u8>> {
        let mut data = std::fs::read(file).ok()?;
        if data.len() as u64 != len + 32 {
            return None;
        }
        let sum = data.split_off(len as usize);
        (Hash::of(&data).0[..] == sum[..]).then_some(data)
    }

    /// Removes the temporary files of `dir` older than [`STALE_TEMP`]
    /// (left by snapshots that were killed).
    fn sweep_temp(dir: &Path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP);
            if stale && e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// Uploads `file` (`len` bytes) as `path` in parts of [`PART_SIZE`],
    /// each read from the file when its turn comes; an upload that fails
    /// is aborted (the parts sent are discarded).
    fn put_parts(&self, key: &str, file: &mut File, tmp: &Path, len: u64) -> Result<()> {
        let path = self.path(key);
        let store = Arc::clone(&self.store);
        self.count();
        let mut upload = self
            .rt
            .block_on(store.put_multipart(&path))
            .map_err(|e| self.fail("writing", key, e))?;
        let abort = |upload: &mut Box<dyn MultipartUpload>| {
            self.count();
            self.rt.block_on(async { drop(upload.abort().await) });
        };
        let mut sent = 0u64;
        let result = loop {
            if sent == len {
                self.count();
                break self.rt.block_on(upload.complete()).map(drop);
            }
            let want = (len - sent).min(PART_SIZE as u64) as usize;
            let mut part = vec![0u8; want];
            if let Err(e) = file.read_exact(&mut part) {
                abort(&mut upload);
                return Err(io(tmp)(e));
            }
            self.count();
            if let Err(e) = self.rt.block_on(upload.put_part(PutPayload::from(part))) {
                break Err(e);
            }
            sent += want as u64;
        };
        result.map_err(|e| {
            abort(&mut upload);
            self.fail("writing", key, e)
        })
    }

    /// Writes `payload` as `key` under `cond`.
    fn put_payload(&self, key: &str, payload: PutPayload, cond: Cond) -> Result<Put> {
        self.count();
        let path = self.path(key);
        let store = Arc::clone(&self.store);
        let mode = match &cond {
            Cond::Always => PutMode::Overwrite,
            Cond::Absent => PutMode::Create,
            Cond::Match(v) => PutMode::Update(UpdateVersion {
                e_tag: Some(v.clone()),
                version: None,
            }),
        };
        let r = self.rt.block_on(async move {
            store
                .put_opts(
                    &path,
                    payload,
                    PutOptions {
                        mode,
                        ..Default::default()
                    },
                )
                .await
        });
        match r {
            Ok(_) => Ok(Put::Done),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(Put::Conflict),
            Err(e) => Err(self.fail("writing", key, e)),
        }
    }

    fn keep_range(&self, file: &PathBuf, data: &[u8]) {
        if let Some(dir) = file.parent() {
            if std::fs::create_dir_all(dir).is_err() {
                return;
            }
        }
        let mut bytes = data.to_vec();
        bytes.extend_from_slice(&Hash::of(data).0);
        let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() {
            let _ = std::fs::rename(&tmp, file);
        }
    }
}

impl Backend for S3Backend {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Version)>> {
        self.count();
        let path = self.path(key);
        let store = Arc::clone(&self.store);
        let r = self.rt.block_on(async move {
            let res = store.get(&path).await?;
            let etag = res.meta.e_tag.clone().unwrap_or_default();
            let bytes = res.bytes().await?;
            Ok::<_, object_store::Error>((bytes.to_vec(), etag))
        });
        match r {
            Ok(v) => Ok(Some(v)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail("reading", key, e)),
        }
    }

    fn get_range(&self, key: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        let cache = self.range_file(key, start, len);
        if let Some(data) = cache.as_ref().and_then(|f| self.cached_range(f, len)) {
            return Ok(data);
        }
        self.count();
        let path = self.path(key);
        let store = Arc::clone(&self.store);
        let r = self
            .rt
            .block_on(async move { store.get_range(&path, start..start + len).await });
        match r {
            Ok(b) => {
                let data = b.to_vec();
                if let Some(f) = &cache {
                    self.keep_range(f, &data);
                }
                Ok(data)
            }
            Err(e) => Err(self.fail("reading", key, e)),
        }
    }

    fn put(&self, key: &str, data: &[u8], cond: Cond) -> Result<Put> {
        self.put_payload(key, PutPayload::from(data.to_vec()), cond)
    }

    fn create_temp(&self, ext: &str) -> Option<Result<(File, PathBuf)>> {
        let dir = self.temp.as_ref()?;
        Self::sweep_temp(dir);
        // the pack may hold state in the clear: for this user only
        Some(crate::backend::new_temp_in(dir, ext, true))
    }

    fn put_temp(&self, key: &str, tmp: &Path) -> Result<()> {
        let mut file = File::open(tmp).map_err(io(tmp))?;
        let len = file.metadata().map_err(io(tmp))?.len();
        if len <= PART_SIZE as u64 {
            let mut data = Vec::with_capacity(len as usize);
            file.read_to_end(&mut data).map_err(io(tmp))?;
            // an `Always` write has no condition to fail
            self.put_payload(key, PutPayload::from(data), Cond::Always)?;
        } else {
            self.put_parts(key, &mut file, tmp, len)?;
        }
        let _ = std::fs::remove_file(tmp);
        Ok(())
    }

    fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        self.count();
        let p = self.path(prefix.trim_end_matches('/'));
        let store = Arc::clone(&self.store);
        let r = self
            .rt
            .block_on(async move { store.list(Some(&p)).try_collect::<Vec<_>>().await });
        let metas = r.map_err(|e| self.fail("listing", prefix, e))?;
        let mut out: Vec<Listed> = metas
            .into_iter()
            .map(|m| Listed {
                key: self.key_of(&m.location),
                size: m.size,
                modified: SystemTime::UNIX_EPOCH
                    + Duration::from_millis(m.last_modified.timestamp_millis().max(0) as u64),
            })
            .filter(|l| l.key.starts_with(prefix))
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.count();
        let path = self.path(key);
        let store = Arc::clone(&self.store);
        match self.rt.block_on(async move { store.delete(&path).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail("deleting", key, e)),
        }
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// The HTTP status of a failed request, as object_store's error gives it
/// (lowercased: `status code: 503 service unavailable` in its message,
/// `status: 403` in its debug form). Only those phrases count: the text
/// also holds the endpoint's port and the time the request took, where
/// `403` or `500` appear by chance (a test server on port 40327 read as
/// "access denied").
fn http_status(lower: &str) -> Option<u16> {
    ["status code: ", "status: "].iter().find_map(|phrase| {
        lower.match_indices(phrase).find_map(|(at, _)| {
            let rest = &lower[at + phrase.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            (digits.len() == 3).then(|| digits.parse().ok()).flatten()
        })
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_sweep_removes_only_temporary_files_a_day_old() {
        use std::time::{Duration, SystemTime};
        let dir = std::env::temp_dir().join(format!("rewind-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
        let make = |name: &str, old: bool| {
            let f = std::fs::File::create(dir.join(name)).unwrap();
            if old {
                f.set_modified(two_days_ago).unwrap();
            }
        };
        make("1-2-3.pack.tmp", true);
        make("4-5-6.pack.tmp", false);
        make("notes.txt", true);
        std::fs::create_dir(dir.join("dir.tmp")).unwrap();
        let (_, made) = crate::backend::new_temp_in(&dir, "pack.tmp", true).unwrap();
        super::S3Backend::sweep_temp(&dir);
        let mut left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let made = made.file_name().unwrap().to_string_lossy().into_owned();
        let mut want = vec![
            "4-5-6.pack.tmp".to_string(),
            made.clone(),
            "notes.txt".into(),
            "dir.tmp".into(),
        ];
        want.sort();
        assert_eq!(left, want, "only the day-old temporary file goes");
        // a pack's temporary file is its owner's alone
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(&made))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_status_is_read_from_its_phrase_not_from_a_port_or_a_time() {
        use super::http_status;
        let throttled = "generic s3 error: error performing get http://127.0.0.1:40327/flaky/r/config in 236.676776ms, after 2 retries, max_retries: 2, retry_timeout: 120s  - server returned non-2xx status code: 503 service unavailable: <error><code>slowdown</code></error>";
        assert_eq!(http_status(throttled), Some(503));
        let denied = "generic { store: \"s3\", source: retryerror(requesterror { inner: response { status: 403, body: \"<error>accessdenied</error>\" } }) } at http://127.0.0.1:50013/";
        assert_eq!(http_status(denied), Some(403));
        assert_eq!(
            http_status("error sending request to http://127.0.0.1:40300/ in 500.403ms"),
            None
        );
    }

    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            parse_location("s3://b/p/q/").unwrap(),
            ("b".into(), "p/q".into())
        );
        assert_eq!(
            parse_location("s3://b").unwrap(),
            ("b".into(), String::new())
        );
        assert!(parse_location("s3:///x").is_err());
    }
}
