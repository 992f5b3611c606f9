//! The `debug` family: debug and test interfaces left on in software.
//!
//! Consoles come from the boot model (inittab and systemd entries and the
//! gettys they run), network shells and debug daemons from any start line,
//! ADB from Android properties, debug CGIs from web roots, and the
//! bootloader console from U-Boot environments.
//!
//! The rules are listed in `docs/rules/debug.md`, generated from
//! `checks/debug/`.

use super::starts::{applet_unknown, at_file, at_start, flag_value, graph_gaps, is_shell, read_text, running, tree};
use super::{Context, FamilyResult, Finding};
use crate::inventory::boot::{BootGraph, Mechanism, ServiceStart, basename, is_serial};
use crate::inventory::{Inventory, UbootFound};
use crate::rules;

const GETTYS: &[&str] = &["getty", "agetty", "mingetty", "mgetty", "fbgetty", "uugetty"];
const LOGINS: &[&str] = &["login", "sulogin"];
const DEBUG_DAEMONS: &[&str] = &[
    "gdbserver",
    "gdbserver64",
    "tcf-agent",
    "ated",
    "ate_server",
    "mfgd",
    "mptest",
    "factory_test",
    "factorytest",
    "factoryd",
    "debugd",
    "dbgd",
    "qcmbr",
];
const NETCATS: &[&str] = &["nc", "netcat", "ncat", "socat"];
const WEB_ROOTS: &[&str] = &[
    "/www",
    "/web",
    "/var/www",
    "/usr/www",
    "/home/httpd",
    "/usr/share/www",
    "/htdocs",
    "/webs",
];
const CGI_WORDS: &[&str] = &[
    "debug", "factory", "telnet", "backdoor", "mptest", "shell", "syscmd", "sysexec",
];
const PROP_FILES: &[&str] = &[
    "/default.prop",
    "/prop.default",
    "/system/build.prop",
    "/vendor/build.prop",
    "/system/etc/prop.default",
];

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut findings = Vec::new();
    let mut gaps = graph_gaps(inv);
    for (g, s) in running(inv) {
        let name = s.name();
        let console = matches!(s.mechanism, Mechanism::Inittab | Mechanism::Systemd);
        if console && (is_shell(&name) || GETTYS.contains(&name.as_str()) || LOGINS.contains(&name.as_str())) {
            if applet_unknown(s) {
                gaps.push(format!(
                    "{}: `{name}` is started, but whether BusyBox has it compiled in is unknown",
                    s.location()
                ));
                continue;
            }
            console_entry(inv, g, s, &name, &mut findings);
        }
        // A boot script that runs an interactive shell in the foreground
        // hands init's console (the serial line, during boot) to it.
        if !console && s.action == "foreground" && is_shell(&name) && !s.argv.iter().any(|a| a == "-c") {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_DEBUG_001,
                format!("boot script runs an interactive `{name}` on the console without any login"),
            ));
        }
        if name == "adbd" {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_DEBUG_003,
                "the Android debug bridge daemon runs at boot".into(),
            ));
        }
        if DEBUG_DAEMONS.contains(&name.as_str()) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_DEBUG_004,
                format!("debug or factory-test daemon `{name}` runs at boot"),
            ));
        }
        network_shell(inv, g, s, &name, &mut findings);
    }
    for g in &inv.boot {
        adb_props(inv, g, &mut findings);
        debug_cgi(inv, g, &mut findings);
    }
    for u in &inv.uboot {
        uboot(inv, u, &mut findings);
    }
    FamilyResult { findings, gaps }
}

/// FW-DEBUG-001 / FW-DEBUG-002: what an inittab or systemd console entry gives.
fn console_entry(inv: &Inventory, g: &BootGraph, s: &ServiceStart, name: &str, findings: &mut Vec<Finding>) {
    let tty = s.terminal().unwrap_or_else(|| "console".into());
    let kind = if is_serial(&tty) {
        "serial console"
    } else {
        "virtual console"
    };
    let args: Vec<String> = s.argv.iter().chain(&s.optional_args).cloned().collect();
    if is_shell(name) {
        if args.iter().any(|a| a == "-c") {
            return;
        }
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_DEBUG_001,
            format!("a `{name}` shell is offered on the {kind} {tty} without any login"),
        ));
        return;
    }
    if GETTYS.contains(&name) {
        if let Some(prog) = flag_value(&args, &["-l", "--login-program"]).filter(|p| is_shell(p)) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_DEBUG_001,
                format!("`{name}` on the {kind} {tty} runs the shell `{prog}` instead of login"),
            ));
            return;
        }
        if let Some(user) = flag_value(&args, &["-a", "--autologin"]) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_DEBUG_001,
                format!("`{name}` on the {kind} {tty} logs `{user}` in without a password"),
            ));
            return;
        }
    }
    if name == "login"
        && let Some(user) = flag_value(&args, &["-f"])
    {
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_DEBUG_001,
            format!("`login -f {user}` on the {kind} {tty} skips the password"),
        ));
        return;
    }
    if is_serial(&tty) {
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_DEBUG_002,
            format!("a login prompt (`{name}`) is offered on the serial console {tty}; it asks for a password"),
        ));
    }
}

/// FW-DEBUG-005: a shell handed to the network (netcat `-e`, socat `exec:`,
/// tcpsvd or inetd running a shell).
fn network_shell(inv: &Inventory, g: &BootGraph, s: &ServiceStart, name: &str, findings: &mut Vec<Finding>) {
    let args: Vec<String> = s.argv.iter().chain(&s.optional_args).cloned().collect();
    let hit = if NETCATS.contains(&name) {
        flag_value(&args, &["-e", "-c", "--exec", "--sh-exec"])
            .filter(|p| is_shell(p.split_whitespace().next().unwrap_or(p)))
            .map(|p| format!("`{name}` hands `{p}` to whoever connects"))
            .or_else(|| {
                args.iter()
                    .find(|a| {
                        let l = a.to_ascii_lowercase();
                        (l.starts_with("exec:") || l.starts_with("system:"))
                            && is_shell(l.split([':', ' ']).nth(1).unwrap_or(""))
                    })
                    .map(|a| format!("`{name}` runs `{a}` for whoever connects"))
            })
    } else if is_shell(name) && (s.mechanism == Mechanism::Inetd || s.action.ends_with("svd connection")) {
        Some(format!(
            "`{name}` is served on port {} with no login",
            s.ports.join(", ")
        ))
    } else {
        None
    };
    if let Some(what) = hit {
        findings.push(at_start(inv, g, s, rules::FW_DEBUG_005, what));
    }
}

/// FW-DEBUG-003 from Android properties.
fn adb_props(inv: &Inventory, g: &BootGraph, findings: &mut Vec<Finding>) {
    for p in PROP_FILES {
        let Some((real, text)) = read_text(inv, g, p) else {
            continue;
        };
        for (i, l) in text.lines().enumerate() {
            let Some((k, v)) = l.trim().split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            let why = match k {
                "ro.adb.secure" if v == "0" => "ADB accepts hosts without key authorisation",
                "ro.secure" if v == "0" => "adbd runs as root",
                "ro.debuggable" if v == "1" => "the build is debuggable (adb root allowed)",
                "persist.sys.usb.config" | "persist.service.adb.enable" | "sys.usb.config"
                    if v.split(',').any(|x| x == "adb") || v == "1" =>
                {
                    "ADB is enabled over USB"
                }
                "service.adb.tcp.port" | "persist.adb.tcp.port" if v.parse::<u32>().is_ok_and(|n| n > 0) => {
                    "ADB listens on the network"
                }
                _ => continue,
            };
            findings.push(at_file(
                inv,
                g,
                &real,
                Some(i + 1),
                rules::FW_DEBUG_003,
                format!("`{k}={v}`: {why}"),
            ));
        }
    }
}

/// FW-DEBUG-006: CGI or pages in a web root named for debug or factory use.
fn debug_cgi(inv: &Inventory, g: &BootGraph, findings: &mut Vec<Finding>) {
    let Some(tree) = tree(inv, g) else {
        return;
    };
    let prefix = g.prefix();
    for (path, _) in tree.files() {
        let Some(dev) = path.strip_prefix(prefix) else { continue };
        let in_web = WEB_ROOTS.iter().any(|r| dev.starts_with(&format!("{r}/"))) || dev.contains("/cgi-bin/");
        if !in_web {
            continue;
        }
        let base = basename(dev).to_ascii_lowercase();
        let (stem, ext) = base.rsplit_once('.').unwrap_or((base.as_str(), ""));
        let handler = dev.contains("/cgi-bin/") || matches!(ext, "cgi" | "sh" | "asp" | "php" | "lua" | "pl");
        if handler && let Some(w) = CGI_WORDS.iter().find(|w| stem.contains(**w)) {
            let mut f = at_file(
                inv,
                g,
                path,
                None,
                rules::FW_DEBUG_006,
                format!("web handler `{}` is named for {w} use", basename(dev)),
            );
            // The handler is found by its name, not by anything in it (it may
            // be a script or a binary): the evidence is the whole file, so the
            // finding points at its start, offset 0.
            f.offset = Some(0);
            findings.push(f);
        }
    }
}

/// FW-DEBUG-007 (and FW-DEBUG-001 for `init=` a shell) from a U-Boot environment.
fn uboot(inv: &Inventory, u: &UbootFound, findings: &mut Vec<Finding>) {
    let Some(f) = inv.files.get(u.file) else { return };
    let env = &u.env;
    let mk = |rule: &str, evidence: String| Finding::in_file(rule, f, None, Some(env.offset), evidence);
    let bootargs = env.get("bootargs").unwrap_or("");
    if let Some(init) = bootargs.split_whitespace().find_map(|w| w.strip_prefix("init="))
        && is_shell(init)
    {
        findings.push(mk(
            rules::FW_DEBUG_001,
            format!(
                "U-Boot {} environment boots the kernel with `init={init}`: a root shell without login",
                env.kind
            ),
        ));
    }
    let Some(delay) = env.get("bootdelay") else { return };
    let Ok(d) = delay.trim().parse::<i64>() else { return };
    if d == -2 {
        return;
    }
    let mut notes = Vec::new();
    if d == -1 {
        notes.push("autoboot is off: the U-Boot prompt waits on the console".to_string());
    }
    if let Some(c) = bootargs.split_whitespace().find(|w| w.starts_with("console=")) {
        notes.push(format!("kernel {c}"));
    }
    if env.get("silent").is_some_and(|v| v != "0" && !v.is_empty()) {
        notes.push("silent is set".into());
    }
    if ["bootstopkey", "bootstopkey2", "bootdelaykey", "bootstopkeysha256"]
        .iter()
        .any(|k| env.get(k).is_some())
    {
        notes.push("a stop key is configured".into());
    } else if memchr::memmem::find(f.data, b"bootstopkey").is_some() {
        notes.push(
            "this U-Boot has keyed autoboot compiled in: a stop string is needed, and vendor defaults are public"
                .into(),
        );
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join("; "))
    };
    findings.push(mk(
        rules::FW_DEBUG_007,
        format!(
            "U-Boot {} environment has bootdelay={delay}: the boot can be interrupted on the serial console to reach the bootloader shell{notes}",
            env.kind
        ),
    ));
}
