//! Stage 4: controls, the cross-walk to each standard, and the verdicts.
//!
//! [`Catalog::evaluate`] takes what stage 3 produced (resolved findings and
//! each family's coverage) and the unpack's gaps, and returns a verdict
//! per clause of the selected standards. It knows nothing of the report.
//!
//! Rules feed *controls* (`checks/standards/controls.toml`); each standard
//! file maps its clauses to controls. A clause's verdict follows from the
//! findings of the rules that feed its controls and from how completely
//! those rules could look:
//!
//! 1. not testable from firmware → NOT-TESTABLE;
//! 2. a finding of a stable rule at or above the fail threshold → FAIL
//!    (decisive even when the unpack was partial: the violation is there);
//! 3. a family that feeds the clause has no automated check yet, could not
//!    analyse everything, or the unpack was incomplete, or a finding of a
//!    *preview* rule (a heuristic, `status = "preview"`) at or above the
//!    threshold bears on the clause → INCONCLUSIVE, with the reasons. A
//!    preview finding never fails a clause (it may be a false positive
//!    until the conformance model lands), but neither may the clause pass
//!    over it unreviewed: that would be failing open;
//! 4. the clause is only partly decidable from firmware → INCONCLUSIVE
//!    ("no violation found; needs other evidence");
//! 5. otherwise PASS.
//!
//! The image's overall verdict is FAIL if any clause fails, PASS only if
//! every testable clause passes, and INCONCLUSIVE otherwise.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::checks::rule::Severity;
use crate::checks::{CheckedFinding, Coverage};

/// A verdict for a clause or a whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Verdict {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "INCONCLUSIVE")]
    Inconclusive,
    #[serde(rename = "NOT-TESTABLE")]
    NotTestable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::NotTestable => "NOT-TESTABLE",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub title_zh: String,
    pub description: String,
    pub families: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlsFile {
    control: Vec<Control>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Testable {
    Full,
    Partial,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StandardMeta {
    pub id: String,
    pub name: String,
    pub name_zh: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub clause: String,
    pub title: String,
    pub title_zh: String,
    pub controls: Vec<String>,
    pub testable: Testable,
    pub verified: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub standard: StandardMeta,
    #[serde(rename = "requirement")]
    pub requirements: Vec<Requirement>,
}

/// All controls and standards, validated against each other.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub controls: BTreeMap<String, Control>,
    /// By standard id.
    pub standards: BTreeMap<String, Standard>,
}

/// Named groups of standards for `--profile`.
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
        "baseline",
        "ETSI EN 303 645 and OWASP IoT Top 10",
        &["etsi-en-303-645", "owasp-iot-top10-2018"],
    ),
];

impl Catalog {
    /// Load from `(path, contents)` pairs of `standards/*.toml`.
    pub fn load<'a>(files: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Catalog, (String, String)> {
        let mut controls = BTreeMap::new();
        let mut standards = BTreeMap::new();
        for (path, text) in files {
            if path.ends_with("controls.toml") {
                let f: ControlsFile = toml::from_str(text).map_err(|e| (path.to_string(), e.to_string()))?;
                for c in f.control {
                    controls.insert(c.id.clone(), c);
                }
            } else {
                let s: Standard = toml::from_str(text).map_err(|e| (path.to_string(), e.to_string()))?;
                standards.insert(s.standard.id.clone(), s);
            }
        }
        for s in standards.values() {
            let mut clauses = BTreeSet::new();
            for r in &s.requirements {
                if !clauses.insert(&r.clause) {
                    return Err((s.standard.id.clone(), format!("clause {} appears twice", r.clause)));
                }
                for c in &r.controls {
                    if !controls.contains_key(c) {
                        return Err((
                            s.standard.id.clone(),
                            format!("clause {} names unknown control {c}", r.clause),
                        ));
                    }
                }
            }
        }
        Ok(Catalog { controls, standards })
    }

    /// The standard ids a profile selects.
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

/// What the verdict logic needs to know about one check family.
#[derive(Debug, Clone, Default)]
pub struct FamilyState {
    /// Whether fwcert has an automated check for this family.
    pub implemented: bool,
    /// Why the family could not analyse everything; empty when it could.
    pub gaps: Vec<String>,
}

/// A finding as the verdict logic sees it.
#[derive(Debug, Clone)]
pub struct Evidence<'a> {
    pub fingerprint: &'a str,
    pub controls: &'a [String],
    /// At or above the fail threshold (and above info).
    pub counts: bool,
    /// From a preview rule: it can make a clause INCONCLUSIVE, never FAIL.
    pub preview: bool,
}

/// One clause's verdict with its reasons and the findings behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Fingerprints of the findings behind a FAIL, or of the preview
    /// findings that keep the clause INCONCLUSIVE.
    pub findings: Vec<String>,
}

/// What the verdicts are decided from.
#[derive(Debug, Clone, Copy)]
pub struct Assessment<'a> {
    pub findings: &'a [CheckedFinding],
    /// One entry per implemented check family.
    pub coverage: &'a [Coverage],
    /// Why the unpack is not complete; empty when it is.
    pub unpack_gaps: &'a [String],
    /// Findings below this severity are reported but fail no clause.
    pub fail_on: Severity,
}

/// One clause of a selected standard, and its decision.
#[derive(Debug, Clone)]
pub struct ClauseVerdict<'c> {
    pub standard: &'c Standard,
    pub requirement: &'c Requirement,
    pub decision: Decision,
}

/// The clauses of the selected standards, in standard then file order,
/// and the image's overall verdict.
#[derive(Debug, Clone)]
pub struct Verdicts<'c> {
    pub clauses: Vec<ClauseVerdict<'c>>,
    pub overall: Verdict,
}

impl Catalog {
    /// Decide every clause of the standards in `selected` (unknown ids are
    /// skipped; [`Catalog::select`] only returns known ones).
    pub fn evaluate<'c>(&'c self, selected: &[String], a: &Assessment) -> Verdicts<'c> {
        let mut families: BTreeMap<String, FamilyState> = BTreeMap::new();
        for c in a.coverage {
            let state = families.entry(c.family.to_string()).or_default();
            state.implemented = true;
            state.gaps.extend(c.gaps.iter().cloned());
        }
        let evidence: Vec<Evidence> = a
            .findings
            .iter()
            .map(|f| Evidence {
                fingerprint: &f.fingerprint,
                controls: &f.controls,
                counts: f.severity >= a.fail_on && f.severity > Severity::Info,
                preview: f.preview,
            })
            .collect();
        let mut clauses = Vec::new();
        for sid in selected {
            let Some(standard) = self.standards.get(sid) else {
                continue;
            };
            for requirement in &standard.requirements {
                clauses.push(ClauseVerdict {
                    standard,
                    requirement,
                    decision: decide(requirement, self, &evidence, &families, a.unpack_gaps),
                });
            }
        }
        let overall = overall(clauses.iter().map(|c| c.decision.verdict));
        Verdicts { clauses, overall }
    }
}

/// Decide one clause. See the module documentation for the order of rules.
pub fn decide(
    req: &Requirement,
    catalog: &Catalog,
    findings: &[Evidence],
    families: &BTreeMap<String, FamilyState>,
    unpack_gaps: &[String],
) -> Decision {
    if req.testable == Testable::None {
        return Decision {
            verdict: Verdict::NotTestable,
            reasons: vec![
                req.note
                    .clone()
                    .unwrap_or_else(|| "not decidable from a firmware image".into()),
            ],
            findings: Vec::new(),
        };
    }
    let bearing = |preview: bool| -> Vec<String> {
        let mut hits: Vec<String> = findings
            .iter()
            .filter(|f| f.counts && f.preview == preview && f.controls.iter().any(|c| req.controls.contains(c)))
            .map(|f| f.fingerprint.to_string())
            .collect();
        hits.sort();
        hits.dedup();
        hits
    };
    let hits = bearing(false);
    if !hits.is_empty() {
        return Decision {
            verdict: Verdict::Fail,
            reasons: vec![format!("{} finding(s) violate this clause", hits.len())],
            findings: hits,
        };
    }
    let previews = bearing(true);
    let mut reasons = BTreeSet::new();
    if !previews.is_empty() {
        reasons.insert(format!(
            "{} finding(s) of preview rules need review: heuristics report findings but decide no verdict",
            previews.len()
        ));
    }
    let needed: BTreeSet<&str> = req
        .controls
        .iter()
        .filter_map(|c| catalog.controls.get(c))
        .flat_map(|c| c.families.iter().map(String::as_str))
        .collect();
    for fam in &needed {
        match families.get(*fam) {
            Some(s) if s.implemented => {
                for g in &s.gaps {
                    reasons.insert(format!("{fam}: {g}"));
                }
            }
            _ => {
                reasons.insert(format!("no automated `{fam}` check yet"));
            }
        }
    }
    if !unpack_gaps.is_empty() {
        reasons.insert("the image was not completely unpacked (see unpack.reasons)".to_string());
    }
    if reasons.is_empty() && req.testable == Testable::Partial {
        reasons.insert(format!(
            "no violation found; firmware analysis decides this clause only partly{}",
            req.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
        ));
    }
    Decision {
        verdict: if reasons.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Inconclusive
        },
        reasons: reasons.into_iter().collect(),
        findings: previews,
    }
}

/// The image's verdict from its clauses' verdicts.
pub fn overall(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut any_inconclusive = false;
    let mut any_pass = false;
    for v in verdicts {
        match v {
            Verdict::Fail => return Verdict::Fail,
            Verdict::Inconclusive => any_inconclusive = true,
            Verdict::Pass => any_pass = true,
            Verdict::NotTestable => {}
        }
    }
    if any_inconclusive || !any_pass {
        Verdict::Inconclusive
    } else {
        Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let controls = r#"
[[control]]
id = "C1"
title = "t"
title_zh = "t"
description = "d"
families = ["credentials"]
[[control]]
id = "C2"
title = "t"
title_zh = "t"
description = "d"
families = ["services"]
"#;
        let std = r#"
[standard]
id = "s"
name = "S"
name_zh = "S"
version = "1"
[[requirement]]
clause = "1"
title = "t"
title_zh = "t"
controls = ["C1"]
testable = "full"
verified = true
[[requirement]]
clause = "2"
title = "t"
title_zh = "t"
controls = ["C2"]
testable = "full"
verified = true
[[requirement]]
clause = "3"
title = "t"
title_zh = "t"
controls = []
testable = "none"
verified = true
"#;
        Catalog::load([("controls.toml", controls), ("s.toml", std)].into_iter()).unwrap()
    }

    fn families(gaps: &[&str]) -> BTreeMap<String, FamilyState> {
        let mut m = BTreeMap::new();
        m.insert(
            "credentials".to_string(),
            FamilyState {
                implemented: true,
                gaps: gaps.iter().map(|s| s.to_string()).collect(),
            },
        );
        m
    }

    #[test]
    fn the_decision_rules_apply_in_order() {
        let c = catalog();
        let s = &c.standards["s"];
        let ctl = vec!["C1".to_string()];
        let f = [Evidence {
            fingerprint: "abc",
            controls: &ctl,
            counts: true,
            preview: false,
        }];
        let d = decide(&s.requirements[0], &c, &f, &families(&[]), &["partial".into()]);
        assert_eq!(d.verdict, Verdict::Fail, "a finding fails even when unpack is partial");
        assert_eq!(d.findings, ["abc"]);
        let d = decide(&s.requirements[0], &c, &[], &families(&[]), &[]);
        assert_eq!(d.verdict, Verdict::Pass);
        let d = decide(&s.requirements[0], &c, &[], &families(&[]), &["x".into()]);
        assert_eq!(d.verdict, Verdict::Inconclusive, "fail closed on a partial unpack");
        let d = decide(&s.requirements[0], &c, &[], &families(&["no /etc/passwd"]), &[]);
        assert_eq!(d.verdict, Verdict::Inconclusive);
        assert!(d.reasons[0].contains("no /etc/passwd"));
        let d = decide(&s.requirements[1], &c, &[], &families(&[]), &[]);
        assert_eq!(d.verdict, Verdict::Inconclusive, "no services check exists yet");
        let d = decide(&s.requirements[2], &c, &f, &families(&[]), &[]);
        assert_eq!(d.verdict, Verdict::NotTestable);
        let below = [Evidence {
            fingerprint: "abc",
            controls: &ctl,
            counts: false,
            preview: false,
        }];
        assert_eq!(
            decide(&s.requirements[0], &c, &below, &families(&[]), &[]).verdict,
            Verdict::Pass
        );
    }

    fn checked(severity: Severity, control: &str) -> CheckedFinding {
        CheckedFinding {
            finding: crate::checks::Finding::default(),
            name: String::new(),
            family: "credentials".into(),
            category: crate::checks::rule::Category::Credentials,
            title: String::new(),
            severity,
            controls: vec![control.to_string()],
            fingerprint: format!("fp-{}", severity.as_str()),
            preview: false,
        }
    }

    #[test]
    fn a_preview_finding_alone_never_fails_its_clause() {
        let c = catalog();
        let selected = vec!["s".to_string()];
        let coverage = [Coverage {
            family: "credentials",
            gaps: Vec::new(),
        }];
        let verdict = |findings: &[CheckedFinding]| {
            let v = c.evaluate(
                &selected,
                &Assessment {
                    findings,
                    coverage: &coverage,
                    unpack_gaps: &[],
                    fail_on: Severity::Low,
                },
            );
            (v.overall, v.clauses[0].decision.clone())
        };
        let mut preview = checked(Severity::Critical, "C1");
        preview.preview = true;
        let stable = checked(Severity::High, "C1");
        // A preview finding alone: not FAIL, and not PASS over an
        // unreviewed heuristic hit either; it is cited.
        let (overall, d) = verdict(std::slice::from_ref(&preview));
        assert_eq!((overall, d.verdict), (Verdict::Inconclusive, Verdict::Inconclusive));
        assert_eq!(d.findings, ["fp-critical"]);
        assert!(d.reasons[0].contains("preview"), "{:?}", d.reasons);
        // A stable one fails the clause, and only it is cited.
        let (overall, d) = verdict(&[preview.clone(), stable]);
        assert_eq!((overall, d.verdict), (Verdict::Fail, Verdict::Fail));
        assert_eq!(d.findings, ["fp-high"]);
        // Below the threshold, a preview finding is as silent as any other.
        let mut info = checked(Severity::Info, "C1");
        info.preview = true;
        assert_eq!(verdict(&[info]).1.verdict, Verdict::Pass);
    }

    #[test]
    fn evaluate_decides_from_findings_and_coverage_alone() {
        let c = catalog();
        let selected = vec!["s".to_string()];
        let coverage = [Coverage {
            family: "credentials",
            gaps: Vec::new(),
        }];
        let findings = [checked(Severity::Medium, "C1"), checked(Severity::Info, "C1")];
        let assess = |fail_on, unpack_gaps: &[String]| {
            let v = c.evaluate(
                &selected,
                &Assessment {
                    findings: &findings,
                    coverage: &coverage,
                    unpack_gaps,
                    fail_on,
                },
            );
            let per_clause: Vec<(String, Verdict, Vec<String>)> = v
                .clauses
                .iter()
                .map(|c| {
                    (
                        c.requirement.clause.clone(),
                        c.decision.verdict,
                        c.decision.findings.clone(),
                    )
                })
                .collect();
            (v.overall, per_clause)
        };
        use Verdict::*;
        // The medium finding fails clause 1 and is cited; info never fails.
        let (overall, clauses) = assess(Severity::Low, &[]);
        assert_eq!(overall, Fail);
        assert_eq!(clauses[0], ("1".into(), Fail, vec!["fp-medium".into()]));
        // Clause 2 needs `services`, which has no coverage entry: no check yet.
        assert_eq!((clauses[1].1, clauses[2].1), (Inconclusive, NotTestable));
        // Above the threshold, the same finding fails nothing; a partial
        // unpack keeps clause 1 from passing.
        let (overall, clauses) = assess(Severity::High, &[]);
        assert_eq!((overall, clauses[0].1), (Inconclusive, Pass));
        let (_, clauses) = assess(Severity::High, &["cut".to_string()]);
        assert_eq!(clauses[0].1, Inconclusive);
        // Unknown standard ids select nothing.
        let none = c.evaluate(
            &["nope".to_string()],
            &Assessment {
                findings: &findings,
                coverage: &coverage,
                unpack_gaps: &[],
                fail_on: Severity::Low,
            },
        );
        assert!(none.clauses.is_empty());
    }

    #[test]
    fn overall_verdict() {
        use Verdict::*;
        assert_eq!(overall([Pass, Fail, Inconclusive]), Fail);
        assert_eq!(overall([Pass, Inconclusive, NotTestable]), Inconclusive);
        assert_eq!(overall([Pass, NotTestable]), Pass);
        assert_eq!(overall([NotTestable]), Inconclusive);
    }

    #[test]
    fn unknown_controls_are_refused() {
        let bad = "[standard]\nid='x'\nname='x'\nname_zh='x'\nversion='1'\n[[requirement]]\nclause='1'\ntitle='t'\ntitle_zh='t'\ncontrols=['NOPE']\ntestable='full'\nverified=true\n";
        assert!(Catalog::load([("x.toml", bad)].into_iter()).is_err());
    }
}
