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
    if header_ends.is_empty() {
        headerless(data)
    } else {
        every_string(data, &header_ends)
    }
}

/// [`entries`] by reading every NUL-separated string in turn.
fn every_string(data: &[u8], header_ends: &[usize]) -> Vec<KvEntry> {
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

/// [`entries`] of data without a `FLSH` header, the same as
/// [`every_string`]'s but visiting only the strings that hold a `=`: a run
/// is entries whose strings follow each other with one NUL between, so any
/// other string, or a second NUL, between two entries ends the run. Most
/// files searched are programs' data and kernels, dense in short strings
/// and NULs, where reading every string was the slow part.
fn headerless(data: &[u8]) -> Vec<KvEntry> {
    let mut out = Vec::new();
    let mut run: Vec<KvEntry> = Vec::new();
    // The end (its NUL's offset) of the last entry in `run`.
    let mut run_end = None;
    // A string starts here: the start of the data or just past a NUL.
    let mut from = 0;
    while let Some(eq) = memchr::memchr(b'=', data.get(from..).unwrap_or_default()).map(|i| from + i) {
        // The string holding this `=`. Its start is looked for no further
        // back than MAX_ENTRY bytes: if it lies further, the slice taken
        // is already longer than MAX_ENTRY and no entry, as the string is.
        let floor = eq.saturating_sub(MAX_ENTRY).max(from);
        let start = memchr::memrchr(0, &data[floor..eq]).map_or(floor, |i| floor + i + 1);
        let end = memchr::memchr(0, &data[eq..]).map_or(data.len(), |i| eq + i);
        match entry(&data[start..end], start) {
            Some(e) => {
                if run_end.is_some_and(|end: usize| end + 1 != start) {
                    flush(&mut run, false, &mut out);
                }
                run.push(e);
                run_end = Some(end);
            }
            None => {
                flush(&mut run, false, &mut out);
                run_end = None;
            }
        }
        from = end + 1;
    }
    flush(&mut run, false, &mut out);
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

    /// Data without a header made of NUL-separated pieces that are entries,
    /// near-entries and noise, with single and repeated NULs.
    fn headerless_samples() -> Vec<Vec<u8>> {
        const PIECES: [&[u8]; 12] = [
            b"lan_ipaddr=192.168.1.1",
            b"http_passwd=admin",
            b"a=1",
            b"usage: %s",
            b"passwd=%s\x01",
            b"bad key=1",
            b"=x",
            b"",
            b"\xff\xfe",
            b"k==v",
            b"9x=1",
            b"_u=\t",
        ];
        // Strings just over and at the length limit, one with its `=` far
        // from its start.
        let long_key = [b"k".repeat(MAX_ENTRY + 9), b"=v".to_vec()].concat();
        let long_value = [b"k=".to_vec(), b"v".repeat(MAX_ENTRY - 2)].concat();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n) as usize
        };
        let mut samples = vec![long_key.clone(), long_value.clone()];
        for _ in 0..400 {
            let mut data = Vec::new();
            for _ in 0..next(24) {
                match next(40) {
                    0 => data.extend_from_slice(&long_key),
                    1 => data.extend_from_slice(&long_value),
                    2 => data.extend_from_slice(&long_value[1..]),
                    n => data.extend_from_slice(PIECES[n % PIECES.len()]),
                }
                data.extend(std::iter::repeat_n(0, 1 + usize::from(next(5) == 0)));
            }
            if next(3) == 0 {
                data.pop();
            }
            samples.push(data);
        }
        samples
    }

    #[test]
    fn the_headerless_reader_finds_what_reading_every_string_finds() {
        let mut blocks = 0;
        for data in headerless_samples() {
            let fast = headerless(&data);
            assert_eq!(keys(&fast), keys(&every_string(&data, &[])), "{data:?}");
            blocks += usize::from(!fast.is_empty());
        }
        // The samples exercise both outcomes.
        assert!(blocks > 20, "{blocks}");
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
