//! CramFS, the compressed read-only filesystem of older embedded Linux,
//! little- or big-endian.
//!
//! A 76-byte superblock (magic `0x28cd3d45`, at offset 0 or, after a boot
//! sector, at 512) ends with the root inode. An inode is 12 bytes of packed
//! bitfields (mode:16 uid:16, size:24 gid:8, namelen:6 offset:26), followed
//! by its name padded to 4 bytes. A directory's `offset` (in 4-byte units,
//! from the image start) is where its children's inodes are, its `size`
//! how many bytes they take. A file's `offset` points at one 32-bit end
//! pointer per 4 KiB block; each block is a zlib stream (an empty one is a
//! hole). Device nodes keep their device number in `size`. Version 2
//! images carry a CRC-32 over the image from the superblock on.

use std::collections::{BTreeMap, HashSet};

use crate::unpack::bytes::{be_u32, bitfield, le_u32};
use crate::unpack::decode::{BlockCodec, block};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, special_kind,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

const LE: &[u8] = &[0x45, 0x3d, 0xcd, 0x28];
const BE: &[u8] = &[0x28, 0xcd, 0x3d, 0x45];

pub const FORMAT: Format = Format {
    name: "cramfs",
    magics: &[
        Magic { bytes: LE, at: 0 },
        Magic { bytes: BE, at: 0 },
        Magic { bytes: LE, at: 512 },
        Magic { bytes: BE, at: 512 },
    ],
    parse,
    extract,
    carve: true,
};

const SUPER_LEN: usize = 76;
const INODE_LEN: usize = 12;
const PAGE: usize = 4096;
const FLAG_VERSION_2: u32 = 1;
const FLAG_EXT_BLOCK_POINTERS: u32 = 0x800;
/// Flags this reader understands; others change the layout.
const KNOWN_FLAGS: u32 = 0x1 | 0x2 | 0x100 | 0x200 | 0x400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Super {
    pub big: bool,
    /// Where the superblock starts (0, or 512 after a boot sector).
    pub base: usize,
    pub size: u32,
    pub flags: u32,
    pub crc: u32,
    pub files: u32,
}

pub fn superblock(d: &[u8]) -> Result<Super, Reject> {
    let (big, base) = [(false, 0), (true, 0), (false, 512), (true, 512)]
        .into_iter()
        .find(|&(big, base)| d.get(base..base + 4) == Some(if big { BE } else { LE }))
        .ok_or_else(|| Reject::new("not a CramFS magic"))?;
    if d.get(base + 16..base + 32) != Some(b"Compressed ROMFS") {
        return Err(Reject::new("CramFS signature missing"));
    }
    let u32_at = |at| {
        if big {
            be_u32(d, base + at)
        } else {
            le_u32(d, base + at)
        }
    };
    let s = Super {
        big,
        base,
        size: u32_at(4).ok_or_else(|| Reject::new("CramFS superblock truncated"))?,
        flags: u32_at(8).ok_or_else(|| Reject::new("CramFS superblock truncated"))?,
        crc: u32_at(32).ok_or_else(|| Reject::new("CramFS superblock truncated"))?,
        files: u32_at(44).ok_or_else(|| Reject::new("CramFS superblock truncated"))?,
    };
    if (s.size as usize) < base + SUPER_LEN {
        return Err(Reject::new(format!("implausible CramFS size {}", s.size)));
    }
    // Offsets count from the image start, boot sector included, so the
    // root's entries follow the superblock. This also keeps a plain image
    // from being taken for a shifted one that starts 512 bytes earlier.
    let root = inode(d, base + SUPER_LEN - INODE_LEN, big).ok_or_else(|| Reject::new("CramFS root inode truncated"))?;
    if root.size > 0 && root.offset < base + SUPER_LEN {
        return Err(Reject::new("CramFS root directory lies inside the superblock"));
    }
    Ok(s)
}

/// The CRC-32 over the image with the CRC field zeroed.
fn crc_ok(d: &[u8], s: &Super) -> bool {
    let Some(img) = d.get(..s.size as usize) else {
        return false;
    };
    // With a boot sector in front, the CRC covers the image from the
    // superblock on (checked against mkcramfs -p output).
    let mut h = crc32fast::Hasher::new();
    h.update(&img[s.base..s.base + 32]);
    h.update(&[0; 4]);
    h.update(&img[s.base + 36..]);
    h.finalize() == s.crc
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let s = superblock(d)?;
    let checked = s.flags & FLAG_VERSION_2 != 0 && crc_ok(d, &s);
    let mut facts = BTreeMap::new();
    facts.insert("endianness".into(), if s.big { "big" } else { "little" }.into());
    facts.insert("size".into(), s.size.to_string());
    facts.insert("files".into(), s.files.to_string());
    facts.insert("flags".into(), format!("{:#x}", s.flags));
    facts.insert("crc_verified".into(), checked.to_string());
    Ok(Parsed {
        len: Some(u64::from(s.size).min(d.len() as u64)),
        confidence: if checked { Confidence::High } else { Confidence::Medium },
        description: format!(
            "CramFS {}-endian, {} bytes, {} files",
            if s.big { "big" } else { "little" },
            s.size,
            s.files
        ),
        facts,
    })
}

/// One inode: its packed fields and where its name ends.
#[derive(Debug, Clone, Copy)]
struct Inode {
    mode: u32,
    uid: u32,
    size: u32,
    gid: u32,
    /// Byte offset from the image start (already multiplied by 4).
    offset: usize,
    name_len: usize,
}

fn inode(d: &[u8], at: usize, big: bool) -> Option<Inode> {
    let f = |pos, width| bitfield(d, at, pos, width, big);
    Some(Inode {
        mode: f(0, 16)? as u32,
        uid: f(16, 16)? as u32,
        size: f(32, 24)? as u32,
        gid: f(56, 8)? as u32,
        name_len: f(64, 6)? as usize * 4,
        offset: f(70, 26)? as usize * 4,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let s = superblock(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    if d.len() < s.size as usize {
        out.problem(format!(
            "image truncated: superblock says {} bytes, {} present",
            s.size,
            d.len()
        ));
    } else if s.flags & FLAG_VERSION_2 != 0 && !crc_ok(d, &s) {
        out.problem("CramFS CRC mismatch: the image is corrupt or was modified");
    }
    if s.flags & FLAG_EXT_BLOCK_POINTERS != 0 {
        return Err(ExtractError::Unsupported("CramFS with extended block pointers".into()));
    }
    if s.flags & !KNOWN_FLAGS & 0xffff != 0 {
        out.problem(format!("unknown CramFS flags {:#x}", s.flags));
    }
    let root = inode(d, s.base + SUPER_LEN - INODE_LEN, s.big)
        .ok_or_else(|| ExtractError::Corrupt("root inode truncated".into()))?;
    if root.mode & 0o170000 != 0o040000 {
        return Err(ExtractError::Corrupt("the root inode is not a directory".into()));
    }
    let mut sink = Sink::new(ctx.budget);
    let mut visited = HashSet::from([root.offset]);
    let mut stack = vec![(root, String::new())];
    'walk: while let Some((dir, prefix)) = stack.pop() {
        if let Err(b) = ctx.deadline.check() {
            out.problem(b.to_string());
            break;
        }
        let end = dir.offset.saturating_add(dir.size as usize);
        let mut pos = dir.offset;
        let mut subdirs = Vec::new();
        while pos < end {
            let Some(ino) = inode(d, pos, s.big) else {
                out.problem(format!("`{prefix}/`: directory entry at {pos:#x} is truncated"));
                break;
            };
            let name_at = pos + INODE_LEN;
            let Some(raw) = d.get(name_at..name_at + ino.name_len) else {
                out.problem(format!("`{prefix}/`: name at {name_at:#x} is truncated"));
                break;
            };
            pos = name_at + ino.name_len;
            let name = String::from_utf8_lossy(&raw[..memchr::memchr(0, raw).unwrap_or(raw.len())]).to_string();
            let path = format!("{prefix}/{name}");
            if ino.name_len == 0 || name.contains('/') {
                out.problem(format!("`{path}`: invalid entry name"));
                continue;
            }
            let kind = match ino.mode & 0o170000 {
                0o040000 => {
                    if ino.size > 0 && !visited.insert(ino.offset) {
                        out.problem(format!("`{path}`: directory listed twice (a loop); not followed"));
                        continue;
                    }
                    subdirs.push((ino, path.clone()));
                    NodeKind::Dir
                }
                0o100000 | 0o120000 => match data(d, &ino, s.big, sink.budget().remaining_bytes()) {
                    Ok(bytes) if ino.mode & 0o170000 == 0o120000 => {
                        NodeKind::Symlink(String::from_utf8_lossy(&bytes).to_string())
                    }
                    Ok(bytes) => NodeKind::File(bytes.into()),
                    Err(why) => {
                        out.problem(format!("`{path}`: {why}"));
                        continue;
                    }
                },
                _ => special_kind(ino.mode, (ino.size >> 8) & 0xff, ino.size & 0xff).unwrap_or(NodeKind::Fifo),
            };
            let node = Node {
                kind,
                mode: ino.mode & 0o7777,
                uid: ino.uid,
                gid: ino.gid,
            };
            if let Err(b) = sink.add(&path, node) {
                out.problem(b.to_string());
                break 'walk;
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// A file's or symlink's content: its zlib blocks in order.
fn data(d: &[u8], ino: &Inode, big: bool, room: u64) -> Result<Vec<u8>, String> {
    let size = ino.size as usize;
    if size as u64 > room {
        return Err(format!("size {size} exceeds the remaining byte budget"));
    }
    let blocks = size.div_ceil(PAGE);
    let ptrs = ino.offset;
    let mut start = ptrs + 4 * blocks;
    let mut out = Vec::with_capacity(size);
    for i in 0..blocks {
        let want = (size - i * PAGE).min(PAGE);
        let end = if big {
            be_u32(d, ptrs + 4 * i)
        } else {
            le_u32(d, ptrs + 4 * i)
        }
        .ok_or("block pointers run past the image")? as usize;
        if end == start {
            out.resize(out.len() + want, 0);
            continue;
        }
        let raw = d
            .get(start..end)
            .ok_or_else(|| format!("block {i} ({start:#x}..{end:#x}) lies outside the image"))?;
        let bytes = block(BlockCodec::Zlib, raw, PAGE).map_err(|e| format!("block {i}: {e}"))?;
        if bytes.len() != want {
            return Err(format!("block {i} holds {} bytes, {want} expected", bytes.len()));
        }
        out.extend_from_slice(&bytes);
        start = end;
    }
    Ok(out)
}

/// A small CramFS writer for tests.
#[cfg(test)]
pub mod build {
    use super::*;

    pub enum E {
        Dir(Vec<(&'static str, E)>),
        File(Vec<u8>),
        Link(&'static str),
        Dev(u32, u32),
    }

    fn put_inode(out: &mut [u8], at: usize, big: bool, mode: u32, size: u32, name_len: usize, offset: usize) {
        let mut v = [0u64; 3];
        v[0] = u64::from(mode) << 16;
        v[1] = u64::from(size) << 8;
        v[2] = ((name_len as u64 / 4) << 26) | (offset as u64 / 4);
        for (i, w) in v.iter().enumerate() {
            let w = *w as u32;
            let bytes = if big {
                w.to_be_bytes()
            } else {
                // Little-endian bitfields count from the low bit: swap the
                // halves of the first two words and the order in the third.
                match i {
                    0 => w.rotate_left(16).to_le_bytes(),
                    1 => w.rotate_right(8).to_le_bytes(),
                    _ => (((w & 0x3ff_ffff) << 6) | (w >> 26)).to_le_bytes(),
                }
            };
            out[at + 4 * i..at + 4 * i + 4].copy_from_slice(&bytes);
        }
    }

    fn pad4(n: usize) -> usize {
        n.div_ceil(4) * 4
    }

    /// Build an image of `root`; `shifted` puts the superblock at 512.
    pub fn image(root: &E, big: bool, shifted: bool) -> Vec<u8> {
        let base = if shifted { 512 } else { 0 };
        let mut out = vec![0u8; base + SUPER_LEN];
        // Breadth first: (inode position, node) for every directory to lay out.
        let mut dirs: Vec<(usize, &E)> = vec![(base + SUPER_LEN - INODE_LEN, root)];
        let mut data: Vec<(usize, &E)> = Vec::new();
        let mut name_lens = std::collections::HashMap::new();
        let mut i = 0;
        while i < dirs.len() {
            let (at, node) = dirs[i];
            i += 1;
            let E::Dir(children) = node else { unreachable!() };
            let start = out.len();
            for (name, child) in children {
                let pos = out.len();
                out.resize(pos + INODE_LEN + pad4(name.len()), 0);
                out[pos + INODE_LEN..pos + INODE_LEN + name.len()].copy_from_slice(name.as_bytes());
                let nl = pad4(name.len());
                name_lens.insert(pos, nl);
                match child {
                    E::Dir(_) => dirs.push((pos, child)),
                    E::Dev(mode, rdev) => put_inode(&mut out, pos, big, *mode, *rdev, nl, 0),
                    _ => data.push((pos, child)),
                }
            }
            let len = out.len() - start;
            let nl = name_lens.get(&at).copied().unwrap_or(0);
            put_inode(
                &mut out,
                at,
                big,
                0o040755,
                len as u32,
                nl,
                if len > 0 { start } else { 0 },
            );
        }
        for (at, node) in data {
            let (mode, bytes) = match node {
                E::File(b) => (0o100644, b.clone()),
                E::Link(t) => (0o120777, t.as_bytes().to_vec()),
                _ => unreachable!(),
            };
            let nl = name_lens[&at];
            out.resize(pad4(out.len()), 0);
            let ptrs = out.len();
            let blocks = bytes.len().div_ceil(PAGE);
            out.resize(ptrs + 4 * blocks, 0);
            for (b, chunk) in bytes.chunks(PAGE).enumerate() {
                if !chunk.iter().all(|&x| x == 0) {
                    use std::io::Write;
                    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                    e.write_all(chunk).unwrap();
                    out.extend_from_slice(&e.finish().unwrap());
                }
                let end = out.len() as u32;
                let p = ptrs + 4 * b;
                out[p..p + 4].copy_from_slice(&if big { end.to_be_bytes() } else { end.to_le_bytes() });
            }
            put_inode(&mut out, at, big, mode, bytes.len() as u32, nl, ptrs);
        }
        out.resize(pad4(out.len()), 0);
        let size = out.len() as u32;
        let w = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
        out[base..base + 4].copy_from_slice(if big { BE } else { LE });
        out[base + 4..base + 8].copy_from_slice(&w(size));
        out[base + 8..base + 12].copy_from_slice(&w(FLAG_VERSION_2 | 2 | 0x100 | if shifted { 0x400 } else { 0 }));
        out[base + 16..base + 32].copy_from_slice(b"Compressed ROMFS");
        out[base + 48..base + 58].copy_from_slice(b"Compressed");
        let c = crc32fast::hash(&out[base..]);
        out[base + 32..base + 36].copy_from_slice(&w(c));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{E, image};
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn sample() -> E {
        let mut busybox = b"\x7fELF".repeat(1000);
        busybox.extend_from_slice(&[0; PAGE]);
        busybox.extend_from_slice(b"tail");
        E::Dir(vec![
            (
                "bin",
                E::Dir(vec![("busybox", E::File(busybox)), ("sh", E::Link("busybox"))]),
            ),
            ("console", E::Dev(0o020600, (5 << 8) | 1)),
            ("empty", E::Dir(vec![])),
            (
                "etc",
                E::Dir(vec![("passwd", E::File(b"root:x:0:0::/:/bin/sh\n".to_vec()))]),
            ),
        ])
    }

    #[test]
    fn byte_orders_and_shifted_roots_round_trip() {
        for (big, shifted) in [(false, false), (true, false), (false, true), (true, true)] {
            let img = image(&sample(), big, shifted);
            let (p, x) = run(&FORMAT, &img);
            assert_eq!(p.confidence, Confidence::High, "big {big} shifted {shifted}");
            assert_eq!(p.len, Some(img.len() as u64));
            let x = x.unwrap();
            assert!(x.problems.is_empty(), "{:?}", x.problems);
            let t = tree_of(&x);
            let bb = t.get("/bin/busybox").and_then(Node::data).unwrap();
            assert_eq!(bb.len(), 4000 + PAGE + 4);
            assert!(bb[4000..4000 + PAGE].iter().all(|&b| b == 0) && bb.ends_with(b"tail"));
            assert_eq!(
                t.get("/bin/sh").map(|n| &n.kind),
                Some(&NodeKind::Symlink("busybox".into()))
            );
            assert_eq!(
                t.get("/console").map(|n| &n.kind),
                Some(&NodeKind::CharDevice { major: 5, minor: 1 })
            );
            assert_eq!(t.get("/empty").map(|n| &n.kind), Some(&NodeKind::Dir));
            assert_eq!(
                t.get("/etc/passwd").and_then(Node::data),
                Some(&b"root:x:0:0::/:/bin/sh\n"[..])
            );
        }
    }

    fn survive(d: &[u8]) -> Option<Extraction> {
        crate::unpack::formats::testing::survive(parse, extract, d)
    }

    #[test]
    fn a_plain_image_is_not_taken_for_a_shifted_one() {
        let mut d = vec![0x5au8; 1000];
        d.extend_from_slice(&image(&sample(), false, false));
        let u = crate::unpack::unpack(d.into(), "blob", &Default::default());
        let c = u.containers.iter().find(|c| c.format == "cramfs").unwrap();
        assert_eq!(c.offset, 1000);
        assert!(u.filesystems[0].tree.get("/etc/passwd").is_some());
    }

    #[test]
    fn corruption_truncation_loops_and_traversal() {
        let img = image(&sample(), false, false);
        // Any modified byte breaks the CRC, which is reported.
        let mut bad = img.clone();
        let at = img.len() - 20;
        bad[at] ^= 1;
        let x = survive(&bad).unwrap();
        assert!(x.problems.iter().any(|p| p.contains("CRC")), "{:?}", x.problems);
        for cut in (0..img.len()).step_by(11) {
            if let Some(x) = survive(&img[..cut]) {
                assert!(!x.problems.is_empty(), "cut {cut}");
            }
        }
        for i in (0..img.len()).step_by(5) {
            let mut bad = img.clone();
            bad[i] = bad[i].wrapping_add(0x81);
            let _ = survive(&bad);
        }
        // `bin` pointing back at the root's own entries: a loop.
        let mut looped = img.clone();
        let bin = SUPER_LEN;
        let word = (le_u32(&looped, bin + 8).unwrap() & 0x3f) | ((SUPER_LEN as u32 / 4) << 6);
        looped[bin + 8..bin + 12].copy_from_slice(&word.to_le_bytes());
        let root_size = inode(&looped, SUPER_LEN - INODE_LEN, false).unwrap().size;
        looped[bin + 4..bin + 8].copy_from_slice(&(root_size << 8).to_le_bytes());
        let x = survive(&looped).unwrap();
        assert!(x.problems.iter().any(|p| p.contains("loop")), "{:?}", x.problems);
        // A `..` name is refused by the sink.
        let mut dots = img;
        let name = dots.windows(4).position(|w| w == b"etc\0").unwrap();
        dots[name..name + 3].copy_from_slice(b"..\0");
        let x = survive(&dots).unwrap();
        assert!(
            x.problems
                .iter()
                .any(|p| p.contains("invalid") || p.contains("escapes")),
            "{:?}",
            x.problems
        );
    }
}
