//! Objects rewind sees in part (`Value::Partial`): a resource instance of
//! a provider whose schema rewind lacks. The attributes its configuration
//! sets are known; any other attribute reads as what the whole object
//! stands for: unknown (being created) or opaque (deployed, no state).
//! Whole-object operations treat it as that, never as a smaller object.

use rewind_eval::{console, inline, EvalError, Evaluator, Map, Scope, Type, Value};
use rewind_model::expr::TravOp;

fn account(name: &str, rest: Value) -> Value {
    let mut attrs = Map::new();
    attrs.insert("account_id".to_string(), Value::string(name));
    Value::partial(std::sync::Arc::new(attrs), rest)
}

/// `var.deployed`: an object of two deployed accounts (no state);
/// `var.created`: one being created.
struct Vars;

impl Scope for Vars {
    fn resolve(
        &self,
        root: &str,
        ops: &[TravOp],
        _ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        let deployed = |k: &str| {
            account(
                &format!("sa-{k}"),
                Value::Opaque(Type::Dynamic, format!("sa.this[\"{k}\"]").into()),
            )
        };
        match (root, ops.first()) {
            ("var", Some(TravOp::Attr(n))) if n == "deployed" => {
                let mut m = Map::new();
                m.insert("a".to_string(), deployed("a"));
                m.insert("b".to_string(), deployed("b"));
                Ok((Value::object(m), 1))
            }
            ("var", Some(TravOp::Attr(n))) if n == "created" => {
                Ok((account("sa-new", Value::unknown()), 1))
            }
            _ => Err(EvalError::new("Unknown variable", root.to_string())),
        }
    }
}

fn eval(src: &str) -> Result<Value, EvalError> {
    let e = rewind_parse::hcl::parse_expression(src)
        .unwrap_or_else(|e| panic!("{src}: {e:?}"))
        .canonical();
    Evaluator::new(&Vars).eval(&e)
}

fn shown(src: &str) -> String {
    match eval(src) {
        Ok(v) => inline(&v),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn attributes_the_configuration_sets_are_known_the_others_follow_the_object() {
    let cases = [
        // set in configuration: known
        ("var.deployed.a.account_id", "\"sa-a\""),
        ("var.deployed[\"b\"][\"account_id\"]", "\"sa-b\""),
        ("var.created.account_id", "\"sa-new\""),
        // computed by the provider: deployed but unseen, or unknown
        ("var.deployed.a.email", "(deployed sa.this[\"a\"].email)"),
        (
            "var.deployed.b[\"email\"]",
            "(deployed sa.this[\"b\"].email)",
        ),
        ("var.created.email", "(known after apply)"),
        // through for, values()[*], a splat of one object, try()
        (
            "[for sa in var.deployed : sa.email]",
            "[(deployed sa.this[\"a\"].email), (deployed sa.this[\"b\"].email)]",
        ),
        (
            "{ for k, sa in var.deployed : k => sa.account_id }",
            "{ a = \"sa-a\", b = \"sa-b\" }",
        ),
        (
            "values(var.deployed)[*].email",
            "[(deployed sa.this[\"a\"].email), (deployed sa.this[\"b\"].email)]",
        ),
        ("var.created[*].account_id", "[\"sa-new\"]"),
        (
            "try(var.deployed.a.email, \"none\")",
            "(deployed sa.this[\"a\"].email)",
        ),
        // an attribute of an attribute rewind cannot see
        (
            "var.deployed.a.labels.team",
            "(deployed sa.this[\"a\"].labels.team)",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(src, want)| {
            let got = shown(src);
            (got != *want).then(|| format!("{src}: want {want}, got {got}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn whole_object_operations_never_invent_a_known_value() {
    // keys(), length() and jsonencode() of the object depend on attributes
    // rewind does not see: not known to rewind, never the configured ones
    for src in [
        "keys(var.deployed.a)",
        "length(var.deployed.a)",
        "jsonencode(var.deployed.a)",
        "merge(var.deployed.a, { x = 1 })",
    ] {
        let v = eval(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(v.has_opaque() || !v.is_known(), "{src}: {}", console(&v));
    }
    for src in [
        "keys(var.created)",
        "length(var.created)",
        "jsonencode(var.created)",
    ] {
        let v = eval(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        assert!(!v.is_wholly_known(), "{src}: {}", console(&v));
    }
    // the same deployed object is equal to itself, another one is not known
    // to be
    assert_eq!(shown("var.deployed.a == var.deployed.a"), "true");
    let other = eval("var.deployed.a == var.deployed.b").unwrap();
    assert!(other.as_bool().is_none(), "{}", console(&other));
}

#[test]
fn a_partial_object_converts_to_an_object_type_attribute_by_attribute() {
    let v = eval("var.deployed.a").unwrap();
    let want = Type::object(
        [
            ("account_id".to_string(), Type::String),
            ("email".to_string(), Type::String),
        ]
        .into_iter()
        .collect(),
    );
    let c = rewind_eval::convert(&v, &want).unwrap();
    assert_eq!(
        inline(&c),
        "{ account_id = \"sa-a\", email = (deployed sa.this[\"a\"].email) }"
    );
    assert_eq!(c.ty(), want);
    // a string it cannot be (as an object cannot), but rewind does not know
    // the attributes to say so: what it converts to is not seen either
    let s = rewind_eval::convert(&v, &Type::String).unwrap();
    assert!(s.has_opaque(), "{}", console(&s));
}
