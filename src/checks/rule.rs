//! The rule schema: one TOML file per rule under `checks/<family>/`.
//!
//! A rule is data: its stable ID, a kebab-case name for what it flags, a
//! severity, a status, the controls it feeds, its documentation and its
//! fixtures. The code of a check family decides *when* a rule fires; the
//! rule file decides everything a report says about it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Low < … < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// A rule's life cycle, as in ruff: IDs are never reused, retired rules stay
/// as tombstones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    Preview,
    Stable,
    Deprecated,
    Removed,
}

/// The report category of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Credentials,
    Secrets,
    Services,
    Debug,
    Components,
    Updates,
    Boot,
    Hardening,
    Crypto,
    Permissions,
    Privacy,
}

/// The fixed documentation sections every rule carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// What the rule detects.
    pub what: String,
    /// Why it matters for a device's security.
    pub why: String,
    /// What a flagged input looks like.
    pub example: String,
    /// How a manufacturer fixes it.
    pub fix: String,
    #[serde(default)]
    pub references: Vec<String>,
}

/// A rule fixture: files placed in a generated root filesystem, and whether
/// the rule must fire (`fail`) or stay quiet (`pass`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub name: String,
    pub expect: Expect,
    /// Absolute path in the fixture filesystem → file contents.
    pub files: BTreeMap<String, String>,
    /// Symlinks: absolute path → target.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Placeholder executables (minimal ELF files) at these paths.
    #[serde(default)]
    pub elf: Vec<String>,
    /// A BusyBox binary with exactly these applets compiled in.
    #[serde(default)]
    pub busybox: Option<BusyboxFixture>,
}

/// A generated BusyBox binary for a fixture (see `samples::fake_busybox`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusyboxFixture {
    pub path: String,
    pub applets: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expect {
    Pass,
    Fail,
}

/// One rule, as loaded from its TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub family: String,
    pub category: Category,
    pub severity: Severity,
    pub status: RuleStatus,
    pub title: String,
    pub title_zh: String,
    /// Control IDs from `checks/standards/controls.toml`.
    pub controls: Vec<String>,
    pub doc: RuleDoc,
    #[serde(default, rename = "fixture")]
    pub fixtures: Vec<Fixture>,
}
