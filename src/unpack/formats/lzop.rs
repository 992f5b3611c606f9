//! lzop files: a header (with its own Adler-32 or CRC-32), then LZO1X
//! blocks each prefixed by their decoded and stored sizes and optional
//! checksums, ended by a zero-length block.
//!
//! The framing is parsed here (lzop's `lzop.c` defines it; no crate does);
//! blocks go through fwcert's bounded [`lzo1x`] decoder. Each block's
//! declared size is charged to the budget before it is decoded, and lzop
//! itself never writes blocks over 64 MiB, so a larger claim is a lie.

use std::collections::BTreeMap;

use crate::unpack::bytes::{be_u16, be_u32};
use crate::unpack::decode::lzo1x;
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};

pub const FORMAT: Format = Format {
    name: "lzop",
    magics: &[Magic::at_start(&MAGIC)],
    parse,
    extract,
    carve: true,
};

const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
const F_ADLER32_D: u32 = 0x1;
const F_ADLER32_C: u32 = 0x2;
const F_H_EXTRA_FIELD: u32 = 0x40;
const F_CRC32_D: u32 = 0x100;
const F_CRC32_C: u32 = 0x200;
const F_H_FILTER: u32 = 0x800;
const F_H_CRC32: u32 = 0x1000;
const MAX_BLOCK: u32 = 64 << 20;

/// The header fields fwcert uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub method: u8,
    pub flags: u32,
    pub name: String,
    pub mtime: u32,
    /// Where the first block starts.
    pub len: usize,
}

pub fn adler32(d: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in d.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    if d.get(..9) != Some(&MAGIC[..]) {
        return Err(Reject::new("not an lzop magic"));
    }
    let version = need(be_u16(d, 9), "version")?;
    let mut at = 13; // version, library version
    if version >= 0x0940 {
        at += 2; // version needed to extract
    }
    let method = need(d.get(at).copied(), "method")?;
    at += 1;
    if version >= 0x0940 {
        at += 1; // level
    }
    let flags = need(be_u32(d, at), "flags")?;
    at += 4;
    if flags & F_H_FILTER != 0 {
        at += 4;
    }
    at += 4; // mode
    let mtime = need(be_u32(d, at), "mtime")?;
    at += 4;
    if version >= 0x0940 {
        at += 4; // mtime high
    }
    let name_len = need(d.get(at).copied(), "name length")? as usize;
    at += 1;
    let name = String::from_utf8_lossy(need(d.get(at..at + name_len), "name")?).to_string();
    at += name_len;
    let stored = need(be_u32(d, at), "header checksum")?;
    let covered = &d[9..at];
    let computed = if flags & F_H_CRC32 != 0 {
        crc32fast::hash(covered)
    } else {
        adler32(covered)
    };
    if stored != computed {
        return Err(Reject::new(format!(
            "header checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    at += 4;
    if flags & F_H_EXTRA_FIELD != 0 {
        let extra = need(be_u32(d, at), "extra field length")? as usize;
        at = at.saturating_add(8).saturating_add(extra);
        if at > d.len() {
            return Err(Reject::new("extra field runs past the end"));
        }
    }
    if !(1..=3).contains(&method) {
        return Err(Reject::new(format!("lzop method {method} is not LZO1X")));
    }
    Ok(Header {
        version,
        method,
        flags,
        name,
        mtime,
        len: at,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let mut facts = BTreeMap::new();
    facts.insert("original_name".into(), h.name.clone());
    facts.insert("version".into(), format!("{:#06x}", h.version));
    facts.insert("mtime".into(), h.mtime.to_string());
    Ok(Parsed {
        len: None,
        // The header checksum matched.
        confidence: Confidence::High,
        description: format!("lzop file, original name {:?}", h.name),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let mut data = Vec::new();
    let mut at = h.len;
    let stop = loop {
        if let Err(b) = ctx.deadline.check() {
            break Some(b.to_string());
        }
        let Some(dst_len) = be_u32(d, at) else {
            break Some(format!("stream truncated at {at:#x}: no end-of-stream block"));
        };
        if dst_len == 0 {
            at += 4;
            break None;
        }
        let Some(src_len) = be_u32(d, at + 4) else {
            break Some(format!("block header at {at:#x} is truncated"));
        };
        if dst_len > MAX_BLOCK || src_len > dst_len {
            break Some(format!(
                "block at {at:#x} declares {src_len} stored and {dst_len} decoded bytes; lzop never writes that"
            ));
        }
        let mut p = at + 8;
        let d_sum = [(F_ADLER32_D, false), (F_CRC32_D, true)]
            .into_iter()
            .filter(|(f, _)| h.flags & f != 0)
            .map(|(_, crc)| {
                let v = be_u32(d, p);
                p += 4;
                v.map(|v| (v, crc))
            })
            .collect::<Vec<_>>();
        if src_len < dst_len {
            p += 4 * [F_ADLER32_C, F_CRC32_C].iter().filter(|&&f| h.flags & f != 0).count();
        }
        let Some(src) = d.get(p..p + src_len as usize) else {
            break Some(format!(
                "block at {at:#x} declares {src_len} bytes, only {} present",
                d.len().saturating_sub(p)
            ));
        };
        if let Err(b) = ctx.budget.charge_bytes(u64::from(dst_len)) {
            break Some(b.to_string());
        }
        let block = if src_len == dst_len {
            src.to_vec()
        } else {
            match lzo1x(src, dst_len as usize) {
                Ok(b) if b.len() == dst_len as usize => b,
                Ok(b) => {
                    break Some(format!(
                        "block at {at:#x} decodes to {} bytes, header says {dst_len}",
                        b.len()
                    ));
                }
                Err(e) => break Some(format!("block at {at:#x}: {e}")),
            }
        };
        for (stored, crc) in d_sum.into_iter().flatten() {
            let computed = if crc { crc32fast::hash(&block) } else { adler32(&block) };
            if computed != stored {
                out.problem(format!(
                    "block at {at:#x}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x})"
                ));
            }
        }
        data.extend_from_slice(&block);
        at = p + src_len as usize;
    };
    if let Some(why) = stop {
        if data.is_empty() {
            return Err(ExtractError::Corrupt(format!("lzop stream: {why}")));
        }
        out.problem(why);
    }
    out.consumed = Some(at.min(d.len()) as u64);
    out.children.push(Child::Payload { data });
    Ok(out)
}

/// Build an lzop file (version 0x1040, Adler-32 of data) for tests.
#[cfg(test)]
pub fn build(name: &str, blocks: &[&[u8]]) -> Vec<u8> {
    let mut d = MAGIC.to_vec();
    d.extend_from_slice(&[0x10, 0x40, 0x20, 0xa0, 0x09, 0x40, 0x01, 0x05]);
    d.extend_from_slice(&(0x0300_0000 | F_ADLER32_D).to_be_bytes());
    d.extend_from_slice(&0o100644u32.to_be_bytes());
    d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
    d.push(name.len() as u8);
    d.extend_from_slice(name.as_bytes());
    let sum = adler32(&d[9..]);
    d.extend_from_slice(&sum.to_be_bytes());
    for b in blocks {
        let packed = lzokay_native::compress(b).unwrap();
        let stored = if packed.len() < b.len() { &packed[..] } else { b };
        d.extend_from_slice(&(b.len() as u32).to_be_bytes());
        d.extend_from_slice(&(stored.len() as u32).to_be_bytes());
        d.extend_from_slice(&adler32(b).to_be_bytes());
        d.extend_from_slice(stored);
    }
    d.extend_from_slice(&[0; 4]);
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
    fn stored_and_compressed_blocks_decode_and_the_stream_is_measured() {
        let big = b"etc/passwd root:x:0:0 ".repeat(3000);
        let mut d = build("rootfs.img", &[&big, b"xyz"]);
        let len = d.len() as u64;
        d.extend_from_slice(b"trailer");
        let (p, x) = run(&FORMAT, &d);
        assert_eq!(p.facts["original_name"], "rootfs.img");
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(x.consumed, Some(len));
        assert_eq!(payload(&x).len(), big.len() + 3);
    }

    #[test]
    fn adler32_matches_the_reference_value() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn truncation_lies_and_corruption_are_reported_without_panicking() {
        let big = b"abcdefgh".repeat(5000);
        let d = build("f", &[&big, &big]);
        let first_block = header(&d).unwrap().len;
        for cut in [first_block + 2, first_block + 20, d.len() / 2, d.len() - 1] {
            let (_, x) = run(&FORMAT, &d[..cut]);
            match x {
                Ok(x) => assert!(!x.problems.is_empty(), "cut {cut}"),
                Err(e) => assert!(e.to_string().contains("lzop"), "{e}"),
            }
        }
        let mut lie = d.clone();
        lie[first_block..first_block + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(run(&FORMAT, &lie).1.unwrap_err().to_string().contains("never writes"));
        let mut bad = d.clone();
        bad[first_block + 20] ^= 0x55;
        let (_, x) = run(&FORMAT, &bad);
        match x {
            Ok(x) => assert!(!x.problems.is_empty()),
            Err(e) => assert!(e.to_string().contains("lzop")),
        }
        let mut bad_header = d;
        bad_header[20] ^= 1;
        assert!(parse(&bad_header).is_err());
    }
}
