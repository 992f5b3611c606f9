//! Components and versions found in files, from version strings that the
//! components themselves embed. Each detection keeps its evidence: the file,
//! the byte offset and the matched text.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::Serialize;

/// One detected component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Detection {
    pub name: &'static str,
    pub version: String,
    /// Index into the inventory's files.
    pub file: usize,
    pub offset: u64,
    pub evidence: String,
}

/// A version-string pattern: the literal prefix that precedes the version.
struct Pattern {
    name: &'static str,
    prefix: &'static [u8],
}

const PATTERNS: &[Pattern] = &[
    Pattern {
        name: "busybox",
        prefix: b"BusyBox v",
    },
    Pattern {
        name: "linux",
        prefix: b"Linux version ",
    },
    Pattern {
        name: "dropbear",
        prefix: b"dropbear_",
    },
    Pattern {
        name: "openssl",
        prefix: b"OpenSSL ",
    },
    Pattern {
        name: "u-boot",
        prefix: b"U-Boot ",
    },
    Pattern {
        name: "dnsmasq",
        prefix: b"dnsmasq-",
    },
    Pattern {
        name: "lighttpd",
        prefix: b"lighttpd/",
    },
];

/// Version characters: digits, dots, letters and a few separators, starting
/// with a digit.
fn version_at(data: &[u8], at: usize) -> Option<String> {
    let rest = data.get(at..)?;
    if !rest.first()?.is_ascii_digit() {
        return None;
    }
    let len = rest
        .iter()
        .take(40)
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
        .count();
    let v = String::from_utf8_lossy(&rest[..len])
        .trim_end_matches(['.', '-', '_'])
        .to_string();
    // A version has at least one dot (1.01, 2012.55, 2.6.31).
    v.contains('.').then_some(v)
}

/// The upstream release of a kernel version string: its leading
/// `major.minor[.patch…]` numbers. Vendors append their own build tags
/// (`2.6.31--LSDK-9.2.0.312`, `3.10.14-svn1234`, `4.9.37+`); vulnerability
/// data is keyed on the upstream release, and the whole string stays in the
/// detection's evidence.
fn upstream_kernel_version(raw: &str) -> String {
    let mut end = 0;
    let bytes = raw.as_bytes();
    while end < bytes.len() {
        let digits = bytes[end..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            break;
        }
        end += digits;
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            end += 1;
        } else {
            break;
        }
    }
    raw[..end].to_string()
}

/// Every prefix of [`PATTERNS`] in one searcher, built once: a file is
/// read once for all of them instead of once per pattern.
///
/// Measured over 430 MB of files (ELF code and text, `docs/benchmarks.md`):
/// the SIMD packed searcher takes 0.28 s, one `memmem` pass per pattern
/// 0.40–0.53 s, and the full automaton 0.9–1.2 s whatever its kind. The
/// automaton is kept for machines without the SIMD searcher.
struct Prefixes {
    packed: Option<aho_corasick::packed::Searcher>,
    automaton: AhoCorasick,
}

impl Prefixes {
    fn get() -> &'static Prefixes {
        static P: OnceLock<Prefixes> = OnceLock::new();
        P.get_or_init(|| {
            let prefixes = || PATTERNS.iter().map(|p| p.prefix);
            Prefixes {
                packed: aho_corasick::packed::Searcher::new(prefixes()),
                // A handful of short constant literals always build.
                automaton: AhoCorasick::new(prefixes()).expect("prefix automaton builds"),
            }
        })
    }

    /// Occurrences of any prefix, left to right, not overlapping.
    fn find_iter<'h>(&'h self, data: &'h [u8]) -> Box<dyn Iterator<Item = aho_corasick::Match> + 'h> {
        match &self.packed {
            Some(p) => Box::new(p.find_iter(data)),
            None => Box::new(self.automaton.find_iter(data)),
        }
    }
}

/// Find component versions in one file's bytes: for each pattern, its
/// first occurrence that is followed by a version, in pattern order.
pub fn detect(file: usize, path: &str, data: &[u8]) -> Vec<Detection> {
    let mut first: [Option<(usize, String)>; PATTERNS.len()] = Default::default();
    let mut missing = PATTERNS.len();
    // A non-overlapping search sees every occurrence, because no prefix
    // can begin inside another's match (a test keeps it so).
    for m in Prefixes::get().find_iter(data) {
        let slot = &mut first[m.pattern().as_usize()];
        if slot.is_none()
            && let Some(version) = version_at(data, m.end())
        {
            *slot = Some((m.start(), version));
            missing -= 1;
            if missing == 0 {
                break;
            }
        }
    }
    let mut out = Vec::new();
    for (p, found) in PATTERNS.iter().zip(first) {
        if let Some((pos, raw)) = found {
            let end = (pos + p.prefix.len() + raw.len()).min(data.len());
            let version = if p.name == "linux" {
                upstream_kernel_version(&raw)
            } else {
                raw
            };
            out.push(Detection {
                name: p.name,
                version,
                file,
                offset: pos as u64,
                evidence: String::from_utf8_lossy(&data[pos..end]).to_string(),
            });
        }
    }
    // uClibc is named by its library file, e.g. /lib/libuClibc-0.9.30.so.
    if let Some(name) = path.rsplit('/').next()
        && let Some(v) = name.strip_prefix("libuClibc-").and_then(|r| r.strip_suffix(".so"))
    {
        out.push(Detection {
            name: "uclibc",
            version: v.to_string(),
            file,
            offset: 0,
            evidence: format!("file name {name}"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_versions_with_offsets() {
        let data = b"junk\0BusyBox v1.01 (2015.03.10-03:34+0000) multi-call\0Linux version 2.6.31--LSDK-9.2.0 (x@y)";
        let d = detect(0, "/bin/busybox", data);
        assert_eq!(d[0].name, "busybox");
        assert_eq!(d[0].version, "1.01");
        assert_eq!(d[0].offset, 5);
        assert_eq!(d[1].name, "linux");
        assert_eq!(d[1].version, "2.6.31");
        assert_eq!(d[1].evidence, "Linux version 2.6.31--LSDK-9.2.0");
    }

    #[test]
    fn kernel_versions_keep_the_upstream_release() {
        for (raw, upstream) in [
            ("2.6.31--LSDK-9.2.0.312", "2.6.31"),
            ("3.10.14-svn1234", "3.10.14"),
            ("4.9.37+", "4.9.37"),
            ("5.4.0", "5.4.0"),
            ("2.6.36.4brcmarm", "2.6.36.4"),
            ("3.18.", "3.18"),
        ] {
            assert_eq!(upstream_kernel_version(raw), upstream, "{raw}");
        }
    }

    #[test]
    fn the_first_occurrence_with_a_version_wins_for_each_pattern() {
        let data = b"OpenSSL %s\0OpenSSL 1.0.2k\0dropbear_2019.78 dropbear_2020.81\0OpenSSL 3.0.1";
        let d = detect(3, "/lib/libssl.so", data);
        let found: Vec<(&str, &str, u64)> = d.iter().map(|d| (d.name, d.version.as_str(), d.offset)).collect();
        assert_eq!(found, [("dropbear", "2019.78", 26), ("openssl", "1.0.2k", 11)]);
        assert_eq!(d[1].evidence, "OpenSSL 1.0.2k");
    }

    /// The search as it was: one memmem pass per pattern.
    fn per_pattern(data: &[u8]) -> Vec<(&'static str, String, usize)> {
        PATTERNS
            .iter()
            .filter_map(|p| {
                let pos = memchr::memmem::find_iter(data, p.prefix)
                    .find(|&pos| version_at(data, pos + p.prefix.len()).is_some())?;
                let raw = version_at(data, pos + p.prefix.len())?;
                let version = if p.name == "linux" {
                    upstream_kernel_version(&raw)
                } else {
                    raw
                };
                Some((p.name, version, pos))
            })
            .collect()
    }

    #[test]
    fn no_prefix_can_start_inside_another_match() {
        for a in PATTERNS {
            for b in PATTERNS {
                for cut in 1..a.prefix.len() {
                    let tail = &a.prefix[cut..];
                    let n = tail.len().min(b.prefix.len());
                    assert_ne!(tail[..n], b.prefix[..n], "{:?} inside {:?}", b.name, a.name);
                }
            }
        }
    }

    #[test]
    fn the_packed_searcher_and_the_automaton_agree() {
        let p = Prefixes::get();
        assert!(p.packed.is_some(), "the packed searcher builds for these prefixes");
        let data = b"xxBusyBox v1.2 OpenSSL 1.0 dnsmasq-2.1lighttpd/1.4.3U-Boot Linux version 2.6 dropbear_2019.78";
        let packed: Vec<_> = p.find_iter(data).map(|m| (m.pattern(), m.start())).collect();
        let automaton: Vec<_> = p.automaton.find_iter(data).map(|m| (m.pattern(), m.start())).collect();
        assert_eq!(packed, automaton);
        assert_eq!(packed.len(), PATTERNS.len());
    }

    #[test]
    fn one_pass_finds_what_one_pass_per_pattern_found() {
        let pieces: &[&[u8]] = &[
            b"BusyBox v",
            b"1.2",
            b"Linux version ",
            b"2.6.31",
            b"dropbear_",
            b"x",
            b"OpenSSL ",
            b"U-Boot ",
            b"2010.06",
            b"dnsmasq-",
            b"lighttpd/",
            b"1.4.",
            b"\0",
            b" ",
            b"OpenSSL 1",
            b"Linux version Linux version 3.",
        ];
        let mut x: u32 = 7;
        for _ in 0..300 {
            let mut data = Vec::new();
            for _ in 0..40 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                data.extend_from_slice(pieces[(x >> 16) as usize % pieces.len()]);
            }
            let d = detect(0, "/x", &data);
            let got: Vec<_> = d
                .iter()
                .map(|d| (d.name, d.version.clone(), d.offset as usize))
                .collect();
            assert_eq!(got, per_pattern(&data), "{}", String::from_utf8_lossy(&data));
        }
    }

    #[test]
    fn prefixes_without_versions_are_ignored() {
        assert!(detect(0, "/x", b"BusyBox v%s OpenSSL library").is_empty());
        assert_eq!(detect(0, "/lib/libuClibc-0.9.33.2.so", b"")[0].version, "0.9.33.2");
    }
}
