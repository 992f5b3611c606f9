//! `fwcert sbom` (issue 12): CycloneDX 1.5 JSON, validated against the
//! official schema (tests/data/cyclonedx/, from the CycloneDX project's
//! own library), deterministic, with the report's components and CVEs.

use std::process::Command;

mod common;

use fwcert::report::Report;
use fwcert::{ScanOptions, scan_bytes, scan_path};

fn report(name: &str) -> Report {
    let bytes = fwcert::samples::named(name).expect("sample exists");
    scan_bytes(bytes.into(), name, &ScanOptions::default()).expect("sample scans")
}

/// Validates stdin against bom-1.5 (Draft 7), resolving its two
/// references to the files beside it; prints the component and
/// vulnerability counts.
const VALIDATE: &str = r#"
import json, sys, jsonschema
from referencing import Registry, Resource
base = "tests/data/cyclonedx/"
names = ["bom-1.5.SNAPSHOT.schema.json", "spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"]
docs = {n: json.load(open(base + n, encoding="utf-8")) for n in names}
reg = Registry().with_resources(
    [("http://cyclonedx.org/schema/" + n, Resource.from_contents(d)) for n, d in docs.items()])
schema = docs[names[0]]
jsonschema.Draft7Validator.check_schema(schema)
doc = json.load(sys.stdin)
v = jsonschema.Draft7Validator(schema, registry=reg, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
errors = sorted(v.iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)), e.message, file=sys.stderr)
if errors:
    sys.exit(1)
print(len(doc["components"]), len(doc["vulnerabilities"]))
"#;

fn validate(text: &str) -> Option<String> {
    common::python(
        VALIDATE,
        text.as_bytes(),
        "jsonschema, referencing",
        "not valid CycloneDX 1.5",
    )
    .map(|out| out.trim().to_string())
}

#[test]
fn the_samples_sboms_validate_against_cyclonedx_1_5() {
    for name in ["camera-default-root.bin", "camera-hardened.bin"] {
        let r = report(name);
        // Matched CVEs (in triage) and CVEs whose code is absent (not
        // affected) are both VEX statements.
        let cves: usize = r
            .components
            .iter()
            .map(|c| c.vulnerabilities.len() + c.not_affected.len())
            .sum();
        let text = fwcert::sbom::render_cyclonedx(&r);
        if let Some(counts) = validate(&text) {
            assert_eq!(counts, format!("{} {cves}", r.components.len()), "{name}");
        }
    }
}

#[test]
fn the_sbom_is_deterministic_and_says_what_the_report_says() {
    let a = fwcert::sbom::render_cyclonedx(&report("camera-default-root.bin"));
    let b = fwcert::sbom::render_cyclonedx(&report("camera-default-root.bin"));
    assert_eq!(a, b);
    let r = report("camera-default-root.bin");
    let bom = fwcert::sbom::cyclonedx(&r);
    assert_eq!(bom["specVersion"], "1.5");
    assert!(bom.get("metadata").and_then(|m| m.get("timestamp")).is_none());
    let bb = r.components.iter().find(|c| c.name == "busybox").expect("busybox");
    let c = &bom["components"][0];
    assert_eq!(c["name"], "busybox");
    assert_eq!(c["version"], bb.version.as_str());
    assert_eq!(c["purl"], format!("pkg:generic/busybox@{}", bb.version));
    assert_eq!(c["evidence"]["occurrences"][0]["location"], bb.path.as_str());
    assert_eq!(c["evidence"]["identity"]["methods"][0]["technique"], "binary-analysis");
    assert_eq!(c["evidence"]["identity"]["methods"][0]["value"], bb.evidence.as_str());
    let vulns = bom["vulnerabilities"].as_array().expect("a list");
    assert_eq!(vulns.len(), bb.vulnerabilities.len() + bb.not_affected.len());
    for (v, want) in vulns.iter().zip(&bb.vulnerabilities) {
        assert_eq!(v["id"], want.id.as_str());
        assert_eq!(v["affects"][0]["ref"], format!("component:busybox@{}", bb.version));
        assert_eq!(v["analysis"]["state"], "in_triage");
    }
    // The sample's BusyBox has no udhcpc: CVE-2016-2148 is in range but
    // not affected, and VEX says why.
    assert!(bb.not_affected.iter().any(|n| n.id == "CVE-2016-2148"));
    assert!(bb.vulnerabilities.iter().all(|v| v.id != "CVE-2016-2148"));
    for (v, want) in vulns[bb.vulnerabilities.len()..].iter().zip(&bb.not_affected) {
        assert_eq!(v["id"], want.id.as_str());
        assert_eq!(v["affects"][0]["ref"], format!("component:busybox@{}", bb.version));
        assert_eq!(v["analysis"]["state"], "not_affected");
        assert_eq!(v["analysis"]["justification"], "code_not_present");
        assert_eq!(v["analysis"]["detail"], want.reason.as_str());
    }
    let dhcp = vulns.iter().find(|v| v["id"] == "CVE-2016-2148").expect("stated");
    assert_eq!(
        dhcp["analysis"]["detail"],
        "applet udhcpc not compiled into /bin/busybox (read from its applet list)"
    );
    let props = bom["metadata"]["properties"].as_array().unwrap();
    assert!(
        props
            .iter()
            .any(|p| p["name"] == "fwcert:vulnerability-data:snapshot" && p["value"] == "2026-11-28")
    );
}

#[test]
fn the_cli_writes_the_sbom() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bom.json");
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/camera-default-root.bin");
    let st = Command::new(env!("CARGO_BIN_EXE_fwcert"))
        .args(["sbom", sample, "--format", "cyclonedx", "-q", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, fwcert::sbom::render_cyclonedx(&report("camera-default-root.bin")));
    let spdx = Command::new(env!("CARGO_BIN_EXE_fwcert"))
        .args(["sbom", sample, "--format", "spdx", "-q"])
        .output()
        .unwrap();
    assert_eq!(spdx.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&spdx.stdout),
        fwcert::sbom::render_spdx(&report("camera-default-root.bin"))
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_fwcert"))
        .args(["sbom", sample, "--format", "swid"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(3));
}

/// Parses and validates an SPDX 2.3 JSON document with the SPDX
/// project's own Python tools (`pip install spdx-tools`), which check it
/// against the specification; prints the package count.
const VALIDATE_SPDX: &str = r#"
import sys, tempfile, os
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document
data = sys.stdin.read()
with tempfile.NamedTemporaryFile("w", suffix=".spdx.json", delete=False) as f:
    f.write(data)
doc = parse_file(f.name)
os.unlink(f.name)
msgs = validate_full_spdx_document(doc, "SPDX-2.3")
for m in msgs:
    print(m.validation_message, file=sys.stderr)
if msgs:
    sys.exit(1)
print(len(doc.packages))
"#;

#[test]
fn spdx_2_3_validates_with_the_spdx_tools() {
    for name in ["camera-default-root.bin", "camera-hardened.bin"] {
        let r = report(name);
        let text = fwcert::sbom::render_spdx(&r);
        assert_eq!(text, fwcert::sbom::render_spdx(&report(name)), "deterministic");
        let Some(out) = common::python(VALIDATE_SPDX, text.as_bytes(), "spdx_tools", name) else {
            return;
        };
        assert_eq!(
            out.trim(),
            (r.components.len() + 1).to_string(),
            "{name}: the image and each component"
        );
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["creationInfo"]["created"], "2026-11-28T00:00:00Z");
        let bb = &doc["packages"][1];
        assert_eq!(bb["name"], "busybox");
        assert!(
            bb["externalRefs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["referenceType"] == "purl")
        );
    }
}

/// The WR841N's SBOM: kernel, BusyBox, dropbear, uClibc with their CVEs,
/// still valid CycloneDX.
#[test]
fn the_wr841n_sbom_validates() {
    let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
        eprintln!("FWCERT_CORPUS unset: skipped");
        return;
    };
    let path = std::path::Path::new(&dir).join("firmware/tplink-wr841n-v10-3.16.9-150310.bin");
    let r = scan_path(&path, &ScanOptions::default()).expect("scans");
    let text = fwcert::sbom::render_cyclonedx(&r);
    let bom: serde_json::Value = serde_json::from_str(&text).unwrap();
    for name in ["busybox", "dropbear", "linux", "uclibc"] {
        assert!(
            bom["components"].as_array().unwrap().iter().any(|c| c["name"] == name),
            "{name}"
        );
    }
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    assert!(
        vulns
            .iter()
            .any(|v| v["id"] == "CVE-2016-5195" && v["affects"][0]["ref"] == "component:linux@2.6.31")
    );
    validate(&text);
}
