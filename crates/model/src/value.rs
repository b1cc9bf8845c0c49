use crate::expr::Expr;
use crate::map::Map;
use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::hash::{Hash as _, Hasher as _};
use std::sync::Arc;

thread_local! {
    /// The expressions made on this thread while a [`ShareExprs`] is alive.
    static SHARED: RefCell<Option<SharedSet>> = const { RefCell::new(None) };
    /// The same expressions by their encoding ([`crate::codec`]), for
    /// decoding: an expression met again is not decoded again.
    static ENCODED: RefCell<Option<EncodedMap>> = const { RefCell::new(None) };
}

/// Decoded expressions by their encoded bytes.
type EncodedMap = HashMap<Box<[u8]>, Arc<Expr>, std::hash::BuildHasherDefault<TreeHasher>>;

/// The set of shared expressions, with a multiply-rotate hash: the
/// standard SipHash of every expression tree was 5% of the processor time
/// of a plan. Each expression tree is hashed once, when it is made: the
/// set keys its entries by that hash, so growing the table moves words
/// instead of hashing every tree held again (it was 7% of a load of
/// 10,000 resources). A key that collides on purpose only makes its own
/// lookups slower.
type SharedSet = HashMap<u64, Shared, std::hash::BuildHasherDefault<TreeHasher>>;

/// The expressions of one hash: almost always one.
enum Shared {
    One(Arc<Expr>),
    Many(Vec<Arc<Expr>>),
}

/// FxHash's word step (rotate, xor, multiply), eight bytes at a time.
#[derive(Default)]
struct TreeHasher(u64);

impl TreeHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for TreeHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// While alive, equal expressions made on this thread ([`Value::expr`],
/// [`Value::expr_of`]) share one copy, and so do expressions decoded from
/// equal bytes (among themselves: decoding does not hash the tree to find
/// an equal one made otherwise). A configuration repeats
/// the same expressions in file after file (`var.vpc_id` 20,000 times in
/// the generated tree of 100,000 resources, a third of all expressions
/// repeat one made before); a loader holds one of these on each parsing
/// thread. Expressions are immutable, so sharing changes nothing else.
pub struct ShareExprs {
    /// This guard started the sharing (an inner one leaves it to the outer).
    owner: bool,
}

impl ShareExprs {
    pub fn new() -> ShareExprs {
        let owner = SHARED.with(|s| {
            let mut s = s.borrow_mut();
            if s.is_some() {
                return false;
            }
            *s = Some(SharedSet::default());
            true
        });
        if owner {
            ENCODED.with(|m| *m.borrow_mut() = Some(EncodedMap::default()));
        }
        ShareExprs { owner }
    }
}

impl Default for ShareExprs {
    fn default() -> Self {
        ShareExprs::new()
    }
}

impl Drop for ShareExprs {
    fn drop(&mut self) {
        if self.owner {
            SHARED.with(|s| s.borrow_mut().take());
            ENCODED.with(|m| m.borrow_mut().take());
        }
    }
}

/// `e` in an `Arc`: the copy made before when a [`ShareExprs`] is alive on
/// this thread and made an equal one, else a new one.
pub fn shared_expr(e: Expr) -> Arc<Expr> {
    SHARED.with(|s| match &mut *s.borrow_mut() {
        Some(set) => {
            let mut h = TreeHasher::default();
            e.hash(&mut h);
            share(set, h.finish(), e)
        }
        None => Arc::new(e),
    })
}

/// `e`, whose tree hashes to `hash`, from `set` (added when new).
fn share(set: &mut SharedSet, hash: u64, e: Expr) -> Arc<Expr> {
    match set.entry(hash) {
        Entry::Vacant(v) => {
            let x = Arc::new(e);
            v.insert(Shared::One(Arc::clone(&x)));
            x
        }
        Entry::Occupied(mut o) => {
            let same = match o.get() {
                Shared::One(x) => (**x == e).then(|| Arc::clone(x)),
                Shared::Many(xs) => xs.iter().find(|x| ***x == e).cloned(),
            };
            if let Some(x) = same {
                return x;
            }
            let x = Arc::new(e);
            let slot = o.get_mut();
            match slot {
                Shared::One(first) => {
                    let first = Arc::clone(first);
                    *slot = Shared::Many(vec![first, Arc::clone(&x)]);
                }
                Shared::Many(xs) => xs.push(Arc::clone(&x)),
            }
            x
        }
    }
}

/// The expression decoded earlier on this thread from exactly these
/// encoded bytes, while a [`ShareExprs`] is alive.
pub(crate) fn shared_encoded(bytes: &[u8]) -> Option<Arc<Expr>> {
    ENCODED.with(|m| m.borrow().as_ref()?.get(bytes).cloned())
}

/// Records that `bytes` decode to `e` (while a [`ShareExprs`] is alive).
pub(crate) fn remember_encoded(bytes: &[u8], e: &Arc<Expr>) {
    ENCODED.with(|m| {
        if let Some(m) = m.borrow_mut().as_mut() {
            m.insert(bytes.into(), Arc::clone(e));
        }
    });
}

/// The canonical form of an attribute value.
///
/// Literals are values; anything that needs evaluation (references, function
/// calls, templates with interpolations, operators...) is kept as an
/// expression tree in canonical form ([`Expr::canonical`]), so formatting
/// and comments never change a value.
/// Nested blocks appear as `Map` entries keyed by block type whose value is a
/// `List` of block bodies (labelled nested blocks add one `Map` level per
/// label).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Null,
    Bool(bool),
    /// Canonical decimal text (`1`, `0.5`, `1000`).
    Number(String),
    String(String),
    List(Vec<Value>),
    Map(Map<String, Value>),
    /// An expression in canonical form (printed `aws_vpc.main.id`,
    /// `"${var.env}-web"`).
    Expr(Arc<Expr>),
}

impl Default for Value {
    fn default() -> Self {
        Value::Map(Map::new())
    }
}

/// One step of an attribute path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A path into a [`Value`] tree, written `tags.Name` or `ingress[2].cidr_blocks[0]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Path(pub Vec<PathStep>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }
    pub fn key(&self, k: &str) -> Path {
        let mut p = self.clone();
        p.0.push(PathStep::Key(k.to_string()));
        p
    }
    pub fn index(&self, i: usize) -> Path {
        let mut p = self.clone();
        p.0.push(PathStep::Index(i));
        p
    }
    pub fn is_prefix_of(&self, other: &Path) -> bool {
        other.0.len() >= self.0.len() && other.0[..self.0.len()] == self.0[..]
    }
    /// Parses the dotted form written by `Display` (keys that are not plain
    /// identifiers use `["key"]`).
    pub fn parse(s: &str) -> Path {
        let mut steps = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'.' => i += 1,
                b'[' => {
                    let end = s[i..].find(']').map(|e| i + e).unwrap_or(b.len());
                    let inner = &s[i + 1..end];
                    if let Ok(n) = inner.parse::<usize>() {
                        steps.push(PathStep::Index(n));
                    } else {
                        steps.push(PathStep::Key(inner.trim_matches('"').to_string()));
                    }
                    i = end + 1;
                }
                _ => {
                    let end = s[i..].find(['.', '[']).map(|e| i + e).unwrap_or(b.len());
                    steps.push(PathStep::Key(s[i..end].to_string()));
                    i = end;
                }
            }
        }
        Path(steps)
    }
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Key(k) if is_identifier(k) => {
                    if i > 0 {
                        f.write_char('.')?;
                    }
                    f.write_str(k)?;
                }
                PathStep::Key(k) => write!(f, "[{}]", quote(k))?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Quotes a string the way HCL writes a string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// An expression, kept in canonical form.
    pub fn expr(e: Expr) -> Value {
        Value::Expr(shared_expr(e.into_canonical()))
    }

    /// The canonical form of a borrowed expression (one copy).
    pub fn expr_of(e: &Expr) -> Value {
        Value::expr(e.clone())
    }

    /// The expression, when the value is one.
    pub fn as_expr(&self) -> Option<&Expr> {
        match self {
            Value::Expr(e) => Some(e),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Map<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    /// The value of `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// The first body of a nested block (`lifecycle`, `backend`...).
    pub fn block(&self, key: &str) -> Option<&Value> {
        match self.get(key)? {
            Value::List(l) => l.first(),
            v @ Value::Map(_) => Some(v),
            _ => None,
        }
    }

    /// The value at `path`, if there is one.
    pub fn at(&self, path: &Path) -> Option<&Value> {
        let mut v = self;
        for step in &path.0 {
            v = match (step, v) {
                (PathStep::Key(k), Value::Map(m)) => m.get(k)?,
                (PathStep::Index(i), Value::List(l)) => l.get(*i)?,
                _ => return None,
            };
        }
        Some(v)
    }

    /// True when the value contains no expression that needs evaluation.
    pub fn is_literal(&self) -> bool {
        match self {
            Value::Expr(_) => false,
            Value::List(l) => l.iter().all(Value::is_literal),
            Value::Map(m) => m.values().all(Value::is_literal),
            _ => true,
        }
    }

    /// Canonical text of a number literal: integers without leading zeros,
    /// other numbers in their shortest round-trip form (`1.0` → `1`,
    /// `1e3` → `1000`).
    pub fn number(text: &str) -> Value {
        Value::Number(canonical_number(text))
    }

    /// Converts a JSON value (state attributes, `.tfvars.json`).
    pub fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::number(&n.to_string()),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// The JSON form used in rewind's JSON outputs: literals as JSON values,
    /// expressions as `{"$expr": "text"}`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::from_str::<serde_json::Number>(n)
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(n.clone())),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Expr(e) => {
                let mut o = serde_json::Map::new();
                o.insert("$expr".into(), serde_json::Value::String(e.to_string()));
                serde_json::Value::Object(o)
            }
        }
    }

    /// A one-line HCL-like rendering for people.
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.render_into(&mut s);
        s
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(n),
            Value::String(s) => out.push_str(&quote(s)),
            Value::Expr(e) => {
                let _ = write!(out, "{e}");
            }
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.render_into(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                if m.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push_str("{ ");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    if is_identifier(k) {
                        out.push_str(k);
                    } else {
                        out.push_str(&quote(k));
                    }
                    out.push_str(" = ");
                    v.render_into(out);
                }
                out.push_str(" }");
            }
        }
    }
}

pub(crate) fn canonical_number(text: &str) -> String {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let stripped = t.trim_start_matches('0');
        return if stripped.is_empty() {
            "0".to_string()
        } else {
            stripped.to_string()
        };
    }
    if let Some(exact) = exact_decimal(t) {
        return exact;
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => {
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                format!("{}", f as i64)
            } else {
                format!("{f}")
            }
        }
        _ => t.to_string(),
    }
}

/// A decimal literal (`-1.50`, `1.234567890123456789e19`) written out
/// exactly, without exponent, leading or trailing zeros: Terraform's
/// numbers are exact decimals, so no digit may be lost to a float. `None`
/// for anything else, or when the digits would run past 400 characters.
fn exact_decimal(t: &str) -> Option<String> {
    let (neg, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    if exp.abs() > 400 {
        return None;
    }
    let digits = format!("{int}{frac}");
    // where the decimal point goes among `digits`
    let mut point = int.len() as i64 + exp;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    let digits = digits[lead..].trim_end_matches('0');
    point -= lead as i64;
    if digits.is_empty() {
        return Some("0".to_string());
    }
    let len = digits.len() as i64;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= len {
        format!("{digits}{}", "0".repeat((point - len) as usize))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    Some(if neg { format!("-{body}") } else { body })
}

/// The key under which serde_json, with its `arbitrary_precision`
/// feature, hands a visitor a number that is not a 64-bit integer.
pub const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// JSON (state attributes, variable files) straight into values, without
/// an intermediate `serde_json::Value`.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                serde::Deserialize::deserialize(d)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(n.to_string()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(n.to_string()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
                Ok(Value::Number(canonical_number(&format!("{n}"))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Value, A::Error> {
                let mut l = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(v) = seq.next_element()? {
                    l.push(v);
                }
                Ok(Value::List(crate::map::exact(l)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1 << 12));
                while let Some(k) = map.next_key::<String>()? {
                    if entries.is_empty() && k == NUMBER_TOKEN {
                        // a number as serde_json's `arbitrary_precision`
                        // (which the workspace enables) hands over one
                        // that is not a 64-bit integer: its text
                        let text: String = map.next_value()?;
                        return Ok(Value::number(&text));
                    }
                    entries.push((k, map.next_value::<Value>()?));
                }
                // sorted once; of repeated keys the last wins
                Ok(Value::Map(entries.into_iter().collect()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json hands numbers that are not 64-bit integers over as a
    /// map of one marked key (`arbitrary_precision`): they are numbers,
    /// with every digit.
    #[test]
    fn json_numbers_keep_their_digits() {
        let v: Value = serde_json::from_str(
            r#"{"a": 2.50, "b": [1e309, -7, 0.1], "c": 123456789012345678901234567890}"#,
        )
        .unwrap();
        let Value::Map(m) = v else { panic!("{v:?}") };
        assert_eq!(m.get("a"), Some(&Value::Number("2.5".into())));
        assert_eq!(
            m.get("b"),
            Some(&Value::List(vec![
                Value::Number(format!("1{}", "0".repeat(309))),
                Value::Number("-7".into()),
                Value::Number("0.1".into()),
            ]))
        );
        assert_eq!(
            m.get("c"),
            Some(&Value::Number("123456789012345678901234567890".into()))
        );
    }

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(canonical_number("1.0"), "1");
        assert_eq!(canonical_number("007"), "7");
        assert_eq!(canonical_number("1e3"), "1000");
        assert_eq!(canonical_number("0.50"), "0.5");
        assert_eq!(canonical_number("-2.5"), "-2.5");
        assert_eq!(canonical_number("0"), "0");
        assert_eq!(canonical_number("-0.0"), "0");
        assert_eq!(canonical_number("1.5e-3"), "0.0015");
        assert_eq!(canonical_number("123.456E1"), "1234.56");
        assert_eq!(canonical_number("1e+2"), "100");
        // every digit kept, as Terraform's exact decimals keep them
        assert_eq!(
            canonical_number("1.234567890123456789e19"),
            "12345678901234567890"
        );
        assert_eq!(
            canonical_number("0.12345678901234567890123"),
            "0.12345678901234567890123"
        );
        assert_eq!(canonical_number("1e100"), format!("1{}", "0".repeat(100)));
    }

    #[test]
    fn paths_print_and_parse() {
        let p = Path::root()
            .key("ingress")
            .index(2)
            .key("cidr_blocks")
            .index(0);
        assert_eq!(p.to_string(), "ingress[2].cidr_blocks[0]");
        assert_eq!(Path::parse("ingress[2].cidr_blocks[0]"), p);
        let q = Path::root().key("tags").key("kubernetes.io/role");
        assert_eq!(q.to_string(), "tags[\"kubernetes.io/role\"]");
        assert_eq!(Path::parse(&q.to_string()), q);
    }

    #[test]
    fn render_is_hcl_like() {
        let mut m = crate::Map::new();
        m.insert("Name".to_string(), Value::str("web"));
        m.insert(
            "a b".to_string(),
            Value::expr(Expr::Traversal {
                root: "var".into(),
                ops: vec![crate::expr::TravOp::Attr("x".into())],
                pos: 7,
            }),
        );
        let v = Value::List(vec![Value::Map(m), Value::number("1.0"), Value::Null]);
        assert_eq!(v.render(), r#"[{ Name = "web", "a b" = var.x }, 1, null]"#);
    }

    /// Equal expressions made while a `ShareExprs` is alive share one copy;
    /// before it, after it, and on other threads they do not.
    #[test]
    fn equal_expressions_share_one_copy_only_while_asked() {
        let make = || {
            Value::expr(crate::expr::Expr::Traversal {
                root: "var".into(),
                ops: vec![crate::expr::TravOp::Attr("vpc_id".into())],
                pos: 7,
            })
        };
        let ptr = |v: &Value| match v {
            Value::Expr(e) => Arc::as_ptr(e),
            _ => panic!("not an expression: {v:?}"),
        };
        let (a, b) = (make(), make());
        assert_eq!(a, b);
        assert_ne!(ptr(&a), ptr(&b));
        let guard = ShareExprs::new();
        let (c, d) = (make(), make());
        assert_eq!(ptr(&c), ptr(&d));
        assert_eq!(c, a);
        let other_name = Value::expr(crate::expr::Expr::Traversal {
            root: "var".into(),
            ops: vec![crate::expr::TravOp::Attr("vpc_ie".into())],
            pos: 0,
        });
        assert_ne!(other_name, c);
        assert_ne!(ptr(&other_name), ptr(&c));
        {
            // an inner guard leaves the sharing to the outer one
            let _inner = ShareExprs::new();
        }
        assert_eq!(ptr(&make()), ptr(&c));
        let other = std::thread::spawn(move || {
            let _g = ShareExprs::new();
            make()
        })
        .join()
        .unwrap();
        assert_ne!(ptr(&other), ptr(&c));
        // decoding shares among decoded copies of the same bytes
        let mut enc = crate::codec::Enc::new();
        enc.value(&c);
        let bytes = enc.into_bytes();
        let decoded = crate::codec::Dec::new(&bytes).value().unwrap();
        assert_eq!(decoded, c);
        let again = crate::codec::Dec::new(&bytes).value().unwrap();
        assert_eq!(ptr(&decoded), ptr(&again));
        drop(guard);
        assert_ne!(ptr(&make()), ptr(&make()));
    }

    /// Many expressions (the table grows several times, moving entries by
    /// their kept hashes): each made again is the copy made first; trees
    /// whose hashes collide are kept apart and each found again.
    #[test]
    fn shared_expressions_survive_growth_and_collisions() {
        let ptr = |v: &Value| match v {
            Value::Expr(e) => Arc::as_ptr(e),
            _ => panic!("not an expression: {v:?}"),
        };
        let make = |i: usize| {
            Value::expr(crate::expr::Expr::Template(vec![
                crate::expr::Part::Lit(format!("queue-{i}-")),
                crate::expr::Part::Interp(crate::expr::Expr::Traversal {
                    root: "var".into(),
                    ops: vec![crate::expr::TravOp::Attr("env".into())],
                    pos: 3,
                }),
            ]))
        };
        let _guard = ShareExprs::new();
        let first: Vec<Value> = (0..5000).map(make).collect();
        for (i, v) in first.iter().enumerate() {
            let again = make(i);
            assert_eq!(ptr(&again), ptr(v), "expression {i}");
        }
        assert_ne!(ptr(&first[1]), ptr(&first[2]));

        let mut set = SharedSet::default();
        let tree = |name: &str| crate::expr::Expr::Traversal {
            root: "local".into(),
            ops: vec![crate::expr::TravOp::Attr(name.into())],
            pos: 0,
        };
        let a = share(&mut set, 42, tree("a"));
        let b = share(&mut set, 42, tree("b"));
        let c = share(&mut set, 42, tree("c"));
        assert_eq!(*b, tree("b"));
        assert!(!Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&b, &c));
        assert!(Arc::ptr_eq(&share(&mut set, 42, tree("a")), &a));
        assert!(Arc::ptr_eq(&share(&mut set, 42, tree("c")), &c));
        assert!(Arc::ptr_eq(&share(&mut set, 42, tree("b")), &b));
        assert_eq!(set.len(), 1);
    }
}
