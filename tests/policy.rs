//! CI gating through the binary: a policy's waivers (active, expired,
//! matching nothing), a baseline, where "today" comes from, and that
//! neither ever changes a clause verdict: only the gate (exit code and
//! `outcome`) stops counting what was waived or known, and says so.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

const SAMPLE: &str = "samples/camera-default-root.bin";

fn fwcert_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fwcert"));
    cmd.args(args).current_dir(dir).env_remove("FWCERT_TODAY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the fwcert binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sample(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Scans the default-root sample against ETSI EN 303 645 as JSON with
/// `extra` arguments, in `dir`; returns the exit code and the report.
fn scan(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let image = sample(SAMPLE);
    let mut args = vec![
        "scan",
        image.as_str(),
        "--standard",
        "etsi-en-303-645",
        "--format",
        "json",
        "-q",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = fwcert_in(dir, &args, env);
    assert!(code == 0 || code == 1 || code == 2, "{err}");
    (code, serde_json::from_str(&out).expect("a JSON report"))
}

fn verdict(r: &Value, clause: &str) -> String {
    r["requirements"]
        .as_array()
        .expect("requirements")
        .iter()
        .find(|q| q["clause"] == clause)
        .map(|q| q["verdict"].as_str().unwrap_or_default().to_string())
        .expect("the clause is in the report")
}

fn finding<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == id)
        .expect("the finding is in the report")
}

fn reasons(r: &Value) -> String {
    r["outcome"]["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|x| x.as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

const WAIVERS: &str = r#"
[[waiver]]
rule = "FW-DEBUG-001"
path = "/etc/*"
justification = "the serial header is not populated on production boards"
owner = "hw-team@example.com"
expires = "2027-01-31"

[[waiver]]
rule = "FW-SVC-001"
path = "/usr/sbin/*"
justification = "matches nothing in this image"
owner = "net@example.com"
expires = "2027-01-31"
"#;

#[test]
fn an_active_waiver_stops_the_gate_counting_but_changes_no_verdict() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("policy.toml"), WAIVERS).expect("write");
    let (code0, plain) = scan(dir.path(), &[], &[]);
    let (code, r) = scan(dir.path(), &["--policy", "policy.toml", "--today", "2026-12-01"], &[]);
    assert_eq!((code0, code), (1, 1), "other clauses still fail");

    // The verdicts are the same with and without the policy.
    assert_eq!(r["requirements"], plain["requirements"]);
    assert_eq!(verdict(&r, "5.6-4"), "FAIL");

    // The finding names its waiver; the gate lists the waiver as active.
    let debug = finding(&r, "FW-DEBUG-001");
    assert_eq!(debug["waiver"], 1);
    assert!(finding(&r, "FW-CRED-002").get("waiver").is_none());
    let w = &r["gate"]["waivers"][0];
    assert_eq!(w["state"], "active");
    assert_eq!(w["matched"], serde_json::json!([debug["fingerprint"]]));
    assert_eq!(w["owner"], "hw-team@example.com");
    assert_eq!(
        r["gate"]["today"],
        serde_json::json!({"date": "2026-12-01", "source": "--today"})
    );
    assert_eq!(r["gate"]["policy"]["name"], "policy.toml");

    // 5.6-4 fails only through the waived finding: not in the failing list,
    // named as not counted.
    let why = reasons(&r);
    let failing = why
        .lines()
        .find(|l| l.contains("clause(s) FAIL:"))
        .expect("a FAIL line");
    assert!(!failing.contains("5.6-4"), "{why}");
    assert!(
        plain["outcome"]["reasons"][0]
            .as_str()
            .expect("reason")
            .contains("5.6-4")
    );
    assert!(
        why.contains(
            "1 clause(s) FAIL only through waived or baseline findings, not counted by the gate: ETSI EN 303 645 5.6-4"
        ),
        "{why}"
    );
    // The second waiver matched nothing and says so.
    assert_eq!(r["gate"]["waivers"][1]["matched"], serde_json::json!([]));
    assert!(
        why.contains("waiver 2 (FW-SVC-001 at /usr/sbin/*) matched no finding"),
        "{why}"
    );
}

#[test]
fn an_expired_waiver_counts_no_more() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("policy.toml"), WAIVERS).expect("write");
    // Today from the environment, recorded as such.
    let (code, r) = scan(
        dir.path(),
        &["--policy", "policy.toml"],
        &[("FWCERT_TODAY", "2027-02-01")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        r["gate"]["today"],
        serde_json::json!({"date": "2027-02-01", "source": "FWCERT_TODAY"})
    );
    let w = &r["gate"]["waivers"][0];
    assert_eq!(w["state"], "expired");
    assert_eq!(
        w["matched"].as_array().map(Vec::len),
        Some(1),
        "it still says what it matches"
    );
    assert!(finding(&r, "FW-DEBUG-001").get("waiver").is_none());
    let why = reasons(&r);
    assert!(why.lines().next().expect("a reason").contains("5.6-4"), "{why}");
    assert!(
        why.contains("waiver 1 (FW-DEBUG-001 at /etc/*) expired on 2027-01-31: its 1 finding(s) count again"),
        "{why}"
    );
    // The last day of a waiver still counts.
    let (_, r) = scan(dir.path(), &["--policy", "policy.toml", "--today", "2027-01-31"], &[]);
    assert_eq!(r["gate"]["waivers"][0]["state"], "active");
}

#[test]
fn waiving_every_finding_behind_the_fails_leaves_the_verdicts_and_clears_the_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, plain) = scan(dir.path(), &[], &[]);
    assert_eq!(code, 1);
    // One waiver per finding, by fingerprint.
    let mut policy = String::from("standards = [\"etsi-en-303-645\"]\n");
    for f in plain["findings"].as_array().expect("findings") {
        policy.push_str(&format!(
            "[[waiver]]\nfingerprint = \"{}\"\njustification = \"accepted for the pilot batch\"\nowner = \"qa@example.com\"\nexpires = \"2027-06-30\"\n",
            f["fingerprint"].as_str().expect("fingerprint")
        ));
    }
    // Found as ./fwcert.toml in the working directory, no --policy.
    std::fs::write(dir.path().join("fwcert.toml"), policy).expect("write");
    let image = sample(SAMPLE);
    let (code, out, err) = fwcert_in(
        dir.path(),
        &["scan", &image, "--format", "json", "-q", "--today", "2026-12-01"],
        &[],
    );
    let r: Value = serde_json::from_str(&out).expect("JSON");
    // Every clause verdict is unchanged (11 FAIL), but none is counted: the
    // gate now reports the preview finding to review (exit 2), not a FAIL.
    assert_eq!(r["requirements"], plain["requirements"], "{err}");
    assert_eq!(verdict(&r, "5.1-1"), "FAIL");
    assert_eq!(code, 2, "{}", reasons(&r));
    assert_eq!(r["outcome"]["status"], "analysis-gap");
    assert_eq!(r["gate"]["policy"]["name"], "fwcert.toml");
    assert!(reasons(&r).contains("11 clause(s) FAIL only through waived or baseline findings"));
    // --no-policy ignores ./fwcert.toml.
    let (code, _, _) = fwcert_in(
        dir.path(),
        &["scan", &image, "--format", "json", "-q", "--no-policy"],
        &[],
    );
    assert_eq!(code, 1);
}

#[test]
fn a_baseline_gates_only_new_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hardened = sample("samples/camera-hardened.bin");
    let old = dir.path().join("hardened.json");
    let (code, out, _) = fwcert_in(
        dir.path(),
        &[
            "scan",
            &hardened,
            "--standard",
            "etsi-en-303-645",
            "--format",
            "json",
            "-q",
        ],
        &[],
    );
    assert_eq!(code, 0);
    std::fs::write(&old, out).expect("write");

    // The hardened image has an info finding: --fail-on info fails it...
    let args = [
        "scan",
        hardened.as_str(),
        "--standard",
        "etsi-en-303-645",
        "--format",
        "json",
        "-q",
        "--fail-on",
        "info",
    ];
    assert_eq!(fwcert_in(dir.path(), &args, &[]).0, 1);
    // ...unless the baseline already had it.
    let mut with_baseline = args.to_vec();
    with_baseline.extend(["--baseline", "hardened.json"]);
    let (code, out, _) = fwcert_in(dir.path(), &with_baseline, &[]);
    let r: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(code, 0, "{}", reasons(&r));
    assert_eq!(finding(&r, "FW-DEBUG-002")["baseline"], "known");
    assert_eq!(r["gate"]["baseline"]["name"], "hardened.json");
    assert_eq!(r["gate"]["baseline"]["findings"], 1);
    assert!(r["gate"].get("today").is_none(), "no waivers, no date");

    // Against that baseline every finding of the default-root image is new
    // and the gate fails as without one.
    let (code, r) = scan(dir.path(), &["--baseline", "hardened.json"], &[]);
    assert_eq!(code, 1);
    for f in r["findings"].as_array().expect("findings") {
        assert_eq!(f["baseline"], "new", "{}", f["id"]);
    }
    // Against its own report nothing is new: no FAIL is counted.
    let own = dir.path().join("own.json");
    let (_, plain) = scan(dir.path(), &[], &[]);
    std::fs::write(&own, serde_json::to_string(&plain).expect("JSON")).expect("write");
    let (code, r) = scan(dir.path(), &["--baseline", "own.json"], &[]);
    assert_eq!(code, 2, "{}", reasons(&r));
    assert_eq!(r["requirements"], plain["requirements"], "verdicts unchanged");
    assert!(
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["baseline"] == "known")
    );
}

#[test]
fn gated_reports_are_deterministic_and_bad_policies_are_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("policy.toml"), WAIVERS).expect("write");
    let image = sample(SAMPLE);
    let args = [
        "scan",
        image.as_str(),
        "--format",
        "json",
        "-q",
        "--policy",
        "policy.toml",
        "--today",
        "2026-12-01",
    ];
    let a = fwcert_in(dir.path(), &args, &[]);
    let b = fwcert_in(dir.path(), &args, &[("FWCERT_TODAY", "2030-01-01")]);
    assert_eq!(a.1, b.1, "--today wins over the environment");

    std::fs::write(
        dir.path().join("bad.toml"),
        "[[waiver]]\nrule = \"FW-SVC-001\"\nowner = \"o\"\nexpires = \"2027-01-01\"\n",
    )
    .expect("write");
    let (code, _, err) = fwcert_in(dir.path(), &["scan", &image, "--policy", "bad.toml"], &[]);
    assert_eq!(code, 3);
    assert!(err.contains("bad.toml") && err.contains("justification"), "{err}");
    let (code, _, err) = fwcert_in(
        dir.path(),
        &["scan", &image, "--policy", "policy.toml", "--today", "2026-13-01"],
        &[],
    );
    assert_eq!(code, 3);
    assert!(err.contains("2026-13-01"), "{err}");
}
