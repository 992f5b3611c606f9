//! The `.lzma` ("LZMA alone") stream, as used for router kernels and as a
//! uImage payload: a properties byte, a 32-bit dictionary size, a 64-bit
//! uncompressed size (all-ones when unknown), then the range-coded data.
//!
//! The header has no magic, so `parse` insists on plausible values: the
//! properties byte must decode to valid lc/lp/pb, the dictionary must be
//! between 4 KiB and 1 GiB, a known size must be under 4 GiB, and the first
//! range-coder byte must be zero (it always is).

use std::collections::BTreeMap;

use crate::unpack::bytes::{le_u32, le_u64};
use crate::unpack::decode::lzma_alone;
use crate::unpack::format::{
    Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need, stream_extraction,
};

pub const FORMAT: Format = Format {
    name: "lzma",
    // 0x5d is lc=3 lp=0 pb=2, what nearly every encoder writes; the two
    // zero bytes are the low bytes of a dictionary size that is a multiple
    // of 64 KiB.
    magics: &[Magic::at_start(&[0x5d, 0x00, 0x00])],
    parse,
    extract,
    carve: true,
};

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let props = *need(d.first(), "properties")?;
    if props >= 9 * 5 * 5 {
        return Err(Reject::new("invalid LZMA properties byte"));
    }
    let dict = need(le_u32(d, 1), "dictionary size")?;
    if !(4096..=1 << 30).contains(&dict) {
        return Err(Reject::new(format!("implausible LZMA dictionary size {dict}")));
    }
    let size = need(le_u64(d, 5), "uncompressed size")?;
    if size != u64::MAX && (size == 0 || size >= 1 << 32) {
        return Err(Reject::new(format!("implausible LZMA uncompressed size {size}")));
    }
    if *need(d.get(13), "first range-coder byte")? != 0 {
        return Err(Reject::new("first LZMA range-coder byte is not zero"));
    }
    let mut facts = BTreeMap::new();
    facts.insert("dictionary_size".into(), dict.to_string());
    let size_text = if size == u64::MAX {
        "unknown".to_string()
    } else {
        size.to_string()
    };
    facts.insert("uncompressed_size".into(), size_text.clone());
    Ok(Parsed {
        len: None,
        confidence: if size == u64::MAX {
            Confidence::Low
        } else {
            Confidence::Medium
        },
        description: format!("LZMA stream, dictionary {dict} bytes, uncompressed size {size_text}"),
        facts,
    })
}

pub fn extract(d: &[u8], _: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let (decoded, consumed) = lzma_alone(d, ctx);
    stream_extraction("LZMA", decoded, consumed)
}

/// Compress `data` as a `.lzma` stream with a known size (for fixtures and
/// sample images).
pub fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut opts = lzma_rust2::LzmaOptions::with_preset(6);
    opts.dict_size = 1 << 20;
    let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &opts, Some(data.len() as u64))
        .map_err(std::io::Error::other)?;
    w.write_all(data)?;
    w.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::format::Child;
    use crate::unpack::formats::testing::run;

    #[test]
    fn round_trip_and_exact_consumption() {
        let text = b"Linux version 2.6.31 (builder@host) #1 ".repeat(200);
        let mut d = compress(&text).unwrap();
        let len = d.len() as u64;
        d.extend_from_slice(b"hsqs and more data after the stream");
        let x = run(&FORMAT, &d).1.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        assert_eq!(x.consumed, Some(len));
        match &x.children[0] {
            Child::Payload { data } => assert_eq!(data, &text),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn implausible_headers_are_rejected() {
        let mut h = vec![0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0];
        assert!(parse(&h).is_ok());
        h[13] = 1;
        assert!(parse(&h).is_err());
        h[13] = 0;
        h[0] = 225;
        assert!(parse(&h).is_err());
        h[0] = 0x5d;
        h[1..5].copy_from_slice(&16u32.to_le_bytes());
        assert!(parse(&h).is_err());
    }
}
