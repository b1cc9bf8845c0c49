//! Synthetic Terraform trees for benchmarks (see `gen`), shared by the
//! `rewind-bench` runner and the criterion micro-benchmarks.

pub mod factory;
pub mod gen;
