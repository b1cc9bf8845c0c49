//! Collection functions.

use std::collections::BTreeMap;

use super::*;
use crate::convert::unify;
use crate::number::Number;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &[
    "alltrue",
    "anytrue",
    "chunklist",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "distinct",
    "element",
    "flatten",
    "index",
    "keys",
    "length",
    "lookup",
    "matchkeys",
    "merge",
    "one",
    "range",
    "reverse",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "slice",
    "sort",
    "sum",
    "transpose",
    "values",
    "zipmap",
];

const LIST_ANY: P = P::ListOf(&P::Any);
const LIST_STRING: P = P::ListOf(&P::String);
const LIST_BOOL: P = P::ListOf(&P::Bool);
const SET_ANY: P = P::SetOf(&P::Any);

pub(super) fn lookup(name: &str) -> Option<Spec> {
    sequence_function(name)
        .or_else(|| map_function(name))
        .or_else(|| set_function(name))
}

/// A function of fixed parameters (`partial` as [`Spec::partial`]).
fn spec(params: &'static [Param], ret: fn(&[Value]) -> Type, partial: bool, imp: Impl) -> Spec {
    Spec {
        params,
        var_param: None,
        ret,
        partial,
        imp,
    }
}

/// A function without fixed parameters: every argument is a `var_param`.
fn only(var_param: Param, ret: fn(&[Value]) -> Type, partial: bool, imp: Impl) -> Spec {
    variadic(&[], var_param, ret, partial, imp)
}

/// Functions of lists and tuples (and of any values: `coalesce`, `range`).
fn sequence_function(name: &str) -> Option<Spec> {
    Some(match name {
        "length" => spec(
            &[pf!("value", P::Any, UNKNOWN_OK | MARKED_OK | DYN_OK)],
            ret_number,
            true,
            length,
        ),
        "alltrue" => spec(&[p!("list", LIST_BOOL)], ret_bool, true, |_, a| {
            all_any(&a[0], true)
        }),
        "anytrue" => spec(&[p!("list", LIST_BOOL)], ret_bool, true, |_, a| {
            all_any(&a[0], false)
        }),
        "chunklist" => spec(
            &[p!("list", LIST_ANY), p!("size", P::Number)],
            |a| Type::list(a[0].ty()),
            false,
            chunklist,
        ),
        "coalesce" => only(
            // the first known, non-null, non-empty argument decides, even
            // when a later one is not known (Terraform's CoalesceFunc)
            pf!("vals", P::Any, NULL_OK | DYN_OK | UNKNOWN_OK),
            |a| unify(&a.iter().map(Value::ty).collect::<Vec<_>>()).unwrap_or(Type::Dynamic),
            true,
            coalesce,
        ),
        "coalescelist" => only(
            pf!("vals", P::Any, NULL_OK | DYN_OK),
            ret_dynamic,
            true,
            coalescelist,
        ),
        "compact" => spec(&[p!("list", LIST_STRING)], ret_list_string, false, compact),
        "concat" => only(p!("seqs", P::Any), ret_dynamic, true, concat),
        "contains" => spec(
            &[p!("list", P::Any), p!("value", P::Any)],
            ret_bool,
            true,
            contains,
        ),
        "distinct" => spec(&[p!("list", LIST_ANY)], ret_first, false, distinct),
        "element" => spec(
            &[pf!("list", P::Any, MARKED_OK), p!("index", P::Number)],
            ret_dynamic,
            true,
            element,
        ),
        "flatten" => spec(
            &[pf!("list", P::Any, MARKED_OK)],
            ret_dynamic,
            true,
            flatten,
        ),
        "index" => spec(
            &[p!("list", P::Any), p!("value", P::Any)],
            ret_number,
            false,
            index_fn,
        ),
        "one" => spec(&[pf!("list", P::Any, MARKED_OK)], ret_dynamic, true, one),
        "range" => only(
            p!("params", P::Number),
            |_| Type::list(Type::Number),
            false,
            range,
        ),
        "reverse" => spec(&[p!("list", P::Any)], ret_first, true, reverse),
        "slice" => spec(
            &[
                p!("list", P::Any),
                p!("start_index", P::Number),
                p!("end_index", P::Number),
            ],
            ret_dynamic,
            true,
            slice,
        ),
        "sort" => spec(&[p!("list", LIST_STRING)], ret_list_string, false, sort),
        "sum" => spec(&[p!("list", P::Any)], ret_number, false, sum),
        _ => return None,
    })
}

/// Functions of maps and objects.
fn map_function(name: &str) -> Option<Spec> {
    Some(match name {
        "keys" => spec(
            &[pf!("inputMap", P::Any, UNKNOWN_OK | MARKED_OK)],
            ret_dynamic,
            true,
            keys,
        ),
        "values" => spec(
            &[pf!("mapping", P::Any, MARKED_OK)],
            ret_dynamic,
            true,
            values,
        ),
        "lookup" => variadic(
            &[
                pf!("inputMap", P::Any, MARKED_OK),
                pf!("key", P::String, MARKED_OK),
            ],
            pf!("default", P::Any, NULL_OK | MARKED_OK | DYN_OK),
            ret_dynamic,
            true,
            lookup_fn,
        ),
        "merge" => only(
            pf!("maps", P::Any, NULL_OK | MARKED_OK | DYN_OK),
            ret_dynamic,
            true,
            merge,
        ),
        "matchkeys" => spec(
            &[
                p!("values", LIST_ANY),
                p!("keys", LIST_ANY),
                p!("searchset", LIST_ANY),
            ],
            ret_first,
            false,
            matchkeys,
        ),
        "transpose" => spec(
            &[p!("values", P::MapOf(&LIST_STRING))],
            |_| Type::map(Type::list(Type::String)),
            false,
            transpose,
        ),
        "zipmap" => spec(
            &[p!("keys", LIST_STRING), p!("values", P::Any)],
            ret_dynamic,
            true,
            zipmap,
        ),
        _ => return None,
    })
}

/// Functions of sets.
fn set_function(name: &str) -> Option<Spec> {
    Some(match name {
        "setintersection" => variadic(
            &[p!("first_set", SET_ANY)],
            p!("other_sets", SET_ANY),
            ret_dynamic,
            false,
            |_, a| set_op(a, SetOp::Intersection),
        ),
        "setunion" => variadic(
            &[p!("first_set", SET_ANY)],
            p!("other_sets", SET_ANY),
            ret_dynamic,
            false,
            |_, a| set_op(a, SetOp::Union),
        ),
        "setsubtract" => spec(
            &[p!("a", SET_ANY), p!("b", SET_ANY)],
            ret_first,
            false,
            |_, a| set_op(a, SetOp::Subtract),
        ),
        "setproduct" => only(p!("sets", P::Any), ret_dynamic, false, setproduct),
        _ => return None,
    })
}

/// `compact(list)`: the list without its nulls and empty strings.
fn compact(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let items: Vec<Value> = arg_seq(a, 0)
        .iter()
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .collect();
    Ok(Value::list_of(Type::String, items))
}

/// `distinct(list)`: each element once, where it first appears.
fn distinct(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in arg_seq(a, 0) {
        if !out.iter().any(|o| o.raw_eq(v)) {
            out.push(v.clone());
        }
    }
    Ok(Value::list_of(elem_type(&a[0]), out))
}

/// `reverse(list)`: a list for a list or a set, a tuple for a tuple.
fn reverse(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let mut items = arg_seq(a, 0).to_vec();
    items.reverse();
    match &a[0] {
        Value::List(t, _) => Ok(Value::list_of(t.clone(), items)),
        Value::Set(t, _) => Ok(Value::list_of(t.clone(), items)),
        Value::Tuple(_) => Ok(Value::tuple(items)),
        other => Err(arg_fail(
            "list",
            format!(
                "can only reverse list or tuple values, not {}",
                other.ty().friendly_name()
            ),
        )),
    }
}

/// `sort(list)`: strings in byte order; a null element is an error.
fn sort(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let mut items: Vec<Value> = arg_seq(a, 0).to_vec();
    if items.iter().any(Value::is_null) {
        return Err(fail("given list element must not be null"));
    }
    items.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    Ok(Value::list_of(Type::String, items))
}

fn elem_type(v: &Value) -> Type {
    match v.unmark().0 {
        Value::List(t, _) | Value::Set(t, _) | Value::Map(t, _) => t.clone(),
        _ => Type::Dynamic,
    }
}

fn length(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (v, marked) = a[0].unmark();
    let r = match v {
        Value::Unknown(t) => match t {
            Type::Tuple(ts) => Value::int(ts.len() as i64),
            Type::Object(attrs) => Value::int(attrs.len() as i64),
            _ => Value::Unknown(Type::Number),
        },
        Value::String(s) => Value::int(crate::functions::string::grapheme_count(s) as i64),
        Value::Null(_) => {
            return Err(EvalError::new(
                "Invalid function argument",
                "Invalid value for \"value\" parameter: argument must not be null.",
            ))
        }
        _ => match v.len() {
            Some(n) => Value::int(n as i64),
            None => {
                return Err(fail(
                    "argument must be a string, a collection type, or a structural type",
                ))
            }
        },
    };
    Ok(r.mark_if(marked))
}

fn all_any(list: &Value, all: bool) -> Result<Value> {
    let mut unknown = false;
    for v in list.as_seq().unwrap_or_default() {
        if !v.is_known() {
            unknown = true;
            continue;
        }
        match v.as_bool() {
            Some(b) if b != all => return Ok(Value::Bool(!all)),
            Some(_) => {}
            // null counts as false
            None => {
                if all {
                    return Ok(Value::Bool(false));
                }
            }
        }
    }
    if unknown {
        return Ok(Value::Unknown(Type::Bool));
    }
    Ok(Value::Bool(all))
}

fn chunklist(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let size = arg_int(a, 1, "size")?;
    if size < 0 {
        return Err(fail("the size argument must be positive"));
    }
    let items = arg_seq(a, 0);
    let ety = elem_type(&a[0]);
    if size == 0 {
        return Ok(Value::list_of(
            Type::list(ety.clone()),
            vec![Value::list_of(ety, items.to_vec())],
        ));
    }
    let chunks: Vec<Value> = items
        .chunks(size as usize)
        .map(|c| Value::list_of(ety.clone(), c.to_vec()))
        .collect();
    Ok(Value::list_of(Type::list(ety), chunks))
}

fn coalesce(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let tys: Vec<Type> = a.iter().map(Value::ty).collect();
    let ty = unify(&tys).ok_or_else(|| fail("all arguments must have the same type"))?;
    for v in a {
        if !v.is_known() {
            return Ok(Value::Unknown(ty));
        }
        if v.is_null() {
            continue;
        }
        // a value rewind cannot see (it may be ""): so is the result
        if v.is_opaque() {
            let parts: Vec<String> = a.iter().map(crate::render::symbol).collect();
            return Ok(Value::Opaque(
                ty,
                format!("coalesce({})", parts.join(", ")).into(),
            ));
        }
        let c = convert(v, &ty).map_err(|e| fail(e.to_string()))?;
        if c.as_str() == Some("") {
            continue;
        }
        return Ok(c);
    }
    Err(fail("no non-null, non-empty-string arguments"))
}

fn coalescelist(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    if a.is_empty() {
        return Err(fail("at least one argument is required"));
    }
    // cty checks every argument's type first (an untyped null is none)
    for v in a {
        if !v.is_known() {
            return Ok(Value::unknown());
        }
        if !matches!(v.ty(), Type::List(_) | Type::Tuple(_)) {
            return Err(fail("coalescelist arguments must be lists or tuples"));
        }
    }
    for v in a {
        if v.is_null() || v.len() == Some(0) {
            continue;
        }
        return Ok(v.clone());
    }
    Err(fail("no non-null arguments"))
}

fn concat(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    if a.is_empty() {
        return Err(fail("at least one argument is required"));
    }
    // all lists: a list of their unified element type
    let list_types: Option<Vec<Type>> = a
        .iter()
        .map(|v| match v.ty() {
            t @ Type::List(_) => Some(t),
            _ => None,
        })
        .collect();
    if let Some(tys) = list_types {
        if let Some(t @ Type::List(_)) = unify(&tys) {
            if a.iter().any(|v| !v.is_known()) {
                return Ok(Value::Unknown(t));
            }
            let mut out = Vec::new();
            for (i, v) in a.iter().enumerate() {
                let c = convert(v, &t).map_err(|e| {
                    EvalError::new(
                        "Invalid function argument",
                        format!(
                            "Invalid value for \"seqs\" parameter: argument {}: {e}.",
                            i + 1
                        ),
                    )
                })?;
                out.extend(c.as_seq().unwrap_or_default().iter().cloned());
            }
            return Ok(Value::list_of(
                t.element().cloned().unwrap_or(Type::Dynamic),
                out,
            ));
        }
    }
    let mut out = Vec::new();
    for v in a {
        match v.ty() {
            Type::Tuple(_) | Type::List(_) => {}
            other => {
                return Err(EvalError::new(
                    "Invalid function argument",
                    format!(
                        "Invalid value for \"seqs\" parameter: all arguments must be lists or tuples; got {}.",
                        other.friendly_name()
                    ),
                ))
            }
        }
        if !v.is_known() {
            return Ok(Value::unknown());
        }
        out.extend(v.as_seq().unwrap_or_default().iter().cloned());
    }
    Ok(Value::tuple(out))
}

fn contains(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let items = a[0].as_seq().ok_or_else(|| {
        fail(format!(
            "argument must be list, tuple, or set, got {}",
            a[0].ty().friendly_name()
        ))
    })?;
    let mut unknown = !a[1].is_wholly_known();
    for v in items {
        match v.equals(&a[1]).unmark().0 {
            Value::Bool(true) => return Ok(Value::Bool(true)),
            Value::Bool(false) => {}
            _ => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Unknown(Type::Bool)
    } else {
        Value::Bool(false)
    })
}

fn element(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let idx = arg_int(a, 1, "index")?;
    let (list, marked) = a[0].unmark();
    if !list.is_known() {
        return Ok(Value::unknown().mark_if(marked));
    }
    let items = match list {
        Value::List(_, items) | Value::Tuple(items) => items,
        other => {
            return Err(fail(format!(
                "cannot read elements from {}",
                other.ty().friendly_name()
            )))
        }
    };
    if items.is_empty() {
        return Err(fail("cannot use element function with an empty list"));
    }
    if idx < 0 {
        return Err(fail("cannot use element function with a negative index"));
    }
    let i = (idx as usize) % items.len();
    Ok(items[i].clone().mark_if(marked))
}

fn flatten(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (v, marked) = a[0].unmark();
    if !matches!(v, Value::List(..) | Value::Set(..) | Value::Tuple(_)) {
        return Err(fail("can only flatten lists, sets and tuples"));
    }
    let mut out = Vec::new();
    let mut known = true;
    let mut marks = marked;
    flatten_into(ev, v, &mut out, &mut known, &mut marks)?;
    if !known {
        return Ok(Value::unknown().mark_if(marks));
    }
    Ok(Value::tuple(out).mark_if(marks))
}

fn flatten_into(
    ev: &mut Evaluator,
    v: &Value,
    out: &mut Vec<Value>,
    known: &mut bool,
    marks: &mut bool,
) -> Result<()> {
    let items = v.as_seq().unwrap_or_default();
    // the elements, as well as the collection: shared lists nested in
    // lists flatten to far more than they hold
    ev.spend(1 + items.len() as u64)?;
    for item in items {
        let (inner, m) = item.unmark();
        if !inner.is_null() && matches!(inner.ty(), Type::List(_) | Type::Set(_) | Type::Tuple(_)) {
            *marks |= m;
            if !inner.is_known() {
                *known = false;
                continue;
            }
            flatten_into(ev, inner, out, known, marks)?;
        } else {
            if matches!(inner, Value::Unknown(Type::Dynamic)) {
                *known = false;
            }
            out.push(item.clone());
        }
    }
    Ok(())
}

fn index_fn(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let items = match &a[0] {
        Value::List(_, items) | Value::Tuple(items) => items,
        _ => return Err(fail("argument must be a list or tuple")),
    };
    for (i, v) in items.iter().enumerate() {
        if let Value::Bool(true) = v.equals(&a[1]).unmark().0 {
            return Ok(Value::int(i as i64));
        }
    }
    Err(fail("item not found"))
}

fn keys(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (m, marked) = a[0].unmark();
    let r = match m {
        Value::Object(attrs) => Value::tuple(attrs.keys().map(Value::string).collect()),
        Value::Unknown(Type::Object(attrs)) => {
            Value::tuple(attrs.keys().map(Value::string).collect())
        }
        Value::Map(_, m) => Value::list_of(Type::String, m.keys().map(Value::string).collect()),
        Value::Unknown(Type::Map(_)) => Value::Unknown(Type::list(Type::String)),
        Value::Unknown(Type::Dynamic) => Value::unknown(),
        Value::Null(_) => {
            return Err(EvalError::new(
                "Invalid function argument",
                "Invalid value for \"inputMap\" parameter: argument must not be null.",
            ))
        }
        _ => {
            return Err(EvalError::new(
                "Invalid function argument",
                "Invalid value for \"inputMap\" parameter: must have map or object type.",
            ))
        }
    };
    Ok(r.mark_if(marked))
}

fn values(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (m, marked) = a[0].unmark();
    let r = match m {
        Value::Object(attrs) => Value::tuple(attrs.values().cloned().collect()),
        Value::Map(t, m) => Value::list_of(t.clone(), m.values().cloned().collect()),
        Value::Unknown(_) => Value::unknown(),
        _ => return Err(fail("values() requires a map as the first argument")),
    };
    Ok(r.mark_if(marked))
}

fn lookup_fn(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    if a.len() > 3 {
        return Err(fail(format!(
            "lookup() takes two or three arguments, got {}",
            a.len()
        )));
    }
    let (m, mm) = a[0].unmark();
    let (k, km) = a[1].unmark();
    let marked = mm || km;
    // the result type, as Terraform decides it before looking
    match m.ty() {
        Type::Object(attrs) => {
            if k.is_known() {
                let key = k.as_str().unwrap_or_default();
                if !attrs.contains_key(key) && a.len() < 3 {
                    return Err(arg_fail(
                        "inputMap",
                        format!(
                            "the given object has no attribute {}",
                            crate::render::go_quote(key)
                        ),
                    ));
                }
            }
        }
        Type::Map(ety) => {
            if let Some(d) = a.get(2) {
                convert(d, &ety).map_err(|_| {
                    arg_fail(
                        "default",
                        "the default value must have the same type as the map elements",
                    )
                })?;
            }
        }
        Type::Dynamic => return Ok(Value::unknown().mark_if(marked)),
        _ => {
            return Err(arg_fail(
                "inputMap",
                "lookup() requires a map as the first argument",
            ))
        }
    }
    if !m.is_known() || !k.is_known() {
        return Ok(Value::unknown().mark_if(marked));
    }
    let key = k.as_str().unwrap_or_default();
    if let Some(v) = m.get_attr(key) {
        return Ok(v.clone().mark_if(marked));
    }
    match a.get(2) {
        Some(d) => {
            let d = match m {
                Value::Map(t, _) => convert(d, t).map_err(|e| fail(e.to_string()))?,
                _ => d.clone(),
            };
            Ok(d.mark_if(marked))
        }
        None => Err(fail(format!(
            "lookup failed to find key {}",
            if km {
                "(sensitive value)".to_string()
            } else {
                crate::render::go_quote(key)
            }
        ))),
    }
}

fn matchkeys(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let vals = arg_seq(a, 0);
    let keys = arg_seq(a, 1);
    if vals.len() != keys.len() {
        return Err(fail("length of keys and values should be equal"));
    }
    let search = arg_seq(a, 2);
    let ty = unify(&[elem_type(&a[1]), elem_type(&a[2])])
        .ok_or_else(|| fail("keys and searchset must be of the same type"))?;
    let mut out = Vec::new();
    for (v, k) in vals.iter().zip(keys.iter()) {
        let k = convert(k, &ty).map_err(|e| fail(e.to_string()))?;
        for s in search {
            let s = convert(s, &ty).map_err(|e| fail(e.to_string()))?;
            if k.raw_eq(&s) {
                out.push(v.clone());
                break;
            }
        }
    }
    Ok(Value::list_of(elem_type(&a[0]), out))
}

fn merge(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let mut first: Option<Type> = None;
    let mut matching = true;
    let mut dynamic = false;
    for v in a {
        let ty = v.ty();
        if ty == Type::Dynamic {
            dynamic = true;
            break;
        }
        if !matches!(ty, Type::Map(_) | Type::Object(_)) {
            return Err(fail(format!(
                "arguments must be maps or objects, got {:?}",
                ty.friendly_name()
            )));
        }
        match &first {
            None => first = Some(ty),
            Some(f) if *f != ty => matching = false,
            _ => {}
        }
    }
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    let mut marked = false;
    for v in a {
        let (inner, m) = v.unmark();
        if inner.is_null() {
            continue;
        }
        marked |= m;
        if !inner.is_known() {
            return Ok(Value::unknown().mark_if(marked));
        }
        for (k, x) in inner.as_mapping().into_iter().flatten() {
            out.insert(k.clone(), x.clone());
        }
    }
    let r = match (dynamic, matching, first) {
        (false, true, Some(Type::Map(t))) => Value::map_of(*t, out.into_iter().collect()),
        _ => Value::object(out.into_iter().collect()),
    };
    Ok(r.mark_if(marked))
}

fn one(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (v, marked) = a[0].unmark();
    if !v.is_known() {
        return Ok(Value::unknown().mark_if(marked));
    }
    let items = match v {
        Value::List(..) | Value::Set(..) | Value::Tuple(_) => v.as_seq().unwrap_or_default(),
        _ => {
            return Err(arg_fail(
                "list",
                "must be a list, set, or tuple value with either zero or one elements",
            ))
        }
    };
    let r = match items {
        [] => Value::Null(elem_type(v)),
        [x] => x.clone(),
        _ => {
            return Err(arg_fail(
                "list",
                "must be a list, set, or tuple value with either zero or one elements",
            ))
        }
    };
    Ok(r.mark_if(marked))
}

fn range(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let nums: Vec<Number> = (0..a.len()).map(|i| arg_num(a, i)).collect();
    let one = Number::from_i64(1);
    let (start, end, step) = match nums.as_slice() {
        [end] => {
            let step = if end.is_negative() { one.neg() } else { one };
            (Number::zero(), end.clone(), step)
        }
        [start, end] => {
            let step = if end < start { one.neg() } else { one };
            (start.clone(), end.clone(), step)
        }
        [start, end, step] => (start.clone(), end.clone(), step.clone()),
        _ => return Err(fail("must have one, two, or three arguments")),
    };
    // cty's check for a zero step compares pointers and never holds: a
    // zero step runs into the limit of 1024 values below (or gives an
    // empty list when start is already past end)
    let down = step.is_negative();
    if down && end > start {
        return Err(arg_fail(
            "params",
            "end must be less than start when step is negative",
        ));
    }
    if !down && end < start {
        return Err(arg_fail(
            "params",
            "end must be greater than start when step is positive",
        ));
    }
    let mut vals = Vec::new();
    let mut n = start;
    loop {
        if (down && n <= end) || (!down && n >= end) {
            break;
        }
        if vals.len() >= 1024 {
            return Err(fail("more than 1024 values were generated; either decrease the difference between start and end or use a smaller step"));
        }
        ev.spend(1)?;
        vals.push(Value::Number(n.clone()));
        n = n.add(&step).map_err(|e| fail(e.to_string()))?;
    }
    Ok(Value::list_of(Type::Number, vals))
}

enum SetOp {
    Intersection,
    Union,
    Subtract,
}

fn set_op(a: &[Value], op: SetOp) -> Result<Value> {
    let tys: Vec<Type> = a.iter().map(elem_type).collect();
    let ty = unify(&tys).unwrap_or(Type::Dynamic);
    let sets: Vec<Vec<Value>> = a
        .iter()
        .map(|s| {
            s.as_seq()
                .unwrap_or_default()
                .iter()
                .map(|v| convert(v, &ty))
                .collect::<std::result::Result<Vec<Value>, _>>()
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            fail(format!(
                "given sets must all have compatible element types: {e}"
            ))
        })?;
    let mut out: Vec<Value> = sets[0].clone();
    for other in &sets[1..] {
        out = match op {
            SetOp::Intersection => out
                .into_iter()
                .filter(|v| other.iter().any(|w| v.raw_eq(w)))
                .collect(),
            SetOp::Union => {
                let mut u = out;
                u.extend(other.iter().cloned());
                u
            }
            SetOp::Subtract => out
                .into_iter()
                .filter(|v| !other.iter().any(|w| v.raw_eq(w)))
                .collect(),
        };
    }
    Ok(Value::set_of(ty, out))
}

fn setproduct(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    if a.len() < 2 {
        return Err(fail("at least two arguments are required"));
    }
    let mut all_sets = true;
    let mut ety = Vec::new();
    for v in a {
        match v {
            Value::Set(t, _) => ety.push(t.clone()),
            Value::List(t, _) => {
                all_sets = false;
                ety.push(t.clone())
            }
            Value::Tuple(items) => {
                all_sets = false;
                ety.push(
                    unify(&items.iter().map(Value::ty).collect::<Vec<_>>())
                        .unwrap_or(Type::Dynamic),
                )
            }
            _ => return Err(fail("all arguments must be collections")),
        }
    }
    let mut total: u64 = 1;
    for v in a {
        total = total.saturating_mul(v.len().unwrap_or(0) as u64);
    }
    ev.spend(total)?;
    let mut product: Vec<Vec<Value>> = vec![Vec::new()];
    for v in a {
        let mut next = Vec::new();
        for prefix in &product {
            for item in v.as_seq().unwrap_or_default() {
                let mut row = prefix.clone();
                row.push(item.clone());
                next.push(row);
            }
        }
        product = next;
    }
    let tuple_ty = Type::tuple(ety);
    let rows: Vec<Value> = product.into_iter().map(Value::tuple).collect();
    let rows = rows
        .iter()
        .map(|r| convert(r, &tuple_ty))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| fail(e.to_string()))?;
    Ok(if all_sets {
        Value::set_of(tuple_ty, rows)
    } else {
        Value::list_of(tuple_ty, rows)
    })
}

fn slice(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (list, marked) = a[0].unmark();
    match list.ty() {
        Type::List(_) | Type::Tuple(_) => {}
        Type::Set(_) => return Err(arg_fail("list", "cannot slice a set, because its elements do not have indices; explicitly convert to a list if the ordering of the result is not important")),
        _ => return Err(arg_fail("list", "must be a list or tuple value")),
    }
    let start = arg_int(a, 1, "start_index")
        .map_err(|e| arg_fail("start_index", format!("invalid start index: {}", e.detail)))?;
    let end = arg_int(a, 2, "end_index")
        .map_err(|e| arg_fail("end_index", format!("invalid end index: {}", e.detail)))?;
    if start < 0 {
        return Err(arg_fail(
            "start_index",
            "start index must not be less than zero",
        ));
    }
    if !list.is_known() {
        return Ok(Value::unknown().mark_if(marked));
    }
    let items = list.as_seq().unwrap_or_default();
    if start > items.len() as i64 {
        return Err(arg_fail(
            "start_index",
            "start index must not be greater than the length of the list",
        ));
    }
    if end < 0 {
        return Err(arg_fail(
            "end_index",
            "end index must not be less than zero",
        ));
    }
    if end > items.len() as i64 {
        return Err(arg_fail(
            "end_index",
            "end index must not be greater than the length of the list",
        ));
    }
    if start > end {
        return Err(arg_fail(
            "start_index",
            "start index must not be greater than end index",
        ));
    }
    let part = items[start as usize..end as usize].to_vec();
    let r = match list {
        Value::List(t, _) => Value::list_of(t.clone(), part),
        _ => Value::tuple(part),
    };
    Ok(r.mark_if(marked))
}

fn sum(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let items = a[0]
        .as_seq()
        .ok_or_else(|| arg_fail("list", "cannot sum noniterable"))?;
    if items.is_empty() {
        return Err(arg_fail("list", "cannot sum an empty list"));
    }
    let mut total: Option<Number> = None;
    for v in items {
        if v.is_null() {
            return Err(arg_fail(
                "list",
                "argument must be list, set, or tuple of number values",
            ));
        }
        let n = convert(v, &Type::Number).map_err(|_| {
            arg_fail(
                "list",
                "argument must be list, set, or tuple of number values",
            )
        })?;
        let n = n.as_number().cloned().unwrap_or_else(Number::zero);
        total = Some(match total {
            None => n,
            Some(t) => t.add(&n).map_err(|e| fail(e.to_string()))?,
        });
    }
    Ok(Value::Number(total.unwrap_or_else(Number::zero)))
}

fn transpose(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (k, list) in a[0].as_mapping().into_iter().flatten() {
        for v in list.as_seq().unwrap_or_default() {
            if v.is_null() {
                return Err(fail("input lists must not contain null values"));
            }
            let s = v.as_str().unwrap_or_default().to_string();
            out.entry(s).or_default().push(Value::string(k));
        }
    }
    Ok(Value::map_of(
        Type::list(Type::String),
        out.into_iter()
            .map(|(k, vs)| (k, Value::list_of(Type::String, vs)))
            .collect(),
    ))
}

fn zipmap(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (vals, marked) = a[1].unmark();
    if !a[0].is_wholly_known() || !vals.is_known() {
        return Ok(Value::unknown().mark_if(marked));
    }
    let keys = arg_seq(a, 0);
    let items = vals
        .as_seq()
        .ok_or_else(|| fail("values must be a list or tuple"))?;
    if keys.len() != items.len() {
        return Err(fail("number of keys and number of values must match"));
    }
    let mut out = BTreeMap::new();
    for (k, v) in keys.iter().zip(items.iter()) {
        if k.is_null() {
            return Err(fail("keys must not be null"));
        }
        out.insert(k.as_str().unwrap_or_default().to_string(), v.clone());
    }
    let r = match vals {
        Value::List(t, _) => Value::map_of(t.clone(), out.into_iter().collect()),
        _ => Value::object(out.into_iter().collect()),
    };
    Ok(r.mark_if(marked))
}
