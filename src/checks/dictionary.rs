//! The shipped dictionary of known default and leaked credentials,
//! `checks/credentials/default-credentials.toml`. Every entry names its
//! sources; the loader refuses an entry whose source is not declared.

use std::collections::BTreeSet;

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
        let d: Dictionary = toml::from_str(text).map_err(|e| e.to_string())?;
        let known: BTreeSet<&str> = d.sources.iter().map(|s| s.id.as_str()).collect();
        let cited = d
            .credentials
            .iter()
            .flat_map(|c| &c.sources)
            .chain(d.passwords.iter().flat_map(|p| &p.sources));
        for s in cited {
            if !known.contains(s.as_str()) {
                return Err(format!("entry cites undeclared source `{s}`"));
            }
        }
        Ok(d)
    }

    /// Passwords to try for `user`, most likely first: pairs for this user,
    /// then every other password once. Deterministic order.
    pub fn candidates_for(&self, user: &str) -> Vec<Candidate<'_>> {
        let mut out: Vec<Candidate> = Vec::new();
        let mut seen = BTreeSet::new();
        for c in self.credentials.iter().filter(|c| c.user == user) {
            if seen.insert(c.password.as_str()) {
                out.push(Candidate {
                    password: &c.password,
                    sources: c.sources.iter().map(String::as_str).collect(),
                    paired_with_user: true,
                });
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
                    sources: sources.iter().map(String::as_str).collect(),
                    paired_with_user: false,
                });
            }
        }
        out
    }
}
