//! Post-mortem skeletons of incident records: Markdown, self-contained
//! HTML and JSON. Every format renders the same document: a summary, the
//! timeline, the health evidence, what changed, what was reverted, the
//! gate's verdict, the data at risk, the apply, and open questions.

use rewind_odb::{IncidentId, IncidentRecord};

use crate::style::html as esc;
use crate::style::md_text;

/// One block of the document.
enum Block {
    Heading(String),
    Para(String),
    List(Vec<String>),
    Table(Vec<&'static str>, Vec<Vec<String>>),
}

fn seconds(s: Option<f64>) -> String {
    match s {
        None => "unknown".into(),
        Some(s) if s >= 3600.0 => format!(
            "{:.0} h {:.0} min",
            (s / 3600.0).floor(),
            (s % 3600.0) / 60.0
        ),
        Some(s) if s >= 60.0 => format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0),
        Some(s) => format!("{s:.0} s"),
    }
}

fn snapshot(rec: &IncidentRecord, side: &str, id: Option<rewind_odb::SnapshotId>) -> String {
    let Some(id) = id else {
        return "none".into();
    };
    match rec.labels.get(&format!("{side}.tags")) {
        Some(t) => format!("{} ({t})", id.short(12)),
        None => id.short(12),
    }
}

fn changes(list: &[rewind_odb::PlannedChange]) -> Vec<String> {
    list.iter()
        .map(|c| format!("{} [{}]", c.address, c.actions.join(", ")))
        .collect()
}

fn document(id: &IncidentId, rec: &IncidentRecord) -> (String, Vec<Block>) {
    let title = format!("Incident {}: {} ({})", id.short(12), rec.env, rec.outcome);
    let mut b = Vec::new();
    summary(&mut b, id, rec);
    timeline(&mut b, rec);
    evidence(&mut b, rec);
    b.push(Block::Heading("What changed (known-good to bad)".into()));
    if rec.changed.is_empty() {
        b.push(Block::Para("No configuration change.".into()));
    } else {
        b.push(Block::List(rec.changed.clone()));
    }
    reverted(&mut b, rec);
    data_at_risk(&mut b, rec);
    b.push(Block::Heading("Open questions".into()));
    b.push(Block::List(questions(rec)));
    (title, b)
}

/// The table of what, where and how long, and why it stopped.
fn summary(b: &mut Vec<Block>, id: &IncidentId, rec: &IncidentRecord) {
    b.push(Block::Table(
        vec!["", ""],
        vec![
            vec!["Environment".into(), rec.env.clone()],
            vec!["Outcome".into(), rec.outcome.clone()],
            vec!["Bad release".into(), snapshot(rec, "bad", rec.bad)],
            vec!["Rolled back to".into(), snapshot(rec, "good", rec.good)],
            vec!["Snapshot after".into(), snapshot(rec, "result", rec.result)],
            vec!["Time to detect".into(), seconds(rec.time_to_detect)],
            vec!["Time to recover".into(), seconds(rec.time_to_recover)],
            vec!["Recorded".into(), rec.time.clone()],
            vec!["Incident id".into(), id.to_hex()],
        ],
    ));
    if let Some(e) = &rec.error {
        b.push(Block::Para(format!("Stopped: {e}")));
    }
}

fn timeline(b: &mut Vec<Block>, rec: &IncidentRecord) {
    b.push(Block::Heading("Timeline".into()));
    b.push(Block::Table(
        vec!["time (UTC)", "event", "detail"],
        rec.timeline
            .iter()
            .map(|t| vec![t.time.clone(), t.event.clone(), t.detail.clone()])
            .collect(),
    ));
}

/// The health observations before the breach.
fn evidence(b: &mut Vec<Block>, rec: &IncidentRecord) {
    b.push(Block::Heading("Health evidence".into()));
    if rec.evidence.is_empty() {
        b.push(Block::Para(
            "No health checks were recorded (the rollback was started by hand).".into(),
        ));
        return;
    }
    b.push(Block::Table(
        vec!["time (UTC)", "check", "observed", "expected", "state"],
        rec.evidence
            .iter()
            .map(|e| {
                vec![
                    e.time.clone(),
                    e.check.clone(),
                    e.value.clone(),
                    e.expected.clone(),
                    if e.failing {
                        "failing"
                    } else if e.inconclusive {
                        "inconclusive"
                    } else {
                        "ok"
                    }
                    .into(),
                ]
            })
            .collect(),
    ));
}

/// rewind's preview, Terraform's saved plan, the gate and the apply.
fn reverted(b: &mut Vec<Block>, rec: &IncidentRecord) {
    b.push(Block::Heading("What was reverted".into()));
    b.push(Block::Para("rewind's preview (the revert plan):".into()));
    b.push(Block::List(changes(&rec.previewed)));
    if !rec.terraform_plan.is_empty() {
        b.push(Block::Para("Terraform's saved plan:".into()));
        b.push(Block::List(changes(&rec.terraform_plan)));
    }
    if let Some(g) = &rec.gate {
        b.push(Block::Para(format!(
            "Gate: {}",
            if g.passed {
                "passed (Terraform's plan stayed within the preview)"
            } else {
                "REFUSED (Terraform's plan did more than the preview showed)"
            }
        )));
        if !g.differences.is_empty() {
            b.push(Block::List(g.differences.clone()));
        }
    }
    if let Some(a) = &rec.apply {
        b.push(Block::Para(format!(
            "Apply: {} in {:.1} s{}",
            if a.succeeded { "succeeded" } else { "FAILED" },
            a.seconds,
            a.exit_code
                .filter(|c| *c != 0)
                .map(|c| format!(" (exit {c})"))
                .unwrap_or_default()
        )));
    }
}

/// The data-bearing objects the rollback destroys or replaces.
fn data_at_risk(b: &mut Vec<Block>, rec: &IncidentRecord) {
    b.push(Block::Heading("Data at risk".into()));
    if rec.data_at_risk.is_empty() {
        b.push(Block::Para(
            "The rollback destroys or replaces no data-bearing object.".into(),
        ));
        return;
    }
    b.push(Block::Table(
        vec![
            "object",
            "holds",
            "severity",
            "what restoring it takes",
            "settings in state",
        ],
        rec.data_at_risk
            .iter()
            .map(|d| {
                vec![
                    d.address.clone(),
                    d.holds.clone(),
                    d.severity.clone(),
                    d.recovery.clone(),
                    d.settings.join("; "),
                ]
            })
            .collect(),
    ));
}

fn questions(rec: &IncidentRecord) -> Vec<String> {
    let mut q = Vec::new();
    if !rec.changed.is_empty() {
        q.push(format!(
            "Which of the {} change{} above caused the breach?",
            rec.changed.len(),
            if rec.changed.len() == 1 { "" } else { "s" }
        ));
    }
    q.push("Why did testing before the deploy not catch it?".into());
    if rec.time_to_detect.is_some() {
        q.push(format!(
            "Could the breach have been detected sooner than {}?",
            seconds(rec.time_to_detect)
        ));
    } else {
        q.push("When did the problem start, and how was it noticed?".into());
    }
    if rec.gate.as_ref().is_some_and(|g| !g.passed) {
        q.push("Why did Terraform's plan differ from the preview (drift, a change outside Terraform, a stale snapshot)?".into());
    }
    if rec.apply.as_ref().is_some_and(|a| !a.succeeded) {
        q.push("Why did the apply fail, and what state is the environment in now?".into());
    }
    for d in &rec.data_at_risk {
        q.push(format!(
            "Was data lost in {} ({})? {}",
            d.address, d.holds, d.recovery
        ));
    }
    if rec.outcome == "breach" || rec.outcome == "policy-refused" {
        q.push("The environment was not rolled back automatically: what was done instead?".into());
    }
    q.push("What would prevent this class of failure from reaching the environment again?".into());
    q
}

/// The post-mortem skeleton in Markdown.
pub fn markdown(id: &IncidentId, rec: &IncidentRecord) -> String {
    let (title, blocks) = document(id, rec);
    let mut s = format!("# {}\n", md_text(&title));
    for b in blocks {
        s.push('\n');
        match b {
            Block::Heading(h) => s.push_str(&format!("## {h}\n")),
            Block::Para(p) => s.push_str(&format!("{}\n", md_text(&p))),
            Block::List(items) => {
                for i in items {
                    s.push_str(&format!("- {}\n", md_text(&i)));
                }
            }
            Block::Table(head, rows) => {
                s.push_str(&format!(
                    "| {} |\n|{}\n",
                    head.join(" | "),
                    "---|".repeat(head.len())
                ));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| md_text(c)).collect();
                    s.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
            }
        }
    }
    s
}

/// The post-mortem skeleton as one self-contained HTML page.
pub fn html(id: &IncidentId, rec: &IncidentRecord) -> String {
    let (title, blocks) = document(id, rec);
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\"><title>{t}</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}</style></head><body>\n<h1>{t}</h1>\n",
        t = esc(&title),
        csp = crate::html::CSP
    );
    for b in blocks {
        match b {
            Block::Heading(h) => s.push_str(&format!("<h2>{}</h2>\n", esc(&h))),
            Block::Para(p) => s.push_str(&format!("<p>{}</p>\n", esc(&p))),
            Block::List(items) => {
                s.push_str("<ul>\n");
                for i in items {
                    s.push_str(&format!("<li>{}</li>\n", esc(&i)));
                }
                s.push_str("</ul>\n");
            }
            Block::Table(head, rows) => {
                s.push_str("<table>\n");
                if head.iter().any(|h| !h.is_empty()) {
                    s.push_str("<tr>");
                    for h in head {
                        s.push_str(&format!("<th>{}</th>", esc(h)));
                    }
                    s.push_str("</tr>\n");
                }
                for r in rows {
                    s.push_str("<tr>");
                    for c in r {
                        s.push_str(&format!("<td>{}</td>", esc(&c)));
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</table>\n");
            }
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// The record as JSON (`format_version` 1: the record's fields under
/// `incident`, its id beside them).
pub fn json(id: &IncidentId, rec: &IncidentRecord) -> String {
    let doc = serde_json::json!({
        "format_version": "1",
        "id": id.to_hex(),
        "incident": rec,
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON always serializes");
    s.push('\n');
    s
}
