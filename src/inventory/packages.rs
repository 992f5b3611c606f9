//! Package databases: what the build system says it installed. The
//! strongest evidence of a component's version, ahead of version strings:
//! opkg (OpenWrt, ipkg before it) keeps `status` and one `info/<pkg>.control`
//! per package, dpkg keeps `status` (and distroless images `status.d/`).
//! All are RFC 822-style paragraphs with `Package:` and `Version:` fields;
//! Alpine's apk (`lib/apk/db/installed`, musl systems) has the same shape
//! with one-letter keys (`P:`, `V:`).
//!
//! The package names each component is installed under are data
//! (`packages` in `checks/components/components.toml`).

use super::components::{Detection, Method, catalog, name_matches};

/// Which database a path is, if any.
fn database(path: &str) -> Option<&'static str> {
    let mut parts = path.rsplit('/');
    let name = parts.next()?;
    let dir = parts.next()?;
    let parent = parts.next().unwrap_or("");
    match (parent, dir, name) {
        (_, "opkg", "status") => Some("opkg status"),
        (_, "ipkg", "status") => Some("ipkg status"),
        (_, "dpkg", "status") => Some("dpkg status"),
        ("opkg" | "ipkg", "info", n) if n.ends_with(".control") => Some("opkg control"),
        ("dpkg", "status.d", _) => Some("dpkg status.d"),
        ("apk", "db", "installed") => Some("apk installed"),
        _ => None,
    }
}

/// One package entry: its name, version and the offset of its paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub offset: usize,
}

/// Whether a `Status:` field says the package is installed. dpkg keeps
/// removed packages whose configuration files remain
/// (`deinstall ok config-files`); opkg writes `install ok installed`, or
/// `install user installed`. No `Status:` (a control file): installed.
fn installed(status: Option<&str>) -> bool {
    status.is_none_or(|s| s.split_whitespace().last() == Some("installed"))
}

/// The packages of a status or control file. A Debian epoch (`1:`) is not
/// part of the upstream version and is dropped; the revision stays (a
/// backport hint the matcher turns into lower confidence).
pub fn parse(text: &[u8]) -> Vec<Package> {
    parse_with(text, ["Package", "Version", "Status"])
}

/// [`parse`] with the keys of one database's name, version and status.
fn parse_with(text: &[u8], [k_name, k_version, k_status]: [&str; 3]) -> Vec<Package> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    let mut start = 0usize;
    let (mut name, mut version, mut status): (Option<String>, Option<String>, Option<String>) = (None, None, None);
    let mut flush =
        |name: &mut Option<String>, version: &mut Option<String>, status: &mut Option<String>, at: usize| {
            if let (Some(n), Some(v)) = (name.take(), version.take())
                && installed(status.as_deref())
            {
                let v = match v.split_once(':') {
                    Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => rest.to_string(),
                    _ => v,
                };
                out.push(Package {
                    name: n,
                    version: v,
                    offset: at,
                });
            }
            *status = None;
        };
    for line in text.split(|&b| b == b'\n') {
        let line_start = offset;
        offset += line.len() + 1;
        let l = String::from_utf8_lossy(line);
        let l = l.trim_end_matches('\r');
        if l.trim().is_empty() {
            flush(&mut name, &mut version, &mut status, start);
            start = offset;
            continue;
        }
        if name.is_none() && version.is_none() && status.is_none() {
            start = line_start;
        }
        let field = |key: &str| {
            l.strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        };
        if let Some(v) = field(k_name) {
            name = Some(v);
        } else if let Some(v) = field(k_version) {
            version = Some(v);
        } else if let Some(v) = field(k_status) {
            status = Some(v);
        }
    }
    flush(&mut name, &mut version, &mut status, start);
    out
}

/// Components recorded in a package database file.
pub fn detect(file: usize, path: &str, data: &[u8]) -> Vec<Detection> {
    let Some(db) = database(path) else {
        return Vec::new();
    };
    let mut out: Vec<Detection> = Vec::new();
    let packages = if db == "apk installed" {
        // apk has no status field: every entry is installed.
        parse_with(data, ["P", "V", "\u{0}"])
    } else {
        parse(data)
    };
    for p in packages {
        if !p.version.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        for c in &catalog().components {
            if c.packages.iter().any(|e| name_matches(e, &p.name))
                && !out.iter().any(|d| d.name == c.name && d.version == p.version)
            {
                out.push(Detection {
                    name: c.name.as_str(),
                    version: p.version.clone(),
                    file,
                    offset: p.offset as u64,
                    evidence: format!("{db}: Package: {} Version: {}", p.name, p.version),
                    method: Method::PackageDatabase,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databases_are_recognised_by_path() {
        assert_eq!(database("/usr/lib/opkg/status"), Some("opkg status"));
        assert_eq!(database("/var/lib/dpkg/status"), Some("dpkg status"));
        assert_eq!(database("/usr/lib/opkg/info/busybox.control"), Some("opkg control"));
        assert_eq!(database("/var/lib/dpkg/status.d/zlib1g"), Some("dpkg status.d"));
        assert_eq!(database("/lib/apk/db/installed"), Some("apk installed"));
        assert_eq!(database("/etc/status"), None);
        assert_eq!(database("/usr/lib/opkg/info/busybox.list"), None);
    }

    #[test]
    fn paragraphs_epochs_and_removed_packages() {
        let text = b"Package: busybox\nVersion: 1.23.2-1\nStatus: install user installed\nArchitecture: mips\n\n\
Package: libssl1.1\r\nStatus: deinstall ok config-files\r\nVersion: 1.1.1n-0+deb11u3\r\n\r\n\
Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.11.dfsg-2+deb11u2\n";
        let p = parse(text);
        assert_eq!(
            p,
            [
                Package {
                    name: "busybox".into(),
                    version: "1.23.2-1".into(),
                    offset: 0
                },
                Package {
                    name: "zlib1g".into(),
                    version: "1.2.11.dfsg-2+deb11u2".into(),
                    offset: 170
                },
            ]
        );
        assert!(text[170..].starts_with(b"Package: zlib1g"));
    }

    #[test]
    fn detections_name_the_component_and_the_entry() {
        let d = detect(
            4,
            "/usr/lib/opkg/status",
            b"Package: libopenssl1.1\nVersion: 1.1.1k-1\n",
        );
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].name, d[0].version.as_str()), ("openssl", "1.1.1k-1"));
        assert_eq!(d[0].method, Method::PackageDatabase);
        assert_eq!(d[0].evidence, "opkg status: Package: libopenssl1.1 Version: 1.1.1k-1");
        assert!(detect(4, "/etc/motd", b"Package: busybox\nVersion: 1.0\n").is_empty());
    }
}
