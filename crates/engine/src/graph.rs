//! The dependency graph of a version's configuration.

use rewind_model::{Diagnostic, Model};
use rewind_odb::Load;

use crate::error::Result;
use crate::version::{dir_loaded_keeping, Version};

/// Settings of a graph.
#[derive(Clone, Debug, Default)]
pub struct GraphOptions {
    /// Draw a directory whose configuration has a dependency cycle instead
    /// of refusing it (a snapshot never has one: it was refused then).
    pub allow_cycles: bool,
    /// The graph is drawn without values or node hashes (DOT, Mermaid):
    /// a directory's sensitivity is not spread and its resources' values
    /// are not built, as nothing drawn shows them (see
    /// [`rewind_parse::Options::labels_only`]). The nodes' bodies and
    /// secret paths, and so their hashes, are then not a snapshot's.
    pub labels_only: bool,
    /// What a directory version is given beside its files.
    pub inputs: crate::Inputs,
}

/// A version's configuration, ready to draw.
pub struct GraphOutcome {
    /// The configuration (no state instances).
    pub model: Model,
    /// The root module's directory relative to the files' base.
    pub root: String,
    /// Warnings found while parsing a directory version.
    pub diagnostics: Vec<Diagnostic>,
    /// A directory version's parse results, no longer needed: handed
    /// back so that a process about to exit can forget them instead of
    /// freeing them (freeing was 3% of a `graph` of 10,000 resources).
    pub parsed: Vec<std::sync::Arc<rewind_parse::Parsed>>,
}

/// The configuration of a version: nodes and edges, without state (the
/// graph is the configuration's, so state files are not read).
pub fn graph(v: &Version, opts: &GraphOptions) -> Result<GraphOutcome> {
    let mut diagnostics = Vec::new();
    let mut parsed = Vec::new();
    let loaded = match v {
        Version::Dir(p) => {
            let popts = rewind_parse::Options {
                allow_cycles: opts.allow_cycles,
                // the graph uses neither the state's text nor its hash
                unread_state: true,
                labels_only: opts.labels_only,
                ..opts.inputs.parse_options(Load::ConfigOnly)
            };
            let (loaded, p) = dir_loaded_keeping(
                p,
                rewind_parse::load(p, &popts),
                &opts.inputs,
                &mut diagnostics,
            )?;
            parsed = p;
            loaded
        }
        Version::Snapshot(_) => v.load(Load::ConfigOnly, &opts.inputs, &mut diagnostics)?,
    };
    Ok(GraphOutcome {
        model: loaded.model,
        root: loaded.root,
        diagnostics,
        parsed,
    })
}
