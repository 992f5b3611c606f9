//! Components and versions found in files, from version strings that the
//! components themselves embed. Each detection keeps its evidence: the file,
//! the byte offset and the matched text.
//!
//! What to look for is data, not code: `checks/components/components.toml`
//! names each component (package URL, CPE) and the version strings it
//! builds, each with the upstream source that builds it, so adding a
//! component is a reviewed data change.

use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};

/// One detected component.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Detection {
    pub name: &'static str,
    pub version: String,
    /// Index into the inventory's files.
    pub file: usize,
    pub offset: u64,
    pub evidence: String,
    /// What kind of evidence gave the version away.
    pub method: Method,
}

/// Kinds of evidence, strongest first: a package database records what
/// the build system installed; a version string is the component's own;
/// a file name or a module's `vermagic` is one step removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// An opkg or dpkg status/control entry, a package file's control
    /// data or RPM header, or an rpm database row.
    PackageDatabase,
    /// A version string inside one of the component's own files.
    VersionString,
    /// A version string in a file kind the pattern is only partly trusted
    /// in (a kernel banner in a raw payload, a module's `vermagic`).
    EmbeddedString,
    /// The version is in a library's file name.
    FileName,
}

impl Method {
    /// How far the evidence alone identifies the component and its
    /// version: `high`, `medium` or `low`.
    pub fn confidence(self) -> &'static str {
        match self {
            Method::PackageDatabase | Method::VersionString => "high",
            Method::EmbeddedString | Method::FileName => "medium",
        }
    }
}

/// Where `components.toml` lives under `checks/`.
pub const CATALOG_PATH: &str = "components/components.toml";

/// Errors in `components.toml`.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{CATALOG_PATH}: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("{CATALOG_PATH}: {0}")]
    Invalid(String),
    #[error("{CATALOG_PATH} is not among the embedded checks")]
    Missing,
}

/// The component catalogue: every component fwcert can identify.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "component")]
    pub components: Vec<Component>,
}

/// A component's identity and the strings that give its version away.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// The name detections and the vulnerability data use.
    pub name: String,
    /// The upstream project, for people.
    pub vendor: String,
    pub purl: Purl,
    /// CPE 2.3 `part:vendor:product`, as NVD names the component; absent
    /// when NVD's naming could not be confirmed.
    #[serde(default)]
    pub cpe: Option<String>,
    #[serde(default, rename = "pattern")]
    pub patterns: Vec<PatternDef>,
    #[serde(default, rename = "file_name")]
    pub file_names: Vec<FileNameDef>,
    /// opkg/dpkg package names that install the component (a trailing `*`
    /// matches any continuation, for ABI-suffixed names like `libssl1.1`).
    #[serde(default)]
    pub packages: Vec<String>,
    /// File names (a trailing `*` matches any continuation) that show the
    /// component is there even when no version could be read: such a file
    /// without a detection is a coverage gap, "not identifiable".
    #[serde(default)]
    pub present: Vec<String>,
    /// A pass and a fail case for each component, run by the tests.
    #[serde(default, rename = "fixture")]
    pub fixtures: Vec<ComponentFixture>,
}

/// A file that must (or must not) yield a version of its component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentFixture {
    pub path: String,
    /// The file's text (`\u0000` for NUL bytes).
    pub text: String,
    /// Wrap the text in an ELF header.
    #[serde(default)]
    pub elf: bool,
    /// The version expected; absent: the component must not be detected.
    #[serde(default)]
    pub version: Option<String>,
}

/// Package URL type and name: `pkg:<type>/<name>@<version>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purl {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

/// A version string: literal prefix, then the version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternDef {
    pub prefix: String,
    /// The version must be followed by one of these; empty: by anything.
    #[serde(default)]
    pub followed_by: Vec<String>,
    pub trusted_in: TrustedIn,
    #[serde(default)]
    pub version: VersionForm,
    /// Where upstream builds the string.
    pub source: String,
    /// Only versions from this one on belong to the component (uClibc-ng
    /// continued uClibc's file names from 1.0.0).
    #[serde(default)]
    pub from: Option<String>,
    /// Only versions before this one belong to the component.
    #[serde(default)]
    pub before: Option<String>,
}

/// A version carried by a library's file name (`libuClibc-0.9.30.so`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileNameDef {
    pub prefix: String,
    pub suffix: String,
    pub source: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
}

/// Whether `version` lies in `[from, before)` (either bound optional).
fn in_bounds(version: &str, from: &Option<String>, before: &Option<String>) -> bool {
    use crate::inventory::version::Version;
    use std::cmp::Ordering;
    let Some(v) = Version::parse(version) else {
        return from.is_none() && before.is_none();
    };
    let bound = |b: &Option<String>| b.as_deref().and_then(Version::parse);
    bound(from).is_none_or(|f| v.cmp_upstream(&f) != Ordering::Less)
        && bound(before).is_none_or(|b| v.cmp_upstream(&b) == Ordering::Less)
}

/// `name` matched against a list entry (`*` at the end: a prefix).
pub fn name_matches(entry: &str, name: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => entry == name,
    }
}

/// Which files a pattern is believed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustedIn {
    /// Any file: the string only occurs in the component's own code.
    Any,
    /// ELF files only: a version quoted in a script, a page or a
    /// configuration file does not mean the component is installed.
    Elf,
}

/// How the matched version becomes the detection's version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionForm {
    #[default]
    AsFound,
    /// The leading `major.minor[.patch…]` numbers (see
    /// [`upstream_kernel_version`]).
    LeadingNumbers,
}

impl Catalog {
    /// Parse and check `components.toml`.
    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let c: Catalog = crate::rules::from_toml(text)?;
        let mut names = std::collections::BTreeSet::new();
        for comp in &c.components {
            if !names.insert(comp.name.as_str()) {
                return Err(CatalogError::Invalid(format!("component {} listed twice", comp.name)));
            }
            if comp.patterns.is_empty() && comp.file_names.is_empty() && comp.packages.is_empty() {
                return Err(CatalogError::Invalid(format!("component {} has no pattern", comp.name)));
            }
            if let Some(cpe) = &comp.cpe
                && (cpe.split(':').count() != 3 || !matches!(cpe.split(':').next(), Some("a" | "o" | "h")))
            {
                return Err(CatalogError::Invalid(format!(
                    "component {}: cpe `{cpe}` is not part:vendor:product",
                    comp.name
                )));
            }
            for p in &comp.patterns {
                if p.prefix.is_empty() || p.source.trim().is_empty() {
                    return Err(CatalogError::Invalid(format!(
                        "component {}: a pattern needs a prefix and a source",
                        comp.name
                    )));
                }
            }
            if comp.fixtures.iter().filter(|f| f.version.is_some()).count() == 0
                || comp.fixtures.iter().filter(|f| f.version.is_none()).count() == 0
            {
                return Err(CatalogError::Invalid(format!(
                    "component {} needs a pass and a fail fixture",
                    comp.name
                )));
            }
            for f in &comp.file_names {
                if f.prefix.is_empty() || f.source.trim().is_empty() {
                    return Err(CatalogError::Invalid(format!(
                        "component {}: a file name needs a prefix and a source",
                        comp.name
                    )));
                }
            }
        }
        Ok(c)
    }

    /// The catalogue compiled into this binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let text = crate::rules::EMBEDDED
            .iter()
            .find(|(p, _)| *p == CATALOG_PATH)
            .map(|(_, t)| *t)
            .ok_or(CatalogError::Missing)?;
        Catalog::parse(text)
    }

    /// The component called `name`.
    pub fn get(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}

impl Component {
    /// `pkg:generic/busybox@1.01`; the version is percent-encoded where
    /// the purl specification asks for it.
    pub fn purl(&self, version: &str) -> String {
        let mut v = String::new();
        for c in version.chars() {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '~') {
                v.push(c);
            } else {
                for b in c.to_string().bytes() {
                    v.push_str(&format!("%{b:02X}"));
                }
            }
        }
        format!("pkg:{}/{}@{v}", self.purl.kind, self.purl.name)
    }

    /// `cpe:2.3:a:busybox:busybox:1.01:*:*:*:*:*:*:*`, the version quoted
    /// as the CPE 2.3 formatted-string binding requires.
    pub fn cpe(&self, version: &str) -> Option<String> {
        let base = self.cpe.as_ref()?;
        let mut v = String::new();
        for c in version.to_ascii_lowercase().chars() {
            if !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
                v.push('\\');
            }
            v.push(c);
        }
        Some(format!("cpe:2.3:{base}:{v}:*:*:*:*:*:*:*"))
    }
}

/// The embedded catalogue, parsed once. A catalogue that does not parse
/// is caught by `Rules::embedded` (and its test) before any scan; here it
/// would mean no components, never a crash.
pub fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| Catalog::embedded().unwrap_or(Catalog { components: Vec::new() }))
}

/// A version-string pattern, flattened out of the catalogue.
struct Pattern {
    name: &'static str,
    prefix: &'static [u8],
    followed_by: &'static [String],
    elf_only: bool,
    form: VersionForm,
    from: &'static Option<String>,
    before: &'static Option<String>,
}

/// Every pattern of the catalogue, in catalogue order.
fn patterns() -> &'static [Pattern] {
    static P: OnceLock<Vec<Pattern>> = OnceLock::new();
    P.get_or_init(|| {
        catalog()
            .components
            .iter()
            .flat_map(|c| {
                c.patterns.iter().map(|p| Pattern {
                    name: c.name.as_str(),
                    prefix: p.prefix.as_bytes(),
                    followed_by: &p.followed_by,
                    elf_only: p.trusted_in == TrustedIn::Elf,
                    form: p.version,
                    from: &p.from,
                    before: &p.before,
                })
            })
            .collect()
    })
}

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

/// Every prefix of the catalogue in one searcher, built once: a file is
/// read once for all of them instead of once per pattern.
///
/// Measured over 430 MB of files (ELF code and text, `docs/benchmarks.md`):
/// the SIMD packed searcher takes 0.28 s, one `memmem` pass per pattern
/// 0.40–0.53 s, and the full automaton 0.9–1.2 s whatever its kind. The
/// automaton is kept for machines without the SIMD searcher (or for a
/// catalogue too large for it).
struct Prefixes {
    packed: Option<aho_corasick::packed::Searcher>,
    automaton: Option<AhoCorasick>,
}

impl Prefixes {
    fn get() -> &'static Prefixes {
        static P: OnceLock<Prefixes> = OnceLock::new();
        P.get_or_init(|| {
            let prefixes = || patterns().iter().map(|p| p.prefix);
            Prefixes {
                packed: aho_corasick::packed::Searcher::new(prefixes()),
                // Short literals always build; if they did not, nothing is
                // found rather than the scan failing.
                automaton: AhoCorasick::new(prefixes()).ok(),
            }
        })
    }

    /// Occurrences of any prefix, left to right, not overlapping.
    fn find_iter<'h>(&'h self, data: &'h [u8]) -> Box<dyn Iterator<Item = aho_corasick::Match> + 'h> {
        match (&self.packed, &self.automaton) {
            (Some(p), _) => Box::new(p.find_iter(data)),
            (None, Some(a)) => Box::new(a.find_iter(data)),
            (None, None) => Box::new(std::iter::empty()),
        }
    }
}

/// The version after a pattern's prefix at `at`, if the bytes after it are
/// among the pattern's allowed followers.
fn version_for(p: &Pattern, data: &[u8], at: usize) -> Option<String> {
    let v = version_at(data, at)?;
    if p.followed_by.is_empty() {
        return Some(v);
    }
    let rest = data.get(at + v.len()..)?;
    p.followed_by
        .iter()
        .any(|f| rest.starts_with(f.as_bytes()))
        .then_some(v)
}

/// Find component versions in one file's bytes: for each pattern, its
/// first occurrence that is followed by a version, in catalogue order; then
/// the versions that library file names carry.
pub fn detect(file: usize, path: &str, data: &[u8]) -> Vec<Detection> {
    let patterns = patterns();
    let is_elf = data.starts_with(b"\x7fELF");
    let trusted = |p: &Pattern| is_elf || !p.elf_only;
    let mut first: Vec<Option<(usize, String)>> = vec![None; patterns.len()];
    let mut missing = patterns.iter().filter(|p| trusted(p)).count();
    // A non-overlapping search sees every occurrence, because no prefix
    // can begin inside another's match (a test keeps it so).
    for m in Prefixes::get().find_iter(data) {
        if missing == 0 {
            break;
        }
        let i = m.pattern().as_usize();
        let (Some(p), Some(slot)) = (patterns.get(i), first.get_mut(i)) else {
            continue;
        };
        if slot.is_none()
            && trusted(p)
            && let Some(version) = version_for(p, data, m.end())
        {
            *slot = Some((m.start(), version));
            missing -= 1;
        }
    }
    let mut out: Vec<Detection> = Vec::new();
    for (p, found) in patterns.iter().zip(first) {
        if let Some((pos, raw)) = found {
            // Two patterns of one component in one file: the first wins.
            if out.iter().any(|d| d.name == p.name) {
                continue;
            }
            let end = (pos + p.prefix.len() + raw.len()).min(data.len());
            let version = match p.form {
                VersionForm::LeadingNumbers => upstream_kernel_version(&raw),
                VersionForm::AsFound => raw,
            };
            if !in_bounds(&version, p.from, p.before) {
                continue;
            }
            // A kernel banner read from an ELF is a program quoting it
            // (rare); from the kernel image itself it is the kernel's own.
            // A module's vermagic names the kernel it was built for.
            out.push(Detection {
                name: p.name,
                version,
                file,
                offset: pos as u64,
                evidence: String::from_utf8_lossy(&data[pos..end]).to_string(),
                method: Method::VersionString,
            });
        }
    }
    // Libraries named by version, e.g. /lib/libuClibc-0.9.30.so.
    if let Some(name) = path.rsplit('/').next() {
        for c in &catalog().components {
            for f in &c.file_names {
                if let Some(v) = name
                    .strip_prefix(f.prefix.as_str())
                    .and_then(|r| r.strip_suffix(f.suffix.as_str()))
                    .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.'))
                    .filter(|v| in_bounds(v, &f.from, &f.before))
                {
                    if out.iter().any(|d| d.name == c.name && d.version == v) {
                        continue;
                    }
                    out.push(Detection {
                        name: c.name.as_str(),
                        version: v.to_string(),
                        file,
                        offset: 0,
                        evidence: format!("file name {name}"),
                        method: Method::FileName,
                    });
                }
            }
        }
    }
    // A kernel module names the kernel it was built for.
    if is_elf
        && path.ends_with(".ko")
        && let Some(d) = vermagic(file, data)
        && !out.iter().any(|o| o.name == d.name)
    {
        out.push(d);
    }
    // Package databases: the strongest evidence.
    out.extend(super::packages::detect(file, path, data));
    out.extend(super::pkgfiles::detect(file, path, data));
    out
}

/// The kernel release in a module's `vermagic=` (linux
/// include/linux/vermagic.h: VERMAGIC_STRING starts with UTS_RELEASE, and
/// scripts/mod/modpost.c writes it into every module's .modinfo).
fn vermagic(file: usize, data: &[u8]) -> Option<Detection> {
    const KEY: &[u8] = b"vermagic=";
    let pos = memchr::memmem::find_iter(data, KEY).find(|&p| version_at(data, p + KEY.len()).is_some())?;
    let raw = version_at(data, pos + KEY.len())?;
    let end = (pos + KEY.len() + raw.len()).min(data.len());
    Some(Detection {
        name: catalog().get("linux")?.name.as_str(),
        version: upstream_kernel_version(&raw),
        file,
        offset: pos as u64,
        evidence: String::from_utf8_lossy(&data[pos..end]).to_string(),
        method: Method::EmbeddedString,
    })
}

/// A package database entry and a version string of the same component
/// and upstream release are one component: the string is kept, since it
/// names the file itself (BusyBox's applets are read from it), and the
/// entry is dropped. Entries that no file confirms, or that disagree with
/// the files, stay.
pub fn drop_echoes_of_packages(list: &mut Vec<Detection>) {
    use crate::inventory::version::Version;
    let files: Vec<(&'static str, Version)> = list
        .iter()
        .filter(|d| d.method != Method::PackageDatabase)
        .filter_map(|d| Some((d.name, Version::parse(&d.version)?)))
        .collect();
    list.retain(|d| {
        d.method != Method::PackageDatabase
            || !Version::parse(&d.version).is_some_and(|v| {
                files
                    .iter()
                    .any(|(n, f)| *n == d.name && f.cmp_upstream(&v) == std::cmp::Ordering::Equal)
            })
    });
}

/// Components that are there but whose version could not be read: a
/// file the catalogue lists under `present` with no detection of its
/// component anywhere in the image. Returns `(component, path)` pairs.
///
/// A file in which another component was identified is not counted
/// (LibreSSL's `libcrypto.so` is not an unidentified OpenSSL).
pub fn unidentified<'a>(
    files: impl Iterator<Item = (usize, &'a str)>,
    found: &[Detection],
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (index, path) in files {
        let Some(name) = path.rsplit('/').next() else {
            continue;
        };
        if found.iter().any(|d| d.file == index) {
            continue;
        }
        for c in &catalog().components {
            if c.present.iter().any(|e| name_matches(e, name)) && !found.iter().any(|d| d.name == c.name) {
                out.push((c.name.as_str(), path.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
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
        let mut out: Vec<(&'static str, String, usize)> = Vec::new();
        for p in patterns().iter().filter(|p| !p.elf_only) {
            let Some(pos) = memchr::memmem::find_iter(data, p.prefix)
                .find(|&pos| version_for(p, data, pos + p.prefix.len()).is_some())
            else {
                continue;
            };
            let Some(raw) = version_for(p, data, pos + p.prefix.len()) else {
                continue;
            };
            let version = match p.form {
                VersionForm::LeadingNumbers => upstream_kernel_version(&raw),
                VersionForm::AsFound => raw,
            };
            if !out.iter().any(|(n, _, _)| *n == p.name) {
                out.push((p.name, version, pos));
            }
        }
        out
    }

    #[test]
    fn no_prefix_can_start_inside_another_match() {
        for a in patterns() {
            for b in patterns() {
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
        let automaton: Vec<_> = p
            .automaton
            .as_ref()
            .expect("the automaton builds")
            .find_iter(data)
            .map(|m| (m.pattern(), m.start()))
            .collect();
        assert_eq!(packed, automaton);
        assert_eq!(packed.len(), 7);
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

    #[test]
    fn the_embedded_catalogue_parses_and_every_pattern_cites_a_source() {
        let c = Catalog::embedded().expect("components.toml parses");
        assert_eq!(catalog().components.len(), c.components.len());
        for comp in &c.components {
            assert!(comp.patterns.iter().all(|p| !p.source.is_empty()), "{}", comp.name);
        }
        // The detections that predate the catalogue keep their order.
        let names: Vec<&str> = c.components.iter().take(7).map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "busybox", "linux", "dropbear", "openssl", "u-boot", "dnsmasq", "lighttpd"
            ]
        );
    }

    #[test]
    fn catalogue_errors_are_reported() {
        assert!(Catalog::parse("[[component]]\nname = \"x\"").is_err());
        let dup = r#"
[[component]]
name = "x"
vendor = "X"
purl = { type = "generic", name = "x" }
[[component.file_name]]
prefix = "libx-"
suffix = ".so"
source = "s"
[[component.fixture]]
path = "/lib/libx-1.0.so"
text = ""
version = "1.0"
[[component.fixture]]
path = "/lib/libx.so"
text = ""
"#;
        assert!(Catalog::parse(dup).is_ok());
        assert!(Catalog::parse(&format!("{dup}{dup}")).is_err());
    }

    #[test]
    fn purl_and_cpe_are_built_from_the_catalogue() {
        let c = catalog();
        let bb = c.get("busybox").expect("busybox");
        assert_eq!(bb.purl("1.01"), "pkg:generic/busybox@1.01");
        assert_eq!(
            bb.cpe("1.01").as_deref(),
            Some("cpe:2.3:a:busybox:busybox:1.01:*:*:*:*:*:*:*")
        );
        let linux = c.get("linux").expect("linux");
        assert_eq!(
            linux.cpe("2.6.31").as_deref(),
            Some("cpe:2.3:o:linux:linux_kernel:2.6.31:*:*:*:*:*:*:*")
        );
        assert_eq!(linux.purl("4.9.37+x"), "pkg:generic/linux@4.9.37%2Bx");
        assert_eq!(
            linux.cpe("4.9.37+x").as_deref(),
            Some("cpe:2.3:o:linux:linux_kernel:4.9.37\\+x:*:*:*:*:*:*:*")
        );
        assert_eq!(c.get("boa").and_then(|b| b.cpe("0.94.13")), None);
    }

    fn elf(body: &[u8]) -> Vec<u8> {
        let mut d = b"\x7fELF\x01\x01\x01\0".to_vec();
        d.extend_from_slice(body);
        d
    }

    #[test]
    fn elf_only_patterns_are_found_in_elf_files_only() {
        let body = b"\0 deflate 1.2.8 Copyright 1995-2013 Jean-loup Gailly and Mark Adler \0\
            OpenSSH_3.0*,OpenSSH_3.1*\0OpenSSH_7.4p1 Debian-10\0hostapd v2.6\nUser space\0\
            Server: nginx/1.12.2\r\n\0UPnP/1.0, Portable SDK for UPnP devices/1.6.18\r\n";
        let d = detect(0, "/usr/sbin/x", &elf(body));
        let found: Vec<(&str, &str)> = d.iter().map(|d| (d.name, d.version.as_str())).collect();
        assert_eq!(
            found,
            [
                ("openssh", "7.4p1"),
                ("zlib", "1.2.8"),
                ("hostapd", "2.6"),
                ("libupnp", "1.6.18"),
                ("nginx", "1.12.2")
            ]
        );
        let ssh = &d[0];
        assert_eq!(ssh.evidence, "OpenSSH_7.4p1");
        assert_eq!(
            ssh.offset as usize,
            8 + body.windows(13).position(|w| w == b"OpenSSH_7.4p1").unwrap_or(0)
        );
        // The same text in a page or a script is not the component.
        assert!(detect(0, "/www/index.html", body).is_empty());
    }

    /// Every component's own pass and fail fixtures (components.toml).
    #[test]
    fn every_component_passes_its_fixtures() {
        let c = catalog();
        assert!(c.components.len() >= 60, "{} components", c.components.len());
        for comp in &c.components {
            for f in &comp.fixtures {
                let bytes = if f.elf {
                    elf(f.text.as_bytes())
                } else {
                    f.text.as_bytes().to_vec()
                };
                let got: Vec<String> = detect(0, &f.path, &bytes)
                    .into_iter()
                    .filter(|d| d.name == comp.name)
                    .map(|d| d.version)
                    .collect();
                match &f.version {
                    Some(v) => assert_eq!(got, std::slice::from_ref(v), "{} fixture {}", comp.name, f.path),
                    None => assert!(got.is_empty(), "{} fixture {}: {got:?}", comp.name, f.path),
                }
            }
        }
    }

    #[test]
    fn present_files_without_a_version_are_not_identifiable() {
        let found = detect(1, "/usr/lib/libcrypto.so.41", &elf(b"LibreSSL 2.5.0\0"));
        let files = [
            (0, "/lib/ld-musl-armhf.so.1"),
            (1, "/usr/lib/libcrypto.so.41"),
            (2, "/usr/lib/libssl.so.1.0.0"),
        ];
        assert_eq!(
            unidentified(files.into_iter(), &found),
            [
                ("musl", "/lib/ld-musl-armhf.so.1".to_string()),
                ("openssl", "/usr/lib/libssl.so.1.0.0".to_string())
            ]
        );
    }

    #[test]
    fn a_package_entry_confirmed_by_a_file_is_dropped() {
        let mut list = detect(0, "/bin/busybox", &elf(b"BusyBox v1.23.2 (2015)"));
        list.extend(detect(
            1,
            "/usr/lib/opkg/status",
            b"Package: busybox\nVersion: 1.23.2-1\n\nPackage: zlib\nVersion: 1.2.8-1\n",
        ));
        assert_eq!(list.len(), 3);
        drop_echoes_of_packages(&mut list);
        let kept: Vec<(&str, &str, Method)> = list.iter().map(|d| (d.name, d.version.as_str(), d.method)).collect();
        assert_eq!(
            kept,
            [
                ("busybox", "1.23.2", Method::VersionString),
                ("zlib", "1.2.8-1", Method::PackageDatabase)
            ]
        );
    }

    #[test]
    fn followers_rule_out_format_strings_and_peer_lists() {
        assert!(detect(0, "/x", &elf(b"OpenSSH_3.0* deflate 1.2.8 (c)")).is_empty());
        let d = detect(0, "/x", &elf(b"inflate 1.2.11 Copyright 1995-2017 Mark Adler"));
        assert_eq!((d[0].name, d[0].version.as_str()), ("zlib", "1.2.11"));
    }
}
