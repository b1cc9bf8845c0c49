//! An evaluator for the Terraform language.
//!
//! Values ([`Value`]) and types ([`Type`]) as Terraform has them (through
//! cty): null, bool, arbitrary-precision numbers, strings, lists, tuples,
//! sets, maps and objects, plus *unknown* values for what only apply can
//! know and the *sensitive* mark. Expressions are evaluated from the
//! model's syntax trees ([`rewind_model::Expr`]) against a [`Scope`] that
//! resolves references; the built-in functions are in [`functions`].
//!
//! ```
//! use rewind_eval::{console, EmptyScope, Evaluator};
//! let e = rewind_parse::hcl::parse_expression(r#"upper("a-${1 + 2}")"#).unwrap();
//! let v = Evaluator::new(&EmptyScope).eval(&e.canonical()).unwrap();
//! assert_eq!(console(&v), r#""A-3""#);
//! ```
//!
//! # Limitations
//! Functions that Terraform has and rewind does not evaluate give an
//! unknown value and a note ([`Evaluator::notes`]), never a guessed one;
//! docs/functions.md lists the ones it does.

pub mod convert;
mod dirfiles;
pub mod expr;
mod format;
pub mod functions;
pub mod json;
mod number;
pub mod render;
mod types;
mod value;

pub use convert::{convert, convert_constraint, ConvertError};
pub use dirfiles::DirFiles;
pub use expr::{EmptyScope, EvalError, Evaluator, Files, Limits, Scope};
pub use number::{Number, NumberError};
pub use render::{console, inline};
pub use rewind_model::Map;
pub use types::{Constraint, ObjectAttr, Type};
pub use value::{Partial, Value};
