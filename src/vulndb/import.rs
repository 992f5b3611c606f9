//! Readers for the files a lab copies in: NVD CVE API 2.0 (a feed or one
//! CVE object), CVE JSON 5 records, OSV entries and the CISA KEV
//! catalogue. Each is mapped onto the store's model and checked like the
//! seed data; a file that is not one of these, or is cut short, is an
//! error and changes nothing.
//!
//! What an import adds keeps its source: the CVE's `sources` gain the
//! key of the file's kind (`NVD`, `CVE5`, `OSV`, `KEV`). The hand-checked
//! seed entries win over an import for the components they already list
//! (their ranges are kept); an import adds components, ranges, a missing
//! score and the KEV flag.

use std::cmp::Ordering;

use serde_json::Value;

use crate::checks::components::data::{Cve, Range, VulnData};
use crate::inventory::components::{catalog, name_matches};
use crate::inventory::version::Version;

/// What one file brought.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub kind: &'static str,
    pub added: usize,
    pub updated: usize,
    /// Entries that name no component fwcert identifies.
    pub skipped: usize,
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not JSON (truncated or corrupt?): {0}")]
    Json(#[from] serde_json::Error),
    #[error("not an NVD 2.0 feed or record, a CVE JSON 5 record, an OSV entry or the KEV catalogue")]
    UnknownFormat,
    #[error("{0}")]
    Invalid(String),
}

const SOURCES: &[(&str, &str)] = &[
    ("NVD", "NVD, https://nvd.nist.gov/vuln/detail/<CVE>"),
    (
        "CVE5",
        "CVE JSON 5 record of the CVE Program, https://www.cve.org/CVERecord?id=<CVE>",
    ),
    ("OSV", "OSV entry, https://osv.dev/vulnerability/<ID>"),
    (
        "KEV",
        "CISA Known Exploited Vulnerabilities catalogue, https://www.cisa.gov/known-exploited-vulnerabilities-catalog",
    ),
];

/// Apply one file to `data`; the result is checked before it is returned.
pub fn apply(mut data: VulnData, bytes: &[u8]) -> Result<(VulnData, Summary), ImportError> {
    let doc: Value = serde_json::from_slice(bytes)?;
    let summary = if doc.get("catalogVersion").is_some() {
        kev(&mut data, &doc)?
    } else if doc.get("vulnerabilities").is_some() && doc.get("format").is_some() {
        let mut s = Summary {
            kind: "NVD",
            ..Summary::default()
        };
        for v in doc["vulnerabilities"].as_array().ok_or(ImportError::UnknownFormat)? {
            nvd_one(&mut data, &v["cve"], &mut s)?;
        }
        if let Some(t) = doc["timestamp"].as_str() {
            advance_snapshot(&mut data, t);
        }
        s
    } else if doc.get("configurations").is_some() && doc.get("id").is_some() {
        let mut s = Summary {
            kind: "NVD",
            ..Summary::default()
        };
        nvd_one(&mut data, &doc, &mut s)?;
        s
    } else if doc.get("dataType").and_then(Value::as_str) == Some("CVE_RECORD") {
        cve5(&mut data, &doc)?
    } else if doc.get("affected").is_some() && doc.get("id").is_some() {
        osv(&mut data, &doc)?
    } else {
        return Err(ImportError::UnknownFormat);
    };
    let source_key = summary.kind;
    if let Some((k, d)) = SOURCES.iter().find(|(k, _)| *k == source_key) {
        data.vulnerabilities
            .sources
            .entry(k.to_string())
            .or_insert_with(|| d.to_string());
    }
    let checked = VulnData::from_parts(data.vulnerabilities, data.end_of_life)
        .map_err(|e| ImportError::Invalid(e.to_string()))?;
    Ok((checked, summary))
}

/// The data's snapshot moves to `date` (`YYYY-MM-DD…`) if it is later.
fn advance_snapshot(data: &mut VulnData, date: &str) {
    let Some(day) = date.get(..10) else { return };
    if crate::checks::components::data::Date::parse(day).is_some() && day > data.vulnerabilities.snapshot.as_str() {
        data.vulnerabilities.snapshot = day.to_string();
    }
}

/// The catalogue component of an NVD CPE (`cpe:2.3:a:vendor:product:…`).
fn component_of_cpe(criteria: &str) -> Option<&'static str> {
    let mut p = criteria.split(':').skip(2);
    let key = format!("{}:{}:{}", p.next()?, p.next()?, p.next()?);
    catalog()
        .components
        .iter()
        .find(|c| c.cpe.as_deref() == Some(key.as_str()))
        .map(|c| c.name.as_str())
}

/// The catalogue component of a product or package name.
fn component_of_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    catalog()
        .components
        .iter()
        .find(|c| {
            c.name == lower
                || c.purl.name == lower
                || c.cpe.as_deref().and_then(|x| x.rsplit(':').next()) == Some(lower.as_str())
                || c.packages.iter().any(|e| name_matches(e, &lower))
        })
        .map(|c| c.name.as_str())
}

fn version_ok(v: &str) -> Option<String> {
    let v = v.replace('\\', "");
    Version::parse(&v).map(|_| v)
}

/// Merge one imported CVE into the data.
fn merge(data: &mut VulnData, new: Cve, s: &mut Summary) {
    let cves = &mut data.vulnerabilities.cves;
    match cves.iter_mut().find(|c| c.id == new.id) {
        Some(old) => {
            for comp in &new.components {
                if old.components.contains(comp) {
                    continue;
                }
                // The old ranges were about the old components only: say so
                // before a new component joins, or they would apply to it.
                pin_ranges(old);
                old.components.push(comp.clone());
                old.ranges
                    .extend(new.ranges.iter().filter(|r| r.applies_to(comp)).map(|r| Range {
                        component: Some(comp.clone()),
                        ..r.clone()
                    }));
            }
            if old.cvss.is_none() && old.vendor_severity.is_none() {
                old.cvss = new.cvss;
                old.cvss_version = new.cvss_version.clone();
            }
            if new.kev {
                old.kev = true;
            }
            for src in new.sources {
                if !old.sources.contains(&src) {
                    old.sources.push(src);
                }
            }
            s.updated += 1;
        }
        None => {
            cves.push(new);
            s.added += 1;
        }
    }
}

/// Give each of `cve`'s ranges that is about all its components one copy
/// per component, naming it.
fn pin_ranges(cve: &mut Cve) {
    let mut out = Vec::with_capacity(cve.ranges.len());
    for r in cve.ranges.drain(..) {
        match r.component {
            Some(_) => out.push(r),
            None => out.extend(cve.components.iter().map(|c| Range {
                component: Some(c.clone()),
                ..r.clone()
            })),
        }
    }
    cve.ranges = out;
}

/// A new CVE's ranges, each naming its component; when there is only one
/// component the names are left out (the range is about all of one).
fn shell_ranges(components: &[String], ranges: Vec<Range>) -> Vec<Range> {
    if components.len() == 1 {
        ranges.into_iter().map(|r| Range { component: None, ..r }).collect()
    } else {
        ranges
    }
}

fn cve_shell(id: &str, components: Vec<String>, ranges: Vec<Range>, source: &str) -> Cve {
    Cve {
        id: id.to_string(),
        ranges: shell_ranges(&components, ranges),
        components,
        part: None,
        applets: Vec::new(),
        fixed: Vec::new(),
        cvss: None,
        cvss_version: None,
        vendor_severity: None,
        kev: false,
        condition: None,
        ambiguous: None,
        note: None,
        sources: vec![source.to_string()],
    }
}

/// One NVD 2.0 CVE object.
fn nvd_one(data: &mut VulnData, cve: &Value, s: &mut Summary) -> Result<(), ImportError> {
    let id = cve["id"].as_str().ok_or(ImportError::UnknownFormat)?;
    let mut components = Vec::new();
    let mut ranges = Vec::new();
    let matches = cve["configurations"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["nodes"].as_array().into_iter().flatten())
        .flat_map(|n| n["cpeMatch"].as_array().into_iter().flatten());
    for m in matches {
        if m["vulnerable"].as_bool() != Some(true) {
            continue;
        }
        let Some(criteria) = m["criteria"].as_str() else {
            continue;
        };
        let Some(comp) = component_of_cpe(criteria) else {
            continue;
        };
        let exact = criteria
            .split(':')
            .nth(5)
            .filter(|v| *v != "*" && *v != "-")
            .and_then(version_ok);
        let get = |k: &str| m[k].as_str().and_then(version_ok);
        let range = match exact {
            Some(v) => Range {
                from: Some(v.clone()),
                through: Some(v),
                ..Range::default()
            },
            None => Range {
                from: get("versionStartIncluding"),
                after: get("versionStartExcluding"),
                before: get("versionEndExcluding"),
                through: get("versionEndIncluding"),
                component: None,
            },
        };
        let range = if range == Range::default() {
            Range {
                from: Some("0".into()),
                ..range
            }
        } else {
            range
        };
        let range = Range {
            component: Some(comp.to_string()),
            ..range
        };
        if !components.iter().any(|c| c == comp) {
            components.push(comp.to_string());
        }
        ranges.push(range);
    }
    if components.is_empty() {
        s.skipped += 1;
        return Ok(());
    }
    let mut c = cve_shell(id, components, ranges, "NVD");
    let metrics = &cve["metrics"];
    let primary = |key: &str| {
        metrics[key].as_array().and_then(|l| {
            l.iter()
                .find(|m| m["type"] == "Primary")
                .or_else(|| l.first())
                .and_then(|m| m["cvssData"]["baseScore"].as_f64())
        })
    };
    if let Some(score) = primary("cvssMetricV31").or_else(|| primary("cvssMetricV30")) {
        c.cvss = Some(score as f32);
    } else if let Some(score) = primary("cvssMetricV2") {
        c.cvss = Some(score as f32);
        c.cvss_version = Some("2".into());
    }
    if cve.get("cisaExploitAdd").is_some() {
        c.kev = true;
        c.sources.push("KEV".into());
    }
    if let Some(t) = cve["lastModified"].as_str() {
        advance_snapshot(data, t);
    }
    merge(data, c, s);
    Ok(())
}

/// A CVE JSON 5 record: the CNA's `affected` products and versions.
fn cve5(data: &mut VulnData, doc: &Value) -> Result<Summary, ImportError> {
    let mut s = Summary {
        kind: "CVE5",
        ..Summary::default()
    };
    let id = doc["cveMetadata"]["cveId"].as_str().ok_or(ImportError::UnknownFormat)?;
    let cna = &doc["containers"]["cna"];
    let mut components = Vec::new();
    let mut ranges = Vec::new();
    for a in cna["affected"].as_array().into_iter().flatten() {
        let Some(comp) = a["product"].as_str().and_then(component_of_name) else {
            continue;
        };
        let versions: Vec<&Value> = a["versions"].as_array().into_iter().flatten().collect();
        // `unaffected` below a version: the affected ranges start there
        // (curl's records say "affected < 8.4.0, unaffected < 7.69.0").
        let floor = versions
            .iter()
            .filter(|v| v["status"] == "unaffected")
            .filter_map(|v| v["lessThan"].as_str().and_then(version_ok))
            .max_by(|a, b| version_cmp(a, b));
        for v in versions {
            if v["status"] != "affected" {
                continue;
            }
            let start = v["version"].as_str().and_then(version_ok);
            let lt = v["lessThan"].as_str().and_then(version_ok);
            let le = v["lessThanOrEqual"].as_str().and_then(version_ok);
            let range = match (lt, le) {
                (None, None) => match start {
                    Some(x) => Range {
                        from: Some(x.clone()),
                        through: Some(x),
                        component: Some(comp.to_string()),
                        ..Range::default()
                    },
                    None => continue,
                },
                (before, through) => {
                    // `version` is the range's start, unless it equals the
                    // end (an "everything before" written that way).
                    let start = start
                        .filter(|x| x != "0" && Some(x) != before.as_ref() && Some(x) != through.as_ref())
                        .or_else(|| floor.clone());
                    Range {
                        from: start,
                        before,
                        through,
                        component: Some(comp.to_string()),
                        ..Range::default()
                    }
                }
            };
            ranges.push(range);
            if !components.iter().any(|c| c == comp) {
                components.push(comp.to_string());
            }
        }
    }
    if components.is_empty() || ranges.is_empty() {
        s.skipped += 1;
        return Ok(s);
    }
    let mut c = cve_shell(id, components, ranges, "CVE5");
    for m in cna["metrics"].as_array().into_iter().flatten() {
        if let Some(score) = ["cvssV3_1", "cvssV3_0"]
            .iter()
            .find_map(|k| m[*k]["baseScore"].as_f64())
        {
            c.cvss = Some(score as f32);
            break;
        }
    }
    if let Some(t) = doc["cveMetadata"]["dateUpdated"].as_str() {
        advance_snapshot(data, t);
    }
    merge(data, c, &mut s);
    Ok(s)
}

/// An OSV entry: `affected[].ranges[].events` (introduced, fixed,
/// last_affected) of packages fwcert knows by name.
fn osv(data: &mut VulnData, doc: &Value) -> Result<Summary, ImportError> {
    let mut s = Summary {
        kind: "OSV",
        ..Summary::default()
    };
    let own = doc["id"].as_str().ok_or(ImportError::UnknownFormat)?;
    let id = std::iter::once(own)
        .chain(
            ["aliases", "upstream"]
                .iter()
                .flat_map(|k| doc[*k].as_array().into_iter().flatten().filter_map(Value::as_str)),
        )
        .find(|a| a.starts_with("CVE-"));
    let Some(id) = id else {
        s.skipped += 1;
        return Ok(s);
    };
    let mut components = Vec::new();
    let mut ranges = Vec::new();
    let mut ecosystems = Vec::new();
    for a in doc["affected"].as_array().into_iter().flatten() {
        let Some(comp) = a["package"]["name"].as_str().and_then(component_of_name) else {
            continue;
        };
        if let Some(e) = a["package"]["ecosystem"].as_str() {
            ecosystems.push(e.to_string());
        }
        for r in a["ranges"].as_array().into_iter().flatten() {
            if r["type"] == "GIT" {
                continue;
            }
            let mut from: Option<String> = None;
            for e in r["events"].as_array().into_iter().flatten() {
                if let Some(i) = e["introduced"].as_str() {
                    from = version_ok(i).filter(|x| x != "0");
                } else if let Some(f) = e["fixed"].as_str().and_then(version_ok) {
                    ranges.push(Range {
                        from: from.take(),
                        before: Some(f),
                        component: Some(comp.to_string()),
                        ..Range::default()
                    });
                } else if let Some(l) = e["last_affected"].as_str().and_then(version_ok) {
                    ranges.push(Range {
                        from: from.take(),
                        through: Some(l),
                        component: Some(comp.to_string()),
                        ..Range::default()
                    });
                }
            }
        }
        if ranges.iter().any(|r| r.component.as_deref() == Some(comp)) && !components.iter().any(|c| c == comp) {
            components.push(comp.to_string());
        }
    }
    if components.is_empty() {
        s.skipped += 1;
        return Ok(s);
    }
    let mut c = cve_shell(id, components, ranges, "OSV");
    c.note = Some(format!("OSV {own}"));
    // OSV ranges are in the ecosystem's versions (a distribution's
    // package, with its own patches), not necessarily upstream releases.
    ecosystems.sort();
    ecosystems.dedup();
    if !ecosystems.is_empty() {
        c.ambiguous = Some(format!(
            "OSV {own}: ranges in {} ecosystem versions, which may carry backported fixes",
            ecosystems.join(", ")
        ));
    }
    c.vendor_severity = doc["database_specific"]["severity"]
        .as_str()
        .map(str::to_ascii_lowercase)
        .filter(|v| matches!(v.as_str(), "critical" | "high" | "medium" | "low"));
    if let Some(t) = doc["modified"].as_str() {
        advance_snapshot(data, t);
    }
    merge(data, c, &mut s);
    Ok(s)
}

/// The KEV catalogue: flags the store's CVEs that it lists.
fn kev(data: &mut VulnData, doc: &Value) -> Result<Summary, ImportError> {
    let mut s = Summary {
        kind: "KEV",
        ..Summary::default()
    };
    let version = doc["catalogVersion"].as_str().ok_or(ImportError::UnknownFormat)?;
    let list = doc["vulnerabilities"].as_array().ok_or(ImportError::UnknownFormat)?;
    let listed: std::collections::BTreeSet<&str> = list.iter().filter_map(|v| v["cveID"].as_str()).collect();
    if listed.is_empty() {
        return Err(ImportError::Invalid("the KEV catalogue lists no CVE".into()));
    }
    let v = &mut data.vulnerabilities;
    if version_cmp(version, &v.kev_catalog) == Ordering::Less {
        return Err(ImportError::Invalid(format!(
            "KEV catalogue {version} is older than the store's {}",
            v.kev_catalog
        )));
    }
    for c in v.cves.iter_mut().filter(|c| listed.contains(c.id.as_str())) {
        if !c.kev {
            c.kev = true;
            c.sources.push("KEV".into());
            s.updated += 1;
        }
    }
    s.skipped = listed.len() - v.cves.iter().filter(|c| listed.contains(c.id.as_str())).count();
    v.kev_catalog = version.to_string();
    if let Some(d) = doc["dateReleased"].as_str().and_then(|d| d.get(..10)) {
        v.kev_snapshot = d.to_string();
    }
    v.sources.insert(
        "KEV".into(),
        format!("CISA Known Exploited Vulnerabilities catalogue {version}, https://www.cisa.gov/known-exploited-vulnerabilities-catalog"),
    );
    Ok(s)
}

fn version_cmp(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(x), Some(y)) => x.cmp_upstream(&y),
        _ => a.cmp(b),
    }
}
