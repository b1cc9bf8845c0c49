//! Filesystem functions: paths (`abspath`, `basename`, `dirname`,
//! `pathexpand`), file contents (`file`, `filebase64`, the file hashes),
//! `fileexists`, `fileset` and `templatefile`.
//!
//! Files are read through the scope's [`Files`](crate::Files), with paths
//! as Terraform resolves them: relative to the working directory (the root
//! module), cleaned. Where the scope has no files, or a path needs the home
//! directory (`~`), the result is unknown and a note says why.

use super::crypto::hash_of;
use super::*;
use crate::expr::Files;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &[
    "abspath",
    "basename",
    "dirname",
    "file",
    "filebase64",
    "filebase64sha256",
    "filebase64sha512",
    "fileexists",
    "filemd5",
    "fileset",
    "filesha1",
    "filesha256",
    "filesha512",
    "pathexpand",
    "templatefile",
];

/// The functions that read files (Terraform refuses them in
/// `templatestring` templates).
pub(super) const READ_FILES: &[&str] = &[
    "file",
    "fileexists",
    "fileset",
    "filebase64",
    "filebase64sha256",
    "filebase64sha512",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesha512",
    "templatefile",
];

const PATH: Param = p!("path", P::String);
const PATH_ANY: Param = pf!("path", P::String, UNKNOWN_OK | MARKED_OK);

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = fixed;
    Some(match name {
        "basename" => s(&[PATH], ret_string, |_, a| {
            Ok(Value::string(go_base(arg_str(a, 0))))
        }),
        "dirname" => s(&[PATH], ret_string, |_, a| {
            Ok(Value::string(go_dir(arg_str(a, 0))))
        }),
        "abspath" => s(&[PATH], ret_string, abspath),
        "pathexpand" => s(&[PATH], ret_string, |ev, a| {
            let p = arg_str(a, 0);
            match home_relative(p)? {
                false => Ok(Value::string(p)),
                true => Ok(home_unknown(ev, "pathexpand", Type::String)),
            }
        }),
        "file" => s(&[PATH_ANY], ret_string, |ev, a| file(ev, a, false)),
        "filebase64" => s(&[PATH_ANY], ret_string, |ev, a| file(ev, a, true)),
        "filemd5" => s(&[PATH], ret_string, |ev, a| file_hash(ev, a, "filemd5")),
        "filesha1" => s(&[PATH], ret_string, |ev, a| file_hash(ev, a, "filesha1")),
        "filesha256" => s(&[PATH], ret_string, |ev, a| file_hash(ev, a, "filesha256")),
        "filesha512" => s(&[PATH], ret_string, |ev, a| file_hash(ev, a, "filesha512")),
        "filebase64sha256" => s(&[PATH], ret_string, |ev, a| {
            file_hash(ev, a, "filebase64sha256")
        }),
        "filebase64sha512" => s(&[PATH], ret_string, |ev, a| {
            file_hash(ev, a, "filebase64sha512")
        }),
        "fileexists" => s(&[PATH_ANY], ret_bool, fileexists),
        "fileset" => s(
            &[PATH_ANY, pf!("pattern", P::String, UNKNOWN_OK | MARKED_OK)],
            |_| Type::set(Type::String),
            fileset,
        ),
        "templatefile" => Spec {
            params: &[PATH_ANY, pf!("vars", P::Any, UNKNOWN_OK | MARKED_OK)],
            var_param: None,
            ret: ret_dynamic,
            partial: true,
            imp: templatefile,
        },
        _ => return None,
    })
}

/// The files of the scope, or `None` after a note (the caller returns an
/// unknown value).
fn files<'s>(ev: &mut Evaluator<'s>, func: &str) -> Option<&'s dyn Files> {
    let f = ev.scope().files();
    if f.is_none() {
        ev.note(format!(
            "function {func}() reads files this evaluation does not have: its result is a value rewind cannot see, the same for the same call (a change of the file's content is not seen)"
        ));
    }
    f
}

/// Whether a path starts with the home directory (`~` or `~/...`);
/// `~user` is Terraform's error.
fn home_relative(p: &str) -> Result<bool> {
    let b = p.as_bytes();
    if b.first() != Some(&b'~') {
        return Ok(false);
    }
    if b.len() > 1 && b[1] != b'/' && b[1] != b'\\' {
        return Err(fail("cannot expand user-specific home dir"));
    }
    Ok(true)
}

fn home_unknown(ev: &mut Evaluator, func: &str, ty: Type) -> Value {
    ev.note(format!(
        "function {func}() was given a path in the home directory (~), which depends on the machine that runs Terraform: its result is treated as unknown"
    ));
    Value::Unknown(ty)
}

/// The path a file function opens: `~` refused (see [`home_relative`]),
/// relative paths from the working directory, cleaned.
fn resolve(p: &str) -> String {
    go_clean(p)
}

fn abspath(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let p = arg_str(a, 0);
    if p.starts_with('/') {
        return Ok(Value::string(go_clean(p)));
    }
    match ev.scope().files().and_then(|f| f.working_dir()) {
        Some(wd) => Ok(Value::string(go_clean(&format!("{wd}/{p}")))),
        None => {
            ev.note(
                "function abspath() of a relative path depends on the directory Terraform runs in, which this evaluation does not know: its result is treated as unknown"
                    .to_string(),
            );
            Ok(Value::Unknown(Type::String))
        }
    }
}

/// Reads a file for `file`, `filebase64` and `templatefile`.
fn read(ev: &mut Evaluator, func: &str, path: &str, shown: &str) -> Result<Option<Vec<u8>>> {
    if home_relative(path).map_err(|e| fail(format!("failed to expand ~: {}", e.detail)))? {
        return Ok(None);
    }
    let Some(fs) = files(ev, func) else {
        return Ok(None);
    };
    let p = resolve(path);
    match fs.read(&p) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(_) if fs.outside(&p) => {
            outside_note(ev, func, shown);
            Ok(None)
        }
        Err(e) => {
            if fs.exists(&p) == Ok(false) {
                return Err(arg_error(0, "path", format!("no file exists at {shown}; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource")));
            }
            Err(arg_error(0, "path", e))
        }
    }
}

/// Notes that `func` read `shown`, a file outside what rewind reads.
fn outside_note(ev: &mut Evaluator, func: &str, shown: &str) {
    ev.note(format!(
        "function {func}() reads {shown}, outside the configuration's directory tree (or through a symbolic link leading out of it), which rewind neither reads nor stores: its result is a value rewind cannot see, the same for the same call (a change of the file's content is not seen)"
    ));
}

fn arg_error(_index: usize, name: &str, msg: impl std::fmt::Display) -> EvalError {
    EvalError::new(
        "Invalid function argument",
        format!("Invalid value for {name:?} parameter: {msg}."),
    )
}

/// `file(path)` and `filebase64(path)`.
fn file(ev: &mut Evaluator, a: &[Value], base64: bool) -> Result<Value> {
    let (path, marked) = a[0].unmark();
    if !path.is_known() {
        return Ok(Value::Unknown(Type::String).mark_if(marked));
    }
    let p = path.as_str().unwrap_or_default();
    let shown = if marked {
        "(sensitive value)".to_string()
    } else {
        p.to_string()
    };
    let func = if base64 { "filebase64" } else { "file" };
    let Some(bytes) = read(ev, func, p, &shown)? else {
        return Ok(unknown_after_home(ev, func, a, Type::String).mark_if(marked));
    };
    let v = if base64 {
        Value::string(super::crypto::Enc::Base64.encode(&bytes))
    } else {
        let text = String::from_utf8(bytes).map_err(|_| {
            fail(format!("contents of {shown} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead"))
        })?;
        Value::string(text)
    };
    Ok(v.mark_if(marked))
}

/// The result of a file function that could not read: unknown for a
/// home path (it depends on the machine); without files (a snapshot that
/// does not hold them) a value rewind cannot see, the same for the same
/// call, so an unchanged call is no change (a note says so).
fn unknown_after_home(ev: &mut Evaluator, func: &str, args: &[Value], ty: Type) -> Value {
    let p = args.first().and_then(Value::as_str).unwrap_or_default();
    if p.starts_with('~') {
        home_unknown(ev, func, ty)
    } else {
        ev.opaque_call(func, args, ty)
    }
}

fn file_hash(ev: &mut Evaluator, a: &[Value], func: &str) -> Result<Value> {
    let p = arg_str(a, 0);
    let (h, enc) = hash_of(func).ok_or_else(|| fail(format!("no hash function {func}")))?;
    // the hash functions report a file they cannot open as a failed call
    let bytes = read(ev, func, p, p).map_err(|e| {
        if e.detail.contains("no file exists") {
            fail(format!("open {}: no such file or directory", resolve(p)))
        } else {
            fail(e.detail)
        }
    })?;
    match bytes {
        Some(bytes) => Ok(Value::string(enc.encode(&h.digest(&bytes)))),
        None => Ok(unknown_after_home(ev, func, a, Type::String)),
    }
}

fn fileexists(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (path, marked) = a[0].unmark();
    if !path.is_known() {
        return Ok(Value::Unknown(Type::Bool).mark_if(marked));
    }
    let p = path.as_str().unwrap_or_default();
    if home_relative(p).map_err(|e| fail(format!("failed to expand ~: {}", e.detail)))? {
        return Ok(home_unknown(ev, "fileexists", Type::Bool).mark_if(marked));
    }
    let Some(fs) = files(ev, "fileexists") else {
        return Ok(Value::Unknown(Type::Bool).mark_if(marked));
    };
    let r = resolve(p);
    if fs.outside(&r) {
        let shown = if marked { "(sensitive value)" } else { p };
        outside_note(ev, "fileexists", shown);
        return Ok(ev.opaque_call("fileexists", a, Type::Bool));
    }
    // Terraform reports what is there and is no file against argument
    // 1 of a function of one argument: a failed call
    match fs.exists(&r) {
        Ok(b) => Ok(Value::Bool(b).mark_if(marked)),
        Err(e) => Err(fail(if marked {
            "(sensitive value)".to_string()
        } else {
            e
        })),
    }
}

fn fileset(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (path, pm) = a[0].unmark();
    let (pattern, qm) = a[1].unmark();
    let marked = pm || qm;
    let ty = Type::set(Type::String);
    if !path.is_known() || !pattern.is_known() {
        return Ok(Value::Unknown(ty).mark_if(marked));
    }
    let Some(fs) = files(ev, "fileset") else {
        return Ok(Value::Unknown(ty).mark_if(marked));
    };
    let base = go_clean(path.as_str().unwrap_or_default());
    let full = go_clean(&format!("{base}/{}", pattern.as_str().unwrap_or_default()));
    // the pattern's leading components without wildcards name the
    // directory the files are listed from
    let comps: Vec<&str> = full.split('/').collect();
    let lit = comps
        .iter()
        .take_while(|c| !has_meta(c))
        .count()
        .min(comps.len().saturating_sub(1));
    let dir = if lit == 0 {
        if full.starts_with('/') {
            "/".to_string()
        } else {
            ".".to_string()
        }
    } else {
        let d = comps[..lit].join("/");
        if d.is_empty() {
            "/".to_string()
        } else {
            d
        }
    };
    let rest = comps[lit..].join("/");
    // a malformed pattern is Terraform's error
    glob_match(&rest, "").map_err(|e| {
        fail(format!(
            "failed to glob pattern {}: {e}",
            if marked { "(sensitive value)" } else { &full }
        ))
    })?;
    if fs.outside(&dir) {
        let shown = if marked { "(sensitive value)" } else { &dir };
        outside_note(ev, "fileset", shown);
        return Ok(ev.opaque_call("fileset", a, ty));
    }
    let found = fs
        .glob(&dir, &rest)
        .map_err(|e| fail(format!("failed to glob pattern {full}: {e}")))?;
    ev.spend(found.len() as u64)?;
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        let abs = go_clean(&format!("{dir}/{f}"));
        out.push(Value::string(relative(&base, &abs)));
    }
    Ok(Value::set_of(Type::String, out).mark_if(marked))
}

fn has_meta(c: &str) -> bool {
    c.contains(['*', '?', '[', '{', '\\'])
}

/// Go's `filepath.Rel` for two cleaned paths of the same kind (both
/// relative or both absolute).
fn relative(base: &str, target: &str) -> String {
    if base == target {
        return ".".into();
    }
    let split = |p: &str| -> Vec<String> {
        if p == "." {
            Vec::new()
        } else {
            p.trim_start_matches('/')
                .split('/')
                .map(str::to_string)
                .collect()
        }
    };
    let b = split(base);
    let t = split(target);
    let common = b.iter().zip(t.iter()).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); b.len() - common];
    parts.extend(t[common..].iter().cloned());
    parts.join("/")
}

/// Whether `path` (components separated by `/`) matches the glob
/// `pattern` as Terraform's `fileset` matches (doublestar v1): `*`, `?`,
/// `[class]` (`^` or `!` to negate), `{a,b}` alternatives, `\` escapes, and
/// `**` as a whole component for zero or more directories. An error for a
/// malformed pattern. For implementations of [`Files::glob`].
pub fn glob_match(pattern: &str, path: &str) -> std::result::Result<bool, String> {
    let pat: Vec<&str> = pattern.split('/').collect();
    for c in &pat {
        check_component(c)?;
    }
    let comps: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    match_components(&pat, &comps)
}

fn match_components(pat: &[&str], path: &[&str]) -> std::result::Result<bool, String> {
    match pat.split_first() {
        None => Ok(path.is_empty()),
        Some((&"**", rest)) => {
            for skip in 0..=path.len() {
                if match_components(rest, &path[skip..])? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some((p, rest)) => match path.split_first() {
            None => Ok(false),
            Some((c, tail)) => Ok(match_component(p, c)? && match_components(rest, tail)?),
        },
    }
}

fn check_component(p: &str) -> std::result::Result<(), String> {
    let c: Vec<char> = p.chars().collect();
    let mut i = 0;
    let mut braces = 0i32;
    while i < c.len() {
        match c[i] {
            '\\' => {
                if i + 1 >= c.len() {
                    return Err("syntax error in pattern".into());
                }
                i += 1;
            }
            '[' => {
                let close = class_end(&c, i + 1).ok_or("syntax error in pattern")?;
                i = close;
            }
            '{' => braces += 1,
            '}' => braces -= 1,
            _ => {}
        }
        i += 1;
    }
    if braces != 0 {
        return Err("syntax error in pattern".into());
    }
    Ok(())
}

/// The index of the `]` closing a class that starts at `start` (after
/// `[`).
fn class_end(c: &[char], start: usize) -> Option<usize> {
    let mut i = start;
    if i < c.len() && c[i] == '^' {
        i += 1;
    }
    let first = i;
    while i < c.len() {
        match c[i] {
            ']' if i > first => return Some(i),
            '\\' => i += 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// One component against one name (no `/` in either).
fn match_component(p: &str, name: &str) -> std::result::Result<bool, String> {
    let pc: Vec<char> = p.chars().collect();
    let nc: Vec<char> = name.chars().collect();
    Ok(match_chars(&pc, &nc))
}

fn match_chars(p: &[char], n: &[char]) -> bool {
    let Some(&first) = p.first() else {
        return n.is_empty();
    };
    match first {
        '*' => {
            let rest = &p[1..];
            (0..=n.len()).any(|k| match_chars(rest, &n[k..]))
        }
        '?' => !n.is_empty() && match_chars(&p[1..], &n[1..]),
        '\\' if p.len() > 1 => n.first() == Some(&p[1]) && match_chars(&p[2..], &n[1..]),
        '[' => {
            let Some(end) = class_end(p, 1) else {
                return false;
            };
            let Some(&ch) = n.first() else {
                return false;
            };
            class_matches(&p[1..end], ch) && match_chars(&p[end + 1..], &n[1..])
        }
        '{' => {
            // the alternatives up to the matching brace, each followed by
            // the rest of the pattern
            let mut depth = 0;
            let mut end = None;
            let mut splits = vec![1usize];
            let mut i = 0;
            while i < p.len() {
                match p[i] {
                    '\\' => i += 1,
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(i);
                            break;
                        }
                    }
                    ',' if depth == 1 => splits.push(i + 1),
                    _ => {}
                }
                i += 1;
            }
            let Some(end) = end else {
                return false;
            };
            splits.push(end + 1);
            let rest = &p[end + 1..];
            splits.windows(2).any(|w| {
                let mut alt: Vec<char> = p[w[0]..w[1] - 1].to_vec();
                alt.extend_from_slice(rest);
                match_chars(&alt, n)
            })
        }
        c => n.first() == Some(&c) && match_chars(&p[1..], &n[1..]),
    }
}

fn class_matches(class: &[char], ch: char) -> bool {
    // doublestar v1 negates with `^` only (`!` is a character)
    let (neg, class) = match class.first() {
        Some('^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < class.len() {
        let mut lo = class[i];
        if lo == '\\' && i + 1 < class.len() {
            i += 1;
            lo = class[i];
        }
        let mut hi = lo;
        if i + 2 < class.len() && class[i + 1] == '-' {
            hi = class[i + 2];
            if hi == '\\' && i + 3 < class.len() {
                hi = class[i + 3];
                i += 1;
            }
            i += 2;
        }
        if lo <= ch && ch <= hi {
            hit = true;
        }
        i += 1;
    }
    hit != neg
}

/// Go's `filepath.Clean` (Unix): one slash between components, no `.`,
/// `..` resolved where it can be, `.` for an empty result.
pub(crate) fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Go's `filepath.Base`.
fn go_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    match t.rfind('/') {
        Some(i) => t[i + 1..].to_string(),
        None => t.to_string(),
    }
}

/// Go's `filepath.Dir`.
fn go_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    go_clean(dir)
}

/// `templatefile(path, vars)`.
fn templatefile(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (path, pm) = a[0].unmark();
    let (vars, vm) = a[1].unmark_deep();
    if !path.is_known() || !vars.is_known() {
        return Ok(Value::unknown().mark_if(pm || vm));
    }
    let p = path.as_str().unwrap_or_default();
    let shown = if pm {
        "(sensitive value)".to_string()
    } else {
        p.to_string()
    };
    let Some(bytes) = read(ev, "templatefile", p, &shown)? else {
        return Ok(unknown_after_home(ev, "templatefile", a, Type::Dynamic).mark_if(pm || vm));
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(format!(
            "contents of {shown} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead"
        ))
    })?;
    let parts = rewind_parse::hcl::parse_template(&text)
        .map_err(|e| fail(format!("failed to parse template {shown}: {e:?}")))?;
    let v = super::template::render(ev, &parts, &vars, true)?;
    Ok(v.mark_if(pm || vm))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_as_go_cleans_and_splits_them() {
        for (p, clean, base, dir) in [
            ("", ".", ".", "."),
            ("a/b/../c/./d/", "a/c/d", "d", "a/c/d"),
            ("/", "/", "/", "/"),
            ("//a//b", "/a/b", "b", "/a"),
            ("../../x", "../../x", "x", "../.."),
            ("/../x", "/x", "x", "/.."),
            ("foo", "foo", "foo", "."),
            ("foo/", "foo", "foo", "foo"),
        ] {
            assert_eq!(go_clean(p), clean, "clean {p:?}");
            assert_eq!(go_base(p), base, "base {p:?}");
            assert_eq!(go_dir(p), go_clean(dir), "dir {p:?}");
        }
        assert_eq!(relative("a", "a/b/c"), "b/c");
        assert_eq!(relative("a/x", "a/b"), "../b");
        assert_eq!(relative(".", "a"), "a");
    }

    #[test]
    fn globs_match_as_doublestar() {
        let m = |p: &str, n: &str| glob_match(p, n).unwrap();
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", "d/a.txt"));
        assert!(m("**/*.txt", "a.txt"));
        assert!(m("**/*.txt", "d/e/a.txt"));
        assert!(m("d/**", "d/e/a.txt"));
        assert!(m("{a,b}.txt", "b.txt"));
        assert!(!m("{a,b}.txt", "c.txt"));
        assert!(m("[a-c]?.md", "bx.md"));
        assert!(!m("[^a-c]?.md", "bx.md"));
        assert!(m("[!a-c]?.md", "bx.md"));
        assert!(m("\\*", "*"));
        assert!(glob_match("[", "x").is_err());
        assert!(glob_match("{a", "x").is_err());
    }
}
