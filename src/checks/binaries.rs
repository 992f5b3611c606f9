//! FW-CRED-014: default passwords compiled into programs.
//!
//! A program that compares input against a fixed password keeps that
//! password as a string constant, next to the strings of the code around
//! it (prompts, user names). fwcert reads the NUL-terminated strings of an
//! ELF file's read-only data (`.rodata*` sections, or the whole file when
//! section headers were stripped) and reports a dictionary password that is
//! distinctive enough to mean something (letters with digits, capitals or
//! symbols; at least five characters) when it sits within a few strings of
//! its dictionary user name or of an authentication word. This is a
//! heuristic, hence the rule's `preview` status.

use std::collections::HashSet;

use goblin::elf::Elf;
use rayon::prelude::*;
use regex::bytes::{Regex, RegexBuilder};

use super::dictionary::Dictionary;
use super::{Finding, RuleSet, SECRET_SLOT, Secret};
use crate::hash::fingerprint_of;
use crate::inventory::{FileEntry, Inventory, scanned_by_content};
use crate::rules;

const RULE: &str = rules::FW_CRED_014;
/// How many neighbouring strings count as "near".
const NEAR: usize = 3;

/// `(offset, string)` of NUL-terminated printable runs of 4..=64 bytes.
fn strings(data: &[u8], base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    each_string(data, base, |off, s| out.push((off, s)));
    out
}

/// Calls `each` with what [`strings`] lists, without keeping the list.
fn each_string<'d>(data: &'d [u8], base: usize, mut each: impl FnMut(usize, &'d str)) {
    each_run(data, base, |off, run| {
        if let Ok(s) = std::str::from_utf8(run) {
            each(off, s);
        }
    });
}

/// Every byte's top bit, eight bytes to a word.
const HIGH: u64 = 0x8080_8080_8080_8080;
/// One in every byte of a word.
const ONES: u64 = 0x0101_0101_0101_0101;

/// The top bit of each byte of `x` that is zero.
fn zero_bytes(x: u64) -> u64 {
    // Below 0x80, adding 0x7f sets the top bit exactly when the byte is not
    // zero, and cannot carry into the next byte.
    let nonzero = ((x & !HIGH) + 0x7f * ONES) | x;
    !nonzero & HIGH
}

/// The top bit of each byte of `x` that is printable ASCII (0x20..=0x7e).
fn printable_bytes(x: u64) -> u64 {
    let low = x & !HIGH;
    let at_least_20 = low + 0x60 * ONES;
    let at_least_7f = low + ONES;
    at_least_20 & !at_least_7f & !x & HIGH
}

/// Calls `each` with the offset (plus `base`) and bytes of every run of 4
/// to 64 printable ASCII bytes (0x20..=0x7e) that a NUL ends. A tab
/// neither ends a run nor may be in one; any other byte ends it.
///
/// Programs are searched whole when their section headers are stripped,
/// so most bytes are machine code, dense with NULs. Eight bytes at a time,
/// only the NULs right after four printable bytes are picked out; each is
/// followed back to the byte before its run (a byte-by-byte loop over
/// every byte took 8 ms of a router scan's CPU, this takes about 3.5).
fn each_run<'d>(data: &'d [u8], base: usize, mut each: impl FnMut(usize, &'d [u8])) {
    let mut printable_before = 0u64;
    let mut step = |at: usize, x: u64| {
        let printable = printable_bytes(x);
        // Bit of byte `j` set when byte `j - k` is printable (from the word
        // before when `j < k`).
        let back = |k: u32| printable << (8 * k) | printable_before >> (64 - 8 * k);
        let mut ends = zero_bytes(x) & back(1) & back(2) & back(3) & back(4);
        printable_before = printable;
        while ends != 0 {
            let end = at + (ends.trailing_zeros() / 8) as usize;
            ends &= ends - 1;
            if let Some(start) = run_start(data, end) {
                each(base + start, &data[start..end]);
            }
        }
    };
    let mut words = data.chunks_exact(8);
    let mut at = 0;
    for w in words.by_ref() {
        let mut word = [0; 8];
        word.copy_from_slice(w);
        step(at, u64::from_le_bytes(word));
        at += 8;
    }
    // The last bytes, filled out with printable ones (which end no run).
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut word = [b'A'; 8];
        word[..rest.len()].copy_from_slice(rest);
        step(at, u64::from_le_bytes(word));
    }
}

/// Where the run that the NUL at `end` ends begins, if it is one [`each_run`]
/// lists: after the last byte before `end` that is not printable (or at
/// the start of `data`), at most 64 bytes back, when that byte is no tab.
fn run_start(data: &[u8], end: usize) -> Option<usize> {
    let window = end.saturating_sub(65)..end;
    let start = match data[window.clone()].iter().rposition(|c| !(0x20..0x7f).contains(c)) {
        Some(i) if data[window.start + i] == b'\t' => return None,
        Some(i) => window.start + i + 1,
        None if window.start == 0 => 0,
        None => return None,
    };
    (4..=64).contains(&(end - start)).then_some(start)
}

/// The distinctive dictionary passwords. A router's programs hold tens of
/// thousands of strings (about 45,000 in the WR841N's 144) and almost
/// never one of these: the length and the first two bytes turn nearly all
/// away before a string is hashed, so a program is first searched this way
/// and its strings listed with their neighbours only when one of them is a
/// password.
struct Passwords<'r> {
    words: HashSet<&'r [u8]>,
    /// Bit `n` set when some password has `n` bytes.
    lengths: u128,
    /// Bit `a * 256 + b` set when some password starts with bytes `a b`.
    pairs: Vec<u64>,
}

impl<'r> Passwords<'r> {
    fn new(words: impl Iterator<Item = &'r str>) -> Self {
        let mut p = Passwords {
            words: HashSet::new(),
            lengths: 0,
            pairs: vec![0; 65536 / 64],
        };
        for w in words {
            if let &[a, b, ..] = w.as_bytes()
                && w.len() < 128
            {
                p.lengths |= 1 << w.len();
                let pair = usize::from(a) << 8 | usize::from(b);
                p.pairs[pair / 64] |= 1 << (pair % 64);
                p.words.insert(w.as_bytes());
            }
        }
        p
    }

    fn contains(&self, s: &[u8]) -> bool {
        let &[a, b, ..] = s else {
            return false;
        };
        let pair = usize::from(a) << 8 | usize::from(b);
        s.len() < 128
            && self.lengths >> s.len() & 1 == 1
            && self.pairs[pair / 64] >> (pair % 64) & 1 == 1
            && self.words.contains(s)
    }
}

/// The read-only data ranges of an ELF file.
fn rodata(data: &[u8]) -> Vec<(usize, usize)> {
    let Ok(elf) = Elf::parse(data) else {
        return Vec::new();
    };
    let ranges: Vec<(usize, usize)> = elf
        .section_headers
        .iter()
        .filter(|s| {
            elf.shdr_strtab
                .get_at(s.sh_name)
                .is_some_and(|n| n == ".rodata" || n.starts_with(".rodata."))
        })
        .filter_map(|s| {
            let start = usize::try_from(s.sh_offset).ok()?;
            let end = start.checked_add(usize::try_from(s.sh_size).ok()?)?;
            (end <= data.len()).then_some((start, end))
        })
        .collect();
    if ranges.is_empty() && elf.section_headers.len() <= 1 {
        vec![(0, data.len())]
    } else {
        ranges
    }
}

fn distinctive(pw: &str) -> bool {
    let b = pw.as_bytes();
    b.len() >= 5
        && b.iter().any(u8::is_ascii_alphabetic)
        && (b.iter().any(u8::is_ascii_digit)
            || b.iter().any(u8::is_ascii_uppercase)
            || b.iter().any(|c| !c.is_ascii_alphanumeric()))
}

/// The dictionary's passwords (those of its credentials, then its bare
/// passwords) that FW-CRED-014 looks for; repeats are left to the set.
fn sought_passwords(dict: &Dictionary) -> impl Iterator<Item = &str> {
    dict.credentials
        .iter()
        .map(|c| c.password.as_str())
        .chain(dict.passwords.iter().map(|p| p.password.as_str()))
        .filter(|p| distinctive(p))
}

fn auth_words() -> Regex {
    RegexBuilder::new(r"(?i)passw|login|auth|backdoor|telnet|user ?name")
        .unicode(false)
        .build()
        .expect("constant pattern")
}

pub fn check(inv: &Inventory, rules: &RuleSet) -> Vec<Finding> {
    let dict = &rules.dictionary;
    let passwords = Passwords::new(sought_passwords(dict));
    let auth = auth_words();
    // Programs are independent: searched in parallel, one task each and
    // the largest first, so that a big program (the WR841N's web server is
    // 1.5 MB) is not left to one thread at the end of the checks; findings
    // are put back in file order.
    let mut programs: Vec<(usize, &FileEntry)> = inv
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.elf.is_some() && scanned_by_content(inv.unpacked, f))
        .collect();
    programs.sort_by_key(|(i, f)| (std::cmp::Reverse(f.data.len()), *i));
    let mut found: Vec<(usize, Vec<Finding>)> = programs
        .par_iter()
        .with_max_len(1)
        .map(|&(i, f)| (i, in_program(f, dict, &passwords, &auth)))
        .collect();
    found.sort_by_key(|(i, _)| *i);
    found.into_iter().flat_map(|(_, findings)| findings).collect()
}

/// FW-CRED-014's findings in one program.
fn in_program(f: &FileEntry, dict: &Dictionary, passwords: &Passwords, auth: &Regex) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (start, end) in rodata(f.data) {
        let mut any = false;
        each_run(&f.data[start..end], start, |_, s| any |= passwords.contains(s));
        if !any {
            continue;
        }
        let strs = strings(&f.data[start..end], start);
        for (i, (off, s)) in strs.iter().enumerate() {
            if !passwords.contains(s.as_bytes()) || !seen.insert(*s) {
                continue;
            }
            let lo = i.saturating_sub(NEAR);
            let hi = (i + NEAR + 1).min(strs.len());
            let near = &strs[lo..hi];
            let user = dict
                .credentials
                .iter()
                .filter(|c| c.password == *s && c.user != *s)
                .find(|c| near.iter().any(|(_, n)| *n == c.user));
            let word = near.iter().find(|(_, n)| auth.is_match(n.as_bytes()));
            let why = match (user, word) {
                (Some(c), _) => format!(
                    "next to its user name `{}` (dictionary: {})",
                    c.user,
                    c.sources.join(", ")
                ),
                (None, Some((_, w))) => format!("next to the string {:?}", w),
                (None, None) => continue,
            };
            let evidence =
                format!("the default password \"{SECRET_SLOT}\" is a string constant of this program, {why}");
            out.push(Finding {
                secret: Some(Secret {
                    value: Some(s.to_string()),
                    fingerprint: fingerprint_of(s.as_bytes()),
                }),
                ..Finding::in_file(RULE, f, None, Some(*off as u64), evidence)
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Programs are searched largest first, but the findings come in file
    /// order, as one pass over the files in order gives them.
    #[test]
    fn findings_are_in_file_order_whatever_the_sizes() {
        use crate::inventory::boot::testutil::fs;
        let rules = crate::rules::Rules::embedded().expect("the embedded rules load");
        // Without section headers a program's strings are read from all of
        // it; the padding is one long run, which is no string.
        let program = |pad: usize| {
            let mut text = vec![b'x'; pad];
            text.extend_from_slice(b"\0root\0xc3511\0");
            crate::samples::minimal_elf(&text)
        };
        let (a, b, c) = (program(10), program(200_000), program(5_000));
        let fsys = fs(&[("/bin/a", &a), ("/bin/b", &b), ("/bin/c", &c)], &[]);
        let mut u = crate::unpack::unpack(bytes::Bytes::new(), "fw.bin", &Default::default());
        u.filesystems = vec![fsys];
        let inv = Inventory::build(&u);
        let found = check(&inv, &rules.checks);
        let paths: Vec<&str> = found.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/bin/a", "/bin/b", "/bin/c"]);
        assert!(
            found.iter().all(|f| f.evidence.contains("user name `root`")),
            "{found:?}"
        );
        let passwords = Passwords::new(sought_passwords(&rules.checks.dictionary));
        let one_by_one: Vec<Finding> = inv
            .files
            .iter()
            .filter(|f| f.elf.is_some())
            .flat_map(|f| in_program(f, &rules.checks.dictionary, &passwords, &auth_words()))
            .collect();
        assert_eq!(found, one_by_one);
    }

    #[test]
    fn string_runs() {
        let d = b"\x01abc\0root\0xc3511\0\xffbad\0ok!!\0";
        let s: Vec<&str> = strings(d, 0).into_iter().map(|(_, s)| s).collect();
        assert_eq!(s, vec!["root", "xc3511", "ok!!"]);
        assert_eq!(strings(d, 100)[0].0, 105);
    }

    /// The runs as a byte-by-byte pass finds them (the lister's first
    /// form, kept as the oracle of the word-at-a-time one).
    fn runs_byte_by_byte(data: &[u8], base: usize) -> Vec<(usize, &[u8])> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, b) in data.iter().enumerate() {
            if *b == 0 {
                let run = &data[start..i];
                if (4..=64).contains(&run.len()) && run.iter().all(|c| (0x20..0x7f).contains(c)) {
                    out.push((base + start, run));
                }
                start = i + 1;
            } else if !(0x20..0x7f).contains(b) && *b != b'\t' {
                start = i + 1;
            }
        }
        out
    }

    /// Word by word, the lister finds exactly the runs a byte-by-byte pass
    /// does: on generated data rich in the bytes at the edges of each class
    /// (NUL, tab, 0x1f/0x20, 0x7e/0x7f, 0x80/0xff), runs of every length
    /// around 4 and 64, and every alignment and tail length.
    #[test]
    fn runs_word_by_word_are_those_byte_by_byte() {
        let mut rng = crate::testing::Xorshift::new(0x5eed_0f57);
        let edges = [0u8, 0, 0, b'\t', 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff, 0x01, 0x09 ^ 0x80];
        let mut runs = 0;
        for case in 0..4_000 {
            let len = rng.below(if case % 4 == 0 { 400 } else { 80 });
            let mut data = Vec::with_capacity(len);
            while data.len() < len {
                // A run of printable bytes of a length near the bounds, or
                // one edge byte.
                if rng.below(3) == 0 {
                    let n = [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 70][rng.below(12)];
                    data.extend((0..n).map(|_| 0x20 + rng.below(0x5f) as u8));
                } else {
                    data.push(edges[rng.below(edges.len())]);
                }
            }
            data.truncate(len);
            for skip in 0..data.len().min(9) {
                let d = &data[skip..];
                let mut got = Vec::new();
                each_run(d, 1000, |off, run| got.push((off, run)));
                let want = runs_byte_by_byte(d, 1000);
                assert_eq!(got, want, "{d:?}");
                runs += want.len();
            }
        }
        assert!(runs > 10_000, "{runs} runs compared");
    }

    #[test]
    fn word_classes() {
        let word = u64::from_le_bytes([0, b'\t', 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0x89]);
        assert_eq!(zero_bytes(word), 0x80);
        assert_eq!(zero_bytes(word ^ (0x09 * ONES)), 0x80 << 8);
        assert_eq!(printable_bytes(word), 0x80 << 24 | 0x80 << 32);
    }

    /// The length and first-bytes filter may only turn away strings that
    /// are not passwords: over every dictionary password, its neighbours
    /// by one byte and generated strings, the answer is the set's alone.
    #[test]
    fn the_password_filter_answers_as_the_set_does() {
        let rules = crate::rules::Rules::embedded().expect("the embedded rules load");
        let dict = &rules.checks.dictionary;
        let words: Vec<&str> = sought_passwords(dict).collect();
        assert!(words.len() > 50, "{} distinctive passwords", words.len());
        let p = Passwords::new(words.iter().copied());
        let set: HashSet<&str> = words.iter().copied().collect();
        let mut probes: Vec<String> = Vec::new();
        for w in &words {
            probes.push(w.to_string());
            probes.push(w[1..].to_string());
            probes.push(format!("{w}x"));
            probes.push(format!("x{w}"));
            probes.push(w.to_ascii_uppercase());
        }
        let mut rng = crate::testing::Xorshift::new(0xc4ed_5eed);
        for _ in 0..20_000 {
            let len = 4 + rng.below(20);
            // Mostly dictionary-like characters, so prefixes collide often.
            probes.push(
                (0..len)
                    .map(|_| b"aAxc3519Z7ujMk0ro!t"[rng.below(19)] as char)
                    .collect(),
            );
        }
        let (mut yes, mut no) = (0, 0);
        for s in &probes {
            let want = set.contains(s.as_str());
            assert_eq!(p.contains(s.as_bytes()), want, "{s:?}");
            if want { yes += 1 } else { no += 1 }
        }
        assert!(yes >= words.len() && no > 20_000, "{yes} passwords, {no} others");
    }

    #[test]
    fn distinctive_passwords() {
        assert!(distinctive("xc3511") && distinctive("7ujMko0admin") && distinctive("Zte521"));
        assert!(!distinctive("admin") && !distinctive("123456") && !distinctive("vizxv"));
    }
}
