//! Attribute-level differences between two value trees.

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use rewind_model::{Path, Value};
use similar::{capture_diff_slices, Algorithm, DiffOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrOp {
    Add,
    Remove,
    Modify,
}

impl AttrOp {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrOp::Add => "add",
            AttrOp::Remove => "remove",
            AttrOp::Modify => "modify",
        }
    }
}

/// One changed attribute path. The values of a sensitive change are
/// absent (never copied out of the model) unless sensitive output was
/// asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrChange {
    pub path: Path,
    pub op: AttrOp,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
}

fn hash_of(v: &Value) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// The changes from `a` to `b`. `sensitive` says which paths hold secrets.
pub(crate) fn diff_values(
    a: &Value,
    b: &Value,
    sensitive: &dyn Fn(&Path) -> bool,
    show_sensitive: bool,
) -> Vec<AttrChange> {
    let mut out = Vec::new();
    walk(
        Some(a),
        Some(b),
        Path::root(),
        sensitive,
        show_sensitive,
        &mut out,
    );
    out
}

fn push(
    out: &mut Vec<AttrChange>,
    path: Path,
    op: AttrOp,
    a: Option<&Value>,
    b: Option<&Value>,
    sensitive: &dyn Fn(&Path) -> bool,
    show: bool,
) {
    let secret = sensitive(&path);
    let hide = secret && !show;
    out.push(AttrChange {
        op,
        before: if hide { None } else { a.cloned() },
        after: if hide { None } else { b.cloned() },
        sensitive: secret,
        path,
    });
}

fn walk(
    a: Option<&Value>,
    b: Option<&Value>,
    path: Path,
    sensitive: &dyn Fn(&Path) -> bool,
    show: bool,
    out: &mut Vec<AttrChange>,
) {
    match (a, b) {
        (None, None) => {}
        (Some(x), None) => push(out, path, AttrOp::Remove, Some(x), None, sensitive, show),
        (None, Some(y)) => push(out, path, AttrOp::Add, None, Some(y), sensitive, show),
        (Some(x), Some(y)) if x == y => {}
        (Some(x), Some(y)) => {
            // A secret subtree is reported as one change, without detail
            // (its keys may be secrets too: a sensitive output's map; a
            // secret root is the caller's to ask, since every secret path
            // is under the root).
            if sensitive(&path) && !show && !path.0.is_empty() {
                push(out, path, AttrOp::Modify, Some(x), Some(y), sensitive, show);
                return;
            }
            match (x, y) {
                (Value::Map(mx), Value::Map(my)) => {
                    let keys: BTreeSet<&String> = mx.keys().chain(my.keys()).collect();
                    for k in keys {
                        walk(mx.get(k), my.get(k), path.key(k), sensitive, show, out);
                    }
                }
                (Value::List(lx), Value::List(ly)) => list(lx, ly, path, sensitive, show, out),
                _ => push(out, path, AttrOp::Modify, Some(x), Some(y), sensitive, show),
            }
        }
    }
}

/// Lists are matched by content: an insertion is one insertion, and an
/// element that changed in place is compared field by field.
fn list(
    lx: &[Value],
    ly: &[Value],
    path: Path,
    sensitive: &dyn Fn(&Path) -> bool,
    show: bool,
    out: &mut Vec<AttrChange>,
) {
    let hx: Vec<u64> = lx.iter().map(hash_of).collect();
    let hy: Vec<u64> = ly.iter().map(hash_of).collect();
    for op in capture_diff_slices(Algorithm::Myers, &hx, &hy) {
        match op {
            DiffOp::Equal { .. } => {}
            DiffOp::Delete {
                old_index, old_len, ..
            } => removed(
                lx,
                old_index..old_index + old_len,
                &path,
                sensitive,
                show,
                out,
            ),
            DiffOp::Insert {
                new_index, new_len, ..
            } => added(
                ly,
                new_index..new_index + new_len,
                &path,
                sensitive,
                show,
                out,
            ),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                // the elements of the two runs pair up in order; what is
                // left of the longer run is removed or added
                let paired = old_len.min(new_len);
                for k in 0..paired {
                    let (i, j) = (old_index + k, new_index + k);
                    changed_in_place(&lx[i], &ly[j], path.index(j), sensitive, show, out);
                }
                let rest = old_index + paired..old_index + old_len;
                removed(lx, rest, &path, sensitive, show, out);
                let rest = new_index + paired..new_index + new_len;
                added(ly, rest, &path, sensitive, show, out);
            }
        }
    }
}

/// The elements `range` of the old list `lx` (at `path`), removed.
fn removed(
    lx: &[Value],
    range: std::ops::Range<usize>,
    path: &Path,
    sensitive: &dyn Fn(&Path) -> bool,
    show: bool,
    out: &mut Vec<AttrChange>,
) {
    for (i, x) in lx.iter().enumerate().take(range.end).skip(range.start) {
        push(
            out,
            path.index(i),
            AttrOp::Remove,
            Some(x),
            None,
            sensitive,
            show,
        );
    }
}

/// The elements `range` of the new list `ly` (at `path`), added.
fn added(
    ly: &[Value],
    range: std::ops::Range<usize>,
    path: &Path,
    sensitive: &dyn Fn(&Path) -> bool,
    show: bool,
    out: &mut Vec<AttrChange>,
) {
    for (j, y) in ly.iter().enumerate().take(range.end).skip(range.start) {
        push(
            out,
            path.index(j),
            AttrOp::Add,
            None,
            Some(y),
            sensitive,
            show,
        );
    }
}

/// An element that changed in place from `x` to `y` (at `path`): of the
/// same kind (two maps, two lists), compared inside; else replaced.
fn changed_in_place(
    x: &Value,
    y: &Value,
    path: Path,
    sensitive: &dyn Fn(&Path) -> bool,
    show: bool,
    out: &mut Vec<AttrChange>,
) {
    let comparable = matches!(
        (x, y),
        (Value::Map(_), Value::Map(_)) | (Value::List(_), Value::List(_))
    );
    if comparable {
        walk(Some(x), Some(y), path, sensitive, show, out);
    } else {
        push(out, path, AttrOp::Modify, Some(x), Some(y), sensitive, show);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(items: &[(&str, Value)]) -> Value {
        Value::Map(
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn rule(port: &str, cidr: &str) -> Value {
        map(&[
            ("from_port", Value::number(port)),
            ("cidr_blocks", Value::List(vec![Value::str(cidr)])),
        ])
    }

    #[test]
    fn an_insertion_in_a_list_is_one_insertion() {
        let a = map(&[(
            "ingress",
            Value::List(vec![rule("22", "10.0.0.0/8"), rule("443", "0.0.0.0/0")]),
        )]);
        let b = map(&[(
            "ingress",
            Value::List(vec![
                rule("22", "10.0.0.0/8"),
                rule("80", "0.0.0.0/0"),
                rule("443", "0.0.0.0/0"),
            ]),
        )]);
        let d = diff_values(&a, &b, &|_| false, false);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path.to_string(), "ingress[1]");
        assert_eq!(d[0].op, AttrOp::Add);
    }

    #[test]
    fn a_changed_element_is_compared_inside() {
        let a = map(&[(
            "ingress",
            Value::List(vec![rule("22", "10.0.0.0/8"), rule("443", "0.0.0.0/0")]),
        )]);
        let b = map(&[(
            "ingress",
            Value::List(vec![rule("22", "10.0.0.0/8"), rule("443", "10.1.0.0/16")]),
        )]);
        let d = diff_values(&a, &b, &|_| false, false);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].path.to_string(), "ingress[1].cidr_blocks[0]");
        assert_eq!(d[0].before, Some(Value::str("0.0.0.0/0")));
    }

    #[test]
    fn secrets_are_not_copied() {
        let a = map(&[
            ("password", Value::str("hunter2")),
            ("name", Value::str("a")),
        ]);
        let b = map(&[
            ("password", Value::str("swordfish")),
            ("name", Value::str("b")),
        ]);
        let secret = |p: &Path| p.to_string() == "password";
        let d = diff_values(&a, &b, &secret, false);
        let pw = d.iter().find(|c| c.path.to_string() == "password").unwrap();
        assert!(pw.sensitive && pw.before.is_none() && pw.after.is_none());
        let shown = diff_values(&a, &b, &secret, true);
        assert_eq!(
            shown
                .iter()
                .find(|c| c.path.to_string() == "password")
                .unwrap()
                .after,
            Some(Value::str("swordfish"))
        );
    }
}
