//! When two rules report the same thing, the report keeps the more
//! specific finding.
//!
//! The precedence is one table, [`YIELDS`], applied in one pass over the
//! findings of every family and engine together: each entry is judged
//! against the findings as they were before anything was dropped, so the
//! result does not depend on the order of the entries or of the families.

use std::collections::BTreeSet;

use super::CheckedFinding;
use crate::rules;

/// Which findings count as the louder report of the same thing.
#[derive(Debug, Clone, Copy)]
enum Louder {
    /// Findings of this rule.
    Rule(&'static str),
    /// Findings of any other rule of the quiet rule's family.
    Family,
}

/// What the two findings must agree on.
#[derive(Debug, Clone, Copy)]
enum Same {
    /// The recovered secret's value, wherever in the image it was found.
    SecretValue,
    /// The file (container chain and path) and the secret's value.
    FileAndSecretValue,
    /// The file and the secret's fingerprint.
    FileAndSecretFingerprint,
}

/// The quiet rule's finding is dropped when a louder one agrees with it.
struct Yield {
    quiet: &'static str,
    louder: Louder,
    same: Same,
}

/// The precedence table.
///
/// - FW-CRED-015 (a known backdoor password compiled into a program) stays
///   quiet about a password FW-CRED-002 recovered for an account of the same
///   image: the account finding already names that password, and changing
///   it is the fix for both.
/// - FW-CRED-014 (a dictionary password near a user name or prompt, a
///   heuristic) stays quiet where FW-CRED-015 matched the same password in
///   the same file, whether or not that report was kept.
/// - FW-SECRET-012 (any random-looking value) stays quiet about a value a
///   specific token rule already reported in the same file.
const YIELDS: &[Yield] = &[
    Yield {
        quiet: rules::FW_CRED_015,
        louder: Louder::Rule(rules::FW_CRED_002),
        same: Same::SecretValue,
    },
    Yield {
        quiet: rules::FW_CRED_014,
        louder: Louder::Rule(rules::FW_CRED_015),
        same: Same::FileAndSecretValue,
    },
    Yield {
        quiet: rules::FW_SECRET_012,
        louder: Louder::Family,
        same: Same::FileAndSecretFingerprint,
    },
];

/// What two findings are compared on.
type Key = (String, String, String);

fn key(f: &CheckedFinding, same: Same) -> Key {
    let value = || {
        f.finding
            .secret
            .as_ref()
            .and_then(|s| s.value.clone())
            .unwrap_or_default()
    };
    let fingerprint = || {
        f.finding
            .secret
            .as_ref()
            .map(|s| s.fingerprint.clone())
            .unwrap_or_default()
    };
    let chain = || f.finding.container.to_string();
    match same {
        Same::SecretValue => (String::new(), String::new(), value()),
        Same::FileAndSecretValue => (chain(), f.finding.path.clone(), value()),
        Same::FileAndSecretFingerprint => (chain(), f.finding.path.clone(), fingerprint()),
    }
}

/// Drop every finding that a more specific one already reports.
pub fn most_specific(findings: Vec<CheckedFinding>) -> Vec<CheckedFinding> {
    let louder_keys: Vec<BTreeSet<Key>> = YIELDS
        .iter()
        .map(|y| {
            let quiet_family = findings
                .iter()
                .find(|f| f.finding.rule == y.quiet)
                .map(|f| f.family.as_str());
            findings
                .iter()
                .filter(|f| f.finding.rule != y.quiet)
                .filter(|f| match y.louder {
                    Louder::Rule(r) => f.finding.rule == r,
                    Louder::Family => Some(f.family.as_str()) == quiet_family,
                })
                .map(|f| key(f, y.same))
                .collect()
        })
        .collect();
    findings
        .into_iter()
        .filter(|f| {
            !YIELDS
                .iter()
                .zip(&louder_keys)
                .any(|(y, keys)| f.finding.rule == y.quiet && keys.contains(&key(f, y.same)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::rule::{Category, Severity};
    use crate::checks::{Finding, Secret};

    fn finding(rule: &str, family: &str, path: &str, value: &str) -> CheckedFinding {
        CheckedFinding {
            finding: Finding {
                rule: rule.into(),
                path: path.into(),
                container: crate::unpack::Chain::image("fw").child("", 0, "squashfs"),
                secret: Some(Secret {
                    value: Some(value.into()),
                    fingerprint: format!("sha256:{value}"),
                }),
                ..Finding::default()
            },
            name: String::new(),
            family: family.into(),
            category: Category::Credentials,
            title: String::new(),
            severity: Severity::High,
            controls: Vec::new(),
            fingerprint: format!("{rule}{path}{value}"),
            preview: false,
        }
    }

    fn kept(findings: Vec<CheckedFinding>) -> Vec<(String, String, String)> {
        most_specific(findings)
            .into_iter()
            .map(|f| {
                let value = f.finding.secret.and_then(|s| s.value).unwrap_or_default();
                (f.finding.rule, f.finding.path, value)
            })
            .collect()
    }

    fn row(rule: &str, path: &str, value: &str) -> (String, String, String) {
        (rule.into(), path.into(), value.into())
    }

    #[test]
    fn a_backdoor_password_yields_to_the_account_that_uses_it_anywhere() {
        let out = kept(vec![
            finding(rules::FW_CRED_002, "credentials", "/etc/shadow", "xc3511"),
            finding(rules::FW_CRED_015, "credentials", "/usr/bin/dvrhelper", "xc3511"),
            finding(rules::FW_CRED_015, "credentials", "/usr/bin/dvrhelper", "vizxv"),
        ]);
        assert_eq!(
            out,
            [
                row(rules::FW_CRED_002, "/etc/shadow", "xc3511"),
                row(rules::FW_CRED_015, "/usr/bin/dvrhelper", "vizxv"),
            ]
        );
    }

    #[test]
    fn a_program_string_yields_to_a_backdoor_match_in_the_same_file_even_a_dropped_one() {
        let out = kept(vec![
            finding(rules::FW_CRED_002, "credentials", "/etc/shadow", "xc3511"),
            finding(rules::FW_CRED_015, "credentials", "/usr/bin/a", "xc3511"),
            finding(rules::FW_CRED_014, "credentials", "/usr/bin/a", "xc3511"),
            finding(rules::FW_CRED_014, "credentials", "/usr/bin/b", "xc3511"),
        ]);
        // FW-CRED-015 in /usr/bin/a is dropped for FW-CRED-002, and still
        // silences FW-CRED-014 there; /usr/bin/b has no backdoor match.
        assert_eq!(
            out,
            [
                row(rules::FW_CRED_002, "/etc/shadow", "xc3511"),
                row(rules::FW_CRED_014, "/usr/bin/b", "xc3511"),
            ]
        );
    }

    #[test]
    fn a_generic_secret_yields_to_a_specific_token_rule_in_the_same_file_only() {
        let out = kept(vec![
            finding(rules::FW_SECRET_004, "secrets", "/etc/app.conf", "AKIAXXXXXXXX"),
            finding(rules::FW_SECRET_012, "secrets", "/etc/app.conf", "AKIAXXXXXXXX"),
            finding(rules::FW_SECRET_012, "secrets", "/etc/other.conf", "AKIAXXXXXXXX"),
            // A finding of another family with the same value is no reason.
            finding(rules::FW_CRED_012, "credentials", "/etc/app2.conf", "q8Zr2LmX0pT7"),
            finding(rules::FW_SECRET_012, "secrets", "/etc/app2.conf", "q8Zr2LmX0pT7"),
        ]);
        assert_eq!(
            out,
            [
                row(rules::FW_SECRET_004, "/etc/app.conf", "AKIAXXXXXXXX"),
                row(rules::FW_SECRET_012, "/etc/other.conf", "AKIAXXXXXXXX"),
                row(rules::FW_CRED_012, "/etc/app2.conf", "q8Zr2LmX0pT7"),
                row(rules::FW_SECRET_012, "/etc/app2.conf", "q8Zr2LmX0pT7"),
            ]
        );
    }
}
