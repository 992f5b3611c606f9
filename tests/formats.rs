//! The SARIF, JUnit XML and Markdown views: snapshots on both bundled
//! samples, SARIF validated against the official SARIF 2.1.0 schema
//! (`tests/data/sarif-schema-2.1.0.json`) and JUnit parsed as XML, both with
//! Python when it is available (each test says when it skips), and the
//! counts of each view checked against the report.

mod common;

use fwcert::report::{Format, Lang, Report, junit, markdown, sarif, text};
use fwcert::{ScanOptions, Verdict, scan_bytes};

const SAMPLES: [&str; 2] = ["camera-default-root.bin", "camera-hardened.bin"];

fn report(name: &str) -> Report {
    let opts = ScanOptions {
        profile: "baseline".into(),
        ..ScanOptions::default()
    };
    let bytes = fwcert::samples::named(name).expect("sample exists");
    scan_bytes(bytes.into(), name, &opts).expect("sample scans")
}

/// [`common::python`] on text: the schema and parser checks.
fn python(script: &str, input: &str, needs: &str) -> Option<String> {
    common::python(script, input.as_bytes(), needs, "python3 failed")
}

#[test]
fn formats_are_named_on_the_command_line() {
    for f in Format::ALL {
        assert_eq!(f.as_str().parse::<Format>(), Ok(f));
    }
    assert_eq!("sarif".parse::<Format>(), Ok(Format::Sarif));
    assert_eq!("junit".parse::<Format>(), Ok(Format::Junit));
    assert_eq!("markdown".parse::<Format>(), Ok(Format::Markdown));
}

#[test]
fn snapshots() {
    for name in SAMPLES {
        let r = report(name);
        let stem = name.trim_end_matches(".bin");
        insta::assert_snapshot!(format!("{stem}.sarif"), sarif::render(&r));
        insta::assert_snapshot!(format!("{stem}.junit.xml"), junit::render(&r));
        insta::assert_snapshot!(format!("{stem}.md"), markdown::render(&r));
    }
}

/// The human views in Chinese, and the text view of the hardened sample
/// (the English text of the other is in tests/report.rs).
#[test]
fn human_views_in_both_languages() {
    for name in SAMPLES {
        let r = report(name);
        let stem = name.trim_end_matches(".bin");
        insta::assert_snapshot!(format!("{stem}.zh-CN.md"), markdown::render_in(&r, Lang::ZhCn));
        insta::assert_snapshot!(format!("{stem}.zh-CN.txt"), text::render_in(&r, Lang::ZhCn));
        // English is the default.
        assert_eq!(markdown::render_in(&r, Lang::En), markdown::render(&r));
        assert_eq!(text::render_in(&r, Lang::En), text::render(&r));
    }
    insta::assert_snapshot!("camera-hardened.en.txt", text::render(&report("camera-hardened.bin")));
}

/// In Chinese, standards, clauses and rules are named by their Chinese
/// titles from the data, and verdicts and headings are Chinese words.
#[test]
fn chinese_views_use_the_chinese_titles() {
    let r = report("camera-default-root.bin");
    let txt = text::render_in(&r, Lang::ZhCn);
    let md = markdown::render_in(&r, Lang::ZhCn);
    for st in &r.standards {
        assert!(txt.contains(&st.title_zh), "{}", st.title_zh);
        assert!(md.contains(&markdown::esc(&st.title_zh)), "{}", st.title_zh);
    }
    let failed = r
        .requirements
        .iter()
        .find(|q| q.verdict == Verdict::Fail)
        .expect("a failed clause");
    assert!(txt.contains(&format!("不符合         {}", failed.clause)) || txt.contains(&failed.title_zh));
    assert!(txt.contains(&failed.title_zh), "{}", failed.title_zh);
    let shadow = r.findings.iter().find(|f| f.id == "FW-CRED-002").expect("FW-CRED-002");
    assert!(txt.contains(&shadow.title_zh), "{}", shadow.title_zh);
    assert!(txt.contains("结论: 不通过 (退出码 1)"), "{txt}");
    assert!(md.starts_with("## fwcert: 不通过 (退出码 1)"), "{md}");
    assert!(!txt.contains("FINDINGS"), "headings are translated");
}

#[test]
fn renderers_are_deterministic() {
    for name in SAMPLES {
        for f in [Format::Sarif, Format::Junit, Format::Markdown, Format::Html] {
            assert_eq!(
                fwcert::report::render(&report(name), f),
                fwcert::report::render(&report(name), f),
                "{name} {f}"
            );
        }
    }
}

#[test]
fn sarif_carries_every_finding() {
    for name in SAMPLES {
        let r = report(name);
        let log = sarif::build(&r);
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "fwcert");
        assert_eq!(run["tool"]["driver"]["version"], r.tool.version);
        let results = run["results"].as_array().expect("results");
        assert_eq!(results.len(), r.findings.len(), "{name}");
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
        let mut ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        let rule_ids: Vec<&str> = rules.iter().filter_map(|x| x["id"].as_str()).collect();
        assert_eq!(rule_ids, ids, "one descriptor per rule with a finding");
        for (res, f) in results.iter().zip(&r.findings) {
            assert_eq!(res["ruleId"], f.id.as_str());
            let i = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(rules[i]["id"], f.id.as_str());
            assert_eq!(res["level"], sarif::level(f.severity));
            assert_eq!(res["message"]["text"], f.evidence.as_str());
            assert_eq!(
                res["partialFingerprints"][sarif::FINGERPRINT_KEY],
                f.fingerprint.as_str()
            );
            let loc = &res["locations"][0]["physicalLocation"];
            assert_eq!(loc["artifactLocation"]["uri"], sarif::uri(&f.path).as_str());
            if let Some(l) = f.line {
                assert_eq!(loc["region"]["startLine"], l);
            }
            if let Some(o) = f.offset {
                assert_eq!(loc["region"]["byteOffset"], o);
            }
            assert_eq!(res["properties"]["containerChain"], f.container.to_string().as_str());
            assert_eq!(res["properties"]["fileSha256"].as_str(), f.sha256.as_deref(), "{name}");
            assert_eq!(
                res["properties"]["secretFingerprint"].as_str(),
                f.secret_fingerprint.as_deref()
            );
        }
    }
}

/// Validates with Python's `jsonschema` (Draft 4, as the schema declares).
const VALIDATE_SARIF: &str = r#"
import json, sys, jsonschema
schema = json.load(open("tests/data/sarif-schema-2.1.0.json", encoding="utf-8"))
jsonschema.Draft4Validator.check_schema(schema)
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)), e.message, file=sys.stderr)
if errors:
    sys.exit(1)
print(len(doc["runs"][0]["results"]))
"#;

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    for name in SAMPLES {
        let r = report(name);
        let Some(out) = python(VALIDATE_SARIF, &sarif::render(&r), "jsonschema") else {
            return;
        };
        assert_eq!(out.trim(), r.findings.len().to_string(), "{name}");
    }
}

#[test]
fn sarif_of_an_awkward_path_still_validates() {
    // Names with spaces, `#`, `%` and non-ASCII bytes, a finding with no
    // line or offset, one with an offset: still schema-valid.
    let mut r = report("camera-default-root.bin");
    let f = r.findings.first_mut().expect("the sample has findings");
    f.path = "/www/my page#1%/配置.cgi".into();
    f.line = None;
    f.offset = None;
    // And binary evidence: a byte offset instead of a line.
    let g = r.findings.get_mut(1).expect("the sample has two findings");
    g.line = None;
    g.offset = Some(0x1234);
    let log = sarif::render(&r);
    assert!(log.contains("www/my%20page%231%25/%E9%85%8D%E7%BD%AE.cgi"), "{log}");
    let v = sarif::build(&r);
    let region = |i: usize| {
        v["runs"][0]["results"][i]["locations"][0]["physicalLocation"]
            .get("region")
            .cloned()
    };
    assert_eq!(region(0), None);
    assert_eq!(region(1), Some(serde_json::json!({ "byteOffset": 0x1234 })));
    python(VALIDATE_SARIF, &log, "jsonschema");
}

/// Parses the JUnit XML and prints the counts per suite and in total.
const PARSE_JUNIT: &str = r#"
import sys, json
import xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
assert root.tag == "testsuites", root.tag
out = {"total": {k: int(root.get(k)) for k in ("tests", "failures", "skipped", "errors")}, "suites": []}
for s in root.findall("testsuite"):
    cases = s.findall("testcase")
    counted = {
        "tests": len(cases),
        "failures": sum(1 for c in cases if c.find("failure") is not None),
        "skipped": sum(1 for c in cases if c.find("skipped") is not None),
        "errors": 0,
    }
    declared = {k: int(s.get(k)) for k in ("tests", "failures", "skipped", "errors")}
    assert counted == declared, (s.get("name"), counted, declared)
    classes = sorted({c.get("classname") for c in cases})
    skipped = [c.find("skipped").get("message") for c in cases if c.find("skipped") is not None]
    out["suites"].append({"name": s.get("name"), "classes": classes, **counted, "skipped_messages": skipped})
print(json.dumps(out))
"#;

#[test]
fn junit_parses_and_its_counts_match_the_report() {
    for name in SAMPLES {
        let r = report(name);
        let xml = junit::render(&r);
        let fails = r.requirements.iter().filter(|q| q.verdict == Verdict::Fail).count();
        let skipped = r
            .requirements
            .iter()
            .filter(|q| {
                matches!(
                    q.verdict,
                    Verdict::Inconclusive | Verdict::Open | Verdict::NotApplicable
                )
            })
            .count();
        assert_eq!(xml.matches("<testcase ").count(), r.requirements.len());
        assert_eq!(xml.matches("<failure ").count(), fails);
        assert_eq!(xml.matches("<skipped ").count(), skipped);
        let Some(out) = python(PARSE_JUNIT, &xml, "xml.etree.ElementTree") else {
            return;
        };
        let v: serde_json::Value = serde_json::from_str(&out).expect("python prints JSON");
        assert_eq!(v["total"]["tests"], r.requirements.len(), "{name}");
        assert_eq!(v["total"]["failures"], fails, "{name}");
        assert_eq!(v["total"]["skipped"], skipped, "{name}");
        let suites = v["suites"].as_array().expect("suites");
        let mut standards: Vec<&str> = r.requirements.iter().map(|q| q.standard.as_str()).collect();
        standards.dedup();
        assert_eq!(suites.len(), standards.len());
        for (s, id) in suites.iter().zip(standards) {
            assert_eq!(s["classes"], serde_json::json!([id]));
            let qs: Vec<_> = r.requirements.iter().filter(|q| q.standard == id).collect();
            assert_eq!(s["tests"], qs.len());
            assert_eq!(s["failures"], qs.iter().filter(|q| q.verdict == Verdict::Fail).count());
            for m in s["skipped_messages"].as_array().expect("messages") {
                let m = m.as_str().unwrap_or_default();
                assert!(
                    ["INCONCLUSIVE: ", "OPEN: ", "NOT-APPLICABLE: "]
                        .iter()
                        .any(|p| m.starts_with(p)),
                    "{m}"
                );
            }
        }
    }
}

#[test]
fn junit_escapes_what_it_quotes() {
    let mut r = report("camera-default-root.bin");
    let fp = {
        let f = r.findings.first_mut().expect("the sample has findings");
        f.evidence = "password \"<&>\" ]]> \u{1}\u{7f} 'x'".into();
        f.fingerprint.clone()
    };
    let q = r
        .requirements
        .iter_mut()
        .find(|q| q.findings.contains(&fp))
        .expect("a clause cites the finding");
    q.title = "A & B <\"quoted\">\nnext".into();
    let xml = junit::render(&r);
    assert!(
        xml.contains("password \"&lt;&amp;&gt;\" ]]&gt; \u{fffd}\u{7f} 'x'"),
        "{xml}"
    );
    assert!(xml.contains("A &amp; B &lt;&quot;quoted&quot;&gt;&#10;next"), "{xml}");
    python(PARSE_JUNIT, &xml, "xml.etree.ElementTree");
}

#[test]
fn markdown_counts_match_the_report() {
    for name in SAMPLES {
        let r = report(name);
        let md = markdown::render(&r);
        assert!(md.starts_with(&format!(
            "## fwcert: {} (exit {}) — ",
            r.outcome.status.to_uppercase(),
            r.outcome.exit_code
        )));
        assert!(md.contains(&format!("### Findings ({})", r.findings.len())));
        // One row per standard with its verdict and clause counts.
        for st in &r.standards {
            let count = |k: &str| st.counts.get(k).copied().unwrap_or(0);
            let row = format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                st.title,
                st.verdict.as_str(),
                st.firmware_verdict.map_or("—", |v| v.as_str()),
                count("FAIL"),
                count("INCONCLUSIVE"),
                count("OPEN"),
                count("PASS"),
                count("NOT-APPLICABLE")
            );
            assert!(md.contains(&row), "{name}: {row}");
        }
        let sev = |k: &str| r.summary.findings.get(k).copied().unwrap_or(0);
        let counts = format!(
            "| count | {} | {} | {} | {} | {} |",
            sev("critical"),
            sev("high"),
            sev("medium"),
            sev("low"),
            sev("info")
        );
        assert!(md.contains(&counts), "{name}: {counts}");
        // The standards table (header and a row per standard), the count
        // table (header and one row), then one row per finding.
        let rows = md
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| severity"))
            .count();
        assert_eq!(rows, 3 + r.standards.len() + r.findings.len(), "{name}");
        for f in &r.findings {
            assert!(
                md.contains(&format!("| {} | {}", f.severity.as_str(), f.id)),
                "{name}: {}",
                f.id
            );
        }
        assert!(md.contains("<details>") && md.trim_end().ends_with("</details>"));
    }
}

#[test]
fn the_schema_check_rejects_a_broken_log() {
    // The validation above means something only if it can fail.
    let r = report("camera-default-root.bin");
    let mut log = sarif::build(&r);
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0.into();
    let script = VALIDATE_SARIF.replace("if errors:\n    sys.exit(1)", "print(len(errors))\nsys.exit(0)");
    let Some(out) = python(&script, &log.to_string(), "jsonschema") else {
        return;
    };
    assert_eq!(out.lines().next(), Some("2"), "{out}");
}
