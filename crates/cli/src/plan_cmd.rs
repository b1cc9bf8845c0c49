//! `rewind plan --to REF [--from REF]`.

use anyhow::{bail, Result};
use rewind_engine::{LazyStore, PlanOptions, Version};
use rewind_report::plan::PlanReport;

use crate::cli::{changes_code, format_for, Format, Global, PlanArgs};
use crate::diff_cmd::side_info;
use crate::output::Output;

pub fn run(g: &Global, a: &PlanArgs, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "plan",
        &[Format::Text, Format::Json, Format::Markdown, Format::Dot],
        Format::Text,
    )?;
    let stores = LazyStore::new(g.store.clone());
    let to = Version::parse(&a.to, &stores).map_err(|e| out.failed(e))?;
    let from = match &a.from {
        Some(f) => Version::parse(f, &stores),
        None => Version::current_for(&to, a.env.as_deref(), &stores),
    }
    .map_err(|e| out.failed(e))?;
    let opts = PlanOptions {
        allow_destroy_protected: a.allow_destroy_protected,
        inputs: a.inputs.to_inputs()?,
    };
    let outcome = rewind_engine::plan(&from, &to, &opts).map_err(|e| out.failed(e))?;
    out.diagnostics(&outcome.diagnostics);
    let trace = rewind_engine::Trace::new();
    let plan = &outcome.plan;
    let report = PlanReport {
        from: side_info(&outcome.from),
        to: side_info(&outcome.to),
        plan,
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
    out.print(&text)?;
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
    let code = changes_code(!plan.is_empty());
    // large models take longer to free than the process takes to exit
    std::mem::forget(outcome);
    Ok(code)
}
