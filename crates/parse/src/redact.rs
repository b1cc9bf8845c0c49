//! Keeping secrets out of text: the byte ranges of a file that hold secret
//! values (for `diff --files`, which shows file text), and source lines
//! and messages as errors may quote them.
//!
//! Ranges come from the syntax tree, not from searching for the values:
//! a secret written as a heredoc, with escapes, in a template, split over
//! a `join()`, after `$${`, or as JSON `\u00e9` escapes is still the value
//! of one attribute, and the whole of that attribute's expression is
//! redacted. Nothing outside those ranges is touched.

use std::collections::HashMap;
use std::ops::Range;

use rewind_model::{Node, NodeKind, Path};

use crate::hcl::{parse_body, Body, Expr, LineIndex};
use crate::json::{json_config, parse_json, JV};
use crate::load::{is_secret_name, FileKind};

/// What a redacted value reads as in file text.
pub const REDACTED: &str = "(sensitive)";

/// The byte ranges of `text` (the file `path`) that hold secret values,
/// sorted and disjoint. `nodes` are the nodes of a model written in that
/// file (configuration nodes and the file's tfvars node); without them
/// only arguments named like secrets are found. `None`: the file's values
/// cannot be told apart (a state file, or text that does not parse), so
/// none of it may be shown.
pub fn secret_ranges(path: &str, text: &str, nodes: &[&Node]) -> Option<Vec<Range<usize>>> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let kind = FileKind::of(name)?;
    let mut out = Vec::new();
    match kind {
        FileKind::Tf | FileKind::Tfvars => {
            let body = parse_body(text).ok()?;
            body_file(text, &body, kind, nodes, &mut out);
        }
        FileKind::TfJson => {
            let j = parse_json(text).ok()?;
            let body = json_config(&j, text).ok()?;
            body_file(text, &body, kind, nodes, &mut out);
        }
        FileKind::TfvarsJson => {
            let j = parse_json(text).ok()?;
            let JV::Object(members) = &j.v else {
                return None;
            };
            let tfvars = nodes.iter().find(|n| n.kind == NodeKind::Tfvars);
            for (k, _, v) in members {
                let p = Path::root().key(k);
                if is_secret_name(k) || tfvars.is_some_and(|n| n.is_sensitive_path(&p)) {
                    out.push(v.pos as usize..v.end as usize);
                }
            }
        }
        FileKind::State => return None,
        FileKind::ModulesJson | FileKind::LockFile | FileKind::Template => {}
    }
    Some(merge(out))
}

/// `text` with every range replaced by [`REDACTED`] (a range over several
/// lines keeps its line breaks, so line numbers stay those of the file).
pub fn redact(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        if r.start < at || r.end > text.len() {
            continue;
        }
        out.push_str(&text[at..r.start]);
        out.push_str(REDACTED);
        for _ in text[r.clone()].matches('\n') {
            out.push('\n');
        }
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The secret ranges of a configuration or variable file's syntax tree.
fn body_file(
    text: &str,
    body: &Body,
    kind: FileKind,
    nodes: &[&Node],
    out: &mut Vec<Range<usize>>,
) {
    let idx = LineIndex::new(text);
    let mut at: HashMap<(u32, u32), Vec<&Node>> = HashMap::new();
    for n in nodes {
        at.entry((n.loc.line, n.loc.col)).or_default().push(n);
    }
    let none: Vec<&Node> = Vec::new();
    // top-level attributes: assignments of a variable file
    let tfvars: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| n.kind == NodeKind::Tfvars)
        .collect();
    for a in body.attributes() {
        let p = Path::root().key(&a.name);
        let secret = kind == FileKind::Tfvars && tfvars.iter().any(|n| n.is_sensitive_path(&p));
        if secret || (is_secret_name(&a.name) && !trivial(&a.expr)) {
            out.extend(value_range(text, a.pos, a.end));
        }
    }
    for b in body.blocks() {
        if b.ty == "locals" {
            for a in b.body.attributes() {
                let ns = at.get(&idx.locate(a.pos)).unwrap_or(&none);
                let secret = ns.iter().any(|n| !n.sensitive.is_empty());
                if secret || (is_secret_name(&a.name) && !trivial(&a.expr)) {
                    out.extend(value_range(text, a.pos, a.end));
                }
            }
            continue;
        }
        let ns = at.get(&idx.locate(b.pos)).unwrap_or(&none);
        if ns.iter().any(|n| n.is_sensitive()) {
            all_values(text, &b.body, out);
        } else {
            let nodes_at =
                |pos: u32| -> &[&Node] { at.get(&idx.locate(pos)).map_or(&[], Vec::as_slice) };
            block_body(text, &b.body, &Path::root(), ns, &nodes_at, out);
        }
    }
}

/// A literal that cannot hold a secret (`null`, `true`, `false`).
fn trivial(e: &Expr) -> bool {
    matches!(e, Expr::Null | Expr::Bool(_))
}

/// The secret ranges inside a block body whose value paths start at
/// `prefix` in the nodes `ns`; `nodes_at` gives the nodes a nested block
/// is of itself (a `check` block's data source), by its position.
fn block_body<'n>(
    text: &str,
    body: &Body,
    prefix: &Path,
    ns: &[&Node],
    nodes_at: &dyn Fn(u32) -> &'n [&'n Node],
    out: &mut Vec<Range<usize>>,
) {
    for a in body.attributes() {
        let p = prefix.key(&a.name);
        if ns.iter().any(|n| n.is_sensitive_path(&p))
            || (is_secret_name(&a.name) && !trivial(&a.expr))
        {
            out.extend(value_range(text, a.pos, a.end));
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for b in body.blocks() {
        let i = seen.entry(b.ty.as_str()).or_default();
        let list = prefix.key(&b.ty);
        if b.labels.is_empty() {
            let p = list.index(*i);
            *i += 1;
            if ns
                .iter()
                .any(|n| n.sensitive.iter().any(|s| s.is_prefix_of(&p)))
            {
                all_values(text, &b.body, out);
            } else {
                block_body(text, &b.body, &p, ns, nodes_at, out);
            }
        } else if ns
            .iter()
            .any(|n| n.is_sensitive_path(&list) || n.sensitive.iter().any(|s| list.is_prefix_of(s)))
        {
            // labelled nested blocks (provisioners, dynamic blocks, a
            // check's data source): what is secret in any of them hides
            // all of them
            all_values(text, &b.body, out);
        } else {
            // a nested block that is a node of its own: its secret paths
            let own = nodes_at(b.pos);
            if own.iter().any(|n| n.is_sensitive()) {
                all_values(text, &b.body, out);
            } else {
                block_body(text, &b.body, &Path::root(), own, nodes_at, out);
            }
        }
    }
}

/// Every value of a body (a block that is secret as a whole).
fn all_values(text: &str, body: &Body, out: &mut Vec<Range<usize>>) {
    for a in body.attributes() {
        out.extend(value_range(text, a.pos, a.end));
    }
    for b in body.blocks() {
        all_values(text, &b.body, out);
    }
}

/// The range of an attribute's value: from after its `=` (or `:` in
/// JSON) and the blanks after it, to the end of its expression.
fn value_range(text: &str, pos: u32, end: u32) -> Option<Range<usize>> {
    let b = text.as_bytes();
    let mut i = pos as usize;
    if b.get(i) == Some(&b'"') {
        // a JSON key: to its closing quote
        i += 1;
        while i < b.len() && b[i] != b'"' {
            i += if b[i] == b'\\' { 2 } else { 1 };
        }
        i += 1;
    } else {
        while i < b.len() && !matches!(b[i], b'=' | b' ' | b'\t') {
            i += 1;
        }
    }
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    if !matches!(b.get(i), Some(b'=' | b':')) {
        return None;
    }
    i += 1;
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    let mut e = (end as usize).min(b.len());
    while e > i && matches!(b[e - 1], b' ' | b'\t' | b'\r' | b'\n') {
        e -= 1;
    }
    (e > i).then_some(i..e)
}

/// Files that hold values rather than code: every value in them may be a
/// secret (state files, variable files).
pub(crate) fn is_secret_file(path: &str) -> bool {
    path.ends_with(".tfstate")
        || path.ends_with(".tfstate.backup")
        || path.ends_with(".tfvars")
        || path.ends_with(".tfvars.json")
}

/// Whether a line assigns a name like a secret anywhere: as its argument
/// (`password = ...`, `"password": ...`) or as a key of an object written
/// on it (`input = { password = "..." }`). It reads text, not syntax (it
/// is asked about lines that did not parse): every `=` or `:` that is not
/// part of an operator (`==`, `=>`, `::`...) is taken for an assignment of
/// the word or quoted string before it.
fn assigns_secret_name(line: &str) -> bool {
    let b = line.as_bytes();
    (0..b.len()).any(|i| {
        let op = |j: usize| b.get(j).is_some_and(|c| b"=!<>:".contains(c));
        let sep = matches!(b[i], b'=' | b':') && !op(i + 1) && !(i > 0 && op(i - 1));
        if !sep {
            return false;
        }
        let before = line[..i].trim_end();
        let name = match before.strip_suffix('"') {
            Some(quoted) => quoted.rsplit('"').next().unwrap_or(""),
            None => {
                let name_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                let start =
                    before.len() - before.chars().rev().take_while(|&c| name_char(c)).count();
                &before[start..]
            }
        };
        !name.is_empty() && is_secret_name(name)
    })
}

/// Line `line` (1-based) of `src`, the file `file`, as an error may quote
/// it: in a file of values, on a line that assigns an argument named like
/// a secret, or inside a block that declares `sensitive = true`,
/// everything after the assigned name is replaced by `(redacted)`; the
/// position is still given.
pub(crate) fn redact_source_line(file: &str, src: &str, line: u32) -> String {
    let text = LineIndex::new(src).line_text(line);
    let secret = is_secret_file(file)
        || assigns_secret_name(text)
        || text.contains("sensitive(")
        || text.contains("<<")
        || in_sensitive_block(src, line);
    if !secret {
        return text.to_string();
    }
    match text.find(['=', ':']) {
        Some(sep) => format!("{} (redacted)", &text[..=sep]),
        None => {
            let indent = text.len() - text.trim_start().len();
            format!("{}(redacted)", &text[..indent])
        }
    }
}

/// Whether line `line` of `src` lies in a top-level block (from a line
/// that starts at column 1 to the next) that declares `sensitive = true`.
/// It reads lines, not syntax: it is asked about text that did not parse.
fn in_sensitive_block(src: &str, line: u32) -> bool {
    let lines: Vec<&str> = src.lines().collect();
    let at = (line as usize).saturating_sub(1).min(lines.len());
    let top = |l: &str| l.starts_with(|c: char| c.is_ascii_alphabetic());
    let start = (0..=at.min(lines.len().saturating_sub(1)))
        .rev()
        .find(|&i| lines.get(i).is_some_and(|l| top(l)))
        .unwrap_or(0);
    let end = (start + 1..lines.len())
        .find(|&i| top(lines[i]))
        .unwrap_or(lines.len());
    lines[start.min(end)..end].iter().any(|l| {
        let l: String = l.chars().filter(|c| !c.is_whitespace()).collect();
        l.starts_with("sensitive=true") || l.starts_with("\"sensitive\":true")
    })
}

/// An error message with the values it quotes removed (`invalid type:
/// string "s3cr3t", expected u64` from a state file's JSON reader).
pub(crate) fn redact_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find('"') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        // to the closing quote (a backslash escapes the next character)
        let mut end = rest.len();
        let mut esc = false;
        for (j, c) in rest.char_indices() {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                end = j;
                break;
            }
        }
        out.push_str("...");
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix('"') {
            out.push('"');
            rest = r;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_of_value_files_are_redacted() {
        assert_eq!(
            redact_source_line("prod.tfvars", "db_password = \"hunter22\" \"", 1),
            "db_password = (redacted)"
        );
        assert_eq!(
            redact_source_line(
                "terraform.tfstate",
                "{\n      \"password\": \"hunter22\" x",
                2
            ),
            "      \"password\": (redacted)"
        );
        let tf = "resource \"x\" \"y\" {\n  password = ) \"hunter22\"\n  ami = ) \"ami-123\"\n}\nvariable \"v\" {\n  sensitive = true\n  default = \"hunter22\" +\n}\n";
        assert_eq!(
            redact_source_line("main.tf", tf, 2),
            "  password = (redacted)"
        );
        assert_eq!(
            redact_source_line("main.tf", tf, 7),
            "  default = (redacted)"
        );
        // a key of an object, a JSON key, a camel-case name, a marked value
        for (line, kept) in [
            ("  input = { password = \"hunter22\" + }", "  input ="),
            ("  input = { \"dbPassword\": \"hunter22\" + }", "  input ="),
            ("  input = [\"a\", sensitive(\"hunter22\") +]", "  input ="),
            (
                "  tags = { Name = \"x\", api-token = \"hunter22\" ) }",
                "  tags =",
            ),
            ("  tags = { é😀password = \"hunter22\" ) }", "  tags ="),
        ] {
            let src = format!("resource \"x\" \"y\" {{\n{line}\n}}\n");
            assert_eq!(
                redact_source_line("main.tf", &src, 2),
                format!("{kept} (redacted)")
            );
        }
        // comparisons and arrows are not assignments
        let ops = "  count = var.token == \"\" ? 0 : 1 )";
        let src = format!("resource \"x\" \"y\" {{\n{ops}\n}}\n");
        assert_eq!(redact_source_line("main.tf", &src, 2), ops);
        // other lines of code are quoted as they are
        assert_eq!(
            redact_source_line("main.tf", tf, 3),
            "  ami = ) \"ami-123\""
        );
        assert_eq!(
            redact_quoted_values("invalid type: string \"hun\\\"ter\", expected u64"),
            "invalid type: string \"...\", expected u64"
        );
    }

    fn redacted(path: &str, text: &str) -> String {
        redact(text, &secret_ranges(path, text, &[]).expect("parses"))
    }

    #[test]
    fn secrets_are_redacted_by_structure() {
        let tf = "resource \"x\" \"y\" {\n  type     = \"string\"\n  password = <<-EOT\n    hunter22\n    EOT\n  secret_name = \"app\"\n  api_key = \"a\\\"b\\u0041c\"\n}\n";
        assert_eq!(
            redacted("main.tf", tf),
            "resource \"x\" \"y\" {\n  type     = \"string\"\n  password = (sensitive)\n\n\n  secret_name = \"app\"\n  api_key = (sensitive)\n}\n"
        );
        let json =
            "{\"resource\": {\"x\": {\"y\": {\"password\": \"\\u00e9abc\", \"name\": \"n\"}}}}";
        assert_eq!(
            redacted("main.tf.json", json),
            "{\"resource\": {\"x\": {\"y\": {\"password\": (sensitive), \"name\": \"n\"}}}}"
        );
        assert!(secret_ranges("terraform.tfstate", "{}", &[]).is_none());
    }
}
