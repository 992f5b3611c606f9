//! What one simple command of an update script does, as far as the
//! updater family cares: write flash, verify a signature, compare
//! versions, or download something.
//!
//! The command lists are facts about the tools' documented options:
//! `openssl dgst -verify` / `pkeyutl -verify` / `cms|smime -verify` exit
//! non-zero when the signature does not verify (OpenSSL manual pages);
//! OpenWrt's `usign -V`, OpenBSD's `signify -V`, `minisign -V`, `gpg
//! --verify` and `gpgv` likewise. Flash writers: MTD utils (`flashcp`,
//! `nandwrite`, `ubiupdatevol`), OpenWrt's `mtd write` and `sysupgrade`,
//! and `dd` onto a flash or disk device.

use crate::inventory::boot::basename;
use crate::inventory::boot::shell::{Part, Word};

/// A word's text as far as it is known: literal parts as they are, other
/// parts as their source text (`$URL`, `$(cat /x)`).
pub fn text(w: &Word) -> String {
    w.literal().unwrap_or_else(|| w.raw.clone())
}

/// Whether `w` is an assignment word (`NAME=value`).
pub fn is_assignment(w: &Word) -> bool {
    let Some(Part::Lit { text, quoted: false }) = w.parts.first() else {
        return false;
    };
    match text.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
        }
        None => false,
    }
}

/// The command's words after leading assignments and the `exec`,
/// `command`, `nice`, `nohup`, `time` prefixes.
pub fn argv(words: &[Word]) -> &[Word] {
    let mut i = 0;
    while i < words.len() && is_assignment(&words[i]) {
        i += 1;
    }
    while i < words.len() && matches!(text(&words[i]).as_str(), "exec" | "command" | "nice" | "nohup" | "time") {
        i += 1;
    }
    &words[i..]
}

/// The name a command runs as (its basename).
pub fn name(argv: &[Word]) -> Option<String> {
    argv.first().map(|w| basename(&text(w)).to_string())
}

/// What a simple command is, for the updater.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Writes an image to flash or a block device.
    Flash,
    /// Verifies a signature; exits non-zero when it does not verify.
    Verify,
    /// Compares versions (anti-rollback); either outcome may be the
    /// refusing one.
    VersionCompare,
    /// A test on a saved exit status (`[ $? -ne 0 ]`, `[ "$rc" = 0 ]`):
    /// `true` when success means the saved status was non-zero.
    StatusTest {
        var: String,
        inverted: bool,
    },
    /// A download; `insecure` names why its transport is not protected.
    Fetch {
        insecure: Option<String>,
    },
    Other,
}

/// Checksums: integrity against damage only; named in evidence, never a
/// signature check.
pub fn is_checksum_only(name: &str, args: &[String]) -> bool {
    matches!(name, "md5sum" | "sha1sum" | "sha256sum" | "sha512sum" | "cksum")
        && args.iter().any(|a| a == "-c" || a == "--check")
        || name == "crc32"
}

/// Classify a command from its name and argument texts (`args` excludes
/// the name). `expanded` gives the arguments with known variables
/// substituted, for URLs.
pub fn role(name: &str, args: &[String], expanded: &[String]) -> Role {
    let has = |a: &str| args.iter().any(|x| x == a);
    match name {
        "mtd" if has("write") => Role::Flash,
        "flashcp" | "nandwrite" | "ubiupdatevol" | "sysupgrade" => Role::Flash,
        "dd" if args.iter().any(|a| is_flash_device_target(a)) => Role::Flash,
        "openssl" => {
            let sub = args.first().map(String::as_str).unwrap_or("");
            match sub {
                "dgst" | "pkeyutl" | "rsautl" if has("-verify") || has("-prverify") => Role::Verify,
                "smime" | "cms" if has("-verify") => Role::Verify,
                _ => Role::Other,
            }
        }
        "usign" | "signify" | "signify-openbsd" | "minisign" if has("-V") => Role::Verify,
        "gpg" | "gpg2" if has("--verify") => Role::Verify,
        "gpgv" | "gpgv2" => Role::Verify,
        "dpkg" if has("--compare-versions") => Role::VersionCompare,
        "opkg" if has("compare-versions") => Role::VersionCompare,
        "[" | "test" | "[[" => test_role(args),
        "wget" | "curl" | "uclient-fetch" | "tftp" | "ftpget" => Role::Fetch {
            insecure: fetch_insecure(name, expanded),
        },
        _ => Role::Other,
    }
}

/// `of=/dev/mtd…`, `of=/dev/mmcblk…`: a `dd` that writes a device.
fn is_flash_device_target(a: &str) -> bool {
    a.strip_prefix("of=/dev/").is_some_and(|d| {
        ["mtd", "mmcblk", "nand", "ubi", "sd", "hd", "vd", "block/"]
            .iter()
            .any(|p| d.starts_with(p))
    }) || a.starts_with("of=/dev/$")
}

/// Words that name a version in a comparison's operand.
fn versionish(a: &str) -> bool {
    let l = a.to_ascii_lowercase();
    ["ver", "build", "rev", "release"].iter().any(|k| l.contains(k))
}

fn test_role(args: &[String]) -> Role {
    let ops = ["-gt", "-ge", "-lt", "-le", ">", "<"];
    let status_var = |a: &str| -> Option<String> {
        let v = a.trim_matches('"');
        let v = v.strip_prefix('$')?;
        let v = v.trim_start_matches('{').trim_end_matches('}');
        (v == "?" || v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| v.to_string())
    };
    // `[ $? -ne 0 ]` / `[ "$rc" = 0 ]` and the like.
    let operands: Vec<&String> = args.iter().filter(|a| *a != "]" && *a != "]]").collect();
    if let [l, op, r] = operands.as_slice() {
        let (var, zero) = match (status_var(l), status_var(r)) {
            (Some(v), _) if r.trim_matches('"') == "0" => (Some(v), true),
            (_, Some(v)) if l.trim_matches('"') == "0" => (Some(v), true),
            _ => (None, false),
        };
        if let (Some(var), true) = (var, zero) {
            let inverted = match op.as_str() {
                "-ne" | "!=" | "-gt" | "-lt" => Some(true),
                "-eq" | "=" | "==" => Some(false),
                _ => None,
            };
            if let Some(inverted) = inverted {
                return Role::StatusTest { var, inverted };
            }
        }
        if ops.contains(&op.as_str()) && (versionish(l) || versionish(r)) {
            return Role::VersionCompare;
        }
    }
    if args
        .iter()
        .any(|a| a.contains("sort -V") || a.contains("sort --version-sort"))
    {
        return Role::VersionCompare;
    }
    Role::Other
}

/// Why a download's transport is unprotected, or `None` when it uses TLS
/// with certificate checks (or cannot be told).
fn fetch_insecure(name: &str, args: &[String]) -> Option<String> {
    if matches!(name, "tftp" | "ftpget") {
        return Some(format!("{name} has no transport security"));
    }
    let has = |a: &str| args.iter().any(|x| x == a);
    if name == "wget" && has("--no-check-certificate") {
        return Some("wget --no-check-certificate accepts any certificate".into());
    }
    if name == "uclient-fetch" && has("--no-check-certificate") {
        return Some("uclient-fetch --no-check-certificate accepts any certificate".into());
    }
    if name == "curl"
        && args.iter().any(|a| {
            a == "--insecure"
                || (a.starts_with('-')
                    && !a.starts_with("--")
                    && a.len() > 1
                    && a[1..].chars().all(|c| c.is_ascii_alphabetic())
                    && a.contains('k'))
        })
    {
        return Some("curl -k accepts any certificate".into());
    }
    if let Some(u) = args.iter().find(|a| a.contains("http://") || a.contains("ftp://")) {
        return Some(format!("fetched over plain HTTP/FTP: {u}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(name: &str, args: &[&str]) -> Role {
        let a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        role(name, &a, &a)
    }

    #[test]
    fn roles() {
        assert_eq!(r("mtd", &["-r", "write", "/tmp/fw", "firmware"]), Role::Flash);
        assert_eq!(r("mtd", &["erase", "firmware"]), Role::Other);
        assert_eq!(r("dd", &["if=/tmp/fw", "of=/dev/mtdblock3"]), Role::Flash);
        assert_eq!(r("dd", &["if=/dev/zero", "of=/tmp/x"]), Role::Other);
        assert_eq!(
            r(
                "openssl",
                &["dgst", "-sha256", "-verify", "k.pem", "-signature", "s", "f"]
            ),
            Role::Verify
        );
        assert_eq!(r("openssl", &["dgst", "-sha256", "f"]), Role::Other);
        assert_eq!(r("usign", &["-V", "-m", "f", "-P", "/etc/opkg/keys"]), Role::Verify);
        assert_eq!(
            r("[", &["$NEW_VERSION", "-gt", "$CUR_VERSION", "]"]),
            Role::VersionCompare
        );
        assert_eq!(r("[", &["$a", "-gt", "$b", "]"]), Role::Other);
        assert_eq!(
            r("[", &["$?", "-ne", "0", "]"]),
            Role::StatusTest {
                var: "?".into(),
                inverted: true
            }
        );
        assert_eq!(
            r("[", &["0", "=", "\"$rc\"", "]"]),
            Role::StatusTest {
                var: "rc".into(),
                inverted: false
            }
        );
        assert!(matches!(
            r("curl", &["-sk", "https://x/fw.bin"]),
            Role::Fetch { insecure: Some(_) }
        ));
        assert!(matches!(
            r("curl", &["-s", "https://x/fw.bin"]),
            Role::Fetch { insecure: None }
        ));
        assert!(matches!(
            r("wget", &["http://x/fw.bin"]),
            Role::Fetch { insecure: Some(_) }
        ));
        assert!(is_checksum_only("md5sum", &["-c".into()]));
    }
}
