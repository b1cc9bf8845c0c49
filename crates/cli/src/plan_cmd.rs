//! `rewind plan --to REF [--from REF]`.

use anyhow::Result;
use rewind_engine::{LazyStore, PlanOptions, Version};
use rewind_report::budget::MarkdownOptions;
use rewind_report::plan::PlanReport;

use crate::cli::{changes_code, format_for, Format, Global, PlanArgs, EXIT_BLOCKED};
use crate::diff_cmd::side_info;
use crate::output::Output;

pub fn run(g: &Global, a: &PlanArgs, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "plan",
        &[
            Format::Text,
            Format::Json,
            Format::Markdown,
            Format::Html,
            Format::Dot,
            Format::TerraformJson,
        ],
        Format::Text,
    )?;
    if a.show_sensitive && format != Format::TerraformJson {
        anyhow::bail!(
            "--show-sensitive applies to --format terraform-json only (the other plan formats show changes of sensitive values as \"(sensitive value changed)\")"
        );
    }
    let stores = LazyStore::new(g.store.clone());
    let to = out.version(&a.to, &stores)?;
    let from = match &a.from {
        Some(f) => out.version(f, &stores)?,
        None => Version::current_for(&to, a.env.as_deref(), &stores).map_err(|e| out.failed(e))?,
    };
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
    let text = if a.shape.stat {
        crate::diff_cmd::stat_text(format, &rewind_report::stat::plan(&report), out)?
    } else {
        match format {
            Format::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&rewind_report::plan::json(&report))?
            ),
            Format::Markdown => {
                let mut args = vec!["--to", a.to.as_str()];
                if let Some(f) = &a.from {
                    args.extend(["--from", f.as_str()]);
                }
                rewind_report::plan::markdown_fit(
                    &report,
                    &MarkdownOptions {
                        budget: a.shape.budget,
                        see_all: crate::diff_cmd::see_all("plan", &args),
                    },
                )
            }
            Format::Html => rewind_report::html::plan(&report),
            Format::TerraformJson => {
                // written as it is made: a plan of a million instances
                // is never held whole as text
                out.print_with(&mut |emit| {
                    rewind_report::terraform_json::write_terraform_json(
                        &report,
                        a.show_sensitive,
                        emit,
                    )
                })?;
                String::new()
            }
            Format::Dot => rewind_report::plan::dot(&report),
            _ => rewind_report::plan::text(&report, &out.style),
        }
    };
    out.print(&text)?;
    trace.mark("render");
    let blocked = rewind_report::plan::refusals(plan);
    for b in &blocked {
        out.error(&anyhow::anyhow!("{b}"));
    }
    let code = if blocked.is_empty() {
        changes_code(!plan.is_empty(), a.shape.detailed_exitcode)
    } else {
        EXIT_BLOCKED
    };
    // large models take longer to free than the process takes to exit
    std::mem::forget(outcome);
    Ok(code)
}
