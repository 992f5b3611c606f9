//! Find every account store in the unpacked firmware: the system account
//! files of each root filesystem, password files of any kind anywhere in a
//! tree, `authorized_keys`, configuration files with user/password keys,
//! and `user:hash` records inside any other file (text or binary).

use std::collections::BTreeSet;

use serde::Serialize;

use super::accounts::{self, Account, Password};
use super::config::{self, ConfigFile, KvEntry, ValueContext};
use super::keys::ssh::{self, AuthorizedKey};
use super::text::decode;
use super::{FileEntry, Origin};
use crate::unpack::tree::NodeKind;
use crate::unpack::{Chain, Filesystem, Unpacked};

/// What kind of file an account store was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StoreKind {
    /// `/etc/passwd` merged with `/etc/shadow` and `/etc/master.passwd` of
    /// one root filesystem.
    System,
    /// A passwd-format file elsewhere (BusyBox defaults, backups).
    Passwd,
    /// A shadow-format file elsewhere.
    Shadow,
    /// A BSD master.passwd elsewhere.
    MasterPasswd,
    /// Apache/lighttpd `user:hash` password file.
    Htpasswd,
    /// mosquitto password file.
    Mosquitto,
    /// OpenSSH/dropbear `authorized_keys`.
    AuthorizedKeys,
    /// User and password keys of a configuration file.
    ConfigKv,
    /// `user:hash` records found inside some other file.
    Embedded,
}

impl StoreKind {
    /// Whether the store describes login accounts of the system (so UID and
    /// shell facts mean something).
    pub fn is_system_like(self) -> bool {
        matches!(self, StoreKind::System | StoreKind::Passwd | StoreKind::MasterPasswd)
    }

    pub fn label(self) -> &'static str {
        match self {
            StoreKind::System => "system accounts",
            StoreKind::Passwd => "passwd file",
            StoreKind::Shadow => "shadow file",
            StoreKind::MasterPasswd => "master.passwd file",
            StoreKind::Htpasswd => "htpasswd file",
            StoreKind::Mosquitto => "mosquitto password file",
            StoreKind::AuthorizedKeys => "authorized_keys",
            StoreKind::ConfigKv => "configuration file",
            StoreKind::Embedded => "records inside a file",
        }
    }
}

/// Accounts (or authorized keys) read from one store.
#[derive(Debug, Clone)]
pub struct AccountStore {
    pub origin: Origin,
    pub container: Chain,
    pub kind: StoreKind,
    /// The store's file; for [`StoreKind::System`], the root prefix
    /// (`/` or a nested root such as `/rootfs-arm`).
    pub path: String,
    pub accounts: Vec<Account>,
    pub authorized_keys: Vec<AuthorizedKey>,
    /// Account files that exist only as links to paths the image does not
    /// contain (typically generated at boot into /tmp or /var).
    pub unresolved: Vec<String>,
    /// [`StoreKind::System`]: each account file (`<root>/etc/passwd`,
    /// `…/shadow`, `…/master.passwd`) and what the image holds for it, so
    /// that the checks can say why an account's password is unknown.
    pub files: Vec<(String, AccountFile)>,
    /// [`StoreKind::System`]: users who can log in (UID 0 or a login
    /// shell) and whose passwd entry defers the password to the shadow
    /// file (`root:x:…`).
    pub deferred: Vec<String>,
}

/// What a root filesystem holds at one account file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountFile {
    /// Nothing.
    Missing,
    /// A regular file (possibly reached through links), read.
    Read,
    /// A link to `target`; `resolved` when the image holds the file it
    /// leads to (which was then read).
    Link { target: String, resolved: bool },
    /// Something else (a directory, a device): not read.
    NotAFile,
}

impl AccountFile {
    /// Whether a link leads to storage that is only filled at run time
    /// (`/var`, `/tmp`, `/run`, `/dev/shm`, often a tmpfs): what the image
    /// holds there, if anything, is not what the device reads.
    pub fn is_runtime_link(&self) -> bool {
        let AccountFile::Link { target, .. } = self else {
            return false;
        };
        let t = target.trim_start_matches("../").trim_start_matches("./");
        let t = t.strip_prefix('/').unwrap_or(t);
        ["var/", "tmp/", "run/", "dev/shm/", "mnt/"]
            .iter()
            .any(|p| t.starts_with(p))
    }
}

impl AccountStore {
    fn new(origin: Origin, container: &Chain, kind: StoreKind, path: &str) -> Self {
        AccountStore {
            origin,
            container: container.clone(),
            kind,
            path: path.to_string(),
            accounts: Vec::new(),
            authorized_keys: Vec::new(),
            unresolved: Vec::new(),
            files: Vec::new(),
            deferred: Vec::new(),
        }
    }
}

/// Find every store. `files` is the inventory's file list.
pub fn discover(u: &Unpacked, files: &[FileEntry], configs: &[ConfigFile]) -> Vec<AccountStore> {
    let mut stores = Vec::new();
    // (filesystem, path) pairs a store has parsed completely.
    let mut claimed: BTreeSet<(usize, String)> = BTreeSet::new();
    for (i, f) in u.filesystems.iter().enumerate() {
        let mut prefixes = f.root_prefixes();
        if prefixes.is_empty()
            && ["/etc/passwd", "/etc/shadow", "/etc/master.passwd"]
                .iter()
                .any(|p| f.tree.get(p).is_some())
        {
            prefixes.push(String::new());
        }
        for p in prefixes {
            stores.push(system_store(i, f, &p, &mut claimed));
        }
    }
    let mosquitto = mosquitto_password_files(files, configs);
    let config_of = |i: usize| configs.iter().find(|c| c.file == i);
    for (fi, file) in files.iter().enumerate() {
        let claim_key = match file.origin {
            Origin::Filesystem(i) => Some((i, file.path.clone())),
            _ => None,
        };
        if let Some(k) = &claim_key
            && claimed.contains(k)
        {
            continue;
        }
        if !super::scanned_by_content(u, file) {
            continue;
        }
        let mut by_name = false;
        if let Origin::Filesystem(_) = file.origin {
            let kind = named_kind(
                &file.path,
                file.data,
                mosquitto.contains(&(file.origin, file.path.clone())),
            );
            if let Some(kind) = kind {
                let mut s = AccountStore::new(file.origin, &file.container, kind, &file.path);
                let text = decode(file.data)
                    .map(|d| d.text)
                    .unwrap_or_else(|_| String::from_utf8_lossy(file.data));
                match kind {
                    StoreKind::Passwd => s.accounts = accounts::parse_passwd(&file.path, &text),
                    StoreKind::Shadow => s.accounts = accounts::parse_shadow(&file.path, &text),
                    StoreKind::MasterPasswd => s.accounts = accounts::parse_master_passwd(&file.path, &text),
                    StoreKind::Htpasswd => s.accounts = accounts::parse_user_hash(&file.path, &text, true),
                    StoreKind::Mosquitto => s.accounts = accounts::parse_user_hash(&file.path, &text, false),
                    StoreKind::AuthorizedKeys => s.authorized_keys = ssh::parse_authorized_keys(&file.path, &text),
                    _ => {}
                }
                by_name = true;
                stores.push(s);
            }
        }
        // Configuration files, and NVRAM blocks in any file, payload or
        // unclaimed image region.
        if !by_name && let Some(cf) = config_of(fi) {
            let accounts = config_accounts(&file.path, &cf.entries);
            if !accounts.is_empty() {
                let mut s = AccountStore::new(file.origin, &file.container, StoreKind::ConfigKv, &file.path);
                s.accounts = accounts;
                stores.push(s);
            }
        }
        if !by_name {
            let accounts = accounts::scan_records(&file.path, file.data);
            if !accounts.is_empty() {
                let mut s = AccountStore::new(file.origin, &file.container, StoreKind::Embedded, &file.path);
                s.accounts = accounts;
                stores.push(s);
            }
        }
    }
    stores
}

/// Accounts of the root filesystem at `prefix` (empty for the tree's own root).
fn system_store(fs: usize, f: &Filesystem, prefix: &str, claimed: &mut BTreeSet<(usize, String)>) -> AccountStore {
    let mut s = AccountStore::new(
        Origin::Filesystem(fs),
        &f.chain,
        StoreKind::System,
        if prefix.is_empty() { "/" } else { prefix },
    );
    let mut read = |name: &'static str| -> Option<(String, String)> {
        let path = format!("{prefix}{name}");
        let Some(node) = f.tree.get(&path) else {
            s.files.push((path, AccountFile::Missing));
            return None;
        };
        let link = match &node.kind {
            NodeKind::Symlink(t) => Some(t.clone()),
            _ => None,
        };
        let found = f.tree.resolve_in(&path, prefix).and_then(|(real, n)| {
            claimed.insert((fs, real.to_string()));
            n.data()
                .map(|d| (real.to_string(), String::from_utf8_lossy(d).to_string()))
        });
        let state = match link {
            Some(target) => {
                if found.is_none() {
                    s.unresolved.push(path.clone());
                }
                AccountFile::Link {
                    target,
                    resolved: found.is_some(),
                }
            }
            None if found.is_some() => AccountFile::Read,
            None => AccountFile::NotAFile,
        };
        s.files.push((path, state));
        found
    };
    let passwd = read("/etc/passwd");
    let shadow = read("/etc/shadow");
    let master = read("/etc/master.passwd");
    fn pair(o: &Option<(String, String)>) -> Option<(&str, &str)> {
        o.as_ref().map(|(p, t)| (p.as_str(), t.as_str()))
    }
    s.accounts = accounts::parse_system(pair(&passwd), pair(&shadow), pair(&master));
    if let Some((path, text)) = &passwd {
        s.deferred = accounts::parse_passwd(path, text)
            .into_iter()
            .filter(|a| a.password == Password::Unresolved && (a.uid == Some(0) || a.has_login_shell()))
            .map(|a| a.user)
            .collect();
    }
    s
}

/// The store kind a file's name (and, for ambiguous names, its shape)
/// gives it.
///
/// Account files are small text, in any encoding [`decode`] reads (a
/// Latin-1 GECOS field does not make a passwd binary); anything else is
/// searched by content.
fn named_kind(path: &str, data: &[u8], mosquitto_ref: bool) -> Option<StoreKind> {
    kind_by_name(path, data, mosquitto_ref).filter(|_| data.len() <= 4 << 20 && decode(data).is_ok())
}

fn kind_by_name(path: &str, data: &[u8], mosquitto_ref: bool) -> Option<StoreKind> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name == "authorized_keys" || name == "authorized_keys2" {
        return Some(StoreKind::AuthorizedKeys);
    }
    if mosquitto_ref || (path.contains("mosquitto") && (name.contains("passw") || name.contains("pwfile"))) {
        return Some(StoreKind::Mosquitto);
    }
    match name {
        "shadow" | "shadow-" | "shadow.bak" => return Some(StoreKind::Shadow),
        "master.passwd" => return Some(StoreKind::MasterPasswd),
        "passwd" | "passwd-" | "passwd.bak" => return Some(shape(data)),
        _ => {}
    }
    let lower = name.to_ascii_lowercase();
    if lower.contains("htpasswd") || (lower.starts_with("lighttpd") && lower.ends_with(".user")) {
        return Some(StoreKind::Htpasswd);
    }
    if lower.ends_with(".passwd") || lower == ".passwd" {
        return Some(shape(data));
    }
    None
}

/// passwd (7 fields) or htpasswd (2 fields), by the first entry's shape.
fn shape(data: &[u8]) -> StoreKind {
    let text = String::from_utf8_lossy(data);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    if first.matches(':').count() >= 6 {
        StoreKind::Passwd
    } else {
        StoreKind::Htpasswd
    }
}

/// Files named by a `password_file` directive in a mosquitto configuration.
fn mosquitto_password_files(files: &[FileEntry], configs: &[ConfigFile]) -> BTreeSet<(Origin, String)> {
    let mut out = BTreeSet::new();
    for c in configs {
        let f = &files[c.file];
        if !f.path.contains("mosquitto") {
            continue;
        }
        for e in &c.entries {
            if e.key == "password_file" && e.value.starts_with('/') {
                out.insert((f.origin, e.value.clone()));
            }
        }
    }
    out
}

fn word_before(key: &str, words: &[&str]) -> Option<String> {
    let k = key.to_ascii_lowercase();
    for w in words {
        if let Some(prefix) = k.strip_suffix(w)
            && (prefix.is_empty() || prefix.ends_with(['_', '-', '.']) || prefix.ends_with(char::is_numeric))
        {
            return Some(prefix.to_string());
        }
    }
    None
}

fn is_wifi_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["wpa", "psk", "wifi", "wlan", "wep", "ssid", "wireless"]
        .iter()
        .any(|w| k.contains(w))
}

/// Configuration files whose `passwd`-like keys name databases or
/// policies, not passwords (`passwd: files` in nsswitch.conf).
const NOT_CREDENTIAL_FILES: &[&str] = &["/nsswitch.conf", "/login.defs", "/pam.conf", "/sshd_config"];

/// Values that switch a password feature rather than being a password.
fn is_setting_word(v: &str) -> bool {
    v.len() < 2
        || matches!(
            v.to_ascii_lowercase().as_str(),
            "yes" | "no" | "on" | "off" | "required" | "optional" | "files" | "compat" | "shadow" | "md5" | "sha512"
        )
}

const PASSWORD_WORDS: &[&str] = &["password", "passwd", "pass", "pwd", "passwort", "pw"];
const USER_WORDS: &[&str] = &["username", "user", "login", "account", "name", "usr", "uname"];

/// Plaintext (or hashed) passwords of a configuration file, each paired
/// with the user key that shares its prefix (`http_username` with
/// `http_passwd`) in the same section.
fn config_accounts(path: &str, entries: &[KvEntry]) -> Vec<Account> {
    let mut out = Vec::new();
    if NOT_CREDENTIAL_FILES.iter().any(|n| path.ends_with(n)) {
        return out;
    }
    for e in entries {
        let Some(prefix) = word_before(&e.key, PASSWORD_WORDS) else {
            continue;
        };
        if is_wifi_key(&e.key) {
            continue; // Wi-Fi keys are secrets rules' business (FW-SECRET-013)
        }
        if config::is_placeholder(&e.value, ValueContext::Login)
            || e.value.starts_with('/')
            || is_setting_word(&e.value)
        {
            continue;
        }
        let user = entries
            .iter()
            .filter(|u| u.section == e.section && (u.line, u.offset) != (e.line, e.offset))
            .find(|u| word_before(&u.key, USER_WORDS).as_deref() == Some(prefix.as_str()))
            .map(|u| u.value.clone())
            .filter(|v| !v.is_empty() && !config::is_placeholder(v, ValueContext::Login));
        if user.as_deref().is_some_and(|u| config::is_role_template(u, &e.value)) {
            continue;
        }
        let password = match accounts::HashKind::of(&e.value) {
            accounts::HashKind::Unknown => Password::Plaintext(e.value.clone()),
            _ => Password::Hash(e.value.clone()),
        };
        out.push(Account {
            user: user.unwrap_or_default(),
            uid: None,
            gid: None,
            home: None,
            shell: None,
            password,
            password_file: path.to_string(),
            password_line: e.line,
            password_offset: e.offset,
            key: Some(e.key.clone()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_pairs_users_with_passwords() {
        let e = config::parse(
            "http_username=admin\nhttp_passwd=admin123\nwl0_wpa_psk=x\nftp_pass=\nroot_pw=$PW\nsmb_user=guest\nsmb_password=guest1\n",
        );
        let a = config_accounts("/etc/nvram.default", &e);
        let got: Vec<(&str, &str, Option<usize>)> = a
            .iter()
            .map(|a| {
                let Password::Plaintext(p) = &a.password else { panic!() };
                (a.user.as_str(), p.as_str(), a.password_line)
            })
            .collect();
        assert_eq!(got, vec![("admin", "admin123", Some(2)), ("guest", "guest1", Some(7))]);
        assert_eq!(a[0].key.as_deref(), Some("http_passwd"));
        let ns = config::parse("passwd: compat\nshadow: files\n");
        assert!(config_accounts("/etc/nsswitch.conf", &ns).is_empty());
        assert!(config_accounts("/etc/x.conf", &config::parse("use_password=yes\n")).is_empty());
    }

    #[test]
    fn camera_defaults_in_configs_are_passwords_and_masks_are_not() {
        let e = config::parse(concat!(
            "[dahua]\nusername=888888\npassword=888888\n",
            "[pin]\nuser=admin\npass=0000\n",
            "[masked]\nuser=admin\npass=********\n",
            "[tmpl]\nuser=admin\npass=${ADMIN_PW}\n",
            "[hashed]\nuser=root\npass=$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3/\n",
        ));
        let got: Vec<(String, Password)> = config_accounts("/etc/default.cfg", &e)
            .into_iter()
            .map(|a| (a.user, a.password))
            .collect();
        assert_eq!(
            got,
            vec![
                ("888888".to_string(), Password::Plaintext("888888".into())),
                ("admin".to_string(), Password::Plaintext("0000".into())),
                (
                    "root".to_string(),
                    Password::Hash("$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3/".into())
                ),
            ]
        );
    }

    #[test]
    fn names_and_shapes() {
        let p = b"root:x:0:0:root:/root:/bin/sh\n";
        assert_eq!(named_kind("/etc/default/passwd", p, false), Some(StoreKind::Passwd));
        assert_eq!(named_kind("/www/.htpasswd", b"a:b\n", false), Some(StoreKind::Htpasswd));
        assert_eq!(
            named_kind("/etc/boa/boa.passwd", b"a:b\n", false),
            Some(StoreKind::Htpasswd)
        );
        assert_eq!(
            named_kind("/etc/mosquitto/passwd", b"a:b\n", false),
            Some(StoreKind::Mosquitto)
        );
        assert_eq!(named_kind("/data/pw", b"a:b\n", true), Some(StoreKind::Mosquitto));
        assert_eq!(
            named_kind("/root/.ssh/authorized_keys", b"", false),
            Some(StoreKind::AuthorizedKeys)
        );
        assert_eq!(named_kind("/usr/bin/passwd", b"\x7fELF\0\0", false), None);
        assert_eq!(named_kind("/data/passwd_test", p, false), None);
    }
}
