//! Every rule's fixtures, run through the whole pipeline, plus meta checks
//! on the rule set (IDs, docs, fixtures, clause references).

use std::collections::BTreeMap;

use fwcert::checks::RuleSet;
use fwcert::checks::rule::{Expect, Fixture};
use fwcert::samples::{Entry, fake_busybox, minimal_elf, squashfs};
use fwcert::unpack::formats::squashfs::GZIP_CODEC;
use fwcert::{ScanOptions, scan_bytes};

fn image_for(fx: &Fixture) -> Vec<u8> {
    let mut files: BTreeMap<String, Vec<u8>> = fx
        .files
        .iter()
        .map(|(p, c)| (p.clone(), c.as_bytes().to_vec()))
        .collect();
    for (p, text) in &fx.elf {
        files.insert(p.clone(), minimal_elf(text.as_bytes()));
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
    let mut entries: Vec<Entry> = dirs.iter().map(|d| Entry::Dir { path: d, mode: 0o755 }).collect();
    for (p, c) in &files {
        entries.push(Entry::File {
            path: p.trim_start_matches('/'),
            mode: if c.starts_with(b"\x7fELF") { 0o755 } else { 0o644 },
            data: c.clone(),
        });
    }
    for (p, t) in links {
        entries.push(Entry::Link {
            path: p.trim_start_matches('/'),
            target: t,
        });
    }
    squashfs(&entries, &GZIP_CODEC)
}

#[test]
fn every_rule_fixture_gives_its_expected_result() {
    let rules = RuleSet::embedded().unwrap();
    let mut ran = 0;
    let mut wrong = Vec::new();
    for rule in rules.rules.values() {
        for fx in &rule.fixtures {
            let img = image_for(fx);
            let opts = ScanOptions {
                custom_yara: fx.yara.iter().map(|(n, s)| (n.clone(), s.clone())).collect(),
                ..ScanOptions::default()
            };
            let r = scan_bytes(img.into(), &fx.name, &opts).unwrap();
            let fired = r.findings.iter().any(|f| f.id == rule.id);
            match fx.expect {
                Expect::Fail if !fired => wrong.push(format!("{} fixture {} should fire", rule.id, fx.name)),
                Expect::Pass if fired => wrong.push(format!(
                    "{} fixture {} must stay quiet: {:?}",
                    rule.id, fx.name, r.findings
                )),
                _ => {}
            }
            ran += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(ran >= 10, "only {ran} fixtures ran");
}

#[test]
fn rule_set_meta() {
    let rules = RuleSet::embedded().unwrap();
    assert!(!rules.rules.is_empty());
    for r in rules.rules.values() {
        let (fam, num) = r.id.trim_start_matches("FW-").split_once('-').unwrap();
        assert!(
            [
                "CRED", "SECRET", "SVC", "DEBUG", "COMP", "UPD", "BOOT", "HARD", "CRYPTO", "PERM", "PRIV", "YARA"
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
        // Every control a rule feeds is reachable from at least one clause.
        for c in &r.controls {
            let used = rules
                .catalog
                .standards
                .values()
                .any(|s| s.requirements.iter().any(|q| q.controls.contains(c)));
            assert!(used, "{} feeds {c}, which no clause maps", r.id);
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
    let rules = RuleSet::embedded().unwrap();
    let fed = rules.yara.fed_rules();
    for r in rules.rules.values() {
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
    assert!(!rules.yara.has_custom());
}

#[test]
fn rule_list_is_stable() {
    let rules = RuleSet::embedded().unwrap();
    let listing: String = rules
        .rules
        .values()
        .map(|r| format!("{} {} {} {}\n", r.id, r.name, r.severity.as_str(), r.controls.join(",")))
        .collect();
    insta::assert_snapshot!("rule-list", listing);
}

#[test]
fn dictionary_entries_cite_declared_sources() {
    let rules = RuleSet::embedded().unwrap();
    let d = &rules.dictionary;
    assert!(d.credentials.len() > 50);
    assert!(d.credentials.iter().all(|c| !c.sources.is_empty()));
    assert!(d.credentials.iter().any(|c| c.user == "root" && c.password == "xc3511"));
}

/// A rule's fixture by name, and its image.
fn fixture_image(rule: &str, name: &str) -> (Fixture, Vec<u8>) {
    let rules = RuleSet::embedded().unwrap();
    let fx = rules.rules[rule]
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
        let q = report
            .requirements
            .iter()
            .find(|q| q.controls.iter().any(|c| c == "DEBUG-INTERFACES-DISABLED"))
            .unwrap();
        assert_ne!(q.verdict, fwcert::Verdict::Pass, "{what}: {:?}", q.reasons);
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
