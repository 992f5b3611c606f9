//! Vendor containers fwcert recognises but cannot open.
//!
//! Some vendors encrypt whole firmware images with keys that are not public
//! (or that fwcert does not ship). Pretending such an image is "empty" would
//! turn a missing analysis into a PASS; instead each is recognised by its
//! magic at the start of a file and reported as a failed container with the
//! reason, which makes every verdict that depends on it INCONCLUSIVE.
//! Only leading magics are used (`carve: false`), so that four chance bytes
//! inside other data are never mistaken for one.

use std::collections::BTreeMap;

use crate::unpack::format::{Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject};

/// A known, unsupported container: its magic and what to tell the user.
struct Known {
    magic: &'static [u8],
    description: &'static str,
    why: &'static str,
}

const DLINK_SHRS: Known = Known {
    magic: b"SHRS",
    description: "D-Link encrypted firmware (SHRS header)",
    why: "D-Link SHRS images are AES-encrypted with per-model keys fwcert does not have",
};

const DLINK_ENCRPTED_IMG: Known = Known {
    magic: b"encrpted_img",
    description: "D-Link encrypted firmware (encrpted_img header)",
    why: "D-Link encrpted_img images are encrypted with per-model keys fwcert does not have",
};

pub const FORMAT_DLINK_SHRS: Format = Format {
    name: "dlink-shrs",
    magics: &[Magic::at_start(DLINK_SHRS.magic)],
    parse: |d| recognise(&DLINK_SHRS, d),
    extract: |_, _, _: &mut ExtractCtx| refuse(&DLINK_SHRS),
    carve: false,
};

pub const FORMAT_DLINK_ENCRPTED_IMG: Format = Format {
    name: "dlink-encrpted-img",
    magics: &[Magic::at_start(DLINK_ENCRPTED_IMG.magic)],
    parse: |d| recognise(&DLINK_ENCRPTED_IMG, d),
    extract: |_, _, _: &mut ExtractCtx| refuse(&DLINK_ENCRPTED_IMG),
    carve: false,
};

fn recognise(k: &Known, d: &[u8]) -> Result<Parsed, Reject> {
    if !d.starts_with(k.magic) {
        return Err(Reject::new("magic does not match"));
    }
    let mut facts = BTreeMap::new();
    facts.insert("unsupported".into(), k.why.into());
    Ok(Parsed {
        // The whole input: nothing after the header can be read.
        len: Some(d.len() as u64),
        confidence: Confidence::Medium,
        description: format!("{} (not supported: contents not analysed)", k.description),
        facts,
    })
}

fn refuse(k: &Known) -> Result<Extraction, ExtractError> {
    Err(ExtractError::Unsupported(k.why.into()))
}

#[cfg(test)]
mod tests {
    use crate::unpack::{Status, UnpackOptions, unpack};

    #[test]
    fn encrypted_dlink_images_fail_closed_with_the_reason() {
        let mut img = b"SHRS".to_vec();
        img.extend((0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let u = unpack(img.into(), "dir-882.bin", &UnpackOptions::default());
        assert!(!u.complete());
        let c = &u.containers[0];
        assert_eq!((c.format, c.status), ("dlink-shrs", Status::Failed));
        assert!(
            u.incompleteness().iter().any(|m| m.contains("AES-encrypted")),
            "{:?}",
            u.incompleteness()
        );
    }

    #[test]
    fn the_magic_inside_other_data_is_not_a_container() {
        let mut img = vec![0u8; 100];
        img.extend_from_slice(b"SHRS and more");
        let u = unpack(img.into(), "x.bin", &UnpackOptions::default());
        assert!(u.containers.iter().all(|c| c.format != "dlink-shrs"));
    }
}
