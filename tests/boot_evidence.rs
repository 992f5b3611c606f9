//! Secure-boot evidence read from kernel-shaped images: the IKCONFIG block
//! a kernel built with CONFIG_IKCONFIG carries (`IKCFG_ST`, the gzip of
//! its `.config`, `IKCFG_ED`: Linux `kernel/configs.c`, found the way
//! `scripts/extract-ikconfig` finds it), inside a gzip-compressed uImage
//! kernel, is read by FW-BOOT-001; and a dm-verity hash device made by
//! `veritysetup format` (tests/data/verity/make.sh) becomes a container
//! whose superblock fields are facts.

use std::io::Write;

use fwcert::unpack::formats::uimage;
use fwcert::{Report, ScanOptions, scan_bytes};

fn gzip(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

/// A vmlinux-shaped blob: code-like bytes, the banner, and the IKCONFIG
/// block in its read-only data.
fn vmlinux(config: &str) -> Vec<u8> {
    let mut k: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    k.extend_from_slice(b"Linux version 4.9.37 (builder@fwcert) (gcc version 6.3.0) #1 SMP PREEMPT\n\0");
    k.extend_from_slice(&[0; 64]);
    k.extend_from_slice(b"IKCFG_ST");
    k.extend(gzip(config.as_bytes()));
    k.extend_from_slice(b"IKCFG_ED");
    k.extend_from_slice(&[0; 256]);
    k
}

/// A legacy uImage (type kernel, gzip) around that kernel, as U-Boot boots it.
fn kernel_uimage(config: &str) -> Vec<u8> {
    uimage::build("Linux-4.9.37", 2, 1, 1_700_000_000, &gzip(&vmlinux(config)))
}

fn scan(img: Vec<u8>, name: &str) -> Report {
    scan_bytes(img.into(), name, &ScanOptions::default()).unwrap()
}

fn boot_gaps(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| c.family == "boot")
        .flat_map(|c| c.reasons.clone())
        .collect()
}

const HEAD: &str = "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm 4.9.37 Kernel Configuration\n#\n";

#[test]
fn ikconfig_in_a_uimage_kernel_is_read() {
    let not_enforced = format!(
        "{HEAD}CONFIG_IKCONFIG=y\nCONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\n# CONFIG_MODULE_SIG_FORCE is not set\n"
    );
    let r = scan(kernel_uimage(&not_enforced), "kernel.uimg");
    let f: Vec<_> = r.findings.iter().filter(|f| f.id == "FW-BOOT-001").collect();
    assert_eq!(f.len(), 1, "{:?} / gaps {:?}", r.findings, boot_gaps(&r));
    // The line of `# CONFIG_MODULE_SIG_FORCE is not set` in the config.
    assert_eq!(f[0].line, Some(8));
    assert!(f[0].evidence.contains("CONFIG_MODULE_SIG_FORCE=n"), "{}", f[0].evidence);
    assert!(f[0].container.to_string().contains("uimage"), "{}", f[0].container);
    assert!(
        !boot_gaps(&r)
            .iter()
            .any(|g| g.contains("no readable kernel configuration"))
    );

    let enforced =
        format!("{HEAD}CONFIG_IKCONFIG=y\nCONFIG_MODULES=y\nCONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n");
    let r = scan(kernel_uimage(&enforced), "kernel.uimg");
    assert!(r.findings.iter().all(|f| f.id != "FW-BOOT-001"), "{:?}", r.findings);
    assert!(
        !boot_gaps(&r)
            .iter()
            .any(|g| g.contains("no readable kernel configuration"))
    );

    // Without the block: nothing to read is a gap, not a PASS.
    let mut bare = vmlinux("");
    let at = bare.windows(8).position(|w| w == b"IKCFG_ST").unwrap();
    bare.truncate(at);
    let r = scan(uimage::build("Linux-4.9.37", 2, 1, 0, &gzip(&bare)), "kernel.uimg");
    assert!(r.findings.iter().all(|f| f.id != "FW-BOOT-001"));
    assert!(
        boot_gaps(&r)
            .iter()
            .any(|g| g.contains("no readable kernel configuration"))
    );
}

#[test]
fn veritysetup_hash_device_is_a_container_with_its_superblock_facts() {
    let hash = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verity/hash.img")).unwrap();
    // After a kernel, at a 4 KiB boundary, as a flash layout puts it.
    let mut img = kernel_uimage(&format!("{HEAD}# CONFIG_MODULES is not set\n"));
    img.resize(img.len().div_ceil(4096) * 4096, 0xff);
    let at = img.len() as u64;
    img.extend(&hash);
    let r = scan(img, "flash.bin");
    let c = r
        .unpack
        .containers
        .iter()
        .find(|c| c.format == "dm-verity")
        .expect("a dm-verity container");
    assert_eq!((c.offset, c.size), (at, hash.len() as u64));
    assert_eq!(c.facts["algorithm"], "sha256");
    assert_eq!(c.facts["data_blocks"], "10");
    assert_eq!(c.facts["hash_type"], "1 (normal)");
    assert_eq!(
        c.facts["salt"],
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    );
}

#[test]
fn dm_verity_is_reported_as_boot_evidence() {
    let hash = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verity/hash.img")).unwrap();
    let r = scan(hash, "hash.img");
    assert!(
        boot_gaps(&r)
            .iter()
            .any(|g| g.ends_with("dm-verity is in use: a dm-verity hash device at hash.img@0x0:dm-verity")),
        "{:?}",
        boot_gaps(&r)
    );
    // A compiled-in U-Boot environment whose bootargs build the root from
    // a verity table (dm-init.rst's syntax).
    let mut img = vec![0u8; 256];
    img.extend_from_slice(b"bootcmd=bootm 0x9f050000\0bootdelay=1\0baudrate=115200\0bootargs=console=ttyS0 dm-mod.create=\"vroot,,,ro,0 1740800 verity 1 /dev/mtdblock3 /dev/mtdblock4 4096 4096 217600 0 sha256 d9b0 5f3a\" root=/dev/dm-0\0\0");
    img.extend_from_slice(&[0u8; 256]);
    let r = scan(img, "uboot.bin");
    assert!(
        boot_gaps(&r).iter().any(
            |g| g.contains("dm-verity is in use: `dm-mod.create=vroot,,,ro,0 1740800 verity")
                && g.contains("in U-Boot variable bootargs")
        ),
        "{:?}",
        boot_gaps(&r)
    );
}

/// mkimage's FIT whose device tree's `/chosen/bootargs` builds the root
/// from a verity table (tests/data/fit/make.sh).
#[test]
fn verity_table_in_fit_bootargs_is_evidence() {
    let d = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fit/verity-bootargs.itb"
    ))
    .unwrap();
    let r = scan(d, "verity.itb");
    assert!(
        boot_gaps(&r).iter().any(|g| g.contains(
            "dm-verity is in use: `dm-mod.create=vroot,,,ro,0 1740800 verity 1 /dev/mmcblk0p2 /dev/mmcblk0p3 4096 4096 217600 0 s…` in the kernel command line of verity.itb@0x0:fit"
        )),
        "{:?}",
        boot_gaps(&r)
    );
}
