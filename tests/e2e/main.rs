//! End-to-end tests of the real `rewind` binary.

mod common;
mod diffplan;
mod golden;
mod graph;
mod inputs;
mod output;
mod s3;
mod s3server;
mod schema;
mod store;
