//! Hostile inputs, end to end: decompression bombs, deep nesting, lying
//! headers, path traversal through the materialiser, and byte-level
//! mutations of every sample. Each must end with a clear reason in the
//! unpack result, within its budgets, without a panic and without a byte
//! written outside the output root.

use std::io::Write;
use std::process::Command;

use fwcert::unpack::budget::Limits;
use fwcert::unpack::formats::uimage;
use fwcert::unpack::{Status, UnpackOptions, Unpacked, unpack};

fn run(data: Vec<u8>, limits: Limits) -> Unpacked {
    let options = UnpackOptions {
        limits,
        ..UnpackOptions::default()
    };
    unpack(data.into(), "hostile.bin", &options)
}

fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(data).expect("in-memory write");
    gz.finish().expect("in-memory write")
}

fn reasons(u: &Unpacked) -> String {
    u.incompleteness().join("\n")
}

/// A 4 GiB gzip bomb in about 4 MiB: 64 identical members of 64 MiB of
/// zeros each (multi-member gzip is one valid stream). The size budget
/// stops it long before 4 GiB is held in memory.
#[test]
fn four_gib_gzip_bomb_stops_at_the_size_budget() {
    let member = gzip(&vec![0u8; 64 << 20], 9);
    let bomb: Vec<u8> = member.repeat(64);
    assert!(bomb.len() < 8 << 20, "the bomb itself is small: {}", bomb.len());
    let limits = Limits::default();
    let budget = limits.max_total_bytes_for(bomb.len() as u64);
    let u = run(bomb, limits);
    assert!(!u.complete());
    assert!(reasons(&u).contains("size budget exceeded"), "{}", reasons(&u));
    let produced: u64 = u.payloads.iter().map(|p| p.data.len() as u64).sum();
    assert!(produced <= budget, "{produced} bytes kept, budget {budget}");
}

/// A zip whose central directory points 64 times at the same 64 MiB
/// deflated entry (the overlapping-file construction): each reference is
/// charged, so the budget ends it.
#[test]
fn overlapping_zip_bomb_stops_at_the_size_budget() {
    let kernel = {
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(9));
        d.write_all(&vec![0u8; 64 << 20]).expect("in-memory write");
        d.finish().expect("in-memory write")
    };
    let crc = {
        let mut h = crc32fast::Hasher::new();
        h.update(&vec![0u8; 64 << 20]);
        h.finalize()
    };
    let name = b"zeros";
    let mut z = Vec::new();
    // One local header and its data.
    z.extend_from_slice(b"PK\x03\x04");
    z.extend_from_slice(&20u16.to_le_bytes()); // version
    z.extend_from_slice(&0u16.to_le_bytes()); // flags
    z.extend_from_slice(&8u16.to_le_bytes()); // deflate
    z.extend_from_slice(&[0; 4]); // time, date
    z.extend_from_slice(&crc.to_le_bytes());
    z.extend_from_slice(&(kernel.len() as u32).to_le_bytes());
    z.extend_from_slice(&(64u32 << 20).to_le_bytes());
    z.extend_from_slice(&(name.len() as u16).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(name);
    z.extend_from_slice(&kernel);
    let cd_start = z.len();
    let entries = 64u16;
    for i in 0..entries {
        let entry_name = format!("zeros{i:02}");
        z.extend_from_slice(b"PK\x01\x02");
        z.extend_from_slice(&20u16.to_le_bytes()); // made by
        z.extend_from_slice(&20u16.to_le_bytes()); // needed
        z.extend_from_slice(&0u16.to_le_bytes());
        z.extend_from_slice(&8u16.to_le_bytes());
        z.extend_from_slice(&[0; 4]);
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(kernel.len() as u32).to_le_bytes());
        z.extend_from_slice(&(64u32 << 20).to_le_bytes());
        z.extend_from_slice(&(entry_name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 6]); // extra, comment, disk
        z.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
        z.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        z.extend_from_slice(&0u32.to_le_bytes()); // local header offset: all the same
        z.extend_from_slice(entry_name.as_bytes());
    }
    let cd_len = z.len() - cd_start;
    z.extend_from_slice(b"PK\x05\x06");
    z.extend_from_slice(&[0; 4]);
    z.extend_from_slice(&entries.to_le_bytes());
    z.extend_from_slice(&entries.to_le_bytes());
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd_start as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());

    let limits = Limits::default();
    let budget = limits.max_total_bytes_for(z.len() as u64);
    let u = run(z, limits);
    assert!(!u.complete());
    let zip = u
        .containers
        .iter()
        .find(|c| c.format == "zip")
        .expect("the zip is recognised");
    assert_ne!(zip.status, Status::Complete);
    assert!(reasons(&u).contains("budget exceeded"), "{}", reasons(&u));
    let kept: u64 = u
        .filesystems
        .iter()
        .flat_map(|f| f.tree.files().map(|(_, d)| d.len() as u64))
        .sum();
    assert!(kept <= budget, "{kept} bytes kept, budget {budget}");
}

/// 200 levels of gzip inside gzip: the depth budget ends the recursion with
/// a reason, and raising the limit that high does not overflow the stack.
#[test]
fn two_hundred_deep_nesting_is_cut_at_the_depth_budget() {
    let mut img = b"the innermost file".to_vec();
    for _ in 0..200 {
        img = gzip(&img, 6);
    }
    let u = run(img.clone(), Limits::default());
    assert!(!u.complete());
    assert!(reasons(&u).contains("depth budget exceeded"), "{}", reasons(&u));
    assert!(u.containers.len() <= 18, "{} containers", u.containers.len());

    // Even when a user asks for more depth than that, the engine holds.
    let deep = Limits {
        max_depth: 250,
        ..Limits::default()
    };
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20) // the default test-thread stack
        .spawn(move || run(img, deep))
        .expect("spawn");
    let u = handle.join().expect("no stack overflow at 200 levels");
    assert_eq!(u.payloads.last().map(|p| &p.data[..]), Some(&b"the innermost file"[..]));
}

/// Headers whose sizes lie: a uImage that claims 4 GiB of payload, and one
/// whose CRC does not match. Neither panics; each says what is wrong.
#[test]
fn lying_headers_give_reasons_not_panics() {
    let mut huge = uimage::build("liar", 2, 0, 1, b"payload bytes here");
    huge[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
    let u = run(huge, Limits::default());
    assert!(!u.complete());
    assert!(!reasons(&u).is_empty());

    let mut bad_crc = uimage::build("liar", 2, 0, 1, b"payload bytes here");
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    let u = run(bad_crc, Limits::default());
    assert!(!u.complete());
    assert!(reasons(&u).to_lowercase().contains("crc"), "{}", reasons(&u));
}

/// Flip bytes of every sample at many deterministic positions: whatever the
/// result, no panic, and a damaged image never unpacks "complete" with the
/// damage silently ignored unless the byte was genuinely unused (outside
/// every container found in the image: an unidentified region the unpack
/// lists). Every mutated sample still gives a report, and a report whose
/// unpack is incomplete never says PASS, overall or for any clause.
#[test]
fn mutated_samples_never_panic() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // A corrupted hash would make the cracker try every candidate; the
    // budget keeps each scan short (running out of it is a coverage gap).
    let mut opts = fwcert::ScanOptions::default();
    opts.checks.crack_time = std::time::Duration::from_millis(200);
    let (mut damaged, mut detected) = (0, 0);
    for (name, bytes, _) in fwcert::samples::all() {
        for _ in 0..60 {
            let mut m = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % m.len() as u64) as usize;
                m[at] = next() as u8;
            }
            if next() % 5 == 0 {
                m.truncate((next() % m.len() as u64) as usize);
            }
            // The positions whose bytes differ from the sample's; a cut
            // changes every byte from where it is.
            let changed: Vec<usize> = (0..bytes.len()).filter(|&i| m.get(i) != bytes.get(i)).collect();
            let u = run(m.clone(), Limits::default());
            // Every container has a status, and every non-complete one a reason.
            for c in &u.containers {
                assert!(c.status == Status::Complete || !c.problems.is_empty(), "{name}: {c:?}");
            }
            assert_eq!(u.complete(), u.incompleteness().is_empty(), "{name}");
            if !changed.is_empty() {
                damaged += 1;
            }
            if u.complete() {
                // Complete despite the damage: only if no container found in
                // the image vouches for a changed byte that is still there.
                // An outer container vouches for all its bytes (a uImage's
                // CRCs), except a FIT, which vouches only for its images'
                // data (hash nodes; its signature cannot be verified
                // without the vendor's key): there, the image's container.
                let vouched: Vec<&fwcert::unpack::Container> = u
                    .containers
                    .iter()
                    .filter(|c| match c.chain.depth() {
                        1 => c.format != "fit",
                        2 => u.containers.iter().any(|p| {
                            p.format == "fit"
                                && p.chain.depth() == 1
                                && c.chain.to_string().starts_with(&p.chain.to_string())
                        }),
                        _ => false,
                    })
                    .collect();
                let inside: Vec<(usize, String)> = changed
                    .iter()
                    .filter(|&&i| i < m.len())
                    .flat_map(|&i| {
                        vouched
                            .iter()
                            .filter(move |c| c.offset <= i as u64 && (i as u64) < c.offset + c.size)
                            .map(move |c| (i, c.chain.to_string()))
                    })
                    .collect();
                assert!(
                    inside.is_empty(),
                    "{name}: unpacked complete although these changed bytes are inside containers: {inside:?}"
                );
            } else if !changed.is_empty() {
                detected += 1;
            }
            // The whole pipeline gives a report; with an incomplete unpack,
            // nothing in it is PASS.
            let r = fwcert::scan_bytes(m.into(), name, &opts).unwrap_or_else(|e| panic!("{name}: no report: {e}"));
            assert_eq!(r.unpack.complete, u.complete(), "{name}");
            if !r.unpack.complete {
                assert!(!r.unpack.reasons.is_empty(), "{name}");
                assert_ne!(r.outcome.exit_code, 0, "{name}: {:?}", r.unpack.reasons);
                let passed: Vec<&str> = r
                    .requirements
                    .iter()
                    .filter(|q| q.verdict == fwcert::Verdict::Pass || q.firmware_verdict == Some(fwcert::Verdict::Pass))
                    .map(|q| q.clause.as_str())
                    .collect();
                assert!(passed.is_empty(), "{name}: PASS with an incomplete unpack: {passed:?}");
            }
        }
    }
    // The samples are a CRC-covered uImage and a FIT with hashed data: the
    // damage is almost always seen.
    assert!(
        damaged >= 100 && detected * 10 >= damaged * 9,
        "{detected} of {damaged} detected"
    );
}

/// One tar header block (ustar), for the traversal test below.
fn tar_entry(name: &str, kind: u8, data: &[u8], link: &str) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[148..156].copy_from_slice(b"        ");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out
}

/// `fwcert unpack -o` on a tar that tries `..`, an absolute path, and a
/// write through a symlink that points outside: nothing lands outside the
/// output directory, and the run is INCONCLUSIVE with the reasons listed.
#[test]
fn traversal_tar_writes_nothing_outside_the_output_root() {
    let mut tar = Vec::new();
    tar.extend(tar_entry("etc/", b'5', b"", ""));
    tar.extend(tar_entry("etc/passwd", b'0', b"root::0:0::/root:/bin/sh\n", ""));
    tar.extend(tar_entry("../../escaped-dotdot", b'0', b"evil", ""));
    tar.extend(tar_entry("/rerooted-absolute", b'0', b"confined", ""));
    tar.extend(tar_entry("outside", b'2', b"", "../../.."));
    tar.extend(tar_entry("outside/escaped-link", b'0', b"evil", ""));
    tar.extend([0u8; 1024]);

    let dir = tempfile::tempdir().expect("tempdir");
    let image = dir.path().join("evil.tar");
    std::fs::write(&image, &tar).expect("write image");
    let out_dir = dir.path().join("nest/out");
    let out = Command::new(env!("CARGO_BIN_EXE_fwcert"))
        .args(["unpack", "-q"])
        .arg(&image)
        .arg("-o")
        .arg(&out_dir)
        .output()
        .expect("run fwcert");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("escapes"), "{stdout}");

    // No "escaped-*" file anywhere; the absolute name was re-rooted inside
    // the filesystem's folder (as GNU tar does), never written at `/`.
    let mut found = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let ty = e.file_type().expect("file type");
            if ty.is_dir() {
                stack.push(e.path());
            }
            found.push(e.path());
        }
    }
    assert!(
        !found.iter().any(|p| p.to_string_lossy().contains("escaped")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .all(|p| p.starts_with(&out_dir) || p == &image || p == &dir.path().join("nest"))
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("fs-00/rerooted-absolute")).expect("re-rooted"),
        "confined"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("fs-00/etc/passwd")).expect("confined file written"),
        "root::0:0::/root:/bin/sh\n"
    );
    // The planted link is written as a link and never followed.
    assert!(
        std::fs::symlink_metadata(out_dir.join("fs-00/outside"))
            .expect("link exists")
            .file_type()
            .is_symlink()
    );
}

/// Every parser has a libFuzzer target (`fuzz/fuzz_targets/format_<name>.rs`,
/// see `fuzz/README.md`), declared in `fuzz/Cargo.toml`: a new format
/// without one fails here.
#[test]
fn every_format_has_a_fuzz_target() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut names: Vec<&str> = fwcert::unpack::formats::FORMATS.iter().map(|f| f.name).collect();
    names.dedup();
    for name in names {
        let target = format!("format_{}", name.replace('-', "_"));
        let source = std::fs::read_to_string(root.join(format!("fuzz_targets/{target}.rs")))
            .unwrap_or_else(|_| panic!("no fuzz target for {name}: add fuzz/fuzz_targets/{target}.rs"));
        assert!(source.contains(&format!("format(\"{name}\"")), "{target} fuzzes {name}");
        assert!(
            manifest.contains(&format!("name = \"{target}\"")),
            "{target} is declared"
        );
    }
}

/// A raw NOR flash dump: bootloader code, erased 0xFF padding, a kernel
/// uImage, more padding, a SquashFS root, and 0x00 padding to the end.
/// Every partition is found at its offset and the padding is reported as
/// padding, not as unidentified data.
#[test]
fn raw_flash_dump_partitions_are_found_between_padding() {
    use fwcert::samples::{Entry, squashfs};
    use fwcert::unpack::GapKind;
    use fwcert::unpack::formats::squashfs::GZIP_CODEC;

    let mut x: u32 = 7;
    let mut flash: Vec<u8> = (0..0x8000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 24) as u8 & 0x3f // code-like, low entropy
        })
        .collect();
    flash.resize(0x10000, 0xff);
    flash.extend(uimage::build(
        "Linux-4.9",
        2,
        0,
        1,
        &gzip(b"Linux version 4.9.37 (builder) #1", 6),
    ));
    flash.resize(0x40000, 0xff);
    let root = squashfs(
        &[
            Entry::Dir {
                path: "/etc",
                mode: 0o755,
            },
            Entry::File {
                path: "/etc/passwd",
                mode: 0o644,
                data: b"root:x:0:0::/root:/bin/sh\n".to_vec(),
            },
            Entry::Dir {
                path: "/bin",
                mode: 0o755,
            },
        ],
        &GZIP_CODEC,
    );
    flash.extend(&root);
    flash.resize(0x80000, 0x00);

    let u = run(flash, Limits::default());
    let found: Vec<(u64, &str)> = u
        .containers
        .iter()
        .filter(|c| c.chain.depth() == 1)
        .map(|c| (c.offset, c.format))
        .collect();
    assert_eq!(found, [(0x10000, "uimage"), (0x40000, "squashfs")]);
    assert!(u.filesystems.iter().any(|f| f.is_rootfs()));
    let padding: Vec<u64> = u
        .gaps
        .iter()
        .filter(|g| g.kind == GapKind::Padding)
        .map(|g| g.offset)
        .collect();
    assert_eq!(padding.len(), 3, "{:?}", u.gaps);
    assert_eq!(padding[0], 0x8000, "erased space after the bootloader: {padding:?}");
    let code = u.gaps.iter().find(|g| g.offset == 0).expect("the bootloader is a gap");
    assert_eq!((code.kind, code.size), (GapKind::Unidentified, 0x8000));
    assert!(u.complete(), "{:?}", u.incompleteness());
}

/// The readers that have fuzz targets of their own (`fuzz/fuzz_targets/
/// reader_*.rs`) survive a deterministic stream of noisy inputs built from
/// pieces of what they read, as a quick stand-in for the fuzzer in CI.
#[test]
fn readers_survive_noisy_input() {
    let pieces: &[&[u8]] = &[
        b"root:$1$abc$def:0:0::/root:/bin/sh\n",
        b"FLSH\x10\0\0\0",
        b"http_passwd=admin\0",
        b"key = \"value\"\n[section]\n",
        b"if [ -x /bin/telnetd ]; then telnetd -l /bin/sh & fi\n",
        b"case $1 in start) x;; esac\n",
        b"<<EOF\n",
        b"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n",
        b"\x30\x82\xff\xff\x02\x01",
        b"\0\0\xff'\"`$(",
        b"[[ics]]\nstandard = \"etsi-en-303-645\"\nclause = \"5.6-4\"\n",
        b"status = \"not-applicable\"\njustification = \"x\"\n[[interface]]\nkind = \"uart\"\n",
        b"[product]\nen18031_parts = [\"1\", \"9\"]\n[[service]]\nname = \"a\"\ndefault = \"on\"\n",
    ];
    let rules = fwcert::Rules::embedded().unwrap();
    let mut x: u32 = 99;
    for _ in 0..2000 {
        let mut data = Vec::new();
        for _ in 0..12 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let piece = pieces[(x >> 16) as usize % pieces.len()];
            let cut = (x as usize >> 3) % (piece.len() + 1);
            data.extend_from_slice(&piece[..cut]);
        }
        let text = String::from_utf8_lossy(&data);
        let _ = fwcert::inventory::nvram::entries(&data);
        let _ = fwcert::inventory::config::parse(&text);
        let _ = fwcert::inventory::accounts::parse_passwd("/etc/passwd", &text);
        let _ = fwcert::inventory::accounts::parse_shadow("/etc/shadow", &text);
        let _ = fwcert::inventory::accounts::parse_user_hash("/etc/htpasswd", &text, true);
        let _ = fwcert::inventory::accounts::scan_records("/bin/x", &data);
        let _ = fwcert::inventory::boot::shell::parse(&text);
        let _ = fwcert::inventory::keys::pem::scan(&data);
        let _ = fwcert::inventory::keys::x509::parse(&data);
        let _ = fwcert::inventory::keys::pkcs::rsa_private(&data);
        let _ = fwcert::standards::Declaration::parse("d.toml", &text, &rules.catalog);
    }
}
