//! Restoring the exact files of a snapshot into a directory
//! (docs/store-format.md §12, "Checkout").

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{io, Error, Result};
use crate::id::{ObjectId, SnapshotId};
use crate::store::Store;
use crate::tree::{resolve_links, Resolved, TreeFile};

/// What `checkout` wrote.
#[derive(Debug)]
pub struct CheckoutOutcome {
    /// Files written.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    /// The snapshot's files, relative to the checkout directory, with `/`.
    pub paths: Vec<String>,
}

/// Files are fetched and written in batches of this many, so memory stays
/// bounded on huge trees.
const BATCH: usize = 2048;

impl Store {
    /// Restores the exact files of a snapshot into `dest`, which must not
    /// exist or be empty (any directory with `force`). Every path is checked
    /// before anything is written; nothing is written through a symbolic
    /// link or outside `dest`. The snapshot's symbolic links are created as
    /// links (replacing, with `force`, a file or link at their place), once
    /// each is known to lead to a place inside `dest`.
    pub fn checkout(
        &self,
        snapshot: &SnapshotId,
        dest: &Path,
        force: bool,
    ) -> Result<CheckoutOutcome> {
        let rec = self.record(snapshot)?;
        let files = self.tree_files(&rec.tree)?;
        let links = self.link_targets(&files)?;
        check_links(&files, &links)?;
        // a directory this checkout makes goes again if it fails (a
        // missing or corrupt object): no half-written release left behind
        let made = dest.symlink_metadata().is_err();
        prepare_destination(dest, force)?;
        let written = self.write_files(&files, &links, dest, force);
        if written.is_err() && made {
            let _ = std::fs::remove_dir_all(dest);
        }
        let bytes = written?;
        Ok(CheckoutOutcome {
            files: files.len(),
            bytes,
            paths: files.into_iter().map(|f| f.path).collect(),
        })
    }

    /// Writes `files` (with the targets of their `links`) into `dest`,
    /// which exists; returns the bytes written.
    fn write_files(
        &self,
        files: &[TreeFile],
        links: &BTreeMap<String, String>,
        dest: &Path,
        force: bool,
    ) -> Result<u64> {
        let root = dest.canonicalize().map_err(io(dest))?;
        let targets = files
            .iter()
            .map(|f| safe_join(&root, &f.path))
            .collect::<Result<Vec<_>>>()?;
        let mut bytes = 0u64;
        for (chunk_files, chunk_targets) in files.chunks(BATCH).zip(targets.chunks(BATCH)) {
            let ids: Vec<ObjectId> = chunk_files
                .iter()
                .filter(|f| !f.link)
                .map(|f| f.id)
                .collect();
            let mut contents = self.get_blobs(&ids)?.into_iter();
            for (f, target) in chunk_files.iter().zip(chunk_targets) {
                if f.link {
                    let to = links.get(&f.path).map(String::as_str).unwrap_or_default();
                    write_link(&root, to, target, force)?;
                    continue;
                }
                let data = contents.next().unwrap_or_default();
                write_file(&root, f, target, &data, force)?;
                bytes += data.len() as u64;
            }
        }
        Ok(bytes)
    }

    /// The targets of the links among `files`, by path (a target that is
    /// not UTF-8 is kept lossily: it is refused as leading outside).
    pub fn link_targets(&self, files: &[TreeFile]) -> Result<BTreeMap<String, String>> {
        let links: Vec<&TreeFile> = files.iter().filter(|f| f.link).collect();
        let ids: Vec<ObjectId> = links.iter().map(|f| f.id).collect();
        let targets = self.get_blobs(&ids)?;
        Ok(links
            .into_iter()
            .zip(targets)
            .map(|(f, t)| {
                let t = String::from_utf8(t).unwrap_or_else(|_| "/(not UTF-8)".to_string());
                (f.path.clone(), t)
            })
            .collect())
    }
}

/// Refuses a snapshot with a link that would lead outside the checkout
/// directory (an absolute target, `..` above the root, a loop), before
/// anything is written: a link is never created to be followed out.
pub(crate) fn check_links(files: &[TreeFile], links: &BTreeMap<String, String>) -> Result<()> {
    for f in files.iter().filter(|f| f.link) {
        let resolved = resolve_links(&f.path, |p| {
            Ok::<_, std::convert::Infallible>(links.get(p).map(|t| t.clone().into_bytes()))
        });
        match resolved {
            Ok(Resolved::Inside(_)) => {}
            Ok(how) => {
                return Err(Error::Checkout(format!(
                    "refusing the symbolic link {:?} -> {:?}: it {}",
                    f.path,
                    links.get(&f.path).map(String::as_str).unwrap_or_default(),
                    if how == Resolved::Loop {
                        "is part of a loop of links"
                    } else {
                        "would lead outside the checkout directory"
                    }
                )))
            }
            Err(never) => match never {},
        }
    }
    Ok(())
}

/// Checks that `dest` is absent, or an empty directory (any directory with
/// `force`), and creates it.
fn prepare_destination(dest: &Path, force: bool) -> Result<()> {
    if dest.exists() {
        if !dest.is_dir() {
            return Err(Error::Checkout(format!(
                "{} exists and is not a directory",
                dest.display()
            )));
        }
        let non_empty = std::fs::read_dir(dest).map_err(io(dest))?.next().is_some();
        if non_empty && !force {
            return Err(Error::Checkout(format!(
                "{} is not empty; use --force to write into it",
                dest.display()
            )));
        }
    }
    std::fs::create_dir_all(dest).map_err(io(dest))
}

/// What is at `target` before it is replaced: nothing, or a file or (with
/// `force`) a link, which a rename replaces without following; a
/// directory, or a link without `force`, is refused.
fn check_replaceable(root: &Path, target: &Path, force: bool) -> Result<()> {
    if let Some(parent) = target.parent() {
        create_dirs_inside(root, parent, force)?;
    }
    if let Ok(md) = std::fs::symlink_metadata(target) {
        if md.is_dir() || (md.file_type().is_symlink() && !force) {
            return Err(Error::Checkout(format!(
                "{} exists and is a {}; refusing to replace it",
                target.display(),
                if md.is_dir() {
                    "directory"
                } else {
                    "symbolic link"
                }
            )));
        }
    }
    Ok(())
}

/// Writes one file through a temporary file beside it, with its mode.
fn write_file(root: &Path, f: &TreeFile, target: &Path, data: &[u8], force: bool) -> Result<()> {
    check_replaceable(root, target, force)?;
    let mode = if f.executable { 0o755 } else { 0o644 };
    let (tmp, mut file) = create_temp_beside(target, mode)?;
    let written = (|| {
        use std::io::Write;
        file.write_all(data)?;
        #[cfg(unix)]
        {
            // the umask may have narrowed the mode given at creation
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        Ok(())
    })();
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    rename_into_place(&tmp, target)
}

/// Creates the symbolic link `target -> to` through a new link beside it
/// (created exclusively: never through an existing name) renamed into
/// place.
#[cfg(unix)]
fn write_link(root: &Path, to: &str, target: &Path, force: bool) -> Result<()> {
    check_replaceable(root, target, force)?;
    let (tmp, ()) = at_free_temp_name(target, |tmp| std::os::unix::fs::symlink(to, tmp))?;
    rename_into_place(&tmp, target)
}

#[cfg(not(unix))]
fn write_link(_root: &Path, to: &str, target: &Path, _force: bool) -> Result<()> {
    Err(Error::Checkout(format!(
        "{} is a symbolic link (-> {to}), which this system cannot create",
        target.display()
    )))
}

/// Renames a temporary file or link over `target` (removing it on error).
fn rename_into_place(tmp: &Path, target: &Path) -> Result<()> {
    std::fs::rename(tmp, target).map_err(|e| {
        let _ = std::fs::remove_file(tmp);
        io(target)(e)
    })
}

/// The names a temporary file beside `target` may take, in order.
fn temp_names(target: &Path) -> impl Iterator<Item = PathBuf> + '_ {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    (0..64u32)
        .map(move |attempt| target.with_file_name(format!(".{name}.{pid}-{attempt}.rewind-tmp")))
}

/// Creates a new temporary file beside `target`, exclusively: never
/// through an existing name or a symbolic link planted at it (another
/// name is tried instead).
fn create_temp_beside(target: &Path, mode: u32) -> Result<(PathBuf, std::fs::File)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    at_free_temp_name(target, |tmp| opts.open(tmp))
}

/// Makes something (`make` creates it exclusively, failing with
/// `AlreadyExists` when the name is taken) at the first free temporary
/// name beside `target`.
fn at_free_temp_name<T>(
    target: &Path,
    mut make: impl FnMut(&Path) -> std::io::Result<T>,
) -> Result<(PathBuf, T)> {
    let mut taken = None;
    for tmp in temp_names(target) {
        match make(&tmp) {
            Ok(made) => return Ok((tmp, made)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => taken = Some((tmp, e)),
            Err(e) => return Err(io(&tmp)(e)),
        }
    }
    match taken {
        Some((tmp, e)) => Err(io(&tmp)(e)),
        None => Err(Error::Checkout(format!(
            "no temporary name beside {}",
            target.display()
        ))),
    }
}

/// `root/path`, refusing anything that could land outside `root`.
fn safe_join(root: &Path, path: &str) -> Result<PathBuf> {
    let escape = || {
        Error::Checkout(format!(
            "refusing path {path:?}: it would escape the checkout directory"
        ))
    };
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return Err(escape());
    }
    let mut out = root.to_path_buf();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => return Err(escape()),
        }
    }
    if !out.starts_with(root) {
        return Err(escape());
    }
    Ok(out)
}

/// Creates `dir` (under `root`) refusing to go through symbolic links;
/// with `force`, a link where a directory goes is removed (the link
/// itself: what it leads to is not touched) and the directory created.
fn create_dirs_inside(root: &Path, dir: &Path, force: bool) -> Result<()> {
    let rel = dir.strip_prefix(root).map_err(|_| {
        Error::Checkout(format!(
            "refusing {}: outside the checkout directory",
            dir.display()
        ))
    })?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(md) if md.file_type().is_symlink() && force => {
                std::fs::remove_file(&cur).map_err(io(&cur))?;
                std::fs::create_dir(&cur).map_err(io(&cur))?;
            }
            Ok(md) if md.file_type().is_symlink() => {
                return Err(Error::Checkout(format!(
                    "refusing to write through the symbolic link {}",
                    cur.display()
                )))
            }
            Ok(md) if md.is_dir() => {}
            Ok(_) => {
                return Err(Error::Checkout(format!(
                    "{} exists and is not a directory",
                    cur.display()
                )))
            }
            Err(_) => std::fs::create_dir(&cur).map_err(io(&cur))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::ObjType;
    use crate::record::test_record;
    use crate::writer::ObjectWriter;

    /// A snapshot of `entries` (path, content, is a link) in a new store.
    fn crafted(name: &str, entries: &[(&str, &str, bool)]) -> (PathBuf, Store, SnapshotId) {
        let dir = std::env::temp_dir().join(format!("rewind-odb-co-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.join("store").to_str().unwrap()).unwrap();
        let mut w = ObjectWriter::new(&store);
        let mut files = Vec::new();
        for (path, content, link) in entries {
            let id = ObjectId::of(content.as_bytes());
            w.add(id, ObjType::Blob, content.as_bytes()).unwrap();
            files.push(TreeFile {
                path: path.to_string(),
                executable: false,
                link: *link,
                size: content.len() as u64,
                id,
            });
        }
        let tree = w.add_tree(&files).unwrap();
        let model = w.add_model(&rewind_model::Model::default(), "").unwrap();
        w.finish().unwrap();
        let (id, _) = store
            .publish_snapshot("prod", &[], false, |parent| {
                test_record(tree, model, parent, files.len() as u64)
            })
            .unwrap();
        (dir, store, id)
    }

    /// A checkout that fails on a missing object leaves no directory it
    /// made behind (one that was there stays).
    #[test]
    fn a_failed_checkout_removes_the_directory_it_made() {
        let dir =
            std::env::temp_dir().join(format!("rewind-odb-co-missing-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.join("store").to_str().unwrap()).unwrap();
        let mut w = ObjectWriter::new(&store);
        let there = b"locals {}\n";
        w.add(ObjectId::of(there), ObjType::Blob, there).unwrap();
        let file = TreeFile::regular;
        let files = [file("a.tf", there), file("b/c.tf", b"never stored\n")];
        let tree = w.add_tree(&files).unwrap();
        let model = w.add_model(&rewind_model::Model::default(), "").unwrap();
        w.finish().unwrap();
        let (id, _) = store
            .publish_snapshot("prod", &[], false, |parent| {
                test_record(tree, model, parent, 2)
            })
            .unwrap();
        let out = dir.join("new/out");
        assert!(store.checkout(&id, &out, false).is_err());
        assert!(!out.exists(), "the directory made is gone");
        let existing = dir.join("existing");
        std::fs::create_dir_all(&existing).unwrap();
        assert!(store.checkout(&id, &existing, false).is_err());
        assert!(existing.is_dir(), "a directory that was there stays");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn links_are_created_as_links_and_never_followed() {
        let (dir, store, id) = crafted(
            "links",
            &[
                ("shared/net/main.tf", "locals {}\n", false),
                ("modules/net", "../shared/net", true),
                ("main.tf", "shared/net/main.tf", true),
            ],
        );
        let out = dir.join("out");
        let o = store.checkout(&id, &out, false).unwrap();
        assert_eq!(o.files, 3);
        let link = |p: &str| std::fs::read_link(out.join(p)).unwrap();
        assert_eq!(link("modules/net"), Path::new("../shared/net"));
        assert_eq!(link("main.tf"), Path::new("shared/net/main.tf"));
        assert_eq!(
            std::fs::read_to_string(out.join("modules/net/main.tf")).unwrap(),
            "locals {}\n"
        );
        // again with force: a link and a file where links go are replaced,
        // a file they led to is untouched
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        std::fs::remove_file(out.join("main.tf")).unwrap();
        std::os::unix::fs::symlink(&victim, out.join("main.tf")).unwrap();
        store.checkout(&id, &out, true).unwrap();
        assert_eq!(link("main.tf"), Path::new("shared/net/main.tf"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_link_leading_outside_the_checkout_is_refused_before_anything_is_written() {
        for (name, target) in [
            ("up", "../../victim"),
            ("abs", "/etc/passwd"),
            ("loop", "x.tf"),
        ] {
            let (dir, store, id) = crafted(
                name,
                &[("a.tf", "locals {}\n", false), ("x.tf", target, true)],
            );
            let out = dir.join("out");
            let err = store.checkout(&id, &out, false).unwrap_err().to_string();
            assert!(err.contains("refusing the symbolic link \"x.tf\""), "{err}");
            assert!(!out.join("a.tf").exists(), "{name}: nothing is written");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// `verify` finds what `checkout` would refuse: a crafted snapshot's
    /// link that leads outside, or loops; one that stays inside is fine.
    #[test]
    fn verify_reports_a_link_leading_outside() {
        for (name, target, bad) in [
            ("v-up", "../../victim", true),
            ("v-abs", "/etc/passwd", true),
            ("v-loop", "x.tf", true),
            ("v-inside", "a.tf", false),
        ] {
            let (dir, store, _) = crafted(
                name,
                &[("a.tf", "locals {}\n", false), ("x.tf", target, true)],
            );
            let report = store.verify().unwrap();
            let found = report
                .problems
                .iter()
                .any(|p| p.contains("refusing the symbolic link \"x.tf\""));
            assert_eq!(found, bad, "{name}: {:?}", report.problems);
            assert_eq!(report.ok(), !bad, "{name}: {:?}", report.problems);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn safe_join_refuses_escapes() {
        let root = Path::new("/tmp/x");
        assert!(safe_join(root, "a/b.tf").is_ok());
        for bad in ["../a", "/etc/passwd", "a/../../b", "", "a\\..\\b"] {
            assert!(safe_join(root, bad).is_err(), "{bad}");
        }
    }
}
