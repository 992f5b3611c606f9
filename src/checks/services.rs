//! The `services` family: network services the firmware starts at boot,
//! and whether they authenticate and encrypt.
//!
//! Every decision is made on the boot model: a service counts only when a
//! start line reaches it (a commented-out `telnetd` or an unused
//! `inetd.conf` is not a finding), and a BusyBox applet only when it is
//! compiled in (unknown → a coverage gap, never a pass).
//!
//! The rules are listed in `docs/rules/services.md`, generated from
//! `checks/services/`.

use memchr::memmem;

use super::daemons::{FTPD, RLOGIN, SNMPD, TELNETD, TFTPD, UPNP, WEB};
use super::starts::{applet_unknown, at_file, at_start, flag_value, graph_gaps, is_shell, read_text, running, tree};
use super::{Context, FamilyResult, Finding, Secret};
use crate::hash::fingerprint_of;
use crate::inventory::boot::{BootGraph, ServiceStart, basename};
use crate::inventory::keys::ssh;
use crate::inventory::{Inventory, Origin};
use crate::rules;
use crate::unpack::tree::NodeKind;

/// Markers of a TLS library inside a server binary (symbols or DT_NEEDED).
const TLS_MARKERS: &[&[u8]] = &[
    b"SSL_CTX_new",
    b"SSL_library_init",
    b"OPENSSL_init_ssl",
    b"mbedtls_ssl_",
    b"wolfSSL_",
    b"CyaSSL_",
    b"gnutls_",
    b"matrixSsl",
    b"libustream-ssl",
    b"libssl.so",
    b"libmbedtls",
    b"libwolfssl",
    b"libaxtls",
];

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut findings = Vec::new();
    let mut gaps = graph_gaps(inv);
    for (g, s) in running(inv) {
        let name = s.name();
        let n = name.as_str();
        if TELNETD.contains(&n) {
            if applet_unknown(s) {
                gaps.push(format!(
                    "{}: `{n}` is started, but whether BusyBox has it compiled in is unknown",
                    s.location()
                ));
                continue;
            }
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_SVC_001,
                format!("telnet server `{n}` runs at boot"),
            ));
            let mut all = s.argv.clone();
            all.extend(s.optional_args.iter().cloned());
            if let Some(prog) = flag_value(&all, &["-l", "-L"]).filter(|p| is_shell(p)) {
                findings.push(at_start(
                    inv,
                    g,
                    s,
                    rules::FW_SVC_002,
                    format!("telnet server `{n}` runs `{prog}` instead of a login program: a shell without password"),
                ));
            }
        } else if RLOGIN.contains(&n) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_SVC_003,
                format!("r-service `{n}` runs at boot"),
            ));
        } else if FTPD.contains(&n) {
            if applet_unknown(s) {
                gaps.push(format!(
                    "{}: `{n}` is started, but whether BusyBox has it compiled in is unknown",
                    s.location()
                ));
                continue;
            }
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_SVC_004,
                format!("FTP server `{n}` runs at boot"),
            ));
        } else if TFTPD.contains(&n) || (n == "dnsmasq" && s.argv.iter().any(|a| a == "--enable-tftp")) {
            if applet_unknown(s) {
                gaps.push(format!(
                    "{}: `{n}` is started, but whether BusyBox has it compiled in is unknown",
                    s.location()
                ));
                continue;
            }
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_SVC_005,
                format!("TFTP server `{n}` runs at boot"),
            ));
        } else if n.ends_with("httpd") || WEB.contains(&n) {
            web(inv, g, s, &mut findings, &mut gaps);
        } else if UPNP.contains(&n) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_SVC_007,
                format!("UPnP server `{n}` runs at boot"),
            ));
        } else if SNMPD.contains(&n) {
            snmp(inv, g, s, &mut findings, &mut gaps);
        } else if n == "dropbear" {
            dropbear(inv, g, s, &mut findings);
        } else if n == "sshd" {
            sshd(inv, g, s, &mut findings);
        }
    }
    for g in &inv.boot {
        host_keys(inv, g, &mut findings, &mut gaps);
        stream_auth(inv, g, &mut findings);
    }
    FamilyResult { findings, gaps }
}

/// FW-SVC-006: a web server with no sign of TLS.
fn web(inv: &Inventory, g: &BootGraph, s: &ServiceStart, findings: &mut Vec<Finding>, gaps: &mut Vec<String>) {
    let n = s.name();
    if applet_unknown(s) {
        gaps.push(format!(
            "{}: `{n}` is started, but whether BusyBox has it compiled in is unknown",
            s.location()
        ));
        return;
    }
    // BusyBox httpd has no TLS at all.
    let tls = s.applet.is_none() && (binary_has_tls(inv, g, s) || uhttpd_tls(inv, g, s) || config_tls(inv, g, s));
    if !tls {
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_SVC_006,
            format!("web server `{n}` runs at boot and nothing in it or its configuration offers TLS: management over plain HTTP"),
        ));
    }
}

fn binary_has_tls(inv: &Inventory, g: &BootGraph, s: &ServiceStart) -> bool {
    let Some(b) = &s.binary else { return false };
    inv.file(g.filesystem, b)
        .is_some_and(|f| TLS_MARKERS.iter().any(|m| memmem::find(f.data, m).is_some()))
}

/// uhttpd: `-s` listens with TLS; on OpenWrt the UCI `listen_https`.
fn uhttpd_tls(inv: &Inventory, g: &BootGraph, s: &ServiceStart) -> bool {
    if s.name() != "uhttpd" {
        return false;
    }
    if s.argv.iter().chain(&s.optional_args).any(|a| a == "-s") {
        return true;
    }
    read_text(inv, g, "/etc/config/uhttpd")
        .is_some_and(|(_, t)| t.lines().any(|l| l.trim_start().starts_with("list listen_https")))
}

/// lighttpd `ssl.engine = "enable"`, nginx `listen … ssl`.
fn config_tls(inv: &Inventory, g: &BootGraph, s: &ServiceStart) -> bool {
    let (conf, marker): (&str, fn(&str) -> bool) = match s.name().as_str() {
        "lighttpd" => (
            flag_value(&s.argv, &["-f"]).unwrap_or("/etc/lighttpd/lighttpd.conf"),
            |l| l.contains("ssl.engine") && l.contains("enable"),
        ),
        "nginx" => (flag_value(&s.argv, &["-c"]).unwrap_or("/etc/nginx/nginx.conf"), |l| {
            l.trim_start().starts_with("listen") && l.contains("ssl")
        }),
        _ => return false,
    };
    read_text(inv, g, conf).is_some_and(|(_, t)| t.lines().filter(|l| !l.trim_start().starts_with('#')).any(marker))
}

/// FW-SVC-008: SNMP with the `public` or `private` community.
fn snmp(inv: &Inventory, g: &BootGraph, s: &ServiceStart, findings: &mut Vec<Finding>, gaps: &mut Vec<String>) {
    let weak = |c: &str| {
        let c = c.trim_matches(['"', '\'']);
        c.eq_ignore_ascii_case("public") || c.eq_ignore_ascii_case("private")
    };
    if s.name() == "mini_snmpd" {
        let c = flag_value(&s.argv, &["-c"]).unwrap_or("public");
        if weak(c) {
            findings.push(at_start(
                inv,
                g,
                s,
                rules::FW_SVC_008,
                format!("mini_snmpd answers the community `{c}` (its default is `public`)"),
            ));
        }
        return;
    }
    let candidates: Vec<String> = match flag_value(&s.argv, &["-c", "-C"]) {
        Some(c) => vec![c.to_string()],
        None => [
            "/etc/snmp/snmpd.conf",
            "/etc/snmpd.conf",
            "/usr/share/snmp/snmpd.conf",
            "/etc/config/snmpd",
        ]
        .iter()
        .map(|p| p.to_string())
        .collect(),
    };
    let mut any = false;
    for c in candidates {
        let Some((real, text)) = read_text(inv, g, &c) else {
            continue;
        };
        any = true;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('#') {
                continue;
            }
            let w: Vec<&str> = t.split_whitespace().collect();
            let community = match w.as_slice() {
                [k, c, ..] if k.starts_with("rocommunity") || k.starts_with("rwcommunity") => Some(*c),
                ["com2sec", _, _, c, ..] | ["com2sec6", _, _, c, ..] => Some(*c),
                ["option", "community", c, ..] => Some(*c),
                _ => None,
            };
            if let Some(c) = community.filter(|c| weak(c)) {
                findings.push(at_file(
                    inv,
                    g,
                    &real,
                    Some(i + 1),
                    rules::FW_SVC_008,
                    format!(
                        "SNMP community `{}` is configured, and `{}` runs at boot ({})",
                        c.trim_matches(['"', '\'']),
                        s.name(),
                        s.location()
                    ),
                ));
            }
        }
    }
    if !any {
        gaps.push(format!(
            "{}: snmpd is started, but its configuration is not in the image",
            s.location()
        ));
    }
}

/// A UCI boolean (`on`, `1`, `yes`, `true`, `enabled`).
fn uci_true(v: &str) -> bool {
    matches!(
        v.trim_matches(['\'', '"']).to_ascii_lowercase().as_str(),
        "1" | "on" | "yes" | "true" | "enabled"
    )
}

/// The value of `option NAME` in an OpenWrt UCI file.
fn uci_option(text: &str, name: &str) -> Option<(usize, String)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.as_slice() {
            ["option", n, v, ..] if *n == name => Some((i + 1, v.trim_matches(['\'', '"']).to_string())),
            _ => None,
        }
    })
}

/// FW-SVC-009 / FW-SVC-010 for dropbear: `-B` allows blank passwords;
/// without `-w`, `-g` or `-s` root can log in with a password. OpenWrt adds
/// those flags from `/etc/config/dropbear`.
fn dropbear(inv: &Inventory, g: &BootGraph, s: &ServiceStart, findings: &mut Vec<Finding>) {
    let has = |f: &str| s.argv.iter().any(|a| a == f);
    let optional = |f: &str| s.optional_args.iter().any(|a| a == f);
    let uci = read_text(inv, g, "/etc/config/dropbear");
    // An optional flag is on when the UCI option that adds it says so.
    let from_uci = |flag: &str, option: &str, when_false: bool| -> bool {
        if !optional(flag) {
            return false;
        }
        match uci.as_ref().and_then(|(_, t)| uci_option(t, option)) {
            Some((_, v)) => uci_true(&v) != when_false,
            None => false,
        }
    };
    if has("-B") {
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_SVC_009,
            "dropbear runs with `-B`: blank passwords can log in".into(),
        ));
    }
    let no_root = has("-w") || from_uci("-w", "RootLogin", true);
    let no_root_pw = has("-g") || from_uci("-g", "RootPasswordAuth", true);
    let no_pw = has("-s") || from_uci("-s", "PasswordAuth", true);
    if !(no_root || no_root_pw || no_pw) {
        let how = match &uci {
            Some((p, _)) if !s.optional_args.is_empty() => {
                format!(" ({p} leaves PasswordAuth and RootPasswordAuth on)")
            }
            _ => String::new(),
        };
        findings.push(at_start(
            inv,
            g,
            s,
            rules::FW_SVC_010,
            format!("dropbear runs without `-w`, `-g` or `-s`: root can log in over SSH with a password{how}"),
        ));
    }
}

/// FW-SVC-009 / FW-SVC-010 for OpenSSH from `sshd_config` (first value wins).
fn sshd(inv: &Inventory, g: &BootGraph, s: &ServiceStart, findings: &mut Vec<Finding>) {
    let conf = flag_value(&s.argv, &["-f"]).unwrap_or("/etc/ssh/sshd_config");
    let Some((real, text)) = read_text(inv, g, conf) else {
        return;
    };
    let mut first = std::collections::BTreeMap::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if t.to_ascii_lowercase().starts_with("match ") {
            break;
        }
        let mut w = t.split_whitespace();
        if let (Some(k), Some(v)) = (w.next(), w.next()) {
            first
                .entry(k.to_ascii_lowercase())
                .or_insert((i + 1, v.to_ascii_lowercase()));
        }
    }
    if let Some((line, v)) = first.get("permitemptypasswords")
        && v == "yes"
    {
        findings.push(at_file(
            inv,
            g,
            &real,
            Some(*line),
            rules::FW_SVC_009,
            format!("PermitEmptyPasswords yes, and sshd runs at boot ({})", s.location()),
        ));
    }
    let pw = first.get("passwordauthentication").is_none_or(|(_, v)| v != "no");
    if let Some((line, v)) = first.get("permitrootlogin")
        && v == "yes"
        && pw
    {
        findings.push(at_file(
            inv,
            g,
            &real,
            Some(*line),
            rules::FW_SVC_010,
            format!(
                "PermitRootLogin yes with password authentication, and sshd runs at boot ({})",
                s.location()
            ),
        ));
    }
}

/// FW-SVC-011: private SSH host keys shipped in the image.
///
/// A file is called a key only once it parses as one ("parse the key
/// before calling it one"): the inventory's key readers (PEM, OpenSSH,
/// PuTTY, DER; [`keys::discover`](crate::inventory::keys::discover)) or,
/// for dropbear's own binary format, [`ssh::dropbear_private`]. A file named
/// like a host key that looks like key material but does not parse is a
/// coverage gap (it may be a key in a form fwcert does not read); one that
/// does not even look like key material (a placeholder note) is nothing.
fn host_keys(inv: &Inventory, g: &BootGraph, findings: &mut Vec<Finding>, gaps: &mut Vec<String>) {
    let Some(tree) = tree(inv, g) else {
        return;
    };
    let prefix = g.prefix();
    for dir in ["/etc/dropbear", "/etc/ssh"] {
        for (name, node) in tree.children(&format!("{prefix}{dir}")) {
            let is_key = (name.starts_with("dropbear_") || name.starts_with("ssh_host_")) && name.ends_with("_key");
            let NodeKind::File(data) = &node.kind else { continue };
            if !is_key || data.is_empty() {
                continue;
            }
            let kind = name
                .trim_start_matches("dropbear_")
                .trim_start_matches("ssh_host_")
                .trim_end_matches("_host_key")
                .trim_end_matches("_key");
            let path = format!("{prefix}{dir}/{name}");
            let origin = Origin::Filesystem(g.filesystem);
            let index = inv.files.iter().position(|f| f.origin == origin && f.path == path);
            let mut parsed: Vec<HostKey> = index
                .map(|i| {
                    inv.keys
                        .private_keys
                        .iter()
                        .filter(|k| k.at.file == i)
                        .map(|k| HostKey {
                            line: k.at.line,
                            // A text key is cited by its line, a binary one by its offset.
                            offset: k.at.line.is_none().then_some(k.at.offset),
                            what: k.key.describe(),
                            format: k.format.clone(),
                            fingerprint: k.fingerprint.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            if parsed.is_empty() {
                // dropbear's format has no marker to find it by in any file,
                // so it is read here, from the file the name points at. The
                // key is the whole file: offset 0 is where its evidence starts.
                parsed.extend(ssh::dropbear_private(data).map(|k| HostKey {
                    line: None,
                    offset: Some(0),
                    what: k.info.describe(),
                    format: "dropbear".into(),
                    fingerprint: fingerprint_of(k.spki.as_deref().unwrap_or(data)),
                }));
            }
            if parsed.is_empty() {
                if looks_like_key(inv, index, data) {
                    gaps.push(format!(
                        "{path}: named as an SSH host key and shaped like key material, but it does not parse as a key; whether the image ships a host key there is unknown"
                    ));
                }
                continue;
            }
            for HostKey {
                line,
                offset,
                what,
                format,
                fingerprint,
            } in parsed
            {
                let weak = if matches!(kind, "dss" | "dsa") || what.starts_with("DSA") {
                    "; DSA host keys are also obsolete"
                } else {
                    ""
                };
                let mut f = at_file(
                    inv,
                    g,
                    &path,
                    line,
                    rules::FW_SVC_011,
                    format!(
                        "private {kind} SSH host key ({what}, {format}, {} bytes) ships in the image, so every unit has the same key{weak}",
                        data.len()
                    ),
                );
                f.offset = offset;
                f.secret = Some(Secret {
                    value: None,
                    fingerprint,
                });
                findings.push(f);
            }
        }
    }
}

/// A private key read from a host-key file: where it is, what it is, and
/// its fingerprint (`sha256:` over the public key when it can be derived).
struct HostKey {
    line: Option<usize>,
    offset: Option<u64>,
    what: String,
    format: String,
    fingerprint: String,
}

/// Whether a host-key file that did not parse still looks like key
/// material: the key readers saw a key marker in it, or it starts like an
/// SSH wire-format key (a length-prefixed `ssh-…` or `ecdsa-…` type name).
fn looks_like_key(inv: &Inventory, index: Option<usize>, data: &[u8]) -> bool {
    let marked = index.is_some_and(|i| {
        let k = &inv.keys;
        k.look_alikes.iter().chain(&k.unopened).any(|l| l.at.file == i)
    });
    let wire = data.len() > 8
        && data[..4] == [0, 0, 0, data[3]]
        && (data[4..].starts_with(b"ssh-") || data[4..].starts_with(b"ecdsa-"));
    marked || wire || memmem::find(data, b"PRIVATE KEY").is_some()
}

/// FW-SVC-012: RTSP or ONVIF authentication switched off in a config file.
fn stream_auth(inv: &Inventory, g: &BootGraph, findings: &mut Vec<Finding>) {
    let Some(tree) = tree(inv, g) else {
        return;
    };
    let prefix = g.prefix();
    for (path, data) in tree.files() {
        let Some(dev) = path.strip_prefix(prefix) else { continue };
        let config_dir = [
            "/etc/",
            "/mnt/",
            "/usr/etc/",
            "/opt/",
            "/config/",
            "/usr/local/etc/",
            "/home/",
        ]
        .iter()
        .any(|d| dev.starts_with(d));
        if !config_dir
            || data.len() > 256 * 1024
            || data.starts_with(b"\x7fELF")
            || data[..data.len().min(1024)].contains(&0)
        {
            continue;
        }
        let ext = basename(dev).rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if !matches!(
            ext.as_deref(),
            None | Some("conf" | "cfg" | "ini" | "xml" | "json" | "txt" | "config")
        ) {
            continue;
        }
        let text = String::from_utf8_lossy(data);
        for (i, line) in text.lines().enumerate() {
            if let Some(key) = auth_off(line) {
                findings.push(at_file(
                    inv,
                    g,
                    path,
                    Some(i + 1),
                    rules::FW_SVC_012,
                    format!("`{key}` turns stream authentication off: `{}`", line.trim()),
                ));
            }
        }
    }
}

/// `rtsp_auth=0`, `OnvifAuth: false`, `<RtspAuthEnable>0</…>`: the key
/// when an RTSP/ONVIF authentication switch is set to off.
fn auth_off(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with('#') || t.starts_with(';') || t.starts_with("//") || t.starts_with("<!--") {
        return None;
    }
    let (key, value) = if let Some(rest) = t.strip_prefix('<') {
        let (k, r) = rest.split_once('>')?;
        (k.to_string(), r.split('<').next()?.to_string())
    } else {
        let i = t.find(['=', ':'])?;
        (
            t[..i].trim().trim_matches('"').to_string(),
            t[i + 1..].trim().trim_end_matches([',', ';']).to_string(),
        )
    };
    let k = key.to_ascii_lowercase();
    if !(k.contains("rtsp") || k.contains("onvif")) || !k.contains("auth") {
        return None;
    }
    let v = value.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    matches!(
        v.as_str(),
        "0" | "false" | "no" | "off" | "disable" | "disabled" | "none"
    )
    .then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_auth_switches() {
        assert_eq!(auth_off("rtsp_auth=0").as_deref(), Some("rtsp_auth"));
        assert_eq!(auth_off("  \"OnvifAuth\": false,").as_deref(), Some("OnvifAuth"));
        assert_eq!(
            auth_off("<RtspAuthEnable>0</RtspAuthEnable>").as_deref(),
            Some("RtspAuthEnable")
        );
        assert_eq!(auth_off("# rtsp_auth=0"), None);
        assert_eq!(auth_off("rtsp_auth=1"), None);
        assert_eq!(auth_off("rtsp_port=0"), None);
        assert_eq!(auth_off("http_auth=0"), None);
    }

    #[test]
    fn uci_values() {
        let t = "config dropbear\n\toption PasswordAuth 'on'\n\toption RootPasswordAuth 'off'\n";
        assert_eq!(uci_option(t, "RootPasswordAuth"), Some((3, "off".into())));
        assert!(uci_true("'on'") && !uci_true("off") && !uci_true("0"));
    }
}
