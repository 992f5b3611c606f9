//! Assemble the canonical report from what the stages produced. Nothing
//! here decides anything: findings arrive resolved from the checks,
//! verdicts from the standards stage; this module orders them and copies
//! them into the report model. (The components section copies the
//! assessments the checks stage made, the same ones the `components`
//! family's findings come from, so the two cannot disagree.)

use std::collections::BTreeMap;

use super::model::*;
use crate::checks::components::Assessment;
use crate::checks::components::data::{EolState, VulnData};
use crate::checks::rule::Severity;
use crate::checks::{CheckResults, CheckedFinding, SECRET_SLOT};
use crate::inventory::boot::Condition;
use crate::inventory::{Inventory, Origin};
use crate::policy::{Gating, Matched};
use crate::rules::Rules;
use crate::standards::{Declaration, Verdict, Verdicts};
use crate::unpack::Unpacked;

/// Inputs to [`build`]: the outputs of every stage.
pub struct Inputs<'a> {
    pub unpacked: &'a Unpacked,
    pub inventory: &'a Inventory<'a>,
    pub results: &'a CheckResults<'a>,
    pub verdicts: &'a Verdicts<'a>,
    /// [`Unpacked::incompleteness`], computed once for the verdicts.
    pub unpack_gaps: &'a [String],
    pub rules: &'a Rules,
    pub profile: &'a str,
    pub declaration: Option<&'a Declaration>,
    /// Replace recovered passwords and found secrets with [`REDACTED`].
    pub redact_secrets: bool,
    /// The CI gating given, and what it matched.
    pub gating: Option<(&'a Gating, &'a Matched)>,
    /// The severity threshold of the gate.
    pub fail_on: Option<Severity>,
}

pub fn build(i: Inputs) -> Report {
    let u = i.unpacked;
    let mut findings = findings_section(&i.results.findings, i.rules, i.redact_secrets);
    if let Some((_, m)) = i.gating {
        annotate(&mut findings, m);
    }
    let requirements = requirements_section(i.verdicts);
    Report {
        schema: SCHEMA,
        tool: Tool {
            name: "fwcert",
            version: env!("CARGO_PKG_VERSION"),
            rules_digest: i.rules.digest.clone(),
            vulnerability_data: i.rules.vulndb.clone(),
        },
        image: Image {
            name: u.image_name.clone(),
            // Hashed once, by the inventory.
            sha256: i.inventory.image().map(|f| f.sha256().to_string()).unwrap_or_default(),
            size: u.image.len() as u64,
        },
        profile: i.profile.to_string(),
        outcome: Outcome {
            exit_code: i.verdicts.gate.exit.code(),
            status: i.verdicts.gate.exit.as_str(),
            reasons: i.verdicts.gate.reasons.clone(),
        },
        declaration: declaration_section(i.declaration),
        standards: standards_section(i.verdicts),
        summary: summary(&requirements, &findings),
        unpack: unpack_section(u, i.inventory, i.unpack_gaps),
        checks: checks_section(i.results),
        findings,
        components: components_section(i.inventory, i.results, &i.rules.checks.vulndata),
        boot: boot_section(i.inventory),
        requirements,
        gate: i.gating.map(|(g, m)| gate_section(g, m, i.fail_on)),
    }
}

/// Marks each finding with the waiver that covers it and its baseline state.
fn annotate(findings: &mut [FindingOut], m: &Matched) {
    let baseline = !m.known.is_empty() || !m.new.is_empty();
    for f in findings {
        f.waiver = m.waived.get(&f.fingerprint).map(|i| i + 1);
        if baseline {
            f.baseline = Some(if m.known.contains(&f.fingerprint) {
                "known"
            } else {
                "new"
            });
        }
    }
}

fn gate_section(g: &Gating, m: &Matched, fail_on: Option<Severity>) -> GateOut {
    let waivers = g
        .policy
        .iter()
        .flat_map(|p| p.waivers.iter())
        .zip(&m.waivers)
        .enumerate()
        .map(|(i, (w, state))| WaiverOut {
            number: i + 1,
            fingerprint: w.fingerprint.clone(),
            rule: w.rule.clone(),
            path: w.path.clone(),
            justification: w.justification.clone(),
            owner: w.owner.clone(),
            expires: w.expires.clone(),
            state: if state.active { "active" } else { "expired" },
            matched: state.matched.clone(),
        })
        .collect();
    GateOut {
        policy: g.policy.as_ref().map(|p| FileRef {
            name: p.name.clone(),
            sha256: p.sha256.clone(),
        }),
        baseline: g.baseline.as_ref().map(|b| BaselineOut {
            name: b.name.clone(),
            sha256: b.sha256.clone(),
            findings: b.findings,
        }),
        today: g.today.as_ref().map(|t| TodayOut {
            date: t.date.clone(),
            source: t.source.clone(),
        }),
        fail_on,
        waivers,
    }
}

/// A finding's secret as the report shows it: the value or the redaction
/// marker.
fn shown_secret(f: &CheckedFinding, redact: bool) -> Option<String> {
    let v = f.finding.secret.as_ref()?.value.as_ref()?;
    Some(if redact { REDACTED.to_string() } else { v.clone() })
}

/// Findings, most severe first.
fn findings_section(checked: &[CheckedFinding], rules: &Rules, redact: bool) -> Vec<FindingOut> {
    let mut findings: Vec<FindingOut> = checked
        .iter()
        .map(|c| {
            let f = &c.finding;
            let secret = shown_secret(c, redact);
            let evidence = f.evidence.replace(SECRET_SLOT, secret.as_deref().unwrap_or(REDACTED));
            FindingOut {
                id: f.rule.clone(),
                fingerprint: c.fingerprint.clone(),
                rule: c.name.clone(),
                check: c.family.clone(),
                category: c.category,
                severity: c.severity,
                title: c.title.clone(),
                title_zh: rules
                    .checks
                    .rule(&f.rule)
                    .map(|r| r.title_zh.clone())
                    .unwrap_or_default(),
                path: f.path.clone(),
                container: f.container.clone(),
                line: f.line,
                offset: f.offset,
                evidence,
                sha256: f.sha256.clone(),
                secret,
                secret_fingerprint: f.secret.as_ref().map(|s| s.fingerprint.clone()),
                controls: c.controls.clone(),
                custom_rule: f.custom.as_ref().map(|c| c.rule.clone()),
                preview: c.preview,
                waiver: None,
                baseline: None,
            }
        })
        .collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| a.container.cmp_text(&b.container))
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.line.cmp(&b.line))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    findings
}

/// Clause order within a standard is the file's order; standards come in
/// the order they were selected.
fn requirements_section(verdicts: &Verdicts) -> Vec<RequirementOut> {
    verdicts
        .clauses
        .iter()
        .map(|c| {
            let (std, clause) = (c.standard, c.clause);
            RequirementOut {
                standard: std.standard.id.clone(),
                standard_title: std.standard.title.clone(),
                clause: clause.key(),
                part: clause.part.clone(),
                title: clause.title.clone(),
                title_zh: clause.title_zh.clone(),
                modality: clause.modality,
                confirmed: clause.confirmed,
                source: clause.source.clone(),
                controls: clause.controls.clone(),
                evidence_only: clause.evidence_only,
                deemed_by: clause.deemed_by.clone(),
                verdict: c.verdict,
                firmware_verdict: c.firmware_verdict,
                cause: c.cause,
                reasons: c.reasons.clone(),
                findings: c.findings.clone(),
                units: c
                    .units
                    .iter()
                    .map(|u| UnitOut {
                        id: u.unit.id.clone(),
                        via: u.via.clone(),
                        kind: u.unit.kind,
                        scope: u.unit.scope,
                        text: u.unit.text.clone(),
                        verdict: u.verdict,
                        cause: u.cause,
                        reasons: u.reasons.clone(),
                        rules: u.unit.rules.clone(),
                        declaration: u.unit.declaration,
                        findings: u.findings.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn standards_section(verdicts: &Verdicts) -> Vec<StandardOut> {
    verdicts
        .standards
        .iter()
        .map(|s| {
            let m = &s.standard.standard;
            StandardOut {
                id: m.id.clone(),
                title: m.title.clone(),
                title_zh: m.title_zh.clone(),
                version: m.version.clone(),
                kind: m.kind,
                parts: m.parts.clone(),
                verdict: s.verdict,
                firmware_verdict: s.firmware_verdict,
                counts: s.counts.iter().map(|(v, n)| (v.as_str(), *n)).collect(),
            }
        })
        .collect()
}

/// Without a declaration, fwcert assumes the conservative case, and says so.
fn declaration_section(d: Option<&Declaration>) -> DeclarationOut {
    match d {
        Some(d) => DeclarationOut {
            given: true,
            name: Some(d.name.clone()),
            sha256: Some(d.sha256.clone()),
            device: Some(d.data.device.clone()),
            product: Some(d.data.product.clone()),
            assumptions: Vec::new(),
        },
        None => DeclarationOut {
            given: false,
            name: None,
            sha256: None,
            device: None,
            product: None,
            assumptions: vec![
                "every clause applies (no ICS: nothing is declared not applicable)".into(),
                "every part of a multi-part standard applies".into(),
                "every debug interface counts as physically reachable".into(),
                "units that compare the image with a declaration stay OPEN".into(),
            ],
        },
    }
}

fn summary(requirements: &[RequirementOut], findings: &[FindingOut]) -> Summary {
    let mut req_counts = BTreeMap::new();
    for v in Verdict::ALL {
        req_counts.insert(v.as_str(), requirements.iter().filter(|r| r.verdict == v).count());
    }
    let mut finding_counts = BTreeMap::new();
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        finding_counts.insert(s.as_str(), findings.iter().filter(|f| f.severity == s).count());
    }
    Summary {
        requirements: req_counts,
        findings: finding_counts,
    }
}

fn unpack_section(u: &Unpacked, inv: &Inventory, reasons: &[String]) -> UnpackSection {
    let containers = u
        .containers
        .iter()
        .map(|c| ContainerOut {
            format: c.format,
            offset: c.offset,
            size: c.size,
            path: c.chain.clone(),
            status: c.status,
            error: (!c.problems.is_empty()).then(|| c.problems.join("; ")),
            description: c.description.clone(),
            confidence: c.confidence,
            facts: c.facts.clone(),
        })
        .collect();
    let mut gaps: Vec<GapOut> = u
        .gaps
        .iter()
        .map(|g| GapOut {
            location: g.location.clone(),
            offset: g.offset,
            size: g.size,
            kind: g.kind,
            entropy: (g.entropy * 100.0).round() / 100.0,
        })
        .collect();
    gaps.sort_by(|a, b| a.location.cmp_text(&b.location).then(a.offset.cmp(&b.offset)));
    let mut filesystems: Vec<FilesystemOut> = u
        .filesystems
        .iter()
        .enumerate()
        .map(|(i, f)| FilesystemOut {
            container: f.chain.clone(),
            format: f.format,
            rootfs: f.is_rootfs(),
            files: f.tree.files().count(),
            entries: f.tree.len(),
            hardening: HardeningSummary::count(
                inv.files
                    .iter()
                    .filter(|e| e.origin == Origin::Filesystem(i))
                    .filter_map(|e| e.elf.as_ref()),
            ),
        })
        .collect();
    filesystems.sort_by(|a, b| a.container.cmp_text(&b.container));
    UnpackSection {
        complete: u.complete(),
        reasons: reasons.to_vec(),
        containers,
        gaps,
        filesystems,
        files: inv
            .files
            .iter()
            .filter(|f| matches!(f.origin, Origin::Filesystem(_)))
            .count(),
    }
}

fn checks_section(results: &CheckResults<'_>) -> Vec<CheckCoverage> {
    let mut checks: Vec<CheckCoverage> = results
        .coverage
        .iter()
        .map(|c| CheckCoverage {
            family: c.family,
            complete: c.gaps.is_empty(),
            reasons: c.gaps.clone(),
        })
        .collect();
    checks.sort_by_key(|c| c.family);
    checks
}

/// The report's view of what the data says about one component version.
fn vulnerabilities_and_eol(a: &Assessment, data: &VulnData) -> (Vec<VulnerabilityOut>, Option<EolOut>) {
    let snapshot = &data.vulnerabilities.snapshot;
    let vulns = a
        .cves
        .iter()
        .map(|m| VulnerabilityOut {
            id: m.cve.id.clone(),
            severity: m.cve.severity(),
            cvss: m.cve.cvss,
            cvss_version: m
                .cve
                .cvss
                .map(|_| m.cve.cvss_version.clone().unwrap_or_else(|| "3".into())),
            kev: m.cve.kev,
            fixed: m.cve.fixed.clone(),
            caveats: m.caveats.clone(),
            sources: m.cve.sources.clone(),
            snapshot: snapshot.clone(),
        })
        .collect();
    let eol_snapshot = data.end_of_life.snapshot.clone();
    let branch_out = |state, b: &crate::checks::components::data::Branch| EolOut {
        state,
        branch: Some(b.branch.clone()),
        date: b.eol.clone(),
        projected: b.projected,
        note: b.note.clone(),
        sources: b.sources.clone(),
        snapshot: eol_snapshot.clone(),
    };
    let eol = match &a.eol {
        EolState::Ended(b) => Some(branch_out("ended", b)),
        EolState::Supported(b) => Some(branch_out("supported", b)),
        EolState::NonLts { next_branch, since } => Some(EolOut {
            state: "not-long-term",
            branch: None,
            date: since.clone(),
            projected: false,
            note: Some(match next_branch {
                Some(n) => format!("unsupported once {n} was released"),
                None => "unsupported once the next branch was released".to_string(),
            }),
            sources: vec!["KORG".to_string()],
            snapshot: eol_snapshot.clone(),
        }),
        EolState::NoPolicy => Some(EolOut {
            state: "no-policy",
            branch: None,
            date: None,
            projected: false,
            note: Some("no formal end-of-life policy found; judge by known CVEs and age".into()),
            sources: vec!["SEED".to_string()],
            snapshot: eol_snapshot.clone(),
        }),
        EolState::Unknown => None,
    };
    (vulns, eol)
}

fn components_section(inv: &Inventory, results: &CheckResults, data: &VulnData) -> Vec<ComponentOut> {
    let catalog = crate::inventory::components::catalog();
    let mut components: Vec<ComponentOut> = inv
        .components
        .iter()
        .zip(&results.components)
        .map(|(d, assessed)| {
            let f = &inv.files[d.file];
            let identity = catalog.get(d.name);
            let (vulnerabilities, eol) = vulnerabilities_and_eol(assessed, data);
            ComponentOut {
                name: d.name.to_string(),
                version: d.version.clone(),
                path: f.path.clone(),
                container: f.container.clone(),
                offset: d.offset,
                evidence: d.evidence.clone(),
                method: d.method,
                confidence: d.method.confidence(),
                purl: identity.map(|c| c.purl(&d.version)),
                cpe: identity.and_then(|c| c.cpe(&d.version)),
                vulnerabilities,
                not_affected: assessed
                    .not_affected
                    .iter()
                    .map(|n| NotAffectedOut {
                        id: n.cve.id.clone(),
                        justification: "code_not_present",
                        reason: n.reason.clone(),
                        sources: n.cve.sources.clone(),
                        snapshot: data.vulnerabilities.snapshot.clone(),
                    })
                    .collect(),
                eol,
            }
        })
        .collect();
    components.sort_by(|a, b| {
        (&a.name, &a.version)
            .cmp(&(&b.name, &b.version))
            .then_with(|| a.container.cmp_text(&b.container))
            .then_with(|| a.path.cmp(&b.path))
    });
    components
}

/// U-Boot variables shown in the report: the ones that decide console access.
const UBOOT_VARS: &[&str] = &[
    "bootargs",
    "bootdelay",
    "baudrate",
    "console",
    "silent",
    "stdin",
    "stdout",
    "stderr",
    "preboot",
    "bootstopkey",
    "bootstopkey2",
    "bootdelaykey",
];

fn condition_text(c: &Condition) -> Option<String> {
    match c {
        Condition::Unconditional => None,
        Condition::Conditional(t) => Some(t.clone()),
    }
}

fn boot_section(inv: &Inventory) -> BootSection {
    let mut graphs: Vec<BootGraphOut> = inv
        .boot
        .iter()
        .map(|g| BootGraphOut {
            container: g.container.clone(),
            root: g.root.clone(),
            init: g.init.clone(),
            starts: g
                .starts
                .iter()
                .map(|s| StartOut {
                    script: s.script.clone(),
                    line: s.line,
                    mechanism: s.mechanism.as_str().to_string(),
                    program: s.program.clone(),
                    binary: s.binary.clone(),
                    applet: s.applet.clone(),
                    applet_present: s.applet_present,
                    argv: s.argv.clone(),
                    optional_args: s.optional_args.clone(),
                    condition: condition_text(&s.condition),
                    action: s.action.clone(),
                    tty: s.terminal(),
                    ports: s.ports.clone(),
                })
                .collect(),
            edges: g
                .edges
                .iter()
                .map(|e| EdgeOut {
                    from: e.from.clone(),
                    line: e.line,
                    to: e.to.clone(),
                    how: e.how.clone(),
                    condition: condition_text(&e.condition),
                })
                .collect(),
            gaps: g.gaps.clone(),
        })
        .collect();
    graphs.sort_by(|a, b| a.container.cmp_text(&b.container).then_with(|| a.root.cmp(&b.root)));
    let mut uboot: Vec<UbootOut> = inv
        .uboot
        .iter()
        .filter_map(|u| {
            let f = inv.files.get(u.file)?;
            Some(UbootOut {
                path: f.path.clone(),
                container: f.container.clone(),
                offset: u.env.offset,
                kind: u.env.kind.clone(),
                vars: u
                    .env
                    .vars
                    .iter()
                    .filter(|(k, _)| UBOOT_VARS.contains(&k.as_str()))
                    .cloned()
                    .collect(),
            })
        })
        .collect();
    uboot.sort_by(|a, b| {
        a.container
            .cmp_text(&b.container)
            .then_with(|| (&a.path, a.offset).cmp(&(&b.path, b.offset)))
    });
    BootSection { graphs, uboot }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Finding;
    use crate::checks::rule::Category;

    fn checked(preview: bool) -> CheckedFinding {
        CheckedFinding {
            finding: Finding {
                rule: crate::rules::FW_CRED_014.into(),
                path: "/usr/bin/x".into(),
                ..Finding::default()
            },
            name: "n".into(),
            family: "credentials".into(),
            category: Category::Credentials,
            title: "t".into(),
            severity: Severity::High,
            controls: Vec::new(),
            fingerprint: "f".into(),
            preview,
        }
    }

    /// A preview finding says so in the JSON; a stable one has no field.
    #[test]
    fn preview_findings_are_marked() {
        let rules = Rules::embedded().unwrap();
        let json = |preview| serde_json::to_value(&findings_section(&[checked(preview)], &rules, false)[0]).unwrap();
        assert_eq!(json(true)["preview"], serde_json::Value::Bool(true));
        assert!(json(false).get("preview").is_none());
    }
}
