//! inetd and xinetd: the servers a super-server starts on connection.
//!
//! Only a super-server that is itself started at boot counts; its
//! configuration then names one server per line (`inetd.conf`:
//! `service socktype proto wait user server argv…`) or per `service`
//! block (`xinetd.conf` and its `includedir`, where `disable = yes` turns a
//! service off). The servers inherit the super-server's condition.

use std::collections::BTreeSet;

use super::script::{Field, Frame, Walker};
use super::{Condition, Mechanism, ServiceStart, is_runtime};

fn conds(c: &Condition) -> Vec<String> {
    match c {
        Condition::Unconditional => Vec::new(),
        Condition::Conditional(t) => vec![t.clone()],
    }
}

/// The configuration file a super-server reads: the last non-option
/// argument, else its default.
fn config_arg(s: &ServiceStart, default: &str, with_value: &[&str]) -> String {
    let mut out = None;
    let mut i = 1;
    while let Some(a) = s.argv.get(i) {
        if a.starts_with('-') {
            if a == "-f" && s.name() == "xinetd" {
                out = s.argv.get(i + 1).cloned();
                i += 2;
                continue;
            }
            i += if with_value.contains(&a.as_str()) { 2 } else { 1 };
            continue;
        }
        out = Some(a.clone());
        i += 1;
    }
    out.unwrap_or_else(|| default.to_string())
}

/// Add the servers of every inetd/xinetd started at boot.
pub fn expand(w: &mut Walker) {
    let supers: Vec<ServiceStart> = w
        .starts()
        .iter()
        .filter(|s| s.runs() && matches!(s.name().as_str(), "inetd" | "xinetd"))
        .cloned()
        .collect();
    let mut done = BTreeSet::new();
    for s in supers {
        if s.name() == "xinetd" {
            let conf = config_arg(
                &s,
                "/etc/xinetd.conf",
                &["-pidfile", "-filelog", "-syslog", "-limit", "-logprocs", "-cc"],
            );
            if done.insert(conf.clone()) {
                xinetd(w, &s, &conf);
            }
        } else {
            let conf = config_arg(&s, "/etc/inetd.conf", &["-q", "-R"]);
            if done.insert(conf.clone()) {
                inetd(w, &s, &conf);
            }
        }
    }
}

fn missing_config(w: &mut Walker, s: &ServiceStart, conf: &str) {
    let why = if is_runtime(conf) { " (generated at boot?)" } else { "" };
    w.gap(format!(
        "{} starts {} with {conf}, which the image does not contain{why}: the servers it offers are unknown",
        s.location(),
        s.name()
    ));
}

fn inetd(w: &mut Walker, s: &ServiceStart, conf: &str) {
    let Some((real, data)) = w.root.file(conf) else {
        missing_config(w, s, conf);
        return;
    };
    let real = real.to_string();
    let text = super::text(data);
    w.edge(&s.script, s.line, &real, "inetd", s.condition.clone());
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 6 {
            w.gap(format!("{real}:{}: not an inetd.conf entry", i + 1));
            continue;
        }
        if f[5] == "internal" {
            continue;
        }
        let (service, socktype, proto) = (f[0], f[1], f[2]);
        let mut fields = vec![Field::lit(f[5])];
        // f[6] is argv[0]; the arguments follow it.
        fields.extend(f.iter().skip(7).map(|a| Field::lit(a)));
        let mut frame = Frame::new(&real, Mechanism::Inetd).with_conds(conds(&s.condition));
        let port = service.rsplit(':').next().unwrap_or(service);
        w.run_program(
            &mut frame,
            &fields,
            i + 1,
            &format!("{socktype}/{proto}"),
            vec![format!("{port}/{proto}")],
        );
    }
}

/// One `service` block of an xinetd configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XService {
    pub name: String,
    pub line: usize,
    pub attrs: Vec<(String, String)>,
}

impl XService {
    fn get(&self, k: &str) -> Option<&str> {
        self.attrs.iter().rev().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
    }
}

/// Parse xinetd configuration text: service blocks and `includedir`s.
pub fn parse_xinetd(text: &str) -> (Vec<XService>, Vec<String>, Vec<String>) {
    let mut services = Vec::new();
    let mut includes = Vec::new();
    let mut disabled = Vec::new();
    let mut cur: Option<XService> = None;
    let mut in_defaults = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("includedir") {
            includes.push(rest.trim().to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("service") {
            cur = Some(XService {
                name: rest.trim().trim_end_matches('{').trim().to_string(),
                line: i + 1,
                attrs: Vec::new(),
            });
            continue;
        }
        if line.starts_with("defaults") {
            in_defaults = true;
            continue;
        }
        if line == "{" {
            continue;
        }
        if line == "}" {
            if let Some(s) = cur.take() {
                services.push(s);
            }
            in_defaults = false;
            continue;
        }
        let (k, v) = match line.split_once("+=").or_else(|| line.split_once('=')) {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => continue,
        };
        if in_defaults {
            if k == "disabled" {
                disabled.extend(v.split_whitespace().map(String::from));
            }
        } else if let Some(s) = cur.as_mut() {
            s.attrs.push((k, v));
        }
    }
    (services, includes, disabled)
}

fn xinetd(w: &mut Walker, s: &ServiceStart, conf: &str) {
    let Some((real, data)) = w.root.file(conf) else {
        missing_config(w, s, conf);
        return;
    };
    let mut files = vec![(real.to_string(), super::text(data))];
    let (_, includes, _) = parse_xinetd(&files[0].1);
    for dir in includes {
        for (name, _) in w.root.children(&dir) {
            // xinetd skips names with a dot or ending in `~`.
            if name.contains('.') || name.ends_with('~') {
                continue;
            }
            if let Some((r, d)) = w.root.file(&format!("{dir}/{name}")) {
                files.push((r.to_string(), super::text(d)));
            }
        }
    }
    let mut disabled_all = Vec::new();
    let mut all = Vec::new();
    for (path, text) in &files {
        let (svcs, _, disabled) = parse_xinetd(text);
        disabled_all.extend(disabled);
        all.extend(svcs.into_iter().map(|x| (path.clone(), x)));
    }
    for (path, x) in all {
        w.edge(&s.script, s.line, &path, "xinetd", s.condition.clone());
        if x.get("disable") == Some("yes") || disabled_all.contains(&x.name) {
            continue;
        }
        if x.get("type").is_some_and(|t| t.contains("INTERNAL")) {
            continue;
        }
        let Some(server) = x.get("server") else {
            w.gap(format!("{path}:{}: xinetd service `{}` has no server", x.line, x.name));
            continue;
        };
        let mut fields = vec![Field::lit(server)];
        fields.extend(x.get("server_args").unwrap_or("").split_whitespace().map(Field::lit));
        let proto = x.get("protocol").unwrap_or("tcp");
        let port = x.get("port").unwrap_or(&x.name).to_string();
        let mut frame = Frame::new(&path, Mechanism::Inetd).with_conds(conds(&s.condition));
        let action = format!("{}/{proto}", x.get("socket_type").unwrap_or("stream"));
        w.run_program(&mut frame, &fields, x.line, &action, vec![format!("{port}/{proto}")]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::inittab;
    use super::super::testutil::{APPLETS, busybox, walk};
    use super::*;

    fn run(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> (Vec<ServiceStart>, Vec<String>) {
        let (s, _, g) = walk(files, links, |w| {
            inittab::start(w);
            expand(w);
        });
        (s, g)
    }

    #[test]
    fn inetd_entries_become_starts_and_comments_do_not() {
        let bb = busybox(APPLETS);
        let (starts, gaps) = run(
            &[
                ("/bin/busybox", &bb),
                ("/etc/inittab", b"::sysinit:/etc/init.d/rcS\n"),
                ("/etc/init.d/rcS", b"inetd\n"),
                ("/etc/inetd.conf", b"#ftp stream tcp nowait root /usr/sbin/ftpd ftpd\ntelnet stream tcp nowait root /usr/sbin/telnetd telnetd -i -l /bin/sh\necho stream tcp nowait root internal\n"),
            ],
            &[("/usr/sbin/telnetd", "/bin/busybox"), ("/usr/sbin/inetd", "/bin/busybox"), ("/usr/sbin/ftpd", "/bin/busybox")],
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        let t: Vec<_> = starts.iter().filter(|s| s.mechanism == Mechanism::Inetd).collect();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].argv, ["/usr/sbin/telnetd", "-i", "-l", "/bin/sh"]);
        assert_eq!((t[0].script.as_str(), t[0].line), ("/etc/inetd.conf", Some(2)));
        assert_eq!(t[0].ports, ["telnet/tcp"]);
    }

    #[test]
    fn inetd_not_started_means_no_servers_and_missing_config_is_a_gap() {
        let (starts, _) = run(
            &[
                ("/etc/inittab", b"::sysinit:/bin/true\n"),
                (
                    "/etc/inetd.conf",
                    b"telnet stream tcp nowait root /usr/sbin/telnetd telnetd\n",
                ),
            ],
            &[],
        );
        assert!(starts.iter().all(|s| s.mechanism != Mechanism::Inetd));
        let bb = busybox(APPLETS);
        let (_, gaps) = run(
            &[
                ("/bin/busybox", &bb),
                ("/etc/inittab", b"::respawn:/usr/sbin/inetd -f /var/inetd.conf\n"),
            ],
            &[("/usr/sbin/inetd", "/bin/busybox")],
        );
        assert!(
            gaps.iter()
                .any(|g| g.contains("/var/inetd.conf") && g.contains("generated at boot")),
            "{gaps:?}"
        );
    }

    #[test]
    fn xinetd_blocks_and_disable() {
        let (starts, gaps) = run(
            &[
                ("/etc/inittab", b"::respawn:/usr/sbin/xinetd -dontfork\n"),
                ("/usr/sbin/xinetd", b"\x7fELF xinetd"),
                ("/usr/sbin/in.telnetd", b"\x7fELF telnetd"),
                ("/usr/sbin/in.tftpd", b"\x7fELF tftpd"),
                ("/etc/xinetd.conf", b"defaults\n{\n}\nincludedir /etc/xinetd.d\n"),
                ("/etc/xinetd.d/telnet", b"service telnet\n{\n  socket_type = stream\n  server = /usr/sbin/in.telnetd\n  disable = no\n}\n"),
                ("/etc/xinetd.d/tftp", b"service tftp\n{\n  socket_type = dgram\n  protocol = udp\n  server = /usr/sbin/in.tftpd\n  disable = yes\n}\n"),
            ],
            &[],
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        let x: Vec<_> = starts.iter().filter(|s| s.mechanism == Mechanism::Inetd).collect();
        assert_eq!(x.len(), 1);
        assert_eq!((x[0].name().as_str(), x[0].line), ("in.telnetd", Some(1)));
    }
}
