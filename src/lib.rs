//! fwcert: a firmware security conformance test suite.
//!
//! The pipeline is `image → unpack → inventory → checks → verdicts → report`.
//! Each stage is a module with a typed boundary and data flows one way:
//!
//! - [`unpack`] turns image bytes into containers, gaps and filesystem trees,
//!   with the container chain of every file and hard budgets;
//! - [`inventory`] builds a typed model of what was unpacked (files, ELF facts,
//!   accounts, components);
//! - [`checks`] runs rule families over the inventory and yields findings;
//! - [`standards`] maps findings through controls to clauses of standards and
//!   decides PASS / FAIL / INCONCLUSIVE / NOT-TESTABLE per clause;
//! - [`report`] holds the canonical report model and its renderers.
//!
//! [`scan`] runs the whole pipeline.

pub mod checks;
pub mod error;
pub mod hash;
pub mod inventory;
pub mod progress;
pub mod report;
pub mod samples;
pub mod scan;
pub mod standards;
pub mod unpack;

pub use error::{Error, Result};
pub use report::model::{Report, Verdict};
pub use scan::{ScanOptions, scan_bytes, scan_path};
