//! Values as people read them.

use std::fmt::Write as _;

use crate::types::Type;
use crate::value::Value;

/// Go's `strconv.Quote`: a double-quoted string with Go escapes.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols
/// and the ASCII space; not control or format characters, other spaces,
/// separators or private use (unassigned characters are not told apart).
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(c as u32,
        // format characters (Cf)
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF9..=0xFFFB | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        // private use (Co) and noncharacters
        | 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD
        | 0xFDD0..=0xFDEF | 0xFFFE..=0xFFFF)
}

/// A value the way `terraform console` prints it.
pub fn console(v: &Value) -> String {
    let mut out = String::new();
    console_into(v, 0, &mut out);
    out
}

fn console_into(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Partial(p) => console_into(&p.rest, indent, out),
        Value::Unknown(_) => out.push_str("(known after apply)"),
        Value::Sensitive(inner) if !inner.is_known() => out.push_str("(known after apply)"),
        Value::Sensitive(_) => out.push_str("(sensitive value)"),
        Value::Opaque(_, sym) => {
            let _ = write!(out, "(deployed {sym})");
        }
        Value::Null(t) => match t {
            Type::Dynamic => out.push_str("null"),
            Type::String => out.push_str("tostring(null)"),
            Type::Number => out.push_str("tonumber(null)"),
            Type::Bool => out.push_str("tobool(null)"),
            Type::List(e) => {
                let _ = write!(out, "tolist(null) /* of {} */", e.friendly_name());
            }
            Type::Set(e) => {
                let _ = write!(out, "toset(null) /* of {} */", e.friendly_name());
            }
            Type::Map(e) => {
                let _ = write!(out, "tomap(null) /* of {} */", e.friendly_name());
            }
            other => {
                let _ = write!(out, "null /* {} */", other.friendly_name());
            }
        },
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => {
            let lines: Vec<&str> = s.split('\n').collect();
            if lines.len() < 2 {
                out.push_str(&go_quote(s));
                return;
            }
            let op = if indent > 0 { "<<-" } else { "<<" };
            let mut delim = String::from("EOT");
            while lines.iter().any(|l| l.trim() == delim) {
                delim.push('_');
            }
            out.push_str(op);
            out.push_str(&delim);
            for l in &lines {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                out.push_str(l);
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            out.push_str(&delim);
        }
        Value::Object(m) => mapping(m.iter(), indent, out),
        Value::Map(_, m) => {
            out.push_str("tomap(");
            mapping(m.iter(), indent, out);
            out.push(')');
        }
        Value::Tuple(items) => sequence(items, indent, out),
        Value::List(_, items) => {
            out.push_str("tolist(");
            sequence(items, indent, out);
            out.push(')');
        }
        Value::Set(_, items) => {
            out.push_str("toset(");
            sequence(items, indent, out);
            out.push(')');
        }
    }
}

fn mapping<'a>(
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    indent: usize,
    out: &mut String,
) {
    out.push('{');
    let mut count = 0;
    for (k, v) in entries {
        count += 1;
        out.push('\n');
        out.push_str(&" ".repeat(indent + 2));
        out.push_str(&go_quote(k));
        out.push_str(" = ");
        console_into(v, indent + 2, out);
    }
    if count > 0 {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
    }
    out.push('}');
}

fn sequence(items: &[Value], indent: usize, out: &mut String) {
    out.push('[');
    for v in items {
        out.push('\n');
        out.push_str(&" ".repeat(indent + 2));
        console_into(v, indent + 2, out);
        out.push(',');
    }
    if !items.is_empty() {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
    }
    out.push(']');
}

/// Longest symbol an opaque value keeps whole (see [`opaque`]).
pub(crate) const SYMBOL_MAX: usize = 4096;

/// An opaque value named `sym`. A symbol longer than `SYMBOL_MAX` keeps
/// its first characters and the SHA-256 of the whole: equal symbols stay
/// equal, and symbols built from symbols cannot grow without bound (a
/// chain of locals each joining the one before twice doubled its symbol
/// at every step, an analysis that never finished).
pub fn opaque(ty: Type, sym: String) -> Value {
    Value::Opaque(ty, bounded_symbol(sym).into())
}

/// `sym` when at most `SYMBOL_MAX` bytes long; otherwise its first
/// characters and the SHA-256 of the whole.
pub fn bounded_symbol(sym: String) -> String {
    use sha2::Digest as _;
    if sym.len() <= SYMBOL_MAX {
        return sym;
    }
    let mut cut = 64;
    while !sym.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = sha2::Sha256::digest(sym.as_bytes());
    let mut out = String::with_capacity(cut + 80);
    out.push_str(&sym[..cut]);
    out.push_str("…sha256:");
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// How a value appears inside the symbol of an operation on opaque
/// values: `f(<a.id>, "x")`.
pub fn symbol(v: &Value) -> String {
    match v.unmark().0.whole() {
        Value::Opaque(_, sym) => format!("<{sym}>"),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(symbol).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Map(_, m) | Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{} = {}", rewind_model::value::quote(k), symbol(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => inline(other),
    }
}

/// A value on one line, the way `terraform plan` shows an attribute's
/// before and after: strings quoted, collections in HCL syntax, unknowns as
/// `(known after apply)` and sensitive values as `(sensitive value)`.
pub fn inline(v: &Value) -> String {
    let mut out = String::new();
    inline_into(v, &mut out);
    out
}

fn inline_into(v: &Value, out: &mut String) {
    match v {
        Value::Partial(p) => inline_into(&p.rest, out),
        Value::Unknown(_) => out.push_str("(known after apply)"),
        Value::Sensitive(_) => out.push_str("(sensitive value)"),
        Value::Opaque(_, sym) => {
            let _ = write!(out, "(deployed {sym})");
        }
        Value::Null(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => out.push_str(&rewind_model::value::quote(s)),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline_into(v, out);
            }
            out.push(']');
        }
        Value::Map(_, m) | Value::Object(m) => {
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{ ");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if rewind_model::value::is_identifier(k) {
                    out.push_str(k);
                } else {
                    out.push_str(&rewind_model::value::quote(k));
                }
                out.push_str(" = ");
                inline_into(v, out);
            }
            out.push_str(" }");
        }
    }
}
