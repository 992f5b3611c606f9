//! Component versions as firmware spells them, ordered as their upstream
//! projects number releases, for matching vulnerability ranges.
//!
//! A version string is split into the upstream release and what a vendor or
//! a distribution added after it:
//!
//! - `1.0.2n`, `0.9.8za`: OpenSSL's letter releases come after the plain
//!   number and after each other by length, then alphabet (`z` < `za`, as
//!   OpenSSL continued after `0.9.8z`);
//! - `2012.55` (dropbear), `0.9.33.2` (uClibc): as many numeric parts as
//!   the project uses; a missing part sorts first (`1.2` < `1.2.0`);
//! - `1.4.35-r1` (OpenWrt package revision), `1.0.2n-1+deb9u5` (Debian):
//!   the revision is kept apart: a distribution may have backported fixes,
//!   which lowers a match's confidence without changing the upstream
//!   version;
//! - `2.6.31--LSDK-9.2.0` (a vendor kernel tag): the same, a suffix;
//! - `-rc1`, `-pre2`, `-alpha`, `-beta`, `~rc1`: a pre-release, before the
//!   release it leads to (`2.6.31-rc1` < `2.6.31`).

use std::cmp::Ordering;

/// One run of digits or letters of the upstream release.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Number(u64),
    Letters(String),
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Number(a), Part::Number(b)) => a.cmp(b),
            // `z` < `za` < `zb`: longer letter runs come later.
            (Part::Letters(a), Part::Letters(b)) => (a.len(), a).cmp(&(b.len(), b)),
            // A number where the other has letters is the later scheme
            // (`1.0.2.1` after `1.0.2a`); rare, but the order must be total.
            (Part::Number(_), Part::Letters(_)) => Ordering::Greater,
            (Part::Letters(_), Part::Number(_)) => Ordering::Less,
        }
    }
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Pre-release markers and their order among themselves.
const PRE_RELEASES: &[&str] = &["alpha", "beta", "pre", "rc"];

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    raw: String,
    upstream: Vec<Part>,
    /// `(marker rank, number)` of a pre-release, e.g. `rc1` → (3, 1).
    pre_release: Option<(usize, u64)>,
    /// What a distribution or vendor appended (`r1`, `1+deb9u5`, `LSDK-9.2.0`).
    suffix: Option<String>,
}

/// Digits and letters of `s` as parts, split at dots (and at the change
/// from digits to letters).
fn parts(s: &str) -> Vec<Part> {
    let mut out = Vec::new();
    for piece in s.split('.').filter(|p| !p.is_empty()) {
        let mut rest = piece;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 {
                // Longer than u64: the order of such a part is moot.
                out.push(Part::Number(rest[..digits].parse().unwrap_or(u64::MAX)));
                rest = &rest[digits..];
                continue;
            }
            let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            if letters == 0 {
                break;
            }
            out.push(Part::Letters(rest[..letters].to_ascii_lowercase()));
            rest = &rest[letters..];
        }
    }
    out
}

/// A pre-release marker with its number (`rc1`, `pre2`, `beta`).
fn pre_release(s: &str) -> Option<(usize, u64)> {
    let lower = s.to_ascii_lowercase();
    let lower = lower.trim_start_matches(['-', '~', '.', '_']);
    PRE_RELEASES.iter().enumerate().find_map(|(rank, marker)| {
        let n = lower.strip_prefix(marker)?.trim_start_matches(['-', '.', '_']);
        (n.is_empty() || n.bytes().all(|b| b.is_ascii_digit())).then(|| (rank, n.parse().unwrap_or(0)))
    })
}

impl Version {
    /// Parse a version that starts with a digit; `None` otherwise.
    pub fn parse(raw: &str) -> Option<Version> {
        let raw = raw.trim();
        if !raw.bytes().next()?.is_ascii_digit() {
            return None;
        }
        // The upstream release: digits, letters and dots up to the first
        // other separator.
        let end = raw
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(raw.len());
        let (mut head, tail) = raw.split_at(end);
        let mut pre = None;
        // `1.1.1pre3`, `3.0.0alpha1`: a marker glued to the number.
        for marker in PRE_RELEASES {
            if let Some(at) = head.to_ascii_lowercase().find(marker)
                && let Some(p) = pre_release(&head[at..])
            {
                pre = Some(p);
                head = &head[..at];
                break;
            }
        }
        let tail = tail.trim_start_matches(['-', '~', '+', '_']);
        let mut suffix = (!tail.is_empty()).then(|| tail.to_string());
        if pre.is_none()
            && let Some(p) = suffix.as_deref().and_then(pre_release)
        {
            pre = Some(p);
            suffix = None;
        }
        Some(Version {
            raw: raw.to_string(),
            upstream: parts(head),
            pre_release: pre,
            suffix,
        })
    }

    /// The string as found.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// What a vendor or distribution appended after the upstream release:
    /// a hint that fixes may have been backported.
    pub fn suffix(&self) -> Option<&str> {
        self.suffix.as_deref()
    }

    /// Whether this is a pre-release (`-rc1`, `pre2`, `beta`).
    pub fn is_pre_release(&self) -> bool {
        self.pre_release.is_some()
    }

    /// The order of upstream releases only, vendor suffixes ignored: what
    /// vulnerability ranges are written against.
    pub fn cmp_upstream(&self, other: &Version) -> Ordering {
        // Trailing zero numbers do not make a new release (`1.2` = `1.2.0`)
        // for range checks; `Ord` keeps them apart for a total order.
        let trim = |p: &[Part]| {
            let keep = p.iter().rposition(|x| *x != Part::Number(0)).map_or(0, |i| i + 1);
            p[..keep].to_vec()
        };
        trim(&self.upstream).cmp(&trim(&other.upstream)).then_with(|| {
            // A pre-release comes before its release.
            match (self.pre_release, other.pre_release) {
                (None, None) => Ordering::Equal,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => a.cmp(&b),
            }
        })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_upstream(other)
            .then_with(|| self.upstream.cmp(&other.upstream))
            .then_with(|| self.suffix.cmp(&other.suffix))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    /// Each list is in ascending upstream order.
    #[test]
    fn vendor_forms_order_as_their_projects_release_them() {
        for list in [
            &[
                "0.9.8", "0.9.8a", "0.9.8z", "0.9.8za", "0.9.8zh", "1.0.0", "1.0.2", "1.0.2k", "1.0.2n", "1.1.0",
            ][..],
            &["2011.54", "2012.55", "2013.62", "2019.78", "2020.81"],
            &["0.9.30", "0.9.30.1", "0.9.33", "0.9.33.2", "1.0.0"],
            &["1.01", "1.2.1", "1.23.2", "1.30.1"],
            &["2.6.31-rc1", "2.6.31", "2.6.32", "3.10.14", "4.9.37"],
            &["1.1.1pre3", "1.1.1-rc1", "1.1.1"],
        ] {
            for pair in list.windows(2) {
                assert_eq!(
                    v(pair[0]).cmp_upstream(&v(pair[1])),
                    Ordering::Less,
                    "{} < {}",
                    pair[0],
                    pair[1]
                );
                assert!(v(pair[0]) < v(pair[1]));
            }
        }
    }

    #[test]
    fn vendor_suffixes_are_kept_apart_from_the_release() {
        let kernel = v("2.6.31--LSDK-9.2.0.312");
        assert_eq!(kernel.cmp_upstream(&v("2.6.31")), Ordering::Equal);
        assert_eq!(kernel.suffix(), Some("LSDK-9.2.0.312"));
        let openwrt = v("1.4.35-r1");
        assert_eq!(openwrt.cmp_upstream(&v("1.4.35")), Ordering::Equal);
        assert_eq!(openwrt.suffix(), Some("r1"));
        assert!(openwrt > v("1.4.35"), "the total order keeps them apart");
        let debian = v("1.0.2n-1+deb9u5");
        assert_eq!(debian.cmp_upstream(&v("1.0.2n")), Ordering::Equal);
        assert_eq!(debian.suffix(), Some("1+deb9u5"));
        assert!(!debian.is_pre_release());
        assert!(v("2.6.31-rc1").is_pre_release() && v("2.6.31-rc1").suffix().is_none());
    }

    #[test]
    fn trailing_zeros_are_the_same_release_and_odd_input_is_refused() {
        assert_eq!(v("1.2").cmp_upstream(&v("1.2.0")), Ordering::Equal);
        assert_ne!(v("1.2"), v("1.2.0"));
        assert!(Version::parse("v1.2").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version::parse("%s").is_none());
        assert_eq!(v("99999999999999999999999.1").as_str(), "99999999999999999999999.1");
    }
}
