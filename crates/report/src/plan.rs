//! A revert plan as text, JSON (the stable contract of DESIGN.md),
//! Markdown and DOT.

use std::fmt::Write as _;

use rewind_plan::{Action, Change, Plan, RiskKind, Step};
use serde_json::{json, Value as J};

use crate::budget::{Fit, MarkdownOptions};
use crate::diff::SideInfo;
use crate::style::{self, Style};

/// Format version of the plan JSON document (docs/plan-json.md).
pub const PLAN_FORMAT_VERSION: &str = "1";

/// Everything a plan report shows.
pub struct PlanReport<'a> {
    /// The deployment now.
    pub from: SideInfo,
    /// The version to go back to.
    pub to: SideInfo,
    /// The plan.
    pub plan: &'a Plan,
}

pub(crate) fn symbol(c: &Change) -> &'static str {
    match c.actions.as_slice() {
        [Action::Create] => "+",
        [Action::Update] => "~",
        [Action::Delete] => "-",
        [Action::Delete, Action::Create] => "-/+",
        [Action::Create, Action::Delete] => "+/-",
        [Action::Forget] => ".",
        [Action::Read] => "<=",
        _ => " ",
    }
}

pub(crate) fn verb(c: &Change) -> &'static str {
    match c.actions.as_slice() {
        [Action::Create] => "created",
        [Action::Update] => "updated in place",
        [Action::Delete] if c.deposed.is_some() => "deleted (deposed object)",
        [Action::Delete] => "destroyed",
        [Action::Delete, Action::Create] => "replaced (destroy, then create)",
        [Action::Create, Action::Delete] => "replaced (create, then destroy)",
        [Action::Forget] => "forgotten (no longer managed, not destroyed)",
        [Action::Read] => "read during apply",
        [Action::NoOp] if c.importing.is_some() => "imported",
        [Action::NoOp] => "moved only",
        _ => "changed",
    }
}

fn step_symbol(s: &Step) -> &'static str {
    match s.operation {
        Action::Create => "+",
        Action::Update => "~",
        Action::Delete => "-",
        Action::Forget => ".",
        Action::Read => "<=",
        Action::NoOp => " ",
    }
}

fn step_label(s: &Step) -> String {
    format!(
        "{} {}{}",
        s.operation.as_str(),
        s.address,
        if s.deposed { " (deposed)" } else { "" }
    )
}

/// The changes that destroy or carry a risk, shown first everywhere.
pub(crate) fn destroys_and_risks(plan: &Plan) -> Vec<&Change> {
    plan.changes
        .iter()
        .filter(|c| c.destroys() || !c.risks.is_empty())
        .collect()
}

/// Terraform's counts: a replace is one add and one destroy.
pub(crate) fn counts(plan: &Plan) -> (usize, usize, usize, usize, usize) {
    let (mut add, mut change, mut destroy, mut replace, mut forget) = (0, 0, 0, 0, 0);
    for c in &plan.changes {
        match c.actions.as_slice() {
            [Action::Create] => add += 1,
            [Action::Update] => change += 1,
            [Action::Delete] => destroy += 1,
            [Action::Forget] => forget += 1,
            [_, _] => {
                add += 1;
                destroy += 1;
                replace += 1;
            }
            _ => {}
        }
    }
    (add, change, destroy, replace, forget)
}

fn summary(plan: &Plan) -> String {
    let (add, change, destroy, replace, forget) = counts(plan);
    let waves = plan.steps.iter().map(|s| s.wave + 1).max().unwrap_or(0);
    let imports = plan
        .changes
        .iter()
        .filter(|c| c.importing.is_some())
        .count();
    let mut s = String::from("Plan: ");
    if imports > 0 {
        let _ = write!(s, "{imports} to import, ");
    }
    let _ = write!(s, "{add} to add, {change} to change, {destroy} to destroy");
    if replace > 0 {
        let _ = write!(s, " ({replace} of them replacements)");
    }
    if forget > 0 {
        let _ = write!(s, ", {forget} to forget");
    }
    let moved = plan
        .changes
        .iter()
        .filter(|c| c.previous_address.is_some())
        .count();
    if moved > 0 {
        let _ = write!(s, ", {moved} moved");
    }
    let _ = write!(s, ". {} steps in {waves} waves.", plan.steps.len());
    s
}

/// Text: destroys and risks first, then every change, then the steps by wave.
pub fn text(r: &PlanReport, st: &Style) -> String {
    let p = r.plan;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} → {}\n",
        st.bold("rewind plan:"),
        r.from.label,
        r.to.label
    );
    if !p.from_state {
        out.push_str(&st.yellow("Note: the current side has no state file: instances come from its configuration and deletes follow its dependency graph.\n\n"));
    }
    text_refused(&mut out, st, p);
    text_risks(&mut out, st, p);
    for n in &p.notes {
        let label = if n.kind == RiskKind::CheckFailed {
            "warning:"
        } else {
            "note:"
        };
        let _ = writeln!(out, "{} {}", st.yellow(label), n.message);
    }
    if !p.notes.is_empty() {
        out.push('\n');
    }
    if p.is_empty() {
        out.push_str("No changes: the deployment already matches the target.\n");
        return out;
    }
    text_changes(&mut out, st, p);
    text_steps(&mut out, st, p);
    let _ = writeln!(out, "\n{}", st.bold(&summary(p)));
    out
}

/// What Terraform would refuse: destroys of `prevent_destroy` resources
/// and instances known only after apply.
fn text_refused(out: &mut String, st: &Style, p: &Plan) {
    text_refused_list(
        out,
        st,
        &p.blocked,
        "Blocked by prevent_destroy (pass --allow-destroy-protected to plan anyway):",
        "✗",
    );
    text_refused_list(
        out,
        st,
        &p.unknown_instances,
        "Instances known only after apply (Terraform refuses to plan these: Invalid count/for_each argument):",
        "?",
    );
}

fn text_refused_list(
    out: &mut String,
    st: &Style,
    items: &[impl std::fmt::Display],
    title: &str,
    mark: &str,
) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", st.red(&st.bold(title)));
    for b in items {
        let _ = writeln!(out, "  {} {b}", st.red(mark));
    }
    out.push('\n');
}

/// Destroys and replacements first, each with its risks.
fn text_risks(out: &mut String, st: &Style, p: &Plan) {
    let risky = destroys_and_risks(p);
    if risky.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", st.bold("Destroys and risks:"));
    for c in &risky {
        let _ = writeln!(
            out,
            "  {} {} will be {}",
            st.red(&format!("{:>3}", symbol(c))),
            st.bold(&c.address.to_string()),
            verb(c)
        );
        for risk in &c.risks {
            let _ = writeln!(out, "        {} {}", st.red("!"), risk.message);
        }
    }
    out.push('\n');
}

/// Every change with its reasons.
fn text_changes(out: &mut String, st: &Style, p: &Plan) {
    let _ = writeln!(out, "{}", st.bold("Changes:"));
    for c in &p.changes {
        let sym = format!("{:>3}", symbol(c));
        let painted = match symbol(c) {
            "+" => st.green(&sym),
            "-" | "-/+" | "+/-" => st.red(&sym),
            _ => st.yellow(&sym),
        };
        let mut line = format!(
            "  {painted} {} will be {}",
            st.bold(&c.address.to_string()),
            verb(c)
        );
        if let Some(prev) = &c.previous_address {
            let _ = write!(line, " (moved from {prev})");
        }
        match &c.importing {
            Some(id) if !c.is_noop() => {
                if id == rewind_plan::SECRET_IMPORT_ID {
                    let _ = write!(line, " (imported from {id})");
                } else {
                    let _ = write!(line, " (imported from {id:?})");
                }
            }
            _ => {}
        }
        let _ = writeln!(out, "{line}");
        for reason in &c.reasons {
            let _ = writeln!(out, "        {}", st.dim(&format!("# {reason}")));
        }
    }
}

/// The single operations by wave, each with what it waits for.
fn text_steps(out: &mut String, st: &Style, p: &Plan) {
    let _ = writeln!(
        out,
        "\n{}",
        st.bold("Steps (each wave can run in parallel):")
    );
    let mut wave = usize::MAX;
    for s in &p.steps {
        if s.wave != wave {
            wave = s.wave;
            let _ = writeln!(out, "  wave {wave}");
        }
        let after = if s.after.is_empty() {
            String::new()
        } else {
            st.dim(&format!(
                "  after {}",
                s.after
                    .iter()
                    .map(|a| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        let sym = step_symbol(s);
        let painted = match sym {
            "+" => st.green(sym),
            "-" => st.red(sym),
            _ => st.yellow(sym),
        };
        let _ = writeln!(
            out,
            "    {:>4}  {painted} {}{after}",
            s.index,
            step_label(s)
        );
    }
}

fn side_json(s: &SideInfo) -> J {
    json!({"id": s.id, "tags": s.tags, "label": s.label})
}

/// The JSON contract.
pub fn json(r: &PlanReport) -> J {
    let p = r.plan;
    let (add, change, destroy, replace, forget) = counts(p);
    json!({
        "format_version": PLAN_FORMAT_VERSION,
        "from": side_json(&r.from),
        "to": side_json(&r.to),
        "from_state": p.from_state,
        "changes": p.changes.iter().map(|c| {
            let mut o = json!({
                "address": c.address,
                "type": c.type_,
                "actions": c.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                "reasons": c.reasons,
                "risks": c.risks.iter().map(|x| json!({"kind": x.kind.as_str(), "message": x.message})).collect::<Vec<_>>(),
            });
            if let Some(a) = c.action_reason { o["action_reason"] = json!(a); }
            if let Some(p) = &c.previous_address { o["previous_address"] = json!(p); }
            if let Some(id) = &c.importing { o["importing"] = json!({"id": id}); }
            if let Some(d) = &c.deposed { o["deposed"] = json!(d); }
            o["attributes"] = json!(c.attributes.iter().map(|a| json!({
                "path": a.path,
                "before": a.before,
                "after": a.after,
                "sensitive": a.sensitive,
                "forces_replacement": a.forces_replacement,
            })).collect::<Vec<_>>());
            o
        }).collect::<Vec<_>>(),
        "steps": p.steps.iter().map(|s| json!({
            "index": s.index,
            "address": s.address,
            "operation": s.operation.as_str(),
            "deposed": s.deposed,
            "change": s.change,
            "wave": s.wave,
            "after": s.after,
        })).collect::<Vec<_>>(),
        "blocked": p.blocked,
        "unknown_instances": p.unknown_instances,
        "notes": p.notes.iter().map(|x| json!({"kind": x.kind.as_str(), "message": x.message})).collect::<Vec<_>>(),
        "summary": {"add": add, "change": change, "destroy": destroy, "replace": replace, "forget": forget,
                    "move": p.changes.iter().filter(|c| c.previous_address.is_some()).count(),
                    "import": p.changes.iter().filter(|c| c.importing.is_some()).count(),
                    "steps": p.steps.len(), "waves": p.steps.iter().map(|s| s.wave + 1).max().unwrap_or(0)},
    })
}

/// Markdown for a pull request or an incident channel, within the
/// default budget (see [`markdown_fit`]).
pub fn markdown(r: &PlanReport) -> String {
    markdown_fit(r, &MarkdownOptions::default())
}

/// Markdown for a pull request or an incident channel: the summary,
/// blocked and unknown instances, risks and notes, the changes (destroys
/// first) and the steps in a collapsible section. Within `o.budget`: the
/// summary, the risks and the destroys are always shown; other changes
/// and steps are added while they fit, and a note says what was cut.
pub fn markdown_fit(r: &PlanReport, o: &MarkdownOptions) -> String {
    let p = r.plan;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### rewind plan: {} → {}\n",
        style::md_code(&r.from.label),
        style::md_code(&r.to.label)
    );
    let _ = writeln!(out, "**{}**\n", summary(p));
    md_alerts(&mut out, p);
    if p.is_empty() {
        out.push_str("No changes.\n");
        return out;
    }
    let mut fit = Fit::new(o);
    fit.always(&out);
    md_changes(&mut fit, p);
    md_steps(&mut fit, p);
    fit.finish(o)
}

/// GitHub alerts: what Terraform would refuse, the risks, the notes.
fn md_alerts(out: &mut String, p: &Plan) {
    if !p.blocked.is_empty() {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Blocked by `prevent_destroy`: {}\n",
            p.blocked
                .iter()
                .map(|b| style::md_code(&b.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !p.unknown_instances.is_empty() {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> Instances known only after apply (Terraform refuses to plan these): {}\n",
            p.unknown_instances
                .iter()
                .map(|b| style::md_code(b))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let risky: Vec<&Change> = p.changes.iter().filter(|c| !c.risks.is_empty()).collect();
    if !risky.is_empty() {
        out.push_str("> [!WARNING]\n> Risks:\n");
        for c in risky {
            for x in &c.risks {
                let _ = writeln!(
                    out,
                    "> - {}: {}",
                    style::md_code(&c.address.to_string()),
                    style::md_text(&x.message)
                );
            }
        }
        out.push('\n');
    }
    for n in &p.notes {
        let alert = if n.kind == RiskKind::CheckFailed {
            "WARNING"
        } else {
            "NOTE"
        };
        let _ = writeln!(out, "> [!{alert}]\n> {}\n", style::md_text(&n.message));
    }
}

/// The change table: destroys first and always (compacted to a list when
/// the budget is short), the other changes while they fit.
fn md_changes(fit: &mut Fit, p: &Plan) {
    let header = "| | Address | Action | Why |\n|---|---|---|---|\n";
    let mut sorted: Vec<&Change> = p.changes.iter().collect();
    sorted.sort_by_key(|c| (!c.destroys(), c.address.clone()));
    let row = |c: &Change| {
        let why = c.reasons.first().cloned().unwrap_or_default();
        format!(
            "| `{}` | {} | {} | {} |\n",
            symbol(c),
            style::md_code(&c.address.to_string()),
            verb(c),
            style::md_text(&why)
        )
    };
    let destroys: Vec<&Change> = sorted.iter().copied().filter(|c| c.destroys()).collect();
    let rows: Vec<String> = destroys.iter().map(|c| row(c)).collect();
    let compact: Vec<String> = destroys
        .iter()
        .map(|c| format!("`{}` {}", symbol(c), style::md_code(&c.address.to_string())))
        .collect();
    let others: Vec<String> = sorted
        .into_iter()
        .filter(|c| !c.destroys())
        .map(row)
        .collect();
    fit.table(header, &rows, &compact, &others, "rows of the change table");
}

/// The steps in a collapsible section, while they fit.
fn md_steps(fit: &mut Fit, p: &Plan) {
    let open = "\n<details><summary>Steps</summary>\n\n| Step | Wave | Operation | After |\n|---|---|---|---|\n";
    let close = "\n</details>\n";
    if !fit.fits(open.len() + close.len()) {
        fit.skip("steps", p.steps.len());
        return;
    }
    fit.always(open);
    let mut full = false;
    for s in &p.steps {
        let after = s
            .after
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let row = format!(
            "| {} | {} | {} | {} |\n",
            s.index,
            s.wave,
            style::md_code(&step_label(s)),
            after
        );
        if full || !fit.fits(row.len() + close.len()) {
            fit.skip("steps", 1);
            full = true;
        } else {
            fit.always(&row);
        }
    }
    fit.always(close);
}

/// The step graph in DOT, read left to right: one cluster per wave, an
/// arrow from each step to the steps that wait for it, without the arrows
/// another path already implies (the transitive reduction).
pub fn dot(r: &PlanReport) -> String {
    let p = r.plan;
    let mut out = String::from(
        "digraph plan {\n  rankdir = \"LR\";\n  newrank = true;\n  node [shape = rect, fontname = \"sans-serif\"];\n",
    );
    let _ = writeln!(
        out,
        "  label = \"rewind plan: {} \u{2192} {}\";\n  labelloc = \"t\";\n  fontname = \"sans-serif\";",
        style::dot(&r.from.label),
        style::dot(&r.to.label)
    );
    let waves = p.steps.iter().map(|s| s.wave + 1).max().unwrap_or(0);
    for w in 0..waves {
        let _ = writeln!(
            out,
            "  subgraph \"cluster_wave_{w}\" {{\n    label = \"wave {w}\";\n    style = \"rounded,dashed\";\n    color = \"gray60\";"
        );
        for s in p.steps.iter().filter(|s| s.wave == w) {
            let color = match s.operation {
                Action::Create => "darkgreen",
                Action::Delete => "red3",
                Action::Update => "goldenrod3",
                _ => "gray40",
            };
            let _ = writeln!(
                out,
                "    \"s{}\" [label = \"{}: {}\", color = \"{color}\"];",
                s.index,
                s.index,
                style::dot(&step_label(s))
            );
        }
        out.push_str("  }\n");
    }
    let (edges, reduced) = crate::reduce::essential_edges(&p.steps);
    let total: usize = p.steps.iter().map(|s| s.after.len()).sum();
    if reduced {
        let _ = writeln!(
            out,
            "  // {} of {total} orderings drawn; the others follow from them",
            edges.len()
        );
    } else {
        let _ = writeln!(
            out,
            "  // every ordering drawn: more than {} steps, too many to reduce",
            crate::reduce::REDUCE_MAX_STEPS
        );
    }
    for (before, after) in edges {
        let _ = writeln!(out, "  \"s{before}\" -> \"s{after}\";");
    }
    out.push_str("}\n");
    out
}

/// Why Terraform would refuse a plan (`rewind plan` prints the plan, then these, and
/// exits 3).
pub fn refusals(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    if !plan.unknown_instances.is_empty() {
        out.push(format!(
            "the instances of {} depend on values known only after apply: Terraform refuses such a plan (Invalid count/for_each argument); apply in two steps, the values they depend on first",
            plan.unknown_instances.join(", ")
        ));
    }
    if !plan.blocked.is_empty() {
        let n = plan.blocked.len();
        out.push(format!(
            "the plan would delete or replace {n} resource{} protected by prevent_destroy ({}); pass --allow-destroy-protected to accept",
            if n == 1 { "" } else { "s" },
            plan.blocked
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out
}
