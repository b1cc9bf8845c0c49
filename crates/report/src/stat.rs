//! `--stat`: how many changes of each kind, per resource type, in every
//! format (text, JSON, Markdown, HTML).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rewind_diff::NodeChange;
use rewind_model::NodeKind;
use rewind_plan::Action;
use serde_json::{json, Value as J};

use crate::diff::{word, DiffReport};
use crate::plan::PlanReport;
use crate::style::{self, Style};

/// Counts per resource type, in groups (a diff's configuration and
/// instances; a plan's changes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// `diff` or `plan`.
    pub command: &'static str,
    /// The two sides, as labelled.
    pub from: String,
    /// The other side.
    pub to: String,
    /// The kinds of change counted, destroys first.
    pub columns: Vec<&'static str>,
    /// The groups of rows.
    pub groups: Vec<StatGroup>,
}

/// One table of counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatGroup {
    /// `configuration`, `instances`, `changes`.
    pub title: String,
    /// One row per type, those with destroys first.
    pub rows: Vec<StatRow>,
    /// The sums.
    pub total: StatRow,
}

/// The counts of one type, in the order of [`Stat::columns`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatRow {
    /// The resource type (`data.TYPE` for data sources, `(kind)` for
    /// other blocks), or `total`.
    pub name: String,
    /// One count per column.
    pub counts: Vec<usize>,
}

const DIFF_COLUMNS: [&str; 5] = ["removed", "replaced", "changed", "added", "moved"];
const PLAN_COLUMNS: [&str; 6] = ["destroy", "replace", "change", "add", "forget", "move"];

/// Rows from `(type, column)` pairs; a row's destroys are its first
/// `destroying` columns.
fn group(
    title: &str,
    width: usize,
    destroying: usize,
    items: impl Iterator<Item = (String, usize)>,
) -> StatGroup {
    let mut by: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut total = vec![0; width];
    for (name, col) in items {
        by.entry(name).or_insert_with(|| vec![0; width])[col] += 1;
        total[col] += 1;
    }
    let mut rows: Vec<StatRow> = by
        .into_iter()
        .map(|(name, counts)| StatRow { name, counts })
        .collect();
    let destroys = |r: &StatRow| r.counts[..destroying].iter().sum::<usize>();
    rows.sort_by(|a, b| destroys(b).cmp(&destroys(a)).then(a.name.cmp(&b.name)));
    StatGroup {
        title: title.to_string(),
        rows,
        total: StatRow {
            name: "total".into(),
            counts: total,
        },
    }
}

fn type_key(c: &NodeChange) -> String {
    if c.type_.is_empty()
        || !matches!(
            c.kind,
            NodeKind::Resource | NodeKind::Data | NodeKind::Instance
        )
    {
        format!("({})", c.kind)
    } else if c.kind == NodeKind::Data {
        format!("data.{}", c.type_)
    } else {
        c.type_.clone()
    }
}

/// The counts of a diff.
pub fn diff(r: &DiffReport) -> Stat {
    let col = |c: &NodeChange| {
        DIFF_COLUMNS
            .iter()
            .position(|w| *w == word(c))
            .expect("every change word is a column")
    };
    let mut groups = vec![group(
        "configuration",
        5,
        2,
        r.diff.config.iter().map(|c| (type_key(c), col(c))),
    )];
    if r.diff.state_compared {
        groups.push(group(
            "instances",
            5,
            2,
            r.diff.instances.iter().map(|c| (type_key(c), col(c))),
        ));
    }
    Stat {
        command: "diff",
        from: r.from.label.clone(),
        to: r.to.label.clone(),
        columns: DIFF_COLUMNS.to_vec(),
        groups,
    }
}

/// The counts of a plan (a replacement counts once, as a replacement).
pub fn plan(r: &PlanReport) -> Stat {
    let items = r.plan.changes.iter().filter_map(|c| {
        let col = match c.actions.as_slice() {
            [Action::Delete] => 0,
            [_, _] => 1,
            [Action::Update] => 2,
            [Action::Create] => 3,
            [Action::Forget] => 4,
            _ if c.previous_address.is_some() => 5,
            _ => return None,
        };
        let name = if c.type_.is_empty() {
            "(module)".to_string()
        } else if c.address.resource.mode == rewind_model::Mode::Data {
            format!("data.{}", c.type_)
        } else {
            c.type_.clone()
        };
        Some((name, col))
    });
    Stat {
        command: "plan",
        from: r.from.label.clone(),
        to: r.to.label.clone(),
        columns: PLAN_COLUMNS.to_vec(),
        groups: vec![group("changes", 6, 2, items)],
    }
}

fn parts(columns: &[&str], row: &StatRow) -> Vec<(usize, String)> {
    columns
        .iter()
        .zip(&row.counts)
        .enumerate()
        .filter(|(_, (_, n))| **n > 0)
        .map(|(i, (w, n))| (i, format!("{n} {w}")))
        .collect()
}

/// As text, one line per type.
pub fn text(s: &Stat, st: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} → {}",
        st.bold(&format!("rewind {} --stat:", s.command)),
        s.from,
        s.to
    );
    for g in &s.groups {
        let width = g.rows.iter().map(|r| r.name.len()).max().unwrap_or(0);
        let _ = writeln!(out, "\n {}:", g.title);
        if g.rows.is_empty() {
            out.push_str("   no changes\n");
        }
        for row in &g.rows {
            let painted: Vec<String> = parts(&s.columns, row)
                .into_iter()
                .map(|(i, p)| match i {
                    0 => st.red(&p),
                    3 => st.green(&p),
                    _ => st.yellow(&p),
                })
                .collect();
            let _ = writeln!(out, "   {:<width$}  {}", row.name, painted.join(", "));
        }
        let total: Vec<String> = parts(&s.columns, &g.total)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let _ = writeln!(
            out,
            "   total: {}",
            if total.is_empty() {
                "no changes".to_string()
            } else {
                total.join(", ")
            }
        );
    }
    out
}

fn row_json(columns: &[&str], r: &StatRow) -> J {
    let mut o = serde_json::Map::new();
    for (c, n) in columns.iter().zip(&r.counts) {
        o.insert((*c).to_string(), json!(n));
    }
    J::Object(o)
}

/// As JSON: `{"format_version", "command", "from", "to", "groups": [{"title",
/// "types": {TYPE: {COLUMN: N}}, "total": {COLUMN: N}}]}`.
pub fn json(s: &Stat) -> J {
    json!({
        "format_version": "1",
        "command": s.command,
        "from": s.from,
        "to": s.to,
        "groups": s.groups.iter().map(|g| {
            let mut types = serde_json::Map::new();
            for r in &g.rows {
                types.insert(r.name.clone(), row_json(&s.columns, r));
            }
            json!({"title": g.title, "types": types, "total": row_json(&s.columns, &g.total)})
        }).collect::<Vec<_>>(),
    })
}

/// As Markdown tables.
pub fn markdown(s: &Stat) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### rewind {} --stat: {} → {}\n",
        s.command,
        style::md_code(&s.from),
        style::md_code(&s.to)
    );
    for g in &s.groups {
        let _ = writeln!(out, "**{}**\n", g.title);
        let _ = writeln!(
            out,
            "| Type | {} |\n|---|{}",
            s.columns.join(" | "),
            "---:|".repeat(s.columns.len())
        );
        for r in g.rows.iter().chain(std::iter::once(&g.total)) {
            let cells: Vec<String> = r.counts.iter().map(|n| n.to_string()).collect();
            let name = if std::ptr::eq(r, &g.total) {
                "**total**".to_string()
            } else {
                style::md_code(&r.name)
            };
            let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
        }
        out.push('\n');
    }
    out
}

/// As a whole HTML document.
pub fn html(s: &Stat) -> String {
    let mut page = crate::html::Page::new(&format!(
        "rewind {} --stat: {} → {}",
        s.command, s.from, s.to
    ));
    page.stat("Changes per type", s);
    page.finish()
}
