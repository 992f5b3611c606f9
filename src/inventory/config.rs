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

/// The entries of one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// Index into the inventory's files.
    pub file: usize,
    pub entries: Vec<KvEntry>,
}

/// Parse every configuration file of every filesystem.
pub fn discover(files: &[super::FileEntry]) -> Vec<ConfigFile> {
    files
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.origin, super::Origin::Filesystem(_)) && is_config_path(&f.path))
        .filter_map(|(i, f)| {
            let entries = parse_file(f.data)?;
            (!entries.is_empty()).then_some(ConfigFile { file: i, entries })
        })
        .collect()
}

/// Files larger than this are not treated as configuration.
const MAX_CONFIG: usize = 1 << 20;

/// Whether `path` names a configuration file by its name or place.
pub fn is_config_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    if matches!(
        ext,
        "conf" | "cfg" | "ini" | "config" | "cnf" | "properties" | "env" | "json" | "xml" | "yaml" | "yml" | "default"
    ) {
        return true;
    }
    if name.contains("nvram") || name.starts_with("default") || name.contains("_cfg") || name.contains("config") {
        return true;
    }
    // OpenWrt UCI files have no extension.
    path.contains("/etc/config/")
}

/// Parse `text` if it is small enough; `None` for anything that is not text.
pub fn parse_file(data: &[u8]) -> Option<Vec<KvEntry>> {
    if data.len() > MAX_CONFIG || !super::text::is_text(data) {
        return None;
    }
    Some(parse(&String::from_utf8_lossy(data)))
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

/// Values that stand for "no secret here": empty, variables, templates,
/// masks and the word itself.
pub fn is_placeholder(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    let Some(&first) = l.as_bytes().first() else {
        return true;
    };
    if matches!(first, b'$' | b'%' | b'<' | b'@') || l.contains("{{") || l.contains("${") {
        return true;
    }
    let b = l.as_bytes();
    if b.iter().all(|c| *c == b[0]) {
        return true; // ****, xxxx, 0000
    }
    matches!(
        l.as_str(),
        "password"
            | "passwd"
            | "secret"
            | "token"
            | "none"
            | "null"
            | "nil"
            | "undefined"
            | "your_password"
            | "yourpassword"
            | "your-password"
            | "example"
            | "true"
            | "false"
            | "disabled"
            | "enabled"
    )
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
        }
        for p in ["/bin/busybox", "/etc/passwd", "/www/index.html"] {
            assert!(!is_config_path(p), "{p}");
        }
    }

    #[test]
    fn placeholders() {
        for v in [
            "",
            "$PASS",
            "${pw}",
            "%s",
            "<password>",
            "********",
            "password",
            "{{ secret }}",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in ["admin", "1234", "s3cr3t", "pw"] {
            assert!(!is_placeholder(v), "{v}");
        }
    }
}
