//! Fuzz entry points shared by the targets in `fuzz_targets/`.
//!
//! Each parser has its own target (`format_<name>`), so that libFuzzer's
//! coverage feedback concentrates on one format at a time; `unpack` fuzzes
//! the whole engine, recursion and all. Budgets are small so a target spends
//! its time exploring inputs, not decompressing bombs.

use std::time::Duration;

use fwcert::unpack::budget::{Budget, Limits};
use fwcert::unpack::format::ExtractCtx;
use fwcert::unpack::formats::FORMATS;
use fwcert::unpack::{UnpackOptions, unpack as run_unpack};

fn limits() -> Limits {
    Limits {
        max_depth: 8,
        min_total_bytes: 32 << 20,
        max_total_bytes: 32 << 20,
        max_files: 10_000,
        max_extractor_time: Duration::from_secs(5),
        max_total_time: Duration::from_secs(10),
        ..Limits::default()
    }
}

/// Parse and, if the header is accepted, extract `data` as every format row
/// called `name`. A panic anywhere is the bug libFuzzer looks for.
pub fn format(name: &str, data: &[u8]) {
    let rows: Vec<_> = FORMATS.iter().filter(|f| f.name == name).collect();
    assert!(!rows.is_empty(), "no format named {name}");
    for f in rows {
        if let Ok(parsed) = (f.parse)(data) {
            let mut budget = Budget::new(limits(), data.len() as u64);
            let mut ctx = ExtractCtx {
                deadline: budget.extractor_deadline(),
                source: Default::default(),
                budget: &mut budget,
            };
            // A deferred check (a checksum) reads the bytes as well.
            if let Ok(x) = (f.extract)(data, &parsed, &mut ctx)
                && let Some(verify) = x.verify
            {
                verify.run();
            }
        }
    }
}

/// The whole engine on `data`, with the completeness invariant: every
/// container that is not complete says why.
pub fn unpack(data: &[u8]) {
    let options = UnpackOptions {
        limits: limits(),
        ..UnpackOptions::default()
    };
    let u = run_unpack(data.to_vec().into(), "fuzz.bin", &options);
    for c in &u.containers {
        assert!(c.status == fwcert::unpack::Status::Complete || !c.problems.is_empty());
    }
}
