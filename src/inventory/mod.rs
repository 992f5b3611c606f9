//! Stage 2: a typed model of the unpacked firmware.
//!
//! The inventory borrows file bytes from [`Unpacked`] and adds what checks
//! need: hashes, ELF facts, account stores, key material and component
//! versions, each with the location it came from.

pub mod accounts;
pub mod boot;
pub mod components;
pub mod config;
pub mod elf;
pub mod hashes;
pub mod keys;
pub mod nvram;
pub mod packages;
pub mod pkgfiles;
pub mod stores;
pub mod text;
pub mod version;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::hash::sha256_hex;
use crate::unpack::tree::NodeKind;
use crate::unpack::{Chain, Unpacked};
use boot::BootGraph;
use boot::uboot_env::UbootEnv;
use components::Detection;
use elf::ElfFacts;
use keys::KeyInventory;
pub use stores::{AccountStore, StoreKind};

/// Where a file lives: a filesystem tree, or a decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// Index into [`Unpacked::filesystems`].
    Filesystem(usize),
    /// Index into [`Unpacked::payloads`].
    Payload(usize),
    /// The input image itself.
    Image,
    /// The image's bytes that no container claimed
    /// ([`Unpacked::unclaimed`]), at their image offsets.
    Unclaimed,
}

/// One file of the firmware, with its evidence coordinates.
#[derive(Debug, Clone)]
pub struct FileEntry<'u> {
    pub origin: Origin,
    /// Absolute path inside its filesystem, or `payload`/`image`.
    pub path: String,
    /// The container chain that led to it: the filesystem's or payload's
    /// container, or the image itself.
    pub container: Chain,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub data: &'u [u8],
    pub elf: Option<ElfFacts>,
    /// The bytes whose SHA-256 names this entry in evidence: its own, or
    /// the image's for the image's unclaimed bytes (their offsets are the
    /// image's too).
    hashed: &'u [u8],
    /// Computed when first asked for: few files are cited by evidence, and
    /// hashing every file up front held up a router image's inventory by
    /// about 5 ms (of its 0.15 s scan).
    sha256: OnceLock<String>,
    /// Computed when first asked for, and only for BusyBox: reading the
    /// applet list takes about 0.7 ms for a router's BusyBox, and the
    /// components family and the checks' component assessments both need
    /// it (the second on one thread, after all the families).
    applets: OnceLock<Option<BTreeSet<String>>>,
}

impl FileEntry<'_> {
    /// The SHA-256 (hex) that evidence from this entry cites.
    pub fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| sha256_hex(self.hashed))
    }

    /// The applet names compiled in, when this file is a BusyBox binary
    /// (see [`boot::busybox::applets`]); `None` when no list is found.
    pub fn busybox_applets(&self) -> Option<&BTreeSet<String>> {
        self.applets.get_or_init(|| boot::busybox::applets(self.data)).as_ref()
    }
}

/// A U-Boot environment and the file it was found in.
#[derive(Debug, Clone)]
pub struct UbootFound {
    /// Index into [`Inventory::files`].
    pub file: usize,
    pub env: UbootEnv,
}

/// The typed model handed to the checks.
#[derive(Debug)]
pub struct Inventory<'u> {
    pub unpacked: &'u Unpacked,
    pub files: Vec<FileEntry<'u>>,
    pub account_stores: Vec<AccountStore>,
    /// Key/value entries of configuration files.
    pub configs: Vec<config::ConfigFile>,
    pub keys: KeyInventory,
    pub components: Vec<Detection>,
    /// What each root filesystem starts at boot.
    pub boot: Vec<BootGraph>,
    /// U-Boot environments (compiled-in defaults and partitions).
    pub uboot: Vec<UbootFound>,
}

impl<'u> Inventory<'u> {
    /// Per-file work (hashing, ELF parsing, component search) runs on the
    /// current rayon pool; results are collected in file order, so the
    /// inventory is the same with one thread or many.
    pub fn build(u: &'u Unpacked) -> Self {
        Self::build_hashed(u, None)
    }

    /// [`Inventory::build`], given the SHA-256 of `u.image` when it is known
    /// already (see [`crate::unpack::read_image_hashed`]), so that it is not
    /// computed again.
    pub fn build_hashed(u: &'u Unpacked, image_sha256: Option<&str>) -> Self {
        let mut located: Vec<Located<'u>> = Vec::new();
        for (fi, fsys) in u.filesystems.iter().enumerate() {
            for (path, node) in fsys.tree.iter() {
                if let NodeKind::File(data) = &node.kind {
                    located.push(Located {
                        origin: Origin::Filesystem(fi),
                        path,
                        container: fsys.chain.clone(),
                        mode: node.mode,
                        uid: node.uid,
                        gid: node.gid,
                        data,
                    });
                }
            }
        }
        for (pi, p) in u.payloads.iter().enumerate() {
            located.push(Located::blob(Origin::Payload(pi), "payload", p.chain.clone(), &p.data));
        }
        located.push(Located::blob(
            Origin::Image,
            "image",
            Chain::image(&u.image_name),
            &u.image,
        ));
        if let Some(unclaimed) = &u.unclaimed {
            // Named like the image: its offsets are the image's.
            located.push(Located::blob(
                Origin::Unclaimed,
                "image",
                Chain::image(&u.image_name),
                unclaimed,
            ));
        }
        let mut files: Vec<FileEntry<'u>> = located.into_par_iter().map(Located::entry).collect();
        // The unclaimed bytes are the image's: findings there cite its hash,
        // taken as given when the image was hashed while it was read.
        for f in files.iter_mut() {
            if f.origin == Origin::Unclaimed {
                f.hashed = &u.image;
            }
            if matches!(f.origin, Origin::Image | Origin::Unclaimed)
                && let Some(known) = image_sha256
            {
                let _ = f.sha256.set(known.to_string());
            }
        }

        let text_configs = config::discover(&files);
        // The rest reads the files independently: side by side.
        let ((configs, account_stores), (keys, (components, (boot, uboot)))) = rayon::join(
            || {
                let mut configs = text_configs;
                configs.extend(nvram_blocks(u, &files, &configs));
                let stores = stores::discover(u, &files, &configs);
                (configs, stores)
            },
            || {
                rayon::join(
                    || keys::discover(files.iter().enumerate().filter(|(_, f)| scanned_by_content(u, f))),
                    || {
                        rayon::join(
                            || detect_components(&files),
                            || rayon::join(|| boot::build_all(&u.filesystems), || uboot_envs(&files)),
                        )
                    },
                )
            },
        );
        Inventory {
            unpacked: u,
            files,
            account_stores,
            configs,
            keys,
            components,
            boot,
            uboot,
        }
    }

    /// The input image's own entry (always present).
    pub fn image(&self) -> Option<&FileEntry<'u>> {
        self.files.iter().find(|f| f.origin == Origin::Image)
    }

    /// The entry for `path` in filesystem `fs`.
    pub fn file(&self, fs: usize, path: &str) -> Option<&FileEntry<'u>> {
        self.file_at(Origin::Filesystem(fs), path)
    }

    /// The entry for `path` at `origin`.
    pub fn file_at(&self, origin: Origin, path: &str) -> Option<&FileEntry<'u>> {
        self.files.iter().find(|f| f.origin == origin && f.path == path)
    }
}

/// Whether content searches (embedded records, keys, secrets, NVRAM, YARA)
/// look at this file. Every file of a filesystem, every payload and the
/// image's unclaimed bytes are searched; the image itself only when nothing
/// was unpacked from it, since otherwise its bytes are the containers
/// already searched (compressed bytes hold no text) and its unclaimed
/// bytes, searched as [`Origin::Unclaimed`].
pub fn scanned_by_content(u: &Unpacked, f: &FileEntry) -> bool {
    f.origin != Origin::Image || u.containers.is_empty()
}

/// The components detected in `files`: of several detections of one name
/// and version, the first (most specific: filesystem before payload before
/// image) of the strongest kind of evidence.
fn detect_components(files: &[FileEntry]) -> Vec<Detection> {
    let mut components: Vec<Detection> = files
        .par_iter()
        .enumerate()
        .flat_map_iter(|(i, f)| components::detect(i, &f.path, f.data))
        .collect();
    // The strongest kind of evidence wins (a kernel's own banner over a
    // module's vermagic).
    let mut best = std::collections::BTreeMap::new();
    for d in &components {
        let m = best.entry((d.name, d.version.clone())).or_insert(d.method);
        *m = (*m).min(d.method);
    }
    let mut seen = std::collections::BTreeSet::new();
    components.retain(|d| {
        best.get(&(d.name, d.version.clone())) == Some(&d.method) && seen.insert((d.name, d.version.clone()))
    });
    components::drop_echoes_of_packages(&mut components);
    components
}

/// NVRAM blocks ([`nvram`]) in every file searched by content that is not
/// already a text configuration file or a program, as configuration entries
/// located by offset. No size limit: one pass over the NUL bytes is cheap,
/// and a limit would be a region silently not searched.
fn nvram_blocks(u: &Unpacked, files: &[FileEntry], text_configs: &[config::ConfigFile]) -> Vec<config::ConfigFile> {
    files
        .par_iter()
        .enumerate()
        .filter(|(i, f)| scanned_by_content(u, f) && f.elf.is_none() && !text_configs.iter().any(|c| c.file == *i))
        .filter_map(|(i, f)| {
            let entries = nvram::entries(f.data);
            (!entries.is_empty()).then_some(config::ConfigFile {
                file: i,
                entries,
                unread: None,
            })
        })
        .collect()
}

/// U-Boot environments in every file, payload and the image; the same
/// environment seen twice (a payload carved again from the image) is kept
/// once, at its most specific location.
fn uboot_envs(files: &[FileEntry]) -> Vec<UbootFound> {
    let per_file: Vec<Vec<UbootEnv>> = files
        .par_iter()
        .map(|f| {
            if memchr::memmem::find(f.data, b"boot").is_none() {
                return Vec::new();
            }
            boot::uboot_env::find(f.data)
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (i, envs) in per_file.into_iter().enumerate() {
        for env in envs {
            if seen.insert(env.vars.clone()) {
                out.push(UbootFound { file: i, env });
            }
        }
    }
    out
}

/// A file's coordinates, before the per-file work.
struct Located<'u> {
    origin: Origin,
    path: &'u str,
    container: Chain,
    mode: u32,
    uid: u32,
    gid: u32,
    data: &'u [u8],
}

impl<'u> Located<'u> {
    fn blob(origin: Origin, path: &'u str, container: Chain, data: &'u [u8]) -> Self {
        Located {
            origin,
            path,
            container,
            mode: 0,
            uid: 0,
            gid: 0,
            data,
        }
    }

    fn entry(self) -> FileEntry<'u> {
        FileEntry {
            origin: self.origin,
            path: self.path.to_string(),
            container: self.container,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            data: self.data,
            elf: elf::facts(self.data),
            hashed: self.data,
            sha256: OnceLock::new(),
            applets: OnceLock::new(),
        }
    }
}
