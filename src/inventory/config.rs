//! Key/value entries of configuration files: `nvram.default`, `default.cfg`,
//! `*.ini`, `*.conf`, OpenWrt UCI files, shell-style `KEY=value` files and
//! one-line JSON or XML fields.
//!
//! Only the syntax is read here; which keys hold passwords, Wi-Fi keys or
//! API secrets is decided by the checks.

use serde::Serialize;

/// One `key = value` entry with its location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KvEntry {
    pub key: String,
    pub value: String,
    /// 1-based line, in a text file.
    pub line: Option<usize>,
    /// Byte offset, where there are no lines (an NVRAM block).
    pub offset: Option<u64>,
    /// The `[section]` (INI) or `config <type> '<name>'` (UCI) it is in.
    pub section: Option<String>,
}

/// The entries of one configuration file, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Index into the inventory's files.
    pub file: usize,
    pub entries: Vec<KvEntry>,
    /// Set when the file was not analysed (then `entries` is empty): the
    /// `credentials` and `secrets` families report it as a coverage gap.
    pub unread: Option<Unread>,
}

/// Why a configuration file was not analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unread {
    #[error("{size} bytes, over the {cap} MiB cap for configuration files", cap = MAX_CONFIG >> 20)]
    TooLarge { size: usize },
    #[error(transparent)]
    NotText(#[from] super::text::NotText),
}

/// Parse every configuration file of every filesystem. A file that cannot
/// be read is kept with its reason, never dropped: over the size cap, or
/// binary although its name or place says it is configuration. Programs
/// (`/sbin/ifconfig`, `/usr/sbin/nvram`) and binary files matched by a
/// loose name only (`/www/default.png`) are not configuration.
pub fn discover(files: &[super::FileEntry]) -> Vec<ConfigFile> {
    files
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.origin, super::Origin::Filesystem(_)) && is_config_path(&f.path))
        .filter_map(|(i, f)| match read_file(f.data) {
            Ok(entries) => (!entries.is_empty()).then_some(ConfigFile {
                file: i,
                entries,
                unread: None,
            }),
            Err(_) if f.elf.is_some() => None,
            Err(Unread::NotText(_)) if !is_named_config(&f.path) => None,
            Err(Unread::TooLarge { .. }) if !is_named_config(&f.path) && !super::text::is_text(f.data) => None,
            Err(why) => Some(ConfigFile {
                file: i,
                entries: Vec::new(),
                unread: Some(why),
            }),
        })
        .collect()
}

/// Files larger than this are not parsed (a coverage gap): configuration
/// is small, and a larger file named like one is usually a data file.
const MAX_CONFIG: usize = 1 << 20;

/// Configuration extensions: a file with one is configuration by name.
const CONFIG_EXTENSIONS: &[&str] = &[
    "conf",
    "cfg",
    "ini",
    "config",
    "cnf",
    "properties",
    "env",
    "json",
    "xml",
    "yaml",
    "yml",
    "default",
];

fn name_and_ext(path: &str) -> (String, String) {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_string()).unwrap_or_default();
    (name, ext)
}

/// Whether `path` names a configuration file by its name or place.
pub fn is_config_path(path: &str) -> bool {
    let (name, _) = name_and_ext(path);
    // `_default`: Ralink/MediaTek SDKs ship their Wi-Fi and system defaults
    // as `key=value` text in files such as `RT2860_default_vlan`.
    is_named_config(path)
        || name.starts_with("default")
        || name.contains("_default")
        || name.contains("_cfg")
        || name.contains("config")
}

/// Whether `path` is certainly configuration: a configuration extension,
/// an NVRAM file, or an OpenWrt UCI file (which has no extension). A
/// binary file named so is a gap; one that [`is_config_path`] only
/// guesses at from a loose name is not.
pub fn is_named_config(path: &str) -> bool {
    let (name, ext) = name_and_ext(path);
    CONFIG_EXTENSIONS.contains(&ext.as_str()) || name.contains("nvram") || path.contains("/etc/config/")
}

/// Parse `data` if it is small enough and text in some encoding (see
/// [`super::text::decode`]).
pub fn read_file(data: &[u8]) -> Result<Vec<KvEntry>, Unread> {
    if data.len() > MAX_CONFIG {
        return Err(Unread::TooLarge { size: data.len() });
    }
    Ok(parse(&super::text::decode(data)?.text))
}

/// A configuration key: a letter or `_`, then letters, digits, `_`, `-`
/// and `.`, at most 96 characters.
pub(crate) fn is_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 96
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && s.bytes().next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
}

/// Remove one level of matching quotes, or for an unquoted value a trailing
/// ` # comment` and a JSON/line-end `,` or `;`.
fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(rest) = v.strip_prefix(q)
            && let Some(end) = rest.find(q)
        {
            return rest[..end].to_string();
        }
    }
    let v = match v.find(" #").or_else(|| v.find("\t#")) {
        Some(i) => &v[..i],
        None => v,
    };
    v.trim().trim_end_matches([',', ';']).trim().to_string()
}

/// Parse configuration text into entries, in file order.
pub fn parse(text: &str) -> Vec<KvEntry> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') || line.starts_with("//") {
            continue;
        }
        let n = i + 1;
        let mut push = |k: &str, v: &str, section: &Option<String>| {
            out.push(KvEntry {
                key: k.to_string(),
                value: unquote(v),
                line: Some(n),
                offset: None,
                section: section.clone(),
            });
        };
        // [section]
        if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = Some(s.trim().to_string());
            continue;
        }
        // UCI: config <type> ['name'] / option <key> '<value>' / list <key> '<value>'
        if let Some(rest) = line.strip_prefix("config ") {
            section = Some(rest.trim().to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("option ").or_else(|| line.strip_prefix("list ")) {
            if let Some((k, v)) = rest.trim().split_once(char::is_whitespace)
                && is_key(k)
            {
                push(k, v, &section);
            }
            continue;
        }
        // XML one-liner: <key>value</key>
        if let Some(rest) = line.strip_prefix('<')
            && let Some((k, after)) = rest.split_once('>')
            && is_key(k)
            && let Some(v) = after.strip_suffix(&format!("</{k}>"))
        {
            push(k, v, &section);
            continue;
        }
        // JSON one-liner: "key": "value",
        if let Some(rest) = line.strip_prefix('"')
            && let Some((k, after)) = rest.split_once('"')
            && is_key(k)
            && let Some(v) = after.trim_start().strip_prefix(':')
        {
            let v = v.trim();
            if v.starts_with('"') || v.trim_end_matches(',').parse::<f64>().is_ok() {
                push(k, v, &section);
            }
            continue;
        }
        // key=value, key = value, export KEY=value, key: value
        let body = line.strip_prefix("export ").unwrap_or(line);
        let sep = body.find(['=', ':']);
        if let Some(i) = sep {
            let k = body[..i].trim();
            if is_key(k) {
                push(k, &body[i + 1..], &section);
                continue;
            }
        }
        // key value (mosquitto.conf, hostapd-like, smb.conf-less formats)
        if let Some((k, v)) = body.split_once(char::is_whitespace)
            && is_key(k)
            && !v.trim().contains(char::is_whitespace)
        {
            push(k, v, &section);
        }
    }
    out
}

/// What a value stands for, which decides what counts as a placeholder in
/// it: `888888`, `0000` or `password` are dummies in an API token but real
/// factory logins of cameras and routers (Dahua ships `888888`/`666666`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueContext {
    /// Something a person types to log in or join: a password, a user
    /// name, a PIN, a Wi-Fi passphrase. Any text is a possible default
    /// here; only template syntax, masks and instructions are not.
    Login,
    /// A machine secret (token, API key, client secret), where a run of one
    /// character or a word such as `secret` is a dummy.
    Secret,
}

impl ValueContext {
    /// The context a configuration key gives its value: login words
    /// (`pass`, `pwd`, `psk`, `user`, `login`, `pin`…) make it
    /// [`ValueContext::Login`], anything else [`ValueContext::Secret`].
    pub fn of_key(key: &str) -> ValueContext {
        let k = key.to_ascii_lowercase();
        let part = ["pass", "pwd", "psk", "user", "login", "usr", "passphrase", "passwort"];
        let word = ["pw", "pin", "name", "account", "uname"];
        if part.iter().any(|w| k.contains(w))
            || k.split(|c: char| !c.is_ascii_alphabetic())
                .any(|seg| word.contains(&seg))
        {
            ValueContext::Login
        } else {
            ValueContext::Secret
        }
    }
}

/// Characters that fill a masked value (`********`, `xxxx`, `####`): a
/// run of one of them shows that a value was removed.
const MASK_CHARS: &[char] = &['*', 'x', 'X', '#', '?', '.', '-', '_', '•', '●'];

/// Whether `v` stands for "no value here" rather than being one: empty,
/// a variable or template (`$PASS`, `${pw}`, `{{ secret }}`, `%s`,
/// `@PASS@`, `<password>`), a mask (`********`, `xxxx`) or an instruction
/// (`your_password`). In a [`ValueContext::Secret`] context a run of any
/// one character (`0000…`) and words such as `secret` or `none` are
/// placeholders too; in a [`ValueContext::Login`] context they are not,
/// since devices ship exactly such passwords (see `docs/rules/credentials.md`
/// and the dictionary test below: no dictionary password is a placeholder).
///
/// `changeme` is deliberately not a placeholder: products ship it as a
/// working default (Elastic X-Pack 5.x built-in users, and it is in leaked
/// password lists), so a configuration that holds it is reported.
pub fn is_placeholder(v: &str, cx: ValueContext) -> bool {
    let t = v.trim();
    let l = t.to_ascii_lowercase();
    let Some(first) = l.chars().next() else {
        return true;
    };
    if is_template(t) {
        return true;
    }
    let all_same = l.chars().all(|c| c == first);
    let masked = MASK_CHARS.contains(&first) && (t.chars().count() > 1 || !first.is_alphanumeric());
    if all_same && masked {
        return true; // ****, xxxx
    }
    if matches!(
        l.as_str(),
        "your_password" | "yourpassword" | "your-password" | "your password" | "example"
    ) {
        return true;
    }
    cx == ValueContext::Secret
        && (all_same // 0000…, a dummy token
            || matches!(
                l.as_str(),
                "password"
                    | "passwd"
                    | "secret"
                    | "token"
                    | "none"
                    | "null"
                    | "nil"
                    | "undefined"
                    | "true"
                    | "false"
                    | "disabled"
                    | "enabled"
            ))
}

/// Whether a user and password only name their roles (`user:password`,
/// `username:pass`): the template of documentation and help pages such as
/// `rtsp://user:password@camera/`. A real default has a concrete half:
/// `admin:password` is a shipped login, and so is `user:user`.
pub fn is_role_template(user: &str, password: &str) -> bool {
    let user = user.trim().to_ascii_lowercase();
    let password = password.trim().to_ascii_lowercase();
    matches!(
        user.as_str(),
        "user" | "username" | "user_name" | "name" | "login" | "usr"
    ) && matches!(password.as_str(), "password" | "passwd" | "pass" | "pwd" | "secret")
}

/// Template and variable syntax standing in for a value filled in later:
/// `${…}`, `{{…}}`, `$NAME`, `%s`-style conversions, `%NAME%`, `@NAME@`,
/// `<…>`. A crypt hash (`$1$salt$…`) is not one: after its `$` come more
/// `$`s, which no variable name has.
fn is_template(t: &str) -> bool {
    if t.contains("${") || t.contains("{{") || t.contains("$(") {
        return true;
    }
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if let Some(rest) = t.strip_prefix('$')
        && ident(rest)
    {
        return true;
    }
    let enclosed = |open: char, close: char| {
        t.len() >= 3 && t.starts_with(open) && t.ends_with(close) && !t[1..t.len() - 1].contains([open, close])
    };
    if enclosed('<', '>') {
        return true;
    }
    for d in ['%', '@'] {
        if let Some(inner) = t.strip_prefix(d).and_then(|r| r.strip_suffix(d))
            && ident(inner)
        {
            return true;
        }
    }
    // printf conversions: `%s`, `%d`, `%08x`, `%.32s`.
    if let Some(rest) = t.strip_prefix('%') {
        let conv = rest.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | 'l'));
        return conv.len() == 1 && conv.chars().all(|c| "sdiuxXc".contains(c));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text).into_iter().map(|e| (e.key, e.value)).collect()
    }

    #[test]
    fn syntaxes() {
        let got = kv(concat!(
            "# comment\n",
            "http_username=admin\n",
            "http_passwd = \"s3cr3t\" \n",
            "[wifi]\n",
            "wpa_psk: 'hunter22'\n",
            "export API_TOKEN=abc # note\n",
            "config wifi-iface 'default'\n",
            "\toption key 'Passw0rd!'\n",
            "<password>pw123</password>\n",
            "  \"client_secret\": \"xyz\",\n",
            "password_file /etc/mosquitto/pw\n",
            "this is prose not config\n",
        ));
        let want: Vec<(String, String)> = [
            ("http_username", "admin"),
            ("http_passwd", "s3cr3t"),
            ("wpa_psk", "hunter22"),
            ("API_TOKEN", "abc"),
            ("key", "Passw0rd!"),
            ("password", "pw123"),
            ("client_secret", "xyz"),
            ("password_file", "/etc/mosquitto/pw"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
        let e = parse("[wifi]\nwpa_psk=x\n");
        assert_eq!(e[0].section.as_deref(), Some("wifi"));
        assert_eq!(e[0].line, Some(2));
    }

    #[test]
    fn config_paths() {
        for p in [
            "/etc/nvram.default",
            "/etc/default.cfg",
            "/etc/app.ini",
            "/etc/config/wireless",
            "/a/b.conf",
        ] {
            assert!(is_config_path(p), "{p}");
            assert!(is_named_config(p), "{p}");
        }
        // Matched by a loose name only: not reported when binary.
        assert!(is_config_path("/www/images/default.png") && !is_named_config("/www/images/default.png"));
        assert!(is_config_path("/etc_ro/Wireless/RT2860AP/RT2860_default_vlan"));
        for p in ["/bin/busybox", "/etc/passwd", "/www/index.html"] {
            assert!(!is_config_path(p), "{p}");
        }
    }

    #[test]
    fn placeholders_in_any_context() {
        for cx in [ValueContext::Login, ValueContext::Secret] {
            for v in [
                "",
                "  ",
                "$PASS",
                "${pw}",
                "$(cat /tmp/pw)",
                "%s",
                "%08x",
                "%PASSWORD%",
                "@ROOT_PASSWORD@",
                "<password>",
                "<your password here>",
                "********",
                "xxxx",
                "XXXXXXXX",
                "{{ secret }}",
                "your_password",
            ] {
                assert!(is_placeholder(v, cx), "{v} ({cx:?})");
            }
            for v in [
                "admin",
                "1234",
                "s3cr3t",
                "pw",
                "changeme",
                "$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3/",
                "%pw1",
            ] {
                assert!(!is_placeholder(v, cx), "{v} ({cx:?})");
            }
        }
    }

    #[test]
    fn camera_defaults_are_logins_not_placeholders() {
        for v in ["888888", "666666", "0000", "1111", "password", "none", "x"] {
            assert!(!is_placeholder(v, ValueContext::Login), "{v}");
        }
        // The same values in a token are dummies.
        for v in ["0000000000000000", "secret", "none"] {
            assert!(is_placeholder(v, ValueContext::Secret), "{v}");
        }
    }

    #[test]
    fn keys_give_their_values_a_context() {
        for k in [
            "http_passwd",
            "wl0_wpa_psk",
            "Password",
            "admin_user",
            "root_pw",
            "sim_pin",
            "login",
        ] {
            assert_eq!(ValueContext::of_key(k), ValueContext::Login, "{k}");
        }
        for k in [
            "api_token",
            "client_secret",
            "aws_secret_access_key",
            "mapping",
            "shipping",
        ] {
            assert_eq!(ValueContext::of_key(k), ValueContext::Secret, "{k}");
        }
    }
}
