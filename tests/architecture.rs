//! The pipeline's shape, checked: stages import only earlier stages, rule
//! IDs appear in code only as generated constants, every finding's rule is
//! resolved or the scan fails, pattern rules run in every family, and the
//! generated rule reference in `docs/rules/` is current.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fwcert::report::rules_view;
use fwcert::samples::{Entry, squashfs};
use fwcert::unpack::formats::squashfs::GZIP_CODEC;
use fwcert::{Error, Rules, ScanOptions, Scanner};
use regex::Regex;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A source file without its unit tests (by convention the last item,
/// behind `#[cfg(test)]`) and without comments.
fn production_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

const STAGES: &[&str] = &["unpack", "inventory", "checks", "standards", "report"];

#[test]
fn no_stage_imports_a_later_stage() {
    let uses = Regex::new(r"crate::(unpack|inventory|checks|standards|report|scan)\b").unwrap();
    let mut wrong = Vec::new();
    let mut files = 0;
    for (rank, stage) in STAGES.iter().enumerate() {
        for path in rust_files(&root().join("src").join(stage)) {
            files += 1;
            let code = production_code(&path);
            for m in uses.captures_iter(&code) {
                let target = &m[1];
                // `scan` drives every stage, so no stage may use it.
                let later = match STAGES.iter().position(|s| *s == target) {
                    Some(r) => r > rank,
                    None => true,
                };
                if later {
                    wrong.push(format!("{} uses crate::{target}", path.display()));
                }
            }
        }
    }
    assert!(files > 50, "only {files} stage files found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn rule_ids_appear_in_code_only_as_generated_constants() {
    let literal = Regex::new(r#""FW-[A-Z]+-[0-9]{3}"#).unwrap();
    let mut wrong = Vec::new();
    for path in rust_files(&root().join("src")) {
        let code = production_code(&path);
        for (i, line) in code.lines().enumerate() {
            if literal.is_match(line) {
                wrong.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(wrong.is_empty(), "write rules::FW_… instead:\n{}", wrong.join("\n"));
    // The constants exist and name real rule files.
    assert_eq!(fwcert::rules::FW_CRED_002, "FW-CRED-002");
    let rules = Rules::embedded().unwrap();
    let ids: Vec<&str> = rules.checks.rules.keys().map(String::as_str).collect();
    assert_eq!(fwcert::rules::ALL, ids.as_slice());
}

fn sample(name: &str) -> Vec<u8> {
    fwcert::samples::named(name).expect("sample exists")
}

/// The embedded rule files, less those whose path is in `drop`, plus `add`.
fn rules_with(drop: &[&str], add: &[(&str, &str)]) -> Rules {
    let files: Vec<(&str, &str)> = fwcert::rules::EMBEDDED
        .iter()
        .copied()
        .filter(|(p, _)| !drop.contains(p))
        .chain(add.iter().copied())
        .collect();
    Rules::from_files(&files).unwrap()
}

#[test]
fn a_finding_whose_rule_is_unknown_fails_the_scan() {
    // The credentials family reports FW-CRED-002 for the sample's root
    // password; a rule set without that rule cannot say what it means.
    // The standards data name the rule too, so such a rule set does not
    // even load, and says which unit names it.
    let files: Vec<(&str, &str)> = fwcert::rules::EMBEDDED
        .iter()
        .copied()
        .filter(|(p, _)| *p != "credentials/FW-CRED-002.toml")
        .collect();
    let err = Rules::from_files(&files).unwrap_err().to_string();
    assert!(err.contains("unknown rule FW-CRED-002"), "{err}");
    // Without the standards (controls only), it loads; the scan refuses
    // the family's finding.
    let standards: Vec<&str> = fwcert::rules::EMBEDDED
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| p.starts_with("standards/") && !p.ends_with("controls.toml"))
        .chain(["credentials/FW-CRED-002.toml"])
        .collect();
    let rules = rules_with(&standards, &[]);
    let scanner = Scanner::new(Arc::new(rules), ScanOptions::default()).unwrap();
    let err = scanner
        .scan_bytes(sample("camera-default-root.bin").into(), "camera-default-root.bin")
        .unwrap_err();
    match &err {
        Error::UnknownRule { rule, path } => {
            assert_eq!((rule.as_str(), path.as_str()), ("FW-CRED-002", "/etc/shadow"));
        }
        other => panic!("expected an unknown-rule error, got {other}"),
    }
    assert!(err.to_string().contains("FW-CRED-002"), "{err}");
}

/// A rule decided by a `[[pattern]]` entry, in `family`.
fn pattern_rule(id: &str, family: &str) -> String {
    format!(
        r#"id = "{id}"
name = "marker-{family}"
family = "{family}"
category = "{family}"
severity = "high"
status = "preview"
title = "A test marker"
title_zh = "测试标记"
controls = ["DEBUG-INTERFACES-DISABLED"]

[doc]
what = "w"
why = "w"
example = "e"
fix = "f"

[[pattern]]
on = "content"
regex = 'MARKER-{family}'
evidence = "found {{match}}"
"#
    )
}

#[test]
fn a_pattern_rule_runs_in_any_family() {
    let services = pattern_rule("FW-SVC-900", "services");
    let debug = pattern_rule("FW-DEBUG-900", "debug");
    let rules = rules_with(
        &[],
        &[
            ("services/FW-SVC-900.toml", services.as_str()),
            ("debug/FW-DEBUG-900.toml", debug.as_str()),
        ],
    );
    let text = b"# settings\nMARKER-services\nMARKER-debug\n".to_vec();
    let image = squashfs(
        &[
            Entry::Dir {
                path: "etc",
                mode: 0o755,
            },
            Entry::File {
                path: "etc/markers.conf",
                mode: 0o644,
                data: text,
            },
        ],
        &GZIP_CODEC,
    );
    let report = Scanner::new(Arc::new(rules), ScanOptions::default())
        .unwrap()
        .scan_bytes(image.into(), "markers.bin")
        .unwrap();
    for (id, family, line) in [("FW-SVC-900", "services", 2), ("FW-DEBUG-900", "debug", 3)] {
        let f = report
            .findings
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{id} did not run: {:?}", report.findings));
        assert_eq!(
            (f.check.as_str(), f.path.as_str(), f.line),
            (family, "/etc/markers.conf", Some(line))
        );
        assert_eq!(f.evidence, format!("found MARKER-{family}"));
    }
}

#[test]
fn a_rule_in_an_unknown_family_is_refused() {
    let stray = pattern_rule("FW-PRIV-900", "privacy");
    let files: Vec<(&str, &str)> = fwcert::rules::EMBEDDED
        .iter()
        .copied()
        .chain([("privacy/FW-PRIV-900.toml", stray.as_str())])
        .collect();
    let err = Rules::from_files(&files).unwrap_err().to_string();
    assert!(
        err.contains("FW-PRIV-900") && err.contains("unknown family `privacy`"),
        "{err}"
    );
}

#[test]
fn the_rule_reference_in_docs_is_generated_from_the_rules() {
    let rules = Rules::embedded().unwrap();
    let dir = root().join("docs").join("rules");
    let mut expected = vec![("README.md".to_string(), rules_view::index_page(&rules))];
    for family in rules_view::families(&rules) {
        expected.push((format!("{family}.md"), rules_view::family_page(&rules, &family)));
    }
    for (name, text) in &expected {
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            committed == *text,
            "docs/rules/{name} is stale: run `cargo run --example gen-docs`"
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = expected.into_iter().map(|(n, _)| n).collect();
    names.sort();
    assert_eq!(
        on_disk, names,
        "docs/rules/ holds a page for a family that has no rules"
    );
}
