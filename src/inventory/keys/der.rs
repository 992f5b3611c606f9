//! A minimal, bounds-checked DER reader and writer: enough to walk key and
//! certificate structures without trusting any length field.
//!
//! Only definite lengths and single-byte tags are accepted (X.509, PKCS#1,
//! PKCS#8, SEC1 and PKCS#12 use nothing else), which also rejects most
//! random bytes that happen to start with `0x30`.

pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;

/// Context-specific constructed tag `[n]`.
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// One tag-length-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// The whole encoding, header included.
    pub raw: &'a [u8],
}

/// Read one TLV from the front of `data`; the rest follows it.
pub fn read(data: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *data.first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tag
    }
    let first = *data.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None; // indefinite or absurd
        }
        let bytes = data.get(2..2 + n)?;
        if bytes[0] == 0 {
            return None; // not minimal
        }
        let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        if len < 0x80 {
            return None; // not minimal
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    let content = data.get(hdr..end)?;
    Some((
        Tlv {
            tag,
            content,
            raw: &data[..end],
        },
        &data[end..],
    ))
}

/// A cursor over the elements of a constructed value.
#[derive(Debug, Clone, Copy)]
pub struct Seq<'a> {
    rest: &'a [u8],
}

impl<'a> Seq<'a> {
    pub fn new(content: &'a [u8]) -> Self {
        Seq { rest: content }
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self) -> Option<Tlv<'a>> {
        let (t, rest) = read(self.rest)?;
        self.rest = rest;
        Some(t)
    }

    /// The next element, which must have `tag`: `None` (and nothing
    /// consumed) when it has another. Named apart from `Option::expect`,
    /// which panics where this one only refuses.
    pub fn required(&mut self, tag: u8) -> Option<Tlv<'a>> {
        let (t, rest) = read(self.rest)?;
        if t.tag != tag {
            return None;
        }
        self.rest = rest;
        Some(t)
    }

    /// The next element if it has `tag`; otherwise nothing is consumed.
    pub fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        match read(self.rest) {
            Some((t, rest)) if t.tag == tag => {
                self.rest = rest;
                Some(t)
            }
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// The content of a SEQUENCE that spans all of `data` exactly.
pub fn whole_sequence(data: &[u8]) -> Option<Seq<'_>> {
    let (t, rest) = read(data)?;
    (t.tag == SEQUENCE && rest.is_empty()).then(|| Seq::new(t.content))
}

/// An INTEGER's magnitude without sign padding; `None` for negatives.
pub fn unsigned(int: &[u8]) -> Option<&[u8]> {
    if int.is_empty() || int[0] & 0x80 != 0 {
        return None;
    }
    let zeros = int.iter().take_while(|b| **b == 0).count();
    Some(&int[zeros..])
}

/// Bit length of an unsigned big-endian magnitude.
pub fn bit_len(mag: &[u8]) -> u32 {
    let mag = &mag[mag.iter().take_while(|b| **b == 0).count()..];
    match mag.first() {
        None => 0,
        Some(b) => (mag.len() as u32 - 1) * 8 + (8 - b.leading_zeros()),
    }
}

/// A small non-negative INTEGER's value.
pub fn small_uint(int: &[u8]) -> Option<u64> {
    let m = unsigned(int)?;
    (m.len() <= 8).then(|| m.iter().fold(0u64, |a, b| (a << 8) | *b as u64))
}

/// An OID in dotted form.
pub fn oid_string(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for (i, b) in content.iter().enumerate() {
        if v > (u64::MAX >> 7) {
            return None;
        }
        v = (v << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        } else if i + 1 == content.len() {
            return None; // truncated arc
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(arcs.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// Encode one TLV.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Encode an unsigned magnitude as a canonical DER INTEGER.
pub fn uint(mag: &[u8]) -> Vec<u8> {
    let mag = &mag[mag.iter().take_while(|b| **b == 0).count()..];
    let mut c = Vec::with_capacity(mag.len() + 1);
    if mag.first().is_none_or(|b| b & 0x80 != 0) {
        c.push(0);
    }
    c.extend_from_slice(mag);
    tlv(INTEGER, &c)
}

/// Encode a dotted OID (for the handful of constants fwcert writes).
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut c = Vec::new();
    if arcs.len() >= 2 {
        let mut push = |mut v: u64| {
            let mut tmp = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                tmp.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            tmp.reverse();
            c.extend(tmp);
        };
        push(arcs[0] * 40 + arcs[1]);
        for a in &arcs[2..] {
            push(*a);
        }
    }
    tlv(OID, &c)
}

/// Concatenate encoded elements into a SEQUENCE.
pub fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(SEQUENCE, &parts.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_rejects_bad_lengths() {
        assert_eq!(read(&[0x30, 0x82, 0xff, 0xff, 0x02]), None); // longer than data
        assert_eq!(read(&[0x30, 0x80]), None); // indefinite
        assert_eq!(read(&[0x30, 0x81, 0x05, 1, 2, 3, 4, 5]), None); // non-minimal
        let (t, rest) = read(&[0x02, 0x01, 0x05, 0xaa]).unwrap();
        assert_eq!((t.tag, t.content, rest), (INTEGER, &[5u8][..], &[0xaau8][..]));
    }

    #[test]
    fn oids_round_trip() {
        for o in ["1.2.840.113549.1.1.1", "1.3.101.112", "2.5.4.3", "1.2.840.10045.3.1.7"] {
            let enc = oid(o);
            let (t, _) = read(&enc).unwrap();
            assert_eq!(oid_string(t.content).as_deref(), Some(o));
        }
    }

    #[test]
    fn integers() {
        assert_eq!(uint(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(&[0x00, 0x01]), vec![0x02, 0x01, 0x01]);
        assert_eq!(bit_len(&[0x01, 0x00]), 9);
        assert_eq!(unsigned(&[0x00, 0x80]), Some(&[0x80u8][..]));
        assert_eq!(unsigned(&[0xff]), None);
        assert_eq!(small_uint(&[0x03]), Some(3));
        let long = vec![0u8; 300];
        assert_eq!(read(&tlv(OCTET_STRING, &long)).unwrap().0.content.len(), 300);
    }
}
