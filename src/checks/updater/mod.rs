//! The `updater` family: the update mechanism in the root filesystem, read
//! from its code path.
//!
//! The updater is found as the shell scripts that write flash (`mtd
//! write`, `flashcp`, `nandwrite`, `ubiupdatevol`, `sysupgrade`, `dd` onto
//! a flash or disk device) and name themselves an updater (`upgrade`,
//! `update`, `firmware`, `ota` in their path or text; a script that only
//! saves settings to flash is not one). Each is walked from its first line,
//! or from the scripts that call or source it ([`flow`]), and every flash
//! write is judged by the checks every path to it passed:
//!
//! - FW-UPD-004: no signature verification whose failure stops the write
//!   (one commented out, or whose failure is ignored, does not count);
//! - FW-UPD-005: no version comparison before the write (anti-rollback);
//! - FW-UPD-006: no signature verification, and the image came over a
//!   channel that authenticates nothing (plain HTTP, TFTP, certificate
//!   checks off): neither the image nor its source is authenticated.
//!
//! Update frameworks configured in the root (Mender, SWUpdate, RAUC) are
//! judged from their configuration ([`frameworks`]): no verification key
//! is FW-UPD-004, SWUpdate without `--no-downgrading` FW-UPD-005, and what
//! a framework leaves to hooks is a gap.
//!
//! OpenWrt's scripts are followed through `include /lib/upgrade` and the
//! functions of the sourced files. Since 18.06 OpenWrt hands the write
//! over to procd, which validates the image itself before running
//! `/lib/upgrade/do_stage2`: a write reached only from there is a gap for
//! FW-UPD-004/006 ([`HANDED_OVER`]), while FW-UPD-005 still applies.
//!
//! A root filesystem without an update script or framework is a coverage
//! gap, not a PASS: its updater may be a compiled program (a vendor upgrade daemon or
//! CGI), which this family does not read. So is a flash write no script
//! reaches (a program may run it), and anything the walk could not follow.
//! The rules are listed in `docs/rules/updater.md`, generated from
//! `checks/updater/`.

mod commands;
pub mod flow;
mod frameworks;

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, FamilyResult, Finding};
use crate::inventory::boot::shell::{self, Cmd, Simple};
use crate::inventory::boot::{BootGraph, Root, basename, text};
use crate::inventory::{Inventory, Origin};
use crate::rules;
use crate::unpack::tree::NodeKind;
use commands::Role;
use flow::{At, Kind, State, Walked, Walker, is_shell_script};

/// Bytes a script must contain to be read as a possible updater.
const FLASH_NEEDLES: &[&[u8]] = &[
    b"mtd",
    b"flashcp",
    b"nandwrite",
    b"ubiupdatevol",
    b"sysupgrade",
    b"of=/dev/",
];

/// Words that make a flash-writing script an updater.
const UPDATER_WORDS: &[&str] = &["upgrade", "update", "firmware", "fwup", "ota"];

/// Scripts a compiled program runs only after its own image validation:
/// OpenWrt's procd answers `ubus call system sysupgrade` by validating the
/// image (`/usr/libexec/validate_firmware_image`) and then has
/// `/sbin/upgraded` run `/lib/upgrade/stage2`, which runs `do_stage2`
/// (OpenWrt `package/base-files/files/lib/upgrade/`, procd `system.c`).
/// A write reached only from these is not judged for a signature from the
/// script alone: the check before the hand-over is in procd.
const HANDED_OVER: &[&str] = &["/lib/upgrade/stage2", "/lib/upgrade/do_stage2"];

/// Directories a bare command name is looked up in.
const PATH_DIRS: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin"];

/// Calls every simple command of a tree, in source order.
fn each_simple<'c>(cmds: &'c [Cmd], f: &mut impl FnMut(&'c Simple)) {
    for c in cmds {
        each_in(c, f);
    }
}

fn each_in<'c>(c: &'c Cmd, f: &mut impl FnMut(&'c Simple)) {
    match c {
        Cmd::Simple(s) => f(s),
        Cmd::AndOr(items) => items.iter().for_each(|(_, c)| each_in(c, f)),
        Cmd::Pipeline { cmds, .. } => each_simple(cmds, f),
        Cmd::If { arms, otherwise, .. } => {
            for (c, b) in arms {
                each_simple(c, f);
                each_simple(b, f);
            }
            if let Some(o) = otherwise {
                each_simple(o, f);
            }
        }
        Cmd::Case { arms, .. } => arms.iter().for_each(|(_, b)| each_simple(b, f)),
        Cmd::For { body, .. } => each_simple(body, f),
        Cmd::Loop { cond, body, .. } => {
            each_simple(cond, f);
            each_simple(body, f);
        }
        Cmd::Group(b) | Cmd::Subshell(b) => each_simple(b, f),
        Cmd::Func { body, .. } => each_in(body, f),
        Cmd::Background(b) => each_in(b, f),
    }
}

/// The flash writes a script contains anywhere (reached or not).
fn static_writes(cmds: &[Cmd]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    each_simple(cmds, &mut |s| {
        let argv = commands::argv(&s.words);
        if let Some(name) = commands::name(argv) {
            let args: Vec<String> = argv[1..].iter().map(commands::text).collect();
            if commands::role(&name, &args, &args) == Role::Flash {
                out.push((s.line, s.text()));
            }
        }
    });
    out
}

/// Whether the simple commands of `cmds` run or source `dev`.
fn calls(cmds: &[Cmd], dev: &str) -> bool {
    let in_path = PATH_DIRS.iter().any(|d| {
        dev.strip_prefix(d)
            .is_some_and(|r| r.starts_with('/') && r[1..].find('/').is_none())
    });
    let base = basename(dev);
    let mut found = false;
    each_simple(cmds, &mut |s| {
        let argv = commands::argv(&s.words);
        let Some(first) = argv.first().and_then(|w| w.literal()) else {
            return;
        };
        let target = if first == "." || first == "source" {
            argv.get(1).and_then(|w| w.literal())
        } else {
            Some(first)
        };
        if let Some(t) = target {
            found |= t == dev || (in_path && t == base);
        }
    });
    found
}

/// Whether `cmds` source every script of directory `dir`: OpenWrt's
/// `include /lib/upgrade` (its `/lib/functions.sh` defines `include` as
/// `. `-ing each `$1/*.sh`), or a `for` loop over `dir/*` or `$(ls dir/*)`.
fn includes_dir(cmds: &[Cmd], dir: &str) -> bool {
    let mut found = false;
    each_simple(cmds, &mut |s| {
        let argv = commands::argv(&s.words);
        if argv.first().and_then(|w| w.literal()).as_deref() == Some("include")
            && argv
                .get(1)
                .and_then(|w| w.literal())
                .is_some_and(|d| d.trim_end_matches('/') == dir)
        {
            found = true;
        }
    });
    found || cmds.iter().any(|c| for_over_dir(c, dir))
}

/// A `for` loop (anywhere in `c`) whose items name `dir/*`.
fn for_over_dir(c: &Cmd, dir: &str) -> bool {
    let any = |cs: &[Cmd]| cs.iter().any(|c| for_over_dir(c, dir));
    let needle = format!("{dir}/*");
    match c {
        Cmd::For { words, body, .. } => {
            words
                .as_ref()
                .is_some_and(|ws| ws.iter().any(|w| w.raw.contains(&needle)))
                || any(body)
        }
        Cmd::Simple(_) => false,
        Cmd::AndOr(items) => items.iter().any(|(_, c)| for_over_dir(c, dir)),
        Cmd::Pipeline { cmds, .. } => any(cmds),
        Cmd::If { arms, otherwise, .. } => {
            arms.iter().any(|(c, b)| any(c) || any(b)) || otherwise.as_deref().is_some_and(any)
        }
        Cmd::Case { arms, .. } => arms.iter().any(|(_, b)| any(b)),
        Cmd::Loop { cond, body, .. } => any(cond) || any(body),
        Cmd::Group(b) | Cmd::Subshell(b) => any(b),
        Cmd::Func { body, .. } | Cmd::Background(body) => for_over_dir(body, dir),
    }
}

/// One shell script of a root filesystem.
struct Script {
    dev: String,
    data: Vec<u8>,
}

/// What the walks found about one flash write.
#[derive(Default)]
struct Judged {
    gates: Option<State>,
    entries: BTreeSet<String>,
    verifications: BTreeSet<At>,
    checksums: BTreeSet<At>,
    insecure: BTreeSet<(At, String)>,
    files: BTreeSet<String>,
}

/// Verification commands that are there only as a comment: evidence that
/// one was meant and is switched off.
fn commented_verifications(root: &Root, files: &BTreeSet<String>) -> Vec<(String, usize, String)> {
    let mut out = Vec::new();
    for f in files {
        let Some((_, data)) = root.file(f) else { continue };
        for (i, l) in text(data).lines().enumerate() {
            let t = l.trim_start();
            if i == 0 && t.starts_with("#!") {
                continue;
            }
            let Some(c) = t.strip_prefix('#') else { continue };
            if [
                "-verify",
                "usign -V",
                "gpg --verify",
                "gpgv",
                "signify -V",
                "minisign -V",
            ]
            .iter()
            .any(|k| c.contains(k))
            {
                out.push((f.clone(), i + 1, t.to_string()));
            }
        }
    }
    out
}

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut out = FamilyResult::default();
    if inv.boot.is_empty() {
        out.gaps
            .push("no root filesystem was found, so the update mechanism could not be looked for".into());
        return out;
    }
    for g in &inv.boot {
        check_root(inv, g, &mut out);
    }
    out
}

fn check_root(inv: &Inventory, g: &BootGraph, out: &mut FamilyResult) {
    let Some(fs) = inv.unpacked.filesystems.get(g.filesystem) else {
        return;
    };
    let root = Root {
        tree: &fs.tree,
        prefix: g.prefix(),
    };
    // Other roots nested in this filesystem are judged on their own.
    let nested: Vec<&str> = inv
        .boot
        .iter()
        .filter(|o| o.filesystem == g.filesystem && o.root != g.root && o.prefix().starts_with(g.prefix()))
        .map(|o| o.prefix())
        .collect();
    let mut scripts: Vec<Script> = Vec::new();
    for (path, node) in fs.tree.iter() {
        let NodeKind::File(data) = &node.kind else { continue };
        let Some(dev) = path.strip_prefix(g.prefix()).filter(|d| d.starts_with('/')) else {
            continue;
        };
        if nested.iter().any(|n| path.starts_with(&format!("{n}/"))) {
            continue;
        }
        if is_shell_script(dev, data) {
            scripts.push(Script {
                dev: dev.to_string(),
                data: data.to_vec(),
            });
        }
    }
    let mut parsed: BTreeMap<&str, Vec<Cmd>> = BTreeMap::new();
    let mut candidates: Vec<(&Script, Vec<(usize, String)>)> = Vec::new();
    for s in &scripts {
        if !FLASH_NEEDLES.iter().any(|n| memchr::memmem::find(&s.data, n).is_some()) {
            continue;
        }
        let t = text(&s.data);
        let cmds = match shell::parse(&t) {
            Ok(c) => c,
            Err(e) => {
                out.gaps.push(format!(
                    "{}{} in {}: may write flash, but the shell reader could not read it: {e}",
                    g.prefix(),
                    s.dev,
                    g.container
                ));
                continue;
            }
        };
        let writes = static_writes(&cmds);
        let lower = format!("{}\n{}", s.dev, t).to_ascii_lowercase();
        if !writes.is_empty() && UPDATER_WORDS.iter().any(|w| lower.contains(w)) {
            candidates.push((s, writes));
        }
        parsed.insert(&s.dev, cmds);
    }
    let frameworks = frameworks::find(&root, g);
    for f in &frameworks {
        let full = root.full(&f.file);
        let finding = |rule: &str, evidence: String| Finding {
            rule: rule.to_string(),
            path: full.clone(),
            container: g.container.clone(),
            line: f.line,
            offset: f.line.is_none().then_some(0),
            evidence,
            sha256: inv
                .file_at(Origin::Filesystem(g.filesystem), &full)
                .map(|x| x.sha256().to_string()),
            secret: None,
            custom: None,
        };
        if let Err(why) = &f.verifies {
            out.findings
                .push(finding(rules::FW_UPD_004, format!("{} updates: {why}", f.name)));
        }
        if let Some(Err(why)) = &f.rollback {
            out.findings
                .push(finding(rules::FW_UPD_005, format!("{} updates: {why}", f.name)));
        }
        out.gaps
            .extend(f.gaps.iter().map(|x| format!("{} in {}: {x}", g.root, g.container)));
    }
    if candidates.is_empty() && !frameworks.is_empty() {
        return;
    }
    if candidates.is_empty() {
        out.gaps.push(format!(
            "{} in {}: no update script found (no shell script that writes flash with mtd write, flashcp, nandwrite, ubiupdatevol, sysupgrade or dd); the updater may be a compiled program, which is not analysed, so whether it verifies a signature or the version before flashing is not decided",
            g.root, g.container
        ));
        return;
    }
    // Entry points: a candidate nobody calls, else the scripts that call it.
    let mut entries: BTreeSet<String> = BTreeSet::new();
    for (c, _) in &candidates {
        let base = basename(&c.dev).as_bytes();
        let dir = c.dev.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let mut callers = Vec::new();
        for s in &scripts {
            let names_dir = !dir.is_empty() && memchr::memmem::find(&s.data, dir.as_bytes()).is_some();
            if s.dev == c.dev || (memchr::memmem::find(&s.data, base).is_none() && !names_dir) {
                continue;
            }
            let is_caller_in = |cmds: &[Cmd]| calls(cmds, &c.dev) || (names_dir && includes_dir(cmds, dir));
            let is_caller = match parsed.get(s.dev.as_str()) {
                Some(cmds) => is_caller_in(cmds),
                None => shell::parse(&text(&s.data)).is_ok_and(|cmds| is_caller_in(&cmds)),
            };
            if is_caller {
                callers.push(s.dev.clone());
            }
        }
        if callers.is_empty() {
            entries.insert(c.dev.clone());
        } else {
            entries.extend(callers);
        }
    }
    let mut judged: BTreeMap<At, Judged> = BTreeMap::new();
    for e in &entries {
        let w: Walked = Walker::new(root).run(e);
        out.gaps
            .extend(w.gaps.iter().map(|x| format!("{} in {}: {x}", g.root, g.container)));
        for (at, gates) in &w.writes {
            let j = judged.entry(at.clone()).or_default();
            j.gates = Some(match j.gates.take() {
                Some(prev) => prev.intersection(gates).cloned().collect(),
                None => gates.clone(),
            });
            j.entries.insert(e.clone());
            j.verifications.extend(w.verifications.iter().cloned());
            j.checksums.extend(w.checksums.iter().cloned());
            j.insecure.extend(w.insecure_fetches.iter().cloned());
            j.files.extend(w.files.iter().cloned());
        }
    }
    for (c, writes) in &candidates {
        for (line, t) in writes {
            if !judged.keys().any(|a| a.file == c.dev && a.line == *line) {
                out.gaps.push(format!(
                    "{}{}:{line} in {}: `{t}` writes flash but no script's top level reaches it (a program may run it): whether it is verified first is not decided",
                    g.prefix(),
                    c.dev,
                    g.container
                ));
            }
        }
    }
    for (at, j) in &judged {
        let gates = j.gates.clone().unwrap_or_default();
        let has = |k: Kind| gates.iter().any(|x| x.kind == k);
        let full = root.full(&at.file);
        let finding = |rule: &str, evidence: String| Finding {
            rule: rule.to_string(),
            path: full.clone(),
            container: g.container.clone(),
            line: Some(at.line),
            offset: None,
            evidence,
            sha256: inv
                .file_at(Origin::Filesystem(g.filesystem), &full)
                .map(|f| f.sha256().to_string()),
            secret: None,
            custom: None,
        };
        let via = if j.entries.len() == 1 && j.entries.contains(&at.file) {
            String::new()
        } else {
            format!(
                " (reached from {})",
                j.entries.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        let handed_over = j.entries.iter().all(|e| HANDED_OVER.contains(&e.as_str()));
        if !has(Kind::Signature) && handed_over {
            out.gaps.push(format!(
                "{full}:{} in {}: `{}` writes flash{via}, which OpenWrt's procd runs after validating the image itself (ubus system sysupgrade, /usr/libexec/validate_firmware_image); whether a signature is required before the write is decided there, in a compiled program, and is not judged",
                at.line, g.container, at.text
            ));
        } else if !has(Kind::Signature) {
            let mut notes: Vec<String> = Vec::new();
            for v in &j.verifications {
                notes.push(format!(
                    "`{}` at {}:{} runs, but a failure does not stop the write",
                    v.text, v.file, v.line
                ));
            }
            for (f, l, t) in commented_verifications(&root, &j.files) {
                notes.push(format!("a verification is commented out at {f}:{l}: `{t}`"));
            }
            for c in &j.checksums {
                notes.push(format!(
                    "`{}` at {}:{} checks a checksum: integrity against damage only, no authenticity",
                    c.text, c.file, c.line
                ));
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            };
            out.findings.push(finding(
                rules::FW_UPD_004,
                format!(
                    "`{}` writes flash{via}, and no signature verification whose failure stops it comes before it on every path{notes}",
                    at.text
                ),
            ));
            if let Some((f, why)) = j.insecure.iter().next() {
                out.findings.push(finding(
                    rules::FW_UPD_006,
                    format!(
                        "`{}` writes flash{via} without a verified signature, and the update is fetched over a channel that authenticates nothing: {why} (`{}` at {}:{})",
                        at.text, f.text, f.file, f.line
                    ),
                ));
            }
        }
        if !has(Kind::Version) {
            out.findings.push(finding(
                rules::FW_UPD_005,
                format!(
                    "`{}` writes flash{via} with no version comparison before it on every path: an older, vulnerable image is installed as readily as a newer one",
                    at.text
                ),
            ));
        }
    }
}
