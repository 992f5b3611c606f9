//! Hikvision camera firmware (`digicap.dav`).
//!
//! The header is obfuscated with a fixed 16-byte XOR key, the byte at
//! position `i` taking key byte `(i + (i >> 4)) & 15` (facts from the public
//! descriptions in MatrixEditor's hiktools and the EZVIZ unpack notes). The
//! decoded header is little-endian: magic `SWKH`, a header checksum, the
//! header length, the file count, language, device class, OEM code,
//! signature and feature words; from offset 0x40, one 44-byte entry per
//! file: a NUL-padded 32-byte name, length, offset (from the image start)
//! and a checksum. The files themselves are stored in the clear in the
//! images this reader handles; newer firmware encrypts them (AES), and
//! such files then show up as high-entropy unidentified data, which fails
//! closed.
//!
//! The checksums' algorithm is not public, so they are reported, not
//! verified: the description says so.

use std::collections::BTreeMap;

use crate::unpack::bytes::le_u32;
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, finish_tree,
};
use crate::unpack::tree::{Node, Sink};

pub const FORMAT: Format = Format {
    name: "hikvision",
    magics: &[Magic::at_start(&RAW_MAGIC)],
    parse,
    extract,
    carve: true,
};

const KEY: [u8; 16] = [
    0xba, 0xcd, 0xbc, 0xfe, 0xd6, 0xca, 0xdd, 0xd3, 0xba, 0xb9, 0xa3, 0xab, 0xbf, 0xcb, 0xb5, 0xbe,
];
/// `SWKH` as it appears in the obfuscated file.
const RAW_MAGIC: [u8; 4] = [b'S' ^ 0xba, b'W' ^ 0xcd, b'K' ^ 0xbc, b'H' ^ 0xfe];
const ENTRIES_AT: usize = 0x40;
const ENTRY_LEN: usize = 44;
/// Real images hold a handful of files; a count beyond this is a lie.
const MAX_FILES: usize = 256;

/// XOR-(de)obfuscate `bytes`, which start at image offset 0.
pub fn xor16(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ KEY[(i + (i >> 4)) & 15])
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub offset: u32,
    pub len: u32,
    pub checksum: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub header_len: u32,
    pub checksum: u32,
    pub language: u32,
    pub device_class: u32,
    pub oem_code: u32,
    pub entries: Vec<Entry>,
}

impl Header {
    /// Where the last file ends: the image's extent.
    fn end(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| u64::from(e.offset) + u64::from(e.len))
            .max()
            .unwrap_or(0)
            .max(u64::from(self.header_len))
    }
}

pub fn header(d: &[u8]) -> Result<Header, Reject> {
    if d.get(..4) != Some(&RAW_MAGIC[..]) {
        return Err(Reject::new("not a digicap magic"));
    }
    let first = xor16(d.get(..ENTRIES_AT).ok_or_else(|| Reject::new("header truncated"))?);
    let word = |h: &[u8], at: usize, what: &str| le_u32(h, at).ok_or_else(|| Reject::new(format!("no {what}")));
    let header_len = word(&first, 8, "header length")?;
    let count = word(&first, 12, "file count")? as usize;
    if count == 0 || count > MAX_FILES {
        return Err(Reject::new(format!("implausible file count {count}")));
    }
    let needed = ENTRIES_AT + count * ENTRY_LEN;
    if (header_len as usize) < needed || header_len as usize > ENTRIES_AT + MAX_FILES * ENTRY_LEN + 0x1000 {
        return Err(Reject::new(format!(
            "header length {header_len} does not fit {count} entries"
        )));
    }
    let full = xor16(
        d.get(..needed)
            .ok_or_else(|| Reject::new("header truncated in the file table"))?,
    );
    let mut entries = Vec::with_capacity(count);
    for i in 0..count {
        let at = ENTRIES_AT + i * ENTRY_LEN;
        let raw_name = &full[at..at + 32];
        let name_len = memchr::memchr(0, raw_name).unwrap_or(32);
        let name = &raw_name[..name_len];
        if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
            return Err(Reject::new(format!("entry {i} has no printable name")));
        }
        let entry = Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            len: word(&full, at + 32, "entry length")?,
            offset: word(&full, at + 36, "entry offset")?,
            checksum: word(&full, at + 40, "entry checksum")?,
        };
        if (entry.offset as usize) < needed {
            return Err(Reject::new(format!("entry {} starts inside the header", entry.name)));
        }
        entries.push(entry);
    }
    Ok(Header {
        header_len,
        checksum: word(&first, 4, "checksum")?,
        language: word(&first, 16, "language")?,
        device_class: word(&first, 20, "device class")?,
        oem_code: word(&first, 24, "OEM code")?,
        entries,
    })
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let h = header(d)?;
    let mut facts = BTreeMap::new();
    facts.insert("files".into(), h.entries.len().to_string());
    facts.insert("header_checksum".into(), format!("{:#010x} (not verified)", h.checksum));
    facts.insert("language".into(), h.language.to_string());
    facts.insert("device_class".into(), format!("{:#x}", h.device_class));
    facts.insert("oem_code".into(), format!("{:#x}", h.oem_code));
    let names: Vec<&str> = h.entries.iter().map(|e| e.name.as_str()).collect();
    Ok(Parsed {
        len: Some(h.end().min(d.len() as u64)),
        confidence: Confidence::High,
        description: format!(
            "Hikvision digicap firmware, {} files ({}); checksums not verified",
            h.entries.len(),
            names.join(", ")
        ),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let h = header(d).map_err(|r| ExtractError::Corrupt(r.0))?;
    let mut out = Extraction::default();
    let mut sink = Sink::new(ctx.budget);
    for e in &h.entries {
        ctx.deadline.check()?;
        let start = e.offset as usize;
        let Some(bytes) = d.get(start..start.saturating_add(e.len as usize)) else {
            out.problem(format!(
                "file {} ({} bytes at {:#x}) lies beyond the {} bytes present",
                e.name,
                e.len,
                e.offset,
                d.len()
            ));
            continue;
        };
        sink.add(&e.name, Node::file(bytes.to_vec(), 0o100644))?;
    }
    finish_tree(sink, &mut out);
    Ok(out)
}

/// Build a digicap image holding `files`, for tests and samples.
pub fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
    let header_len = ENTRIES_AT + files.len() * ENTRY_LEN;
    let mut h = vec![0u8; header_len];
    h[..4].copy_from_slice(b"SWKH");
    h[8..12].copy_from_slice(&(header_len as u32).to_le_bytes());
    h[12..16].copy_from_slice(&(files.len() as u32).to_le_bytes());
    let mut body = Vec::new();
    for (i, (name, data)) in files.iter().enumerate() {
        let at = ENTRIES_AT + i * ENTRY_LEN;
        h[at..at + name.len()].copy_from_slice(name.as_bytes());
        h[at + 32..at + 36].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[at + 36..at + 40].copy_from_slice(&((header_len + body.len()) as u32).to_le_bytes());
        body.extend_from_slice(data);
    }
    let mut out = xor16(&h);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::{run, tree_of};

    #[test]
    fn xor_is_its_own_inverse_and_hides_the_magic() {
        let plain = b"SWKH and some header bytes that run past sixteen".to_vec();
        let hidden = xor16(&plain);
        assert_eq!(&hidden[..4], &RAW_MAGIC);
        assert_eq!(xor16(&hidden), plain);
    }

    #[test]
    fn files_come_out_by_name() {
        let img = build(&[("uImage", b"kernel bytes"), ("hroot.img", b"root filesystem")]);
        let (p, x) = run(&FORMAT, &img);
        assert_eq!(p.len, Some(img.len() as u64));
        assert!(p.description.contains("uImage, hroot.img"), "{}", p.description);
        let x = x.expect("extracts");
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let tree = tree_of(&x);
        assert_eq!(tree.get("/uImage").and_then(|n| n.data()), Some(&b"kernel bytes"[..]));
        assert_eq!(
            tree.get("/hroot.img").and_then(|n| n.data()),
            Some(&b"root filesystem"[..])
        );
    }

    #[test]
    fn the_engine_recurses_into_named_files() {
        let kernel = crate::unpack::formats::uimage::build("Linux-3.10", 2, 0, 1, b"pretend kernel");
        let img = build(&[("uImage", &kernel)]);
        let u = crate::unpack::unpack(img.into(), "digicap.dav", &Default::default());
        let chains: Vec<String> = u.containers.iter().map(|c| c.chain.to_string()).collect();
        assert_eq!(
            chains,
            [
                "digicap.dav@0x0:hikvision",
                "digicap.dav@0x0:hikvision → /uImage@0x0:uimage"
            ]
        );
        assert!(u.complete(), "{:?}", u.incompleteness());
    }

    #[test]
    fn truncation_and_traversal_are_problems_not_panics() {
        let img = build(&[("../../escape", b"evil"), ("app.img", &[7u8; 100])]);
        let (_, x) = run(&FORMAT, &img[..img.len() - 10]);
        let x = x.expect("extracts what is there");
        assert!(x.problems.iter().any(|p| p.contains("beyond")), "{:?}", x.problems);
        assert!(x.problems.iter().any(|p| p.contains("escapes")), "{:?}", x.problems);
    }

    #[test]
    fn lying_counts_and_offsets_are_rejected() {
        let mut h = xor16(&build(&[("a", b"x")]));
        h[12..16].copy_from_slice(&100_000u32.to_le_bytes());
        assert!(parse(&xor16(&h)).is_err(), "a huge file count");
        let mut h = xor16(&build(&[("a", b"x")]));
        h[0x40 + 36..0x40 + 40].copy_from_slice(&4u32.to_le_bytes());
        assert!(parse(&xor16(&h)).is_err(), "a file inside the header");
        assert!(parse(&RAW_MAGIC).is_err(), "a bare magic");
    }
}
