//! `rewind graph`.

use anyhow::Result;

use crate::cli::{format_for, Format, Global};
use crate::output::Output;
use crate::sides::load_side;

pub fn run(g: &Global, target: &str, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "graph",
        &[Format::Dot, Format::Mermaid, Format::Json],
        Format::Dot,
    )?;
    let mut store = None;
    let side = load_side(g, target, &mut store, out, true)?;
    let text = match format {
        Format::Dot => rewind_report::graph::dot(&side.model),
        Format::Mermaid => rewind_report::graph::mermaid(&side.model),
        _ => {
            let mut s =
                serde_json::to_string_pretty(&rewind_report::graph::json(&side.model, &side.root))?;
            s.push('\n');
            s
        }
    };
    out.print(&text);
    Ok(0)
}
