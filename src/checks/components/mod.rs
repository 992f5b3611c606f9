//! The `components` family: known vulnerabilities and end of life of the
//! components the inventory identified, judged against offline data with
//! sources (`checks/components/vulnerabilities.toml`, `end-of-life.toml`).
//!
//! A version match is evidence, not proof, so each finding says how much
//! it rests on: a kernel CVE is a version match only (configuration and
//! backports are not visible); a vendor or distribution suffix on the
//! version means fixes may have been backported; an ambiguous range in the
//! source stays ambiguous. None of these hides a CVE: they lower the
//! confidence the evidence states. A BusyBox CVE counts only when an
//! applet that carries the code is compiled in; when the applet list
//! cannot be read, the CVE is reported with lower confidence and the
//! family reports the gap. A BusyBox CVE whose applets are all absent is
//! kept as not affected (the report and the SBOM's VEX say why), with no
//! finding.

pub mod data;

use std::fmt::Write as _;

use crate::checks::{Context, FamilyResult, Finding};
use crate::inventory::Inventory;
use crate::inventory::components::Detection;
use crate::inventory::version::Version;
use crate::rules;
use data::{Cve, EolState, VulnData};

/// Which findings a CVE feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Weight {
    /// In the CISA KEV catalogue.
    KnownExploited,
    Critical,
    High,
    /// Medium, low or unrated: listed in the report, no finding.
    Other,
}

/// One CVE that applies to one detected component.
#[derive(Debug, Clone)]
pub struct Matched<'d> {
    pub cve: &'d Cve,
    pub weight: Weight,
    /// Why the match is less than certain (empty: a plain version match).
    pub caveats: Vec<String>,
}

/// A CVE whose range holds the version but whose code the component
/// does not contain (a BusyBox applet that is not compiled in): kept, so
/// that the report and the SBOM's VEX say why it does not apply.
#[derive(Debug, Clone)]
pub struct NotAffected<'d> {
    pub cve: &'d Cve,
    /// Why, with the file the evidence comes from.
    pub reason: String,
}

/// What the data says about one detected component.
#[derive(Debug, Clone)]
pub struct Assessment<'d> {
    pub cves: Vec<Matched<'d>>,
    /// In range, but the vulnerable code is absent: no finding.
    pub not_affected: Vec<NotAffected<'d>>,
    pub eol: EolState,
    /// Something the family could not look at for this component.
    pub gaps: Vec<String>,
}

fn weight(c: &Cve) -> Weight {
    if c.kev {
        return Weight::KnownExploited;
    }
    match c.severity() {
        Some("critical") => Weight::Critical,
        Some("high") => Weight::High,
        _ => Weight::Other,
    }
}

/// Match one detection against the data.
pub fn assess<'d>(inv: &Inventory, data: &'d VulnData, d: &Detection) -> Assessment<'d> {
    let mut gaps = Vec::new();
    // A source snapshot (`2020-10-01-3abcc891-1`, OpenWrt's packages of
    // projects without releases) is no release: ranges cannot place it.
    let snapshot = d.version.len() >= 10
        && d.version.as_bytes()[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let Some(version) = Version::parse(&d.version).filter(|_| !snapshot) else {
        gaps.push(format!(
            "{} version `{}` is not an ordered version: not matched against the vulnerability data",
            d.name, d.version
        ));
        return Assessment {
            cves: Vec::new(),
            not_affected: Vec::new(),
            eol: EolState::Unknown,
            gaps,
        };
    };
    let mut common = Vec::new();
    // The suffix as parsed, or, for the kernel, whose version the inventory
    // cuts to its upstream release (`2.6.31--LSDK-9.2.0`), what follows it
    // in the evidence.
    let cut = (d.name == "linux")
        .then_some(&d.evidence)
        .and_then(|e| e.find(d.version.as_str()).map(|at| &e[at + d.version.len()..]))
        .map(|rest| rest.split_whitespace().next().unwrap_or(""))
        .map(|rest| rest.trim_start_matches(['-', '+', '_', '~', '.']))
        .filter(|rest| !rest.is_empty());
    if let Some(s) = version.suffix().or(cut) {
        common.push(format!(
            "vendor/distribution suffix `{s}`: fixes may have been backported, lower confidence"
        ));
    }
    if d.name == "linux" {
        common.push("version match only: kernel configuration and backports not checked".to_string());
    }
    // BusyBox: the applets compiled into the binary the version came from.
    let applets = (d.name == "busybox")
        .then(|| inv.files.get(d.file).and_then(|f| f.busybox_applets()))
        .flatten();
    let mut applet_list_missing = false;
    let mut cves = Vec::new();
    let mut not_affected = Vec::new();
    for cve in data.cves_for(d.name, &version) {
        let mut caveats = common.clone();
        if !cve.applets.is_empty() {
            match &applets {
                Some(have) => {
                    let present: Vec<&str> = cve
                        .applets
                        .iter()
                        .filter(|a| have.contains(a.as_str()))
                        .map(String::as_str)
                        .collect();
                    if present.is_empty() {
                        not_affected.push(NotAffected {
                            cve,
                            reason: format!(
                                "applet {} not compiled into {} (read from its applet list)",
                                cve.applets.join("/"),
                                inv.files.get(d.file).map_or("?", |f| f.path.as_str())
                            ),
                        });
                        continue;
                    }
                    caveats.push(format!("applet {} compiled in", present.join(", ")));
                }
                None => {
                    applet_list_missing = true;
                    caveats.push(format!(
                        "applet list unknown: {} not confirmed, lower confidence",
                        cve.applets.join("/")
                    ));
                }
            }
        }
        if let Some(a) = &cve.ambiguous {
            caveats.push(format!("ambiguous range: {a}"));
        }
        if let Some(c) = &cve.condition {
            caveats.push(format!("needs: {c}"));
        }
        cves.push(Matched {
            cve,
            weight: weight(cve),
            caveats,
        });
    }
    if applet_list_missing {
        gaps.push(format!(
            "BusyBox {} in {}: the applet list could not be read, so applet-specific CVEs are reported by version only",
            d.version,
            inv.files.get(d.file).map_or("?", |f| f.path.as_str())
        ));
    }
    let eol = data.eol_state(d.name, &d.version);
    Assessment {
        cves,
        not_affected,
        eol,
        gaps,
    }
}

/// `CVE-…` list with each CVE's part, score, caveats and sources.
fn describe(m: &Matched, data: &VulnData) -> String {
    let c = m.cve;
    let mut s = c.id.clone();
    let mut facts = Vec::new();
    if let Some(p) = &c.part {
        facts.push(p.clone());
    }
    match (c.cvss, &c.vendor_severity) {
        (Some(score), _) => facts.push(format!("CVSS v{} {score:.1}", c.cvss_version.as_deref().unwrap_or("3"))),
        (None, Some(v)) => facts.push(format!("vendor rating {v}")),
        (None, None) => {}
    }
    if c.kev {
        facts.push(format!("in CISA KEV {}", data.vulnerabilities.kev_catalog));
    }
    if !c.fixed.is_empty() {
        facts.push(format!("fixed in {}", c.fixed.join(", ")));
    }
    facts.extend(m.caveats.iter().cloned());
    facts.push(format!("source {}", c.sources.join(", ")));
    let _ = write!(s, " ({})", facts.join("; "));
    s
}

/// The end-of-life sentence of a state, or `None` when it is not ended.
pub fn eol_ended(state: &EolState) -> Option<String> {
    match state {
        EolState::Ended(b) => {
            let when = match (&b.eol, b.inactive) {
                (Some(d), _) => format!("end of life {d}"),
                (None, _) => "project inactive".to_string(),
            };
            let note = b.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
            Some(format!(
                "branch {} past its end of life: {when}{note}; source {}",
                b.branch,
                b.sources.join(", ")
            ))
        }
        EolState::NonLts { next_branch, since } => Some(match (next_branch, since) {
            (Some(n), Some(d)) => {
                format!("not a long-term branch: unsupported since {n} was released ({d}); source KORG")
            }
            _ => "not a long-term branch: unsupported once the next branch was out; source KORG".to_string(),
        }),
        _ => None,
    }
}

/// The family's entry point.
pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let data = &cx.rules.vulndata;
    let mut findings = Vec::new();
    let mut gaps = Vec::new();
    let stamp = format!(
        "data of {} (CISA KEV {})",
        data.vulnerabilities.snapshot, data.vulnerabilities.kev_catalog
    );
    for d in &inv.components {
        let Some(file) = inv.files.get(d.file) else {
            continue;
        };
        let a = assess(inv, data, d);
        gaps.extend(a.gaps.iter().cloned());
        let head = format!("{} {} (`{}`)", d.name, d.version, d.evidence);
        let mut push = |rule: &str, evidence: String| {
            findings.push(Finding::in_file(rule, file, None, Some(d.offset), evidence));
        };
        for (w, rule) in [
            (Weight::KnownExploited, rules::FW_COMP_001),
            (Weight::Critical, rules::FW_COMP_002),
            (Weight::High, rules::FW_COMP_003),
        ] {
            let list: Vec<String> = a
                .cves
                .iter()
                .filter(|m| m.weight == w)
                .map(|m| describe(m, data))
                .collect();
            if !list.is_empty() {
                push(rule, format!("{head}: {}; {stamp}", list.join("; ")));
            }
        }
        if let Some(e) = eol_ended(&a.eol) {
            push(
                rules::FW_COMP_004,
                format!("{head}: {e}; end-of-life data of {}", data.end_of_life.snapshot),
            );
        }
    }
    // Not identifiable: a component is there, its version is not known,
    // so none of its CVEs or end of life could be judged.
    let files = inv
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.origin, crate::inventory::Origin::Filesystem(_)))
        .map(|(i, f)| (i, f.path.as_str()));
    for (name, path) in crate::inventory::components::unidentified(files, &inv.components) {
        gaps.push(format!(
            "{name} is present ({path}) but its version could not be identified: its known vulnerabilities and end of life were not judged"
        ));
    }
    // An rpm database fwcert cannot read lists what is installed: its
    // packages' versions were not judged.
    for f in &inv.files {
        if let Some(format) = crate::inventory::pkgfiles::unread_rpm_database(&f.path, f.data) {
            gaps.push(format!(
                "rpm database {} is in the {format} format, which fwcert does not read: the packages it lists were not identified from it",
                f.path
            ));
        }
    }
    gaps.sort();
    gaps.dedup();
    FamilyResult { findings, gaps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::components::Detection;
    use crate::samples::{fake_busybox, minimal_elf};
    use crate::unpack::Unpacked;

    fn data() -> VulnData {
        VulnData::from_files(crate::rules::EMBEDDED).expect("the embedded data parses")
    }

    /// The inventory of one file at `/bin/x` holding `bytes`.
    fn with_file<R>(bytes: Vec<u8>, f: impl FnOnce(&Inventory) -> R) -> R {
        let entries = [
            crate::samples::Entry::Dir {
                path: "bin",
                mode: 0o755,
            },
            crate::samples::Entry::File {
                path: "bin/x",
                mode: 0o755,
                data: bytes,
            },
        ];
        let img = crate::samples::squashfs(&entries, &crate::unpack::formats::squashfs::GZIP_CODEC);
        let u: Unpacked = crate::unpack::unpack(img.into(), "t.bin", &Default::default());
        let inv = Inventory::build(&u);
        f(&inv)
    }

    fn ids<'a>(a: &'a Assessment) -> Vec<&'a str> {
        a.cves.iter().map(|m| m.cve.id.as_str()).collect()
    }

    #[test]
    fn busybox_cves_need_their_applet() {
        let d = data();
        with_file(
            fake_busybox(
                "1.23.2",
                &["ash", "cat", "echo", "ls", "mount", "sh", "rm", "ps", "kill", "ln"],
            ),
            |inv| {
                let det = inv
                    .components
                    .iter()
                    .find(|c| c.name == "busybox")
                    .expect("busybox found");
                let a = assess(inv, &d, det);
                // No udhcpc, no wget: only the ash CVEs.
                assert_eq!(ids(&a), ["CVE-2017-16544", "CVE-2022-48174"]);
                assert!(a.cves[0].caveats.iter().any(|c| c == "applet ash, sh compiled in"));
                assert!(a.gaps.is_empty());
                // The udhcpc CVE is kept, as not affected, with the reason.
                let na = a
                    .not_affected
                    .iter()
                    .find(|n| n.cve.id == "CVE-2016-2148")
                    .expect("kept as not affected");
                assert_eq!(
                    na.reason,
                    "applet udhcpc not compiled into /bin/x (read from its applet list)"
                );
                assert!(a.not_affected.iter().all(|n| !ids(&a).contains(&n.cve.id.as_str())));
            },
        );
        with_file(
            fake_busybox(
                "1.23.2",
                &[
                    "ash", "cat", "echo", "ls", "mount", "sh", "rm", "ps", "kill", "ln", "udhcpc",
                ],
            ),
            |inv| {
                let det = inv
                    .components
                    .iter()
                    .find(|c| c.name == "busybox")
                    .expect("busybox found");
                assert!(ids(&assess(inv, &d, det)).contains(&"CVE-2016-2148"));
            },
        );
    }

    #[test]
    fn an_unreadable_applet_list_keeps_the_cve_with_lower_confidence_and_a_gap() {
        let d = data();
        with_file(minimal_elf(b"BusyBox v1.23.2 (2015) multi-call binary"), |inv| {
            let det = inv
                .components
                .iter()
                .find(|c| c.name == "busybox")
                .expect("busybox found");
            let a = assess(inv, &d, det);
            let m = a.cves.iter().find(|m| m.cve.id == "CVE-2016-2148").expect("kept");
            assert!(
                m.caveats.iter().any(|c| c.starts_with("applet list unknown")),
                "{:?}",
                m.caveats
            );
            assert_eq!(a.gaps.len(), 1, "{:?}", a.gaps);
        });
    }

    #[test]
    fn suffixes_and_kernels_lower_confidence_without_hiding_cves() {
        let d = data();
        let det = |name: &'static str, version: &str| Detection {
            name,
            version: version.into(),
            file: usize::MAX,
            offset: 0,
            evidence: String::new(),
            method: crate::inventory::components::Method::VersionString,
        };
        with_file(Vec::new(), |inv| {
            let a = assess(inv, &d, &det("openssl", "1.0.1f-1+deb7u1"));
            let hb = a
                .cves
                .iter()
                .find(|m| m.cve.id == "CVE-2014-0160")
                .expect("still listed");
            assert_eq!(hb.weight, Weight::KnownExploited);
            assert!(
                hb.caveats.iter().any(|c| c.contains("suffix `1+deb7u1`")),
                "{:?}",
                hb.caveats
            );
            let mut vendor = det("linux", "2.6.31");
            vendor.evidence = "Linux version 2.6.31--LSDK-9.2.0".into();
            let v = assess(inv, &d, &vendor);
            assert!(
                v.cves[0].caveats.iter().any(|c| c.contains("suffix `LSDK-9.2.0`")),
                "{:?}",
                v.cves[0].caveats
            );
            let k = assess(inv, &d, &det("linux", "3.10.14"));
            assert!(
                k.cves
                    .iter()
                    .all(|m| m.caveats.iter().any(|c| c.starts_with("version match only")))
            );
            assert!(matches!(k.eol, EolState::Ended(_)));
            let amb = assess(inv, &d, &det("miniupnpd", "1.9"));
            let m = amb
                .cves
                .iter()
                .find(|m| m.cve.id == "CVE-2017-1000494")
                .expect("listed");
            assert!(m.caveats.iter().any(|c| c.starts_with("ambiguous range")));
        });
    }
}
