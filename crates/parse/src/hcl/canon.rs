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
/// normalized expression text. `"${x}"` means the same as `x`.
pub fn to_value(e: &Expr) -> Value {
    match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Number(n) => Value::number(n),
        Expr::Template(parts) => match parts.as_slice() {
            [] => Value::String(String::new()),
            [Part::Lit(s)] => Value::String(s.clone()),
            [Part::Interp(inner)] => to_value(inner),
            _ => Value::Expr(print_expr(e)),
        },
        Expr::Tuple(items) => Value::List(items.iter().map(to_value).collect()),
        Expr::Object(items) => {
            let mut m = Map::new();
            for (k, v) in items {
                match static_key(k) {
                    Some(key) => {
                        m.insert(key, to_value(v));
                    }
                    None => return Value::Expr(print_expr(e)),
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
            _ => Value::Expr(print_expr(e)),
        },
        Expr::Paren(inner) => to_value(inner),
        _ => Value::Expr(print_expr(e)),
    }
}

/// An object key that is a literal: an identifier, a string or a number.
pub fn static_key(k: &Expr) -> Option<String> {
    match k {
        Expr::Traversal { root, ops, .. } if ops.is_empty() => Some(root.clone()),
        Expr::Template(parts) => match parts.as_slice() {
            [] => Some(String::new()),
            [Part::Lit(s)] => Some(s.clone()),
            _ => None,
        },
        Expr::Number(n) => match Value::number(n) {
            Value::Number(s) => Some(s),
            _ => None,
        },
        Expr::Bool(b) => Some(b.to_string()),
        Expr::Null => Some("null".into()),
        _ => None,
    }
}

/// Normalized expression text: one canonical spelling per meaning (single
/// spaces, no comments or redundant parentheses, heredocs as quoted
/// templates, legacy `.0` as `[0]`, `"${x}"` as `x`).
pub fn print_expr(e: &Expr) -> String {
    let mut out = String::new();
    Printer { out: &mut out }.expr(e, 0);
    out
}

struct Printer<'o> {
    out: &'o mut String,
}

/// Binding strength used to decide where parentheses are needed.
fn strength(e: &Expr) -> u8 {
    match e {
        Expr::Cond(..) => 0,
        Expr::Binary(op, ..) => op.precedence(),
        Expr::Unary(..) => 7,
        Expr::Paren(inner) => strength(inner),
        _ => 8,
    }
}

impl Printer<'_> {
    fn expr(&mut self, e: &Expr, min: u8) {
        let e = unparen(e);
        if strength(e) < min {
            self.out.push('(');
            self.expr(e, 0);
            self.out.push(')');
            return;
        }
        match e {
            Expr::Null => self.out.push_str("null"),
            Expr::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Expr::Number(n) => match Value::number(n) {
                Value::Number(c) => self.out.push_str(&c),
                _ => self.out.push_str(n),
            },
            Expr::Template(parts) => {
                if let [Part::Interp(inner)] = parts.as_slice() {
                    self.expr(inner, min);
                } else {
                    self.out.push('"');
                    self.parts(parts);
                    self.out.push('"');
                }
            }
            Expr::Tuple(items) => {
                self.out.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(it, 0);
                }
                self.out.push(']');
            }
            Expr::Object(items) => {
                if items.is_empty() {
                    self.out.push_str("{}");
                    return;
                }
                self.out.push_str("{ ");
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    match static_key(k) {
                        Some(key) if rewind_model::value::is_identifier(&key) => {
                            self.out.push_str(&key)
                        }
                        Some(key) => self.out.push_str(&quote(&key)),
                        None => {
                            self.out.push('(');
                            self.expr(k, 0);
                            self.out.push(')');
                        }
                    }
                    self.out.push_str(" = ");
                    self.expr(v, 0);
                }
                self.out.push_str(" }");
            }
            Expr::Traversal { root, ops, .. } => {
                self.out.push_str(root);
                self.ops(ops);
            }
            Expr::Postfix(inner, ops) => {
                self.expr(inner, 8);
                self.ops(ops);
            }
            Expr::Call {
                name,
                args,
                expand_final,
            } => {
                self.out.push_str(name);
                self.out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(a, 0);
                }
                if *expand_final {
                    self.out.push_str("...");
                }
                self.out.push(')');
            }
            Expr::Unary(op, inner) => {
                self.out.push(match op {
                    UnOp::Neg => '-',
                    UnOp::Not => '!',
                });
                self.expr(inner, 7);
            }
            Expr::Binary(op, l, r) => {
                let p = op.precedence();
                self.expr(l, p);
                self.out.push(' ');
                self.out.push_str(op.as_str());
                self.out.push(' ');
                self.expr(r, p + 1);
            }
            Expr::Cond(c, a, b) => {
                self.expr(c, 1);
                self.out.push_str(" ? ");
                self.expr(a, 0);
                self.out.push_str(" : ");
                self.expr(b, 0);
            }
            Expr::For(f) => {
                let object = f.key.is_some();
                self.out.push_str(if object { "{ for " } else { "[for " });
                if let Some(k) = &f.key_var {
                    self.out.push_str(k);
                    self.out.push_str(", ");
                }
                self.out.push_str(&f.value_var);
                self.out.push_str(" in ");
                self.expr(&f.coll, 0);
                self.out.push_str(" : ");
                if let Some(k) = &f.key {
                    self.expr(k, 0);
                    self.out.push_str(" => ");
                }
                self.expr(&f.value, 0);
                if f.grouping {
                    self.out.push_str("...");
                }
                if let Some(c) = &f.cond {
                    self.out.push_str(" if ");
                    self.expr(c, 0);
                }
                self.out.push_str(if object { " }" } else { "]" });
            }
            Expr::Paren(_) => unreachable!("unparen removed it"),
        }
    }

    fn ops(&mut self, ops: &[TravOp]) {
        for (i, op) in ops.iter().enumerate() {
            match op {
                TravOp::Attr(a) => {
                    self.out.push('.');
                    self.out.push_str(a);
                }
                TravOp::Index(e) => {
                    self.out.push('[');
                    self.expr(e, 0);
                    self.out.push(']');
                }
                TravOp::LegacyIndex(n) => {
                    self.out.push('[');
                    self.out.push_str(&n.to_string());
                    self.out.push(']');
                }
                TravOp::AttrSplat => {
                    // `.*` equals `[*]` when only attribute steps follow.
                    let only_attrs = ops[i + 1..].iter().all(|o| matches!(o, TravOp::Attr(_)));
                    self.out.push_str(if only_attrs { "[*]" } else { ".*" });
                }
                TravOp::FullSplat => self.out.push_str("[*]"),
            }
        }
    }

    fn parts(&mut self, parts: &[Part]) {
        for p in parts {
            match p {
                Part::Lit(s) => {
                    let q = quote(s);
                    let inner = &q[1..q.len() - 1];
                    self.out
                        .push_str(&inner.replace("${", "$${").replace("%{", "%%{"));
                }
                Part::Interp(e) => {
                    self.out.push_str("${");
                    self.expr(e, 0);
                    self.out.push('}');
                }
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.out.push_str("%{if ");
                    self.expr(cond, 0);
                    self.out.push('}');
                    self.parts(then);
                    if !otherwise.is_empty() {
                        self.out.push_str("%{else}");
                        self.parts(otherwise);
                    }
                    self.out.push_str("%{endif}");
                }
                Part::For {
                    key_var,
                    value_var,
                    coll,
                    body,
                } => {
                    self.out.push_str("%{for ");
                    if let Some(k) = key_var {
                        self.out.push_str(k);
                        self.out.push_str(", ");
                    }
                    self.out.push_str(value_var);
                    self.out.push_str(" in ");
                    self.expr(coll, 0);
                    self.out.push('}');
                    self.parts(body);
                    self.out.push_str("%{endfor}");
                }
            }
        }
    }
}

fn unparen(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(inner) => unparen(inner),
        Expr::Template(parts) => match parts.as_slice() {
            [Part::Interp(inner)] => unparen(inner),
            _ => e,
        },
        _ => e,
    }
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
                if static_key(k).is_none() {
                    collect_refs(k, bound, out);
                }
                collect_refs(v, bound, out);
            }
        }
        Expr::Traversal { root, ops, pos } => {
            if !bound.iter().any(|b| b == root) {
                let mut steps = Vec::new();
                for op in ops {
                    match op {
                        TravOp::Attr(a) => steps.push(a.clone()),
                        TravOp::LegacyIndex(n) => steps.push(format!("[{n}]")),
                        TravOp::Index(Expr::Number(n)) => steps.push(format!("[{n}]")),
                        TravOp::Index(Expr::Template(p))
                            if matches!(p.as_slice(), [Part::Lit(_)]) =>
                        {
                            if let [Part::Lit(s)] = p.as_slice() {
                                steps.push(format!("[{}]", quote(s)));
                            }
                        }
                        // a splat or a computed index: any instance, and the
                        // attributes read from it still matter
                        TravOp::AttrSplat | TravOp::FullSplat | TravOp::Index(_) => {
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
            Part::For {
                key_var,
                value_var,
                coll,
                body,
            } => {
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
