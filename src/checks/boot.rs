//! The `boot` family: secure-boot evidence the image itself carries.
//!
//! Today: the kernel's own build configuration, where the image ships one
//! readable (a `.config` or `config-*` file, a decompressed
//! `/proc/config.gz` copy, or the IKCONFIG block the unpacker carved from a
//! kernel): whether the kernel loads modules (`CONFIG_MODULES`) without
//! enforcing their signatures (`CONFIG_MODULE_SIG_FORCE`; Linux
//! `Documentation/admin-guide/module-signing.rst`: without it, an unsigned
//! or badly signed module is loaded and the kernel only taints itself).
//! FW-BOOT-001 is information: secure boot evidence for a lab, listed by
//! no test unit. An image without a readable kernel configuration is a
//! coverage gap of this family. The verified-boot keys of a U-Boot control
//! device tree are facts of its container (`unpack::formats::fit`):
//! FW-BOOT-002 is a signed FIT whose control device tree in the same image
//! requires none of them, so U-Boot does not enforce the signature; a
//! signed FIT with no control device tree in the image is a gap.
//! dm-verity evidence (a `veritysetup` hash device, whose superblock is a
//! container with facts, or a verity table on a kernel command line in a
//! U-Boot environment or an Android boot header) is named in the boot
//! family's coverage: it is evidence for a lab, and decides no unit.
//!
//! The rules are listed in `docs/rules/boot.md`, generated from
//! `checks/boot/`.

use std::collections::BTreeMap;

use super::{Context, FamilyResult, Finding};
use crate::inventory::{FileEntry, scanned_by_content};
use crate::rules;
use crate::unpack::Container;

/// Kernel configurations larger than this are not real ones.
const MAX_CONFIG: usize = 4 << 20;

/// `CONFIG_X` → (value, line): `y`, `m`, a string, or `n` for `# CONFIG_X
/// is not set`.
pub fn parse_kconfig(t: &str) -> BTreeMap<String, (String, usize)> {
    let mut out = BTreeMap::new();
    for (i, l) in t.lines().enumerate() {
        let l = l.trim();
        if let Some(rest) = l.strip_prefix("# ").and_then(|r| r.strip_suffix(" is not set")) {
            if rest.starts_with("CONFIG_") {
                out.insert(rest.to_string(), ("n".to_string(), i + 1));
            }
        } else if l.starts_with("CONFIG_")
            && let Some((k, v)) = l.split_once('=')
        {
            out.insert(k.to_string(), (v.trim_matches('"').to_string(), i + 1));
        }
    }
    out
}

/// Whether a file's bytes are a kernel build configuration.
fn is_kconfig(d: &[u8]) -> bool {
    d.len() <= MAX_CONFIG
        && memchr::memmem::find(&d[..d.len().min(512)], b"# Automatically generated").is_some()
        && memchr::memmem::find(d, b"\nCONFIG_").is_some()
}

fn judge(f: &FileEntry, out: &mut FamilyResult) {
    let t = String::from_utf8_lossy(f.data);
    let c = parse_kconfig(&t);
    let get = |k: &str| c.get(k).map(|(v, _)| v.as_str()).unwrap_or("n");
    let Some((modules, modules_line)) = c.get("CONFIG_MODULES") else {
        return;
    };
    if modules != "y" || get("CONFIG_MODULE_SIG_FORCE") == "y" {
        return;
    }
    let line = c
        .get("CONFIG_MODULE_SIG_FORCE")
        .or_else(|| c.get("CONFIG_MODULE_SIG"))
        .map_or(*modules_line, |(_, l)| *l);
    let evidence = format!(
        "the kernel loads modules (CONFIG_MODULES=y) without enforcing their signatures (CONFIG_MODULE_SIG_FORCE={}, CONFIG_MODULE_SIG={}); dm-verity support: CONFIG_DM_VERITY={}",
        get("CONFIG_MODULE_SIG_FORCE"),
        get("CONFIG_MODULE_SIG"),
        get("CONFIG_DM_VERITY")
    );
    out.findings
        .push(Finding::in_file(rules::FW_BOOT_001, f, Some(line), None, evidence));
}

fn fact<'c>(c: &'c Container, k: &str) -> Option<&'c str> {
    c.facts.get(k).map(String::as_str)
}

/// FW-BOOT-002: a signed FIT whose U-Boot control device tree, in the
/// same image, marks no key `required`. U-Boot (`doc/usage/fit/
/// signature.rst`) enforces only required keys: with none, an image
/// without a signature, or signed with another key, still boots. Without
/// a control device tree in the image U-Boot's keys are elsewhere (its own
/// partition or SPI flash): a gap, never a PASS.
fn fit_keys(cx: &Context, out: &mut FamilyResult) {
    let u = cx.inventory.unpacked;
    let Some(fit) = u
        .containers
        .iter()
        .find(|c| c.format == "fit" && fact(c, "signed") == Some("true"))
    else {
        return;
    };
    let controls: Vec<&Container> = u
        .containers
        .iter()
        .filter(|c| c.format == "fit" && fact(c, "control_fdt") == Some("true"))
        .collect();
    if controls.is_empty() {
        out.gaps.push(format!(
            "{} is a signed FIT, but the image holds no U-Boot control device tree (U-Boot's keys may be in a boot loader partition or flash that is not in this image): whether U-Boot refuses an unsigned or differently signed image is not decided",
            fit.chain
        ));
        return;
    }
    let image = cx.inventory.image().map(|f| f.sha256().to_string());
    for c in controls {
        if fact(c, "required_keys").is_some_and(|r| !r.is_empty()) {
            continue;
        }
        out.findings.push(Finding {
            rule: rules::FW_BOOT_002.to_string(),
            path: "image".into(),
            container: c.chain.clone(),
            line: None,
            offset: Some(c.offset),
            evidence: format!(
                "U-Boot control device tree with verified-boot key(s) {}, none marked required (`required = \"conf\"` or `\"image\"`): U-Boot checks a signature that is there but still boots an image without one, so the signature of {} ({}) is not enforced",
                fact(c, "keys").unwrap_or("?"),
                fit.chain,
                fact(fit, "signature_nodes").unwrap_or("signed")
            ),
            sha256: image.clone(),
            secret: None,
            custom: None,
        });
    }
}

/// dm-verity named on a kernel command line: a device-mapper table
/// (`dm-mod.create=`, Linux `Documentation/admin-guide/device-mapper/
/// dm-init.rst`, or the older Chrome OS/Android `dm=`) whose target is
/// `verity`, or Android's `androidboot.veritymode=` (AOSP verified boot
/// 1.0). Returns the words that say so.
pub fn verity_in_cmdline(cmdline: &str) -> Option<String> {
    if let Some(w) = cmdline
        .split_whitespace()
        .find(|w| w.starts_with("androidboot.veritymode="))
    {
        return Some(w.to_string());
    }
    for key in ["dm-mod.create=", "dm="] {
        let starts = cmdline
            .match_indices(key)
            .filter(|(i, _)| *i == 0 || cmdline[..*i].ends_with(|c: char| c.is_whitespace() || c == '"'));
        for (i, _) in starts {
            let rest = &cmdline[i + key.len()..];
            let table = match rest.strip_prefix('"') {
                Some(q) => q.split('"').next().unwrap_or(q),
                None => rest.split_whitespace().next().unwrap_or(""),
            };
            if table
                .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .any(|t| t == "verity")
            {
                let mut shown: String = table.chars().take(80).collect();
                if shown.len() < table.len() {
                    shown.push('…');
                }
                return Some(format!("{key}{shown}"));
            }
        }
    }
    None
}

/// Where the image shows dm-verity in use: hash devices (their superblocks
/// are container facts) and kernel command lines (U-Boot environments,
/// Android boot headers, a FIT's device tree `/chosen/bootargs`).
fn verity_evidence(cx: &Context) -> Vec<String> {
    let inv = cx.inventory;
    let mut out: Vec<String> = inv
        .unpacked
        .containers
        .iter()
        .filter(|c| c.format == "dm-verity")
        .map(|c| format!("a dm-verity hash device at {}", c.chain))
        .collect();
    for u in &inv.uboot {
        let Some(f) = inv.files.get(u.file) else { continue };
        for (name, value) in &u.env.vars {
            if let Some(v) = verity_in_cmdline(value) {
                out.push(format!("`{v}` in U-Boot variable {name} of {}", f.path));
            }
        }
    }
    for c in &inv.unpacked.containers {
        for key in ["cmdline", "bootargs"] {
            if let Some(v) = c.facts.get(key).and_then(|l| verity_in_cmdline(l)) {
                out.push(format!("`{v}` in the kernel command line of {}", c.chain));
            }
        }
    }
    out
}

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut out = FamilyResult::default();
    fit_keys(cx, &mut out);
    let verity = verity_evidence(cx);
    let configs: Vec<&FileEntry> = inv
        .files
        .iter()
        .filter(|f| scanned_by_content(inv.unpacked, f) && is_kconfig(f.data))
        .collect();
    if configs.is_empty() {
        out.gaps.push(if verity.is_empty() {
            "no readable kernel configuration (.config, a config.gz copy or IKCONFIG): kernel module signature enforcement and dm-verity support are not judged".into()
        } else {
            format!(
                "no readable kernel configuration (.config, a config.gz copy or IKCONFIG): kernel module signature enforcement is not judged; dm-verity is in use: {}",
                verity.join("; ")
            )
        });
    }
    for f in configs {
        judge(f, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verity_on_kernel_command_lines() {
        // dm-init.rst's example table.
        let l = "console=ttyS0 dm-mod.create=\"vroot,,,ro,0 1740800 verity 1 /dev/sda1 /dev/sda2 4096 4096 217600 0 sha256 d9b0 5f3a\" root=/dev/dm-0";
        assert!(verity_in_cmdline(l).is_some_and(|v| v.starts_with("dm-mod.create=vroot,,,ro,0 1740800 verity")));
        assert_eq!(
            verity_in_cmdline("root=/dev/mmcblk0p2 androidboot.veritymode=enforcing").as_deref(),
            Some("androidboot.veritymode=enforcing")
        );
        assert!(verity_in_cmdline("dm=\"1 vroot none ro 1,0 2506752 verity payload=ROOT_DEV\"").is_some());
        // A linear table, or `verity` as a value of something else: no.
        assert_eq!(
            verity_in_cmdline("dm-mod.create=\"lroot,,,rw, 0 4096 linear 98:16 0\""),
            None
        );
        assert_eq!(verity_in_cmdline("console=ttyS0 mode=verity"), None);
        assert_eq!(verity_in_cmdline("xdm=verity"), None);
    }

    #[test]
    fn kconfig_lines() {
        let c = parse_kconfig(
            "#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm 4.9.37 Kernel Configuration\n#\nCONFIG_MODULES=y\n# CONFIG_MODULE_SIG is not set\nCONFIG_LOCALVERSION=\"-vendor\"\n",
        );
        assert_eq!(c["CONFIG_MODULES"], ("y".to_string(), 5));
        assert_eq!(c["CONFIG_MODULE_SIG"], ("n".to_string(), 6));
        assert_eq!(c["CONFIG_LOCALVERSION"].0, "-vendor");
        assert!(is_kconfig(
            b"# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_X=y\n"
        ));
        assert!(!is_kconfig(b"CONFIG_X=y\n"));
    }
}
