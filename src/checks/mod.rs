//! Stage 3: check families run over the inventory and yield findings.
//!
//! A family is one module with an entry point `fn(&Context) -> FamilyResult`
//! and one row in [`FAMILIES`]. The generic engines, the `[[pattern]]`
//! entries of rule files ([`patterns`]) and YARA ([`yara`]), run once over
//! the whole inventory for the rules of every family. [`run`] gathers it
//! all, resolves each finding against its rule (severity, controls,
//! fingerprint; a finding whose rule is unknown is an error), and keeps the
//! most specific finding where rules overlap ([`overlap`]).
//!
//! The rules themselves (IDs, severities, documentation, fixtures) are data
//! under `checks/`, embedded at build time; code names them through the
//! generated constants in [`crate::rules`]. Their reference pages are
//! generated into `docs/rules/`.

pub(crate) mod binaries;
pub(crate) mod boot;
pub mod components;
pub mod crack;
pub(crate) mod credentials;
pub(crate) mod crypto;
mod daemons;
pub(crate) mod debug;
pub mod dictionary;
pub(crate) mod hardening;
pub(crate) mod input_validation;
mod literal_gate;
pub mod observed;
pub(crate) mod overlap;
pub mod patterns;
pub(crate) mod permissions;
pub mod rule;
pub(crate) mod secrets;
pub(crate) mod services;
mod starts;
mod text_gate;
pub(crate) mod updater;
pub(crate) mod updates;
pub mod yara;

use std::collections::BTreeMap;
use std::time::Duration;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::hash::parts_id;
use crate::inventory::{FileEntry, Inventory};
use crate::unpack::Chain;
use dictionary::Dictionary;
use rule::{Category, Rule, RuleStatus, Severity};

/// One check family: its name (the `family` of its rules, and the folder
/// `checks/<name>/` that holds them) and its entry point.
pub struct Family {
    pub name: &'static str,
    pub check: fn(&Context) -> FamilyResult,
}

/// The check families fwcert implements. Adding one is a module, a row
/// here and a folder of rules under `checks/` (see `docs/architecture.md`).
pub const FAMILIES: &[Family] = &[
    Family {
        name: "boot",
        check: boot::check,
    },
    Family {
        name: "components",
        check: components::check,
    },
    Family {
        name: "credentials",
        check: credentials::check,
    },
    Family {
        name: "crypto",
        check: crypto::check,
    },
    Family {
        name: "debug",
        check: debug::check,
    },
    Family {
        name: "hardening",
        check: hardening::check,
    },
    Family {
        name: "input-validation",
        check: input_validation::check,
    },
    Family {
        name: "permissions",
        check: permissions::check,
    },
    Family {
        name: "secrets",
        check: secrets::check,
    },
    Family {
        name: "services",
        check: services::check,
    },
    Family {
        name: "updater",
        check: updater::check,
    },
    Family {
        name: "updates",
        check: updates::check,
    },
];

/// What a family sees.
pub struct Context<'a, 'u> {
    pub inventory: &'a Inventory<'u>,
    pub rules: &'a RuleSet,
    pub options: &'a CheckOptions,
}

/// What a family found, and why it could not look at everything (empty
/// when it could).
#[derive(Debug, Clone, Default)]
pub struct FamilyResult {
    pub findings: Vec<Finding>,
    pub gaps: Vec<String>,
}

/// For each control ID, the check families whose rules decide it: what the
/// standards catalogue says, handed to the checks as plain data so that
/// this stage does not depend on the next one.
pub type ControlFamilies = BTreeMap<String, Vec<String>>;

/// The check rules loaded from `checks/`: rules, the credential dictionary,
/// the compiled `[[pattern]]` entries and YARA sources.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: BTreeMap<String, Rule>,
    pub dictionary: Dictionary,
    /// The rules' `[[pattern]]` entries, compiled.
    pub patterns: patterns::Patterns,
    /// Every YARA source (`checks/**/*.yar` and a lab's `custom/` files),
    /// compiled once.
    pub yara: yara::Compiled,
    /// The `components` family's vulnerability and end-of-life data.
    pub vulndata: components::data::VulnData,
}

impl RuleSet {
    /// Load from `(path relative to checks/, contents)` pairs, sorted by
    /// path. Rule controls must be keys of `controls`; rule families must be
    /// rows of [`FAMILIES`] (or the lab-rule family of [`yara::CUSTOM_RULE`]).
    pub fn from_files(files: &[(&str, &str)], controls: &ControlFamilies) -> Result<RuleSet> {
        let err = |file: &str, message: String| Error::RuleSet {
            file: file.to_string(),
            message,
        };
        let mut rules = BTreeMap::new();
        let mut dictionary = None;
        let mut common = None;
        let is_rule = |name: &str| name.starts_with(crate::rules::ID_PREFIX) && name.ends_with(".toml");
        // Parsing is most of the loading: the rule files side by side, then
        // checked one by one in order below.
        let parsed: Vec<Option<std::result::Result<Rule, toml::de::Error>>> = files
            .par_iter()
            .map(|(path, text)| is_rule(path.rsplit('/').next().unwrap_or(path)).then(|| crate::rules::from_toml(text)))
            .collect();
        // The embedded rules' content patterns are known to compile as one
        // set (a test builds it); other rule files are checked as they load.
        let bound = if files
            .iter()
            .zip(&parsed)
            .filter(|(_, parsed)| parsed.is_some())
            .all(|((_, text), _)| crate::rules::is_embedded(text))
        {
            patterns::SetBound::Tested
        } else {
            patterns::SetBound::Check
        };
        for ((path, text), parsed) in files.iter().zip(parsed) {
            let name = path.rsplit('/').next().unwrap_or(path);
            if let Some(parsed) = parsed {
                let r: Rule = parsed.map_err(|e| err(path, e.to_string()))?;
                if format!("{}.toml", r.id) != name {
                    return Err(err(path, format!("rule id {} does not match its file name", r.id)));
                }
                if r.engine == rule::Engine::Yara && !r.patterns.is_empty() {
                    return Err(err(
                        path,
                        "a rule with `engine = \"yara\"` has no [[pattern]] entries".into(),
                    ));
                }
                if !is_family(&r.family) {
                    return Err(err(
                        path,
                        format!("unknown family `{}` (see checks::FAMILIES)", r.family),
                    ));
                }
                for c in &r.controls {
                    if !controls.contains_key(c) {
                        return Err(err(path, format!("unknown control {c}")));
                    }
                }
                if rules.insert(r.id.clone(), r).is_some() {
                    return Err(err(path, "duplicate rule id".into()));
                }
            } else if name == "default-credentials.toml" {
                dictionary = Some(Dictionary::parse(text).map_err(|m| err(path, m))?);
            } else if *path == crate::inventory::components::CATALOG_PATH {
                // The inventory reads the embedded copy; a broken one fails
                // here, when the rules load, not silently in a scan.
                crate::inventory::components::Catalog::parse(text).map_err(|e| err(path, e.to_string()))?;
            } else if name == "common-passwords.toml" {
                common = Some(dictionary::CommonList::parse(text).map_err(|m| err(path, m))?);
            }
        }
        let dictionary = dictionary.ok_or_else(|| err("credentials/default-credentials.toml", "missing".into()))?;
        let common = common.ok_or_else(|| err("credentials/common-passwords.toml", "missing".into()))?;
        let dictionary = dictionary
            .with_common(common)
            .map_err(|m| err("credentials/common-passwords.toml", m))?;
        // The two compilers are independent: side by side (a `batch` loads
        // the rules before its first image, on otherwise idle cores).
        let sources: Vec<(&str, &str)> = files.iter().copied().filter(|(p, _)| yara::is_source(p)).collect();
        let (patterns, (yara, vulndata)) = rayon::join(
            || patterns::compile(rules.values(), bound),
            || {
                (
                    yara::compile(&sources, &rules, controls),
                    components::data::VulnData::from_files(files),
                )
            },
        );
        let patterns = patterns.map_err(|(id, m)| err(&format!("{id}.toml"), format!("pattern: {m}")))?;
        for (p, _) in &sources {
            if p.starts_with(yara::CUSTOM_PREFIX) && sources.iter().filter(|(q, _)| q == p).count() > 1 {
                return Err(err(p, "two custom YARA files with the same name".into()));
            }
        }
        let yara = yara.map_err(|(f, m)| err(&f, m))?;
        let vulndata = vulndata.map_err(|(f, m)| err(&f, m))?;
        Ok(RuleSet {
            rules,
            dictionary,
            patterns,
            yara,
            vulndata,
        })
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }
}

/// Configuration files the inventory could not read (over the size cap,
/// or binary although named as configuration), as coverage gaps: the
/// passwords and secrets they may hold were not looked for. Both the
/// `credentials` and the `secrets` family read configuration entries, so
/// both report them.
pub(crate) fn unread_configs(inv: &Inventory) -> Vec<String> {
    inv.configs
        .iter()
        .filter_map(|c| {
            let why = c.unread.as_ref()?;
            let f = inv.files.get(c.file)?;
            Some(format!(
                "{} in {}: configuration file not analysed: {why}",
                f.path, f.container
            ))
        })
        .collect()
}

/// Whether `name` is a family a rule may belong to.
fn is_family(name: &str) -> bool {
    name == yara::CUSTOM_FAMILY || FAMILIES.iter().any(|f| f.name == name)
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

/// One finding as a family or engine reports it, before its rule is
/// resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// A rule ID: one of the constants in [`crate::rules`].
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

impl Finding {
    /// A finding of `rule` in the file `f`, at `line` (text) or `offset`
    /// (bytes), citing the file's path, container chain and SHA-256: the
    /// evidence every finding in a file carries. No secret, no lab rule
    /// (set them with struct update syntax where there is one).
    pub fn in_file(rule: &str, f: &FileEntry, line: Option<usize>, offset: Option<u64>, evidence: String) -> Finding {
        Finding {
            rule: rule.to_string(),
            path: f.path.clone(),
            container: f.container.clone(),
            line,
            offset,
            evidence,
            sha256: Some(f.sha256().to_string()),
            secret: None,
            custom: None,
        }
    }

    /// `path:line` or `path@0xoffset`, then `in <chain>`: where the
    /// finding is, as a reason cites it.
    pub fn location(&self) -> String {
        let at = match (self.line, self.offset) {
            (Some(l), _) => format!(":{l}"),
            (None, Some(o)) => format!("@{o:#x}"),
            (None, None) => String::new(),
        };
        format!("{}{at} in {}", self.path, self.container)
    }
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

/// A finding with its rule resolved: what the standards stage and the
/// report both read, so they agree on severity, controls and fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFinding {
    pub finding: Finding,
    /// The rule's kebab-case name.
    pub name: String,
    pub family: String,
    pub category: Category,
    pub title: String,
    /// The rule's severity, or a lab YARA rule's own.
    pub severity: Severity,
    /// The controls the finding feeds: the rule's, or a lab YARA rule's own.
    pub controls: Vec<String>,
    /// Stable hash of what identifies the finding (16 hex digits);
    /// clause verdicts cite it.
    pub fingerprint: String,
    /// The rule has `status = "preview"`: a heuristic whose findings are
    /// reported for review but never FAIL a clause (the standards stage
    /// reads this; the report shows it).
    pub preview: bool,
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

/// Findings and coverage of every family, as stage 3 hands them on.
#[derive(Debug, Clone, Default)]
pub struct CheckResults<'r> {
    /// Sorted, without duplicates, the most specific of overlapping ones.
    pub findings: Vec<CheckedFinding>,
    /// One entry per row of [`FAMILIES`], in that order, plus the lab-rule
    /// family when a lab's YARA rules were loaded.
    pub coverage: Vec<Coverage>,
    /// What the vulnerability and end-of-life data say about each of the
    /// inventory's components, in its order: the same assessment the
    /// `components` family's findings come from, for the report's
    /// component list.
    pub components: Vec<components::Assessment<'r>>,
    /// What the image provides, for comparison with a declaration.
    pub observed: observed::Observations,
}

/// Run every family, then the pattern and YARA engines over the rules of
/// all families; resolve and de-duplicate the findings.
///
/// Families run side by side on the current rayon pool and their results
/// are gathered in table order, so the outcome does not depend on the
/// number of threads. Fails only when a finding names a rule the rule set
/// does not have: a bug or a mismatched rule set, never dropped silently.
pub fn run<'r>(inv: &Inventory, rules: &'r RuleSet, opts: &CheckOptions) -> Result<CheckResults<'r>> {
    let cx = Context {
        inventory: inv,
        rules,
        options: opts,
    };
    // YARA scans file by file on one thread: it runs beside the families
    // rather than after them, so it does not add its time to theirs.
    let ((per_family, from_patterns), (from_yara, mut engine_gaps)) = rayon::join(
        || {
            rayon::join(
                || FAMILIES.par_iter().map(|f| (f.check)(&cx)).collect::<Vec<_>>(),
                || patterns::run(inv, &rules.patterns),
            )
        },
        || yara::scan(inv, &rules.yara, opts),
    );

    let mut raw = Vec::new();
    let mut coverage = Vec::new();
    for (family, result) in FAMILIES.iter().zip(per_family) {
        raw.extend(result.findings);
        let mut gaps = result.gaps;
        gaps.sort();
        gaps.dedup();
        gaps.extend(engine_gaps.remove(family.name).unwrap_or_default());
        coverage.push(Coverage {
            family: family.name,
            gaps,
        });
    }
    if rules.yara.has_custom() {
        coverage.push(Coverage {
            family: yara::CUSTOM_FAMILY,
            gaps: engine_gaps.remove(yara::CUSTOM_FAMILY).unwrap_or_default(),
        });
    }
    // Gaps left over belong to families fwcert does not implement, whose
    // clauses are INCONCLUSIVE anyway.
    raw.extend(from_patterns);
    raw.extend(from_yara);
    raw.sort();
    raw.dedup();
    let resolved = raw.into_iter().map(|f| resolve(f, rules)).collect::<Result<Vec<_>>>()?;
    let findings = overlap::most_specific(resolved);
    let observed = observed::Observations::gather(inv, &findings);
    Ok(CheckResults {
        findings,
        observed,
        coverage,
        components: inv
            .components
            .iter()
            .map(|d| components::assess(inv, &rules.vulndata, d))
            .collect(),
    })
}

/// Attach the rule's metadata to a finding.
fn resolve(f: Finding, rules: &RuleSet) -> Result<CheckedFinding> {
    let Some(rule) = rules.rule(&f.rule) else {
        return Err(Error::UnknownRule {
            rule: f.rule,
            path: f.path,
        });
    };
    // A lab's YARA rule declares its own severity and controls.
    let (severity, controls) = match &f.custom {
        Some(c) => (c.severity, c.controls.clone()),
        None => (rule.severity, rule.controls.clone()),
    };
    let line = f.line.map(|l| l.to_string()).unwrap_or_default();
    let offset = f.offset.map(|o| o.to_string()).unwrap_or_default();
    let container = f.container.to_string();
    let fingerprint = parts_id(&[&rule.id, &container, &f.path, &line, &offset, &f.evidence]);
    Ok(CheckedFinding {
        name: rule.name.clone(),
        family: rule.family.clone(),
        category: rule.category,
        title: rule.title.clone(),
        severity,
        controls,
        fingerprint,
        preview: rule.status == RuleStatus::Preview,
        finding: f,
    })
}
