//! Shared by the `services` and `debug` families: findings and coverage
//! built from the boot model ([`crate::inventory::boot`]).

use crate::checks::Finding;
use crate::inventory::Inventory;
use crate::inventory::boot::{BootGraph, Condition, SHELLS, ServiceStart, basename};
use crate::unpack::tree::FsTree;

/// A finding located at the line that starts `s`. A start without a line
/// is a program's built-in default (BusyBox init without an inittab): no
/// line of any file says it, the program itself does, so the finding points
/// at the start of that binary, offset 0.
pub fn at_start(inv: &Inventory, g: &BootGraph, s: &ServiceStart, rule: &str, what: String) -> Finding {
    Finding {
        rule: rule.to_string(),
        path: s.script.clone(),
        container: g.container.clone(),
        line: s.line,
        offset: s.line.is_none().then_some(0),
        evidence: format!("{what}; {}", describe(s)),
        sha256: inv.file(g.filesystem, &s.script).map(|f| f.sha256().to_string()),
        custom: None,
        secret: None,
    }
}

/// A finding located at `line` of file `path` in the graph's filesystem.
pub fn at_file(
    inv: &Inventory,
    g: &BootGraph,
    path: &str,
    line: Option<usize>,
    rule: &str,
    evidence: String,
) -> Finding {
    Finding {
        rule: rule.to_string(),
        path: path.to_string(),
        container: g.container.clone(),
        line,
        offset: None,
        evidence,
        sha256: inv.file(g.filesystem, path).map(|f| f.sha256().to_string()),
        custom: None,
        secret: None,
    }
}

/// How a start happens, for evidence: the command, where it runs from,
/// and whether it always runs.
pub fn describe(s: &ServiceStart) -> String {
    let mut out = format!(
        "`{}` started at {} ({}, {}",
        s.command_line(),
        s.location(),
        s.mechanism.as_str(),
        s.action
    );
    if let Some(t) = s.terminal() {
        out.push_str(&format!(", on {t}"));
    }
    out.push(')');
    match &s.condition {
        Condition::Unconditional => out.push_str(", unconditionally"),
        Condition::Conditional(c) => out.push_str(&format!(", only if {c}")),
    }
    match (&s.binary, &s.applet) {
        (Some(b), Some(a)) => out.push_str(&format!("; runs {b} (BusyBox applet `{a}`, compiled in)")),
        (Some(b), None) => out.push_str(&format!("; runs {b}")),
        _ => {}
    }
    if !s.ports.is_empty() {
        out.push_str(&format!("; port {}", s.ports.join(", ")));
    }
    out
}

/// Whether `p` names an interactive shell.
pub fn is_shell(p: &str) -> bool {
    SHELLS.contains(&basename(p.trim_start_matches('-')))
}

/// The value after any of `flags` in argv (also `--flag=value`).
pub fn flag_value<'s>(argv: &'s [String], flags: &[&str]) -> Option<&'s str> {
    for (i, a) in argv.iter().enumerate() {
        if flags.contains(&a.as_str()) {
            return argv.get(i + 1).map(String::as_str);
        }
        if let Some((k, v)) = a.split_once('=')
            && flags.contains(&k)
        {
            return Some(v);
        }
    }
    None
}

/// Whether a started program's applet membership is unknown: then the
/// decision about it is a gap, not a finding.
pub fn applet_unknown(s: &ServiceStart) -> bool {
    s.applet.is_some() && s.applet_present.is_none()
}

/// Coverage gaps every family that reads the boot model inherits: one per
/// graph gap, and one when no root filesystem was found at all.
pub fn graph_gaps(inv: &Inventory) -> Vec<String> {
    let mut gaps = Vec::new();
    if inv.boot.is_empty() {
        gaps.push("no root filesystem was found, so what starts at boot was not analysed".to_string());
    }
    for g in &inv.boot {
        for x in &g.gaps {
            gaps.push(format!("boot model of {} in {}: {x}", g.root, g.container));
        }
    }
    gaps
}

/// `(graph, start)` pairs of every start that can run.
pub fn running<'i>(inv: &'i Inventory) -> impl Iterator<Item = (&'i BootGraph, &'i ServiceStart)> {
    inv.boot
        .iter()
        .flat_map(|g| g.starts.iter().map(move |s| (g, s)))
        .filter(|(_, s)| s.runs())
}

/// The tree that holds the graph's root filesystem.
pub fn tree<'i>(inv: &'i Inventory, g: &BootGraph) -> Option<&'i FsTree> {
    inv.unpacked.filesystems.get(g.filesystem).map(|f| &f.tree)
}

/// Read a text file of the graph's root (device path), links followed.
pub fn read_text(inv: &Inventory, g: &BootGraph, dev: &str) -> Option<(String, String)> {
    let prefix = g.prefix();
    let (real, node) = tree(inv, g)?.resolve_in(&format!("{prefix}{dev}"), prefix)?;
    let data = node.data()?;
    Some((real.to_string(), String::from_utf8_lossy(data).into_owned()))
}
