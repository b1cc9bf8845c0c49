//! Terraform's JSON configuration syntax (`.tf.json`, `.tfvars.json`).
//!
//! A small JSON parser that keeps byte offsets (so nodes and errors get a
//! line and column), and the translation of Terraform's JSON structure into
//! the same syntax tree the native parser produces: strings are templates
//! (`"${var.x}"`), and the meta-arguments that Terraform reads as
//! expressions (`depends_on`, `provider`, `type`, `ignore_changes`,
//! `replace_triggered_by`, `from`, `to`...) are parsed as expressions.

use crate::hcl::{parse_expression, parse_template, Attribute, Block, Body, Expr, Item, Part};

/// A JSON value with the byte offset where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct J {
    pub pos: u32,
    /// Byte offset just after the value.
    pub end: u32,
    pub v: JV,
}

#[derive(Clone, Debug, PartialEq)]
pub enum JV {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<J>),
    /// Members in order (duplicates kept; Terraform merges them).
    Object(Vec<(String, u32, J)>),
}

/// An error: byte offset and message.
pub(crate) type JErr = (u32, String);

pub fn parse_json(src: &str) -> Result<J, JErr> {
    let mut p = JP {
        b: src.as_bytes(),
        src,
        pos: 0,
        depth: 0,
    };
    if src.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.pos < p.b.len() {
        return Err((p.pos as u32, "unexpected text after the JSON value".into()));
    }
    Ok(v)
}

struct JP<'a> {
    b: &'a [u8],
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl JP<'_> {
    fn ws(&mut self) {
        while self.pos < self.b.len() && matches!(self.b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }
    fn err<T>(&self, m: impl Into<String>) -> Result<T, JErr> {
        Err((self.pos as u32, m.into()))
    }
    fn value(&mut self) -> Result<J, JErr> {
        let pos = self.pos as u32;
        self.depth += 1;
        if self.depth > 2000 {
            return self.err("JSON nested too deeply");
        }
        let v = match self.b.get(self.pos) {
            None => return self.err("unexpected end of JSON"),
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => JV::String(self.string()?),
            Some(b't') if self.b[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                JV::Bool(true)
            }
            Some(b'f') if self.b[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                JV::Bool(false)
            }
            Some(b'n') if self.b[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                JV::Null
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => self.number()?,
            Some(_) => return self.err("expected a JSON value"),
        };
        self.depth -= 1;
        Ok(J {
            pos,
            end: self.pos as u32,
            v,
        })
    }
    /// An object, at its `{`: members in order, each with its key's
    /// position; a trailing comma is an error at the comma.
    fn object(&mut self) -> Result<JV, JErr> {
        self.pos += 1;
        let mut members = Vec::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
        } else {
            let mut comma: Option<usize> = None;
            loop {
                self.ws();
                let kpos = self.pos as u32;
                if self.b.get(self.pos) == Some(&b'}') {
                    if let Some(c) = comma {
                        return Err((c as u32, "trailing comma in the JSON object".into()));
                    }
                }
                if self.b.get(self.pos) != Some(&b'"') {
                    return self.err("expected a string key in the JSON object");
                }
                let k = self.string()?;
                self.ws();
                if self.b.get(self.pos) != Some(&b':') {
                    return self.err("expected ':' after the JSON object key");
                }
                self.pos += 1;
                self.ws();
                let v = self.value()?;
                members.push((k, kpos, v));
                self.ws();
                match self.b.get(self.pos) {
                    Some(b',') => {
                        comma = Some(self.pos);
                        self.pos += 1;
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    None => return self.err("unexpected end of JSON: unclosed object"),
                    _ => return self.err("expected ',' or '}' in the JSON object"),
                }
            }
        }
        Ok(JV::Object(members))
    }
    /// An array, at its `[`.
    fn array(&mut self) -> Result<JV, JErr> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.b.get(self.pos) == Some(&b']') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                if self.b.get(self.pos) == Some(&b']') && !items.is_empty() {
                    return self.err("trailing comma in the JSON array");
                }
                items.push(self.value()?);
                self.ws();
                match self.b.get(self.pos) {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    None => return self.err("unexpected end of JSON: unclosed array"),
                    _ => return self.err("expected ',' or ']' in the JSON array"),
                }
            }
        }
        Ok(JV::Array(items))
    }
    /// A number, kept as its text (checked to be one).
    fn number(&mut self) -> Result<JV, JErr> {
        let start = self.pos;
        self.pos += 1;
        while self.pos < self.b.len()
            && matches!(
                self.b[self.pos],
                b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'
            )
        {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        if text.parse::<f64>().is_err() {
            return Err((start as u32, format!("invalid JSON number {text:?}")));
        }
        Ok(JV::Number(text.to_string()))
    }
    fn string(&mut self) -> Result<String, JErr> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return Err((start as u32, "unterminated JSON string".into()));
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let e = self.b.get(self.pos + 1).copied();
                    self.pos += 2;
                    match e {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.b[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let lo = self.hex4()?;
                                let c = 0x10000
                                    + ((cp - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3ff);
                                out.push(char::from_u32(c).unwrap_or('\u{fffd}'));
                            } else {
                                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                            }
                        }
                        _ => {
                            return Err((
                                self.pos as u32 - 2,
                                "invalid escape in JSON string".into(),
                            ))
                        }
                    }
                }
                c if c < 0x20 => return self.err("control character in JSON string"),
                _ => {
                    let run = self.pos;
                    while self.pos < self.b.len()
                        && !matches!(self.b[self.pos], b'"' | b'\\')
                        && self.b[self.pos] >= 0x20
                    {
                        self.pos += 1;
                    }
                    out.push_str(&self.src[run..self.pos]);
                }
            }
        }
    }
    fn hex4(&mut self) -> Result<u32, JErr> {
        let s = self
            .src
            .get(self.pos..self.pos + 4)
            .ok_or((self.pos as u32, "incomplete \\u escape".to_string()))?;
        let v = u32::from_str_radix(s, 16)
            .map_err(|_| (self.pos as u32, "invalid \\u escape".to_string()))?;
        self.pos += 4;
        Ok(v)
    }
}

/// Plain JSON to a literal expression (for `.tfvars.json`: no templates).
pub(crate) fn json_literal(j: &J) -> Expr {
    match &j.v {
        JV::Null => Expr::Null,
        JV::Bool(b) => Expr::Bool(*b),
        JV::Number(n) => Expr::Number(n.clone()),
        JV::String(s) => Expr::Template(vec![Part::Lit(s.clone())]),
        JV::Array(a) => Expr::Tuple(a.iter().map(json_literal).collect()),
        JV::Object(m) => Expr::Object(
            m.iter()
                .map(|(k, _, v)| (Expr::Template(vec![Part::Lit(k.clone())]), json_literal(v)))
                .collect(),
        ),
    }
}

/// How many labels each top-level block type takes in JSON syntax.
fn label_count(ty: &str) -> Option<usize> {
    Some(match ty {
        "resource" | "data" | "ephemeral" | "action" => 2,
        "module" | "variable" | "output" | "provider" | "check" => 1,
        "locals" | "terraform" | "moved" | "removed" | "import" => 0,
        _ => return None,
    })
}

/// Keys of a body that are nested blocks rather than attributes.
fn nested_block_labels(parent: &str, key: &str) -> Option<usize> {
    Some(match (parent, key) {
        (_, "lifecycle") | (_, "connection") => 0,
        (_, "provisioner") | (_, "dynamic") => 1,
        (_, "precondition") | (_, "postcondition") => 0,
        ("variable", "validation") => 0,
        ("check", "assert") => 0,
        ("check", "data") => 2,
        ("terraform", "backend" | "state_store" | "provider_meta") => 1,
        ("terraform", "cloud") | ("terraform", "required_providers") => 0,
        ("action", "config") | ("lifecycle", "action_trigger") => 0,
        ("dynamic", "content") => 0,
        _ => return None,
    })
}

/// Attributes whose JSON strings are expressions, not templates.
fn is_expression_attr(parent: &str, key: &str) -> bool {
    matches!(
        (parent, key),
        (_, "depends_on")
            | (
                "resource" | "data" | "ephemeral" | "import" | "action",
                "provider"
            )
            | ("variable" | "output", "type")
            | ("provisioner", "when" | "on_failure")
            | ("action_trigger", "events" | "actions")
            | ("lifecycle", "ignore_changes")
            | ("lifecycle", "replace_triggered_by")
            | ("moved", "from")
            | ("moved", "to")
            | ("removed", "from")
            | ("import", "to")
            | ("module", "providers")
    )
}

/// Translates a `.tf.json` document into a native syntax tree.
pub(crate) fn json_config(root: &J, src: &str) -> Result<Body, JErr> {
    let JV::Object(members) = &root.v else {
        return Err((
            root.pos,
            "a .tf.json file must contain a JSON object".into(),
        ));
    };
    let _ = src;
    let mut body = Body::default();
    for (ty, kpos, v) in members {
        if ty == "//" {
            continue;
        }
        let Some(n) = label_count(ty) else {
            return Err((*kpos, format!("unsupported block type {ty:?}")));
        };
        for (labels, pos, content) in expand_labels(v, n, ty)? {
            for one in bodies(content, ty)? {
                body.items.push(Item::Block(Block {
                    ty: ty.clone(),
                    labels: labels.clone(),
                    body: json_body(one, ty)?,
                    pos,
                    open: one.pos,
                }));
            }
        }
    }
    Ok(body)
}

/// Walks `n` levels of label objects: `{"aws_vpc": {"main": {...}}}`.
#[allow(clippy::type_complexity)]
fn expand_labels<'a>(v: &'a J, n: usize, ty: &str) -> Result<Vec<(Vec<String>, u32, &'a J)>, JErr> {
    if n == 0 {
        return Ok(vec![(Vec::new(), v.pos, v)]);
    }
    let items: Vec<&J> = match &v.v {
        JV::Array(a) => a.iter().collect(),
        _ => vec![v],
    };
    let mut out = Vec::new();
    for item in items {
        let JV::Object(members) = &item.v else {
            return Err((item.pos, format!("expected a JSON object of {ty:?} labels")));
        };
        for (label, kpos, inner) in members {
            if label == "//" {
                continue;
            }
            for (mut rest, pos, content) in expand_labels(inner, n - 1, ty)? {
                rest.insert(0, label.clone());
                let p = if n == 1 { *kpos } else { pos };
                out.push((rest, p, content));
            }
        }
    }
    Ok(out)
}

/// A block's content: one object, or an array of objects (repeated blocks).
fn bodies<'a>(v: &'a J, ty: &str) -> Result<Vec<&'a J>, JErr> {
    match &v.v {
        JV::Object(_) => Ok(vec![v]),
        JV::Array(items) => {
            for i in items {
                if !matches!(i.v, JV::Object(_)) {
                    return Err((
                        i.pos,
                        format!("expected a JSON object for the {ty:?} block"),
                    ));
                }
            }
            Ok(items.iter().collect())
        }
        _ => Err((
            v.pos,
            format!(
                "expected a JSON object for the {ty:?} block, found {}",
                kind_name(&v.v)
            ),
        )),
    }
}

fn kind_name(v: &JV) -> &'static str {
    match v {
        JV::Null => "null",
        JV::Bool(_) => "a boolean",
        JV::Number(_) => "a number",
        JV::String(_) => "a string",
        JV::Array(_) => "an array",
        JV::Object(_) => "an object",
    }
}

fn json_body(v: &J, ty: &str) -> Result<Body, JErr> {
    let JV::Object(members) = &v.v else {
        return Err((
            v.pos,
            format!("expected a JSON object for the {ty:?} block"),
        ));
    };
    let mut body = Body::default();
    for (key, kpos, val) in members {
        if key == "//" {
            continue;
        }
        if let Some(n) = nested_block_labels(ty, key) {
            for (labels, pos, content) in expand_labels(val, n, key)? {
                for one in bodies(content, key)? {
                    body.items.push(Item::Block(Block {
                        ty: key.clone(),
                        labels: labels.clone(),
                        body: json_body(one, key)?,
                        pos,
                        open: one.pos,
                    }));
                }
            }
            continue;
        }
        let expr = if is_expression_attr(ty, key) {
            json_expression(val)?
        } else {
            json_template_expr(val)?
        };
        body.items.push(Item::Attribute(Attribute {
            name: key.clone(),
            expr,
            pos: *kpos,
            end: val.end,
        }));
    }
    Ok(body)
}

/// A JSON value where strings are templates.
fn json_template_expr(j: &J) -> Result<Expr, JErr> {
    Ok(match &j.v {
        JV::Null => Expr::Null,
        JV::Bool(b) => Expr::Bool(*b),
        JV::Number(n) => Expr::Number(n.clone()),
        JV::String(s) => {
            let parts = parse_template(s)
                .map_err(|e| (j.pos + 1 + e.offset, format!("in template: {}", e.message)))?;
            Expr::Template(parts)
        }
        JV::Array(a) => Expr::Tuple(a.iter().map(json_template_expr).collect::<Result<_, _>>()?),
        JV::Object(m) => {
            let mut items = Vec::new();
            for (k, kpos, v) in m {
                if k == "//" {
                    continue;
                }
                let key = parse_template(k).map_err(|e| {
                    (
                        *kpos + 1 + e.offset,
                        format!("in object key: {}", e.message),
                    )
                })?;
                items.push((Expr::Template(key), json_template_expr(v)?));
            }
            Expr::Object(items)
        }
    })
}

/// A JSON value where strings are expressions (`"aws_vpc.main"`).
fn json_expression(j: &J) -> Result<Expr, JErr> {
    Ok(match &j.v {
        JV::String(s) => {
            // Terraform also accepts a template wrapping the expression.
            let text = s.trim();
            let text = text
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .unwrap_or(text);
            parse_expression(text).map_err(|e| {
                (
                    j.pos + 1 + e.offset,
                    format!("in expression: {}", e.message),
                )
            })?
        }
        JV::Array(a) => Expr::Tuple(a.iter().map(json_expression).collect::<Result<_, _>>()?),
        JV::Object(m) => {
            let mut items = Vec::new();
            for (k, kpos, v) in m {
                let key = parse_expression(k).map_err(|e| (*kpos + 1 + e.offset, e.message))?;
                items.push((key, json_expression(v)?));
            }
            Expr::Object(items)
        }
        _ => json_template_expr(j)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hcl::{parse_body, print_expr, to_value};

    #[test]
    fn json_and_hcl_agree() {
        let json = r#"{
          "resource": {"aws_instance": {"web": {
            "ami": "ami-123",
            "count": 2,
            "subnet_id": "${aws_subnet.a.id}",
            "tags": {"Name": "web-${var.env}"},
            "depends_on": ["aws_vpc.main"],
            "lifecycle": {"create_before_destroy": true, "ignore_changes": ["tags"]}
          }}},
          "//": "a comment"
        }"#;
        let hcl = "resource \"aws_instance\" \"web\" {\n  ami = \"ami-123\"\n  count = 2\n  subnet_id = aws_subnet.a.id\n  tags = { Name = \"web-${var.env}\" }\n  depends_on = [aws_vpc.main]\n  lifecycle {\n    create_before_destroy = true\n    ignore_changes = [tags]\n  }\n}\n";
        let jb = json_config(&parse_json(json).unwrap(), json).unwrap();
        let hb = parse_body(hcl).unwrap();
        let jblk = jb.blocks().next().unwrap();
        let hblk = hb.blocks().next().unwrap();
        assert_eq!(jblk.labels, hblk.labels);
        for a in hblk.body.attributes() {
            let ja = jblk.body.attribute(&a.name).unwrap();
            assert_eq!(to_value(&ja.expr), to_value(&a.expr), "{}", a.name);
            assert_eq!(print_expr(&ja.expr), print_expr(&a.expr));
        }
    }

    #[test]
    fn json_errors_have_positions() {
        let src = "{\n  \"resource\": {\n    \"a\": 1,\n  }\n}";
        let e = parse_json(src).unwrap_err();
        assert_eq!(e.0, 28); // the trailing comma
        assert!(e.1.contains("trailing comma"));
        let src = "{\"resource\": \"oops\"}";
        let e = json_config(&parse_json(src).unwrap(), src).unwrap_err();
        assert!(e.1.contains("expected a JSON object"), "{}", e.1);
        assert!(parse_json("{\"a\": tru}").is_err());
        assert!(parse_json("{\"a\": \"x").is_err());
    }
}
