//! Terraform's types, and the type constraints of `variable` blocks.

use std::collections::BTreeMap;
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
    Object(Arc<BTreeMap<String, Type>>),
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
    pub fn object(attrs: BTreeMap<String, Type>) -> Type {
        Type::Object(Arc::new(attrs))
    }
    pub fn empty_object() -> Type {
        Type::Object(Arc::new(BTreeMap::new()))
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// The element type of a list, set or map.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// True when the type has no `Dynamic` anywhere inside.
    pub fn is_concrete(&self) -> bool {
        match self {
            Type::Dynamic => false,
            Type::Bool | Type::Number | Type::String => true,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.is_concrete(),
            Type::Tuple(ts) => ts.iter().all(Type::is_concrete),
            Type::Object(attrs) => attrs.values().all(Type::is_concrete),
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
    Object(BTreeMap<String, ObjectAttr>),
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
