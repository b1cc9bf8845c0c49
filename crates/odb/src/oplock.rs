//! The rollback lock: at most one rollback of an environment at a time,
//! across machines. A key `locks/rollback/<env>` created with a
//! conditional write (create-if-absent: a hard link locally,
//! `If-None-Match: *` on S3); the guard deletes it when dropped. A lock
//! left by a killed process stays until someone breaks it, and the error
//! says who held it and since when.

use serde::{Deserialize, Serialize};

use crate::backend::{Cond, Put};
use crate::error::{Error, Result};
use crate::refs::check_name;
use crate::store::Store;

/// Who holds a rollback lock (the lock key's JSON content).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// UTC, RFC 3339.
    pub since: String,
    /// The host name (`HOSTNAME`, else the kernel's), or `unknown`.
    pub host: String,
    /// The holding process.
    pub pid: u32,
    /// What it is doing (`rollback to 3f2a…`).
    pub purpose: String,
}

/// A held rollback lock; dropping it releases the lock.
pub struct RollbackLock<'s> {
    store: &'s Store,
    key: String,
    released: bool,
}

impl LockHolder {
    /// Whether the holder is known to be gone: it ran on this host and no
    /// process has its id now (a killed rollback's lock).
    pub fn gone(&self) -> bool {
        self.host == host_name()
            && self.host != "unknown"
            && self.pid != 0
            && std::path::Path::new("/proc/self").exists()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// This host's name: `HOSTNAME` when the shell exports it, else the
/// kernel's (`/proc/sys/kernel/hostname`, `/etc/hostname`), else
/// `unknown`.
fn host_name() -> String {
    if let Some(h) = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()) {
        return h;
    }
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn lock_key(env: &str) -> String {
    format!("locks/rollback/{env}")
}

impl Store {
    /// Takes the rollback lock of `env`, or fails naming who holds it.
    pub fn lock_rollback(&self, env: &str, purpose: &str) -> Result<RollbackLock<'_>> {
        check_name("environment", env)?;
        let key = lock_key(env);
        let holder = LockHolder {
            since: crate::time::now(),
            host: host_name(),
            pid: std::process::id(),
            purpose: purpose.to_string(),
        };
        let bytes = serde_json::to_vec_pretty(&holder).expect("a lock holder always serializes");
        match self.backend().put(&key, &bytes, Cond::Absent)? {
            Put::Done => Ok(RollbackLock {
                store: self,
                key,
                released: false,
            }),
            Put::Conflict => {
                let held = self.rollback_lock_holder(env)?;
                Err(Error::RollbackLocked {
                    env: env.to_string(),
                    key: format!("{}/{key}", self.describe().trim_end_matches('/')),
                    holder: held
                        .map(|h| {
                            format!(
                                "process {} on {} since {} ({}){}",
                                h.pid,
                                h.host,
                                h.since,
                                h.purpose,
                                if h.gone() {
                                    "; that process is no longer running on this host: the lock is stale"
                                } else {
                                    ""
                                }
                            )
                        })
                        .unwrap_or_else(|| "a process that has just released it".into()),
                })
            }
        }
    }

    /// Who holds the rollback lock of `env`, if anyone.
    pub fn rollback_lock_holder(&self, env: &str) -> Result<Option<LockHolder>> {
        check_name("environment", env)?;
        let key = lock_key(env);
        Ok(self.backend().get_data(&key)?.map(|bytes| {
            serde_json::from_slice(&bytes).unwrap_or(LockHolder {
                since: "?".into(),
                host: "?".into(),
                pid: 0,
                purpose: format!("unreadable lock content in {key}"),
            })
        }))
    }

    /// Removes the rollback lock of `env` whoever holds it (after a
    /// rollback was killed); returns who held it.
    pub fn break_rollback_lock(&self, env: &str) -> Result<Option<LockHolder>> {
        let held = self.rollback_lock_holder(env)?;
        self.backend().delete(&lock_key(env))?;
        Ok(held)
    }
}

impl std::fmt::Debug for RollbackLock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RollbackLock({})", self.key)
    }
}

impl RollbackLock<'_> {
    /// Releases the lock now, reporting a failure to delete it.
    pub fn release(mut self) -> Result<()> {
        self.released = true;
        self.store.backend().delete(&self.key)
    }
}

impl Drop for RollbackLock<'_> {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.store.backend().delete(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_rollback_of_one_environment_is_refused_until_the_first_ends() {
        let dir = std::env::temp_dir().join(format!("rewind-oplock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let first = store.lock_rollback("prod", "rollback to v1").unwrap();
        let err = store.lock_rollback("prod", "rollback to v2").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("locks/rollback/prod"), "{msg}");
        assert!(msg.contains("rollback to v1"), "{msg}");
        assert!(msg.contains(&std::process::id().to_string()), "{msg}");
        // another environment is independent
        let staging = store.lock_rollback("staging", "x").unwrap();
        drop(first);
        let again = store.lock_rollback("prod", "rollback to v2").unwrap();
        assert_eq!(
            store.rollback_lock_holder("prod").unwrap().unwrap().purpose,
            "rollback to v2"
        );
        std::mem::forget(again); // as a killed process would leave it
        assert!(store.lock_rollback("prod", "y").is_err());
        let broken = store.break_rollback_lock("prod").unwrap().unwrap();
        assert_eq!(broken.purpose, "rollback to v2");
        store.lock_rollback("prod", "y").unwrap().release().unwrap();
        staging.release().unwrap();
        assert!(store.rollback_lock_holder("staging").unwrap().is_none());
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A holder names this host (without `HOSTNAME` too), and one whose
    /// process is gone from this host is known to be stale.
    #[test]
    fn a_lock_of_a_process_gone_from_this_host_is_stale() {
        let here = host_name();
        assert_ne!(here, "unknown");
        let holder = |pid: u32, host: &str| LockHolder {
            since: "2026-12-04T00:00:00Z".into(),
            host: host.into(),
            pid,
            purpose: "rollback".into(),
        };
        assert!(!holder(std::process::id(), &here).gone());
        // pids are below 2^22 on Linux
        assert!(holder(u32::MAX - 1, &here).gone());
        assert!(!holder(u32::MAX - 1, "another-host").gone());
        let dir = std::env::temp_dir().join(format!("rewind-oplock-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let key = lock_key("prod");
        let bytes = serde_json::to_vec(&holder(u32::MAX - 1, &here)).unwrap();
        store.backend().put(&key, &bytes, Cond::Absent).unwrap();
        let msg = store.lock_rollback("prod", "x").unwrap_err().to_string();
        assert!(msg.contains(&format!("on {here} since")), "{msg}");
        assert!(
            msg.contains("no longer running on this host: the lock is stale"),
            "{msg}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
