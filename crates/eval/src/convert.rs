//! Terraform's type conversions and type unification (cty's `convert`):
//! what `tolist`, `tomap`, function arguments, variable types and
//! conditionals do to values.

use rewind_model::Map;

use crate::number::Number;
use crate::types::{Constraint, Type};
use crate::value::Value;

/// Why a value could not be converted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ConvertError {
    /// Where in the value (`.name`, `[0]`), empty at the top.
    pub path: String,
    pub message: String,
}

fn err(path: &str, message: impl Into<String>) -> ConvertError {
    ConvertError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// Converts `v` to type `want` (lossy conversions allowed: a string to a
/// number fails only when the text is not a number).
pub fn convert(v: &Value, want: &Type) -> Result<Value, ConvertError> {
    convert_at(v, want, "")
}

fn convert_at(v: &Value, want: &Type, path: &str) -> Result<Value, ConvertError> {
    if *want == Type::Dynamic {
        return Ok(v.clone());
    }
    if let Some(placeholder) = convert_placeholder(v, want, path) {
        return placeholder;
    }
    let mismatch = || err(path, format!("{} required", want_name(want)));
    match want {
        Type::Dynamic => Ok(v.clone()),
        Type::String | Type::Number | Type::Bool => convert_primitive(v, want, path),
        Type::List(ety) | Type::Set(ety) => {
            let items: Vec<Value> = match v {
                Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                    items.to_vec()
                }
                _ => return Err(mismatch()),
            };
            let given = match v {
                Value::List(t, _) | Value::Set(t, _) => Some(t),
                _ => None,
            };
            let ety = element_type(ety, given, items.iter(), path, "all elements")?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(convert_at(item, &ety, &format!("{path}[{i}]"))?);
            }
            Ok(if matches!(want, Type::Set(_)) {
                Value::set_of(ety, out)
            } else {
                Value::list_of(ety, out)
            })
        }
        Type::Map(ety) => {
            let entries = match v {
                Value::Map(_, m) | Value::Object(m) => m,
                _ => return Err(mismatch()),
            };
            let given = match v {
                Value::Map(t, _) => Some(t),
                _ => None,
            };
            let ety = element_type(ety, given, entries.values(), path, "all map elements")?;
            let mut out = Map::new();
            for (k, item) in entries.iter() {
                let at = format!("{path}[{}]", crate::render::go_quote(k));
                out.insert(k.clone(), convert_at(item, &ety, &at)?);
            }
            Ok(Value::map_of(ety, out))
        }
        Type::Tuple(etys) => {
            let items = match v {
                Value::Tuple(items) | Value::List(_, items) | Value::Set(_, items) => items,
                _ => return Err(mismatch()),
            };
            if items.len() != etys.len() {
                return Err(err(
                    path,
                    format!("tuple required with exactly {} elements", etys.len()),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, ety)) in items.iter().zip(etys.iter()).enumerate() {
                out.push(convert_at(item, ety, &format!("{path}[{i}]"))?);
            }
            Ok(Value::tuple(out))
        }
        Type::Object(attrs) => convert_object(v, attrs, path).unwrap_or_else(|| Err(mismatch())),
    }
}

/// A sensitive, null, unknown or opaque value converted: the mark kept
/// around the converted value, the placeholders given the wanted type
/// (`None` for any other value).
fn convert_placeholder(v: &Value, want: &Type, path: &str) -> Option<Result<Value, ConvertError>> {
    let typed = |t: &Type| {
        if conversion_exists(t, want) {
            Ok(dynamic_replace(t, want))
        } else {
            Err(err(path, format!("{} required", want_name(want))))
        }
    };
    Some(match v {
        Value::Sensitive(inner) => convert_at(inner, want, path).map(Value::sensitive),
        Value::Null(t) => typed(t).map(Value::Null),
        Value::Unknown(t) => typed(t).map(Value::Unknown),
        Value::Opaque(t, sym) => typed(t).map(|t| Value::Opaque(t, sym.clone())),
        // the attributes the type names, read the way a reference reads
        // them; any other type: what the whole object stands for
        Value::Partial(p) => match want {
            Type::Object(attrs) => {
                let mut out = Map::new();
                for (name, aty) in attrs.iter() {
                    match convert_at(&p.attr(name), aty, &format!("{path}.{name}")) {
                        Ok(c) => out.insert(name.clone(), c),
                        Err(e) => return Some(Err(e)),
                    };
                }
                Ok(Value::object(out))
            }
            _ => convert_at(&p.rest, want, path),
        },
        _ => return None,
    })
}

/// A string, number or bool converted to `want` (one of those three).
fn convert_primitive(v: &Value, want: &Type, path: &str) -> Result<Value, ConvertError> {
    let mismatch = || err(path, format!("{} required", want_name(want)));
    match (want, v) {
        (Type::String, Value::String(_))
        | (Type::Number, Value::Number(_))
        | (Type::Bool, Value::Bool(_)) => Ok(v.clone()),
        (Type::String, Value::Number(n)) => Ok(Value::string(n.to_string())),
        (Type::String, Value::Bool(b)) => Ok(Value::string(if *b { "true" } else { "false" })),
        (Type::Number, Value::String(s)) => Number::parse(s)
            .map(Value::Number)
            .map_err(|_| err(path, "a number is required")),
        (Type::Bool, Value::String(s)) => match &**s {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            other => Err(err(
                path,
                match other.to_lowercase().as_str() {
                    "true" => "a bool is required; to convert from string, use lowercase \"true\"",
                    "false" => {
                        "a bool is required; to convert from string, use lowercase \"false\""
                    }
                    _ => "a bool is required",
                },
            )),
        },
        _ => Err(mismatch()),
    }
}

/// The element type a collection converts to: the wanted one, or for
/// `any` the collection's own (`given`), or else the one its elements
/// unify to (`what` names them in the error when they do not).
fn element_type<'v>(
    wanted: &Type,
    given: Option<&Type>,
    elements: impl Iterator<Item = &'v Value>,
    path: &str,
    what: &str,
) -> Result<Type, ConvertError> {
    if *wanted != Type::Dynamic {
        return Ok(wanted.clone());
    }
    if let Some(t) = given {
        return Ok(t.clone());
    }
    let tys: Vec<Type> = elements.map(Value::ty).collect();
    if tys.is_empty() {
        return Ok(Type::Dynamic);
    }
    unify(&tys).ok_or_else(|| err(path, format!("{what} must have the same type")))
}

/// An object or map converted to an object type (`None`: neither).
fn convert_object(
    v: &Value,
    attrs: &Map<String, Type>,
    path: &str,
) -> Option<Result<Value, ConvertError>> {
    let entries = match v {
        Value::Object(m) | Value::Map(_, m) => m,
        _ => return None,
    };
    let mut out = Map::new();
    for (name, aty) in attrs.iter() {
        let Some(item) = entries.get(name) else {
            return Some(Err(err(path, format!("attribute {name:?} is required"))));
        };
        match convert_at(item, aty, &format!("{path}.{name}")) {
            Ok(c) => out.insert(name.clone(), c),
            Err(e) => return Some(Err(e)),
        };
    }
    if matches!(v, Value::Map(..)) {
        if let Some(extra) = entries.keys().find(|k| !attrs.contains_key(*k)) {
            return Some(Err(err(path, format!("unsupported attribute {extra:?}"))));
        }
    }
    Some(Ok(Value::object(out)))
}

/// Converts a value to a variable's type constraint, filling in the
/// defaults of optional object attributes (and null for optional ones
/// without a default), as Terraform does for input variables.
pub fn convert_constraint(v: &Value, c: &Constraint) -> Result<Value, ConvertError> {
    let with_defaults = apply_defaults(v, c, "")?;
    convert(&with_defaults, &c.to_type())
}

fn apply_defaults(v: &Value, c: &Constraint, path: &str) -> Result<Value, ConvertError> {
    let (inner, marked) = v.unmark();
    if !inner.is_known() || inner.is_null() {
        return Ok(v.clone());
    }
    if let (Constraint::Object(attrs), Value::Partial(p)) = (c, inner) {
        // the attributes the constraint names, as a reference reads them
        let read = attrs.keys().map(|k| (k.clone(), p.attr(k))).collect();
        return apply_defaults(&Value::object(read).mark_if(marked), c, path);
    }
    let out = match (c, inner) {
        (Constraint::Object(attrs), Value::Object(m) | Value::Map(_, m)) => {
            let mut out = Map::new();
            for (k, item) in m.iter() {
                match attrs.get(k) {
                    Some(a) => {
                        let item = if item.is_null() {
                            match &a.default {
                                Some(d) if a.optional => d.clone(),
                                _ => item.clone(),
                            }
                        } else {
                            item.clone()
                        };
                        out.insert(
                            k.clone(),
                            apply_defaults(&item, &a.constraint, &format!("{path}.{k}"))?,
                        );
                    }
                    // dropped by the conversion (objects) or refused (maps)
                    None => {
                        out.insert(k.clone(), item.clone());
                    }
                }
            }
            for (k, a) in attrs.iter() {
                if out.contains_key(k) {
                    continue;
                }
                if !a.optional {
                    return Err(err(path, format!("attribute {k:?} is required")));
                }
                let d = match &a.default {
                    Some(d) => apply_defaults(d, &a.constraint, &format!("{path}.{k}"))?,
                    None => Value::Null(a.constraint.to_type()),
                };
                out.insert(k.clone(), d);
            }
            Value::object(out)
        }
        (
            Constraint::List(e) | Constraint::Set(e),
            Value::Tuple(items) | Value::List(_, items) | Value::Set(_, items),
        ) => {
            let items: Result<Vec<Value>, _> = items
                .iter()
                .enumerate()
                .map(|(i, x)| apply_defaults(x, e, &format!("{path}[{i}]")))
                .collect();
            Value::tuple(items?)
        }
        (Constraint::Map(e), Value::Object(m) | Value::Map(_, m)) => {
            let mut out = Map::new();
            for (k, x) in m.iter() {
                out.insert(k.clone(), apply_defaults(x, e, &format!("{path}[{k:?}]"))?);
            }
            Value::object(out)
        }
        (Constraint::Tuple(cs), Value::Tuple(items) | Value::List(_, items))
            if cs.len() == items.len() =>
        {
            let items: Result<Vec<Value>, _> = items
                .iter()
                .zip(cs.iter())
                .enumerate()
                .map(|(i, (x, c))| apply_defaults(x, c, &format!("{path}[{i}]")))
                .collect();
            Value::tuple(items?)
        }
        _ => inner.clone(),
    };
    Ok(out.mark_if(marked))
}

/// The type `want` with its `Dynamic` parts taken from `have`.
fn dynamic_replace(have: &Type, want: &Type) -> Type {
    match (have, want) {
        (_, Type::Dynamic) => have.clone(),
        (Type::List(h) | Type::Set(h) | Type::Map(h), Type::List(w)) => {
            Type::list(dynamic_replace(h, w))
        }
        (Type::List(h) | Type::Set(h) | Type::Map(h), Type::Set(w)) => {
            Type::set(dynamic_replace(h, w))
        }
        (Type::List(h) | Type::Set(h) | Type::Map(h), Type::Map(w)) => {
            Type::map(dynamic_replace(h, w))
        }
        (Type::Object(h), Type::Object(w)) => Type::object(
            w.iter()
                .map(|(k, wt)| {
                    let t = match h.get(k) {
                        Some(ht) => dynamic_replace(ht, wt),
                        None => wt.clone(),
                    };
                    (k.clone(), t)
                })
                .collect(),
        ),
        (Type::Tuple(h), Type::Tuple(w)) if h.len() == w.len() => Type::tuple(
            h.iter()
                .zip(w.iter())
                .map(|(a, b)| dynamic_replace(a, b))
                .collect(),
        ),
        (Type::Tuple(h), Type::List(w) | Type::Set(w)) if **w == Type::Dynamic => {
            let e = unify(h).unwrap_or(Type::Dynamic);
            if matches!(want, Type::List(_)) {
                Type::list(e)
            } else {
                Type::set(e)
            }
        }
        (Type::Object(h), Type::Map(w)) if **w == Type::Dynamic => {
            let tys: Vec<Type> = h.values().cloned().collect();
            Type::map(unify(&tys).unwrap_or(Type::Dynamic))
        }
        _ => want.clone(),
    }
}

fn want_name(t: &Type) -> String {
    match t {
        Type::Object(_) => "object".into(),
        Type::Tuple(_) => "tuple".into(),
        other => other.friendly_name(),
    }
}

/// Whether some value of type `from` may convert to `to` (lossy
/// conversions included).
pub(crate) fn conversion_exists(from: &Type, to: &Type) -> bool {
    match (from, to) {
        (_, Type::Dynamic) | (Type::Dynamic, _) => true,
        (a, b) if a.is_primitive() && b.is_primitive() => true,
        (Type::Object(a), Type::Object(b)) => b
            .iter()
            .all(|(k, bt)| a.get(k).is_some_and(|at| conversion_exists(at, bt))),
        (Type::Tuple(a), Type::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| conversion_exists(x, y))
        }
        (Type::List(a) | Type::Set(a), Type::List(b) | Type::Set(b)) => conversion_exists(a, b),
        (Type::Map(a), Type::Map(b)) => conversion_exists(a, b),
        (Type::Tuple(a), Type::List(b) | Type::Set(b)) => {
            if **b == Type::Dynamic {
                a.is_empty() || unify(a).is_some()
            } else {
                a.iter().all(|x| conversion_exists(x, b))
            }
        }
        (Type::Object(a), Type::Map(b)) => {
            if **b == Type::Dynamic {
                let tys: Vec<Type> = a.values().cloned().collect();
                tys.is_empty() || unify(&tys).is_some()
            } else {
                a.values().all(|x| conversion_exists(x, b))
            }
        }
        (Type::Map(a), Type::Object(b)) => b.values().all(|x| conversion_exists(a, x)),
        _ => false,
    }
}

/// The type values of all of `types` can be converted to (for
/// conditionals, collection literals converted to lists, ...): cty's
/// unsafe unification.
pub(crate) fn unify(types: &[Type]) -> Option<Type> {
    if types.is_empty() {
        return None;
    }
    let count = |f: fn(&Type) -> bool| types.iter().filter(|t| f(t)).count();
    let maps = count(|t| matches!(t, Type::Map(_)));
    let lists = count(|t| matches!(t, Type::List(_)));
    let sets = count(|t| matches!(t, Type::Set(_)));
    let objects = count(|t| matches!(t, Type::Object(_)));
    let tuples = count(|t| matches!(t, Type::Tuple(_)));
    let dynamics = count(|t| matches!(t, Type::Dynamic));
    let n = types.len();
    if maps > 0 && maps + dynamics == n {
        return unify_collections(types, dynamics > 0, Type::map);
    }
    if maps > 0 && maps + objects + dynamics == n {
        if let Some(t @ Type::Map(_)) = unify_objects_as_maps(types) {
            return Some(t);
        }
    } else if lists > 0 && lists + dynamics == n {
        return unify_collections(types, dynamics > 0, Type::list);
    } else if lists > 0 && lists + tuples + dynamics == n {
        if let Some(t @ Type::List(_)) = unify_tuples_as_list(types) {
            return Some(t);
        }
    } else if sets > 0 && sets + dynamics == n {
        return unify_collections(types, dynamics > 0, Type::set);
    } else if objects > 0 && objects + dynamics == n {
        return unify_object_types(types, dynamics > 0);
    } else if tuples > 0 && tuples + dynamics == n {
        return unify_tuple_types(types, dynamics > 0);
    } else if objects > 0 && tuples > 0 {
        return None;
    }
    // the most general type all others convert to
    'pref: for want in sort_types(types) {
        let want_t = &types[want];
        for (i, t) in types.iter().enumerate() {
            if i != want && t != want_t && !conversion_exists(t, want_t) {
                continue 'pref;
            }
        }
        return Some(want_t.clone());
    }
    None
}

fn unify_collections(types: &[Type], has_dynamic: bool, make: fn(Type) -> Type) -> Option<Type> {
    if has_dynamic {
        return Some(Type::Dynamic);
    }
    let elems: Vec<Type> = types.iter().filter_map(|t| t.element().cloned()).collect();
    let e = unify(&elems)?;
    let ret = make(e);
    types
        .iter()
        .all(|t| *t == ret || conversion_exists(t, &ret))
        .then_some(ret)
}

fn unify_objects_as_maps(types: &[Type]) -> Option<Type> {
    let objs: Vec<Type> = types
        .iter()
        .filter(|t| matches!(t, Type::Object(_)))
        .cloned()
        .collect();
    let m = unify_object_types_to_map(&objs)?;
    let mapped: Vec<Type> = types
        .iter()
        .map(|t| {
            if matches!(t, Type::Object(_)) {
                m.clone()
            } else {
                t.clone()
            }
        })
        .collect();
    unify(&mapped).filter(|t| matches!(t, Type::Map(_)))
}

fn unify_tuples_as_list(types: &[Type]) -> Option<Type> {
    let tuples: Vec<Type> = types
        .iter()
        .filter(|t| matches!(t, Type::Tuple(_)))
        .cloned()
        .collect();
    let l = unify_tuple_types_to_list(&tuples)?;
    let listed: Vec<Type> = types
        .iter()
        .map(|t| {
            if matches!(t, Type::Tuple(_)) {
                l.clone()
            } else {
                t.clone()
            }
        })
        .collect();
    unify(&listed).filter(|t| matches!(t, Type::List(_)))
}

fn unify_object_types(types: &[Type], has_dynamic: bool) -> Option<Type> {
    if has_dynamic {
        return Some(Type::Dynamic);
    }
    let attrs: Vec<&Map<String, Type>> = types
        .iter()
        .filter_map(|t| match t {
            Type::Object(a) => Some(&**a),
            _ => None,
        })
        .collect();
    let first = attrs[0];
    if attrs[1..]
        .iter()
        .any(|a| a.len() != first.len() || a.keys().any(|k| !first.contains_key(k)))
    {
        return unify_object_types_to_map(types);
    }
    let mut ret = Map::new();
    for name in first.keys() {
        let across: Vec<Type> = attrs.iter().map(|a| a[name].clone()).collect();
        ret.insert(name.clone(), unify(&across)?);
    }
    let ret = Type::object(ret);
    if types
        .iter()
        .all(|t| *t == ret || conversion_exists(t, &ret))
    {
        Some(ret)
    } else {
        unify_object_types_to_map(types)
    }
}

fn unify_object_types_to_map(types: &[Type]) -> Option<Type> {
    let mut atys = Vec::new();
    for t in types {
        if let Type::Object(a) = t {
            atys.extend(a.values().cloned());
        }
    }
    let e = unify(&atys)?;
    let ret = Type::map(e);
    types
        .iter()
        .all(|t| *t == ret || conversion_exists(t, &ret))
        .then_some(ret)
}

fn unify_tuple_types(types: &[Type], has_dynamic: bool) -> Option<Type> {
    if has_dynamic {
        return Some(Type::Dynamic);
    }
    let elems: Vec<&Vec<Type>> = types
        .iter()
        .filter_map(|t| match t {
            Type::Tuple(e) => Some(&**e),
            _ => None,
        })
        .collect();
    let first = elems[0];
    if elems[1..].iter().any(|e| e.len() != first.len()) {
        return unify_tuple_types_to_list(types);
    }
    let mut ret = Vec::with_capacity(first.len());
    for i in 0..first.len() {
        let across: Vec<Type> = elems.iter().map(|e| e[i].clone()).collect();
        ret.push(unify(&across)?);
    }
    let ret = Type::tuple(ret);
    if types
        .iter()
        .all(|t| *t == ret || conversion_exists(t, &ret))
    {
        Some(ret)
    } else {
        unify_tuple_types_to_list(types)
    }
}

fn unify_tuple_types_to_list(types: &[Type]) -> Option<Type> {
    let mut etys = Vec::new();
    for t in types {
        if let Type::Tuple(e) = t {
            etys.extend(e.iter().cloned());
        }
    }
    // cty's unify of no types is "no type": an empty tuple and a list do
    // not unify through this path
    let e = unify(&etys)?;
    let ret = Type::list(e);
    types
        .iter()
        .all(|t| *t == ret || conversion_exists(t, &ret))
        .then_some(ret)
}

/// Indexes of `types` from the most to the least preferred unification
/// target (cty's `sortTypes`: a topological order of "converts to").
fn sort_types(types: &[Type]) -> Vec<usize> {
    let n = types.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n.saturating_sub(1) {
        for j in i + 1..n {
            match compare_types(&types[i], &types[j]) {
                c if c < 0 => edges[i].push(j),
                c if c > 0 => edges[j].push(i),
                _ => {}
            }
        }
    }
    let mut indegree = vec![0usize; n];
    for outs in &edges {
        for &j in outs {
            indegree[j] += 1;
        }
    }
    let mut queue: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut result = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        result.push(i);
        for &j in &edges[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    result
}

/// cty's `compareTypes`: negative when `a` is preferred (more general).
fn compare_types(a: &Type, b: &Type) -> i32 {
    if *a == Type::Dynamic || *b == Type::Dynamic {
        return match (a == &Type::Dynamic, b == &Type::Dynamic) {
            (false, true) => -1,
            (true, false) => 1,
            _ => 0,
        };
    }
    if a.is_primitive() && b.is_primitive() {
        if *a == Type::String || *b == Type::String {
            return match (a == &Type::String, b == &Type::String) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            };
        }
        return 0;
    }
    match (a, b) {
        (Type::List(x), Type::List(y))
        | (Type::Set(x), Type::Set(y))
        | (Type::Map(x), Type::Map(y)) => return compare_types(x, y),
        _ => {}
    }
    let (a, b, swap) = match (a, b) {
        (Type::Tuple(_), Type::List(_))
        | (Type::Object(_), Type::Map(_))
        | (Type::Set(_), Type::Tuple(_))
        | (Type::Set(_), Type::List(_)) => (b, a, -1),
        _ => (a, b, 1),
    };
    if matches!(b, Type::Set(_)) && matches!(a, Type::Tuple(_) | Type::List(_)) {
        return -swap;
    }
    if matches!(a, Type::List(_)) && matches!(b, Type::Tuple(_)) {
        return -swap;
    }
    if matches!(a, Type::Map(_)) && matches!(b, Type::Object(_)) {
        return -swap;
    }
    let supers = |pairs: Vec<(&Type, &Type)>| -> i32 {
        let (mut a_super, mut b_super) = (false, false);
        for (x, y) in pairs {
            match compare_types(x, y) {
                c if c < 0 => a_super = true,
                c if c > 0 => b_super = true,
                _ => {}
            }
        }
        match (a_super, b_super) {
            (true, false) => -swap,
            (false, true) => swap,
            _ => 0,
        }
    };
    match (a, b) {
        (Type::Object(x), Type::Object(y)) => {
            if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                return 0;
            }
            supers(x.iter().map(|(k, t)| (t, &y[k])).collect())
        }
        (Type::Tuple(x), Type::Tuple(y)) => {
            if x.len() != y.len() {
                return 0;
            }
            supers(x.iter().zip(y.iter()).collect())
        }
        _ => 0,
    }
}
