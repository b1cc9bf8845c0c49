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

/// Evaluates what `count` and `for_each` are written with in practice:
/// literals, variables (tfvars, defaults, module arguments), locals,
/// module outputs, `for` expressions, common collection functions and the
/// instances of other resources. Values only known after apply are
/// `Unknown`; a count or a key set that depends on them is unknown.
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
    Unknown,
}

type Env = BTreeMap<String, V>;

const MAX_DEPTH: usize = 48;

impl<'m> Evaluator<'m> {
    pub fn new(model: &'m Model) -> Evaluator<'m> {
        Evaluator { model }
    }

    /// The keys of a resource or module call node.
    pub fn keys(&self, node: &Node) -> Keys {
        self.keys_at(node, 0)
    }

    fn keys_at(&self, node: &Node, depth: usize) -> Keys {
        let scope = if node.module.is_empty() {
            String::new()
        } else {
            format!("{}.", node.module)
        };
        if let Some(v) = node.body.get("count") {
            return match self.value(v, &scope, &Env::new(), depth + 1) {
                Some(V::Num(n)) if n >= 0.0 && n.fract() == 0.0 => {
                    Keys::Known((0..n as u64).map(Key::Int).collect())
                }
                Some(V::Unknown) | None => {
                    Keys::Unknown(format!("count = {} is not known before apply", v.render()))
                }
                Some(other) => Keys::Unknown(format!("count is not a whole number: {other:?}")),
            };
        }
        if let Some(v) = node.body.get("for_each") {
            let unknown = || {
                Keys::Unknown(format!(
                    "for_each = {} is not known before apply",
                    v.render()
                ))
            };
            return match self.value(v, &scope, &Env::new(), depth + 1) {
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
                            _ => return unknown(),
                        }
                    }
                    Keys::Known(keys.into_iter().map(Key::Str).collect())
                }
                Some(V::Map(m)) => Keys::Known(m.keys().cloned().map(Key::Str).collect()),
                Some(V::Null) => Keys::Known(Vec::new()),
                _ => unknown(),
            };
        }
        Keys::Single
    }

    fn value(&self, v: &Value, scope: &str, env: &Env, depth: usize) -> Option<V> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match v {
            Value::Null => V::Null,
            Value::Bool(b) => V::Bool(*b),
            Value::Number(n) => V::Num(n.parse().ok()?),
            Value::String(s) => V::Str(s.clone()),
            Value::List(l) => V::List(
                l.iter()
                    .map(|x| self.value(x, scope, env, depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Value::Map(m) => V::Map(
                m.iter()
                    .map(|(k, x)| Some((k.clone(), self.value(x, scope, env, depth + 1)?)))
                    .collect::<Option<_>>()?,
            ),
            Value::Expr(text) => {
                let e: &Expr = text;
                self.expr(e, scope, env, depth + 1)?
            }
        })
    }

    fn expr(&self, e: &Expr, scope: &str, env: &Env, depth: usize) -> Option<V> {
        if depth > MAX_DEPTH {
            return None;
        }
        let ev = |x: &Expr| self.expr(x, scope, env, depth + 1);
        match e {
            Expr::Null => Some(V::Null),
            Expr::Bool(b) => Some(V::Bool(*b)),
            Expr::Number(n) => n.parse().ok().map(V::Num),
            Expr::Template(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        Part::Lit(l) => s.push_str(l),
                        Part::Interp(x) => match ev(x)? {
                            V::Str(t) => s.push_str(&t),
                            V::Num(n) => s.push_str(&fmt_num(n)),
                            V::Bool(b) => s.push_str(&b.to_string()),
                            _ => return Some(V::Unknown),
                        },
                        _ => return Some(V::Unknown),
                    }
                }
                Some(V::Str(s))
            }
            Expr::Tuple(items) => items
                .iter()
                .map(ev)
                .collect::<Option<Vec<_>>>()
                .map(V::List),
            Expr::Object(items) => {
                let mut m = BTreeMap::new();
                for (k, v) in items {
                    let key = match hcl::static_key(k) {
                        Some(k) => k,
                        None => match ev(k)? {
                            V::Str(s) => s,
                            _ => return Some(V::Unknown),
                        },
                    };
                    m.insert(key, ev(v)?);
                }
                Some(V::Map(m))
            }
            Expr::Paren(x) => ev(x),
            Expr::Unary(op, x) => match (op, ev(x)?) {
                (hcl::UnOp::Neg, V::Num(n)) => Some(V::Num(-n)),
                (hcl::UnOp::Not, V::Bool(b)) => Some(V::Bool(!b)),
                _ => Some(V::Unknown),
            },
            Expr::Binary(op, l, r) => {
                let (l, r) = (ev(l)?, ev(r)?);
                if l == V::Unknown || r == V::Unknown {
                    return Some(V::Unknown);
                }
                Some(match (op, l, r) {
                    (hcl::BinOp::Add, V::Num(a), V::Num(b)) => V::Num(a + b),
                    (hcl::BinOp::Sub, V::Num(a), V::Num(b)) => V::Num(a - b),
                    (hcl::BinOp::Mul, V::Num(a), V::Num(b)) => V::Num(a * b),
                    (hcl::BinOp::Div, V::Num(a), V::Num(b)) if b != 0.0 => V::Num(a / b),
                    (hcl::BinOp::Mod, V::Num(a), V::Num(b)) if b != 0.0 => V::Num(a % b),
                    (hcl::BinOp::Lt, V::Num(a), V::Num(b)) => V::Bool(a < b),
                    (hcl::BinOp::Le, V::Num(a), V::Num(b)) => V::Bool(a <= b),
                    (hcl::BinOp::Gt, V::Num(a), V::Num(b)) => V::Bool(a > b),
                    (hcl::BinOp::Ge, V::Num(a), V::Num(b)) => V::Bool(a >= b),
                    (hcl::BinOp::And, V::Bool(a), V::Bool(b)) => V::Bool(a && b),
                    (hcl::BinOp::Or, V::Bool(a), V::Bool(b)) => V::Bool(a || b),
                    (hcl::BinOp::Eq, a, b) => V::Bool(a == b),
                    (hcl::BinOp::Ne, a, b) => V::Bool(a != b),
                    _ => V::Unknown,
                })
            }
            Expr::Cond(c, a, b) => match ev(c)? {
                V::Bool(true) => ev(a),
                V::Bool(false) => ev(b),
                _ => Some(V::Unknown),
            },
            Expr::For(f) => {
                let coll = ev(&f.coll)?;
                let pairs: Vec<(V, V)> = match coll {
                    V::List(l) => l
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (V::Num(i as f64), v))
                        .collect(),
                    V::Map(m) => m.into_iter().map(|(k, v)| (V::Str(k), v)).collect(),
                    V::Null => Vec::new(),
                    _ => return Some(V::Unknown),
                };
                let mut list = Vec::new();
                let mut map: BTreeMap<String, V> = BTreeMap::new();
                for (k, v) in pairs {
                    let mut inner = env.clone();
                    if let Some(kv) = &f.key_var {
                        inner.insert(kv.clone(), k);
                    }
                    inner.insert(f.value_var.clone(), v);
                    if let Some(c) = &f.cond {
                        match self.expr(c, scope, &inner, depth + 1)? {
                            V::Bool(true) => {}
                            V::Bool(false) => continue,
                            _ => return Some(V::Unknown),
                        }
                    }
                    let val = self.expr(&f.value, scope, &inner, depth + 1)?;
                    match &f.key {
                        Some(kx) => match self.expr(kx, scope, &inner, depth + 1)? {
                            V::Str(s) => {
                                if f.grouping {
                                    match map.entry(s).or_insert_with(|| V::List(Vec::new())) {
                                        V::List(l) => l.push(val),
                                        _ => return Some(V::Unknown),
                                    }
                                } else {
                                    map.insert(s, val);
                                }
                            }
                            V::Num(n) => {
                                map.insert(fmt_num(n), val);
                            }
                            _ => return Some(V::Unknown),
                        },
                        None => list.push(val),
                    }
                }
                Some(if f.key.is_some() {
                    V::Map(map)
                } else {
                    V::List(list)
                })
            }
            Expr::Call {
                name,
                args,
                expand_final,
            } => {
                let mut vals: Vec<V> = args.iter().map(ev).collect::<Option<_>>()?;
                if *expand_final {
                    if let Some(V::List(last)) = vals.pop() {
                        vals.extend(last);
                    } else {
                        return Some(V::Unknown);
                    }
                }
                Some(call(name, vals))
            }
            Expr::Traversal { root, ops, .. } => {
                let mut rest = ops.as_slice();
                let base = if let Some(v) = env.get(root) {
                    v.clone()
                } else {
                    let name = match rest.first() {
                        Some(TravOp::Attr(n)) => n.clone(),
                        _ => return Some(V::Unknown),
                    };
                    rest = &rest[1..];
                    match root.as_str() {
                        "var" => match self.model.node(&format!("{scope}var.{name}")) {
                            Some(node) => self.variable(node, scope, depth)?,
                            None => return None,
                        },
                        "local" => match self.model.node(&format!("{scope}local.{name}")) {
                            Some(node) => {
                                self.value(node.body.get("value")?, scope, &Env::new(), depth + 1)?
                            }
                            None => return None,
                        },
                        "module" => {
                            let call = format!("{scope}module.{name}");
                            // skip an instance key of the module call
                            if let Some(TravOp::Index(_) | TravOp::LegacyIndex(_)) = rest.first() {
                                rest = &rest[1..];
                            }
                            let out = match rest.first() {
                                Some(TravOp::Attr(o)) => o.clone(),
                                _ => return Some(V::Unknown),
                            };
                            rest = &rest[1..];
                            let node = self.model.node(&format!("{call}.output.{out}"))?;
                            self.value(
                                node.body.get("value")?,
                                &format!("{call}."),
                                &Env::new(),
                                depth + 1,
                            )?
                        }
                        "count" | "each" | "path" | "terraform" | "self" | "data" => {
                            return Some(V::Unknown)
                        }
                        ty => {
                            // another resource: its instances, values unknown
                            let Some(node) = self.model.node(&format!("{scope}{ty}.{name}")) else {
                                return Some(V::Unknown);
                            };
                            match self.keys_at(node, depth + 1) {
                                Keys::Single => V::Unknown,
                                Keys::Known(keys) => {
                                    if node.body.get("count").is_some() {
                                        V::List(keys.iter().map(|_| V::Unknown).collect())
                                    } else {
                                        V::Map(
                                            keys.iter()
                                                .map(|k| {
                                                    (
                                                        match k {
                                                            Key::Str(s) => s.clone(),
                                                            other => other.suffix(),
                                                        },
                                                        V::Unknown,
                                                    )
                                                })
                                                .collect(),
                                        )
                                    }
                                }
                                Keys::Unknown(_) => V::Unknown,
                            }
                        }
                    }
                };
                let mut v = base;
                for (i, op) in rest.iter().enumerate() {
                    if matches!(op, TravOp::FullSplat | TravOp::AttrSplat) {
                        // the remaining steps apply to every element
                        let elems: Vec<V> = match v {
                            V::List(l) => l,
                            V::Map(m) => m.into_values().collect(),
                            V::Unknown => return Some(V::Unknown),
                            V::Null => Vec::new(),
                            other => vec![other],
                        };
                        let tail = &rest[i + 1..];
                        let mut out = Vec::with_capacity(elems.len());
                        for e in elems {
                            let mut x = e;
                            for op in tail {
                                x = match (op, x) {
                                    (TravOp::Attr(a), V::Map(m)) => {
                                        m.get(a).cloned().unwrap_or(V::Unknown)
                                    }
                                    _ => V::Unknown,
                                };
                            }
                            out.push(x);
                        }
                        return Some(V::List(out));
                    }
                    v = match (op, v) {
                        (_, V::Unknown) => V::Unknown,
                        (TravOp::Attr(a), V::Map(m)) => m.get(a).cloned().unwrap_or(V::Unknown),
                        (TravOp::Index(ix), V::List(l)) => {
                            match self.expr(ix, scope, env, depth + 1)? {
                                V::Num(n) => l.get(n as usize).cloned().unwrap_or(V::Unknown),
                                _ => V::Unknown,
                            }
                        }
                        (TravOp::Index(ix), V::Map(m)) => {
                            match self.expr(ix, scope, env, depth + 1)? {
                                V::Str(s) => m.get(&s).cloned().unwrap_or(V::Unknown),
                                _ => V::Unknown,
                            }
                        }
                        (TravOp::LegacyIndex(i), V::List(l)) => {
                            l.get(*i as usize).cloned().unwrap_or(V::Unknown)
                        }
                        (TravOp::FullSplat | TravOp::AttrSplat, V::List(l)) => V::List(l),
                        (TravOp::FullSplat | TravOp::AttrSplat, V::Map(m)) => {
                            V::List(m.into_values().collect())
                        }
                        _ => V::Unknown,
                    };
                }
                Some(v)
            }
            Expr::Postfix(..) => Some(V::Unknown),
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
                        return self.value(v, scope, &Env::new(), depth + 1);
                    }
                }
            }
            return match node.body.get("default") {
                Some(d) => self.value(d, scope, &Env::new(), depth + 1),
                None => Some(V::Unknown),
            };
        }
        // in a module: the argument of the call, evaluated in the parent
        let call_addr = scope.trim_end_matches('.');
        let call = self.model.node(call_addr)?;
        let parent = if call.module.is_empty() {
            String::new()
        } else {
            format!("{}.", call.module)
        };
        match (call.body.get(&node.name), node.body.get("default")) {
            (Some(arg), _) => self.value(arg, &parent, &Env::new(), depth + 1),
            (None, Some(d)) => self.value(d, scope, &Env::new(), depth + 1),
            (None, None) => Some(V::Unknown),
        }
    }
}

/// The collection functions `count` and `for_each` use; anything else is
/// unknown here.
fn call(name: &str, vals: Vec<V>) -> V {
    if vals.contains(&V::Unknown)
        && !matches!(
            name,
            "length"
                | "keys"
                | "toset"
                | "tolist"
                | "concat"
                | "merge"
                | "distinct"
                | "try"
                | "coalesce"
        )
    {
        return V::Unknown;
    }
    let num = |v: &V| if let V::Num(n) = v { Some(*n) } else { None };
    match (name, vals.as_slice()) {
        ("toset" | "distinct", [V::List(l)]) => {
            let mut out: Vec<V> = Vec::new();
            for v in l {
                if *v == V::Unknown {
                    return V::Unknown;
                }
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            V::List(out)
        }
        ("tolist", [V::List(l)]) => V::List(l.clone()),
        ("tomap", [V::Map(m)]) => V::Map(m.clone()),
        ("length", [V::List(l)]) => V::Num(l.len() as f64),
        ("length", [V::Map(m)]) => V::Num(m.len() as f64),
        ("length", [V::Str(s)]) => V::Num(s.chars().count() as f64),
        ("range", [V::Num(n)]) => V::List((0..*n as u64).map(|i| V::Num(i as f64)).collect()),
        ("range", [V::Num(a), V::Num(b)]) => V::List(
            ((*a as i64)..(*b as i64))
                .map(|i| V::Num(i as f64))
                .collect(),
        ),
        ("keys", [V::Map(m)]) => V::List(m.keys().cloned().map(V::Str).collect()),
        ("values", [V::Map(m)]) => V::List(m.values().cloned().collect()),
        ("concat", lists) => {
            let mut out = Vec::new();
            for l in lists {
                match l {
                    V::List(items) => out.extend(items.iter().cloned()),
                    _ => return V::Unknown,
                }
            }
            V::List(out)
        }
        ("merge", maps) => {
            let mut out = BTreeMap::new();
            for m in maps {
                match m {
                    V::Map(items) => out.extend(items.clone()),
                    V::Null => {}
                    _ => return V::Unknown,
                }
            }
            V::Map(out)
        }
        ("flatten", [V::List(l)]) => {
            let mut out = Vec::new();
            for v in l {
                match v {
                    V::List(inner) => out.extend(inner.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            V::List(out)
        }
        ("compact", [V::List(l)]) => V::List(
            l.iter()
                .filter(|v| !matches!(v, V::Null) && **v != V::Str(String::new()))
                .cloned()
                .collect(),
        ),
        ("zipmap", [V::List(k), V::List(v)]) => {
            let mut out = BTreeMap::new();
            for (a, b) in k.iter().zip(v) {
                match a {
                    V::Str(s) => {
                        out.insert(s.clone(), b.clone());
                    }
                    _ => return V::Unknown,
                }
            }
            V::Map(out)
        }
        ("lookup", [V::Map(m), V::Str(k), default]) => {
            m.get(k).cloned().unwrap_or_else(|| default.clone())
        }
        ("coalesce" | "try", vs) => vs
            .iter()
            .find(|v| !matches!(v, V::Null | V::Unknown))
            .cloned()
            .unwrap_or(V::Unknown),
        ("max", vs) if !vs.is_empty() => vs
            .iter()
            .map(num)
            .collect::<Option<Vec<_>>>()
            .map(|ns| V::Num(ns.into_iter().fold(f64::MIN, f64::max)))
            .unwrap_or(V::Unknown),
        ("min", vs) if !vs.is_empty() => vs
            .iter()
            .map(num)
            .collect::<Option<Vec<_>>>()
            .map(|ns| V::Num(ns.into_iter().fold(f64::MAX, f64::min)))
            .unwrap_or(V::Unknown),
        ("upper", [V::Str(s)]) => V::Str(s.to_uppercase()),
        ("lower", [V::Str(s)]) => V::Str(s.to_lowercase()),
        ("format", _) | ("join", _) => V::Unknown,
        _ => V::Unknown,
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
