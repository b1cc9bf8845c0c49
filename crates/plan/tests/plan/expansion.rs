//! How the walk expands `count` and `for_each`, reads a module call's
//! outputs (by key, by index, splat, whole) and resolves `count`, `each`,
//! `path` and `terraform`; and the errors, as Terraform words them, for
//! what cannot expand or resolve.

use rewind_plan::{plan, Action, Options, PlanError};

use super::runaway::Dir;

/// The addresses the plan of `target` (from an empty configuration)
/// creates, sorted.
fn created(name: &str, files: &[(&str, &str)]) -> Vec<String> {
    let mut all = vec![("current/main.tf", "# nothing yet\n".to_string())];
    all.extend(files.iter().map(|(p, t)| (*p, t.to_string())));
    let dir = Dir::new(name, &all);
    let p = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut out: Vec<String> = p
        .changes
        .iter()
        .filter(|c| c.actions == [Action::Create])
        .map(|c| c.address.to_string())
        .collect();
    out.sort();
    out
}

/// The error of planning a target whose main.tf is `tf`.
fn target_error(name: &str, tf: &str) -> String {
    let dir = Dir::new(
        name,
        &[
            ("current/main.tf", "# nothing yet\n".to_string()),
            ("target/main.tf", tf.to_string()),
        ],
    );
    match plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    ) {
        Err(e @ PlanError::Invalid(_)) => e.to_string(),
        Err(e) => panic!("{name}: not an invalid target: {e}"),
        Ok(p) => panic!("{name}: planned: {:?}", p.changes),
    }
}

const MODULE: &str = r#"
variable "name" {}
output "id" {
  value = "id-${var.name}"
}
output "size" {
  value = length(var.name)
}
"#;

#[test]
fn count_and_for_each_make_one_instance_per_number_or_key() {
    let got = created(
        "expand",
        &[(
            "target/main.tf",
            r#"
resource "terraform_data" "c" {
  count = 2
  input = count.index
}
resource "terraform_data" "s" {
  for_each = toset(["b", "a"])
  input    = each.value
}
resource "terraform_data" "m" {
  for_each = { east = 1, west = 2 }
  input    = "${each.key}=${each.value} in ${terraform.workspace} at ${path.module}"
}
resource "terraform_data" "none" {
  count = 0
}
"#,
        )],
    );
    assert_eq!(
        got,
        [
            "terraform_data.c[0]",
            "terraform_data.c[1]",
            "terraform_data.m[\"east\"]",
            "terraform_data.m[\"west\"]",
            "terraform_data.s[\"a\"]",
            "terraform_data.s[\"b\"]",
        ]
    );
}

/// A module call's outputs read every way a reference can: by key, by
/// index, through a splat, the whole repeated call, and a single call's
/// output through a splat. The counts they give show the values.
#[test]
fn module_outputs_read_by_key_index_splat_and_whole() {
    let got = created(
        "outputs",
        &[
            ("target/m/main.tf", MODULE),
            (
                "target/main.tf",
                r#"
module "keyed" {
  for_each = toset(["x", "yy"])
  source   = "./m"
  name     = each.key
}
module "counted" {
  count  = 3
  source = "./m"
  name   = "n${count.index}"
}
module "single" {
  source = "./m"
  name   = "abcd"
}
# 2: the size output of module.keyed["yy"]
resource "terraform_data" "by_key" {
  count = module.keyed["yy"].size
}
# 1: the id of the third counted instance is "id-n2"
resource "terraform_data" "by_index" {
  count = module.counted[2].id == "id-n2" ? 1 : 0
}
# 3: one id per counted instance
resource "terraform_data" "splat" {
  count = length(module.counted[*].id)
}
# 2: the whole call, an object by key
resource "terraform_data" "whole" {
  count = length(keys(module.keyed))
}
# 1: a splat over a call without count or for_each
resource "terraform_data" "single_splat" {
  count = length(module.single[*].size) == 1 ? module.single.size - 3 : 0
}
"#,
            ),
        ],
    );
    let count = |prefix: &str| got.iter().filter(|a| a.starts_with(prefix)).count();
    assert_eq!(count("terraform_data.by_key["), 2, "{got:?}");
    assert_eq!(count("terraform_data.by_index["), 1, "{got:?}");
    assert_eq!(count("terraform_data.splat["), 3, "{got:?}");
    assert_eq!(count("terraform_data.whole["), 2, "{got:?}");
    assert_eq!(count("terraform_data.single_splat["), 1, "{got:?}");
}

#[test]
fn counts_and_for_each_that_cannot_expand_are_errors_saying_why() {
    let resource = |arg: &str| format!("resource \"terraform_data\" \"r\" {{\n  {arg}\n}}\n");
    for (arg, want) in [
        (
            "count = -1",
            "the \"count\" argument must be a whole number, not negative (got -1)",
        ),
        (
            "count = 1.5",
            "must be a whole number, not negative (got 1.5)",
        ),
        (
            "count = null",
            "count: the given \"count\" argument value is null",
        ),
        (
            "count = 2000000",
            "count: 2000000 instances is more than rewind plans (1000000 per resource)",
        ),
        (
            "count = sensitive(1)",
            "count: sensitive values cannot be used as count",
        ),
        (
            "for_each = null",
            "for_each: the given \"for_each\" argument value is null",
        ),
        (
            "for_each = [\"a\"]",
            "must be a map, or set of strings, and you have provided a value of type tuple",
        ),
        (
            "for_each = toset([1, 2])",
            "for_each: a set must hold strings, not number",
        ),
        (
            "for_each = sensitive({ a = 1 })",
            "for_each: sensitive values cannot be used as for_each arguments",
        ),
        (
            // the secret would be an instance key (Terraform refuses it too)
            "for_each = toset([\"plain\", sensitive(\"hunter2\")])",
            "for_each: sensitive values cannot be used as for_each arguments",
        ),
    ] {
        let text = target_error("badexpand", &resource(arg));
        assert!(text.contains(want), "{arg}: {text}");
    }
}

#[test]
fn references_that_do_not_resolve_are_errors_naming_them() {
    for (input, want) in [
        (
            "count.index",
            "Reference to \"count\" in non-counted context",
        ),
        (
            "each.key",
            "Reference to \"each\" in context without for_each",
        ),
        (
            "path.nope",
            "The \"path\" object has only \"module\", \"root\" and \"cwd\"",
        ),
        (
            "terraform.nope",
            "The \"terraform\" object has only \"workspace\"",
        ),
        ("module.m.nope", "module.m has no such output"),
    ] {
        let tf = format!(
            "module \"m\" {{\n  source = \"./m\"\n  name = \"a\"\n}}\nresource \"terraform_data\" \"r\" {{\n  input = {input}\n}}\n"
        );
        let dir = Dir::new(
            "badref",
            &[
                ("current/main.tf", "# nothing yet\n".to_string()),
                ("target/main.tf", tf),
                ("target/m/main.tf", MODULE.to_string()),
            ],
        );
        let err = plan(
            &dir.model("current"),
            &dir.model("target"),
            &Options::default(),
        )
        .expect_err(input);
        let text = err.to_string();
        assert!(matches!(err, PlanError::Invalid(_)), "{input}: {text}");
        assert!(text.contains(want), "{input}: {text}");
    }
}

/// Import blocks are evaluated: `for_each` keys in the address, ids from
/// variables, a secret id never shown, and what cannot be known refused.
#[test]
fn import_blocks_are_evaluated_and_a_secret_id_is_not_shown() {
    let dir = Dir::new(
        "imports",
        &[
            ("current/main.tf", "# nothing yet\n".to_string()),
            (
                "target/main.tf",
                r#"
variable "tables" {
  default = { orders = "shop-orders", users = "shop-users" }
}

variable "vault_token" {
  default = "hunter2-token-id"
}

variable "marked" {
  default   = "hunter2-marked-id"
  sensitive = true
}

resource "terraform_data" "table" {
  for_each = var.tables
}

import {
  for_each = var.tables
  to       = terraform_data.table[each.key]
  id       = "${each.value}-${upper(each.key)}"
}

resource "terraform_data" "counted" {
  count = 2
}

import {
  for_each = toset(["0", "1"])
  to       = terraform_data.counted[tonumber(each.key)]
  id       = "c${each.key}"
}

resource "terraform_data" "by_name" {}

import {
  to = terraform_data.by_name
  id = var.vault_token
}

resource "terraform_data" "by_mark" {}

import {
  to = terraform_data.by_mark
  id = var.marked
}
"#
                .to_string(),
            ),
        ],
    );
    let p = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap();
    let imports: Vec<(String, Option<String>)> = p
        .changes
        .iter()
        .map(|c| (c.address.to_string(), c.importing.clone()))
        .collect();
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        imports,
        [
            (
                "terraform_data.by_mark".to_string(),
                some("(sensitive value)")
            ),
            (
                "terraform_data.by_name".to_string(),
                some("(sensitive value)")
            ),
            ("terraform_data.counted[0]".to_string(), some("c0")),
            ("terraform_data.counted[1]".to_string(), some("c1")),
            (
                "terraform_data.table[\"orders\"]".to_string(),
                some("shop-orders-ORDERS")
            ),
            (
                "terraform_data.table[\"users\"]".to_string(),
                some("shop-users-USERS")
            ),
        ]
    );
    assert!(p.changes.iter().all(|c| c.actions == [Action::NoOp]));
    let all = format!("{:?}", p.changes);
    assert!(!all.contains("hunter2"), "{all}");

    // an id known only after apply is refused, as Terraform refuses it
    let err = target_error(
        "import-unknown",
        r#"
resource "terraform_data" "src" {
  input = "x"
}

resource "terraform_data" "dst" {}

import {
  to = terraform_data.dst
  id = terraform_data.src.id
}
"#,
    );
    assert!(
        err.contains("import[\"terraform_data.dst\"] (main.tf:8:1): Invalid import id argument"),
        "{err}"
    );
}

/// `yamldecode` is evaluated: `for_each` over a decoded document expands,
/// and a document written differently with the same values is no change
/// (it used to be compared as its text: a false replacement).
#[test]
fn yamldecode_values_expand_and_compare_as_values() {
    let users = r#"
locals {
  users = yamldecode(<<-EOT
    alice: { role: admin, shell: /bin/zsh }
    bob:
      role: dev
      shell: /bin/bash
    EOT
  )
}

resource "terraform_data" "user" {
  for_each = local.users
  input    = each.value.role
}
"#;
    assert_eq!(
        created("yaml-users", &[("target/main.tf", users)]),
        [
            "terraform_data.user[\"alice\"]",
            "terraform_data.user[\"bob\"]"
        ]
    );
    let dir = Dir::new(
        "yaml-same",
        &[
            (
                "current/main.tf",
                "resource \"terraform_data\" \"cfg\" {\n  triggers_replace = yamldecode(\"a: 1\\nb: [x, y]\")\n}\n".to_string(),
            ),
            (
                "target/main.tf",
                "resource \"terraform_data\" \"cfg\" {\n  triggers_replace = yamldecode(\"a:   1\\nb:\\n  - x\\n  - y\\n\")\n}\n".to_string(),
            ),
        ],
    );
    let p = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap();
    assert!(p.changes.is_empty(), "{:?}", p.changes);
}

/// Without a state, an import id read from a deployed object is one rewind
/// cannot see but Terraform knows: the import is planned, its id shown as
/// what it is made of, not refused as known only after apply.
#[test]
fn an_import_id_from_a_deployed_object_is_planned_without_a_state() {
    let src = "resource \"terraform_data\" \"src\" {\n  input = \"x\"\n}\n";
    let dir = Dir::new(
        "import-opaque",
        &[
            ("current/main.tf", src.to_string()),
            (
                "target/main.tf",
                format!("{src}\nresource \"terraform_data\" \"dst\" {{}}\n\nimport {{\n  to = terraform_data.dst\n  id = terraform_data.src.id\n}}\n"),
            ),
        ],
    );
    let p = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap();
    let dst: Vec<_> = p
        .changes
        .iter()
        .map(|c| (c.address.to_string(), c.importing.clone()))
        .collect();
    assert_eq!(dst.len(), 1, "{dst:?}");
    assert_eq!(dst[0].0, "terraform_data.dst");
    let id = dst[0].1.clone().unwrap_or_default();
    assert!(id.contains("terraform_data.src.id"), "{id}");
}
