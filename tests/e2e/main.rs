//! End-to-end tests of the real `rewind` binary.

mod cache_state;
mod common;
mod diffplan;
mod encrypt;
mod golden;
mod graph;
mod harden;
mod html;
mod inputs;
mod kmsserver;
mod links;
mod merge_vars;
mod oracle;
mod output;
mod render;
mod reports;
mod rollback;
mod s3;
mod s3server;
mod schema;
mod secrets;
mod store;
mod storeformat;
mod tfjson;
