//! The `crypto` family: obsolete protocols and ciphers configured in the
//! image (TLS servers, SSH, Wi-Fi).
//!
//! Its rules are data: `[[pattern]]` entries that the pattern engine runs
//! over text configuration files, so this module only says what the
//! patterns could not read: configuration files that were not analysed
//! (an unknown encoding, binary, over the size cap) are this family's
//! coverage gaps too. Weak keys and certificates are the `secrets`
//! family's (FW-SECRET-003). The rules are listed in `docs/rules/crypto.md`,
//! generated from `checks/crypto/`.

use super::{Context, FamilyResult};

pub fn check(cx: &Context) -> FamilyResult {
    FamilyResult {
        findings: Vec::new(),
        gaps: super::unread_configs(cx.inventory),
    }
}
