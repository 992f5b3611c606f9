//! The `input-validation` family: static hints that input may reach a
//! shell, in the programs that serve the web interface.
//!
//! A CGI or web-server binary (under `cgi-bin`, `www` or `htdocs`, named
//! `*.cgi`, or a known web server) that imports `system` or `popen` and
//! carries a printf format naming a shell command with a `%s`
//! (`ping -c 4 %s`, `nvram set lan_ip=%s; /sbin/rc restart`) is the
//! classic command-injection shape of embedded web interfaces. Whether the
//! value is validated before it is formatted is not visible without
//! following the code, so FW-INPUT-001 is a preview hint at `info`: it
//! decides no test unit, and the family's coverage says that input
//! validation is never decided from the image.
//!
//! The rules are listed in `docs/rules/input-validation.md`, generated
//! from `checks/input-validation/`.

use super::{Context, FamilyResult, Finding};
use crate::inventory::boot::basename;
use crate::inventory::{FileEntry, Origin};
use crate::rules;

/// Commands whose format strings are the injection shape.
const COMMANDS: &[&str] = &[
    "sh",
    "ping",
    "ping6",
    "traceroute",
    "iptables",
    "nvram",
    "ifconfig",
    "route",
    "echo",
    "cat",
    "rm",
    "kill",
    "killall",
    "mtd",
    "wget",
    "curl",
    "tftp",
    "cp",
    "mv",
    "chmod",
    "insmod",
    "brctl",
    "iwconfig",
    "iwpriv",
    "udhcpc",
    "date",
    "hostname",
    "arping",
    "nslookup",
    "telnetd",
    "sed",
    "grep",
];

/// Printable runs at least this long are strings.
const MIN_STRING: usize = 6;
/// Examples an evidence line names.
const EXAMPLES: usize = 3;

/// Whether a file is part of the web interface.
fn is_web(path: &str) -> bool {
    let name = basename(path);
    ["/cgi-bin/", "/www/", "/htdocs/", "/webroot/"]
        .iter()
        .any(|d| path.contains(d))
        || name.ends_with(".cgi")
        || matches!(name, "httpd" | "mini_httpd")
        || super::daemons::WEB.contains(&name)
}

/// The undefined dynamic symbols among `system` and `popen`.
fn shell_imports(data: &[u8]) -> Vec<String> {
    let Ok(elf) = goblin::elf::Elf::parse(data) else {
        return Vec::new();
    };
    let mut out: Vec<String> = elf
        .dynsyms
        .iter()
        .filter(|s| s.st_shndx == 0)
        .filter_map(|s| elf.dynstrtab.get_at(s.st_name))
        .filter(|n| matches!(*n, "system" | "popen"))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Printf formats that run a shell command with a `%s`: (offset, text).
///
/// A format is a maximal run of printable bytes; only runs holding `%s`
/// matter, so the search goes from each `%s` out to its run's ends rather
/// than through every byte of the program.
fn command_formats(data: &[u8]) -> Vec<(usize, String)> {
    let printable = |b: u8| (0x20..0x7f).contains(&b) || b == b'\t';
    let mut out = Vec::new();
    // Where the last run examined ends: a second `%s` in it is the same run.
    let mut done = 0;
    for at in memchr::memmem::find_iter(data, b"%s") {
        if at < done {
            continue;
        }
        let s = data[..at].iter().rposition(|&b| !printable(b)).map_or(0, |i| i + 1);
        let i = data[at..]
            .iter()
            .position(|&b| !printable(b))
            .map_or(data.len(), |n| at + n);
        done = i;
        if i - s < MIN_STRING {
            continue;
        }
        let t = String::from_utf8_lossy(&data[s..i]);
        if runs_a_command(&t) {
            out.push((s, t.into_owned()));
        }
    }
    out
}

/// Whether a format's first word is a command that reaches a shell (one
/// of [`COMMANDS`], or a program under `/bin`, `/sbin` or `/usr`) and
/// something follows it.
fn runs_a_command(format: &str) -> bool {
    let first = format.split_whitespace().next().unwrap_or("");
    let known = COMMANDS.contains(&basename(first))
        || first.starts_with("/bin/")
        || first.starts_with("/sbin/")
        || first.starts_with("/usr/");
    known && format.split_whitespace().count() > 1
}

fn judge(f: &FileEntry) -> Option<Finding> {
    let imports = shell_imports(f.data);
    if imports.is_empty() {
        return None;
    }
    let formats = command_formats(f.data);
    let (first, _) = formats.first()?;
    let examples: Vec<String> = formats.iter().take(EXAMPLES).map(|(_, t)| format!("`{t}`")).collect();
    let evidence = format!(
        "web program imports {} and holds {} shell command format(s) with %s, e.g. {}: check that every value formatted into them is validated",
        imports.join(" and "),
        formats.len(),
        examples.join(", ")
    );
    Some(Finding::in_file(
        rules::FW_INPUT_001,
        f,
        None,
        Some(*first as u64),
        evidence,
    ))
}

pub fn check(cx: &Context) -> FamilyResult {
    let mut out = FamilyResult {
        findings: Vec::new(),
        gaps: vec![
            "input validation is not decided from the image: FW-INPUT-001 gives hints for review, and the absence of a hint proves nothing".into(),
        ],
    };
    for f in &cx.inventory.files {
        if matches!(f.origin, Origin::Filesystem(_)) && f.elf.is_some() && is_web(&f.path) {
            out.findings.extend(judge(f));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-by-byte run finder [`command_formats`] replaced, kept as
    /// its oracle for which runs are formats (the command test is shared).
    fn formats_byte_by_byte(data: &[u8]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &b) in data.iter().chain(std::iter::once(&0)).enumerate() {
            let printable = (0x20..0x7f).contains(&b) || b == b'\t';
            match (printable, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    start = None;
                    if i - s < MIN_STRING {
                        continue;
                    }
                    let t = String::from_utf8_lossy(&data[s..i]);
                    if t.contains("%s") && runs_a_command(&t) {
                        out.push((s, t.into_owned()));
                    }
                }
                _ => {}
            }
        }
        out
    }

    #[test]
    fn formats_found_from_each_percent_s_are_those_of_every_run() {
        let words: [&[u8]; 10] = [
            b"ping ",
            b"%s",
            b" -c 4 ",
            b"\0ping ",
            b"\xff",
            b"\t",
            b"\0/sbin/rc ",
            b"sh",
            b"%",
            b"\0",
        ];
        let mut x = crate::testing::Xorshift::new(0x9e37_79b9_7f4a_7c15);
        let mut found = 0;
        for _ in 0..400 {
            let mut d = Vec::new();
            for _ in 0..x.below(40) {
                d.extend_from_slice(words[x.below(words.len())]);
            }
            let want = formats_byte_by_byte(&d);
            assert_eq!(command_formats(&d), want, "{:?}", String::from_utf8_lossy(&d));
            found += want.len();
        }
        assert!(found >= 200, "{found} formats in all");
    }

    #[test]
    fn formats_and_web_paths() {
        let d = b"\0ping -c 4 %s > /tmp/ping.log 2>&1\0%s: %s\0/sbin/rc restart %s\0Hello %s\0nvram\0";
        let got: Vec<String> = command_formats(d).into_iter().map(|(_, t)| t).collect();
        assert_eq!(got, ["ping -c 4 %s > /tmp/ping.log 2>&1", "/sbin/rc restart %s"]);
        // Runs reach the data's ends, a tab is printable, a second `%s` in
        // a run is the same format; offsets are where each run starts.
        let d = b"ping %s -I %s\x01\x02ifconfig\teth0 %s\xffsh -c %s";
        assert_eq!(
            command_formats(d),
            [
                (0, "ping %s -I %s".to_string()),
                (15, "ifconfig\teth0 %s".to_string()),
                (32, "sh -c %s".to_string())
            ]
        );
        assert!(is_web("/www/cgi-bin/diag"));
        assert!(is_web("/usr/sbin/httpd"));
        assert!(is_web("/usr/lib/x/apply.cgi"));
        assert!(!is_web("/usr/sbin/dropbear"));
    }
}
