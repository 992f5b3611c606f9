//! The library's front door: a [`Scanner`] runs the pipeline `image →
//! unpack → inventory → checks → standards → report`, with [`Rules`]
//! compiled once, over as many images as it is given.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fwcert::{Rules, ScanOptions, Scanner};
//!
//! let rules = Arc::new(Rules::embedded()?);
//! let scanner = Scanner::new(rules, ScanOptions::default())?;
//! for image in ["a.bin", "b.bin"] {
//!     let report = scanner.scan_path(image.as_ref())?;
//!     println!("{image}: exit {}", report.outcome.exit_code);
//! }
//! # Ok::<(), fwcert::Error>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use crate::checks::rule::Severity;
use crate::checks::{self, CheckOptions};
use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::report::build::{Inputs, build};
use crate::report::model::Report;
use crate::rules::Rules;
use crate::standards::{Assessment, Declaration, gate_excusing};
use crate::unpack::{self, Bytes, ReadImage, UnpackOptions, Unpacked};

/// Options for scanning.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub unpack: UnpackOptions,
    pub checks: CheckOptions,
    /// A profile name (`all`, `eu`, `cn`, `baseline`) or comma-separated
    /// standard ids.
    pub profile: String,
    /// `--fail-on`: a finding at or above this severity fails the gate
    /// (exit 1). It changes no clause verdict.
    pub fail_on: Option<Severity>,
    /// The manufacturer's declaration the image is judged against.
    pub declaration: Option<Arc<Declaration>>,
    /// Replace recovered passwords and found secrets in the report with a
    /// marker (fingerprints stay), for reports that leave the lab.
    pub redact_secrets: bool,
    /// CI gating: a policy's waivers and a baseline report. Changes the
    /// gate (exit code), never a verdict.
    pub gating: Option<Arc<crate::policy::Gating>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            unpack: UnpackOptions::default(),
            checks: CheckOptions::default(),
            profile: "all".into(),
            fail_on: None,
            declaration: None,
            redact_secrets: false,
            gating: None,
        }
    }
}

/// Scans images with one compiled rule set and one set of options.
#[derive(Debug, Clone)]
pub struct Scanner {
    rules: Arc<Rules>,
    options: ScanOptions,
    /// The standard ids the profile selects.
    standards: Vec<String>,
}

impl Scanner {
    /// Fails when the options' profile names no known profile or standard.
    pub fn new(rules: Arc<Rules>, options: ScanOptions) -> Result<Scanner> {
        let standards = rules
            .catalog
            .select(&options.profile)
            .ok_or_else(|| Error::UnknownProfile(options.profile.clone()))?;
        Ok(Scanner {
            rules,
            options,
            standards,
        })
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// The same scanner (rules shared, not recompiled) judging images
    /// against another declaration: a batch manifest's per-image one.
    pub fn with_declaration(&self, declaration: Option<Arc<Declaration>>) -> Scanner {
        let mut s = self.clone();
        s.options.declaration = declaration;
        s
    }

    /// Scan the image file at `path`; the report names it by its file name.
    pub fn scan_path(&self, path: &Path) -> Result<Report> {
        self.scan_read(&read_path(path)?, &image_name(path))
    }

    /// Scan image bytes named `name`.
    pub fn scan_bytes(&self, data: Bytes, name: &str) -> Result<Report> {
        self.options.unpack.progress.stage("unpack");
        self.scan_unpacked(unpack::unpack(data, name, &self.options.unpack))
    }

    /// Scan an image read with [`unpack::read_image_hashed`], named `name`:
    /// the report is [`Scanner::scan_bytes`]'s, without hashing the image
    /// again.
    pub fn scan_read(&self, image: &ReadImage, name: &str) -> Result<Report> {
        let unpacked = unpack_named(image, name, &self.options.unpack);
        let inventory = inventory_of_read(&unpacked, image, &self.options.unpack);
        self.scan_inventory(&unpacked, &inventory)
    }

    /// The stages after unpacking. The unpack stage needs no rules, so a
    /// caller may unpack (see [`unpack_read`]) while the rules compile and
    /// then finish here; the report is the same as [`Scanner::scan_bytes`]'s
    /// when `unpacked` was made with this scanner's unpack options.
    pub fn scan_unpacked(&self, unpacked: Unpacked) -> Result<Report> {
        let inventory = inventory_of(&unpacked, &self.options.unpack);
        self.scan_inventory(&unpacked, &inventory)
    }

    /// The stages after the inventory, which needs no rules either (see
    /// [`inventory_of`]): `inventory` must have been built from `unpacked`.
    pub fn scan_inventory(&self, unpacked: &Unpacked, inventory: &Inventory) -> Result<Report> {
        let opts = &self.options;
        let progress = &opts.unpack.progress;
        progress.stage("checks");
        let results = checks::run(inventory, &self.rules.checks, &opts.checks)?;
        progress.stage("standards");
        let unpack_gaps = unpacked.incompleteness();
        let declaration = opts.declaration.as_deref();
        if let Some(d) = declaration
            && let Some(want) = &d.data.device.image_sha256
        {
            let got = inventory.image().map(|f| f.sha256()).unwrap_or_default();
            if !want.eq_ignore_ascii_case(got) {
                return Err(Error::DeclarationMismatch {
                    declaration: d.name.clone(),
                    declared: want.clone(),
                    scanned: got.to_string(),
                });
            }
        }
        let assessment = Assessment {
            findings: &results.findings,
            coverage: &results.coverage,
            unpack_gaps: &unpack_gaps,
            observed: &results.observed,
            declaration,
            fail_on: opts.fail_on,
        };
        let mut verdicts = self.rules.catalog.evaluate(&self.standards, &assessment);
        let gating = opts.gating.as_deref();
        let matched = gating.map(|g| g.assess(&results.findings));
        if let (Some(g), Some(m)) = (gating, &matched) {
            verdicts.gate = gate_excusing(&verdicts.clauses, &assessment, &m.excused());
            verdicts.gate.reasons.extend(waiver_notes(g, m));
        }
        progress.stage("report");
        Ok(build(Inputs {
            unpacked,
            inventory,
            results: &results,
            verdicts: &verdicts,
            unpack_gaps: &unpack_gaps,
            rules: &self.rules,
            profile: &opts.profile,
            declaration,
            redact_secrets: opts.redact_secrets,
            gating: gating.zip(matched.as_ref()),
            fail_on: opts.fail_on,
        }))
    }
}

/// The inventory stage of a scan: typed facts about the unpacked files.
/// Like unpacking it needs no rules, so a caller may build it while they
/// load and then finish with [`Scanner::scan_inventory`].
pub fn inventory_of<'a>(unpacked: &'a Unpacked, options: &UnpackOptions) -> Inventory<'a> {
    options.progress.stage("inventory");
    Inventory::build(unpacked)
}

/// [`inventory_of`] an image unpacked from `image` ([`unpack_read`]): the
/// hash computed while reading it is taken, when `unpacked` holds that very
/// buffer (not only equal bytes: the same memory, which cannot change).
pub fn inventory_of_read<'a>(unpacked: &'a Unpacked, image: &ReadImage, options: &UnpackOptions) -> Inventory<'a> {
    options.progress.stage("inventory");
    let read = image.bytes();
    let same = read.as_ptr() == unpacked.image.as_ptr() && read.len() == unpacked.image.len();
    Inventory::build_hashed(unpacked, same.then(|| image.sha256()))
}

/// Read the image file at `path` whole, hashing it meanwhile (see
/// [`unpack::read_image_hashed`]).
pub fn read_path(path: &Path) -> Result<ReadImage> {
    unpack::read_image_hashed(path).map_err(|source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    })
}

/// Unpack `image`, read from `path` ([`read_path`]), named by its file name.
pub fn unpack_read(image: &ReadImage, path: &Path, options: &UnpackOptions) -> Unpacked {
    unpack_named(image, &image_name(path), options)
}

/// Unpack `image`, named `name` in chains and reports.
fn unpack_named(image: &ReadImage, name: &str, options: &UnpackOptions) -> Unpacked {
    options.progress.stage("unpack");
    unpack::unpack(image.bytes().clone(), name, options)
}

/// What a report calls the image read from `path`: its file name.
fn image_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "image".into())
}

/// What the gate's reasons say about the waivers: one that matched
/// nothing, and one that expired while it still matches findings.
fn waiver_notes(g: &crate::policy::Gating, m: &crate::policy::Matched) -> Vec<String> {
    let mut notes = Vec::new();
    let Some(p) = &g.policy else { return notes };
    for (i, (w, state)) in p.waivers.iter().zip(&m.waivers).enumerate() {
        let what = match (&w.fingerprint, &w.rule, &w.path) {
            (Some(fp), _, _) => format!("fingerprint {fp}"),
            (None, Some(r), Some(path)) => format!("{r} at {path}"),
            (None, Some(r), None) => r.clone(),
            (None, None, _) => String::new(),
        };
        if state.matched.is_empty() {
            notes.push(format!("waiver {} ({what}) matched no finding", i + 1));
        } else if !state.active {
            notes.push(format!(
                "waiver {} ({what}) expired on {}: its {} finding(s) count again",
                i + 1,
                w.expires,
                state.matched.len()
            ));
        }
    }
    notes
}

/// Scan image bytes with the embedded rules: a one-off convenience; use a
/// [`Scanner`] to scan several images with rules compiled once.
pub fn scan_bytes(data: Bytes, name: &str, opts: &ScanOptions) -> Result<Report> {
    Scanner::new(Arc::new(Rules::embedded()?), opts.clone())?.scan_bytes(data, name)
}

/// Scan the image file at `path` with the embedded rules (see
/// [`scan_bytes`]).
pub fn scan_path(path: &Path, opts: &ScanOptions) -> Result<Report> {
    Scanner::new(Arc::new(Rules::embedded()?), opts.clone())?.scan_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::sha256_hex;

    /// The hash computed while reading is the image entry's, and it is taken
    /// only for the buffer it was computed over: an unpack of other bytes
    /// gets its own image's hash.
    #[test]
    fn a_read_images_hash_is_taken_only_for_its_own_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let (path_a, path_b) = (dir.path().join("a.bin"), dir.path().join("b.bin"));
        std::fs::write(&path_a, b"image a: nothing known in it").unwrap();
        std::fs::write(&path_b, b"image b: nothing known either").unwrap();
        let options = UnpackOptions::default();
        let a = read_path(&path_a).unwrap();
        let b = read_path(&path_b).unwrap();
        let unpacked_a = unpack_read(&a, &path_a, &options);
        let image_hash = |inv: &Inventory| inv.image().map(|f| f.sha256().to_string());
        let inv = inventory_of_read(&unpacked_a, &a, &options);
        assert_eq!(image_hash(&inv), Some(sha256_hex(b"image a: nothing known in it")));
        let inv = inventory_of_read(&unpacked_a, &b, &options);
        assert_eq!(image_hash(&inv), Some(sha256_hex(b"image a: nothing known in it")));
    }
}
