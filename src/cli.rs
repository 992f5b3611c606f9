//! Command-line arguments (clap derive) and their validation into library
//! options. Exit codes are part of the interface: see [`ExitCode`].

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};

use fwcert::batch::Shard;
use fwcert::checks::CheckOptions;
use fwcert::checks::rule::Severity;
use fwcert::report::{Format, Lang};
use fwcert::unpack::budget::Limits;

/// Process exit codes, documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// No clause failed and every firmware unit was decided.
    Pass = 0,
    /// A clause failed (or a finding is at or above `--fail-on`).
    Fail = 1,
    /// Something could not be unpacked or analysed.
    Inconclusive = 2,
    /// Bad usage, unreadable input or unwritable output.
    Error = 3,
}

const EXIT_CODES: &str = "\
EXIT CODES:
    0  PASS          no clause of the selected standards FAILs, and every unit fwcert
                     judges from firmware was decided (OPEN clauses, which need a
                     device test, a document or an audit, are listed, not blocking)
    1  FAIL          a clause FAILs, or a finding is at or above --fail-on
    2  ANALYSIS GAP  nothing failed, but something could not be unpacked or analysed
                     (encrypted, unsupported, budget, a preview finding to review,
                     or a unit with no check): an unanalysed image never exits 0
    3  ERROR         bad usage, unreadable image or declaration, unwritable output";

const BATCH_EXIT_CODES: &str = "\
EXIT CODES:
    the worst of the images': 3 (an image could not be scanned, or a bad
    input or output) over 1 (FAIL) over 2 (ANALYSIS GAP) over 0 (PASS)";

/// fwcert: firmware security conformance tests for IoT cameras and routers.
///
/// Unpacks a vendor firmware image, checks it for default passwords, keys,
/// debug services and outdated components, and decides each clause of ETSI
/// EN 303 645, EN 18031, the EU CRA, GB 40050 and other standards through
/// its test units (PASS / FAIL / INCONCLUSIVE / OPEN / NOT-APPLICABLE),
/// with the evidence for every finding.
#[derive(Debug, Parser)]
#[command(name = "fwcert", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Unpack, check and report on a firmware image.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
    /// Unpack a firmware image and list its containers (optionally write the files).
    Unpack(UnpackArgs),
    /// Scan many images (a directory or a manifest) into one report each
    /// and a summary; shards split the work between machines.
    #[command(after_help = BATCH_EXIT_CODES)]
    Batch(BatchArgs),
    /// Make an Ed25519 key pair for signing reports: NAME (private,
    /// PKCS#8 PEM) and NAME.pub (public, SubjectPublicKeyInfo PEM).
    Keygen {
        /// The private key's file; the public key goes to NAME.pub.
        #[arg(short, long, value_name = "NAME")]
        output: PathBuf,
    },
    /// Check a signed JSON report against its signature (REPORT.sig) and a
    /// public key. Exit 0 when it verifies, 1 when the report or signature
    /// was altered or signed with another key, 3 when a file is unreadable.
    Verify {
        /// The JSON report written by `scan --format json --sign KEY -o REPORT`.
        report: PathBuf,
        /// The signer's public key (NAME.pub from `fwcert keygen`).
        #[arg(long, value_name = "PUB")]
        key: PathBuf,
        /// The signature document [default: REPORT.sig].
        #[arg(long, value_name = "FILE")]
        signature: Option<PathBuf>,
    },
    /// List the rules or explain one.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Scan an image and write its software bill of materials (CycloneDX
    /// 1.5 JSON with known vulnerabilities as VEX, or SPDX 2.3 JSON).
    Sbom(SbomArgs),
    /// The vulnerability store: what is loaded, and importing data a lab
    /// copied in (no network).
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Debug, clap::Args)]
pub struct SbomArgs {
    /// The firmware image.
    pub image: PathBuf,
    /// SBOM format: CycloneDX 1.5 JSON or SPDX 2.3 JSON.
    #[arg(long, default_value = "cyclonedx", value_parser = ["cyclonedx", "spdx"])]
    pub format: String,
    /// Write the SBOM to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub settings: ScanSettings,
    #[command(flatten)]
    pub jobs: JobsArg,
    /// Show no progress line on a terminal.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Show a store's snapshot dates and counts (without --db: the store
    /// built into this binary).
    Status {
        /// A store file written by `fwcert db import`.
        #[arg(long, value_name = "FILE")]
        db: Option<PathBuf>,
    },
    /// Import NVD 2.0 feeds or records, CVE JSON 5 records, OSV entries or
    /// the CISA KEV catalogue (JSON) into the store FILE; a store that does
    /// not exist yet starts from the embedded one. The store is replaced
    /// only when every file imports and the result passes its checks.
    Import {
        /// The store to update (created from the embedded store if absent).
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The files to import, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Download the CVEs of the catalogue's products from the NVD CVE API
    /// 2.0 and the CISA KEV catalogue, import them like `db import`, and
    /// replace the store FILE only when the whole download was read and
    /// imported. The only fwcert command that uses the network. An NVD API
    /// key can be given in the environment variable NVD_API_KEY.
    Update {
        /// The store to update (created from the embedded store if absent).
        #[arg(long, value_name = "FILE")]
        db: PathBuf,
        /// The NVD CVE API 2.0 endpoint (a mirror, or a test server).
        #[arg(long, value_name = "URL", default_value = fwcert::vulndb::update::NVD_URL)]
        nvd_url: String,
        /// The KEV catalogue's JSON.
        #[arg(long, value_name = "URL", default_value = fwcert::vulndb::update::KEV_URL)]
        kev_url: String,
        /// Seconds between two NVD requests (the NVD asks for 6 without an
        /// API key; with NVD_API_KEY set the default is 1).
        #[arg(long, value_name = "SECONDS")]
        interval: Option<f64>,
    },
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// The firmware image to scan.
    pub image: PathBuf,
    /// Report format.
    #[arg(long, default_value_t = Format::Text, value_parser = format_parser())]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Language of the text, Markdown and HTML reports (JSON, SARIF and
    /// JUnit are for machines and stay English).
    #[arg(long, default_value_t = Lang::En, value_parser = lang_parser())]
    pub lang: Lang,
    /// Sign the JSON report with this Ed25519 private key (from `fwcert
    /// keygen`): the signature goes to FILE.sig beside `-o FILE`. Needs
    /// `--format json` and `-o`.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    #[command(flatten)]
    pub settings: ScanSettings,
    #[command(flatten)]
    pub jobs: JobsArg,
    /// Show no progress line on a terminal.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What `scan` and `batch` share: the standards, thresholds, budgets and
/// rules of a scan.
#[derive(Debug, clap::Args)]
pub struct ScanSettings {
    /// Standards to report on: all, eu, uk, cn, baseline, or comma-separated
    /// standard ids (see `fwcert rules profiles`). Each standard gets its
    /// own verdict.
    /// [default: the policy's standards or profile, else all]
    #[arg(long, conflicts_with = "standard")]
    pub profile: Option<String>,
    /// A standard to report on (repeatable), e.g. etsi-en-303-645; instead
    /// of --profile.
    #[arg(long, value_name = "ID")]
    pub standard: Vec<String>,
    /// A vulnerability store written by `fwcert db import`, instead of the
    /// one built into fwcert (the report records which was used).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// The manufacturer's declaration (TOML: device identity, ICS, services,
    /// interfaces, accounts, keys, update, components; see
    /// docs/conformance.md). Without one, every clause applies and every
    /// interface counts as reachable.
    #[arg(long, value_name = "FILE")]
    pub declaration: Option<PathBuf>,
    /// Also exit 1 when a finding is at or above this severity, whatever
    /// the clauses say. Changes no verdict in the report.
    #[arg(long, value_parser = severity_parser())]
    pub fail_on: Option<Severity>,
    /// The project's CI policy (TOML: standards, fail-on, waivers; see
    /// docs/ci.md). Without it, `fwcert.toml` in the current directory is
    /// used when there is one.
    #[arg(long, value_name = "FILE", conflicts_with = "no_policy")]
    pub policy: Option<PathBuf>,
    /// Use no policy, not even ./fwcert.toml.
    #[arg(long)]
    pub no_policy: bool,
    /// An earlier JSON report: the gate counts only findings it did not
    /// have (verdicts are unchanged; each finding is marked known or new).
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// The date waivers' expiry is judged on (YYYY-MM-DD) [default:
    /// $FWCERT_TODAY, else today's UTC date]; written in the report.
    #[arg(long, value_name = "DATE")]
    pub today: Option<String>,
    /// Seconds for password cracking, all hashes together (what is not
    /// tried in time is reported as a coverage gap).
    #[arg(long, default_value_t = CheckOptions::default().crack_time.as_secs())]
    pub crack_time: u64,
    /// Replace recovered passwords and found secrets in the report with
    /// [REDACTED]; fingerprints stay, so findings can still be matched.
    #[arg(long)]
    pub redact_secrets: bool,
    /// Also run a lab's own YARA rules: a .yar/.yara file, or a directory
    /// of them (repeatable). Matches are reported as FW-YARA-000, with the
    /// severity in the rule's `meta: severity` (default medium).
    #[arg(long, value_name = "FILE|DIR")]
    pub yara: Vec<PathBuf>,
    /// Seconds for YARA scanning, all files together (files not scanned in
    /// time are reported as a coverage gap).
    #[arg(long, default_value_t = CheckOptions::default().yara_time.as_secs())]
    pub yara_time: u64,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// A directory of images (every file below it), or a manifest: a JSON
    /// array of paths (or of objects with a `path` and optionally the
    /// image's own `declaration`), or one path a line.
    #[arg(required_unless_present = "merge")]
    pub input: Option<PathBuf>,
    /// The directory for the reports (`<relative path>.json`, mirroring the
    /// input) and `summary.json`.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Also write each report in this format (repeatable; JSON is always
    /// written).
    #[arg(long, value_parser = format_parser())]
    pub format: Vec<Format>,
    /// Scan only this worker's share of the sorted inputs: K/N, K from 0
    /// (e.g. Kubernetes' `$JOB_COMPLETION_INDEX/N`).
    #[arg(long, value_name = "K/N", value_parser = |s: &str| s.parse::<Shard>())]
    pub shard: Option<Shard>,
    /// Instead of scanning, merge the `summary.json` of these shard output
    /// directories into `--output`.
    #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with_all = ["input", "shard"])]
    pub merge: Vec<PathBuf>,
    #[command(flatten)]
    pub settings: ScanSettings,
    #[command(flatten)]
    pub jobs: JobsArg,
    /// Show no summary table on standard output.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct UnpackArgs {
    /// The firmware image to unpack.
    pub image: PathBuf,
    /// Write filesystems and payloads into this directory (must not exist
    /// or be empty). Without it, only the container tree is printed.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub budget: BudgetArgs,
    #[command(flatten)]
    pub jobs: JobsArg,
    /// Show no progress line on a terminal.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How many threads to work with. The report is the same whatever the
/// number; only the time changes.
#[derive(Debug, clap::Args)]
pub struct JobsArg {
    /// Worker threads for decoding, inventory, checks and cracking
    /// [default: one per core].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

/// Unpack budgets: a hostile image ends as a partial container with a
/// reason when it would exceed one of these.
#[derive(Debug, clap::Args)]
pub struct BudgetArgs {
    /// Maximum container nesting depth.
    #[arg(long, default_value_t = Limits::default().max_depth)]
    pub max_depth: u32,
    /// Maximum number of files across all filesystems.
    #[arg(long, default_value_t = Limits::default().max_files)]
    pub max_files: u64,
    /// Maximum bytes extracted, as a multiple of the image size (floor 256 MiB, ceiling 8 GiB).
    #[arg(long, default_value_t = Limits::default().max_expansion)]
    pub max_expansion: u64,
    /// Seconds one extractor may run.
    #[arg(long, default_value_t = Limits::default().max_extractor_time.as_secs())]
    pub extractor_timeout: u64,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// List every rule with its ID, severity and title; with --standard,
    /// every clause of that standard with its test units.
    List {
        /// A standard id (see `fwcert rules profiles`).
        #[arg(long, value_name = "ID")]
        standard: Option<String>,
    },
    /// Show a rule's documentation and the clauses it feeds.
    Explain {
        /// A rule ID such as FW-CRED-002.
        id: String,
    },
    /// List the profiles and standards accepted by `scan --profile`.
    Profiles,
}

/// `--format`: the library's formats, listed in `--help`.
fn format_parser() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(Format::as_str)).try_map(|s| s.parse::<Format>())
}

/// `--fail-on`: the library's severities, listed in `--help`.
fn severity_parser() -> impl TypedValueParser<Value = Severity> {
    PossibleValuesParser::new(Severity::ALL.map(Severity::as_str)).try_map(|s| s.parse::<Severity>())
}

/// `--lang`: the report languages, listed in `--help`.
fn lang_parser() -> impl TypedValueParser<Value = Lang> {
    PossibleValuesParser::new(Lang::ALL.map(Lang::as_str)).try_map(|s| s.parse::<Lang>())
}
