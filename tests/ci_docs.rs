//! `docs/ci.md` as a test: its policy is written as `fwcert.toml` in a
//! scratch project directory and every `fwcert scan` command of its shell
//! and YAML examples runs there, in the order of the page, with
//! `build/firmware.bin` replaced by the default-root sample. The SARIF it
//! writes is validated against the SARIF 2.1.0 schema and the JUnit XML
//! parsed, both with Python when it is there (the test says when it
//! skips).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;

fn doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md")).expect("docs/ci.md")
}

/// The fenced blocks of `lang`, in page order.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_start() == format!("```{lang}") => current = Some(String::new()),
            Some(b) if line.trim_start() == "```" => {
                out.push(std::mem::take(b));
                current = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The `fwcert …` commands of the shell and YAML blocks, in page order.
fn commands(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        let t = line.trim();
        if t == "```sh" || t == "```yaml" {
            in_block = true;
            continue;
        }
        if t == "```" {
            in_block = false;
            continue;
        }
        if !in_block {
            continue;
        }
        let cmd = t.trim_start_matches("- ").trim_start_matches("run: ");
        if cmd.starts_with("fwcert scan ") {
            out.push(cmd.split_whitespace().map(str::to_string).collect());
        }
    }
    out
}

fn python(script: &str, input: &[u8], needs: &str) -> Option<String> {
    common::python(script, input, needs, "python3 failed")
}

const VALIDATE_SARIF: &str = r#"
import json, sys, jsonschema
schema = json.load(open("tests/data/sarif-schema-2.1.0.json", encoding="utf-8"))
doc = json.load(sys.stdin)
errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
for e in errors:
    print("/".join(map(str, e.path)), e.message, file=sys.stderr)
sys.exit(1 if errors else 0)
"#;

const PARSE_JUNIT: &str = r#"
import sys
import xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
print(root.tag, len(root.findall("testsuite")), root.get("failures"))
"#;

#[test]
fn the_ci_examples_run_against_a_sample() {
    let text = doc();
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = blocks(&text, "toml").into_iter().next().expect("a policy example");
    std::fs::write(dir.path().join("fwcert.toml"), policy).expect("write the policy");
    let sample = format!("{}/samples/camera-default-root.bin", env!("CARGO_MANIFEST_DIR"));

    let cmds = commands(&text);
    assert_eq!(cmds.len(), 4, "baseline, GitHub and two GitLab commands: {cmds:?}");
    for cmd in &cmds {
        let args: Vec<&str> = cmd[1..]
            .iter()
            .map(|a| {
                if a == "build/firmware.bin" {
                    sample.as_str()
                } else {
                    a.as_str()
                }
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_fwcert"))
            .args(&args)
            .current_dir(dir.path())
            .env("FWCERT_TODAY", "2026-12-01")
            .output()
            .expect("fwcert runs");
        let code = out.status.code().unwrap_or(-1);
        // The sample fails; against its own baseline nothing new fails and
        // only its preview finding to review is left (analysis gap).
        let expected = if args.contains(&"--baseline") { 2 } else { 1 };
        assert_eq!(code, expected, "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    // The baseline is a JSON report; the policy was applied to it.
    let baseline: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("fwcert-baseline.json")).expect("baseline"))
            .expect("JSON");
    assert_eq!(baseline["gate"]["policy"]["name"], "fwcert.toml");
    assert_eq!(baseline["gate"]["today"]["source"], "FWCERT_TODAY");
    assert_eq!(
        baseline["standards"].as_array().map(Vec::len),
        Some(1),
        "the policy's standards"
    );

    // SARIF: every result unchanged against the baseline, the waived one
    // suppressed with its justification.
    let sarif_bytes = std::fs::read(dir.path().join("fwcert.sarif")).expect("SARIF");
    let sarif: Value = serde_json::from_slice(&sarif_bytes).expect("JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        assert_eq!(r["baselineState"], "unchanged", "{}", r["ruleId"]);
        let suppressed = r.get("suppressions").is_some();
        assert_eq!(suppressed, r["ruleId"] == "FW-DEBUG-001", "{}", r["ruleId"]);
    }
    let debug = results
        .iter()
        .find(|r| r["ruleId"] == "FW-DEBUG-001")
        .expect("FW-DEBUG-001");
    assert_eq!(debug["suppressions"][0]["status"], "accepted");
    assert!(
        debug["suppressions"][0]["justification"]
            .as_str()
            .expect("justification")
            .starts_with("the serial header is not populated on production boards (HW-1234)")
    );
    python(VALIDATE_SARIF, &sarif_bytes, "jsonschema");

    let junit = std::fs::read(dir.path().join("fwcert.junit.xml")).expect("JUnit");
    if let Some(out) = python(PARSE_JUNIT, &junit, "xml.etree.ElementTree") {
        let mut parts = out.split_whitespace();
        assert_eq!(parts.next(), Some("testsuites"));
        assert_eq!(parts.next(), Some("1"), "one suite: the policy's standard");
        assert_eq!(
            parts.next(),
            Some("11"),
            "the 11 FAIL clauses of ETSI EN 303 645 are failures"
        );
    }
    let md = std::fs::read_to_string(dir.path().join("fwcert.md")).expect("Markdown");
    assert!(md.starts_with("## fwcert: FAIL (exit 1)"), "{md}");
    assert!(md.contains("(waived by waiver 1)"), "{md}");
    assert!(
        md.contains("| 1 FW-DEBUG-001 /etc/inittab | active (1 findings) | the serial header is not populated on production boards \\(HW-1234\\) (hardware-team@example.com) | 2027-06-30 |"),
        "{md}"
    );
    let junit = String::from_utf8(junit).expect("UTF-8");
    assert!(
        junit.contains("[waived by waiver 1]"),
        "the JUnit failure says the finding is waived"
    );
}
