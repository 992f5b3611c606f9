//! The canonical report, schema `fwcert-report/2`. JSON is this model
//! serialised; every other format is a view of it. See
//! `docs/report-schema.md`. Fields may be added in later versions; none is
//! removed or changes meaning.
//!
//! Determinism: every list is sorted, maps are ordered, and there is no
//! wall-clock time anywhere in the model. Container chains are written as
//! their text form and sorted as text ([`Chain::cmp_text`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::rule::{Category, Severity};
pub use crate::standards::{Cause, Verdict};
use crate::standards::{Confirmed, Modality, Scope, UnitKind};
use crate::unpack::format::Confidence;
use crate::unpack::{Chain, GapKind, Status};

/// Version 2 replaced the single `verdict` with per-standard results,
/// `outcome` (the exit status) and unit-level clause verdicts.
pub const SCHEMA: &str = "fwcert-report/2";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub image: Image,
    pub profile: String,
    /// The exit status and why: what a CI gates on.
    pub outcome: Outcome,
    /// The manufacturer's declaration the image was judged against.
    pub declaration: DeclarationOut,
    /// One result per selected standard; never one verdict across them.
    pub standards: Vec<StandardOut>,
    pub summary: Summary,
    pub unpack: UnpackSection,
    pub checks: Vec<CheckCoverage>,
    pub findings: Vec<FindingOut>,
    pub components: Vec<ComponentOut>,
    /// What each root filesystem starts at boot, and the bootloader
    /// environment: the evidence behind the services and debug findings.
    pub boot: BootSection,
    pub requirements: Vec<RequirementOut>,
    /// CI gating: the policy, its waivers and the baseline; absent without
    /// them. Changes no verdict (see `docs/ci.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateOut {
    /// The policy file: name and SHA-256 of its bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<FileRef>,
    /// The baseline report: name, SHA-256 and how many findings it had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineOut>,
    /// The date waiver expiry was judged on, and where it came from
    /// (`--today`, `FWCERT_TODAY` or `clock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub today: Option<TodayOut>,
    /// The severity threshold the gate applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<Severity>,
    pub waivers: Vec<WaiverOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BaselineOut {
    pub name: String,
    pub sha256: String,
    pub findings: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TodayOut {
    pub date: String,
    pub source: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WaiverOut {
    /// 1-based, in the policy file's order.
    pub number: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub justification: String,
    pub owner: String,
    pub expires: String,
    /// `active`, or `expired` (it no longer excuses anything).
    pub state: &'static str,
    /// Fingerprints of the findings it matches (an expired waiver's too).
    pub matched: Vec<String>,
}

impl WaiverOut {
    /// What the waiver names, as the views show it: the fingerprint, or
    /// the rule and its path glob.
    pub fn target(&self) -> String {
        match (&self.fingerprint, &self.rule, &self.path) {
            (Some(fp), _, _) => fp.clone(),
            (None, Some(rule), Some(path)) => format!("{rule} {path}"),
            (None, Some(rule), None) => rule.clone(),
            (None, None, _) => String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
    pub rules_digest: String,
    /// The vulnerability store the components were judged with, and its
    /// snapshot dates.
    pub vulnerability_data: crate::vulndb::StoreInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Requirement count per verdict.
    pub requirements: BTreeMap<&'static str, usize>,
    /// Finding count per severity.
    pub findings: BTreeMap<&'static str, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnpackSection {
    pub complete: bool,
    /// Why the unpack is not complete, one line per cause.
    pub reasons: Vec<String>,
    pub containers: Vec<ContainerOut>,
    pub gaps: Vec<GapOut>,
    pub filesystems: Vec<FilesystemOut>,
    /// Number of regular files across all filesystems.
    pub files: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContainerOut {
    pub format: &'static str,
    pub offset: u64,
    pub size: u64,
    /// The container's chain (the field predates the name).
    pub path: Chain,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub description: String,
    pub confidence: Confidence,
    pub facts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapOut {
    pub location: Chain,
    pub offset: u64,
    pub size: u64,
    pub kind: GapKind,
    /// Bits per byte, rounded to two decimals.
    pub entropy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilesystemOut {
    pub container: Chain,
    pub format: &'static str,
    pub rootfs: bool,
    pub files: usize,
    pub entries: usize,
    /// Exploit mitigations of its ELF files, counted.
    pub hardening: HardeningSummary,
}

/// How many of a filesystem's ELF executables and shared objects (object
/// files and kernel modules are not counted) have each mitigation: the
/// image-wide picture behind the `hardening` findings, which name the
/// programs that matter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HardeningSummary {
    /// ELF executables and shared objects.
    pub elf: usize,
    /// Of those, programs (ET_EXEC, or PIE) rather than libraries.
    pub programs: usize,
    /// Executable stack (PT_GNU_STACK RWE, or none where that means executable).
    pub exec_stack: usize,
    /// Programs that are PIE.
    pub pie: usize,
    /// With a stack-protector symbol.
    pub canary: usize,
    /// Without any symbol, so the canary is unknown.
    pub canary_unknown: usize,
    pub relro_full: usize,
    pub relro_partial: usize,
    /// Importing at least one fortified `__*_chk` function.
    pub fortified: usize,
    /// With an RPATH or RUNPATH.
    pub search_path: usize,
    /// Without a `.symtab`.
    pub stripped: usize,
}

impl HardeningSummary {
    /// Count the loadable ones among `facts`.
    pub fn count<'a>(facts: impl IntoIterator<Item = &'a crate::inventory::elf::ElfFacts>) -> Self {
        use crate::inventory::elf::Relro;
        let mut h = HardeningSummary::default();
        for f in facts.into_iter().filter(|f| f.is_loadable()) {
            h.elf += 1;
            h.programs += usize::from(f.is_program());
            h.exec_stack += usize::from(f.exec_stack);
            h.pie += usize::from(f.pie);
            h.canary += usize::from(f.stack_canary == Some(true));
            h.canary_unknown += usize::from(f.stack_canary.is_none());
            h.relro_full += usize::from(f.relro == Relro::Full);
            h.relro_partial += usize::from(f.relro == Relro::Partial);
            h.fortified += usize::from(f.fortified > 0);
            h.search_path += usize::from(!f.rpath.is_empty() || !f.runpath.is_empty());
            h.stripped += usize::from(f.stripped);
        }
        h
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckCoverage {
    pub family: &'static str,
    pub complete: bool,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingOut {
    pub id: String,
    /// Stable hash of what identifies this finding; requirements cite it.
    pub fingerprint: String,
    pub rule: String,
    pub check: String,
    pub category: Category,
    pub severity: Severity,
    pub title: String,
    /// The rule's Chinese title (for the zh-CN views).
    pub title_zh: String,
    pub path: String,
    pub container: Chain,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The recovered password or found token, or [`REDACTED`] under
    /// `--redact-secrets`. Absent for findings without a showable secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// `sha256:<hex>` identifying the secret across images (kept when
    /// redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_fingerprint: Option<String>,
    pub controls: Vec<String>,
    /// `<file>:<rule>` of the lab's own YARA rule behind a FW-YARA-000
    /// finding (`scan --yara`); absent for fwcert's rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_rule: Option<String>,
    /// `true` when the rule is a preview heuristic: reported for review,
    /// it fails no requirement. Absent for stable rules.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preview: bool,
    /// The number of the active policy waiver that covers this finding: the
    /// gate does not count it (its verdicts stand). Absent when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiver: Option<usize>,
    /// With `--baseline`: `known` (the baseline had it; the gate does not
    /// count it) or `new`. Absent without a baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<&'static str>,
}

/// What `--redact-secrets` writes instead of a secret.
pub const REDACTED: &str = "[REDACTED]";

#[derive(Debug, Clone, Serialize)]
pub struct ComponentOut {
    pub name: String,
    pub version: String,
    pub path: String,
    pub container: Chain,
    pub offset: u64,
    pub evidence: String,
    /// `package-database`, `version-string`, `embedded-string` or
    /// `file-name`: what gave the version away.
    pub method: crate::inventory::components::Method,
    /// `high` or `medium`: how far that evidence alone identifies the
    /// component and its version.
    pub confidence: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// The CVEs of `checks/components/vulnerabilities.toml` whose ranges
    /// hold this version (BusyBox: whose applet is compiled in).
    pub vulnerabilities: Vec<VulnerabilityOut>,
    /// CVEs whose ranges hold this version but whose code the component
    /// does not contain (BusyBox: none of their applets is compiled in):
    /// no finding, listed so that "not affected" is stated, not silent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_affected: Vec<NotAffectedOut>,
    /// What `checks/components/end-of-life.toml` says about this version;
    /// absent when it says nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eol: Option<EolOut>,
}

/// A CVE in range that does not apply, and why (CycloneDX VEX
/// `not_affected` / `code_not_present`).
#[derive(Debug, Clone, Serialize)]
pub struct NotAffectedOut {
    pub id: String,
    /// `code_not_present`: the vulnerable code is not in the component.
    pub justification: &'static str,
    pub reason: String,
    pub sources: Vec<String>,
    /// The date the vulnerability data was read in its sources.
    pub snapshot: String,
}

/// One CVE that applies to a component, with the facts and sources the
/// data gives and why the match is less than certain.
#[derive(Debug, Clone, Serialize)]
pub struct VulnerabilityOut {
    pub id: String,
    /// From the CVSS score, else the vendor's rating; absent when the data
    /// gives neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f32>,
    /// `"3"` or `"2"`, with `cvss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss_version: Option<String>,
    /// In the CISA KEV catalogue of the data's `kev_snapshot`.
    pub kev: bool,
    pub fixed: Vec<String>,
    /// Kernel version-only match, vendor suffix, ambiguous range, applet,
    /// configuration the CVE needs.
    pub caveats: Vec<String>,
    /// Source keys (`NVD`, `DB`, …) as in the data's `[sources]`.
    pub sources: Vec<String>,
    /// The date the vulnerability data was read in its sources.
    pub snapshot: String,
}

/// The end-of-life state of a component version on the data's snapshot date.
#[derive(Debug, Clone, Serialize)]
pub struct EolOut {
    /// `ended`, `supported`, `not-long-term` (a Linux branch that ended
    /// when the next one came out) or `no-policy`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The branch's end of life (or, for `not-long-term`, the next
    /// branch's release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The date is a projection.
    pub projected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub sources: Vec<String>,
    /// The date the end-of-life data was read: what `state` is judged on.
    pub snapshot: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// 0 pass, 1 fail, 2 analysis gap (3, an error, never has a report).
    pub exit_code: u8,
    /// `pass`, `fail` or `analysis-gap`.
    pub status: &'static str,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeclarationOut {
    pub given: bool,
    /// The declaration file's name and the SHA-256 of its bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<crate::standards::declaration::Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<crate::standards::declaration::Product>,
    /// What was assumed for lack of a declaration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StandardOut {
    pub id: String,
    pub title: String,
    pub title_zh: String,
    pub version: String,
    pub kind: crate::standards::Kind,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<crate::standards::catalog::Part>,
    /// FAIL if an applicable clause fails, else INCONCLUSIVE, else OPEN,
    /// else PASS (NOT-APPLICABLE when no clause applies).
    pub verdict: Verdict,
    /// Over the firmware units fwcert decided; `null` when none.
    pub firmware_verdict: Option<Verdict>,
    /// Clause count per verdict.
    pub counts: BTreeMap<&'static str, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequirementOut {
    pub standard: String,
    pub standard_title: String,
    /// The clause as reports name it: `5.1-1`, or `1:AUM-5-1` in a part.
    pub clause: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    pub title: String,
    pub title_zh: String,
    pub modality: Modality,
    /// How far the number and title were confirmed, and where.
    pub confirmed: Confirmed,
    pub source: String,
    pub controls: Vec<String>,
    pub evidence_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deemed_by: Vec<String>,
    pub verdict: Verdict,
    pub firmware_verdict: Option<Verdict>,
    /// Why INCONCLUSIVE.
    pub cause: Option<Cause>,
    pub reasons: Vec<String>,
    /// Fingerprints of the findings behind the verdict.
    pub findings: Vec<String>,
    pub units: Vec<UnitOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitOut {
    pub id: String,
    /// For a clause deemed by others, the clause the unit belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub kind: UnitKind,
    pub scope: Scope,
    pub text: String,
    pub verdict: Verdict,
    pub cause: Option<Cause>,
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declaration: Option<crate::standards::DeclaredSection>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootSection {
    /// One boot graph per root filesystem, sorted by container and root.
    pub graphs: Vec<BootGraphOut>,
    /// U-Boot environments found in any file, payload or the image.
    pub uboot: Vec<UbootOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootGraphOut {
    pub container: Chain,
    /// The root filesystem's folder in the tree (`/` or e.g. `/rootfs-arm`).
    pub root: String,
    /// `busybox`, `procd`, `sysvinit`, `systemd`, `script`, `unknown` or `none`.
    pub init: String,
    /// Sorted by script, line, mechanism, program.
    pub starts: Vec<StartOut>,
    /// Script-to-script links, sorted.
    pub edges: Vec<EdgeOut>,
    /// What the boot model could not follow.
    pub gaps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StartOut {
    /// The file that starts the program (absolute path in the filesystem).
    pub script: String,
    /// `None` for a built-in default (BusyBox init without an inittab).
    pub line: Option<usize>,
    /// `inittab`, `rcS`, `rc.d`, `procd`, `systemd`, `inetd`, `cron`, `rc.local` or `script`.
    pub mechanism: String,
    pub program: String,
    /// The executable that runs; `None` when the image does not contain it.
    pub binary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applet: Option<String>,
    /// Whether the BusyBox applet is compiled in; `None` when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applet_present: Option<bool>,
    pub argv: Vec<String>,
    /// Arguments added only under a further condition.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optional_args: Vec<String>,
    /// `None` when the start is unconditional; else the shell condition.
    pub condition: Option<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EdgeOut {
    pub from: String,
    pub line: Option<usize>,
    pub to: String,
    pub how: String,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UbootOut {
    pub path: String,
    pub container: Chain,
    pub offset: u64,
    /// `default (compiled in)` or `partition (CRC-32 verified)`.
    pub kind: String,
    /// The variables that bear on console access, by name.
    pub vars: BTreeMap<String, String>,
}
