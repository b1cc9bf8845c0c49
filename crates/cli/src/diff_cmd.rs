//! `rewind diff A B`.

use std::collections::BTreeMap;

use anyhow::Result;
use rewind_diff::{ChangeKind, Diff, NodeChange};
use rewind_model::Hash;
use rewind_report::diff::{DiffReport, FileChange, SideInfo};
use rewind_store::Store;

use crate::cli::{format_for, DiffArgs, Format, Global, Only};
use crate::output::Output;
use crate::sides::{load_side, Side};

/// `*` matches any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

fn keep(c: &NodeChange, a: &DiffArgs) -> bool {
    if !a.types.is_empty() && !a.types.iter().any(|t| *t == c.type_) {
        return false;
    }
    if !a.addresses.is_empty() && !a.addresses.iter().any(|p| glob(p, &c.address)) {
        return false;
    }
    match a.only {
        None => true,
        Some(Only::Destroys) => matches!(c.change, ChangeKind::Removed) || c.is_replacement(),
        Some(Only::Creates) => matches!(c.change, ChangeKind::Added),
        Some(Only::Changes) => matches!(c.change, ChangeKind::Changed) && !c.is_replacement(),
        Some(Only::Replacements) => c.is_replacement(),
        Some(Only::Moves) => matches!(c.change, ChangeKind::Moved { .. }),
    }
}

pub fn filter(diff: &mut Diff, a: &DiffArgs) {
    diff.config.retain(|c| keep(c, a));
    diff.instances.retain(|c| keep(c, a));
}

fn info(s: &Side) -> SideInfo {
    SideInfo {
        label: s.label.clone(),
        id: s.id.map(|h| h.to_hex()),
        tags: s.tags.clone(),
    }
}

/// `path` (relative to the snapshot base) seen from the root module's
/// directory `root`: `env/prod/main.tf` → `main.tf`, `modules/x/a.tf` →
/// `../../modules/x/a.tf`.
pub fn from_root(path: &str, root: &str) -> String {
    if root.is_empty() {
        return path.to_string();
    }
    let r: Vec<&str> = root.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    let common = r.iter().zip(&p).take_while(|(a, b)| a == b).count();
    let mut out: Vec<&str> = vec![".."; r.len() - common];
    out.extend(&p[common..]);
    out.join("/")
}

/// Where a file's bytes come from.
enum Source {
    Disk(std::path::PathBuf),
    Blob(Hash),
}

/// The files of a side, by path relative to its root module.
fn side_files(side: &Side, store: &Option<Store>) -> Result<BTreeMap<String, (Hash, Source)>> {
    let mut out = BTreeMap::new();
    if side.dir.is_some() {
        for (path, hash, abs) in &side.files {
            out.insert(
                from_root(path, &side.root),
                (*hash, Source::Disk(abs.clone())),
            );
        }
    } else if let (Some(rec), Some(st)) = (&side.record, store) {
        for f in st.tree_files(&rec.tree)? {
            out.insert(from_root(&f.path, &rec.root), (f.id, Source::Blob(f.id)));
        }
    }
    Ok(out)
}

fn read_source(src: &Source, store: &Option<Store>) -> Result<Vec<u8>> {
    match (src, store) {
        (Source::Disk(p), _) => Ok(std::fs::read(p)?),
        (Source::Blob(id), Some(st)) => Ok(st.blobs(&[*id])?.remove(0)),
        (Source::Blob(_), None) => Ok(Vec::new()),
    }
}

/// Files whose text may hold secrets: shown only with --show-sensitive.
fn secret_file(path: &str) -> bool {
    path.ends_with(".tfstate") || path.ends_with(".tfvars") || path.ends_with(".tfvars.json")
}

/// The literal secret values of a model (at its sensitive paths), to be
/// blanked out of file text.
pub fn secrets(model: &rewind_model::Model) -> Vec<String> {
    fn strings(v: &rewind_model::Value, out: &mut Vec<String>) {
        match v {
            rewind_model::Value::String(s) | rewind_model::Value::Number(s)
                if s.chars().count() >= 3 =>
            {
                out.push(s.clone())
            }
            rewind_model::Value::List(l) => l.iter().for_each(|x| strings(x, out)),
            rewind_model::Value::Map(m) => m.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for n in model.nodes.iter().chain(&model.instances) {
        for p in &n.sensitive {
            if let Some(v) = n.body.at(p) {
                strings(v, &mut out);
            }
        }
    }
    // longest first, so a secret that contains another is blanked whole
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    out.dedup();
    out
}

fn redact(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_string();
    for s in secrets {
        if t.contains(s.as_str()) {
            t = t.replace(s.as_str(), "(sensitive)");
        }
    }
    t
}

fn file_changes(
    a: &Side,
    b: &Side,
    store: &Option<Store>,
    show_sensitive: bool,
    secret_values: &[String],
) -> Result<Vec<FileChange>> {
    let fa = side_files(a, store)?;
    let fb = side_files(b, store)?;
    let mut out = Vec::new();
    let paths: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for p in paths {
        let (x, y) = (fa.get(p), fb.get(p));
        if x.map(|v| v.0) == y.map(|v| v.0) {
            continue;
        }
        let change = match (x, y) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "modified",
        };
        if secret_file(p) && !show_sensitive {
            out.push(FileChange {
                path: p.clone(),
                change,
                diff: None,
                note: Some(
                    "contents hidden: this file may hold secrets (use --show-sensitive)".into(),
                ),
            });
            continue;
        }
        let old = match x {
            Some((_, src)) => read_source(src, store)?,
            None => Vec::new(),
        };
        let new = match y {
            Some((_, src)) => read_source(src, store)?,
            None => Vec::new(),
        };
        match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
            (Ok(o), Ok(n)) => {
                let d = similar::TextDiff::from_lines(o, n);
                let mut text = d
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{p}"), &format!("b/{p}"))
                    .to_string();
                if !show_sensitive {
                    text = redact(&text, secret_values);
                }
                out.push(FileChange {
                    path: p.clone(),
                    change,
                    diff: Some(text),
                    note: None,
                });
            }
            _ => out.push(FileChange {
                path: p.clone(),
                change,
                diff: None,
                note: Some("binary or not UTF-8".into()),
            }),
        }
    }
    Ok(out)
}

pub fn run(g: &Global, a: &DiffArgs, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "diff",
        &[Format::Text, Format::Json, Format::Markdown],
        Format::Text,
    )?;
    let mut store = None;
    let from = load_side_lazy(g, &a.from, &mut store, out)?;
    let to = load_side_lazy(g, &a.to, &mut store, out)?;
    let opts = rewind_diff::Options {
        show_sensitive: a.show_sensitive,
    };
    let (from_model, to_model) = (from.lazy, to.lazy);
    let mut diff = match (&from.lazy, &to.lazy, &store) {
        // Both snapshots: read only what differs.
        (Some(ma), Some(mb), Some(st)) => {
            let (pa, pb) = st.changed_parts(ma, mb)?;
            rewind_diff::diff(&pa, &pb, &opts)
        }
        _ => {
            let fa = materialize(from.side.as_ref(), &from.lazy, &store)?;
            let fb = materialize(to.side.as_ref(), &to.lazy, &store)?;
            rewind_diff::diff(&fa, &fb, &opts)
        }
    };
    filter(&mut diff, a);
    let (sa, sb) = (from.side.unwrap_or_default(), to.side.unwrap_or_default());
    let files = if a.files {
        // secrets of both sides are blanked out of the file text
        let mut secret_values = Vec::new();
        for (side, lazy) in [(&sa, &from_model), (&sb, &to_model)] {
            let m = materialize(Some(side), lazy, &store)?;
            secret_values.extend(secrets(&m));
        }
        secret_values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        secret_values.dedup();
        Some(file_changes(
            &sa,
            &sb,
            &store,
            a.show_sensitive,
            &secret_values,
        )?)
    } else {
        None
    };
    let report = DiffReport {
        from: info(&sa),
        to: info(&sb),
        diff: &diff,
        files,
    };
    let text = match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&rewind_report::diff::json(&report))?
        ),
        Format::Markdown => rewind_report::diff::markdown(&report),
        _ if a.stat => rewind_report::diff::stat(&report, &out.style),
        _ => rewind_report::diff::text(&report, &out.style),
    };
    out.print(&text);
    let files_changed = report.files.as_ref().is_some_and(|f| !f.is_empty());
    Ok(if diff.is_empty() && !files_changed {
        0
    } else {
        2
    })
}

/// A side whose model may stay in the store until needed.
struct Lazy {
    side: Option<Side>,
    /// The model id, for snapshot sides.
    lazy: Option<Hash>,
}

fn load_side_lazy(g: &Global, spec: &str, store: &mut Option<Store>, out: &Output) -> Result<Lazy> {
    let side = load_side(g, spec, store, out, None)?;
    let lazy = side.record.as_ref().map(|r| r.model);
    Ok(Lazy {
        side: Some(side),
        lazy,
    })
}

fn materialize(
    side: Option<&Side>,
    lazy: &Option<Hash>,
    store: &Option<Store>,
) -> Result<rewind_model::Model> {
    let side = side.ok_or_else(|| anyhow::anyhow!("missing side"))?;
    if side.dir.is_some() {
        return Ok(side.model.clone());
    }
    match (lazy, store) {
        (Some(m), Some(st)) => Ok(st.load_model(m)?.0),
        _ => Ok(side.model.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("module.net.*", "module.net.aws_subnet.a"));
        assert!(!glob("module.net.*", "module.network.aws_vpc.x"));
        assert!(glob("*aws_db_instance*", "module.db.aws_db_instance.main"));
        assert!(glob("aws_instance.web[?]", "aws_instance.web[0]"));
    }
}
