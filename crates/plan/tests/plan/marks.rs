//! A `terraform_data` whose value is only marked sensitive, or no longer,
//! is an update, as Terraform plans it; the secret paths rewind adds by
//! its own rules (a key named like a secret) are no such change. (Not yet
//! as Terraform: a key named like a secret that comes to be marked by a
//! sensitive variable, its value the same, is no change either: README,
//! "Limits worth knowing".)

use rewind_plan::{plan, Options};

use super::runaway::Dir;

/// The state `terraform apply` (1.11.4) wrote for `input` = `{ password =
/// "hunter2-x" }`, with the given `sensitive_attributes`.
fn state(sensitive_attributes: &str) -> String {
    let value =
        r#"{"value": {"password": "hunter2-x"}, "type": ["object", {"password": "string"}]}"#;
    format!(
        r#"{{"version": 4, "terraform_version": "1.11.4", "serial": 3,
  "lineage": "7bbd8553-8547-fc34-6461-70aaafe277b3", "outputs": {{}},
  "resources": [{{"mode": "managed", "type": "terraform_data", "name": "x",
    "provider": "provider[\"terraform.io/builtin/terraform\"]",
    "instances": [{{"schema_version": 0,
      "attributes": {{"id": "d3ad7a7d-1b2e-3a14-a1f8-2ee745d75d30",
        "input": {value}, "output": {value}, "triggers_replace": null}},
      "sensitive_attributes": {sensitive_attributes}}}]}}]}}
"#
    )
}

/// The addresses the plan from `current` (with `state`) to `target`
/// changes, with their actions.
fn changes(name: &str, current: &str, state: &str, target: &str) -> Vec<String> {
    let dir = Dir::new(
        name,
        &[
            ("current/main.tf", current.to_string()),
            ("current/terraform.tfstate", state.to_string()),
            ("target/main.tf", target.to_string()),
        ],
    );
    let p = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    p.changes
        .iter()
        .filter(|c| !c.is_noop())
        .map(|c| format!("{} {:?}", c.address, c.actions))
        .collect()
}

#[test]
fn a_value_only_marked_or_no_longer_is_an_update() {
    let tf = "resource \"terraform_data\" \"x\" {\n  input = { password = \"hunter2-x\" }\n}\n";
    // Terraform: no changes (nothing marks the password; rewind's rule
    // does, on both sides)
    assert_eq!(
        changes("marks-name", tf, &state("[]"), tf),
        Vec::<String>::new()
    );
    // the deployed value marked (a sensitive variable gave it), the
    // target's not: an update, as Terraform plans it
    let marked = r#"[[{"type": "get_attr", "value": "input"}]]"#;
    assert_eq!(
        changes("marks-unmarked", tf, &state(marked), tf),
        vec!["terraform_data.x [Update]".to_string()]
    );
    // marked alike on both sides by a sensitive variable: no change
    let sensitive = "variable \"p\" {\n  sensitive = true\n  default = \"hunter2-x\"\n}\nresource \"terraform_data\" \"x\" {\n  input = { password = var.p }\n}\n";
    let password =
        r#"[[{"type": "get_attr", "value": "input"}, {"type": "get_attr", "value": "password"}]]"#;
    assert_eq!(
        changes("marks-same", sensitive, &state(password), sensitive),
        Vec::<String>::new()
    );
}
