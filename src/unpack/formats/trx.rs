//! Broadcom TRX firmware (routers from Linksys, ASUS, Netgear and others).
//!
//! Little-endian header: magic "HDR0", total length (header included), a
//! CRC-32 over the bytes from the `flag_version` field (offset 12) to the
//! end, `flag_version` (flags in the low 16 bits, version in the high 16),
//! then partition offsets from the header's start: three in version 1,
//! four in version 2. The CRC is the standard CRC-32 polynomial and initial
//! value *without* the final inversion (OpenWrt's `trx.c`, checked against
//! the corpus `trx.img`). Each partition becomes a [`Child::Range`] that is
//! carved again, so a kernel, a SquashFS or a ZIP inside is found in place.

use std::collections::BTreeMap;

use crate::unpack::bytes::le_u32;
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};

pub const FORMAT: Format = Format {
    name: "trx",
    magics: &[Magic::at_start(b"HDR0")],
    parse,
    extract,
    carve: true,
};

const CRC_FROM: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub crc: u32,
    pub flags: u16,
    pub version: u16,
    /// Non-zero partition offsets, in header order.
    pub offsets: Vec<u32>,
    pub header_len: usize,
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    if d.get(..4) != Some(b"HDR0") {
        return Err(Reject::new("not a TRX magic"));
    }
    let len = need(le_u32(d, 4), "length")?;
    let crc = need(le_u32(d, 8), "CRC")?;
    let flag_version = need(le_u32(d, 12), "flags and version")?;
    let version = (flag_version >> 16) as u16;
    let count = match version {
        1 => 3,
        2 => 4,
        other => return Err(Reject::new(format!("unknown TRX version {other}"))),
    };
    let header_len = 16 + 4 * count;
    if (len as usize) < header_len {
        return Err(Reject::new(format!("TRX length {len} is shorter than its header")));
    }
    let mut offsets = Vec::new();
    for i in 0..count {
        let off = need(le_u32(d, 16 + 4 * i), "partition offsets")?;
        if off == 0 {
            continue;
        }
        if (off as usize) < header_len || off >= len {
            return Err(Reject::new(format!(
                "partition offset {off:#x} lies outside the image (header {header_len} bytes, length {len:#x})"
            )));
        }
        offsets.push(off);
    }
    Ok(Header {
        len,
        crc,
        flags: flag_version as u16,
        version,
        offsets,
        header_len,
    })
}

/// The TRX checksum: CRC-32 without the final inversion.
fn trx_crc(bytes: &[u8]) -> u32 {
    !crc32fast::hash(bytes)
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let whole = d.get(CRC_FROM..h.len as usize);
    let crc_ok = whole.map(trx_crc) == Some(h.crc);
    let mut facts = BTreeMap::new();
    facts.insert("version".into(), h.version.to_string());
    facts.insert("flags".into(), format!("{:#06x}", h.flags));
    facts.insert("length".into(), h.len.to_string());
    facts.insert("crc32".into(), format!("{:#010x}", h.crc));
    facts.insert(
        "partitions".into(),
        h.offsets
            .iter()
            .map(|o| format!("{o:#x}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    Ok(Parsed {
        len: Some(u64::from(h.len).min(d.len() as u64)),
        // Without a matching CRC the magic and offsets are all that agree.
        confidence: if crc_ok { Confidence::High } else { Confidence::Medium },
        description: format!("Broadcom TRX v{}, {} partitions", h.version, h.offsets.len()),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, _: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let len = h.len as usize;
    match d.get(CRC_FROM..len) {
        None => out.problem(format!(
            "image truncated: header declares {len} bytes, {} present",
            d.len()
        )),
        Some(bytes) => {
            let crc = trx_crc(bytes);
            if crc != h.crc {
                out.problem(format!("CRC mismatch: header {:#010x}, computed {crc:#010x}", h.crc));
            }
        }
    }
    let end = len.min(d.len());
    let mut sorted = h.offsets.clone();
    sorted.sort_unstable();
    sorted.dedup();
    for (i, &off) in sorted.iter().enumerate() {
        let start = off as usize;
        let stop = sorted.get(i + 1).map_or(end, |&n| n as usize).min(end);
        if start >= stop {
            out.problem(format!("partition at {off:#x} lies beyond the data present"));
            continue;
        }
        out.children.push(Child::Range {
            offset: start as u64,
            len: (stop - start) as u64,
        });
    }
    if out.children.is_empty() && h.offsets.is_empty() {
        out.problem("header lists no partitions");
    }
    Ok(out)
}

/// Build a version-1 TRX around `parts`, for tests.
#[cfg(test)]
pub fn build(parts: &[&[u8]]) -> Vec<u8> {
    let mut d = vec![0u8; 28];
    d[..4].copy_from_slice(b"HDR0");
    d[12..16].copy_from_slice(&(1u32 << 16).to_le_bytes());
    for (i, p) in parts.iter().enumerate() {
        let off = d.len() as u32;
        d[16 + 4 * i..20 + 4 * i].copy_from_slice(&off.to_le_bytes());
        d.extend_from_slice(p);
    }
    let len = d.len() as u32;
    d[4..8].copy_from_slice(&len.to_le_bytes());
    let crc = trx_crc(&d[CRC_FROM..]);
    d[8..12].copy_from_slice(&crc.to_le_bytes());
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;

    #[test]
    fn partitions_become_ranges_and_the_crc_is_checked() {
        let mut d = build(&[b"kernel-bytes", b"rootfs-bytes-here"]);
        let len = d.len() as u64;
        d.extend_from_slice(&[0xff; 64]);
        let (p, x) = run(&FORMAT, &d);
        assert_eq!(p.len, Some(len));
        assert_eq!(p.confidence, Confidence::High);
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let ranges: Vec<(u64, u64)> = x
            .children
            .iter()
            .map(|c| match c {
                Child::Range { offset, len } => (*offset, *len),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ranges, [(28, 12), (40, 17)]);
    }

    #[test]
    fn corrupt_truncated_and_lying_headers_are_reported_not_panics() {
        let d = build(&[b"kernel-bytes"]);
        let mut bad = d.clone();
        bad[30] ^= 1;
        let (p, x) = run(&FORMAT, &bad);
        assert_eq!(p.confidence, Confidence::Medium);
        assert!(x.unwrap().problems[0].contains("CRC mismatch"));

        let (_, x) = run(&FORMAT, &d[..32]);
        assert!(x.unwrap().problems[0].contains("truncated"));

        let mut lie = d.clone();
        lie[16..20].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        assert!(parse(&lie).is_err());
        let mut lie = d;
        lie[4..8].copy_from_slice(&4u32.to_le_bytes());
        assert!(parse(&lie).is_err());
        for cut in 0..28 {
            let _ = parse(&build(&[b"x"])[..cut]);
        }
    }
}
