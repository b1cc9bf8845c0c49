//! Custom conditions in the target: what fails a plan (as Terraform's
//! errors say it), what waits for apply, what only warns, and that a
//! failure's message never shows a secret. The oracle cases
//! (`plan2/h38`, `h39`, `plan2-errors/h33`..`h37`) check the same against
//! Terraform itself; these check what Terraform prints and rewind must
//! not (secrets), and the odd results (null, not a bool).

use rewind_plan::{plan, Options, PlanError, RiskKind};

use super::runaway::Dir;

const NOTHING: &str = "# nothing yet\n";

/// The plan from `current/` to `target/`, both written from `files`.
fn plan_files(name: &str, files: &[(&str, String)]) -> Result<rewind_plan::Plan, PlanError> {
    let dir = Dir::new(name, files);
    plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
}

fn plan_of(name: &str, current: &str, target: &str) -> Result<rewind_plan::Plan, PlanError> {
    plan_files(
        name,
        &[
            ("current/main.tf", current.to_string()),
            ("target/main.tf", target.to_string()),
        ],
    )
}

/// The errors of a target that must not plan (its files in `files`,
/// the current side empty).
fn errors_of(name: &str, files: &[(&str, String)]) -> Vec<String> {
    let mut all = vec![("current/main.tf", NOTHING.to_string())];
    all.extend(files.iter().cloned());
    match plan_files(name, &all) {
        Err(PlanError::Invalid(e)) => e,
        Err(e) => panic!("{name}: not an invalid target: {e}"),
        Ok(p) => panic!("{name}: planned {:?}", p.changes),
    }
}

/// The errors of a target whose main.tf is `target`.
fn errors(name: &str, target: &str) -> Vec<String> {
    errors_of(name, &[("target/main.tf", target.to_string())])
}

#[test]
fn a_failed_validation_names_the_variable_its_file_and_line_and_says_its_message() {
    let e = errors(
        "cond-validation",
        r#"
variable "replicas" {
  type    = number
  default = 5

  validation {
    condition     = var.replicas > 0
    error_message = "At least one."
  }

  validation {
    condition     = var.replicas <= 3
    error_message = "At most 3 replicas, not ${var.replicas}."
  }
}
"#,
    );
    assert_eq!(
        e,
        ["var.replicas (main.tf:2:1): Invalid value for variable: At most 3 replicas, not 5. (the second validation rule)"]
    );
}

#[test]
fn a_message_reading_a_secret_is_not_shown_whether_marked_or_named_like_one() {
    let target = r#"
variable "db_password" {
  default = "hunter2-by-name"
  validation {
    condition     = length(var.db_password) > 40
    error_message = "Too short: ${var.db_password}."
  }
}

variable "marked" {
  default   = "hunter2-marked"
  sensitive = true
  validation {
    condition     = length(var.marked) > 40
    error_message = "Too short: ${var.marked}."
  }
}

locals {
  api_token = "hunter2-local"
}


resource "terraform_data" "t" {
  for_each = var.service_token
  input    = each.key
  lifecycle {
    precondition {
      condition     = length(each.value) > 40
      error_message = "Short key ${each.value}."
    }
  }
}

variable "service_token" {
  default = { a = "hunter2-each" }
}

output "o" {
  value = "x"
  precondition {
    condition     = local.api_token == "other"
    error_message = "Token is ${upper(local.api_token)}."
  }
}
"#;
    let e = errors("cond-secrets", target);
    let all = e.join("\n");
    assert_eq!(e.len(), 4, "{all}");
    assert!(!all.contains("hunter2"), "a secret shown: {all}");
    assert!(!all.contains("HUNTER2"), "a secret shown: {all}");
    for who in [
        "var.db_password",
        "var.marked",
        "terraform_data.t[\"a\"]",
        "output.o",
    ] {
        assert!(
            e.iter().any(|m| m.starts_with(who)
                && m.contains("The error message included a sensitive value")),
            "{who}: {all}"
        );
    }
}

#[test]
fn a_null_or_non_bool_condition_is_an_error_and_a_string_bool_is_a_bool() {
    let e = errors(
        "cond-null",
        r#"
variable "x" {
  default = null
  validation {
    condition     = var.x
    error_message = "x"
  }
}

resource "terraform_data" "a" {
  input = "a"
  lifecycle {
    precondition {
      condition     = "yes"
      error_message = "not a bool"
    }
    precondition {
      condition     = "true"
      error_message = "a bool in a string holds"
    }
  }
}
"#,
    );
    let all = e.join("\n");
    assert_eq!(e.len(), 2, "{all}");
    assert!(
        e[0].starts_with("terraform_data.a (main.tf:10:1): Invalid condition result: Invalid condition result value:"),
        "{all}"
    );
    assert!(e[0].ends_with("(the first precondition)"), "{all}");
    assert_eq!(
        e[1],
        "var.x (main.tf:2:1): Invalid condition result: Condition expression must return either true or false, not null. (the validation rule)"
    );
}

#[test]
fn a_failed_check_warns_and_the_plan_goes_on() {
    let p = plan_of(
        "cond-check",
        NOTHING,
        r#"
variable "env" {
  default = "stage"
}

resource "terraform_data" "a" {
  input = var.env
}

check "env_is_prod" {
  assert {
    condition     = var.env == "prod"
    error_message = "The environment is ${var.env}, not prod."
  }
  assert {
    condition     = terraform_data.a.id != ""
    error_message = "known only after apply: not checked"
  }
}
"#,
    )
    .unwrap();
    assert_eq!(p.changes.len(), 1);
    let warnings: Vec<&str> = p
        .notes
        .iter()
        .filter(|n| n.kind == RiskKind::CheckFailed)
        .map(|n| n.message.as_str())
        .collect();
    assert_eq!(
        warnings,
        ["check.env_is_prod (main.tf:10:1): Check block assertion failed: The environment is stage, not prod. (the first assertion)"]
    );
}

#[test]
fn the_current_configurations_conditions_are_not_checked() {
    // the current release was applied: its rules held then, and a revert
    // plans the target's
    let current = r#"
variable "n" {
  default = 9
  validation {
    condition     = var.n < 3
    error_message = "n < 3"
  }
}

resource "terraform_data" "a" {
  input = var.n
}
"#;
    let p = plan_of(
        "cond-current",
        current,
        "resource \"terraform_data\" \"a\" {\n  input = 1\n}\n",
    )
    .unwrap();
    assert_eq!(p.changes.len(), 1);
}

#[test]
fn a_module_instances_rule_is_checked_per_instance_with_the_arguments_it_was_given() {
    let e = errors_of(
        "cond-module",
        &[
            (
                "target/main.tf",
                r#"
module "m" {
  source   = "./m"
  for_each = { small = 2, big = 9 }
  size     = each.value
}
"#
                .to_string(),
            ),
            (
                "target/m/main.tf",
                r#"
variable "size" {
  type = number
  validation {
    condition     = var.size < 5
    error_message = "size ${var.size} is not below 5."
  }
}
"#
                .to_string(),
            ),
        ],
    );
    assert_eq!(
        e,
        ["module.m[\"big\"].var.size (m/main.tf:2:1): Invalid value for variable: size 9 is not below 5. (the validation rule)"]
    );
}

/// What `terraform validate` refuses is refused before anything is
/// planned; the oracle cases `plan2-errors/h40`..`h43` check four of these
/// against Terraform, this the rest (a module's `source` from a variable
/// fails `terraform init` already, so it has no oracle case).
#[test]
fn configurations_terraform_validate_refuses_are_refused() {
    let e = errors_of(
        "validate-more",
        &[
            (
                "target/main.tf",
                r#"
variable "src" {
  default = "./m"
}

module "dyn" {
  source = var.src
}

module "m" {
  source = "./m"
}

resource "terraform_data" "a" {
  input      = "a"
  depends_on = [terraform_data.b.output, module.gone, data.terraform_remote_state.gone, var.src]

  dynamic "extra" {
    for_each = [1]
    content {}
  }
}

resource "terraform_data" "b" {
  input = "b"
}
"#
                .to_string(),
            ),
            (
                "target/m/main.tf",
                r#"
resource "terraform_data" "inner" {
  input = "i"
}

resource "terraform_data" "kept" {
  input = "k"
}

moved {
  from = terraform_data.inner
  to   = terraform_data.kept
}

moved {
  from = terraform_data.kept[0]
  to   = terraform_data.kept
}

resource "terraform_data" "grown" {
  for_each = toset(["small"])
}

moved {
  from = terraform_data.grown
  to   = terraform_data.grown["small"]
}
"#
                .to_string(),
            ),
        ],
    );
    let all = e.join("\n");
    let want = [
        "module.dyn (main.tf:6:1): Variables not allowed:",
        "module.m.moved[\"terraform_data.inner\"] (m/main.tf:10:1): Moved object still exists: This statement declares a move from terraform_data.inner, but that resource is still declared.",
        "terraform_data.a (main.tf:14:1): Invalid depends_on reference: References in depends_on must be to a whole object (resource, etc), not to an attribute of an object (terraform_data.b.output).",
        "terraform_data.a (main.tf:14:1): Reference to undeclared module: depends_on names module.gone, which is not declared in the root module.",
        "terraform_data.a (main.tf:14:1): Reference to undeclared resource: depends_on names data.terraform_remote_state.gone, which is not declared in the root module.",
        "terraform_data.a (main.tf:14:1): Unsupported block type: Blocks of type \"extra\" are not expected here.",
    ];
    for w in want {
        assert!(e.iter().any(|m| m.starts_with(w)), "want {w:?} in:\n{all}");
    }
    // moves between instances of a declared resource are allowed: from an
    // instance, and from the resource to one of its keys (how for_each is
    // added, checked with terraform validate 1.11.4)
    assert_eq!(e.len(), want.len(), "{all}");
}

/// A target whose `required_version` no Terraform 1.11 release satisfies
/// is planned as 1.11 plans it, with a note saying so and where the
/// constraint is (the load's warning alone went only to standard error,
/// never into a plan's JSON or Markdown); one that 1.11 satisfies has no
/// such note.
#[test]
fn a_required_version_terraform_1_11_refuses_is_a_note() {
    let resource = "resource \"terraform_data\" \"x\" {\n  input = 2\n}\n";
    for (constraint, noted) in [
        ("< 1.0", true),
        ("~> 1.5", false),
        (">= 1.11.0, < 2.0.0", false),
    ] {
        let target = format!("terraform {{\n  required_version = \"{constraint}\"\n}}\n{resource}");
        let dir = Dir::new(
            "required-version",
            &[
                ("empty/main.tf", "terraform {}\n".to_string()),
                ("c/main.tf", target),
            ],
        );
        let p = plan(&dir.model("empty"), &dir.model("c"), &Options::default()).unwrap();
        let notes: Vec<&str> = p
            .notes
            .iter()
            .filter(|n| n.message.starts_with("Unsupported Terraform Core version"))
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(notes.len(), usize::from(noted), "{constraint}: {notes:?}");
        if noted {
            assert!(
                notes[0].contains(&format!("required_version {constraint:?}")),
                "{notes:?}"
            );
            assert!(
                notes[0].ends_with("(the target configuration, main.tf:2:3)"),
                "{notes:?}"
            );
            assert!(p.notes.iter().any(|n| n.kind == RiskKind::Approximation));
        }
    }
}
