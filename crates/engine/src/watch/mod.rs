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

pub use config::{parse_duration, parse_status, Check, OnBreach, Probe, WatchConfig};
pub use probe::{prometheus_value, Observation};

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
struct State {
    consecutive: u32,
    failing_since: Option<Instant>,
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
    let env = &opts.rollback.env;
    rewind_odb::check_name("environment", env)?;
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
    let prober = probe::Prober::new(cfg.timeout)?;
    let started = Instant::now();
    let mut states: Vec<State> = cfg
        .checks
        .iter()
        .map(|_| State {
            consecutive: 0,
            failing_since: None,
        })
        .collect();
    let mut evidence: VecDeque<Evidence> = VecDeque::new();
    let mut deployed = latest(store, env)?;
    let mut healthy_since = Instant::now();
    let mut deploy_seen = Instant::now();
    events(Event::Step(&format!(
        "watching {env} (latest {}): {} check{} every {} s{}{}",
        deployed.map(|d| d.short(12)).unwrap_or("none".into()),
        cfg.checks.len(),
        if cfg.checks.len() == 1 { "" } else { "s" },
        cfg.interval.as_secs_f64(),
        if cfg.grace.is_zero() {
            String::new()
        } else {
            format!(", grace {} s after a deploy", cfg.grace.as_secs())
        },
        cfg.promote_after
            .map(|p| format!(", promote after {} s healthy", p.as_secs()))
            .unwrap_or_default()
    )));
    // grace counts from the deploy: the latest snapshot's time
    let mut grace_left = grace_remaining(store, deployed, cfg.grace)?;
    loop {
        if stop.load(Ordering::Relaxed) {
            events(Event::Step("stopping: signal received"));
            return Ok(WatchEnd::Stopped);
        }
        if opts.timeout.is_some_and(|t| started.elapsed() >= t) {
            events(Event::Step(
                "stopping: --timeout reached without a decision",
            ));
            return Ok(WatchEnd::TimedOut);
        }
        let now_latest = latest(store, env)?;
        if now_latest != deployed {
            events(Event::Step(&format!(
                "new deploy: {env}'s latest is now {}; breach counts and the bake time start again",
                now_latest.map(|d| d.short(12)).unwrap_or("none".into())
            )));
            deployed = now_latest;
            deploy_seen = Instant::now();
            healthy_since = Instant::now();
            grace_left = grace_remaining(store, deployed, cfg.grace)?;
            for s in &mut states {
                s.consecutive = 0;
                s.failing_since = None;
            }
        }
        let in_grace = deploy_seen.elapsed() < grace_left;
        let mut breached: Option<String> = None;
        for (check, st) in cfg.checks.iter().zip(&mut states) {
            let o = prober.observe(check);
            let at = time::now();
            if o.failing {
                st.consecutive += 1;
                st.failing_since.get_or_insert_with(Instant::now);
                healthy_since = Instant::now();
            } else {
                st.consecutive = 0;
                st.failing_since = None;
            }
            let counted = if in_grace {
                " (grace period: not counted)"
            } else {
                ""
            };
            events(Event::Step(&format!(
                "check {}: {} (expected {}): {}{}",
                check.name,
                o.value,
                o.expected,
                if o.failing {
                    format!("FAILING {}/{}", st.consecutive, check.failures)
                } else {
                    "ok".into()
                },
                if o.failing { counted } else { "" }
            )));
            evidence.push_back(Evidence {
                check: check.name.clone(),
                time: at,
                failing: o.failing,
                value: o.value.clone(),
                expected: o.expected.clone(),
            });
            while evidence.len() > EVIDENCE_KEPT * cfg.checks.len() {
                evidence.pop_front();
            }
            if in_grace || breached.is_some() {
                continue;
            }
            let by_count = st.consecutive >= check.failures;
            let by_time = check
                .sustained
                .zip(st.failing_since)
                .is_some_and(|(d, since)| since.elapsed() >= d);
            if by_count || by_time {
                breached = Some(format!(
                    "{} failed {} time{} in a row{}: {} (expected {})",
                    check.name,
                    st.consecutive,
                    if st.consecutive == 1 { "" } else { "s" },
                    st.failing_since
                        .map(|s| format!(" over {:.0} s", s.elapsed().as_secs_f64()))
                        .unwrap_or_default(),
                    o.value,
                    o.expected
                ));
            }
        }
        if let Some(summary) = breached {
            events(Event::Step(&format!("BREACH: {summary}")));
            let breach = Breach {
                detected: time::now(),
                summary,
                evidence: evidence.iter().cloned().collect(),
            };
            return Ok(on_breach(store, opts, &prober, breach, events));
        }
        if let (Some(bake), Some(id)) = (cfg.promote_after, deployed) {
            if healthy_since.elapsed() >= bake && !in_grace {
                store.mark_good(env, id, false)?;
                events(Event::Step(&format!(
                    "PROMOTED: {} healthy for {} s: marked {} known-good for {env}",
                    cfg.checks
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    healthy_since.elapsed().as_secs(),
                    id.short(12)
                )));
                return Ok(WatchEnd::Promoted(id));
            }
        }
        // sleep the interval, waking for a stop
        let round = Instant::now();
        while round.elapsed() < cfg.interval {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50).min(cfg.interval));
        }
    }
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
            Ok(()) => events(Event::Step(&format!("notified {url}"))),
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
