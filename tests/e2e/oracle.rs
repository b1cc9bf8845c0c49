//! `rewind plan` run as a process, the way users and pipelines run it,
//! against every recorded Terraform 1.11 plan (fixtures/oracle): the same
//! actions and previous addresses for every instance, with the current
//! side's state file (`--state`) and without it. The planner's own tests
//! (crates/plan/tests) check the same cases through the library; this
//! checks the path the binary takes (loading, the sensitivity pass, the
//! inputs), which once planned updates the library did not.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{fixtures, Scratch};

type Actions = BTreeMap<String, (Vec<String>, Option<String>)>;

fn key(address: &str, deposed: Option<&str>) -> String {
    match deposed {
        Some(d) => format!("{address} (deposed {d})"),
        None => address.to_string(),
    }
}

/// Terraform's actions, or rewind's (the same JSON shape for what is
/// compared): everything but plain no-ops.
fn actions(changes: &serde_json::Value, prev_field: &str) -> Actions {
    let mut out = Actions::new();
    for c in changes.as_array().into_iter().flatten() {
        let acts_at = if c.get("change").is_some() {
            &c["change"]["actions"]
        } else {
            &c["actions"]
        };
        let acts: Vec<String> = acts_at
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a.as_str().unwrap_or_default().to_string())
            .collect();
        let prev = c[prev_field].as_str().map(str::to_string);
        if acts == ["no-op"] && prev.is_none() {
            continue;
        }
        out.insert(
            key(
                c["address"].as_str().unwrap_or_default(),
                c["deposed"].as_str(),
            ),
            (acts, prev),
        );
    }
    out
}

/// The ways the binary's plan of one case differs from Terraform's.
fn disagreement(t: &Scratch, case: &Path, with_state: bool) -> Option<String> {
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("plan.json")).unwrap()).unwrap();
    let theirs = actions(&plan["resource_changes"], "previous_address");
    let (cur, tgt, state) = (
        case.join("current"),
        case.join("target"),
        case.join("current.tfstate"),
    );
    let mut args = vec![
        "plan",
        "--from",
        cur.to_str().unwrap(),
        "--to",
        tgt.to_str().unwrap(),
        "--format",
        "json",
    ];
    if with_state {
        args.extend(["--state", state.to_str().unwrap()]);
    }
    let r = t.run(&args);
    let name = format!(
        "{}{}",
        case.file_name().unwrap().to_string_lossy(),
        if with_state { "" } else { " (without state)" }
    );
    let Ok(ours) = serde_json::from_str::<serde_json::Value>(&r.stdout) else {
        return Some(format!("{name}: exit {}: {}", r.code, r.stderr));
    };
    let ours = actions(&ours["changes"], "previous_address");
    if ours == theirs {
        return None;
    }
    let diff: Vec<String> = theirs
        .keys()
        .chain(ours.keys())
        .filter(|k| theirs.get(*k) != ours.get(*k))
        .map(|k| {
            format!(
                "    {k}: terraform {:?}, rewind {:?}",
                theirs.get(k),
                ours.get(k)
            )
        })
        .collect();
    Some(format!("{name}:\n{}", diff.join("\n")))
}

#[test]
fn the_binary_plans_every_recorded_case_as_terraform_did() {
    let t = Scratch::new("oracle-cli");
    // the known disagreements of plan2-known.txt: what only a state
    // file holds, tested as accepted by the planner's own tests
    let known =
        std::fs::read_to_string(fixtures().join("oracle/plan2-known.txt")).unwrap_or_default();
    let mut failures = Vec::new();
    let mut count = 0;
    for set in ["plan", "plan2"] {
        let mut cases: Vec<_> = std::fs::read_dir(fixtures().join("oracle").join(set))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("plan.json").is_file())
            .collect();
        cases.sort();
        for case in &cases {
            for with_state in [true, false] {
                count += 1;
                let name = case.file_name().unwrap().to_string_lossy().into_owned();
                if !with_state && known.lines().any(|l| l.starts_with(&format!("{name} "))) {
                    continue;
                }
                failures.extend(disagreement(&t, case, with_state));
            }
        }
    }
    assert!(count >= 500, "{count} plans");
    assert!(
        failures.is_empty(),
        "{} of {count} plans differ from Terraform's:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
