//! Bytes between containers are examined: a flash dump whose NVRAM
//! partition and a private key sit outside any container reports both, at
//! their image offsets, and says the unpack was complete only because
//! those regions were searched as content.

use fwcert::samples::{Entry, squashfs};
use fwcert::unpack::formats::squashfs::GZIP_CODEC;
use fwcert::unpack::formats::uimage;
use fwcert::{ScanOptions, scan_bytes};

const KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIC+WBhoLpPs5EM9T/VX3Epi6nO1Ojal9EnvFX0oBhogaoAoGCCqGSM49
AwEHoUQDQgAEZdDaaYrW0AsZuMEwDUGPkTXmUqEKZdJg4Nwj+bB6rEDKL/Vjgqza
j0giGgCHcWmZhOgsbpYclODX5ebqp15XQQ==
-----END EC PRIVATE KEY-----
";

const NVRAM_AT: usize = 0x10000;
const KEY_AT: usize = 0x20000;
const ROOTFS_AT: usize = 0x30000;

/// A Broadcom NVRAM partition: the `FLSH` header, then `name=value` strings.
fn nvram(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in pairs {
        body.extend_from_slice(format!("{k}={v}\0").as_bytes());
    }
    body.push(0);
    let mut out = b"FLSH".to_vec();
    out.extend_from_slice(&(20 + body.len() as u32).to_le_bytes());
    out.extend_from_slice(&[0x31, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&body);
    out
}

/// Erased flash with a kernel uImage at 0, an NVRAM partition, a PEM key
/// and a root filesystem, each at its own offset.
fn flash_dump(with_secrets: bool) -> Vec<u8> {
    let mut flash = uimage::build("kernel", 2, 0, 1, &vec![0x90u8; 3000]);
    flash.resize(NVRAM_AT, 0xff);
    if with_secrets {
        flash.extend(nvram(&[
            ("lan_ipaddr", "192.168.1.1"),
            ("http_username", "admin"),
            ("http_passwd", "1234"),
        ]));
    }
    flash.resize(KEY_AT, 0xff);
    if with_secrets {
        flash.extend_from_slice(KEY.as_bytes());
    }
    flash.resize(ROOTFS_AT, 0xff);
    flash.extend(squashfs(
        &[
            Entry::Dir {
                path: "etc",
                mode: 0o755,
            },
            Entry::File {
                path: "etc/passwd",
                mode: 0o644,
                data: b"root:x:0:0::/root:/bin/sh\n".to_vec(),
            },
            Entry::File {
                path: "etc/shadow",
                mode: 0o600,
                data: b"root:*:19000:0:99999:7:::\n".to_vec(),
            },
            Entry::Dir {
                path: "bin",
                mode: 0o755,
            },
        ],
        &GZIP_CODEC,
    ));
    flash.resize(ROOTFS_AT + 0x10000, 0xff);
    flash
}

#[test]
fn nvram_and_a_key_outside_any_container_are_found_at_their_offsets() {
    let report = scan_bytes(flash_dump(true).into(), "flash.bin", &ScanOptions::default()).unwrap();
    let formats: Vec<&str> = report.unpack.containers.iter().map(|c| c.format).collect();
    assert_eq!(formats, ["uimage", "squashfs"], "neither region is a container");
    let at = |id: &str| -> Vec<(String, String, Option<usize>, Option<u64>)> {
        report
            .findings
            .iter()
            .filter(|f| f.id == id)
            .map(|f| (f.path.clone(), f.container.to_string(), f.line, f.offset))
            .collect()
    };
    // The password entry: after the 20-byte header and `lan_ipaddr=…\0` and
    // `http_username=admin\0`.
    let passwd_at = (NVRAM_AT + 20 + "lan_ipaddr=192.168.1.1\0".len() + "http_username=admin\0".len()) as u64;
    let expected = vec![("image".to_string(), "flash.bin".to_string(), None, Some(passwd_at))];
    for id in ["FW-CRED-002", "FW-CRED-012"] {
        assert_eq!(at(id), expected, "{id}: {:?}", report.findings);
    }
    let default = report.findings.iter().find(|f| f.id == "FW-CRED-002").unwrap();
    assert!(
        default.evidence.contains("http_passwd") && default.secret.as_deref() == Some("1234"),
        "{}",
        default.evidence
    );
    assert_eq!(
        default.sha256.as_deref(),
        Some(report.image.sha256.as_str()),
        "evidence in unclaimed bytes cites the image's hash"
    );
    assert_eq!(
        at("FW-SECRET-001"),
        [("image".to_string(), "flash.bin".to_string(), None, Some(KEY_AT as u64))]
    );
}

#[test]
fn without_them_the_same_dump_has_no_finding_there() {
    let report = scan_bytes(flash_dump(false).into(), "flash.bin", &ScanOptions::default()).unwrap();
    let raw: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.path == "image" && f.check != "updates")
        .map(|f| f.id.as_str())
        .collect();
    assert!(raw.is_empty(), "{raw:?}");
}
