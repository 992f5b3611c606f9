//! gzip (RFC 1952), single or multi-member.
//!
//! The magic `1f 8b 08` is short, so `parse` also checks the reserved flag
//! bits and decodes the first bytes of the deflate stream before a hit counts.

use std::collections::BTreeMap;

use crate::unpack::budget::{Budget, Deadline, Limits};
use crate::unpack::decode::{Stop, gzip_member};
use crate::unpack::format::{Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject};

pub const FORMAT: Format = Format {
    name: "gzip",
    magics: &[Magic::at_start(&[0x1f, 0x8b, 0x08])],
    parse,
    extract,
    carve: true,
};

const FNAME: u8 = 0x08;

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    if d.len() < 18 || d[0..3] != [0x1f, 0x8b, 0x08] {
        return Err(Reject::new("not a gzip header"));
    }
    let flags = d[3];
    if flags & 0xe0 != 0 {
        return Err(Reject::new("reserved gzip flag bits set"));
    }
    // Decode a little to rule out a chance match of the three magic bytes.
    let probe_len = d.len().min(64 * 1024);
    let mut budget = Budget::new(
        Limits {
            min_total_bytes: 4096,
            max_total_bytes: 4096,
            ..Limits::default()
        },
        0,
    );
    let mut ctx = ExtractCtx {
        budget: &mut budget,
        deadline: Deadline::far(),
        source: Default::default(),
    };
    let (decoded, _) = gzip_member(&d[..probe_len], &mut ctx);
    if let Some(Stop::Corrupt(_)) = decoded.stop
        && decoded.data.is_empty()
    {
        return Err(Reject::new("deflate stream does not decode"));
    }
    let mut facts = BTreeMap::new();
    if flags & FNAME != 0
        && let Some(end) = memchr::memchr(0, &d[10..])
    {
        let name = String::from_utf8_lossy(&d[10..10 + end]).to_string();
        facts.insert("original_name".to_string(), name);
    }
    Ok(Parsed {
        len: None,
        confidence: Confidence::Medium,
        description: match facts.get("original_name") {
            Some(n) => format!("gzip stream, original name {n:?}"),
            None => "gzip stream".to_string(),
        },
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let mut out = Extraction::default();
    let mut data = Vec::new();
    let mut pos = 0usize;
    loop {
        let (decoded, consumed) = gzip_member(&d[pos..], ctx);
        data.extend_from_slice(&decoded.data);
        pos += consumed;
        if let Some(stop) = decoded.stop {
            if data.is_empty() {
                return Err(ExtractError::Corrupt(stop.to_string()));
            }
            out.problem(format!("gzip member at +{pos:#x}: {stop}"));
            break;
        }
        // Another member directly after this one continues the stream.
        if d.len() < pos + 3 || d[pos..pos + 3] != [0x1f, 0x8b, 0x08] {
            break;
        }
    }
    out.consumed = Some(pos as u64);
    out.children.push(Child::Payload { data });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn multi_member_streams_are_joined_and_measured() {
        let mut d = gz(b"hello ");
        d.extend(gz(b"world"));
        let whole = d.len() as u64;
        d.extend_from_slice(b"trailing junk");
        let x = run(&FORMAT, &d).1.unwrap();
        assert_eq!(x.consumed, Some(whole));
        assert!(x.problems.is_empty());
        match &x.children[0] {
            Child::Payload { data } => assert_eq!(data, b"hello world"),
            other => panic!("unexpected child {other:?}"),
        }
    }

    #[test]
    fn chance_magic_is_rejected() {
        let mut d = vec![0x1f, 0x8b, 0x08, 0x00];
        d.extend_from_slice(&[0xff; 60]);
        assert!(parse(&d).is_err());
    }

    #[test]
    fn truncated_stream_is_partial() {
        let d = gz(&vec![7u8; 100_000]);
        let cut = &d[..d.len() / 2];
        let (_, x) = run(&FORMAT, cut);
        // Either nothing decodes (error) or a partial payload with a problem.
        match x {
            Ok(x) => assert!(!x.problems.is_empty()),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
