//! `yamldecode`: a YAML document as Terraform 1.11 reads it (go-cty-yaml
//! 1.1: go-yaml v2's port of libyaml for the syntax, YAML 1.1 style
//! resolution of plain scalars with cty's conversions on top).
//!
//! Terraform works in two passes over the parser's events: one decides the
//! result's type, the next builds the value, which is then converted to
//! that type. They differ in one thing, which is reproduced here in one
//! pass: a scalar with no tag that is not plain (quoted, literal, folded)
//! is typed `string`, while its value is resolved as a plain one would be
//! (so `|-` then `1e3` gives `"1000"`, `~` a null string, `.nan` an error
//! that only the second pass reports, after any error of the first).
//!
//! Sequences become tuples and mappings objects. Scalars resolve as
//! go-yaml v2 resolves them (`yes`/`on`/`y` are true, `~` null, `0x10`
//! 16, `010` ten, dates RFC 3339 strings...), mapping keys are resolved the
//! same way then turned into strings, `<<` merges a mapping into the one it
//! is a key of, and error messages carry go-cty-yaml's positions (their
//! 0-based line numbers included).
//!
//! Each node built, and each node an alias repeats, counts against the
//! evaluator's work budget; a document nested deeper than the evaluator's
//! depth limit is refused.

use std::collections::HashMap;

use libyaml_safer::{ErrorKind, Event, EventData, Mark, Parser, ScalarStyle};

use super::*;
use crate::number::Number;
use crate::value::nfc;

const STR: &str = "tag:yaml.org,2002:str";
const BOOL: &str = "tag:yaml.org,2002:bool";
const INT: &str = "tag:yaml.org,2002:int";
const FLOAT: &str = "tag:yaml.org,2002:float";
const NULL: &str = "tag:yaml.org,2002:null";
const TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";
const BINARY: &str = "tag:yaml.org,2002:binary";
const SEQ: &str = "tag:yaml.org,2002:seq";
const MAP: &str = "tag:yaml.org,2002:map";

/// `yamldecode(src)`.
pub(super) fn decode(ev: &mut Evaluator, src: &str) -> Result<Value> {
    // go-cty-yaml reads an empty document as a line break. A document
    // that does not end with one is read with one added: libyaml-safer
    // panics where a block scalar or an escape runs into the end of the
    // input (C's libyaml reads its NUL padding there); what the line break
    // changes is undone (see `Decoder::scalar` and `parser_error`).
    let (text, appended) = if src.is_empty() {
        (std::borrow::Cow::Borrowed("\n"), None)
    } else if src.ends_with(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
        (std::borrow::Cow::Borrowed(src), None)
    } else {
        (
            std::borrow::Cow::Owned(format!("{src}\n")),
            Some(src.len() as u64),
        )
    };
    let mut parser = Parser::new();
    parser.set_input(text.as_bytes());
    let mut d = Decoder {
        parser,
        src,
        appended,
        pending: HashMap::new(),
        anchors: HashMap::new(),
        deferred: None,
        max_depth: ev.depth_limit() as usize,
    };
    d.document(ev)
}

/// What a scalar resolves to.
enum Resolved {
    Value(Value),
    /// The merge key `<<`.
    Merge,
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: Option<String>,
        size: u64,
    },
    Map {
        entries: Vec<(String, Value)>,
        anchor: Option<String>,
        size: u64,
        key: Key,
    },
}

/// Where a mapping is between its entries.
enum Key {
    /// Its next event is a key (or its end).
    Wanted,
    /// Its next node is the value of this key.
    Named(String),
    /// Its next node is merged into it (the mark of the `<<` key).
    Merge(Mark),
}

struct Decoder<'a> {
    parser: Parser<&'a [u8]>,
    /// The document as given.
    src: &'a str,
    /// Where the line break added to the document is, if one was.
    appended: Option<u64>,
    /// Anchors whose node is being built (an alias to one is refused).
    pending: HashMap<String, usize>,
    /// Anchored nodes with their sizes in elements.
    anchors: HashMap<String, (Value, u64)>,
    /// The first error only Terraform's second pass reports.
    deferred: Option<String>,
    max_depth: usize,
}

impl Decoder<'_> {
    fn next(&mut self) -> Result<Event> {
        let parser = &mut self.parser;
        // libyaml-safer still panics on a tag that a `,` ends in a flow
        // collection (`[!x, y]`), which Terraform refuses too (its tag
        // takes the comma): the panic is that error
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.parse())) {
            Ok(r) => r.map_err(|e| failed(parser_error(&e, self.src, self.appended))),
            Err(_) => Err(failed(
                "did not find expected whitespace or line break after a tag",
            )),
        }
    }

    /// The single document of the stream, as go-cty-yaml reads it.
    fn document(&mut self, ev: &mut Evaluator) -> Result<Value> {
        let e = self.next()?;
        if !matches!(e.data, EventData::StreamStart { .. }) {
            return Err(failed(at(e.start_mark, "missing stream start token")));
        }
        let e = self.next()?;
        match &e.data {
            EventData::DocumentStart {
                version_directive: Some(v),
                ..
            } if v.minor != 1 => {
                // go-yaml knows YAML 1.1 only (libyaml 0.2.5 takes 1.2 too)
                return Err(failed(at(e.start_mark, "found incompatible YAML document")));
            }
            EventData::DocumentStart { .. } => {}
            _ => return Err(failed(at(e.start_mark, "missing start of document"))),
        }
        let v = self.node(ev)?;
        let e = self.next()?;
        match e.data {
            EventData::DocumentEnd { .. } => {}
            EventData::DocumentStart { .. } => {
                return Err(failed(at(
                    e.start_mark,
                    "only a single document is allowed",
                )))
            }
            _ => {
                return Err(failed(at(
                    e.start_mark,
                    &format!("unexpected extra content ({}) after value", event_name(&e)),
                )))
            }
        }
        let e = self.next()?;
        if !matches!(e.data, EventData::StreamEnd) {
            return Err(failed(at(
                e.start_mark,
                "unexpected extra content after value",
            )));
        }
        match self.deferred.take() {
            Some(msg) => Err(failed(msg)),
            None => Ok(v),
        }
    }

    /// The next node, built from the events that make it (without
    /// recursion: collections are frames on a stack).
    fn node(&mut self, ev: &mut Evaluator) -> Result<Value> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let e = self.next()?;
            ev.spend(1)?;
            if let Some(Frame::Map {
                key: key @ Key::Wanted,
                ..
            }) = stack.last_mut()
            {
                match &e.data {
                    EventData::MappingEnd => {}
                    EventData::Scalar { .. } => {
                        *key = mapping_key(&e)?;
                        continue;
                    }
                    _ => {
                        return Err(failed(at(
                            e.start_mark,
                            "only strings are allowed as mapping keys",
                        )))
                    }
                }
            }
            let done = match e.data {
                EventData::Scalar {
                    anchor,
                    tag,
                    value,
                    style,
                    ..
                } => self.scalar((e.start_mark, e.end_mark), anchor, tag, value, style)?,
                EventData::Alias { anchor } => self.alias(ev, e.start_mark, &anchor)?,
                EventData::SequenceStart { anchor, tag, .. } => {
                    let (items, size) = (Vec::new(), 1);
                    let frame = Frame::Seq {
                        items,
                        anchor,
                        size,
                    };
                    self.open(&mut stack, e.start_mark, tag, frame)?;
                    continue;
                }
                EventData::MappingStart { anchor, tag, .. } => {
                    let (entries, size, key) = (Vec::new(), 1, Key::Wanted);
                    let frame = Frame::Map {
                        entries,
                        anchor,
                        size,
                        key,
                    };
                    self.open(&mut stack, e.start_mark, tag, frame)?;
                    continue;
                }
                EventData::SequenceEnd | EventData::MappingEnd => match stack.pop() {
                    Some(frame) => self.close(frame),
                    None => return Err(failed(unexpected(&e))),
                },
                _ => return Err(failed(unexpected(&e))),
            };
            match stack.last_mut() {
                None => return Ok(done.0),
                Some(parent) => add_to(parent, done)?,
            }
        }
    }

    /// A sequence or mapping starts (`frame`): its tag must be its kind's,
    /// it must not nest too deep.
    fn open(
        &mut self,
        stack: &mut Vec<Frame>,
        mark: Mark,
        tag: Option<String>,
        frame: Frame,
    ) -> Result<()> {
        let (kind, own_tag, anchor) = match &frame {
            Frame::Seq { anchor, .. } => ("sequence", SEQ, anchor),
            Frame::Map { anchor, .. } => ("mapping", MAP, anchor),
        };
        if let Some(tag) = tag.filter(|t| t != own_tag) {
            return Err(failed(at(
                mark,
                &format!("can't interpret {kind} as {tag}"),
            )));
        }
        if stack.len() >= self.max_depth {
            return Err(EvalError::new(
                "Evaluation limit",
                format!(
                    "the YAML document nests more than {} levels; rewind stops here rather than run away",
                    self.max_depth
                ),
            ));
        }
        if let Some(a) = anchor {
            *self.pending.entry(a.clone()).or_default() += 1;
        }
        stack.push(frame);
        Ok(())
    }

    /// A sequence or mapping ends: its value and size (its anchor, if it
    /// has one, now names it).
    fn close(&mut self, frame: Frame) -> (Value, u64) {
        let (v, size, anchor) = match frame {
            Frame::Seq {
                items,
                anchor,
                size,
            } => (Value::tuple(items), size, anchor),
            Frame::Map {
                entries,
                anchor,
                size,
                ..
            } => (Value::object(entries.into_iter().collect()), size, anchor),
        };
        if let Some(a) = anchor {
            self.complete(a, &v, size);
        }
        (v, size)
    }

    fn complete(&mut self, anchor: String, v: &Value, size: u64) {
        if let Some(n) = self.pending.get_mut(&anchor) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&anchor);
            }
        }
        self.anchors.insert(anchor, (v.clone(), size));
    }

    /// A scalar in a value's place.
    fn scalar(
        &mut self,
        (mark, end): (Mark, Mark),
        anchor: Option<String>,
        tag: Option<String>,
        mut value: String,
        style: ScalarStyle,
    ) -> Result<(Value, u64)> {
        if self.appended.is_some_and(|n| end.index > n)
            && matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            && self.added_break_kept(mark)
        {
            value.pop();
        }
        if let Some(a) = &anchor {
            *self.pending.entry(a.clone()).or_default() += 1;
        }
        let quoted = matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
        let untyped = tag.is_none() && style != ScalarStyle::Plain;
        let v = match resolve(tag.as_deref().unwrap_or(""), &value, quoted) {
            Ok(Resolved::Merge) => Value::string("<<"),
            Ok(Resolved::Value(v)) if untyped => {
                // the first pass typed it string: the value converts to it
                crate::convert::convert(&v, &Type::String).map_err(|e| failed(e.to_string()))?
            }
            Ok(Resolved::Value(v)) => v,
            Err(msg) if untyped => {
                // only the second pass resolves it: its error comes after
                // any of the first
                self.deferred.get_or_insert_with(|| at(mark, &msg));
                Value::Null(Type::String)
            }
            Err(msg) => return Err(failed(at(mark, &msg))),
        };
        if let Some(a) = anchor {
            self.complete(a, &v, 1);
        }
        Ok((v, 1))
    }

    /// Whether a block scalar that runs to the end of the document (which
    /// had no final line break) took the line break added to it: one
    /// that keeps its final line breaks (`|+`) always does; one that
    /// keeps one (`|`) does when its last line is content, not only
    /// indentation (trailing spaces deeper than the indentation are taken
    /// for indentation).
    fn added_break_kept(&self, start: Mark) -> bool {
        let from = (start.index as usize).min(self.src.len());
        let from = (0..=from)
            .rev()
            .find(|i| self.src.is_char_boundary(*i))
            .unwrap_or(0);
        let rest = &self.src[from..];
        // past a verbatim tag (`!<...>`), the first indicator
        let rest = match rest.strip_prefix("!<") {
            Some(r) => r.split_once('>').map_or(r, |(_, after)| after),
            None => rest,
        };
        let Some(i) = rest.find(['|', '>']) else {
            return false;
        };
        let header: String = rest[i + 1..].chars().take(2).collect();
        if header.contains('+') {
            true
        } else if header.contains('-') {
            false
        } else {
            let last_line = self.src.rsplit(['\n', '\r']).next().unwrap_or_default();
            !last_line.bytes().all(|b| b == b' ')
        }
    }

    /// An alias: the node its anchor names, counted again.
    fn alias(&mut self, ev: &mut Evaluator, mark: Mark, anchor: &str) -> Result<(Value, u64)> {
        if self.pending.contains_key(anchor) {
            return Err(failed(at(
                mark,
                &format!(
                    "cannot refer to anchor {} from inside its own definition",
                    crate::render::go_quote(anchor)
                ),
            )));
        }
        match self.anchors.get(anchor) {
            Some((v, size)) => {
                ev.spend(*size)?;
                Ok((v.clone(), *size))
            }
            None => Err(failed(at(
                mark,
                &format!(
                    "reference to undefined anchor {}",
                    crate::render::go_quote(anchor)
                ),
            ))),
        }
    }
}

/// A scalar in a key's place: the key it names (resolved, then turned
/// into a string) or a merge.
fn mapping_key(e: &Event) -> Result<Key> {
    let EventData::Scalar {
        tag, value, style, ..
    } = &e.data
    else {
        return Err(failed(unexpected(e)));
    };
    let quoted = matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
    // (Terraform reports a key's resolution error without a position)
    let v = match resolve(tag.as_deref().unwrap_or(""), value, quoted).map_err(failed)? {
        Resolved::Merge => return Ok(Key::Merge(e.start_mark)),
        Resolved::Value(v) => v,
    };
    match crate::convert::convert(&v, &Type::String) {
        Ok(Value::String(s)) => Ok(Key::Named(s.to_string())),
        Ok(_) => Err(failed(at(e.start_mark, "mapping key cannot be null"))),
        Err(_) => Err(failed(at(
            e.start_mark,
            "only strings are allowed as mapping keys",
        ))),
    }
}

/// Adds a finished node to the collection being built.
fn add_to(parent: &mut Frame, (v, n): (Value, u64)) -> Result<()> {
    match parent {
        Frame::Seq { items, size, .. } => {
            items.push(v);
            *size = size.saturating_add(n);
        }
        Frame::Map {
            entries, size, key, ..
        } => {
            *size = size.saturating_add(n);
            match std::mem::replace(key, Key::Wanted) {
                Key::Named(k) => entries.push((k, v)),
                Key::Merge(mark) => match v {
                    Value::Object(attrs) => {
                        entries.extend(attrs.iter().map(|(k, v)| (k.clone(), v.clone())))
                    }
                    other => {
                        return Err(failed(at(
                            mark,
                            &format!("cannot merge {} into mapping", other.ty().friendly_name()),
                        )))
                    }
                },
                Key::Wanted => {}
            }
        }
    }
    Ok(())
}

/// Terraform's error for a failed call.
fn failed(msg: impl std::fmt::Display) -> EvalError {
    EvalError::new(
        "Error in function call",
        format!("Call to function \"yamldecode\" failed: {msg}."),
    )
}

/// go-cty-yaml's message for an event: with its position, unless it is on
/// the first line (the line is 0-based, the column 1-based).
fn at(mark: Mark, msg: &str) -> String {
    if mark.line == 0 {
        msg.to_string()
    } else {
        format!("on line {}, column {}: {msg}", mark.line, mark.column + 1)
    }
}

/// go-cty-yaml's message for an error of the parser: the problem, at the
/// problem's position (a scanner's: the next line, column 1), else the
/// context's, neither when on the first line.
///
/// A scanner's problem past the line break added to the document is where
/// the document ends: on the line before.
///
/// A double-quoted scalar that ends the document with a backslash is
/// libyaml's unknown escape (its NUL padding), not the line break added.
fn parser_error(e: &libyaml_safer::Error, src: &str, appended: Option<u64>) -> String {
    let mut problem = match e.problem() {
        "" => "invalid YAML syntax",
        p => p,
    };
    let trailing = src.len() - src.trim_end_matches('\\').len();
    let in_double_quotes = e
        .context_mark()
        .and_then(|m| src.as_bytes().get(m.index as usize))
        .is_some_and(|b| *b == b'"');
    if problem == "found unexpected end of stream"
        && appended.is_some()
        && trailing % 2 == 1
        && in_double_quotes
    {
        problem = "found unknown escape character";
    }
    let scanner = e.kind() == ErrorKind::Scanner;
    let problem_mark = e.problem_mark().map(|mut m| {
        if scanner && appended.is_some_and(|n| m.index > n) {
            m.line = m.line.saturating_sub(1);
        }
        m
    });
    match (problem_mark, e.context_mark()) {
        (Some(m), _) if m.line != 0 && scanner => {
            format!("on line {}, column 1: {problem}", m.line + 1)
        }
        (Some(m), _) if m.line != 0 => {
            format!("on line {}, column {}: {problem}", m.line, m.column + 1)
        }
        (_, Some(m)) => at(m, problem),
        _ => problem.to_string(),
    }
}

fn unexpected(e: &Event) -> String {
    let what = match e.data {
        EventData::DocumentStart { .. } => "only a single document is allowed".to_string(),
        EventData::StreamEnd => "expecting value but found end of stream".to_string(),
        EventData::MappingEnd => "expecting value but found end of mapping".to_string(),
        EventData::SequenceEnd => "expecting value but found end of sequence".to_string(),
        _ => format!("unexpected parser event {}", event_name(e)),
    };
    at(e.start_mark, &what)
}

/// go-yaml's name of an event's kind.
fn event_name(e: &Event) -> &'static str {
    match e.data {
        EventData::StreamStart { .. } => "stream start",
        EventData::StreamEnd => "stream end",
        EventData::DocumentStart { .. } => "document start",
        EventData::DocumentEnd { .. } => "document end",
        EventData::Alias { .. } => "alias",
        EventData::Scalar { .. } => "scalar",
        EventData::SequenceStart { .. } => "sequence start",
        EventData::SequenceEnd => "sequence end",
        EventData::MappingStart { .. } => "mapping start",
        EventData::MappingEnd => "mapping end",
    }
}

/// go-cty-yaml's `resolveScalar`: a scalar's value from its tag (`""`
/// when it has none), its text and whether it was quoted.
fn resolve(tag: &str, src: &str, quoted: bool) -> std::result::Result<Resolved, String> {
    let quote = crate::render::go_quote;
    if !matches!(
        tag,
        "" | STR | BOOL | INT | FLOAT | NULL | TIMESTAMP | BINARY
    ) {
        return Err(format!("unsupported tag {}", quote(tag)));
    }
    let mut tag = tag;
    // the first byte hints at what a scalar may be
    let hint = match src.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint != 0 && tag != STR && tag != BINARY {
        if quoted {
            return Ok(Resolved::Value(Value::string(nfc(src))));
        }
        if let Some(v) = well_known(src) {
            return Ok(Resolved::Value(v));
        }
        if tag.is_empty() && matches!(src, ".nan" | ".NaN" | ".NAN") {
            return Err("floating point NaN is not supported".into());
        }
        match hint {
            b'.' => {
                if let Some(n) = parse_number_val(src) {
                    return Ok(Resolved::Value(Value::Number(n)));
                }
            }
            b'D' | b'S' => {
                if tag.is_empty() || tag == TIMESTAMP {
                    if let Some(t) = parse_timestamp(src) {
                        return Ok(Resolved::Value(Value::string(t)));
                    }
                }
                if is_int_literal(src) {
                    tag = INT;
                } else if is_float_literal(src) {
                    tag = FLOAT;
                }
            }
            _ => {}
        }
    }
    if tag.is_empty() && src == "<<" {
        return Ok(Resolved::Merge);
    }
    let cannot = || format!("cannot parse {} as {tag}", quote(src));
    let v = match tag {
        STR => Value::string(nfc(src)),
        BINARY => {
            base64_check(src).ok_or_else(|| format!("{}: not valid base64", cannot()))?;
            Value::string(src)
        }
        BOOL => match well_known(src) {
            Some(v @ Value::Bool(_)) => v,
            _ => return Err(cannot()),
        },
        INT | FLOAT => {
            let plain = src.replace('_', "");
            let n = parse_number_val(&plain)
                .or_else(|| go_parse_int(&plain))
                .ok_or_else(cannot)?;
            Value::Number(n)
        }
        TIMESTAMP => Value::string(parse_timestamp(src).ok_or_else(cannot)?),
        NULL => Value::null(),
        _ => Value::string(nfc(src)),
    };
    Ok(Resolved::Value(v))
}

/// The plain scalars go-yaml v2 resolves by name.
fn well_known(src: &str) -> Option<Value> {
    Some(match src {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Value::null(),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::Number(Number::inf(false)),
        "-.inf" | "-.Inf" | "-.INF" => Value::Number(Number::inf(true)),
        _ => return None,
    })
}

/// `\A([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\z`.
fn is_int_literal(s: &str) -> bool {
    let all = |t: &str, f: fn(&u8) -> bool| !t.is_empty() && t.as_bytes().iter().all(f);
    if let Some(t) = s.strip_prefix("0o") {
        if all(t, |b| (b'0'..=b'7').contains(b)) {
            return true;
        }
    }
    if let Some(t) = s.strip_prefix("0x") {
        if all(t, u8::is_ascii_hexdigit) {
            return true;
        }
    }
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    all(t, u8::is_ascii_digit)
}

/// `\A[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\z`.
fn is_float_literal(s: &str) -> bool {
    let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let rest = if let Some(frac) = t.strip_prefix('.') {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        &frac[n..]
    } else {
        let n = digits(t);
        if n == 0 {
            return false;
        }
        match t[n..].strip_prefix('.') {
            Some(frac) => &frac[digits(frac)..],
            None => &t[n..],
        }
    };
    match rest.strip_prefix(['e', 'E']) {
        None => rest.is_empty(),
        Some(exp) => {
            let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
            !exp.is_empty() && digits(exp) == exp.len()
        }
    }
}

/// cty's `ParseNumberVal`: Go's `big.ParseFloat(s, 10, 512)`, which also
/// takes a binary exponent (`1p3` is 8).
fn parse_number_val(s: &str) -> Option<Number> {
    if let Ok(n) = Number::parse(s) {
        return Some(n);
    }
    let i = s.find(['p', 'P'])?;
    let (mant, exp) = (&s[..i], &s[i + 1..]);
    if mant.contains(['e', 'E']) || mant.ends_with(['i', 'f', 'I', 'F']) {
        return None;
    }
    let m = Number::parse(mant).ok()?;
    let digits = exp.strip_prefix(['-', '+']).unwrap_or(exp);
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let e: i64 = digits.parse().ok()?;
    let neg_exp = exp.starts_with('-');
    // 2^e in steps of 2^60, exactly (binary floats)
    let step = Number::from_u64(1 << 60);
    let mut out = m;
    let mut left = e;
    while left > 0 {
        let k = left.min(60);
        let f = if k == 60 {
            step.clone()
        } else {
            Number::from_u64(1 << k)
        };
        out = if neg_exp { out.div(&f) } else { out.mul(&f) }.ok()?;
        left -= k;
    }
    Some(out)
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: a
/// sign, a base prefix (`0x`, `0o`, `0b`, `0`) and digits.
fn go_parse_int(s: &str) -> Option<Number> {
    let (neg, signed, body) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        (mag <= 1 << 63).then(|| Number::from_i64((mag as i64).wrapping_neg()))
    } else if mag <= i64::MAX as u64 || !signed {
        Some(Number::from_u64(mag))
    } else {
        None
    }
}

/// Whether Go's `base64.StdEncoding` decodes `s` (it skips line breaks,
/// wants the padding, and takes any trailing bits).
fn base64_check(s: &str) -> Option<()> {
    use base64::engine::{general_purpose, DecodePaddingMode, Engine as _, GeneralPurpose};
    const GO_STD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::PAD
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    );
    let text: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    GO_STD.decode(text).ok().map(|_| ())
}

/// go-yaml's timestamps: `time.Parse` with the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (`T` or `t`),
/// `2006-1-2 15:4:5.999999999` and `2006-1-2`, as RFC 3339 text (whole
/// seconds, as Go's `time.RFC3339` writes them).
fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let year_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_len != 4 || b.get(4) != Some(&b'-') {
        return None;
    }
    [Some(b'T'), Some(b't'), Some(b' '), None]
        .into_iter()
        .find_map(|sep| timestamp_layout(s, sep))
}

/// One of the layouts: a date, then (`sep` given) a time after `sep`,
/// with a zone unless `sep` is a space.
fn timestamp_layout(s: &str, sep: Option<u8>) -> Option<String> {
    let year: i64 = s[..4].parse().ok()?;
    let mut r = Reader(&s.as_bytes()[4..]);
    r.lit(b'-')?;
    let month = r.num()?;
    r.lit(b'-')?;
    let day = r.num()?;
    let (mut hour, mut min, mut sec, mut offset) = (0, 0, 0, Some(0));
    if let Some(sep) = sep {
        r.lit(sep)?;
        hour = r.num()?;
        r.lit(b':')?;
        min = r.num()?;
        r.lit(b':')?;
        sec = r.num()?;
        r.fraction();
        if sep != b' ' {
            offset = r.zone();
        }
    }
    let offset = offset?;
    if !r.0.is_empty()
        || !(1..=12).contains(&month)
        || hour >= 24
        || min >= 60
        || sec >= 60
        || day < 1
        || day > i64::from(super::datetime::days_in(month as u32, year))
    {
        return None;
    }
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let a = offset.abs();
        let sign = if offset < 0 { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60)
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{min:02}:{sec:02}{zone}"
    ))
}

/// What is left of a timestamp being read.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn lit(&mut self, c: u8) -> Option<()> {
        let (first, rest) = self.0.split_first()?;
        (*first == c).then(|| self.0 = rest)
    }

    /// Go's `getnum`: one or two digits.
    fn num(&mut self) -> Option<i64> {
        let d = |i: usize| {
            self.0
                .get(i)
                .filter(|c| c.is_ascii_digit())
                .map(|c| (c - b'0') as i64)
        };
        let first = d(0)?;
        match d(1) {
            Some(second) => {
                self.0 = &self.0[2..];
                Some(first * 10 + second)
            }
            None => {
                self.0 = &self.0[1..];
                Some(first)
            }
        }
    }

    /// Fractional seconds, if any (`.` or `,` then digits): read and
    /// dropped.
    fn fraction(&mut self) {
        if self.0.len() >= 2 && matches!(self.0[0], b'.' | b',') && self.0[1].is_ascii_digit() {
            let n = 1 + self.0[1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            self.0 = &self.0[n..];
        }
    }

    /// A zone: `Z`, or `±hh:mm`; its offset in seconds.
    fn zone(&mut self) -> Option<i64> {
        if self.lit(b'Z').is_some() {
            return Some(0);
        }
        let b = self.0;
        if b.len() < 6 || b[3] != b':' {
            return None;
        }
        let two = |i: usize| -> Option<i64> {
            (b[i].is_ascii_digit() && b[i + 1].is_ascii_digit())
                .then(|| ((b[i] - b'0') * 10 + (b[i + 1] - b'0')) as i64)
        };
        let (h, m) = (two(1)?, two(4)?);
        if h > 24 || m > 60 {
            return None;
        }
        let secs = (h * 60 + m) * 60;
        let offset = match b[0] {
            b'+' => secs,
            b'-' => -secs,
            _ => return None,
        };
        self.0 = &b[6..];
        Some(offset)
    }
}

#[cfg(test)]
mod tests {
    use crate::expr::EmptyScope;
    use crate::{Evaluator, Type, Value};

    fn eval(src: &str) -> crate::expr::Result<Value> {
        let e = rewind_parse::hcl::parse_expression(src)
            .unwrap()
            .canonical();
        Evaluator::new(&EmptyScope).eval(&e)
    }

    /// `v.name`, as the console prints it.
    fn attr(v: &Value, name: &str) -> String {
        crate::render::console(v.get_attr(name).expect(name))
    }

    /// `yamldecode(doc)`, the document given as an HCL string.
    fn decode(doc: &str) -> crate::expr::Result<Value> {
        let mut lit = String::new();
        crate::json::quote_into(doc, &mut lit);
        eval(&format!(
            "yamldecode({})",
            lit.replace("${", "$${").replace("%{", "%%{")
        ))
    }

    /// The types `type(yamldecode(...))` prints in terraform console.
    #[test]
    fn sequences_are_tuples_and_mappings_objects() {
        let v = decode("a: [1, x, {b: c}]\nd: {}\ne: []\nf:\ng: |-\n  ~\nh: '1'").unwrap();
        assert_eq!(
            v.ty().to_string(),
            "object({a: tuple([number, string, object({b: string})]), d: object({}), e: tuple([]), f: dynamic, g: string, h: string})"
        );
        assert!(matches!(v.get_attr("g"), Some(Value::Null(Type::String))));
        assert!(matches!(v.get_attr("f"), Some(Value::Null(Type::Dynamic))));
    }

    /// A billion laughs: each alias counts the nodes it repeats, and the
    /// budget stops the document long before it is built.
    #[test]
    fn an_alias_bomb_stops_at_the_work_limit() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i", "j"])
        {
            let refs = vec![format!("*{prev}"); 10].join(", ");
            doc.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        // (the document would hold 10^10 nodes: without the limit this
        // would not end)
        let e = decode(&doc).unwrap_err();
        assert_eq!(e.summary, "Evaluation limit", "{e}");
        // try() does not take a limit for a failure
        let mut lit = String::new();
        crate::json::quote_into(&doc, &mut lit);
        let e = eval(&format!("try(yamldecode({lit}), 1)")).unwrap_err();
        assert_eq!(e.summary, "Evaluation limit", "{e}");
        // the same aliases, fewer of them, are fine
        let small = decode("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]").unwrap();
        assert_eq!(
            crate::json::encode(small.get_attr("c").unwrap())
                .unwrap()
                .matches('x')
                .count(),
            8
        );
    }

    /// Nesting past the evaluator's depth limit is refused, not recursed
    /// into: flow and block collections alike.
    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        for doc in [
            "[".repeat(100_000),
            "{a: ".repeat(100_000),
            (0..2_000)
                .map(|i| format!("{}- \n", " ".repeat(i * 2)))
                .collect(),
        ] {
            let e = decode(&doc).unwrap_err();
            assert_eq!(e.summary, "Evaluation limit", "{e}");
            assert!(e.detail.contains("nests more than"), "{e}");
        }
        // as deep as the limit allows is fine
        let ok = format!("{}1{}", "[".repeat(500), "]".repeat(500));
        assert!(decode(&ok).is_ok());
    }

    /// A 10 MB document decodes whole, within the evaluation's limits
    /// (how fast is for a benchmark to say: a timed assertion here failed
    /// on a busy machine).
    #[test]
    fn a_big_document_decodes() {
        let mut doc = String::with_capacity(10 << 20);
        let mut n = 0;
        while doc.len() < 10 << 20 {
            doc.push_str(&format!("k{n}: {{name: item-{n}, size: {n}, on: yes}}\n"));
            n += 1;
        }
        let v = decode(&doc).unwrap();
        assert_eq!(v.len(), Some(n));
        assert_eq!(attr(v.get_attr("k7").unwrap(), "true"), "true");
    }

    /// A sensitive document gives a sensitive value, and its errors do not
    /// quote it; an unknown one gives an unknown value.
    #[test]
    fn marks_and_unknowns_carry_through() {
        let v = eval(r#"yamldecode(sensitive("a: hunter2"))"#).unwrap();
        assert!(matches!(v, Value::Sensitive(_)));
        assert_eq!(attr(&v.unmark_deep().0, "a"), "\"hunter2\"");
        for src in [
            r#"yamldecode(sensitive("a: !!int hunter2"))"#,
            r#"yamldecode(sensitive("hunter2: [1"))"#,
            r#"yamldecode(sensitive("a: *hunter2"))"#,
        ] {
            let e = eval(src).unwrap_err();
            let text = format!("{}: {}", e.summary, e.detail);
            assert!(!text.contains("hunter2"), "{src}: {text}");
            assert!(text.contains("sensitive argument"), "{src}: {text}");
        }
        let plain = eval(r#"yamldecode("a: !!int hunter2")"#).unwrap_err();
        assert!(plain.detail.contains("hunter2"), "{plain}");
        let e = rewind_parse::hcl::parse_expression("yamldecode(x)")
            .unwrap()
            .canonical();
        struct Unknown;
        impl crate::expr::Scope for Unknown {
            fn resolve(
                &self,
                _: &str,
                _: &[rewind_model::expr::TravOp],
                _: &mut Evaluator,
            ) -> crate::expr::Result<(Value, usize)> {
                Ok((Value::Unknown(Type::String), 0))
            }
        }
        let v = Evaluator::new(&Unknown).eval(&e).unwrap();
        assert!(matches!(v, Value::Unknown(Type::Dynamic)));
    }

    /// Inputs on which the parser crate panics (a block scalar or an
    /// escape at the very end, a tag a comma ends) give values or errors.
    #[test]
    fn inputs_at_the_parser_edges_do_not_panic() {
        assert_eq!(attr(&decode("a: |\n  x").unwrap(), "a"), "\"x\"");
        assert_eq!(attr(&decode("a: |+\n  x").unwrap(), "a"), "\"x\"");
        assert_eq!(
            attr(&decode("- a: |-\n    x").unwrap().as_seq().unwrap()[0], "a"),
            "\"x\""
        );
        for doc in [
            "a: \"x\\",
            "[!x, y]",
            "{a: !!str, b: 1}",
            "[!<tag:yaml.org,2002:str>, y]",
        ] {
            let e = decode(doc).unwrap_err();
            assert_eq!(e.summary, "Error in function call", "{doc}: {e}");
        }
    }
}
