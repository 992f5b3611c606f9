//! One pass over a text file that says which content patterns could match
//! it, from literals every match of each pattern contains.
//!
//! The content patterns ran over every text file as one `RegexSet`: most are
//! anchored at line starts (`(?m)^[^#\n]*\bwget\b…`) and begin with no
//! literal, so the set's lazy DFA walked every byte and built thousands of
//! states on the way — about 7 ms of a router scan's CPU, two thirds of it
//! building states. Yet every match of `(?m)^[^#\n]*\bwget\b…` contains
//! `wget`, every match of the cipher-list patterns one of their option
//! names: one Aho-Corasick pass for all such literals tells which few
//! patterns a file could match, and only those run.
//!
//! Why skipping is safe: [`required`] only returns literals that every
//! match contains (see its rules), and the search is ASCII
//! case-insensitive and reports overlapping occurrences, so it finds every
//! occurrence of every literal whatever its case. A pattern without such
//! literals, or with too short ones, is never gated: it always runs.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind, Literal};

/// Literals shorter than this do not gate: `:` or `=` is in every file.
const MIN_LITERAL: usize = 3;
/// A pattern needing one of more literals than this (an alternation of many
/// words) is always run instead.
const MAX_LITERALS_PER_PATTERN: usize = 32;

/// Which of a list of patterns may match a text file.
#[derive(Debug, Clone)]
pub struct TextGate {
    /// Every gating literal, ASCII case-insensitively; `None` when no
    /// pattern is gated.
    searcher: Option<AhoCorasick>,
    /// Per searched literal (by pattern id of `searcher`): the patterns
    /// whose matches may contain it.
    opens: Vec<Vec<usize>>,
    /// Per pattern: whether it runs only when one of its literals occurs.
    gated: Vec<bool>,
}

impl TextGate {
    /// A gate for `patterns`, parsed as they are compiled.
    pub fn new(patterns: &[Hir]) -> TextGate {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut opens: Vec<Vec<usize>> = Vec::new();
        let mut gated = vec![false; patterns.len()];
        for (i, hir) in patterns.iter().enumerate() {
            let Some(set) = required(hir)
                .filter(|set| set.len() <= MAX_LITERALS_PER_PATTERN && set.iter().all(|l| l.len() >= MIN_LITERAL))
            else {
                continue;
            };
            gated[i] = true;
            for lit in set {
                match literals.iter().position(|l| *l == lit) {
                    Some(at) => opens[at].push(i),
                    None => {
                        literals.push(lit);
                        opens.push(vec![i]);
                    }
                }
            }
        }
        let searcher = if literals.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&literals)
                .ok()
        };
        if searcher.is_none() {
            gated.iter_mut().for_each(|g| *g = false);
        }
        TextGate { searcher, opens, gated }
    }

    /// Per pattern, whether it could match `haystack` (always `true` for a
    /// pattern that is not gated).
    pub fn open(&self, haystack: &[u8]) -> Vec<bool> {
        let mut open: Vec<bool> = self.gated.iter().map(|g| !g).collect();
        let Some(searcher) = &self.searcher else {
            return open;
        };
        let mut closed = open.iter().filter(|o| !**o).count();
        for m in searcher.find_overlapping_iter(haystack) {
            for &p in &self.opens[m.pattern().as_usize()] {
                if !open[p] {
                    open[p] = true;
                    closed -= 1;
                }
            }
            if closed == 0 {
                break;
            }
        }
        open
    }

    /// Whether pattern `i` runs only when one of its literals occurs.
    #[cfg(test)]
    pub(crate) fn is_gated(&self, i: usize) -> bool {
        self.gated[i]
    }
}

/// Literals (ASCII lower case) one of which every match of `hir` contains,
/// or `None` when none is known. The rules, each of which keeps that
/// property:
/// - a literal is its own bytes; a class of a few bytes is each of them
///   (ASCII letters in lower case: the search ignores case);
/// - a capture group or a repetition of at least once is what it repeats;
/// - an alternation is the union of its branches' sets, when each has one;
/// - a concatenation passes through each of its parts in turn, so any
///   part's set will do, and adjacent literal and class parts spell longer
///   literals together (every combination of their bytes, while there are
///   at most [`MAX_LITERALS_PER_PATTERN`]); the set whose shortest literal
///   is longest is taken.
///
/// Look-around assertions and empty expressions require nothing.
pub fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Alternation(branches) => {
            let mut all: Vec<Vec<u8>> = Vec::new();
            for b in branches {
                for lit in required(b)? {
                    if !all.contains(&lit) {
                        all.push(lit);
                    }
                }
            }
            Some(all)
        }
        HirKind::Concat(parts) => {
            let mut candidates: Vec<Vec<Vec<u8>>> = parts.iter().filter_map(required).collect();
            let mut run: Vec<Vec<u8>> = Vec::new();
            for part in parts {
                let Some(options) = spelled(part) else {
                    candidates.extend((!run.is_empty()).then(|| std::mem::take(&mut run)));
                    continue;
                };
                if run.is_empty() {
                    run = options;
                } else if run.len() * options.len() <= MAX_LITERALS_PER_PATTERN {
                    run = run
                        .iter()
                        .flat_map(|head| options.iter().map(move |tail| [&head[..], &tail[..]].concat()))
                        .collect();
                } else {
                    candidates.push(std::mem::replace(&mut run, options));
                }
            }
            candidates.extend((!run.is_empty()).then_some(run));
            candidates.into_iter().max_by_key(|set| {
                let shortest = set.iter().map(Vec::len).min().unwrap_or(0);
                (shortest, std::cmp::Reverse(set.len()))
            })
        }
        _ => spelled(hir),
    }
}

/// The bytes (lower case) every match of `hir` is exactly one of, when it
/// is a literal or a class of at most [`MAX_CLASS`] bytes.
fn spelled(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(Literal(bytes)) => Some(vec![bytes.to_ascii_lowercase()]),
        HirKind::Class(c) => class_bytes(c).map(|bytes| bytes.into_iter().map(|b| vec![b]).collect()),
        _ => None,
    }
}

/// Classes of more bytes than this are not spelled out.
const MAX_CLASS: usize = 8;

/// The distinct bytes (ASCII letters in lower case) a class matches, when
/// there are at most [`MAX_CLASS`] of them.
fn class_bytes(class: &Class) -> Option<Vec<u8>> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Bytes(c) => c.iter().map(|r| (u32::from(r.start()), u32::from(r.end()))).collect(),
        Class::Unicode(c) => c.iter().map(|r| (u32::from(r.start()), u32::from(r.end()))).collect(),
    };
    let mut out: Vec<u8> = Vec::new();
    for (start, end) in ranges {
        // A Unicode class's characters past ASCII are more than one byte.
        let last = if matches!(class, Class::Unicode(_)) { 0x7f } else { 0xff };
        if end > last || (end - start) as usize >= 2 * MAX_CLASS {
            return None;
        }
        for b in start..=end {
            let b = (b as u8).to_ascii_lowercase();
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    (out.len() <= MAX_CLASS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Xorshift;
    use regex::bytes::RegexBuilder;

    fn hir(expr: &str) -> Hir {
        crate::checks::patterns::parse(expr).unwrap()
    }

    fn set(expr: &str) -> Option<Vec<String>> {
        required(&hir(expr)).map(|s| s.into_iter().map(|l| String::from_utf8(l).unwrap()).collect())
    }

    #[test]
    fn required_literals_follow_the_expression() {
        let s = |v: &[&str]| Some(v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            set(r"(?m)^[^#\n]*\bwget\b[^\n]*--no-check-certificate"),
            s(&["--no-check-certificate"])
        );
        assert_eq!(set(r"(?m)^[^#\n]*\b(?:wget|curl)\b[^\n]*http://"), s(&["http://"]));
        // An alternation is a union; a case-insensitive word is its lower case.
        assert_eq!(set(r"(?m)^[ \t]*(?i:Ciphers|MACs)[ \t]"), s(&["ciphers", "macs"]));
        assert_eq!(set(r"(?i)aws_?secret"), s(&["secret"]));
        // Repeated at least once: required; possibly absent: not.
        assert_eq!(set(r"(?:abcd)+x"), s(&["abcd"]));
        assert_eq!(set(r"(?:abcd)*x"), s(&["x"]));
        assert_eq!(set(r"(?:abcd)?"), None);
        // One branch without a literal leaves the alternation without one.
        assert_eq!(set(r"(?:abcd|[a-z]+)"), None);
        assert_eq!(set(r"^$"), None);
        // Adjacent one-byte classes and literals spell one literal.
        assert_eq!(set(r"[Kk]ey=[xX]"), s(&["key=x"]));
        // A small class spells each of its bytes.
        assert_eq!(
            set(r"\bgh[pousr]_[0-9A-Za-z]{36}"),
            s(&["gho_", "ghp_", "ghr_", "ghs_", "ghu_"])
        );
        assert_eq!(
            set(r"wep_key[0-3]="),
            s(&["wep_key0=", "wep_key1=", "wep_key2=", "wep_key3="])
        );
        // A large one does not.
        assert_eq!(set(r"ab[a-z]"), s(&["ab"]));
    }

    /// Each haystack is random text with pieces of the patterns' literals,
    /// in random case, planted; wherever a pattern matches, the gate must
    /// have let it through.
    #[test]
    fn every_pattern_that_matches_was_let_through() {
        let exprs = [
            r"(?m)^[^#\n]*\bwget\b[^\n]*--no-check-certificate",
            r"(?m)^[^#\n]*\b(?:wget|curl)\b[^\n]*http://[^\s]*(?:\.bin|firmware)",
            r"(?m)^[ \t]*(?i:Ciphers|MACs)(?:[ \t]*=[ \t]*|[ \t]+)[^\n]*(?:arcfour|3des-cbc)",
            r"(?i)aws_?secret_?access_?key[:=](?P<secret>[A-Za-z0-9]{4})",
            r"echo\s+(?P<user>[a-z]{1,8}):(?P<secret>[a-z]{1,8})\s*\|\s*chpasswd",
            r"(?m)^wl[0-9.]*_crypto=tkip[ \t]*$",
            r"[^x]*",
        ];
        let hirs: Vec<Hir> = exprs.iter().map(|e| hir(e)).collect();
        let gate = TextGate::new(&hirs);
        assert!((0..6).all(|i| gate.is_gated(i)) && !gate.is_gated(6));
        let regexes: Vec<_> = exprs
            .iter()
            .map(|e| RegexBuilder::new(e).unicode(false).build().unwrap())
            .collect();
        let pieces = [
            "wget ",
            "curl ",
            "--no-check-certificate",
            "http://h/firmware",
            " -O x.bin",
            "Ciphers ",
            "MACs=",
            "arcfour",
            "3des-cbc",
            "aws_secret_access_key=",
            "AWSSECRETKEY:",
            "abcd",
            "echo root:",
            "pw",
            " | ",
            "chpasswd",
            "echo root:pw |chpasswd",
            "wl0_crypto=tkip",
            "wl_crypto=TKIP",
            "\n",
            "#",
            " ",
            "\t",
        ];
        let mut rng = Xorshift::new(5);
        let mut matched = vec![0usize; exprs.len()];
        for _ in 0..3000 {
            let mut hay = Vec::new();
            for _ in 0..rng.below(12) {
                let piece = pieces[rng.below(pieces.len())];
                if rng.below(4) == 0 {
                    hay.extend(
                        piece
                            .bytes()
                            .map(|b| if rng.below(2) == 0 { b.to_ascii_uppercase() } else { b }),
                    );
                } else {
                    hay.extend_from_slice(piece.as_bytes());
                }
            }
            let open = gate.open(&hay);
            for (i, re) in regexes.iter().enumerate() {
                if re.is_match(&hay) {
                    matched[i] += 1;
                    assert!(
                        open[i],
                        "{} matches {:?} but was not let through",
                        exprs[i],
                        String::from_utf8_lossy(&hay)
                    );
                }
            }
        }
        // Each gated pattern matched often enough for the test to mean something.
        assert!(matched[..6].iter().all(|&m| m >= 20), "{matched:?}");
    }
}
