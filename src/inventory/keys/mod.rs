//! Key material in the firmware: private keys (PEM PKCS#1/SEC1/DSA/PKCS#8,
//! encrypted or not, OpenSSH, PuTTY, PKCS#12, raw DER), certificates and
//! public keys, each parsed to be sure, with its type, size, protection and
//! a stable fingerprint.
//!
//! Fingerprints are `sha256:<hex>`. For a key whose public half can be read
//! without any cryptography (RSA, DSA, EC with its point, Ed25519 from
//! OpenSSH or PuTTY), the hash is over the DER `SubjectPublicKeyInfo`, so
//! the same key gets the same fingerprint in PEM, OpenSSH, PuTTY or DER
//! form and in any image. Otherwise (legacy-encrypted PEM, encrypted
//! PKCS#8, Ed25519 PKCS#8 without its public key) it is over the encoded
//! key as stored, and `fingerprint_basis` says so. A certificate's is the
//! usual SHA-256 over its DER encoding.

pub mod der;
pub mod pem;
pub mod pkcs;
pub mod pkcs12;
pub mod putty;
pub mod ssh;
pub mod x509;

use serde::Serialize;

use super::FileEntry;
use crate::hash::fingerprint_of;

/// A key's algorithm and size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KeyInfo {
    /// `RSA`, `DSA`, `EC`, `Ed25519`, `X25519`, `Ed448`, `X448`, `RSA-PSS`
    /// or `unknown` (an encrypted key whose type is not visible).
    pub algorithm: &'static str,
    pub bits: Option<u32>,
    /// Named curve for EC keys.
    pub curve: Option<String>,
}

impl KeyInfo {
    pub const UNKNOWN: KeyInfo = KeyInfo {
        algorithm: "unknown",
        bits: None,
        curve: None,
    };

    /// A key of a known algorithm and size.
    pub fn sized(algorithm: &'static str, bits: u32) -> KeyInfo {
        KeyInfo {
            algorithm,
            bits: Some(bits),
            curve: None,
        }
    }

    fn with_algorithm(algorithm: &'static str) -> KeyInfo {
        KeyInfo {
            algorithm,
            bits: None,
            curve: None,
        }
    }

    /// `RSA 2048`, `EC prime256v1 256`, `unknown`.
    pub fn describe(&self) -> String {
        let mut s = self.algorithm.to_string();
        if let Some(c) = &self.curve {
            s.push(' ');
            s.push_str(c);
        }
        if let Some(b) = self.bits {
            s.push_str(&format!(" {b}-bit"));
        }
        s
    }

    /// Below today's minimum: RSA under 2048 bits, EC under 224, and DSA of
    /// any size (see [`KeyInfo::weakness`]).
    pub fn is_weak(&self) -> bool {
        self.weakness().is_some()
    }

    /// Why the key is below today's minimum, if it is. The limits are NIST
    /// SP 800-131A Rev. 2 (RSA and EC under 112-bit security: RSA under
    /// 2048 bits, EC under 224) and FIPS 186-5, which no longer approves DSA
    /// for making signatures at any size (OpenSSH disabled `ssh-dss` by
    /// default in 7.0 and removed it in 10.0). A DSA key whose size is not
    /// visible (legacy-encrypted PEM) is judged by its algorithm alone.
    pub fn weakness(&self) -> Option<&'static str> {
        match (self.algorithm, self.bits) {
            ("RSA" | "RSA-PSS", Some(b)) if b < 2048 => Some("RSA under 2048 bits"),
            ("DSA", _) => Some("DSA is no longer approved for signatures (FIPS 186-5)"),
            ("EC", Some(b)) if b < 224 => Some("EC under 224 bits"),
            _ => None,
        }
    }
}

/// A parsed key: what it is, and its public key when derivable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    pub info: KeyInfo,
    /// DER `SubjectPublicKeyInfo`.
    pub spki: Option<Vec<u8>>,
}

/// Where a piece of key material sits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    /// Index into the inventory's files.
    pub file: usize,
    pub offset: u64,
    /// 1-based line, for text files.
    pub line: Option<usize>,
}

/// A private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrivateKey {
    pub at: Location,
    /// `PEM PKCS#1`, `OpenSSH`, `PuTTY v2`, `PKCS#12`, `DER PKCS#8`, …
    pub format: String,
    pub key: KeyInfo,
    /// `None` when the key is stored in the clear; otherwise the cipher or
    /// scheme that needs a passphrase.
    pub protection: Option<String>,
    pub comment: Option<String>,
    pub fingerprint: String,
    /// `public-key` (SPKI) or `encoded-key` (the stored bytes).
    pub fingerprint_basis: &'static str,
}

/// A certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    pub at: Location,
    /// `PEM`, `DER` or `PKCS#12`.
    pub container: &'static str,
    pub fields: x509::CertFields,
    pub fingerprint: String,
}

/// A public key (not a secret; recorded so reviewers see what is trusted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicKey {
    pub at: Location,
    pub format: String,
    pub key: KeyInfo,
    pub fingerprint: String,
}

/// Text that looks like key material but is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LookAlike {
    pub at: Location,
    pub marker: String,
    pub why: String,
}

/// Everything key-shaped found in the firmware.
#[derive(Debug, Clone, Default)]
pub struct KeyInventory {
    pub private_keys: Vec<PrivateKey>,
    pub certificates: Vec<Certificate>,
    pub public_keys: Vec<PublicKey>,
    pub look_alikes: Vec<LookAlike>,
    /// Key stores fwcert recognised but could not look inside (PKCS#12
    /// with only encrypted contents): what they hold is unknown.
    pub unopened: Vec<LookAlike>,
}

fn line_of(data: &[u8], text: bool, offset: usize) -> Option<usize> {
    text.then(|| data[..offset.min(data.len())].iter().filter(|c| **c == b'\n').count() + 1)
}

impl KeyInventory {
    fn private(
        &mut self,
        at: Location,
        format: String,
        parsed: Option<ParsedKey>,
        protection: Option<String>,
        stored: &[u8],
    ) {
        let (key, spki) = match parsed {
            Some(p) => (p.info, p.spki),
            None => (KeyInfo::UNKNOWN, None),
        };
        self.private_with(at, format, key, spki, protection, None, stored);
    }

    #[allow(clippy::too_many_arguments)]
    fn private_with(
        &mut self,
        at: Location,
        format: String,
        key: KeyInfo,
        spki: Option<Vec<u8>>,
        protection: Option<String>,
        comment: Option<String>,
        stored: &[u8],
    ) {
        let (fingerprint, fingerprint_basis) = match &spki {
            Some(s) => (fingerprint_of(s), "public-key"),
            None => (fingerprint_of(stored), "encoded-key"),
        };
        self.private_keys.push(PrivateKey {
            at,
            format,
            key,
            protection,
            comment,
            fingerprint,
            fingerprint_basis,
        });
    }

    fn certificate(&mut self, at: Location, container: &'static str, der: &[u8]) -> bool {
        match x509::parse(der) {
            Some(fields) => {
                self.certificates.push(Certificate {
                    at,
                    container,
                    fields,
                    fingerprint: fingerprint_of(der),
                });
                true
            }
            None => false,
        }
    }

    /// Interpret one DER value by what it is called (`label`, from PEM) or,
    /// for raw DER, by trying each structure. Returns whether it was key
    /// material.
    fn der(&mut self, at: Location, label: Option<&str>, der: &[u8], container: &str) -> bool {
        let fmt = |what: &str| format!("{container} {what}");
        let try_all = label.is_none();
        let is = |l: &str| label == Some(l) || try_all;
        if (is("CERTIFICATE") || label == Some("X509 CERTIFICATE") || label == Some("TRUSTED CERTIFICATE"))
            && self.certificate(at.clone(), if try_all { "DER" } else { "PEM" }, der)
        {
            return true;
        }
        for (l, what, parse) in PRIVATE_DER {
            if is(l)
                && let Some(p) = parse(der)
            {
                self.private(at, fmt(what), Some(p), None, der);
                return true;
            }
        }
        if is("ENCRYPTED PRIVATE KEY")
            && let Some(scheme) = pkcs::encrypted_pkcs8(der)
        {
            self.private(at, fmt("encrypted PKCS#8"), None, Some(scheme), der);
            return true;
        }
        if is("PKCS12")
            && let Some(p) = pkcs12::parse(der)
        {
            self.pkcs12(at, &p, der);
            return true;
        }
        if is("PUBLIC KEY")
            && let Some(k) = pkcs::spki(der)
        {
            self.public_keys.push(PublicKey {
                at,
                format: fmt("SubjectPublicKeyInfo"),
                key: k,
                fingerprint: fingerprint_of(der),
            });
            return true;
        }
        if is("RSA PUBLIC KEY")
            && let Some(p) = pkcs::rsa_public(der)
        {
            let fingerprint = fingerprint_of(p.spki.as_deref().unwrap_or(der));
            self.public_keys.push(PublicKey {
                at,
                format: fmt("PKCS#1 public key"),
                key: p.info,
                fingerprint,
            });
            return true;
        }
        false
    }

    fn pkcs12(&mut self, at: Location, p: &pkcs12::Pkcs12, der: &[u8]) {
        // Every key of a store gets the store's offset; keys whose public
        // half is not visible are told apart by their order.
        for bag in &p.keys {
            match bag {
                pkcs12::Bag::Clear(k) => self.private(at.clone(), "PKCS#12 key bag".into(), Some(k.clone()), None, der),
                pkcs12::Bag::Shrouded(scheme) => self.private(
                    at.clone(),
                    "PKCS#12 shrouded key bag".into(),
                    None,
                    Some(scheme.clone()),
                    der,
                ),
            }
        }
        if p.keys.is_empty() && p.encrypted_contents {
            // A key, if any, is inside contents fwcert cannot open.
            self.unopened.push(LookAlike {
                at: at.clone(),
                marker: "PKCS#12".into(),
                why: "its contents are encrypted and hold no visible key bag".into(),
            });
        }
        for c in &p.certificates {
            self.certificate(at.clone(), "PKCS#12", c);
        }
    }

    /// A PEM block: legacy-encrypted keys are judged by their headers,
    /// everything else by its DER body.
    fn pem(&mut self, at: Location, b: &pem::Block) -> Result<(), &'static str> {
        let encrypted = b
            .headers
            .iter()
            .any(|(k, v)| k == "Proc-Type" && v.trim().ends_with("ENCRYPTED"));
        if encrypted {
            let algorithm = match b.label.as_str() {
                "RSA PRIVATE KEY" => "RSA",
                "EC PRIVATE KEY" => "EC",
                "DSA PRIVATE KEY" => "DSA",
                _ => return Err("encrypted block of an unknown key type"),
            };
            let dek = b.headers.iter().find(|(k, _)| k == "DEK-Info").map(|(_, v)| v.as_str());
            let Some((cipher, iv)) = dek.and_then(|d| d.split_once(',')) else {
                return Err("encrypted key without DEK-Info");
            };
            let iv_ok = !iv.is_empty() && iv.len().is_multiple_of(2) && iv.bytes().all(|c| c.is_ascii_hexdigit());
            if !iv_ok || b.der.is_empty() || !b.der.len().is_multiple_of(8) {
                return Err("encrypted key with a malformed IV or body");
            }
            self.private_with(
                at,
                "PEM legacy-encrypted".into(),
                KeyInfo::with_algorithm(algorithm),
                None,
                Some(cipher.trim().to_string()),
                None,
                &b.der,
            );
            return Ok(());
        }
        if b.label == "OPENSSH PRIVATE KEY" {
            let k = ssh::openssh_private(&b.der).ok_or("not a valid openssh-key-v1 body")?;
            let protection = k.cipher.map(|c| format!("{c} ({} KDF)", k.kdf));
            self.private_with(
                at,
                "OpenSSH".into(),
                k.parsed.info,
                k.parsed.spki,
                protection,
                k.comment,
                &b.der,
            );
            return Ok(());
        }
        if self.der(at, Some(&b.label), &b.der, "PEM") {
            Ok(())
        } else if is_key_label(&b.label) {
            Err("body is not a valid structure for its label")
        } else {
            Ok(()) // other PEM types (PGP, CSR, DH parameters) are not key material here
        }
    }
}

/// Clear private key structures: PEM label, format name, parser.
type KeyParser = fn(&[u8]) -> Option<ParsedKey>;
const PRIVATE_DER: &[(&str, &str, KeyParser)] = &[
    ("RSA PRIVATE KEY", "PKCS#1", pkcs::rsa_private),
    ("PRIVATE KEY", "PKCS#8", pkcs::pkcs8),
    ("EC PRIVATE KEY", "SEC1", |d| pkcs::ec_private(d, None)),
    ("DSA PRIVATE KEY", "DSA", pkcs::dsa_private),
];

fn is_key_label(label: &str) -> bool {
    label.contains("PRIVATE KEY") || label.contains("CERTIFICATE") || label.contains("PUBLIC KEY") || label == "PKCS12"
}

/// Find key material in `files` (only those `scan` selects).
pub fn discover<'a>(files: impl Iterator<Item = (usize, &'a FileEntry<'a>)>) -> KeyInventory {
    let mut inv = KeyInventory::default();
    for (i, f) in files {
        let data = f.data;
        let text = super::text::is_text(data);
        let at = |offset: usize| Location {
            file: i,
            offset: offset as u64,
            line: line_of(data, text, offset),
        };
        let (blocks, markers) = pem::scan(data);
        for m in markers.iter().filter(|m| is_key_label(&m.label)) {
            inv.look_alikes.push(LookAlike {
                at: at(m.offset),
                marker: format!("-----BEGIN {}-----", m.label),
                why: m.why.to_string(),
            });
        }
        for b in &blocks {
            if let Err(why) = inv.pem(at(b.offset), b) {
                inv.look_alikes.push(LookAlike {
                    at: at(b.offset),
                    marker: format!("-----BEGIN {}-----", b.label),
                    why: why.to_string(),
                });
            }
        }
        for off in memchr::memmem::find_iter(data, b"PuTTY-User-Key-File-") {
            let end = data.len().min(off + 64 * 1024);
            let chunk = String::from_utf8_lossy(&data[off..end]);
            match putty::parse(&chunk) {
                Some(k) => {
                    let protection = k.cipher.clone();
                    inv.private_with(
                        at(off),
                        format!("PuTTY v{}", k.version),
                        k.parsed.info,
                        k.parsed.spki,
                        protection,
                        k.comment,
                        &data[off..end],
                    );
                }
                None => inv.look_alikes.push(LookAlike {
                    at: at(off),
                    marker: "PuTTY-User-Key-File-".into(),
                    why: "not a complete PuTTY key file".into(),
                }),
            }
        }
        if data.first() == Some(&der::SEQUENCE) && der::whole_sequence(data).is_some() {
            inv.der(at(0), None, data, "DER");
        }
        if text && !f.path.ends_with("authorized_keys") && !f.path.ends_with("authorized_keys2") {
            public_key_lines(&mut inv, data, &at);
        }
    }
    inv
}

/// How an OpenSSH public key line's key type starts.
const KEY_LINE_STARTS: [&str; 3] = ["ssh-", "ecdsa-sha2-", "sk-"];

/// `ssh-rsa AAAA… comment` lines (`*.pub`, `known_hosts`-like lists).
fn public_key_lines(inv: &mut KeyInventory, data: &[u8], at: &dyn Fn(usize) -> Location) {
    // A key line starts with one of these (after white space), and lossy
    // decoding adds no ASCII: a file holding none of them has no key line,
    // and most text files are passed over without being split into lines.
    if !KEY_LINE_STARTS
        .iter()
        .any(|p| memchr::memmem::find(data, p.as_bytes()).is_some())
    {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        let start = off;
        off += line.len();
        let l = line.trim();
        if !KEY_LINE_STARTS.iter().any(|p| l.starts_with(p)) {
            continue;
        }
        if let Some(k) = ssh::parse_key_line(l)
            && let Some((blob_type, parsed)) = ssh::public_blob(&k.blob)
            && blob_type == k.key_type
        {
            inv.public_keys.push(PublicKey {
                at: at(start),
                format: "OpenSSH public key".into(),
                key: parsed.info,
                fingerprint: fingerprint_of(parsed.spki.as_deref().unwrap_or(&k.blob)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_sizes() {
        let k = |a, b| KeyInfo {
            algorithm: a,
            bits: Some(b),
            curve: None,
        };
        assert!(k("RSA", 1024).is_weak());
        assert!(!k("RSA", 2048).is_weak());
        assert!(k("EC", 192).is_weak());
        assert!(!k("Ed25519", 256).is_weak());
        assert!(k("DSA", 2048).is_weak() && k("DSA", 3072).is_weak());
        assert!(KeyInfo::with_algorithm("DSA").is_weak() && !KeyInfo::with_algorithm("RSA").is_weak());
        assert_eq!(k("RSA", 2048).describe(), "RSA 2048-bit");
    }

    /// Every truncation and every single-byte change of valid structures
    /// must parse or be rejected, never panic.
    #[test]
    fn mutated_inputs_never_panic() {
        let samples: Vec<Vec<u8>> = vec![
            pkcs::tests::fake_rsa(1024),
            x509::tests::fake_cert(2048, "1.2.840.113549.1.1.11", "x"),
            ssh::tests::openssh_body([1; 32], "none", "c"),
        ];
        for s in &samples {
            for cut in 0..s.len() {
                let t = &s[..cut];
                let _ = (pkcs::rsa_private(t), pkcs::pkcs8(t), x509::parse(t), pkcs12::parse(t));
                let _ = ssh::openssh_private(t);
            }
            for i in 0..s.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut m = s.clone();
                    m[i] ^= flip;
                    let _ = (
                        pkcs::rsa_private(&m),
                        pkcs::spki(&m),
                        x509::parse(&m),
                        pkcs12::parse(&m),
                    );
                    let _ = (
                        ssh::openssh_private(&m),
                        pkcs::ec_private(&m, None),
                        pkcs::encrypted_pkcs8(&m),
                    );
                }
            }
        }
        // Text parsers on noise.
        let mut x: u32 = 0x1234_5678;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x & 0xff) as u8
            })
            .collect();
        let _ = pem::scan(&noise);
        let _ = putty::parse(&String::from_utf8_lossy(&noise));
        let _ = crate::inventory::accounts::scan_records("/n", &noise);
        let _ = crate::inventory::config::parse(&String::from_utf8_lossy(&noise));
    }
}
