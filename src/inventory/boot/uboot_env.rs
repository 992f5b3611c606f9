//! U-Boot environments found in the image: debug-interface evidence.
//!
//! U-Boot keeps its environment as NUL-terminated `name=value` strings
//! ending in an empty string. It appears either as the default environment
//! compiled into the U-Boot binary, or as an environment partition that
//! starts with a CRC-32 of the data area (plus a flag byte in redundant
//! set-ups). `bootdelay` decides whether autoboot can be interrupted on the
//! serial console (`-2`: never; `-1`: waits forever; `N`: N seconds),
//! `bootargs` names the kernel console and can replace init with a shell,
//! and `silent` mutes the console.

use memchr::memmem;

/// A variable name as U-Boot allows it.
fn name_ok(n: &[u8]) -> bool {
    !n.is_empty() && n.len() <= 64 && n.iter().all(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn entry_ok(e: &[u8]) -> bool {
    match e.iter().position(|&b| b == b'=') {
        Some(i) => {
            name_ok(&e[..i])
                && e.len() <= 4096
                && e[i + 1..]
                    .iter()
                    .all(|&b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n')
        }
        None => false,
    }
}

/// Sizes tried for the CRC-covered data area of an environment partition.
const ENV_SIZES: &[usize] = &[
    0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000, 0x1_0000, 0x2_0000, 0x4_0000,
];

/// One environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UbootEnv {
    /// Offset of the first variable in the scanned bytes.
    pub offset: u64,
    /// `default (compiled in)` or `partition (CRC-32 verified)`.
    pub kind: String,
    pub vars: Vec<(String, String)>,
}

impl UbootEnv {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Find environments in `data`: blocks of at least three variables that
/// include `bootcmd` or `bootdelay`.
pub fn find(data: &[u8]) -> Vec<UbootEnv> {
    let mut out: Vec<UbootEnv> = Vec::new();
    let mut covered_until = 0usize;
    let mut hits: Vec<usize> = memmem::find_iter(data, b"bootcmd=").collect();
    hits.extend(memmem::find_iter(data, b"bootdelay="));
    hits.sort_unstable();
    for hit in hits {
        if hit < covered_until || (hit > 0 && data[hit - 1] != 0 && !(hit >= 4 && is_crc_start(data, hit))) {
            continue;
        }
        // Walk back over whole entries.
        let mut start = hit;
        while start > 1 && data[start - 1] == 0 {
            let prev_end = start - 1;
            let prev_start = data[..prev_end].iter().rposition(|&b| b == 0).map_or(0, |p| p + 1);
            if prev_start >= prev_end || !entry_ok(&data[prev_start..prev_end]) {
                break;
            }
            start = prev_start;
            if start == 0 {
                break;
            }
        }
        // Walk forward until the empty string that ends the environment.
        let mut vars = Vec::new();
        let mut pos = start;
        while pos < data.len() {
            let end = data[pos..].iter().position(|&b| b == 0).map_or(data.len(), |p| pos + p);
            let e = &data[pos..end];
            if e.is_empty() || !entry_ok(e) {
                break;
            }
            if let Some(i) = e.iter().position(|&b| b == b'=') {
                vars.push((
                    String::from_utf8_lossy(&e[..i]).into_owned(),
                    String::from_utf8_lossy(&e[i + 1..]).into_owned(),
                ));
            }
            pos = end + 1;
        }
        covered_until = pos;
        if vars.len() < 3 {
            continue;
        }
        let kind = if is_crc_start(data, start) {
            "partition (CRC-32 verified)"
        } else {
            "default (compiled in)"
        };
        out.push(UbootEnv {
            offset: start as u64,
            kind: kind.into(),
            vars,
        });
    }
    out
}

/// Whether a CRC-32 of an environment data area starting at `start` sits
/// just before it (4 bytes, or 5 with a redundant-environment flag).
fn is_crc_start(data: &[u8], start: usize) -> bool {
    for hdr in [4usize, 5] {
        let Some(crc_at) = start.checked_sub(hdr) else { continue };
        let Some(b) = data.get(crc_at..crc_at + 4) else {
            continue;
        };
        let want = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        for size in ENV_SIZES {
            let Some(area) = data.get(start..(crc_at + size)) else {
                continue;
            };
            if crc32fast::hash(area) == want {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_compiled_in_default_environment() {
        let d = b"\xff\x00junk\x00bootargs=console=ttyS0,115200 root=31:02\x00bootcmd=bootm 0x9f020000\x00bootdelay=1\x00baudrate=115200\x00\x00\x00more";
        let e = find(d);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].get("bootdelay"), Some("1"));
        assert_eq!(e[0].get("bootargs"), Some("console=ttyS0,115200 root=31:02"));
        assert_eq!(e[0].vars.len(), 4);
        assert_eq!(e[0].kind, "default (compiled in)");
        assert_eq!(e[0].offset, 7);
    }

    #[test]
    fn verifies_a_partition_crc() {
        let mut area = b"bootdelay=3\0bootcmd=run x\0silent=1\0\0".to_vec();
        area.resize(0x1000 - 4, 0);
        let crc = crc32fast::hash(&area);
        let mut d = crc.to_le_bytes().to_vec();
        d.extend_from_slice(&area);
        let e = find(&d);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, "partition (CRC-32 verified)");
        assert_eq!(e[0].get("silent"), Some("1"));
    }

    #[test]
    fn arbitrary_bytes_around_markers_do_not_panic() {
        let mut x: u32 = 0x9e37_79b9;
        for n in 0..300usize {
            let mut d = Vec::new();
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                d.push(if x.is_multiple_of(7) { 0 } else { (x >> 8) as u8 });
            }
            let at = d.len() / 2;
            d.splice(at..at, b"\0bootcmd=x\0bootdelay=\0a=b".iter().copied());
            let _ = find(&d);
            let _ = find(&d[..at]);
        }
    }

    #[test]
    fn a_lone_string_is_not_an_environment() {
        assert!(find(b"\0usage: setenv bootcmd=...\0").is_empty());
        assert!(find(b"\0bootdelay=%d\0").is_empty());
        assert!(find(b"").is_empty());
    }
}
