//! Signed reports through the binary: `keygen`, `scan --sign`, `verify`.
//! A signed report verifies; one altered byte anywhere does not; signing
//! is deterministic (the same scan gives the same report and signature).

use std::path::Path;
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

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

#[test]
fn a_signed_report_verifies_and_one_altered_byte_does_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("lab");
    let (code, out, err) = fwcert(&["keygen", "-o", s(&key)]);
    assert_eq!(code, 0, "{out}{err}");
    let private = std::fs::read_to_string(&key).expect("private key");
    let public_path = dir.path().join("lab.pub");
    let public = std::fs::read_to_string(&public_path).expect("public key");
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----"), "{private}");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).expect("key").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the private key is the owner's only");
    }
    // keygen never overwrites a key.
    assert_eq!(fwcert(&["keygen", "-o", s(&key)]).0, 3);

    let report = dir.path().join("report.json");
    let (code, _, err) = fwcert(&[
        "scan",
        "samples/camera-default-root.bin",
        "--format",
        "json",
        "-o",
        s(&report),
        "--sign",
        s(&key),
        "-q",
    ]);
    assert_eq!(code, 1, "the sample fails; signing changes no exit code: {err}");
    let sig_path = dir.path().join("report.json.sig");
    let sig = std::fs::read_to_string(&sig_path).expect("the signature is written beside the report");
    let doc: serde_json::Value = serde_json::from_str(&sig).expect("JSON");
    assert_eq!(doc["schema"], "fwcert-signature/1");
    assert_eq!(doc["algorithm"], "ed25519");
    assert!(!sig.contains("time"), "no time in the signature: {sig}");

    let (code, out, err) = fwcert(&["verify", s(&report), "--key", s(&public_path)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("OK: "), "{out}");

    // The same scan signs to the same bytes.
    let again = dir.path().join("again.json");
    let (_, _, err) = fwcert(&[
        "scan",
        "samples/camera-default-root.bin",
        "--format",
        "json",
        "-o",
        s(&again),
        "--sign",
        s(&key),
        "-q",
    ]);
    assert_eq!(
        std::fs::read(&again).expect("again"),
        std::fs::read(&report).expect("report"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("again.json.sig")).expect("sig"),
        sig
    );

    // One altered byte, in several places (the verdict, the image hash,
    // the last byte): never verifies.
    let original = std::fs::read(&report).expect("report");
    let text = String::from_utf8(original.clone()).expect("UTF-8");
    let places = [
        text.find("\"exit_code\": 1").expect("exit code") + "\"exit_code\": ".len(),
        text.find("\"sha256\"").expect("image hash") + 12,
        original.len() - 1,
        0,
    ];
    for at in places {
        let mut altered = original.clone();
        altered[at] ^= 0x01;
        std::fs::write(&report, &altered).expect("write");
        let (code, out, err) = fwcert(&["verify", s(&report), "--key", s(&public_path)]);
        assert_eq!(code, 1, "byte {at} altered: {out}{err}");
        assert!(out.starts_with("FAILED: "), "{out}");
    }
    std::fs::write(&report, &original).expect("restore");
    assert_eq!(fwcert(&["verify", s(&report), "--key", s(&public_path)]).0, 0);

    // Another lab's key does not verify it.
    let other = dir.path().join("other");
    assert_eq!(fwcert(&["keygen", "-o", s(&other)]).0, 0);
    let (code, out, _) = fwcert(&["verify", s(&report), "--key", s(&dir.path().join("other.pub"))]);
    assert_eq!(code, 1, "{out}");
    // A missing signature is an error, not a verdict.
    std::fs::remove_file(&sig_path).expect("remove");
    assert_eq!(fwcert(&["verify", s(&report), "--key", s(&public_path)]).0, 3);
}

#[test]
fn sign_needs_the_json_report_in_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("k");
    assert_eq!(fwcert(&["keygen", "-o", s(&key)]).0, 0);
    let (code, _, err) = fwcert(&["scan", "samples/camera-hardened.bin", "--sign", s(&key)]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--format json"), "{err}");
    let (code, _, err) = fwcert(&[
        "scan",
        "samples/camera-hardened.bin",
        "--format",
        "json",
        "--sign",
        s(&key),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("-o FILE"), "{err}");
}

/// The key files and the signature are standard: OpenSSL reads the keys
/// and verifies the signature over the report bytes (when installed).
#[test]
fn openssl_verifies_the_signature() {
    if !Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("skipped: openssl is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("lab");
    assert_eq!(fwcert(&["keygen", "-o", s(&key)]).0, 0);
    let report = dir.path().join("r.json");
    let (code, _, err) = fwcert(&[
        "scan",
        "samples/camera-hardened.bin",
        "--format",
        "json",
        "-o",
        s(&report),
        "--sign",
        s(&key),
        "-q",
    ]);
    assert_eq!(code, 0, "the hardened sample passes: {err}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json.sig")).expect("sig")).expect("JSON");
    let sig = hex::decode(doc["signature"].as_str().expect("hex")).expect("hex");
    let sig_path = dir.path().join("sig.bin");
    std::fs::write(&sig_path, sig).expect("write");
    let pubout = Command::new("openssl")
        .args(["pkey", "-in", s(&key), "-pubout"])
        .output()
        .expect("openssl runs");
    assert!(pubout.status.success(), "OpenSSL reads the private key");
    assert_eq!(
        String::from_utf8_lossy(&pubout.stdout),
        std::fs::read_to_string(dir.path().join("lab.pub")).expect("pub")
    );
    let verified = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            s(&dir.path().join("lab.pub")),
            "-rawin",
            "-in",
            s(&report),
            "-sigfile",
            s(&sig_path),
        ])
        .output()
        .expect("openssl runs");
    assert!(
        verified.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}
