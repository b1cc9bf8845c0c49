//! The engine's tests: snapshots into a real store, and diffs, plans and
//! graphs between directories and snapshots, on the bundled application
//! history; and a second reader of the store format, written from
//! docs/store-format.md alone, decoding a real store.

mod actor;
mod common;
mod diff;
mod links;
mod rollback;
mod snapshot;
mod store_format;
mod watch;
