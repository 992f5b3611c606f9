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

/// ETSI EN 303 645 `clause` FAILs, citing a finding of `rule`.
fn fails_through(r: &fwcert::Report, clause: &str, rule: &str) {
    let q = r
        .requirements
        .iter()
        .find(|q| q.standard == "etsi-en-303-645" && q.clause == clause)
        .unwrap();
    assert_eq!(q.verdict, Verdict::Fail, "{clause}: {:?}", q.reasons);
    let cited: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| q.findings.contains(&f.fingerprint))
        .map(|f| f.id.as_str())
        .collect();
    assert!(cited.contains(&rule), "{clause} cites {cited:?}, not {rule}");
}

#[test]
fn tplink_wr841n_fails_on_root_sohoadmin() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    assert_eq!(r.outcome.exit_code, 1);
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
        f.container.to_string(),
        "tplink-wr841n-v10-3.16.9-150310.bin@0x0:tplink → @0x20200:tplink → @0x120200:squashfs"
    );
    let q = r
        .requirements
        .iter()
        .find(|q| q.standard == "etsi-en-303-645" && q.clause == "5.1-1")
        .unwrap();
    assert_eq!(q.verdict, Verdict::Fail);
    assert!(q.findings.contains(&f.fingerprint));
    // The other violations it deserves: vulnerable components, and a U-Boot
    // console that can be interrupted.
    fails_through(&r, "5.3-8", "FW-COMP-002");
    fails_through(&r, "5.6-4", "FW-DEBUG-007");
    // The dropbear binary's "BEGIN RSA PRIVATE KEY" format string is not a
    // finding (its version is: the components family cites the binary).
    assert!(
        r.findings
            .iter()
            .filter(|f| !f.id.starts_with("FW-COMP-"))
            .all(|f| !f.path.contains("dropbear"))
    );
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

/// The finding of `rule` on `path`, whose evidence names every one of
/// `cves` and the data's snapshot.
fn comp_finding<'r>(
    r: &'r fwcert::report::Report,
    rule: &str,
    path: &str,
    cves: &[&str],
) -> &'r fwcert::report::model::FindingOut {
    let f = r
        .findings
        .iter()
        .find(|f| f.id == rule && f.path == path)
        .unwrap_or_else(|| panic!("{rule} on {path}"));
    for c in cves {
        assert!(f.evidence.contains(c), "{rule} {path}: {c} in {}", f.evidence);
    }
    assert!(f.evidence.contains("data of 2026-11-28"), "{}", f.evidence);
    f
}

/// Issue 12: the WR841N's components with the CVEs and end of life that
/// checks/components/*.toml (SEED.md, CISA KEV 2025.08.25) support.
#[test]
fn tplink_wr841n_outdated_components() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    // Linux 2.6.31: Dirty COW and the futex bug are in KEV; kernel CVEs are
    // version matches only; 2.6.31 is not long-term (2.6.32 followed).
    let k = comp_finding(
        &r,
        "FW-COMP-001",
        "payload",
        &["CVE-2016-5195", "CVE-2014-3153", "LKC, KEV"],
    );
    assert!(k.evidence.contains("version match only"), "{}", k.evidence);
    assert_eq!(k.offset, Some(1683488));
    comp_finding(&r, "FW-COMP-003", "payload", &["CVE-2021-22555", "CVE-2019-11477"]);
    let e = comp_finding(&r, "FW-COMP-004", "payload", &[]);
    assert!(
        e.evidence.contains("2.6.32 was released (2009-12-03)"),
        "{}",
        e.evidence
    );
    // BusyBox 1.01: applet-gated CVEs, udhcpc compiled in.
    let b = comp_finding(
        &r,
        "FW-COMP-002",
        "/bin/busybox",
        &["CVE-2016-2148", "applet udhcpc compiled in"],
    );
    assert_eq!(b.offset, Some(239142));
    comp_finding(&r, "FW-COMP-003", "/bin/busybox", &["CVE-2018-20679", "CVE-2019-5747"]);
    // dropbear 2012.55: CVE-2012-0920 was fixed in 2012.55, CVE-2016-7406 not.
    let d = comp_finding(
        &r,
        "FW-COMP-002",
        "/usr/sbin/dropbearmulti",
        &["CVE-2016-7406", "NVD, DB"],
    );
    assert!(!d.evidence.contains("CVE-2012-0920"), "{}", d.evidence);
    // uClibc 0.9.30: the project is inactive; CVE-2021-43523 never fixed in it.
    comp_finding(&r, "FW-COMP-002", "/lib/libuClibc-0.9.30.so", &["CVE-2021-43523"]);
    comp_finding(&r, "FW-COMP-004", "/lib/libuClibc-0.9.30.so", &["project inactive"]);
    let comps = r
        .checks
        .iter()
        .find(|c| c.family == "components")
        .expect("components coverage");
    // pppd keeps its version ("2.4.3") in a string of its own, with no
    // prefix that names it: the component is there, its version is not
    // identified, and that is a gap rather than silence.
    assert!(!comps.complete);
    assert_eq!(
        comps.reasons,
        [
            "pppd is present (/usr/sbin/pppd) but its version could not be identified: its known vulnerabilities and end of life were not judged"
        ]
    );
}

/// Issue 12: what is really in the DV-ARM root filesystem, and what the
/// data says about it.
#[test]
fn dvar_arm_rootfs_outdated_components() {
    let Some(path) = corpus("rootfs/dvar-arm-rootfs.tar.bz2") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    let found: Vec<(&str, &str)> = r
        .components
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("busybox", "1.23.2"),
            ("dropbear", "2017.75-1"),
            ("json-c", "0.12-1"),
            ("openssl", "1.0.2n"),
            ("uclibc", "0.9.33.2"),
            ("zlib", "1.2.8")
        ]
    );
    // dropbear and json-c: only the opkg database names their versions
    // (strongest evidence); the others are their own version strings,
    // which the database's entries of the same release only echo.
    for c in &r.components {
        let (method, confidence) = match c.name.as_str() {
            "dropbear" | "json-c" => ("package-database", "high"),
            "uclibc" => ("file-name", "medium"),
            _ => ("version-string", "high"),
        };
        assert_eq!(
            (serde_json::to_value(c.method).unwrap(), c.confidence),
            (serde_json::json!(method), confidence),
            "{} at {}",
            c.name,
            c.path
        );
    }
    let db = r.components.iter().find(|c| c.name == "dropbear").unwrap();
    assert_eq!(db.path, "/rootfs-arm/usr/lib/opkg/info/dropbear.control");
    assert_eq!(db.evidence, "opkg control: Package: dropbear Version: 2017.75-1");
    let o = comp_finding(
        &r,
        "FW-COMP-004",
        "/rootfs-arm/usr/lib/libcrypto.so.1.0.0",
        &["branch 1.0.2", "2019-12-31", "EOL, OSSLPOL"],
    );
    assert_eq!(o.offset, Some(979615));
    comp_finding(
        &r,
        "FW-COMP-003",
        "/rootfs-arm/usr/lib/libcrypto.so.1.0.0",
        &["CVE-2022-0778", "CVE-2023-0286"],
    );
    comp_finding(
        &r,
        "FW-COMP-002",
        "/rootfs-arm/usr/lib/libz.so.1.2.8",
        &["CVE-2022-37434"],
    );
    comp_finding(
        &r,
        "FW-COMP-003",
        "/rootfs-arm/usr/lib/libz.so.1.2.8",
        &["CVE-2018-25032"],
    );
    comp_finding(
        &r,
        "FW-COMP-002",
        "/rootfs-arm/bin/busybox",
        &["CVE-2016-2148", "CVE-2018-1000517", "applet wget compiled in"],
    );
    comp_finding(
        &r,
        "FW-COMP-002",
        "/rootfs-arm/lib/libuClibc-0.9.33.2.so",
        &["CVE-2021-43523", "CVE-2022-29503"],
    );
    comp_finding(
        &r,
        "FW-COMP-004",
        "/rootfs-arm/lib/libuClibc-0.9.33.2.so",
        &["project inactive"],
    );
    assert!(
        r.findings.iter().all(|f| f.id != "FW-COMP-001"),
        "no KEV CVE in this image's data"
    );
}

#[test]
fn tplink_wr841n_truncated_is_not_pass_and_says_why() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let data = std::fs::read(path).unwrap();
    let cut = data[..0x200000].to_vec();
    let r = fwcert::scan_bytes(cut.into(), "cut.bin", &ScanOptions::default()).unwrap();
    // What it still finds fails (exit 1); nothing passes over the gap.
    assert_ne!(r.outcome.exit_code, 0, "{:?}", r.outcome.reasons);
    assert!(!r.unpack.complete);
    for q in &r.requirements {
        assert!(
            q.verdict != Verdict::Pass && q.firmware_verdict != Some(Verdict::Pass),
            "{} {} passed on a truncated image",
            q.standard,
            q.clause
        );
    }
    assert!(!r.unpack.reasons.is_empty());
}

#[test]
fn dvar_arm_rootfs_root_has_an_empty_password() {
    let Some(path) = corpus("rootfs/dvar-arm-rootfs.tar.bz2") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    assert_eq!(r.outcome.exit_code, 1);
    let f = r
        .findings
        .iter()
        .find(|f| f.id == "FW-CRED-001")
        .expect("root:: is found");
    assert_eq!(f.path, "/rootfs-arm/etc/shadow");
    assert!(f.evidence.contains("`root`"));
    fails_through(&r, "5.1-1", "FW-CRED-001");
    fails_through(&r, "5.6-4", "FW-DEBUG-001");
    assert!(
        r.components
            .iter()
            .any(|c| c.name == "busybox" && c.version == "1.23.2")
    );
    // zlib's own copyright string in libz, found by the catalogue's
    // `deflate ` pattern (checks/components/components.toml).
    let zlib = r
        .components
        .iter()
        .find(|c| c.name == "zlib")
        .expect("zlib is identified");
    assert_eq!(zlib.version, "1.2.8");
    assert_eq!(zlib.path, "/rootfs-arm/usr/lib/libz.so.1.2.8");
    assert_eq!(zlib.purl.as_deref(), Some("pkg:generic/zlib@1.2.8"));
    assert_eq!(zlib.cpe.as_deref(), Some("cpe:2.3:a:zlib:zlib:1.2.8:*:*:*:*:*:*:*"));
}

#[test]
fn tplink_wr841n_boot_model_httpd_getty_and_no_telnet() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    let g = r.boot.graphs.iter().find(|g| g.root == "/").expect("a boot graph");
    assert_eq!(g.init, "busybox");
    assert!(g.gaps.is_empty(), "{:?}", g.gaps);
    // rcS (run by inittab's sysinit) starts the web server, unconditionally.
    let httpd = g
        .starts
        .iter()
        .find(|s| s.program == "/usr/bin/httpd")
        .expect("httpd is started");
    assert_eq!(
        (httpd.script.as_str(), httpd.mechanism.as_str()),
        ("/etc/rc.d/rcS", "rcS")
    );
    assert_eq!(httpd.condition, None);
    assert!(
        g.edges
            .iter()
            .any(|e| e.from == "/etc/inittab" && e.to == "/etc/rc.d/rcS" && e.how == "sysinit")
    );
    // A getty login on the serial console: evidence (info), not a shell without login.
    let getty = g
        .starts
        .iter()
        .find(|s| s.applet.as_deref() == Some("getty"))
        .expect("getty");
    assert_eq!(getty.tty.as_deref(), Some("ttyS0"));
    assert_eq!(
        (getty.script.as_str(), getty.line, getty.action.as_str()),
        ("/etc/inittab", Some(2), "respawn")
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.id == "FW-DEBUG-002" && f.path == "/etc/inittab")
    );
    assert!(
        r.findings.iter().all(|f| f.id != "FW-DEBUG-001"),
        "the getty asks for a password"
    );
    // No telnet: nothing starts it, and this BusyBox v1.01 has no telnetd applet.
    assert!(r.findings.iter().all(|f| f.id != "FW-SVC-001" && f.id != "FW-SVC-002"));
    assert!(g.starts.iter().all(|s| !s.argv.iter().any(|a| a.contains("telnetd"))));
    let data = std::fs::read(&path).unwrap();
    let unpacked = fwcert::unpack::unpack(data.into(), "tplink", &Default::default());
    let bb = unpacked.filesystems[0]
        .tree
        .get("/bin/busybox")
        .and_then(|n| n.data())
        .unwrap();
    let applets = fwcert::inventory::boot::busybox::applets(bb).expect("the applet list is found");
    assert!(applets.contains("getty") && !applets.contains("telnetd"), "{applets:?}");
    assert!(applets.contains("msh") && applets.contains("udhcpd"), "{applets:?}");
    // The web server has no TLS; the U-Boot console can be interrupted.
    assert!(
        r.findings
            .iter()
            .any(|f| f.id == "FW-SVC-006" && f.path == "/etc/rc.d/rcS" && f.line == Some(37))
    );
    let u = r
        .findings
        .iter()
        .find(|f| f.id == "FW-DEBUG-007")
        .expect("U-Boot bootdelay=1");
    assert!(
        u.evidence.contains("bootdelay=1") && u.evidence.contains("console=ttyS0"),
        "{}",
        u.evidence
    );
    for fam in ["services", "debug"] {
        let c = r.checks.iter().find(|c| c.family == fam).unwrap();
        assert!(c.complete, "{fam}: {:?}", c.reasons);
    }
}

#[test]
fn dvar_arm_rootfs_askfirst_consoles_and_rc_local_servers() {
    let Some(path) = corpus("rootfs/dvar-arm-rootfs.tar.bz2") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    let g = r
        .boot
        .graphs
        .iter()
        .find(|g| g.root == "/rootfs-arm")
        .expect("the nested root");
    assert_eq!(g.init, "procd");
    // askfirst ash on the serial consoles, without login.
    let consoles: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == "FW-DEBUG-001" && f.path == "/rootfs-arm/etc/inittab")
        .collect();
    for (line, tty) in [(3, "tts/0"), (4, "ttyAMA0")] {
        let f = consoles
            .iter()
            .find(|f| f.line == Some(line))
            .unwrap_or_else(|| panic!("{consoles:?}"));
        assert!(f.evidence.contains(&format!("serial console {tty}")), "{}", f.evidence);
        assert!(f.evidence.contains("askfirst"), "{}", f.evidence);
    }
    // rc.local, reached through /etc/rc.d/S95done's boot(), starts both servers.
    for (prog, line) in [("/usr/bin/miniweb", 2), ("/usr/bin/lightsrv", 3)] {
        let s = g
            .starts
            .iter()
            .find(|s| s.program == prog)
            .unwrap_or_else(|| panic!("{prog}"));
        assert_eq!(
            (s.script.as_str(), s.line, s.mechanism.as_str()),
            ("/rootfs-arm/etc/rc.local", Some(line), "rc.local")
        );
        assert_eq!(s.condition, None, "{prog}");
    }
    assert!(
        g.edges
            .iter()
            .any(|e| e.from == "/rootfs-arm/etc/init.d/done" && e.to == "/rootfs-arm/etc/rc.local")
    );
    let web = r
        .findings
        .iter()
        .find(|f| f.id == "FW-SVC-006")
        .expect("miniweb serves plain HTTP");
    assert!(web.evidence.contains("port 80/tcp"), "{}", web.evidence);
    // dropbear is a procd instance; OpenWrt's UCI config leaves root password logins on.
    let d = g
        .starts
        .iter()
        .find(|s| s.program == "/usr/sbin/dropbear")
        .expect("dropbear");
    assert_eq!(d.mechanism, "procd");
    assert!(r.findings.iter().any(|f| f.id == "FW-SVC-010"));
    // The empty host key placeholder is not a shipped key.
    assert!(r.findings.iter().all(|f| f.id != "FW-SVC-011"));
}

#[test]
fn tplink_wr841n_report_is_the_same_on_one_thread_and_on_several() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let json = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let r = pool.install(|| scan_path(&path, &ScanOptions::default())).unwrap();
        fwcert::report::render(&r, fwcert::report::Format::Json)
    };
    let one = json(1);
    assert!(one.contains("FW-CRED-002"));
    assert_eq!(one, json(3));
}

/// TP-Link WR841N ships `/etc/shadow` as `-rwxr-xr-x root/root` (checked
/// with `unsquashfs -lls` on the SquashFS at 0x120200): readable by every
/// user. Nothing else of its root filesystem breaks the permission rules:
/// no setuid program, nothing world-writable, everything owned by root.
#[test]
fn tplink_wr841n_shadow_is_readable_by_all() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    let perms: Vec<(&str, &str, Option<u64>)> = r
        .findings
        .iter()
        .filter(|f| f.check == "permissions")
        .map(|f| (f.id.as_str(), f.path.as_str(), f.offset))
        .collect();
    assert_eq!(perms, [("FW-PERM-003", "/etc/shadow", Some(0))]);
    let shadow = r.findings.iter().find(|f| f.id == "FW-PERM-003").unwrap();
    assert!(shadow.evidence.contains("mode 0755"), "{}", shadow.evidence);
    let coverage = r.checks.iter().find(|c| c.family == "permissions").unwrap();
    assert!(coverage.complete, "{:?}", coverage.reasons);
}
