//! `watch` without external tools: command checks, a webhook served by
//! the test on 127.0.0.1, the TOML configuration, Prometheus answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rewind_engine::{
    parse_duration, prometheus_samples, watch, Check, OnBreach, Probe, RollbackOptions,
    WatchConfig, WatchEnd, WatchOptions,
};

use crate::common::{store_with_releases, TempDir};

/// Serves one HTTP request on 127.0.0.1 and hands back its body.
fn webhook() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut len = 0;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .unwrap();
        tx.send(String::from_utf8(body).unwrap()).unwrap();
    });
    (url, rx)
}

fn command_check(name: &str, command: String, failures: u32) -> Check {
    Check {
        name: name.into(),
        probe: Probe::Command { command },
        failures,
        sustained: None,
    }
}

fn options(checks: Vec<Check>) -> WatchOptions {
    WatchOptions {
        config: WatchConfig {
            checks,
            interval: Duration::from_millis(100),
            ..Default::default()
        },
        rollback: RollbackOptions {
            env: "prod".into(),
            ..Default::default()
        },
        timeout: Some(Duration::from_secs(30)),
    }
}

fn flag(path: &Path) -> String {
    format!("test -f '{}'", path.display())
}

#[test]
fn a_breach_is_recorded_with_its_evidence_and_notified() {
    let t = TempDir::new("watch-breach");
    let store = store_with_releases(&t);
    let healthy = t.0.join("healthy");
    std::fs::write(&healthy, "").unwrap();
    let (url, bodies) = webhook();
    let mut opts = options(vec![command_check("probe", flag(&healthy), 2)]);
    opts.config.webhook = Some(url);
    let h = healthy.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(350));
        std::fs::remove_file(h).unwrap();
    });
    let mut log = Vec::new();
    let end = watch(&store, &opts, &AtomicBool::new(false), &mut |e| {
        if let rewind_engine::Event::Step(s) = e {
            log.push(s.to_string());
        }
    })
    .unwrap();
    let WatchEnd::Breached {
        incident,
        rollback,
        action_error,
    } = end
    else {
        panic!("{end:?}\n{log:#?}")
    };
    assert_eq!(action_error, None);
    assert_eq!(rollback.unwrap().status.as_str(), "previewed");
    // every decision was logged with its evidence
    assert!(
        log.iter()
            .any(|l| l.starts_with("check probe: exit 0 (expected exit 0): ok")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("exit 1 (expected exit 0): FAILING 1/2")),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|l| l.starts_with("BREACH: probe failed 2 times in a row")),
        "{log:#?}"
    );
    let rec = store.incident(&incident.unwrap()).unwrap();
    assert_eq!(rec.outcome, "breach");
    assert!(rec.evidence.iter().any(|e| !e.failing));
    assert_eq!(rec.evidence.iter().filter(|e| e.failing).count(), 2);
    assert_eq!(rec.previewed.len(), 2);
    let events: Vec<&str> = rec.timeline.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        vec!["deployed", "first failing check", "breach", "preview"]
    );
    assert!(rec.time_to_detect.is_some());
    let body: serde_json::Value =
        serde_json::from_str(&bodies.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("prod breached its health checks: probe failed 2 times"),
        "{text}"
    );
    assert_eq!(body["rewind"]["env"], "prod");
    assert_eq!(body["rewind"]["evidence"].as_array().unwrap().len(), 2);
}

#[test]
fn failures_in_the_grace_period_do_not_count() {
    let t = TempDir::new("watch-grace");
    let store = store_with_releases(&t);
    let mut opts = options(vec![command_check("always-down", "exit 1".into(), 1)]);
    opts.config.grace = Duration::from_secs(3600);
    opts.timeout = Some(Duration::from_millis(400));
    let end = watch(&store, &opts, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(matches!(end, WatchEnd::TimedOut), "{end:?}");
    assert!(store.list_incidents().unwrap().is_empty());
}

#[test]
fn a_healthy_release_is_promoted_after_the_bake_time() {
    let t = TempDir::new("watch-promote");
    let store = store_with_releases(&t);
    let latest = store.resolve("prod@latest").unwrap();
    assert_ne!(store.resolve("prod@good").unwrap(), latest);
    let mut opts = options(vec![command_check("up", "true".into(), 3)]);
    opts.config.promote_after = Some(Duration::from_millis(300));
    let end = watch(&store, &opts, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(
        matches!(end, WatchEnd::Promoted(id) if id == latest),
        "{end:?}"
    );
    assert_eq!(store.resolve("prod@good").unwrap(), latest);
}

#[test]
fn watching_stops_when_asked_and_refuses_a_rollback_without_apply() {
    let t = TempDir::new("watch-stop");
    let store = store_with_releases(&t);
    let opts = options(vec![command_check("up", "true".into(), 3)]);
    let end = watch(&store, &opts, &AtomicBool::new(true), &mut |_| {}).unwrap();
    assert!(matches!(end, WatchEnd::Stopped), "{end:?}");
    let mut rb = opts.clone();
    rb.config.then = OnBreach::Rollback;
    let err = watch(&store, &rb, &AtomicBool::new(false), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("add --apply"), "{err}");
    let none = options(Vec::new());
    assert!(watch(&store, &none, &AtomicBool::new(false), &mut |_| {}).is_err());
}

#[test]
fn the_configuration_file_is_read_and_its_errors_have_positions() {
    let text = r#"
interval = "5s"
grace = "2m"
promote_after = "30m"
then = "plan"
webhook = "http://127.0.0.1:9/hook"

[[check]]
name = "api"
type = "http"
url = "http://127.0.0.1:8080/health"
status = "2xx"
body = "ok"
max_latency = "250ms"
failures = 2

[[check]]
name = "errors"
type = "prometheus"
url = "http://127.0.0.1:9090"
query = "sum(rate(http_errors_total[1m]))"
above = 0.05
for = "1m"

[[check]]
type = "command"
command = "curl -fsS http://127.0.0.1:8080/ready"
"#;
    let cfg = WatchConfig::from_toml(text, Path::new("watch.toml")).unwrap();
    assert_eq!(cfg.interval, Duration::from_secs(5));
    assert_eq!(cfg.grace, Duration::from_secs(120));
    assert_eq!(cfg.promote_after, Some(Duration::from_secs(1800)));
    assert_eq!(cfg.then, OnBreach::Plan);
    assert_eq!(cfg.checks.len(), 3);
    assert_eq!(
        cfg.checks[0].probe,
        Probe::Http {
            url: "http://127.0.0.1:8080/health".into(),
            status: (200, 299),
            body: Some("ok".into()),
            max_latency: Some(Duration::from_millis(250)),
        }
    );
    assert_eq!(cfg.checks[0].failures, 2);
    assert_eq!(cfg.checks[1].sustained, Some(Duration::from_secs(60)));
    assert_eq!(cfg.checks[2].name, "command-3");
    assert_eq!(cfg.checks[2].failures, 3);

    let bad = "interval = \"5s\"\n[[check]]\ntype = \"http\"\nurll = \"x\"\n";
    let err = WatchConfig::from_toml(bad, Path::new("watch.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("watch.toml:4:1: "), "{err}");
    let missing = "[[check]]\ntype = \"prometheus\"\nurl = \"http://x\"\nquery = \"up\"\n";
    let err = WatchConfig::from_toml(missing, Path::new("w.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs `above` or `below`"), "{err}");
    assert!(parse_duration("10x").is_err());
    assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
}

#[test]
fn prometheus_answers_are_read_as_prometheus_writes_them() {
    let value = |text: &str| -> Result<Vec<f64>, String> {
        Ok(prometheus_samples(text)?.iter().map(|s| s.value).collect())
    };
    let vector = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"app"},"value":[1764530000.123,"0.25"]},{"metric":{"__name__":"up","job":"db"},"value":[1764530000.123,"NaN"]}]}}"#;
    let samples = prometheus_samples(vector).unwrap();
    assert_eq!(samples[0].value, 0.25);
    assert_eq!(samples[0].labels, r#"{job="app"}"#);
    assert!(samples[1].value.is_nan());
    assert_eq!(samples[1].labels, r#"up{job="db"}"#);
    let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    assert_eq!(value(empty).unwrap(), Vec::<f64>::new());
    let scalar =
        r#"{"status":"success","data":{"resultType":"scalar","result":[1764530000,"+Inf"]}}"#;
    assert_eq!(value(scalar).unwrap(), vec![f64::INFINITY]);
    let error = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#;
    assert!(value(error).unwrap_err().contains("parse error at char 4"));
    let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
    assert!(value(matrix).is_err());
}

/// Serves every request on 127.0.0.1 with `status` and `body` until the
/// test ends; returns the server's base URL.
fn serve(status: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A Prometheus that answers garbage, an error or NaN shows nothing
/// about the app: no breach, and no promotion either.
#[test]
fn an_inconclusive_prometheus_neither_breaches_nor_promotes() {
    let t = TempDir::new("watch-inconclusive");
    let store = store_with_releases(&t);
    let good = store.resolve("prod@good").unwrap();
    let nan = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#;
    let error = r#"{"status":"error","errorType":"unavailable","error":"storage overloaded"}"#;
    let checks = [
        serve("200 OK", "<html>oops</html>"),
        serve("503 Service Unavailable", error),
        serve("200 OK", nan),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, url)| Check {
        name: format!("prom-{i}"),
        probe: Probe::Prometheus {
            url,
            query: "errors / requests".into(),
            above: Some(0.05),
            below: None,
            fail_on_no_data: false,
        },
        failures: 1,
        sustained: None,
    })
    .collect();
    let mut opts = options(checks);
    opts.config.promote_after = Some(Duration::from_millis(100));
    opts.timeout = Some(Duration::from_millis(600));
    let mut log = Vec::new();
    let end = watch(&store, &opts, &AtomicBool::new(false), &mut |e| {
        if let rewind_engine::Event::Step(s) = e {
            log.push(s.to_string());
        }
    })
    .unwrap();
    assert!(matches!(end, WatchEnd::TimedOut), "{end:?}\n{log:#?}");
    assert!(store.list_incidents().unwrap().is_empty());
    assert_eq!(store.resolve("prod@good").unwrap(), good);
    for why in ["not a Prometheus API answer", "storage overloaded", "NaN"] {
        assert!(
            log.iter()
                .any(|l| l.contains(why) && l.contains("INCONCLUSIVE")),
            "{why}: {log:#?}"
        );
    }
}
