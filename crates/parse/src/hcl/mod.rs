//! A native HCL (HashiCorp Configuration Language) parser.
//!
//! It parses the native syntax into a small syntax tree with byte offsets,
//! following what Terraform's parser (hclsyntax) accepts and rejects, which
//! differs from hcl-rs 0.20 in places: a UTF-8 byte order mark is skipped,
//! a repeated key in an object constructor keeps the last value, nesting is
//! limited only by an explicit guard (500 levels of brackets), `<<-`
//! heredocs are trimmed with hclsyntax's rule (the line with the least
//! leading white space, a line that starts with an interpolation counting
//! as zero) and a closing marker is its line trimmed of white space.
//! hclsyntax's rules on lines are kept too: a newline ends an argument, an
//! object item and an expression outside brackets; a block opened with a
//! newline closes on a line of its own; a single-line block holds one
//! argument.
//!
//! Limitations: hclsyntax's scanner skips some stray bytes that are not
//! UTF-8 between tokens (`a =\xe6 false`); rewind rejects them (only
//! comments may hold such bytes).

mod ast;
mod canon;
mod locate;
mod parser;

pub use ast::*;
pub use canon::{collect_refs, print_expr, static_key, to_value, Reference};
pub(crate) use canon::{for_each_ref, push_step, with_static_key};
pub use locate::{json_value_position, value_position};
pub use parser::{
    parse_body, parse_body_bytes, parse_expression, parse_template, quoted_text, LineIndex,
    ParseError,
};

#[cfg(test)]
mod tests;
