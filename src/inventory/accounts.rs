//! Accounts from every kind of password store: `/etc/passwd`, `/etc/shadow`,
//! BSD `master.passwd`, Apache/lighttpd `htpasswd`, mosquitto password files,
//! and `user:hash` records found inside other files.
//!
//! Files are parsed leniently (firmware ships odd ones) but never guessed
//! at: a line that does not have the fields it needs is skipped, and each
//! account remembers the file and line (or byte offset) its password came
//! from.

use serde::Serialize;

pub use super::hashes::HashKind;
use super::hashes::{identify, is_crypt64};
use super::text::is_text;

/// The state of an account's password field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "value")]
pub enum Password {
    /// Empty field: logging in needs no password.
    Empty,
    /// `*`, `!`, `!!` or a `!`-prefixed hash: no password login.
    Locked,
    /// `x` in passwd with no shadow entry to resolve it.
    Unresolved,
    Hash(String),
    /// A password stored in the clear (configuration stores, plain htpasswd).
    Plaintext(String),
}

impl Password {
    /// The algorithm protecting the password, if there is one to speak of.
    pub fn kind(&self) -> Option<HashKind> {
        match self {
            Password::Hash(h) => Some(HashKind::of(h)),
            Password::Plaintext(_) => Some(HashKind::Plaintext),
            _ => None,
        }
    }
}

/// One account with the evidence of where it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub user: String,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub home: Option<String>,
    pub shell: Option<String>,
    pub password: Password,
    /// The file the password field came from (`/etc/shadow` or `/etc/passwd`).
    pub password_file: String,
    /// 1-based line of the password field in that file (text files).
    pub password_line: Option<usize>,
    /// Byte offset of the record in that file (binary files).
    pub password_offset: Option<u64>,
    /// The configuration key the password was read from (config stores).
    pub key: Option<String>,
}

impl Account {
    fn new(user: &str, password: Password, file: &str, line: usize) -> Account {
        Account {
            user: user.to_string(),
            uid: None,
            gid: None,
            home: None,
            shell: None,
            password,
            password_file: file.to_string(),
            password_line: Some(line),
            password_offset: None,
            key: None,
        }
    }

    /// Whether the shell allows an interactive login.
    pub fn has_login_shell(&self) -> bool {
        match self.shell.as_deref() {
            None | Some("") => true, // an empty shell field means /bin/sh
            Some(s) => !(s.ends_with("nologin") || s.ends_with("/false") || s == "/bin/sync" || s.ends_with("/true")),
        }
    }

    /// Whether a password lets someone log in (empty, hash or plaintext).
    pub fn password_usable(&self) -> bool {
        matches!(
            self.password,
            Password::Empty | Password::Hash(_) | Password::Plaintext(_)
        )
    }
}

fn password_field(field: &str) -> Password {
    match field {
        "" => Password::Empty,
        "x" => Password::Unresolved,
        f if f.starts_with('!') || f.starts_with('*') => Password::Locked,
        f => Password::Hash(f.to_string()),
    }
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// Merge `passwd`, `shadow` and BSD `master.passwd` contents (any may be
/// absent) into accounts, sorted by user name. `passwd` defers to the other
/// two with `x` (BusyBox also with `*`).
pub fn parse(passwd: Option<(&str, &str)>, shadow: Option<(&str, &str)>) -> Vec<Account> {
    parse_system(passwd, shadow, None)
}

/// [`parse`] with a `master.passwd` as well.
pub fn parse_system(
    passwd: Option<(&str, &str)>,
    shadow: Option<(&str, &str)>,
    master: Option<(&str, &str)>,
) -> Vec<Account> {
    let mut accounts: Vec<Account> = passwd.map(|(p, t)| parse_passwd(p, t)).unwrap_or_default();
    let secondary = shadow
        .map(|(p, t)| parse_shadow(p, t))
        .into_iter()
        .chain(master.map(|(p, t)| parse_master_passwd(p, t)));
    for extra in secondary {
        for s in extra {
            match accounts.iter_mut().find(|a| a.user == s.user) {
                Some(a) => {
                    if matches!(a.password, Password::Unresolved | Password::Locked) {
                        a.password = s.password;
                        a.password_file = s.password_file;
                        a.password_line = s.password_line;
                    }
                    a.uid = a.uid.or(s.uid);
                    a.gid = a.gid.or(s.gid);
                    a.shell = a.shell.take().or(s.shell);
                    a.home = a.home.take().or(s.home);
                }
                None => accounts.push(s),
            }
        }
    }
    sort(&mut accounts);
    accounts
}

fn sort(accounts: &mut [Account]) {
    accounts.sort_by(|a, b| {
        (&a.user, a.password_line, a.password_offset).cmp(&(&b.user, b.password_line, b.password_offset))
    });
}

/// `name:password:uid:gid:gecos:home:shell`.
pub fn parse_passwd(path: &str, text: &str) -> Vec<Account> {
    let mut out = Vec::new();
    for (n, line) in lines(text) {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 2 || f[0].is_empty() {
            continue;
        }
        let mut a = Account::new(f[0], password_field(f[1]), path, n);
        a.uid = f.get(2).and_then(|v| v.trim().parse().ok());
        a.gid = f.get(3).and_then(|v| v.trim().parse().ok());
        a.home = f.get(5).map(|s| s.to_string());
        a.shell = f.get(6).map(|s| s.to_string());
        out.push(a);
    }
    out
}

/// `name:password:lastchg:min:max:warn:inactive:expire:reserved`.
pub fn parse_shadow(path: &str, text: &str) -> Vec<Account> {
    lines(text)
        .filter_map(|(n, line)| {
            let f: Vec<&str> = line.split(':').collect();
            (f.len() >= 2 && !f[0].is_empty()).then(|| Account::new(f[0], password_field(f[1]), path, n))
        })
        .collect()
}

/// BSD `name:password:uid:gid:class:change:expire:gecos:home:shell`.
pub fn parse_master_passwd(path: &str, text: &str) -> Vec<Account> {
    lines(text)
        .filter_map(|(n, line)| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 10 || f[0].is_empty() {
                return None;
            }
            let mut a = Account::new(f[0], password_field(f[1]), path, n);
            a.uid = f[2].trim().parse().ok();
            a.gid = f[3].trim().parse().ok();
            a.home = Some(f[8].to_string());
            a.shell = Some(f[9].to_string());
            Some(a)
        })
        .collect()
}

/// `user:hash` files: Apache and lighttpd `htpasswd` (a field that is no
/// known hash is a plaintext password, as `htpasswd -p` and lighttpd's
/// `plain` backend store it) and mosquitto password files (where it is an
/// unknown hash: mosquitto only accepts hashed entries).
pub fn parse_user_hash(path: &str, text: &str, plaintext_allowed: bool) -> Vec<Account> {
    let mut out: Vec<Account> = lines(text)
        .filter_map(|(n, line)| {
            let (user, rest) = line.split_once(':')?;
            let user = user.trim();
            if user.is_empty() || user.contains(char::is_whitespace) {
                return None;
            }
            // htdigest's `user:realm:md5` has a third field; htpasswd does not.
            let pw = rest.split(':').next().unwrap_or("");
            let password = match pw {
                "" => Password::Empty,
                p if p.starts_with('!') || p.starts_with('*') => Password::Locked,
                p if plaintext_allowed && HashKind::of(p) == HashKind::Unknown && !rest.contains(':') => {
                    Password::Plaintext(p.to_string())
                }
                p => Password::Hash(p.to_string()),
            };
            Some(Account::new(user, password, path, n))
        })
        .collect();
    sort(&mut out);
    out
}

/// Whether `c` may appear in a user name found by content.
fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// Records found by content: `user:<hash>` anywhere in a file (text or
/// binary) where the hash validates strictly, plus whole lines shaped like
/// shadow or passwd entries in text (which can carry DES hashes and empty
/// passwords, too ambiguous to find on their own).
pub fn scan_records(path: &str, data: &[u8]) -> Vec<Account> {
    let text = is_text(data);
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let finder = memchr::memmem::Finder::new(b":");
    for colon in finder.find_iter(data) {
        let next = data.get(colon + 1).copied();
        if !matches!(next, Some(b'$' | b'{')) {
            continue;
        }
        let Some((kind, len)) = identify(&data[colon + 1..]) else {
            continue;
        };
        // The hash must end the field: a separator, a line end or a byte
        // outside printable ASCII.
        let end = colon + 1 + len;
        if let Some(&c) = data.get(end)
            && c.is_ascii_graphic()
            && c != b':'
            && c != b','
            && c != b'"'
            && c != b'\''
        {
            continue;
        }
        let start = data[..colon].iter().rev().take_while(|c| is_name_char(**c)).count();
        let user_start = colon - start;
        if start == 0 || start > 32 {
            continue;
        }
        let user = String::from_utf8_lossy(&data[user_start..colon]).to_string();
        let hash = String::from_utf8_lossy(&data[colon + 1..end]).to_string();
        debug_assert_ne!(kind, HashKind::Unknown);
        seen.insert(user_start);
        out.push(located(user, Password::Hash(hash), path, data, user_start, text));
    }
    if text {
        let mut off = 0usize;
        for raw in data.split(|c| *c == b'\n') {
            let at = off;
            off += raw.len() + 1;
            if raw.iter().filter(|c| **c == b':').count() < 6 || seen.contains(&at) {
                continue;
            }
            let line = String::from_utf8_lossy(raw);
            let line = line.trim_end_matches('\r');
            if let Some((user, pw)) = shaped_line(line) {
                out.push(located(user.to_string(), password_field(pw), path, data, at, text));
            }
        }
    }
    sort(&mut out);
    out
}

fn located(user: String, password: Password, path: &str, data: &[u8], at: usize, text: bool) -> Account {
    let mut a = Account::new(&user, password, path, 0);
    if text {
        a.password_line = Some(data[..at].iter().filter(|c| **c == b'\n').count() + 1);
    } else {
        a.password_line = None;
        a.password_offset = Some(at as u64);
    }
    a
}

/// A line shaped like a shadow entry (9 fields, numeric aging fields) or a
/// passwd entry (7 fields, numeric uid and gid, absolute home), with a
/// password field that is empty, locked or a well-formed hash.
fn shaped_line(line: &str) -> Option<(&str, &str)> {
    let f: Vec<&str> = line.split(':').collect();
    let user = *f.first()?;
    if user.is_empty() || user.len() > 32 || !user.bytes().all(is_name_char) {
        return None;
    }
    let num_or_empty = |s: &str| s.is_empty() || s.bytes().all(|c| c.is_ascii_digit() || c == b'-');
    let shadow = f.len() == 9 && f[2..8].iter().all(|s| num_or_empty(s));
    let passwd = f.len() == 7
        && !f[2].is_empty()
        && f[2].bytes().all(|c| c.is_ascii_digit())
        && !f[3].is_empty()
        && f[3].bytes().all(|c| c.is_ascii_digit())
        && f[5].starts_with('/');
    if !(shadow || passwd) {
        return None;
    }
    let pw = f[1];
    let ok = pw.is_empty()
        || pw == "x"
        || pw.starts_with('!')
        || pw.starts_with('*')
        || (pw.len() == 13 && pw.bytes().all(is_crypt64))
        || HashKind::of(pw) != HashKind::Unknown;
    ok.then_some((user, pw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_resolves_passwd_placeholders() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\nnobody:*:65534:65534::/:/sbin/nologin\n";
        let shadow = "root:$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3/:15502:0:99999:7:::\n";
        let a = parse(Some(("/etc/passwd", passwd)), Some(("/etc/shadow", shadow)));
        assert_eq!(a.len(), 2);
        let root = &a[1];
        assert_eq!(root.user, "root");
        assert_eq!(root.uid, Some(0));
        assert_eq!(root.password_file, "/etc/shadow");
        assert_eq!(root.password_line, Some(1));
        assert!(matches!(&root.password, Password::Hash(h) if HashKind::of(h) == HashKind::Md5Crypt));
        assert_eq!(a[0].password, Password::Locked);
        assert!(!a[0].has_login_shell());
    }

    #[test]
    fn empty_and_locked_fields() {
        let a = parse(None, Some(("/etc/shadow", "root::0:0:99999:7:::\nsvc:!$6$x$y:1::\n")));
        assert_eq!(a[0].password, Password::Empty);
        assert_eq!(a[1].password, Password::Locked);
    }

    #[test]
    fn master_passwd_fields() {
        let text =
            "root:$2b$08$Eoj2qF43EErrJix4Gtmuq..0FA8AFdqUUmjEqlWsUFzda8.n6OFgW:0:0::0:0:Charlie &:/root:/bin/csh\n";
        let a = parse_system(None, None, Some(("/etc/master.passwd", text)));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].uid, Some(0));
        assert_eq!(a[0].shell.as_deref(), Some("/bin/csh"));
        assert_eq!(a[0].password.kind(), Some(HashKind::Bcrypt));
    }

    #[test]
    fn htpasswd_plaintext_and_hashes() {
        let a = parse_user_hash(
            "/etc/lighttpd.user",
            "admin:admin\nweb:$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj1\n",
            true,
        );
        assert_eq!(a[0].password, Password::Plaintext("admin".into()));
        assert_eq!(a[1].password.kind(), Some(HashKind::Apr1));
        let m = parse_user_hash("/etc/mosquitto/pw", "u:notahash\n", false);
        assert_eq!(m[0].password.kind(), Some(HashKind::Unknown));
    }

    #[test]
    fn content_records_in_binary_have_offsets() {
        let mut data = b"\xfa\xaf\xbcjohndoe:$6$HcGU0JUp$LbTjc1Ai4TcTwZRi5sRyObUUHsRHtEj6YXTgduYpESFRYMZrfzZCspg2flG78QGwaqe8GSf8NLfE7tTVOUpSc1\xcc\xbb\xaamax:$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj1\xcf".to_vec();
        data.push(0);
        let a = scan_records("/x/passwd.bin", &data);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].user, "johndoe");
        assert_eq!(a[0].password_offset, Some(3));
        assert_eq!(a[0].password_line, None);
        assert_eq!(a[1].user, "max");
        assert_eq!(a[1].password.kind(), Some(HashKind::Apr1));
    }

    #[test]
    fn content_records_in_text_have_lines_and_skip_look_alikes() {
        let text = "user1:$.su.CHAR.SOMETEXT,regex\nroot:ST0P8z9dZb6Jg:17073:0:::::\nx:$n,shares\nnosalt:$1$$oCLuEVgI1iAqOA8pwkzAg1:1337:2:::::\nsvc:*:16980:0:99999:7:::\n";
        let a = scan_records("/data/passwd_test", text.as_bytes());
        let users: Vec<(&str, Option<usize>)> = a.iter().map(|a| (a.user.as_str(), a.password_line)).collect();
        assert_eq!(users, vec![("nosalt", Some(4)), ("root", Some(2)), ("svc", Some(5))]);
        assert_eq!(a[1].password.kind(), Some(HashKind::Des));
        assert_eq!(a[2].password, Password::Locked);
    }
}
