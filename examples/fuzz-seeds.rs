//! Write fuzzing seeds for the formats that neither the samples, the test
//! fixtures nor the corpus hold, built with fwcert's own builders (and the
//! 7z writer the tests use), so that each fuzz target starts past its
//! magic: `cargo run --example fuzz-seeds DIR` (`fuzz/campaign.sh` does).
use std::io::Cursor;

use fwcert::samples::Entry;
use fwcert::unpack::formats::{hikvision, lzma, squashfs, uimage, xz};

fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "seeds".into()));
    std::fs::create_dir_all(&dir)?;
    let passwd = b"root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\n".as_slice();
    let script = b"#!/bin/sh\ntelnetd -l /bin/sh\n".as_slice();
    let kernel = uimage::build("Linux-3.10", 2, 3, 1, &lzma::compress(&[0x5a; 4096])?);
    let file = |path, data: &[u8]| Entry::File {
        path,
        mode: 0o755,
        data: data.to_vec(),
    };
    let rootfs = fwcert::samples::squashfs(
        &[
            Entry::Dir {
                path: "/etc",
                mode: 0o755,
            },
            Entry::Dir {
                path: "/etc/init.d",
                mode: 0o755,
            },
            file("/etc/passwd", passwd),
            file("/etc/init.d/rcS", script),
        ],
        &squashfs::GZIP_CODEC,
    );
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "digicap.dav",
            hikvision::build(&[("uImage", &kernel), ("rootfs.sqfs", &rootfs)]),
        ),
        ("rootfs.sqfs.xz", xz::compress(&rootfs)?),
        ("rootfs.sqfs.lzma", lzma::compress(&rootfs)?),
        (
            "rootfs.7z",
            seven_zip(&[("etc/passwd", passwd), ("etc/init.d/rcS", script)])?,
        ),
    ];
    for (name, bytes) in seeds {
        let path = dir.join(name);
        std::fs::write(&path, bytes)?;
        println!("{}", path.display());
    }
    Ok(())
}

fn seven_zip(files: &[(&str, &[u8])]) -> std::io::Result<Vec<u8>> {
    use sevenz_rust2::{ArchiveEntry, ArchiveWriter};
    let err = |e: sevenz_rust2::Error| std::io::Error::other(e.to_string());
    let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).map_err(err)?;
    w.push_archive_entry::<&[u8]>(ArchiveEntry::new_directory("etc"), None)
        .map_err(err)?;
    for (name, data) in files {
        w.push_archive_entry(ArchiveEntry::new_file(name), Some(*data))
            .map_err(err)?;
    }
    Ok(w.finish()?.into_inner())
}
