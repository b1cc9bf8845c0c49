//! `rewind init` and `rewind snapshot`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Result};
use rewind_engine::{SnapshotOptions, SnapshotOutcome};
use rewind_odb::Store;
use serde_json::json;

use crate::cli::{format_for, Format, Global, EXIT_OK};
use crate::history_cmd::record_json;
use crate::output::Output;
use crate::store_cmds::open_store;

pub fn init(g: &Global, out: &Output) -> Result<u8> {
    let loc = match (&g.store, std::env::var("REWIND_STORE")) {
        (Some(s), _) => s.clone(),
        (None, Ok(s)) if !s.is_empty() => s,
        _ => ".rewind".to_string(),
    };
    // as `git init`: an existing store is left as it is, and that is not an
    // error (a pipeline may run `rewind init` every time)
    match Store::init(&loc) {
        Ok(store) => out.note(&format!(
            "initialized an empty rewind store in {}",
            store.describe()
        )),
        Err(rewind_odb::Error::StoreExists(_)) => {
            let store = Store::open(&loc)?;
            out.note(&format!(
                "a rewind store already exists in {}: left as it is",
                store.describe()
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(EXIT_OK)
}

/// `--label KEY=VALUE` arguments.
fn parse_labels(labels: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for l in labels {
        let Some((k, v)) = l.split_once('=') else {
            bail!("label {l:?} is not KEY=VALUE");
        };
        if k.is_empty() {
            bail!("label {l:?} has an empty key");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// The arguments of `rewind snapshot`.
pub struct SnapshotArgs<'a> {
    pub dir: &'a Path,
    pub env: String,
    pub tags: Vec<String>,
    pub message: String,
    pub labels: &'a [String],
    pub force: bool,
    pub allow_empty: bool,
    pub inputs: &'a crate::inputs_args::InputArgs,
}

pub fn snapshot(g: &Global, out: &Output, a: SnapshotArgs) -> Result<u8> {
    let format = format_for(g, "snapshot", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let opts = SnapshotOptions {
        env: a.env,
        tags: a.tags,
        force_tag: a.force,
        message: a.message,
        labels: parse_labels(a.labels)?,
        inputs: a.inputs.to_inputs()?,
        allow_empty: a.allow_empty,
        source: None,
    };
    let outcome = rewind_engine::snapshot(&store, a.dir, &opts).map_err(|e| match e {
        rewind_engine::Error::Load(f) => {
            out.diagnostics(&f.diagnostics);
            anyhow!("{f}; nothing was stored")
        }
        e => e.into(),
    })?;
    out.diagnostics(&outcome.diagnostics);
    let text = match format {
        Format::Json => {
            let mut v = record_json(&outcome.id, &outcome.record, &opts.tags);
            v["new_objects"] = json!(outcome.written.objects);
            v["new_bytes"] = json!(outcome.written.bytes);
            v["unchanged"] = json!(outcome.unchanged);
            v["requests"] = json!(store.requests());
            v["state"] = crate::history_cmd::state_json(outcome.state.as_ref());
            v["lineage_changed_from"] = json!(outcome.lineage_changed);
            format!("{}\n", serde_json::to_string_pretty(&v)?)
        }
        _ => summary(out, a.dir, &opts.tags, &outcome),
    };
    out.print(&text)?;
    Ok(EXIT_OK)
}

/// The one line `snapshot` prints.
fn summary(out: &Output, dir: &Path, tags: &[String], outcome: &SnapshotOutcome) -> String {
    let r = &outcome.record;
    let tag_text = if tags.is_empty() {
        String::new()
    } else {
        format!(", tagged {}", tags.join(", "))
    };
    let what = if outcome.unchanged {
        "unchanged since the last snapshot".to_string()
    } else {
        format!(
            "{} new objects, {} bytes",
            outcome.written.objects, outcome.written.bytes
        )
    };
    format!(
        "snapshot {} of {} in {}{tag_text}: {} files, {} resources, {} instances ({what})\n",
        out.style.yellow(&outcome.id.short(12)),
        dir.display(),
        r.env,
        r.files,
        r.resources,
        r.instances
    )
}
