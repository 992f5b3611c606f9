//! Android sparse images (`simg`, AOSP `libsparse/sparse_format.h`): a
//! 28-byte header, then chunks that are raw data, a 4-byte fill pattern,
//! a hole ("don't care", zeros) or a CRC-32 marker.
//!
//! The expanded image is `total_blocks × block_size` bytes, which a header
//! can set to terabytes, so the whole size is charged to the budget before
//! anything is allocated. The result is one payload, carved again (it is
//! usually an ext4 or SquashFS image).

use std::collections::BTreeMap;

use crate::unpack::bytes::{le_u16, le_u32};
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};

pub const FORMAT: Format = Format {
    name: "android-sparse",
    magics: &[Magic::at_start(&[0x3a, 0xff, 0x26, 0xed])],
    parse,
    extract,
    carve: true,
};

const RAW: u16 = 0xcac1;
const FILL: u16 = 0xcac2;
const DONT_CARE: u16 = 0xcac3;
const CRC32: u16 = 0xcac4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub major: u16,
    pub minor: u16,
    pub header_len: usize,
    pub chunk_header_len: usize,
    pub block_size: u32,
    pub total_blocks: u32,
    pub total_chunks: u32,
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    if need(le_u32(d, 0), "magic")? != 0xed26_ff3a {
        return Err(Reject::new("not an Android sparse magic"));
    }
    let h = Header {
        major: need(le_u16(d, 4), "major version")?,
        minor: need(le_u16(d, 6), "minor version")?,
        header_len: need(le_u16(d, 8), "header size")? as usize,
        chunk_header_len: need(le_u16(d, 10), "chunk header size")? as usize,
        block_size: need(le_u32(d, 12), "block size")?,
        total_blocks: need(le_u32(d, 16), "block count")?,
        total_chunks: need(le_u32(d, 20), "chunk count")?,
    };
    if h.major != 1 || h.header_len < 28 || h.chunk_header_len < 12 {
        return Err(Reject::new(format!(
            "unsupported sparse header (version {}.{}, header {} bytes, chunk header {} bytes)",
            h.major, h.minor, h.header_len, h.chunk_header_len
        )));
    }
    if h.block_size == 0 || !h.block_size.is_multiple_of(4) {
        return Err(Reject::new(format!(
            "block size {} is not a multiple of 4",
            h.block_size
        )));
    }
    Ok(h)
}

/// One chunk: its type, size in blocks, and where its data lies.
struct Chunk {
    kind: u16,
    blocks: u32,
    data: std::ops::Range<usize>,
}

/// Walk the chunk headers; returns the chunks, the end of the last one and
/// why the walk stopped early, if it did.
fn chunks(d: &[u8], h: &Header) -> (Vec<Chunk>, usize, Option<String>) {
    let mut out = Vec::new();
    let mut at = h.header_len;
    for i in 0..h.total_chunks {
        let (Some(kind), Some(blocks), Some(total)) = (le_u16(d, at), le_u32(d, at + 4), le_u32(d, at + 8)) else {
            return (
                out,
                at.min(d.len()),
                Some(format!("chunk {i} header at {at:#x} is truncated")),
            );
        };
        let total = total as usize;
        if total < h.chunk_header_len {
            return (
                out,
                at,
                Some(format!("chunk {i} at {at:#x} declares a size smaller than its header")),
            );
        }
        let end = at.saturating_add(total);
        if end > d.len() {
            return (
                out,
                d.len(),
                Some(format!(
                    "chunk {i} at {at:#x} declares {total} bytes, only {} present",
                    d.len() - at
                )),
            );
        }
        out.push(Chunk {
            kind,
            blocks,
            data: at + h.chunk_header_len..end,
        });
        at = end;
    }
    (out, at, None)
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let (_, end, _) = chunks(d, &h);
    let mut facts = BTreeMap::new();
    facts.insert("version".into(), format!("{}.{}", h.major, h.minor));
    facts.insert("block_size".into(), h.block_size.to_string());
    facts.insert("blocks".into(), h.total_blocks.to_string());
    facts.insert("chunks".into(), h.total_chunks.to_string());
    let expanded = u64::from(h.block_size) * u64::from(h.total_blocks);
    facts.insert("expanded_size".into(), expanded.to_string());
    Ok(Parsed {
        len: Some(end as u64),
        confidence: Confidence::Medium,
        description: format!(
            "Android sparse image, {} chunks, {expanded} bytes expanded",
            h.total_chunks
        ),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let (list, _, stopped) = chunks(d, &h);
    if let Some(why) = stopped {
        out.problem(why);
    }
    let block = h.block_size as usize;
    let expanded = u64::from(h.block_size) * u64::from(h.total_blocks);
    ctx.budget.charge_bytes(expanded)?;
    let mut image = Vec::new();
    for (i, c) in list.iter().enumerate() {
        if let Err(b) = ctx.deadline.check() {
            out.problem(b.to_string());
            break;
        }
        let len = c.blocks as usize * block;
        if c.kind != CRC32 && image.len() as u64 + len as u64 > expanded {
            out.problem(format!("chunk {i} runs past the {expanded} bytes the header declares"));
            break;
        }
        let body = &d[c.data.clone()];
        match c.kind {
            RAW => {
                if body.len() != len {
                    out.problem(format!("raw chunk {i} holds {} bytes, not {len}", body.len()));
                    break;
                }
                image.extend_from_slice(body);
            }
            FILL => {
                let Some(pattern) = body.get(..4) else {
                    out.problem(format!("fill chunk {i} has no pattern"));
                    break;
                };
                image.extend(pattern.iter().copied().cycle().take(len));
            }
            DONT_CARE => image.resize(image.len() + len, 0),
            CRC32 => {
                if let Some(stored) = le_u32(body, 0) {
                    let computed = crc32fast::hash(&image);
                    if stored != computed {
                        out.problem(format!(
                            "CRC-32 chunk {i}: stored {stored:#010x}, computed {computed:#010x}"
                        ));
                    }
                }
            }
            other => {
                out.problem(format!("chunk {i} has unknown type {other:#06x}"));
                break;
            }
        }
    }
    if (image.len() as u64) < expanded && out.problems.is_empty() {
        out.problem(format!(
            "chunks expand to {} bytes, header declares {expanded}",
            image.len()
        ));
    }
    out.children.push(Child::Payload { data: image });
    Ok(out)
}

/// Build a sparse image from (type, blocks, body) chunks, for tests.
#[cfg(test)]
pub fn build(block_size: u32, chunks: &[(u16, u32, &[u8])]) -> Vec<u8> {
    let total_blocks: u32 = chunks.iter().filter(|c| c.0 != CRC32).map(|c| c.1).sum();
    let mut d = Vec::new();
    d.extend_from_slice(&0xed26_ff3au32.to_le_bytes());
    for v in [1u16, 0, 28, 12] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    for v in [block_size, total_blocks, chunks.len() as u32, 0] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    for (kind, blocks, body) in chunks {
        d.extend_from_slice(&kind.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&blocks.to_le_bytes());
        d.extend_from_slice(&(12 + body.len() as u32).to_le_bytes());
        d.extend_from_slice(body);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;

    fn payload(x: &Extraction) -> &[u8] {
        match &x.children[0] {
            Child::Payload { data } => data,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_chunk_type_expands() {
        let raw = vec![7u8; 8];
        let mut expect = raw.clone();
        expect.extend_from_slice(&[1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
        expect.extend_from_slice(&[0; 8]);
        let crc = crc32fast::hash(&expect).to_le_bytes();
        let mut d = build(
            8,
            &[
                (RAW, 1, &raw),
                (FILL, 2, &[1, 2, 3, 4]),
                (DONT_CARE, 1, b""),
                (CRC32, 0, &crc),
            ],
        );
        let len = d.len() as u64;
        d.extend_from_slice(b"after");
        let (p, x) = run(&FORMAT, &d);
        assert_eq!(p.len, Some(len));
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(payload(&x), &expect[..]);
    }

    #[test]
    fn a_huge_declared_size_is_refused_by_the_budget_before_allocation() {
        let mut d = build(4096, &[(DONT_CARE, 1, b"")]);
        d[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, x) = run(&FORMAT, &d);
        assert!(x.unwrap_err().to_string().contains("size budget"));
    }

    #[test]
    fn truncated_and_lying_chunks_are_partial_without_panicking() {
        let d = build(8, &[(RAW, 2, &[5u8; 16]), (FILL, 1, &[9, 9, 9, 9])]);
        for cut in [28, 30, 45, d.len() - 1] {
            let (_, x) = run(&FORMAT, &d[..cut]);
            assert!(!x.unwrap().problems.is_empty(), "cut {cut}");
        }
        let mut lie = d.clone();
        lie[28 + 4..28 + 8].copy_from_slice(&1000u32.to_le_bytes());
        let (_, x) = run(&FORMAT, &lie);
        assert!(!x.unwrap().problems.is_empty());
        let mut lie = d;
        lie[28 + 8..28 + 12].copy_from_slice(&3u32.to_le_bytes());
        let (_, x) = run(&FORMAT, &lie);
        assert!(x.unwrap().problems[0].contains("smaller than its header"));
    }
}
