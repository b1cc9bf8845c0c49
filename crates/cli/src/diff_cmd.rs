//! `rewind diff A B`.

use anyhow::Result;
use rewind_engine::{DiffOptions, LazyStore, Side};
use rewind_report::budget::MarkdownOptions;
use rewind_report::diff::{DiffReport, SideInfo};

use crate::cli::{changes_code, format_for, DiffArgs, Format, Global, Only};
use crate::output::Output;

/// How a side is shown in a report.
pub fn side_info(s: &Side) -> SideInfo {
    SideInfo {
        label: s.label.clone(),
        id: s.id.map(|h| h.to_hex()),
        tags: s.tags.clone(),
    }
}

fn options(a: &DiffArgs) -> Result<DiffOptions> {
    Ok(DiffOptions {
        show_sensitive: a.show_sensitive,
        files: a.files,
        types: a.types.clone(),
        addresses: a.addresses.clone(),
        only: a.only.map(|o| match o {
            Only::Destroys => rewind_engine::Only::Destroys,
            Only::Creates => rewind_engine::Only::Creates,
            Only::Changes => rewind_engine::Only::Changes,
            Only::Replacements => rewind_engine::Only::Replacements,
            Only::Moves => rewind_engine::Only::Moves,
        }),
        inputs: a.inputs.to_inputs()?,
    })
}

/// The command that shows a whole report, for the note of a Markdown
/// report cut to its budget.
pub fn see_all(command: &str, args: &[&str]) -> String {
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./@~:=".contains(c))
            {
                a.to_string()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect();
    format!(
        "rewind {command} {} --format html > {command}.html",
        quoted.join(" ")
    )
}

pub fn run(g: &Global, a: &DiffArgs, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "diff",
        &[Format::Text, Format::Json, Format::Markdown, Format::Html],
        Format::Text,
    )?;
    let stores = LazyStore::new(g.store.clone());
    let from = out.version(&a.from, &stores)?;
    let to = out.version(&a.to, &stores)?;
    let outcome = rewind_engine::diff(&from, &to, &options(a)?).map_err(|e| out.failed(e))?;
    out.diagnostics(&outcome.diagnostics);
    let changed = !outcome.is_empty();
    let report = DiffReport {
        from: side_info(&outcome.from),
        to: side_info(&outcome.to),
        diff: &outcome.diff,
        files: outcome.files,
    };
    let text = if a.shape.stat {
        stat_text(format, &rewind_report::stat::diff(&report), out)?
    } else {
        match format {
            Format::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&rewind_report::diff::json(&report))?
            ),
            Format::Markdown => rewind_report::diff::markdown_fit(
                &report,
                &MarkdownOptions {
                    budget: a.shape.budget,
                    see_all: see_all("diff", &[&a.from, &a.to]),
                },
            ),
            Format::Html => rewind_report::html::diff(&report),
            _ => rewind_report::diff::text(&report, &out.style),
        }
    };
    out.print(&text)?;
    Ok(changes_code(changed, a.shape.detailed_exitcode))
}

/// `--stat` in the format asked for.
pub fn stat_text(format: Format, s: &rewind_report::stat::Stat, out: &Output) -> Result<String> {
    Ok(match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&rewind_report::stat::json(s))?
        ),
        Format::Markdown => rewind_report::stat::markdown(s),
        Format::Html => rewind_report::stat::html(s),
        Format::Dot | Format::Mermaid | Format::TerraformJson => {
            anyhow::bail!(
                "--stat has no {} form; use text, json, markdown or html",
                format.name()
            )
        }
        Format::Text => rewind_report::stat::text(s, &out.style),
    })
}
