//! The stored object formats above raw file contents: directory trees,
//! models and node groups (binary, see docs/store-format.md) and the
//! snapshot record (JSON).

use std::collections::BTreeMap;

use rewind_model::codec::{Dec, DecodeError, Enc};
use rewind_model::{Diagnostic, Hash, Loc, NodeKind, Severity, StateInfo};
use serde::{Deserialize, Serialize};

/// One entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeEntry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    pub id: Hash,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File = 0,
    Executable = 1,
    Dir = 2,
}

/// A directory: entries sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Tree {
    pub entries: Vec<TreeEntry>,
}

impl Tree {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(64 + self.entries.len() * 64);
        e.u8(1);
        e.uvar(self.entries.len() as u64);
        for t in &self.entries {
            e.str(&t.name);
            e.u8(t.kind as u8);
            e.uvar(t.size);
            e.hash(&t.id);
        }
        e.into_bytes()
    }

    pub fn decode(b: &[u8]) -> Result<Tree, DecodeError> {
        let mut d = Dec::new(b);
        if d.u8()? != 1 {
            return Err(d.error("unknown tree version"));
        }
        let n = d.len()?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.string()?;
            if name.is_empty()
                || name == "."
                || name == ".."
                || name.contains('/')
                || name.contains('\\')
                || name.contains('\0')
            {
                return Err(d.error(format!("invalid entry name {name:?}")));
            }
            let kind = match d.u8()? {
                0 => EntryKind::File,
                1 => EntryKind::Executable,
                2 => EntryKind::Dir,
                k => return Err(d.error(format!("unknown entry kind {k}"))),
            };
            let size = d.uvar()?;
            let id = d.hash()?;
            if entries.last().is_some_and(|l: &TreeEntry| l.name >= name) {
                return Err(d.error("entries out of order"));
            }
            entries.push(TreeEntry {
                name,
                kind,
                size,
                id,
            });
        }
        d.finish()?;
        Ok(Tree { entries })
    }
}

/// One node in a group: where it is and which node object it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub address: String,
    pub kind: NodeKind,
    pub node: Hash,
    pub line: u32,
    pub col: u32,
}

/// The nodes of one file (config nodes) or of one module's instances.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Group {
    pub entries: Vec<GroupEntry>,
}

fn kind_code(k: NodeKind) -> u8 {
    NodeKind::ALL.iter().position(|x| *x == k).unwrap_or(0) as u8
}

impl Group {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(16 + self.entries.len() * 80);
        e.u8(1);
        e.uvar(self.entries.len() as u64);
        for g in &self.entries {
            e.str(&g.address);
            e.u8(kind_code(g.kind));
            e.hash(&g.node);
            e.uvar(u64::from(g.line));
            e.uvar(u64::from(g.col));
        }
        e.into_bytes()
    }

    pub fn decode(b: &[u8]) -> Result<Group, DecodeError> {
        let mut d = Dec::new(b);
        if d.u8()? != 1 {
            return Err(d.error("unknown group version"));
        }
        let n = d.len()?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let address = d.string()?;
            let kind = *NodeKind::ALL
                .get(d.u8()? as usize)
                .ok_or_else(|| d.error("unknown node kind"))?;
            let node = d.hash()?;
            let line = d.uvar()? as u32;
            let col = d.uvar()? as u32;
            entries.push(GroupEntry {
                address,
                kind,
                node,
                line,
                col,
            });
        }
        d.finish()?;
        Ok(Group { entries })
    }
}

/// A model: state facts, diagnostics and node groups by key. Config groups
/// are keyed by file path; instance groups by `state:` and module path.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ModelObj {
    pub root: String,
    pub state: Option<StateInfo>,
    pub groups: BTreeMap<String, (Hash, u32)>,
    pub diagnostics: Vec<Diagnostic>,
}

pub const STATE_GROUP_PREFIX: &str = "state:";

impl ModelObj {
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(256 + self.groups.len() * 64);
        e.u8(1);
        e.str(&self.root);
        match &self.state {
            Some(s) => {
                e.u8(1);
                e.str(&s.path);
                e.str(&s.lineage);
                e.uvar(s.serial);
                e.str(&s.terraform_version);
            }
            None => e.u8(0),
        }
        e.uvar(self.groups.len() as u64);
        for (k, (h, n)) in &self.groups {
            e.str(k);
            e.hash(h);
            e.uvar(u64::from(*n));
        }
        e.uvar(self.diagnostics.len() as u64);
        for d in &self.diagnostics {
            e.u8(match d.severity {
                Severity::Warning => 0,
                Severity::Error => 1,
            });
            e.str(&d.loc.file);
            e.uvar(u64::from(d.loc.line));
            e.uvar(u64::from(d.loc.col));
            e.str(&d.message);
        }
        e.into_bytes()
    }

    pub fn decode(b: &[u8]) -> Result<ModelObj, DecodeError> {
        let mut d = Dec::new(b);
        if d.u8()? != 1 {
            return Err(d.error("unknown model version"));
        }
        let root = d.string()?;
        let state = match d.u8()? {
            0 => None,
            _ => Some(StateInfo {
                path: d.string()?,
                lineage: d.string()?,
                serial: d.uvar()?,
                terraform_version: d.string()?,
            }),
        };
        let n = d.len()?;
        let mut groups = BTreeMap::new();
        for _ in 0..n {
            let k = d.string()?;
            let h = d.hash()?;
            let c = d.uvar()? as u32;
            groups.insert(k, (h, c));
        }
        let n = d.len()?;
        let mut diagnostics = Vec::with_capacity(n);
        for _ in 0..n {
            let severity = if d.u8()? == 0 {
                Severity::Warning
            } else {
                Severity::Error
            };
            let file = d.string()?;
            let line = d.uvar()? as u32;
            let col = d.uvar()? as u32;
            let message = d.string()?;
            diagnostics.push(Diagnostic {
                severity,
                loc: Loc { file, line, col },
                message,
                source_line: None,
            });
        }
        d.finish()?;
        Ok(ModelObj {
            root,
            state,
            groups,
            diagnostics,
        })
    }
}

/// The git commit of the snapshotted directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: String,
    pub dirty: bool,
}

/// A snapshot: what was captured, when, by whom and why. Stored as JSON
/// under `snapshots/<id>`, where the id is the blake3 hash of these bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub format: u32,
    pub tree: Hash,
    pub model: Hash,
    pub parent: Option<Hash>,
    /// UTC, RFC 3339.
    pub time: String,
    pub message: String,
    pub env: String,
    pub labels: BTreeMap<String, String>,
    /// The directory that was snapshotted (as given, made absolute).
    pub source: String,
    /// The root module's directory inside the tree.
    pub root: String,
    pub program_version: String,
    pub git: Option<GitInfo>,
    /// Counts for `log` and `show` without loading the model.
    pub files: u64,
    pub resources: u64,
    pub instances: u64,
}

impl SnapshotRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    pub fn id(&self) -> Hash {
        Hash::of(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_round_trip() {
        let t = Tree {
            entries: vec![
                TreeEntry {
                    name: "a.tf".into(),
                    kind: EntryKind::File,
                    size: 3,
                    id: Hash::of(b"a"),
                },
                TreeEntry {
                    name: "mod".into(),
                    kind: EntryKind::Dir,
                    size: 0,
                    id: Hash::of(b"m"),
                },
            ],
        };
        assert_eq!(Tree::decode(&t.encode()).unwrap(), t);
        let mut escape = t.clone();
        escape.entries[0].name = "..".into();
        assert!(Tree::decode(&escape.encode()).is_err());
        let g = Group {
            entries: vec![GroupEntry {
                address: "aws_vpc.main".into(),
                kind: NodeKind::Resource,
                node: Hash::of(b"n"),
                line: 3,
                col: 1,
            }],
        };
        assert_eq!(Group::decode(&g.encode()).unwrap(), g);
        let mut m = ModelObj {
            root: String::new(),
            state: Some(StateInfo {
                path: "terraform.tfstate".into(),
                lineage: "l".into(),
                serial: 3,
                terraform_version: "1.11.4".into(),
            }),
            ..Default::default()
        };
        m.groups.insert("main.tf".into(), (Hash::of(b"g"), 1));
        assert_eq!(ModelObj::decode(&m.encode()).unwrap(), m);
    }
}
