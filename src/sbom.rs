//! Software bills of materials from a scan: CycloneDX 1.5 JSON, with the
//! known vulnerabilities as VEX statements, and SPDX 2.3 JSON.
//!
//! Built from the canonical report (its components, their evidence and
//! the CVEs the store matched), so the SBOM says exactly what the report
//! says. Deterministic: no timestamp, the serial number derived from the
//! image's hash and the rules digest (which covers the vulnerability
//! store), components and vulnerabilities in the report's order.
//!
//! The VEX state of every matched CVE is `in_triage`: fwcert matches
//! versions, it does not prove exploitability; the caveats that lower a
//! match's confidence (vendor suffix, kernel version only, applet, range
//! ambiguity) are the analysis detail. A CVE in range whose code is not
//! in the component (a BusyBox applet not compiled in) is `not_affected`
//! with the justification `code_not_present`.

use serde_json::{Value, json};

use crate::report::Report;
use crate::report::model::ComponentOut;

/// `urn:uuid:` from the first 16 bytes of SHA-256(image hash, rules
/// digest), marked as a name-based UUID (RFC 9562 version 8 layout).
fn serial(r: &Report) -> String {
    let h = crate::hash::sha256_hex(format!("{}\n{}", r.image.sha256, r.tool.rules_digest).as_bytes());
    let mut b: Vec<u8> = hex::decode(&h[..32]).unwrap_or_else(|_| vec![0; 16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

fn component_ref(c: &ComponentOut) -> String {
    format!("component:{}@{}", c.name, c.version)
}

/// The CycloneDX component type of a catalogue name.
fn kind(name: &str) -> &'static str {
    match name {
        "linux" => "operating-system",
        "u-boot" => "firmware",
        "busybox" | "dropbear" | "openssh" | "dnsmasq" | "lighttpd" | "nginx" | "boa" | "thttpd" | "mini_httpd"
        | "hostapd" | "wpa_supplicant" | "miniupnpd" | "goahead" | "uhttpd" | "vsftpd" | "ntp" | "openvpn"
        | "samba" | "avahi" | "net-snmp" | "mosquitto" | "pppd" | "apache-httpd" | "minidlna" | "stunnel" | "bash"
        | "tcpdump" | "strongswan" | "rsync" | "wget" | "iptables" => "application",
        _ => "library",
    }
}

fn technique(method: crate::inventory::components::Method) -> &'static str {
    use crate::inventory::components::Method;
    match method {
        Method::PackageDatabase => "manifest-analysis",
        Method::VersionString | Method::EmbeddedString => "binary-analysis",
        Method::FileName => "filename",
    }
}

fn confidence(c: &ComponentOut) -> f64 {
    match c.confidence {
        "high" => 0.9,
        "medium" => 0.6,
        _ => 0.3,
    }
}

fn component(c: &ComponentOut) -> Value {
    let mut o = json!({
        "type": kind(&c.name),
        "bom-ref": component_ref(c),
        "name": c.name,
        "version": c.version,
    });
    if let Some(p) = &c.purl {
        o["purl"] = json!(p);
    }
    if let Some(p) = &c.cpe {
        o["cpe"] = json!(p);
    }
    let conf = confidence(c);
    o["evidence"] = json!({
        "identity": {
            "field": "version",
            "confidence": conf,
            "methods": [{ "technique": technique(c.method), "confidence": conf, "value": c.evidence }],
        },
        "occurrences": [{ "location": c.path }],
    });
    let mut props = vec![
        json!({ "name": "fwcert:container", "value": c.container.to_string() }),
        json!({ "name": "fwcert:offset", "value": c.offset.to_string() }),
    ];
    if let Some(e) = &c.eol {
        props.push(json!({ "name": "fwcert:eol:state", "value": e.state }));
        if let Some(d) = &e.date {
            props.push(json!({ "name": "fwcert:eol:date", "value": d }));
        }
        props.push(json!({ "name": "fwcert:eol:snapshot", "value": e.snapshot }));
    }
    o["properties"] = Value::Array(props);
    o
}

fn vulnerabilities(r: &Report) -> Vec<Value> {
    let mut out = Vec::new();
    for c in &r.components {
        for v in &c.vulnerabilities {
            let mut ratings = Vec::new();
            if let Some(score) = v.cvss {
                let method = if v.cvss_version.as_deref() == Some("2") {
                    "CVSSv2"
                } else {
                    "CVSSv3"
                };
                // f32 → shortest decimal, so 9.8 stays 9.8.
                let score: f64 = format!("{score}").parse().unwrap_or(0.0);
                ratings.push(json!({ "score": score, "severity": v.severity.unwrap_or("unknown"), "method": method }));
            } else if let Some(s) = v.severity {
                ratings.push(json!({ "severity": s, "method": "other" }));
            }
            let mut detail = v.caveats.clone();
            if v.caveats.is_empty() {
                detail.push("version match".to_string());
            }
            let mut props = vec![
                json!({ "name": "fwcert:kev", "value": v.kev.to_string() }),
                json!({ "name": "fwcert:sources", "value": v.sources.join(", ") }),
                json!({ "name": "fwcert:snapshot", "value": v.snapshot }),
            ];
            if !v.fixed.is_empty() {
                props.push(json!({ "name": "fwcert:fixed", "value": v.fixed.join(", ") }));
            }
            let mut o = json!({
                "bom-ref": format!("vulnerability:{}:{}", v.id, component_ref(c)),
                "id": v.id,
                "source": { "name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{}", v.id) },
                "analysis": { "state": "in_triage", "detail": detail.join("; ") },
                "affects": [{ "ref": component_ref(c) }],
                "properties": props,
            });
            if !ratings.is_empty() {
                o["ratings"] = Value::Array(ratings);
            }
            out.push(o);
        }
        // In range, but the code is not there: VEX says so, so that a
        // consumer matching by version alone does not re-raise it.
        for n in &c.not_affected {
            out.push(json!({
                "bom-ref": format!("vulnerability:{}:{}", n.id, component_ref(c)),
                "id": n.id,
                "source": { "name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{}", n.id) },
                "analysis": { "state": "not_affected", "justification": n.justification, "detail": n.reason },
                "affects": [{ "ref": component_ref(c) }],
                "properties": [
                    { "name": "fwcert:sources", "value": n.sources.join(", ") },
                    { "name": "fwcert:snapshot", "value": n.snapshot },
                ],
            }));
        }
    }
    out
}

/// The CycloneDX 1.5 document of a report.
pub fn cyclonedx(r: &Report) -> Value {
    let d = &r.tool.vulnerability_data;
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial(r),
        "version": 1,
        "metadata": {
            "tools": { "components": [{ "type": "application", "name": r.tool.name, "version": r.tool.version }] },
            "component": {
                "type": "firmware",
                "bom-ref": "image",
                "name": r.image.name,
                "hashes": [{ "alg": "SHA-256", "content": r.image.sha256 }],
            },
            "properties": [
                { "name": "fwcert:rules-digest", "value": r.tool.rules_digest },
                { "name": "fwcert:vulnerability-data:origin", "value": d.origin },
                { "name": "fwcert:vulnerability-data:snapshot", "value": d.snapshot },
                { "name": "fwcert:vulnerability-data:kev-catalog", "value": d.kev_catalog },
                { "name": "fwcert:end-of-life:snapshot", "value": d.eol_snapshot },
            ],
        },
        "components": r.components.iter().map(component).collect::<Vec<_>>(),
        "dependencies": [{ "ref": "image", "dependsOn": r.components.iter().map(component_ref).collect::<Vec<_>>() }],
        "vulnerabilities": vulnerabilities(r),
    })
}

/// [`cyclonedx`] as pretty JSON with a final newline.
pub fn render_cyclonedx(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&cyclonedx(r)).unwrap_or_default();
    s.push('\n');
    s
}

/// The SPDX 2.3 document of a report. SPDX requires `created`; it is the
/// vulnerability data's snapshot date (what the document's facts are as
/// of), never the wall clock, so the same scan gives the same document.
/// The namespace is derived from the image's hash and the rules digest.
pub fn spdx(r: &Report) -> Value {
    let d = &r.tool.vulnerability_data;
    let namespace = format!(
        "https://spdx.org/spdxdocs/fwcert-{}-{}",
        r.image.sha256,
        r.tool.rules_digest.get(..16).unwrap_or(&r.tool.rules_digest)
    );
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Image",
        "name": r.image.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "FIRMWARE",
        "checksums": [{ "algorithm": "SHA256", "checksumValue": r.image.sha256 }],
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Image",
    })];
    for (i, c) in r.components.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}", i + 1);
        let mut refs = Vec::new();
        if let Some(p) = &c.purl {
            refs.push(
                json!({ "referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p }),
            );
        }
        if let Some(p) = &c.cpe {
            refs.push(json!({ "referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": p }));
        }
        for v in &c.vulnerabilities {
            refs.push(json!({
                "referenceCategory": "SECURITY",
                "referenceType": "advisory",
                "referenceLocator": format!("https://nvd.nist.gov/vuln/detail/{}", v.id),
                "comment": format!("{}: matched by version ({}); data of {}", v.id,
                    if v.caveats.is_empty() { "no caveat".to_string() } else { v.caveats.join("; ") }, v.snapshot),
            }));
        }
        let mut pkg = json!({
            "SPDXID": id,
            "name": c.name,
            "versionInfo": c.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "comment": format!(
                "{} at {} (offset {}) in {}: `{}`, {} confidence",
                match c.method {
                    crate::inventory::components::Method::PackageDatabase => "package database entry",
                    crate::inventory::components::Method::VersionString => "version string",
                    crate::inventory::components::Method::EmbeddedString => "module vermagic",
                    crate::inventory::components::Method::FileName => "file name",
                },
                c.path,
                c.offset,
                c.container,
                c.evidence,
                c.confidence
            ),
        });
        if !refs.is_empty() {
            pkg["externalRefs"] = Value::Array(refs);
        }
        packages.push(pkg);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Image",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": format!("SPDXRef-Package-{}", i + 1),
        }));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("fwcert SBOM of {}", r.image.name),
        "documentNamespace": namespace,
        "creationInfo": {
            "created": format!("{}T00:00:00Z", d.snapshot),
            "creators": [format!("Tool: {}-{}", r.tool.name, r.tool.version)],
            "comment": format!(
                "created is the vulnerability data's snapshot date, not the time of the scan; vulnerability store {} ({}), rules digest {}",
                d.origin, d.sha256, r.tool.rules_digest
            ),
        },
        "documentDescribes": ["SPDXRef-Image"],
        "packages": packages,
        "relationships": relationships,
    })
}

/// [`spdx`] as pretty JSON with a final newline.
pub fn render_spdx(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&spdx(r)).unwrap_or_default();
    s.push('\n');
    s
}
