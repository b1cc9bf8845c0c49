//! Rendering: everything rewind prints goes through here.

pub mod graph;
pub mod style;
