//! `yamlencode`: the YAML that Terraform's emitter (go-cty-yaml, a port of
//! libyaml) writes: block style, keys and strings double-quoted, strings
//! with line breaks as literal blocks where YAML allows them, numbers,
//! bools and null plain. Mapping keys that libyaml writes as complex keys
//! (longer than 128 bytes, or with line breaks) are not reproduced: the
//! caller gives an unknown value then. `yamldecode` is in `yamldecode.rs`.

use super::*;

/// The emitter's state, as libyaml keeps it.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
}

/// Why a value is not encoded here.
pub(super) enum Refused {
    /// Terraform's own error.
    Error(String),
    /// Output rewind does not reproduce.
    Unsupported(&'static str),
}

const BEST_WIDTH: usize = 80;
const BEST_INDENT: i64 = 2;

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: i64) {
        let indent = indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn plain(&mut self, s: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        for c in s.chars() {
            self.put(c);
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, s: &str, indent: i64, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let bom = s.starts_with('\u{feff}');
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        let mut spaces = false;
        let mut k = 0;
        while k < chars.len() {
            let (i, c) = chars[k];
            if bom || !printable(c) || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    c => {
                        let v = c as u32;
                        let (l, w) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(l);
                        for d in format!("{v:0w$X}").chars() {
                            self.put(d);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < s.len() - 1 {
                    self.write_indent(indent);
                    if chars.get(k + 1).is_some_and(|(_, n)| *n == ' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
            k += 1;
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, s: &str, indent: i64) {
        self.indicator("|", true, false, false);
        let first = s.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut rev = s.chars().rev();
        let chomp = match (rev.next(), rev.next()) {
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(prev)) if is_break(prev) => Some("+"),
            _ => None,
        };
        if let Some(ch) = chomp {
            self.indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in s.chars() {
            if is_break(c) {
                self.put_break();
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// libyaml's printable characters (which, with line breaks, a double-quoted
/// scalar does not escape); characters beyond the BMP are not.
fn printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFEFE | 0xFF00..=0xFFFD)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Whether libyaml writes a string with line breaks as a literal block:
/// no trailing space, no space before a break, only printable characters.
fn block_allowed(s: &str) -> bool {
    if s.is_empty() || s.ends_with(' ') {
        return false;
    }
    let mut prev_space = false;
    for c in s.chars() {
        if !printable(c) && c != '\n' {
            return false;
        }
        if is_break(c) && prev_space {
            return false;
        }
        prev_space = c == ' ';
    }
    true
}

/// Where a node is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    MapValue,
    SeqItem,
}

/// The YAML document of a value.
pub(super) fn encode(v: &Value) -> std::result::Result<String, Refused> {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
    };
    let root_plain = node(&mut e, v, -1, Ctx::Root)?;
    // the end of the document: a line break where the last line is open,
    // and `...` after a plain scalar at the root
    e.write_indent(0);
    if root_plain {
        e.out.push_str("...\n");
    }
    Ok(e.out)
}

/// Writes one node; true for a plain scalar.
fn node(e: &mut Emitter, v: &Value, parent: i64, ctx: Ctx) -> std::result::Result<bool, Refused> {
    let scalar_indent = if parent < 0 {
        BEST_INDENT
    } else {
        parent + BEST_INDENT
    };
    if e.out.len() > crate::json::MAX_TEXT {
        return Err(Refused::Error(crate::json::too_long()));
    }
    match v.unmark().0 {
        Value::Partial(p) => node(e, &p.rest, parent, ctx),
        Value::Unknown(_) => Err(Refused::Error(
            "cannot serialize unknown value as YAML".into(),
        )),
        Value::Null(_) => {
            e.plain("null");
            Ok(true)
        }
        Value::Bool(b) => {
            e.plain(if *b { "true" } else { "false" });
            Ok(true)
        }
        Value::Number(n) => {
            e.plain(&n.to_string());
            Ok(true)
        }
        Value::String(s) => {
            if s.contains('\n') && block_allowed(s) {
                if s.contains(['\u{2028}', '\u{2029}']) {
                    return Err(Refused::Unsupported(
                        "a block scalar with Unicode line separators",
                    ));
                }
                e.literal(s, scalar_indent);
            } else {
                e.double_quoted(s, scalar_indent, true);
            }
            Ok(false)
        }
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            if items.is_empty() {
                e.indicator("[", true, true, false);
                e.indicator("]", false, false, false);
                return Ok(false);
            }
            let indent = match ctx {
                Ctx::Root => 0,
                Ctx::MapValue => parent,
                Ctx::SeqItem => parent + BEST_INDENT,
            };
            for item in items.iter() {
                e.write_indent(indent);
                e.indicator("-", true, false, true);
                node(e, item, indent, Ctx::SeqItem)?;
            }
            Ok(false)
        }
        Value::Map(_, m) | Value::Object(m) => {
            if m.is_empty() {
                e.indicator("{", true, true, false);
                e.indicator("}", false, false, false);
                return Ok(false);
            }
            let indent = if parent < 0 { 0 } else { parent + BEST_INDENT };
            for (k, item) in m.iter() {
                if k.len() > 128 || k.contains(is_break) {
                    return Err(Refused::Unsupported(
                        "a mapping key longer than 128 bytes or with line breaks",
                    ));
                }
                e.write_indent(indent);
                e.double_quoted(k, indent, false);
                e.indicator(":", false, false, false);
                node(e, item, indent, Ctx::MapValue)?;
            }
            Ok(false)
        }
        Value::Sensitive(inner) => node(e, inner, parent, ctx),
        // the caller makes a call with such a value opaque
        Value::Opaque(..) => Err(Refused::Unsupported("a value rewind cannot see")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> String {
        match encode(v) {
            Ok(s) => s,
            Err(_) => panic!("not encoded"),
        }
    }

    /// Outputs checked with `terraform console` (Terraform 1.11).
    #[test]
    fn documents_as_terraform_writes_them() {
        let obj = |items: Vec<(&str, Value)>| {
            Value::object(items.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
        };
        assert_eq!(enc(&Value::int(1)), "1\n...\n");
        assert_eq!(enc(&Value::string("x")), "\"x\"\n");
        assert_eq!(enc(&Value::string("a\n\n")), "|+\n  a\n\n");
        assert_eq!(enc(&Value::string("\n")), "|2+\n\n");
        assert_eq!(enc(&Value::string("a\n b")), "|-\n  a\n   b\n");
        assert_eq!(
            enc(&obj(vec![(
                "k",
                Value::tuple(vec![Value::string("a\nb\n\n"), Value::tuple(vec![])])
            )])),
            "\"k\":\n- |+\n  a\n  b\n\n- []\n"
        );
        assert_eq!(
            enc(&Value::tuple(vec![
                obj(vec![
                    ("a", Value::int(1)),
                    ("b", Value::tuple(vec![Value::int(2)]))
                ]),
                Value::tuple(vec![Value::int(4), Value::tuple(vec![Value::int(5)])]),
            ])),
            "- \"a\": 1\n  \"b\":\n  - 2\n- - 4\n  - - 5\n"
        );
        let words = vec!["word"; 30].join(" ");
        assert_eq!(
            enc(&obj(vec![("a", Value::string(&words))])),
            format!(
                "\"a\": \"{}\n  {}\"\n",
                vec!["word"; 16].join(" "),
                vec!["word"; 14].join(" ")
            )
        );
        assert_eq!(
            enc(&Value::string("\u{1F600}\u{85}\u{feff}x\t\"")),
            "\"\\U0001F600\\N\\uFEFFx\\t\\\"\"\n"
        );
    }
}
