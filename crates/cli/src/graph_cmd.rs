//! `rewind graph`.

use std::path::Path;

use anyhow::Result;

use crate::cli::{format_for, Format, Global};
use crate::output::Output;

pub fn run(g: &Global, target: &Path, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "graph",
        &[Format::Dot, Format::Mermaid, Format::Json],
        Format::Dot,
    )?;
    let loaded = match rewind_parse::load(target, &rewind_parse::Options::default()) {
        Ok(l) => l,
        Err(e) => {
            out.diagnostics(&e.diagnostics);
            anyhow::bail!(
                "{} problem{} in {}",
                e.diagnostics.len(),
                if e.diagnostics.len() == 1 { "" } else { "s" },
                target.display()
            );
        }
    };
    out.diagnostics(&loaded.model.diagnostics);
    let text = match format {
        Format::Dot => rewind_report::graph::dot(&loaded.model),
        Format::Mermaid => rewind_report::graph::mermaid(&loaded.model),
        _ => {
            let mut s = serde_json::to_string_pretty(&rewind_report::graph::json(
                &loaded.model,
                &loaded.root,
            ))?;
            s.push('\n');
            s
        }
    };
    out.print(&text);
    Ok(0)
}
