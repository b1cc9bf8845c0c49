//! `rewind log` and `rewind show`.

use std::collections::{BTreeMap, VecDeque};

use anyhow::{bail, Result};
use rewind_model::Model;
use rewind_odb::{Load, LogEntry, Refs, SnapshotId, SnapshotRecord, Store};
use serde_json::json;

use rewind_report::html::{AuditEntry, Page, SnapshotRow};
use rewind_report::style::{indented, one_line};

use crate::cli::{format_for, Format, Global, EXIT_OK};
use crate::output::Output;
use crate::store_cmds::open_store;

/// A snapshot record as JSON (`log`, `show`, `snapshot --format json`).
pub fn record_json(id: &SnapshotId, r: &SnapshotRecord, tags: &[String]) -> serde_json::Value {
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
        "workspace": r.workspace(),
        "inputs": r.inputs.as_ref().map(|i| json!({
            "state": i.state,
            "var_files": i.var_files,
            "vars": i.vars,
            "env_vars": i.env_vars,
            "modules": i.modules,
        })),
    })
}

/// A state's facts as JSON (`null` without one).
pub fn state_json(s: Option<&rewind_model::StateInfo>) -> serde_json::Value {
    json!(s.map(|s| json!({"path": s.path, "lineage": s.lineage, "serial": s.serial, "terraform_version": s.terraform_version})))
}

pub fn log(
    g: &Global,
    out: &Output,
    env: Option<&str>,
    refs_log: bool,
    limit: Option<usize>,
) -> Result<u8> {
    let format = format_for(
        g,
        "log",
        &[Format::Text, Format::Json, Format::Html],
        Format::Text,
    )?;
    let store = open_store(g)?;
    let refs = store.refs()?;
    let limit = limit.unwrap_or(usize::MAX);
    let text = if refs_log {
        let mut entries = store.full_log(&refs)?;
        if let Some(e) = env {
            let prefix = format!("envs/{e}/");
            entries.retain(|l| l.name.starts_with(&prefix));
        }
        entries.reverse();
        entries.truncate(limit);
        ref_log(out, format, &entries)?
    } else {
        let all = snapshots_newest_first(&store, &refs, env, limit)?;
        if all.is_empty() && format != Format::Json {
            out.note("no snapshots yet");
        }
        snapshot_log(out, format, &refs, &all)?
    };
    out.print(&text)?;
    Ok(EXIT_OK)
}

/// Ref-log entries as the HTML report's audit trail.
pub fn audit_entries(entries: &[LogEntry]) -> Vec<AuditEntry> {
    entries
        .iter()
        .map(|l| AuditEntry {
            time: l.time.clone(),
            reference: l.name.clone(),
            old: l.old.map(|h| h.short(12)),
            new: l.new.map(|h| h.short(12)),
            reason: l.reason.clone(),
            who: l.who.as_ref().map(|w| w.to_string()).unwrap_or_default(),
        })
        .collect()
}

/// The ref log, as JSON, HTML or one line per change.
fn ref_log(out: &Output, format: Format, entries: &[LogEntry]) -> Result<String> {
    if format == Format::Json {
        let v: Vec<_> = entries
            .iter()
            .map(|l| json!({"time": l.time, "ref": l.name, "old": l.old.map(|h| h.to_hex()), "new": l.new.map(|h| h.to_hex()), "reason": l.reason, "who": l.who}))
            .collect();
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    if format == Format::Html {
        let mut page = Page::new("rewind log --refs");
        page.audit(&audit_entries(entries));
        return Ok(page.finish());
    }
    let short = |h: Option<SnapshotId>| h.map(|h| h.short(12)).unwrap_or_else(|| "-".repeat(12));
    let mut text = String::new();
    for l in entries {
        let who = l
            .who
            .as_ref()
            .map(|w| format!("  by {}", one_line(&w.to_string())))
            .unwrap_or_default();
        text.push_str(&format!(
            "{}  {:<24} {} -> {}  {}{}\n",
            l.time,
            l.name,
            short(l.old),
            out.style.yellow(&short(l.new)),
            one_line(&l.reason),
            out.style.dim(&who)
        ));
    }
    Ok(text)
}

/// The snapshots of one environment (or all), newest first: each
/// environment's history, merged by time (a chain's own order always
/// wins: times can tie within a second).
fn snapshots_newest_first(
    store: &Store,
    refs: &Refs,
    env: Option<&str>,
    limit: usize,
) -> Result<Vec<(SnapshotId, SnapshotRecord)>> {
    let envs: Vec<String> = match env {
        Some(e) if !refs.envs.contains_key(e) => bail!(
            "no environment named {e:?} (known: {})",
            refs.envs.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        Some(e) => vec![e.to_string()],
        None => refs.envs.keys().cloned().collect(),
    };
    let mut chains: Vec<VecDeque<(SnapshotId, SnapshotRecord)>> = Vec::new();
    for e in &envs {
        let start = refs.envs.get(e).and_then(|v| v.latest);
        chains.push(store.history(start, limit)?.into());
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
    Ok(all)
}

fn is_good(refs: &Refs, id: &SnapshotId, r: &SnapshotRecord) -> bool {
    refs.envs.get(&r.env).and_then(|e| e.good) == Some(*id)
}

/// Snapshots as JSON or two or three lines each.
fn snapshot_log(
    out: &Output,
    format: Format,
    refs: &Refs,
    all: &[(SnapshotId, SnapshotRecord)],
) -> Result<String> {
    if format == Format::Json {
        let v: Vec<_> = all
            .iter()
            .map(|(id, r)| {
                let mut j = record_json(id, r, &refs.tags_of(id));
                j["good"] = json!(is_good(refs, id, r));
                j
            })
            .collect();
        return Ok(format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    if format == Format::Html {
        let mut page = Page::new("rewind log");
        page.snapshots("Snapshots, newest first", &snapshot_rows(refs, all));
        return Ok(page.finish());
    }
    Ok(all
        .iter()
        .map(|(id, r)| snapshot_lines(out, refs, id, r))
        .collect())
}

/// Snapshots as rows of the HTML report.
pub fn snapshot_rows(refs: &Refs, all: &[(SnapshotId, SnapshotRecord)]) -> Vec<SnapshotRow> {
    all.iter()
        .map(|(id, r)| {
            let mut marks = refs.tags_of(id);
            if refs.envs.get(&r.env).and_then(|e| e.latest) == Some(*id) {
                marks.insert(0, format!("{}@latest", r.env));
            }
            if is_good(refs, id, r) {
                marks.push(format!("{}@good", r.env));
            }
            let mut details: Vec<String> =
                r.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if let Some(g) = &r.git {
                details.push(format!(
                    "git {}{}",
                    &g.commit[..g.commit.len().min(10)],
                    if g.dirty { "+dirty" } else { "" }
                ));
            }
            SnapshotRow {
                id: id.short(12),
                marks,
                env: r.env.clone(),
                time: r.time.clone(),
                message: r.message.clone(),
                details,
                resources: r.resources,
                instances: r.instances,
            }
        })
        .collect()
}

/// One snapshot in `log`: its id, message and marks, then when, where and
/// what, then its labels.
fn snapshot_lines(out: &Output, refs: &Refs, id: &SnapshotId, r: &SnapshotRecord) -> String {
    let mut marks = refs.tags_of(id);
    if refs.envs.get(&r.env).and_then(|e| e.latest) == Some(*id) {
        marks.insert(0, format!("{}@latest", r.env));
    }
    if is_good(refs, id, r) {
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
    let mut text = format!(
        "{} {}{marks}\n    {}  env {}  {} resources, {} instances{git}\n",
        out.style.yellow(&id.short(12)),
        if r.message.is_empty() {
            "(no message)".into()
        } else {
            one_line(&r.message)
        },
        r.time,
        r.env,
        r.resources,
        r.instances
    );
    if !r.labels.is_empty() {
        let l: Vec<String> = r
            .labels
            .iter()
            .map(|(k, v)| one_line(&format!("{k}={v}")).into_owned())
            .collect();
        text.push_str(&format!("    labels: {}\n", l.join(" ")));
    }
    text
}

/// How many nodes of each kind a model has (instances counted apart).
fn node_counts(model: &Model) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for n in &model.nodes {
        *m.entry(n.kind.as_str()).or_insert(0) += 1;
    }
    if !model.instances.is_empty() {
        m.insert("instance", model.instances.len());
    }
    m
}

/// What `show` says of one snapshot.
struct Shown {
    id: SnapshotId,
    record: SnapshotRecord,
    model: Model,
    tags: Vec<String>,
    good: bool,
    /// The lineage of the parent's state, when it differs.
    lineage_changed: Option<String>,
}

pub fn show(g: &Global, out: &Output, reference: &str) -> Result<u8> {
    let format = format_for(
        g,
        "show",
        &[Format::Text, Format::Json, Format::Html],
        Format::Text,
    )?;
    let store = open_store(g)?;
    let refs = store.refs()?;
    let id = store.resolve_in(&refs, reference)?;
    out.ref_note(&store, reference);
    let record = store.record(&id)?;
    let (model, _) = store.load_model(&record.model, Load::Full)?;
    let lineage_changed = match (&model.state, record.parent) {
        (Some(now), Some(p)) => store
            .model_state(&store.record(&p)?.model)?
            .filter(|prev| !prev.lineage.is_empty() && prev.lineage != now.lineage)
            .map(|prev| prev.lineage),
        _ => None,
    };
    let s = Shown {
        lineage_changed,
        id,
        good: is_good(&refs, &id, &record),
        tags: refs.tags_of(&id),
        record,
        model,
    };
    let text = match format {
        Format::Json => show_json(&s)?,
        Format::Html => show_html(&store, &refs, &s)?,
        _ => show_text(out, &s),
    };
    out.print(&text)?;
    Ok(EXIT_OK)
}

fn show_json(s: &Shown) -> Result<String> {
    let mut v = record_json(&s.id, &s.record, &s.tags);
    v["good"] = json!(s.good);
    v["nodes"] = json!(node_counts(&s.model));
    v["state"] = state_json(s.model.state.as_ref());
    v["lineage_changed_from"] = json!(s.lineage_changed);
    v["diagnostics"] = json!(s
        .model
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>());
    Ok(format!("{}\n", serde_json::to_string_pretty(&v)?))
}

/// `show --format html`: the record, then the ref changes that named this
/// snapshot (who tagged it and who marked it good, and why).
fn show_html(store: &Store, refs: &Refs, s: &Shown) -> Result<String> {
    let plain = Output {
        style: Default::default(),
        err_style: Default::default(),
        quiet: true,
    };
    let rows: Vec<(String, String)> = show_text(&plain, s)
        .lines()
        .filter_map(|l| {
            if let Some(id) = l.strip_prefix("snapshot ") {
                return Some(("snapshot".to_string(), id.to_string()));
            }
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut page = Page::new(&format!("rewind snapshot {}", s.id.short(12)));
    page.fields("Snapshot", &rows);
    let named: Vec<LogEntry> = store
        .full_log(refs)?
        .into_iter()
        .filter(|l| l.new == Some(s.id) || l.old == Some(s.id))
        .collect();
    page.audit(&audit_entries(&named));
    Ok(page.finish())
}

fn show_text(out: &Output, s: &Shown) -> String {
    let r = &s.record;
    let mut t = String::new();
    t.push_str(&format!("snapshot {}\n", out.style.yellow(&s.id.to_hex())));
    if !s.tags.is_empty() {
        t.push_str(&format!("tags:        {}\n", s.tags.join(", ")));
    }
    t.push_str(&format!(
        "environment: {}{}\n",
        r.env,
        if s.good { " (known good)" } else { "" }
    ));
    t.push_str(&format!("time:        {}\n", r.time));
    if !r.message.is_empty() {
        t.push_str(&format!("message:     {}\n", indented(&r.message, 13)));
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
        t.push_str(&format!("label:       {}\n", one_line(&format!("{k}={v}"))));
    }
    t.push_str(&format!("workspace:   {}\n", r.workspace()));
    if let Some(i) = &r.inputs {
        if let Some(st) = &i.state {
            t.push_str(&format!("--state:     {st}\n"));
        }
        for f in &i.var_files {
            t.push_str(&format!("--var-file:  {f}\n"));
        }
        if !i.vars.is_empty() {
            t.push_str(&format!("--var:       {}\n", i.vars.join(", ")));
        }
        if !i.env_vars.is_empty() {
            t.push_str(&format!("TF_VAR_:     {}\n", i.env_vars.join(", ")));
        }
        if let Some(m) = &i.modules {
            t.push_str(&format!("--modules:   {m}\n"));
        }
    }
    t.push_str(&format!("rewind:      {}\n", r.program_version));
    t.push_str(&format!("files:       {}\n", r.files));
    let c: Vec<String> = node_counts(&s.model)
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    t.push_str(&format!("nodes:       {}\n", c.join(", ")));
    if let Some(st) = &s.model.state {
        t.push_str(&format!(
            "state:       {} (serial {}, lineage {}, terraform {})\n",
            st.path, st.serial, st.lineage, st.terraform_version
        ));
    }
    if let Some(old) = &s.lineage_changed {
        t.push_str(&format!(
            "             {}\n",
            out.style.yellow(&format!(
                "lineage changed: the environment's previous snapshot had lineage {old}"
            ))
        ));
    }
    t
}
