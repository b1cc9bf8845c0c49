//! The gate: Terraform's saved plan may destroy, replace or create only
//! what rewind's preview showed. This is the check that the plan a person
//! approved is the plan that runs.

use std::collections::BTreeMap;

use rewind_plan::{Action, Plan};
use serde::Deserialize;

/// One resource instance change of `terraform show -json PLANFILE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformChange {
    /// Terraform address.
    pub address: String,
    /// The address before a move, when Terraform moved it.
    pub previous_address: Option<String>,
    /// The deposed key, for a deposed object.
    pub deposed: Option<String>,
    /// Terraform's actions (`["delete","create"]`, `["no-op"]`, …).
    pub actions: Vec<String>,
    /// The resource type.
    pub type_: String,
}

#[derive(Deserialize)]
struct ShowJson {
    format_version: Option<String>,
    #[serde(default)]
    resource_changes: Vec<ShowChange>,
}

#[derive(Deserialize)]
struct ShowChange {
    address: String,
    #[serde(default)]
    previous_address: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(default, rename = "type")]
    type_: String,
    #[serde(default)]
    deposed: Option<String>,
    change: ShowActions,
}

#[derive(Deserialize)]
struct ShowActions {
    actions: Vec<String>,
}

/// Reads the managed resource changes of `terraform show -json PLANFILE`
/// output (data source reads are left out: they change nothing).
pub fn parse_show_json(bytes: &[u8]) -> Result<Vec<TerraformChange>, String> {
    let doc: ShowJson = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not the JSON of `terraform show -json`: {e} (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    if doc.format_version.is_none() {
        return Err("not the JSON of `terraform show -json`: no format_version".into());
    }
    Ok(doc
        .resource_changes
        .into_iter()
        .filter(|c| c.mode != "data")
        .map(|c| TerraformChange {
            address: c.address,
            previous_address: c.previous_address,
            deposed: c.deposed,
            actions: c.change.actions,
            type_: c.type_,
        })
        .collect())
}

/// How one side treats one object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    None,
    Update,
    Create,
    Delete,
    Replace,
    Forget,
}

impl Effect {
    fn of(actions: &[&str]) -> Effect {
        let has = |a: &str| actions.contains(&a);
        match (has("create"), has("delete")) {
            (true, true) => Effect::Replace,
            (true, false) => Effect::Create,
            (false, true) => Effect::Delete,
            _ if has("update") => Effect::Update,
            _ if has("forget") => Effect::Forget,
            _ => Effect::None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Effect::None => "no change",
            Effect::Update => "update in place",
            Effect::Create => "create",
            Effect::Delete => "destroy",
            Effect::Replace => "replace",
            Effect::Forget => "forget",
        }
    }

    /// Does `self` (Terraform) stay within `preview`?
    fn within(self, preview: Effect) -> bool {
        match self {
            Effect::None | Effect::Update | Effect::Forget => true,
            Effect::Create => matches!(preview, Effect::Create | Effect::Replace),
            Effect::Delete => matches!(preview, Effect::Delete | Effect::Replace),
            Effect::Replace => preview == Effect::Replace,
        }
    }
}

/// One object on which Terraform's plan and the preview disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Terraform address (with ` (deposed KEY)` for a deposed object).
    pub address: String,
    /// What Terraform's plan does (`["delete","create"]`).
    pub terraform: Vec<String>,
    /// What the preview showed (`[]`: nothing).
    pub preview: Vec<String>,
    /// The difference in words.
    pub message: String,
}

/// The gate's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GateVerdict {
    /// Objects Terraform would destroy, replace or create that the
    /// preview did not show: any of these stops the rollback.
    pub refusals: Vec<Difference>,
    /// Other disagreements (updates the preview did not show, destroys
    /// the preview showed that Terraform will not do): reported, not
    /// refused.
    pub notes: Vec<Difference>,
}

impl GateVerdict {
    /// True when nothing stops the rollback.
    pub fn passed(&self) -> bool {
        self.refusals.is_empty()
    }
}

fn key(address: &str, deposed: Option<&str>) -> String {
    match deposed {
        Some(d) => format!("{address} (deposed {d})"),
        None => address.to_string(),
    }
}

/// Compares Terraform's plan with rewind's preview, object by object.
pub fn gate(preview: &Plan, terraform: &[TerraformChange]) -> GateVerdict {
    let mut previewed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &preview.changes {
        let actions: Vec<String> = c.actions.iter().map(|a| a.as_str().to_string()).collect();
        previewed.insert(
            key(
                &c.address.to_string(),
                c.deposed.as_ref().map(|d| d.0.as_str()),
            ),
            actions,
        );
    }
    let mut verdict = GateVerdict::default();
    let mut seen = std::collections::BTreeSet::new();
    for t in terraform {
        let k = key(&t.address, t.deposed.as_deref());
        seen.insert(k.clone());
        let p = previewed.get(&k).cloned().unwrap_or_default();
        let te = Effect::of(&t.actions.iter().map(String::as_str).collect::<Vec<_>>());
        let pe = Effect::of(&p.iter().map(String::as_str).collect::<Vec<_>>());
        if te == pe {
            continue;
        }
        let shown = if p.is_empty() {
            "the preview did not show it".to_string()
        } else {
            format!("the preview showed {}", pe.describe())
        };
        let moved = t
            .previous_address
            .as_deref()
            .map(|p| format!(" (moved from {p})"))
            .unwrap_or_default();
        let d = Difference {
            address: k.clone(),
            terraform: t.actions.clone(),
            preview: p,
            message: format!(
                "Terraform would {}{moved}; {shown}",
                if te == Effect::None {
                    "change nothing"
                } else {
                    te.describe()
                }
            ),
        };
        if te.within(pe) {
            verdict.notes.push(d);
        } else {
            verdict.refusals.push(d);
        }
    }
    for (k, p) in previewed {
        if seen.contains(&k) {
            continue;
        }
        let pe = Effect::of(&p.iter().map(String::as_str).collect::<Vec<_>>());
        if pe == Effect::None {
            continue;
        }
        verdict.notes.push(Difference {
            address: k,
            terraform: Vec::new(),
            preview: p,
            message: format!(
                "the preview showed {}; Terraform's plan does not change it",
                pe.describe()
            ),
        });
    }
    verdict
}

/// The operations of a plan in Terraform's vocabulary, per address (for
/// the record).
pub(crate) fn action_names(actions: &[Action]) -> Vec<String> {
    actions.iter().map(|a| a.as_str().to_string()).collect()
}
