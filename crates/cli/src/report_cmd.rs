//! `rewind report FROM TO`: the diff, the revert plan and the audit trail
//! on one self-contained HTML page.

use std::collections::{BTreeSet, HashMap};

use anyhow::Result;
use rewind_engine::{DiffOptions, LazyStore, PlanOptions, Side};
use rewind_odb::{LogEntry, SnapshotId};
use rewind_report::diff::DiffReport;
use rewind_report::html::Page;
use rewind_report::plan::PlanReport;

use crate::cli::{format_for, Format, Global, ReportArgs, EXIT_OK};
use crate::diff_cmd::side_info;
use crate::history_cmd::{audit_entries, snapshot_rows};
use crate::output::Output;

pub fn run(g: &Global, a: &ReportArgs, out: &Output) -> Result<u8> {
    format_for(g, "report", &[Format::Html], Format::Html)?;
    let stores = LazyStore::new(g.store.clone());
    let version = |spec: &str| out.version(spec, &stores);
    let (from, to) = (version(&a.from)?, version(&a.to)?);
    let diff = rewind_engine::diff(
        &from,
        &to,
        &DiffOptions {
            show_sensitive: a.show_sensitive,
            ..Default::default()
        },
    )
    .map_err(|e| out.failed(e))?;
    out.diagnostics(&diff.diagnostics);
    // the way back: from the newer version (the deployment now) to the older
    let plan = rewind_engine::plan(
        &to,
        &from,
        &PlanOptions {
            allow_destroy_protected: a.allow_destroy_protected,
            ..Default::default()
        },
    )
    .map_err(|e| out.failed(e))?;
    out.diagnostics(&plan.diagnostics);

    let mut page = Page::new(&format!(
        "rewind report: {} → {}",
        diff.from.label, diff.to.label
    ));
    page.subtitle(&format!(
        "What changed from {} to {}, what going back to {} would do, and who moved the marks. Written {}.",
        diff.from.label,
        diff.to.label,
        diff.from.label,
        rewind_odb::time::now()
    ));
    let diff_report = DiffReport {
        from: side_info(&diff.from),
        to: side_info(&diff.to),
        diff: &diff.diff,
        files: None,
    };
    let plan_report = PlanReport {
        from: side_info(&plan.from),
        to: side_info(&plan.to),
        plan: &plan.plan,
    };
    // summaries first, then the details
    page.diff_summary(&diff_report)
        .plan_summary(&plan_report)
        .diff_details(&diff_report)
        .plan_details(&plan_report);
    audit(&mut page, &stores, &[&diff.from, &diff.to])?;
    out.print(&page.finish())?;
    Ok(EXIT_OK)
}

/// The environments of the snapshot sides: their snapshots and every ref
/// change that concerns them (their marks, and tags of their snapshots).
fn audit(page: &mut Page, stores: &LazyStore, sides: &[&Side]) -> Result<()> {
    let envs: BTreeSet<String> = sides
        .iter()
        .filter_map(|s| s.record.as_ref().map(|r| r.env.clone()))
        .collect();
    if envs.is_empty() {
        page.section(
            "audit",
            "Audit trail (ref log)",
            "<p>Both sides are directories: there is no ref log to show.</p>\n",
        );
        return Ok(());
    }
    let store = stores.get()?;
    let refs = store.refs()?;
    let mut env_of: HashMap<SnapshotId, String> = HashMap::new();
    let mut snapshots = Vec::new();
    for env in &envs {
        let start = refs.envs.get(env).and_then(|e| e.latest);
        for (id, r) in store.history(start, usize::MAX)? {
            env_of.insert(id, r.env.clone());
            snapshots.push((id, r));
        }
    }
    snapshots.sort_by(|a, b| b.1.time.cmp(&a.1.time));
    let concerns = |l: &LogEntry| {
        envs.iter()
            .any(|e| l.name.starts_with(&format!("envs/{e}/")))
            || [l.old, l.new]
                .iter()
                .flatten()
                .any(|id| env_of.get(id).is_some_and(|e| envs.contains(e)))
    };
    let mut entries: Vec<LogEntry> = store
        .full_log(&refs)?
        .into_iter()
        .filter(|l| concerns(l))
        .collect();
    entries.reverse();
    page.audit(&audit_entries(&entries));
    let names: Vec<&str> = envs.iter().map(|e| e.as_str()).collect();
    page.snapshots(
        &format!("Snapshots of {}, newest first", names.join(", ")),
        &snapshot_rows(&refs, &snapshots),
    );
    Ok(())
}
