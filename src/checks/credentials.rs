//! The `credentials` family: accounts that anyone who has the firmware can
//! log in to, and passwords stored where anyone can read them.
//!
//! Account rules run over every account store the inventory found (system
//! accounts, passwd/shadow/master.passwd copies, htpasswd, mosquitto,
//! configuration files, records embedded in other files):
//! FW-CRED-001 empty password, FW-CRED-002 known default password,
//! FW-CRED-003 extra UID-0 account, FW-CRED-004 weak password hash,
//! FW-CRED-005 password equal to the user name, FW-CRED-006 service
//! account that can log in, FW-CRED-007 one hash shared by several
//! accounts, FW-CRED-012 plaintext stored password, FW-CRED-013 shipped
//! `authorized_keys` entry. Pattern rules (FW-CRED-008..011),
//! FW-CRED-014 (password strings in binaries) and FW-CRED-015 (YARA:
//! backdoor passwords compiled into programs) live in `patterns`,
//! `binaries` and `checks/credentials/FW-CRED-015.yar`; [`most_specific`]
//! keeps one report per password where they overlap.

use std::collections::BTreeMap;
use std::time::Instant;

use super::crack::{self, Job, Outcome};
use super::{CheckOptions, Coverage, Finding, RuleSet, SECRET_SLOT, Secret, binaries, patterns};
use crate::hash::fingerprint_of;
use crate::inventory::accounts::{Account, HashKind, Password};
use crate::inventory::{AccountStore, Inventory, StoreKind};

pub const FAMILY: &str = "credentials";

/// Shorten a hash for evidence: enough to find it, not a cracking aid.
fn short(hash: &str) -> String {
    if hash.chars().count() > 24 {
        format!("{}…", hash.chars().take(24).collect::<String>())
    } else {
        hash.to_string()
    }
}

/// Where an account's evidence is.
fn where_(a: &Account) -> String {
    match (a.password_line, a.password_offset) {
        (Some(l), _) => format!("{}:{l}", a.password_file),
        (None, Some(o)) => format!("{}@{o:#x}", a.password_file),
        _ => a.password_file.clone(),
    }
}

/// How evidence names an account: its user, or the configuration key.
fn who(a: &Account) -> String {
    match (&a.key, a.user.is_empty()) {
        (Some(k), true) => format!("configuration key `{k}`"),
        (Some(k), false) => format!("account `{}` (configuration key `{k}`)", a.user),
        _ => format!("account `{}`", a.user),
    }
}

/// Service accounts: system UIDs other than root, and `nobody`.
fn is_service_account(a: &Account) -> bool {
    match a.uid {
        Some(0) | None => false,
        Some(u) => u < 1000 || u == 65534,
    }
}

struct Ctx<'a, 'i> {
    inv: &'a Inventory<'i>,
    out: Vec<Finding>,
    gaps: Vec<String>,
}

impl Ctx<'_, '_> {
    fn push(&mut self, store: &AccountStore, a: &Account, rule: &str, evidence: String, secret: Option<Secret>) {
        let file = self.inv.file_at(store.origin, &a.password_file);
        self.out.push(Finding {
            rule: rule.to_string(),
            path: a.password_file.clone(),
            container: store.container.clone(),
            line: a.password_line,
            offset: a.password_offset,
            evidence,
            sha256: file.map(|f| f.sha256.clone()),
            custom: None,
            secret,
        });
    }
}

/// A recovered or plaintext password, fingerprinted by what is stored in
/// the image (the hash string, or the plaintext itself).
fn secret(password: &str, stored: &str) -> Secret {
    Secret {
        value: Some(password.to_string()),
        fingerprint: fingerprint_of(stored.as_bytes()),
    }
}

/// One report per password where rules overlap, the most specific one:
///
/// - FW-CRED-015 (a known backdoor password compiled into a program) stays
///   quiet about a password FW-CRED-002 recovered for an account of the same
///   image: the account finding already names that password, and changing
///   it is the fix for both;
/// - FW-CRED-014 (a dictionary password near a user name or prompt, a
///   heuristic) stays quiet where FW-CRED-015 matched the same password in
///   the same file, whether or not that report was kept.
pub fn most_specific(findings: Vec<Finding>) -> Vec<Finding> {
    let value = |f: &Finding| f.secret.as_ref().and_then(|s| s.value.clone()).unwrap_or_default();
    let place = |f: &Finding| (f.container.clone(), f.path.clone(), value(f));
    let cracked: std::collections::BTreeSet<String> =
        findings.iter().filter(|f| f.rule == "FW-CRED-002").map(value).collect();
    let backdoors: std::collections::BTreeSet<_> = findings.iter().filter(|f| f.rule == BACKDOOR).map(place).collect();
    findings
        .into_iter()
        .filter(|f| match f.rule.as_str() {
            BACKDOOR => !cracked.contains(&value(f)),
            "FW-CRED-014" => !backdoors.contains(&place(f)),
            _ => true,
        })
        .collect()
}

/// FW-CRED-015, fed by YARA rules.
const BACKDOOR: &str = "FW-CRED-015";

pub fn check(inv: &Inventory, rules: &RuleSet, opts: &CheckOptions) -> (Vec<Finding>, Coverage) {
    let deadline = Instant::now() + opts.crack_time;
    let mut cx = Ctx {
        inv,
        out: Vec::new(),
        gaps: Vec::new(),
    };
    let stores = &inv.account_stores;
    if !stores
        .iter()
        .any(|s| s.kind == StoreKind::System && !s.accounts.is_empty())
    {
        let mut why = "no /etc/passwd or /etc/shadow was found in any filesystem".to_string();
        let unresolved: Vec<&str> = stores
            .iter()
            .flat_map(|s| s.unresolved.iter().map(String::as_str))
            .collect();
        if !unresolved.is_empty() {
            why = format!(
                "{} link(s) to files the image does not contain (generated at boot?)",
                unresolved.join(", ")
            );
        }
        cx.gaps.push(why);
    }

    // Unique hashes to crack, each with every account that uses it.
    let mut by_hash: BTreeMap<&str, Vec<(&AccountStore, &Account)>> = BTreeMap::new();
    for store in stores {
        for a in &store.accounts {
            structural(&mut cx, store, a);
            match &a.password {
                Password::Hash(h) => by_hash.entry(h.as_str()).or_default().push((store, a)),
                Password::Plaintext(p) => {
                    cx.push(
                        store,
                        a,
                        "FW-CRED-012",
                        format!(
                            "{} in {} stores the password \"{SECRET_SLOT}\" in plaintext",
                            who(a),
                            store.kind.label()
                        ),
                        Some(secret(p, p)),
                    );
                    classify(&mut cx, store, a, p, HashKind::Plaintext, p, rules);
                }
                _ => {}
            }
        }
        for k in &store.authorized_keys {
            let file = inv.file_at(store.origin, &k.file);
            cx.out.push(Finding {
                rule: "FW-CRED-013".into(),
                path: k.file.clone(),
                container: store.container.clone(),
                line: Some(k.line),
                offset: None,
                evidence: format!(
                    "{} key {} ({}){}{} is authorized to log in",
                    k.key_type,
                    k.openssh_fingerprint,
                    k.key.describe(),
                    k.comment
                        .as_ref()
                        .map(|c| format!(", comment `{c}`"))
                        .unwrap_or_default(),
                    k.options
                        .as_ref()
                        .map(|o| format!(", options `{o}`"))
                        .unwrap_or_default(),
                ),
                sha256: file.map(|f| f.sha256.clone()),
                custom: None,
                secret: Some(Secret {
                    value: None,
                    fingerprint: k.fingerprint.clone(),
                }),
            });
        }
    }

    let hashes: Vec<(&str, &Vec<(&AccountStore, &Account)>)> = by_hash.iter().map(|(h, v)| (*h, v)).collect();
    for (hash, users) in &hashes {
        let kind = HashKind::of(hash);
        for (store, a) in users.iter() {
            if kind.is_weak() {
                cx.push(
                    store,
                    a,
                    "FW-CRED-004",
                    format!("{} uses {} ({})", who(a), kind.label(), short(hash)),
                    None,
                );
            }
        }
        shared(&mut cx, hash, kind, users);
    }

    // Crack every unique hash once: the users' own names first, then the
    // dictionary (pairs for these users before everything else).
    let names: Vec<Vec<String>> = hashes
        .iter()
        .map(|(_, users)| {
            let mut n: Vec<String> = users
                .iter()
                .map(|(_, a)| a.user.clone())
                .filter(|u| !u.is_empty())
                .collect();
            n.sort();
            n.dedup();
            n
        })
        .collect();
    let jobs: Vec<Job> = hashes
        .iter()
        .zip(&names)
        .map(|((hash, _), names)| {
            let mut candidates: Vec<&str> = names.iter().map(String::as_str).collect();
            for n in names {
                for c in rules.dictionary.candidates_for(n) {
                    candidates.push(c.password);
                }
            }
            if names.is_empty() {
                candidates.extend(rules.dictionary.candidates_for("").iter().map(|c| c.password));
            }
            let mut seen = std::collections::BTreeSet::new();
            candidates.retain(|c| seen.insert(*c));
            Job {
                hash,
                kind: HashKind::of(hash),
                candidates,
            }
        })
        .collect();
    let outcomes = crack::run(&jobs, deadline, crack::default_threads());
    for ((job, (_, users)), outcome) in jobs.iter().zip(&hashes).zip(outcomes) {
        match outcome {
            Outcome::Cracked(i) => {
                let pw = job.candidates[i];
                for (store, a) in users.iter() {
                    classify(&mut cx, store, a, pw, job.kind, job.hash, rules);
                }
            }
            Outcome::Exhausted => {}
            Outcome::OutOfTime | Outcome::Unsupported(_) => {
                let why = match outcome {
                    Outcome::Unsupported(w) => w,
                    _ => "the cracking time budget ran out before every candidate was tried",
                };
                for (_, a) in users.iter() {
                    cx.gaps.push(format!(
                        "{}: {} hash of {} was not fully tested against the dictionary: {why}",
                        where_(a),
                        job.kind.label(),
                        who(a)
                    ));
                }
            }
        }
    }
    cx.out.extend(patterns::run(inv, &rules.patterns, FAMILY));
    cx.out.extend(binaries::check(inv, rules));
    cx.gaps.sort();
    cx.gaps.dedup();
    (
        cx.out,
        Coverage {
            family: FAMILY,
            gaps: cx.gaps,
        },
    )
}

/// Rules about the account itself rather than its password.
fn structural(cx: &mut Ctx, store: &AccountStore, a: &Account) {
    let system = store.kind.is_system_like();
    if system && a.uid == Some(0) && a.user != "root" {
        cx.push(store, a, "FW-CRED-003", format!("account `{}` has UID 0", a.user), None);
    }
    let empty_counts = !matches!(store.kind, StoreKind::ConfigKv | StoreKind::Mosquitto);
    if empty_counts && a.password == Password::Empty && (a.uid == Some(0) || a.has_login_shell()) {
        cx.push(
            store,
            a,
            "FW-CRED-001",
            format!(
                "{} has an empty password field{} ({})",
                who(a),
                shell_note(a),
                store.kind.label()
            ),
            None,
        );
    }
    if system && is_service_account(a) && a.has_login_shell() && a.password_usable() {
        let how = match &a.password {
            Password::Empty => "an empty password".to_string(),
            Password::Plaintext(_) => "a plaintext password".to_string(),
            p => format!("a {} password hash", p.kind().unwrap_or(HashKind::Unknown).label()),
        };
        cx.push(
            store,
            a,
            "FW-CRED-006",
            format!(
                "service account `{}` (UID {}) has the login shell {} and {how}",
                a.user,
                a.uid.unwrap_or_default(),
                a.shell
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/bin/sh (empty field)")
            ),
            None,
        );
    }
}

/// One hash used by accounts with different user names.
fn shared(cx: &mut Ctx, hash: &str, kind: HashKind, users: &[(&AccountStore, &Account)]) {
    let mut names: Vec<&str> = users.iter().map(|(_, a)| a.user.as_str()).collect();
    names.sort();
    names.dedup();
    if names.len() < 2 {
        return;
    }
    let mut places: Vec<String> = users
        .iter()
        .map(|(_, a)| format!("`{}` ({})", a.user, where_(a)))
        .collect();
    places.sort();
    let (store, first) = users[0];
    cx.push(
        store,
        first,
        "FW-CRED-007",
        format!(
            "the same {} hash {} (same salt) is used by {} accounts: {}",
            kind.label(),
            short(hash),
            names.len(),
            places.join(", ")
        ),
        Some(Secret {
            value: None,
            fingerprint: fingerprint_of(hash.as_bytes()),
        }),
    );
}

/// Report a known password: equal to the user name (005) and/or in the
/// dictionary (002).
fn classify(cx: &mut Ctx, store: &AccountStore, a: &Account, pw: &str, kind: HashKind, stored: &str, rules: &RuleSet) {
    let shown = if kind == HashKind::Plaintext {
        "plaintext".to_string()
    } else {
        format!("{} {}", kind.label(), short(stored))
    };
    if !a.user.is_empty() && pw == a.user {
        cx.push(
            store,
            a,
            "FW-CRED-005",
            format!(
                "{} ({shown}) has the password \"{SECRET_SLOT}\", its own user name",
                who(a)
            ),
            Some(secret(pw, stored)),
        );
        return;
    }
    let found = rules
        .dictionary
        .candidates_for(&a.user)
        .into_iter()
        .find(|c| c.password == pw);
    if let Some(c) = found {
        cx.push(
            store,
            a,
            "FW-CRED-002",
            format!(
                "{} ({shown}) has the known default password \"{SECRET_SLOT}\" (dictionary source: {}{})",
                who(a),
                c.sources.join(", "),
                if c.paired_with_user {
                    "; listed for this user"
                } else {
                    ""
                }
            ),
            Some(secret(pw, stored)),
        );
    }
}

fn shell_note(a: &Account) -> String {
    match &a.shell {
        Some(s) if !s.is_empty() => format!(" and login shell {s}"),
        _ => String::new(),
    }
}
