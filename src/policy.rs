//! CI gating: a project's policy (`fwcert.toml` or `--policy FILE`) with
//! waivers, and a baseline report (`--baseline OLD.json`).
//!
//! Neither changes a verdict. Clause and unit verdicts, and the findings
//! behind them, stay exactly what the standards stage decided; a waiver or
//! a baseline only tells the *gate* (the exit code and `outcome`) not to
//! count certain findings. The report shows all of it: every waiver with its
//! state and what it matched, each finding's waiver and baseline state, and
//! in `outcome.reasons` every clause that FAILs only through findings the
//! gate did not count. See `docs/ci.md`.
//!
//! Waiver expiry needs today's date, which would make reports depend on
//! the clock; so "today" is taken from `--today`, else `FWCERT_TODAY`, else
//! the system clock (UTC), and the date and where it came from are written
//! in the report (`gate.today`).

use std::collections::{BTreeMap, BTreeSet};

use globset::GlobMatcher;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::checks::CheckedFinding;
use crate::checks::rule::Severity;

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: waiver {index}: {message}")]
    Waiver {
        file: String,
        index: usize,
        message: String,
    },
    #[error("{file}: not a fwcert JSON report: {message}")]
    Baseline { file: String, message: String },
    #[error("today's date `{0}` is not YYYY-MM-DD")]
    Today(String),
}

/// The policy file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PolicyFile {
    /// Standard ids to report on (as `--standard`).
    #[serde(default)]
    standards: Vec<String>,
    /// A profile (as `--profile`), instead of `standards`.
    #[serde(default)]
    profile: Option<String>,
    /// As `--fail-on`.
    #[serde(default)]
    fail_on: Option<Severity>,
    #[serde(default, rename = "waiver")]
    waivers: Vec<WaiverSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaiverSpec {
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    path: Option<String>,
    justification: String,
    owner: String,
    expires: String,
}

/// One waiver: a finding fingerprint, or a rule with an optional path glob.
#[derive(Debug, Clone)]
pub struct Waiver {
    pub fingerprint: Option<String>,
    pub rule: Option<String>,
    pub path: Option<String>,
    matcher: Option<GlobMatcher>,
    pub justification: String,
    pub owner: String,
    /// `YYYY-MM-DD`; the waiver counts up to and including this day.
    pub expires: String,
}

impl Waiver {
    fn matches(&self, f: &CheckedFinding) -> bool {
        if let Some(fp) = &self.fingerprint {
            return fp.eq_ignore_ascii_case(&f.fingerprint);
        }
        let rule_ok = self.rule.as_deref() == Some(f.finding.rule.as_str());
        let path_ok = self.matcher.as_ref().is_none_or(|m| m.is_match(&f.finding.path));
        rule_ok && path_ok
    }
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file's name as given, and the SHA-256 of its bytes.
    pub name: String,
    pub sha256: String,
    pub standards: Vec<String>,
    pub profile: Option<String>,
    pub fail_on: Option<Severity>,
    pub waivers: Vec<Waiver>,
}

impl Policy {
    pub fn parse(name: &str, text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Parse {
            file: name.to_string(),
            message: e.to_string(),
        })?;
        if !file.standards.is_empty() && file.profile.is_some() {
            return Err(PolicyError::Parse {
                file: name.into(),
                message: "give `standards` or `profile`, not both".into(),
            });
        }
        let mut waivers = Vec::new();
        for (i, w) in file.waivers.into_iter().enumerate() {
            let index = i + 1;
            let bad = |message: String| PolicyError::Waiver {
                file: name.to_string(),
                index,
                message,
            };
            match (&w.fingerprint, &w.rule) {
                (Some(_), Some(_)) => return Err(bad("give a `fingerprint` or a `rule`, not both".into())),
                (None, None) => {
                    return Err(bad(
                        "needs a `fingerprint` or a `rule` (with an optional `path` glob)".into()
                    ));
                }
                (Some(_), None) if w.path.is_some() => {
                    return Err(bad("`path` goes with `rule`, not with `fingerprint`".into()));
                }
                _ => {}
            }
            if w.justification.trim().is_empty() || w.owner.trim().is_empty() {
                return Err(bad("`justification` and `owner` must not be empty".into()));
            }
            if !valid_date(&w.expires) {
                return Err(bad(format!("`expires` = `{}` is not a date YYYY-MM-DD", w.expires)));
            }
            // `*` in a path glob stays within one directory; `**` crosses them.
            let matcher = match &w.path {
                None => None,
                Some(p) => Some(
                    globset::GlobBuilder::new(p)
                        .literal_separator(true)
                        .build()
                        .map_err(|e| bad(format!("`path` = `{p}`: {e}")))?
                        .compile_matcher(),
                ),
            };
            waivers.push(Waiver {
                fingerprint: w.fingerprint,
                rule: w.rule,
                path: w.path,
                matcher,
                justification: w.justification,
                owner: w.owner,
                expires: w.expires,
            });
        }
        Ok(Policy {
            name: name.to_string(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            standards: file.standards,
            profile: file.profile,
            fail_on: file.fail_on,
            waivers,
        })
    }
}

/// A finding of the baseline report, by what identifies it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Known {
    id: String,
    path: String,
    line: Option<u64>,
    offset: Option<u64>,
}

/// The findings of an earlier report.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    pub sha256: String,
    fingerprints: BTreeSet<String>,
    located: BTreeSet<Known>,
    /// How many findings the baseline report has.
    pub findings: usize,
}

impl Baseline {
    /// Reads the `findings[]` of a fwcert JSON report.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Baseline, PolicyError> {
        let bad = |message: String| PolicyError::Baseline {
            file: name.to_string(),
            message,
        };
        let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let schema = v["schema"].as_str().unwrap_or_default();
        if !schema.starts_with("fwcert-report/") {
            return Err(bad(format!("schema `{schema}`")));
        }
        let list = v["findings"]
            .as_array()
            .ok_or_else(|| bad("no `findings` array".into()))?;
        let mut fingerprints = BTreeSet::new();
        let mut located = BTreeSet::new();
        for f in list {
            if let Some(fp) = f["fingerprint"].as_str() {
                fingerprints.insert(fp.to_string());
            }
            located.insert(Known {
                id: f["id"].as_str().unwrap_or_default().to_string(),
                path: f["path"].as_str().unwrap_or_default().to_string(),
                line: f["line"].as_u64(),
                offset: f["offset"].as_u64(),
            });
        }
        Ok(Baseline {
            name: name.to_string(),
            sha256: hex::encode(Sha256::digest(bytes)),
            fingerprints,
            located,
            findings: list.len(),
        })
    }

    /// Known: the same fingerprint, or the same rule, path, line and offset
    /// (so an image rebuilt with its filesystem at another offset, which
    /// changes every container chain, still matches its old findings).
    fn knows(&self, f: &CheckedFinding) -> bool {
        self.fingerprints.contains(&f.fingerprint)
            || self.located.contains(&Known {
                id: f.finding.rule.clone(),
                path: f.finding.path.clone(),
                line: f.finding.line.map(|l| l as u64),
                offset: f.finding.offset,
            })
    }
}

/// Today's date for waiver expiry, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Today {
    pub date: String,
    /// `--today`, `FWCERT_TODAY` or `clock`.
    pub source: String,
}

impl Today {
    /// `--today` if given, else `FWCERT_TODAY`, else the system clock (UTC).
    pub fn resolve(option: Option<&str>) -> Result<Today, PolicyError> {
        let (date, source) = match (option, std::env::var("FWCERT_TODAY").ok()) {
            (Some(d), _) => (d.to_string(), "--today"),
            (None, Some(d)) if !d.is_empty() => (d, "FWCERT_TODAY"),
            _ => (clock_date(), "clock"),
        };
        if !valid_date(&date) {
            return Err(PolicyError::Today(date));
        }
        Ok(Today {
            date,
            source: source.to_string(),
        })
    }
}

/// `YYYY-MM-DD` with a real month and a day that month can have. Such
/// dates compare correctly as text.
pub fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) if (1..=12).contains(&m) && d >= 1 => {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            d <= days[(m - 1) as usize]
                && s.bytes()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        }
        _ => false,
    }
}

/// Today's UTC date from the system clock (civil-from-days, proleptic
/// Gregorian).
fn clock_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date((secs / 86_400) as i64)
}

/// The `YYYY-MM-DD` of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// What the gate is given besides the verdicts.
#[derive(Debug, Clone, Default)]
pub struct Gating {
    pub policy: Option<Policy>,
    pub baseline: Option<Baseline>,
    /// Set whenever the policy has waivers.
    pub today: Option<Today>,
}

/// One waiver after matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaiverState {
    /// Not expired on `today`.
    pub active: bool,
    /// Fingerprints of the findings it matches (expired or not), sorted.
    pub matched: Vec<String>,
}

/// The gate's view of the findings.
#[derive(Debug, Clone, Default)]
pub struct Matched {
    /// Per waiver of the policy, in file order.
    pub waivers: Vec<WaiverState>,
    /// Finding fingerprint → index (0-based) of the first active waiver
    /// that matches it.
    pub waived: BTreeMap<String, usize>,
    /// With a baseline: fingerprints of the findings it already had.
    pub known: BTreeSet<String>,
    /// With a baseline: fingerprints of the findings it did not have.
    pub new: BTreeSet<String>,
}

impl Matched {
    /// The findings the gate does not count: waived or already known.
    pub fn excused(&self) -> BTreeSet<String> {
        self.waived.keys().chain(&self.known).cloned().collect()
    }
}

impl Gating {
    pub fn is_empty(&self) -> bool {
        self.policy.is_none() && self.baseline.is_none()
    }

    pub fn assess(&self, findings: &[CheckedFinding]) -> Matched {
        let mut m = Matched::default();
        if let Some(p) = &self.policy {
            let today = self.today.as_ref().map(|t| t.date.as_str());
            for (i, w) in p.waivers.iter().enumerate() {
                // Without a date nothing can be shown unexpired: fail closed.
                let active = today.is_some_and(|d| d <= w.expires.as_str());
                let matched: BTreeSet<String> = findings
                    .iter()
                    .filter(|f| w.matches(f))
                    .map(|f| f.fingerprint.clone())
                    .collect();
                if active {
                    for fp in &matched {
                        m.waived.entry(fp.clone()).or_insert(i);
                    }
                }
                m.waivers.push(WaiverState {
                    active,
                    matched: matched.into_iter().collect(),
                });
            }
        }
        if let Some(b) = &self.baseline {
            for f in findings {
                if b.knows(f) {
                    m.known.insert(f.fingerprint.clone());
                } else {
                    m.new.insert(f.fingerprint.clone());
                }
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_and_the_clock_date_is_civil() {
        assert!(valid_date("2026-02-28"));
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2026-02-29"));
        assert!(!valid_date("2026-13-01"));
        assert!(!valid_date("2026-1-01"));
        assert!(!valid_date("+026-01-01"));
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_513), "2026-03-01");
        assert!(valid_date(&clock_date()));
    }

    #[test]
    fn waivers_need_a_target_an_owner_and_a_date() {
        let w = |body: &str| Policy::parse("p.toml", &format!("[[waiver]]\n{body}\n"));
        let ok = "justification = \"j\"\nowner = \"o\"\nexpires = \"2027-01-01\"";
        assert!(w(&format!("rule = \"FW-SVC-001\"\npath = \"/etc/**\"\n{ok}")).is_ok());
        assert!(w(&format!("fingerprint = \"abc\"\n{ok}")).is_ok());
        let e = w(ok).unwrap_err().to_string();
        assert!(e.contains("waiver 1: needs a `fingerprint` or a `rule`"), "{e}");
        let e = w(&format!("fingerprint = \"a\"\nrule = \"b\"\n{ok}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not both"), "{e}");
        let e = w("rule = \"X\"\njustification = \"j\"\nowner = \"o\"\nexpires = \"soon\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`expires` = `soon`"), "{e}");
        let e = w("rule = \"X\"\njustification = \"\"\nowner = \"o\"\nexpires = \"2027-01-01\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("must not be empty"), "{e}");
        assert!(Policy::parse("p.toml", "unknown = 1").is_err());
    }
}
