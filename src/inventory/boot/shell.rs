//! A small reader for the POSIX shell that init scripts are written in.
//!
//! It turns a script into a tree of commands ([`Cmd`]) that keeps exactly
//! what the boot model needs: which simple commands run, on which line, and
//! inside which `if` / `case` / `for` / `while` / `&&` / `||` / function /
//! background construct. It never executes anything. Comments and here-
//! document bodies are skipped; quoting is honoured so that `'telnetd'` and
//! `"$BIN"` are read as words, and command substitutions are kept as opaque
//! parts ([`Part::Opaque`]) that the walker treats as unknown values.
//!
//! Hostile input is bounded: nesting deeper than [`MAX_DEPTH`] and scripts
//! longer than [`MAX_SCRIPT`] bytes are refused with a [`ParseError`].

/// Scripts larger than this are not read (an init script is a few KiB).
pub const MAX_SCRIPT: usize = 1 << 20;
/// Deepest nesting of compound commands accepted.
pub const MAX_DEPTH: usize = 64;

/// Why a script could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

/// One piece of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text; `quoted` when it came from inside quotes or a backslash
    /// escape (so glob characters in it are not patterns).
    Lit { text: String, quoted: bool },
    /// `$name`, `${name}`, `$1`, `$@`: a parameter the walker may know.
    Var { name: String, quoted: bool },
    /// `$(…)`, `` `…` ``, `$((…))`, `${x:-…}`: a value only known at run time.
    Opaque(String),
}

/// A shell word: its parts and its source text (for evidence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub parts: Vec<Part>,
    pub raw: String,
}

impl Word {
    /// The word's literal value when it has no expansions at all.
    pub fn literal(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit { text, .. } => s.push_str(text),
                _ => return None,
            }
        }
        Some(s)
    }

    /// Whether this is the unquoted reserved word `w`.
    fn is_reserved(&self, w: &str) -> bool {
        matches!(self.parts.as_slice(), [Part::Lit { text, quoted: false }] if text == w)
    }
}

/// A simple command: its words (assignments included) and first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simple {
    pub words: Vec<Word>,
    pub line: usize,
}

impl Simple {
    /// The command's source text, for evidence and condition labels.
    pub fn text(&self) -> String {
        self.words.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// How two commands of an and-or list are joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    And,
    Or,
}

/// One command of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Simple(Simple),
    /// `a && b || c`: the first connector is meaningless.
    AndOr(Vec<(Conn, Cmd)>),
    /// `a | b`, optionally negated with `!`.
    Pipeline {
        cmds: Vec<Cmd>,
        negated: bool,
    },
    /// `if c1; then b1; elif c2; then b2; else b3; fi`.
    If {
        arms: Vec<(Vec<Cmd>, Vec<Cmd>)>,
        otherwise: Option<Vec<Cmd>>,
        line: usize,
    },
    Case {
        subject: Word,
        arms: Vec<(Vec<Word>, Vec<Cmd>)>,
        line: usize,
    },
    For {
        var: String,
        /// `None` for `for x; do` (the positional parameters).
        words: Option<Vec<Word>>,
        body: Vec<Cmd>,
        line: usize,
    },
    /// `while` (or `until`) loop.
    Loop {
        cond: Vec<Cmd>,
        body: Vec<Cmd>,
        until: bool,
        line: usize,
    },
    Group(Vec<Cmd>),
    Subshell(Vec<Cmd>),
    Func {
        name: String,
        body: Box<Cmd>,
        line: usize,
    },
    /// A command run in the background (`cmd &`).
    Background(Box<Cmd>),
}

/// Read a whole script.
pub fn parse(src: &str) -> Result<Vec<Cmd>, ParseError> {
    if src.len() > MAX_SCRIPT {
        return Err(ParseError {
            line: 1,
            message: format!("script is {} bytes, larger than the {MAX_SCRIPT}-byte limit", src.len()),
        });
    }
    let toks = Lexer::new(src).run()?;
    let mut p = Parser { toks, pos: 0, depth: 0 };
    let body = p.list(&[])?;
    if let Some(t) = p.peek() {
        return Err(p.err(t.line, format!("unexpected `{}`", t.show())));
    }
    Ok(body)
}

// ---------------------------------------------------------------- lexer

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokKind {
    Word(Word),
    /// `;` `&` `&&` `||` `|` `(` `)` `;;` and newline (`\n`).
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: TokKind,
    line: usize,
}

impl Tok {
    fn show(&self) -> String {
        match &self.kind {
            TokKind::Word(w) => w.raw.clone(),
            TokKind::Op("\n") => "newline".into(),
            TokKind::Op(o) => (*o).to_string(),
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    line: usize,
    /// Here-documents announced on the current line: (delimiter, strip tabs).
    heredocs: Vec<(String, bool)>,
    out: Vec<Tok>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        Lexer {
            s: src.as_bytes(),
            src,
            i: 0,
            line: 1,
            heredocs: Vec::new(),
            out: Vec::new(),
        }
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            message: message.into(),
        }
    }

    fn peek(&self, off: usize) -> Option<u8> {
        self.s.get(self.i + off).copied()
    }

    fn op(&mut self, o: &'static str) {
        self.out.push(Tok {
            kind: TokKind::Op(o),
            line: self.line,
        });
        self.i += o.len();
    }

    fn run(mut self) -> Result<Vec<Tok>, ParseError> {
        while let Some(c) = self.peek(0) {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\\' if self.peek(1) == Some(b'\n') => {
                    self.i += 2;
                    self.line += 1;
                }
                b'#' => {
                    while let Some(c) = self.peek(0) {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                b'\n' => {
                    self.op("\n");
                    self.line += 1;
                    self.skip_heredocs()?;
                }
                b';' if self.peek(1) == Some(b';') => self.op(";;"),
                b';' => self.op(";"),
                b'&' if self.peek(1) == Some(b'&') => self.op("&&"),
                b'&' if self.peek(1) == Some(b'>') => {
                    self.i += 2;
                    if self.peek(0) == Some(b'>') {
                        self.i += 1;
                    }
                    self.redirect_target()?;
                }
                b'&' => self.op("&"),
                b'|' if self.peek(1) == Some(b'|') => self.op("||"),
                b'|' => self.op("|"),
                b'(' => self.op("("),
                b')' => self.op(")"),
                b'<' | b'>' => self.redirect(None)?,
                _ => {
                    let line = self.line;
                    let w = self.word()?;
                    // An all-digit word glued to `<` or `>` is a file descriptor.
                    if matches!(self.peek(0), Some(b'<' | b'>'))
                        && !w.raw.is_empty()
                        && w.raw.bytes().all(|b| b.is_ascii_digit())
                    {
                        self.redirect(Some(w))?;
                    } else {
                        self.out.push(Tok {
                            kind: TokKind::Word(w),
                            line,
                        });
                    }
                }
            }
        }
        Ok(self.out)
    }

    /// Consume a redirection operator and its target; redirections do not
    /// change what runs, so they leave no token.
    fn redirect(&mut self, _fd: Option<Word>) -> Result<(), ParseError> {
        let first = self.peek(0);
        self.i += 1;
        if first == Some(b'<') && self.peek(0) == Some(b'<') {
            self.i += 1;
            let strip = self.peek(0) == Some(b'-');
            if strip {
                self.i += 1;
            }
            self.skip_blanks();
            let w = self.word()?;
            let delim: String = w
                .parts
                .iter()
                .map(|p| match p {
                    Part::Lit { text, .. } => text.clone(),
                    Part::Var { name, .. } => format!("${name}"),
                    Part::Opaque(o) => o.clone(),
                })
                .collect();
            if delim.is_empty() {
                return Err(self.err("here-document without a delimiter"));
            }
            self.heredocs.push((delim, strip));
            return Ok(());
        }
        // `>>`, `>&`, `<&`, `<>`, `>|`
        if matches!(self.peek(0), Some(b'>' | b'&' | b'|')) {
            self.i += 1;
        }
        self.redirect_target()
    }

    fn redirect_target(&mut self) -> Result<(), ParseError> {
        self.skip_blanks();
        match self.peek(0) {
            None | Some(b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>') => {
                Err(self.err("redirection without a target"))
            }
            _ => self.word().map(|_| ()),
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(0), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// After a newline: skip the bodies of pending here-documents.
    fn skip_heredocs(&mut self) -> Result<(), ParseError> {
        let pending = std::mem::take(&mut self.heredocs);
        for (delim, strip) in pending {
            loop {
                if self.i >= self.s.len() {
                    return Err(self.err(format!("here-document `{delim}` is not terminated")));
                }
                let end = self.s[self.i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(self.s.len(), |p| self.i + p);
                let line = self.src.get(self.i..end).unwrap_or("");
                let line = line.strip_suffix('\r').unwrap_or(line);
                let line = if strip { line.trim_start_matches('\t') } else { line };
                self.i = (end + 1).min(self.s.len());
                self.line += 1;
                if line == delim {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Read one word starting at the current position.
    fn word(&mut self) -> Result<Word, ParseError> {
        let start = self.i;
        let mut parts: Vec<Part> = Vec::new();
        let mut lit = String::new();
        let mut lit_quoted = false;
        let flush = |parts: &mut Vec<Part>, lit: &mut String, quoted: bool| {
            if !lit.is_empty() {
                parts.push(Part::Lit {
                    text: std::mem::take(lit),
                    quoted,
                });
            }
        };
        while let Some(c) = self.peek(0) {
            match c {
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => break,
                b'\\' => {
                    match self.peek(1) {
                        Some(b'\n') => {
                            self.i += 2;
                            self.line += 1;
                            continue;
                        }
                        Some(_) => {
                            if !lit_quoted {
                                flush(&mut parts, &mut lit, false);
                            }
                            lit_quoted = true;
                            self.i += 1;
                            let ch = self.char_here();
                            lit.push(ch);
                            self.i += ch.len_utf8();
                        }
                        None => self.i += 1,
                    }
                    continue;
                }
                b'\'' => {
                    flush(&mut parts, &mut lit, lit_quoted);
                    self.i += 1;
                    let rel = self.s[self.i..]
                        .iter()
                        .position(|&b| b == b'\'')
                        .ok_or_else(|| self.err("unterminated single quote"))?;
                    let text = self.src.get(self.i..self.i + rel).unwrap_or("").to_string();
                    self.line += text.matches('\n').count();
                    self.i += rel + 1;
                    parts.push(Part::Lit { text, quoted: true });
                    lit_quoted = false;
                    continue;
                }
                b'"' => {
                    flush(&mut parts, &mut lit, lit_quoted);
                    lit_quoted = false;
                    self.i += 1;
                    self.double_quoted(&mut parts)?;
                    continue;
                }
                b'$' | b'`' => {
                    flush(&mut parts, &mut lit, lit_quoted);
                    lit_quoted = false;
                    let p = self.dollar(false)?;
                    parts.push(p);
                    continue;
                }
                _ => {
                    if lit_quoted {
                        flush(&mut parts, &mut lit, true);
                        lit_quoted = false;
                    }
                    let ch = self.char_here();
                    lit.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
        flush(&mut parts, &mut lit, lit_quoted);
        let raw = self.src.get(start..self.i).unwrap_or("").to_string();
        Ok(Word { parts, raw })
    }

    fn char_here(&self) -> char {
        self.src
            .get(self.i..)
            .and_then(|r| r.chars().next())
            .unwrap_or('\u{fffd}')
    }

    fn double_quoted(&mut self, parts: &mut Vec<Part>) -> Result<(), ParseError> {
        let mut lit = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.err("unterminated double quote"));
            };
            match c {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    match self.peek(1) {
                        Some(b'\n') => {
                            self.line += 1;
                            self.i += 2;
                        }
                        Some(n @ (b'$' | b'`' | b'"' | b'\\')) => {
                            lit.push(n as char);
                            self.i += 2;
                        }
                        _ => {
                            lit.push('\\');
                            self.i += 1;
                        }
                    }
                    continue;
                }
                b'$' | b'`' => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit {
                            text: std::mem::take(&mut lit),
                            quoted: true,
                        });
                    }
                    let p = self.dollar(true)?;
                    parts.push(p);
                    continue;
                }
                b'\n' => {
                    self.line += 1;
                    lit.push('\n');
                    self.i += 1;
                }
                _ => {
                    let ch = self.char_here();
                    lit.push(ch);
                    self.i += ch.len_utf8();
                }
            }
        }
        // `""` is an empty but real argument.
        parts.push(Part::Lit {
            text: lit,
            quoted: true,
        });
        Ok(())
    }

    /// An expansion starting at `$` or a backquote.
    fn dollar(&mut self, quoted: bool) -> Result<Part, ParseError> {
        let start = self.i;
        if self.peek(0) == Some(b'`') {
            self.i += 1;
            loop {
                match self.peek(0) {
                    None => return Err(self.err("unterminated backquote")),
                    Some(b'\\') => self.i += 2,
                    Some(b'`') => {
                        self.i += 1;
                        break;
                    }
                    Some(b'\n') => {
                        self.line += 1;
                        self.i += 1;
                    }
                    Some(_) => self.i += 1,
                }
            }
            return Ok(Part::Opaque(self.slice(start)));
        }
        self.i += 1; // `$`
        match self.peek(0) {
            Some(b'(') => {
                self.balanced(b'(', b')')?;
                Ok(Part::Opaque(self.slice(start)))
            }
            Some(b'{') => {
                self.balanced(b'{', b'}')?;
                let raw = self.slice(start);
                let inner = raw.get(2..raw.len().saturating_sub(1)).unwrap_or("");
                if is_name(inner) || is_special(inner) {
                    Ok(Part::Var {
                        name: inner.to_string(),
                        quoted,
                    })
                } else {
                    Ok(Part::Opaque(raw))
                }
            }
            Some(c) if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => {
                self.i += 1;
                Ok(Part::Var {
                    name: (c as char).to_string(),
                    quoted,
                })
            }
            Some(c) if c == b'_' || c.is_ascii_alphabetic() => {
                let n = self.s[self.i..]
                    .iter()
                    .take_while(|b| **b == b'_' || b.is_ascii_alphanumeric())
                    .count();
                self.i += n;
                Ok(Part::Var {
                    name: self.slice(start + 1),
                    quoted,
                })
            }
            // A lone `$` is literal.
            _ => Ok(Part::Lit {
                text: "$".into(),
                quoted,
            }),
        }
    }

    /// Skip a balanced `open … close` group (the current byte is `open`),
    /// honouring quotes inside it.
    fn balanced(&mut self, open: u8, close: u8) -> Result<(), ParseError> {
        let mut depth = 0usize;
        while let Some(c) = self.peek(0) {
            match c {
                b'\\' => {
                    self.i += 2;
                    continue;
                }
                b'\'' => {
                    self.i += 1;
                    while let Some(c) = self.peek(0) {
                        self.i += 1;
                        if c == b'\n' {
                            self.line += 1;
                        }
                        if c == b'\'' {
                            break;
                        }
                    }
                    continue;
                }
                b'\n' => self.line += 1,
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err(self.err(format!("unterminated `{}`", open as char)))
    }

    fn slice(&self, start: usize) -> String {
        self.src
            .get(start..self.i.min(self.src.len()))
            .unwrap_or("")
            .to_string()
    }
}

fn is_name(s: &str) -> bool {
    let mut it = s.chars();
    matches!(it.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && it.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn is_special(s: &str) -> bool {
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())) || matches!(s, "@" | "*" | "#" | "?" | "$" | "!" | "-")
}

// ---------------------------------------------------------------- parser

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

const RESERVED_END: &[&str] = &["then", "elif", "else", "fi", "do", "done", "esac", "}"];

impl Parser {
    fn err(&self, line: usize, message: String) -> ParseError {
        ParseError { line, message }
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn line(&self) -> usize {
        self.peek()
            .map(|t| t.line)
            .or_else(|| self.toks.last().map(|t| t.line))
            .unwrap_or(1)
    }

    fn at_op(&self, o: &str) -> bool {
        matches!(self.peek(), Some(Tok { kind: TokKind::Op(x), .. }) if *x == o)
    }

    fn at_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok { kind: TokKind::Word(x), .. }) if x.is_reserved(w))
    }

    fn skip_newlines(&mut self) {
        while self.at_op("\n") || self.at_op(";") {
            self.pos += 1;
        }
    }

    fn skip_linebreaks(&mut self) {
        while self.at_op("\n") {
            self.pos += 1;
        }
    }

    fn expect_word(&mut self, w: &str) -> Result<(), ParseError> {
        if self.at_word(w) {
            self.pos += 1;
            Ok(())
        } else {
            let found = self.peek().map(Tok::show).unwrap_or_else(|| "end of script".into());
            Err(self.err(self.line(), format!("expected `{w}`, found `{found}`")))
        }
    }

    /// A list of commands up to one of the `stop` reserved words (not consumed).
    fn list(&mut self, stop: &[&str]) -> Result<Vec<Cmd>, ParseError> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            let Some(t) = self.peek() else { break };
            match &t.kind {
                TokKind::Word(w) if stop.iter().any(|s| w.is_reserved(s)) => break,
                TokKind::Word(w) if RESERVED_END.iter().any(|s| w.is_reserved(s)) => {
                    let (line, raw) = (t.line, w.raw.clone());
                    return Err(self.err(line, format!("unexpected `{raw}`")));
                }
                TokKind::Op(")" | ";;") if !stop.is_empty() => break,
                TokKind::Op(o) if *o != "(" => {
                    let (line, o) = (t.line, *o);
                    return Err(self.err(line, format!("unexpected `{o}`")));
                }
                _ => {}
            }
            let cmd = self.and_or()?;
            if self.at_op("&") {
                self.pos += 1;
                out.push(Cmd::Background(Box::new(cmd)));
            } else {
                out.push(cmd);
            }
        }
        Ok(out)
    }

    fn and_or(&mut self) -> Result<Cmd, ParseError> {
        let first = self.pipeline()?;
        let mut items = vec![(Conn::And, first)];
        loop {
            let conn = if self.at_op("&&") {
                Conn::And
            } else if self.at_op("||") {
                Conn::Or
            } else {
                break;
            };
            self.pos += 1;
            self.skip_linebreaks();
            items.push((conn, self.pipeline()?));
        }
        if items.len() == 1 {
            Ok(items.pop().map(|(_, c)| c).unwrap_or(Cmd::Group(Vec::new())))
        } else {
            Ok(Cmd::AndOr(items))
        }
    }

    fn pipeline(&mut self) -> Result<Cmd, ParseError> {
        let negated = if self.at_word("!") {
            self.pos += 1;
            true
        } else {
            false
        };
        let mut cmds = vec![self.command()?];
        while self.at_op("|") {
            self.pos += 1;
            self.skip_linebreaks();
            cmds.push(self.command()?);
        }
        if cmds.len() == 1 && !negated {
            Ok(cmds.pop().unwrap_or(Cmd::Group(Vec::new())))
        } else {
            Ok(Cmd::Pipeline { cmds, negated })
        }
    }

    fn command(&mut self) -> Result<Cmd, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err(self.line(), format!("nesting deeper than {MAX_DEPTH}")));
        }
        let r = self.command_inner();
        self.depth -= 1;
        r
    }

    fn command_inner(&mut self) -> Result<Cmd, ParseError> {
        let line = self.line();
        if self.at_op("(") {
            self.pos += 1;
            // A non-empty stop list makes `)` end the list.
            let body = self.list(&[")"])?;
            if !self.at_op(")") {
                return Err(self.err(self.line(), "expected `)`".into()));
            }
            self.pos += 1;
            return Ok(Cmd::Subshell(body));
        }
        if self.at_word("{") {
            self.pos += 1;
            let body = self.list(&["}"])?;
            self.expect_word("}")?;
            return Ok(Cmd::Group(body));
        }
        if self.at_word("if") {
            return self.if_cmd(line);
        }
        if self.at_word("case") {
            return self.case_cmd(line);
        }
        if self.at_word("for") {
            return self.for_cmd(line);
        }
        if self.at_word("while") || self.at_word("until") {
            let until = self.at_word("until");
            self.pos += 1;
            let cond = self.list(&["do"])?;
            self.expect_word("do")?;
            let body = self.list(&["done"])?;
            self.expect_word("done")?;
            return Ok(Cmd::Loop {
                cond,
                body,
                until,
                line,
            });
        }
        if self.at_word("function") {
            self.pos += 1;
            let name = self.name_word()?;
            if self.at_op("(") {
                self.pos += 1;
                if !self.at_op(")") {
                    return Err(self.err(self.line(), "expected `)`".into()));
                }
                self.pos += 1;
            }
            self.skip_linebreaks();
            let body = self.command()?;
            return Ok(Cmd::Func {
                name,
                body: Box::new(body),
                line,
            });
        }
        // A simple command, or a function definition `name() body`.
        let mut words = Vec::new();
        while let Some(Tok {
            kind: TokKind::Word(w), ..
        }) = self.peek()
        {
            words.push(w.clone());
            self.pos += 1;
        }
        if words.len() == 1
            && self.at_op("(")
            && matches!(
                self.toks.get(self.pos + 1),
                Some(Tok {
                    kind: TokKind::Op(")"),
                    ..
                })
            )
        {
            self.pos += 2;
            self.skip_linebreaks();
            let name = words.pop().map(|w| w.raw).unwrap_or_default();
            let body = self.command()?;
            return Ok(Cmd::Func {
                name,
                body: Box::new(body),
                line,
            });
        }
        if words.is_empty() {
            let found = self.peek().map(Tok::show).unwrap_or_else(|| "end of script".into());
            return Err(self.err(line, format!("expected a command, found `{found}`")));
        }
        Ok(Cmd::Simple(Simple { words, line }))
    }

    fn name_word(&mut self) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok {
                kind: TokKind::Word(w), ..
            }) => {
                let n = w.raw.clone();
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.err(self.line(), "expected a name".into())),
        }
    }

    fn if_cmd(&mut self, line: usize) -> Result<Cmd, ParseError> {
        self.pos += 1;
        let mut arms = Vec::new();
        let mut otherwise = None;
        loop {
            let cond = self.list(&["then"])?;
            self.expect_word("then")?;
            let body = self.list(&["elif", "else", "fi"])?;
            arms.push((cond, body));
            if self.at_word("elif") {
                self.pos += 1;
                continue;
            }
            if self.at_word("else") {
                self.pos += 1;
                otherwise = Some(self.list(&["fi"])?);
            }
            self.expect_word("fi")?;
            break;
        }
        Ok(Cmd::If { arms, otherwise, line })
    }

    fn case_cmd(&mut self, line: usize) -> Result<Cmd, ParseError> {
        self.pos += 1;
        let subject = match self.peek() {
            Some(Tok {
                kind: TokKind::Word(w), ..
            }) => w.clone(),
            _ => return Err(self.err(self.line(), "expected a word after `case`".into())),
        };
        self.pos += 1;
        self.skip_linebreaks();
        self.expect_word("in")?;
        let mut arms = Vec::new();
        loop {
            self.skip_newlines();
            if self.at_word("esac") {
                self.pos += 1;
                break;
            }
            if self.at_op("(") {
                self.pos += 1;
            }
            let mut pats = Vec::new();
            loop {
                match self.peek() {
                    Some(Tok {
                        kind: TokKind::Word(w), ..
                    }) => {
                        pats.push(w.clone());
                        self.pos += 1;
                    }
                    _ => return Err(self.err(self.line(), "expected a case pattern".into())),
                }
                if self.at_op("|") {
                    self.pos += 1;
                    continue;
                }
                break;
            }
            if !self.at_op(")") {
                return Err(self.err(self.line(), "expected `)` after a case pattern".into()));
            }
            self.pos += 1;
            let body = self.list(&["esac"])?;
            arms.push((pats, body));
            if self.at_op(";;") {
                self.pos += 1;
            } else if self.at_word("esac") {
                self.pos += 1;
                break;
            } else {
                return Err(self.err(self.line(), "expected `;;` or `esac`".into()));
            }
        }
        Ok(Cmd::Case { subject, arms, line })
    }

    fn for_cmd(&mut self, line: usize) -> Result<Cmd, ParseError> {
        self.pos += 1;
        let var = self.name_word()?;
        self.skip_linebreaks();
        let mut words = None;
        if self.at_word("in") {
            self.pos += 1;
            let mut ws = Vec::new();
            while let Some(Tok {
                kind: TokKind::Word(w), ..
            }) = self.peek()
            {
                ws.push(w.clone());
                self.pos += 1;
            }
            words = Some(ws);
        }
        self.skip_newlines();
        self.expect_word("do")?;
        let body = self.list(&["done"])?;
        self.expect_word("done")?;
        Ok(Cmd::For { var, words, body, line })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(c: &Cmd) -> &Simple {
        match c {
            Cmd::Simple(s) => s,
            other => panic!("not simple: {other:?}"),
        }
    }

    #[test]
    fn comments_and_heredocs_are_not_commands() {
        let s = "# telnetd -l /bin/sh\nmount -a # telnetd\ncat > /tmp/x <<EOF\ntelnetd\nEOF\n  cat <<-'END'\n\ttelnetd\n\tEND\necho done\n";
        let cmds = parse(s).unwrap();
        let texts: Vec<(usize, String)> = cmds.iter().map(|c| (simple(c).line, simple(c).text())).collect();
        assert_eq!(
            texts,
            [
                (2, "mount -a".to_string()),
                (3, "cat".to_string()),
                (6, "cat".to_string()),
                (9, "echo done".to_string())
            ]
        );
    }

    #[test]
    fn quoting_and_expansions() {
        let cmds = parse("\"$BIN\" -p '2323' ${PORT} $(cat /x) `id` a\\ b\n").unwrap();
        let w = &simple(&cmds[0]).words;
        assert_eq!(
            w[0].parts,
            [
                Part::Var {
                    name: "BIN".into(),
                    quoted: true
                },
                Part::Lit {
                    text: String::new(),
                    quoted: true
                }
            ]
        );
        assert_eq!(w[2].literal().as_deref(), Some("2323"));
        assert!(matches!(&w[3].parts[0], Part::Var { name, quoted: false } if name == "PORT"));
        assert!(matches!(&w[4].parts[0], Part::Opaque(o) if o == "$(cat /x)"));
        assert!(matches!(&w[5].parts[0], Part::Opaque(o) if o == "`id`"));
        assert_eq!(w[6].literal().as_deref(), Some("a b"));
    }

    #[test]
    fn structure_if_case_for_andor_background_functions() {
        let s = r#"
start() {
    [ -x /usr/sbin/telnetd ] && telnetd -l /bin/sh &
}
if [ "$1" = start ]; then
    start
elif true; then :
else
    exit 1
fi
case "$1" in
    start|boot) start ;;
    stop) killall telnetd
esac
for i in /etc/init.d/S??* ; do
    $i start
done
while read line; do echo "$line"; done < /etc/x
"#;
        let cmds = parse(s).unwrap();
        assert_eq!(cmds.len(), 5);
        let Cmd::Func { name, body, .. } = &cmds[0] else {
            panic!()
        };
        assert_eq!(name, "start");
        let Cmd::Group(b) = body.as_ref() else { panic!() };
        let Cmd::Background(inner) = &b[0] else { panic!("{b:?}") };
        assert!(matches!(inner.as_ref(), Cmd::AndOr(v) if v.len() == 2));
        let Cmd::If { arms, otherwise, line } = &cmds[1] else {
            panic!()
        };
        assert_eq!((arms.len(), otherwise.is_some(), *line), (2, true, 5));
        let Cmd::Case { arms, .. } = &cmds[2] else { panic!() };
        assert_eq!(arms[0].0.len(), 2);
        assert_eq!(simple(&arms[1].1[0]).text(), "killall telnetd");
        let Cmd::For { var, words, body, .. } = &cmds[3] else {
            panic!()
        };
        assert_eq!(var, "i");
        assert_eq!(words.as_ref().unwrap()[0].raw, "/etc/init.d/S??*");
        assert_eq!(simple(&body[0]).line, 16);
        assert!(matches!(&cmds[4], Cmd::Loop { until: false, .. }));
    }

    #[test]
    fn redirections_are_dropped() {
        let cmds = parse("telnetd -p 23 >/dev/null 2>&1 </dev/null &\nfoo 2> /tmp/err bar\n").unwrap();
        let Cmd::Background(b) = &cmds[0] else { panic!() };
        assert_eq!(simple(b).text(), "telnetd -p 23");
        assert_eq!(simple(&cmds[1]).text(), "foo bar");
    }

    #[test]
    fn malformed_scripts_are_errors_not_panics() {
        for bad in [
            "if true; then echo",
            "echo 'open",
            "echo \"open",
            "case x in a) echo",
            "cat <<EOF\nnever ends\n",
            "fi",
            "echo $(unclosed",
            ")",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
        let deep = "(".repeat(200) + &")".repeat(200);
        assert!(parse(&deep).unwrap_err().message.contains("nesting"));
    }

    #[test]
    fn no_input_panics() {
        let script = "#!/bin/sh\n. /etc/cfg\nfor i in /etc/init.d/S??* ; do\n  case \"$i\" in *.sh) ( set start; . $i ) ;; *) $i start ;; esac\ndone\nx=$(cat <<'E'\nbody\nE\n)\n[ -x /a ] && { telnetd -l '/bin/sh' & } || exit 0\nf() { echo \"${a:-b}\" `id` $((1+2)); }\nwhile read l; do :; done < /x\n";
        // Every prefix (cut anywhere, even inside a quote or a here-document).
        for end in 0..=script.len() {
            if let Some(p) = script.get(..end) {
                let _ = parse(p);
            }
        }
        // Pseudo-random bytes, deterministically.
        let mut x: u32 = 0x1234_5678;
        for _ in 0..200 {
            let mut buf = Vec::new();
            for _ in 0..300 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let alphabet = b"\\'\"$`(){};&|<>#\n abc=*?[]!-";
                buf.push(alphabet[x as usize % alphabet.len()]);
            }
            let _ = parse(&String::from_utf8_lossy(&buf));
        }
    }

    #[test]
    fn line_numbers_follow_continuations() {
        let cmds = parse("a \\\n  b\nc\n").unwrap();
        assert_eq!(simple(&cmds[0]).text(), "a b");
        assert_eq!(simple(&cmds[1]).line, 3);
    }
}
