//! The `fwcert` binary: parse arguments, call the library, map the verdict
//! to an exit code. Everything else lives in the library.

mod cli;
mod status_line;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;

use cli::{BudgetArgs, Cli, Command, ExitCode, JobsArg, RulesAction, ScanArgs, UnpackArgs};
use fwcert::checks::RuleSet;
use fwcert::progress::Progress;
use fwcert::standards::PROFILES;
use fwcert::unpack::GapKind;
use fwcert::unpack::budget::Limits;
use fwcert::{ScanOptions, Verdict};
use status_line::StatusLine;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Error
            } else {
                ExitCode::Pass
            };
            let _ = e.print();
            std::process::exit(code as i32);
        }
    };
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fwcert: error: {e:#}");
            ExitCode::Error
        }
    };
    std::process::exit(code as i32);
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Scan(args) => scan(args),
        Command::Unpack(args) => unpack(args),
        Command::Rules { action } => rules(action),
    }
}

/// Size the global rayon pool, which the library's parallel steps and the
/// password cracker use; without `--jobs`, rayon takes one thread per core
/// (or `RAYON_NUM_THREADS`).
fn set_jobs(args: &JobsArg) -> anyhow::Result<()> {
    if let Some(n) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.get())
            .build_global()
            .context("cannot start worker threads")?;
    }
    Ok(())
}

fn limits(args: &BudgetArgs) -> Limits {
    Limits {
        max_depth: args.max_depth,
        max_files: args.max_files,
        max_expansion: args.max_expansion,
        max_extractor_time: Duration::from_secs(args.extractor_timeout),
        ..Limits::default()
    }
}

/// A status line on standard error when it is a terminal and not `--quiet`.
fn terminal_progress(quiet: bool) -> Option<Arc<StatusLine>> {
    if quiet {
        None
    } else {
        StatusLine::for_terminal().map(Arc::new)
    }
}

fn progress_of(status: &Option<Arc<StatusLine>>) -> Progress {
    match status {
        Some(s) => Progress::new(s.clone()),
        None => Progress::default(),
    }
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    set_jobs(&args.jobs)?;
    let mut opts = ScanOptions {
        profile: args.profile.clone(),
        fail_on: args.fail_on,
        redact_secrets: args.redact_secrets,
        ..ScanOptions::default()
    };
    opts.unpack.limits = limits(&args.budget);
    let status = terminal_progress(args.quiet);
    opts.unpack.progress = progress_of(&status);
    opts.checks.crack_time = Duration::from_secs(args.crack_time);
    opts.checks.yara_time = Duration::from_secs(args.yara_time);
    for path in &args.yara {
        let files = fwcert::checks::yara::read_custom(path)
            .with_context(|| format!("cannot read YARA rules from {}", path.display()))?;
        opts.custom_yara.extend(files);
    }
    let report = fwcert::scan_path(&args.image, &opts)?;
    drop(status);
    let rendered = fwcert::report::render(&report, args.format);
    match &args.output {
        Some(path) => std::fs::write(path, rendered).with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().write_all(rendered.as_bytes())?,
    }
    Ok(match report.verdict {
        Verdict::Pass => ExitCode::Pass,
        Verdict::Fail => ExitCode::Fail,
        Verdict::Inconclusive | Verdict::NotTestable => ExitCode::Inconclusive,
    })
}

fn unpack(args: UnpackArgs) -> anyhow::Result<ExitCode> {
    set_jobs(&args.jobs)?;
    let data =
        fwcert::unpack::read_image(&args.image).with_context(|| format!("cannot read {}", args.image.display()))?;
    let name = args
        .image
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "image".into());
    let status = terminal_progress(args.quiet);
    let options = fwcert::unpack::UnpackOptions {
        limits: limits(&args.budget),
        progress: progress_of(&status),
    };
    let u = fwcert::unpack::unpack(data, &name, &options);
    drop(status);
    let mut out = std::io::stdout().lock();
    for c in &u.containers {
        let depth = c.chain.depth().saturating_sub(1);
        writeln!(
            out,
            "{:indent$}{:<9} {:#010x} {:>10}  {}  {}",
            "",
            format!("{:?}", c.status).to_lowercase(),
            c.offset,
            c.size,
            c.format,
            c.description,
            indent = depth * 2
        )?;
        for p in &c.problems {
            writeln!(out, "{:indent$}  ! {p}", "", indent = depth * 2)?;
        }
    }
    for f in &u.filesystems {
        writeln!(
            out,
            "filesystem {}: {} entries{}",
            f.chain,
            f.tree.len(),
            if f.is_rootfs() { " (root filesystem)" } else { "" }
        )?;
    }
    for g in u.gaps.iter().filter(|g| g.kind == GapKind::Unidentified) {
        writeln!(
            out,
            "gap       {:#010x} {:>10}  unidentified bytes in {} (entropy {:.2} bits/byte)",
            g.offset, g.size, g.location, g.entropy
        )?;
    }
    for i in &u.incidents {
        writeln!(out, "! {}: {}", i.location, i.message)?;
    }
    if let Some(dir) = &args.output {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            bail!("{} exists and is not empty", dir.display());
        }
        let written = fwcert::unpack::materialize::write_all(&u, dir)?;
        writeln!(out, "wrote {} files under {}", written.len(), dir.display())?;
    }
    Ok(if u.complete() {
        ExitCode::Pass
    } else {
        ExitCode::Inconclusive
    })
}

fn rules(action: RulesAction) -> anyhow::Result<ExitCode> {
    let rules = RuleSet::embedded()?;
    let mut out = std::io::stdout().lock();
    match action {
        RulesAction::List => {
            for r in rules.rules.values() {
                writeln!(out, "{}  {:<8} {:<26} {}", r.id, r.severity.as_str(), r.name, r.title)?;
            }
        }
        RulesAction::Explain { id } => {
            let Some(r) = rules.rule(&id) else {
                bail!("no rule {id} (see `fwcert rules list`)");
            };
            writeln!(
                out,
                "{} {} ({}, {:?})\n{}\n{}\n",
                r.id,
                r.name,
                r.severity.as_str(),
                r.status,
                r.title,
                r.title_zh
            )?;
            writeln!(
                out,
                "What it does\n  {}\n\nWhy it matters\n  {}\n\nExample\n  {}\n\nFix\n  {}\n",
                r.doc.what, r.doc.why, r.doc.example, r.doc.fix
            )?;
            writeln!(out, "Controls and clauses")?;
            for c in &r.controls {
                writeln!(out, "  {c}")?;
                for s in rules.catalog.standards.values() {
                    for q in s.requirements.iter().filter(|q| q.controls.contains(c)) {
                        writeln!(out, "    {} {}  {}", s.standard.name, q.clause, q.title)?;
                    }
                }
            }
        }
        RulesAction::Profiles => {
            for (name, what, _) in PROFILES {
                writeln!(out, "{name:<10} {what}")?;
            }
            writeln!(out, "\nstandards:")?;
            for s in rules.catalog.standards.values() {
                writeln!(
                    out,
                    "  {:<24} {} {}",
                    s.standard.id, s.standard.name, s.standard.version
                )?;
            }
        }
    }
    Ok(ExitCode::Pass)
}
