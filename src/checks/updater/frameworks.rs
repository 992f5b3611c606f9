//! Update frameworks whose verification is configuration, not script
//! code: Mender, SWUpdate and RAUC.
//!
//! Facts from their documentation:
//! - Mender (`/etc/mender/mender.conf`, JSON): with `ArtifactVerifyKey` or
//!   `ArtifactVerifyKeys` set, the client rejects an Artifact without a
//!   signature or whose signature the key does not verify; without either,
//!   it installs unsigned Artifacts (docs.mender.io, configuration
//!   options). It has no version ordering of its own.
//! - SWUpdate: the public key comes from `-k`/`--key` or
//!   `public-key-file` in `swupdate.cfg`; without one it does not verify
//!   `.swu` signatures. `-N`/`--no-downgrading` (or `no-downgrading` in
//!   the configuration) refuses older versions.
//! - RAUC (`/etc/rauc/system.conf`): bundles are signed and verified
//!   against the `[keyring]`; it has no version ordering of its own.
//!
//! What a framework leaves open (RAUC and Mender anti-rollback, a RAUC
//! configuration without a keyring) is a coverage gap: an install hook
//! may add it, which this module does not read.

use crate::inventory::boot::{BootGraph, Root, text};

/// What one framework's configuration says.
pub struct Framework {
    pub name: &'static str,
    /// Device path of the file that decides, and the line.
    pub file: String,
    pub line: Option<usize>,
    /// `Ok(how)` when it verifies signatures, `Err(why not)` otherwise.
    pub verifies: Result<String, String>,
    /// `Some(Ok(how))` / `Some(Err(why not))`; `None` = not decided.
    pub rollback: Option<Result<String, String>>,
    /// What could not be decided.
    pub gaps: Vec<String>,
}

/// 1-based line of the first line containing `needle`.
fn line_of(t: &str, needle: &str) -> Option<usize> {
    t.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Every framework configured in the root.
pub fn find(root: &Root, g: &BootGraph) -> Vec<Framework> {
    let mut out = Vec::new();
    if let Some((_, d)) = root.file("/etc/mender/mender.conf") {
        let t = text(d);
        let key = ["\"ArtifactVerifyKeys\"", "\"ArtifactVerifyKey\""]
            .iter()
            .find_map(|k| line_of(&t, k).map(|l| (k.trim_matches('"'), l)));
        out.push(Framework {
            name: "Mender",
            file: "/etc/mender/mender.conf".into(),
            line: Some(key.map_or(1, |(_, l)| l)),
            verifies: match key {
                Some((k, l)) => Ok(format!("mender.conf sets {k} (line {l})")),
                None => Err(
                    "mender.conf sets neither ArtifactVerifyKey nor ArtifactVerifyKeys: the Mender client installs unsigned Artifacts"
                        .into(),
                ),
            },
            rollback: None,
            gaps: vec!["Mender has no version ordering of its own; whether a state script refuses older Artifacts is not decided".into()],
        });
    }
    if let Some((_, d)) = root.file("/etc/rauc/system.conf") {
        let t = text(d);
        let keyring = line_of(&t, "[keyring]");
        out.push(Framework {
            name: "RAUC",
            file: "/etc/rauc/system.conf".into(),
            line: Some(keyring.unwrap_or(1)),
            verifies: match keyring {
                Some(l) => Ok(format!(
                    "RAUC verifies signed bundles against the [keyring] (system.conf line {l})"
                )),
                None => Err("system.conf has no [keyring]: RAUC has no key to verify bundles with".into()),
            },
            rollback: None,
            gaps: vec![
                "RAUC has no version ordering of its own; whether an install hook refuses older bundles is not decided"
                    .into(),
            ],
        });
    }
    // SWUpdate: its start lines and its configuration file.
    let starts: Vec<_> = g.starts.iter().filter(|s| s.name() == "swupdate").collect();
    let cfg = ["/etc/swupdate.cfg", "/etc/swupdate/swupdate.cfg"]
        .iter()
        .find_map(|p| root.file(p).map(|(_, d)| (p.to_string(), text(d))));
    let binary = [
        "/usr/bin/swupdate",
        "/usr/sbin/swupdate",
        "/bin/swupdate",
        "/sbin/swupdate",
    ]
    .iter()
    .find(|p| root.node(p).is_some());
    if !starts.is_empty() || cfg.is_some() || binary.is_some() {
        let arg = |names: &[&str]| {
            starts.iter().find(|s| {
                s.argv
                    .iter()
                    .any(|a| names.iter().any(|n| a == n || a.starts_with(&format!("{n}="))))
            })
        };
        let cfg_line = |key: &str| cfg.as_ref().and_then(|(p, t)| line_of(t, key).map(|l| (p.clone(), l)));
        let (file, line) = match (starts.first(), &cfg, binary) {
            (Some(s), _, _) => (s.script.trim_start_matches(g.prefix()).to_string(), s.line),
            (None, Some((p, _)), _) => (p.clone(), Some(1)),
            (None, None, Some(b)) => (b.to_string(), None),
            (None, None, None) => (String::new(), None),
        };
        let verifies = match (arg(&["-k", "--key"]), cfg_line("public-key-file")) {
            (Some(s), _) => Ok(format!("swupdate is started with a public key at {}", s.location())),
            (None, Some((p, l))) => Ok(format!("{p}:{l} sets public-key-file")),
            (None, None) => Err(
                "swupdate has no public key (no -k/--key at its start, no public-key-file in its configuration): it does not verify the signature of .swu images"
                    .into(),
            ),
        };
        let rollback = match (arg(&["-N", "--no-downgrading"]), cfg_line("no-downgrading")) {
            (Some(s), _) => Ok(format!("swupdate refuses older versions (-N) at {}", s.location())),
            (None, Some((p, l))) => Ok(format!("{p}:{l} sets no-downgrading")),
            (None, None) => Err(
                "swupdate runs without -N/--no-downgrading and its configuration sets no no-downgrading: older images are installed"
                    .into(),
            ),
        };
        out.push(Framework {
            name: "SWUpdate",
            file: if file.is_empty() {
                "/usr/bin/swupdate".into()
            } else {
                file
            },
            line,
            verifies,
            rollback: Some(rollback),
            gaps: Vec::new(),
        });
    }
    out
}
