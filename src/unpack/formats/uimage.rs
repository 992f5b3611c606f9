//! The legacy U-Boot image ("uImage"): a 64-byte big-endian header with a
//! CRC32 over itself and over the payload, then the payload.
//!
//! Field layout (from U-Boot's `include/image.h`): magic `0x27051956`,
//! header CRC, timestamp, data size, load address, entry point, data CRC,
//! OS, architecture, image type, compression, 32-byte name.

use std::collections::BTreeMap;

use crate::unpack::bytes::{be_u32, c_string};
use crate::unpack::decode::{Decoded, gzip_member, lzma_alone};
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};

pub const FORMAT: Format = Format {
    name: "uimage",
    magics: &[Magic::at_start(&[0x27, 0x05, 0x19, 0x56])],
    parse,
    extract,
    carve: true,
};

pub const HEADER_LEN: usize = 64;
const MULTI: u8 = 4;

/// The header fields fwcert uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub time: u32,
    pub size: u32,
    pub load: u32,
    pub entry: u32,
    pub data_crc: u32,
    pub os: u8,
    pub arch: u8,
    pub kind: u8,
    pub compression: u8,
    pub name: String,
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    let h = need(d.get(..HEADER_LEN), "64-byte header")?;
    if need(be_u32(h, 0), "magic")? != 0x2705_1956 {
        return Err(Reject::new("not a uImage magic"));
    }
    let stored = need(be_u32(h, 4), "header CRC")?;
    let mut copy = [0u8; HEADER_LEN];
    copy.copy_from_slice(h);
    copy[4..8].fill(0);
    let computed = crc32fast::hash(&copy);
    if stored != computed {
        return Err(Reject::new(format!(
            "header CRC mismatch: stored {stored:#010x}, computed {computed:#010x}"
        )));
    }
    Ok(Header {
        time: need(be_u32(h, 8), "time")?,
        size: need(be_u32(h, 12), "size")?,
        load: need(be_u32(h, 16), "load")?,
        entry: need(be_u32(h, 20), "entry")?,
        data_crc: need(be_u32(h, 24), "data CRC")?,
        os: h[28],
        arch: h[29],
        kind: h[30],
        compression: h[31],
        name: need(c_string(h, 32, 32), "name")?,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let declared = HEADER_LEN as u64 + u64::from(h.size);
    let mut facts = BTreeMap::new();
    facts.insert("name".into(), h.name.clone());
    facts.insert("os".into(), os_name(h.os).into());
    facts.insert("arch".into(), arch_name(h.arch).into());
    facts.insert("type".into(), type_name(h.kind).into());
    facts.insert("compression".into(), compression_name(h.compression).into());
    facts.insert("load_address".into(), format!("{:#010x}", h.load));
    facts.insert("entry_point".into(), format!("{:#010x}", h.entry));
    facts.insert("timestamp".into(), h.time.to_string());
    facts.insert("data_size".into(), h.size.to_string());
    facts.insert("data_crc".into(), format!("{:#010x}", h.data_crc));
    Ok(Parsed {
        // A truncated image keeps what is there; extract reports the loss.
        len: Some(declared.min(d.len() as u64)),
        confidence: Confidence::High,
        description: format!(
            "uImage {:?} {} {} {}, {}",
            h.name,
            os_name(h.os),
            arch_name(h.arch),
            type_name(h.kind),
            compression_name(h.compression)
        ),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let available = d.len().saturating_sub(HEADER_LEN);
    let size = h.size as usize;
    if available < size {
        out.problem(format!(
            "payload truncated: header declares {size} bytes, {available} present"
        ));
    }
    let payload = &d[HEADER_LEN..HEADER_LEN + size.min(available)];
    if available >= size {
        let crc = crc32fast::hash(payload);
        if crc != h.data_crc {
            out.problem(format!(
                "payload CRC mismatch: header {:#010x}, computed {crc:#010x}",
                h.data_crc
            ));
        }
    }
    if h.kind == MULTI {
        split_multi(payload, &mut out);
        return Ok(out);
    }
    let decoded = match h.compression {
        0 => {
            out.children.push(Child::Range {
                offset: HEADER_LEN as u64,
                len: payload.len() as u64,
            });
            return Ok(out);
        }
        1 => gzip_member(payload, ctx).0,
        3 => lzma_alone(payload, ctx).0,
        other => {
            // Scan the raw bytes anyway, and say plainly what was not decoded.
            out.problem(format!(
                "payload compression {} is not supported yet; scanned undecoded",
                compression_name(other)
            ));
            out.children.push(Child::Range {
                offset: HEADER_LEN as u64,
                len: payload.len() as u64,
            });
            return Ok(out);
        }
    };
    push_decoded(decoded, &mut out)?;
    Ok(out)
}

fn push_decoded(decoded: Decoded, out: &mut Extraction) -> Result<(), ExtractError> {
    if let Some(stop) = decoded.stop {
        if decoded.data.is_empty() {
            return Err(ExtractError::Corrupt(format!("payload: {stop}")));
        }
        out.problem(format!("payload: {stop}"));
    }
    out.children.push(Child::Payload { data: decoded.data });
    Ok(())
}

/// A multi-file image: a zero-terminated table of big-endian sizes, then
/// each sub-image padded to four bytes.
fn split_multi(payload: &[u8], out: &mut Extraction) {
    let mut sizes = Vec::new();
    let mut pos = 0;
    loop {
        match be_u32(payload, pos) {
            Some(0) => {
                pos += 4;
                break;
            }
            Some(n) => sizes.push(n as u64),
            None => {
                out.problem("multi-file size table is not terminated");
                return;
            }
        }
        pos += 4;
    }
    let mut at = pos as u64 + HEADER_LEN as u64;
    let end = HEADER_LEN as u64 + payload.len() as u64;
    for size in sizes {
        if at + size > end {
            out.problem(format!("multi-file part at {at:#x} runs past the image"));
            return;
        }
        out.children.push(Child::Range { offset: at, len: size });
        at += size.div_ceil(4) * 4;
    }
}

/// Build a uImage around `payload` (for samples and tests).
pub fn build(name: &str, kind: u8, compression: u8, time: u32, payload: &[u8]) -> Vec<u8> {
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&0x2705_1956u32.to_be_bytes());
    h[8..12].copy_from_slice(&time.to_be_bytes());
    h[12..16].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    h[16..20].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    h[20..24].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    h[24..28].copy_from_slice(&crc32fast::hash(payload).to_be_bytes());
    h[28] = 5; // Linux
    h[29] = 2; // ARM
    h[30] = kind;
    h[31] = compression;
    let n = name.len().min(31);
    h[32..32 + n].copy_from_slice(&name.as_bytes()[..n]);
    let crc = crc32fast::hash(&h);
    h[4..8].copy_from_slice(&crc.to_be_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(payload);
    out
}

pub fn os_name(v: u8) -> &'static str {
    match v {
        1 => "OpenBSD",
        2 => "NetBSD",
        3 => "FreeBSD",
        5 => "Linux",
        17 => "RTEMS",
        19 => "QNX",
        20 => "U-Boot",
        _ => "unknown-os",
    }
}

pub fn arch_name(v: u8) -> &'static str {
    match v {
        1 => "Alpha",
        2 => "ARM",
        3 => "x86",
        4 => "IA64",
        5 => "MIPS",
        6 => "MIPS64",
        7 => "PowerPC",
        8 => "S390",
        9 => "SuperH",
        10 => "SPARC",
        11 => "SPARC64",
        12 => "M68K",
        15 => "MicroBlaze",
        16 => "Nios-II",
        17 => "Blackfin",
        18 => "AVR32",
        19 => "ST200",
        20 => "Sandbox",
        21 => "NDS32",
        22 => "OpenRISC",
        23 => "ARM64",
        24 => "ARC",
        25 => "x86-64",
        26 => "Xtensa",
        27 => "RISC-V",
        _ => "unknown-arch",
    }
}

pub fn type_name(v: u8) -> &'static str {
    match v {
        1 => "standalone",
        2 => "kernel",
        3 => "ramdisk",
        4 => "multi",
        5 => "firmware",
        6 => "script",
        7 => "filesystem",
        8 => "flat_dt",
        _ => "other-type",
    }
}

pub fn compression_name(v: u8) -> &'static str {
    match v {
        0 => "none",
        1 => "gzip",
        2 => "bzip2",
        3 => "lzma",
        4 => "lzo",
        5 => "lz4",
        6 => "zstd",
        _ => "unknown-compression",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;

    fn ctx_extract(d: &[u8]) -> Result<Extraction, ExtractError> {
        run(&FORMAT, d).1
    }

    #[test]
    fn builds_and_parses_with_crc() {
        let img = build("Linux-4.9", 7, 0, 1, b"payload!");
        let p = parse(&img).unwrap();
        assert_eq!(p.len, Some(72));
        assert_eq!(p.confidence, Confidence::High);
        assert_eq!(p.facts["type"], "filesystem");
        let x = ctx_extract(&img).unwrap();
        assert!(x.problems.is_empty());
        assert!(matches!(x.children[0], Child::Range { offset: 64, len: 8 }));
    }

    #[test]
    fn corrupt_header_crc_is_rejected() {
        let mut img = build("x", 2, 0, 1, b"payload!");
        img[40] ^= 0xff;
        assert!(parse(&img).unwrap_err().0.contains("header CRC mismatch"));
    }

    #[test]
    fn truncated_and_tampered_payloads_are_problems() {
        let img = build("x", 7, 0, 1, &[1u8; 100]);
        let x = ctx_extract(&img[..100]).unwrap();
        assert!(x.problems[0].contains("payload truncated"));
        let mut bad = img.clone();
        bad[70] ^= 1;
        let x = ctx_extract(&bad).unwrap();
        assert!(x.problems[0].contains("payload CRC mismatch"));
    }

    #[test]
    fn multi_file_images_split_into_ranges() {
        let mut payload = Vec::new();
        payload.extend_from_slice(&3u32.to_be_bytes());
        payload.extend_from_slice(&4u32.to_be_bytes());
        payload.extend_from_slice(&0u32.to_be_bytes());
        payload.extend_from_slice(b"abc\0defg");
        let img = build("multi", MULTI, 0, 1, &payload);
        let x = ctx_extract(&img).unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert!(matches!(x.children[0], Child::Range { offset: 76, len: 3 }));
        assert!(matches!(x.children[1], Child::Range { offset: 80, len: 4 }));
    }

    #[test]
    fn real_corpus_header_parses_when_available() {
        let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
            eprintln!("FWCERT_CORPUS unset: skipping corpus uImage test");
            return;
        };
        let path = std::path::Path::new(&dir).join("formats/uimage_with_header.bin");
        let d = std::fs::read(path).unwrap();
        let p = parse(&d).unwrap();
        assert_eq!(p.facts["name"], "u-boot image");
        assert_eq!(p.facts["arch"], "MIPS");
        assert_eq!(p.facts["compression"], "lzma");
    }
}
