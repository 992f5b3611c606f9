//! The `crypto` family: obsolete protocols, ciphers and keys in the image
//! (TLS servers, SSH, Wi-Fi, key material).
//!
//! Most of its rules are data: `[[pattern]]` entries that the pattern
//! engine runs over text configuration files and scripts. This module
//! decides FW-CRYPTO-005 (a key below today's minimum) from the
//! inventory's parsed key material, and says what the patterns could not
//! read: configuration files that were not analysed (an unknown encoding,
//! binary, over the size cap) are this family's coverage gaps too.
//! Certificates are the `secrets` family's (FW-SECRET-003). The rules are
//! listed in `docs/rules/crypto.md`, generated from `checks/crypto/`.

use super::{Context, FamilyResult, Finding, Secret};
use crate::hash::fingerprint_of;
use crate::inventory::Inventory;
use crate::inventory::boot::basename;
use crate::inventory::keys::{KeyInfo, Location, ssh};
use crate::rules;

/// A weak key at `loc`: what it is, in what form, and why it is weak.
fn weak_key(
    inv: &Inventory,
    loc: &Location,
    role: &str,
    format: &str,
    key: &KeyInfo,
    fingerprint: &str,
) -> Option<Finding> {
    let why = key.weakness()?;
    let f = inv.files.get(loc.file)?;
    let evidence = format!("{} {role} ({format}): {why}", key.describe());
    let offset = loc.line.is_none().then_some(loc.offset);
    Some(Finding {
        secret: Some(Secret {
            value: None,
            fingerprint: fingerprint.to_string(),
        }),
        ..Finding::in_file(rules::FW_CRYPTO_005, f, loc.line, offset, evidence)
    })
}

/// Whether a file is named like a dropbear key (`dropbear_rsa_host_key`,
/// `dropbear_dss_host_key`): dropbear's own binary format has no marker to
/// find it by, so only files named so are read as one.
fn dropbear_named(path: &str) -> bool {
    let name = basename(path);
    name.starts_with("dropbear_") && name.ends_with("_key")
}

/// FW-CRYPTO-005: private and public keys the inventory parsed, and
/// dropbear keys, whose algorithm or size is below today's minimum.
fn weak_keys(inv: &Inventory) -> Vec<Finding> {
    let keys = &inv.keys;
    let mut out: Vec<Finding> = keys
        .private_keys
        .iter()
        .filter_map(|k| weak_key(inv, &k.at, "private key", &k.format, &k.key, &k.fingerprint))
        .chain(
            keys.public_keys
                .iter()
                .filter_map(|k| weak_key(inv, &k.at, "public key", &k.format, &k.key, &k.fingerprint)),
        )
        .collect();
    for (i, f) in inv.files.iter().enumerate() {
        if !dropbear_named(&f.path) || keys.private_keys.iter().any(|k| k.at.file == i) {
            continue;
        }
        let Some(parsed) = ssh::dropbear_private(f.data) else {
            continue;
        };
        // The key is the whole file: its evidence starts at offset 0.
        let at = Location {
            file: i,
            offset: 0,
            line: None,
        };
        let fingerprint = fingerprint_of(parsed.spki.as_deref().unwrap_or(f.data));
        out.extend(weak_key(
            inv,
            &at,
            "private key",
            "dropbear",
            &parsed.info,
            &fingerprint,
        ));
    }
    out
}

/// Private keys whose size could not be judged (FW-CRYPTO-005 fails
/// closed): encrypted keys whose algorithm or size is not visible without
/// the passphrase, and keys of an algorithm the readers do not size. A DSA
/// key is weak whatever its size, so it is always judged.
fn unjudged_keys(inv: &Inventory) -> Vec<String> {
    inv.keys
        .private_keys
        .iter()
        .filter(|k| k.key.bits.is_none() && k.key.weakness().is_none())
        .filter_map(|k| {
            let f = inv.files.get(k.at.file)?;
            let at = match k.at.line {
                Some(l) => format!(":{l}"),
                None => format!("@{:#x}", k.at.offset),
            };
            let why = match &k.protection {
                Some(p) => format!("encrypted with {p}, so its algorithm or size is not visible"),
                None => "of an algorithm fwcert does not size".to_string(),
            };
            Some(format!(
                "{}{at} in {}: {} private key ({}) {why}; whether it is weak is unknown",
                f.path,
                f.container,
                k.key.describe(),
                k.format
            ))
        })
        .collect()
}

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut gaps = unjudged_keys(inv);
    gaps.extend(super::unread_configs(inv));
    FamilyResult {
        findings: weak_keys(inv),
        gaps,
    }
}
