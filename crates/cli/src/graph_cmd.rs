//! `rewind graph`.

use std::io::Write as _;

use anyhow::Result;
use rewind_engine::{GraphOptions, LazyStore};
use rewind_report::view::Filter;

use crate::cli::{format_for, Format, Global, GraphArgs, EXIT_OK};
use crate::output::{write_result, written, Output};
use rewind_report::style::terminal_safe;

pub fn run(g: &Global, a: &GraphArgs, out: &Output) -> Result<u8> {
    let format = format_for(
        g,
        "graph",
        &[Format::Dot, Format::Mermaid, Format::Json],
        Format::Dot,
    )?;
    let stores = LazyStore::new(g.store.clone());
    let version = out.version(&a.target, &stores)?;
    let opts = GraphOptions {
        inputs: a.inputs.to_inputs()?,
        // only JSON shows the nodes' hashes, which hold their secret paths
        labels_only: format != Format::Json,
        ..GraphOptions::default()
    };
    let mut outcome = rewind_engine::graph(&version, &opts).map_err(|e| out.failed(e))?;
    out.diagnostics(&outcome.diagnostics);
    let filter = Filter {
        resources_only: a.resources_only,
        module: a.module.clone(),
        types: a.types.clone(),
        depth: a.depth,
        collapse: Vec::new(),
    };
    if !filter.is_empty() {
        let (view, notes) = rewind_report::view::view(&outcome.model, &filter);
        for n in notes {
            out.note(&format!("note: {n}"));
        }
        let full = std::mem::replace(&mut outcome.model, view);
        outcome.model.diagnostics = full.diagnostics.clone();
        std::mem::forget(full);
    }
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    match format {
        // written as it is made: the text is never held whole
        Format::Dot => written(
            rewind_report::graph::dot_pieces(&outcome.model, &mut |piece| {
                stdout.write_all(terminal_safe(piece, false).as_bytes())
            })
            .and_then(|()| stdout.flush()),
        )?,
        Format::Mermaid => {
            let (chart, notes) = rewind_report::graph::mermaid_fit(&outcome.model);
            for n in notes {
                out.note(&format!("note: {}", terminal_safe(&n, false)));
            }
            write_result(&mut stdout, terminal_safe(&chart, false).as_bytes())?
        }
        // streamed: the JSON of a large graph is never held whole
        _ => {
            // checked in large pieces, not serde's small writes
            let mut safe = std::io::BufWriter::with_capacity(
                1 << 16,
                rewind_report::style::TerminalSafe::new(&mut stdout),
            );
            written(
                rewind_report::graph::write_json(&outcome.model, &outcome.root, &mut safe)
                    .and_then(|()| std::io::Write::flush(&mut safe)),
            )?
        }
    }
    // a large model takes longer to free than the process takes to exit
    std::mem::forget(outcome);
    Ok(EXIT_OK)
}
