//! The revert plan between two versions.

use rewind_model::{Diagnostic, Model};
use rewind_odb::Load;
use rewind_parse::load::Trace;
use rewind_plan::Plan;

use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::tree_files::TreeFiles;
use crate::version::{checked_dir, checked_dir_loaded, Loaded, Side, Version};

/// Settings of a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Plan deletes and replacements of resources with `prevent_destroy`
    /// (they are listed in [`Plan::blocked`] either way).
    pub allow_destroy_protected: bool,
    /// What directory versions are given beside their files.
    pub inputs: Inputs,
}

/// A plan and what it goes between.
pub struct PlanOutcome {
    /// The deployment now.
    pub from: Side,
    /// The version to go back to.
    pub to: Side,
    /// The ordered steps.
    pub plan: Plan,
    /// Warnings found while parsing directory versions.
    pub diagnostics: Vec<Diagnostic>,
    /// The models planned between, freed with the outcome (a process
    /// about to exit may rather forget it: freeing a large model takes
    /// longer than exiting).
    _models: (Model, Model),
}

impl PlanOutcome {
    /// The current side's model (its state's instances with their values).
    pub(crate) fn current_model(&self) -> &Model {
        &self._models.0
    }

    /// The text of every secret of both sides' configurations and states,
    /// and of the values the plan evaluates that are secret
    /// ([`rewind_parse::sensitive::secret_strings_and`]): a target value
    /// built from a template (`"static-${var.pin}"`) is known whole only
    /// evaluated.
    pub(crate) fn secret_strings(&self) -> Vec<String> {
        let (c, t) = &self._models;
        let p = &self.plan;
        let mut evaluated = Vec::new();
        let values = p
            .changes
            .iter()
            .flat_map(|c| [&c.values.before, &c.values.after])
            .chain(p.outputs.iter().flat_map(|o| [&o.before, &o.after]))
            .flatten()
            .chain(p.unchanged.iter().map(|u| &u.value));
        for v in values {
            v.marked_texts(&mut |s, key| evaluated.push((s.to_string(), key)));
        }
        rewind_parse::sensitive::secret_strings_and(
            [c, t]
                .into_iter()
                .flat_map(|m| m.nodes.iter().chain(&m.instances)),
            evaluated.iter().map(|(s, key)| (s.as_str(), *key)),
        )
    }
}

/// Plans the way from `from` (the deployment now) back to `to`: the
/// target's configuration, and of the current side its configuration and
/// its state's instances with their values (what the plan compares with).
/// A directory side's file functions read its files; the target's
/// `.terraform.lock.hcl` chooses the provider tables.
pub fn plan(from: &Version, to: &Version, opts: &PlanOptions) -> Result<PlanOutcome> {
    let trace = Trace::new();
    let mut diagnostics = Vec::new();
    let (target, current) = match (to, from) {
        (Version::Dir(t), Version::Dir(c)) => {
            let both = load_dirs(t, c, &opts.inputs, &mut diagnostics)?;
            trace.mark("load target and current");
            both
        }
        _ => {
            let target = to.load(Load::ConfigOnly, &opts.inputs, &mut diagnostics)?;
            trace.mark("load target");
            let current = from.load(Load::Full, &opts.inputs, &mut diagnostics)?;
            trace.mark("load current");
            (target, current)
        }
    };
    let popts = rewind_plan::Options {
        allow_destroy_protected: opts.allow_destroy_protected,
        current_files: files_of(from, &current)?,
        target_files: files_of(to, &target)?,
        target_lock_file: lock_file(to, &target)?,
        current_inputs: rewind_plan::Inputs {
            workspace: current.workspace.clone(),
            ..Default::default()
        },
        target_inputs: rewind_plan::Inputs {
            workspace: target.workspace.clone(),
            ..Default::default()
        },
    };
    let plan = run_planner(&current.model, &target.model, &popts)?;
    trace.mark("plan");
    Ok(PlanOutcome {
        from: from.side()?,
        to: to.side()?,
        plan,
        diagnostics,
        _models: (current.model, target.model),
    })
}

/// Plans between two models in memory (file functions give unknown
/// values: there are no files to read; the workspace is `default`).
pub fn plan_models(current: &Model, target: &Model, opts: &PlanOptions) -> Result<Plan> {
    let popts = rewind_plan::Options {
        allow_destroy_protected: opts.allow_destroy_protected,
        ..Default::default()
    };
    run_planner(current, target, &popts)
}

/// The one place rewind calls the planner.
fn run_planner(current: &Model, target: &Model, opts: &rewind_plan::Options) -> Result<Plan> {
    Ok(rewind_plan::plan(current, target, opts)?)
}

/// The name of Terraform's dependency lock file, in the root module's
/// directory.
const LOCK_FILE: &str = ".terraform.lock.hcl";

/// The target's lock file, whose provider versions choose the planner's
/// provider tables (the newest tables without one).
fn lock_file(v: &Version, loaded: &Loaded) -> Result<Option<String>> {
    if let Some((dir, _)) = &loaded.dir {
        let path = dir.join(LOCK_FILE);
        return match rewind_parse::read_regular(&path, 0) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        };
    }
    let Version::Snapshot(s) = v else {
        return Ok(None);
    };
    let record = s.store.record(&s.id)?;
    let path = if record.root.is_empty() {
        LOCK_FILE.to_string()
    } else {
        format!("{}/{LOCK_FILE}", record.root)
    };
    let Some(id) = s.store.file_in_tree(&record.tree, &path)? else {
        return Ok(None);
    };
    let bytes = s.store.get_many(&[id])?.pop().unwrap_or_default();
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

/// What a side's functions read: a directory's files inside its tree, or
/// the files stored in a snapshot's tree.
fn files_of(v: &Version, side: &Loaded) -> Result<Option<rewind_plan::FileSource>> {
    if let Some((dir, tree)) = &side.dir {
        return Ok(Some(rewind_plan::FileSource(std::sync::Arc::new(
            rewind_eval::DirFiles::new(dir, tree),
        ))));
    }
    match (v, &side.record) {
        (Version::Snapshot(s), Some(record)) => Ok(Some(rewind_plan::FileSource(
            std::sync::Arc::new(TreeFiles::load(s.store, record, &side.model)?),
        ))),
        _ => Ok(None),
    }
}

/// Two directories: the target's files parsed first (on every core);
/// then the current side's files parsed and its model assembled on
/// another thread while this one assembles the target's model (module
/// tree, references, sensitivity, sort and cycle check: mostly one
/// core's work each). The current side takes the target's parse of
/// every file with the same content (a revert's two versions share almost
/// every file: at 100k resources about 1 s of processor time less than
/// parsing them again). Assembling the current side beside the target
/// instead of after it took the 100k load from 2.86 s to 2.44 s, with the
/// same peak (assembling the target on a thread of its own raised it by
/// 3%: the memory it freed was not reused as well). The parse
/// results are not needed once the module trees are built: each side's
/// load lets go of its own then, and the target's are handed to the
/// current side as many times as the target has files with their content
/// and then let go, so the current side's load frees the last of them
/// before its references and sensitivity are worked out (the load's
/// peak).
fn load_dirs(
    target: &std::path::Path,
    current: &std::path::Path,
    inputs: &Inputs,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Loaded, Loaded)> {
    let mut topts = inputs.parse_options(Load::ConfigOnly);
    topts.free_parsed = true;
    let parsed = rewind_parse::parse_dir(target, &topts);
    let shared = match &parsed {
        Ok(p) => SameContent::of(p.files(), p.parsed()),
        Err(_) => SameContent::default(),
    };
    let mut copts: rewind_parse::Options<'_> = inputs.parse_options(Load::Full);
    copts.cache = Some(&shared);
    copts.free_parsed = true;
    let parse_current =
        || rewind_parse::parse_dir(current, &copts).and_then(|p| p.assemble(&copts));
    let (t, c) = std::thread::scope(|s| {
        // a big stack, as the parser's threads: deeply nested input
        // recurses deeply
        let parsing = std::thread::Builder::new()
            .stack_size(rewind_parse::PARSE_STACK)
            .spawn_scoped(s, parse_current);
        let t = parsed.and_then(|p| p.assemble(&topts)).map(|mut l| {
            l.parsed = Vec::new();
            l
        });
        let t = checked_dir(target, t, false);
        let c = match parsing {
            Ok(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            // no thread: parsed now
            Err(_) => parse_current(),
        };
        (t, c)
    });
    drop(copts);
    let c = c.map(|mut l| {
        l.parsed = Vec::new();
        l
    });
    drop(shared);
    let c = checked_dir(current, c, false);
    let (t, _) = checked_dir_loaded(target, t, inputs, warnings)?;
    let (c, _) = checked_dir_loaded(current, c, inputs, warnings)?;
    Ok((t, c))
}

/// The configuration files of one loaded directory by content, for the
/// load of another: a file with the same bytes parses the same (a parse
/// result holds no path; the parse cache of a store is keyed the same
/// way). Each result is handed out as many times as the first directory
/// has files with its content, and then let go: the other load is left
/// the only holder, and frees it when its module tree is built.
#[derive(Default)]
struct SameContent {
    parsed: std::sync::Mutex<ByContent>,
}

/// Parse results by content and kind, with how many more times each is
/// handed out.
type ByContent = std::collections::HashMap<
    (rewind_model::Hash, rewind_parse::FileKind),
    (std::sync::Arc<rewind_parse::Parsed>, usize),
>;

impl SameContent {
    /// Shares a parse's results (configuration and variable files only:
    /// a state file is parsed for each side's own purpose).
    fn of(
        files: &[rewind_parse::SourceFile],
        parsed: &[std::sync::Arc<rewind_parse::Parsed>],
    ) -> SameContent {
        use rewind_parse::FileKind;
        let mut by_content = ByContent::new();
        for (f, p) in files.iter().zip(parsed) {
            if !matches!(
                f.kind,
                FileKind::Tf | FileKind::TfJson | FileKind::Tfvars | FileKind::TfvarsJson
            ) || matches!(**p, rewind_parse::Parsed::Raw)
            {
                continue;
            }
            by_content
                .entry((f.hash, f.kind))
                .or_insert_with(|| (std::sync::Arc::clone(p), 0))
                .1 += 1;
        }
        SameContent {
            parsed: std::sync::Mutex::new(by_content),
        }
    }
}

impl rewind_parse::Cache for SameContent {
    fn parsed(
        &self,
        hash: &rewind_model::Hash,
        kind: rewind_parse::FileKind,
    ) -> Option<std::sync::Arc<rewind_parse::Parsed>> {
        // shared, not copied: a parse result is never changed
        let mut parsed = self.parsed.lock().ok()?;
        let key = (*hash, kind);
        let (p, left) = parsed.get_mut(&key)?;
        *left -= 1;
        if *left > 0 {
            return Some(std::sync::Arc::clone(p));
        }
        parsed.remove(&key).map(|(p, _)| p)
    }
}
