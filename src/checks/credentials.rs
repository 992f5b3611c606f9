//! The `credentials` family: accounts that anyone who has the firmware can
//! log in to.
//!
//! Rules: FW-CRED-001 empty password, FW-CRED-002 known default password,
//! FW-CRED-003 extra UID-0 account, FW-CRED-004 weak password hash,
//! FW-CRED-005 password equal to the user name.

use std::time::Instant;

use super::{CheckOptions, Coverage, Finding, RuleSet};
use crate::inventory::Inventory;
use crate::inventory::accounts::{Account, HashKind, Password};

pub const FAMILY: &str = "credentials";

/// Shorten a hash for evidence: enough to find it, not a cracking aid.
fn short(hash: &str) -> String {
    if hash.chars().count() > 24 {
        format!("{}…", hash.chars().take(24).collect::<String>())
    } else {
        hash.to_string()
    }
}

/// Whether `password` is the one behind `hash`.
fn matches(password: &str, hash: &str) -> bool {
    pwhash::unix::verify(password, hash)
}

pub fn check(inv: &Inventory, rules: &RuleSet, opts: &CheckOptions) -> (Vec<Finding>, Coverage) {
    let mut findings = Vec::new();
    let mut gaps = Vec::new();
    let deadline = Instant::now() + opts.crack_time;
    let stores: Vec<_> = inv.account_stores.iter().filter(|s| !s.accounts.is_empty()).collect();
    if stores.is_empty() {
        let mut why = "no /etc/passwd or /etc/shadow was found in any filesystem".to_string();
        let unresolved: Vec<&str> = inv
            .account_stores
            .iter()
            .flat_map(|s| s.unresolved.iter().map(String::as_str))
            .collect();
        if !unresolved.is_empty() {
            why = format!(
                "{} link(s) to files the image does not contain (generated at boot?)",
                unresolved.join(", ")
            );
        }
        gaps.push(why);
    }
    for store in stores {
        for a in &store.accounts {
            let file = inv.file(store.filesystem, &a.password_file);
            let mk = |rule: &str, evidence: String| Finding {
                rule: rule.to_string(),
                path: a.password_file.clone(),
                container: store.container.clone(),
                line: Some(a.password_line),
                offset: None,
                evidence,
                sha256: file.map(|f| f.sha256.clone()),
            };
            if a.uid == Some(0) && a.user != "root" {
                findings.push(mk("FW-CRED-003", format!("account `{}` has UID 0", a.user)));
            }
            match &a.password {
                Password::Empty if a.uid == Some(0) || a.has_login_shell() => {
                    findings.push(mk(
                        "FW-CRED-001",
                        format!("account `{}` has an empty password field{}", a.user, shell_note(a)),
                    ));
                }
                Password::Hash(h) => {
                    let kind = HashKind::of(h);
                    if kind.is_weak() {
                        findings.push(mk(
                            "FW-CRED-004",
                            format!("account `{}` uses {} ({})", a.user, kind.label(), short(h)),
                        ));
                    }
                    match kind {
                        HashKind::Unknown | HashKind::Yescrypt | HashKind::Apr1 => {
                            gaps.push(format!(
                                "{}:{}: {} hash of `{}` was not tested against the dictionary",
                                a.password_file,
                                a.password_line,
                                kind.label(),
                                a.user
                            ));
                        }
                        _ => {
                            if Instant::now() >= deadline {
                                gaps.push(format!("cracking time budget ran out before `{}` was tested", a.user));
                                continue;
                            }
                            if let Some(f) = crack(a, h, kind, rules, deadline, &mk) {
                                findings.push(f);
                            } else if Instant::now() >= deadline {
                                gaps.push(format!("cracking time budget ran out while testing `{}`", a.user));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    gaps.sort();
    gaps.dedup();
    (findings, Coverage { family: FAMILY, gaps })
}

fn shell_note(a: &Account) -> String {
    match &a.shell {
        Some(s) if !s.is_empty() => format!(" and login shell {s}"),
        _ => String::new(),
    }
}

fn crack(
    a: &Account,
    hash: &str,
    kind: HashKind,
    rules: &RuleSet,
    deadline: Instant,
    mk: &dyn Fn(&str, String) -> Finding,
) -> Option<Finding> {
    if matches(&a.user, hash) {
        return Some(mk(
            "FW-CRED-005",
            format!(
                "account `{}` ({}) has the password \"{}\", its own user name",
                a.user,
                kind.label(),
                a.user
            ),
        ));
    }
    for c in rules.dictionary.candidates_for(&a.user) {
        if Instant::now() >= deadline {
            return None;
        }
        if matches(c.password, hash) {
            return Some(mk(
                "FW-CRED-002",
                format!(
                    "account `{}` ({} {}) has the known default password \"{}\" (dictionary source: {}{})",
                    a.user,
                    kind.label(),
                    short(hash),
                    c.password,
                    c.sources.join(", "),
                    if c.paired_with_user {
                        "; listed for this user"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    None
}
