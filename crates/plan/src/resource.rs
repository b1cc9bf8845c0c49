//! What a provider would plan for one resource instance: its configuration
//! compared with its prior value, attribute by attribute, as values.
//!
//! `terraform_data` is planned exactly as Terraform's built-in provider
//! plans it. Other resources follow what providers do without their
//! schemas: an argument left null (or unset) keeps the prior value (it may
//! be optional and computed); a set argument that differs is a change;
//! nested blocks compare the arguments they set; a change of an argument
//! in the force-new tables replaces the object.

use rewind_eval::{Type, Value};
use rewind_model::Path;

use crate::prior::Given;

/// One changed argument.
#[derive(Clone, Debug)]
pub(crate) struct AttrDiff {
    pub path: Path,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// This change alone makes the provider replace the object.
    pub forces_replacement: bool,
}

/// What comparing a configuration with its prior value found.
#[derive(Clone, Debug, Default)]
pub(crate) struct Comparison {
    pub diffs: Vec<AttrDiff>,
    /// Paths whose change forces a replacement.
    pub replace_paths: Vec<String>,
}

impl Comparison {
    pub fn changed(&self) -> bool {
        !self.diffs.is_empty()
    }
    pub fn replace(&self) -> bool {
        !self.replace_paths.is_empty()
    }
}

/// Attribute paths `ignore_changes` lists, or all of them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ignore {
    pub all: bool,
    pub paths: Vec<Vec<IgnoreStep>>,
}

/// One step of an `ignore_changes` path, as Terraform tells them apart
/// (cty's `GetAttrStep` and `IndexStep`): `input.a` reaches into an
/// object only, `input["a"]` into a map only, `input[0]` into a list or
/// tuple.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IgnoreStep {
    Attr(String),
    Key(String),
    Index(usize),
}

impl IgnoreStep {
    /// The steps of a path written as a traversal (`input`, `input.a`,
    /// `input[0]`, `tags["Name"]`); `None` for anything else.
    pub(crate) fn parse_path(s: &str) -> Option<Vec<IgnoreStep>> {
        let mut steps = Vec::new();
        let mut rest = s.trim();
        let ident_end = |r: &str| {
            r.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(r.len())
        };
        let n = ident_end(rest);
        if n == 0 {
            return None;
        }
        steps.push(IgnoreStep::Attr(rest[..n].to_string()));
        rest = &rest[n..];
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix('.') {
                let n = ident_end(r);
                if n == 0 {
                    return None;
                }
                let name = &r[..n];
                steps.push(match name.parse::<usize>() {
                    // the legacy `.0`
                    Ok(i) => IgnoreStep::Index(i),
                    Err(_) => IgnoreStep::Attr(name.to_string()),
                });
                rest = &r[n..];
            } else if let Some(r) = rest.strip_prefix("[\"") {
                let (key, after) = unquote(r)?;
                steps.push(IgnoreStep::Key(key));
                rest = after.strip_prefix(']')?;
            } else if let Some(r) = rest.strip_prefix('[') {
                let end = r.find(']')?;
                steps.push(IgnoreStep::Index(r[..end].trim().parse().ok()?));
                rest = &r[end + 1..];
            } else {
                return None;
            }
        }
        Some(steps)
    }
}

/// The text of a quoted string up to its closing quote (the opening one
/// already read), its escapes decoded, and what follows it.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => out.push(other),
            },
            '$' | '%' if s[i + 1..].starts_with(c) && s[i + 2..].starts_with('{') => {
                // `$${` and `%%{` stand for `${` and `%{`
                out.push(c);
                chars.next();
            }
            c => out.push(c),
        }
    }
    None
}

impl Ignore {
    /// Is the top-level argument `name` ignored whole?
    fn covers(&self, name: &str) -> bool {
        self.all
            || self
                .paths
                .iter()
                .any(|p| matches!(p.as_slice(), [IgnoreStep::Attr(a)] if a == name))
    }
}

/// A part of the configuration `ignore_changes` makes keep its prior
/// value: the value there (`path`) differs from the prior one, which it
/// becomes (or, for a map, the prior value of its `key`).
struct Ignored {
    path: Vec<IgnoreStep>,
    prior: Value,
    key: Option<String>,
}

/// The configuration with the nested paths `ignore_changes` lists
/// (`input.f0`, `input[0]`, `tags["Name"]`) set to their prior values, as
/// Terraform's `processIgnoreChangesIndividual` does before it compares
/// (top-level arguments are left out of the comparison by
/// [`Ignore::covers`] instead). As there, a path ending in a string key
/// (`input["a"]`) reaches into a map only: into an object, it keeps the
/// prior value of the whole object when any of it changed.
///
/// That is exact for `terraform_data`, whose values have their types.
/// Without a provider's schema (`schemaless`), a map argument written
/// `{ Name = "x" }` is an object here: objects and maps are then both
/// taken as maps, `tags.Name` and `tags["Name"]` naming the same key.
pub(crate) fn with_ignored(
    config: &Value,
    prior: &Value,
    ignore: &Ignore,
    schemaless: bool,
) -> Value {
    if ignore.all {
        return config.clone();
    }
    let mut ignored = Vec::new();
    for p in ignore.paths.iter().filter(|p| p.len() >= 2) {
        let p: Vec<IgnoreStep> = match schemaless {
            false => p.clone(),
            true => p
                .iter()
                .map(|s| match s {
                    IgnoreStep::Key(k) => IgnoreStep::Attr(k.clone()),
                    s => s.clone(),
                })
                .collect(),
        };
        let (path, key) = match p.split_last() {
            Some((IgnoreStep::Key(k), path)) => (path.to_vec(), Some(k.clone())),
            Some((IgnoreStep::Attr(k), path))
                if schemaless
                    && step_into(config, path, true).is_some_and(|v| {
                        matches!(v.unmark().0, Value::Map(..) | Value::Object(_))
                    }) =>
            {
                (path.to_vec(), Some(k.clone()))
            }
            _ => (p.clone(), None),
        };
        let (Some(before), Some(now)) = (
            step_into(prior, &path, schemaless),
            step_into(config, &path, schemaless),
        ) else {
            continue;
        };
        if !before.raw_eq(now) {
            ignored.push(Ignored {
                path,
                prior: before.clone(),
                key,
            });
        }
    }
    if ignored.is_empty() {
        return config.clone();
    }
    keep_prior(config, &mut Vec::new(), &ignored, schemaless)
}

/// The value at `path` inside `v`, each step taken only where cty's would
/// apply (an attribute of an object, a key of a map, an index of a list
/// or tuple; `schemaless`: an attribute of a map too).
fn step_into<'v>(v: &'v Value, path: &[IgnoreStep], schemaless: bool) -> Option<&'v Value> {
    let Some((step, rest)) = path.split_first() else {
        return Some(v);
    };
    let next = match (step, v.unmark().0) {
        (IgnoreStep::Attr(a), Value::Object(m)) => m.get(a)?,
        (IgnoreStep::Attr(a), Value::Map(_, m)) if schemaless => m.get(a)?,
        (IgnoreStep::Key(k), Value::Map(_, m)) => m.get(k)?,
        (IgnoreStep::Index(i), Value::List(_, items) | Value::Tuple(items)) => items.get(*i)?,
        _ => return None,
    };
    step_into(next, rest, schemaless)
}

/// `v` (at `at`) with the ignored parts replaced, its elements first and
/// then itself, as cty's `Transform` walks (`schemaless`: see
/// [`with_ignored`]).
fn keep_prior(v: &Value, at: &mut Vec<IgnoreStep>, ignored: &[Ignored], schemaless: bool) -> Value {
    let walk = |step: IgnoreStep, x: &Value, at: &mut Vec<IgnoreStep>| {
        at.push(step);
        let out = keep_prior(x, at, ignored, schemaless);
        at.pop();
        out
    };
    let map_step = |k: &String| match schemaless {
        true => IgnoreStep::Attr(k.clone()),
        false => IgnoreStep::Key(k.clone()),
    };
    let v = match v {
        Value::Sensitive(inner) => Value::Sensitive(std::sync::Arc::new(keep_prior(
            inner, at, ignored, schemaless,
        ))),
        Value::Object(m) => Value::object(
            m.iter()
                .map(|(k, x)| (k.clone(), walk(IgnoreStep::Attr(k.clone()), x, at)))
                .collect(),
        ),
        Value::Map(ty, m) => Value::Map(
            ty.clone(),
            std::sync::Arc::new(
                m.iter()
                    .map(|(k, x)| (k.clone(), walk(map_step(k), x, at)))
                    .collect(),
            ),
        ),
        Value::Tuple(items) => Value::tuple(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| walk(IgnoreStep::Index(i), x, at))
                .collect(),
        ),
        Value::List(ty, items) => Value::List(
            ty.clone(),
            std::sync::Arc::new(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| walk(IgnoreStep::Index(i), x, at))
                    .collect(),
            ),
        ),
        other => other.clone(),
    };
    let here = || ignored.iter().filter(|ig| ig.path == *at);
    let (ty, m) = match v.unmark().0 {
        Value::Map(ty, m) => (Some(ty), m),
        Value::Object(m) if schemaless => (None, m),
        // anything but a map is kept whole, whether or not a key was named
        _ => return here().next().map_or(v, |ig| ig.prior.clone()),
    };
    let mut m = (**m).clone();
    for ig in here() {
        let Some(key) = &ig.key else {
            return ig.prior.clone();
        };
        // a key the prior map does not have stays absent
        match ig.prior.get_attr(key) {
            Some(p) => m.insert(key.clone(), p.clone()),
            None => m.remove(key),
        };
    }
    let out = match ty {
        Some(ty) => Value::Map(ty.clone(), std::sync::Arc::new(m)),
        None => Value::object(m),
    };
    match v {
        Value::Sensitive(_) => Value::Sensitive(std::sync::Arc::new(out)),
        _ => out,
    }
}

/// Compares the configuration of an instance with its prior value.
///
/// `current` is what the current configuration gives for the instance,
/// when known: an argument the target gives the same value (the same
/// expression over the same deployed values, opaque ones included) is not
/// a change, whatever the state holds, because the state is what applying
/// that same value produced (a provider may store it normalized: a
/// certificate's domain among its alternative names, a policy reformatted).
pub(crate) fn compare(
    knowledge: &rewind_diff::knowledge::Knowledge,
    type_: &str,
    config: &Value,
    prior: &Value,
    ignore: &Ignore,
    current: Option<&Given>,
) -> Comparison {
    if type_ == "terraform_data" {
        return compare_terraform_data(config, prior, ignore, current);
    }
    let config = config.unmark_deep().0;
    let prior = prior.unmark_deep().0;
    let unchanged = |k: &str, v: &Value| current.is_some_and(|c| c.gives(k, v));
    let mut out = Comparison::default();
    let empty = rewind_eval::Map::new();
    let cfg = config.as_mapping().unwrap_or(&empty);
    let pri = prior.as_mapping().unwrap_or(&empty);
    for (k, cv) in cfg {
        if ignore.covers(k) || cv.is_null() {
            continue;
        }
        let pv = pri.get(k).cloned().unwrap_or_else(Value::null);
        // the current configuration is asked (a fingerprint of the value
        // hashed) only about an argument that differs from the prior one
        if !argument_eq(cv, &pv) && !unchanged(k, cv) {
            out.diffs.push(AttrDiff {
                path: Path::root().key(k),
                before: (!pv.is_null()).then_some(pv),
                after: Some(cv.clone()),
                forces_replacement: false,
            });
        }
    }
    let changes: Vec<rewind_diff::AttrChange> = out
        .diffs
        .iter()
        .map(|d| rewind_diff::AttrChange {
            path: d.path.clone(),
            op: rewind_diff::AttrOp::Modify,
            before: None,
            after: None,
            sensitive: false,
        })
        .collect();
    let forcing = knowledge.forcing_paths(type_, &changes);
    for d in &mut out.diffs {
        let top = d.path.to_string();
        if forcing
            .iter()
            .any(|f| f == &top || f.starts_with(&format!("{top}.")))
        {
            d.forces_replacement = true;
        }
    }
    out.replace_paths = forcing;
    out
}

/// The built-in `terraform_data` resource: a changed `triggers_replace`
/// replaces it, a changed `input` updates it (and makes `output` unknown);
/// values compare with their types, as Terraform's `RawEquals`. A value
/// whose only change is being marked sensitive, or no longer, is an update
/// (Terraform: "If we plan to write or delete sensitive paths from state,
/// this is an Update action"), of `triggers_replace` too (the provider
/// compares it unmarked, so it does not force a replacement).
fn compare_terraform_data(
    config: &Value,
    prior: &Value,
    ignore: &Ignore,
    current: Option<&Given>,
) -> Comparison {
    let mut out = Comparison::default();
    for (name, forces) in [("triggers_replace", true), ("input", false)] {
        if ignore.covers(name) {
            continue;
        }
        let marked = config.get_attr(name).cloned().unwrap_or_else(Value::null);
        let prior_marked = prior.get_attr(name).cloned().unwrap_or_else(Value::null);
        let c = marked.unmark_deep().0;
        let p = prior_marked.unmark_deep().0;
        // the same value as the current configuration's (its arguments
        // are kept unmarked)
        let marks = marked_paths(&marked);
        let same_as_current = marks.is_empty() && current.is_some_and(|cur| cur.gives(name, &c));
        if same_as_current {
            continue;
        }
        // an unknown value is never the value deployed
        let differs = !c.is_wholly_known() || !p.is_wholly_known() || !c.raw_eq(&p);
        if differs || marks != marked_paths(&prior_marked) {
            let forces = forces && differs;
            out.diffs.push(AttrDiff {
                path: Path::root().key(name),
                before: Some(prior_marked),
                after: Some(marked),
                forces_replacement: forces,
            });
            if forces {
                out.replace_paths.push(name.to_string());
            }
        }
    }
    out
}

/// The paths inside `v` that are marked sensitive (`""` for `v` itself),
/// in a fixed order.
fn marked_paths(v: &Value) -> Vec<String> {
    fn walk(v: &Value, at: &str, out: &mut Vec<String>) {
        if let Value::Sensitive(inner) = v {
            out.push(at.to_string());
            return walk(inner, at, out);
        }
        if let Some(items) = v.as_seq() {
            for (i, x) in items.iter().enumerate() {
                walk(x, &format!("{at}[{i}]"), out);
            }
        } else if let Some(m) = v.as_mapping() {
            for (k, x) in m.iter() {
                walk(x, &format!("{at}.{k}"), out);
            }
        }
    }
    let mut out = Vec::new();
    if v.has_marks() {
        walk(v, "", &mut out);
    }
    out
}

/// Does a configured argument keep the prior value? Objects set as
/// arguments compare exactly (a removed map key is a change); lists of
/// objects (nested blocks) compare the arguments each block sets, in any
/// order; lists of primitives compare as sets (providers keep sets in
/// their own order).
fn argument_eq(config: &Value, prior: &Value) -> bool {
    // an argument left null keeps the prior value
    if config.is_null() {
        return true;
    }
    if !config.is_wholly_known() {
        return false;
    }
    match (config.as_seq(), prior.as_seq()) {
        (Some(cs), Some(ps)) => {
            if cs.len() != ps.len() {
                return false;
            }
            let blocks = cs.iter().all(|c| c.as_mapping().is_some());
            let mut used = vec![false; ps.len()];
            for c in cs {
                let found = ps.iter().enumerate().position(|(i, p)| {
                    !used[i]
                        && if blocks {
                            block_eq(c, p)
                        } else {
                            c.semantic_eq(p)
                        }
                });
                match found {
                    Some(i) => used[i] = true,
                    None => return false,
                }
            }
            true
        }
        (Some(cs), None) => cs.is_empty() && prior.is_null(),
        _ => config.semantic_eq(prior) || json_documents_eq(config, prior),
    }
}

/// Two strings holding JSON documents with the same meaning (providers
/// store policies normalized: key order, white space, a one-element list
/// written as its element, lists in another order).
fn json_documents_eq(a: &Value, b: &Value) -> bool {
    let (Some(x), Some(y)) = (a.as_str(), b.as_str()) else {
        return false;
    };
    let looks_json = |s: &str| matches!(s.trim_start().as_bytes().first(), Some(b'{') | Some(b'['));
    if !looks_json(x) || !looks_json(y) {
        return false;
    }
    match (rewind_eval::json::decode(x), rewind_eval::json::decode(y)) {
        (Ok(p), Ok(q)) => json_equiv(&p, &q),
        _ => false,
    }
}

fn json_equiv(a: &Value, b: &Value) -> bool {
    match (a.as_seq(), b.as_seq()) {
        (Some(x), Some(y)) => {
            if x.len() != y.len() {
                return false;
            }
            let mut used = vec![false; y.len()];
            x.iter().all(|v| {
                match y
                    .iter()
                    .enumerate()
                    .position(|(i, w)| !used[i] && json_equiv(v, w))
                {
                    Some(i) => {
                        used[i] = true;
                        true
                    }
                    None => false,
                }
            })
        }
        (Some([x]), None) => json_equiv(x, b),
        (None, Some([y])) => json_equiv(a, y),
        _ => match (a.as_mapping(), b.as_mapping()) {
            (Some(x), Some(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| json_equiv(v, w)))
            }
            (None, None) => a.semantic_eq(b),
            _ => false,
        },
    }
}

/// A nested block: every argument it sets equals the prior block's.
pub(crate) fn block_eq(config: &Value, prior: &Value) -> bool {
    let (Some(c), Some(p)) = (config.as_mapping(), prior.as_mapping()) else {
        return false;
    };
    c.iter()
        .all(|(k, v)| v.is_null() || p.get(k).is_some_and(|pv| argument_eq(v, pv)))
}

/// The planned value of a created (or replacing) object: the
/// configuration, with what only apply knows unknown.
pub fn created(type_: &str, config: &Value) -> Value {
    let mut m = config.as_mapping().cloned().unwrap_or_default();
    match type_ {
        "terraform_data" => {
            let input = m.get("input").cloned().unwrap_or_else(Value::null);
            m.insert("id".into(), Value::Unknown(Type::String));
            m.insert(
                "output".into(),
                if input.is_null() {
                    input.clone()
                } else {
                    Value::Unknown(input.ty())
                },
            );
            m.entry("input".into()).or_insert_with(Value::null);
            m.entry("triggers_replace".into())
                .or_insert_with(Value::null);
        }
        _ => {
            // an argument left null may be one the provider computes:
            // without its schema, its value is what apply gives
            m.retain(|_, v| !v.is_null());
            m.entry("id".into()).or_insert(Value::Unknown(Type::String));
        }
    }
    Value::object(m)
}

/// The planned value of an object updated in place: the prior value with
/// the configured arguments (ignored ones keep the prior), and what the
/// change makes unknown.
pub fn updated(type_: &str, config: &Value, prior: &Value, ignore: &Ignore) -> Value {
    let mut m = prior.as_mapping().cloned().unwrap_or_default();
    for (k, v) in config.as_mapping().into_iter().flatten() {
        if ignore.covers(k) || (v.is_null() && type_ != "terraform_data") {
            continue;
        }
        m.insert(k.clone(), v.clone());
    }
    if type_ == "terraform_data" {
        let input = m.get("input").cloned().unwrap_or_else(Value::null);
        let before = prior.get_attr("input").cloned().unwrap_or_else(Value::null);
        if !input.unmark_deep().0.raw_eq(&before.unmark_deep().0) {
            m.insert(
                "output".into(),
                if input.is_null() {
                    input
                } else {
                    Value::Unknown(input.ty())
                },
            );
        }
    }
    Value::object(m)
}

/// What a deployed object would hold, simulated from its configuration
/// when there is no state: the configuration, plus the computed values
/// rewind can name (`terraform_data`'s output is its input; ids are
/// opaque, named after the instance).
pub(crate) fn simulated(type_: &str, addr: &str, config: &Value) -> Value {
    let mut m = config.as_mapping().cloned().unwrap_or_default();
    let id = Value::Opaque(Type::String, format!("{addr}.id").into());
    match type_ {
        "terraform_data" => {
            let input = m.get("input").cloned().unwrap_or_else(Value::null);
            m.insert("id".into(), id);
            m.insert("output".into(), input);
            m.entry("input".into()).or_insert_with(Value::null);
            m.entry("triggers_replace".into())
                .or_insert_with(Value::null);
        }
        _ => {
            // an argument left null may be one the provider computed: it is
            // deployed but unseen, as the attributes not configured at all
            m.retain(|_, v| !v.is_null());
            m.entry("id".into()).or_insert(id);
        }
    }
    Value::object(m)
}

/// A prior value read from state: the dynamic attributes of the built-in
/// provider's `terraform_data` and `terraform_remote_state` are stored as
/// `{"value": ..., "type": ...}` and become typed values.
pub fn from_state(type_: &str, attrs: Value) -> Value {
    let dynamic: &[&str] = match type_ {
        "terraform_data" => &["input", "output", "triggers_replace"],
        "terraform_remote_state" => &["config", "defaults", "outputs"],
        _ => return attrs,
    };
    let Some(m) = attrs.as_mapping() else {
        return attrs;
    };
    let mut out = m.clone();
    for &k in dynamic {
        if let Some(v) = m.get(k) {
            out.insert(k.to_string(), decode_dynamic(v));
        }
    }
    Value::object(out)
}

/// `{"value": V, "type": T}` as V converted to T.
fn decode_dynamic(v: &Value) -> Value {
    let Some(m) = v.as_mapping() else {
        return v.clone();
    };
    if m.len() != 2 {
        return v.clone();
    }
    let (Some(value), Some(ty)) = (m.get("value"), m.get("type")) else {
        return v.clone();
    };
    match type_from_json(ty) {
        Some(t) => rewind_eval::convert(value, &t).unwrap_or_else(|_| value.clone()),
        None => value.clone(),
    }
}

/// A cty type in its JSON form (`"string"`, `["list","string"]`,
/// `["object",{"a":"number"}]`).
pub(crate) fn type_from_json(v: &Value) -> Option<Type> {
    if let Some(s) = v.as_str() {
        return match s {
            "string" => Some(Type::String),
            "number" => Some(Type::Number),
            "bool" => Some(Type::Bool),
            "dynamic" => Some(Type::Dynamic),
            _ => None,
        };
    }
    let items = v.as_seq()?;
    let kind = items.first()?.as_str()?;
    let arg = items.get(1)?;
    Some(match kind {
        "list" => Type::list(type_from_json(arg)?),
        "set" => Type::set(type_from_json(arg)?),
        "map" => Type::map(type_from_json(arg)?),
        "tuple" => Type::tuple(
            arg.as_seq()?
                .iter()
                .map(type_from_json)
                .collect::<Option<Vec<_>>>()?,
        ),
        "object" => Type::object(
            arg.as_mapping()?
                .iter()
                .map(|(k, t)| Some((k.clone(), type_from_json(t)?)))
                .collect::<Option<rewind_eval::Map<_, _>>>()?,
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::string(x)
    }
    fn obj(kv: &[(&str, Value)]) -> Value {
        Value::object(kv.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }
    fn map(kv: &[(&str, &str)]) -> Value {
        Value::map_of(
            Type::String,
            kv.iter().map(|(k, v)| (k.to_string(), s(v))).collect(),
        )
    }
    fn ignoring(path: &str) -> Ignore {
        Ignore {
            all: false,
            paths: vec![IgnoreStep::parse_path(path).expect("a traversal")],
        }
    }
    /// Whether `terraform_data` with `input` planned over `prior_input`
    /// under `ignore_changes = [path]` changes.
    fn changes(input: Value, prior_input: Value, path: &str) -> bool {
        let config = obj(&[("input", input)]);
        let prior = obj(&[("input", prior_input)]);
        let ignore = ignoring(path);
        let ignored = with_ignored(&config, &prior, &ignore, false);
        compare_terraform_data(&ignored, &prior, &ignore, None).changed()
    }

    /// `data.terraform_remote_state.x.outputs.v` was an unsupported
    /// attribute: the state's `{"value", "type"}` wrapper of `outputs` was
    /// kept (c18 of the review).
    #[test]
    fn remote_state_outputs_are_read_from_their_state_wrapper() {
        let wrapped = |v: Value, ty: &str| {
            let ty = Value::tuple(vec![s("object"), obj(&[(ty, s("string"))])]);
            obj(&[("value", v), ("type", ty)])
        };
        let attrs = obj(&[
            ("backend", s("local")),
            ("config", wrapped(obj(&[("path", s("x.tfstate"))]), "path")),
            ("defaults", Value::null()),
            ("outputs", wrapped(obj(&[("v", s("hello"))]), "v")),
        ]);
        let v = from_state("terraform_remote_state", attrs);
        let out = v.get_attr("outputs").and_then(|o| o.get_attr("v"));
        assert!(out.is_some_and(|o| o.raw_eq(&s("hello"))), "{v:?}");
        let path = v.get_attr("config").and_then(|o| o.get_attr("path"));
        assert!(path.is_some_and(|p| p.raw_eq(&s("x.tfstate"))), "{v:?}");
        assert!(v.get_attr("defaults").is_some_and(Value::is_null));
    }

    #[test]
    fn ignore_paths_tell_attributes_keys_and_indexes_apart() {
        use IgnoreStep::*;
        assert_eq!(
            IgnoreStep::parse_path(r#"input.a[0]["k\"$${x}"].b"#),
            Some(vec![
                Attr("input".into()),
                Attr("a".into()),
                Index(0),
                Key("k\"${x}".into()),
                Attr("b".into()),
            ])
        );
        assert_eq!(IgnoreStep::parse_path("input[var.x]"), None);
    }

    /// `ignore_changes = [input[0]]` ignored the whole list: a change of
    /// element 1 is an update, as Terraform plans it (c04, c05 of the
    /// review).
    #[test]
    fn ignoring_a_list_element_keeps_the_others_compared() {
        let t = |a: &str, b: &str| Value::tuple(vec![s(a), s(b)]);
        assert!(changes(t("old", "new"), t("old", "old"), "input[0]"));
        assert!(changes(t("new", "new"), t("old", "old"), "input[0]"));
        assert!(!changes(t("new", "old"), t("old", "old"), "input[0]"));
        assert!(changes(t("new", "old"), t("old", "old"), "input[1]"));
    }

    /// `ignore_changes = [input["a"]]` on an object: Terraform trims the
    /// string key and keeps the prior value of the whole object (it is not
    /// a map), so nothing changes; on a map only that key is kept.
    #[test]
    fn a_string_key_keeps_a_whole_object_but_one_key_of_a_map() {
        let o = |a: &str, b: &str| obj(&[("a", s(a)), ("b", s(b))]);
        assert!(!changes(o("old", "new"), o("old", "old"), r#"input["a"]"#));
        assert!(!changes(o("new", "new"), o("old", "old"), r#"input["a"]"#));
        assert!(changes(o("old", "new"), o("old", "old"), "input.a"));
        assert!(!changes(o("new", "old"), o("old", "old"), "input.a"));
        let m = |a: &str, b: &str| map(&[("a", a), ("b", b)]);
        assert!(changes(m("new", "new"), m("old", "old"), r#"input["a"]"#));
        assert!(!changes(m("new", "old"), m("old", "old"), r#"input["a"]"#));
        // a key the prior map lacks stays absent
        let config = obj(&[("input", map(&[("a", "x"), ("b", "old")]))]);
        let prior = obj(&[("input", map(&[("b", "old")]))]);
        let kept = with_ignored(&config, &prior, &ignoring(r#"input["a"]"#), false);
        assert!(kept.raw_eq(&prior));
    }

    /// Without a provider's schema a map argument is an object: the key
    /// `ignore_changes` names keeps its prior value, written `tags.Name`
    /// or `tags["Name"]`, and the other keys are compared.
    #[test]
    fn without_a_schema_an_object_is_taken_as_a_map() {
        let tags = |name: &str, env: &str| obj(&[("Name", s(name)), ("env", s(env))]);
        for path in ["tags.Name", r#"tags["Name"]"#] {
            let config = obj(&[("tags", tags("new", "prod"))]);
            let prior = obj(&[("tags", tags("old", "prod"))]);
            let kept = with_ignored(&config, &prior, &ignoring(path), true);
            assert!(kept.raw_eq(&prior), "{path}: {kept:?}");
            let config = obj(&[("tags", tags("new", "dev"))]);
            let kept = with_ignored(&config, &prior, &ignoring(path), true);
            assert!(
                kept.raw_eq(&obj(&[("tags", tags("old", "dev"))])),
                "{path}: {kept:?}"
            );
        }
    }
}
