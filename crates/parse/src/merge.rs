//! Override files (`override.tf`, `*_override.tf` and their JSON forms):
//! Terraform loads them after the other files of a module and merges each
//! of their blocks into the block of the same address, as
//! hashicorp/terraform `internal/configs/module_merge.go` does.
//!
//! * An argument of the override replaces the argument of the same name;
//!   a nested block type in the override (or `dynamic "TYPE"`) replaces
//!   every block of that type, static or dynamic; the rest stays.
//! * In a resource's `lifecycle`, `create_before_destroy`,
//!   `prevent_destroy` and `ignore_changes` replace their own kind and
//!   `action_trigger` blocks replace all triggers; the other lifecycle
//!   arguments stay those of the base.
//! * A local value is replaced whole.
//! * `count` and `for_each` are each replaced on their own: a base with
//!   one and an override with the other leave both set, and `count` wins
//!   (Terraform expands by `count` first; its "Invalid combination"
//!   error is of a single block), so the merged block keeps `count`.
//! * `depends_on` may not be overridden ("Unsupported override"), and an
//!   override block needs a base block ("Missing base ... to override").
//!   A variable's `validation` blocks, the `precondition` and
//!   `postcondition` blocks of a resource's lifecycle or an output, and
//!   `check` blocks may not appear in an override file at all
//!   ([`refusal`], checked as the file is parsed); nor may a merge leave
//!   a variable with `nullable = false` and a null default.
//!
//! References follow the arguments: the base's references held by a
//! replaced argument or block go, the override's come. Which argument
//! holds a reference is read from the base file's syntax (parsed again:
//! override files are rare, and the parse results keep no such map), and
//! what the override replaces from its own, not from its body (a load
//! for labels only builds no resource bodies, and merges alike).

use rewind_model::{Map, NodeKind, Value};

use crate::config::{RawNode, RawRef};
use crate::hcl::{Block, Body, Item, LineIndex};

/// Is this file an override file?
pub fn is_override_file(name: &str) -> bool {
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"))
        .or_else(|| name.strip_suffix(".tofu.json"))
        .or_else(|| name.strip_suffix(".tofu"));
    stem.is_some_and(|s| s == "override" || s.ends_with("_override"))
}

/// The first block of an override file Terraform refuses to decode, as
/// (line, col, message) with Terraform's summary and detail: a
/// variable's `validation`, a `precondition` or `postcondition` of a
/// resource's (data source's, ephemeral resource's) `lifecycle` or of an
/// output, a `check` block (terraform 1.11.4: "Can't override
/// validation blocks" and the like).
pub(crate) fn refusal(body: &Body, src: &str) -> Option<(u32, u32, String)> {
    let lines = LineIndex::new(src);
    let refused = |b: &Block, what: &str| {
        let (line, col) = lines.locate(b.pos);
        let message = if b.ty == "check" {
            "Can't override check blocks: Override files cannot override check blocks.".to_string()
        } else {
            format!("Can't override {what} blocks: Override files cannot override {what:?} blocks.")
        };
        Some((line, col, message))
    };
    let inner = |b: &Block, types: &[&str]| {
        b.body
            .blocks()
            .find(|x| types.contains(&x.ty.as_str()))
            .and_then(|x| refused(x, &x.ty))
    };
    body.blocks().find_map(|b| match b.ty.as_str() {
        "check" => refused(b, "check"),
        "variable" => inner(b, &["validation"]),
        "output" => inner(b, &["precondition"]),
        "resource" | "data" | "ephemeral" => b
            .body
            .blocks()
            .filter(|l| l.ty == "lifecycle")
            .find_map(|l| inner(l, &["precondition", "postcondition"])),
        _ => None,
    })
}

/// The top-level items of the block at (line, col) of a file, with the
/// positions where each starts: `(line, col, key)`, in order. A key is an
/// argument name, a nested block type, or `dynamic.TYPE`.
pub(crate) fn item_starts(src: &str, body: &Body, line: u32, col: u32) -> Vec<(u32, u32, String)> {
    let lines = crate::hcl::LineIndex::new(src);
    let Some(block) = body.blocks().find(|b| lines.locate(b.pos) == (line, col)) else {
        return Vec::new();
    };
    block
        .body
        .items
        .iter()
        .map(|item| {
            let (pos, key) = match item {
                Item::Attribute(a) => (a.pos, a.name.clone()),
                Item::Block(b) => (b.pos, block_key(&b.ty, b.labels.first())),
            };
            let (l, c) = lines.locate(pos);
            (l, c, key)
        })
        .collect()
}

fn block_key(ty: &str, label: Option<&String>) -> String {
    match (ty, label) {
        ("dynamic", Some(l)) => format!("dynamic.{l}"),
        _ => ty.to_string(),
    }
}

/// The item (see [`item_starts`]) that holds a reference at (line, col).
fn item_of<'a>(starts: &'a [(u32, u32, String)], r: &RawRef) -> Option<&'a str> {
    let i = starts.partition_point(|(l, c, _)| (*l, *c) <= (r.line, r.col));
    i.checked_sub(1).map(|i| starts[i].2.as_str())
}

/// Merges `over` (a block of an override file) into `base`; the starts
/// are the items of each block (see [`item_starts`]). Errors are
/// Terraform's.
pub(crate) fn merge(
    base: &mut RawNode,
    over: &RawNode,
    base_starts: &[(u32, u32, String)],
    over_starts: &[(u32, u32, String)],
) -> Result<(), String> {
    if base.kind == NodeKind::Local {
        let (line, col) = (base.line, base.col);
        *base = over.clone();
        base.line = line;
        base.col = col;
        return Ok(());
    }
    let over_keys: Vec<&str> = over_starts.iter().map(|(_, _, k)| k.as_str()).collect();
    if over_keys.contains(&"depends_on")
        && matches!(
            base.kind,
            NodeKind::Resource | NodeKind::Data | NodeKind::Module | NodeKind::Output
        )
    {
        return Err(format!(
            "unsupported override of {}: the depends_on argument may not be overridden",
            base.local
        ));
    }
    // what the override leaves to the base
    let kept: &[&str] = match base.kind {
        NodeKind::Variable => &["validation"],
        NodeKind::Output => &["precondition"],
        _ => &[],
    };
    let replaced = replaced_items(base.kind, &over_keys, kept);
    base.refs = merged_refs(base, over, base_starts, over_starts, &replaced, kept);
    merge_fields(base, over, &over_keys);
    let Value::Map(over_body) = &*over.body else {
        return Ok(());
    };
    // the base as merged so far (an earlier override file may have set
    // either): its body, as labels-only loads have none for resources
    let base_keys: Vec<&str> = match &*base.body {
        Value::Map(m) => m.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let count_wins = count_wins(base.kind, &base_keys, &over_keys);
    let mut body = merge_body(base, over_body, kept);
    if count_wins {
        body.remove("for_each");
    }
    if base.kind == NodeKind::Variable && null_default_not_nullable(&body) {
        return Err(
            "Invalid default value for variable: A null default value is not valid when nullable=false."
                .to_string(),
        );
    }
    if base.kind == NodeKind::Module {
        if let Some(v) = body.get("source") {
            base.facts.more.source = Some(v.clone());
        }
        if let Some(v) = body.get("version") {
            base.facts.more.version = Some(v.clone());
        }
    }
    base.body = Value::Map(body).into();
    Ok(())
}

/// Whether a merge sets `count` and `for_each` from different blocks (a
/// base with one, as written or as an earlier override file left it, and
/// an override with the other): Terraform keeps both and expands by
/// `count` (terraform 1.11.4 plans `count` instances, for a resource, a
/// data source and a module call alike). Both in one block is that
/// block's error, left to the checks of the merged block.
fn count_wins(kind: NodeKind, base_keys: &[&str], over_keys: &[&str]) -> bool {
    let has = |keys: &[&str], k: &str| keys.contains(&k);
    let both = |keys: &[&str]| has(keys, "count") && has(keys, "for_each");
    matches!(kind, NodeKind::Resource | NodeKind::Data | NodeKind::Module)
        && !both(base_keys)
        && !both(over_keys)
        && (has(base_keys, "count") && has(over_keys, "for_each")
            || has(base_keys, "for_each") && has(over_keys, "count"))
}

/// A variable's merged body with `nullable = false` and a null default,
/// which Terraform refuses after a merge as it does in one block.
fn null_default_not_nullable(body: &Map<String, Value>) -> bool {
    matches!(body.get("nullable"), Some(Value::Bool(false)))
        && matches!(body.get("default"), Some(Value::Null))
}

/// The items of the base an override replaces, by the keys of the
/// override's items (see [`item_starts`]): an argument or a nested block
/// type replaces the base's of that name, static or dynamic, and a
/// `dynamic.TYPE` block the same; a resource's `lifecycle` is merged
/// argument by argument, and what the kind keeps (`kept`) stays.
fn replaced_items(kind: NodeKind, over_keys: &[&str], kept: &[&str]) -> Vec<String> {
    let mut replaced: Vec<String> = Vec::new();
    for &key in over_keys {
        if kept.contains(&key) {
            continue;
        }
        let ty = match key.strip_prefix("dynamic.") {
            Some(ty) => ty,
            None if key == "lifecycle" && kind == NodeKind::Resource => continue,
            // an argument named `dynamic` is no block of dynamic blocks
            None if key == "dynamic" => continue,
            None => key,
        };
        for name in [ty.to_string(), format!("dynamic.{ty}")] {
            if !replaced.contains(&name) {
                replaced.push(name);
            }
        }
    }
    replaced
}

/// The base's body with the override's arguments and blocks in place of
/// its own (a `dynamic` block replaces the static blocks of its type and
/// the reverse). The bodies of a load for labels only are empty (see
/// [`crate::config::file_config_for`]): so is the merged one.
fn merge_body(base: &RawNode, over_body: &Map<String, Value>, kept: &[&str]) -> Map<String, Value> {
    let mut body = match &*base.body {
        Value::Map(m) => m.clone(),
        _ => Map::new(),
    };
    let mut lifecycle_over = None;
    for (key, value) in over_body {
        if kept.contains(&key.as_str()) {
            continue;
        }
        match key.as_str() {
            "lifecycle" if base.kind == NodeKind::Resource => lifecycle_over = Some(value),
            "dynamic" => {
                let Value::Map(types) = value else { continue };
                for (ty, blocks) in types {
                    body.remove(ty);
                    if let Some(Value::Map(base_dynamic)) = body.get_mut("dynamic") {
                        base_dynamic.insert(ty.clone(), blocks.clone());
                    } else {
                        let mut m = Map::new();
                        m.insert(ty.clone(), blocks.clone());
                        body.insert("dynamic".to_string(), Value::Map(m));
                    }
                }
            }
            _ => {
                body.insert(key.clone(), value.clone());
                if let Some(Value::Map(base_dynamic)) = body.get_mut("dynamic") {
                    base_dynamic.remove(key);
                }
            }
        }
    }
    if let Some(Value::Map(d)) = body.get("dynamic") {
        if d.is_empty() {
            body.remove("dynamic");
        }
    }
    if let Some(over_lifecycle) = lifecycle_over {
        merge_lifecycle(&mut body, over_lifecycle);
    }
    body
}

/// References: the base's minus those of what was replaced, and the
/// override's own (what the override may not set does not count).
fn merged_refs(
    base: &RawNode,
    over: &RawNode,
    base_starts: &[(u32, u32, String)],
    over_starts: &[(u32, u32, String)],
    replaced: &[String],
    kept: &[&str],
) -> Vec<RawRef> {
    let mut refs: Vec<RawRef> = base
        .refs
        .iter()
        .filter(|r| item_of(base_starts, r).is_none_or(|k| !replaced.iter().any(|x| x == k)))
        .cloned()
        .collect();
    refs.extend(
        over.refs
            .iter()
            .filter(|r| {
                item_of(over_starts, r).is_none_or(|k| k != "lifecycle" && !kept.contains(&k))
            })
            .cloned(),
    );
    refs
}

/// The parsed fields beside the body that an override replaces: module
/// arguments' references, the provider, a module's providers, `sensitive`.
fn merge_fields(base: &mut RawNode, over: &RawNode, over_keys: &[&str]) {
    for (name, arg_refs) in &over.args {
        base.args.retain(|(n, _)| n != name);
        base.args.push((name.clone(), arg_refs.clone()));
    }
    if over.provider.is_some() {
        base.provider.clone_from(&over.provider);
    }
    if !over.providers.is_empty() {
        base.providers.clone_from(&over.providers);
    }
    if over_keys.contains(&"sensitive") {
        base.sensitive = over.sensitive;
    }
}

/// A resource's lifecycle: the arguments Terraform lets an override set,
/// one by one.
fn merge_lifecycle(body: &mut Map<String, Value>, over: &Value) {
    let Some(over) = over
        .as_list()
        .and_then(|l| l.first())
        .and_then(Value::as_map)
    else {
        return;
    };
    let mut merged = body
        .get("lifecycle")
        .and_then(Value::as_list)
        .and_then(|l| l.first())
        .and_then(Value::as_map)
        .cloned()
        .unwrap_or_default();
    for key in [
        "create_before_destroy",
        "prevent_destroy",
        "ignore_changes",
        "action_trigger",
    ] {
        if let Some(v) = over.get(key) {
            merged.insert(key.to_string(), v.clone());
        }
    }
    body.insert(
        "lifecycle".to_string(),
        Value::List(vec![Value::Map(merged)]),
    );
}
