//! SquashFS, read with the `backhand` crate through fwcert's own codec.
//!
//! backhand's default build has no LZMA, the most common compression in
//! router images. fwcert plugs its own decoders into backhand's
//! `CompressionAction` trait instead (`decode::block`): zlib
//! (flate2/miniz_oxide), LZMA and XZ (xz-utils' liblzma, bundled; lzma-rust2
//! for the vendor LZMA variant whose blocks carry only the 5 property bytes),
//! LZO (fwcert's own bounded LZO1X decoder), LZ4 (lz4_flex) and Zstandard
//! (ruzstd).
//!
//! AVM's big-endian SquashFS 4 (Fritz!Box firmware for big-endian MIPS)
//! stores every field big-endian except the 16-bit header of each metadata
//! block, which stays little-endian: backhand's `AVM_BE_V4_0` kind, which
//! its authors test against `dnicolodi/squashfs-avm-tools`. A big-endian
//! image is read as AVM's when its metadata headers only make sense
//! little-endian ([`avm_layout`]), and the other reading is tried when the
//! first one fails. AVM's little-endian images are standard SquashFS 4.
//!
//! Versions 2.x and 3.x are read by fwcert's own reader in
//! [`super::squashfs_legacy`]; 1.x is recognised and reported as
//! unsupported so the scan fails closed instead of silently skipping it.

use std::collections::BTreeMap;
use std::io::Cursor;

use backhand::compression::{CompressionAction, Compressor};
use backhand::kind::{self, Kind};
use rayon::prelude::*;

use backhand::v4::filesystem::reader::SquashfsRawData;
use backhand::{BackhandError, FilesystemCompressor, FilesystemReader, InnerNode, SquashfsFileReader, SuperBlock};

use crate::unpack::budget::{BudgetExceeded, Deadline};
use crate::unpack::bytes::{be_u16, be_u32, be_u64, le_u16, le_u32, le_u64};
use crate::unpack::decode::{BlockCodec, Stop, block_into};
use crate::unpack::format::{
    Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT_LE: Format = Format {
    name: "squashfs",
    // `zlqs`: the sqlzma LZMA magic, read by [`super::squashfs_legacy`].
    magics: &[Magic::at_start(b"hsqs"), Magic::at_start(b"zlqs")],
    parse,
    extract,
    carve: true,
};

pub const FORMAT_BE: Format = Format {
    name: "squashfs",
    // `sqlz`: the sqlzma LZMA magic, read by [`super::squashfs_legacy`].
    magics: &[Magic::at_start(b"sqsh"), Magic::at_start(b"sqlz")],
    parse,
    extract,
    carve: true,
};

/// Largest block SquashFS allows (1 MiB).
const MAX_BLOCK: usize = 1 << 20;

/// The superblock fields fwcert checks before handing bytes to backhand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Super {
    pub big_endian: bool,
    pub major: u16,
    pub minor: u16,
    pub inodes: u32,
    pub block_size: u32,
    pub compressor: u16,
    pub bytes_used: u64,
    pub mod_time: u32,
}

pub fn superblock(d: &[u8]) -> Result<Super, Reject> {
    let (big_endian, _) = super::squashfs_legacy::byte_order(d)?;
    let u16_at = |at| if big_endian { be_u16(d, at) } else { le_u16(d, at) };
    let u32_at = |at| if big_endian { be_u32(d, at) } else { le_u32(d, at) };
    let u64_at = |at| if big_endian { be_u64(d, at) } else { le_u64(d, at) };
    let major = need(u16_at(28), "version")?;
    if !(1..=4).contains(&major) {
        return Err(Reject::new(format!("implausible SquashFS major version {major}")));
    }
    let s = Super {
        big_endian,
        major,
        minor: need(u16_at(30), "version")?,
        inodes: need(u32_at(4), "inode count")?,
        mod_time: need(u32_at(8), "modification time")?,
        block_size: need(u32_at(12), "block size")?,
        compressor: need(u16_at(20), "compressor")?,
        bytes_used: if major == 4 { need(u64_at(40), "bytes used")? } else { 0 },
    };
    if major == 4 {
        if !s.block_size.is_power_of_two() || !(4096..=MAX_BLOCK as u32).contains(&s.block_size) {
            return Err(Reject::new(format!("implausible block size {}", s.block_size)));
        }
        if s.bytes_used < 96 || s.compressor == 0 || s.compressor > 6 {
            return Err(Reject::new("implausible SquashFS 4 superblock"));
        }
    }
    Ok(s)
}

pub fn compressor_name(id: u16) -> &'static str {
    match id {
        1 => "gzip",
        2 => "lzma",
        3 => "lzo",
        4 => "xz",
        5 => "lz4",
        6 => "zstd",
        _ => "unknown",
    }
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let s = superblock(d)?;
    if matches!(s.major, 2 | 3) {
        return super::squashfs_legacy::parse(d);
    }
    let mut facts = BTreeMap::new();
    facts.insert("version".into(), format!("{}.{}", s.major, s.minor));
    facts.insert("endianness".into(), if s.big_endian { "big" } else { "little" }.into());
    facts.insert("inodes".into(), s.inodes.to_string());
    facts.insert("block_size".into(), s.block_size.to_string());
    facts.insert("modification_time".into(), s.mod_time.to_string());
    if s.major == 4 {
        facts.insert("compression".into(), compressor_name(s.compressor).into());
        facts.insert("bytes_used".into(), s.bytes_used.to_string());
    }
    let avm = s.major == 4 && s.big_endian && avm_layout(d);
    if avm {
        facts.insert("variant".into(), "avm".into());
    }
    Ok(Parsed {
        len: (s.major == 4).then(|| s.bytes_used.min(d.len() as u64)),
        confidence: Confidence::Medium,
        description: format!(
            "SquashFS {}.{} {}{}, {} inodes{}",
            s.major,
            s.minor,
            if s.big_endian { "big-endian" } else { "little-endian" },
            if avm { " (AVM)" } else { "" },
            s.inodes,
            if s.major == 4 {
                format!(", {}", compressor_name(s.compressor))
            } else {
                String::new()
            }
        ),
        facts,
    })
}

pub fn extract(d: &[u8], p: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let s = superblock(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    if matches!(s.major, 2 | 3) {
        return super::squashfs_legacy::extract(d, p, ctx);
    }
    if s.major != 4 {
        return Err(ExtractError::Unsupported(format!(
            "SquashFS {}.{} is not supported yet",
            s.major, s.minor
        )));
    }
    let mut out = Extraction::default();
    if (d.len() as u64) < s.bytes_used {
        out.problem(format!(
            "image truncated: superblock says {} bytes, {} present",
            s.bytes_used,
            d.len()
        ));
    }
    let kinds = match (s.big_endian, avm_layout(d)) {
        (false, _) => vec![kind::LE_V4_0],
        (true, false) => vec![kind::BE_V4_0, kind::AVM_BE_V4_0],
        (true, true) => vec![kind::AVM_BE_V4_0, kind::BE_V4_0],
    };
    let mut first_error = None;
    let mut fs = None;
    for base in kinds {
        let kind = Kind::new_v4_with_const(&READ_CODEC, base);
        match FilesystemReader::from_reader_with_offset_and_kind(Cursor::new(d), 0, kind) {
            Ok(reader) => {
                fs = Some(reader);
                break;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let Some(fs) = fs else {
        let why = first_error.map_or_else(String::new, |e| e.to_string());
        return Err(ExtractError::Corrupt(format!("SquashFS metadata: {why}")));
    };
    let deadline = ctx.deadline.clone();
    let mut sink = Sink::new(ctx.budget);
    let nodes: Vec<_> = fs.files().collect();
    let mut bufs = BlockBufs::default();
    let mut next = 0;
    'batches: while next < nodes.len() {
        let batch = &nodes[next..batch_end(&nodes, next)];
        next += batch.len();
        // Decode the batch's files in parallel, each capped at its declared
        // size; a file that does not decode cleanly within that and within
        // the budget left when its turn comes is read again below exactly
        // as a sequential reader would, so the tree, the budget and the
        // problems are the same whatever the number of threads.
        //
        // One task per file, largest first: sizes vary by orders of
        // magnitude (a BusyBox beside hundreds of scripts), and a big file
        // decoded last keeps one thread busy while the other waits for the
        // batch to end. (`fwcert unpack` of a router image, medians of 40
        // and 60 alternating runs: 94.9 → 92.6 ms and 88.6 → 87.5 ms.)
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(declared_len(batch[i])));
        let mut decoded: Vec<Option<Vec<u8>>> = vec![None; batch.len()];
        let early: Vec<(usize, Option<Vec<u8>>)> = order
            .par_iter()
            .with_max_len(1)
            .map_init(BlockBufs::default, |bufs, &i| match &batch[i].inner {
                InnerNode::File(f) if batch.len() > 1 => {
                    (i, read_file(&fs, f, f.file_len() as u64, &deadline, bufs).ok())
                }
                _ => (i, None),
            })
            .collect();
        for (i, data) in early {
            decoded[i] = data;
        }
        for (node, early) in batch.iter().zip(decoded) {
            let path = node.fullpath.to_string_lossy().to_string();
            if path == "/" {
                continue;
            }
            let mode = u32::from(node.header.permissions) & 0o7777;
            let kind = match &node.inner {
                InnerNode::Dir(_) => NodeKind::Dir,
                InnerNode::Symlink(l) => NodeKind::Symlink(l.link.to_string_lossy().to_string()),
                InnerNode::CharacterDevice(c) => {
                    let (major, minor) = split_dev(c.device_number);
                    NodeKind::CharDevice { major, minor }
                }
                InnerNode::BlockDevice(b) => {
                    let (major, minor) = split_dev(b.device_number);
                    NodeKind::BlockDevice { major, minor }
                }
                InnerNode::NamedPipe => NodeKind::Fifo,
                InnerNode::Socket => NodeKind::Socket,
                InnerNode::File(f) => {
                    let remaining = sink.budget().remaining_bytes();
                    let data = match early {
                        Some(data) if data.len() as u64 <= remaining => Ok(data),
                        _ => read_file(&fs, f, remaining, &deadline, &mut bufs),
                    };
                    match data {
                        Ok(data) => NodeKind::File(data.into()),
                        // The cap was what is left of the byte budget.
                        Err(Stop::Budget(BudgetExceeded::TotalBytes(_))) => {
                            out.problem(format!("{path}: {}", sink.budget().refuse_bytes()));
                            break 'batches;
                        }
                        Err(Stop::Budget(b)) => {
                            out.problem(format!("{path}: {b}"));
                            break 'batches;
                        }
                        Err(stop) => {
                            out.problem(format!("{path}: {stop}"));
                            continue;
                        }
                    }
                }
            };
            let node = Node {
                kind,
                mode,
                uid: node.header.uid,
                gid: node.header.gid,
            };
            if let Err(b) = sink.add(&path, node) {
                out.problem(b.to_string());
                break 'batches;
            }
        }
    }
    let (tree, refusals) = sink.finish();
    for r in refusals {
        out.problem(r.to_string());
    }
    out.children.push(Child::Tree(tree));
    Ok(out)
}

/// Whether a big-endian SquashFS 4 image's metadata block headers only
/// make sense little-endian, as in AVM's variant: the headers at the
/// start of the inode and directory tables must each declare 1..=8192
/// bytes that lie inside the image.
pub fn avm_layout(d: &[u8]) -> bool {
    let header_fits = |at: Option<u64>, big: bool| {
        let Some(at) = at.and_then(|a| usize::try_from(a).ok()) else {
            return false;
        };
        let header = if big { be_u16(d, at) } else { le_u16(d, at) };
        header.is_some_and(|h| {
            let len = usize::from(h & 0x7fff);
            (1..=8192).contains(&len) && at.saturating_add(2 + len) <= d.len()
        })
    };
    let tables = [be_u64(d, 64), be_u64(d, 72)];
    let fits = |big| tables.iter().all(|&t| header_fits(t, big));
    !fits(true) && fits(false)
}

/// Declared file bytes decoded together in one parallel batch. It bounds
/// the memory a batch can hold beyond the sequential reader's (a hostile
/// size field cannot make every thread allocate the whole budget), and a
/// file declared larger is read on its own.
const DECODE_BATCH: u64 = 8 << 20;

/// The two block buffers a thread reuses from file to file: a block as
/// stored in the image, and the same block decoded.
#[derive(Default)]
struct BlockBufs {
    stored: Vec<u8>,
    decoded: Vec<u8>,
}

/// The most [`read_file`] reserves up front: a file's declared size comes
/// from the image and is not trusted with more.
const RESERVE_MAX: u64 = 16 << 20;

/// Read `file` to its end, but no more than `cap` bytes (an error past
/// that), without charging the budget (the sink charges what is kept).
///
/// The result, and the error of a file that does not read, are those of
/// reading backhand's `reader()` to its end in 64 KiB steps: each block
/// is decoded into `bufs` and its part of the file appended to one buffer
/// reserved for the declared size, instead of passing through the
/// reader's two block buffers of its own and a copy buffer, all allocated
/// anew for each of the hundreds of files of a root filesystem.
fn read_file(
    fs: &FilesystemReader,
    file: &SquashfsFileReader,
    cap: u64,
    deadline: &Deadline,
    bufs: &mut BlockBufs,
) -> Result<Vec<u8>, Stop> {
    // As `reader()`: a fragment index outside the fragment table reads the
    // whole blocks only.
    let mut raw = SquashfsRawData::new(fs, file).unwrap_or_else(|_| SquashfsRawData::new_without_fragment(fs, file));
    let len = file.file_len() as u64;
    let mut data = Vec::new();
    // A reservation that cannot be had is no error: the buffer grows.
    let _ = data.try_reserve_exact(len.min(cap).min(RESERVE_MAX) as usize);
    let failed = |e: BackhandError, at: usize| {
        Stop::Corrupt(format!("read failed after {at} bytes: {}", std::io::Error::from(e)))
    };
    while (data.len() as u64) < len {
        deadline.check().map_err(Stop::Budget)?;
        let Some(block) = raw.next_block(&mut bufs.stored) else {
            break; // fewer blocks than the size says: the file ends here
        };
        let block = block.map_err(|e| failed(e, data.len()))?;
        bufs.decoded.clear();
        raw.decompress(block, &mut bufs.stored, &mut bufs.decoded)
            .map_err(|e| failed(e, data.len()))?;
        let take = (len - data.len() as u64).min(bufs.decoded.len() as u64) as usize;
        if take == 0 {
            break; // an empty block ends a reader's file too
        }
        if data.len() as u64 + take as u64 > cap {
            return Err(Stop::Budget(BudgetExceeded::TotalBytes(cap)));
        }
        data.extend_from_slice(&bufs.decoded[..take]);
    }
    data.shrink_to_fit();
    Ok(data)
}

/// The end of the batch of `nodes` that starts at `from`: at least one
/// node, then as many as fit in [`DECODE_BATCH`] declared file bytes.
fn batch_end(nodes: &[&backhand::Node<backhand::SquashfsFileReader>], from: usize) -> usize {
    let mut bytes = 0u64;
    let mut end = from;
    for node in &nodes[from..] {
        bytes = bytes.saturating_add(declared_len(node));
        if end > from && bytes > DECODE_BATCH {
            break;
        }
        end += 1;
    }
    end
}

/// The size a file node declares; 0 for other nodes.
fn declared_len(node: &backhand::Node<backhand::SquashfsFileReader>) -> u64 {
    match &node.inner {
        InnerNode::File(f) => f.file_len() as u64,
        _ => 0,
    }
}

/// Linux `new_encode_dev` packing, as SquashFS stores device numbers.
fn split_dev(dev: u32) -> (u32, u32) {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    (major, minor)
}

/// fwcert's codec for backhand: pure-Rust decoders for every compressor
/// fwcert supports, and (for building samples) one fixed encoder.
pub struct Codec {
    /// What `compress` produces; backhand does not tell the codec.
    pub writes: Compressor,
}

/// The codec used for reading; it never compresses.
pub static READ_CODEC: Codec = Codec {
    writes: Compressor::Uncompressed,
};
pub static GZIP_CODEC: Codec = Codec {
    writes: Compressor::Gzip,
};
pub static LZMA_CODEC: Codec = Codec {
    writes: Compressor::Lzma,
};
pub static XZ_CODEC: Codec = Codec { writes: Compressor::Xz };

impl CompressionAction for Codec {
    type Error = BackhandError;
    type Compressor = Compressor;
    type FilesystemCompressor = FilesystemCompressor;
    type SuperBlock = SuperBlock;

    fn decompress(&self, bytes: &[u8], out: &mut Vec<u8>, compressor: Compressor) -> Result<(), BackhandError> {
        let codec = match compressor {
            Compressor::Uncompressed => {
                out.extend_from_slice(bytes);
                return Ok(());
            }
            Compressor::Gzip => BlockCodec::Zlib,
            Compressor::Lzma => BlockCodec::Lzma,
            Compressor::Xz => BlockCodec::Xz,
            Compressor::Lzo => BlockCodec::Lzo,
            Compressor::Lz4 => BlockCodec::Lz4,
            Compressor::Zstd => BlockCodec::Zstd,
        };
        block_into(codec, bytes, MAX_BLOCK, out)
            .map_err(|e| BackhandError::StdIo(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
    }

    fn compress(&self, bytes: &[u8], _: FilesystemCompressor, _block_size: u32) -> Result<Vec<u8>, BackhandError> {
        use std::io::Write;
        match self.writes {
            Compressor::Gzip => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(bytes)?;
                Ok(e.finish()?)
            }
            Compressor::Lzma => Ok(super::lzma::compress(bytes)?),
            Compressor::Xz => Ok(super::xz::compress(bytes)?),
            Compressor::Uncompressed => Ok(bytes.to_vec()),
            other => Err(BackhandError::UnsupportedCompression(format!("{other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;
    use backhand::{FilesystemWriter, NodeHeader};

    fn image(codec: &'static Codec) -> Vec<u8> {
        image_as(codec, Kind::new_v4(codec))
    }

    /// `/etc` holding `shadow` and the symlink `sh`, written as `kind`
    /// (standard LE or BE, or AVM's big-endian variant).
    fn image_as(codec: &'static Codec, kind: Kind) -> Vec<u8> {
        let mut w = FilesystemWriter::default();
        w.set_time(1_600_000_000);
        w.set_kind(kind);
        w.set_compressor(FilesystemCompressor::new(codec.writes, None).unwrap());
        let h = NodeHeader::new(0o644, 0, 0, 1_600_000_000);
        w.push_dir("etc", NodeHeader::new(0o755, 0, 0, 1_600_000_000)).unwrap();
        w.push_file(Cursor::new(b"root::0:0:99999:7:::\n".to_vec()), "etc/shadow", h)
            .unwrap();
        w.push_symlink("/bin/busybox", "etc/sh", h).unwrap();
        let mut out = Cursor::new(Vec::new());
        w.write(&mut out).unwrap();
        out.into_inner()
    }

    /// The shadow file and the link [`image_as`] writes, read back.
    fn assert_image_files(t: &crate::unpack::tree::FsTree) {
        assert_eq!(
            t.get("/etc/shadow").and_then(Node::data),
            Some(&b"root::0:0:99999:7:::\n"[..])
        );
        assert_eq!(
            t.get("/etc/sh").map(|n| &n.kind),
            Some(&NodeKind::Symlink("/bin/busybox".into()))
        );
    }

    fn unpack(d: &[u8]) -> Extraction {
        run(&FORMAT_LE, d).1.unwrap()
    }

    #[test]
    fn every_writable_codec_round_trips() {
        for codec in [&GZIP_CODEC, &LZMA_CODEC, &XZ_CODEC] {
            let img = image(codec);
            let p = parse(&img).unwrap();
            assert_eq!(p.facts["version"], "4.0");
            let x = unpack(&img);
            assert!(x.problems.is_empty(), "{:?}: {:?}", codec.writes, x.problems);
            let Child::Tree(t) = &x.children[0] else {
                panic!("no tree")
            };
            assert_image_files(t);
        }
    }

    /// `d/big` (larger than a decode batch), then `d/f00`..`d/f39` of
    /// 1000 bytes each.
    fn many_files() -> Vec<u8> {
        let mut w = FilesystemWriter::default();
        w.set_kind(Kind::new_v4(&GZIP_CODEC));
        w.set_compressor(FilesystemCompressor::new(Compressor::Gzip, None).unwrap());
        let h = NodeHeader::new(0o644, 0, 0, 0);
        w.push_dir("d", NodeHeader::new(0o755, 0, 0, 0)).unwrap();
        w.push_file(Cursor::new(vec![7u8; DECODE_BATCH as usize + 1]), "d/big", h)
            .unwrap();
        for i in 0..40u8 {
            let data: Vec<u8> = (0..1000u32).map(|k| (k as u8).wrapping_mul(i)).collect();
            w.push_file(Cursor::new(data), format!("d/f{i:02}"), h).unwrap();
        }
        let mut out = Cursor::new(Vec::new());
        w.write(&mut out).unwrap();
        out.into_inner()
    }

    #[test]
    fn files_decoded_in_parallel_reach_the_sink_in_order_within_the_budget() {
        use crate::unpack::budget::{Budget, BudgetExceeded, Deadline, Limits};
        use crate::unpack::formats::testing::tree_of;
        let img = many_files();
        let run_with = |threads: usize, limits: Limits| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut budget = Budget::new(limits, img.len() as u64);
                let mut ctx = ExtractCtx {
                    budget: &mut budget,
                    deadline: Deadline::far(),
                    source: Default::default(),
                };
                extract(&img, &parse(&img).unwrap(), &mut ctx).unwrap()
            })
        };
        let one = run_with(1, Limits::default());
        assert!(one.problems.is_empty(), "{:?}", one.problems);
        let t = tree_of(&one);
        assert_eq!(t.files().count(), 41);
        assert_eq!(
            t.get("/d/big").and_then(Node::data).map(<[u8]>::len),
            Some(DECODE_BATCH as usize + 1)
        );
        assert_eq!(t.get("/d/f03").and_then(Node::data).map(|d| d[5]), Some(15));
        assert_eq!(tree_of(&run_with(3, Limits::default())), t);
        // The budget runs out 500 bytes into d/f25, whichever thread decoded it.
        let fits = DECODE_BATCH + 1 + 25 * 1000 + 500;
        let tight = Limits {
            min_total_bytes: fits,
            max_total_bytes: fits,
            ..Limits::default()
        };
        for threads in [1, 3] {
            let x = run_with(threads, tight.clone());
            let t = tree_of(&x);
            assert!(t.get("/d/f24").is_some() && t.get("/d/f25").is_none());
            // The refusal names the budget, not the 500 bytes left of it.
            assert_eq!(x.problems, [format!("/d/f25: {}", BudgetExceeded::TotalBytes(fits))]);
        }
    }

    /// Files of every shape `read_file` meets, in 4 KiB blocks: empty,
    /// fragment-only, exactly one block, blocks and a fragment tail, all
    /// zeros (sparse blocks) and incompressible (blocks stored as they are).
    fn file_shapes(codec: &'static Codec) -> Vec<u8> {
        let mut rng = crate::testing::Xorshift::new(7);
        let mut w = FilesystemWriter::default();
        w.set_kind(Kind::new_v4(codec));
        w.set_compressor(FilesystemCompressor::new(codec.writes, None).unwrap());
        w.set_block_size(4096);
        let h = NodeHeader::new(0o644, 0, 0, 0);
        let text = |n: usize| -> Vec<u8> { (0..n).map(|k| b"root:x:0:0\n"[k % 11]).collect() };
        let noise: Vec<u8> = (0..20_000).map(|_| rng.next_u64() as u8).collect();
        let files: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("tail", text(100)),
            ("block", text(4096)),
            ("blocks", text(3 * 4096 + 777)),
            ("zeros", vec![0; 3 * 4096 + 5]),
            ("noise", noise),
        ];
        for (name, data) in files {
            w.push_file(Cursor::new(data), name, h).unwrap();
        }
        let mut out = Cursor::new(Vec::new());
        w.write(&mut out).unwrap();
        out.into_inner()
    }

    /// What reading backhand's `reader()` to its end gives (the way files
    /// were read before [`read_file`]): the oracle of the next test.
    fn through_the_reader(fs: &FilesystemReader, f: &SquashfsFileReader, cap: u64) -> String {
        let read = crate::unpack::decode::read_capped(&mut fs.file(f).reader(), cap, &Deadline::far());
        format!("{read:?}")
    }

    #[test]
    fn read_file_gives_what_backhands_reader_gives_on_sound_and_damaged_images() {
        let mut rng = crate::testing::Xorshift::new(11);
        let mut compared = 0;
        let mut damaged_reads = 0;
        for codec in [&GZIP_CODEC, &XZ_CODEC] {
            let sound = file_shapes(codec);
            let used = superblock(&sound).unwrap().bytes_used as usize;
            let mut images = vec![sound.clone()];
            for _ in 0..300 {
                let mut d = sound.clone();
                // Damage the data blocks and fragments (they come first,
                // after the 96-byte superblock), now and then the tables.
                for _ in 0..1 + rng.below(3) {
                    let at = 96 + rng.below(used - 96);
                    d[at] ^= 1 << rng.below(8);
                }
                images.push(d);
            }
            for (n, img) in images.iter().enumerate() {
                let Ok(fs) = FilesystemReader::from_reader_with_offset_and_kind(
                    Cursor::new(&img[..]),
                    0,
                    Kind::new_v4_with_const(&READ_CODEC, kind::LE_V4_0),
                ) else {
                    continue;
                };
                let mut bufs = BlockBufs::default();
                for node in fs.files() {
                    let InnerNode::File(f) = &node.inner else { continue };
                    let len = f.file_len() as u64;
                    for cap in [u64::MAX, len, len.saturating_sub(1), 4096, 0] {
                        let ours = read_file(&fs, f, cap, &Deadline::far(), &mut bufs);
                        let expected = through_the_reader(&fs, f, cap);
                        assert_eq!(
                            format!("{ours:?}"),
                            expected,
                            "image {n}, {:?}, cap {cap}",
                            node.fullpath
                        );
                        damaged_reads += usize::from(n > 0 && ours.is_err());
                        compared += 1;
                    }
                }
            }
        }
        // Enough images parsed, and enough reads failed, for the comparison
        // to have covered the error paths as well as the sound ones.
        assert!(compared > 2_000, "{compared}");
        assert!(damaged_reads > 50, "{damaged_reads}");
    }

    #[test]
    fn truncated_image_is_an_error_or_partial() {
        let img = image(&GZIP_CODEC);
        let used = superblock(&img).unwrap().bytes_used as usize;
        let cut = &img[..used - 40];
        match run(&FORMAT_LE, cut).1 {
            Ok(x) => assert!(!x.problems.is_empty()),
            Err(e) => assert!(e.to_string().contains("SquashFS")),
        }
    }

    #[test]
    fn version_1_is_recognised_but_unsupported() {
        let mut img = image(&GZIP_CODEC);
        img[28] = 1;
        img[30] = 0;
        let (p, x) = run(&FORMAT_LE, &img);
        assert_eq!(p.len, None);
        assert!(matches!(x, Err(ExtractError::Unsupported(_))));
    }

    fn sorted_paths(t: &crate::unpack::tree::FsTree) -> Vec<String> {
        let mut paths: Vec<String> = t.iter().map(|(p, _)| p.to_string()).collect();
        paths.sort();
        paths
    }

    #[test]
    fn avm_big_endian_images_unpack() {
        use crate::unpack::formats::testing::tree_of;
        for codec in [&GZIP_CODEC, &LZMA_CODEC, &XZ_CODEC] {
            let img = image_as(codec, Kind::new_v4_with_const(codec, kind::AVM_BE_V4_0));
            assert_eq!(&img[..4], b"sqsh");
            assert!(avm_layout(&img), "{:?}", codec.writes);
            let (p, x) = run(&FORMAT_BE, &img);
            assert_eq!(p.facts["variant"], "avm");
            assert_eq!(p.facts["endianness"], "big");
            assert!(p.description.contains("(AVM)"), "{}", p.description);
            let x = x.unwrap_or_else(|e| panic!("{:?}: {e}", codec.writes));
            assert!(x.problems.is_empty(), "{:?}: {:?}", codec.writes, x.problems);
            let t = tree_of(&x);
            assert_eq!(sorted_paths(t), ["/", "/etc", "/etc/sh", "/etc/shadow"]);
            assert_image_files(t);
            // The standard big-endian layout is still read as such.
            let be = image_as(codec, Kind::new_v4_with_const(codec, kind::BE_V4_0));
            assert!(!avm_layout(&be));
            let (p, x) = run(&FORMAT_BE, &be);
            assert!(!p.facts.contains_key("variant"));
            assert_eq!(
                sorted_paths(tree_of(&x.unwrap())),
                ["/", "/etc", "/etc/sh", "/etc/shadow"]
            );
        }
    }

    #[test]
    fn truncated_avm_image_is_partial_or_failed_never_a_panic() {
        let img = image_as(&GZIP_CODEC, Kind::new_v4_with_const(&GZIP_CODEC, kind::AVM_BE_V4_0));
        let used = superblock(&img).unwrap().bytes_used as usize;
        for cut in [used - 40, used - 100, used / 2, 200] {
            match crate::unpack::formats::testing::survive(parse, extract, &img[..cut]) {
                Some(x) => assert!(!x.problems.is_empty(), "cut {cut}"),
                None => {
                    let p = parse(&img[..cut]);
                    if let Ok(p) = p {
                        let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
                        let mut ctx = ExtractCtx {
                            budget: &mut budget,
                            deadline: crate::unpack::budget::Deadline::far(),
                            source: Default::default(),
                        };
                        let e = extract(&img[..cut], &p, &mut ctx).unwrap_err();
                        assert!(e.to_string().contains("SquashFS"), "{e}");
                    }
                }
            }
        }
        for i in (0..img.len()).step_by(5) {
            let mut bad = img.clone();
            bad[i] ^= 0xa5;
            let _ = crate::unpack::formats::testing::survive(parse, extract, &bad);
        }
    }
}
