//! The working directory a rollback plans and applies in: the target
//! snapshot's files next to the deployment, with the deployment's backend,
//! dependency lock file, provider cache and selected workspace.

use std::path::{Component, Path, PathBuf};

use rewind_odb::{SnapshotId, Store, TreeFile};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The override file that points the working directory at the
/// deployment's backend (a Terraform override file replaces the
/// configuration's backend block).
pub(crate) const BACKEND_OVERRIDE: &str = "rewind_rollback_override.tf.json";

/// A materialised target snapshot.
#[derive(Debug)]
pub(crate) struct Workdir {
    /// Everything the rollback writes (removed after a successful
    /// rollback).
    pub(crate) top: PathBuf,
    /// The root module's directory, where Terraform runs.
    pub(crate) module: PathBuf,
    /// The saved plan file.
    pub(crate) plan_file: PathBuf,
    /// Whether the deployment has a dependency lock file (then `init`
    /// may not change it).
    pub(crate) locked: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Is this tree path something `terraform` keeps for itself: state,
/// the `.terraform` directory, the dependency lock file?
pub(crate) fn not_configuration(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.split('/')
        .any(|c| c == ".terraform" || c == "terraform.tfstate.d")
        || name.ends_with(".tfstate")
        || name.ends_with(".tfstate.backup")
        || name == ".terraform.lock.hcl"
        || name == BACKEND_OVERRIDE
}

/// Writes the target snapshot's files into a new directory beside
/// `deployment` (the root module's directory), without its state, with
/// the deployment's backend, lock file, provider cache and workspace.
pub(crate) fn materialise(
    store: &Store,
    target: &SnapshotId,
    deployment: &Path,
    env: &str,
) -> Result<Workdir> {
    let record = store.record(target)?;
    let deployment = deployment.canonicalize().map_err(io(deployment))?;
    let parent = deployment.parent().unwrap_or(&deployment);
    let name = deployment
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "deployment".into());
    let stamp = rewind_odb::time::now().replace([':', '-'], "");
    let top = parent.join(format!(
        ".{name}.rewind-rollback-{env}-{stamp}-{}",
        std::process::id()
    ));
    let config = top.join("config");
    store.checkout(target, &config, false)?;
    let module = if record.root.is_empty() {
        config.clone()
    } else {
        config.join(&record.root)
    };
    // the target's state is history, not the deployment's state
    for f in store.tree_files(&record.tree)? {
        if not_configuration(&f.path) {
            let p = config.join(&f.path);
            std::fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    let lock = deployment.join(".terraform.lock.hcl");
    let locked = lock.is_file();
    if locked {
        let to = module.join(".terraform.lock.hcl");
        std::fs::copy(&lock, &to).map_err(io(&to))?;
    }
    let dot = module.join(".terraform");
    std::fs::create_dir_all(&dot).map_err(io(&dot))?;
    let providers = deployment.join(".terraform/providers");
    if providers.is_dir() {
        let link = dot.join("providers");
        let _ = std::fs::remove_dir_all(&link);
        link_dir(&providers, &link)?;
    }
    let environment = deployment.join(".terraform/environment");
    if environment.is_file() {
        let to = dot.join("environment");
        std::fs::copy(&environment, &to).map_err(io(&to))?;
    }
    let backend = backend_override(&deployment)?;
    let path = module.join(BACKEND_OVERRIDE);
    let text = serde_json::to_string_pretty(&backend).expect("JSON always serializes");
    std::fs::write(&path, text).map_err(io(&path))?;
    Ok(Workdir {
        plan_file: top.join("rollback.tfplan"),
        top,
        module,
        locked,
    })
}

#[cfg(unix)]
fn link_dir(from: &Path, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(from, link).map_err(io(link))
}

#[cfg(unix)]
fn make_link(to: &str, link: &Path) -> Result<()> {
    std::os::unix::fs::symlink(to, link).map_err(io(link))
}

#[cfg(not(unix))]
fn make_link(to: &str, link: &Path) -> Result<()> {
    Err(Error::Rollback(format!(
        "{} is a symbolic link (-> {to}), which this system cannot create",
        link.display()
    )))
}

#[cfg(not(unix))]
fn link_dir(from: &Path, link: &Path) -> Result<()> {
    // no symbolic links: init installs the providers again
    let _ = (from, link);
    Ok(())
}

/// The deployment's backend as an override file: the type and settings
/// `terraform init` recorded in `.terraform/terraform.tfstate` (partial
/// `-backend-config` values included), or the default local backend; a
/// local backend's paths are made absolute so the working directory
/// reads and writes the deployment's state.
fn backend_override(deployment: &Path) -> Result<Value> {
    let cache = deployment.join(".terraform/terraform.tfstate");
    let recorded = match std::fs::read(&cache) {
        Ok(bytes) => {
            let doc: Value = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Rollback(format!(
                    "{}: not Terraform's backend record ({e}); run `terraform init` in the deployment",
                    cache.display()
                ))
            })?;
            doc.get("backend").and_then(|b| {
                Some((
                    b.get("type")?.as_str()?.to_string(),
                    b.get("config")?.as_object()?.clone(),
                ))
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&cache)(e)),
    };
    let (kind, mut settings) = recorded.unwrap_or_else(|| ("local".into(), Map::new()));
    settings.retain(|_, v| !v.is_null());
    if kind == "local" {
        let state = settings
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("terraform.tfstate")
            .to_string();
        let workspaces = settings
            .get("workspace_dir")
            .and_then(Value::as_str)
            .unwrap_or("terraform.tfstate.d")
            .to_string();
        for (k, v) in [("path", state), ("workspace_dir", workspaces)] {
            let abs = deployment.join(v);
            settings.insert(k.into(), Value::String(abs.display().to_string()));
        }
    }
    let mut backend = Map::new();
    backend.insert(kind, Value::Object(settings));
    let mut terraform = Map::new();
    terraform.insert("backend".into(), Value::Object(backend));
    let mut doc = Map::new();
    doc.insert("terraform".into(), Value::Object(terraform));
    Ok(Value::Object(doc))
}

/// The directory the tree's paths are relative to, for a deployment
/// (the root module's directory) whose root is `root` inside the tree.
pub(crate) fn tree_base(deployment: &Path, root: &str) -> PathBuf {
    let mut base = deployment.to_path_buf();
    for _ in Path::new(root).components() {
        base.pop();
    }
    base
}

/// Makes the deployment's configuration the target's: writes the
/// target's configuration files, removes the configuration files of the
/// snapshot being rolled back from that the target does not have. State,
/// `.terraform/` and the lock file are left alone. Returns the files
/// written and removed.
/// Whether [`sync_configuration`] can write the target's configuration
/// into `base` and remove the previous one's: every path stays inside
/// it, and no directory on the way to one is a symbolic link in the
/// deployment (writing through it would change what it points to, which
/// other deployments may share). Checked before anything is applied.
pub(crate) fn check_sync(base: &Path, target: &[TreeFile], previous: &[TreeFile]) -> Result<()> {
    let mut checked = std::collections::BTreeSet::new();
    for f in target.iter().chain(previous) {
        if not_configuration(&f.path) {
            continue;
        }
        let p = Path::new(&f.path);
        if p.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(Error::Rollback(format!(
                "the snapshot holds the path {:?}, which leaves the deployment directory",
                f.path
            )));
        }
        for dir in p.ancestors().skip(1) {
            if dir.as_os_str().is_empty() || !checked.insert(dir.to_path_buf()) {
                continue;
            }
            let at = base.join(dir);
            if at
                .symlink_metadata()
                .is_ok_and(|m| m.file_type().is_symlink())
            {
                let to = std::fs::read_link(&at).unwrap_or_default();
                return Err(Error::Rollback(format!(
                    "{} is a symbolic link (to {}): a rollback does not write the configuration through a link, as what it points to may be shared with other deployments; make it a directory of its own, or restore {} by hand (`rewind checkout`)",
                    at.display(),
                    to.display(),
                    dir.display()
                )));
            }
        }
    }
    Ok(())
}

pub(crate) fn sync_configuration(
    store: &Store,
    base: &Path,
    target: &[TreeFile],
    previous: &[TreeFile],
) -> Result<(usize, usize)> {
    check_sync(base, target, previous)?;
    let wanted: Vec<&TreeFile> = target
        .iter()
        .filter(|f| !not_configuration(&f.path))
        .collect();
    let owned: Vec<TreeFile> = wanted.iter().map(|f| (*f).clone()).collect();
    let links = store.link_targets(&owned)?;
    for (path, to) in &links {
        let inside = rewind_odb::resolve_links(path, |p| {
            Ok::<_, std::convert::Infallible>(links.get(p).map(|t| t.clone().into_bytes()))
        });
        if !matches!(inside, Ok(rewind_odb::Resolved::Inside(_))) {
            return Err(Error::Rollback(format!(
                "the snapshot holds the symbolic link {path:?} -> {to:?}, which leads outside the deployment directory"
            )));
        }
    }
    let keep: std::collections::BTreeSet<&str> = wanted.iter().map(|f| f.path.as_str()).collect();
    let mut removed = 0;
    for f in previous {
        if not_configuration(&f.path) || keep.contains(f.path.as_str()) {
            continue;
        }
        let p = base.join(&f.path);
        match std::fs::remove_file(&p) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&p)(e)),
        }
    }
    let ids: Vec<_> = wanted.iter().map(|f| f.id).collect();
    let contents = store.get_blobs(&ids)?;
    for (f, data) in wanted.iter().zip(contents) {
        let p = base.join(&f.path);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = p.with_file_name(format!(
            ".{}.rewind-tmp",
            p.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
        if let Some(to) = links.get(&f.path) {
            // a link is created beside its place and renamed over it: what
            // stands there (a file, an older link) is replaced, not followed
            let _ = std::fs::remove_file(&tmp);
            make_link(to, &tmp)?;
            std::fs::rename(&tmp, &p).map_err(io(&p))?;
            continue;
        }
        std::fs::write(&tmp, &data).map_err(io(&tmp))?;
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755));
        }
        std::fs::rename(&tmp, &p).map_err(io(&p))?;
    }
    Ok((wanted.len(), removed))
}
