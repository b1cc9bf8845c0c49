//! A "factory" configuration: the shape of the real configuration whose
//! plan analysis was slowest (cloud-foundation-fabric's
//! `fast/stages/0-org-setup`, whose `rewind plan` of the directory against
//! itself took 30× its `rewind graph` before the transitive dependencies
//! were computed over numbers). The pattern is reproduced, not the code: a
//! root module reads a map of projects from locals and calls a factory
//! module; the factory flattens the map with nested `for` expressions and
//! calls a project module per project (`for_each`), which calls an IAM
//! module per binding, four levels of modules in all; every level's
//! resources depend on the level above through module outputs, templates
//! and `merge`, and there is no state file (rewind simulates one, recording
//! every resource's transitive dependencies as Terraform would).

use std::fmt::Write as _;
use std::path::Path;

use crate::gen::{write_file, WriteError};

/// Resources per project, about (the project, its services, buckets,
/// service accounts, IAM bindings and bucket members).
pub const RESOURCES_PER_PROJECT: usize = 14;

/// Writes the factory configuration with `projects` projects (each with a
/// few buckets, service accounts and IAM bindings: about 12 resources per
/// project) to `out`.
pub fn write_factory(out: &Path, projects: usize) -> Result<(), WriteError> {
    write_file(out.join("main.tf"), root_module(projects))?;
    write_file(out.join("modules/factory/main.tf"), FACTORY_MODULE)?;
    write_file(out.join("modules/project/main.tf"), PROJECT_MODULE)?;
    write_file(out.join("modules/iam/main.tf"), IAM_MODULE)?;
    Ok(())
}

/// The root module: the map of `projects` projects in locals, the top
/// folder and the call of the factory module.
fn root_module(projects: usize) -> String {
    let mut root = String::from(
        "terraform {\n  required_providers {\n    google = {\n      source = \"hashicorp/google\"\n    }\n  }\n}\n\nvariable \"prefix\" {\n  type    = string\n  default = \"bench\"\n}\n\nlocals {\n  projects = {\n",
    );
    for p in 0..projects {
        let _ = writeln!(
            root,
            "    \"p{p:05}\" = {{\n      parent   = \"folders/{}\"\n      services = [\"compute.googleapis.com\", \"storage.googleapis.com\"{}]\n      buckets  = {{ logs = {{ location = \"EU\" }}, data = {{ location = \"{}\" }} }}\n      iam      = {{ \"roles/viewer\" = [\"group:team-{}@example.com\"], \"roles/editor\" = [\"serviceAccount:ci@example.com\"] }}\n    }}",
            p % 7,
            if p % 3 == 0 { ", \"bigquery.googleapis.com\"" } else { "" },
            if p % 2 == 0 { "EU" } else { "US" },
            p % 11
        );
    }
    root.push_str(
        "  }\n}\n\nresource \"google_folder\" \"top\" {\n  display_name = \"${var.prefix}-top\"\n  parent       = \"organizations/1234567890\"\n}\n\nmodule \"factory\" {\n  source   = \"./modules/factory\"\n  prefix   = var.prefix\n  parent   = google_folder.top.id\n  projects = local.projects\n}\n\noutput \"projects\" {\n  value = module.factory.projects\n}\n",
    );
    root
}

/// The factory module: flattens the projects' buckets, bindings and
/// services, and calls the project module for each project.
const FACTORY_MODULE: &str = r#"variable "prefix" {
  type = string
}
variable "parent" {
  type = string
}
variable "projects" {
  type = map(any)
}

locals {
  # every (project, bucket) and (project, role, member) pair, flattened
  buckets = merge([
    for pk, p in var.projects : {
      for bk, b in p.buckets : "${pk}/${bk}" => merge(b, { project = pk, name = bk })
    }
  ]...)
  bindings = flatten([
    for pk, p in var.projects : [
      for role, members in p.iam : { project = pk, role = role, members = members }
    ]
  ])
  services = toset(flatten([for pk, p in var.projects : [for s in p.services : "${pk}:${s}"]]))
}

resource "google_folder" "team" {
  for_each     = toset([for pk, p in var.projects : p.parent])
  display_name = "${var.prefix}-${replace(each.key, "/", "-")}"
  parent       = var.parent
}

module "project" {
  source   = "../project"
  for_each = var.projects
  name     = "${var.prefix}-${each.key}"
  parent   = google_folder.team[each.value.parent].id
  services = [for s in local.services : split(":", s)[1] if split(":", s)[0] == each.key]
  buckets  = { for k, b in local.buckets : b.name => b if b.project == each.key }
  iam      = { for b in local.bindings : b.role => b.members if b.project == each.key }
}

output "projects" {
  value = { for k, p in module.project : k => { id = p.id, number = p.number, buckets = p.buckets } }
}
"#;

/// The project module: the project, its services, buckets and service
/// accounts, and a call of the IAM module per role.
const PROJECT_MODULE: &str = r#"variable "name" {
  type = string
}
variable "parent" {
  type = string
}
variable "services" {
  type = list(string)
}
variable "buckets" {
  type = map(any)
}
variable "iam" {
  type = map(list(string))
}

resource "google_project" "this" {
  name       = var.name
  project_id = var.name
  folder_id  = var.parent
  labels     = { owner = "bench", name = var.name }
}

resource "google_project_service" "this" {
  for_each = toset(var.services)
  project  = google_project.this.project_id
  service  = each.value
}

resource "google_storage_bucket" "this" {
  for_each = var.buckets
  name     = "${google_project.this.project_id}-${each.key}"
  project  = google_project.this.project_id
  location = each.value.location
  labels   = merge(google_project.this.labels, { bucket = each.key })
  depends_on = [google_project_service.this]
}

resource "google_service_account" "this" {
  for_each   = toset(["ci", "runtime"])
  project    = google_project.this.project_id
  account_id = "${each.key}-${substr(md5(var.name), 0, 6)}"
}

module "iam" {
  source   = "../iam"
  for_each = var.iam
  project  = google_project.this.project_id
  role     = each.key
  members  = concat(each.value, [for sa in google_service_account.this : "serviceAccount:${sa.email}"])
  buckets  = [for b in google_storage_bucket.this : b.name]
}

output "id" {
  value = google_project.this.id
}
output "number" {
  value = google_project.this.number
}
output "buckets" {
  value = { for k, b in google_storage_bucket.this : k => b.url }
}
"#;

/// The IAM module: a role's binding and its bucket members.
const IAM_MODULE: &str = r#"variable "project" {
  type = string
}
variable "role" {
  type = string
}
variable "members" {
  type = list(string)
}
variable "buckets" {
  type = list(string)
}

resource "google_project_iam_binding" "this" {
  project = var.project
  role    = var.role
  members = sort(var.members)
}

resource "google_storage_bucket_iam_member" "this" {
  for_each = toset(var.buckets)
  bucket   = each.value
  role     = var.role
  member   = "projectEditor:${google_project_iam_binding.this.project}"
}
"#;
