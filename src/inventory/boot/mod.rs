//! The boot model: what a root filesystem starts at boot, and from where.
//!
//! Instead of grepping for `telnetd`, fwcert follows the start-up path the
//! device's init would take, per root filesystem:
//!
//! - `/sbin/init` decides the init system: BusyBox init or SysV init read
//!   `/etc/inittab` ([`inittab`]); OpenWrt's procd reads it too but runs
//!   `/etc/rc.d/S*` itself and starts procd service instances
//!   ([`script`]'s rc.common support); systemd follows `WantedBy` links
//!   ([`systemd`]).
//! - Shell scripts (`rcS`, `rc.d/S??*`, `rc.local`, vendor scripts) are read
//!   by a small shell reader ([`shell`]) and walked ([`script`]): sourced and
//!   called scripts are followed, `if`/`case`/`&&`/`||` decide whether a
//!   start is conditional, simple file and string tests are evaluated
//!   against the image, comments and here-documents are not starts.
//! - Daemons that start more programs add their own starts: inetd/xinetd
//!   ([`inetd`]) and cron ([`cron`]).
//! - Programs are resolved in the tree (PATH lookup, symlinks kept inside
//!   the root), and a BusyBox applet only counts when it is compiled in
//!   ([`busybox`]).
//!
//! Whatever cannot be followed is a gap, named once, so the families that
//! use the model fail closed.

pub mod busybox;
mod commands;
pub mod cron;
pub mod inetd;
pub mod inittab;
pub mod script;
pub mod shell;
pub mod systemd;
pub mod uboot_env;
mod values;

use crate::unpack::tree::{FsTree, Node, NodeKind};
use crate::unpack::{Chain, Filesystem};

/// How a start is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mechanism {
    Inittab,
    Rcs,
    RcD,
    Procd,
    Systemd,
    Inetd,
    Cron,
    RcLocal,
    Script,
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::Inittab => "inittab",
            Mechanism::Rcs => "rcS",
            Mechanism::RcD => "rc.d",
            Mechanism::Procd => "procd",
            Mechanism::Systemd => "systemd",
            Mechanism::Inetd => "inetd",
            Mechanism::Cron => "cron",
            Mechanism::RcLocal => "rc.local",
            Mechanism::Script => "script",
        }
    }
}

/// Whether a start always happens at boot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    Unconditional,
    /// Only when the named condition holds (shell text, `and`-joined).
    Conditional(String),
}

impl Condition {
    pub fn from_conds(conds: &[String]) -> Condition {
        if conds.is_empty() {
            Condition::Unconditional
        } else {
            Condition::Conditional(conds.join(" and "))
        }
    }
}

/// One program the firmware starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceStart {
    /// The file and line that start it (absolute path in the filesystem,
    /// including the root prefix of a nested root). `line` is `None` for a
    /// built-in default (BusyBox init without an inittab).
    pub script: String,
    pub line: Option<usize>,
    pub mechanism: Mechanism,
    /// The program as the start line names it (`telnetd`, `-/bin/sh`).
    pub program: String,
    /// The executable that runs, after PATH lookup and links; `None` when
    /// the image does not contain it.
    pub binary: Option<String>,
    /// The BusyBox applet, when `binary` is BusyBox.
    pub applet: Option<String>,
    /// Whether that applet is compiled in; `None` when the applet list
    /// could not be found.
    pub applet_present: Option<bool>,
    pub argv: Vec<String>,
    /// Arguments added only under a further condition (procd
    /// `procd_append_param` behind `&&`), shown as `[-s]`.
    pub optional_args: Vec<String>,
    pub condition: Condition,
    /// `respawn`, `askfirst`, `sysinit`… for inittab; `background` or
    /// `foreground` for shell lines; `instance` or `respawn` for procd;
    /// the schedule for cron; the socket type for inetd.
    pub action: String,
    /// The terminal an inittab or getty entry runs on.
    pub tty: Option<String>,
    /// Ports named by arguments or configuration.
    pub ports: Vec<String>,
}

impl ServiceStart {
    /// The program's own name: the BusyBox applet, else the name it was
    /// invoked as (multi-call binaries such as dropbear act on it), a
    /// leading `-` login-shell marker removed.
    pub fn name(&self) -> String {
        if let Some(a) = &self.applet {
            return a.clone();
        }
        basename(self.program.trim_start_matches('-')).to_string()
    }

    /// The terminal it runs on: a getty's terminal argument, else the
    /// inittab terminal.
    pub fn terminal(&self) -> Option<String> {
        if matches!(
            self.name().as_str(),
            "getty" | "agetty" | "mingetty" | "mgetty" | "fbgetty" | "uugetty"
        ) {
            let tty = self.argv.iter().skip(1).find(|a| is_tty(a));
            if let Some(t) = tty {
                return Some(t.trim_start_matches("/dev/").to_string());
            }
        }
        self.tty.clone()
    }

    /// False when the program cannot run: a BusyBox applet that is not
    /// compiled in, or a binary the image does not contain.
    pub fn runs(&self) -> bool {
        self.applet_present != Some(false) && self.binary.is_some()
    }

    /// `script:line` for evidence.
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.script),
            None => format!("{} (built-in default)", self.script),
        }
    }

    /// The argument vector with optional arguments in brackets.
    pub fn command_line(&self) -> String {
        let mut parts: Vec<String> = self.argv.clone();
        parts.extend(self.optional_args.iter().map(|a| format!("[{a}]")));
        parts.join(" ")
    }
}

/// One script reaching another (sourced, called, or linked in rc.d).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Edge {
    pub from: String,
    pub line: Option<usize>,
    pub to: String,
    /// `sysinit`, `call`, `source`, `rc.d`, `unit`…
    pub how: String,
    pub condition: Condition,
}

/// The boot model of one root filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootGraph {
    /// Index into [`crate::unpack::Unpacked::filesystems`].
    pub filesystem: usize,
    pub container: Chain,
    /// The root's folder in the tree (`/` or e.g. `/rootfs-arm`).
    pub root: String,
    /// The init system found (`busybox`, `procd`, `sysvinit`, `systemd`,
    /// `script`, `unknown`).
    pub init: String,
    pub starts: Vec<ServiceStart>,
    pub edges: Vec<Edge>,
    /// What could not be followed; empty when the model is complete.
    pub gaps: Vec<String>,
}

impl BootGraph {
    /// The root's tree prefix: empty for `/`, else e.g. `/rootfs-arm`.
    pub fn prefix(&self) -> &str {
        if self.root == "/" { "" } else { &self.root }
    }
}

/// Build the boot model of every root filesystem.
pub fn build_all(filesystems: &[Filesystem]) -> Vec<BootGraph> {
    let mut out = Vec::new();
    for (i, f) in filesystems.iter().enumerate() {
        for prefix in f.root_prefixes() {
            out.push(build(i, f, &prefix));
        }
    }
    out
}

/// Build the boot model of the root filesystem at `prefix` of `f`.
pub fn build(index: usize, f: &Filesystem, prefix: &str) -> BootGraph {
    let root = Root {
        tree: &f.tree,
        prefix: prefix.trim_end_matches('/'),
    };
    let mut w = script::Walker::new(root);
    let init = inittab::start(&mut w);
    systemd::start(&mut w, &init);
    inetd::expand(&mut w);
    cron::expand(&mut w);
    let (mut starts, mut edges, gaps) = w.finish();
    for s in &mut starts {
        if s.ports.is_empty() {
            s.ports = ports(&root, s);
        }
    }
    starts.sort();
    starts.dedup();
    edges.sort();
    edges.dedup();
    BootGraph {
        filesystem: index,
        container: f.chain.clone(),
        root: if prefix.is_empty() {
            "/".into()
        } else {
            prefix.to_string()
        },
        init,
        starts,
        edges,
        gaps,
    }
}

/// Ports a server listens on, from its arguments, its configuration or its
/// documented default.
fn ports(root: &Root, s: &ServiceStart) -> Vec<String> {
    let name = s.name();
    let flag = |f: &str| -> Vec<String> {
        s.argv
            .iter()
            .enumerate()
            .filter(|(_, a)| *a == f)
            .filter_map(|(i, _)| s.argv.get(i + 1))
            .map(|v| format!("{}/tcp", v.rsplit(':').next().unwrap_or(v)))
            .collect()
    };
    let conf_value = |path: &str, key: &str| -> Option<String> {
        let (_, d) = root.file(path)?;
        text(d).lines().find_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(key)?;
            let v = rest.trim_start_matches([' ', '\t', '=']).trim().trim_matches('"');
            v.parse::<u16>().ok().map(|p| format!("{p}/tcp"))
        })
    };
    let default = |p: &str| vec![p.to_string()];
    match name.as_str() {
        "telnetd" | "utelnetd" | "in.telnetd" => Some(flag("-p"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default("23/tcp")),
        "dropbear" | "sshd" => Some(flag("-p"))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default("22/tcp")),
        "httpd" | "uhttpd" | "mini_httpd" | "thttpd" | "goahead" => {
            let mut v = flag("-p");
            v.extend(flag("-s"));
            if v.is_empty() && s.applet.is_some() {
                default("80/tcp")
            } else {
                v
            }
        }
        "miniweb" => conf_value("/etc/miniweb.conf", "ServerPort").into_iter().collect(),
        "lighttpd" => {
            let conf = s
                .argv
                .iter()
                .position(|a| a == "-f")
                .and_then(|i| s.argv.get(i + 1))
                .cloned();
            conf.and_then(|c| conf_value(&c, "server.port")).into_iter().collect()
        }
        "boa" => conf_value("/etc/boa/boa.conf", "Port").into_iter().collect(),
        "ftpd" | "vsftpd" | "proftpd" | "pure-ftpd" | "bftpd" | "in.ftpd" => default("21/tcp"),
        "tftpd" | "in.tftpd" | "atftpd" => default("69/udp"),
        "snmpd" | "mini_snmpd" => default("161/udp"),
        "miniupnpd" => default("1900/udp"),
        _ => Vec::new(),
    }
}

/// Directories whose content is created at run time, not shipped.
pub const RUNTIME_DIRS: &[&str] = &["/tmp", "/var", "/run", "/proc", "/sys", "/dev"];

/// Whether a device path lies under a run-time directory.
pub fn is_runtime(path: &str) -> bool {
    RUNTIME_DIRS
        .iter()
        .any(|d| path == *d || path.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
}

/// Whether a word names a terminal device (`ttyS0`, `/dev/ttyAMA0`,
/// `console`, `tts/0`, `hvc0`).
pub fn is_tty(a: &str) -> bool {
    let a = a.trim_start_matches("/dev/");
    a == "console" || a.starts_with("tty") || a.starts_with("tts/") || a.starts_with("hvc") || a.starts_with("ttyGS")
}

/// Whether a terminal is a serial line rather than a virtual console.
pub fn is_serial(tty: &str) -> bool {
    let t = tty.trim_start_matches("/dev/");
    let virt = t
        .strip_prefix("tty")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    !virt
}

pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Shells that give a command prompt.
pub const SHELLS: &[&str] = &["sh", "ash", "bash", "dash", "hush", "msh", "ksh", "mksh", "zsh", "lash"];

/// One root filesystem as the device sees it: device paths (`/etc/inittab`)
/// map to tree paths under `prefix`, and links never leave the root.
#[derive(Debug, Clone, Copy)]
pub struct Root<'a> {
    pub tree: &'a FsTree,
    pub prefix: &'a str,
}

impl<'a> Root<'a> {
    /// The tree path of device path `p`.
    pub fn full(&self, p: &str) -> String {
        format!("{}{}", self.prefix, p)
    }

    /// The device path of tree path `p`.
    pub fn device<'p>(&self, p: &'p str) -> &'p str {
        match p.strip_prefix(self.prefix) {
            Some("") => "/",
            Some(r) if r.starts_with('/') => r,
            _ => p,
        }
    }

    /// The node at device path `p`, links not followed.
    pub fn node(&self, p: &str) -> Option<&'a Node> {
        self.tree.get(&self.full(p))
    }

    /// Follow links from device path `p`: the tree path and node reached.
    pub fn resolve(&self, p: &str) -> Option<(&'a str, &'a Node)> {
        self.tree.resolve_in(&self.full(p), self.prefix)
    }

    /// The bytes of the regular file at device path `p` (links followed),
    /// with its tree path.
    pub fn file(&self, p: &str) -> Option<(&'a str, &'a [u8])> {
        let (path, node) = self.resolve(p)?;
        node.data().map(|d| (path, d))
    }

    /// The entries of directory `dir` (links followed for the directory).
    pub fn children(&self, dir: &str) -> Vec<(String, &'a Node)> {
        let Some((real, node)) = self.resolve(dir) else {
            return Vec::new();
        };
        if node.kind != NodeKind::Dir {
            return Vec::new();
        }
        self.tree
            .children(real)
            .map(|(name, n)| (name.to_string(), n))
            .collect()
    }

    /// Find `cmd` in the colon-separated `path` list, as the shell would:
    /// the first directory holding an entry of that name (even a dangling
    /// link, which then fails to run).
    pub fn lookup(&self, cmd: &str, path: &str) -> Option<String> {
        path.split(':').filter(|d| d.starts_with('/')).find_map(|d| {
            let p = format!("{}/{cmd}", d.trim_end_matches('/'));
            self.node(&p).map(|_| p)
        })
    }
}

/// Text files as the walker reads them: lossy UTF-8 so that a stray byte
/// does not hide a script.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Build in-memory root filesystems for unit tests.
    use crate::unpack::budget::{Budget, Limits};
    use crate::unpack::tree::{Node, NodeKind, Sink};
    use crate::unpack::{Chain, Filesystem};

    /// `files`: (path, contents); `links`: (path, target).
    pub fn fs(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Filesystem {
        let mut budget = Budget::new(Limits::default(), 0);
        let mut sink = Sink::new(&mut budget);
        for (p, d) in files {
            sink.add(p, Node::file(d.to_vec(), 0o755)).unwrap();
        }
        for (p, t) in links {
            let n = Node {
                kind: NodeKind::Symlink((*t).into()),
                mode: 0o777,
                uid: 0,
                gid: 0,
            };
            sink.add(p, n).unwrap();
        }
        let (tree, _) = sink.finish();
        Filesystem {
            chain: Chain::image("test.bin").child("", 0, "squashfs"),
            format: "squashfs",
            tree,
        }
    }

    /// Build a root filesystem, let `run` drive a walker over it, and
    /// return its starts, edges and gaps.
    pub fn walk(
        files: &[(&str, &[u8])],
        links: &[(&str, &str)],
        run: impl FnOnce(&mut super::script::Walker),
    ) -> (Vec<super::ServiceStart>, Vec<super::Edge>, Vec<String>) {
        let f = fs(files, links);
        let mut w = super::script::Walker::new(super::Root {
            tree: &f.tree,
            prefix: "",
        });
        run(&mut w);
        w.finish()
    }

    /// A fake BusyBox ELF with the given sorted applet list.
    pub fn busybox(applets: &[&str]) -> Vec<u8> {
        let mut d = b"\x7fELF\x01\x01\x01\0BusyBox v1.24.1 (2021-01-01) multi-call binary.\0\xff\0".to_vec();
        for a in applets {
            d.extend_from_slice(a.as_bytes());
            d.push(0);
        }
        d.extend_from_slice(b"\0\xffend");
        d
    }

    pub const APPLETS: &[&str] = &[
        "[", "[[", "ash", "cat", "crond", "echo", "getty", "inetd", "init", "kill", "login", "ls", "mount", "nc", "ps",
        "rm", "sh", "sleep", "telnetd", "test", "tftpd",
    ];
}
