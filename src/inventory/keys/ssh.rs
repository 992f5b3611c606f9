//! SSH key formats: the wire encoding of public keys (RFC 4253 6.6,
//! RFC 5656, RFC 8709), `authorized_keys` lines (sshd(8) AUTHORIZED_KEYS
//! FILE FORMAT), public key lines (`id_rsa.pub`) and the `openssh-key-v1`
//! private key container (OpenSSH PROTOCOL.key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;

use super::pkcs;
use super::{KeyInfo, ParsedKey};
use crate::hash::{fingerprint_of, openssh_fingerprint};

/// A reader over SSH wire data.
pub struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Wire(data)
    }

    pub fn u32(&mut self) -> Option<u32> {
        let b = self.0.get(..4)?;
        self.0 = &self.0[4..];
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A length-prefixed string; the length is checked against what is left.
    pub fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        let s = self.0.get(..n)?;
        self.0 = &self.0[n..];
        Some(s)
    }

    /// An mpint as an unsigned magnitude (`None` for negatives).
    pub fn mpint(&mut self) -> Option<&'a [u8]> {
        let s = self.string()?;
        if s.first().is_some_and(|b| b & 0x80 != 0) {
            return None;
        }
        Some(&s[s.iter().take_while(|b| **b == 0).count()..])
    }

    pub fn rest(&self) -> &'a [u8] {
        self.0
    }
}

/// Parse a public key blob: its key type, size and SPKI when derivable.
pub fn public_blob(blob: &[u8]) -> Option<(String, ParsedKey)> {
    let mut w = Wire::new(blob);
    let kind = String::from_utf8(w.string()?.to_vec()).ok()?;
    let parsed = match kind.as_str() {
        "ssh-rsa" => {
            let e = w.mpint()?;
            let n = w.mpint()?;
            let bits = super::der::bit_len(n);
            if bits < 256 || e.is_empty() {
                return None;
            }
            ParsedKey {
                info: KeyInfo::sized("RSA", bits),
                spki: Some(pkcs::spki_rsa(n, e)),
            }
        }
        "ssh-dss" => {
            let p = w.mpint()?;
            let q = w.mpint()?;
            let g = w.mpint()?;
            let y = w.mpint()?;
            ParsedKey {
                info: KeyInfo::sized("DSA", super::der::bit_len(p)),
                spki: Some(pkcs::spki_dsa(p, q, g, y)),
            }
        }
        k if k.starts_with("ecdsa-sha2-") || k.starts_with("sk-ecdsa-sha2-") => {
            let curve = String::from_utf8(w.string()?.to_vec()).ok()?;
            let point = w.string()?;
            if k.starts_with("sk-") {
                w.string()?; // application
            }
            let name = match curve.as_str() {
                "nistp256" => "prime256v1",
                "nistp384" => "secp384r1",
                "nistp521" => "secp521r1",
                _ => return None,
            };
            let (_, oid, bits) = pkcs::curve_by_name(name)?;
            ParsedKey {
                info: KeyInfo {
                    algorithm: "EC",
                    bits: Some(bits),
                    curve: Some(name.to_string()),
                },
                spki: Some(pkcs::spki_ec(oid, point)),
            }
        }
        "ssh-ed25519" | "sk-ssh-ed25519@openssh.com" => {
            let pk = w.string()?;
            if pk.len() != 32 {
                return None;
            }
            if kind.starts_with("sk-") {
                w.string()?;
            }
            ParsedKey {
                info: KeyInfo::sized("Ed25519", 256),
                spki: Some(pkcs::spki_edwards(pkcs::ED25519, pk)),
            }
        }
        _ => return None,
    };
    w.rest().is_empty().then_some((kind, parsed))
}

/// One key line of an `authorized_keys` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthorizedKey {
    pub file: String,
    pub line: usize,
    /// The key type named on the line (`ssh-rsa`, `ssh-ed25519`, …).
    pub key_type: String,
    pub key: KeyInfo,
    /// Login options before the key (`command=`, `from=`…), verbatim.
    pub options: Option<String>,
    pub comment: Option<String>,
    /// `SHA256:…` as `ssh-keygen -l` prints it.
    pub openssh_fingerprint: String,
    /// `sha256:<hex>` over the key's SubjectPublicKeyInfo.
    pub fingerprint: String,
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-") || t.starts_with("ecdsa-sha2-") || t.starts_with("sk-")
}

/// One public key line, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLine {
    pub options: Option<String>,
    pub key_type: String,
    pub blob: Vec<u8>,
    pub comment: Option<String>,
}

/// Split a line into options (which may quote spaces), key type, base64
/// blob and comment. `None` when no well-formed key is on the line.
pub fn parse_key_line(line: &str) -> Option<KeyLine> {
    let line = line.trim();
    let (options, rest) = if line.split_whitespace().next().is_some_and(is_key_type) {
        (None, line)
    } else {
        // Options end at the first whitespace outside double quotes.
        let mut quoted = false;
        let mut end = None;
        for (i, c) in line.char_indices() {
            match c {
                '"' => quoted = !quoted,
                c if c.is_whitespace() && !quoted => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end?;
        (Some(line[..end].to_string()), line[end..].trim_start())
    };
    let mut parts = rest.splitn(3, char::is_whitespace);
    let key_type = parts.next()?.to_string();
    if !is_key_type(&key_type) {
        return None;
    }
    let blob = STANDARD.decode(parts.next()?).ok()?;
    let comment = parts.next().map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    Some(KeyLine {
        options,
        key_type,
        blob,
        comment,
    })
}

/// Parse `authorized_keys`; lines that hold no valid key are skipped.
pub fn parse_authorized_keys(path: &str, text: &str) -> Vec<AuthorizedKey> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some(k) = parse_key_line(l) else {
            continue;
        };
        let Some((blob_type, parsed)) = public_blob(&k.blob) else {
            continue;
        };
        if blob_type != k.key_type {
            continue;
        }
        out.push(AuthorizedKey {
            file: path.to_string(),
            line: i + 1,
            key_type: k.key_type,
            fingerprint: fingerprint_of(parsed.spki.as_deref().unwrap_or(&k.blob)),
            key: parsed.info,
            options: k.options,
            comment: k.comment,
            openssh_fingerprint: openssh_fingerprint(&k.blob),
        });
    }
    out
}

/// What an `openssh-key-v1` container says about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSshKey {
    pub parsed: ParsedKey,
    /// `None` when the private part is stored in the clear.
    pub cipher: Option<String>,
    pub kdf: String,
    pub comment: Option<String>,
}

const MAGIC: &[u8] = b"openssh-key-v1\0";

/// Parse the decoded body of an `OPENSSH PRIVATE KEY` block. For an
/// unencrypted key the private section must also be well formed (its two
/// check words equal).
pub fn openssh_private(body: &[u8]) -> Option<OpenSshKey> {
    let mut w = Wire::new(body.strip_prefix(MAGIC)?);
    let cipher = String::from_utf8(w.string()?.to_vec()).ok()?;
    let kdf = String::from_utf8(w.string()?.to_vec()).ok()?;
    let _kdf_options = w.string()?;
    let n = w.u32()?;
    if n != 1 {
        return None; // OpenSSH writes exactly one key per file
    }
    let public = w.string()?;
    let private = w.string()?;
    if !w.rest().is_empty() {
        return None;
    }
    let (_, parsed) = public_blob(public)?;
    let mut comment = None;
    if cipher == "none" {
        if kdf != "none" {
            return None;
        }
        let mut p = Wire::new(private);
        if p.u32()? != p.u32()? {
            return None;
        }
        let _key_type = p.string()?;
        // Skip the key fields to the comment: their count depends on the type.
        let fields = match parsed.info.algorithm {
            "RSA" => 6,
            "DSA" => 5,
            "EC" => 3,
            _ => 2,
        };
        for _ in 0..fields {
            p.string()?;
        }
        comment = p
            .string()
            .and_then(|c| String::from_utf8(c.to_vec()).ok())
            .filter(|c| !c.is_empty());
    } else if private.is_empty() || private.len() % 8 != 0 {
        return None;
    }
    Some(OpenSshKey {
        parsed,
        cipher: (cipher != "none").then_some(cipher),
        kdf,
        comment,
    })
}

/// Parse a dropbear private key file (what `dropbearkey` writes to
/// `/etc/dropbear/dropbear_*_host_key`): the public key in its wire form
/// followed by the private fields, with nothing after them (dropbear
/// `signkey.c`: RSA `e n d p q`, DSS `p q g y x`, ECDSA `curve Q d`,
/// Ed25519 one string of the 32-byte seed and the 32-byte public key).
///
/// Only the structure is checked (no arithmetic on the numbers), which is
/// what tells a key from a file that is merely named like one. The SPKI is
/// that of the public half, so the fingerprint matches the same key in any
/// other form.
pub fn dropbear_private(data: &[u8]) -> Option<ParsedKey> {
    let mut w = Wire::new(data);
    let kind = w.string()?;
    let private_fields = match kind {
        b"ssh-ed25519" => {
            let both = w.string()?;
            if both.len() != 64 || !w.rest().is_empty() {
                return None;
            }
            return Some(ParsedKey {
                info: KeyInfo::sized("Ed25519", 256),
                spki: Some(pkcs::spki_edwards(pkcs::ED25519, &both[32..])),
            });
        }
        b"ssh-rsa" => {
            w.mpint()?; // e
            w.mpint()?; // n
            3 // d p q
        }
        b"ssh-dss" => {
            for _ in 0..4 {
                w.mpint()?; // p q g y
            }
            1 // x
        }
        k if k.starts_with(b"ecdsa-sha2-") => {
            w.string()?; // curve
            w.string()?; // Q
            1 // d
        }
        _ => return None,
    };
    let public_len = data.len() - w.rest().len();
    for _ in 0..private_fields {
        if w.mpint()?.is_empty() {
            return None;
        }
    }
    if !w.rest().is_empty() {
        return None;
    }
    let (_, parsed) = public_blob(data.get(..public_len)?)?;
    Some(parsed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s);
    }

    pub fn ed25519_blob(pk: [u8; 32]) -> Vec<u8> {
        let mut b = Vec::new();
        string(&mut b, b"ssh-ed25519");
        string(&mut b, &pk);
        b
    }

    /// An `openssh-key-v1` body for an Ed25519 key, clear or "encrypted".
    pub fn openssh_body(pk: [u8; 32], cipher: &str, comment: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        string(&mut b, cipher.as_bytes());
        string(&mut b, if cipher == "none" { b"none" } else { b"bcrypt" });
        string(&mut b, b"");
        b.extend_from_slice(&1u32.to_be_bytes());
        string(&mut b, &ed25519_blob(pk));
        let mut p = Vec::new();
        p.extend_from_slice(&[1, 2, 3, 4, 1, 2, 3, 4]);
        string(&mut p, b"ssh-ed25519");
        string(&mut p, &pk);
        string(&mut p, &[5u8; 64]);
        string(&mut p, comment.as_bytes());
        while p.len() % 8 != 0 {
            p.push(p.len() as u8);
        }
        string(&mut b, &p);
        b
    }

    #[test]
    fn openssh_clear_and_encrypted() {
        let k = openssh_private(&openssh_body([9; 32], "none", "dev@build")).unwrap();
        assert_eq!(k.cipher, None);
        assert_eq!(k.comment.as_deref(), Some("dev@build"));
        assert_eq!(k.parsed.info.algorithm, "Ed25519");
        let e = openssh_private(&openssh_body([9; 32], "aes256-ctr", "")).unwrap();
        assert_eq!(e.cipher.as_deref(), Some("aes256-ctr"));
        // Same public key, same SPKI whatever the protection.
        assert_eq!(k.parsed.spki, e.parsed.spki);
        assert!(openssh_private(b"openssh-key-v1\0\0\0\0\x04none").is_none());
    }

    /// A dropbear RSA key file as `dropbearkey` lays it out.
    pub fn dropbear_rsa(n: &[u8], private: &[&[u8]]) -> Vec<u8> {
        let mut b = Vec::new();
        string(&mut b, b"ssh-rsa");
        string(&mut b, &[1, 0, 1]);
        string(&mut b, n);
        for p in private {
            string(&mut b, p);
        }
        b
    }

    #[test]
    fn dropbear_keys_parse_by_structure() {
        let n = [0x41u8; 40];
        let k = dropbear_private(&dropbear_rsa(&n, &[b"d", b"p", b"q"])).unwrap();
        assert_eq!(k.info, KeyInfo::sized("RSA", 319));
        // Same public key as the `ssh-rsa` line of the same modulus.
        let mut public = Vec::new();
        string(&mut public, b"ssh-rsa");
        string(&mut public, &[1, 0, 1]);
        string(&mut public, &n);
        assert_eq!(k.spki, public_blob(&public).unwrap().1.spki);
        // A public key alone, a missing or empty private field, trailing
        // bytes: not a private key.
        assert!(dropbear_private(&public).is_none());
        assert!(dropbear_private(&dropbear_rsa(&n, &[b"d", b"p"])).is_none());
        assert!(dropbear_private(&dropbear_rsa(&n, &[b"d", b"", b"q"])).is_none());
        let mut trailing = dropbear_rsa(&n, &[b"d", b"p", b"q"]);
        trailing.push(0);
        assert!(dropbear_private(&trailing).is_none());
        assert!(dropbear_private(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\0\x01fixture-key-material").is_none());
        let mut ed = Vec::new();
        string(&mut ed, b"ssh-ed25519");
        let mut both = vec![7u8; 32];
        both.extend_from_slice(&[9u8; 32]);
        string(&mut ed, &both);
        let k = dropbear_private(&ed).unwrap();
        assert_eq!(k.spki, public_blob(&ed25519_blob([9; 32])).unwrap().1.spki);
        // Every truncation is rejected without a panic.
        for cut in 0..ed.len() {
            assert!(dropbear_private(&ed[..cut]).is_none());
        }
    }

    #[test]
    fn authorized_keys_with_options() {
        let b64 = STANDARD.encode(ed25519_blob([3; 32]));
        let text = format!(
            "# comment\ncommand=\"echo hi there\",no-pty ssh-ed25519 {b64} vendor@factory\nssh-ed25519 notbase64!\nssh-rsa {b64}\n"
        );
        let k = parse_authorized_keys("/root/.ssh/authorized_keys", &text);
        assert_eq!(k.len(), 1, "type mismatch and bad base64 are skipped");
        assert_eq!(k[0].line, 2);
        assert_eq!(k[0].options.as_deref(), Some("command=\"echo hi there\",no-pty"));
        assert_eq!(k[0].comment.as_deref(), Some("vendor@factory"));
        assert!(k[0].openssh_fingerprint.starts_with("SHA256:"));
    }
}
