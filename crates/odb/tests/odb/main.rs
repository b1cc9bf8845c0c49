//! Integration tests of the object database, one module per concern.

mod crypt;
mod packs;
mod reflog;
