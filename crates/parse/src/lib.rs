//! Discovery and parsing of Terraform configuration, variable files and
//! state into rewind's model.

pub mod config;
mod encode;
pub mod hcl;
pub mod inputs;
pub mod json;
pub mod load;
mod merge;
pub mod redact;
pub mod sensitive;
pub mod state;

/// Stack size of parsing threads: deeply nested input recurses deeply
/// (virtual memory; only what is touched is used).
pub const PARSE_STACK: usize = 256 << 20;
pub use encode::PARSE_CACHE_VERSION;
pub use load::read_regular;
pub use load::{
    discover, discover_unfollowed_links, load, parse_dir, Cache, FileKind, FileStat, LoadError,
    Loaded, Options, Parsed, ParsedDir, SourceFile,
};
