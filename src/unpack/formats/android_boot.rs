//! Android boot and recovery images (`boot.img`), header versions 0 to 4.
//!
//! Facts from AOSP's `bootimg.h` documentation. Every version starts with
//! the magic `ANDROID!` and little-endian sizes; the parts follow the header
//! in this order, each starting on a page boundary:
//!
//! - versions 0–2: the header names its page size; kernel, ramdisk, second
//!   stage, then (v1+) a recovery DTBO and (v2) a DTB;
//! - versions 3–4: the page size is fixed at 4096; kernel, ramdisk, then
//!   (v4) a boot signature.
//!
//! Each part becomes a [`Child::Range`] carved in place, so a gzip or LZ4
//! ramdisk and the cpio inside it are found with their offsets.

use std::collections::BTreeMap;

use crate::unpack::bytes::le_u32;
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};

pub const FORMAT: Format = Format {
    name: "android-boot",
    magics: &[Magic::at_start(MAGIC)],
    parse,
    extract,
    carve: true,
};

const MAGIC: &[u8] = b"ANDROID!";
const V3_PAGE: u64 = 4096;
/// Page sizes seen in practice; anything else is a chance match or a lie.
const PAGE_SIZES: [u64; 6] = [2048, 4096, 8192, 16384, 32768, 65536];

/// One part of the image: its name, offset from the start and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: &'static str,
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub page_size: u64,
    pub parts: Vec<Part>,
    pub name: String,
    pub cmdline: String,
}

impl Header {
    fn end(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| p.offset + round_up(p.size, self.page_size))
            .max()
            .unwrap_or(self.page_size)
    }
}

fn round_up(v: u64, page: u64) -> u64 {
    v.div_ceil(page).saturating_mul(page)
}

fn text(d: &[u8], at: usize, len: usize) -> String {
    let raw = d.get(at..at + len).unwrap_or(&[]);
    let end = memchr::memchr(0, raw).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// Lay out `sizes` one after another from the first page after the header.
fn lay_out(page: u64, sizes: &[(&'static str, u64)]) -> Vec<Part> {
    let mut at = page;
    let mut parts = Vec::new();
    for &(name, size) in sizes {
        if size > 0 {
            parts.push(Part { name, offset: at, size });
        }
        at = at.saturating_add(round_up(size, page));
    }
    parts
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    if d.get(..8) != Some(MAGIC) {
        return Err(Reject::new("not an Android boot image magic"));
    }
    let u32_at = |at: usize, what: &str| need(le_u32(d, at), what).map(u64::from);
    // v3/v4 keep the version at offset 40; v0–v2 keep it at offset 40 too
    // (the word after page_size), where v0 images hold zero.
    let version = need(le_u32(d, 40), "header version")?;
    let (page_size, parts, name, cmdline) = match version {
        0..=2 => {
            let page = u32_at(36, "page size")?;
            if !PAGE_SIZES.contains(&page) {
                return Err(Reject::new(format!("implausible page size {page}")));
            }
            let mut sizes = vec![
                ("kernel", u32_at(8, "kernel size")?),
                ("ramdisk", u32_at(16, "ramdisk size")?),
                ("second", u32_at(24, "second stage size")?),
            ];
            if version >= 1 {
                sizes.push(("recovery_dtbo", u32_at(1632, "recovery DTBO size")?));
            }
            if version >= 2 {
                sizes.push(("dtb", u32_at(1648, "DTB size")?));
            }
            (page, lay_out(page, &sizes), text(d, 48, 16), text(d, 64, 512))
        }
        3 | 4 => {
            let mut sizes = vec![
                ("kernel", u32_at(8, "kernel size")?),
                ("ramdisk", u32_at(12, "ramdisk size")?),
            ];
            if version == 4 {
                sizes.push(("signature", u32_at(1580, "boot signature size")?));
            }
            (V3_PAGE, lay_out(V3_PAGE, &sizes), String::new(), text(d, 44, 1536))
        }
        other => return Err(Reject::new(format!("unknown boot image header version {other}"))),
    };
    if !parts.iter().any(|p| p.name == "kernel") {
        return Err(Reject::new("boot image without a kernel"));
    }
    Ok(Header {
        version,
        page_size,
        parts,
        name,
        cmdline,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let mut facts = BTreeMap::new();
    facts.insert("header_version".into(), h.version.to_string());
    facts.insert("page_size".into(), h.page_size.to_string());
    if !h.name.is_empty() {
        facts.insert("name".into(), h.name.clone());
    }
    if !h.cmdline.is_empty() {
        facts.insert("cmdline".into(), h.cmdline.clone());
    }
    for p in &h.parts {
        facts.insert(format!("{}_size", p.name), p.size.to_string());
    }
    let names: Vec<&str> = h.parts.iter().map(|p| p.name).collect();
    Ok(Parsed {
        len: Some(h.end().min(d.len() as u64)),
        confidence: Confidence::High,
        description: format!("Android boot image v{} ({})", h.version, names.join(", ")),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, _: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    for p in &h.parts {
        let present = (d.len() as u64).saturating_sub(p.offset).min(p.size);
        if present < p.size {
            out.problem(format!(
                "{} ({} bytes at {:#x}) is cut short: {present} bytes present",
                p.name, p.size, p.offset
            ));
        }
        if present > 0 && p.name != "signature" {
            out.children.push(Child::Range {
                offset: p.offset,
                len: present,
            });
        }
    }
    Ok(out)
}

/// Build a version-0 boot image with a 2048-byte page, for tests.
#[cfg(test)]
pub fn build_v0(kernel: &[u8], ramdisk: &[u8], cmdline: &str) -> Vec<u8> {
    let page = 2048usize;
    let mut h = vec![0u8; page];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&(kernel.len() as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(ramdisk.len() as u32).to_le_bytes());
    h[36..40].copy_from_slice(&(page as u32).to_le_bytes());
    h[48..52].copy_from_slice(b"cam1");
    h[64..64 + cmdline.len()].copy_from_slice(cmdline.as_bytes());
    for part in [kernel, ramdisk] {
        h.extend_from_slice(part);
        h.resize(h.len().div_ceil(page) * page, 0);
    }
    h
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::unpack::formats::testing::run;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in-memory");
        e.finish().expect("in-memory")
    }

    #[test]
    fn v0_parts_are_laid_out_on_pages() {
        let img = build_v0(&[0xaa; 3000], &gz(b"ramdisk"), "console=ttyS0,115200");
        let h = header(&img).expect("parses");
        assert_eq!(h.version, 0);
        assert_eq!(
            h.parts[0],
            Part {
                name: "kernel",
                offset: 2048,
                size: 3000
            }
        );
        assert_eq!(h.parts[1].offset, 2048 + 4096);
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.len, Some(img.len() as u64));
        assert_eq!(p.facts.get("cmdline").map(String::as_str), Some("console=ttyS0,115200"));
        let x = x.expect("extracts");
        assert!(x.problems.is_empty());
        assert_eq!(x.children.len(), 2);
    }

    #[test]
    fn the_engine_finds_the_ramdisk_inside() {
        let img = build_v0(&[0xaa; 100], &gz(&[b'r'; 1000]), "");
        let u = crate::unpack::unpack(img.into(), "boot.img", &Default::default());
        let chains: Vec<String> = u.containers.iter().map(|c| c.chain.to_string()).collect();
        assert_eq!(
            chains,
            ["boot.img@0x0:android-boot", "boot.img@0x0:android-boot → @0x1000:gzip"]
        );
        assert_eq!(u.payloads[0].data.len(), 1000);
    }

    #[test]
    fn v3_uses_fixed_pages_and_v4_skips_the_signature() {
        let mut img = vec![0u8; 4096];
        img[..8].copy_from_slice(MAGIC);
        img[8..12].copy_from_slice(&10u32.to_le_bytes());
        img[12..16].copy_from_slice(&20u32.to_le_bytes());
        img[40..44].copy_from_slice(&4u32.to_le_bytes());
        img[1580..1584].copy_from_slice(&16u32.to_le_bytes());
        img.resize(4 * 4096, 0x11);
        let h = header(&img).expect("parses");
        let offsets: Vec<(&str, u64)> = h.parts.iter().map(|p| (p.name, p.offset)).collect();
        assert_eq!(offsets, [("kernel", 4096), ("ramdisk", 8192), ("signature", 12288)]);
        let (_, x) = run(&FORMAT, &img);
        assert_eq!(x.expect("extracts").children.len(), 2);
    }

    #[test]
    fn truncated_and_lying_images_give_reasons() {
        let img = build_v0(&[0xaa; 3000], b"ramdisk", "");
        let (_, x) = run(&FORMAT, &img[..3000]);
        let x = x.expect("extracts what is there");
        assert!(x.problems.iter().any(|p| p.contains("cut short")), "{:?}", x.problems);
        let mut bad = img.clone();
        bad[36..40].copy_from_slice(&12345u32.to_le_bytes());
        assert!(parse(&bad).is_err());
        let mut huge = img;
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, x) = run(&FORMAT, &huge);
        assert!(!x.expect("extracts").problems.is_empty());
    }
}
