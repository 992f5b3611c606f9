//! Zstandard frames, decoded by the pure-Rust `ruzstd` crate, whose default
//! window limit keeps a hostile header from reserving gigabytes.
//!
//! The 4-byte magic is short, so `parse` checks the reserved bit of the
//! frame header descriptor and decodes the first bytes before a hit counts.

use std::collections::BTreeMap;

use crate::unpack::decode::{CountingSlice, Decoded, Stop, read_bounded};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need, probe_decodes,
    stream_extraction,
};

pub const FORMAT: Format = Format {
    name: "zstd",
    magics: &[Magic::at_start(&[0x28, 0xb5, 0x2f, 0xfd])],
    parse,
    extract,
    carve: true,
};

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    if d.get(..4) != Some(&[0x28, 0xb5, 0x2f, 0xfd][..]) {
        return Err(Reject::new("not a zstd magic"));
    }
    let descriptor = need(d.get(4).copied(), "frame header descriptor")?;
    if descriptor & 0x08 != 0 {
        return Err(Reject::new("reserved bit of the zstd frame header is set"));
    }
    let probe = &d[..d.len().min(64 * 1024)];
    let decodes = ruzstd::decoding::StreamingDecoder::new(probe).is_ok_and(probe_decodes);
    if !decodes {
        return Err(Reject::new("zstd frame does not decode"));
    }
    let mut facts = BTreeMap::new();
    facts.insert("checksum".into(), (descriptor & 0x04 != 0).to_string());
    Ok(Parsed {
        len: None,
        confidence: Confidence::Medium,
        description: "Zstandard stream".into(),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let mut input = CountingSlice::new(d);
    let decoded = match ruzstd::decoding::StreamingDecoder::new(&mut input) {
        Ok(mut dec) => read_bounded(&mut dec, ctx),
        Err(e) => Decoded {
            data: Vec::new(),
            stop: Some(Stop::Corrupt(format!("invalid frame header: {e}"))),
        },
    };
    stream_extraction("zstd", decoded, input.consumed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{CompressionLevel, compress_to_vec};

    #[test]
    fn decodes_and_measures_the_frame() {
        let d = compress_to_vec(&b"firmware ".repeat(1000)[..], CompressionLevel::Fastest);
        crate::unpack::formats::testing::stream_round_trip(&FORMAT, &d, b"trailing bytes", 9000);
    }

    #[test]
    fn chance_magic_truncation_and_corruption_do_not_panic() {
        let mut junk = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00];
        junk.extend_from_slice(&[0xff; 40]);
        assert!(parse(&junk).is_err());
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let d = compress_to_vec(&data[..], CompressionLevel::Fastest);
        for cut in [5, 8, 20, d.len() / 2, d.len() - 1] {
            let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
            let mut ctx = ExtractCtx {
                budget: &mut budget,
                deadline: crate::unpack::budget::Deadline::far(),
                source: Default::default(),
            };
            let p = Parsed {
                len: None,
                confidence: Confidence::Medium,
                description: String::new(),
                facts: BTreeMap::new(),
            };
            match extract(&d[..cut], &p, &mut ctx) {
                Ok(x) => assert!(!x.problems.is_empty(), "cut {cut}"),
                Err(e) => assert!(e.to_string().contains("zstd"), "{e}"),
            }
        }
    }
}
