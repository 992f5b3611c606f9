//! The `hardening` family: exploit mitigations of the programs an image
//! ships (NX stack, PIE, stack canary, RELRO, library search paths), from
//! the ELF facts of the inventory ([`crate::inventory::elf`]).
//!
//! What matters is the exposure, so findings follow the boot model: a
//! program the firmware starts at boot is reported at the line that starts
//! it, network-facing daemons first (their own rules, higher severity); the
//! programs nothing starts are summed up in one finding per rule and
//! filesystem (a count and the first paths), not one finding each: "httpd
//! started at rcS:37 has an executable stack" is what a lab acts on, not
//! hundreds of lines of checksec.
//!
//! The rules are listed in `docs/rules/hardening.md`, generated from
//! `checks/hardening/`.

use std::collections::{BTreeMap, BTreeSet};

use super::starts::{at_start, graph_gaps};
use super::{Context, FamilyResult, Finding};
use crate::inventory::boot::{BootGraph, Mechanism, ServiceStart, basename, is_runtime};
use crate::inventory::elf::{ElfFacts, Relro, is_elf};
use crate::inventory::{FileEntry, Inventory, Origin};
use crate::rules;

/// How many paths an aggregated finding names.
const FIRST_PATHS: usize = 10;

/// Why a started program serves the network, or `None`.
fn network_facing(s: &ServiceStart, facts: &ElfFacts) -> Option<String> {
    let name = s.name();
    if s.mechanism == Mechanism::Inetd {
        return Some("started by inetd for incoming connections".into());
    }
    if !s.ports.is_empty() {
        return Some(format!("listens on {}", s.ports.join(", ")));
    }
    if super::daemons::is_server(&name) {
        return Some("a network server".into());
    }
    // A multi-call binary (BusyBox, dropbearmulti invoked as `dropbearkey`)
    // imports the calls of all its personalities: only a program run under
    // its own file name is judged by its imports.
    let own_name = s.binary.as_deref().map(basename) == Some(name.as_str());
    if s.applet.is_none() && own_name && facts.server_calls {
        return Some("imports the calls of a server (bind with listen, accept or recvfrom)".into());
    }
    None
}

/// A started program's ELF file: the start's binary in the graph's
/// filesystem.
fn started_file<'i, 'u>(inv: &'i Inventory<'u>, g: &BootGraph, s: &ServiceStart) -> Option<&'i FileEntry<'u>> {
    let bin = s.binary.as_deref()?;
    inv.file(g.filesystem, bin)
        .or_else(|| inv.file(g.filesystem, &format!("{}{bin}", g.prefix())))
}

/// The mitigations a program lacks, in words; empty when none is missing.
fn missing_mitigations(f: &ElfFacts) -> Vec<String> {
    let mut out = Vec::new();
    if f.kind == "executable" {
        out.push("not PIE (ET_EXEC at a fixed address)".to_string());
    }
    if f.stack_canary == Some(false) {
        out.push("no stack canary (no __stack_chk_fail or __stack_chk_guard)".to_string());
    }
    if f.relro == Relro::None {
        out.push("no RELRO (the GOT stays writable)".to_string());
    }
    out
}

/// The mitigation facts [`missing_mitigations`] does not already name,
/// for context in evidence.
fn context_facts(f: &ElfFacts) -> String {
    let mut out = Vec::new();
    if f.pie {
        out.push("PIE".to_string());
    }
    match f.stack_canary {
        Some(true) => out.push("stack canary".into()),
        Some(false) => {}
        None => out.push("stack canary unknown (no symbols)".into()),
    }
    if f.relro != Relro::None {
        out.push(f.relro.as_str().into());
    }
    out.push(format!("{} fortified call(s)", f.fortified));
    if f.stripped {
        out.push("stripped".into());
    }
    out.join(", ")
}

/// RPATH/RUNPATH entries a local user or a network upload could plant a
/// library in, each with why. glibc (`fillin_rpath` in `elf/dl-load.c`)
/// reads an empty entry as the current directory, and relative entries are
/// resolved against it; `$ORIGIN` is the program's own directory.
fn unsafe_search_paths(f: &ElfFacts) -> Vec<String> {
    let mut out = Vec::new();
    for (tag, list) in [("RPATH", &f.rpath), ("RUNPATH", &f.runpath)] {
        for entry in list.iter().flat_map(|l| l.split(':')) {
            let why = if entry.is_empty() {
                Some("an empty entry (the current directory)")
            } else if entry.starts_with("$ORIGIN") || entry.starts_with("${ORIGIN}") {
                None
            } else if !entry.starts_with('/') {
                Some("relative to the current directory")
            } else if is_runtime(entry) || ["/mnt", "/media", "/home", "/data"].iter().any(|d| under(entry, d)) {
                Some("a writable run-time directory")
            } else {
                None
            };
            if let Some(why) = why {
                out.push(format!("{tag} `{entry}`: {why}"));
            }
        }
    }
    out
}

fn under(p: &str, dir: &str) -> bool {
    p == dir || p.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut findings = Vec::new();
    let mut gaps = graph_gaps(inv);
    // Binaries started at boot, per filesystem (tree paths).
    let mut started: BTreeSet<(usize, String)> = BTreeSet::new();
    for g in &inv.boot {
        boot_started(inv, g, &mut findings, &mut started);
    }
    // Everything else, summed up per filesystem.
    let mut per_fs: BTreeMap<usize, Vec<&FileEntry>> = BTreeMap::new();
    for f in &inv.files {
        let Origin::Filesystem(fs) = f.origin else {
            continue;
        };
        match &f.elf {
            Some(e) if e.is_loadable() && !started.contains(&(fs, f.path.clone())) => {
                per_fs.entry(fs).or_default().push(f)
            }
            Some(_) => {}
            None if is_elf(f.data) => gaps.push(format!(
                "{}: an ELF header that could not be parsed, so its mitigations are unknown",
                f.path
            )),
            None => {}
        }
    }
    for files in per_fs.values_mut() {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let exec: Vec<&FileEntry> = files
            .iter()
            .copied()
            .filter(|f| f.elf.as_ref().is_some_and(|e| e.exec_stack))
            .collect();
        if let Some(first) = exec.first() {
            let offset = first.elf.as_ref().and_then(|e| e.stack_header_offset).unwrap_or(0);
            findings.extend(aggregate(
                rules::FW_HARD_003,
                &exec,
                offset,
                "ELF file(s) not started at boot have an executable stack",
            ));
        }
        let rpath: Vec<&FileEntry> = files
            .iter()
            .copied()
            .filter(|f| f.elf.as_ref().is_some_and(|e| !unsafe_search_paths(e).is_empty()))
            .collect();
        if let Some(first) = rpath.first() {
            let e = first.elf.as_ref();
            let offset = e.and_then(|e| e.search_path_offset).unwrap_or(0);
            let what = e.map(unsafe_search_paths).unwrap_or_default().join(", ");
            findings.extend(aggregate(
                rules::FW_HARD_005,
                &rpath,
                offset,
                &format!("ELF file(s) not started at boot search libraries in writable or relative directories (first: {what})"),
            ));
        }
    }
    FamilyResult { findings, gaps }
}

/// One finding for many files of a filesystem: located at the first path,
/// naming the count and the first [`FIRST_PATHS`] paths (files are in
/// path order within their filesystem).
fn aggregate(rule: &str, files: &[&FileEntry], offset: u64, what: &str) -> Option<Finding> {
    let first = files.first()?;
    let mut names: Vec<&str> = files.iter().take(FIRST_PATHS).map(|f| f.path.as_str()).collect();
    if files.len() > FIRST_PATHS {
        names.push("…");
    }
    Some(Finding {
        rule: rule.to_string(),
        path: first.path.clone(),
        container: first.container.clone(),
        line: None,
        offset: Some(offset),
        evidence: format!("{} {what}: {}", files.len(), names.join(", ")),
        sha256: Some(first.sha256().to_string()),
        custom: None,
        secret: None,
    })
}

/// Findings for the programs graph `g` starts: network-facing ones per
/// start (FW-HARD-001, -004), the others once per binary at its first start
/// (FW-HARD-002), unsafe search paths once per binary (FW-HARD-005).
fn boot_started(inv: &Inventory, g: &BootGraph, findings: &mut Vec<Finding>, started: &mut BTreeSet<(usize, String)>) {
    // binary → (its first start, how many starts)
    let mut other: BTreeMap<&str, (&ServiceStart, usize)> = BTreeMap::new();
    let mut reported_net: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rpath_done: BTreeSet<String> = BTreeSet::new();
    for s in g.starts.iter().filter(|s| s.runs()) {
        let Some(file) = started_file(inv, g, s) else {
            continue;
        };
        let Some(facts) = &file.elf else {
            continue;
        };
        started.insert((g.filesystem, file.path.clone()));
        let name = s.name();
        let who = format!("`{name}` ({}, {})", file.path, facts.describe());
        if let Some(why) = network_facing(s, facts) {
            if !reported_net.insert((file.path.clone(), name.clone())) {
                continue;
            }
            if facts.exec_stack {
                findings.push(at_start(
                    inv,
                    g,
                    s,
                    rules::FW_HARD_001,
                    format!("network-facing {who}, {why}, has {}", facts.stack_words()),
                ));
            }
            let missing = missing_mitigations(facts);
            if !missing.is_empty() {
                findings.push(at_start(
                    inv,
                    g,
                    s,
                    rules::FW_HARD_004,
                    format!(
                        "network-facing {who}, {why}, is built without exploit mitigations: {}; also {}",
                        missing.join(", "),
                        context_facts(facts)
                    ),
                ));
            }
        } else if facts.exec_stack {
            other.entry(file.path.as_str()).or_insert((s, 0)).1 += 1;
        }
        let paths = unsafe_search_paths(facts);
        if !paths.is_empty() && rpath_done.insert(file.path.clone()) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_HARD_005,
                format!(
                    "{who} searches libraries in {}: a library planted there runs in it",
                    paths.join(", ")
                ),
            ));
        }
    }
    for (path, (s, n)) in other {
        let Some(facts) = started_file(inv, g, s).and_then(|f| f.elf.as_ref()) else {
            continue;
        };
        let more = if n > 1 {
            format!(" (started {n} times; the first start is cited)")
        } else {
            String::new()
        };
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_HARD_002,
            format!(
                "{path} ({}), started at boot as `{}`, has {}{more}",
                facts.describe(),
                s.name(),
                facts.stack_words()
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::elf::facts;
    use crate::samples::{ElfSpec, build_elf};

    #[test]
    fn search_paths() {
        let mut f = facts(&build_elf(&ElfSpec {
            rpath: Some("/usr/lib::lib:$ORIGIN/../lib:/tmp/lib".into()),
            runpath: Some("/var/run/x".into()),
            ..ElfSpec::default()
        }))
        .unwrap();
        assert_eq!(
            unsafe_search_paths(&f),
            vec![
                "RPATH ``: an empty entry (the current directory)",
                "RPATH `lib`: relative to the current directory",
                "RPATH `/tmp/lib`: a writable run-time directory",
                "RUNPATH `/var/run/x`: a writable run-time directory",
            ]
        );
        f.rpath = vec!["/usr/lib:/lib:/tmpfoo".into()];
        f.runpath.clear();
        assert!(unsafe_search_paths(&f).is_empty());
    }

    #[test]
    fn mitigations() {
        let f = facts(&build_elf(&ElfSpec {
            imports: vec!["puts".into()],
            ..ElfSpec::default()
        }))
        .unwrap();
        assert_eq!(missing_mitigations(&f).len(), 3);
        let f = facts(&build_elf(&ElfSpec {
            et_dyn: true,
            dt_debug: true,
            interpreter: Some("/lib/ld.so".into()),
            relro: true,
            imports: vec!["__stack_chk_fail".into()],
            ..ElfSpec::default()
        }))
        .unwrap();
        assert!(missing_mitigations(&f).is_empty(), "{f:?}");
        assert_eq!(
            context_facts(&f),
            "PIE, stack canary, partial RELRO, 0 fortified call(s), stripped"
        );
    }
}
