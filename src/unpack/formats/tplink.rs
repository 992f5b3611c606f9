//! TP-Link's firmware header (version 1), as written by OpenWrt's
//! `mktplinkfw`: a 512-byte big-endian header naming the vendor, the
//! hardware ID, an MD5 checksum and the kernel and rootfs offsets.
//!
//! The MD5 is computed over the whole image with the checksum field replaced
//! by a fixed, public salt: one salt for plain images and one for images that
//! carry a bootloader ("boot" images). It detects corruption, but anyone can
//! recompute it, so it is *not* a signature; fwcert records which salt
//! matched so that the update checks can say so. Both salts were checked
//! against the TP-Link WR841N v10 image in the shared corpus.

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::unpack::bytes::{be_u16, be_u32, c_string};
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, Verified, Verify, need,
    shared,
};

pub const FORMAT: Format = Format {
    name: "tplink",
    magics: &[Magic {
        bytes: b"TP-LINK Technologies",
        at: 4,
    }],
    parse,
    extract,
    carve: true,
};

pub const HEADER_LEN: usize = 0x200;
const VERSION_1: u32 = 0x0100_0000;
const MD5_AT: usize = 0x4c;

const SALT_NORMAL: [u8; 16] = [
    0xdc, 0xd7, 0x3a, 0xa5, 0xc3, 0x95, 0x98, 0xfb, 0xdd, 0xf9, 0xe7, 0xf4, 0x0e, 0xae, 0x47, 0x38,
];
const SALT_BOOT: [u8; 16] = [
    0x8c, 0xef, 0x33, 0x5b, 0xd5, 0xc5, 0xce, 0xfa, 0xa7, 0x9c, 0x28, 0xda, 0xb2, 0xe9, 0x0f, 0x42,
];

struct Header {
    fw_length: u32,
    kernel_ofs: u32,
    kernel_len: u32,
    rootfs_ofs: u32,
    rootfs_len: u32,
    boot_len: u32,
    hw_id: u32,
    hw_rev: u32,
    vendor: String,
    version: String,
    release: (u16, u16, u16),
}

fn header(d: &[u8]) -> Result<Header, Reject> {
    if need(be_u32(d, 0), "version")? != VERSION_1 {
        return Err(Reject::new("unsupported TP-Link header version"));
    }
    let h = Header {
        vendor: need(c_string(d, 4, 24), "vendor")?,
        version: need(c_string(d, 0x1c, 36), "firmware version")?,
        hw_id: need(be_u32(d, 0x40), "hardware id")?,
        hw_rev: need(be_u32(d, 0x44), "hardware revision")?,
        fw_length: need(be_u32(d, 0x7c), "firmware length")?,
        kernel_ofs: need(be_u32(d, 0x80), "kernel offset")?,
        kernel_len: need(be_u32(d, 0x84), "kernel length")?,
        rootfs_ofs: need(be_u32(d, 0x88), "rootfs offset")?,
        rootfs_len: need(be_u32(d, 0x8c), "rootfs length")?,
        boot_len: need(be_u32(d, 0x94), "boot length")?,
        release: (
            need(be_u16(d, 0x98), "version")?,
            need(be_u16(d, 0x9a), "version")?,
            need(be_u16(d, 0x9c), "version")?,
        ),
    };
    need(d.get(..HEADER_LEN), "512-byte header")?;
    if (h.fw_length as usize) < HEADER_LEN {
        return Err(Reject::new("firmware length smaller than the header"));
    }
    Ok(h)
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let mut facts = BTreeMap::new();
    facts.insert("vendor".into(), h.vendor.clone());
    facts.insert("firmware_version".into(), h.version.clone());
    facts.insert("hardware_id".into(), format!("{:#010x}", h.hw_id));
    facts.insert("hardware_revision".into(), h.hw_rev.to_string());
    facts.insert("firmware_length".into(), h.fw_length.to_string());
    facts.insert("kernel".into(), format!("{:#x}+{:#x}", h.kernel_ofs, h.kernel_len));
    facts.insert("rootfs".into(), format!("{:#x}+{:#x}", h.rootfs_ofs, h.rootfs_len));
    facts.insert("bootloader_length".into(), h.boot_len.to_string());
    let (a, b, c) = h.release;
    facts.insert("release".into(), format!("{a}.{b}.{c}"));
    // The salted MD5 is checked by `extract`'s deferred check, beside the
    // carving of the body: it hashes the whole image and decides nothing
    // about what is inside.
    if d.len() < h.fw_length as usize {
        facts.insert("integrity".into(), "truncated".into());
    }
    Ok(Parsed {
        len: Some(u64::from(h.fw_length).min(d.len() as u64)),
        confidence: Confidence::Medium,
        description: format!(
            "TP-Link firmware header, hardware {:#010x} v{}, release {a}.{b}.{c}{}",
            h.hw_id,
            h.hw_rev,
            if h.boot_len > 0 { ", with bootloader" } else { "" }
        ),
        facts,
    })
}

/// Which salted MD5 of the whole `image` (the header's firmware length)
/// matches: `md5-salted-normal`, `md5-salted-boot` or `md5-mismatch`.
fn integrity(image: &[u8], boot_len: u32) -> &'static str {
    if image.len() < HEADER_LEN {
        return "md5-mismatch";
    }
    let stored = &image[MD5_AT..MD5_AT + 16];
    let normal = (SALT_NORMAL, "md5-salted-normal");
    let boot = (SALT_BOOT, "md5-salted-boot");
    // Each try hashes the whole image: the salt an image with a bootloader
    // most likely uses goes first (the answer is the same either way).
    let order = if boot_len > 0 { [boot, normal] } else { [normal, boot] };
    for (salt, name) in order {
        let mut md5 = Md5::new();
        md5.update(&image[..MD5_AT]);
        md5.update(salt);
        md5.update(&image[MD5_AT + 16..]);
        if md5.finalize().as_slice() == stored {
            return name;
        }
    }
    "md5-mismatch"
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    match d.get(..h.fw_length as usize) {
        None => out.problem(format!(
            "image truncated: header declares {} bytes, {} present",
            h.fw_length,
            d.len()
        )),
        Some(image) => {
            let (image, boot_len) = (shared(&ctx.source, image), h.boot_len);
            out.verify = Some(Verify::new(move || {
                let found = integrity(&image, boot_len);
                let mut v = Verified {
                    facts: vec![("integrity".into(), found.into())],
                    problems: Vec::new(),
                };
                if found == "md5-mismatch" {
                    v.problems
                        .push("header MD5 does not match the image (corrupt or modified)".into());
                }
                v
            }));
        }
    }
    let end = (h.fw_length as usize).min(d.len());
    // The body (bootloader, kernel, rootfs) is carved as one range so that
    // every byte of it is either identified or reported as a gap.
    out.children.push(Child::Range {
        offset: HEADER_LEN as u64,
        len: (end - HEADER_LEN) as u64,
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(body: &[u8]) -> Vec<u8> {
        build_salted(body, 0, SALT_NORMAL)
    }

    fn build_salted(body: &[u8], boot_len: u32, salt: [u8; 16]) -> Vec<u8> {
        let mut d = vec![0u8; HEADER_LEN];
        d[0..4].copy_from_slice(&VERSION_1.to_be_bytes());
        d[4..24].copy_from_slice(b"TP-LINK Technologies");
        d[0x7c..0x80].copy_from_slice(&((HEADER_LEN + body.len()) as u32).to_be_bytes());
        d[0x94..0x98].copy_from_slice(&boot_len.to_be_bytes());
        d.extend_from_slice(body);
        let mut md5 = Md5::new();
        md5.update(&d[..MD5_AT]);
        md5.update(salt);
        md5.update(&d[MD5_AT + 16..]);
        let sum = md5.finalize();
        d[MD5_AT..MD5_AT + 16].copy_from_slice(&sum);
        d
    }

    /// What the engine adds to the container once the deferred check ran.
    fn verified(d: &[u8]) -> Verified {
        let (_, x) = crate::unpack::formats::testing::run(&FORMAT, d);
        x.unwrap().verify.expect("a complete image is verified").run()
    }

    fn integrity_of(d: &[u8]) -> String {
        let v = verified(d);
        assert_eq!(v.facts.len(), 1);
        v.facts[0].1.clone()
    }

    #[test]
    fn salted_md5_is_recognised_and_tampering_detected() {
        let d = build(b"kernel and rootfs");
        assert_eq!(
            verified(&d),
            Verified {
                facts: vec![("integrity".into(), "md5-salted-normal".into())],
                problems: vec![],
            }
        );
        let mut bad = d.clone();
        bad[HEADER_LEN + 1] ^= 1;
        assert_eq!(
            verified(&bad),
            Verified {
                facts: vec![("integrity".into(), "md5-mismatch".into())],
                problems: vec!["header MD5 does not match the image (corrupt or modified)".into()],
            }
        );
        let short = &d[..HEADER_LEN + 3];
        assert_eq!(parse(short).unwrap().facts["integrity"], "truncated");
        let (_, x) = crate::unpack::formats::testing::run(&FORMAT, short);
        let x = x.unwrap();
        assert!(x.verify.is_none());
        assert_eq!(x.problems, ["image truncated: header declares 529 bytes, 515 present"]);
    }

    /// Which salt is tried first depends on the bootloader length; which
    /// one is reported must not.
    #[test]
    fn either_salt_is_recognised_with_or_without_a_bootloader() {
        for boot_len in [0, 0x2_0000] {
            for (salt, name) in [(SALT_NORMAL, "md5-salted-normal"), (SALT_BOOT, "md5-salted-boot")] {
                let d = build_salted(b"kernel and rootfs", boot_len, salt);
                assert_eq!(integrity_of(&d), name, "boot length {boot_len:#x}");
            }
        }
    }

    /// Through the engine, the deferred check's fact and problem land on
    /// the TP-Link container, whether it runs beside the body's carving
    /// (several threads) or after it (one thread).
    #[test]
    fn the_engine_records_the_deferred_check_on_the_container() {
        use crate::unpack::{Status, UnpackOptions, unpack};
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"root filesystem").unwrap();
        let body = [&b"kernel "[..], &gz.finish().unwrap()].concat();
        let good = build(&body);
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            for (image, integrity, problems) in [
                (&good, "md5-salted-normal", vec![]),
                (
                    &bad,
                    "md5-mismatch",
                    vec!["header MD5 does not match the image (corrupt or modified)"],
                ),
            ] {
                let u = pool.install(|| unpack(image.clone().into(), "fw.bin", &UnpackOptions::default()));
                let c = &u.containers[0];
                assert_eq!((c.format, c.offset), ("tplink", 0));
                assert_eq!(c.facts["integrity"], integrity, "{threads} threads");
                assert_eq!(c.problems, problems, "{threads} threads");
                let want = if problems.is_empty() {
                    Status::Complete
                } else {
                    Status::Partial
                };
                assert_eq!(c.status, want);
                // The body was carved either way: the gzip member inside it.
                assert!(
                    u.containers
                        .iter()
                        .any(|c| c.format == "gzip" && c.offset == HEADER_LEN as u64 + 7)
                );
            }
        }
    }

    #[test]
    fn short_or_foreign_headers_are_rejected() {
        let d = build(b"x");
        assert!(parse(&d[..100]).is_err());
        let mut v2 = d.clone();
        v2[0] = 2;
        assert!(parse(&v2).is_err());
    }
}
