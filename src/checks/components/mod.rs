//! The `components` family: known vulnerabilities and end of life of the
//! components the inventory identified, from offline data with sources.

pub mod data;
