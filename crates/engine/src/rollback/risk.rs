//! The risk policy of a rollback, and what data it would cost.

use rewind_model::{Model, Value};
use rewind_odb::DataAtRisk;
use rewind_plan::{Plan, RiskKind};

/// What a rollback may do without a person saying so explicitly.
#[derive(Clone, Debug, Default)]
pub struct RiskPolicy {
    /// At most this many objects destroyed (deletes and replaces count).
    pub max_destroy: Option<usize>,
    /// Destroy or replace data-bearing objects (refused by default).
    pub allow_data_loss: bool,
}

/// Why the policy refuses a plan, one reason per line (empty: allowed).
pub fn policy_violations(plan: &Plan, policy: &RiskPolicy) -> Vec<String> {
    let mut out = Vec::new();
    for b in &plan.blocked {
        out.push(format!(
            "{b}: lifecycle.prevent_destroy forbids destroying it (Terraform would refuse the plan)"
        ));
    }
    let destroys = plan.changes.iter().filter(|c| c.destroys()).count();
    if let Some(max) = policy.max_destroy {
        if destroys > max {
            out.push(format!(
                "the plan destroys {destroys} object{} and --max-destroy is {max}",
                if destroys == 1 { "" } else { "s" }
            ));
        }
    }
    if !policy.allow_data_loss {
        for c in &plan.changes {
            for r in c.risks.iter().filter(|r| r.kind == RiskKind::DataLoss) {
                out.push(format!(
                    "{}: {} (allow it with --allow-data-loss)",
                    c.address, r.message
                ));
            }
        }
    }
    out
}

/// Every data-bearing object the plan destroys or replaces, with the
/// settings in the current state that decide whether its data can come
/// back, and what that would take.
pub fn data_at_risk(plan: &Plan, current: &Model) -> Vec<DataAtRisk> {
    let mut out = Vec::new();
    for c in plan.changes.iter().filter(|c| c.destroys()) {
        let Some(db) = rewind_diff::knowledge::data_bearing(&c.type_) else {
            continue;
        };
        let inst = current.instance(&c.address.to_string());
        let attr = |path: &str| -> Option<String> {
            let node = inst?;
            if node.sensitive.iter().any(|p| p.to_string() == path) {
                return Some("(sensitive value)".into());
            }
            let mut v: &Value = &node.body;
            for part in path.split('.') {
                v = match v {
                    Value::List(items) => items.first()?.get(part)?,
                    other => other.get(part)?,
                };
            }
            show(v)
        };
        let mut settings = Vec::new();
        for (path, role) in &db.settings {
            let value = attr(path).unwrap_or_else(|| "(not set)".into());
            settings.push(format!("{path} = {value} ({role})"));
        }
        // snapshot ids the state records, whatever the table says
        if let Some(Value::Map(m)) = inst.map(|n| &*n.body) {
            for (k, v) in m.iter() {
                if k.contains("snapshot") && !db.settings.iter().any(|(p, _)| p == k) {
                    if let Some(s) = show(v) {
                        settings.push(format!("{k} = {s} (found in state)"));
                    }
                }
            }
        }
        out.push(DataAtRisk {
            address: c.address.to_string(),
            type_: c.type_.clone(),
            holds: db.holds.clone(),
            severity: db.severity.clone(),
            recovery: recovery(db, &attr),
            settings,
        });
    }
    out
}

/// A scalar rendered for a person (`None`: null or not a scalar).
fn show(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.clone()),
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(format!("{s:?}")),
        Value::List(l) if l.is_empty() => None,
        Value::List(l) => Some(format!("[{} items]", l.len())),
        Value::Map(_) => Some("{…}".into()),
        Value::Expr(e) => Some(e.to_string()),
    }
}

/// What restoring the data would take, from the settings in state.
fn recovery(
    db: &rewind_diff::knowledge::DataBearing,
    attr: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut ways = Vec::new();
    let truthy = |v: &Option<String>| {
        v.as_deref()
            .is_some_and(|s| !matches!(s, "false" | "0" | "\"0\"" | "\"false\""))
    };
    for g in db.settings_of("guard") {
        if truthy(&attr(g)) {
            ways.push(format!(
                "{g} is on: Terraform's destroy will fail until it is turned off"
            ));
        }
    }
    let finals: Vec<&str> = db.settings_of("final_snapshot").collect();
    if !finals.is_empty() {
        let skip = finals
            .iter()
            .find(|p| p.starts_with("skip"))
            .map(|p| truthy(&attr(p)));
        let ident = finals
            .iter()
            .filter(|p| p.contains("identifier") || p.ends_with("snapshot_name"))
            .find_map(|p| attr(p).map(|v| format!("{p} = {v}")));
        match (skip, ident) {
            (Some(true), _) => ways.push(
                "no final snapshot is taken (skip_final_snapshot = true): the data is gone with the object".into(),
            ),
            (_, Some(id)) => ways.push(format!(
                "a final snapshot is taken on destroy ({id}): restore it into the new object (snapshot_identifier)"
            )),
            (Some(false), None) => ways.push(
                "skip_final_snapshot = false but no final_snapshot_identifier: Terraform's destroy will fail".into(),
            ),
            (None, None) => {}
        }
    }
    // backups count when a retention is above zero (a backup window or
    // tag copying alone keeps nothing), or a recovery switch is on
    let backup: Vec<&str> = db.settings_of("backup").collect();
    let retention: Vec<&str> = backup
        .iter()
        .copied()
        .filter(|p| p.contains("retention"))
        .collect();
    let deciding: Vec<&str> = if retention.is_empty() {
        backup
            .iter()
            .copied()
            .filter(|p| !p.contains("window") && !p.starts_with("copy_tags"))
            .collect()
    } else {
        retention
    };
    let backups: Vec<String> = deciding
        .iter()
        .filter_map(|p| {
            attr(p)
                .filter(|v| truthy(&Some(v.clone())))
                .map(|v| format!("{p} = {v}"))
        })
        .collect();
    if !backups.is_empty() {
        ways.push(format!(
            "backups are kept ({}): a point-in-time restore into a new object, if the provider keeps them after the destroy",
            backups.join(", ")
        ));
    } else if !deciding.is_empty() {
        ways.push(format!(
            "no backups are kept ({})",
            deciding
                .iter()
                .map(|p| format!("{p} = {}", attr(p).unwrap_or_else(|| "(not set)".into())))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for p in db.settings_of("restore_from") {
        if let Some(v) = attr(p) {
            ways.push(format!(
                "it was created from {p} = {v}: the same source can seed the new object"
            ));
        }
    }
    if ways.is_empty() {
        format!(
            "nothing in the state restores it: {} is lost unless it is backed up outside Terraform",
            db.holds
        )
    } else {
        ways.join("; ")
    }
}
