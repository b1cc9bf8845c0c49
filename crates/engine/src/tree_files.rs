//! The files a snapshot's configuration reads, from its stored tree: what
//! `file()`, `templatefile()`, `fileset()` and the other file functions
//! see when a snapshot side is planned.

use std::collections::BTreeMap;

use rewind_odb::{ObjectId, SnapshotRecord, Store};

use crate::error::Result;

/// A snapshot's files for the evaluator: every stored file that is not
/// configuration, variables or state (those are the files functions
/// read), fetched at once; the others are listed for `fileexists` and
/// `fileset`.
#[derive(Debug)]
pub(crate) struct TreeFiles {
    /// The root module's directory in the tree (Terraform's working
    /// directory).
    root: String,
    /// Where the snapshot was taken (for `abspath`).
    source: String,
    /// Every file of the tree, by path; the bytes of those fetched.
    files: BTreeMap<String, Option<Vec<u8>>>,
    /// The tree's symbolic links and their targets, followed as the
    /// directory's were when the snapshot was taken.
    links: BTreeMap<String, String>,
    /// The files rewind parsed, not fetched: read again from the store
    /// (`location`) only to point an error at its line.
    parsed: BTreeMap<String, ObjectId>,
    location: String,
    /// Paths the snapshot recorded as leading out of its tree through a
    /// symbolic link ([`crate::reads::OUTSIDE`]): neither link nor file
    /// was stored, so a read of one is not of a missing file.
    outside: std::collections::HashSet<String>,
}

/// Files a function may read (everything but what rewind parses).
fn readable(path: &str) -> bool {
    let kind = path.rsplit('/').next().and_then(rewind_parse::FileKind::of);
    !matches!(
        kind,
        Some(
            rewind_parse::FileKind::Tf
                | rewind_parse::FileKind::TfJson
                | rewind_parse::FileKind::State
                | rewind_parse::FileKind::Tfvars
                | rewind_parse::FileKind::TfvarsJson
        )
    )
}

impl TreeFiles {
    /// The files of snapshot `record`'s tree (one batch read of the
    /// readable ones).
    pub(crate) fn load(
        store: &Store,
        record: &SnapshotRecord,
        model: &rewind_model::Model,
    ) -> Result<TreeFiles> {
        let mut listing = store.tree_files(&record.tree)?;
        let links = store.link_targets(&listing)?;
        listing.retain(|f| !f.link);
        let wanted: Vec<(String, ObjectId)> = listing
            .iter()
            .filter(|f| readable(&f.path))
            .map(|f| (f.path.clone(), f.id))
            .collect();
        let parsed: BTreeMap<String, ObjectId> = listing
            .iter()
            .filter(|f| !readable(&f.path))
            .map(|f| (f.path.clone(), f.id))
            .collect();
        let ids: Vec<ObjectId> = wanted.iter().map(|(_, id)| *id).collect();
        let bytes = store.get_blobs(&ids)?;
        let mut files: BTreeMap<String, Option<Vec<u8>>> =
            listing.into_iter().map(|f| (f.path, None)).collect();
        for ((path, _), b) in wanted.into_iter().zip(bytes) {
            files.insert(path, Some(b));
        }
        Ok(TreeFiles {
            root: record.root.clone(),
            source: record.source.clone(),
            files,
            links,
            parsed,
            location: store.location().to_string(),
            outside: outside_reads(model),
        })
    }

    /// The tree path of `path` (relative to the root module), or why it
    /// cannot be in the snapshot.
    fn locate(&self, path: &str) -> std::result::Result<String, String> {
        if std::path::Path::new(path).is_absolute() {
            return Err(format!(
                "{path} is an absolute path: a snapshot holds only the files of its directory tree"
            ));
        }
        let mut parts: Vec<&str> = self.root.split('/').filter(|p| !p.is_empty()).collect();
        for c in path.split(['/', '\\']) {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(format!(
                            "{path} is outside the snapshot's directory tree: it was not stored"
                        ));
                    }
                }
                other => parts.push(other),
            }
        }
        let in_tree = parts.join("/");
        self.locate_in_tree(&in_tree)
            .map_err(|e| e.replacen(&in_tree, path, 1))
    }

    /// Tree path `p` with its links resolved, or why it cannot be.
    fn locate_in_tree(&self, path: &str) -> std::result::Result<String, String> {
        let resolved = rewind_odb::resolve_links(path, |p| {
            Ok::<_, std::convert::Infallible>(self.links.get(p).map(|t| t.clone().into_bytes()))
        });
        match resolved {
            Ok(rewind_odb::Resolved::Inside(p)) => Ok(p),
            Ok(rewind_odb::Resolved::Loop) => Err(format!(
                "{path} goes through a loop of symbolic links in the snapshot"
            )),
            Ok(rewind_odb::Resolved::Outside) => Err(format!(
                "{path} leads out of the snapshot's directory tree through a symbolic link: it was not stored"
            )),
            Err(never) => match never {},
        }
    }
}

impl TreeFiles {
    /// Is tree path `p` a directory of the snapshot (one holding files)?
    fn is_dir(&self, p: &str) -> bool {
        let prefix = format!("{p}/");
        self.files
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}

/// The tree paths the model's `reads` facts record as leading out of
/// the tree.
fn outside_reads(model: &rewind_model::Model) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for n in &model.nodes {
        let Some(reads) = &n.facts.more.reads else {
            continue;
        };
        for files in reads.values() {
            for (path, v) in files.as_map().into_iter().flatten() {
                if v.as_str() == Some(crate::reads::OUTSIDE) {
                    out.insert(path.clone());
                }
            }
        }
    }
    out
}

/// The keys of `m` under `prefix`, without it.
fn under<V>(m: &BTreeMap<String, V>, prefix: &str) -> Vec<String> {
    m.range::<str, _>((
        std::ops::Bound::Included(prefix),
        std::ops::Bound::Unbounded,
    ))
    .take_while(|(k, _)| k.starts_with(prefix))
    .map(|(k, _)| k[prefix.len()..].to_string())
    .collect()
}

/// The symbolic links one path may go through (Linux's limit, as
/// `DirFiles` follows them on disk).
const MAX_SYMLINKS: u32 = 40;

/// The entries one `fileset` looks at before it gives up.
const MAX_GLOB_ENTRIES: usize = 1_000_000;

impl rewind_eval::Files for TreeFiles {
    fn source(&self, file: &str) -> Option<Vec<u8>> {
        let id = *self.parsed.get(file)?;
        // the plan holds no store: this opens it again, on an error's path
        let store = Store::open(&self.location).ok()?;
        store.get_blobs(&[id]).ok()?.pop()
    }

    fn read(&self, path: &str) -> std::result::Result<Vec<u8>, String> {
        let p = self.locate(path)?;
        match self.files.get(&p) {
            Some(Some(b)) => Ok(b.clone()),
            Some(None) => Err(format!(
                "{path} is a file rewind parses, not one the snapshot lends to functions"
            )),
            None if self.files.keys().any(|k| k.starts_with(&format!("{p}/"))) => {
                Err(format!("{path} is a directory, not a file"))
            }
            None => Err(format!(
                "{path} is not in the snapshot (no such file when it was taken)"
            )),
        }
    }

    fn exists(&self, path: &str) -> std::result::Result<bool, String> {
        let p = self.locate(path)?;
        if self.files.contains_key(&p) {
            return Ok(true);
        }
        if self.files.keys().any(|k| k.starts_with(&format!("{p}/"))) {
            return Err(format!("{path} is a directory, not a file"));
        }
        Ok(false)
    }

    fn glob(&self, base: &str, pattern: &str) -> std::result::Result<Vec<String>, String> {
        let b = self.locate(base)?;
        let mut found = Vec::new();
        let mut seen: usize = 0;
        // (directory in the tree, its path under `base`, links on the way):
        // links to directories in the tree are followed as the directory's
        // own listing follows them (`DirFiles`), as far as the system does
        let mut stack = vec![(b, String::new(), 0u32)];
        while let Some((dir, shown, links)) = stack.pop() {
            let prefix = if dir.is_empty() {
                String::new()
            } else {
                format!("{dir}/")
            };
            let in_dir = under(&self.files, &prefix);
            let linked = under(&self.links, &prefix);
            seen += in_dir.len() + linked.len();
            if seen > MAX_GLOB_ENTRIES {
                return Err(format!(
                    "{base} holds more than {MAX_GLOB_ENTRIES} entries to match (symbolic links that lead back into the tree?)"
                ));
            }
            for rel in in_dir {
                let r = format!("{shown}{rel}");
                if rewind_eval::functions::glob_match(pattern, &r)? {
                    found.push(r);
                }
            }
            if links >= MAX_SYMLINKS {
                continue;
            }
            for rel in linked {
                let Ok(target) = self.locate_in_tree(&format!("{prefix}{rel}")) else {
                    continue;
                };
                let r = format!("{shown}{rel}");
                if self.files.contains_key(&target) {
                    if rewind_eval::functions::glob_match(pattern, &r)? {
                        found.push(r);
                    }
                } else if target.is_empty() || self.is_dir(&target) {
                    stack.push((target, format!("{r}/"), links + 1));
                }
            }
        }
        found.sort();
        Ok(found)
    }

    fn working_dir(&self) -> Option<String> {
        Some(self.source.clone())
    }

    fn outside(&self, path: &str) -> bool {
        match self.locate(path) {
            Ok(p) => self.outside.contains(&p),
            // out of the tree by `..`, an absolute path or a stored link;
            // a loop of links is the configuration's error
            Err(e) => !e.contains("loop of symbolic links"),
        }
    }
}
