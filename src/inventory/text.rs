//! Telling text files from binary ones.
//!
//! Parsers for line-based files (passwd, configs, PEM, authorized_keys) and
//! the text-only patterns run only on files this says are text, so every
//! caller must agree on one definition.

/// How much of a file is looked at: enough to see a binary's NUL bytes,
/// little enough that a large file costs nothing.
const SAMPLE: usize = 64 * 1024;

/// Whether `data` reads as text: its first 64 KiB are valid UTF-8 with no
/// NUL byte. A character cut off by the end of that sample is fine; one cut
/// off by the end of the file is not.
pub fn is_text(data: &[u8]) -> bool {
    let sample = &data[..data.len().min(SAMPLE)];
    if sample.contains(&0) {
        return false;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && sample.len() < data.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_without_nul_in_the_sample() {
        assert!(is_text(b"root:x:0:0::/root:/bin/sh\n"));
        assert!(is_text("pässwd".as_bytes()));
        assert!(!is_text(b"\x7fELF\x00\x01"));
        assert!(!is_text(b"\xff\xfe"));
        // "é" is two bytes; cut at the sample's end it is text, at the
        // file's end it is not.
        let mut long = vec![b'a'; SAMPLE - 1];
        long.extend_from_slice("é".as_bytes());
        assert!(is_text(&long));
        assert!(!is_text(&long[..SAMPLE]));
        // A NUL past the sample is not seen.
        long.push(0);
        assert!(is_text(&long));
    }
}
