//! Data-driven pattern rules: `[[pattern]]` entries in a rule's TOML, run
//! over file contents or over configuration-file entries.
//!
//! The rule file holds the regular expression, the named groups for the
//! secret and the account, and the evidence text; this module compiles them
//! once when the rule set loads (a bad expression is a rule-set error, not a
//! runtime surprise) and applies the few checks a regular expression cannot
//! express (`require`). Byte and string patterns in binaries are YARA
//! rules instead (`checks::yara`, `docs/yara-rules.md`); these patterns stay
//! for configuration entries and line-oriented text.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rayon::prelude::*;
use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Hir, HirKind};

use super::literal_gate::LiteralGate;
use super::rule::{FileScope, Pattern, PatternTarget, Require, Rule};
use super::text_gate::TextGate;
use super::{Finding, SECRET_SLOT, Secret};
use crate::hash::fingerprint_of;
use crate::inventory::config::{ValueContext, is_placeholder, is_role_template};
use crate::inventory::text::is_text;
use crate::inventory::{Inventory, scanned_by_content};

/// One pattern, compiled.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub rule: String,
    pattern: Pattern,
    /// A configuration pattern's expression is compiled when the rules
    /// load (it runs on every entry); a content pattern's when a file first
    /// needs it, since the pattern set picks few of them in a scan.
    re: OnceLock<Regex>,
    value: Option<Regex>,
    not_key: Option<Regex>,
    path: Option<Regex>,
}

impl Compiled {
    fn re(&self) -> &Regex {
        self.re.get_or_init(|| {
            // The content pattern set, which holds this expression, compiled
            // within the same limit when the rules loaded (or, for the
            // embedded rules, in a test: see `SetBound`), and an expression
            // compiles alone into no more than it takes in a set.
            build(&self.pattern.regex, SET_SIZE_LIMIT).expect("compiled in the content pattern set")
        })
    }
}

/// Bytes a pattern's own compiled expression may take.
const SIZE_LIMIT: usize = 8 << 20;
/// Bytes the content pattern set may take; also the bound of a content
/// pattern compiled on first use (see [`Compiled::re`]).
const SET_SIZE_LIMIT: usize = 64 << 20;

fn build(expr: &str, size_limit: usize) -> Result<Regex, String> {
    RegexBuilder::new(expr)
        .unicode(false)
        .size_limit(size_limit)
        .build()
        .map_err(|e| e.to_string())
}

/// `expr` read by regex's parser with the flags [`build`] compiles with; a
/// syntax error is the same as compiling's. The gates' tests read their
/// expressions with it too, as the gates get them here.
pub(super) fn parse(expr: &str) -> Result<Hir, String> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(expr)
        .map_err(|e| e.to_string())
}

/// The named groups of an expression.
fn group_names(hir: &Hir) -> Vec<String> {
    fn walk(h: &Hir, out: &mut Vec<String>) {
        match h.kind() {
            HirKind::Capture(c) => {
                out.extend(c.name.as_deref().map(str::to_string));
                walk(&c.sub, out);
            }
            HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().for_each(|h| walk(h, out)),
            HirKind::Repetition(r) => walk(&r.sub, out),
            _ => {}
        }
    }
    let mut names = Vec::new();
    walk(hir, &mut names);
    names
}

/// Every rule's patterns, compiled (content patterns on first use), and
/// the two gates that say which content patterns could match a file: one
/// pass of a gate over a file instead of one pass per pattern.
#[derive(Debug, Clone)]
pub struct Patterns {
    compiled: Vec<Compiled>,
    /// Indexes into `compiled` of the content patterns, in the order the
    /// gates index them.
    content: Vec<usize>,
    /// Over a binary, which of the content patterns (in that order)
    /// could match: only those meant for any file are run there, and one
    /// pass for their literals replaces one pass per pattern.
    any_file_gate: LiteralGate,
    /// Over a text file, which of the content patterns (in that
    /// order) could match: only those are run there.
    text_gate: TextGate,
}

/// Whether [`compile`] builds the content pattern set to check that it
/// fits [`SET_SIZE_LIMIT`], which bounds each pattern compiled on first use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBound {
    /// Build it: the patterns come (at least partly) from files other
    /// than the embedded ones.
    Check,
    /// The patterns are the embedded rules', whose set a test builds
    /// (`the_set_and_the_text_gate_agree_with_each_pattern_on_each_fixture_file`):
    /// building it again at every start took 2 ms of a scan's loading.
    Tested,
}

/// Compile every rule's patterns; the error names the rule.
pub fn compile<'a>(rules: impl Iterator<Item = &'a Rule>, bound: SetBound) -> Result<Patterns, (String, String)> {
    let mut compiled = Vec::new();
    let mut any_file: Vec<Hir> = Vec::new();
    let mut every_content: Vec<Hir> = Vec::new();
    for r in rules {
        for p in &r.patterns {
            let err = |e: String| (r.id.clone(), e);
            let re = OnceLock::new();
            if p.on == PatternTarget::Content {
                let hir = parse(&p.regex).map_err(err)?;
                let names = group_names(&hir);
                for group in [&p.secret, &p.user].into_iter().flatten() {
                    if !names.contains(group) {
                        return Err(err(format!("pattern has no group named `{group}`")));
                    }
                }
                // A pattern for text files only never runs over a binary:
                // it gets an expression that cannot match, so that the
                // gate's indexes stay the content patterns' order.
                any_file.push(if p.files == FileScope::Any {
                    hir.clone()
                } else {
                    Hir::fail()
                });
                every_content.push(hir);
            } else {
                let _ = re.set(build(&p.regex, SIZE_LIMIT).map_err(err)?);
            }
            let opt = |e: &Option<String>| e.as_deref().map(|e| build(e, SIZE_LIMIT)).transpose();
            compiled.push(Compiled {
                rule: r.id.clone(),
                value: opt(&p.value).map_err(err)?,
                not_key: opt(&p.not_key).map_err(err)?,
                path: opt(&p.path).map_err(err)?,
                re,
                pattern: p.clone(),
            });
        }
    }
    let content: Vec<usize> = (0..compiled.len())
        .filter(|&i| compiled[i].pattern.on == PatternTarget::Content)
        .collect();
    // The content patterns compile as one set within the size limit, so that
    // each compiles alone on first use (see `Compiled::re`). The set is not
    // kept: the gates decide which patterns run.
    if bound == SetBound::Check {
        content_set(&compiled, &content).map_err(|e| ("(all content patterns)".to_string(), e.to_string()))?;
    }
    Ok(Patterns {
        compiled,
        content,
        any_file_gate: LiteralGate::new(&any_file),
        text_gate: TextGate::new(&every_content),
    })
}

/// The content patterns (`content`, indexes into `compiled`) as one set.
fn content_set(compiled: &[Compiled], content: &[usize]) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(content.iter().map(|&i| compiled[i].pattern.regex.as_str()))
        .unicode(false)
        .size_limit(SET_SIZE_LIMIT)
        .dfa_size_limit(16 << 20)
        .build()
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for b in s {
        counts[*b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// What a content pattern's secret is: a login's password when the
/// pattern also captures a user (`user:pass` in a chpasswd line or a URL),
/// otherwise a machine secret.
fn content_context(c: &Compiled) -> ValueContext {
    if c.pattern.user.is_some() {
        ValueContext::Login
    } else {
        ValueContext::Secret
    }
}

/// Whether `secret` meets `req`; `cx` says what the secret is (a login's
/// password or a machine secret), which decides what a placeholder is.
fn passes(req: Require, secret: &str, cx: ValueContext) -> bool {
    match req {
        Require::NotPlaceholder => !is_placeholder(secret, cx) && !secret.to_ascii_lowercase().contains("example"),
        Require::HighEntropy => {
            let b = secret.as_bytes();
            b.len() >= 16
                && b.iter().any(u8::is_ascii_alphabetic)
                && b.iter().any(u8::is_ascii_digit)
                && !secret.contains('/')
                && entropy(b) >= 3.3
        }
        Require::Jwt => {
            let parts: Vec<&str> = secret.split('.').collect();
            parts.len() == 3
                && URL_SAFE_NO_PAD
                    .decode(parts[0].trim_end_matches('='))
                    .ok()
                    .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                    .is_some_and(|v| v.get("alg").is_some())
        }
        Require::WpaPsk => {
            let b = secret.as_bytes();
            ((8..=63).contains(&b.len()) && b.iter().all(|c| (0x20..0x7f).contains(c)))
                || (b.len() == 64 && b.iter().all(u8::is_ascii_hexdigit))
        }
    }
}

/// Matched text for evidence: the secret replaced by the slot, control
/// characters escaped, at most 160 characters.
fn snippet(matched: &[u8], secret: Option<(usize, usize)>) -> String {
    let (before, after, slot) = match secret {
        Some((s, e)) => (&matched[..s], &matched[e..], SECRET_SLOT),
        None => (matched, &[][..], ""),
    };
    let clean = |b: &[u8]| {
        let s: String = String::from_utf8_lossy(b).escape_debug().collect();
        s.replace(SECRET_SLOT, "{ secret }")
    };
    let mut out = format!("{}{slot}{}", clean(before), clean(after));
    if out.chars().count() > 160 {
        out = format!("{}…", out.chars().take(160).collect::<String>());
        if !out.contains(slot) {
            out.push_str(slot);
        }
    }
    out
}

fn fill(template: &str, user: &str, key: &str, matched: &str) -> String {
    template
        .replace("{user}", user)
        .replace("{key}", key)
        .replace("{match}", matched)
}

/// Run every rule's patterns over the inventory, whatever the rule's
/// family: a pattern rule needs no code in its family to run.
pub fn run(inv: &Inventory, patterns: &Patterns) -> Vec<Finding> {
    if patterns.compiled.is_empty() {
        return Vec::new();
    }
    // Files are independent (a finding is one per rule, file and secret):
    // they are searched in parallel and their findings kept in file order.
    let mut out: Vec<Finding> = inv
        .files
        .par_iter()
        .filter(|f| scanned_by_content(inv.unpacked, f))
        .flat_map_iter(|f| content_findings(f, patterns))
        .collect();
    let mut seen: BTreeSet<(String, usize, String)> = BTreeSet::new();
    let configs: Vec<&Compiled> = patterns
        .compiled
        .iter()
        .filter(|c| c.pattern.on == PatternTarget::Config)
        .collect();
    if !configs.is_empty() {
        for cf in &inv.configs {
            let f = &inv.files[cf.file];
            for c in &configs {
                if c.path.as_ref().is_some_and(|p| !p.is_match(f.path.as_bytes())) {
                    continue;
                }
                for e in &cf.entries {
                    let (k, v) = (e.key.as_bytes(), e.value.as_str());
                    if !c.re().is_match(k)
                        || c.not_key.as_ref().is_some_and(|n| n.is_match(k))
                        || c.value.as_ref().is_some_and(|r| !r.is_match(v.as_bytes()))
                        || !c
                            .pattern
                            .require
                            .iter()
                            .all(|r| passes(*r, v, ValueContext::of_key(&e.key)))
                        || !seen.insert((c.rule.clone(), cf.file, v.to_string()))
                    {
                        continue;
                    }
                    let evidence = fill(&c.pattern.evidence, "", &e.key, &format!("{}={SECRET_SLOT}", e.key));
                    out.push(Finding {
                        secret: Some(Secret {
                            value: Some(v.to_string()),
                            fingerprint: fingerprint_of(v.as_bytes()),
                        }),
                        ..Finding::in_file(&c.rule, f, e.line, e.offset, evidence)
                    });
                }
            }
        }
    }
    out
}

/// The content patterns' findings in one file: one per rule and secret (a
/// token repeated in a file is one problem).
fn content_findings(f: &crate::inventory::FileEntry, patterns: &Patterns) -> Vec<Finding> {
    let text = is_text(f.data);
    // Of the patterns a text file could match by its literals, every one
    // runs; over a binary only the few meant for any file, and of those
    // only the ones whose literals the binaries' gate found.
    let open = if text {
        patterns.text_gate.open(f.data)
    } else {
        patterns.any_file_gate.open(f.data)
    };
    let line_at = |off: usize| text.then(|| memchr::memchr_iter(b'\n', &f.data[..off.min(f.data.len())]).count() + 1);
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&str, String)> = BTreeSet::new();
    for (si, &ci) in patterns.content.iter().enumerate() {
        let c = &patterns.compiled[ci];
        let applies = open[si] && (text || c.pattern.files == FileScope::Any);
        if !applies || c.path.as_ref().is_some_and(|p| !p.is_match(f.path.as_bytes())) {
            continue;
        }
        for caps in c.re().captures_iter(f.data) {
            let Some(m) = caps.get(0) else { continue };
            let group = |g: &Option<String>| g.as_deref().and_then(|n| caps.name(n));
            let secret = group(&c.pattern.secret);
            let secret_text = secret.map(|s| String::from_utf8_lossy(s.as_bytes()).to_string());
            let user = group(&c.pattern.user)
                .map(|u| String::from_utf8_lossy(u.as_bytes()).to_string())
                .unwrap_or_default();
            if let Some(s) = &secret_text
                && !c.pattern.require.iter().all(|r| {
                    passes(*r, s, content_context(c)) && !(*r == Require::NotPlaceholder && is_role_template(&user, s))
                })
            {
                continue;
            }
            let key = secret_text
                .clone()
                .unwrap_or_else(|| String::from_utf8_lossy(m.as_bytes()).to_string());
            if !seen.insert((c.rule.as_str(), key)) {
                continue;
            }
            let span = secret.map(|s| (s.start() - m.start(), s.end() - m.start()));
            let line = line_at(m.start());
            let evidence = fill(&c.pattern.evidence, &user, "", &snippet(m.as_bytes(), span));
            let offset = line.is_none().then_some(m.start() as u64);
            out.push(Finding {
                secret: secret_text.map(|s| Secret {
                    fingerprint: fingerprint_of(s.as_bytes()),
                    value: Some(s),
                }),
                ..Finding::in_file(&c.rule, f, line, offset, evidence)
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements() {
        use ValueContext::{Login, Secret as S};
        assert!(passes(Require::HighEntropy, "q8Zr2LmX0pT7vNc4Ws9K", S));
        assert!(!passes(Require::HighEntropy, "aaaaaaaaaaaaaaaa1111", S));
        assert!(!passes(Require::HighEntropy, "short1", S));
        assert!(passes(Require::WpaPsk, "hunter22", Login));
        assert!(!passes(Require::WpaPsk, "short", Login));
        assert!(passes(Require::WpaPsk, &"ab".repeat(32), Login));
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        assert!(passes(
            Require::Jwt,
            &format!("{header}.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"),
            S
        ));
        assert!(!passes(Require::Jwt, "eyJub3Rqc29u.eyJ4.sig", S));
        assert!(!passes(Require::NotPlaceholder, "AKIAIOSFODNN7EXAMPLE", S));
        assert!(passes(Require::NotPlaceholder, "admin", S));
        // `echo 'root:888888' | chpasswd` sets a real camera default; a
        // token of eights is a dummy.
        assert!(passes(Require::NotPlaceholder, "888888", Login));
        assert!(!passes(Require::NotPlaceholder, "888888", S));
    }

    /// The set only chooses which patterns run on a text file: on every
    /// fixture file (and every fixture binary's strings) of every rule it
    /// must choose exactly the patterns that match on their own, and every
    /// content pattern must match one of them (each has a fail fixture).
    #[test]
    fn content_patterns_are_checked_at_load_and_compiled_on_first_use() {
        let rules = crate::rules::Rules::embedded().expect("the embedded rules load");
        let mut rule = rules.checks.rules[crate::rules::FW_SECRET_009].clone();
        let p = compile(std::iter::once(&rule), SetBound::Check).expect("compiles");
        assert!(p.compiled.iter().all(|c| c.re.get().is_none()));
        let token = format!("token=ghp_{}\n", "a1B2".repeat(9));
        assert!(p.compiled[0].re().is_match(token.as_bytes()));
        assert!(p.compiled[0].re.get().is_some() && p.compiled[1].re.get().is_none());
        // A missing group or a syntax error still fails the loading.
        rule.patterns[0].secret = Some("nope".into());
        let (id, err) = compile(std::iter::once(&rule), SetBound::Check).unwrap_err();
        assert_eq!(
            (id.as_str(), err.as_str()),
            (rule.id.as_str(), "pattern has no group named `nope`")
        );
        rule.patterns[0].secret = None;
        rule.patterns[0].regex = "(?P<secret>[a-".into();
        let (_, err) = compile(std::iter::once(&rule), SetBound::Check).unwrap_err();
        assert!(err.contains("unclosed character class"), "{err}");
        // A configuration pattern is compiled when it loads.
        let config = rules
            .checks
            .rules
            .values()
            .find(|r| r.patterns.iter().any(|p| p.on == PatternTarget::Config))
            .expect("a configuration rule");
        let p = compile(std::iter::once(config), SetBound::Check).expect("compiles");
        assert!(
            p.compiled
                .iter()
                .filter(|c| c.pattern.on == PatternTarget::Config)
                .all(|c| c.re.get().is_some())
        );
    }

    /// A content pattern too large to compile within the set's limit is
    /// refused when rule files other than the embedded ones load; the
    /// embedded rules skip that check only because their set is built by
    /// the test below.
    #[test]
    fn an_oversized_content_pattern_is_refused_from_rule_files_not_embedded() {
        let rules = crate::rules::Rules::embedded().expect("the embedded rules load");
        let mut rule = rules.checks.rules[crate::rules::FW_SECRET_009].clone();
        rule.patterns.truncate(1);
        rule.patterns[0].secret = None;
        rule.patterns[0].regex = "(?:(?:(?:[a-z0-9]{100}){100}){100})".into();
        let (id, err) = compile(std::iter::once(&rule), SetBound::Check).unwrap_err();
        assert_eq!(id, "(all content patterns)");
        assert!(err.contains("exceeds size limit"), "{err}");
        // Loaded from a lab's copy of the rule files, the bound is checked.
        let file = format!("{}.toml", crate::rules::FW_SECRET_009);
        let text = crate::rules::EMBEDDED
            .iter()
            .find(|(path, _)| path.ends_with(&file))
            .map(|(_, t)| {
                t.replace(
                    "gh[pousr]_[0-9A-Za-z]{36}",
                    "gh[pousr]_(?:(?:(?:[a-z0-9]{100}){100}){100})",
                )
            })
            .expect("the rule's file");
        let files: Vec<(&str, &str)> = crate::rules::EMBEDDED
            .iter()
            .map(|&(path, t)| {
                if path.ends_with(&file) {
                    (path, text.as_str())
                } else {
                    (path, t)
                }
            })
            .collect();
        let err = crate::rules::Rules::from_files(&files).unwrap_err().to_string();
        assert!(
            err.contains("(all content patterns)") && err.contains("exceeds size limit"),
            "{err}"
        );
    }

    /// On every fixture file: the set that validates the content patterns
    /// picks exactly those that match alone (so that compiling alone is as
    /// good as compiling in the set), and the text gate lets each of them
    /// through.
    #[test]
    fn the_set_and_the_text_gate_agree_with_each_pattern_on_each_fixture_file() {
        let rules = crate::rules::Rules::embedded().expect("the embedded rules load");
        let p = &rules.checks.patterns;
        let set = content_set(&p.compiled, &p.content).expect("the content patterns compile as a set");
        // Every embedded content pattern has literals to be gated by.
        assert!((0..p.content.len()).all(|si| p.text_gate.is_gated(si)));
        let mut files = 0;
        let mut ever_matched = vec![false; p.content.len()];
        for rule in rules.checks.rules.values() {
            for fx in &rule.fixtures {
                for (path, text) in fx.files.iter().chain(&fx.elf) {
                    let picked = set.matches(text.as_bytes());
                    let open = p.text_gate.open(text.as_bytes());
                    for (si, &ci) in p.content.iter().enumerate() {
                        let c = &p.compiled[ci];
                        let alone = c.re().is_match(text.as_bytes());
                        assert_eq!(
                            picked.matched(si),
                            alone,
                            "{} pattern {si} on {path} of fixture {} of {}",
                            c.rule,
                            fx.name,
                            rule.id
                        );
                        // The text gate lets through every pattern that matches.
                        assert!(
                            !alone || open[si],
                            "{} pattern {si} matches {path} of fixture {} of {}, but the text gate kept it out",
                            c.rule,
                            fx.name,
                            rule.id
                        );
                        ever_matched[si] |= alone;
                    }
                    files += 1;
                }
            }
        }
        assert!(files > 100, "only {files} fixture files");
        let unmatched: Vec<String> = p
            .content
            .iter()
            .zip(&ever_matched)
            .filter(|(_, m)| !**m)
            .map(|(&ci, _)| format!("{} {}", p.compiled[ci].rule, p.compiled[ci].pattern.regex))
            .collect();
        assert!(unmatched.is_empty(), "no fixture file matches: {unmatched:#?}");
    }

    /// The gate only spares a binary the patterns that cannot match it: on
    /// every fixture file it must open each any-file pattern that matches.
    /// Every any-file pattern is gated: by its prefixes, or, for
    /// FW-CRED-011 (case-insensitive schemes, too many spellings) and
    /// FW-SECRET-011 (`eyJ`, too short), by a literal each match contains.
    #[test]
    fn the_any_file_gate_opens_every_pattern_that_matches_a_fixture() {
        let rules = crate::rules::Rules::embedded().expect("the embedded rules load");
        let p = &rules.checks.patterns;
        let any: Vec<(usize, &Compiled)> = p
            .content
            .iter()
            .enumerate()
            .map(|(si, &ci)| (si, &p.compiled[ci]))
            .filter(|(_, c)| c.pattern.files == FileScope::Any)
            .collect();
        let ungated: Vec<&str> = any
            .iter()
            .filter(|(si, _)| !p.any_file_gate.is_gated(*si))
            .map(|(_, c)| c.rule.as_str())
            .collect();
        assert_eq!((any.len(), ungated), (14, Vec::<&str>::new()));
        let (mut matched, mut closed) = (0, 0);
        for rule in rules.checks.rules.values() {
            for fx in &rule.fixtures {
                for (path, text) in fx.files.iter().chain(&fx.elf) {
                    let open = p.any_file_gate.open(text.as_bytes());
                    for (si, c) in &any {
                        if c.re().is_match(text.as_bytes()) {
                            matched += 1;
                            assert!(open[*si], "{} on {path} of fixture {} of {}", c.rule, fx.name, rule.id);
                        } else if !open[*si] {
                            closed += 1;
                        }
                    }
                    // Text-only patterns are never run over a binary.
                    let text_only = p
                        .content
                        .iter()
                        .enumerate()
                        .filter(|(_, ci)| p.compiled[**ci].pattern.files != FileScope::Any);
                    assert!(text_only.clone().count() > 0);
                    for (si, _) in text_only {
                        assert!(!open[si], "text-only pattern {si} opened on {path}");
                    }
                }
            }
        }
        assert!(matched >= 14 && closed > 500, "{matched} matches, {closed} closed");
    }

    #[test]
    fn snippets_hide_the_secret() {
        assert_eq!(snippet(b"http://u:pw@h", Some((9, 11))), "http://u:{secret}@h");
        assert_eq!(snippet(b"a\x00b", None), "a\\0b");
        let long = vec![b'x'; 400];
        let s = snippet(&long, Some((390, 395)));
        assert!(s.ends_with(SECRET_SLOT) && s.chars().count() < 180);
    }
}
