//! End-to-end tests of the real `rewind` binary.

mod common;
mod diffplan;
mod golden;
mod graph;
mod harden;
mod output;
mod rollback;
mod s3;
mod s3server;
mod schema;
mod secrets;
mod store;
