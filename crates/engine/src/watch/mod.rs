//! Watching an environment's health after a deploy: checks run every
//! interval; a check breaches after N consecutive failing observations
//! (or failing for a duration), outside the grace period after a deploy;
//! a breach is recorded as an incident, notified, and planned or rolled
//! back; a release healthy for the bake time is marked known-good.

mod config;
mod probe;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rewind_odb::{time, Evidence, IncidentId, SnapshotId, Store};

use config::{describe_duration, webhook_display};
pub use config::{parse_duration, parse_status, redact_url, Check, OnBreach, Probe, WatchConfig};
pub use probe::{prometheus_samples, Observation, Sample, Verdict};

use crate::error::{Error, Result};
use crate::rollback::{rollback, Breach, Event, RollbackOptions, RollbackOutcome};

/// What to watch and how.
#[derive(Clone, Debug, Default)]
pub struct WatchOptions {
    /// The checks and the rules.
    pub config: WatchConfig,
    /// The rollback a breach plans or runs (its `env` is the environment
    /// watched; `apply` is required for [`OnBreach::Rollback`]).
    pub rollback: RollbackOptions,
    /// Stop after this long without a breach or a promotion.
    pub timeout: Option<Duration>,
}

/// How watching ended.
#[derive(Debug)]
pub enum WatchEnd {
    /// Stopped by a signal (or the caller's flag).
    Stopped,
    /// Ran for `timeout` without a decision.
    TimedOut,
    /// Healthy for the bake time: this snapshot was marked known-good.
    Promoted(SnapshotId),
    /// A check breached.
    Breached {
        /// The incident recorded.
        incident: Option<IncidentId>,
        /// The rollback (planned or applied), when one ran.
        rollback: Option<Box<RollbackOutcome>>,
        /// A failure of the breach action (a webhook that failed, a
        /// rollback error), after the incident was recorded.
        action_error: Option<String>,
    },
}

/// Per-check breach bookkeeping.
#[derive(Debug, Default)]
struct State {
    consecutive: u32,
    failing_since: Option<Instant>,
}

impl State {
    /// Counts an observation; true when it showed health. A failure
    /// counts toward a breach, a pass starts the count again; an
    /// inconclusive observation (the monitoring could not answer) does
    /// neither, and is not healthy time either.
    fn count(&mut self, verdict: Verdict) -> bool {
        match verdict {
            Verdict::Passing => {
                self.consecutive = 0;
                self.failing_since = None;
                true
            }
            Verdict::Failing => {
                self.consecutive += 1;
                self.failing_since.get_or_insert_with(Instant::now);
                false
            }
            Verdict::Inconclusive => false,
        }
    }
}

/// Observations kept for the incident record, per check.
const EVIDENCE_KEPT: usize = 20;

/// Watches `opts.rollback.env` until a breach, a promotion, `timeout`,
/// or `stop` turns true (checked at least every 100 ms). Every
/// observation and decision goes to `events`.
pub fn watch(
    store: &Store,
    opts: &WatchOptions,
    stop: &AtomicBool,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<WatchEnd> {
    let cfg = &opts.config;
    validate(opts)?;
    let prober = probe::Prober::new(cfg.timeout, stop)?;
    let started = Instant::now();
    let mut w = Watcher::start(store, opts)?;
    events(Event::Step(&w.announcement()));
    // grace counts from the deploy: the latest snapshot's time
    w.grace_left = grace_remaining(store, w.deployed, cfg.grace)?;
    loop {
        if let Some(end) = stopping(opts, stop, started, events) {
            return Ok(end);
        }
        w.follow_deploy(events)?;
        let in_grace = w.deploy_seen.elapsed() < w.grace_left;
        if let Some(summary) = w.observe(&prober, in_grace, events) {
            events(Event::Step(&format!("BREACH: {summary}")));
            let breach = Breach {
                detected: time::now(),
                summary,
                evidence: w.evidence.iter().cloned().collect(),
            };
            return Ok(on_breach(store, opts, &prober, breach, events));
        }
        if let Some(id) = w.promotion(in_grace, events)? {
            return Ok(WatchEnd::Promoted(id));
        }
        pause(cfg.interval, stop);
    }
}

/// Refuses a watch with no checks, one whose breach would roll back
/// without `apply`, or a Prometheus URL with a query or a fragment.
fn validate(opts: &WatchOptions) -> Result<()> {
    let cfg = &opts.config;
    rewind_odb::check_name("environment", &opts.rollback.env)?;
    if cfg.checks.is_empty() {
        return Err(Error::Watch(
            "no health checks: give --http, --prometheus, --command or a --config file".into(),
        ));
    }
    if cfg.then == OnBreach::Rollback && !opts.rollback.apply {
        return Err(Error::Watch(
            "--then rollback acts on the environment: add --apply (or use --then plan for a dry run)".into(),
        ));
    }
    for c in &cfg.checks {
        if let Probe::Prometheus { url, .. } = &c.probe {
            config::prometheus_base(url)
                .map_err(|e| Error::Watch(format!("check {}: {e}", c.name)))?;
        }
    }
    Ok(())
}

/// How the watch ends before a round, if it does: on a stop signal, or
/// when `timeout` has passed since it `started`.
fn stopping(
    opts: &WatchOptions,
    stop: &AtomicBool,
    started: Instant,
    events: &mut dyn FnMut(Event<'_>),
) -> Option<WatchEnd> {
    if stop.load(Ordering::Relaxed) {
        events(Event::Step("stopping: signal received"));
        return Some(WatchEnd::Stopped);
    }
    if opts.timeout.is_some_and(|t| started.elapsed() >= t) {
        events(Event::Step(
            "stopping: --timeout reached without a decision",
        ));
        return Some(WatchEnd::TimedOut);
    }
    None
}

/// Sleeps `interval`, waking early for a stop.
fn pause(interval: Duration, stop: &AtomicBool) {
    let round = Instant::now();
    while round.elapsed() < interval {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50).min(interval));
    }
}

/// What a watch knows between rounds: the deploy watched, each check's
/// failures, the evidence and the healthy time.
struct Watcher<'a> {
    store: &'a Store,
    opts: &'a WatchOptions,
    /// Per check, in the configuration's order.
    states: Vec<State>,
    /// The latest observations of all checks, for the incident record.
    evidence: VecDeque<Evidence>,
    /// The environment's latest snapshot.
    deployed: Option<SnapshotId>,
    /// Since when no check has failed (or the deploy was seen).
    healthy_since: Instant,
    /// When the deploy watched was seen.
    deploy_seen: Instant,
    /// The grace period left for the deploy when it was seen.
    grace_left: Duration,
}

impl<'a> Watcher<'a> {
    /// Before the first round: the environment's latest snapshot, no
    /// failures, no grace yet.
    fn start(store: &'a Store, opts: &'a WatchOptions) -> Result<Watcher<'a>> {
        Ok(Watcher {
            store,
            opts,
            states: opts
                .config
                .checks
                .iter()
                .map(|_| State::default())
                .collect(),
            evidence: VecDeque::new(),
            deployed: latest(store, &opts.rollback.env)?,
            healthy_since: Instant::now(),
            deploy_seen: Instant::now(),
            grace_left: Duration::ZERO,
        })
    }

    /// The first line: what is watched, how often, the grace period and
    /// the bake time.
    fn announcement(&self) -> String {
        let cfg = &self.opts.config;
        format!(
            "watching {} (latest {}): {} check{} every {}{}{}",
            self.opts.rollback.env,
            self.deployed.map(|d| d.short(12)).unwrap_or("none".into()),
            cfg.checks.len(),
            if cfg.checks.len() == 1 { "" } else { "s" },
            describe_duration(cfg.interval),
            if cfg.grace.is_zero() {
                String::new()
            } else {
                format!(", grace {} after a deploy", describe_duration(cfg.grace))
            },
            cfg.promote_after
                .map(|p| format!(", promote after {} healthy", describe_duration(p)))
                .unwrap_or_default()
        )
    }

    /// A new deploy (the environment's latest snapshot changed) starts
    /// the breach counts, the bake time and the grace period again.
    fn follow_deploy(&mut self, events: &mut dyn FnMut(Event<'_>)) -> Result<()> {
        let env = &self.opts.rollback.env;
        let now_latest = latest(self.store, env)?;
        if now_latest == self.deployed {
            return Ok(());
        }
        events(Event::Step(&format!(
            "new deploy: {env}'s latest is now {}; breach counts and the bake time start again",
            now_latest.map(|d| d.short(12)).unwrap_or("none".into())
        )));
        self.deployed = now_latest;
        self.deploy_seen = Instant::now();
        self.healthy_since = Instant::now();
        self.grace_left = grace_remaining(self.store, self.deployed, self.opts.config.grace)?;
        for s in &mut self.states {
            s.consecutive = 0;
            s.failing_since = None;
        }
        Ok(())
    }

    /// One round: every check observed, counted and kept as evidence;
    /// the first breach (outside the grace period) is summed up.
    fn observe(
        &mut self,
        prober: &probe::Prober,
        in_grace: bool,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Option<String> {
        let checks = &self.opts.config.checks;
        let mut breached: Option<String> = None;
        for (check, st) in checks.iter().zip(&mut self.states) {
            let o = prober.observe(check);
            let at = time::now();
            if !st.count(o.verdict) {
                self.healthy_since = Instant::now();
            }
            events(Event::Step(&observation_line(check, st, &o, in_grace)));
            self.evidence.push_back(Evidence {
                check: check.name.clone(),
                time: at,
                failing: o.verdict == Verdict::Failing,
                inconclusive: o.verdict == Verdict::Inconclusive,
                value: o.value.clone(),
                expected: o.expected.clone(),
            });
            while self.evidence.len() > EVIDENCE_KEPT * checks.len() {
                self.evidence.pop_front();
            }
            if in_grace || breached.is_some() || o.verdict != Verdict::Failing {
                continue;
            }
            breached = breach_summary(check, st, &o);
        }
        breached
    }

    /// Healthy for the bake time (outside the grace period): the deploy
    /// is marked known-good, and returned.
    fn promotion(
        &self,
        in_grace: bool,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<SnapshotId>> {
        let cfg = &self.opts.config;
        let env = &self.opts.rollback.env;
        let (Some(bake), Some(id)) = (cfg.promote_after, self.deployed) else {
            return Ok(None);
        };
        if self.healthy_since.elapsed() < bake || in_grace {
            return Ok(None);
        }
        self.store.mark_good(env, id, false)?;
        events(Event::Step(&format!(
            "PROMOTED: {} healthy for {} s: marked {} known-good for {env}",
            cfg.checks
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            self.healthy_since.elapsed().as_secs(),
            id.short(12)
        )));
        Ok(Some(id))
    }
}

/// A check's line in the log: its value, and whether it failed (and how
/// many times in a row).
fn observation_line(check: &Check, st: &State, o: &Observation, in_grace: bool) -> String {
    let counted = if in_grace {
        " (grace period: not counted)"
    } else {
        ""
    };
    let state = match o.verdict {
        Verdict::Passing => "ok".into(),
        Verdict::Failing => format!("FAILING {}/{}{counted}", st.consecutive, check.failures),
        Verdict::Inconclusive => {
            "INCONCLUSIVE (health not shown: not counted as failing or healthy)".into()
        }
    };
    format!(
        "check {}: {} (expected {}): {state}",
        check.name, o.value, o.expected,
    )
}

/// The breach of a check, if it failed `failures` times in a row or for
/// its `for` duration.
fn breach_summary(check: &Check, st: &State, o: &Observation) -> Option<String> {
    let by_count = st.consecutive >= check.failures;
    let by_time = check
        .sustained
        .zip(st.failing_since)
        .is_some_and(|(d, since)| since.elapsed() >= d);
    (by_count || by_time).then(|| {
        format!(
            "{} failed {} time{} in a row{}: {} (expected {})",
            check.name,
            st.consecutive,
            if st.consecutive == 1 { "" } else { "s" },
            st.failing_since
                .map(|s| format!(" over {:.0} s", s.elapsed().as_secs_f64()))
                .unwrap_or_default(),
            o.value,
            o.expected
        )
    })
}

fn latest(store: &Store, env: &str) -> Result<Option<SnapshotId>> {
    Ok(store.refs()?.envs.get(env).and_then(|e| e.latest))
}

/// How much of the grace period is left for the deploy `id`.
fn grace_remaining(store: &Store, id: Option<SnapshotId>, grace: Duration) -> Result<Duration> {
    let Some(id) = id else { return Ok(grace) };
    let rec = store.record(&id)?;
    let (Some(then), Some(now)) = (time::parse(&rec.time), time::parse(&time::now())) else {
        return Ok(grace);
    };
    let age = Duration::from_secs(now.saturating_sub(then).max(0) as u64);
    Ok(grace.saturating_sub(age))
}

/// Records, notifies, and plans or rolls back, as configured.
fn on_breach(
    store: &Store,
    opts: &WatchOptions,
    prober: &probe::Prober,
    breach: Breach,
    events: &mut dyn FnMut(Event<'_>),
) -> WatchEnd {
    let cfg = &opts.config;
    let env = &opts.rollback.env;
    let mut ro = opts.rollback.clone();
    ro.breach = Some(breach.clone());
    ro.apply = cfg.then == OnBreach::Rollback && opts.rollback.apply;
    ro.preview_only = cfg.then == OnBreach::Notify;
    let mut errors = Vec::new();
    let (incident, outcome) = match rollback(store, &ro, events) {
        Ok(o) => (o.incident, Some(Box::new(o))),
        Err(e) => {
            errors.push(format!("rollback: {e}"));
            // the breach is recorded even when no rollback could be planned
            match crate::rollback::record_breach(store, env, &breach) {
                Ok(id) => (Some(id), None),
                Err(e2) => {
                    errors.push(format!("recording the incident: {e2}"));
                    (None, None)
                }
            }
        }
    };
    if let Some(i) = incident {
        events(Event::Step(&format!("incident {} recorded", i.short(12))));
    }
    if let Some(url) = &cfg.webhook {
        let body = notification(env, &breach, incident, outcome.as_deref());
        match prober.post_json(url, &body) {
            Ok(()) => events(Event::Step(&format!("notified {}", webhook_display(url)))),
            Err(e) => {
                events(Event::Step(&format!("notification failed: {e}")));
                errors.push(e.to_string());
            }
        }
    }
    WatchEnd::Breached {
        incident,
        rollback: outcome,
        action_error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

/// The webhook's JSON: Slack-compatible `text`, and the facts beside it.
fn notification(
    env: &str,
    breach: &Breach,
    incident: Option<IncidentId>,
    outcome: Option<&RollbackOutcome>,
) -> serde_json::Value {
    let action = match outcome {
        Some(o) => format!("rollback: {}", o.status.as_str()),
        None => "no rollback planned".into(),
    };
    let text = format!(
        ":rotating_light: rewind: {env} breached its health checks: {}. {action}.{}",
        breach.summary,
        incident
            .map(|i| format!(
                " Incident {} (`rewind incident {}`).",
                i.short(12),
                i.short(12)
            ))
            .unwrap_or_default()
    );
    serde_json::json!({
        "text": text,
        "rewind": {
            "env": env,
            "detected": breach.detected,
            "breach": breach.summary,
            "action": action,
            "incident": incident.map(|i| i.to_hex()),
            "evidence": breach.evidence.iter().filter(|e| e.failing).collect::<Vec<_>>(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> Check {
        Check {
            name: "errors".into(),
            probe: Probe::Command {
                command: "true".into(),
            },
            failures: 2,
            sustained: Some(Duration::ZERO),
        }
    }

    fn seen(verdict: Verdict) -> Observation {
        Observation {
            value: "v".into(),
            expected: "e".into(),
            verdict,
        }
    }

    #[test]
    fn an_inconclusive_observation_neither_counts_nor_shows_health() {
        let c = check();
        let mut st = State::default();
        assert!(!st.count(Verdict::Failing));
        // the monitoring could not answer: the count stays, and it is not
        // healthy time (a pending promotion starts again)
        assert!(!st.count(Verdict::Inconclusive));
        assert_eq!(st.consecutive, 1);
        assert!(st.failing_since.is_some());
        assert!(!st.count(Verdict::Failing));
        assert_eq!(st.consecutive, 2);
        assert!(breach_summary(&c, &st, &seen(Verdict::Failing)).is_some());
        assert!(st.count(Verdict::Passing));
        assert_eq!((st.consecutive, st.failing_since), (0, None));
        let mut fresh = State::default();
        for _ in 0..5 {
            fresh.count(Verdict::Inconclusive);
        }
        assert_eq!(fresh.consecutive, 0);
        assert!(breach_summary(&c, &fresh, &seen(Verdict::Inconclusive)).is_none());
    }

    #[test]
    fn an_inconclusive_observation_is_logged_and_recorded_as_such() {
        let line = observation_line(
            &check(),
            &State::default(),
            &seen(Verdict::Inconclusive),
            false,
        );
        assert_eq!(
            line,
            "check errors: v (expected e): INCONCLUSIVE (health not shown: not counted as failing or healthy)"
        );
        let e = Evidence {
            check: "errors".into(),
            time: "2026-01-01T00:00:00Z".into(),
            failing: false,
            inconclusive: true,
            value: "NaN".into(),
            expected: "value <= 0.05".into(),
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["inconclusive"], true);
        let plain = Evidence {
            inconclusive: false,
            ..e
        };
        // the evidence of a conclusive observation keeps its old shape
        assert!(serde_json::to_value(&plain)
            .unwrap()
            .get("inconclusive")
            .is_none());
    }

    #[test]
    fn a_prometheus_url_with_a_query_is_refused_before_watching() {
        let mut opts = WatchOptions::default();
        opts.rollback.env = "prod".into();
        opts.config.checks.push(Check {
            name: "errors".into(),
            probe: Probe::Prometheus {
                url: "http://127.0.0.1:9090/?query=vector(0)#".into(),
                query: "errors".into(),
                above: Some(0.05),
                below: None,
                fail_on_no_data: false,
            },
            failures: 3,
            sustained: None,
        });
        let err = validate(&opts).unwrap_err().to_string();
        assert!(err.contains("has a query string or a fragment"), "{err}");
    }
}
