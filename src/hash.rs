//! The SHA-256 hashes and fingerprints a report carries about an image, in
//! one place, each saying exactly which bytes it hashes and how it is
//! spelled, and the rule set's `rules_digest`.
//!
//! Reports from different versions and images are compared by these
//! strings (a secret's fingerprint joins two vendors' reports), so the
//! bytes hashed and the spelling must never change; see
//! `docs/report-schema.md`.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Lower-case hex of the SHA-256 of `data`, 64 digits: the `sha256` of a
/// file and of the image. Equal to `sha256sum`'s output.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `sha256:` followed by the lower-case hex SHA-256 of `bytes`: the
/// fingerprint of a key (its DER `SubjectPublicKeyInfo` or stored bytes),
/// a certificate (its DER) or a secret (its bytes). Which bytes each caller
/// passes is tabled under "Secret fingerprints" in `docs/report-schema.md`.
pub fn fingerprint_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// OpenSSH's own fingerprint of a public key blob (the wire-format key,
/// as base64-decoded from an `authorized_keys` line): `SHA256:` and the
/// digest in standard base64 without padding, as `ssh-keygen -l` prints it.
pub fn openssh_fingerprint(blob: &[u8]) -> String {
    let d = Sha256::digest(blob);
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(d))
}

/// The first 8 bytes of the SHA-256 of `parts`, as 16 lower-case hex
/// digits: a finding's report fingerprint. Each part is hashed as its
/// length in bytes (a little-endian `u64`) then its UTF-8 bytes, so
/// `["ab", "c"]` and `["a", "bc"]` differ.
pub fn parts_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// The rules digest: SHA-256 over every rule file's relative path and
/// contents, each length-prefixed (little-endian `u64`), in the order
/// given (callers sort by path), as 64 hex digits. Two reports with the
/// same digest used the same rules.
pub fn files_digest(files: &[(&str, &str)]) -> String {
    let mut h = Sha256::new();
    for (p, c) in files {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
        h.update((c.len() as u64).to_le_bytes());
        h.update(c.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_fixed() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_hex(b""), empty);
        assert_eq!(fingerprint_of(b""), format!("sha256:{empty}"));
        assert_eq!(
            openssh_fingerprint(b""),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_eq!(parts_id(&[]), &empty[..16]);
        assert_ne!(parts_id(&["ab", "c"]), parts_id(&["a", "bc"]));
    }
}
