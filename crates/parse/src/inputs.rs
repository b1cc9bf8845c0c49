//! Inputs given beside a directory, the way Terraform takes them: a state
//! from elsewhere (`--state FILE|-`, e.g. `terraform state pull`), and
//! values of root module variables from `TF_VAR_name`, `-var-file` and
//! `-var`.
//!
//! Variable values become two `tfvars` nodes of the model, so they are
//! stored with a snapshot, diffed and planned like the variable files
//! Terraform loads by itself:
//!
//! * `tfvars["(environment)"]`: `TF_VAR_name` values, which Terraform
//!   ranks below every variable file;
//! * `tfvars["(command line)"]`: `-var-file` and `-var` values merged in
//!   command-line order (a later one wins), ranked above everything else.
//!
//! Each carries the facts `input` (`env` or `cli`) and `sources` (where
//! each value came from).

use std::path::{Path, PathBuf};

use rewind_model::{Map, Node, NodeKind, Value};

/// A state file given from elsewhere, used instead of any state file of
/// the directory.
#[derive(Clone, Debug)]
pub struct ExternalState {
    /// How to name it in messages (`FILE`, or `(standard input)`).
    pub shown: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Where a snapshot's tree keeps a state given with [`ExternalState`],
/// under the root module's directory: a name Terraform never reads (it
/// reads `terraform.tfstate` only, and a `terraform init` with a remote
/// backend would offer to migrate that one), which rewind finds again in a
/// checked-out directory.
pub const EXTERNAL_STATE_FILE: &str = "rewind.pulled.tfstate";

/// One source of variable values on a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSource {
    /// `TF_VAR_name=value` from the environment (name, raw value).
    Env(String, String),
    /// `-var-file FILE` (`.json` files are JSON, the others HCL).
    File(PathBuf),
    /// `-var NAME=VALUE` (name, raw value).
    Var(String, String),
}

/// Address of the node holding `TF_VAR_*` values.
pub(crate) const ENV_INPUT: &str = "tfvars[\"(environment)\"]";
/// Address of the node holding `-var-file` and `-var` values.
pub(crate) const CLI_INPUT: &str = "tfvars[\"(command line)\"]";

/// How Terraform reads a raw value given on the command line or in the
/// environment for a variable: as a literal string when its type is a
/// primitive (`string`, `number`, `bool`) or it has no type, converted to
/// the type afterwards (`-var n=3` is the string "3", then the number 3;
/// `-var n=three` is refused, `-var on=1` is true); otherwise (a
/// collection, an object, `any`) as an HCL expression (Terraform's
/// `VariableParseLiteral` and `VariableParseHCL`).
pub(crate) fn is_literal_mode(var: Option<&Node>) -> bool {
    let Some(ty) = var.and_then(|n| n.body.get("type")) else {
        return true;
    };
    let primitive = |s: &str| matches!(s, "string" | "number" | "bool");
    match ty {
        Value::String(s) => primitive(s),
        Value::Expr(e) => {
            matches!(&**e, rewind_model::expr::Expr::Traversal { root, ops, .. } if primitive(root) && ops.is_empty())
        }
        _ => false,
    }
}

/// Where `terraform workspace select` records the workspace, under the
/// root module's directory.
pub const ENVIRONMENT_FILE: &str = ".terraform/environment";

/// The workspace of root module directory `dir`: the one `given`, else
/// the one `terraform workspace select` recorded, else `default`.
pub fn workspace_of(dir: &Path, given: Option<&str>) -> std::io::Result<String> {
    if let Some(w) = given {
        return Ok(w.to_string());
    }
    match std::fs::read_to_string(dir.join(ENVIRONMENT_FILE)) {
        Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Ok(_) => Ok("default".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok("default".into()),
        Err(e) => Err(e),
    }
}

/// Why a raw value does not convert to a `number` or `bool` variable's
/// type, as Terraform converts a string (`-var n=three` is refused, not
/// replaced by the default): `None` when it converts or the type is
/// another. The plan converts it again, with every other value.
pub(crate) fn unsuitable_literal(var: &Node, raw: &str) -> Option<&'static str> {
    let ty = match var.body.get("type")? {
        Value::String(s) => s.as_str(),
        Value::Expr(e) => match &**e {
            rewind_model::expr::Expr::Traversal { root, ops, .. } if ops.is_empty() => root,
            _ => return None,
        },
        _ => return None,
    };
    match ty {
        "bool" => match raw {
            "true" | "false" | "1" | "0" => None,
            r if matches!(r.to_lowercase().as_str(), "true" | "false") => Some(
                "a bool is required; to convert from string, use lowercase \"true\" or \"false\"",
            ),
            _ => Some("a bool is required"),
        },
        "number" => (!is_number_text(raw)).then_some("a number is required"),
        _ => None,
    }
}

/// Decimal number text as Terraform reads a number from a string:
/// `[-+]digits[.digits][e[-+]digits]`, or an infinity (`inf`, `-Inf`).
fn is_number_text(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(body, "Inf" | "inf") {
        return true;
    }
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

/// Parses a raw value as an HCL expression (what Terraform does with
/// `-var` values of variables of a collection or structural type): a
/// constant, as in a variable file.
pub(crate) fn parse_hcl_value(name: &str, raw: &str) -> Result<Value, String> {
    let src = format!("v = {raw}\n");
    let (src, body) = crate::hcl::parse_body_bytes(src.as_bytes());
    let body = body.map_err(|e| e.message)?;
    let v = crate::config::tfvars_value(&body, &src).map_err(|(_, _, m)| m)?;
    let _ = name;
    v.get("v")
        .cloned()
        .ok_or_else(|| "the value is empty".to_string())
}

/// A `tfvars` node of command-line values.
pub(crate) fn input_node(
    address: &str,
    kind: rewind_model::InputKind,
    values: Map<String, Value>,
    sources: Map<String, Value>,
) -> Node {
    let mut node = Node::new(NodeKind::Tfvars, address.to_string());
    node.type_ = address
        .trim_start_matches("tfvars[\"")
        .trim_end_matches("\"]")
        .to_string();
    node.body = Value::Map(values).into();
    node.facts.more.input = Some(kind);
    node.facts.more.sources = Some(sources);
    node
}
