//! One pass over a file that says which of several expressions could match
//! it, from the literals every match of each expression begins with.
//!
//! The content patterns meant for any file run over every program of an
//! image, and each used to scan every program for its own literal: fourteen
//! passes over a router's 5 MB of programs, 8 ms of a 0.25 s scan's CPU.
//! regex-syntax extracts each expression's prefix literals (`AKIA`, `ASIA`,
//! … for an AWS key ID); one packed searcher (Teddy) looks for all of them
//! at once, and only an expression one of whose literals occurs is run.
//! An expression whose prefixes are unknown, too many or too short to
//! search for runs where `memmem` finds a literal every match of it
//! contains (FW-CRED-011's `://`), or, without one, always.
//!
//! Why skipping is safe: a finite prefix set from regex-syntax's extractor
//! holds, for every match of the expression, a literal the match starts
//! with (the property the regex engine's own prefilters rest on). The
//! search visits every position where some literal starts (see
//! [`LiteralGate::open`]), so no such occurrence is missed. A literal that
//! is one of the parts of an expression's top-level concatenation is in
//! every match of it, so a haystack without it cannot match.

use aho_corasick::Span;
use aho_corasick::packed::{Config, MatchKind, Searcher};
use memchr::memmem::Finder;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind, Literal};

/// Literals shorter than this are not searched for. The packed searcher
/// fingerprints as many bytes as its shortest literal has, and over
/// machine code a three-byte fingerprint stops it so often that gating
/// JWT's `eyJ` cost a router scan 4 ms more CPU than its own pass.
const MIN_LITERAL: usize = 4;
/// An expression with more prefixes than this (a case-insensitive word
/// spells out every case combination) is always run instead.
const MAX_LITERALS_PER_EXPRESSION: usize = 16;
/// The packed searcher is fast for a few dozen literals; beyond this the
/// remaining expressions are always run.
const MAX_LITERALS: usize = 64;

/// Which of a list of expressions may match a haystack.
#[derive(Debug, Clone)]
pub struct LiteralGate {
    /// `None` when there is no prefix to search for, or when the CPU has
    /// no packed searcher (then no expression is gated by its prefixes).
    searcher: Option<Searcher>,
    /// Each searched literal and the expression (an index into the list the
    /// gate was built from) whose match may begin with it.
    literals: Vec<(Vec<u8>, usize)>,
    /// Per expression: whether it runs only when one of its prefixes occurs.
    gated: Vec<bool>,
    /// Expressions without usable prefixes but with a literal every match
    /// contains (see [`required_literal`]): each runs only where `memmem`
    /// finds it.
    required: Vec<(usize, Finder<'static>)>,
}

impl LiteralGate {
    /// A gate for `expressions`, parsed as they are compiled.
    pub fn new(expressions: &[Hir]) -> LiteralGate {
        let mut extractor = Extractor::new();
        extractor.kind(ExtractKind::Prefix);
        let mut literals: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut gated = vec![false; expressions.len()];
        let mut required = Vec::new();
        for (i, hir) in expressions.iter().enumerate() {
            let seq = extractor.extract(hir);
            // No literal at all means the expression matches nothing
            // (`Hir::fail()`): gated, it never opens.
            let searchable = seq.literals().filter(|lits| {
                lits.len() <= MAX_LITERALS_PER_EXPRESSION
                    && lits.iter().all(|l| l.as_bytes().len() >= MIN_LITERAL)
                    && literals.len() + lits.len() <= MAX_LITERALS
            });
            if let Some(lits) = searchable {
                literals.extend(lits.iter().map(|l| (l.as_bytes().to_vec(), i)));
                gated[i] = true;
            } else if let Some(lit) = required_literal(hir).filter(|l| l.len() >= MIN_REQUIRED) {
                required.push((i, Finder::new(&lit).into_owned()));
            }
        }
        let searcher = if literals.is_empty() {
            None
        } else {
            let mut builder = Config::new().match_kind(MatchKind::LeftmostFirst).builder();
            for (lit, _) in &literals {
                builder.add(lit);
            }
            builder.build()
        };
        if searcher.is_none() && !literals.is_empty() {
            // No packed searcher on this CPU: everything runs.
            gated.iter_mut().for_each(|g| *g = false);
            literals.clear();
        }
        LiteralGate {
            searcher,
            literals,
            gated,
            required,
        }
    }

    /// Per expression, whether it could match `haystack` (always `true` for
    /// an expression that is not gated).
    ///
    /// The searcher reports the leftmost literal; every literal starting at
    /// that position is then compared there, and the search resumes one
    /// byte further on. Each position where any literal starts is thus
    /// visited, including literals that overlap or share a start.
    pub fn open(&self, haystack: &[u8]) -> Vec<bool> {
        let mut open: Vec<bool> = self.gated.iter().map(|g| !g).collect();
        for (i, finder) in &self.required {
            open[*i] = finder.find(haystack).is_some();
        }
        let Some(searcher) = &self.searcher else {
            return open;
        };
        let mut closed = self.gated.iter().zip(&open).filter(|(g, o)| **g && !**o).count();
        let mut at = 0;
        while closed > 0 && at < haystack.len() {
            let Some(m) = searcher.find_in(haystack, Span::from(at..haystack.len())) else {
                break;
            };
            let here = &haystack[m.start()..];
            for (lit, e) in &self.literals {
                if !open[*e] && here.starts_with(lit) {
                    open[*e] = true;
                    closed -= 1;
                }
            }
            at = m.start() + 1;
        }
        open
    }

    /// Whether expression `i` runs only when one of its literals occurs.
    #[cfg(test)]
    pub(crate) fn is_gated(&self, i: usize) -> bool {
        self.gated[i] || self.required.iter().any(|(r, _)| *r == i)
    }
}

/// The shortest literal [`required_literal`] gates on: a one- or two-byte
/// literal (`:`, `@`) is in nearly every program.
const MIN_REQUIRED: usize = 3;

/// A literal every match of `hir` contains: the longest literal among the
/// parts of its top-level concatenation (looking into capture groups),
/// each of which every match passes through in turn. FW-CRED-011's
/// case-insensitive schemes have too many spellings to search for, but
/// each of its matches contains `://`.
fn required_literal(hir: &Hir) -> Option<Vec<u8>> {
    fn walk(h: &Hir, best: &mut Option<Vec<u8>>) {
        match h.kind() {
            HirKind::Literal(Literal(bytes)) if best.as_ref().is_none_or(|b| bytes.len() > b.len()) => {
                *best = Some(bytes.to_vec());
            }
            HirKind::Capture(c) => walk(&c.sub, best),
            HirKind::Concat(parts) => parts.iter().for_each(|p| walk(p, best)),
            _ => {}
        }
    }
    let mut best = None;
    walk(hir, &mut best);
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Xorshift;
    use regex::bytes::RegexBuilder;

    fn hir(expr: &str) -> Hir {
        crate::checks::patterns::parse(expr).unwrap()
    }

    fn gate(exprs: &[&str]) -> LiteralGate {
        LiteralGate::new(&exprs.iter().map(|e| hir(e)).collect::<Vec<_>>())
    }

    #[test]
    fn overlapping_and_same_start_literals_are_all_found() {
        // `abcde` and `bcdef` overlap; `abcd` and `abcde` start together,
        // and the leftmost-first searcher reports only the first added.
        let g = gate(&["abcde", "bcdef", "abcd", "zzzz"]);
        assert!((0..4).all(|i| g.is_gated(i)));
        assert_eq!(g.open(b"..abcdef.."), vec![true, true, true, false]);
        assert_eq!(g.open(b"abcd"), vec![false, false, true, false]);
        assert_eq!(g.open(b"xxzzzz"), vec![false, false, false, true]);
        assert_eq!(g.open(b""), vec![false; 4]);
    }

    #[test]
    fn an_expression_that_matches_nothing_never_opens() {
        let g = LiteralGate::new(&[Hir::fail(), hir("abcd")]);
        assert!(g.is_gated(0) && g.is_gated(1));
        assert_eq!(g.open(b"abcd"), vec![false, true]);
        let g = LiteralGate::new(&[Hir::fail()]);
        assert_eq!(g.open(b"anything"), vec![false]);
    }

    #[test]
    fn without_searchable_prefixes_a_required_literal_gates_or_nothing_does() {
        let g = gate(&[
            r"[a-z]+=\d",               // a class too wide, `=` too short
            r"eyJ\w+\.eyJ",             // a prefix shorter than MIN_LITERAL
            r"(?i)telnet://\w+",        // 64 case spellings, then `://`
            r"\bAKIA[A-Z2-7]{16}",      // one prefix after a look-around
            r"(?:[a-z]+xyz|[0-9]+)",    // alternatives: nothing required
            r"(?i)(?P<u>[a-z]+)@@@x\d", // required, inside the concatenation
        ]);
        assert_eq!(
            (0..6).map(|i| g.is_gated(i)).collect::<Vec<_>>(),
            vec![false, true, true, true, false, true]
        );
        let open = |h: &[u8]| g.open(h);
        assert_eq!(open(b"nothing here"), vec![true, false, false, false, true, false]);
        assert_eq!(open(b"TelNet://x"), vec![true, false, true, false, true, false]);
        // A gate says "may match": `.eyJ` alone opens the second.
        assert_eq!(open(b"a.eyJ AKIA"), vec![true, true, false, true, true, false]);
        assert_eq!(open(b"u@@@X1"), vec![true, false, false, false, true, true]);
    }

    /// The any-file content patterns' shapes, over generated haystacks with
    /// their literals and near misses planted: whenever an expression
    /// matches, the gate must have opened it; and it must stay closed for
    /// a haystack holding none of its literals.
    #[test]
    fn the_gate_never_closes_an_expression_that_matches() {
        let exprs = [
            r#"telnetd\b[^\n\x00]{0,80}?\s-u\s*["']?(?P<user>[A-Za-z0-9_.-]{1,32}):(?P<secret>[^"'\s:\x00]{1,64})"#,
            r"\blogin\s+-f\s+(?P<user>[A-Za-z_][A-Za-z0-9_.-]{0,31})\b",
            r"AccountKey=(?P<secret>[A-Za-z0-9+/]{8}==)",
            r"https://hooks\.slack\.com/services/(?P<secret>T[0-9A-Z]{2}/B[0-9A-Z]{2}/[0-9A-Za-z]{4})",
            r"\b(?P<secret>xox[abposr]-[0-9A-Za-z]{2,}-[0-9A-Za-z-]{2,8})",
            r"\b(?P<secret>(?:AKIA|ASIA|AGPA|AIDA)[A-Z2-7]{4})\b",
            r"\b(?P<secret>gh[pousr]_[0-9A-Za-z]{4})\b",
            r"(?i)\b(?:https?|ftps?|telnet)://(?P<user>[A-Za-z0-9._-]{1,8}):(?P<secret>[A-Za-z0-9.%-]{1,8})@[a-z.]+",
        ];
        let g = gate(&exprs);
        assert!((0..exprs.len()).all(|i| g.is_gated(i)), "every shape here has literals");
        let compiled: Vec<_> = exprs
            .iter()
            .map(|e| RegexBuilder::new(e).unicode(false).build().unwrap())
            .collect();
        let pieces: &[&[u8]] = &[
            b"telnetd -u admin:secret ",
            b"telnetd",
            b"login -f root ",
            b"login",
            b"AccountKey=abcdefgh== ",
            b"AccountKey=",
            b"https://hooks.slack.com/services/T12/BAB/abcd ",
            b"https://hooks.slack.com/",
            b"xoxb-ab-cd ",
            b"xox",
            b"AKIAABCD ",
            b"ASIAWXYZ ",
            b"AKI",
            b"ghp_abcd ",
            b"gho_",
            b"HTTP://u:p@h ",
            b"telnet://root:x@a",
            b"://",
            b"fTp:/",
            b"\x00",
            b" ",
            b"\n",
        ];
        let mut rng = Xorshift::new(0x5eed_6a7e);
        let (mut matched, mut closed) = (0, 0);
        for _ in 0..3000 {
            let mut hay = Vec::new();
            for _ in 0..rng.below(12) {
                if rng.below(3) == 0 {
                    hay.extend_from_slice(pieces[rng.below(pieces.len())]);
                } else {
                    hay.extend((0..rng.below(6)).map(|_| b"aAz09-_.=:"[rng.below(10)]));
                }
            }
            let open = g.open(&hay);
            for (i, re) in compiled.iter().enumerate() {
                if re.is_match(&hay) {
                    matched += 1;
                    assert!(open[i], "expression {i} matches {:?} but the gate stayed closed", hay);
                }
                if !open[i] {
                    closed += 1;
                }
            }
        }
        // The generator must exercise both sides.
        assert!(matched > 500, "only {matched} matches");
        assert!(closed > 5000, "only {closed} closed gates");
    }
}
