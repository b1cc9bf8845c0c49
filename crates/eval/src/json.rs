//! Values to and from JSON as Terraform writes and reads it (`jsonencode`,
//! `jsondecode`, state attributes).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewind_parse::json::{J, JV};

use crate::number::Number;
use crate::value::Value;

/// The JSON text of a value, as Go's `encoding/json` writes it (keys
/// sorted, `<`, `>` and `&` escaped, no spaces). Unknown values cannot be
/// encoded.
pub(crate) fn encode(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    encode_into(v, &mut out)?;
    Ok(out)
}

/// The longest text an encoding function builds (as many bytes as the
/// evaluator's limit counts, [`crate::Limits`]): a value made of the same
/// list many times over is small, and its text need not be.
pub(crate) const MAX_TEXT: usize = 5_000_000 * crate::expr::BYTES_PER_UNIT;

/// The error of a text past [`MAX_TEXT`].
pub(crate) fn too_long() -> String {
    format!(
        "the text would be longer than {MAX_TEXT} bytes; rewind stops here rather than run away"
    )
}

fn encode_into(v: &Value, out: &mut String) -> Result<(), String> {
    if out.len() > MAX_TEXT {
        return Err(too_long());
    }
    match v {
        Value::Sensitive(inner) => encode_into(inner, out),
        Value::Partial(p) => encode_into(&p.rest, out),
        Value::Unknown(_) => Err("value is not known".into()),
        Value::Opaque(_, sym) => Err(format!("the value of {sym} is not known to rewind")),
        Value::Null(_) => {
            out.push_str("null");
            Ok(())
        }
        Value::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            Ok(())
        }
        Value::Number(n) => {
            if n.is_infinite() {
                return Err("cannot serialize infinity as JSON".into());
            }
            let _ = write!(out, "{n}");
            Ok(())
        }
        Value::String(s) => {
            quote_into(s, out);
            Ok(())
        }
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_into(x, out)?;
            }
            out.push(']');
            Ok(())
        }
        Value::Map(_, m) | Value::Object(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote_into(k, out);
                out.push(':');
                encode_into(x, out)?;
            }
            out.push('}');
            Ok(())
        }
    }
}

/// A JSON string literal as Go writes it.
pub(crate) fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses JSON text into a value: objects as objects, arrays as tuples,
/// numbers at full precision (`jsondecode`).
pub fn decode(text: &str) -> Result<Value, String> {
    let j = rewind_parse::json::parse_json(text).map_err(|(pos, msg)| {
        let line = text[..(pos as usize).min(text.len())].matches('\n').count() + 1;
        format!("{msg} (line {line})")
    })?;
    from_json(&j)
}

/// A parsed JSON value as a Terraform value.
pub(crate) fn from_json(j: &J) -> Result<Value, String> {
    Ok(match &j.v {
        JV::Null => Value::null(),
        JV::Bool(b) => Value::Bool(*b),
        JV::Number(n) => Value::Number(Number::parse(n).map_err(|e| format!("{n}: {e}"))?),
        // strings in normal form C, as cty makes them
        JV::String(s) => Value::string(crate::value::nfc(s)),
        JV::Array(items) => {
            Value::tuple(items.iter().map(from_json).collect::<Result<Vec<_>, _>>()?)
        }
        JV::Object(members) => {
            let mut m = BTreeMap::new();
            for (k, _, v) in members {
                // Terraform 1.11 refuses a key not in normal form C: the
                // type it infers has the normalized name, the object the
                // key as written
                let n = crate::value::nfc(k);
                if n != k.as_str() {
                    return Err(format!("unsupported attribute {n:?}"));
                }
                m.insert(k.clone(), from_json(v)?);
            }
            Value::object(m.into_iter().collect())
        }
    })
}
