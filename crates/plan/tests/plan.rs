//! Revert plans against Terraform: every recorded oracle case must give
//! the same actions, and our step order must satisfy every ordering
//! constraint of Terraform's apply graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use rewind_model::Model;
use rewind_plan::{plan, Action, Options, Plan};

#[path = "plan/runaway.rs"]
mod runaway;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/oracle")
}

/// The current side: its configuration plus `current.tfstate` (or, with
/// `with_state` false, its configuration alone: rewind then simulates what
/// is deployed from it).
fn load_case(case: &Path, with_state: bool) -> (Model, Model) {
    try_load_case(case, with_state).unwrap_or_else(|e| panic!("{}: {e}", case.display()))
}

fn try_load_case(case: &Path, with_state: bool) -> Result<(Model, Model), String> {
    let opts = rewind_parse::Options::default();
    let mut current = rewind_parse::load(&case.join("current"), &opts)
        .map_err(|e| format!("current: {e}"))?
        .model;
    if with_state {
        let state = std::fs::read(case.join("current.tfstate")).map_err(|e| e.to_string())?;
        let (info, instances) = rewind_parse::state::parse_state("current.tfstate", &state)
            .map_err(|e| format!("current.tfstate: {e:?}"))?;
        current.state = Some(info);
        current.instances = instances;
    }
    let target = rewind_parse::load(&case.join("target"), &opts)
        .map_err(|e| format!("target: {e}"))?
        .model;
    Ok((current, target))
}

/// `plan` on a case, a panic reported as an error (so one case cannot hide
/// the others).
fn plan_case(
    case: &Path,
    with_state: bool,
) -> Result<Result<Plan, rewind_plan::PlanError>, String> {
    let (cur, tgt) = try_load_case(case, with_state)?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        plan(&cur, &tgt, &Options::default())
    }))
    .map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        format!("rewind panicked: {msg}")
    })
}

/// What one instance becomes: its actions, its previous address (a move)
/// and the id it is imported with.
type Actions = BTreeMap<String, (Vec<String>, Option<String>, Option<String>)>;

/// Terraform's non-no-op actions (and moves and imports) by address.
fn terraform_actions(case: &Path) -> Actions {
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("plan.json")).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for rc in plan["resource_changes"].as_array().into_iter().flatten() {
        let actions: Vec<String> = rc["change"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let prev = rc["previous_address"].as_str().map(str::to_string);
        let importing = rc["change"]["importing"]["id"].as_str().map(str::to_string);
        if actions == ["no-op"] && prev.is_none() && importing.is_none() {
            continue;
        }
        let mut addr = rc["address"].as_str().unwrap().to_string();
        if let Some(d) = rc["deposed"].as_str() {
            addr = format!("{addr} (deposed {d})");
        }
        out.insert(addr, (actions, prev, importing));
    }
    out
}

fn our_actions(p: &Plan) -> Actions {
    p.changes
        .iter()
        .map(|c| {
            let mut addr = c.address.to_string();
            if let Some(d) = &c.deposed {
                addr = format!("{addr} (deposed {d})");
            }
            (
                addr,
                (
                    c.actions.iter().map(|a| a.as_str().to_string()).collect(),
                    c.previous_address.as_ref().map(|a| a.to_string()),
                    c.importing.clone(),
                ),
            )
        })
        .collect()
}

/// Operation nodes of apply.dot → the step key we use for them, and the
/// "waits for" relation between operations (through structure nodes).
fn apply_constraints(case: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(case.join("apply.dot")).unwrap();
    let mut graph: HashMap<String, Vec<String>> = HashMap::new();
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some((a, b)) = line.split_once("\" -> \"") {
            let a = a.trim_start_matches('"').replace("\\\"", "\"");
            let b = b.trim_end_matches('"').replace("\\\"", "\"");
            nodes.insert(a.clone());
            nodes.insert(b.clone());
            graph.entry(a).or_default().push(b);
        } else if let Some(rest) = line.strip_prefix('"') {
            if let Some(end) = rest.find("\" [") {
                nodes.insert(rest[..end].replace("\\\"", "\""));
            }
        }
    }
    let op_key = |n: &str| -> Option<String> {
        let n = n.strip_prefix("[root] ")?;
        if n.starts_with("provider[")
            || n == "root"
            || n.ends_with("(expand)")
            || n.ends_with("(close)")
        {
            return None;
        }
        if let Some(a) = n.strip_suffix(" (destroy)") {
            return Some(format!("delete {a}"));
        }
        if let Some(i) = n.find(" (destroy deposed ") {
            return Some(format!("delete {} (deposed)", &n[..i]));
        }
        if let Some(a) = n.strip_suffix(" (forget)") {
            return Some(format!("forget {a}"));
        }
        if n.contains(' ')
            || n.starts_with("module.") && !n.contains("terraform_data")
            || n.starts_with("var.")
            || n.starts_with("local.")
            || n.starts_with("output.")
        {
            return None;
        }
        Some(format!("write {n}"))
    };
    let mut out = Vec::new();
    for n in &nodes {
        let Some(from) = op_key(n) else { continue };
        // every operation reachable from n: n waits for it
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = graph.get(n).into_iter().flatten().collect();
        while let Some(m) = stack.pop() {
            if !seen.insert(m.clone()) {
                continue;
            }
            if let Some(to) = op_key(m) {
                out.push((from.clone(), to));
            }
            stack.extend(graph.get(m).into_iter().flatten());
        }
    }
    out
}

fn step_key(s: &rewind_plan::Step) -> String {
    match (s.operation, s.deposed) {
        (Action::Create | Action::Update | Action::Read, _) => format!("write {}", s.address),
        (Action::Delete, true) => format!("delete {} (deposed)", s.address),
        (op, _) => format!("{} {}", op.as_str(), s.address),
    }
}

/// The cases under `fixtures/oracle/DIR`, or under `$REWIND_PLAN_ORACLE`
/// when set (fresh cases recorded with scripts/record-plan-oracle.py;
/// `$REWIND_PLAN2_ORACLE` for the `plan2` cases of
/// scripts/record-plan-oracle2.py). The errors of `D` are in `D-errors`.
fn cases(dir: &str) -> Vec<PathBuf> {
    let var = if dir.starts_with("plan2") {
        "REWIND_PLAN2_ORACLE"
    } else {
        "REWIND_PLAN_ORACLE"
    };
    let root = match std::env::var_os(var) {
        Some(d) if !dir.ends_with("-errors") => PathBuf::from(d),
        Some(d) => PathBuf::from(format!("{}-errors", PathBuf::from(d).display())),
        None => fixtures().join(dir),
    };
    if !root.is_dir() {
        return Vec::new();
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("current").is_dir())
        .collect();
    v.sort();
    v
}

/// The ways one case disagrees with Terraform (empty when it agrees).
fn disagreements(case: &Path, with_state: bool) -> Vec<String> {
    let name = format!(
        "{}{}",
        case.file_name().unwrap().to_string_lossy(),
        if with_state { "" } else { " (without state)" }
    );
    let mut failures = Vec::new();
    let p = match plan_case(case, with_state) {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return vec![format!("{name}: {e}")],
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let theirs = terraform_actions(case);
    let ours = our_actions(&p);
    if theirs != ours {
        let mut lines = vec![format!("{name}: actions differ")];
        let keys: BTreeSet<&String> = theirs.keys().chain(ours.keys()).collect();
        for k in keys {
            if theirs.get(k) != ours.get(k) {
                let why = p
                    .changes
                    .iter()
                    .find(|c| c.address.to_string() == *k)
                    .map(|c| c.reasons.join("; "))
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                lines.push(format!(
                    "    {k}: terraform {:?}, rewind {:?}{why}",
                    theirs.get(k),
                    ours.get(k)
                ));
            }
        }
        return vec![lines.join("\n")];
    }
    // ordering
    let position: HashMap<String, usize> = p.steps.iter().map(|s| (step_key(s), s.index)).collect();
    for (waiter, waited) in apply_constraints(case) {
        match (position.get(&waiter), position.get(&waited)) {
            (Some(a), Some(b)) if b < a => {}
            (Some(a), Some(b)) => failures.push(format!(
                "{name}: {waiter} (step {a}) must come after {waited} (step {b})"
            )),
            _ => failures.push(format!("{name}: no step for {waiter} or {waited}")),
        }
    }
    for s in &p.steps {
        for &a in &s.after {
            if !(a < s.index && p.steps[a].wave < s.wave) {
                failures.push(format!("{name}: step {} waits for {a}", s.index));
            }
        }
    }
    failures
}

#[test]
fn actions_and_order_agree_with_terraform() {
    let cases = cases("plan");
    assert!(!cases.is_empty(), "no oracle cases found");
    if std::env::var_os("REWIND_PLAN_ORACLE").is_none() {
        assert!(cases.len() >= 40, "{} cases", cases.len());
    }
    let mut failures = Vec::new();
    for case in &cases {
        failures.extend(disagreements(case, true));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Without the current side's state file, rewind simulates what is
/// deployed from the current configuration; the plan must still be
/// Terraform's (which had the state).
#[test]
fn actions_and_order_agree_with_terraform_without_state() {
    let cases = cases("plan");
    assert!(!cases.is_empty(), "no oracle cases found");
    let mut failures = Vec::new();
    for case in &cases {
        failures.extend(disagreements(case, false));
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Plans Terraform itself rejects with a cycle are rejected here too, with
/// the cycle named.
#[test]
fn plans_terraform_rejects_are_cycles_here() {
    let cases = cases("plan-errors");
    if std::env::var_os("REWIND_PLAN_ORACLE").is_none() {
        assert!(!cases.is_empty());
    }
    for case in cases {
        let (cur, tgt) = load_case(&case, true);
        match plan(&cur, &tgt, &Options::default()) {
            Err(rewind_plan::PlanError::Cycle(path)) => {
                assert!(path.len() >= 3, "{}: {path:?}", case.display());
                assert_eq!(path.first(), path.last());
            }
            Err(other) => panic!("{}: not a cycle: {other}", case.display()),
            Ok(p) => panic!(
                "{}: Terraform reports a cycle, rewind ordered {} steps",
                case.display(),
                p.steps.len()
            ),
        }
    }
}

#[path = "plan/oracle2.rs"]
mod oracle2;

#[path = "plan/partial.rs"]
mod partial;

#[path = "plan/expansion.rs"]
mod expansion;

#[path = "plan/marks.rs"]
mod marks;

#[path = "plan/conditions.rs"]
mod conditions;

#[path = "plan/nullable.rs"]
mod nullable;
