//! Override files and `terraform { required_version }` as terraform 1.11.4
//! takes them: the blocks an override file may not hold, `count` and
//! `for_each` set by different blocks, a merge that leaves a null
//! default on a variable that is not nullable, and version constraints.

use rewind_model::Severity;

use super::{load, scratch, write, SharedParse};

const BASE: &str = r#"variable "x" {
  default = "a"
}

resource "terraform_data" "a" {
  input = "x"
  lifecycle {
    create_before_destroy = true
  }
}

output "o" {
  value = terraform_data.a.output
}

data "terraform_remote_state" "s" {
  backend = "local"
}
"#;

/// The error of loading `dir`, empty when it loads.
fn load_error(dir: &std::path::Path) -> String {
    rewind_parse::load(dir, &rewind_parse::Options::default())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn an_override_file_may_not_hold_validations_conditions_or_checks() {
    let dir = scratch("override-refused");
    write(&dir, "main.tf", BASE);
    let cases = [
        (
            "variable \"x\" {\n  validation {\n    condition     = var.x != \"\"\n    error_message = \"empty\"\n  }\n}\n",
            "override.tf:2:3: Can't override validation blocks: Override files cannot override \"validation\" blocks.",
        ),
        (
            "resource \"terraform_data\" \"a\" {\n  lifecycle {\n    create_before_destroy = false\n    precondition {\n      condition     = true\n      error_message = \"no\"\n    }\n  }\n}\n",
            "override.tf:4:5: Can't override precondition blocks: Override files cannot override \"precondition\" blocks.",
        ),
        (
            "data \"terraform_remote_state\" \"s\" {\n  lifecycle {\n    postcondition {\n      condition     = true\n      error_message = \"no\"\n    }\n  }\n}\n",
            "override.tf:3:5: Can't override postcondition blocks: Override files cannot override \"postcondition\" blocks.",
        ),
        (
            "output \"o\" {\n  precondition {\n    condition     = true\n    error_message = \"no\"\n  }\n}\n",
            "override.tf:2:3: Can't override precondition blocks: Override files cannot override \"precondition\" blocks.",
        ),
        (
            "check \"c\" {\n  assert {\n    condition     = terraform_data.a.input == \"x\"\n    error_message = \"no\"\n  }\n}\n",
            "override.tf:1:1: Can't override check blocks: Override files cannot override check blocks.",
        ),
    ];
    for (text, want) in cases {
        write(&dir, "override.tf", text);
        let err = load_error(&dir);
        assert!(err.contains(want), "{text}\n{err}");
    }
    std::fs::remove_file(dir.join("override.tf")).unwrap();
    write(
        &dir,
        "x_override.tf.json",
        r#"{"variable": {"x": {"validation": [{"condition": "${var.x != \"\"}", "error_message": "e"}]}}}"#,
    );
    let err = load_error(&dir);
    assert!(
        err.contains("x_override.tf.json:1:35: Can't override validation blocks"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A parse recorded for the same bytes under a name that is no override
/// file's (a file renamed `*_override.tf`) does not skip the check.
#[test]
fn a_parse_of_the_same_bytes_as_a_plain_file_does_not_hide_a_refusal() {
    let text = "variable \"x\" {\n  validation {\n    condition     = var.x != \"\"\n    error_message = \"empty\"\n  }\n}\n";
    let plain = scratch("override-cached-plain");
    write(&plain, "vars.tf", text);
    let parsed = rewind_parse::parse_dir(&plain, &rewind_parse::Options::default()).unwrap();
    let shared = SharedParse {
        parsed: parsed
            .files()
            .iter()
            .zip(parsed.parsed())
            .map(|(f, p)| ((f.hash, f.kind), std::sync::Arc::clone(p)))
            .collect(),
        taken: Default::default(),
    };
    let renamed = scratch("override-cached-renamed");
    write(&renamed, "main.tf", BASE);
    write(&renamed, "vars_override.tf", text);
    let with_cache = rewind_parse::Options {
        cache: Some(&shared),
        ..Default::default()
    };
    let err = rewind_parse::load(&renamed, &with_cache)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("vars_override.tf:2:3: Can't override validation blocks"),
        "{err}"
    );
    std::fs::remove_dir_all(&plain).unwrap();
    std::fs::remove_dir_all(&renamed).unwrap();
}

/// A base with `count` and an override with `for_each` (or the reverse)
/// leave both set, and Terraform expands by `count` (terraform 1.11.4
/// plans `terraform_data.a[0]` and `[1]`, and `module.m[0]`); the
/// `for_each` still orders the block after what it refers to.
#[test]
fn count_wins_over_a_for_each_set_by_another_block() {
    let dir = scratch("override-count");
    write(
        &dir,
        "m/main.tf",
        "variable \"v\" {\n  default = \"d\"\n}\n",
    );
    write(
        &dir,
        "main.tf",
        "variable \"names\" {\n  default = [\"p\"]\n}\n\nresource \"terraform_data\" \"a\" {\n  count = 2\n  input = \"x\"\n}\n\nmodule \"m\" {\n  source   = \"./m\"\n  for_each = toset([\"p\", \"q\"])\n}\n",
    );
    write(
        &dir,
        "override.tf",
        "resource \"terraform_data\" \"a\" {\n  for_each = toset(var.names)\n}\n\nmodule \"m\" {\n  count = 1\n}\n",
    );
    let loaded = load(&dir);
    let a = loaded.model.node("terraform_data.a").unwrap();
    assert_eq!(a.body.get("count").map(|v| v.render()), Some("2".into()));
    assert!(a.body.get("for_each").is_none(), "{}", a.body.render());
    assert!(a.edges.iter().any(|e| e.to == "var.names"), "{:?}", a.edges);
    let m = loaded.model.node("module.m").unwrap();
    assert_eq!(m.body.get("count").map(|v| v.render()), Some("1".into()));
    assert!(m.body.get("for_each").is_none(), "{}", m.body.render());
    // the same when two override files set one each, in either order
    // (terraform 1.11.4 plans terraform_data.a[0] both ways)
    for (count_file, for_each_file) in [
        ("a_override.tf", "b_override.tf"),
        ("c_override.tf", "b_override.tf"),
    ] {
        let _ = std::fs::remove_file(dir.join("a_override.tf"));
        let _ = std::fs::remove_file(dir.join("c_override.tf"));
        write(&dir, "override.tf", "# nothing\n");
        write(
            &dir,
            "main.tf",
            "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n",
        );
        write(
            &dir,
            count_file,
            "resource \"terraform_data\" \"a\" {\n  count = 1\n}\n",
        );
        write(
            &dir,
            for_each_file,
            "resource \"terraform_data\" \"a\" {\n  for_each = toset([\"p\", \"q\"])\n}\n",
        );
        let loaded = load(&dir);
        let a = loaded.model.node("terraform_data.a").unwrap();
        assert_eq!(
            a.body.get("count").map(|v| v.render()),
            Some("1".into()),
            "{count_file}"
        );
        assert!(
            a.body.get("for_each").is_none(),
            "{count_file}: {}",
            a.body.render()
        );
    }
    std::fs::remove_file(dir.join("b_override.tf")).unwrap();
    std::fs::remove_file(dir.join("c_override.tf")).unwrap();
    write(
        &dir,
        "main.tf",
        "variable \"names\" {\n  default = [\"p\"]\n}\n\nresource \"terraform_data\" \"a\" {\n  count = 2\n  input = \"x\"\n}\n",
    );
    // both in one block is that block's error: both stay, for the checks
    write(
        &dir,
        "override.tf",
        "resource \"terraform_data\" \"a\" {\n  count    = 1\n  for_each = toset(var.names)\n}\n",
    );
    let loaded = load(&dir);
    let a = loaded.model.node("terraform_data.a").unwrap();
    assert!(a.body.get("count").is_some() && a.body.get("for_each").is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Terraform checks a merged variable as it checks one block: a null
/// default with `nullable = false` is refused at the override.
#[test]
fn a_merge_leaving_a_null_default_on_a_variable_that_is_not_nullable_is_refused() {
    let dir = scratch("override-nullable");
    write(
        &dir,
        "main.tf",
        "variable \"a\" {\n  nullable = false\n  default  = \"x\"\n}\n\nvariable \"b\" {\n  default = null\n}\n",
    );
    for (text, at) in [
        ("variable \"a\" {\n  default = null\n}\n", "override.tf:1:1"),
        (
            "\nvariable \"b\" {\n  nullable = false\n}\n",
            "override.tf:2:1",
        ),
    ] {
        write(&dir, "override.tf", text);
        let err = load_error(&dir);
        assert!(
            err.contains(&format!("{at}: Invalid default value for variable: A null default value is not valid when nullable=false.")),
            "{err}"
        );
    }
    write(
        &dir,
        "override.tf",
        "variable \"b\" {\n  default = \"y\"\n  nullable = false\n}\n",
    );
    assert_eq!(load_error(&dir), "");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `required_version` no Terraform 1.11 release satisfies is a warning
/// at its line (Terraform 1.11 refuses the configuration, the Terraform
/// it asks for takes it), in a child module too; a constraint Terraform
/// cannot read is its error.
#[test]
fn required_version_is_checked_against_terraform_1_11() {
    let dir = scratch("required-version");
    write(
        &dir,
        "m/main.tf",
        "terraform {\n  required_version = \">= 1.12\"\n}\n",
    );
    write(
        &dir,
        "main.tf",
        "terraform {\n  required_version = \">= 1.2, < 2.0\"\n}\n\nterraform {\n  required_version = \"~> 1.5.0\"\n}\n\nmodule \"m\" {\n  source = \"./m\"\n}\n",
    );
    let loaded = load(&dir);
    let mut warnings: Vec<String> = loaded
        .model
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| format!("{} {}", d.loc, d.message))
        .collect();
    warnings.sort();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].starts_with("m/main.tf:2:3 Unsupported Terraform Core version: no Terraform 1.11 release satisfies required_version \">= 1.12\""), "{warnings:?}");
    assert!(warnings[1].starts_with("main.tf:6:3 Unsupported Terraform Core version: no Terraform 1.11 release satisfies required_version \"~> 1.5.0\""), "{warnings:?}");
    for (constraint, want) in [
        ("\"abc\"", "Invalid version constraint: This string does not use correct version constraint syntax."),
        ("\">= 1.12.0-beta1\"", "Invalid required_version constraint: Prerelease version constraints are not supported: >= 1.12.0-beta1."),
        ("[\"1.0\"]", "Invalid version constraint: A string value is required for required_version."),
        ("var.v", "Variables not allowed: Variables may not be used here."),
    ] {
        write(
            &dir,
            "main.tf",
            &format!("\nterraform {{\n  required_version = {constraint}\n}}\n"),
        );
        let err = load_error(&dir);
        assert!(err.contains(&format!("main.tf:3:3: {want}")), "{constraint}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
