//! `rewind watch`: health checks, breach actions, promotion.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::{Context, Result};
use rewind_engine::{
    parse_duration, parse_status, redact_url, Check, OnBreach, Probe, WatchConfig, WatchEnd,
    WatchOptions,
};

use crate::cli::{Global, EXIT_ERROR, EXIT_OK};
use crate::output::Output;
use crate::rollback_cmd::{progress, RollbackArgs};
use crate::store_cmds::open_store;

/// Exit code of `watch`: a check breached (the breach was recorded and
/// acted on).
pub const EXIT_BREACH: u8 = 3;

/// `rewind watch` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct WatchArgs {
    /// The rollback a breach plans or runs (--env, --to, --dir, --apply, --max-destroy, ...).
    #[command(flatten)]
    pub rollback: RollbackArgs,
    /// A TOML file of checks and settings (options given here override its settings).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// An HTTP check: GET this URL (repeatable).
    #[arg(long = "http", value_name = "URL")]
    pub http: Vec<String>,
    /// Statuses the HTTP checks accept: 200, 200-299 or 2xx.
    #[arg(long, default_value = "200-299", value_name = "STATUS")]
    pub http_status: String,
    /// Text the HTTP checks' bodies must contain.
    #[arg(long, value_name = "TEXT")]
    pub http_body: Option<String>,
    /// The slowest passing HTTP response (e.g. 500ms).
    #[arg(long, value_name = "DURATION")]
    pub http_max_latency: Option<String>,
    /// A Prometheus server for --query checks (e.g. http://127.0.0.1:9090).
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// A PromQL instant query checked against --above / --below (repeatable).
    #[arg(long = "query", value_name = "PROMQL")]
    pub queries: Vec<String>,
    /// A query fails when its value is above this.
    #[arg(long, allow_negative_numbers = true)]
    pub above: Option<f64>,
    /// A query fails when its value is below this.
    #[arg(long, allow_negative_numbers = true)]
    pub below: Option<f64>,
    /// A command check, run with `sh -c`: a non-zero exit fails (repeatable).
    #[arg(long = "command", value_name = "CMD")]
    pub commands: Vec<String>,
    /// Consecutive failing checks that make a breach.
    #[arg(long, value_name = "N")]
    pub failures: Option<u32>,
    /// Or: a check failing for this long makes a breach.
    #[arg(long = "failing-for", value_name = "DURATION")]
    pub failing_for: Option<String>,
    /// Time between rounds of checks.
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// After a deploy (the latest snapshot's time), failures do not count for this long.
    #[arg(long, value_name = "DURATION")]
    pub grace: Option<String>,
    /// On a breach: notify (record and post the webhook), plan (and run Terraform's plan and the gate), rollback (needs --apply).
    #[arg(long, value_name = "ACTION")]
    pub then: Option<String>,
    /// POST notifications here (JSON with a Slack-compatible "text").
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,
    /// Mark the latest snapshot known-good after it has been healthy this long (e.g. 30m).
    #[arg(long, value_name = "DURATION")]
    pub promote_after: Option<String>,
    /// Stop after this long without a decision.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

fn duration(s: &Option<String>) -> Result<Option<std::time::Duration>> {
    Ok(s.as_deref().map(parse_duration).transpose()?)
}

impl WatchArgs {
    fn config(&self) -> Result<WatchConfig> {
        let mut cfg = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                WatchConfig::from_toml(&text, p)?
            }
            None => WatchConfig::default(),
        };
        let failures = self.failures.unwrap_or(3).max(1);
        let sustained = duration(&self.failing_for)?;
        let check = |name: String, probe: Probe| Check {
            name,
            probe,
            failures,
            sustained,
        };
        for url in &self.http {
            cfg.checks.push(check(
                // the name is shown and recorded: the URL's secrets are not
                format!("http {}", redact_url(url)),
                Probe::Http {
                    url: url.clone(),
                    status: parse_status(&self.http_status)?,
                    body: self.http_body.clone(),
                    max_latency: duration(&self.http_max_latency)?,
                },
            ));
        }
        if !self.queries.is_empty() {
            let Some(url) = &self.prometheus else {
                anyhow::bail!("--query needs --prometheus URL");
            };
            if self.above.is_none() && self.below.is_none() {
                anyhow::bail!("--query needs --above or --below");
            }
            for q in &self.queries {
                cfg.checks.push(check(
                    format!("prometheus {q}"),
                    Probe::Prometheus {
                        url: url.clone(),
                        query: q.clone(),
                        above: self.above,
                        below: self.below,
                        fail_on_no_data: false,
                    },
                ));
            }
        }
        for c in &self.commands {
            cfg.checks.push(check(
                format!("command {c}"),
                Probe::Command { command: c.clone() },
            ));
        }
        if let Some(d) = duration(&self.interval)? {
            cfg.interval = d;
        }
        if let Some(d) = duration(&self.grace)? {
            cfg.grace = d;
        }
        if let Some(p) = duration(&self.promote_after)? {
            cfg.promote_after = Some(p);
        }
        if let Some(t) = &self.then {
            cfg.then = OnBreach::parse(t)?;
        }
        if let Some(w) = &self.webhook {
            cfg.webhook = Some(w.clone());
        }
        Ok(cfg)
    }
}

pub fn watch(g: &Global, out: &Output, a: &WatchArgs) -> Result<u8> {
    let opts = WatchOptions {
        config: a.config()?,
        rollback: a.rollback.options(),
        timeout: duration(&a.timeout)?,
    };
    let store = open_store(g)?;
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing the signal handlers")?;
    }
    let end = rewind_engine::watch(&store, &opts, &stop, &mut |e| progress(out, e))
        .map_err(|e| out.failed(e))?;
    match end {
        WatchEnd::Stopped | WatchEnd::TimedOut => Ok(EXIT_OK),
        WatchEnd::Promoted(id) => {
            out.print(&format!(
                "promoted {} to known-good for {}\n",
                id.short(12),
                opts.rollback.env
            ))?;
            Ok(EXIT_OK)
        }
        WatchEnd::Breached {
            incident,
            rollback,
            action_error,
        } => {
            let mut s = format!("breach of {}", opts.rollback.env);
            if let Some(r) = &rollback {
                s.push_str(&format!("; rollback: {}", r.status.as_str()));
                if let Some(snap) = r.result {
                    s.push_str(&format!(" (snapshot {})", snap.short(12)));
                }
            }
            if let Some(i) = incident {
                s.push_str(&format!("; incident {}", i.short(12)));
            }
            s.push('\n');
            out.print(&s)?;
            if let Some(e) = action_error {
                out.error(&anyhow::anyhow!("{e}"));
                return Ok(EXIT_ERROR);
            }
            Ok(EXIT_BREACH)
        }
    }
}
