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
    after_help = AFTER_HELP,
)]
pub struct Args {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// The REF syntax, examples and exit codes, under `rewind --help`.
const AFTER_HELP: &str = "\
REF (a snapshot):
  v42            a tag (a pipeline number such as 8812 is a fine tag; a tag wins over an id prefix)
  3f2a9c         a snapshot id, or a unique prefix of one (6+ hex digits)
  prod           the latest snapshot of environment prod (also prod@latest)
  prod~1         one snapshot before it (prod~N: N before)
  prod@good      the last snapshot marked known-good for prod
  A side of diff, plan and report may also be a directory, parsed on the fly.

Examples:
  rewind init
  rewind snapshot infra/ --env prod --tag v42 -m \"release 42\" --label pipeline=8812
  rewind mark-good v42 -m \"healthy for 30 min\"
  rewind diff prod@good infra/ --format markdown
  rewind plan --to prod@good --format html > plan.html
  rewind plan --to prod@good --format terraform-json | conftest test -
  rewind report prod@good prod@latest > audit.html
  rewind history module.db.aws_db_instance.main --env prod
  rewind graph v42 --format mermaid --resources-only

Exit codes:
  0  success (diff and plan: changes or not)
  1  error
  2  diff, plan with --detailed-exitcode (or --exit-code): changes found
  3  plan: printed, but Terraform would refuse it (prevent_destroy, instances known only after apply)";

#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// The store: a directory, or s3://bucket/prefix (default: $REWIND_STORE, then .rewind/ here or in a parent).
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub store: Option<String>,
    /// Output format; each command's help says which it accepts (diff: text|json|markdown|html; plan: those, dot and terraform-json; log, show: text|json|html; report: html; graph: dot|mermaid|json).
    #[arg(long, global = true, value_enum, hide_possible_values = true)]
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
    /// Terraform's plan JSON (`terraform show -json`), for policy tools.
    #[value(name = "terraform-json")]
    TerraformJson,
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
            Format::TerraformJson => "terraform-json",
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
    Init {
        /// Encrypt the store at rest, with the key in REWIND_KEY or in the
        /// file REWIND_KEY_FILE names (or --kms-key, --generate-key).
        #[arg(long)]
        encrypt: bool,
        /// With --encrypt: wrap the data key with this AWS KMS key (id, ARN
        /// or alias/NAME) instead of a key of your own.
        #[arg(long, value_name = "KEY_ID", requires = "encrypt")]
        kms_key: Option<String>,
        /// With --encrypt: write a new random key to this file (created,
        /// mode 0600) and encrypt with it.
        #[arg(
            long,
            value_name = "FILE",
            requires = "encrypt",
            conflicts_with = "kms_key"
        )]
        generate_key: Option<PathBuf>,
        /// Encrypt with the data key of this encrypted store (opened with
        /// its key), so `sync` copies between the two.
        #[arg(long, value_name = "STORE", conflicts_with = "encrypt")]
        encrypt_like: Option<String>,
    },
    /// Rotate the keys of an encrypted store: a fresh sealing key re-seals
    /// every pack and the new key (REWIND_NEW_KEY, REWIND_NEW_KEY_FILE,
    /// --new-key-file or --new-kms-key) alone opens the store; snapshot and
    /// object ids are unchanged.
    ///
    /// The current key comes from REWIND_KEY or REWIND_KEY_FILE (or the
    /// store's KMS key slot). By default the rotation is full: whoever kept
    /// the old key and a copy of the old config cannot read a pack written
    /// after it. It rewrites every pack (as long as a gc that rewrites
    /// everything), takes the store's lock like gc, and drops this
    /// machine's local caches sealed with the old key; killed at any
    /// moment, the store opens with the old key or the new one, and
    /// `rekey` again finishes. --rewrap-only only wraps the same keys with
    /// the new key (one config write, instant): enough to retire a key
    /// nobody else saw, not after a leak.
    Rekey {
        /// Read the new key from this file.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
        /// Wrap the keys with this AWS KMS key instead.
        #[arg(long, value_name = "KEY_ID", conflicts_with = "new_key_file")]
        new_kms_key: Option<String>,
        /// Only wrap the same keys with the new key: no pack is rewritten,
        /// and whoever unwrapped the keys with the old key still reads
        /// everything.
        #[arg(long)]
        rewrap_only: bool,
    },
    /// Snapshot a directory's Terraform code (and state) into the store [--format text|json].
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
    /// List snapshots, newest first, or the ref log with --refs [--format text|json|html].
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
    /// Every snapshot of an environment in which a resource or module changed, with the change, who took the snapshot and who marked it good [--format text|json].
    History {
        /// A resource (`aws_db_instance.main`), an instance (`aws_instance.web[0]`) or a module (`module.db`).
        address: String,
        /// The environment (default: the only one the store has).
        #[arg(long)]
        env: Option<String>,
        /// At most this many snapshots, newest first.
        #[arg(short = 'n', long)]
        limit: Option<usize>,
    },
    /// Show one snapshot [--format text|json|html].
    Show {
        /// A snapshot reference (tag, id, id prefix, ENV, ENV~N, ENV@good).
        reference: String,
    },
    /// Name a snapshot with a tag; without arguments, list the tags [--format text|json].
    Tag {
        /// The tag (letters, digits, '-', '_', '.', '+'; a pipeline number such as 8812 is fine).
        #[arg(requires = "reference")]
        name: Option<String>,
        /// The snapshot it names.
        reference: Option<String>,
        /// Move the tag if it already names another snapshot.
        #[arg(long)]
        force: bool,
    },
    /// Mark a snapshot known-good for an environment (recorded in the ref log with who and why).
    MarkGood {
        /// The snapshot (tag, id, id prefix, ENV, ENV~N, ENV@good).
        reference: String,
        /// The environment (default: the one the snapshot was taken for).
        #[arg(long)]
        env: Option<String>,
        /// Why it is known-good (e.g. "health checks passed for 30 min"), kept in the ref log.
        #[arg(short, long, default_value = "")]
        message: String,
        /// Mark even if the snapshot was taken for another environment.
        #[arg(long)]
        force: bool,
    },
    /// Restore the exact files of a snapshot into a directory.
    Checkout {
        /// The snapshot (tag, id, id prefix, ENV, ENV~N, ENV@good).
        reference: String,
        /// Where to write its files (created if missing; must be empty unless --force).
        dir: PathBuf,
        /// Write into a directory that is not empty; its Terraform files
        /// that the snapshot does not have are removed (and listed).
        #[arg(long)]
        force: bool,
    },
    /// List the environments with their latest and known-good snapshots [--format text|json].
    Envs,
    /// Print a shell completion script (e.g. `rewind completions bash > /etc/bash_completion.d/rewind`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff; e.g. `rewind man > /usr/local/share/man/man1/rewind.1`).
    Man,
    /// Check every object, pack index, snapshot and ref of the store [--format text|json].
    Verify {
        /// Rebuild lost or corrupt refs from their backup copy, the ref
        /// log's chunks and the snapshot records, then verify.
        #[arg(long)]
        repair: bool,
    },
    /// Copy snapshots, what they reference and their refs from one store to another [--format text|json].
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
    /// Compare two versions semantically (each a snapshot reference or a directory) [--format text|json|markdown|html].
    Diff(DiffArgs),
    /// The ordered plan that brings a deployment back to an earlier version [--format text|json|markdown|html|dot|terraform-json].
    Plan(PlanArgs),
    /// Print the dependency graph of a directory or snapshot [--format dot|mermaid|json].
    Graph(GraphArgs),
    /// One self-contained HTML page for auditors: the diff FROM → TO, the plan that takes TO back to FROM, and the audit trail of their environments [--format html].
    Report(ReportArgs),
    /// Roll an environment back through Terraform to a known-good snapshot (a dry run without --apply).
    Rollback(Box<crate::rollback_cmd::RollbackArgs>),
    /// Watch an environment's health; on a breach notify, plan or roll back; promote a healthy release.
    Watch(Box<crate::watch_cmd::WatchArgs>),
    /// List incident records, newest first.
    Incidents {
        /// Only this environment.
        #[arg(long)]
        env: Option<String>,
    },
    /// Render an incident record as a post-mortem skeleton [--format markdown|html|json].
    Incident {
        /// The incident's id or a prefix of it (6+ hex digits).
        id: String,
    },
}

#[derive(clap::Args, Debug, Clone)]
pub struct GraphArgs {
    /// A directory or a snapshot reference.
    pub target: String,
    /// Only resources and data sources (variables, locals, outputs, providers and module calls are bridged over).
    #[arg(long)]
    pub resources_only: bool,
    /// Only what is inside this module (`module.net` or `net`), nested modules included.
    #[arg(long, value_name = "MODULE")]
    pub module: Option<String>,
    /// Only resources and data sources of this type (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Draw modules nested deeper than this as one node each (0: each module call is one node).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
    #[command(flatten)]
    pub inputs: InputArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// The older version: a snapshot reference (tag, id, ENV@good, ENV~N) or a directory.
    pub from: String,
    /// The newer version (the deployment now).
    pub to: String,
    /// Print sensitive values instead of "(sensitive value changed)".
    #[arg(long)]
    pub show_sensitive: bool,
    /// Plan deletes and replacements of resources with prevent_destroy instead of marking the plan blocked.
    #[arg(long)]
    pub allow_destroy_protected: bool,
}

/// What `diff` and `plan` print besides their report.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportShape {
    /// Counts per resource type instead of details (every format).
    #[arg(long)]
    pub stat: bool,
    /// Markdown only: at most this many characters (0: no limit). The summary, destroys and risks are always shown; a note says what was cut.
    #[arg(long, value_name = "CHARS", default_value_t = rewind_report::budget::DEFAULT_BUDGET)]
    pub budget: usize,
    /// Exit 2 when there are changes, 0 when there are none (as `terraform plan -detailed-exitcode`; without it, 0 either way).
    #[arg(long, visible_alias = "exit-code")]
    pub detailed_exitcode: bool,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DiffArgs {
    /// The older side: a snapshot reference (tag, id, ENV, ENV~N, ENV@good) or a directory.
    pub from: String,
    /// The newer side.
    pub to: String,
    #[command(flatten)]
    pub shape: ReportShape,
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
    /// With --format terraform-json: write sensitive values (marked in before_sensitive/after_sensitive) instead of null.
    #[arg(long)]
    pub show_sensitive: bool,
    #[command(flatten)]
    pub shape: ReportShape,
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
            Command::Snapshot { inputs, .. } => Some(inputs),
            Command::Graph(a) => Some(&mut a.inputs),
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

/// Exit code: success (with `--detailed-exitcode`: and no changes).
pub const EXIT_OK: u8 = 0;
/// Exit code: an error.
pub const EXIT_ERROR: u8 = 1;
/// Exit code with `--detailed-exitcode`: success, and changes found (as
/// `terraform plan -detailed-exitcode`).
pub const EXIT_CHANGES: u8 = 2;
/// Exit code: the plan was computed and printed, but Terraform would
/// refuse it (`prevent_destroy`, or instances known only after apply).
pub const EXIT_BLOCKED: u8 = 3;

/// The exit code of a diff or plan that succeeded: 0, or 2 for changes
/// when `--detailed-exitcode` asks for it.
pub fn changes_code(changed: bool, detailed: bool) -> u8 {
    if changed && detailed {
        EXIT_CHANGES
    } else {
        EXIT_OK
    }
}

/// Runs a command; returns its exit code.
pub fn run(args: Args, out: &Output) -> anyhow::Result<u8> {
    let g = &args.global;
    match args.command {
        Command::Graph(a) => crate::graph_cmd::run(g, &a, out),
        Command::Report(a) => crate::report_cmd::run(g, &a, out),
        Command::Diff(d) => crate::diff_cmd::run(g, &d, out),
        Command::Plan(p) => crate::plan_cmd::run(g, &p, out),
        Command::Init {
            encrypt,
            kms_key,
            generate_key,
            encrypt_like,
        } => crate::snapshot_cmd::init(
            g,
            out,
            &crate::snapshot_cmd::InitArgs {
                encrypt,
                kms_key,
                generate_key,
                encrypt_like,
            },
        ),
        Command::Rekey {
            new_key_file,
            new_kms_key,
            rewrap_only,
        } => crate::store_cmds::rekey(g, out, new_key_file.as_deref(), new_kms_key, rewrap_only),
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
        Command::History {
            address,
            env,
            limit,
        } => crate::audit_cmd::history(g, out, &address, env.as_deref(), limit),
        Command::Show { reference } => crate::history_cmd::show(g, out, &reference),
        Command::Tag {
            name: Some(name),
            reference: Some(reference),
            force,
        } => crate::store_cmds::tag(g, out, &name, &reference, force),
        Command::Tag { .. } => crate::store_cmds::list_tags(g, out),
        Command::Envs => crate::store_cmds::envs(g, out),
        Command::Completions { shell } => {
            let mut cmd = <Args as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "rewind", &mut buf);
            crate::output::write_result(&mut std::io::stdout().lock(), &buf)?;
            Ok(EXIT_OK)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Args as clap::CommandFactory>::command()).render(&mut buf)?;
            crate::output::write_result(&mut std::io::stdout().lock(), &buf)?;
            Ok(EXIT_OK)
        }
        Command::MarkGood {
            reference,
            env,
            message,
            force,
        } => crate::store_cmds::mark_good(g, out, &reference, env.as_deref(), &message, force),
        Command::Checkout {
            reference,
            dir,
            force,
        } => crate::store_cmds::checkout(g, out, &reference, &dir, force),
        Command::Verify { repair } => crate::store_cmds::verify(g, out, repair),
        Command::Gc { grace, dry_run } => crate::store_cmds::gc(g, out, &grace, dry_run),
        Command::Sync { from, to } => crate::store_cmds::sync(g, out, &from, &to),
        Command::Rollback(r) => crate::rollback_cmd::rollback(g, out, &r),
        Command::Watch(w) => crate::watch_cmd::watch(g, out, &w),
        Command::Incidents { env } => crate::rollback_cmd::incidents(g, out, env.as_deref()),
        Command::Incident { id } => crate::rollback_cmd::incident(g, out, &id),
    }
}
