//! The format table: one row per container or filesystem format.
//!
//! A format is a [`Format`] value in [`FORMATS`] plus one file in this folder
//! with two functions:
//! - `parse` validates a header found at a signature hit and returns its
//!   extent and a description. It does no I/O and is cheap.
//! - `extract` turns the bytes of that extent into children: sub-ranges of
//!   the same bytes, decompressed payloads, or a filesystem tree written
//!   through the [`Sink`](super::tree::Sink).

use std::collections::BTreeMap;

use super::budget::{Budget, BudgetExceeded, Deadline};
use super::tree::FsTree;

pub mod gzip;
pub mod lzma;
pub mod squashfs;
pub mod tplink;
pub mod uimage;
pub mod xz;

/// A byte pattern and where it sits relative to the container's start.
#[derive(Debug, Clone, Copy)]
pub struct Magic {
    pub bytes: &'static [u8],
    pub at: usize,
}

impl Magic {
    pub const fn at_start(bytes: &'static [u8]) -> Self {
        Magic { bytes, at: 0 }
    }
}

/// How sure a parser is that a hit is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Magic plus plausible fields.
    Low,
    /// Several fields cross-checked.
    Medium,
    /// A checksum over the header matched.
    High,
}

/// What `parse` learned from a header.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The container's length from its start, if the header gives it.
    /// `None` for streams whose end is only known after decoding.
    pub len: Option<u64>,
    pub confidence: Confidence,
    /// One line for humans, e.g. `uImage "Linux-2.6.31" MIPS kernel, lzma`.
    pub description: String,
    /// Header fields worth reporting, by name.
    pub facts: BTreeMap<String, String>,
}

/// Why a hit is not this format. Only for logs and tests; rejected hits are
/// not containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject(pub String);

impl Reject {
    pub fn new(why: impl Into<String>) -> Self {
        Reject(why.into())
    }
}

/// Shorthand for header parsers: turn a missing field into a rejection.
pub fn need<T>(v: Option<T>, what: &str) -> Result<T, Reject> {
    v.ok_or_else(|| Reject(format!("header truncated at {what}")))
}

/// One thing an extractor found inside its container.
#[derive(Debug)]
pub enum Child {
    /// A region of the container's own bytes, to be scanned in place.
    /// `offset` is relative to the container's start.
    Range { offset: u64, len: u64 },
    /// Bytes produced by decoding (a decompressed stream).
    Payload { data: Vec<u8> },
    /// A filesystem.
    Tree(FsTree),
}

/// The result of an extraction. A non-empty `problems` list makes the
/// container `partial`: something in it was not unpacked.
#[derive(Debug, Default)]
pub struct Extraction {
    pub children: Vec<Child>,
    pub problems: Vec<String>,
    /// Bytes of the container actually consumed, when only decoding could
    /// tell (streams).
    pub consumed: Option<u64>,
}

impl Extraction {
    pub fn problem(&mut self, why: impl Into<String>) {
        self.problems.push(why.into());
    }
}

/// Why an extraction produced nothing usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("{0}")]
    Corrupt(String),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Budget(#[from] BudgetExceeded),
}

/// What an extractor may use: the shared budget and its own deadline.
pub struct ExtractCtx<'b> {
    pub budget: &'b mut Budget,
    pub deadline: Deadline,
}

pub type ParseFn = fn(&[u8]) -> Result<Parsed, Reject>;
pub type ExtractFn = fn(&[u8], &Parsed, &mut ExtractCtx) -> Result<Extraction, ExtractError>;

/// One row of the format table.
pub struct Format {
    /// Short lower-case name used in reports and container chains.
    pub name: &'static str,
    pub magics: &'static [Magic],
    pub parse: ParseFn,
    pub extract: ExtractFn,
    /// Whether a hit may be carved at any offset of a raw blob. Formats with
    /// weak magic are only recognised at the start of a file.
    pub carve: bool,
}

/// Every format fwcert recognises, in priority order: where two hits start
/// at the same offset, the earlier row wins.
pub static FORMATS: &[Format] = &[
    tplink::FORMAT,
    uimage::FORMAT,
    squashfs::FORMAT_LE,
    squashfs::FORMAT_BE,
    xz::FORMAT,
    gzip::FORMAT,
    lzma::FORMAT,
];

/// Look a format up by name.
pub fn by_name(name: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.name == name)
}
