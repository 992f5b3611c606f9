//! The shared corpus's credentials/ and keys/ files (opt-in: set
//! FWCERT_CORPUS), each wrapped into a generated SquashFS root filesystem at
//! a neutral path so that it goes through the real pipeline (unpack →
//! inventory → checks → report). The expected answers are the corpus
//! README's; key fingerprints were computed independently with
//! `openssl rsa -pubout -outform DER | sha256sum`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use fwcert::inventory::Inventory;
use fwcert::report::model::Report;
use fwcert::samples::{Entry, squashfs};
use fwcert::unpack::formats::squashfs::GZIP_CODEC;
use fwcert::{ScanOptions, scan_bytes};

fn corpus(rel: &str) -> Option<Vec<u8>> {
    let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
        eprintln!("FWCERT_CORPUS unset: skipping {rel}");
        return None;
    };
    Some(std::fs::read(PathBuf::from(dir).join(rel)).unwrap())
}

/// A root filesystem holding `data` at `path`, with a locked root account
/// so that the system store is complete.
fn image(path: &str, data: Vec<u8>) -> Vec<u8> {
    let dir = path.trim_start_matches('/').rsplit_once('/').unwrap().0;
    let entries = vec![
        Entry::Dir {
            path: "etc",
            mode: 0o755,
        },
        Entry::Dir {
            path: "bin",
            mode: 0o755,
        },
        Entry::Dir { path: dir, mode: 0o755 },
        Entry::File {
            path: "etc/passwd",
            mode: 0o644,
            data: b"root:x:0:0:root:/root:/bin/sh\n".to_vec(),
        },
        Entry::File {
            path: "etc/shadow",
            mode: 0o600,
            data: b"root:*:19000:0:99999:7:::\n".to_vec(),
        },
        Entry::File {
            path: path.trim_start_matches('/'),
            mode: 0o644,
            data,
        },
    ];
    squashfs(&entries, &GZIP_CODEC)
}

fn scan(path: &str, data: Vec<u8>) -> Report {
    scan_bytes(image(path, data).into(), "corpus.bin", &ScanOptions::default()).unwrap()
}

/// `(user, password)` of every recovered password (FW-CRED-002 and -005).
fn cracks(r: &Report) -> BTreeSet<(String, String)> {
    r.findings
        .iter()
        .filter(|f| f.id == "FW-CRED-002" || f.id == "FW-CRED-005")
        .map(|f| {
            let user = f.evidence.split('`').nth(1).unwrap().to_string();
            (user, f.secret.clone().unwrap())
        })
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(u, p)| (u.to_string(), p.to_string())).collect()
}

#[test]
fn passwd_test_cracks_every_hash_and_leaves_locked_accounts_quiet() {
    let Some(data) = corpus("credentials/passwd_test") else {
        return;
    };
    let r = scan("/opt/data/passwd_test", data);
    assert_eq!(
        cracks(&r),
        set(&[
            ("johndoe", "123456"),
            ("max", "dragon"),
            ("test", "123456"),
            ("admin", "admin"),
            ("root", "root"),
            ("user", "1234"),
            ("user2", "secret"),
            ("nosalt", "root"),
        ])
    );
    // The line and the hash type are in every crack.
    let max = r
        .findings
        .iter()
        .find(|f| f.id == "FW-CRED-002" && f.evidence.contains("`max`"))
        .unwrap();
    assert_eq!((max.path.as_str(), max.line), ("/opt/data/passwd_test", Some(6)));
    assert!(max.evidence.contains("Apache APR1-MD5"), "{}", max.evidence);
    let admin = r.findings.iter().find(|f| f.evidence.contains("`admin`")).unwrap();
    assert!(admin.evidence.contains("{SHA}"), "{}", admin.evidence);
    for locked in ["vboxadd", "mongodb", "clamav", "pulse"] {
        assert!(
            r.findings.iter().all(|f| !f.evidence.contains(&format!("`{locked}`"))),
            "{locked} is locked and must stay quiet"
        );
    }
    // Weak algorithms: DES, MD5-crypt (twice), APR1, {SHA}, mosquitto SHA-512.
    let weak: BTreeSet<&str> = r
        .findings
        .iter()
        .filter(|f| f.id == "FW-CRED-004")
        .map(|f| f.evidence.split('`').nth(1).unwrap())
        .collect();
    assert_eq!(
        weak,
        ["admin", "max", "nosalt", "root", "test", "user2"]
            .into_iter()
            .collect()
    );
    // Everything was tried: no coverage gap from cracking.
    let cred = r.checks.iter().find(|c| c.family == "credentials").unwrap();
    assert!(cred.complete, "{:?}", cred.reasons);
}

#[test]
fn passwd_fp_test_yields_no_credential() {
    let Some(data) = corpus("credentials/passwd_FP_test") else {
        return;
    };
    let r = scan("/opt/data/passwd_FP_test", data);
    // The wrapper image the test builds is unsigned (FW-UPD-001, about the
    // image, not its files); nothing about credentials or secrets.
    let about_files: Vec<_> = r.findings.iter().filter(|f| f.check != "updates").collect();
    assert!(about_files.is_empty(), "{about_files:#?}");
}

#[test]
fn passwd_bin_records_inside_a_binary() {
    let Some(data) = corpus("credentials/passwd.bin") else {
        return;
    };
    let r = scan("/usr/lib/passwd.bin", data);
    assert_eq!(cracks(&r), set(&[("johndoe", "123456"), ("max", "dragon")]));
    let offsets: BTreeSet<(Option<usize>, Option<u64>)> = r
        .findings
        .iter()
        .filter(|f| f.id == "FW-CRED-002")
        .map(|f| (f.line, f.offset))
        .collect();
    // Binary evidence is located by byte offset, not by line.
    assert_eq!(offsets, [(None, Some(3)), (None, Some(0x70))].into_iter().collect());
}

#[test]
fn redacted_report_hides_cracked_passwords_but_keeps_fingerprints() {
    let Some(data) = corpus("credentials/passwd_test") else {
        return;
    };
    let img = image("/opt/data/passwd_test", data);
    let plain = scan_bytes(img.clone().into(), "corpus.bin", &ScanOptions::default()).unwrap();
    let opts = ScanOptions {
        redact_secrets: true,
        ..ScanOptions::default()
    };
    let red = scan_bytes(img.into(), "corpus.bin", &opts).unwrap();
    let json = fwcert::report::json::render(&red);
    // As a JSON value and inside escaped evidence quotes.
    for pw in ["dragon", "\"123456\"", "\\\"123456\\\"", "\\\"secret\\\""] {
        assert!(!json.contains(pw), "{pw} leaked into a redacted report");
    }
    assert!(fwcert::report::json::render(&plain).contains("dragon"));
    assert_eq!(plain.findings.len(), red.findings.len());
    let mut redacted = 0;
    for (a, b) in plain.findings.iter().zip(&red.findings) {
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.secret_fingerprint, b.secret_fingerprint);
        if let Some(pw) = &a.secret {
            assert_eq!(b.secret.as_deref(), Some("[REDACTED]"));
            let quoted = format!("\"{pw}\"");
            assert_eq!(b.evidence, a.evidence.replace(&quoted, "\"[REDACTED]\""));
            redacted += 1;
        }
    }
    assert_eq!(redacted, 8);
}

/// A private key as the inventory describes it.
#[derive(Debug)]
struct KeySeen {
    format: String,
    key: String,
    protected: bool,
    fingerprint: String,
}

/// What one corpus key file gives: its private keys, the report, and how
/// many certificates and public keys the inventory holds.
struct KeyScan {
    keys: Vec<KeySeen>,
    report: Report,
    certificates: usize,
    public_keys: usize,
}

fn keys_of(name: &str) -> Option<KeyScan> {
    let data = corpus(&format!("keys/{name}"))?;
    let img = image(&format!("/etc/keys/{name}"), data);
    let u = fwcert::unpack::unpack(img.clone().into(), "corpus.bin", &Default::default());
    let inv = Inventory::build(&u);
    let keys = inv
        .keys
        .private_keys
        .iter()
        .map(|k| KeySeen {
            format: k.format.clone(),
            key: k.key.describe(),
            protected: k.protection.is_some(),
            fingerprint: k.fingerprint.clone(),
        })
        .collect();
    let (certificates, public_keys) = (inv.keys.certificates.len(), inv.keys.public_keys.len());
    let report = scan_bytes(img.into(), "corpus.bin", &ScanOptions::default()).unwrap();
    Some(KeyScan {
        keys,
        report,
        certificates,
        public_keys,
    })
}

fn secret_ids(r: &Report) -> Vec<&str> {
    r.findings
        .iter()
        .filter(|f| f.check == "secrets")
        .map(|f| f.id.as_str())
        .collect()
}

struct Case {
    file: &'static str,
    format: &'static str,
    key: &'static str,
    protected: bool,
    fingerprint: Option<&'static str>,
    rule: &'static str,
}

#[test]
fn real_private_keys_are_parsed_with_type_size_and_protection() {
    let cases = [
        Case {
            file: "id_rsa",
            format: "PEM PKCS#1",
            key: "RSA 8192-bit",
            protected: false,
            fingerprint: Some("sha256:0921115a860b0b4ba44c7e14a65866bce36ad3a7b6bb7af24522fb769fc8115c"),
            rule: "FW-SECRET-001",
        },
        Case {
            file: "ssl.key",
            format: "PEM PKCS#8",
            key: "RSA 1024-bit",
            protected: false,
            fingerprint: Some("sha256:7e364831a3d367f8aa7cc76c39426f75543569b95ab0b8841616e4d8e51a1055"),
            rule: "FW-SECRET-001",
        },
        Case {
            file: "pkcs",
            format: "DER PKCS#1",
            key: "RSA 1024-bit",
            protected: false,
            fingerprint: Some("sha256:44b02c76f5aedff79c26c5e5a14c36140b5317f6443cef357236e1f0bfe7d719"),
            rule: "FW-SECRET-001",
        },
        Case {
            file: "id_rsa_encrypted",
            format: "PEM legacy-encrypted",
            key: "RSA",
            protected: true,
            fingerprint: None,
            rule: "FW-SECRET-002",
        },
        Case {
            file: "pkcs12",
            format: "PKCS#12 shrouded key bag",
            key: "unknown",
            protected: true,
            fingerprint: None,
            rule: "FW-SECRET-002",
        },
    ];
    for c in cases {
        let Some(scan) = keys_of(c.file) else {
            return;
        };
        assert_eq!(scan.keys.len(), 1, "{}: {:?}", c.file, scan.keys);
        let k = &scan.keys[0];
        assert_eq!(
            (k.format.as_str(), k.key.as_str(), k.protected),
            (c.format, c.key, c.protected),
            "{}",
            c.file
        );
        if let Some(want) = c.fingerprint {
            assert_eq!(
                k.fingerprint, want,
                "{}: fingerprint over the SubjectPublicKeyInfo",
                c.file
            );
        }
        let r = &scan.report;
        assert_eq!(secret_ids(r), vec![c.rule], "{}", c.file);
        let finding = r.findings.iter().find(|f| f.id == c.rule).unwrap();
        assert_eq!(finding.secret_fingerprint.as_deref(), Some(k.fingerprint.as_str()));
        assert_eq!(finding.secret, None, "key material is never copied into a report");
    }
}

#[test]
fn certificate_and_public_key_are_inventoried_not_reported() {
    let Some(scan) = keys_of("ssl.crt") else {
        return;
    };
    assert!(scan.keys.is_empty());
    assert_eq!(scan.certificates, 1);
    assert!(secret_ids(&scan.report).is_empty(), "RSA 2048 / SHA-256 is not weak");
    let data = corpus("keys/ssl.crt").unwrap();
    let img = image("/etc/keys/ssl.crt", data);
    let u = fwcert::unpack::unpack(img.into(), "corpus.bin", &Default::default());
    let inv = Inventory::build(&u);
    let c = &inv.keys.certificates[0].fields;
    assert_eq!(
        c.subject,
        "C=DE, ST=Bayern, L=Muenchen, O=Fraunhofer, OU=FKIE, OU=Services, CN=www.fkie.fraunhofer.de"
    );
    assert!(c.issuer.contains("CN=Fraunhofer Service CA - G01"), "{}", c.issuer);
    assert_eq!(
        (c.not_before.as_str(), c.not_after.as_str()),
        ("2014-07-03T13:38:22Z", "2017-08-31T17:37:11Z")
    );
    assert_eq!(c.key.describe(), "RSA 2048-bit");
    assert_eq!(c.signature_algorithm, "sha256WithRSAEncryption");
    assert_eq!(
        inv.keys.certificates[0].fingerprint,
        "sha256:69b5d01f474a8e2410a5fd95361752202876f3e6915f0d7a1b906ca9c8ae91d6"
    );

    let Some(scan) = keys_of("id_rsa.pub") else {
        return;
    };
    assert!(scan.keys.is_empty() && secret_ids(&scan.report).is_empty());
    assert_eq!(scan.public_keys, 1);
}

#[test]
fn look_alike_files_yield_no_key() {
    for name in ["FP_test", "pkcs_fp.file", "ssl_fp.file"] {
        let Some(scan) = keys_of(name) else {
            return;
        };
        assert!(scan.keys.is_empty(), "{name}: {:?}", scan.keys);
        assert_eq!((scan.certificates, scan.public_keys), (0, 0), "{name}");
        assert!(
            secret_ids(&scan.report).is_empty(),
            "{name}: {:?}",
            scan.report.findings
        );
    }
}

#[test]
fn tplink_dropbearmulti_yields_no_key() {
    let Some(data) = corpus("firmware/tplink-wr841n-v10-3.16.9-150310.bin") else {
        return;
    };
    let u = fwcert::unpack::unpack(data.clone().into(), "tplink.bin", &Default::default());
    let inv = Inventory::build(&u);
    let dropbear = inv
        .files
        .iter()
        .position(|f| f.path == "/usr/sbin/dropbearmulti")
        .expect("dropbearmulti is in the image");
    assert!(inv.keys.private_keys.iter().all(|k| k.at.file != dropbear));
    // Its marker strings are recognised and set aside as look-alikes.
    assert!(inv.keys.look_alikes.iter().any(|l| l.at.file == dropbear));
    // The whole image's credential and secret findings: root/sohoadmin (and
    // its MD5-crypt hash), nothing else (no nsswitch.conf `passwd: compat`
    // "password", no key in dropbear). Services and debug findings are
    // checked in tests/regression.rs.
    let r = scan_bytes(data.into(), "tplink.bin", &ScanOptions::default()).unwrap();
    let ids: Vec<(&str, &str)> = r
        .findings
        .iter()
        .filter(|f| f.id.starts_with("FW-CRED-") || f.id.starts_with("FW-SECRET-"))
        .map(|f| (f.id.as_str(), f.path.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![("FW-CRED-002", "/etc/shadow"), ("FW-CRED-004", "/etc/shadow")]
    );
}
