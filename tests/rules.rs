//! Every rule's fixtures, run through the whole pipeline, plus meta checks
//! on the rule set (IDs, docs, fixtures, clause references).

use std::collections::BTreeMap;

use fwcert::checks::rule::{Expect, ExpectedFinding, Fixture, Wrap};
use fwcert::samples::{Entry, elf_from_props, fake_busybox, minimal_elf, squashfs};
use fwcert::unpack::formats::squashfs::GZIP_CODEC;
use std::sync::Arc;

use fwcert::{Rules, ScanOptions, Scanner, scan_bytes};

fn image_for(fx: &Fixture) -> Vec<u8> {
    let mut files: BTreeMap<String, Vec<u8>> = fx
        .files
        .iter()
        .map(|(p, c)| (p.clone(), c.as_bytes().to_vec()))
        .collect();
    for (p, text) in &fx.elf {
        files.insert(p.clone(), minimal_elf(text.as_bytes()));
    }
    for (p, props) in &fx.elf_props {
        let text = fx.elf.get(p).map(String::as_bytes).unwrap_or_default();
        let elf = elf_from_props(props, text).unwrap_or_else(|e| panic!("fixture {}: {p}: {e}", fx.name));
        files.insert(p.clone(), elf);
    }
    if let Some(b) = &fx.busybox {
        let applets: Vec<&str> = b.applets.iter().map(String::as_str).collect();
        files.insert(b.path.clone(), fake_busybox("1.30.1", &applets));
    }
    let links = &fx.links;
    let mut dirs = std::collections::BTreeSet::new();
    for p in files.keys().chain(links.keys()) {
        let rel = p.trim_start_matches('/');
        if let Some((d, _)) = rel.rsplit_once('/') {
            dirs.insert(d.to_string());
        }
    }
    // A fixture's own modes and owners (permissions rules), else defaults.
    let mode = |p: &str, default: u16| {
        fx.modes
            .get(&format!("/{p}"))
            .map(|m| u16::from_str_radix(m, 8).expect("fixture modes are octal"))
            .unwrap_or(default)
    };
    let owner = |p: &str| {
        fx.owners.get(&format!("/{p}")).map(|o| {
            let (u, g) = o.split_once(':').expect("fixture owners are uid:gid");
            (u.parse::<u32>().expect("uid"), g.parse::<u32>().expect("gid"))
        })
    };
    let mut entries: Vec<Entry> = dirs
        .iter()
        .map(|d| match owner(d) {
            Some((uid, gid)) => Entry::OwnedDir {
                path: d,
                mode: mode(d, 0o755),
                uid,
                gid,
            },
            None => Entry::Dir {
                path: d,
                mode: mode(d, 0o755),
            },
        })
        .collect();
    for (p, c) in &files {
        let path = p.trim_start_matches('/');
        let mode = mode(path, if c.starts_with(b"\x7fELF") { 0o755 } else { 0o644 });
        entries.push(match owner(path) {
            Some((uid, gid)) => Entry::OwnedFile {
                path,
                mode,
                uid,
                gid,
                data: c.clone(),
            },
            None => Entry::File {
                path,
                mode,
                data: c.clone(),
            },
        });
    }
    for (p, t) in links {
        entries.push(Entry::Link {
            path: p.trim_start_matches('/'),
            target: t,
        });
    }
    let image = squashfs(&entries, &GZIP_CODEC);
    match fx.wrap {
        None => image,
        Some(Wrap::Uimage) => fwcert::unpack::formats::uimage::build("rootfs", 2, 0, 1, &image),
        Some(Wrap::FitSigned) => fwcert::unpack::formats::fit::build(&[("rootfs", &image)]),
        Some(Wrap::FitSignedKeyRequired) | Some(Wrap::FitSignedKeyOptional) => {
            use fwcert::unpack::formats::fit;
            let required = (fx.wrap == Some(Wrap::FitSignedKeyRequired)).then_some("conf");
            [fit::build_control("dev", required), fit::build(&[("rootfs", &image)])].concat()
        }
    }
}

/// Scan a fixture's image as the fixture says (with a lab's YARA rules for
/// FW-YARA-000's).
fn scan_fixture(rules: &Arc<Rules>, fx: &Fixture) -> fwcert::Report {
    let img = image_for(fx);
    // A fixture's crackable hash falls to an IoT default within
    // milliseconds; an uncrackable SHA-512-crypt one would try all
    // 10,000 common passwords (seconds each in a debug build). Running
    // out of budget is a coverage gap, which no fixture's rule depends on.
    let mut opts = ScanOptions::default();
    opts.checks.crack_time = std::time::Duration::from_secs(2);
    let rules = if fx.yara.is_empty() {
        rules.clone()
    } else {
        let custom: Vec<(String, String)> = fx.yara.iter().map(|(n, s)| (n.clone(), s.clone())).collect();
        Arc::new(Rules::with_custom_yara(&custom).unwrap())
    };
    Scanner::new(rules, opts)
        .unwrap()
        .scan_bytes(img.into(), &fx.name)
        .unwrap()
}

/// Every finding a fail fixture gives, of its rule or any other, says
/// where in its file the evidence is: a line or a byte offset.
#[test]
fn every_finding_of_a_fail_fixture_has_a_line_or_an_offset() {
    let rules = Arc::new(Rules::embedded().unwrap());
    let mut missing = Vec::new();
    let mut seen = 0;
    for rule in rules.checks.rules.values() {
        for fx in rule.fixtures.iter().filter(|f| f.expect == Expect::Fail) {
            for f in scan_fixture(&rules, fx).findings {
                seen += 1;
                if f.line.is_none() && f.offset.is_none() {
                    missing.push(format!("{} fixture {}: {} at {}", rule.id, fx.name, f.id, f.path));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "findings without a location:\n{}",
        missing.join("\n")
    );
    assert!(seen >= 100, "only {seen} findings");
}

#[test]
fn every_rule_fixture_gives_its_expected_result() {
    let rules = Arc::new(Rules::embedded().unwrap());
    let mut ran = 0;
    let mut wrong = Vec::new();
    for rule in rules.checks.rules.values() {
        for fx in &rule.fixtures {
            let r = scan_fixture(&rules, fx);
            let fired = r.findings.iter().any(|f| f.id == rule.id);
            match fx.expect {
                Expect::Fail if !fired => wrong.push(format!("{} fixture {} should fire", rule.id, fx.name)),
                Expect::Pass if fired => wrong.push(format!(
                    "{} fixture {} must stay quiet: {:?}",
                    rule.id, fx.name, r.findings
                )),
                _ => {}
            }
            if fx.expect == Expect::Fail {
                // Where the rule's findings are, exactly: the same files at
                // the same lines or offsets, no more and no fewer.
                let mut got: Vec<ExpectedFinding> = r
                    .findings
                    .iter()
                    .filter(|f| f.id == rule.id)
                    .map(|f| ExpectedFinding {
                        path: f.path.clone(),
                        line: f.line,
                        offset: f.offset,
                    })
                    .collect();
                got.sort();
                let mut want = fx.findings.clone();
                want.sort();
                if got != want {
                    wrong.push(format!(
                        "{} fixture {}: findings at {got:?}, the fixture expects {want:?}",
                        rule.id, fx.name
                    ));
                }
            }
            ran += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(ran >= 10, "only {ran} fixtures ran");
}

#[test]
fn rule_set_meta() {
    let rules = Rules::embedded().unwrap();
    assert!(!rules.checks.rules.is_empty());
    for r in rules.checks.rules.values() {
        let (fam, num) = r.id.trim_start_matches("FW-").split_once('-').unwrap();
        assert!(
            [
                "CRED", "SECRET", "SVC", "DEBUG", "COMP", "UPD", "BOOT", "HARD", "INPUT", "CRYPTO", "PERM", "PRIV",
                "YARA"
            ]
            .contains(&fam),
            "{}",
            r.id
        );
        assert!(num.len() == 3 && num.chars().all(|c| c.is_ascii_digit()), "{}", r.id);
        assert!(
            r.name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{} name is kebab-case",
            r.id
        );
        for s in [
            &r.title,
            &r.title_zh,
            &r.doc.what,
            &r.doc.why,
            &r.doc.example,
            &r.doc.fix,
        ] {
            assert!(!s.trim().is_empty(), "{} has every doc section", r.id);
        }
        assert!(
            r.fixtures.iter().any(|f| f.expect == Expect::Pass),
            "{} has a pass fixture",
            r.id
        );
        assert!(
            r.fixtures.iter().any(|f| f.expect == Expect::Fail),
            "{} has a fail fixture",
            r.id
        );
        // A fail fixture says where its findings are; a pass fixture has none.
        for fx in &r.fixtures {
            match fx.expect {
                Expect::Fail => assert!(
                    !fx.findings.is_empty(),
                    "{} fixture {} lists its expected findings ([[fixture.finding]])",
                    r.id,
                    fx.name
                ),
                Expect::Pass => assert!(
                    fx.findings.is_empty(),
                    "{} pass fixture {} expects no finding",
                    r.id,
                    fx.name
                ),
            }
            for e in &fx.findings {
                assert!(
                    e.line.is_some() != e.offset.is_some(),
                    "{} fixture {}: {} has a line or an offset, not both",
                    r.id,
                    fx.name,
                    e.path
                );
                assert!(
                    fx.files.contains_key(&e.path)
                        || fx.elf.contains_key(&e.path)
                        || fx.elf_props.contains_key(&e.path)
                        || fx.busybox.as_ref().is_some_and(|b| b.path == e.path)
                        || fx.modes.contains_key(&e.path)
                        || fx.owners.contains_key(&e.path)
                        || e.path == "image",
                    "{} fixture {}: {} is one of the fixture's files (or a directory it sets a mode or owner of)",
                    r.id,
                    fx.name,
                    e.path
                );
            }
        }
        // A lab's YARA rules declare their controls in their own meta.
        assert!(
            !r.controls.is_empty() || r.id == fwcert::checks::yara::CUSTOM_RULE,
            "{} feeds a control",
            r.id
        );
        if !fx_yara_only_for_custom(r) {
            panic!(
                "{}: only {} fixtures may bring custom YARA rules",
                r.id,
                fwcert::checks::yara::CUSTOM_RULE
            );
        }
        // Every control a rule is grouped under groups at least one clause.
        for c in &r.controls {
            let used = rules
                .catalog
                .standards
                .values()
                .any(|s| s.clauses.iter().any(|q| q.controls.contains(c)));
            assert!(used, "{} is grouped under {c}, which groups no clause", r.id);
        }
        // A rule whose findings can fail something refutes at least one
        // test unit, named explicitly: otherwise it decides nothing.
        if r.severity > fwcert::checks::rule::Severity::Info && r.id != fwcert::checks::yara::CUSTOM_RULE {
            let refutes = rules.catalog.standards.values().any(|s| {
                s.clauses
                    .iter()
                    .any(|q| q.units.iter().any(|u| u.rules.contains(&r.id)))
            });
            assert!(refutes, "{} refutes no test unit of any standard", r.id);
        }
    }
}

/// Fixtures run fwcert's own rules; only FW-YARA-000's bring a lab's.
fn fx_yara_only_for_custom(r: &fwcert::checks::rule::Rule) -> bool {
    r.id == fwcert::checks::yara::CUSTOM_RULE || r.fixtures.iter().all(|f| f.yara.is_empty())
}

#[test]
fn yara_rules_feed_rules_that_declare_the_engine() {
    use fwcert::checks::rule::Engine;
    let rules = Rules::embedded().unwrap();
    let fed = rules.checks.yara.fed_rules();
    for r in rules.checks.rules.values() {
        let yara = r.engine == Engine::Yara;
        assert_eq!(
            fed.contains(r.id.as_str()),
            yara && r.id != fwcert::checks::yara::CUSTOM_RULE,
            "{}",
            r.id
        );
        assert!(!yara || r.patterns.is_empty(), "{}", r.id);
    }
    for id in ["FW-CRED-015", "FW-DEBUG-008"] {
        assert!(fed.contains(id), "{id} is fed by a YARA rule");
    }
    assert!(!rules.checks.yara.has_custom());
}

#[test]
fn rule_list_is_stable() {
    let rules = Rules::embedded().unwrap();
    let listing: String = rules
        .checks
        .rules
        .values()
        .map(|r| format!("{} {} {} {}\n", r.id, r.name, r.severity.as_str(), r.controls.join(",")))
        .collect();
    insta::assert_snapshot!("rule-list", listing);
}

#[test]
fn dictionary_entries_cite_declared_sources() {
    let rules = Rules::embedded().unwrap();
    let d = &rules.checks.dictionary;
    assert!(d.credentials.len() > 50);
    assert!(d.credentials.iter().all(|c| !c.sources.is_empty()));
    assert!(d.credentials.iter().any(|c| c.user == "root" && c.password == "xc3511"));
}

/// The common-password list is a real public list, whole and in its order,
/// with its source recorded.
#[test]
fn common_password_list_loads_whole_and_in_order() {
    let rules = Rules::embedded().unwrap();
    let c = &rules.checks.dictionary.common;
    assert_eq!(c.passwords.len(), 10_000);
    let distinct: std::collections::BTreeSet<&String> = c.passwords.iter().collect();
    assert_eq!(distinct.len(), 10_000);
    assert_eq!(c.id, "seclists-xato-top10000");
    assert_eq!(
        c.reference,
        "danielmiessler/SecLists @ 74d9d3259d82c441c1217104cb7debd5912178b6 : \
         Passwords/Common-Credentials/10-million-password-list-top-10000.txt"
    );
    assert!(c.licence.contains("MIT") && c.origin.contains("Burnett"), "{c:?}");
    // A few entries at known lines of the source file.
    for (line, pw) in [
        (1, "123456"),
        (2, "password"),
        (10, "dragon"),
        (106, "secret"),
        (1012, "admin"),
        (5001, "123455"),
        (9999, "brook"),
        (10_000, "brady"),
    ] {
        assert_eq!(c.passwords[line - 1], pw, "line {line}");
    }
    // The common list comes after every IoT default, in its own order.
    let d = &rules.checks.dictionary;
    let all = d.candidates_for("root");
    let first_common_only = all.iter().position(|x| x.sources == [c.id.as_str()]).unwrap();
    assert!(all[..first_common_only].iter().all(|x| x.sources != [c.id.as_str()]));
    assert!(all[first_common_only..].iter().all(|x| x.sources == [c.id.as_str()]));
    let order: Vec<&str> = c
        .passwords
        .iter()
        .map(String::as_str)
        .filter(|p| all[first_common_only..].iter().any(|x| x.password == *p))
        .collect();
    let tried: Vec<&str> = all[first_common_only..].iter().map(|x| x.password).collect();
    assert_eq!(tried, order);
    assert_eq!(all.len(), d.password_count());
    assert_eq!(d.password_count(), 10_100);
    // Pairs for the user come first; a default that is also a common
    // password cites both lists.
    let paired = all.iter().take_while(|x| x.paired_with_user).count();
    assert!(paired > 10 && all[paired..].iter().all(|x| !x.paired_with_user));
    let p123456 = all.iter().find(|x| x.password == "123456").unwrap();
    assert!(p123456.sources.contains(&"mirai-scanner") && p123456.sources.contains(&c.id.as_str()));
}

/// Several users sharing one hash: every user's pairs before anything else.
#[test]
fn shared_hash_tries_every_users_pairs_first() {
    let rules = Rules::embedded().unwrap();
    let d = &rules.checks.dictionary;
    let both = d.candidates_for_users(&["admin", "root"]);
    let paired = both.iter().take_while(|x| x.paired_with_user).count();
    for user in ["admin", "root"] {
        for c in d.credentials.iter().filter(|c| c.user == user) {
            assert!(
                both[..paired].iter().any(|x| x.password == c.password),
                "{user}/{} among the first {paired}",
                c.password
            );
        }
    }
    assert_eq!(both.len(), d.password_count());
    let blank: Vec<&str> = d.candidates_for_users(&[]).iter().map(|x| x.password).collect();
    let blank_user: Vec<&str> = d.candidates_for("").iter().map(|x| x.password).collect();
    assert_eq!(blank, blank_user);
}

/// The six generic passwords that were the FACT_core corpus's answers are
/// no longer cited from a corpus: each is tried because a public list has
/// it. No source is a test corpus.
#[test]
fn corpus_answers_are_not_sources() {
    let rules = Rules::embedded().unwrap();
    let d = &rules.checks.dictionary;
    for s in &d.sources {
        assert_ne!(s.kind, "corpus-fact", "{}", s.id);
        assert!(!s.reference.contains("corpus"), "{}: {}", s.id, s.reference);
    }
    assert!(d.passwords.is_empty(), "no password-only entries remain");
    let all = d.candidates_for("");
    for pw in ["123456", "dragon", "admin", "root", "1234", "secret"] {
        let c = all.iter().find(|c| c.password == pw).unwrap();
        assert!(!c.sources.is_empty());
        assert!(
            c.sources.iter().all(|s| !s.contains("fact") && !s.contains("corpus")),
            "{pw}: {:?}",
            c.sources
        );
    }
    // root/sohoadmin (the TP-Link corpus firmware's answer) is cited from a
    // public write-up, not from the corpus.
    let soho = d
        .credentials
        .iter()
        .find(|c| c.user == "root" && c.password == "sohoadmin")
        .unwrap();
    assert_eq!(soho.sources, ["notamaan-tplink-wr841n-v9"]);
    let src = d.sources.iter().find(|s| s.id == soho.sources[0]).unwrap();
    assert!(
        src.reference
            .starts_with("amaan211/notamaan.xyz @ 2f9f83d3f030a62f00b29a9dd73d60748fe51596")
    );
}

/// The loader refuses a corpus as a source, an uncited source and a
/// truncated common list.
#[test]
fn dictionary_loader_refuses_dishonest_data() {
    use fwcert::checks::dictionary::{CommonList, Dictionary};
    let dict = |kind: &str, reference: &str, cite: bool| {
        format!(
            "[dictionary]\nname = \"t\"\nversion = \"1\"\ndescription = \"t\"\n\
             [[source]]\nid = \"s\"\ntitle = \"t\"\nreference = \"{reference}\"\nkind = \"{kind}\"\n\
             [[credential]]\nuser = \"root\"\npassword = \"x\"\nsources = [{}]\n",
            if cite { "\"s\"" } else { "" }
        )
    };
    assert!(Dictionary::parse(&dict("vendor-default", "a/b @ c : d", true)).is_ok());
    let e = Dictionary::parse(&dict("corpus-fact", "a/b @ c : d", true)).unwrap_err();
    assert!(e.contains("corpus"), "{e}");
    let e = Dictionary::parse(&dict("vendor-default", "fwcert-corpus: README.md", true)).unwrap_err();
    assert!(e.contains("corpus"), "{e}");
    let e = Dictionary::parse(&dict("vendor-default", "a/b @ c : d", false)).unwrap_err();
    assert!(e.contains("cited by no entry"), "{e}");
    let list = |text: &str, entries: usize, chars: usize| {
        format!(
            "[list]\nid = \"l\"\ntitle = \"t\"\nreference = \"a/b @ c : d\"\norigin = \"o\"\n\
             licence = \"MIT\"\nkind = \"common-password-list\"\nentries = {entries}\n\
             source_chars = {chars}\npasswords = '''\n{text}'''\n"
        )
    };
    let ok = CommonList::parse(&list("ab\nc\n", 2, 5)).unwrap();
    assert_eq!(ok.passwords, ["ab", "c"]);
    for (text, entries, chars) in [("ab\n", 2, 3), ("ab\nc\n", 2, 6), ("ab\nc", 2, 4), ("ab\n\nc\n", 3, 6)] {
        assert!(CommonList::parse(&list(text, entries, chars)).is_err(), "{text:?}");
    }
}

/// A rule's fixture by name, and its image.
fn fixture_image(rule: &str, name: &str) -> (Fixture, Vec<u8>) {
    let rules = Rules::embedded().unwrap();
    let fx = rules.checks.rules[rule]
        .fixtures
        .iter()
        .find(|f| f.name == name)
        .unwrap()
        .clone();
    let img = image_for(&fx);
    (fx, img)
}

/// A file the YARA rules could not look at is a coverage gap of the
/// families they feed, so their clauses are INCONCLUSIVE, never PASS.
#[test]
fn yara_limits_are_coverage_gaps() {
    let (fx, img) = fixture_image("FW-DEBUG-008", "telnetd-l-bin-sh-in-a-daemon");
    let scan = |set: &dyn Fn(&mut ScanOptions)| {
        let mut opts = ScanOptions::default();
        set(&mut opts);
        scan_bytes(img.clone().into(), &fx.name, &opts).unwrap()
    };
    let full = scan(&|_| {});
    assert!(full.findings.iter().any(|f| f.id == "FW-DEBUG-008"));
    for (what, report) in [
        ("over the YARA scan limit", scan(&|o| o.checks.yara_max_file = 8)),
        ("time budget", scan(&|o| o.checks.yara_time = std::time::Duration::ZERO)),
    ] {
        assert!(report.findings.iter().all(|f| f.id != "FW-DEBUG-008"), "{what}");
        for family in ["credentials", "debug"] {
            let c = report.checks.iter().find(|c| c.family == family).unwrap();
            assert!(
                !c.complete && c.reasons.iter().any(|r| r.contains(what)),
                "{family}: {:?}",
                c.reasons
            );
        }
        // Every unit the YARA-fed rule refutes is left undecided, not passed.
        let units: Vec<_> = report
            .requirements
            .iter()
            .flat_map(|q| q.units.iter())
            .filter(|u| u.rules.iter().any(|r| r == "FW-DEBUG-008"))
            .collect();
        assert!(!units.is_empty());
        for u in units {
            assert_eq!(u.verdict, fwcert::Verdict::Inconclusive, "{what}: {:?}", u.reasons);
        }
    }
}

/// A YARA finding names the file, its container chain, the offset and the
/// file's hash; a password it quotes is a secret `--redact-secrets` hides.
#[test]
fn yara_findings_carry_evidence_and_redactable_secrets() {
    let (fx, img) = fixture_image("FW-CRED-015", "xiongmai-password-in-a-program");
    let scan = |redact_secrets| {
        let opts = ScanOptions {
            redact_secrets,
            ..ScanOptions::default()
        };
        let r = scan_bytes(img.clone().into(), &fx.name, &opts).unwrap();
        r.findings.into_iter().find(|f| f.id == "FW-CRED-015").unwrap()
    };
    let plain = scan(false);
    assert_eq!(plain.path, "/usr/bin/dvrhelper");
    assert!(
        plain.container.to_string().ends_with(":squashfs"),
        "{}",
        plain.container
    );
    // minimal_elf puts the strings after 116 bytes of headers: "root\0" then the password.
    assert_eq!((plain.line, plain.offset), (None, Some(116 + 5)));
    assert!(plain.sha256.is_some());
    assert!(plain.evidence.contains("\"xc3511\""), "{}", plain.evidence);
    assert_eq!(plain.secret.as_deref(), Some("xc3511"));
    let red = scan(true);
    assert!(
        !red.evidence.contains("xc3511") && red.evidence.contains("[REDACTED]"),
        "{}",
        red.evidence
    );
    assert_eq!(red.fingerprint, plain.fingerprint);
    assert_eq!(red.secret_fingerprint, plain.secret_fingerprint);
    assert!(plain.secret_fingerprint.is_some());
}

/// FW-SVC-011 calls a file a host key only once it parses as one: the
/// finding carries the key's fingerprint (the same as FW-SECRET-001's for
/// the same key), and a file shaped like a key that does not parse is a
/// coverage gap of the services family, not a finding; a note is nothing.
#[test]
fn host_keys_are_parsed_before_they_are_reported() {
    let rules = Arc::new(Rules::embedded().unwrap());
    let fixture = |name: &str| {
        rules.checks.rules["FW-SVC-011"]
            .fixtures
            .iter()
            .find(|f| f.name == name)
            .unwrap()
            .clone()
    };
    let r = scan_fixture(&rules, &fixture("shipped-openssh-key"));
    let host = r.findings.iter().find(|f| f.id == "FW-SVC-011").unwrap();
    let secret = r.findings.iter().find(|f| f.id == "FW-SECRET-001").unwrap();
    assert!(
        host.secret_fingerprint
            .as_deref()
            .is_some_and(|s| s.starts_with("sha256:"))
    );
    assert_eq!(host.secret_fingerprint, secret.secret_fingerprint);
    assert!(host.evidence.contains("Ed25519"), "{}", host.evidence);

    let r = scan_fixture(&rules, &fixture("shipped-dropbear-key"));
    let host = r.findings.iter().find(|f| f.id == "FW-SVC-011").unwrap();
    assert!(host.secret_fingerprint.is_some());
    assert!(
        host.evidence.contains("RSA") && host.evidence.contains("dropbear"),
        "{}",
        host.evidence
    );

    let r = scan_fixture(&rules, &fixture("named-like-a-key-but-not-one"));
    let services = r.checks.iter().find(|c| c.family == "services").unwrap();
    assert!(!services.complete);
    let gaps: Vec<&String> = services.reasons.iter().filter(|g| g.contains("host key")).collect();
    assert_eq!(gaps.len(), 1, "{:?}", services.reasons);
    assert!(gaps[0].contains("/etc/dropbear/dropbear_rsa_host_key"), "{}", gaps[0]);
}

/// A private key whose size is hidden by its encryption is not called
/// weak or strong: FW-CRYPTO-005 stays quiet, the crypto family names the
/// key as a coverage gap, and the EN 303 645 unit on weak keys is
/// INCONCLUSIVE rather than PASS.
#[test]
fn a_key_whose_size_is_hidden_is_a_crypto_gap() {
    let (fx, img) = fixture_image("FW-CRYPTO-005", "encrypted-key-of-unknown-size");
    let report = scan_bytes(img.into(), &fx.name, &ScanOptions::default()).unwrap();
    assert!(report.findings.iter().all(|f| f.id != "FW-CRYPTO-005"));
    let crypto = report.checks.iter().find(|c| c.family == "crypto").unwrap();
    assert!(!crypto.complete);
    assert_eq!(
        crypto.reasons,
        [format!(
            "/etc/ssl/private/server.key:1 in {}@0x0:squashfs: RSA private key (PEM legacy-encrypted) encrypted with AES-128-CBC, so its algorithm or size is not visible; whether it is weak is unknown",
            fx.name
        )]
    );
    let unit = report
        .requirements
        .iter()
        .flat_map(|q| q.units.iter())
        .find(|u| u.id == "5.5-1-2 b)")
        .unwrap();
    assert_eq!(unit.verdict, fwcert::Verdict::Inconclusive, "{:?}", unit.reasons);
}
