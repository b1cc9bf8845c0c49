//! The store commands: init, snapshot, log, show, tag, mark-good,
//! checkout, verify, gc.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rewind_model::Hash;
use rewind_store::{SnapshotError, SnapshotOptions, SnapshotRecord, Store, StoreError};
use serde_json::json;

use crate::cli::{format_for, Format, Global};
use crate::output::Output;
use crate::sides::open_store;

pub fn init(g: &Global, out: &Output) -> Result<u8> {
    let loc = match (&g.store, std::env::var("REWIND_STORE")) {
        (Some(s), _) => s.clone(),
        (None, Ok(s)) if !s.is_empty() => s,
        _ => ".rewind".to_string(),
    };
    let store = Store::init(&loc)?;
    out.note(&format!(
        "initialized an empty rewind store in {}",
        store.describe()
    ));
    Ok(0)
}

fn record_json(id: &Hash, r: &SnapshotRecord, tags: &[String]) -> serde_json::Value {
    json!({
        "id": id.to_hex(),
        "tags": tags,
        "env": r.env,
        "time": r.time,
        "message": r.message,
        "labels": r.labels,
        "parent": r.parent.map(|p| p.to_hex()),
        "tree": r.tree.to_hex(),
        "model": r.model.to_hex(),
        "source": r.source,
        "root": r.root,
        "program_version": r.program_version,
        "git": r.git.as_ref().map(|g| json!({"commit": g.commit, "dirty": g.dirty})),
        "files": r.files,
        "resources": r.resources,
        "instances": r.instances,
    })
}

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

#[allow(clippy::too_many_arguments)]
pub fn snapshot(
    g: &Global,
    out: &Output,
    dir: &Path,
    env: String,
    tags: Vec<String>,
    message: String,
    labels: &[String],
    force: bool,
) -> Result<u8> {
    let format = format_for(g, "snapshot", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let opts = SnapshotOptions {
        env,
        tags: tags.clone(),
        force_tag: force,
        message,
        labels: parse_labels(labels)?,
    };
    let outcome = match store.snapshot(dir, &opts) {
        Ok(o) => o,
        Err(SnapshotError::Load(e)) => {
            out.diagnostics(&e.diagnostics);
            let n = e.diagnostics.len();
            bail!(
                "{n} problem{} in {}; nothing was stored",
                if n == 1 { "" } else { "s" },
                dir.display()
            );
        }
        Err(SnapshotError::Store(e)) => return Err(e.into()),
    };
    out.diagnostics(&outcome.diagnostics);
    let r = &outcome.record;
    match format {
        Format::Json => {
            let mut v = record_json(&outcome.id, r, &tags);
            v["new_objects"] = json!(outcome.new_objects);
            v["new_bytes"] = json!(outcome.new_bytes);
            v["unchanged"] = json!(outcome.unchanged);
            v["requests"] = json!(store.requests());
            out.print(&format!("{}\n", serde_json::to_string_pretty(&v)?));
        }
        _ => {
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
                    outcome.new_objects, outcome.new_bytes
                )
            };
            out.print(&format!(
                "snapshot {} of {} in {}{tag_text}: {} files, {} resources, {} instances ({what})\n",
                out.style.yellow(&outcome.id.short(12)),
                dir.display(),
                r.env,
                r.files,
                r.resources,
                r.instances
            ));
        }
    }
    Ok(0)
}

/// The snapshots of one environment, newest first.
fn history(
    store: &Store,
    start: Option<Hash>,
    limit: usize,
) -> Result<Vec<(Hash, SnapshotRecord)>> {
    let mut out = Vec::new();
    let mut cur = start;
    while let Some(id) = cur {
        if out.len() >= limit {
            break;
        }
        let rec = store.record(&id)?;
        cur = rec.parent;
        out.push((id, rec));
    }
    Ok(out)
}

pub fn log(
    g: &Global,
    out: &Output,
    env: Option<&str>,
    refs_log: bool,
    limit: Option<usize>,
) -> Result<u8> {
    let format = format_for(g, "log", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let (refs, _) = store.refs()?;
    let limit = limit.unwrap_or(usize::MAX);
    if refs_log {
        let mut entries = store.full_log(&refs)?;
        if let Some(e) = env {
            let prefix = format!("envs/{e}/");
            entries.retain(|l| l.name.starts_with(&prefix));
        }
        entries.reverse();
        entries.truncate(limit);
        if format == Format::Json {
            let v: Vec<_> = entries
                .iter()
                .map(|l| json!({"time": l.time, "ref": l.name, "old": l.old.map(|h| h.to_hex()), "new": l.new.map(|h| h.to_hex()), "reason": l.reason}))
                .collect();
            out.print(&format!("{}\n", serde_json::to_string_pretty(&v)?));
            return Ok(0);
        }
        let mut text = String::new();
        for l in entries {
            let short = |h: Option<Hash>| h.map(|h| h.short(12)).unwrap_or_else(|| "-".repeat(12));
            text.push_str(&format!(
                "{}  {:<24} {} -> {}  {}\n",
                l.time,
                l.name,
                short(l.old),
                out.style.yellow(&short(l.new)),
                l.reason
            ));
        }
        out.print(&text);
        return Ok(0);
    }
    let envs: Vec<String> = match env {
        Some(e) => {
            if !refs.envs.contains_key(e) {
                bail!(
                    "no environment named {e:?} (known: {})",
                    refs.envs.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            vec![e.to_string()]
        }
        None => refs.envs.keys().cloned().collect(),
    };
    // Each environment's history newest first, merged by time (a chain's
    // own order always wins: times can tie within a second).
    let mut chains: Vec<std::collections::VecDeque<(Hash, SnapshotRecord)>> = Vec::new();
    for e in &envs {
        let start = refs.envs.get(e).and_then(|v| v.latest);
        chains.push(history(&store, start, limit)?.into());
    }
    let mut all = Vec::new();
    while all.len() < limit {
        let next = chains
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.front().map(|(_, r)| (i, r.time.clone())))
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((i, _)) = next else { break };
        if let Some(item) = chains[i].pop_front() {
            all.push(item);
        }
    }
    if format == Format::Json {
        let v: Vec<_> = all
            .iter()
            .map(|(id, r)| {
                let mut j = record_json(id, r, &store.tags_of(&refs, id));
                j["good"] = json!(refs.envs.get(&r.env).and_then(|e| e.good) == Some(*id));
                j
            })
            .collect();
        out.print(&format!("{}\n", serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    let mut text = String::new();
    for (id, r) in &all {
        let mut marks = store.tags_of(&refs, id);
        let env_refs = refs.envs.get(&r.env);
        if env_refs.and_then(|e| e.latest) == Some(*id) {
            marks.insert(0, format!("{}@latest", r.env));
        }
        if env_refs.and_then(|e| e.good) == Some(*id) {
            marks.push(out.style.green(&format!("{}@good", r.env)));
        }
        let marks = if marks.is_empty() {
            String::new()
        } else {
            format!(" ({})", marks.join(", "))
        };
        let git = r
            .git
            .as_ref()
            .map(|g| {
                format!(
                    " git {}{}",
                    &g.commit[..g.commit.len().min(10)],
                    if g.dirty { "+dirty" } else { "" }
                )
            })
            .unwrap_or_default();
        text.push_str(&format!(
            "{} {}{marks}\n    {}  env {}  {} resources, {} instances{git}\n",
            out.style.yellow(&id.short(12)),
            if r.message.is_empty() {
                "(no message)"
            } else {
                &r.message
            },
            r.time,
            r.env,
            r.resources,
            r.instances
        ));
        if !r.labels.is_empty() {
            let l: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            text.push_str(&format!("    labels: {}\n", l.join(" ")));
        }
    }
    if all.is_empty() {
        out.note("no snapshots yet");
    }
    out.print(&text);
    Ok(0)
}

pub fn show(g: &Global, out: &Output, reference: &str) -> Result<u8> {
    let format = format_for(g, "show", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let (refs, _) = store.refs()?;
    let id = store.resolve_in(&refs, reference)?;
    let r = store.record(&id)?;
    let (model, _) = store.load_model(&r.model)?;
    let counts = store.model_summary(&model);
    let tags = store.tags_of(&refs, &id);
    let good = refs.envs.get(&r.env).and_then(|e| e.good) == Some(id);
    if format == Format::Json {
        let mut v = record_json(&id, &r, &tags);
        v["good"] = json!(good);
        v["nodes"] = json!(counts);
        v["state"] = json!(model.state.as_ref().map(|s| json!({"path": s.path, "lineage": s.lineage, "serial": s.serial, "terraform_version": s.terraform_version})));
        v["diagnostics"] = json!(model
            .diagnostics
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>());
        out.print(&format!("{}\n", serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    let mut t = String::new();
    t.push_str(&format!("snapshot {}\n", out.style.yellow(&id.to_hex())));
    if !tags.is_empty() {
        t.push_str(&format!("tags:        {}\n", tags.join(", ")));
    }
    t.push_str(&format!(
        "environment: {}{}\n",
        r.env,
        if good { &" (known good)" as &str } else { "" }
    ));
    t.push_str(&format!("time:        {}\n", r.time));
    if !r.message.is_empty() {
        t.push_str(&format!("message:     {}\n", r.message));
    }
    if let Some(p) = r.parent {
        t.push_str(&format!("parent:      {}\n", p.short(12)));
    }
    t.push_str(&format!(
        "source:      {}{}\n",
        r.source,
        if r.root.is_empty() {
            String::new()
        } else {
            format!(" (root module {})", r.root)
        }
    ));
    if let Some(git) = &r.git {
        t.push_str(&format!(
            "git:         {}{}\n",
            git.commit,
            if git.dirty { " (dirty)" } else { "" }
        ));
    }
    for (k, v) in &r.labels {
        t.push_str(&format!("label:       {k}={v}\n"));
    }
    t.push_str(&format!("rewind:      {}\n", r.program_version));
    t.push_str(&format!("files:       {}\n", r.files));
    let c: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    t.push_str(&format!("nodes:       {}\n", c.join(", ")));
    if let Some(s) = &model.state {
        t.push_str(&format!(
            "state:       {} (serial {}, lineage {}, terraform {})\n",
            s.path, s.serial, s.lineage, s.terraform_version
        ));
    }
    out.print(&t);
    Ok(0)
}

pub fn tag(g: &Global, out: &Output, name: &str, reference: &str, force: bool) -> Result<u8> {
    rewind_store::refs::check_name("tag", name)?;
    let store = open_store(g)?;
    let id = store.resolve(reference)?;
    let time = rewind_store::time::now();
    store.update_refs(|refs| {
        if let Some(old) = refs.tags.get(name) {
            if *old == id {
                return Ok(());
            }
            if !force {
                return Err(StoreError::Conflict(format!(
                    "tag {name:?} already names snapshot {}; tags never move unless --force",
                    old.short(12)
                )));
            }
        }
        let old = refs.tags.insert(name.to_string(), id);
        refs.record(
            &time,
            format!("tags/{name}"),
            old,
            Some(id),
            if force { "tag (forced)" } else { "tag" },
        );
        Ok(())
    })?;
    out.note(&format!("tagged {} as {name}", id.short(12)));
    Ok(0)
}

pub fn mark_good(g: &Global, out: &Output, reference: &str, env: &str, force: bool) -> Result<u8> {
    rewind_store::refs::check_name("environment", env)?;
    let store = open_store(g)?;
    let id = store.resolve(reference)?;
    let rec = store.record(&id)?;
    if rec.env != env && !force {
        bail!(
            "snapshot {} was taken for environment {:?}, not {env:?}; use --force to mark it good for {env:?} anyway",
            id.short(12),
            rec.env
        );
    }
    let time = rewind_store::time::now();
    store.update_refs(|refs| {
        let e = refs.envs.entry(env.to_string()).or_default();
        let old = e.good;
        if old == Some(id) {
            return Ok(());
        }
        e.good = Some(id);
        refs.record(
            &time,
            format!("envs/{env}/good"),
            old,
            Some(id),
            "mark-good",
        );
        Ok(())
    })?;
    out.note(&format!("marked {} known-good for {env}", id.short(12)));
    Ok(0)
}

pub fn checkout(g: &Global, out: &Output, reference: &str, dir: &Path, force: bool) -> Result<u8> {
    let store = open_store(g)?;
    let id = store.resolve(reference)?;
    let summary = store
        .checkout(&id, dir, force)
        .with_context(|| format!("checking out {} into {}", id.short(12), dir.display()))?;
    let rec = store.record(&id)?;
    let root = if rec.root.is_empty() {
        String::new()
    } else {
        format!("; the root module is {}", dir.join(&rec.root).display())
    };
    out.note(&format!(
        "checked out {} into {}: {} files, {} bytes{root}",
        id.short(12),
        dir.display(),
        summary.files,
        summary.bytes
    ));
    Ok(0)
}

pub fn verify(g: &Global, out: &Output) -> Result<u8> {
    let format = format_for(g, "verify", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let r = store.verify()?;
    if format == Format::Json {
        out.print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"ok": r.ok(), "problems": r.problems, "notes": r.notes, "packs": r.packs, "objects": r.objects, "snapshots": r.snapshots, "bytes": r.bytes}))?
        ));
    } else {
        for n in &r.notes {
            out.note(&format!("note: {n}"));
        }
        for p in &r.problems {
            eprintln!("{} {p}", out.err_style.red("problem:"));
        }
        let summary = format!(
            "{}: {} packs, {} objects, {} snapshots, {} bytes checked",
            store.describe(),
            r.packs,
            r.objects,
            r.snapshots,
            r.bytes
        );
        if r.ok() {
            out.print(&format!("{summary}: ok\n"));
        } else {
            out.print(&format!(
                "{summary}: {} problem{}\n",
                r.problems.len(),
                if r.problems.len() == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(if r.ok() { 0 } else { 1 })
}

/// Parses `30s`, `10m`, `1h`, `2d` (or plain seconds).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("invalid duration {s:?} (use e.g. 30s, 10m, 1h, 2d)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => bail!("invalid duration {s:?} (use e.g. 30s, 10m, 1h, 2d)"),
    };
    Ok(Duration::from_secs(secs))
}

pub fn gc(g: &Global, out: &Output, grace: &str, dry_run: bool) -> Result<u8> {
    let grace = parse_duration(grace)?;
    let store = open_store(g)?;
    let r = store.gc(grace, dry_run)?;
    let verb = if dry_run { "would remove" } else { "removed" };
    out.print(&format!(
        "{verb} {} snapshot records, {} objects ({} bytes), {} packs{}; {} objects kept\n",
        r.removed_snapshots,
        r.removed_objects,
        r.removed_bytes,
        r.removed_packs,
        if r.written_packs > 0 {
            format!(" (live objects repacked into {} new)", r.written_packs)
        } else {
            String::new()
        },
        r.kept_objects
    ));
    Ok(0)
}

pub fn sync(g: &Global, out: &Output, from: &str, to: &str) -> Result<u8> {
    let format = format_for(g, "sync", &[Format::Text, Format::Json], Format::Text)?;
    let src = Store::open(from).with_context(|| format!("opening the source store {from}"))?;
    let dst = Store::open(to).with_context(|| format!("opening the destination store {to}"))?;
    let r = src.sync_to(&dst)?;
    for w in &r.warnings {
        out.note(&format!("warning: {w}"));
    }
    if format == Format::Json {
        out.print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({"snapshots": r.snapshots, "objects": r.objects, "bytes": r.bytes, "refs": r.refs, "warnings": r.warnings}))?
        ));
    } else {
        out.print(&format!(
            "copied {} snapshots and {} objects ({} bytes) from {} to {}; refs updated: {}\n",
            r.snapshots,
            r.objects,
            r.bytes,
            src.describe(),
            dst.describe(),
            if r.refs.is_empty() {
                "none".to_string()
            } else {
                r.refs.join(", ")
            }
        ));
    }
    Ok(0)
}
