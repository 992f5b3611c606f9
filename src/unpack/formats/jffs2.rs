//! JFFS2, the log-structured flash filesystem of many routers and cameras,
//! little- or big-endian.
//!
//! JFFS2 has no superblock: the filesystem is a sequence of nodes, each
//! starting with the magic `0x1985`, a node type, a total length and a CRC
//! over those 8 bytes. fwcert's reader scans for nodes at 4-byte alignment
//! (skipping erased `0xff` space), checks every header, node and data CRC,
//! and then does what the kernel does at mount time:
//! - a directory entry (`dirent`) names a child inode in a parent; for each
//!   (parent, name) the entry with the highest version wins, and a winner
//!   with inode 0 is a deletion;
//! - an inode's data is the union of its inode nodes applied in version
//!   order, cut to the size the newest node gives;
//! - inode 1 is the root; several entries naming one inode are hard links.
//!
//! Node data is stored raw, as zeros, or compressed with zlib, rtime, LZO
//! or LZMA (OpenWrt's patch: raw LZMA with fixed lc=0 lp=0 pb=0 and an
//! 8 KiB dictionary). The rubin compressors are not supported; a node that
//! uses one is a problem, never silently empty.
//!
//! CRCs are the standard CRC-32 polynomial with initial value 0 and no
//! final inversion. An obsoleted node has its "accurate" bit cleared after
//! it was written, so the header CRC is computed with that bit set.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::unpack::budget::Deadline;
use crate::unpack::bytes::{be_u16, be_u32, le_u16, le_u32};
use crate::unpack::decode::{BlockCodec, block, lzo1x};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, special_kind,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "jffs2",
    // The magic followed by the node types an image starts with: a clean
    // marker, a directory entry or an inode, in either byte order.
    magics: &[
        Magic::at_start(&[0x85, 0x19, 0x03, 0x20]),
        Magic::at_start(&[0x85, 0x19, 0x01, 0xe0]),
        Magic::at_start(&[0x85, 0x19, 0x02, 0xe0]),
        Magic::at_start(&[0x19, 0x85, 0x20, 0x03]),
        Magic::at_start(&[0x19, 0x85, 0xe0, 0x01]),
        Magic::at_start(&[0x19, 0x85, 0xe0, 0x02]),
    ],
    parse,
    extract,
    carve: true,
};

const MAGIC: u16 = 0x1985;
const NODE_ACCURATE: u16 = 0x2000;
const TYPE_DIRENT: u16 = 0xe001;
const TYPE_INODE: u16 = 0xe002;
const HEADER_LEN: usize = 12;
const DIRENT_LEN: usize = 40;
const INODE_LEN: usize = 68;
/// Bytes of unrecognisable data the scan crosses before it decides the
/// filesystem has ended (erased space does not count).
const MAX_JUNK: usize = 64 * 1024;
/// Largest decoded size of one node. The kernel writes at most one page
/// (4 KiB, 64 KiB on some architectures).
const MAX_NODE_DATA: usize = 256 * 1024;
/// OpenWrt's JFFS2 LZMA settings: lc=0, lp=0, pb=0, 8 KiB dictionary.
const LZMA_PROPS: u8 = 0;
const LZMA_DICT: u32 = 0x2000;

/// The JFFS2 CRC: CRC-32 with initial value 0 and no final inversion.
pub fn crc(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new_with_initial(0xffff_ffff);
    h.update(bytes);
    !h.finalize()
}

/// Byte order of one image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, d: &[u8], at: usize) -> Option<u16> {
        if self.big { be_u16(d, at) } else { le_u16(d, at) }
    }

    fn u32(self, d: &[u8], at: usize) -> Option<u32> {
        if self.big { be_u32(d, at) } else { le_u32(d, at) }
    }

    fn detect(d: &[u8]) -> Option<Endian> {
        match d.get(..2)? {
            [0x85, 0x19] => Some(Endian { big: false }),
            [0x19, 0x85] => Some(Endian { big: true }),
            _ => None,
        }
    }
}

/// A node header at `at` whose CRC matched: its type and total length.
fn header(d: &[u8], at: usize, e: Endian) -> Option<(u16, usize)> {
    if e.u16(d, at)? != MAGIC {
        return None;
    }
    let nodetype = e.u16(d, at + 2)?;
    let totlen = e.u32(d, at + 4)? as usize;
    let stored = e.u32(d, at + 8)?;
    let mut canonical = [0u8; 8];
    canonical.copy_from_slice(d.get(at..at + 8)?);
    let accurate = nodetype | NODE_ACCURATE;
    let bytes = if e.big {
        accurate.to_be_bytes()
    } else {
        accurate.to_le_bytes()
    };
    canonical[2..4].copy_from_slice(&bytes);
    (crc(&canonical) == stored && totlen >= HEADER_LEN).then_some((nodetype, totlen))
}

/// One directory entry node.
#[derive(Debug, Clone)]
struct Dirent {
    at: usize,
    pino: u32,
    version: u32,
    ino: u32,
    dtype: u8,
    name: Vec<u8>,
}

/// One inode node; `data` is the range of its stored (compressed) bytes.
#[derive(Debug, Clone)]
struct InodeNode {
    at: usize,
    ino: u32,
    version: u32,
    mode: u32,
    uid: u16,
    gid: u16,
    isize: u32,
    offset: u32,
    dsize: u32,
    compr: u8,
    data: std::ops::Range<usize>,
}

/// What a node scan found.
#[derive(Debug, Default)]
struct Scan {
    dirents: Vec<Dirent>,
    inodes: Vec<InodeNode>,
    /// Nodes with a valid header (any type, obsolete ones included).
    nodes: usize,
    /// End of the last valid node.
    end: usize,
    problems: Vec<String>,
}

/// Walk the nodes from the start of `d`. With `full`, node and data CRCs
/// are checked and dirents/inodes collected; without, only the extent is
/// found.
fn scan(d: &[u8], e: Endian, full: bool) -> Scan {
    let mut s = Scan::default();
    let mut pos = 0usize;
    let mut junk = 0usize;
    while pos + HEADER_LEN <= d.len() {
        let Some((nodetype, totlen)) = header(d, pos, e) else {
            let word = &d[pos..pos + 4];
            if word != [0xff; 4] && word != [0; 4] {
                junk += 4;
                if junk > MAX_JUNK {
                    break;
                }
            }
            pos += 4;
            continue;
        };
        junk = 0;
        let Some(node) = d.get(pos..pos + totlen) else {
            s.problems.push(format!(
                "node at {pos:#x} declares {totlen} bytes, the image ends after {}",
                d.len() - pos
            ));
            s.end = d.len();
            break;
        };
        s.nodes += 1;
        if full && nodetype & NODE_ACCURATE != 0 {
            match nodetype {
                TYPE_DIRENT => match dirent(node, pos, e) {
                    Ok(x) => s.dirents.push(x),
                    Err(why) => s.problems.push(why),
                },
                TYPE_INODE => match inode(node, pos, e) {
                    Ok(x) => s.inodes.push(x),
                    Err(why) => s.problems.push(why),
                },
                // Clean markers, padding, summaries, extended attributes.
                _ => {}
            }
        }
        pos += totlen.div_ceil(4) * 4;
        s.end = pos.min(d.len());
    }
    s
}

fn dirent(node: &[u8], at: usize, e: Endian) -> Result<Dirent, String> {
    let field = |off| {
        e.u32(node, off)
            .ok_or_else(|| format!("dirent at {at:#x} is truncated"))
    };
    if node.len() < DIRENT_LEN {
        return Err(format!("dirent at {at:#x} is shorter than its header"));
    }
    if crc(&node[..DIRENT_LEN - 8]) != field(32)? {
        return Err(format!("dirent at {at:#x}: node CRC mismatch; the entry is ignored"));
    }
    let nsize = usize::from(node[28]);
    let name = node
        .get(DIRENT_LEN..DIRENT_LEN + nsize)
        .ok_or_else(|| format!("dirent at {at:#x}: name runs past the node"))?;
    if crc(name) != field(36)? {
        return Err(format!("dirent at {at:#x}: name CRC mismatch; the entry is ignored"));
    }
    Ok(Dirent {
        at,
        pino: field(12)?,
        version: field(16)?,
        ino: field(20)?,
        dtype: node[29],
        name: name.to_vec(),
    })
}

fn inode(node: &[u8], at: usize, e: Endian) -> Result<InodeNode, String> {
    let field = |off| {
        e.u32(node, off)
            .ok_or_else(|| format!("inode node at {at:#x} is truncated"))
    };
    if node.len() < INODE_LEN {
        return Err(format!("inode node at {at:#x} is shorter than its header"));
    }
    if crc(&node[..INODE_LEN - 8]) != field(64)? {
        return Err(format!("inode node at {at:#x}: node CRC mismatch; the node is ignored"));
    }
    let csize = field(48)? as usize;
    let data = INODE_LEN..INODE_LEN.saturating_add(csize);
    let stored = node
        .get(data.clone())
        .ok_or_else(|| format!("inode node at {at:#x}: {csize} data bytes run past the node"))?;
    if crc(stored) != field(60)? {
        return Err(format!("inode node at {at:#x}: data CRC mismatch; the node is ignored"));
    }
    Ok(InodeNode {
        at,
        ino: field(12)?,
        version: field(16)?,
        mode: field(20)?,
        uid: e.u16(node, 24).unwrap_or(0),
        gid: e.u16(node, 26).unwrap_or(0),
        isize: field(28)?,
        offset: field(44)?,
        dsize: field(52)?,
        compr: node[56],
        data: at + data.start..at + data.end,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let e = Endian::detect(d).ok_or_else(|| Reject::new("not a JFFS2 magic"))?;
    if header(d, 0, e).is_none() {
        return Err(Reject::new("JFFS2 node header CRC mismatch"));
    }
    let s = scan(d, e, false);
    let mut facts = BTreeMap::new();
    let order = if e.big { "big" } else { "little" };
    facts.insert("endianness".into(), order.into());
    facts.insert("nodes".into(), s.nodes.to_string());
    Ok(Parsed {
        len: Some(s.end as u64),
        confidence: if s.nodes > 1 {
            Confidence::High
        } else {
            Confidence::Medium
        },
        description: format!("JFFS2 filesystem, {order}-endian, {} nodes", s.nodes),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let e = Endian::detect(d).ok_or_else(|| ExtractError::Corrupt("not a JFFS2 magic".into()))?;
    let s = scan(d, e, true);
    let mut out = Extraction::default();
    out.problems.extend(s.problems);
    let fs = Resolved::new(s.dirents, s.inodes);
    let mut sink = Sink::new(ctx.budget);
    if let Err(stop) = fs.build(d, e, &mut sink, &mut out, &ctx.deadline) {
        out.problem(stop);
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// The mounted view: winning directory entries and each inode's nodes.
struct Resolved {
    /// Children of each directory inode, by name, winners only.
    children: BTreeMap<u32, BTreeMap<Vec<u8>, Dirent>>,
    /// Inode nodes per inode number, in version order.
    nodes: HashMap<u32, Vec<InodeNode>>,
}

impl Resolved {
    fn new(dirents: Vec<Dirent>, inodes: Vec<InodeNode>) -> Self {
        let mut winners: HashMap<(u32, Vec<u8>), Dirent> = HashMap::new();
        for d in dirents {
            let key = (d.pino, d.name.clone());
            match winners.get(&key) {
                // Equal versions: the later node on flash wins.
                Some(w) if w.version > d.version => {}
                _ => {
                    winners.insert(key, d);
                }
            }
        }
        let mut children: BTreeMap<u32, BTreeMap<Vec<u8>, Dirent>> = BTreeMap::new();
        for ((pino, name), d) in winners {
            if d.ino != 0 {
                children.entry(pino).or_default().insert(name, d);
            }
        }
        let mut nodes: HashMap<u32, Vec<InodeNode>> = HashMap::new();
        for n in inodes {
            nodes.entry(n.ino).or_default().push(n);
        }
        for list in nodes.values_mut() {
            list.sort_by_key(|n| (n.version, n.at));
        }
        Resolved { children, nodes }
    }

    /// Walk the tree from the root (inode 1) into the sink. `Err` when the
    /// budget stops the walk.
    fn build(
        &self,
        d: &[u8],
        e: Endian,
        sink: &mut Sink,
        out: &mut Extraction,
        deadline: &Deadline,
    ) -> Result<(), String> {
        let mut visited_dirs: HashSet<u32> = HashSet::from([1]);
        let mut first_path: HashMap<u32, String> = HashMap::new();
        let mut stack: Vec<(u32, String)> = vec![(1, String::new())];
        while let Some((dir, prefix)) = stack.pop() {
            deadline.check().map_err(|b| b.to_string())?;
            let Some(entries) = self.children.get(&dir) else {
                continue;
            };
            // Reverse so that the stack pops children in name order.
            let mut subdirs = Vec::new();
            for (name, dent) in entries {
                let name = String::from_utf8_lossy(name);
                if name.contains('/') || name.is_empty() {
                    out.problem(format!("dirent at {:#x} has an invalid name `{name}`", dent.at));
                    continue;
                }
                let path = format!("{prefix}/{name}");
                let latest = self.nodes.get(&dent.ino).and_then(|l| l.last());
                let mode = latest.map_or_else(|| dtype_mode(dent.dtype), |n| n.mode);
                if mode & 0o170000 == 0o040000 {
                    if !visited_dirs.insert(dent.ino) {
                        out.problem(format!(
                            "`{path}`: directory inode {} is reachable twice (a loop or a directory hard link); not followed",
                            dent.ino
                        ));
                        continue;
                    }
                    subdirs.push((dent.ino, path.clone()));
                }
                let kind = if let Some(target) = first_path.get(&dent.ino).filter(|_| mode & 0o170000 != 0o040000) {
                    NodeKind::HardLink(target.clone())
                } else {
                    first_path.insert(dent.ino, path.clone());
                    match self.kind(d, e, dent.ino, mode, &path, sink, out) {
                        Some(k) => k,
                        None => continue,
                    }
                };
                let node = Node {
                    kind,
                    mode: mode & 0o7777,
                    uid: latest.map_or(0, |n| u32::from(n.uid)),
                    gid: latest.map_or(0, |n| u32::from(n.gid)),
                };
                sink.add(&path, node).map_err(|b| b.to_string())?;
            }
            stack.extend(subdirs.into_iter().rev());
        }
        let unreachable = self.children.keys().filter(|p| !visited_dirs.contains(p)).count();
        if unreachable > 0 {
            out.problem(format!(
                "entries in {unreachable} directories are not reachable from the root and were not unpacked"
            ));
        }
        Ok(())
    }

    /// The node kind of inode `ino`, reading its data. `None` when nothing
    /// usable is there (a problem is recorded).
    #[allow(clippy::too_many_arguments)]
    fn kind(
        &self,
        d: &[u8],
        e: Endian,
        ino: u32,
        mode: u32,
        path: &str,
        sink: &mut Sink,
        out: &mut Extraction,
    ) -> Option<NodeKind> {
        if mode & 0o170000 == 0o040000 {
            return Some(NodeKind::Dir);
        }
        let Some(nodes) = self.nodes.get(&ino) else {
            out.problem(format!("`{path}`: inode {ino} has no inode node"));
            return None;
        };
        if matches!(mode & 0o170000, 0o020000 | 0o060000) {
            // The device number is the node's data; the inode size is 0.
            let Some(n) = nodes.iter().rev().find(|n| n.dsize > 0) else {
                out.problem(format!("`{path}`: device node without a device number"));
                return None;
            };
            let data = match decompress(n.compr, &d[n.data.clone()], n.dsize as usize) {
                Ok(data) => data,
                Err(why) => {
                    out.problem(format!("`{path}`: {why}"));
                    return None;
                }
            };
            let (major, minor) = match data.len() {
                2 => {
                    let v = u32::from(e.u16(&data, 0).unwrap_or(0));
                    (v >> 8, v & 0xff)
                }
                _ => {
                    let v = e.u32(&data, 0).unwrap_or(0);
                    ((v & 0xfff00) >> 8, (v & 0xff) | ((v >> 12) & 0xfff00))
                }
            };
            return special_kind(mode, major, minor);
        }
        let data = match self.data(d, nodes, sink.budget().remaining_bytes()) {
            Ok((data, problems)) => {
                for p in problems {
                    out.problem(format!("`{path}`: {p}"));
                }
                data
            }
            Err(why) => {
                out.problem(format!("`{path}`: {why}"));
                return None;
            }
        };
        Some(match mode & 0o170000 {
            0o120000 => NodeKind::Symlink(String::from_utf8_lossy(&data).to_string()),
            _ => special_kind(mode, 0, 0).unwrap_or_else(|| NodeKind::File(data.into())),
        })
    }

    /// An inode's content: its nodes applied in version order, cut to the
    /// newest size. Errors when the size alone exceeds the byte budget.
    fn data(&self, d: &[u8], nodes: &[InodeNode], room: u64) -> Result<(Vec<u8>, Vec<String>), String> {
        let size = nodes.last().map_or(0, |n| n.isize) as usize;
        if size as u64 > room {
            return Err(format!("size {size} exceeds the remaining byte budget"));
        }
        let mut buf = vec![0u8; size];
        let mut problems = Vec::new();
        for n in nodes {
            if n.dsize == 0 {
                continue;
            }
            let start = n.offset as usize;
            if start >= size {
                continue;
            }
            let dsize = n.dsize as usize;
            let decoded = match decompress(n.compr, &d[n.data.clone()], dsize) {
                Ok(x) => x,
                Err(why) => {
                    problems.push(format!("node at {:#x}: {why}", n.at));
                    continue;
                }
            };
            let end = start.saturating_add(decoded.len()).min(size);
            buf[start..end].copy_from_slice(&decoded[..end - start]);
        }
        Ok((buf, problems))
    }
}

/// A mode for an entry whose inode has no node, from the dirent's type.
fn dtype_mode(dtype: u8) -> u32 {
    match dtype {
        4 => 0o040755,
        10 => 0o120777,
        _ => 0o100644,
    }
}

/// Decode one node's data to exactly `dsize` bytes.
fn decompress(compr: u8, stored: &[u8], dsize: usize) -> Result<Vec<u8>, String> {
    if dsize > MAX_NODE_DATA {
        return Err(format!("node data size {dsize} exceeds {MAX_NODE_DATA} bytes"));
    }
    let out = match compr {
        0 | 4 => stored.to_vec(),
        1 => vec![0; dsize],
        2 => rtime(stored, dsize)?,
        6 => block(BlockCodec::Zlib, stored, dsize)?,
        7 => lzo1x(stored, dsize)?,
        8 => lzma_raw(stored, dsize)?,
        3 | 5 => return Err("rubin compression is not supported".into()),
        other => return Err(format!("unknown compression type {other}")),
    };
    if out.len() != dsize {
        return Err(format!("data decodes to {} bytes, the node says {dsize}", out.len()));
    }
    Ok(out)
}

/// JFFS2's "rtime" run-length coder: pairs of (byte, repeat count), where
/// the repeat copies bytes from after the previous occurrence of that byte.
pub fn rtime(src: &[u8], dsize: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(dsize);
    let mut last = [0usize; 256];
    let mut pairs = src.chunks_exact(2);
    while out.len() < dsize {
        let Some(&[value, repeat]) = pairs.next() else {
            return Err("rtime data ends early".into());
        };
        out.push(value);
        let back = last[usize::from(value)];
        last[usize::from(value)] = out.len();
        // `back` is always behind the output end: it starts at an earlier
        // length and advances one step per byte pushed.
        for from in back..back + usize::from(repeat) {
            if out.len() >= dsize {
                return Err("rtime data decodes past the node size".into());
            }
            let b = *out.get(from).ok_or("rtime back-reference past the output")?;
            out.push(b);
        }
    }
    Ok(out)
}

/// Raw LZMA with JFFS2's fixed properties and a known output size.
fn lzma_raw(stored: &[u8], dsize: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let reader = lzma_rust2::LzmaReader::new_with_props(stored, dsize as u64, LZMA_PROPS, LZMA_DICT, None)
        .map_err(|e| format!("LZMA data does not decode: {e}"))?;
    let mut out = Vec::with_capacity(dsize);
    reader
        .take(dsize as u64)
        .read_to_end(&mut out)
        .map_err(|e| format!("LZMA data does not decode: {e}"))?;
    Ok(out)
}

/// A tiny JFFS2 writer for tests.
#[cfg(test)]
pub mod build {
    use super::*;

    pub struct Image {
        pub big: bool,
        pub out: Vec<u8>,
    }

    impl Image {
        pub fn new(big: bool) -> Self {
            let mut img = Image { big, out: Vec::new() };
            img.node(0x2003, &[]);
            img
        }

        fn u16(&self, v: u16) -> [u8; 2] {
            if self.big { v.to_be_bytes() } else { v.to_le_bytes() }
        }

        fn u32(&self, v: u32) -> [u8; 4] {
            if self.big { v.to_be_bytes() } else { v.to_le_bytes() }
        }

        /// Append a node whose body (after the 12-byte header) is `body`.
        pub fn node(&mut self, nodetype: u16, body: &[u8]) {
            let mut h = Vec::new();
            h.extend_from_slice(&self.u16(MAGIC));
            h.extend_from_slice(&self.u16(nodetype));
            h.extend_from_slice(&self.u32((HEADER_LEN + body.len()) as u32));
            let c = crc(&h);
            h.extend_from_slice(&self.u32(c));
            h.extend_from_slice(body);
            self.out.extend_from_slice(&h);
            while !self.out.len().is_multiple_of(4) {
                self.out.push(0xff);
            }
        }

        pub fn dirent(&mut self, pino: u32, version: u32, ino: u32, dtype: u8, name: &str) {
            let mut b = Vec::new();
            b.extend_from_slice(&self.u32(pino));
            b.extend_from_slice(&self.u32(version));
            b.extend_from_slice(&self.u32(ino));
            b.extend_from_slice(&self.u32(0));
            b.extend_from_slice(&[name.len() as u8, dtype, 0, 0]);
            let head = self.head(TYPE_DIRENT, DIRENT_LEN + name.len());
            let c = crc(&[&head[..], &b].concat());
            b.extend_from_slice(&self.u32(c));
            b.extend_from_slice(&self.u32(crc(name.as_bytes())));
            b.extend_from_slice(name.as_bytes());
            self.node(TYPE_DIRENT, &b);
        }

        /// An inode node carrying `stored` (already compressed with `compr`).
        #[allow(clippy::too_many_arguments)]
        pub fn inode(
            &mut self,
            ino: u32,
            version: u32,
            mode: u32,
            isize: u32,
            offset: u32,
            compr: u8,
            stored: &[u8],
            dsize: u32,
        ) {
            let mut b = Vec::new();
            b.extend_from_slice(&self.u32(ino));
            b.extend_from_slice(&self.u32(version));
            b.extend_from_slice(&self.u32(mode));
            b.extend_from_slice(&self.u16(0));
            b.extend_from_slice(&self.u16(0));
            b.extend_from_slice(&self.u32(isize));
            for _ in 0..3 {
                b.extend_from_slice(&self.u32(1_600_000_000));
            }
            b.extend_from_slice(&self.u32(offset));
            b.extend_from_slice(&self.u32(stored.len() as u32));
            b.extend_from_slice(&self.u32(dsize));
            b.extend_from_slice(&[compr, 0, 0, 0]);
            let head = self.head(TYPE_INODE, INODE_LEN + stored.len());
            let c = crc(&[&head[..], &b].concat());
            b.extend_from_slice(&self.u32(crc(stored)));
            b.extend_from_slice(&self.u32(c));
            b.extend_from_slice(stored);
            self.node(TYPE_INODE, &b);
        }

        /// A whole uncompressed file in one node.
        pub fn file(&mut self, ino: u32, mode: u32, data: &[u8]) {
            self.inode(ino, 1, mode, data.len() as u32, 0, 0, data, data.len() as u32);
        }

        /// The 12-byte header as it will be written, for the node CRC.
        fn head(&self, nodetype: u16, totlen: usize) -> Vec<u8> {
            let mut h = Vec::new();
            h.extend_from_slice(&self.u16(MAGIC));
            h.extend_from_slice(&self.u16(nodetype));
            h.extend_from_slice(&self.u32(totlen as u32));
            let c = crc(&h);
            h.extend_from_slice(&self.u32(c));
            h
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Image;
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn standard(big: bool) -> Vec<u8> {
        let mut i = Image::new(big);
        i.dirent(1, 1, 2, 4, "etc");
        i.inode(2, 1, 0o040755, 0, 0, 0, &[], 0);
        i.dirent(2, 2, 3, 8, "passwd");
        i.file(3, 0o100644, b"root:x:0:0::/root:/bin/sh\n");
        i.dirent(1, 3, 4, 10, "sh");
        i.file(4, 0o120777, b"/bin/busybox");
        i.dirent(1, 4, 5, 2, "console");
        // As mkfs.jffs2 writes it: inode size 0, the old 16-bit number as data.
        let dev = (5u16 << 8) | 1;
        i.inode(
            5,
            1,
            0o020600,
            0,
            0,
            0,
            &if big { dev.to_be_bytes() } else { dev.to_le_bytes() },
            2,
        );
        i.out
    }

    #[test]
    fn crc_matches_the_kernel_convention() {
        // A clean marker header as mkfs.jffs2 writes it (little-endian).
        let hdr = [0x85, 0x19, 0x03, 0x20, 0x0c, 0, 0, 0];
        assert_eq!(crc(&hdr), 0xe41e_b0b1);
    }

    #[test]
    fn both_byte_orders_unpack() {
        for big in [false, true] {
            let img = standard(big);
            let (p, x) = run(&FORMAT, &img);
            assert_eq!(p.len, Some(img.len() as u64));
            assert_eq!(p.confidence, Confidence::High);
            let x = x.unwrap();
            let t = tree_of(&x);
            assert_eq!(
                t.get("/etc/passwd").and_then(Node::data),
                Some(&b"root:x:0:0::/root:/bin/sh\n"[..]),
                "big {big}"
            );
            assert_eq!(t.get("/etc").map(|n| n.mode), Some(0o755));
            assert_eq!(
                t.get("/sh").map(|n| &n.kind),
                Some(&NodeKind::Symlink("/bin/busybox".into()))
            );
            assert!(x.problems.is_empty(), "{:?}", x.problems);
            assert_eq!(
                t.get("/console").map(|n| &n.kind),
                Some(&NodeKind::CharDevice { major: 5, minor: 1 })
            );
        }
    }

    #[test]
    fn every_compressor_decodes() {
        use std::io::Write;
        let text: Vec<u8> = b"nvram_get admin_password; ".repeat(100);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&text).unwrap();
        let zlib = z.finish().unwrap();
        let lzo = lzokay_native::compress(&text).unwrap();
        let mut opts = lzma_rust2::LzmaOptions::with_preset(6);
        (opts.lc, opts.lp, opts.pb, opts.dict_size) = (0, 0, 0, LZMA_DICT);
        let mut w = lzma_rust2::LzmaWriter::new_no_header(Vec::new(), &opts, true).unwrap();
        w.write_all(&text).unwrap();
        let lzma = w.finish().unwrap();
        let rt = rtime_encode(&text);
        assert!(rt.len() < text.len());
        for (compr, stored) in [(6u8, zlib), (7, lzo), (8, lzma), (2, rt), (1, Vec::new())] {
            let mut i = Image::new(false);
            i.dirent(1, 1, 2, 8, "f");
            let n = text.len() as u32;
            i.inode(2, 1, 0o100644, n, 0, compr, &stored, n);
            let x = run(&FORMAT, &i.out).1.unwrap();
            assert!(x.problems.is_empty(), "compr {compr}: {:?}", x.problems);
            let want = if compr == 1 { vec![0; text.len()] } else { text.clone() };
            assert_eq!(tree_of(&x).get("/f").and_then(Node::data), Some(&want[..]), "{compr}");
        }
    }

    /// The rtime encoder, as the kernel's: for tests only.
    fn rtime_encode(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut last = [0usize; 256];
        let mut pos = 0;
        while pos < src.len() {
            let value = src[pos];
            out.push(value);
            pos += 1;
            let mut back = last[usize::from(value)];
            last[usize::from(value)] = pos;
            let mut run = 0u8;
            while back < pos && pos < src.len() && src[pos] == src[back] && run < 255 {
                pos += 1;
                back += 1;
                run += 1;
            }
            out.push(run);
        }
        out
    }

    #[test]
    fn newest_versions_win_and_deletions_remove() {
        let mut i = Image::new(false);
        i.dirent(1, 1, 2, 8, "shadow");
        i.file(2, 0o100600, b"root:old:::::::\n");
        // A newer write overwrites the start and truncates.
        i.inode(2, 2, 0o100600, 9, 0, 0, b"root:new:", 9);
        i.dirent(1, 2, 3, 8, "gone");
        i.file(3, 0o100644, b"x");
        i.dirent(1, 5, 0, 8, "gone");
        // An older dirent for the same name loses.
        i.dirent(1, 0, 3, 8, "shadow");
        // Hard link: a second name for inode 2.
        i.dirent(1, 6, 2, 8, "shadow.lnk");
        let x = run(&FORMAT, &i.out).1.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        assert_eq!(t.get("/shadow").and_then(Node::data), Some(&b"root:new:"[..]));
        assert!(t.get("/gone").is_none());
        assert_eq!(
            t.get("/shadow.lnk").map(|n| &n.kind),
            Some(&NodeKind::HardLink("/shadow".into()))
        );
    }

    #[test]
    fn obsolete_nodes_are_skipped_and_padding_crossed() {
        let mut i = Image::new(true);
        i.dirent(1, 1, 2, 8, "a");
        i.file(2, 0o100644, b"new");
        let at = i.out.len();
        i.dirent(1, 9, 3, 8, "a");
        // Clear the accurate bit, as the kernel does when it obsoletes a node.
        i.out[at + 2] &= !0x20;
        i.out.extend_from_slice(&[0xff; 4096]);
        let end = i.out.len();
        i.file(3, 0o100644, b"old");
        i.out.extend_from_slice(&[0xff; 100]);
        let (p, x) = run(&FORMAT, &i.out);
        assert_eq!(p.len, Some(end as u64 + 68 + 4));
        let t = tree_of(x.as_ref().unwrap());
        assert_eq!(t.get("/a").and_then(Node::data), Some(&b"new"[..]));
    }

    #[test]
    fn bad_crcs_truncation_and_lying_sizes_are_problems() {
        let img = standard(false);
        // Corrupt one byte of file data: its data CRC fails.
        let at = img.windows(4).position(|w| w == b"root").unwrap();
        let mut bad = img.clone();
        bad[at] = b'R';
        let x = run(&FORMAT, &bad).1.unwrap();
        assert!(x.problems.iter().any(|p| p.contains("data CRC")), "{:?}", x.problems);
        // Truncations never panic; a cut inside a node is a problem.
        for cut in [13, 40, 60, 100, img.len() - 3] {
            let d = &img[..cut];
            if let Ok(p) = parse(d) {
                let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
                let mut ctx = ExtractCtx {
                    budget: &mut budget,
                    deadline: crate::unpack::budget::Deadline::far(),
                    source: Default::default(),
                };
                let _ = extract(d, &p, &mut ctx);
            }
        }
        // A huge size with one tiny node must not allocate it.
        let mut i = Image::new(false);
        i.dirent(1, 1, 2, 8, "huge");
        i.inode(2, 1, 0o100644, u32::MAX, 0, 0, b"x", 1);
        let x = run(&FORMAT, &i.out).1.unwrap();
        assert!(x.problems.iter().any(|p| p.contains("budget")), "{:?}", x.problems);
        // A node whose data claims more than a page.
        let mut i = Image::new(false);
        i.dirent(1, 1, 2, 8, "big");
        i.inode(2, 1, 0o100644, 10, 0, 1, &[], 1 << 30);
        let x = run(&FORMAT, &i.out).1.unwrap();
        assert!(x.problems.iter().any(|p| p.contains("exceeds")), "{:?}", x.problems);
        assert!(rtime(&[1, 200], 10).is_err());
        assert!(rtime(&[1], 10).is_err());
    }

    #[test]
    fn loops_and_traversal_names_are_refused() {
        let mut i = Image::new(false);
        i.dirent(1, 1, 2, 4, "d");
        i.inode(2, 1, 0o040755, 0, 0, 0, &[], 0);
        // The directory contains itself and the root.
        i.dirent(2, 1, 2, 4, "self");
        i.dirent(2, 2, 1, 4, "root");
        i.dirent(1, 2, 3, 8, "..");
        i.file(3, 0o100644, b"escape");
        i.dirent(1, 3, 3, 8, "a/b");
        let x = run(&FORMAT, &i.out).1.unwrap();
        let all = x.problems.join("\n");
        assert!(all.contains("reachable twice"), "{all}");
        assert!(all.contains("escapes"), "{all}");
        assert!(all.contains("invalid name"), "{all}");
        assert!(tree_of(&x).get("/d").is_some());
    }

    #[test]
    fn random_bytes_with_a_magic_are_rejected() {
        let mut d = vec![0x85, 0x19, 0x03, 0x20, 12, 0, 0, 0, 1, 2, 3, 4];
        d.extend_from_slice(&[0xab; 64]);
        assert!(parse(&d).is_err());
    }

    #[test]
    fn carved_from_a_flash_dump_with_an_exact_extent() {
        let img = standard(false);
        let mut flash = vec![0u8; 0x1000];
        flash.extend_from_slice(&img);
        flash.extend_from_slice(&[0xff; 0x2000]);
        flash.extend_from_slice(&[0x5a; 0x100]);
        let u = crate::unpack::unpack(flash.into(), "flash.bin", &Default::default());
        let c = u.containers.iter().find(|c| c.format == "jffs2").unwrap();
        assert_eq!((c.offset, c.size), (0x1000, img.len() as u64));
        assert!(u.filesystems[0].tree.get("/etc/passwd").is_some());
    }
}
