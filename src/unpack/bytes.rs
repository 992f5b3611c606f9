//! Bounds-checked readers for header fields. Every accessor returns `None`
//! past the end of the slice, so a truncated header is an ordinary `Reject`,
//! never a panic.

pub fn be_u16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

pub fn le_u16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

pub fn be_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

pub fn le_u32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

pub fn le_u64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

pub fn be_u64(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// A packed C bitfield: `width` bits at bit `pos` of the structure at
/// byte `at`, as GCC lays them out. On a little-endian image bits count
/// from the least significant end of the little-endian bytes; on a
/// big-endian image from the most significant end of the big-endian bytes.
/// `pos % 8 + width` must not exceed 64.
pub fn bitfield(d: &[u8], at: usize, pos: usize, width: usize, big: bool) -> Option<u64> {
    let start = at.checked_add(pos / 8)?;
    let shift = pos % 8;
    if width == 0 || shift + width > 64 {
        return None;
    }
    let n = (shift + width).div_ceil(8);
    let bytes = d.get(start..start.checked_add(n)?)?;
    let mask = if width == 64 { u64::MAX } else { (1u64 << width) - 1 };
    if big {
        let v = bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b)) << (64 - 8 * n);
        Some((v >> (64 - width - shift)) & mask)
    } else {
        let v = bytes.iter().rev().fold(0u64, |v, &b| (v << 8) | u64::from(b));
        Some((v >> shift) & mask)
    }
}

/// A fixed-size, NUL-padded text field, decoded lossily and trimmed.
pub fn c_string(d: &[u8], at: usize, len: usize) -> Option<String> {
    let field = d.get(at..at.checked_add(len)?)?;
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    Some(String::from_utf8_lossy(&field[..end]).trim().to_string())
}

/// Shannon entropy in bits per byte (0.0 to 8.0).
pub fn entropy(d: &[u8]) -> f64 {
    if d.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for &b in d {
        counts[b as usize] += 1;
    }
    let n = d.len() as f64;
    let h: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    // A single repeated byte sums to -0.0; report it as 0.
    if h > 0.0 { h } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_refuse_out_of_bounds() {
        let d = [1u8, 2, 3, 4, 5];
        assert_eq!(be_u32(&d, 0), Some(0x01020304));
        assert_eq!(le_u32(&d, 1), Some(0x05040302));
        assert_eq!(be_u32(&d, 2), None);
        assert_eq!(le_u64(&d, 0), None);
        assert_eq!(be_u16(&d, usize::MAX), None);
    }

    #[test]
    fn c_string_stops_at_nul() {
        assert_eq!(c_string(b"abc\0def", 0, 7).as_deref(), Some("abc"));
        assert_eq!(c_string(b"abc", 1, 5), None);
    }

    #[test]
    fn entropy_bounds() {
        assert_eq!(entropy(&[0xff; 100]), 0.0);
        let all: Vec<u8> = (0..=255).collect();
        assert!((entropy(&all) - 8.0).abs() < 1e-9);
    }
}
