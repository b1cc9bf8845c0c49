//! Running one health check once: an HTTP request, a Prometheus instant
//! query, a command. An observation says what was seen and whether it
//! fails; a probe that cannot even run (refused connection, timeout)
//! fails with that as its value.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::watch::config::{Check, Probe};

/// What one run of a check saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The observed value, for a person (`status 200 in 12 ms`, `0.42`).
    pub value: String,
    /// What passing means (`status 200..=299`, `<= 0.05`).
    pub expected: String,
    /// True when it fails.
    pub failing: bool,
}

/// Runs checks: one HTTP client and one small runtime for all of them.
pub(crate) struct Prober {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    timeout: Duration,
}

impl Prober {
    pub(crate) fn new(timeout: Duration) -> Result<Prober> {
        // reqwest's rustls is built without a bundled crypto provider
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Watch(format!("could not start the HTTP runtime: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("rewind-watch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Watch(format!("could not build the HTTP client: {e}")))?;
        Ok(Prober {
            rt,
            client,
            timeout,
        })
    }

    /// Runs `check` once.
    pub(crate) fn observe(&self, check: &Check) -> Observation {
        match &check.probe {
            Probe::Http {
                url,
                status,
                body,
                max_latency,
            } => self.http(url, *status, body.as_deref(), *max_latency),
            Probe::Prometheus {
                url,
                query,
                above,
                below,
                fail_on_no_data,
            } => self.prometheus(url, query, *above, *below, *fail_on_no_data),
            Probe::Command { command } => self.command(command),
        }
    }

    fn http(
        &self,
        url: &str,
        status: (u16, u16),
        body: Option<&str>,
        max_latency: Option<Duration>,
    ) -> Observation {
        let mut expected = if status.0 == status.1 {
            format!("status {}", status.0)
        } else {
            format!("status {}..={}", status.0, status.1)
        };
        if let Some(b) = body {
            expected.push_str(&format!(", body contains {b:?}"));
        }
        if let Some(l) = max_latency {
            expected.push_str(&format!(", within {} ms", l.as_millis()));
        }
        let start = Instant::now();
        let got = self.rt.block_on(async {
            let resp = self.client.get(url).send().await?;
            let code = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((code, text))
        });
        let took = start.elapsed();
        match got {
            Err(e) => Observation {
                value: format!("no response: {}", error_chain(&e)),
                expected,
                failing: true,
            },
            Ok((code, text)) => {
                let mut why = Vec::new();
                if code < status.0 || code > status.1 {
                    why.push("status");
                }
                if body.is_some_and(|b| !text.contains(b)) {
                    why.push("body");
                }
                if max_latency.is_some_and(|l| took > l) {
                    why.push("latency");
                }
                Observation {
                    value: format!(
                        "status {code} in {} ms{}",
                        took.as_millis(),
                        if why.is_empty() {
                            String::new()
                        } else {
                            format!(" (bad {})", why.join(", "))
                        }
                    ),
                    expected,
                    failing: !why.is_empty(),
                }
            }
        }
    }

    fn prometheus(
        &self,
        url: &str,
        query: &str,
        above: Option<f64>,
        below: Option<f64>,
        fail_on_no_data: bool,
    ) -> Observation {
        let expected = match (above, below) {
            (Some(a), Some(b)) => format!("{b} <= value <= {a}"),
            (Some(a), None) => format!("value <= {a}"),
            (None, Some(b)) => format!("value >= {b}"),
            (None, None) => "any value".into(),
        };
        let endpoint = format!("{}/api/v1/query", url.trim_end_matches('/'));
        let target = match reqwest::Url::parse_with_params(&endpoint, &[("query", query)]) {
            Ok(u) => u,
            Err(e) => {
                return Observation {
                    value: format!("{endpoint} is not a URL: {e}"),
                    expected,
                    failing: true,
                }
            }
        };
        let got = self.rt.block_on(async {
            let resp = self.client.get(target).send().await?;
            let code = resp.status().as_u16();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((code, text))
        });
        let fail = |value: String| Observation {
            value,
            expected: expected.clone(),
            failing: true,
        };
        let (code, text) = match got {
            Err(e) => return fail(format!("no answer from {endpoint}: {}", error_chain(&e))),
            Ok(r) => r,
        };
        match prometheus_value(&text) {
            Err(e) => fail(format!("{endpoint} (status {code}): {e}")),
            Ok(None) => Observation {
                value: "no data".into(),
                expected: expected.clone(),
                failing: fail_on_no_data,
            },
            Ok(Some(v)) => Observation {
                value: format_number(v),
                failing: v.is_nan() || above.is_some_and(|a| v > a) || below.is_some_and(|b| v < b),
                expected,
            },
        }
    }

    fn command(&self, command: &str) -> Observation {
        let expected = "exit 0".to_string();
        let child = Command::new("sh")
            .args(["-c", command])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                return Observation {
                    value: format!("could not run: {e}"),
                    expected,
                    failing: true,
                }
            }
        };
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    return Observation {
                        value: match status.code() {
                            Some(c) => format!("exit {c}"),
                            None => "killed by a signal".into(),
                        },
                        failing: !status.success(),
                        expected,
                    }
                }
                Ok(None) if start.elapsed() > self.timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Observation {
                        value: format!("timed out after {} s", self.timeout.as_secs()),
                        expected,
                        failing: true,
                    };
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => {
                    return Observation {
                        value: format!("could not wait for it: {e}"),
                        expected,
                        failing: true,
                    }
                }
            }
        }
    }

    /// POSTs `body` as JSON to `url`.
    pub(crate) fn post_json(&self, url: &str, body: &serde_json::Value) -> Result<()> {
        let bytes = serde_json::to_vec(body).expect("JSON always serializes");
        let r = self.rt.block_on(async {
            self.client
                .post(url)
                .header("content-type", "application/json")
                .body(bytes)
                .send()
                .await
        });
        match r {
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(Error::Watch(format!(
                "the webhook {url} answered status {}",
                resp.status().as_u16()
            ))),
            Err(e) => Err(Error::Watch(format!(
                "the webhook {url} failed: {}",
                error_chain(&e)
            ))),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!(": {c}"));
        cur = c.source();
    }
    s
}

fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The first sample of an instant query's answer (`None`: no data).
pub fn prometheus_value(text: &str) -> std::result::Result<Option<f64>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not a Prometheus API answer: {e}"))?;
    if doc.get("status").and_then(|s| s.as_str()) != Some("success") {
        return Err(format!(
            "the query failed: {}",
            doc.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("no reason given")
        ));
    }
    let data = doc.get("data").ok_or("no data in the answer")?;
    let result = data.get("result").ok_or("no result in the answer")?;
    let sample = match data.get("resultType").and_then(|t| t.as_str()) {
        Some("vector") => match result.as_array().and_then(|a| a.first()) {
            None => return Ok(None),
            Some(s) => s.get("value").ok_or("a vector sample without a value")?,
        },
        Some("scalar") => result,
        Some(other) => {
            return Err(format!(
                "a {other} result; the query must give a vector or a scalar"
            ))
        }
        None => return Err("no resultType in the answer".into()),
    };
    let v = sample
        .as_array()
        .and_then(|a| a.get(1))
        .and_then(|v| v.as_str())
        .ok_or("a sample that is not [time, \"value\"]")?;
    match v {
        "NaN" => Ok(Some(f64::NAN)),
        "+Inf" => Ok(Some(f64::INFINITY)),
        "-Inf" => Ok(Some(f64::NEG_INFINITY)),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| format!("the value {v:?} is not a number")),
    }
}
