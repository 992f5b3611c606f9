//! Self-decompressing Linux kernel images: x86 `bzImage` and ARM `zImage`.
//!
//! Both wrap the compressed kernel in a small decompressor. fwcert does not
//! run it: it finds the compressed stream and hands it to the engine as a
//! range, which the stream formats (gzip, xz, LZMA, LZ4 legacy, …) decode
//! into a payload where the inventory reads `Linux version …`.
//!
//! - bzImage (x86 boot protocol ≥ 2.08): `HdrS` at 0x202 after the boot
//!   sector signature `55 aa`; `setup_sects` at 0x1f1 (0 means 4) gives
//!   where the protected-mode code starts, `syssize` at 0x1f4 (in 16-byte
//!   units) its length, and `payload_offset`/`payload_length` at 0x248 the
//!   compressed stream inside it. `kernel_version` at 0x20e points (from
//!   0x200) at the version string.
//! - zImage (32-bit ARM): magic `0x016f2818` at 0x24, then the image's
//!   start and end addresses; the stream sits somewhere after the
//!   decompressor, so the whole image after the header is carved.

use std::collections::BTreeMap;

use crate::unpack::bytes::{be_u32, c_string, le_u16, le_u32};
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};

pub const FORMAT_BZIMAGE: Format = Format {
    name: "bzimage",
    magics: &[Magic {
        bytes: b"HdrS",
        at: 0x202,
    }],
    parse: parse_bzimage,
    extract: extract_bzimage,
    carve: true,
};

pub const FORMAT_ZIMAGE: Format = Format {
    name: "zimage",
    magics: &[
        Magic {
            bytes: &[0x18, 0x28, 0x6f, 0x01],
            at: 0x24,
        },
        Magic {
            bytes: &[0x01, 0x6f, 0x28, 0x18],
            at: 0x24,
        },
    ],
    parse: parse_zimage,
    extract: extract_zimage,
    carve: true,
};

/// The bzImage header fields fwcert uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BzImage {
    pub protocol: u16,
    /// Where the protected-mode code starts.
    pub pm_start: usize,
    pub len: usize,
    pub payload_offset: usize,
    pub payload_length: usize,
    pub version: Option<String>,
}

pub fn bzimage(d: &[u8]) -> Result<BzImage, Reject> {
    if d.get(0x1fe..0x200) != Some(&[0x55, 0xaa]) || d.get(0x202..0x206) != Some(b"HdrS") {
        return Err(Reject::new("not an x86 boot sector with a HdrS header"));
    }
    let protocol = need(le_u16(d, 0x206), "protocol version")?;
    if protocol < 0x208 {
        return Err(Reject::new(format!(
            "boot protocol {protocol:#x} predates the payload fields (2.08)"
        )));
    }
    let setup_sects = match *need(d.get(0x1f1), "setup_sects")? {
        0 => 4,
        n => usize::from(n),
    };
    let pm_start = (setup_sects + 1) * 512;
    let syssize = need(le_u32(d, 0x1f4), "syssize")? as usize;
    let len = pm_start.saturating_add(syssize.saturating_mul(16));
    let payload_offset = need(le_u32(d, 0x248), "payload_offset")? as usize;
    let payload_length = need(le_u32(d, 0x24c), "payload_length")? as usize;
    if payload_length == 0 || pm_start + payload_offset + payload_length > len {
        return Err(Reject::new("the compressed payload lies outside the kernel image"));
    }
    let version = le_u16(d, 0x20e)
        .filter(|&p| p != 0)
        .and_then(|p| c_string(d, usize::from(p) + 0x200, 128))
        .filter(|v| !v.is_empty());
    Ok(BzImage {
        protocol,
        pm_start,
        len,
        payload_offset,
        payload_length,
        version,
    })
}

pub fn parse_bzimage(d: &[u8]) -> Result<Parsed, Reject> {
    let b = bzimage(d)?;
    let mut facts = BTreeMap::new();
    facts.insert(
        "boot_protocol".into(),
        format!("{}.{:02}", b.protocol >> 8, b.protocol & 0xff),
    );
    facts.insert("payload_offset".into(), format!("{:#x}", b.pm_start + b.payload_offset));
    facts.insert("payload_length".into(), b.payload_length.to_string());
    if let Some(v) = &b.version {
        facts.insert("kernel_version".into(), v.clone());
    }
    Ok(Parsed {
        len: Some(b.len.min(d.len()) as u64),
        confidence: Confidence::Medium,
        description: format!(
            "Linux x86 bzImage{}",
            b.version.as_ref().map_or(String::new(), |v| format!(", version {v}"))
        ),
        facts,
    })
}

pub fn extract_bzimage(d: &[u8], _: &Parsed, _: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let b = bzimage(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let start = b.pm_start + b.payload_offset;
    if start + b.payload_length > d.len() {
        out.problem(format!(
            "image truncated: the payload ends at {:#x}, {} bytes present",
            start + b.payload_length,
            d.len()
        ));
    }
    out.children.push(Child::Range {
        offset: start as u64,
        len: b.payload_length as u64,
    });
    Ok(out)
}

/// The zImage header: byte order, start and end addresses.
fn zimage(d: &[u8]) -> Result<(bool, u32, u32), Reject> {
    let big = match d.get(0x24..0x28) {
        Some([0x18, 0x28, 0x6f, 0x01]) => false,
        Some([0x01, 0x6f, 0x28, 0x18]) => true,
        _ => return Err(Reject::new("not an ARM zImage magic")),
    };
    let word = |at| if big { be_u32(d, at) } else { le_u32(d, at) };
    let start = need(word(0x28), "start address")?;
    let end = need(word(0x2c), "end address")?;
    let size = end.wrapping_sub(start);
    // The decompressor alone is several KiB; kernels are under 64 MiB.
    if end <= start || !(0x1000..64 << 20).contains(&size) {
        return Err(Reject::new(format!(
            "implausible zImage addresses {start:#x}..{end:#x}"
        )));
    }
    Ok((big, start, end))
}

pub fn parse_zimage(d: &[u8]) -> Result<Parsed, Reject> {
    let (big, start, end) = zimage(d)?;
    let size = (end - start) as usize;
    let mut facts = BTreeMap::new();
    facts.insert("endianness".into(), if big { "big" } else { "little" }.into());
    facts.insert("size".into(), size.to_string());
    Ok(Parsed {
        len: Some(size.min(d.len()) as u64),
        confidence: if size <= d.len() {
            Confidence::Medium
        } else {
            Confidence::Low
        },
        description: format!("Linux ARM zImage, {size} bytes"),
        facts,
    })
}

pub fn extract_zimage(d: &[u8], _: &Parsed, _: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let (_, start, end) = zimage(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let size = (end - start) as usize;
    let mut out = Extraction::default();
    if size > d.len() {
        out.problem(format!("image truncated: {size} bytes declared, {} present", d.len()));
    }
    // The compressed kernel follows the decompressor code; carving finds it.
    out.children.push(Child::Range {
        offset: 0x30,
        len: (size.min(d.len()) as u64).saturating_sub(0x30),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::{UnpackOptions, unpack};

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    const VMLINUX: &[u8] = b"\x7fELF....Linux version 5.4.72 (builder@host) #1 SMP\n";

    fn bzimage_of(stream: &[u8]) -> Vec<u8> {
        let mut d = vec![0u8; 5 * 512];
        d[0x1f1] = 4;
        d[0x1fe..0x200].copy_from_slice(&[0x55, 0xaa]);
        d[0x202..0x206].copy_from_slice(b"HdrS");
        d[0x206..0x208].copy_from_slice(&0x20du16.to_le_bytes());
        d[0x20e..0x210].copy_from_slice(&0x100u16.to_le_bytes());
        d[0x300..0x306].copy_from_slice(b"5.4.72");
        // Decompressor code, then the stream, then its 4-byte size.
        let code = b"\x90decompressor".repeat(20);
        d[0x248..0x24c].copy_from_slice(&(code.len() as u32).to_le_bytes());
        d[0x24c..0x250].copy_from_slice(&(stream.len() as u32).to_le_bytes());
        d.extend_from_slice(&code);
        d.extend_from_slice(stream);
        d.resize(d.len().div_ceil(16) * 16, 0);
        let syssize = ((d.len() - 5 * 512) / 16) as u32;
        d[0x1f4..0x1f8].copy_from_slice(&syssize.to_le_bytes());
        d
    }

    #[test]
    fn bzimage_payload_is_found_and_decoded() {
        let img = bzimage_of(&gzip(VMLINUX));
        let p = parse_bzimage(&img).unwrap();
        assert_eq!(p.facts["kernel_version"], "5.4.72");
        assert_eq!(p.len, Some(img.len() as u64));
        let u = unpack(img.into(), "bzImage", &UnpackOptions::default());
        assert!(u.complete(), "{:?}", u.incompleteness());
        assert!(u.payloads.iter().any(|p| &p.data[..] == VMLINUX));
    }

    #[test]
    fn zimage_stream_is_carved_after_the_decompressor() {
        for big in [false, true] {
            let mut img = vec![0u8; 0x30];
            img[0x24..0x28].copy_from_slice(if big {
                &[1, 0x6f, 0x28, 0x18]
            } else {
                &[0x18, 0x28, 0x6f, 1]
            });
            img.extend_from_slice(&b"\x00\x00\xa0\xe1".repeat(1024));
            img.extend_from_slice(&gzip(VMLINUX));
            let end = img.len() as u32;
            img[0x2c..0x30].copy_from_slice(&if big { end.to_be_bytes() } else { end.to_le_bytes() });
            let u = unpack(img.into(), "zImage", &UnpackOptions::default());
            assert!(u.containers.iter().any(|c| c.format == "zimage"), "big {big}");
            assert!(u.payloads.iter().any(|p| &p.data[..] == VMLINUX), "big {big}");
        }
    }

    #[test]
    fn lying_headers_are_rejected() {
        let img = bzimage_of(&gzip(VMLINUX));
        let mut bad = img.clone();
        bad[0x24c..0x250].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_bzimage(&bad).is_err());
        let mut old = img.clone();
        old[0x206..0x208].copy_from_slice(&0x204u16.to_le_bytes());
        assert!(parse_bzimage(&old).is_err());
        for cut in [0x100, 0x204, 0x24e] {
            assert!(parse_bzimage(&img[..cut]).is_err());
        }
        // A truncated image still names the payload range, with a problem.
        let cut = &img[..img.len() - 40];
        let p = parse_bzimage(cut).unwrap();
        let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
        let mut ctx = ExtractCtx {
            budget: &mut budget,
            deadline: crate::unpack::budget::Deadline::far(),
            source: Default::default(),
        };
        assert!(!extract_bzimage(cut, &p, &mut ctx).unwrap().problems.is_empty());
        let mut z = vec![0u8; 0x30];
        z[0x24..0x28].copy_from_slice(&[0x18, 0x28, 0x6f, 1]);
        z[0x2c..0x30].copy_from_slice(&0x10u32.to_le_bytes());
        assert!(parse_zimage(&z).is_err());
    }

    /// `CONFIG_KERNEL_LZ4`: the payload is `lz4 -l` output followed by the
    /// kernel's 4-byte uncompressed size (`size_append`).
    #[test]
    fn bzimage_with_an_lz4_legacy_payload_is_decoded() {
        let vmlinux: Vec<u8> = VMLINUX.iter().copied().cycle().take(300_000).collect();
        let mut stream = super::super::lz4::compress_legacy(&vmlinux, 8 << 20);
        stream.extend_from_slice(&(vmlinux.len() as u32).to_le_bytes());
        let img = bzimage_of(&stream);
        let u = unpack(img.clone().into(), "bzImage", &UnpackOptions::default());
        assert!(u.complete(), "{:?}", u.incompleteness());
        let lz4 = u.containers.iter().find(|c| c.format == "lz4-legacy").unwrap();
        assert_eq!(lz4.size, stream.len() as u64, "the size trailer is part of the stream");
        assert!(u.payloads.iter().any(|p| p.data[..] == vmlinux[..]));
        // Cut inside the stream: the kernel is not there, and the scan says why.
        let cut = &img[..img.len() - 200];
        let u = unpack(cut.to_vec().into(), "bzImage", &UnpackOptions::default());
        assert!(!u.complete());
        let lz4 = u.containers.iter().find(|c| c.format == "lz4-legacy").unwrap();
        assert_ne!(lz4.status, crate::unpack::Status::Complete);
        assert!(
            lz4.problems.iter().any(|p| p.contains("LZ4 legacy")),
            "{:?}",
            lz4.problems
        );
        assert!(!u.payloads.iter().any(|p| p.data[..] == vmlinux[..]));
    }
}
