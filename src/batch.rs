//! Many images with one compiled rule set: `fwcert batch`.
//!
//! A batch reads a directory (every regular file below it, links not
//! followed) or a manifest (a JSON array of paths, or a text file with one
//! path a line), sorts the inputs by their relative path, keeps this
//! worker's [`Shard`] of them, and scans them on the current rayon pool,
//! the largest file first: images side by side, one worker loop per thread
//! taking the next, and each image's own parallel work on the same
//! threads, so the cores are never oversubscribed.
//!
//! Every report is written atomically (a temporary file in the output
//! directory, then a rename), next to where the image sits relative to the
//! input, as `<relative path>.json` (plus one file per extra format). A
//! rerun skips an image whose report exists with the same image SHA-256 and
//! rules digest. When `stop` is raised (SIGINT/SIGTERM in the binary), no
//! new image starts; the ones in flight finish and are written, and the
//! summary lists what was done. `summary.json` is written last, atomically.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::report::{self, Format};
use crate::scan::Scanner;
use crate::standards::Declaration;

/// The summary file's schema name.
pub const SUMMARY_SCHEMA: &str = "fwcert-batch/1";
/// The summary's file name in the output directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// The same summary as a page for a person, beside it.
pub const SUMMARY_HTML: &str = "summary.html";

/// This worker's share of a sorted input list: the inputs whose index `i`
/// has `i % count == index` (`--shard K/N`, K from 0, as Kubernetes'
/// `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not K/N"))?;
        let index: usize = k.trim().parse().map_err(|_| format!("`{k}` is not a number"))?;
        let count: usize = n.trim().parse().map_err(|_| format!("`{n}` is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("shard {index}/{count}: K must be below N (K counts from 0)"));
        }
        Ok(Shard { index, count })
    }
}

/// One image to scan: where it is, its path relative to the input (which
/// names its reports), and the manufacturer's declaration for it, when a
/// manifest names one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    pub relative: PathBuf,
    pub path: PathBuf,
    pub declaration: Option<PathBuf>,
}

/// A manifest entry: a path, or an object with one and optionally the
/// image's declaration (relative to the manifest, like the path).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ManifestEntry {
    Path(String),
    Entry {
        path: String,
        #[serde(default)]
        declaration: Option<String>,
    },
}

/// A relative path that stays inside the output directory: no root, no
/// `..`, no `.`.
fn confined(p: &Path) -> PathBuf {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// The inputs of a directory or a manifest, sorted by relative path.
pub fn inputs(input: &Path) -> Result<Vec<Input>> {
    let read_err = |path: &Path, source| Error::ReadInput {
        path: path.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    if input.is_dir() {
        let mut stack = vec![input.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).map_err(|e| read_err(&dir, e))? {
                let e = e.map_err(|e| read_err(&dir, e))?;
                let kind = e.file_type().map_err(|err| read_err(&e.path(), err))?;
                let path = e.path();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let relative = confined(path.strip_prefix(input).unwrap_or(&path));
                    out.push(Input {
                        relative,
                        path,
                        declaration: None,
                    });
                }
            }
        }
    } else {
        let text = std::fs::read_to_string(input).map_err(|e| read_err(input, e))?;
        let base = input.parent().unwrap_or(Path::new("."));
        let entries: Vec<(String, Option<String>)> = if text.trim_start().starts_with('[') {
            let entries: Vec<ManifestEntry> = serde_json::from_str(&text).map_err(|e| Error::InputFormat {
                path: input.to_path_buf(),
                message: e.to_string(),
            })?;
            entries
                .into_iter()
                .map(|e| match e {
                    ManifestEntry::Path(p) => (p, None),
                    ManifestEntry::Entry { path, declaration } => (path, declaration),
                })
                .collect()
        } else {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| (l.to_string(), None))
                .collect()
        };
        let resolve = |p: &str| {
            let given = PathBuf::from(p);
            if given.is_absolute() { given } else { base.join(given) }
        };
        for (p, declaration) in entries {
            out.push(Input {
                relative: confined(Path::new(&p)),
                path: resolve(&p),
                declaration: declaration.as_deref().map(resolve),
            });
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.relative == b.relative);
    Ok(out)
}

/// The inputs `shard` covers.
pub fn select(inputs: Vec<Input>, shard: Option<Shard>) -> Vec<Input> {
    match shard {
        None => inputs,
        Some(s) => inputs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % s.count == s.index)
            .map(|(_, x)| x)
            .collect(),
    }
}

/// How bad an exit code is for a batch: an image that could not be scanned
/// at all (3) is worse than a FAIL (1), which is worse than an analysis gap (2).
fn badness(code: u8) -> u8 {
    match code {
        0 => 0,
        2 => 1,
        1 => 2,
        _ => 3,
    }
}

/// The worst of several exit codes (0 for none).
pub fn worst(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().max_by_key(|c| badness(*c)).unwrap_or(0)
}

/// One image's line in the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// The path relative to the input; reports are named after it.
    pub image: String,
    /// Empty when the image could not be read.
    pub sha256: String,
    /// The report's `outcome.status` (`pass`, `fail`, `analysis-gap`);
    /// absent when the scan failed.
    pub status: Option<String>,
    /// Per selected standard, its verdict in the report.
    pub standards: BTreeMap<String, String>,
    pub exit_code: u8,
    /// Findings per severity.
    pub findings: BTreeMap<String, usize>,
    /// Wall-clock seconds of the scan (0 when skipped).
    pub seconds: f64,
    /// True when an earlier run's report was reused.
    pub reused: bool,
    /// Why the image has no report.
    pub error: Option<String>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema: String,
    pub rules_digest: String,
    /// `K/N` when this summary covers one shard; absent when merged or whole.
    pub shard: Option<String>,
    /// True when the run stopped early (SIGINT/SIGTERM): images are missing.
    pub interrupted: bool,
    pub exit_code: u8,
    pub images: Vec<ImageSummary>,
}

/// Options of a batch beyond the scanner's.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    pub shard: Option<Shard>,
    /// Formats written besides JSON (which is always written).
    pub extra_formats: Vec<Format>,
}

/// Write `bytes` to `path` through a temporary file in the same directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_err = |source| Error::WriteOutput {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(write_err)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".fwcert-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(write_err)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}

/// `<out>/<relative>.<ext>`.
fn report_path(out: &Path, relative: &Path, ext: &str) -> PathBuf {
    let mut name = relative.as_os_str().to_os_string();
    name.push(format!(".{ext}"));
    out.join(name)
}

fn extension(format: Format) -> &'static str {
    format.extension()
}

/// The parts of a report its summary line and the resume check read. The
/// rest (most of a report's size: findings, requirements) is skipped while
/// it is parsed instead of being built into a tree of values, which cost
/// 3–4 ms an image: every report is 600 KB or more, a 4 KiB sample's too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReportHead {
    schema: String,
    image: HeadImage,
    tool: HeadTool,
    declaration: Option<HeadDeclaration>,
    outcome: Option<HeadOutcome>,
    standards: Vec<HeadStandard>,
    summary: HeadSummary,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadImage {
    sha256: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadTool {
    rules_digest: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadDeclaration {
    sha256: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadOutcome {
    status: String,
    exit_code: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct HeadStandard {
    id: String,
    verdict: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HeadSummary {
    findings: BTreeMap<String, usize>,
}

/// The summary line of a report (a fresh one or one read back).
fn summary_of(image: String, r: ReportHead, seconds: f64, reused: bool) -> ImageSummary {
    let outcome = r.outcome.unwrap_or_default();
    // A report without a readable outcome is no result: an error.
    let code = match outcome.exit_code {
        Some(c @ 0..=2) => c as u8,
        _ => 3,
    };
    ImageSummary {
        image,
        sha256: r.image.sha256,
        status: Some(outcome.status),
        standards: r.standards.into_iter().map(|s| (s.id, s.verdict)).collect(),
        exit_code: code,
        findings: r.summary.findings,
        seconds,
        reused,
        error: None,
    }
}

/// A report of an earlier run for this image and these rules, if any.
fn reusable(path: &Path, sha256: &str, rules_digest: &str, declaration: Option<&str>) -> Option<ReportHead> {
    let text = std::fs::read_to_string(path).ok()?;
    let r: ReportHead = serde_json::from_str(&text).ok()?;
    (r.schema == crate::report::model::SCHEMA
        && r.image.sha256 == sha256
        && r.tool.rules_digest == rules_digest
        && r.declaration.as_ref().and_then(|d| d.sha256.as_deref()) == declaration)
        .then_some(r)
}

/// Scan one input and write its reports.
fn one(scanner: &Scanner, input: &Input, out: &Path, opts: &BatchOptions) -> ImageSummary {
    let image = input.relative.to_string_lossy().replace('\\', "/");
    let failed = |sha256: String, e: String| ImageSummary {
        image: image.clone(),
        sha256,
        status: None,
        standards: BTreeMap::new(),
        exit_code: 3,
        findings: BTreeMap::new(),
        seconds: 0.0,
        reused: false,
        error: Some(e),
    };
    // Hashed while it is read: the summary and the report both need it.
    let read = match crate::unpack::read_image_hashed(&input.path) {
        Ok(d) => d,
        Err(e) => return failed(String::new(), format!("cannot read {}: {e}", input.path.display())),
    };
    let sha256 = read.sha256().to_string();
    // The image's own declaration replaces the batch's.
    let own;
    let scanner = match &input.declaration {
        None => scanner,
        Some(path) => {
            let parsed = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read declaration {}: {e}", path.display()))
                .and_then(|text| {
                    Declaration::parse(&path.display().to_string(), &text, &scanner.rules().catalog)
                        .map_err(|e| e.to_string())
                });
            match parsed {
                Ok(d) => {
                    own = scanner.with_declaration(Some(Arc::new(d)));
                    &own
                }
                Err(e) => return failed(sha256, e),
            }
        }
    };
    let json_path = report_path(out, &input.relative, "json");
    let declaration = scanner.options().declaration.as_ref().map(|d| d.sha256.as_str());
    // A policy or baseline may change between runs (and waivers expire):
    // with one, every image is scanned again.
    let reuse = scanner.options().gating.is_none();
    if reuse && let Some(old) = reusable(&json_path, &sha256, &scanner.rules().digest, declaration) {
        return summary_of(image, old, 0.0, true);
    }
    let name = input
        .path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "image".into());
    let started = Instant::now();
    let report = match scanner.scan_read(&read, &name) {
        Ok(r) => r,
        Err(e) => return failed(sha256, e.to_string()),
    };
    let seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    for format in &opts.extra_formats {
        if *format == Format::Json {
            continue;
        }
        let path = report_path(out, &input.relative, extension(*format));
        if let Err(e) = write_atomically(&path, report::render(&report, *format).as_bytes()) {
            return failed(sha256, e.to_string());
        }
    }
    // JSON last: its presence is what a rerun trusts.
    let json = report::json::render(&report);
    if let Err(e) = write_atomically(&json_path, json.as_bytes()) {
        return failed(sha256, e.to_string());
    }
    match serde_json::from_str::<ReportHead>(&json) {
        Ok(r) => summary_of(image, r, seconds, false),
        Err(e) => failed(sha256, e.to_string()),
    }
}

/// Scan `inputs` into `out`, then write and return the summary. Stops
/// starting new images once `stop` is set.
pub fn run(scanner: &Scanner, inputs: &[Input], out: &Path, opts: &BatchOptions, stop: &AtomicBool) -> Result<Summary> {
    std::fs::create_dir_all(out).map_err(|source| Error::WriteOutput {
        path: out.to_path_buf(),
        source,
    })?;
    let order = largest_first(inputs);
    let mut images = each_worker_takes_the_next(&order, stop, |input| one(scanner, input, out, opts));
    images.sort_by(|a, b| a.image.cmp(&b.image));
    let summary = Summary {
        schema: SUMMARY_SCHEMA.to_string(),
        rules_digest: scanner.rules().digest.clone(),
        shard: opts.shard.map(|s| format!("{}/{}", s.index, s.count)),
        interrupted: stop.load(Ordering::SeqCst) && images.len() < inputs.len(),
        exit_code: worst(images.iter().map(|i| i.exit_code)),
        images,
    };
    write_summary(out, &summary)?;
    Ok(summary)
}

/// The order images are started in: the largest file first (equal sizes
/// by relative path). A batch then ends on its smallest images, which fill
/// the cores while the last large ones finish, instead of on one large
/// image whose single-threaded start and end leave the other cores idle.
/// An input that cannot be measured counts as empty; its read will fail
/// with the reason.
fn largest_first(inputs: &[Input]) -> Vec<&Input> {
    let mut sized: Vec<(u64, &Input)> = inputs
        .iter()
        .map(|i| (std::fs::metadata(&i.path).map_or(0, |m| m.len()), i))
        .collect();
    sized.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    sized.into_iter().map(|(_, i)| i).collect()
}

/// Run `work` on every item of `order` with one worker loop on each thread
/// of the current rayon pool, each taking the next item when it is done
/// with one, so items start in `order`'s order and a thread is idle only
/// when none is left to start and the items in flight have no parallel
/// step to lend it. (A parallel iterator hands each thread runs of
/// several items to do one after another: a thread that finished its
/// share slept while the other's run still held images nobody had begun.)
/// Each item's own parallel work runs on the same threads, so the cores
/// are never oversubscribed. The loops are broadcast, one to each thread,
/// rather than spawned: a spawned loop not yet begun could be picked up by
/// a thread waiting inside an item's parallel step, holding that item
/// until the loop had emptied the queue. Stops taking items once `stop` is
/// set. The results come back in no particular order.
fn each_worker_takes_the_next<T: Sync, R: Send>(
    order: &[T],
    stop: &AtomicBool,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    rayon::broadcast(|_| {
        let mut done = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let Some(item) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            done.push(work(item));
        }
        done
    })
    .into_iter()
    .flatten()
    .collect()
}

fn write_summary(out: &Path, summary: &Summary) -> Result<()> {
    let mut json = serde_json::to_string_pretty(summary).map_err(|e| Error::InputFormat {
        path: out.join(SUMMARY_FILE),
        message: e.to_string(),
    })?;
    json.push('\n');
    write_atomically(&out.join(SUMMARY_HTML), html_table(summary).as_bytes())?;
    // JSON last: it is what a merge or a rerun reads.
    write_atomically(&out.join(SUMMARY_FILE), json.as_bytes())
}

/// Read the summaries of several shard directories into one, written to
/// `out`: every image once (the first directory that has it wins), the
/// worst exit code. Shards scanned with different rules are refused.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Summary> {
    let mut merged: BTreeMap<String, ImageSummary> = BTreeMap::new();
    let mut digest: Option<String> = None;
    let mut interrupted = false;
    for dir in dirs {
        let path = dir.join(SUMMARY_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadInput {
            path: path.clone(),
            source,
        })?;
        let s: Summary = serde_json::from_str(&text).map_err(|e| Error::InputFormat {
            path: path.clone(),
            message: e.to_string(),
        })?;
        if s.schema != SUMMARY_SCHEMA {
            return Err(Error::InputFormat {
                path,
                message: format!("schema {} is not {SUMMARY_SCHEMA}", s.schema),
            });
        }
        match &digest {
            Some(d) if *d != s.rules_digest => {
                return Err(Error::InputFormat {
                    path,
                    message: format!(
                        "rules digest {} differs from {d}: shards used different rules",
                        s.rules_digest
                    ),
                });
            }
            _ => digest = Some(s.rules_digest.clone()),
        }
        interrupted |= s.interrupted;
        for i in s.images {
            merged.entry(i.image.clone()).or_insert(i);
        }
    }
    let images: Vec<ImageSummary> = merged.into_values().collect();
    let summary = Summary {
        schema: SUMMARY_SCHEMA.to_string(),
        rules_digest: digest.unwrap_or_default(),
        shard: None,
        interrupted,
        exit_code: worst(images.iter().map(|i| i.exit_code)),
        images,
    };
    write_summary(out, &summary)?;
    Ok(summary)
}

/// The summary as a table for a terminal.
pub fn table(summary: &Summary) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<13} {:>4} {:>8} {:>5}  image",
        "outcome", "exit", "findings", "sec"
    );
    for i in &summary.images {
        let findings: usize = i.findings.values().sum();
        let _ = writeln!(
            out,
            "{:<13} {:>4} {:>8} {:>5.1}  {}{}{}",
            i.status.as_deref().unwrap_or("ERROR"),
            i.exit_code,
            findings,
            i.seconds,
            i.image,
            if i.reused { " (reused)" } else { "" },
            i.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    let _ = writeln!(
        out,
        "{} image(s), exit code {}{}",
        summary.images.len(),
        summary.exit_code,
        if summary.interrupted { ", interrupted" } else { "" }
    );
    out
}

/// `summary.html`: one self-contained page (no script, nothing fetched)
/// with a row per image: outcome, exit code, each standard's verdict,
/// findings per severity, time, and links to the image's reports (relative,
/// so the folder can be moved or served as it is).
pub fn html_table(summary: &Summary) -> String {
    use crate::report::html::esc;
    use std::fmt::Write as _;
    let standards: std::collections::BTreeSet<&str> = summary
        .images
        .iter()
        .flat_map(|i| i.standards.keys().map(String::as_str))
        .collect();
    let severities = ["critical", "high", "medium", "low", "info"];
    let mut s = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>fwcert batch summary</title>\n<style>\n\
         body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;font-size:.9em}\
         .pass,.PASS{background:#d9f2d9}.fail,.FAIL{background:#f8d0d0}.analysis-gap,.INCONCLUSIVE{background:#fbe9c4}\
         .OPEN{background:#e3e9f7}.error{background:#ddd}td.n{text-align:right}\n</style>\n</head>\n<body>\n",
    );
    let _ = writeln!(
        s,
        "<h1>fwcert batch summary</h1>\n<p>{} image(s), exit code {}{}; rules digest <code>{}</code>{}</p>",
        summary.images.len(),
        summary.exit_code,
        if summary.interrupted {
            ", <strong>interrupted</strong>"
        } else {
            ""
        },
        esc(&summary.rules_digest),
        summary
            .shard
            .as_ref()
            .map(|k| format!("; shard {}", esc(k)))
            .unwrap_or_default()
    );
    s.push_str("<table>\n<tr><th>image</th><th>outcome</th><th>exit</th>");
    for id in &standards {
        let _ = write!(s, "<th>{}</th>", esc(id));
    }
    for sev in severities {
        let _ = write!(s, "<th>{sev}</th>");
    }
    s.push_str("<th>sec</th><th>reports</th></tr>\n");
    for i in &summary.images {
        let status = i.status.as_deref().unwrap_or("error");
        let _ = write!(
            s,
            "<tr><td>{}{}</td><td class=\"{}\">{}</td><td class=\"n\">{}</td>",
            esc(&i.image),
            i.error
                .as_ref()
                .map(|e| format!("<br><small>{}</small>", esc(e)))
                .unwrap_or_default(),
            esc(status),
            esc(status),
            i.exit_code
        );
        for id in &standards {
            let v = i.standards.get(*id).map(String::as_str).unwrap_or("");
            let _ = write!(s, "<td class=\"{}\">{}</td>", esc(v), esc(v));
        }
        for sev in severities {
            let _ = write!(s, "<td class=\"n\">{}</td>", i.findings.get(sev).copied().unwrap_or(0));
        }
        // A relative URI reference, each byte outside RFC 3986's
        // unreserved set percent-encoded (as SARIF locations are).
        let link = |ext: &str| {
            let href = crate::report::sarif::uri(&format!("{}.{ext}", i.image));
            format!("<a href=\"{}\">{ext}</a>", esc(&href))
        };
        let _ = writeln!(
            s,
            "<td class=\"n\">{:.1}{}</td><td>{}</td></tr>",
            i.seconds,
            if i.reused { " (reused)" } else { "" },
            if i.error.is_some() { String::new() } else { link("json") }
        );
    }
    s.push_str("</table>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_summary_escapes_and_links_each_report() {
        let summary = Summary {
            schema: SUMMARY_SCHEMA.into(),
            rules_digest: "d".into(),
            shard: None,
            interrupted: false,
            exit_code: 1,
            images: vec![ImageSummary {
                image: "a dir/<x>.bin".into(),
                sha256: String::new(),
                status: Some("fail".into()),
                standards: BTreeMap::from([("etsi-en-303-645".to_string(), "FAIL".to_string())]),
                exit_code: 1,
                findings: BTreeMap::from([("critical".to_string(), 2)]),
                seconds: 0.25,
                reused: false,
                error: None,
            }],
        };
        let page = html_table(&summary);
        assert!(
            page.contains("<td>a dir/&lt;x&gt;.bin</td><td class=\"fail\">fail</td><td class=\"n\">1</td>"),
            "{page}"
        );
        assert!(page.contains("<td class=\"FAIL\">FAIL</td>"), "{page}");
        assert!(page.contains("<a href=\"a%20dir/%3Cx%3E.bin.json\">json</a>"), "{page}");
        assert!(!page.contains("<script"));
    }

    #[test]
    fn shards_split_the_sorted_inputs_exactly_once() {
        let inputs: Vec<Input> = (0..10)
            .map(|i| Input {
                relative: PathBuf::from(format!("img{i:02}.bin")),
                path: PathBuf::from(format!("/in/img{i:02}.bin")),
                declaration: None,
            })
            .collect();
        let mut seen = Vec::new();
        for k in 0..3 {
            let shard: Shard = format!("{k}/3").parse().unwrap();
            seen.extend(select(inputs.clone(), Some(shard)));
        }
        seen.sort();
        assert_eq!(seen, inputs);
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }

    #[test]
    fn images_start_largest_first_and_unreadable_ones_last() {
        let dir = tempfile::tempdir().unwrap();
        let input = |name: &str, size: Option<usize>| {
            let path = dir.path().join(name);
            if let Some(n) = size {
                std::fs::write(&path, vec![0u8; n]).unwrap();
            }
            Input {
                relative: PathBuf::from(name),
                path,
                declaration: None,
            }
        };
        let inputs = vec![
            input("a.bin", Some(10)),
            input("b.bin", Some(300)),
            input("c.bin", Some(10)),
            input("gone.bin", None),
            input("d.bin", Some(20)),
        ];
        let order: Vec<&str> = largest_first(&inputs)
            .iter()
            .map(|i| i.relative.to_str().unwrap())
            .collect();
        // Equal sizes keep the sorted order (a before c); the missing file
        // counts as empty and comes last, where its read reports it.
        assert_eq!(order, ["b.bin", "d.bin", "a.bin", "c.bin", "gone.bin"]);
    }

    #[test]
    fn every_item_is_taken_once_in_order_and_none_after_a_stop() {
        let items: Vec<usize> = (0..200).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let started = std::sync::Mutex::new(Vec::new());
        let mut done = pool.install(|| {
            each_worker_takes_the_next(&items, &AtomicBool::new(false), |&i| {
                started.lock().unwrap().push((rayon::current_thread_index(), i));
                // Work of uneven length, with a parallel step of its own.
                let (a, b) = rayon::join(|| (0..i * 50).sum::<usize>(), || i);
                (a, b)
            })
        });
        done.sort();
        assert_eq!(done.iter().map(|&(_, i)| i).collect::<Vec<_>>(), items);
        // Items are taken from the queue in its order: each worker's own
        // items start in increasing order.
        let started = started.into_inner().unwrap();
        assert_eq!(started.len(), items.len());
        for worker in 0..3 {
            let own: Vec<usize> = started
                .iter()
                .filter(|(t, _)| *t == Some(worker))
                .map(|&(_, i)| i)
                .collect();
            assert!(own.windows(2).all(|w| w[0] < w[1]), "worker {worker}: {own:?}");
        }
        let stop = AtomicBool::new(true);
        let none = pool.install(|| each_worker_takes_the_next(&items, &stop, |&i| i));
        assert!(none.is_empty(), "{none:?}");
        // One thread: exactly the queue's order.
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let seq = one.install(|| each_worker_takes_the_next(&items, &AtomicBool::new(false), |&i| i));
        assert_eq!(seq, items);
    }

    /// A report's head as `fwcert scan` writes it, with some of the fields
    /// the summary skips.
    fn report_json(declaration: &str) -> String {
        format!(
            r#"{{"schema":"{}","tool":{{"name":"fwcert","rules_digest":"d1"}},
              "image":{{"name":"a.bin","sha256":"ab","size":3}},
              "outcome":{{"exit_code":1,"status":"fail","reasons":["x"]}},
              "declaration":{declaration},
              "standards":[{{"id":"etsi-en-303-645","title":"t","verdict":"FAIL","counts":{{"PASS":1}}}},
                           {{"id":"uk-psti","parts":[{{"verdict":"PASS"}}],"verdict":"INCONCLUSIVE"}}],
              "summary":{{"requirements":{{"FAIL":2}},"findings":{{"critical":2,"low":0}}}},
              "requirements":[{{"id":"r","nested":[1,[2,{{"verdict":"PASS"}}]]}}]}}"#,
            crate::report::model::SCHEMA
        )
    }

    #[test]
    fn a_summary_line_is_read_from_the_reports_head() {
        let head: ReportHead = serde_json::from_str(&report_json(r#"{"given":false}"#)).unwrap();
        let line = summary_of("a.bin".into(), head, 0.5, true);
        assert_eq!(line.sha256, "ab");
        assert_eq!(line.status.as_deref(), Some("fail"));
        assert_eq!(line.exit_code, 1);
        assert_eq!(
            line.standards,
            BTreeMap::from([
                ("etsi-en-303-645".to_string(), "FAIL".to_string()),
                ("uk-psti".to_string(), "INCONCLUSIVE".to_string()),
            ])
        );
        assert_eq!(
            line.findings,
            BTreeMap::from([("critical".to_string(), 2), ("low".to_string(), 0)])
        );
        assert!(line.reused);
        // A report without an outcome is no result.
        let bare: ReportHead = serde_json::from_str(r#"{"schema":"x"}"#).unwrap();
        assert_eq!(summary_of("b.bin".into(), bare, 0.0, false).exit_code, 3);
    }

    #[test]
    fn a_report_is_reused_only_for_the_same_image_rules_and_declaration() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.json");
        std::fs::write(&plain, report_json(r#"{"given":false}"#)).unwrap();
        let declared = dir.path().join("declared.json");
        std::fs::write(&declared, report_json(r#"{"given":true,"sha256":"dd"}"#)).unwrap();
        assert!(reusable(&plain, "ab", "d1", None).is_some());
        assert!(reusable(&plain, "ac", "d1", None).is_none(), "another image");
        assert!(reusable(&plain, "ab", "d2", None).is_none(), "other rules");
        assert!(
            reusable(&plain, "ab", "d1", Some("dd")).is_none(),
            "now with a declaration"
        );
        assert!(reusable(&declared, "ab", "d1", Some("dd")).is_some());
        assert!(
            reusable(&declared, "ab", "d1", Some("de")).is_none(),
            "another declaration"
        );
        assert!(reusable(&declared, "ab", "d1", None).is_none(), "now without one");
        // A report cut short, or of another schema, is scanned again.
        let text = report_json(r#"{"given":false}"#);
        std::fs::write(&plain, &text[..text.len() / 2]).unwrap();
        assert!(reusable(&plain, "ab", "d1", None).is_none());
        std::fs::write(&plain, text.replace(crate::report::model::SCHEMA, "fwcert-report/1")).unwrap();
        assert!(reusable(&plain, "ab", "d1", None).is_none());
    }

    #[test]
    fn manifest_paths_stay_inside_the_output() {
        assert_eq!(confined(Path::new("../../etc/passwd")), PathBuf::from("etc/passwd"));
        assert_eq!(confined(Path::new("/abs/./x.bin")), PathBuf::from("abs/x.bin"));
    }

    #[test]
    fn the_worst_exit_code_wins() {
        assert_eq!(worst([0, 2, 0]), 2);
        assert_eq!(worst([2, 1, 0]), 1);
        assert_eq!(worst([1, 3]), 3);
        assert_eq!(worst([]), 0);
    }
}
