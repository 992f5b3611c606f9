//! Stage 4: the standards, their clauses and test units, and the verdicts.
//!
//! Conformance is assessed the way a lab does it (ETSI TS 103 701, the EN
//! 18031 decision trees): every clause lists its *test units*, each
//! conceptual (is the declared design conformant?) or functional (does the
//! product do it?), and scoped to what it is judged on: `firmware`,
//! `device`, `document` or `process`. fwcert decides firmware units only;
//! the others are OPEN and say what they need. See `docs/conformance.md`.
//!
//! A firmware unit ([`decide::unit`]):
//! - FAILs on a finding of one of its rules (a stable rule, above info), or
//!   when the image contradicts or goes beyond the declaration it is
//!   compared with;
//! - is INCONCLUSIVE, with a [`Cause`], when a preview rule's finding needs
//!   review, a family it needs could not look at everything, the unpack
//!   was incomplete, or fwcert has no check for it;
//! - PASSes otherwise: only for what was examined.
//!
//! A clause is NOT-APPLICABLE when the declaration says so (with its
//! justification) or a condition it depends on is declared false; else it
//! FAILs if a unit fails, else INCONCLUSIVE, else OPEN, else PASS. Clauses
//! marked evidence-only never decide. [`Catalog::evaluate`] knows nothing of
//! the report.

pub mod catalog;
pub mod decide;
pub mod declaration;

use serde::Serialize;

pub use catalog::{
    Catalog, Clause, Condition, Confirmed, Control, DeclaredSection, Kind, Modality, PROFILES, Scope, Standard,
    StandardMeta, Unit, UnitKind,
};
pub use decide::{Assessment, ClauseVerdict, Exit, Gate, StandardVerdict, UnitVerdict, Verdicts, gate_excusing};
pub use declaration::{Declaration, DeclarationError};

/// The verdict of a unit, a clause or a standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Verdict {
    #[serde(rename = "FAIL")]
    Fail,
    #[serde(rename = "INCONCLUSIVE")]
    Inconclusive,
    #[serde(rename = "OPEN")]
    Open,
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "NOT-APPLICABLE")]
    NotApplicable,
}

impl Verdict {
    pub const ALL: [Verdict; 5] = [
        Verdict::Fail,
        Verdict::Inconclusive,
        Verdict::Open,
        Verdict::Pass,
        Verdict::NotApplicable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::Open => "OPEN",
            Verdict::NotApplicable => "NOT-APPLICABLE",
        }
    }

    /// Combine: FAIL over INCONCLUSIVE over OPEN over PASS; NOT-APPLICABLE
    /// only when everything is; `None` for nothing.
    pub fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> Option<Verdict> {
        let mut worst: Option<Verdict> = None;
        let mut any_applicable = false;
        for v in verdicts {
            any_applicable |= v != Verdict::NotApplicable;
            if v != Verdict::NotApplicable {
                worst = Some(worst.map_or(v, |w| w.min(v)));
            } else if worst.is_none() {
                worst = Some(v);
            }
        }
        if any_applicable {
            worst.filter(|w| *w != Verdict::NotApplicable)
        } else {
            worst
        }
    }
}

/// Why a unit is INCONCLUSIVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// Something in the image is encrypted.
    Encrypted,
    /// A container could not be unpacked (corrupt, truncated, failed).
    Unpack,
    /// A budget (depth, size, files, time) stopped the unpack or a check.
    Budget,
    /// A format or file fwcert cannot interpret.
    Unsupported,
    /// A preview rule's finding needs review by a person.
    Review,
    /// fwcert has no automated check for the unit.
    NoCheck,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Encrypted => "encrypted",
            Cause::Unpack => "unpack",
            Cause::Budget => "budget",
            Cause::Unsupported => "unsupported",
            Cause::Review => "review",
            Cause::NoCheck => "no-check",
        }
    }

    /// The cause of one of the unpack's reasons for being incomplete
    /// ([`crate::unpack::Unpacked::incompleteness`]).
    pub fn of_unpack_gap(text: &str) -> Cause {
        Cause::classify(text).unwrap_or(Cause::Unpack)
    }

    /// The cause of a family's coverage gap.
    pub fn of_family_gap(text: &str) -> Cause {
        Cause::classify(text).unwrap_or(Cause::Unsupported)
    }

    /// The messages are written by fwcert (budget errors, `unsupported:`
    /// extract errors, the encrypted formats and the opaque-region
    /// incident), so their wording is stable; a test pins each.
    fn classify(text: &str) -> Option<Cause> {
        let t = text.to_ascii_lowercase();
        if t.contains("encrypt") {
            Some(Cause::Encrypted)
        } else if t.contains("budget") || t.contains("mib cap") {
            Some(Cause::Budget)
        } else if t.contains("unsupported") || t.contains("no known container") || t.contains("not interpreted") {
            Some(Cause::Unsupported)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_orders_verdicts() {
        use Verdict::*;
        assert_eq!(Verdict::combine([Pass, Fail, Inconclusive]), Some(Fail));
        assert_eq!(Verdict::combine([Pass, Open, Inconclusive]), Some(Inconclusive));
        assert_eq!(Verdict::combine([Pass, Open, NotApplicable]), Some(Open));
        assert_eq!(Verdict::combine([Pass, NotApplicable]), Some(Pass));
        assert_eq!(Verdict::combine([NotApplicable, NotApplicable]), Some(NotApplicable));
        assert_eq!(Verdict::combine([]), None);
    }

    #[test]
    fn gap_causes_follow_fwcert_s_own_messages() {
        let cases = [
            (
                "x.bin@0x0:dlink-shrs (failed): unsupported: D-Link SHRS images are AES-encrypted with per-model keys fwcert does not have",
                Cause::Encrypted,
            ),
            (
                "x.bin: unidentified region at 0x100 (70000 bytes, entropy 7.99 bits/byte) may hold an encrypted or unsupported container",
                Cause::Encrypted,
            ),
            (
                "x.bin@0x0:squashfs (failed): size budget exceeded: extraction would produce more than 10 bytes in total",
                Cause::Budget,
            ),
            (
                "x.bin@0x0:ubi (failed): unsupported: UBI volume type 9",
                Cause::Unsupported,
            ),
            (
                "x.bin: no known container or filesystem format was recognised",
                Cause::Unsupported,
            ),
            ("x.bin@0x0:squashfs (partial): inode 3: truncated", Cause::Unpack),
        ];
        for (text, cause) in cases {
            assert_eq!(Cause::of_unpack_gap(text), cause, "{text}");
        }
        assert_eq!(
            Cause::of_family_gap(
                "/etc/big.conf in x: configuration file not analysed: 2000000 bytes, over the 1 MiB cap for configuration files"
            ),
            Cause::Budget
        );
        assert_eq!(
            Cause::of_family_gap("boot model of / in x: cannot follow `. $CONF`"),
            Cause::Unsupported
        );
    }
}
