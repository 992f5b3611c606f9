//! Which applets a BusyBox binary really contains.
//!
//! A link `/usr/sbin/telnetd -> /bin/busybox` proves nothing: BusyBox only
//! runs applets that were compiled in, and prints "applet not found"
//! otherwise. BusyBox keeps the names of its applets as one sorted list of
//! NUL-terminated strings in read-only data (`applet_names` since 1.15;
//! older releases such as 1.01 keep separate string literals that the
//! compiler lays out in the same sorted order, padded with NULs to word
//! alignment). The list is sorted because BusyBox looks applets up by
//! binary search, so we find it as the longest run of short, name-like
//! strings in strictly increasing byte order.

use std::collections::BTreeSet;

use memchr::memmem;

/// At most this many NULs between two names (alignment padding).
const MAX_PAD: usize = 8;
/// A run shorter than this is not taken for the applet list.
const MIN_APPLETS: usize = 8;
/// Applets nearly every BusyBox has; a run must contain some of them.
const CORE: &[&str] = &["cat", "echo", "ls", "mount", "sh", "ash", "rm", "ps", "kill", "ln"];

/// Whether `data` is a BusyBox executable.
pub fn is_busybox(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF") && memmem::find(data, b"BusyBox v").is_some()
}

fn name_like(tok: &[u8]) -> bool {
    (1..=32).contains(&tok.len())
        && tok
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.[".contains(&b))
        && (tok[0].is_ascii_lowercase() || tok[0] == b'[')
}

/// Keep `run` as the best candidate if it is a plausible, longer applet list.
fn finish<'d>(run: &mut Vec<&'d [u8]>, best: &mut Vec<&'d [u8]>) {
    let core = run.iter().filter(|t| CORE.iter().any(|c| c.as_bytes() == **t)).count();
    if run.len() >= MIN_APPLETS && core >= 3 && run.len() > best.len() {
        *best = std::mem::take(run);
    } else {
        run.clear();
    }
}

/// The applet names compiled into a BusyBox binary, or `None` when no list
/// can be found (then nobody can say whether an applet exists).
pub fn applets(data: &[u8]) -> Option<BTreeSet<String>> {
    let mut best: Vec<&[u8]> = Vec::new();
    let mut run: Vec<&[u8]> = Vec::new();
    let mut nuls = 0usize;
    for tok in data.split(|&b| b == 0) {
        if tok.is_empty() {
            nuls += 1;
            if nuls > MAX_PAD {
                finish(&mut run, &mut best);
            }
            continue;
        }
        nuls = 0;
        if !name_like(tok) {
            finish(&mut run, &mut best);
            // The list may follow other data without a NUL (`…\xff[\0[[\0`):
            // its first name is then the tail of this token.
            let tail = tok.len()
                - tok
                    .iter()
                    .rev()
                    .take_while(|&&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.[".contains(&b))
                    .count();
            let mut suffix = &tok[tail..];
            while let Some((&b, rest)) = suffix.split_first()
                && !(b.is_ascii_lowercase() || b == b'[')
            {
                suffix = rest;
            }
            if name_like(suffix) {
                run.push(suffix);
            }
            continue;
        }
        match run.last() {
            Some(prev) if *prev < tok => run.push(tok),
            Some(_) => {
                finish(&mut run, &mut best);
                run.push(tok);
            }
            None => run.push(tok),
        }
    }
    finish(&mut run, &mut best);
    if best.is_empty() {
        return None;
    }
    Some(best.iter().map(|t| String::from_utf8_lossy(t).into_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_modern_applet_names_list() {
        let mut d = b"\x7fELF....BusyBox v1.23.2\0\xc7\x01\xff".to_vec();
        d.extend_from_slice(b"[\0[[\0arping\0ash\0cat\0echo\0ls\0mount\0sh\0telnetd\0zcat\0\0 multi-call binary.\n\0");
        let a = applets(&d).unwrap();
        assert!(a.contains("telnetd") && a.contains("[") && a.contains("zcat"));
        assert!(!a.contains("multi-call binary."));
        assert_eq!(a.len(), 11);
    }

    #[test]
    fn finds_a_padded_busybox_1_01_list_without_telnetd() {
        // Layout of the TP-Link WR841N BusyBox v1.01 (names padded to 4 bytes).
        let d = b"This applet requires root priviledges!\0\0[\0\0\0arping\0\0brctl\0\0\0cat\0chmod\0\0\0echo\0\0\0\0getty\0\0\0login\0\0\0ls\0\0mount\0\0\0msh\0ping\0\0\0\0sh\0\0tftp\0\0\0\0vconfig\0\0\0\0\0\0\0\0\0\x08\0[-fqbDUA]";
        let a = applets(d).unwrap();
        assert!(a.contains("getty") && a.contains("sh") && a.contains("vconfig"));
        assert!(!a.contains("telnetd"));
    }

    #[test]
    fn no_list_is_none_not_empty() {
        assert_eq!(
            applets(b"\x7fELF BusyBox v1.24.1 multi-call binary.\0telnetd\0ash\0login\0"),
            None
        );
        // Sorted but without the core applets: some other table.
        assert_eq!(
            applets(b"\0alpha\0beta\0delta\0epsilon\0gamma\0kappa\0lambda\0omega\0"),
            None
        );
        assert_eq!(applets(b""), None);
    }

    #[test]
    fn busybox_is_recognised_by_elf_magic_and_banner() {
        assert!(is_busybox(
            b"\x7fELF\x01\x01\x01\0BusyBox v1.01 (2015.03.10-03:27+0000)"
        ));
        assert!(!is_busybox(b"#!/bin/sh\n# BusyBox v1.0 wrapper\n"));
    }
}
