//! Resources whose provider schema rewind does not have: an attribute the
//! configuration does not set (an email, a URL the provider computes) is
//! read through the whole resource as Terraform reads it, known after
//! apply for an object being created, deployed but unseen without a state
//! file, never "Unsupported attribute".

use rewind_plan::{plan, Action, Options, Plan};

use super::runaway::Dir;

/// A project factory in miniature: service accounts by key, their emails
/// read in every way a real module reads them (a `for` over the whole
/// resource, `values(...)[*]`, an instance by key, `each.value` of a
/// `for_each` over the resource, a module input typed as objects, a splat
/// of a counted resource).
fn config(accounts: &[(&str, &str)]) -> String {
    let accounts: Vec<String> = accounts
        .iter()
        .map(|(k, id)| format!("    {k} = \"{id}\""))
        .collect();
    format!(
        r#"locals {{
  accounts = {{
{}
  }}
  members = [for sa in google_service_account.this : "serviceAccount:${{sa.email}}"]
}}

resource "google_service_account" "this" {{
  for_each     = local.accounts
  account_id   = each.value
  display_name = "sa ${{each.key}}"
}}

resource "google_project_iam_binding" "editor" {{
  project = "p"
  role    = "roles/editor"
  members = local.members
}}

resource "google_project_iam_member" "each" {{
  for_each = google_service_account.this
  project  = "p"
  role     = "roles/viewer"
  member   = "serviceAccount:${{each.value.email}}"
}}

resource "google_storage_bucket" "logs" {{
  count    = 1
  name     = "logs"
  location = "EU"
}}

module "iam" {{
  source   = "./iam"
  accounts = google_service_account.this
  emails   = values(google_service_account.this)[*].email
  first    = google_service_account.this["a"].email
  logs_url = one(google_storage_bucket.logs[*].url)
}}

output "urls" {{
  value = [for b in google_storage_bucket.logs : b.url]
}}
"#,
        accounts.join("\n")
    )
}

const IAM: &str = r#"variable "accounts" {
  type = map(object({ email = string, account_id = string }))
}
variable "emails" {}
variable "first" {}
variable "logs_url" {}

resource "terraform_data" "seen" {
  input = {
    by_key   = { for k, sa in var.accounts : k => sa.email }
    emails   = var.emails
    first    = var.first
    logs_url = var.logs_url
  }
}
"#;

fn case(name: &str, current: &[(&str, &str)], target: &[(&str, &str)]) -> Plan {
    let dir = Dir::new(
        name,
        &[
            ("current/main.tf", config(current)),
            ("current/iam/main.tf", IAM.to_string()),
            ("target/main.tf", config(target)),
            ("target/iam/main.tf", IAM.to_string()),
        ],
    );
    plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The actions planned for `addr` (`[NoOp]` for an instance left as it
/// is).
fn actions(p: &Plan, addr: &str) -> Vec<Action> {
    if let Some(c) = p.changes.iter().find(|c| c.address.to_string() == addr) {
        return c.actions.clone();
    }
    assert!(
        p.unchanged.iter().any(|u| u.address.to_string() == addr),
        "{addr} is neither changed nor unchanged: {:?}",
        p.changes
    );
    vec![Action::NoOp]
}

fn reasons(p: &Plan, addr: &str) -> String {
    p.changes
        .iter()
        .find(|c| c.address.to_string() == addr)
        .map(|c| c.reasons.join("; "))
        .unwrap_or_default()
}

#[test]
fn unset_attributes_read_through_a_whole_resource_are_no_change_when_nothing_changes() {
    let both = [("a", "sa-a"), ("b", "sa-b")];
    let p = case("partial-same", &both, &both);
    // 2 accounts, 1 binding, 2 members, 1 bucket, the module's reader
    assert_eq!(p.unchanged.len(), 7, "{:?}", p.unchanged);
    assert!(
        p.changes.iter().all(|c| c.actions == [Action::NoOp]),
        "{:?}",
        p.changes
            .iter()
            .map(|c| (c.address.to_string(), &c.actions, &c.reasons))
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_new_account_makes_the_readers_of_the_emails_known_after_apply() {
    let p = case(
        "partial-new",
        &[("a", "sa-a"), ("b", "sa-b")],
        &[("a", "sa-a"), ("b", "sa-b"), ("c", "sa-c")],
    );
    assert_eq!(
        actions(&p, "google_service_account.this[\"c\"]"),
        [Action::Create]
    );
    assert_eq!(
        actions(&p, "google_project_iam_member.each[\"c\"]"),
        [Action::Create]
    );
    // the binding lists every email: one of them is not known until the
    // new account exists
    let binding = "google_project_iam_binding.editor";
    assert_ne!(actions(&p, binding), [Action::NoOp]);
    assert!(
        reasons(&p, binding).contains("known after apply"),
        "{}",
        reasons(&p, binding)
    );
    // the module reads the new one's email by key and through values()
    let seen = "module.iam.terraform_data.seen";
    assert_ne!(actions(&p, seen), [Action::NoOp]);
    // the accounts that stay, and what reads only them, do not change
    for stays in [
        "google_service_account.this[\"a\"]",
        "google_service_account.this[\"b\"]",
        "google_project_iam_member.each[\"a\"]",
        "google_project_iam_member.each[\"b\"]",
        "google_storage_bucket.logs[0]",
    ] {
        assert_eq!(actions(&p, stays), [Action::NoOp], "{stays}");
    }
}

#[test]
fn a_renamed_account_is_replaced_and_only_its_readers_follow() {
    let p = case(
        "partial-renamed",
        &[("a", "sa-a"), ("b", "sa-b")],
        &[("a", "sa-a"), ("b", "sa-b-2")],
    );
    let b = "google_service_account.this[\"b\"]";
    assert!(
        actions(&p, b).contains(&Action::Create) && actions(&p, b).contains(&Action::Delete),
        "{:?}",
        actions(&p, b)
    );
    assert_ne!(
        actions(&p, "google_project_iam_member.each[\"b\"]"),
        [Action::NoOp]
    );
    assert_eq!(
        actions(&p, "google_project_iam_member.each[\"a\"]"),
        [Action::NoOp]
    );
}

/// `terraform_data`'s schema is known: an attribute it does not have is
/// Terraform's error, through a whole resource too.
#[test]
fn an_attribute_a_known_schema_lacks_is_still_an_error() {
    let tf = r#"resource "terraform_data" "a" {
  for_each = toset(["x"])
  input    = each.key
}
resource "terraform_data" "b" {
  input = [for d in terraform_data.a : d.email]
}
"#;
    let dir = Dir::new("partial-known", &[("c/main.tf", tf.to_string())]);
    let err = plan(&dir.model("c"), &dir.model("c"), &Options::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("Unsupported attribute"), "{err}");
    assert!(err.contains("email"), "{err}");
}
