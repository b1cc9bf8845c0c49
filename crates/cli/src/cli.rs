//! Arguments and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::output::Output;

#[derive(Parser, Debug)]
#[command(
    name = "rewind",
    version,
    about = "Snapshot infrastructure-as-code, diff any two versions, and plan the way back.",
    long_about = None,
)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// The store: a directory, or s3://bucket/prefix (default: $REWIND_STORE, then .rewind/ here or in a parent).
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub store: Option<String>,
    /// Output format (each command accepts the ones that make sense for it).
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// When to colour the output (NO_COLOR is respected with auto).
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Print only results and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print more (request counts, timings).
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
    Dot,
    Mermaid,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Dot => "dot",
            Format::Mermaid => "mermaid",
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the dependency graph of a directory or snapshot (DOT, Mermaid or JSON).
    Graph {
        /// A directory (or a snapshot reference).
        target: PathBuf,
    },
}

/// Parses the command line; on `--help`, `--version` or a usage error,
/// prints and returns the exit code.
pub fn parse() -> Result<Args, ExitCode> {
    match Args::try_parse() {
        Ok(a) => Ok(a),
        Err(e) => {
            let _ = e.print();
            Err(ExitCode::from(if e.use_stderr() { 1 } else { 0 }))
        }
    }
}

/// Checks that `format` is one `command` supports.
pub fn format_for(
    g: &Global,
    command: &str,
    allowed: &[Format],
    default: Format,
) -> anyhow::Result<Format> {
    let f = g.format.unwrap_or(default);
    if allowed.contains(&f) {
        Ok(f)
    } else {
        let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
        anyhow::bail!(
            "`rewind {command}` does not support --format {}; use one of: {}",
            f.name(),
            names.join(", ")
        )
    }
}

pub fn run(args: Args, out: &Output) -> anyhow::Result<u8> {
    match &args.command {
        Command::Graph { target } => crate::graph_cmd::run(&args.global, target, out),
    }
}
