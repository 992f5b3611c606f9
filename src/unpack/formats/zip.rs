//! ZIP archives (stored and deflate members), and Dahua camera firmware,
//! which is a ZIP whose first "PK" signature is replaced by "DH".
//!
//! `parse` finds the end-of-central-directory record that points back at a
//! central directory ending right before it, which gives the exact extent
//! of a ZIP carved out of a larger blob. `extract` walks the central
//! directory (the authoritative list: local headers may lie or be padded),
//! decodes each member with flate2's pure-Rust backend, bounded by the
//! smaller of its declared size and the budget, and checks its CRC-32.
//! fwcert's own reader is used rather than the `zip` crate so that every
//! lie (size, CRC, offset) becomes a reported problem with the member name.

use std::collections::BTreeMap;
use std::io::Read;

use crate::unpack::bytes::{le_u16, le_u32};
use crate::unpack::decode::{Stop, read_capped};
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, S_IFLNK, finish_tree, need,
    special_kind,
};
use crate::unpack::tree::{Node, NodeKind, Sink};

pub const FORMAT: Format = Format {
    name: "zip",
    magics: &[Magic::at_start(b"PK\x03\x04")],
    parse,
    extract,
    carve: true,
};

/// Dahua firmware: only the first local header's signature is changed.
pub const FORMAT_DAHUA: Format = Format {
    name: "dahua",
    magics: &[Magic::at_start(b"DH\x03\x04")],
    parse: parse_dahua,
    extract: extract_dahua,
    carve: true,
};

const LOCAL: &[u8; 4] = b"PK\x03\x04";
const CENTRAL: &[u8; 4] = b"PK\x01\x02";
const EOCD: &[u8; 4] = b"PK\x05\x06";
const DAHUA: &[u8; 4] = b"DH\x03\x04";
const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const EOCD_LEN: usize = 22;

/// The end-of-central-directory record that closes the archive.
#[derive(Debug, Clone, Copy)]
struct End {
    /// Where the EOCD record starts.
    at: usize,
    entries: usize,
    cd_offset: usize,
    /// The archive's length including the trailing comment.
    len: usize,
}

/// Check the first local header, whose signature is `sig`.
fn first_header(d: &[u8], sig: &[u8; 4]) -> Result<(), Reject> {
    if d.get(..4) != Some(sig) {
        return Err(Reject::new("not a ZIP local header"));
    }
    let version = need(le_u16(d, 4), "version")?;
    let method = need(le_u16(d, 8), "method")?;
    let name_len = need(le_u16(d, 26), "name length")? as usize;
    // The high byte of "version needed" may name the host system (3 = Unix).
    if version & 0xff > 100 || method > 99 || name_len == 0 {
        return Err(Reject::new("implausible ZIP local header"));
    }
    need(d.get(LOCAL_LEN..LOCAL_LEN + name_len), "member name")?;
    Ok(())
}

/// Find the EOCD whose central directory ends exactly where it starts.
fn find_end(d: &[u8]) -> Result<Option<End>, Reject> {
    for at in memchr::memmem::find_iter(d, EOCD) {
        let (Some(entries), Some(cd_size), Some(cd_offset), Some(comment)) = (
            le_u16(d, at + 10),
            le_u32(d, at + 12),
            le_u32(d, at + 16),
            le_u16(d, at + 20),
        ) else {
            continue;
        };
        if cd_offset == u32::MAX || cd_size == u32::MAX || entries == u16::MAX {
            return Err(Reject::new("ZIP64 archives are not supported yet"));
        }
        let (cd_offset, cd_size) = (cd_offset as usize, cd_size as usize);
        let consistent =
            cd_offset + cd_size == at && (entries == 0 || d.get(cd_offset..cd_offset + 4) == Some(CENTRAL));
        if consistent {
            return Ok(Some(End {
                at,
                entries: entries as usize,
                cd_offset,
                len: (at + EOCD_LEN + comment as usize).min(d.len()),
            }));
        }
    }
    Ok(None)
}

fn parse_with(d: &[u8], sig: &[u8; 4], what: &str) -> Result<Parsed, Reject> {
    first_header(d, sig)?;
    let end = find_end(d)?;
    let mut facts = BTreeMap::new();
    let description = match end {
        Some(e) => {
            facts.insert("members".into(), e.entries.to_string());
            match vendor_package(d, e) {
                Some(vendor) => {
                    facts.insert("vendor".into(), vendor.into());
                    format!("{what}, {} members: {vendor} firmware package", e.entries)
                }
                None => format!("{what}, {} members", e.entries),
            }
        }
        None => {
            facts.insert("truncated".into(), "no end of central directory record".into());
            format!("{what} without a central directory (truncated?)")
        }
    };
    Ok(Parsed {
        len: end.map(|e| e.len as u64),
        confidence: if end.is_some() {
            Confidence::High
        } else {
            Confidence::Medium
        },
        description,
        facts,
    })
}

/// Camera vendors that ship firmware as a plain ZIP, named by a member only
/// their packages carry: Xiongmai's upgrade ZIPs hold uImages plus an
/// `InstallDesc` script that tells the updater where each one goes.
fn vendor_package(d: &[u8], end: End) -> Option<&'static str> {
    let members = central(d, end).ok()?;
    members.iter().any(|m| m.name == "InstallDesc").then_some("Xiongmai")
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    parse_with(d, LOCAL, "ZIP archive")
}

pub fn parse_dahua(d: &[u8]) -> Result<Parsed, Reject> {
    let mut p = parse_with(d, DAHUA, "Dahua firmware (ZIP with a DH signature)")?;
    p.facts.insert("restored_magic".into(), "PK".into());
    Ok(p)
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    extract_with(d, ctx, false)
}

pub fn extract_dahua(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    extract_with(d, ctx, true)
}

/// One member as the central directory describes it.
struct Member {
    name: String,
    flags: u16,
    method: u16,
    crc: u32,
    csize: usize,
    usize: usize,
    local: usize,
    /// Unix `st_mode` when the creator was a Unix system.
    unix_mode: Option<u32>,
}

fn central(d: &[u8], end: End) -> Result<Vec<Member>, String> {
    let mut out = Vec::new();
    let mut pos = end.cd_offset;
    for i in 0..end.entries {
        if d.get(pos..pos + 4) != Some(CENTRAL) || pos + CENTRAL_LEN > end.at {
            return Err(format!("central directory entry {i} at {pos:#x} is missing or damaged"));
        }
        let u16_at = |o| le_u16(d, pos + o).unwrap_or(0);
        let u32_at = |o| le_u32(d, pos + o).unwrap_or(0);
        let (name_len, extra_len, comment_len) = (u16_at(28) as usize, u16_at(30) as usize, u16_at(32) as usize);
        let name = d
            .get(pos + CENTRAL_LEN..pos + CENTRAL_LEN + name_len)
            .ok_or_else(|| format!("central directory entry {i}: name runs past the directory"))?;
        let made_by_unix = u16_at(4) >> 8 == 3;
        let ext = u32_at(38) >> 16;
        out.push(Member {
            name: String::from_utf8_lossy(name).to_string(),
            flags: u16_at(8),
            method: u16_at(10),
            crc: u32_at(16),
            csize: u32_at(20) as usize,
            usize: u32_at(24) as usize,
            local: u32_at(42) as usize,
            unix_mode: (made_by_unix && ext != 0).then_some(ext),
        });
        pos += CENTRAL_LEN + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// Members read from local headers alone, for an archive cut before its
/// central directory. Stops at the first member whose size is only in a
/// data descriptor.
fn local_walk(d: &[u8], dahua: bool, out: &mut Extraction) -> Vec<Member> {
    let mut members = Vec::new();
    let mut pos = 0;
    while let Some(sig) = d.get(pos..pos + 4) {
        if sig != LOCAL && !(dahua && pos == 0 && sig == DAHUA) {
            break;
        }
        let u16_at = |o| le_u16(d, pos + o).unwrap_or(0);
        let u32_at = |o| le_u32(d, pos + o).unwrap_or(0);
        let flags = u16_at(6);
        if flags & 0x8 != 0 {
            out.problem(format!(
                "member at {pos:#x} stores its size after the data; the rest was not read"
            ));
            break;
        }
        let Some(name) = d.get(pos + LOCAL_LEN..pos + LOCAL_LEN + u16_at(26) as usize) else {
            break;
        };
        let csize = u32_at(18) as usize;
        members.push(Member {
            name: String::from_utf8_lossy(name).to_string(),
            flags,
            method: u16_at(8),
            crc: u32_at(14),
            csize,
            usize: u32_at(22) as usize,
            local: pos,
            unix_mode: None,
        });
        pos += LOCAL_LEN + name.len() + u16_at(28) as usize + csize;
    }
    members
}

fn extract_with(d: &[u8], ctx: &mut ExtractCtx, dahua: bool) -> Result<Extraction, ExtractError> {
    let first = if dahua { DAHUA } else { LOCAL };
    first_header(d, first).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let members = match find_end(d).map_err(|r| ExtractError::Unsupported(r.0))? {
        Some(end) => match central(d, end) {
            Ok(m) => m,
            Err(why) => {
                out.problem(format!("{why}; members read from local headers instead"));
                local_walk(d, dahua, &mut out)
            }
        },
        None => {
            out.problem("no end of central directory record (truncated?); members read from local headers");
            local_walk(d, dahua, &mut out)
        }
    };
    let deadline = ctx.deadline.clone();
    let mut sink = Sink::new(ctx.budget);
    for m in members {
        if let Err(b) = deadline.check() {
            out.problem(b.to_string());
            break;
        }
        let is_dir = m.name.ends_with('/') || m.unix_mode.is_some_and(|mode| mode & 0o170000 == 0o040000);
        let mode = m
            .unix_mode
            .map_or(if is_dir { 0o755 } else { 0o644 }, |mode| mode & 0o7777);
        let kind = if is_dir {
            NodeKind::Dir
        } else if let Some(k) = m.unix_mode.and_then(|mode| special_kind(mode, 0, 0)) {
            k
        } else {
            let remaining = sink.budget().remaining_bytes();
            let file_ctx = ExtractCtx {
                budget: sink.budget(),
                deadline: deadline.clone(),
                source: Default::default(),
            };
            let data = match member_data(d, &m, dahua, remaining, &file_ctx) {
                Ok(data) => data,
                // Larger than what is left of the byte budget.
                Err(Stop::Budget(crate::unpack::budget::BudgetExceeded::TotalBytes(_))) => {
                    out.problem(format!("{}: {}", m.name, sink.budget().refuse_bytes()));
                    break;
                }
                Err(Stop::Budget(b)) => {
                    out.problem(format!("{}: {b}", m.name));
                    break;
                }
                Err(Stop::Corrupt(why)) => {
                    out.problem(format!("{}: {why}", m.name));
                    continue;
                }
            };
            if m.unix_mode.is_some_and(|mode| mode & 0o170000 == S_IFLNK) {
                NodeKind::Symlink(String::from_utf8_lossy(&data).to_string())
            } else {
                NodeKind::File(data.into())
            }
        };
        let node = Node {
            kind,
            mode,
            uid: 0,
            gid: 0,
        };
        if let Err(b) = sink.add(&m.name, node) {
            out.problem(b.to_string());
            break;
        }
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// Decode one member's data, checking its size and CRC-32.
fn member_data(d: &[u8], m: &Member, dahua: bool, budget_left: u64, ctx: &ExtractCtx) -> Result<Vec<u8>, Stop> {
    let corrupt = |why: String| Stop::Corrupt(why);
    if m.flags & 1 != 0 {
        return Err(corrupt("member is encrypted; not extracted".into()));
    }
    let sig = d.get(m.local..m.local + 4);
    if sig != Some(LOCAL) && !(dahua && m.local == 0 && sig == Some(DAHUA)) {
        return Err(corrupt(format!("no local header at {:#x}", m.local)));
    }
    let (Some(name_len), Some(extra_len)) = (le_u16(d, m.local + 26), le_u16(d, m.local + 28)) else {
        return Err(corrupt("local header truncated".into()));
    };
    let start = m.local + LOCAL_LEN + name_len as usize + extra_len as usize;
    let raw = d.get(start..start.saturating_add(m.csize)).ok_or_else(|| {
        corrupt(format!(
            "declares {} compressed bytes at {start:#x}, only {} present",
            m.csize,
            d.len().saturating_sub(start)
        ))
    })?;
    if m.usize as u64 > budget_left {
        return Err(Stop::Budget(crate::unpack::budget::BudgetExceeded::TotalBytes(
            budget_left,
        )));
    }
    let data = match m.method {
        0 => raw.to_vec(),
        8 => {
            let mut dec = flate2::read::DeflateDecoder::new(raw);
            // One byte past the declared size reveals a lying size without
            // decoding a bomb.
            match read_capped(
                &mut (&mut dec).take(m.usize as u64 + 1),
                m.usize as u64 + 1,
                &ctx.deadline,
            ) {
                Ok(v) => v,
                Err(Stop::Corrupt(why)) => return Err(corrupt(format!("deflate data does not decode: {why}"))),
                Err(b) => return Err(b),
            }
        }
        other => return Err(corrupt(format!("compression method {other} is not supported"))),
    };
    if data.len() != m.usize {
        return Err(corrupt(format!(
            "decodes to {}{} bytes, but the directory declares {}",
            if data.len() > m.usize { "more than " } else { "" },
            data.len().min(m.usize),
            m.usize
        )));
    }
    let crc = crc32fast::hash(&data);
    if crc != m.crc {
        return Err(corrupt(format!(
            "CRC-32 mismatch (stored {:#010x}, computed {crc:#010x})",
            m.crc
        )));
    }
    Ok(data)
}

/// Build a ZIP of (name, data, deflate?) members with Unix modes, for tests.
#[cfg(test)]
pub fn build(members: &[(&str, &[u8], bool, u32)]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data, deflate, mode) in members {
        let body = if *deflate {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.to_vec()
        };
        let crc = crc32fast::hash(data);
        let local = out.len() as u32;
        let method: u16 = if *deflate { 8 } else { 0 };
        out.extend_from_slice(LOCAL);
        for v in [20u16, 0, method, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, body.len() as u32, data.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&body);
        cd.extend_from_slice(CENTRAL);
        for v in [0x031eu16, 20, 0, method, 0, 0] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, body.len() as u32, data.len() as u32] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name.len() as u16, 0, 0, 0, 0] {
            cd.extend_from_slice(&v.to_le_bytes());
        }
        cd.extend_from_slice(&(mode << 16).to_le_bytes());
        cd.extend_from_slice(&local.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(EOCD);
    for v in [0u16, 0, members.len() as u16, members.len() as u16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::{round_trip, run, tree_of};

    fn sample() -> Vec<u8> {
        build(&[
            ("etc/", b"", false, 0o040755),
            ("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", true, 0o100644),
            ("etc/big", &[b'z'; 50_000], true, 0o100600),
            ("bin/sh", b"busybox", false, 0o120777),
            ("notes.txt", b"stored", false, 0),
        ])
    }

    #[test]
    fn stored_deflate_dirs_and_symlinks_round_trip_with_exact_extent() {
        let x = round_trip(&FORMAT, &sample(), &[0x55; 300], Confidence::High);
        let t = tree_of(&x);
        assert_eq!(t.get("/etc/big").map(|n| n.mode), Some(0o600));
        assert_eq!(t.get("/etc/big").and_then(Node::data).map(<[u8]>::len), Some(50_000));
        assert_eq!(t.get("/notes.txt").and_then(Node::data), Some(&b"stored"[..]));
    }

    #[test]
    fn xiongmai_packages_are_named_and_plain_zips_are_not() {
        let xm = build(&[
            ("InstallDesc", b"{ \"UpgradeCommand\" : [] }", false, 0),
            ("user-x.cramfs.img", b"not really", false, 0),
        ]);
        let p = parse(&xm).expect("parses");
        assert!(p.description.contains("Xiongmai firmware package"), "{}", p.description);
        assert_eq!(p.facts.get("vendor").map(String::as_str), Some("Xiongmai"));
        let plain = parse(&sample()).expect("parses");
        assert!(!plain.facts.contains_key("vendor"));
    }

    #[test]
    fn dahua_magic_is_restored() {
        let mut z = sample();
        z[..2].copy_from_slice(b"DH");
        assert!(parse(&z).is_err());
        let (p, x) = run(&FORMAT_DAHUA, &z);
        assert_eq!(p.len, Some(z.len() as u64));
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert!(tree_of(&x).get("/etc/passwd").is_some());
    }

    #[test]
    fn traversal_absolute_and_symlink_escapes_are_refused() {
        let z = build(&[
            ("../../etc/passwd", b"evil", false, 0o100644),
            ("/etc/shadow", b"abs", false, 0o100644),
            ("lnk", b"/etc", false, 0o120777),
            ("lnk/passwd", b"through", false, 0o100644),
        ]);
        let (_, x) = run(&FORMAT, &z);
        let x = x.unwrap();
        assert!(x.problems.iter().any(|p| p.contains("escapes")), "{:?}", x.problems);
        assert!(
            x.problems.iter().any(|p| p.contains("not a directory")),
            "{:?}",
            x.problems
        );
        let t = tree_of(&x);
        assert_eq!(t.get("/etc/shadow").and_then(Node::data), Some(&b"abs"[..]));
        assert!(t.get("/lnk/passwd").is_none());
    }

    #[test]
    fn lying_sizes_and_crcs_are_problems() {
        let z = sample();
        let cd = le_u32(&z, z.len() - 6).unwrap() as usize;
        // Second central entry (etc/passwd): claim a smaller uncompressed size.
        let second = cd + CENTRAL_LEN + 4;
        let mut lie = z.clone();
        lie[second + 24..second + 28].copy_from_slice(&5u32.to_le_bytes());
        let (_, x) = run(&FORMAT, &lie);
        let x = x.unwrap();
        assert!(
            x.problems
                .iter()
                .any(|p| p.contains("etc/passwd") && p.contains("more than")),
            "{:?}",
            x.problems
        );
        let mut bad_crc = z.clone();
        bad_crc[second + 16] ^= 0xff;
        let (_, x) = run(&FORMAT, &bad_crc);
        assert!(x.unwrap().problems.iter().any(|p| p.contains("CRC-32")));
        let mut huge = z;
        huge[second + 20..second + 24].copy_from_slice(&u32::MAX.to_le_bytes());
        let (_, x) = run(&FORMAT, &huge);
        assert!(x.unwrap().problems.iter().any(|p| p.contains("declares")));
    }

    #[test]
    fn truncated_archives_fall_back_to_local_headers_without_panicking() {
        let z = sample();
        for cut in [40, 60, 100, 500, z.len() / 2, z.len() - 30, z.len() - 1] {
            let d = &z[..cut];
            let Ok(p) = parse(d) else { continue };
            let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
            let mut ctx = ExtractCtx {
                budget: &mut budget,
                deadline: crate::unpack::budget::Deadline::far(),
                source: Default::default(),
            };
            let x = extract(d, &p, &mut ctx).unwrap();
            assert!(!x.problems.is_empty(), "cut {cut}");
        }
        let (_, x) = run(&FORMAT, &z[..z.len() - 30]);
        assert!(tree_of(&x.unwrap()).get("/etc/passwd").is_some());
    }
}
