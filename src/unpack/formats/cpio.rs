//! cpio archives, the format of Linux initramfs images: "newc" (`070701`),
//! "crc" (`070702`), portable ASCII "odc" (`070707`) and the old binary
//! format (`0o070707` as a 16-bit word, little- or big-endian).
//!
//! The archive ends at the entry named `TRAILER!!!`. `parse` walks the
//! headers to find it, so the extent is exact; nothing is decoded. The old
//! binary magic is only two bytes, so it is a separate row that is only
//! recognised at the start of a file, never carved.

use std::collections::{BTreeMap, HashMap};

use crate::unpack::bytes::{be_u16, le_u16};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, S_IFLNK, finish_tree, need,
    shared, special_kind,
};
use crate::unpack::tree::{Node, NodeKind, Sink, normalize};

pub const FORMAT: Format = Format {
    name: "cpio",
    // One shared prefix for newc (070701), crc (070702) and odc (070707):
    // the magic table's SIMD searcher takes at most 64 patterns, and
    // `parse` tells the variants apart (and rejects any other).
    magics: &[Magic::at_start(b"07070")],
    parse,
    extract,
    carve: true,
};

/// The old binary format: its two-byte magic matches too much to carve.
pub const FORMAT_BINARY: Format = Format {
    name: "cpio",
    magics: &[Magic::at_start(&[0xc7, 0x71]), Magic::at_start(&[0x71, 0xc7])],
    parse,
    extract,
    carve: false,
};

const TRAILER: &str = "TRAILER!!!";
/// Longest entry name accepted; Linux's PATH_MAX is 4096.
const MAX_NAME: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Newc,
    Crc,
    Odc,
    BinLe,
    BinBe,
}

impl Variant {
    fn detect(d: &[u8]) -> Option<Variant> {
        match d.get(..6) {
            Some(b"070701") => return Some(Variant::Newc),
            Some(b"070702") => return Some(Variant::Crc),
            Some(b"070707") => return Some(Variant::Odc),
            _ => {}
        }
        match d.get(..2) {
            Some([0xc7, 0x71]) => Some(Variant::BinLe),
            Some([0x71, 0xc7]) => Some(Variant::BinBe),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Variant::Newc => "newc",
            Variant::Crc => "crc",
            Variant::Odc => "odc",
            Variant::BinLe => "binary little-endian",
            Variant::BinBe => "binary big-endian",
        }
    }
}

/// One header, with offsets relative to the archive start.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    rdev_major: u32,
    rdev_minor: u32,
    check: u32,
    data_start: usize,
    data_len: usize,
    /// Set when the declared data runs past the archive's end; `data_len`
    /// is then what is present.
    short: Option<String>,
    /// Where the next header starts.
    next: usize,
}

fn hex(d: &[u8], at: usize, what: &str) -> Result<u32, String> {
    let field = d.get(at..at + 8).ok_or_else(|| format!("header truncated at {what}"))?;
    let text = std::str::from_utf8(field).map_err(|_| format!("{what} is not hexadecimal"))?;
    u32::from_str_radix(text, 16).map_err(|_| format!("{what} {text:?} is not hexadecimal"))
}

fn octal(d: &[u8], at: usize, len: usize, what: &str) -> Result<u64, String> {
    let field = d
        .get(at..at + len)
        .ok_or_else(|| format!("header truncated at {what}"))?;
    let text = std::str::from_utf8(field).map_err(|_| format!("{what} is not octal"))?;
    u64::from_str_radix(text, 8).map_err(|_| format!("{what} {text:?} is not octal"))
}

fn align(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// Read the header at `pos`. Errors say what is wrong, for the report.
fn entry(d: &[u8], pos: usize, v: Variant) -> Result<Entry, String> {
    if Variant::detect(&d[pos.min(d.len())..]) != Some(v) {
        return Err(format!("no {} cpio header at {pos:#x}", v.name()));
    }
    let (hdr_len, ino, mode, uid, gid, nlink, rdev, check, namesize, filesize, name_align, data_align) = match v {
        Variant::Newc | Variant::Crc => {
            let h = |i: usize, what: &str| hex(d, pos + 6 + 8 * i, what);
            let rdev = (h(9, "rdevmajor")?, h(10, "rdevminor")?);
            (
                110,
                u64::from(h(0, "ino")?),
                h(1, "mode")?,
                h(2, "uid")?,
                h(3, "gid")?,
                h(4, "nlink")?,
                rdev,
                h(12, "check")?,
                h(11, "namesize")? as usize,
                h(6, "filesize")? as usize,
                4,
                4,
            )
        }
        Variant::Odc => {
            let o = |at: usize, len: usize, what: &str| octal(d, pos + at, len, what);
            let rdev = o(42, 6, "rdev")? as u32;
            (
                76,
                o(12, 6, "ino")?,
                o(18, 6, "mode")? as u32,
                o(24, 6, "uid")? as u32,
                o(30, 6, "gid")? as u32,
                o(36, 6, "nlink")? as u32,
                (rdev >> 8, rdev & 0xff),
                0,
                o(59, 6, "namesize")? as usize,
                o(65, 11, "filesize")? as usize,
                1,
                1,
            )
        }
        Variant::BinLe | Variant::BinBe => {
            let w = |i: usize| {
                let at = pos + 2 * i;
                let r = if v == Variant::BinLe {
                    le_u16(d, at)
                } else {
                    be_u16(d, at)
                };
                r.map(u32::from).ok_or_else(|| "header truncated".to_string())
            };
            let rdev = w(7)?;
            (
                26,
                u64::from(w(2)?),
                w(3)?,
                w(4)?,
                w(5)?,
                w(6)?,
                (rdev >> 8, rdev & 0xff),
                0,
                w(10)? as usize,
                // The 32-bit size is stored as two words, most significant first.
                ((w(11)? << 16) | w(12)?) as usize,
                2,
                2,
            )
        }
    };
    if namesize == 0 || namesize > MAX_NAME {
        return Err(format!("entry at {pos:#x} has an implausible name length {namesize}"));
    }
    let name_start = pos + hdr_len;
    let name_bytes = d
        .get(name_start..name_start + namesize)
        .ok_or_else(|| format!("entry at {pos:#x}: name runs past the end of the archive"))?;
    let name_end = memchr::memchr(0, name_bytes).unwrap_or(name_bytes.len());
    let name = String::from_utf8_lossy(&name_bytes[..name_end]).to_string();
    let data_start = align(name_start + namesize, name_align);
    if data_start > d.len() {
        return Err(format!(
            "entry `{name}` at {pos:#x}: header runs past the end of the archive"
        ));
    }
    let available = d.len() - data_start;
    let short = (filesize > available)
        .then(|| format!("entry `{name}` at {pos:#x} declares {filesize} data bytes, only {available} present"));
    let filesize = filesize.min(available);
    let data_end = data_start + filesize;
    Ok(Entry {
        name,
        ino,
        mode,
        uid,
        gid,
        nlink,
        rdev_major: rdev.0,
        rdev_minor: rdev.1,
        check,
        data_start,
        data_len: filesize,
        short,
        next: align(data_end, data_align),
    })
}

/// What a header walk found: entries up to the trailer, where the archive
/// ends, and why the walk stopped early if it did.
struct Walk {
    entries: Vec<Entry>,
    end: usize,
    stopped: Option<String>,
}

fn walk(d: &[u8], v: Variant) -> Walk {
    let mut entries = Vec::new();
    let mut pos = 0;
    loop {
        match entry(d, pos, v) {
            Ok(e) if e.name == TRAILER => {
                return Walk {
                    entries,
                    end: e.next.min(d.len()),
                    stopped: None,
                };
            }
            Ok(e) => {
                pos = e.next;
                let short = e.short.clone();
                entries.push(e);
                if let Some(why) = short {
                    return Walk {
                        entries,
                        end: d.len(),
                        stopped: Some(why),
                    };
                }
            }
            Err(why) => {
                let why = if pos >= d.len() {
                    "archive ends without a TRAILER!!! entry".to_string()
                } else {
                    why
                };
                return Walk {
                    entries,
                    end: d.len(),
                    stopped: Some(why),
                };
            }
        }
    }
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let v = need(Variant::detect(d), "magic")?;
    // The first header must be sound, or this was a chance match.
    let first = entry(d, 0, v).map_err(Reject)?;
    let w = walk(d, v);
    let mut facts = BTreeMap::new();
    facts.insert("variant".into(), v.name().into());
    facts.insert("entries".into(), w.entries.len().to_string());
    if let Some(why) = &w.stopped {
        facts.insert("truncated".into(), why.clone());
    }
    let confidence = if w.stopped.is_none() && !first.name.is_empty() {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    Ok(Parsed {
        len: Some(w.end as u64),
        confidence,
        description: format!("cpio archive ({}), {} entries", v.name(), w.entries.len()),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let v = Variant::detect(d).ok_or_else(|| ExtractError::Corrupt("not a cpio magic".into()))?;
    let w = walk(d, v);
    let mut out = Extraction::default();
    if let Some(why) = w.stopped {
        out.problem(why);
    }
    let source = ctx.source.clone();
    let mut sink = Sink::new(ctx.budget);
    // newc stores a hard-linked file's data once, with its last link; the
    // earlier links are empty entries sharing the inode number.
    let mut pending_links: HashMap<u64, Vec<Entry>> = HashMap::new();
    for e in w.entries {
        if ctx.deadline.check().is_err() {
            out.problem("time budget exceeded while listing the archive");
            break;
        }
        if e.name == "." {
            continue;
        }
        let data = &d[e.data_start..e.data_start + e.data_len];
        if v == Variant::Crc {
            let sum = data.iter().fold(0u32, |a, &b| a.wrapping_add(u32::from(b)));
            if sum != e.check {
                out.problem(format!(
                    "`{}`: data checksum mismatch (header {:#x}, computed {sum:#x})",
                    e.name, e.check
                ));
            }
        }
        let kind = match special_kind(e.mode, e.rdev_major, e.rdev_minor) {
            Some(k) => k,
            None if e.mode & 0o170000 == S_IFLNK => NodeKind::Symlink(String::from_utf8_lossy(data).to_string()),
            None => {
                let newc = matches!(v, Variant::Newc | Variant::Crc);
                if newc && e.nlink > 1 && data.is_empty() {
                    pending_links.entry(e.ino).or_default().push(e);
                    continue;
                }
                NodeKind::File(shared(&source, data))
            }
        };
        let is_file = matches!(kind, NodeKind::File(_));
        if !add(&mut sink, &e, kind, &mut out) {
            return finish(sink, out);
        }
        if is_file && e.nlink > 1 {
            for link in pending_links.remove(&e.ino).unwrap_or_default() {
                // Hard-link targets name a path from the archive's root.
                let target = normalize(&e.name).unwrap_or_else(|_| e.name.clone());
                if !add(&mut sink, &link, NodeKind::HardLink(target), &mut out) {
                    return finish(sink, out);
                }
            }
        }
    }
    // Links whose data never came are empty files, as cpio itself makes them.
    let mut rest: Vec<Entry> = pending_links.into_values().flatten().collect();
    rest.sort_by_key(|e| e.data_start);
    for e in rest {
        if !add(&mut sink, &e, NodeKind::File(Vec::new().into()), &mut out) {
            break;
        }
    }
    finish(sink, out)
}

/// Add one entry; `false` when the budget ran out and extraction must stop.
fn add(sink: &mut Sink, e: &Entry, kind: NodeKind, out: &mut Extraction) -> bool {
    let node = Node {
        kind,
        mode: e.mode & 0o7777,
        uid: e.uid,
        gid: e.gid,
    };
    match sink.add(&e.name, node) {
        Ok(_) => true,
        Err(b) => {
            out.problem(b.to_string());
            false
        }
    }
}

fn finish(sink: Sink, mut out: Extraction) -> Result<Extraction, ExtractError> {
    finish_tree(sink, &mut out);
    Ok(out)
}

/// Build a newc archive from (name, mode, data) entries, for tests.
#[cfg(test)]
pub fn build_newc(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let trailer: (&str, u32, &[u8]) = (TRAILER, 0, b"");
    for (i, (name, mode, data)) in entries.iter().chain(std::iter::once(&trailer)).enumerate() {
        let fields = [
            i as u32 + 1,
            *mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(align(out.len(), 4), 0);
        out.extend_from_slice(data);
        out.resize(align(out.len(), 4), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::{round_trip, run, tree_of};

    fn bin_entry(out: &mut Vec<u8>, be: bool, name: &str, mode: u16, data: &[u8]) {
        let words = [
            0o070707u16,
            0,
            1,
            mode,
            0,
            0,
            1,
            0,
            0,
            0,
            name.len() as u16 + 1,
            (data.len() >> 16) as u16,
            data.len() as u16,
        ];
        for w in words {
            out.extend_from_slice(&if be { w.to_be_bytes() } else { w.to_le_bytes() });
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.resize(align(out.len(), 2), 0);
        out.extend_from_slice(data);
        out.resize(align(out.len(), 2), 0);
    }

    fn odc_entry(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        out.extend_from_slice(
            format!(
                "070707{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:06o}{:011o}{:06o}{:011o}",
                0,
                1,
                mode,
                0,
                0,
                1,
                0,
                0,
                name.len() + 1,
                data.len()
            )
            .as_bytes(),
        );
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(data);
    }

    #[test]
    fn newc_round_trips_with_exact_extent() {
        let a = build_newc(&[
            (".", 0o040755, b""),
            ("etc", 0o040755, b""),
            ("etc/passwd", 0o100644, b"root:x:0:0::/root:/bin/sh\n"),
            ("bin/sh", 0o120777, b"busybox"),
            ("dev/console", 0o020600, b""),
        ]);
        let x = round_trip(&FORMAT, &a, &[0xAA; 100], Confidence::Medium);
        let t = tree_of(&x);
        assert!(matches!(
            t.get("/dev/console").map(|n| &n.kind),
            Some(NodeKind::CharDevice { .. })
        ));
    }

    #[test]
    fn odc_and_both_binary_byte_orders_parse() {
        let mut odc = Vec::new();
        odc_entry(&mut odc, "hello.txt", 0o100644, b"hi");
        odc_entry(&mut odc, TRAILER, 0, b"");
        let mut cases = vec![(&FORMAT, odc)];
        for be in [false, true] {
            let mut b = Vec::new();
            bin_entry(&mut b, be, "hello.txt", 0o100644, b"hi");
            bin_entry(&mut b, be, TRAILER, 0, b"");
            cases.push((&FORMAT_BINARY, b));
        }
        for (fmt, a) in cases {
            let (p, x) = run(fmt, &a);
            assert_eq!(p.len, Some(a.len() as u64));
            let x = x.unwrap();
            assert!(x.problems.is_empty(), "{:?}", x.problems);
            assert_eq!(tree_of(&x).get("/hello.txt").and_then(Node::data), Some(&b"hi"[..]));
        }
    }

    #[test]
    fn traversal_and_absolute_names_are_refused_and_partial() {
        let a = build_newc(&[
            ("../../etc/passwd", 0o100644, b"evil"),
            ("/etc/shadow", 0o100644, b"abs"),
            ("ok", 0o100644, b"fine"),
        ]);
        let (_, x) = run(&FORMAT, &a);
        let x = x.unwrap();
        assert_eq!(x.problems.len(), 1, "{:?}", x.problems);
        assert!(x.problems[0].contains("escapes"));
        let t = tree_of(&x);
        // An absolute name is taken relative to the archive's root.
        assert_eq!(t.get("/etc/shadow").and_then(Node::data), Some(&b"abs"[..]));
        assert!(t.get("/ok").is_some());
    }

    #[test]
    fn nothing_is_written_through_a_symlink() {
        let a = build_newc(&[("etc", 0o120777, b"/tmp"), ("etc/passwd", 0o100644, b"x")]);
        let (_, x) = run(&FORMAT, &a);
        let x = x.unwrap();
        assert!(
            x.problems.iter().any(|p| p.contains("not a directory")),
            "{:?}",
            x.problems
        );
        assert!(tree_of(&x).get("/etc/passwd").is_none());
    }

    #[test]
    fn truncated_and_lying_archives_are_partial_without_panicking() {
        let a = build_newc(&[("a", 0o100644, &[7u8; 300]), ("b", 0o100644, b"bb")]);
        for cut in [7, 50, 110, 120, 200, 400, a.len() - 1] {
            let d = &a[..cut];
            if let Ok(p) = parse(d) {
                let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
                let mut ctx = ExtractCtx {
                    budget: &mut budget,
                    deadline: crate::unpack::budget::Deadline::far(),
                    source: Default::default(),
                };
                let x = extract(d, &p, &mut ctx).unwrap();
                assert!(!x.problems.is_empty(), "cut {cut}");
            }
        }
        // A file size far beyond the archive.
        let mut lie = a.clone();
        lie[6 + 8 * 6..6 + 8 * 7].copy_from_slice(b"7fffffff");
        let (p, x) = run(&FORMAT, &lie);
        assert_eq!(p.confidence, Confidence::Low);
        assert!(x.unwrap().problems[0].contains("declares"));
        // A name length far beyond the archive.
        let mut lie = a;
        lie[6 + 8 * 11..6 + 8 * 12].copy_from_slice(b"00000fff");
        assert!(parse(&lie).is_err());
    }

    #[test]
    fn newc_hard_links_point_at_the_entry_with_data() {
        let mut a = build_newc(&[("bin/ls", 0o100755, b""), ("bin/busybox", 0o100755, b"ELF")]);
        // Same inode, two links; the first entry carries no data.
        for hdr in [0usize, 120] {
            a[hdr + 6..hdr + 14].copy_from_slice(b"00000009");
            a[hdr + 38..hdr + 46].copy_from_slice(b"00000002");
        }
        let (_, x) = run(&FORMAT, &a);
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        assert_eq!(
            t.get("/bin/ls").map(|n| &n.kind),
            Some(&NodeKind::HardLink("/bin/busybox".into()))
        );
    }
}
