//! Terraform's values.

use rewind_model::Map;
use std::cmp::Ordering;
use std::sync::Arc;

use crate::number::Number;
use crate::types::Type;

/// A value of the Terraform language (cty's value model).
///
/// Lists, sets and maps know their element type (an empty list still has
/// one); tuples and objects have a type per element. `Unknown` stands for
/// what only apply can know; `Sensitive` marks a value that must never be
/// shown (it wraps the value it marks, at any depth).
#[derive(Clone, Debug)]
pub enum Value {
    Null(Type),
    Unknown(Type),
    Bool(bool),
    Number(Number),
    String(Arc<str>),
    List(Type, Arc<Vec<Value>>),
    /// Elements sorted as Terraform orders sets, without duplicates.
    Set(Type, Arc<Vec<Value>>),
    Map(Type, Arc<Map<String, Value>>),
    Tuple(Arc<Vec<Value>>),
    Object(Arc<Map<String, Value>>),
    Sensitive(Arc<Value>),
    /// A value that exists but that rewind cannot see (an attribute of a
    /// deployed object when there is no state to read it from), named by a
    /// symbol (`terraform_data.a.id`, `upper(<terraform_data.a.id>)`).
    /// Two opaque values are the same value when their symbols are equal.
    Opaque(Type, Arc<str>),
    /// An object of which rewind knows only some attributes: a resource
    /// instance whose provider schema it does not have (the attributes its
    /// configuration sets are known, the provider's computed ones are not).
    /// Reading an attribute it does not list gives what [`Partial::rest`]
    /// says; anything done with the whole object treats it as `rest`.
    Partial(Arc<Partial>),
}

/// The content of [`Value::Partial`].
#[derive(Clone, Debug)]
pub struct Partial {
    /// The attributes rewind knows (shared with the object they came from).
    pub attrs: Arc<Map<String, Value>>,
    /// What the rest stands for: [`Value::Unknown`] (an object being
    /// created or replaced) or [`Value::Opaque`] named after the object (a
    /// deployed object rewind cannot see).
    pub rest: Value,
}

impl Partial {
    /// The attribute `name`: listed, or unknown, or opaque and named
    /// `SYMBOL.name`.
    pub fn attr(&self, name: &str) -> Value {
        if let Some(v) = self.attrs.get(name) {
            return v.clone();
        }
        match &self.rest {
            Value::Opaque(_, sym) => Value::Opaque(Type::Dynamic, format!("{sym}.{name}").into()),
            _ => Value::unknown(),
        }
    }
}

impl Value {
    pub fn null() -> Value {
        Value::Null(Type::Dynamic)
    }

    pub fn unknown() -> Value {
        Value::Unknown(Type::Dynamic)
    }

    pub fn string(s: impl AsRef<str>) -> Value {
        Value::String(Arc::from(s.as_ref()))
    }

    pub fn number(n: Number) -> Value {
        Value::Number(n)
    }

    pub fn int(i: i64) -> Value {
        Value::Number(Number::from_i64(i))
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Arc::new(items))
    }

    pub fn object(attrs: Map<String, Value>) -> Value {
        Value::Object(Arc::new(attrs))
    }

    /// An object of which only `attrs` are known, the rest standing for
    /// `rest` (see [`Value::Partial`]).
    pub fn partial(attrs: Arc<Map<String, Value>>, rest: Value) -> Value {
        Value::Partial(Arc::new(Partial { attrs, rest }))
    }

    /// The value whole operations see: the `rest` of a partial object,
    /// the value itself otherwise.
    pub fn whole(&self) -> &Value {
        match self {
            Value::Partial(p) => &p.rest,
            v => v,
        }
    }

    /// True for an opaque value, or a partial object standing for one.
    pub fn is_opaque(&self) -> bool {
        matches!(self.unmark().0.whole(), Value::Opaque(..))
    }

    pub fn empty_object() -> Value {
        Value::Object(Arc::new(Map::new()))
    }

    /// A list of values that already have the element type `ty`.
    pub fn list_of(ty: Type, items: Vec<Value>) -> Value {
        Value::List(ty, Arc::new(items))
    }

    /// A map of values that already have the element type `ty`.
    pub fn map_of(ty: Type, items: Map<String, Value>) -> Value {
        Value::Map(ty, Arc::new(items))
    }

    /// A set of values that already have the element type `ty`: sorted and
    /// deduplicated here.
    pub(crate) fn set_of(ty: Type, mut items: Vec<Value>) -> Value {
        items.sort_by(set_order);
        items.dedup_by(|a, b| a.raw_eq(b));
        Value::Set(ty, Arc::new(items))
    }

    /// Marks the value sensitive (when `yes`).
    pub fn mark_if(self, yes: bool) -> Value {
        if yes {
            self.sensitive()
        } else {
            self
        }
    }

    /// The value, marked sensitive.
    pub fn sensitive(self) -> Value {
        match self {
            v @ Value::Sensitive(_) => v,
            v => Value::Sensitive(Arc::new(v)),
        }
    }

    /// The value without its top-level mark, and whether it had one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark().0, true),
            v => (v, false),
        }
    }

    /// The value without any mark at any depth, and whether it had one.
    pub fn unmark_deep(&self) -> (Value, bool) {
        if !self.has_marks() {
            return (self.clone(), false);
        }
        let mut marked = false;
        let v = self.map_deep(&mut |v| match v {
            Value::Sensitive(inner) => {
                marked = true;
                Some(inner.unmark_deep().0)
            }
            _ => None,
        });
        (v, marked)
    }

    /// True when the value or anything inside it is marked.
    pub fn has_marks(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().any(Value::has_marks)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().any(Value::has_marks),
            Value::Partial(p) => p.attrs.values().any(Value::has_marks),
            _ => false,
        }
    }

    /// Hands `f` the text of everything a sensitive mark covers, at any
    /// depth: strings and numbers as Terraform writes them, and the keys
    /// of maps and objects (`true` for a key), for scrubbing text that
    /// rewind does not render itself (Terraform's).
    pub fn marked_texts(&self, f: &mut dyn FnMut(&str, bool)) {
        self.texts(false, f)
    }

    fn texts(&self, marked: bool, f: &mut dyn FnMut(&str, bool)) {
        match self {
            Value::Sensitive(inner) => inner.texts(true, f),
            Value::String(s) if marked => f(s, false),
            Value::Number(n) if marked => f(&n.to_string(), false),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().for_each(|v| v.texts(marked, f))
            }
            Value::Map(_, m) | Value::Object(m) => {
                for (k, v) in m.iter() {
                    if marked {
                        f(k, true);
                    }
                    v.texts(marked, f);
                }
            }
            Value::Partial(p) => p.attrs.values().for_each(|v| v.texts(marked, f)),
            _ => {}
        }
    }

    /// Rebuilds the value bottom-up, replacing what `f` returns `Some` for.
    fn map_deep(&self, f: &mut dyn FnMut(&Value) -> Option<Value>) -> Value {
        if let Some(v) = f(self) {
            return v;
        }
        match self {
            Value::List(t, items) => Value::List(
                t.clone(),
                Arc::new(items.iter().map(|v| v.map_deep(f)).collect()),
            ),
            Value::Set(t, items) => {
                Value::set_of(t.clone(), items.iter().map(|v| v.map_deep(f)).collect())
            }
            Value::Tuple(items) => Value::tuple(items.iter().map(|v| v.map_deep(f)).collect()),
            Value::Map(t, m) => Value::Map(
                t.clone(),
                Arc::new(m.iter().map(|(k, v)| (k.clone(), v.map_deep(f))).collect()),
            ),
            Value::Object(m) => {
                Value::object(m.iter().map(|(k, v)| (k.clone(), v.map_deep(f))).collect())
            }
            Value::Partial(p) => Value::partial(
                Arc::new(
                    p.attrs
                        .iter()
                        .map(|(k, v)| (k.clone(), v.map_deep(f)))
                        .collect(),
                ),
                p.rest.clone(),
            ),
            other => other.clone(),
        }
    }

    /// The value's type.
    pub fn ty(&self) -> Type {
        match self {
            Value::Null(t) | Value::Unknown(t) | Value::Opaque(t, _) => t.clone(),
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(t, _) => Type::list(t.clone()),
            Value::Set(t, _) => Type::set(t.clone()),
            Value::Map(t, _) => Type::map(t.clone()),
            Value::Tuple(items) => Type::tuple(items.iter().map(Value::ty).collect()),
            Value::Object(m) => Type::object(m.iter().map(|(k, v)| (k.clone(), v.ty())).collect()),
            Value::Sensitive(inner) => inner.ty(),
            Value::Partial(p) => p.rest.ty(),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmark().0, Value::Null(_))
    }

    /// False for an unknown value (its elements may still be unknown when
    /// this is true).
    pub fn is_known(&self) -> bool {
        !matches!(self.unmark().0.whole(), Value::Unknown(_))
    }

    /// True when the value or anything inside it is opaque.
    pub fn has_opaque(&self) -> bool {
        match self {
            Value::Opaque(..) => true,
            Value::Sensitive(inner) => inner.has_opaque(),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().any(Value::has_opaque)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().any(Value::has_opaque),
            Value::Partial(p) => p.rest.has_opaque() || p.attrs.values().any(Value::has_opaque),
            _ => false,
        }
    }

    /// True when an infinite number is inside (`1/0`, `pow(10, 400)`):
    /// Terraform cannot write such a value to JSON, so a resource
    /// argument or root output holding one fails its plan.
    pub fn has_infinity(&self) -> bool {
        match self {
            Value::Number(n) => n.is_infinite(),
            Value::Sensitive(inner) => inner.has_infinity(),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().any(Value::has_infinity)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().any(Value::has_infinity),
            Value::Partial(p) => p.rest.has_infinity() || p.attrs.values().any(Value::has_infinity),
            _ => false,
        }
    }

    /// True when nothing inside is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().all(Value::is_wholly_known)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            Value::Partial(p) => {
                p.rest.is_wholly_known() && p.attrs.values().all(Value::is_wholly_known)
            }
            _ => true,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmark().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unmark().0 {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmark().0 {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements of a list, set or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self.unmark().0 {
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a map or object.
    pub fn as_mapping(&self) -> Option<&Map<String, Value>> {
        match self.unmark().0 {
            Value::Map(_, m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// True for lists, sets, tuples, maps and objects.
    pub(crate) fn is_collection(&self) -> bool {
        matches!(
            self.unmark().0,
            Value::List(..) | Value::Set(..) | Value::Tuple(_) | Value::Map(..) | Value::Object(_)
        )
    }

    /// Number of elements of a collection (`None` for anything else, so
    /// there is no `is_empty` to go with it).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> Option<usize> {
        self.as_seq()
            .map(<[Value]>::len)
            .or_else(|| self.as_mapping().map(Map::len))
    }

    /// The attribute `name` of an object (or the key of a map).
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        self.as_mapping().and_then(|m| m.get(name))
    }

    /// Identical values: same types, same content, unknowns only equal to
    /// unknowns of the same type; marks are compared too (cty's
    /// `RawEquals`).
    pub fn raw_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Sensitive(a), Value::Sensitive(b)) => a.raw_eq(b),
            (Value::Sensitive(_), _) | (_, Value::Sensitive(_)) => false,
            (Value::Null(a), Value::Null(b)) | (Value::Unknown(a), Value::Unknown(b)) => a == b,
            (Value::Opaque(a, x), Value::Opaque(b, y)) => a == b && x == y,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(ta, a), Value::List(tb, b)) | (Value::Set(ta, a), Value::Set(tb, b)) => {
                ta == tb && a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.raw_eq(y))
            }
            (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.raw_eq(y))
            }
            (Value::Map(ta, a), Value::Map(tb, b)) => ta == tb && mappings_raw_eq(a, b),
            (Value::Object(a), Value::Object(b)) => mappings_raw_eq(a, b),
            (Value::Partial(a), Value::Partial(b)) => {
                a.rest.raw_eq(&b.rest) && mappings_raw_eq(&a.attrs, &b.attrs)
            }
            _ => false,
        }
    }

    /// Terraform's `==`: `true`/`false`, or an unknown bool when an unknown
    /// value decides it. Values of different types are not equal (no
    /// conversion), except that `null` equals `null` of any type.
    pub fn equals(&self, other: &Value) -> Value {
        let (a, ma) = self.unmark();
        let (b, mb) = other.unmark();
        let marked = ma || mb;
        if let (Value::Partial(x), Value::Partial(y)) = (a, b) {
            // the same object seen twice
            if x.rest.raw_eq(&y.rest) && x.rest.is_opaque() && mappings_raw_eq(&x.attrs, &y.attrs) {
                return Value::Bool(true).mark_if(marked);
            }
        }
        let (a, b) = (a.whole(), b.whole());
        let r = match (a, b) {
            (Value::Unknown(_), _) | (_, Value::Unknown(_)) => Value::Unknown(Type::Bool),
            (Value::Opaque(_, x), Value::Opaque(_, y)) if x == y => Value::Bool(true),
            (Value::Opaque(..), _) | (_, Value::Opaque(..)) => Value::Unknown(Type::Bool),
            (Value::Null(_), Value::Null(_)) => Value::Bool(true),
            (Value::Null(_), _) | (_, Value::Null(_)) => Value::Bool(false),
            _ => {
                if !types_comparable(&a.ty(), &b.ty()) {
                    Value::Bool(false)
                } else {
                    match (a, b) {
                        (Value::Bool(x), Value::Bool(y)) => Value::Bool(x == y),
                        (Value::Number(x), Value::Number(y)) => Value::Bool(x == y),
                        (Value::String(x), Value::String(y)) => Value::Bool(x == y),
                        (Value::List(_, x), Value::List(_, y))
                        | (Value::Tuple(x), Value::Tuple(y)) => seq_equals(x, y),
                        (Value::Set(_, x), Value::Set(_, y)) => {
                            if x.iter().chain(y.iter()).any(|v| !v.is_wholly_known()) {
                                Value::Unknown(Type::Bool)
                            } else {
                                Value::Bool(
                                    x.len() == y.len()
                                        && x.iter().all(|v| y.iter().any(|w| v.semantic_eq(w))),
                                )
                            }
                        }
                        (Value::Map(_, x), Value::Map(_, y))
                        | (Value::Object(x), Value::Object(y)) => {
                            if x.len() != y.len() || x.keys().ne(y.keys()) {
                                Value::Bool(false)
                            } else {
                                let xs: Vec<Value> = x.values().cloned().collect();
                                let ys: Vec<Value> = y.values().cloned().collect();
                                seq_equals(&xs, &ys)
                            }
                        }
                        _ => Value::Bool(false),
                    }
                }
            }
        };
        r.mark_if(marked)
    }

    /// Equal content, ignoring marks and the kind of collection (a tuple
    /// and a list with equal elements are the same, an object and a map
    /// too, numbers by value): how a planned value is compared with the
    /// value stored in state, which carries no types. Unknowns are never
    /// equal to anything.
    pub fn semantic_eq(&self, other: &Value) -> bool {
        let (a, _) = self.unmark();
        let (b, _) = other.unmark();
        match (a, b) {
            (Value::Partial(x), Value::Partial(y)) => {
                x.rest.semantic_eq(&y.rest)
                    && x.attrs.len() == y.attrs.len()
                    && x.attrs
                        .iter()
                        .zip(y.attrs.iter())
                        .all(|((k, v), (l, w))| k == l && v.semantic_eq(w))
            }
            (Value::Partial(_), _) | (_, Value::Partial(_)) => false,
            (Value::Unknown(_), _) | (_, Value::Unknown(_)) => false,
            (Value::Opaque(_, x), Value::Opaque(_, y)) => x == y,
            (Value::Opaque(..), _) | (_, Value::Opaque(..)) => false,
            (Value::Null(_), Value::Null(_)) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Number(x), Value::Number(y)) => x == y,
            (Value::String(x), Value::String(y)) => x == y,
            // state keeps numbers and bools as they were converted
            (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
                Number::parse(s).is_ok_and(|m| m == *n)
            }
            (Value::String(s), Value::Bool(v)) | (Value::Bool(v), Value::String(s)) => {
                (&**s == "true" && *v) || (&**s == "false" && !*v)
            }
            (Value::Set(_, x), Value::Set(_, y)) => {
                x.len() == y.len() && x.iter().all(|v| y.iter().any(|w| v.semantic_eq(w)))
            }
            _ => match (a.as_seq(), b.as_seq()) {
                (Some(x), Some(y)) => {
                    x.len() == y.len() && x.iter().zip(y.iter()).all(|(v, w)| v.semantic_eq(w))
                }
                _ => match (a.as_mapping(), b.as_mapping()) {
                    (Some(x), Some(y)) => {
                        x.len() == y.len()
                            && x.iter()
                                .zip(y.iter())
                                .all(|((k, v), (l, w))| k == l && v.semantic_eq(w))
                    }
                    _ => false,
                },
            },
        }
    }
}

fn mappings_raw_eq(a: &Map<String, Value>, b: &Map<String, Value>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|((k, v), (l, w))| k == l && v.raw_eq(w))
}

/// Element-wise `==` of two sequences: false as soon as a pair is known to
/// differ, unknown when a pair is unknown and none differs.
fn seq_equals(x: &[Value], y: &[Value]) -> Value {
    if x.len() != y.len() {
        return Value::Bool(false);
    }
    let mut unknown = false;
    let mut marked = false;
    for (a, b) in x.iter().zip(y.iter()) {
        let r = a.equals(b);
        let (r, m) = r.unmark();
        marked |= m;
        match r {
            Value::Bool(false) => return Value::Bool(false).mark_if(marked),
            Value::Bool(true) => {}
            _ => unknown = true,
        }
    }
    if unknown {
        Value::Unknown(Type::Bool).mark_if(marked)
    } else {
        Value::Bool(true).mark_if(marked)
    }
}

/// Whether two types can hold equal values: equal types, with `Dynamic`
/// matching anything.
fn types_comparable(a: &Type, b: &Type) -> bool {
    match (a, b) {
        (Type::Dynamic, _) | (_, Type::Dynamic) => true,
        (Type::List(x), Type::List(y))
        | (Type::Set(x), Type::Set(y))
        | (Type::Map(x), Type::Map(y)) => types_comparable(x, y),
        (Type::Tuple(x), Type::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| types_comparable(a, b))
        }
        (Type::Object(x), Type::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((k, a), (l, b))| k == l && types_comparable(a, b))
        }
        _ => a == b,
    }
}

/// The order of set elements: known before unknown before null; strings,
/// numbers and bools by value; anything else by cty's set hash text.
pub(crate) fn set_order(a: &Value, b: &Value) -> Ordering {
    let (a, _) = a.unmark();
    let (b, _) = b.unmark();
    let (a, b) = (a.whole(), b.whole());
    let rank = |v: &Value| -> u8 {
        match v {
            Value::Null(_) => 2,
            Value::Unknown(_) => 1,
            _ => 0,
        }
    };
    match rank(a).cmp(&rank(b)) {
        Ordering::Equal => {}
        o => return o,
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => set_hash_text(a).cmp(&set_hash_text(b)),
    }
}

/// cty's set hash text of a value (only its order matters).
fn set_hash_text(v: &Value) -> String {
    let mut out = String::new();
    fn go(v: &Value, out: &mut String) {
        let (v, _) = v.unmark();
        match v.whole() {
            Value::Unknown(_) => out.push('?'),
            Value::Null(_) => out.push('~'),
            Value::Opaque(_, sym) => {
                out.push('<');
                out.push_str(sym);
                out.push('>');
            }
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::Bool(b) => out.push(if *b { 'T' } else { 'F' }),
            Value::String(s) => out.push_str(&crate::render::go_quote(s)),
            Value::Map(_, m) => {
                out.push('{');
                for (k, v) in m.iter() {
                    out.push_str(&crate::render::go_quote(k));
                    out.push(':');
                    go(v, out);
                    out.push(';');
                }
                out.push('}');
            }
            Value::List(_, items) | Value::Set(_, items) => {
                out.push('[');
                for v in items.iter() {
                    go(v, out);
                    out.push(';');
                }
                out.push(']');
            }
            Value::Object(m) => {
                out.push('<');
                for v in m.values() {
                    go(v, out);
                    out.push(';');
                }
                out.push('>');
            }
            Value::Tuple(items) => {
                out.push('<');
                for v in items.iter() {
                    go(v, out);
                    out.push(';');
                }
                out.push('>');
            }
            Value::Sensitive(inner) => go(inner, out),
            Value::Partial(p) => go(&p.rest, out),
        }
    }
    go(v, &mut out);
    out
}

impl PartialEq for Value {
    /// Identical values ([`Value::raw_eq`]).
    fn eq(&self, other: &Value) -> bool {
        self.raw_eq(other)
    }
}

/// `s` in Unicode normal form C, as cty makes every string.
pub(crate) fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only what a mark covers is handed out, map keys flagged as keys,
    /// numbers as Terraform writes them.
    #[test]
    fn marked_texts_are_what_marks_cover() {
        let mut inner = Map::new();
        inner.insert("db-key".to_string(), Value::string("static-4417"));
        inner.insert("port".to_string(), Value::int(5432));
        let mut attrs = Map::new();
        attrs.insert("name".to_string(), Value::string("shown"));
        attrs.insert("creds".to_string(), Value::object(inner).sensitive());
        attrs.insert(
            "tags".to_string(),
            Value::tuple(vec![
                Value::string("plain"),
                Value::string("hid").sensitive(),
            ]),
        );
        let mut got = Vec::new();
        Value::object(attrs).marked_texts(&mut |s, key| got.push((s.to_string(), key)));
        assert_eq!(
            got,
            [
                ("db-key".to_string(), true),
                ("static-4417".to_string(), false),
                ("port".to_string(), true),
                ("5432".to_string(), false),
                ("hid".to_string(), false),
            ]
        );
    }
}
