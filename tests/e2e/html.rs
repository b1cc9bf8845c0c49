//! The HTML reports in a real headless Chromium (`#[ignore]`d: run by
//! `.ci/run`, which installs Debian's `chromium`; they fail, not skip,
//! when it is missing): the page loads with network access cut and no
//! console error, its text holds the expected addresses, and a screenshot
//! is taken. The structural checks (one file, nothing external, redaction)
//! run with plain `cargo test`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// A store holding the shop's releases 1 to 4 as env `prod`, release 2
/// marked known-good with a reason.
fn shop_store(name: &str) -> Scratch {
    let t = Scratch::new(name);
    t.run(&["init"]).ok();
    for v in 1..=4 {
        let tag = format!("v{v}");
        t.run(&[
            "snapshot",
            s(&shop(v)),
            "--env",
            "prod",
            "--tag",
            &tag,
            "-m",
            &format!("release {v}"),
        ])
        .ok();
        if v == 2 {
            t.cmd(&["mark-good", "v2", "-m", "health checks passed for 30 min"])
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_ACTOR", "octocat")
                .env("GITHUB_REPOSITORY", "acme/infra")
                .env("GITHUB_RUN_ID", "8812")
                .env("GITHUB_SERVER_URL", "https://github.com")
                .output()
                .unwrap();
        }
    }
    t
}

fn write(t: &Scratch, name: &str, args: &[&str]) -> PathBuf {
    let r = t.run(args).ok();
    let path = t.path(name);
    std::fs::write(&path, &r.stdout).unwrap();
    path
}

/// What every HTML report must be: one document, nothing loaded from
/// elsewhere, no script.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..100]);
    assert!(html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script"), "a report has no script");
    for bad in ["src=\"", "href=\"http", "url(http", "@import", "<link"] {
        assert!(!html.contains(bad), "a report loads nothing ({bad})");
    }
    // no link out: the only URL in an attribute is the SVG namespace (an
    // identifier, never fetched)
    let attr_urls = html.matches("=\"http").count();
    assert_eq!(
        attr_urls,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "no links out"
    );
}

#[test]
fn report_puts_diff_plan_and_audit_trail_on_one_page() {
    let t = shop_store("html-report");
    let page = write(&t, "report.html", &["report", "prod@good", "prod@latest"]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    // summary first: both summaries come before any detail
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(at("Diff summary") < at("Plan summary"));
    assert!(at("Plan summary") < at("Configuration changes"));
    assert!(at("Configuration changes") < at("Steps by wave"));
    assert!(at("Steps by wave") < at("Audit trail"));
    // before/after values of a changed resource, the wave picture, the audit trail
    assert!(html.contains("<svg"), "an inline SVG picture");
    assert!(html.contains("mark-good: health checks passed for 30 min"));
    assert!(html.contains("octocat"), "who marked it good (CI identity)");
    assert!(html.contains("acme/infra#8812"));
    assert!(html.contains("release 4"));
    for f in ["plan", "diff"] {
        let args: Vec<&str> = if f == "plan" {
            vec!["plan", "--to", "v1", "--from", "v4", "--format", "html"]
        } else {
            vec!["diff", "v1", "v4", "--format", "html"]
        };
        let h = std::fs::read_to_string(write(&t, &format!("{f}.html"), &args)).unwrap();
        assert_self_contained(&h);
    }
    for args in [
        vec!["log", "--format", "html"],
        vec!["log", "--refs", "--format", "html"],
        vec!["show", "v2", "--format", "html"],
    ] {
        let h = String::from_utf8(t.run(&args).ok().stdout.into_bytes()).unwrap();
        assert_self_contained(&h);
        assert!(h.contains("v2"), "{args:?}");
    }
}

#[test]
fn html_reports_never_show_a_sensitive_value() {
    // the shop's state holds sensitive attributes (database password)
    let t = shop_store("html-secrets");
    let state = std::fs::read_to_string(shop(4).join("terraform.tfstate")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&state).unwrap();
    let mut secrets = Vec::new();
    for r in v["resources"].as_array().unwrap() {
        for i in r["instances"].as_array().unwrap() {
            for p in i["sensitive_attributes"].as_array().into_iter().flatten() {
                let key = p[0]["value"].as_str().or_else(|| p.as_str());
                if let Some(val) = key.and_then(|k| i["attributes"][k].as_str()) {
                    if val.len() > 3 {
                        secrets.push(val.to_string());
                    }
                }
            }
        }
    }
    assert!(
        !secrets.is_empty(),
        "the fixture has sensitive values to hide"
    );
    for args in [
        vec!["report", "v1", "v4"],
        vec!["diff", "v1", "v4", "--format", "html"],
        vec!["plan", "--to", "v1", "--from", "v4", "--format", "html"],
    ] {
        let h = t.run(&args).ok().stdout;
        for sec in &secrets {
            assert!(
                !h.contains(sec.as_str()),
                "{args:?} shows a sensitive value"
            );
        }
    }
}

/// Chromium: Debian's binary name, or `CHROMIUM`.
pub(crate) fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(c).exists() {
            return PathBuf::from(c);
        }
    }
    panic!("chromium is not installed: .ci/run installs it (apt-get install -y chromium), or set CHROMIUM");
}

/// Headless Chromium with the network cut (any attempt to load something
/// fails, and is logged on stderr) and its profile in `profile`.
pub(crate) fn headless(profile: &Path) -> Command {
    let mut c = Command::new(chromium());
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--proxy-server=127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Loads `page` in headless Chromium with the network cut; returns the
/// DOM as rendered and the console messages logged, and writes a
/// screenshot.
fn load(page: &Path, shot: &Path) -> (String, String) {
    let profile = page.with_extension("profile");
    let _ = std::fs::remove_dir_all(&profile);
    let out = headless(&profile)
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = headless(&profile)
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1280,1800")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        s.status.success(),
        "chromium screenshot failed: {}",
        String::from_utf8_lossy(&s.stderr)
    );
    let _ = std::fs::remove_dir_all(&profile);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&s.stderr),
    )
}

fn console_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Failed to load resource")
        })
        .collect()
}

#[test]
#[ignore = "needs chromium: run by .ci/run"]
fn chromium_renders_the_reports_without_errors() {
    let t = shop_store("html-chromium");
    // the check itself must be able to fail: a page with a console error
    // and a blocked external load is caught
    let bad = t.path("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><body><p>x</p><img src=\"http://example.com/x.png\"><script>console.error('boom')</script></body></html>",
    )
    .unwrap();
    let (_, log) = load(&bad, &t.path("bad.png"));
    assert!(
        !console_errors(&log).is_empty(),
        "the console check sees nothing:\n{log}"
    );

    let pages = [
        (
            write(&t, "report.html", &["report", "prod@good", "prod@latest"]),
            vec!["aws_db_instance", "envs/prod/good", "octocat"],
        ),
        (
            write(
                &t,
                "plan.html",
                &["plan", "--to", "v1", "--from", "v4", "--format", "html"],
            ),
            vec!["Steps by wave", "wave 0"],
        ),
        (
            write(&t, "diff.html", &["diff", "v1", "v4", "--format", "html"]),
            vec!["Diff summary"],
        ),
        (
            write(&t, "log.html", &["log", "--refs", "--format", "html"]),
            vec!["envs/prod/latest"],
        ),
    ];
    for (page, expected) in pages {
        let shot = page.with_extension("png");
        let (dom, log) = load(&page, &shot);
        let errors = console_errors(&log);
        assert!(
            errors.is_empty(),
            "{}: console errors:\n{}",
            page.display(),
            errors.join("\n")
        );
        for e in expected {
            assert!(
                dom.contains(e),
                "{}: the page does not show {e}",
                page.display()
            );
        }
        assert!(dom.contains("</svg>") || !page.ends_with("report.html"));
        let png = std::fs::read(&shot).expect("a screenshot");
        assert!(
            png.len() > 10_000 && png.starts_with(b"\x89PNG"),
            "{}: screenshot",
            shot.display()
        );
        if let Some(dir) = std::env::var_os("REWIND_SCREENSHOTS") {
            let _ = std::fs::create_dir_all(&dir);
            std::fs::copy(&shot, Path::new(&dir).join(shot.file_name().unwrap())).unwrap();
        }
    }
}
