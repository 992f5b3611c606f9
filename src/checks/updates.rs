//! The `updates` family: whether the image itself could prove where it
//! came from, and how the firmware fetches its updates.
//!
//! Image level ([`image_authenticity`]): a signed FIT (a `signature` node
//! with a value), an Android AVB vbmeta with a signing algorithm (a vbmeta
//! image or a partition with an AVB footer) and a CMS/PKCS#7 signature
//! appended to the image count as signed; an encrypted image is reported as
//! encrypted, never as signed; the outer wrappers that vendors put around images
//! (uImage, TP-Link, TRX, Dahua, Hikvision, Android sparse …) carry a CRC
//! or an MD5 at most, which detects damage but proves nothing about who
//! built the image. An image with no signature of any kind is reported by
//! FW-UPD-001, a preview rule: a signature may travel beside the image (a
//! detached `.sig`, a signed update bundle the server wraps it in), which
//! one image cannot show. The transport rules (certificate checks turned
//! off, firmware fetched over plain HTTP) are `[[pattern]]` data.
//!
//! Whether the updater verifies a signature before it writes flash, and
//! anti-rollback, are the `updater` family's ([`super::updater`]).
//! A raw signature block with no structure around it ([`raw_trailer`]:
//! exactly 256, 384 or 512 random-looking bytes, or one DER ECDSA
//! `SEQUENCE { r, s }`, right after the outer container's declared end) is
//! named in FW-UPD-001's evidence as "a signature may be present": it
//! names no key and cannot be verified without one, so it never counts as
//! signed, and the finding stays a preview for review (the unit is
//! INCONCLUSIVE, never PASS, never FAIL).
//! The rules are listed in `docs/rules/updates.md`, generated from
//! `checks/updates/`.

use super::{Context, FamilyResult, Finding};
use crate::rules;
use crate::unpack::{Container, Status, Unpacked};

/// Container formats whose header carries a checksum at most.
const INTEGRITY_ONLY: &[&str] = &[
    "uimage",
    "tplink",
    "trx",
    "dahua",
    "hikvision",
    "android-sparse",
    "android-boot",
    "arcadyan",
];

/// What the image shows about its own authenticity.
enum Authenticity<'u> {
    /// A FIT image with a signed node, an AVB vbmeta with a signing
    /// algorithm, or a trailing CMS signature.
    Signed,
    /// Wrapped in formats that carry a checksum at most.
    IntegrityOnly(&'u Container),
    /// No wrapper at all: the image is a bare filesystem or archive.
    Bare(&'u Container),
    /// Nothing could be read, or a container was not opened: unknown.
    Unknown(String),
}

fn image_authenticity(u: &Unpacked) -> Authenticity<'_> {
    if u.containers
        .iter()
        .any(|c| c.format == "fit" && c.facts.get("signed").is_some_and(|s| s == "true"))
    {
        return Authenticity::Signed;
    }
    if avb_algorithm(&u.image).is_some_and(|a| a != AVB_NONE) || trailing_cms(&u.image).is_some() {
        return Authenticity::Signed;
    }
    let outer: Vec<&Container> = u.containers.iter().filter(|c| c.chain.depth() == 1).collect();
    if let Some(c) = outer.iter().find(|c| c.status == Status::Failed) {
        let encrypted = c.problems.iter().chain([&c.description]).any(|p| p.contains("encrypt"));
        return Authenticity::Unknown(if encrypted {
            format!(
                "{} is encrypted: encryption is not a signature, and whether the image inside is signed is unknown",
                c.chain
            )
        } else {
            format!(
                "{} could not be opened, so whether the image is signed is unknown",
                c.chain
            )
        });
    }
    match outer.iter().find(|c| INTEGRITY_ONLY.contains(&c.format)) {
        Some(c) => Authenticity::IntegrityOnly(c),
        None => match outer.first() {
            Some(c) => Authenticity::Bare(c),
            None => Authenticity::Unknown("no container was recognised in the image".into()),
        },
    }
}

/// AVB's `algorithm_type` for "no signature" (AOSP external/avb,
/// `AvbAlgorithmType`: 0 NONE, 1..=6 SHA256/SHA512 with RSA 2048/4096/8192).
const AVB_NONE: u32 = 0;

/// The `algorithm_type` of the image's AVB vbmeta: a vbmeta image (magic
/// `AVB0` at the start) or a partition image with an AVB footer (`AVBf` in
/// its last 64 bytes, pointing at its vbmeta). Header layout from AOSP
/// external/avb `avb_vbmeta_image.h` / `avb_footer.h` (big-endian).
fn avb_algorithm(d: &[u8]) -> Option<u32> {
    let be32 = |b: &[u8], at: usize| b.get(at..at + 4).map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
    let be64 = |b: &[u8], at: usize| {
        b.get(at..at + 8)
            .and_then(|x| <[u8; 8]>::try_from(x).ok())
            .map(u64::from_be_bytes)
    };
    let vbmeta = if d.starts_with(b"AVB0") {
        d
    } else {
        let footer = d.get(d.len().checked_sub(64)?..)?;
        if !footer.starts_with(b"AVBf") {
            return None;
        }
        let off = usize::try_from(be64(footer, 20)?).ok()?;
        let vb = d.get(off..)?;
        if !vb.starts_with(b"AVB0") {
            return None;
        }
        vb
    };
    be32(vbmeta, 28)
}

/// A DER CMS/PKCS#7 `SignedData` (OID 1.2.840.113549.1.7.2) that ends the
/// image (up to 16 bytes of padding after it): a signature appended to the
/// image, as some vendors and the Linux kernel's module signing do.
/// Returns its offset.
fn trailing_cms(d: &[u8]) -> Option<usize> {
    const OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    let tail_start = d.len().saturating_sub(64 << 10);
    let tail = &d[tail_start..];
    memchr::memmem::find_iter(tail, OID).find_map(|rel| {
        let oid_at = tail_start + rel;
        // The ContentInfo SEQUENCE header just before the OID.
        (2..=6).find_map(|h| {
            let start = oid_at.checked_sub(h)?;
            let hdr = d.get(start..oid_at)?;
            if hdr[0] != 0x30 {
                return None;
            }
            let len = match hdr[1] {
                n if n < 0x80 && h == 2 => n as usize,
                0x81 if h == 3 => hdr[2] as usize,
                0x82 if h == 4 => u16::from_be_bytes([hdr[2], hdr[3]]) as usize,
                0x83 if h == 5 => (hdr[2] as usize) << 16 | (hdr[3] as usize) << 8 | hdr[4] as usize,
                _ => return None,
            };
            let end = oid_at.checked_add(len)?;
            (end <= d.len() && d.len() - end <= 16).then_some(start)
        })
    })
}

/// RSA signature sizes: 2048, 3072 and 4096-bit moduli.
const RSA_SIZES: &[usize] = &[256, 384, 512];

/// Bytes that look like a bare signature appended after the outer
/// containers' declared end: exactly an RSA signature's size with the
/// spread of random bytes (a signature is indistinguishable from random
/// data; padding and text are not), or exactly one DER ECDSA-Sig-Value
/// (`SEQUENCE { INTEGER r, INTEGER s }`, RFC 3279 §2.2.3) of a curve
/// up to P-521. Returns the offset and what it looks like.
fn raw_trailer(u: &Unpacked) -> Option<(u64, String)> {
    let end = u
        .containers
        .iter()
        .filter(|c| c.chain.depth() == 1)
        .map(|c| c.offset.saturating_add(c.size))
        .max()?;
    let tail = u.image.get(usize::try_from(end).ok()?..)?;
    if RSA_SIZES.contains(&tail.len()) && crate::unpack::bytes::entropy(tail) > 7.0 {
        return Some((end, format!("a raw RSA-{} signature", tail.len() * 8)));
    }
    ecdsa_der(tail).map(|bits| {
        (
            end,
            format!("a raw ECDSA signature (DER r and s of a curve up to {bits} bits)"),
        )
    })
}

/// The curve size bound (256, 384, 521 bits) of a DER ECDSA-Sig-Value
/// that is exactly `d`.
fn ecdsa_der(d: &[u8]) -> Option<usize> {
    let (&tag, rest) = d.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (len, body) = match rest.split_first()? {
        (&n, b) if n < 0x80 => (n as usize, b),
        (0x81, b) => (*b.first()? as usize, &b[1..]),
        _ => return None,
    };
    if len != body.len() {
        return None;
    }
    let int = |b: &[u8]| -> Option<(usize, usize)> {
        if b.first() != Some(&0x02) {
            return None;
        }
        let n = *b.get(1)? as usize;
        // Positive, minimal, at most 66 bytes of value (P-521) plus a sign byte.
        if !((1..=67).contains(&n) && b.len() >= 2 + n && b[2] < 0x80) {
            return None;
        }
        // The value's length without its sign byte.
        Some((n - usize::from(b[2] == 0 && n > 1), 2 + n))
    };
    let (r, used) = int(body)?;
    let (s, used2) = int(&body[used..])?;
    if used + used2 != body.len() || r < 20 || s < 20 || r.max(s) > 66 {
        return None;
    }
    Some(match r.max(s) {
        ..=32 => 256,
        33..=48 => 384,
        _ => 521,
    })
}

pub fn check(cx: &Context) -> FamilyResult {
    let u = cx.inventory.unpacked;
    let mut out = FamilyResult::default();
    let image = cx.inventory.image().map(|f| f.sha256().to_string());
    let finding = |c: &Container, evidence: String| Finding {
        rule: rules::FW_UPD_001.to_string(),
        path: "image".into(),
        container: c.chain.clone(),
        line: None,
        offset: Some(c.offset),
        evidence,
        sha256: image.clone(),
        secret: None,
        custom: None,
    };
    // A bare signature block: present, maybe, but not verifiable here.
    let raw = raw_trailer(u).map(|(at, what)| {
        format!(
            "; {what} may follow at {at:#x} (exactly the bytes after the image's declared end): it names no key and cannot be verified without one, so the image is not counted as signed"
        )
    });
    match image_authenticity(u) {
        Authenticity::Signed => {}
        Authenticity::IntegrityOnly(c) => out.findings.push(finding(
            c,
            match raw {
                None => format!(
                    "the image is wrapped in {} ({}), whose header carries a checksum at most: it detects damage but proves nothing about who built the image; no signature was found in the image",
                    c.format, c.description
                ),
                Some(raw) => format!(
                    "the image is wrapped in {} ({}), whose header carries a checksum at most: it detects damage but proves nothing about who built the image; no signature fwcert can recognise was found{raw}",
                    c.format, c.description
                ),
            },
        )),
        Authenticity::Bare(c) => out.findings.push(finding(
            c,
            match raw {
                None => format!(
                    "the image is a bare {} ({}) with no signature of any kind",
                    c.format, c.description
                ),
                Some(raw) => format!(
                    "the image is a bare {} ({}) with no signature fwcert can recognise{raw}",
                    c.format, c.description
                ),
            },
        )),
        Authenticity::Unknown(why) => out.gaps.push(why),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vbmeta header: magic, libavb 1.0, block sizes, `algorithm`.
    fn vbmeta(algorithm: u32) -> Vec<u8> {
        let mut v = b"AVB0".to_vec();
        v.extend_from_slice(&1u32.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        v.extend_from_slice(&320u64.to_be_bytes());
        v.extend_from_slice(&2048u64.to_be_bytes());
        v.extend_from_slice(&algorithm.to_be_bytes());
        v.resize(256, 0);
        v
    }

    #[test]
    fn avb_vbmeta_and_footer() {
        assert_eq!(avb_algorithm(&vbmeta(1)), Some(1));
        assert_eq!(avb_algorithm(&vbmeta(AVB_NONE)), Some(AVB_NONE));
        // A partition image with its vbmeta after the data and a footer.
        let mut part = vec![0x11; 4096];
        let at = part.len() as u64;
        part.extend(vbmeta(2));
        let mut footer = b"AVBf".to_vec();
        footer.extend_from_slice(&1u32.to_be_bytes());
        footer.extend_from_slice(&0u32.to_be_bytes());
        footer.extend_from_slice(&4096u64.to_be_bytes());
        footer.extend_from_slice(&at.to_be_bytes());
        footer.extend_from_slice(&256u64.to_be_bytes());
        footer.resize(64, 0);
        part.extend(footer);
        assert_eq!(avb_algorithm(&part), Some(2));
        // A footer pointing outside the image, or at no vbmeta: none.
        let n = part.len();
        part[n - 64 + 20..n - 64 + 28].copy_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(avb_algorithm(&part), None);
        assert_eq!(avb_algorithm(b"AVB"), None);
    }

    #[test]
    fn der_ecdsa_signatures() {
        // `openssl dgst -sha256 -sign` with P-256 (tests/data/rawsig).
        let d = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/rawsig/uimage-ecdsa.bin"
        ))
        .unwrap();
        let plain = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rawsig/uimage.bin")).unwrap();
        let sig = &d[plain.len()..];
        assert_eq!(ecdsa_der(sig), Some(256), "{sig:02x?}");
        // One byte more or less, or a SEQUENCE of something else: no.
        assert_eq!(ecdsa_der(&sig[..sig.len() - 1]), None);
        assert_eq!(ecdsa_der(&[sig, &[0][..]].concat()), None);
        assert_eq!(ecdsa_der(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]), None);
        assert_eq!(ecdsa_der(b"0\x03abc"), None);
    }

    #[test]
    fn trailing_cms_signature() {
        // `openssl cms -sign -binary -outform DER` over the image, appended
        // (tests/data/cms/make.sh).
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cms/");
        let signed = std::fs::read(format!("{dir}fw-with-cms.bin")).unwrap();
        let plain = std::fs::read(format!("{dir}fw.bin")).unwrap();
        assert_eq!(trailing_cms(&signed), Some(plain.len()));
        assert_eq!(trailing_cms(&plain), None);
        // The same block in the middle of an image is not a trailer.
        let mut middle = signed.clone();
        middle.extend(vec![0x33; 4096]);
        assert_eq!(trailing_cms(&middle), None);
        // Cut short: the declared length runs past the end.
        assert_eq!(trailing_cms(&signed[..signed.len() - 40]), None);
    }
}
