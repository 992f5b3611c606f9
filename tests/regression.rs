//! Real firmware from the shared corpus (opt-in: set FWCERT_CORPUS).

use std::path::PathBuf;

use fwcert::{ScanOptions, Verdict, scan_path};

fn corpus(rel: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
        eprintln!("FWCERT_CORPUS unset: skipping {rel}");
        return None;
    };
    Some(PathBuf::from(dir).join(rel))
}

#[test]
fn tplink_wr841n_fails_on_root_sohoadmin() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.unpack.complete, "{:?}", r.unpack.reasons);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "FW-CRED-002")
        .expect("root/sohoadmin is found");
    assert_eq!(f.path, "/etc/shadow");
    assert_eq!(f.line, Some(1));
    assert!(f.evidence.contains("\"sohoadmin\""), "{}", f.evidence);
    assert_eq!(
        f.container,
        "tplink-wr841n-v10-3.16.9-150310.bin@0x0:tplink → @0x20200:tplink → @0x120200:squashfs"
    );
    let q = r
        .requirements
        .iter()
        .find(|q| q.standard == "etsi-en-303-645" && q.clause == "5.1-1")
        .unwrap();
    assert_eq!(q.verdict, Verdict::Fail);
    assert!(q.findings.contains(&f.fingerprint));
    // The dropbear binary's "BEGIN RSA PRIVATE KEY" format string is not a finding.
    assert!(r.findings.iter().all(|f| !f.path.contains("dropbear")));
    // Components the corpus README lists.
    for (name, version) in [
        ("busybox", "1.01"),
        ("dropbear", "2012.55"),
        ("uclibc", "0.9.30"),
        ("linux", "2.6.31"),
    ] {
        assert!(
            r.components
                .iter()
                .any(|c| c.name == name && c.version.starts_with(version)),
            "{name} {version} in {:?}",
            r.components
        );
    }
    // The TP-Link header's checksum is a salted MD5, recorded as such.
    let outer = &r.unpack.containers[0];
    assert_eq!(outer.format, "tplink");
    assert_eq!(outer.facts["integrity"], "md5-salted-boot");
}

#[test]
fn tplink_wr841n_truncated_is_not_pass_and_says_why() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let data = std::fs::read(path).unwrap();
    let cut = data[..0x200000].to_vec();
    let r = fwcert::scan_bytes(cut.into(), "cut.bin", &ScanOptions::default()).unwrap();
    assert_ne!(r.verdict, Verdict::Pass);
    assert!(!r.unpack.complete);
    assert!(!r.unpack.reasons.is_empty());
}

#[test]
fn dvar_arm_rootfs_root_has_an_empty_password() {
    let Some(path) = corpus("rootfs/dvar-arm-rootfs.tar.bz2") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    assert_eq!(r.verdict, Verdict::Fail);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "FW-CRED-001")
        .expect("root:: is found");
    assert_eq!(f.path, "/rootfs-arm/etc/shadow");
    assert!(f.evidence.contains("`root`"));
    assert!(
        r.components
            .iter()
            .any(|c| c.name == "busybox" && c.version == "1.23.2")
    );
}
