//! Running Terraform (or OpenTofu): found on the PATH, run in a working
//! directory without prompts or colour, its output streamed line by line.
//!
//! Terraform runs in a process group of its own and writes to a file that
//! rewind follows, not to a pipe: a terminal's Ctrl-C reaches rewind only,
//! which asks Terraform once to stop gracefully (it finishes what it is
//! doing and saves its state); and rewind killed outright leaves Terraform
//! to finish, where a pipe that lost its reader would kill it between
//! creating an object and recording it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The Terraform-compatible program a rollback runs.
#[derive(Clone, Debug)]
pub struct Executor {
    /// The program.
    pub program: PathBuf,
    /// What the user called it (`terraform`, `tofu`, a path).
    pub name: String,
    /// The secrets of the snapshots it runs between, replaced in what it
    /// prints ([`rewind_parse::sensitive::scrub`]): Terraform shows values
    /// its providers do not mark, rewind's rules may.
    pub(crate) secrets: Vec<String>,
    /// Set when rewind is asked to stop (SIGINT, SIGTERM): a running
    /// Terraform is then asked to stop too, once.
    pub(crate) interrupt: Option<Arc<AtomicBool>>,
}

/// What a finished run did.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: Option<i32>,
    pub(crate) took: Duration,
    /// Whether it was asked to stop before it finished.
    pub(crate) interrupted: bool,
}

impl Executor {
    /// Finds `name` (`terraform`, `tofu`, or a path) on the PATH.
    pub fn find(name: &str) -> Result<Executor> {
        let program = if name.contains('/') {
            let p = PathBuf::from(name);
            p.is_file().then_some(p)
        } else {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        };
        match program {
            Some(program) => Ok(Executor {
                program,
                name: name.to_string(),
                secrets: Vec::new(),
                interrupt: None,
            }),
            None => Err(Error::Rollback(format!(
                "the executor {name:?} is not on the PATH (install it, or choose another with --executor terraform|tofu|PATH)"
            ))),
        }
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(args)
            .current_dir(dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env_remove("TF_WORKSPACE")
            .env_remove("TF_CLI_ARGS")
            .stdin(Stdio::null());
        for k in ["plan", "apply", "init", "show", "state"] {
            c.env_remove(format!("TF_CLI_ARGS_{k}"));
        }
        c
    }

    /// Whether rewind has been asked to stop.
    pub(crate) fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// Runs `args` in `dir`, giving every line of its output (standard
    /// output and error, as they come) to `out`. The output goes through
    /// `log` (created anew, readable by the owner only, removed after the
    /// run); when rewind is asked to stop, Terraform gets one SIGINT and
    /// rewind waits for it to finish.
    pub(crate) fn stream(
        &self,
        dir: &Path,
        args: &[&str],
        log: &Path,
        out: &mut dyn FnMut(&str),
    ) -> Result<Ran> {
        let start = Instant::now();
        let io = |source| Error::Io {
            path: log.to_path_buf(),
            source,
        };
        let _ = std::fs::remove_file(log);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode_0600()
            .open(log)
            .map_err(io)?;
        let mut child = self
            .command(dir, args)
            .stdout(file.try_clone().map_err(io)?)
            .stderr(file)
            .process_group(0)
            .spawn()
            .map_err(|e| self.spawn_error(args, e))?;
        let mut reader = std::fs::File::open(log).map_err(io)?;
        let mut lines = Lines::default();
        let mut interrupted = false;
        let status = loop {
            let exited = child.try_wait().map_err(|e| self.spawn_error(args, e))?;
            lines.read(&mut reader).map_err(io)?;
            while let Some(line) = lines.next_line(exited.is_some()) {
                out(&rewind_parse::sensitive::scrub(&line, &self.secrets));
            }
            if let Some(status) = exited {
                break status;
            }
            if !interrupted && self.interrupted() {
                interrupted = true;
                signal(child.id(), libc::SIGINT);
                out(&format!(
                    "rewind: interrupted: {} (process {}) was asked to stop; it finishes what it is doing and saves its state, waiting for it (kill it to force it)",
                    self.name,
                    child.id()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = std::fs::remove_file(log);
        Ok(Ran {
            code: status.code(),
            took: start.elapsed(),
            interrupted,
        })
    }

    /// Runs `args` in `dir` and returns its standard output; a failure is
    /// an error quoting its standard error.
    pub(crate) fn capture(&self, dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
        let o = self
            .command(dir, args)
            .output()
            .map_err(|e| self.spawn_error(args, e))?;
        if !o.status.success() {
            return Err(Error::Rollback(format!(
                "`{} {}` in {} failed ({}):\n{}",
                self.name,
                args.join(" "),
                dir.display(),
                o.status,
                rewind_parse::sensitive::scrub(
                    String::from_utf8_lossy(&o.stderr).trim_end(),
                    &self.secrets
                )
            )));
        }
        Ok(o.stdout)
    }

    fn spawn_error(&self, args: &[&str], e: std::io::Error) -> Error {
        Error::Rollback(format!(
            "could not run `{} {}` ({}): {e}",
            self.name,
            args.join(" "),
            self.program.display()
        ))
    }
}

/// Sends `sig` to process `pid` (Terraform only, not its group: what it
/// runs, a provisioner's command, finishes while it stops gracefully).
#[allow(unsafe_code)]
fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) reads no memory of ours; a process that is gone
    // only makes it fail (ESRCH)
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Opening a file readable by its owner only.
trait Private {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Private for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(self, 0o600)
    }
}

/// The lines of a file being written, as they are completed.
#[derive(Default)]
struct Lines {
    pending: Vec<u8>,
}

impl Lines {
    /// Reads what has been written since the last read.
    fn read(&mut self, r: &mut impl Read) -> std::io::Result<()> {
        r.read_to_end(&mut self.pending).map(|_| ())
    }

    /// The next whole line (and with `all`, the last one without a line
    /// end too).
    fn next_line(&mut self, all: bool) -> Option<String> {
        let end = match self.pending.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None if all && !self.pending.is_empty() => self.pending.len(),
            None => return None,
        };
        let line: Vec<u8> = self.pending.drain(..end).collect();
        let text = String::from_utf8_lossy(&line);
        Some(text.trim_end_matches(['\n', '\r']).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines come whole as they are completed; the last one without a
    /// line end only once the writer is done.
    #[test]
    fn lines_come_whole() {
        let mut l = Lines::default();
        l.read(&mut &b"one\ntw"[..]).unwrap();
        assert_eq!(l.next_line(false).as_deref(), Some("one"));
        assert_eq!(l.next_line(false), None);
        l.read(&mut &b"o\r\nthree"[..]).unwrap();
        assert_eq!(l.next_line(false).as_deref(), Some("two"));
        assert_eq!(l.next_line(false), None);
        assert_eq!(l.next_line(true).as_deref(), Some("three"));
        assert_eq!(l.next_line(true), None);
    }
}
