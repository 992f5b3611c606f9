//! Stage 3: check families run over the inventory and yield findings.
//!
//! Each family is a module with a `check(inventory, rules, options)` entry
//! point that returns its findings and its coverage: whether it could look
//! at everything it needed to. The rules themselves (IDs, severities,
//! documentation, fixtures) are data under `checks/`, embedded at build time.

pub mod binaries;
pub mod crack;
pub mod credentials;
pub mod debug;
pub mod dictionary;
pub mod patterns;
pub mod rule;
pub mod secrets;
pub mod services;
mod starts;
pub mod yara;

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::standards::Catalog;
use crate::unpack::Chain;
use dictionary::Dictionary;
use rule::Rule;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_checks.rs"));
}

/// The check families fwcert implements today.
pub const FAMILIES: &[&str] = &["credentials", "debug", "secrets", "services"];

/// Everything loaded from `checks/`: rules, the credential dictionary and
/// the standards catalogue, with a digest over all of it.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: BTreeMap<String, Rule>,
    pub dictionary: Dictionary,
    /// The rules' `[[pattern]]` entries, compiled.
    pub patterns: Vec<patterns::Compiled>,
    /// Every YARA source (`checks/**/*.yar` and a lab's `custom/` files),
    /// compiled once.
    pub yara: yara::Compiled,
    pub catalog: Catalog,
    /// SHA-256 over every file's relative path and contents, in path order
    /// (a lab's YARA files included, as `custom/<name>`): two reports with
    /// the same digest used the same rules.
    pub digest: String,
}

impl RuleSet {
    /// The rule set compiled into this binary.
    pub fn embedded() -> Result<RuleSet> {
        RuleSet::from_files(embedded::EMBEDDED.iter().copied())
    }

    /// The embedded rule set plus a lab's YARA files (name, source), which
    /// are reported under [`yara::CUSTOM_RULE`].
    pub fn with_custom_yara(custom: &[(String, String)]) -> Result<RuleSet> {
        let named: Vec<(String, &str)> = custom
            .iter()
            .map(|(n, s)| (format!("{}{n}", yara::CUSTOM_PREFIX), s.as_str()))
            .collect();
        RuleSet::from_files(
            embedded::EMBEDDED
                .iter()
                .copied()
                .chain(named.iter().map(|(n, s)| (n.as_str(), *s))),
        )
    }

    /// Load from `(relative path, contents)` pairs.
    pub fn from_files<'a>(files: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> Result<RuleSet> {
        let err = |file: &str, message: String| Error::RuleSet {
            file: file.to_string(),
            message,
        };
        let mut sorted: Vec<(&str, &str)> = files.clone().collect();
        sorted.sort();
        let mut h = Sha256::new();
        for (p, c) in &sorted {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p.as_bytes());
            h.update((c.len() as u64).to_le_bytes());
            h.update(c.as_bytes());
        }
        let digest = hex::encode(h.finalize());

        let catalog = Catalog::load(sorted.iter().copied().filter(|(p, _)| p.starts_with("standards/")))
            .map_err(|(f, m)| err(&f, m))?;
        let mut rules = BTreeMap::new();
        let mut dictionary = None;
        for (path, text) in &sorted {
            let name = path.rsplit('/').next().unwrap_or(path);
            if name.starts_with("FW-") && name.ends_with(".toml") {
                let r: Rule = toml::from_str(text).map_err(|e| err(path, e.to_string()))?;
                if format!("{}.toml", r.id) != name {
                    return Err(err(path, format!("rule id {} does not match its file name", r.id)));
                }
                if r.engine == rule::Engine::Yara && !r.patterns.is_empty() {
                    return Err(err(
                        path,
                        "a rule with `engine = \"yara\"` has no [[pattern]] entries".into(),
                    ));
                }
                for c in &r.controls {
                    if !catalog.controls.contains_key(c) {
                        return Err(err(path, format!("unknown control {c}")));
                    }
                }
                if rules.insert(r.id.clone(), r).is_some() {
                    return Err(err(path, "duplicate rule id".into()));
                }
            } else if name == "default-credentials.toml" {
                dictionary = Some(Dictionary::parse(text).map_err(|m| err(path, m))?);
            }
        }
        let dictionary = dictionary.ok_or_else(|| err("credentials/default-credentials.toml", "missing".into()))?;
        let patterns =
            patterns::compile(rules.values()).map_err(|(id, m)| err(&format!("{id}.toml"), format!("pattern: {m}")))?;
        let sources: Vec<(&str, &str)> = sorted.iter().copied().filter(|(p, _)| yara::is_source(p)).collect();
        for (p, _) in &sources {
            if p.starts_with(yara::CUSTOM_PREFIX) && sources.iter().filter(|(q, _)| q == p).count() > 1 {
                return Err(err(p, "two custom YARA files with the same name".into()));
            }
        }
        let yara = yara::compile(&sources, &rules, &catalog).map_err(|(f, m)| err(&f, m))?;
        Ok(RuleSet {
            rules,
            dictionary,
            patterns,
            yara,
            catalog,
            digest,
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }
}

/// Where [`Secret::value`] goes in a finding's evidence. The report fills
/// it in, or writes a redaction marker under `--redact-secrets`; finding
/// fingerprints are computed over the evidence with the slot, so they are
/// the same in both reports.
pub const SECRET_SLOT: &str = "{secret}";

/// A password, key or token a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Secret {
    /// The clear value, when the report may show it (recovered passwords,
    /// tokens); `None` for key material, which is never copied.
    pub value: Option<String>,
    /// `sha256:<hex>`: the same secret gets the same fingerprint in any
    /// image (see `docs/report-schema.md` for what is hashed).
    pub fingerprint: String,
}

/// One finding, before the report attaches rule metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub rule: String,
    /// Absolute path inside the filesystem (or `payload` / `image`).
    pub path: String,
    /// The container chain that led to the file.
    pub container: Chain,
    pub line: Option<usize>,
    pub offset: Option<u64>,
    pub evidence: String,
    pub sha256: Option<String>,
    /// The secret behind the finding, if any.
    pub secret: Option<Secret>,
    /// Set when a lab's own YARA rule produced the finding.
    pub custom: Option<CustomMatch>,
}

/// A lab's YARA rule behind a finding: the report shows its name, and its
/// `meta` decides the severity and the controls it feeds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CustomMatch {
    /// `<file>:<rule identifier>`.
    pub rule: String,
    pub severity: rule::Severity,
    pub controls: Vec<String>,
}

/// Whether a family could analyse everything it needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    pub family: &'static str,
    /// Empty when complete; otherwise why not.
    pub gaps: Vec<String>,
}

/// Options that affect what checks do.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Wall-clock budget for password cracking, all accounts together.
    pub crack_time: Duration,
    /// Wall-clock budget for YARA scanning, all files together.
    pub yara_time: Duration,
    /// Files larger than this are not YARA-scanned (a coverage gap).
    pub yara_max_file: u64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            crack_time: Duration::from_secs(60),
            yara_time: Duration::from_secs(120),
            yara_max_file: 64 << 20,
        }
    }
}

/// Findings and coverage of every family.
#[derive(Debug, Clone, Default)]
pub struct CheckResults {
    pub findings: Vec<Finding>,
    pub coverage: Vec<Coverage>,
}

/// Run every family. The credentials family (binary string search and
/// cracking) runs beside the others on the current rayon pool; YARA rules
/// run once over all files and their findings and coverage gaps go to the
/// families of the rules they feed. Results are gathered in a fixed order
/// and the findings sorted.
pub fn run_all(inv: &Inventory, rules: &RuleSet, opts: &CheckOptions) -> CheckResults {
    let mut out = CheckResults::default();
    let ((f, c), rest) = rayon::join(
        || credentials::check(inv, rules, opts),
        || [secrets::check(inv, rules), services::check(inv), debug::check(inv)],
    );
    out.findings.extend(f);
    out.coverage.push(c);
    for (f, c) in rest {
        out.findings.extend(f);
        out.coverage.push(c);
    }
    let (f, mut gaps) = yara::scan(inv, &rules.yara, &rules.catalog, opts);
    out.findings.extend(f);
    for c in &mut out.coverage {
        c.gaps.extend(gaps.remove(c.family).unwrap_or_default());
    }
    if rules.yara.has_custom() {
        let gaps = gaps.remove(yara::CUSTOM_FAMILY).unwrap_or_default();
        out.coverage.push(Coverage {
            family: yara::CUSTOM_FAMILY,
            gaps,
        });
    }
    // What is left are families fwcert does not implement, whose controls
    // are INCONCLUSIVE anyway.
    out.findings = credentials::most_specific(std::mem::take(&mut out.findings));
    out.findings.sort();
    out.findings.dedup();
    out
}
