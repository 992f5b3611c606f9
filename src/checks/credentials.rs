//! The `credentials` family: accounts that anyone who has the firmware can
//! log in to, and passwords stored where anyone can read them.
//!
//! Account rules run over every account store the inventory found (system
//! accounts, passwd/shadow/master.passwd copies, htpasswd, mosquitto,
//! configuration files, records embedded in other files), and
//! [`super::binaries`] looks for dictionary passwords among program
//! strings; the family's pattern and YARA rules run in the generic engines,
//! and [`super::overlap`] keeps one report per password where rules
//! overlap. The rules are listed in `docs/rules/credentials.md`, generated
//! from `checks/credentials/`.

use std::collections::BTreeMap;
use std::time::Instant;

use super::crack::{self, Job, Outcome};
use super::{Context, FamilyResult, Finding, RuleSet, SECRET_SLOT, Secret, binaries};
use crate::hash::fingerprint_of;
use crate::inventory::accounts::{Account, HashKind, Password};
use crate::inventory::stores::AccountFile;
use crate::inventory::{AccountStore, Inventory, StoreKind};
use crate::rules;

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
            sha256: file.map(|f| f.sha256().to_string()),
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

pub fn check(cx: &Context) -> FamilyResult {
    // The programs' string constants (FW-CRED-014) need nothing from the
    // accounts: searched beside them, they no longer end the family, the
    // longest of the checks, on one thread after the cracking.
    let (mut result, in_programs) = rayon::join(|| accounts(cx), || binaries::check(cx.inventory, cx.rules));
    result.findings.extend(in_programs);
    result
}

/// The account stores' findings: structure, plaintext, cracked hashes.
fn accounts(cx: &Context) -> FamilyResult {
    let (inv, rules) = (cx.inventory, cx.rules);
    let deadline = Instant::now() + cx.options.crack_time;
    let mut cx = Ctx {
        inv,
        out: Vec::new(),
        gaps: Vec::new(),
    };
    let stores = &inv.account_stores;
    cx.gaps.extend(account_file_gaps(stores));
    cx.gaps.extend(super::unread_configs(inv));

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
                        rules::FW_CRED_012,
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
                rule: rules::FW_CRED_013.into(),
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
                sha256: file.map(|f| f.sha256().to_string()),
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
                    rules::FW_CRED_004,
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
            // The names (sorted, distinct), then the dictionary's passwords,
            // which are distinct already.
            let users: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut candidates = users.clone();
            let dict = rules.dictionary.candidates_for_users(&users);
            candidates.extend(dict.iter().map(|c| c.password).filter(|p| !users.contains(p)));
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
    FamilyResult {
        findings: cx.out,
        gaps: cx.gaps,
    }
}

/// Why the accounts of a root filesystem could not all be checked, one
/// gap per root filesystem: no account files at all, account files that
/// are links the image cannot follow, or a passwd that defers passwords to
/// a shadow file (`root:x:…`) that is missing, has no entry for them or is
/// a link into run-time storage. Each is a gap, never a silent pass.
fn account_file_gaps(stores: &[AccountStore]) -> Vec<String> {
    let system: Vec<&AccountStore> = stores.iter().filter(|s| s.kind == StoreKind::System).collect();
    if system.is_empty() {
        return vec!["no /etc/passwd or /etc/shadow was found in any filesystem".to_string()];
    }
    system.into_iter().filter_map(root_gap).collect()
}

/// The gap of one root filesystem's account files, if any.
fn root_gap(s: &AccountStore) -> Option<String> {
    let at = format!("{} (root filesystem {})", s.container, s.path);
    if s.accounts.is_empty() {
        return Some(if s.unresolved.is_empty() {
            format!(
                "{at}: no account in /etc/passwd, /etc/shadow or /etc/master.passwd (missing or empty): its accounts are unknown"
            )
        } else {
            format!(
                "{at}: {} link(s) to files the image does not contain (generated at boot?)",
                s.unresolved.join(", ")
            )
        });
    }
    if s.deferred.is_empty() {
        return None;
    }
    let pending: Vec<&str> = s
        .deferred
        .iter()
        .filter(|u| {
            s.accounts
                .iter()
                .any(|a| &a.user == *u && a.password == Password::Unresolved)
        })
        .map(String::as_str)
        .collect();
    let (path, state) = s.files.iter().find(|(p, _)| p.ends_with("/etc/shadow"))?;
    let why = match state {
        AccountFile::Link { target, resolved } if state.is_runtime_link() => {
            if *resolved {
                format!(
                    "{path} is a link to {target} in run-time storage: the copy in the image was read, \
                     but the device reads what is written there at boot"
                )
            } else {
                format!("{path} is a link to {target}, which is only written at run time")
            }
        }
        _ if pending.is_empty() => return None,
        AccountFile::Missing => format!("there is no {path}"),
        AccountFile::Link {
            target,
            resolved: false,
        } => {
            format!("{path} is a link to {target}, which the image does not contain (generated at boot?)")
        }
        AccountFile::NotAFile => format!("{path} is not a regular file"),
        AccountFile::Read | AccountFile::Link { .. } => format!("{path} has no entry for them"),
    };
    let users = if pending.is_empty() {
        s.deferred.iter().map(String::as_str).collect()
    } else {
        pending
    };
    let users: Vec<String> = users.iter().map(|u| format!("`{u}`")).collect();
    Some(format!(
        "{at}: /etc/passwd keeps the password of {} in the shadow file (`x`), but {why}: not checked",
        users.join(", ")
    ))
}

/// Rules about the account itself rather than its password.
fn structural(cx: &mut Ctx, store: &AccountStore, a: &Account) {
    let system = store.kind.is_system_like();
    if system && a.uid == Some(0) && a.user != "root" {
        cx.push(
            store,
            a,
            rules::FW_CRED_003,
            format!("account `{}` has UID 0", a.user),
            None,
        );
    }
    let empty_counts = !matches!(store.kind, StoreKind::ConfigKv | StoreKind::Mosquitto);
    if empty_counts && a.password == Password::Empty && (a.uid == Some(0) || a.has_login_shell()) {
        cx.push(
            store,
            a,
            rules::FW_CRED_001,
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
            rules::FW_CRED_006,
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
        rules::FW_CRED_007,
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
            rules::FW_CRED_005,
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
            rules::FW_CRED_002,
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

#[cfg(test)]
mod tests {
    use super::account_file_gaps;
    use crate::inventory::Inventory;
    use crate::inventory::boot::testutil::fs;
    use crate::inventory::config::{ValueContext, is_placeholder, is_role_template};
    use crate::unpack::{Chain, Unpacked};

    fn unpacked(filesystems: Vec<crate::unpack::Filesystem>) -> Unpacked {
        let filesystems = filesystems
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                f.chain = Chain::image("fw.bin").child("", 0x1000 * i as u64, "squashfs");
                f
            })
            .collect();
        Unpacked {
            image_name: "fw.bin".into(),
            image: bytes::Bytes::new(),
            containers: Vec::new(),
            gaps: Vec::new(),
            filesystems,
            payloads: Vec::new(),
            incidents: Vec::new(),
            unclaimed: None,
        }
    }

    const ROOT_X: &[u8] = b"root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1::/:/sbin/nologin\n";
    const SH: &[u8] = b"\x7fELF";

    /// `root:x:` with no usable shadow is a gap of *that* root filesystem,
    /// even when another root filesystem of the image is complete.
    #[test]
    fn a_deferred_root_password_is_a_gap_per_root_filesystem() {
        let complete = fs(
            &[
                ("/etc/passwd", ROOT_X),
                ("/etc/shadow", b"root:$1$abc$def:1:0:99999:7:::\n"),
                ("/bin/sh", SH),
            ],
            &[],
        );
        let no_shadow = fs(&[("/etc/passwd", ROOT_X), ("/bin/sh", SH)], &[]);
        let tmp_link = fs(
            &[("/etc/passwd", ROOT_X), ("/bin/sh", SH)],
            &[("/etc/shadow", "/tmp/shadow")],
        );
        // A link into /var that the image does hold: read, but the device
        // reads whatever is generated there at boot.
        let var_link = fs(
            &[
                ("/etc/passwd", ROOT_X),
                ("/var/etc/shadow", b"root:$1$abc$def:1:0:99999:7:::\n"),
                ("/bin/sh", SH),
            ],
            &[("/etc/shadow", "../var/etc/shadow")],
        );
        // A second root nested in the complete tree's archive, without shadow.
        let nested = fs(
            &[
                ("/etc/passwd", ROOT_X),
                ("/etc/shadow", b"root:!:1:0:99999:7:::\n"),
                ("/bin/sh", SH),
                ("/rootfs-b/etc/passwd", ROOT_X),
                ("/rootfs-b/bin/sh", SH),
            ],
            &[],
        );
        // A root filesystem without account files at all.
        let no_accounts = fs(&[("/etc/hosts", b"127.0.0.1 localhost\n"), ("/bin/sh", SH)], &[]);
        let u = unpacked(vec![complete, no_shadow, tmp_link, var_link, nested, no_accounts]);
        let inv = Inventory::build(&u);
        let gaps = account_file_gaps(&inv.account_stores);
        let want = [
            "fw.bin@0x1000:squashfs (root filesystem /): /etc/passwd keeps the password of `root` \
             in the shadow file (`x`), but there is no /etc/shadow: not checked",
            "fw.bin@0x2000:squashfs (root filesystem /): /etc/passwd keeps the password of `root` \
             in the shadow file (`x`), but /etc/shadow is a link to /tmp/shadow, which is only written at run time: \
             not checked",
            "fw.bin@0x3000:squashfs (root filesystem /): /etc/passwd keeps the password of `root` \
             in the shadow file (`x`), but /etc/shadow is a link to ../var/etc/shadow in run-time storage: the copy \
             in the image was read, but the device reads what is written there at boot: not checked",
            "fw.bin@0x4000:squashfs (root filesystem /rootfs-b): /etc/passwd keeps the password of \
             `root` in the shadow file (`x`), but there is no /rootfs-b/etc/shadow: not checked",
            "fw.bin@0x5000:squashfs (root filesystem /): no account in /etc/passwd, /etc/shadow or \
             /etc/master.passwd (missing or empty): its accounts are unknown",
        ];
        assert_eq!(gaps, want);
        // No system store at all: the one global gap.
        let web_only = unpacked(vec![fs(&[("/www/index.html", b"hi")], &[])]);
        let inv_empty = Inventory::build(&web_only);
        assert_eq!(
            account_file_gaps(&inv_empty.account_stores),
            ["no /etc/passwd or /etc/shadow was found in any filesystem"]
        );
    }

    /// A GBK configuration is decoded and its password reported; a
    /// configuration over the size cap and a binary one named as
    /// configuration are gaps of both families that read configuration.
    #[test]
    fn legacy_encoded_configs_are_read_and_unreadable_ones_are_gaps() {
        let (gbk, _, _) = encoding_rs::GBK.encode("[用户]\n用户名说明=管理员\nadmin_user=admin\nadmin_pwd=888888\n");
        let mut big = b"# generated\n".repeat(100_000);
        big.extend_from_slice(b"api_token=q8Zr2LmX0pT7vNc4Ws9K\n");
        let nvram = b"FLSH\x10\x00\0http_username=admin\0http_passwd=666666\0\xff\xff";
        let u = unpacked(vec![fs(
            &[
                ("/etc/passwd", b"root:!:0:0::/root:/bin/sh\n"),
                ("/bin/sh", SH),
                ("/etc/web.ini", &gbk),
                ("/etc/big.conf", &big),
                ("/etc/blob.cfg", b"\x01\x02\x03\xff"),
                ("/dev/nvram.default", nvram),
                ("/www/default.png", b"\x89PNG\r\n\x1a\n\0\0"),
            ],
            &[],
        )]);
        let inv = Inventory::build(&u);
        let rules = crate::rules::Rules::embedded().unwrap();
        let opts = crate::checks::CheckOptions {
            crack_time: std::time::Duration::from_secs(5),
            ..Default::default()
        };
        let r = crate::checks::run(&inv, &rules.checks, &opts).unwrap();
        let plaintext: Vec<(&str, Option<usize>)> = r
            .findings
            .iter()
            .filter(|f| f.finding.rule == crate::rules::FW_CRED_012)
            .map(|f| (f.finding.path.as_str(), f.finding.line))
            .collect();
        assert_eq!(plaintext, [("/dev/nvram.default", Some(4)), ("/etc/web.ini", Some(4))]);
        let gaps = |family: &str| {
            r.coverage
                .iter()
                .find(|c| c.family == family)
                .map(|c| c.gaps.clone())
                .unwrap_or_default()
        };
        for family in ["credentials", "secrets"] {
            let g = gaps(family);
            let mentions = |p: &str| g.iter().filter(|x| x.starts_with(p)).count();
            assert_eq!(
                mentions(
                    "/etc/big.conf in fw.bin@0x0:squashfs: configuration file not analysed: 1200031 bytes, over the 1 MiB cap"
                ),
                1,
                "{family}: {g:?}"
            );
            assert_eq!(
                mentions("/etc/blob.cfg in fw.bin@0x0:squashfs: configuration file not analysed: binary content"),
                1,
                "{family}: {g:?}"
            );
            assert_eq!(mentions("/www/default.png"), 0, "{family}: {g:?}");
        }
    }

    /// Every password and user name of the default-credential dictionary is
    /// something a device really ships, so none may be dismissed as a
    /// placeholder where a login is expected. The empty password is the
    /// one exception: an empty configuration value means "not set" (an
    /// empty password field of an account store is FW-CRED-001's).
    #[test]
    fn no_dictionary_entry_is_a_placeholder_in_a_login_context() {
        let rules = crate::rules::Rules::embedded().unwrap();
        let d = &rules.checks.dictionary;
        let values = d
            .credentials
            .iter()
            .flat_map(|c| [c.user.as_str(), c.password.as_str()])
            .chain(d.passwords.iter().map(|p| p.password.as_str()))
            .filter(|v| !v.is_empty());
        for c in &d.credentials {
            assert!(!is_role_template(&c.user, &c.password), "{}:{}", c.user, c.password);
        }
        assert!(is_role_template("user", "password"));
        let mut n = 0;
        for v in values {
            n += 1;
            assert!(!is_placeholder(v, ValueContext::Login), "dictionary entry `{v}`");
        }
        assert!(n > 100, "the dictionary was read ({n} values)");
        for v in ["888888", "666666", "0000", "1111"] {
            assert!(
                d.credentials.iter().any(|c| c.password == v),
                "{v} is a dictionary password"
            );
        }
    }
}
