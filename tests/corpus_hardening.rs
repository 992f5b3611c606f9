//! Binary hardening on the shared corpus (opt-in: set FWCERT_CORPUS).
//!
//! The expected facts are the corpus README's (section "elf/", "firmware/",
//! "rootfs/"), each also checked by hand with `readelf -hlWd` and
//! `readelf -sW` / `readelf -Ds` (binutils, independent of goblin):
//! - elf/: the FACT_core exploit-mitigation fixtures (x86-64).
//! - TP-Link WR841N v10: `/usr/bin/httpd` is a MIPS big-endian ET_EXEC with
//!   PT_GNU_STACK RWE, no section headers, and none of its 2,716 dynamic
//!   symbols is a stack-protector symbol; `/etc/rc.d/rcS` line 37 is
//!   `/usr/bin/httpd &`; `/etc/inittab` line 2 respawns BusyBox getty.
//! - DV-ARM: `/usr/bin/miniweb` and `/usr/bin/nweb` have PT_GNU_STACK RWE,
//!   `/usr/bin/miniweb-nx` and `/usr/bin/lightsrv` RW; all are ET_EXEC;
//!   rc.local starts miniweb (line 2) and lightsrv (line 3), not nweb.

use std::path::PathBuf;

use fwcert::inventory::elf::{Relro, StackMarker, facts};
use fwcert::report::model::FindingOut;
use fwcert::{Report, ScanOptions, scan_path};

fn corpus(rel: &str) -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
        eprintln!("FWCERT_CORPUS unset: skipping {rel}");
        return None;
    };
    Some(PathBuf::from(dir).join(rel))
}

fn of<'r>(r: &'r Report, id: &str) -> Vec<&'r FindingOut> {
    r.findings.iter().filter(|f| f.id == id).collect()
}

#[test]
fn elf_fixtures_have_the_readme_facts() {
    let Some(dir) = corpus("elf") else {
        return;
    };
    let read = |n: &str| facts(&std::fs::read(dir.join(n)).unwrap()).unwrap_or_else(|| panic!("{n} parses"));

    // NX, PIE, full RELRO (BIND_NOW), no canary.
    let hallo = read("Hallo.out");
    assert_eq!(
        (hallo.kind, hallo.pie, hallo.is_program()),
        ("pie-or-shared", true, true)
    );
    assert_eq!((hallo.stack, hallo.exec_stack), (StackMarker::NonExecutable, false));
    assert_eq!((hallo.relro, hallo.bind_now), (Relro::Full, true));
    assert_eq!(hallo.stack_canary, Some(false));
    assert!(!hallo.stripped && hallo.rpath.is_empty() && hallo.runpath.is_empty());
    assert_eq!(
        (hallo.machine.as_str(), hallo.bits, hallo.big_endian),
        ("X86_64", 64, false)
    );

    // The same with a canary.
    let canary = read("Hallo_Canary");
    assert_eq!(canary.stack_canary, Some(true));
    assert!(canary.pie && canary.relro == Relro::Full && !canary.exec_stack);

    // ET_EXEC, partial RELRO.
    let no_pie = read("Hallo_no_pie");
    assert_eq!(
        (no_pie.kind, no_pie.pie, no_pie.is_program()),
        ("executable", false, true)
    );
    assert_eq!((no_pie.relro, no_pie.bind_now), (Relro::Partial, false));
    assert_eq!(no_pie.stack_canary, Some(false));

    assert_eq!(read("Hallo_rpath").rpath, ["/some/path"]);
    assert!(read("Hallo_rpath").runpath.is_empty());
    assert_eq!(read("Hallo_runpath").runpath, ["/some/path"]);
    assert!(read("Hallo_runpath").rpath.is_empty());
    let rp = std::fs::read(dir.join("Hallo_rpath")).unwrap();
    let at = usize::try_from(read("Hallo_rpath").search_path_offset.unwrap()).unwrap();
    assert_eq!(&rp[at..at + 10], b"/some/path");

    // No .symtab; the canary question is still answered from .dynsym.
    let stripped = read("Hallo_stripped");
    assert!(stripped.stripped);
    assert_eq!(stripped.stack_canary, Some(false));
    assert!(stripped.pie && stripped.relro == Relro::Full);

    // clang SafeStack and CFI builds: ET_EXEC, partial RELRO, NX, no canary
    // (readelf: GNU_STACK RW, GNU_RELRO, no BIND_NOW, no __stack_chk_*).
    for n in ["Hallo_SafeStack", "Hallo_cfi"] {
        let f = read(n);
        assert_eq!(
            (f.kind, f.pie, f.relro, f.exec_stack),
            ("executable", false, Relro::Partial, false),
            "{n}"
        );
        assert_eq!(f.stack_canary, Some(false), "{n}");
    }

    // A shared library: ET_DYN without an interpreter or DF_1_PIE.
    let so = read("Hallo.so");
    assert_eq!(
        (so.kind, so.pie, so.is_program(), so.is_loadable()),
        ("pie-or-shared", false, false, true)
    );
    assert_eq!(so.relro, Relro::Partial);

    // An object file: hardening does not apply.
    let obj = read("Hallo.o");
    assert_eq!((obj.kind, obj.is_loadable()), ("relocatable", false));
    assert_eq!(obj.stack, StackMarker::Absent);
}

#[test]
fn tplink_wr841n_httpd_executable_stack_at_its_rcs_line() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let mut opts = ScanOptions::default();
    opts.checks.crack_time = std::time::Duration::from_secs(5);
    let r = scan_path(&path, &opts).unwrap();
    let hard = r
        .checks
        .iter()
        .find(|c| c.family == "hardening")
        .expect("hardening ran");
    assert!(hard.complete, "{:?}", hard.reasons);

    // The per-filesystem counts, each also counted with readelf over the
    // files `fwcert unpack -o` wrote: 79 ET_EXEC/ET_DYN files, 24 of them
    // ET_EXEC programs and no PIE (uClibc's libnsl and libresolv carry
    // PT_INTERP but no DT_DEBUG: libraries), every one with an executable
    // stack (72 RWE, 7 without PT_GNU_STACK), no stack-protector or
    // `__*_chk` symbol, 4 with GNU_RELRO and BIND_NOW, 2 with an RPATH,
    // none with a `.symtab`.
    let fs = &r.unpack.filesystems[0];
    let h = &fs.hardening;
    assert_eq!(
        (h.elf, h.programs, h.pie, h.exec_stack, h.canary),
        (79, 24, 0, 79, 0),
        "{h:?}"
    );
    assert_eq!(
        (h.relro_full, h.relro_partial, h.fortified, h.search_path, h.stripped),
        (4, 0, 0, 2, 79),
        "{h:?}"
    );

    let exec = of(&r, "FW-HARD-001");
    assert_eq!(exec.len(), 1, "{exec:?}");
    let f = exec[0];
    assert_eq!((f.path.as_str(), f.line), ("/etc/rc.d/rcS", Some(37)));
    for words in [
        "network-facing `httpd` (/usr/bin/httpd, MIPS 32-bit big-endian ET_EXEC)",
        "an executable stack (PT_GNU_STACK RWE)",
        "started at /etc/rc.d/rcS:37",
    ] {
        assert!(f.evidence.contains(words), "{words}: {}", f.evidence);
    }
    // The first hardening finding of the report: the daemon comes before
    // the aggregate of everything else.
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.check == "hardening")
            .map(|f| f.id.as_str()),
        Some("FW-HARD-001")
    );

    let weak = of(&r, "FW-HARD-004");
    assert_eq!(weak.len(), 1, "{weak:?}");
    assert_eq!((weak[0].path.as_str(), weak[0].line), ("/etc/rc.d/rcS", Some(37)));
    for words in ["not PIE", "no stack canary", "no RELRO"] {
        assert!(weak[0].evidence.contains(words), "{words}: {}", weak[0].evidence);
    }

    // BusyBox (getty, respawned by inittab line 2) is not network-facing.
    let boot = of(&r, "FW-HARD-002");
    assert_eq!(boot.len(), 1, "{boot:?}");
    assert_eq!((boot[0].path.as_str(), boot[0].line), ("/etc/inittab", Some(2)));
    assert!(
        boot[0].evidence.starts_with("/bin/busybox (MIPS 32-bit big-endian"),
        "{}",
        boot[0].evidence
    );

    // Everything else, summed up once: 72 ELF files with PT_GNU_STACK RWE
    // and 7 shared objects without PT_GNU_STACK (executable on MIPS), less
    // httpd and BusyBox.
    let rest = of(&r, "FW-HARD-003");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(
        rest[0]
            .evidence
            .starts_with("77 ELF file(s) not started at boot have an executable stack: /lib/"),
        "{}",
        rest[0].evidence
    );
    assert!(rest[0].offset.is_some());
}

#[test]
fn dvar_arm_miniweb_flagged_and_miniweb_nx_not() {
    let Some(path) = corpus("rootfs/dvar-arm-rootfs.tar.bz2") else {
        return;
    };
    let r = scan_path(&path, &ScanOptions::default()).unwrap();
    let exec = of(&r, "FW-HARD-001");
    assert_eq!(exec.len(), 1, "{exec:?}");
    assert_eq!(
        (exec[0].path.as_str(), exec[0].line),
        ("/rootfs-arm/etc/rc.local", Some(2))
    );
    assert!(
        exec[0]
            .evidence
            .contains("(/rootfs-arm/usr/bin/miniweb, ARM 32-bit little-endian ET_EXEC), listens on 80/tcp"),
        "{}",
        exec[0].evidence
    );
    // nweb is not started: it is in the per-filesystem summary, miniweb-nx
    // (PT_GNU_STACK RW) nowhere.
    let rest = of(&r, "FW-HARD-003");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert!(
        rest[0].evidence.contains("/rootfs-arm/usr/bin/nweb"),
        "{}",
        rest[0].evidence
    );
    // lightsrv (PT_GNU_STACK RW) imports bind and listen: network-facing,
    // so only its missing PIE/canary/RELRO is reported. dropbearkey is the
    // multi-call dropbear under another name: not judged by its imports.
    let weak: Vec<(&str, Option<usize>)> = of(&r, "FW-HARD-004")
        .iter()
        .map(|f| (f.path.as_str(), f.line))
        .collect();
    assert!(weak.contains(&("/rootfs-arm/etc/rc.local", Some(3))), "{weak:?}");
    assert!(weak.contains(&("/rootfs-arm/etc/rc.local", Some(2))), "{weak:?}");
    assert!(
        of(&r, "FW-HARD-004")
            .iter()
            .all(|f| !f.evidence.contains("`dropbearkey`"))
    );
    for f in &r.findings {
        assert!(!f.evidence.contains("miniweb-nx"), "{f:?}");
        assert!(
            !(f.id.starts_with("FW-HARD")
                && f.evidence.contains("lightsrv")
                && f.evidence.contains("executable stack")),
            "{f:?}"
        );
    }
}

/// The input-validation hint (a preview at info): the WR841N web server
/// imports `system` and formats shell commands with `%s` (the shape of its
/// published command injections); it is reported at its first such format
/// and decides no clause.
#[test]
fn tplink_wr841n_httpd_formats_shell_commands() {
    let Some(path) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let mut opts = ScanOptions::default();
    opts.checks.crack_time = std::time::Duration::from_secs(5);
    let r = scan_path(&path, &opts).unwrap();
    let hints = of(&r, "FW-INPUT-001");
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert_eq!(hints[0].path, "/usr/bin/httpd");
    assert!(
        hints[0].evidence.starts_with("web program imports system and holds "),
        "{}",
        hints[0].evidence
    );
    assert!(
        hints[0].evidence.contains("`ifconfig %s 0.0.0.0`"),
        "{}",
        hints[0].evidence
    );
}
