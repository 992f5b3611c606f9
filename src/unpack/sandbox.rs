//! Defence in depth for `fwcert unpack -o`: before anything is decoded, the
//! process gives up the right to touch the file system anywhere but the
//! output directory, with Linux's Landlock where the kernel has it.
//!
//! The confined sink (`unpack::tree`, `materialize`) already refuses every
//! path outside the root; this is the second wall, for a bug in it. Landlock
//! applies to the calling thread and to threads started after it, so it is
//! set up before the worker pool starts. On a kernel without Landlock (or
//! another OS) nothing is restricted and the status says so.

use std::path::Path;

/// What confinement is in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confinement {
    /// Every file-system access the kernel can restrict is restricted.
    Full,
    /// The kernel restricts some accesses only (an older Landlock ABI).
    Partial,
    /// Nothing is restricted, and why.
    Off(String),
}

impl Confinement {
    /// One line for the `unpack` listing.
    pub fn describe(&self) -> String {
        match self {
            Confinement::Full => "landlock: on (file access confined to the output directory)".into(),
            Confinement::Partial => {
                "landlock: partly on (this kernel's Landlock confines some file access only)".into()
            }
            Confinement::Off(why) => format!("landlock: off ({why})"),
        }
    }
}

/// Confine this thread, and the threads it starts from now on, to `dir`:
/// no file outside it can be read, written, created or executed.
#[cfg(target_os = "linux")]
pub fn confine_to(dir: &Path) -> Confinement {
    use landlock::{
        ABI, Access, AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    };
    let abi = ABI::V5;
    let attempt = || -> Result<RulesetStatus, String> {
        let status = Ruleset::default()
            .handle_access(AccessFs::from_all(abi))
            .map_err(|e| e.to_string())?
            .create()
            .map_err(|e| e.to_string())?
            .add_rule(PathBeneath::new(
                PathFd::new(dir).map_err(|e| e.to_string())?,
                AccessFs::from_all(abi),
            ))
            .map_err(|e| e.to_string())?
            .restrict_self()
            .map_err(|e| e.to_string())?;
        Ok(status.ruleset)
    };
    match attempt() {
        Ok(RulesetStatus::FullyEnforced) => Confinement::Full,
        Ok(RulesetStatus::PartiallyEnforced) => Confinement::Partial,
        Ok(RulesetStatus::NotEnforced) => Confinement::Off("the kernel does not support Landlock".into()),
        Err(e) => Confinement::Off(e),
    }
}

/// Confine this thread to `dir`: not available off Linux.
#[cfg(not(target_os = "linux"))]
pub fn confine_to(_dir: &Path) -> Confinement {
    Confinement::Off("Landlock is Linux only".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Landlock binds the thread that asks and the threads it starts, so
    /// the test confines a thread of its own.
    #[test]
    fn a_confined_thread_writes_inside_its_directory_only() {
        let inside = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let (i, o) = (inside.path().to_path_buf(), outside.path().to_path_buf());
        let (confinement, wrote_inside, wrote_outside, read_outside) = std::thread::spawn(move || {
            let c = confine_to(&i);
            let inside_ok = std::fs::write(i.join("a.txt"), b"x").is_ok();
            let outside_ok = std::fs::write(o.join("b.txt"), b"x").is_ok();
            let read_ok = std::fs::read_dir(&o).is_ok();
            (c, inside_ok, outside_ok, read_ok)
        })
        .join()
        .unwrap();
        assert!(wrote_inside);
        match confinement {
            Confinement::Full | Confinement::Partial => {
                assert!(!wrote_outside, "{confinement:?} let a write escape");
                assert!(!read_outside, "{confinement:?} let a read escape");
                assert!(!outside.path().join("b.txt").exists());
            }
            // Nothing to prove on a kernel without Landlock; say so.
            Confinement::Off(why) => eprintln!("landlock unavailable here ({why}): confinement not tested"),
        }
        // This thread was never confined.
        assert!(std::fs::write(outside.path().join("c.txt"), b"x").is_ok());
    }
}
