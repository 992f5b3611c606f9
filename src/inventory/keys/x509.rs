//! X.509 certificates (RFC 5280 4.1): the fields a reviewer needs, read
//! with the bounds-checked DER walker. Extensions are not interpreted.

use serde::Serialize;

use super::KeyInfo;
use super::der::{self, BIT_STRING, INTEGER, OID, SEQUENCE, SET, Seq, ctx};
use super::pkcs;

/// What fwcert reads from one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertFields {
    pub subject: String,
    pub issuer: String,
    /// Serial number in hex.
    pub serial: String,
    /// RFC 3339 UTC times.
    pub not_before: String,
    pub not_after: String,
    pub key: KeyInfo,
    pub signature_algorithm: String,
    pub self_issued: bool,
}

/// Signature algorithm OIDs and names.
const SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.2.840.10040.4.3", "dsa-with-sha1"),
    ("2.16.840.1.101.3.4.3.2", "dsa-with-sha256"),
    ("1.3.101.112", "Ed25519"),
    ("1.3.101.113", "Ed448"),
];

/// Whether a signature algorithm uses a broken digest (MD2, MD5, SHA-1).
pub fn weak_signature(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    l.starts_with("md2") || l.starts_with("md5") || l.contains("sha1")
}

const ATTRS: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.5", "serialNumber"),
    ("1.2.840.113549.1.9.1", "emailAddress"),
    ("0.9.2342.19200300.100.1.25", "DC"),
];

/// A distinguished name as `CN=…, O=…` in encoded order.
fn name(t: der::Tlv<'_>) -> Option<String> {
    if t.tag != SEQUENCE {
        return None;
    }
    let mut parts = Vec::new();
    let mut rdns = Seq::new(t.content);
    while !rdns.is_empty() {
        let set = rdns.required(SET)?;
        let mut atvs = Seq::new(set.content);
        while !atvs.is_empty() {
            let atv = atvs.required(SEQUENCE)?;
            let mut s = Seq::new(atv.content);
            let oid = der::oid_string(s.required(OID)?.content)?;
            let v = s.any()?;
            let label = ATTRS
                .iter()
                .find(|a| a.0 == oid)
                .map(|a| a.1.to_string())
                .unwrap_or(oid);
            let text = match v.tag {
                // BMPString: UTF-16BE.
                0x1e => {
                    let u: Vec<u16> = v
                        .content
                        .chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect();
                    String::from_utf16_lossy(&u)
                }
                _ => String::from_utf8_lossy(v.content).to_string(),
            };
            parts.push(format!("{label}={}", text.escape_debug()));
        }
    }
    Some(parts.join(", "))
}

/// UTCTime or GeneralizedTime as `YYYY-MM-DDTHH:MM:SSZ`.
fn time(t: der::Tlv<'_>) -> Option<String> {
    let s = std::str::from_utf8(t.content).ok()?;
    let digits = s.strip_suffix('Z')?;
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let full = match (t.tag, digits.len()) {
        (0x17, 12) => {
            let yy: u32 = digits[..2].parse().ok()?;
            format!("{}{digits}", if yy >= 50 { "19" } else { "20" })
        }
        (0x18, 14) => digits.to_string(),
        _ => return None,
    };
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        &full[0..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    ))
}

/// Parse a DER certificate that spans `data` exactly.
pub fn parse(data: &[u8]) -> Option<CertFields> {
    let mut cert = der::whole_sequence(data)?;
    let tbs = cert.required(SEQUENCE)?;
    let (sig_outer, _) = pkcs::algorithm(cert.required(SEQUENCE)?)?;
    cert.required(BIT_STRING)?;
    if !cert.is_empty() {
        return None;
    }
    let mut t = Seq::new(tbs.content);
    let _version = t.optional(ctx(0));
    let serial = t.required(INTEGER)?;
    let (sig_inner, _) = pkcs::algorithm(t.required(SEQUENCE)?)?;
    if sig_inner != sig_outer {
        return None;
    }
    let issuer_t = t.required(SEQUENCE)?;
    let issuer = name(issuer_t)?;
    let validity = t.required(SEQUENCE)?;
    let mut v = Seq::new(validity.content);
    let not_before = time(v.any()?)?;
    let not_after = time(v.any()?)?;
    let subject_t = t.required(SEQUENCE)?;
    let subject = name(subject_t)?;
    let spki = t.required(SEQUENCE)?;
    let key = pkcs::spki(spki.raw)?;
    let signature_algorithm = SIGNATURES
        .iter()
        .find(|s| s.0 == sig_outer)
        .map(|s| s.1.to_string())
        .unwrap_or(sig_outer);
    Some(CertFields {
        subject,
        issuer,
        serial: hex::encode(serial.content),
        not_before,
        not_after,
        key,
        signature_algorithm,
        self_issued: issuer_t.content == subject_t.content,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A structurally valid self-issued certificate with an RSA key of
    /// `bits` and the given signature algorithm OID (signature bytes are
    /// not checked by fwcert).
    pub fn fake_cert(bits: usize, sig_oid: &str, cn: &str) -> Vec<u8> {
        let mut n = vec![0xc3u8; bits / 8];
        n[bits / 8 - 1] = 0x01;
        let spki = pkcs::spki_rsa(&n, &[1, 0, 1]);
        let alg = der::sequence(&[&der::oid(sig_oid), &der::tlv(der::NULL, &[])]);
        let atv = der::sequence(&[&der::oid("2.5.4.3"), &der::tlv(0x0c, cn.as_bytes())]);
        let nm = der::sequence(&[&der::tlv(SET, &atv)]);
        let validity = der::sequence(&[&der::tlv(0x17, b"200101000000Z"), &der::tlv(0x18, b"20300101000000Z")]);
        let version = der::tlv(ctx(0), &der::uint(&[2]));
        let tbs = der::sequence(&[&version, &der::uint(&[0x42]), &alg, &nm, &validity, &nm, &spki]);
        der::sequence(&[&tbs, &alg, &der::tlv(BIT_STRING, &[0, 1, 2, 3])])
    }

    #[test]
    fn reads_fields() {
        let c = parse(&fake_cert(1024, "1.2.840.113549.1.1.5", "camera.local")).unwrap();
        assert_eq!(c.subject, "CN=camera.local");
        assert!(c.self_issued);
        assert_eq!(c.not_before, "2020-01-01T00:00:00Z");
        assert_eq!(c.not_after, "2030-01-01T00:00:00Z");
        assert_eq!(c.key.bits, Some(1024));
        assert_eq!(c.signature_algorithm, "sha1WithRSAEncryption");
        assert!(weak_signature(&c.signature_algorithm));
        assert!(!weak_signature("sha256WithRSAEncryption"));
    }

    #[test]
    fn truncated_certificate_is_rejected() {
        let c = fake_cert(2048, "1.2.840.113549.1.1.11", "x");
        assert!(parse(&c[..c.len() - 1]).is_none());
    }
}
