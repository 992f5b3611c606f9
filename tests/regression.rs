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
