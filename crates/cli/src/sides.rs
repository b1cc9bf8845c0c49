//! A "side" of a comparison or plan: a directory parsed on the fly, or a
//! snapshot from the store.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rewind_model::{Hash, Model};
use rewind_store::read::Load;
use rewind_store::{SnapshotRecord, Store};

use crate::cli::Global;
use crate::output::Output;

#[derive(Default)]
pub struct Side {
    pub model: Model,
    /// How to name it to a person: the directory, or tags and short id.
    pub label: String,
    pub id: Option<Hash>,
    pub tags: Vec<String>,
    pub record: Option<SnapshotRecord>,
    pub root: String,
    /// A directory side: where it is.
    pub dir: Option<std::path::PathBuf>,
    /// A directory side: the tree its files are in (its local modules
    /// included), which functions reading files may not leave.
    pub base: Option<std::path::PathBuf>,
    /// A directory side's files: (path relative to the base, hash, file).
    pub files: Vec<(String, Hash, std::path::PathBuf)>,
}

pub fn open_store(g: &Global) -> Result<Store> {
    let loc = Store::locate(g.store.as_deref())?;
    Ok(Store::open(&loc)?)
}

/// The side of a loaded directory (its diagnostics printed).
pub fn dir_side(
    spec: &str,
    loaded: Result<rewind_parse::Loaded, rewind_parse::LoadError>,
    out: &Output,
) -> Result<Side> {
    let loaded = match loaded {
        Ok(l) => {
            out.diagnostics(&l.model.diagnostics);
            l
        }
        Err(e) => {
            out.diagnostics(&e.diagnostics);
            let n = e.diagnostics.len();
            bail!("{n} problem{} in {spec}", if n == 1 { "" } else { "s" },);
        }
    };
    Ok(Side {
        model: loaded.model,
        label: spec.to_string(),
        id: None,
        tags: Vec::new(),
        record: None,
        root: loaded.root,
        dir: Some(PathBuf::from(spec)),
        base: Some(loaded.base.clone()),
        files: loaded
            .files
            .iter()
            .map(|f| (f.path.clone(), f.hash, f.abs.clone()))
            .collect(),
    })
}

/// A directory when `spec` names one, otherwise a snapshot reference.
/// With `model` `None`, a snapshot's model is left in the store (the
/// caller reads what it needs).
pub fn load_side(
    g: &Global,
    spec: &str,
    store: &mut Option<Store>,
    out: &Output,
    model: Option<Load>,
) -> Result<Side> {
    load_side_with(
        g,
        spec,
        store,
        out,
        model,
        &rewind_parse::Options::default(),
    )
}

/// [`load_side`] with loading options for a directory side.
pub fn load_side_with(
    g: &Global,
    spec: &str,
    store: &mut Option<Store>,
    out: &Output,
    model: Option<Load>,
    opts: &rewind_parse::Options,
) -> Result<Side> {
    let p = Path::new(spec);
    if p.is_dir() {
        let opts = rewind_parse::Options {
            cache: opts.cache,
            threads: opts.threads,
            allow_cycles: opts.allow_cycles,
            skip_state: opts.skip_state || matches!(model, Some(Load::ConfigOnly)),
            light_state: opts.light_state || matches!(model, Some(Load::Light)),
            keep_bytes: opts.keep_bytes,
        };
        let loaded = rewind_parse::load(p, &opts);
        return dir_side(spec, loaded, out);
    }
    if store.is_none() {
        *store = Some(open_store(g).with_context(|| {
            format!("{spec:?} is not a directory, so it must be a snapshot reference")
        })?);
    }
    let Some(st) = store.as_ref() else {
        bail!("no store");
    };
    let (refs, _) = st.refs()?;
    let id = st.resolve_in(&refs, spec)?;
    let record = st.record(&id)?;
    let (model, root) = match model {
        Some(load) => st.load_model_with(&record.model, load)?,
        None => (Model::default(), record.root.clone()),
    };
    let tags = st.tags_of(&refs, &id);
    let label = if tags.is_empty() {
        format!("{} ({})", spec, id.short(12))
    } else {
        format!("{} ({})", tags.join(", "), id.short(12))
    };
    Ok(Side {
        model,
        label,
        id: Some(id),
        tags,
        record: Some(record),
        root,
        dir: None,
        base: None,
        files: Vec::new(),
    })
}
