//! 7-Zip archives, read with the pure-Rust `sevenz-rust2` crate
//! (Apache-2.0; LZMA, LZMA2, BZip2, copy and the BCJ filters, no AES).
//!
//! The 32-byte signature header is ours to check: magic `7z BC AF 27 1C`,
//! a version, then a CRC-32 over the next 20 bytes, which give the offset
//! and size of the closing header relative to the end of the signature
//! header. That fixes the archive's extent, and a matching CRC makes a hit
//! certain. The crate then reads the headers with a memory limit for its
//! dictionaries, and every entry is streamed through our budget: its
//! declared size is never trusted for an allocation. Encrypted archives
//! are reported as not analysed, never as empty.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use sevenz_rust2::{Archive, ArchiveReader, Password};

use crate::unpack::budget::BudgetExceeded;
use crate::unpack::bytes::{le_u32, le_u64};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, need,
};
use crate::unpack::tree::{Node, Sink};

pub const FORMAT: Format = Format {
    name: "7z",
    magics: &[Magic::at_start(MAGIC)],
    parse,
    extract,
    carve: true,
};

const MAGIC: &[u8] = &[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c];
const SIGNATURE_HEADER: u64 = 32;
/// Dictionary and header memory the reader may use, in KiB: real 7z
/// dictionaries for firmware are a few MiB; 256 MiB covers `-mx9`.
const MEMORY_LIMIT_KB: usize = 256 * 1024;

/// The archive's total length from its signature header.
fn declared_len(d: &[u8]) -> Result<(u64, bool, u8), Reject> {
    if d.get(..6) != Some(MAGIC) {
        return Err(Reject::new("not a 7z signature"));
    }
    let major = need(d.get(6).copied(), "version")?;
    let crc = need(le_u32(d, 8), "start header CRC")?;
    let next_offset = need(le_u64(d, 12), "next header offset")?;
    let next_size = need(le_u64(d, 20), "next header size")?;
    need(le_u32(d, 28), "next header CRC")?;
    let crc_ok = crc32fast::hash(&d[12..32]) == crc;
    let len = SIGNATURE_HEADER
        .checked_add(next_offset)
        .and_then(|l| l.checked_add(next_size))
        .ok_or_else(|| Reject::new("next header lies beyond any file size"))?;
    Ok((len, crc_ok, major))
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let (len, crc_ok, major) = declared_len(d)?;
    if major != 0 {
        return Err(Reject::new(format!("unknown 7z major version {major}")));
    }
    if !crc_ok {
        return Err(Reject::new("start header CRC does not match"));
    }
    let mut facts = BTreeMap::new();
    facts.insert("length".into(), len.to_string());
    Ok(Parsed {
        len: Some(len.min(d.len() as u64)),
        confidence: Confidence::High,
        description: format!("7-Zip archive, {len} bytes"),
        facts,
    })
}

/// Why reading stopped inside the crate's entry loop.
enum Stop {
    Budget(BudgetExceeded),
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let (len, _, _) = declared_len(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    if (d.len() as u64) < len {
        out.problem(format!("archive truncated: {len} bytes declared, {} present", d.len()));
    }
    // The crate is a dependency reading hostile bytes: a panic inside it is
    // contained here and becomes a reason, not a crash.
    let read = catch_unwind(AssertUnwindSafe(|| read_entries(d, ctx, &mut out)));
    match read {
        Ok(Ok(())) => Ok(out),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ExtractError::Corrupt(
            "the 7z reader failed on malformed input (contained panic)".into(),
        )),
    }
}

fn read_entries(d: &[u8], ctx: &mut ExtractCtx, out: &mut Extraction) -> Result<(), ExtractError> {
    let password = Password::empty();
    let archive = Archive::read_with_memory_limit(&mut Cursor::new(d), &password, MEMORY_LIMIT_KB)
        .map_err(|e| classify(&e.to_string()))?;
    let mut reader = ArchiveReader::from_archive(archive, Cursor::new(d), password);
    let deadline = ctx.deadline.clone();
    let mut sink = Sink::new(ctx.budget);
    let mut stop: Option<Stop> = None;
    let result = reader.for_each_entries(|entry, data| {
        if let Err(b) = deadline.check() {
            stop = Some(Stop::Budget(b));
            return Ok(false);
        }
        if entry.is_directory() {
            if let Err(b) = sink.add(entry.name(), Node::dir(0o755)) {
                stop = Some(Stop::Budget(b));
                return Ok(false);
            }
            return Ok(true);
        }
        // Read one byte more than the budget allows, to tell "fits" from
        // "too big" without trusting the declared size.
        let allowed = sink.budget().remaining_bytes();
        let mut bytes = Vec::new();
        Read::take(&mut *data, allowed.saturating_add(1)).read_to_end(&mut bytes)?;
        if bytes.len() as u64 > allowed {
            stop = Some(Stop::Budget(sink.budget().refuse_bytes()));
            return Ok(false);
        }
        if let Err(b) = sink.add(entry.name(), Node::file(bytes, 0o100644)) {
            stop = Some(Stop::Budget(b));
            return Ok(false);
        }
        Ok(true)
    });
    if let Some(Stop::Budget(b)) = stop {
        out.problem(format!("stopped: {b}"));
    } else if let Err(e) = result {
        out.problem(match classify(&e.to_string()) {
            ExtractError::Unsupported(m) => format!("unsupported: {m}"),
            other => format!("entries could not all be read: {other}"),
        });
    }
    finish_tree(sink, out);
    Ok(())
}

/// Encrypted content is "not analysed", anything else is damage.
fn classify(message: &str) -> ExtractError {
    let lower = message.to_lowercase();
    if lower.contains("password") || lower.contains("aes") || lower.contains("encrypt") {
        ExtractError::Unsupported(format!("encrypted 7z content is not analysed ({message})"))
    } else {
        ExtractError::Corrupt(format!("7z: {message}"))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use sevenz_rust2::{ArchiveEntry, ArchiveWriter};

    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).expect("in-memory writer");
        w.push_archive_entry::<&[u8]>(ArchiveEntry::new_directory("etc"), None)
            .expect("in-memory write");
        for (name, data) in files {
            w.push_archive_entry(ArchiveEntry::new_file(name), Some(*data))
                .expect("in-memory write");
        }
        w.finish().expect("in-memory write").into_inner()
    }

    #[test]
    fn files_and_directories_come_out_with_the_exact_extent() {
        let mut img = build(&[("etc/passwd", b"root::0:0::/root:/bin/sh\n"), ("big", &[b'x'; 100_000])]);
        let archive_len = img.len() as u64;
        img.extend_from_slice(b"trailing bytes that are not the archive");
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.len, Some(archive_len));
        let x = x.expect("extracts");
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let tree = tree_of(&x);
        assert_eq!(
            tree.get("/etc/passwd").and_then(|n| n.data()),
            Some(&b"root::0:0::/root:/bin/sh\n"[..])
        );
        assert_eq!(tree.get("/big").and_then(|n| n.data()).map(<[u8]>::len), Some(100_000));
    }

    #[test]
    fn the_engine_carves_an_archive_inside_a_blob() {
        let mut blob = vec![0x5a; 300];
        blob.extend(build(&[("etc/shadow", b"root:$1$x$y:1:0:99999:7:::\n")]));
        let u = crate::unpack::unpack(blob.into(), "fw.bin", &Default::default());
        assert!(
            u.containers.iter().any(|c| c.chain.to_string() == "fw.bin@0x12c:7z"),
            "{:?}",
            u.containers
        );
        assert!(u.complete(), "{:?}", u.incompleteness());
    }

    #[test]
    fn damaged_archives_are_rejected_or_partial_never_a_panic() {
        let img = build(&[("a", &[b'a'; 5000]), ("b", b"bbbb")]);
        let mut crc_broken = img.clone();
        crc_broken[14] ^= 0xff;
        assert!(parse(&crc_broken).is_err());
        for cut in [40, img.len() / 2, img.len() - 1] {
            if let Some(x) = crate::unpack::formats::testing::survive(parse, extract, &img[..cut]) {
                assert!(!x.problems.is_empty(), "cut at {cut} must say what is missing");
            }
        }
        for at in (32..img.len()).step_by(7) {
            let mut m = img.clone();
            m[at] ^= 0x55;
            let _ = crate::unpack::formats::testing::survive(parse, extract, &m);
        }
    }

    #[test]
    fn a_bomb_stops_at_the_size_budget() {
        let img = build(&[("zeros", &vec![0u8; 8 << 20])]);
        let x = crate::unpack::formats::testing::run_with_byte_budget(parse, extract, &img, 1 << 20)
            .expect("partial, not an error");
        assert!(x.problems.iter().any(|m| m.contains("size budget")), "{:?}", x.problems);
    }
}
