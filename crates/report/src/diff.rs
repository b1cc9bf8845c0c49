//! A semantic diff as text (Terraform's visual language), JSON and Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewind_diff::{AttrChange, AttrOp, ChangeKind, Diff, FileChange, NodeChange};
use rewind_model::Value;
use serde_json::{json, Value as J};

use crate::budget::{Fit, MarkdownOptions};
use crate::style::{self, Style};

/// Format version of the diff JSON document (docs/diff-json.md).
pub const DIFF_FORMAT_VERSION: &str = "1";

/// One side of the comparison, as shown.
#[derive(Clone, Debug, Default)]
pub struct SideInfo {
    /// How the version is named (a directory, or tags and a short id).
    pub label: String,
    /// The snapshot's id, for a snapshot.
    pub id: Option<String>,
    /// The snapshot's tags.
    pub tags: Vec<String>,
}

/// Everything a diff report shows.
pub struct DiffReport<'a> {
    /// The older version.
    pub from: SideInfo,
    /// The newer version.
    pub to: SideInfo,
    /// The semantic changes.
    pub diff: &'a Diff,
    /// The changed files, when asked for.
    pub files: Option<Vec<FileChange>>,
}

/// The symbol Terraform would use.
pub(crate) fn symbol(c: &NodeChange) -> &'static str {
    match c.change {
        ChangeKind::Added => "+",
        ChangeKind::Removed => "-",
        ChangeKind::Moved { .. } => "-/+",
        ChangeKind::Changed if c.is_replacement() => "-/+",
        ChangeKind::Changed => "~",
    }
}

// A move that also forces a replacement counts as a replacement: it
// destroys, and the summary's destroys must say so.

/// A short word for the change.
pub(crate) fn word(c: &NodeChange) -> &'static str {
    match c.change {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        _ if c.is_replacement() => "replaced",
        ChangeKind::Moved { .. } => "moved",
        ChangeKind::Changed => "changed",
    }
}

fn paint(st: &Style, c: &NodeChange, s: &str) -> String {
    match symbol(c) {
        "+" => st.green(s),
        "-" => st.red(s),
        "-/+" => st.yellow(s),
        _ => st.yellow(s),
    }
}

/// The longest a value is shown in a text or Markdown line.
const SHOWN: usize = 200;
/// How much of what two long values share is shown before where they
/// differ.
const BEFORE_DIFFERENCE: usize = 60;

fn value_text(v: &Option<Value>) -> String {
    match v {
        Some(v) => window(&v.render(), 0),
        None => "null".into(),
    }
}

/// `s` from char `start` (`...` before it when that is not the start),
/// cut to [`SHOWN`] characters (`...` after).
fn window(s: &str, start: usize) -> String {
    let len = s.chars().count();
    if len <= SHOWN && start == 0 {
        return s.to_string();
    }
    let lead = if start > 0 { "..." } else { "" };
    let room = SHOWN - 3 - lead.len();
    let body: String = s.chars().skip(start).take(room).collect();
    let tail = if start + room < len { "..." } else { "" };
    format!("{lead}{body}{tail}")
}

/// A value before and after, each cut to [`SHOWN`] characters around
/// where they first differ: two long values that differ late are never
/// shown as the same text.
fn values_text(before: &Option<Value>, after: &Option<Value>) -> (String, String) {
    let (Some(b), Some(a)) = (before, after) else {
        return (value_text(before), value_text(after));
    };
    let (b, a) = (b.render(), a.render());
    let first = b.chars().zip(a.chars()).take_while(|(x, y)| x == y).count();
    // the difference within the first line shown: no window needed
    let start = if first < SHOWN - 3 - BEFORE_DIFFERENCE {
        0
    } else {
        first - BEFORE_DIFFERENCE
    };
    (window(&b, start), window(&a, start))
}

/// One attribute line without indentation.
pub(crate) fn attr_line(a: &AttrChange) -> String {
    let hidden = a.sensitive && a.before.is_none() && a.after.is_none();
    // a change of the whole value (a state output) has an empty path
    let shown_path = if a.path.0.is_empty() {
        "value".to_string()
    } else {
        a.path.to_string()
    };
    let a = &AttrChange {
        path: rewind_model::Path::parse(&shown_path),
        ..a.clone()
    };
    match (a.op, hidden) {
        (AttrOp::Modify, true) => format!("~ {}: (sensitive value changed)", a.path),
        (AttrOp::Add, true) => format!("+ {}: (sensitive value)", a.path),
        (AttrOp::Remove, true) => format!("- {}: (sensitive value)", a.path),
        (AttrOp::Modify, false) => {
            let (before, after) = values_text(&a.before, &a.after);
            format!("~ {}: {before} → {after}", a.path)
        }
        (AttrOp::Add, false) => format!("+ {}: {}", a.path, value_text(&a.after)),
        (AttrOp::Remove, false) => format!("- {}: {}", a.path, value_text(&a.before)),
    }
}

/// One change as the text report shows it: its symbol and address, then
/// its detail lines (attributes, facts, dependencies), unindented.
pub fn change_lines(c: &NodeChange) -> (String, Vec<String>) {
    (format!("{} {}", symbol(c), c.address), detail_lines(c))
}

/// The detail lines of one change (attributes, facts, edges).
pub(crate) fn detail_lines(c: &NodeChange) -> Vec<String> {
    let mut out = Vec::new();
    if let ChangeKind::Moved { from } = &c.change {
        out.push(format!("# moved from {from}"));
    }
    if c.is_replacement() {
        out.push(format!(
            "# forces replacement: {}",
            c.forces_replacement.join(", ")
        ));
    }
    for a in &c.attrs {
        out.push(attr_line(a));
    }
    for m in &c.meta {
        out.push(format!("{} (fact)", attr_line(m)));
    }
    for e in &c.edges_added {
        out.push(format!("+ depends on {} ({})", e.to, e.kind));
    }
    for e in &c.edges_removed {
        out.push(format!("- depends on {} ({})", e.to, e.kind));
    }
    out
}

pub(crate) fn location(c: &NodeChange) -> String {
    match (&c.before, &c.after) {
        (_, Some(l)) if !l.file.is_empty() && l.line > 0 => format!("{}:{}", l.file, l.line),
        (Some(l), None) if !l.file.is_empty() && l.line > 0 => format!("{}:{}", l.file, l.line),
        _ => String::new(),
    }
}

/// Counts by change word, destroys first.
pub(crate) fn summary_counts(changes: &[NodeChange]) -> Vec<(&'static str, usize)> {
    let order = ["removed", "replaced", "changed", "added", "moved"];
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for c in changes {
        *counts.entry(word(c)).or_insert(0) += 1;
    }
    order
        .iter()
        .filter_map(|w| counts.get(w).map(|n| (*w, *n)))
        .collect()
}

fn summary_text(changes: &[NodeChange]) -> String {
    let parts: Vec<String> = summary_counts(changes)
        .into_iter()
        .map(|(w, n)| format!("{n} {w}"))
        .collect();
    if parts.is_empty() {
        "no changes".into()
    } else {
        parts.join(", ")
    }
}

fn side_name(s: &SideInfo) -> String {
    s.label.clone()
}

/// Text in Terraform's visual language.
pub fn text(r: &DiffReport, st: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} → {}\n",
        st.bold("rewind diff:"),
        side_name(&r.from),
        side_name(&r.to)
    );
    let section = |out: &mut String, changes: &[NodeChange]| {
        for c in changes {
            let sym = format!("{:>3}", symbol(c));
            let loc = location(c);
            let loc = if loc.is_empty() {
                String::new()
            } else {
                format!("  {}", st.dim(&format!("({loc})")))
            };
            let _ = writeln!(out, "{} {}{loc}", paint(st, c, &sym), st.bold(&c.address));
            for line in detail_lines(c) {
                let colored = match line.chars().next() {
                    Some('+') => st.green(&line),
                    Some('-') => st.red(&line),
                    Some('~') => st.yellow(&line),
                    _ => st.dim(&line),
                };
                let _ = writeln!(out, "      {colored}");
            }
        }
    };
    if r.diff.config.is_empty() {
        out.push_str("  No configuration changes.\n");
    } else {
        section(&mut out, &r.diff.config);
    }
    if r.diff.state_compared {
        out.push_str(&format!("\n{}\n", st.bold("Deployed instances (state):")));
        if r.diff.instances.is_empty() {
            out.push_str("  No instance changes.\n");
        } else {
            section(&mut out, &r.diff.instances);
        }
    }
    if let Some(files) = &r.files {
        out.push_str(&format!("\n{}\n", st.bold("Files:")));
        if files.is_empty() {
            out.push_str("  No file changes.\n");
        }
        for f in files {
            let _ = writeln!(out, "  {} {}", f.change, f.path);
            if let Some(n) = &f.note {
                let _ = writeln!(out, "    {}", st.dim(n));
            }
            if let Some(d) = &f.diff {
                for line in d.lines() {
                    let colored = if line.starts_with("+++") || line.starts_with("---") {
                        st.bold(line)
                    } else if line.starts_with('+') {
                        st.green(line)
                    } else if line.starts_with('-') {
                        st.red(line)
                    } else if line.starts_with("@@") {
                        st.cyan(line)
                    } else {
                        line.to_string()
                    };
                    let _ = writeln!(out, "    {colored}");
                }
            }
        }
    }
    let mut summary = format!("\nConfiguration: {}.", summary_text(&r.diff.config));
    if r.diff.state_compared {
        summary.push_str(&format!(" Instances: {}.", summary_text(&r.diff.instances)));
    }
    out.push_str(&st.bold(&summary));
    out.push('\n');
    out
}

/// `--stat`: counts per resource type, types with destroys first.
pub fn stat(r: &DiffReport, st: &Style) -> String {
    crate::stat::text(&crate::stat::diff(r), st)
}

/// The rank of a change in a report: destroys first.
pub(crate) fn rank(c: &NodeChange) -> u8 {
    match word(c) {
        "removed" => 0,
        "replaced" => 1,
        "changed" => 2,
        "added" => 3,
        _ => 4,
    }
}

fn attr_json(a: &AttrChange) -> J {
    let mut o = serde_json::Map::new();
    o.insert("path".into(), J::String(a.path.to_string()));
    o.insert("action".into(), J::String(a.op.as_str().into()));
    if let Some(b) = &a.before {
        o.insert("before".into(), b.to_json());
    }
    if let Some(v) = &a.after {
        o.insert("after".into(), v.to_json());
    }
    o.insert("sensitive".into(), J::Bool(a.sensitive));
    J::Object(o)
}

fn loc_json(l: &Option<rewind_model::Loc>) -> J {
    match l {
        Some(l) => json!({"file": l.file, "line": l.line}),
        None => J::Null,
    }
}

/// One change as JSON.
pub(crate) fn change_json(c: &NodeChange) -> J {
    json!({
        "address": c.address,
        "kind": c.kind.as_str(),
        "type": c.type_,
        "change": c.change.as_str(),
        "moved_from": match &c.change { ChangeKind::Moved { from } => J::String(from.clone()), _ => J::Null },
        "replacement": c.is_replacement(),
        "forces_replacement": c.forces_replacement,
        "before_location": loc_json(&c.before),
        "after_location": loc_json(&c.after),
        "attributes": c.attrs.iter().map(attr_json).collect::<Vec<_>>(),
        "facts": c.meta.iter().map(attr_json).collect::<Vec<_>>(),
        "edges_added": c.edges_added.iter().map(|e| json!({"to": e.to, "kind": e.kind.as_str()})).collect::<Vec<_>>(),
        "edges_removed": c.edges_removed.iter().map(|e| json!({"to": e.to, "kind": e.kind.as_str()})).collect::<Vec<_>>(),
    })
}

fn counts_json(changes: &[NodeChange]) -> J {
    let mut o = serde_json::Map::new();
    for w in ["removed", "replaced", "changed", "added", "moved"] {
        o.insert(w.into(), json!(0));
    }
    for (w, n) in summary_counts(changes) {
        o.insert(w.into(), json!(n));
    }
    J::Object(o)
}

fn side_json(s: &SideInfo) -> J {
    json!({"label": s.label, "id": s.id, "tags": s.tags})
}

/// The documented JSON document.
pub fn json(r: &DiffReport) -> J {
    let mut doc = json!({
        "format_version": DIFF_FORMAT_VERSION,
        "from": side_json(&r.from),
        "to": side_json(&r.to),
        "summary": {
            "configuration": counts_json(&r.diff.config),
            "instances": counts_json(&r.diff.instances),
        },
        "state_compared": r.diff.state_compared,
        "changes": r.diff.config.iter().map(change_json).collect::<Vec<_>>(),
        "instances": r.diff.instances.iter().map(change_json).collect::<Vec<_>>(),
    });
    if let Some(files) = &r.files {
        doc["files"] = J::Array(
            files
                .iter()
                .map(
                    |f| json!({"path": f.path, "change": f.change, "diff": f.diff, "note": f.note}),
                )
                .collect(),
        );
    }
    doc
}

/// Markdown for a pull-request comment within the default budget (see
/// [`markdown_fit`]).
pub fn markdown(r: &DiffReport) -> String {
    markdown_fit(r, &MarkdownOptions::default())
}

/// Markdown for a pull-request comment: the summary, then per part a table
/// of changes (destroys first), then each change's details in a
/// collapsible section. Within `o.budget`: the summary and the destroys
/// are always shown; other rows and details are added while they fit, and
/// a note says what was cut and how to see it.
pub fn markdown_fit(r: &DiffReport, o: &MarkdownOptions) -> String {
    let mut fit = Fit::new(o);
    let mut head = String::new();
    let _ = writeln!(
        head,
        "### rewind diff: {} → {}\n",
        style::md_code(&r.from.label),
        style::md_code(&r.to.label)
    );
    let _ = writeln!(head, "**Configuration:** {}", summary_text(&r.diff.config));
    if r.diff.state_compared {
        let _ = writeln!(
            head,
            "  \n**Deployed instances:** {}",
            summary_text(&r.diff.instances)
        );
    }
    head.push('\n');
    fit.always(&head);
    for (title, changes) in [
        ("Configuration", &r.diff.config),
        ("Deployed instances", &r.diff.instances),
    ] {
        if !changes.is_empty() {
            md_part(&mut fit, title, changes);
        }
    }
    if let Some(files) = &r.files {
        md_files(&mut fit, files);
    }
    fit.finish(o)
}

/// One part of the diff: its table (destroys first and always, the others
/// while they fit), then the details of the changes the table lists.
fn md_part(fit: &mut Fit, title: &str, changes: &[NodeChange]) {
    fit.always(&format!("#### {title}\n\n"));
    let header = "| | Address | Change | Where |\n|---|---|---|---|\n";
    let mut sorted: Vec<&NodeChange> = changes.iter().collect();
    sorted.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.address.cmp(&b.address)));
    let row = |c: &NodeChange| {
        format!(
            "| `{}` | {} | {} | {} |\n",
            symbol(c),
            style::md_code(&c.address),
            word(c),
            style::md_text(&location(c))
        )
    };
    let destroys: Vec<&NodeChange> = sorted.iter().copied().filter(|c| rank(c) <= 1).collect();
    let rows: Vec<String> = destroys.iter().map(|c| row(c)).collect();
    let compact: Vec<String> = destroys
        .iter()
        .map(|c| format!("`{}` {}", symbol(c), style::md_code(&c.address)))
        .collect();
    let others: Vec<&NodeChange> = sorted.iter().copied().filter(|c| rank(c) > 1).collect();
    let other_rows: Vec<String> = others.iter().map(|c| row(c)).collect();
    let (in_table, n) = fit.table(
        header,
        &rows,
        &compact,
        &other_rows,
        "rows of the change tables",
    );
    let mut listed: Vec<&NodeChange> = if in_table {
        destroys.clone()
    } else {
        Vec::new()
    };
    listed.extend(&others[..n]);
    fit.always("\n");
    for c in &sorted {
        let lines = detail_lines(c);
        if lines.is_empty() {
            continue;
        }
        if !listed.iter().any(|l| std::ptr::eq(*l, *c)) {
            fit.skip("change details", 1);
            continue;
        }
        fit.add("change details", &md_details(c, lines));
    }
}

/// A change's detail lines in a collapsible `diff` block.
fn md_details(c: &NodeChange, lines: Vec<String>) -> String {
    let mut d = format!(
        "<details><summary><code>{}</code> {} ({} detail{})</summary>\n\n```diff\n",
        style::html(&c.address),
        word(c),
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    );
    for l in lines {
        // a diff block colours lines by their first character
        let l = if let Some(rest) = l.strip_prefix('~') {
            format!("!{rest}")
        } else {
            l
        };
        let _ = writeln!(d, "{}", l.replace("```", "'''"));
    }
    d.push_str("```\n</details>\n\n");
    d
}

/// `--files`: each file's text diff, while they fit.
fn md_files(fit: &mut Fit, files: &[FileChange]) {
    if files.is_empty() {
        return;
    }
    fit.always("#### Files\n\n");
    for f in files {
        let mut d = format!(
            "<details><summary><code>{}</code> {}</summary>\n\n",
            style::html(&f.path),
            f.change
        );
        if let Some(n) = &f.note {
            let _ = writeln!(d, "{}\n", style::md_text(n));
        }
        if let Some(t) = &f.diff {
            let _ = writeln!(d, "```diff\n{}\n```", t.replace("```", "'''").trim_end());
        }
        d.push_str("</details>\n\n");
        fit.add("file diffs", &d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two long values that differ late are shown from a little before
    /// where they differ, so the two sides never read the same.
    #[test]
    fn long_values_are_cut_around_their_difference() {
        let policy = |principal: &str| {
            Value::String(format!(
                "{{\"Statement\": [{{\"Effect\": \"Allow\", \"Resource\": \"arn:aws:s3:::{}/*\", \"Principal\": \"{principal}\"}}]}}",
                "shop-assets-production-eu-west-1".repeat(6)
            ))
        };
        let (b, a) = values_text(&Some(policy("arn:aws:iam::1:root")), &Some(policy("*")));
        assert_ne!(b, a);
        assert!(b.starts_with("...") && a.starts_with("..."), "{b}\n{a}");
        assert!(b.contains("arn:aws:iam::1:root"), "{b}");
        assert!(a.contains("\\\"Principal\\\": \\\"*\\\""), "{a}");
        assert!(b.chars().count() <= SHOWN && a.chars().count() <= SHOWN);
        // short values, or long ones differing early, are shown from the
        // start as before
        let (b, a) = values_text(
            &Some(Value::String("a".into())),
            &Some(Value::String("b".into())),
        );
        assert_eq!((b.as_str(), a.as_str()), ("\"a\"", "\"b\""));
        let long = |c: char| Some(Value::String(format!("{c}{}", "x".repeat(400))));
        let (b, a) = values_text(&long('1'), &long('2'));
        assert!(b.starts_with("\"1xx") && b.ends_with("...") && a.starts_with("\"2xx"));
    }
}
