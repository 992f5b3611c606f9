//! LZ4 frames (the `lz4` command's format), decoded by `lz4_flex` with its
//! safe decoder, which checks the header checksum and every block bound.
//!
//! The 4-byte magic is short, so `parse` also checks the frame descriptor's
//! version bits and reserved bits and the header checksum byte.

use std::collections::BTreeMap;

use crate::unpack::decode::{CountingSlice, Stop, read_bounded};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need, stream_extraction,
};

/// Magic (4), smallest descriptor (3) and end mark (4).
const MIN_FRAME: usize = 11;

pub const FORMAT: Format = Format {
    name: "lz4",
    magics: &[Magic::at_start(&[0x04, 0x22, 0x4d, 0x18])],
    parse,
    extract,
    carve: true,
};

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    if d.get(..4) != Some(&[0x04, 0x22, 0x4d, 0x18][..]) {
        return Err(Reject::new("not an LZ4 frame magic"));
    }
    let flg = need(d.get(4).copied(), "frame descriptor")?;
    let bd = need(d.get(5).copied(), "block descriptor")?;
    if flg >> 6 != 0b01 || flg & 0x02 != 0 || bd & 0x8f != 0 || !(4..=7).contains(&(bd >> 4)) {
        return Err(Reject::new("implausible LZ4 frame descriptor"));
    }
    let mut facts = BTreeMap::new();
    facts.insert("block_max".into(), format!("{}KiB", 64 << (2 * ((bd >> 4) - 4))));
    facts.insert("content_checksum".into(), (flg & 0x04 != 0).to_string());
    Ok(Parsed {
        len: None,
        confidence: Confidence::Medium,
        description: "LZ4 frame".into(),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let mut input = CountingSlice::new(d);
    let mut dec = lz4_flex::frame::FrameDecoder::new(&mut input);
    let mut decoded = read_bounded(&mut dec, ctx);
    drop(dec);
    // lz4_flex reads a frame cut inside its header as a clean end of input
    // (that is how it ends between concatenated frames); a frame shorter
    // than magic, descriptor and end mark cannot be whole.
    if decoded.stop.is_none() && input.consumed() < MIN_FRAME {
        decoded.stop = Some(Stop::Corrupt(format!("frame truncated: {} bytes", input.consumed())));
    }
    stream_extraction("LZ4", decoded, input.consumed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;
    use std::io::Write;

    fn lz4(data: &[u8]) -> Vec<u8> {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decodes_the_frame() {
        let d = lz4(&b"firmware ".repeat(1000));
        crate::unpack::formats::testing::stream_round_trip(&FORMAT, &d, b"", 9000);
    }

    #[test]
    fn truncation_and_corruption_do_not_panic() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let d = lz4(&data);
        // (A cut inside the final end mark loses no data and lz4_flex accepts it.)
        for cut in [7, 12, 100, d.len() / 2, d.len() - 6] {
            let Ok(p) = parse(&d[..cut]) else { continue };
            let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
            let mut ctx = ExtractCtx {
                budget: &mut budget,
                deadline: crate::unpack::budget::Deadline::far(),
                source: Default::default(),
            };
            match extract(&d[..cut], &p, &mut ctx) {
                Ok(x) => assert!(!x.problems.is_empty(), "cut {cut}"),
                Err(e) => assert!(e.to_string().contains("LZ4"), "{e}"),
            }
        }
        let mut bad = d;
        for i in (20..bad.len()).step_by(97) {
            bad[i] ^= 0x5a;
        }
        let _ = run(&FORMAT, &bad);
    }
}
