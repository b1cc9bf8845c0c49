//! Integration tests of the object database, one module per concern.

mod crypt;
mod midx;
mod packs;
mod reflog;
