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
    assert_eq!((s.cves, s.kev, s.branches), (93, 6, 31));
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
    // The records added for the samples' and corpus's components: zlib
    // 1.2.0.6/1.2.0 up to 1.2.9, uClibc 0.9.33.2 exactly, Dropbear before
    // 2013.59 and 2020.79, hostapd and wpa_supplicant through 2.7.
    let has = |c: &str, v: &str, id: &str| ids(&d, c, v).contains(&id.to_string());
    assert!(has("zlib", "1.2.8", "CVE-2016-9840") && has("zlib", "1.2.8", "CVE-2016-9841"));
    assert!(!has("zlib", "1.2.0", "CVE-2016-9840") && has("zlib", "1.2.0", "CVE-2016-9841"));
    assert!(!has("zlib", "1.2.9", "CVE-2016-9841"));
    assert!(has("uclibc", "0.9.33.2", "CVE-2017-9728") && !has("uclibc", "0.9.33.1", "CVE-2017-9728"));
    assert!(has("uclibc", "0.9.33.2", "CVE-2017-9729"));
    assert!(has("dropbear", "2012.55", "CVE-2013-4421") && !has("dropbear", "2013.59", "CVE-2013-4421"));
    assert!(has("dropbear", "2012.55", "CVE-2020-36254") && !has("dropbear", "2020.79", "CVE-2020-36254"));
    assert!(has("hostapd", "2.7", "CVE-2019-9496") && has("wpa_supplicant", "2.7", "CVE-2019-9496"));
    assert!(!has("hostapd", "2.8", "CVE-2019-9496"));
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
    assert!(text.contains("94 CVEs (6 known exploited)"), "{text}");
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

/// A one-record NVD 2.0 feed. The IDs of year 0000 are not CVEs: these
/// records test the reader's handling of `cpeMatch` bounds only, with the
/// CPEs of two catalogue components, and never reach the store.
fn nvd_feed(id: &str, matches: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "resultsPerPage": 1, "startIndex": 0, "totalResults": 1,
        "format": "NVD_CVE", "version": "2.0", "timestamp": "2020-01-01T00:00:00.000",
        "vulnerabilities": [{ "cve": {
            "id": id,
            "lastModified": "2020-01-01T00:00:00.000",
            "configurations": [{ "nodes": [{ "operator": "OR", "negate": false, "cpeMatch": matches }] }]
        }}]
    }))
    .unwrap()
}

fn cpe(product: &str, bounds: serde_json::Value) -> serde_json::Value {
    let mut m = serde_json::json!({ "vulnerable": true, "criteria": format!("cpe:2.3:a:{product}:*:*:*:*:*:*:*:*") });
    for (k, v) in bounds.as_object().unwrap() {
        m[k] = v.clone();
    }
    m
}

#[test]
fn an_excluded_nvd_start_is_not_affected_and_an_included_one_is() {
    let excluded = dnsmasq_range(
        serde_json::json!({ "versionStartExcluding": "2.78", "versionEndIncluding": "2.80" }),
        &[("2.78", false), ("2.79", true), ("2.80", true), ("2.81", false)],
    );
    assert_eq!(
        (excluded.after.as_deref(), excluded.from.as_deref()),
        (Some("2.78"), None)
    );
    let included = dnsmasq_range(
        serde_json::json!({ "versionStartIncluding": "2.78", "versionEndExcluding": "2.80" }),
        &[("2.77", false), ("2.78", true), ("2.79", true), ("2.80", false)],
    );
    assert_eq!(
        (included.after.as_deref(), included.from.as_deref()),
        (None, Some("2.78"))
    );
}

/// Import one NVD record for dnsmasq with `bounds`, check which versions
/// it affects (`(version, affected)`), and return the range it became.
fn dnsmasq_range(bounds: serde_json::Value, versions: &[(&str, bool)]) -> fwcert::checks::components::data::Range {
    let feed = nvd_feed("CVE-0000-0001", serde_json::json!([cpe("thekelleys:dnsmasq", bounds)]));
    let (d, _) = import::apply(vulndb::embedded().unwrap(), &feed).unwrap();
    for &(v, hit) in versions {
        assert_eq!(
            ids(&d, "dnsmasq", v).contains(&"CVE-0000-0001".to_string()),
            hit,
            "dnsmasq {v}"
        );
    }
    let c = d.vulnerabilities.cves.iter().find(|c| c.id == "CVE-0000-0001").unwrap();
    c.ranges[0].clone()
}

#[test]
fn two_products_of_one_nvd_record_keep_their_own_ranges() {
    let feed = nvd_feed(
        "CVE-0000-0002",
        serde_json::json!([
            cpe(
                "thekelleys:dnsmasq",
                serde_json::json!({ "versionEndExcluding": "2.80" })
            ),
            cpe(
                "lighttpd:lighttpd",
                serde_json::json!({ "versionEndExcluding": "1.4.50" })
            ),
        ]),
    );
    let (d, s) = import::apply(vulndb::embedded().unwrap(), &feed).unwrap();
    assert_eq!(s.added, 1);
    let hit = |comp: &str, v: &str| ids(&d, comp, v).contains(&"CVE-0000-0002".to_string());
    assert!(hit("dnsmasq", "2.79"));
    assert!(!hit("dnsmasq", "2.80"));
    assert!(hit("lighttpd", "1.4.49"));
    assert!(!hit("lighttpd", "1.4.50"));
    assert!(!hit("lighttpd", "2.79"), "dnsmasq's bound must not apply to lighttpd");

    // A second product joining a CVE the store already has: the old
    // ranges stay with the old product.
    let one = nvd_feed(
        "CVE-0000-0003",
        serde_json::json!([cpe(
            "thekelleys:dnsmasq",
            serde_json::json!({ "versionEndExcluding": "2.80" })
        )]),
    );
    let two = nvd_feed(
        "CVE-0000-0003",
        serde_json::json!([cpe(
            "lighttpd:lighttpd",
            serde_json::json!({ "versionEndExcluding": "1.4.50" })
        )]),
    );
    let (d, _) = import::apply(vulndb::embedded().unwrap(), &one).unwrap();
    let (d, s) = import::apply(d, &two).unwrap();
    assert_eq!(s.updated, 1);
    let hit = |comp: &str, v: &str| ids(&d, comp, v).contains(&"CVE-0000-0003".to_string());
    assert!(hit("dnsmasq", "2.79") && !hit("dnsmasq", "2.80"));
    assert!(hit("lighttpd", "1.4.49") && !hit("lighttpd", "2.79"));
}

/// What the local test server answers to one request (its path and query).
enum Reply {
    Ok(Vec<u8>),
    /// A `Content-Length` of the whole body, then only half of it.
    Truncated(Vec<u8>),
    Status(u16),
}

/// An HTTP/1.1 server on 127.0.0.1 for `db update`, answering each
/// request with `reply(path_and_query)` and closing the connection. It
/// runs until the test process ends.
fn serve(reply: impl Fn(&str) -> Reply + Send + 'static) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map_or(true, |n| n == 0) || h == "\r\n" {
                    break;
                }
            }
            let (status, body, sent) = match reply(&target) {
                Reply::Ok(b) => (200, b.clone(), b.len()),
                Reply::Truncated(b) => (200, b.clone(), b.len() / 2),
                Reply::Status(s) => (s, b"error".to_vec(), 5),
            };
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body[..sent]);
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    format!("http://{addr}")
}

/// How the test server answers, per case.
type Responder = Box<dyn Fn(&str) -> Reply + Send>;

/// An NVD page: the CVE records given, from `start` of `total`.
fn nvd_page(records: &[serde_json::Value], start: usize, total: usize) -> Vec<u8> {
    let v: Vec<serde_json::Value> = records.iter().map(|r| serde_json::json!({ "cve": r })).collect();
    serde_json::to_vec(&serde_json::json!({
        "resultsPerPage": v.len(), "startIndex": start, "totalResults": total,
        "format": "NVD_CVE", "version": "2.0", "timestamp": "2026-12-05T10:00:00.000",
        "vulnerabilities": v
    }))
    .unwrap()
}

fn query_value<'q>(target: &'q str, key: &str) -> Option<&'q str> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// The NVD side of a good update: dnsmasq's query has two pages (the
/// record of CVE-2019-14513, then pppd's CVE-2020-8597 from the feed
/// fixture, as if both named dnsmasq), every other product none.
fn good_nvd(target: &str) -> Reply {
    let rec: serde_json::Value = serde_json::from_slice(&fixture("nvd-CVE-2019-14513.json")).unwrap();
    let feed: serde_json::Value = serde_json::from_slice(&fixture("nvd-feed.json")).unwrap();
    let pppd = feed["vulnerabilities"][0]["cve"].clone();
    let cpe = query_value(target, "virtualMatchString").unwrap_or("");
    let start: usize = query_value(target, "startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if cpe.contains("thekelleys%3Adnsmasq") || cpe.contains("thekelleys:dnsmasq") {
        match start {
            0 => Reply::Ok(nvd_page(&[rec], 0, 2)),
            _ => Reply::Ok(nvd_page(&[pppd], 1, 2)),
        }
    } else {
        Reply::Ok(nvd_page(&[], 0, 0))
    }
}

fn update(db: &Path, base: &str) -> std::process::Output {
    fwcert(&[
        "db",
        "update",
        "--db",
        db.to_str().unwrap(),
        "--nvd-url",
        &format!("{base}/nvd"),
        "--kev-url",
        &format!("{base}/kev.json"),
        "--interval",
        "0",
    ])
}

#[test]
fn db_update_downloads_pages_and_the_kev_catalogue_and_replaces_the_store() {
    let base = serve(|t| {
        if t.starts_with("/kev.json") {
            Reply::Ok(fixture("kev-excerpt.json"))
        } else {
            good_nvd(t)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.sqlite");
    let out = update(&db, &base);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let products = vulndb::update::match_strings().len();
    assert!(
        text.contains(&format!(
            "{} NVD pages (2 CVE records of catalogue products): 1 added, 1 updated",
            products + 1
        )),
        "{text}"
    );
    let status = fwcert(&["db", "status", "--db", db.to_str().unwrap()]);
    let s = String::from_utf8_lossy(&status.stdout);
    assert!(s.contains("snapshot:     2026-12-05"), "{s}");
    let shipped = vulndb::status(&vulndb::embedded().unwrap());
    assert!(
        s.contains(&format!("{} CVEs ({} known exploited)", shipped.cves + 1, shipped.kev)),
        "{s}"
    );
    let d = vulndb::read(&db).unwrap();
    assert!(ids(&d, "dnsmasq", "2.75").contains(&"CVE-2019-14513".to_string()));
    assert!(!ids(&d, "dnsmasq", "2.76").contains(&"CVE-2019-14513".to_string()));
}

#[test]
fn a_broken_db_update_leaves_the_store_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lab.sqlite");
    std::fs::write(&db, vulndb::EMBEDDED).unwrap();
    let cases: Vec<(&str, Responder)> = vec![
        (
            "a truncated NVD page",
            Box::new(|t: &str| match good_nvd(t) {
                Reply::Ok(b) if t.contains("dnsmasq") => Reply::Truncated(b),
                r => r,
            }),
        ),
        (
            "an HTTP 500",
            Box::new(|t: &str| {
                if t.contains("dnsmasq") {
                    Reply::Status(500)
                } else {
                    good_nvd(t)
                }
            }),
        ),
        (
            "invalid JSON",
            Box::new(|t: &str| {
                if t.contains("dnsmasq") {
                    Reply::Ok(b"{\"format\": \"NVD_CVE\", ".to_vec())
                } else {
                    good_nvd(t)
                }
            }),
        ),
        (
            "a truncated KEV catalogue",
            Box::new(|t: &str| {
                if t.starts_with("/kev.json") {
                    Reply::Truncated(fixture("kev-excerpt.json"))
                } else {
                    good_nvd(t)
                }
            }),
        ),
    ];
    for (what, reply) in cases {
        let base = serve(reply);
        let files_before = listing(dir.path());
        let out = update(&db, &base);
        assert_ne!(out.status.code(), Some(0), "{what}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("update stopped; ") && err.contains("is unchanged"),
            "{what}: {err}"
        );
        assert_eq!(std::fs::read(&db).unwrap(), vulndb::EMBEDDED, "{what}");
        assert_eq!(
            listing(dir.path()),
            files_before,
            "{what}: no temporary file left behind"
        );
    }
}

#[test]
fn the_readme_states_the_shipped_stores_numbers() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let s = vulndb::status(&vulndb::embedded().unwrap());
    let nvd = std::fs::read_dir(root().join("data/vulndb/nvd"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count();
    let want = format!(
        "holds {} CVEs ({} in the CISA KEV catalogue {}) of {} components and {} end-of-life branches, read on {}: the checked facts of `checks/components/*.toml` and {nvd} NVD 2.0 records",
        s.cves, s.kev, s.kev_catalog, s.components, s.branches, s.snapshot
    );
    assert!(readme.contains(&want), "README.md should say: {want}");
    let catalogue = fwcert::inventory::components::catalog().components.len();
    assert!(
        readme.contains(&format!(
            "({catalogue} components in `checks/components/components.toml`"
        )),
        "README.md: the catalogue holds {catalogue} components"
    );
}

/// Only `db update` may open a connection: the HTTP client appears in
/// `src/vulndb/update.rs` and nowhere else, and no scan stage reaches it.
#[test]
fn only_db_update_uses_the_network() {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root().join("src"), &mut files);
    let mut users: Vec<String> = files
        .iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            ["ureq", "std::net", "TcpStream"].iter().any(|w| text.contains(w))
        })
        .map(|p| p.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    users.sort();
    assert_eq!(users, ["src/vulndb/update.rs"]);
    for stage in ["unpack", "inventory", "checks", "standards", "report"] {
        let mut files = Vec::new();
        walk(&root().join("src").join(stage), &mut files);
        for f in files {
            assert!(
                !std::fs::read_to_string(&f).unwrap().contains("vulndb::update"),
                "{}",
                f.display()
            );
        }
    }
}
