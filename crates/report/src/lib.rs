//! Rendering: everything rewind prints goes through here.
//!
//! Each report reads a result (a [`rewind_diff::Diff`], a
//! [`rewind_plan::Plan`], a [`rewind_model::Model`]) and never recomputes it;
//! the JSON documents carry a format version and are described in `docs/`.

#![warn(missing_docs)]

pub mod budget;
pub mod diff;
pub mod graph;
pub mod html;
pub mod incident;
pub mod plan;
mod reduce;
pub mod stat;
pub mod style;
mod svg;
pub mod terraform_json;
pub mod view;
