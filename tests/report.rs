//! Report contract: snapshots of the bundled samples' reports, and the
//! fail-closed behaviour on damaged images.

use fwcert::{ScanOptions, Verdict, scan_bytes};

fn sample(name: &str) -> Vec<u8> {
    fwcert::samples::named(name).expect("sample exists")
}

#[test]
fn committed_samples_match_the_generator() {
    for (name, bytes, _) in fwcert::samples::all() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == bytes,
            "{name} is stale: run `cargo run --example gen-samples`"
        );
    }
}

#[test]
fn json_report_of_default_root_sample() {
    let r = scan_bytes(
        sample("camera-default-root.bin").into(),
        "camera-default-root.bin",
        &ScanOptions::default(),
    )
    .unwrap();
    insta::assert_snapshot!("camera-default-root.json", fwcert::report::json::render(&r));
}

#[test]
fn text_report_of_default_root_sample() {
    let opts = ScanOptions {
        profile: "baseline".into(),
        ..ScanOptions::default()
    };
    let r = scan_bytes(
        sample("camera-default-root.bin").into(),
        "camera-default-root.bin",
        &opts,
    )
    .unwrap();
    insta::assert_snapshot!("camera-default-root.txt", fwcert::report::text::render(&r));
}

#[test]
fn json_report_of_hardened_sample() {
    let opts = ScanOptions {
        profile: "baseline".into(),
        ..ScanOptions::default()
    };
    let r = scan_bytes(sample("camera-hardened.bin").into(), "camera-hardened.bin", &opts).unwrap();
    insta::assert_snapshot!("camera-hardened.json", fwcert::report::json::render(&r));
}

#[test]
fn truncated_images_are_never_pass() {
    for name in ["camera-default-root.bin", "camera-hardened.bin"] {
        let full = sample(name);
        for cut in [full.len() / 4, full.len() / 2, full.len() - 100, full.len() - 1] {
            let r = scan_bytes(full[..cut].to_vec().into(), name, &ScanOptions::default()).unwrap();
            assert_ne!(r.outcome.exit_code, 0, "{name} cut at {cut}");
            assert!(!r.unpack.complete, "{name} cut at {cut} must be marked incomplete");
            assert!(!r.unpack.reasons.is_empty(), "{name} cut at {cut} must say why");
        }
    }
    // The hardened image has nothing to fail on: truncated, it is an
    // analysis gap (exit 2), and no standard passes its firmware units.
    let full = sample("camera-hardened.bin");
    let r = scan_bytes(full[..full.len() / 2].to_vec().into(), "h.bin", &ScanOptions::default()).unwrap();
    assert_eq!((r.outcome.exit_code, r.outcome.status), (2, "analysis-gap"));
    for s in &r.standards {
        assert_ne!(s.firmware_verdict, Some(Verdict::Pass), "{}", s.id);
    }
}

#[test]
fn random_and_empty_inputs_are_inconclusive_with_reasons() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..300_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for (name, data) in [("random.bin", random), ("empty.bin", Vec::new())] {
        let r = scan_bytes(data.into(), name, &ScanOptions::default()).unwrap();
        assert_eq!(r.outcome.exit_code, 2, "{name}");
        assert!(
            r.unpack.reasons.iter().any(|m| m.contains("no known container")),
            "{name}"
        );
        assert!(
            r.checks.iter().any(|c| !c.complete),
            "{name}: credentials could not be checked"
        );
    }
}

#[test]
fn every_finding_carries_evidence() {
    let r = scan_bytes(
        sample("camera-default-root.bin").into(),
        "c.bin",
        &ScanOptions::default(),
    )
    .unwrap();
    assert!(!r.findings.is_empty());
    for f in &r.findings {
        // A finding about the image itself names its outer container.
        if f.path == "image" {
            assert_eq!(f.container.to_string(), "c.bin@0x0:uimage", "{f:?}");
        } else {
            assert!(f.path.starts_with('/'), "{f:?}");
            assert!(f.container.to_string().contains("squashfs"), "{f:?}");
        }
        assert!(f.line.is_some() || f.offset.is_some(), "{f:?}");
        assert_eq!(f.sha256.as_ref().map(String::len), Some(64), "{f:?}");
        assert!(!f.controls.is_empty());
    }
}

#[test]
fn telnet_is_inconclusive_when_the_busybox_applet_list_is_not_found() {
    use fwcert::samples::{Entry, minimal_elf, squashfs};
    use fwcert::unpack::formats::squashfs::GZIP_CODEC;
    // A BusyBox whose applet names cannot be found: a link to it proves nothing.
    let busybox = minimal_elf(b"\0BusyBox v1.20.0 multi-call binary.\0");
    let entries = [
        Entry::Dir {
            path: "bin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "etc/init.d",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr/sbin",
            mode: 0o755,
        },
        Entry::File {
            path: "bin/busybox",
            mode: 0o755,
            data: busybox,
        },
        Entry::Link {
            path: "usr/sbin/telnetd",
            target: "../../bin/busybox",
        },
        Entry::File {
            path: "etc/inittab",
            mode: 0o644,
            data: b"::sysinit:/etc/init.d/rcS\n".to_vec(),
        },
        Entry::File {
            path: "etc/init.d/rcS",
            mode: 0o755,
            data: b"#!/bin/sh\ntelnetd &\n".to_vec(),
        },
    ];
    let img = squashfs(&entries, &GZIP_CODEC);
    let r = scan_bytes(img.into(), "no-applets.bin", &ScanOptions::default()).unwrap();
    assert!(r.findings.iter().all(|f| f.id != "FW-SVC-001"), "{:?}", r.findings);
    let svc = r.checks.iter().find(|c| c.family == "services").unwrap();
    assert!(!svc.complete);
    assert!(
        svc.reasons.iter().any(|m| m.contains("applet list not found")),
        "{:?}",
        svc.reasons
    );
    let q = r
        .requirements
        .iter()
        .find(|q| q.standard == "etsi-en-303-645" && q.clause == "5.6-1")
        .unwrap();
    assert_eq!(q.verdict, Verdict::Inconclusive);
    assert!(
        q.reasons.iter().any(|m| m.contains("applet list not found")),
        "{:?}",
        q.reasons
    );
}
