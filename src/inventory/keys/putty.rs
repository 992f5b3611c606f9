//! PuTTY private key files (`.ppk`, versions 2 and 3), as documented in
//! PuTTY's `sshpubk.c` header comment and the PPK appendix of its manual:
//! `Name: value` headers, then `Public-Lines: N` and `Private-Lines: M`
//! base64 blocks and a `Private-MAC`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::ParsedKey;
use super::ssh::public_blob;

/// What a PPK says about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PuttyKey {
    pub version: u8,
    pub parsed: ParsedKey,
    /// `None` for `Encryption: none`.
    pub cipher: Option<String>,
    pub comment: Option<String>,
}

/// Parse a PPK starting at `text` (the `PuTTY-User-Key-File-` line).
pub fn parse(text: &str) -> Option<PuttyKey> {
    let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
    let (head, key_type) = lines.next()?.split_once(": ")?;
    let version = match head {
        "PuTTY-User-Key-File-2" => 2,
        "PuTTY-User-Key-File-3" => 3,
        _ => return None,
    };
    let mut cipher = None;
    let mut comment = None;
    let mut public = None;
    let mut private_ok = false;
    while let Some(line) = lines.next() {
        let (name, value) = line.split_once(": ")?;
        match name {
            "Encryption" => cipher = Some(value.to_string()),
            "Comment" => comment = Some(value.to_string()),
            "Public-Lines" | "Private-Lines" => {
                let n: usize = value.parse().ok().filter(|n| *n > 0 && *n < 1024)?;
                let mut b64 = String::new();
                for _ in 0..n {
                    b64.push_str(lines.next()?.trim());
                }
                let bytes = STANDARD.decode(b64).ok()?;
                if name == "Public-Lines" {
                    public = Some(bytes);
                } else {
                    private_ok = !bytes.is_empty();
                }
            }
            "Private-MAC" | "Private-Hash" => {
                if !private_ok || value.is_empty() || !value.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                let (blob_type, parsed) = public_blob(&public?)?;
                if blob_type != key_type {
                    return None;
                }
                let cipher = cipher?;
                return Some(PuttyKey {
                    version,
                    parsed,
                    cipher: (cipher != "none").then_some(cipher),
                    comment: comment.filter(|c| !c.is_empty()),
                });
            }
            _ => {} // Key-Derivation, Argon2-* (version 3)
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::keys::ssh::tests::ed25519_blob;

    fn ppk(cipher: &str) -> String {
        let public = STANDARD.encode(ed25519_blob([4; 32]));
        let private = STANDARD.encode([0x11u8; 36]);
        format!(
            "PuTTY-User-Key-File-2: ssh-ed25519\r\nEncryption: {cipher}\r\nComment: ed25519-key-20200101\r\nPublic-Lines: 1\r\n{public}\r\nPrivate-Lines: 1\r\n{private}\r\nPrivate-MAC: 0123abcd\r\n"
        )
    }

    #[test]
    fn clear_and_encrypted() {
        let k = parse(&ppk("none")).unwrap();
        assert_eq!(k.cipher, None);
        assert_eq!(k.parsed.info.algorithm, "Ed25519");
        assert_eq!(k.comment.as_deref(), Some("ed25519-key-20200101"));
        assert_eq!(parse(&ppk("aes256-cbc")).unwrap().cipher.as_deref(), Some("aes256-cbc"));
        assert!(parse(&ppk("none").replace("Private-MAC: 0123abcd", "Private-MAC: zz")).is_none());
        assert!(parse("PuTTY-User-Key-File-2: ssh-rsa\nEncryption: none\n").is_none());
    }
}
