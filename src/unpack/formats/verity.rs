//! dm-verity hash devices made by `veritysetup format`: secure-boot
//! evidence that a read-only file system is checked block by block.
//!
//! The on-disk superblock is described in cryptsetup's `veritysetup(8)`
//! and its `lib/verity/verity.c` (`struct verity_sb`, little-endian, 512
//! bytes): magic `verity\0\0`, `version` (1), `hash_type` (0 Chrome OS, 1
//! normal), a 16-byte UUID, the hash algorithm's name (32 bytes,
//! NUL-padded), data and hash block sizes, the number of data blocks, the
//! salt's size and up to 256 bytes of salt. The hash tree follows from the
//! next hash block. Its size is computed as `veritysetup` lays it out: each
//! level holds one digest per block of the level below, a digest taking the
//! next power of two of the algorithm's digest size (checked against
//! `veritysetup format` with SHA-256 and SHA-1, both hash types). The
//! superblock's fields become facts; the root hash is not in it (it is
//! passed on the kernel command line or signed separately), so a verity
//! device is evidence of the mechanism, not of which root hash is trusted.

use std::collections::BTreeMap;

use crate::unpack::bytes::{le_u16, le_u32, le_u64};
use crate::unpack::format::{Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject, need};

pub const FORMAT: Format = Format {
    name: "dm-verity",
    magics: &[Magic::at_start(MAGIC)],
    parse,
    extract,
    carve: true,
};

const MAGIC: &[u8] = b"verity\0\0";
/// `struct verity_sb` is 512 bytes.
const SB_LEN: u64 = 512;
/// Levels of a hash tree over 2^64 blocks with two digests per block.
const MAX_LEVELS: usize = 64;

/// The parsed superblock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    pub version: u32,
    pub hash_type: u32,
    pub uuid: [u8; 16],
    pub algorithm: String,
    pub data_block_size: u32,
    pub hash_block_size: u32,
    pub data_blocks: u64,
    pub salt: Vec<u8>,
}

/// Digest sizes of the hash algorithms the kernel offers dm-verity.
fn digest_size(algorithm: &str) -> Option<u64> {
    Some(match algorithm {
        "md5" => 16,
        "sha1" | "rmd160" | "ripemd160" => 20,
        "sha224" | "sha3-224" => 28,
        "sha256" | "sha3-256" | "sm3" | "blake2s-256" | "streebog256" => 32,
        "sha384" | "sha3-384" => 48,
        "sha512" | "sha3-512" | "blake2b-512" | "streebog512" | "wp512" | "whirlpool" => 64,
        _ => return None,
    })
}

fn block_size_ok(b: u32) -> bool {
    b.is_power_of_two() && (512..=(1 << 20)).contains(&b)
}

pub fn superblock(d: &[u8]) -> Result<Superblock, Reject> {
    if !d.starts_with(MAGIC) {
        return Err(Reject::new("not a verity superblock magic"));
    }
    let version = need(le_u32(d, 8), "version")?;
    let hash_type = need(le_u32(d, 12), "hash type")?;
    if version != 1 {
        return Err(Reject::new(format!("unknown verity superblock version {version}")));
    }
    if hash_type > 1 {
        return Err(Reject::new(format!("unknown verity hash type {hash_type}")));
    }
    let uuid: [u8; 16] = need(d.get(16..32), "UUID")?
        .try_into()
        .map_err(|_| Reject::new("UUID"))?;
    let name = need(d.get(32..64), "algorithm")?;
    let end = name
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| Reject::new("algorithm name is not terminated"))?;
    let algorithm = std::str::from_utf8(&name[..end])
        .ok()
        .filter(|a| {
            !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
        .ok_or_else(|| Reject::new("algorithm name is not a name"))?
        .to_string();
    let data_block_size = need(le_u32(d, 64), "data block size")?;
    let hash_block_size = need(le_u32(d, 68), "hash block size")?;
    if !block_size_ok(data_block_size) || !block_size_ok(hash_block_size) {
        return Err(Reject::new(format!(
            "implausible block sizes {data_block_size}/{hash_block_size}"
        )));
    }
    let data_blocks = need(le_u64(d, 72), "data blocks")?;
    let salt_size = need(le_u16(d, 80), "salt size")? as usize;
    if salt_size > 256 {
        return Err(Reject::new(format!("salt of {salt_size} bytes (at most 256)")));
    }
    let salt = need(d.get(88..88 + salt_size), "salt")?.to_vec();
    Ok(Superblock {
        version,
        hash_type,
        uuid,
        algorithm,
        data_block_size,
        hash_block_size,
        data_blocks,
        salt,
    })
}

/// The bytes from the superblock to the end of the hash tree, or `None`
/// when the algorithm's digest size is not known (or the numbers
/// overflow).
pub fn extent(sb: &Superblock) -> Option<u64> {
    let hb = u64::from(sb.hash_block_size);
    let digest = digest_size(&sb.algorithm)?.next_power_of_two();
    let per_block = hb / digest;
    if per_block < 2 {
        return None;
    }
    let mut blocks = sb.data_blocks;
    let mut tree = 0u64;
    for _ in 0..MAX_LEVELS {
        if blocks <= 1 && tree > 0 {
            break;
        }
        blocks = blocks.div_ceil(per_block).max(1);
        tree = tree.checked_add(blocks)?;
        if blocks == 1 {
            break;
        }
    }
    SB_LEN.div_ceil(hb).checked_mul(hb)?.checked_add(tree.checked_mul(hb)?)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn uuid(u: &[u8; 16]) -> String {
    let h = hex(u);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    let sb = superblock(d)?;
    let len = extent(&sb);
    let facts = BTreeMap::from([
        ("version".to_string(), sb.version.to_string()),
        (
            "hash_type".to_string(),
            match sb.hash_type {
                0 => "0 (Chrome OS)".to_string(),
                _ => "1 (normal)".to_string(),
            },
        ),
        ("uuid".to_string(), uuid(&sb.uuid)),
        ("algorithm".to_string(), sb.algorithm.clone()),
        ("data_block_size".to_string(), sb.data_block_size.to_string()),
        ("hash_block_size".to_string(), sb.hash_block_size.to_string()),
        ("data_blocks".to_string(), sb.data_blocks.to_string()),
        ("salt".to_string(), hex(&sb.salt)),
        ("secure_boot_evidence".to_string(), "dm-verity hash tree".to_string()),
    ]);
    Ok(Parsed {
        len: Some(len.unwrap_or(SB_LEN)),
        confidence: Confidence::Medium,
        description: format!(
            "dm-verity hash device, {}, {} data blocks of {} bytes{}",
            sb.algorithm,
            sb.data_blocks,
            sb.data_block_size,
            if len.is_some() {
                ""
            } else {
                " (hash tree size unknown for this algorithm)"
            }
        ),
        facts,
    })
}

/// Nothing to unpack: the hash tree is digests. A tree cut short by the
/// end of the blob is reported.
fn extract(d: &[u8], p: &Parsed, _: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let mut out = Extraction::default();
    if let Some(len) = p.len
        && (d.len() as u64) < len
    {
        out.problem(format!(
            "the hash tree is cut short: {} of {len} bytes present",
            d.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;

    /// `veritysetup format data.img hash.img` (cryptsetup 2.6.1) over 40
    /// KiB of data, with the salt and UUID given on the command line:
    /// tests/data/verity/make.sh.
    #[test]
    fn veritysetup_hash_device() {
        let d = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verity/hash.img")).unwrap();
        let (p, x) = run(&FORMAT, &d);
        assert_eq!(p.len, Some(d.len() as u64));
        assert_eq!(p.facts["algorithm"], "sha256");
        assert_eq!(p.facts["hash_type"], "1 (normal)");
        assert_eq!(p.facts["data_blocks"], "10");
        assert_eq!(p.facts["data_block_size"], "4096");
        assert_eq!(p.facts["hash_block_size"], "4096");
        assert_eq!(p.facts["uuid"], "12345678-1234-1234-1234-123456789abc");
        assert_eq!(
            p.facts["salt"],
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        );
        assert!(x.unwrap().problems.is_empty());
        let (_, x) = run(&FORMAT, &d[..5000]);
        assert!(x.unwrap().problems[0].contains("cut short"));
    }

    /// Tree sizes `veritysetup format` produced (--data-block-size=512
    /// --hash-block-size=512, 80 data blocks: 7 blocks for SHA-256 and
    /// SHA-1 alike, as a SHA-1 digest takes 32 bytes in the tree).
    #[test]
    fn tree_extent_matches_veritysetup() {
        let sb = |algorithm: &str, data_blocks, bs| Superblock {
            version: 1,
            hash_type: 1,
            uuid: [0; 16],
            algorithm: algorithm.into(),
            data_block_size: bs,
            hash_block_size: bs,
            data_blocks,
            salt: Vec::new(),
        };
        assert_eq!(extent(&sb("sha256", 80, 512)), Some(3584));
        assert_eq!(extent(&sb("sha1", 80, 512)), Some(3584));
        assert_eq!(extent(&sb("sha256", 10, 4096)), Some(8192));
        assert_eq!(extent(&sb("unknown", 10, 4096)), None);
        // Hostile counts end in a value or `None`, never an overflow.
        let _ = extent(&sb("sha256", u64::MAX, 512));
    }

    #[test]
    fn implausible_superblocks_are_rejected() {
        let d = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/verity/hash.img")).unwrap();
        for (at, v) in [(8usize, 2u8), (12, 7), (64, 3), (80, 0xff)] {
            let mut bad = d.clone();
            bad[at] = v;
            if at == 80 {
                bad[81] = 0xff;
            }
            assert!(parse(&bad).is_err(), "byte {at} = {v}");
        }
        assert!(parse(&d[..40]).is_err());
    }
}
