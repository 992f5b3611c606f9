//! Unpack benchmarks: signature-scan throughput and whole-image unpack time,
//! compared with `unsquashfs` and `7z` when they are installed.
//!
//! Run with `cargo bench --bench unpack`. Set `FWCERT_CORPUS` to the shared
//! corpus folder to include real firmware. Each figure is the best of
//! several runs (the least disturbed by the machine's other work); peers are
//! timed end to end as processes, fwcert both in memory and writing files
//! with `unpack -o`'s writer, so the comparison with tools that must write
//! to disk is fair.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fwcert::unpack::{Bytes, UnpackOptions, materialize, signature_hits, unpack};

const RUNS: usize = 5;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `len` bytes of machine code and data: this benchmark's own executable,
/// repeated.
fn elf_bytes(len: usize) -> Vec<u8> {
    let exe = std::env::current_exe()
        .and_then(std::fs::read)
        .unwrap_or_else(|_| random_bytes(1 << 20));
    exe.iter().copied().cycle().take(len).collect()
}

fn scan_throughput() {
    for (what, data) in [
        ("random", random_bytes(256 << 20)),
        ("zeros", vec![0u8; 256 << 20]),
        ("elf", elf_bytes(256 << 20)),
    ] {
        let (t, hits) = best_of(RUNS, || signature_hits(&data).len());
        let gbps = data.len() as f64 / t.as_secs_f64() / 1e9;
        println!(
            "signature scan  {what:<8} {:>6} MiB  {:>8.1} ms  {gbps:>6.2} GB/s  ({hits} unvalidated hits)",
            data.len() >> 20,
            t.as_secs_f64() * 1e3
        );
    }
}

/// Whether `program` can be started at all (peers print help to different
/// streams with different exit codes, so only spawning is tested).
fn peer(program: &str) -> bool {
    Command::new(program).arg("-h").output().is_ok()
}

/// Time unsquashfs and fwcert on each SquashFS found directly in the image
/// bytes (not inside a payload or a file), carved out to its own file.
fn compare_carved_squashfs(data: &[u8], u: &fwcert::unpack::Unpacked, scratch: &Path) {
    if !peer("unsquashfs") {
        return;
    }
    for c in &u.containers {
        let in_image_bytes = c.chain.links().iter().all(|l| l.label.is_empty());
        if !c.format.starts_with("squashfs") || !in_image_bytes || c.chain.depth() == 1 {
            continue;
        }
        let Some(bytes) = data.get(c.offset as usize..(c.offset + c.size) as usize) else {
            continue;
        };
        let carved = scratch.join(format!("carved-{:x}.sqfs", c.offset));
        if std::fs::write(&carved, bytes).is_err() {
            continue;
        }
        let carved_data = Bytes::copy_from_slice(bytes);
        let (ours, _) = best_of(RUNS, || {
            unpack(carved_data.clone(), "carved", &UnpackOptions::default())
        });
        let mut k = 0;
        let theirs = time_process(
            Command::new("unsquashfs")
                .args(["-no-progress", "-q", "-f", "-d"])
                .arg({
                    k += 1;
                    scratch.join(format!("unsquashfs-carved-{k}"))
                })
                .arg(&carved),
        );
        println!(
            "  carved {} at {:#x} ({} B): fwcert in memory {:>7.1} ms | unsquashfs {}",
            c.format,
            c.offset,
            c.size,
            ours.as_secs_f64() * 1e3,
            theirs.map_or("refused it".to_string(), |t| format!(
                "{:>7.1} ms",
                t.as_secs_f64() * 1e3
            ))
        );
    }
}

fn time_process(cmd: &mut Command) -> Option<Duration> {
    let (t, ok) = best_of(RUNS, || cmd.output().is_ok_and(|o| o.status.success()));
    ok.then_some(t)
}

fn unpack_file(path: &Path) {
    let Ok(bytes) = std::fs::read(path) else {
        println!("{}: unreadable, skipped", path.display());
        return;
    };
    let data = Bytes::from(bytes);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (t_mem, u) = best_of(RUNS, || unpack(data.clone(), &name, &UnpackOptions::default()));
    let files: usize = u.filesystems.iter().map(|f| f.tree.len()).sum();
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut n = 0;
    let (t_disk, _) = best_of(RUNS, || {
        n += 1;
        materialize::write_all(&u, &scratch.path().join(format!("fwcert-{n}"))).map(|w| w.len())
    });
    let t_disk = t_disk + t_mem;
    print!(
        "unpack  {name:<44} {:>8} B  {:>4} entries  in memory {:>7.1} ms  to disk {:>7.1} ms",
        data.len(),
        files,
        t_mem.as_secs_f64() * 1e3,
        t_disk.as_secs_f64() * 1e3
    );
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext.starts_with("sqfs") && peer("unsquashfs") {
        let mut k = 0;
        let t = time_process(
            Command::new("unsquashfs")
                .args(["-no-progress", "-q", "-f", "-d"])
                .arg({
                    k += 1;
                    scratch.path().join(format!("unsquashfs-{k}"))
                })
                .arg(path),
        );
        match t {
            Some(t) => print!("  | unsquashfs {:>7.1} ms", t.as_secs_f64() * 1e3),
            None => print!("  | unsquashfs refused it"),
        }
    }
    if ["tar", "zip", "cpio", "gz", "xz", "bz2"].contains(&ext) && peer("7z") {
        let out = scratch.path().join("7z");
        let t = time_process(
            Command::new("7z")
                .args(["x", "-y", "-bd"])
                .arg(format!("-o{}", out.display()))
                .arg(path),
        );
        if let Some(t) = t {
            print!("  | 7z {:>7.1} ms", t.as_secs_f64() * 1e3);
        }
    }
    println!();
    compare_carved_squashfs(&data, &u, scratch.path());
}

fn corpus_files() -> Vec<PathBuf> {
    let Some(root) = std::env::var_os("FWCERT_CORPUS").map(PathBuf::from) else {
        println!("FWCERT_CORPUS unset: corpus images skipped");
        return Vec::new();
    };
    let mut out = Vec::new();
    for sub in ["firmware", "formats"] {
        if let Ok(dir) = std::fs::read_dir(root.join(sub)) {
            out.extend(dir.filter_map(|e| e.ok()).map(|e| e.path()));
        }
    }
    out.sort();
    out
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too,
    // in which case a short smoke run is enough.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    scan_throughput();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&samples)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files.extend(corpus_files());
    for f in files {
        unpack_file(&f);
    }
}
