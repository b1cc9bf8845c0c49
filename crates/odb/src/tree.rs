//! Directory trees: the files of a snapshot, one Tree object per
//! directory (docs/store-format.md §4.2).

use std::collections::BTreeMap;

use rewind_model::codec::{Dec, DecodeError, Enc};

use crate::error::{corrupt, Result};
use crate::id::ObjectId;
use crate::pack::ObjType;
use crate::store::Store;
use crate::writer::ObjectWriter;

/// A file of a snapshot's tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative to the tree's root, `/`-separated.
    pub path: String,
    /// Stored with the executable bit (restored as mode 0755).
    pub executable: bool,
    /// Its length in bytes.
    pub size: u64,
    /// The blob holding its content.
    pub id: ObjectId,
}

/// One entry of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TreeEntry {
    pub(crate) name: String,
    pub(crate) kind: EntryKind,
    pub(crate) size: u64,
    pub(crate) id: ObjectId,
}

/// What a directory entry is (its code in the encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File = 0,
    Executable = 1,
    Dir = 2,
}

/// A directory: entries sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub(crate) struct Tree {
    pub(crate) entries: Vec<TreeEntry>,
}

/// Decoders reserve room for at most this many entries up front; more
/// grow as they are actually decoded (a declared count is only a claim).
pub(crate) const PREALLOC_MAX: usize = 4096;

/// The most files and directories one snapshot tree may list, however its
/// trees share subtrees: a crafted store could otherwise declare a tree of
/// billions of files in a few megabytes.
pub const MAX_TREE_ENTRIES: usize = 4_000_000;

/// The longest path a snapshot tree may hold, in bytes (Linux `PATH_MAX`).
pub const MAX_TREE_PATH: usize = 4096;

impl Tree {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(64 + self.entries.len() * 64);
        e.u8(1);
        e.uvar(self.entries.len() as u64);
        for t in &self.entries {
            e.str(&t.name);
            e.u8(t.kind as u8);
            e.uvar(t.size);
            e.hash(&t.id.hash());
        }
        e.into_bytes()
    }

    pub(crate) fn decode(b: &[u8]) -> Result<Tree, DecodeError> {
        let mut d = Dec::new(b);
        if d.u8()? != 1 {
            return Err(d.error("unknown tree version"));
        }
        // name (2+), kind (1), size (1+), id (32)
        let n = d.count(36)?;
        let mut entries = Vec::with_capacity(n.min(PREALLOC_MAX));
        for _ in 0..n {
            let entry = decode_entry(&mut d)?;
            if entries
                .last()
                .is_some_and(|l: &TreeEntry| l.name >= entry.name)
            {
                return Err(d.error("entries out of order"));
            }
            entries.push(entry);
        }
        d.finish()?;
        Ok(Tree { entries })
    }
}

fn decode_entry(d: &mut Dec) -> Result<TreeEntry, DecodeError> {
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
    let id = ObjectId::from(d.hash()?);
    Ok(TreeEntry {
        name,
        kind,
        size,
        id,
    })
}

impl Store {
    /// Reads and decodes one Tree object.
    pub(crate) fn tree(&self, id: &ObjectId) -> Result<Tree> {
        let bytes = self.get_typed(id, ObjType::Tree)?;
        Tree::decode(&bytes).map_err(|e| corrupt(format!("tree {id}"), e.to_string()))
    }

    /// Every file of a tree, with its path, sorted by path.
    pub fn tree_files(&self, id: &ObjectId) -> Result<Vec<TreeFile>> {
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), *id)];
        let mut entries = 0usize;
        while let Some((prefix, tid)) = stack.pop() {
            for e in self.tree(&tid)?.entries {
                entries += 1;
                if entries > MAX_TREE_ENTRIES {
                    return Err(corrupt(
                        format!("tree {id}"),
                        format!("it lists more than {MAX_TREE_ENTRIES} files and directories, more than a snapshot may hold"),
                    ));
                }
                let path = if prefix.is_empty() {
                    e.name.clone()
                } else {
                    format!("{prefix}/{}", e.name)
                };
                if path.len() > MAX_TREE_PATH {
                    return Err(corrupt(
                        format!("tree {id}"),
                        format!("it holds a path longer than {MAX_TREE_PATH} bytes"),
                    ));
                }
                match e.kind {
                    EntryKind::Dir => stack.push((path, e.id)),
                    k => out.push(TreeFile {
                        path,
                        executable: k == EntryKind::Executable,
                        size: e.size,
                        id: e.id,
                    }),
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

impl Store {
    /// The blob of the file at `path` (relative to the tree's root,
    /// `/`-separated), reading only the trees on its way.
    pub fn file_in_tree(&self, tree: &ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let mut dir = *tree;
        let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
        while let Some(name) = parts.next() {
            let last = parts.peek().is_none();
            let t = self.tree(&dir)?;
            let Some(e) = t.entries.iter().find(|e| e.name == name) else {
                return Ok(None);
            };
            match (e.kind, last) {
                (EntryKind::Dir, false) => dir = e.id,
                (EntryKind::File | EntryKind::Executable, true) => return Ok(Some(e.id)),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }
}

fn split_path(path: &str) -> (String, String) {
    match path.rfind('/') {
        Some(i) => (path[..i].to_string(), path[i + 1..].to_string()),
        None => (String::new(), path.to_string()),
    }
}

impl ObjectWriter<'_> {
    /// Adds the Tree objects of `files` (whose blobs are written
    /// separately) and returns the root tree's id. Every ancestor
    /// directory gets a tree; directories are encoded deepest first, so a
    /// directory's id is known before its parent's.
    pub fn add_tree(&mut self, files: &[TreeFile]) -> Result<ObjectId> {
        let mut dirs: BTreeMap<String, Vec<TreeEntry>> = BTreeMap::new();
        dirs.insert(String::new(), Vec::new());
        for f in files {
            let (dir, name) = split_path(&f.path);
            let mut d = dir.clone();
            while !d.is_empty() {
                dirs.entry(d.clone()).or_default();
                d = split_path(&d).0;
            }
            let kind = if f.executable {
                EntryKind::Executable
            } else {
                EntryKind::File
            };
            dirs.entry(dir).or_default().push(TreeEntry {
                name,
                kind,
                size: f.size,
                id: f.id,
            });
        }
        let depth = |d: &String| {
            if d.is_empty() {
                0
            } else {
                d.matches('/').count() + 1
            }
        };
        let mut order: Vec<String> = dirs.keys().cloned().collect();
        order.sort_by_key(|d| std::cmp::Reverse(depth(d)));
        let mut root = ObjectId::default();
        for d in order {
            let mut entries = dirs.remove(&d).unwrap_or_default();
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let bytes = Tree { entries }.encode();
            let id = ObjectId::of(&bytes);
            self.add(id, ObjType::Tree, &bytes)?;
            if d.is_empty() {
                root = id;
            } else {
                let (parent, name) = split_path(&d);
                dirs.entry(parent).or_default().push(TreeEntry {
                    name,
                    kind: EntryKind::Dir,
                    size: 0,
                    id,
                });
            }
        }
        Ok(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trees_round_trip_and_refuse_escaping_names() {
        let t = Tree {
            entries: vec![
                TreeEntry {
                    name: "a.tf".into(),
                    kind: EntryKind::File,
                    size: 3,
                    id: ObjectId::of(b"a"),
                },
                TreeEntry {
                    name: "mod".into(),
                    kind: EntryKind::Dir,
                    size: 0,
                    id: ObjectId::of(b"m"),
                },
            ],
        };
        assert_eq!(Tree::decode(&t.encode()).unwrap(), t);
        let mut escape = t.clone();
        escape.entries[0].name = "..".into();
        assert!(Tree::decode(&escape.encode()).is_err());
        let mut unordered = t.clone();
        unordered.entries.swap(0, 1);
        assert!(Tree::decode(&unordered.encode()).is_err());
    }

    #[test]
    fn a_file_is_found_by_its_path_in_a_tree() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let file = |path: &str, content: &[u8]| TreeFile {
            path: path.into(),
            executable: false,
            size: content.len() as u64,
            id: ObjectId::of(content),
        };
        let files = [
            file("main.tf", b"terraform {}\n"),
            file("env/prod/.terraform.lock.hcl", b"# lock\n"),
            file("env/prod/main.tf", b"module \"app\" {}\n"),
        ];
        let mut w = ObjectWriter::new(&store);
        let root = w.add_tree(&files).unwrap();
        w.finish().unwrap();
        let found = |p: &str| store.file_in_tree(&root, p).unwrap();
        assert_eq!(found("env/prod/.terraform.lock.hcl"), Some(files[1].id));
        assert_eq!(found("main.tf"), Some(files[0].id));
        assert_eq!(found("env/prod"), None, "a directory is not a file");
        assert_eq!(found("env/staging/main.tf"), None);
        assert_eq!(found("main.tf/x"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod hostile {
    use super::*;
    use crate::pack::PackWriter;

    /// Regression: a few megabytes of store declared a tree of 10⁹ files
    /// (trees sharing subtrees) and checkout aborted on allocation.
    #[test]
    fn a_tree_of_a_billion_shared_entries_is_refused_not_allocated() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-bomb-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let blob = b"x".to_vec();
        let blob_id = ObjectId::of(&blob);
        let level = |kind: EntryKind, child: ObjectId| Tree {
            entries: (0..1000)
                .map(|i| TreeEntry {
                    name: format!("e{i:04}"),
                    kind,
                    size: 1,
                    id: child,
                })
                .collect(),
        };
        let files = level(EntryKind::File, blob_id).encode();
        let mid = level(EntryKind::Dir, ObjectId::of(&files)).encode();
        let top = level(EntryKind::Dir, ObjectId::of(&mid)).encode();
        let mut w = PackWriter::new();
        w.add(blob_id, ObjType::Blob, &blob);
        for t in [&files, &mid, &top] {
            w.add(ObjectId::of(t), ObjType::Tree, t);
        }
        store.write_pack(w).unwrap();
        let err = store
            .tree_files(&ObjectId::of(&top))
            .unwrap_err()
            .to_string();
        assert!(err.contains("more than 4000000 files"), "{err}");
        // a count larger than the bytes could hold is refused at once
        let mut lying = Enc::with_capacity(16);
        lying.u8(1);
        lying.uvar(1_000_000_000);
        let err = Tree::decode(&lying.into_bytes()).unwrap_err().to_string();
        assert!(err.contains("exceeds the data"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
