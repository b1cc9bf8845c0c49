//! `rewind graph`.

use anyhow::Result;
use rewind_engine::{GraphOptions, LazyStore, Version};

use crate::cli::{format_for, Format, Global, EXIT_OK};
use crate::output::{write_result, written, Output};

pub fn run(
    g: &Global,
    target: &str,
    inputs: &crate::inputs_args::InputArgs,
    out: &Output,
) -> Result<u8> {
    let format = format_for(
        g,
        "graph",
        &[Format::Dot, Format::Mermaid, Format::Json],
        Format::Dot,
    )?;
    let stores = LazyStore::new(g.store.clone());
    let version = Version::parse(target, &stores).map_err(|e| out.failed(e))?;
    let opts = GraphOptions {
        inputs: inputs.to_inputs()?,
        ..GraphOptions::default()
    };
    let outcome = rewind_engine::graph(&version, &opts).map_err(|e| out.failed(e))?;
    out.diagnostics(&outcome.diagnostics);
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    match format {
        Format::Dot => write_result(
            &mut stdout,
            rewind_report::graph::dot(&outcome.model).as_bytes(),
        )?,
        Format::Mermaid => write_result(
            &mut stdout,
            rewind_report::graph::mermaid(&outcome.model).as_bytes(),
        )?,
        // streamed: the JSON of a large graph is never held whole
        _ => written(
            rewind_report::graph::write_json(&outcome.model, &outcome.root, &mut stdout)
                .and_then(|()| std::io::Write::flush(&mut stdout)),
        )?,
    }
    // a large model takes longer to free than the process takes to exit
    std::mem::forget(outcome);
    Ok(EXIT_OK)
}
