pub mod hcl;
