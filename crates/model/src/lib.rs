//! The data model shared by every stage of rewind.
//!
//! A [`Model`] is what one directory of Terraform code means: configuration
//! [`Node`]s keyed by Terraform address, the [`Edge`]s between them, and the
//! deployed instances read from state files. Every node has a canonical,
//! location-free content encoding ([`codec`]) whose blake3 hash ([`Hash`](struct@Hash)) is
//! what the store deduplicates and the diff compares.

mod address;
pub mod codec;
pub mod expr;
mod facts;
pub mod graph;
mod hash;
pub mod map;
mod node;
pub mod parts;
pub mod value;

pub use address::{
    quote_key, AddressError, DeposedKey, InstanceAddr, InstanceKey, Mode, ModuleInstance,
    ModuleStep, ResourceAddr,
};
pub use expr::Expr;
pub use facts::{Blank, Facts, InputKind, ModuleSource, MoreFacts, NodeFacts, ObjectMode, Sparse};
pub use graph::{Cycle, Graph};
pub use hash::{Hash, HashParseError};
pub use map::Map;
pub use node::{
    sort_by_address, Diagnostic, Edge, EdgeKind, Lifecycle, Loc, Model, Node, NodeKind, Severity,
    StateInfo,
};
pub use value::{Path, PathStep, Value};
