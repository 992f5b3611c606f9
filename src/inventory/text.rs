//! Telling text files from binary ones.
//!
//! Parsers for line-based files (passwd, configs, PEM, authorized_keys) and
//! the text-only patterns run only on files this says are text, so every
//! caller must agree on one definition.

/// How much of a file is looked at: enough to see a binary's NUL bytes,
/// little enough that a large file costs nothing.
const SAMPLE: usize = 64 * 1024;

/// Whether `data` reads as text: its first 64 KiB are valid UTF-8 with no
/// NUL byte. A character cut off by the end of that sample is fine; one cut
/// off by the end of the file is not.
pub fn is_text(data: &[u8]) -> bool {
    let sample = &data[..data.len().min(SAMPLE)];
    if sample.contains(&0) {
        return false;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() < data.len(),
    }
}

/// A file's bytes read as text, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<'a> {
    pub text: std::borrow::Cow<'a, str>,
    /// The encoding it was read in: `UTF-8`, `GB18030` (which covers GBK
    /// and GB2312) or `windows-1252` (Latin-1 as the web reads it).
    pub encoding: &'static str,
    /// The file is NUL-separated records (an NVRAM dump, `key=value\0…`),
    /// whose separators became line ends.
    pub nul_separated: bool,
}

/// Why a file could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotText {
    #[error(
        "binary content: not text in UTF-8, GB18030 or Latin-1, nor NUL-separated records (encrypted, compressed or a binary format?)"
    )]
    Binary,
}

/// Read `data` as text: UTF-8 when it is, otherwise GB18030 (Chinese
/// vendors' configuration files) when it decodes strictly and holds Chinese
/// text, otherwise windows-1252. NUL-separated `key=value` records (NVRAM
/// dumps) become one line each (line N is record N). Anything else with
/// control bytes is binary.
///
/// Unlike [`is_text`], which decides what the text-only patterns search,
/// this reads a whole file that its name already says is text, so that a
/// configuration in a legacy encoding is analysed rather than skipped.
pub fn decode(data: &[u8]) -> Result<Decoded<'_>, NotText> {
    if data.contains(&0) {
        let records = nul_records(data).ok_or(NotText::Binary)?;
        let (text, encoding) = decode_text(&records)?;
        return Ok(Decoded {
            text: text.into_owned().into(),
            encoding,
            nul_separated: true,
        });
    }
    let (text, encoding) = decode_text(data)?;
    Ok(Decoded {
        text,
        encoding,
        nul_separated: false,
    })
}

/// Control bytes a text file may hold: tab, line ends, form feed, and the
/// DOS end-of-file mark.
fn is_text_byte(c: u8) -> bool {
    c >= 0x20 || matches!(c, b'\t' | b'\n' | b'\r' | 0x0c | 0x1a)
}

/// The text and the name of the encoding it was read in.
fn decode_text(data: &[u8]) -> Result<(std::borrow::Cow<'_, str>, &'static str), NotText> {
    if !data.iter().all(|c| is_text_byte(*c)) {
        return Err(NotText::Binary);
    }
    Ok(match std::str::from_utf8(data) {
        Ok(t) => (t.into(), "UTF-8"),
        Err(_) => match gb18030(data) {
            Some(t) => (t, "GB18030"),
            None => (
                encoding_rs::WINDOWS_1252.decode_without_bom_handling(data).0,
                "windows-1252",
            ),
        },
    })
}

/// `data` as GB18030 when it decodes without a single error and holds
/// Chinese characters; Latin-1 text rarely does both.
fn gb18030(data: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    encoding_rs::GB18030
        .decode_without_bom_handling_and_without_replacement(data)
        .filter(|t| t.chars().any(is_cjk))
}

/// NUL-separated `key=value` records as lines, when all but one in ten (or
/// all but one) non-empty records are such pairs of text: a header record (an NVRAM
/// partition's magic and length) and trailing erased flash (0x00/0xFF) are
/// tolerated and become empty lines; anything else is binary.
fn nul_records(data: &[u8]) -> Option<Vec<u8>> {
    let end = data.iter().rposition(|c| *c != 0 && *c != 0xff).map_or(0, |i| i + 1);
    let chunks: Vec<&[u8]> = data[..end].split(|c| *c == 0).collect();
    let is_pair = |r: &[u8]| {
        r.iter().all(|c| is_text_byte(*c) && *c != b'\n')
            && r.iter()
                .position(|c| *c == b'=')
                .is_some_and(|i| i > 0 && r[..i].iter().all(u8::is_ascii_graphic))
    };
    let filled = chunks.iter().filter(|r| !r.is_empty()).count();
    let pairs = chunks.iter().filter(|r| is_pair(r)).count();
    if pairs == 0 || filled - pairs > (filled / 10).max(1) {
        return None;
    }
    let mut out = Vec::with_capacity(end);
    for r in chunks {
        if is_pair(r) {
            out.extend_from_slice(r);
        }
        out.push(b'\n');
    }
    Some(out)
}

/// CJK Unified Ideographs and CJK punctuation/full-width forms: what a
/// Chinese configuration file's comments and values are made of.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{ff00}'..='\u{ffef}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_without_nul_in_the_sample() {
        assert!(is_text(b"root:x:0:0::/root:/bin/sh\n"));
        assert!(is_text("pässwd".as_bytes()));
        assert!(!is_text(b"\x7fELF\x00\x01"));
        assert!(!is_text(b"\xff\xfe"));
        // "é" is two bytes; cut at the sample's end it is text, at the
        // file's end it is not.
        let mut long = vec![b'a'; SAMPLE - 1];
        long.extend_from_slice("é".as_bytes());
        assert!(is_text(&long));
        assert!(!is_text(&long[..SAMPLE]));
        // A NUL past the sample is not seen.
        long.push(0);
        assert!(is_text(&long));
    }

    #[test]
    fn legacy_encodings_and_nvram_dumps_decode() {
        let (gbk, _, _) = encoding_rs::GBK.encode("# 管理员密码\nadmin_pwd=密码888888\n");
        let d = decode(&gbk).unwrap();
        assert_eq!((d.encoding, d.nul_separated), ("GB18030", false));
        assert!(d.text.contains("admin_pwd=密码888888"));
        let d = decode(b"wifi_key=caf\xe9\n").unwrap();
        assert_eq!((d.text.as_ref(), d.encoding), ("wifi_key=café\n", "windows-1252"));
        // An NVRAM partition: a header record, the pairs, erased flash.
        let d = decode(b"FLSH\x10\x00\0http_passwd=admin\0lan_ipaddr=192.168.1.1\0\0\xff\xff").unwrap();
        assert_eq!(
            (d.text.as_ref(), d.nul_separated),
            ("\n\nhttp_passwd=admin\nlan_ipaddr=192.168.1.1\n", true)
        );
        assert_eq!(decode(b"\x7fELF\x01\x01\x01\0\0"), Err(NotText::Binary));
        assert_eq!(decode(b"plain=1\n").unwrap().text, "plain=1\n");
    }
}
