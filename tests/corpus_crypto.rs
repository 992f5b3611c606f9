//! The crypto rules on real firmware from the shared corpus (opt-in: set
//! FWCERT_CORPUS).

use std::path::PathBuf;

use fwcert::{ScanOptions, Verdict, scan_path};

fn corpus(rel: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
        eprintln!("FWCERT_CORPUS unset: skipping {rel}");
        return None;
    };
    Some(PathBuf::from(dir).join(rel))
}

/// OpenWrt's failsafe mode (`/lib/preinit/99_10_failsafe_login`, line 6:
/// `dropbearkey -t rsa -s 1024 -f /tmp/dropbear_failsafe_host_key`) makes a
/// 1024-bit RSA host key: FW-CRYPTO-006 names that line, and EN 303 645
/// 5.5-1 fails through it. The init script's `dropbearkey -t $keytype` is a
/// variable and is not judged, and the shipped `dropbear_rsa_host_key` is
/// an empty file (no key).
#[test]
fn dvar_arm_rootfs_failsafe_generates_a_1024_bit_rsa_host_key() {
    let Some(path) = corpus("rootfs/dvar-arm-rootfs.tar.bz2") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    let crypto: Vec<(&str, &str, Option<usize>)> = r
        .findings
        .iter()
        .filter(|f| f.id.starts_with("FW-CRYPTO-"))
        .map(|f| (f.id.as_str(), f.path.as_str(), f.line))
        .collect();
    assert_eq!(
        crypto,
        [("FW-CRYPTO-006", "/rootfs-arm/lib/preinit/99_10_failsafe_login", Some(6))]
    );
    let q = r
        .requirements
        .iter()
        .find(|q| q.standard == "etsi-en-303-645" && q.clause == "5.5-1")
        .unwrap();
    assert_eq!(q.verdict, Verdict::Fail, "{:?}", q.reasons);
}

/// The WR841N configures no TLS, SSH or Wi-Fi weakness fwcert reads and
/// ships no weak key; its one unreadable configuration file is the crypto
/// family's only gap, so 5.5-1 is not passed.
#[test]
fn tplink_wr841n_has_no_crypto_finding_and_one_crypto_gap() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    assert!(
        r.findings
            .iter()
            .all(|f| !f.id.starts_with("FW-CRYPTO-") && f.id != "FW-SECRET-003")
    );
    let c = r.checks.iter().find(|c| c.family == "crypto").unwrap();
    assert!(!c.complete);
    assert_eq!(c.reasons.len(), 1, "{:?}", c.reasons);
    assert!(c.reasons[0].starts_with("/web/oem/model.conf in "), "{:?}", c.reasons);
}
