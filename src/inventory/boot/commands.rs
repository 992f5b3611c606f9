//! Simple commands: builtins, wrappers (`nohup`, `start-stop-daemon`,
//! `busybox APPLET`, `tcpsvd`, `exec`), functions, `.`/`source`, shells
//! running scripts, OpenWrt procd helpers, and programs of the image, which
//! are resolved and recorded as starts or followed as scripts.

use super::script::{Field, Flow, Frame, Func, MAX_DEPTH, MAX_STEPS, Tri, Val, Walker};
use super::shell::{Simple, Word};
use super::values::{assignment, normalize, val_of};
use super::{Mechanism, SHELLS, ServiceStart, basename, busybox, is_runtime};
use crate::unpack::tree::NodeKind;

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

/// Extra facts a wrapper or mechanism adds to a start.
#[derive(Debug, Clone, Default)]
pub(super) struct Hints {
    pub(super) applet: Option<String>,
    pub(super) mechanism: Option<Mechanism>,
    pub(super) action: Option<String>,
    pub(super) record: bool,
    pub(super) ports: Vec<String>,
}

impl<'a> Walker<'a> {
    pub(super) fn simple(&mut self, f: &mut Frame, s: &Simple, bg: bool) -> (Flow, Tri) {
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
    pub(super) fn dispatch(
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
            "nice" | "ionice" | "taskset" | "chrt" | "env" => {
                let skip = if cmd.text == "env" {
                    rest.iter()
                        .take_while(|a| a.text.starts_with('-') || a.text.contains('='))
                        .count()
                } else {
                    match skip_options(rest, &["-n", "-c", "-p"]) {
                        // `taskset MASK cmd`
                        0 if cmd.text == "taskset" => 1.min(rest.len()),
                        n => n,
                    }
                };
                let words = rest_words.get(skip..).unwrap_or(&[]);
                self.dispatch(f, &rest[skip..], words, s, line, bg, hints)
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

    pub(super) fn call_function(&mut self, f: &mut Frame, func: &Func, args: Vec<Val>, bg: bool) -> (Flow, Tri) {
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
    pub(super) fn source(&mut self, f: &mut Frame, args: &[Field], line: usize) -> Flow {
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
        if !self.visit(&real, None, library) {
            return Flow::Normal;
        }
        let Some(body) = self.parse(&real, data) else {
            return Flow::Normal;
        };
        let saved_file = std::mem::replace(&mut f.file, real);
        let saved_base = std::mem::replace(&mut f.line_base, 1);
        let saved_lib = std::mem::replace(&mut f.library, library);
        f.depth += 1;
        let fl = if f.depth > MAX_DEPTH {
            Flow::Normal
        } else {
            self.walk_script(f, &f.file.clone(), &body)
        };
        f.depth -= 1;
        f.library = saved_lib;
        f.file = saved_file;
        f.line_base = saved_base;
        if fl == Flow::Exit { Flow::Exit } else { Flow::Normal }
    }

    /// `sh script args` / `sh -c "…"`: follow the script or the string.
    /// `None` when this is an interactive shell (recorded as a program).
    pub(super) fn shell_cmd(&mut self, f: &mut Frame, rest: &[Field], line: usize, bg: bool) -> Option<(Flow, Tri)> {
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
        let Some((real, data)) = self.root.file(&dev) else {
            self.missing(f, line, &dev);
            return Some((Flow::Normal, Tri::Unknown(String::new())));
        };
        // Called as `sh file`: a shell script whatever its first line says.
        if !data.starts_with(b"\x7fELF") {
            let real = real.to_string();
            self.run_shell_script(&f.clone(), Some(line), &dev, &real, data, args, "call");
            return Some((Flow::Normal, Tri::Unknown(String::new())));
        }
        None
    }

    pub(super) fn start_stop_daemon(&mut self, f: &mut Frame, rest: &[Field], s: &Simple, line: usize) -> (Flow, Tri) {
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
    pub(super) fn svd(
        &mut self,
        f: &mut Frame,
        fields: &[Field],
        s: &Simple,
        line: usize,
        hints: Hints,
    ) -> (Flow, Tri) {
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

    pub(super) fn procd_param(&mut self, f: &mut Frame, append: bool, rest: &[Field], line: usize) {
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
    pub(super) fn exec_external(
        &mut self,
        f: &mut Frame,
        fields: &[Field],
        line: usize,
        bg: bool,
        hints: Hints,
    ) -> (Flow, Tri) {
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
    pub(super) fn record(
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
    pub(super) fn missing(&mut self, f: &Frame, line: usize, what: &str) {
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
}

/// Number of leading option fields, where `with_value` options take the
/// next field as their value.
pub(super) fn skip_options(rest: &[Field], with_value: &[&str]) -> usize {
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

/// Shared function libraries: their functions are helpers, not starts.
pub(super) fn is_library(dev: &str) -> bool {
    ["/lib/", "/usr/lib/", "/usr/share/"].iter().any(|p| dev.starts_with(p)) || dev == "/etc/rc.common"
}

/// Classify a called script by the path it was invoked as.
pub(super) fn classify(invoked: &str, caller: Mechanism) -> Mechanism {
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

pub(super) fn interpreter(data: &[u8]) -> Interp {
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

/// What runs a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Interp {
    Binary,
    Shell,
    /// `#!/bin/sh /etc/rc.common` (OpenWrt).
    RcCommon,
    Other(String),
}
