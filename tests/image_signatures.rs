//! Whether an image is signed, on FITs made by U-Boot's mkimage
//! (`tests/data/fit/make.sh`: signed with `mkimage -k` and unsigned) and,
//! opt-in (`FWCERT_CORPUS`), on the shared corpus: its real FIT
//! (`formats/fit.itb`, no signature nodes) and checksum-only vendor
//! headers (uImage, TP-Link), which are integrity only.

use std::path::PathBuf;

use fwcert::{Report, ScanOptions, scan_bytes};

fn scan(path: &std::path::Path) -> Report {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    scan_bytes(bytes.into(), &name, &ScanOptions::default()).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fit")
        .join(name)
}

fn corpus(rel: &str) -> Option<PathBuf> {
    let Ok(root) = std::env::var("FWCERT_CORPUS") else {
        eprintln!("FWCERT_CORPUS is not set: corpus part skipped");
        return None;
    };
    let p = PathBuf::from(root).join(rel);
    assert!(p.exists(), "{} is missing from the corpus", p.display());
    Some(p)
}

/// The FW-UPD-001 findings' evidence.
fn unsigned(r: &Report) -> Vec<&str> {
    r.findings
        .iter()
        .filter(|f| f.id == "FW-UPD-001")
        .map(|f| f.evidence.as_str())
        .collect()
}

#[test]
fn mkimage_signed_fit_is_signed_and_the_unsigned_one_is_not() {
    let r = scan(&fixture("signed.itb"));
    assert!(unsigned(&r).is_empty(), "{:?}", unsigned(&r));
    assert_eq!(r.unpack.containers[0].facts["signed"], "true");
    let r = scan(&fixture("unsigned.itb"));
    assert_eq!(
        unsigned(&r),
        [
            "the image is a bare fit (U-Boot FIT, 2 images, unsigned (signature nodes without a value)) with no signature of any kind"
        ]
    );
}

#[test]
fn corpus_fit_without_signature_nodes_is_unsigned() {
    let Some(p) = corpus("formats/fit.itb") else { return };
    let r = scan(&p);
    assert_eq!(
        unsigned(&r),
        ["the image is a bare fit (U-Boot FIT, 3 images, unsigned) with no signature of any kind"]
    );
}

#[test]
fn checksum_only_vendor_headers_are_integrity_only() {
    for (rel, format) in [
        ("formats/uimage_with_header.bin", "uimage"),
        ("firmware/tplink-wr841n-v10-3.16.9-150310.bin", "tplink"),
    ] {
        let Some(p) = corpus(rel) else { return };
        let r = scan(&p);
        let ev = unsigned(&r);
        assert_eq!(ev.len(), 1, "{rel}: {ev:?}");
        assert!(
            ev[0].starts_with(&format!("the image is wrapped in {format} (")),
            "{rel}: {}",
            ev[0]
        );
        assert!(
            ev[0]
                .contains("carries a checksum at most: it detects damage but proves nothing about who built the image"),
            "{rel}: {}",
            ev[0]
        );
    }
}

/// The updates family's coverage gaps.
fn updates_gaps(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.family == "updates")
        .flat_map(|c| c.reasons.clone())
        .collect()
}

#[test]
fn a_cms_signature_appended_to_the_image_counts_as_signed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/cms");
    let r = scan(&dir.join("fw-with-cms.bin"));
    assert!(unsigned(&r).is_empty(), "{:?}", unsigned(&r));
    assert!(updates_gaps(&r).is_empty(), "{:?}", updates_gaps(&r));
    // The same bytes without it: nothing recognised, so unknown (a gap),
    // never signed.
    let r = scan(&dir.join("fw.bin"));
    assert_eq!(updates_gaps(&r), ["no container was recognised in the image"]);
}

/// The boot family's coverage gaps.
fn boot_gaps(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.family == "boot")
        .flat_map(|c| c.reasons.clone())
        .collect()
}

/// FW-BOOT-002 on mkimage's own output: U-Boot's control device tree
/// (`mkimage -K … -r`, and the same with `required` deleted by fdtput)
/// placed before the signed FIT, as in a flash dump of U-Boot and kernel.
#[test]
fn u_boot_control_fdt_must_require_the_fit_key() {
    let read = |n: &str| std::fs::read(fixture(n)).unwrap();
    let scan_concat = |control: &str| {
        let mut img = read(control);
        img.resize(img.len().div_ceil(4) * 4, 0);
        let fit_at = img.len() as u64;
        img.extend(read("signed.itb"));
        let r = scan_bytes(img.into(), "flash.bin", &ScanOptions::default()).unwrap();
        (r, fit_at)
    };
    let boot002 = |r: &Report| -> Vec<(String, Option<u64>)> {
        r.findings
            .iter()
            .filter(|f| f.id == "FW-BOOT-002")
            .map(|f| (f.path.clone(), f.offset))
            .collect()
    };
    let (r, _) = scan_concat("control.dtb");
    assert!(boot002(&r).is_empty(), "{:?}", boot002(&r));
    assert!(unsigned(&r).is_empty());
    assert!(!boot_gaps(&r).iter().any(|g| g.contains("control device tree")));
    let (r, fit_at) = scan_concat("control-optional.dtb");
    assert_eq!(boot002(&r), [("image".to_string(), Some(0))]);
    let f = r.findings.iter().find(|f| f.id == "FW-BOOT-002").unwrap();
    assert!(
        f.evidence.contains("dev (sha256,rsa2048, 2048 bits, not required)")
            && f.evidence.contains(&format!("@{fit_at:#x}:fit")),
        "{}",
        f.evidence
    );
    // The signed FIT alone: U-Boot's keys are not in the image, so whether
    // it enforces the signature is a gap, not a PASS.
    let r = scan(&fixture("signed.itb"));
    assert!(boot002(&r).is_empty());
    assert!(
        boot_gaps(&r)
            .iter()
            .any(|g| g.contains("holds no U-Boot control device tree")),
        "{:?}",
        boot_gaps(&r)
    );
}

/// A bare RSA or ECDSA signature appended to a mkimage uImage
/// (`tests/data/rawsig/make.sh`, `openssl dgst -sign`): named as possibly
/// present and not verifiable, never counted as signed (FW-UPD-001 stays,
/// a preview for review).
#[test]
fn a_raw_signature_after_the_image_is_named_but_not_counted_as_signed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rawsig");
    let plain_len = std::fs::read(dir.join("uimage.bin")).unwrap().len();
    let r = scan(&dir.join("uimage.bin"));
    let ev = unsigned(&r);
    assert_eq!(ev.len(), 1);
    assert!(ev[0].ends_with("no signature was found in the image"), "{}", ev[0]);
    for (file, what) in [
        ("uimage-rsa.bin", "a raw RSA-2048 signature"),
        (
            "uimage-ecdsa.bin",
            "a raw ECDSA signature (DER r and s of a curve up to 256 bits)",
        ),
    ] {
        let r = scan(&dir.join(file));
        let ev = unsigned(&r);
        assert_eq!(ev.len(), 1, "{file}: a raw block is not a verified signature");
        assert!(
            ev[0].contains(&format!("{what} may follow at {plain_len:#x}"))
                && ev[0].contains("cannot be verified without one, so the image is not counted as signed"),
            "{file}: {}",
            ev[0]
        );
        let f = r.findings.iter().find(|f| f.id == "FW-UPD-001").unwrap();
        assert_eq!(f.offset, Some(0));
    }
}
