//! The vulnerability store (issue 12): the embedded store is the one the
//! repository's data builds, the importers read the four formats a lab
//! copies in, and a broken import leaves the old store as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use fwcert::checks::components::data::VulnData;
use fwcert::inventory::version::Version;
use fwcert::vulndb::{self, import};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(root().join("tests/data/vulndb").join(name)).expect("fixture reads")
}

fn ids(d: &VulnData, component: &str, version: &str) -> Vec<String> {
    let v = Version::parse(version).expect("version");
    d.cves_for(component, &v).iter().map(|c| c.id.clone()).collect()
}

fn without(mut d: VulnData, id: &str) -> VulnData {
    d.vulnerabilities.cves.retain(|c| c.id != id);
    d
}

#[test]
fn the_embedded_store_is_what_the_repository_data_builds_byte_for_byte() {
    let built = vulndb::build_from_repository(root()).expect("the repository's data builds");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.sqlite");
    vulndb::write(&built, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes == vulndb::EMBEDDED,
        "data/vulndb/vulndb.sqlite is stale: run `cargo run --example build-vulndb`"
    );
}

#[test]
fn the_embedded_store_holds_the_seed_facts_and_the_nvd_records() {
    let d = vulndb::embedded().expect("the embedded store reads");
    let s = vulndb::status(&d);
    assert_eq!((s.cves, s.kev, s.branches), (86, 6, 31));
    assert_eq!(
        (s.snapshot.as_str(), s.kev_catalog.as_str()),
        ("2026-11-28", "2025.08.25")
    );
    // The NVD records: pppd 2.4.2–2.4.8, expat before 2.4.9, json-c
    // before 0.15-20200726.
    assert!(ids(&d, "pppd", "2.4.7").contains(&"CVE-2020-8597".to_string()));
    assert!(!ids(&d, "pppd", "2.4.9").contains(&"CVE-2020-8597".to_string()));
    assert!(!ids(&d, "pppd", "2.4.1").contains(&"CVE-2020-8597".to_string()));
    assert!(ids(&d, "expat", "2.2.6").contains(&"CVE-2022-40674".to_string()));
    assert!(!ids(&d, "expat", "2.4.9").contains(&"CVE-2022-40674".to_string()));
    assert!(ids(&d, "json-c", "0.12-1").contains(&"CVE-2020-12762".to_string()));
    let pppd = d.vulnerabilities.cves.iter().find(|c| c.id == "CVE-2020-8597").unwrap();
    assert_eq!(
        (pppd.cvss, pppd.kev, pppd.sources.clone()),
        (Some(9.8), false, vec!["NVD".to_string()])
    );
    // The seed data reads back unchanged.
    let seed = VulnData::from_files(fwcert::rules::EMBEDDED).unwrap();
    for c in &seed.vulnerabilities.cves {
        let got = d
            .vulnerabilities
            .cves
            .iter()
            .find(|x| x.id == c.id)
            .expect("seed CVE kept");
        assert_eq!(
            serde_json::to_value(got).unwrap(),
            serde_json::to_value(c).unwrap(),
            "{}",
            c.id
        );
    }
}

#[test]
fn an_nvd_feed_adds_records_and_a_second_import_only_updates() {
    let base = without(without(vulndb::embedded().unwrap(), "CVE-2020-8597"), "CVE-2022-40674");
    let (d, s) = import::apply(base, &fixture("nvd-feed.json")).expect("imports");
    assert_eq!((s.kind, s.added, s.updated, s.skipped), ("NVD", 2, 0, 0));
    assert!(ids(&d, "pppd", "2.4.8").contains(&"CVE-2020-8597".to_string()));
    let (d, s) = import::apply(d, &fixture("nvd-feed.json")).expect("imports again");
    assert_eq!((s.added, s.updated), (0, 2));
    let c = d
        .vulnerabilities
        .cves
        .iter()
        .find(|c| c.id == "CVE-2022-40674")
        .unwrap();
    assert_eq!(c.sources, ["NVD"]);
    // The feed's date is older than the store's snapshot: unchanged.
    assert_eq!(d.vulnerabilities.snapshot, "2026-11-28");
}

#[test]
fn a_cve5_record_reads_affected_and_unaffected_versions() {
    let (d, s) = import::apply(
        without(vulndb::embedded().unwrap(), "CVE-2023-38545"),
        &fixture("cve5-CVE-2023-38545.json"),
    )
    .expect("imports");
    assert_eq!((s.kind, s.added), ("CVE5", 1));
    for (v, hit) in [("7.68.0", false), ("7.69.0", true), ("8.3.0", true), ("8.4.0", false)] {
        assert_eq!(
            ids(&d, "curl", v).contains(&"CVE-2023-38545".to_string()),
            hit,
            "curl {v}"
        );
    }
    let c = d
        .vulnerabilities
        .cves
        .iter()
        .find(|c| c.id == "CVE-2023-38545")
        .unwrap();
    assert_eq!(c.sources, ["CVE5"]);
    assert!(d.vulnerabilities.sources.contains_key("CVE5"));
    // Over the seed entry: its checked range stays, the source is added.
    let (d, s) = import::apply(vulndb::embedded().unwrap(), &fixture("cve5-CVE-2023-38545.json")).unwrap();
    assert_eq!(s.updated, 1);
    let c = d
        .vulnerabilities
        .cves
        .iter()
        .find(|c| c.id == "CVE-2023-38545")
        .unwrap();
    assert_eq!(c.sources, ["CURL", "NVD", "CVE5"]);
    assert_eq!(c.ranges.len(), 1);
    assert_eq!(c.ranges[0].through.as_deref(), Some("8.3.0"));
}

#[test]
fn an_osv_entry_is_imported_with_its_ecosystem_caveat() {
    let (d, s) = import::apply(
        vulndb::embedded().unwrap(),
        &fixture("osv-BREW-glibc-CVE-2024-2961.json"),
    )
    .unwrap();
    assert_eq!((s.kind, s.added), ("OSV", 1));
    assert!(ids(&d, "glibc", "2.38").contains(&"CVE-2024-2961".to_string()));
    let c = d.vulnerabilities.cves.iter().find(|c| c.id == "CVE-2024-2961").unwrap();
    assert_eq!(c.sources, ["OSV"]);
    assert_eq!(c.note.as_deref(), Some("OSV BREW-glibc-CVE-2024-2961"));
    assert!(
        c.ambiguous
            .as_deref()
            .is_some_and(|a| a.contains("Homebrew ecosystem versions"))
    );
    // The entry's `modified` date is before the store's snapshot.
    assert_eq!(d.vulnerabilities.snapshot, "2026-11-28");
}

#[test]
fn the_kev_catalogue_flags_the_cves_it_lists() {
    let mut base = vulndb::embedded().unwrap();
    for c in base.vulnerabilities.cves.iter_mut().filter(|c| c.id == "CVE-2016-5195") {
        c.kev = false;
        c.sources.retain(|s| s != "KEV");
    }
    let (d, s) = import::apply(base, &fixture("kev-excerpt.json")).unwrap();
    assert_eq!((s.kind, s.updated, s.skipped), ("KEV", 1, 0));
    let c = d.vulnerabilities.cves.iter().find(|c| c.id == "CVE-2016-5195").unwrap();
    assert!(c.kev && c.sources.iter().any(|s| s == "KEV"));
    assert_eq!(d.vulnerabilities.kev_snapshot, "2025-08-25");
}

#[test]
fn files_that_are_not_data_are_refused() {
    let d = vulndb::embedded().unwrap();
    let feed = fixture("nvd-feed.json");
    assert!(matches!(
        import::apply(d.clone(), &feed[..feed.len() / 2]),
        Err(import::ImportError::Json(_))
    ));
    assert!(matches!(
        import::apply(d.clone(), b"{\"hello\": 1}"),
        Err(import::ImportError::UnknownFormat)
    ));
    // A catalogue older than the store's is refused, not merged.
    let old = String::from_utf8(fixture("kev-excerpt.json"))
        .unwrap()
        .replace("\"2025.08.25\"", "\"2020.01.01\"");
    assert!(matches!(
        import::apply(d, old.as_bytes()),
        Err(import::ImportError::Invalid(_))
    ));
}

fn fwcert(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fwcert"))
        .args(args)
        .output()
        .expect("runs")
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn a_truncated_import_leaves_the_old_store_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.sqlite");
    let db_s = db.to_str().unwrap();
    let good = root().join("tests/data/vulndb/osv-BREW-glibc-CVE-2024-2961.json");
    let out = fwcert(&["db", "import", "--db", db_s, good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = std::fs::read(&db).unwrap();
    // A good file, then a download cut short: nothing is applied.
    let feed = fixture("nvd-feed.json");
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &feed[..feed.len() - 100]).unwrap();
    let files_before = listing(dir.path());
    let kev = root().join("tests/data/vulndb/kev-excerpt.json");
    let out = fwcert(&[
        "db",
        "import",
        "--db",
        db_s,
        kev.to_str().unwrap(),
        cut.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cut.json: not imported; the store is unchanged"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert_eq!(listing(dir.path()), files_before, "no temporary file left behind");
    // And the store still reads, with what the first import brought.
    let out = fwcert(&["db", "status", "--db", db_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("87 CVEs (6 known exploited)"), "{text}");
}

#[test]
fn a_store_that_fails_its_checks_never_replaces_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.sqlite");
    std::fs::write(&db, vulndb::EMBEDDED).unwrap();
    let mut bad = vulndb::embedded().unwrap();
    bad.vulnerabilities.cves[0].ranges.clear();
    assert!(vulndb::replace(&bad, &db).is_err());
    assert_eq!(std::fs::read(&db).unwrap(), vulndb::EMBEDDED);
    assert_eq!(listing(dir.path()), std::slice::from_ref(&db));
    // A file that is not a store is refused when read.
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, &vulndb::EMBEDDED[..4096]).unwrap();
    assert!(vulndb::read(&junk).is_err());
}

#[test]
fn scan_with_a_lab_store_records_it_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.sqlite");
    let good = root().join("tests/data/vulndb/osv-BREW-glibc-CVE-2024-2961.json");
    assert!(
        fwcert(&["db", "import", "--db", db.to_str().unwrap(), good.to_str().unwrap()])
            .status
            .success()
    );
    let sample = root().join("samples/camera-hardened.bin");
    let out = fwcert(&[
        "scan",
        sample.to_str().unwrap(),
        "--format",
        "json",
        "--db",
        db.to_str().unwrap(),
    ]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let v = &r["tool"]["vulnerability_data"];
    assert_eq!(v["origin"], "lab.sqlite");
    assert_eq!(v["sha256"], fwcert::hash::sha256_hex(&std::fs::read(&db).unwrap()));
    assert_eq!(v["snapshot"], "2026-11-28");
    let embedded = fwcert(&["scan", sample.to_str().unwrap(), "--format", "json"]);
    let e: serde_json::Value = serde_json::from_slice(&embedded.stdout).unwrap();
    assert_eq!(e["tool"]["vulnerability_data"]["origin"], "embedded");
    assert_ne!(
        e["tool"]["rules_digest"], r["tool"]["rules_digest"],
        "the digest covers the store"
    );
}
