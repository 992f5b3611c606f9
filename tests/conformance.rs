//! The conformance model on the embedded standards data: each mis-mapping
//! the review of wave 1 found, with the corrected result; the samples'
//! exact verdicts; declarations; exit codes. (The decision rules
//! themselves are unit-tested in `src/standards/decide.rs`.)

use std::collections::{BTreeMap, BTreeSet};

use fwcert::checks::observed::{Observations, ObservedInterface, ObservedService};
use fwcert::checks::rule::{Category, Severity};
use fwcert::checks::{CheckedFinding, Coverage, FAMILIES, Finding};
use fwcert::standards::{Assessment, Declaration, Exit, Scope, Verdict};
use fwcert::{Rules, ScanOptions, scan_bytes};

fn rules() -> Rules {
    Rules::embedded().unwrap()
}

/// A stable, high-severity finding of `rule`.
fn finding(rule: &str) -> CheckedFinding {
    CheckedFinding {
        finding: Finding {
            rule: rule.into(),
            path: "/etc/x".into(),
            line: Some(1),
            ..Finding::default()
        },
        name: String::new(),
        family: String::new(),
        category: Category::Credentials,
        title: String::new(),
        severity: Severity::High,
        controls: Vec::new(),
        fingerprint: format!("fp-{rule}"),
        preview: false,
    }
}

/// Clause verdicts (`standard clause` → (verdict, firmware verdict)) of
/// every standard, with findings of `fired`, complete coverage, `observed`
/// and an optional declaration.
fn decide(
    rules: &Rules,
    fired: &[&str],
    observed: &Observations,
    declaration: Option<&str>,
) -> (BTreeMap<String, (Verdict, Option<Verdict>)>, Exit) {
    let findings: Vec<CheckedFinding> = fired.iter().map(|r| finding(r)).collect();
    let coverage: Vec<Coverage> = FAMILIES
        .iter()
        .map(|f| Coverage {
            family: f.name,
            gaps: Vec::new(),
        })
        .collect();
    let declaration = declaration.map(|t| Declaration::parse("d.toml", t, &rules.catalog).unwrap());
    let selected: Vec<String> = rules.catalog.standards.keys().cloned().collect();
    let v = rules.catalog.evaluate(
        &selected,
        &Assessment {
            findings: &findings,
            coverage: &coverage,
            unpack_gaps: &[],
            observed,
            declaration: declaration.as_ref(),
            fail_on: None,
        },
    );
    let out = v
        .clauses
        .iter()
        .map(|c| {
            (
                format!("{} {}", c.standard.id(), c.clause.key()),
                (c.verdict, c.firmware_verdict),
            )
        })
        .collect();
    (out, v.gate.exit)
}

/// The clauses a finding of `rule` alone FAILs, across every standard.
fn failed_by(rules: &Rules, rule: &str) -> BTreeSet<String> {
    decide(rules, &[rule], &Observations::default(), None)
        .0
        .into_iter()
        .filter(|(_, (v, _))| *v == Verdict::Fail)
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn ssh_root_password_login_fails_no_password_or_lockout_clause() {
    let r = rules();
    let failed = failed_by(&r, "FW-SVC-010");
    for clause in [
        "etsi-en-303-645 5.1-4",
        "en-18031 1:AUM-4",
        "en-18031 2:AUM-4",
        "en-18031 3:AUM-4",
        "en-18031 1:AUM-5-2",
        "en-18031 2:AUM-5-2",
        "en-18031 3:AUM-5-2",
        "iec-62443-4-2 CR 1.7",
        "iec-62443-4-2 CR 1.11",
        "gb-t-41387-2022 6.3.6 c)",
    ] {
        assert!(!failed.contains(clause), "{clause} is failed by FW-SVC-010");
    }
    // It is an insecure default, and only that.
    assert_eq!(failed, BTreeSet::from(["owasp-iot-top10-2018 I9".to_string()]));
}

#[test]
fn a_running_service_fails_neither_disclosure_nor_code_minimisation() {
    let r = rules();
    for rule in fwcert::rules::ALL
        .iter()
        .filter(|id| id.starts_with("FW-SVC-") && **id != "FW-SVC-008")
    {
        let failed = failed_by(&r, rule);
        assert!(!failed.contains("etsi-en-303-645 5.6-2"), "{rule} fails 5.6-2");
        assert!(!failed.contains("etsi-en-303-645 5.6-6"), "{rule} fails 5.6-6");
    }
    // SNMP's public community discloses device information unauthenticated.
    assert!(failed_by(&r, "FW-SVC-008").contains("etsi-en-303-645 5.6-2"));
    // 5.6-6 (code minimised) is a design and process question.
    let s = &r.catalog.standards["etsi-en-303-645"];
    let c = s.clause("5.6-6").unwrap();
    assert!(c.units.iter().all(|u| u.scope != Scope::Firmware), "{:?}", c.units);
}

#[test]
fn update_transport_does_not_decide_automatic_or_periodic_updates() {
    let r = rules();
    for rule in ["FW-UPD-002", "FW-UPD-003"] {
        let failed = failed_by(&r, rule);
        for clause in ["5.3-4", "5.3-5", "5.3-6"] {
            assert!(
                !failed.contains(&format!("etsi-en-303-645 {clause}")),
                "{rule} fails {clause}"
            );
        }
    }
}

/// The updater rules fail what their findings refute and nothing more: a
/// missing signature check alone does not refute a trust relationship that
/// can rest on an authenticated channel (EN 303 645 5.3-10, EN 18031
/// SUM-2, CRA I.2(f)); with an unauthenticated channel as well it does.
/// Anti-rollback fails only OWASP I4, the one clause that names it.
#[test]
fn updater_rules_fail_exactly_the_update_clauses_they_refute() {
    let r = rules();
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    assert_eq!(
        failed_by(&r, "FW-UPD-004"),
        set(&[
            "etsi-en-303-645 5.3-9",
            "iec-62443-4-2 EDR 3.10 RE(1)",
            "owasp-iot-top10-2018 I4"
        ])
    );
    assert_eq!(
        failed_by(&r, "FW-UPD-006"),
        set(&[
            "en-18031 1:SUM-2",
            "en-18031 2:SUM-2",
            "en-18031 3:SUM-2",
            "etsi-en-303-645 5.3-10",
            "eu-cra-annex-i I.2(f)",
            "owasp-iot-top10-2018 I4"
        ])
    );
    assert_eq!(failed_by(&r, "FW-UPD-005"), set(&["owasp-iot-top10-2018 I4"]));
}

/// An image whose updater is not a script (or that has none) does not
/// pass the updater units: they are INCONCLUSIVE, cause unsupported.
#[test]
fn an_image_without_an_update_script_leaves_the_updater_units_undecided() {
    let rootfs = fwcert::samples::squashfs(
        &[
            fwcert::samples::Entry::Dir {
                path: "etc",
                mode: 0o755,
            },
            fwcert::samples::Entry::Dir {
                path: "bin",
                mode: 0o755,
            },
            fwcert::samples::Entry::File {
                path: "etc/passwd",
                mode: 0o644,
                data: b"root:x:0:0::/root:/bin/sh\n".to_vec(),
            },
        ],
        &fwcert::unpack::formats::squashfs::XZ_CODEC,
    );
    let r = scan_bytes(rootfs.into(), "noupdater.bin", &en_303_645()).unwrap();
    let q = clause(&r, "5.3-9");
    let u = q.units.iter().find(|u| u.id == "5.3-9-2 b)").unwrap();
    assert_eq!(u.verdict, Verdict::Inconclusive, "{:?}", u.reasons);
    assert_eq!(u.cause, Some(fwcert::standards::Cause::Unsupported));
    assert!(
        u.reasons.iter().any(|x| x.contains("no update script found")),
        "{:?}",
        u.reasons
    );
}

#[test]
fn an_extra_uid0_account_fails_privilege_clauses_not_password_clauses() {
    let r = rules();
    let failed = failed_by(&r, "FW-CRED-003");
    assert_eq!(
        failed,
        BTreeSet::from(
            [
                "en-18031 1:ACM-2",
                "en-18031 2:ACM-2",
                "en-18031 3:ACM-2",
                "etsi-en-303-645 5.6-7",
                "gb-t-22239-2019 8.1.4.2 d)",
                "iec-62443-4-2 CCSC 3",
            ]
            .map(String::from)
        )
    );
}

#[test]
fn a_shipped_authorized_key_fails_no_secret_key_clause() {
    let r = rules();
    let failed = failed_by(&r, "FW-CRED-013");
    for clause in &failed {
        let (sid, key) = clause.split_once(' ').unwrap();
        let c = r.catalog.standards[sid].clause(key).unwrap();
        let title = c.title.to_lowercase();
        assert!(
            !(title.contains("secret") || title.contains("key") || title.contains("cryptographic")),
            "{clause} ({}) is a secret-key clause",
            c.title
        );
    }
    assert!(!failed.contains("etsi-en-303-645 5.4-3"));
    // In EN 303 645 it is an undeclared way to log in: the accounts
    // comparison of 5.1-1 fails on it once a declaration is given.
    let observed = Observations {
        authorized_keys: vec![fwcert::checks::observed::ObservedAuthorizedKey {
            fingerprint: "SHA256:abc".into(),
            location: "/root/.ssh/authorized_keys:1 in x".into(),
        }],
        ..Observations::default()
    };
    let (v, _) = decide(&r, &[], &observed, Some("[update]\nsigned = true\n"));
    assert_eq!(v["etsi-en-303-645 5.1-1"].0, Verdict::Fail);
    let declared = "[update]\nsigned = true\n[[account]]\nname = \"root\"\nauthorized_keys = [\"SHA256:abc\"]\n";
    let (v, _) = decide(&r, &[], &observed, Some(declared));
    assert_ne!(v["etsi-en-303-645 5.1-1"].0, Verdict::Fail);
}

fn camera_observed() -> Observations {
    Observations {
        services: vec![ObservedService {
            name: "ipcam".into(),
            location: "/etc/init.d/rcS:4 in x".into(),
            network: false,
            ports: vec![],
        }],
        interfaces: vec![ObservedInterface {
            kind: "serial-console",
            name: "ttyS0".into(),
            access: "login",
            location: "/etc/inittab:2 in x".into(),
        }],
        ..Observations::default()
    }
}

#[test]
fn gb_40050_fails_undeclared_interfaces_not_declared_ones() {
    let r = rules();
    let o = camera_observed();
    let (undeclared, _) = decide(&r, &[], &o, Some(""));
    let declared = "[[service]]\nname = \"ipcam\"\ndefault = \"enabled\"\n\
                    [[interface]]\nkind = \"serial-console\"\nname = \"ttyS0\"\nreachable = true\naccess = \"login\"\n";
    let (with, _) = decide(&r, &[], &o, Some(declared));
    for clause in ["gb-40050-2021 5.3 c)", "gb-40050-2021 6.1 e)"] {
        assert_eq!(undeclared[clause].0, Verdict::Fail, "{clause}");
        assert_ne!(with[clause].0, Verdict::Fail, "{clause}");
        assert_eq!(with[clause].1, Some(Verdict::Pass), "{clause}");
    }
}

#[test]
fn gb_35114_5_1_asks_for_the_national_algorithms_not_for_no_weak_crypto() {
    let r = rules();
    let c = r.catalog.standards["gb-35114-2017"].clause("5.1").unwrap();
    assert!(c.units.iter().all(|u| u.scope != Scope::Firmware && u.rules.is_empty()));
    for rule in fwcert::rules::ALL.iter().filter(|id| id.starts_with("FW-CRYPTO-")) {
        assert!(!failed_by(&r, rule).contains("gb-35114-2017 5.1"), "{rule}");
    }
}

#[test]
fn sb_327_b_is_a_safe_harbour_that_never_fails() {
    let r = rules();
    let c = r.catalog.standards["ca-sb-327"].clause("1798.91.04(b)").unwrap();
    assert!(c.evidence_only);
    for rule in fwcert::rules::ALL.iter().filter(|id| id.starts_with("FW-CRED-")) {
        assert!(!failed_by(&r, rule).contains("ca-sb-327 1798.91.04(b)"), "{rule}");
    }
}

#[test]
fn uk_psti_1_is_deemed_by_en_303_645_5_1_1_and_5_1_2() {
    let r = rules();
    let c = r.catalog.standards["uk-psti-2023"].clause("Sch.1 §1").unwrap();
    assert_eq!(c.deemed_by, ["etsi-en-303-645:5.1-1", "etsi-en-303-645:5.1-2"]);
    assert!(c.title.contains("factory default"), "{}", c.title);
    assert!(failed_by(&r, "FW-CRED-002").contains("uk-psti-2023 Sch.1 §1"));
    let na = "[[ics]]\nstandard = \"etsi-en-303-645\"\nclause = \"5.1-1\"\nstatus = \"not-applicable\"\njustification = \"no passwords: pairing by physical button only\"\n\
              [[ics]]\nstandard = \"etsi-en-303-645\"\nclause = \"5.1-2\"\nstatus = \"not-applicable\"\njustification = \"no passwords\"\n";
    let (v, _) = decide(&r, &["FW-CRED-002"], &Observations::default(), Some(na));
    assert_eq!(v["uk-psti-2023 Sch.1 §1"].0, Verdict::NotApplicable);
}

#[test]
fn en_18031_parts_are_separate_and_apply_by_declaration() {
    let r = rules();
    let s = &r.catalog.standards["en-18031"];
    for part in ["1", "2", "3"] {
        assert!(s.clause(&format!("{part}:AUM-5-1")).is_some(), "part {part}");
    }
    assert!(s.clause("1:ACM-3").is_none(), "ACM-3 is in part 2 only");
    assert!(s.clause("2:ACM-3").is_some());
    let (v, _) = decide(
        &r,
        &["FW-CRED-002"],
        &Observations::default(),
        Some("[product]\ncategory = \"ip-camera\"\nen18031_parts = [\"1\", \"2\"]\n"),
    );
    assert_eq!(v["en-18031 1:AUM-5-1"].0, Verdict::Fail);
    assert_eq!(v["en-18031 2:AUM-5-1"].0, Verdict::Fail);
    assert_eq!(v["en-18031 3:AUM-5-1"].0, Verdict::NotApplicable);
}

#[test]
fn no_clause_is_dropped_and_none_claims_a_confirmation_it_lacks() {
    let r = rules();
    let has = |sid: &str, key: &str| r.catalog.standards[sid].clause(key).is_some();
    assert!(has("etsi-en-303-645", "4-1"));
    for key in ["6.1 e)", "6.2 d)", "6.3"] {
        assert!(has("gb-40050-2021", key), "{key}");
    }
    for key in ["7.1", "7.2", "7.3"] {
        assert!(has("gb-35114-2017", key), "{key}");
    }
    for key in [
        "CR 1.1", "CR 2.1", "CR 3.1", "CR 4.1", "CR 5.1", "CR 6.1", "CR 7.1", "EDR 3.14", "CCSC 1",
    ] {
        assert!(has("iec-62443-4-2", key), "{key}");
    }
    for s in r.catalog.standards.values() {
        for c in &s.clauses {
            let t = c.title.to_lowercase();
            if t.contains("placeholder") || t.contains("unconfirmed") || t.contains("not confirmed") {
                assert_eq!(
                    c.confirmed,
                    fwcert::standards::Confirmed::Unconfirmed,
                    "{} {} says its title is not confirmed",
                    s.id(),
                    c.key()
                );
            }
        }
    }
}

fn sample_report(name: &str, opts: &ScanOptions) -> fwcert::Report {
    scan_bytes(fwcert::samples::named(name).unwrap().into(), name, opts).unwrap()
}

fn en_303_645() -> ScanOptions {
    ScanOptions {
        profile: "etsi-en-303-645".into(),
        ..ScanOptions::default()
    }
}

#[test]
fn the_default_root_sample_fails_exactly_the_clauses_its_findings_refute() {
    let r = sample_report("camera-default-root.bin", &en_303_645());
    let failed: Vec<&str> = r
        .requirements
        .iter()
        .filter(|q| q.verdict == Verdict::Fail)
        .map(|q| q.clause.as_str())
        .collect();
    assert_eq!(
        failed,
        // 5.3-7, 5.3-9 and 5.3-10 since the sample ships an updater
        // (/usr/sbin/fw_upgrade.sh) that fetches over plain HTTP
        // (FW-UPD-003 refutes 5.3-7-2 a)), has its signature check
        // commented out (FW-UPD-004 refutes 5.3-9-2 b)) and so flashes an
        // image neither signed nor from an authenticated server (FW-UPD-006
        // refutes 5.3-10-2 b)).
        [
            "5.1-1", "5.1-3", "5.3-7", "5.3-8", "5.3-9", "5.3-10", "5.4-1", "5.5-6", "5.5-7", "5.6-4", "5.6-9"
        ]
    );
    // Each is failed by a unit that names a rule the image's findings have,
    // and cites exactly those findings.
    let fired: BTreeMap<&str, &str> = r
        .findings
        .iter()
        .map(|f| (f.fingerprint.as_str(), f.id.as_str()))
        .collect();
    for q in r.requirements.iter().filter(|q| q.verdict == Verdict::Fail) {
        let failing: Vec<_> = q.units.iter().filter(|u| u.verdict == Verdict::Fail).collect();
        assert!(!failing.is_empty(), "{}", q.clause);
        for u in failing {
            assert!(!u.findings.is_empty(), "{} {}", q.clause, u.id);
            for fp in &u.findings {
                assert!(u.rules.iter().any(|r| r == fired[fp.as_str()]), "{} {}", q.clause, u.id);
            }
        }
    }
    assert_eq!(r.outcome.exit_code, 1);
}

#[test]
fn the_hardened_sample_passes_en_303_645_in_firmware_scope() {
    let r = sample_report("camera-hardened.bin", &en_303_645());
    assert_eq!((r.outcome.exit_code, r.outcome.status), (0, "pass"), "{:?}", r.outcome);
    let s = &r.standards[0];
    assert_eq!(
        (s.id.as_str(), s.firmware_verdict),
        ("etsi-en-303-645", Some(Verdict::Pass))
    );
    // Every firmware unit that did not wait for a declaration passed.
    for q in &r.requirements {
        for u in q.units.iter().filter(|u| u.scope == Scope::Firmware) {
            let expected = if u.declaration.is_some() {
                Verdict::Open
            } else {
                Verdict::Pass
            };
            assert_eq!(u.verdict, expected, "{} {}: {:?}", q.clause, u.id, u.reasons);
        }
    }
}

/// The hardened sample judged against the example declaration, edited.
fn with_declaration(edit: impl Fn(String) -> String) -> fwcert::Report {
    let rules = rules();
    let text = edit(std::fs::read_to_string("docs/examples/declarations/etsi-en-303-645-camera.toml").unwrap());
    let d = Declaration::parse("camera.toml", &text, &rules.catalog).unwrap();
    let opts = ScanOptions {
        declaration: Some(std::sync::Arc::new(d)),
        ..en_303_645()
    };
    sample_report("camera-hardened.bin", &opts)
}

fn clause<'r>(r: &'r fwcert::Report, key: &str) -> &'r fwcert::report::model::RequirementOut {
    r.requirements.iter().find(|q| q.clause == key).unwrap()
}

#[test]
fn declarations_pass_fail_and_remove_clauses() {
    // Consistent: the completeness units pass, the debug clause is removed.
    let r = with_declaration(|t| t);
    assert_eq!(r.outcome.exit_code, 0, "{:?}", r.outcome);
    assert_eq!(clause(&r, "5.6-5").firmware_verdict, Some(Verdict::Pass));
    let debug = clause(&r, "5.6-4");
    assert_eq!(debug.verdict, Verdict::NotApplicable);
    assert!(
        debug.reasons[0].contains("UART pads are removed"),
        "{:?}",
        debug.reasons
    );
    // Undeclared service: FAIL, naming it and where it starts.
    let r = with_declaration(|t| t.replace("name = \"ipcam\"", "name = \"other\""));
    let q = clause(&r, "5.6-5");
    assert_eq!(q.verdict, Verdict::Fail);
    assert!(
        q.reasons
            .iter()
            .any(|m| m.contains("undeclared service `ipcam` started at /etc/init.d/rcS:4")),
        "{:?}",
        q.reasons
    );
    assert_eq!(r.outcome.exit_code, 1);
    // Contradicted: declared disabled, started at boot.
    let r = with_declaration(|t| t.replacen("default = \"enabled\"", "default = \"disabled\"", 1));
    let q = clause(&r, "5.6-5");
    assert_eq!(q.verdict, Verdict::Fail);
    assert!(
        q.reasons.iter().any(|m| m.contains("declaration contradicted")),
        "{:?}",
        q.reasons
    );
    // Not applicable, with a justification.
    let r = with_declaration(|t| {
        t + "\n[[ics]]\nstandard = \"etsi-en-303-645\"\nclause = \"5.13-1\"\nstatus = \"not-applicable\"\njustification = \"the device takes no user input\"\n"
    });
    let q = clause(&r, "5.13-1");
    assert_eq!(q.verdict, Verdict::NotApplicable);
    assert!(q.reasons[0].contains("the device takes no user input"));
}

#[test]
fn exit_codes_clean_bad_and_unanalysable() {
    let opts = en_303_645();
    assert_eq!(sample_report("camera-hardened.bin", &opts).outcome.exit_code, 0);
    assert_eq!(sample_report("camera-default-root.bin", &opts).outcome.exit_code, 1);
    // An encrypted D-Link image fwcert cannot open: exit 2, cause encrypted.
    let mut img = b"SHRS".to_vec();
    img.extend((0..70_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let r = scan_bytes(img.into(), "dir-882.bin", &opts).unwrap();
    assert_eq!((r.outcome.exit_code, r.outcome.status), (2, "analysis-gap"));
    let causes: BTreeSet<_> = r.requirements.iter().filter_map(|q| q.cause).collect();
    assert!(causes.contains(&fwcert::standards::Cause::Encrypted), "{causes:?}");
    assert!(r.requirements.iter().all(|q| q.firmware_verdict != Some(Verdict::Pass)));
    // An unsupported format: exit 2, cause unsupported.
    let r = scan_bytes(vec![0x5a; 1000].into(), "unknown.bin", &opts).unwrap();
    assert_eq!(r.outcome.exit_code, 2);
    assert!(
        r.requirements
            .iter()
            .any(|q| q.cause == Some(fwcert::standards::Cause::Unsupported))
    );
}

#[test]
fn every_example_declaration_parses_and_fits_the_hardened_sample() {
    let rules = rules();
    let mut n = 0;
    for entry in std::fs::read_dir("docs/examples/declarations").unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let d =
            Declaration::parse(&path.display().to_string(), &text, &rules.catalog).unwrap_or_else(|e| panic!("{e}"));
        let opts = ScanOptions {
            declaration: Some(std::sync::Arc::new(d)),
            ..ScanOptions::default()
        };
        let r = sample_report("camera-hardened.bin", &opts);
        // The declarations describe the sample: nothing is undeclared or
        // contradicted, and every firmware unit is decided.
        assert_eq!(r.outcome.exit_code, 0, "{}: {:?}", path.display(), r.outcome.reasons);
        n += 1;
    }
    assert!(n >= 4, "one example per standard family");
    // The GB example's justified recommendation is NOT-APPLICABLE, cited.
    let text = std::fs::read_to_string("docs/examples/declarations/gb-camera.toml").unwrap();
    let d = Declaration::parse("gb-camera.toml", &text, &rules.catalog).unwrap();
    let opts = ScanOptions {
        declaration: Some(std::sync::Arc::new(d)),
        profile: "gb-t-41387-2022".into(),
        ..ScanOptions::default()
    };
    let r = sample_report("camera-hardened.bin", &opts);
    let q = clause(&r, "6.3.6 c)");
    assert_eq!(q.verdict, Verdict::NotApplicable);
    assert!(
        q.reasons[0].contains("per-device random 128-bit key"),
        "{:?}",
        q.reasons
    );
}
