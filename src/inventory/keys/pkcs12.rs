//! PKCS#12 / PFX containers (RFC 7292): walk the authenticated safe far
//! enough to see key bags (clear), shrouded key bags (passphrase
//! protected), certificate bags and encrypted contents. Nothing is
//! decrypted.

use super::der::{self, INTEGER, OCTET_STRING, OID, SEQUENCE, Seq, ctx};
use super::{ParsedKey, pkcs};

const DATA: &str = "1.2.840.113549.1.7.1";
const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
const X509_CERT: &str = "1.2.840.113549.1.9.22.1";

/// A key found in a PKCS#12 store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bag {
    /// A `keyBag`: the private key in the clear.
    Clear(ParsedKey),
    /// A `pkcs8ShroudedKeyBag`: encrypted, with this scheme.
    Shrouded(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pkcs12 {
    pub keys: Vec<Bag>,
    /// DER certificates from certificate bags in clear contents.
    pub certificates: Vec<Vec<u8>>,
    /// Whether some contents are encrypted (and so not inspected).
    pub encrypted_contents: bool,
}

/// `ContentInfo { contentType, [0] EXPLICIT content }`.
fn content_info(t: der::Tlv<'_>) -> Option<(String, Option<der::Tlv<'_>>)> {
    if t.tag != SEQUENCE {
        return None;
    }
    let mut s = Seq::new(t.content);
    let oid = der::oid_string(s.required(OID)?.content)?;
    let content = match s.optional(ctx(0)) {
        Some(c) => Some(der::read(c.content)?.0),
        None => None,
    };
    Some((oid, content))
}

/// Parse a PFX that spans `data` exactly.
pub fn parse(data: &[u8]) -> Option<Pkcs12> {
    let mut pfx = der::whole_sequence(data)?;
    if der::small_uint(pfx.required(INTEGER)?.content)? != 3 {
        return None;
    }
    let (oid, content) = content_info(pfx.required(SEQUENCE)?)?;
    let _mac = pfx.optional(SEQUENCE);
    if oid != DATA || !pfx.is_empty() {
        return None; // public-key-protected (signedData) PFX: not handled
    }
    let auth_safe = content.filter(|c| c.tag == OCTET_STRING)?;
    let mut out = Pkcs12::default();
    let mut infos = der::whole_sequence(auth_safe.content)?;
    while !infos.is_empty() {
        let (oid, content) = content_info(infos.required(SEQUENCE)?)?;
        match oid.as_str() {
            DATA => {
                let safe = content.filter(|c| c.tag == OCTET_STRING)?;
                bags(safe.content, &mut out)?;
            }
            ENCRYPTED_DATA => out.encrypted_contents = true,
            _ => return None,
        }
    }
    Some(out)
}

fn bags(safe_contents: &[u8], out: &mut Pkcs12) -> Option<()> {
    let mut s = der::whole_sequence(safe_contents)?;
    while !s.is_empty() {
        let bag = s.required(SEQUENCE)?;
        let mut b = Seq::new(bag.content);
        let id = der::oid_string(b.required(OID)?.content)?;
        let value = der::read(b.required(ctx(0))?.content)?.0;
        match id.as_str() {
            KEY_BAG => out.keys.push(Bag::Clear(pkcs::pkcs8(value.raw)?)),
            SHROUDED_KEY_BAG => out.keys.push(Bag::Shrouded(pkcs::encrypted_pkcs8(value.raw)?)),
            CERT_BAG => {
                let mut c = Seq::new(value.content);
                let kind = der::oid_string(c.required(OID)?.content)?;
                let cert = der::read(c.required(ctx(0))?.content)?.0;
                if kind == X509_CERT && cert.tag == OCTET_STRING {
                    out.certificates.push(cert.content.to_vec());
                }
            }
            _ => {} // CRL, secret and nested bags
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(oid: &str, content: &[u8]) -> Vec<u8> {
        der::sequence(&[&der::oid(oid), &der::tlv(ctx(0), content)])
    }

    fn pfx(bags: &[u8], encrypted: bool) -> Vec<u8> {
        let mut infos = vec![info(DATA, &der::tlv(OCTET_STRING, &der::sequence(&[bags])))];
        if encrypted {
            infos.push(info(ENCRYPTED_DATA, &der::sequence(&[&der::uint(&[0])])));
        }
        let refs: Vec<&[u8]> = infos.iter().map(Vec::as_slice).collect();
        let auth = der::tlv(OCTET_STRING, &der::sequence(&refs));
        der::sequence(&[&der::uint(&[3]), &info(DATA, &auth)])
    }

    #[test]
    fn shrouded_bag_is_protected() {
        let alg = der::sequence(&[&der::oid("1.2.840.113549.1.12.1.3"), &der::sequence(&[])]);
        let epki = der::sequence(&[&alg, &der::tlv(OCTET_STRING, &[1; 16])]);
        let bag = der::sequence(&[&der::oid(SHROUDED_KEY_BAG), &der::tlv(ctx(0), &epki)]);
        let p = parse(&pfx(&bag, true)).unwrap();
        assert_eq!(p.keys, vec![Bag::Shrouded("PKCS#12 SHA1-3DES".into())]);
        assert!(p.encrypted_contents);
        assert!(parse(&pfx(&bag, true)[..40]).is_none());
    }
}
