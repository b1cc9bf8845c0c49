//! `rewind plan --to REF [--from REF]`.

use anyhow::{bail, Result};
use rewind_report::diff::SideInfo;
use rewind_report::plan::PlanReport;

use crate::cli::{format_for, Format, Global, PlanArgs};
use crate::output::Output;
use rewind_store::read::Load;

use crate::sides::{dir_side, load_side, open_store, Side};

fn info(s: &Side) -> SideInfo {
    SideInfo {
        label: s.label.clone(),
        id: s.id.map(|h| h.to_hex()),
        tags: s.tags.clone(),
    }
}

pub fn run(g: &Global, a: &PlanArgs, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "plan",
        &[Format::Text, Format::Json, Format::Markdown, Format::Dot],
        Format::Text,
    )?;
    let mut store = None;
    let trace = rewind_parse::load::Trace::new();
    // the target's configuration is what counts; of the current side, its
    // configuration and the state's instances with their values
    let both_dirs = std::path::Path::new(&a.to).is_dir()
        && a.from
            .as_deref()
            .is_some_and(|f| std::path::Path::new(f).is_dir());
    let (to, from) = if let (true, Some(from_dir)) = (both_dirs, &a.from) {
        // Two directories load at the same time: each load has long
        // single-threaded stages (modules, references, cycles).
        // The parse results are not needed once the model is built: freed
        // on each thread as soon as its load ends.
        let lean = |r: Result<rewind_parse::Loaded, rewind_parse::LoadError>| {
            r.map(|mut l| {
                l.parsed = Vec::new();
                l
            })
        };
        let (to, from) = std::thread::scope(|s| {
            let to = s.spawn(|| {
                lean(rewind_parse::load(
                    std::path::Path::new(&a.to),
                    &rewind_parse::Options {
                        skip_state: true,
                        ..Default::default()
                    },
                ))
            });
            let from = lean(rewind_parse::load(
                std::path::Path::new(from_dir),
                // the plan compares with the state's attribute values
                &rewind_parse::Options::default(),
            ));
            (
                to.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                from,
            )
        });
        let to = dir_side(&a.to, to, out)?;
        let from = dir_side(from_dir, from, out)?;
        trace.mark("load target and current");
        (to, from)
    } else {
        let to = load_side(g, &a.to, &mut store, out, Some(Load::ConfigOnly))?;
        trace.mark("load target");
        let from_spec = match &a.from {
            Some(f) => f.clone(),
            None => {
                // the environment's latest snapshot
                let env = match (&a.env, &to.record) {
                    (Some(e), _) => e.clone(),
                    (None, Some(rec)) => rec.env.clone(),
                    (None, None) => bail!(
                        "--to is a directory: say which deployment to revert with --from REF (or --env ENV for its latest snapshot)"
                    ),
                };
                if store.is_none() {
                    store = Some(open_store(g)?);
                }
                format!("{env}@latest")
            }
        };
        let from = load_side(g, &from_spec, &mut store, out, Some(Load::Full))?;
        trace.mark("load current");
        (to, from)
    };
    // a directory side's functions read its files (inside its tree only)
    let files_of = |side: &crate::sides::Side| {
        side.dir.as_ref().map(|d| {
            rewind_plan::FileSource(std::sync::Arc::new(rewind_eval::DirFiles::new(
                d,
                side.base.as_deref().unwrap_or(d),
            )))
        })
    };
    let opts = rewind_plan::Options {
        allow_destroy_protected: a.allow_destroy_protected,
        current_files: files_of(&from),
        target_files: files_of(&to),
        ..Default::default()
    };
    let plan = rewind_plan::plan(&from.model, &to.model, &opts)?;
    trace.mark("plan");
    let report = PlanReport {
        from: info(&from),
        to: info(&to),
        plan: &plan,
    };
    let text = match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&rewind_report::plan::json(&report))?
        ),
        Format::Markdown => rewind_report::plan::markdown(&report),
        Format::Dot => rewind_report::plan::dot(&report),
        _ => rewind_report::plan::text(&report, &out.style),
    };
    out.print(&text);
    trace.mark("render");
    if !plan.unknown_instances.is_empty() {
        bail!(
            "the instances of {} depend on values known only after apply: Terraform refuses such a plan (Invalid count/for_each argument); apply in two steps, the values they depend on first",
            plan.unknown_instances.join(", ")
        );
    }
    if !plan.blocked.is_empty() {
        let n = plan.blocked.len();
        bail!(
            "the plan would delete or replace {n} resource{} protected by prevent_destroy ({}); pass --allow-destroy-protected to accept",
            if n == 1 { "" } else { "s" },
            plan.blocked.join(", ")
        );
    }
    let code = if plan.is_empty() { 0 } else { 2 };
    // large models take longer to free than the process takes to exit
    std::mem::forget((from, to, plan));
    Ok(code)
}
