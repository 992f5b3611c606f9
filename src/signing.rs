//! Signing the canonical JSON report with Ed25519 (`fwcert keygen`,
//! `scan --sign`, `fwcert verify`).
//!
//! What is signed is the JSON report's bytes exactly as written: it holds
//! the image hash, the rules digest, the vulnerability data's snapshot
//! dates, the declaration's digest and every verdict, and it is
//! deterministic, so the signature is too (Ed25519 signatures are
//! deterministic; no time is signed). The signature travels beside the
//! report as a small JSON document (`REPORT.sig`) naming the algorithm, the
//! public key and the report's SHA-256; any altered byte of the report
//! makes [`verify`] fail.
//!
//! Keys are standard files: the private key is PKCS#8 PEM and the public
//! key SubjectPublicKeyInfo PEM, both readable by OpenSSL
//! (`openssl pkey -in KEY -pubout`).

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The signature document's schema string.
pub const SCHEMA: &str = "fwcert-signature/1";

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("not an Ed25519 private key in PKCS#8 PEM: {0}")]
    PrivateKey(String),
    #[error("not an Ed25519 public key in SubjectPublicKeyInfo PEM: {0}")]
    PublicKey(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
    #[error("no randomness for a key: {0}")]
    Random(String),
    #[error("not a fwcert signature: {0}")]
    Document(String),
    #[error("the report was signed with another key (public key {0})")]
    OtherKey(String),
    #[error("the report's SHA-256 is {actual}, the signature is for {signed}: the report was altered")]
    Digest { actual: String, signed: String },
    #[error("the signature does not verify: the report or the signature was altered")]
    Invalid,
}

/// A new key pair: (private key PEM, public key PEM).
pub fn generate() -> Result<(String, String), SignError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| SignError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    // PKCS#8 v1 (no public key inside): OpenSSL 3.0 refuses the v2 form.
    let pair = KeypairBytes {
        secret_key: seed,
        public_key: None,
    };
    seed.fill(0);
    let private = pair
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| SignError::Encode(e.to_string()))?
        .to_string();
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SignError::Encode(e.to_string()))?;
    Ok((private, public))
}

/// The detached signature document of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureDoc {
    pub schema: String,
    /// `ed25519`.
    pub algorithm: String,
    /// The 32-byte public key, hex.
    pub public_key: String,
    /// SHA-256 of the signed report bytes, hex: says which report this is
    /// for, and makes a mismatch readable.
    pub report_sha256: String,
    /// The 64-byte signature over the report bytes, hex.
    pub signature: String,
}

/// Signs `report` (the JSON report's bytes) with the PKCS#8 PEM key;
/// returns the signature document as JSON text (deterministic).
pub fn sign(private_pem: &str, report: &[u8]) -> Result<String, SignError> {
    let key = SigningKey::from_pkcs8_pem(private_pem).map_err(|e| SignError::PrivateKey(e.to_string()))?;
    let doc = SignatureDoc {
        schema: SCHEMA.into(),
        algorithm: "ed25519".into(),
        public_key: hex::encode(key.verifying_key().as_bytes()),
        report_sha256: hex::encode(Sha256::digest(report)),
        signature: hex::encode(key.sign(report).to_bytes()),
    };
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| SignError::Encode(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// Checks `signature` (the document [`sign`] wrote) over `report` with
/// the public key PEM. `Ok` only when the key is the signer's and every
/// byte of the report is the signed one.
pub fn verify(public_pem: &str, report: &[u8], signature: &str) -> Result<SignatureDoc, SignError> {
    let key = VerifyingKey::from_public_key_pem(public_pem).map_err(|e| SignError::PublicKey(e.to_string()))?;
    let doc: SignatureDoc = serde_json::from_str(signature).map_err(|e| SignError::Document(e.to_string()))?;
    if doc.schema != SCHEMA || doc.algorithm != "ed25519" {
        return Err(SignError::Document(format!(
            "schema `{}`, algorithm `{}`",
            doc.schema, doc.algorithm
        )));
    }
    if doc.public_key != hex::encode(key.as_bytes()) {
        return Err(SignError::OtherKey(doc.public_key.clone()));
    }
    let actual = hex::encode(Sha256::digest(report));
    if actual != doc.report_sha256 {
        return Err(SignError::Digest {
            actual,
            signed: doc.report_sha256.clone(),
        });
    }
    let bytes: [u8; 64] = hex::decode(&doc.signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| SignError::Document("the signature is not 64 bytes of hex".into()))?;
    key.verify_strict(report, &Signature::from_bytes(&bytes))
        .map_err(|_| SignError::Invalid)?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_any_altered_byte_does_not() {
        let (private, public) = generate().unwrap();
        let report = br#"{"schema":"fwcert-report/2","outcome":{"exit_code":0}}"#;
        let sig = sign(&private, report).unwrap();
        assert_eq!(sign(&private, report).unwrap(), sig, "deterministic");
        assert!(verify(&public, report, &sig).is_ok());
        for i in 0..report.len() {
            let mut altered = report.to_vec();
            altered[i] ^= 0x01;
            assert!(verify(&public, &altered, &sig).is_err(), "byte {i}");
        }
        // A signature altered to match an altered report's digest still fails.
        let mut altered = report.to_vec();
        altered[3] = b'X';
        let forged = sig.replace(
            &hex::encode(Sha256::digest(report)),
            &hex::encode(Sha256::digest(&altered)),
        );
        assert!(matches!(verify(&public, &altered, &forged), Err(SignError::Invalid)));
        // Another key's public half is refused.
        let (_, other) = generate().unwrap();
        assert!(matches!(verify(&other, report, &sig), Err(SignError::OtherKey(_))));
    }
}
