//! FAT12, FAT16 and FAT32 (SD-card images, boot and EFI partitions):
//! fwcert's own reader.
//!
//! The boot sector's BIOS parameter block gives the geometry: bytes per
//! sector, sectors per cluster, reserved sectors, the FAT copies and their
//! size, the fixed root directory (FAT12/16) or the root's first cluster
//! (FAT32). As Linux does, a zero 16-bit FAT size means FAT32; otherwise
//! fewer than 4085 clusters means FAT12. Files and directories are cluster
//! chains through the first FAT. Directory entries are 32 bytes; long names
//! are stored in preceding entries (attribute 0x0f) whose checksum must
//! match the short name, or the short name is used.
//!
//! FAT stores no owners or permissions: directories are 0755, files 0644
//! (0444 when read-only).

use std::collections::{BTreeMap, HashSet};

use crate::unpack::bytes::{c_string, le_u16, le_u32};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, need,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "fat",
    // The file-system type strings every formatter writes into the boot
    // sector; the BIOS parameter block is then checked in full.
    magics: &[
        Magic {
            bytes: b"FAT12   ",
            at: 0x36,
        },
        Magic {
            bytes: b"FAT16   ",
            at: 0x36,
        },
        Magic {
            bytes: b"FAT32   ",
            at: 0x52,
        },
    ],
    parse,
    extract,
    carve: true,
};

const ATTR_READ_ONLY: u8 = 0x01;
const ATTR_VOLUME: u8 = 0x08;
const ATTR_DIR: u8 = 0x10;
const ATTR_LFN: u8 = 0x0f;
/// Directory depth walked at most.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fat12,
    Fat16,
    Fat32,
}

/// The geometry from the boot sector, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bpb {
    pub kind: Kind,
    pub cluster_size: usize,
    pub fat_start: usize,
    pub fat_len: usize,
    /// FAT12/16: the fixed root directory region.
    pub root_start: usize,
    pub root_len: usize,
    pub data_start: usize,
    pub clusters: u32,
    pub root_cluster: u32,
    pub total_len: u64,
}

pub fn bpb(d: &[u8]) -> Result<Bpb, Reject> {
    if d.get(0x1fe..0x200) != Some(&[0x55, 0xaa]) || !matches!(d.first(), Some(0xeb | 0xe9)) {
        return Err(Reject::new("not a FAT boot sector"));
    }
    let u16_at = |at, what| need(le_u16(d, at), what).map(usize::from);
    let bps = u16_at(0x0b, "bytes per sector")?;
    let spc = usize::from(*need(d.get(0x0d), "sectors per cluster")?);
    let reserved = u16_at(0x0e, "reserved sectors")?;
    let fats = usize::from(*need(d.get(0x10), "FAT count")?);
    let root_entries = u16_at(0x11, "root entries")?;
    let total16 = u16_at(0x13, "total sectors")?;
    let fat16 = u16_at(0x16, "FAT size")?;
    let total32 = need(le_u32(d, 0x20), "total sectors")? as usize;
    if !matches!(bps, 512 | 1024 | 2048 | 4096) || !spc.is_power_of_two() || reserved == 0 || !(1..=4).contains(&fats) {
        return Err(Reject::new("implausible FAT geometry"));
    }
    let fat32 = fat16 == 0;
    let fat_sectors = if fat32 {
        need(le_u32(d, 0x24), "FAT size")? as usize
    } else {
        fat16
    };
    let total = if total16 != 0 { total16 } else { total32 };
    let root_sectors = (root_entries * 32).div_ceil(bps);
    let meta = reserved + fats * fat_sectors + root_sectors;
    if fat_sectors == 0 || total <= meta || (fat32 && root_entries != 0) {
        return Err(Reject::new("implausible FAT layout"));
    }
    let clusters = ((total - meta) / spc) as u32;
    let kind = match (fat32, clusters) {
        (true, _) => Kind::Fat32,
        (false, c) if c < 4085 => Kind::Fat12,
        _ => Kind::Fat16,
    };
    // The FAT must have an entry for every cluster.
    let entries = fat_sectors * bps * 8
        / match kind {
            Kind::Fat12 => 12,
            Kind::Fat16 => 16,
            Kind::Fat32 => 32,
        };
    if entries < clusters as usize + 2 {
        return Err(Reject::new("the FAT is too small for the data area"));
    }
    Ok(Bpb {
        kind,
        cluster_size: bps * spc,
        fat_start: reserved * bps,
        fat_len: fat_sectors * bps,
        root_start: (reserved + fats * fat_sectors) * bps,
        root_len: root_entries * 32,
        data_start: meta * bps,
        clusters,
        root_cluster: if fat32 {
            need(le_u32(d, 0x2c), "root cluster")?
        } else {
            0
        },
        total_len: (total as u64) * bps as u64,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let b = bpb(d)?;
    let kind = match b.kind {
        Kind::Fat12 => "FAT12",
        Kind::Fat16 => "FAT16",
        Kind::Fat32 => "FAT32",
    };
    let label_at = if b.kind == Kind::Fat32 { 0x47 } else { 0x2b };
    let label = c_string(d, label_at, 11).unwrap_or_default();
    let mut facts = BTreeMap::new();
    facts.insert("type".into(), kind.into());
    facts.insert("cluster_size".into(), b.cluster_size.to_string());
    facts.insert("clusters".into(), b.clusters.to_string());
    facts.insert("label".into(), label.clone());
    Ok(Parsed {
        len: Some(b.total_len.min(d.len() as u64)),
        confidence: Confidence::Medium,
        description: format!(
            "{kind} filesystem \"{label}\", {} clusters of {} bytes",
            b.clusters, b.cluster_size
        ),
        facts,
    })
}

struct Reader<'a> {
    d: &'a [u8],
    b: Bpb,
}

impl Reader<'_> {
    /// The FAT entry of cluster `n`, if the FAT holds it.
    fn next(&self, n: u32) -> Option<u32> {
        let fat = self.d.get(self.b.fat_start..self.b.fat_start + self.b.fat_len)?;
        let n = n as usize;
        match self.b.kind {
            Kind::Fat12 => {
                let v = le_u16(fat, n + n / 2)?;
                Some(u32::from(if n.is_multiple_of(2) { v & 0xfff } else { v >> 4 }))
            }
            Kind::Fat16 => le_u16(fat, 2 * n).map(u32::from),
            Kind::Fat32 => le_u32(fat, 4 * n).map(|v| v & 0x0fff_ffff),
        }
    }

    fn is_end(&self, v: u32) -> bool {
        match self.b.kind {
            Kind::Fat12 => v >= 0xff8,
            Kind::Fat16 => v >= 0xfff8,
            Kind::Fat32 => v >= 0x0fff_fff8,
        }
    }

    /// The bytes of the chain from `first`, at most `limit` of them.
    fn chain(&self, first: u32, limit: usize) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut n = first;
        while out.len() < limit {
            if n < 2 || n >= self.b.clusters + 2 {
                return Err(format!("cluster {n} lies outside the data area"));
            }
            if !seen.insert(n) {
                return Err(format!("cluster chain from {first} loops at {n}"));
            }
            let start = self.b.data_start + (n as usize - 2) * self.b.cluster_size;
            let bytes = self
                .d
                .get(start..start + self.b.cluster_size)
                .ok_or_else(|| format!("cluster {n} lies past the end of the image"))?;
            out.extend_from_slice(&bytes[..self.b.cluster_size.min(limit - out.len())]);
            let next = self
                .next(n)
                .ok_or_else(|| format!("FAT entry {n} lies outside the FAT"))?;
            if self.is_end(next) {
                break;
            }
            n = next;
        }
        Ok(out)
    }

    /// The raw entries of a directory: the fixed root, or a chain.
    fn dir_bytes(&self, first: u32) -> Result<Vec<u8>, String> {
        if first == 0 && self.b.kind != Kind::Fat32 {
            let r = self.b.root_start;
            return self
                .d
                .get(r..r + self.b.root_len)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| "the root directory lies past the end of the image".into());
        }
        // A directory cannot be larger than the data area.
        self.chain(first, self.b.clusters as usize * self.b.cluster_size)
    }
}

/// One directory entry with its resolved name.
struct Entry {
    name: String,
    attr: u8,
    cluster: u32,
    size: u32,
}

/// The checksum a long name carries of its short name.
fn short_checksum(short: &[u8]) -> u8 {
    short
        .iter()
        .fold(0u8, |s, &b| ((s & 1) << 7).wrapping_add(s >> 1).wrapping_add(b))
}

fn entries(bytes: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    // Long-name parts collected so far: (checksum, pieces by sequence).
    let mut long: Option<(u8, BTreeMap<u8, Vec<u16>>)> = None;
    for e in bytes.chunks_exact(32) {
        let attr = e[11];
        match e[0] {
            0 => break,
            0xe5 => {
                long = None;
                continue;
            }
            _ => {}
        }
        if attr == ATTR_LFN {
            let seq = e[0] & 0x1f;
            let units: Vec<u16> = [1..11, 14..26, 28..32]
                .into_iter()
                .flat_map(|r| {
                    e[r].chunks_exact(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect::<Vec<_>>()
                })
                .collect();
            if e[0] & 0x40 != 0 || long.is_none() {
                long = Some((e[13], BTreeMap::new()));
            }
            if let Some((_, parts)) = long.as_mut() {
                parts.insert(seq, units);
            }
            continue;
        }
        if attr & ATTR_VOLUME != 0 {
            long = None;
            continue;
        }
        let mut short = e[..11].to_vec();
        if short[0] == 0x05 {
            short[0] = 0xe5;
        }
        let long_name = long.take().and_then(|(sum, parts)| {
            (sum == short_checksum(&short)).then(|| {
                let units: Vec<u16> = parts
                    .into_values()
                    .flatten()
                    .take_while(|&u| u != 0 && u != 0xffff)
                    .collect();
                String::from_utf16_lossy(&units)
            })
        });
        let name = long_name.unwrap_or_else(|| short_name(&short, e[12]));
        out.push(Entry {
            name,
            attr,
            cluster: (u32::from(u16::from_le_bytes([e[20], e[21]])) << 16)
                | u32::from(u16::from_le_bytes([e[26], e[27]])),
            size: u32::from_le_bytes([e[28], e[29], e[30], e[31]]),
        });
    }
    out
}

/// An 8.3 name as `NAME.EXT`, lower-cased where the entry's case flags say.
fn short_name(short: &[u8], case: u8) -> String {
    let part = |b: &[u8], lower: bool| {
        let s = String::from_utf8_lossy(b).trim_end().to_string();
        if lower { s.to_lowercase() } else { s }
    };
    let base = part(&short[..8], case & 0x08 != 0);
    let ext = part(&short[8..], case & 0x10 != 0);
    if ext.is_empty() { base } else { format!("{base}.{ext}") }
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let b = bpb(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    if (d.len() as u64) < b.total_len {
        out.problem(format!(
            "image truncated: boot sector says {} bytes, {} present",
            b.total_len,
            d.len()
        ));
    }
    let r = Reader { d, b };
    let root = if b.kind == Kind::Fat32 { b.root_cluster } else { 0 };
    let mut sink = Sink::new(ctx.budget);
    let mut visited = HashSet::from([root]);
    let mut stack = vec![(root, String::new(), 0usize)];
    'walk: while let Some((dir, prefix, depth)) = stack.pop() {
        if let Err(e) = ctx.deadline.check() {
            out.problem(e.to_string());
            break;
        }
        let bytes = match r.dir_bytes(dir) {
            Ok(b) => b,
            Err(why) => {
                out.problem(format!("`{prefix}/`: {why}"));
                continue;
            }
        };
        let mut subdirs = Vec::new();
        for e in entries(&bytes) {
            if (e.name == "." || e.name == "..") && e.attr & ATTR_DIR != 0 {
                continue;
            }
            let path = format!("{prefix}/{}", e.name);
            if e.name.contains(['/', '\\', '\0']) || e.name.is_empty() {
                out.problem(format!("`{path}`: invalid entry name"));
                continue;
            }
            let (kind, mode) = if e.attr & ATTR_DIR != 0 {
                if depth >= MAX_DEPTH || !visited.insert(e.cluster) {
                    out.problem(format!(
                        "`{path}`: directory reached twice or nested too deep; not followed"
                    ));
                    continue;
                }
                subdirs.push((e.cluster, path.clone(), depth + 1));
                (NodeKind::Dir, 0o755)
            } else {
                if u64::from(e.size) > sink.budget().remaining_bytes() {
                    out.problem(format!("`{path}`: size {} exceeds the remaining byte budget", e.size));
                    continue;
                }
                let data = if e.size == 0 {
                    Vec::new()
                } else {
                    match r.chain(e.cluster, e.size as usize) {
                        Ok(data) if data.len() == e.size as usize => data,
                        Ok(data) => {
                            out.problem(format!(
                                "`{path}`: cluster chain holds {} of {} bytes",
                                data.len(),
                                e.size
                            ));
                            data
                        }
                        Err(why) => {
                            out.problem(format!("`{path}`: {why}"));
                            continue;
                        }
                    }
                };
                let mode = if e.attr & ATTR_READ_ONLY != 0 { 0o444 } else { 0o644 };
                (NodeKind::File(data.into()), mode)
            };
            let node = Node {
                kind,
                mode,
                uid: 0,
                gid: 0,
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

/// A small FAT writer for tests: 512-byte sectors, one sector per cluster.
#[cfg(test)]
pub mod build {
    use super::*;

    pub struct Img {
        pub kind: Kind,
        pub d: Vec<u8>,
        fat_sectors: usize,
        root_entries: usize,
        next: u32,
    }

    pub fn short(name: &str) -> [u8; 11] {
        let mut s = [b' '; 11];
        if name.starts_with('.') {
            s[..name.len()].copy_from_slice(name.as_bytes());
            return s;
        }
        let (base, ext) = name.split_once('.').unwrap_or((name, ""));
        s[..base.len()].copy_from_slice(base.as_bytes());
        s[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
        s
    }

    impl Img {
        pub fn new(kind: Kind, total: usize) -> Self {
            let (reserved, root_entries) = if kind == Kind::Fat32 { (32, 0) } else { (1, 64) };
            let bits = match kind {
                Kind::Fat12 => 12,
                Kind::Fat16 => 16,
                Kind::Fat32 => 32,
            };
            let fat_sectors = (total * bits / 8).div_ceil(512) + 1;
            let mut d = vec![0u8; total * 512];
            d[0] = 0xeb;
            d[1] = 0x3c;
            d[2] = 0x90;
            d[3..11].copy_from_slice(b"mkfs.fat");
            d[0x0b..0x0d].copy_from_slice(&512u16.to_le_bytes());
            d[0x0d] = 1;
            d[0x0e..0x10].copy_from_slice(&(reserved as u16).to_le_bytes());
            d[0x10] = 2;
            d[0x11..0x13].copy_from_slice(&(root_entries as u16).to_le_bytes());
            d[0x15] = 0xf8;
            d[0x20..0x24].copy_from_slice(&(total as u32).to_le_bytes());
            if kind == Kind::Fat32 {
                d[0x24..0x28].copy_from_slice(&(fat_sectors as u32).to_le_bytes());
                d[0x2c..0x30].copy_from_slice(&2u32.to_le_bytes());
                d[0x47..0x52].copy_from_slice(b"FWCERT     ");
                d[0x52..0x5a].copy_from_slice(b"FAT32   ");
            } else {
                d[0x16..0x18].copy_from_slice(&(fat_sectors as u16).to_le_bytes());
                d[0x2b..0x36].copy_from_slice(b"FWCERT     ");
                d[0x36..0x3e].copy_from_slice(if kind == Kind::Fat12 { b"FAT12   " } else { b"FAT16   " });
            }
            d[0x1fe..0x200].copy_from_slice(&[0x55, 0xaa]);
            let mut img = Img {
                kind,
                d,
                fat_sectors,
                root_entries,
                next: 2,
            };
            img.set(0, 0x0fff_fff8);
            img.set(1, 0x0fff_ffff);
            img
        }

        fn b(&self) -> Bpb {
            bpb(&self.d).unwrap()
        }

        pub fn set(&mut self, n: u32, v: u32) {
            let reserved = if self.kind == Kind::Fat32 { 32 } else { 1 };
            for copy in 0..2 {
                let fat = (reserved + copy * self.fat_sectors) * 512;
                let n = n as usize;
                match self.kind {
                    Kind::Fat12 => {
                        let at = fat + n + n / 2;
                        let old = u16::from_le_bytes([self.d[at], self.d[at + 1]]);
                        let v = (v & 0xfff) as u16;
                        let new = if n.is_multiple_of(2) {
                            (old & 0xf000) | v
                        } else {
                            (old & 0x000f) | (v << 4)
                        };
                        self.d[at..at + 2].copy_from_slice(&new.to_le_bytes());
                    }
                    Kind::Fat16 => self.d[fat + 2 * n..fat + 2 * n + 2].copy_from_slice(&(v as u16).to_le_bytes()),
                    Kind::Fat32 => self.d[fat + 4 * n..fat + 4 * n + 4].copy_from_slice(&v.to_le_bytes()),
                }
            }
        }

        /// Store `data` in fresh clusters, leaving a gap after the first
        /// one so chains are not contiguous; the first cluster.
        pub fn alloc(&mut self, data: &[u8]) -> u32 {
            let b = self.b();
            let mut clusters = Vec::new();
            for (i, chunk) in data.chunks(512).enumerate() {
                let n = self.next;
                self.next += if i == 0 { 2 } else { 1 };
                let at = b.data_start + (n as usize - 2) * 512;
                self.d[at..at + chunk.len()].copy_from_slice(chunk);
                clusters.push(n);
            }
            for w in clusters.windows(2) {
                self.set(w[0], w[1]);
            }
            if let Some(&last) = clusters.last() {
                self.set(last, 0x0fff_ffff);
            }
            clusters.first().copied().unwrap_or(0)
        }

        /// A directory's bytes: optional long name entries, then the short entry.
        pub fn entry(long: Option<&str>, short: [u8; 11], attr: u8, cluster: u32, size: u32) -> Vec<u8> {
            let mut out = Vec::new();
            if let Some(long) = long {
                let units: Vec<u16> = long.encode_utf16().chain([0]).collect();
                let pieces: Vec<&[u16]> = units.chunks(13).collect();
                for (i, piece) in pieces.iter().enumerate().rev() {
                    let mut e = [0xffu8; 32];
                    e[0] = (i as u8 + 1) | if i + 1 == pieces.len() { 0x40 } else { 0 };
                    e[11] = ATTR_LFN;
                    e[12] = 0;
                    e[13] = short_checksum(&short);
                    e[26] = 0;
                    e[27] = 0;
                    let slots: Vec<usize> = (1..11)
                        .step_by(2)
                        .chain((14..26).step_by(2))
                        .chain((28..32).step_by(2))
                        .collect();
                    for (j, u) in piece.iter().enumerate() {
                        e[slots[j]..slots[j] + 2].copy_from_slice(&u.to_le_bytes());
                    }
                    out.extend_from_slice(&e);
                }
            }
            let mut e = [0u8; 32];
            e[..11].copy_from_slice(&short);
            e[11] = attr;
            e[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
            e[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
            e[28..32].copy_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&e);
            out
        }

        /// Write the root directory's entries.
        pub fn root(&mut self, entries: &[u8]) {
            if self.kind == Kind::Fat32 {
                let first = self.alloc(entries);
                self.d[0x2c..0x30].copy_from_slice(&first.to_le_bytes());
            } else {
                assert!(entries.len() <= self.root_entries * 32);
                let at = self.b().root_start;
                self.d[at..at + entries.len()].copy_from_slice(entries);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::{Img, short};
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn sample(kind: Kind, total: usize) -> (Vec<u8>, Vec<u8>) {
        let mut img = Img::new(kind, total);
        let passwd: Vec<u8> = b"root::0:0:root:/root:/bin/sh\n".repeat(40);
        let p = img.alloc(&passwd);
        let readme = img.alloc(b"hello");
        let mut etc = Img::entry(None, short("."), ATTR_DIR, 0, 0);
        etc.extend(Img::entry(None, short(".."), ATTR_DIR, 0, 0));
        etc.extend(Img::entry(None, short("PASSWD"), 0x20, p, passwd.len() as u32));
        // A deleted entry is skipped.
        let mut gone = Img::entry(None, short("GONE"), 0x20, readme, 5);
        gone[0] = 0xe5;
        etc.extend(gone);
        let etc_cluster = img.alloc(&etc);
        let mut root = Img::entry(None, *b"FWCERT     ", ATTR_VOLUME, 0, 0);
        root.extend(Img::entry(None, short("ETC"), ATTR_DIR, etc_cluster, 0));
        root.extend(Img::entry(
            Some("Read Me First.txt"),
            short("README~1.TXT"),
            ATTR_READ_ONLY,
            readme,
            5,
        ));
        img.root(&root);
        (img.d, passwd)
    }

    #[test]
    fn fat12_fat16_fat32_round_trip() {
        for (kind, total) in [(Kind::Fat12, 400), (Kind::Fat16, 5000), (Kind::Fat32, 600)] {
            let (img, passwd) = sample(kind, total);
            let (p, x) = run(&FORMAT, &img);
            assert_eq!(bpb(&img).unwrap().kind, kind);
            assert_eq!(p.len, Some(img.len() as u64));
            assert_eq!(p.facts["label"], "FWCERT");
            let x = x.unwrap();
            assert!(x.problems.is_empty(), "{kind:?}: {:?}", x.problems);
            let t = tree_of(&x);
            assert!(
                t.get("/ETC/PASSWD").and_then(Node::data) == Some(&passwd[..]),
                "{kind:?}"
            );
            let readme = t.get("/Read Me First.txt").unwrap();
            assert_eq!((readme.data(), readme.mode), (Some(&b"hello"[..]), 0o444));
            assert!(t.get("/ETC/GONE").is_none() && t.get("/FWCERT").is_none());
        }
    }

    fn survive(d: &[u8]) -> Option<Extraction> {
        crate::unpack::formats::testing::survive(parse, extract, d)
    }

    #[test]
    fn loops_lies_truncation_and_traversal() {
        let (img, _) = sample(Kind::Fat12, 400);
        for cut in (512..img.len()).step_by(1000) {
            if let Some(x) = survive(&img[..cut]) {
                assert!(!x.problems.is_empty(), "cut {cut}");
            }
        }
        for i in (0..20 * 512).step_by(3) {
            let mut bad = img.clone();
            bad[i] ^= 0x3c;
            let _ = survive(&bad);
        }
        let b = bpb(&img).unwrap();
        // A chain that loops back on itself.
        let mut looped = Img::new(Kind::Fat16, 5000);
        let first = looped.alloc(&[7u8; 2000]);
        looped.set(first + 3, first);
        let mut root = Img::entry(None, short("LOOP"), 0x20, first, 4000);
        // A directory that contains itself, and names that escape.
        let dir = looped.alloc(&Img::entry(None, short("X"), 0x20, 0, 0));
        root.extend(Img::entry(None, short("SELF"), ATTR_DIR, dir, 0));
        let dir_at = bpb(&looped.d).unwrap().data_start + (dir as usize - 2) * 512;
        looped.d[dir_at..dir_at + 32].copy_from_slice(&Img::entry(None, short("AGAIN"), ATTR_DIR, dir, 0));
        root.extend(Img::entry(Some(".."), short("DOTDOT"), 0x20, 0, 0));
        root.extend(Img::entry(Some("a/b"), short("SLASH"), 0x20, 0, 0));
        root.extend(Img::entry(None, short("HUGE"), 0x20, first, u32::MAX));
        looped.root(&root);
        let x = survive(&looped.d).unwrap();
        let all = x.problems.join("\n");
        for want in ["loops", "reached twice", "escapes", "invalid entry name"] {
            assert!(all.contains(want), "{want}: {all}");
        }
        // A FAT too small for the clusters is not FAT.
        let mut small = img;
        small[0x16..0x18].copy_from_slice(&0u16.to_le_bytes());
        assert!(bpb(&small).is_err());
        assert!(b.clusters > 0);
    }
}
