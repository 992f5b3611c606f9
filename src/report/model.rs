//! The canonical report, schema `fwcert-report/1`. JSON is this model
//! serialised; every other format is a view of it. See
//! `docs/report-schema.md`. Fields may be added in later versions; none is
//! removed or changes meaning.
//!
//! Determinism: every list is sorted, maps are ordered, and there is no
//! wall-clock time anywhere in the model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::checks::rule::{Category, Severity};
pub use crate::standards::Verdict;
use crate::unpack::formats::Confidence;
use crate::unpack::{GapKind, Status};

pub const SCHEMA: &str = "fwcert-report/1";

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub tool: Tool,
    pub image: Image,
    pub profile: String,
    pub verdict: Verdict,
    pub summary: Summary,
    pub unpack: UnpackSection,
    pub checks: Vec<CheckCoverage>,
    pub findings: Vec<FindingOut>,
    pub components: Vec<ComponentOut>,
    pub requirements: Vec<RequirementOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
    pub rules_digest: String,
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
    pub path: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub description: String,
    pub confidence: Confidence,
    pub facts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GapOut {
    pub location: String,
    pub offset: u64,
    pub size: u64,
    pub kind: GapKind,
    /// Bits per byte, rounded to two decimals.
    pub entropy: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilesystemOut {
    pub container: String,
    pub format: &'static str,
    pub rootfs: bool,
    pub files: usize,
    pub entries: usize,
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
    pub path: String,
    pub container: String,
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
}

/// What `--redact-secrets` writes instead of a secret.
pub const REDACTED: &str = "[REDACTED]";

#[derive(Debug, Clone, Serialize)]
pub struct ComponentOut {
    pub name: String,
    pub version: String,
    pub path: String,
    pub container: String,
    pub offset: u64,
    pub evidence: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    pub vulnerabilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eol: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequirementOut {
    pub standard: String,
    pub standard_name: String,
    pub clause: String,
    pub title: String,
    pub title_zh: String,
    /// The first control the clause maps to; `controls` lists all.
    pub control: String,
    pub controls: Vec<String>,
    pub testable: crate::standards::Testable,
    pub verified: bool,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// Fingerprints of the findings behind a FAIL.
    pub findings: Vec<String>,
}
