//! SARIF 2.1.0 view for code-scanning services (GitHub, GitLab): one run,
//! one rule descriptor per fwcert rule that has a finding, one result per
//! finding. Everything is copied from the [`Report`]; the only mappings are
//! fixed tables (severity → SARIF `level` and GitHub's `security-severity`)
//! and the percent-encoding of a path into a URI reference.
//!
//! Deterministic: rules are sorted by ID, results follow the report's
//! finding order, and object keys are written in a fixed order.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::model::{FindingOut, Report};
use crate::checks::rule::Severity;

/// The schema URI written into `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The `uriBaseId` of every result: paths are relative to the root of the
/// filesystem (or payload) that the result's container chain names.
pub const URI_BASE: &str = "FWROOT";

/// The key of the finding's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "fwcert/v1";

/// SARIF `level` of a severity: critical and high are errors, medium a
/// warning, low and info notes.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning's `security-severity` (a CVSS-like score it maps
/// back to critical ≥ 9.0, high ≥ 7.0, medium ≥ 4.0, low > 0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

pub fn render(r: &Report) -> String {
    let log = build(r);
    // Serialising a `Value` to a String cannot fail (string keys only).
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// The SARIF log as a JSON value (the tests validate it against the schema).
pub fn build(r: &Report) -> Value {
    // One descriptor per rule ID, in ID order; its index is what results cite.
    let mut by_rule: BTreeMap<&str, Vec<&FindingOut>> = BTreeMap::new();
    for f in &r.findings {
        by_rule.entry(f.id.as_str()).or_default().push(f);
    }
    let index: BTreeMap<&str, usize> = by_rule.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let rules: Vec<Value> = by_rule
        .values()
        .filter_map(|fs| fs.first().map(|f| rule(f, fs)))
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        .map(|f| result(f, index.get(f.id.as_str()).copied().unwrap_or(0), r))
        .collect();

    let mut run_props = Map::new();
    run_props.insert("image".into(), json!(r.image.name));
    run_props.insert("imageSha256".into(), json!(r.image.sha256));
    run_props.insert("imageSize".into(), json!(r.image.size));
    run_props.insert("profile".into(), json!(r.profile));
    run_props.insert("outcome".into(), json!(r.outcome.status));
    run_props.insert("exitCode".into(), json!(r.outcome.exit_code));
    let standards: Map<String, Value> = r
        .standards
        .iter()
        .map(|s| (s.id.clone(), json!(s.verdict.as_str())))
        .collect();
    run_props.insert("standards".into(), Value::Object(standards));
    run_props.insert("rulesDigest".into(), json!(r.tool.rules_digest));
    run_props.insert("unpackComplete".into(), json!(r.unpack.complete));

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": r.tool.name,
                    "version": r.tool.version,
                    "semanticVersion": r.tool.version,
                    "rules": rules,
                }
            },
            "originalUriBaseIds": {
                URI_BASE: {
                    "description": {
                        "text": "The root of the filesystem or payload named by the result's containerChain property, inside the scanned image."
                    }
                }
            },
            "results": results,
            "properties": Value::Object(run_props),
        }]
    })
}

/// The descriptor of one rule, from its first finding (every finding of a
/// rule carries the same rule data). FW-YARA-000 takes each lab rule's
/// severity, so the descriptor's default level is that of its most severe
/// finding.
fn rule(first: &FindingOut, all: &[&FindingOut]) -> Value {
    let worst = all.iter().map(|f| f.severity).max().unwrap_or(first.severity);
    let category = serde_json::to_value(first.category).unwrap_or(Value::Null);
    json!({
        "id": first.id,
        "name": first.rule,
        "shortDescription": { "text": first.title },
        "fullDescription": { "text": first.title },
        "help": {
            "text": format!("{}. Run `fwcert rules explain {}` for what the rule detects, why it matters and how to fix it.", first.title, first.id)
        },
        "defaultConfiguration": { "level": level(worst) },
        "properties": {
            "tags": ["security", "firmware", category],
            "security-severity": security_severity(worst),
            "controls": first.controls,
        }
    })
}

fn result(f: &FindingOut, rule_index: usize, r: &Report) -> Value {
    let mut region = Map::new();
    if let Some(l) = f.line {
        region.insert("startLine".into(), json!(l));
    }
    if let Some(o) = f.offset {
        region.insert("byteOffset".into(), json!(o));
    }
    let mut physical = Map::new();
    physical.insert(
        "artifactLocation".into(),
        json!({ "uri": uri(&f.path), "uriBaseId": URI_BASE }),
    );
    if !region.is_empty() {
        physical.insert("region".into(), Value::Object(region));
    }
    let chain = f.container.to_string();

    let mut props = Map::new();
    props.insert("severity".into(), json!(f.severity.as_str()));
    props.insert("containerChain".into(), json!(chain));
    props.insert("path".into(), json!(f.path));
    if let Some(h) = &f.sha256 {
        props.insert("fileSha256".into(), json!(h));
    }
    if let Some(h) = &f.secret_fingerprint {
        props.insert("secretFingerprint".into(), json!(h));
    }
    props.insert("controls".into(), json!(f.controls));
    if let Some(c) = &f.custom_rule {
        props.insert("customRule".into(), json!(c));
    }
    if f.preview {
        props.insert("preview".into(), json!(true));
    }

    let mut result = json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": f.evidence },
        "locations": [{
            "physicalLocation": Value::Object(physical),
            "logicalLocations": [{ "fullyQualifiedName": chain, "kind": "module" }],
        }],
        "partialFingerprints": { FINGERPRINT_KEY: f.fingerprint },
        "properties": Value::Object(props),
    });
    // A policy waiver is an accepted external suppression (code scanning
    // then shows the alert as dismissed, with the justification); the
    // baseline state maps to SARIF's own `baselineState`.
    let waiver = f
        .waiver
        .and_then(|n| r.gate.as_ref().and_then(|g| g.waivers.iter().find(|w| w.number == n)));
    if let (Some(obj), Some(w)) = (result.as_object_mut(), waiver) {
        obj.insert(
            "suppressions".into(),
            json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("{} (waiver {} of the fwcert policy, owner {}, expires {})", w.justification, w.number, w.owner, w.expires),
            }]),
        );
    }
    if let (Some(obj), Some(state)) = (result.as_object_mut(), f.baseline) {
        obj.insert(
            "baselineState".into(),
            json!(if state == "known" { "unchanged" } else { "new" }),
        );
    }
    result
}

/// A path inside the image as a relative URI reference: the leading `/`
/// dropped (the base is [`URI_BASE`]) and every byte outside RFC 3986's
/// unreserved set and `/` percent-encoded, so names with spaces, `%`, `#`
/// or non-ASCII bytes stay one valid reference.
pub fn uri(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "note");
        assert_eq!(level(Severity::Info), "note");
    }

    #[test]
    fn paths_become_relative_uri_references() {
        assert_eq!(uri("/etc/shadow"), "etc/shadow");
        assert_eq!(uri("/www/my page#1%.cgi"), "www/my%20page%231%25.cgi");
        assert_eq!(uri("/etc/配置"), "etc/%E9%85%8D%E7%BD%AE");
        assert_eq!(uri("payload"), "payload");
    }
}
