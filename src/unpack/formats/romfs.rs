//! ROMFS, the minimal read-only filesystem of small Linux and uClinux
//! systems.
//!
//! Big-endian throughout. The header is `-rom1fs-`, the image size, a
//! checksum (the 32-bit words of the first 512 bytes sum to zero) and a
//! volume name padded to 16 bytes. File headers follow at 16-byte
//! boundaries: `next` (offset of the next header in the same directory; its
//! low 4 bits are the type and an executable bit), `spec` (a directory's
//! first entry, a hard link's target header, or a device number), `size`, a
//! checksum over the header and name, the name padded to 16 bytes, then the
//! data. Directories list `.` and `..` as hard links, which are skipped.
//! ROMFS stores no owners or permissions: directories are 0755, files 0644
//! (0755 when executable).

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::unpack::bytes::be_u32;
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, shared,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "romfs",
    magics: &[Magic::at_start(b"-rom1fs-")],
    parse,
    extract,
    carve: true,
};

const MAX_NAME: usize = 256;

/// Sum of big-endian 32-bit words (the ROMFS checksum).
fn sum(bytes: &[u8]) -> u32 {
    bytes.chunks(4).fold(0u32, |acc, c| {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        acc.wrapping_add(u32::from_be_bytes(w))
    })
}

/// A NUL-terminated name at `at` and where the 16-byte padded field ends.
fn name_at(d: &[u8], at: usize) -> Option<(Vec<u8>, usize)> {
    let field = d.get(at..(at + MAX_NAME).min(d.len()))?;
    let len = memchr::memchr(0, field)?;
    Some((field[..len].to_vec(), at + (len + 1).div_ceil(16) * 16))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub size: u32,
    pub checksum_ok: bool,
    pub volume: String,
    /// Offset of the root directory's first entry.
    pub first: usize,
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    if d.get(..8) != Some(b"-rom1fs-") {
        return Err(Reject::new("not a ROMFS magic"));
    }
    let size = be_u32(d, 8).ok_or_else(|| Reject::new("ROMFS header truncated"))?;
    let (volume, first) = name_at(d, 16).ok_or_else(|| Reject::new("ROMFS volume name is not terminated"))?;
    if (size as usize) < first + 16 {
        return Err(Reject::new(format!("implausible ROMFS size {size}")));
    }
    let checked = d.get(..(size as usize).min(512));
    Ok(Header {
        size,
        checksum_ok: checked.is_some_and(|c| c.len() == (size as usize).min(512) && sum(c) == 0),
        volume: String::from_utf8_lossy(&volume).to_string(),
        first,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let mut facts = BTreeMap::new();
    facts.insert("size".into(), h.size.to_string());
    facts.insert("volume".into(), h.volume.clone());
    facts.insert("checksum_verified".into(), h.checksum_ok.to_string());
    Ok(Parsed {
        len: Some(u64::from(h.size).min(d.len() as u64)),
        confidence: if h.checksum_ok {
            Confidence::High
        } else {
            Confidence::Low
        },
        description: format!("ROMFS \"{}\", {} bytes", h.volume, h.size),
        facts,
    })
}

/// One file header.
#[derive(Debug, Clone)]
struct Entry {
    at: usize,
    next: usize,
    kind: u32,
    exec: bool,
    spec: u32,
    size: usize,
    name: Vec<u8>,
    data: usize,
}

fn entry(d: &[u8], at: usize) -> Result<Entry, String> {
    let f = |o| be_u32(d, at + o).ok_or_else(|| format!("file header at {at:#x} is truncated"));
    let next = f(0)?;
    let (name, data) = name_at(d, at + 16).ok_or_else(|| format!("name at {:#x} is not terminated", at + 16))?;
    if sum(&d[at..data.min(d.len())]) != 0 {
        return Err(format!("file header at {at:#x}: checksum mismatch"));
    }
    Ok(Entry {
        at,
        next: (next & !15) as usize,
        kind: next & 7,
        exec: next & 8 != 0,
        spec: f(4)?,
        size: f(8)? as usize,
        name,
        data,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    if d.len() < h.size as usize {
        out.problem(format!(
            "image truncated: header says {} bytes, {} present",
            h.size,
            d.len()
        ));
    } else if !h.checksum_ok {
        out.problem("ROMFS header checksum mismatch");
    }
    // First pass: every entry with its path, so hard links can name theirs.
    let mut entries: Vec<(String, Entry)> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut dirs = vec![(h.first, String::new())];
    while let Some((first, prefix)) = dirs.pop() {
        if let Err(b) = ctx.deadline.check() {
            out.problem(b.to_string());
            break;
        }
        let mut at = first;
        while at != 0 {
            if !seen.insert(at) {
                out.problem(format!("`{prefix}/`: file header {at:#x} is reached twice (a loop)"));
                break;
            }
            let e = match entry(d, at) {
                Ok(e) => e,
                Err(why) => {
                    out.problem(format!("`{prefix}/`: {why}"));
                    break;
                }
            };
            at = e.next;
            if e.name == b"." || e.name == b".." {
                continue;
            }
            let path = format!("{prefix}/{}", String::from_utf8_lossy(&e.name));
            if e.name.contains(&b'/') || e.name.is_empty() {
                out.problem(format!("`{path}`: invalid entry name"));
                continue;
            }
            if e.kind == 1 {
                dirs.push((e.spec as usize & !15, path.clone()));
            }
            entries.push((path, e));
        }
    }
    let paths: HashMap<usize, &str> = entries.iter().map(|(p, e)| (e.at, p.as_str())).collect();
    let source = ctx.source.clone();
    let mut sink = Sink::new(ctx.budget);
    for (path, e) in &entries {
        let data = || {
            d.get(e.data..e.data.saturating_add(e.size))
                .ok_or_else(|| format!("`{path}`: {} data bytes run past the image", e.size))
        };
        let (kind, mode) = match e.kind {
            0 => match paths.get(&(e.spec as usize & !15)) {
                Some(target) => (NodeKind::HardLink((*target).to_string()), 0o644),
                None => {
                    out.problem(format!("`{path}`: hard link to unknown header {:#x}", e.spec));
                    continue;
                }
            },
            1 => (NodeKind::Dir, 0o755),
            2 | 3 => match data() {
                Ok(bytes) if e.kind == 3 => (NodeKind::Symlink(String::from_utf8_lossy(bytes).to_string()), 0o777),
                Ok(bytes) => (
                    NodeKind::File(shared(&source, bytes)),
                    if e.exec { 0o755 } else { 0o644 },
                ),
                Err(why) => {
                    out.problem(why);
                    continue;
                }
            },
            4 | 5 => {
                let (major, minor) = (e.spec >> 16, e.spec & 0xffff);
                let kind = if e.kind == 4 {
                    NodeKind::BlockDevice { major, minor }
                } else {
                    NodeKind::CharDevice { major, minor }
                };
                (kind, 0o600)
            }
            6 => (NodeKind::Socket, 0o644),
            _ => (NodeKind::Fifo, 0o644),
        };
        let node = Node {
            kind,
            mode,
            uid: 0,
            gid: 0,
        };
        if let Err(b) = sink.add(path, node) {
            out.problem(b.to_string());
            break;
        }
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// A small ROMFS writer for tests: (name, type, spec, data) entries in one
/// root directory, plus optional subdirectory contents.
#[cfg(test)]
pub mod build {
    use super::*;

    pub struct Item {
        pub name: &'static str,
        pub kind: u32,
        pub spec: u32,
        pub data: Vec<u8>,
        /// For directories: their entries.
        pub children: Vec<Item>,
    }

    pub fn item(name: &'static str, kind: u32, data: &[u8]) -> Item {
        Item {
            name,
            kind,
            spec: 0,
            data: data.to_vec(),
            children: Vec::new(),
        }
    }

    fn padded_name(name: &str) -> Vec<u8> {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        n.resize(n.len().div_ceil(16) * 16, 0);
        n
    }

    fn fix(out: &mut [u8], at: usize, end: usize) {
        out[at + 12..at + 16].copy_from_slice(&[0; 4]);
        let c = 0u32.wrapping_sub(sum(&out[at..end]));
        out[at + 12..at + 16].copy_from_slice(&c.to_be_bytes());
    }

    /// Write a directory's entries at the end of `out`; returns the first
    /// header's offset.
    fn dir(out: &mut Vec<u8>, items: &[Item]) -> usize {
        let first = out.len();
        let mut prev: Option<usize> = None;
        for it in items {
            let at = out.len();
            if let Some(p) = prev {
                let next = (at as u32) | (be_u32(out, p).unwrap() & 15);
                out[p..p + 4].copy_from_slice(&next.to_be_bytes());
                let end = p + 16 + padded_name(std::str::from_utf8(&name_of(out, p)).unwrap()).len();
                fix(out, p, end);
            }
            out.extend_from_slice(&it.kind.to_be_bytes());
            out.extend_from_slice(&it.spec.to_be_bytes());
            out.extend_from_slice(&(it.data.len() as u32).to_be_bytes());
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&padded_name(it.name));
            let end = out.len();
            out.extend_from_slice(&it.data);
            out.resize(out.len().div_ceil(16) * 16, 0);
            if it.kind == 1 {
                let child = dir(out, &it.children);
                out[at + 4..at + 8].copy_from_slice(&(child as u32).to_be_bytes());
            }
            fix(out, at, end);
            prev = Some(at);
        }
        first
    }

    fn name_of(out: &[u8], at: usize) -> Vec<u8> {
        name_at(out, at + 16).unwrap().0
    }

    pub fn image(items: &[Item]) -> Vec<u8> {
        let mut out = b"-rom1fs-".to_vec();
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&padded_name("test"));
        dir(&mut out, items);
        let size = out.len() as u32;
        out[8..12].copy_from_slice(&size.to_be_bytes());
        let c = 0u32.wrapping_sub(sum(&out[..out.len().min(512)]));
        out[12..16].copy_from_slice(&c.to_be_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Item, image, item};
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn sample() -> Vec<u8> {
        let mut etc = item("etc", 1, b"");
        etc.children = vec![item(".", 0, b""), item("passwd", 2, b"root::0:0::/:/bin/sh\n")];
        let mut dev = item("console", 5, b"");
        dev.spec = (5 << 16) | 1;
        let items: Vec<Item> = vec![
            item(".", 0, b""),
            item("..", 0, b""),
            item("init", 2 | 8, b"#!/bin/sh\n"),
            item("sh", 3, b"/bin/busybox"),
            dev,
            etc,
        ];
        image(&items)
    }

    #[test]
    fn round_trip_with_checksums() {
        let img = sample();
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.confidence, Confidence::High);
        assert_eq!(p.len, Some(img.len() as u64));
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        assert_eq!(t.get("/init").map(|n| n.mode), Some(0o755));
        assert_eq!(
            t.get("/etc/passwd").and_then(Node::data),
            Some(&b"root::0:0::/:/bin/sh\n"[..])
        );
        assert_eq!(
            t.get("/sh").map(|n| &n.kind),
            Some(&NodeKind::Symlink("/bin/busybox".into()))
        );
        assert_eq!(
            t.get("/console").map(|n| &n.kind),
            Some(&NodeKind::CharDevice { major: 5, minor: 1 })
        );
        assert!(t.get("/.").is_none() && t.get("/etc/.").is_none());
    }

    fn survive(d: &[u8]) -> Option<Extraction> {
        crate::unpack::formats::testing::survive(parse, extract, d)
    }

    #[test]
    fn corruption_truncation_loops_and_traversal() {
        let img = sample();
        for cut in (0..img.len()).step_by(7) {
            if let Some(x) = survive(&img[..cut]) {
                assert!(!x.problems.is_empty(), "cut {cut}");
            }
        }
        for i in 0..img.len() {
            let mut bad = img.clone();
            bad[i] ^= 0x10;
            let _ = survive(&bad);
        }
        // The last root entry's `next` pointing back at the first: a loop
        // (checksums fixed so the headers are otherwise valid).
        let mut looped = img.clone();
        let etc = looped.windows(4).position(|w| w == b"etc\0").unwrap() - 16;
        let first = header(&looped).unwrap().first as u32;
        let next = first | (be_u32(&looped, etc).unwrap() & 15);
        let old = be_u32(&looped, etc).unwrap();
        looped[etc..etc + 4].copy_from_slice(&next.to_be_bytes());
        let c = be_u32(&looped, etc + 12).unwrap().wrapping_sub(next.wrapping_sub(old));
        looped[etc + 12..etc + 16].copy_from_slice(&c.to_be_bytes());
        let x = survive(&looped).unwrap();
        assert!(x.problems.iter().any(|p| p.contains("loop")), "{:?}", x.problems);
        // `..` as a file name is skipped like the directory link; a name
        // with a slash is refused.
        let mut slash = img;
        let at = slash.windows(4).position(|w| w == b"init").unwrap();
        slash[at..at + 4].copy_from_slice(b"a/..");
        let h = at - 16;
        let fix = be_u32(&slash, h + 12)
            .unwrap()
            .wrapping_sub(u32::from_be_bytes(*b"a/..").wrapping_sub(u32::from_be_bytes(*b"init")));
        slash[h + 12..h + 16].copy_from_slice(&fix.to_be_bytes());
        let x = survive(&slash).unwrap();
        assert!(x.problems.iter().any(|p| p.contains("invalid")), "{:?}", x.problems);
    }
}
