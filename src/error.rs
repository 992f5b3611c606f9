//! Errors that stop a whole operation.
//!
//! Problems *inside* an image (a corrupt container, a budget hit) are not
//! errors: they become incidents in the report and make the verdicts they
//! touch INCONCLUSIVE. This type is for what prevents a report altogether:
//! an unreadable input file, a broken rule set, an output that cannot be
//! written.

use std::path::PathBuf;

/// The library's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    ReadInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    WriteOutput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rule set: {file}: {message}")]
    RuleSet { file: String, message: String },
    #[error("a check reported rule {rule} (at {path}), which the rule set does not have")]
    UnknownRule { rule: String, path: String },
    #[error("{path}: {message}")]
    InputFormat { path: PathBuf, message: String },
    #[error("unknown profile `{0}` (see `fwcert rules profiles`)")]
    UnknownProfile(String),
    #[error(transparent)]
    Declaration(#[from] crate::standards::DeclarationError),
    #[error("declaration {declaration} is for the image with SHA-256 {declared}, but the scanned image has {scanned}")]
    DeclarationMismatch {
        declaration: String,
        declared: String,
        scanned: String,
    },
}

/// Shorthand used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
