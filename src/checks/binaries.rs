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
    let mut start = 0;
    for (i, b) in data.iter().enumerate() {
        if *b == 0 {
            let run = &data[start..i];
            if (4..=64).contains(&run.len())
                && run.iter().all(|c| (0x20..0x7f).contains(c))
                && let Ok(s) = std::str::from_utf8(run)
            {
                each(base + start, s);
            }
            start = i + 1;
        } else if !(0x20..0x7f).contains(b) && *b != b'\t' {
            start = i + 1;
        }
    }
}

/// The distinctive dictionary passwords. A router's programs hold tens of
/// thousands of strings (about 45,000 in the WR841N's 144) and almost
/// never one of these: the length and the first two bytes turn nearly all
/// away before a string is hashed, so a program is first searched this way
/// and its strings listed with their neighbours only when one of them is a
/// password.
struct Passwords<'r> {
    words: HashSet<&'r str>,
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
                p.words.insert(w);
            }
        }
        p
    }

    fn contains(&self, s: &str) -> bool {
        let &[a, b, ..] = s.as_bytes() else {
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
        each_string(&f.data[start..end], start, |_, s| any |= passwords.contains(s));
        if !any {
            continue;
        }
        let strs = strings(&f.data[start..end], start);
        for (i, (off, s)) in strs.iter().enumerate() {
            if !passwords.contains(s) || !seen.insert(*s) {
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
            out.push(Finding {
                rule: RULE.into(),
                path: f.path.clone(),
                container: f.container.clone(),
                line: None,
                offset: Some(*off as u64),
                evidence: format!("the default password \"{SECRET_SLOT}\" is a string constant of this program, {why}"),
                sha256: Some(f.sha256().to_string()),
                custom: None,
                secret: Some(Secret {
                    value: Some(s.to_string()),
                    fingerprint: fingerprint_of(s.as_bytes()),
                }),
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
            assert_eq!(p.contains(s), want, "{s:?}");
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
