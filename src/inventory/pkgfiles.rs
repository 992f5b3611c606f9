//! Package files and the RPM database: the build system's own record of
//! what a package is, as strong as an opkg or dpkg status entry.
//!
//! - `.deb` (deb(5)): an ar archive whose `control.tar` (plain, `.gz`,
//!   `.xz` or `.zst`) holds `./control`.
//! - `.ipk` (OpenWrt's opkg): the same members either in an ar archive
//!   (ipkg, older opkg-build) or in a gzip'd tar (opkg-build today).
//! - `.rpm` (RPM v3 file format): a 96-byte lead, the signature header
//!   (padded to 8 bytes), then the main header whose index entries give
//!   NAME (1000), VERSION (1001), RELEASE (1002) and EPOCH (1003). The
//!   header structure is read; the lead's name field and stray strings are
//!   not evidence.
//! - `rpmdb.sqlite` (rpm ≥ 4.16's SQLite backend): the `Packages` table's
//!   blobs are headers without their 8-byte magic prefix.
//!
//! The Berkeley DB `Packages` and ndb `Packages.db` databases are not
//! read: [`unread_rpm_database`] names them so that the components family
//! reports a gap instead of staying silent.
//!
//! Everything read here is hostile input: sizes are checked against the
//! bytes there are, decompression stops at [`CONTROL_CAP`], and a damaged
//! file gives no detection rather than an error.

use std::io::Read;

use super::components::{Detection, Method, catalog, name_matches};
use super::packages;

/// Largest decompressed control archive read (a control.tar holds a few
/// small text files).
const CONTROL_CAP: u64 = 4 << 20;
/// Largest RPM header index read (real headers have a few hundred tags).
const MAX_TAGS: usize = 65_536;

/// What one package file or database entry says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFact {
    pub name: String,
    pub version: String,
    /// Offset in the file of the record the fact comes from (the control
    /// member's data, the RPM header); 0 for a database row.
    pub offset: usize,
    /// Where in the file, in words: `ar member control.tar.xz ./control`.
    pub place: String,
}

/// The kind of package file a path names, by its extension.
fn kind(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next()?;
    if name.ends_with(".deb") {
        Some("deb")
    } else if name.ends_with(".ipk") {
        Some("ipk")
    } else if name.ends_with(".rpm") {
        Some("rpm")
    } else if name == "rpmdb.sqlite" {
        Some("rpmdb.sqlite")
    } else {
        None
    }
}

/// Components recorded in a package file or an rpm SQLite database.
pub fn detect(file: usize, path: &str, data: &[u8]) -> Vec<Detection> {
    let Some(kind) = kind(path) else {
        return Vec::new();
    };
    let facts = match kind {
        "deb" | "ipk" => control_of_package(data).into_iter().collect(),
        "rpm" => rpm_file(data).into_iter().collect(),
        _ => rpmdb_sqlite(data),
    };
    let mut out: Vec<Detection> = Vec::new();
    for f in facts {
        if !f.version.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        for c in &catalog().components {
            if c.packages.iter().any(|e| name_matches(e, &f.name))
                && !out.iter().any(|d| d.name == c.name && d.version == f.version)
            {
                out.push(Detection {
                    name: c.name.as_str(),
                    version: f.version.clone(),
                    file,
                    offset: f.offset as u64,
                    evidence: format!("{kind} {}: Package: {} Version: {}", f.place, f.name, f.version),
                    method: Method::PackageDatabase,
                });
            }
        }
    }
    out
}

/// One member of an ar archive: its name, and its data's offset and bytes.
fn ar_members(d: &[u8]) -> Vec<(String, usize, &[u8])> {
    let mut out = Vec::new();
    if !d.starts_with(b"!<arch>\n") {
        return out;
    }
    let mut pos = 8usize;
    while let Some(h) = d.get(pos..pos + 60) {
        if &h[58..60] != b"`\n" {
            break;
        }
        let field = |r: std::ops::Range<usize>| String::from_utf8_lossy(&h[r]).trim().to_string();
        let Ok(size) = field(48..58).parse::<usize>() else {
            break;
        };
        let start = pos + 60;
        let Some(body) = start.checked_add(size).and_then(|end| d.get(start..end)) else {
            break;
        };
        let raw = field(0..16);
        // BSD ar: `#1/<len>`, the name at the start of the data.
        let (name, data_start, body) = match raw.strip_prefix("#1/").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) if n <= body.len() => (
                String::from_utf8_lossy(&body[..n]).trim_end_matches('\0').to_string(),
                start + n,
                &body[n..],
            ),
            Some(_) => break,
            // GNU ar ends names with `/`.
            None => (raw.trim_end_matches('/').to_string(), start, body),
        };
        out.push((name, data_start, body));
        pos = start + size + (size & 1);
    }
    out
}

/// Decompress a member by its name's extension, up to [`CONTROL_CAP`].
fn decompress(name: &str, data: &[u8]) -> Option<Vec<u8>> {
    fn all(r: impl Read) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        r.take(CONTROL_CAP + 1).read_to_end(&mut out).ok()?;
        (out.len() as u64 <= CONTROL_CAP).then_some(out)
    }
    if name.ends_with(".gz") {
        all(flate2::read::GzDecoder::new(data))
    } else if name.ends_with(".xz") {
        all(lzma_rust2::XzReader::new_mem_limit(
            data,
            false,
            crate::unpack::decode::LZMA_MEM_LIMIT_KIB,
        ))
    } else if name.ends_with(".zst") {
        all(ruzstd::decoding::StreamingDecoder::new(data).ok()?)
    } else if name.ends_with(".tar") {
        Some(data.to_vec())
    } else {
        None
    }
}

/// The control paragraph of a `.deb` or `.ipk`.
fn control_of_package(d: &[u8]) -> Option<PackageFact> {
    // The outer container: ar, or (opkg-build) a gzip'd tar.
    let outer: Vec<(String, usize, Vec<u8>)> = if d.starts_with(b"!<arch>\n") {
        ar_members(d)
            .into_iter()
            .map(|(n, at, b)| (n, at, b.to_vec()))
            .collect()
    } else if d.starts_with(&[0x1f, 0x8b]) {
        let tar = decompress(".gz", d)?;
        crate::unpack::formats::tar::files(&tar)
            .into_iter()
            .map(|(n, b)| (n, 0, b.to_vec()))
            .collect()
    } else {
        return None;
    };
    let (member, at, bytes) = outer.iter().find(|(n, _, _)| {
        n.trim_start_matches("./")
            .strip_prefix("control.tar")
            .is_some_and(|rest| matches!(rest, "" | ".gz" | ".xz" | ".zst"))
    })?;
    let tar = decompress(member, bytes)?;
    let (name, control) = crate::unpack::formats::tar::files(&tar)
        .into_iter()
        .find(|(n, _)| n.trim_start_matches("./") == "control")?;
    let p = packages::parse(control).into_iter().next()?;
    let member = member.trim_start_matches("./");
    let place = if d.starts_with(b"!<arch>\n") {
        format!("ar member {member} at {at:#x}, {name}")
    } else {
        format!("tar member {member}, {name}")
    };
    Some(PackageFact {
        name: p.name,
        version: p.version,
        offset: *at,
        place,
    })
}

/// RPM header tags fwcert reads.
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;

const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];

fn be32(d: &[u8], at: usize) -> Option<u32> {
    d.get(at..at.checked_add(4)?)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// A header's index and store (the "blob": index count, store size, the
/// 16-byte entries, the store), with the blob's length.
struct Header<'a> {
    entries: &'a [u8],
    store: &'a [u8],
    len: usize,
}

fn header_blob(d: &[u8]) -> Option<Header<'_>> {
    let n = usize::try_from(be32(d, 0)?).ok()?;
    let size = usize::try_from(be32(d, 4)?).ok()?;
    if n > MAX_TAGS {
        return None;
    }
    let entries_end = 8usize.checked_add(n.checked_mul(16)?)?;
    let end = entries_end.checked_add(size)?;
    Some(Header {
        entries: d.get(8..entries_end)?,
        store: d.get(entries_end..end)?,
        len: end,
    })
}

impl Header<'_> {
    /// The (type, offset, count) of `tag`.
    fn entry(&self, tag: u32) -> Option<(u32, usize, u32)> {
        self.entries.chunks_exact(16).find_map(|e| {
            (be32(e, 0)? == tag).then(|| Some((be32(e, 4)?, usize::try_from(be32(e, 8)?).ok()?, be32(e, 12)?)))?
        })
    }

    fn string(&self, tag: u32) -> Option<String> {
        let (ty, off, _) = self.entry(tag)?;
        if ty != TYPE_STRING {
            return None;
        }
        let s = self.store.get(off..)?;
        let end = memchr::memchr(0, s)?;
        std::str::from_utf8(&s[..end]).ok().map(str::to_string)
    }

    fn int32(&self, tag: u32) -> Option<u32> {
        let (ty, off, count) = self.entry(tag)?;
        (ty == TYPE_INT32 && count >= 1).then(|| be32(self.store, off))?
    }

    /// NAME and VERSION-RELEASE (the epoch, like dpkg's, is not part of
    /// the upstream version and is left out; it is named in `place`).
    fn fact(&self, offset: usize, place: &str) -> Option<PackageFact> {
        let name = self.string(TAG_NAME)?;
        let version = self.string(TAG_VERSION)?;
        let version = match self.string(TAG_RELEASE) {
            Some(r) if !r.is_empty() => format!("{version}-{r}"),
            _ => version,
        };
        let epoch = self.int32(TAG_EPOCH).map(|e| format!(" EPOCH {e}")).unwrap_or_default();
        Some(PackageFact {
            name,
            version,
            offset,
            place: format!("{place}{epoch}"),
        })
    }
}

/// The main header of an `.rpm` file.
fn rpm_file(d: &[u8]) -> Option<PackageFact> {
    if !d.starts_with(&[0xed, 0xab, 0xee, 0xdb]) {
        return None;
    }
    let sig_at = 96;
    if d.get(sig_at..sig_at + 4)? != HEADER_MAGIC {
        return None;
    }
    let sig = header_blob(d.get(sig_at + 8..)?)?;
    // The signature header is padded to a multiple of 8 bytes.
    let main_at = (sig_at + 8 + sig.len).checked_next_multiple_of(8)?;
    if d.get(main_at..main_at + 4)? != HEADER_MAGIC {
        return None;
    }
    let main = header_blob(d.get(main_at + 8..)?)?;
    main.fact(main_at, &format!("header at {main_at:#x}: NAME, VERSION, RELEASE tags"))
}

/// The packages of an rpm SQLite database, read from memory.
fn rpmdb_sqlite(d: &[u8]) -> Vec<PackageFact> {
    if !d.starts_with(b"SQLite format 3\0") || d.len() < 100 {
        return Vec::new();
    }
    let mut bytes = d.to_vec();
    // rpm leaves its database in WAL mode (header bytes 18 and 19 = 2); a
    // database deserialized into memory has no WAL file and reads only in
    // the legacy journal mode, so the copy says that.
    bytes[18] = 1;
    bytes[19] = 1;
    let read = || -> rusqlite::Result<Vec<PackageFact>> {
        let mut conn = rusqlite::Connection::open_in_memory()?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, &bytes[..], bytes.len(), true)?;
        // The schema is the image's: no functions from it, and `Packages`
        // must be a plain table (not a view or a virtual table, whose
        // reading could run what the image's schema says).
        conn.execute_batch("PRAGMA trusted_schema = OFF;")?;
        let plain: bool = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'Packages' AND sql LIKE 'CREATE TABLE%'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n == 1),
        )?;
        if !plain {
            return Ok(Vec::new());
        }
        let mut st = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (hnum, blob) = row?;
            if let Some(f) = header_blob(&blob).and_then(|h| h.fact(0, &format!("Packages row {hnum}"))) {
                out.push(f);
            }
        }
        Ok(out)
    };
    read().unwrap_or_default()
}

/// An rpm database fwcert does not read (Berkeley DB `Packages`, ndb
/// `Packages.db`), by its path and first bytes: what to name in the gap.
pub fn unread_rpm_database(path: &str, data: &[u8]) -> Option<&'static str> {
    let mut parts = path.rsplit('/');
    let name = parts.next()?;
    if parts.next()? != "rpm" {
        return None;
    }
    // Berkeley DB keeps its magic at offset 12 in the byte order of the
    // machine that wrote it: hash 0x061561, btree 0x053162.
    let bdb = [0x0006_1561u32, 0x0005_3162].iter().any(|m| {
        data.get(12..16)
            .is_some_and(|b| b == m.to_le_bytes() || b == m.to_be_bytes())
    });
    match name {
        "Packages" if bdb => Some("Berkeley DB"),
        "Packages.db" if data.starts_with(b"RpmP") => Some("ndb"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            &include_bytes!(concat!("../../tests/data/packages/", $name))[..]
        };
    }

    fn found(path: &str, data: &[u8]) -> Vec<(&'static str, String, u64, String)> {
        detect(7, path, data)
            .into_iter()
            .map(|d| {
                assert_eq!((d.file, d.method), (7, Method::PackageDatabase));
                (d.name, d.version, d.offset, d.evidence)
            })
            .collect()
    }

    #[test]
    fn debs_with_each_control_compression() {
        let zlib = fixture!("zlib1g_1.2.8.deb");
        let f = found("var/cache/zlib1g_1.2.8.deb", zlib);
        assert_eq!(f.len(), 1);
        let (name, version, offset, evidence) = &f[0];
        assert_eq!((*name, version.as_str()), ("zlib", "1.2.8.dfsg-5"));
        assert_eq!(
            evidence,
            &format!("deb ar member control.tar.xz at {offset:#x}, ./control: Package: zlib1g Version: 1.2.8.dfsg-5")
        );
        // The offset is the control archive's: an xz stream starts there.
        assert!(zlib[*offset as usize..].starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]));
        let f = found("dnsmasq_2.78.deb", fixture!("dnsmasq_2.78.deb"));
        assert_eq!((f[0].0, f[0].1.as_str()), ("dnsmasq", "2.78-1"));
        assert!(f[0].3.contains("control.tar.gz"), "{}", f[0].3);
        let f = found("curl_7.64.0.deb", fixture!("curl_7.64.0.deb"));
        assert_eq!((f[0].0, f[0].1.as_str()), ("curl", "7.64.0-4"));
        assert!(f[0].3.contains("control.tar.zst"), "{}", f[0].3);
        // A package fwcert has no component for; a .deb that is not one.
        assert!(found("hello_2.10.deb", fixture!("hello_2.10.deb")).is_empty());
        assert_eq!(
            control_of_package(fixture!("hello_2.10.deb")).map(|p| p.name),
            Some("hello".into())
        );
        assert!(found("x.deb", &zlib[..300]).is_empty());
        // The extension decides: the same bytes under another name are
        // not a package file.
        assert!(found("zlib1g_1.2.8.bin", zlib).is_empty());
    }

    #[test]
    fn ipks_in_both_layouts() {
        let f = found("tmp/dropbear_2012.55.ipk", fixture!("dropbear_2012.55.ipk"));
        assert_eq!(
            f,
            [(
                "dropbear",
                "2012.55-2".to_string(),
                0,
                "ipk tar member control.tar.gz, ./control: Package: dropbear Version: 2012.55-2".to_string()
            )]
        );
        let bb = fixture!("busybox_1.23.2.ipk");
        let f = found("busybox_1.23.2.ipk", bb);
        assert_eq!((f[0].0, f[0].1.as_str()), ("busybox", "1.23.2-1"));
        assert!(
            bb[f[0].2 as usize..].starts_with(&[0x1f, 0x8b]),
            "the offset is control.tar.gz's"
        );
        assert!(found("broken.ipk", fixture!("broken.ipk")).is_empty());
    }

    #[test]
    fn rpm_files_by_their_header() {
        let rpm = fixture!("dropbear-2012.55.rpm");
        let f = found("dropbear-2012.55.rpm", rpm);
        assert_eq!(f.len(), 1);
        let (name, version, offset, evidence) = &f[0];
        assert_eq!((*name, version.as_str()), ("dropbear", "2012.55-1"));
        assert_eq!(
            evidence,
            &format!("rpm header at {offset:#x}: NAME, VERSION, RELEASE tags: Package: dropbear Version: 2012.55-1")
        );
        assert!(rpm[*offset as usize..].starts_with(&HEADER_MAGIC));
        assert!(found("hello-2.10.rpm", fixture!("hello-2.10.rpm")).is_empty());
        // Cut inside the main header: nothing.
        assert!(found("d.rpm", &rpm[..*offset as usize + 200]).is_empty());
        // The lead's name is not evidence: a lead alone gives nothing.
        assert!(found("d.rpm", &rpm[..96]).is_empty());
    }

    #[test]
    fn the_rpm_sqlite_database() {
        let db = fixture!("rpmdb.sqlite");
        let f = found("usr/lib/sysimage/rpm/rpmdb.sqlite", db);
        assert_eq!(
            f,
            [(
                "dropbear",
                "2012.55-1".to_string(),
                0,
                "rpmdb.sqlite Packages row 1: Package: dropbear Version: 2012.55-1".to_string()
            )]
        );
        assert!(found("rpmdb.sqlite", &db[..db.len() / 2]).is_empty());
        assert!(found("rpmdb.sqlite", b"SQLite format 3\0").is_empty());
    }

    #[test]
    fn a_package_file_in_a_filesystem_is_a_component_and_a_berkeley_db_a_name() {
        use crate::samples::Entry;
        let mut bdb = vec![0u8; 64];
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        let dir = |path| Entry::Dir { path, mode: 0o755 };
        let entries = [
            dir("var"),
            dir("var/cache"),
            dir("var/lib"),
            dir("var/lib/rpm"),
            Entry::File {
                path: "var/cache/zlib1g_1.2.8.deb",
                mode: 0o644,
                data: fixture!("zlib1g_1.2.8.deb").to_vec(),
            },
            Entry::File {
                path: "var/lib/rpm/Packages",
                mode: 0o644,
                data: bdb,
            },
        ];
        let img = crate::samples::squashfs(&entries, &crate::unpack::formats::squashfs::GZIP_CODEC);
        let u = crate::unpack::unpack(img.into(), "t.bin", &Default::default());
        let inv = crate::inventory::Inventory::build(&u);
        let z = inv
            .components
            .iter()
            .find(|c| c.name == "zlib")
            .expect("zlib from the .deb");
        assert_eq!(
            (z.version.as_str(), z.method),
            ("1.2.8.dfsg-5", Method::PackageDatabase)
        );
        assert_eq!(inv.files[z.file].path, "/var/cache/zlib1g_1.2.8.deb");
        let unread: Vec<(&str, &str)> = inv
            .files
            .iter()
            .filter_map(|f| unread_rpm_database(&f.path, f.data).map(|k| (f.path.as_str(), k)))
            .collect();
        assert_eq!(unread, [("/var/lib/rpm/Packages", "Berkeley DB")]);
    }

    #[test]
    fn ar_members_are_bounded() {
        let mut a = b"!<arch>\n".to_vec();
        a.extend(format!("{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n", "x/", 0, 0, 0, 644, 3).as_bytes());
        a.extend(b"abc\n");
        let m = ar_members(&a);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].0.as_str(), m[0].1, m[0].2), ("x", 68, &b"abc"[..]));
        // A size past the end stops the walk.
        a.truncate(a.len() - 2);
        assert!(ar_members(&a).is_empty());
    }

    #[test]
    fn rpm_headers_with_lying_sizes_give_nothing() {
        let mut h = vec![0u8; 8];
        h[..4].copy_from_slice(&2u32.to_be_bytes());
        h[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(header_blob(&h).is_none());
        assert!(header_blob(&[0xff; 8]).is_none());
        assert!(rpm_file(&[0xed, 0xab, 0xee, 0xdb]).is_none());
    }

    #[test]
    fn unread_rpm_databases_are_named() {
        let mut bdb = vec![0u8; 32];
        bdb[12..16].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        assert_eq!(unread_rpm_database("var/lib/rpm/Packages", &bdb), Some("Berkeley DB"));
        assert_eq!(
            unread_rpm_database("usr/lib/sysimage/rpm/Packages.db", b"RpmP\0\0"),
            Some("ndb")
        );
        assert_eq!(unread_rpm_database("var/lib/rpm/Packages", b"text"), None);
        assert_eq!(unread_rpm_database("etc/Packages", &bdb), None);
    }
}
