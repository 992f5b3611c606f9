//! cron: commands a cron daemon started at boot runs on a schedule.
//!
//! BusyBox `crond` reads the user crontabs in its `-c` directory (default
//! `/var/spool/cron/crontabs`); Vixie cron and cronie also read
//! `/etc/crontab` and `/etc/cron.d/*`, whose lines carry a user field. Each
//! command is walked like a shell line, so scripts it runs are followed.

use std::collections::BTreeSet;

use super::script::{Frame, Walker};
use super::{Condition, Mechanism, ServiceStart, is_runtime};

const BUSYBOX_DIR: &str = "/var/spool/cron/crontabs";

/// One crontab entry: schedule, command and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronEntry {
    pub line: usize,
    pub schedule: String,
    pub command: String,
}

/// Parse a crontab; `system` crontabs have a user field after the schedule.
pub fn parse(text: &str, system: bool) -> Vec<CronEntry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Environment settings: NAME=value with no schedule.
        if let Some((k, _)) = line.split_once('=')
            && !k.contains(char::is_whitespace)
            && !k.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@')
        {
            continue;
        }
        let mut rest = line;
        let mut sched = Vec::new();
        let n = if line.starts_with('@') { 1 } else { 5 };
        for _ in 0..n {
            let t = rest.trim_start();
            let end = t.find(char::is_whitespace).unwrap_or(t.len());
            sched.push(&t[..end]);
            rest = &t[end..];
        }
        if system {
            let t = rest.trim_start();
            let end = t.find(char::is_whitespace).unwrap_or(t.len());
            rest = &t[end..];
        }
        // An unescaped `%` ends the command (the rest is its input).
        let mut cmd = String::new();
        let mut prev = ' ';
        for c in rest.trim().chars() {
            if c == '%' && prev != '\\' {
                break;
            }
            cmd.push(c);
            prev = c;
        }
        if !cmd.trim().is_empty() {
            out.push(CronEntry {
                line: i + 1,
                schedule: sched.join(" "),
                command: cmd.trim().to_string(),
            });
        }
    }
    out
}

/// Add the commands of every cron daemon started at boot.
pub fn expand(w: &mut Walker) {
    let daemons: Vec<ServiceStart> = w
        .starts()
        .iter()
        .filter(|s| s.runs() && matches!(s.name().as_str(), "crond" | "cron"))
        .cloned()
        .collect();
    let mut done = BTreeSet::new();
    for d in daemons {
        let busybox = d.applet.is_some();
        let dir = d
            .argv
            .iter()
            .position(|a| a == "-c")
            .and_then(|i| d.argv.get(i + 1).cloned())
            .unwrap_or_else(|| BUSYBOX_DIR.into());
        let mut files: Vec<(String, bool)> = Vec::new();
        if busybox || d.argv.iter().any(|a| a == "-c") {
            if w.root.resolve(&dir).is_none() {
                let why = if is_runtime(&dir) { " (created at boot?)" } else { "" };
                w.gap(format!(
                    "{} starts {} reading {dir}, which the image does not contain{why}: its jobs are unknown",
                    d.location(),
                    d.name()
                ));
            }
            files.extend(
                w.root
                    .children(&dir)
                    .into_iter()
                    .map(|(n, _)| (format!("{dir}/{n}"), false)),
            );
        } else {
            files.push(("/etc/crontab".into(), true));
            files.extend(
                w.root
                    .children("/etc/cron.d")
                    .into_iter()
                    .map(|(n, _)| (format!("/etc/cron.d/{n}"), true)),
            );
            files.extend(
                w.root
                    .children(BUSYBOX_DIR)
                    .into_iter()
                    .map(|(n, _)| (format!("{BUSYBOX_DIR}/{n}"), false)),
            );
        }
        for (path, system) in files {
            if !done.insert(path.clone()) {
                continue;
            }
            let Some((real, data)) = w.root.file(&path) else {
                continue;
            };
            let real = real.to_string();
            let text = super::text(data);
            w.edge(&d.script, d.line, &real, "crontab", d.condition.clone());
            for e in parse(&text, system) {
                let conds = match &d.condition {
                    Condition::Unconditional => Vec::new(),
                    Condition::Conditional(t) => vec![t.clone()],
                };
                let mut f = Frame::new(&real, Mechanism::Cron).with_conds(conds);
                f.action = Some(format!("cron {}", e.schedule));
                f.record_all = true;
                w.run_snippet(&mut f, &e.command, e.line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::inittab;
    use super::super::testutil::{APPLETS, busybox, walk};
    use super::*;

    #[test]
    fn parse_user_and_system_crontabs() {
        let e = parse(
            "# m h\nMAILTO=root\n*/5 * * * * /usr/bin/check -q % input\n@reboot /usr/sbin/telnetd\n",
            false,
        );
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].schedule.as_str(), e[0].command.as_str()),
            ("*/5 * * * *", "/usr/bin/check -q")
        );
        assert_eq!((e[1].line, e[1].schedule.as_str()), (4, "@reboot"));
        let s = parse("17 * * * * root cd / && run-parts /etc/cron.hourly\n", true);
        assert_eq!(s[0].command, "cd / && run-parts /etc/cron.hourly");
    }

    #[test]
    fn crond_jobs_are_walked_and_commented_jobs_are_not() {
        let bb = busybox(APPLETS);
        let (starts, _, gaps) = walk(
            &[
                ("/bin/busybox", &bb),
                ("/etc/inittab", b"::sysinit:/etc/init.d/rcS\n"),
                ("/etc/init.d/rcS", b"crond -c /etc/crontabs\n"),
                (
                    "/etc/crontabs/root",
                    b"#* * * * * /usr/bin/old\n@reboot telnetd -l /bin/sh\n",
                ),
            ],
            &[
                ("/usr/sbin/crond", "/bin/busybox"),
                ("/usr/sbin/telnetd", "/bin/busybox"),
            ],
            |w| {
                inittab::start(w);
                expand(w);
            },
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        let t: Vec<_> = starts.iter().filter(|s| s.mechanism == Mechanism::Cron).collect();
        assert_eq!(t.len(), 1, "{starts:?}");
        assert_eq!(
            (t[0].name().as_str(), t[0].line, t[0].action.as_str()),
            ("telnetd", Some(2), "cron @reboot")
        );
    }
}
