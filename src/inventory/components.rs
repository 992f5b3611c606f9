//! Components and versions found in files, from version strings that the
//! components themselves embed. Each detection keeps its evidence: the file,
//! the byte offset and the matched text.

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

/// Find component versions in one file's bytes.
pub fn detect(file: usize, path: &str, data: &[u8]) -> Vec<Detection> {
    let mut out = Vec::new();
    for p in PATTERNS {
        let finder = memchr::memmem::Finder::new(p.prefix);
        if let Some(pos) = finder
            .find_iter(data)
            .find(|&pos| version_at(data, pos + p.prefix.len()).is_some())
        {
            let version = version_at(data, pos + p.prefix.len()).unwrap_or_default();
            let end = (pos + p.prefix.len() + version.len()).min(data.len());
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
        assert_eq!(d[1].version, "2.6.31--LSDK-9.2.0");
    }

    #[test]
    fn prefixes_without_versions_are_ignored() {
        assert!(detect(0, "/x", b"BusyBox v%s OpenSSL library").is_empty());
        assert_eq!(detect(0, "/lib/libuClibc-0.9.33.2.so", b"")[0].version, "0.9.33.2");
    }
}
