//! OpenWrt since 18.06 hands the flash write over to procd: `sysupgrade`
//! validates the image and calls `ubus call system sysupgrade`; procd
//! validates it again (`/usr/libexec/validate_firmware_image`) and has
//! `/sbin/upgraded` run `/lib/upgrade/stage2` → `do_stage2`, which writes
//! flash through `/lib/upgrade/*.sh`. The check before the hand-over is
//! in a compiled program, so a write reached only from `do_stage2` is a
//! gap for the signature question, not a FAIL; the missing version
//! comparison is still a finding. The library scripts are the
//! OpenWrt-shaped ones of FW-UPD-004's fixtures.

use std::collections::BTreeMap;

use fwcert::samples::{Entry, squashfs};
use fwcert::unpack::formats::squashfs::GZIP_CODEC;
use fwcert::{ScanOptions, scan_bytes};

const SYSUPGRADE: &str = "#!/bin/sh\n. /lib/functions.sh\n\ninclude /lib/upgrade\n\nIMAGE=\"$1\"\nvalid=$(/usr/libexec/validate_firmware_image \"$IMAGE\" | jsonfilter -e '@.valid')\n[ \"$valid\" = true ] || { echo \"Image check failed.\"; exit 1; }\nubus call system sysupgrade \"{\\\"path\\\": \\\"$IMAGE\\\"}\"\n";

const DO_STAGE2: &str = "#!/bin/sh\n# Shaped like OpenWrt's package/base-files/files/lib/upgrade/do_stage2.\n. /lib/functions.sh\n\ninclude /lib/upgrade\n\nif type 'platform_do_upgrade' >/dev/null 2>/dev/null; then\n\tplatform_do_upgrade \"$IMAGE\"\nelse\n\tdefault_do_upgrade \"$IMAGE\"\nfi\n";

/// The library files of FW-UPD-004's `openwrt-sysupgrade-usign-checked`.
fn library() -> BTreeMap<String, String> {
    let t: toml::Value = toml::from_str(include_str!("../checks/updater/FW-UPD-004.toml")).unwrap();
    let fx = t["fixture"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"].as_str() == Some("openwrt-sysupgrade-usign-checked"))
        .unwrap();
    fx["files"]
        .as_table()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("/lib/"))
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn procd_hand_over_is_a_gap_for_the_signature_and_still_no_anti_rollback() {
    let mut files = library();
    files.insert("/sbin/sysupgrade".into(), SYSUPGRADE.into());
    files.insert("/lib/upgrade/do_stage2".into(), DO_STAGE2.into());
    files.insert("/etc/openwrt_version".into(), "r0-fixture\n".into());
    let mut entries: Vec<Entry> = ["etc", "lib", "lib/upgrade", "sbin"]
        .iter()
        .map(|d| Entry::Dir { path: d, mode: 0o755 })
        .collect();
    for (p, c) in &files {
        entries.push(Entry::File {
            path: p.trim_start_matches('/'),
            mode: 0o755,
            data: c.as_bytes().to_vec(),
        });
    }
    let img = squashfs(&entries, &GZIP_CODEC);
    let r = scan_bytes(img.into(), "openwrt.sqsh", &ScanOptions::default()).unwrap();
    let at = |id: &str| -> Vec<(String, Option<usize>)> {
        let mut v: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.id == id)
            .map(|f| (f.path.clone(), f.line))
            .collect();
        v.sort();
        v
    };
    assert_eq!(at("FW-UPD-004"), []);
    assert_eq!(
        at("FW-UPD-005"),
        [
            ("/lib/upgrade/common.sh".to_string(), Some(8)),
            ("/lib/upgrade/nand.sh".to_string(), Some(4))
        ]
    );
    let gaps: Vec<String> = r
        .checks
        .iter()
        .filter(|c| c.family == "updater")
        .flat_map(|c| c.reasons.clone())
        .collect();
    for w in ["/lib/upgrade/common.sh:8", "/lib/upgrade/nand.sh:4"] {
        assert!(
            gaps.iter()
                .any(|g| g.starts_with(w) && g.contains("reached from /lib/upgrade/do_stage2") && g.contains("procd")),
            "{w}: {gaps:?}"
        );
    }
}
