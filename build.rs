//! Embed the rule and standards data under `checks/` into the binary, so
//! that `fwcert` is one self-contained file and `rules_digest` covers
//! exactly what the binary will apply.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("toml" | "yar")) {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let checks = root.join("checks");
    println!("cargo:rerun-if-changed=checks");
    let mut files = Vec::new();
    collect(&checks, &mut files);
    files.sort();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut f = fs::File::create(out_dir.join("embedded_checks.rs")).expect("OUT_DIR is writable");
    writeln!(
        f,
        "/// Every file under `checks/`, as (path relative to `checks/`, contents)."
    )
    .unwrap();
    writeln!(f, "pub static EMBEDDED: &[(&str, &str)] = &[").unwrap();
    for p in &files {
        println!("cargo:rerun-if-changed={}", p.display());
        let rel = p
            .strip_prefix(&checks)
            .expect("collected under checks/")
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(f, "    ({rel:?}, include_str!({:?})),", p.display().to_string()).unwrap();
    }
    writeln!(f, "];").unwrap();
}
