//! Realtek SDK router settings in flash: `COMPHS`, `COMPDS`, `COMPCS`.
//!
//! Routers built on Realtek's SDK keep their hardware, default and current
//! settings (web-admin user and password, Wi-Fi keys among them) in flash
//! sectors as a 12-byte header, `COMPRESS_MIB_HEADER_T` in the SDK's
//! `apmib`: a 6-byte signature (`COMPHS` hardware, `COMPDS` default,
//! `COMPCS` current settings), the compression rate (`u16`) and the
//! compressed length (`u32`), both big-endian (the SDK's
//! `WORD_SWAP`/`DWORD_SWAP` on little-endian hosts), followed by LZSS data
//! in the classic Okumura form (a 4096-byte window initialised with spaces,
//! 18-byte maximum match, threshold 2) that the SDK's `Decode()` reverses.
//!
//! What it decompresses to is the SDK's settings structure, a C struct
//! whose field layout changes with the SDK version. fwcert decodes it (so
//! every content check reads its strings) but does not interpret its
//! fields, so the container is reported partial: credentials stored in it
//! are not checked as such, and the clauses that depend on them stay
//! INCONCLUSIVE.

use std::collections::BTreeMap;

use crate::unpack::format::{Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject};

const HEADER: usize = 12;
/// The SDK keeps each settings area within one flash region of this size
/// or less; a larger length is not a settings header.
const MAX_COMPRESSED: usize = 1 << 20;
/// LZSS parameters of the SDK's `Decode()`.
const WINDOW: usize = 4096;
const MAX_MATCH: usize = 18;
const THRESHOLD: usize = 2;

pub const FORMAT: Format = Format {
    name: "realtek-mib",
    magics: &[
        Magic::at_start(b"COMPHS"),
        Magic::at_start(b"COMPDS"),
        Magic::at_start(b"COMPCS"),
    ],
    parse,
    extract,
    carve: true,
};

/// What each signature holds.
fn area(sig: &[u8]) -> Option<&'static str> {
    match sig {
        b"COMPHS" => Some("hardware settings"),
        b"COMPDS" => Some("default settings"),
        b"COMPCS" => Some("current settings"),
        _ => None,
    }
}

fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let head = d
        .get(..HEADER)
        .ok_or_else(|| Reject::new("shorter than the 12-byte header"))?;
    let what = area(&head[..6]).ok_or_else(|| Reject::new("not a Realtek settings signature"))?;
    let rate = u16::from_be_bytes([head[6], head[7]]);
    let len = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as usize;
    if len == 0 || len > MAX_COMPRESSED {
        return Err(Reject::new(format!("compressed length {len} is not a settings area")));
    }
    let mut facts = BTreeMap::new();
    facts.insert("area".into(), what.into());
    facts.insert("compressed_length".into(), len.to_string());
    facts.insert("compression_rate".into(), rate.to_string());
    Ok(Parsed {
        len: Some((HEADER + len) as u64),
        confidence: Confidence::Medium,
        description: format!("Realtek SDK {what} (LZSS, {len} bytes)"),
        facts,
    })
}

/// Reverse the SDK's LZSS. Stops at the end of the input (the format has
/// no end marker) or when `limit` bytes have been produced.
fn lzss_decode(input: &[u8], limit: usize) -> (Vec<u8>, bool) {
    let mut window = [b' '; WINDOW + MAX_MATCH - 1];
    let mut r = WINDOW - MAX_MATCH;
    let mut out = Vec::with_capacity(input.len().saturating_mul(3).min(limit));
    let mut bytes = input.iter().copied();
    let mut flags: u32 = 0;
    loop {
        flags >>= 1;
        if flags & 0x100 == 0 {
            let Some(c) = bytes.next() else { return (out, false) };
            flags = u32::from(c) | 0xff00;
        }
        if flags & 1 != 0 {
            let Some(c) = bytes.next() else { return (out, false) };
            if out.len() >= limit {
                return (out, true);
            }
            out.push(c);
            window[r] = c;
            r = (r + 1) & (WINDOW - 1);
        } else {
            let (Some(lo), Some(hi)) = (bytes.next(), bytes.next()) else {
                return (out, false);
            };
            let pos = usize::from(lo) | ((usize::from(hi) & 0xf0) << 4);
            let len = (usize::from(hi) & 0x0f) + THRESHOLD + 1;
            for k in 0..len {
                if out.len() >= limit {
                    return (out, true);
                }
                let c = window[(pos + k) & (WINDOW - 1)];
                out.push(c);
                window[r] = c;
                r = (r + 1) & (WINDOW - 1);
            }
        }
    }
}

fn extract(d: &[u8], p: &Parsed, ctx: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let declared = p.len.map_or(d.len(), |l| l as usize);
    let body = d.get(HEADER..declared.min(d.len())).unwrap_or_default();
    let mut out = Extraction::default();
    if d.len() < declared {
        out.problem(format!(
            "settings truncated: {} compressed bytes declared, {} present",
            declared - HEADER,
            body.len()
        ));
    }
    ctx.deadline.check().map_err(|e| ExtractError::Corrupt(e.to_string()))?;
    let limit = ctx.budget.remaining_bytes().min(usize::MAX as u64) as usize;
    let (data, cut) = lzss_decode(body, limit);
    if ctx.budget.charge_bytes(data.len() as u64).is_err() || cut {
        out.problem("the byte budget ran out while decoding the settings");
    }
    out.problem(
        "Realtek settings are a binary structure whose fields fwcert does not interpret: \
         passwords and keys stored in it are not checked as such",
    );
    out.children.push(Child::Payload { data });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::{Status, UnpackOptions, unpack};

    /// LZSS as the SDK's encoder could write it: every byte a literal, and
    /// one back-reference to show matches decode too.
    fn compress_literals(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(8) {
            out.push(0xff);
            out.extend_from_slice(chunk);
        }
        out
    }

    fn settings(sig: &[u8; 6], body: &[u8]) -> Vec<u8> {
        let mut out = sig.to_vec();
        out.extend_from_slice(&3u16.to_be_bytes());
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn lzss_literals_and_matches_decode() {
        let plain = b"admin\0\0\0password123\0";
        assert_eq!(lzss_decode(&compress_literals(plain), 1 << 20).0, plain);
        // Flags 0b10: a literal `a`, then a match of 3 at the window start
        // (position 4078, where the literal was written) repeating it.
        let pos = WINDOW - MAX_MATCH; // 4078
        let lo = (pos & 0xff) as u8;
        let hi = ((pos >> 4) & 0xf0) as u8;
        let (out, cut) = lzss_decode(&[0b0000_0001, b'a', lo, hi], 1 << 20);
        assert_eq!((out.as_slice(), cut), (&b"aaaa"[..], false));
        // The limit cuts output, and says so.
        assert_eq!(lzss_decode(&compress_literals(plain), 4), (b"admi".to_vec(), true));
    }

    #[test]
    fn current_settings_in_flash_are_decoded_and_reported_partial() {
        let plain = b"6G\x01\x00\x40\x00admin\0\0\0\0\0s3cr3t-pass\0\0\0";
        let mut flash = vec![0xffu8; 0x1000];
        let at = flash.len();
        flash.extend(settings(b"COMPCS", &compress_literals(plain)));
        flash.resize(0x3000, 0xff);
        let u = unpack(flash.into(), "flash.bin", &UnpackOptions::default());
        let c = u.containers.iter().find(|c| c.format == "realtek-mib").expect("found");
        assert_eq!((c.offset, c.status), (at as u64, Status::Partial));
        assert!(
            c.problems.iter().any(|p| p.contains("does not interpret")),
            "{:?}",
            c.problems
        );
        assert_eq!(c.facts["area"], "current settings");
        assert_eq!(u.payloads.len(), 1);
        assert_eq!(&u.payloads[0].data[..], plain);
        assert!(!u.complete(), "uninterpreted settings keep the unpack incomplete");
    }

    #[test]
    fn lying_or_cut_headers_are_rejected_or_partial() {
        assert!(parse(b"COMPCS\0\x03\0\0\0\0").is_err(), "zero length");
        assert!(parse(b"COMPCS\0\x03\xff\xff\xff\xff").is_err(), "absurd length");
        assert!(parse(b"COMPXS\0\x03\0\0\0\x10").is_err());
        let whole = settings(b"COMPDS", &compress_literals(b"x".repeat(100).as_slice()));
        let cut = &whole[..whole.len() / 2];
        let u = unpack(cut.to_vec().into(), "cut.bin", &UnpackOptions::default());
        let c = &u.containers[0];
        assert_eq!(c.status, Status::Partial);
        assert!(c.problems.iter().any(|p| p.contains("truncated")), "{:?}", c.problems);
    }
}
