//! NVRAM variable blocks: `name=value` strings separated by NUL bytes.
//!
//! Broadcom-based routers keep their settings, web-admin password included
//! (`http_passwd`), in an NVRAM partition: a 20-byte header (the magic
//! `FLSH`, the length, CRC and version, and two refresh words) and then
//! `name=value\0` strings up to an empty string. The same NUL-separated
//! layout holds factory defaults in flash dumps and in default-settings
//! files of other vendors, without the header. Both are read here into
//! configuration entries located by byte offset, so the credential and
//! secret rules that read configuration files read NVRAM too.
//!
//! Only the layout is recognised: a run of at least [`MIN_RUN`] well-formed
//! `name=value` strings (one after a `FLSH` header), so that the odd
//! `key=%s` format string in a program makes no configuration.

use memchr::memmem;

use super::config::{KvEntry, is_key};

/// Consecutive `name=value` strings that make a block without a header.
pub const MIN_RUN: usize = 4;
/// The Broadcom NVRAM header: magic, length, CRC/version, two refresh words.
const FLSH: &[u8] = b"FLSH";
const FLSH_HEADER: usize = 20;
/// Longer strings are not NVRAM values (Broadcom's own limit is far lower).
const MAX_ENTRY: usize = 4096;

/// One `name=value` string at `offset`, if it is one.
fn entry(bytes: &[u8], offset: usize) -> Option<KvEntry> {
    // Cheap refusals first: most strings in a binary are no entry.
    let first = *bytes.first()?;
    if bytes.len() > MAX_ENTRY || !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let eq = memchr::memchr(b'=', bytes)?;
    let key = std::str::from_utf8(&bytes[..eq]).ok()?;
    let value = &bytes[eq + 1..];
    // Printable ASCII, tabs and the bytes of UTF-8 or GBK text.
    if !is_key(key) || value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return None;
    }
    Some(KvEntry {
        key: key.to_string(),
        value: String::from_utf8_lossy(value).to_string(),
        line: None,
        offset: Some(offset as u64),
        section: None,
    })
}

/// Keep `run` when it is long enough to be a block, or follows a header.
fn flush(run: &mut Vec<KvEntry>, headed: bool, out: &mut Vec<KvEntry>) {
    if run.len() >= MIN_RUN || (headed && !run.is_empty()) {
        out.append(run);
    }
    run.clear();
}

/// Every NVRAM entry in `data`, in order, with its offset in `data`.
pub fn entries(data: &[u8]) -> Vec<KvEntry> {
    // Where a `FLSH` header ends, a string begins whatever byte precedes it.
    let header_ends: Vec<usize> = memmem::find_iter(data, FLSH)
        .map(|at| at + FLSH_HEADER)
        .filter(|&end| end < data.len())
        .collect();
    let mut out = Vec::new();
    let mut run: Vec<KvEntry> = Vec::new();
    // Whether the current run started right after a header.
    let mut headed = false;
    let mut start = 0;
    while start < data.len() {
        let mut end = memchr::memchr(0, &data[start..]).map_or(data.len(), |i| start + i);
        // A header ending inside this string starts a new one there.
        if let Some(&h) = header_ends.iter().find(|&&h| h > start && h < end) {
            flush(&mut run, headed, &mut out);
            headed = true;
            start = h;
            end = memchr::memchr(0, &data[start..]).map_or(data.len(), |i| start + i);
        } else if header_ends.contains(&start) {
            flush(&mut run, headed, &mut out);
            headed = true;
        }
        match entry(&data[start..end], start) {
            Some(e) => run.push(e),
            None => {
                flush(&mut run, headed, &mut out);
                headed = false;
            }
        }
        start = end + 1;
        // Runs of NULs (erased or zeroed space) end any block at once.
        if data.get(start) == Some(&0) {
            flush(&mut run, headed, &mut out);
            headed = false;
            start += data[start..].iter().take_while(|&&b| b == 0).count();
        }
    }
    flush(&mut run, headed, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Broadcom NVRAM partition with `pairs`, at `at` in erased flash.
    pub fn flsh(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (k, v) in pairs {
            body.extend_from_slice(format!("{k}={v}\0").as_bytes());
        }
        body.push(0);
        let mut out = FLSH.to_vec();
        out.extend_from_slice(&((FLSH_HEADER + body.len()) as u32).to_le_bytes());
        // CRC and version, refresh words: the last byte is not a NUL, so
        // the header runs into the first name unless its end is known.
        out.extend_from_slice(&[0x5a, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a]);
        out.extend_from_slice(&body);
        out
    }

    fn keys(e: &[KvEntry]) -> Vec<(String, String, u64)> {
        e.iter()
            .map(|e| (e.key.clone(), e.value.clone(), e.offset.unwrap_or(u64::MAX)))
            .collect()
    }

    #[test]
    fn a_broadcom_partition_reads_from_its_first_name() {
        let mut data = vec![0xffu8; 64];
        data.extend(flsh(&[("http_username", "admin"), ("http_passwd", "s3cret")]));
        data.extend(vec![0xffu8; 32]);
        let e = entries(&data);
        let first = 64 + FLSH_HEADER as u64;
        assert_eq!(
            keys(&e),
            [
                ("http_username".into(), "admin".into(), first),
                (
                    "http_passwd".into(),
                    "s3cret".into(),
                    first + "http_username=admin\0".len() as u64
                ),
            ]
        );
        assert_eq!(e[1].line, None);
    }

    #[test]
    fn headerless_blocks_need_a_run_of_entries() {
        let block = b"lan_ipaddr=192.168.1.1\0wan_proto=dhcp\0admin_user=root\0admin_pwd=888888\0";
        let mut data = b"\x7fELF junk\0".to_vec();
        let at = data.len();
        data.extend_from_slice(block);
        data.extend_from_slice(b"\0\x01\x02");
        let e = entries(&data);
        assert_eq!(e.len(), 4);
        assert_eq!((e[3].key.as_str(), e[3].value.as_str()), ("admin_pwd", "888888"));
        assert_eq!(e[0].offset, Some(at as u64));
        // Three strings, or a format string in a program, are no block.
        assert!(entries(b"a=1\0b=2\0c=3\0").is_empty());
        assert!(entries(b"usage\0passwd=%s\0bad key=1\0x=\x01\0").is_empty());
    }

    #[test]
    fn odd_input_is_no_block_and_no_panic() {
        for data in [
            &b""[..],
            b"FLSH",
            b"FLSH\0\0\0\0",
            b"\0\0\0",
            b"=\0=\0=\0=\0",
            b"FLSHxxxxxxxxxxxxxxxxa=1",
        ] {
            let _ = entries(data);
        }
        // A header with one entry right at the end of the data.
        let e = entries(b"FLSH\x20\0\0\0xxxxxxxxxxxxa=1");
        assert_eq!(keys(&e), [("a".into(), "1".into(), 20)]);
    }
}
