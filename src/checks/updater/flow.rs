//! Which checks stand between an update script's start and each command
//! that writes flash.
//!
//! The script is read by the boot model's shell reader
//! ([`crate::inventory::boot::shell`]) and walked along every path a run
//! could take, never executed. A path carries the set of *gates* it has
//! passed: a signature verification that succeeded, or a version
//! comparison with a known outcome. Where paths join (after an `if`, a
//! `||`, a loop), only the gates both carry survive, so a gate counts at a
//! flash write only when every way of reaching the write went through it.
//!
//! A verification counts when its failure cannot reach the write: `verify
//! || exit 1`, `if ! verify; then exit 1; fi`, `if verify; then write;
//! fi`, `verify; [ $? -ne 0 ] && exit 1`, `set -e`, or a function whose
//! success requires it, called the same way. A verification that is
//! commented out is not a command at all; one whose failure is ignored
//! (`|| true`, nothing checks its status) leaves both outcomes flowing on,
//! and their join drops it. A version comparison counts in either sense
//! (which operand is the new version is not known), but only when one of
//! its outcomes is cut off from the write.
//!
//! Functions defined in the script or in files it sources, and shell
//! scripts of the image it calls, are followed; their writes are reported
//! where they are. A `for` loop whose items are known (literals, known
//! variables, globs and `$(ls …)` matched against the image) runs once per
//! item, which is how OpenWrt's `include /lib/upgrade` (a function of
//! `/lib/functions.sh` that sources each `$1/*.sh`) and a loop over check
//! functions named by a variable are followed. Sourced paths stay inside
//! the image's root (no `..`, links resolved within it). Work is bounded
//! by [`MAX_STEPS`], [`MAX_DEPTH`] and [`MAX_ITEMS`].

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::commands::{self, Role};
use crate::inventory::boot::shell::{self, Cmd, Conn, Part, Simple, Word};
use crate::inventory::boot::{Root, text};

/// Commands evaluated per entry script before the walk gives up.
pub const MAX_STEPS: usize = 200_000;
/// Nested function and script calls and sourced files followed.
pub const MAX_DEPTH: usize = 16;
/// Items of one `for` loop walked one by one; more and the loop is walked
/// once with its variable unknown.
pub const MAX_ITEMS: usize = 256;

/// What a gate checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Signature,
    Version,
}

/// One check a path went through: where, and (for version comparisons)
/// which outcome the path took.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Gate {
    pub kind: Kind,
    pub file: String,
    pub line: usize,
    pub outcome: bool,
    pub text: String,
}

/// The gates a path has passed.
pub type State = BTreeSet<Gate>;

/// Join two sets of paths: what both carry.
fn join(a: Option<State>, b: Option<State>) -> Option<State> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
    }
}

/// One command met on the walk (a write, a verification, a download).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct At {
    pub file: String,
    pub line: usize,
    pub text: String,
}

/// What the walk from one entry script found.
#[derive(Debug, Clone, Default)]
pub struct Walked {
    /// Per write location, the gates common to every path that reached it.
    pub writes: BTreeMap<At, State>,
    /// Signature verifications met (whether or not they gate anything).
    pub verifications: BTreeSet<At>,
    /// Checksum checks met (integrity only).
    pub checksums: BTreeSet<At>,
    /// Downloads whose transport is not protected, with why.
    pub insecure_fetches: BTreeSet<(At, String)>,
    /// Files the walk read (the entry, sourced and called scripts).
    pub files: BTreeSet<String>,
    /// Why part of the walk could not be followed.
    pub gaps: Vec<String>,
}

/// How a command ended, per kind of continuation; `None` = no path ends
/// that way.
#[derive(Debug, Clone, Default)]
struct Out {
    /// Falls through with status 0.
    ok: Option<State>,
    /// Falls through with a non-zero status.
    fail: Option<State>,
    /// `return` (or `exit` of a called script) with status 0.
    ret_ok: Option<State>,
    /// `return` with a non-zero status.
    ret_fail: Option<State>,
}

impl Out {
    fn both(s: State) -> Out {
        Out {
            ok: Some(s.clone()),
            fail: Some(s),
            ..Out::default()
        }
    }
    fn ok(s: State) -> Out {
        Out {
            ok: Some(s),
            ..Out::default()
        }
    }
    fn fail(s: State) -> Out {
        Out {
            fail: Some(s),
            ..Out::default()
        }
    }
    fn cont(&self) -> Option<State> {
        join(self.ok.clone(), self.fail.clone())
    }
    fn add_returns(&mut self, o: &Out) {
        self.ret_ok = join(self.ret_ok.take(), o.ret_ok.clone());
        self.ret_fail = join(self.ret_fail.take(), o.ret_fail.clone());
    }
}

/// A function definition, with the file it is in.
#[derive(Debug, Clone)]
struct Func {
    body: Rc<Cmd>,
    file: String,
}

/// Walks one entry script.
pub struct Walker<'a> {
    root: Root<'a>,
    funcs: BTreeMap<String, Func>,
    /// Known literal variable values (flow-insensitive, last wins).
    vars: BTreeMap<String, String>,
    /// Saved exit statuses (`rc=$?`): the paths on which it was 0 and not.
    status_vars: BTreeMap<String, (Option<State>, Option<State>)>,
    /// The previous command's outcome, for `$?`.
    last: (Option<State>, Option<State>),
    errexit: bool,
    file: String,
    depth: usize,
    /// Called scripts entered: `exit` there returns to the caller.
    script_depth: usize,
    steps: usize,
    stack: Vec<String>,
    out: Walked,
}

impl<'a> Walker<'a> {
    pub fn new(root: Root<'a>) -> Self {
        Walker {
            root,
            funcs: BTreeMap::new(),
            vars: BTreeMap::new(),
            status_vars: BTreeMap::new(),
            last: (None, None),
            errexit: false,
            file: String::new(),
            depth: 0,
            script_depth: 0,
            steps: 0,
            stack: Vec::new(),
            out: Walked::default(),
        }
    }

    /// Walk the script at device path `dev` from its first line.
    pub fn run(mut self, dev: &str) -> Walked {
        match self.parse_file(dev) {
            Ok(cmds) => {
                self.file = dev.to_string();
                self.stack.push(dev.to_string());
                self.errexit = shebang_errexit(self.root.file(dev).map(|(_, d)| d).unwrap_or_default());
                let _ = self.seq(&cmds, State::new());
            }
            Err(e) => self.out.gaps.push(e),
        }
        self.out
    }

    fn parse_file(&mut self, dev: &str) -> Result<Vec<Cmd>, String> {
        let (_, data) = self.root.file(dev).ok_or_else(|| format!("{dev}: not in the image"))?;
        self.out.files.insert(dev.to_string());
        shell::parse(&text(data)).map_err(|e| format!("{dev}: the shell reader could not read it: {e}"))
    }

    fn budget(&mut self) -> bool {
        self.steps += 1;
        if self.steps == MAX_STEPS {
            self.out.gaps.push(format!(
                "{}: the walk stopped after {MAX_STEPS} commands (budget)",
                self.file
            ));
        }
        self.steps < MAX_STEPS
    }

    /// A list of commands run one after another.
    fn seq(&mut self, cmds: &[Cmd], start: State) -> Out {
        let mut cur = Some(start);
        let mut out = Out::default();
        let mut last_ok_fail = None;
        for c in cmds {
            let Some(s) = cur.take() else { break };
            if !self.budget() {
                return Out::both(State::new());
            }
            let o = self.cmd(c, s);
            out.add_returns(&o);
            self.last = (o.ok.clone(), o.fail.clone());
            let errexit_applies = self.errexit
                && matches!(
                    c,
                    Cmd::Simple(_) | Cmd::Pipeline { negated: false, .. } | Cmd::Group(_) | Cmd::Subshell(_)
                );
            cur = if errexit_applies { o.ok.clone() } else { o.cont() };
            last_ok_fail = Some((o.ok, o.fail));
        }
        match last_ok_fail {
            // The list's status is its last command's.
            Some((ok, fail)) => {
                out.ok = ok;
                out.fail = if self.errexit { None } else { fail };
                if cur.is_none() {
                    out.ok = None;
                    out.fail = None;
                }
            }
            None => out.ok = cur,
        }
        out
    }

    fn cmd(&mut self, c: &Cmd, s: State) -> Out {
        match c {
            Cmd::Simple(simple) => self.simple(simple, s),
            Cmd::AndOr(items) => {
                let mut ok = Some(s);
                let mut fail: Option<State> = None;
                let mut rets = Out::default();
                for (i, (conn, c)) in items.iter().enumerate() {
                    let from = if i == 0 {
                        ok.take()
                    } else {
                        match conn {
                            Conn::And => ok.take(),
                            Conn::Or => fail.take(),
                        }
                    };
                    let Some(from) = from else { continue };
                    let o = self.cmd(c, from);
                    rets.add_returns(&o);
                    self.last = (o.ok.clone(), o.fail.clone());
                    match conn {
                        Conn::And if i > 0 => {
                            ok = o.ok;
                            fail = join(fail, o.fail);
                        }
                        Conn::Or if i > 0 => {
                            ok = join(ok, o.ok);
                            fail = o.fail;
                        }
                        _ => {
                            ok = o.ok;
                            fail = o.fail;
                        }
                    }
                }
                Out { ok, fail, ..rets }
            }
            Cmd::Pipeline { cmds, negated } => {
                // `openssl dgst -verify … | grep -q 'Verified OK'`: the
                // verification's outcome is what the last command tests.
                let verify_piped_to_grep = cmds.len() > 1
                    && cmds[..cmds.len() - 1]
                        .iter()
                        .any(|c| self.simple_role(c) == Some(Role::Verify))
                    && matches!(
                        cmds.last().and_then(simple_name).as_deref(),
                        Some("grep" | "egrep" | "fgrep")
                    );
                let mut o = Out::default();
                for (i, c) in cmds.iter().enumerate() {
                    let r = self.cmd(c, s.clone());
                    if i + 1 == cmds.len() {
                        o = r;
                    }
                }
                if verify_piped_to_grep
                    && let Some(Cmd::Simple(v)) = cmds.iter().find(|c| self.simple_role(c) == Some(Role::Verify))
                {
                    let g = self.gate(Kind::Signature, v, true);
                    let mut ok = s.clone();
                    ok.insert(g);
                    o = Out {
                        ok: Some(ok),
                        fail: Some(s),
                        ..Out::default()
                    };
                }
                if *negated {
                    std::mem::swap(&mut o.ok, &mut o.fail);
                }
                o
            }
            Cmd::If { arms, otherwise, .. } => {
                let mut out = Out::default();
                let mut from = Some(s);
                let saved_errexit = self.errexit;
                for (cond, body) in arms {
                    let Some(f) = from.take() else { break };
                    self.errexit = false;
                    let c = self.seq(cond, f);
                    self.errexit = saved_errexit;
                    out.add_returns(&c);
                    if let Some(ok) = c.ok {
                        let b = self.seq(body, ok);
                        out.add_returns(&b);
                        out.ok = join(out.ok.take(), b.ok);
                        out.fail = join(out.fail.take(), b.fail);
                    }
                    from = c.fail;
                }
                match (from, otherwise) {
                    (Some(f), Some(body)) => {
                        let b = self.seq(body, f);
                        out.add_returns(&b);
                        out.ok = join(out.ok.take(), b.ok);
                        out.fail = join(out.fail.take(), b.fail);
                    }
                    (Some(f), None) => out.ok = join(out.ok.take(), Some(f)),
                    (None, _) => {}
                }
                out
            }
            Cmd::Case { arms, .. } => {
                let mut out = Out::ok(s.clone());
                for (_, body) in arms {
                    let b = self.seq(body, s.clone());
                    out.add_returns(&b);
                    out.ok = join(out.ok.take(), b.ok);
                    out.fail = join(out.fail.take(), b.fail);
                }
                out
            }
            Cmd::For {
                var,
                words: Some(words),
                body,
                ..
            } if self.for_items(words).is_some() => {
                // The items are known (literals, known variables, globs
                // and `$(ls …)` over the image): run the body once per
                // item, in order, with the variable set, so that `for f in
                // /lib/upgrade/*.sh; do . "$f"; done` sources each file.
                let items = self.for_items(words).unwrap_or_default();
                // `break` and `continue` are not followed as jumps: a path
                // that takes one leaves the iteration with at least the
                // gates it started it with, so with either in the body each
                // iteration's starting state joins the next iteration's
                // and the loop's exit (a gate a later item adds does not
                // count for a path that broke out before it).
                let jumps = has_jump(body);
                let saved = self.vars.get(var).cloned();
                let mut out = Out::default();
                let mut cur = Some(s);
                let mut exits: Option<State> = None;
                for item in items {
                    let Some(st) = cur.take() else { break };
                    self.vars.insert(var.clone(), item);
                    let b = self.seq(body, st.clone());
                    out.add_returns(&b);
                    cur = b.cont();
                    if jumps {
                        cur = join(cur, Some(st.clone()));
                        exits = join(exits, Some(st));
                    }
                }
                match saved {
                    Some(v) => self.vars.insert(var.clone(), v),
                    None => self.vars.remove(var),
                };
                out.ok = join(cur, exits);
                out
            }
            Cmd::For { body, var, .. } => {
                // Unknown items: the variable's value is unknown too.
                let saved = self.vars.remove(var);
                let b = self.seq(body, s.clone());
                if let Some(v) = saved {
                    self.vars.insert(var.clone(), v);
                }
                let mut out = Out::ok(s);
                out.add_returns(&b);
                out.ok = join(out.ok.take(), b.cont());
                out
            }
            Cmd::Loop { cond, body, .. } => {
                let saved = self.errexit;
                self.errexit = false;
                let c = self.seq(cond, s.clone());
                self.errexit = saved;
                let mut out = Out::ok(s.clone());
                out.add_returns(&c);
                let b = self.seq(body, c.cont().unwrap_or(s));
                out.add_returns(&b);
                out.ok = join(out.ok.take(), join(c.cont(), b.cont()));
                out
            }
            Cmd::Group(body) => self.seq(body, s),
            Cmd::Subshell(body) => {
                // `exit` in a subshell ends only the subshell.
                let o = self.seq(body, s);
                Out {
                    ok: join(o.ok, o.ret_ok),
                    fail: join(o.fail, o.ret_fail),
                    ..Out::default()
                }
            }
            Cmd::Func { name, body, .. } => {
                self.funcs.insert(
                    name.clone(),
                    Func {
                        body: Rc::new(body.as_ref().clone()),
                        file: self.file.clone(),
                    },
                );
                Out::ok(s)
            }
            Cmd::Background(inner) => {
                let _ = self.cmd(inner, s.clone());
                Out::ok(s)
            }
        }
    }

    fn simple_role(&self, c: &Cmd) -> Option<Role> {
        let Cmd::Simple(s) = c else { return None };
        let argv = commands::argv(&s.words);
        let name = commands::name(argv)?;
        let args: Vec<String> = argv[1..].iter().map(commands::text).collect();
        let expanded: Vec<String> = argv[1..].iter().map(|w| self.expand(w)).collect();
        Some(commands::role(&name, &args, &expanded))
    }

    fn gate(&self, kind: Kind, s: &Simple, outcome: bool) -> Gate {
        Gate {
            kind,
            file: self.file.clone(),
            line: s.line,
            outcome,
            text: s.text(),
        }
    }

    fn at(&self, s: &Simple) -> At {
        At {
            file: self.file.clone(),
            line: s.line,
            text: s.text(),
        }
    }

    /// A word with known variables substituted (unknown ones stay as
    /// written).
    fn expand(&self, w: &Word) -> String {
        w.parts
            .iter()
            .map(|p| match p {
                Part::Lit { text, .. } => text.clone(),
                Part::Var { name, .. } => self.vars.get(name).cloned().unwrap_or_else(|| format!("${name}")),
                Part::Opaque(o) => o.clone(),
            })
            .collect()
    }

    /// A word's value when every part of it is known.
    fn known(&self, w: &Word) -> Option<String> {
        let mut v = String::new();
        for p in &w.parts {
            match p {
                Part::Lit { text, .. } => v.push_str(text),
                Part::Var { name, .. } => v.push_str(self.vars.get(name)?),
                Part::Opaque(_) => return None,
            }
        }
        Some(v)
    }

    /// The name a command runs as: its literal first word, or a variable
    /// holding one command name (`$check "$IMAGE"` in a loop over check
    /// functions).
    fn command_name(&self, argv: &[Word]) -> Option<String> {
        let first = argv.first()?;
        if first.literal().is_some() {
            return commands::name(argv);
        }
        match self.known(first) {
            Some(v) if !v.is_empty() && !v.contains(char::is_whitespace) => {
                Some(crate::inventory::boot::basename(&v).to_string())
            }
            _ => commands::name(argv),
        }
    }

    /// A `for` loop's items when all are known: literal words and known
    /// variables (split on blanks when unquoted), absolute globs matched
    /// against the image, and `$(ls PATTERN…)`. `None` when any is not.
    fn for_items(&self, words: &[Word]) -> Option<Vec<String>> {
        let mut items = Vec::new();
        for w in words {
            let fields: Vec<String> = match w.parts.as_slice() {
                [Part::Opaque(o)] => {
                    let inner = o
                        .strip_prefix("$(")
                        .and_then(|x| x.strip_suffix(')'))
                        .or_else(|| o.strip_prefix('`').and_then(|x| x.strip_suffix('`')))?;
                    let mut toks = inner.split_whitespace();
                    if toks.next() != Some("ls") {
                        return None;
                    }
                    let mut out = Vec::new();
                    for t in toks {
                        if t.starts_with("2>") || t.starts_with('>') || (t.starts_with('-') && t.len() > 1) {
                            continue;
                        }
                        let t = self.substitute(t.trim_matches('"'))?;
                        out.extend(self.glob(&t)?);
                    }
                    out
                }
                parts => {
                    let quoted = parts
                        .iter()
                        .all(|p| matches!(p, Part::Lit { quoted: true, .. } | Part::Var { quoted: true, .. }));
                    let v = self.known(w)?;
                    if quoted {
                        vec![v]
                    } else {
                        let mut out = Vec::new();
                        for f in v.split_whitespace() {
                            if f.contains(['*', '?', '[']) {
                                out.extend(self.glob(f)?);
                            } else {
                                out.push(f.to_string());
                            }
                        }
                        out
                    }
                }
            };
            items.extend(fields);
            if items.len() > MAX_ITEMS {
                return None;
            }
        }
        Some(items)
    }

    /// `$NAME` / `${NAME}` in a text replaced by known values; `None` when
    /// one is unknown.
    fn substitute(&self, t: &str) -> Option<String> {
        let mut out = String::new();
        let mut rest = t;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = if let Some(b) = after.strip_prefix('{') {
                let end = b.find('}')?;
                (&b[..end], &b[end + 1..])
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            out.push_str(self.vars.get(name)?);
            rest = tail;
        }
        out.push_str(rest);
        Some(out)
    }

    /// Files of the image matching an absolute pattern whose wildcards
    /// (`*`, `?`) are in the last component only, in name order (as `ls`
    /// and the shell sort them). `None` for patterns this cannot match.
    fn glob(&self, pattern: &str) -> Option<Vec<String>> {
        let (dir, name) = pattern.rsplit_once('/')?;
        if !pattern.starts_with('/') || dir.contains(['*', '?', '[']) || name.contains('[') {
            return None;
        }
        if !name.contains(['*', '?']) {
            return Some(
                self.root
                    .node(pattern)
                    .map(|_| pattern.to_string())
                    .into_iter()
                    .collect(),
            );
        }
        let dir = if dir.is_empty() { "/" } else { dir };
        let mut names: Vec<String> = self
            .root
            .children(dir)
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !n.starts_with('.') && glob_match(name.as_bytes(), n.as_bytes()))
            .collect();
        names.sort();
        Some(
            names
                .into_iter()
                .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
                .collect(),
        )
    }

    fn simple(&mut self, s: &Simple, st: State) -> Out {
        // Assignments: remember literal values and saved statuses.
        for w in s.words.iter().take_while(|w| commands::is_assignment(w)) {
            let full = self.expand(w);
            if let Some((name, value)) = full.split_once('=') {
                if value == "$?" {
                    self.status_vars.insert(name.to_string(), self.last.clone());
                } else {
                    self.vars.insert(name.to_string(), value.to_string());
                }
            }
        }
        let argv = commands::argv(&s.words);
        let Some(name) = self.command_name(argv) else {
            return Out::ok(st);
        };
        let args: Vec<String> = argv[1..].iter().map(commands::text).collect();
        match name.as_str() {
            "exit" => return self.exit_or_return(&args, st, true),
            "return" => return self.exit_or_return(&args, st, false),
            "true" | ":" => return Out::ok(st),
            "false" => return Out::fail(st),
            "set" => {
                for a in &args {
                    if a.starts_with('-') && !a.starts_with("--") && a.contains('e') {
                        self.errexit = true;
                    } else if a.starts_with('+') && a.contains('e') {
                        self.errexit = false;
                    }
                }
                if args.windows(2).any(|w| w[0] == "-o" && w[1] == "errexit") {
                    self.errexit = true;
                }
                return Out::ok(st);
            }
            "." | "source" => {
                let path = argv.get(1).map(|w| self.expand(w));
                return self.source(path.as_deref(), s, st);
            }
            _ => {}
        }
        if let Some(f) = self.funcs.get(&name).cloned() {
            let params: Vec<Option<String>> = argv[1..].iter().map(|w| self.known(w)).collect();
            return self.call_function(&name, &f, &params, st);
        }
        let expanded: Vec<String> = argv[1..].iter().map(|w| self.expand(w)).collect();
        let role = commands::role(&name, &args, &expanded);
        if role == Role::Flash
            && name == "sysupgrade"
            && let Some(dev) = self.script_for(argv)
        {
            return self.call_script(&dev, st);
        }
        match role {
            Role::Flash => {
                let at = self.at(s);
                let e = self.out.writes.entry(at).or_insert_with(|| st.clone());
                *e = e.intersection(&st).cloned().collect();
                Out::both(st)
            }
            Role::Verify => {
                self.out.verifications.insert(self.at(s));
                let mut ok = st.clone();
                ok.insert(self.gate(Kind::Signature, s, true));
                Out {
                    ok: Some(ok),
                    fail: Some(st),
                    ..Out::default()
                }
            }
            Role::VersionCompare => {
                let mut ok = st.clone();
                ok.insert(self.gate(Kind::Version, s, true));
                let mut fail = st;
                fail.insert(self.gate(Kind::Version, s, false));
                Out {
                    ok: Some(ok),
                    fail: Some(fail),
                    ..Out::default()
                }
            }
            Role::StatusTest { var, inverted } => {
                let saved = if var == "?" {
                    Some(self.last.clone())
                } else {
                    self.status_vars.get(&var).cloned()
                };
                match saved {
                    // Restrict to the paths the saved status says.
                    Some((was_ok, was_fail)) => {
                        let (ok, fail) = if inverted {
                            (was_fail, was_ok)
                        } else {
                            (was_ok, was_fail)
                        };
                        Out {
                            ok: ok.map(|o| o.union(&st).cloned().collect()),
                            fail: fail.map(|f| f.union(&st).cloned().collect()),
                            ..Out::default()
                        }
                    }
                    None => Out::both(st),
                }
            }
            Role::Fetch { insecure } => {
                if let Some(why) = insecure {
                    self.out.insecure_fetches.insert((self.at(s), why));
                }
                Out::both(st)
            }
            Role::Other => {
                if commands::is_checksum_only(&name, &args) {
                    self.out.checksums.insert(self.at(s));
                }
                match self.script_for(argv) {
                    Some(dev) => self.call_script(&dev, st),
                    None => Out::both(st),
                }
            }
        }
    }

    fn exit_or_return(&mut self, args: &[String], st: State, exit: bool) -> Out {
        let status = args.first().map(String::as_str);
        // Leaving the whole script ends every path: nothing after runs.
        // Inside a called script, `exit` returns to the caller.
        if exit && self.script_depth == 0 {
            return Out::default();
        }
        let (zero, nonzero) = match status {
            Some("0") => (true, false),
            Some(n) if n.parse::<u32>().is_ok() => (false, true),
            // `return` alone or `return $?`: the previous command's status,
            // so `usign -V …; return $?` returns success only on the paths
            // where the verification succeeded.
            None | Some("$?" | "\"$?\"") => {
                let (ok, fail) = self.last.clone();
                let keep = |x: Option<State>| x.map(|x| x.union(&st).cloned().collect::<State>());
                return Out {
                    ret_ok: keep(ok),
                    ret_fail: keep(fail),
                    ..Out::default()
                };
            }
            // With a variable: either.
            _ => (true, true),
        };
        Out {
            ret_ok: zero.then(|| st.clone()),
            ret_fail: nonzero.then_some(st),
            ..Out::default()
        }
    }

    /// `. path`: the file's commands run in this shell, so its functions
    /// and variables stay defined. Only a path inside the image's root
    /// is read (no `..`, links resolved within the root); a cycle or
    /// [`MAX_DEPTH`] nested sources stop the walk there.
    fn source(&mut self, path: Option<&str>, s: &Simple, st: State) -> Out {
        let Some(path) = path else {
            return Out::ok(st);
        };
        if !path.starts_with('/') || path.contains(['*', '?', '$', '`']) || path.split('/').any(|c| c == "..") {
            self.out.gaps.push(format!(
                "{}:{}: sources `{path}`, which cannot be resolved without running the script",
                self.file, s.line
            ));
            return Out::both(st);
        }
        let path = path.to_string();
        if self.depth >= MAX_DEPTH || self.stack.contains(&path) {
            return Out::both(st);
        }
        match self.parse_file(&path) {
            Ok(cmds) => {
                let saved = std::mem::replace(&mut self.file, path.clone());
                self.stack.push(path.clone());
                self.depth += 1;
                let o = self.seq(&cmds, st);
                self.depth -= 1;
                self.stack.pop();
                self.file = saved;
                // `return` in a sourced file ends the file.
                Out {
                    ok: join(o.ok, o.ret_ok),
                    fail: join(o.fail, o.ret_fail),
                    ..Out::default()
                }
            }
            Err(e) => {
                self.out.gaps.push(e);
                Out::both(st)
            }
        }
    }

    /// Run a function's body with its positional parameters set to the
    /// arguments whose values are known (`include /lib/upgrade` gives the
    /// body `$1` = `/lib/upgrade`); unknown ones are unset, not guessed.
    fn call_function(&mut self, name: &str, f: &Func, params: &[Option<String>], st: State) -> Out {
        let key = format!("fn {name}");
        if self.depth >= MAX_DEPTH || self.stack.contains(&key) {
            return Out::both(st);
        }
        self.depth += 1;
        self.stack.push(key);
        let saved_params: Vec<Option<String>> = (1..=9).map(|i| self.vars.remove(&i.to_string())).collect();
        for (i, p) in params.iter().take(9).enumerate() {
            if let Some(p) = p {
                self.vars.insert((i + 1).to_string(), p.clone());
            }
        }
        let saved = std::mem::replace(&mut self.file, f.file.clone());
        let o = self.seq(std::slice::from_ref(f.body.as_ref()), st);
        for (i, p) in saved_params.into_iter().enumerate() {
            match p {
                Some(p) => self.vars.insert((i + 1).to_string(), p),
                None => self.vars.remove(&(i + 1).to_string()),
            };
        }
        self.file = saved;
        self.stack.pop();
        self.depth -= 1;
        Out {
            ok: join(o.ok, o.ret_ok),
            fail: join(o.fail, o.ret_fail),
            ..Out::default()
        }
    }

    /// The device path of the shell script a command runs, if it is one in
    /// the image.
    fn script_for(&self, argv: &[Word]) -> Option<String> {
        let cmd = argv.first()?.literal()?;
        let dev = if cmd.starts_with('/') {
            cmd
        } else if !cmd.contains('/') {
            self.root.lookup(&cmd, "/bin:/sbin:/usr/bin:/usr/sbin")?
        } else {
            return None;
        };
        let (_, data) = self.root.file(&dev)?;
        is_shell_script(&dev, data).then_some(dev)
    }

    fn call_script(&mut self, dev: &str, st: State) -> Out {
        if self.depth >= MAX_DEPTH || self.stack.iter().any(|p| p == dev) {
            return Out::both(st);
        }
        let cmds = match self.parse_file(dev) {
            Ok(c) => c,
            Err(e) => {
                self.out.gaps.push(e);
                return Out::both(st);
            }
        };
        // A called script runs in its own shell: its functions, variables
        // and `set -e` are its own.
        let funcs = std::mem::take(&mut self.funcs);
        let vars = self.vars.clone();
        let errexit = std::mem::replace(
            &mut self.errexit,
            shebang_errexit(self.root.file(dev).map(|(_, d)| d).unwrap_or_default()),
        );
        let saved = std::mem::replace(&mut self.file, dev.to_string());
        self.depth += 1;
        self.script_depth += 1;
        self.stack.push(dev.to_string());
        let o = self.seq(&cmds, st);
        self.stack.pop();
        self.script_depth -= 1;
        self.depth -= 1;
        self.file = saved;
        self.errexit = errexit;
        self.vars = vars;
        self.funcs = funcs;
        Out {
            ok: join(o.ok, o.ret_ok),
            fail: join(o.fail, o.ret_fail),
            ..Out::default()
        }
    }
}

/// Whether a loop body contains `break` or `continue` (at any depth).
fn has_jump(body: &[Cmd]) -> bool {
    let mut found = false;
    super::each_simple(body, &mut |s| {
        found |= matches!(simple_name_of(s).as_deref(), Some("break" | "continue"));
    });
    found
}

fn simple_name_of(s: &Simple) -> Option<String> {
    commands::name(commands::argv(&s.words))
}

/// Shell pattern matching with `*` and `?` only.
fn glob_match(p: &[u8], n: &[u8]) -> bool {
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&c) if c == b'?' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn simple_name(c: &Cmd) -> Option<String> {
    let Cmd::Simple(s) = c else { return None };
    commands::name(commands::argv(&s.words))
}

/// `#!/bin/sh -e`.
fn shebang_errexit(data: &[u8]) -> bool {
    let Some(rest) = data.strip_prefix(b"#!") else {
        return false;
    };
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()).min(256);
    String::from_utf8_lossy(&rest[..end])
        .split_whitespace()
        .skip(1)
        .any(|a| a.starts_with('-') && a.contains('e'))
}

/// Whether a file is a shell script: a `#!` line naming a shell, or a
/// `.sh` name on a text file.
pub fn is_shell_script(path: &str, data: &[u8]) -> bool {
    if let Some(rest) = data.strip_prefix(b"#!") {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()).min(256);
        let line = String::from_utf8_lossy(&rest[..end]);
        let mut words = line.split_whitespace();
        let mut interp = words.next().unwrap_or("");
        if crate::inventory::boot::basename(interp) == "env" {
            interp = words.next().unwrap_or("");
        }
        return crate::inventory::boot::SHELLS.contains(&crate::inventory::boot::basename(interp));
    }
    path.ends_with(".sh") && !data.starts_with(b"\x7fELF") && !data[..data.len().min(512)].contains(&0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::boot::testutil::fs;

    /// Walk `/usr/sbin/up.sh` = `script` (plus other files); per write
    /// line, the gate kinds that hold there.
    fn walk(script: &str, others: &[(&str, &str)]) -> (BTreeMap<usize, BTreeSet<Kind>>, Walked) {
        let mut files: Vec<(&str, &[u8])> = vec![("/usr/sbin/up.sh", script.as_bytes())];
        files.extend(others.iter().map(|(p, d)| (*p, d.as_bytes())));
        let f = fs(&files, &[]);
        let w = Walker::new(Root {
            tree: &f.tree,
            prefix: "",
        })
        .run("/usr/sbin/up.sh");
        let per_line = w
            .writes
            .iter()
            .map(|(at, g)| (at.line, g.iter().map(|g| g.kind).collect()))
            .collect();
        (per_line, w)
    }

    const V: &str = "openssl dgst -sha256 -verify /etc/key.pem -signature /tmp/fw.sig /tmp/fw.bin";

    fn kinds(k: &[Kind]) -> BTreeSet<Kind> {
        k.iter().copied().collect()
    }

    #[test]
    fn verification_that_stops_the_write_counts() {
        for script in [
            format!("#!/bin/sh\n{V} || exit 1\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nif ! {V}; then\n  echo bad\n  exit 1\nfi\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nif {V}; then\n  mtd write /tmp/fw.bin firmware\nfi\n"),
            format!("#!/bin/sh\n{V}\nif [ $? -ne 0 ]; then exit 1; fi\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V}\nrc=$?\n[ \"$rc\" = 0 ] || exit 1\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nset -e\n{V}\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V} && mtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V} | grep -q 'Verified OK' || exit 1\nmtd write /tmp/fw.bin firmware\n"),
            format!(
                "#!/bin/sh\nverify() {{\n  {V} || return 1\n  return 0\n}}\nverify || {{ echo bad; exit 1; }}\nmtd write /tmp/fw.bin firmware\n"
            ),
            format!("#!/bin/sh\nverify() {{\n  {V}\n}}\nif verify; then flashcp /tmp/fw.bin /dev/mtd3; fi\n"),
            format!("#!/bin/sh\nverify() {{\n  {V} || exit 1\n}}\nverify\ndd if=/tmp/fw.bin of=/dev/mtdblock3\n"),
        ] {
            let (writes, _) = walk(&script, &[]);
            assert_eq!(writes.len(), 1, "{script}");
            assert!(
                writes.values().all(|k| k.contains(&Kind::Signature)),
                "{script}: {writes:?}"
            );
        }
    }

    #[test]
    fn ignored_missing_or_commented_verification_does_not_count() {
        for script in [
            "#!/bin/sh\nwget http://x/fw.bin -O /tmp/fw.bin\nmtd write /tmp/fw.bin firmware\n".to_string(),
            format!("#!/bin/sh\n# {V} || exit 1\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V} || true\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V}\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V} || echo 'verification failed'\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nif ! {V}; then\n  echo bad\nfi\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nverify() {{\n  {V} || return 1\n}}\nverify\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nset -e\n{V} || true\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\nif [ -f /tmp/fw.sig ]; then {V} || exit 1; fi\nmtd write /tmp/fw.bin firmware\n"),
            format!("#!/bin/sh\n{V} && echo ok\nmtd write /tmp/fw.bin firmware\n"),
        ] {
            let (writes, _) = walk(&script, &[]);
            assert_eq!(writes.len(), 1, "{script}");
            assert!(
                writes.values().all(|k| !k.contains(&Kind::Signature)),
                "{script}: {writes:?}"
            );
        }
    }

    #[test]
    fn version_comparison_counts_only_when_it_decides() {
        let (w, _) = walk(
            "#!/bin/sh\nNEW_VER=$(cat /tmp/ver)\n[ \"$NEW_VER\" -gt \"$CUR_VER\" ] || exit 1\nmtd write /tmp/fw.bin firmware\n",
            &[],
        );
        assert_eq!(w[&4], kinds(&[Kind::Version]));
        let (w, _) = walk(
            "#!/bin/sh\nif [ \"$NEW_VER\" -le \"$CUR_VER\" ]; then\n  exit 1\nfi\nmtd write /tmp/fw.bin firmware\n",
            &[],
        );
        assert_eq!(w[&5], kinds(&[Kind::Version]));
        let (w, _) = walk(
            "#!/bin/sh\n[ \"$NEW_VER\" -gt \"$CUR_VER\" ] && echo newer\nmtd write /tmp/fw.bin firmware\n",
            &[],
        );
        assert_eq!(w[&3], kinds(&[]));
    }

    #[test]
    fn called_scripts_and_sourced_functions_are_followed() {
        let (w, walked) = walk(
            &format!("#!/bin/sh\n. /lib/fw.sh\n{V} || exit 1\n/sbin/flash.sh /tmp/fw.bin\n"),
            &[
                ("/lib/fw.sh", "do_flash() { mtd write \"$1\" firmware; }\n"),
                (
                    "/sbin/flash.sh",
                    "#!/bin/sh\n[ -f \"$1\" ] || exit 1\nflashcp \"$1\" /dev/mtd3\n",
                ),
            ],
        );
        assert_eq!(w[&3], kinds(&[Kind::Signature]));
        let at = walked.writes.keys().next().unwrap();
        assert_eq!((at.file.as_str(), at.line), ("/sbin/flash.sh", 3));
        // A function from a sourced file, called after an ignored check.
        let (w, walked) = walk(
            &format!("#!/bin/sh\n. /lib/fw.sh\n{V}\ndo_flash /tmp/fw.bin\n"),
            &[("/lib/fw.sh", "do_flash() { mtd write \"$1\" firmware; }\n")],
        );
        assert_eq!(w[&1], kinds(&[]));
        assert_eq!(walked.writes.keys().next().unwrap().file, "/lib/fw.sh");
        assert_eq!(walked.verifications.len(), 1);
    }

    /// OpenWrt's `include DIR` (a function from `/lib/functions.sh` that
    /// sources each `DIR/*.sh`), functions across the included files, and
    /// `return $?` after a verification.
    #[test]
    fn openwrt_include_and_functions_across_sourced_files() {
        let include =
            "include() {\n\tlocal file\n\tfor file in $(ls $1/*.sh 2>/dev/null); do\n\t\t. $file\n\tdone\n}\n";
        let check = "check_sig() {\n\tusign -V -m \"$1\" -P /etc/opkg/keys\n\treturn $?\n}\n";
        let flash = "do_upgrade() {\n\tmtd write \"$1\" firmware\n}\n";
        let others = [
            ("/lib/functions.sh", include),
            ("/lib/upgrade/a.sh", check),
            ("/lib/upgrade/b.sh", flash),
            ("/lib/upgrade/notes.txt", "do_upgrade() { :; }\n"),
        ];
        let (w, walked) = walk(
            "#!/bin/sh\n. /lib/functions.sh\ninclude /lib/upgrade\ncheck_sig /tmp/fw || exit 1\ndo_upgrade /tmp/fw\n",
            &others,
        );
        assert_eq!(w[&2], kinds(&[Kind::Signature]), "{walked:?}");
        let at = walked.writes.keys().next().unwrap();
        assert_eq!((at.file.as_str(), at.line), ("/lib/upgrade/b.sh", 2));
        assert!(walked.files.contains("/lib/upgrade/a.sh") && !walked.files.contains("/lib/upgrade/notes.txt"));
        assert!(walked.gaps.is_empty(), "{:?}", walked.gaps);
        // The same check whose result nobody looks at.
        let (w, _) = walk(
            "#!/bin/sh\n. /lib/functions.sh\ninclude /lib/upgrade\ncheck_sig /tmp/fw\ndo_upgrade /tmp/fw\n",
            &others,
        );
        assert_eq!(w[&2], kinds(&[]));
        // A plain loop over a glob, and check functions named by a variable.
        let (w, _) = walk(
            "#!/bin/sh\nfor f in /lib/upgrade/*.sh; do . \"$f\"; done\nCHECKS=\"check_sig\"\nfor c in $CHECKS; do\n\t$c /tmp/fw || exit 1\ndone\ndo_upgrade /tmp/fw\n",
            &others,
        );
        assert_eq!(w[&2], kinds(&[Kind::Signature]));
    }

    /// OpenWrt's check loop with `--force`: a `break` out of the loop
    /// skips the checks of later items, so their gates do not count.
    #[test]
    fn break_out_of_a_check_loop_skips_later_gates() {
        let others = [(
            "/lib/checks.sh",
            "plat_check() { [ -s \"$1\" ]; }\nsig_check() {\n\tusign -V -m \"$1\" -P /etc/opkg/keys\n}\n",
        )];
        let script = |on_fail: &str| {
            format!(
                "#!/bin/sh\n. /lib/checks.sh\nfor c in plat_check sig_check; do\n\t$c /tmp/fw || {{ {on_fail}; }}\ndone\nmtd write /tmp/fw firmware\n"
            )
        };
        let (w, _) = walk(&script("exit 1"), &others);
        assert_eq!(w[&6], kinds(&[Kind::Signature]));
        let (w, _) = walk(&script("if [ $FORCE -eq 1 ]; then break; else exit 1; fi"), &others);
        assert_eq!(w[&6], kinds(&[]));
        let (w, _) = walk(&script("if [ $FORCE -eq 1 ]; then continue; else exit 1; fi"), &others);
        assert_eq!(w[&6], kinds(&[]));
    }

    #[test]
    fn sourcing_stays_in_the_root_and_ends() {
        // A cycle of sourced files, and a file that sources itself.
        let (w, walked) = walk(
            "#!/bin/sh\n. /lib/a.sh\nmtd write x y\n",
            &[
                ("/lib/a.sh", ". /lib/b.sh\n"),
                ("/lib/b.sh", ". /lib/a.sh\n. /lib/b.sh\n"),
            ],
        );
        assert_eq!(w.len(), 1);
        assert!(walked.files.contains("/lib/b.sh"));
        // `..` is not followed, and says so.
        let (_, walked) = walk("#!/bin/sh\n. /lib/../../etc/x.sh\nmtd write x y\n", &[]);
        assert!(walked.gaps[0].contains("cannot be resolved"), "{:?}", walked.gaps);
        // A chain deeper than MAX_DEPTH stops (no panic, no endless walk).
        let files: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("/lib/d{i}.sh"),
                    format!(". /lib/d{}.sh\nmtd write x{i} y\n", i + 1),
                )
            })
            .collect();
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let (w, _) = walk("#!/bin/sh\n. /lib/d0.sh\n", &refs);
        assert_eq!(w.len(), 1, "all writes share line 2");
        let (_, walked) = walk("#!/bin/sh\n. /lib/d0.sh\n", &refs);
        assert_eq!(walked.writes.len(), MAX_DEPTH);
    }

    #[test]
    fn insecure_downloads_are_recorded_through_variables() {
        let (_, w) = walk(
            "#!/bin/sh\nURL=http://update.example.com/fw.bin\nwget \"$URL\" -O /tmp/fw.bin\nmtd write /tmp/fw.bin firmware\n",
            &[],
        );
        assert_eq!(w.insecure_fetches.len(), 1);
        let (_, w) = walk(
            "#!/bin/sh\nURL=https://update.example.com/fw.bin\nwget \"$URL\" -O /tmp/fw.bin\nmtd write /tmp/fw.bin firmware\n",
            &[],
        );
        assert!(w.insecure_fetches.is_empty());
    }

    /// Pseudo-random scripts built from shell words that matter here:
    /// whatever parses is walked without panicking, deterministically.
    #[test]
    fn random_scripts_walk_without_panicking() {
        let words = [
            "mtd write x y",
            "openssl dgst -verify k -signature s f",
            "exit 1",
            "return 1",
            "return",
            "||",
            "&&",
            "|",
            ";",
            "\n",
            "if",
            "then",
            "else",
            "fi",
            "f() {",
            "}",
            "f",
            "(",
            ")",
            "set -e",
            "[ $? -ne 0 ]",
            "rc=$?",
            "[ \"$rc\" = 0 ]",
            "[ $NEW_VER -gt $CUR_VER ]",
            "true",
            "false",
            "!",
            "&",
            "while",
            "do",
            "done",
            ". /x.sh",
            "/usr/sbin/up.sh",
            "grep -q OK",
            "case $1 in a) :;; esac",
        ];
        let mut x: u32 = 0x9e37_79b9;
        let mut walked = 0;
        for _ in 0..3000 {
            let mut script = String::from("#!/bin/sh\n");
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                script.push_str(words[x as usize % words.len()]);
                script.push(' ');
            }
            if shell::parse(&script).is_ok() {
                let (_, w) = walk(&script, &[("/x.sh", "g() { mtd write a b; }\n")]);
                walked += 1;
                assert!(w.gaps.iter().all(|g| !g.is_empty()));
            }
        }
        assert!(walked > 50, "only {walked} random scripts parsed");
    }

    #[test]
    fn hostile_scripts_end() {
        // Mutual recursion and a script calling itself stop at the guard.
        let (w, _) = walk(
            "#!/bin/sh\na() { b; }\nb() { a; mtd write x y; }\na\n/usr/sbin/up.sh\n",
            &[],
        );
        assert_eq!(w.len(), 1);
        let (_, walked) = walk("#!/bin/sh\nif then\n", &[]);
        assert!(walked.gaps[0].contains("could not read"), "{:?}", walked.gaps);
    }
}
