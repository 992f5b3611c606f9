//! The `fwcert` binary: parse arguments, call the library, map the verdict
//! to an exit code. Everything else lives in the library.

mod cli;
mod status_line;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};

use cli::{
    BatchArgs, BudgetArgs, Cli, Command, DbAction, ExitCode, JobsArg, RulesAction, SbomArgs, ScanArgs, ScanSettings,
    UnpackArgs,
};
use fwcert::policy::{Baseline, Gating, Policy, Today};
use fwcert::progress::Progress;
use fwcert::report::{listing, rules_view};
use fwcert::standards::Declaration;
use fwcert::unpack::budget::Limits;
use fwcert::{Rules, ScanOptions, Scanner};
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
            ExitCode::Error as i32
        }
    };
    std::process::exit(code);
}

/// The process exit code of a command.
fn run(cli: Cli) -> anyhow::Result<i32> {
    let code = match cli.command {
        Command::Scan(args) => scan(args)?,
        Command::Batch(args) => return batch(args),
        Command::Unpack(args) => unpack(args)?,
        Command::Rules { action } => rules(action)?,
        Command::Keygen { output } => keygen(&output)?,
        Command::Verify { report, key, signature } => verify(&report, &key, signature.as_deref())?,
        Command::Db { action } => db(action)?,
        Command::Sbom(args) => sbom(args)?,
    };
    Ok(code as i32)
}

/// Size the global rayon pool, which the library's parallel steps and the
/// password cracker use; without `--jobs`, rayon takes one thread per core
/// (or `RAYON_NUM_THREADS`). The unpacker recurses into nested containers
/// on these threads: they get the main thread's 8 MiB of stack, not the
/// 2 MiB a spawned thread gets by default (only the pages used are ever
/// committed).
fn set_jobs(args: &JobsArg) -> anyhow::Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.map_or(0, |n| n.get()))
        .stack_size(8 << 20)
        .build_global()
        .context("cannot start worker threads")?;
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

/// The policy: `--policy FILE`, else `./fwcert.toml` when it exists
/// (unless `--no-policy`).
fn read_policy(args: &ScanSettings) -> anyhow::Result<Option<Policy>> {
    let path = match (&args.policy, args.no_policy) {
        (Some(p), _) => p.clone(),
        (None, true) => return Ok(None),
        (None, false) => {
            let p = std::path::PathBuf::from("fwcert.toml");
            if !p.is_file() {
                return Ok(None);
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read policy {}", path.display()))?;
    Ok(Some(Policy::parse(&path.display().to_string(), &text)?))
}

/// The rules and options `scan` and `batch` share.
fn settings(args: &ScanSettings) -> anyhow::Result<(Rules, ScanOptions)> {
    let policy = read_policy(args)?;
    let profile = if !args.standard.is_empty() {
        args.standard.join(",")
    } else if let Some(p) = &args.profile {
        p.clone()
    } else if let Some(p) = policy.as_ref().filter(|p| !p.standards.is_empty()) {
        p.standards.join(",")
    } else if let Some(p) = policy.as_ref().and_then(|p| p.profile.clone()) {
        p
    } else {
        ScanOptions::default().profile
    };
    let fail_on = args.fail_on.or(policy.as_ref().and_then(|p| p.fail_on));
    let baseline = match &args.baseline {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read baseline {}", path.display()))?;
            Some(Baseline::parse(&path.display().to_string(), &bytes)?)
        }
        None => None,
    };
    let today = match &policy {
        Some(p) if !p.waivers.is_empty() => Some(Today::resolve(args.today.as_deref())?),
        _ => None,
    };
    let gating = (policy.is_some() || baseline.is_some()).then(|| {
        Arc::new(Gating {
            policy,
            baseline,
            today,
        })
    });
    let mut opts = ScanOptions {
        profile,
        gating,
        fail_on,
        redact_secrets: args.redact_secrets,
        ..ScanOptions::default()
    };
    opts.unpack.limits = limits(&args.budget);
    opts.checks.crack_time = Duration::from_secs(args.crack_time);
    opts.checks.yara_time = Duration::from_secs(args.yara_time);
    let mut custom_yara = Vec::new();
    for path in &args.yara {
        let files = fwcert::checks::yara::read_custom(path)
            .with_context(|| format!("cannot read YARA rules from {}", path.display()))?;
        custom_yara.extend(files);
    }
    let rules = if custom_yara.is_empty() {
        Rules::embedded()?
    } else {
        Rules::with_custom_yara(&custom_yara)?
    };
    let rules = match &args.db {
        Some(path) => {
            let (data, sha) = fwcert::vulndb::open(path)
                .with_context(|| format!("cannot use vulnerability store {}", path.display()))?;
            let name = path
                .file_name()
                .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            rules.with_store(data, &name, &sha)
        }
        None => rules,
    };
    if let Some(path) = &args.declaration {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read declaration {}", path.display()))?;
        let declaration = Declaration::parse(&path.display().to_string(), &text, &rules.catalog)?;
        opts.declaration = Some(Arc::new(declaration));
    }
    Ok((rules, opts))
}

fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    // Checked before the scan: a signature needs the canonical JSON in a file.
    let signing = match (&args.sign, &args.output) {
        (None, _) => None,
        (Some(_), _) if args.format != fwcert::report::Format::Json => {
            bail!(
                "--sign signs the canonical JSON report: use --format json (render other views with a second scan; reports are deterministic)"
            )
        }
        (Some(_), None) => bail!("--sign needs -o FILE (the signature goes to FILE.sig)"),
        (Some(key), Some(out)) => {
            let pem = std::fs::read_to_string(key).with_context(|| format!("cannot read key {}", key.display()))?;
            Some((pem, signature_path(out)))
        }
    };
    // The image is read before any other thread starts: the page faults of
    // a fresh buffer as large as the image are most of reading it, and a
    // thread mapping its own memory at the same time held them up (a
    // router image's 4 MB took 2.5 ms alone, 4–5 ms beside the rules
    // starting to load).
    let image = fwcert::scan::read_path(&args.image)?;
    set_jobs(&args.jobs)?;
    let status = terminal_progress(args.quiet);
    let unpack_options = fwcert::unpack::UnpackOptions {
        limits: limits(&args.settings.budget),
        progress: progress_of(&status),
    };
    // Unpacking and the inventory need no rules: compile them (YARA,
    // standards, the vulnerability store, a declaration) on another thread
    // meanwhile.
    let report = std::thread::scope(|s| -> anyhow::Result<fwcert::report::Report> {
        let loading = s.spawn(|| load_beside(|| settings(&args.settings)));
        let unpacked = fwcert::scan::unpack_read(&image, &args.image, &unpack_options);
        let inventory = fwcert::scan::inventory_of_read(&unpacked, &image, &unpack_options);
        let (rules, mut opts) = loading
            .join()
            .map_err(|_| anyhow::anyhow!("loading the rules failed unexpectedly"))??;
        opts.unpack = unpack_options.clone();
        let scanner = Scanner::new(Arc::new(rules), opts)?;
        let report = scanner.scan_inventory(&unpacked, &inventory)?;
        left_to_exit(scanner);
        left_to_exit(inventory);
        left_to_exit(unpacked);
        Ok(report)
    })?;
    drop(status);
    // On standard output the text view is coloured; anstream strips the
    // colours again when standard output is not a terminal or NO_COLOR is set.
    let coloured = args.output.is_none() && args.format == fwcert::report::Format::Text;
    let rendered = if coloured {
        fwcert::report::text::render_styled(&report, args.lang, true)
    } else {
        fwcert::report::render_in(&report, args.format, args.lang)
    };
    match &args.output {
        Some(path) => std::fs::write(path, &rendered).with_context(|| format!("cannot write {}", path.display()))?,
        None if coloured => {
            let mut out = anstream::stdout();
            out.write_all(rendered.as_bytes())?;
            out.flush()?;
        }
        None => std::io::stdout().write_all(rendered.as_bytes())?,
    }
    if let Some((pem, sig_path)) = signing {
        let sig = fwcert::signing::sign(&pem, rendered.as_bytes())?;
        std::fs::write(&sig_path, sig).with_context(|| format!("cannot write {}", sig_path.display()))?;
    }
    Ok(match report.outcome.exit_code {
        0 => ExitCode::Pass,
        1 => ExitCode::Fail,
        _ => ExitCode::Inconclusive,
    })
}

/// Leave `value`'s memory to the process exit, which follows the report's
/// writing: freeing a scan's unpacked files, inventory and compiled rules
/// (thousands of allocations, wasmtime's code memory) took about 2.3 ms on
/// one thread at the end of a router image's 0.14 s scan, after all the
/// work that both cores share. Only for values the process keeps until it ends;
/// `batch` scans many images and frees each.
fn left_to_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Run `load` on a one-thread pool of its own, beside a scan that keeps the
/// global pool busy. In the global pool the loader's parallel steps would
/// queue behind the unpacking and finish with it or after it (at 90–107 ms
/// of a router image's 0.14 s scan, sometimes holding up the checks); on
/// its own thread the operating system gives it a share of the cores from
/// the start, and there it was done at 29–54 ms.
fn load_beside<T: Send>(load: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(load),
        Err(_) => load(),
    }
}

/// `fwcert batch`: the exit code is the worst image's. SIGINT and SIGTERM
/// stop new images from starting; a second one ends the process at once.
fn batch(args: BatchArgs) -> anyhow::Result<i32> {
    let summary = if args.merge.is_empty() {
        set_jobs(&args.jobs)?;
        let (rules, opts) = settings(&args.settings)?;
        let scanner = Scanner::new(Arc::new(rules), opts)?;
        let input = args
            .input
            .as_deref()
            .context("an input directory or manifest is needed")?;
        let inputs = fwcert::batch::select(fwcert::batch::inputs(input)?, args.shard);
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // A second signal while the flag is set ends the process.
            signal_hook::flag::register_conditional_shutdown(signal, 130, stop.clone())
                .context("cannot install a signal handler")?;
            signal_hook::flag::register(signal, stop.clone()).context("cannot install a signal handler")?;
        }
        let options = fwcert::batch::BatchOptions {
            shard: args.shard,
            extra_formats: args.format.clone(),
        };
        fwcert::batch::run(&scanner, &inputs, &args.output, &options, &stop)?
    } else {
        fwcert::batch::merge(&args.merge, &args.output)?
    };
    if !args.quiet {
        std::io::stdout().write_all(fwcert::batch::table(&summary).as_bytes())?;
    }
    Ok(i32::from(summary.exit_code))
}

fn unpack(args: UnpackArgs) -> anyhow::Result<ExitCode> {
    let data =
        fwcert::unpack::read_image(&args.image).with_context(|| format!("cannot read {}", args.image.display()))?;
    // With an output directory, the process confines itself to it before
    // anything is decoded and before the worker threads start.
    let confinement = match &args.output {
        Some(dir) => {
            if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
                bail!("{} exists and is not empty", dir.display());
            }
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            Some(fwcert::unpack::sandbox::confine_to(dir))
        }
        None => None,
    };
    set_jobs(&args.jobs)?;
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
    out.write_all(listing::unpack_listing(&u).as_bytes())?;
    if let (Some(dir), Some(confinement)) = (&args.output, &confinement) {
        let written = fwcert::unpack::materialize::write_all(&u, dir)?;
        writeln!(out, "wrote {} files under {}", written.len(), dir.display())?;
        writeln!(out, "{}", confinement.describe())?;
    }
    Ok(if u.complete() {
        ExitCode::Pass
    } else {
        ExitCode::Inconclusive
    })
}

/// `REPORT.sig`: where a report's signature goes.
fn signature_path(report: &std::path::Path) -> std::path::PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".sig");
    name.into()
}

/// `fwcert keygen -o NAME`: NAME (private, owner-only) and NAME.pub.
fn keygen(output: &std::path::Path) -> anyhow::Result<ExitCode> {
    let public_path = {
        let mut p = output.as_os_str().to_owned();
        p.push(".pub");
        std::path::PathBuf::from(p)
    };
    for p in [output, public_path.as_path()] {
        if p.exists() {
            bail!("{} exists; not overwriting a key", p.display());
        }
    }
    let (private, public) = fwcert::signing::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(output)
        .and_then(|mut f| f.write_all(private.as_bytes()))
        .with_context(|| format!("cannot write {}", output.display()))?;
    std::fs::write(&public_path, public).with_context(|| format!("cannot write {}", public_path.display()))?;
    println!(
        "private key {} (keep it secret), public key {}",
        output.display(),
        public_path.display()
    );
    Ok(ExitCode::Pass)
}

/// `fwcert verify REPORT --key PUB`: exit 0 when it verifies, 1 when not.
fn verify(
    report: &std::path::Path,
    key: &std::path::Path,
    signature: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let sig_path = signature.map_or_else(|| signature_path(report), std::path::Path::to_path_buf);
    let bytes = std::fs::read(report).with_context(|| format!("cannot read {}", report.display()))?;
    let pem = std::fs::read_to_string(key).with_context(|| format!("cannot read key {}", key.display()))?;
    let sig =
        std::fs::read_to_string(&sig_path).with_context(|| format!("cannot read signature {}", sig_path.display()))?;
    match fwcert::signing::verify(&pem, &bytes, &sig) {
        Ok(doc) => {
            println!(
                "OK: {} is signed by Ed25519 key {} (report SHA-256 {})",
                report.display(),
                doc.public_key,
                doc.report_sha256
            );
            Ok(ExitCode::Pass)
        }
        Err(e @ (fwcert::signing::SignError::PublicKey(_) | fwcert::signing::SignError::Document(_))) => Err(e.into()),
        Err(e) => {
            println!("FAILED: {}: {e}", report.display());
            Ok(ExitCode::Fail)
        }
    }
}

fn rules(action: RulesAction) -> anyhow::Result<ExitCode> {
    let rules = Rules::embedded()?;
    let text = match action {
        RulesAction::List { standard: None } => rules_view::list(&rules),
        RulesAction::List { standard: Some(id) } => match rules_view::standard(&rules, &id) {
            Some(text) => text,
            None => bail!("no standard {id} (see `fwcert rules profiles`)"),
        },
        RulesAction::Explain { id } => match rules_view::explain(&rules, &id) {
            Some(text) => text,
            None => bail!("no rule {id} (see `fwcert rules list`)"),
        },
        RulesAction::Profiles => rules_view::profiles(&rules),
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(ExitCode::Pass)
}

/// `fwcert db status|import|update`.
fn db(action: DbAction) -> anyhow::Result<ExitCode> {
    match action {
        DbAction::Status { db } => {
            let (data, origin, sha) = match &db {
                Some(p) => {
                    let (d, sha) = fwcert::vulndb::open(p)
                        .with_context(|| format!("cannot read vulnerability store {}", p.display()))?;
                    (d, p.display().to_string(), sha)
                }
                None => (
                    fwcert::vulndb::embedded()?,
                    "embedded".to_string(),
                    fwcert::hash::sha256_hex(fwcert::vulndb::EMBEDDED),
                ),
            };
            let s = fwcert::vulndb::status(&data);
            println!("store:        {origin}");
            println!("sha256:       {sha}");
            println!("snapshot:     {} (vulnerability data)", s.snapshot);
            println!("KEV:          catalogue {}", s.kev_catalog);
            println!("end of life:  judged on {}", s.eol_snapshot);
            println!(
                "counts:       {} CVEs ({} known exploited) of {} components; {} end-of-life branches",
                s.cves, s.kev, s.components, s.branches
            );
            println!("sources:      {}", s.sources.join(", "));
            Ok(ExitCode::Pass)
        }
        DbAction::Update {
            db,
            nvd_url,
            kev_url,
            interval,
        } => db_update(&db, nvd_url, kev_url, interval),
        DbAction::Import { db, files } => {
            let mut data = store_or_embedded(&db)?;
            for f in &files {
                let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
                let (next, s) = fwcert::vulndb::import::apply(data, &bytes)
                    .with_context(|| format!("{}: not imported; the store is unchanged", f.display()))?;
                data = next;
                println!(
                    "{}: {} — {} added, {} updated, {} not about a known component",
                    f.display(),
                    s.kind,
                    s.added,
                    s.updated,
                    s.skipped
                );
            }
            replace_store(&data, &db)?;
            Ok(ExitCode::Pass)
        }
    }
}

/// The store at `db`, or the embedded one when there is no file yet.
fn store_or_embedded(db: &std::path::Path) -> anyhow::Result<fwcert::checks::components::data::VulnData> {
    Ok(if db.exists() {
        fwcert::vulndb::read(db).with_context(|| format!("cannot read vulnerability store {}", db.display()))?
    } else {
        fwcert::vulndb::embedded()?
    })
}

/// `fwcert db update`: download, import in memory, then replace the store.
fn db_update(
    db: &std::path::Path,
    nvd_url: String,
    kev_url: String,
    interval: Option<f64>,
) -> anyhow::Result<ExitCode> {
    use fwcert::vulndb::update::{self, Sources, Step};
    let api_key = std::env::var("NVD_API_KEY").ok().filter(|k| !k.is_empty());
    let interval = match interval {
        Some(s) if s.is_finite() && s >= 0.0 => Duration::from_secs_f64(s),
        Some(s) => bail!("--interval {s}: a number of seconds, 0 or more"),
        None if api_key.is_some() => Duration::from_secs(1),
        None => Sources::default().interval,
    };
    let sources = Sources {
        nvd_url,
        kev_url,
        api_key,
        interval,
        ..Sources::default()
    };
    let data = store_or_embedded(db)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = update::run(data, &sources, &mut |step| match step {
        Step::Products(n) => {
            bar.set_length(n + 1);
            bar.set_message("NVD");
        }
        Step::Product(cpe) => {
            bar.inc(1);
            bar.set_message(cpe.to_string());
        }
        Step::Kev => bar.set_message("CISA KEV"),
    });
    bar.finish_and_clear();
    let (data, out) = result.with_context(|| format!("update stopped; {} is unchanged", db.display()))?;
    println!(
        "{} NVD pages ({} CVE records of catalogue products): {} added, {} updated; KEV flagged {}",
        out.pages, out.nvd_records, out.added, out.updated, out.kev_flagged
    );
    replace_store(&data, db)?;
    Ok(ExitCode::Pass)
}

/// Write `data` over the store at `db` (atomically) and say what it holds
/// now: the last step of `db import` and `db update`.
fn replace_store(data: &fwcert::checks::components::data::VulnData, db: &Path) -> anyhow::Result<()> {
    fwcert::vulndb::replace(data, db).with_context(|| format!("cannot write {}", db.display()))?;
    let s = fwcert::vulndb::status(data);
    println!(
        "{}: {} CVEs ({} known exploited), snapshot {}, KEV {}",
        db.display(),
        s.cves,
        s.kev,
        s.snapshot,
        s.kev_catalog
    );
    Ok(())
}

/// `fwcert sbom`: the scan's components as CycloneDX 1.5 (vulnerabilities
/// as VEX) or SPDX 2.3. Exit 0 when written, whatever the image's verdict.
fn sbom(args: SbomArgs) -> anyhow::Result<ExitCode> {
    set_jobs(&args.jobs)?;
    let (rules, mut opts) = settings(&args.settings)?;
    let status = terminal_progress(args.quiet);
    opts.unpack.progress = progress_of(&status);
    let report = Scanner::new(Arc::new(rules), opts)?.scan_path(&args.image)?;
    drop(status);
    let text = if args.format == "spdx" {
        fwcert::sbom::render_spdx(&report)
    } else {
        fwcert::sbom::render_cyclonedx(&report)
    };
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::Pass)
}
