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
    assert!(out.contains("OUTCOME: FAIL (exit 1)"), "{out}");
    assert!(out.contains("\"xmhdipc\""), "names the default password");
    assert!(out.contains("ETSI EN 303 645 5.1-1"), "names the violated clause");
    assert!(out.contains("/etc/shadow:1"), "names file and line");
}

#[test]
fn hardened_sample_passes_its_firmware_units_with_exit_code_0() {
    let (code, out, _) = fwcert(&["scan", "samples/camera-hardened.bin", "--standard", "etsi-en-303-645"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OUTCOME: PASS (exit 0)"), "{out}");
    // Every firmware unit passed; the rest needs the lab (OPEN).
    assert!(
        out.contains("OPEN           ETSI EN 303 645 V2.1.1 (2020-06)  (firmware: PASS; 68 OPEN)"),
        "{out}"
    );
    // Only evidence: the serial getty asks for a password (info).
    assert!(out.contains("FINDINGS (1)"), "{out}");
    assert!(out.contains("INFO FW-DEBUG-002"), "{out}");
    // Every standard fwcert maps: no analysis gap and nothing fails.
    let (code, out, _) = fwcert(&["scan", "samples/camera-hardened.bin"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn a_declaration_is_checked_cited_and_errors_name_the_line() {
    let decl = "docs/examples/declarations/etsi-en-303-645-camera.toml";
    let (code, out, err) = fwcert(&[
        "scan",
        "samples/camera-hardened.bin",
        "--standard",
        "etsi-en-303-645",
        "--declaration",
        decl,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sha = fwcert::hash::sha256_hex(&std::fs::read(decl).unwrap());
    assert_eq!(v["declaration"]["sha256"], sha.as_str());
    assert_eq!(v["declaration"]["device"]["model"], "IPC-100");
    // The declared-unreachable console removes 5.6-4, citing the entry.
    let q = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["clause"] == "5.6-4")
        .unwrap();
    assert_eq!(q["verdict"], "NOT-APPLICABLE");
    assert!(
        q["reasons"][0].as_str().unwrap().contains("UART pads are removed"),
        "{q}"
    );
    // A malformed declaration: exit 3, file and line.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[device]\nmodel = \"x\"\n\n[[service]]\nname = \"a\"\ndefault = \"sometimes\"\n",
    )
    .unwrap();
    let (code, _, err) = fwcert(&[
        "scan",
        "samples/camera-hardened.bin",
        "--declaration",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("bad.toml:6:"), "{err}");
    // A declaration for another image: exit 3.
    let other = dir.path().join("other.toml");
    std::fs::write(&other, format!("[device]\nimage_sha256 = \"{}\"\n", "0".repeat(64))).unwrap();
    let (code, _, err) = fwcert(&[
        "scan",
        "samples/camera-hardened.bin",
        "--declaration",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("is for the image with SHA-256 000"), "{err}");
}

#[test]
fn rules_list_standard_shows_every_clause_with_its_units() {
    let rules = fwcert::Rules::embedded().unwrap();
    for (id, s) in &rules.catalog.standards {
        let (code, out, _) = fwcert(&["rules", "list", "--standard", id]);
        assert_eq!(code, 0, "{id}");
        for c in &s.clauses {
            let modality = format!("{:?}", c.modality).to_lowercase();
            assert!(
                out.contains(&format!("\n{}  {}  [{modality}, ", c.key(), c.title)),
                "{id} {}",
                c.key()
            );
            for u in &c.units {
                assert!(
                    out.contains(&format!("    {:<10} ", u.id)),
                    "{id} {} unit {}",
                    c.key(),
                    u.id
                );
            }
        }
    }
    let (_, out, _) = fwcert(&["rules", "list", "--standard", "etsi-en-303-645"]);
    assert!(out.contains("5.1-1-2"), "TS 103 701 style unit ids");
    assert!(
        out.contains("rules FW-CRED-002") || out.contains(" FW-CRED-002"),
        "{out}"
    );
    let (code, _, err) = fwcert(&["rules", "list", "--standard", "nope"]);
    assert_eq!(code, 3, "{err}");
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
    assert_eq!(v["schema"], "fwcert-report/2");
    assert_eq!(v["outcome"]["status"], "fail");
    assert_eq!(v["outcome"]["exit_code"], 1);
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
fn fail_on_gates_the_exit_code_and_changes_no_verdict() {
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

    // Without --fail-on: the telnet server fails the clauses whose units
    // list FW-SVC-001, so the image exits 1.
    let (code, plain) = scan_json(dir.path(), image, None);
    // The image's missing signature is a preview finding (FW-UPD-001) that
    // decides no clause; the telnet server is the only one that does.
    let ids: Vec<&str> = plain["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["preview"] != true)
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["FW-SVC-001"]);
    assert_eq!((code, plain["outcome"]["status"].as_str()), (1, Some("fail")));
    assert_eq!(clause_verdict(&plain, "etsi-en-303-645", "5.5-6"), "FAIL");
    // --fail-on changes no verdict in the report, only the gate.
    let (code, critical) = scan_json(dir.path(), image, Some("critical"));
    assert_eq!(code, 1, "the clause still fails");
    assert_eq!(critical["requirements"], plain["requirements"]);
    assert_eq!(critical["standards"], plain["standards"]);

    // The hardened sample passes (exit 0); its one finding is info. The
    // gate fails at --fail-on info, not at low; the verdicts never move.
    let sample = "samples/camera-hardened.bin";
    let (code, base) = scan_json(dir.path(), sample, None);
    assert_eq!(code, 0);
    let (code, info) = scan_json(dir.path(), sample, Some("info"));
    assert_eq!(code, 1);
    assert!(
        info["outcome"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("at or above --fail-on info"),
        "{}",
        info["outcome"]
    );
    assert_eq!(info["requirements"], base["requirements"]);
    let (code, low) = scan_json(dir.path(), sample, Some("low"));
    assert_eq!(code, 0);
    assert_eq!(low["requirements"], base["requirements"]);
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
    // No unit lists the lab's rule: reported, verdicts unchanged.
    assert_eq!((plain_code, code), (0, 0));
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

    // A lab's rule refutes no test unit (controls group, they decide
    // nothing): with a high severity it is gated by --fail-on, and it is
    // accepted as a file argument too.
    let file = dir.path().join("strict.yar");
    std::fs::write(
        &file,
        "rule lab_getty { meta: severity = \"high\" controls = \"DEBUG-INTERFACES-DISABLED\" \
         strings: $a = \"getty\" condition: $a }\n",
    )
    .unwrap();
    let (code, strict) = json(&["--yara", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{strict}");
    assert_eq!(strict["requirements"], plain["requirements"]);
    assert_ne!(strict["tool"]["rules_digest"], with["tool"]["rules_digest"]);
    let (code, _) = json(&["--yara", file.to_str().unwrap(), "--fail-on", "high"]);
    assert_eq!(code, 1);

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
