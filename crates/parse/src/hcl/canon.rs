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
pub fn to_value(e: &Expr) -> Value {
    match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Number(n) => Value::number(n),
        Expr::Template(parts) => match parts.as_slice() {
            [] => Value::String(String::new()),
            [Part::Lit(s)] => Value::String(s.clone()),
            [Part::Interp(inner)] => to_value(inner),
            _ => Value::expr_of(e),
        },
        Expr::Tuple(items) => Value::List(items.iter().map(to_value).collect()),
        Expr::Object(items) => {
            let mut m = Map::new();
            for (k, v) in items {
                match static_key(k) {
                    Some(key) => {
                        m.insert(key, to_value(v));
                    }
                    None => return Value::expr_of(e),
                }
            }
            Value::Map(m)
        }
        Expr::Unary(UnOp::Neg, inner) => match inner.as_ref() {
            Expr::Number(n) => match Value::number(n) {
                Value::Number(c) if c == "0" => Value::Number(c),
                Value::Number(c) => Value::Number(format!("-{c}")),
                other => other,
            },
            _ => Value::expr_of(e),
        },
        Expr::Paren(inner) => to_value(inner),
        _ => Value::expr_of(e),
    }
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
pub fn collect_refs(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    match e {
        Expr::Null | Expr::Bool(_) | Expr::Number(_) => {}
        Expr::Template(parts) => collect_parts(parts, bound, out),
        Expr::Tuple(items) => {
            for i in items {
                collect_refs(i, bound, out);
            }
        }
        Expr::Object(items) => {
            for (k, v) in items {
                if !is_static_key(k) {
                    collect_refs(k, bound, out);
                }
                collect_refs(v, bound, out);
            }
        }
        Expr::Traversal { root, ops, pos } => {
            if !bound.iter().any(|b| b == root) {
                let mut steps = Vec::new();
                for op in ops {
                    let index = match op {
                        TravOp::Index(e) => Some(&**e),
                        _ => None,
                    };
                    match (op, index) {
                        (TravOp::Attr(a), _) => steps.push(a.clone()),
                        (TravOp::LegacyIndex(n), _) => steps.push(format!("[{n}]")),
                        (_, Some(Expr::Number(n))) => steps.push(format!("[{n}]")),
                        (_, Some(Expr::Template(p))) if matches!(p.as_slice(), [Part::Lit(_)]) => {
                            if let [Part::Lit(s)] = p.as_slice() {
                                steps.push(format!("[{}]", quote(s)));
                            }
                        }
                        // a splat or a computed index: any instance, and the
                        // attributes read from it still matter
                        (TravOp::AttrSplat | TravOp::FullSplat | TravOp::Index(_), _) => {
                            steps.push("[*]".to_string())
                        }
                    }
                }
                out.push(Reference {
                    root: root.clone(),
                    steps,
                    pos: *pos,
                });
            }
            collect_ops(ops, bound, out);
        }
        Expr::Postfix(inner, ops) => {
            collect_refs(inner, bound, out);
            collect_ops(ops, bound, out);
        }
        Expr::Call { args, .. } => {
            for a in args {
                collect_refs(a, bound, out);
            }
        }
        Expr::Unary(_, inner) | Expr::Paren(inner) => collect_refs(inner, bound, out),
        Expr::Binary(_, l, r) => {
            collect_refs(l, bound, out);
            collect_refs(r, bound, out);
        }
        Expr::Cond(c, a, b) => {
            collect_refs(c, bound, out);
            collect_refs(a, bound, out);
            collect_refs(b, bound, out);
        }
        Expr::For(f) => {
            collect_refs(&f.coll, bound, out);
            let before = bound.len();
            if let Some(k) = &f.key_var {
                bound.push(k.clone());
            }
            bound.push(f.value_var.clone());
            if let Some(k) = &f.key {
                collect_refs(k, bound, out);
            }
            collect_refs(&f.value, bound, out);
            if let Some(c) = &f.cond {
                collect_refs(c, bound, out);
            }
            bound.truncate(before);
        }
    }
}

fn collect_ops(ops: &[TravOp], bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for op in ops {
        if let TravOp::Index(e) = op {
            collect_refs(e, bound, out);
        }
    }
}

fn collect_parts(parts: &[Part], bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for p in parts {
        match p {
            Part::Lit(_) => {}
            Part::Interp(e) => collect_refs(e, bound, out),
            Part::If {
                cond,
                then,
                otherwise,
            } => {
                collect_refs(cond, bound, out);
                collect_parts(then, bound, out);
                collect_parts(otherwise, bound, out);
            }
            Part::For(f) => {
                let rewind_model::expr::TemplateFor {
                    key_var,
                    value_var,
                    coll,
                    body,
                } = &**f;
                collect_refs(coll, bound, out);
                let before = bound.len();
                if let Some(k) = key_var {
                    bound.push(k.clone());
                }
                bound.push(value_var.clone());
                collect_parts(body, bound, out);
                bound.truncate(before);
            }
        }
    }
}
