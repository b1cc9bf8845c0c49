//! Who is running rewind: the user, the host and the CI job, for the ref
//! log's `who`.

use rewind_odb::{Actor, CiJob};

/// Who is running this process, from the environment: the login name, the
/// host name and, in CI, the job as the usual CI variables describe it
/// (GitHub Actions, GitLab CI, Jenkins, CircleCI, Buildkite, Azure
/// Pipelines, or any system that sets `CI`).
pub fn actor_from_env() -> Actor {
    actor_from(
        &|k| std::env::var(k).ok().filter(|v| !v.is_empty()),
        host_name(),
    )
}

/// The host name: the kernel's, then `HOSTNAME` or `COMPUTERNAME`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default()
}

/// The login name of this process's user from `/etc/passwd`, where
/// `USER` is not set (containers, cron).
#[cfg(unix)]
fn login_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
    })
}

#[cfg(not(unix))]
fn login_name() -> Option<String> {
    None
}

/// [`actor_from_env`] over any variable lookup (tests pass a table).
pub fn actor_from(var: &dyn Fn(&str) -> Option<String>, host: String) -> Actor {
    let get = |k: &str| var(k).unwrap_or_default();
    let user = ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| var(k))
        .or_else(login_name)
        .unwrap_or_default();
    Actor {
        user,
        host,
        ci: ci_job(var, &get),
    }
}

fn join(a: String, sep: &str, b: String) -> String {
    match (a.is_empty(), b.is_empty()) {
        (false, false) => format!("{a}{sep}{b}"),
        (true, _) => b,
        (false, true) => a,
    }
}

fn ci_job(var: &dyn Fn(&str) -> Option<String>, get: &dyn Fn(&str) -> String) -> Option<CiJob> {
    let job = |system: &str, actor: String, run: String, url: String| {
        Some(CiJob {
            system: system.to_string(),
            actor,
            run,
            url,
        })
    };
    if var("GITHUB_ACTIONS").is_some() {
        let url = match (
            var("GITHUB_SERVER_URL"),
            var("GITHUB_REPOSITORY"),
            var("GITHUB_RUN_ID"),
        ) {
            (Some(s), Some(r), Some(id)) => format!("{s}/{r}/actions/runs/{id}"),
            _ => String::new(),
        };
        return job(
            "github-actions",
            get("GITHUB_ACTOR"),
            join(get("GITHUB_REPOSITORY"), "#", get("GITHUB_RUN_ID")),
            url,
        );
    }
    if var("GITLAB_CI").is_some() {
        return job(
            "gitlab",
            get("GITLAB_USER_LOGIN"),
            join(get("CI_PROJECT_PATH"), "#", get("CI_PIPELINE_ID")),
            var("CI_JOB_URL")
                .or_else(|| var("CI_PIPELINE_URL"))
                .unwrap_or_default(),
        );
    }
    if var("JENKINS_URL").is_some() {
        return job(
            "jenkins",
            get("BUILD_USER_ID"),
            join(get("JOB_NAME"), "#", get("BUILD_NUMBER")),
            get("BUILD_URL"),
        );
    }
    if var("CIRCLECI").is_some() {
        return job(
            "circleci",
            get("CIRCLE_USERNAME"),
            join(get("CIRCLE_PROJECT_REPONAME"), "#", get("CIRCLE_BUILD_NUM")),
            get("CIRCLE_BUILD_URL"),
        );
    }
    if var("BUILDKITE").is_some() {
        return job(
            "buildkite",
            get("BUILDKITE_BUILD_CREATOR"),
            join(
                get("BUILDKITE_PIPELINE_SLUG"),
                "#",
                get("BUILDKITE_BUILD_NUMBER"),
            ),
            get("BUILDKITE_BUILD_URL"),
        );
    }
    if var("TF_BUILD").is_some() {
        return job(
            "azure-pipelines",
            get("BUILD_REQUESTEDFOR"),
            join(get("BUILD_DEFINITIONNAME"), "#", get("BUILD_BUILDNUMBER")),
            String::new(),
        );
    }
    if var("CI").is_some_and(|v| v != "false" && v != "0") {
        return job("ci", String::new(), String::new(), String::new());
    }
    None
}
