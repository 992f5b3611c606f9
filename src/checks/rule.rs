//! The rule schema: one TOML file per rule under `checks/<family>/`.
//!
//! A rule is data: its stable ID, a kebab-case name for what it flags, a
//! severity, a status, the controls it feeds, its documentation and its
//! fixtures. The code of a check family decides *when* a rule fires; the
//! rule file decides everything a report says about it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Low < … < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

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

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    /// A severity's name, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown severity `{s}`"))
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
    /// A lab's own YARA rule matched (`scan --yara`, FW-YARA-000).
    Custom,
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
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Symlinks: absolute path → target.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    /// Files the fixture harness wraps as the data of a minimal ELF
    /// executable: absolute path → the strings to embed (rules about
    /// binaries need binaries; an empty string gives a placeholder).
    #[serde(default)]
    pub elf: BTreeMap<String, String>,
    /// ELF properties of generated binaries: absolute path → what the
    /// hardening checks read (architecture, stack marker, PIE, RELRO,
    /// imports, RPATH). The path's `elf` strings, if any, go in its data.
    /// Built by `samples::build_elf`.
    #[serde(default)]
    pub elf_props: BTreeMap<String, ElfProps>,
    /// A BusyBox binary with exactly these applets compiled in.
    #[serde(default)]
    pub busybox: Option<BusyboxFixture>,
    /// Custom YARA rules the scan is given, as with `scan --yara`: file
    /// name → source (fixtures of FW-YARA-000).
    #[serde(default)]
    pub yara: BTreeMap<String, String>,
    /// Permission bits of files or directories, as octal text (`"4755"`):
    /// absolute path → mode. Without one, ELF files get 0755, other files
    /// 0644 and directories 0755.
    #[serde(default)]
    pub modes: BTreeMap<String, String>,
    /// Owners, as `"uid:gid"`: absolute path → owner. Without one, root.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    /// What the fixture's SquashFS is wrapped in: nothing (the default), a
    /// legacy `uimage`, or a FIT with a signed configuration (`fit-signed`),
    /// preceded by a control device tree (`fit-signed-key-required`,
    /// `fit-signed-key-optional`).
    #[serde(default)]
    pub wrap: Option<Wrap>,
    /// Where the rule's findings must be, for an `expect = "fail"` fixture
    /// (`[[fixture.finding]]`): the fixture harness compares them with the
    /// findings exactly, so a fixture proves the location a report gives,
    /// not only that the rule fired. `tests/rules.rs` requires at least one
    /// for every fail fixture.
    #[serde(default, rename = "finding")]
    pub findings: Vec<ExpectedFinding>,
}

/// The container a fixture image is wrapped in (rules about the image
/// itself rather than its files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wrap {
    Uimage,
    FitSigned,
    /// A U-Boot control device tree whose key is marked required, then
    /// the signed FIT (FW-BOOT-002).
    FitSignedKeyRequired,
    /// The same with the key not marked required.
    FitSignedKeyOptional,
}

/// One finding a fail fixture expects: the file, and the line (text
/// evidence) or byte offset (binary evidence) in it. Each value was checked
/// by hand against the fixture's own files, never copied from a scan.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedFinding {
    /// Absolute path in the fixture filesystem.
    pub path: String,
    /// 1-based line.
    #[serde(default)]
    pub line: Option<usize>,
    /// Byte offset in the file.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// A generated ELF binary's hardening properties in a fixture
/// (`[fixture.elf_props."/usr/sbin/httpd"]`). Defaults: 32-bit
/// little-endian ARM, ET_EXEC, PT_GNU_STACK RW, no RELRO, no symbols.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElfProps {
    /// `arm`, `aarch64`, `mips`, `ppc`, `ppc64`, `x86`, `x86-64`.
    #[serde(default)]
    pub machine: Option<String>,
    #[serde(default)]
    pub big_endian: bool,
    /// `rw` (default), `rwx`, or `absent` (no PT_GNU_STACK).
    #[serde(default)]
    pub stack: Option<String>,
    /// ET_DYN with an interpreter and DF_1_PIE.
    #[serde(default)]
    pub pie: bool,
    /// `none` (default), `partial` (PT_GNU_RELRO) or `full` (and BIND_NOW).
    #[serde(default)]
    pub relro: Option<String>,
    /// Undefined symbols in `.dynsym` (`__stack_chk_fail`, `bind`, …).
    #[serde(default)]
    pub imports: Vec<String>,
    #[serde(default)]
    pub rpath: Option<String>,
    #[serde(default)]
    pub runpath: Option<String>,
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
    /// What decides when the rule fires.
    #[serde(default)]
    pub engine: Engine,
    /// Data-driven matches run by `checks::patterns` (rules whose logic is
    /// in code have none).
    #[serde(default, rename = "pattern")]
    pub patterns: Vec<Pattern>,
    #[serde(default, rename = "fixture")]
    pub fixtures: Vec<Fixture>,
}

/// What decides when a rule fires.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Code in the rule's check family, or the rule's `[[pattern]]` entries.
    #[default]
    Code,
    /// YARA rules under `checks/` whose `meta: id` names this rule (see
    /// `checks::yara`); the rule file has no `[[pattern]]`.
    Yara,
}

/// What a pattern's `regex` runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatternTarget {
    /// The bytes of each file.
    Content,
    /// The keys of configuration-file entries (`value` runs on the value).
    Config,
}

/// Which files a content pattern looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileScope {
    /// Files that read as text (scripts, configuration, web pages).
    #[default]
    Text,
    /// Every file, binaries included.
    Any,
}

/// Checks a match must also pass, implemented in code because a regular
/// expression cannot express them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    /// The secret is not empty, a variable, a template or a mask.
    NotPlaceholder,
    /// The secret is random-looking: at least 16 characters, letters and
    /// digits, Shannon entropy of at least 3.3 bits per character.
    HighEntropy,
    /// The secret is a JWT whose header decodes to JSON with an `alg`.
    Jwt,
    /// The secret is a valid WPA passphrase (8–63 printable characters) or
    /// a 64-digit hex PSK.
    WpaPsk,
}

/// One data-driven match of a rule. Regular expressions use the `regex`
/// crate's syntax over bytes, without Unicode classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    pub on: PatternTarget,
    /// Content: over the file's bytes. Config: over each entry's key.
    pub regex: String,
    /// Config only: the value must match this.
    #[serde(default)]
    pub value: Option<String>,
    /// Config only: keys matching this are left to other rules.
    #[serde(default)]
    pub not_key: Option<String>,
    /// Only files whose path matches this.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub files: FileScope,
    /// Content: the named group holding the secret. Config: the value is.
    #[serde(default)]
    pub secret: Option<String>,
    /// Content: the named group naming an account.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub require: Vec<Require>,
    /// The finding's evidence: `{user}`, `{key}` and `{match}` (the matched
    /// text, secret replaced by the secret slot) are filled in.
    pub evidence: String,
}
