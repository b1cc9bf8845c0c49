//! Type conversion functions and sensitivity: `tostring`, `tonumber`,
//! `tobool`, `tolist`, `toset`, `tomap`, `sensitive`, `nonsensitive`,
//! `issensitive`, `ephemeralasnull`.

use super::*;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &[
    "tostring",
    "tonumber",
    "tobool",
    "tolist",
    "toset",
    "tomap",
    "sensitive",
    "nonsensitive",
    "issensitive",
    "ephemeralasnull",
];

const ANY_ALL: Param = pf!("v", P::Any, NULL_OK | UNKNOWN_OK | MARKED_OK | DYN_OK);

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let spec = |imp: Impl, ret: fn(&[Value]) -> Type| Spec {
        params: &[ANY_ALL],
        var_param: None,
        ret,
        partial: true,
        imp,
    };
    Some(match name {
        "tostring" => spec(|_, a| to(&a[0], Type::String), ret_string),
        "tonumber" => spec(|_, a| to(&a[0], Type::Number), ret_number),
        "tobool" => spec(|_, a| to(&a[0], Type::Bool), ret_bool),
        "tolist" => spec(
            |_, a| to(&a[0], Type::list(Type::Dynamic)),
            |_| Type::list(Type::Dynamic),
        ),
        "toset" => spec(
            |_, a| to(&a[0], Type::set(Type::Dynamic)),
            |_| Type::set(Type::Dynamic),
        ),
        "tomap" => spec(
            |_, a| to(&a[0], Type::map(Type::Dynamic)),
            |_| Type::map(Type::Dynamic),
        ),
        "sensitive" => spec(|_, a| Ok(a[0].clone().sensitive()), ret_first),
        // only the value's own mark goes: marks inside it stay
        "nonsensitive" => spec(|_, a| Ok(a[0].unmark().0.clone()), ret_first),
        "issensitive" => spec(
            |_, a| {
                // the value's own mark (not those inside it); unknown
                // values may still turn out sensitive
                if matches!(a[0], Value::Sensitive(_)) {
                    Ok(Value::Bool(true))
                } else if !a[0].is_known() {
                    Ok(Value::Unknown(Type::Bool))
                } else {
                    Ok(Value::Bool(false))
                }
            },
            ret_bool,
        ),
        "ephemeralasnull" => spec(|_, a| Ok(a[0].clone()), ret_first),
        _ => return None,
    })
}

/// `tostring`, `tolist`... with Terraform's messages.
fn to(v: &Value, want: Type) -> Result<Value> {
    convert(v, &want).map_err(|_| {
        let (inner, marked) = v.unmark_deep();
        let got = inner.ty();
        let want_name = match &want {
            Type::List(_) => "list of any single type".to_string(),
            Type::Set(_) => "set of any single type".to_string(),
            Type::Map(_) => "map of any single type".to_string(),
            other => other.friendly_name(),
        };
        let detail = if marked {
            format!(
                "cannot convert this sensitive {} to {want_name}",
                got.friendly_name()
            )
        } else {
            match (&got, &want) {
                (Type::String, Type::Bool) => format!(
                    "cannot convert {} to bool; only the strings \"true\" or \"false\" are allowed",
                    inner
                        .as_str()
                        .map(crate::render::go_quote)
                        .unwrap_or_else(|| "string".into())
                ),
                (Type::String, Type::Number) => format!(
                    "cannot convert {} to number; given string must be a decimal representation of a number",
                    inner
                        .as_str()
                        .map(crate::render::go_quote)
                        .unwrap_or_else(|| "string".into())
                ),
                _ => format!("cannot convert {} to {want_name}", got.friendly_name()),
            }
        };
        EvalError::new(
            "Invalid function argument",
            format!("Invalid value for \"v\" parameter: {detail}."),
        )
    })
}
