//! The binary as a user runs it: exit codes, formats, determinism.

use std::process::Command;

fn fwcert(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fwcert"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the fwcert binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn default_root_sample_fails_with_exit_code_1_and_names_password_and_clause() {
    let (code, out, _) = fwcert(&["scan", "samples/camera-default-root.bin"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("VERDICT: FAIL"));
    assert!(out.contains("\"xmhdipc\""), "names the default password");
    assert!(out.contains("ETSI EN 303 645 5.1-1"), "names the violated clause");
    assert!(out.contains("/etc/shadow:1"), "names file and line");
}

#[test]
fn hardened_sample_is_inconclusive_with_exit_code_2() {
    let (code, out, _) = fwcert(&["scan", "samples/camera-hardened.bin"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("VERDICT: INCONCLUSIVE"));
    // Only evidence: the serial getty asks for a password, and the image
    // carries no signature (a preview rule: it decides no clause).
    assert!(out.contains("FINDINGS (2)"), "{out}");
    assert!(out.contains("INFO FW-DEBUG-002"), "{out}");
    assert!(out.contains("HIGH FW-UPD-001"), "{out}");
}

#[test]
fn missing_input_is_exit_code_3_with_a_clear_error() {
    let (code, _, err) = fwcert(&["scan", "no/such/image.bin"]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot read no/such/image.bin"), "{err}");
    let (code, _, _) = fwcert(&["scan", "samples/camera-hardened.bin", "--profile", "nope"]);
    assert_eq!(code, 3);
    let (code, _, _) = fwcert(&["frobnicate"]);
    assert_eq!(code, 3);
}

#[test]
fn json_output_is_deterministic_and_parses() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for p in [&a, &b] {
        let (code, _, _) = fwcert(&[
            "scan",
            "samples/camera-default-root.bin",
            "--format",
            "json",
            "-o",
            p.to_str().unwrap(),
        ]);
        assert_eq!(code, 1);
    }
    let ja = std::fs::read(&a).unwrap();
    assert_eq!(ja, std::fs::read(&b).unwrap(), "two scans give byte-identical JSON");
    let v: serde_json::Value = serde_json::from_slice(&ja).unwrap();
    assert_eq!(v["schema"], "fwcert-report/1");
    assert_eq!(v["verdict"], "FAIL");
}

#[test]
fn the_report_is_the_same_with_one_thread_or_many() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for jobs in ["1", "2", "5"] {
        let out = dir.path().join(format!("{jobs}.json"));
        let (code, _, err) = fwcert(&[
            "scan",
            "samples/camera-default-root.bin",
            "--jobs",
            jobs,
            "--format",
            "json",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 1, "{err}");
        reports.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
    let (code, _, err) = fwcert(&["scan", "samples/camera-default-root.bin", "--jobs", "0"]);
    assert_eq!(code, 3, "{err}");
}

/// The verdict of one clause in a JSON report.
fn clause_verdict(report: &serde_json::Value, standard: &str, clause: &str) -> String {
    report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["standard"] == standard && q["clause"] == clause)
        .map(|q| q["verdict"].as_str().unwrap().to_string())
        .unwrap()
}

/// Scan `image` with `--format json` and the given `--fail-on` (none: the
/// default): the exit code and the report.
fn scan_json(dir: &std::path::Path, image: &str, fail_on: Option<&str>) -> (i32, serde_json::Value) {
    let out = dir.join(format!("{}.json", fail_on.unwrap_or("default")));
    let mut args = vec!["scan", image, "--format", "json", "-o", out.to_str().unwrap()];
    if let Some(s) = fail_on {
        args.extend(["--fail-on", s]);
    }
    let (code, _, err) = fwcert(&args);
    let report = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap_or_else(|e| panic!("{e}: {err}"));
    (code, report)
}

#[test]
fn fail_on_threshold_changes_the_verdict() {
    use fwcert::samples::{ElfSpec, Entry, build_elf, squashfs};
    let dir = tempfile::tempdir().unwrap();

    // An image whose only finding is high: rcS starts telnetd (FW-SVC-001),
    // a binary built with the mitigations the hardening family checks (PIE,
    // full RELRO, stack canary, non-executable stack).
    let telnetd = build_elf(&ElfSpec {
        et_dyn: true,
        df_1_pie: true,
        interpreter: Some("/lib/ld-musl-armhf.so.1".into()),
        relro: true,
        bind_now: true,
        imports: vec!["__stack_chk_fail".into()],
        ..ElfSpec::default()
    });
    let entries = [
        Entry::Dir {
            path: "etc",
            mode: 0o755,
        },
        Entry::Dir {
            path: "etc/init.d",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr/sbin",
            mode: 0o755,
        },
        Entry::File {
            path: "etc/inittab",
            mode: 0o644,
            data: b"::sysinit:/etc/init.d/rcS\n".to_vec(),
        },
        Entry::File {
            path: "etc/init.d/rcS",
            mode: 0o755,
            data: b"#!/bin/sh\ntelnetd &\n".to_vec(),
        },
        Entry::File {
            path: "usr/sbin/telnetd",
            mode: 0o755,
            data: telnetd,
        },
    ];
    let image = dir.path().join("telnet-only.bin");
    std::fs::write(
        &image,
        squashfs(&entries, &fwcert::unpack::formats::squashfs::GZIP_CODEC),
    )
    .unwrap();
    let image = image.to_str().unwrap();

    // Default threshold (low): the high finding fails the clause on unused
    // interfaces, so the image FAILs with exit code 1.
    let (code, low) = scan_json(dir.path(), image, None);
    // The image's missing signature is a preview finding (FW-UPD-001) that
    // decides no clause; the telnet server is the only one that does.
    let ids: Vec<&str> = low["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["preview"] != true)
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["FW-SVC-001"]);
    assert_eq!(low["findings"][0]["severity"], "high");
    assert_eq!((code, low["verdict"].as_str()), (1, Some("FAIL")));
    assert_eq!(clause_verdict(&low, "etsi-en-303-645", "5.6-1"), "FAIL");

    // --fail-on critical: the same finding is still reported but no longer
    // counts, so that clause is not FAIL, and neither is the image: nothing
    // else decides it, so it is INCONCLUSIVE with exit code 2.
    let (code, critical) = scan_json(dir.path(), image, Some("critical"));
    assert_eq!(critical["findings"].as_array().unwrap().len(), 2, "both still reported");
    assert_eq!((code, critical["verdict"].as_str()), (2, Some("INCONCLUSIVE")));
    assert_eq!(clause_verdict(&critical, "etsi-en-303-645", "5.6-1"), "INCONCLUSIVE");

    // The bundled sample has critical findings, so it FAILs at either
    // threshold, but the clause decided only by its medium finding
    // (FW-CRED-004, MD5-crypt) changes.
    let sample = "samples/camera-default-root.bin";
    let (code, low) = scan_json(dir.path(), sample, None);
    assert_eq!((code, low["verdict"].as_str()), (1, Some("FAIL")));
    assert_eq!(clause_verdict(&low, "etsi-en-303-645", "5.1-3"), "FAIL");
    let (code, critical) = scan_json(dir.path(), sample, Some("critical"));
    assert_eq!((code, critical["verdict"].as_str()), (1, Some("FAIL")));
    assert_eq!(clause_verdict(&critical, "etsi-en-303-645", "5.1-1"), "FAIL");
    assert_eq!(clause_verdict(&critical, "etsi-en-303-645", "5.1-3"), "INCONCLUSIVE");
}

#[test]
fn unpack_lists_containers_and_writes_files_confined() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let (code, out, err) = fwcert(&[
        "unpack",
        "samples/camera-default-root.bin",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("uimage"));
    assert!(out.contains("squashfs"));
    let shadow = std::fs::read_to_string(out_dir.join("fs-00/etc/shadow")).unwrap();
    assert!(shadow.starts_with("root:$1$"));
    let link = std::fs::read_link(out_dir.join("fs-00/bin/sh")).unwrap();
    assert_eq!(link.to_str(), Some("busybox"));
    // The listing says whether the kernel confined the writes.
    assert!(
        out.lines().any(|l| l.starts_with("landlock: on (")
            || l.starts_with("landlock: partly on (")
            || l.starts_with("landlock: off (")),
        "{out}"
    );
    // A second unpack into the same, now non-empty, directory is refused.
    let (code, _, err) = fwcert(&[
        "unpack",
        "samples/camera-default-root.bin",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("not empty"));
}

#[test]
fn rules_list_and_explain() {
    let (code, out, _) = fwcert(&["rules", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("FW-CRED-002"));
    let (code, out, _) = fwcert(&["rules", "explain", "FW-CRED-002"]);
    assert_eq!(code, 0);
    assert!(out.contains("ETSI EN 303 645 5.1-1"));
    let (code, _, _) = fwcert(&["rules", "explain", "FW-NOPE-999"]);
    assert_eq!(code, 3);
}

#[test]
fn unpack_honours_budget_flags_and_says_which_budget_ran_out() {
    let (code, out, err) = fwcert(&["unpack", "--max-depth", "0", "samples/camera-default-root.bin"]);
    assert_eq!(code, 2, "a budget hit is INCONCLUSIVE, not an error: {err}");
    assert!(out.contains("depth budget exceeded"), "{out}");
    assert!(
        !out.contains("root filesystem"),
        "nothing below the limit is unpacked: {out}"
    );
    // Piped output never carries progress-line control sequences.
    assert!(!err.contains('\r') && !out.contains('\r'));
}

#[test]
fn redact_secrets_hides_the_password_but_keeps_the_fingerprints() {
    let (code, plain, _) = fwcert(&["scan", "samples/camera-default-root.bin", "--format", "json"]);
    assert_eq!(code, 1);
    let (code, red, _) = fwcert(&[
        "scan",
        "samples/camera-default-root.bin",
        "--format",
        "json",
        "--redact-secrets",
    ]);
    assert_eq!(code, 1, "redaction does not change the verdict");
    assert!(plain.contains("xmhdipc"));
    assert!(!red.contains("xmhdipc"), "{red}");
    assert!(red.contains("\"secret\": \"[REDACTED]\""));
    let plain: serde_json::Value = serde_json::from_str(&plain).unwrap();
    let red: serde_json::Value = serde_json::from_str(&red).unwrap();
    assert_eq!(plain["findings"][0]["fingerprint"], red["findings"][0]["fingerprint"]);
    assert_eq!(
        plain["findings"][0]["secret_fingerprint"],
        red["findings"][0]["secret_fingerprint"]
    );
    let (_, text, _) = fwcert(&["scan", "samples/camera-default-root.bin", "--redact-secrets"]);
    assert!(!text.contains("xmhdipc") && text.contains("[REDACTED]"), "{text}");
}

#[test]
fn lab_yara_rules_are_reported_as_custom_and_change_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("lab");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("console.yar"),
        "rule lab_getty { meta: severity = \"low\" strings: $a = \"getty\" condition: $a }\n",
    )
    .unwrap();
    let json = |extra: &[&str]| {
        let mut args = vec!["scan", "samples/camera-hardened.bin", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, out, err) = fwcert(&args);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        (code, v)
    };
    let (plain_code, plain) = json(&[]);
    let dir_arg = rules.to_str().unwrap();
    let (code, with) = json(&["--yara", dir_arg]);
    // No controls declared: reported, verdict unchanged.
    assert_eq!((plain_code, code), (2, 2));
    assert_ne!(plain["tool"]["rules_digest"], with["tool"]["rules_digest"]);
    let custom: Vec<&serde_json::Value> = with["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "FW-YARA-000")
        .collect();
    assert!(!custom.is_empty(), "{with}");
    for f in &custom {
        assert_eq!(f["custom_rule"], "console.yar:lab_getty");
        assert_eq!(f["severity"], "low");
        assert_eq!(f["category"], "custom");
        assert!(f["evidence"].as_str().unwrap().contains("\"getty\""), "{f}");
        assert!(
            f["sha256"].is_string() && (f["line"].is_u64() || f["offset"].is_u64()),
            "{f}"
        );
    }
    assert!(with["checks"].as_array().unwrap().iter().any(|c| c["family"] == "yara"));
    assert!(
        plain["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("custom_rule").is_none())
    );
    let (_, text, _) = fwcert(&["scan", "samples/camera-hardened.bin", "--yara", dir_arg]);
    assert!(text.contains("(custom: console.yar:lab_getty)"), "{text}");

    // Declared controls make a custom match count, as a file argument too.
    let file = dir.path().join("strict.yar");
    std::fs::write(
        &file,
        "rule lab_getty { meta: severity = \"high\" controls = \"DEBUG-INTERFACES-DISABLED\" \
         strings: $a = \"getty\" condition: $a }\n",
    )
    .unwrap();
    let (code, strict) = json(&["--yara", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{strict}");
    assert_ne!(strict["tool"]["rules_digest"], with["tool"]["rules_digest"]);

    // A rule that does not compile stops the scan and names the file.
    std::fs::write(rules.join("broken.yar"), "rule broken { condition: $nope }\n").unwrap();
    let (code, _, err) = fwcert(&["scan", "samples/camera-hardened.bin", "--yara", dir_arg]);
    assert_eq!(code, 3);
    assert!(err.contains("custom/broken.yar"), "{err}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (code, _, err) = fwcert(&["scan", "samples/camera-hardened.bin", "--yara", empty.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("no .yar or .yara files"), "{err}");
}

#[test]
fn yara_time_budget_is_a_coverage_gap() {
    let (code, out, _) = fwcert(&[
        "scan",
        "samples/camera-default-root.bin",
        "--format",
        "json",
        "--yara-time",
        "0",
    ]);
    assert_eq!(code, 1, "the default password still fails");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let debug = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["family"] == "debug")
        .unwrap();
    assert_eq!(debug["complete"], false);
    assert!(
        debug["reasons"].to_string().contains("YARA time budget (0 s) ran out"),
        "{debug}"
    );
}
