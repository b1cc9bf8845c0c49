//! Dependency pictures drawn as inline SVG (no script, no external file):
//! a plan's steps in waves, left to right, and a diff's changed
//! dependencies.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewind_diff::Diff;
use rewind_plan::{Action, Plan};

use crate::style::html as esc;

/// At most this many steps are drawn; a larger plan's picture shows its
/// first steps and says how many were left out.
pub(crate) const MAX_DRAWN_STEPS: usize = 400;

const BOX_W: usize = 250;
const BOX_H: usize = 26;
const COL_W: usize = 300;
const ROW_H: usize = 34;
const TOP: usize = 34;
const LEFT: usize = 12;

/// A label cut to fit a box (the full text is the box's tooltip).
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let tail: String = s
            .chars()
            .rev()
            .take(max - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

fn op_class(op: Action) -> &'static str {
    match op {
        Action::Create => "create",
        Action::Delete => "delete",
        Action::Update => "update",
        Action::Forget => "forget",
        Action::Read => "read",
        Action::NoOp => "noop",
    }
}

/// What a picture left out, for the caption.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Drawn {
    /// Steps (or nodes) drawn.
    pub nodes: usize,
    /// Steps (or nodes) left out.
    pub omitted: usize,
    /// Arrows drawn.
    pub edges: usize,
    /// Arrows left out because other paths imply them.
    pub implied: usize,
}

/// The plan's steps as columns of waves, left to right, with an arrow from
/// each step to the steps that wait for it (implied arrows left out).
pub(crate) fn plan_waves(plan: &Plan) -> (String, Drawn) {
    let drawn: Vec<&rewind_plan::Step> = {
        let mut v: Vec<_> = plan.steps.iter().collect();
        v.sort_by_key(|s| (s.wave, s.index));
        v.truncate(MAX_DRAWN_STEPS);
        v
    };
    let mut at: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    for s in &drawn {
        let row = rows.entry(s.wave).or_insert(0);
        at.insert(s.index, (LEFT + s.wave * COL_W, TOP + *row * ROW_H));
        *row += 1;
    }
    let waves = rows.len();
    let height = TOP + rows.values().copied().max().unwrap_or(0) * ROW_H + 8;
    let width = LEFT + waves.max(1) * COL_W;
    let (edges, _) = crate::reduce::essential_edges(&plan.steps);
    let total: usize = plan.steps.iter().map(|s| s.after.len()).sum();
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" role=\"img\" aria-label=\"plan steps by wave\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#777\"/></marker></defs>\n"
    );
    for w in rows.keys() {
        let _ = writeln!(
            out,
            "<text class=\"wave\" x=\"{}\" y=\"20\">wave {w}</text>",
            LEFT + w * COL_W
        );
    }
    let mut drawn_edges = 0;
    for (before, after) in &edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (at.get(before), at.get(after)) else {
            continue;
        };
        drawn_edges += 1;
        let (sx, sy, ex, ey) = (x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2);
        let mid = (sx + ex) / 2;
        let _ = writeln!(
            out,
            "<path class=\"edge\" d=\"M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex} {ey}\" marker-end=\"url(#arrow)\"><title>step {before} before step {after}</title></path>"
        );
    }
    for s in &drawn {
        let (x, y) = at[&s.index];
        let op = s.operation.as_str();
        let what = format!("{}{}", s.address, if s.deposed { " (deposed)" } else { "" });
        let label = format!("{op} {what}");
        // the action always shows; a long address loses its start
        let shown = format!("{op} {}", fit(&what, 34 - op.len() - 1));
        let _ = writeln!(
            out,
            "<g class=\"step {}\"><title>{}: {}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\"/><text x=\"{}\" y=\"{}\">{}: {}</text></g>",
            op_class(s.operation),
            s.index,
            esc(&label),
            x + 6,
            y + 17,
            s.index,
            esc(&shown)
        );
    }
    out.push_str("</svg>\n");
    (
        out,
        Drawn {
            nodes: drawn.len(),
            omitted: plan.steps.len() - drawn.len(),
            edges: drawn_edges,
            implied: total.saturating_sub(edges.len()),
        },
    )
}

/// The dependencies a diff adds and removes: the dependent on the left,
/// what it depends on on the right; added arrows solid, removed ones
/// dashed. `None` when no dependency changed.
pub(crate) fn diff_edges(diff: &Diff) -> Option<(String, Drawn)> {
    let mut pairs: Vec<(&str, &str, bool)> = Vec::new();
    for c in diff.config.iter() {
        for e in &c.edges_added {
            pairs.push((&c.address, &e.to, true));
        }
        for e in &c.edges_removed {
            pairs.push((&c.address, &e.to, false));
        }
    }
    if pairs.is_empty() {
        return None;
    }
    let total = pairs.len();
    pairs.truncate(MAX_DRAWN_STEPS);
    let mut left: BTreeMap<&str, usize> = BTreeMap::new();
    let mut right: BTreeMap<&str, usize> = BTreeMap::new();
    for (a, b, _) in &pairs {
        let n = left.len();
        left.entry(a).or_insert(n);
        let n = right.len();
        right.entry(b).or_insert(n);
    }
    let rows = left.len().max(right.len());
    let height = TOP + rows * ROW_H + 8;
    let width = LEFT + COL_W + BOX_W + 140;
    let rx = LEFT + COL_W + 140;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"graph\" role=\"img\" aria-label=\"changed dependencies\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n\
         <defs><marker id=\"arrow-d\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#777\"/></marker></defs>\n\
         <text class=\"wave\" x=\"{LEFT}\" y=\"20\">dependent</text><text class=\"wave\" x=\"{rx}\" y=\"20\">depends on</text>\n"
    );
    for (a, b, added) in &pairs {
        let (y1, y2) = (
            TOP + left[a] * ROW_H + BOX_H / 2,
            TOP + right[b] * ROW_H + BOX_H / 2,
        );
        let (sx, ex) = (LEFT + BOX_W, rx);
        let mid = (sx + ex) / 2;
        let _ = writeln!(
            out,
            "<path class=\"edge {}\" d=\"M {sx} {y1} C {mid} {y1}, {mid} {y2}, {ex} {y2}\" marker-end=\"url(#arrow-d)\"><title>{} {} {}</title></path>",
            if *added { "added" } else { "removed" },
            esc(a),
            if *added { "now depends on" } else { "no longer depends on" },
            esc(b)
        );
    }
    for (names, x) in [(&left, LEFT), (&right, rx)] {
        for (name, row) in names.iter() {
            let y = TOP + row * ROW_H;
            let _ = writeln!(
                out,
                "<g class=\"step node\"><title>{}</title><rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
                esc(name),
                x + 6,
                y + 17,
                esc(&fit(name, 36))
            );
        }
    }
    out.push_str("</svg>\n");
    Some((
        out,
        Drawn {
            nodes: left.len() + right.len(),
            omitted: total - pairs.len(),
            edges: pairs.len(),
            implied: 0,
        },
    ))
}
