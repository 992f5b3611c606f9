//! Opt-in test over the public corpus (`../shared/corpus/formats`): real
//! files nobody on the project wrote, with the answers the corpus README
//! gives. The corpus is not part of the repository, so the test reads its
//! folder from `FWCERT_CORPUS` and skips, saying why, when that is unset.
//!
//! Run: `FWCERT_CORPUS=/path/to/shared/corpus cargo test --test corpus_formats`

use std::path::PathBuf;

use fwcert::unpack::{UnpackOptions, Unpacked, unpack};

/// FACT's "standard unpack set": every file must appear in one tree.
const STANDARD_SET: &[&str] = &["testfile1", "testfile2", "generic folder/test file 3_.txt"];

/// What a correct unpack of one corpus file yields.
enum Expect {
    /// The standard set, as paths ending in these names, in some tree.
    StandardSet,
    /// At least this many non-empty decoded payloads.
    Payloads(usize),
    /// A FIT listing exactly this many images, each carved as a range.
    FitImages(usize),
    /// Some decoded payload contains these bytes.
    PayloadContains(&'static [u8]),
}

/// Every corpus file fwcert supports, with the format that must be found.
const CASES: &[(&str, &str, Expect)] = &[
    ("test.cpio", "cpio", Expect::StandardSet),
    ("squashfs-gzip.sqfs", "squashfs", Expect::StandardSet),
    ("squashfs-lzma.sqfs", "squashfs", Expect::StandardSet),
    ("squashfs-xz.sqfs", "squashfs", Expect::StandardSet),
    ("squashfs-lzo.sqfs", "squashfs", Expect::StandardSet),
    ("squashfs-lz4.sqfs", "squashfs", Expect::StandardSet),
    ("squashfs-zstd.sqfs", "squashfs", Expect::StandardSet),
    ("squashfs-zlib_le.sqfs3", "squashfs", Expect::StandardSet),
    ("squashfs-lzma1_le.sqfs3", "squashfs", Expect::StandardSet),
    ("squashfs-lzma_le.sqfs2", "squashfs", Expect::StandardSet),
    ("squashfs-avm_le.sqfs4", "squashfs", Expect::StandardSet),
    ("test.tar", "tar", Expect::StandardSet),
    ("dahua_dh.bin", "dahua", Expect::StandardSet),
    ("trx.img", "trx", Expect::StandardSet),
    ("test.tar.bz2", "bzip2", Expect::StandardSet),
    ("test.zst", "zstd", Expect::Payloads(1)),
    ("test.lzo", "lzop", Expect::Payloads(1)),
    ("android_sparse.img", "android-sparse", Expect::Payloads(1)),
    ("fit.itb", "fit", Expect::FitImages(3)),
    ("jffs2_le.img", "jffs2", Expect::StandardSet),
    ("test.ubifs", "ubifs", Expect::StandardSet),
    ("ubi.img", "ubi", Expect::StandardSet),
    ("cramfs.img", "cramfs", Expect::StandardSet),
    ("romfs.img", "romfs", Expect::StandardSet),
    ("yaffs2_le.img", "yaffs2", Expect::StandardSet),
    ("ext2.img.xz", "ext", Expect::StandardSet),
    ("ext4.img.xz", "ext", Expect::StandardSet),
    (
        "bzImage_gzip",
        "bzimage",
        Expect::PayloadContains(b"Linux version 5.4.72"),
    ),
    (
        "bzImage_xz",
        "bzimage",
        Expect::PayloadContains(b"Linux version 5.4.72"),
    ),
];

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("FWCERT_CORPUS") {
        Some(dir) => Some(PathBuf::from(dir).join("formats")),
        None => {
            println!("skipped: set FWCERT_CORPUS to the shared corpus folder to run the corpus tests");
            None
        }
    }
}

fn check(u: &Unpacked, file: &str, format: &str, expect: &Expect) -> Result<(), String> {
    if !u.containers.iter().any(|c| c.format == format) {
        return Err(format!(
            "{file}: no {format} container found; containers: {:?}",
            paths(u)
        ));
    }
    if !u.complete() {
        return Err(format!("{file}: unpack incomplete: {:?}", u.incompleteness()));
    }
    match expect {
        Expect::StandardSet => {
            for want in STANDARD_SET {
                let found = u
                    .filesystems
                    .iter()
                    .any(|fs| fs.tree.files().any(|(p, _)| p.ends_with(&format!("/{want}"))));
                if !found {
                    let listing: Vec<String> = u
                        .filesystems
                        .iter()
                        .flat_map(|fs| fs.tree.iter().map(|(p, _)| p.to_string()).collect::<Vec<_>>())
                        .collect();
                    return Err(format!("{file}: `{want}` missing; trees hold {listing:?}"));
                }
            }
        }
        Expect::FitImages(n) => {
            let fit = u.containers.iter().find(|c| c.format == "fit").ok_or("no fit")?;
            let listed = fit.facts.get("images").map_or(0, |s| s.split("; ").count());
            if listed != *n {
                return Err(format!(
                    "{file}: FIT lists {listed} images, expected {n}: {:?}",
                    fit.facts
                ));
            }
        }
        Expect::PayloadContains(needle) => {
            let found = u
                .payloads
                .iter()
                .any(|p| memchr::memmem::find(&p.data, needle).is_some());
            if !found {
                return Err(format!(
                    "{file}: no payload contains {:?}",
                    String::from_utf8_lossy(needle)
                ));
            }
        }
        Expect::Payloads(n) => {
            let got = u.payloads.iter().filter(|p| !p.data.is_empty()).count();
            if got < *n {
                return Err(format!("{file}: {got} non-empty payloads, expected at least {n}"));
            }
        }
    }
    Ok(())
}

fn paths(u: &Unpacked) -> Vec<String> {
    u.containers.iter().map(|c| c.chain.to_string()).collect()
}

#[test]
fn corpus_format_files_unpack_completely() {
    let Some(dir) = corpus() else { return };
    let mut failures = Vec::new();
    for (file, format, expect) in CASES {
        let path = dir.join(file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let u = unpack(bytes.into(), file, &UnpackOptions::default());
        if let Err(why) = check(&u, file, format, expect) {
            failures.push(why);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
