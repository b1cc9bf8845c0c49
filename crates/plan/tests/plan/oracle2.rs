//! The second oracle (scripts/record-plan-oracle2.py): modules nested two
//! deep, count/for_each on resources and module calls, moved/removed
//! blocks, lifecycle rules, locals and typed variables, and the plans
//! Terraform refuses, random (`NNN-profile`) and hand-written
//! (`hNN-profile`), each planned twice: with the current side's
//! `current.tfstate` and without it.
//!
//! One test checks them all and prints the agreement per class (the
//! profile in `case.json`) and mode. A disagreement fails the test unless
//! `fixtures/oracle/plan2-known.txt` lists it with a reason; an entry whose
//! case agrees fails it too, so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rewind_plan::{Plan, PlanError, RiskKind};

use super::{cases, disagreements, fixtures, plan_case};

fn case_json(case: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(case.join("case.json")).unwrap())
        .unwrap_or_else(|e| panic!("{}: case.json: {e}", case.display()))
}

fn strings(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// `module.a["k"].terraform_data.x[0]` → `module.a.terraform_data.x`.
fn unkeyed(s: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn mode_name(with_state: bool) -> &'static str {
    if with_state {
        "with state"
    } else {
        "without state"
    }
}

/// Every create of an object the current release forgot (a `removed`
/// block with `destroy = false`, listed as `forgotten` in case.json) must be
/// flagged, with an `import` block proposed.
fn forgotten_disagreements(case: &Path, p: &Plan, with_state: bool) -> Vec<String> {
    let name = case.file_name().unwrap().to_string_lossy();
    let forgotten = strings(&case_json(case)["forgotten"]);
    let mut out = Vec::new();
    for c in &p.changes {
        let config = c.address.resource.config_address();
        if c.actions != [rewind_plan::Action::Create]
            || !forgotten
                .iter()
                .any(|f| config == *f || config.starts_with(&format!("{f}.")))
        {
            continue;
        }
        let flagged = c
            .risks
            .iter()
            .any(|r| r.kind == RiskKind::Forgotten && r.message.contains("import {"));
        if !flagged {
            out.push(format!(
                "{name} ({}): {} re-creates an object the current release forgot, without flagging it or proposing an import",
                mode_name(with_state),
                c.address
            ));
        }
    }
    out
}

/// How a plan2-errors case disagrees with Terraform's refusal (None when
/// rewind refuses it the same way). `case.json` says which refusal it is
/// (`refusal`) and what Terraform named (`refused`: instances it will not
/// destroy, or the blocks whose count/for_each it cannot know).
fn refusal_disagreement(case: &Path, with_state: bool) -> Option<String> {
    let name = format!(
        "{} ({})",
        case.file_name().unwrap().to_string_lossy(),
        mode_name(with_state)
    );
    let meta = case_json(case);
    let kind = meta["refusal"].as_str().unwrap_or("other").to_string();
    let named = strings(&meta["refused"]);
    let result = match plan_case(case, with_state) {
        Err(e) => return Some(format!("{name}: Terraform refuses ({kind}), {e}")),
        Ok(r) => r,
    };
    match (kind.as_str(), result) {
        ("cycle", Err(PlanError::Cycle(path))) => {
            if path.len() >= 3 && path.first() == path.last() {
                None
            } else {
                Some(format!("{name}: a cycle that is not closed: {path:?}"))
            }
        }
        ("prevent_destroy", Ok(p)) if !p.blocked.is_empty() => {
            // Terraform does not always name every instance it refuses to
            // destroy (it stops at the first errors of a module instance):
            // every instance it names must be blocked, and every blocked
            // one belong to a resource it names.
            let ours: BTreeSet<String> = p.blocked.iter().map(|a| a.to_string()).collect();
            let resources: BTreeSet<String> = named.iter().map(|n| unkeyed(n)).collect();
            if named.is_subset(&ours) && ours.iter().all(|o| resources.contains(&unkeyed(o))) {
                None
            } else {
                Some(format!(
                    "{name}: prevent_destroy blocks differ: terraform {named:?}, rewind {ours:?}"
                ))
            }
        }
        ("unknown_count" | "unknown_for_each", Ok(p)) if !p.unknown_instances.is_empty() => {
            let ours: BTreeSet<String> = p.unknown_instances.iter().map(|s| unkeyed(s)).collect();
            let missing: Vec<&String> = named.iter().filter(|n| !ours.contains(*n)).collect();
            if missing.is_empty() {
                None
            } else {
                Some(format!(
                    "{name}: Terraform cannot know the instances of {missing:?}; rewind reports {ours:?}"
                ))
            }
        }
        ("condition" | "invalid", Err(PlanError::Invalid(errors))) => {
            // every rule Terraform found false, or configuration it
            // refused (`terraform validate`), by the address the case names
            // and the summary of Terraform's error
            let summaries = strings(&meta["summaries"]);
            let named_ok = named.iter().all(|a| {
                errors
                    .iter()
                    .any(|e| e.starts_with(&format!("{a} (")) || e.starts_with(&format!("{a}: ")))
            });
            let said_ok = summaries.iter().all(|s| errors.iter().any(|e| e.contains(s.as_str())));
            if named_ok && said_ok && errors.len() == named.len() {
                None
            } else {
                Some(format!(
                    "{name}: Terraform refuses {named:?} ({summaries:?}); rewind: {errors:?}"
                ))
            }
        }
        ("other", Err(_)) => None,
        (_, Err(e)) => Some(format!("{name}: Terraform refuses ({kind}), rewind: {e}")),
        (_, Ok(p)) => Some(format!(
            "{name}: Terraform refuses ({kind}{}), rewind plans {} changes in {} steps (blocked {:?}, unknown instances {:?})",
            if named.is_empty() {
                String::new()
            } else {
                format!(": {}", named.iter().cloned().collect::<Vec<_>>().join(", "))
            },
            p.changes.len(),
            p.steps.len(),
            p.blocked,
            p.unknown_instances
        )),
    }
}

/// The reviewed list of known disagreements: `CASE MODE: reason` lines,
/// MODE being `state`, `no-state` or `both`; `#` starts a comment.
fn known() -> BTreeMap<(String, bool), String> {
    let path = fixtures().join("plan2-known.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (head, reason) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{}:{}: no `: reason`", path.display(), n + 1));
        let mut words = head.split_whitespace();
        let (Some(case), Some(mode), None) = (words.next(), words.next(), words.next()) else {
            panic!("{}:{}: want `CASE MODE: reason`", path.display(), n + 1)
        };
        assert!(
            !reason.trim().is_empty(),
            "{}:{}: an entry needs a reason",
            path.display(),
            n + 1
        );
        let modes: &[bool] = match mode {
            "state" => &[true],
            "no-state" => &[false],
            "both" => &[true, false],
            other => panic!("{}:{}: mode {other:?}", path.display(), n + 1),
        };
        for &m in modes {
            out.insert((case.to_string(), m), reason.trim().to_string());
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    cases: usize,
    agree: [usize; 2],
}

/// Every plan2 case, in both modes: the same actions, import ids and previous
/// addresses as Terraform, every ordering constraint of its apply graph,
/// forgotten objects flagged, and Terraform's refusals.
#[test]
fn plan2_agrees_with_terraform() {
    let fresh = std::env::var_os("REWIND_PLAN2_ORACLE").is_some();
    let plans = cases("plan2");
    let errors = cases("plan2-errors");
    if !fresh {
        assert!(plans.len() >= 150, "{} cases in plan2", plans.len());
        assert!(errors.len() >= 8, "{} cases in plan2-errors", errors.len());
    }
    assert!(!plans.is_empty(), "no oracle cases");
    let mut known = if fresh { BTreeMap::new() } else { known() };
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut unlisted = Vec::new();
    let mut listed = Vec::new();
    for case in plans.iter().chain(&errors) {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let class = case_json(case)["profile"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        let t = tally.entry(class).or_default();
        t.cases += 1;
        let is_error = errors.contains(case);
        for with_state in [true, false] {
            let mut d = if is_error {
                refusal_disagreement(case, with_state).into_iter().collect()
            } else {
                let mut d = disagreements(case, with_state);
                if d.is_empty() && case_json(case).get("forgotten").is_some() {
                    if let Ok(Ok(p)) = plan_case(case, with_state) {
                        d.extend(forgotten_disagreements(case, &p, with_state));
                    }
                }
                d
            };
            if d.len() > 12 {
                let more = d.len() - 12;
                d.truncate(12);
                d.push(format!("    ... and {more} more"));
            }
            let reason = known.remove(&(name.clone(), with_state));
            match (d.is_empty(), reason) {
                (true, None) => t.agree[usize::from(!with_state)] += 1,
                (true, Some(_)) => unlisted.push(format!(
                    "{name} ({}): agrees now; remove it from plan2-known.txt",
                    mode_name(with_state)
                )),
                (false, Some(reason)) => {
                    listed.push(format!("{name} ({}): {reason}", mode_name(with_state)))
                }
                (false, None) => unlisted.push(d.join("\n")),
            }
        }
    }
    for ((case, with_state), _) in known {
        unlisted.push(format!(
            "plan2-known.txt lists {case} ({}), which is not a case",
            mode_name(with_state)
        ));
    }
    let mut summary = vec![format!(
        "{:<26} {:>5} {:>12} {:>15}",
        "class", "cases", "with state", "without state"
    )];
    let mut total = Tally::default();
    for (class, t) in &tally {
        summary.push(format!(
            "{:<26} {:>5} {:>12} {:>15}",
            class,
            t.cases,
            format!("{}/{}", t.agree[0], t.cases),
            format!("{}/{}", t.agree[1], t.cases)
        ));
        total.cases += t.cases;
        total.agree[0] += t.agree[0];
        total.agree[1] += t.agree[1];
    }
    summary.push(format!(
        "{:<26} {:>5} {:>12} {:>15}",
        "all",
        total.cases,
        format!("{}/{}", total.agree[0], total.cases),
        format!("{}/{}", total.agree[1], total.cases)
    ));
    println!("plan2 agreement with Terraform 1.11 (cases that agree / cases):");
    println!("{}", summary.join("\n"));
    if !listed.is_empty() {
        println!(
            "known disagreements (plan2-known.txt):\n{}",
            listed.join("\n")
        );
    }
    assert!(
        unlisted.is_empty(),
        "{} disagreements with Terraform not in fixtures/oracle/plan2-known.txt:\n{}\n\n{}",
        unlisted.len(),
        unlisted.join("\n"),
        summary.join("\n")
    );
}
