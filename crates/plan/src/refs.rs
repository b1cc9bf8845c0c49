//! The references an expression or a configuration value makes: the root
//! and traversal steps of each (`aws_vpc.main.id` is `aws_vpc` and
//! `.main.id`), including those inside index expressions, templates,
//! calls and `for` expressions.

use rewind_model::expr::{Expr, Part, TravOp};
use rewind_model::Value;

/// Calls `f` with the root and steps of every reference in a value of a
/// node's body (its expressions, in lists and maps at any depth).
pub(crate) fn each_value_reference(v: &Value, f: &mut dyn FnMut(&str, &[TravOp])) {
    match v {
        Value::Expr(e) => each_reference(e, f),
        Value::List(items) => items.iter().for_each(|i| each_value_reference(i, f)),
        Value::Map(m) => m.values().for_each(|i| each_value_reference(i, f)),
        _ => {}
    }
}

/// Calls `f` with the root and steps of every reference in `e`.
pub(crate) fn each_reference(e: &Expr, f: &mut dyn FnMut(&str, &[TravOp])) {
    let ops_refs = |ops: &[TravOp], f: &mut dyn FnMut(&str, &[TravOp])| {
        for op in ops {
            if let TravOp::Index(i) = op {
                each_reference(i, f);
            }
        }
    };
    match e {
        Expr::Null | Expr::Bool(_) | Expr::Number(_) => {}
        Expr::Traversal { root, ops, .. } => {
            f(root, ops);
            ops_refs(ops, f);
        }
        Expr::Template(parts) => parts_references(parts, f),
        Expr::Tuple(items) => items.iter().for_each(|i| each_reference(i, f)),
        Expr::Object(items) => items.iter().for_each(|(k, v)| {
            each_reference(k, f);
            each_reference(v, f);
        }),
        Expr::Postfix(inner, ops) => {
            each_reference(inner, f);
            ops_refs(ops, f);
        }
        Expr::Call { args, .. } => args.iter().for_each(|a| each_reference(a, f)),
        Expr::Unary(_, a) | Expr::Paren(a) => each_reference(a, f),
        Expr::Binary(_, a, b) => {
            each_reference(a, f);
            each_reference(b, f);
        }
        Expr::Cond(a, b, c) => {
            each_reference(a, f);
            each_reference(b, f);
            each_reference(c, f);
        }
        Expr::For(fe) => {
            each_reference(&fe.coll, f);
            each_reference(&fe.value, f);
            for x in [&fe.key, &fe.cond].into_iter().flatten() {
                each_reference(x, f);
            }
        }
    }
}

fn parts_references(parts: &[Part], f: &mut dyn FnMut(&str, &[TravOp])) {
    for p in parts {
        match p {
            Part::Lit(_) => {}
            Part::Interp(e) => each_reference(e, f),
            Part::If {
                cond,
                then,
                otherwise,
            } => {
                each_reference(cond, f);
                parts_references(then, f);
                parts_references(otherwise, f);
            }
            Part::For(tf) => {
                each_reference(&tf.coll, f);
                parts_references(&tf.body, f);
            }
        }
    }
}
