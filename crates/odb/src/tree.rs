//! Directory trees: the files of a snapshot, one Tree object per
//! directory (docs/store-format.md §4.2).

use std::collections::{BTreeMap, HashMap};

use rewind_model::codec::{Dec, DecodeError, Enc};

use crate::error::{corrupt, Result};
use crate::id::ObjectId;
use crate::pack::ObjType;
use crate::store::Store;
use crate::writer::ObjectWriter;

/// A file of a snapshot's tree, or a symbolic link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeFile {
    /// Relative to the tree's root, `/`-separated.
    pub path: String,
    /// Stored with the executable bit (restored as mode 0755).
    pub executable: bool,
    /// A symbolic link (as git's mode 120000): the blob holds its target,
    /// relative to the link's directory, and `executable` is false.
    pub link: bool,
    /// Its length in bytes (a link: its target's).
    pub size: u64,
    /// The blob holding its content (a link: its target).
    pub id: ObjectId,
}

#[cfg(test)]
impl TreeFile {
    /// A regular file of `content` at `path`, for tests.
    pub(crate) fn regular(path: &str, content: &[u8]) -> TreeFile {
        TreeFile {
            path: path.into(),
            executable: false,
            link: false,
            size: content.len() as u64,
            id: ObjectId::of(content),
        }
    }
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
    /// A symbolic link; only in trees of version 2.
    Link = 3,
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
pub(crate) const MAX_TREE_ENTRIES: usize = 4_000_000;

/// The longest path a snapshot tree may hold, in bytes (Linux `PATH_MAX`).
pub(crate) const MAX_TREE_PATH: usize = 4096;

/// The tree version of a directory without links: their bytes (and ids)
/// are those of stores written before links were stored.
const TREE_V1: u8 = 1;
/// The tree version of a directory holding a symbolic link (entry kind 3).
pub(crate) const TREE_V2: u8 = 2;

impl Tree {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(64 + self.entries.len() * 64);
        let links = self.entries.iter().any(|t| t.kind == EntryKind::Link);
        e.u8(if links { TREE_V2 } else { TREE_V1 });
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
        let version = d.u8()?;
        if version != TREE_V1 && version != TREE_V2 {
            return Err(d.error(format!("unknown tree version {version}")));
        }
        // name (2+), kind (1), size (1+), id (32)
        let n = d.count(36)?;
        let mut entries = Vec::with_capacity(n.min(PREALLOC_MAX));
        for _ in 0..n {
            let entry = decode_entry(&mut d)?;
            if entry.kind == EntryKind::Link && version == TREE_V1 {
                return Err(d.error("a symbolic link in a tree of version 1"));
            }
            if entries
                .last()
                .is_some_and(|l: &TreeEntry| l.name >= entry.name)
            {
                return Err(d.error("entries out of order"));
            }
            entries.push(entry);
        }
        d.finish()?;
        if version == TREE_V2 && !entries.iter().any(|e| e.kind == EntryKind::Link) {
            // one content, one encoding: a tree without links is version 1
            return Err(d.error("a tree of version 2 without a symbolic link"));
        }
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
        3 => EntryKind::Link,
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

    /// Every file of a tree, with its path, sorted by path. Each distinct
    /// subtree is read and decoded once, and the tree's size is known
    /// before a path is made: a crafted tree naming one subtree twice on
    /// each of 60 levels (2^60 paths in 61 small objects) is refused after
    /// reading 61 trees.
    pub fn tree_files(&self, id: &ObjectId) -> Result<Vec<TreeFile>> {
        let mut trees = HashMap::new();
        let ext = self.extent(id, &mut HashMap::new(), &mut trees)?;
        if let Some(why) = ext.too_large() {
            return Err(corrupt(format!("tree {id}"), why));
        }
        let mut out = Vec::new();
        let mut stack = vec![(String::new(), *id)];
        while let Some((prefix, tid)) = stack.pop() {
            for e in &trees[&tid].entries {
                let path = if prefix.is_empty() {
                    e.name.clone()
                } else {
                    format!("{prefix}/{}", e.name)
                };
                match e.kind {
                    EntryKind::Dir => stack.push((path, e.id)),
                    k => out.push(TreeFile {
                        path,
                        executable: k == EntryKind::Executable,
                        link: k == EntryKind::Link,
                        size: e.size,
                        id: e.id,
                    }),
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// What tree `id` spells out once every subtree is written where it
    /// is named (see [`Extent`]), summing each distinct tree once:
    /// `extents` keeps the sums (across calls), `trees` every tree read
    /// (a tree already in `extents` is not read again).
    pub(crate) fn extent(
        &self,
        id: &ObjectId,
        extents: &mut HashMap<ObjectId, Extent>,
        trees: &mut HashMap<ObjectId, Tree>,
    ) -> Result<Extent> {
        // post-order without recursion: a tree is summed once its
        // subtrees are
        let mut stack = vec![(*id, 1usize)];
        while let Some(&(t, depth)) = stack.last() {
            if extents.contains_key(&t) {
                stack.pop();
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(v) = trees.entry(t) {
                v.insert(self.tree(&t)?);
            }
            let tree = &trees[&t];
            let waiting: Vec<ObjectId> = tree
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::Dir && !extents.contains_key(&e.id))
                .map(|e| e.id)
                .collect();
            if !waiting.is_empty() {
                if depth >= MAX_TREE_PATH {
                    // deeper than the longest path allows (a level takes
                    // two bytes at least, `x/`), or a tree that names
                    // itself, which no content-addressed tree can
                    return Err(corrupt(
                        format!("tree {id}"),
                        format!("it holds a path longer than {MAX_TREE_PATH} bytes"),
                    ));
                }
                stack.extend(waiting.into_iter().map(|w| (w, depth + 1)));
                continue;
            }
            let mut ext = Extent::default();
            for e in &tree.entries {
                let (entries, path) = if e.kind == EntryKind::Dir {
                    let sub = extents[&e.id];
                    let below = if sub.entries == 0 { 0 } else { 1 + sub.path };
                    (1 + sub.entries, e.name.len().saturating_add(below))
                } else {
                    (1, e.name.len())
                };
                ext.entries = ext.entries.saturating_add(entries);
                ext.path = ext.path.max(path);
            }
            extents.insert(t, ext);
            stack.pop();
        }
        Ok(extents[id])
    }
}

/// What a tree spells out once its subtrees are written where they are
/// named: how many entries (files and directories), and its longest path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Extent {
    pub(crate) entries: usize,
    pub(crate) path: usize,
}

impl Extent {
    /// Why a snapshot may not hold a tree of this extent, if it may not.
    pub(crate) fn too_large(&self) -> Option<String> {
        if self.entries > MAX_TREE_ENTRIES {
            Some(format!("it lists more than {MAX_TREE_ENTRIES} files and directories, more than a snapshot may hold"))
        } else if self.path > MAX_TREE_PATH {
            Some(format!("it holds a path longer than {MAX_TREE_PATH} bytes"))
        } else {
            None
        }
    }
}

/// The most symbolic links one path may pass through (Linux's limit):
/// more is a loop, or as good as one.
pub const MAX_LINK_HOPS: usize = 40;

/// Where a path of a tree leads through the tree's symbolic links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// To this path, which has no link in it (it may not exist).
    Inside(String),
    /// Out of the tree: a link's target is absolute, not UTF-8, or climbs
    /// above the root with `..`.
    Outside,
    /// Through more than [`MAX_LINK_HOPS`] links: a loop.
    Loop,
}

/// Resolves `path` (relative to a tree's root, `/`-separated) through
/// the tree's symbolic links, as the kernel resolves a path: component by
/// component, a link's target read relative to the link's directory, `..`
/// taken after the links before it are resolved. `link_at(prefix)` gives
/// the target of the link at `prefix`, if that is a link.
pub fn resolve_links<E>(
    path: &str,
    mut link_at: impl FnMut(&str) -> std::result::Result<Option<Vec<u8>>, E>,
) -> std::result::Result<Resolved, E> {
    let mut done: Vec<String> = Vec::new();
    let mut todo: std::collections::VecDeque<String> =
        path.split('/').map(str::to_string).collect();
    let mut hops = 0;
    while let Some(c) = todo.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                if done.pop().is_none() {
                    return Ok(Resolved::Outside);
                }
                continue;
            }
            _ => {}
        }
        done.push(c);
        let Some(target) = link_at(&done.join("/"))? else {
            continue;
        };
        hops += 1;
        if hops > MAX_LINK_HOPS {
            return Ok(Resolved::Loop);
        }
        done.pop();
        let Ok(target) = String::from_utf8(target) else {
            return Ok(Resolved::Outside);
        };
        if target.starts_with('/') || target.is_empty() {
            return Ok(Resolved::Outside);
        }
        for (i, part) in target.split('/').enumerate() {
            todo.insert(i, part.to_string());
        }
    }
    Ok(Resolved::Inside(done.join("/")))
}

impl Store {
    /// The entry at `path` (relative to the tree's root, `/`-separated),
    /// reading only the trees on its way; links on the way are not
    /// followed (an entry under a link is not found).
    fn entry_at(&self, tree: &ObjectId, path: &str) -> Result<Option<TreeEntry>> {
        let mut dir = *tree;
        let mut parts = path.split('/').filter(|p| !p.is_empty()).peekable();
        while let Some(name) = parts.next() {
            let t = self.tree(&dir)?;
            let Some(e) = t.entries.into_iter().find(|e| e.name == name) else {
                return Ok(None);
            };
            if parts.peek().is_none() {
                return Ok(Some(e));
            }
            if e.kind != EntryKind::Dir {
                return Ok(None);
            }
            dir = e.id;
        }
        Ok(None)
    }

    /// The blob of the file at `path` (relative to the tree's root,
    /// `/`-separated), reading only the trees on its way and following the
    /// tree's symbolic links (never out of it).
    pub fn file_in_tree(&self, tree: &ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let resolved = resolve_links(path, |prefix| match self.entry_at(tree, prefix)? {
            Some(e) if e.kind == EntryKind::Link => Ok(Some(self.get_typed(&e.id, ObjType::Blob)?)),
            _ => Ok(None),
        })?;
        let Resolved::Inside(real) = resolved else {
            return Ok(None);
        };
        Ok(match self.entry_at(tree, &real)? {
            Some(e) if matches!(e.kind, EntryKind::File | EntryKind::Executable) => Some(e.id),
            _ => None,
        })
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
            let kind = if f.link {
                EntryKind::Link
            } else if f.executable {
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
            let id = self.store().object_id(&bytes);
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
        let file = TreeFile::regular;
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
mod links {
    use super::*;

    fn entry(name: &str, kind: EntryKind, content: &[u8]) -> TreeEntry {
        TreeEntry {
            name: name.into(),
            kind,
            size: content.len() as u64,
            id: ObjectId::of(content),
        }
    }

    #[test]
    fn a_tree_with_a_link_is_version_2_and_one_without_stays_version_1() {
        let plain = Tree {
            entries: vec![entry("a.tf", EntryKind::File, b"a")],
        };
        assert_eq!(plain.encode()[0], 1, "ids of link-free trees do not change");
        let linked = Tree {
            entries: vec![
                entry("a.tf", EntryKind::File, b"a"),
                entry("b.tf", EntryKind::Link, b"a.tf"),
            ],
        };
        let bytes = linked.encode();
        assert_eq!(bytes[0], 2);
        assert_eq!(Tree::decode(&bytes).unwrap(), linked);
        // a link in a version 1 tree, or a version 2 tree without one, is
        // refused: one content has one encoding
        let mut v1 = bytes.clone();
        v1[0] = 1;
        let err = Tree::decode(&v1).unwrap_err().to_string();
        assert!(
            err.contains("symbolic link in a tree of version 1"),
            "{err}"
        );
        let mut v2 = plain.encode();
        v2[0] = 2;
        assert!(Tree::decode(&v2).is_err());
        let mut v3 = bytes;
        v3[0] = 3;
        let err = Tree::decode(&v3).unwrap_err().to_string();
        assert!(err.contains("unknown tree version 3"), "{err}");
    }

    fn resolve(links: &[(&str, &str)], path: &str) -> Resolved {
        let map: BTreeMap<&str, &str> = links.iter().copied().collect();
        resolve_links(path, |p| {
            Ok::<_, ()>(map.get(p).map(|t| t.as_bytes().to_vec()))
        })
        .unwrap()
    }

    #[test]
    fn links_resolve_as_the_kernel_resolves_them() {
        let inside = |p: &str| Resolved::Inside(p.into());
        assert_eq!(resolve(&[("a.tf", "b.tf")], "a.tf"), inside("b.tf"));
        // a chain, a link to a directory, `..` after a link
        let links = [
            ("a.tf", "b.tf"),
            ("b.tf", "shared/c.tf"),
            ("modules/net", "../shared/net"),
            ("x", "modules/net/.."),
        ];
        assert_eq!(resolve(&links, "a.tf"), inside("shared/c.tf"));
        assert_eq!(
            resolve(&links, "modules/net/main.tf"),
            inside("shared/net/main.tf")
        );
        assert_eq!(resolve(&links, "x/y.tf"), inside("shared/y.tf"));
        // out of the tree, and loops, with no hang
        assert_eq!(
            resolve(&[("a", "../../etc")], "a/passwd"),
            Resolved::Outside
        );
        assert_eq!(resolve(&[("a", "/etc")], "a"), Resolved::Outside);
        assert_eq!(resolve(&[("a", "b"), ("b", "a")], "a"), Resolved::Loop);
        assert_eq!(resolve(&[("m", "m/x")], "m"), Resolved::Loop);
        assert_eq!(resolve(&[("m", ".")], "m/m/m/m/a.tf"), inside("a.tf"));
    }

    #[test]
    fn a_file_is_found_through_the_links_of_its_tree() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        assert_eq!(store.format_version(), crate::STORE_VERSION);
        let file = |path: &str, content: &[u8], link: bool| TreeFile {
            path: path.into(),
            executable: false,
            link,
            size: content.len() as u64,
            id: ObjectId::of(content),
        };
        let lock = b"# lock\n";
        let files = [
            file("shared/.terraform.lock.hcl", lock, false),
            file(
                "env/prod/.terraform.lock.hcl",
                b"../../shared/.terraform.lock.hcl",
                true,
            ),
            file("env/staging", b"prod", true),
            file("env/loop", b"loop", true),
            file("env/out", b"../../..", true),
        ];
        let mut w = ObjectWriter::new(&store);
        for f in &files {
            let content: &[u8] = if f.link {
                let p = f.path.as_str();
                match p {
                    "env/prod/.terraform.lock.hcl" => b"../../shared/.terraform.lock.hcl",
                    "env/staging" => b"prod",
                    "env/loop" => b"loop",
                    _ => b"../../..",
                }
            } else {
                lock
            };
            w.add(f.id, ObjType::Blob, content).unwrap();
        }
        let root = w.add_tree(&files).unwrap();
        w.finish().unwrap();
        let found = |p: &str| store.file_in_tree(&root, p).unwrap();
        let lock_id = Some(ObjectId::of(lock));
        assert_eq!(found("env/prod/.terraform.lock.hcl"), lock_id);
        assert_eq!(found("env/staging/.terraform.lock.hcl"), lock_id);
        assert_eq!(found("env/loop/x"), None);
        assert_eq!(found("env/out/etc/passwd"), None);
        let listed = store.tree_files(&root).unwrap();
        assert_eq!(listed.iter().filter(|f| f.link).count(), 4);
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
        // `verify` reports what checkout refuses, counting each tree once
        let rec = crate::record::test_record(ObjectId::of(&top), ObjectId::of(&blob), None, 1);
        store.put_snapshot(&rec).unwrap();
        let report = store.verify().unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.contains("more than 4000000 files") && p.contains("checkout refuses")),
            "{:?}",
            report.problems
        );
        // a count larger than the bytes could hold is refused at once
        let mut lying = Enc::with_capacity(16);
        lying.u8(1);
        lying.uvar(1_000_000_000);
        let err = Tree::decode(&lying.into_bytes()).unwrap_err().to_string();
        assert!(err.contains("exceeds the data"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Sixty levels, each naming its subtree twice: 2^60 paths in 61
    /// trees. `verify` says so at once (paths too long and too many) where
    /// it passed a snapshot checkout refuses; a tree within the limits
    /// passes.
    #[test]
    fn verify_refuses_a_tree_checkout_would_refuse() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-doubling-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let blob = b"resource \"terraform_data\" \"a\" {}\n".to_vec();
        let mut w = PackWriter::new();
        w.add(ObjectId::of(&blob), ObjType::Blob, &blob);
        let mut child = Tree {
            entries: vec![TreeEntry {
                name: "main.tf".into(),
                kind: EntryKind::File,
                size: blob.len() as u64,
                id: ObjectId::of(&blob),
            }],
        }
        .encode();
        w.add(ObjectId::of(&child), ObjType::Tree, &child);
        let small = ObjectId::of(&child);
        for _ in 0..60 {
            let entry = |name: &str| TreeEntry {
                name: name.into(),
                kind: EntryKind::Dir,
                size: 0,
                id: ObjectId::of(&child),
            };
            child = Tree {
                entries: vec![entry("a"), entry("b")],
            }
            .encode();
            w.add(ObjectId::of(&child), ObjType::Tree, &child);
        }
        store.write_pack(w).unwrap();
        let blob_id = ObjectId::of(&blob);
        for (tree, bad) in [(ObjectId::of(&child), true), (small, false)] {
            let rec = crate::record::test_record(tree, blob_id, None, 1);
            let id = store.put_snapshot(&rec).unwrap();
            let report = store.verify().unwrap();
            let flagged = report
                .problems
                .iter()
                .any(|p| p.contains(&id.short(12)) && p.contains("checkout refuses"));
            assert_eq!(flagged, bad, "{:?}", report.problems);
            assert_eq!(store.tree_files(&tree).is_err(), bad);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
