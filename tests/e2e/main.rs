//! End-to-end tests of the real `rewind` binary.

mod common;
mod graph;
mod store;
