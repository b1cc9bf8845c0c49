//! Discovery and parsing of Terraform configuration, variable files and
//! state into rewind's model.

pub mod config;
mod encode;
mod goversion;
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

/// `parts` one after the other, in a string of exactly their length: the
/// addresses a load makes for every node and reference (`format!` of a
/// few strings costs several times the copying, and grows its string).
pub(crate) fn concat(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}
pub use config::{body_edits, may_refer_to, AddedBlock, BlockEdit, FileEdits, RemovedBlock};
pub use load::{
    discover, discover_unfollowed_links, discover_with_dirs, load, parse_dir, Cache, Discovered,
    FileKind, FileStat, LoadError, Loaded, Options, Parsed, ParsedDir, SourceFile,
};
pub use load::{mark_secret_names, read_regular};
pub use merge::is_override_file;
pub use sensitive::{add_secret_paths, secret_reads, type_key};
pub use state::{scan_state, StateResource, StateScan};

#[cfg(test)]
mod tests {
    #[test]
    fn concat_joins_in_a_string_of_exactly_their_length() {
        let s = super::concat(&["module.net.", "aws_vpc", ".", "main"]);
        assert_eq!(s, "module.net.aws_vpc.main");
        assert_eq!(s.capacity(), s.len());
        assert_eq!(super::concat(&[]), "");
        assert_eq!(super::concat(&["", "ünï", ""]), "ünï");
    }
}
