//! `rewind graph`.

use anyhow::Result;

use crate::cli::{format_for, Format, Global};
use crate::output::Output;
use crate::sides::load_side_with;

pub fn run(g: &Global, target: &str, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "graph",
        &[Format::Dot, Format::Mermaid, Format::Json],
        Format::Dot,
    )?;
    let mut store = None;
    // the graph is the configuration's: state files are not read
    let opts = rewind_parse::Options {
        skip_state: true,
        ..Default::default()
    };
    let side = load_side_with(
        g,
        target,
        &mut store,
        out,
        Some(rewind_store::read::Load::ConfigOnly),
        &opts,
    )?;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let written = match format {
        Format::Dot => std::io::Write::write_all(
            &mut stdout,
            rewind_report::graph::dot(&side.model).as_bytes(),
        ),
        Format::Mermaid => std::io::Write::write_all(
            &mut stdout,
            rewind_report::graph::mermaid(&side.model).as_bytes(),
        ),
        _ => rewind_report::graph::write_json(&side.model, &side.root, &mut stdout),
    };
    let flushed = written.and_then(|()| std::io::Write::flush(&mut stdout));
    if let Err(e) = flushed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    // a large model takes longer to free than the process takes to exit
    std::mem::forget(side);
    Ok(0)
}
