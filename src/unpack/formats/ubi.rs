//! UBI, the volume layer beneath UBIFS (and often SquashFS or kernels) on
//! raw NAND.
//!
//! A UBI image is a sequence of physical erase blocks (PEBs), each starting
//! with an erase-counter header (`UBI#`) that gives where the volume-ID
//! header (`UBI!`) and the data start. The volume-ID header names the
//! volume and the logical erase block (LEB) number the PEB holds; when two
//! PEBs claim the same LEB, the higher sequence number wins. The volume
//! table (internal volume `0x7fffefff`) lists volume names and types.
//! Everything is big-endian; every header carries a CRC-32 with initial
//! value `0xffffffff` and no final inversion.
//!
//! The PEB size is not stored anywhere: fwcert derives it from where the
//! erase-counter headers are (the greatest common divisor of their offsets).
//!
//! Each volume becomes one file named after it in a tree, so the engine
//! identifies what it holds (UBIFS, SquashFS, a uImage) by its magic.

use std::collections::{BTreeMap, HashMap};

use crate::unpack::bytes::{be_u32, be_u64};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "ubi",
    magics: &[Magic::at_start(b"UBI#\x01")],
    parse,
    extract,
    carve: true,
};

const HEADER_LEN: usize = 64;
const LAYOUT_VOLUME: u32 = 0x7fff_efff;
const VTBL_RECORD: usize = 172;
const MAX_VOLUMES: usize = 128;
/// Alignment at which erase-counter headers are looked for.
const SCAN_STEP: usize = 512;
/// Headers used to derive the PEB size.
const PEB_SAMPLE: usize = 64;
/// Smallest and largest plausible PEB sizes.
const MIN_PEB: usize = 512;
const MAX_PEB: usize = 4 << 20;

/// The UBI CRC: CRC-32 with initial value `0xffffffff`, no final inversion.
pub fn crc(bytes: &[u8]) -> u32 {
    !crc32fast::hash(bytes)
}

/// An erase-counter header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ec {
    vid_offset: usize,
    data_offset: usize,
    image_seq: u32,
}

fn ec_header(d: &[u8], at: usize) -> Option<Ec> {
    let h = d.get(at..at.checked_add(HEADER_LEN)?)?;
    if &h[..4] != b"UBI#" || h[4] != 1 || crc(&h[..60]) != be_u32(h, 60)? {
        return None;
    }
    let ec = Ec {
        vid_offset: be_u32(h, 16)? as usize,
        data_offset: be_u32(h, 20)? as usize,
        image_seq: be_u32(h, 24)?,
    };
    (ec.vid_offset >= HEADER_LEN && ec.vid_offset + HEADER_LEN <= ec.data_offset).then_some(ec)
}

/// A volume-ID header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Vid {
    vol_type: u8,
    copy_flag: bool,
    vol_id: u32,
    lnum: u32,
    data_size: u32,
    used_ebs: u32,
    data_pad: u32,
    data_crc: u32,
    sqnum: u64,
}

fn vid_header(h: &[u8]) -> Option<Vid> {
    if h.get(..4)? != b"UBI!" || crc(h.get(..60)?) != be_u32(h, 60)? {
        return None;
    }
    Some(Vid {
        vol_type: h[5],
        copy_flag: h[6] != 0,
        vol_id: be_u32(h, 8)?,
        lnum: be_u32(h, 12)?,
        data_size: be_u32(h, 20)?,
        used_ebs: be_u32(h, 24)?,
        data_pad: be_u32(h, 28)?,
        data_crc: be_u32(h, 32)?,
        sqnum: be_u64(h, 40)?,
    })
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The image's geometry: PEB size, first header, and how many PEBs belong
/// to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Geometry {
    peb: usize,
    ec: Ec,
    pebs: usize,
}

fn geometry(d: &[u8]) -> Result<Geometry, Reject> {
    let ec = ec_header(d, 0).ok_or_else(|| Reject::new("UBI erase-counter header CRC mismatch"))?;
    let mut peb = 0;
    let mut found = 0;
    let mut at = SCAN_STEP;
    while at < d.len().min(PEB_SAMPLE * MAX_PEB) && found < PEB_SAMPLE {
        if d.get(at..at + 4) == Some(b"UBI#") && ec_header(d, at).is_some_and(|e| e.image_seq == ec.image_seq) {
            peb = gcd(peb, at);
            found += 1;
        }
        at += SCAN_STEP;
    }
    if !(MIN_PEB..=MAX_PEB).contains(&peb) || ec.data_offset >= peb {
        return Err(Reject::new("no second UBI erase block found"));
    }
    // The image ends at the last PEB with a header of this image; erased
    // PEBs (all 0xff) in between are part of it.
    let mut pebs = 0;
    let mut i = 0;
    while (i + 1) * peb <= d.len() {
        let at = i * peb;
        if ec_header(d, at).is_some_and(|e| e.image_seq == ec.image_seq) {
            pebs = i + 1;
        } else if !d[at..at + peb].iter().all(|&b| b == 0xff) {
            break;
        }
        i += 1;
    }
    Ok(Geometry { peb, ec, pebs })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let g = geometry(d)?;
    let mut facts = BTreeMap::new();
    facts.insert("peb_size".into(), g.peb.to_string());
    facts.insert("pebs".into(), g.pebs.to_string());
    facts.insert("data_offset".into(), g.ec.data_offset.to_string());
    facts.insert("image_seq".into(), format!("{:#010x}", g.ec.image_seq));
    Ok(Parsed {
        len: Some((g.pebs * g.peb) as u64),
        confidence: Confidence::High,
        description: format!("UBI image, {} erase blocks of {} bytes", g.pebs, g.peb),
        facts,
    })
}

/// One volume-table record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Volume {
    id: u32,
    name: String,
    dynamic: bool,
}

/// Where each LEB of each volume lives: (vol_id, lnum) → (PEB index, VID).
type Map = HashMap<(u32, u32), (usize, Vid)>;

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let g = geometry(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let leb = g.peb - g.ec.data_offset;
    let mut out = Extraction::default();
    let (map, bad) = scan(d, &g, leb);
    if bad > 0 {
        out.problem(format!(
            "{bad} erase blocks have a corrupt header or data and were skipped"
        ));
    }
    let volumes = volume_table(d, &g, &map).ok_or_else(|| ExtractError::Corrupt("no valid UBI volume table".into()))?;
    let mut sink = Sink::new(ctx.budget);
    for v in &volumes {
        if let Err(b) = ctx.deadline.check() {
            out.problem(b.to_string());
            break;
        }
        let data = match volume_data(d, &g, leb, &map, v, sink.budget().remaining_bytes()) {
            Ok(data) => data,
            Err(why) => {
                out.problem(format!("volume {} `{}`: {why}", v.id, v.name));
                continue;
            }
        };
        let valid = !v.name.is_empty() && !v.name.contains(['/', '\\', '\0']);
        let name = if valid {
            v.name.clone()
        } else {
            format!("volume-{}", v.id)
        };
        let node = Node {
            kind: NodeKind::File(data.into()),
            mode: 0o644,
            uid: 0,
            gid: 0,
        };
        if let Err(b) = sink.add(&name, node) {
            out.problem(b.to_string());
            break;
        }
    }
    if volumes.is_empty() {
        out.problem("the volume table lists no volumes");
    }
    // LEBs of volumes the table does not list hold data nobody unpacked.
    let mut unlisted: Vec<u32> = map
        .keys()
        .map(|k| k.0)
        .filter(|id| *id != LAYOUT_VOLUME && !volumes.iter().any(|v| v.id == *id))
        .collect();
    unlisted.sort_unstable();
    unlisted.dedup();
    if !unlisted.is_empty() {
        out.problem(format!(
            "erase blocks of volumes {unlisted:?} are not in the volume table"
        ));
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// Every mapped PEB, newest copy per LEB; and how many were unusable.
fn scan(d: &[u8], g: &Geometry, leb: usize) -> (Map, usize) {
    let mut map: Map = HashMap::new();
    let mut bad = 0;
    for i in 0..g.pebs {
        let at = i * g.peb;
        let Some(ec) = ec_header(d, at) else { continue };
        let Some(h) = d.get(at + ec.vid_offset..at + ec.vid_offset + HEADER_LEN) else {
            bad += 1;
            continue;
        };
        if h.iter().all(|&b| b == 0xff) {
            continue;
        }
        let Some(vid) = vid_header(h) else {
            bad += 1;
            continue;
        };
        // A copy made by wear-levelling, and every static LEB, carries a
        // CRC over its data.
        if vid.copy_flag || vid.vol_type == 2 {
            let size = vid.data_size as usize;
            let start = at + ec.data_offset;
            let ok = size <= leb && d.get(start..start + size).is_some_and(|b| crc(b) == vid.data_crc);
            if !ok {
                bad += 1;
                continue;
            }
        }
        match map.get(&(vid.vol_id, vid.lnum)) {
            Some((_, old)) if old.sqnum >= vid.sqnum => {}
            _ => {
                map.insert((vid.vol_id, vid.lnum), (i, vid));
            }
        }
    }
    (map, bad)
}

/// The volume table from the layout volume's first readable copy.
fn volume_table(d: &[u8], g: &Geometry, map: &Map) -> Option<Vec<Volume>> {
    let leb = g.peb - g.ec.data_offset;
    for copy in 0..2 {
        let Some((peb, _)) = map.get(&(LAYOUT_VOLUME, copy)) else {
            continue;
        };
        let base = peb * g.peb + g.ec.data_offset;
        let Some(table) = d.get(base..base + leb) else { continue };
        let mut volumes = Vec::new();
        let mut ok = true;
        for (id, r) in table.chunks_exact(VTBL_RECORD).take(MAX_VOLUMES).enumerate() {
            if be_u32(r, 168) != Some(crc(&r[..168])) {
                ok = false;
                break;
            }
            if be_u32(r, 0).unwrap_or(0) == 0 {
                continue;
            }
            let name_len = usize::from(u16::from_be_bytes([r[14], r[15]])).min(127);
            volumes.push(Volume {
                id: id as u32,
                name: String::from_utf8_lossy(&r[16..16 + name_len]).to_string(),
                dynamic: r[12] == 1,
            });
        }
        if ok {
            return Some(volumes);
        }
    }
    None
}

/// A volume's bytes: its LEBs in order. Unmapped LEBs of a dynamic volume
/// read as erased flash (0xff), as UBI returns them.
fn volume_data(d: &[u8], g: &Geometry, leb: usize, map: &Map, v: &Volume, room: u64) -> Result<Vec<u8>, String> {
    let lebs: Vec<(&u32, &(usize, Vid))> = {
        let mut l: Vec<_> = map
            .iter()
            .filter(|(k, _)| k.0 == v.id)
            .map(|(k, e)| (&k.1, e))
            .collect();
        l.sort_by_key(|(lnum, _)| **lnum);
        l
    };
    let Some(last) = lebs.last() else {
        return Ok(Vec::new());
    };
    let data_pad = last.1.1.data_pad as usize;
    // Padding only rounds a LEB down to the volume's alignment.
    let usable = leb.saturating_sub(data_pad);
    if usable < leb / 2 {
        return Err(format!("implausible data padding {data_pad} for {leb}-byte LEBs"));
    }
    let count = if v.dynamic {
        *last.0 as u64 + 1
    } else {
        u64::from(last.1.1.used_ebs)
    };
    if !v.dynamic && count > g.pebs as u64 {
        return Err(format!(
            "static volume claims {count} LEBs, the image has {} erase blocks",
            g.pebs
        ));
    }
    let size = count.saturating_mul(usable as u64);
    if size > room {
        return Err(format!("size {size} exceeds the remaining byte budget"));
    }
    let mut out = Vec::with_capacity(size as usize);
    let mut missing = 0;
    for lnum in 0..count as u32 {
        match map.get(&(v.id, lnum)) {
            Some((peb, vid)) => {
                let start = peb * g.peb + g.ec.data_offset;
                let len = if v.dynamic {
                    usable
                } else {
                    (vid.data_size as usize).min(usable)
                };
                let bytes = d.get(start..start + len).ok_or("LEB data runs past the image")?;
                out.extend_from_slice(bytes);
            }
            None if v.dynamic => out.resize(out.len() + usable, 0xff),
            None => missing += 1,
        }
    }
    if missing > 0 {
        return Err(format!("{missing} of {count} LEBs of the static volume are missing"));
    }
    Ok(out)
}

/// A small UBI writer for tests.
#[cfg(test)]
pub mod build {
    use super::*;

    pub const DATA_OFFSET: usize = 128;

    pub struct Ubi {
        pub peb: usize,
        pub pebs: Vec<Vec<u8>>,
        sqnum: u64,
    }

    impl Ubi {
        pub fn new(peb: usize) -> Self {
            Ubi {
                peb,
                pebs: Vec::new(),
                sqnum: 0,
            }
        }

        pub fn leb(&self) -> usize {
            self.peb - DATA_OFFSET
        }

        fn ec(&self) -> Vec<u8> {
            let mut h = vec![0u8; HEADER_LEN];
            h[..4].copy_from_slice(b"UBI#");
            h[4] = 1;
            h[16..20].copy_from_slice(&64u32.to_be_bytes());
            h[20..24].copy_from_slice(&(DATA_OFFSET as u32).to_be_bytes());
            h[24..28].copy_from_slice(&0x1234_5678u32.to_be_bytes());
            let c = crc(&h[..60]);
            h[60..].copy_from_slice(&c.to_be_bytes());
            h
        }

        /// Append a PEB holding `data` as LEB `lnum` of volume `vol_id`.
        pub fn put(&mut self, vol_id: u32, lnum: u32, static_used: Option<u32>, data: &[u8]) {
            self.sqnum += 1;
            let mut v = vec![0u8; HEADER_LEN];
            v[..4].copy_from_slice(b"UBI!");
            v[4] = 1;
            v[5] = if static_used.is_some() { 2 } else { 1 };
            v[8..12].copy_from_slice(&vol_id.to_be_bytes());
            v[12..16].copy_from_slice(&lnum.to_be_bytes());
            if let Some(used) = static_used {
                v[20..24].copy_from_slice(&(data.len() as u32).to_be_bytes());
                v[24..28].copy_from_slice(&used.to_be_bytes());
                v[32..36].copy_from_slice(&crc(data).to_be_bytes());
            }
            v[40..48].copy_from_slice(&self.sqnum.to_be_bytes());
            let c = crc(&v[..60]);
            v[60..].copy_from_slice(&c.to_be_bytes());
            let mut p = self.ec();
            p.extend_from_slice(&v);
            p.resize(DATA_OFFSET, 0xff);
            p.extend_from_slice(data);
            p.resize(self.peb, 0xff);
            self.pebs.push(p);
        }

        /// The volume table (both copies) for (id, name, dynamic) volumes.
        pub fn table(&mut self, volumes: &[(u32, &str, bool)]) {
            let mut t = Vec::new();
            for id in 0..(self.leb() / VTBL_RECORD).min(MAX_VOLUMES) as u32 {
                let mut r = vec![0u8; VTBL_RECORD];
                if let Some((_, name, dynamic)) = volumes.iter().find(|v| v.0 == id) {
                    r[..4].copy_from_slice(&8u32.to_be_bytes());
                    r[4..8].copy_from_slice(&1u32.to_be_bytes());
                    r[12] = if *dynamic { 1 } else { 2 };
                    r[14..16].copy_from_slice(&(name.len() as u16).to_be_bytes());
                    r[16..16 + name.len()].copy_from_slice(name.as_bytes());
                }
                let c = crc(&r[..168]);
                r[168..].copy_from_slice(&c.to_be_bytes());
                t.extend_from_slice(&r);
            }
            self.put(LAYOUT_VOLUME, 0, None, &t);
            self.put(LAYOUT_VOLUME, 1, None, &t);
        }

        /// A whole volume, split into LEBs.
        pub fn volume(&mut self, id: u32, dynamic: bool, data: &[u8]) {
            let leb = self.leb();
            let chunks: Vec<&[u8]> = data.chunks(leb).collect();
            let used = chunks.len() as u32;
            for (lnum, chunk) in chunks.into_iter().enumerate() {
                self.put(id, lnum as u32, (!dynamic).then_some(used), chunk);
            }
        }

        pub fn image(&self) -> Vec<u8> {
            self.pebs.concat()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build::Ubi;
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    fn text(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn volumes_are_reassembled_by_lnum_and_sqnum() {
        let mut u = Ubi::new(2048);
        u.table(&[(0, "kernel", false), (1, "rootfs", true)]);
        let kernel = text(5000);
        u.volume(0, false, &kernel);
        let leb = u.leb();
        // rootfs: LEB 1 first, LEB 0 twice (the newer copy wins), LEB 2
        // unmapped, LEB 3 present.
        u.put(1, 1, None, &vec![b'B'; leb]);
        u.put(1, 0, None, &vec![b'x'; leb]);
        u.put(1, 0, None, &vec![b'A'; leb]);
        u.put(1, 3, None, &vec![b'D'; leb]);
        // A blank PEB in the middle, and erased space after the image.
        u.pebs.insert(3, vec![0xff; 2048]);
        let mut img = u.image();
        let len = img.len();
        img.extend_from_slice(&[0xff; 4096]);
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.len, Some(len as u64));
        assert_eq!(p.facts["peb_size"], "2048");
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let t = tree_of(&x);
        assert!(t.get("/kernel").and_then(Node::data) == Some(&kernel[..]));
        let rootfs = t.get("/rootfs").and_then(Node::data).unwrap();
        assert_eq!(rootfs.len(), 4 * leb);
        assert!(rootfs[..leb].iter().all(|&b| b == b'A'));
        assert!(rootfs[leb..2 * leb].iter().all(|&b| b == b'B'));
        assert!(rootfs[2 * leb..3 * leb].iter().all(|&b| b == 0xff));
        assert!(rootfs[3 * leb..].iter().all(|&b| b == b'D'));
    }

    #[test]
    fn a_ubifs_volume_is_unpacked_by_the_engine() {
        let fs = crate::unpack::formats::ubifs::build::Fs::new();
        let mut fs = fs;
        fs.ino(1, 0o040755, 2, 0, &[], false);
        fs.dent(1, "shadow", 64, false);
        fs.ino(64, 0o100600, 1, 5, &[], false);
        fs.data(64, 0, 0, b"root:", 5, false);
        let vol = fs.finish();
        let mut u = Ubi::new(4096);
        u.table(&[(0, "ubifs", true)]);
        u.volume(0, true, &vol);
        let unpacked = crate::unpack::unpack(u.image().into(), "nand.bin", &Default::default());
        assert!(unpacked.complete(), "{:?}", unpacked.incompleteness());
        let fs = unpacked.filesystems.iter().find(|f| f.format == "ubifs").unwrap();
        assert_eq!(fs.chain.to_string(), "nand.bin@0x0:ubi → /ubifs@0x0:ubifs");
        assert_eq!(fs.tree.get("/shadow").and_then(Node::data), Some(&b"root:"[..]));
    }

    #[test]
    fn corrupt_static_data_and_unlisted_volumes_are_problems() {
        let mut u = Ubi::new(1024);
        u.table(&[(0, "kernel", false)]);
        u.volume(0, false, &text(3000));
        u.put(7, 0, None, b"orphan");
        let mut img = u.image();
        // Flip a data byte of the kernel's second LEB.
        img[3 * 1024 + 200] ^= 1;
        let x = run(&FORMAT, &img).1.unwrap();
        let all = x.problems.join("\n");
        assert!(all.contains("corrupt header or data"), "{all}");
        assert!(all.contains("missing"), "{all}");
        assert!(all.contains("[7]"), "{all}");
    }

    #[test]
    fn lying_lnums_names_and_truncation_are_handled() {
        let mut u = Ubi::new(1024);
        u.table(&[(0, "..", true), (1, "big", true)]);
        u.put(0, 0, None, b"x");
        // LEB 2^31 of a dynamic volume: 2 TiB of erased flash.
        u.put(1, 1 << 31, None, b"y");
        let img = u.image();
        let x = run(&FORMAT, &img).1.unwrap();
        let all = x.problems.join("\n");
        assert!(all.contains("budget"), "{all}");
        assert!(all.contains("escapes"), "{all}");
        assert!(tree_of(&x).get("/big").is_none());
        for cut in (0..img.len()).step_by(97) {
            if let Ok(p) = parse(&img[..cut]) {
                let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
                let mut ctx = ExtractCtx {
                    budget: &mut budget,
                    deadline: crate::unpack::budget::Deadline::far(),
                    source: Default::default(),
                };
                let _ = extract(&img[..cut], &p, &mut ctx);
            }
        }
        // A single erase block is not an image.
        assert!(parse(&img[..1024]).is_err());
        // Padding that leaves one usable byte per LEB, and a static volume
        // claiming four billion LEBs, are refused rather than looped over.
        let mut u = Ubi::new(1024);
        u.table(&[(0, "pad", true), (1, "many", false)]);
        u.put(0, 1 << 20, None, b"p");
        u.put(1, 0, Some(u32::MAX), b"m");
        let mut img = u.image();
        let vid = 2 * 1024 + 64;
        img[vid + 28..vid + 32].copy_from_slice(&(1024u32 - 128 - 1).to_be_bytes());
        let c = crc(&img[vid..vid + 60]);
        img[vid + 60..vid + 64].copy_from_slice(&c.to_be_bytes());
        let x = run(&FORMAT, &img).1.unwrap();
        let all = x.problems.join("\n");
        assert!(all.contains("implausible data padding"), "{all}");
        assert!(all.contains("claims 4294967295 LEBs"), "{all}");
    }
}
