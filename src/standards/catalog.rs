//! The standards data: one file per standard under `checks/standards/`,
//! each clause with its test units (see `docs/conformance.md` for the
//! format and how to add a standard).
//!
//! A clause is decided by its units, never by the controls it is grouped
//! under: a rule fails exactly the firmware units that list it.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A human-facing grouping of clauses across standards
/// (`checks/standards/controls.toml`). Controls decide nothing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub title_zh: String,
    pub description: String,
    /// The check families whose rules bear on the control (documentation,
    /// and where a lab's YARA rules may be grouped).
    pub families: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlsFile {
    control: Vec<Control>,
}

/// Whether a document is a standard, a law or guidance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Standard,
    Law,
    Guidance,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub id: String,
    pub title: String,
    /// Which products the part applies to.
    pub applies_to: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StandardMeta {
    pub id: String,
    pub title: String,
    pub title_zh: String,
    pub version: String,
    pub kind: Kind,
    /// The parts of a multi-part standard (EN 18031-1/-2/-3); a clause of
    /// such a standard names its part.
    #[serde(default, rename = "part")]
    pub parts: Vec<Part>,
}

/// "shall" (a requirement) or "should" (a recommendation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Shall,
    Should,
}

/// How far a clause's number and title were confirmed in a public source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confirmed {
    /// Number and heading read word for word.
    Verbatim,
    /// Number confirmed; the title is fwcert's wording.
    Paraphrase,
    /// Neither confirmed: listed so that it is not dropped.
    Unconfirmed,
}

/// A test unit's kind, after ETSI TS 103 701: a conceptual unit judges the
/// declared design, a functional unit what the product does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    Conceptual,
    Functional,
}

/// What a unit is judged on. Only `firmware` units are decided by fwcert;
/// the others stay OPEN and say what they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Firmware,
    Device,
    Document,
    Process,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Firmware => "firmware",
            Scope::Device => "device",
            Scope::Document => "document",
            Scope::Process => "process",
        }
    }

    /// What an OPEN unit of this scope waits for.
    pub fn needs(self) -> &'static str {
        match self {
            Scope::Firmware => "the manufacturer's declaration",
            Scope::Device => "a test on the device",
            Scope::Document => "the manufacturer's documents",
            Scope::Process => "a process audit",
        }
    }
}

/// A declaration section a firmware unit compares the image with (see
/// [`crate::standards::declaration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeclaredSection {
    Services,
    Accounts,
    Keys,
    Interfaces,
    Update,
    Components,
    Authentication,
}

impl DeclaredSection {
    pub fn as_str(self) -> &'static str {
        match self {
            DeclaredSection::Services => "services",
            DeclaredSection::Accounts => "accounts",
            DeclaredSection::Keys => "keys",
            DeclaredSection::Interfaces => "interfaces",
            DeclaredSection::Update => "update",
            DeclaredSection::Components => "components",
            DeclaredSection::Authentication => "authentication",
        }
    }
}

/// A condition under which a clause applies at all; a declaration can
/// make it false (the clause is then NOT-APPLICABLE, citing the entry).
/// Without a declaration every condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// A physical debug interface can be reached.
    DebugInterfaceReachable,
    /// Updates are delivered over a network.
    NetworkUpdates,
    /// The device processes personal data.
    PersonalData,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::DebugInterfaceReachable => "debug-interface-reachable",
            Condition::NetworkUpdates => "network-updates",
            Condition::PersonalData => "personal-data",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    pub id: String,
    pub kind: UnitKind,
    pub scope: Scope,
    /// What the unit tests, in fwcert's words.
    pub text: String,
    /// Firmware units: a finding of any of these rules refutes the unit.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Firmware units: the families whose complete coverage a PASS needs.
    #[serde(default)]
    pub families: Vec<String>,
    /// Firmware units: the declaration section the image is compared with.
    #[serde(default)]
    pub declaration: Option<DeclaredSection>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub id: String,
    /// The part of a multi-part standard this entry belongs to.
    #[serde(default)]
    pub part: Option<String>,
    pub title: String,
    pub title_zh: String,
    pub modality: Modality,
    pub confirmed: Confirmed,
    /// Where the number and title were confirmed.
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub controls: Vec<String>,
    /// Findings are shown as evidence but never decide the clause.
    #[serde(default)]
    pub evidence_only: bool,
    #[serde(default)]
    pub applies_if: Option<Condition>,
    /// `standard:clause` references whose conformance is deemed conformance
    /// with this clause (a law's safe harbour); such a clause has no units.
    #[serde(default)]
    pub deemed_by: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default, rename = "unit")]
    pub units: Vec<Unit>,
}

impl Clause {
    /// The clause as a report names it: `5.1-1`, or `1:AUM-5-1` in a part.
    pub fn key(&self) -> String {
        match &self.part {
            Some(p) => format!("{p}:{}", self.id),
            None => self.id.clone(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub standard: StandardMeta,
    #[serde(rename = "clause")]
    pub clauses: Vec<Clause>,
}

impl Standard {
    pub fn id(&self) -> &str {
        &self.standard.id
    }

    pub fn clause(&self, key: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.key() == key)
    }
}

/// All controls and standards, validated against each other.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub controls: BTreeMap<String, Control>,
    /// By standard id.
    pub standards: BTreeMap<String, Standard>,
}

/// A problem in the standards data: the file (or standard id) and what.
pub type LoadError = (String, String);

impl Catalog {
    /// Load from `(path, contents)` pairs of `standards/*.toml`, checking
    /// the data against itself. [`Catalog::check_names`] checks the rule
    /// and family names once the rules are loaded.
    pub fn load<'a>(files: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Catalog, LoadError> {
        let mut controls = BTreeMap::new();
        let mut standards = BTreeMap::new();
        enum Parsed {
            Controls(ControlsFile),
            Standard(Box<Standard>),
        }
        // Parsing is most of the loading: the files side by side, then taken
        // in order.
        let files: Vec<(&str, &str)> = files.collect();
        let parsed: Vec<Result<Parsed, toml::de::Error>> = files
            .par_iter()
            .map(|(path, text)| {
                if path.ends_with("controls.toml") {
                    crate::rules::from_toml(text).map(Parsed::Controls)
                } else {
                    crate::rules::from_toml(text).map(|s| Parsed::Standard(Box::new(s)))
                }
            })
            .collect();
        for ((path, _), parsed) in files.iter().zip(parsed) {
            match parsed.map_err(|e| (path.to_string(), e.to_string()))? {
                Parsed::Controls(f) => {
                    for c in f.control {
                        controls.insert(c.id.clone(), c);
                    }
                }
                Parsed::Standard(s) => {
                    if standards.insert(s.standard.id.clone(), *s).is_some() {
                        return Err((path.to_string(), "a standard with this id exists already".into()));
                    }
                }
            }
        }
        let catalog = Catalog { controls, standards };
        for s in catalog.standards.values() {
            catalog.check_standard(s).map_err(|m| (s.id().to_string(), m))?;
        }
        Ok(catalog)
    }

    fn check_standard(&self, s: &Standard) -> Result<(), String> {
        let parts: BTreeSet<&str> = s.standard.parts.iter().map(|p| p.id.as_str()).collect();
        let mut keys = BTreeSet::new();
        for c in &s.clauses {
            let at = |m: String| format!("clause {}: {m}", c.key());
            if !keys.insert(c.key()) {
                return Err(at("appears twice".into()));
            }
            match (&c.part, parts.is_empty()) {
                (Some(p), false) if parts.contains(p.as_str()) => {}
                (None, true) => {}
                (Some(p), true) => return Err(at(format!("names part {p} of a standard without parts"))),
                _ => return Err(at("needs one of the standard's parts".into())),
            }
            if c.confirmed != Confirmed::Unconfirmed && c.source.trim().is_empty() {
                return Err(at("a confirmed clause says where it was confirmed (`source`)".into()));
            }
            for ctl in &c.controls {
                if !self.controls.contains_key(ctl) {
                    return Err(at(format!("unknown control {ctl}")));
                }
            }
            for d in &c.deemed_by {
                let found = d
                    .split_once(':')
                    .and_then(|(sid, key)| self.standards.get(sid).and_then(|t| t.clause(key)));
                match found {
                    None => return Err(at(format!("deemed_by {d} names no clause"))),
                    Some(t) if !t.deemed_by.is_empty() => {
                        return Err(at(format!("deemed_by {d} is itself deemed by another clause")));
                    }
                    Some(_) => {}
                }
            }
            if !c.deemed_by.is_empty() && !c.units.is_empty() {
                return Err(at("a clause deemed by others has no units of its own".into()));
            }
            if c.deemed_by.is_empty() && c.units.is_empty() {
                return Err(at("lists no test unit: every clause says how it is assessed".into()));
            }
            let mut ids = BTreeSet::new();
            for u in &c.units {
                if !ids.insert(&u.id) {
                    return Err(at(format!("unit {} appears twice", u.id)));
                }
                let decides = !u.rules.is_empty() || !u.families.is_empty() || u.declaration.is_some();
                if u.scope != Scope::Firmware && decides {
                    return Err(at(format!(
                        "unit {} is {}-scoped: only firmware units name rules, families or a declaration",
                        u.id,
                        u.scope.as_str()
                    )));
                }
                if !u.rules.is_empty() && u.families.is_empty() {
                    return Err(at(format!(
                        "unit {} names rules but no families: which coverage does a PASS need?",
                        u.id
                    )));
                }
            }
        }
        Ok(())
    }

    /// Check that every rule and family a unit names exists.
    pub fn check_names(&self, rule_exists: impl Fn(&str) -> bool, families: &[&str]) -> Result<(), LoadError> {
        for s in self.standards.values() {
            for c in &s.clauses {
                for u in &c.units {
                    let err = |m: String| (s.id().to_string(), format!("clause {} unit {}: {m}", c.key(), u.id));
                    if let Some(r) = u.rules.iter().find(|r| !rule_exists(r)) {
                        return Err(err(format!("unknown rule {r}")));
                    }
                    if let Some(f) = u.families.iter().find(|f| !families.contains(&f.as_str())) {
                        return Err(err(format!("unknown check family {f}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// The standard ids a profile selects (a profile name, or comma-separated
    /// standard ids); `None` when a name is unknown.
    pub fn select(&self, profile: &str) -> Option<Vec<String>> {
        if let Some((_, _, ids)) = PROFILES.iter().find(|(n, _, _)| *n == profile) {
            if ids.is_empty() {
                return Some(self.standards.keys().cloned().collect());
            }
            return Some(
                ids.iter()
                    .map(|s| s.to_string())
                    .filter(|s| self.standards.contains_key(s))
                    .collect(),
            );
        }
        let ids: Vec<String> = profile.split(',').map(|s| s.trim().to_string()).collect();
        ids.iter().all(|s| self.standards.contains_key(s)).then_some(ids)
    }
}

/// Named groups of standards for `--profile`. A profile selects standards;
/// each is still judged on its own.
pub const PROFILES: &[(&str, &str, &[&str])] = &[
    ("all", "every standard fwcert maps", &[]),
    (
        "eu",
        "EU market: ETSI EN 303 645, EN 18031, CRA Annex I",
        &["etsi-en-303-645", "en-18031", "eu-cra-annex-i"],
    ),
    (
        "cn",
        "Chinese standards: GB 40050, GB/T 22239, GB/T 41387, GB 35114, GB/T 35273, GB/T 38632",
        &[
            "gb-40050-2021",
            "gb-t-22239-2019",
            "gb-t-41387-2022",
            "gb-35114-2017",
            "gb-t-35273-2020",
            "gb-t-38632-2020",
        ],
    ),
    (
        "uk",
        "UK market: PSTI regulations and the ETSI EN 303 645 provisions they deem compliant",
        &["uk-psti-2023", "etsi-en-303-645"],
    ),
    (
        "baseline",
        "ETSI EN 303 645 and OWASP IoT Top 10",
        &["etsi-en-303-645", "owasp-iot-top10-2018"],
    ),
];
