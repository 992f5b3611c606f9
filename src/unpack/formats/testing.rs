//! Shared helpers for the formats' unit tests: run a format with a default
//! or a tight budget, and the checks every archive and stream round-trip
//! test makes.

use crate::unpack::budget::{Budget, Deadline, Limits};
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, ExtractFn, Extraction, Format, ParseFn, Parsed,
};
use crate::unpack::tree::{FsTree, Node, NodeKind};

/// Parse and extract `d` with a fresh default budget; for unit tests.
pub fn run(format: &Format, d: &[u8]) -> (Parsed, Result<Extraction, ExtractError>) {
    let p = (format.parse)(d).unwrap_or_else(|r| panic!("{} parse rejected: {}", format.name, r.0));
    let mut budget = Budget::new(Limits::default(), d.len() as u64);
    let mut ctx = ExtractCtx {
        budget: &mut budget,
        deadline: Deadline::far(),
        source: Default::default(),
    };
    let x = (format.extract)(d, &p, &mut ctx);
    (p, x)
}

/// Parse and extract `d` with a default budget, `None` when either
/// refuses; for hostile-input tests, which only care that nothing panics
/// and what comes out is well-formed.
pub fn survive(parse: ParseFn, extract: ExtractFn, d: &[u8]) -> Option<Extraction> {
    let p = parse(d).ok()?;
    let mut budget = Budget::new(Limits::default(), 0);
    let mut ctx = ExtractCtx {
        budget: &mut budget,
        deadline: Deadline::far(),
        source: Default::default(),
    };
    extract(d, &p, &mut ctx).ok()
}

/// Parse and extract `d` with a total-bytes budget of `max_bytes`; for
/// decompression-bomb tests.
pub fn run_with_byte_budget(
    parse: ParseFn,
    extract: ExtractFn,
    d: &[u8],
    max_bytes: u64,
) -> Result<Extraction, ExtractError> {
    let p = parse(d).unwrap_or_else(|r| panic!("parse rejected: {}", r.0));
    let limits = Limits {
        min_total_bytes: max_bytes,
        max_total_bytes: max_bytes,
        ..Default::default()
    };
    let mut budget = Budget::new(limits, 0);
    let mut ctx = ExtractCtx {
        budget: &mut budget,
        deadline: Deadline::far(),
        source: Default::default(),
    };
    extract(d, &p, &mut ctx)
}

/// Extract `archive` followed by `junk` trailing bytes and check what every
/// archive round-trip test checks: the extent stops exactly at the archive,
/// the confidence is `confidence`, nothing went wrong, and the sample's
/// `/etc/passwd` and `/bin/sh -> busybox` came out. Returns the extraction
/// for the format's own further assertions.
pub fn round_trip(format: &Format, archive: &[u8], junk: &[u8], confidence: Confidence) -> Extraction {
    let mut d = archive.to_vec();
    d.extend_from_slice(junk);
    let (p, x) = run(format, &d);
    assert_eq!(p.len, Some(archive.len() as u64));
    assert_eq!(p.confidence, confidence);
    let x = x.unwrap_or_else(|e| panic!("{} extract failed: {e}", format.name));
    assert!(x.problems.is_empty(), "{:?}", x.problems);
    let t = tree_of(&x);
    assert_eq!(
        t.get("/etc/passwd").and_then(Node::data),
        Some(&b"root:x:0:0::/root:/bin/sh\n"[..])
    );
    assert_eq!(
        t.get("/bin/sh").map(|n| &n.kind),
        Some(&NodeKind::Symlink("busybox".into()))
    );
    x
}

/// Decode the single stream `compressed` followed by `junk`: no problems,
/// exactly the stream's bytes consumed, and one payload of `plain_len`
/// bytes; for the stream formats' unit tests.
pub fn stream_round_trip(format: &Format, compressed: &[u8], junk: &[u8], plain_len: usize) {
    let mut d = compressed.to_vec();
    d.extend_from_slice(junk);
    let (_, x) = run(format, &d);
    let x = x.unwrap_or_else(|e| panic!("{} extract failed: {e}", format.name));
    assert!(x.problems.is_empty(), "{:?}", x.problems);
    assert_eq!(x.consumed, Some(compressed.len() as u64));
    assert!(matches!(&x.children[0], Child::Payload { data } if data.len() == plain_len));
}

/// The tree of an extraction that must have exactly one; for unit tests.
pub fn tree_of(x: &Extraction) -> &FsTree {
    match x.children.as_slice() {
        [Child::Tree(t)] => t,
        other => panic!("expected one tree, got {other:?}"),
    }
}
