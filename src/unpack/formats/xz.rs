//! The `.xz` container (tukaani.org xz file format 1.0).

use std::collections::BTreeMap;

use crate::unpack::bytes::le_u32;
use crate::unpack::decode::xz;
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, stream_extraction,
};

pub const FORMAT: Format = Format {
    name: "xz",
    magics: &[Magic::at_start(&[0xfd, b'7', b'z', b'X', b'Z', 0x00])],
    parse,
    extract,
    carve: true,
};

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    if d.len() < 12 || d[0..6] != [0xfd, b'7', b'z', b'X', b'Z', 0x00] {
        return Err(Reject::new("not an xz header"));
    }
    // Stream flags: first byte zero, check type in the low nibble of the
    // second, then a CRC32 of the two flag bytes.
    if d[6] != 0 || d[7] & 0xf0 != 0 {
        return Err(Reject::new("invalid xz stream flags"));
    }
    let crc = le_u32(d, 8).ok_or_else(|| Reject::new("truncated xz header"))?;
    if crc32fast::hash(&d[6..8]) != crc {
        return Err(Reject::new("xz stream-flags CRC mismatch"));
    }
    Ok(Parsed {
        len: None,
        confidence: Confidence::High,
        description: "xz stream".into(),
        facts: BTreeMap::new(),
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let (decoded, consumed) = xz(d, ctx);
    stream_extraction("xz", decoded, consumed)
}

/// Compress `data` as an `.xz` stream (for fixtures).
pub fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).map_err(std::io::Error::other)?;
    w.write_all(data)?;
    w.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::format::Child;
    use crate::unpack::formats::testing::run;

    #[test]
    fn round_trip() {
        let d = compress(b"root:x:0:0::/root:/bin/sh\n").unwrap();
        let x = run(&FORMAT, &d).1.unwrap();
        match &x.children[0] {
            Child::Payload { data } => assert_eq!(data, b"root:x:0:0::/root:/bin/sh\n"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_flags_crc_is_rejected() {
        let mut d = compress(b"x").unwrap();
        d[8] ^= 1;
        assert!(parse(&d).is_err());
    }
}
