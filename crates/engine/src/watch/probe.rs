//! Running one health check once: an HTTP request, a Prometheus instant
//! query, a command. An observation says what was seen and whether it
//! passes, fails or shows nothing either way: a check of the app that
//! cannot even run (refused connection, timeout) fails with that as its
//! value; a Prometheus that cannot answer, or answers NaN or no series,
//! is inconclusive.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::watch::config::{
    describe_duration, prometheus_base, redacted, webhook_display, Check, Probe,
};

/// The most of an HTTP check's body read: past it, the check fails.
pub(crate) const MAX_HTTP_BODY: usize = 1 << 20;
/// The most of a Prometheus answer read: past it, the check is
/// inconclusive.
pub(crate) const MAX_PROMETHEUS_ANSWER: usize = 16 << 20;

/// What one observation says about the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within what passes.
    Passing,
    /// Outside it: counts toward a breach.
    Failing,
    /// Health was not shown either way (Prometheus unreachable or
    /// erroring, a NaN, no series): counts neither toward a breach nor as
    /// healthy time.
    Inconclusive,
}

/// What one run of a check saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The observed value, for a person (`status 200 in 12 ms`, `0.42`),
    /// or why it is inconclusive.
    pub value: String,
    /// What passing means (`status 200..=299`, `<= 0.05`).
    pub expected: String,
    /// Whether it passes, fails or shows nothing.
    pub verdict: Verdict,
}

impl Observation {
    /// True when it fails.
    pub fn failing(&self) -> bool {
        self.verdict == Verdict::Failing
    }
}

/// Why a GET gave no body to judge.
enum FetchError {
    /// No response at all (refused, timed out, not a URL).
    NoResponse(String),
    /// A response whose body was too large or broke off.
    Body { code: u16, why: String },
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::NoResponse(e) => write!(f, "no response: {e}"),
            FetchError::Body { code, why } => write!(f, "status {code}, but {why}"),
        }
    }
}

/// `n` bytes for a person (`1 MiB`).
fn size(n: usize) -> String {
    format!("{} MiB", n >> 20)
}

/// A GET's status and body, read up to `cap` bytes (redirects are not
/// followed: the client has none).
async fn fetch(
    client: &reqwest::Client,
    url: reqwest::Url,
    cap: usize,
) -> std::result::Result<(u16, Vec<u8>), FetchError> {
    let mut resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| FetchError::NoResponse(describe(e)))?;
    let code = resp.status().as_u16();
    let too_large = || FetchError::Body {
        code,
        why: format!("the body is larger than {}: not read further", size(cap)),
    };
    if resp.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(None) => return Ok((code, body)),
            Ok(Some(c)) if body.len() + c.len() > cap => return Err(too_large()),
            Ok(Some(c)) => body.extend_from_slice(&c),
            Err(e) => {
                return Err(FetchError::Body {
                    code,
                    why: format!("the body broke off: {}", describe(e)),
                })
            }
        }
    }
}

/// A reqwest error without its URL (the caller shows it, redacted).
fn describe(e: reqwest::Error) -> String {
    error_chain(&e.without_url())
}

/// Runs checks: one HTTP client and one small runtime for all of them.
pub(crate) struct Prober<'s> {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    timeout: Duration,
    /// The watch's stop flag: a running command is stopped for it.
    stop: &'s AtomicBool,
}

impl<'s> Prober<'s> {
    pub(crate) fn new(timeout: Duration, stop: &'s AtomicBool) -> Result<Prober<'s>> {
        // reqwest's rustls is built without a bundled crypto provider
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Watch(format!("could not start the HTTP runtime: {e}")))?;
        // a redirect is the app's own answer, judged as its status: a
        // check that followed it would judge another host
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rewind-watch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Watch(format!("could not build the HTTP client: {e}")))?;
        Ok(Prober {
            rt,
            client,
            timeout,
            stop,
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
            } => {
                let bounds = Bounds {
                    above: *above,
                    below: *below,
                    fail_on_no_data: *fail_on_no_data,
                };
                self.prometheus(url, query, &bounds)
            }
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
        let got = match reqwest::Url::parse(url) {
            Ok(u) => self.rt.block_on(fetch(&self.client, u, MAX_HTTP_BODY)),
            Err(e) => Err(FetchError::NoResponse(format!("not a URL: {e}"))),
        };
        let took = start.elapsed();
        let (code, bytes) = match got {
            Err(e) => return Observation::of(e.to_string(), expected, Verdict::Failing),
            Ok(r) => r,
        };
        let text = String::from_utf8_lossy(&bytes);
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
        let value = format!(
            "status {code} in {} ms{}",
            took.as_millis(),
            if why.is_empty() {
                String::new()
            } else {
                format!(" (bad {})", why.join(", "))
            }
        );
        let verdict = if why.is_empty() {
            Verdict::Passing
        } else {
            Verdict::Failing
        };
        Observation::of(value, expected, verdict)
    }

    fn prometheus(&self, url: &str, query: &str, bounds: &Bounds) -> Observation {
        let expected = bounds.expected();
        let inconclusive =
            |value: String| Observation::of(value, expected.clone(), Verdict::Inconclusive);
        let mut endpoint = match prometheus_base(url) {
            Ok(u) => u,
            Err(e) => return inconclusive(e.to_string()),
        };
        endpoint.set_path(&format!(
            "{}/api/v1/query",
            endpoint.path().trim_end_matches('/')
        ));
        let shown = redacted(&endpoint);
        let mut target = endpoint.clone();
        target.query_pairs_mut().append_pair("query", query);
        let got = self
            .rt
            .block_on(fetch(&self.client, target, MAX_PROMETHEUS_ANSWER));
        let (code, bytes) = match got {
            Err(e) => return inconclusive(format!("{shown}: {e}")),
            Ok(r) => r,
        };
        let answer = prometheus_samples(&String::from_utf8_lossy(&bytes));
        match answer {
            // Prometheus's errors come with a status and a reason
            Err(e) if e.starts_with("the query failed") => {
                inconclusive(format!("{shown} (status {code}): {e}"))
            }
            _ if !(200..300).contains(&code) => {
                inconclusive(format!("{shown} answered status {code}"))
            }
            Err(e) => inconclusive(format!("{shown} (status {code}): {e}")),
            Ok(samples) => bounds.judge(&samples, expected),
        }
    }

    fn command(&self, command: &str) -> Observation {
        let expected = "exit 0".to_string();
        let failed = |value: String| Observation::of(value, expected.clone(), Verdict::Failing);
        // its own process group: a timeout kills what it started too
        let child = Command::new("sh")
            .args(["-c", command])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => return failed(format!("could not run: {e}")),
        };
        let start = Instant::now();
        loop {
            let stopped = self.stop.load(Ordering::Relaxed);
            match child.try_wait() {
                Ok(Some(status)) => {
                    let value = match status.code() {
                        Some(c) => format!("exit {c}"),
                        None => "killed by a signal".into(),
                    };
                    return if status.success() {
                        Observation::of(value, expected, Verdict::Passing)
                    } else {
                        failed(value)
                    };
                }
                Ok(None) if stopped || start.elapsed() > self.timeout => {
                    kill_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    if stopped {
                        return Observation::of(
                            "stopped: the watch is ending".into(),
                            expected,
                            Verdict::Inconclusive,
                        );
                    }
                    return failed(format!(
                        "timed out after {}",
                        describe_duration(self.timeout)
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return failed(format!("could not wait for it: {e}")),
            }
        }
    }

    /// POSTs `body` as JSON to `url`; errors show the webhook's scheme
    /// and host only.
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
        let shown = webhook_display(url);
        match r {
            Ok(resp) if resp.status().is_success() => Ok(()),
            Ok(resp) => Err(Error::Watch(format!(
                "the webhook {shown} answered status {}",
                resp.status().as_u16()
            ))),
            Err(e) => Err(Error::Watch(format!(
                "the webhook {shown} failed: {}",
                error_chain(&e.without_url())
            ))),
        }
    }
}

impl Observation {
    fn of(value: String, expected: String, verdict: Verdict) -> Observation {
        Observation {
            value,
            expected,
            verdict,
        }
    }
}

/// Kills the process group `pid` leads (a command check and what it
/// started). Called before the leader is waited for, so the group's id
/// cannot have been reused.
#[allow(unsafe_code)]
fn kill_group(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) reads no memory of ours; a group that is gone only
    // makes it fail (ESRCH)
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// What a Prometheus check's value is held against.
struct Bounds {
    above: Option<f64>,
    below: Option<f64>,
    fail_on_no_data: bool,
}

/// The most series named in a value.
const SERIES_SHOWN: usize = 5;

impl Bounds {
    fn expected(&self) -> String {
        match (self.above, self.below) {
            (Some(a), Some(b)) => format!("{b} <= value <= {a}"),
            (Some(a), None) => format!("value <= {a}"),
            (None, Some(b)) => format!("value >= {b}"),
            (None, None) => "any value".into(),
        }
    }

    fn breaches(&self, v: f64) -> bool {
        self.above.is_some_and(|a| v > a) || self.below.is_some_and(|b| v < b)
    }

    /// Every series judged: failing if any breaches (they are named),
    /// inconclusive if none does but one is NaN, or there is none.
    fn judge(&self, samples: &[Sample], expected: String) -> Observation {
        let of = |value: String, verdict| Observation::of(value, expected.clone(), verdict);
        if samples.is_empty() {
            return if self.fail_on_no_data {
                of("no data".into(), Verdict::Failing)
            } else {
                of(
                    "no data: the query returned no series".into(),
                    Verdict::Inconclusive,
                )
            };
        }
        let breaching: Vec<&Sample> = samples.iter().filter(|s| self.breaches(s.value)).collect();
        let nan: Vec<&Sample> = samples.iter().filter(|s| s.value.is_nan()).collect();
        let total = samples.len();
        if let [one] = samples {
            // one series: its value alone, as Prometheus's own graph shows it
            return if !breaching.is_empty() {
                of(format_number(one.value), Verdict::Failing)
            } else if !nan.is_empty() {
                of(
                    "NaN: the value is not a number (a ratio over no traffic is 0/0)".into(),
                    Verdict::Inconclusive,
                )
            } else {
                of(format_number(one.value), Verdict::Passing)
            };
        }
        if !breaching.is_empty() {
            let v = format!(
                "{} of {total} series out of bounds: {}",
                breaching.len(),
                series(&breaching)
            );
            return of(v, Verdict::Failing);
        }
        if !nan.is_empty() {
            let v = format!(
                "{} of {total} series NaN (not a number; a ratio over no traffic is 0/0): {}",
                nan.len(),
                series(&nan)
            );
            return of(v, Verdict::Inconclusive);
        }
        let all: Vec<&Sample> = samples.iter().collect();
        of(
            format!("{total} series: {}", series(&all)),
            Verdict::Passing,
        )
    }
}

/// Up to [`SERIES_SHOWN`] series as `labels = value`.
fn series(samples: &[&Sample]) -> String {
    let mut s = samples
        .iter()
        .take(SERIES_SHOWN)
        .map(|s| format!("{} = {}", s.labels, format_number(s.value)))
        .collect::<Vec<_>>()
        .join(", ");
    if samples.len() > SERIES_SHOWN {
        s.push_str(&format!(" and {} more", samples.len() - SERIES_SHOWN));
    }
    s
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

/// One series of an instant query's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Its labels as Prometheus writes them (`errors{service="b"}`;
    /// `{}` for none, or for a scalar).
    pub labels: String,
    /// Its value (NaN and the infinities included).
    pub value: f64,
}

/// Every sample of an instant query's answer (none: no data).
pub fn prometheus_samples(text: &str) -> std::result::Result<Vec<Sample>, String> {
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
    match data.get("resultType").and_then(|t| t.as_str()) {
        Some("vector") => result
            .as_array()
            .ok_or("a vector result that is not an array")?
            .iter()
            .map(|s| {
                let value = s.get("value").ok_or("a vector sample without a value")?;
                Ok(Sample {
                    labels: labels(s.get("metric")),
                    value: sample_value(value)?,
                })
            })
            .collect(),
        Some("scalar") => Ok(vec![Sample {
            labels: "{}".into(),
            value: sample_value(result)?,
        }]),
        Some(other) => Err(format!(
            "a {other} result; the query must give a vector or a scalar"
        )),
        None => Err("no resultType in the answer".into()),
    }
}

/// A series' labels as Prometheus writes them: `name{k="v", ...}`.
fn labels(metric: Option<&serde_json::Value>) -> String {
    let Some(m) = metric.and_then(|m| m.as_object()) else {
        return "{}".into();
    };
    let name = m.get("__name__").and_then(|n| n.as_str()).unwrap_or("");
    let pairs: Vec<String> = m
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap_or_default()))
        .collect();
    if pairs.is_empty() && !name.is_empty() {
        return name.into();
    }
    format!("{name}{{{}}}", pairs.join(", "))
}

/// A sample's `[time, "value"]` as a number.
fn sample_value(sample: &serde_json::Value) -> std::result::Result<f64, String> {
    let v = sample
        .as_array()
        .and_then(|a| a.get(1))
        .and_then(|v| v.as_str())
        .ok_or("a sample that is not [time, \"value\"]")?;
    match v {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        v => v
            .parse()
            .map_err(|_| format!("the value {v:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    use super::*;

    /// Answers every request on 127.0.0.1 with `head` (status line and
    /// headers, without the blank line) and `body`, or, with `endless`,
    /// that body over and over until the client goes.
    fn serve(head: &str, body: &'static [u8], endless: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let head = head.to_string();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { return };
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
                let _ = write!(s, "{head}\r\nconnection: close\r\n\r\n");
                while s.write_all(body).is_ok() && endless {}
            }
        });
        url
    }

    fn prober(stop: &AtomicBool) -> Prober<'_> {
        Prober::new(Duration::from_secs(5), stop).unwrap()
    }

    fn http(url: String, status: (u16, u16)) -> Check {
        Check {
            name: "app".into(),
            probe: Probe::Http {
                url,
                status,
                body: None,
                max_latency: None,
            },
            failures: 1,
            sustained: None,
        }
    }

    fn prometheus(url: String) -> Check {
        Check {
            name: "errors".into(),
            probe: Probe::Prometheus {
                url,
                query: "errors / requests".into(),
                above: Some(0.05),
                below: None,
                fail_on_no_data: false,
            },
            failures: 1,
            sustained: None,
        }
    }

    /// A free port of 127.0.0.1 that nothing listens on.
    fn refused() -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    }

    #[test]
    fn an_endless_body_is_read_up_to_its_limit_only() {
        let stop = AtomicBool::new(false);
        let p = prober(&stop);
        let chunk: &'static [u8] = Box::leak(vec![b'x'; 64 << 10].into_boxed_slice());
        let url = serve("HTTP/1.1 200 OK\r\ncontent-type: text/plain", chunk, true);
        let o = p.observe(&http(format!("{url}/health"), (200, 299)));
        assert_eq!(o.verdict, Verdict::Failing, "{o:?}");
        assert!(o.value.contains("larger than 1 MiB"), "{o:?}");
        // a Prometheus answer announced over its limit is not read at all
        let url = serve("HTTP/1.1 200 OK\r\ncontent-length: 17000000", b"{", false);
        let o = p.observe(&prometheus(url));
        assert_eq!(o.verdict, Verdict::Inconclusive, "{o:?}");
        assert!(o.value.contains("larger than 16 MiB"), "{o:?}");
    }

    #[test]
    fn a_broken_prometheus_is_inconclusive_and_a_broken_app_fails() {
        let stop = AtomicBool::new(false);
        let p = prober(&stop);
        let error = br#"{"status":"error","errorType":"unavailable","error":"storage overloaded"}"#;
        for (url, why) in [
            (refused(), "no response"),
            (
                serve(
                    "HTTP/1.1 200 OK\r\ncontent-length: 17",
                    b"<html>oops</html>",
                    false,
                ),
                "not a Prometheus API answer",
            ),
            (
                serve(
                    &format!(
                        "HTTP/1.1 503 Unavailable\r\ncontent-length: {}",
                        error.len()
                    ),
                    error,
                    false,
                ),
                "storage overloaded",
            ),
            (
                serve(
                    "HTTP/1.1 302 Found\r\nlocation: http://10.255.255.1/\r\ncontent-length: 0",
                    b"",
                    false,
                ),
                "answered status 302",
            ),
        ] {
            let o = p.observe(&prometheus(url));
            assert_eq!(o.verdict, Verdict::Inconclusive, "{o:?}");
            assert!(o.value.contains(why), "{why}: {o:?}");
        }
        let o = p.observe(&http(refused(), (200, 299)));
        assert_eq!(o.verdict, Verdict::Failing, "{o:?}");
        assert!(o.value.starts_with("no response: "), "{o:?}");
        let down = serve(
            "HTTP/1.1 503 Unavailable\r\ncontent-length: 4",
            b"down",
            false,
        );
        assert!(p.observe(&http(down, (200, 299))).failing());
    }

    #[test]
    fn a_redirect_is_judged_as_the_apps_own_status() {
        let stop = AtomicBool::new(false);
        let p = prober(&stop);
        let url = serve(
            "HTTP/1.1 302 Found\r\nlocation: http://10.255.255.1/health\r\ncontent-length: 0",
            b"",
            false,
        );
        let o = p.observe(&http(url.clone(), (200, 299)));
        assert_eq!(o.verdict, Verdict::Failing, "{o:?}");
        assert!(o.value.starts_with("status 302 in "), "{o:?}");
        let o = p.observe(&http(url, (302, 302)));
        assert_eq!(o.verdict, Verdict::Passing, "{o:?}");
    }

    fn sample(labels: &str, value: f64) -> Sample {
        Sample {
            labels: labels.into(),
            value,
        }
    }

    #[test]
    fn every_series_is_judged_and_nan_or_no_series_is_inconclusive() {
        let b = Bounds {
            above: Some(0.05),
            below: None,
            fail_on_no_data: false,
        };
        let judge = |s: &[Sample]| b.judge(s, b.expected());
        let o = judge(&[
            sample(r#"{service="a"}"#, 0.001),
            sample(r#"{service="b"}"#, 0.9),
        ]);
        assert_eq!(o.verdict, Verdict::Failing);
        assert_eq!(
            o.value,
            r#"1 of 2 series out of bounds: {service="b"} = 0.9"#
        );
        let o = judge(&[sample("{}", 0.5)]);
        assert_eq!((o.verdict, o.value.as_str()), (Verdict::Failing, "0.5"));
        let o = judge(&[sample("{}", 0.01)]);
        assert_eq!((o.verdict, o.value.as_str()), (Verdict::Passing, "0.01"));
        let o = judge(&[sample("{}", f64::NAN)]);
        assert_eq!(o.verdict, Verdict::Inconclusive);
        assert!(o.value.starts_with("NaN"), "{o:?}");
        let o = judge(&[sample(r#"{s="a"}"#, 0.01), sample(r#"{s="b"}"#, f64::NAN)]);
        assert_eq!(o.verdict, Verdict::Inconclusive);
        assert!(o.value.contains(r#"{s="b"}"#), "{o:?}");
        // a breach anywhere outweighs a NaN elsewhere
        let o = judge(&[sample(r#"{s="a"}"#, 1.0), sample(r#"{s="b"}"#, f64::NAN)]);
        assert_eq!(o.verdict, Verdict::Failing);
        let o = judge(&[]);
        assert_eq!(o.verdict, Verdict::Inconclusive);
        assert!(o.value.contains("no series"), "{o:?}");
        let strict = Bounds {
            fail_on_no_data: true,
            ..b
        };
        assert!(strict.judge(&[], strict.expected()).failing());
        let many: Vec<Sample> = (0..8)
            .map(|i| sample(&format!("{{i=\"{i}\"}}"), 1.0))
            .collect();
        let o = judge(&many);
        assert!(o.value.starts_with("8 of 8 series out of bounds"), "{o:?}");
        assert!(o.value.ends_with(" and 3 more"), "{o:?}");
    }

    #[test]
    fn a_timed_out_command_is_killed_with_what_it_started() {
        let stop = AtomicBool::new(false);
        let p = Prober::new(Duration::from_millis(300), &stop).unwrap();
        let dir = std::env::temp_dir().join(format!("rewind-watch-cmd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("pid");
        let cmd = format!("sleep 37 & echo $! > '{}'; wait", pidfile.display());
        let o = p.observe(&Check {
            name: "cmd".into(),
            probe: Probe::Command { command: cmd },
            failures: 1,
            sustained: None,
        });
        assert_eq!(o.verdict, Verdict::Failing, "{o:?}");
        assert_eq!(o.value, "timed out after 300 ms");
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        let deadline = Instant::now() + Duration::from_secs(5);
        // gone, or a zombie waiting for init to reap it
        while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
            assert!(Instant::now() < deadline, "the command's child still runs");
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_running_command_is_stopped_with_the_watch_and_is_inconclusive() {
        let stop = AtomicBool::new(true);
        let p = prober(&stop);
        let o = p.observe(&Check {
            name: "cmd".into(),
            probe: Probe::Command {
                command: "sleep 30".into(),
            },
            failures: 1,
            sustained: None,
        });
        assert_eq!(o.verdict, Verdict::Inconclusive, "{o:?}");
    }
}
