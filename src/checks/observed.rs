//! What the image provides, as a manufacturer's declaration would list it:
//! the services and interfaces it starts at boot, the accounts and SSH keys
//! that can log in, the private keys it holds, its components and whether
//! it is signed.
//!
//! The standards stage compares these with a declaration (`--declaration`):
//! a functional test unit in ETSI TS 103 701 often starts by looking for
//! mechanisms the manufacturer did not declare. Every observation carries
//! its location, so that a unit failed on it names the evidence.

use std::collections::BTreeSet;

use crate::checks::CheckedFinding;
use crate::checks::daemons::is_server;
use crate::checks::starts::{is_shell, running};
use crate::inventory::Inventory;
use crate::inventory::boot::Mechanism;
use crate::rules;

/// A program started at boot that keeps running.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedService {
    /// The name a declaration uses for it: the applet or program name.
    pub name: String,
    /// `script:line in chain`.
    pub location: String,
    /// Whether it is a known network server.
    pub network: bool,
    pub ports: Vec<String>,
}

/// A console or debug interface the image enables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedInterface {
    /// `serial-console`, `adb` or `bootloader-console`.
    pub kind: &'static str,
    /// The terminal (`ttyS0`), or empty.
    pub name: String,
    /// `login` (asks for a password) or `open` (no authentication).
    pub access: &'static str,
    pub location: String,
}

/// An account that can log in: a usable password and a login shell.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedAccount {
    pub name: String,
    pub location: String,
}

/// An SSH public key authorized to log in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedAuthorizedKey {
    /// `SHA256:…` as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    pub location: String,
}

/// A private key in the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedKey {
    pub path: String,
    pub location: String,
}

/// A component the inventory identified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedComponent {
    pub name: String,
    pub version: String,
    pub location: String,
}

/// Everything a declaration is compared with, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    pub services: Vec<ObservedService>,
    pub interfaces: Vec<ObservedInterface>,
    pub accounts: Vec<ObservedAccount>,
    pub authorized_keys: Vec<ObservedAuthorizedKey>,
    pub keys: Vec<ObservedKey>,
    pub components: Vec<ObservedComponent>,
    /// `Some(false)` when the image carries no signature
    /// ([`rules::FW_UPD_001`]), with where that was found.
    pub unsigned: Option<String>,
}

/// Inittab and shell actions of programs that stay running.
const LONG_RUNNING: &[&str] = &["background", "respawn", "instance", "once", "askfirst"];

impl Observations {
    /// Observe the inventory; `findings` supply what a family already
    /// decided (keys, the image's signature, consoles outside the boot
    /// model).
    pub fn gather(inv: &Inventory, findings: &[CheckedFinding]) -> Observations {
        let mut o = Observations::default();
        for (g, s) in running(inv) {
            let location = format!("{} in {}", s.location(), g.container);
            let name = s.name();
            if s.mechanism == Mechanism::Cron {
                continue;
            }
            if let Some(tty) = s.terminal() {
                o.interfaces.push(ObservedInterface {
                    kind: "serial-console",
                    name: tty,
                    access: if is_shell(&s.program) { "open" } else { "login" },
                    location,
                });
                continue;
            }
            let network = is_server(&name);
            let long_running = LONG_RUNNING.contains(&s.action.as_str())
                || matches!(s.mechanism, Mechanism::Inetd | Mechanism::Systemd | Mechanism::Procd);
            if !(network || long_running || !s.ports.is_empty()) {
                continue;
            }
            if name == "adbd" {
                o.interfaces.push(ObservedInterface {
                    kind: "adb",
                    name: String::new(),
                    access: "open",
                    location: location.clone(),
                });
            }
            o.services.push(ObservedService {
                name,
                location,
                network,
                ports: s.ports.clone(),
            });
        }
        for store in &inv.account_stores {
            for a in &store.accounts {
                if a.password_usable() && a.has_login_shell() {
                    let line = a.password_line.map(|l| format!(":{l}")).unwrap_or_default();
                    o.accounts.push(ObservedAccount {
                        name: a.user.clone(),
                        location: format!("{}{line} in {}", a.password_file, store.container),
                    });
                }
            }
            for k in &store.authorized_keys {
                o.authorized_keys.push(ObservedAuthorizedKey {
                    fingerprint: k.openssh_fingerprint.clone(),
                    location: format!("{}:{} in {}", k.file, k.line, store.container),
                });
            }
        }
        for d in &inv.components {
            let at = inv
                .files
                .get(d.file)
                .map(|f| format!("{} in {}", f.path, f.container))
                .unwrap_or_default();
            o.components.push(ObservedComponent {
                name: d.name.to_string(),
                version: d.version.clone(),
                location: at,
            });
        }
        for f in findings {
            let at = f.finding.location();
            match f.finding.rule.as_str() {
                rules::FW_SECRET_001 | rules::FW_SECRET_002 | rules::FW_SVC_011 => o.keys.push(ObservedKey {
                    path: f.finding.path.clone(),
                    location: at,
                }),
                rules::FW_UPD_001 => o.unsigned = Some(at),
                rules::FW_DEBUG_007 => o.interfaces.push(ObservedInterface {
                    kind: "bootloader-console",
                    name: String::new(),
                    access: "open",
                    location: at,
                }),
                _ => {}
            }
        }
        o.services.sort();
        o.services.dedup();
        o.interfaces.sort();
        o.interfaces.dedup();
        o.accounts.sort();
        o.accounts.dedup();
        o.authorized_keys.sort();
        o.authorized_keys.dedup();
        let mut seen = BTreeSet::new();
        o.keys.sort();
        o.keys.retain(|k| seen.insert(k.path.clone()));
        o.components.sort();
        o.components.dedup();
        o
    }
}
