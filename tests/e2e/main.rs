//! End-to-end tests of the real `rewind` binary.

mod common;
mod diffplan;
mod graph;
mod schema;
mod store;
