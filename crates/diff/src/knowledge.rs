//! What rewind knows about provider resources without their schemas:
//! which attribute changes force a replacement ("Forces new resource" in
//! the providers' documentation), and which resource types hold data that
//! a delete or a replacement destroys. The tables are JSON files in
//! `crates/diff/data/`, with their sources.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::attrs::AttrChange;
use rewind_model::PathStep;

struct ForceNew {
    paths: HashSet<String>,
    conditional: HashMap<String, String>,
}

fn force_new() -> &'static HashMap<String, ForceNew> {
    static TABLE: OnceLock<HashMap<String, ForceNew>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../data/force_new.json")).unwrap_or_default();
        let mut out = HashMap::new();
        if let Some(resources) = doc.get("resources").and_then(|r| r.as_object()) {
            for (ty, entry) in resources {
                let paths = entry
                    .get("force_new")
                    .and_then(|f| f.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let conditional = entry
                    .get("conditional")
                    .and_then(|c| c.as_object())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(ty.clone(), ForceNew { paths, conditional });
            }
        }
        out
    })
}

/// A data-bearing resource type: what it holds and how bad losing it is.
#[derive(Clone, Debug)]
pub struct DataBearing {
    pub holds: String,
    pub severity: String,
}

fn data_bearing_table() -> &'static HashMap<String, DataBearing> {
    static TABLE: OnceLock<HashMap<String, DataBearing>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../data/data_bearing.json")).unwrap_or_default();
        let mut out = HashMap::new();
        if let Some(resources) = doc.get("resources").and_then(|r| r.as_object()) {
            for (ty, entry) in resources {
                out.insert(
                    ty.clone(),
                    DataBearing {
                        holds: entry
                            .get("holds")
                            .and_then(|h| h.as_str())
                            .unwrap_or("data")
                            .to_string(),
                        severity: entry
                            .get("severity")
                            .and_then(|h| h.as_str())
                            .unwrap_or("high")
                            .to_string(),
                    },
                );
            }
        }
        out
    })
}

/// The data a resource type holds, if deleting it loses data.
pub fn data_bearing(type_: &str) -> Option<&'static DataBearing> {
    data_bearing_table().get(type_)
}

/// Is `type_` in the force-new table at all?
pub fn knows(type_: &str) -> bool {
    type_ == "terraform_data" || force_new().contains_key(type_)
}

/// A changed attribute path without list indexes (`ingress.cidr_blocks`).
fn schema_path(steps: &[PathStep]) -> String {
    let mut s = String::new();
    for st in steps {
        if let PathStep::Key(k) = st {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
    }
    s
}

/// Meta-arguments never force a replacement by themselves.
const META: &[&str] = &[
    "count",
    "for_each",
    "provider",
    "depends_on",
    "lifecycle",
    "provisioner",
    "connection",
];

/// Which of `changes` force a replacement of a resource of `type_`
/// (schema-style paths).
pub fn forcing_paths(type_: &str, changes: &[AttrChange]) -> Vec<String> {
    let mut out = Vec::new();
    if type_ == "terraform_data" {
        for c in changes {
            if matches!(c.path.0.first(), Some(PathStep::Key(k)) if k == "triggers_replace") {
                out.push("triggers_replace".to_string());
            }
        }
        out.dedup();
        return out;
    }
    let Some(table) = force_new().get(type_) else {
        return out;
    };
    for c in changes {
        if matches!(c.path.0.first(), Some(PathStep::Key(k)) if META.contains(&k.as_str())) {
            continue;
        }
        // The exact attribute (or, for a whole block element added or
        // removed, the block) is listed; a change inside a block forces only
        // if that nested attribute is listed itself.
        let full = schema_path(&c.path.0);
        let hit = if table.paths.contains(&full) {
            Some(full.clone())
        } else {
            // a nested value of a listed plain attribute (tags-like maps,
            // lists of strings): the attribute itself changed
            let mut found = None;
            let mut prefix = String::new();
            for st in &c.path.0 {
                if let PathStep::Key(k) = st {
                    if !prefix.is_empty() {
                        prefix.push('.');
                    }
                    prefix.push_str(k);
                    if prefix != full && table.paths.contains(&prefix) && !is_block(table, &prefix)
                    {
                        found = Some(prefix.clone());
                        break;
                    }
                }
            }
            found
        };
        if let Some(h) = hit {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// A listed path is a block when nested paths under it are listed too.
fn is_block(table: &ForceNew, path: &str) -> bool {
    let prefix = format!("{path}.");
    table.paths.iter().any(|p| p.starts_with(&prefix))
}

/// Attributes that force a replacement only under a condition (for notes).
pub fn conditional_note(type_: &str, path: &str) -> Option<&'static str> {
    force_new()
        .get(type_)?
        .conditional
        .get(path)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::AttrOp;
    use rewind_model::{Path, Value};

    fn change(path: Path, op: AttrOp) -> AttrChange {
        AttrChange {
            path,
            op,
            before: Some(Value::str("a")),
            after: Some(Value::str("b")),
            sensitive: false,
        }
    }

    #[test]
    fn tables_load_and_answer() {
        assert!(knows("aws_instance"));
        assert!(knows("google_compute_instance"));
        assert!(knows("azurerm_linux_virtual_machine"));
        let ami = change(Path::root().key("ami"), AttrOp::Modify);
        assert_eq!(forcing_paths("aws_instance", &[ami]), vec!["ami"]);
        let it = change(Path::root().key("instance_type"), AttrOp::Modify);
        assert!(forcing_paths("aws_instance", &[it]).is_empty());
        let tags = change(Path::root().key("tags").key("Name"), AttrOp::Modify);
        assert!(forcing_paths("aws_instance", &[tags]).is_empty());
        let trig = change(
            Path::root().key("triggers_replace").index(0),
            AttrOp::Modify,
        );
        assert_eq!(
            forcing_paths("terraform_data", &[trig]),
            vec!["triggers_replace"]
        );
        let input = change(Path::root().key("input"), AttrOp::Modify);
        assert!(forcing_paths("terraform_data", &[input]).is_empty());
        assert_eq!(
            data_bearing("aws_db_instance").map(|d| d.severity.as_str()),
            Some("high")
        );
        assert!(data_bearing("aws_instance").is_none());
    }
}
