//! ext2, ext3 and ext4, read with the `ext4-view` crate (MIT/Apache-2.0,
//! pure Rust, no unsafe code).
//!
//! `parse` checks the superblock (magic `0xef53` at byte 0x438 plus
//! cross-checked geometry) itself, so a chance `53 ef` elsewhere is not
//! handed to the library. Extraction walks the directory tree through the
//! library, reading regular files and symlink targets.
//!
//! What the library does not expose, and so fwcert cannot report: inode
//! numbers (a hard-linked file appears once per name, each with its data)
//! and device numbers (device nodes are recorded as 0:0; the fact
//! `device_numbers` says so).

use std::collections::BTreeMap;

use ext4_view::{Ext4, Ext4Error, FileType, PathBuf};

use crate::unpack::bytes::{le_u16, le_u32};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree, need,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "ext",
    magics: &[Magic {
        bytes: &[0x53, 0xef],
        at: 0x438,
    }],
    parse,
    extract,
    carve: true,
};

const SB: usize = 1024;
/// Directory depth walked at most: far beyond any real root filesystem,
/// and a bound on a directory that lists one of its ancestors.
const MAX_DEPTH: usize = 256;
const INCOMPAT_64BIT: u32 = 0x80;
const INCOMPAT_EXTENTS: u32 = 0x40;
const COMPAT_JOURNAL: u32 = 0x4;

/// The superblock fields fwcert checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Super {
    pub block_size: u64,
    pub blocks: u64,
    pub inodes: u32,
    pub compat: u32,
    pub incompat: u32,
    /// Block groups as the library counts them: from the 64-bit block
    /// count, high half included whatever the features say.
    pub groups: u64,
    /// Bytes per group descriptor on disk (32, or `s_desc_size` with the
    /// 64-bit feature).
    pub desc_size: u64,
    /// Where the group descriptor table starts: the block after the
    /// superblock's.
    pub desc_table: u64,
}

impl Super {
    /// Whether the group descriptor table lies within `len` bytes. The
    /// library allocates one descriptor per group before reading any, so a
    /// forged block count would make it ask for gigabytes (fuzzing found a
    /// 32 GiB request from a 2 KiB input); a table that cannot be in the
    /// image is refused first.
    pub fn descriptors_fit(&self, len: u64) -> bool {
        self.groups
            .checked_mul(self.desc_size)
            .and_then(|n| n.checked_add(self.desc_table))
            .is_some_and(|end| end <= len)
    }
}

pub fn superblock(d: &[u8]) -> Result<Super, Reject> {
    let f = |at: usize, what| need(le_u32(d, SB + at), what);
    if le_u16(d, SB + 0x38) != Some(0xef53) {
        return Err(Reject::new("not an ext superblock magic"));
    }
    let inodes = f(0, "inode count")?;
    let blocks_lo = f(4, "block count")?;
    let first_data_block = f(0x14, "first data block")?;
    let log_block = f(0x18, "block size")?;
    let blocks_per_group = f(0x20, "blocks per group")?;
    let inodes_per_group = f(0x28, "inodes per group")?;
    let rev = f(0x4c, "revision")?;
    let incompat = f(0x60, "incompatible features")?;
    if log_block > 6 || rev > 1 || blocks_lo == 0 || inodes_per_group == 0 {
        return Err(Reject::new("implausible ext superblock"));
    }
    let block_size = 1024u64 << log_block;
    if u64::from(blocks_per_group) > 8 * block_size
        || blocks_per_group == 0
        || first_data_block != u32::from(block_size == 1024)
    {
        return Err(Reject::new("implausible ext block-group geometry"));
    }
    let groups = (u64::from(blocks_lo) - u64::from(first_data_block)).div_ceil(u64::from(blocks_per_group));
    if groups * u64::from(inodes_per_group) < u64::from(inodes) {
        return Err(Reject::new("ext inode count does not fit its block groups"));
    }
    let (blocks_hi, desc_size) = if incompat & INCOMPAT_64BIT != 0 {
        let size = need(le_u16(d, SB + 0xfe), "group descriptor size")?;
        (f(0x150, "block count (high)")?, u64::from(size).max(32))
    } else {
        (0, 32)
    };
    let blocks = u64::from(blocks_lo) | (u64::from(blocks_hi) << 32);
    // `ext4-view` counts groups from the high half of the block count even
    // without the 64-bit feature, so the descriptor check must too.
    let library_blocks = u64::from(blocks_lo) | (u64::from(le_u32(d, SB + 0x150).unwrap_or(0)) << 32);
    Ok(Super {
        block_size,
        blocks,
        inodes,
        compat: f(0x5c, "compatible features")?,
        incompat,
        groups: (library_blocks - u64::from(first_data_block)).div_ceil(u64::from(blocks_per_group)),
        desc_size,
        desc_table: (u64::from(first_data_block) + 1) * block_size,
    })
}

fn flavour(s: &Super) -> &'static str {
    if s.incompat & (INCOMPAT_EXTENTS | INCOMPAT_64BIT) != 0 {
        "ext4"
    } else if s.compat & COMPAT_JOURNAL != 0 {
        "ext3"
    } else {
        "ext2"
    }
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let s = superblock(d)?;
    let len = s.blocks.saturating_mul(s.block_size);
    let mut facts = BTreeMap::new();
    facts.insert("flavour".into(), flavour(&s).into());
    facts.insert("block_size".into(), s.block_size.to_string());
    facts.insert("blocks".into(), s.blocks.to_string());
    facts.insert("inodes".into(), s.inodes.to_string());
    facts.insert("device_numbers".into(), "not read (recorded as 0:0)".into());
    Ok(Parsed {
        len: Some(len.min(d.len() as u64)),
        confidence: Confidence::Medium,
        description: format!(
            "{} filesystem, {} blocks of {} bytes",
            flavour(&s),
            s.blocks,
            s.block_size
        ),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let s = superblock(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let declared = s.blocks.saturating_mul(s.block_size);
    if (d.len() as u64) < declared {
        out.problem(format!(
            "image truncated: superblock says {declared} bytes, {} present",
            d.len()
        ));
    }
    if !s.descriptors_fit(d.len() as u64) {
        return Err(ExtractError::Corrupt(format!(
            "ext: {} block groups' descriptors ({} bytes each from offset {}) do not fit in the {} bytes present",
            s.groups,
            s.desc_size,
            s.desc_table,
            d.len()
        )));
    }
    // The library owns its reader; the copy is bounded by the image.
    let fs = Ext4::load(Box::new(d.to_vec())).map_err(|e| match e {
        Ext4Error::Incompatible(i) => ExtractError::Unsupported(format!("ext features: {i}")),
        other => ExtractError::Corrupt(format!("ext: {other}")),
    })?;
    let mut sink = Sink::new(ctx.budget);
    // A panic inside the library on hostile input must not end the scan.
    let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        walk(&fs, &mut sink, &mut out, &ctx.deadline);
    }));
    if walked.is_err() {
        out.problem("the ext reader failed on malformed metadata; the tree is incomplete");
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

fn walk(fs: &Ext4, sink: &mut Sink, out: &mut Extraction, deadline: &crate::unpack::budget::Deadline) {
    let mut stack = vec![(PathBuf::new("/"), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        if let Err(b) = deadline.check() {
            out.problem(b.to_string());
            return;
        }
        let shown = dir.display().to_string();
        let entries = match fs.read_dir(&dir) {
            Ok(e) => e,
            Err(e) => {
                out.problem(format!("`{shown}`: {e}"));
                continue;
            }
        };
        let mut listed = Vec::new();
        for e in entries {
            match e {
                Ok(e) => listed.push(e),
                Err(e) => out.problem(format!("`{shown}`: {e}")),
            }
        }
        listed.sort_by(|a, b| a.file_name().as_ref().cmp(b.file_name().as_ref()));
        let mut subdirs = Vec::new();
        for e in listed {
            let name = e.file_name();
            if name.as_ref() == b"." || name.as_ref() == b".." {
                continue;
            }
            let path = e.path();
            let shown = path.display().to_string();
            let meta = match fs.symlink_metadata(&path) {
                Ok(m) => m,
                Err(err) => {
                    out.problem(format!("`{shown}`: {err}"));
                    continue;
                }
            };
            let kind = match meta.file_type() {
                FileType::Directory => {
                    if depth >= MAX_DEPTH {
                        out.problem(format!("`{shown}`: directories nest deeper than {MAX_DEPTH}"));
                        continue;
                    }
                    subdirs.push((path.clone(), depth + 1));
                    NodeKind::Dir
                }
                FileType::Regular => {
                    if meta.len() > sink.budget().remaining_bytes() {
                        out.problem(format!(
                            "`{shown}`: size {} exceeds the remaining byte budget",
                            meta.len()
                        ));
                        continue;
                    }
                    match fs.read(&path) {
                        Ok(data) => NodeKind::File(data.into()),
                        Err(err) => {
                            out.problem(format!("`{shown}`: {err}"));
                            continue;
                        }
                    }
                }
                FileType::Symlink => match fs.read_link(&path) {
                    Ok(t) => NodeKind::Symlink(String::from_utf8_lossy(t.as_ref()).to_string()),
                    Err(err) => {
                        out.problem(format!("`{shown}`: {err}"));
                        continue;
                    }
                },
                FileType::CharacterDevice => NodeKind::CharDevice { major: 0, minor: 0 },
                FileType::BlockDevice => NodeKind::BlockDevice { major: 0, minor: 0 },
                FileType::Fifo => NodeKind::Fifo,
                FileType::Socket => NodeKind::Socket,
            };
            let node = Node {
                kind,
                mode: u32::from(meta.mode()),
                uid: meta.uid(),
                gid: meta.gid(),
            };
            if let Err(b) = sink.add(&shown, node) {
                out.problem(b.to_string());
                return;
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
}

/// A minimal ext2 writer for tests: 1 KiB blocks, one block group,
/// direct blocks only.
#[cfg(test)]
pub mod build {
    const BS: usize = 1024;
    const INODES: usize = 32;
    const INODE_TABLE: usize = 5;
    const FIRST_FREE: usize = INODE_TABLE + INODES * 128 / BS;

    /// A directory entry: inode, file type, name.
    type Entry = (u32, u8, String);

    pub struct Img {
        pub d: Vec<u8>,
        next_block: usize,
        next_inode: u32,
        /// Directory contents being built: inode → entries.
        dirs: Vec<(u32, Vec<Entry>)>,
    }

    impl Img {
        pub fn new(blocks: usize) -> Self {
            let mut img = Img {
                d: vec![0; blocks * BS],
                next_block: FIRST_FREE,
                next_inode: 11,
                dirs: vec![(2, Vec::new())],
            };
            img.inode(2, 0o040755, 0, &[]);
            img
        }

        fn put32(&mut self, at: usize, v: u32) {
            self.d[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }

        fn put16(&mut self, at: usize, v: u16) {
            self.d[at..at + 2].copy_from_slice(&v.to_le_bytes());
        }

        /// Write inode `n` with its data in fresh blocks (or inline for a
        /// short symlink).
        pub fn inode(&mut self, n: u32, mode: u16, links: u16, data: &[u8]) {
            let at = INODE_TABLE * BS + (n as usize - 1) * 128;
            self.put16(at, mode);
            self.put32(at + 4, data.len() as u32);
            self.put16(at + 0x1a, links.max(1));
            if mode & 0o170000 == 0o120000 && data.len() < 60 {
                self.d[at + 0x28..at + 0x28 + data.len()].copy_from_slice(data);
                return;
            }
            let blocks = data.len().div_ceil(BS);
            assert!(blocks <= 12);
            for (i, chunk) in data.chunks(BS).enumerate() {
                let b = self.next_block;
                self.next_block += 1;
                self.d[b * BS..b * BS + chunk.len()].copy_from_slice(chunk);
                self.put32(at + 0x28 + 4 * i, b as u32);
            }
            self.put32(at + 0x1c, (blocks * BS / 512) as u32);
        }

        /// Add an entry to directory `dir`; returns the new inode number
        /// (or `target` when linking an existing one).
        pub fn entry(&mut self, dir: u32, name: &str, ftype: u8, target: Option<u32>) -> u32 {
            let n = target.unwrap_or_else(|| {
                self.next_inode += 1;
                self.next_inode
            });
            if ftype == 2 && target.is_none() {
                self.dirs.push((n, Vec::new()));
            }
            let list = &mut self.dirs.iter_mut().find(|(d, _)| *d == dir).unwrap().1;
            list.push((n, ftype, name.to_string()));
            n
        }

        /// Lay out the directories and the superblock; the image.
        pub fn finish(mut self) -> Vec<u8> {
            let dirs = std::mem::take(&mut self.dirs);
            for (ino, entries) in &dirs {
                let parent = dirs
                    .iter()
                    .find(|(_, e)| e.iter().any(|(n, t, _)| n == ino && *t == 2))
                    .map_or(2, |(p, _)| *p);
                let mut all = vec![(*ino, 2u8, ".".to_string()), (parent, 2, "..".to_string())];
                all.extend(entries.iter().cloned());
                let mut block = Vec::new();
                for (i, (n, t, name)) in all.iter().enumerate() {
                    let len = (8 + name.len()).div_ceil(4) * 4;
                    let rec = if i + 1 == all.len() { BS - block.len() } else { len };
                    block.extend_from_slice(&n.to_le_bytes());
                    block.extend_from_slice(&(rec as u16).to_le_bytes());
                    block.extend_from_slice(&[name.len() as u8, *t]);
                    block.extend_from_slice(name.as_bytes());
                    block.resize(block.len() + rec - 8 - name.len(), 0);
                }
                let links = 2 + entries.iter().filter(|e| e.1 == 2).count() as u16;
                self.inode(*ino, 0o040755, links, &block);
            }
            let blocks = self.d.len() / BS;
            let sb = BS;
            for (at, v) in [
                (0, INODES as u32),
                (4, blocks as u32),
                (0x14, 1),
                (0x18, 0),
                (0x20, 8192),
                (0x24, 8192),
                (0x28, INODES as u32),
                (0x4c, 1),
                (0x54, 11),
                (0x60, 2),
            ] {
                self.put32(sb + at, v);
            }
            self.put16(sb + 0x38, 0xef53);
            self.put16(sb + 0x3a, 1);
            self.put16(sb + 0x58, 128);
            let gd = 2 * BS;
            self.put32(gd, 3);
            self.put32(gd + 4, 4);
            self.put32(gd + 8, INODE_TABLE as u32);
            // Bitmaps: used blocks and inodes.
            for b in 1..self.next_block {
                self.d[3 * BS + (b - 1) / 8] |= 1 << ((b - 1) % 8);
            }
            for i in 0..self.next_inode as usize {
                self.d[4 * BS + i / 8] |= 1 << (i % 8);
            }
            self.d
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Img;
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn sample() -> Img {
        let mut img = Img::new(128);
        let etc = img.entry(2, "etc", 2, None);
        let passwd = img.entry(etc, "passwd", 1, None);
        let text = b"root::0:0:root:/root:/bin/sh\n".repeat(60);
        img.inode(passwd, 0o100644, 2, &text);
        img.entry(2, "passwd.lnk", 1, Some(passwd));
        let sh = img.entry(2, "sh", 7, None);
        img.inode(sh, 0o120777, 1, b"/bin/busybox");
        let console = img.entry(2, "console", 3, None);
        img.inode(console, 0o020600, 1, &[]);
        img
    }

    #[test]
    fn an_ext2_image_unpacks() {
        let img = sample().finish();
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.facts["flavour"], "ext2");
        assert_eq!(p.len, Some(img.len() as u64));
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        let text = b"root::0:0:root:/root:/bin/sh\n".repeat(60);
        assert!(t.get("/etc/passwd").and_then(Node::data) == Some(&text[..]));
        // Without inode numbers a hard link is a second copy.
        assert!(t.get("/passwd.lnk").and_then(Node::data) == Some(&text[..]));
        assert_eq!(
            t.get("/sh").map(|n| &n.kind),
            Some(&NodeKind::Symlink("/bin/busybox".into()))
        );
        assert_eq!(
            t.get("/console").map(|n| &n.kind),
            Some(&NodeKind::CharDevice { major: 0, minor: 0 })
        );
        assert_eq!(t.get("/etc").map(|n| n.mode), Some(0o755));
    }

    #[test]
    fn chance_magics_are_rejected() {
        let mut d = vec![0u8; 4096];
        d[0x438..0x43a].copy_from_slice(&[0x53, 0xef]);
        assert!(parse(&d).is_err());
        let img = sample().finish();
        let mut bad = img.clone();
        bad[SB + 0x18] = 9;
        assert!(parse(&bad).is_err());
    }

    /// Regression for the fuzzer's out-of-memory abort in `ext4-view`'s
    /// `Ext4::load` (2026-12-06): a 64-bit feature flag and a high block
    /// count claim half a billion block groups in a small image.
    #[test]
    fn a_forged_block_count_is_refused_before_the_library_allocates() {
        let mut img = sample().finish();
        let incompat = le_u32(&img, SB + 0x60).unwrap() | INCOMPAT_64BIT;
        img[SB + 0x60..SB + 0x64].copy_from_slice(&incompat.to_le_bytes());
        img[SB + 0xfe..SB + 0x100].copy_from_slice(&64u16.to_le_bytes());
        img[SB + 0x150..SB + 0x154].copy_from_slice(&0x40u32.to_le_bytes());
        let s = superblock(&img).unwrap();
        assert!(s.groups > 1 << 20, "{} groups", s.groups);
        assert!(!s.descriptors_fit(img.len() as u64));
        match run(&FORMAT, &img).1 {
            Err(ExtractError::Corrupt(m)) => assert!(m.contains("do not fit"), "{m}"),
            other => panic!("expected a corrupt image, got {other:?}"),
        }
        // The fuzzer's input: no 64-bit feature, yet a high block count,
        // which the library reads all the same.
        let mut plain = sample().finish();
        plain[SB + 0x150..SB + 0x154].copy_from_slice(&0x1000u32.to_le_bytes());
        assert_eq!(
            superblock(&plain).unwrap().blocks,
            superblock(&sample().finish()).unwrap().blocks
        );
        match run(&FORMAT, &plain).1 {
            Err(ExtractError::Corrupt(m)) => assert!(m.contains("do not fit"), "{m}"),
            other => panic!("expected a corrupt image, got {other:?}"),
        }
        // The honest image's single group fits.
        let fine = superblock(&sample().finish()).unwrap();
        assert_eq!(fine.groups, 1);
        assert!(fine.descriptors_fit(sample().finish().len() as u64));
    }

    fn survive(d: &[u8]) -> Option<Extraction> {
        crate::unpack::formats::testing::survive(parse, extract, d)
    }

    #[test]
    fn hostile_images_are_problems_never_panics() {
        let img = sample().finish();
        for cut in [2048, 5000, 9000, 12000, img.len() - 1024] {
            if let Some(x) = survive(&img[..cut]) {
                assert!(!x.problems.is_empty(), "cut {cut}");
            }
        }
        for i in (1024..12 * 1024).step_by(7) {
            let mut bad = img.clone();
            bad[i] ^= 0x5a;
            let _ = survive(&bad);
        }
        // A directory that lists the root: the walk stops at its depth limit.
        let mut looped = sample();
        looped.entry(2, "loop", 2, Some(2));
        let x = survive(&looped.finish()).unwrap();
        assert!(
            x.problems
                .iter()
                .any(|p| p.contains("deeper") || p.contains("too long")),
            "{:?}",
            &x.problems[..1]
        );
    }
}
