//! `nullable = false` variables, root and module, as terraform 1.11.4
//! plans them: a null value given takes the default, a null value given
//! without a default is "Required variable not set" (naming where the
//! value came from), and a null default is "Invalid default value for
//! variable" whatever is given.

use rewind_parse::inputs::InputSource;
use rewind_plan::{plan, Options, PlanError};

/// The target's variables, read by one resource.
const VARIABLES: &str = r#"variable "a" {
  type     = list(string)
  nullable = false
}

variable "b" {
  nullable = false
  default  = "bd"
}

variable "d" {
  default = "dd"
}

resource "terraform_data" "r" {
  input = [var.a, var.b, var.d]
}
"#;

/// The plan from nothing to `target/` of `files`, loaded with `inputs`
/// (the target's files read as a plan from directories reads them).
fn plan_with(
    name: &str,
    files: &[(&str, &str)],
    inputs: Vec<InputSource>,
) -> Result<rewind_plan::Plan, PlanError> {
    let dir = std::env::temp_dir().join(format!("rewind-plan-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in [("current/main.tf", "# nothing yet\n")].iter().chain(files) {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let load = |sub: &str, inputs| {
        let opts = rewind_parse::Options {
            inputs,
            ..Default::default()
        };
        rewind_parse::load(&dir.join(sub), &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .model
    };
    let (current, target) = (load("current", Vec::new()), load("target", inputs));
    // the target's files, for the lines of its arguments
    let files = rewind_eval::DirFiles::new(&dir.join("target"), &dir.join("target"));
    let opts = Options {
        target_files: Some(rewind_plan::FileSource(std::sync::Arc::new(files))),
        ..Default::default()
    };
    let planned = plan(&current, &target, &opts);
    std::fs::remove_dir_all(&dir).unwrap();
    planned
}

fn errors(name: &str, files: &[(&str, &str)], inputs: Vec<InputSource>) -> Vec<String> {
    match plan_with(name, files, inputs) {
        Err(PlanError::Invalid(e)) => e,
        Err(e) => panic!("{name}: not an invalid target: {e}"),
        Ok(p) => panic!("{name}: planned {:?}", p.changes),
    }
}

/// The planned `input` of `terraform_data.r`, as `terraform plan` shows it.
fn planned_input(name: &str, files: &[(&str, &str)], inputs: Vec<InputSource>) -> String {
    let p = plan_with(name, files, inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
    let r = p
        .changes
        .iter()
        .find(|c| c.address.to_string() == "terraform_data.r")
        .expect("terraform_data.r planned");
    let after = r.values.after.as_ref().expect("a create");
    rewind_eval::inline(after.get_attr("input").expect("input"))
}

#[test]
fn a_null_value_takes_the_default_of_a_variable_that_is_not_nullable() {
    // b falls back to its default, d (nullable) stays null
    let input = planned_input(
        "nullable-default",
        &[
            ("target/main.tf", VARIABLES),
            (
                "target/terraform.tfvars",
                "a = [\"q\"]\nb = null\nd = null\n",
            ),
        ],
        Vec::new(),
    );
    assert_eq!(input, r#"[["q"], "bd", null]"#);
}

#[test]
fn a_null_value_for_a_required_variable_that_is_not_nullable_is_refused_naming_its_source() {
    let e = errors(
        "nullable-tfvars",
        &[
            ("target/main.tf", VARIABLES),
            ("target/terraform.tfvars", "a = null\n"),
        ],
        Vec::new(),
    );
    assert_eq!(
        e,
        ["var.a (main.tf:1:1): Required variable not set: The given value is not suitable for var.a (set in terraform.tfvars): required variable may not be set to null."]
    );
    let e = errors(
        "nullable-var",
        &[("target/main.tf", VARIABLES)],
        vec![InputSource::Var("a".into(), "null".into())],
    );
    assert_eq!(
        e,
        ["var.a (main.tf:1:1): Required variable not set: Unsuitable value for var.a set using -var=\"a=...\": required variable may not be set to null."]
    );
    let e = errors(
        "nullable-env",
        &[("target/main.tf", VARIABLES)],
        vec![InputSource::Env("a".into(), "null".into())],
    );
    assert_eq!(
        e,
        ["var.a (main.tf:1:1): Required variable not set: Unsuitable value for var.a set using the TF_VAR_a environment variable: required variable may not be set to null."]
    );
    // a later value wins over the null
    let input = planned_input(
        "nullable-later",
        &[
            ("target/main.tf", VARIABLES),
            ("target/terraform.tfvars", "a = null\n"),
        ],
        vec![InputSource::Var("a".into(), "[\"z\"]".into())],
    );
    assert_eq!(input, r#"[["z"], "bd", "dd"]"#);
}

#[test]
fn a_null_default_of_a_variable_that_is_not_nullable_is_refused_whatever_is_given() {
    let target = "variable \"a\" {\n  nullable = false\n  default  = null\n}\n\nresource \"terraform_data\" \"r\" {\n  input = var.a\n}\n";
    for inputs in [Vec::new(), vec![InputSource::Var("a".into(), "x".into())]] {
        let e = errors(
            "nullable-null-default",
            &[("target/main.tf", target)],
            inputs,
        );
        assert_eq!(
            e,
            ["var.a (main.tf:3:3, argument default): Invalid default value for variable: A null default value is not valid when nullable=false."]
        );
    }
}

#[test]
fn a_module_call_giving_null_takes_the_default_or_is_refused_at_its_argument() {
    let module = VARIABLES.replace(
        "resource \"terraform_data\" \"r\" {\n  input = [var.a, var.b, var.d]\n}\n",
        "output \"o\" {\n  value = [var.a, var.b, var.d]\n}\n",
    );
    let call = |a: &str| {
        format!("module \"m\" {{\n  source = \"./m\"\n  a      = {a}\n  b      = null\n  d      = null\n}}\n\nresource \"terraform_data\" \"r\" {{\n  input = module.m.o\n}}\n")
    };
    let input = planned_input(
        "nullable-module",
        &[
            ("target/main.tf", &call("[\"q\"]")),
            ("target/m/main.tf", &module),
        ],
        Vec::new(),
    );
    assert_eq!(input, r#"[["q"], "bd", null]"#);
    let e = errors(
        "nullable-module-null",
        &[
            ("target/main.tf", &call("null")),
            ("target/m/main.tf", &module),
        ],
        Vec::new(),
    );
    assert_eq!(
        e,
        ["module.m.var.a (m/main.tf:1:1): Required variable not set: The given value is not suitable for module.m.var.a (set by the module call at main.tf:3:3, argument a): required variable may not be set to null."]
    );
}
