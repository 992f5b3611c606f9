//! Bounded decoding of compressed streams.
//!
//! Every decompressor in fwcert reads through [`read_bounded`], which stops
//! at the remaining byte budget and at the extractor's deadline. What was
//! decoded before a stop is kept: half a root filesystem is still evidence,
//! and the container is marked `partial` with the reason.

use std::io::Read;

use super::budget::{BudgetExceeded, Deadline};
use super::format::ExtractCtx;

/// Why decoding stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    Budget(BudgetExceeded),
    /// The stream is corrupt or truncated; the message says where.
    Corrupt(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Budget(b) => b.fmt(f),
            Stop::Corrupt(m) => f.write_str(m),
        }
    }
}

/// Decoded bytes and, if decoding did not reach the stream's end, why.
#[derive(Debug)]
pub struct Decoded {
    pub data: Vec<u8>,
    pub stop: Option<Stop>,
}

const CHUNK: usize = 64 * 1024;

/// Read `reader` to its end, charging the budget as bytes arrive.
pub fn read_bounded<R: Read>(reader: &mut R, ctx: &mut ExtractCtx) -> Decoded {
    let mut data = Vec::new();
    let stop = fill_bounded(reader, ctx, &mut data);
    // Decoded bytes are kept for the whole scan; so would the slack of the
    // growing buffer be (up to as much again). Shrinking is in place.
    data.shrink_to_fit();
    Decoded { data, stop }
}

fn fill_bounded<R: Read>(reader: &mut R, ctx: &mut ExtractCtx, data: &mut Vec<u8>) -> Option<Stop> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        if let Err(e) = ctx.deadline.check() {
            return Some(Stop::Budget(e));
        }
        let n = match reader.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let at = data.len();
                return Some(Stop::Corrupt(format!("decoding failed after {at} output bytes: {e}")));
            }
        };
        if let Err(e) = ctx.budget.charge_bytes(n as u64) {
            // Keep what fits so the partial result is as large as allowed.
            let room = ctx.budget.remaining_bytes() as usize;
            let keep = room.min(n);
            if ctx.budget.charge_bytes(keep as u64).is_ok() {
                data.extend_from_slice(&buf[..keep]);
            }
            return Some(Stop::Budget(e));
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// A reader over a slice that counts how many bytes were taken from it, so
/// that a stream decoder tells us where its input ended.
pub struct CountingSlice<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> CountingSlice<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        CountingSlice { data, pos: 0 }
    }

    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl Read for CountingSlice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.data[self.pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl std::io::BufRead for CountingSlice<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.data[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.data.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::budget::{Budget, Deadline, Limits};

    #[test]
    fn stops_at_the_byte_budget_and_keeps_what_fits() {
        let limits = Limits {
            min_total_bytes: 100_000,
            max_total_bytes: 100_000,
            ..Limits::default()
        };
        let mut budget = Budget::new(limits, 0);
        let mut ctx = ExtractCtx {
            budget: &mut budget,
            deadline: Deadline::far(),
            source: Default::default(),
        };
        let mut zeros = std::io::repeat(0).take(1 << 30);
        let d = read_bounded(&mut zeros, &mut ctx);
        assert_eq!(d.data.len(), 100_000);
        assert!(matches!(
            d.stop,
            Some(Stop::Budget(BudgetExceeded::TotalBytes(100_000)))
        ));
    }

    #[test]
    fn lzo1x_round_trips_lzokay_output_and_refuses_hostile_input() {
        let text: Vec<u8> = (0..200_000u32)
            .map(|i| b"firmware root:x:0:0"[(i % 19) as usize] ^ (i / 997) as u8)
            .collect();
        for sample in [&b"a"[..], b"hello hello hello hello", &text, &vec![0u8; 100_000]] {
            let packed = lzokay_native::compress(sample).unwrap();
            assert_eq!(lzo1x(&packed, sample.len()).unwrap(), sample);
            // One byte less room than needed is an error, not a longer buffer.
            if !sample.is_empty() {
                assert!(lzo1x(&packed, sample.len() - 1).is_err());
            }
            // Truncations and bit flips must fail or decode, never panic.
            for cut in [0, 1, 2, packed.len() / 2, packed.len() - 1] {
                let _ = lzo1x(&packed[..cut], sample.len());
            }
            let mut bad = packed.clone();
            for i in (0..bad.len()).step_by(7) {
                bad[i] = bad[i].wrapping_mul(31).wrapping_add(5);
                let _ = lzo1x(&bad, sample.len());
            }
        }
        // A back-reference before the start of the output.
        assert!(
            lzo1x(&[0x12, b'A', 0x80, 0xff, 0x11, 0, 0], 100)
                .unwrap_err()
                .contains("before the start")
        );
    }

    #[test]
    fn a_block_is_appended_and_a_failed_one_leaves_the_buffer_as_it_was() {
        use std::io::Write;
        let text = b"hello, block".repeat(20);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        zlib.write_all(&text).unwrap();
        let packed = [
            (BlockCodec::Zlib, zlib.finish().unwrap()),
            (BlockCodec::Lzma, crate::unpack::formats::lzma::compress(&text).unwrap()),
            (BlockCodec::Xz, crate::unpack::formats::xz::compress(&text).unwrap()),
        ];
        for (codec, bytes) in packed {
            let mut out = b"kept".to_vec();
            block_into(codec, &bytes, text.len(), &mut out).unwrap();
            assert_eq!(out, [&b"kept"[..], &text].concat(), "{codec:?}");
            // Larger than allowed, truncated, garbage: an error, `out` untouched.
            let mut out = b"kept".to_vec();
            let err = block_into(codec, &bytes, text.len() - 1, &mut out).unwrap_err();
            assert!(
                err.contains(&format!("more than {} bytes", text.len() - 1)),
                "{codec:?}: {err}"
            );
            assert_eq!(out, b"kept", "{codec:?}");
            for bad in [&bytes[..bytes.len() / 2], &b"\x5d\0\0\x80\0garbage"[..]] {
                assert!(block_into(codec, bad, text.len(), &mut out).is_err(), "{codec:?}");
                assert_eq!(out, b"kept", "{codec:?}");
            }
        }
    }

    #[test]
    fn counting_slice_reports_consumption() {
        let mut s = CountingSlice::new(b"hello world");
        let mut b = [0u8; 5];
        s.read_exact(&mut b).unwrap();
        assert_eq!(s.consumed(), 5);
    }
}

/// Decode a zlib stream (RFC 1950).
pub fn zlib(data: &[u8], ctx: &mut ExtractCtx) -> (Decoded, usize) {
    let mut input = CountingSlice::new(data);
    let mut dec = flate2::bufread::ZlibDecoder::new(&mut input);
    let d = read_bounded(&mut dec, ctx);
    drop(dec);
    (d, input.consumed())
}

/// Decode one gzip member (RFC 1952); returns the bytes it consumed.
pub fn gzip_member(data: &[u8], ctx: &mut ExtractCtx) -> (Decoded, usize) {
    let mut input = CountingSlice::new(data);
    let mut dec = flate2::bufread::GzDecoder::new(&mut input);
    let d = read_bounded(&mut dec, ctx);
    drop(dec);
    (d, input.consumed())
}

/// Memory an LZMA decoder may allocate for its dictionary, in KiB. A header
/// may claim a 4 GiB dictionary; honouring that would be an allocation bomb.
pub const LZMA_MEM_LIMIT_KIB: u32 = 256 * 1024;

/// Bytes liblzma may allocate (dictionary and state), from [`LZMA_MEM_LIMIT_KIB`].
const LZMA_MEM_LIMIT: u64 = LZMA_MEM_LIMIT_KIB as u64 * 1024;

/// A liblzma decoder for a `.lzma` ("LZMA alone": 13-byte header, then
/// data) or, with `xz`, a single `.xz` stream.
fn liblzma_decoder(xz: bool) -> Result<liblzma::stream::Stream, liblzma::stream::Error> {
    if xz {
        liblzma::stream::Stream::new_stream_decoder(LZMA_MEM_LIMIT, 0)
    } else {
        liblzma::stream::Stream::new_lzma_decoder(LZMA_MEM_LIMIT)
    }
}

/// Decode one liblzma stream at the start of `data` within the budget;
/// returns the bytes of `data` it consumed.
fn liblzma_stream(data: &[u8], ctx: &mut ExtractCtx, xz: bool) -> (Decoded, usize) {
    match liblzma_decoder(xz) {
        Ok(stream) => {
            let mut dec = liblzma::bufread::XzDecoder::new_stream(data, stream);
            let d = read_bounded(&mut dec, ctx);
            (d, dec.total_in() as usize)
        }
        Err(e) => (
            Decoded {
                data: Vec::new(),
                stop: Some(Stop::Corrupt(format!("the LZMA decoder did not start: {e}"))),
            },
            0,
        ),
    }
}

/// Decode a `.lzma` ("LZMA alone") stream: 13-byte header, then data.
pub fn lzma_alone(data: &[u8], ctx: &mut ExtractCtx) -> (Decoded, usize) {
    liblzma_stream(data, ctx, false)
}

/// Decode an `.xz` stream.
pub fn xz(data: &[u8], ctx: &mut ExtractCtx) -> (Decoded, usize) {
    liblzma_stream(data, ctx, true)
}

/// Decode a whole `.lzma` or `.xz` block, appending to `out`; stops once
/// more than `max_out` bytes came out (the caller rejects such a block).
/// The output goes straight into `out`'s spare capacity (a SquashFS reader
/// reserves a block's size): no intermediate buffer, no zeroing, no growth
/// from a small start.
fn liblzma_block(bytes: &[u8], xz: bool, max_out: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let mut stream = liblzma_decoder(xz).map_err(|e| e.to_string())?;
    let start = out.len();
    while out.len() - start <= max_out {
        if out.len() == out.capacity() {
            out.reserve((max_out + 1 - (out.len() - start)).min(BLOCK_STEP));
        }
        let consumed = usize::try_from(stream.total_in()).unwrap_or(usize::MAX);
        let before = out.len();
        let input = bytes.get(consumed..).unwrap_or_default();
        let status = stream
            .process_vec(input, out, liblzma::stream::Action::Finish)
            .map_err(|e| e.to_string())?;
        if status == liblzma::stream::Status::StreamEnd {
            return Ok(());
        }
        if out.len() == before && usize::try_from(stream.total_in()).ok() == Some(consumed) {
            return Err("the data ends before the end of the LZMA stream".into());
        }
    }
    Ok(())
}

/// How much a block decoder's output grows at a time: SquashFS's largest
/// block, so a block is decoded in one call once its buffer is reserved.
const BLOCK_STEP: usize = 1 << 20;

/// Read `reader` to its end, but no more than `cap` bytes, without charging
/// the budget (the caller charges when it keeps the bytes). Used for files
/// inside filesystems, which the sink charges.
pub fn read_capped<R: Read>(reader: &mut R, cap: u64, deadline: &Deadline) -> Result<Vec<u8>, Stop> {
    let mut data = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        deadline.check().map_err(Stop::Budget)?;
        let n = match reader.read(&mut buf) {
            Ok(0) => {
                data.shrink_to_fit();
                return Ok(data);
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Stop::Corrupt(format!("read failed after {} bytes: {e}", data.len()))),
        };
        if data.len() as u64 + n as u64 > cap {
            return Err(Stop::Budget(BudgetExceeded::TotalBytes(cap)));
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// Decode one compressed block whose decoded size is at most `max_out`
/// (SquashFS, JFFS2 and similar block formats). Bounded by construction.
pub fn block(codec: BlockCodec, bytes: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    block_into(codec, bytes, max_out, &mut out)?;
    Ok(out)
}

/// [`block`], appending the decoded bytes to `out`: a reader that keeps a
/// buffer per block (backhand) gets them without another copy.
pub fn block_into(codec: BlockCodec, bytes: &[u8], max_out: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    let decoded = decode_block(codec, bytes, max_out, out).and_then(|()| {
        if out.len() - start > max_out {
            return Err(format!("{codec:?} block decodes to more than {max_out} bytes"));
        }
        Ok(())
    });
    if decoded.is_err() {
        // A failed block leaves `out` as it was.
        out.truncate(start);
    }
    decoded
}

/// The decoding step of [`block_into`]; the output may overshoot `max_out`.
fn decode_block(codec: BlockCodec, bytes: &[u8], max_out: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let limit = max_out as u64 + 1;
    let fail = |e: String| format!("{codec:?} block does not decode: {e}");
    match codec {
        BlockCodec::Zlib => flate2::read::ZlibDecoder::new(bytes)
            .take(limit)
            .read_to_end(out)
            .map(drop)
            .map_err(|e| fail(e.to_string())),
        BlockCodec::Xz => liblzma_block(bytes, true, max_out, out).map_err(fail),
        BlockCodec::Lzma => lzma_block(bytes, max_out, out),
        BlockCodec::Lzo => lzo1x(bytes, max_out).map(|d| out.extend_from_slice(&d)),
        BlockCodec::Lz4 => {
            let mut buf = vec![0u8; max_out];
            let n = lz4_flex::block::decompress_into(bytes, &mut buf)
                .map_err(|e| format!("LZ4 block does not decode: {e}"))?;
            out.extend_from_slice(&buf[..n]);
            Ok(())
        }
        BlockCodec::Zstd => ruzstd::decoding::StreamingDecoder::new(bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
            .and_then(|d| d.take(limit).read_to_end(out))
            .map(drop)
            .map_err(|e| fail(e.to_string())),
    }
}

/// Codecs used inside block-structured filesystems.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockCodec {
    Zlib,
    Lzma,
    Xz,
    /// LZO1X, decoded by [`lzo1x`].
    Lzo,
    /// A raw LZ4 block (no frame).
    Lz4,
    /// One or more Zstandard frames.
    Zstd,
}

/// Decode raw LZO1X data (what lzop blocks, SquashFS and UBIFS store) into
/// at most `max_out` bytes.
///
/// fwcert carries its own decoder: the pure-Rust `lzokay-native` crate
/// indexes its output with unchecked back-reference distances and has no
/// output bound, so hostile input can panic it or make it allocate without
/// limit. Every read and every back-reference here is checked, and the
/// output never grows past `max_out`.
pub fn lzo1x(src: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    struct In<'a> {
        src: &'a [u8],
        pos: usize,
    }
    impl In<'_> {
        fn byte(&mut self) -> Result<usize, String> {
            let b = *self.src.get(self.pos).ok_or("LZO input ends inside an instruction")?;
            self.pos += 1;
            Ok(usize::from(b))
        }
        fn le16(&mut self) -> Result<usize, String> {
            Ok(self.byte()? | (self.byte()? << 8))
        }
        /// A run-length extension: zero bytes add 255 each, then one byte.
        fn extended(&mut self, base: usize) -> Result<usize, String> {
            let mut zeros = 0usize;
            while self.src.get(self.pos) == Some(&0) {
                zeros += 1;
                self.pos += 1;
            }
            Ok(base + zeros * 255 + self.byte()?)
        }
        fn literals(&mut self, n: usize, out: &mut Vec<u8>, max_out: usize) -> Result<(), String> {
            let lit = self
                .src
                .get(self.pos..self.pos + n)
                .ok_or("LZO input ends inside a literal run")?;
            if out.len() + n > max_out {
                return Err(format!("LZO data decodes to more than {max_out} bytes"));
            }
            out.extend_from_slice(lit);
            self.pos += n;
            Ok(())
        }
    }
    let mut input = In { src, pos: 0 };
    let mut out = Vec::new();
    let mut state = 0usize;
    match src.first().copied().map(usize::from) {
        None => return Err("empty LZO input".into()),
        Some(first) if first >= 22 => {
            input.pos = 1;
            input.literals(first - 17, &mut out, max_out)?;
            state = 4;
        }
        Some(first) if first >= 18 => {
            input.pos = 1;
            state = first - 17;
            input.literals(state, &mut out, max_out)?;
        }
        Some(_) => {}
    }
    loop {
        let inst = input.byte()?;
        let (len, dist, next_state);
        if inst & 0xc0 != 0 {
            // M2: 3..8 bytes within 2 KiB.
            let h = input.byte()?;
            dist = (h << 3) + ((inst >> 2) & 7) + 1;
            len = (inst >> 5) + 1;
            next_state = inst & 3;
        } else if inst & 0x20 != 0 {
            // M3: within 16 KiB.
            len = match inst & 0x1f {
                0 => input.extended(31)? + 2,
                l => l + 2,
            };
            let d = input.le16()?;
            dist = (d >> 2) + 1;
            next_state = d & 3;
        } else if inst & 0x10 != 0 {
            // M4: 16..48 KiB, or the end-of-stream marker.
            len = match inst & 7 {
                0 => input.extended(7)? + 2,
                l => l + 2,
            };
            let d = input.le16()?;
            let far = ((inst & 8) << 11) + (d >> 2);
            if far == 0 {
                if len != 3 {
                    return Err("malformed LZO end-of-stream marker".into());
                }
                return Ok(out);
            }
            dist = far + 16384;
            next_state = d & 3;
        } else if state == 0 {
            // A long literal run.
            let n = match inst {
                0 => input.extended(15)? + 3,
                l => l + 3,
            };
            input.literals(n, &mut out, max_out)?;
            state = 4;
            continue;
        } else {
            // M1: 2 bytes within 1 KiB, or 3 bytes 2..3 KiB back after a long run.
            let h = input.byte()?;
            if state == 4 {
                dist = (inst >> 2) + (h << 2) + 2049;
                len = 3;
            } else {
                dist = (inst >> 2) + (h << 2) + 1;
                len = 2;
            }
            next_state = inst & 3;
        }
        if dist > out.len() {
            return Err(format!(
                "LZO back-reference {dist} bytes back at output offset {} points before the start",
                out.len()
            ));
        }
        if out.len() + len > max_out {
            return Err(format!("LZO data decodes to more than {max_out} bytes"));
        }
        let start = out.len() - dist;
        // Byte by byte: a match may overlap the bytes it produces.
        for i in 0..len {
            let b = out[start + i];
            out.push(b);
        }
        input.literals(next_state, &mut out, max_out)?;
        state = next_state;
    }
}

/// An LZMA block: the standard 13-byte `.lzma` header, or the vendor
/// variant seen in router SquashFS images that stores only the 5 property
/// bytes and no size.
fn lzma_block(bytes: &[u8], max_out: usize, out: &mut Vec<u8>) -> Result<(), String> {
    let limit = max_out as u64 + 1;
    let start = out.len();
    let standard = match liblzma_block(bytes, false, max_out, out) {
        Ok(()) if out.len() - start <= max_out => return Ok(()),
        Ok(()) => format!("decodes to more than {max_out} bytes"),
        Err(e) => e,
    };
    out.truncate(start);
    let (Some(&props), Some(dict)) = (bytes.first(), super::bytes::le_u32(bytes, 1)) else {
        return Err("LZMA block shorter than its header".into());
    };
    if props >= 225 || !(4096..=1 << 28).contains(&dict) {
        return Err(format!("LZMA block does not decode: {standard}"));
    }
    let variant = |why: &str| format!("LZMA block does not decode: {standard}; nor with a 5-byte header: {why}");
    let raw = lzma_rust2::LzmaReader::new_with_props(&bytes[5..], u64::MAX, props, dict, None)
        .map_err(|e| variant(&e.to_string()))?;
    let _ = raw.take(limit).read_to_end(out);
    if out.len() == start {
        return Err(variant("no output"));
    }
    if out.len() - start > max_out {
        return Err(variant(&format!("more than {max_out} bytes")));
    }
    Ok(())
}
