//! `fwcert unpack`'s listing: the container tree with each container's
//! status, offset, size and problems, then the filesystems, the
//! unidentified gaps and the incidents.

use std::fmt::Write as _;

use crate::unpack::{GapKind, Unpacked};

/// The listing of an unpack, one line per container (indented by nesting
/// depth), filesystem, unidentified gap and incident.
pub fn unpack_listing(u: &Unpacked) -> String {
    let mut out = String::new();
    for c in &u.containers {
        let indent = c.chain.depth().saturating_sub(1) * 2;
        let _ = writeln!(
            out,
            "{:indent$}{:<9} {:#010x} {:>10}  {}  {}",
            "",
            format!("{:?}", c.status).to_lowercase(),
            c.offset,
            c.size,
            c.format,
            c.description,
        );
        for p in &c.problems {
            let _ = writeln!(out, "{:indent$}  ! {p}", "");
        }
    }
    for f in &u.filesystems {
        let _ = writeln!(
            out,
            "filesystem {}: {} entries{}",
            f.chain,
            f.tree.len(),
            if f.is_rootfs() { " (root filesystem)" } else { "" }
        );
    }
    for g in u.gaps.iter().filter(|g| g.kind == GapKind::Unidentified) {
        let _ = writeln!(
            out,
            "gap       {:#010x} {:>10}  unidentified bytes in {} (entropy {:.2} bits/byte)",
            g.offset, g.size, g.location, g.entropy
        );
    }
    for i in &u.incidents {
        let _ = writeln!(out, "! {}: {}", i.location, i.message);
    }
    out
}
