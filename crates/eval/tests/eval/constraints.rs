//! Type constraints as a `variable` block's `type` writes them: every kind
//! of constraint, `object({...})` attributes with `optional(type)` and
//! `optional(type, default)` (the default converted to the type), and the
//! errors Terraform gives for what is not a constraint.

use rewind_eval::{console, Constraint, EvalError, ObjectAttr, Value};

fn constraint(src: &str) -> Result<Constraint, EvalError> {
    let e = rewind_parse::hcl::parse_expression(src)
        .unwrap_or_else(|e| panic!("{src}: {e:?}"))
        .canonical();
    Constraint::from_expr(&e)
}

fn attr(c: &Constraint, name: &str) -> ObjectAttr {
    match c {
        Constraint::Object(attrs) => attrs
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no attribute {name} in {c:?}")),
        other => panic!("not an object constraint: {other:?}"),
    }
}

#[test]
fn object_attributes_are_required_or_optional_with_a_converted_default() {
    let c = constraint(
        r#"object({
            name = string
            size = optional(number, "3")
            tags = optional(map(string))
            rules = list(object({ port = number, cidr = optional(string, "0.0.0.0/0") }))
        })"#,
    )
    .unwrap();
    let name = attr(&c, "name");
    assert_eq!(name.constraint, Constraint::String);
    assert!(!name.optional);
    assert_eq!(name.default, None);

    let size = attr(&c, "size");
    assert_eq!(size.constraint, Constraint::Number);
    assert!(size.optional);
    // the default "3" is converted to the attribute's type: a number
    let default = size.default.expect("size has a default");
    assert_eq!(default, Value::int(3));
    assert_eq!(console(&default), "3");

    let tags = attr(&c, "tags");
    assert_eq!(
        tags.constraint,
        Constraint::Map(Box::new(Constraint::String))
    );
    assert!(tags.optional);
    assert_eq!(tags.default, None);

    let rules = attr(&c, "rules");
    let Constraint::List(inner) = &rules.constraint else {
        panic!("rules: {:?}", rules.constraint);
    };
    let cidr = attr(inner, "cidr");
    assert!(cidr.optional);
    assert_eq!(cidr.default, Some(Value::string("0.0.0.0/0")));
    assert!(!attr(inner, "port").optional);
}

#[test]
fn every_kind_of_constraint_reads_as_terraform_writes_it() {
    let any = || Box::new(Constraint::Any);
    for (src, want) in [
        ("any", Constraint::Any),
        ("bool", Constraint::Bool),
        ("(number)", Constraint::Number),
        ("list", Constraint::List(any())),
        ("map", Constraint::Map(any())),
        ("set", Constraint::Set(any())),
        ("\"string\"", Constraint::String),
        ("\"list\"", Constraint::List(any())),
        (
            "set(list(bool))",
            Constraint::Set(Box::new(Constraint::List(Box::new(Constraint::Bool)))),
        ),
        (
            "tuple([string, number])",
            Constraint::Tuple(vec![Constraint::String, Constraint::Number]),
        ),
    ] {
        assert_eq!(constraint(src).unwrap(), want, "{src}");
    }
}

#[test]
fn what_is_not_a_constraint_is_an_error_naming_it() {
    for (src, summary, detail) in [
        (
            "strin",
            "Invalid type specification",
            "strin is not a valid type constraint",
        ),
        (
            "\"set\"",
            "Invalid type specification",
            "\"set\" is not a valid type constraint",
        ),
        (
            "list(string, number)",
            "Invalid type specification",
            "is not a valid type constraint",
        ),
        (
            "tuple(string)",
            "Invalid type specification",
            "is not a valid type constraint",
        ),
        (
            "object({ a = optional() })",
            "Invalid type specification",
            "optional() is not a valid type constraint",
        ),
        (
            "object({ a = optional(number, 1, 2) })",
            "Invalid type specification",
            "is not a valid type constraint",
        ),
        (
            "object({ a = optional(number, \"many\") })",
            "Invalid default value for optional attribute",
            "",
        ),
        (
            "object({ a = optional(strin) })",
            "Invalid type specification",
            "strin is not a valid type constraint",
        ),
    ] {
        let err = constraint(src).expect_err(src);
        assert_eq!(err.summary, summary, "{src}: {err}");
        assert!(err.detail.contains(detail), "{src}: {}", err.detail);
    }
}
