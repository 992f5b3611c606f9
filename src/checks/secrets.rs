//! The `secrets` family: key material and tokens that every unit of the
//! device would share.
//!
//! This module decides the key and certificate rules from the inventory's
//! parsed key material; the token and configuration rules are `[[pattern]]`
//! entries run by [`super::patterns`]. The rules are listed in
//! `docs/rules/secrets.md`, generated from `checks/secrets/`.

use super::{Context, FamilyResult, Finding, Secret};
use crate::inventory::Inventory;
use crate::inventory::keys::{Location, x509};
use crate::rules;

fn at(inv: &Inventory, loc: &Location, rule: &str, evidence: String, fingerprint: &str) -> Finding {
    let f = &inv.files[loc.file];
    Finding {
        secret: Some(Secret {
            value: None,
            fingerprint: fingerprint.to_string(),
        }),
        ..Finding::in_file(rule, f, loc.line, loc.line.is_none().then_some(loc.offset), evidence)
    }
}

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut out = Vec::new();
    let keys = &inv.keys;
    for k in &keys.private_keys {
        let comment = k
            .comment
            .as_ref()
            .map(|c| format!(", comment `{c}`"))
            .unwrap_or_default();
        let (rule, evidence) = match &k.protection {
            None => (
                rules::FW_SECRET_001,
                format!(
                    "{} private key ({}) stored without a passphrase{comment}",
                    k.key.describe(),
                    k.format
                ),
            ),
            Some(p) => (
                rules::FW_SECRET_002,
                format!(
                    "{} private key ({}) protected by a passphrase ({p}){comment}",
                    k.key.describe(),
                    k.format
                ),
            ),
        };
        out.push(at(inv, &k.at, rule, evidence, &k.fingerprint));
    }
    for c in &keys.certificates {
        let f = &c.fields;
        let mut weak = Vec::new();
        if f.key.is_weak() {
            weak.push(format!("{} key", f.key.describe()));
        }
        // A self-issued certificate's own signature is not what makes it
        // trusted, so only a CA-issued one is weak by its digest.
        if !f.self_issued && x509::weak_signature(&f.signature_algorithm) {
            weak.push(format!("signed with {}", f.signature_algorithm));
        }
        if weak.is_empty() {
            continue;
        }
        out.push(at(
            inv,
            &c.at,
            rules::FW_SECRET_003,
            format!(
                "certificate `{}` issued by `{}`, valid {} to {}, {}: {}",
                f.subject,
                f.issuer,
                f.not_before,
                f.not_after,
                f.signature_algorithm,
                weak.join(", ")
            ),
            &c.fingerprint,
        ));
    }
    let gaps: Vec<String> = keys
        .unopened
        .iter()
        .map(|u| format!("{}: {} {}", inv.files[u.at.file].path, u.marker, u.why))
        .chain(super::unread_configs(inv))
        .collect();
    FamilyResult { findings: out, gaps }
}
