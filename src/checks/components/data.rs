//! The offline vulnerability and end-of-life data of the `components`
//! family: `checks/components/vulnerabilities.toml` and
//! `checks/components/end-of-life.toml`, parsed and checked once when the
//! rules load, so that a typo in a version bound or a source key is an
//! error at load time, not a silent non-match in a scan.
//!
//! Both files carry the date their facts were read (`snapshot`); end of
//! life is judged against that date, never the wall clock, so that the
//! same image and the same data give the same report on any day.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inventory::version::Version;

/// Where the vulnerability data lives under `checks/`.
pub const VULNERABILITIES_PATH: &str = "components/vulnerabilities.toml";
/// Where the end-of-life data lives under `checks/`.
pub const END_OF_LIFE_PATH: &str = "components/end-of-life.toml";

/// A problem in one of the data files.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("{0}")]
    Invalid(String),
}

fn invalid(m: String) -> DataError {
    DataError::Invalid(m)
}

/// A calendar date as the sources give it: a day, a month or a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u16,
    pub month: Option<u8>,
    pub day: Option<u8>,
}

impl Date {
    /// `YYYY-MM-DD`, `YYYY-MM` or `YYYY`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.split('-');
        fn num<T: std::str::FromStr>(p: &str, len: usize) -> Option<T> {
            (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        }
        let year: u16 = num(it.next()?, 4)?;
        let month: Option<u8> = match it.next() {
            Some(m) => Some(num(m, 2).filter(|m| (1..=12).contains(m))?),
            None => None,
        };
        let day: Option<u8> = match it.next() {
            Some(d) => Some(num(d, 2).filter(|d| (1..=31).contains(d))?),
            None => None,
        };
        if it.next().is_some() || (day.is_some() && month.is_none()) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The last day the date covers: the day itself, or the end of its
    /// month or year (months are taken as 31 days long, which only moves
    /// "the period is over" to the first of the next month).
    fn last_day(self) -> (u16, u8, u8) {
        (self.year, self.month.unwrap_or(12), self.day.unwrap_or(31))
    }

    /// Whether `self` (a full date) is after the whole period `other`.
    pub fn is_after(self, other: Date) -> bool {
        self.last_day().cmp(&other.last_day()) == Ordering::Greater
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}", self.year)?;
        if let Some(m) = self.month {
            write!(f, "-{m:02}")?;
        }
        if let Some(d) = self.day {
            write!(f, "-{d:02}")?;
        }
        Ok(())
    }
}

/// One affected range of upstream versions.
///
/// The lower bound is inclusive (`from`) or exclusive (`after`), the upper
/// bound exclusive (`before`) or inclusive (`through`): NVD's `cpeMatch`
/// says which with `versionStart{In,Ex}cluding` and
/// `versionEnd{Ex,In}cluding`, and reading an exclusive start as inclusive
/// would mark the release the CVE was *not* found in as affected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
    /// The one component of the CVE this range is about; none: all of
    /// them. An NVD record can list several products (a library and the
    /// program that bundles it) with different ranges: product A's range
    /// must not apply to product B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
}

impl Range {
    /// Whether `version` lies inside the range (upstream comparison).
    pub fn holds(&self, version: &Version) -> bool {
        let parse = |s: &Option<String>| s.as_deref().and_then(Version::parse);
        parse(&self.from).is_none_or(|f| version.cmp_upstream(&f) != Ordering::Less)
            && parse(&self.after).is_none_or(|a| version.cmp_upstream(&a) == Ordering::Greater)
            && parse(&self.before).is_none_or(|b| version.cmp_upstream(&b) == Ordering::Less)
            && parse(&self.through).is_none_or(|t| version.cmp_upstream(&t) != Ordering::Greater)
    }

    /// Whether the range is about `component` (its own, or all).
    pub fn applies_to(&self, component: &str) -> bool {
        self.component.as_deref().is_none_or(|c| c == component)
    }
}

/// One CVE of `vulnerabilities.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cve {
    pub id: String,
    pub components: Vec<String>,
    #[serde(default)]
    pub part: Option<String>,
    /// BusyBox: the applets that carry the vulnerable code.
    #[serde(default)]
    pub applets: Vec<String>,
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub fixed: Vec<String>,
    #[serde(default)]
    pub cvss: Option<f32>,
    #[serde(default)]
    pub cvss_version: Option<String>,
    #[serde(default)]
    pub vendor_severity: Option<String>,
    #[serde(default)]
    pub kev: bool,
    #[serde(default)]
    pub condition: Option<String>,
    #[serde(default)]
    pub ambiguous: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// `vulnerabilities.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vulnerabilities {
    pub snapshot: String,
    pub kev_catalog: String,
    pub kev_snapshot: String,
    /// Source key → what it is and where.
    pub sources: BTreeMap<String, String>,
    #[serde(rename = "cve")]
    pub cves: Vec<Cve>,
}

/// One release branch of `end-of-life.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    pub component: String,
    pub branch: String,
    #[serde(default)]
    pub released: Option<String>,
    #[serde(default)]
    pub eol: Option<String>,
    #[serde(default)]
    pub projected: bool,
    #[serde(default)]
    pub lts: bool,
    /// The project itself is no longer maintained.
    #[serde(default)]
    pub inactive: bool,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// A component-wide end-of-life policy of `end-of-life.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub component: String,
    pub rule: PolicyRule,
    #[serde(default)]
    pub note: Option<String>,
    pub sources: Vec<String>,
}

/// What a [`Policy`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyRule {
    /// A branch that is not long-term ends when the next branch is out.
    NonLtsEndsWithNextBranch,
    /// No formal end-of-life policy was found.
    None,
}

/// `end-of-life.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EndOfLife {
    pub snapshot: String,
    #[serde(rename = "branch")]
    pub branches: Vec<Branch>,
    #[serde(default, rename = "policy")]
    pub policies: Vec<Policy>,
}

/// Both files, checked against each other.
#[derive(Debug, Clone)]
pub struct VulnData {
    pub vulnerabilities: Vulnerabilities,
    pub end_of_life: EndOfLife,
    /// `end_of_life.snapshot`, parsed: the day end of life is judged on.
    pub eol_snapshot: Date,
}

fn version(s: &str, what: &str) -> Result<Version, DataError> {
    Version::parse(s).ok_or_else(|| invalid(format!("{what}: `{s}` is not a version")))
}

fn date(s: &str, what: &str) -> Result<Date, DataError> {
    Date::parse(s).ok_or_else(|| invalid(format!("{what}: `{s}` is not a date (YYYY-MM-DD, YYYY-MM or YYYY)")))
}

fn is_cve_id(id: &str) -> bool {
    let mut p = id.split('-');
    p.next() == Some("CVE")
        && p.next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && p.next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && p.next().is_none()
}

impl VulnData {
    /// Parse and check both files.
    pub fn parse(vulnerabilities: &str, end_of_life: &str) -> Result<VulnData, DataError> {
        let v: Vulnerabilities = crate::rules::from_toml(vulnerabilities)?;
        let e: EndOfLife = crate::rules::from_toml(end_of_life)?;
        VulnData::from_parts(v, e)
    }

    /// Check both parts against each other (as [`VulnData::parse`] does):
    /// what the store (`crate::vulndb`) reads back or imports must pass
    /// the same checks as the TOML files.
    pub fn from_parts(v: Vulnerabilities, e: EndOfLife) -> Result<VulnData, DataError> {
        date(&v.snapshot, "snapshot")?;
        date(&v.kev_snapshot, "kev_snapshot")?;
        let eol_snapshot = date(&e.snapshot, "end-of-life snapshot")?;
        if eol_snapshot.day.is_none() {
            return Err(invalid("end-of-life snapshot: a full date is needed".into()));
        }
        let known_source = |k: &String, what: &str| {
            if v.sources.contains_key(k) {
                Ok(())
            } else {
                Err(invalid(format!("{what}: unknown source key {k}")))
            }
        };
        let mut ids = std::collections::BTreeSet::new();
        for c in &v.cves {
            let what = c.id.as_str();
            if !is_cve_id(&c.id) {
                return Err(invalid(format!("`{what}` is not a CVE ID")));
            }
            if !ids.insert(c.id.as_str()) {
                return Err(invalid(format!("{what} listed twice")));
            }
            if c.components.is_empty() || c.ranges.is_empty() || c.sources.is_empty() {
                return Err(invalid(format!("{what}: components, ranges and sources are required")));
            }
            for s in &c.sources {
                known_source(s, what)?;
            }
            if c.kev != c.sources.iter().any(|s| s == "KEV") {
                return Err(invalid(format!("{what}: `kev = true` and the KEV source go together")));
            }
            for r in &c.ranges {
                if r.from.is_none() && r.after.is_none() && r.before.is_none() && r.through.is_none() {
                    return Err(invalid(format!("{what}: a range needs a bound")));
                }
                if r.before.is_some() && r.through.is_some() {
                    return Err(invalid(format!("{what}: a range has `before` or `through`, not both")));
                }
                if r.from.is_some() && r.after.is_some() {
                    return Err(invalid(format!("{what}: a range has `from` or `after`, not both")));
                }
                if let Some(comp) = &r.component
                    && !c.components.contains(comp)
                {
                    return Err(invalid(format!(
                        "{what}: a range is about `{comp}`, which is not one of its components"
                    )));
                }
                for b in [&r.from, &r.after, &r.before, &r.through].into_iter().flatten() {
                    version(b, what)?;
                }
            }
            for f in &c.fixed {
                version(f, what)?;
            }
            if let Some(s) = c.cvss
                && !(0.0..=10.0).contains(&s)
            {
                return Err(invalid(format!("{what}: CVSS {s} is out of range")));
            }
            if !matches!(c.cvss_version.as_deref(), None | Some("2" | "3")) {
                return Err(invalid(format!("{what}: cvss_version is \"2\" or \"3\"")));
            }
            if !matches!(
                c.vendor_severity.as_deref(),
                None | Some("critical" | "high" | "medium" | "low")
            ) {
                return Err(invalid(format!("{what}: unknown vendor_severity")));
            }
            if c.ambiguous.as_deref().is_some_and(|a| a.trim().is_empty()) {
                return Err(invalid(format!("{what}: `ambiguous` says why")));
            }
        }
        for b in &e.branches {
            let what = format!("{} {}", b.component, b.branch);
            version(&b.branch, &what)?;
            if let Some(d) = &b.released {
                date(d, &what)?;
            }
            if let Some(d) = &b.eol {
                date(d, &what)?;
            }
            if b.eol.is_none() && !b.inactive {
                return Err(invalid(format!("{what}: an end-of-life date or `inactive`")));
            }
            for s in &b.sources {
                known_source(s, &what)?;
            }
        }
        for p in &e.policies {
            for s in &p.sources {
                known_source(s, &p.component)?;
            }
        }
        Ok(VulnData {
            vulnerabilities: v,
            end_of_life: e,
            eol_snapshot,
        })
    }

    /// The data compiled into this binary, from `(path, contents)` pairs.
    pub fn from_files(files: &[(&str, &str)]) -> Result<VulnData, (String, String)> {
        let get = |p: &str| {
            files
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, t)| *t)
                .ok_or_else(|| (p.to_string(), "missing".to_string()))
        };
        let v = get(VULNERABILITIES_PATH)?;
        let e = get(END_OF_LIFE_PATH)?;
        VulnData::parse(v, e).map_err(|err| ("components/".to_string(), err.to_string()))
    }

    /// The CVEs of `component` whose ranges hold `version`.
    pub fn cves_for<'d>(&'d self, component: &str, version: &Version) -> Vec<&'d Cve> {
        self.vulnerabilities
            .cves
            .iter()
            .filter(|c| c.components.iter().any(|n| n == component) && c.affects(component, version))
            .collect()
    }

    /// The branch row that holds `version` of `component`, if any.
    pub fn branch_of(&self, component: &str, version: &str) -> Option<&Branch> {
        self.end_of_life
            .branches
            .iter()
            .filter(|b| b.component == component && in_branch(version, &b.branch))
            // The longest branch wins (`3.10` before `3`).
            .max_by_key(|b| b.branch.len())
    }

    /// The end-of-life state of `version` of `component` on the data's
    /// snapshot date.
    pub fn eol_state(&self, component: &str, version: &str) -> EolState {
        if let Some(b) = self.branch_of(component, version) {
            let ended = b.inactive
                || b.eol
                    .as_deref()
                    .and_then(Date::parse)
                    .is_some_and(|d| self.eol_snapshot.is_after(d));
            return if ended {
                EolState::Ended(b.clone())
            } else {
                EolState::Supported(b.clone())
            };
        }
        let policy = self.end_of_life.policies.iter().find(|p| p.component == component);
        match policy.map(|p| p.rule) {
            Some(PolicyRule::NonLtsEndsWithNextBranch) => {
                // A Linux branch with no row is not long-term: it ended when
                // the next branch came out. Which branch is next is known
                // only when the data has a row for it.
                let next = next_linux_branch(version);
                let known = next.as_deref().and_then(|n| {
                    self.end_of_life
                        .branches
                        .iter()
                        .find(|b| b.component == component && b.branch == n)
                });
                EolState::NonLts {
                    next_branch: known.map(|b| b.branch.clone()),
                    since: known.and_then(|b| b.released.clone()),
                }
            }
            Some(PolicyRule::None) => EolState::NoPolicy,
            None => EolState::Unknown,
        }
    }
}

/// Whether `version` starts with `branch` and continues with a non-digit:
/// `1.0.2n` and `2.6.32.27` are in branches `1.0.2` and `2.6.32`; `1.0.20`
/// and `3.10.14` are not in `1.0.2` and `3.1`.
pub fn in_branch(version: &str, branch: &str) -> bool {
    version
        .strip_prefix(branch)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// The Linux branch after `version`'s: `2.6.31` → `2.6.32` (the 2.6 series
/// numbered branches with three parts), `3.9.2` → `3.10`. Which branch
/// followed the last of a major series (`2.6.39` → `3.0`) is not derived.
fn next_linux_branch(version: &str) -> Option<String> {
    let nums: Vec<u64> = version.split('.').map_while(|p| p.parse().ok()).collect();
    match nums.as_slice() {
        [2, 6, n, ..] => Some(format!("2.6.{}", n + 1)),
        [major, minor, ..] | [major, minor] if *major >= 3 => Some(format!("{major}.{}", minor + 1)),
        _ => None,
    }
}

/// The end-of-life state of one component version.
#[derive(Debug, Clone, PartialEq)]
pub enum EolState {
    /// Its branch ended on or before the snapshot date (or the project is
    /// inactive).
    Ended(Branch),
    /// Its branch is supported on the snapshot date.
    Supported(Branch),
    /// A Linux branch that is not long-term: unsupported once the next
    /// branch was out (`next_branch` and its release date when the data
    /// has them).
    NonLts {
        next_branch: Option<String>,
        since: Option<String>,
    },
    /// The project has no formal end-of-life policy.
    NoPolicy,
    /// The data says nothing about this component.
    Unknown,
}

impl PartialEq for Branch {
    fn eq(&self, other: &Self) -> bool {
        self.component == other.component && self.branch == other.branch
    }
}

impl Cve {
    /// Whether `version` of `component` is in one of the affected ranges
    /// and not at or after a fix of its own branch. Bounds compare upstream
    /// releases only: a vendor suffix does not change the match (the caller
    /// lowers the confidence instead).
    pub fn affects(&self, component: &str, version: &Version) -> bool {
        let in_range = self.ranges.iter().any(|r| r.applies_to(component) && r.holds(version));
        if !in_range {
            return false;
        }
        // Linux: a stable release of the version's own branch carries the
        // fix (`4.4.26` fixes 4.4.y from .26 on).
        if component == "linux" {
            let fixed_in_branch = self.fixed.iter().any(|f| {
                let branch = linux_branch(f);
                in_branch(version.as_str(), &branch)
                    && Version::parse(f).is_some_and(|f| version.cmp_upstream(&f) != Ordering::Less)
            });
            return !fixed_in_branch;
        }
        true
    }

    /// The severity the data supports: from the CVSS score (v3 or v2
    /// bands, which agree at 7.0 and 9.0), else the vendor's rating.
    pub fn severity(&self) -> Option<&'static str> {
        if let Some(s) = self.cvss {
            let v2 = self.cvss_version.as_deref() == Some("2");
            return Some(match s {
                s if s >= 9.0 && !v2 => "critical",
                s if s >= 7.0 => "high",
                s if s >= 4.0 => "medium",
                _ => "low",
            });
        }
        match self.vendor_severity.as_deref() {
            Some("critical") => Some("critical"),
            Some("high") => Some("high"),
            Some("medium") => Some("medium"),
            Some("low") => Some("low"),
            _ => None,
        }
    }
}

/// The branch of a Linux release: `2.6.32.27` → `2.6.32`, `4.4.26` → `4.4`.
fn linux_branch(v: &str) -> String {
    let parts: Vec<&str> = v.split('.').collect();
    let n = if parts.first() == Some(&"2") { 3 } else { 2 };
    parts.iter().take(n).copied().collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> VulnData {
        VulnData::from_files(crate::rules::EMBEDDED).expect("the embedded data parses")
    }

    fn ids(d: &VulnData, c: &str, v: &str) -> Vec<String> {
        let v = Version::parse(v).expect("version");
        d.cves_for(c, &v).iter().map(|c| c.id.clone()).collect()
    }

    #[test]
    fn every_component_of_the_data_is_in_the_catalogue_or_named_as_missing() {
        let catalog = crate::inventory::components::catalog();
        let d = data();
        let names = d
            .vulnerabilities
            .cves
            .iter()
            .flat_map(|c| c.components.iter())
            .chain(d.end_of_life.branches.iter().map(|b| &b.component))
            .chain(d.end_of_life.policies.iter().map(|p| &p.component));
        let mut missing: Vec<&str> = names.filter(|n| catalog.get(n).is_none()).map(String::as_str).collect();
        missing.sort_unstable();
        missing.dedup();
        assert_eq!(missing, Vec::<&str>::new());
    }

    #[test]
    fn snapshots_are_the_data_dates() {
        let d = data();
        assert_eq!(d.vulnerabilities.snapshot, "2026-11-28");
        assert_eq!(d.vulnerabilities.kev_snapshot, "2025-08-25");
        assert_eq!(d.eol_snapshot.to_string(), "2026-11-28");
    }

    #[test]
    fn ranges_with_letters_and_several_branches() {
        let d = data();
        let ossl = ids(&d, "openssl", "1.0.2n");
        for id in ["CVE-2022-0778", "CVE-2023-0286"] {
            assert!(ossl.contains(&id.to_string()), "{id} in {ossl:?}");
        }
        for id in ["CVE-2016-0800", "CVE-2014-0160", "CVE-2016-6304"] {
            assert!(!ossl.contains(&id.to_string()), "{id} in {ossl:?}");
        }
        assert!(ids(&d, "openssl", "1.0.1f").contains(&"CVE-2014-0160".to_string()));
        assert!(!ids(&d, "openssl", "1.0.1g").contains(&"CVE-2014-0160".to_string()));
        assert!(ids(&d, "openssl", "0.9.8z").contains(&"CVE-2014-0224".to_string()));
        assert!(!ids(&d, "openssl", "0.9.8za").contains(&"CVE-2014-0224".to_string()));
        assert!(ids(&d, "openssh", "9.3p1").contains(&"CVE-2023-38408".to_string()));
        assert!(!ids(&d, "openssh", "9.3p2").contains(&"CVE-2023-38408".to_string()));
    }

    #[test]
    fn linux_stable_fixes_end_the_match_in_their_branch() {
        let d = data();
        assert!(ids(&d, "linux", "4.4.25").contains(&"CVE-2016-5195".to_string()));
        assert!(!ids(&d, "linux", "4.4.26").contains(&"CVE-2016-5195".to_string()));
        assert!(!ids(&d, "linux", "4.9").contains(&"CVE-2016-5195".to_string()));
        let old = ids(&d, "linux", "2.6.31");
        for id in ["CVE-2016-5195", "CVE-2014-3153", "CVE-2021-22555", "CVE-2019-11477"] {
            assert!(old.contains(&id.to_string()), "{id} in {old:?}");
        }
        assert!(!old.contains(&"CVE-2016-0728".to_string()));
        assert_eq!(linux_branch("2.6.32.27"), "2.6.32");
        assert_eq!(linux_branch("4.4.26"), "4.4");
    }

    #[test]
    fn end_of_life_is_judged_on_the_snapshot() {
        let d = data();
        assert!(matches!(d.eol_state("openssl", "1.0.2n"), EolState::Ended(b) if b.branch == "1.0.2"));
        assert!(matches!(d.eol_state("openssl", "3.5.1"), EolState::Supported(_)));
        // 5.10 is projected to end on 2026-12-31, after the snapshot.
        assert!(matches!(d.eol_state("linux", "5.10.100"), EolState::Supported(_)));
        assert!(matches!(d.eol_state("linux", "5.4.10"), EolState::Ended(_)));
        assert_eq!(
            d.eol_state("linux", "2.6.31"),
            EolState::NonLts {
                next_branch: Some("2.6.32".into()),
                since: Some("2009-12-03".into())
            }
        );
        assert!(matches!(d.eol_state("uclibc", "0.9.30"), EolState::Ended(_)));
        assert!(matches!(d.eol_state("mbedtls", "2.16.3"), EolState::Ended(_)));
        assert_eq!(d.eol_state("busybox", "1.01"), EolState::NoPolicy);
        assert_eq!(d.eol_state("zlib", "1.2.8"), EolState::Unknown);
        assert!(in_branch("1.0.2n", "1.0.2") && !in_branch("1.0.20", "1.0.2") && !in_branch("3.10.14", "3.1"));
    }

    #[test]
    fn dates_of_days_months_and_years() {
        let snap = Date::parse("2026-11-28").expect("date");
        assert!(snap.is_after(Date::parse("2021").expect("year")));
        assert!(!snap.is_after(Date::parse("2026").expect("year")));
        assert!(!snap.is_after(Date::parse("2026-11").expect("month")));
        assert!(snap.is_after(Date::parse("2026-10").expect("month")));
        assert!(!snap.is_after(Date::parse("2026-11-28").expect("day")));
        for bad in ["26-11-28", "2026-13", "2026-11-28-1", "2026--01", "x"] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn severities_from_cvss_or_the_vendor() {
        let d = data();
        let sev = |id: &str| {
            d.vulnerabilities
                .cves
                .iter()
                .find(|c| c.id == id)
                .and_then(Cve::severity)
        };
        assert_eq!(sev("CVE-2016-2148"), Some("critical"));
        assert_eq!(sev("CVE-2014-3153"), Some("high"));
        assert_eq!(sev("CVE-2012-5958"), Some("high"));
        assert_eq!(sev("CVE-2016-0800"), Some("high"));
        assert_eq!(sev("CVE-2012-0920"), None);
    }

    #[test]
    fn broken_data_is_refused() {
        let eol = crate::rules::EMBEDDED
            .iter()
            .find(|(p, _)| *p == END_OF_LIFE_PATH)
            .map(|(_, t)| *t)
            .unwrap_or_default();
        let head = "snapshot = \"2026-11-28\"\nkev_catalog = \"x\"\nkev_snapshot = \"2025-08-25\"\n[sources]\nNVD = \"n\"\nKEV = \"k\"\nSEED = \"s\"\nEOL = \"e\"\nKORG = \"k\"\nOSSLPOL = \"o\"\nMBED = \"m\"\nUCML = \"u\"\n";
        let cve = |body: &str| format!("{head}[[cve]]\n{body}");
        let ok = "id = \"CVE-2020-0001\"\ncomponents = [\"x\"]\nranges = [{ before = \"1.2\" }]\nsources = [\"NVD\"]\n";
        assert!(VulnData::parse(&cve(ok), eol).is_ok());
        for bad in [
            ok.replace("CVE-2020-0001", "CVE-20-1"),
            ok.replace("before = \"1.2\"", "before = \"x\""),
            ok.replace("{ before = \"1.2\" }", "{ }"),
            ok.replace("\"NVD\"", "\"NOPE\""),
            format!("{ok}kev = true\n"),
            format!("{ok}cvss = 11.0\n"),
            format!("{ok}ambiguous = \" \"\n"),
        ] {
            assert!(VulnData::parse(&cve(&bad), eol).is_err(), "{bad}");
        }
    }

    /// Every `kev` flag agrees with the CISA catalogue file, when it is at
    /// hand (`FWCERT_VULNDATA=/work/shared/vulndata`): true exactly for
    /// the CVEs the file lists.
    #[test]
    fn kev_flags_match_the_catalogue_file() {
        let Some(dir) = std::env::var_os("FWCERT_VULNDATA") else {
            eprintln!("FWCERT_VULNDATA unset: skipping the KEV cross-check");
            return;
        };
        let path = std::path::Path::new(&dir).join("kev/known_exploited_vulnerabilities.json");
        let text = std::fs::read_to_string(path).expect("the KEV file reads");
        let kev: serde_json::Value = serde_json::from_str(&text).expect("the KEV file is JSON");
        assert_eq!(kev["catalogVersion"], "2025.08.25");
        let listed: std::collections::BTreeSet<&str> = kev["vulnerabilities"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|v| v["cveID"].as_str())
            .collect();
        for c in &data().vulnerabilities.cves {
            assert_eq!(c.kev, listed.contains(c.id.as_str()), "{}", c.id);
        }
    }
}
