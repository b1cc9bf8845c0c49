//! `plan --format terraform-json` against whole plans Terraform 1.11
//! wrote (`fixtures/oracle/tfjson`, scripts/record-tfjson-oracle.py),
//! field by field, and read by a Rego policy as OPA/conftest would.

use std::path::{Path, PathBuf};

use serde_json::{json, Value as J};

use crate::common::{fixtures, s, Run, Scratch};

/// What `terraform show -json` writes that rewind does not, and why; the
/// comparison skips exactly these top-level fields.
const NOT_WRITTEN: &[(&str, &str)] = &[
    (
        "terraform_version",
        "rewind is not Terraform; Terraform omits it when empty too",
    ),
    (
        "variables",
        "root variable values: rewind plans from them but does not list them",
    ),
    ("planned_values", "the state after apply, left out"),
    (
        "prior_state",
        "the state as read: the snapshot's state file itself",
    ),
    (
        "configuration",
        "Terraform's configuration representation (expressions, schemas)",
    ),
    (
        "relevant_attributes",
        "the attributes that drifted resources' changes depend on: rewind plans without refresh",
    ),
    ("timestamp", "the time of the plan"),
    ("checks", "check block results: rewind does not run checks"),
];

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures().join("oracle/tfjson"))
        .expect("fixtures/oracle/tfjson")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    assert!(out.len() >= 7, "{out:?}");
    out
}

fn read_json(p: &Path) -> J {
    serde_json::from_slice(&std::fs::read(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn terraform_json(t: &Scratch, case: &Path, extra: &[&str]) -> J {
    terraform_json_run(t, case, extra).ok().json()
}

/// `rewind plan` of a case in terraform-json, as run.
fn terraform_json_run(t: &Scratch, case: &Path, extra: &[&str]) -> Run {
    let (current, state, target) = (
        case.join("current"),
        case.join("current.tfstate"),
        case.join("target"),
    );
    let mut args = vec![
        "plan",
        "--from",
        s(&current),
        "--state",
        s(&state),
        "--to",
        s(&target),
        "--format",
        "terraform-json",
    ];
    args.extend(extra);
    t.run(&args)
}

/// Where Terraform marks a value sensitive (`true`), rewind must too, at
/// the same place or above it: rewind may mark more (what the
/// configuration knows to be secret, such as a `terraform_data`'s
/// `output` copied from a sensitive `input`), never less.
fn covers(ours: &J, theirs: &J, path: &str, out: &mut Vec<String>) {
    if *ours == J::Bool(true) {
        return;
    }
    match theirs {
        J::Bool(true) => out.push(format!(
            "{path}: Terraform marks it sensitive, rewind {ours}"
        )),
        J::Object(m) => {
            for (k, v) in m {
                covers(
                    ours.get(k).unwrap_or(&J::Bool(false)),
                    v,
                    &format!("{path}.{k}"),
                    out,
                );
            }
        }
        J::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                covers(
                    ours.get(i).unwrap_or(&J::Bool(false)),
                    v,
                    &format!("{path}[{i}]"),
                    out,
                );
            }
        }
        _ => {}
    }
}

fn by_address(plan: &J) -> std::collections::BTreeMap<String, J> {
    plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .map(|rc| {
            let deposed = rc.get("deposed").and_then(J::as_str).unwrap_or("");
            (
                format!("{} {deposed}", rc["address"].as_str().unwrap()),
                rc.clone(),
            )
        })
        .collect()
}

/// Every difference between Terraform's plan and rewind's, besides the
/// fields in [`NOT_WRITTEN`] and the sensitivity rewind may add.
fn differences(theirs: &J, ours: &J) -> Vec<String> {
    let mut out = Vec::new();
    let top: Vec<&String> = theirs.as_object().unwrap().keys().collect();
    for k in top {
        if NOT_WRITTEN.iter().any(|(n, _)| n == k)
            || k == "resource_changes"
            || k == "output_changes"
        {
            continue;
        }
        if theirs[k] != ours[k] {
            out.push(format!("{k}: Terraform {} rewind {}", theirs[k], ours[k]));
        }
    }
    for k in ours.as_object().unwrap().keys() {
        if theirs.get(k).is_none() {
            out.push(format!("{k}: written by rewind only"));
        }
    }
    let (t, o) = (by_address(theirs), by_address(ours));
    for a in t.keys().chain(o.keys()) {
        let (Some(tc), Some(oc)) = (t.get(a), o.get(a)) else {
            out.push(format!(
                "{a}: only in {}",
                if t.contains_key(a) {
                    "Terraform's plan"
                } else {
                    "rewind's"
                }
            ));
            continue;
        };
        compare_change(a, tc, oc, &mut out);
    }
    let empty = json!({});
    let (to, oo) = (
        theirs.get("output_changes").unwrap_or(&empty),
        ours.get("output_changes").unwrap_or(&empty),
    );
    for name in to
        .as_object()
        .unwrap()
        .keys()
        .chain(oo.as_object().unwrap().keys())
    {
        match (to.get(name), oo.get(name)) {
            (Some(t), Some(o)) => compare_values(&format!("output.{name}"), t, o, &mut out),
            _ => out.push(format!("output {name}: in one plan only")),
        }
    }
    out.sort();
    out.dedup();
    out
}

fn compare_change(a: &str, t: &J, o: &J, out: &mut Vec<String>) {
    let keys = |j: &J| -> Vec<String> { j.as_object().unwrap().keys().cloned().collect() };
    if keys(t) != keys(o) {
        out.push(format!("{a}: fields {:?} vs {:?}", keys(t), keys(o)));
    }
    for k in [
        "address",
        "module_address",
        "mode",
        "type",
        "name",
        "index",
        "provider_name",
        "previous_address",
        "deposed",
        "action_reason",
    ] {
        if t.get(k) != o.get(k) {
            out.push(format!(
                "{a}: {k}: Terraform {:?} rewind {:?}",
                t.get(k),
                o.get(k)
            ));
        }
    }
    compare_values(a, &t["change"], &o["change"], out);
}

fn compare_values(a: &str, t: &J, o: &J, out: &mut Vec<String>) {
    for k in [
        "actions",
        "before",
        "after",
        "after_unknown",
        "replace_paths",
        "importing",
    ] {
        if t.get(k) != o.get(k) {
            out.push(format!(
                "{a}: change.{k}: Terraform {} rewind {}",
                t.get(k).unwrap_or(&J::Null),
                o.get(k).unwrap_or(&J::Null)
            ));
        }
    }
    for k in ["before_sensitive", "after_sensitive"] {
        covers(&o[k], &t[k], &format!("{a}: change.{k}"), out);
    }
}

/// Sensitive values are `null` unless asked for; the marks stay.
fn redacted(v: &J, marks: &J) -> bool {
    match (marks, v) {
        (J::Bool(true), v) => v.is_null(),
        (J::Object(m), J::Object(vm)) => m
            .iter()
            .all(|(k, mk)| redacted(vm.get(k).unwrap_or(&J::Null), mk)),
        (J::Array(ms), J::Array(vs)) => ms.iter().zip(vs).all(|(mk, x)| redacted(x, mk)),
        _ => true,
    }
}

#[test]
fn terraform_json_agrees_with_terraform_field_by_field() {
    let t = Scratch::new("tfjson-oracle");
    let mut failures = Vec::new();
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let theirs = read_json(&case.join("plan.json"));
        assert_eq!(theirs["terraform_version"], "1.11.4", "{name}");
        // Terraform writes the values in the clear: compare with them shown
        let ours = terraform_json(&t, &case, &["--show-sensitive"]);
        for d in differences(&theirs, &ours) {
            failures.push(format!("{name}: {d}"));
        }
        // without --show-sensitive, every marked value is null
        let hidden = terraform_json(&t, &case, &[]);
        for rc in hidden["resource_changes"].as_array().unwrap() {
            let c = &rc["change"];
            assert!(
                redacted(&c["before"], &c["before_sensitive"])
                    && redacted(&c["after"], &c["after_sensitive"]),
                "{name}: {} shows a sensitive value: {c}",
                rc["address"]
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The cases cover what the format must carry.
#[test]
fn terraform_json_cases_cover_the_format() {
    let all: Vec<J> = cases()
        .iter()
        .map(|c| read_json(&c.join("plan.json")))
        .collect();
    let changes: Vec<&J> = all
        .iter()
        .flat_map(|p| p["resource_changes"].as_array().unwrap())
        .collect();
    let has = |f: &dyn Fn(&J) -> bool| changes.iter().any(|c| f(c));
    let actions = |c: &J| c["change"]["actions"].clone();
    assert!(has(&|c| actions(c) == json!(["update"])));
    assert!(has(
        &|c| actions(c) == json!(["delete", "create"]) && c["change"]["replace_paths"].is_array()
    ));
    assert!(has(&|c| actions(c) == json!(["create", "delete"])));
    assert!(has(&|c| actions(c) == json!(["create"])));
    assert!(has(&|c| actions(c) == json!(["delete"])));
    assert!(has(&|c| c.get("previous_address").is_some()));
    assert!(has(&|c| c["change"].get("importing").is_some()));
    assert!(has(&|c| c["index"].is_number()) && has(&|c| c["index"].is_string()));
    assert!(has(&|c| c.get("module_address").is_some()));
    assert!(has(&|c| c["change"]["after_sensitive"]
        .to_string()
        .contains("true")));
    assert!(has(&|c| c["change"]["after_unknown"]
        .to_string()
        .contains("true")));
    assert!(all.iter().any(|p| p.get("output_changes").is_some()));
}

/// The policy of tests/e2e/policy/revert.rego, evaluated with regorus
/// (Microsoft's OPA-compatible Rego interpreter) on one plan document:
/// `data.rewind.revert.RULE` for each rule, as JSON.
fn policy(plan: &J) -> J {
    let mut engine = regorus::Engine::new();
    engine
        .add_policy(
            "revert.rego".into(),
            include_str!("policy/revert.rego").into(),
        )
        .expect("the policy parses");
    engine.set_input(regorus::Value::from_json_str(&plan.to_string()).expect("plan JSON"));
    let mut out = serde_json::Map::new();
    for rule in [
        "deny",
        "warn",
        "summary",
        "known_after_apply",
        "sensitive_after",
    ] {
        let v = engine
            .eval_rule(format!("data.rewind.revert.{rule}"))
            .unwrap_or_else(|e| panic!("{rule}: {e}"));
        out.insert(
            rule.into(),
            serde_json::from_str(&v.to_json_str().unwrap()).unwrap(),
        );
    }
    J::Object(out)
}

/// A policy written for Terraform's plans decides the same on rewind's
/// revert plan as on Terraform's own plan of the same revert.
#[test]
fn a_rego_policy_reads_the_revert_plan_as_it_reads_terraforms() {
    let t = Scratch::new("tfjson-policy");
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let theirs = policy(&read_json(&case.join("plan.json")));
        let ours = policy(&terraform_json(&t, &case, &[]));
        assert_eq!(ours, theirs, "{name}");
    }
}

/// The shop's revert from release 4 to release 1 destroys a database
/// replica: the policy denies it, counts the replacements, and a plan
/// with nothing to do passes.
#[test]
fn a_rego_policy_denies_destroying_a_database_in_a_revert() {
    let t = Scratch::new("tfjson-shop");
    let plan = |from: u32, to: u32| {
        t.run(&[
            "plan",
            "--from",
            s(&crate::common::shop(from)),
            "--to",
            s(&crate::common::shop(to)),
            "--format",
            "terraform-json",
        ])
        .ok()
        .json()
    };
    let verdict = policy(&plan(4, 1));
    assert_eq!(
        verdict["deny"],
        json!(["module.database.aws_db_instance.replica[0] would be destroyed (delete_because_no_resource_config)"]),
        "{verdict}"
    );
    assert_eq!(verdict["summary"]["replace"], 2, "{verdict}");
    assert_eq!(verdict["summary"]["destroy"], 2, "{verdict}");
    assert!(
        verdict["warn"][0]
            .as_str()
            .unwrap()
            .contains("module.compute.aws_lb_target_group.app"),
        "{verdict}"
    );
    let none = policy(&plan(1, 1));
    assert_eq!(none["deny"], json!([]), "{none}");
    assert_eq!(none["warn"], json!([]), "{none}");
    assert_eq!(none["summary"]["add"], 0);
    assert!(
        none["summary"]["unchanged"].as_u64().unwrap() > 20,
        "{none}"
    );
}

/// The plan is written a resource change at a time: the text is exactly
/// the pretty-printed document, numbers with every digit Terraform
/// writes (09-numbers: 1e309, thirty-digit integers, 1e-400, 1/7).
#[test]
fn terraform_json_is_written_whole_and_exact() {
    let t = Scratch::new("tfjson-stream");
    for case in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let run = terraform_json_run(&t, &case, &[]).ok();
        let pretty = serde_json::to_string_pretty(&run.json()).unwrap() + "\n";
        assert_eq!(run.stdout, pretty, "{name}");
        if name == "09-numbers" {
            let exact = format!("1{}", "0".repeat(309));
            assert!(run.stdout.contains(&format!(" {exact},\n")), "{name}");
            assert!(run.stdout.contains(&format!("-{exact}")), "{name}");
            assert!(run.stdout.contains("0.142857142857142857142857"), "{name}");
        }
    }
}
