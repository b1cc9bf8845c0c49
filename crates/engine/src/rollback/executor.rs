//! Running Terraform (or OpenTofu): found on the PATH, run in a working
//! directory without prompts or colour, its output streamed line by line.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
}

/// What a finished run did.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) code: Option<i32>,
    pub(crate) took: Duration,
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

    /// Runs `args` in `dir`, giving every line of its output (standard
    /// output and error, as they come) to `out`.
    pub(crate) fn stream(
        &self,
        dir: &Path,
        args: &[&str],
        out: &mut dyn FnMut(&str),
    ) -> Result<Ran> {
        let start = Instant::now();
        let mut child = self
            .command(dir, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.spawn_error(args, e))?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let pipes: Vec<Box<dyn Read + Send>> = vec![
            Box::new(child.stdout.take().expect("stdout is piped")),
            Box::new(child.stderr.take().expect("stderr is piped")),
        ];
        let readers: Vec<_> = pipes
            .into_iter()
            .map(|p| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for line in BufReader::new(p).lines() {
                        let Ok(line) = line else { break };
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        for line in rx {
            out(&rewind_parse::sensitive::scrub(&line, &self.secrets));
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(|e| self.spawn_error(args, e))?;
        Ok(Ran {
            code: status.code(),
            took: start.elapsed(),
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
