//! The changed files of two versions (`diff --files`), with secrets
//! blanked out of their text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rewind_diff::{unified_diff, FileChange};
use rewind_model::{Model, Value};
use rewind_odb::ObjectId;

use crate::diff::Opened;
use crate::error::{Error, Result};

/// Where a file's bytes come from.
enum Source {
    Disk(PathBuf),
    Blob(ObjectId),
}

/// The changed files of two versions, by path relative to each root
/// module. Files that may hold secrets (state and variable files) are
/// listed without their text unless `show_sensitive`; elsewhere the
/// secret values of both models are blanked out.
pub(crate) fn file_changes(
    a: &Opened,
    b: &Opened,
    show_sensitive: bool,
) -> Result<Vec<FileChange>> {
    // secrets of both sides are blanked out of the file text
    let mut secret_values = secrets(&*a.model()?);
    secret_values.extend(secrets(&*b.model()?));
    sort_secrets(&mut secret_values);
    let fa = side_files(a)?;
    let fb = side_files(b)?;
    let mut out = Vec::new();
    let paths: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
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
        let old = read(x.map(|v| &v.1), a)?;
        let new = read(y.map(|v| &v.1), b)?;
        let (diff, note) = match (std::str::from_utf8(&old), std::str::from_utf8(&new)) {
            (Ok(o), Ok(n)) => {
                let text = unified_diff(p, o, n);
                let text = if show_sensitive {
                    text
                } else {
                    redact(&text, &secret_values)
                };
                (Some(text), None)
            }
            _ => (None, Some("binary or not UTF-8".into())),
        };
        out.push(FileChange {
            path: p.clone(),
            change,
            diff,
            note,
        });
    }
    Ok(out)
}

/// The files of a version, by path relative to its root module.
fn side_files(side: &Opened) -> Result<BTreeMap<String, (ObjectId, Source)>> {
    let mut out = BTreeMap::new();
    match side {
        Opened::Dir(l) => {
            for (path, hash, abs) in &l.files {
                if path.ends_with(rewind_parse::inputs::EXTERNAL_STATE_FILE) && !abs.exists() {
                    // a state given with --state: not a file of the directory
                    continue;
                }
                let id = ObjectId::from(*hash);
                out.insert(from_root(path, &l.root), (id, Source::Disk(abs.clone())));
            }
        }
        Opened::Snapshot(s) => {
            let rec = s.store.record(&s.id)?;
            for f in s.store.tree_files(&rec.tree)? {
                out.insert(from_root(&f.path, &rec.root), (f.id, Source::Blob(f.id)));
            }
        }
    }
    Ok(out)
}

/// A file's bytes (none for an absent file).
fn read(src: Option<&Source>, side: &Opened) -> Result<Vec<u8>> {
    match (src, side) {
        (None, _) => Ok(Vec::new()),
        (Some(Source::Disk(p)), _) => std::fs::read(p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        }),
        (Some(Source::Blob(id)), Opened::Snapshot(s)) => {
            Ok(s.store.get_many(&[*id])?.pop().unwrap_or_default())
        }
        (Some(Source::Blob(_)), Opened::Dir(_)) => Ok(Vec::new()),
    }
}

/// `path` (relative to the snapshot base) seen from the root module's
/// directory `root`: `env/prod/main.tf` → `main.tf`, `modules/x/a.tf` →
/// `../../modules/x/a.tf`.
fn from_root(path: &str, root: &str) -> String {
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

/// Files whose text may hold secrets: shown only with --show-sensitive.
fn secret_file(path: &str) -> bool {
    path.ends_with(".tfstate") || path.ends_with(".tfvars") || path.ends_with(".tfvars.json")
}

/// The literal secret values of a model (at its sensitive paths), to be
/// blanked out of file text.
fn secrets(model: &Model) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) | Value::Number(s) if s.chars().count() >= 3 => out.push(s.clone()),
            Value::List(l) => l.iter().for_each(|x| strings(x, out)),
            Value::Map(m) => m.values().for_each(|x| strings(x, out)),
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
    sort_secrets(&mut out);
    out
}

/// Longest first, so a secret that contains another is blanked whole.
fn sort_secrets(secrets: &mut Vec<String>) {
    secrets.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    secrets.dedup();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_seen_from_the_root_module() {
        assert_eq!(from_root("env/prod/main.tf", "env/prod"), "main.tf");
        assert_eq!(
            from_root("modules/x/a.tf", "env/prod"),
            "../../modules/x/a.tf"
        );
        assert_eq!(from_root("main.tf", ""), "main.tf");
    }

    #[test]
    fn longer_secrets_are_blanked_first() {
        let mut s = vec!["abc".to_string(), "abcdef".to_string(), "abc".to_string()];
        sort_secrets(&mut s);
        assert_eq!(s, vec!["abcdef", "abc"]);
        assert_eq!(redact("x=abcdef y=abc", &s), "x=(sensitive) y=(sensitive)");
    }
}
