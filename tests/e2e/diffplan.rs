//! `rewind diff` and `rewind plan` end to end: exit codes, formats, the
//! documented JSON schemas, the store fast path, secrets.

use crate::common::*;
use crate::schema::validate;

pub fn schema(name: &str) -> serde_json::Value {
    let p = fixtures().join(format!("../docs/schemas/{name}.schema.json"));
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

#[test]
fn diff_exit_codes_formats_and_schema() {
    let t = Scratch::new("diff");
    // as Terraform and git: changes are not a failure unless asked
    let r = t.run(&["diff", s(&shop(1)), s(&shop(2))]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for flag in ["--detailed-exitcode", "--exit-code"] {
        let d = t.run(&["diff", s(&shop(1)), s(&shop(2)), flag]);
        assert_eq!(d.code, 2, "{flag}: {}", d.stderr);
        let d = t.run(&["diff", s(&shop(4)), s(&shop(5)), flag]);
        assert_eq!(d.code, 0, "{flag}: {}", d.stderr);
    }
    assert!(
        r.stdout.contains("+ aws_cloudwatch_metric_alarm.cpu_high"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("+ ingress[1]:"), "{}", r.stdout);
    let same = t.run(&["diff", s(&shop(4)), s(&shop(5))]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    let hcl = fixtures().join("hcl");
    assert_eq!(
        t.run(&["diff", s(&hcl.join("format-a")), s(&hcl.join("format-b"))])
            .code,
        0
    );
    let bad = t.run(&["diff", s(&shop(1)), "nope"]);
    assert_eq!(bad.code, 1);

    let sch = schema("diff");
    for (a, b, extra) in [
        (1, 2, vec![]),
        (2, 3, vec!["--files"]),
        (3, 4, vec!["--show-sensitive"]),
        (4, 5, vec![]),
    ] {
        let (pa, pb) = (shop(a), shop(b));
        let mut args = vec!["diff", s(&pa), s(&pb), "--format", "json"];
        args.extend(extra);
        let doc = t.run(&args).json();
        let errors = validate(&sch, &doc);
        assert!(errors.is_empty(), "v{a}→v{b}: {errors:?}");
    }
    let md = t
        .run(&["diff", s(&shop(2)), s(&shop(3)), "--format", "markdown"])
        .stdout;
    assert!(
        md.starts_with("### rewind diff:")
            && md.contains("| `-/+` | `aws_cloudwatch_metric_alarm.asg_cpu_high` |")
            && md.contains("<details>"),
        "{md}"
    );
    let stat = t.run(&["diff", s(&shop(3)), s(&shop(4)), "--stat"]).stdout;
    let first = stat
        .lines()
        .find(|l| l.contains("removed"))
        .unwrap_or_default()
        .to_string();
    assert!(
        stat.contains("aws_efs_mount_target") && first.contains("removed"),
        "{stat}"
    );
    // filters
    let only = t
        .run(&[
            "diff",
            s(&shop(3)),
            s(&shop(4)),
            "--only",
            "destroys",
            "--format",
            "json",
        ])
        .json();
    assert!(
        only["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["change"] == "removed"),
        "{only}"
    );
    let typed = t
        .run(&[
            "diff",
            s(&shop(1)),
            s(&shop(2)),
            "--type",
            "aws_security_group",
            "--format",
            "json",
        ])
        .json();
    assert_eq!(typed["changes"].as_array().unwrap().len(), 1);
    let addr = t
        .run(&[
            "diff",
            s(&shop(1)),
            s(&shop(2)),
            "--address",
            "module.database.*",
            "--format",
            "json",
        ])
        .json();
    assert!(addr["changes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["address"]
            .as_str()
            .unwrap()
            .starts_with("module.database.")));
    let none = t.run(&["diff", s(&shop(1)), s(&shop(2)), "--type", "aws_nothing"]);
    assert_eq!(none.code, 0, "a filter that keeps nothing exits 0");
}

#[test]
fn diff_of_snapshots_equals_diff_of_directories() {
    let t = Scratch::new("fastdiff");
    t.run(&["init"]).ok();
    t.snapshot_releases(4);
    for (a, b) in [(1, 2), (2, 3), (3, 2), (3, 4), (4, 1)] {
        let stored = t
            .run(&[
                "diff",
                &format!("v{a}"),
                &format!("v{b}"),
                "--format",
                "json",
            ])
            .json();
        let dirs = t
            .run(&["diff", s(&shop(a)), s(&shop(b)), "--format", "json"])
            .json();
        assert_eq!(stored["changes"], dirs["changes"], "v{a}→v{b}");
        assert_eq!(stored["instances"], dirs["instances"], "v{a}→v{b}");
        assert_eq!(stored["from"]["tags"][0], format!("v{a}"));
        // mixed: a snapshot and a directory
        let mixed = t
            .run(&["diff", &format!("v{a}"), s(&shop(b)), "--format", "json"])
            .json();
        assert_eq!(mixed["changes"], dirs["changes"]);
    }
    assert_eq!(
        t.run(&["diff", "prod~1", "prod", "--detailed-exitcode"])
            .code,
        2
    );
    assert_eq!(
        t.run(&["diff", "v4", s(&shop(4)), "--files"]).code,
        0,
        "nothing changed, files included"
    );
}

/// Every secret of the shop fixture: sensitive variable defaults and the
/// sensitive attributes of every state.
fn shop_secrets() -> Vec<String> {
    let mut out = Vec::new();
    for v in 1..=5 {
        let loaded = rewind_free_load(&shop(v));
        out.extend(loaded);
    }
    out.sort();
    out.dedup();
    assert!(out.iter().any(|s| s.contains("Bootstrap-Only")), "{out:?}");
    out
}

/// Secret strings of a directory, read straight from its files.
fn rewind_free_load(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let vars = std::fs::read_to_string(dir.join("variables.tf")).unwrap();
    for block in vars.split("variable \"").skip(1) {
        if block.contains("sensitive   = true") || block.contains("sensitive = true") {
            if let Some(d) = block
                .lines()
                .find(|l| l.trim_start().starts_with("default"))
            {
                if let Some(v) = d.split('"').nth(1) {
                    out.push(v.to_string());
                }
            }
        }
    }
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("terraform.tfstate")).unwrap()).unwrap();
    for r in state["resources"].as_array().unwrap() {
        for i in r["instances"].as_array().unwrap() {
            for path in i["sensitive_attributes"].as_array().into_iter().flatten() {
                let mut v = &i["attributes"];
                for step in path.as_array().unwrap() {
                    v = &v[step["value"].as_str().unwrap_or_default()];
                }
                if let Some(s) = v.as_str() {
                    if s.len() >= 6 {
                        out.push(s.to_string());
                    }
                }
            }
        }
    }
    for (_, o) in state["outputs"].as_object().into_iter().flatten() {
        if o["sensitive"] == true {
            if let Some(s) = o["value"].as_str() {
                out.push(s.to_string());
            }
        }
    }
    out
}

#[test]
fn secrets_never_reach_any_output() {
    let t = Scratch::new("secrets");
    t.run(&["init"]).ok();
    for v in [3, 4] {
        t.run(&[
            "snapshot",
            s(&shop(v)),
            "--env",
            "prod",
            "--tag",
            &format!("v{v}"),
        ])
        .ok();
    }
    let secrets = shop_secrets();
    let mut outputs = Vec::new();
    for fmt in ["text", "json", "markdown"] {
        for (a, b) in [
            (s(&shop(3)).to_string(), s(&shop(4)).to_string()),
            ("v3".into(), "v4".into()),
            ("v4".into(), "v3".into()),
        ] {
            for extra in [vec![], vec!["--files"], vec!["--stat"]] {
                let mut args = vec!["diff", a.as_str(), b.as_str(), "--format", fmt];
                args.extend(extra);
                let r = t.run(&args);
                outputs.push((format!("{args:?}"), r.stdout + &r.stderr));
            }
        }
        for (from, to) in [("v4", "v3"), ("v3", "v4")] {
            let r = t.run(&["plan", "--from", from, "--to", to, "--format", fmt]);
            outputs.push((format!("plan {from} {to} {fmt}"), r.stdout + &r.stderr));
        }
    }
    for (what, text) in [
        ("show", t.run(&["show", "v4"]).stdout),
        ("log", t.run(&["log"]).stdout),
        ("graph", t.run(&["graph", "v4", "--format", "json"]).stdout),
    ] {
        outputs.push((what.to_string(), text));
    }
    for (what, text) in &outputs {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{what} prints the secret {secret:?}"
            );
        }
    }
    assert!(outputs
        .iter()
        .any(|(_, t)| t.contains("(sensitive value changed)")));
    // asked for, they are shown: the check above can fail
    let shown = t.run(&["diff", "v3", "v4", "--show-sensitive"]).stdout;
    assert!(
        secrets.iter().any(|s| shown.contains(s.as_str())),
        "{shown}"
    );
}

#[test]
fn plan_from_snapshots_and_directories() {
    let t = Scratch::new("plan");
    t.run(&["init"]).ok();
    for v in 1..=4 {
        t.run(&[
            "snapshot",
            s(&shop(v)),
            "--env",
            "prod",
            "--tag",
            &format!("v{v}"),
        ])
        .ok();
    }
    // --from defaults to the environment's latest snapshot (v4)
    let r = t.run(&["plan", "--to", "v3", "--detailed-exitcode"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("module.storage.aws_efs_file_system.shared will be created"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("wave 0")
            && r.stdout
                .contains("Plan: 5 to add, 1 to change, 0 to destroy"),
        "{}",
        r.stdout
    );
    let stored = t.run(&["plan", "--to", "v3", "--format", "json"]).json();
    let dirs = t
        .run(&[
            "plan",
            "--from",
            s(&shop(4)),
            "--to",
            s(&shop(3)),
            "--format",
            "json",
        ])
        .json();
    assert_eq!(stored["changes"], dirs["changes"]);
    assert_eq!(stored["steps"], dirs["steps"]);
    assert_eq!(stored["format_version"], "1");
    assert_eq!(stored["from"]["tags"][0], "v4");
    assert_eq!(stored["to"]["tags"][0], "v3");
    let sch = schema("plan");
    for doc in [&stored, &dirs] {
        let errors = validate(&sch, doc);
        assert!(errors.is_empty(), "{errors:?}");
    }
    // the graph document too
    let graph = t.run(&["graph", "v3", "--format", "json"]).ok().json();
    let errors = validate(&schema("graph"), &graph);
    assert!(errors.is_empty(), "{errors:?}");
    // steps: every wait points backwards, waves increase
    let steps = stored["steps"].as_array().unwrap();
    for st in steps {
        for a in st["after"].as_array().unwrap() {
            let a = a.as_u64().unwrap() as usize;
            assert!(a < st["index"].as_u64().unwrap() as usize);
            assert!(steps[a]["wave"].as_u64() < st["wave"].as_u64());
        }
    }
    // nothing to do
    assert_eq!(t.run(&["plan", "--to", "v4"]).code, 0);
    // markdown and dot
    let md = t.run(&["plan", "--to", "v1", "--format", "markdown"]);
    assert_eq!(md.code, 0);
    assert!(
        md.stdout.starts_with("### rewind plan:") && md.stdout.contains("data loss")
            || md.stdout.contains("destroys"),
        "{}",
        md.stdout
    );
    let dot = t.run(&["plan", "--to", "v1", "--format", "dot"]).stdout;
    assert!(
        dot.starts_with("digraph plan {") && dot.contains("subgraph \"cluster_wave_0\""),
        "{dot}"
    );
    // the data-bearing replica is flagged when going back to v1
    let back = t.run(&["plan", "--to", "v1", "--format", "json"]).json();
    let replica = back["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "module.database.aws_db_instance.replica[0]")
        .expect("replica change");
    assert_eq!(replica["actions"], serde_json::json!(["delete"]));
    assert_eq!(replica["risks"][0]["kind"], "data_loss");
}

/// Terraform refuses to destroy or replace an object whose *target*
/// configuration sets prevent_destroy (checked with terraform 1.11: a
/// triggers_replace change under prevent_destroy is "Error: Instance cannot
/// be destroyed"), but destroys an object whose block the target no longer
/// has, whatever the current configuration said.
/// Two empty directories of the scratch: the current and the target
/// configuration.
fn cur_and_tgt(t: &Scratch) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cur, tgt) = (t.path("cur"), t.path("tgt"));
    std::fs::create_dir_all(&cur).unwrap();
    std::fs::create_dir_all(&tgt).unwrap();
    (cur, tgt)
}

#[test]
fn prevent_destroy_blocks_the_plan() {
    let t = Scratch::new("protect");
    let (cur, tgt) = cur_and_tgt(&t);
    std::fs::write(
        cur.join("main.tf"),
        "resource \"aws_db_instance\" \"main\" {\n  engine = \"postgres\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\nresource \"terraform_data\" \"x\" {\n  input = 1\n  triggers_replace = \"a\"\n}\n",
    )
    .unwrap();
    std::fs::write(
        tgt.join("main.tf"),
        "resource \"terraform_data\" \"x\" {\n  input = 2\n  triggers_replace = \"b\"\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n",
    )
    .unwrap();
    // blocked is not an error (1) and not "changes" (2): exit code 3
    let r = t.run(&["plan", "--from", s(&cur), "--to", s(&tgt)]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(
        r.stderr.contains("prevent_destroy") && r.stderr.contains("terraform_data.x"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("Blocked by prevent_destroy"),
        "{}",
        r.stdout
    );
    let ok = t.run(&[
        "plan",
        "--from",
        s(&cur),
        "--to",
        s(&tgt),
        "--allow-destroy-protected",
        "--format",
        "json",
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let j = ok.json();
    let risk_kinds = |address: &str| -> Vec<String> {
        j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == address)
            .unwrap()["risks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap().to_string())
            .collect()
    };
    // the database block is gone from the target: Terraform destroys it
    // (its data with it); rewind says the current release protected it
    let db = risk_kinds("aws_db_instance.main");
    assert!(
        db.contains(&"data_loss".to_string()) && db.contains(&"prevent_destroy".to_string()),
        "{db:?}"
    );
    let x = risk_kinds("terraform_data.x");
    assert!(x.contains(&"prevent_destroy".to_string()), "{x:?}");
    // allowed: nothing is blocked
    assert_eq!(j["blocked"], serde_json::json!([]));
    assert_eq!(j["from_state"], false);
}

/// A target whose validation rule fails (and one with a secret in its
/// message) is refused as `terraform plan` refuses it: exit 1, the rule's
/// message with the variable's file and line, nothing planned, no secret;
/// a failed `check` only warns.
#[test]
fn failed_conditions_refuse_the_plan_and_checks_warn() {
    let t = Scratch::new("conditions");
    let (cur, tgt) = cur_and_tgt(&t);
    std::fs::write(
        cur.join("main.tf"),
        "resource \"terraform_data\" \"app\" {\n  input = 2\n}\n",
    )
    .unwrap();
    let target = |replicas: u32| {
        format!(
            "variable \"replicas\" {{\n  default = {replicas}\n  validation {{\n    condition     = var.replicas <= 3\n    error_message = \"At most 3 replicas, not ${{var.replicas}}.\"\n  }}\n}}\n\nvariable \"admin_password\" {{\n  default = \"swordfish-{replicas}\"\n  validation {{\n    condition     = length(var.admin_password) > 12\n    error_message = \"Too short: ${{var.admin_password}}\"\n  }}\n}}\n\nresource \"terraform_data\" \"app\" {{\n  input = var.replicas\n}}\n\ncheck \"small\" {{\n  assert {{\n    condition     = var.replicas < 2\n    error_message = \"More than one replica.\"\n  }}\n}}\n"
        )
    };
    std::fs::write(tgt.join("main.tf"), target(5)).unwrap();
    for args in [
        &[][..],
        &["--detailed-exitcode"][..],
        &["--format", "json"][..],
    ] {
        let mut a = vec!["plan", "--from", s(&cur), "--to", s(&tgt)];
        a.extend_from_slice(args);
        let r = t.run(&a);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stdout);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(
            r.stderr.contains("var.replicas (main.tf:1:1): Invalid value for variable: At most 3 replicas, not 5."),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr.contains("var.admin_password (main.tf:9:1): Invalid value for variable: The error message included a sensitive value"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("swordfish"), "{}", r.stderr);
    }
    // rules that hold plan; the failed check is a warning
    std::fs::write(
        tgt.join("main.tf"),
        target(3).replace("swordfish-3", "swordfish-long-enough"),
    )
    .unwrap();
    let r = t.run(&["plan", "--from", s(&cur), "--to", s(&tgt)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("warning: check.small (main.tf:21:1): Check block assertion failed: More than one replica."),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("swordfish"), "{}", r.stdout);
}

/// An evaluation error names where the failing value is written, as
/// Terraform's `on main.tf line 8` does: the file, line and column of the
/// argument, nested block or key (in `.tf.json` also a list element), and
/// its path, planned from directories and from snapshots alike (whose
/// files are read back from the store).
#[test]
fn evaluation_errors_point_at_the_value_that_fails() {
    let t = Scratch::new("errpos");
    let (cur, tgt) = cur_and_tgt(&t);
    std::fs::write(
        cur.join("main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n",
    )
    .unwrap();
    let modules = tgt.join("modules/app");
    std::fs::create_dir_all(&modules).unwrap();
    std::fs::write(
        tgt.join("main.tf"),
        "variable \"n\" {\n  default = \"abc\"\n}\n\nresource \"terraform_data\" \"a\" {\n  input = {\n    name  = \"x\"\n    count = tonumber(var.n)\n  }\n}\n\nmodule \"app\" {\n  source = \"./modules/app\"\n}\n\nmodule \"json\" {\n  source = \"./modules/json\"\n}\n",
    )
    .unwrap();
    // Terraform's JSON syntax: its positions go down to a list element
    let json = tgt.join("modules/json");
    std::fs::create_dir_all(&json).unwrap();
    std::fs::write(
        json.join("main.tf.json"),
        r#"{
  "variable": {"n": {"default": "abc"}},
  "resource": {
    "terraform_data": {
      "j": {
        "input": {
          "name": "x",
          "items": [1, "${tonumber(var.n)}"]
        }
      }
    }
  }
}
"#,
    )
    .unwrap();
    std::fs::write(
        modules.join("main.tf"),
        "locals {\n  ok = 1\n  bad = {\n    deep = [1, 2][5]\n  }\n}\n",
    )
    .unwrap();
    let want = [
        "terraform_data.a (main.tf:8:5, argument input.count): Invalid function argument",
        "module.app.local.bad (modules/app/main.tf:4:5, argument deep): Invalid index",
        "module.json.terraform_data.j (modules/json/main.tf.json:8:24, argument input.items.1): Invalid function argument",
    ];
    let from_dirs = t.run(&["plan", "--from", s(&cur), "--to", s(&tgt)]);
    assert_eq!(from_dirs.code, 1, "{}", from_dirs.stdout);
    for w in want {
        assert!(from_dirs.stderr.contains(w), "{w}\n{}", from_dirs.stderr);
    }
    t.run(&["init"]).ok();
    t.run(&["snapshot", s(&tgt), "--tag", "v1"]).ok();
    t.run(&["snapshot", s(&cur), "--tag", "v2"]).ok();
    // the files moved away: the lines come from the store
    std::fs::remove_dir_all(&tgt).unwrap();
    let from_store = t.run(&["plan", "--from", "v2", "--to", "v1"]);
    assert_eq!(from_store.code, 1, "{}", from_store.stdout);
    for w in want {
        assert!(from_store.stderr.contains(w), "{w}\n{}", from_store.stderr);
    }
}

/// A data source whose `depends_on` has changes pending is read during
/// apply, as Terraform 1.11 plans it (the recorded case
/// `fixtures/oracle/plan2/h44`): a `read` change with Terraform's reason,
/// a `read` step between what it depends on and what reads it, and what
/// reads it updated with a value known after apply.
#[test]
fn a_data_source_depending_on_a_change_is_read_during_apply() {
    let t = Scratch::new("data-read");
    let case = fixtures().join("oracle/plan2/h44-data-read-during-apply");
    let (cur, tgt, state) = (
        case.join("current"),
        case.join("target"),
        case.join("current.tfstate"),
    );
    let r = t.run(&[
        "plan",
        "--from",
        s(&cur),
        "--state",
        s(&state),
        "--to",
        s(&tgt),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let errors = validate(&schema("plan"), &j);
    assert!(errors.is_empty(), "{errors:?}");
    let change = |a: &str| {
        j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["address"] == a)
            .cloned()
            .unwrap_or_default()
    };
    let read = change("data.terraform_remote_state.r");
    assert_eq!(read["actions"], serde_json::json!(["read"]), "{j}");
    assert_eq!(read["action_reason"], "read_because_dependency_pending");
    let b = change("terraform_data.b");
    assert_eq!(b["actions"], serde_json::json!(["update"]), "{j}");
    assert_eq!(b["attributes"][0]["after"], "(known after apply)", "{j}");
    let ops: Vec<String> = j["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            format!(
                "{} {}",
                st["operation"].as_str().unwrap(),
                st["address"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            "update terraform_data.a",
            "read data.terraform_remote_state.r",
            "update terraform_data.b"
        ]
    );
    let text = t.run(&[
        "plan",
        "--from",
        s(&cur),
        "--state",
        s(&state),
        "--to",
        s(&tgt),
    ]);
    assert!(
        text.stdout
            .contains("<= data.terraform_remote_state.r will be read during apply"),
        "{}",
        text.stdout
    );
}

/// The terraform-aws-vpc pattern (v6 → v5): `region = var.region` with a
/// null default on every resource, and a data source's computed attribute
/// read in a template. Terraform replaces nothing: null is the same as
/// absent, and a computed attribute left null in the configuration is the
/// provider's value, not null (rewind used to fail with "Invalid template
/// interpolation value", and before that planned every resource replaced).
#[test]
fn null_arguments_are_absent_and_computed_attributes_are_not_null() {
    let t = Scratch::new("null-absent");
    let (cur, tgt) = (t.path("v6"), t.path("v5"));
    for d in [&cur, &tgt] {
        std::fs::create_dir_all(d).unwrap();
    }
    let common = |region_arg: &str, tag: &str| {
        format!(
            "variable \"region\" {{\n  type    = string\n  default = null\n}}\n\
             data \"aws_region\" \"current\" {{\n{region_arg}}}\n\
             resource \"aws_vpc\" \"this\" {{\n{region_arg}  cidr_block = \"10.0.0.0/16\"\n  tags = {{\n    Name        = \"shop-prod\"\n    Environment = \"prod\"\n    Team        = \"checkout\"\n    CostCenter  = \"{tag}\"\n    Description = \"the production network of the shop, managed by the platform team\"\n  }}\n}}\n\
             resource \"aws_cloudwatch_log_group\" \"flow\" {{\n{region_arg}  name = \"/aws/vpc/${{data.aws_region.current.region}}/flow-logs\"\n}}\n"
        )
    };
    std::fs::write(
        cur.join("main.tf"),
        common("  region = var.region\n", "cc-5310"),
    )
    .unwrap();
    std::fs::write(tgt.join("main.tf"), common("", "cc-4127")).unwrap();
    let r = t.run(&[
        "plan",
        "--from",
        s(&cur),
        "--to",
        s(&tgt),
        "--detailed-exitcode",
    ]);
    assert_eq!(r.code, 2, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{}",
        r.stdout
    );
    // the one change, shown as the key that changed
    assert!(
        r.stdout
            .contains(r#"~ tags = { ~ CostCenter = "cc-5310" -> "cc-4127", 4 unchanged }"#),
        "{}",
        r.stdout
    );
}
