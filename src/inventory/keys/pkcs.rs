//! DER key structures: PKCS#1 RSA, SEC1 EC, OpenSSL DSA, PKCS#8 (plain and
//! encrypted) private keys, and SubjectPublicKeyInfo. Each parser accepts a
//! value only when every field it reads is where the specification puts it
//! (RFC 8017 A.1.2, RFC 5915, RFC 5958, RFC 5280 4.1), so a blob of noise
//! or a truncated key is not a key.

use super::der::{self, BIT_STRING, INTEGER, NULL, OCTET_STRING, OID, SEQUENCE, Seq, ctx};
use super::{KeyInfo, ParsedKey};

pub const RSA: &str = "1.2.840.113549.1.1.1";
pub const EC: &str = "1.2.840.10045.2.1";
pub const DSA: &str = "1.2.840.10040.4.1";
pub const ED25519: &str = "1.3.101.112";
pub const ED448: &str = "1.3.101.113";
pub const X25519: &str = "1.3.101.110";
pub const X448: &str = "1.3.101.111";

/// Named curves: OID, name, field size in bits.
pub const CURVES: &[(&str, &str, u32)] = &[
    ("1.2.840.10045.3.1.1", "prime192v1", 192),
    ("1.3.132.0.33", "secp224r1", 224),
    ("1.2.840.10045.3.1.7", "prime256v1", 256),
    ("1.3.132.0.10", "secp256k1", 256),
    ("1.3.132.0.34", "secp384r1", 384),
    ("1.3.132.0.35", "secp521r1", 521),
    ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1", 256),
    ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1", 384),
    ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1", 512),
];

pub fn curve_by_oid(oid: &str) -> Option<(&'static str, u32)> {
    CURVES.iter().find(|c| c.0 == oid).map(|c| (c.1, c.2))
}

pub fn curve_by_name(name: &str) -> Option<(&'static str, &'static str, u32)> {
    CURVES.iter().find(|c| c.1 == name).copied()
}

fn ec_info(curve_oid: Option<&str>) -> KeyInfo {
    let (curve, bits) = match curve_oid.map(|o| (o, curve_by_oid(o))) {
        Some((_, Some((name, bits)))) => (Some(name.to_string()), Some(bits)),
        Some((o, None)) => (Some(o.to_string()), None),
        None => (None, None),
    };
    KeyInfo {
        algorithm: "EC",
        bits,
        curve,
    }
}

/// `SubjectPublicKeyInfo` for an RSA key.
pub fn spki_rsa(n: &[u8], e: &[u8]) -> Vec<u8> {
    let alg = der::sequence(&[&der::oid(RSA), &der::tlv(NULL, &[])]);
    let key = der::sequence(&[&der::uint(n), &der::uint(e)]);
    der::sequence(&[&alg, &bit_string(&key)])
}

/// `SubjectPublicKeyInfo` for a DSA key.
pub fn spki_dsa(p: &[u8], q: &[u8], g: &[u8], y: &[u8]) -> Vec<u8> {
    let params = der::sequence(&[&der::uint(p), &der::uint(q), &der::uint(g)]);
    let alg = der::sequence(&[&der::oid(DSA), &params]);
    der::sequence(&[&alg, &bit_string(&der::uint(y))])
}

/// `SubjectPublicKeyInfo` for an EC point on a named curve.
pub fn spki_ec(curve_oid: &str, point: &[u8]) -> Vec<u8> {
    let alg = der::sequence(&[&der::oid(EC), &der::oid(curve_oid)]);
    der::sequence(&[&alg, &bit_string(point)])
}

/// `SubjectPublicKeyInfo` for Ed25519/Ed448/X25519/X448 (no parameters).
pub fn spki_edwards(alg_oid: &str, pk: &[u8]) -> Vec<u8> {
    let alg = der::sequence(&[&der::oid(alg_oid)]);
    der::sequence(&[&alg, &bit_string(pk)])
}

fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut c = vec![0u8];
    c.extend_from_slice(bytes);
    der::tlv(BIT_STRING, &c)
}

fn positive(t: der::Tlv<'_>) -> Option<&[u8]> {
    der::unsigned(t.content).filter(|m| !m.is_empty())
}

/// PKCS#1 `RSAPrivateKey`: version, n, e, d, p, q, dP, dQ, qInv (and other
/// primes for version 1).
pub fn rsa_private(data: &[u8]) -> Option<ParsedKey> {
    let mut s = der::whole_sequence(data)?;
    let version = der::small_uint(s.required(INTEGER)?.content)?;
    let n = positive(s.required(INTEGER)?)?;
    let e = positive(s.required(INTEGER)?)?;
    for _ in 0..6 {
        positive(s.required(INTEGER)?)?;
    }
    match version {
        0 if s.is_empty() => {}
        1 => {
            s.required(SEQUENCE)?;
        }
        _ => return None,
    }
    let bits = der::bit_len(n);
    if bits < 256 || e.last()? & 1 == 0 {
        return None;
    }
    Some(ParsedKey {
        info: KeyInfo::sized("RSA", bits),
        spki: Some(spki_rsa(n, e)),
    })
}

/// PKCS#1 `RSAPublicKey`: n, e.
pub fn rsa_public(data: &[u8]) -> Option<ParsedKey> {
    let mut s = der::whole_sequence(data)?;
    let n = positive(s.required(INTEGER)?)?;
    let e = positive(s.required(INTEGER)?)?;
    if !s.is_empty() || der::bit_len(n) < 256 {
        return None;
    }
    Some(ParsedKey {
        info: KeyInfo::sized("RSA", der::bit_len(n)),
        spki: Some(spki_rsa(n, e)),
    })
}

/// OpenSSL's traditional DSA private key: version 0, p, q, g, y, x.
pub fn dsa_private(data: &[u8]) -> Option<ParsedKey> {
    let mut s = der::whole_sequence(data)?;
    if der::small_uint(s.required(INTEGER)?.content)? != 0 {
        return None;
    }
    let p = positive(s.required(INTEGER)?)?;
    let q = positive(s.required(INTEGER)?)?;
    let g = positive(s.required(INTEGER)?)?;
    let y = positive(s.required(INTEGER)?)?;
    positive(s.required(INTEGER)?)?;
    if !s.is_empty() || der::bit_len(p) < 256 {
        return None;
    }
    Some(ParsedKey {
        info: KeyInfo::sized("DSA", der::bit_len(p)),
        spki: Some(spki_dsa(p, q, g, y)),
    })
}

/// SEC1 `ECPrivateKey`: version 1, privateKey, [0] curve, [1] public point.
/// `outer_curve` is the curve from a PKCS#8 wrapper, if any.
pub fn ec_private(data: &[u8], outer_curve: Option<&str>) -> Option<ParsedKey> {
    let mut s = der::whole_sequence(data)?;
    if der::small_uint(s.required(INTEGER)?.content)? != 1 {
        return None;
    }
    let k = s.required(OCTET_STRING)?;
    if k.content.is_empty() || k.content.len() > 80 {
        return None;
    }
    let inner_curve = match s.optional(ctx(0)) {
        Some(p) => {
            let (o, _) = der::read(p.content)?;
            (o.tag == OID).then(|| der::oid_string(o.content)).flatten()
        }
        None => None,
    };
    let point = match s.optional(ctx(1)) {
        Some(p) => {
            let (b, _) = der::read(p.content)?;
            (b.tag == BIT_STRING && b.content.first() == Some(&0)).then(|| b.content[1..].to_vec())
        }
        None => None,
    };
    if !s.is_empty() {
        return None;
    }
    let curve = inner_curve.or(outer_curve.map(str::to_string));
    let spki = match (&curve, &point) {
        (Some(c), Some(p)) => Some(spki_ec(c, p)),
        _ => None,
    };
    Some(ParsedKey {
        info: ec_info(curve.as_deref()),
        spki,
    })
}

/// An `AlgorithmIdentifier`: its OID and the raw parameters element.
pub fn algorithm(t: der::Tlv<'_>) -> Option<(String, Option<der::Tlv<'_>>)> {
    if t.tag != SEQUENCE {
        return None;
    }
    let mut s = Seq::new(t.content);
    let oid = der::oid_string(s.required(OID)?.content)?;
    let params = s.any();
    s.is_empty().then_some((oid, params))
}

/// PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey`.
pub fn pkcs8(data: &[u8]) -> Option<ParsedKey> {
    let mut s = der::whole_sequence(data)?;
    let version = der::small_uint(s.required(INTEGER)?.content)?;
    if version > 1 {
        return None;
    }
    let (alg, params) = algorithm(s.required(SEQUENCE)?)?;
    let key = s.required(OCTET_STRING)?.content;
    let _attributes = s.optional(ctx(0));
    let public = s.optional(0x81).or_else(|| s.optional(ctx(1)));
    if !s.is_empty() {
        return None;
    }
    match alg.as_str() {
        RSA => rsa_private(key),
        EC => {
            let curve = params.filter(|p| p.tag == OID).and_then(|p| der::oid_string(p.content));
            ec_private(key, curve.as_deref())
        }
        DSA => {
            let p = params.filter(|p| p.tag == SEQUENCE)?;
            let mut ps = Seq::new(p.content);
            let prime = positive(ps.required(INTEGER)?)?;
            positive(ps.required(INTEGER)?)?;
            positive(ps.required(INTEGER)?)?;
            let (x, rest) = der::read(key)?;
            if x.tag != INTEGER || !rest.is_empty() {
                return None;
            }
            Some(ParsedKey {
                info: KeyInfo::sized("DSA", der::bit_len(prime)),
                spki: None,
            })
        }
        ED25519 | ED448 | X25519 | X448 => {
            let (inner, rest) = der::read(key)?;
            let (name, len, bits) = match alg.as_str() {
                ED25519 => ("Ed25519", 32, 256),
                X25519 => ("X25519", 32, 256),
                ED448 => ("Ed448", 57, 456),
                _ => ("X448", 56, 448),
            };
            if inner.tag != OCTET_STRING || inner.content.len() != len || !rest.is_empty() {
                return None;
            }
            // Version 2 may carry the public key, which identifies the key.
            let spki = public.map(|p| spki_edwards(&alg, p.content.strip_prefix(&[0]).unwrap_or(p.content)));
            Some(ParsedKey {
                info: KeyInfo::sized(name, bits),
                spki,
            })
        }
        _ => None,
    }
}

/// PKCS#8 `EncryptedPrivateKeyInfo`: returns a description of the
/// encryption (the key inside cannot be seen without the passphrase).
pub fn encrypted_pkcs8(data: &[u8]) -> Option<String> {
    let mut s = der::whole_sequence(data)?;
    let (alg, params) = algorithm(s.required(SEQUENCE)?)?;
    let body = s.required(OCTET_STRING)?;
    if !s.is_empty() || body.content.is_empty() {
        return None;
    }
    Some(describe_pbe(&alg, params))
}

/// Name a password-based encryption scheme (PKCS#5/PKCS#12).
pub fn describe_pbe(alg: &str, params: Option<der::Tlv<'_>>) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("1.2.840.113549.1.5.13", "PBES2"),
        ("1.2.840.113549.1.5.3", "PBES1 MD5-DES"),
        ("1.2.840.113549.1.5.10", "PBES1 SHA1-DES"),
        ("1.2.840.113549.1.12.1.3", "PKCS#12 SHA1-3DES"),
        ("1.2.840.113549.1.12.1.6", "PKCS#12 SHA1-RC2-40"),
        ("1.2.840.113549.1.12.1.5", "PKCS#12 SHA1-RC2-128"),
        ("2.16.840.1.101.3.4.1.2", "AES-128-CBC"),
        ("2.16.840.1.101.3.4.1.22", "AES-192-CBC"),
        ("2.16.840.1.101.3.4.1.42", "AES-256-CBC"),
        ("1.2.840.113549.3.7", "DES-EDE3-CBC"),
        ("1.3.14.3.2.7", "DES-CBC"),
    ];
    let name = |o: &str| {
        NAMES
            .iter()
            .find(|n| n.0 == o)
            .map(|n| n.1.to_string())
            .unwrap_or_else(|| o.to_string())
    };
    if alg == "1.2.840.113549.1.5.13"
        && let Some(p) = params.filter(|p| p.tag == SEQUENCE)
    {
        let mut s = Seq::new(p.content);
        let _kdf = s.required(SEQUENCE);
        if let Some(enc) = s.required(SEQUENCE).and_then(algorithm) {
            return format!("PBES2 {}", name(&enc.0));
        }
    }
    name(alg)
}

/// `SubjectPublicKeyInfo`: what key a certificate or `PUBLIC KEY` holds.
pub fn spki(data: &[u8]) -> Option<KeyInfo> {
    let mut s = der::whole_sequence(data)?;
    let (alg, params) = algorithm(s.required(SEQUENCE)?)?;
    let key = s.required(BIT_STRING)?.content;
    if !s.is_empty() || key.first() != Some(&0) {
        return None;
    }
    let key = &key[1..];
    Some(match alg.as_str() {
        RSA => rsa_public(key)?.info,
        EC => ec_info(
            params
                .filter(|p| p.tag == OID)
                .and_then(|p| der::oid_string(p.content))
                .as_deref(),
        ),
        DSA => {
            let p = params.filter(|p| p.tag == SEQUENCE)?;
            let mut ps = Seq::new(p.content);
            KeyInfo::sized("DSA", der::bit_len(positive(ps.required(INTEGER)?)?))
        }
        ED25519 => KeyInfo::sized("Ed25519", 256),
        ED448 => KeyInfo::sized("Ed448", 456),
        X25519 => KeyInfo::sized("X25519", 256),
        X448 => KeyInfo::sized("X448", 448),
        "1.2.840.113549.1.1.10" => {
            // RSASSA-PSS keys carry an RSAPublicKey like rsaEncryption.
            let mut k = rsa_public(key)?.info;
            k.algorithm = "RSA-PSS";
            k
        }
        other => KeyInfo {
            algorithm: "unknown",
            bits: None,
            curve: Some(other.to_string()),
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A structurally valid 512-bit PKCS#1 key (numbers need not be a real
    /// key: the parser checks structure, not arithmetic).
    pub fn fake_rsa(bits: usize) -> Vec<u8> {
        let mut n = vec![0xc5u8; bits / 8];
        n[bits / 8 - 1] = 0x01;
        let small = der::uint(&[0x11; 16]);
        let mut parts = vec![der::uint(&[0]), der::uint(&n), der::uint(&[1, 0, 1])];
        for _ in 0..6 {
            parts.push(small.clone());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        der::sequence(&refs)
    }

    #[test]
    fn rsa_structure() {
        let k = rsa_private(&fake_rsa(1024)).unwrap();
        assert_eq!(k.info.bits, Some(1024));
        assert_eq!(k.info.algorithm, "RSA");
        // The SPKI we build parses back as the same key.
        assert_eq!(spki(&k.spki.unwrap()).unwrap().bits, Some(1024));
        // One integer short is not a key.
        let mut bad = fake_rsa(1024);
        bad.truncate(bad.len() - 18);
        assert!(rsa_private(&bad).is_none());
    }

    #[test]
    fn pkcs8_wraps_rsa_and_ed25519() {
        let alg = der::sequence(&[&der::oid(RSA), &der::tlv(NULL, &[])]);
        let p8 = der::sequence(&[&der::uint(&[0]), &alg, &der::tlv(OCTET_STRING, &fake_rsa(2048))]);
        assert_eq!(pkcs8(&p8).unwrap().info.bits, Some(2048));
        let ed_alg = der::sequence(&[&der::oid(ED25519)]);
        let inner = der::tlv(OCTET_STRING, &[7u8; 32]);
        let ed = der::sequence(&[&der::uint(&[0]), &ed_alg, &der::tlv(OCTET_STRING, &inner)]);
        let k = pkcs8(&ed).unwrap();
        assert_eq!(k.info.algorithm, "Ed25519");
        assert!(k.spki.is_none());
    }

    #[test]
    fn sec1_with_public_point() {
        let point = [4u8; 65];
        let mut bits = vec![0u8];
        bits.extend_from_slice(&point);
        let k = der::sequence(&[
            &der::uint(&[1]),
            &der::tlv(OCTET_STRING, &[9u8; 32]),
            &der::tlv(ctx(0), &der::oid("1.2.840.10045.3.1.7")),
            &der::tlv(ctx(1), &der::tlv(BIT_STRING, &bits)),
        ]);
        let p = ec_private(&k, None).unwrap();
        assert_eq!(p.info.curve.as_deref(), Some("prime256v1"));
        assert_eq!(p.info.bits, Some(256));
        assert_eq!(spki(&p.spki.unwrap()).unwrap().curve.as_deref(), Some("prime256v1"));
    }
}
