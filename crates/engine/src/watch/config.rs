//! What `watch` checks and what it does: the health checks, the breach
//! rules, the grace period, the action on a breach and the bake time,
//! from command-line options or a small TOML file.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// What to do when a check breaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnBreach {
    /// Record the incident and send the webhook.
    #[default]
    Notify,
    /// And plan the rollback through Terraform up to the gate (a dry run).
    Plan,
    /// And roll back (only with `apply`).
    Rollback,
}

impl OnBreach {
    /// Parses `notify`, `plan` or `rollback`.
    pub fn parse(s: &str) -> Result<OnBreach> {
        match s {
            "notify" => Ok(OnBreach::Notify),
            "plan" => Ok(OnBreach::Plan),
            "rollback" => Ok(OnBreach::Rollback),
            _ => Err(Error::Watch(format!(
                "unknown breach action {s:?}: use notify, plan or rollback"
            ))),
        }
    }
}

/// One health check.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Its name in logs and records.
    pub name: String,
    /// What it observes.
    pub probe: Probe,
    /// Consecutive failing observations that make a breach.
    pub failures: u32,
    /// Or: failing without a passing observation for this long.
    pub sustained: Option<Duration>,
}

/// What a check observes, and what counts as failing.
#[derive(Clone, Debug, PartialEq)]
pub enum Probe {
    /// An HTTP GET.
    Http {
        /// The URL.
        url: String,
        /// The statuses that pass (inclusive range).
        status: (u16, u16),
        /// Text the body must contain.
        body: Option<String>,
        /// The slowest passing response.
        max_latency: Option<Duration>,
    },
    /// A Prometheus instant query through its HTTP API.
    Prometheus {
        /// The server (`http://127.0.0.1:9090`).
        url: String,
        /// The PromQL query; every series of its answer is checked.
        query: String,
        /// Failing when the value is above this.
        above: Option<f64>,
        /// Failing when the value is below this.
        below: Option<f64>,
        /// Whether an empty result fails (default: inconclusive).
        fail_on_no_data: bool,
    },
    /// A command run through `sh -c`; a non-zero exit fails.
    Command {
        /// The command line.
        command: String,
    },
}

/// Everything `watch` is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchConfig {
    /// The checks.
    pub checks: Vec<Check>,
    /// Time between rounds of checks.
    pub interval: Duration,
    /// After a deploy (the environment's latest snapshot), breaches do not
    /// count for this long.
    pub grace: Duration,
    /// Healthy this long: mark the latest snapshot known-good.
    pub promote_after: Option<Duration>,
    /// What a breach does.
    pub then: OnBreach,
    /// Where notifications are POSTed (JSON, Slack-compatible `text`).
    pub webhook: Option<String>,
    /// Each probe's time limit.
    pub timeout: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            checks: Vec::new(),
            interval: Duration::from_secs(10),
            grace: Duration::ZERO,
            promote_after: None,
            then: OnBreach::Notify,
            webhook: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Parses `500ms`, `30s`, `10m`, `1h`, `2d` (or a bare number of seconds).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        Error::Watch(format!(
            "{s:?} is not a duration (e.g. 500ms, 30s, 10m, 1h)"
        ))
    })?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => {
            return Err(Error::Watch(format!(
                "{s:?}: unknown unit {unit:?} (use ms, s, m, h or d)"
            )))
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `200`, `200-299` or `2xx`.
pub fn parse_status(s: &str) -> Result<(u16, u16)> {
    let bad = || Error::Watch(format!("{s:?} is not a status: use 200, 200-299 or 2xx"));
    let s = s.trim();
    if let Some(d) = s.strip_suffix("xx") {
        let d: u16 = d.parse().map_err(|_| bad())?;
        return Ok((d * 100, d * 100 + 99));
    }
    match s.split_once('-') {
        Some((a, b)) => Ok((
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        )),
        None => {
            let v = s.parse().map_err(|_| bad())?;
            Ok((v, v))
        }
    }
}

/// `url` fit to show: a password (`user:***@`, or a user name alone,
/// which is often a token: `***@`), every query value (`?token=***`)
/// and a fragment replaced. The real URL is kept for the requests.
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u)
            if u.username().is_empty()
                && u.password().is_none()
                && u.query().is_none()
                && u.fragment().is_none() =>
        {
            url.to_string()
        }
        Ok(u) => redacted(&u).to_string(),
        Err(_) => redact_unparsed(url),
    }
}

/// [`redact_url`] of a parsed URL.
pub(crate) fn redacted(u: &reqwest::Url) -> reqwest::Url {
    let mut r = u.clone();
    if r.password().is_some() {
        let _ = r.set_password(Some("***"));
    } else if !r.username().is_empty() {
        let _ = r.set_username("***");
    }
    if r.query().is_some() {
        let keys: Vec<String> = u.query_pairs().map(|(k, _)| k.into_owned()).collect();
        r.set_query(None);
        if keys.is_empty() {
            r.set_query(Some(""));
        } else {
            r.query_pairs_mut()
                .extend_pairs(keys.iter().map(|k| (k.as_str(), "***")));
        }
    }
    if r.fragment().is_some_and(|f| !f.is_empty()) {
        r.set_fragment(Some("***"));
    }
    r
}

/// A URL that does not parse, redacted by its text: what comes before an
/// `@` in the authority, and everything after a `?` or a `#`.
fn redact_unparsed(url: &str) -> String {
    let (head, tail) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], format!("{}***", &url[i..=i])),
        None => (url, String::new()),
    };
    let start = head.find("://").map(|i| i + 3).unwrap_or(0);
    let end = head[start..]
        .find('/')
        .map(|i| start + i)
        .unwrap_or(head.len());
    match head[start..end].rfind('@') {
        Some(at) => format!("{}***{}{tail}", &head[..start], &head[start + at..]),
        None => format!("{head}{tail}"),
    }
}

/// A webhook URL fit to show: its scheme and host only
/// (`https://hooks.slack.com/…`); the path of a webhook is its secret.
pub(crate) fn webhook_display(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}{}/…",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        Err(_) => "the webhook (a URL that does not parse)".into(),
    }
}

/// A Prometheus server's base URL (`http://127.0.0.1:9090`, or with a
/// path prefix); one with a query string or a fragment is refused: the
/// query rewind sends would come after it, and Prometheus answers the
/// first `query` it is given.
pub(crate) fn prometheus_base(url: &str) -> Result<reqwest::Url> {
    let shown = redact_url(url);
    if url.contains(['?', '#']) {
        return Err(Error::Watch(format!(
            "the Prometheus URL {shown} has a query string or a fragment: give the server's \
             base URL (e.g. http://127.0.0.1:9090); the PromQL goes in --query (or `query`)"
        )));
    }
    let u = reqwest::Url::parse(url)
        .map_err(|e| Error::Watch(format!("the Prometheus URL {shown} is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Error::Watch(format!(
            "the Prometheus URL {shown} is not an http or https URL"
        )));
    }
    Ok(u)
}

/// A duration for a person, as precise as it was given: `500 ms`,
/// `1.5 s`, `10 s`.
pub(crate) fn describe_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{} ms", d.as_millis());
    }
    let s = format!("{:.3}", d.as_secs_f64());
    format!("{} s", s.trim_end_matches('0').trim_end_matches('.'))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    interval: Option<String>,
    grace: Option<String>,
    promote_after: Option<String>,
    then: Option<String>,
    webhook: Option<String>,
    timeout: Option<String>,
    #[serde(default, rename = "check")]
    checks: Vec<FileCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCheck {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    status: Option<toml::Value>,
    body: Option<String>,
    max_latency: Option<String>,
    query: Option<String>,
    above: Option<f64>,
    below: Option<f64>,
    fail_on_no_data: Option<bool>,
    command: Option<String>,
    failures: Option<u32>,
    #[serde(rename = "for")]
    sustained: Option<String>,
}

impl WatchConfig {
    /// Reads a TOML file (see the README's `watch` section); errors name
    /// the file, line and column.
    pub fn from_toml(text: &str, path: &Path) -> Result<WatchConfig> {
        let f = parse_file(text, path)?;
        let def = WatchConfig::default();
        let dur = |v: &Option<String>, d: Duration| -> Result<Duration> {
            Ok(optional_duration(v, path)?.unwrap_or(d))
        };
        let mut cfg = WatchConfig {
            interval: dur(&f.interval, def.interval)?,
            grace: dur(&f.grace, def.grace)?,
            promote_after: optional_duration(&f.promote_after, path)?,
            then: f
                .then
                .as_deref()
                .map(OnBreach::parse)
                .transpose()
                .map_err(|e| in_file(path, e.to_string()))?
                .unwrap_or_default(),
            webhook: f.webhook,
            timeout: dur(&f.timeout, def.timeout)?,
            checks: Vec::new(),
        };
        for (i, c) in f.checks.into_iter().enumerate() {
            cfg.checks.push(c.into_check(i, path)?);
        }
        Ok(cfg)
    }
}

/// The file's text as TOML; a syntax error or an unknown key names the
/// line and column.
fn parse_file(text: &str, path: &Path) -> Result<File> {
    toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|r| {
                let before = &text[..r.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
                format!(":{line}:{col}")
            })
            .unwrap_or_default();
        Error::Watch(format!("{}{at}: {}", path.display(), e.message()))
    })
}

/// An error in the file at `path`.
fn in_file(path: &Path, what: String) -> Error {
    Error::Watch(format!("{}: {what}", path.display()))
}

/// A duration of the file, when it is given.
fn optional_duration(v: &Option<String>, path: &Path) -> Result<Option<Duration>> {
    v.as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| in_file(path, e.to_string()))
}

impl FileCheck {
    /// The `i`th check of the file (from 0): its probe and breach rules;
    /// unnamed, it is named after its type and place (`http-1`).
    fn into_check(self, i: usize, path: &Path) -> Result<Check> {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", self.kind, i + 1));
        let probe = self.probe(&name, path)?;
        Ok(Check {
            failures: self.failures.unwrap_or(3).max(1),
            sustained: optional_duration(&self.sustained, path)?,
            name,
            probe,
        })
    }

    /// What the check observes, by its `type`.
    fn probe(&self, name: &str, path: &Path) -> Result<Probe> {
        match self.kind.as_str() {
            "http" => Ok(Probe::Http {
                url: self.need(&self.url, "url", name, path)?,
                status: self.status(name, path)?,
                body: self.body.clone(),
                max_latency: optional_duration(&self.max_latency, path)?,
            }),
            "prometheus" => {
                if self.above.is_none() && self.below.is_none() {
                    return Err(in_file(
                        path,
                        format!("check {name:?} (prometheus) needs `above` or `below`"),
                    ));
                }
                let url = self.need(&self.url, "url", name, path)?;
                prometheus_base(&url).map_err(|e| in_file(path, format!("check {name:?}: {e}")))?;
                Ok(Probe::Prometheus {
                    url,
                    query: self.need(&self.query, "query", name, path)?,
                    above: self.above,
                    below: self.below,
                    fail_on_no_data: self.fail_on_no_data.unwrap_or(false),
                })
            }
            "command" => Ok(Probe::Command {
                command: self.need(&self.command, "command", name, path)?,
            }),
            other => Err(in_file(
                path,
                format!("check {name:?}: unknown type {other:?} (use http, prometheus or command)"),
            )),
        }
    }

    /// A key the check's type requires.
    fn need(&self, v: &Option<String>, key: &str, name: &str, path: &Path) -> Result<String> {
        v.clone().ok_or_else(|| {
            in_file(
                path,
                format!("check {name:?} ({}) needs `{key}`", self.kind),
            )
        })
    }

    /// The statuses an HTTP check passes: `status` as a number, a string
    /// (`200-299`, `2xx`), or 200 to 299 when not given.
    fn status(&self, name: &str, path: &Path) -> Result<(u16, u16)> {
        match &self.status {
            None => Ok((200, 299)),
            Some(toml::Value::Integer(n)) => Ok((*n as u16, *n as u16)),
            Some(toml::Value::String(s)) => {
                parse_status(s).map_err(|e| in_file(path, e.to_string()))
            }
            Some(_) => Err(in_file(
                path,
                format!("check {name:?}: status is a number or a string like \"200-299\""),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_secrets() {
        assert_eq!(
            redact_url("http://admin:Hunter2@127.0.0.1:8080/health?access_token=Tok1&x=2#frag"),
            "http://admin:***@127.0.0.1:8080/health?access_token=***&x=***#***"
        );
        assert_eq!(
            redact_url("https://ghp_Token@example.com/x"),
            "https://***@example.com/x"
        );
        assert_eq!(redact_url("http://127.0.0.1:9090"), "http://127.0.0.1:9090");
        assert_eq!(redact_url("http://h/p?flag"), "http://h/p?flag=***");
        // what does not parse is redacted by its text
        assert_eq!(
            redact_url("http://u:Pw9@[bad/p?t=Secret"),
            "http://***@[bad/p?***"
        );
        assert_eq!(
            webhook_display("https://hooks.slack.com/services/T0/B0/XoxbSecret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            webhook_display("http://u:p@127.0.0.1:8080/hook?k=v"),
            "http://127.0.0.1:8080/…"
        );
        assert!(!webhook_display("not a url Secret").contains("Secret"));
    }

    #[test]
    fn a_prometheus_url_with_a_query_or_a_fragment_is_refused() {
        for bad in [
            "http://127.0.0.1:9090/?query=vector(0)#",
            "http://127.0.0.1:9090/?query=vector(0)",
            "http://127.0.0.1:9090/#x",
        ] {
            let err = prometheus_base(bad).unwrap_err().to_string();
            assert!(err.contains("has a query string or a fragment"), "{err}");
            assert!(!err.contains("vector(0)"), "{err}");
        }
        assert!(prometheus_base("http://127.0.0.1:9090/prom/").is_ok());
        assert!(prometheus_base("ftp://127.0.0.1:9090").is_err());
        assert!(prometheus_base("127.0.0.1:9090")
            .unwrap_err()
            .to_string()
            .contains("not"));
        let file = "[[check]]\ntype = \"prometheus\"\nurl = \"http://p:9090/?query=up\"\nquery = \"x\"\nabove = 1\n";
        let err = WatchConfig::from_toml(file, Path::new("w.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("w.toml: check \"prometheus-1\""), "{err}");
    }

    #[test]
    fn durations_are_described_precisely() {
        assert_eq!(describe_duration(Duration::from_millis(500)), "500 ms");
        assert_eq!(describe_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(describe_duration(Duration::from_secs(10)), "10 s");
    }
}
