//! [`Files`] of a configuration on disk, confined to its tree.

use std::path::{Component, Path, PathBuf};

use crate::expr::Files;

/// The symbolic links one path may go through: Linux's limit, past which
/// opening it fails (ELOOP), and so Terraform's `fileset` stops there.
const MAX_SYMLINKS: u32 = 40;

/// The entries one `fileset` looks at before it gives up: a tree with
/// two links back to itself has 2^40 paths.
const MAX_GLOB_ENTRIES: usize = 1_000_000;

/// The files a configuration on disk may read: paths are relative to the
/// root module's directory (Terraform's working directory); nothing
/// outside `tree` (the snapshot's root: the root module and every local
/// module) is read, through `..` or a symbolic link.
#[derive(Clone, Debug)]
pub struct DirFiles {
    cwd: PathBuf,
    tree: PathBuf,
}

impl DirFiles {
    /// `cwd` is the root module's directory, `tree` the directory nothing
    /// outside of which is read (usually a parent of `cwd`, or `cwd`).
    pub fn new(cwd: &Path, tree: &Path) -> DirFiles {
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        DirFiles {
            cwd: canon(cwd),
            tree: canon(tree),
        }
    }

    /// The path to open, or why it may not be.
    fn locate(&self, path: &str) -> Result<PathBuf, String> {
        let p = Path::new(path);
        let joined = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        };
        let mut clean = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    clean.pop();
                }
                Component::CurDir => {}
                other => clean.push(other.as_os_str()),
            }
        }
        let real = match clean.canonicalize() {
            Ok(r) => r,
            // a file that is not there: its place must still be inside
            Err(_) => clean.clone(),
        };
        if !real.starts_with(&self.tree) {
            return Err(format!(
                "{path} is outside the configuration's directory tree ({}): rewind reads only files a snapshot can hold",
                self.tree.display()
            ));
        }
        Ok(real)
    }
}

impl Files for DirFiles {
    fn source(&self, file: &str) -> Option<Vec<u8>> {
        // a path of the configuration's base (`tree`), as loads name files:
        // nothing absolute, nothing above it
        let rel = Path::new(file);
        if !rel
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return None;
        }
        let p = self.tree.join(rel);
        let meta = std::fs::metadata(&p).ok()?;
        if !meta.is_file() || !p.canonicalize().ok()?.starts_with(&self.tree) {
            return None;
        }
        rewind_parse::read_regular(&p, meta.len()).ok()
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        let p = self.locate(path)?;
        let meta = std::fs::metadata(&p).map_err(|e| format!("{path}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{path} is not a regular file"));
        }
        rewind_parse::read_regular(&p, meta.len()).map_err(|e| format!("{path}: {e}"))
    }

    fn exists(&self, path: &str) -> Result<bool, String> {
        let p = self.locate(path)?;
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(true),
            Ok(m) if m.is_dir() => Err(format!("{path} is a directory, not a file")),
            Ok(_) => Err(format!("{path} is not a regular file")),
            Err(_) => Ok(false),
        }
    }

    fn glob(&self, base: &str, pattern: &str) -> Result<Vec<String>, String> {
        let root = self.locate(base)?;
        let mut found = Vec::new();
        let mut seen: usize = 0;
        // (directory, its path under `base`, symbolic links on that path)
        let mut stack = vec![(root, String::new(), 0u32)];
        while let Some((dir, rel, links)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let e = e.map_err(|e| e.to_string())?;
                seen += 1;
                if seen > MAX_GLOB_ENTRIES {
                    return Err(format!(
                        "{base} holds more than {MAX_GLOB_ENTRIES} entries to match (symbolic links that lead back into the tree?)"
                    ));
                }
                let name = e.file_name().to_string_lossy().into_owned();
                let r = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                // a path through more symbolic links than the system
                // follows in one path is not there for Terraform either
                // (ELOOP): a link back into the tree is followed that far
                let links = links + u32::from(e.file_type().is_ok_and(|t| t.is_symlink()));
                if links > MAX_SYMLINKS {
                    continue;
                }
                // symbolic links are not followed out of the tree
                let Ok(real) = e.path().canonicalize() else {
                    continue;
                };
                if !real.starts_with(&self.tree) {
                    continue;
                }
                let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
                if meta.is_dir() {
                    stack.push((real, r, links));
                } else if meta.is_file() && crate::functions::glob_match(pattern, &r)? {
                    found.push(r);
                }
            }
        }
        found.sort();
        Ok(found)
    }

    fn working_dir(&self) -> Option<String> {
        Some(self.cwd.display().to_string())
    }

    fn outside(&self, path: &str) -> bool {
        self.locate(path).is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_and_refuses_outside_the_tree() {
        let base = std::env::temp_dir().join(format!("rewind-dirfiles-{}", std::process::id()));
        let tree = base.join("tree");
        std::fs::create_dir_all(tree.join("infra/scripts")).unwrap();
        std::fs::write(tree.join("infra/scripts/init.sh"), "echo hi").unwrap();
        std::fs::write(tree.join("shared.txt"), "shared").unwrap();
        std::fs::write(base.join("secret.txt"), "no").unwrap();
        let f = DirFiles::new(&tree.join("infra"), &tree);
        assert_eq!(f.read("scripts/init.sh").unwrap(), b"echo hi");
        assert_eq!(f.read("../shared.txt").unwrap(), b"shared");
        assert!(f.read("../../secret.txt").unwrap_err().contains("outside"));
        assert!(f.exists("scripts").is_err());
        assert!(!f.exists("nope.txt").unwrap());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(base.join("secret.txt"), tree.join("infra/link.txt"))
                .unwrap();
            assert!(f.read("link.txt").unwrap_err().contains("outside"));
        }
        assert_eq!(f.glob(".", "**/*.sh").unwrap(), vec!["scripts/init.sh"]);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A link back into the tree is followed as far as the system follows
    /// links in one path, as Terraform's `fileset` does (terraform 1.11
    /// lists 41 copies of each file through `loop -> .`); two such links
    /// are refused, not walked 2^40 times.
    #[cfg(unix)]
    #[test]
    fn links_back_into_the_tree_stop_where_the_system_stops() {
        let base = std::env::temp_dir().join(format!("rewind-dirloop-{}", std::process::id()));
        std::fs::create_dir_all(base.join("sub")).unwrap();
        std::fs::write(base.join("sub/a.txt"), "a").unwrap();
        std::fs::write(base.join("main.txt"), "m").unwrap();
        std::os::unix::fs::symlink(".", base.join("loop")).unwrap();
        let f = DirFiles::new(&base, &base);
        let all = f.glob(".", "**").unwrap();
        assert_eq!(all.len(), 41 * 2, "{all:?}");
        let deepest = format!("{}sub/a.txt", "loop/".repeat(40));
        assert!(all.contains(&deepest));
        assert_eq!(f.glob(".", "*/*").unwrap(), ["loop/main.txt", "sub/a.txt"]);
        std::os::unix::fs::symlink(".", base.join("loop2")).unwrap();
        let e = f.glob(".", "**").unwrap_err();
        assert!(e.contains("more than 1000000 entries"), "{e}");
        std::fs::remove_dir_all(&base).unwrap();
    }
}
