//! From syntax to meaning: canonical values, normalized expression text and
//! the references an expression makes.

use rewind_model::Map;

use rewind_model::value::quote;
use rewind_model::Value;

use super::ast::*;

/// A reference found in an expression: a root variable and the static
/// steps after it (`aws_vpc.main.id` → root `aws_vpc`, steps `main`, `id`).
/// Index steps are written `[0]` / `["k"]`; a splat or a computed index
/// is `[*]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub root: String,
    /// Attribute names, or index keys written as `[0]` / `["k"]`.
    pub steps: Vec<String>,
    pub pos: u32,
}

/// The canonical value of an expression: literals become values, the rest
/// an expression tree in canonical form. `"${x}"` means the same as `x`.
///
/// The expression is copied whole, then made canonical in its copy
/// ([`Expr::into_canonical`]): cheaper than building the canonical tree
/// node by node, and the values are laid out together in memory. (Taking
/// the parse's own expressions instead saved the copy but scattered the
/// values among the freed syntax tree: 36 MiB more at the peak of a
/// snapshot of 100,000 resources, and slower.)
pub fn to_value(e: &Expr) -> Value {
    into_value(e.clone())
}

/// [`to_value`] of an expression of its own.
fn into_value(e: Expr) -> Value {
    match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(b),
        Expr::Number(n) => Value::number(&n),
        Expr::Template(mut parts) => match parts.as_slice() {
            [] => Value::String(String::new()),
            [Part::Lit(_)] | [Part::Interp(_)] => match parts.pop() {
                Some(Part::Lit(s)) => Value::String(exact(s)),
                Some(Part::Interp(inner)) => into_value(inner),
                _ => unreachable!("one literal or interpolation"),
            },
            _ => Value::expr(Expr::Template(parts)),
        },
        Expr::Tuple(items) => {
            // counted, not collected in place: a value is smaller than an
            // expression, and the list would keep the expressions' room
            let mut list = Vec::with_capacity(items.len());
            list.extend(items.into_iter().map(into_value));
            Value::List(list)
        }
        Expr::Object(items) if items.iter().all(|(k, _)| is_static_key(k)) => {
            let mut m = Map::new();
            for (k, v) in items {
                let key = match k {
                    Expr::Traversal { root, .. } => root,
                    Expr::Template(mut parts) => match parts.pop() {
                        Some(Part::Lit(s)) => s,
                        _ => String::new(),
                    },
                    other => static_key(&other).unwrap_or_default(),
                };
                m.insert(exact(key), into_value(v));
            }
            Value::Map(m)
        }
        Expr::Unary(UnOp::Neg, inner) => match *inner {
            Expr::Number(n) => match Value::number(&n) {
                Value::Number(c) if c == "0" => Value::Number(c),
                Value::Number(c) => Value::Number(format!("-{c}")),
                other => other,
            },
            inner => Value::expr(Expr::Unary(UnOp::Neg, Box::new(inner))),
        },
        Expr::Paren(inner) => into_value(*inner),
        e => Value::expr(e),
    }
}

/// A string of the parse kept in a value, without the spare room it may
/// have been built with (values live as long as the command).
fn exact(mut s: String) -> String {
    s.shrink_to_fit();
    s
}

pub use rewind_model::expr::static_key;

/// Whether [`static_key`] gives `k` a key, without making the key.
pub(crate) fn is_static_key(k: &Expr) -> bool {
    match k {
        Expr::Traversal { ops, .. } => ops.is_empty(),
        Expr::Template(parts) => matches!(parts.as_slice(), [] | [Part::Lit(_)]),
        Expr::Number(_) | Expr::Bool(_) | Expr::Null => true,
        _ => false,
    }
}

/// `f` of the key [`static_key`] gives `k`, borrowed where the text is
/// there already (most keys); `None` for a key that is not static.
pub(crate) fn with_static_key<T>(k: &Expr, f: impl FnOnce(&str) -> T) -> Option<T> {
    match k {
        Expr::Traversal { root, ops, .. } if ops.is_empty() => Some(f(root)),
        Expr::Template(parts) => match parts.as_slice() {
            [] => Some(f("")),
            [Part::Lit(s)] => Some(f(s)),
            _ => None,
        },
        other => static_key(other).map(|k| f(&k)),
    }
}

/// Normalized expression text: one canonical spelling per meaning (single
/// spaces, no comments or redundant parentheses, heredocs as quoted
/// templates, legacy `.0` as `[0]`, `"${x}"` as `x`).
pub fn print_expr(e: &Expr) -> String {
    e.to_string()
}

/// Collects every reference in `e`, skipping variables bound by enclosing
/// `for` expressions and template `for` directives (`bound`).
pub fn collect_refs(e: &Expr, bound: &[String], out: &mut Vec<Reference>) {
    for_each_ref(e, bound, &mut |root, ops, pos| {
        let mut steps = Vec::with_capacity(ops.len());
        for op in ops {
            let mut step = String::new();
            push_step(&mut step, op);
            steps.push(step);
        }
        out.push(Reference {
            root: root.to_string(),
            steps,
            pos,
        });
    });
}

/// What [`collect_refs`] finds, borrowed from `e`: `f` is called with the
/// root name, the traversal's steps and the position of each reference,
/// in the same order (nothing is copied: the sensitivity pass looks at
/// every reference of a configuration). `bound` names variables bound
/// around `e`.
pub(crate) fn for_each_ref<'e>(
    e: &'e Expr,
    bound: &[String],
    f: &mut impl FnMut(&'e str, &'e [TravOp], u32),
) {
    Refs {
        outer: bound,
        inner: Vec::new(),
        f,
    }
    .expr(e);
}

/// The text of a reference's step as [`Reference::steps`] has it: an
/// attribute's name, `[0]` or `["k"]` for a static index, `[*]` for a
/// splat or a computed index (any instance, and the attributes read from
/// it still matter).
pub(crate) fn push_step(out: &mut String, op: &TravOp) {
    use std::fmt::Write as _;
    let index = match op {
        TravOp::Index(e) => Some(&**e),
        _ => None,
    };
    match (op, index) {
        (TravOp::Attr(a), _) => out.push_str(a),
        (TravOp::LegacyIndex(n), _) => {
            let _ = write!(out, "[{n}]");
        }
        (_, Some(Expr::Number(n))) => {
            let _ = write!(out, "[{n}]");
        }
        (_, Some(Expr::Template(p))) if matches!(p.as_slice(), [Part::Lit(_)]) => {
            if let [Part::Lit(s)] = p.as_slice() {
                out.push('[');
                out.push_str(&quote(s));
                out.push(']');
            }
        }
        (TravOp::AttrSplat | TravOp::FullSplat | TravOp::Index(_), _) => out.push_str("[*]"),
    }
}

/// The walk of [`for_each_ref`]: `outer` the variables bound around the
/// expression, `inner` those bound by the `for`s walked into.
struct Refs<'e, 'b, F> {
    outer: &'b [String],
    inner: Vec<&'e str>,
    f: &'b mut F,
}

impl<'e, F: FnMut(&'e str, &'e [TravOp], u32)> Refs<'e, '_, F> {
    fn is_bound(&self, name: &str) -> bool {
        self.inner.contains(&name) || self.outer.iter().any(|b| b == name)
    }

    fn expr(&mut self, e: &'e Expr) {
        match e {
            Expr::Null | Expr::Bool(_) | Expr::Number(_) => {}
            Expr::Template(parts) => self.parts(parts),
            Expr::Tuple(items) => {
                for i in items {
                    self.expr(i);
                }
            }
            Expr::Object(items) => {
                for (k, v) in items {
                    if !is_static_key(k) {
                        self.expr(k);
                    }
                    self.expr(v);
                }
            }
            Expr::Traversal { root, ops, pos } => {
                if !self.is_bound(root) {
                    (self.f)(root, ops, *pos);
                }
                self.ops(ops);
            }
            Expr::Postfix(inner, ops) => {
                self.expr(inner);
                self.ops(ops);
            }
            Expr::Call { args, .. } => {
                for a in args {
                    self.expr(a);
                }
            }
            Expr::Unary(_, inner) | Expr::Paren(inner) => self.expr(inner),
            Expr::Binary(_, l, r) => {
                self.expr(l);
                self.expr(r);
            }
            Expr::Cond(c, a, b) => {
                self.expr(c);
                self.expr(a);
                self.expr(b);
            }
            Expr::For(f) => {
                self.expr(&f.coll);
                let before = self.inner.len();
                if let Some(k) = &f.key_var {
                    self.inner.push(k);
                }
                self.inner.push(&f.value_var);
                if let Some(k) = &f.key {
                    self.expr(k);
                }
                self.expr(&f.value);
                if let Some(c) = &f.cond {
                    self.expr(c);
                }
                self.inner.truncate(before);
            }
        }
    }

    fn ops(&mut self, ops: &'e [TravOp]) {
        for op in ops {
            if let TravOp::Index(e) = op {
                self.expr(e);
            }
        }
    }

    fn parts(&mut self, parts: &'e [Part]) {
        for p in parts {
            match p {
                Part::Lit(_) => {}
                Part::Interp(e) => self.expr(e),
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.expr(cond);
                    self.parts(then);
                    self.parts(otherwise);
                }
                Part::For(f) => {
                    let rewind_model::expr::TemplateFor {
                        key_var,
                        value_var,
                        coll,
                        body,
                    } = &**f;
                    self.expr(coll);
                    let before = self.inner.len();
                    if let Some(k) = key_var {
                        self.inner.push(k);
                    }
                    self.inner.push(value_var);
                    self.parts(body);
                    self.inner.truncate(before);
                }
            }
        }
    }
}
