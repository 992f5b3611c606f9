//! What the walker knows about values: variables and positional
//! parameters, word expansion with field splitting, assignments, `test`
//! expressions decided against the image, and glob patterns.

use super::is_runtime;
use super::script::{Field, Frame, Val, Walker};
use super::shell::{Part, Word};
use crate::unpack::tree::NodeKind;

impl<'a> Walker<'a> {
    pub(super) fn var(&self, f: &Frame, name: &str) -> Val {
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
    pub(super) fn fields(&self, f: &Frame, words: &[Word]) -> Vec<Field> {
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
    pub(super) fn join(&self, f: &Frame, w: &Word) -> Field {
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

    pub(super) fn assign(&mut self, f: &mut Frame, w: &Word) {
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
    pub(super) fn test(&self, args: &[Field]) -> Option<bool> {
        let mut a: Vec<&Field> = args.iter().collect();
        if a.last().is_some_and(|l| l.text == "]" || l.text == "]]") {
            a.pop();
        }
        self.test_expr(&a)
    }

    pub(super) fn test_expr(&self, a: &[&Field]) -> Option<bool> {
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
    pub(super) fn file_test(&self, op: &str, path: &str) -> Option<bool> {
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
    pub(super) fn glob(&self, pattern: &str) -> Option<Vec<String>> {
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

pub(super) fn val_of(f: &Field) -> Val {
    if f.known {
        Val::Known(f.text.clone())
    } else {
        Val::Unknown(f.text.clone())
    }
}

/// `NAME=value` → (NAME, value word).
pub(super) fn assignment(w: &Word) -> Option<(String, Word)> {
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

/// Normalise `.`/`..`/`//` in an absolute device path.
pub(super) fn normalize(p: &str) -> String {
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

pub(super) fn glob_chars(p: &[char], t: &[char]) -> bool {
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
pub(super) fn class(p: &[char], c: char) -> Option<(bool, usize)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn glob_patterns() {
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
