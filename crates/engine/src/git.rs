//! What git says of a snapshotted directory: HEAD's commit and whether the
//! directory has changes (docs/store-format.md §7, `git`).

use std::path::Path;

use rewind_odb::GitInfo;

/// The git commit of `dir`, if it is inside a git work tree with a commit
/// and versions the directory. Runs one `git` process, and none when no
/// repository can be there.
pub(crate) fn git_info(dir: &Path) -> Option<GitInfo> {
    // Spawning git costs milliseconds: only when a repository can be there.
    let in_repo =
        std::env::var_os("GIT_DIR").is_some() || dir.ancestors().any(|d| d.join(".git").exists());
    if !in_repo {
        return None;
    }
    // One process gives everything: the `# branch.oid` header is HEAD's
    // commit (`(initial)` before the first one), `!` lines are ignored
    // paths, every other line is a change.
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "status",
            "--porcelain=v2",
            "--branch",
            "--untracked-files=normal",
            "--ignored=matching",
            "--",
            ".",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    git_info_of(String::from_utf8_lossy(&out.stdout).trim())
}

/// What `git status --porcelain=v2 --branch --ignored=matching -- .`, run
/// in the directory, says of it.
fn git_info_of(status: &str) -> Option<GitInfo> {
    let commit = status
        .lines()
        .find_map(|l| l.strip_prefix("# branch.oid "))
        .filter(|c| c.bytes().all(|b| b.is_ascii_hexdigit()) && !c.is_empty())?
        .to_string();
    // The directory itself, or a folder above it, is ignored: its files are
    // not versioned, so HEAD's commit says nothing about them.
    let ignored_tree = status.lines().any(|l| {
        l.strip_prefix("! ").is_some_and(|p| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .all(|s| s == ".." || s == ".")
        })
    });
    if ignored_tree {
        return None;
    }
    Some(GitInfo {
        commit,
        // ignored files inside (a local state file, .terraform/) are not
        // changes
        dirty: status
            .lines()
            .any(|l| !l.starts_with('#') && !l.starts_with('!')),
    })
}

#[cfg(test)]
mod tests {
    use super::git_info_of;

    const HEAD: &str =
        "# branch.oid 22c4ad5f1b6e4d0ac3d3eacb7d2b62d4ca609621\n# branch.head main\n";

    #[test]
    fn git_status_lines() {
        let clean = git_info_of(HEAD).unwrap();
        assert_eq!(clean.commit, "22c4ad5f1b6e4d0ac3d3eacb7d2b62d4ca609621");
        assert!(!clean.dirty);
        let ignored_inside =
            git_info_of(&format!("{HEAD}! terraform.tfstate\n! .terraform/\n")).unwrap();
        assert!(!ignored_inside.dirty);
        let edited = git_info_of(&format!(
            "{HEAD}1 .M N... 100644 100644 100644 3f2a 3f2a main.tf\n! .terraform/\n"
        ))
        .unwrap();
        assert!(edited.dirty);
        assert!(git_info_of(&format!("{HEAD}? notes.txt\n")).unwrap().dirty);
        assert!(git_info_of(&format!("{HEAD}! ../../\n")).is_none());
        assert!(git_info_of(&format!("{HEAD}! ./\n")).is_none());
        assert!(git_info_of("# branch.oid (initial)\n# branch.head main\n").is_none());
    }
}
