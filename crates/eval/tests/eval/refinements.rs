//! What Terraform still knows of values not known yet. HCL refines a
//! template whose value is not known yet to a non-null string with a known
//! prefix (cty's `SafeKnownPrefix` of the text before the first unknown
//! part), and `==`, `!=` and `startswith()` use that; `coalesce()` stops at
//! the first usable argument. `terraform console` has no
//! unknown values, so these are checked here against the rules of HCL 2.23
//! and cty 1.16 (hclsyntax/expression_template.go, cty/ctystrings/prefix.go,
//! terraform internal/lang/funcs/string.go).

use rewind_eval::{console, EvalError, Evaluator, Scope, Type, Value};
use rewind_model::expr::TravOp;

/// `var.u`: a string not known yet; `var.o`: a deployed string rewind
/// cannot see (known to Terraform); `var.k`: the known string "k".
struct Vars;

impl Scope for Vars {
    fn resolve(
        &self,
        root: &str,
        ops: &[TravOp],
        _ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        match (root, ops.first()) {
            ("var", Some(TravOp::Attr(n))) if n == "u" => Ok((Value::Unknown(Type::String), 1)),
            ("var", Some(TravOp::Attr(n))) if n == "o" => {
                Ok((Value::Opaque(Type::String, "terraform_data.a.id".into()), 1))
            }
            ("var", Some(TravOp::Attr(n))) if n == "k" => Ok((Value::string("k"), 1)),
            _ => Err(EvalError::new("Unknown variable", root.to_string())),
        }
    }
}

fn eval(src: &str) -> String {
    let e = rewind_parse::hcl::parse_expression(src)
        .unwrap_or_else(|e| panic!("{src}: {e:?}"))
        .canonical();
    let v = Evaluator::new(&Vars)
        .eval(&e)
        .unwrap_or_else(|e| panic!("{src}: {e}"));
    if !v.is_known() {
        return "(known after apply)".into();
    }
    if v.has_opaque() {
        return "(opaque)".into();
    }
    console(&v)
}

/// Every (expression, what it gives) pair, all failures at once.
fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for &(src, want) in cases {
        let got = eval(src);
        if got != want {
            failures.push(format!("{src}: want {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_template_not_known_yet_compares_by_its_prefix() {
    let cases = [
        (r#""pre-${var.u}" != """#, "true"),
        (r#""pre-${var.u}" == "other""#, "false"),
        (r#""" == "pre-${var.u}""#, "false"),
        (r#"("pre-${var.u}") == "x""#, "false"),
        // the prefix matches: it could be equal
        (r#""pre-${var.u}" == "pre-x""#, "(known after apply)"),
        // known parts before the first unknown one count
        (r#""${var.k}-${var.u}" == "x""#, "false"),
        (r#""${var.k}-${var.u}" == "k-x""#, "(known after apply)"),
        // a template is never null
        (r#""pre-${var.u}" == null"#, "false"),
        (r#""${var.u}x" != null"#, "true"),
        // one interpolation is the value itself: no refinement
        (r#""${var.u}" == "x""#, "(known after apply)"),
        (r#"var.u == """#, "(known after apply)"),
        // the last letter may combine with what follows: "pr" is all cty keeps
        (r#""pre${var.u}" == "pe""#, "false"),
        (r#""pre${var.u}" == "pra""#, "(known after apply)"),
        // a deployed value rewind cannot see: Terraform knows the string,
        // and it starts with the prefix
        (r#""pre-${var.o}" != """#, "true"),
        (r#""pre-${var.o}" == "pre-x""#, "(opaque)"),
    ];
    check(&cases);
}

#[test]
fn startswith_reads_the_known_prefix() {
    let cases = [
        (r#"startswith("pre-${var.u}", "pre")"#, "true"),
        (r#"startswith("pre-${var.u}", "pre-")"#, "true"),
        (r#"startswith("pre-${var.u}", "post")"#, "false"),
        // longer than what is known: cannot tell
        (
            r#"startswith("pre-${var.u}", "pre-x")"#,
            "(known after apply)",
        ),
        // "pre" keeps only "pr" (a letter may combine with what follows)
        (r#"startswith("pre${var.u}", "pre")"#, "(known after apply)"),
        (r#"startswith("pre${var.u}", "px")"#, "false"),
        (r#"startswith(var.u, "")"#, "true"),
        (r#"startswith(var.u, "a")"#, "(known after apply)"),
        (r#"startswith("pre-${var.o}", "pre")"#, "true"),
        (r#"startswith("pre-${var.k}", "pre-k")"#, "true"),
    ];
    check(&cases);
}

/// `coalesce` takes its arguments in order: one not known yet (or not
/// visible to rewind) after the one that decides does not matter
/// (Terraform's CoalesceFunc allows unknown arguments).
#[test]
fn coalesce_stops_at_the_first_usable_argument() {
    check(&[
        (r#"coalesce("a", var.u)"#, r#""a""#),
        (r#"coalesce(null, "b", var.u)"#, r#""b""#),
        (r#"coalesce(var.u, "a")"#, "(known after apply)"),
        (r#"coalesce("", var.u)"#, "(known after apply)"),
        (r#"coalesce("a", var.o)"#, r#""a""#),
        (r#"coalesce(var.o, "a")"#, "(opaque)"),
        (r#"upper(coalesce("v15", jsonencode([var.u])))"#, r#""V15""#),
    ]);
}
