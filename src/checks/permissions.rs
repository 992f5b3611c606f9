//! The `permissions` family: file modes and owners that hand root to
//! anyone who gets a foothold, read from the filesystem's own metadata
//! (never from the host the image was unpacked on).
//!
//! Only filesystem formats that store POSIX modes and owners are judged;
//! every other tree (FAT, ZIP-based vendor images, 7z, ROMFS …) is a
//! coverage gap of this family, never a pass. Findings are located at
//! offset 0 of the file: the evidence is the file's metadata, not a place
//! inside it. The rules are listed in `docs/rules/permissions.md`,
//! generated from `checks/permissions/`.

use super::{Context, FamilyResult, Finding};
use crate::inventory::Inventory;
use crate::rules;
use crate::unpack::tree::{Node, NodeKind};

/// Filesystem formats that store a POSIX mode, owner and group per entry.
const POSIX_FORMATS: &[&str] = &["squashfs", "cramfs", "jffs2", "ubifs", "ext", "cpio", "tar", "yaffs2"];

/// Directories whose files run as, or configure, the system: a file there
/// that others can change is a way to root.
const SYSTEM_DIRS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/lib",
    "/usr/lib",
    "/etc",
    "/init",
];

/// Paths quoted in an aggregated finding.
const EXAMPLES: usize = 5;

const SETUID: u32 = 0o4000;
const SETGID: u32 = 0o2000;
const STICKY: u32 = 0o1000;
const OTHERS_WRITE: u32 = 0o002;
const OTHERS_READ: u32 = 0o004;

/// Whether `path` is inside (or is) one of [`SYSTEM_DIRS`] of the root at
/// `root` (`""` for the tree's own root).
fn in_system_dir(path: &str, root: &str) -> bool {
    let Some(rel) = path.strip_prefix(root) else {
        return false;
    };
    SYSTEM_DIRS
        .iter()
        .any(|d| rel == *d || rel.strip_prefix(d).is_some_and(|r| r.starts_with('/')))
}

/// `0o4755` → `4755`.
fn octal(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

fn kind_name(n: &Node) -> Option<&'static str> {
    match n.kind {
        NodeKind::File(_) => Some("file"),
        NodeKind::Dir => Some("directory"),
        _ => None,
    }
}

pub fn check(cx: &Context) -> FamilyResult {
    let inv = cx.inventory;
    let mut out = FamilyResult::default();
    for (fi, fs) in inv.unpacked.filesystems.iter().enumerate() {
        if !POSIX_FORMATS.contains(&fs.format) {
            out.gaps.push(format!(
                "{}: {} stores no POSIX modes and owners, so permissions were not checked",
                fs.chain, fs.format
            ));
            continue;
        }
        // A filesystem that does not look like a root filesystem is judged
        // from its own top, as if mounted at `/`.
        let mut roots = fs.root_prefixes();
        if roots.is_empty() {
            roots.push(String::new());
        }
        let mut writable: Vec<(&str, &str, u32)> = Vec::new();
        let mut foreign: Vec<(&str, &str, u32, u32)> = Vec::new();
        for (path, node) in fs.tree.iter() {
            let Some(kind) = kind_name(node) else { continue };
            let root = roots
                .iter()
                .filter(|r| path.starts_with(r.as_str()))
                .max_by_key(|r| r.len())
                .map(String::as_str);
            let finding = |rule: &str, evidence: String| at_file(inv, fi, path, rule, evidence);
            if kind == "file" && node.mode & (SETUID | SETGID) != 0 && (node.uid == 0 || node.gid == 0) {
                let bits = match (node.mode & SETUID != 0, node.mode & SETGID != 0) {
                    (true, true) => "setuid and setgid",
                    (true, false) => "setuid",
                    _ => "setgid",
                };
                let busybox = path.ends_with("/busybox") || path.ends_with("/busybox.nosuid");
                let note = if busybox {
                    ": every BusyBox applet, shells included, then runs with root privileges"
                } else {
                    ""
                };
                out.findings.push(finding(
                    rules::FW_PERM_001,
                    format!(
                        "{path} is {bits} root (mode {}, owner {}:{}){note}",
                        octal(node.mode),
                        node.uid,
                        node.gid
                    ),
                ));
            }
            let sticky_dir = kind == "directory" && node.mode & STICKY != 0;
            let system = root.is_some_and(|r| in_system_dir(path, r));
            if system && node.mode & OTHERS_WRITE != 0 && !sticky_dir {
                writable.push((path, kind, node.mode));
            }
            if system && (node.uid != 0 || (node.gid != 0 && node.mode & 0o020 != 0)) {
                foreign.push((path, kind, node.uid, node.gid));
            }
            if kind == "file"
                && root.is_some_and(|r| path == format!("{r}/etc/shadow") || path == format!("{r}/etc/master.passwd"))
                && node.mode & OTHERS_READ != 0
            {
                out.findings.push(finding(
                    rules::FW_PERM_003,
                    format!(
                        "{path} holds the password hashes and any user can read it (mode {})",
                        octal(node.mode)
                    ),
                ));
            }
        }
        // A root filesystem built without fakeroot makes every file of a
        // directory foreign-owned or world-writable: one finding per
        // filesystem, at its first entry, says how many and shows a few.
        if let Some((first, ..)) = writable.first() {
            let shown: Vec<String> = writable
                .iter()
                .take(EXAMPLES)
                .map(|(p, k, m)| format!("{k} {p} ({})", octal(*m)))
                .collect();
            out.findings.push(at_file(
                inv,
                fi,
                first,
                rules::FW_PERM_002,
                format!(
                    "{} entries in system directories can be changed by any user: {}{}",
                    writable.len(),
                    shown.join(", "),
                    if writable.len() > EXAMPLES { ", …" } else { "" }
                ),
            ));
        }
        if let Some((first, ..)) = foreign.first() {
            let shown: Vec<String> = foreign
                .iter()
                .take(EXAMPLES)
                .map(|(p, k, u, g)| format!("{k} {p} ({u}:{g})"))
                .collect();
            out.findings.push(at_file(
                inv,
                fi,
                first,
                rules::FW_PERM_004,
                format!(
                    "{} entries in system directories belong to a user other than root (or a writable non-root group): {}{}",
                    foreign.len(),
                    shown.join(", "),
                    if foreign.len() > EXAMPLES { ", …" } else { "" }
                ),
            ));
        }
    }
    out
}

/// A finding about `path`'s metadata in filesystem `fs`.
fn at_file(inv: &Inventory, fs: usize, path: &str, rule: &str, evidence: String) -> Finding {
    Finding {
        rule: rule.to_string(),
        path: path.to_string(),
        container: inv.unpacked.filesystems[fs].chain.clone(),
        line: None,
        // The evidence is the file's metadata, not a place inside it.
        offset: Some(0),
        evidence,
        sha256: inv.file(fs, path).map(|f| f.sha256().to_string()),
        secret: None,
        custom: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_directories_are_matched_by_whole_components() {
        assert!(in_system_dir("/etc/init.d/rcS", ""));
        assert!(in_system_dir("/bin", ""));
        assert!(!in_system_dir("/etcetera/x", ""));
        assert!(!in_system_dir("/tmp/x", ""));
        assert!(in_system_dir("/rootfs-arm/usr/bin/x", "/rootfs-arm"));
        assert!(!in_system_dir("/rootfs-arm/usr/bin/x", ""));
        assert_eq!(octal(0o104755), "4755");
    }

    /// A ZIP stores no owners: the family says it could not look, and a
    /// mode it cannot trust fails nothing.
    #[test]
    fn a_tree_without_posix_metadata_is_a_gap_not_a_pass() {
        let zip = crate::unpack::formats::zip::build(&[("etc/shadow", b"root:*:1:0:::::\n", false, 0)]);
        let u = crate::unpack::unpack(zip.into(), "fw.zip", &Default::default());
        let inv = Inventory::build(&u);
        let rules = crate::rules::Rules::embedded().unwrap();
        let cx = Context {
            inventory: &inv,
            rules: &rules.checks,
            options: &Default::default(),
        };
        let r = check(&cx);
        assert!(r.findings.is_empty());
        assert_eq!(
            r.gaps,
            ["fw.zip@0x0:zip: zip stores no POSIX modes and owners, so permissions were not checked"]
        );
    }
}
