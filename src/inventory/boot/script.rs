//! Walk shell scripts the way the device's init would run them, without
//! running anything.
//!
//! The walker reads each script with [`super::shell`] and visits its
//! commands in order, keeping what a static reader can know:
//! - variables assigned from literals, the positional parameters a caller
//!   passed, and the PATH (so `telnetd` resolves to `/usr/sbin/telnetd`);
//! - conditions: a command inside `if`, `case`, `while`, a `for` over
//!   unknown words, or after `&&` / `||` is *conditional*, labelled with the
//!   condition's shell text. File tests (`[ -x /usr/sbin/telnetd ]`) and
//!   string tests on known values are decided against the image, so
//!   `[ -f /etc/rc.local ] && sh /etc/rc.local` is unconditional when the
//!   file is shipped, and dead code never counts;
//! - `exit` / `return` behind an unknown condition make the rest of the
//!   script conditional ("not (…)");
//! - `.` / `source`, direct calls of scripts and `sh script` are followed
//!   (with a depth and visit guard); functions defined in the script are
//!   followed when called; functions from shared libraries (`/lib`,
//!   `/usr/lib`, `/usr/share`, `/etc/rc.common`) are opaque helpers;
//! - OpenWrt: `#!/bin/sh /etc/rc.common` scripts run `boot()` or
//!   `start_service()`/`start()` as rc.common would, and `procd_set_param
//!   command …` becomes a start of mechanism `procd`;
//! - wrappers (`nohup`, `start-stop-daemon`, `busybox APPLET`, `tcpsvd`,
//!   `exec`) are looked through.
//!
//! A program becomes a [`ServiceStart`] when it is a binary of the image
//! (ELF or other non-script), or a BusyBox applet that is a daemon, a login
//! or runs in the background. Plain BusyBox utilities (`mount`, `echo`) are
//! not listed. Programs the image does not contain are gaps.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::shell::{self, Cmd, Conn, Part, Simple, Word};
use super::{Condition, Edge, Mechanism, Root, SHELLS, ServiceStart, basename, busybox, is_runtime};
use crate::unpack::tree::NodeKind;

/// The PATH BusyBox init gives its children.
pub const DEFAULT_PATH: &str = "/sbin:/usr/sbin:/bin:/usr/bin";
const MAX_DEPTH: usize = 24;
const MAX_STEPS: usize = 100_000;
const MAX_VISITS: usize = 8;
const MAX_LIBRARY_VISITS: usize = 512;
const MAX_LOOP: usize = 128;

/// BusyBox applets that are daemons, logins or shells: listed as starts
/// even in the foreground.
pub const SERVICE_APPLETS: &[&str] = &[
    "telnetd",
    "httpd",
    "ftpd",
    "tftpd",
    "inetd",
    "crond",
    "syslogd",
    "klogd",
    "udhcpd",
    "dhcprelay",
    "dnsd",
    "ntpd",
    "tcpsvd",
    "udpsvd",
    "getty",
    "login",
    "sulogin",
    "nc",
    "netcat",
    "fakeidentd",
    "lpd",
    "watchdog",
    "ifplugd",
    "zcip",
    "acpid",
    "inotifyd",
    "sh",
    "ash",
    "hush",
    "msh",
    "bash",
];

/// A value the walker knows, or the text it shows for an unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Known(String),
    Unknown(String),
}

/// The outcome of a command as far as conditions go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown(String),
}

/// The negation of a condition label; `not (not (x))` is `x`.
fn not(t: &str) -> String {
    match t.strip_prefix("not (").and_then(|r| r.strip_suffix(')')) {
        Some(inner) if balanced(inner) => inner.to_string(),
        _ => format!("not ({t})"),
    }
}

/// Whether the parentheses of `s` balance without closing below zero.
fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// How control leaves a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Exit,
    Return,
    Break,
    Continue,
}

#[derive(Debug, Clone)]
struct Func {
    file: String,
    line_base: usize,
    body: Rc<Cmd>,
    library: bool,
}

/// One expanded word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub text: String,
    pub known: bool,
    /// Unquoted glob characters were present.
    pub glob: bool,
}

impl Field {
    pub fn lit(s: &str) -> Field {
        Field {
            text: s.to_string(),
            known: true,
            glob: false,
        }
    }
}

/// Extra facts a wrapper or mechanism adds to a start.
#[derive(Debug, Clone, Default)]
struct Hints {
    applet: Option<String>,
    mechanism: Option<Mechanism>,
    action: Option<String>,
    record: bool,
    ports: Vec<String>,
}

/// The state of one running shell (a script, or a function call in it).
#[derive(Debug, Clone)]
pub struct Frame {
    /// Tree path of the file whose commands are being walked.
    pub file: String,
    /// Reported line = `line_base + line - 1` (snippets from inittab or cron).
    pub line_base: usize,
    pub mechanism: Mechanism,
    /// Overrides `background`/`foreground` (inittab action, cron schedule).
    pub action: Option<String>,
    pub tty: Option<String>,
    /// List every program this frame runs, utilities included.
    pub record_all: bool,
    env: BTreeMap<String, Val>,
    exported: BTreeSet<String>,
    args: Vec<Val>,
    funcs: BTreeMap<String, Func>,
    conds: Vec<String>,
    cond_base: usize,
    exit_guards: Vec<String>,
    library: bool,
    depth: usize,
    /// The open procd instance: index into the starts and the condition
    /// depth when it was opened.
    procd: Option<(usize, usize)>,
}

impl Frame {
    pub fn new(file: &str, mechanism: Mechanism) -> Frame {
        let mut env = BTreeMap::new();
        env.insert("PATH".to_string(), Val::Known(DEFAULT_PATH.into()));
        // OpenWrt's build-root prefix: empty on the device.
        env.insert("IPKG_INSTROOT".to_string(), Val::Known(String::new()));
        Frame {
            file: file.to_string(),
            line_base: 1,
            mechanism,
            action: None,
            tty: None,
            record_all: false,
            env,
            exported: ["PATH".to_string()].into(),
            args: Vec::new(),
            funcs: BTreeMap::new(),
            conds: Vec::new(),
            cond_base: 0,
            exit_guards: Vec::new(),
            library: false,
            depth: 0,
            procd: None,
        }
    }

    /// Start this frame under the caller's conditions.
    pub fn with_conds(mut self, conds: Vec<String>) -> Frame {
        self.cond_base = conds.len();
        self.conds = conds;
        self
    }

    pub fn with_args(mut self, args: &[String]) -> Frame {
        self.args = args.iter().map(|a| Val::Known(a.clone())).collect();
        self
    }

    /// A child process: exported variables, no functions, the caller's
    /// conditions.
    fn child(&self, file: &str, mechanism: Mechanism, args: Vec<Val>) -> Frame {
        let mut g = Frame::new(file, mechanism);
        for n in &self.exported {
            if let Some(v) = self.env.get(n) {
                g.env.insert(n.clone(), v.clone());
            }
        }
        g.exported = self.exported.clone();
        g.args = args;
        g.conds = self.all_conds();
        g.cond_base = g.conds.len();
        g.depth = self.depth + 1;
        g
    }

    fn all_conds(&self) -> Vec<String> {
        let mut c = self.conds.clone();
        c.extend(self.exit_guards.iter().cloned());
        c
    }

    fn condition(&self) -> Condition {
        Condition::from_conds(&self.all_conds())
    }

    fn path_var(&self) -> String {
        match self.env.get("PATH") {
            Some(Val::Known(p)) => p.clone(),
            _ => DEFAULT_PATH.to_string(),
        }
    }
}

/// Walks scripts of one root filesystem and collects the boot graph.
pub struct Walker<'a> {
    pub root: Root<'a>,
    starts: Vec<ServiceStart>,
    edges: Vec<Edge>,
    gaps: BTreeSet<String>,
    runtime: BTreeSet<String>,
    visits: BTreeMap<String, usize>,
    steps: usize,
    applets: BTreeMap<String, Option<BTreeSet<String>>>,
    parsed: BTreeMap<String, Rc<Result<Vec<Cmd>, shell::ParseError>>>,
    /// Scripts being walked right now: a script never re-enters itself.
    active: Vec<String>,
}

impl<'a> Walker<'a> {
    pub fn new(root: Root<'a>) -> Self {
        Walker {
            root,
            starts: Vec::new(),
            edges: Vec::new(),
            gaps: BTreeSet::new(),
            runtime: BTreeSet::new(),
            visits: BTreeMap::new(),
            steps: 0,
            applets: BTreeMap::new(),
            parsed: BTreeMap::new(),
            active: Vec::new(),
        }
    }

    pub fn gap(&mut self, g: impl Into<String>) {
        self.gaps.insert(g.into());
    }

    pub fn starts(&self) -> &[ServiceStart] {
        &self.starts
    }

    pub fn push_start(&mut self, s: ServiceStart) -> usize {
        self.starts.push(s);
        self.starts.len() - 1
    }

    pub fn edge(&mut self, from: &str, line: Option<usize>, to: &str, how: &str, condition: Condition) {
        self.edges.push(Edge {
            from: from.to_string(),
            line,
            to: to.to_string(),
            how: how.to_string(),
            condition,
        });
    }

    /// Hand over starts, edges and gaps.
    pub fn finish(mut self) -> (Vec<ServiceStart>, Vec<Edge>, Vec<String>) {
        if !self.runtime.is_empty() {
            let n = self.runtime.len();
            let some: Vec<&str> = self.runtime.iter().take(3).map(String::as_str).collect();
            self.gaps.insert(format!(
                "{n} program(s) run from run-time locations the image does not contain (generated at boot), so what they start is unknown: {}{}",
                some.join(", "),
                if n > 3 { ", …" } else { "" }
            ));
        }
        (self.starts, self.edges, self.gaps.into_iter().collect())
    }

    /// The BusyBox applet list of the binary at tree path `real`, cached.
    pub fn applet_present(&mut self, real: &str, data: &[u8], applet: &str) -> Option<bool> {
        let list = self
            .applets
            .entry(real.to_string())
            .or_insert_with(|| busybox::applets(data));
        match list {
            Some(l) => Some(l.contains(applet)),
            None => {
                let g = format!(
                    "{real}: BusyBox applet list not found, so it is unknown which applets started at boot (such as `{applet}`) are compiled in"
                );
                self.gaps.insert(g);
                None
            }
        }
    }

    fn parse(&mut self, real: &str, data: &[u8]) -> Rc<Result<Vec<Cmd>, shell::ParseError>> {
        if let Some(p) = self.parsed.get(real) {
            return p.clone();
        }
        let p = Rc::new(shell::parse(&super::text(data)));
        self.parsed.insert(real.to_string(), p.clone());
        p
    }

    /// Walk a script's body unless that script is already being walked
    /// (a script that re-runs itself, as OpenWrt's dropbear does after key
    /// generation).
    fn walk_script(&mut self, f: &mut Frame, real: &str, body: &[Cmd]) -> Flow {
        if self.active.iter().any(|a| a == real) {
            return Flow::Normal;
        }
        self.active.push(real.to_string());
        let fl = self.walk_list(f, body, false);
        self.active.pop();
        fl
    }

    fn visit(&mut self, real: &str, library: bool) -> bool {
        let n = self.visits.entry(real.to_string()).or_insert(0);
        *n += 1;
        *n <= if library { MAX_LIBRARY_VISITS } else { MAX_VISITS }
    }

    fn loc(&self, f: &Frame, line: usize) -> String {
        format!("{}:{line}", f.file)
    }

    // ------------------------------------------------------------ entry points

    /// Run the script at device path `invoked` with `args`, called from
    /// `from` (a frame whose file and conditions apply).
    pub fn run_script(&mut self, from: &Frame, line: Option<usize>, invoked: &str, args: Vec<Val>, how: &str) {
        // `/etc/rc.common /etc/init.d/x start` runs the init script.
        if invoked == "/etc/rc.common"
            && let Some(Val::Known(script)) = args.first()
            && script.starts_with('/')
        {
            let script = script.clone();
            if let Some((real, _)) = self.root.file(&script) {
                let real = real.to_string();
                self.run_rc_common(from, line, &script, &real, args[1..].to_vec(), how);
            } else {
                self.missing(from, line.unwrap_or(0), &script);
            }
            return;
        }
        let Some((real, data)) = self.root.file(invoked) else {
            self.missing(from, line.unwrap_or(0), invoked);
            return;
        };
        let real = real.to_string();
        match interpreter(data) {
            Interp::RcCommon => self.run_rc_common(from, line, invoked, &real, args, how),
            Interp::Shell => {
                if from.depth >= MAX_DEPTH {
                    self.gap(format!(
                        "{}: call depth limit reached at {real}",
                        self.loc(from, line.unwrap_or(0))
                    ));
                    return;
                }
                self.edge(&from.file, line, &real, how, from.condition());
                if !self.visit(&real, false) {
                    return;
                }
                let parsed = self.parse(&real, data);
                let body = match parsed.as_ref() {
                    Ok(b) => b,
                    Err(e) => {
                        self.gap(format!(
                            "{real}: cannot read as a shell script ({e}); what it starts is unknown"
                        ));
                        return;
                    }
                };
                let mut g = from.child(&real, classify(invoked, from.mechanism), args);
                self.walk_script(&mut g, &real, body);
            }
            Interp::Other(i) => {
                self.edge(&from.file, line, &real, how, from.condition());
                self.gap(format!("{real}: a `{i}` script; what it starts is not followed"));
            }
            Interp::Binary => {
                let fields: Vec<Field> = std::iter::once(Field::lit(invoked))
                    .chain(args.iter().map(|a| match a {
                        Val::Known(s) => Field::lit(s),
                        Val::Unknown(s) => Field {
                            text: s.clone(),
                            known: false,
                            glob: false,
                        },
                    }))
                    .collect();
                let mut f = from.clone();
                self.exec_external(&mut f, &fields, line.unwrap_or(0), false, Hints::default());
            }
        }
    }

    /// OpenWrt: run an init script through `/etc/rc.common` with `args`
    /// (`boot` from procd, or `start`).
    fn run_rc_common(
        &mut self,
        from: &Frame,
        line: Option<usize>,
        invoked: &str,
        real: &str,
        args: Vec<Val>,
        how: &str,
    ) {
        self.edge(&from.file, line, real, how, from.condition());
        if !self.visit(real, false) {
            return;
        }
        let Some((_, data)) = self.root.file(invoked) else {
            return;
        };
        let parsed = self.parse(real, data);
        let body = match parsed.as_ref() {
            Ok(b) => b,
            Err(e) => {
                self.gap(format!(
                    "{real}: cannot read as a shell script ({e}); what it starts is unknown"
                ));
                return;
            }
        };
        let action = match args.first() {
            Some(Val::Known(a)) => a.clone(),
            _ => "start".to_string(),
        };
        let mut g = from.child(real, Mechanism::RcD, args.iter().skip(1).cloned().collect());
        g.env
            .insert("initscript".into(), Val::Known(self.root.device(real).to_string()));
        // rc.common's helpers (and the libraries it sources) are opaque.
        if let Some((rc_real, rc_data)) = self.root.file("/etc/rc.common") {
            let rc_real = rc_real.to_string();
            let rc = self.parse(&rc_real, rc_data);
            if let Ok(rc_body) = rc.as_ref() {
                let file = std::mem::replace(&mut g.file, rc_real);
                g.library = true;
                self.walk_list(&mut g, rc_body, false);
                g.library = false;
                g.file = file;
            }
        } else {
            self.gap(format!(
                "{real} runs through /etc/rc.common, which the image does not contain"
            ));
        }
        if self.active.iter().any(|a| a == real) {
            return;
        }
        self.active.push(real.to_string());
        self.walk_list(&mut g, body, false);
        let own = |g: &Frame, n: &str| g.funcs.get(n).filter(|f| !f.library).cloned();
        let procd = matches!(g.env.get("USE_PROCD"), Some(Val::Known(v)) if !v.is_empty());
        let entry = if action == "boot" && own(&g, "boot").is_some() {
            Some("boot")
        } else if procd {
            Some("start_service")
        } else {
            Some("start")
        };
        if let Some(name) = entry
            && let Some(func) = own(&g, name)
        {
            let args = g.args.clone();
            self.call_function(&mut g, &func, args, false);
        }
        self.active.pop();
    }

    /// Walk a one-line command (inittab process, cron entry) in `f`,
    /// reported at `line`.
    pub fn run_snippet(&mut self, f: &mut Frame, text: &str, line: usize) {
        match shell::parse(text) {
            Ok(body) => {
                let base = std::mem::replace(&mut f.line_base, line);
                self.walk_list(f, &body, false);
                f.line_base = base;
            }
            Err(e) => self.gap(format!(
                "{}: cannot read `{text}` as a command ({e})",
                self.loc(f, line)
            )),
        }
    }

    /// Record or follow a program with its argument fields (used by systemd
    /// units, which run programs without a shell).
    pub fn run_program(&mut self, f: &mut Frame, fields: &[Field], line: usize, action: &str, ports: Vec<String>) {
        let hints = Hints {
            action: Some(action.to_string()),
            record: true,
            ports,
            ..Hints::default()
        };
        self.exec_external(f, fields, line, true, hints);
    }

    // ------------------------------------------------------------ walking

    fn walk_list(&mut self, f: &mut Frame, cmds: &[Cmd], bg: bool) -> Flow {
        let saved = f.conds.len();
        let mut flow = Flow::Normal;
        for c in cmds {
            let (fl, _) = self.walk(f, c, bg);
            if fl != Flow::Normal {
                flow = fl;
                break;
            }
        }
        f.conds.truncate(saved);
        flow
    }

    /// Turn a flow that happened under `cond` into a guard on what follows:
    /// an `exit` guards the rest of the script, a `return`, `break` or
    /// `continue` the rest of the enclosing list (pushed into `later`).
    fn guard(f: &mut Frame, later: &mut Vec<String>, flow: Flow, cond: &str) {
        let g = not(cond);
        match flow {
            Flow::Normal => {}
            Flow::Exit => f.exit_guards.push(g),
            Flow::Return | Flow::Break | Flow::Continue => later.push(g),
        }
    }

    fn walk(&mut self, f: &mut Frame, c: &Cmd, bg: bool) -> (Flow, Tri) {
        match c {
            Cmd::Simple(s) => self.simple(f, s, bg),
            Cmd::Background(inner) => {
                // A background job is a subshell: its `exit`, variables and
                // guards do not reach the script.
                let mut g = f.clone();
                self.walk(&mut g, inner, true);
                (Flow::Normal, Tri::True)
            }
            Cmd::Group(b) => {
                let fl = self.walk_list(f, b, bg);
                (fl, Tri::Unknown("{ … }".into()))
            }
            Cmd::Subshell(b) => {
                let mut g = f.clone();
                self.walk_list(&mut g, b, bg);
                (Flow::Normal, Tri::Unknown("( … )".into()))
            }
            Cmd::Pipeline { cmds, negated } => {
                let mut last = Tri::True;
                for c in cmds {
                    let (_, t) = self.walk(f, c, bg);
                    last = t;
                }
                if cmds.len() > 1 {
                    last = Tri::Unknown(cmd_text(c));
                }
                if *negated {
                    last = match last {
                        Tri::True => Tri::False,
                        Tri::False => Tri::True,
                        Tri::Unknown(t) => Tri::Unknown(not(&t)),
                    };
                }
                (Flow::Normal, last)
            }
            Cmd::AndOr(items) => self.and_or(f, items, bg),
            Cmd::If { arms, otherwise, .. } => self.if_cmd(f, arms, otherwise.as_deref(), bg),
            Cmd::Case { subject, arms, .. } => self.case_cmd(f, subject, arms, bg),
            Cmd::For { var, words, body, .. } => self.for_cmd(f, var, words.as_deref(), body, bg),
            Cmd::Loop { cond, body, until, .. } => self.loop_cmd(f, cond, body, *until, bg),
            Cmd::Func { name, body, .. } => {
                f.funcs.insert(
                    name.clone(),
                    Func {
                        file: f.file.clone(),
                        line_base: f.line_base,
                        body: Rc::new((**body).clone()),
                        library: f.library || is_library(self.root.device(&f.file)),
                    },
                );
                (Flow::Normal, Tri::True)
            }
        }
    }

    fn and_or(&mut self, f: &mut Frame, items: &[(Conn, Cmd)], bg: bool) -> (Flow, Tri) {
        let Some(((_, first), rest)) = items.split_first() else {
            return (Flow::Normal, Tri::True);
        };
        let (fl, mut status) = self.walk(f, first, bg);
        if fl != Flow::Normal {
            return (fl, status);
        }
        for (conn, cmd) in rest {
            let cond: Option<String> = match (conn, &status) {
                (Conn::And, Tri::True) | (Conn::Or, Tri::False) => None,
                (Conn::And, Tri::False) | (Conn::Or, Tri::True) => continue,
                (Conn::And, Tri::Unknown(t)) => Some(t.clone()),
                (Conn::Or, Tri::Unknown(t)) => Some(not(t)),
            };
            if let Some(c) = &cond {
                f.conds.push(c.clone());
            }
            let (fl, r) = self.walk(f, cmd, bg);
            if cond.is_some() {
                f.conds.pop();
            }
            match &cond {
                None if fl != Flow::Normal => return (fl, r),
                Some(c) => {
                    let mut later = Vec::new();
                    Self::guard(f, &mut later, fl, c);
                    f.conds.extend(later);
                    status = Tri::Unknown(cmd_text(&Cmd::AndOr(items.to_vec())));
                }
                None => status = r,
            }
        }
        (Flow::Normal, status)
    }

    /// Walk a condition list (its commands run) and return its outcome.
    fn cond_truth(&mut self, f: &mut Frame, cond: &[Cmd], bg: bool) -> (Flow, Tri) {
        let mut last = (Flow::Normal, Tri::True);
        for c in cond {
            last = self.walk(f, c, bg);
            if last.0 != Flow::Normal {
                break;
            }
        }
        last
    }

    fn if_cmd(
        &mut self,
        f: &mut Frame,
        arms: &[(Vec<Cmd>, Vec<Cmd>)],
        otherwise: Option<&[Cmd]>,
        bg: bool,
    ) -> (Flow, Tri) {
        let saved = f.conds.len();
        let mut later = Vec::new();
        let mut decided = false;
        for (cond, body) in arms {
            let (fl, t) = self.cond_truth(f, cond, bg);
            if fl != Flow::Normal {
                f.conds.truncate(saved);
                return (fl, Tri::True);
            }
            match t {
                Tri::False => continue,
                Tri::True => {
                    let conditional = f.conds.len() > saved;
                    let label = f.conds[saved..].join(" and ");
                    let fl = self.walk_list(f, body, bg);
                    if conditional {
                        Self::guard(f, &mut later, fl, &label);
                    } else if fl != Flow::Normal {
                        f.conds.truncate(saved);
                        return (fl, Tri::True);
                    }
                    decided = true;
                    break;
                }
                Tri::Unknown(text) => {
                    f.conds.push(text.clone());
                    let label = f.conds[saved..].join(" and ");
                    let fl = self.walk_list(f, body, bg);
                    f.conds.pop();
                    Self::guard(f, &mut later, fl, &label);
                    f.conds.push(not(&text));
                }
            }
        }
        if !decided && let Some(o) = otherwise {
            let conditional = f.conds.len() > saved;
            let label = f.conds[saved..].join(" and ");
            let fl = self.walk_list(f, o, bg);
            if conditional {
                Self::guard(f, &mut later, fl, &label);
            } else if fl != Flow::Normal {
                f.conds.truncate(saved);
                return (fl, Tri::True);
            }
        }
        f.conds.truncate(saved);
        f.conds.extend(later);
        (Flow::Normal, Tri::True)
    }

    fn case_cmd(&mut self, f: &mut Frame, subject: &Word, arms: &[(Vec<Word>, Vec<Cmd>)], bg: bool) -> (Flow, Tri) {
        let subj = self.join(f, subject);
        let mut later = Vec::new();
        for (pats, body) in arms {
            let mut matched = false;
            let mut unknown = !subj.known;
            for p in pats {
                let pe = self.join(f, p);
                if !pe.known {
                    unknown = true;
                } else if subj.known && glob_match(&pe.text, &subj.text) {
                    matched = true;
                    break;
                }
            }
            if matched && !unknown {
                return (self.walk_list(f, body, bg), Tri::True);
            }
            if unknown {
                let label = format!(
                    "case {} in {})",
                    subject.raw,
                    pats.iter().map(|p| p.raw.as_str()).collect::<Vec<_>>().join("|")
                );
                f.conds.push(label.clone());
                let fl = self.walk_list(f, body, bg);
                f.conds.pop();
                Self::guard(f, &mut later, fl, &label);
            }
        }
        f.conds.extend(later);
        (Flow::Normal, Tri::True)
    }

    fn for_cmd(&mut self, f: &mut Frame, var: &str, words: Option<&[Word]>, body: &[Cmd], bg: bool) -> (Flow, Tri) {
        let values: Option<Vec<String>> = match words {
            None => f
                .args
                .iter()
                .map(|a| match a {
                    Val::Known(s) => Some(s.clone()),
                    Val::Unknown(_) => None,
                })
                .collect(),
            Some(ws) => {
                let mut out = Vec::new();
                let mut ok = true;
                for w in ws {
                    for fl in self.fields(f, std::slice::from_ref(w)) {
                        if !fl.known {
                            ok = false;
                        } else if fl.glob {
                            match self.glob(&fl.text) {
                                Some(v) => out.extend(v),
                                None => ok = false,
                            }
                        } else {
                            out.push(fl.text);
                        }
                    }
                }
                ok.then_some(out)
            }
        };
        match values {
            Some(vals) if vals.len() <= MAX_LOOP => {
                for v in vals {
                    f.env.insert(var.to_string(), Val::Known(v));
                    match self.walk_list(f, body, bg) {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                        fl => return (fl, Tri::True),
                    }
                }
            }
            other => {
                if other.is_some() {
                    self.gap(format!(
                        "{}: a loop over more than {MAX_LOOP} items was walked once",
                        f.file
                    ));
                }
                let label = format!(
                    "for each {var} in {}",
                    words
                        .map(|ws| ws.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" "))
                        .unwrap_or_else(|| "\"$@\"".into())
                );
                f.env.insert(var.to_string(), Val::Unknown(format!("${var}")));
                f.conds.push(label.clone());
                let fl = self.walk_list(f, body, bg);
                f.conds.pop();
                if matches!(fl, Flow::Exit | Flow::Return) {
                    let mut later = Vec::new();
                    Self::guard(f, &mut later, fl, &label);
                    f.conds.extend(later);
                }
            }
        }
        (Flow::Normal, Tri::True)
    }

    fn loop_cmd(&mut self, f: &mut Frame, cond: &[Cmd], body: &[Cmd], until: bool, bg: bool) -> (Flow, Tri) {
        let (fl, mut t) = self.cond_truth(f, cond, bg);
        if fl != Flow::Normal {
            return (fl, Tri::True);
        }
        if until {
            t = match t {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Unknown(s) => Tri::Unknown(not(&s)),
            };
        }
        match t {
            Tri::False => {}
            Tri::True => {
                let fl = self.walk_list(f, body, bg);
                if matches!(fl, Flow::Exit | Flow::Return) {
                    return (fl, Tri::True);
                }
            }
            Tri::Unknown(s) => {
                let label = format!("while {s}");
                f.conds.push(label.clone());
                let fl = self.walk_list(f, body, bg);
                f.conds.pop();
                if matches!(fl, Flow::Exit | Flow::Return) {
                    let mut later = Vec::new();
                    Self::guard(f, &mut later, fl, &label);
                    f.conds.extend(later);
                }
            }
        }
        (Flow::Normal, Tri::True)
    }

    // ------------------------------------------------------------ simple commands

    fn simple(&mut self, f: &mut Frame, s: &Simple, bg: bool) -> (Flow, Tri) {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            self.gap(format!(
                "more than {MAX_STEPS} commands walked; the rest of the boot scripts was not read"
            ));
            return (Flow::Exit, Tri::Unknown(s.text()));
        }
        let line = f.line_base + s.line.saturating_sub(1);
        let n_assign = s.words.iter().take_while(|w| assignment(w).is_some()).count();
        if n_assign == s.words.len() {
            if !f.library {
                for w in &s.words {
                    self.assign(f, w);
                }
            }
            return (Flow::Normal, Tri::True);
        }
        let words = &s.words[n_assign..];
        let fields = self.fields(f, words);
        if fields.is_empty() {
            return (Flow::Normal, Tri::True);
        }
        if f.library {
            // Libraries only define functions and source other libraries.
            if matches!(fields[0].text.as_str(), "." | "source") && fields.get(1).is_some_and(|a| a.known) {
                self.source(f, &fields[1..], line);
            }
            return (Flow::Normal, Tri::Unknown(s.text()));
        }
        self.dispatch(f, &fields, words, s, line, bg, Hints::default())
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        f: &mut Frame,
        fields: &[Field],
        words: &[Word],
        s: &Simple,
        line: usize,
        bg: bool,
        hints: Hints,
    ) -> (Flow, Tri) {
        let Some(cmd) = fields.first() else {
            return (Flow::Normal, Tri::True);
        };
        let unknown = || Tri::Unknown(s.text());
        if !cmd.known {
            self.gap(format!(
                "{}: the command `{}` is only known at run time",
                self.loc(f, line),
                cmd.text
            ));
            return (Flow::Normal, unknown());
        }
        let rest = &fields[1..];
        let rest_words = words.get(1..).unwrap_or(&[]);
        match cmd.text.as_str() {
            "." | "source" => {
                let fl = self.source(f, rest, line);
                (fl, Tri::True)
            }
            "exec" => {
                if rest.is_empty() {
                    return (Flow::Normal, Tri::True);
                }
                self.dispatch(f, rest, rest_words, s, line, bg, hints);
                (Flow::Exit, Tri::True)
            }
            "command" | "builtin" | "time" => self.dispatch(f, rest, rest_words, s, line, bg, hints),
            "nohup" | "setsid" => self.dispatch(f, rest, rest_words, s, line, true, hints),
            "nice" | "ionice" | "taskset" | "chrt" => {
                let mut skip = skip_options(rest, &["-n", "-c", "-p"]);
                if cmd.text == "taskset" && skip == 0 {
                    // `taskset MASK cmd`
                    skip = 1.min(rest.len());
                }
                self.dispatch(
                    f,
                    &rest[skip..],
                    rest_words.get(skip..).unwrap_or(&[]),
                    s,
                    line,
                    bg,
                    hints,
                )
            }
            "env" => {
                let skip = rest
                    .iter()
                    .take_while(|a| a.text.starts_with('-') || a.text.contains('='))
                    .count();
                self.dispatch(
                    f,
                    &rest[skip..],
                    rest_words.get(skip..).unwrap_or(&[]),
                    s,
                    line,
                    bg,
                    hints,
                )
            }
            ":" | "true" => (Flow::Normal, Tri::True),
            "false" => (Flow::Normal, Tri::False),
            "[" | "test" | "[[" => match self.test(rest) {
                Some(true) => (Flow::Normal, Tri::True),
                Some(false) => (Flow::Normal, Tri::False),
                None => (Flow::Normal, unknown()),
            },
            "return" => (Flow::Return, Tri::True),
            "exit" => (Flow::Exit, Tri::True),
            "break" => (Flow::Break, Tri::True),
            "continue" => (Flow::Continue, Tri::True),
            "set" => {
                let skip = usize::from(rest.first().is_some_and(|a| a.text == "--"));
                if skip == 1 || rest.first().is_some_and(|a| !a.text.starts_with(['-', '+'])) {
                    f.args = rest[skip..].iter().map(val_of).collect();
                }
                (Flow::Normal, Tri::True)
            }
            "shift" => {
                let n = rest.first().and_then(|a| a.text.parse::<usize>().ok()).unwrap_or(1);
                let n = n.min(f.args.len());
                f.args.drain(..n);
                (Flow::Normal, Tri::True)
            }
            "export" | "local" | "readonly" | "declare" | "typeset" => {
                for w in rest_words {
                    if assignment(w).is_some() {
                        self.assign(f, w);
                    }
                    let name = w.raw.split('=').next().unwrap_or("").to_string();
                    if cmd.text == "export" {
                        f.exported.insert(name.clone());
                    }
                    if cmd.text == "local" && assignment(w).is_none() {
                        f.env.insert(name.clone(), Val::Unknown(format!("${name}")));
                    }
                }
                (Flow::Normal, Tri::True)
            }
            "unset" | "read" => {
                for a in rest.iter().filter(|a| !a.text.starts_with('-')) {
                    f.env.insert(a.text.clone(), Val::Unknown(format!("${}", a.text)));
                }
                (Flow::Normal, unknown())
            }
            "eval" => {
                if rest.iter().all(|a| a.known) {
                    let text = rest.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
                    self.run_snippet(f, &text, line);
                } else {
                    self.gap(format!(
                        "{}: `eval` of a value only known at run time",
                        self.loc(f, line)
                    ));
                }
                (Flow::Normal, unknown())
            }
            "cd" => {
                let ok = rest.first().is_some_and(|d| {
                    d.known
                        && d.text.starts_with('/')
                        && !is_runtime(&d.text)
                        && self.file_test("-d", &d.text) == Some(true)
                });
                (Flow::Normal, if ok { Tri::True } else { unknown() })
            }
            "echo" | "printf" | "wait" | "trap" | "ulimit" | "umask" | "alias" | "unalias" | "hash" | "type"
            | "let" | "getopts" | "pwd" | "times" | "kill" | "sleep" | "usleep" | "logger" => (Flow::Normal, unknown()),
            "procd_open_instance" | "procd_close_instance" => {
                f.procd = None;
                (Flow::Normal, Tri::True)
            }
            "procd_set_param" | "procd_append_param" => {
                self.procd_param(f, cmd.text == "procd_append_param", rest, line);
                (Flow::Normal, Tri::True)
            }
            "config_foreach" => {
                if let Some(func) = rest
                    .first()
                    .and_then(|n| f.funcs.get(&n.text))
                    .filter(|x| !x.library)
                    .cloned()
                {
                    let kind = rest.get(1).map(|t| t.text.clone()).unwrap_or_default();
                    f.conds.push(format!("for each UCI `{kind}` section"));
                    let args = rest.get(2..).unwrap_or(&[]).iter().map(val_of).collect();
                    self.call_function(f, &func, args, bg);
                    f.conds.pop();
                }
                (Flow::Normal, unknown())
            }
            "start-stop-daemon" => self.start_stop_daemon(f, rest, s, line),
            "service_start" => self.dispatch(f, rest, rest_words, s, line, true, hints),
            "busybox" if !rest.is_empty() => {
                let mut h = hints;
                h.applet = Some(rest[0].text.clone());
                let mut fl = vec![Field::lit("busybox")];
                fl.extend(rest.iter().cloned());
                self.exec_external(f, &fl, line, bg, h)
            }
            "tcpsvd" | "udpsvd" => self.svd(f, fields, s, line, hints),
            name => {
                if let Some(func) = f.funcs.get(name).cloned() {
                    if func.library {
                        return (Flow::Normal, unknown());
                    }
                    let args = rest.iter().map(val_of).collect();
                    let (fl, t) = self.call_function(f, &func, args, bg);
                    // Label an undecided outcome by the call, not the body.
                    let t = if matches!(t, Tri::Unknown(_)) { unknown() } else { t };
                    return (if fl == Flow::Exit { Flow::Exit } else { Flow::Normal }, t);
                }
                if SHELLS.contains(&basename(name))
                    && let Some(r) = self.shell_cmd(f, rest, line, bg)
                {
                    return r;
                }
                self.exec_external(f, fields, line, bg, hints)
            }
        }
    }

    fn call_function(&mut self, f: &mut Frame, func: &Func, args: Vec<Val>, bg: bool) -> (Flow, Tri) {
        if f.depth >= MAX_DEPTH {
            self.gap(format!("{}: call depth limit reached", func.file));
            return (Flow::Normal, Tri::Unknown(String::new()));
        }
        let saved_args = std::mem::replace(&mut f.args, args);
        let saved_file = std::mem::replace(&mut f.file, func.file.clone());
        let saved_base = std::mem::replace(&mut f.line_base, func.line_base);
        let saved_conds = f.conds.len();
        f.depth += 1;
        let (fl, t) = self.walk(f, &func.body, bg);
        f.depth -= 1;
        f.conds.truncate(saved_conds);
        f.args = saved_args;
        f.file = saved_file;
        f.line_base = saved_base;
        (
            match fl {
                Flow::Exit => Flow::Exit,
                _ => Flow::Normal,
            },
            t,
        )
    }

    /// `. file` / `source file`.
    fn source(&mut self, f: &mut Frame, args: &[Field], line: usize) -> Flow {
        let Some(target) = args.first() else {
            return Flow::Normal;
        };
        if !target.known {
            if !f.library {
                self.gap(format!(
                    "{}: sources `{}`, a path only known at run time",
                    self.loc(f, line),
                    target.text
                ));
            }
            return Flow::Normal;
        }
        let dev = if target.text.contains('/') {
            if !target.text.starts_with('/') {
                if !f.library {
                    self.gap(format!(
                        "{}: sources `{}`, a path relative to an unknown directory",
                        self.loc(f, line),
                        target.text
                    ));
                }
                return Flow::Normal;
            }
            target.text.clone()
        } else {
            match self.root.lookup(&target.text, &f.path_var()) {
                Some(p) => p,
                None => {
                    self.missing(f, line, &target.text);
                    return Flow::Normal;
                }
            }
        };
        let Some((real, data)) = self.root.file(&dev) else {
            self.missing(f, line, &dev);
            return Flow::Normal;
        };
        let real = real.to_string();
        let library = f.library || is_library(&dev);
        if !library {
            self.edge(&f.file, Some(line), &real, "source", f.condition());
        }
        if !self.visit(&real, library) {
            return Flow::Normal;
        }
        let parsed = self.parse(&real, data);
        let body = match parsed.as_ref() {
            Ok(b) => b,
            Err(e) => {
                self.gap(format!(
                    "{real}: cannot read as a shell script ({e}); what it starts is unknown"
                ));
                return Flow::Normal;
            }
        };
        let saved_file = std::mem::replace(&mut f.file, real);
        let saved_base = std::mem::replace(&mut f.line_base, 1);
        let saved_lib = std::mem::replace(&mut f.library, library);
        f.depth += 1;
        let fl = if f.depth > MAX_DEPTH {
            Flow::Normal
        } else {
            self.walk_script(f, &f.file.clone(), body)
        };
        f.depth -= 1;
        f.library = saved_lib;
        f.file = saved_file;
        f.line_base = saved_base;
        if fl == Flow::Exit { Flow::Exit } else { Flow::Normal }
    }

    /// `sh script args` / `sh -c "…"`: follow the script or the string.
    /// `None` when this is an interactive shell (recorded as a program).
    fn shell_cmd(&mut self, f: &mut Frame, rest: &[Field], line: usize, bg: bool) -> Option<(Flow, Tri)> {
        let mut i = 0;
        while let Some(a) = rest.get(i) {
            if a.text == "-c" {
                let text = rest.get(i + 1)?;
                if text.known {
                    let mut g = f.child(
                        &f.file,
                        f.mechanism,
                        rest.get(i + 2..).unwrap_or(&[]).iter().map(val_of).collect(),
                    );
                    g.line_base = f.line_base;
                    g.action = f.action.clone();
                    g.tty = f.tty.clone();
                    g.record_all = f.record_all;
                    g.depth = f.depth;
                    if bg {
                        g.action.get_or_insert_with(|| "background".into());
                    }
                    self.run_snippet(&mut g, &text.text, line);
                } else {
                    self.gap(format!(
                        "{}: `sh -c` of a command only known at run time",
                        self.loc(f, line)
                    ));
                }
                return Some((Flow::Normal, Tri::Unknown(String::new())));
            }
            if a.text.starts_with('-') || a.text.starts_with('+') {
                if matches!(a.text.as_str(), "-s" | "-i" | "--login" | "-l") && rest.len() == i + 1 {
                    return None;
                }
                i += 1;
                continue;
            }
            break;
        }
        let script = rest.get(i)?;
        if !script.known {
            self.gap(format!(
                "{}: runs the script `{}`, a path only known at run time",
                self.loc(f, line),
                script.text
            ));
            return Some((Flow::Normal, Tri::Unknown(String::new())));
        }
        let dev = if script.text.starts_with('/') {
            script.text.clone()
        } else {
            self.gap(format!(
                "{}: runs the script `{}`, relative to an unknown directory",
                self.loc(f, line),
                script.text
            ));
            return Some((Flow::Normal, Tri::Unknown(String::new())));
        };
        let args = rest.get(i + 1..).unwrap_or(&[]).iter().map(val_of).collect();
        if self.root.file(&dev).is_none() {
            self.missing(f, line, &dev);
            return Some((Flow::Normal, Tri::Unknown(String::new())));
        }
        let real = self.root.resolve(&dev).map(|(r, _)| r.to_string()).unwrap_or_default();
        let data = self.root.file(&dev).map(|(_, d)| d).unwrap_or_default();
        if matches!(interpreter(data), Interp::RcCommon | Interp::Shell) || !data.starts_with(b"\x7fELF") {
            let from = f.clone();
            // Called as `sh file`: always a shell script, whatever its first line.
            let how = "call";
            if from.depth >= MAX_DEPTH {
                self.gap(format!("{}: call depth limit reached at {real}", self.loc(f, line)));
                return Some((Flow::Normal, Tri::Unknown(String::new())));
            }
            self.edge(&f.file, Some(line), &real, how, f.condition());
            if self.visit(&real, false) {
                let parsed = self.parse(&real, data);
                match parsed.as_ref() {
                    Ok(body) => {
                        let mut g = from.child(&real, classify(&dev, f.mechanism), args);
                        self.walk_script(&mut g, &real, body);
                    }
                    Err(e) => self.gap(format!(
                        "{real}: cannot read as a shell script ({e}); what it starts is unknown"
                    )),
                }
            }
            return Some((Flow::Normal, Tri::Unknown(String::new())));
        }
        None
    }

    fn start_stop_daemon(&mut self, f: &mut Frame, rest: &[Field], s: &Simple, line: usize) -> (Flow, Tri) {
        let mut start = false;
        let mut exec: Option<Field> = None;
        let mut startas: Option<Field> = None;
        let mut args: Vec<Field> = Vec::new();
        let mut i = 0;
        while let Some(a) = rest.get(i) {
            let t = a.text.as_str();
            if t == "--" {
                args = rest.get(i + 1..).unwrap_or(&[]).to_vec();
                break;
            }
            let (opt, inline) = match t.split_once('=') {
                Some((o, v)) if o.starts_with("--") => (o, Some(v.to_string())),
                _ => (t, None),
            };
            let value = |i: &mut usize| -> Option<Field> {
                if let Some(v) = &inline {
                    return Some(Field::lit(v));
                }
                *i += 1;
                rest.get(*i).cloned()
            };
            match opt {
                "-S" | "--start" => start = true,
                "-x" | "--exec" => exec = value(&mut i),
                "-a" | "--startas" => startas = value(&mut i),
                "-n" | "--name" | "-p" | "--pidfile" | "-c" | "--chuid" | "-u" | "--user" | "-N" | "--nicelevel"
                | "-d" | "--chdir" | "-r" | "--chroot" | "-s" | "--signal" | "-g" | "--group" | "-k" | "--umask"
                | "-t" | "--retry" | "-R" => {
                    value(&mut i);
                }
                _ => {}
            }
            i += 1;
        }
        if !start {
            return (Flow::Normal, Tri::Unknown(s.text()));
        }
        let Some(prog) = startas.or(exec) else {
            self.gap(format!("{}: start-stop-daemon without a program", self.loc(f, line)));
            return (Flow::Normal, Tri::Unknown(s.text()));
        };
        let mut fields = vec![prog];
        fields.extend(args);
        self.exec_external(f, &fields, line, true, Hints::default())
    }

    /// `tcpsvd [opts] IP PORT PROG ARGS`: PROG serves connections on PORT.
    fn svd(&mut self, f: &mut Frame, fields: &[Field], s: &Simple, line: usize, hints: Hints) -> (Flow, Tri) {
        let rest = &fields[1..];
        let skip = skip_options(rest, &["-l", "-u", "-c", "-C", "-b"]);
        let pos = &rest[skip..];
        if pos.len() < 3 {
            self.gap(format!("{}: cannot read `{}`", self.loc(f, line), s.text()));
            return (Flow::Normal, Tri::Unknown(s.text()));
        }
        let mut h = hints;
        h.ports = vec![format!(
            "{}/{}",
            pos[1].text,
            if fields[0].text == "udpsvd" { "udp" } else { "tcp" }
        )];
        h.action = Some(format!("{} connection", fields[0].text));
        h.record = true;
        self.exec_external(f, &pos[2..], line, true, h)
    }

    fn procd_param(&mut self, f: &mut Frame, append: bool, rest: &[Field], line: usize) {
        let Some(key) = rest.first() else { return };
        let values = &rest[1..];
        match key.text.as_str() {
            "command" if !append => {
                f.procd = None;
                let hints = Hints {
                    mechanism: Some(Mechanism::Procd),
                    action: Some("instance".into()),
                    record: true,
                    ..Hints::default()
                };
                let before = self.starts.len();
                self.exec_external(f, values, line, true, hints);
                if self.starts.len() > before {
                    f.procd = Some((self.starts.len() - 1, f.conds.len()));
                }
            }
            "command" => {
                if let Some((i, depth)) = f.procd
                    && let Some(st) = self.starts.get_mut(i)
                {
                    let texts = values.iter().map(|v| v.text.clone());
                    if f.conds.len() > depth {
                        st.optional_args.extend(texts);
                    } else {
                        st.argv.extend(texts);
                    }
                }
            }
            "respawn" => {
                if let Some((i, _)) = f.procd
                    && let Some(st) = self.starts.get_mut(i)
                {
                    st.action = "respawn".into();
                }
            }
            _ => {}
        }
    }

    /// Resolve and record a program run by `fields`; follow it when it is a
    /// script.
    fn exec_external(&mut self, f: &mut Frame, fields: &[Field], line: usize, bg: bool, hints: Hints) -> (Flow, Tri) {
        let Some(cmd) = fields.first() else {
            return (Flow::Normal, Tri::True);
        };
        let text = fields.iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
        let unknown = Tri::Unknown(text.clone());
        if !cmd.known {
            self.gap(format!(
                "{}: the program `{}` is only known at run time",
                self.loc(f, line),
                cmd.text
            ));
            return (Flow::Normal, unknown);
        }
        let name = cmd.text.trim_start_matches('-');
        let dev = if name.starts_with('/') {
            Some(normalize(name))
        } else if name.contains('/') {
            self.gap(format!(
                "{}: runs `{name}`, a path relative to an unknown directory",
                self.loc(f, line)
            ));
            return (Flow::Normal, unknown);
        } else {
            self.root.lookup(name, &f.path_var())
        };
        let record = hints.record || f.record_all || f.mechanism == Mechanism::Procd;
        let Some(dev) = dev else {
            self.missing(f, line, name);
            if record {
                self.record(f, fields, None, None, None, line, bg, &hints);
            }
            return (Flow::Normal, unknown);
        };
        let resolved = self.root.resolve(&dev).map(|(r, n)| (r.to_string(), n));
        let Some((real, node)) = resolved else {
            self.missing(f, line, &dev);
            if record {
                self.record(f, fields, None, None, None, line, bg, &hints);
            }
            return (Flow::Normal, unknown);
        };
        let NodeKind::File(data) = &node.kind else {
            self.gap(format!("{}: `{dev}` is not a regular file", self.loc(f, line)));
            return (Flow::Normal, unknown);
        };
        if busybox::is_busybox(data) {
            let applet = hints.applet.clone().unwrap_or_else(|| basename(name).to_string());
            let service = bg || record || SERVICE_APPLETS.contains(&applet.as_str());
            if service {
                let present = self.applet_present(&real, data, &applet);
                self.record(f, fields, Some(real), Some(applet), present, line, bg, &hints);
            }
            return (Flow::Normal, unknown);
        }
        match interpreter(data) {
            Interp::Binary => {
                self.record(f, fields, Some(real), None, None, line, bg, &hints);
            }
            Interp::Shell | Interp::RcCommon => {
                let args: Vec<Val> = fields[1..].iter().map(val_of).collect();
                let how = if hints.mechanism == Some(Mechanism::Procd) {
                    "procd".to_string()
                } else if f.mechanism == Mechanism::Inittab {
                    f.action.clone().unwrap_or_else(|| "call".into())
                } else {
                    "call".to_string()
                };
                let from = f.clone();
                self.run_script(&from, Some(line).filter(|l| *l > 0), &dev, args, &how);
            }
            Interp::Other(i) => {
                self.record(f, fields, Some(real.clone()), None, None, line, bg, &hints);
                self.gap(format!("{real}: a `{i}` script; what it starts is not followed"));
            }
        }
        (Flow::Normal, unknown)
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        f: &Frame,
        fields: &[Field],
        binary: Option<String>,
        applet: Option<String>,
        applet_present: Option<bool>,
        line: usize,
        bg: bool,
        hints: &Hints,
    ) {
        let action = hints
            .action
            .clone()
            .or_else(|| f.action.clone())
            .unwrap_or_else(|| if bg { "background".into() } else { "foreground".into() });
        self.starts.push(ServiceStart {
            script: f.file.clone(),
            line: if line == 0 { None } else { Some(line) },
            mechanism: hints.mechanism.unwrap_or(f.mechanism),
            program: fields.first().map(|x| x.text.clone()).unwrap_or_default(),
            binary,
            applet,
            applet_present,
            argv: fields.iter().map(|x| x.text.clone()).collect(),
            optional_args: Vec::new(),
            condition: f.condition(),
            action,
            tty: f.tty.clone(),
            ports: hints.ports.clone(),
        });
    }

    /// A program or file that the image does not contain.
    fn missing(&mut self, f: &Frame, line: usize, what: &str) {
        if what.starts_with('/') && is_runtime(what) {
            self.runtime.insert(format!("{what} ({})", self.loc(f, line)));
        } else if self.root.node(what).is_some() {
            self.gap(format!(
                "{}: `{what}` is a link to a file the image does not contain",
                self.loc(f, line)
            ));
        } else {
            self.gap(format!("{}: `{what}` is not in the image", self.loc(f, line)));
        }
    }

    // ------------------------------------------------------------ values

    fn var(&self, f: &Frame, name: &str) -> Val {
        if let Ok(n) = name.parse::<usize>() {
            if n == 0 {
                return Val::Known(self.root.device(&f.file).to_string());
            }
            return f.args.get(n - 1).cloned().unwrap_or(Val::Known(String::new()));
        }
        match name {
            "#" => Val::Known(f.args.len().to_string()),
            "@" | "*" => {
                let mut out = Vec::new();
                for a in &f.args {
                    match a {
                        Val::Known(s) => out.push(s.clone()),
                        Val::Unknown(_) => return Val::Unknown(format!("${name}")),
                    }
                }
                Val::Known(out.join(" "))
            }
            "?" | "$" | "!" | "-" => Val::Unknown(format!("${name}")),
            _ => f
                .env
                .get(name)
                .cloned()
                .unwrap_or_else(|| Val::Unknown(format!("${{{name}}}"))),
        }
    }

    /// Expand words into fields: variables, `"$@"`, and field splitting of
    /// unquoted variables.
    fn fields(&self, f: &Frame, words: &[Word]) -> Vec<Field> {
        let mut out = Vec::new();
        for w in words {
            if let [Part::Var { name, quoted: true }, rest @ ..] = w.parts.as_slice()
                && name == "@"
                && rest
                    .iter()
                    .all(|p| matches!(p, Part::Lit { text, .. } if text.is_empty()))
            {
                for a in &f.args {
                    out.push(match a {
                        Val::Known(s) => Field::lit(s),
                        Val::Unknown(s) => Field {
                            text: s.clone(),
                            known: false,
                            glob: false,
                        },
                    });
                }
                continue;
            }
            let mut cur = Field {
                text: String::new(),
                known: true,
                glob: false,
            };
            let mut has_content = false;
            let mut words_out: Vec<Field> = Vec::new();
            for p in &w.parts {
                match p {
                    Part::Lit { text, quoted } => {
                        if *quoted {
                            has_content = true;
                        } else if !text.is_empty() {
                            has_content = true;
                            if text.contains(['*', '?', '[']) {
                                cur.glob = true;
                            }
                        }
                        cur.text.push_str(text);
                    }
                    Part::Var { name, quoted } => match self.var(f, name) {
                        Val::Known(v) => {
                            if *quoted {
                                has_content = true;
                                cur.text.push_str(&v);
                            } else {
                                let mut pieces = v.split_whitespace();
                                if let Some(first) = pieces.next() {
                                    has_content = true;
                                    cur.text.push_str(first);
                                    for p in pieces {
                                        words_out.push(std::mem::replace(
                                            &mut cur,
                                            Field {
                                                text: p.to_string(),
                                                known: true,
                                                glob: false,
                                            },
                                        ));
                                    }
                                }
                            }
                        }
                        Val::Unknown(t) => {
                            has_content = true;
                            cur.known = false;
                            cur.text.push_str(&t);
                        }
                    },
                    Part::Opaque(o) => {
                        has_content = true;
                        cur.known = false;
                        cur.text.push_str(o);
                    }
                }
            }
            if has_content {
                words_out.push(cur);
            }
            out.extend(words_out);
        }
        out
    }

    /// Expand a word into a single value (no splitting), as in assignments
    /// and `case`.
    fn join(&self, f: &Frame, w: &Word) -> Field {
        let mut out = Field {
            text: String::new(),
            known: true,
            glob: false,
        };
        for p in &w.parts {
            match p {
                Part::Lit { text, .. } => out.text.push_str(text),
                Part::Var { name, .. } => match self.var(f, name) {
                    Val::Known(v) => out.text.push_str(&v),
                    Val::Unknown(t) => {
                        out.known = false;
                        out.text.push_str(&t);
                    }
                },
                Part::Opaque(o) => {
                    out.known = false;
                    out.text.push_str(o);
                }
            }
        }
        out
    }

    fn assign(&mut self, f: &mut Frame, w: &Word) {
        let Some((name, value)) = assignment(w) else { return };
        let v = self.join(f, &value);
        let new = if v.known {
            Val::Known(v.text)
        } else {
            Val::Unknown(format!("${name}"))
        };
        // An assignment behind a condition may not happen.
        let conditional = f.conds.len() > f.cond_base;
        let val = if conditional && f.env.get(&name) != Some(&new) {
            Val::Unknown(format!("${name}"))
        } else {
            new
        };
        f.env.insert(name, val);
    }

    /// `[ … ]` / `test …`: `Some` when decidable from the image.
    fn test(&self, args: &[Field]) -> Option<bool> {
        let mut a: Vec<&Field> = args.iter().collect();
        if a.last().is_some_and(|l| l.text == "]" || l.text == "]]") {
            a.pop();
        }
        self.test_expr(&a)
    }

    fn test_expr(&self, a: &[&Field]) -> Option<bool> {
        for (op, is_or) in [("-o", true), ("||", true), ("-a", false), ("&&", false)] {
            if let Some(i) = a.iter().position(|x| x.known && x.text == op)
                && i > 0
                && i + 1 < a.len()
            {
                let l = self.test_expr(&a[..i]);
                let r = self.test_expr(&a[i + 1..]);
                return match (is_or, l, r) {
                    (true, Some(true), _) | (true, _, Some(true)) => Some(true),
                    (true, Some(false), Some(false)) => Some(false),
                    (false, Some(false), _) | (false, _, Some(false)) => Some(false),
                    (false, Some(true), Some(true)) => Some(true),
                    _ => None,
                };
            }
        }
        if a.first().is_some_and(|x| x.known && x.text == "!") {
            return self.test_expr(&a[1..]).map(|b| !b);
        }
        match a {
            [] => Some(false),
            [x] => x.known.then_some(!x.text.is_empty()),
            [op, x] => {
                if !op.known || !x.known {
                    return None;
                }
                match op.text.as_str() {
                    "-n" => Some(!x.text.is_empty()),
                    "-z" => Some(x.text.is_empty()),
                    o => self.file_test(o, &x.text),
                }
            }
            [l, op, r] => {
                if !l.known || !op.known || !r.known {
                    return None;
                }
                let ints = || Some((l.text.trim().parse::<i64>().ok()?, r.text.trim().parse::<i64>().ok()?));
                match op.text.as_str() {
                    "=" | "==" => Some(l.text == r.text),
                    "!=" => Some(l.text != r.text),
                    "-eq" => ints().map(|(x, y)| x == y),
                    "-ne" => ints().map(|(x, y)| x != y),
                    "-lt" => ints().map(|(x, y)| x < y),
                    "-le" => ints().map(|(x, y)| x <= y),
                    "-gt" => ints().map(|(x, y)| x > y),
                    "-ge" => ints().map(|(x, y)| x >= y),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// A unary file test on a device path: decided from the image unless
    /// the path is created at run time.
    fn file_test(&self, op: &str, path: &str) -> Option<bool> {
        if !path.starts_with('/') || is_runtime(path) || path.contains(['*', '?', '[']) {
            return None;
        }
        let path = normalize(path);
        let node = self.root.node(&path);
        let resolved = self.root.resolve(&path).map(|(_, n)| n);
        match op {
            "-e" | "-a" | "-r" | "-w" => Some(resolved.is_some()),
            // Execute bits are not trusted (archives drop them); existence decides.
            "-f" | "-x" => Some(
                resolved
                    .is_some_and(|n| matches!(n.kind, NodeKind::File(_)) || (op == "-x" && n.kind == NodeKind::Dir)),
            ),
            "-d" => Some(resolved.is_some_and(|n| n.kind == NodeKind::Dir)),
            "-s" => Some(resolved.is_some_and(|n| match &n.kind {
                NodeKind::File(d) => !d.is_empty(),
                _ => true,
            })),
            "-h" | "-L" => Some(node.is_some_and(|n| matches!(n.kind, NodeKind::Symlink(_)))),
            "-c" => Some(resolved.is_some_and(|n| matches!(n.kind, NodeKind::CharDevice { .. }))),
            "-b" => Some(resolved.is_some_and(|n| matches!(n.kind, NodeKind::BlockDevice { .. }))),
            "-p" => Some(resolved.is_some_and(|n| n.kind == NodeKind::Fifo)),
            "-S" => Some(resolved.is_some_and(|n| n.kind == NodeKind::Socket)),
            _ => None,
        }
    }

    /// Expand a glob in the last component of an absolute path, sorted; the
    /// pattern itself when nothing matches (as the shell does).
    fn glob(&self, pattern: &str) -> Option<Vec<String>> {
        let (dir, base) = pattern.rsplit_once('/')?;
        if !pattern.starts_with('/') || dir.contains(['*', '?', '[']) {
            return None;
        }
        let dir = if dir.is_empty() { "/" } else { dir };
        if is_runtime(dir) {
            return None;
        }
        let mut out: Vec<String> = self
            .root
            .children(dir)
            .into_iter()
            .filter(|(name, _)| (!name.starts_with('.') || base.starts_with('.')) && glob_match(base, name))
            .map(|(name, _)| format!("{}/{name}", dir.trim_end_matches('/')))
            .collect();
        out.sort();
        if out.is_empty() {
            out.push(pattern.to_string());
        }
        Some(out)
    }
}

fn val_of(f: &Field) -> Val {
    if f.known {
        Val::Known(f.text.clone())
    } else {
        Val::Unknown(f.text.clone())
    }
}

/// Number of leading option fields, where `with_value` options take the
/// next field as their value.
fn skip_options(rest: &[Field], with_value: &[&str]) -> usize {
    let mut i = 0;
    while let Some(a) = rest.get(i) {
        if !a.text.starts_with('-') || a.text == "-" {
            break;
        }
        if a.text == "--" {
            return i + 1;
        }
        i += if with_value.contains(&a.text.as_str()) { 2 } else { 1 };
    }
    i.min(rest.len())
}

/// `NAME=value` → (NAME, value word).
fn assignment(w: &Word) -> Option<(String, Word)> {
    let Some(Part::Lit { text, quoted: false }) = w.parts.first() else {
        return None;
    };
    let (name, first_rest) = text.split_once('=')?;
    let mut chars = name.chars();
    if !matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        || !chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    let mut parts = vec![Part::Lit {
        text: first_rest.to_string(),
        quoted: false,
    }];
    parts.extend(w.parts.iter().skip(1).cloned());
    let raw = w.raw.split_once('=').map(|(_, r)| r.to_string()).unwrap_or_default();
    Some((name.to_string(), Word { parts, raw }))
}

/// Shared function libraries: their functions are helpers, not starts.
fn is_library(dev: &str) -> bool {
    ["/lib/", "/usr/lib/", "/usr/share/"].iter().any(|p| dev.starts_with(p)) || dev == "/etc/rc.common"
}

/// Classify a called script by the path it was invoked as.
fn classify(invoked: &str, caller: Mechanism) -> Mechanism {
    let base = basename(invoked);
    let b = base.as_bytes();
    if base == "rc.local" {
        Mechanism::RcLocal
    } else if base.starts_with("rcS") || base == "rc.sysinit" {
        Mechanism::Rcs
    } else if (b.len() >= 3 && (b[0] == b'S' || b[0] == b'K') && b[1].is_ascii_digit() && b[2].is_ascii_digit())
        || invoked.contains("/init.d/")
    {
        Mechanism::RcD
    } else if caller == Mechanism::Cron {
        Mechanism::Cron
    } else {
        Mechanism::Script
    }
}

/// What runs a file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Interp {
    Binary,
    Shell,
    /// `#!/bin/sh /etc/rc.common` (OpenWrt).
    RcCommon,
    Other(String),
}

fn interpreter(data: &[u8]) -> Interp {
    if let Some(rest) = data.strip_prefix(b"#!") {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()).min(256);
        let line = String::from_utf8_lossy(&rest[..end]);
        let mut words = line.split_whitespace();
        let mut interp = words.next().unwrap_or("");
        let mut arg = words.next();
        if basename(interp) == "env" {
            interp = arg.unwrap_or("");
            arg = words.next();
        }
        if SHELLS.contains(&basename(interp)) {
            if arg.is_some_and(|a| a.ends_with("/rc.common")) {
                return Interp::RcCommon;
            }
            return Interp::Shell;
        }
        return Interp::Other(basename(interp).to_string());
    }
    if data.starts_with(b"\x7fELF") {
        return Interp::Binary;
    }
    // A text file without `#!` is run by the shell.
    let head = &data[..data.len().min(512)];
    if !head.is_empty() && !head.contains(&0) && std::str::from_utf8(head).is_ok() {
        Interp::Shell
    } else {
        Interp::Binary
    }
}

/// Normalise `.`/`..`/`//` in an absolute device path.
fn normalize(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Shell pattern matching (`*`, `?`, `[…]`, and `a|b` alternatives at the
/// top level as `case` uses them).
pub fn glob_match(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = s.chars().collect();
    glob_chars(&p, &t)
}

fn glob_chars(p: &[char], t: &[char]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p[pi..], t[ti]) {
                        if matched {
                            pi += next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Match one `[…]` class at the start of `p` against `c`: (matched, length).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while let Some(&x) = p.get(i) {
        if x == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if p.get(i + 1) == Some(&'-') && p.get(i + 2).is_some_and(|&e| e != ']') {
            let e = p[i + 2];
            if x <= c && c <= e {
                matched = true;
            }
            i += 3;
        } else {
            if x == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

fn cmd_text(c: &Cmd) -> String {
    match c {
        Cmd::Simple(s) => s.text(),
        Cmd::AndOr(items) => items
            .iter()
            .enumerate()
            .map(|(i, (conn, c))| {
                let t = cmd_text(c);
                if i == 0 {
                    t
                } else {
                    format!("{} {t}", if *conn == Conn::And { "&&" } else { "||" })
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        Cmd::Pipeline { cmds, negated } => {
            let t = cmds.iter().map(cmd_text).collect::<Vec<_>>().join(" | ");
            if *negated { format!("! {t}") } else { t }
        }
        Cmd::Background(b) => format!("{} &", cmd_text(b)),
        _ => "…".into(),
    }
}

/// Match case patterns with `|` handled by the parser: one pattern here.
#[cfg(test)]
mod tests {
    use super::super::testutil::{APPLETS, busybox, fs};
    use super::super::{Condition, Mechanism, Root};
    use super::*;

    fn walk(
        files: &[(&str, &[u8])],
        links: &[(&str, &str)],
        script: &str,
        args: &[&str],
    ) -> (Vec<ServiceStart>, Vec<Edge>, Vec<String>) {
        let f = fs(files, links);
        let root = Root {
            tree: &f.tree,
            prefix: "",
        };
        let mut w = Walker::new(root);
        let from = Frame::new("/etc/inittab", Mechanism::Inittab);
        let args = args.iter().map(|a| Val::Known(a.to_string())).collect();
        w.run_script(&from, Some(1), script, args, "sysinit");
        w.finish()
    }

    fn bb() -> Vec<u8> {
        busybox(APPLETS)
    }

    const ELF: &[u8] = b"\x7fELF\x01\x01\x01\0daemon";

    #[test]
    fn unconditional_background_busybox_applet_via_path() {
        let bb = bb();
        let (starts, edges, gaps) = walk(
            &[
                ("/bin/busybox", &bb),
                (
                    "/etc/init.d/rcS",
                    b"#!/bin/sh\nmount -a\n# telnetd -l /bin/sh\ntelnetd &\n",
                ),
            ],
            &[("/usr/sbin/telnetd", "../../bin/busybox"), ("/bin/mount", "busybox")],
            "/etc/init.d/rcS",
            &[],
        );
        assert_eq!(gaps, Vec::<String>::new());
        assert_eq!(starts.len(), 1, "{starts:?}");
        let s = &starts[0];
        assert_eq!((s.script.as_str(), s.line), ("/etc/init.d/rcS", Some(4)));
        assert_eq!(s.mechanism, Mechanism::Rcs);
        assert_eq!(s.binary.as_deref(), Some("/bin/busybox"));
        assert_eq!((s.applet.as_deref(), s.applet_present), (Some("telnetd"), Some(true)));
        assert_eq!(s.condition, Condition::Unconditional);
        assert_eq!(s.action, "background");
        assert_eq!(edges[0].to, "/etc/init.d/rcS");
    }

    #[test]
    fn applet_not_compiled_in_is_recorded_as_not_running() {
        let bb = busybox(&["[", "cat", "echo", "kill", "ls", "mount", "ps", "rm", "sh"]);
        let (starts, _, _) = walk(
            &[("/bin/busybox", &bb), ("/etc/rc", b"telnetd\n")],
            &[("/usr/sbin/telnetd", "/bin/busybox")],
            "/etc/rc",
            &[],
        );
        assert_eq!(starts[0].applet_present, Some(false));
        assert!(!starts[0].runs());
    }

    #[test]
    fn conditions_are_labelled_and_file_tests_decided() {
        let bb = bb();
        let script = br#"#!/bin/sh
[ -x /usr/sbin/telnetd ] && telnetd -p 2323 &
[ -x /usr/sbin/missing ] && /usr/sbin/missing
if [ "$DEBUG" = 1 ]; then
    /usr/bin/debugd
fi
if [ 1 = 0 ]; then /usr/bin/dead; fi
case "$1" in
  start) /usr/bin/app ;;
  stop) /usr/bin/stopper ;;
esac
grep -q factory /proc/cmdline || exit 0
/usr/bin/late
"#;
        let (starts, _, gaps) = walk(
            &[
                ("/bin/busybox", &bb),
                ("/etc/rc", script),
                ("/usr/bin/debugd", ELF),
                ("/usr/bin/dead", ELF),
                ("/usr/bin/app", ELF),
                ("/usr/bin/stopper", ELF),
                ("/usr/bin/late", ELF),
            ],
            &[("/usr/sbin/telnetd", "/bin/busybox"), ("/bin/grep", "busybox")],
            "/etc/rc",
            &["start"],
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        let by = |p: &str| starts.iter().find(|s| s.program.ends_with(p)).cloned();
        assert_eq!(by("telnetd").unwrap().condition, Condition::Unconditional);
        assert_eq!(by("telnetd").unwrap().action, "background");
        assert!(by("missing").is_none() && by("dead").is_none() && by("stopper").is_none());
        assert_eq!(
            by("debugd").unwrap().condition,
            Condition::Conditional("[ \"$DEBUG\" = 1 ]".into())
        );
        assert_eq!(by("app").unwrap().condition, Condition::Unconditional);
        assert_eq!(
            by("late").unwrap().condition,
            Condition::Conditional("grep -q factory /proc/cmdline".into())
        );
    }

    #[test]
    fn rcs_loop_over_init_d_calls_each_script_with_start() {
        let bb = bb();
        let rcs = br#"#!/bin/sh
for i in /etc/init.d/S??* ;do
     [ ! -f "$i" ] && continue
     case "$i" in
        *.sh) ( set start; . $i ) ;;
        *) $i start ;;
     esac
done
"#;
        let (starts, edges, gaps) = walk(
            &[
                ("/bin/busybox", &bb),
                ("/etc/init.d/rcS", rcs),
                (
                    "/etc/init.d/S50telnet",
                    b"#!/bin/sh\ncase \"$1\" in\n start) telnetd ;;\n stop) killall telnetd ;;\nesac\n",
                ),
                (
                    "/etc/init.d/S60web.sh",
                    b"[ \"$1\" = start ] && /usr/sbin/httpd -p 80\n",
                ),
                ("/usr/sbin/httpd", ELF),
            ],
            &[("/usr/sbin/telnetd", "/bin/busybox")],
            "/etc/init.d/rcS",
            &[],
        );
        assert!(gaps.is_empty(), "{gaps:?}");
        let t = starts.iter().find(|s| s.program == "telnetd").unwrap();
        assert_eq!(
            (t.script.as_str(), t.line, t.mechanism),
            ("/etc/init.d/S50telnet", Some(3), Mechanism::RcD)
        );
        assert_eq!(t.condition, Condition::Unconditional);
        let h = starts.iter().find(|s| s.program == "/usr/sbin/httpd").unwrap();
        assert_eq!(h.condition, Condition::Unconditional, "{h:?}");
        assert!(
            edges
                .iter()
                .any(|e| e.to == "/etc/init.d/S60web.sh" && e.how == "source")
        );
    }

    #[test]
    fn sourced_variables_path_and_missing_programs() {
        let bb = bb();
        let (starts, edges, gaps) = walk(
            &[
                ("/bin/busybox", &bb),
                ("/etc/rc", b". /etc/cfg\nexport PATH=$PATH:/opt/bin\n$DAEMON $DAEMON_ARGS &\nvendord\n/usr/bin/nothere\n/tmp/gen.sh\n"),
                ("/etc/cfg", b"DAEMON=/usr/sbin/utelnetd\nDAEMON_ARGS=\"-p 23 -l /bin/sh\"\n"),
                ("/usr/sbin/utelnetd", ELF),
                ("/opt/bin/vendord", ELF),
            ],
            &[],
            "/etc/rc",
            &[],
        );
        let u = starts.iter().find(|s| s.program == "/usr/sbin/utelnetd").unwrap();
        assert_eq!(u.argv, ["/usr/sbin/utelnetd", "-p", "23", "-l", "/bin/sh"]);
        assert!(starts.iter().any(|s| s.binary.as_deref() == Some("/opt/bin/vendord")));
        assert!(edges.iter().any(|e| e.to == "/etc/cfg" && e.how == "source"));
        assert!(
            gaps.iter().any(|g| g.contains("/usr/bin/nothere` is not in the image")),
            "{gaps:?}"
        );
        assert!(
            gaps.iter()
                .any(|g| g.contains("run-time locations") && g.contains("/tmp/gen.sh")),
            "{gaps:?}"
        );
    }

    #[test]
    fn openwrt_rc_common_procd_instance_and_boot_function() {
        let dropbear = br#"#!/bin/sh /etc/rc.common
START=50
USE_PROCD=1
PROG=/usr/sbin/dropbear
dropbear_instance() {
	[ "${enable}" = "0" ] && return 1
	procd_open_instance
	procd_set_param command "$PROG" -F -P /var/run/dropbear.pid
	[ "${PasswordAuth}" -eq 0 ] && procd_append_param command -s
	procd_append_param command -p 22
	procd_set_param respawn
	procd_close_instance
}
start_service() {
	config_load dropbear
	config_foreach dropbear_instance dropbear
}
"#;
        let done = b"#!/bin/sh /etc/rc.common\nSTART=95\nboot() {\n\t[ -f /etc/rc.local ] && {\n\t\tsh /etc/rc.local\n\t}\n}\n";
        let rc_common =
            b"#!/bin/sh\n. $IPKG_INSTROOT/lib/functions.sh\nstart() {\n return 0\n}\nboot() {\n start \"$@\"\n}\n";
        let functions = b"config_load() {\n uci_load \"$@\"\n}\nconfig_foreach() {\n :\n}\n";
        let f = fs(
            &[
                ("/etc/init.d/dropbear", dropbear),
                ("/etc/init.d/done", done),
                ("/etc/rc.common", rc_common),
                ("/lib/functions.sh", functions),
                ("/etc/rc.local", b"/usr/bin/miniweb\n/usr/bin/lightsrv &\nexit 0\n"),
                ("/usr/sbin/dropbear", ELF),
                ("/usr/bin/miniweb", ELF),
                ("/usr/bin/lightsrv", ELF),
            ],
            &[
                ("/etc/rc.d/S50dropbear", "../init.d/dropbear"),
                ("/etc/rc.d/S95done", "../init.d/done"),
            ],
        );
        let mut w = Walker::new(Root {
            tree: &f.tree,
            prefix: "",
        });
        let from = Frame::new("/etc/inittab", Mechanism::Inittab);
        for s in ["/etc/rc.d/S50dropbear", "/etc/rc.d/S95done"] {
            w.run_script(&from, Some(1), s, vec![Val::Known("boot".into())], "rc.d");
        }
        let (starts, edges, gaps) = w.finish();
        assert!(gaps.is_empty(), "{gaps:?}");
        let d = starts.iter().find(|s| s.program == "/usr/sbin/dropbear").unwrap();
        assert_eq!(d.mechanism, Mechanism::Procd);
        assert_eq!((d.script.as_str(), d.line), ("/etc/init.d/dropbear", Some(8)));
        assert_eq!(
            d.argv,
            ["/usr/sbin/dropbear", "-F", "-P", "/var/run/dropbear.pid", "-p", "22"]
        );
        assert_eq!(d.optional_args, ["-s"]);
        assert_eq!(d.action, "respawn");
        assert_eq!(
            d.condition,
            Condition::Conditional("for each UCI `dropbear` section and not ([ \"${enable}\" = \"0\" ])".into())
        );
        let m = starts.iter().find(|s| s.program == "/usr/bin/miniweb").unwrap();
        assert_eq!(
            (m.mechanism, m.line, m.condition.clone()),
            (Mechanism::RcLocal, Some(1), Condition::Unconditional)
        );
        let l = starts.iter().find(|s| s.program == "/usr/bin/lightsrv").unwrap();
        assert_eq!((l.line, l.action.as_str()), (Some(2), "background"));
        assert!(
            edges
                .iter()
                .any(|e| e.from == "/etc/init.d/done" && e.to == "/etc/rc.local" && e.line == Some(5))
        );
    }

    #[test]
    fn wrappers_are_looked_through() {
        let bb = bb();
        let (starts, _, gaps) = walk(
            &[
                ("/bin/busybox", &bb),
                (
                    "/etc/rc",
                    b"start-stop-daemon -S -b -x /usr/sbin/sshd -- -D\nstart-stop-daemon -K -x /usr/sbin/old\nnohup /usr/bin/app &\nbusybox telnetd -l /bin/sh\ntcpsvd -vE 0.0.0.0 21 ftpd -w /\nsh -c 'exec /usr/bin/app2 -x'\n",
                ),
                ("/usr/sbin/sshd", ELF),
                ("/usr/sbin/old", ELF),
                ("/usr/bin/app", ELF),
                ("/usr/bin/app2", ELF),
            ],
            &[("/usr/bin/ftpd", "/bin/busybox"), ("/usr/bin/tcpsvd", "/bin/busybox"), ("/bin/sh", "busybox")],
            "/etc/rc",
            &[],
        );
        assert!(gaps.iter().all(|g| !g.contains("not in the image")), "{gaps:?}");
        let names: Vec<String> = starts.iter().map(ServiceStart::name).collect();
        assert!(
            names.contains(&"sshd".to_string()) && !names.contains(&"old".to_string()),
            "{names:?}"
        );
        let t = starts.iter().find(|s| s.name() == "telnetd").unwrap();
        assert_eq!(t.argv, ["busybox", "telnetd", "-l", "/bin/sh"]);
        let f = starts.iter().find(|s| s.name() == "ftpd").unwrap();
        assert_eq!(f.ports, ["21/tcp"]);
        assert!(starts.iter().any(|s| s.name() == "app2"));
    }

    #[test]
    fn unparseable_and_unknown_commands_are_gaps() {
        let (_, _, gaps) = walk(&[("/etc/rc", b"if true; then\n echo\n")], &[], "/etc/rc", &[]);
        assert!(gaps[0].contains("cannot read as a shell script"), "{gaps:?}");
        let (_, _, gaps) = walk(&[("/etc/rc", b"$(cat /etc/daemon) &\n")], &[], "/etc/rc", &[]);
        assert!(gaps[0].contains("only known at run time"), "{gaps:?}");
        let (_, _, gaps) = walk(&[("/etc/rc", b"/etc/rc\n")], &[], "/etc/rc", &[]);
        assert!(
            gaps.iter().all(|g| !g.contains("not in the image")),
            "recursion is bounded: {gaps:?}"
        );
    }

    #[test]
    fn glob_patterns() {
        assert!(glob_match("S??*", "S50telnet"));
        assert!(!glob_match("S??*", "K50telnet"));
        assert!(glob_match("*.sh", "/etc/init.d/S60web.sh"));
        assert!(glob_match("[Ss]tart", "start"));
        assert!(!glob_match("[!s]tart", "start"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
    }
}
