//! Accounts from `/etc/passwd` and `/etc/shadow`.
//!
//! Both files are parsed leniently (firmware ships odd ones) but never
//! guessed at: a line that does not have the fields it needs is skipped, and
//! each account remembers the file and line its password came from.

use serde::Serialize;

/// The algorithm behind a crypt(3)-style hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashKind {
    Des,
    Md5Crypt,
    Apr1,
    Sha256Crypt,
    Sha512Crypt,
    Bcrypt,
    Yescrypt,
    Unknown,
}

impl HashKind {
    pub fn of(hash: &str) -> HashKind {
        let b = hash.as_bytes();
        match hash {
            h if h.starts_with("$1$") => HashKind::Md5Crypt,
            h if h.starts_with("$apr1$") => HashKind::Apr1,
            h if h.starts_with("$5$") => HashKind::Sha256Crypt,
            h if h.starts_with("$6$") => HashKind::Sha512Crypt,
            h if h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$") => HashKind::Bcrypt,
            h if h.starts_with("$y$") => HashKind::Yescrypt,
            _ if b.len() == 13 && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/') => {
                HashKind::Des
            }
            _ => HashKind::Unknown,
        }
    }

    /// Names as reports show them.
    pub fn label(self) -> &'static str {
        match self {
            HashKind::Des => "DES crypt",
            HashKind::Md5Crypt => "MD5-crypt",
            HashKind::Apr1 => "Apache APR1-MD5",
            HashKind::Sha256Crypt => "SHA-256-crypt",
            HashKind::Sha512Crypt => "SHA-512-crypt",
            HashKind::Bcrypt => "bcrypt",
            HashKind::Yescrypt => "yescrypt",
            HashKind::Unknown => "unknown hash",
        }
    }

    /// Hashes too fast or too short to protect a password today.
    pub fn is_weak(self) -> bool {
        matches!(self, HashKind::Des | HashKind::Md5Crypt | HashKind::Apr1)
    }
}

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
    /// 1-based line of the password field in that file.
    pub password_line: usize,
}

impl Account {
    /// Whether the shell allows an interactive login.
    pub fn has_login_shell(&self) -> bool {
        match self.shell.as_deref() {
            None | Some("") => true, // an empty shell field means /bin/sh
            Some(s) => !(s.ends_with("nologin") || s.ends_with("/false") || s == "/bin/sync" || s.ends_with("/true")),
        }
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

/// Merge `passwd` and `shadow` contents (either may be absent) into accounts,
/// sorted by user name.
pub fn parse(passwd: Option<(&str, &str)>, shadow: Option<(&str, &str)>) -> Vec<Account> {
    let mut accounts: Vec<Account> = Vec::new();
    if let Some((path, text)) = passwd {
        for (n, line) in lines(text) {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 2 || f[0].is_empty() {
                continue;
            }
            accounts.push(Account {
                user: f[0].to_string(),
                uid: f.get(2).and_then(|v| v.trim().parse().ok()),
                gid: f.get(3).and_then(|v| v.trim().parse().ok()),
                home: f.get(5).map(|s| s.to_string()),
                shell: f.get(6).map(|s| s.to_string()),
                password: password_field(f[1]),
                password_file: path.to_string(),
                password_line: n,
            });
        }
    }
    if let Some((path, text)) = shadow {
        for (n, line) in lines(text) {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 2 || f[0].is_empty() {
                continue;
            }
            let pw = password_field(f[1]);
            match accounts.iter_mut().find(|a| a.user == f[0]) {
                // passwd defers to shadow with `x` (BusyBox also with `*`).
                Some(a) => {
                    if matches!(a.password, Password::Unresolved | Password::Locked) {
                        a.password = pw;
                        a.password_file = path.to_string();
                        a.password_line = n;
                    }
                }
                None => accounts.push(Account {
                    user: f[0].to_string(),
                    uid: None,
                    gid: None,
                    home: None,
                    shell: None,
                    password: pw,
                    password_file: path.to_string(),
                    password_line: n,
                }),
            }
        }
    }
    accounts.sort_by(|a, b| a.user.cmp(&b.user).then(a.password_line.cmp(&b.password_line)));
    accounts
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
        assert_eq!(root.password_line, 1);
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
    fn hash_kinds() {
        assert_eq!(HashKind::of("abJnggxhB/yWI"), HashKind::Des);
        assert_eq!(HashKind::of("$6$salt$hash"), HashKind::Sha512Crypt);
        assert_eq!(HashKind::of("$2y$10$abc"), HashKind::Bcrypt);
        assert_eq!(HashKind::of("$y$j9T$abc"), HashKind::Yescrypt);
        assert_eq!(HashKind::of("garbage"), HashKind::Unknown);
    }
}
