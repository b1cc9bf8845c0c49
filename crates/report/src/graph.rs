//! The dependency graph of a model as DOT, Mermaid or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewind_model::{EdgeKind, Model, Node};

use crate::style;

/// Format version of the graph JSON document.
pub const GRAPH_FORMAT_VERSION: &str = "1";

fn edge_style(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Reference | EdgeKind::State => "",
        EdgeKind::DependsOn => " [style = dashed, label = \"depends_on\"]",
        EdgeKind::Provider => " [style = dotted, color = \"gray40\"]",
        EdgeKind::Module => " [style = dotted, color = \"gray70\", arrowhead = empty]",
    }
}

/// Nodes grouped by module path (`""` is the root).
fn by_module(model: &Model) -> BTreeMap<&str, Vec<&Node>> {
    let mut groups: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in &model.nodes {
        groups.entry(n.module.as_str()).or_default().push(n);
    }
    groups
}

/// The address of a node without its module prefix.
fn short(n: &Node) -> &str {
    if n.module.is_empty() {
        &n.address
    } else {
        n.address.get(n.module.len() + 1..).unwrap_or(&n.address)
    }
}

/// DOT in the manner of `terraform graph`, one cluster per module.
pub fn dot(model: &Model) -> String {
    // about 230 bytes a node with its edges, so the text is rarely copied
    let mut out = String::with_capacity(model.nodes.len() * 256);
    let mut whole = |piece: &str| {
        out.push_str(piece);
        Ok(())
    };
    let Ok(()) = dot_pieces::<std::convert::Infallible>(model, &mut whole);
    out
}

/// How much DOT [`dot_pieces`] gathers before handing it on.
const DOT_PIECE: usize = 64 << 10;

/// [`dot`]'s text handed to `sink` in pieces of about 64 KiB, each made
/// of whole statements (a label is never cut), so that the text of a
/// large graph is never held whole: `rewind graph` writes them as they
/// come (the text of 10,000 resources is 5.8 MB).
pub fn dot_pieces<E>(model: &Model, sink: &mut dyn FnMut(&str) -> Result<(), E>) -> Result<(), E> {
    let mut out = String::with_capacity(DOT_PIECE + 4096);
    let mut pass = |out: &mut String, last: bool| -> Result<(), E> {
        if last || out.len() >= DOT_PIECE {
            sink(out)?;
            out.clear();
        }
        Ok(())
    };
    out.push_str(
        "digraph G {\n  rankdir = \"RL\";\n  node [shape = rect, fontname = \"sans-serif\"];\n",
    );
    for (module, nodes) in by_module(model) {
        let indent = if module.is_empty() { "  " } else { "    " };
        if !module.is_empty() {
            let _ = writeln!(
                out,
                "  subgraph \"cluster_{}\" {{\n    label = \"{}\";\n    fontname = \"sans-serif\";",
                style::dot(module),
                style::dot(module)
            );
        }
        for n in nodes {
            let shape = match n.kind {
                rewind_model::NodeKind::Resource | rewind_model::NodeKind::Data => "",
                rewind_model::NodeKind::Module => ", shape = folder",
                rewind_model::NodeKind::Provider => ", shape = diamond",
                _ => ", shape = note",
            };
            out.push_str(indent);
            out.push('"');
            style::push_dot(&mut out, &n.address);
            out.push_str("\" [label = \"");
            style::push_dot(&mut out, short(n));
            out.push('"');
            out.push_str(shape);
            out.push_str("];\n");
            pass(&mut out, false)?;
        }
        if !module.is_empty() {
            out.push_str("  }\n");
        }
    }
    for n in &model.nodes {
        for e in &n.edges {
            out.push_str("  \"");
            style::push_dot(&mut out, &n.address);
            out.push_str("\" -> \"");
            style::push_dot(&mut out, &e.to);
            out.push('"');
            out.push_str(edge_style(e.kind));
            out.push_str(";\n");
            pass(&mut out, false)?;
        }
    }
    out.push_str("}\n");
    pass(&mut out, true)
}

/// Mermaid's default `maxEdges`: a chart with more edges is refused.
pub const MERMAID_MAX_EDGES: usize = 500;
/// Mermaid's default `maxTextSize` (characters): a longer chart is refused.
pub const MERMAID_MAX_TEXT: usize = 50_000;

/// A Mermaid chart within Mermaid's default limits
/// ([`MERMAID_MAX_EDGES`], [`MERMAID_MAX_TEXT`]): the whole graph when it
/// fits; else the fewest of the biggest modules collapsed to one node
/// each that fit; else every module collapsed and only resources
/// kept (variables, locals, outputs and providers bridged over); else the
/// first nodes and edges. What was collapsed or left out is returned and
/// written as `%%` comments at the top of the chart.
pub fn mermaid_fit(model: &Model) -> (String, Vec<String>) {
    let whole = mermaid_chart(model, &[], usize::MAX);
    if fits(&whole) {
        return (whole.0, Vec::new());
    }
    let why = format!(
        "the whole graph ({} nodes, {} edges, {} characters) exceeds Mermaid's default limits ({MERMAID_MAX_EDGES} edges, {MERMAID_MAX_TEXT} characters)",
        model.nodes.len(),
        whole.1,
        whole.0.len()
    );
    let modules = crate::view::biggest_modules(model);
    // The fewest of the biggest modules collapsed that fit, by bisection:
    // a view per step, not one per module (a tree of 100,000 resources in
    // 1,300 modules took more than 12 minutes).
    let fewest = smallest_fitting(modules.len(), |k| {
        let (chart, notes, _) = collapsed_chart(model, &modules, k, &why);
        let ok = fits(&chart);
        ((chart.0, notes), ok)
    });
    if let Some(found) = fewest {
        return found;
    }
    let filter = crate::view::Filter {
        collapse: modules.clone(),
        resources_only: true,
        ..Default::default()
    };
    let (chart, mut notes, v) = attempt_chart(
        model,
        &filter,
        &why,
        "every module is drawn as one node, and only resources and data sources at the root (variables, locals, outputs and providers bridged over)",
    );
    if fits(&chart) {
        return (chart.0, notes);
    }
    // still too large: the first nodes and edges that fit
    notes.push(format!(
        "still too large ({} nodes): only the first nodes and at most {MERMAID_MAX_EDGES} edges are drawn; use --module, --type or --depth, or --format dot, to see the rest",
        v.nodes.len()
    ));
    let notes = short_notes(notes);
    let (text, _) = mermaid_chart(&v, &notes, MERMAID_MAX_TEXT - 600);
    (text, notes)
}

/// Within Mermaid's default limits?
fn fits((text, edges): &(String, usize)) -> bool {
    *edges <= MERMAID_MAX_EDGES && text.len() <= MERMAID_MAX_TEXT
}

/// The chart of `filter`'s view of `model`, its notes (`why`: `how`
/// first) and the view.
fn attempt_chart(
    model: &Model,
    filter: &crate::view::Filter,
    why: &str,
    how: &str,
) -> ((String, usize), Vec<String>, Model) {
    let (v, notes) = crate::view::view(model, filter);
    let mut all = vec![format!("{why}: {how}")];
    all.extend(notes);
    let notes = short_notes(all);
    let chart = mermaid_chart(&v, &notes, usize::MAX);
    (chart, notes, v)
}

/// The chart with the first `k` of `modules` drawn as one node each.
fn collapsed_chart(
    model: &Model,
    modules: &[String],
    k: usize,
    why: &str,
) -> ((String, usize), Vec<String>, Model) {
    let filter = crate::view::Filter {
        collapse: modules[..k].to_vec(),
        ..Default::default()
    };
    attempt_chart(
        model,
        &filter,
        why,
        "the biggest modules are drawn as one node each",
    )
}

/// The result of the smallest `k` in `1..=max` for which `attempt(k)`
/// fits, by bisection, or `None` when even `max` does not fit. Collapsing
/// one more module never adds a node or an edge; only the note naming the
/// modules grows (to 1,500 characters at most), so near the limit the `k`
/// found fits without always being the smallest.
fn smallest_fitting<T>(max: usize, mut attempt: impl FnMut(usize) -> (T, bool)) -> Option<T> {
    if max == 0 {
        return None;
    }
    let (mut best, ok) = attempt(max);
    if !ok {
        return None;
    }
    let (mut lo, mut hi) = (1, max);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let (r, ok) = attempt(mid);
        if ok {
            hi = mid;
            best = r;
        } else {
            lo = mid + 1;
        }
    }
    Some(best)
}

/// Notes cut to a length a chart can carry.
fn short_notes(notes: Vec<String>) -> Vec<String> {
    notes
        .into_iter()
        .map(|n| {
            if n.chars().count() > 1500 {
                let cut: String = n.chars().take(1500).collect();
                format!("{cut}...")
            } else {
                n
            }
        })
        .collect()
}

/// A Mermaid flowchart that renders on GitHub (subgraphs per module), with
/// no regard to Mermaid's limits (see [`mermaid_fit`]).
pub fn mermaid(model: &Model) -> String {
    mermaid_chart(model, &[], usize::MAX).0
}

/// The chart, with `notes` as comments, stopping before `budget`
/// characters (and [`MERMAID_MAX_EDGES`] edges) when the budget is not
/// unlimited; returns it and its number of edges.
fn mermaid_chart(model: &Model, notes: &[String], budget: usize) -> (String, usize) {
    let limited = budget != usize::MAX;
    let ids: std::collections::HashMap<&str, usize> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.address.as_str(), i))
        .collect();
    let mut out = String::from("flowchart RL\n");
    for n in notes {
        let _ = writeln!(out, "  %% {}", n.replace('\n', " "));
    }
    let mut shown = vec![!limited; model.nodes.len()];
    for (mi, (module, nodes)) in by_module(model).into_iter().enumerate() {
        if limited && out.len() > budget / 2 {
            break;
        }
        let indent = if module.is_empty() { "  " } else { "    " };
        if !module.is_empty() {
            let _ = writeln!(out, "  subgraph m{mi}[\"{}\"]", style::mermaid(module));
        }
        for n in nodes {
            if limited && out.len() > budget / 2 {
                break;
            }
            let id = ids[n.address.as_str()];
            let label = style::mermaid(short(n));
            let shape = match n.kind {
                rewind_model::NodeKind::Resource | rewind_model::NodeKind::Data => {
                    format!("[\"{label}\"]")
                }
                rewind_model::NodeKind::Module => format!("[[\"{label}\"]]"),
                rewind_model::NodeKind::Provider => format!("{{{{\"{label}\"}}}}"),
                _ => format!("([\"{label}\"])"),
            };
            let _ = writeln!(out, "{indent}n{id}{shape}");
            shown[id] = true;
        }
        if !module.is_empty() {
            out.push_str("  end\n");
        }
    }
    let mut edges = 0;
    for n in &model.nodes {
        let from = ids[n.address.as_str()];
        for e in &n.edges {
            let Some(&to) = ids.get(e.to.as_str()) else {
                continue;
            };
            if !shown[from] || !shown[to] {
                continue;
            }
            if limited && (edges >= MERMAID_MAX_EDGES || out.len() > budget) {
                break;
            }
            edges += 1;
            let arrow = match e.kind {
                EdgeKind::Reference | EdgeKind::State => "-->".to_string(),
                EdgeKind::DependsOn => "-. depends_on .->".to_string(),
                EdgeKind::Provider | EdgeKind::Module => "-.->".to_string(),
            };
            let _ = writeln!(out, "  n{from} {arrow} n{to}");
        }
    }
    (out, edges)
}

/// Each node's hash, in order: encoding and hashing every node is most of
/// the work of the document, so it is spread over the cores.
fn node_hashes(model: &Model) -> Vec<rewind_model::Hash> {
    let hash = |nodes: &[rewind_model::Node]| -> Vec<rewind_model::Hash> {
        nodes.iter().map(rewind_model::Node::hash).collect()
    };
    rewind_model::parts::in_parts(&model.nodes, None, |_, nodes| hash(nodes))
}

/// The graph as a JSON document (see docs/graph-json.md), written straight
/// to `out` (a graph of 100,000 resources is hundreds of megabytes as a
/// value tree). The text is what `serde_json::to_writer_pretty` writes
/// for the document (two-space indents, `": "`, the same escapes), made
/// here in a buffer flushed every 64 KiB: through serde it was a tenth of
/// a `graph --format json`.
pub fn write_json(model: &Model, root: &str, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    const FLUSH: usize = 1 << 16;
    let hashes = node_hashes(model);
    let mut j = Json(Vec::with_capacity(FLUSH + 4096));
    j.raw("{\n  \"format_version\": ");
    j.str(GRAPH_FORMAT_VERSION);
    j.raw(",\n  \"root\": ");
    j.str(root);
    j.raw(",\n  \"nodes\": [");
    for (i, (n, hash)) in model.nodes.iter().zip(&hashes).enumerate() {
        j.raw(if i == 0 { "\n    {" } else { ",\n    {" });
        j.field("\n      \"address\": ", n.address.as_str());
        j.field(",\n      \"kind\": ", n.kind.as_str());
        j.field(",\n      \"type\": ", n.type_.as_str());
        j.field(",\n      \"name\": ", n.name.as_str());
        j.field(",\n      \"module\": ", n.module.as_str());
        j.field(",\n      \"file\": ", n.loc.file.as_str());
        j.number(",\n      \"line\": ", n.loc.line);
        j.number(",\n      \"column\": ", n.loc.col);
        // hex digits need no escapes
        j.raw(",\n      \"hash\": \"");
        hash.push_hex(&mut j.0);
        j.raw("\"");
        j.raw("\n    }");
        if j.0.len() > FLUSH {
            out.write_all(&j.0)?;
            j.0.clear();
        }
    }
    j.raw(if model.nodes.is_empty() { "]" } else { "\n  ]" });
    j.raw(",\n  \"edges\": [");
    let mut first = true;
    for n in &model.nodes {
        for e in &n.edges {
            j.raw(if first { "\n    {" } else { ",\n    {" });
            first = false;
            j.field("\n      \"from\": ", n.address.as_str());
            j.field(",\n      \"to\": ", e.to.as_str());
            j.field(",\n      \"kind\": ", e.kind.as_str());
            j.raw("\n    }");
            if j.0.len() > FLUSH {
                out.write_all(&j.0)?;
                j.0.clear();
            }
        }
    }
    j.raw(if first { "]" } else { "\n  ]" });
    j.raw(",\n  \"diagnostics\": [");
    for (i, d) in model.diagnostics.iter().enumerate() {
        j.raw(if i == 0 { "\n    {" } else { ",\n    {" });
        let severity = match d.severity {
            rewind_model::Severity::Warning => "warning",
            rewind_model::Severity::Error => "error",
        };
        j.field("\n      \"severity\": ", severity);
        j.field(",\n      \"file\": ", d.loc.file.as_str());
        j.number(",\n      \"line\": ", d.loc.line);
        j.number(",\n      \"column\": ", d.loc.col);
        j.field(",\n      \"message\": ", d.message.as_str());
        j.raw("\n    }");
    }
    j.raw(if model.diagnostics.is_empty() {
        "]"
    } else {
        "\n  ]"
    });
    j.raw("\n}\n");
    out.write_all(&j.0)
}

/// A JSON text being written.
struct Json(Vec<u8>);

impl Json {
    fn raw(&mut self, s: &str) {
        self.0.extend_from_slice(s.as_bytes());
    }

    /// `prefix` (the comma, indent and key) then the string `value`.
    fn field(&mut self, prefix: &str, value: &str) {
        self.raw(prefix);
        self.str(value);
    }

    fn number(&mut self, prefix: &str, n: u32) {
        self.raw(prefix);
        // decimal digits, as `{n}` formats them, without the formatter
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        let mut n = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.0.extend_from_slice(&digits[i..]);
    }

    /// A JSON string, escaped as serde_json escapes (`\"`, `\\`, `\n`
    /// and the other short escapes, `\u00XX` for the other control
    /// characters; everything else as it is). The text between escapes is
    /// found a block of bytes at a time ([`next_escape`]) and copied
    /// whole: almost no address, path or hash has one.
    fn str(&mut self, s: &str) {
        let b = s.as_bytes();
        self.0.reserve(b.len() + 2);
        self.0.push(b'"');
        let mut start = 0;
        while let Some(i) = next_escape(b, start) {
            let c = b[i];
            self.0.extend_from_slice(&b[start..i]);
            start = i + 1;
            let esc: &[u8] = match c {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                _ => b"",
            };
            if esc.is_empty() {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.0.extend_from_slice(b"\\u00");
                self.0.push(HEX[usize::from(c >> 4)]);
                self.0.push(HEX[usize::from(c & 0xf)]);
            } else {
                self.0.extend_from_slice(esc);
            }
        }
        self.0.extend_from_slice(&b[start..]);
        self.0.push(b'"');
    }
}

/// Whether a JSON string escapes byte `c`: a quote, a backslash or a
/// control character (below 0x20).
fn escaped(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

/// The position of the first byte at or after `from` that JSON escapes
/// ([`escaped`]), looked for as [`style::first_byte`] looks.
fn next_escape(b: &[u8], from: usize) -> Option<usize> {
    style::first_byte(&b[from..], escaped).map(|j| from + j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_model::{Diagnostic, Loc, NodeKind, Severity, Value};

    // The document as it was written through serde before `write_json`
    // wrote it directly: its text must not change.
    #[derive(serde::Serialize)]
    struct JNode<'a> {
        address: &'a str,
        kind: &'static str,
        #[serde(rename = "type")]
        type_: &'a str,
        name: &'a str,
        module: &'a str,
        file: &'a str,
        line: u32,
        column: u32,
        hash: String,
    }

    #[derive(serde::Serialize)]
    struct JEdge<'a> {
        from: &'a str,
        to: &'a str,
        kind: &'static str,
    }

    #[derive(serde::Serialize)]
    struct JDiag<'a> {
        severity: &'static str,
        file: &'a str,
        line: u32,
        column: u32,
        message: &'a str,
    }

    #[derive(serde::Serialize)]
    struct JGraph<'a> {
        format_version: &'static str,
        root: &'a str,
        nodes: Vec<JNode<'a>>,
        edges: Vec<JEdge<'a>>,
        diagnostics: Vec<JDiag<'a>>,
    }

    fn through_serde(model: &Model, root: &str) -> String {
        let doc = JGraph {
            format_version: GRAPH_FORMAT_VERSION,
            root,
            nodes: model
                .nodes
                .iter()
                .map(|n| JNode {
                    address: &n.address,
                    kind: n.kind.as_str(),
                    type_: &n.type_,
                    name: &n.name,
                    module: &n.module,
                    file: &n.loc.file,
                    line: n.loc.line,
                    column: n.loc.col,
                    hash: n.hash().to_hex(),
                })
                .collect(),
            edges: model
                .nodes
                .iter()
                .flat_map(|n| {
                    n.edges.iter().map(move |e| JEdge {
                        from: &n.address,
                        to: &e.to,
                        kind: e.kind.as_str(),
                    })
                })
                .collect(),
            diagnostics: model
                .diagnostics
                .iter()
                .map(|d| JDiag {
                    severity: match d.severity {
                        Severity::Warning => "warning",
                        Severity::Error => "error",
                    },
                    file: &d.loc.file,
                    line: d.loc.line,
                    column: d.loc.col,
                    message: &d.message,
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&doc).unwrap();
        text.push('\n');
        text
    }

    fn written(model: &Model, root: &str) -> String {
        let mut out = Vec::new();
        write_json(model, root, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn resource(module: &str, ty: &str, name: &str, file: &str, line: u32) -> rewind_model::Node {
        let prefix = if module.is_empty() {
            String::new()
        } else {
            format!("{module}.")
        };
        let mut n = rewind_model::Node::new(NodeKind::Resource, format!("{prefix}{ty}.{name}"));
        n.module = module.to_string();
        n.type_ = ty.to_string();
        n.name = name.to_string();
        n.loc = Loc {
            file: file.to_string(),
            line,
            col: 1,
        };
        let mut body = rewind_model::Map::new();
        body.insert("name".to_string(), Value::str(format!("{name}-bucket")));
        n.body = std::sync::Arc::new(Value::Map(body));
        n
    }

    #[test]
    fn dot_comes_in_pieces_of_whole_statements() {
        // enough nodes and edges for several pieces, in modules and at
        // the root, with labels holding quotes, backslashes, newlines and
        // an escape sequence (which a piece must never cut)
        let mut nodes = Vec::new();
        for i in 0..1500 {
            let module = if i % 3 == 0 {
                String::new()
            } else {
                format!("module.m{}", i % 7)
            };
            let mut n = resource(
                &module,
                "aws_s3_bucket",
                &format!("b{i}_\"q\"\\x\n\u{1b}[31m"),
                "main.tf",
                i,
            );
            if i > 0 {
                n.add_edge(format!("aws_s3_bucket.b{}", i - 1), EdgeKind::Reference);
            }
            nodes.push(n);
        }
        let model = Model {
            nodes,
            ..Model::default()
        };
        let whole = dot(&model);
        let mut pieces = Vec::new();
        let r: Result<(), ()> = dot_pieces(&model, &mut |p| {
            pieces.push(p.to_string());
            Ok(())
        });
        r.unwrap();
        assert!(
            pieces.len() > 3,
            "{} pieces of {} bytes",
            pieces.len(),
            whole.len()
        );
        assert_eq!(pieces.concat(), whole);
        for p in &pieces {
            assert!(p.len() < DOT_PIECE + 4096, "{}", p.len());
            // each ends a statement: a node, an edge, a cluster or the graph
            assert!(p.ends_with(";\n") || p.ends_with("}\n"), "{p:?}");
            // and no label is cut: its quotes pair up within the piece
            let unescaped = p.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0);
        }
        // a sink's error stops the writing and is returned
        let mut calls = 0;
        let r = dot_pieces(&model, &mut |_| {
            calls += 1;
            Err("full")
        });
        assert_eq!((r, calls), (Err("full"), 1));
    }

    #[test]
    fn json_is_what_serde_wrote() {
        // an empty model: empty arrays as `[]`
        let empty = Model::default();
        assert_eq!(written(&empty, ""), through_serde(&empty, ""));

        // names and messages with every kind of character JSON escapes
        let mut a = resource("", "aws_s3_bucket", "logs", "main.tf", 3);
        let mut b = resource(
            "module.app[\"eu\\west\"]",
            "aws_instance",
            "web",
            "modules/app/ma\tin \"x\".tf",
            12,
        );
        b.add_edge(a.address.clone(), EdgeKind::Reference);
        b.add_edge("provider.aws", EdgeKind::Provider);
        a.add_edge("var.ctl\u{1}\u{8}\u{c}\u{1f}\u{7f}é", EdgeKind::DependsOn);
        let mut model = Model {
            nodes: vec![a, b],
            ..Model::default()
        };
        model.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            loc: Loc {
                file: "main.tf".into(),
                line: 7,
                col: 14,
            },
            message: "reference to undeclared input variable var.x\r\n\"quoted\" \\ done".into(),
            source_line: None,
        });
        model.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            loc: Loc::default(),
            message: "ünïcödé ✓".into(),
            source_line: None,
        });
        let ours = written(&model, "envs/prod \"x\"");
        assert_eq!(ours, through_serde(&model, "envs/prod \"x\""));
        assert!(ours.contains(r#""to": "var.ctl\u0001\b\f\u001f"#), "{ours}");
    }

    /// Strings and numbers written a word at a time: the same text as
    /// serde_json's, whatever the length of the string and wherever in a
    /// word the byte to escape falls (every control byte, the quote, the
    /// backslash, and bytes of 0x7f and above, which are not escaped).
    #[test]
    fn strings_and_numbers_are_what_serde_writes() {
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', '\u{7f}', 'é', '✓', ' ', '~'])
            .collect();
        for len in 0..20 {
            for at in 0..=len {
                for &c in &specials {
                    let mut s: String = "abcdefghijklmnopqrst"[..len].to_string();
                    s.insert(at, c);
                    let mut j = Json(Vec::new());
                    j.str(&s);
                    let want = serde_json::to_string(&s).expect("a string serializes");
                    assert_eq!(String::from_utf8(j.0).expect("UTF-8"), want, "{s:?}");
                }
            }
        }
        for n in [0, 7, 9, 10, 99, 100, 12_345, 1_000_000, u32::MAX] {
            let mut j = Json(Vec::new());
            j.number("", n);
            assert_eq!(String::from_utf8(j.0).expect("UTF-8"), n.to_string());
        }
    }

    /// Enough nodes that their hashes are made on several threads: still
    /// each node's own hash, in order.
    #[test]
    fn hashes_of_many_nodes_stay_in_order() {
        let nodes: Vec<_> = (0..3000)
            .map(|i| resource("module.m", "aws_sqs_queue", &format!("q{i}"), "q.tf", i + 1))
            .collect();
        let model = Model {
            nodes,
            ..Model::default()
        };
        let hashes = node_hashes(&model);
        assert_eq!(hashes.len(), 3000);
        for (n, h) in model.nodes.iter().zip(&hashes) {
            assert_eq!(*h, rewind_model::Hash::of(&n.encode()));
        }
        assert_eq!(written(&model, ""), through_serde(&model, ""));
    }
    /// Modules `module.m00`, `module.m01`... of `first`, `first - 1`...
    /// resources, each resource referencing the one before it.
    fn modules_of_chains(count: usize, first: usize) -> Model {
        let mut nodes = Vec::new();
        for m in 0..count {
            let module = format!("module.m{m:02}");
            for i in 0..first - m {
                let mut n = resource(&module, "aws_sqs_queue", &format!("q{i}"), "q.tf", 1);
                if i > 0 {
                    n.add_edge(
                        format!("{module}.aws_sqs_queue.q{}", i - 1),
                        EdgeKind::Reference,
                    );
                }
                nodes.push(n);
            }
        }
        Model {
            nodes,
            ..Model::default()
        }
    }

    #[test]
    fn bisection_finds_what_a_scan_finds() {
        for max in 0..=40usize {
            for threshold in 1..=max + 1 {
                let mut tried = 0;
                let found = smallest_fitting(max, |k| {
                    tried += 1;
                    (k, k >= threshold)
                });
                let scanned = (1..=max).find(|&k| k >= threshold);
                assert_eq!(found, scanned, "max {max}, threshold {threshold}");
                // one attempt at max, then about log2(max)
                assert!(
                    tried <= 2 + (usize::BITS - max.leading_zeros()) as usize,
                    "{tried} attempts for {max}"
                );
            }
        }
    }

    #[test]
    fn mermaid_collapses_the_fewest_biggest_modules_that_fit() {
        let model = modules_of_chains(40, 50);
        let whole = mermaid_chart(&model, &[], usize::MAX);
        assert!(!fits(&whole), "{} edges", whole.1);
        let (chart, notes) = mermaid_fit(&model);
        assert!(fits(&(chart.clone(), chart.matches("-->").count())));
        assert!(
            notes[0].contains("the biggest modules are drawn as one node each"),
            "{notes:?}"
        );
        // the biggest first, and as few as fit: one fewer does not
        let listed = notes
            .iter()
            .find(|n| n.starts_with("modules drawn as one node each"))
            .expect("the collapsed modules are named");
        let k = listed.matches("module.m").count();
        assert!(k > 1 && k < 40, "{k} modules collapsed");
        for m in 0..k {
            assert!(listed.contains(&format!("module.m{m:02} ")), "{listed}");
        }
        let modules = crate::view::biggest_modules(&model);
        let why = notes[0].split(": the biggest").next().unwrap_or_default();
        assert!(fits(&collapsed_chart(&model, &modules, k, why).0));
        assert!(!fits(&collapsed_chart(&model, &modules, k - 1, why).0));
    }
}
