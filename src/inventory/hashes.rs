//! Password hash formats: identify a stored password field and, for content
//! scanning, tell a real hash from text that merely starts like one.
//!
//! Identification is strict on purpose. A `$1$` hash is a salt of at most
//! eight crypt-base64 characters and exactly 22 checksum characters; text
//! such as `$.su.CHAR` or `$scope.hasSwitch` (web code that happens to follow
//! `user:`) is not a hash and must never become a "credential". Formats and
//! lengths are from the crypt(3) specifications (glibc, Openwall, Apache
//! `htpasswd`, mosquitto `mosquitto_passwd`, RFC 2307 `{SHA}`).

use serde::Serialize;

/// The algorithm behind a stored password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HashKind {
    /// Traditional DES crypt: 2 salt + 11 hash characters.
    Des,
    /// `$1$`: Poul-Henning Kamp's MD5-crypt.
    Md5Crypt,
    /// `$apr1$`: Apache's MD5-crypt variant (same algorithm, other magic).
    Apr1,
    /// `$5$`: SHA-256-crypt.
    Sha256Crypt,
    /// `$6$` with crypt-base64 fields: SHA-512-crypt.
    Sha512Crypt,
    /// `$2a$`, `$2b$`, `$2x$`, `$2y$`: bcrypt.
    Bcrypt,
    /// `$y$`: yescrypt (identified, not cracked).
    Yescrypt,
    /// `{SHA}`: one unsalted SHA-1, base64 (RFC 2307, Apache `htpasswd -s`).
    LdapSha,
    /// `{SSHA}`: one salted SHA-1, base64 of digest and salt.
    LdapSsha,
    /// mosquitto `$6$`: one SHA-512 over password and salt, standard base64.
    MosquittoSha512,
    /// mosquitto `$7$`: PBKDF2-HMAC-SHA512 with an iteration count.
    MosquittoPbkdf2,
    /// The password itself, stored in the clear.
    Plaintext,
    Unknown,
}

impl HashKind {
    /// Identify a password field from a named account store. Anything that
    /// does not validate as a known format is `Unknown` (never guessed).
    pub fn of(hash: &str) -> HashKind {
        match identify(hash.as_bytes()) {
            Some((kind, len)) if len == hash.len() => kind,
            _ if is_des(hash.as_bytes()) => HashKind::Des,
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
            HashKind::LdapSha => "{SHA} unsalted SHA-1",
            HashKind::LdapSsha => "{SSHA} salted SHA-1",
            HashKind::MosquittoSha512 => "mosquitto SHA-512",
            HashKind::MosquittoPbkdf2 => "mosquitto PBKDF2-SHA512",
            HashKind::Plaintext => "plaintext",
            HashKind::Unknown => "unknown hash",
        }
    }

    /// Hashes too fast or too short to protect a password today: DES and
    /// MD5 based crypt, and single-round SHA digests.
    pub fn is_weak(self) -> bool {
        matches!(
            self,
            HashKind::Des
                | HashKind::Md5Crypt
                | HashKind::Apr1
                | HashKind::LdapSha
                | HashKind::LdapSsha
                | HashKind::MosquittoSha512
        )
    }
}

/// The crypt(3) base64 alphabet (`./0-9A-Za-z`), also bcrypt's.
pub fn is_crypt64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'.' || c == b'/'
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// `n` characters of standard base64 with its `=` padding, as a whole.
fn is_padded_b64(s: &[u8]) -> bool {
    if s.is_empty() || !s.len().is_multiple_of(4) {
        return false;
    }
    let body = s.iter().take_while(|c| is_b64(**c)).count();
    let pad = s.len() - body;
    pad <= 2 && s[body..].iter().all(|c| *c == b'=')
}

fn is_des(s: &[u8]) -> bool {
    s.len() == 13 && s.iter().all(|c| is_crypt64(*c))
}

/// The field up to the next `$` (or the end), and whether a `$` followed.
fn field(s: &[u8]) -> (&[u8], bool) {
    match s.iter().position(|c| *c == b'$') {
        Some(i) => (&s[..i], true),
        None => (s, false),
    }
}

/// Count leading bytes accepted by `ok`.
fn run(s: &[u8], ok: impl Fn(u8) -> bool) -> usize {
    s.iter().take_while(|c| ok(**c)).count()
}

/// `<salt>$<checksum>` for the crypt family: salt of `max_salt` crypt64
/// characters at most, checksum of exactly `sum` characters. Returns the
/// consumed length.
fn salt_and_sum(s: &[u8], max_salt: usize, sum: usize) -> Option<usize> {
    let (salt, dollar) = field(s);
    if !dollar || salt.len() > max_salt || !salt.iter().all(|c| is_crypt64(*c)) {
        return None;
    }
    let rest = &s[salt.len() + 1..];
    (run(rest, is_crypt64) == sum).then_some(salt.len() + 1 + sum)
}

/// Recognise a `$`- or `{`-prefixed hash at the start of `s`. Returns the
/// kind and its exact length; the caller checks what follows. DES is not
/// recognised here: thirteen letters are too common to find by content.
pub fn identify(s: &[u8]) -> Option<(HashKind, usize)> {
    let after = |p: &[u8]| s.strip_prefix(p);
    if let Some(r) = after(b"$1$") {
        return salt_and_sum(r, 8, 22).map(|n| (HashKind::Md5Crypt, 3 + n));
    }
    if let Some(r) = after(b"$apr1$") {
        return salt_and_sum(r, 8, 22).map(|n| (HashKind::Apr1, 6 + n));
    }
    if let Some(r) = after(b"$5$") {
        let (r, pre) = rounds(r);
        return salt_and_sum(r, 16, 43).map(|n| (HashKind::Sha256Crypt, 3 + pre + n));
    }
    if let Some(r) = after(b"$6$") {
        let (r2, pre) = rounds(r);
        if let Some(n) = salt_and_sum(r2, 16, 86) {
            return Some((HashKind::Sha512Crypt, 3 + pre + n));
        }
        return mosquitto_fields(r, 88).map(|n| (HashKind::MosquittoSha512, 3 + n));
    }
    if let Some(r) = after(b"$7$") {
        let digits = run(r, |c| c.is_ascii_digit());
        if digits == 0 || digits > 9 || r.get(digits) != Some(&b'$') {
            return None;
        }
        return mosquitto_fields(&r[digits + 1..], 88).map(|n| (HashKind::MosquittoPbkdf2, 3 + digits + 1 + n));
    }
    if s.len() >= 7 && s[0] == b'$' && s[1] == b'2' && matches!(s[2], b'a' | b'b' | b'x' | b'y') && s[3] == b'$' {
        let cost = &s[4..6];
        if !cost.iter().all(u8::is_ascii_digit) || s[6] != b'$' {
            return None;
        }
        let c = (cost[0] - b'0') * 10 + (cost[1] - b'0');
        if !(4..=31).contains(&c) {
            return None;
        }
        return (run(&s[7..], is_crypt64) == 53).then_some((HashKind::Bcrypt, 7 + 53));
    }
    if let Some(r) = after(b"$y$") {
        let (params, d1) = field(r);
        if !d1 || params.is_empty() || !params.iter().all(|c| is_crypt64(*c)) {
            return None;
        }
        let r2 = &r[params.len() + 1..];
        return salt_and_sum(r2, 86, 43).map(|n| (HashKind::Yescrypt, 3 + params.len() + 1 + n));
    }
    if let Some(r) = after(b"{SHA}") {
        let n = run(r, |c| is_b64(c) || c == b'=');
        return (n == 28 && is_padded_b64(&r[..28])).then_some((HashKind::LdapSha, 5 + 28));
    }
    if let Some(r) = after(b"{SSHA}") {
        let n = run(r, |c| is_b64(c) || c == b'=');
        // A 20-byte digest plus at least a 4-byte salt.
        return ((32..=128).contains(&n) && is_padded_b64(&r[..n])).then_some((HashKind::LdapSsha, 6 + n));
    }
    None
}

/// An optional `rounds=N$` prefix of SHA-crypt; returns the rest and the
/// prefix length.
fn rounds(r: &[u8]) -> (&[u8], usize) {
    if let Some(x) = r.strip_prefix(b"rounds=") {
        let d = run(x, |c| c.is_ascii_digit());
        if d > 0 && d <= 9 && x.get(d) == Some(&b'$') {
            let n = 7 + d + 1;
            return (&r[n..], n);
        }
    }
    (r, 0)
}

/// mosquitto's `<base64 salt>$<base64 digest>`, digest `sum` characters.
fn mosquitto_fields(r: &[u8], sum: usize) -> Option<usize> {
    let (salt, dollar) = field(r);
    if !dollar || !is_padded_b64(salt) || salt.len() > 64 {
        return None;
    }
    let rest = &r[salt.len() + 1..];
    let n = run(rest, |c| is_b64(c) || c == b'=');
    (n == sum && is_padded_b64(&rest[..n])).then_some(salt.len() + 1 + sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_well_formed_hashes() {
        let cases = [
            ("abJnggxhB/yWI", HashKind::Des),
            ("$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3/", HashKind::Md5Crypt),
            ("$1$$oCLuEVgI1iAqOA8pwkzAg1", HashKind::Md5Crypt),
            ("$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj1", HashKind::Apr1),
            (
                "$5$fwcert256$J8.5blzfZwfiAuLuN6aNB1tduYS.6ihhxtlGppkIdE0",
                HashKind::Sha256Crypt,
            ),
            (
                "$6$HcGU0JUp$LbTjc1Ai4TcTwZRi5sRyObUUHsRHtEj6YXTgduYpESFRYMZrfzZCspg2flG78QGwaqe8GSf8NLfE7tTVOUpSc1",
                HashKind::Sha512Crypt,
            ),
            (
                "$6$AQIDBAUG$LJOy7+x1cwKlJ74yCwBak1Vn83DyaKE5NvpC7zMcxwNux1pl+BEs5RH/YIjJKm/hOE+9D3CpvHrEGqYQM4SqjA==",
                HashKind::MosquittoSha512,
            ),
            (
                "$2y$05$Eoj2qF43EErrJix4Gtmuq..0FA8AFdqUUmjEqlWsUFzda8.n6OFgW",
                HashKind::Bcrypt,
            ),
            (
                "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
                HashKind::Yescrypt,
            ),
            ("{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc=", HashKind::LdapSha),
        ];
        for (h, k) in cases {
            assert_eq!(HashKind::of(h), k, "{h}");
            // A hash cut short is never taken for a whole one.
            for cut in 0..h.len() {
                if let Some((_, len)) = identify(&h.as_bytes()[..cut]) {
                    assert!(len <= cut, "{h} cut at {cut}");
                }
                assert_ne!(HashKind::of(&h[..cut]), k, "{h} cut at {cut}");
            }
        }
    }

    #[test]
    fn look_alikes_are_not_hashes() {
        for h in [
            "$.su.CHAR.SOMETEXT.FOO_BAR_FOOBAR,regex",
            "$.su.encrypt,encryptParam",
            "$(this).prev().hide();$(this).show()",
            "$MNTPATH\"",
            "$n,shares",
            "$scope.hasSwitch==\"false\"?false",
            "$1$toolongsalt$DlSyKvZKMR9A9Uj9e9wR3/",
            "$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3",
            "$2y$99$Eoj2qF43EErrJix4Gtmuq..0FA8AFdqUUmjEqlWsUFzda8.n6OFgW",
            "{SHA}notbase64!",
            "garbage",
        ] {
            assert_eq!(identify(h.as_bytes()), None, "{h}");
            assert_eq!(HashKind::of(h), HashKind::Unknown, "{h}");
        }
    }

    #[test]
    fn identify_reports_exact_length_inside_longer_text() {
        let s = b"$apr1$nMebU24m$ofpVAehRJU5Jq8KUcsVYj1\xcf\xfc";
        assert_eq!(identify(s), Some((HashKind::Apr1, 37)));
        // A checksum one character too long is not a hash.
        assert_eq!(identify(b"$1$GTN.gpri$DlSyKvZKMR9A9Uj9e9wR3/x"), None);
    }

    #[test]
    fn weak_kinds() {
        assert!(HashKind::Des.is_weak() && HashKind::LdapSha.is_weak() && HashKind::Apr1.is_weak());
        assert!(!HashKind::Sha512Crypt.is_weak() && !HashKind::Bcrypt.is_weak());
    }
}
