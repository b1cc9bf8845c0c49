//! Encoding functions.

use base64::Engine as _;

use super::*;

pub(super) const NAMES: &[&str] = &[
    "base64decode",
    "base64encode",
    "jsondecode",
    "jsonencode",
    "urlencode",
];

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = |params: &'static [Param], ret: fn(&[Value]) -> Type, imp: Impl| Spec {
        params,
        var_param: None,
        ret,
        partial: false,
        imp,
    };
    Some(match name {
        "jsonencode" => s(&[pf!("val", P::Any, NULL_OK)], ret_string, |_, a| {
            crate::json::encode(&a[0]).map(Value::string).map_err(fail)
        }),
        "jsondecode" => s(&[p!("str", P::String)], ret_dynamic, |_, a| {
            crate::json::decode(arg_str(a, 0)).map_err(fail)
        }),
        "base64encode" => s(&[p!("str", P::String)], ret_string, |_, a| {
            Ok(Value::string(
                base64::engine::general_purpose::STANDARD.encode(arg_str(a, 0)),
            ))
        }),
        "base64decode" => s(&[p!("str", P::String)], ret_string, |_, a| {
            let t = arg_str(a, 0);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(|_| {
                    fail(format!(
                        "failed to decode base64 data {}",
                        crate::render::go_quote(t)
                    ))
                })?;
            let s = String::from_utf8(bytes).map_err(|_| {
                fail("the result of decoding the provided string is not valid UTF-8")
            })?;
            Ok(Value::string(s))
        }),
        "urlencode" => s(&[p!("str", P::String)], ret_string, |_, a| {
            Ok(Value::string(query_escape(arg_str(a, 0))))
        }),
        _ => return None,
    })
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, space is `+`,
/// everything else `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
