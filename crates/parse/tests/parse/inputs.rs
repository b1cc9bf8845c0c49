//! Root variable values given beside the directory (`TF_VAR_`, `--var`,
//! `--var-file`): the nodes they make, and what is refused or warned about
//! as Terraform does.

use std::path::{Path, PathBuf};

use rewind_model::{Model, Severity, Value};
use rewind_parse::inputs::InputSource;

const MAIN: &str = r#"
variable "instances" {
  type = number
}
variable "name" {
  type = string
}
variable "tags" {
  type    = map(string)
  default = {}
}
"#;

/// A scratch directory holding main.tf and `extra` files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, extra: &[(&str, &str)]) -> Dir {
        let dir = std::env::temp_dir().join(format!("rewind-parse-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.tf"), MAIN).unwrap();
        for (p, text) in extra {
            std::fs::write(dir.join(p), text).unwrap();
        }
        Dir(dir)
    }

    fn load(&self, inputs: Vec<InputSource>) -> Result<Model, rewind_parse::LoadError> {
        let opts = rewind_parse::Options {
            inputs,
            ..Default::default()
        };
        rewind_parse::load(Path::new(&self.0), &opts).map(|l| l.model)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn environment_command_line_and_files_make_one_node_each() {
    let dir = Dir::new(
        "inputs-ok",
        &[("extra.tfvars", "tags = { team = \"web\" }\nleftover = 1\n")],
    );
    let m = dir
        .load(vec![
            InputSource::Env("name".into(), "from-env".into()),
            // TF_VAR_ of an undeclared variable: ignored, as Terraform does
            InputSource::Env("undeclared".into(), "x".into()),
            InputSource::File(dir.0.join("extra.tfvars")),
            InputSource::Var("instances".into(), "3".into()),
        ])
        .unwrap_or_else(|e| panic!("{e}"));

    let env = m
        .node("tfvars[\"(environment)\"]")
        .expect("environment node");
    assert_eq!(
        env.body.get("name").and_then(Value::as_str),
        Some("from-env")
    );
    assert_eq!(env.body.get("undeclared"), None);

    let cli = m
        .node("tfvars[\"(command line)\"]")
        .expect("command line node");
    // a number variable's raw value is the string, converted where it is
    // evaluated (Terraform's literal mode for primitive types)
    assert_eq!(cli.body.get("instances"), Some(&Value::String("3".into())));
    let tags = cli.body.get("tags").expect("tags from the file");
    assert_eq!(tags.get("team").and_then(Value::as_str), Some("web"));
    // the file's value for an undeclared variable is kept, and warned about
    let warned: Vec<&str> = m
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .map(|d| d.message.as_str())
        .collect();
    assert!(
        warned
            .iter()
            .any(|w| w.contains("\"leftover\"") && w.contains("so Terraform ignores it")),
        "{warned:?}"
    );
    // (and TF_VAR_undeclared is not)
    assert!(
        !warned.iter().any(|w| w.contains("\"undeclared\"")),
        "{warned:?}"
    );
}

#[test]
fn no_inputs_make_no_input_nodes() {
    let dir = Dir::new("inputs-none", &[]);
    let m = dir.load(Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.node("tfvars[\"(environment)\"]").is_none());
    assert!(m.node("tfvars[\"(command line)\"]").is_none());
}

#[test]
fn undeclared_vars_unreadable_files_and_bad_values_are_errors() {
    let dir = Dir::new("inputs-bad", &[]);
    let err = dir
        .load(vec![
            InputSource::Var("nope".into(), "1".into()),
            InputSource::File(dir.0.join("missing.tfvars")),
            InputSource::Env("instances".into(), "[1,".into()),
            InputSource::Var("instances".into(), "{".into()),
        ])
        .expect_err("bad inputs load");
    let messages: Vec<&str> = err
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.as_str())
        .collect();
    for want in [
        "value for undeclared variable: the root module declares no variable \"nope\"",
        "cannot read the variable file",
        "invalid value for variable \"instances\" in the environment",
        "invalid value for variable \"instances\": ",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(want)),
            "{want}: {messages:?}"
        );
    }
    assert_eq!(messages.len(), 4, "{messages:?}");
}

/// A variable file's values are constants, as Terraform evaluates them
/// with no variables and no functions: a bare word, a reference or a call
/// is refused where it is written; `for` expressions over literals, with
/// their own names, are constants.
#[test]
fn variable_files_hold_constants() {
    for (text, want) in [
        (
            "name = web\n",
            "terraform.tfvars:1:8: Variables not allowed",
        ),
        (
            "tags = { team = var.team }\n",
            "terraform.tfvars:1:17: Variables not allowed",
        ),
        (
            "name = \"x\"\ntags = { a = upper(\"x\") }\n",
            "terraform.tfvars:2:1: Function calls not allowed",
        ),
        (
            "tags = { for k in [\"a\"] : k => \"${k}-${x}\" }\n",
            "Variables not allowed",
        ),
    ] {
        let dir = Dir::new("inputs-tfvars-const", &[("terraform.tfvars", text)]);
        let err = dir
            .load(vec![InputSource::Var("instances".into(), "1".into())])
            .expect_err(text);
        let shown: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(
            shown.iter().any(|m| m.contains(want)),
            "{text:?}: want {want:?} in {shown:?}"
        );
    }
    let dir = Dir::new(
        "inputs-tfvars-for",
        &[(
            "terraform.tfvars",
            "tags = { for k in [\"a\", \"b\"] : k => \"${k}-${1 + 1}\" if k != \"c\" }\nname = true ? \"x\" : \"y\"\n",
        )],
    );
    dir.load(vec![InputSource::Var("instances".into(), "1".into())])
        .unwrap_or_else(|e| panic!("{e}"));
}
