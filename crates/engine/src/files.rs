//! The changed files of two versions (`diff --files`), with secrets
//! blanked out of their text.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rewind_diff::{unified_diff, FileChange};
use rewind_model::{Model, Node, Value};
use rewind_odb::ObjectId;
use rewind_parse::redact::{redact, secret_ranges, REDACTED};

use crate::diff::Opened;
use crate::error::{Error, Result};
use crate::links::Placed;

/// Where a file's bytes come from.
enum Source {
    Disk(PathBuf),
    Blob(ObjectId),
    /// A symbolic link to this target (compared as the text
    /// `symbolic link to TARGET`).
    Link(String),
}

/// The changed files of two versions, by path relative to each root
/// module. Unless `show_sensitive`, the values the parser knows to be
/// secret are redacted from both versions of a file's text before the two
/// are compared (state files, whose values cannot be told apart, are
/// listed without their text).
pub(crate) fn file_changes(
    a: &Opened,
    b: &Opened,
    show_sensitive: bool,
) -> Result<Vec<FileChange>> {
    let (model_a, model_b) = (a.model()?, b.model()?);
    // a last line of defence: secret values long enough not to match by
    // chance, wherever they still show after the structural redaction
    let mut secret_values = secrets(&model_a);
    secret_values.extend(secrets(&model_b));
    sort_secrets(&mut secret_values);
    // a directory's files get the ids the store of the other side gives
    // them (keyed in an encrypted store), so equal contents compare equal
    let store = [a, b].into_iter().find_map(|s| match s {
        Opened::Snapshot(v) => Some(v.store),
        Opened::Dir(_) => None,
    });
    let fa = side_files(a, store)?;
    let fb = side_files(b, store)?;
    let mut out = Vec::new();
    let paths: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    for p in paths {
        let (x, y) = (fa.get(p), fb.get(p));
        if x.map(|v| v.id) == y.map(|v| v.id) {
            continue;
        }
        let change = match (x, y) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            _ => "modified",
        };
        let old = read(x.map(|v| &v.source), a)?;
        let new = read(y.map(|v| &v.source), b)?;
        let (Ok(o), Ok(n)) = (std::str::from_utf8(&old), std::str::from_utf8(&new)) else {
            out.push(FileChange {
                path: p.clone(),
                change,
                diff: None,
                note: Some("binary or not UTF-8".into()),
            });
            continue;
        };
        if show_sensitive {
            out.push(FileChange {
                path: p.clone(),
                change,
                diff: Some(unified_diff(p, o, n)),
                note: None,
            });
            continue;
        }
        let hidden = |text: &str, file: Option<&SideFile>, model: &Model| match file {
            None => Some(String::new()),
            Some(f) if matches!(f.source, Source::Link(_)) => Some(text.to_string()),
            Some(f) => {
                let nodes: Vec<&Node> = model
                    .nodes
                    .iter()
                    .filter(|n| n.loc.file == f.base_path)
                    .collect();
                secret_ranges(&f.base_path, text, &nodes).map(|r| redact(text, &r))
            }
        };
        let (Some(ro), Some(rn)) = (hidden(o, x, &model_a), hidden(n, y, &model_b)) else {
            out.push(FileChange {
                path: p.clone(),
                change,
                diff: None,
                note: Some(
                    "contents hidden: this file may hold secrets (use --show-sensitive)".into(),
                ),
            });
            continue;
        };
        let (diff, note) = if ro == rn {
            (None, Some("only sensitive values changed".to_string()))
        } else {
            (
                Some(redact_values(&unified_diff(p, &ro, &rn), &secret_values)),
                None,
            )
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

/// A file of one side.
struct SideFile {
    id: ObjectId,
    source: Source,
    /// Its path relative to the snapshot base (as in [`rewind_model::Loc`]).
    base_path: String,
}

/// The files (and links) of a version as its snapshot's tree holds them,
/// by path relative to its root module; a directory's files named as
/// `store` would name them.
fn side_files(
    side: &Opened,
    store: Option<&rewind_odb::Store>,
) -> Result<BTreeMap<String, SideFile>> {
    let id_of = |hash: rewind_model::Hash| match store {
        Some(s) => s.object_id_of_hash(hash),
        None => ObjectId::from(hash),
    };
    let mut out = BTreeMap::new();
    match side {
        Opened::Dir(l) => {
            let base = l.dir.as_ref().map(|(_, base)| base.as_path());
            let files: Vec<&(String, rewind_model::Hash, PathBuf)> = l
                .files
                .iter()
                // a state given with --state: not a file of the directory
                .filter(|(path, _, abs)| {
                    !path.ends_with(rewind_parse::inputs::EXTERNAL_STATE_FILE) || abs.exists()
                })
                .collect();
            let entries = crate::links::tree_entries(
                base.unwrap_or(std::path::Path::new(".")),
                files.iter().map(|(path, _, _)| path.as_str()),
            )?;
            for (path, placed) in entries {
                let file = match placed {
                    Placed::File(i) => {
                        let (read_as, hash, abs) = files[i];
                        SideFile {
                            id: id_of(*hash),
                            source: Source::Disk(abs.clone()),
                            base_path: read_as.clone(),
                        }
                    }
                    Placed::Link(target) => SideFile {
                        id: id_of(rewind_model::Hash::of(target.as_bytes())),
                        source: Source::Link(target),
                        base_path: path.clone(),
                    },
                };
                out.insert(from_root(&path, &l.root), file);
            }
        }
        Opened::Snapshot(s) => {
            let rec = s.store.record(&s.id)?;
            let files = s.store.tree_files(&rec.tree)?;
            let links = s.store.link_targets(&files)?;
            // the path each file was read at, which the model's locations
            // name (a file read through a link is stored at its own path)
            let mut read_as: BTreeMap<String, String> = BTreeMap::new();
            if !links.is_empty() {
                let model = side.model()?;
                let named: BTreeSet<&str> =
                    model.nodes.iter().map(|n| n.loc.file.as_str()).collect();
                for file in named {
                    let real = rewind_odb::resolve_links(file, |p| {
                        Ok::<_, std::convert::Infallible>(
                            links.get(p).map(|t| t.clone().into_bytes()),
                        )
                    });
                    if let Ok(rewind_odb::Resolved::Inside(real)) = real {
                        if real != file {
                            read_as.insert(real, file.to_string());
                        }
                    }
                }
            }
            for f in files {
                let source = match links.get(&f.path) {
                    Some(target) => Source::Link(target.clone()),
                    None => Source::Blob(f.id),
                };
                let file = SideFile {
                    id: f.id,
                    source,
                    base_path: read_as.remove(&f.path).unwrap_or_else(|| f.path.clone()),
                };
                out.insert(from_root(&f.path, &rec.root), file);
            }
        }
    }
    Ok(out)
}

/// A file's bytes (none for an absent file).
fn read(src: Option<&Source>, side: &Opened) -> Result<Vec<u8>> {
    match (src, side) {
        (None, _) => Ok(Vec::new()),
        (Some(Source::Disk(p)), _) => {
            rewind_parse::read_regular(p, 0).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })
        }
        (Some(Source::Blob(id)), Opened::Snapshot(s)) => {
            Ok(s.store.get_many(&[*id])?.pop().unwrap_or_default())
        }
        (Some(Source::Blob(_)), Opened::Dir(_)) => Ok(Vec::new()),
        (Some(Source::Link(target)), _) => Ok(format!("symbolic link to {target}\n").into_bytes()),
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

/// The literal secret values of a model (at its sensitive paths), to be
/// blanked out of file text.
fn secrets(model: &Model) -> Vec<String> {
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.chars().count() >= MIN_SECRET_LEN => out.push(s.clone()),
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

/// Secrets shorter than this are left to the structural redaction: a short
/// value (`admin`, `string`) would match unrelated text.
const MIN_SECRET_LEN: usize = 8;

fn redact_values(text: &str, secrets: &[String]) -> String {
    let mut t = text.to_string();
    for s in secrets {
        if t.contains(s.as_str()) {
            t = t.replace(s.as_str(), REDACTED);
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
        let mut s = vec![
            "abcdefgh".to_string(),
            "abcdefghijk".to_string(),
            "abcdefgh".to_string(),
        ];
        sort_secrets(&mut s);
        assert_eq!(s, vec!["abcdefghijk", "abcdefgh"]);
        assert_eq!(
            redact_values("x=abcdefghijk y=abcdefgh", &s),
            "x=(sensitive) y=(sensitive)"
        );
    }
}
