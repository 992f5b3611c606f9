//! LZ4 frames (the `lz4` command's format), decoded by `lz4_flex` with its
//! safe decoder, which checks the header checksum and every block bound.
//!
//! The 4-byte magic is short, so `parse` also checks the frame descriptor's
//! version bits and reserved bits and the header checksum byte.
//!
//! Also the LZ4 "legacy" format (`lz4 -l`), which is what Linux kernels
//! built with `CONFIG_KERNEL_LZ4` carry (`cmd_lz4` in
//! `scripts/Makefile.lib`), facts from the LZ4 frame-format specification
//! (`doc/lz4_Frame_format.md`, "Legacy frame") and `programs/lz4io.c`:
//! the magic `0x184C2102` (little-endian), then blocks, each a 4-byte
//! little-endian compressed size followed by one independent LZ4 block that
//! decodes to at most 8 MiB. There is no end mark: the stream ends with its
//! input, or where a size word exceeds the worst-case compressed size of an
//! 8 MiB block (lz4io reads such a word as the next frame's magic). A
//! legacy magic where a size is expected starts a concatenated stream,
//! which the kernel's `unlz4` decodes as a continuation. The kernel build
//! appends the uncompressed size as a 4-byte word (`size_append`); a word
//! equal to the bytes decoded so far that cannot be a block is that
//! trailer and belongs to the stream.

use std::collections::BTreeMap;

use crate::unpack::bytes::le_u32;
use crate::unpack::decode::{CountingSlice, Decoded, Stop, read_bounded};
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

/// The legacy format's magic, `0x184C2102` little-endian.
const LEGACY_MAGIC: [u8; 4] = [0x02, 0x21, 0x4c, 0x18];
/// What one legacy block decodes to at most.
const LEGACY_BLOCK: usize = 8 << 20;
/// `LZ4_COMPRESSBOUND(8 MiB)`: the largest compressed size a legacy block
/// may declare; a larger word ends the stream.
const LEGACY_BOUND: usize = LEGACY_BLOCK + LEGACY_BLOCK / 255 + 16;

pub const FORMAT_LEGACY: Format = Format {
    name: "lz4-legacy",
    magics: &[Magic::at_start(&LEGACY_MAGIC)],
    parse: parse_legacy,
    extract: extract_legacy,
    carve: true,
};

pub fn parse_legacy(d: &[u8]) -> Result<Parsed, Reject> {
    if d.get(..4) != Some(&LEGACY_MAGIC[..]) {
        return Err(Reject::new("not an LZ4 legacy magic"));
    }
    // The magic alone is four bytes; the first block size must be one an
    // encoder could have written.
    let first = need(le_u32(d, 4), "first block size")? as usize;
    if first == 0 || first > LEGACY_BOUND {
        return Err(Reject::new(format!("implausible LZ4 legacy block size {first}")));
    }
    let mut facts = BTreeMap::new();
    facts.insert("first_block_size".into(), first.to_string());
    facts.insert("block_max".into(), "8MiB".into());
    Ok(Parsed {
        len: None,
        confidence: Confidence::Medium,
        description: "LZ4 legacy stream".into(),
        facts,
    })
}

pub fn extract_legacy(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let (decoded, consumed) = decode_legacy(d, ctx);
    stream_extraction("LZ4 legacy", decoded, consumed)
}

/// Decode the legacy stream at the start of `d` (magic included); returns
/// what was decoded and how many bytes of `d` the stream spans.
fn decode_legacy(d: &[u8], ctx: &mut ExtractCtx) -> (Decoded, usize) {
    let mut data: Vec<u8> = Vec::new();
    let mut scratch: Option<Vec<u8>> = None;
    let mut pos = LEGACY_MAGIC.len();
    let stop = loop {
        if let Err(e) = ctx.deadline.check() {
            break Some(Stop::Budget(e));
        }
        // Fewer than four bytes left: the stream ended with its input.
        let Some(word) = le_u32(d, pos) else { break None };
        if word.to_le_bytes() == LEGACY_MAGIC {
            pos += 4;
            continue;
        }
        let size = word as usize;
        let rest = d.len() - pos - 4;
        if !data.is_empty() && size == data.len() && (size > LEGACY_BOUND || size > rest) {
            // The kernel build's `size_append` trailer.
            pos += 4;
            break None;
        }
        if size == 0 || size > LEGACY_BOUND {
            // Not a block: padding, or whatever follows the stream.
            break None;
        }
        let Some(block) = d.get(pos + 4..pos + 4 + size) else {
            let at = pos;
            pos = d.len();
            break Some(Stop::Corrupt(format!(
                "LZ4 legacy block at {at:#x} declares {size} bytes, {rest} present"
            )));
        };
        // One 8 MiB buffer for every block (zeroed once, lazily by the
        // allocator): a stream of tiny blocks costs no 8 MiB memset each.
        let buf = scratch.get_or_insert_with(|| vec![0u8; LEGACY_BLOCK]);
        let n = match lz4_flex::block::decompress_into(block, buf) {
            Ok(n) => n,
            Err(e) => {
                let at = pos;
                pos += 4 + size;
                break Some(Stop::Corrupt(format!(
                    "LZ4 legacy block at {at:#x} does not decode: {e}"
                )));
            }
        };
        pos += 4 + size;
        if let Err(e) = ctx.budget.charge_bytes(n as u64) {
            // Keep what fits so the partial result is as large as allowed.
            let keep = (ctx.budget.remaining_bytes() as usize).min(n);
            if ctx.budget.charge_bytes(keep as u64).is_ok() {
                data.extend_from_slice(&buf[..keep]);
            }
            break Some(Stop::Budget(e));
        }
        data.extend_from_slice(&buf[..n]);
    };
    data.shrink_to_fit();
    (Decoded { data, stop }, pos)
}

/// `data` as an LZ4 legacy stream cut into `block`-byte blocks (`lz4 -l`
/// uses 8 MiB; smaller blocks exercise several in a small fixture).
#[cfg(test)]
pub fn compress_legacy(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = LEGACY_MAGIC.to_vec();
    for chunk in data.chunks(block.clamp(1, LEGACY_BLOCK)) {
        let c = lz4_flex::block::compress(chunk);
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(&c);
    }
    out
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

    /// A kernel-like payload: text and code-like bytes, 8 MiB and a bit,
    /// so that `lz4 -l`'s real 8 MiB blocking gives two blocks.
    fn vmlinux() -> Vec<u8> {
        let text = b"Linux version 6.1.0 (builder@host) #1 SMP\n";
        (0..LEGACY_BLOCK + 5000)
            .map(|i| text[i % text.len()] ^ (i >> 16) as u8)
            .collect()
    }

    fn payload(x: &Extraction) -> &[u8] {
        match x.children.as_slice() {
            [crate::unpack::Child::Payload { data }] => data,
            other => panic!("expected one payload, got {other:?}"),
        }
    }

    #[test]
    fn legacy_stream_decodes_its_8_mib_blocks() {
        let plain = vmlinux();
        let d = compress_legacy(&plain, LEGACY_BLOCK);
        let p = parse_legacy(&d).unwrap();
        assert_eq!(p.confidence, Confidence::Medium);
        // Erased flash after the stream is not a block.
        crate::unpack::formats::testing::stream_round_trip(&FORMAT_LEGACY, &d, &[0xff; 64], plain.len());
        crate::unpack::formats::testing::stream_round_trip(&FORMAT_LEGACY, &d, &[0; 64], plain.len());
        let (_, x) = run(&FORMAT_LEGACY, &d);
        assert_eq!(payload(&x.unwrap()), &plain[..]);
    }

    #[test]
    fn kernel_size_trailer_and_concatenated_streams_belong_to_the_stream() {
        let plain: Vec<u8> = b"Linux version 5.10.0 #1 SMP\n".repeat(3000);
        // `size_append`: the uncompressed size after the last block.
        let mut d = compress_legacy(&plain, 20_000);
        d.extend_from_slice(&(plain.len() as u32).to_le_bytes());
        crate::unpack::formats::testing::stream_round_trip(&FORMAT_LEGACY, &d, b"", plain.len());
        // A second stream straight after the first continues it.
        let mut two = compress_legacy(&plain[..40_000], 16_384);
        two.extend_from_slice(&compress_legacy(&plain[40_000..], 16_384));
        crate::unpack::formats::testing::stream_round_trip(&FORMAT_LEGACY, &two, &[0xff; 8], plain.len());
        let (_, x) = run(&FORMAT_LEGACY, &two);
        assert_eq!(payload(&x.unwrap()), &plain[..]);
    }

    #[test]
    fn legacy_truncation_and_corruption_are_problems_not_panics() {
        let plain: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 27) as u8)
            .collect();
        let d = compress_legacy(&plain, 65_536);
        assert!(parse_legacy(&d[..6]).is_err());
        let mut oversized = d.clone();
        oversized[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_legacy(&oversized).is_err());
        // Cut inside the last block: the blocks before it come out.
        let (_, x) = run(&FORMAT_LEGACY, &d[..d.len() - 10]);
        let x = x.unwrap();
        assert_eq!(x.consumed, Some(d.len() as u64 - 10));
        assert!(x.problems[0].contains("declares"), "{:?}", x.problems);
        assert_eq!(payload(&x), &plain[..196_608]);
        // A cut between blocks is a shorter stream, not a damaged one.
        let mut boundaries = vec![];
        let mut at = 4;
        while at < d.len() {
            boundaries.push(at);
            at += 4 + le_u32(&d, at).unwrap() as usize;
        }
        for cut in (9..d.len()).step_by(97) {
            let (_, x) = run(&FORMAT_LEGACY, &d[..cut]);
            match x {
                Ok(x) => assert!(!x.problems.is_empty() || boundaries.contains(&cut), "cut {cut}"),
                Err(e) => assert!(e.to_string().contains("LZ4 legacy"), "{e}"),
            }
        }
        let mut bad = d;
        for i in (12..bad.len()).step_by(89) {
            bad[i] ^= 0x5a;
        }
        let _ = run(&FORMAT_LEGACY, &bad);
    }

    /// Blocks that decode to nothing cost their input, not 8 MiB each.
    #[test]
    fn a_stream_of_empty_blocks_is_cheap() {
        let mut d = LEGACY_MAGIC.to_vec();
        for _ in 0..200_000 {
            d.extend_from_slice(&[1, 0, 0, 0, 0]);
        }
        let started = std::time::Instant::now();
        let (_, x) = run(&FORMAT_LEGACY, &d);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        match x {
            Ok(x) => assert_eq!(x.consumed, Some(d.len() as u64)),
            Err(e) => assert!(e.to_string().contains("LZ4 legacy"), "{e}"),
        }
    }

    #[test]
    fn legacy_output_stops_at_the_byte_budget() {
        let d = compress_legacy(&vec![0u8; 3 << 20], 1 << 20);
        let x =
            crate::unpack::formats::testing::run_with_byte_budget(parse_legacy, extract_legacy, &d, 1_500_000).unwrap();
        assert_eq!(payload(&x).len(), 1_500_000);
        assert!(x.problems[0].contains("budget"), "{:?}", x.problems);
    }
}
