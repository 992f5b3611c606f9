//! The `updates` family: whether the image itself could prove where it
//! came from, and how the firmware fetches its updates.
//!
//! Image level ([`image_authenticity`]): a signed FIT (a `signature` node)
//! counts as signed; the outer wrappers that vendors put around images
//! (uImage, TP-Link, TRX, Dahua, Hikvision, Android sparse …) carry a CRC
//! or an MD5 at most, which detects damage but proves nothing about who
//! built the image. An image with no signature of any kind is reported by
//! FW-UPD-001, a preview rule: a signature may travel beside the image (a
//! detached `.sig`, a signed update bundle the server wraps it in), which
//! one image cannot show. The transport rules (certificate checks turned
//! off, firmware fetched over plain HTTP) are `[[pattern]]` data.
//!
//! Not analysed yet: whether the updater verifies a signature before it
//! writes flash, and anti-rollback. The standards data give those their own
//! test units, scoped to a device test (OPEN), so that they are never
//! taken as examined; they are not a gap in what this family does examine.
//! The rules are listed in `docs/rules/updates.md`, generated from
//! `checks/updates/`.

use super::{Context, FamilyResult, Finding};
use crate::rules;
use crate::unpack::{Container, Status, Unpacked};

/// Container formats whose header carries a checksum at most.
const INTEGRITY_ONLY: &[&str] = &[
    "uimage",
    "tplink",
    "trx",
    "dahua",
    "hikvision",
    "android-sparse",
    "android-boot",
    "arcadyan",
];

/// What the image shows about its own authenticity.
enum Authenticity<'u> {
    /// A FIT image with signature nodes.
    Signed,
    /// Wrapped in formats that carry a checksum at most.
    IntegrityOnly(&'u Container),
    /// No wrapper at all: the image is a bare filesystem or archive.
    Bare(&'u Container),
    /// Nothing could be read, or a container was not opened: unknown.
    Unknown(String),
}

fn image_authenticity(u: &Unpacked) -> Authenticity<'_> {
    if u.containers
        .iter()
        .any(|c| c.format == "fit" && c.facts.get("signed").is_some_and(|s| s == "true"))
    {
        return Authenticity::Signed;
    }
    let outer: Vec<&Container> = u.containers.iter().filter(|c| c.chain.depth() == 1).collect();
    if let Some(c) = outer.iter().find(|c| c.status == Status::Failed) {
        return Authenticity::Unknown(format!(
            "{} could not be opened, so whether the image is signed is unknown",
            c.chain
        ));
    }
    match outer.iter().find(|c| INTEGRITY_ONLY.contains(&c.format)) {
        Some(c) => Authenticity::IntegrityOnly(c),
        None => match outer.first() {
            Some(c) => Authenticity::Bare(c),
            None => Authenticity::Unknown("no container was recognised in the image".into()),
        },
    }
}

pub fn check(cx: &Context) -> FamilyResult {
    let u = cx.inventory.unpacked;
    let mut out = FamilyResult::default();
    let image = cx.inventory.image().map(|f| f.sha256.clone());
    let finding = |c: &Container, evidence: String| Finding {
        rule: rules::FW_UPD_001.to_string(),
        path: "image".into(),
        container: c.chain.clone(),
        line: None,
        offset: Some(c.offset),
        evidence,
        sha256: image.clone(),
        secret: None,
        custom: None,
    };
    match image_authenticity(u) {
        Authenticity::Signed => {}
        Authenticity::IntegrityOnly(c) => out.findings.push(finding(
            c,
            format!(
                "the image is wrapped in {} ({}), whose header carries a checksum at most: it detects damage but proves nothing about who built the image; no signature was found in the image",
                c.format, c.description
            ),
        )),
        Authenticity::Bare(c) => out.findings.push(finding(
            c,
            format!(
                "the image is a bare {} ({}) with no signature of any kind",
                c.format, c.description
            ),
        )),
        Authenticity::Unknown(why) => out.gaps.push(why),
    }
    out
}
