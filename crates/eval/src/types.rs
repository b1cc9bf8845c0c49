//! Terraform's types, and the type constraints of `variable` blocks.

use rewind_model::Map;
use std::fmt;
use std::sync::Arc;

/// The type of a value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// Not decided yet (`any`, the type of `null` and of unknown values
    /// whose type is not known).
    Dynamic,
    Bool,
    Number,
    String,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Arc<Vec<Type>>),
    Object(Arc<Map<String, Type>>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn tuple(ts: Vec<Type>) -> Type {
        Type::Tuple(Arc::new(ts))
    }
    pub fn object(attrs: Map<String, Type>) -> Type {
        Type::Object(Arc::new(attrs))
    }
    pub fn empty_object() -> Type {
        Type::Object(Arc::new(Map::new()))
    }

    pub(crate) fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// The element type of a list, set or map.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// The name Terraform uses in messages: `string`, `list of string`,
    /// `object`, `tuple`, `dynamic`.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Dynamic => "dynamic".into(),
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::List(t) => format!("list of {}", t.friendly_name()),
            Type::Set(t) => format!("set of {}", t.friendly_name()),
            Type::Map(t) => format!("map of {}", t.friendly_name()),
            Type::Tuple(_) => "tuple".into(),
            Type::Object(_) => "object".into(),
        }
    }
}

impl fmt::Display for Type {
    /// The type in Terraform's type-expression syntax (`list(string)`,
    /// `object({a=number})`), as the console's `type()` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dynamic => f.write_str("dynamic"),
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {t}")?;
                }
                f.write_str("})")
            }
        }
    }
}

/// A type constraint as written in a `variable` block: a type that may
/// leave parts open (`any`) and objects with optional attributes and their
/// defaults (`optional(string, "x")`).
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    /// `any`, or no `type` at all.
    Any,
    Bool,
    Number,
    String,
    List(Box<Constraint>),
    Set(Box<Constraint>),
    Map(Box<Constraint>),
    Tuple(Vec<Constraint>),
    Object(Map<String, ObjectAttr>),
}

/// One attribute of an object constraint.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectAttr {
    pub constraint: Constraint,
    pub optional: bool,
    /// The default of an `optional(type, default)` attribute.
    pub default: Option<crate::Value>,
}

impl Constraint {
    /// The type a value of this constraint has once converted, as far as
    /// the constraint decides it (`any` parts stay `Dynamic`).
    pub fn to_type(&self) -> Type {
        match self {
            Constraint::Any => Type::Dynamic,
            Constraint::Bool => Type::Bool,
            Constraint::Number => Type::Number,
            Constraint::String => Type::String,
            Constraint::List(c) => Type::list(c.to_type()),
            Constraint::Set(c) => Type::set(c.to_type()),
            Constraint::Map(c) => Type::map(c.to_type()),
            Constraint::Tuple(cs) => Type::tuple(cs.iter().map(Constraint::to_type).collect()),
            Constraint::Object(attrs) => Type::object(
                attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), a.constraint.to_type()))
                    .collect(),
            ),
        }
    }
}

impl Constraint {
    /// Reads a type constraint expression (`string`, `list(number)`,
    /// `object({ name = string, size = optional(number, 1) })`, `any`).
    pub fn from_expr(e: &rewind_model::Expr) -> Result<Constraint, crate::EvalError> {
        use rewind_model::expr::Expr;
        let bad = invalid_constraint;
        match e.unparen() {
            Expr::Traversal { root, ops, .. } if ops.is_empty() => match root.as_str() {
                "any" => Ok(Constraint::Any),
                "string" => Ok(Constraint::String),
                "number" => Ok(Constraint::Number),
                "bool" => Ok(Constraint::Bool),
                // a bare `list`/`map`/`set` is the legacy form of `list(any)`
                "list" => Ok(Constraint::List(Box::new(Constraint::Any))),
                "map" => Ok(Constraint::Map(Box::new(Constraint::Any))),
                "set" => Ok(Constraint::Set(Box::new(Constraint::Any))),
                other => Err(bad(other.to_string())),
            },
            Expr::Template(parts) => match parts.as_slice() {
                // legacy quoted types
                [rewind_model::expr::Part::Lit(s)] => match s.as_str() {
                    "string" => Ok(Constraint::String),
                    "list" => Ok(Constraint::List(Box::new(Constraint::Any))),
                    "map" => Ok(Constraint::Map(Box::new(Constraint::Any))),
                    other => Err(bad(format!("{other:?}"))),
                },
                _ => Err(bad(e.to_string())),
            },
            Expr::Call { name, args, .. } => {
                let one = || -> Result<&Expr, crate::EvalError> {
                    match args.as_slice() {
                        [a] => Ok(a),
                        _ => Err(bad(e.to_string())),
                    }
                };
                match name.as_str() {
                    "list" => Ok(Constraint::List(Box::new(Constraint::from_expr(one()?)?))),
                    "set" => Ok(Constraint::Set(Box::new(Constraint::from_expr(one()?)?))),
                    "map" => Ok(Constraint::Map(Box::new(Constraint::from_expr(one()?)?))),
                    "tuple" => match one()?.unparen() {
                        Expr::Tuple(items) => Ok(Constraint::Tuple(
                            items
                                .iter()
                                .map(Constraint::from_expr)
                                .collect::<Result<_, _>>()?,
                        )),
                        _ => Err(bad(e.to_string())),
                    },
                    "object" => match one()?.unparen() {
                        Expr::Object(items) => {
                            let mut attrs = Map::new();
                            for (k, v) in items {
                                let name = rewind_model::expr::static_key(k)
                                    .ok_or_else(|| bad(e.to_string()))?;
                                attrs.insert(name, Constraint::object_attr(v)?);
                            }
                            Ok(Constraint::Object(attrs))
                        }
                        _ => Err(bad(e.to_string())),
                    },
                    _ => Err(bad(e.to_string())),
                }
            }
            _ => Err(bad(e.to_string())),
        }
    }
    /// One attribute of an `object({...})` constraint, written `v`: a
    /// constraint, or `optional(constraint)` / `optional(constraint,
    /// default)`, whose default must convert to the constraint.
    fn object_attr(v: &rewind_model::Expr) -> Result<ObjectAttr, crate::EvalError> {
        use rewind_model::expr::Expr;
        let (c, d) = match v.unparen() {
            Expr::Call { name: f, args, .. } if f == "optional" => match args.as_slice() {
                [c] => (c, None),
                [c, d] => (c, Some(d)),
                _ => return Err(invalid_constraint(v.to_string())),
            },
            other => {
                return Ok(ObjectAttr {
                    constraint: Constraint::from_expr(other)?,
                    optional: false,
                    default: None,
                })
            }
        };
        let constraint = Constraint::from_expr(c)?;
        let default = match d {
            None => None,
            Some(d) => {
                let dv = crate::Evaluator::new(&crate::EmptyScope).eval(d)?;
                Some(
                    crate::convert::convert_constraint(&dv, &constraint).map_err(|err| {
                        crate::EvalError::new(
                            "Invalid default value for optional attribute",
                            err.to_string(),
                        )
                    })?,
                )
            }
        };
        Ok(ObjectAttr {
            constraint,
            optional: true,
            default,
        })
    }
}

/// The error for `what`, which is not a type constraint.
fn invalid_constraint(what: String) -> crate::EvalError {
    crate::EvalError::new(
        "Invalid type specification",
        format!("{what} is not a valid type constraint"),
    )
}
