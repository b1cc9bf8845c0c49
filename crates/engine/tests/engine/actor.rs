//! Who made a ref change: the user, the host and the CI job, read from the
//! variables each CI system sets.

use std::collections::HashMap;

use rewind_engine::actor_from;

fn actor(vars: &[(&str, &str)]) -> rewind_odb::Actor {
    let m: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    actor_from(&|k| m.get(k).cloned(), "build-7".into())
}

#[test]
fn a_person_at_a_terminal_is_user_and_host() {
    let a = actor(&[("USER", "alice")]);
    assert_eq!(a.user, "alice");
    assert_eq!(a.host, "build-7");
    assert!(a.ci.is_none());
    assert_eq!(a.to_string(), "alice@build-7");
}

#[test]
fn github_actions_names_the_actor_the_run_and_its_link() {
    let a = actor(&[
        ("USER", "runner"),
        ("CI", "true"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_ACTOR", "octocat"),
        ("GITHUB_REPOSITORY", "acme/infra"),
        ("GITHUB_RUN_ID", "8812"),
        ("GITHUB_SERVER_URL", "https://github.com"),
    ]);
    let ci = a.ci.clone().unwrap();
    assert_eq!(ci.system, "github-actions");
    assert_eq!(ci.actor, "octocat");
    assert_eq!(ci.run, "acme/infra#8812");
    assert_eq!(ci.url, "https://github.com/acme/infra/actions/runs/8812");
    assert_eq!(
        a.to_string(),
        "runner@build-7 (github-actions: octocat, acme/infra#8812)"
    );
}

/// Environment variables, as `(name, value)` pairs.
type Vars = &'static [(&'static str, &'static str)];

#[test]
fn other_ci_systems_are_recognised() {
    let cases: [(Vars, &str, &str); 5] = [
        (
            &[
                ("GITLAB_CI", "true"),
                ("GITLAB_USER_LOGIN", "bob"),
                ("CI_PROJECT_PATH", "g/p"),
                ("CI_PIPELINE_ID", "5"),
            ],
            "gitlab",
            "g/p#5",
        ),
        (
            &[
                ("JENKINS_URL", "http://j"),
                ("JOB_NAME", "deploy"),
                ("BUILD_NUMBER", "12"),
            ],
            "jenkins",
            "deploy#12",
        ),
        (
            &[
                ("CIRCLECI", "true"),
                ("CIRCLE_PROJECT_REPONAME", "infra"),
                ("CIRCLE_BUILD_NUM", "3"),
            ],
            "circleci",
            "infra#3",
        ),
        (
            &[
                ("BUILDKITE", "true"),
                ("BUILDKITE_PIPELINE_SLUG", "infra"),
                ("BUILDKITE_BUILD_NUMBER", "9"),
            ],
            "buildkite",
            "infra#9",
        ),
        (&[("CI", "1")], "ci", ""),
    ];
    for (vars, system, run) in cases {
        let ci = actor(vars).ci.unwrap();
        assert_eq!((ci.system.as_str(), ci.run.as_str()), (system, run));
    }
    assert!(actor(&[("CI", "false")]).ci.is_none());
}
