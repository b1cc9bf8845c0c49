//! Rendering: everything rewind prints goes through here.

pub mod diff;
pub mod graph;
pub mod plan;
pub mod style;
