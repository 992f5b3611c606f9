//! Whole-scan benchmark, stage by stage (unpack, inventory, checks),
//! for every sample and corpus image and for files named on the command
//! line (`cargo bench --bench scan -- /tmp/big.sqfs`).
//!
//! Each figure is the best of several runs. Peak memory is not measured
//! here (it is per process): use `/usr/bin/time -v fwcert scan …`, as
//! `docs/benchmarks.md` does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fwcert::Rules;
use fwcert::checks::{self, CheckOptions};
use fwcert::inventory::{Inventory, components};
use fwcert::unpack::{UnpackOptions, unpack};
use rayon::prelude::*;

const RUNS: usize = 3;

fn timed<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let t = Instant::now();
    let out = f();
    (t.elapsed(), out)
}

fn scan_file(path: &Path, rules: &Rules) {
    let Ok(data) = fwcert::unpack::read_image(path) else {
        println!("{}: unreadable, skipped", path.display());
        return;
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut best = [Duration::MAX; 4];
    let mut files = 0;
    let mut found = (0, 0, 0);
    let mut split = (Duration::ZERO, Duration::ZERO);
    for _ in 0..RUNS {
        let (t_unpack, u) = timed(|| unpack(data.clone(), &name, &UnpackOptions::default()));
        let (t_inv, inv) = timed(|| Inventory::build(&u));
        let (t_checks, _) =
            timed(|| checks::run(&inv, &rules.checks, &CheckOptions::default()).expect("embedded rules resolve"));
        // Identification (every file through the catalogue's patterns,
        // package databases and file names) and matching (every
        // detection against the store), on their own: the part of the
        // inventory and checks stages the components family costs.
        let (t_identify, detections) = timed(|| {
            inv.files
                .par_iter()
                .enumerate()
                .flat_map_iter(|(i, f)| components::detect(i, &f.path, f.data))
                .collect::<Vec<_>>()
        });
        // Matching: the inventory's components (one per name and
        // version) against the store, as the family does.
        let (t_match, matched) = timed(|| {
            inv.components
                .iter()
                .map(|d| {
                    fwcert::checks::components::assess(&inv, &rules.checks.vulndata, d)
                        .cves
                        .len()
                })
                .sum::<usize>()
        });
        let t_comp = t_identify + t_match;
        found = (detections.len(), inv.components.len(), matched);
        split = (t_identify, t_match);
        files = inv.files.len();
        for (b, t) in best.iter_mut().zip([t_unpack, t_inv, t_checks, t_comp]) {
            *b = (*b).min(t);
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "scan  {name:<44} {:>10} B  {files:>5} files  unpack {:>8.1} ms  inventory {:>8.1} ms  checks {:>8.1} ms  \
         components {:>6.1} ms (identify {:.1} ms: {} detections, {} components; match {:.1} ms: {} CVEs)",
        data.len(),
        ms(best[0]),
        ms(best[1]),
        ms(best[2]),
        ms(best[3]),
        ms(split.0),
        found.0,
        found.1,
        ms(split.1),
        found.2,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rules = Rules::embedded().expect("embedded rules load");
    let mut files: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if files.is_empty() {
        if let Some(root) = std::env::var_os("FWCERT_CORPUS").map(PathBuf::from)
            && let Ok(dir) = std::fs::read_dir(root.join("firmware"))
        {
            files.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
        }
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        if let Ok(dir) = std::fs::read_dir(samples) {
            files.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
        }
        files.sort();
    }
    for f in files {
        scan_file(&f, &rules);
    }
}
