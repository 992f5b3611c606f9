//! systemd: which units the default target pulls in, and what they run.
//!
//! Starting from `default.target`, the walk follows `Wants=`, `Requires=`,
//! `BindsTo=` and the `<unit>.wants/` and `<unit>.requires/` link
//! directories in `/etc/systemd/system`, `/lib/systemd/system` and
//! `/usr/lib/systemd/system` (in that order of precedence; a unit linked to
//! `/dev/null` is masked). Each `.service` reached contributes its
//! `ExecStart=` lines; each `.socket` its listening ports and the service it
//! activates. Template instances (`serial-getty@ttyS0.service`) use the
//! template with `%i`/`%I` replaced.

use std::collections::{BTreeSet, VecDeque};

use super::script::{Field, Frame, Walker};
use super::{Condition, Mechanism, is_runtime};
use crate::unpack::tree::NodeKind;

const UNIT_DIRS: &[&str] = &["/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"];
const MAX_UNITS: usize = 1024;

/// One `key=value` line of a unit file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLine {
    pub section: String,
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// Parse a unit file (continuation lines joined, comments dropped).
pub fn parse(text: &str) -> Vec<UnitLine> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<(String, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if let Some((mut acc, start)) = pending.take() {
            match line.strip_suffix('\\') {
                Some(more) => {
                    acc.push(' ');
                    acc.push_str(more.trim());
                    pending = Some((acc, start));
                    continue;
                }
                None => {
                    acc.push(' ');
                    acc.push_str(line.trim());
                    push_kv(&mut out, &section, &acc, start);
                    continue;
                }
            }
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            section = t[1..t.len() - 1].to_string();
            continue;
        }
        if let Some(more) = t.strip_suffix('\\') {
            pending = Some((more.trim().to_string(), i + 1));
            continue;
        }
        push_kv(&mut out, &section, t, i + 1);
    }
    if let Some((acc, start)) = pending {
        push_kv(&mut out, &section, &acc, start);
    }
    out
}

fn push_kv(out: &mut Vec<UnitLine>, section: &str, t: &str, line: usize) {
    if let Some((k, v)) = t.split_once('=') {
        out.push(UnitLine {
            section: section.to_string(),
            key: k.trim().to_string(),
            value: v.trim().to_string(),
            line,
        });
    }
}

/// Split an `ExecStart=` value into words (double and single quotes).
pub fn split_exec(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                any = true;
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Find a unit by name: (tree path, masked).
fn find(w: &Walker, name: &str) -> Option<(String, bool)> {
    for d in UNIT_DIRS {
        let p = format!("{d}/{name}");
        if w.root.node(&p).is_none() {
            continue;
        }
        if let Some(NodeKind::Symlink(t)) = w.root.node(&p).map(|n| &n.kind)
            && t == "/dev/null"
        {
            return Some((w.root.full(&p), true));
        }
        return w
            .root
            .resolve(&p)
            .map(|(real, n)| (real.to_string(), n.data().is_some_and(<[u8]>::is_empty)));
    }
    None
}

/// Instance name of `foo@bar.service`, and its template `foo@.service`.
fn template(name: &str) -> Option<(String, String)> {
    let (head, rest) = name.split_once('@')?;
    let (inst, ext) = rest.rsplit_once('.')?;
    if inst.is_empty() {
        return None;
    }
    Some((inst.to_string(), format!("{head}@.{ext}")))
}

/// Walk the unit graph from `default.target` when init is systemd.
pub fn start(w: &mut Walker, init: &str) {
    if init != "systemd" {
        return;
    }
    // default.target is usually a link; the unit is named by its target.
    let first = match find(w, "default.target") {
        Some((real, _)) => super::basename(&real).to_string(),
        None => {
            w.gap("systemd: no default.target; multi-user.target assumed");
            "multi-user.target".to_string()
        }
    };
    let mut queue: VecDeque<(String, String, Option<usize>, &'static str)> = VecDeque::new();
    queue.push_back((first, "(systemd)".into(), None, "default"));
    let mut seen = BTreeSet::new();
    while let Some((name, from, line, how)) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if seen.len() > MAX_UNITS {
            w.gap(format!(
                "systemd: more than {MAX_UNITS} units; the rest was not followed"
            ));
            break;
        }
        let (inst, found) = match find(w, &name) {
            Some(f) => (None, Some(f)),
            None => match template(&name) {
                Some((i, t)) => (Some(i), find(w, &t)),
                None => (None, None),
            },
        };
        let Some((path, masked)) = found else {
            w.gap(format!("systemd: unit {name} (wanted by {from}) is not in the image"));
            continue;
        };
        if masked {
            continue;
        }
        w.edge(&from, line, &path, how, Condition::Unconditional);
        let text = w
            .root
            .tree
            .get(&path)
            .and_then(|n| n.data())
            .map(super::text)
            .unwrap_or_default();
        let lines = parse(&text);
        for l in &lines {
            let dep = match (l.section.as_str(), l.key.as_str()) {
                ("Unit", "Wants") => "wants",
                ("Unit", "Requires" | "Requisite" | "BindsTo") => "requires",
                _ => continue,
            };
            for d in l.value.split_whitespace() {
                queue.push_back((d.to_string(), path.clone(), Some(l.line), dep));
            }
        }
        for d in UNIT_DIRS {
            for suffix in ["wants", "requires"] {
                for (child, _) in w.root.children(&format!("{d}/{name}.{suffix}")) {
                    let how = if suffix == "wants" { "wants" } else { "requires" };
                    queue.push_back((child, w.root.full(&format!("{d}/{name}.{suffix}")), None, how));
                }
            }
        }
        if name.ends_with(".service") {
            service(w, &name, &path, &lines, inst.as_deref(), "service", Vec::new());
        } else if name.ends_with(".socket") {
            socket(w, &name, &path, &lines, inst.as_deref());
        }
    }
}

fn specifiers(v: &str, name: &str, inst: Option<&str>) -> String {
    let mut out = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('i' | 'I') => out.push_str(inst.unwrap_or("")),
            Some('n' | 'N') => out.push_str(name),
            Some('%') => out.push('%'),
            Some(o) => {
                out.push('%');
                out.push(o);
            }
            None => out.push('%'),
        }
    }
    out
}

/// The conditions of a unit that the image cannot decide, as labels; and
/// whether one of them is decided false (then the unit does not start).
fn conditions(w: &Walker, lines: &[UnitLine]) -> (Vec<String>, bool) {
    let mut labels = Vec::new();
    for l in lines
        .iter()
        .filter(|l| l.section == "Unit" && l.key.starts_with("Condition"))
    {
        let (neg, path) = match l.value.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, l.value.as_str()),
        };
        let decidable = matches!(l.key.as_str(), "ConditionPathExists" | "ConditionFileNotEmpty")
            && path.starts_with('/')
            && !is_runtime(path);
        if decidable {
            let exists = match l.key.as_str() {
                "ConditionFileNotEmpty" => w.root.file(path).is_some_and(|(_, d)| !d.is_empty()),
                _ => w.root.resolve(path).is_some(),
            };
            if exists == neg {
                return (labels, true);
            }
        } else {
            labels.push(format!("{}={}", l.key, l.value));
        }
    }
    (labels, false)
}

fn service(
    w: &mut Walker,
    name: &str,
    path: &str,
    lines: &[UnitLine],
    inst: Option<&str>,
    action: &str,
    ports: Vec<String>,
) {
    let (labels, off) = conditions(w, lines);
    if off {
        return;
    }
    let tty = lines
        .iter()
        .find(|l| l.section == "Service" && l.key == "TTYPath")
        .map(|l| l.value.trim_start_matches("/dev/").to_string());
    let oneshot = lines
        .iter()
        .any(|l| l.section == "Service" && l.key == "Type" && l.value == "oneshot");
    for l in lines.iter().filter(|l| l.section == "Service" && l.key == "ExecStart") {
        let v = specifiers(&l.value, name, inst);
        let v = v.trim_start_matches(['-', '@', ':', '+', '!']);
        let words = split_exec(v);
        if words.is_empty() {
            continue;
        }
        let fields: Vec<Field> = words
            .iter()
            .map(|x| Field {
                text: x.clone(),
                known: !x.contains('$'),
                glob: false,
            })
            .collect();
        let mut f = Frame::new(path, Mechanism::Systemd).with_conds(labels.clone());
        f.tty = tty.clone();
        let act = if oneshot && action == "service" {
            "oneshot"
        } else {
            action
        };
        w.run_program(&mut f, &fields, l.line, act, ports.clone());
    }
}

fn socket(w: &mut Walker, name: &str, path: &str, lines: &[UnitLine], inst: Option<&str>) {
    let mut ports = Vec::new();
    let mut accept = false;
    let mut target: Option<String> = None;
    for l in lines.iter().filter(|l| l.section == "Socket") {
        match l.key.as_str() {
            "ListenStream" => ports.push(format!("{}/tcp", l.value)),
            "ListenDatagram" => ports.push(format!("{}/udp", l.value)),
            "Accept" => accept = matches!(l.value.as_str(), "yes" | "true" | "1" | "on"),
            "Service" => target = Some(l.value.clone()),
            _ => {}
        }
    }
    let stem = name.trim_end_matches(".socket");
    let svc = target.unwrap_or_else(|| {
        if accept {
            format!("{}@.service", stem.split('@').next().unwrap_or(stem))
        } else {
            format!("{stem}.service")
        }
    });
    let Some((spath, masked)) = find(w, &svc) else {
        w.gap(format!("systemd: {name} activates {svc}, which is not in the image"));
        return;
    };
    if masked {
        return;
    }
    w.edge(path, None, &spath, "socket", Condition::Unconditional);
    let text = w
        .root
        .tree
        .get(&spath)
        .and_then(|n| n.data())
        .map(super::text)
        .unwrap_or_default();
    service(w, &svc, &spath, &parse(&text), inst, "socket", ports);
}

#[cfg(test)]
mod tests {
    use super::super::ServiceStart;
    use super::super::testutil::walk;
    use super::*;

    fn run(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> (Vec<ServiceStart>, Vec<String>) {
        let (s, _, g) = walk(files, links, |w| start(w, "systemd"));
        (s, g)
    }

    const ELF: &[u8] = b"\x7fELF x";

    #[test]
    fn parse_units_with_continuations() {
        let u = parse("[Unit]\nWants=a.service b.service\n# c\n[Service]\nExecStart=/bin/x \\\n  -a\n");
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].value, "/bin/x -a");
        assert_eq!(u[1].line, 5);
        assert_eq!(
            split_exec("/bin/sh -c \"echo a b\" 'x y'"),
            ["/bin/sh", "-c", "echo a b", "x y"]
        );
    }

    #[test]
    fn wanted_by_links_sockets_templates_and_masks() {
        let (starts, gaps) = run(
            &[
                ("/lib/systemd/system/multi-user.target", b"[Unit]\nDescription=m\n"),
                (
                    "/lib/systemd/system/telnet.socket",
                    b"[Socket]\nListenStream=23\nAccept=yes\n",
                ),
                (
                    "/lib/systemd/system/telnet@.service",
                    b"[Service]\nExecStart=-/usr/sbin/in.telnetd\nStandardInput=socket\n",
                ),
                (
                    "/lib/systemd/system/serial-getty@.service",
                    b"[Service]\nExecStart=-/sbin/agetty -o '-p -- \\\\u' --keep-baud 115200 %I $TERM\n",
                ),
                (
                    "/lib/systemd/system/debug.service",
                    b"[Service]\nExecStart=/usr/bin/debugd\n",
                ),
                (
                    "/lib/systemd/system/opt.service",
                    b"[Unit]\nConditionPathExists=/etc/enable-opt\n[Service]\nExecStart=/usr/bin/opt\n",
                ),
                ("/usr/sbin/in.telnetd", ELF),
                ("/sbin/agetty", ELF),
                ("/usr/bin/debugd", ELF),
                ("/usr/bin/opt", ELF),
            ],
            &[
                (
                    "/etc/systemd/system/default.target",
                    "/lib/systemd/system/multi-user.target",
                ),
                (
                    "/etc/systemd/system/multi-user.target.wants/telnet.socket",
                    "/lib/systemd/system/telnet.socket",
                ),
                (
                    "/etc/systemd/system/multi-user.target.wants/serial-getty@ttyS0.service",
                    "/lib/systemd/system/serial-getty@.service",
                ),
                (
                    "/etc/systemd/system/multi-user.target.wants/debug.service",
                    "/lib/systemd/system/debug.service",
                ),
                ("/etc/systemd/system/debug.service", "/dev/null"),
                (
                    "/etc/systemd/system/multi-user.target.wants/opt.service",
                    "/lib/systemd/system/opt.service",
                ),
            ],
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        let mut names: Vec<String> = starts.iter().map(ServiceStart::name).collect();
        names.sort();
        assert_eq!(
            names,
            ["agetty", "in.telnetd"],
            "masked and condition-false units do not start"
        );
        let t = starts.iter().find(|s| s.name() == "in.telnetd").unwrap();
        assert_eq!(
            (t.ports.clone(), t.action.as_str()),
            (vec!["23/tcp".to_string()], "socket")
        );
        let g = starts.iter().find(|s| s.name() == "agetty").unwrap();
        assert_eq!(
            g.argv,
            [
                "/sbin/agetty",
                "-o",
                "-p -- \\u",
                "--keep-baud",
                "115200",
                "ttyS0",
                "$TERM"
            ]
        );
        assert_eq!(g.mechanism, Mechanism::Systemd);
    }

    #[test]
    fn missing_units_are_gaps() {
        let (_, gaps) = run(
            &[("/lib/systemd/system/multi-user.target", b"[Unit]\nWants=gone.service\n")],
            &[(
                "/etc/systemd/system/default.target",
                "/lib/systemd/system/multi-user.target",
            )],
        );
        assert!(gaps[0].contains("gone.service"), "{gaps:?}");
    }
}
