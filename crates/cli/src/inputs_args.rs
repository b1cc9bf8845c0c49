//! The inputs a directory is given beside its files, as Terraform takes
//! them: `--state`, `--var-file`, `--var`, `--env-vars`, `--workspace`,
//! `--modules`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rewind_engine::{ExternalState, InputSource, Inputs};

/// Options shared by `snapshot`, `diff`, `plan` and `graph` for directory
/// versions.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// The state to use instead of the directory's: a file, or - for standard input (`terraform state pull | rewind snapshot infra --state -`).
    #[arg(long, value_name = "FILE|-")]
    pub state: Option<String>,
    /// A variable file, as `terraform -var-file` (HCL; JSON when it ends in .json). Repeatable; with --var, later ones win.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// A variable value, as `terraform -var` (a string for string variables, an HCL expression otherwise). Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Take `TF_VAR_name` values from the environment, as Terraform does (ranked below every variable file).
    #[arg(long)]
    pub env_vars: bool,
    /// `terraform.workspace` (default: $TF_WORKSPACE, then the directory's .terraform/environment, then "default").
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    /// A module cache laid out as .terraform/modules (with the modules.json of `terraform init`), for a directory whose remote modules were not downloaded.
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// Command-line positions of the --var-file (false) and --var (true)
    /// values, so they apply in the order given, as Terraform applies them.
    #[arg(skip)]
    pub order: Vec<(usize, bool)>,
}

impl InputArgs {
    /// Records where each --var-file and --var was on the command line.
    pub fn set_order(&mut self, m: &clap::ArgMatches) {
        let mut order: Vec<(usize, bool)> = Vec::new();
        if let Some(ix) = m.indices_of("var_files") {
            order.extend(ix.map(|i| (i, false)));
        }
        if let Some(ix) = m.indices_of("vars") {
            order.extend(ix.map(|i| (i, true)));
        }
        order.sort();
        self.order = order;
    }

    /// The engine's inputs: the state read (standard input at most once),
    /// the variables in Terraform's order.
    pub fn to_inputs(&self) -> Result<Inputs> {
        let state = match self.state.as_deref() {
            None => None,
            Some("-") => {
                let bytes = rewind_engine::read_bounded_from(
                    std::io::stdin().lock(),
                    rewind_engine::MAX_STATE_INPUT,
                )
                .context("--state -: cannot read the state from standard input")?;
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    bail!("--state -: standard input is empty (did `terraform state pull` fail?)");
                }
                Some(ExternalState {
                    shown: "(standard input)".into(),
                    bytes,
                })
            }
            Some(path) => Some(ExternalState {
                shown: path.to_string(),
                bytes: rewind_engine::read_bounded(
                    std::path::Path::new(path),
                    rewind_engine::MAX_STATE_INPUT,
                )
                .with_context(|| format!("--state {path}"))?,
            }),
        };
        let mut variables = if self.env_vars {
            Inputs::env_vars()
        } else {
            Vec::new()
        };
        let (mut files, mut vars) = (self.var_files.iter(), self.vars.iter());
        let order: Vec<bool> = if self.order.len() == self.var_files.len() + self.vars.len() {
            self.order.iter().map(|(_, is_var)| *is_var).collect()
        } else {
            // built without the command line: files first, as listed
            std::iter::repeat_n(false, self.var_files.len())
                .chain(std::iter::repeat_n(true, self.vars.len()))
                .collect()
        };
        for is_var in order {
            if is_var {
                let Some(v) = vars.next() else { continue };
                let Some((name, value)) = v.split_once('=') else {
                    bail!("--var {v:?} is not NAME=VALUE (a variable name and its value separated by an equals sign)");
                };
                if name.is_empty() {
                    bail!("--var {v:?} has no variable name before the equals sign");
                }
                variables.push(InputSource::Var(name.to_string(), value.to_string()));
            } else if let Some(f) = files.next() {
                variables.push(InputSource::File(f.clone()));
            }
        }
        let workspace = match &self.workspace {
            Some(w) => Some(w.clone()),
            None => std::env::var("TF_WORKSPACE").ok().filter(|w| !w.is_empty()),
        };
        if let Some(w) = &workspace {
            rewind_engine::check_workspace(w).map_err(anyhow::Error::msg)?;
        }
        Ok(Inputs {
            state,
            variables,
            workspace,
            modules: self.modules.clone(),
        })
    }
}
