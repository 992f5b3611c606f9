//! The manufacturer's declaration (`scan --declaration FILE`): what ETSI
//! TS 103 701 calls the ICS (per provision: supported, not supported with a
//! justification, not applicable) and the IXIT (services, interfaces,
//! accounts, keys, update mechanism, components), in TOML. The format is
//! documented in `docs/conformance.md`, with examples in
//! `docs/examples/declarations/`.
//!
//! fwcert compares the image with it ([`compare`]): a mechanism the image
//! provides but the declaration does not list fails the unit that checks
//! completeness; one the declaration says is off but the image starts fails
//! with "declaration contradicted"; a consistent declaration passes it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::catalog::{Catalog, Condition, DeclaredSection};
use crate::checks::observed::Observations;

/// A parsed declaration and the SHA-256 of its bytes.
#[derive(Debug, Clone)]
pub struct Declaration {
    pub sha256: String,
    /// The file name, for the report.
    pub name: String,
    pub data: DeclarationFile,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeclarationFile {
    #[serde(default)]
    pub device: Device,
    #[serde(default)]
    pub product: Product,
    #[serde(default)]
    pub ics: Vec<IcsRow>,
    #[serde(default, rename = "service")]
    pub services: Vec<DeclaredService>,
    #[serde(default, rename = "interface")]
    pub interfaces: Vec<DeclaredInterface>,
    #[serde(default, rename = "account")]
    pub accounts: Vec<DeclaredAccount>,
    #[serde(default, rename = "key")]
    pub keys: Vec<DeclaredKey>,
    #[serde(default, rename = "component")]
    pub components: Vec<DeclaredComponent>,
    #[serde(default)]
    pub update: Option<DeclaredUpdate>,
    #[serde(default)]
    pub secure_boot: Option<DeclaredSecureBoot>,
}

/// The device the declaration is about; copied into the report.
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Device {
    #[serde(default)]
    pub manufacturer: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub hardware_version: String,
    #[serde(default)]
    pub firmware_version: String,
    /// When given, the scanned image must have this SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_sha256: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// Free text, e.g. `ip-camera`.
    #[serde(default)]
    pub category: String,
    /// The EN 18031 parts that apply (`"1"`, `"2"`, `"3"`); `None` means
    /// all of them (conservative).
    #[serde(default)]
    pub en18031_parts: Option<Vec<En18031Part>>,
    /// Whether the device processes personal data; a camera does.
    #[serde(default = "yes")]
    pub personal_data: bool,
}

impl Default for Product {
    fn default() -> Self {
        Product {
            category: String::new(),
            en18031_parts: None,
            personal_data: true,
        }
    }
}

fn yes() -> bool {
    true
}

/// One ICS row: whether a clause is implemented.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcsRow {
    pub standard: Spanned<String>,
    /// The clause as reports name it (`5.6-4`, or `1:AUM-5-1` in a part).
    pub clause: Spanned<String>,
    pub status: IcsStatus,
    #[serde(default)]
    pub justification: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IcsStatus {
    Supported,
    NotSupported,
    NotApplicable,
}

/// How a declared interface can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Switched off in software.
    Disabled,
    /// Asks for authentication.
    Login,
    /// Gives access without authentication.
    Open,
}

/// An EN 18031 part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum En18031Part {
    #[serde(rename = "1")]
    One,
    #[serde(rename = "2")]
    Two,
    #[serde(rename = "3")]
    Three,
}

impl En18031Part {
    pub fn as_str(self) -> &'static str {
        match self {
            En18031Part::One => "1",
            En18031Part::Two => "2",
            En18031Part::Three => "3",
        }
    }
}

/// Whether a declared service or interface is on in the default state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultState {
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredService {
    /// The program or applet name as started (`dropbear`, `ipcam`).
    pub name: String,
    #[serde(default)]
    pub ports: Vec<String>,
    pub default: DefaultState,
    /// How a user authenticates to it (`none` for a service without users).
    #[serde(default)]
    pub authentication: Option<String>,
    #[serde(default)]
    pub purpose: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredInterface {
    /// `serial-console`, `adb`, `bootloader-console`, `jtag`, `usb`, …
    pub kind: String,
    /// The terminal for a serial console (`ttyS0`); empty matches any.
    #[serde(default)]
    pub name: String,
    /// Whether the interface can be reached on a shipped unit (pads or a
    /// connector exposed without destroying the case).
    pub reachable: bool,
    pub access: Access,
    #[serde(default)]
    pub justification: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredAccount {
    pub name: String,
    #[serde(default)]
    pub purpose: String,
    /// SSH public keys authorized to log in as this account, by their
    /// `SHA256:…` fingerprint (`ssh-keygen -l`).
    #[serde(default)]
    pub authorized_keys: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredKey {
    pub path: String,
    #[serde(default)]
    pub purpose: String,
    /// Whether each unit gets its own (written at provisioning or first
    /// boot); a key shipped in the image is the same on every unit.
    #[serde(default)]
    pub per_device: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredComponent {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredUpdate {
    #[serde(default)]
    pub mechanism: String,
    /// Whether images are signed and the signature verified before install.
    pub signed: bool,
    #[serde(default)]
    pub signature: String,
    /// Whether updates arrive over a network.
    #[serde(default = "yes")]
    pub network: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredSecureBoot {
    pub enabled: bool,
    #[serde(default)]
    pub description: String,
}

/// A declaration that cannot be used: the file, the line and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct DeclarationError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl Declaration {
    /// Parse `text` (the contents of `name`) and check that every ICS row
    /// names a clause of the catalogue.
    pub fn parse(name: &str, text: &str, catalog: &Catalog) -> Result<Declaration, DeclarationError> {
        let err = |offset: usize, message: String| DeclarationError {
            file: name.to_string(),
            line: line_of(text, offset),
            message,
        };
        let data: DeclarationFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            err(offset, e.message().to_string())
        })?;
        for row in &data.ics {
            let sid = row.standard.get_ref();
            let Some(standard) = catalog.standards.get(sid) else {
                return Err(err(row.standard.span().start, format!("unknown standard `{sid}`")));
            };
            let key = row.clause.get_ref();
            if standard.clause(key).is_none() {
                return Err(err(row.clause.span().start, format!("{sid} has no clause `{key}`")));
            }
            if row.status != IcsStatus::Supported && row.justification.trim().is_empty() {
                return Err(err(
                    row.clause.span().start,
                    format!("{sid} {key}: a clause declared not supported or not applicable needs a justification"),
                ));
            }
        }
        Ok(Declaration {
            sha256: crate::hash::sha256_hex(text.as_bytes()),
            name: name.to_string(),
            data,
        })
    }

    /// The ICS row for a clause, if any.
    pub fn ics(&self, standard: &str, clause_key: &str) -> Option<&IcsRow> {
        self.data
            .ics
            .iter()
            .find(|r| r.standard.get_ref() == standard && r.clause.get_ref() == clause_key)
    }

    /// Whether `condition` holds by this declaration; `Some(reason)` when it
    /// does not.
    pub fn refutes(&self, condition: Condition) -> Option<String> {
        let d = &self.data;
        match condition {
            Condition::DebugInterfaceReachable => {
                let physical: Vec<&DeclaredInterface> = d
                    .interfaces
                    .iter()
                    .filter(|i| {
                        matches!(
                            i.kind.as_str(),
                            "serial-console" | "jtag" | "swd" | "uart" | "bootloader-console"
                        )
                    })
                    .collect();
                (!physical.is_empty() && physical.iter().all(|i| !i.reachable)).then(|| {
                    let names: Vec<String> = physical.iter().map(|i| describe_interface(i)).collect();
                    format!("declared not physically reachable: {}", names.join("; "))
                })
            }
            Condition::NetworkUpdates => d
                .update
                .as_ref()
                .filter(|u| !u.network)
                .map(|u| format!("declared: updates are not delivered over a network ({})", u.mechanism)),
            Condition::PersonalData => {
                (!d.product.personal_data).then(|| "declared: the device processes no personal data".to_string())
            }
        }
    }

    /// Whether EN 18031 part `part` applies; `Some(reason)` when it does not.
    pub fn excludes_part(&self, standard: &str, part: &str) -> Option<String> {
        if standard != "en-18031" {
            return None;
        }
        let parts = self.data.product.en18031_parts.as_ref()?;
        (!parts.iter().any(|p| p.as_str() == part)).then(|| {
            let names: Vec<&str> = parts.iter().map(|p| p.as_str()).collect();
            format!(
                "declared product category `{}` falls under EN 18031 part(s) {} only",
                self.data.product.category,
                names.join(", ")
            )
        })
    }
}

fn describe_interface(i: &DeclaredInterface) -> String {
    let mut s = i.kind.clone();
    if !i.name.is_empty() {
        s.push_str(&format!(" {}", i.name));
    }
    if !i.justification.is_empty() {
        s.push_str(&format!(" ({})", i.justification));
    }
    s
}

/// The image compared with one declaration section: empty `problems` is a
/// consistent declaration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub problems: Vec<String>,
    /// What was compared, for a PASS's reason.
    pub compared: usize,
}

/// Compare every section the units use.
pub fn compare(d: &DeclarationFile, o: &Observations) -> BTreeMap<DeclaredSection, Comparison> {
    use DeclaredSection::*;
    [Services, Accounts, Keys, Interfaces, Update, Components, Authentication]
        .into_iter()
        .map(|s| (s, compare_section(s, d, o)))
        .collect()
}

fn compare_section(section: DeclaredSection, d: &DeclarationFile, o: &Observations) -> Comparison {
    let mut c = Comparison::default();
    match section {
        DeclaredSection::Services => {
            for s in &o.services {
                c.compared += 1;
                match d.services.iter().find(|x| x.name == s.name) {
                    None => c
                        .problems
                        .push(format!("undeclared service `{}` started at {}", s.name, s.location)),
                    Some(x) if x.default == DefaultState::Disabled => c.problems.push(format!(
                        "declaration contradicted: service `{}` is declared disabled by default but is started at {}",
                        s.name, s.location
                    )),
                    Some(_) => {}
                }
            }
        }
        DeclaredSection::Authentication => {
            for s in o.services.iter().filter(|s| s.network) {
                c.compared += 1;
                let declared = d.services.iter().find(|x| x.name == s.name);
                if declared.and_then(|x| x.authentication.as_ref()).is_none() {
                    c.problems.push(format!(
                        "network service `{}` (started at {}) has no declared authentication mechanism",
                        s.name, s.location
                    ));
                }
            }
            for i in &o.interfaces {
                c.compared += 1;
                if i.access == "open" {
                    let declared_open = find_interface(d, i.kind, &i.name).is_some_and(|x| x.access == Access::Open);
                    if !declared_open {
                        c.problems.push(format!(
                            "{} {} at {} gives access without authentication",
                            i.kind, i.name, i.location
                        ));
                    }
                }
            }
        }
        DeclaredSection::Interfaces => {
            for i in &o.interfaces {
                c.compared += 1;
                let label = if i.name.is_empty() {
                    i.kind.to_string()
                } else {
                    format!("{} {}", i.kind, i.name)
                };
                match find_interface(d, i.kind, &i.name) {
                    None => c.problems.push(format!("undeclared interface: {label} enabled at {}", i.location)),
                    Some(x) if x.access == Access::Disabled => c.problems.push(format!(
                        "declaration contradicted: {label} is declared disabled but is enabled at {}",
                        i.location
                    )),
                    Some(x) if x.access == Access::Login && i.access == "open" => c.problems.push(format!(
                        "declaration contradicted: {label} is declared to require a login but gives access without one at {}",
                        i.location
                    )),
                    Some(_) => {}
                }
            }
        }
        DeclaredSection::Accounts => {
            for a in &o.accounts {
                c.compared += 1;
                if !d.accounts.iter().any(|x| x.name == a.name) {
                    c.problems
                        .push(format!("undeclared account `{}` can log in ({})", a.name, a.location));
                }
            }
            for k in &o.authorized_keys {
                c.compared += 1;
                if !d.accounts.iter().any(|x| x.authorized_keys.contains(&k.fingerprint)) {
                    c.problems.push(format!(
                        "undeclared SSH key {} is authorized to log in ({})",
                        k.fingerprint, k.location
                    ));
                }
            }
        }
        DeclaredSection::Keys => {
            for k in &o.keys {
                c.compared += 1;
                match d.keys.iter().find(|x| x.path == k.path) {
                    None => c.problems.push(format!("undeclared private key at {}", k.location)),
                    Some(x) if x.per_device => c.problems.push(format!(
                        "declaration contradicted: the key at {} is declared per-device, but it ships in the image, the same on every unit",
                        k.location
                    )),
                    Some(_) => {}
                }
            }
        }
        DeclaredSection::Components => {
            for m in &o.components {
                c.compared += 1;
                match d.components.iter().find(|x| x.name.eq_ignore_ascii_case(&m.name)) {
                    None => c.problems.push(format!(
                        "undeclared component {} {} at {}",
                        m.name, m.version, m.location
                    )),
                    Some(x) if x.version.as_ref().is_some_and(|v| *v != m.version) => c.problems.push(format!(
                        "declaration contradicted: {} is declared as version {}, the image has {} at {}",
                        m.name,
                        x.version.as_deref().unwrap_or_default(),
                        m.version,
                        m.location
                    )),
                    Some(_) => {}
                }
            }
        }
        DeclaredSection::Update => {
            c.compared += 1;
            match (&d.update, &o.unsigned) {
                (None, _) => c.problems.push("the declaration has no [update] section".into()),
                (Some(u), Some(at)) if u.signed => c.problems.push(format!(
                    "declaration contradicted: updates are declared signed, but the image carries no signature ({at})"
                )),
                _ => {}
            }
        }
    }
    c
}

fn find_interface<'d>(d: &'d DeclarationFile, kind: &str, name: &str) -> Option<&'d DeclaredInterface> {
    let kind_matches = |x: &DeclaredInterface| x.kind == kind || (kind == "serial-console" && x.kind == "uart");
    d.interfaces
        .iter()
        .find(|x| kind_matches(x) && (x.name.is_empty() || x.name == name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::observed::{ObservedInterface, ObservedService};

    fn observed() -> Observations {
        Observations {
            services: vec![ObservedService {
                name: "telnetd".into(),
                location: "/etc/init.d/rcS:3 in x".into(),
                network: true,
                ports: vec![],
            }],
            interfaces: vec![ObservedInterface {
                kind: "serial-console",
                name: "ttyS0".into(),
                access: "login",
                location: "/etc/inittab:2 in x".into(),
            }],
            ..Default::default()
        }
    }

    fn file(toml: &str) -> DeclarationFile {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn an_undeclared_service_is_a_problem() {
        let c = compare_section(DeclaredSection::Services, &file(""), &observed());
        assert_eq!(
            c.problems,
            ["undeclared service `telnetd` started at /etc/init.d/rcS:3 in x"]
        );
    }

    #[test]
    fn a_service_declared_disabled_but_started_contradicts() {
        let d = file("[[service]]\nname = \"telnetd\"\ndefault = \"disabled\"\n");
        let c = compare_section(DeclaredSection::Services, &d, &observed());
        assert_eq!(c.problems.len(), 1);
        assert!(
            c.problems[0].starts_with("declaration contradicted: service `telnetd`"),
            "{c:?}"
        );
    }

    #[test]
    fn a_consistent_declaration_has_no_problem() {
        let d = file(
            "[[service]]\nname = \"telnetd\"\ndefault = \"enabled\"\nauthentication = \"password\"\n\
             [[interface]]\nkind = \"serial-console\"\nname = \"ttyS0\"\nreachable = true\naccess = \"login\"\n",
        );
        for s in [
            DeclaredSection::Services,
            DeclaredSection::Interfaces,
            DeclaredSection::Authentication,
        ] {
            assert_eq!(
                compare_section(s, &d, &observed()).problems,
                Vec::<String>::new(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn an_interface_declared_login_but_open_contradicts() {
        let d = file("[[interface]]\nkind = \"serial-console\"\nreachable = true\naccess = \"login\"\n");
        let mut o = observed();
        o.interfaces[0].access = "open";
        let c = compare_section(DeclaredSection::Interfaces, &d, &o);
        assert!(c.problems[0].contains("declared to require a login"), "{c:?}");
    }

    #[test]
    fn errors_name_the_line() {
        let catalog = crate::rules::Rules::embedded().unwrap().catalog;
        let text = "[device]\nmodel = \"x\"\n\n[[ics]]\nstandard = \"etsi-en-303-645\"\nclause = \"9.9-9\"\nstatus = \"supported\"\n";
        let e = Declaration::parse("d.toml", text, &catalog).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("d.toml", 6), "{e}");
        let e = Declaration::parse("d.toml", "[device]\nmodel = 3\n", &catalog).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = Declaration::parse("d.toml", "[[service]]\nname = \"a\"\n", &catalog).unwrap_err();
        assert!(e.message.contains("default"), "{e}");
        let text = "[[interface]]\nkind = \"uart\"\nreachable = true\naccess = \"sometimes\"\n";
        let e = Declaration::parse("d.toml", text, &catalog).unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        let e = Declaration::parse("d.toml", "[product]\n\nen18031_parts = [\"1\", \"4\"]\n", &catalog).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = Declaration::parse(
            "d.toml",
            "[[ics]]\nstandard = \"etsi-en-303-645\"\nclause = \"5.6-4\"\nstatus = \"not-applicable\"\n",
            &catalog,
        )
        .unwrap_err();
        assert!(e.message.contains("needs a justification"), "{e}");
        assert_eq!(e.line, 3, "{e}");
    }

    #[test]
    fn reachability_is_refuted_only_by_every_physical_interface() {
        let d = |t: &str| Declaration {
            sha256: String::new(),
            name: String::new(),
            data: file(t),
        };
        assert_eq!(d("").refutes(Condition::DebugInterfaceReachable), None);
        let one = "[[interface]]\nkind = \"serial-console\"\nreachable = false\naccess = \"login\"\n";
        assert!(d(one).refutes(Condition::DebugInterfaceReachable).is_some());
        let two = format!("{one}[[interface]]\nkind = \"jtag\"\nreachable = true\naccess = \"disabled\"\n");
        assert_eq!(d(&two).refutes(Condition::DebugInterfaceReachable), None);
    }
}
