//! Running the binary in a scratch directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn shop(v: u32) -> PathBuf {
    fixtures().join(format!("apps/shop/v{v}"))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A scratch directory with its own store at `.rewind/`.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rewind-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rewind"));
        c.args(args)
            .current_dir(&self.dir)
            .env_remove("REWIND_STORE")
            .env_remove("REWIND_KEY")
            .env_remove("REWIND_KEY_FILE")
            .env_remove("REWIND_NEW_KEY")
            .env_remove("REWIND_NEW_KEY_FILE")
            .env_remove("REWIND_MAX_MEMORY_MB")
            .env("NO_COLOR", "1")
            .env("REWIND_CACHE_DIR", self.dir.join("cache"));
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd(args).output().expect("run rewind"))
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }

    /// Snapshots the shop's releases 1 to `last` into `prod`, tagged
    /// `v1`, `v2`, ...
    pub fn snapshot_releases(&self, last: u32) {
        snapshot_releases_with(last, |args| self.run(args));
    }
}

/// Snapshots the shop's releases 1 to `last` into `prod` (tagged `v1`,
/// `v2`, ...) with `run` (a store that needs a key, another store...).
pub fn snapshot_releases_with(last: u32, run: impl Fn(&[&str]) -> Run) {
    for v in 1..=last {
        run(&[
            "snapshot",
            s(&shop(v)),
            "--env",
            "prod",
            "--tag",
            &format!("v{v}"),
        ])
        .ok();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // REWIND_E2E_KEEP=1 keeps the scratch directories, to look inside
        if std::env::var_os("REWIND_E2E_KEEP").is_some() {
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
