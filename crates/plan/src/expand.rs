//! Which resource instances a configuration declares: module and resource
//! `count` / `for_each` evaluated where they are known at plan time.

use std::collections::{BTreeMap, BTreeSet};

use rewind_model::value::quote;
use rewind_model::{Model, Node, NodeKind, Value};
use rewind_parse::hcl::{self, Expr, Part, TravOp};

/// An instance key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    None,
    Int(u64),
    Str(String),
}

impl Key {
    pub fn suffix(&self) -> String {
        match self {
            Key::None => String::new(),
            Key::Int(i) => format!("[{i}]"),
            Key::Str(s) => format!("[{}]", quote(s)),
        }
    }
}

/// The keys of a `count` or `for_each`, when they can be known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Keys {
    Single,
    Known(Vec<Key>),
    /// Depends on something only known at apply time.
    Unknown(String),
}

/// Evaluates the few expressions `count` and `for_each` use in practice.
pub struct Evaluator<'m> {
    model: &'m Model,
}

/// A value for expansion purposes.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
    List(Vec<V>),
    Map(BTreeMap<String, V>),
}

impl<'m> Evaluator<'m> {
    pub fn new(model: &'m Model) -> Evaluator<'m> {
        Evaluator { model }
    }

    /// The keys of a resource or module call node in module instance
    /// `prefix` (its scope for `var.` and `local.`).
    pub fn keys(&self, node: &Node) -> Keys {
        let scope = if node.module.is_empty() {
            String::new()
        } else {
            format!("{}.", node.module)
        };
        if let Some(v) = node.body.get("count") {
            return match self.value(v, &scope, 0) {
                Some(V::Num(n)) if n >= 0.0 && n.fract() == 0.0 => {
                    Keys::Known((0..n as u64).map(Key::Int).collect())
                }
                Some(other) => Keys::Unknown(format!("count is not a whole number: {other:?}")),
                None => Keys::Unknown(format!("count = {} is not known before apply", v.render())),
            };
        }
        if let Some(v) = node.body.get("for_each") {
            return match self.value(v, &scope, 0) {
                Some(V::List(items)) => {
                    let mut keys = BTreeSet::new();
                    for i in items {
                        match i {
                            V::Str(s) => {
                                keys.insert(s);
                            }
                            V::Num(n) => {
                                keys.insert(fmt_num(n));
                            }
                            _ => {
                                return Keys::Unknown(
                                    "for_each set holds a value that is not a string".into(),
                                )
                            }
                        }
                    }
                    Keys::Known(keys.into_iter().map(Key::Str).collect())
                }
                Some(V::Map(m)) => Keys::Known(m.keys().cloned().map(Key::Str).collect()),
                Some(other) => Keys::Unknown(format!("for_each is not a map or set: {other:?}")),
                None => Keys::Unknown(format!(
                    "for_each = {} is not known before apply",
                    v.render()
                )),
            };
        }
        Keys::Single
    }

    fn value(&self, v: &Value, scope: &str, depth: usize) -> Option<V> {
        if depth > 32 {
            return None;
        }
        Some(match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(n.parse().ok()?),
            Value::String(s) => V::Str(s.clone()),
            Value::List(l) => V::List(
                l.iter()
                    .map(|x| self.value(x, scope, depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Value::Map(m) => V::Map(
                m.iter()
                    .map(|(k, x)| Some((k.clone(), self.value(x, scope, depth + 1)?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Expr(text) => {
                let e = hcl::parse_expression(text).ok()?;
                self.expr(&e, scope, depth + 1)?
            }
        })
    }

    fn expr(&self, e: &Expr, scope: &str, depth: usize) -> Option<V> {
        if depth > 32 {
            return None;
        }
        match e {
            Expr::Null => Some(V::Null),
            Expr::Bool(b) => Some(V::Bool(*b)),
            Expr::Number(n) => n.parse().ok().map(V::Num),
            Expr::Template(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        Part::Lit(l) => s.push_str(l),
                        Part::Interp(x) => match self.expr(x, scope, depth + 1)? {
                            V::Str(t) => s.push_str(&t),
                            V::Num(n) => s.push_str(&fmt_num(n)),
                            V::Bool(b) => s.push_str(&b.to_string()),
                            _ => return None,
                        },
                        _ => return None,
                    }
                }
                Some(V::Str(s))
            }
            Expr::Tuple(items) => items
                .iter()
                .map(|x| self.expr(x, scope, depth + 1))
                .collect::<Option<Vec<_>>>()
                .map(V::List),
            Expr::Object(items) => {
                let mut m = BTreeMap::new();
                for (k, v) in items {
                    let key = match hcl::static_key(k) {
                        Some(k) => k,
                        None => match self.expr(k, scope, depth + 1)? {
                            V::Str(s) => s,
                            _ => return None,
                        },
                    };
                    m.insert(key, self.expr(v, scope, depth + 1)?);
                }
                Some(V::Map(m))
            }
            Expr::Paren(x) => self.expr(x, scope, depth + 1),
            Expr::Unary(hcl::UnOp::Neg, x) => match self.expr(x, scope, depth + 1)? {
                V::Num(n) => Some(V::Num(-n)),
                _ => None,
            },
            Expr::Binary(op, l, r) => {
                let (l, r) = (
                    self.expr(l, scope, depth + 1)?,
                    self.expr(r, scope, depth + 1)?,
                );
                match (op, l, r) {
                    (hcl::BinOp::Add, V::Num(a), V::Num(b)) => Some(V::Num(a + b)),
                    (hcl::BinOp::Sub, V::Num(a), V::Num(b)) => Some(V::Num(a - b)),
                    (hcl::BinOp::Mul, V::Num(a), V::Num(b)) => Some(V::Num(a * b)),
                    (hcl::BinOp::Eq, a, b) => Some(V::Bool(a == b)),
                    (hcl::BinOp::Ne, a, b) => Some(V::Bool(a != b)),
                    _ => None,
                }
            }
            Expr::Cond(c, a, b) => match self.expr(c, scope, depth + 1)? {
                V::Bool(true) => self.expr(a, scope, depth + 1),
                V::Bool(false) => self.expr(b, scope, depth + 1),
                _ => None,
            },
            Expr::Call { name, args, .. } => {
                let vals: Vec<V> = args
                    .iter()
                    .map(|a| self.expr(a, scope, depth + 1))
                    .collect::<Option<_>>()?;
                match (name.as_str(), vals.as_slice()) {
                    ("toset", [V::List(l)]) => {
                        let mut out: Vec<V> = Vec::new();
                        for v in l {
                            if !out.contains(v) {
                                out.push(v.clone());
                            }
                        }
                        Some(V::List(out))
                    }
                    ("tolist", [V::List(l)]) => Some(V::List(l.clone())),
                    ("tomap", [V::Map(m)]) => Some(V::Map(m.clone())),
                    ("length", [V::List(l)]) => Some(V::Num(l.len() as f64)),
                    ("length", [V::Map(m)]) => Some(V::Num(m.len() as f64)),
                    ("length", [V::Str(s)]) => Some(V::Num(s.chars().count() as f64)),
                    ("range", [V::Num(n)]) => {
                        Some(V::List((0..*n as u64).map(|i| V::Num(i as f64)).collect()))
                    }
                    ("keys", [V::Map(m)]) => Some(V::List(m.keys().cloned().map(V::Str).collect())),
                    ("max", vs) if !vs.is_empty() => vs
                        .iter()
                        .map(|v| if let V::Num(n) = v { Some(*n) } else { None })
                        .collect::<Option<Vec<_>>>()
                        .map(|ns| V::Num(ns.into_iter().fold(f64::MIN, f64::max))),
                    ("min", vs) if !vs.is_empty() => vs
                        .iter()
                        .map(|v| if let V::Num(n) = v { Some(*n) } else { None })
                        .collect::<Option<Vec<_>>>()
                        .map(|ns| V::Num(ns.into_iter().fold(f64::MAX, f64::min))),
                    _ => None,
                }
            }
            Expr::Traversal { root, ops, .. } => {
                let name = match ops.first() {
                    Some(TravOp::Attr(n)) => n.clone(),
                    _ => return None,
                };
                let base = match root.as_str() {
                    "var" => {
                        let node = self.model.node(&format!("{scope}var.{name}"))?;
                        self.variable(node, scope, depth)?
                    }
                    "local" => {
                        let node = self.model.node(&format!("{scope}local.{name}"))?;
                        self.value(node.body.get("value")?, scope, depth + 1)?
                    }
                    _ => return None,
                };
                let mut v = base;
                for op in &ops[1..] {
                    v = match (op, v) {
                        (TravOp::Attr(a), V::Map(m)) => m.get(a)?.clone(),
                        (TravOp::Index(Expr::Number(n)), V::List(l)) => {
                            l.get(n.parse::<usize>().ok()?)?.clone()
                        }
                        (TravOp::LegacyIndex(i), V::List(l)) => l.get(*i as usize)?.clone(),
                        _ => return None,
                    };
                }
                Some(v)
            }
            _ => None,
        }
    }

    /// A variable's value: the tfvars or module argument that sets it, or
    /// its default.
    fn variable(&self, node: &Node, scope: &str, depth: usize) -> Option<V> {
        if scope.is_empty() {
            // root: an auto-loaded variables file wins over the default
            for t in self
                .model
                .nodes
                .iter()
                .filter(|n| n.kind == NodeKind::Tfvars)
            {
                if node.edges.iter().any(|e| e.to == t.address) {
                    if let Some(v) = t.body.get(&node.name) {
                        return self.value(v, scope, depth + 1);
                    }
                }
            }
            return self.value(node.body.get("default")?, scope, depth + 1);
        }
        // in a module: the argument of the call, evaluated in the parent
        let call_addr = scope.trim_end_matches('.');
        let call = self.model.node(call_addr)?;
        let parent = if call.module.is_empty() {
            String::new()
        } else {
            format!("{}.", call.module)
        };
        match call.body.get(&node.name) {
            Some(arg) => self.value(arg, &parent, depth + 1),
            None => self.value(node.body.get("default")?, scope, depth + 1),
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The module instance prefixes of every module path: `""` for the root,
/// `module.c[0].`, `module.c[1].`... Unknown expansions keep one instance
/// without a key and are reported.
pub fn module_instances(
    model: &Model,
    eval: &Evaluator,
    unknown: &mut Vec<String>,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    out.insert(String::new(), vec![String::new()]);
    // module calls sorted by depth so parents come first
    let mut calls: Vec<&Node> = model
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::Module)
        .collect();
    calls.sort_by_key(|n| n.address.matches("module.").count());
    for call in calls {
        let parents = out
            .get(&call.module)
            .cloned()
            .unwrap_or_else(|| vec![String::new()]);
        let keys = match eval.keys(call) {
            Keys::Single => vec![Key::None],
            Keys::Known(k) => k,
            Keys::Unknown(why) => {
                unknown.push(format!("{}: {why}", call.address));
                vec![Key::None]
            }
        };
        let mut insts = Vec::new();
        for p in &parents {
            for k in &keys {
                insts.push(format!("{p}module.{}{}.", call.name, k.suffix()));
            }
        }
        out.insert(call.address.clone(), insts);
    }
    out
}

/// The config address of an instance address (`module.c[1].x.y["k"]` →
/// `module.c.x.y`).
pub fn config_address(instance: &str) -> String {
    let mut out = String::with_capacity(instance.len());
    let mut depth = 0;
    let mut in_str = false;
    let mut esc = false;
    for ch in instance.chars() {
        if depth > 0 {
            if in_str {
                if esc {
                    esc = false;
                } else if ch == '\\' {
                    esc = true;
                } else if ch == '"' {
                    in_str = false;
                }
            } else if ch == '"' {
                in_str = true;
            } else if ch == ']' {
                depth -= 1;
            }
            continue;
        }
        if ch == '[' {
            depth += 1;
            continue;
        }
        out.push(ch);
    }
    out.split(" (deposed")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_addresses() {
        assert_eq!(
            config_address("module.c[1].terraform_data.u[\"k]\"]"),
            "module.c.terraform_data.u"
        );
        assert_eq!(config_address("terraform_data.a"), "terraform_data.a");
        assert_eq!(config_address("x.y[0] (deposed 0001)"), "x.y");
    }
}

/// Splits an instance address into its module instance prefix and the
/// resource part: `module.a[0].module.b.x.y[1]` → (`module.a[0].module.b.`, `x.y[1]`).
pub fn split_instance(addr: &str) -> (String, String) {
    let mut rest = addr;
    let mut prefix = String::new();
    while let Some(after) = rest.strip_prefix("module.") {
        // module name, then an optional [key], then '.'
        let name_end = after.find(['.', '[']).unwrap_or(after.len());
        let mut end = name_end;
        if after[end..].starts_with('[') {
            let mut in_str = false;
            let mut esc = false;
            for (i, ch) in after[end..].char_indices() {
                if in_str {
                    if esc {
                        esc = false;
                    } else if ch == '\\' {
                        esc = true;
                    } else if ch == '"' {
                        in_str = false;
                    }
                } else if ch == '"' {
                    in_str = true;
                } else if ch == ']' {
                    end += i + 1;
                    break;
                }
            }
        }
        if !after[end..].starts_with('.') {
            break;
        }
        prefix.push_str("module.");
        prefix.push_str(&after[..end + 1]);
        rest = &after[end + 1..];
    }
    (prefix, rest.to_string())
}

#[cfg(test)]
mod split_tests {
    use super::split_instance;

    #[test]
    fn splits() {
        assert_eq!(
            split_instance("module.a[0].module.b.x.y[1]"),
            ("module.a[0].module.b.".into(), "x.y[1]".into())
        );
        assert_eq!(split_instance("x.y"), (String::new(), "x.y".into()));
        assert_eq!(
            split_instance("module.c[\"k.1\"].x.y"),
            ("module.c[\"k.1\"].".into(), "x.y".into())
        );
    }
}
