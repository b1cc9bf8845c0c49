//! A revert plan in the shape of Terraform's plan JSON (`terraform show
//! -json PLANFILE`, format 1.2), so tools written for Terraform's plans
//! (OPA and conftest policies, tf-summarize, cost estimators) read a
//! revert plan unchanged. docs/plan-json.md says what is filled in and
//! what is left out.
//!
//! Values follow Terraform's encoding: `before` and `after` hold the known
//! parts (an unknown attribute is left out of an object and is `null` in a
//! list), `after_unknown` has `true` where a value is known only after
//! apply, and `before_sensitive` / `after_sensitive` have `true` where a
//! value is sensitive. Unlike `terraform show -json`, the sensitive values
//! themselves are `null` unless the caller asks for them (`--show-sensitive`).

use rewind_eval::{Type, Value};
use rewind_model::{InstanceKey, Mode};
use rewind_plan::{Action, Change, OutputChange, Unchanged};
use serde_json::{json, Map, Value as J};

use crate::plan::PlanReport;

/// The version of Terraform's plan JSON format this writes.
pub const TERRAFORM_FORMAT_VERSION: &str = "1.2";

/// The plan as Terraform's plan JSON. `show_sensitive`: write sensitive
/// values instead of `null` (they stay marked in `*_sensitive`).
pub fn terraform_json(r: &PlanReport, show_sensitive: bool) -> J {
    let enc = Encoder { show_sensitive };
    let mut out = envelope(r, &enc);
    out["resource_changes"] = J::Array(rows(r.plan, &enc).collect());
    out
}

/// [`terraform_json`] as pretty-printed text with a final newline, given
/// in pieces to `emit`: one resource change at a time, so a plan of a
/// million instances is never held whole as JSON (as a tree it took four
/// times the plan's own memory).
pub fn write_terraform_json(
    r: &PlanReport,
    show_sensitive: bool,
    emit: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let enc = Encoder { show_sensitive };
    let mut out = envelope(r, &enc);
    out["resource_changes"] = json!([]);
    // "resource_changes" sorts last: the envelope's text ends with its
    // empty array, where the rows go
    let text = serde_json::to_string_pretty(&out)?;
    let cut = text.rfind("[]").unwrap_or(text.len());
    emit(&text[..cut])?;
    let mut first = true;
    for row in rows(r.plan, &enc) {
        let one = serde_json::to_string_pretty(&row)?;
        emit(if first { "[\n    " } else { ",\n    " })?;
        emit(&one.replace('\n', "\n    "))?;
        first = false;
    }
    emit(if first { "[]\n}\n" } else { "\n  ]\n}\n" })
}

/// Everything but the resource changes.
fn envelope(r: &PlanReport, enc: &Encoder) -> J {
    let p = r.plan;
    let refused = !crate::plan::refusals(p).is_empty();
    let mut out = json!({ "format_version": TERRAFORM_FORMAT_VERSION });
    if !p.outputs.is_empty() {
        out["output_changes"] = J::Object(
            p.outputs
                .iter()
                .map(|o| (o.name.clone(), enc.output_change(o)))
                .collect(),
        );
    }
    out["applyable"] = json!(!refused && !p.is_empty());
    out["complete"] = json!(p.unknown_instances.is_empty());
    out["errored"] = json!(refused);
    out
}

/// The resource changes and unchanged instances, by address, each
/// encoded when it is reached.
fn rows<'a>(p: &'a rewind_plan::Plan, enc: &'a Encoder) -> impl Iterator<Item = J> + 'a {
    let mut keys: Vec<(String, usize)> = p
        .changes
        .iter()
        .map(sort_key)
        .chain(p.unchanged.iter().map(|u| u.address.to_string()))
        .enumerate()
        .map(|(i, k)| (k, i))
        .collect();
    keys.sort();
    let n = p.changes.len();
    keys.into_iter().map(move |(_, i)| match i.checked_sub(n) {
        None => enc.resource_change(&p.changes[i]),
        Some(u) => enc.unchanged(&p.unchanged[u]),
    })
}

/// Terraform lists resource changes by address, a deposed object after
/// the current one.
fn sort_key(c: &Change) -> String {
    match &c.deposed {
        Some(d) => format!("{} {d}", c.address),
        None => c.address.to_string(),
    }
}

/// The provider Terraform would name for a resource type: the built-in
/// one for `terraform_data`, else the HashiCorp namespace of the type's
/// prefix (rewind does not read `required_providers` sources).
fn provider_name(type_: &str) -> String {
    if type_ == "terraform_data" {
        return "terraform.io/builtin/terraform".into();
    }
    format!(
        "registry.terraform.io/hashicorp/{}",
        rewind_diff::knowledge::provider_of(type_)
    )
}

struct Encoder {
    show_sensitive: bool,
}

impl Encoder {
    fn head(&self, addr: &rewind_model::InstanceAddr, type_: &str) -> Map<String, J> {
        let mut o = Map::new();
        o.insert("address".into(), json!(addr.to_string()));
        if !addr.resource.module.is_root() {
            o.insert(
                "module_address".into(),
                json!(addr.resource.module.to_string()),
            );
        }
        o.insert(
            "mode".into(),
            json!(match addr.resource.mode {
                Mode::Managed => "managed",
                Mode::Data => "data",
            }),
        );
        o.insert("type".into(), json!(type_));
        o.insert("name".into(), json!(addr.resource.name));
        match &addr.key {
            InstanceKey::None => {}
            InstanceKey::Int(i) => {
                o.insert("index".into(), json!(i));
            }
            InstanceKey::Str(s) => {
                o.insert("index".into(), json!(s));
            }
        }
        o.insert("provider_name".into(), json!(provider_name(type_)));
        o
    }

    fn resource_change(&self, c: &Change) -> J {
        let mut o = self.head(&c.address, &c.type_);
        if let Some(prev) = &c.previous_address {
            o.insert("previous_address".into(), json!(prev.to_string()));
        }
        if let Some(d) = &c.deposed {
            o.insert("deposed".into(), json!(d.to_string()));
        }
        let mut change = self.values(
            &c.actions,
            c.values.before.as_ref(),
            c.values.after.as_ref(),
            json!({}),
        );
        if let Some(id) = &c.importing {
            change.insert("importing".into(), json!({ "id": id }));
        }
        if !c.values.replace_paths.is_empty() {
            change.insert(
                "replace_paths".into(),
                J::Array(
                    c.values
                        .replace_paths
                        .iter()
                        .map(|p| {
                            J::Array(
                                p.0.iter()
                                    .map(|s| match s {
                                        rewind_model::PathStep::Key(k) => json!(k),
                                        rewind_model::PathStep::Index(i) => json!(i),
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                ),
            );
        }
        o.insert("change".into(), J::Object(change));
        if let Some(reason) = c.action_reason {
            o.insert("action_reason".into(), json!(reason));
        }
        J::Object(o)
    }

    fn unchanged(&self, u: &Unchanged) -> J {
        let mut o = self.head(&u.address, &u.type_);
        o.insert(
            "change".into(),
            J::Object(self.values(&[Action::NoOp], Some(&u.value), Some(&u.value), json!({}))),
        );
        J::Object(o)
    }

    fn output_change(&self, c: &OutputChange) -> J {
        let mut o = self.values(
            &[c.action],
            c.before.as_ref(),
            c.after.as_ref(),
            J::Bool(false),
        );
        // all Terraform's plan knows of an output's sensitivity is one
        // flag: it was or is sensitive
        let sensitive = [&c.before, &c.after]
            .iter()
            .any(|v| v.as_ref().is_some_and(Value::has_marks));
        o.insert("before_sensitive".into(), J::Bool(sensitive));
        o.insert("after_sensitive".into(), J::Bool(sensitive));
        J::Object(o)
    }

    /// `actions`, `before`, `after`, `after_unknown`, `before_sensitive`,
    /// `after_sensitive`, as Terraform writes them for a resource (an
    /// output's sensitivity is set by the caller). `known_after`: the
    /// `after_unknown` of a wholly known value (`{}` for a resource,
    /// `false` for an output).
    fn values(
        &self,
        actions: &[Action],
        before: Option<&Value>,
        after: Option<&Value>,
        known_after: J,
    ) -> Map<String, J> {
        let mut o = Map::new();
        o.insert(
            "actions".into(),
            json!(actions.iter().map(|a| a.as_str()).collect::<Vec<_>>()),
        );
        o.insert("before".into(), before.map_or(J::Null, |v| self.known(v)));
        match after {
            // wholly unknown: Terraform leaves `after` out
            Some(v) if !v.is_known() => {}
            Some(v) => {
                o.insert("after".into(), self.known(v));
            }
            None => {
                o.insert("after".into(), J::Null);
            }
        }
        o.insert(
            "after_unknown".into(),
            match after {
                Some(v) if !v.is_wholly_known() => unknown_as_bool(v),
                _ => known_after,
            },
        );
        o.insert(
            "before_sensitive".into(),
            before.map_or(J::Bool(false), sensitive_as_bool),
        );
        o.insert(
            "after_sensitive".into(),
            after.map_or(J::Bool(false), sensitive_as_bool),
        );
        o
    }

    /// The known parts of a value: unknown attributes left out of objects
    /// and maps, `null` in sequences (and for a wholly unknown value);
    /// sensitive parts `null` unless shown; values rewind cannot see (no
    /// state) `null`.
    fn known(&self, v: &Value) -> J {
        match v {
            Value::Sensitive(inner) if self.show_sensitive => self.known(inner),
            Value::Sensitive(_) | Value::Null(_) | Value::Unknown(_) | Value::Opaque(..) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => number(n),
            Value::String(s) => J::String(s.to_string()),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                J::Array(items.iter().map(|x| self.known(x)).collect())
            }
            Value::Map(_, m) | Value::Object(m) => self.known_members(m),
            // the attributes rewind knows of an object it sees in part
            Value::Partial(p) => self.known_members(&p.attrs),
        }
    }

    fn known_members(&self, m: &rewind_eval::Map<String, Value>) -> J {
        J::Object(
            m.iter()
                .filter(|(_, x)| x.is_known())
                .map(|(k, x)| (k.clone(), self.known(x)))
                .collect(),
        )
    }
}

/// A number as Terraform writes it: every digit, without an exponent
/// (`1e309` as 310 digits, `1/3` with its 155), never through an `f64`.
/// Infinities never reach a plan (they fail it, as in Terraform).
fn number(n: &rewind_eval::Number) -> J {
    n.to_string()
        .parse::<serde_json::Number>()
        .map_or(J::Null, J::Number)
}

/// Terraform's `unknownAsBool`: `true` for an unknown value; for a known
/// sequence, one entry per element; for a known object or map, only the
/// members that are not plain `false`; `false` for a known primitive.
fn unknown_as_bool(v: &Value) -> J {
    as_bool(v, &|v| match v {
        Value::Sensitive(inner) => Some(unknown_as_bool(inner)),
        Value::Unknown(_) => Some(J::Bool(true)),
        _ => None,
    })
}

/// Terraform's `SensitiveAsBool`: `true` for a sensitive value; an
/// unknown sequence, object or map is empty (nothing is known of its
/// members); otherwise as [`unknown_as_bool`], with `false` for
/// primitives, nulls and values of no known type.
fn sensitive_as_bool(v: &Value) -> J {
    as_bool(v, &|v| match v {
        Value::Sensitive(_) => Some(J::Bool(true)),
        Value::Null(_) => Some(J::Bool(false)),
        Value::Unknown(t) | Value::Opaque(t, _) => Some(match t {
            Type::List(_) | Type::Set(_) | Type::Tuple(_) => json!([]),
            Type::Map(_) | Type::Object(_) => json!({}),
            _ => J::Bool(false),
        }),
        _ => None,
    })
}

/// The structure both encodings share: what `leaf` says of a value, else
/// one entry per element of a sequence, the members of an object or map
/// that are not plain `false`, and `false` for anything else.
fn as_bool(v: &Value, leaf: &dyn Fn(&Value) -> Option<J>) -> J {
    if let Some(j) = leaf(v) {
        return j;
    }
    let partial;
    let v = match v {
        Value::Partial(p) => {
            partial = Value::Object(p.attrs.clone());
            &partial
        }
        v => v,
    };
    match v {
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            J::Array(items.iter().map(|x| as_bool(x, leaf)).collect())
        }
        Value::Map(_, m) | Value::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), as_bool(x, leaf)))
                .filter(|(_, b)| *b != J::Bool(false))
                .collect(),
        ),
        _ => J::Bool(false),
    }
}
