//! tar archives: POSIX ustar, GNU (long names `L`/`K`, base-256 numbers)
//! and pax extended headers (`path`, `linkpath`, `size`).
//!
//! Recognised by "ustar" at offset 257 and a matching header checksum.
//! `parse` hops from header to header (no data is read) to find the two
//! zero blocks that end the archive, so the extent is exact. fwcert's own
//! walker is used rather than the `tar` crate so that a lying size or a
//! truncated archive becomes a reported problem with an offset, and so
//! that names reach the [`Sink`] exactly as stored.

use std::collections::BTreeMap;

use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, shared,
};
use crate::unpack::tree::{Node, NodeKind, Sink, normalize};

pub const FORMAT: Format = Format {
    name: "tar",
    magics: &[Magic {
        bytes: b"ustar",
        at: 257,
    }],
    parse,
    extract,
    carve: true,
};

const BLOCK: usize = 512;
/// tar writes in records of 20 blocks; trailing zero blocks up to the
/// record's end belong to the archive.
const RECORD: usize = 20 * BLOCK;
/// Largest GNU long-name or pax header fwcert reads (they hold one path).
const MAX_META: usize = 1 << 20;

/// One member, after long-name and pax records are applied.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    link: String,
    kind: u8,
    mode: u32,
    uid: u32,
    gid: u32,
    major: u32,
    minor: u32,
    data_start: usize,
    data_len: usize,
}

struct Walk {
    entries: Vec<Entry>,
    end: usize,
    /// Why the walk ended before the end-of-archive blocks.
    stopped: Option<String>,
    /// Entries that were skipped, with the reason.
    skipped: Vec<String>,
}

/// A numeric field: octal text (NUL/space padded) or GNU base-256.
fn number(field: &[u8]) -> Option<u64> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        // Base-256: the remaining bits, big-endian. Negative values are nonsense here.
        if first & 0x40 != 0 {
            return None;
        }
        let mut v: u64 = u64::from(first & 0x3f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

fn text(field: &[u8]) -> String {
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).to_string()
}

/// Whether the header's checksum matches (unsigned, or the signed sum some
/// old tars wrote).
fn checksum_ok(h: &[u8]) -> bool {
    let Some(stored) = number(&h[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || stored as i64 == signed
}

/// pax records: `LEN key=value\n` repeated.
fn pax(data: &[u8]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = data;
    while !rest.is_empty() {
        let Some(space) = memchr::memchr(b' ', rest) else { break };
        let Some(len) = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            break;
        };
        if len <= space + 1 || len > rest.len() {
            break;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(eq) = memchr::memchr(b'=', record) {
            out.insert(
                String::from_utf8_lossy(&record[..eq]).to_string(),
                String::from_utf8_lossy(&record[eq + 1..]).to_string(),
            );
        }
        rest = &rest[len..];
    }
    out
}

fn walk(d: &[u8]) -> Walk {
    let mut w = Walk {
        entries: Vec::new(),
        end: d.len(),
        stopped: None,
        skipped: Vec::new(),
    };
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    let mut pax_next: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let Some(h) = d.get(pos..pos + BLOCK) else {
            w.stopped = Some(if pos >= d.len() {
                "archive ends without its end-of-archive blocks".to_string()
            } else {
                format!("header at {pos:#x} is truncated")
            });
            return w;
        };
        if h.iter().all(|&b| b == 0) {
            // End of archive; swallow zero blocks up to the record's end.
            let mut end = pos + BLOCK;
            let record_end = pos.div_ceil(RECORD).max(1) * RECORD;
            while end < record_end && d.get(end..end + BLOCK).is_some_and(|b| b.iter().all(|&x| x == 0)) {
                end += BLOCK;
            }
            w.end = end;
            return w;
        }
        if !checksum_ok(h) {
            w.stopped = Some(format!("header at {pos:#x} has a bad checksum"));
            return w;
        }
        let Some(size) = number(&h[124..136]) else {
            w.stopped = Some(format!("header at {pos:#x} has an unreadable size"));
            return w;
        };
        let kind = h[156];
        let size = match pax_next.get("size").and_then(|s| s.parse::<u64>().ok()) {
            Some(s) if !matches!(kind, b'x' | b'g' | b'L' | b'K') => s,
            _ => size,
        };
        let data_start = pos + BLOCK;
        let available = d.len().saturating_sub(data_start);
        let data_len = usize::try_from(size).unwrap_or(usize::MAX);
        let name_for_errors = text(&h[0..100]);
        if data_len > available {
            w.stopped = Some(format!(
                "member `{name_for_errors}` at {pos:#x} declares {size} data bytes, only {available} present"
            ));
            return w;
        }
        let data = &d[data_start..data_start + data_len];
        pos = data_start + data_len.div_ceil(BLOCK) * BLOCK;
        match kind {
            b'L' | b'K' | b'x' => {
                if data_len > MAX_META {
                    w.skipped.push(format!(
                        "extended header at {:#x} is larger than {MAX_META} bytes",
                        data_start - BLOCK
                    ));
                    continue;
                }
                match kind {
                    b'L' => long_name = Some(text(data)),
                    b'K' => long_link = Some(text(data)),
                    _ => pax_next = pax(data),
                }
                continue;
            }
            // Global pax headers and volume labels describe no file.
            b'g' | b'V' => continue,
            _ => {}
        }
        let ustar = &h[257..263] == b"ustar\0";
        let mut name = text(&h[0..100]);
        if ustar {
            let prefix = text(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let name = pax_next.remove("path").or(long_name.take()).unwrap_or(name);
        let link = pax_next
            .remove("linkpath")
            .or(long_link.take())
            .unwrap_or_else(|| text(&h[157..257]));
        pax_next.clear();
        let field = |at: usize, len: usize| number(&h[at..at + len]).unwrap_or(0) as u32;
        w.entries.push(Entry {
            name,
            link,
            kind,
            mode: field(100, 8) & 0o7777,
            uid: field(108, 8),
            gid: field(116, 8),
            major: field(329, 8),
            minor: field(337, 8),
            data_start,
            data_len,
        });
    }
}

/// The regular files of an in-memory tar archive, as (name, bytes), for
/// readers of small archives inside files (a package's `control.tar`);
/// the unpacker uses [`extract`]. A damaged archive gives what precedes
/// the damage.
pub fn files(d: &[u8]) -> Vec<(String, &[u8])> {
    if d.get(257..262) != Some(&b"ustar"[..]) {
        return Vec::new();
    }
    walk(d)
        .entries
        .into_iter()
        .filter(|e| matches!(e.kind, b'0' | b'\0' | b'7'))
        .filter_map(|e| Some((e.name, d.get(e.data_start..e.data_start.checked_add(e.data_len)?)?)))
        .collect()
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = d.get(..BLOCK).ok_or_else(|| Reject::new("header truncated"))?;
    if &h[257..262] != b"ustar" {
        return Err(Reject::new("no ustar magic"));
    }
    if !checksum_ok(h) {
        return Err(Reject::new("header checksum mismatch"));
    }
    let w = walk(d);
    let mut facts = BTreeMap::new();
    facts.insert(
        "variant".into(),
        if &h[257..263] == b"ustar\0" { "ustar" } else { "gnu" }.into(),
    );
    facts.insert("members".into(), w.entries.len().to_string());
    if let Some(why) = &w.stopped {
        facts.insert("truncated".into(), why.clone());
    }
    Ok(Parsed {
        len: Some(w.end as u64),
        // The first header's checksum matched.
        confidence: Confidence::High,
        description: format!("tar archive, {} members", w.entries.len()),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let w = walk(d);
    let mut out = Extraction::default();
    if let Some(why) = w.stopped {
        out.problem(why);
    }
    out.problems.extend(w.skipped);
    let source = ctx.source.clone();
    let mut sink = Sink::new(ctx.budget);
    for e in w.entries {
        if let Err(b) = ctx.deadline.check() {
            out.problem(b.to_string());
            break;
        }
        let data = &d[e.data_start..e.data_start + e.data_len];
        let kind = match e.kind {
            b'0' | b'\0' | b'7' => NodeKind::File(shared(&source, data)),
            // Hard-link targets name a path from the archive's root.
            b'1' => NodeKind::HardLink(normalize(&e.link).unwrap_or(e.link.clone())),
            b'2' => NodeKind::Symlink(e.link.clone()),
            b'3' => NodeKind::CharDevice {
                major: e.major,
                minor: e.minor,
            },
            b'4' => NodeKind::BlockDevice {
                major: e.major,
                minor: e.minor,
            },
            b'5' => NodeKind::Dir,
            b'6' => NodeKind::Fifo,
            other => {
                out.problem(format!(
                    "member `{}`: type {:?} is not supported; skipped",
                    e.name,
                    char::from(other)
                ));
                continue;
            }
        };
        let node = Node {
            kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
        };
        if let Err(b) = sink.add(&e.name, node) {
            out.problem(b.to_string());
            break;
        }
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// Build one ustar header block, for tests.
#[cfg(test)]
pub fn header(name: &str, kind: u8, size: usize, link: &str) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// Build a tar archive from (name, type, data, link) members, for tests.
#[cfg(test)]
pub fn build(members: &[(&str, u8, &[u8], &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, kind, data, link) in members {
        out.extend_from_slice(&header(name, *kind, data.len(), link));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::{round_trip, run, tree_of};

    #[test]
    fn members_of_every_kind_round_trip() {
        let long = "d/".repeat(80) + "deep.txt";
        let a = build(&[
            ("etc/", b'5', b"", ""),
            ("etc/passwd", b'0', b"root:x:0:0::/root:/bin/sh\n", ""),
            ("bin/sh", b'2', b"", "busybox"),
            ("bin/ash", b'1', b"", "etc/passwd"),
            ("././@LongLink", b'L', long.as_bytes(), ""),
            ("ignored", b'0', b"long", ""),
        ]);
        let x = round_trip(&FORMAT, &a, &[0xAA; 700], Confidence::High);
        let t = tree_of(&x);
        assert_eq!(
            t.get("/bin/ash").map(|n| &n.kind),
            Some(&NodeKind::HardLink("/etc/passwd".into()))
        );
        assert_eq!(t.get(&format!("/{long}")).and_then(Node::data), Some(&b"long"[..]));
    }

    #[test]
    fn stored_files_share_the_image_bytes() {
        let a = build(&[("etc/passwd", b'0', b"root:x:0:0::/root:/bin/sh\n", "")]);
        let image = crate::unpack::Bytes::from(a);
        let u = crate::unpack::unpack(image.clone(), "t.tar", &Default::default());
        let file = u.filesystems[0].tree.get("/etc/passwd").and_then(Node::data).unwrap();
        assert_eq!(file, b"root:x:0:0::/root:/bin/sh\n");
        assert!(image.as_ptr_range().contains(&file.as_ptr()), "the file was copied");
    }

    #[test]
    fn pax_path_and_size_override_the_header() {
        let rec = |k: &str, v: &str| {
            let body = format!(" {k}={v}\n");
            let mut n = body.len() + 1;
            while n.to_string().len() + body.len() != n {
                n = n.to_string().len() + body.len();
            }
            format!("{n}{body}")
        };
        let pax_data = rec("path", "usr/share/pax-name.txt");
        let a = build(&[
            ("PaxHeader", b'x', pax_data.as_bytes(), ""),
            ("short", b'0', b"data", ""),
        ]);
        let (_, x) = run(&FORMAT, &a);
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert!(tree_of(&x).get("/usr/share/pax-name.txt").is_some());
    }

    #[test]
    fn base256_sizes_are_read() {
        let mut f = [0u8; 12];
        f[0] = 0x80;
        f[11] = 5;
        assert_eq!(number(&f), Some(5));
        assert_eq!(number(b"0000644 \0"), Some(0o644));
        assert_eq!(number(b"zz"), None);
    }

    #[test]
    fn traversal_absolute_and_symlink_escapes_are_refused() {
        let a = build(&[
            ("../../etc/passwd", b'0', b"evil", ""),
            ("/etc/shadow", b'0', b"abs", ""),
            ("etc", b'2', b"", "/tmp"),
            ("etc/passwd", b'0', b"through link", ""),
        ]);
        let (_, x) = run(&FORMAT, &a);
        let x = x.unwrap();
        assert!(x.problems.iter().any(|p| p.contains("escapes")), "{:?}", x.problems);
        let t = tree_of(&x);
        // The absolute name lands inside the tree; the later symlink `etc`
        // collides with the directory it created and is refused, so the
        // next member lands in that real directory.
        assert_eq!(t.get("/etc/shadow").and_then(Node::data), Some(&b"abs"[..]));
        assert_eq!(t.get("/etc").map(|n| &n.kind), Some(&NodeKind::Dir));
        assert!(x.problems.len() >= 2, "{:?}", x.problems);

        let a = build(&[("lnk", b'2', b"", "/etc"), ("lnk/passwd", b'0', b"x", "")]);
        let (_, x) = run(&FORMAT, &a);
        let x = x.unwrap();
        assert!(
            x.problems.iter().any(|p| p.contains("not a directory")),
            "{:?}",
            x.problems
        );
        assert!(tree_of(&x).get("/lnk/passwd").is_none());
    }

    #[test]
    fn truncated_and_lying_archives_are_partial_without_panicking() {
        let a = build(&[("a", b'0', &[1u8; 1000], ""), ("b", b'0', b"bb", "")]);
        for cut in [512, 700, 1024, 1536, 1600, 2048, a.len() - BLOCK - 1] {
            let (_, x) = run(&FORMAT, &a[..cut]);
            assert!(!x.unwrap().problems.is_empty(), "cut {cut}");
        }
        let mut lie = build(&[("a", b'0', b"tiny", "")]);
        let h = header("a", b'0', 0o77777777, "");
        lie[..BLOCK].copy_from_slice(&h);
        let (_, x) = run(&FORMAT, &lie);
        assert!(x.unwrap().problems[0].contains("declares"));
        let mut bad = a.clone();
        bad[148] ^= 1;
        assert!(parse(&bad).is_err());
    }
}
