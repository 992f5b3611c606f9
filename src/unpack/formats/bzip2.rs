//! bzip2 streams, decoded by the `bzip2` crate's pure-Rust backend
//! (libbz2-rs-sys).
//!
//! The magic is "BZh" plus the block-size digit, followed by the 48-bit
//! block magic (π, `1AY&SY`) or, for an empty stream, the end-of-stream
//! magic (√π): ten bytes in all, strong enough to carve.

use std::collections::BTreeMap;

use crate::unpack::decode::{CountingSlice, read_bounded};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, stream_extraction,
};

pub const FORMAT: Format = Format {
    name: "bzip2",
    // One pattern for all nine block sizes: the block magic after "BZhN"
    // (parse checks the four bytes before it). The signature table has
    // room for 64 patterns in the SIMD searcher; nine would waste it.
    magics: &[Magic {
        bytes: b"1AY&SY",
        at: 4,
    }],
    parse,
    extract,
    carve: true,
};

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let level = match d.get(..10) {
        Some([b'B', b'Z', b'h', l @ b'1'..=b'9', rest @ ..]) if rest == b"1AY&SY" => l - b'0',
        _ => return Err(Reject::new("not a bzip2 stream header")),
    };
    let mut facts = BTreeMap::new();
    facts.insert("block_size".into(), format!("{}00k", level));
    Ok(Parsed {
        len: None,
        confidence: Confidence::Medium,
        description: format!("bzip2 stream, {level}00k blocks"),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let mut input = CountingSlice::new(d);
    let mut dec = bzip2::bufread::BzDecoder::new(&mut input);
    let decoded = read_bounded(&mut dec, ctx);
    drop(dec);
    stream_extraction("bzip2", decoded, input.consumed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;
    use std::io::Write;

    fn bz(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decodes_and_measures_the_stream() {
        let d = bz(&b"firmware ".repeat(1000));
        crate::unpack::formats::testing::stream_round_trip(&FORMAT, &d, b"trailing bytes", 9000);
    }

    #[test]
    fn truncated_and_corrupt_streams_do_not_panic() {
        let d = bz(&(0..200_000u32).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>());
        for cut in [10, 20, 100, d.len() / 2, d.len() - 1] {
            let (_, x) = run(&FORMAT, &d[..cut]);
            match x {
                Ok(x) => assert!(!x.problems.is_empty(), "cut {cut}"),
                Err(e) => assert!(e.to_string().contains("bzip2"), "{e}"),
            }
        }
        let mut bad = d.clone();
        bad[40] ^= 0xff;
        let _ = run(&FORMAT, &bad);
    }

    #[test]
    fn a_bomb_stops_at_the_budget() {
        let d = bz(&vec![0u8; 20 << 20]);
        let x = crate::unpack::formats::testing::run_with_byte_budget(parse, extract, &d, 1 << 20).unwrap();
        assert!(x.problems[0].contains("size budget"), "{:?}", x.problems);
    }
}
