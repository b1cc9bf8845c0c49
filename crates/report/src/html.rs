//! Self-contained HTML reports: one file, no script, no network access,
//! readable offline and printable. Summary first (counts, destroys,
//! risks), then the changes with their values before and after, the steps
//! as waves and an inline SVG picture of the dependencies.
//!
//! A report is a [`Page`] of sections; the section builders
//! ([`Page::plan_summary`], [`Page::plan_details`], [`Page::diff_summary`],
//! [`Page::diff_details`], [`Page::audit`], [`Page::snapshots`],
//! [`Page::fields`], [`Page::stat`]) can be combined freely, so other reports (an incident
//! post-mortem) reuse them:
//!
//! ```
//! use rewind_report::html::{AuditEntry, Page};
//! let mut page = Page::new("prod: release 42");
//! page.audit(&[AuditEntry {
//!     time: "2026-11-30T10:00:00Z".into(),
//!     reference: "envs/prod/good".into(),
//!     old: None,
//!     new: Some("3f2a…".into()),
//!     reason: "mark-good: health checks passed".into(),
//!     who: "alice@ci-7".into(),
//! }]);
//! let html = page.finish();
//! assert!(html.starts_with("<!DOCTYPE html>") && html.contains("envs/prod/good"));
//! ```

use std::fmt::Write as _;

use rewind_diff::{AttrChange, AttrOp, ChangeKind, NodeChange};
use rewind_plan::{Action, Change};

use crate::diff::{summary_counts, word, DiffReport};
use crate::plan::PlanReport;
use crate::style::html as esc;

/// The pages' Content-Security-Policy: a page runs no script and loads
/// nothing (its style is inline, its images `data:`), so text that got
/// past the escaping could still neither run nor fetch anything.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const CSS: &str = r#"
:root { color-scheme: light; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg2: #f6f8fa;
  --add: #1a7f37; --del: #cf222e; --chg: #9a6700; --mov: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: var(--fg);
  margin: 0 auto; max-width: 1200px; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 32px; }
h3 { font-size: 15px; margin: 20px 0 6px; }
.meta { color: var(--muted); margin: 0 0 16px; }
nav ul { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
code, pre, .addr { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--bg2); padding: 8px; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg2); }
td.val { font-family: ui-monospace, monospace; font-size: 12.5px; white-space: pre-wrap; word-break: break-all; }
.counts { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; padding: 0; list-style: none; }
.counts li { border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; background: var(--bg2); }
.counts b { font-size: 18px; margin-right: 4px; }
.callout { border-left: 4px solid var(--del); background: #ffebe9; padding: 8px 12px; margin: 8px 0; }
.callout.warn { border-color: var(--chg); background: #fff8c5; }
.callout.note { border-color: var(--mov); background: #ddf4ff; }
.sym { font-family: ui-monospace, monospace; font-weight: bold; white-space: nowrap; }
.create, .added { color: var(--add); } .delete, .removed, .replaced { color: var(--del); }
.update, .changed { color: var(--chg); } .moved, .forget { color: var(--mov); }
.change { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 8px 0; break-inside: avoid; }
.change h3 { margin: 0 0 4px; }
.why { color: var(--muted); margin: 0; padding-left: 18px; }
.why, .callout, td, h3, p { overflow-wrap: anywhere; }
.figure { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 4px; }
svg.graph text { font: 11.5px ui-monospace, monospace; fill: var(--fg); }
svg.graph text.wave { font: bold 13px sans-serif; fill: var(--muted); }
svg.graph .step rect { fill: #fff; stroke: #8c959f; stroke-width: 1.2; }
svg.graph .step.create rect { stroke: var(--add); fill: #dafbe1; } svg.graph .step.delete rect { stroke: var(--del); fill: #ffebe9; }
svg.graph .step.update rect { stroke: var(--chg); fill: #fff8c5; } svg.graph .step.forget rect { stroke: var(--mov); fill: #ddf4ff; }
svg.graph .edge { fill: none; stroke: #8c959f; stroke-width: 1.2; }
svg.graph .edge.added { stroke: var(--add); } svg.graph .edge.removed { stroke: var(--del); stroke-dasharray: 5 4; }
.caption { color: var(--muted); font-size: 12.5px; }
footer { color: var(--muted); margin-top: 32px; border-top: 1px solid var(--line); padding-top: 8px; font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  nav { display: none; }
  h2 { break-after: avoid; }
  .figure { overflow: visible; border: none; }
  svg.graph { max-width: 100%; height: auto; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// One entry of an audit trail: a ref change, who made it and why.
#[derive(Clone, Debug, Default)]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub time: String,
    /// The ref: `tags/v42`, `envs/prod/latest`, `envs/prod/good`.
    pub reference: String,
    /// The snapshot it named before (short id), if any.
    pub old: Option<String>,
    /// The snapshot it names after (short id), if any.
    pub new: Option<String>,
    /// Why (`snapshot: MSG`, `mark-good: MSG`, `tag`).
    pub reason: String,
    /// Who (`alice@host (github-actions: octocat, org/repo#812)`), empty
    /// when the store did not record it.
    pub who: String,
}

/// One snapshot in a list of snapshots.
#[derive(Clone, Debug, Default)]
pub struct SnapshotRow {
    /// Its id (short).
    pub id: String,
    /// Its marks: tags, `prod@latest`, `prod@good`.
    pub marks: Vec<String>,
    /// Its environment.
    pub env: String,
    /// When it was taken.
    pub time: String,
    /// Its message.
    pub message: String,
    /// `key=value` labels and the git commit.
    pub details: Vec<String>,
    /// Resources in its configuration.
    pub resources: u64,
    /// Deployed instances (from state).
    pub instances: u64,
}

/// An HTML document being built, section by section.
pub struct Page {
    title: String,
    subtitle: String,
    toc: Vec<(String, String)>,
    body: String,
}

impl Page {
    /// An empty page with a title.
    pub fn new(title: &str) -> Page {
        Page {
            title: title.to_string(),
            subtitle: String::new(),
            toc: Vec::new(),
            body: String::new(),
        }
    }

    /// A line under the title (what was compared, when).
    pub fn subtitle(&mut self, text: &str) -> &mut Page {
        self.subtitle = text.to_string();
        self
    }

    /// Appends a section: a heading (listed in the page's contents) and
    /// HTML that the caller has escaped.
    pub fn section(&mut self, id: &str, heading: &str, html: &str) -> &mut Page {
        let id = format!("{id}-{}", self.toc.len());
        let _ = write!(
            self.body,
            "<section id=\"{id}\">\n<h2>{}</h2>\n{html}</section>\n",
            esc(heading)
        );
        self.toc.push((id, heading.to_string()));
        self
    }

    /// The whole document.
    pub fn finish(&self) -> String {
        let mut out = String::with_capacity(self.body.len() + CSS.len() + 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n<meta name=\"generator\" content=\"rewind {}\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
            env!("CARGO_PKG_VERSION"),
            esc(&self.title),
            esc(&self.title)
        );
        if !self.subtitle.is_empty() {
            let _ = writeln!(out, "<p class=\"meta\">{}</p>", esc(&self.subtitle));
        }
        if self.toc.len() > 1 {
            out.push_str("<nav><ul>");
            for (id, h) in &self.toc {
                let _ = write!(out, "<li><a href=\"#{id}\">{}</a></li>", esc(h));
            }
            out.push_str("</ul></nav>\n");
        }
        out.push_str("</header>\n<main>\n");
        out.push_str(&self.body);
        let _ = write!(
            out,
            "</main>\n<footer>Written by rewind {}. This file is self-contained: no script, no external resources.</footer>\n</body>\n</html>\n",
            env!("CARGO_PKG_VERSION")
        );
        out
    }

    /// The sections of a revert plan: [`Page::plan_summary`], then
    /// [`Page::plan_details`].
    pub fn plan(&mut self, r: &PlanReport) -> &mut Page {
        self.plan_summary(r).plan_details(r)
    }

    /// A plan's summary: counts, blocked and unknown instances, destroys
    /// and risks, notes.
    pub fn plan_summary(&mut self, r: &PlanReport) -> &mut Page {
        let p = r.plan;
        let (add, change, destroy, replace, forget) = crate::plan::counts(p);
        let waves = p.steps.iter().map(|s| s.wave + 1).max().unwrap_or(0);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<p>From <code>{}</code> back to <code>{}</code>.</p>",
            esc(&r.from.label),
            esc(&r.to.label)
        );
        s.push_str("<ul class=\"counts\">");
        for (n, what, class) in [
            (add, "to add", "create"),
            (change, "to change", "update"),
            (destroy, "to destroy", "delete"),
            (replace, "replacements", "replaced"),
            (forget, "to forget", "forget"),
            (p.steps.len(), "steps", ""),
            (waves, "waves", ""),
        ] {
            if n > 0 || matches!(what, "to add" | "to change" | "to destroy") {
                let _ = write!(s, "<li class=\"{class}\"><b>{n}</b>{what}</li>");
            }
        }
        s.push_str("</ul>\n");
        if !p.from_state {
            s.push_str("<p class=\"callout note\">The current side has no state file: instances come from its configuration and deletes follow its dependency graph.</p>\n");
        }
        if !p.blocked.is_empty() {
            let _ = writeln!(
                s,
                "<div class=\"callout\"><b>Blocked by <code>prevent_destroy</code></b> (rewind refuses this plan unless <code>--allow-destroy-protected</code>): {}</div>",
                code_list(&p.blocked)
            );
        }
        if !p.unknown_instances.is_empty() {
            let _ = writeln!(
                s,
                "<div class=\"callout\"><b>Instances known only after apply</b> (Terraform refuses to plan these): {}</div>",
                code_list(&p.unknown_instances)
            );
        }
        let risky = crate::plan::destroys_and_risks(p);
        if !risky.is_empty() {
            s.push_str("<h3>Destroys and risks</h3>\n<table><tr><th></th><th>Address</th><th>Action</th><th>Risks</th></tr>\n");
            for c in &risky {
                let risks: Vec<String> = c.risks.iter().map(|x| esc(&x.message)).collect();
                let _ = writeln!(
                    s,
                    "<tr><td class=\"sym {}\">{}</td><td class=\"addr\">{}</td><td>{}</td><td>{}</td></tr>",
                    action_class(c),
                    esc(crate::plan::symbol(c)),
                    esc(&c.address.to_string()),
                    esc(crate::plan::verb(c)),
                    risks.join("<br>")
                );
            }
            s.push_str("</table>\n");
        }
        for n in &p.notes {
            let class = if n.kind == rewind_plan::RiskKind::CheckFailed {
                "warn"
            } else {
                "note"
            };
            let _ = writeln!(s, "<p class=\"callout {class}\">{}</p>", esc(&n.message));
        }
        if p.is_empty() {
            s.push_str("<p>No changes: the deployment already matches the target.</p>\n");
        }
        self.section("plan-summary", "Plan summary", &s)
    }

    /// A plan's details: the changes with their values before and after,
    /// the steps by wave and the picture of their order.
    pub fn plan_details(&mut self, r: &PlanReport) -> &mut Page {
        let p = r.plan;
        if p.is_empty() {
            return self;
        }
        let mut s = String::new();
        let mut sorted: Vec<&Change> = p.changes.iter().collect();
        sorted.sort_by_key(|c| (!c.destroys(), c.address.clone()));
        for c in sorted {
            change_html(&mut s, c);
        }
        self.section("plan-changes", "Changes", &s);
        self.section("plan-steps", "Steps by wave", &steps_html(p));
        self
    }

    /// The sections of a semantic diff: [`Page::diff_summary`], then
    /// [`Page::diff_details`].
    pub fn diff(&mut self, r: &DiffReport) -> &mut Page {
        self.diff_summary(r).diff_details(r)
    }

    /// A diff's summary: counts per part and the destroys.
    pub fn diff_summary(&mut self, r: &DiffReport) -> &mut Page {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<p>From <code>{}</code> to <code>{}</code>.</p>",
            esc(&r.from.label),
            esc(&r.to.label)
        );
        for (title, changes, shown) in [
            ("Configuration", &r.diff.config, true),
            (
                "Deployed instances (state)",
                &r.diff.instances,
                r.diff.state_compared,
            ),
        ] {
            if !shown {
                continue;
            }
            let _ = write!(s, "<h3>{title}</h3>\n<ul class=\"counts\">");
            let counts = summary_counts(changes);
            if counts.is_empty() {
                s.push_str("<li>no changes</li>");
            }
            for (w, n) in counts {
                let _ = write!(s, "<li class=\"{w}\"><b>{n}</b>{w}</li>");
            }
            s.push_str("</ul>\n");
            let destroys: Vec<&NodeChange> = changes
                .iter()
                .filter(|c| matches!(word(c), "removed" | "replaced"))
                .collect();
            if !destroys.is_empty() {
                let _ = writeln!(
                    s,
                    "<div class=\"callout\"><b>Destroys ({}):</b> {}</div>",
                    destroys.len(),
                    destroys
                        .iter()
                        .map(|c| format!(
                            "<code>{}</code> {}",
                            esc(&c.address.to_string()),
                            word(c)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        self.section("diff-summary", "Diff summary", &s)
    }

    /// A diff's details: each change with its values before and after,
    /// the changed dependencies as a picture, and the changed files when
    /// asked for.
    pub fn diff_details(&mut self, r: &DiffReport) -> &mut Page {
        for (id, title, changes, shown) in [
            ("diff-config", "Configuration changes", &r.diff.config, true),
            (
                "diff-instances",
                "Deployed instance changes",
                &r.diff.instances,
                r.diff.state_compared,
            ),
        ] {
            if !shown || changes.is_empty() {
                continue;
            }
            let mut s = String::new();
            let mut sorted: Vec<&NodeChange> = changes.iter().collect();
            sorted.sort_by_key(|c| (crate::diff::rank(c), c.address.clone()));
            for c in sorted {
                s.push_str(&diff_change(c));
            }
            self.section(id, title, &s);
        }
        if let Some((svg, drawn)) = crate::svg::diff_edges(r.diff) {
            let mut s = String::from("<div class=\"figure\">\n");
            s.push_str(&svg);
            let _ = writeln!(
                s,
                "</div>\n<p class=\"caption\">Solid arrows: dependencies added; dashed: dependencies removed.{}</p>",
                if drawn.omitted > 0 {
                    format!(
                        " {} more changed dependencies are listed with their changes.",
                        drawn.omitted
                    )
                } else {
                    String::new()
                }
            );
            self.section("diff-graph", "Changed dependencies", &s);
        }
        if let Some(files) = &r.files {
            let mut s = String::new();
            if files.is_empty() {
                s.push_str("<p>No file changes.</p>\n");
            }
            for f in files {
                let _ = writeln!(
                    s,
                    "<h3><code>{}</code> {}</h3>",
                    esc(&f.path),
                    esc(f.change)
                );
                if let Some(n) = &f.note {
                    let _ = writeln!(s, "<p>{}</p>", esc(n));
                }
                if let Some(d) = &f.diff {
                    let _ = writeln!(s, "<pre>{}</pre>", esc(d));
                }
            }
            self.section("diff-files", "Files", &s);
        }
        self
    }

    /// A `--stat` table (counts per resource type).
    pub fn stat(&mut self, title: &str, stat: &crate::stat::Stat) -> &mut Page {
        let mut s = String::new();
        for group in &stat.groups {
            let _ = write!(
                s,
                "<h3>{}</h3>\n<table><tr><th>Type</th>",
                esc(&group.title)
            );
            for c in &stat.columns {
                let _ = write!(s, "<th>{c}</th>");
            }
            s.push_str("</tr>\n");
            for row in group.rows.iter().chain(std::iter::once(&group.total)) {
                let _ = write!(s, "<tr><td class=\"addr\">{}</td>", esc(&row.name));
                for n in &row.counts {
                    let _ = write!(s, "<td>{n}</td>");
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</table>\n");
        }
        self.section("stat", title, &s)
    }

    /// The audit trail: every ref change, when, who made it and why.
    pub fn audit(&mut self, entries: &[AuditEntry]) -> &mut Page {
        let mut s = String::new();
        if entries.is_empty() {
            s.push_str("<p>No ref changes.</p>\n");
        } else {
            s.push_str("<table><tr><th>When</th><th>Ref</th><th>From</th><th>To</th><th>Who</th><th>Why</th></tr>\n");
            for e in entries {
                let _ = writeln!(
                    s,
                    "<tr><td>{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td><td class=\"addr\">{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&e.time),
                    esc(&e.reference),
                    esc(e.old.as_deref().unwrap_or("-")),
                    esc(e.new.as_deref().unwrap_or("-")),
                    if e.who.is_empty() { "(not recorded)".to_string() } else { esc(&e.who) },
                    esc(&e.reason)
                );
            }
            s.push_str("</table>\n");
        }
        self.section("audit", "Audit trail (ref log)", &s)
    }

    /// A list of snapshots, newest first.
    pub fn snapshots(&mut self, title: &str, rows: &[SnapshotRow]) -> &mut Page {
        let mut s = String::new();
        if rows.is_empty() {
            s.push_str("<p>No snapshots.</p>\n");
        } else {
            s.push_str("<table><tr><th>Snapshot</th><th>Marks</th><th>Environment</th><th>Taken</th><th>Message</th><th>Resources</th><th>Instances</th><th>Details</th></tr>\n");
            for r in rows {
                let _ = writeln!(
                    s,
                    "<tr><td class=\"addr\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&r.id),
                    esc(&r.marks.join(", ")),
                    esc(&r.env),
                    esc(&r.time),
                    esc(&r.message),
                    r.resources,
                    r.instances,
                    esc(&r.details.join(" "))
                );
            }
            s.push_str("</table>\n");
        }
        self.section("snapshots", title, &s)
    }

    /// A table of named facts (one snapshot's record).
    pub fn fields(&mut self, title: &str, rows: &[(String, String)]) -> &mut Page {
        let mut s = String::from("<table>\n");
        for (k, v) in rows {
            let _ = writeln!(
                s,
                "<tr><th>{}</th><td class=\"val\">{}</td></tr>",
                esc(k),
                esc(v)
            );
        }
        s.push_str("</table>\n");
        self.section("fields", title, &s)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn code_list(items: &[impl ToString]) -> String {
    items
        .iter()
        .map(|b| format!("<code>{}</code>", esc(&b.to_string())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn action_class(c: &Change) -> &'static str {
    match c.actions.as_slice() {
        [Action::Create] => "create",
        [Action::Update] => "update",
        [Action::Forget] | [Action::NoOp] => "forget",
        [Action::Read] => "read",
        _ => "delete",
    }
}

/// A diff's value as shown (sensitive values follow the diff's own
/// redaction: a hidden value is never rendered).
fn attr_cells(a: &AttrChange) -> (String, String) {
    let hidden = a.sensitive && a.before.is_none() && a.after.is_none();
    let v = |x: &Option<rewind_model::Value>, present: bool| {
        if hidden {
            if present {
                "(sensitive value)".to_string()
            } else {
                String::new()
            }
        } else {
            x.as_ref().map(|v| v.render()).unwrap_or_default()
        }
    };
    (
        v(&a.before, a.op != AttrOp::Add),
        v(&a.after, a.op != AttrOp::Remove),
    )
}

fn diff_change(c: &NodeChange) -> String {
    let w = word(c);
    let mut s = format!(
        "<div class=\"change\"><h3><span class=\"sym {w}\">{}</span> <code>{}</code> {w}</h3>\n",
        esc(crate::diff::symbol(c)),
        esc(&c.address)
    );
    let loc = crate::diff::location(c);
    if !loc.is_empty() {
        let _ = writeln!(s, "<p class=\"caption\">{}</p>", esc(&loc));
    }
    if let ChangeKind::Moved { from } = &c.change {
        let _ = writeln!(s, "<p>Moved from <code>{}</code>.</p>", esc(from));
    }
    if c.is_replacement() {
        let _ = writeln!(
            s,
            "<p class=\"delete\">Forces replacement: {}</p>",
            code_list(&c.forces_replacement)
        );
    }
    if !c.attrs.is_empty() || !c.meta.is_empty() {
        s.push_str("<table><tr><th>Attribute</th><th>Before</th><th>After</th></tr>\n");
        for (a, fact) in c
            .attrs
            .iter()
            .map(|a| (a, false))
            .chain(c.meta.iter().map(|a| (a, true)))
        {
            let (before, after) = attr_cells(a);
            let path = if a.path.0.is_empty() {
                "value".to_string()
            } else {
                a.path.to_string()
            };
            let _ = writeln!(
                s,
                "<tr><td class=\"addr\">{}{}</td><td class=\"val\">{}</td><td class=\"val\">{}</td></tr>",
                esc(&path),
                if fact { " (fact)" } else { "" },
                esc(&before),
                esc(&after)
            );
        }
        s.push_str("</table>\n");
    }
    if !c.edges_added.is_empty() || !c.edges_removed.is_empty() {
        s.push_str("<ul class=\"why\">");
        for e in &c.edges_added {
            let _ = write!(
                s,
                "<li class=\"added\">now depends on <code>{}</code> ({})</li>",
                esc(&e.to),
                e.kind
            );
        }
        for e in &c.edges_removed {
            let _ = write!(
                s,
                "<li class=\"removed\">no longer depends on <code>{}</code> ({})</li>",
                esc(&e.to),
                e.kind
            );
        }
        s.push_str("</ul>\n");
    }
    s.push_str("</div>\n");
    s
}

/// A plan as a whole HTML document.
pub fn plan(r: &PlanReport) -> String {
    let mut page = Page::new(&format!("rewind plan: {} → {}", r.from.label, r.to.label));
    page.plan(r);
    page.finish()
}

/// A diff as a whole HTML document.
pub fn diff(r: &DiffReport) -> String {
    let mut page = Page::new(&format!("rewind diff: {} → {}", r.from.label, r.to.label));
    page.diff(r);
    page.finish()
}

/// One change of a plan: what it does, where it moved from, why, and its
/// arguments before and after (sensitive ones hidden).
fn change_html(s: &mut String, c: &Change) {
    let _ = writeln!(
        s,
        "<div class=\"change\"><h3><span class=\"sym {}\">{}</span> <code>{}</code> will be {}</h3>",
        action_class(c),
        esc(crate::plan::symbol(c)),
        esc(&c.address.to_string()),
        esc(crate::plan::verb(c))
    );
    if let Some(prev) = &c.previous_address {
        let _ = writeln!(
            s,
            "<p>Moved from <code>{}</code>.</p>",
            esc(&prev.to_string())
        );
    }
    if !c.reasons.is_empty() {
        s.push_str("<ul class=\"why\">");
        for why in &c.reasons {
            let _ = write!(s, "<li>{}</li>", esc(why));
        }
        s.push_str("</ul>\n");
    }
    if !c.attributes.is_empty() {
        s.push_str("<table><tr><th>Argument</th><th>Before</th><th>After</th></tr>\n");
        for a in &c.attributes {
            let shown = |v: &Option<String>| match v {
                _ if a.sensitive => "(sensitive value)".to_string(),
                Some(v) => v.clone(),
                None => "null".to_string(),
            };
            let _ = writeln!(
                s,
                "<tr><td class=\"addr\">{}{}</td><td class=\"val\">{}</td><td class=\"val\">{}</td></tr>",
                esc(&a.path),
                if a.forces_replacement {
                    " <span class=\"delete\">(forces replacement)</span>"
                } else {
                    ""
                },
                esc(&shown(&a.before)),
                esc(&shown(&a.after))
            );
        }
        s.push_str("</table>\n");
    }
    s.push_str("</div>\n");
}

/// The picture of the plan's waves with its caption, then a table per
/// wave.
fn steps_html(p: &rewind_plan::Plan) -> String {
    let waves = p.steps.iter().map(|s| s.wave + 1).max().unwrap_or(0);
    let mut s = String::new();
    let (svg, drawn) = crate::svg::plan_waves(p);
    s.push_str("<div class=\"figure\">\n");
    s.push_str(&svg);
    s.push_str("</div>\n");
    let _ = writeln!(
        s,
        "<p class=\"caption\">Each column is a wave of steps that can run in parallel; an arrow leads from a step to a step that waits for it. {} arrow{} drawn; {} ordering{} left out because other arrows imply {}.{}</p>",
        drawn.edges,
        plural(drawn.edges),
        drawn.implied,
        plural(drawn.implied),
        if drawn.implied == 1 { "it" } else { "them" },
        if drawn.omitted > 0 {
            format!(
                " The picture shows the first {} steps; {} more are in the table below.",
                drawn.nodes, drawn.omitted
            )
        } else {
            String::new()
        }
    );
    for w in 0..waves {
        let _ = writeln!(s, "<h3>Wave {w}</h3>\n<table><tr><th>Step</th><th>Operation</th><th>Address</th><th>After steps</th></tr>");
        for st in p.steps.iter().filter(|st| st.wave == w) {
            let after: Vec<String> = st.after.iter().map(|a| a.to_string()).collect();
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td class=\"addr\">{}{}</td><td>{}</td></tr>",
                st.index,
                match st.operation {
                    Action::Create => "create",
                    Action::Delete => "delete",
                    Action::Update => "update",
                    Action::Read => "read",
                    _ => "forget",
                },
                st.operation.as_str(),
                esc(&st.address.to_string()),
                if st.deposed { " (deposed)" } else { "" },
                after.join(", ")
            );
        }
        s.push_str("</table>\n");
    }
    s
}
