//! `rewind rollback`, `rewind incidents` and `rewind incident ID`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Result;
use rewind_engine::{Event, RiskPolicy, RollbackOptions, RollbackOutcome, Status};
use serde_json::json;

use crate::cli::{format_for, Format, Global, EXIT_ERROR, EXIT_OK};
use crate::output::Output;
use crate::store_cmds::open_store;

/// `rewind rollback` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct RollbackArgs {
    /// The environment to roll back.
    #[arg(long)]
    pub env: String,
    /// The snapshot to go back to (default: ENV@good, its last known-good one).
    #[arg(long, value_name = "REF")]
    pub to: Option<String>,
    /// The deployment's root module directory (default: the directory the environment's latest snapshot was taken from).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Apply the rollback (without it: a dry run up to and including the gate).
    #[arg(long)]
    pub apply: bool,
    /// Refuse a rollback that destroys (or replaces) more than N objects.
    #[arg(long, value_name = "N")]
    pub max_destroy: Option<usize>,
    /// Allow destroying or replacing data-bearing objects (databases, buckets, volumes, queues...).
    #[arg(long)]
    pub allow_data_loss: bool,
    /// The program that plans and applies: terraform, tofu, or a path.
    #[arg(long, default_value = "terraform", value_name = "PROGRAM")]
    pub executor: String,
    /// Keep the working directory after a successful rollback.
    #[arg(long)]
    pub keep_workdir: bool,
    /// Remove the environment's rollback lock left by a rollback that was killed, and stop.
    #[arg(long)]
    pub break_lock: bool,
}

impl RollbackArgs {
    /// The engine's options.
    pub fn options(&self) -> RollbackOptions {
        RollbackOptions {
            env: self.env.clone(),
            to: self.to.clone(),
            dir: self.dir.clone(),
            apply: self.apply,
            policy: RiskPolicy {
                max_destroy: self.max_destroy,
                allow_data_loss: self.allow_data_loss,
            },
            executor: self.executor.clone(),
            keep_workdir: self.keep_workdir,
            breach: None,
            preview_only: false,
            interrupt: None,
        }
    }
}

/// A flag SIGINT and SIGTERM set instead of ending the process, for a
/// rollback to stop between its steps and ask a running Terraform to stop
/// gracefully; a second signal ends the process at once (exit 130:
/// Terraform, in a process group of its own, still finishes what it is
/// doing).
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&flag))?;
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}

pub fn rollback(g: &Global, out: &Output, a: &RollbackArgs) -> Result<u8> {
    let format = format_for(g, "rollback", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    if a.break_lock {
        match store.break_rollback_lock(&a.env)? {
            Some(h) => out.note(&format!(
                "removed the rollback lock of {} (held by process {} on {} since {}: {})",
                a.env, h.pid, h.host, h.since, h.purpose
            )),
            None => out.note(&format!("{} has no rollback lock", a.env)),
        }
        return Ok(EXIT_OK);
    }
    let mut opts = a.options();
    opts.interrupt = Some(stop_on_signals()?);
    let outcome = rewind_engine::rollback(&store, &opts, &mut |e| progress(out, e))
        .map_err(|e| out.failed(e))?;
    let text = match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&outcome_json(&outcome))?;
            s.push('\n');
            s
        }
        _ => outcome_text(&outcome),
    };
    out.print(&text)?;
    Ok(exit_code(outcome.status))
}

/// Progress on standard error: steps, and the executor's output indented.
pub fn progress(out: &Output, e: Event<'_>) {
    match e {
        Event::Step(s) => out.note(&format!("rewind: {s}")),
        Event::Output(l) => out.note(&format!("  | {l}")),
    }
}

/// 0 when rolled back (or a dry run that passed), 1 when refused or failed.
pub fn exit_code(s: Status) -> u8 {
    match s {
        Status::NothingToDo | Status::Previewed | Status::DryRun | Status::RolledBack => EXIT_OK,
        Status::PolicyRefused | Status::GateRefused | Status::ApplyFailed => EXIT_ERROR,
    }
}

fn outcome_json(o: &RollbackOutcome) -> serde_json::Value {
    let gate = o.gate.as_ref().map(|g| {
        let diff = |d: &rewind_engine::Difference| {
            json!({"address": d.address, "terraform": d.terraform, "preview": d.preview, "message": d.message})
        };
        json!({
            "passed": g.passed(),
            "refusals": g.refusals.iter().map(diff).collect::<Vec<_>>(),
            "notes": g.notes.iter().map(diff).collect::<Vec<_>>(),
        })
    });
    json!({
        "format_version": "1",
        "status": o.status.as_str(),
        "env": o.env,
        "from": o.from.to_hex(),
        "to": o.to.to_hex(),
        "deployment": o.deployment.display().to_string(),
        "preview": o.preview.changes.iter().filter(|c| !c.is_noop()).map(|c| json!({
            "address": c.address,
            "actions": c.actions.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "data_at_risk": o.data_at_risk,
        "policy_violations": o.violations,
        "terraform_plan": o.terraform.iter().filter(|c| c.actions != ["no-op"]).map(|c| json!({
            "address": c.address,
            "actions": c.actions,
        })).collect::<Vec<_>>(),
        "gate": gate,
        "apply": o.apply,
        "result": o.result.map(|r| r.to_hex()),
        "incident": o.incident.map(|i| i.to_hex()),
        "workdir": o.workdir.as_ref().map(|w| w.display().to_string()),
    })
}

fn symbol(actions: &[String]) -> &'static str {
    let has = |a: &str| actions.iter().any(|x| x == a);
    match (has("create"), has("delete")) {
        (true, true) => "-/+",
        (true, false) => "+",
        (false, true) => "-",
        _ if has("update") => "~",
        _ => " ",
    }
}

fn outcome_text(o: &RollbackOutcome) -> String {
    let mut s = format!(
        "rollback of {}: from {} to {}\ndeployment: {}\n",
        o.env,
        o.from.short(12),
        o.to.short(12),
        o.deployment.display()
    );
    if o.status == Status::NothingToDo {
        s.push_str("nothing to roll back: the deployment already is the target\n");
        return s;
    }
    s.push_str("\npreview (rewind's revert plan):\n");
    for c in o.preview.changes.iter().filter(|c| !c.is_noop()) {
        let actions: Vec<String> = c.actions.iter().map(|a| a.as_str().to_string()).collect();
        s.push_str(&format!("  {:>3} {}\n", symbol(&actions), c.address));
    }
    if !o.data_at_risk.is_empty() {
        s.push_str("\ndata the rollback destroys:\n");
        for d in &o.data_at_risk {
            s.push_str(&format!(
                "  {} ({}, {} severity): {}\n",
                d.address, d.holds, d.severity, d.recovery
            ));
            for set in &d.settings {
                s.push_str(&format!("      {set}\n"));
            }
        }
    }
    if !o.violations.is_empty() {
        s.push_str("\nREFUSED by the risk policy:\n");
        for v in &o.violations {
            s.push_str(&format!("  {v}\n"));
        }
    }
    if let Some(g) = &o.gate {
        if g.passed() {
            s.push_str("\ngate: passed (Terraform's plan destroys, replaces and creates nothing the preview did not show)\n");
        } else {
            s.push_str("\ngate: REFUSED: Terraform's plan differs from the preview:\n");
            for d in &g.refusals {
                s.push_str(&format!("  {}: {}\n", d.address, d.message));
            }
        }
        for d in &g.notes {
            s.push_str(&format!("  note: {}: {}\n", d.address, d.message));
        }
    }
    match (o.status, &o.apply) {
        (Status::DryRun, _) => {
            s.push_str("\ndry run: nothing was applied; run again with --apply to roll back\n")
        }
        (_, Some(a)) if a.succeeded => s.push_str(&format!(
            "\napplied Terraform's saved plan in {:.1}s\n",
            a.seconds
        )),
        (_, Some(a)) => s.push_str(&format!(
            "\nTerraform's apply FAILED (exit {}) after {:.1}s\n",
            a.exit_code
                .map(|c| c.to_string())
                .unwrap_or("by signal".into()),
            a.seconds
        )),
        _ => {}
    }
    if let Some((w, r)) = o.synced {
        s.push_str(&format!(
            "the deployment now holds the target's configuration ({w} files written, {r} removed); run `terraform init` there before its next plan\n"
        ));
    }
    if let Some(r) = o.result {
        s.push_str(&format!("snapshot: {}\n", r.short(12)));
    }
    if let Some(i) = o.incident {
        s.push_str(&format!(
            "incident: {} (rewind incident {})\n",
            i.short(12),
            i.short(12)
        ));
    }
    if let Some(w) = &o.workdir {
        s.push_str(&format!("working directory kept: {}\n", w.display()));
    }
    s
}

pub fn incidents(g: &Global, out: &Output, env: Option<&str>) -> Result<u8> {
    let format = format_for(g, "incidents", &[Format::Text, Format::Json], Format::Text)?;
    let store = open_store(g)?;
    let mut list = Vec::new();
    let mut unreadable = 0;
    for id in store.list_incidents()? {
        // one damaged record hides no other: it is named, the rest listed
        let rec = match store.incident(&id) {
            Ok(rec) => rec,
            Err(e) => {
                unreadable += 1;
                out.error(&anyhow::anyhow!(
                    "incident {} cannot be read (left out; `rewind verify` checks the store): {e}",
                    id.short(12)
                ));
                continue;
            }
        };
        if env.is_none_or(|e| e == rec.env) {
            list.push((id, rec));
        }
    }
    list.sort_by(|a, b| b.1.time.cmp(&a.1.time));
    let text = match format {
        Format::Json => {
            let items: Vec<_> = list
                .iter()
                .map(|(id, r)| {
                    json!({"id": id.to_hex(), "time": r.time, "env": r.env, "outcome": r.outcome,
                           "bad": r.bad.map(|b| b.to_hex()), "good": r.good.map(|b| b.to_hex())})
                })
                .collect();
            let mut s =
                serde_json::to_string_pretty(&json!({"format_version": "1", "incidents": items}))?;
            s.push('\n');
            s
        }
        _ => list
            .iter()
            .map(|(id, r)| {
                format!(
                    "{}  {}  {:<10} {:<15} {} -> {}\n",
                    id.short(12),
                    r.time,
                    r.env,
                    r.outcome,
                    r.bad.map(|b| b.short(12)).unwrap_or_default(),
                    r.good.map(|b| b.short(12)).unwrap_or_default()
                )
            })
            .collect(),
    };
    out.print(&text)?;
    Ok(if unreadable > 0 { EXIT_ERROR } else { EXIT_OK })
}

pub fn incident(g: &Global, out: &Output, spec: &str) -> Result<u8> {
    let format = format_for(
        g,
        "incident",
        &[Format::Markdown, Format::Html, Format::Json],
        Format::Markdown,
    )?;
    let store = open_store(g)?;
    let id = store.resolve_incident(spec)?;
    let rec = store.incident(&id)?;
    let text = match format {
        Format::Json => rewind_report::incident::json(&id, &rec),
        Format::Html => rewind_report::incident::html(&id, &rec),
        _ => rewind_report::incident::markdown(&id, &rec),
    };
    out.print(&text)?;
    Ok(EXIT_OK)
}
