//! A native HCL (HashiCorp Configuration Language) parser.
//!
//! It parses the native syntax into a small syntax tree with byte offsets,
//! following the HCL specification and Terraform's behaviour where the two
//! differ from hcl-rs 0.20: a UTF-8 byte order mark is skipped, a repeated
//! key in an object constructor keeps the last value, nesting is limited
//! only by an explicit depth guard (256), and `<<-` heredocs are trimmed
//! with hclsyntax's rule (the line with the least leading white space, a
//! line that starts with an interpolation counting as zero).

mod ast;
mod canon;
mod parser;

pub use ast::*;
pub use canon::{collect_refs, print_expr, static_key, to_value, Reference};
pub use parser::{
    parse_body, parse_body_bytes, parse_expression, parse_template, LineIndex, ParseError,
};

#[cfg(test)]
mod tests;
