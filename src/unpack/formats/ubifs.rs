//! UBIFS, the NAND filesystem that lives in a UBI volume: fwcert's own
//! reader.
//!
//! A UBIFS image is a sequence of logical erase blocks (LEBs) of the size
//! its superblock (LEB 0) gives. LEBs 1 and 2 hold master nodes; the newest
//! one (highest sequence number) points at the root of the index, a B+tree
//! whose leaves are inode, directory-entry and data nodes. LEBs from 3 hold
//! the log: a commit-start node, then references to "buds", LEBs written
//! after the last commit. The reader walks the index, then replays the buds
//! in sequence order (newer nodes replace older ones; an inode with no
//! links, an entry pointing at inode 0, or a truncation removes data), as
//! the kernel does at mount time.
//!
//! All fields are little-endian; every node starts with a 24-byte common
//! header whose CRC (initial value `0xffffffff`, no final inversion) covers
//! the node from byte 8. File data is stored in 4 KiB blocks, raw or
//! compressed with LZO, zlib (raw deflate) or zstd.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use crate::unpack::budget::Deadline;
use crate::unpack::bytes::{le_u16, le_u32, le_u64};
use crate::unpack::decode::{BlockCodec, block, lzo1x};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, special_kind,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "ubifs",
    magics: &[Magic::at_start(&[0x31, 0x18, 0x10, 0x06])],
    parse,
    extract,
    carve: true,
};

const MAGIC: u32 = 0x0610_1831;
const CH_LEN: usize = 24;
const BLOCK: usize = 4096;
const ROOT_INO: u64 = 1;
const FIRST_LOG_LEB: u32 = 3;
const CRYPT_FL: u32 = 0x40;
const PADDING_BYTE: u8 = 0xce;

mod node {
    pub const INO: u8 = 0;
    pub const DATA: u8 = 1;
    pub const DENT: u8 = 2;
    pub const TRUN: u8 = 4;
    pub const PAD: u8 = 5;
    pub const SB: u8 = 6;
    pub const MST: u8 = 7;
    pub const REF: u8 = 8;
    pub const IDX: u8 = 9;
    pub const CS: u8 = 10;
}

/// The UBIFS CRC: CRC-32 with initial value `0xffffffff`, no final inversion.
pub fn crc(bytes: &[u8]) -> u32 {
    !crc32fast::hash(bytes)
}

/// The superblock fields the reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Super {
    pub min_io: u32,
    pub leb_size: u32,
    pub leb_cnt: u32,
    pub log_lebs: u32,
    pub fmt_version: u32,
    pub default_compr: u16,
}

/// A node whose header and CRC are valid: its type, sequence number and
/// bytes (header included).
struct Raw<'a> {
    kind: u8,
    sqnum: u64,
    bytes: &'a [u8],
}

/// The node at byte `at` of `d`, if its magic, length and CRC hold.
fn node_at(d: &[u8], at: usize, limit: usize) -> Option<Raw<'_>> {
    if le_u32(d, at)? != MAGIC {
        return None;
    }
    let len = le_u32(d, at + 16)? as usize;
    if len < CH_LEN || len > limit {
        return None;
    }
    let bytes = d.get(at..at.checked_add(len)?)?;
    (crc(&bytes[8..]) == le_u32(bytes, 4)?).then(|| Raw {
        kind: bytes[20],
        sqnum: le_u64(bytes, 8).unwrap_or(0),
        bytes,
    })
}

pub fn superblock(d: &[u8]) -> Result<Super, Reject> {
    let raw = node_at(d, 0, 4096).ok_or_else(|| Reject::new("UBIFS superblock node CRC mismatch"))?;
    if raw.kind != node::SB {
        return Err(Reject::new("first UBIFS node is not a superblock"));
    }
    let f = |at| le_u32(raw.bytes, at).ok_or_else(|| Reject::new("UBIFS superblock truncated"));
    let s = Super {
        min_io: f(32)?,
        leb_size: f(36)?,
        leb_cnt: f(40)?,
        log_lebs: f(56)?,
        fmt_version: f(80)?,
        default_compr: le_u16(raw.bytes, 84).unwrap_or(0),
    };
    if raw.bytes[27] != 0 {
        return Err(Reject::new("unknown UBIFS key format"));
    }
    if !(4096..=4 << 20).contains(&s.leb_size) || !s.leb_size.is_multiple_of(8) || s.leb_cnt < 4 || s.log_lebs < 1 {
        return Err(Reject::new("implausible UBIFS geometry"));
    }
    Ok(s)
}

fn compr_name(c: u16) -> &'static str {
    match c {
        0 => "none",
        1 => "lzo",
        2 => "zlib",
        3 => "zstd",
        _ => "unknown",
    }
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let s = superblock(d)?;
    let len = u64::from(s.leb_size) * u64::from(s.leb_cnt);
    let mut facts = BTreeMap::new();
    facts.insert("leb_size".into(), s.leb_size.to_string());
    facts.insert("leb_count".into(), s.leb_cnt.to_string());
    facts.insert("min_io_size".into(), s.min_io.to_string());
    facts.insert("format_version".into(), s.fmt_version.to_string());
    facts.insert("compression".into(), compr_name(s.default_compr).into());
    Ok(Parsed {
        len: Some(len.min(d.len() as u64)),
        confidence: Confidence::High,
        description: format!(
            "UBIFS, {} LEBs of {} bytes, {}",
            s.leb_cnt,
            s.leb_size,
            compr_name(s.default_compr)
        ),
        facts,
    })
}

/// An inode as the newest node describes it.
#[derive(Debug, Clone)]
struct Ino {
    sqnum: u64,
    size: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    flags: u32,
    /// Inline data: a symlink target or a device number.
    data: Vec<u8>,
}

/// Where a data block is stored: its node's location.
#[derive(Debug, Clone, Copy)]
struct DataRef {
    sqnum: u64,
    at: usize,
    len: usize,
}

/// The filesystem's current state, from the index and then the journal.
#[derive(Default)]
struct State {
    inodes: HashMap<u64, Ino>,
    /// (parent, name) → (sqnum, child inode number).
    dents: HashMap<(u64, Vec<u8>), (u64, u64)>,
    data: HashMap<(u64, u32), DataRef>,
}

impl State {
    /// Apply one leaf node. Journal nodes (`replay`) may also delete.
    fn apply(&mut self, raw: &Raw, at: usize, replay: bool) {
        let b = raw.bytes;
        let u32_at = |o| le_u32(b, o).unwrap_or(0);
        let inum = u64::from(u32_at(24));
        match raw.kind {
            node::INO if b.len() >= 160 => {
                if replay && u32_at(92) == 0 {
                    self.inodes.remove(&inum);
                    self.data.retain(|k, _| k.0 != inum);
                    return;
                }
                if self.inodes.get(&inum).is_some_and(|i| i.sqnum > raw.sqnum) {
                    return;
                }
                let data_len = (u32_at(112) as usize).min(b.len() - 160);
                self.inodes.insert(
                    inum,
                    Ino {
                        sqnum: raw.sqnum,
                        size: le_u64(b, 48).unwrap_or(0),
                        mode: u32_at(104),
                        uid: u32_at(96),
                        gid: u32_at(100),
                        flags: u32_at(108),
                        data: b[160..160 + data_len].to_vec(),
                    },
                );
            }
            node::DENT if b.len() >= 56 => {
                let nlen = usize::from(le_u16(b, 50).unwrap_or(0));
                let Some(name) = b.get(56..56 + nlen) else { return };
                let key = (inum, name.to_vec());
                let target = le_u64(b, 40).unwrap_or(0);
                if self.dents.get(&key).is_some_and(|d| d.0 > raw.sqnum) {
                    return;
                }
                if target == 0 {
                    self.dents.remove(&key);
                } else {
                    self.dents.insert(key, (raw.sqnum, target));
                }
            }
            node::DATA if b.len() >= 48 => {
                let blk = u32_at(28) & 0x1fff_ffff;
                if self.data.get(&(inum, blk)).is_some_and(|d| d.sqnum > raw.sqnum) {
                    return;
                }
                self.data.insert(
                    (inum, blk),
                    DataRef {
                        sqnum: raw.sqnum,
                        at,
                        len: b.len(),
                    },
                );
            }
            node::TRUN if replay && b.len() >= 56 => {
                let new_size = le_u64(b, 48).unwrap_or(0);
                let first_gone = new_size.div_ceil(BLOCK as u64);
                self.data.retain(|k, _| k.0 != inum || u64::from(k.1) < first_gone);
            }
            _ => {}
        }
    }
}

/// Reads one image.
struct Reader<'a> {
    d: &'a [u8],
    s: Super,
    problems: Vec<String>,
}

impl<'a> Reader<'a> {
    fn leb_start(&self, lnum: u32) -> Option<usize> {
        (lnum < self.s.leb_cnt).then(|| lnum as usize * self.s.leb_size as usize)
    }

    /// The node at (lnum, offs), which must lie inside its LEB.
    fn node(&self, lnum: u32, offs: u32) -> Option<(Raw<'a>, usize)> {
        let start = self.leb_start(lnum)?;
        let room = (self.s.leb_size as usize).checked_sub(offs as usize)?;
        let at = start + offs as usize;
        node_at(self.d, at, room).map(|r| (r, at))
    }

    /// Valid nodes written one after another from (lnum, offs) until the
    /// written part of the LEB ends.
    fn scan_leb(&self, lnum: u32, offs: u32) -> Vec<(Raw<'a>, usize)> {
        let mut out = Vec::new();
        let Some(start) = self.leb_start(lnum) else { return out };
        let leb = self.s.leb_size as usize;
        let mut pos = offs as usize;
        while pos + CH_LEN <= leb {
            let at = start + pos;
            if self.d.get(at) == Some(&PADDING_BYTE) {
                pos += 8;
                continue;
            }
            let Some(raw) = node_at(self.d, at, leb - pos) else {
                break;
            };
            let mut next = pos + raw.bytes.len();
            if raw.kind == node::PAD {
                next += le_u32(raw.bytes, 24).unwrap_or(0) as usize;
            }
            out.push((raw, at));
            pos = next.div_ceil(8) * 8;
        }
        out
    }

    /// The newest valid master node in LEBs 1 and 2.
    fn master(&self) -> Option<Raw<'a>> {
        let mut best: Option<Raw<'a>> = None;
        for lnum in [1, 2] {
            let Some(start) = self.leb_start(lnum) else { continue };
            let leb = self.s.leb_size as usize;
            for pos in (0..leb.saturating_sub(CH_LEN)).step_by(8) {
                if let Some(raw) = node_at(self.d, start + pos, leb - pos)
                    && raw.kind == node::MST
                    && raw.bytes.len() >= 64
                    && best.as_ref().is_none_or(|b| b.sqnum < raw.sqnum)
                {
                    best = Some(raw);
                }
            }
        }
        best
    }

    /// Walk the index from its root into `state`.
    fn walk_index(&mut self, root: (u32, u32), state: &mut State, deadline: &Deadline) -> Result<(), String> {
        let mut visited: HashSet<(u32, u32)> = HashSet::new();
        let mut stack: Vec<((u32, u32), Option<u16>)> = vec![(root, None)];
        while let Some(((lnum, offs), want_level)) = stack.pop() {
            deadline.check().map_err(|b| b.to_string())?;
            if !visited.insert((lnum, offs)) {
                self.problems.push(format!(
                    "index node {lnum}:{offs:#x} is referenced twice; not followed again"
                ));
                continue;
            }
            let Some((raw, _)) = self.node(lnum, offs) else {
                self.problems
                    .push(format!("index node {lnum}:{offs:#x} is missing or corrupt"));
                continue;
            };
            if raw.kind != node::IDX || raw.bytes.len() < 28 {
                self.problems
                    .push(format!("node {lnum}:{offs:#x} is not an index node"));
                continue;
            }
            let count = usize::from(le_u16(raw.bytes, 24).unwrap_or(0));
            let level = le_u16(raw.bytes, 26).unwrap_or(0);
            if want_level.is_some_and(|w| w != level) || count == 0 {
                self.problems
                    .push(format!("index node {lnum}:{offs:#x} has level {level} or no children"));
                continue;
            }
            // A branch is lnum, offs, len and a key (plus a hash when the
            // filesystem is authenticated): the node's length tells.
            let branch = (raw.bytes.len() - 28) / count;
            if branch < 20 {
                self.problems.push(format!("index node {lnum}:{offs:#x} is too short"));
                continue;
            }
            for i in 0..count {
                let b = 28 + i * branch;
                let (Some(cl), Some(co)) = (le_u32(raw.bytes, b), le_u32(raw.bytes, b + 4)) else {
                    break;
                };
                if level > 0 {
                    stack.push(((cl, co), Some(level - 1)));
                    continue;
                }
                match self.node(cl, co) {
                    Some((leaf, at)) => state.apply(&leaf, at, false),
                    None => self
                        .problems
                        .push(format!("leaf node {cl}:{co:#x} is missing or corrupt")),
                }
            }
        }
        Ok(())
    }

    /// Replay the journal: the buds the log references after the last
    /// commit start, applied in sequence order.
    fn replay(&mut self, log_lnum: u32, cmt_no: u64, state: &mut State) {
        let log_end = FIRST_LOG_LEB.saturating_add(self.s.log_lebs).min(self.s.leb_cnt);
        if !(FIRST_LOG_LEB..log_end).contains(&log_lnum) {
            self.problems.push(format!("log LEB {log_lnum} lies outside the log"));
            return;
        }
        let mut cs_sqnum = None;
        let mut refs = Vec::new();
        let mut lnum = log_lnum;
        'log: for _ in FIRST_LOG_LEB..log_end {
            for (raw, _) in self.scan_leb(lnum, 0) {
                match (cs_sqnum, raw.kind) {
                    (None, node::CS) if le_u64(raw.bytes, 24) == Some(cmt_no) => cs_sqnum = Some(raw.sqnum),
                    (None, _) => {
                        self.problems
                            .push("the log does not start with the current commit; journal not replayed".into());
                        return;
                    }
                    (Some(cs), _) if raw.sqnum < cs => break 'log,
                    (Some(_), node::REF) => {
                        let l = le_u32(raw.bytes, 24).unwrap_or(u32::MAX);
                        let o = le_u32(raw.bytes, 28).unwrap_or(0);
                        refs.push((l, o));
                    }
                    _ => {}
                }
            }
            lnum = if lnum + 1 >= log_end { FIRST_LOG_LEB } else { lnum + 1 };
            if lnum == log_lnum {
                break;
            }
        }
        let Some(cs) = cs_sqnum else {
            self.problems
                .push("no commit-start node in the log; journal not replayed".into());
            return;
        };
        let mut nodes: Vec<(Raw, usize)> = Vec::new();
        for (l, o) in refs {
            nodes.extend(self.scan_leb(l, o).into_iter().filter(|(r, _)| r.sqnum > cs));
        }
        nodes.sort_by_key(|(r, _)| r.sqnum);
        for (raw, at) in &nodes {
            state.apply(raw, *at, true);
        }
    }
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let s = superblock(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let declared = u64::from(s.leb_size) * u64::from(s.leb_cnt);
    if (d.len() as u64) < declared {
        out.problem(format!(
            "image truncated: {} LEBs of {} bytes declared, {} bytes present",
            s.leb_cnt,
            s.leb_size,
            d.len()
        ));
    }
    let mut r = Reader {
        d,
        s,
        problems: Vec::new(),
    };
    let mst = r
        .master()
        .ok_or_else(|| ExtractError::Corrupt("no valid UBIFS master node".into()))?;
    let m = |at| le_u32(mst.bytes, at).unwrap_or(u32::MAX);
    let cmt_no = le_u64(mst.bytes, 32).unwrap_or(0);
    let (log_lnum, root) = (m(44), (m(48), m(52)));
    let mut state = State::default();
    r.walk_index(root, &mut state, &ctx.deadline)
        .map_err(ExtractError::Corrupt)?;
    r.replay(log_lnum, cmt_no, &mut state);
    out.problems.append(&mut r.problems);
    let mut sink = Sink::new(ctx.budget);
    if let Err(stop) = build(d, &state, &mut sink, &mut out, &ctx.deadline) {
        out.problem(stop);
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// Write the tree reachable from the root inode into the sink.
fn build(d: &[u8], state: &State, sink: &mut Sink, out: &mut Extraction, deadline: &Deadline) -> Result<(), String> {
    let mut children: BTreeMap<u64, Vec<(&[u8], u64)>> = BTreeMap::new();
    for ((parent, name), (_, child)) in &state.dents {
        children.entry(*parent).or_default().push((name, *child));
    }
    for list in children.values_mut() {
        list.sort();
    }
    let mut visited = HashSet::from([ROOT_INO]);
    let mut first_path: HashMap<u64, String> = HashMap::new();
    let mut stack = vec![(ROOT_INO, String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        deadline.check().map_err(|b| b.to_string())?;
        let mut subdirs = Vec::new();
        for (name, inum) in children.get(&dir).map(Vec::as_slice).unwrap_or_default() {
            let name = String::from_utf8_lossy(name);
            let path = format!("{prefix}/{name}");
            if name.contains('/') {
                out.problem(format!("`{path}`: entry name contains `/`"));
                continue;
            }
            let Some(ino) = state.inodes.get(inum) else {
                out.problem(format!("`{path}`: inode {inum} is missing"));
                continue;
            };
            let is_dir = ino.mode & 0o170000 == 0o040000;
            let kind = if is_dir {
                if !visited.insert(*inum) {
                    out.problem(format!(
                        "`{path}`: directory inode {inum} is reachable twice; not followed"
                    ));
                    continue;
                }
                subdirs.push((*inum, path.clone()));
                NodeKind::Dir
            } else if let Some(first) = first_path.get(inum) {
                NodeKind::HardLink(first.clone())
            } else {
                first_path.insert(*inum, path.clone());
                match kind_of(d, state, *inum, ino, sink.budget().remaining_bytes()) {
                    Ok((kind, problems)) => {
                        out.problems
                            .extend(problems.into_iter().map(|p| format!("`{path}`: {p}")));
                        kind
                    }
                    Err(why) => {
                        out.problem(format!("`{path}`: {why}"));
                        continue;
                    }
                }
            };
            let node = Node {
                kind,
                mode: ino.mode & 0o7777,
                uid: ino.uid,
                gid: ino.gid,
            };
            sink.add(&path, node).map_err(|b| b.to_string())?;
        }
        stack.extend(subdirs.into_iter().rev());
    }
    let unreachable = children.keys().filter(|p| !visited.contains(p)).count();
    if unreachable > 0 {
        out.problem(format!(
            "entries of {unreachable} directories are not reachable from the root and were not unpacked"
        ));
    }
    Ok(())
}

/// The node kind of a non-directory inode, with its data; and problems
/// with single blocks.
fn kind_of(d: &[u8], state: &State, inum: u64, ino: &Ino, room: u64) -> Result<(NodeKind, Vec<String>), String> {
    if ino.flags & CRYPT_FL != 0 {
        return Err("the file is encrypted (fscrypt); its content cannot be read".into());
    }
    let dev = || {
        let v = le_u32(&ino.data, 0).unwrap_or(0);
        ((v & 0xfff00) >> 8, (v & 0xff) | ((v >> 12) & 0xfff00))
    };
    match ino.mode & 0o170000 {
        0o120000 => {
            return Ok((
                NodeKind::Symlink(String::from_utf8_lossy(&ino.data).to_string()),
                vec![],
            ));
        }
        0o020000 | 0o060000 => {
            let (major, minor) = dev();
            return Ok((special_kind(ino.mode, major, minor).unwrap_or(NodeKind::Fifo), vec![]));
        }
        0o010000 | 0o140000 => return Ok((special_kind(ino.mode, 0, 0).unwrap_or(NodeKind::Fifo), vec![])),
        _ => {}
    }
    if ino.size > room {
        return Err(format!("size {} exceeds the remaining byte budget", ino.size));
    }
    let size = ino.size as usize;
    let mut buf = vec![0u8; size];
    let mut problems = Vec::new();
    for blk in 0..size.div_ceil(BLOCK) {
        let Some(r) = state.data.get(&(inum, blk as u32)) else {
            continue;
        };
        let node = &d[r.at..r.at + r.len];
        match data_block(node) {
            Ok(bytes) => {
                let start = blk * BLOCK;
                let end = (start + bytes.len()).min(size);
                buf[start..end].copy_from_slice(&bytes[..end - start]);
            }
            Err(why) => problems.push(format!("block {blk}: {why}")),
        }
    }
    Ok((NodeKind::File(buf.into()), problems))
}

/// Decode one data node's block.
fn data_block(node: &[u8]) -> Result<Vec<u8>, String> {
    let size = le_u32(node, 40).ok_or("data node truncated")? as usize;
    let compr = le_u16(node, 44).ok_or("data node truncated")?;
    if size > BLOCK {
        return Err(format!("block claims {size} bytes"));
    }
    if le_u16(node, 46).unwrap_or(0) != 0 {
        return Err("the block is encrypted".into());
    }
    let stored = &node[48.min(node.len())..];
    let out = match compr {
        0 => stored.to_vec(),
        1 => lzo1x(stored, size)?,
        2 => {
            let mut out = Vec::new();
            flate2::read::DeflateDecoder::new(stored)
                .take(BLOCK as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("zlib block does not decode: {e}"))?;
            out
        }
        3 => block(BlockCodec::Zstd, stored, BLOCK)?,
        other => return Err(format!("unknown compression type {other}")),
    };
    if out.len() != size {
        return Err(format!("block decodes to {} bytes, the node says {size}", out.len()));
    }
    Ok(out)
}

/// A tiny UBIFS writer for tests: leaves and one index node in LEB 5, an
/// optional journal bud in LEB 6.
#[cfg(test)]
pub mod build {
    use super::*;

    pub const LEB: usize = 8192;
    const LEBS: usize = 8;
    const MAIN: u32 = 5;
    const BUD: u32 = 6;

    pub struct Fs {
        lebs: Vec<Vec<u8>>,
        sqnum: u64,
        leaves: Vec<(u32, u32, u32, [u8; 8])>,
        journal: Vec<(u8, Vec<u8>)>,
    }

    impl Default for Fs {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Fs {
        pub fn new() -> Self {
            Fs {
                lebs: vec![Vec::new(); LEBS],
                sqnum: 0,
                leaves: Vec::new(),
                journal: Vec::new(),
            }
        }

        fn node(&mut self, kind: u8, body: &[u8]) -> Vec<u8> {
            self.sqnum += 1;
            let mut n = Vec::new();
            n.extend_from_slice(&MAGIC.to_le_bytes());
            n.extend_from_slice(&[0; 4]);
            n.extend_from_slice(&self.sqnum.to_le_bytes());
            n.extend_from_slice(&((CH_LEN + body.len()) as u32).to_le_bytes());
            n.extend_from_slice(&[kind, 0, 0, 0]);
            n.extend_from_slice(body);
            let c = crc(&n[8..]);
            n[4..8].copy_from_slice(&c.to_le_bytes());
            n
        }

        /// Append a node to a LEB at an 8-byte boundary; its location.
        pub fn put(&mut self, lnum: u32, node: &[u8]) -> (u32, u32, u32) {
            let leb = &mut self.lebs[lnum as usize];
            leb.resize(leb.len().div_ceil(8) * 8, 0);
            assert!(leb.len() + node.len() <= LEB, "LEB {lnum} is full");
            let offs = leb.len() as u32;
            leb.extend_from_slice(node);
            (lnum, offs, node.len() as u32)
        }

        fn key(inum: u64, kind: u32, low: u32) -> [u8; 8] {
            let mut k = [0u8; 8];
            k[..4].copy_from_slice(&(inum as u32).to_le_bytes());
            k[4..].copy_from_slice(&((kind << 29) | low).to_le_bytes());
            k
        }

        /// A leaf in the main area (indexed) or, with `journal`, in a bud.
        fn leaf(&mut self, kind: u8, key: [u8; 8], body: &[u8], journal: bool) {
            let mut b = key.to_vec();
            b.resize(16, 0);
            b.extend_from_slice(body);
            if journal {
                // Written after the commit start, in `finish`.
                self.journal.push((kind, b));
            } else {
                let n = self.node(kind, &b);
                let (l, o, len) = self.put(MAIN, &n);
                self.leaves.push((l, o, len, key));
            }
        }

        pub fn ino(&mut self, inum: u64, mode: u32, nlink: u32, size: u64, data: &[u8], journal: bool) {
            let mut b = vec![0u8; 160 - 40];
            b[8..16].copy_from_slice(&size.to_le_bytes());
            b[52..56].copy_from_slice(&nlink.to_le_bytes());
            b[64..68].copy_from_slice(&mode.to_le_bytes());
            b[72..76].copy_from_slice(&(data.len() as u32).to_le_bytes());
            b.extend_from_slice(data);
            self.leaf(node::INO, Self::key(inum, 0, 0), &b, journal);
        }

        pub fn dent(&mut self, parent: u64, name: &str, inum: u64, journal: bool) {
            let mut b = inum.to_le_bytes().to_vec();
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(name.as_bytes());
            b.push(0);
            let hash = name
                .bytes()
                .fold(7u32, |h, c| h.wrapping_mul(31).wrapping_add(u32::from(c)))
                & 0x1fff_ffff;
            self.leaf(node::DENT, Self::key(parent, 2, hash), &b, journal);
        }

        pub fn data(&mut self, inum: u64, blk: u32, compr: u16, stored: &[u8], size: u32, journal: bool) {
            let mut b = size.to_le_bytes().to_vec();
            b.extend_from_slice(&compr.to_le_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(stored);
            self.leaf(node::DATA, Self::key(inum, 1, blk), &b, journal);
        }

        /// Write the index, the log, the master and superblock nodes, and
        /// return the image.
        pub fn finish(mut self) -> Vec<u8> {
            let mut idx = (self.leaves.len() as u16).to_le_bytes().to_vec();
            idx.extend_from_slice(&0u16.to_le_bytes());
            for (l, o, len, key) in self.leaves.clone() {
                for v in [l, o, len] {
                    idx.extend_from_slice(&v.to_le_bytes());
                }
                idx.extend_from_slice(&key);
            }
            let idx = self.node(node::IDX, &idx);
            let (root_l, root_o, root_len) = self.put(MAIN, &idx);
            // The log: a commit start, then a reference to the bud.
            let cs = self.node(node::CS, &0u64.to_le_bytes());
            self.put(FIRST_LOG_LEB, &cs);
            if !self.journal.is_empty() {
                let mut r = BUD.to_le_bytes().to_vec();
                r.extend_from_slice(&[0; 4 + 4 + 28]);
                let r = self.node(node::REF, &r);
                self.put(FIRST_LOG_LEB, &r);
                for (kind, body) in std::mem::take(&mut self.journal) {
                    let n = self.node(kind, &body);
                    self.put(BUD, &n);
                }
            }
            let mut m = vec![0u8; 512 - CH_LEN];
            m[8..16].copy_from_slice(&0u64.to_le_bytes());
            for (at, v) in [(20, FIRST_LOG_LEB), (24, root_l), (28, root_o), (32, root_len)] {
                m[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            let m = self.node(node::MST, &m);
            self.put(1, &m);
            self.put(2, &m);
            let mut sb = vec![0u8; 4096 - CH_LEN];
            for (at, v) in [(8, 8u32), (12, LEB as u32), (16, LEBS as u32), (32, 2), (56, 4)] {
                sb[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            sb[60..62].copy_from_slice(&1u16.to_le_bytes());
            let sb = self.node(node::SB, &sb);
            self.put(0, &sb);
            let mut out = Vec::new();
            for mut leb in self.lebs {
                leb.resize(LEB, 0xff);
                out.extend_from_slice(&leb);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Fs;
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    const DIR: u32 = 0o040755;
    const REG: u32 = 0o100644;

    fn sample(journal: bool) -> Vec<u8> {
        let mut fs = Fs::new();
        fs.ino(1, DIR, 3, 0, &[], false);
        fs.dent(1, "etc", 64, false);
        fs.ino(64, DIR, 2, 0, &[], false);
        let text: Vec<u8> = b"root::0:0:root:/root:/bin/sh\n".repeat(200);
        fs.dent(64, "passwd", 65, false);
        fs.ino(65, REG, 2, text.len() as u64, &[], false);
        for (blk, chunk) in text.chunks(BLOCK).enumerate() {
            let (compr, stored) = match blk % 3 {
                0 => (0, chunk.to_vec()),
                1 => (1, lzokay_native::compress(chunk).unwrap()),
                _ => {
                    use std::io::Write;
                    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
                    e.write_all(chunk).unwrap();
                    (2, e.finish().unwrap())
                }
            };
            fs.data(65, blk as u32, compr, &stored, chunk.len() as u32, false);
        }
        fs.dent(64, "passwd.lnk", 65, false);
        fs.dent(1, "sh", 66, false);
        fs.ino(66, 0o120777, 1, 12, b"/bin/busybox", false);
        fs.dent(1, "console", 67, false);
        fs.ino(67, 0o020600, 1, 0, &((5u32 << 8) | 1).to_le_bytes(), false);
        if journal {
            // After the commit: a new file, a removed entry, a rewritten block.
            fs.dent(1, "new", 68, true);
            fs.ino(68, REG, 1, 3, &[], true);
            fs.data(68, 0, 0, b"abc", 3, true);
            fs.dent(1, "console", 0, true);
            fs.data(65, 0, 0, &[b'R'; BLOCK], BLOCK as u32, true);
        }
        fs.finish()
    }

    #[test]
    fn index_walk_reads_every_node_kind() {
        let img = sample(false);
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.len, Some(img.len() as u64));
        assert_eq!(p.facts["compression"], "lzo");
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        let text = b"root::0:0:root:/root:/bin/sh\n".repeat(200);
        assert!(t.get("/etc/passwd").and_then(Node::data) == Some(&text[..]));
        assert_eq!(
            t.get("/etc/passwd.lnk").map(|n| &n.kind),
            Some(&NodeKind::HardLink("/etc/passwd".into()))
        );
        assert_eq!(
            t.get("/sh").map(|n| &n.kind),
            Some(&NodeKind::Symlink("/bin/busybox".into()))
        );
        assert_eq!(
            t.get("/console").map(|n| &n.kind),
            Some(&NodeKind::CharDevice { major: 5, minor: 1 })
        );
    }

    #[test]
    fn the_journal_is_replayed_over_the_index() {
        let x = run(&FORMAT, &sample(true)).1.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        assert_eq!(t.get("/new").and_then(Node::data), Some(&b"abc"[..]));
        assert!(t.get("/console").is_none());
        assert!(t.get("/etc/passwd").and_then(Node::data).unwrap().starts_with(b"RRRR"));
    }

    fn survive(d: &[u8]) -> Option<Extraction> {
        crate::unpack::formats::testing::survive(parse, extract, d)
    }

    #[test]
    fn corruption_and_truncation_never_panic() {
        let img = sample(true);
        for cut in (0..img.len()).step_by(509) {
            if let Some(x) = survive(&img[..cut]) {
                assert!(!x.problems.is_empty(), "cut {cut}");
            }
        }
        // Flip bytes everywhere in the written parts; CRCs catch most, the
        // rest must still be handled.
        for i in (0..img.len()).step_by(13) {
            if img[i] == 0xff {
                continue;
            }
            let mut bad = img.clone();
            bad[i] ^= 0x41;
            let _ = survive(&bad);
        }
    }

    /// Rewrite the node at `at` with `edit` applied and its CRC fixed.
    fn patch(img: &mut [u8], at: usize, edit: impl FnOnce(&mut [u8])) {
        let len = le_u32(img, at + 16).unwrap() as usize;
        edit(&mut img[at..at + len]);
        let c = crc(&img[at + 8..at + len]);
        img[at + 4..at + 8].copy_from_slice(&c.to_le_bytes());
    }

    fn find(img: &[u8], kind: u8, pred: impl Fn(&[u8]) -> bool) -> usize {
        (0..img.len() - CH_LEN)
            .step_by(8)
            .find(|&at| node_at(img, at, 1 << 20).is_some_and(|r| r.kind == kind && pred(r.bytes)))
            .unwrap()
    }

    #[test]
    fn lying_sizes_loops_and_traversal_are_problems() {
        let img = sample(false);
        // A file claiming 2^60 bytes is not allocated.
        let mut huge = img.clone();
        let at = find(&huge, node::INO, |b| le_u32(b, 24) == Some(65));
        patch(&mut huge, at, |n| {
            n[48..56].copy_from_slice(&(1u64 << 60).to_le_bytes())
        });
        let x = survive(&huge).unwrap();
        assert!(x.problems.iter().any(|p| p.contains("budget")), "{:?}", x.problems);
        // A directory entry naming the root inside /etc: a loop.
        let mut looped = img.clone();
        let at = find(&looped, node::DENT, |b| b.get(56..62) == Some(b"passwd"));
        patch(&mut looped, at, |n| n[40..48].copy_from_slice(&1u64.to_le_bytes()));
        let x = survive(&looped).unwrap();
        assert!(
            x.problems.iter().any(|p| p.contains("reachable twice")),
            "{:?}",
            x.problems
        );
        // An index node that points at itself.
        let mut cyclic = img.clone();
        let at = find(&cyclic, node::IDX, |_| true);
        let offs = (at % build::LEB) as u32;
        patch(&mut cyclic, at, |n| {
            n[26..28].copy_from_slice(&1u16.to_le_bytes());
            n[28..32].copy_from_slice(&5u32.to_le_bytes());
            n[32..36].copy_from_slice(&offs.to_le_bytes());
        });
        let x = survive(&cyclic).unwrap();
        assert!(!x.problems.is_empty());
        // A log said to span four billion LEBs is bounded by the image.
        let mut long_log = img.clone();
        patch(&mut long_log, 0, |n| n[56..60].copy_from_slice(&u32::MAX.to_le_bytes()));
        assert!(survive(&long_log).unwrap().problems.is_empty());
        // A `..` entry is refused by the sink.
        let mut dots = img;
        let at = find(&dots, node::DENT, |b| b.get(56..58) == Some(b"sh"));
        patch(&mut dots, at, |n| n[56..58].copy_from_slice(b".."));
        let x = survive(&dots).unwrap();
        assert!(x.problems.iter().any(|p| p.contains("escapes")), "{:?}", x.problems);
    }
}
