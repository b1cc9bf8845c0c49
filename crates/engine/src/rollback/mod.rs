//! Rolling an environment back through Terraform: rewind's revert plan
//! as the preview, the risk policy, the target snapshot materialised next
//! to the deployment, Terraform's saved plan held against the preview (the
//! gate), that plan applied under a lock, the deployment's configuration
//! made the target's, the result snapshotted, and an incident recorded.

mod executor;
mod gate;
mod risk;
mod workdir;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rewind_odb::{
    time, ApplyRecord, DataAtRisk, Evidence, GateRecord, IncidentId, IncidentRecord, PlannedChange,
    SnapshotId, SnapshotRecord, Store, TimelineEntry, INCIDENT_FORMAT,
};
use rewind_plan::Plan;

pub use executor::Executor;
pub use gate::{gate, parse_show_json, Difference, GateVerdict, TerraformChange};
pub use risk::{data_at_risk, policy_violations, RiskPolicy};

use crate::error::{Error, Result};
use crate::plan::{plan, PlanOptions};
use crate::snapshot::{snapshot, SnapshotOptions};
use crate::version::{StoredVersion, Version};

/// What a rollback is asked to do.
#[derive(Clone, Debug, Default)]
pub struct RollbackOptions {
    /// The environment.
    pub env: String,
    /// The snapshot to go back to (a REF; default `ENV@good`).
    pub to: Option<String>,
    /// The deployment's root module directory (default: the directory the
    /// environment's latest snapshot was taken from).
    pub dir: Option<PathBuf>,
    /// Apply (otherwise a dry run: everything up to the gate).
    pub apply: bool,
    /// What the rollback may destroy.
    pub policy: RiskPolicy,
    /// `terraform`, `tofu` or a path (default `terraform`).
    pub executor: String,
    /// Keep the working directory after a successful rollback.
    pub keep_workdir: bool,
    /// The breach that triggered the rollback, when `watch` started it.
    pub breach: Option<Breach>,
    /// Stop after rewind's preview and the policy (Terraform is not run):
    /// what `watch --then notify` records.
    pub preview_only: bool,
    /// Set when the rollback is asked to stop (the CLI's SIGINT and
    /// SIGTERM): no further step starts, a running Terraform is asked to
    /// stop gracefully, and the run ends as failed with its incident
    /// recorded and its lock released. Once an apply has succeeded, the
    /// run still adopts its result.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

/// A health breach, as `watch` saw it.
#[derive(Clone, Debug, Default)]
pub struct Breach {
    /// When it was detected (RFC 3339).
    pub detected: String,
    /// What breached, one sentence.
    pub summary: String,
    /// The observations that led to it.
    pub evidence: Vec<Evidence>,
}

/// How a rollback ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The deployment already is the target: nothing to do.
    NothingToDo,
    /// Only rewind's preview was made (Terraform was not run).
    Previewed,
    /// The risk policy refused the preview.
    PolicyRefused,
    /// Terraform's plan does more than the preview showed.
    GateRefused,
    /// A dry run: Terraform's plan passed the gate; nothing was applied.
    DryRun,
    /// Terraform's apply failed.
    ApplyFailed,
    /// Rolled back.
    RolledBack,
}

impl Status {
    /// The word recorded in incidents.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NothingToDo => "nothing-to-do",
            Status::Previewed => "previewed",
            Status::PolicyRefused => "policy-refused",
            Status::GateRefused => "gate-refused",
            Status::DryRun => "dry-run",
            Status::ApplyFailed => "apply-failed",
            Status::RolledBack => "rolled-back",
        }
    }
}

/// What a rollback did.
#[derive(Debug)]
pub struct RollbackOutcome {
    /// How it ended.
    pub status: Status,
    /// The environment.
    pub env: String,
    /// The snapshot rolled back from (the environment's latest).
    pub from: SnapshotId,
    /// The snapshot rolled back to.
    pub to: SnapshotId,
    /// The deployment's root module directory.
    pub deployment: PathBuf,
    /// rewind's revert plan: the preview.
    pub preview: Plan,
    /// Data-bearing objects the preview destroys or replaces.
    pub data_at_risk: Vec<DataAtRisk>,
    /// Why the policy refused (empty: it did not).
    pub violations: Vec<String>,
    /// Terraform's plan (empty when it did not plan).
    pub terraform: Vec<TerraformChange>,
    /// The gate's verdict (`None`: Terraform did not plan).
    pub gate: Option<GateVerdict>,
    /// The apply (`None`: nothing was applied).
    pub apply: Option<ApplyRecord>,
    /// The snapshot taken after the rollback.
    pub result: Option<SnapshotId>,
    /// Files of the deployment's configuration written and removed.
    pub synced: Option<(usize, usize)>,
    /// The incident recorded.
    pub incident: Option<IncidentId>,
    /// The working directory, when it was kept (a refusal, a failure,
    /// `keep_workdir`).
    pub workdir: Option<PathBuf>,
}

/// What happens, as it happens (progress lines and the executor's
/// output), for the caller to show.
pub enum Event<'a> {
    /// A step begins or ends.
    Step(&'a str),
    /// A line of the executor's output.
    Output(&'a str),
}

/// Rolls `opts.env` back to `opts.to` (see the module documentation).
/// Refusals (policy, gate) and a failed apply are outcomes, not errors;
/// with `apply`, each of them, and every rollback, writes an incident
/// record.
pub fn rollback(
    store: &Store,
    opts: &RollbackOptions,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<RollbackOutcome> {
    let mut run = Run::start(store, opts)?;
    let result = run.go(events);
    match result {
        Ok(()) => {}
        Err(e) => {
            // another rollback running is not an incident of its own
            let locked = matches!(e, Error::Store(rewind_odb::Error::RollbackLocked { .. }));
            if (opts.apply || opts.breach.is_some()) && !locked {
                run.timeline("error", &e.to_string());
                run.error = Some(e.to_string());
                // the record of what happened matters more than its id here
                let _ = run.record_incident("failed");
            }
            if let Some(w) = &run.workdir {
                // kept for inspection, without a plan anyone could apply
                let _ = std::fs::remove_file(&w.plan_file);
                events(Event::Step(&format!(
                    "the working directory is kept for inspection: {}",
                    w.top.display()
                )));
            }
            return Err(e);
        }
    }
    Ok(run.finish())
}

/// A rollback in progress.
struct Run<'s> {
    store: &'s Store,
    opts: &'s RollbackOptions,
    started: Instant,
    from: SnapshotId,
    to: SnapshotId,
    from_record: SnapshotRecord,
    to_record: SnapshotRecord,
    deployment: PathBuf,
    timeline: Vec<TimelineEntry>,
    status: Status,
    preview: Plan,
    changed: Vec<String>,
    data_at_risk: Vec<DataAtRisk>,
    violations: Vec<String>,
    /// The secrets of both snapshots, for Terraform's output to be
    /// scrubbed of ([`rewind_parse::sensitive::secret_strings`]).
    secrets: Vec<String>,
    terraform: Vec<TerraformChange>,
    gate: Option<GateVerdict>,
    apply: Option<ApplyRecord>,
    result: Option<SnapshotId>,
    synced: Option<(usize, usize)>,
    incident: Option<IncidentId>,
    workdir: Option<workdir::Workdir>,
    keep_workdir: bool,
    error: Option<String>,
}

impl<'s> Run<'s> {
    fn start(store: &'s Store, opts: &'s RollbackOptions) -> Result<Run<'s>> {
        rewind_odb::check_name("environment", &opts.env)?;
        let refs = store.refs()?;
        let Some(from) = refs.envs.get(&opts.env).and_then(|e| e.latest) else {
            return Err(Error::Rollback(format!(
                "environment {:?} has no snapshots: nothing to roll back",
                opts.env
            )));
        };
        let to = match &opts.to {
            Some(spec) => store.resolve_in(&refs, spec)?,
            None => refs
                .envs
                .get(&opts.env)
                .and_then(|e| e.good)
                .ok_or_else(|| {
                    Error::Rollback(format!(
                        "environment {:?} has no known-good snapshot: name one with --to REF (or mark one with `rewind mark-good`)",
                        opts.env
                    ))
                })?,
        };
        let from_record = store.record(&from)?;
        let to_record = store.record(&to)?;
        let deployment = opts
            .dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(&from_record.source));
        // recorded as the next snapshot's source: absolute
        let deployment = deployment.canonicalize().unwrap_or(deployment);
        let mut timeline = Vec::new();
        timeline.push(TimelineEntry {
            time: from_record.time.clone(),
            event: "deployed".into(),
            detail: format!(
                "snapshot {} of {} taken{}",
                describe(&from, &refs.tags_of(&from)),
                opts.env,
                if from_record.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", from_record.message)
                }
            ),
        });
        if let Some(b) = &opts.breach {
            for e in b.evidence.iter().filter(|e| e.failing).take(1) {
                timeline.push(TimelineEntry {
                    time: e.time.clone(),
                    event: "first failing check".into(),
                    detail: format!("{}: {} (expected {})", e.check, e.value, e.expected),
                });
            }
            timeline.push(TimelineEntry {
                time: b.detected.clone(),
                event: "breach".into(),
                detail: b.summary.clone(),
            });
        }
        Ok(Run {
            store,
            opts,
            started: Instant::now(),
            from,
            to,
            from_record,
            to_record,
            deployment,
            timeline,
            status: Status::NothingToDo,
            preview: Plan::default(),
            changed: Vec::new(),
            data_at_risk: Vec::new(),
            violations: Vec::new(),
            secrets: Vec::new(),
            terraform: Vec::new(),
            gate: None,
            apply: None,
            result: None,
            synced: None,
            incident: None,
            workdir: None,
            keep_workdir: opts.keep_workdir,
            error: None,
        })
    }

    fn timeline(&mut self, event: &str, detail: &str) {
        self.timeline.push(TimelineEntry {
            time: time::now(),
            event: event.into(),
            detail: detail.into(),
        });
    }

    /// The run, step by step: the preview and the policy, the target
    /// materialised, Terraform's plan, the gate, the apply, the result
    /// adopted. Each step returns whether the run goes on; a run that stops
    /// early has set its status (and recorded its incident when one is due).
    fn go(&mut self, events: &mut dyn FnMut(Event<'_>)) -> Result<()> {
        let store = self.store;
        let opts = self.opts;
        if self.from == self.to {
            events(Event::Step(&format!(
                "{} is already at {}: nothing to roll back",
                opts.env,
                self.to.short(12)
            )));
            if opts.breach.is_some() {
                self.record_incident("breach")?;
            }
            return Ok(());
        }
        if !self.deployment.is_dir() && !opts.preview_only {
            return Err(Error::Rollback(format!(
                "the deployment directory {} does not exist (name it with --dir)",
                self.deployment.display()
            )));
        }
        if !opts.preview_only {
            // what the result's adoption writes, checked before Terraform
            // changes anything
            workdir::check_sync(
                &workdir::tree_base(&self.deployment, &self.to_record.root),
                &store.tree_files(&self.to_record.tree)?,
                &store.tree_files(&self.from_record.tree)?,
            )?;
        }
        if !self.preview(events)? {
            return Ok(());
        }
        let _lock = if opts.apply {
            Some(store.lock_rollback(
                &opts.env,
                &format!(
                    "rollback from {} to {}",
                    self.from.short(12),
                    self.to.short(12)
                ),
            )?)
        } else {
            None
        };
        self.still_latest()?;
        let mut exec = Executor::find(if opts.executor.is_empty() {
            "terraform"
        } else {
            &opts.executor
        })?;
        exec.secrets = std::mem::take(&mut self.secrets);
        exec.interrupt = opts.interrupt.clone();
        self.check_interrupt()?;
        let w = workdir::materialise(store, &self.to, &self.deployment, &opts.env)?;
        events(Event::Step(&format!(
            "materialised {} into {}",
            self.to.short(12),
            w.module.display()
        )));
        let module = w.module.clone();
        let plan_file = w.plan_file.display().to_string();
        let locked = w.locked;
        self.workdir = Some(w);
        self.terraform_plan(&mut exec, &module, &plan_file, locked, events)?;
        if !self.gate_passed(&plan_file)? {
            return Ok(());
        }
        self.check_interrupt()?;
        // a deploy that landed while Terraform planned: its plan is of a
        // deployment the preview did not see
        self.still_latest()?;
        if !opts.apply {
            self.status = Status::DryRun;
            if opts.breach.is_some() {
                self.record_incident("breach")?;
            }
            return Ok(());
        }
        if !self.apply_saved_plan(&exec, &module, &plan_file, events)? {
            return Ok(());
        }
        self.adopt_result(&exec, &module, events)
    }

    /// rewind's own revert plan between the two snapshots, the data at
    /// risk and the risk policy. Goes on when there is something to do,
    /// the policy allows it and more than a preview was asked for.
    fn preview(&mut self, events: &mut dyn FnMut(Event<'_>)) -> Result<bool> {
        let store = self.store;
        let opts = self.opts;
        let current = Version::Snapshot(StoredVersion::new(store, self.from)?);
        let target = Version::Snapshot(StoredVersion::new(store, self.to)?);
        let outcome = plan(&current, &target, &PlanOptions::default())?;
        self.data_at_risk = data_at_risk(&outcome.plan, outcome.current_model());
        self.secrets = outcome.secret_strings();
        self.violations = policy_violations(&outcome.plan, &opts.policy);
        self.changed = changed_summary(&target, &current)?;
        self.preview = outcome.plan;
        let n = self.preview.changes.iter().filter(|c| !c.is_noop()).count();
        self.timeline(
            "preview",
            &format!(
                "rewind's revert plan from {} to {}: {n} change{}",
                self.from.short(12),
                self.to.short(12),
                if n == 1 { "" } else { "s" }
            ),
        );
        events(Event::Step(&format!(
            "preview: {n} change{} back to {}",
            if n == 1 { "" } else { "s" },
            self.to.short(12)
        )));
        if self.preview.is_empty() {
            if opts.breach.is_some() {
                self.record_incident("breach")?;
            }
            return Ok(false);
        }
        if !self.violations.is_empty() {
            self.status = Status::PolicyRefused;
            let why = self.violations.join("; ");
            self.timeline("policy", &format!("refused: {why}"));
            if opts.apply || opts.breach.is_some() {
                self.record_incident(self.status.as_str())?;
            }
            return Ok(false);
        }
        if opts.preview_only {
            self.status = Status::Previewed;
            if opts.breach.is_some() {
                self.record_incident("breach")?;
            }
            return Ok(false);
        }
        Ok(true)
    }

    /// Runs one Terraform command in the materialised module with its
    /// output streamed; a failure keeps the working directory.
    fn run_step(
        &mut self,
        exec: &Executor,
        module: &Path,
        step: &str,
        args: &[&str],
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<()> {
        events(Event::Step(&format!("{} {}", exec.name, args.join(" "))));
        let ran = exec.stream(module, args, &self.output_log(), &mut |l| {
            events(Event::Output(l))
        })?;
        if ran.interrupted {
            self.keep_workdir = true;
            return Err(interrupted(&format!(
                "`{} {}` stopped (exit {})",
                exec.name,
                args.join(" "),
                exit_text(ran.code)
            )));
        }
        if ran.code != Some(0) {
            self.keep_workdir = true;
            return Err(Error::Rollback(format!(
                "`{} {}` failed (exit {}) in {}",
                exec.name,
                args.join(" "),
                exit_text(ran.code),
                module.display()
            )));
        }
        self.timeline(
            step,
            &format!("`{} {}` succeeded", exec.name, args.join(" ")),
        );
        Ok(())
    }

    /// Where Terraform's output goes while rewind follows it: beside the
    /// materialised configuration (never in it: the result is snapshotted
    /// from there).
    fn output_log(&self) -> PathBuf {
        match &self.workdir {
            Some(w) => w.top.join("terraform-output.log"),
            None => std::env::temp_dir().join(format!(
                "rewind-terraform-output-{}.log",
                std::process::id()
            )),
        }
    }

    /// An error when the rollback has been asked to stop.
    fn check_interrupt(&self) -> Result<()> {
        if self
            .opts
            .interrupt
            .as_ref()
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst))
        {
            return Err(interrupted("before the next step started"));
        }
        Ok(())
    }

    /// Under the lock, and again before the apply: the environment's
    /// latest snapshot is still the one the run began from (a deploy that
    /// landed meanwhile would otherwise be rolled back under the name of
    /// the release before it, and its files left in the deployment).
    fn still_latest(&self) -> Result<()> {
        let refs = self.store.refs()?;
        let latest = refs.envs.get(&self.opts.env).and_then(|e| e.latest);
        if latest != Some(self.from) {
            return Err(Error::Rollback(format!(
                "{}'s latest snapshot changed while the rollback was starting (from {} to {}): nothing was applied; run it again to roll back what is deployed now",
                self.opts.env,
                self.from.short(12),
                latest.map_or_else(|| "none".to_string(), |l| l.short(12))
            )));
        }
        Ok(())
    }

    /// `init` and `plan -out`, streamed, then the saved plan as
    /// `show -json` reads it.
    fn terraform_plan(
        &mut self,
        exec: &mut Executor,
        module: &Path,
        plan_file: &str,
        locked: bool,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<()> {
        let mut init = vec!["init", "-input=false", "-no-color"];
        if locked {
            init.push("-lockfile=readonly");
        }
        self.run_step(exec, module, "init", &init, events)?;
        live_secrets(exec, module)?;
        let out = format!("-out={plan_file}");
        let args = [
            "plan",
            "-input=false",
            "-no-color",
            "-lock-timeout=60s",
            &out,
        ];
        self.run_step(exec, module, "terraform plan", &args, events)?;
        let json = exec.capture(module, &["show", "-json", plan_file])?;
        self.terraform = parse_show_json(&json)
            .map_err(|e| Error::Rollback(format!("`{} show -json {plan_file}`: {e}", exec.name)))?;
        Ok(())
    }

    /// The gate: Terraform's plan against the preview. Refused, the saved
    /// plan is removed and the working directory kept for inspection.
    fn gate_passed(&mut self, plan_file: &str) -> Result<bool> {
        let opts = self.opts;
        let verdict = gate(&self.preview, &self.terraform);
        let passed = verdict.passed();
        self.timeline(
            "gate",
            &if passed {
                "passed: Terraform's plan destroys, replaces and creates nothing the preview did not show".to_string()
            } else {
                format!(
                    "refused: {}",
                    verdict
                        .refusals
                        .iter()
                        .map(|d| format!("{}: {}", d.address, d.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
        );
        self.gate = Some(verdict);
        if passed {
            return Ok(true);
        }
        self.status = Status::GateRefused;
        // keep the files for inspection, not a plan someone could apply
        let _ = std::fs::remove_file(plan_file);
        self.keep_workdir = true;
        if opts.apply || opts.breach.is_some() {
            self.record_incident(self.status.as_str())?;
        }
        Ok(false)
    }

    /// Applies the saved plan, never a fresh one. Goes on when it
    /// succeeded; a failed apply is recorded and keeps the working
    /// directory.
    fn apply_saved_plan(
        &mut self,
        exec: &Executor,
        module: &Path,
        plan_file: &str,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<bool> {
        let args = [
            "apply",
            "-input=false",
            "-no-color",
            "-lock-timeout=60s",
            plan_file,
        ];
        events(Event::Step(&format!("{} {}", exec.name, args.join(" "))));
        let ran = exec.stream(module, &args, &self.output_log(), &mut |l| {
            events(Event::Output(l))
        })?;
        let ok = ran.code == Some(0);
        self.apply = Some(ApplyRecord {
            succeeded: ok,
            seconds: ran.took.as_secs_f64(),
            exit_code: ran.code,
        });
        self.timeline(
            "apply",
            &format!(
                "`{} apply` of the saved plan {} after {:.1}s{}",
                exec.name,
                if ok { "succeeded" } else { "failed" },
                ran.took.as_secs_f64(),
                if ran.interrupted {
                    " (rewind was interrupted during it and asked it to stop)"
                } else {
                    ""
                }
            ),
        );
        if ok {
            // applied: the deployment's files and refs follow it, even
            // when interrupted (stopping now would leave them behind)
            return Ok(true);
        }
        self.status = Status::ApplyFailed;
        self.keep_workdir = true;
        // kept for inspection, without a plan anyone could apply
        let _ = std::fs::remove_file(plan_file);
        self.record_incident(self.status.as_str())?;
        Ok(false)
    }

    /// After a successful apply: the deployment takes the target's
    /// configuration, and the result is snapshotted with the state
    /// Terraform leaves, then recorded.
    fn adopt_result(
        &mut self,
        exec: &Executor,
        module: &Path,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<()> {
        let store = self.store;
        let opts = self.opts;
        let base = workdir::tree_base(&self.deployment, &self.to_record.root);
        let target_files = store.tree_files(&self.to_record.tree)?;
        let previous = store.tree_files(&self.from_record.tree)?;
        let synced = workdir::sync_configuration(store, &base, &target_files, &previous)?;
        self.synced = Some(synced);
        self.timeline(
            "configuration",
            &format!(
                "{} now holds the configuration of {} ({} files written, {} removed)",
                self.deployment.display(),
                self.to.short(12),
                synced.0,
                synced.1
            ),
        );
        // snapshot the result, with the state Terraform leaves
        let state = exec.capture(module, &["state", "pull"])?;
        let override_file = module.join(workdir::BACKEND_OVERRIDE);
        std::fs::remove_file(&override_file).map_err(|source| Error::Io {
            path: override_file.clone(),
            source,
        })?;
        let state_path = module.join("terraform.tfstate");
        std::fs::write(&state_path, &state).map_err(|source| Error::Io {
            path: state_path.clone(),
            source,
        })?;
        let mut labels = BTreeMap::new();
        labels.insert("rollback_from".to_string(), self.from.to_hex());
        labels.insert("rollback_to".to_string(), self.to.to_hex());
        let snap = snapshot(
            store,
            module,
            &SnapshotOptions {
                env: opts.env.clone(),
                message: format!(
                    "rollback from {} to {}",
                    self.from.short(12),
                    self.to.short(12)
                ),
                labels,
                source: Some(self.deployment.clone()),
                ..Default::default()
            },
        )?;
        self.result = Some(snap.id);
        self.timeline(
            "snapshot",
            &format!("the result is snapshot {}", snap.id.short(12)),
        );
        events(Event::Step(&format!(
            "snapshot {} of {} taken",
            snap.id.short(12),
            opts.env
        )));
        self.status = Status::RolledBack;
        self.record_incident(self.status.as_str())?;
        Ok(())
    }

    /// Writes the incident record of this run.
    fn record_incident(&mut self, outcome: &str) -> Result<IncidentId> {
        let refs = self.store.refs()?;
        let mut labels = BTreeMap::new();
        for (id, rec, side) in [
            (&self.from, &self.from_record, "bad"),
            (&self.to, &self.to_record, "good"),
        ] {
            let tags = refs.tags_of(id);
            if !tags.is_empty() {
                labels.insert(format!("{side}.tags"), tags.join(", "));
            }
            for (k, v) in &rec.labels {
                labels.insert(format!("{side}.{k}"), v.clone());
            }
            if let Some(g) = &rec.git {
                labels.insert(format!("{side}.git_commit"), g.commit.clone());
            }
        }
        let now = time::now();
        let deployed = time::parse(&self.from_record.time);
        let detected = self
            .opts
            .breach
            .as_ref()
            .and_then(|b| time::parse(&b.detected));
        let recovered = self
            .apply
            .as_ref()
            .filter(|a| a.succeeded)
            .and_then(|_| time::parse(&now));
        let start = detected.unwrap_or_else(|| {
            time::parse(&now).unwrap_or(0) - self.started.elapsed().as_secs() as i64
        });
        let rec = IncidentRecord {
            format: INCIDENT_FORMAT,
            env: self.opts.env.clone(),
            time: now,
            outcome: outcome.to_string(),
            bad: Some(self.from),
            good: Some(self.to),
            result: self.result,
            labels,
            changed: self.changed.clone(),
            previewed: self
                .preview
                .changes
                .iter()
                .filter(|c| !c.is_noop() || c.previous_address.is_some())
                .map(|c| PlannedChange {
                    address: c.address.to_string(),
                    actions: gate::action_names(&c.actions),
                })
                .collect(),
            terraform_plan: self
                .terraform
                .iter()
                .filter(|c| c.actions != ["no-op"])
                .map(|c| PlannedChange {
                    address: c.address.clone(),
                    actions: c.actions.clone(),
                })
                .collect(),
            gate: self.gate.as_ref().map(|g| GateRecord {
                passed: g.passed(),
                differences: g
                    .refusals
                    .iter()
                    .chain(&g.notes)
                    .map(|d| format!("{}: {}", d.address, d.message))
                    .collect(),
            }),
            data_at_risk: self.data_at_risk.clone(),
            evidence: self
                .opts
                .breach
                .as_ref()
                .map(|b| b.evidence.clone())
                .unwrap_or_default(),
            apply: self.apply.clone(),
            time_to_detect: match (deployed, detected) {
                (Some(a), Some(b)) if b >= a => Some((b - a) as f64),
                _ => None,
            },
            time_to_recover: recovered.map(|r| (r - start).max(0) as f64),
            timeline: self.timeline.clone(),
            error: self
                .error
                .clone()
                .or_else(|| (!self.violations.is_empty()).then(|| self.violations.join("; "))),
        };
        let id = self.store.put_incident(&rec)?;
        self.incident = Some(id);
        Ok(id)
    }

    fn finish(mut self) -> RollbackOutcome {
        let workdir = self.workdir.take().and_then(|w| {
            if self.keep_workdir {
                Some(w.top)
            } else {
                let _ = std::fs::remove_dir_all(&w.top);
                None
            }
        });
        RollbackOutcome {
            status: self.status,
            env: self.opts.env.clone(),
            from: self.from,
            to: self.to,
            deployment: self.deployment,
            preview: self.preview,
            data_at_risk: self.data_at_risk,
            violations: self.violations,
            terraform: self.terraform,
            gate: self.gate,
            apply: self.apply,
            result: self.result,
            synced: self.synced,
            incident: self.incident,
            workdir,
        }
    }
}

/// Records a breach that no rollback could be planned for (no
/// known-good snapshot, a preview that failed): the environment's latest
/// snapshot, the evidence and the timeline.
pub fn record_breach(store: &Store, env: &str, breach: &Breach) -> Result<IncidentId> {
    let refs = store.refs()?;
    let e = refs.envs.get(env).cloned().unwrap_or_default();
    let mut timeline = Vec::new();
    let mut time_to_detect = None;
    if let Some(bad) = e.latest {
        let rec = store.record(&bad)?;
        if let (Some(a), Some(b)) = (time::parse(&rec.time), time::parse(&breach.detected)) {
            time_to_detect = (b >= a).then_some((b - a) as f64);
        }
        timeline.push(TimelineEntry {
            time: rec.time,
            event: "deployed".into(),
            detail: format!(
                "snapshot {} of {env} taken",
                describe(&bad, &refs.tags_of(&bad))
            ),
        });
    }
    timeline.push(TimelineEntry {
        time: breach.detected.clone(),
        event: "breach".into(),
        detail: breach.summary.clone(),
    });
    let rec = IncidentRecord {
        format: INCIDENT_FORMAT,
        env: env.to_string(),
        time: time::now(),
        outcome: "breach".into(),
        bad: e.latest,
        good: e.good,
        result: None,
        labels: BTreeMap::new(),
        changed: Vec::new(),
        previewed: Vec::new(),
        terraform_plan: Vec::new(),
        gate: None,
        data_at_risk: Vec::new(),
        evidence: breach.evidence.clone(),
        apply: None,
        time_to_detect,
        time_to_recover: None,
        timeline,
        error: None,
    };
    Ok(store.put_incident(&rec)?)
}

/// What changed from the good snapshot to the bad one, one line per
/// configuration change (attribute paths only: values may be secret).
fn changed_summary(good: &Version, bad: &Version) -> Result<Vec<String>> {
    let d = crate::diff::diff(good, bad, &crate::diff::DiffOptions::default())?;
    Ok(d.diff
        .config
        .iter()
        .map(|c| {
            let attrs: Vec<String> = c.attrs.iter().map(|a| a.path.to_string()).collect();
            let from = match &c.change {
                rewind_diff::ChangeKind::Moved { from } => format!(" from {from}"),
                _ => String::new(),
            };
            if attrs.is_empty() {
                format!("{} {}{from}", c.change.as_str(), c.address)
            } else {
                format!(
                    "{} {}{from}: {}",
                    c.change.as_str(),
                    c.address,
                    attrs.join(", ")
                )
            }
        })
        .collect())
}

fn describe(id: &SnapshotId, tags: &[String]) -> String {
    if tags.is_empty() {
        id.short(12)
    } else {
        format!("{} ({})", tags.join(", "), id.short(12))
    }
}

/// Adds the secrets of the deployment's live state (`state pull`) to what
/// Terraform's output is scrubbed of: a secret changed after the latest
/// snapshot is in neither snapshot, and Terraform's plan shows the value
/// it replaces. A state rewind cannot read adds nothing (the plan then
/// fails on it itself).
fn live_secrets(exec: &mut Executor, module: &Path) -> Result<()> {
    let state = exec.capture(module, &["state", "pull"])?;
    if state.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let Ok((_, mut nodes)) = rewind_parse::state::parse_state("terraform state pull", &state)
    else {
        return Ok(());
    };
    for n in &mut nodes {
        rewind_parse::mark_secret_names(n);
    }
    let mut all = std::mem::take(&mut exec.secrets);
    all.extend(rewind_parse::sensitive::secret_strings(&nodes));
    all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    all.dedup();
    exec.secrets = all;
    Ok(())
}

/// The error of a rollback asked to stop (SIGINT, SIGTERM).
fn interrupted(when: &str) -> Error {
    Error::Rollback(format!(
        "interrupted: {when}; nothing further was done (the rollback lock is released)"
    ))
}

/// An exit code as an error says it.
fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(|| "by signal".to_string(), |c| c.to_string())
}
