//! The files a configuration reads through functions (`file`,
//! `templatefile`, `filebase64`, `filesha256` and the other file
//! functions, `fileexists`, `fileset`): their paths resolved statically
//! against `path.module`, `path.root` and `path.cwd`, the files added to
//! what a snapshot stores, and each reading attribute's node given a
//! `reads` fact (attribute path → file → content hash), so a change of
//! the file alone is a change of the attribute that reads it.
//!
//! A path that leaves the snapshot's tree, or that is not known without
//! evaluating the configuration (`file(var.path)`), is reported as a
//! warning: such a file is not stored.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use rewind_eval::{EvalError, Evaluator, Scope, Value as EvalValue};
use rewind_model::expr::{Expr, Part, TravOp};
use rewind_model::{Diagnostic, Hash, Loc, Map, NodeKind, PathStep, Severity, Value};
use rewind_parse::{FileKind, Loaded, SourceFile};

/// Does the built-in function `name` read the one file its first
/// argument names? (`file`, `filebase64`, `filebase64sha256`,
/// `filebase64sha512`, `fileexists`, `filemd5`, `filesha1`, `filesha256`,
/// `filesha512`, `templatefile`; `fileset` lists files instead.)
fn reads_one_file(name: &str) -> bool {
    (name.starts_with("file") && name != "fileset") || name == "templatefile"
}

/// What `reads` records of a file that is not there.
pub(crate) const MISSING: &str = "(missing)";

/// What `reads` records of a path in the tree whose symbolic links lead
/// out of it: the snapshot holds neither the link nor the file.
pub(crate) const OUTSIDE: &str = "(outside the tree)";

/// A call found in an attribute: the function, its path arguments, and
/// the attribute.
struct Call<'a> {
    name: &'a str,
    args: &'a [Expr],
    /// Inside a `for` over a `fileset()` (whose files are stored): a
    /// path built from the iteration variable needs no warning.
    over_fileset: bool,
}

/// `path.module`, `path.root` and `path.cwd`: all a path may use to be
/// resolved statically.
struct PathScope {
    module: String,
    cwd: String,
}

impl Scope for PathScope {
    fn resolve(
        &self,
        root: &str,
        ops: &[TravOp],
        _ev: &mut Evaluator,
    ) -> Result<(EvalValue, usize), EvalError> {
        let not_static = || EvalError::new("Not static", format!("{root} is not known statically"));
        if root != "path" {
            return Err(not_static());
        }
        match ops.first() {
            Some(TravOp::Attr(a)) if a == "module" => Ok((EvalValue::string(&self.module), 1)),
            Some(TravOp::Attr(a)) if a == "root" => Ok((EvalValue::string("."), 1)),
            Some(TravOp::Attr(a)) if a == "cwd" => Ok((EvalValue::string(&self.cwd), 1)),
            _ => Err(not_static()),
        }
    }
}

/// Finds the files `loaded`'s configuration reads, adds those inside its
/// tree to its files (with their bytes), records each reading node's
/// `reads` fact, and warns about paths that cannot be followed.
pub(crate) fn add_reads(loaded: &mut Loaded) {
    let base = loaded.base.clone();
    let root_abs = if loaded.root.is_empty() {
        base.clone()
    } else {
        base.join(&loaded.root)
    };
    let mut finder = Finder {
        known: loaded
            .files
            .iter()
            .map(|f| (f.path.clone(), Some(f.hash)))
            .collect(),
        real_base: base.canonicalize().unwrap_or_else(|_| base.clone()),
        base,
        root_abs,
        added: Vec::new(),
        warnings: Vec::new(),
        unreadable: Vec::new(),
    };
    let clean = files_without_calls(&loaded.files);
    for i in calling_nodes(&loaded.model.nodes, &clean) {
        let node = &mut loaded.model.nodes[i];
        if let Some(reads) = finder.node_reads(node) {
            node.facts.more.reads = Some(reads);
        }
    }
    loaded.model.diagnostics.extend(finder.warnings);
    loaded.unreadable = finder.unreadable;
    // (`parsed` runs parallel to `files`)
    for f in finder.added {
        loaded.files.push(f);
        loaded
            .parsed
            .push(std::sync::Arc::new(rewind_parse::Parsed::Raw));
    }
}

/// The files (by path) none of whose nodes can call a file function:
/// their text was read and holds no name of one
/// ([`rewind_parse::SourceFile::file_fns`]), and no override file sits
/// beside them (whose blocks are merged into theirs, keeping their
/// position).
fn files_without_calls(files: &[SourceFile]) -> HashSet<&str> {
    let overridden: HashSet<&str> = files
        .iter()
        .filter(|f| rewind_parse::is_override_file(f.path.rsplit('/').next().unwrap_or("")))
        .map(|f| dir(&f.path))
        .collect();
    files
        .iter()
        .filter(|f| !f.file_fns && !overridden.contains(dir(&f.path)))
        .map(|f| f.path.as_str())
        .collect()
}

/// The directory part of a `/`-separated path (`""` at the top).
fn dir(p: &str) -> &str {
    p.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The nodes (by index, in order) whose values call a file function:
/// few, found on every core among those not written in a file of
/// `clean` (see [`files_without_calls`]).
fn calling_nodes(nodes: &[rewind_model::Node], clean: &HashSet<&str>) -> Vec<usize> {
    let calls = |from: usize, nodes: &[rewind_model::Node]| -> Vec<usize> {
        let mut found = Vec::new();
        let mut calls = Vec::new();
        for (k, node) in nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::Tfvars | NodeKind::Instance)
                || clean.contains(node.loc.file.as_str())
            {
                continue;
            }
            calls_in(&node.body, &mut calls);
            if !calls.is_empty() {
                found.push(from + k);
                calls.clear();
            }
        }
        found
    };
    rewind_model::parts::in_parts(nodes, Some(rewind_parse::PARSE_STACK), calls)
}

/// Does a value call a file function ([`add_reads`] gives its node a
/// `reads` fact, or warns)?
pub(crate) fn calls_file_functions(v: &Value) -> bool {
    let mut calls = Vec::new();
    calls_in(v, &mut calls);
    !calls.is_empty()
}

/// The calls of file functions in a value tree, as [`collect_values`]
/// finds them but without the attribute paths: this looks at every node
/// of the configuration (few call a file function), and building each
/// map key's path step was most of that look's time.
fn calls_in<'a>(v: &'a Value, out: &mut Vec<(rewind_model::Path, Call<'a>)>) {
    match v {
        Value::Map(m) => {
            for (_, v) in m {
                calls_in(v, out);
            }
        }
        Value::List(l) => {
            for v in l {
                calls_in(v, out);
            }
        }
        Value::Expr(e) => collect_expr(e, &[], false, out),
        _ => {}
    }
}

/// What [`add_reads`] has found so far, across the nodes.
struct Finder {
    /// The snapshot's directory tree.
    base: PathBuf,
    /// The same with its links resolved: where a file's links may lead.
    real_base: PathBuf,
    /// The root module's directory (`path.root`, `path.cwd`).
    root_abs: PathBuf,
    /// The hash of every file looked at (relative to `base`), by path;
    /// `None` for one that is not a readable file.
    known: BTreeMap<String, Option<Hash>>,
    /// Files read that the snapshot did not hold yet.
    added: Vec<SourceFile>,
    warnings: Vec<Diagnostic>,
    /// Files read that are there but could not be read (permissions).
    unreadable: Vec<PathBuf>,
}

impl Finder {
    /// The `reads` fact of `node`: for each attribute path that reads
    /// files, the hash of each file (relative to the tree), [`MISSING`]
    /// or [`OUTSIDE`];
    /// `None` when it reads none.
    fn node_reads(&mut self, node: &rewind_model::Node) -> Option<Map<String, Value>> {
        let mut calls: Vec<(rewind_model::Path, Call)> = Vec::new();
        collect_values(&node.body, &mut Vec::new(), &mut calls);
        if calls.is_empty() {
            return None;
        }
        let module_abs = self.base.join(
            Path::new(&node.loc.file)
                .parent()
                .unwrap_or_else(|| Path::new("")),
        );
        let scope = PathScope {
            module: relative(&self.root_abs, &module_abs),
            cwd: self.root_abs.display().to_string(),
        };
        let mut reads: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for (path, call) in &calls {
            let Some(found) = self.call_paths(node, path, call, &scope) else {
                continue;
            };
            let entry = reads.entry(path.to_string()).or_default();
            for (given, abs) in found {
                if let Some((rel, recorded)) = self.file_hash(node, path, call, &given, &abs) {
                    entry.insert(rel, Value::str(recorded));
                }
            }
        }
        reads.retain(|_, m| !m.is_empty());
        if reads.is_empty() {
            return None;
        }
        let mut m = Map::new();
        for (k, v) in reads {
            m.insert(k, Value::Map(v));
        }
        Some(m)
    }

    /// The files `call` (at `path` of `node`) reads, each as written and
    /// as an absolute path: the matches of a `fileset`, or the one file of
    /// the other functions. `None`, with a warning, when its arguments are
    /// not known without evaluating the configuration (no warning for a
    /// file of a `for` over a `fileset`, whose files are stored).
    fn call_paths(
        &mut self,
        node: &rewind_model::Node,
        path: &rewind_model::Path,
        call: &Call,
        scope: &PathScope,
    ) -> Option<Vec<(String, PathBuf)>> {
        let mut ev = Evaluator::new(scope);
        let mut arg = |i: usize| -> Option<String> {
            let v = ev.eval(call.args.get(i)?).ok()?;
            v.as_str().map(str::to_string)
        };
        if call.name == "fileset" {
            match (arg(0), arg(1)) {
                (Some(dir), Some(pattern)) => {
                    match fileset(&self.root_abs, &self.base, &dir, &pattern) {
                        Ok(list) => Some(list),
                        Err(m) => {
                            self.warnings
                                .push(warn(&node.loc, format!("{} reads {m}", node.address)));
                            None
                        }
                    }
                }
                _ => {
                    self.warnings.push(unresolved(node, path, call));
                    None
                }
            }
        } else {
            match arg(0) {
                Some(p) => Some(vec![(p.clone(), normalize(&self.root_abs.join(&p)))]),
                None => {
                    // a file() inside a `for` over a fileset(): the
                    // fileset's files are stored
                    if !call.over_fileset {
                        self.warnings.push(unresolved(node, path, call));
                    }
                    None
                }
            }
        }
    }

    /// The path (relative to the tree) and hash of the file `abs`
    /// (written `given`) that `call` at `path` of `node` reads, read and
    /// added to the snapshot's files the first time; `None` for a file
    /// outside the tree, which is not stored. Warns about those, and about
    /// a file that is not readable (except for `fileexists`).
    fn file_hash(
        &mut self,
        node: &rewind_model::Node,
        path: &rewind_model::Path,
        call: &Call,
        given: &str,
        abs: &Path,
    ) -> Option<(String, String)> {
        let Ok(rel) = abs.strip_prefix(&self.base) else {
            self.warnings.push(warn(
                &node.loc,
                format!(
                    "{}: {path} reads {given:?} ({}), outside the snapshot's directory tree ({}): it is not stored, so a diff or plan of this snapshot cannot see it change",
                    node.address,
                    abs.display(),
                    self.base.display()
                ),
            ));
            return None;
        };
        if rewind_parse::load::backslash_in(rel) {
            self.warnings.push(warn(
                &node.loc,
                format!(
                    "{}: {path} reads {given:?}, whose path holds a backslash, which a snapshot's paths use as a directory separator: it is not stored (rename it)",
                    node.address
                ),
            ));
            return None;
        }
        // inside the tree as written, but a link on the way may lead out
        // of it (`creds.txt -> /etc/passwd`): not read, not stored, as
        // the tree's own links are not followed out of it
        // (the file is then read by the path as written, which the
        // snapshot's stat cache watches: a link pointed elsewhere later
        // changes what it sees)
        if let Ok(real) = abs.canonicalize() {
            if !real.starts_with(&self.real_base) {
                self.warnings.push(warn(
                    &node.loc,
                    format!(
                        "{}: {path} reads {given:?} through a symbolic link that leads outside the snapshot's directory tree ({}): it is not read or stored, so a diff or plan of this snapshot cannot see it change",
                        node.address,
                        self.base.display()
                    ),
                ));
                // recorded, so that a plan of the snapshot knows the
                // path for one it does not hold (not a missing file)
                let rel = rel.display().to_string().replace('\\', "/");
                return Some((rel, OUTSIDE.to_string()));
            }
        }
        let rel = rel.display().to_string().replace('\\', "/");
        let hash = match self.known.get(&rel) {
            // a state file the loader did not read (`unread_state`)
            Some(Some(h)) if *h == Hash::default() => {
                let h = read_file(abs).map(|(_, hash)| hash);
                self.known.insert(rel.clone(), h);
                h
            }
            Some(h) => *h,
            None => {
                let h = match read_file(abs) {
                    Some((mut file, hash)) => {
                        file.path.clone_from(&rel);
                        self.added.push(file);
                        Some(hash)
                    }
                    None => None,
                };
                self.known.insert(rel.clone(), h);
                h
            }
        };
        if hash.is_none() && std::fs::symlink_metadata(abs).is_ok() {
            // there, but not read: the next snapshot must try again
            self.unreadable.push(abs.to_path_buf());
        }
        if hash.is_none() && call.name != "fileexists" {
            self.warnings.push(warn(
                &node.loc,
                format!(
                    "{}: {path} reads {given:?}, which is not a readable file: Terraform fails to plan such a configuration",
                    node.address
                ),
            ));
        }
        Some((
            rel,
            hash.map_or_else(|| MISSING.to_string(), |h| h.to_hex()),
        ))
    }
}

fn warn(loc: &Loc, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        loc: loc.clone(),
        message,
        source_line: None,
    }
}

fn unresolved(node: &rewind_model::Node, path: &rewind_model::Path, call: &Call) -> Diagnostic {
    let shown: Vec<String> = call.args.iter().map(|a| a.to_string()).collect();
    warn(
        &node.loc,
        format!(
            "{}: {path} calls {}({}), whose path is not known without evaluating the configuration: the file is not stored, so a diff or plan of this snapshot cannot see it change (paths built from path.module, path.root and literals are followed)",
            node.address,
            call.name,
            shown.join(", ")
        ),
    )
}

/// Reads a regular file: a source file of the snapshot (its bytes kept).
fn read_file(abs: &Path) -> Option<(SourceFile, Hash)> {
    let f = rewind_parse::load::source_file(abs, FileKind::Template).ok()?;
    let hash = f.hash;
    Some((f, hash))
}

/// The files `fileset(dir, pattern)` matches, as (path as the
/// configuration would name it, absolute path); an error when `dir`
/// leaves the tree.
fn fileset(
    root_abs: &Path,
    base: &Path,
    dir: &str,
    pattern: &str,
) -> Result<Vec<(String, PathBuf)>, String> {
    let start = normalize(&root_abs.join(dir));
    if !start.starts_with(base) {
        return Err(format!(
            "fileset({dir:?}, {pattern:?}) outside the snapshot's directory tree ({}): its files are not stored",
            base.display()
        ));
    }
    let files = rewind_eval::DirFiles::new(root_abs, base);
    let names = rewind_eval::Files::glob(&files, dir, pattern)
        .map_err(|e| format!("fileset({dir:?}, {pattern:?}), but {e}: its files are not stored"))?;
    Ok(names
        .into_iter()
        .map(|n| (format!("{dir}/{n}"), start.join(&n)))
        .collect())
}

/// The path from directory `from` to `to`, as Terraform writes
/// `path.module` (`.` for the same directory).
fn relative(from: &Path, to: &Path) -> String {
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = Vec::new();
    for _ in common..a.len() {
        parts.push("..".into());
    }
    for c in &b[common..] {
        parts.push(c.as_os_str().to_string_lossy().into_owned());
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn normalize(p: &Path) -> PathBuf {
    rewind_parse::load::normalize(p)
}

/// Every call of a file function in a value tree, with the attribute it
/// is in.
fn collect_values<'a>(
    v: &'a Value,
    at: &mut Vec<PathStep>,
    out: &mut Vec<(rewind_model::Path, Call<'a>)>,
) {
    match v {
        Value::Map(m) => {
            for (k, v) in m {
                at.push(PathStep::Key(k.clone()));
                collect_values(v, at, out);
                at.pop();
            }
        }
        Value::List(l) => {
            for (i, v) in l.iter().enumerate() {
                at.push(PathStep::Index(i));
                collect_values(v, at, out);
                at.pop();
            }
        }
        Value::Expr(e) => collect_expr(e, at, false, out),
        _ => {}
    }
}

fn collect_expr<'a>(
    e: &'a Expr,
    at: &[PathStep],
    fs: bool,
    out: &mut Vec<(rewind_model::Path, Call<'a>)>,
) {
    let mut go = |e: &'a Expr| collect_expr(e, at, fs, out);
    match e {
        Expr::Call { name, args, .. } => {
            // Terraform's own functions, also as `core::NAME` (a
            // provider's functions are `provider::...`)
            let bare = name.strip_prefix("core::").unwrap_or(name);
            if reads_one_file(bare) || bare == "fileset" {
                out.push((
                    rewind_model::Path(at.to_vec()),
                    Call {
                        name: bare,
                        args,
                        over_fileset: fs,
                    },
                ));
            }
            for a in args {
                collect_expr(a, at, fs, out);
            }
        }
        Expr::Template(parts) => collect_parts(parts, at, fs, out),
        Expr::Tuple(items) => items.iter().for_each(go),
        Expr::Object(items) => {
            for (k, v) in items {
                collect_expr(k, at, fs, out);
                collect_expr(v, at, fs, out);
            }
        }
        Expr::Traversal { ops, .. } => collect_ops(ops, at, fs, out),
        Expr::Postfix(inner, ops) => {
            collect_expr(inner, at, fs, out);
            collect_ops(ops, at, fs, out);
        }
        Expr::Unary(_, x) | Expr::Paren(x) => go(x),
        Expr::Binary(_, x, y) => {
            collect_expr(x, at, fs, out);
            collect_expr(y, at, fs, out);
        }
        Expr::Cond(c, t, f) => {
            collect_expr(c, at, fs, out);
            collect_expr(t, at, fs, out);
            collect_expr(f, at, fs, out);
        }
        Expr::For(f) => {
            collect_expr(&f.coll, at, fs, out);
            let inner = fs || is_fileset(&f.coll);
            if let Some(k) = &f.key {
                collect_expr(k, at, inner, out);
            }
            collect_expr(&f.value, at, inner, out);
            if let Some(c) = &f.cond {
                collect_expr(c, at, inner, out);
            }
        }
        Expr::Null | Expr::Bool(_) | Expr::Number(_) => {}
    }
}

/// Is `e` a call of `fileset()` (a `for` over it iterates stored files)?
fn is_fileset(e: &Expr) -> bool {
    matches!(e.unparen(), Expr::Call { name, .. } if name.strip_prefix("core::").unwrap_or(name) == "fileset")
}

fn collect_ops<'a>(
    ops: &'a [TravOp],
    at: &[PathStep],
    fs: bool,
    out: &mut Vec<(rewind_model::Path, Call<'a>)>,
) {
    for op in ops {
        if let TravOp::Index(i) = op {
            collect_expr(i, at, fs, out);
        }
    }
}

fn collect_parts<'a>(
    parts: &'a [Part],
    at: &[PathStep],
    fs: bool,
    out: &mut Vec<(rewind_model::Path, Call<'a>)>,
) {
    for p in parts {
        match p {
            Part::Lit(_) => {}
            Part::Interp(e) => collect_expr(e, at, fs, out),
            Part::If {
                cond,
                then,
                otherwise,
            } => {
                collect_expr(cond, at, fs, out);
                collect_parts(then, at, fs, out);
                collect_parts(otherwise, at, fs, out);
            }
            Part::For(f) => {
                collect_expr(&f.coll, at, fs, out);
                collect_parts(&f.body, at, fs || is_fileset(&f.coll), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory, removed on drop.
    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Files whose text names no file function are not looked through
    /// for calls, but a call still counts when an override file beside a
    /// clean file merges it in, or a JSON file spells the name in escapes.
    #[test]
    fn calls_are_found_wherever_a_file_function_can_be_named() {
        let dir = std::env::temp_dir().join(format!("rewind-reads-clean-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Scratch(dir.clone());
        for d in ["plain", "over", "json"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
            std::fs::write(dir.join(d).join("x.txt"), "x").unwrap();
        }
        let resource = "resource \"terraform_data\" \"a\" {\n  input = \"none\"\n}\n";
        std::fs::write(dir.join("plain/main.tf"), resource).unwrap();
        std::fs::write(
            dir.join("plain/other.tf"),
            "resource \"terraform_data\" \"b\" {\n  input = file(\"x.txt\")\n}\n",
        )
        .unwrap();
        std::fs::write(dir.join("over/main.tf"), resource).unwrap();
        std::fs::write(
            dir.join("over/main_override.tf"),
            "resource \"terraform_data\" \"a\" {\n  input = file(\"x.txt\")\n}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("json/main.tf.json"),
            r#"{"resource": {"terraform_data": {"a": {"input": "${\u0066ile(\"x.txt\")}"}}}}"#,
        )
        .unwrap();
        let reads = |d: &str| {
            let mut loaded = rewind_parse::load(&scratch.0.join(d), &Default::default()).unwrap();
            let clean: Vec<String> = files_without_calls(&loaded.files)
                .into_iter()
                .map(str::to_string)
                .collect();
            add_reads(&mut loaded);
            let read: Vec<String> = loaded
                .model
                .nodes
                .iter()
                .filter(|n| n.facts.more.reads.is_some())
                .map(|n| n.address.clone())
                .collect();
            (clean, read)
        };
        // main.tf is skipped, other.tf looked through
        assert_eq!(
            reads("plain"),
            (
                vec!["main.tf".to_string()],
                vec!["terraform_data.b".to_string()]
            )
        );
        assert_eq!(
            reads("over"),
            (vec![], vec!["terraform_data.a".to_string()])
        );
        assert_eq!(
            reads("json"),
            (vec![], vec!["terraform_data.a".to_string()])
        );
    }

    /// The files of a module recorded by content: a present file by its
    /// hash (and added to the snapshot's files), a missing one as missing
    /// with a warning, except when only `fileexists()` asks about it.
    /// A state file the loader left unread (`unread_state`, as `graph`
    /// asks) and the configuration reads: its reads fact holds the
    /// file's real hash, as when the loader read it, and nothing is added
    /// twice.
    #[test]
    fn an_unread_state_read_by_the_configuration_is_hashed() {
        let dir = std::env::temp_dir().join(format!("rewind-reads-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Scratch(dir.clone());
        std::fs::create_dir_all(&dir).unwrap();
        let state = r#"{"version": 4, "serial": 3, "lineage": "x", "resources": []}"#;
        std::fs::write(dir.join("terraform.tfstate"), state).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            "resource \"terraform_data\" \"a\" {\n  input = filesha256(\"terraform.tfstate\")\n}\n",
        )
        .unwrap();
        let reads_of = |unread: bool| {
            let opts = rewind_parse::Options {
                skip_state: true,
                unread_state: unread,
                ..Default::default()
            };
            let mut loaded = rewind_parse::load(&scratch.0, &opts).unwrap();
            let before = loaded.files.len();
            add_reads(&mut loaded);
            assert_eq!(loaded.files.len(), before, "nothing added");
            let node = loaded
                .model
                .nodes
                .iter()
                .find(|n| n.address == "terraform_data.a")
                .unwrap();
            node.facts.more.reads.clone().expect("a reads fact")
        };
        let read = reads_of(false);
        let unread = reads_of(true);
        assert_eq!(read, unread);
        let hash = unread
            .get("input")
            .and_then(|m| m.get("terraform.tfstate"))
            .and_then(Value::as_str)
            .map(str::to_string);
        assert_eq!(hash, Some(Hash::of(state.as_bytes()).to_hex()));
    }

    #[test]
    fn present_and_missing_files_are_recorded_and_missing_ones_warned_about() {
        let dir = std::env::temp_dir().join(format!("rewind-reads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let scratch = Scratch(dir.clone());
        std::fs::create_dir_all(dir.join("conf")).unwrap();
        std::fs::write(dir.join("conf/app.txt"), "port = 8080\n").unwrap();
        std::fs::write(
            dir.join("main.tf"),
            r#"resource "terraform_data" "a" {
  input = {
    present = file("${path.module}/conf/app.txt")
    absent  = file("conf/gone.txt")
    maybe   = fileexists("conf/other.txt")
  }
}
"#,
        )
        .unwrap();
        let mut loaded = rewind_parse::load(&scratch.0, &rewind_parse::Options::default()).unwrap();
        let before = loaded.files.len();
        add_reads(&mut loaded);

        // the file read is added to what the snapshot stores
        let added: Vec<&SourceFile> = loaded.files[before..].iter().collect();
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].path, "conf/app.txt");
        assert_eq!(loaded.parsed.len(), loaded.files.len());

        let node = loaded
            .model
            .nodes
            .iter()
            .find(|n| n.address == "terraform_data.a")
            .unwrap();
        let reads = node.facts.more.reads.as_ref().expect("a reads fact");
        let file_of = |attr: &str, file: &str| -> Option<String> {
            reads
                .get(attr)
                .and_then(|m| m.get(file))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        assert_eq!(
            file_of("input.present", "conf/app.txt"),
            Some(added[0].hash.to_hex()),
            "{reads:?}"
        );
        assert_eq!(
            file_of("input.absent", "conf/gone.txt").as_deref(),
            Some(MISSING),
            "{reads:?}"
        );
        assert_eq!(
            file_of("input.maybe", "conf/other.txt").as_deref(),
            Some(MISSING),
            "{reads:?}"
        );

        let warnings: Vec<&str> = loaded
            .model
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        let missing: Vec<&&str> = warnings
            .iter()
            .filter(|w| w.contains("which is not a readable file"))
            .collect();
        assert_eq!(missing.len(), 1, "{warnings:?}");
        assert!(missing[0].contains("\"conf/gone.txt\""), "{warnings:?}");
    }
}
