//! Deciding units, clauses and standards, and the CI gate. The rules are
//! in the module documentation of [`crate::standards`].

use std::collections::{BTreeMap, BTreeSet};

use super::catalog::{Catalog, Clause, DeclaredSection, Modality, Scope, Standard, Unit};
use super::declaration::{Comparison, Declaration, IcsStatus, compare};
use super::{Cause, Verdict};
use crate::checks::observed::Observations;
use crate::checks::rule::Severity;
use crate::checks::{CheckedFinding, Coverage};

/// What the verdicts are decided from.
#[derive(Debug, Clone, Copy)]
pub struct Assessment<'a> {
    pub findings: &'a [CheckedFinding],
    /// One entry per implemented check family.
    pub coverage: &'a [Coverage],
    /// Why the unpack is not complete; empty when it is.
    pub unpack_gaps: &'a [String],
    /// What the image provides, for the units that compare it with the
    /// declaration.
    pub observed: &'a Observations,
    pub declaration: Option<&'a Declaration>,
    /// `--fail-on`: a finding at or above this severity makes the gate
    /// fail, whatever the clauses say. It changes no verdict.
    pub fail_on: Option<Severity>,
}

/// One unit's verdict.
#[derive(Debug, Clone)]
pub struct UnitVerdict<'c> {
    pub unit: &'c Unit,
    /// For a clause deemed by others: the clause the unit belongs to
    /// (`etsi-en-303-645 5.1-1`).
    pub via: Option<String>,
    pub verdict: Verdict,
    /// Set when INCONCLUSIVE: the most significant cause.
    pub cause: Option<Cause>,
    pub reasons: Vec<String>,
    /// Fingerprints of the findings behind a FAIL, or of preview findings
    /// that need review, or (evidence-only clauses) shown as evidence.
    pub findings: Vec<String>,
}

/// One clause's verdict.
#[derive(Debug, Clone)]
pub struct ClauseVerdict<'c> {
    pub standard: &'c Standard,
    pub clause: &'c Clause,
    pub verdict: Verdict,
    /// Over the firmware units fwcert decided; `None` when there are none.
    pub firmware_verdict: Option<Verdict>,
    pub cause: Option<Cause>,
    pub reasons: Vec<String>,
    pub findings: Vec<String>,
    pub units: Vec<UnitVerdict<'c>>,
}

impl ClauseVerdict<'_> {
    /// "Standard title clause", how a clause that deems another is named in
    /// that clause's units and reasons.
    fn label(&self) -> String {
        format!("{} {}", self.standard.standard.title, self.clause.key())
    }
}

/// One standard's verdict over its applicable clauses.
#[derive(Debug, Clone)]
pub struct StandardVerdict<'c> {
    pub standard: &'c Standard,
    pub verdict: Verdict,
    pub firmware_verdict: Option<Verdict>,
    pub counts: BTreeMap<Verdict, usize>,
}

/// The process exit status a CI gates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// No FAIL and no analysis gap in the firmware scope.
    Pass = 0,
    /// A clause FAILs, or a finding is at or above `--fail-on`.
    Fail = 1,
    /// Something could not be unpacked or analysed.
    Gap = 2,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Exit::Pass => "pass",
            Exit::Fail => "fail",
            Exit::Gap => "analysis-gap",
        }
    }
}

/// The gate and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub exit: Exit,
    pub reasons: Vec<String>,
}

/// Everything the standards stage decided.
#[derive(Debug, Clone)]
pub struct Verdicts<'c> {
    /// The selected standards' clauses, in standard then file order.
    pub clauses: Vec<ClauseVerdict<'c>>,
    pub standards: Vec<StandardVerdict<'c>>,
    pub gate: Gate,
}

/// The facts every unit is decided from, prepared once.
struct Facts<'a> {
    findings: &'a [CheckedFinding],
    /// Family → its gaps; a family that is absent has no check.
    families: BTreeMap<&'a str, &'a [String]>,
    unpack_gaps: &'a [String],
    declaration: Option<&'a Declaration>,
    comparisons: BTreeMap<DeclaredSection, Comparison>,
}

impl Catalog {
    /// Decide every clause of the standards in `selected` (unknown ids are
    /// skipped; [`Catalog::select`] only returns known ones).
    pub fn evaluate<'c>(&'c self, selected: &[String], a: &Assessment) -> Verdicts<'c> {
        let facts = Facts {
            findings: a.findings,
            families: a.coverage.iter().map(|c| (c.family, c.gaps.as_slice())).collect(),
            unpack_gaps: a.unpack_gaps,
            declaration: a.declaration,
            comparisons: a.declaration.map(|d| compare(&d.data, a.observed)).unwrap_or_default(),
        };
        let mut clauses = Vec::new();
        let mut standards = Vec::new();
        for sid in selected {
            let Some(standard) = self.standards.get(sid) else {
                continue;
            };
            let first = clauses.len();
            for c in &standard.clauses {
                clauses.push(self.clause(standard, c, &facts));
            }
            standards.push(standard_verdict(standard, &clauses[first..]));
        }
        let gate = gate(&clauses, a);
        Verdicts {
            clauses,
            standards,
            gate,
        }
    }

    fn clause<'c>(&'c self, standard: &'c Standard, c: &'c Clause, facts: &Facts) -> ClauseVerdict<'c> {
        // A clause deemed by others is decided by them, clause by clause
        // (so that one of them being NOT-APPLICABLE carries over).
        let deemed: Vec<ClauseVerdict<'c>> = c
            .deemed_by
            .iter()
            .filter_map(|r| {
                let (sid, key) = r.split_once(':')?;
                let s = self.standards.get(sid)?;
                Some(self.clause(s, s.clause(key)?, facts))
            })
            .collect();
        let units: Vec<UnitVerdict<'c>> = if c.deemed_by.is_empty() {
            c.units.iter().map(|u| unit(u, None, facts)).collect()
        } else {
            deemed
                .iter()
                .flat_map(|d| {
                    let via = d.label();
                    d.units.iter().cloned().map(move |mut u| {
                        u.via = Some(via.clone());
                        u
                    })
                })
                .collect()
        };
        let mut out = ClauseVerdict {
            standard,
            clause: c,
            verdict: Verdict::Pass,
            firmware_verdict: Verdict::combine(
                units
                    .iter()
                    .filter(|u| u.unit.scope == Scope::Firmware && u.verdict != Verdict::Open)
                    .map(|u| u.verdict),
            ),
            cause: None,
            reasons: Vec::new(),
            findings: Vec::new(),
            units,
        };
        if let Some(why) = not_applicable(standard, c, facts.declaration) {
            out.verdict = Verdict::NotApplicable;
            out.firmware_verdict = out.firmware_verdict.map(|_| Verdict::NotApplicable);
            out.reasons.push(why);
            return out;
        }
        if let Some(row) = facts.declaration.and_then(|d| d.ics(standard.id(), &c.key()))
            && row.status == IcsStatus::NotSupported
        {
            out.verdict = Verdict::Fail;
            out.reasons.push(format!(
                "declared not supported in the ICS, and this provision is a requirement (shall): {}",
                row.justification
            ));
            return out;
        }
        let mut findings: BTreeSet<&str> = BTreeSet::new();
        if !deemed.is_empty() {
            out.verdict = Verdict::combine(deemed.iter().map(|d| d.verdict)).unwrap_or(Verdict::Open);
            out.firmware_verdict = Verdict::combine(deemed.iter().filter_map(|d| d.firmware_verdict));
            out.cause = deemed
                .iter()
                .filter(|d| out.verdict == Verdict::Inconclusive && d.verdict == Verdict::Inconclusive)
                .filter_map(|d| d.cause)
                .min();
            for d in deemed.iter().filter(|d| d.verdict == out.verdict) {
                let via = d.label();
                out.reasons.extend(d.reasons.iter().map(|r| format!("{via}: {r}")));
                findings.extend(d.findings.iter().map(String::as_str));
            }
            out.findings = findings.into_iter().map(str::to_string).collect();
            return out;
        }
        if c.evidence_only {
            out.verdict = Verdict::Open;
            out.firmware_verdict = None;
            for u in &out.units {
                findings.extend(u.findings.iter().map(String::as_str));
            }
            out.reasons.push(format!(
                "evidence only: firmware findings inform this clause but cannot decide it ({} shown as evidence)",
                findings.len()
            ));
            out.findings = findings.into_iter().map(str::to_string).collect();
            return out;
        }
        out.verdict = Verdict::combine(out.units.iter().map(|u| u.verdict)).unwrap_or(Verdict::Open);
        let mut reasons = BTreeSet::new();
        for u in out.units.iter().filter(|u| u.verdict == out.verdict) {
            let label = match &u.via {
                Some(v) => format!("{v} unit {}", u.unit.id),
                None => format!("unit {}", u.unit.id),
            };
            for r in &u.reasons {
                reasons.insert(format!("{label}: {r}"));
            }
            findings.extend(u.findings.iter().map(String::as_str));
        }
        out.cause = out
            .units
            .iter()
            .filter(|u| out.verdict == Verdict::Inconclusive && u.verdict == Verdict::Inconclusive)
            .filter_map(|u| u.cause)
            .min();
        out.reasons = reasons.into_iter().collect();
        out.findings = findings.into_iter().map(str::to_string).collect();
        out
    }
}

/// Why a clause does not apply, citing the declaration: its part is not
/// the product's, a condition it depends on is declared false, or the ICS
/// says so (for a recommendation, a justified deviation, provision 4-1).
fn not_applicable(standard: &Standard, c: &Clause, d: Option<&Declaration>) -> Option<String> {
    let d = d?;
    if let Some(p) = &c.part
        && let Some(why) = d.excludes_part(standard.id(), p)
    {
        return Some(why);
    }
    if let Some(cond) = c.applies_if
        && let Some(why) = d.refutes(cond)
    {
        return Some(format!("applies only if {}; {why}", cond.as_str()));
    }
    let row = d.ics(standard.id(), &c.key())?;
    match row.status {
        IcsStatus::NotApplicable => Some(format!("declared not applicable in the ICS: {}", row.justification)),
        IcsStatus::NotSupported if c.modality == Modality::Should => Some(format!(
            "a recommendation (should) declared not implemented, with a justification (ETSI EN 303 645 provision 4-1): {}",
            row.justification
        )),
        _ => None,
    }
}

/// Decide one unit.
fn unit<'c>(u: &'c Unit, via: Option<String>, f: &Facts) -> UnitVerdict<'c> {
    let mut out = UnitVerdict {
        unit: u,
        via,
        verdict: Verdict::Pass,
        cause: None,
        reasons: Vec::new(),
        findings: Vec::new(),
    };
    if u.scope != Scope::Firmware {
        out.verdict = Verdict::Open;
        out.reasons.push(format!("needs {}", u.scope.needs()));
        return out;
    }
    let bearing = |preview: bool| -> Vec<&CheckedFinding> {
        f.findings
            .iter()
            .filter(|x| x.preview == preview && x.severity > Severity::Info && u.rules.contains(&x.finding.rule))
            .collect()
    };
    let hits = bearing(false);
    let mut problems: Vec<String> = Vec::new();
    if !hits.is_empty() {
        let ids: BTreeSet<&str> = hits.iter().map(|x| x.finding.rule.as_str()).collect();
        problems.push(format!(
            "refuted by {} finding(s) of {}",
            hits.len(),
            ids.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut open_for_declaration = false;
    if let Some(section) = u.declaration {
        match f.comparisons.get(&section) {
            Some(c) => problems.extend(c.problems.iter().cloned()),
            None => open_for_declaration = true,
        }
    }
    if !problems.is_empty() {
        out.verdict = Verdict::Fail;
        out.reasons = problems;
        out.findings = sorted_fingerprints(&hits);
        return out;
    }
    let mut causes: BTreeSet<(Cause, String)> = BTreeSet::new();
    let previews = bearing(true);
    if !previews.is_empty() {
        causes.insert((
            Cause::Review,
            format!(
                "{} finding(s) of preview rules need review: heuristics report but decide nothing",
                previews.len()
            ),
        ));
        out.findings = sorted_fingerprints(&previews);
    }
    for fam in &u.families {
        match f.families.get(fam.as_str()) {
            None => {
                causes.insert((Cause::NoCheck, format!("no automated `{fam}` check")));
            }
            Some(gaps) => {
                for g in gaps.iter() {
                    causes.insert((Cause::of_family_gap(g), format!("{fam}: {g}")));
                }
            }
        }
    }
    for g in f.unpack_gaps {
        causes.insert((Cause::of_unpack_gap(g), format!("not completely unpacked: {g}")));
    }
    if u.rules.is_empty() && u.declaration.is_none() {
        causes.insert((Cause::NoCheck, "fwcert has no check for this unit yet".into()));
    }
    if let Some((cause, _)) = causes.first() {
        out.verdict = Verdict::Inconclusive;
        out.cause = Some(*cause);
        out.reasons = causes.into_iter().map(|(_, r)| r).collect();
        return out;
    }
    if open_for_declaration {
        out.verdict = Verdict::Open;
        out.reasons.push(format!(
            "compares the image with the manufacturer's declaration ({}); none was given",
            u.declaration.map(DeclaredSection::as_str).unwrap_or_default()
        ));
        return out;
    }
    let mut examined = Vec::new();
    if !u.rules.is_empty() {
        examined.push(format!("no finding of {}", u.rules.join(", ")));
    }
    if let Some(section) = u.declaration
        && let Some(c) = f.comparisons.get(&section)
    {
        examined.push(format!(
            "consistent with the declaration ({}: {} item(s) compared)",
            section.as_str(),
            c.compared
        ));
    }
    out.reasons.push(examined.join("; "));
    out
}

fn sorted_fingerprints(findings: &[&CheckedFinding]) -> Vec<String> {
    let mut v: Vec<String> = findings.iter().map(|x| x.fingerprint.clone()).collect();
    v.sort();
    v.dedup();
    v
}

fn standard_verdict<'c>(standard: &'c Standard, clauses: &[ClauseVerdict<'c>]) -> StandardVerdict<'c> {
    let mut counts: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
    for c in clauses {
        *counts.entry(c.verdict).or_default() += 1;
    }
    StandardVerdict {
        standard,
        verdict: Verdict::combine(clauses.iter().map(|c| c.verdict)).unwrap_or(Verdict::NotApplicable),
        firmware_verdict: Verdict::combine(clauses.iter().filter_map(|c| c.firmware_verdict)),
        counts,
    }
}

/// The exit status: FAIL when a selected clause fails (or a finding is at
/// or above `--fail-on`); else an analysis gap when the unpack was
/// incomplete or a firmware unit of an applicable clause is INCONCLUSIVE;
/// else pass. OPEN clauses are listed, not blocking.
fn gate(clauses: &[ClauseVerdict], a: &Assessment) -> Gate {
    gate_excusing(clauses, a, &BTreeSet::new())
}

/// Whether a FAIL clause fails only through `excused` findings: every unit
/// that FAILs cites findings, and all of them are excused. A FAIL unit that
/// cites none (nothing to waive) is never excused.
fn excused_fail(c: &ClauseVerdict, excused: &BTreeSet<String>) -> bool {
    let mut failing = c.units.iter().filter(|u| u.verdict == Verdict::Fail).peekable();
    failing.peek().is_some()
        && failing.all(|u| !u.findings.is_empty() && u.findings.iter().all(|f| excused.contains(f)))
}

/// The gate when the findings in `excused` (waived by a project's policy,
/// or already in a baseline report) are not counted: a clause that FAILs
/// only through them, and a finding at or above `--fail-on` that is one of
/// them, no longer fail the gate. Verdicts are not touched; the reasons say
/// what was not counted.
pub fn gate_excusing(clauses: &[ClauseVerdict], a: &Assessment, excused: &BTreeSet<String>) -> Gate {
    let name = |c: &ClauseVerdict| format!("{} {}", c.standard.standard.title, c.clause.key());
    let (not_counted, failed): (Vec<&ClauseVerdict>, Vec<&ClauseVerdict>) = clauses
        .iter()
        .filter(|c| c.verdict == Verdict::Fail)
        .partition(|c| excused_fail(c, excused));
    let failed: Vec<String> = failed.into_iter().map(name).collect();
    let not_counted: Vec<String> = not_counted.into_iter().map(name).collect();
    let mut reasons = Vec::new();
    let mut notes = Vec::new();
    if !failed.is_empty() {
        reasons.push(format!("{} clause(s) FAIL: {}", failed.len(), failed.join(", ")));
    }
    if !not_counted.is_empty() {
        notes.push(format!(
            "{} clause(s) FAIL only through waived or baseline findings, not counted by the gate: {}",
            not_counted.len(),
            not_counted.join(", ")
        ));
    }
    if let Some(threshold) = a.fail_on {
        let (n, waived) = a
            .findings
            .iter()
            .filter(|f| !f.preview && f.severity >= threshold)
            .fold((0, 0), |(n, w), f| {
                if excused.contains(&f.fingerprint) {
                    (n, w + 1)
                } else {
                    (n + 1, w)
                }
            });
        if n > 0 {
            reasons.push(format!("{n} finding(s) at or above --fail-on {}", threshold.as_str()));
        }
        if waived > 0 {
            notes.push(format!(
                "{waived} finding(s) at or above --fail-on {} are waived or in the baseline, not counted by the gate",
                threshold.as_str()
            ));
        }
    }
    if !reasons.is_empty() {
        reasons.extend(notes);
        return Gate {
            exit: Exit::Fail,
            reasons,
        };
    }
    if !a.unpack_gaps.is_empty() {
        reasons.push(format!(
            "the image was not completely unpacked ({} reason(s), see unpack.reasons)",
            a.unpack_gaps.len()
        ));
    }
    let undecided: Vec<String> = clauses
        .iter()
        .filter(|c| c.firmware_verdict == Some(Verdict::Inconclusive) && !c.clause.evidence_only)
        .map(|c| {
            let cause = c.cause.map(|x| format!(" ({})", x.as_str())).unwrap_or_default();
            format!("{} {}{cause}", c.standard.standard.title, c.clause.key())
        })
        .collect();
    if !undecided.is_empty() {
        reasons.push(format!(
            "{} clause(s) have firmware units fwcert could not decide: {}",
            undecided.len(),
            undecided.join(", ")
        ));
    }
    if reasons.is_empty() {
        reasons.push(if not_counted.is_empty() {
            "no clause FAILs and every firmware unit was decided".into()
        } else {
            "no clause FAILs except through findings the gate does not count, and every firmware unit was decided"
                .into()
        });
        reasons.extend(notes);
        return Gate {
            exit: Exit::Pass,
            reasons,
        };
    }
    reasons.extend(notes);
    Gate {
        exit: Exit::Gap,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::observed::{ObservedInterface, ObservedService};
    use crate::checks::{Finding, rule::Category};

    const CONTROLS: &str =
        "[[control]]\nid = \"C\"\ntitle = \"t\"\ntitle_zh = \"t\"\ndescription = \"d\"\nfamilies = []\n";

    /// A standard with one clause per behaviour under test.
    const STANDARD: &str = r#"
[standard]
id = "s"
title = "S"
title_zh = "S"
version = "1"
kind = "standard"

[[clause]]
id = "pw"
title = "passwords"
title_zh = "t"
modality = "shall"
confirmed = "paraphrase"
source = "test"
controls = ["C"]
[[clause.unit]]
id = "pw-1 a)"
kind = "conceptual"
scope = "document"
text = "design"
[[clause.unit]]
id = "pw-2 a)"
kind = "functional"
scope = "firmware"
text = "no default password"
rules = ["FW-CRED-002"]
families = ["credentials"]
[[clause.unit]]
id = "pw-2 b)"
kind = "functional"
scope = "firmware"
text = "no empty password"
rules = ["FW-CRED-001"]
families = ["credentials"]

[[clause]]
id = "ssh"
title = "ssh"
title_zh = "t"
modality = "should"
confirmed = "paraphrase"
source = "test"
controls = ["C"]
[[clause.unit]]
id = "ssh-2 a)"
kind = "functional"
scope = "firmware"
text = "no root password login over ssh"
rules = ["FW-SVC-010"]
families = ["services"]

[[clause]]
id = "svc"
title = "services declared"
title_zh = "t"
modality = "shall"
confirmed = "paraphrase"
source = "test"
[[clause.unit]]
id = "svc-2 a)"
kind = "functional"
scope = "firmware"
text = "every service declared"
families = ["services"]
declaration = "services"

[[clause]]
id = "debug"
title = "debug"
title_zh = "t"
modality = "shall"
confirmed = "paraphrase"
source = "test"
applies_if = "debug-interface-reachable"
[[clause.unit]]
id = "debug-2 a)"
kind = "functional"
scope = "firmware"
text = "no console shell"
rules = ["FW-DEBUG-001"]
families = ["debug"]

[[clause]]
id = "privacy"
title = "privacy"
title_zh = "t"
modality = "shall"
confirmed = "paraphrase"
source = "test"
evidence_only = true
[[clause.unit]]
id = "privacy-2 a)"
kind = "functional"
scope = "firmware"
text = "data flows"
rules = ["FW-CRED-002"]
families = ["credentials"]

[[clause]]
id = "nocheck"
title = "no check"
title_zh = "t"
modality = "shall"
confirmed = "unconfirmed"
[[clause.unit]]
id = "nocheck-2 a)"
kind = "functional"
scope = "firmware"
text = "something fwcert cannot check yet"
"#;

    const LAW: &str = r#"
[standard]
id = "law"
title = "Law"
title_zh = "L"
version = "1"
kind = "law"

[[clause]]
id = "1"
title = "deemed"
title_zh = "t"
modality = "shall"
confirmed = "paraphrase"
source = "test"
deemed_by = ["s:pw"]
"#;

    fn catalog() -> Catalog {
        Catalog::load(
            [
                ("standards/controls.toml", CONTROLS),
                ("standards/s.toml", STANDARD),
                ("standards/law.toml", LAW),
            ]
            .into_iter(),
        )
        .unwrap()
    }

    fn finding(rule: &str, severity: Severity, preview: bool) -> CheckedFinding {
        CheckedFinding {
            finding: Finding {
                rule: rule.into(),
                path: "/etc/shadow".into(),
                line: Some(1),
                ..Finding::default()
            },
            name: String::new(),
            family: String::new(),
            category: Category::Credentials,
            title: String::new(),
            severity,
            controls: vec!["C".into()],
            fingerprint: format!("fp-{rule}"),
            preview,
        }
    }

    fn coverage() -> Vec<Coverage> {
        ["credentials", "services", "debug"]
            .into_iter()
            .map(|family| Coverage {
                family,
                gaps: Vec::new(),
            })
            .collect()
    }

    fn observed() -> Observations {
        Observations {
            services: vec![ObservedService {
                name: "ipcam".into(),
                location: "/etc/init.d/rcS:4 in x".into(),
                network: false,
                ports: vec![],
            }],
            interfaces: vec![ObservedInterface {
                kind: "serial-console",
                name: "ttyS0".into(),
                access: "login",
                location: "/etc/inittab:2 in x".into(),
            }],
            ..Default::default()
        }
    }

    struct Run<'a> {
        findings: Vec<CheckedFinding>,
        coverage: Vec<Coverage>,
        unpack_gaps: Vec<String>,
        declaration: Option<&'a Declaration>,
        fail_on: Option<Severity>,
    }

    impl Default for Run<'_> {
        fn default() -> Self {
            Run {
                findings: Vec::new(),
                coverage: coverage(),
                unpack_gaps: Vec::new(),
                declaration: None,
                fail_on: None,
            }
        }
    }

    /// (clause verdict, firmware verdict, cause) by `standard:clause`.
    type ByClause = BTreeMap<String, (Verdict, Option<Verdict>, Option<Cause>)>;

    /// The clause verdicts and the exit.
    fn run(c: &Catalog, r: Run) -> (ByClause, Exit) {
        let o = observed();
        let v = c.evaluate(
            &["s".to_string(), "law".to_string()],
            &Assessment {
                findings: &r.findings,
                coverage: &r.coverage,
                unpack_gaps: &r.unpack_gaps,
                observed: &o,
                declaration: r.declaration,
                fail_on: r.fail_on,
            },
        );
        let by_clause = v
            .clauses
            .iter()
            .map(|x| {
                (
                    format!("{}:{}", x.standard.id(), x.clause.key()),
                    (x.verdict, x.firmware_verdict, x.cause),
                )
            })
            .collect();
        (by_clause, v.gate.exit)
    }

    fn declaration(c: &Catalog, text: &str) -> Declaration {
        Declaration::parse("d.toml", text, c).unwrap()
    }

    use Verdict::*;

    #[test]
    fn a_finding_fails_only_the_units_that_list_its_rule() {
        let c = catalog();
        let (v, exit) = run(
            &c,
            Run {
                findings: vec![finding("FW-SVC-010", Severity::Low, false)],
                ..Run::default()
            },
        );
        // FW-SVC-010 refutes the ssh unit only; the password clause, which
        // shares control C with it, is not touched.
        assert_eq!(v["s:ssh"].0, Fail);
        assert_eq!(v["s:pw"], (Open, Some(Pass), None));
        assert_eq!(exit, Exit::Fail);
    }

    #[test]
    fn a_clean_image_passes_its_firmware_units_and_leaves_the_rest_open() {
        let c = catalog();
        let (v, _) = run(&c, Run::default());
        assert_eq!(v["s:pw"], (Open, Some(Pass), None), "document unit stays OPEN");
        assert_eq!(v["s:ssh"], (Pass, Some(Pass), None));
        assert_eq!(v["s:svc"], (Open, None, None), "no declaration: the comparison is OPEN");
        assert_eq!(v["s:privacy"], (Open, None, None));
        assert_eq!(v["s:nocheck"], (Inconclusive, Some(Inconclusive), Some(Cause::NoCheck)));
        assert_eq!(v["law:1"], (Open, Some(Pass), None), "deemed through s:pw");
    }

    #[test]
    fn a_unit_without_a_check_keeps_ci_from_passing() {
        let c = catalog();
        assert_eq!(run(&c, Run::default()).1, Exit::Gap);
        let d = declaration(
            &c,
            "[[service]]\nname = \"ipcam\"\ndefault = \"enabled\"\n\
             [[ics]]\nstandard = \"s\"\nclause = \"nocheck\"\nstatus = \"not-applicable\"\njustification = \"no such function\"\n",
        );
        let (v, exit) = run(
            &c,
            Run {
                declaration: Some(&d),
                ..Run::default()
            },
        );
        assert_eq!(v["s:nocheck"].0, NotApplicable);
        assert_eq!(exit, Exit::Pass);
    }

    #[test]
    fn preview_findings_and_gaps_make_units_inconclusive_with_a_cause() {
        let c = catalog();
        let (v, _) = run(
            &c,
            Run {
                findings: vec![finding("FW-CRED-002", Severity::Critical, true)],
                ..Run::default()
            },
        );
        assert_eq!(v["s:pw"], (Inconclusive, Some(Inconclusive), Some(Cause::Review)));
        let (v, exit) = run(
            &c,
            Run {
                unpack_gaps: vec!["x.bin@0x0:dlink-shrs (failed): unsupported: AES-encrypted".into()],
                ..Run::default()
            },
        );
        assert_eq!(v["s:ssh"], (Inconclusive, Some(Inconclusive), Some(Cause::Encrypted)));
        assert_eq!(exit, Exit::Gap);
        // A violation is decisive over a gap; a FAIL carries no cause.
        let (v, exit) = run(
            &c,
            Run {
                findings: vec![finding("FW-CRED-002", Severity::Critical, false)],
                unpack_gaps: vec!["x.bin@0x0:squashfs (partial): inode 3: truncated".into()],
                ..Run::default()
            },
        );
        assert_eq!(v["s:pw"], (Fail, Some(Fail), None));
        assert_eq!(exit, Exit::Fail);
        let mut coverage = coverage();
        coverage[1]
            .gaps
            .push("boot model of / in x: cannot follow `. $CONF`".into());
        let (v, _) = run(
            &c,
            Run {
                coverage,
                ..Run::default()
            },
        );
        assert_eq!(v["s:ssh"].2, Some(Cause::Unsupported));
        let (v, _) = run(
            &c,
            Run {
                coverage: Vec::new(),
                ..Run::default()
            },
        );
        assert_eq!(
            v["s:ssh"].2,
            Some(Cause::NoCheck),
            "a family without coverage has no check"
        );
    }

    #[test]
    fn evidence_only_clauses_never_decide() {
        let c = catalog();
        let (v, _) = run(
            &c,
            Run {
                findings: vec![finding("FW-CRED-002", Severity::Critical, false)],
                ..Run::default()
            },
        );
        assert_eq!(v["s:pw"].0, Fail);
        assert_eq!(
            v["s:privacy"],
            (Open, None, None),
            "the same finding is only evidence here"
        );
        assert_eq!(v["law:1"].0, Fail, "the law follows the clause that deems it");
    }

    #[test]
    fn the_declaration_decides_completeness_consistency_and_applicability() {
        let c = catalog();
        let verdict_with = |text: &str, clause: &str| {
            let d = declaration(&c, text);
            run(
                &c,
                Run {
                    declaration: Some(&d),
                    ..Run::default()
                },
            )
            .0[clause]
        };
        // Undeclared service: FAIL.
        assert_eq!(verdict_with("", "s:svc").0, Fail);
        // Declared disabled but started: FAIL (contradicted).
        assert_eq!(
            verdict_with("[[service]]\nname = \"ipcam\"\ndefault = \"disabled\"\n", "s:svc").0,
            Fail
        );
        // Consistent: PASS.
        assert_eq!(
            verdict_with("[[service]]\nname = \"ipcam\"\ndefault = \"enabled\"\n", "s:svc"),
            (Pass, Some(Pass), None)
        );
        // The only debug interface is declared unreachable: NOT-APPLICABLE.
        let unreachable = "[[interface]]\nkind = \"serial-console\"\nname = \"ttyS0\"\nreachable = false\naccess = \"login\"\njustification = \"no pads on the shipped board\"\n";
        assert_eq!(verdict_with(unreachable, "s:debug").0, NotApplicable);
        // A recommendation not implemented, justified: NOT-APPLICABLE; a
        // requirement declared not supported: FAIL.
        let ics = |clause: &str| {
            format!(
                "[[ics]]\nstandard = \"s\"\nclause = \"{clause}\"\nstatus = \"not-supported\"\njustification = \"j\"\n"
            )
        };
        assert_eq!(verdict_with(&ics("ssh"), "s:ssh").0, NotApplicable);
        assert_eq!(verdict_with(&ics("pw"), "s:pw").0, Fail);
        // A law deemed satisfied by a clause follows it, NOT-APPLICABLE too.
        assert_eq!(verdict_with(&ics("pw"), "law:1").0, Fail);
        let na = "[[ics]]\nstandard = \"s\"\nclause = \"pw\"\nstatus = \"not-applicable\"\njustification = \"no passwords at all\"\n";
        assert_eq!(verdict_with(na, "law:1").0, NotApplicable);
    }

    #[test]
    fn fail_on_gates_on_severity_without_changing_verdicts() {
        let c = catalog();
        let info_only = |fail_on| {
            run(
                &c,
                Run {
                    findings: vec![
                        finding("FW-DEBUG-002", Severity::Info, false),
                        finding("FW-PERM-004", Severity::Medium, false),
                    ],
                    fail_on,
                    ..Run::default()
                },
            )
        };
        let (without, exit) = info_only(None);
        assert_eq!(exit, Exit::Gap, "only the no-check unit keeps it from passing");
        assert_eq!(
            info_only(Some(Severity::Info)).1,
            Exit::Fail,
            "asked for, info gates too"
        );
        let (with, exit) = info_only(Some(Severity::Medium));
        assert_eq!(exit, Exit::Fail);
        assert_eq!(without, with, "no clause verdict changes");
        assert_eq!(info_only(Some(Severity::High)).1, Exit::Gap);
    }

    #[test]
    fn the_catalogue_refuses_inconsistent_data() {
        let load =
            |s: &str| Catalog::load([("standards/controls.toml", CONTROLS), ("standards/x.toml", s)].into_iter());
        let head = "[standard]\nid = \"x\"\ntitle = \"X\"\ntitle_zh = \"X\"\nversion = \"1\"\nkind = \"standard\"\n[[clause]]\nid = \"1\"\ntitle = \"t\"\ntitle_zh = \"t\"\nmodality = \"shall\"\n";
        let no_source = format!(
            "{head}confirmed = \"verbatim\"\n[[clause.unit]]\nid = \"a\"\nkind = \"functional\"\nscope = \"document\"\ntext = \"t\"\n"
        );
        assert!(load(&no_source).unwrap_err().1.contains("source"));
        let no_units = format!("{head}confirmed = \"unconfirmed\"\n");
        assert!(load(&no_units).unwrap_err().1.contains("no test unit"));
        let rules_on_device = format!(
            "{head}confirmed = \"unconfirmed\"\n[[clause.unit]]\nid = \"a\"\nkind = \"functional\"\nscope = \"device\"\ntext = \"t\"\nrules = [\"FW-CRED-002\"]\n"
        );
        assert!(load(&rules_on_device).unwrap_err().1.contains("only firmware units"));
        let bad_deemed = format!("{head}confirmed = \"unconfirmed\"\ndeemed_by = [\"nope:1\"]\n");
        assert!(load(&bad_deemed).unwrap_err().1.contains("names no clause"));
    }
}
