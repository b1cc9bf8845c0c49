//! What an adversarial review found rewind planned where Terraform 1.11
//! refuses or plans otherwise: variables with `nullable = false` given
//! null, override files (`count` against `for_each`, the blocks an
//! override file may not hold), and `terraform { required_version }`.
//! Each answer is terraform 1.11.4's on the same files (`terraform plan`
//! with only `terraform_data` resources).

use std::path::Path;

use crate::common::{Run, Scratch};

fn write(t: &Scratch, path: &str, text: &str) {
    let p = t.path(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `rewind plan --from current --to target ARGS`, in the scratch.
fn plan(t: &Scratch, args: &[&str]) -> Run {
    let mut all = vec!["plan", "--from", "current", "--to", "target"];
    all.extend(args);
    t.run(&all)
}

/// Terraform: "Required variable not set ... Unsuitable value for var.a
/// set using -var="a=...": required variable may not be set to null."; a
/// variable with a default takes it instead of the null.
#[test]
fn a_null_var_for_a_variable_that_is_not_nullable_is_refused_or_takes_the_default() {
    let t = Scratch::new("merge-vars-nullable");
    write(
        &t,
        "current/main.tf",
        "variable \"a\" {\n  default = null\n}\n",
    );
    write(
        &t,
        "target/main.tf",
        "variable \"a\" {\n  type     = list(string)\n  nullable = false\n}\n\nresource \"terraform_data\" \"r\" {\n  input = var.a\n}\n",
    );
    let r = plan(&t, &["--var", "a=null"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("var.a (main.tf:1:1): Required variable not set: Unsuitable value for var.a set using -var=\"a=...\": required variable may not be set to null."),
        "{}",
        r.stderr
    );
    write(
        &t,
        "target/main.tf",
        "variable \"a\" {\n  type     = list(string)\n  nullable = false\n  default  = [\"d\"]\n}\n\nresource \"terraform_data\" \"r\" {\n  input = var.a\n}\n",
    );
    let r = plan(&t, &["--var", "a=null", "--format", "terraform-json"]).ok();
    let input = &r.json()["resource_changes"][0]["change"]["after"]["input"];
    assert_eq!(input, &serde_json::json!(["d"]), "{}", r.stdout);
}

/// A base with `count` and an override with `for_each`: Terraform plans
/// the `count` instances.
#[test]
fn count_wins_over_an_overriding_for_each() {
    let t = Scratch::new("merge-vars-count");
    write(&t, "current/main.tf", "# nothing yet\n");
    write(
        &t,
        "target/main.tf",
        "resource \"terraform_data\" \"a\" {\n  count = 2\n  input = \"x\"\n}\n",
    );
    write(
        &t,
        "target/override.tf",
        "resource \"terraform_data\" \"a\" {\n  for_each = toset([\"p\", \"q\", \"r\"])\n}\n",
    );
    let r = plan(&t, &["--format", "terraform-json"]).ok();
    let mut created: Vec<String> = r.json()["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["address"].as_str().unwrap().to_string())
        .collect();
    created.sort();
    assert_eq!(created, ["terraform_data.a[0]", "terraform_data.a[1]"]);
}

/// Terraform: "Can't override precondition blocks" at the block's line.
#[test]
fn an_override_file_with_a_precondition_is_refused_at_its_line() {
    let t = Scratch::new("merge-vars-precondition");
    write(&t, "current/main.tf", "# nothing yet\n");
    write(
        &t,
        "target/main.tf",
        "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n",
    );
    write(
        &t,
        "target/a_override.tf",
        "resource \"terraform_data\" \"a\" {\n  lifecycle {\n    precondition {\n      condition     = true\n      error_message = \"no\"\n    }\n  }\n}\n",
    );
    let r = plan(&t, &[]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let at = Path::new("target").join("a_override.tf");
    assert!(
        r.stderr.contains(&format!(
            "{}:3:5: Can't override precondition blocks: Override files cannot override \"precondition\" blocks.",
            at.display()
        )),
        "{}",
        r.stderr
    );
}

/// A constraint Terraform 1.11 does not satisfy plans, with a warning at
/// its line (the user's Terraform may be the one it asks for); one
/// Terraform cannot read is its error.
#[test]
fn required_version_warns_when_terraform_1_11_does_not_satisfy_it() {
    let t = Scratch::new("merge-vars-required-version");
    write(&t, "current/main.tf", "# nothing yet\n");
    let target = |constraint: &str| {
        format!("terraform {{\n  required_version = \"{constraint}\"\n}}\n\nresource \"terraform_data\" \"a\" {{\n  input = \"x\"\n}}\n")
    };
    write(&t, "target/main.tf", &target("~> 1.5.0"));
    let r = plan(&t, &[]).ok();
    assert!(r.stdout.contains("terraform_data.a"), "{}", r.stdout);
    assert!(
        r.stderr.contains("main.tf:2:3: Unsupported Terraform Core version: no Terraform 1.11 release satisfies required_version \"~> 1.5.0\""),
        "{}",
        r.stderr
    );
    write(&t, "target/main.tf", &target(">= 1.2, < 2.0"));
    let r = plan(&t, &[]).ok();
    assert!(!r.stderr.contains("required_version"), "{}", r.stderr);
    write(&t, "target/main.tf", &target(">= 1.0 <2"));
    let r = plan(&t, &[]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("main.tf:2:3: Invalid version constraint: This string does not use correct version constraint syntax."),
        "{}",
        r.stderr
    );
}
