//! What a real pipeline deploys: a state piped in from a remote backend
//! (`--state -`), variable files and values (`--var-file`, `--var`,
//! `--env-vars`), the workspace, files the configuration reads through
//! functions, override files and OpenTofu files; and empty directories
//! refused. The states in `fixtures/inputs` were written by Terraform 1.11
//! (`scripts/record-inputs-oracle.sh`); the `needs terraform` tests at the
//! end record them afresh and check rewind against them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common::{fixtures, s, Run, Scratch};

fn inputs() -> PathBuf {
    fixtures().join("inputs")
}

/// Runs rewind with `stdin` on its standard input.
fn run_with_stdin(t: &Scratch, args: &[&str], stdin: &[u8]) -> Run {
    let mut child = t
        .cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rewind");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin)
        .expect("write stdin");
    Run::from(child.wait_with_output().expect("wait"))
}

/// Copies a fixture directory (files only, one level) into the scratch.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// `terraform state pull` of release `v` (recorded).
fn pulled(v: &str, dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(format!("pipeline-{v}.tfstate"))).unwrap()
}

/// The pipeline of the issue, release after release: the state only
/// through `--state -`, `-var-file=prod.tfvars`, `user_data =
/// file("init.sh")`, an override file. Every change Terraform acts on
/// shows up, with state-backed instances.
fn pipeline_through(states: &Path) {
    let t = Scratch::new("inputs-pipeline");
    t.run(&["init"]).ok();
    for v in ["v1", "v2", "v3"] {
        // the checkout of the release in the pipeline's workspace
        let _ = std::fs::remove_dir_all(t.path("infra"));
        copy_dir(&inputs().join("pipeline").join(v), &t.path("infra"));
        let r = run_with_stdin(
            &t,
            &[
                "snapshot",
                "infra",
                "--env",
                "prod",
                "--tag",
                v,
                "--state",
                "-",
                "--var-file",
                "infra/prod.tfvars",
            ],
            &pulled(v, states),
        )
        .ok();
        assert!(!r.stderr.contains("no state"), "{}", r.stderr);
    }
    // show: where the state came from, its lineage and serial
    let show = t.run(&["show", "v2"]).ok();
    let lineage = serde_json::from_slice::<serde_json::Value>(&pulled("v2", states)).unwrap()
        ["lineage"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        show.stdout.contains(&format!("lineage {lineage}")),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("--state:     (standard input)"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("--var-file:  infra/prod.tfvars"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("state:       rewind.pulled.tfstate (serial"),
        "{}",
        show.stdout
    );
    let j = t.run(&["--format", "json", "show", "v2"]).ok().json();
    assert_eq!(j["state"]["lineage"], lineage.as_str());
    assert_eq!(j["inputs"]["state"], "(standard input)");
    assert!(j["lineage_changed_from"].is_null());

    // release 2 changed only init.sh: a change of the attribute reading it
    let d = t.run(&["diff", "--detailed-exitcode", "v1", "v2"]);
    assert_eq!(d.code, 2, "{}{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("~ terraform_data.web")
            // (terraform_data.db's input is sensitive in the state; web's
            // is not, as Terraform's schema for terraform_data marks
            // nothing: the file it reads shows by name)
            && d.stdout.contains(
                "~ input.user_data: \"init.sh (content before)\" → \"init.sh (content changed)\""
            )
            && !d.stdout.contains("terraform_data.db"),
        "{}",
        d.stdout
    );
    // its content's hash only when asked: a hash of a small secret file
    // lets whoever reads the diff check guesses at it
    let shown = t.run(&["diff", "--show-sensitive", "v1", "v2"]).ok();
    let hashed = shown
        .stdout
        .lines()
        .find(|l| l.contains("~ input.user_data: \"init.sh (content "))
        .unwrap_or_else(|| panic!("{}", shown.stdout));
    let hex: Vec<&str> = hashed
        .split("(content ")
        .skip(1)
        .map(|x| x.split(')').next().unwrap_or_default())
        .collect();
    assert!(
        hex.len() == 2
            && hex
                .iter()
                .all(|h| h.len() == 12 && h.bytes().all(|b| b.is_ascii_hexdigit())),
        "{hashed}"
    );
    // the deployed instances come from the piped state
    assert!(d.stdout.contains("~ terraform_data.web[1]"), "{}", d.stdout);

    // going back to release 1: both web servers updated (the override
    // file's count of 2), from the state
    let p = t.run(&[
        "--format",
        "json",
        "plan",
        "--detailed-exitcode",
        "--from",
        "v2",
        "--to",
        "v1",
    ]);
    assert_eq!(p.code, 2, "{}{}", p.stdout, p.stderr);
    let plan = p.json();
    let mut actions: Vec<(String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap().to_string(),
                c["actions"].to_string(),
            )
        })
        .filter(|(_, a)| a != "[\"no-op\"]")
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        vec![
            ("terraform_data.lb".to_string(), "[\"update\"]".to_string()),
            (
                "terraform_data.web[0]".to_string(),
                "[\"update\"]".to_string()
            ),
            (
                "terraform_data.web[1]".to_string(),
                "[\"update\"]".to_string()
            ),
        ],
        "{}",
        p.stdout
    );
    // going back from release 3 to 2: the prod.tfvars change (a
    // --var-file value) replaces the load balancer (triggers_replace) and
    // updates the web servers; the password is never shown
    let p = t.run(&["plan", "--detailed-exitcode", "--to", "v2"]);
    assert_eq!(p.code, 2, "{}{}", p.stdout, p.stderr);
    assert!(
        p.stdout.contains("terraform_data.lb will be replaced"),
        "{}",
        p.stdout
    );
    assert!(
        p.stdout.contains("terraform_data.db will be updated"),
        "{}",
        p.stdout
    );
    let d = t.run(&["diff", "--detailed-exitcode", "v2", "v3"]);
    for out in [&p.stdout, &p.stderr, &d.stdout, &d.stderr] {
        assert!(!out.contains("pr0d-s3cret"), "a secret leaked:\n{out}");
    }
    assert!(
        d.stdout.contains("db_password: (sensitive value changed)"),
        "{}",
        d.stdout
    );
    // checkout restores the file the configuration reads, and the state
    let back = t.path("restored");
    t.run(&["checkout", "v1", s(&back)]).ok();
    assert_eq!(
        std::fs::read(back.join("init.sh")).unwrap(),
        std::fs::read(inputs().join("pipeline/v1/init.sh")).unwrap()
    );
    assert_eq!(
        std::fs::read(back.join("rewind.pulled.tfstate")).unwrap(),
        pulled("v1", states)
    );
    // a directory plan of the same: release 2's directory with release
    // 2's state, back to release 1's directory
    let p = run_with_stdin(
        &t,
        &[
            "plan",
            "--detailed-exitcode",
            "--from",
            "infra",
            "--to",
            s(&inputs().join("pipeline/v1")),
            "--state",
            "-",
            "--var-file",
            "infra/prod.tfvars",
        ],
        &pulled("v3", states),
    );
    assert_eq!(p.code, 2, "{}{}", p.stdout, p.stderr);
    assert!(
        p.stdout.contains("terraform_data.web[1] will be updated"),
        "{}",
        p.stdout
    );
}

#[test]
fn pipeline_with_remote_state_var_file_and_file_reads() {
    pipeline_through(&inputs());
}

#[test]
fn a_state_of_another_lineage_is_flagged() {
    let t = Scratch::new("inputs-lineage");
    t.run(&["init"]).ok();
    let dir = inputs().join("pipeline/v1");
    let args = [
        "snapshot",
        s(&dir),
        "--env",
        "prod",
        "--state",
        "-",
        "--var",
        "db_password=x",
    ];
    run_with_stdin(&t, &args, &pulled("v1", &inputs())).ok();
    // the same deployment later: no flag
    let r = run_with_stdin(&t, &args, &pulled("v2", &inputs())).ok();
    assert!(!r.stderr.contains("lineage"), "{}", r.stderr);
    let mut other: serde_json::Value = serde_json::from_slice(&pulled("v2", &inputs())).unwrap();
    other["lineage"] = "0b2a6f4e-1111-2222-3333-444455556666".into();
    let r = run_with_stdin(&t, &args, other.to_string().as_bytes()).ok();
    assert!(
        r.stderr
            .contains("lineage 0b2a6f4e-1111-2222-3333-444455556666 differs from"),
        "{}",
        r.stderr
    );
    let show = t.run(&["show", "prod"]).ok();
    assert!(show.stdout.contains("lineage changed"), "{}", show.stdout);
}

#[test]
fn bad_states_are_refused_and_nothing_is_stored() {
    let t = Scratch::new("inputs-badstate");
    t.run(&["init"]).ok();
    let dir = inputs().join("pipeline/v1");
    let args = [
        "snapshot",
        s(&dir),
        "--state",
        "-",
        "--var",
        "db_password=x",
    ];
    let cases: [(&[u8], &str); 5] = [
        (
            b"{\n  \"version\": 4,\n  \"serial\": 1,\n  \"lineage\": \"x\",\n  \"resources\": [}\n",
            "(standard input):5:",
        ),
        (
            b"{\"version\": 3, \"serial\": 1, \"lineage\": \"x\", \"modules\": []}",
            "version 3 is not supported",
        ),
        (
            b"{\"version\": 4, \"serial\": 1, \"resources\": []}",
            "no \"lineage\"",
        ),
        (
            b"{\"version\": 4, \"lineage\": \"x\", \"resources\": []}",
            "no \"serial\"",
        ),
        (b"  \n", "standard input is empty"),
    ];
    for (bytes, want) in cases {
        let r = run_with_stdin(&t, &args, bytes);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(want), "want {want:?} in:\n{}", r.stderr);
    }
    // an endless stream on standard input is refused at its first NUL
    // byte, as the same stream given as a path is, not held in memory
    let out = t
        .cmd(&args)
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .expect("run rewind");
    let r = Run::from(out);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("--state -") && r.stderr.contains("NUL byte at offset 0"),
        "{}",
        r.stderr
    );
    let r = t.run(&["snapshot", s(&dir), "--state", "missing.tfstate"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--state missing.tfstate"), "{}", r.stderr);
    let log = t.run(&["log"]).ok();
    assert!(!log.stdout.contains("snapshot"), "{}", log.stdout);
}

/// Terraform's precedence of variable values (recorded from terraform
/// 1.11 in precedence.tfstate): the plan from the directory with the same
/// inputs, against the state Terraform wrote, has nothing to do.
fn precedence_agrees(state: &Path) {
    let t = Scratch::new("inputs-precedence");
    let dir = inputs().join("precedence");
    // the deployment's current configuration gives the probe another
    // input: the plan back to `dir` has nothing to do only if rewind
    // evaluates `dir`'s input to what Terraform stored
    let before = t.path("before");
    copy_dir(&dir, &before);
    let main = std::fs::read_to_string(before.join("main.tf"))
        .unwrap()
        .replace(
            "resource \"terraform_data\" \"probe\" {\n  count = var.n\n  input = {",
            "locals {\n  unused = {",
        )
        + "\nresource \"terraform_data\" \"probe\" {\n  count = var.n\n  input = \"before\"\n}\n";
    std::fs::write(before.join("main.tf"), main).unwrap();
    let vars = inputs().join("vars");
    let (first, last) = (vars.join("first.tfvars"), vars.join("last.tfvars.json"));
    let args = |env_vars: bool, workspace: &str| -> Vec<String> {
        let mut a: Vec<String> = [
            "--format",
            "json",
            "plan",
            "--detailed-exitcode",
            "--from",
            s(&before),
            "--to",
            s(&dir),
            "--state",
            s(state),
            "--var-file",
            s(&first),
            "--var",
            "g=cli",
            "--var-file",
            s(&last),
            "--var",
            "f=cli",
            "--workspace",
            workspace,
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        if env_vars {
            a.push("--env-vars".into());
        }
        a
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let mut c = t.cmd(&a);
        c.env("TF_VAR_a", "env")
            .env("TF_VAR_e", "env")
            .env("TF_VAR_n", "2")
            .env("TF_VAR_l", "[\"x\", \"y\"]")
            .env("TF_VAR_s", "\"quoted\"");
        Run::from(c.output().unwrap())
    };
    let same = run(args(true, "staging"));
    assert!(
        same.stdout.contains("\"from_state\": true"),
        "{}",
        same.stdout
    );
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    // without TF_VAR_ values, or in another workspace, values differ
    let no_env = run(args(false, "staging"));
    assert_ne!(no_env.code, 0, "{}", no_env.stdout);
    let other = run(args(true, "default"));
    assert_eq!(other.code, 2, "{}{}", other.stdout, other.stderr);
    assert!(other.stdout.contains("\"update\""), "{}", other.stdout);
}

#[test]
fn variable_precedence_and_workspace_agree_with_terraform() {
    precedence_agrees(&inputs().join("precedence.tfstate"));
}

#[test]
fn var_errors_name_the_variable() {
    let t = Scratch::new("inputs-varerr");
    let dir = inputs().join("precedence");
    let r = t.run(&["graph", s(&dir), "--var", "nope=1", "--var", "s=x"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("--var nope") && r.stderr.contains("undeclared"),
        "{}",
        r.stderr
    );
    let r = t.run(&["graph", s(&dir), "--var", "n=[1,"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--var n"), "{}", r.stderr);
    let r = t.run(&["graph", s(&dir), "--var", "justaname"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("NAME=VALUE"), "{}", r.stderr);
    std::fs::write(t.path("bad.tfvars"), "a = \"x\"\nb = [\n").unwrap();
    let r = t.run(&["graph", s(&dir), "--var-file", "bad.tfvars"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("bad.tfvars:"), "{}", r.stderr);
    let r = t.run(&["graph", s(&dir), "--workspace", "a/b"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("workspace"), "{}", r.stderr);
}

/// The plan from `ref:base` to the directory `infra`, as Terraform's
/// JSON plan, with `extra` arguments.
fn terraform_json_plan(t: &Scratch, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "plan",
        "--from",
        "ref:base",
        "--to",
        "infra",
        "--format",
        "terraform-json",
    ];
    args.extend_from_slice(extra);
    t.run(&args).ok().json()
}

/// `--var` and `TF_VAR_` values of `number` and `bool` variables are
/// strings converted to the type, as Terraform reads them (checked with
/// terraform 1.11: `-var n=three`, `n=1+1`, `n=null`, `on=yes`, `on=TRUE`
/// and a bare word in a variable file are its errors; `on=1`, `on=0`,
/// `n=2e0` its values), never the variable's default in their place.
#[test]
fn primitive_vars_convert_as_terraform_converts_them() {
    let t = Scratch::new("inputs-primitive");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("infra")).unwrap();
    std::fs::create_dir_all(t.path("empty")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "variable \"n\" {\n  type    = number\n  default = 1\n}\n\
         variable \"on\" {\n  type    = bool\n  default = false\n}\n\
         variable \"l\" {\n  type    = list(string)\n  default = []\n}\n\
         resource \"terraform_data\" \"p\" {\n  count = var.n\n  input = { on = var.on, l = var.l }\n}\n",
    )
    .unwrap();
    for (var, want) in [
        ("n=three", "a number is required"),
        ("n=1+1", "a number is required"),
        ("n=null", "a number is required"),
        ("n=0x10", "a number is required"),
        ("on=yes", "a bool is required"),
        ("on=TRUE", "use lowercase"),
        ("l=[a]", "Variables not allowed"),
        ("l=[upper(\"a\")]", "Function calls not allowed"),
        // a secret given in the wrong form is not repeated in the error
        ("n=hunter2", "a number is required"),
        ("l=[hunter2]", "Variables not allowed"),
        ("l=[\"a\" hunter2]", "--var l"),
    ] {
        let r = t.run(&["snapshot", "infra", "--var", var]);
        assert_eq!(r.code, 1, "--var {var}: {}{}", r.stdout, r.stderr);
        let name = var.split('=').next().unwrap();
        assert!(
            r.stderr.contains(&format!("--var {name}")) && r.stderr.contains(want),
            "--var {var}: want {want:?} in\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    }
    let mut c = t.cmd(&["snapshot", "infra", "--env-vars"]);
    let r = Run::from(c.env("TF_VAR_n", "three").output().unwrap());
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("TF_VAR_n"), "{}", r.stderr);
    std::fs::write(t.path("bare.tfvars"), "n = three\n").unwrap();
    let r = t.run(&["snapshot", "infra", "--var-file", "bare.tfvars"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("bare.tfvars:1:5") && r.stderr.contains("Variables not allowed"),
        "{}",
        r.stderr
    );
    assert!(t.run(&["log"]).ok().stdout.trim().is_empty());
    // the values Terraform takes
    t.run(&["snapshot", "empty", "--env", "base", "--allow-empty"])
        .ok();
    let p = terraform_json_plan(
        &t,
        &[
            "--var",
            "n=2e0",
            "--var",
            "on=1",
            "--var",
            "l=[for x in [\"a\"] : \"${x}-b\"]",
        ],
    );
    let changes = p["resource_changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{p}");
    assert_eq!(
        changes[0]["change"]["after"]["input"],
        serde_json::json!({"on": true, "l": ["a-b"]}),
        "{p}"
    );
}

#[test]
fn workspace_comes_from_the_environment_file_and_is_recorded() {
    let t = Scratch::new("inputs-workspace");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("infra/.terraform")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "resource \"terraform_data\" \"web\" {\n  count = terraform.workspace == \"prod\" ? 3 : 1\n  input = terraform.workspace\n}\n",
    )
    .unwrap();
    std::fs::write(t.path("infra/.terraform/environment"), "prod").unwrap();
    t.run(&["snapshot", "infra", "--tag", "prod3"]).ok();
    let show = t.run(&["show", "prod3"]).ok();
    assert!(show.stdout.contains("workspace:   prod"), "{}", show.stdout);
    t.run(&["snapshot", "infra", "--tag", "dev1", "--workspace", "dev"])
        .ok();
    // the snapshot's own workspace decides its instances
    let p = t.run(&[
        "--format",
        "json",
        "plan",
        "--detailed-exitcode",
        "--from",
        "prod3",
        "--to",
        "dev1",
    ]);
    assert_eq!(p.code, 2, "{}{}", p.stdout, p.stderr);
    let j = p.json();
    let deletes: Vec<&str> = j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["actions"] == serde_json::json!(["delete"]))
        .map(|c| c["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        deletes,
        ["terraform_data.web[1]", "terraform_data.web[2]"],
        "{}",
        p.stdout
    );
}

/// A one-instance state of `terraform_data.NAME` with `input` = `value`.
fn one_state(names: &[&str], value: &str, lineage: &str) -> String {
    let resources: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            serde_json::json!({
                "mode": "managed", "type": "terraform_data", "name": n,
                "provider": "provider[\"terraform.io/builtin/terraform\"]",
                "instances": [{"schema_version": 0, "attributes": {
                    "id": n, "input": {"value": value, "type": "string"},
                    "output": {"value": value, "type": "string"}, "triggers_replace": null},
                    "sensitive_attributes": []}]
            })
        })
        .collect();
    serde_json::json!({"version": 4, "terraform_version": "1.11.4", "serial": 1,
        "lineage": lineage, "outputs": {}, "resources": resources})
    .to_string()
}

/// The directory's state is the one Terraform's local backend reads for
/// the workspace: `terraform.tfstate.d/NAME/terraform.tfstate` for a
/// workspace other than `default` (never the default's
/// `terraform.tfstate` beside it), the backend's `path` when it sets one
/// (checked with terraform 1.11: `TF_WORKSPACE=dev terraform plan
/// -destroy` destroys the dev state's objects only).
#[test]
fn the_state_is_the_workspaces() {
    let t = Scratch::new("inputs-ws-state");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("ws/terraform.tfstate.d/dev")).unwrap();
    std::fs::create_dir_all(t.path("bk")).unwrap();
    std::fs::write(
        t.path("ws/main.tf"),
        "resource \"terraform_data\" \"x\" {\n  input = \"a\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        t.path("ws/terraform.tfstate"),
        one_state(&["x", "only_in_default"], "DEFAULT-WS", "l-default"),
    )
    .unwrap();
    std::fs::write(
        t.path("ws/terraform.tfstate.d/dev/terraform.tfstate"),
        one_state(&["x"], "DEV-WS", "l-dev"),
    )
    .unwrap();
    std::fs::write(
        t.path("bk/main.tf"),
        "terraform {\n  backend \"local\" {\n    path = \"custom.tfstate\"\n  }\n}\nresource \"terraform_data\" \"x\" {\n  input = \"a\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        t.path("bk/terraform.tfstate"),
        one_state(&["x"], "STALE", "l-stale"),
    )
    .unwrap();
    std::fs::write(
        t.path("bk/custom.tfstate"),
        one_state(&["x"], "CUSTOM", "l-custom"),
    )
    .unwrap();
    for (args, lineage) in [
        (
            vec!["snapshot", "ws", "--tag", "dev", "--workspace", "dev"],
            "l-dev",
        ),
        (vec!["snapshot", "ws", "--tag", "default-ws"], "l-default"),
        (vec!["snapshot", "bk", "--tag", "bk"], "l-custom"),
    ] {
        let tag = args[3];
        t.run(&args).ok();
        let j = t.run(&["--format", "json", "show", tag]).ok().json();
        assert_eq!(j["state"]["lineage"], lineage, "{tag}: {j}");
    }
    // a workspace with no state of its own has none, and says so
    let r = t
        .run(&["snapshot", "ws", "--tag", "qa", "--workspace", "qa"])
        .ok();
    assert!(
        r.stderr.contains(
            "workspace \"qa\" keeps its state in terraform.tfstate.d/qa/terraform.tfstate"
        ),
        "{}",
        r.stderr
    );
    let j = t.run(&["--format", "json", "show", "qa"]).ok().json();
    assert!(j["state"].is_null(), "{j}");
}

#[test]
fn empty_directories_are_refused() {
    let t = Scratch::new("inputs-empty");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("infar")).unwrap();
    std::fs::write(t.path("infar/README.md"), "typo").unwrap();
    let r = t.run(&["snapshot", "infar", "--env", "prod"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr.contains("no Terraform configuration"),
        "{}",
        r.stderr
    );
    assert!(t.run(&["log"]).ok().stdout.trim().is_empty());
    let r = t.run(&["snapshot", "infar", "--allow-empty"]).ok();
    assert!(r.stdout.contains("snapshot"), "{}", r.stdout);
    let r = t.run(&[
        "diff",
        "--detailed-exitcode",
        "infar",
        s(&inputs().join("pipeline/v1")),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("no Terraform configuration"),
        "{}",
        r.stderr
    );
}

#[test]
fn files_read_outside_the_tree_or_dynamically_are_reported() {
    let t = Scratch::new("inputs-reads");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("infra/templates")).unwrap();
    std::fs::write(t.path("outside.txt"), "x").unwrap();
    std::fs::write(t.path("infra/templates/a.json.tpl"), "{\"v\": \"${v}\"}").unwrap();
    std::fs::write(t.path("infra/templates/b.yaml"), "b: 1").unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        r#"variable "name" { default = "x.sh" }
resource "terraform_data" "a" {
  input = {
    outside = file("${path.module}/../outside.txt")
    dynamic = file(var.name)
    policy  = templatefile("${path.root}/templates/a.json.tpl", { v = 1 })
    all     = [for f in fileset(path.module, "templates/*.yaml") : filesha256(f)]
  }
}
"#,
    )
    .unwrap();
    let r = t.run(&["snapshot", "infra", "--tag", "one"]).ok();
    assert!(
        r.stderr.contains("outside the snapshot's directory tree"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("file(var.name)"), "{}", r.stderr);
    let back = t.path("restored");
    t.run(&["checkout", "one", s(&back)]).ok();
    assert!(back.join("templates/a.json.tpl").is_file());
    assert!(back.join("templates/b.yaml").is_file());
    // a template change alone is a change of the attribute reading it
    std::fs::write(t.path("infra/templates/b.yaml"), "b: 2").unwrap();
    let d = t.run(&["diff", "--detailed-exitcode", "one", "infra"]);
    assert_eq!(d.code, 2, "{}{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("input.all: \"templates/b.yaml (content"),
        "{}",
        d.stdout
    );
}

/// A configuration that reads a file outside its tree (`../shared`, a
/// symbolic link leading out) is planned, as terraform 1.11 plans it,
/// from the directory and from its snapshot: the read is a value rewind
/// cannot see, the same for the same call, and a note says so.
#[cfg(unix)]
#[test]
fn reads_outside_the_tree_are_planned_with_a_note() {
    let t = Scratch::new("inputs-outside-plan");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("shared")).unwrap();
    std::fs::create_dir_all(t.path("infra")).unwrap();
    std::fs::create_dir_all(t.path("empty")).unwrap();
    std::fs::write(t.path("shared/policy.json"), "{\"Version\":\"2012-10-17\"}").unwrap();
    std::os::unix::fs::symlink("../shared/policy.json", t.path("infra/link.json")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = file(\"${path.module}/../shared/policy.json\")\n}\n\
         resource \"terraform_data\" \"b\" {\n  input = filesha256(\"link.json\")\n}\n\
         resource \"terraform_data\" \"c\" {\n  input = fileexists(\"../shared/policy.json\")\n}\n",
    )
    .unwrap();
    t.run(&["snapshot", "empty", "--env", "base", "--allow-empty"])
        .ok();
    let r = t.run(&["snapshot", "infra", "--env", "prod"]).ok();
    assert!(
        r.stderr.contains("outside the snapshot's directory tree"),
        "{}",
        r.stderr
    );
    for to in ["prod", "infra"] {
        let p = t.run(&["--format", "json", "plan", "--from", "ref:base", "--to", to]);
        assert_eq!(p.code, 0, "--to {to}: {}{}", p.stdout, p.stderr);
        let j = p.json();
        assert_eq!(j["changes"].as_array().unwrap().len(), 3, "{j}");
        let notes = j["notes"].to_string();
        for func in ["file()", "filesha256()", "fileexists()"] {
            assert!(
                notes.contains(&format!("function {func} reads")) && notes.contains("outside"),
                "--to {to}: {func} in {notes}"
            );
        }
    }
    // the same reads on both sides: no change
    let p = t.run(&[
        "plan",
        "--detailed-exitcode",
        "--from",
        "prod",
        "--to",
        "infra",
    ]);
    assert_eq!(p.code, 0, "{}{}", p.stdout, p.stderr);
}

/// A file the configuration reads that is there but cannot be read (no
/// permission, or not a regular file) is read again by the next
/// snapshot: nothing in the directory's stats would tell when it becomes
/// readable, so such a snapshot is not the directory's "unchanged" last.
#[cfg(unix)]
#[test]
fn an_unreadable_file_read_by_the_configuration_is_tried_again() {
    let t = Scratch::new("inputs-unreadable");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("infra")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = file(\"cfg.txt\")\n}\n",
    )
    .unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(t.path("infra/cfg.txt"))
        .status()
        .expect("mkfifo");
    assert!(fifo.success());
    for _ in 0..2 {
        let r = t.run(&["snapshot", "infra"]).ok();
        assert!(
            r.stderr
                .contains("\"cfg.txt\", which is not a readable file"),
            "{}",
            r.stderr
        );
        assert!(!r.stdout.contains("unchanged"), "{}", r.stdout);
    }
}

/// `fileset` over a tree holding a link back into itself follows it as
/// far as the system follows links, as Terraform does, instead of
/// growing until memory runs out.
#[cfg(unix)]
#[test]
fn fileset_over_a_link_loop_ends() {
    let t = Scratch::new("inputs-fileset-loop");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("infra/sub")).unwrap();
    std::fs::write(t.path("infra/sub/a.txt"), "a").unwrap();
    std::os::unix::fs::symlink(".", t.path("infra/loop")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "resource \"terraform_data\" \"b\" {\n  input = length(fileset(path.module, \"**\"))\n}\n",
    )
    .unwrap();
    t.run(&["snapshot", "infra", "--env", "base"]).ok();
    // the snapshot lists what the directory lists: main.tf and sub/a.txt,
    // through 0 to 40 links (terraform 1.11 counts the same)
    let j = terraform_json_plan(&t, &[]);
    let change = &j["resource_changes"][0]["change"];
    assert_eq!(change["actions"], serde_json::json!(["no-op"]), "{j}");
    assert_eq!(change["after"]["input"], 82, "{j}");
}

#[test]
fn opentofu_files_replace_their_terraform_twins() {
    let t = Scratch::new("inputs-tofu");
    std::fs::create_dir_all(t.path("infra")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = \"terraform\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        t.path("infra/main.tofu"),
        "resource \"terraform_data\" \"a\" {\n  input = \"tofu\"\n}\nresource \"terraform_data\" \"b\" {}\n",
    )
    .unwrap();
    std::fs::write(
        t.path("infra/b_override.tofu.json"),
        "{\"resource\": {\"terraform_data\": {\"b\": {\"input\": \"overridden\"}}}}",
    )
    .unwrap();
    // (an override file not recognized would declare terraform_data.b a
    // second time: an error)
    let g = t.run(&["--format", "json", "graph", "infra"]).ok().json();
    let nodes = g["nodes"].as_array().unwrap();
    let input_of = |addr: &str| {
        nodes
            .iter()
            .find(|n| n["address"] == addr)
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    assert!(input_of("terraform_data.a").contains("main.tofu"), "{g}");
    assert!(input_of("terraform_data.b").contains("main.tofu"), "{g}");
}

#[test]
fn modules_from_a_module_cache() {
    let t = Scratch::new("inputs-modules");
    std::fs::create_dir_all(t.path("infra")).unwrap();
    std::fs::create_dir_all(t.path("cache/net")).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "module \"net\" {\n  source  = \"acme/net/aws\"\n  version = \"1.2.0\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        t.path("cache/net/main.tf"),
        "resource \"terraform_data\" \"vpc\" {}\n",
    )
    .unwrap();
    std::fs::write(
        t.path("cache/modules.json"),
        r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"net","Source":"registry.terraform.io/acme/net/aws","Version":"1.2.0","Dir":".terraform/modules/net"}]}"#,
    )
    .unwrap();
    let without = t.run(&["--format", "json", "graph", "infra"]).ok();
    assert!(!without.stdout.contains("module.net.terraform_data.vpc"));
    let with = t
        .run(&["--format", "json", "graph", "infra", "--modules", "cache"])
        .ok();
    assert!(
        with.stdout.contains("module.net.terraform_data.vpc"),
        "{}",
        with.stdout
    );
    // read from the cache, which joins the snapshot's tree
    assert!(
        with.stdout.contains("\"file\": \"cache/net/main.tf\""),
        "{}",
        with.stdout
    );
    let r = t.run(&["graph", "infra", "--modules", "nowhere"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("module cache"), "{}", r.stderr);
}

/// Terraform on this machine: records the fixtures' states afresh and
/// checks rewind against them.
fn record_fresh() -> PathBuf {
    let out = std::env::temp_dir().join(format!("rewind-inputs-oracle-{}", std::process::id()));
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/record-inputs-oracle.sh");
    let st = std::process::Command::new(script)
        .arg(&out)
        .status()
        .expect("scripts/record-inputs-oracle.sh runs (it needs terraform on the PATH)");
    assert!(st.success(), "recording with terraform failed");
    out
}

#[test]
#[ignore = "needs terraform: run by .ci/run"]
fn terraform_agrees_on_precedence_workspace_and_the_pipeline() {
    let fresh = record_fresh();
    precedence_agrees(&fresh.join("precedence.tfstate"));
    pipeline_through(&fresh);
    let _ = std::fs::remove_dir_all(&fresh);
}

/// A file read whole (`file`, `filebase64`) is as large as the file: a
/// 31 MB bundle, 41 MB as base64, is past what one evaluation may build
/// (5 million units, 40 MB of text) but is no runaway, and plans; text
/// built from it by the evaluation still counts.
#[test]
fn large_files_read_whole_are_planned() {
    let t = Scratch::new("inputs-large-file");
    std::fs::create_dir_all(t.path("infra")).unwrap();
    std::fs::create_dir_all(t.path("empty")).unwrap();
    std::fs::write(t.path("empty/main.tf"), "terraform {}\n").unwrap();
    std::fs::write(t.path("infra/bundle.bin"), vec![0u8; 31 << 20]).unwrap();
    std::fs::write(
        t.path("infra/main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = substr(filebase64(\"bundle.bin\"), 0, 8)\n}\n",
    )
    .unwrap();
    let p = t.run(&[
        "plan",
        "--from",
        "empty",
        "--to",
        "infra",
        "--format",
        "terraform-json",
    ]);
    assert_eq!(p.code, 0, "{}", p.stderr);
    let j = p.json();
    assert_eq!(
        j["resource_changes"][0]["change"]["after"]["input"], "AAAAAAAA",
        "{j}"
    );
    // joined twice, it is built by the evaluation and counts
    std::fs::write(
        t.path("infra/main.tf"),
        "locals {\n  b = filebase64(\"bundle.bin\")\n}\nresource \"terraform_data\" \"a\" {\n  input = length(join(\"\", [local.b, local.b]))\n}\n",
    )
    .unwrap();
    let p = t.run(&["plan", "--from", "empty", "--to", "infra"]);
    assert_eq!(p.code, 1, "{}{}", p.stdout, p.stderr);
    assert!(p.stderr.contains("Evaluation limit"), "{}", p.stderr);
}
