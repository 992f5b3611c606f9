//! The whole pipeline: `image → unpack → inventory → checks → verdicts → report`.

use std::path::Path;

use crate::checks::rule::Severity;
use crate::checks::{self, CheckOptions, RuleSet};
use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::report::build::{Inputs, build};
use crate::report::model::Report;
use crate::unpack::{self, Bytes, UnpackOptions};

/// Options for one scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub unpack: UnpackOptions,
    pub checks: CheckOptions,
    /// A profile name (`all`, `eu`, `cn`, `baseline`) or comma-separated
    /// standard ids.
    pub profile: String,
    pub fail_on: Severity,
    /// Replace recovered passwords and found secrets in the report with a
    /// marker (fingerprints stay), for reports that leave the lab.
    pub redact_secrets: bool,
    /// A lab's own YARA rules, (name, source): reported as FW-YARA-000 and
    /// part of the rules digest.
    pub custom_yara: Vec<(String, String)>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            unpack: UnpackOptions::default(),
            checks: CheckOptions::default(),
            profile: "all".into(),
            fail_on: Severity::Low,
            redact_secrets: false,
            custom_yara: Vec::new(),
        }
    }
}

/// Scan image bytes named `name`.
pub fn scan_bytes(data: Bytes, name: &str, opts: &ScanOptions) -> Result<Report> {
    let rules = if opts.custom_yara.is_empty() {
        RuleSet::embedded()?
    } else {
        RuleSet::with_custom_yara(&opts.custom_yara)?
    };
    let standards = rules
        .catalog
        .select(&opts.profile)
        .ok_or_else(|| Error::UnknownProfile(opts.profile.clone()))?;
    let progress = &opts.unpack.progress;
    progress.stage("unpack");
    let unpacked = unpack::unpack(data, name, &opts.unpack);
    progress.stage("inventory");
    let inventory = Inventory::build(&unpacked);
    progress.stage("checks");
    let results = checks::run_all(&inventory, &rules, &opts.checks);
    progress.stage("report");
    Ok(build(Inputs {
        unpacked: &unpacked,
        inventory: &inventory,
        results: &results,
        rules: &rules,
        standards: &standards,
        profile: &opts.profile,
        fail_on: opts.fail_on,
        redact_secrets: opts.redact_secrets,
    }))
}

/// Scan the image file at `path`; the report names it by its file name.
pub fn scan_path(path: &Path, opts: &ScanOptions) -> Result<Report> {
    let data = unpack::read_image(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "image".into());
    scan_bytes(data, &name, opts)
}
