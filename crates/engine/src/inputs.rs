//! What Terraform is given beside a directory's files: a state from
//! elsewhere, variable values, the workspace and a module cache. They
//! apply to directory versions (a snapshot holds its own).

use std::path::{Path, PathBuf};

use rewind_odb::{Load, RecordedInputs};
pub use rewind_parse::inputs::{ExternalState, InputSource};

use crate::error::{Error, Result};

/// The inputs of directory versions (`--state`, `--var-file`, `--var`,
/// `--env-vars`, `--workspace`, `--modules`).
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The state to use instead of the directory's state files (for
    /// example `terraform state pull`'s output).
    pub state: Option<ExternalState>,
    /// Variable values, in command-line order (`TF_VAR_` values rank
    /// below every variable file wherever they are in this list).
    pub variables: Vec<InputSource>,
    /// `terraform.workspace` (else the directory's
    /// `.terraform/environment`, else `default`).
    pub workspace: Option<String>,
    /// A module cache laid out as `.terraform/modules`, for directories
    /// whose remote modules were not downloaded.
    pub modules: Option<PathBuf>,
}

pub use rewind_parse::inputs::ENVIRONMENT_FILE;

impl Inputs {
    /// True when nothing is given beside the directory.
    pub fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.variables.is_empty()
            && self.workspace.is_none()
            && self.modules.is_none()
    }

    /// `TF_VAR_name` values of this process's environment, by name.
    pub fn env_vars() -> Vec<InputSource> {
        let mut out: Vec<InputSource> = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                let name = k.strip_prefix("TF_VAR_")?;
                (!name.is_empty())
                    .then(|| InputSource::Env(name.to_string(), v.to_string_lossy().into_owned()))
            })
            .collect();
        out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out
    }

    /// The parser's options for a directory, for what is wanted of its
    /// state.
    pub(crate) fn parse_options(&self, load: Load) -> rewind_parse::Options<'static> {
        rewind_parse::Options {
            skip_state: load == Load::ConfigOnly,
            light_state: load == Load::Light,
            state: self.state.clone(),
            inputs: self.variables.clone(),
            modules_dir: self.modules.clone(),
            workspace: self.workspace.clone(),
            ..Default::default()
        }
    }

    /// The workspace of directory `dir`: the one given, else the one
    /// `terraform workspace select` recorded, else `default`.
    pub fn workspace_of(&self, dir: &Path) -> Result<String> {
        rewind_parse::inputs::workspace_of(dir, self.workspace.as_deref()).map_err(|source| {
            Error::Io {
                path: dir.join(ENVIRONMENT_FILE),
                source,
            }
        })
    }

    /// What a snapshot of `dir` records of these inputs (`None` when
    /// nothing was given and the workspace is `default`, as records
    /// before inputs existed read).
    pub(crate) fn recorded(&self, dir: &Path) -> Result<Option<RecordedInputs>> {
        let workspace = self.workspace_of(dir)?;
        if self.is_empty() && workspace == "default" {
            return Ok(None);
        }
        let mut r = RecordedInputs {
            workspace,
            state: self.state.as_ref().map(|s| s.shown.clone()),
            modules: self.modules.as_ref().map(|m| m.display().to_string()),
            ..RecordedInputs::default()
        };
        for v in &self.variables {
            match v {
                InputSource::Env(n, _) => r.env_vars.push(n.clone()),
                InputSource::File(p) => r.var_files.push(p.display().to_string()),
                InputSource::Var(n, _) => r.vars.push(n.clone()),
            }
        }
        Ok(Some(r))
    }
}

/// Checks a workspace name as Terraform does: not empty, only characters
/// a URL path segment keeps as they are, no path separator (`terraform
/// workspace new "a b"` refuses the same names).
pub fn check_workspace(name: &str) -> Result<(), String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "-_.~$&+:=@".contains(c);
    if name.is_empty() || !name.chars().all(ok) {
        return Err(format!(
            "the workspace name {name:?} is not allowed: it must contain only URL safe characters, and no path separators (as Terraform requires)"
        ));
    }
    Ok(())
}
