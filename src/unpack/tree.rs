//! The one sink every extractor writes through: an in-memory filesystem tree.
//!
//! Extractors never touch the host filesystem. They hand entry names exactly
//! as the container stores them to [`Sink`], which:
//! - normalises them to absolute paths inside the tree (`/etc/shadow`),
//! - refuses `..` components, NUL bytes and empty names,
//! - refuses to place anything beneath a symlink or a non-directory, so no
//!   write can go *through* a link,
//! - records device nodes, FIFOs and sockets as metadata only,
//! - charges the shared [`Budget`] for every file and byte.
//!
//! A refused entry is skipped and remembered; the extractor marks its
//! container `partial` so the verdicts fail closed. Materialising a tree on
//! disk (for `fwcert unpack -o DIR`) is done by [`super::materialize`], which
//! applies the same rules again.

use std::collections::BTreeMap;

use super::Bytes;
use super::budget::{Budget, BudgetExceeded};

/// What kind of node a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    File(Bytes),
    Dir,
    /// The link target exactly as stored; it is never followed.
    Symlink(String),
    /// A hard link to another path of the same tree (as stored by tar/cpio).
    HardLink(String),
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
    Fifo,
    Socket,
}

/// One node with its Unix metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Permission bits including setuid/setgid/sticky (`0o7777` mask).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Node {
    pub fn file(data: impl Into<Bytes>, mode: u32) -> Self {
        Node {
            kind: NodeKind::File(data.into()),
            mode,
            uid: 0,
            gid: 0,
        }
    }

    pub fn dir(mode: u32) -> Self {
        Node {
            kind: NodeKind::Dir,
            mode,
            uid: 0,
            gid: 0,
        }
    }

    /// The file's bytes, if it is a regular file.
    pub fn data(&self) -> Option<&[u8]> {
        match &self.kind {
            NodeKind::File(d) => Some(d),
            _ => None,
        }
    }
}

/// Why the sink refused an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("entry `{0}` has an empty or invalid name")]
    InvalidName(String),
    #[error("entry `{0}` escapes the extraction root through `..`")]
    Traversal(String),
    #[error("entry `{0}` would be written beneath `{1}`, which is not a directory")]
    ThroughNonDirectory(String, String),
    #[error("entry `{0}` appears twice; the first one is kept")]
    Duplicate(String),
    #[error(transparent)]
    Budget(#[from] BudgetExceeded),
}

/// A filesystem tree keyed by normalised absolute path. The root is `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsTree {
    nodes: BTreeMap<String, Node>,
}

impl FsTree {
    pub fn new() -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_string(), Node::dir(0o755));
        FsTree { nodes }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// All nodes in path order (the root first).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// The direct children of directory `dir`, by name in byte order.
    pub fn children<'t>(&'t self, dir: &str) -> impl Iterator<Item = (&'t str, &'t Node)> + 't {
        let base = if dir == "/" {
            String::new()
        } else {
            dir.trim_end_matches('/').to_string()
        };
        let lo = format!("{base}/");
        let start = lo.clone();
        self.nodes
            .range(start..)
            .take_while(move |(p, _)| p.starts_with(&lo))
            .filter_map(move |(p, n)| {
                let name = p.get(base.len() + 1..)?;
                (!name.is_empty() && !name.contains('/')).then_some((name, n))
            })
    }

    /// Regular files in path order.
    pub fn files(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.iter().filter_map(|(p, n)| n.data().map(|d| (p, d)))
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// Resolve `path` following symlinks *inside the tree only*, as the
    /// device would see it, with a hop limit. Links that point outside the
    /// tree cannot exist: absolute targets are taken relative to the tree's
    /// root, as they would be inside the device's root filesystem.
    pub fn resolve(&self, path: &str) -> Option<(&str, &Node)> {
        self.resolve_in(path, "")
    }

    /// Like [`FsTree::resolve`], for a root filesystem nested at `root`
    /// (such as `/rootfs-arm`): absolute link targets land under `root`, and
    /// `..` never climbs above it, as on the device once it has booted.
    pub fn resolve_in(&self, path: &str, root: &str) -> Option<(&str, &Node)> {
        let root = root.trim_end_matches('/');
        let mut current = path.to_string();
        for _ in 0..32 {
            let (key, node) = self.nodes.get_key_value(current.as_str())?;
            match &node.kind {
                NodeKind::Symlink(target) => {
                    let inner = key.strip_prefix(root).filter(|r| r.starts_with('/'))?;
                    let joined = join_link(parent_of(inner), target)?;
                    current = if joined == "/" && !root.is_empty() {
                        root.to_string()
                    } else {
                        format!("{root}{joined}")
                    };
                }
                // Hard links name a path of the archive itself, not of the device.
                NodeKind::HardLink(target) => current = join_link(parent_of(key), target)?,
                _ => return Some((key.as_str(), node)),
            }
        }
        None
    }

    fn insert_checked(&mut self, path: String, node: Node) -> Result<(), Refusal> {
        if self.nodes.contains_key(&path) {
            return Err(Refusal::Duplicate(path));
        }
        // Every ancestor must be a directory; create missing ones.
        let mut missing = Vec::new();
        let mut ancestor = parent_of(&path).to_string();
        loop {
            match self.nodes.get(&ancestor) {
                Some(n) if n.kind == NodeKind::Dir => break,
                Some(_) => return Err(Refusal::ThroughNonDirectory(path, ancestor)),
                None => missing.push(ancestor.clone()),
            }
            ancestor = parent_of(&ancestor).to_string();
        }
        for dir in missing {
            self.nodes.insert(dir, Node::dir(0o755));
        }
        self.nodes.insert(path, node);
        Ok(())
    }
}

/// The parent path of a normalised path (`/` for top-level entries).
pub fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Where a link at `base` pointing to `target` lands inside the tree.
/// `None` if the target is empty or climbs above the root.
fn join_link(base: &str, target: &str) -> Option<String> {
    let joined = if target.starts_with('/') {
        target.to_string()
    } else {
        format!("{base}/{target}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                // Inside a device `..` at the root stays at the root.
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Normalise an entry name from a container into an absolute tree path.
///
/// Leading `/` and `./` are dropped (archives store both), `.` components are
/// dropped, and any `..` component is refused outright rather than resolved:
/// a legitimate firmware archive never needs one, and resolving it is how
/// extraction escapes happen.
pub fn normalize(raw: &str) -> Result<String, Refusal> {
    if raw.contains('\0') {
        return Err(Refusal::InvalidName(raw.replace('\0', "\\0")));
    }
    let mut parts = Vec::new();
    for c in raw.split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => return Err(Refusal::Traversal(raw.to_string())),
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return Err(Refusal::InvalidName(raw.to_string()));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// The write side: a tree under construction plus the shared budget.
pub struct Sink<'b> {
    tree: FsTree,
    budget: &'b mut Budget,
    refusals: Vec<Refusal>,
}

impl<'b> Sink<'b> {
    pub fn new(budget: &'b mut Budget) -> Self {
        Sink {
            tree: FsTree::new(),
            budget,
            refusals: Vec::new(),
        }
    }

    pub fn budget(&mut self) -> &mut Budget {
        self.budget
    }

    /// Add an entry. On a non-budget refusal the entry is skipped and the
    /// refusal remembered, and `Ok(false)` is returned; a budget refusal is
    /// returned as an error so the extractor stops.
    pub fn add(&mut self, raw_name: &str, node: Node) -> Result<bool, BudgetExceeded> {
        match self.try_add(raw_name, node) {
            Ok(()) => Ok(true),
            Err(Refusal::Budget(b)) => Err(b),
            Err(r) => {
                self.refusals.push(r);
                Ok(false)
            }
        }
    }

    fn try_add(&mut self, raw_name: &str, node: Node) -> Result<(), Refusal> {
        let path = normalize(raw_name)?;
        // Directories may be announced after their content, or twice.
        if node.kind == NodeKind::Dir
            && let Some(existing) = self.tree.nodes.get_mut(&path)
            && existing.kind == NodeKind::Dir
        {
            existing.mode = node.mode;
            existing.uid = node.uid;
            existing.gid = node.gid;
            return Ok(());
        }
        if let NodeKind::File(data) = &node.kind {
            self.budget.charge_bytes(data.len() as u64)?;
        }
        self.budget.charge_file()?;
        self.tree.insert_checked(path, node)
    }

    /// The entries that were refused, in the order they came.
    pub fn refusals(&self) -> &[Refusal] {
        &self.refusals
    }

    pub fn finish(self) -> (FsTree, Vec<Refusal>) {
        (self.tree, self.refusals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::budget::Limits;

    #[test]
    fn normalize_strips_roots_and_dots_but_refuses_parent_components() {
        assert_eq!(normalize("./etc//shadow").unwrap(), "/etc/shadow");
        assert_eq!(normalize("/etc/./passwd").unwrap(), "/etc/passwd");
        assert!(matches!(normalize("../../etc/passwd"), Err(Refusal::Traversal(_))));
        assert!(matches!(normalize("a/../../b"), Err(Refusal::Traversal(_))));
        assert!(matches!(normalize("..\\..\\win"), Err(Refusal::Traversal(_))));
        assert!(matches!(normalize("./"), Err(Refusal::InvalidName(_))));
        assert!(matches!(normalize("a\0b"), Err(Refusal::InvalidName(_))));
    }

    #[test]
    fn nothing_is_written_beneath_a_symlink() {
        let mut budget = Budget::new(Limits::default(), 0);
        let mut sink = Sink::new(&mut budget);
        let link = Node {
            kind: NodeKind::Symlink("/etc".into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        };
        assert_eq!(sink.add("evil", link), Ok(true));
        assert_eq!(sink.add("evil/passwd", Node::file(&b"x"[..], 0o644)), Ok(false));
        let (tree, refusals) = sink.finish();
        assert!(tree.get("/evil/passwd").is_none());
        assert!(matches!(refusals[0], Refusal::ThroughNonDirectory(..)));
    }

    #[test]
    fn parents_are_created_and_duplicates_refused() {
        let mut budget = Budget::new(Limits::default(), 0);
        let mut sink = Sink::new(&mut budget);
        assert_eq!(sink.add("etc/init.d/rcS", Node::file(&b"a"[..], 0o755)), Ok(true));
        assert_eq!(sink.add("etc/init.d/rcS", Node::file(&b"b"[..], 0o755)), Ok(false));
        assert_eq!(sink.add("etc", Node::dir(0o700)), Ok(true));
        let (tree, refusals) = sink.finish();
        assert_eq!(tree.get("/etc/init.d").map(|n| &n.kind), Some(&NodeKind::Dir));
        assert_eq!(tree.get("/etc").map(|n| n.mode), Some(0o700));
        assert_eq!(tree.get("/etc/init.d/rcS").and_then(Node::data), Some(&b"a"[..]));
        assert_eq!(refusals.len(), 1);
    }

    #[test]
    fn budgets_stop_the_sink() {
        let limits = Limits {
            min_total_bytes: 4,
            max_total_bytes: 4,
            ..Limits::default()
        };
        let mut budget = Budget::new(limits, 0);
        let mut sink = Sink::new(&mut budget);
        assert_eq!(sink.add("a", Node::file(&b"1234"[..], 0o644)), Ok(true));
        assert_eq!(
            sink.add("b", Node::file(&b"5"[..], 0o644)),
            Err(BudgetExceeded::TotalBytes(4))
        );
    }

    #[test]
    fn resolve_follows_links_inside_the_tree_only() {
        let mut budget = Budget::new(Limits::default(), 0);
        let mut sink = Sink::new(&mut budget);
        sink.add("bin/busybox", Node::file(&b"elf"[..], 0o755)).unwrap();
        let link = |t: &str| Node {
            kind: NodeKind::Symlink(t.into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        };
        sink.add("bin/sh", link("busybox")).unwrap();
        sink.add("usr/sbin/telnetd", link("../../bin/busybox")).unwrap();
        sink.add("escape", link("../../../../bin/busybox")).unwrap();
        sink.add("loop", link("/loop")).unwrap();
        let (tree, _) = sink.finish();
        assert_eq!(tree.resolve("/bin/sh").map(|r| r.0), Some("/bin/busybox"));
        assert_eq!(tree.resolve("/usr/sbin/telnetd").map(|r| r.0), Some("/bin/busybox"));
        assert_eq!(tree.resolve("/escape").map(|r| r.0), Some("/bin/busybox"));
        assert_eq!(tree.resolve("/loop"), None);
    }

    #[test]
    fn resolve_in_keeps_absolute_links_inside_a_nested_root() {
        let mut budget = Budget::new(Limits::default(), 0);
        let mut sink = Sink::new(&mut budget);
        sink.add("r/bin/busybox", Node::file(&b"elf"[..], 0o755)).unwrap();
        sink.add("bin/busybox", Node::file(&b"outer"[..], 0o755)).unwrap();
        let link = |t: &str| Node {
            kind: NodeKind::Symlink(t.into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        };
        sink.add("r/sbin/init", link("/bin/busybox")).unwrap();
        sink.add("r/usr/sbin/telnetd", link("../../../../bin/busybox")).unwrap();
        let (tree, _) = sink.finish();
        assert_eq!(
            tree.resolve_in("/r/sbin/init", "/r").map(|r| r.0),
            Some("/r/bin/busybox")
        );
        assert_eq!(
            tree.resolve_in("/r/usr/sbin/telnetd", "/r").map(|r| r.0),
            Some("/r/bin/busybox")
        );
        // Without the root the absolute target lands in the outer tree.
        assert_eq!(tree.resolve("/r/sbin/init").map(|r| r.0), Some("/bin/busybox"));
    }
}
