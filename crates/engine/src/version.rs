//! A version of a configuration: a directory parsed on the fly, or a
//! snapshot in a store; and loading one into a model.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use rewind_model::{Diagnostic, Hash, Model};
use rewind_odb::{Load, SnapshotId, SnapshotRecord, Store};

use crate::error::{Error, LoadFailure, Result};
use crate::inputs::Inputs;

/// The store snapshot references are looked up in, opened the first time
/// a version needs it (comparing two directories needs no store).
pub struct LazyStore {
    location: Option<String>,
    store: OnceCell<Store>,
}

impl LazyStore {
    /// The store at `location`, or else where [`Store::locate`] finds one.
    pub fn new(location: Option<String>) -> LazyStore {
        LazyStore {
            location,
            store: OnceCell::new(),
        }
    }

    /// The store, opened now if it was not yet.
    pub fn get(&self) -> rewind_odb::Result<&Store> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let location = Store::locate(self.location.as_deref())?;
        let opened = Store::open(&location)?;
        Ok(self.store.get_or_init(|| opened))
    }
}

/// A version of a configuration to diff, plan or graph.
pub enum Version<'s> {
    /// A directory of Terraform code (and state), parsed when needed.
    Dir(PathBuf),
    /// A snapshot in a store.
    Snapshot(StoredVersion<'s>),
}

/// A snapshot version: which store, which snapshot, and how it was asked
/// for.
pub struct StoredVersion<'s> {
    /// The store holding it.
    pub store: &'s Store,
    /// The snapshot.
    pub id: SnapshotId,
    /// The REF it was named by, shown in labels when it has no tag.
    pub name: Option<String>,
    /// Its tags (when it was resolved).
    pub tags: Vec<String>,
}

impl<'s> StoredVersion<'s> {
    /// The snapshot `id` of `store`, named by its id.
    pub fn new(store: &'s Store, id: SnapshotId) -> Result<StoredVersion<'s>> {
        Ok(StoredVersion {
            store,
            id,
            name: None,
            tags: store.refs()?.tags_of(&id),
        })
    }
}

/// How a version is shown beside a diff or plan.
#[derive(Clone, Debug, Default)]
pub struct Side {
    /// The directory as given, or the snapshot's tags (else its REF) and
    /// short id.
    pub label: String,
    /// The snapshot's id.
    pub id: Option<SnapshotId>,
    /// The snapshot's tags.
    pub tags: Vec<String>,
    /// The snapshot's record.
    pub record: Option<SnapshotRecord>,
}

impl<'s> Version<'s> {
    /// A directory when `spec` names one, otherwise a snapshot reference
    /// (a tag, an id or a prefix of one, `ENV`, `ENV~N`, `ENV@good`)
    /// resolved in the store.
    ///
    /// `ref:SPEC` is always a reference. A bare name (no `/`) that is both
    /// a directory here and a reference in the store is ambiguous, as git
    /// says of a name that is both a file and a revision: `./NAME` or
    /// `ref:NAME` chooses.
    pub fn parse(spec: &str, stores: &'s LazyStore) -> Result<Version<'s>> {
        let (spec, forced_ref) = match spec.strip_prefix("ref:") {
            Some(r) => (r, true),
            None => (spec, false),
        };
        if !forced_ref && Path::new(spec).is_dir() {
            let bare = !spec.contains('/') && !spec.contains(std::path::MAIN_SEPARATOR);
            if bare && spec != "." && spec != ".." {
                // an ambiguity only when a store exists and the name resolves
                if let Ok(store) = stores.get() {
                    if let Ok(refs) = store.refs() {
                        if store.resolve_in(&refs, spec).is_ok() {
                            return Err(Error::Ambiguous {
                                spec: spec.to_string(),
                            });
                        }
                    }
                }
            }
            return Ok(Version::Dir(PathBuf::from(spec)));
        }
        let store = stores.get().map_err(|source| Error::NotAVersion {
            spec: spec.to_string(),
            source,
        })?;
        let refs = store.refs()?;
        let id = store.resolve_in(&refs, spec)?;
        Ok(Version::Snapshot(StoredVersion {
            store,
            id,
            name: Some(spec.to_string()),
            tags: refs.tags_of(&id),
        }))
    }

    /// The deployment a plan starts from when none is named: the latest
    /// snapshot of `env`, or else of the environment `target` (a
    /// snapshot) was taken for.
    pub fn current_for(
        target: &Version<'s>,
        env: Option<&str>,
        stores: &'s LazyStore,
    ) -> Result<Version<'s>> {
        let env = match (env, target) {
            (Some(e), _) => e.to_string(),
            (None, Version::Snapshot(s)) => s.store.record(&s.id)?.env,
            (None, Version::Dir(_)) => return Err(Error::NoCurrentVersion),
        };
        Version::parse(&format!("{env}@latest"), stores)
    }

    /// How the version is shown.
    pub fn side(&self) -> Result<Side> {
        match self {
            Version::Dir(p) => Ok(Side {
                label: p.display().to_string(),
                ..Side::default()
            }),
            Version::Snapshot(s) => {
                let named = if s.tags.is_empty() {
                    s.name.clone().unwrap_or_else(|| s.id.short(12))
                } else {
                    s.tags.join(", ")
                };
                Ok(Side {
                    label: format!("{named} ({})", s.id.short(12)),
                    id: Some(s.id),
                    tags: s.tags.clone(),
                    record: Some(s.store.record(&s.id)?),
                })
            }
        }
    }
}

/// A version loaded into a model.
pub(crate) struct Loaded {
    pub(crate) model: Model,
    /// The root module's directory relative to the files' base.
    pub(crate) root: String,
    /// A directory's: the directory as given, and the tree its files are in
    /// (its local modules included). `None` for a snapshot.
    pub(crate) dir: Option<(PathBuf, PathBuf)>,
    /// A directory's files: (path relative to the base, content hash,
    /// absolute path). Empty for a snapshot (its tree has them).
    pub(crate) files: Vec<(String, Hash, PathBuf)>,
    /// `terraform.workspace`.
    pub(crate) workspace: String,
    /// A snapshot's record.
    pub(crate) record: Option<SnapshotRecord>,
}

impl Version<'_> {
    /// Parses the directory, or reads the snapshot's model: all of it, its
    /// state instances without attributes ([`Load::Light`]), or no state
    /// ([`Load::ConfigOnly`]). A directory's warnings are appended to
    /// `warnings`; its errors fail with every problem found (and the
    /// warnings gathered before).
    pub(crate) fn load(
        &self,
        load: Load,
        inputs: &Inputs,
        warnings: &mut Vec<Diagnostic>,
    ) -> Result<Loaded> {
        match self {
            Version::Dir(p) => {
                let loaded = rewind_parse::load(p, &inputs.parse_options(load));
                dir_loaded(p, loaded, inputs, warnings)
            }
            Version::Snapshot(s) => {
                let record = s.store.record(&s.id)?;
                let (model, root) = s.store.load_model(&record.model, load)?;
                Ok(Loaded {
                    model,
                    root,
                    dir: None,
                    files: Vec::new(),
                    workspace: record.workspace().to_string(),
                    record: Some(record),
                })
            }
        }
    }
}

/// Checks a directory's load: a directory without Terraform configuration
/// in its root module is an error (a mistyped path must not pass for an
/// empty configuration); adds the files its configuration reads.
pub(crate) fn checked_dir(
    dir: &Path,
    loaded: std::result::Result<rewind_parse::Loaded, rewind_parse::LoadError>,
    allow_empty: bool,
) -> std::result::Result<rewind_parse::Loaded, rewind_parse::LoadError> {
    let mut l = loaded?;
    let root = if l.root.is_empty() {
        String::new()
    } else {
        format!("{}/", l.root)
    };
    let has_config = l.files.iter().any(|f| {
        f.kind.is_config()
            && f.path
                .strip_prefix(&root)
                .is_some_and(|rest| !rest.contains('/'))
    });
    if !has_config && !allow_empty {
        return Err(rewind_parse::LoadError {
            diagnostics: vec![Diagnostic {
                severity: rewind_model::Severity::Error,
                loc: rewind_model::Loc {
                    file: dir.display().to_string(),
                    line: 0,
                    col: 0,
                },
                message: "no Terraform configuration here (no .tf, .tf.json, .tofu or .tofu.json file): is the path right?".into(),
                source_line: None,
            }],
        });
    }
    crate::reads::add_reads(&mut l);
    Ok(l)
}

/// A parsed directory as a loaded version (its warnings gathered).
pub(crate) fn dir_loaded(
    dir: &Path,
    loaded: std::result::Result<rewind_parse::Loaded, rewind_parse::LoadError>,
    inputs: &Inputs,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Loaded> {
    dir_loaded_keeping(dir, loaded, inputs, warnings).map(|(l, _)| l)
}

/// [`dir_loaded`], with the files' parse results handed back (to be
/// forgotten by a process about to exit rather than freed).
pub(crate) fn dir_loaded_keeping(
    dir: &Path,
    loaded: std::result::Result<rewind_parse::Loaded, rewind_parse::LoadError>,
    inputs: &Inputs,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Loaded, Vec<std::sync::Arc<rewind_parse::Parsed>>)> {
    checked_dir_loaded(dir, checked_dir(dir, loaded, false), inputs, warnings)
}

/// [`dir_loaded_keeping`] of a load [`checked_dir`] has checked already.
pub(crate) fn checked_dir_loaded(
    dir: &Path,
    checked: std::result::Result<rewind_parse::Loaded, rewind_parse::LoadError>,
    inputs: &Inputs,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Loaded, Vec<std::sync::Arc<rewind_parse::Parsed>>)> {
    match checked {
        Ok(mut l) => {
            warnings.extend(l.model.diagnostics.iter().cloned());
            let parsed = std::mem::take(&mut l.parsed);
            let loaded = Loaded {
                files: l
                    .files
                    .iter()
                    .map(|f| (f.path.clone(), f.hash, f.abs.clone()))
                    .collect(),
                dir: Some((dir.to_path_buf(), l.base)),
                model: l.model,
                root: l.root,
                workspace: inputs.workspace_of(dir)?,
                record: None,
            };
            Ok((loaded, parsed))
        }
        Err(e) => Err(LoadFailure {
            what: dir.display().to_string(),
            earlier: std::mem::take(warnings),
            diagnostics: e.diagnostics,
        }
        .into()),
    }
}
