//! `fwcert batch`: one report per image under a mirrored path, a summary
//! with the worst exit code, reruns that reuse what is done, shards that
//! cover every image exactly once and merge back, and interruption that
//! leaves no temporary file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use fwcert::batch::{self, BatchOptions, Shard, Summary};
use fwcert::{Rules, ScanOptions, Scanner};

/// Both samples, one again in a sub-directory, and a file that is no image.
fn input_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes, _) in fwcert::samples::all() {
        std::fs::write(dir.path().join(name), &bytes).unwrap();
    }
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("sub/again.bin"),
        fwcert::samples::named("camera-default-root.bin").unwrap(),
    )
    .unwrap();
    std::fs::write(dir.path().join("sub/notes.txt"), "not firmware\n").unwrap();
    dir
}

fn scanner() -> Scanner {
    Scanner::new(Arc::new(Rules::embedded().unwrap()), ScanOptions::default()).unwrap()
}

fn run(input: &Path, out: &Path, shard: Option<Shard>) -> Summary {
    let inputs = batch::select(batch::inputs(input).unwrap(), shard);
    let opts = BatchOptions {
        shard,
        ..BatchOptions::default()
    };
    batch::run(&scanner(), &inputs, out, &opts, &AtomicBool::new(false)).unwrap()
}

/// Every file below `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn verdicts(s: &Summary) -> Vec<(String, Option<String>, u8)> {
    s.images
        .iter()
        .map(|i| (i.image.clone(), i.status.clone(), i.exit_code))
        .collect()
}

#[test]
fn a_directory_gives_one_report_per_image_and_a_summary() {
    let input = input_dir();
    let out = tempfile::tempdir().unwrap();
    let s = run(input.path(), out.path(), None);
    assert_eq!(
        listing(out.path()),
        [
            "camera-default-root.bin.json",
            "camera-hardened.bin.json",
            "sub/again.bin.json",
            "sub/notes.txt.json",
            "summary.html",
            "summary.json",
        ]
    );
    // The page for a person links each report, relative to itself.
    let page = std::fs::read_to_string(out.path().join("summary.html")).unwrap();
    assert!(page.contains("<a href=\"sub/again.bin.json\">json</a>"), "{page}");
    assert!(
        page.contains("<td>sub/notes.txt</td><td class=\"analysis-gap\">analysis-gap</td>"),
        "{page}"
    );
    let some = |v: &str| Some(v.to_string());
    assert_eq!(
        verdicts(&s),
        [
            ("camera-default-root.bin".into(), some("fail"), 1),
            ("camera-hardened.bin".into(), some("pass"), 0),
            ("sub/again.bin".into(), some("fail"), 1),
            ("sub/notes.txt".into(), some("analysis-gap"), 2),
        ]
    );
    assert_eq!(s.exit_code, 1);
    assert!(!s.interrupted);
    // The per-standard verdicts and counts come from the report itself.
    let root = &s.images[0];
    assert_eq!(root.standards["etsi-en-303-645"], "FAIL");
    assert!(root.findings["critical"] >= 1, "{:?}", root.findings);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("sub/again.bin.json")).unwrap()).unwrap();
    assert_eq!(report["image"]["sha256"], root.sha256);
    // The summary on disk is the one returned.
    let on_disk: Summary =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(on_disk, s);
}

#[test]
fn a_rerun_reuses_reports_of_the_same_image_and_rules_only() {
    let input = input_dir();
    let out = tempfile::tempdir().unwrap();
    run(input.path(), out.path(), None);
    // One image changes: it is scanned again, the others are reused.
    std::fs::write(
        input.path().join("sub/again.bin"),
        fwcert::samples::named("camera-hardened.bin").unwrap(),
    )
    .unwrap();
    let s = run(input.path(), out.path(), None);
    let reused: Vec<(&str, bool)> = s.images.iter().map(|i| (i.image.as_str(), i.reused)).collect();
    assert_eq!(
        reused,
        [
            ("camera-default-root.bin", true),
            ("camera-hardened.bin", true),
            ("sub/again.bin", false),
            ("sub/notes.txt", true),
        ]
    );
    assert_eq!(s.images[2].status.as_deref(), Some("pass"));
    assert_eq!(s.exit_code, 1, "the reused FAIL still counts");
}

#[test]
fn two_shards_cover_every_image_once_and_merge_to_the_whole() {
    let input = input_dir();
    let whole = tempfile::tempdir().unwrap();
    let all = run(input.path(), whole.path(), None);
    let shards: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut per_shard = Vec::new();
    for (k, dir) in shards.iter().enumerate() {
        let s = run(input.path(), dir.path(), Some(format!("{k}/2").parse().unwrap()));
        assert_eq!(s.shard.as_deref(), Some(format!("{k}/2").as_str()));
        per_shard.push(s.images.len());
    }
    assert_eq!(per_shard, [2, 2]);
    let merged_dir = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = shards.iter().map(|d| d.path().to_path_buf()).collect();
    let merged = batch::merge(&dirs, merged_dir.path()).unwrap();
    assert_eq!(verdicts(&merged), verdicts(&all));
    assert_eq!((merged.exit_code, merged.shard.as_deref()), (all.exit_code, None));
    let sha = |s: &Summary| s.images.iter().map(|i| i.sha256.clone()).collect::<Vec<_>>();
    assert_eq!(sha(&merged), sha(&all));
}

#[test]
fn a_stopped_run_starts_nothing_and_still_writes_its_summary() {
    let input = input_dir();
    let out = tempfile::tempdir().unwrap();
    let inputs = batch::inputs(input.path()).unwrap();
    let stop = AtomicBool::new(true);
    let s = batch::run(&scanner(), &inputs, out.path(), &BatchOptions::default(), &stop).unwrap();
    assert!(s.images.is_empty() && s.interrupted);
    assert_eq!(
        listing(out.path()),
        ["summary.html", "summary.json"],
        "no report and no temporary file"
    );
}

#[test]
fn a_manifest_names_images_and_its_paths_stay_inside_the_output() {
    let input = input_dir();
    let list = input.path().join("list.txt");
    std::fs::write(&list, "# images\ncamera-hardened.bin\n\nsub/../sub/again.bin\n").unwrap();
    let json = input.path().join("list.json");
    std::fs::write(&json, r#"["camera-hardened.bin", {"path": "sub/again.bin"}]"#).unwrap();
    for manifest in [&list, &json] {
        let found: Vec<String> = batch::inputs(manifest)
            .unwrap()
            .iter()
            .map(|i| i.relative.to_string_lossy().replace('\\', "/"))
            .collect();
        assert!(found.contains(&"camera-hardened.bin".to_string()), "{found:?}");
        assert!(found.iter().all(|p| !p.contains("..")), "{found:?}");
    }
    let bad = input.path().join("bad.json");
    std::fs::write(&bad, "[1, 2").unwrap();
    assert!(batch::inputs(&bad).unwrap_err().to_string().contains("bad.json"));
}

/// A manifest entry may name the image's own declaration: the report cites
/// it, judges the image against it, and a rerun with another declaration
/// scans again. A broken declaration is that image's error, not the batch's.
#[test]
fn a_manifest_gives_each_image_its_own_declaration() {
    let input = input_dir();
    let decl = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/declarations/etsi-en-303-645-camera.toml"),
    )
    .unwrap();
    std::fs::write(input.path().join("camera.toml"), &decl).unwrap();
    // The same image declared without its service: undeclared, so it fails.
    std::fs::write(
        input.path().join("incomplete.toml"),
        decl.replace("name = \"ipcam\"", "name = \"other\""),
    )
    .unwrap();
    std::fs::write(input.path().join("broken.toml"), "[[service]]\nname = 3\n").unwrap();
    std::fs::copy(input.path().join("camera-hardened.bin"), input.path().join("copy.bin")).unwrap();
    std::fs::copy(input.path().join("camera-hardened.bin"), input.path().join("third.bin")).unwrap();
    let manifest = input.path().join("list.json");
    std::fs::write(
        &manifest,
        r#"[{"path": "camera-hardened.bin", "declaration": "camera.toml"},
            {"path": "copy.bin", "declaration": "incomplete.toml"},
            {"path": "third.bin", "declaration": "broken.toml"}]"#,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let s = run(&manifest, out.path(), None);
    let by: std::collections::BTreeMap<&str, (u8, Option<&str>)> = s
        .images
        .iter()
        .map(|i| (i.image.as_str(), (i.exit_code, i.error.as_deref())))
        .collect();
    assert_eq!(by["camera-hardened.bin"].0, 0);
    assert_eq!(by["copy.bin"].0, 1, "the undeclared service fails 5.6-5");
    assert_eq!(by["third.bin"].0, 3);
    assert!(
        by["third.bin"].1.unwrap().contains("broken.toml:2"),
        "{:?}",
        by["third.bin"]
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("camera-hardened.bin.json")).unwrap()).unwrap();
    let sha = fwcert::hash::sha256_hex(decl.as_bytes());
    assert_eq!(report["declaration"]["sha256"], sha.as_str());
    // Another declaration for the same image: not reused.
    std::fs::write(input.path().join("camera.toml"), decl.clone() + "\n# revised\n").unwrap();
    let s = run(&manifest, out.path(), None);
    let first = s.images.iter().find(|i| i.image == "camera-hardened.bin").unwrap();
    assert!(!first.reused);
    let s = run(&manifest, out.path(), None);
    let first = s.images.iter().find(|i| i.image == "camera-hardened.bin").unwrap();
    assert!(first.reused, "same image, rules and declaration");
}

#[test]
fn the_command_exits_with_the_worst_images_code() {
    let input = input_dir();
    let out = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_fwcert")).args(args).output().unwrap();
    let o = run(&[
        "batch",
        input.path().to_str().unwrap(),
        "-o",
        out.path().to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("4 image(s), exit code 1"), "{table}");
    assert!(out.path().join("camera-hardened.bin.txt").exists());
    // Merging needs summaries; a directory without one is an error (3).
    let empty = tempfile::tempdir().unwrap();
    let merged = tempfile::tempdir().unwrap();
    let o = run(&[
        "batch",
        "--merge",
        empty.path().to_str().unwrap(),
        "-o",
        merged.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
}
