//! Embed the rule and standards data under `checks/` into the binary, so
//! that `fwcert` is one self-contained file and `rules_digest` covers
//! exactly what the binary will apply, and generate a constant for every
//! rule ID, so that code names rules through `rules::FW_CRED_002` and
//! deleting a rule file that code still fires is a compile error.
//!
//! Every TOML file also gets a JSON twin with the same data: loading the
//! rules parses about 830 KB of TOML at each start, and serde_json reads the
//! same data about three times faster. A file the conversion cannot carry
//! exactly (invalid TOML, a date, a non-finite float) gets no twin and is
//! read, and its error reported, from the TOML as before.

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

/// `FW-CRED-002.toml` → `FW-CRED-002`, for rule files only.
fn rule_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let id = name.strip_suffix(".toml")?;
    let well_formed = id.starts_with("FW-")
        && id.split('-').count() == 3
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    well_formed.then(|| id.to_string())
}

/// `text` as JSON, when TOML's data model maps onto JSON's exactly.
fn json_twin(text: &str) -> Option<String> {
    fn plain(v: &toml::Value) -> bool {
        match v {
            toml::Value::Datetime(_) => false,
            toml::Value::Float(f) => f.is_finite(),
            toml::Value::Array(a) => a.iter().all(plain),
            toml::Value::Table(t) => t.values().all(plain),
            _ => true,
        }
    }
    let table: toml::Table = toml::from_str(text).ok()?;
    if !table.values().all(plain) {
        return None;
    }
    serde_json::to_string(&table).ok()
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
        "/// Every file under `checks/`, as (path relative to `checks/`, contents), sorted by path."
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

    let json_dir = out_dir.join("json");
    fs::create_dir_all(&json_dir).expect("OUT_DIR is writable");
    writeln!(
        f,
        "/// The JSON twin of each file in [`EMBEDDED`], at the same index (`None`: not TOML, or no exact twin)."
    )
    .unwrap();
    writeln!(f, "pub static EMBEDDED_JSON: &[Option<&str>] = &[").unwrap();
    for (i, p) in files.iter().enumerate() {
        let twin = (p.extension().and_then(|e| e.to_str()) == Some("toml"))
            .then(|| json_twin(&fs::read_to_string(p).expect("checks/ files are readable UTF-8")))
            .flatten();
        match twin {
            Some(json) => {
                let path = json_dir.join(format!("{i:04}.json"));
                fs::write(&path, json).expect("OUT_DIR is writable");
                writeln!(f, "    Some(include_str!({:?})),", path.display().to_string()).unwrap();
            }
            None => writeln!(f, "    None,").unwrap(),
        }
    }
    writeln!(f, "];").unwrap();

    let mut ids: Vec<String> = files.iter().filter_map(|p| rule_id(p)).collect();
    ids.sort();
    let mut f = fs::File::create(out_dir.join("rule_ids.rs")).expect("OUT_DIR is writable");
    for id in &ids {
        writeln!(f, "/// Rule `{id}` (`checks/…/{id}.toml`).").unwrap();
        writeln!(f, "pub const {}: &str = {id:?};", id.replace('-', "_")).unwrap();
    }
    writeln!(f, "/// Every rule ID under `checks/`, sorted.").unwrap();
    writeln!(f, "pub const ALL: &[&str] = &[").unwrap();
    for id in &ids {
        writeln!(f, "    {},", id.replace('-', "_")).unwrap();
    }
    writeln!(f, "];").unwrap();
}
