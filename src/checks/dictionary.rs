//! The shipped dictionary: known default and leaked IoT credentials,
//! `checks/credentials/default-credentials.toml`, then a public
//! common-password list, `checks/credentials/common-passwords.toml`, tried
//! in its own order after every IoT default. Every entry names its sources;
//! the loader refuses an entry whose source is not declared, a declared
//! source that nothing cites, and a test corpus as a source (a corpus's
//! expected answer proves nothing about a tool tuned to it).

use std::collections::{BTreeSet, HashSet};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dictionary {
    pub dictionary: Meta,
    #[serde(rename = "source")]
    pub sources: Vec<Source>,
    #[serde(rename = "credential", default)]
    pub credentials: Vec<Credential>,
    #[serde(rename = "password", default)]
    pub passwords: Vec<PasswordOnly>,
    /// The common-password list (`common-passwords.toml`), set by
    /// [`Dictionary::with_common`].
    #[serde(skip)]
    pub common: CommonList,
    /// The IoT default passwords that the common list also holds.
    #[serde(skip)]
    also_common: HashSet<String>,
    /// Indices of the common list's passwords that are not IoT defaults, in
    /// the list's order.
    #[serde(skip)]
    common_only: Vec<usize>,
}

/// A public common-password list, kept in its source's order (most common
/// first) and transcribed verbatim.
#[derive(Debug, Clone, Default)]
pub struct CommonList {
    /// The source id its candidates cite.
    pub id: String,
    pub title: String,
    /// `owner/repo @ commit : path`.
    pub reference: String,
    /// Where the list itself comes from (the leak or data set).
    pub origin: String,
    pub licence: String,
    pub kind: String,
    pub passwords: Vec<String>,
}

/// `common-passwords.toml`: the source file's whole text is one TOML
/// multi-line literal string, so that it stays byte for byte the source's.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonFile {
    list: RawList,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    id: String,
    title: String,
    reference: String,
    origin: String,
    licence: String,
    kind: String,
    /// How many passwords (lines) the source file holds...
    entries: usize,
    /// ...and its size in characters: a check that the transcription is whole.
    source_chars: usize,
    /// The source file's text, one password a line.
    passwords: String,
}

impl CommonList {
    pub fn parse(text: &str) -> Result<Self, String> {
        let l = crate::rules::from_toml::<CommonFile>(text)
            .map_err(|e| e.to_string())?
            .list;
        if l.id.is_empty() || l.reference.is_empty() || l.licence.is_empty() {
            return Err("the common-password list needs an id, a reference and a licence".into());
        }
        let chars = l.passwords.chars().count();
        if chars != l.source_chars {
            return Err(format!(
                "the common-password list is {chars} characters long, its source {}",
                l.source_chars
            ));
        }
        let Some(body) = l.passwords.strip_suffix('\n') else {
            return Err("the common-password list must end with a newline".into());
        };
        let passwords: Vec<String> = body.split('\n').map(str::to_string).collect();
        if passwords.len() != l.entries {
            return Err(format!(
                "the common-password list holds {} passwords, its source {}",
                passwords.len(),
                l.entries
            ));
        }
        if passwords.iter().any(|p| p.is_empty() || p.contains('\r')) {
            return Err("the common-password list has an empty line or a carriage return".into());
        }
        Ok(CommonList {
            id: l.id,
            title: l.title,
            reference: l.reference,
            origin: l.origin,
            licence: l.licence,
            kind: l.kind,
            passwords,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    pub version: String,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: String,
    pub title: String,
    pub reference: String,
    pub kind: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub user: String,
    pub password: String,
    pub sources: Vec<String>,
    #[serde(default)]
    pub vendor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordOnly {
    pub password: String,
    pub sources: Vec<String>,
}

/// A password to try, with where it is known from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<'d> {
    pub password: &'d str,
    pub sources: Vec<&'d str>,
    /// Set when the dictionary pairs this password with the account's user.
    pub paired_with_user: bool,
}

impl Dictionary {
    pub fn parse(text: &str) -> Result<Self, String> {
        let d: Dictionary = crate::rules::from_toml(text).map_err(|e| e.to_string())?;
        let known: BTreeSet<&str> = d.sources.iter().map(|s| s.id.as_str()).collect();
        let cited = d
            .credentials
            .iter()
            .flat_map(|c| &c.sources)
            .chain(d.passwords.iter().flat_map(|p| &p.sources));
        let mut used = BTreeSet::new();
        for s in cited {
            if !known.contains(s.as_str()) {
                return Err(format!("entry cites undeclared source `{s}`"));
            }
            used.insert(s.as_str());
        }
        for s in &d.sources {
            if !used.contains(s.id.as_str()) {
                return Err(format!("source `{}` is cited by no entry", s.id));
            }
            check_not_a_corpus(&s.id, &s.kind, &s.reference)?;
        }
        Ok(d)
    }

    /// Add the common-password list, tried after every IoT default.
    pub fn with_common(mut self, common: CommonList) -> Result<Self, String> {
        if self.sources.iter().any(|s| s.id == common.id) {
            return Err(format!("source id `{}` is declared twice", common.id));
        }
        check_not_a_corpus(&common.id, &common.kind, &common.reference)?;
        // Few IoT passwords: a sorted list is cheaper to search than hashing
        // every one of the common list's.
        let mut iot: Vec<&str> = self
            .credentials
            .iter()
            .map(|c| c.password.as_str())
            .chain(self.passwords.iter().map(|p| p.password.as_str()))
            .collect();
        iot.sort_unstable();
        iot.dedup();
        let mut also = HashSet::new();
        let mut only = Vec::with_capacity(common.passwords.len());
        for (i, p) in common.passwords.iter().enumerate() {
            if iot.binary_search(&p.as_str()).is_ok() {
                also.insert(p.clone());
            } else {
                only.push(i);
            }
        }
        self.also_common = also;
        self.common_only = only;
        self.common = common;
        Ok(self)
    }

    /// Every password the dictionary holds, each once: the IoT defaults'
    /// and the common list's.
    pub fn password_count(&self) -> usize {
        let mut all: HashSet<&str> = self.common.passwords.iter().map(String::as_str).collect();
        all.extend(self.credentials.iter().map(|c| c.password.as_str()));
        all.extend(self.passwords.iter().map(|p| p.password.as_str()));
        all.len()
    }

    /// Passwords to try for `user`, most likely first: pairs for this user,
    /// then every other IoT default password once, then the common list in
    /// its order. Deterministic order.
    pub fn candidates_for(&self, user: &str) -> Vec<Candidate<'_>> {
        self.candidates_for_users(&[user])
    }

    /// Passwords to try for a hash that `users` share: the pairs for any of
    /// them first (in the order given), then as [`Dictionary::candidates_for`].
    /// No user names means accounts without one (pairs for the blank user).
    pub fn candidates_for_users(&self, users: &[&str]) -> Vec<Candidate<'_>> {
        let users: &[&str] = if users.is_empty() { &[""] } else { users };
        let mut out: Vec<Candidate> = Vec::with_capacity(self.credentials.len() + self.common.passwords.len());
        let mut seen = HashSet::new();
        for user in users {
            for c in self.credentials.iter().filter(|c| c.user == *user) {
                if seen.insert(c.password.as_str()) {
                    out.push(Candidate {
                        password: &c.password,
                        sources: self.cite(&c.password, &c.sources),
                        paired_with_user: true,
                    });
                }
            }
        }
        let others = self
            .credentials
            .iter()
            .map(|c| (c.password.as_str(), &c.sources))
            .chain(self.passwords.iter().map(|p| (p.password.as_str(), &p.sources)));
        for (pw, sources) in others {
            if seen.insert(pw) {
                out.push(Candidate {
                    password: pw,
                    sources: self.cite(pw, sources),
                    paired_with_user: false,
                });
            }
        }
        // Every other IoT default is in by now, so the common list's other
        // passwords are new.
        out.extend(self.common_only.iter().map(|&i| Candidate {
            password: &self.common.passwords[i],
            sources: vec![self.common.id.as_str()],
            paired_with_user: false,
        }));
        out
    }

    /// An IoT default's sources; a default that is also a common password
    /// cites the common list too.
    fn cite<'d>(&'d self, pw: &str, sources: &'d [String]) -> Vec<&'d str> {
        let mut s: Vec<&str> = sources.iter().map(String::as_str).collect();
        if self.also_common.contains(pw) {
            s.push(self.common.id.as_str());
        }
        s
    }
}

/// A test corpus's expected answers are not a source.
fn check_not_a_corpus(id: &str, kind: &str, reference: &str) -> Result<(), String> {
    if kind == "corpus-fact" || reference.starts_with("fwcert-corpus") || reference.contains("shared/corpus") {
        return Err(format!(
            "source `{id}` is a test corpus; a corpus's answer is never a source"
        ));
    }
    Ok(())
}
