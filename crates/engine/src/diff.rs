//! The semantic diff of two versions, with the file-level text diff
//! beside it on request.

use std::borrow::Cow;

use rewind_diff::{ChangeKind, Diff, FileChange, NodeChange};
use rewind_model::{Diagnostic, Model};
use rewind_odb::Load;

use crate::error::Result;
use crate::files::file_changes;
use crate::inputs::Inputs;
use crate::version::{Loaded, Side, StoredVersion, Version};

/// Which changes a diff keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// Removals and replacements (everything that destroys).
    Destroys,
    /// Additions.
    Creates,
    /// In-place changes.
    Changes,
    /// Replacements.
    Replacements,
    /// Moves.
    Moves,
}

/// Settings of a diff.
#[derive(Clone, Debug, Default)]
pub struct DiffOptions {
    /// Show sensitive values instead of "(sensitive value changed)", and
    /// the text of files that may hold secrets.
    pub show_sensitive: bool,
    /// Add the unified text diff of the changed files.
    pub files: bool,
    /// Only these resource types (all when empty).
    pub types: Vec<String>,
    /// Only addresses matching one of these patterns (`*` and `?`; all
    /// when empty).
    pub addresses: Vec<String>,
    /// Only one kind of change.
    pub only: Option<Only>,
    /// What directory versions are given beside their files.
    pub inputs: Inputs,
}

/// A diff and what it compared.
#[derive(Debug)]
pub struct DiffOutcome {
    /// The older version.
    pub from: Side,
    /// The newer version.
    pub to: Side,
    /// The semantic changes that passed the filters.
    pub diff: Diff,
    /// The changed files, when asked for.
    pub files: Option<Vec<FileChange>>,
    /// Warnings found while parsing directory versions.
    pub diagnostics: Vec<Diagnostic>,
}

impl DiffOutcome {
    /// True when nothing differs (no semantic change and no changed file).
    pub fn is_empty(&self) -> bool {
        self.diff.is_empty() && self.files.as_ref().is_none_or(|f| f.is_empty())
    }
}

/// A version opened for a diff: a directory is parsed at once; a
/// snapshot's model stays in the store until needed.
pub(crate) enum Opened<'v, 's> {
    /// A directory's model and files.
    Dir(Box<Loaded>),
    /// A snapshot.
    Snapshot(&'v StoredVersion<'s>),
}

impl Opened<'_, '_> {
    /// The whole model (read from the store for a snapshot).
    pub(crate) fn model(&self) -> Result<Cow<'_, Model>> {
        match self {
            Opened::Dir(l) => Ok(Cow::Borrowed(&l.model)),
            Opened::Snapshot(s) => {
                let record = s.store.record(&s.id)?;
                Ok(Cow::Owned(s.store.load_model(&record.model, Load::Full)?.0))
            }
        }
    }
}

/// Compares two versions semantically: nodes by address, attribute paths,
/// moves, edges and deployed instances. Between two snapshots of one store
/// only the parts whose ids differ are read.
pub fn diff(from: &Version, to: &Version, opts: &DiffOptions) -> Result<DiffOutcome> {
    let mut diagnostics = Vec::new();
    let a = open(from, &opts.inputs, &mut diagnostics)?;
    let b = open(to, &opts.inputs, &mut diagnostics)?;
    let dopts = rewind_diff::Options {
        show_sensitive: opts.show_sensitive,
    };
    let mut diff = match (from, to) {
        (Version::Snapshot(x), Version::Snapshot(y)) if std::ptr::eq(x.store, y.store) => {
            let (ma, mb) = (x.store.record(&x.id)?.model, y.store.record(&y.id)?.model);
            let (pa, pb) = x.store.changed_parts(&ma, &mb)?;
            rewind_diff::diff(&pa, &pb, &dopts)
        }
        _ => rewind_diff::diff(&*a.model()?, &*b.model()?, &dopts),
    };
    diff.config.retain(|c| keep(c, opts));
    diff.instances.retain(|c| keep(c, opts));
    let files = if opts.files {
        Some(file_changes(&a, &b, opts.show_sensitive)?)
    } else {
        None
    };
    Ok(DiffOutcome {
        from: from.side()?,
        to: to.side()?,
        diff,
        files,
        diagnostics,
    })
}

fn open<'v, 's>(
    v: &'v Version<'s>,
    inputs: &Inputs,
    warnings: &mut Vec<Diagnostic>,
) -> Result<Opened<'v, 's>> {
    Ok(match v {
        Version::Dir(_) => Opened::Dir(Box::new(v.load(Load::Full, inputs, warnings)?)),
        Version::Snapshot(s) => Opened::Snapshot(s),
    })
}

/// Does a change pass the filters?
fn keep(c: &NodeChange, o: &DiffOptions) -> bool {
    if !o.types.is_empty() && !o.types.contains(&c.type_) {
        return false;
    }
    if !o.addresses.is_empty() && !o.addresses.iter().any(|p| glob(p, &c.address)) {
        return false;
    }
    match o.only {
        None => true,
        Some(Only::Destroys) => matches!(c.change, ChangeKind::Removed) || c.is_replacement(),
        Some(Only::Creates) => matches!(c.change, ChangeKind::Added),
        Some(Only::Changes) => matches!(c.change, ChangeKind::Changed) && !c.is_replacement(),
        Some(Only::Replacements) => c.is_replacement(),
        Some(Only::Moves) => matches!(c.change, ChangeKind::Moved { .. }),
    }
}

/// `*` matches any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("module.net.*", "module.net.aws_subnet.a"));
        assert!(!glob("module.net.*", "module.network.aws_vpc.x"));
        assert!(glob("*aws_db_instance*", "module.db.aws_db_instance.main"));
        assert!(glob("aws_instance.web[?]", "aws_instance.web[0]"));
    }
}
