//! Write unpacked filesystem trees to a directory, for `fwcert unpack -o`.
//!
//! What lands on disk, under `root`:
//! - `fs-NN/` per filesystem, holding its directories and regular files;
//! - `payload-NN.bin` per decoded payload (a kernel, a bootloader);
//! - `FWCERT-INDEX.tsv`, which names the container chain of every
//!   `fs-NN` and payload, and lists what is not created on disk.
//!
//! The tree was already confined by the [`Sink`](super::tree::Sink): no
//! entry has `..` in it or sits beneath a symlink, so every path stays
//! under `fs-NN/`. On top of that this writer:
//! - opens every regular file and payload with `create_new`, so it never
//!   opens an existing path and never follows a symlink that is already
//!   in the output directory;
//! - on Unix, creates symlinks as symlinks with the target exactly as
//!   stored, never resolving it (elsewhere they are listed in the index);
//! - creates no hard links, device nodes, FIFOs or sockets: they are only
//!   listed in the index (`hardlink`, `char-device`, `block-device`,
//!   `fifo`, `socket`);
//! - applies none of the stored metadata: no permission bits (so no
//!   setuid, setgid or execute bit), no owner, no times. Files and
//!   directories get the mode the host gives new ones (its umask), so
//!   nothing extracted can be run by accident.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Unpacked;
use super::tree::NodeKind;
use crate::error::{Error, Result};

/// Write every filesystem of `u` under `root/fs-NN/`, plus every decoded
/// payload as `root/payload-NN.bin`. Returns the paths written.
pub fn write_all(u: &Unpacked, root: &Path) -> Result<Vec<PathBuf>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::WriteOutput { path, source }
    };
    fs::create_dir_all(root).map_err(io(root))?;
    let mut written = Vec::new();
    let mut listing = String::new();
    for (i, fsys) in u.filesystems.iter().enumerate() {
        let base = root.join(format!("fs-{i:02}"));
        fs::create_dir(&base).map_err(io(&base))?;
        listing.push_str(&format!("fs-{i:02}\t{}\n", fsys.chain));
        for (path, node) in fsys.tree.iter() {
            if path == "/" {
                continue;
            }
            let target = base.join(path.trim_start_matches('/'));
            match &node.kind {
                NodeKind::Dir => fs::create_dir_all(&target).map_err(io(&target))?,
                NodeKind::File(data) => {
                    let mut f = fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&target)
                        .map_err(io(&target))?;
                    f.write_all(data).map_err(io(&target))?;
                    written.push(target);
                }
                NodeKind::Symlink(t) => {
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(t, &target).map_err(io(&target))?;
                    #[cfg(not(unix))]
                    listing.push_str(&format!("fs-{i:02}{path}\tsymlink\t{t}\n"));
                }
                NodeKind::HardLink(t) => listing.push_str(&format!("fs-{i:02}{path}\thardlink\t{t}\n")),
                NodeKind::CharDevice { major, minor } => {
                    listing.push_str(&format!("fs-{i:02}{path}\tchar-device\t{major}:{minor}\n"))
                }
                NodeKind::BlockDevice { major, minor } => {
                    listing.push_str(&format!("fs-{i:02}{path}\tblock-device\t{major}:{minor}\n"))
                }
                NodeKind::Fifo => listing.push_str(&format!("fs-{i:02}{path}\tfifo\n")),
                NodeKind::Socket => listing.push_str(&format!("fs-{i:02}{path}\tsocket\n")),
            }
        }
    }
    for (i, p) in u.payloads.iter().enumerate() {
        let target = root.join(format!("payload-{i:02}.bin"));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(io(&target))?;
        f.write_all(&p.data).map_err(io(&target))?;
        listing.push_str(&format!("payload-{i:02}.bin\t{}\n", p.chain));
        written.push(target);
    }
    let index = root.join("FWCERT-INDEX.tsv");
    fs::write(&index, listing).map_err(io(&index))?;
    Ok(written)
}
