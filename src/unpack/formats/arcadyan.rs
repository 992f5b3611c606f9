//! Arcadyan's obfuscated LZMA: the kernel (or whole system) image of
//! Arcadyan-made routers (sold as Vodafone EasyBox, o2 Box, Telekom
//! Speedport and others), an `.lzma` stream whose first bytes are shuffled
//! so that stock tools do not find it.
//!
//! Facts from binwalk v3 (`src/signatures/arcadyan.rs` and
//! `src/extractors/arcadyan.rs`); the code here is fwcert's own:
//! - the obfuscated data starts 0x68 bytes before the bytes `00 D5 08 00`;
//! - its two 32-byte blocks at 0x04 and 0x68 trade places;
//! - the block that lands at 0x04 then has the two nibbles of every byte
//!   swapped, and then every pair of bytes swapped;
//! - from offset 4 on, the result is an `.lzma` stream (properties,
//!   dictionary size, 64-bit uncompressed size, range-coded data). The
//!   first 4 bytes are kept as they are; fwcert reports them as `prefix`.
//!
//! The magic is what a `5D 00 00 80` header (lc=3 lp=0 pb=2, a dictionary
//! of 8 MiB or 8 MiB plus a multiple of 16 MiB) looks like obfuscated, so
//! `parse` deobfuscates the header, checks the same fields as the `.lzma`
//! parser, and decodes the first few hundred bytes. The stream's end is
//! where the decoder stops.

use std::collections::BTreeMap;
use std::io::Read;

use crate::unpack::bytes::{le_u32, le_u64};
use crate::unpack::decode::{CountingSlice, LZMA_MEM_LIMIT_KIB, read_bounded};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, probe_decodes, stream_extraction,
};

/// The obfuscated bytes that hold the `.lzma` header's first four bytes.
const MAGIC: [u8; 4] = [0x00, 0xd5, 0x08, 0x00];
/// The length of each swapped block.
const BLOCK: usize = 32;
/// Where the first swapped block, and after deobfuscation the `.lzma`
/// stream, starts.
const FIRST: usize = 4;
/// Where the second swapped block starts (and the magic sits).
const SECOND: usize = 0x68;
/// Bytes touched by the obfuscation; everything after is stored as is.
const HEAD: usize = SECOND + BLOCK;

pub const FORMAT: Format = Format {
    name: "arcadyan",
    magics: &[Magic {
        bytes: &MAGIC,
        at: SECOND,
    }],
    parse,
    extract,
    carve: true,
};

/// Swap the nibbles of every byte, then the bytes of every pair: the
/// transformation of the block that moves to offset 4. It is its own
/// inverse.
fn scramble(block: &mut [u8]) {
    for b in block.iter_mut() {
        *b = b.rotate_left(4);
    }
    for pair in block.chunks_exact_mut(2) {
        pair.swap(0, 1);
    }
}

/// The first [`HEAD`] bytes of `d` deobfuscated; the bytes after them are
/// unchanged by the obfuscation.
fn deobfuscate_head(d: &[u8]) -> Option<[u8; HEAD]> {
    let src: [u8; HEAD] = d.get(..HEAD)?.try_into().ok()?;
    let mut out = src;
    out[FIRST..FIRST + BLOCK].copy_from_slice(&src[SECOND..SECOND + BLOCK]);
    out[SECOND..SECOND + BLOCK].copy_from_slice(&src[FIRST..FIRST + BLOCK]);
    scramble(&mut out[FIRST..FIRST + BLOCK]);
    Some(out)
}

/// `plain` (4 prefix bytes, then an `.lzma` stream) obfuscated the way
/// Arcadyan's tools do; for fixtures.
#[cfg(test)]
pub fn obfuscate(plain: &[u8]) -> Vec<u8> {
    let mut out = plain.to_vec();
    out[SECOND..SECOND + BLOCK].copy_from_slice(&plain[FIRST..FIRST + BLOCK]);
    scramble(&mut out[SECOND..SECOND + BLOCK]);
    out[FIRST..FIRST + BLOCK].copy_from_slice(&plain[SECOND..SECOND + BLOCK]);
    out
}

/// The deobfuscated `.lzma` header: properties, dictionary size and
/// uncompressed size (`u64::MAX` when unknown).
struct Header {
    head: [u8; HEAD],
    dict: u32,
    size: u64,
}

fn header(d: &[u8]) -> Result<Header, Reject> {
    if d.get(SECOND..SECOND + MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(Reject::new("not an Arcadyan obfuscated LZMA magic"));
    }
    let head =
        deobfuscate_head(d).ok_or_else(|| Reject::new("header truncated: shorter than the obfuscated blocks"))?;
    let props = head[FIRST];
    let dict = le_u32(&head, FIRST + 1).unwrap_or(0);
    let size = le_u64(&head, FIRST + 5).unwrap_or(0);
    if props >= 9 * 5 * 5 || !(4096..=1 << 30).contains(&dict) {
        return Err(Reject::new("implausible deobfuscated LZMA properties"));
    }
    if size != u64::MAX && (size == 0 || size >= 1 << 32) {
        return Err(Reject::new(format!("implausible deobfuscated LZMA size {size}")));
    }
    if head[FIRST + 13] != 0 {
        return Err(Reject::new("first deobfuscated range-coder byte is not zero"));
    }
    Ok(Header { head, dict, size })
}

/// The deobfuscated stream: the head's bytes from offset 4, then the rest
/// as stored.
fn stream<'a>(h: &'a Header, tail: impl Read + 'a) -> impl Read + 'a {
    (&h.head[FIRST..]).chain(tail)
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    // Four bytes with two zeros turn up in code; a real stream also
    // decodes its first few hundred bytes.
    let decodes = lzma_rust2::LzmaReader::new_mem_limit(stream(&h, &d[HEAD..]), LZMA_MEM_LIMIT_KIB, None)
        .is_ok_and(probe_decodes);
    if !decodes {
        return Err(Reject::new("the deobfuscated LZMA stream does not decode"));
    }
    let size = if h.size == u64::MAX {
        "unknown".to_string()
    } else {
        h.size.to_string()
    };
    let mut facts = BTreeMap::new();
    facts.insert("prefix".into(), hex::encode(&h.head[..FIRST]));
    facts.insert("dictionary_size".into(), h.dict.to_string());
    facts.insert("uncompressed_size".into(), size.clone());
    Ok(Parsed {
        len: None,
        // As for a plain `.lzma` header: a known size is one more field
        // that had to be plausible.
        confidence: if h.size == u64::MAX {
            Confidence::Low
        } else {
            Confidence::Medium
        },
        description: format!("Arcadyan obfuscated LZMA, uncompressed size {size}"),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    // The stream is the deobfuscated head followed by the rest as stored;
    // reading it through a chain spares copying the image.
    let mut tail = CountingSlice::new(&d[HEAD..]);
    let result = {
        let input = (&h.head[FIRST..]).chain(&mut tail);
        match lzma_rust2::LzmaReader::new_mem_limit(input, LZMA_MEM_LIMIT_KIB, None) {
            Ok(mut dec) => {
                let decoded = read_bounded(&mut dec, ctx);
                let (input, unused) = dec.into_parts();
                let (head_left, _) = input.into_inner();
                Ok((decoded, HEAD - head_left.len(), unused.len()))
            }
            Err(e) => Err(e),
        }
    };
    let (decoded, head_used, unused) =
        result.map_err(|e| ExtractError::Corrupt(format!("Arcadyan LZMA header: {e}")))?;
    let consumed = (head_used + tail.consumed()).saturating_sub(unused);
    stream_extraction("Arcadyan LZMA", decoded, consumed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{Entry, squashfs};
    use crate::unpack::format::Child;
    use crate::unpack::formats::squashfs::GZIP_CODEC;
    use crate::unpack::formats::testing::run;
    use crate::unpack::{Status, UnpackOptions, unpack};

    /// A root filesystem, as the obfuscated stream's payload.
    fn rootfs() -> Vec<u8> {
        squashfs(
            &[
                Entry::Dir {
                    path: "/etc",
                    mode: 0o755,
                },
                Entry::File {
                    path: "/etc/passwd",
                    mode: 0o644,
                    data: b"root:x:0:0::/root:/bin/sh\n".to_vec(),
                },
                Entry::Dir {
                    path: "/bin",
                    mode: 0o755,
                },
                Entry::File {
                    path: "/bin/busybox",
                    mode: 0o755,
                    data: (0..20_000u32)
                        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                        .collect(),
                },
                Entry::Link {
                    path: "/bin/sh",
                    target: "busybox",
                },
            ],
            &GZIP_CODEC,
        )
    }

    /// `payload` as Arcadyan ships it: 4 prefix bytes, then an `.lzma`
    /// stream with an 8 MiB dictionary (what the magic encodes),
    /// obfuscated.
    fn arcadyan(payload: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut opts = lzma_rust2::LzmaOptions::with_preset(6);
        opts.dict_size = 8 << 20;
        let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &opts, Some(payload.len() as u64)).unwrap();
        w.write_all(payload).unwrap();
        let mut plain = b"\x01\x00\x00\x00".to_vec();
        plain.extend_from_slice(&w.finish().unwrap());
        assert!(plain.len() > HEAD);
        obfuscate(&plain)
    }

    #[test]
    fn obfuscation_moves_the_lzma_header_to_the_magic() {
        let payload = rootfs();
        let img = arcadyan(&payload);
        // binwalk's magic is where our obfuscation puts the header.
        assert_eq!(img[SECOND..SECOND + 4], MAGIC);
        assert_eq!(deobfuscate_head(&img).unwrap()[FIRST..FIRST + 4], [0x5d, 0, 0, 0x80]);
        let mut block = *b"0123456789abcdef0123456789abcdef";
        scramble(&mut block);
        assert_ne!(&block, b"0123456789abcdef0123456789abcdef");
        scramble(&mut block);
        assert_eq!(&block, b"0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn obfuscated_lzma_is_decoded_and_its_root_unpacked() {
        let payload = rootfs();
        let img = arcadyan(&payload);
        let p = parse(&img).unwrap();
        assert_eq!(p.facts["prefix"], "01000000");
        assert_eq!(p.facts["dictionary_size"], (8 << 20).to_string());
        assert_eq!(p.facts["uncompressed_size"], payload.len().to_string());
        assert_eq!(p.confidence, Confidence::Medium);
        crate::unpack::formats::testing::stream_round_trip(&FORMAT, &img, &[0xff; 100], payload.len());
        let (_, x) = run(&FORMAT, &img);
        assert!(matches!(&x.unwrap().children[..], [Child::Payload { data }] if data[..] == payload[..]));
        // The whole engine, from a flash dump with the image at 0x1000.
        let mut flash = vec![0xffu8; 0x1000];
        flash.extend_from_slice(&img);
        flash.resize(0x4000 + img.len(), 0xff);
        let u = unpack(flash.into(), "easybox.bin", &UnpackOptions::default());
        assert!(u.complete(), "{:?}", u.incompleteness());
        let c = u.containers.iter().find(|c| c.format == "arcadyan").unwrap();
        assert_eq!((c.offset, c.size), (0x1000, img.len() as u64));
        let [fs] = &u.filesystems[..] else {
            panic!("one filesystem expected, got {}", u.filesystems.len())
        };
        assert!(fs.chain.to_string().contains(":arcadyan"), "{}", fs.chain);
        let mut paths: Vec<&str> = fs.tree.iter().map(|(p, _)| p).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/", "/bin", "/bin/busybox", "/bin/sh", "/etc", "/etc/passwd"]);
        assert_eq!(
            fs.tree.get("/etc/passwd").and_then(crate::unpack::tree::Node::data),
            Some(&b"root:x:0:0::/root:/bin/sh\n"[..])
        );
    }

    #[test]
    fn truncated_or_corrupt_streams_are_problems_not_panics() {
        let payload = rootfs();
        let img = arcadyan(&payload);
        assert!(parse(&img[..HEAD - 1]).is_err());
        for cut in (HEAD..img.len()).step_by(53) {
            // Too little to decode anything is not a hit at all.
            let Ok(p) = parse(&img[..cut]) else { continue };
            let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
            let mut ctx = ExtractCtx {
                budget: &mut budget,
                deadline: crate::unpack::budget::Deadline::far(),
                source: Default::default(),
            };
            match extract(&img[..cut], &p, &mut ctx) {
                Ok(x) => assert!(!x.problems.is_empty(), "cut {cut}"),
                Err(e) => assert!(e.to_string().contains("Arcadyan"), "{e}"),
            }
        }
        // Through the engine: a container that says why it is incomplete.
        let u = unpack(
            img[..img.len() / 2].to_vec().into(),
            "cut.bin",
            &UnpackOptions::default(),
        );
        let c = u.containers.iter().find(|c| c.format == "arcadyan").unwrap();
        assert_ne!(c.status, Status::Complete);
        assert!(
            c.problems.iter().any(|p| p.contains("Arcadyan LZMA")),
            "{:?}",
            c.problems
        );
        for i in (HEAD..img.len()).step_by(41) {
            let mut bad = img.clone();
            bad[i] ^= 0x5a;
            let _ = crate::unpack::formats::testing::survive(parse, extract, &bad);
        }
        // A header that does not deobfuscate to a plausible one is not a hit.
        let mut bad = img.clone();
        bad[SECOND + 5] = 0xff;
        assert!(parse(&bad).is_err());
    }
}
