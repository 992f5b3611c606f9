//! The first step of boot: which init runs, and what its inittab starts.
//!
//! `/sbin/init` decides how `/etc/inittab` is read:
//! - BusyBox init: `tty:ignored:action:process`, where an empty tty is the
//!   console; without an inittab BusyBox runs `/etc/init.d/rcS` and an
//!   `askfirst` `-/bin/sh` on the console (a shell without login);
//! - procd (OpenWrt) reads the same format, but its `sysinit` entry
//!   `/etc/init.d/rcS S boot` runs `/etc/rc.d/S*` with `boot` itself;
//! - SysV init: `id:runlevels:action:process`, entries outside the default
//!   runlevel do not run.
//!
//! Every process field is read as a shell command line, so scripts are
//! followed and programs resolved like any other start. `respawn` and
//! `askfirst` shells on a tty are recorded with their tty: they are
//! consoles.

use memchr::memmem;

use super::script::{Frame, Val, Walker};
use super::{Mechanism, basename, busybox};
use crate::unpack::tree::NodeKind;

/// One inittab line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub id: String,
    pub runlevels: String,
    pub action: String,
    pub process: String,
}

/// Parse inittab text; comments and malformed lines are skipped (and
/// returned separately as line numbers).
pub fn parse(text: &str) -> (Vec<Entry>, Vec<usize>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut it = line.splitn(4, ':');
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(id), Some(rl), Some(action), Some(process)) if !action.trim().is_empty() => out.push(Entry {
                line: i + 1,
                id: id.trim().to_string(),
                runlevels: rl.trim().to_string(),
                action: action.trim().to_string(),
                process: process.trim().to_string(),
            }),
            _ => bad.push(i + 1),
        }
    }
    (out, bad)
}

/// Actions that start something when the system boots.
const BOOT_ACTIONS: &[&str] = &[
    "sysinit",
    "boot",
    "bootwait",
    "wait",
    "once",
    "respawn",
    "askfirst",
    "askconsole",
    "respawnlate",
    "askconsolelate",
];

/// Identify the init system from `/sbin/init`.
fn detect(w: &Walker) -> String {
    let root = w.root;
    let Some((real, node)) = root.resolve("/sbin/init") else {
        return if root.node("/sbin/init").is_some() {
            "unknown"
        } else {
            "none"
        }
        .into();
    };
    let NodeKind::File(data) = &node.kind else {
        return "unknown".into();
    };
    if basename(real) == "systemd" {
        "systemd".into()
    } else if root.node("/sbin/procd").is_some() || memmem::find(data, b"/sbin/procd").is_some() {
        "procd".into()
    } else if busybox::is_busybox(data) {
        "busybox".into()
    } else if data.starts_with(b"#!") {
        "script".into()
    } else if memmem::find(data, b"INIT_VERSION").is_some() || memmem::find(data, b"sysvinit").is_some() {
        "sysvinit".into()
    } else {
        "unknown".into()
    }
}

/// Model what init starts; returns the init system's name.
pub fn start(w: &mut Walker) -> String {
    let init = detect(w);
    if init == "systemd" {
        return init;
    }
    if init == "script" {
        let kernel = Frame::new("(kernel)", Mechanism::Script);
        w.run_script(&kernel, None, "/sbin/init", Vec::new(), "init");
        return init;
    }
    let root = w.root;
    match root.file("/etc/inittab") {
        Some((real, data)) => {
            let real = real.to_string();
            let text = super::text(data);
            if init == "unknown" {
                w.gap(format!(
                    "/sbin/init is not a BusyBox, procd or SysV init; {real} was read as they would read it"
                ));
            }
            run_inittab(w, &init, &real, &text);
        }
        None => match init.as_str() {
            "busybox" => busybox_defaults(w),
            "none" if root.file("/etc/init.d/rcS").is_some() => {
                w.gap("no /sbin/init and no /etc/inittab: assumed that /etc/init.d/rcS runs at boot");
                let kernel = Frame::new("(kernel)", Mechanism::Rcs);
                w.run_script(&kernel, None, "/etc/init.d/rcS", Vec::new(), "sysinit");
            }
            _ => w.gap(format!(
                "init is `{init}` and there is no /etc/inittab: what starts at boot could not be modelled"
            )),
        },
    }
    init
}

/// BusyBox init without an inittab: rcS, then `askfirst -/bin/sh` on the
/// console and on tty2 to tty4 when those devices exist.
fn busybox_defaults(w: &mut Walker) {
    let init = w
        .root
        .resolve("/sbin/init")
        .map(|(r, _)| r.to_string())
        .unwrap_or_else(|| "/sbin/init".into());
    let mut f = Frame::new(&init, Mechanism::Inittab);
    f.action = Some("sysinit".into());
    if w.root.file("/etc/init.d/rcS").is_some() {
        w.run_script(&f, None, "/etc/init.d/rcS", Vec::new(), "sysinit");
    }
    for tty in ["console", "tty2", "tty3", "tty4"] {
        if tty != "console" && w.root.node(&format!("/dev/{tty}")).is_none() {
            continue;
        }
        let mut g = Frame::new(&init, Mechanism::Inittab);
        g.action = Some("askfirst".into());
        g.tty = Some(tty.into());
        g.record_all = true;
        w.run_snippet(&mut g, "-/bin/sh", 0);
    }
}

fn run_inittab(w: &mut Walker, init: &str, file: &str, text: &str) {
    let (entries, bad) = parse(text);
    for l in bad {
        w.gap(format!("{file}:{l}: not an inittab entry"));
    }
    let sysv = init == "sysvinit"
        || (init != "busybox"
            && init != "procd"
            && entries
                .iter()
                .any(|e| !e.runlevels.is_empty() && e.action != "initdefault"));
    let default_level = entries
        .iter()
        .find(|e| e.action == "initdefault")
        .map(|e| e.runlevels.clone());
    for e in &entries {
        if !BOOT_ACTIONS.contains(&e.action.as_str()) {
            continue;
        }
        if sysv
            && !matches!(e.action.as_str(), "sysinit" | "boot" | "bootwait")
            && !e.runlevels.is_empty()
            && let Some(level) = &default_level
            && !level.chars().any(|c| e.runlevels.contains(c))
        {
            continue;
        }
        if init == "procd" && e.action == "sysinit" && e.process.starts_with("/etc/init.d/rcS") {
            procd_rc(w, file, e);
            continue;
        }
        let mut f = Frame::new(file, Mechanism::Inittab);
        f.action = Some(e.action.clone());
        f.record_all = true;
        if !sysv {
            f.tty = Some(if e.id.is_empty() {
                "console".into()
            } else {
                e.id.clone()
            });
        }
        w.run_snippet(&mut f, &e.process, e.line);
    }
}

/// procd's `sysinit` handler: run every `/etc/rc.d/<pattern>*` in name
/// order with the parameter (`S boot`).
fn procd_rc(w: &mut Walker, file: &str, e: &Entry) {
    let mut words = e.process.split_whitespace().skip(1);
    let (pattern, param) = (words.next().unwrap_or("S"), words.next().unwrap_or("boot"));
    let mut f = Frame::new(file, Mechanism::Inittab);
    f.action = Some(e.action.clone());
    let mut names: Vec<String> = w
        .root
        .children("/etc/rc.d")
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with(pattern))
        .collect();
    names.sort();
    if names.is_empty() {
        w.gap(format!(
            "{file}:{}: procd runs /etc/rc.d/{pattern}*, and there is none",
            e.line
        ));
    }
    for n in names {
        w.run_script(
            &f,
            Some(e.line),
            &format!("/etc/rc.d/{n}"),
            vec![Val::Known(param.to_string())],
            "rc.d",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{APPLETS, busybox, walk};
    use super::super::{Condition, Mechanism, ServiceStart};
    use super::*;

    fn run(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> (String, Vec<ServiceStart>, Vec<String>) {
        let mut init = String::new();
        let (s, _, g) = walk(files, links, |w| init = start(w));
        (init, s, g)
    }

    #[test]
    fn parse_skips_comments_and_reports_bad_lines() {
        let (e, bad) = parse(
            "# ::respawn:/bin/sh\n::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\nnonsense\nid:2345:respawn:/sbin/getty 38400 tty1\n",
        );
        assert_eq!(e.len(), 3);
        assert_eq!(
            (e[1].line, e[1].id.as_str(), e[1].action.as_str()),
            (3, "ttyS0", "askfirst")
        );
        assert_eq!(e[2].process, "/sbin/getty 38400 tty1");
        assert_eq!(bad, [4]);
    }

    #[test]
    fn busybox_inittab_console_shell_and_rcs() {
        let bb = busybox(APPLETS);
        let (init, starts, gaps) = run(
            &[
                ("/bin/busybox", &bb),
                ("/etc/inittab", b"::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n#tty1::respawn:/bin/sh\n::shutdown:/bin/umount -a\n"),
                ("/etc/init.d/rcS", b"#!/bin/sh\ntelnetd\n"),
            ],
            &[("/sbin/init", "../bin/busybox"), ("/bin/sh", "busybox"), ("/usr/sbin/telnetd", "../../bin/busybox")],
        );
        assert_eq!(init, "busybox");
        assert!(gaps.is_empty(), "{gaps:?}");
        assert_eq!(starts.len(), 2, "{starts:?}");
        let sh = starts.iter().find(|s| s.name() == "sh").unwrap();
        assert_eq!(sh.program, "-/bin/sh");
        assert_eq!(
            (sh.mechanism, sh.line, sh.action.as_str()),
            (Mechanism::Inittab, Some(2), "askfirst")
        );
        assert_eq!(sh.tty.as_deref(), Some("ttyS0"));
        assert_eq!(sh.applet_present, Some(true));
        let t = starts.iter().find(|s| s.name() == "telnetd").unwrap();
        assert_eq!(t.mechanism, Mechanism::Rcs);
    }

    #[test]
    fn busybox_without_inittab_has_a_console_shell() {
        let bb = busybox(APPLETS);
        let (_, starts, _) = run(
            &[("/bin/busybox", &bb), ("/etc/init.d/rcS", b"mount -a\n")],
            &[("/sbin/init", "../bin/busybox"), ("/bin/sh", "busybox")],
        );
        assert_eq!(starts.len(), 1);
        assert_eq!(starts[0].location(), "/bin/busybox (built-in default)");
        assert_eq!(starts[0].tty.as_deref(), Some("console"));
        assert_eq!(starts[0].action, "askfirst");
    }

    #[test]
    fn procd_runs_rc_d_with_boot() {
        let (init, starts, gaps) = run(
            &[
                ("/sbin/procd", b"\x7fELF procd"),
                ("/sbin/init", b"\x7fELF /sbin/procd"),
                (
                    "/etc/inittab",
                    b"::sysinit:/etc/init.d/rcS S boot\nttyAMA0::askfirst:/bin/ash --login\n",
                ),
                ("/etc/init.d/web", b"#!/bin/sh\n[ \"$1\" = boot ] && /usr/sbin/web &\n"),
                ("/usr/sbin/web", b"\x7fELF web"),
                ("/bin/busybox", &busybox(APPLETS)),
            ],
            &[
                ("/etc/rc.d/S50web", "../init.d/web"),
                ("/etc/rc.d/K50web", "../init.d/web"),
                ("/bin/ash", "busybox"),
            ],
        );
        assert_eq!(init, "procd");
        assert!(gaps.is_empty(), "{gaps:?}");
        let web = starts.iter().find(|s| s.name() == "web").unwrap();
        assert_eq!(
            (web.mechanism, web.condition.clone()),
            (Mechanism::RcD, Condition::Unconditional)
        );
        let ash = starts.iter().find(|s| s.name() == "ash").unwrap();
        assert_eq!(ash.argv, ["/bin/ash", "--login"]);
        assert_eq!(ash.tty.as_deref(), Some("ttyAMA0"));
    }

    #[test]
    fn sysv_runlevels_outside_the_default_do_not_run() {
        let (init, starts, _) = run(
            &[
                ("/sbin/init", b"\x7fELF INIT_VERSION"),
                ("/sbin/getty", b"\x7fELF getty"),
                (
                    "/etc/inittab",
                    b"id:3:initdefault:\n1:2345:respawn:/sbin/getty 38400 tty1\n6:6:respawn:/sbin/getty 38400 tty6\n",
                ),
            ],
            &[],
        );
        assert_eq!(init, "sysvinit");
        assert_eq!(starts.len(), 1);
        assert_eq!(starts[0].argv, ["/sbin/getty", "38400", "tty1"]);
        assert_eq!(starts[0].tty, None);
    }

    #[test]
    fn nothing_to_follow_is_a_gap() {
        let (init, starts, gaps) = run(&[("/etc/passwd", b"root:x:0:0::/:/bin/sh\n")], &[]);
        assert_eq!(init, "none");
        assert!(starts.is_empty());
        assert!(gaps[0].contains("could not be modelled"), "{gaps:?}");
    }
}
