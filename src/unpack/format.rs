//! The format contract: what every container or filesystem format provides
//! and what the engine hands it.
//!
//! A format is one [`Format`] value (a row of the table in
//! [`formats`](super::formats)) with two functions:
//! - `parse` validates a header found at a signature hit and returns its
//!   extent and a description. It does no I/O and is cheap.
//! - `extract` turns the bytes of that extent into [`Child`]ren: sub-ranges
//!   of the same bytes, decompressed payloads, or a filesystem tree written
//!   through the [`Sink`].
//!
//! The helpers below are shared by several formats. Format files import
//! this module only, never the table, so the table can list every format
//! without an import circle.

use std::collections::BTreeMap;
use std::fmt;

use super::Bytes;
use super::budget::{Budget, BudgetExceeded, Deadline};
use super::decode::{Decoded, Stop};
use super::tree::{FsTree, NodeKind, Sink};

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
    /// A check of the container's own bytes left for the engine to run
    /// beside the carving of its children (see [`Verify`]).
    pub verify: Option<Verify>,
}

impl Extraction {
    pub fn problem(&mut self, why: impl Into<String>) {
        self.problems.push(why.into());
    }
}

/// A check of a container's bytes that decides nothing about what is
/// carved inside it, such as a checksum over a whole 4 MiB image: the
/// engine runs it beside the carving of the container's children and then
/// adds its facts and problems to the container, as if the extractor had
/// found them itself. The report is the one the extractor would give by
/// checking first; only the wait on the critical path is gone.
pub struct Verify(Box<dyn FnOnce() -> Verified + Send>);

impl Verify {
    /// `check` must own what it reads: take the bytes with [`shared`].
    pub fn new(check: impl FnOnce() -> Verified + Send + 'static) -> Self {
        Verify(Box::new(check))
    }

    pub fn run(self) -> Verified {
        (self.0)()
    }
}

impl fmt::Debug for Verify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Verify(..)")
    }
}

/// What a [`Verify`] found: facts to record and problems that make the
/// container partial.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verified {
    pub facts: Vec<(String, String)>,
    pub problems: Vec<String>,
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

/// What an extractor may use: the shared budget, its own deadline, and the
/// blob its bytes are a part of.
pub struct ExtractCtx<'b> {
    pub budget: &'b mut Budget,
    pub deadline: Deadline,
    /// The whole blob the extractor's bytes were cut from (the image or a
    /// decoded payload), or empty. Stored files are handed out as slices
    /// of it through [`shared`] instead of being copied.
    pub source: Bytes,
}

/// `part`, a sub-slice of `source`, as bytes that share `source`'s memory:
/// a file stored uncompressed in a tar, cpio or romfs costs no copy. A
/// `part` from anywhere else (a decoded buffer, or an empty `source`) is
/// copied.
pub fn shared(source: &Bytes, part: &[u8]) -> Bytes {
    let (s, p) = (source.as_ptr() as usize, part.as_ptr() as usize);
    if !part.is_empty() && p >= s && p + part.len() <= s + source.len() {
        source.slice_ref(part)
    } else {
        Bytes::copy_from_slice(part)
    }
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

/// Hand a finished sink's tree to the engine. Every refused entry becomes a
/// problem, so an archive that tried to escape or overwrite is `partial`
/// and the verdicts that depend on it fail closed.
pub fn finish_tree(sink: Sink, out: &mut Extraction) {
    let (tree, refusals) = sink.finish();
    for r in refusals {
        out.problem(r.to_string());
    }
    out.children.push(Child::Tree(tree));
}

/// The node kind a Unix `st_mode` names, for archive formats that store one
/// (cpio, zip, tar's mode field is not used for the type). Regular files
/// and symlinks need their data and are built by the caller; `None` means
/// "regular file" or an unknown type the caller treats as one.
pub fn special_kind(mode: u32, major: u32, minor: u32) -> Option<NodeKind> {
    match mode & 0o170000 {
        0o040000 => Some(NodeKind::Dir),
        0o020000 => Some(NodeKind::CharDevice { major, minor }),
        0o060000 => Some(NodeKind::BlockDevice { major, minor }),
        0o010000 => Some(NodeKind::Fifo),
        0o140000 => Some(NodeKind::Socket),
        _ => None,
    }
}

/// The extraction of a single compressed stream: its payload, how much
/// input it used, and why it stopped early if it did. A stream that yields
/// nothing at all is an error; a partial one is kept with a problem.
pub fn stream_extraction(what: &str, decoded: Decoded, consumed: usize) -> Result<Extraction, ExtractError> {
    let mut out = Extraction::default();
    if let Some(stop) = decoded.stop {
        if decoded.data.is_empty() {
            return Err(match stop {
                Stop::Budget(b) => ExtractError::Budget(b),
                Stop::Corrupt(m) => ExtractError::Corrupt(format!("{what} stream: {m}")),
            });
        }
        out.problem(format!(
            "{what} stream stopped after {} output bytes: {stop}",
            decoded.data.len()
        ));
    }
    out.consumed = Some(consumed as u64);
    out.children.push(Child::Payload { data: decoded.data });
    Ok(out)
}

/// Decode a little of a stream to rule out a chance match of its magic.
/// True when the first bytes decode (or the stream is merely cut short).
pub fn probe_decodes<R: std::io::Read>(reader: R) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 512];
    let mut r = reader.take(buf.len() as u64);
    matches!(r.read(&mut buf), Ok(n) if n > 0)
}

/// `S_IFLNK`: the entry's data is a symlink target.
pub const S_IFLNK: u32 = 0o120000;
