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

use super::commands::{Hints, Interp, classify, interpreter, is_library};
use super::shell::{self, Cmd, Conn, Word};
use super::values::glob_match;
use super::{Condition, Edge, Mechanism, Root, ServiceStart, busybox};

/// The PATH BusyBox init gives its children.
pub const DEFAULT_PATH: &str = "/sbin:/usr/sbin:/bin:/usr/bin";
pub(super) const MAX_DEPTH: usize = 24;
/// Deepest nesting of commands across function and script calls (a stack
/// guard: each level is a few Rust frames).
const MAX_NEST: usize = 300;
pub(super) const MAX_STEPS: usize = 100_000;
const MAX_VISITS: usize = 32;
const MAX_LIBRARY_VISITS: usize = 512;
pub(super) const MAX_LOOP: usize = 128;

/// A value the walker knows, or the text it shows for an unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Known(String),
    Unknown(String),
}

/// The outcome of a command as far as conditions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tri {
    True,
    False,
    Unknown(String),
}

/// The negation of a condition label; `not (not (x))` is `x`.
pub(super) fn not(t: &str) -> String {
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
pub(super) enum Flow {
    Normal,
    Exit,
    Return,
    Break,
    Continue,
}

#[derive(Debug, Clone)]
pub(super) struct Func {
    pub(super) file: String,
    pub(super) line_base: usize,
    pub(super) body: Rc<Cmd>,
    pub(super) library: bool,
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
    pub(super) env: BTreeMap<String, Val>,
    pub(super) exported: BTreeSet<String>,
    pub(super) args: Vec<Val>,
    pub(super) funcs: BTreeMap<String, Func>,
    pub(super) conds: Vec<String>,
    pub(super) cond_base: usize,
    pub(super) exit_guards: Vec<String>,
    pub(super) library: bool,
    pub(super) depth: usize,
    /// The open procd instance: index into the starts and the condition
    /// depth when it was opened.
    pub(super) procd: Option<(usize, usize)>,
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

    /// A child process: exported variables, no functions, the caller's
    /// conditions.
    pub(super) fn child(&self, file: &str, mechanism: Mechanism, args: Vec<Val>) -> Frame {
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

    pub(super) fn all_conds(&self) -> Vec<String> {
        let mut c = self.conds.clone();
        c.extend(self.exit_guards.iter().cloned());
        c
    }

    pub(super) fn condition(&self) -> Condition {
        Condition::from_conds(&self.all_conds())
    }

    pub(super) fn path_var(&self) -> String {
        match self.env.get("PATH") {
            Some(Val::Known(p)) => p.clone(),
            _ => DEFAULT_PATH.to_string(),
        }
    }
}

/// Walks scripts of one root filesystem and collects the boot graph.
pub struct Walker<'a> {
    pub root: Root<'a>,
    pub(super) starts: Vec<ServiceStart>,
    pub(super) edges: Vec<Edge>,
    pub(super) gaps: BTreeSet<String>,
    pub(super) runtime: BTreeSet<String>,
    pub(super) visits: BTreeMap<String, usize>,
    pub(super) steps: usize,
    pub(super) applets: BTreeMap<String, Option<BTreeSet<String>>>,
    pub(super) parsed: BTreeMap<String, Option<Rc<Vec<Cmd>>>>,
    /// Scripts being walked right now: a script never re-enters itself.
    pub(super) active: Vec<String>,
    /// Keys of script runs already walked (see [`Walker::visit`]).
    pub(super) calls: BTreeSet<String>,
    /// Nesting of [`Walker::walk`] calls across functions and scripts.
    pub(super) nest: usize,
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
            calls: BTreeSet::new(),
            nest: 0,
        }
    }

    pub fn gap(&mut self, g: impl Into<String>) {
        self.gaps.insert(g.into());
    }

    pub fn starts(&self) -> &[ServiceStart] {
        &self.starts
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

    /// The parsed script at tree path `real`, cached; an unreadable script
    /// is a gap (named once) and `None`.
    pub(super) fn parse(&mut self, real: &str, data: &[u8]) -> Option<Rc<Vec<Cmd>>> {
        if let Some(p) = self.parsed.get(real) {
            return p.clone();
        }
        let p = match shell::parse(&super::text(data)) {
            Ok(body) => Some(Rc::new(body)),
            Err(e) => {
                self.gap(format!(
                    "{real}: cannot read as a shell script ({e}); what it starts is unknown"
                ));
                None
            }
        };
        self.parsed.insert(real.to_string(), p.clone());
        p
    }

    /// Walk a script's body unless that script is already being walked
    /// (a script that re-runs itself, as OpenWrt's dropbear does after key
    /// generation).
    pub(super) fn walk_script(&mut self, f: &mut Frame, real: &str, body: &[Cmd]) -> Flow {
        if self.active.iter().any(|a| a == real) {
            return Flow::Normal;
        }
        self.active.push(real.to_string());
        let fl = self.walk_list(f, body, false);
        self.active.pop();
        fl
    }

    /// Whether to walk `real` again. A call identical to an earlier one
    /// (same `key`: arguments and conditions) adds nothing and is skipped;
    /// beyond a cap per file the rest is a gap, not a silent omission.
    pub(super) fn visit(&mut self, real: &str, key: Option<String>, library: bool) -> bool {
        if let Some(k) = key
            && !self.calls.insert(k)
        {
            return false;
        }
        let n = self.visits.entry(real.to_string()).or_insert(0);
        *n += 1;
        let cap = if library { MAX_LIBRARY_VISITS } else { MAX_VISITS };
        if *n > cap {
            if *n == cap + 1 {
                self.gap(format!(
                    "{real} runs more than {cap} times; the later runs were not followed"
                ));
            }
            return false;
        }
        true
    }

    /// The identity of a script run: file, arguments and conditions.
    pub(super) fn call_key(real: &str, args: &[Val], from: &Frame) -> String {
        format!("{real}\0{args:?}\0{:?}", from.condition())
    }

    pub(super) fn loc(&self, f: &Frame, line: usize) -> String {
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
            Interp::Shell => self.run_shell_script(from, line, invoked, &real, data, args, how),
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

    /// Walk the shell script at `real` (invoked as `invoked`) as a child
    /// process of `from`, with a depth and visit guard.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn run_shell_script(
        &mut self,
        from: &Frame,
        line: Option<usize>,
        invoked: &str,
        real: &str,
        data: &[u8],
        args: Vec<Val>,
        how: &str,
    ) {
        if from.depth >= MAX_DEPTH {
            self.gap(format!(
                "{}: call depth limit reached at {real}",
                self.loc(from, line.unwrap_or(0))
            ));
            return;
        }
        self.edge(&from.file, line, real, how, from.condition());
        if !self.visit(real, Some(Self::call_key(real, &args, from)), false) {
            return;
        }
        let Some(body) = self.parse(real, data) else {
            return;
        };
        let mut g = from.child(real, classify(invoked, from.mechanism), args);
        self.walk_script(&mut g, real, &body);
    }

    /// OpenWrt: run an init script through `/etc/rc.common` with `args`
    /// (`boot` from procd, or `start`).
    pub(super) fn run_rc_common(
        &mut self,
        from: &Frame,
        line: Option<usize>,
        invoked: &str,
        real: &str,
        args: Vec<Val>,
        how: &str,
    ) {
        self.edge(&from.file, line, real, how, from.condition());
        if !self.visit(real, Some(Self::call_key(real, &args, from)), false) {
            return;
        }
        let Some((_, data)) = self.root.file(invoked) else {
            return;
        };
        let Some(body) = self.parse(real, data) else {
            return;
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
            if let Some(rc_body) = self.parse(&rc_real, rc_data) {
                let file = std::mem::replace(&mut g.file, rc_real);
                g.library = true;
                self.walk_list(&mut g, &rc_body, false);
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
        self.walk_list(&mut g, &body, false);
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

    pub(super) fn walk_list(&mut self, f: &mut Frame, cmds: &[Cmd], bg: bool) -> Flow {
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
    pub(super) fn guard(f: &mut Frame, later: &mut Vec<String>, flow: Flow, cond: &str) {
        let g = not(cond);
        match flow {
            Flow::Normal => {}
            Flow::Exit => f.exit_guards.push(g),
            Flow::Return | Flow::Break | Flow::Continue => later.push(g),
        }
    }

    pub(super) fn walk(&mut self, f: &mut Frame, c: &Cmd, bg: bool) -> (Flow, Tri) {
        if self.nest >= MAX_NEST {
            self.gap(format!(
                "{}: commands nested deeper than {MAX_NEST} (through calls) were not read",
                f.file
            ));
            return (Flow::Normal, Tri::Unknown(String::new()));
        }
        self.nest += 1;
        let r = self.walk_inner(f, c, bg);
        self.nest -= 1;
        r
    }

    fn walk_inner(&mut self, f: &mut Frame, c: &Cmd, bg: bool) -> (Flow, Tri) {
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

    pub(super) fn and_or(&mut self, f: &mut Frame, items: &[(Conn, Cmd)], bg: bool) -> (Flow, Tri) {
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
    pub(super) fn cond_truth(&mut self, f: &mut Frame, cond: &[Cmd], bg: bool) -> (Flow, Tri) {
        let mut last = (Flow::Normal, Tri::True);
        for c in cond {
            last = self.walk(f, c, bg);
            if last.0 != Flow::Normal {
                break;
            }
        }
        last
    }

    pub(super) fn if_cmd(
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
                    let label = f.conds.get(saved..).unwrap_or_default().join(" and ");
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
                    let label = f.conds.get(saved..).unwrap_or_default().join(" and ");
                    let fl = self.walk_list(f, body, bg);
                    f.conds.pop();
                    Self::guard(f, &mut later, fl, &label);
                    f.conds.push(not(&text));
                }
            }
        }
        if !decided && let Some(o) = otherwise {
            let conditional = f.conds.len() > saved;
            let label = f.conds.get(saved..).unwrap_or_default().join(" and ");
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

    pub(super) fn case_cmd(
        &mut self,
        f: &mut Frame,
        subject: &Word,
        arms: &[(Vec<Word>, Vec<Cmd>)],
        bg: bool,
    ) -> (Flow, Tri) {
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

    pub(super) fn for_cmd(
        &mut self,
        f: &mut Frame,
        var: &str,
        words: Option<&[Word]>,
        body: &[Cmd],
        bg: bool,
    ) -> (Flow, Tri) {
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
                self.walk_under(f, &label, body, bg);
            }
        }
        (Flow::Normal, Tri::True)
    }

    /// Walk a loop body under `label`; an `exit` or `return` in it guards
    /// what follows (a `break` or `continue` only ends the loop).
    pub(super) fn walk_under(&mut self, f: &mut Frame, label: &str, body: &[Cmd], bg: bool) {
        f.conds.push(label.to_string());
        let fl = self.walk_list(f, body, bg);
        f.conds.pop();
        if matches!(fl, Flow::Exit | Flow::Return) {
            let mut later = Vec::new();
            Self::guard(f, &mut later, fl, label);
            f.conds.extend(later);
        }
    }

    pub(super) fn loop_cmd(&mut self, f: &mut Frame, cond: &[Cmd], body: &[Cmd], until: bool, bg: bool) -> (Flow, Tri) {
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
            Tri::Unknown(s) => self.walk_under(f, &format!("while {s}"), body, bg),
        }
        (Flow::Normal, Tri::True)
    }
}

pub(super) fn cmd_text(c: &Cmd) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::testutil::{self, APPLETS, busybox, fs};
    use super::super::{Condition, Mechanism, Root};
    use super::*;

    fn walk(
        files: &[(&str, &[u8])],
        links: &[(&str, &str)],
        script: &str,
        args: &[&str],
    ) -> (Vec<ServiceStart>, Vec<Edge>, Vec<String>) {
        testutil::walk(files, links, |w| {
            let from = Frame::new("/etc/inittab", Mechanism::Inittab);
            let args = args.iter().map(|a| Val::Known(a.to_string())).collect();
            w.run_script(&from, Some(1), script, args, "sysinit");
        })
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
    fn deep_nesting_through_calls_is_bounded() {
        // 40 functions, each calling the next from inside 40 nested ifs.
        let mut script = String::new();
        for i in 0..40 {
            script.push_str(&format!("f{i}() {{\n"));
            script.push_str(&"if true; then\n".repeat(40));
            script.push_str(&format!("f{} &\n", i + 1));
            script.push_str(&"fi\n".repeat(40));
            script.push_str("}\n");
        }
        script.push_str("f0\n");
        let (_, _, gaps) = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || walk(&[("/etc/rc", script.as_bytes())], &[], "/etc/rc", &[]))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(
            gaps.iter()
                .any(|g| g.contains("nested deeper") || g.contains("depth limit")),
            "{gaps:?}"
        );
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
}
