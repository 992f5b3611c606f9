//! fwcert: a firmware security conformance test suite.
//!
//! The pipeline is `image → unpack → inventory → checks → standards →
//! report`. Each stage is a module with a typed boundary, data flows one
//! way, and no stage imports a later one (see `docs/architecture.md`):
//!
//! - [`unpack`] turns image bytes into containers, gaps and filesystem trees,
//!   with the container chain of every file and hard budgets;
//! - [`inventory`] builds a typed model of what was unpacked (files, ELF facts,
//!   accounts, components);
//! - [`checks`] runs the check families and the rule engines over the
//!   inventory and yields resolved findings and each family's coverage;
//! - [`standards`] maps findings through controls to clauses of standards and
//!   decides PASS / FAIL / INCONCLUSIVE / NOT-TESTABLE per clause;
//! - [`report`] assembles the canonical report model and renders its views.
//!
//! [`Rules`] holds everything under `checks/`, compiled once; a [`Scanner`]
//! runs the whole pipeline with them over any number of images. Rule IDs
//! are constants in [`rules`].

pub mod batch;
pub mod checks;
pub mod error;
pub mod hash;
pub mod inventory;
pub mod policy;
pub mod progress;
pub mod report;
pub mod rules;
pub mod samples;
pub mod sbom;
pub mod scan;
pub mod signing;
pub mod standards;
#[cfg(test)]
mod testing;
pub mod unpack;
pub mod vulndb;

pub use error::{Error, Result};
pub use report::model::{Report, Verdict};
pub use rules::Rules;
pub use scan::{ScanOptions, Scanner, scan_bytes, scan_path};
