//! What one fuzz input must satisfy: parsing it never panics, an error
//! names a real line and column, and what parses survives the parse cache
//! and the canonical printer unchanged.

use rewind_parse::hcl::{parse_body_bytes, parse_expression, print_expr, Body, Expr, Item};
use rewind_parse::load::parse_bytes;
use rewind_parse::{FileKind, Parsed};

/// The kinds of input the fuzzer feeds, by file name.
pub fn kind_of(name: &str) -> Option<FileKind> {
    match FileKind::of(name)? {
        k @ (FileKind::Tf
        | FileKind::TfJson
        | FileKind::Tfvars
        | FileKind::TfvarsJson
        | FileKind::State) => Some(k),
        _ => None,
    }
}

/// The file name extension of a kind, for saved inputs.
pub fn extension(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Tf => "tf",
        FileKind::TfJson => "tf.json",
        FileKind::Tfvars => "tfvars",
        FileKind::TfvarsJson => "tfvars.json",
        FileKind::State => "tfstate",
        _ => "bin",
    }
}

/// What happened to one input.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Parsed,
    /// Rejected with this error (`line:col: message`).
    Rejected(String),
}

/// Runs every parser `kind` goes through on `bytes` and checks the
/// properties. `Err` describes a broken property (a panic is caught by the
/// caller).
pub fn exercise(bytes: &[u8], kind: FileKind) -> Result<Verdict, String> {
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    match parse_bytes(bytes, kind, "input") {
        Err(d) => {
            if d.loc.line == 0 || d.loc.col == 0 || d.loc.line > lines {
                return Err(format!(
                    "error at {}:{} outside the input ({lines} lines): {}",
                    d.loc.line, d.loc.col, d.message
                ));
            }
            Ok(Verdict::Rejected(format!(
                "{}:{}: {}",
                d.loc.line, d.loc.col, d.message
            )))
        }
        Ok(parsed) => {
            let encoded = parsed.encode();
            match Parsed::decode(&encoded) {
                Ok(back) if back == parsed => {}
                Ok(_) => return Err("the parse cache decodes a different result".into()),
                Err(e) => {
                    return Err(format!(
                        "the parse cache cannot decode its own encoding: {e}"
                    ))
                }
            }
            // a damaged cache entry is an error, never a panic
            let mut damaged = encoded;
            if !damaged.is_empty() {
                let i = bytes.len() % damaged.len();
                damaged[i] ^= 0x5a;
                let _ = Parsed::decode(&damaged);
                damaged.truncate(damaged.len() / 2);
                let _ = Parsed::decode(&damaged);
            }
            if kind == FileKind::Tf || kind == FileKind::Tfvars {
                let (_, body) = parse_body_bytes(bytes);
                let body = body.map_err(|e| {
                    format!(
                        "parse_bytes accepted what parse_body rejects: {}",
                        e.message
                    )
                })?;
                check_printing(&body)?;
            }
            Ok(Verdict::Parsed)
        }
    }
}

/// Every expression's canonical text parses back to the same text: the
/// canonical text is what diffs compare and what the store keeps.
fn check_printing(body: &Body) -> Result<(), String> {
    for item in &body.items {
        match item {
            Item::Attribute(a) => check_expr(&a.expr)?,
            Item::Block(b) => check_printing(&b.body)?,
        }
    }
    Ok(())
}

fn check_expr(e: &Expr) -> Result<(), String> {
    let text = print_expr(e);
    let again = match parse_expression(&text) {
        Ok(again) => again,
        // canonical text may add the parentheses of an object key: an
        // expression at the very limit of the parser's depth can then go
        // one level over it, and nothing reads canonical text back but
        // this check
        Err(err) if err.message.contains("nested too deeply") => return Ok(()),
        Err(err) => {
            return Err(format!(
                "canonical text {text:?} does not parse: {}",
                err.message
            ))
        }
    };
    let second = print_expr(&again);
    if second != text {
        return Err(format!(
            "canonical text is not stable: {text:?} prints back as {second:?}"
        ));
    }
    Ok(())
}
