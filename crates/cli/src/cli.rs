//! Arguments and dispatch.

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::inputs_args::InputArgs;

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
    /// Create a store (default: .rewind/ in the current directory).
    Init,
    /// Snapshot a directory's Terraform code (and state) into the store.
    Snapshot {
        /// The directory to snapshot.
        dir: PathBuf,
        /// Environment this snapshot belongs to.
        #[arg(long, default_value = "default")]
        env: String,
        /// Tag the snapshot (tags never move unless --force).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        /// A message describing the snapshot.
        #[arg(short, long, default_value = "")]
        message: String,
        /// A label key=value (release, git commit, pipeline id...). Repeatable.
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// Move a tag that already exists.
        #[arg(long)]
        force: bool,
        /// Store a directory without Terraform configuration (refused otherwise: a mistyped path must not store an empty release).
        #[arg(long)]
        allow_empty: bool,
        #[command(flatten)]
        inputs: InputArgs,
    },
    /// List snapshots, newest first (or the ref log with --refs).
    Log {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
        /// Show the history of refs (tags, latest, known-good marks) instead.
        #[arg(long)]
        refs: bool,
        /// At most this many entries.
        #[arg(short = 'n', long)]
        limit: Option<usize>,
    },
    /// Show one snapshot.
    Show {
        /// A snapshot reference (tag, id, id prefix, ENV, ENV~N, ENV@good).
        reference: String,
    },
    /// Name a snapshot with a tag.
    Tag {
        name: String,
        reference: String,
        /// Move the tag if it already names another snapshot.
        #[arg(long)]
        force: bool,
    },
    /// Mark a snapshot known-good for an environment.
    MarkGood {
        reference: String,
        #[arg(long)]
        env: String,
        /// Mark even if the snapshot was taken for another environment.
        #[arg(long)]
        force: bool,
    },
    /// Restore the exact files of a snapshot into a directory.
    Checkout {
        reference: String,
        dir: PathBuf,
        /// Write into a directory that is not empty.
        #[arg(long)]
        force: bool,
    },
    /// Check every object, pack index, snapshot and ref of the store.
    Verify,
    /// Copy snapshots, what they reference and their refs from one store to another.
    Sync {
        /// The store to copy from (a directory or s3://bucket/prefix).
        from: String,
        /// The store to copy to.
        to: String,
    },
    /// Remove what no ref or ref-log entry reaches.
    Gc {
        /// Leave anything younger than this alone (e.g. 30s, 10m, 1h, 2d).
        #[arg(long, default_value = "1h")]
        grace: String,
        /// Report what would be removed without removing it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare two versions semantically (each a snapshot reference or a directory).
    Diff(DiffArgs),
    /// The ordered plan that brings a deployment back to an earlier version.
    Plan(PlanArgs),
    /// Print the dependency graph of a directory or snapshot (DOT, Mermaid or JSON).
    Graph {
        /// A directory or a snapshot reference.
        target: String,
        #[command(flatten)]
        inputs: InputArgs,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct DiffArgs {
    /// The older side: a snapshot reference (tag, id, ENV, ENV~N, ENV@good) or a directory.
    pub from: String,
    /// The newer side.
    pub to: String,
    /// Counts per resource type instead of details.
    #[arg(long)]
    pub stat: bool,
    /// Add a unified text diff of the changed files.
    #[arg(long)]
    pub files: bool,
    /// Print sensitive values instead of "(sensitive value changed)".
    #[arg(long)]
    pub show_sensitive: bool,
    /// Only this resource type (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only addresses matching this pattern, `*` and `?` allowed (repeatable).
    #[arg(long = "address", value_name = "PATTERN")]
    pub addresses: Vec<String>,
    /// Only one kind of change.
    #[arg(long, value_enum)]
    pub only: Option<Only>,
    #[command(flatten)]
    pub inputs: InputArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PlanArgs {
    /// The version to go back to: a snapshot reference or a directory.
    #[arg(long)]
    pub to: String,
    /// The deployment now: a snapshot reference or a directory (default: the environment's latest snapshot).
    #[arg(long)]
    pub from: Option<String>,
    /// The environment (default: the one the --to snapshot belongs to).
    #[arg(long)]
    pub env: Option<String>,
    /// Plan deletes and replacements of resources with prevent_destroy instead of refusing.
    #[arg(long)]
    pub allow_destroy_protected: bool,
    #[command(flatten)]
    pub inputs: InputArgs,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Only {
    /// Removals and replacements (everything that destroys).
    Destroys,
    Creates,
    Changes,
    Replacements,
    Moves,
}

/// Parses the command line; on `--help`, `--version` or a usage error,
/// prints and returns the exit code.
pub fn parse() -> Result<Args, u8> {
    let parsed = Args::command().try_get_matches().and_then(|m| {
        let mut a = Args::from_arg_matches(&m)?;
        if let (Some((_, sub)), Some(i)) = (m.subcommand(), a.command.inputs_mut()) {
            i.set_order(sub);
        }
        Ok(a)
    });
    match parsed {
        Ok(a) => Ok(a),
        Err(e) => {
            let _ = e.print();
            Err(if e.use_stderr() { EXIT_ERROR } else { EXIT_OK })
        }
    }
}

impl Command {
    /// The directory inputs of the commands that take them.
    fn inputs_mut(&mut self) -> Option<&mut InputArgs> {
        match self {
            Command::Snapshot { inputs, .. } | Command::Graph { inputs, .. } => Some(inputs),
            Command::Diff(d) => Some(&mut d.inputs),
            Command::Plan(p) => Some(&mut p.inputs),
            _ => None,
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

/// Exit code: success, and no changes found.
pub const EXIT_OK: u8 = 0;
/// Exit code: an error (or a plan blocked by `prevent_destroy`).
pub const EXIT_ERROR: u8 = 1;
/// Exit code: success, and changes found (as `terraform plan
/// -detailed-exitcode`).
pub const EXIT_CHANGES: u8 = 2;

/// The exit code of a diff or plan.
pub fn changes_code(changed: bool) -> u8 {
    if changed {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

/// Runs a command; returns its exit code.
pub fn run(args: Args, out: &Output) -> anyhow::Result<u8> {
    let g = &args.global;
    match args.command {
        Command::Graph { target, inputs } => crate::graph_cmd::run(g, &target, &inputs, out),
        Command::Diff(d) => crate::diff_cmd::run(g, &d, out),
        Command::Plan(p) => crate::plan_cmd::run(g, &p, out),
        Command::Init => crate::snapshot_cmd::init(g, out),
        Command::Snapshot {
            dir,
            env,
            tags,
            message,
            labels,
            force,
            allow_empty,
            inputs,
        } => crate::snapshot_cmd::snapshot(
            g,
            out,
            crate::snapshot_cmd::SnapshotArgs {
                dir: &dir,
                env,
                tags,
                message,
                labels: &labels,
                force,
                allow_empty,
                inputs: &inputs,
            },
        ),
        Command::Log { env, refs, limit } => {
            crate::history_cmd::log(g, out, env.as_deref(), refs, limit)
        }
        Command::Show { reference } => crate::history_cmd::show(g, out, &reference),
        Command::Tag {
            name,
            reference,
            force,
        } => crate::store_cmds::tag(g, out, &name, &reference, force),
        Command::MarkGood {
            reference,
            env,
            force,
        } => crate::store_cmds::mark_good(g, out, &reference, &env, force),
        Command::Checkout {
            reference,
            dir,
            force,
        } => crate::store_cmds::checkout(g, out, &reference, &dir, force),
        Command::Verify => crate::store_cmds::verify(g, out),
        Command::Gc { grace, dry_run } => crate::store_cmds::gc(g, out, &grace, dry_run),
        Command::Sync { from, to } => crate::store_cmds::sync(g, out, &from, &to),
    }
}
