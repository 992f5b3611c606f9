//! PEM blocks (RFC 7468, plus the RFC 1421 `Proc-Type`/`DEK-Info` headers
//! of OpenSSL's legacy encrypted keys), found anywhere in a file.
//!
//! A block is returned only when its END line matches its BEGIN line and
//! its body is clean base64. A format string that merely contains
//! `-----BEGIN RSA PRIVATE KEY-----` (as dropbear binaries do) has no such
//! body, and is reported as a look-alike instead.

use base64::Engine;
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Lenient about padding and trailing bits (real PEM writers differ),
/// strict about the alphabet.
const B64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Bodies larger than this are not keys or certificates.
const MAX_BODY: usize = 1 << 20;

/// One PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    /// Byte offset of `-----BEGIN`.
    pub offset: usize,
    /// RFC 1421 headers, in order.
    pub headers: Vec<(String, String)>,
    pub der: Vec<u8>,
}

/// A BEGIN marker without a valid block behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub label: String,
    pub offset: usize,
    pub why: &'static str,
}

const BEGIN: &[u8] = b"-----BEGIN ";

fn label_at(data: &[u8]) -> Option<&str> {
    let end = data.iter().take(80).position(|c| *c == b'-')?;
    let label = std::str::from_utf8(&data[..end]).ok()?;
    (data.get(end..end + 5) == Some(b"-----")
        && !label.is_empty()
        && label
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b' '))
    .then_some(label)
}

/// Every PEM block in `data`, and every BEGIN marker that is not one.
pub fn scan(data: &[u8]) -> (Vec<Block>, Vec<Marker>) {
    let mut blocks = Vec::new();
    let mut markers = Vec::new();
    let finder = memchr::memmem::Finder::new(BEGIN);
    let mut from = 0;
    while let Some(rel) = finder.find(&data[from..]) {
        let at = from + rel;
        from = at + BEGIN.len();
        let Some(label) = label_at(&data[from..]) else {
            continue;
        };
        let label = label.to_string();
        let body_start = from + label.len() + 5;
        match block(&data[body_start..], &label) {
            Ok(b) => {
                blocks.push(Block {
                    label,
                    offset: at,
                    headers: b.headers,
                    der: b.der,
                });
                from = body_start + b.used;
            }
            Err(why) => markers.push(Marker { label, offset: at, why }),
        }
    }
    (blocks, markers)
}

/// A block's headers and decoded body, and the bytes it took.
struct Body {
    headers: Vec<(String, String)>,
    der: Vec<u8>,
    used: usize,
}

/// Parse headers and body up to the matching END line.
fn block(data: &[u8], label: &str) -> Result<Body, &'static str> {
    let end_marker = format!("-----END {label}-----");
    let window = &data[..data.len().min(MAX_BODY + 4096)];
    let end = memchr::memmem::find(window, end_marker.as_bytes()).ok_or("no matching END line")?;
    let inner = std::str::from_utf8(&window[..end]).map_err(|_| "body is not text")?;
    // PEM inside JSON or C strings writes its line breaks as `\n`.
    let unescaped;
    let inner = if inner.contains("\\n") {
        unescaped = inner.replace("\\r", "").replace("\\n", "\n");
        unescaped.as_str()
    } else {
        inner
    };
    let mut headers = Vec::new();
    let mut b64 = String::new();
    let mut in_headers = true;
    for line in inner.lines() {
        let l = line.trim();
        if in_headers {
            if let Some((k, v)) = l.split_once(':')
                && !k.is_empty()
                && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            {
                headers.push((k.to_string(), v.trim().to_string()));
                continue;
            }
            if l.is_empty() {
                continue;
            }
            in_headers = false;
        }
        b64.push_str(l);
    }
    if b64.is_empty() {
        return Err("empty body");
    }
    if !b64
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
    {
        return Err("body is not base64");
    }
    let der = B64.decode(b64.as_bytes()).map_err(|_| "body is not base64")?;
    Ok(Body {
        headers,
        der,
        used: end + end_marker.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_look_alikes() {
        let text = b"junk\x00-----BEGIN RSA PRIVATE KEY-----\x00%s\x00-----END RSA PRIVATE KEY-----\x00\
-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n\
-----BEGIN PRIVATE KEY-----\nMIIB\nAAEC\n-----END PRIVATE KEY-----\n\
-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let (blocks, markers) = scan(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "PRIVATE KEY");
        assert_eq!(blocks[0].der, vec![0x30, 0x82, 0x01, 0x00, 0x01, 0x02]);
        assert_eq!(
            blocks[1].headers[0],
            ("Proc-Type".to_string(), "4,ENCRYPTED".to_string())
        );
        let why: Vec<&str> = markers.iter().map(|m| m.why).collect();
        assert_eq!(why, vec!["body is not base64", "empty body"]);
    }

    #[test]
    fn escaped_line_breaks_in_json() {
        let (blocks, _) = scan(
            br#"{"private_key": "-----BEGIN PRIVATE KEY-----
MIIB
AAEC
-----END PRIVATE KEY-----
"}"#,
        );
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].der, vec![0x30, 0x82, 0x01, 0x00, 0x01, 0x02]);
    }
}
