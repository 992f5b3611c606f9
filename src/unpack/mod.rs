//! Stage 1: turn image bytes into containers, gaps and filesystem trees.
//!
//! [`unpack`] runs one aho-corasick pass of the format table's magics over
//! each raw blob, validates every hit with its format's `parse`, resolves
//! overlaps (the earliest valid hit wins and hides the hits inside its
//! extent), extracts, and recurses into what came out:
//! - a sub-range of the same bytes is carved again in place;
//! - a decoded payload is carved as a new blob;
//! - a filesystem tree is kept, and each of its files is identified by its
//!   leading magic only (carving every ELF would mostly find noise).
//!
//! Every container records its chain, its status and the reasons it is not
//! complete; [`Unpacked::complete`] is what the verdict logic fails closed on.

pub mod budget;
pub mod bytes;
pub mod chain;
pub mod decode;
pub mod format;
pub mod formats;
pub mod materialize;
mod read;
pub mod sandbox;
pub mod tree;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;
use serde::Serialize;

use budget::{Budget, Limits};
pub use chain::{Chain, Link};
use format::{Child, Confidence, ExtractCtx, ExtractError, Parsed};
use formats::FORMATS;
pub use read::{ReadImage, read_image, read_image_hashed};
use tree::FsTree;

use crate::progress::Progress;

/// The byte type of every unpacked blob: the image, decoded payloads and
/// files. Cloning and sub-slicing share the bytes; converting a `Vec<u8>`
/// into it does not copy.
pub use ::bytes::Bytes;

/// Options for one unpack.
#[derive(Debug, Clone, Default)]
pub struct UnpackOptions {
    pub limits: Limits,
    /// Told about every container entered; never affects the result.
    pub progress: Progress,
}

/// How far a container was unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Complete,
    Partial,
    Failed,
}

/// One recognised container.
#[derive(Debug, Clone)]
pub struct Container {
    pub format: &'static str,
    /// Offset within the blob it was found in (see the chain rules in
    /// `docs/report-schema.md`).
    pub offset: u64,
    pub size: u64,
    /// The chain that names this container, e.g.
    /// `fw.bin@0x0:tplink → @0x120200:squashfs`.
    pub chain: Chain,
    pub status: Status,
    /// Why the container is partial or failed; empty when complete.
    pub problems: Vec<String>,
    pub description: String,
    pub confidence: Confidence,
    pub facts: BTreeMap<String, String>,
}

/// What a region that no format claimed looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GapKind {
    /// Only 0x00 or only 0xFF bytes: erased flash or alignment.
    Padding,
    /// Anything else: code, data, or an unsupported or encrypted container.
    Unidentified,
}

/// A region of a raw blob that no format claimed.
#[derive(Debug, Clone)]
pub struct Gap {
    /// The chain of the blob the gap is in: the image itself, or the
    /// container whose bytes it is part of.
    pub location: Chain,
    pub offset: u64,
    pub size: u64,
    pub kind: GapKind,
    /// Shannon entropy in bits per byte.
    pub entropy: f64,
    /// Whether `offset` is an offset in the image itself, rather than in a
    /// decoded payload or a file whose own bytes were carved.
    pub in_image: bool,
}

/// A filesystem tree and where it came from.
#[derive(Debug, Clone)]
pub struct Filesystem {
    /// The chain of the container that holds it.
    pub chain: Chain,
    pub format: &'static str,
    pub tree: FsTree,
}

impl Filesystem {
    /// Whether this tree looks like a root filesystem (`/etc` plus a
    /// `/bin`, `/sbin` or `/init`).
    pub fn is_rootfs(&self) -> bool {
        self.looks_like_root("")
    }

    /// Directories that hold a root filesystem: `""` for the tree itself,
    /// or a folder such as `/rootfs-arm` when an archive nests one (at most
    /// two levels deep).
    pub fn root_prefixes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.looks_like_root("") {
            out.push(String::new());
        }
        for (path, node) in self.tree.iter() {
            let depth = path.matches('/').count();
            if node.kind == tree::NodeKind::Dir && path != "/" && depth <= 2 && self.looks_like_root(path) {
                out.push(path.to_string());
            }
        }
        out
    }

    fn looks_like_root(&self, prefix: &str) -> bool {
        let has = |p: &str| self.tree.get(&format!("{prefix}{p}")).is_some();
        has("/etc") && ["/bin", "/sbin", "/init", "/usr"].iter().any(|p| has(p))
    }
}

/// A decoded payload that is not a filesystem (a kernel, a bootloader).
#[derive(Debug, Clone)]
pub struct Payload {
    /// The chain of the container that decoded it.
    pub chain: Chain,
    pub data: Bytes,
}

/// A problem with the unpack as a whole rather than one container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Incident {
    /// The image, or the container whose bytes the problem is in.
    pub location: Chain,
    pub message: String,
}

/// Everything stage 1 produced.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub image_name: String,
    pub image: Bytes,
    pub containers: Vec<Container>,
    pub gaps: Vec<Gap>,
    pub filesystems: Vec<Filesystem>,
    pub payloads: Vec<Payload>,
    pub incidents: Vec<Incident>,
    /// The image's unidentified bytes at their own offsets, everything
    /// else (containers, padding) zeroed: what the inventory searches as
    /// content so that a key or an NVRAM block between two containers is
    /// examined, with its image offset as evidence. `None` when no
    /// container was found (the whole image is searched then) or nothing
    /// was left unclaimed.
    pub unclaimed: Option<Bytes>,
}

impl Unpacked {
    /// An unpack of `image` that has found nothing yet.
    fn nothing_of(image: Bytes, name: &str) -> Unpacked {
        Unpacked {
            image_name: name.to_string(),
            image,
            containers: Vec::new(),
            gaps: Vec::new(),
            filesystems: Vec::new(),
            payloads: Vec::new(),
            incidents: Vec::new(),
            unclaimed: None,
        }
    }

    /// True when every container unpacked completely and nothing else went
    /// wrong. Verdicts that would PASS become INCONCLUSIVE otherwise.
    pub fn complete(&self) -> bool {
        self.incidents.is_empty() && self.containers.iter().all(|c| c.status == Status::Complete)
    }

    /// The reasons the unpack is not complete, one line each, sorted.
    pub fn incompleteness(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .containers
            .iter()
            .filter(|c| c.status != Status::Complete)
            .flat_map(|c| {
                let status = if c.status == Status::Failed {
                    "failed"
                } else {
                    "partial"
                };
                c.problems.iter().map(move |p| format!("{} ({status}): {p}", c.chain))
            })
            .chain(self.incidents.iter().map(|i| format!("{}: {}", i.location, i.message)))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// An unidentified region at least this large and this random is reported
/// as an incident: it may hold an encrypted or unsupported container whose
/// files were never seen.
const OPAQUE_REGION_MIN: u64 = 64 * 1024;
const OPAQUE_REGION_ENTROPY: f64 = 7.2;
/// Files smaller than this are not identified as containers.
const MIN_CONTAINER_FILE: usize = 16;

/// Unpack `image`, named `name` in chains and reports.
pub fn unpack(image: Bytes, name: &str, options: &UnpackOptions) -> Unpacked {
    let mut engine = Engine {
        progress: options.progress.clone(),
        budget: Budget::new(options.limits.clone(), image.len() as u64),
        out: Unpacked::nothing_of(image.clone(), name),
        speculate: rayon::current_num_threads() > 1,
    };
    let root = Chain::image(name);
    engine.carve(&image, 0, image.len(), &root, "", 0);
    if engine.out.containers.is_empty() {
        engine.out.incidents.push(Incident {
            location: root,
            message: "no known container or filesystem format was recognised".into(),
        });
    }
    let mut out = engine.out;
    out.containers.sort_by(|a, b| a.chain.cmp(&b.chain));
    // Incidents are listed in the order of their text, as they were before
    // chains had a type of their own (`fwcert unpack` prints them so).
    out.incidents
        .sort_by(|a, b| a.location.cmp_text(&b.location).then_with(|| a.message.cmp(&b.message)));
    out.incidents.dedup();
    out.unclaimed = unclaimed_bytes(&out);
    out
}

/// From this size the unclaimed-bytes mask is a fresh anonymous mapping of
/// its own: its zeros (most of it) are the kernel's shared zero page until
/// written, and only the unclaimed regions' pages are ever filled. A zeroed
/// allocation gets that only when the allocator maps it fresh; in a batch,
/// glibc hands back memory an earlier image freed and clears every byte of
/// it first, and with two threads in the process those faults sent the
/// other core TLB shootdowns (about 1 % of a two-job batch's samples).
const FRESH_MAPPING_MIN: usize = 1 << 20;

/// See [`Unpacked::unclaimed`].
fn unclaimed_bytes(u: &Unpacked) -> Option<Bytes> {
    if u.containers.is_empty() {
        return None;
    }
    let regions: Vec<(usize, usize)> = u
        .gaps
        .iter()
        .filter(|g| g.in_image && g.kind == GapKind::Unidentified)
        .map(|g| (g.offset as usize, (g.offset + g.size) as usize))
        .filter(|&(s, e)| s < e && e <= u.image.len())
        .collect();
    let end = regions.iter().map(|&(_, e)| e).max()?;
    let fill = |masked: &mut [u8]| {
        for &(s, e) in &regions {
            masked[s..e].copy_from_slice(&u.image[s..e]);
        }
    };
    if end >= FRESH_MAPPING_MIN
        && let Ok(mut mapped) = memmap2::MmapOptions::new().len(end).map_anon()
    {
        fill(&mut mapped);
        return Some(Bytes::from_owner(mapped));
    }
    let mut masked = vec![0u8; end];
    fill(&mut masked);
    Some(Bytes::from(masked))
}

/// Runs of one erased-flash byte (0x00 or 0xFF) at least this long are
/// reported as padding of their own, separate from the data around them.
const PADDING_RUN_MIN: usize = 4096;

/// Split an unclaimed region at `base` into (start, end, is_padding)
/// pieces: long 0x00/0xFF runs apart from everything else, so that a flash
/// dump's bootloader code and the erased space after it are told apart.
fn split_padding(bytes: &[u8], base: usize) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    let mut data_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        let v = bytes[i];
        if v != 0x00 && v != 0xff {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().position(|&b| b != v).unwrap_or(bytes.len() - i);
        let whole = run == bytes.len();
        if run >= PADDING_RUN_MIN || whole {
            if i > data_from {
                out.push((base + data_from, base + i, false));
            }
            out.push((base + i, base + i + run, true));
            data_from = i + run;
        }
        i += run;
    }
    if data_from < bytes.len() {
        out.push((base + data_from, base + bytes.len(), false));
    }
    out
}

/// Run an extractor with a panic inside it (its own code or a crate it
/// calls) turned into a corrupt-container error that names the format.
fn contained<T>(format: &str, extract: impl FnOnce() -> Result<T, ExtractError>) -> Result<T, ExtractError> {
    catch_unwind(AssertUnwindSafe(extract)).unwrap_or_else(|_| {
        Err(ExtractError::Corrupt(format!(
            "the {format} reader failed on malformed input (contained panic)"
        )))
    })
}

struct Engine {
    progress: Progress,
    budget: Budget,
    out: Unpacked,
    /// Whether to decode the next container beside the current one (see
    /// [`Engine::carve`]); pointless on one thread.
    speculate: bool,
}

/// The magic table compiled for searching, built once.
///
/// The SIMD "packed" searcher (Teddy) runs several times faster than a full
/// automaton on this table (≈3 GB/s against ≈0.5 GB/s on random data), but
/// it reports leftmost matches only and supports a limited number of
/// patterns. [`Matcher::hits`] restores overlapping semantics: after a hit
/// at `s` it tests every pattern at `s` and resumes at `s + 1`. When the
/// packed searcher is unavailable (no SIMD, too many patterns), a full
/// aho-corasick automaton gives the same hits.
///
/// The two-byte magics (ext's, binary cpio's) stay out of the packed
/// searcher: Teddy fingerprints as many leading bytes as its shortest
/// pattern has, and with two of them nearly every position of machine code
/// is a near-miss to check. Each is searched on its own with `memmem`.
struct Matcher {
    packed: Option<aho_corasick::packed::Searcher>,
    /// The patterns the packed searcher holds (indices into `patterns`).
    long: Vec<usize>,
    /// The patterns shorter than [`PACKED_MIN`], each with its searcher.
    short: Vec<(usize, memchr::memmem::Finder<'static>)>,
    automaton: AhoCorasick,
    patterns: Vec<&'static [u8]>,
    /// For each pattern: (format index, offset of the magic in its header).
    owners: Vec<(usize, usize)>,
    /// How far past a header's start its magic may end: the largest
    /// offset plus length over the table.
    reach: usize,
}

/// The shortest magic the packed searcher is given (see [`Matcher`]).
const PACKED_MIN: usize = 3;

impl Matcher {
    fn get() -> &'static Matcher {
        static M: OnceLock<Matcher> = OnceLock::new();
        M.get_or_init(|| {
            let mut patterns: Vec<&'static [u8]> = Vec::new();
            let mut owners = Vec::new();
            for (fi, f) in FORMATS.iter().enumerate() {
                for m in f.magics {
                    patterns.push(m.bytes);
                    owners.push((fi, m.at));
                }
            }
            let (long, short): (Vec<usize>, Vec<usize>) =
                (0..patterns.len()).partition(|&pi| patterns[pi].len() >= PACKED_MIN);
            let packed = aho_corasick::packed::Config::new()
                .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
                .builder()
                .extend(long.iter().map(|&pi| patterns[pi]))
                .build();
            let short = short
                .into_iter()
                .map(|pi| (pi, memchr::memmem::Finder::new(patterns[pi])))
                .collect();
            // The pattern list is a compile-time constant table; building an
            // automaton from it cannot fail.
            let automaton = AhoCorasick::new(&patterns).expect("magic table builds an automaton");
            let reach = FORMATS
                .iter()
                .flat_map(|f| f.magics)
                .map(|m| m.at + m.bytes.len())
                .max()
                .unwrap_or(0);
            Matcher {
                packed,
                long,
                short,
                automaton,
                patterns,
                owners,
                reach,
            }
        })
    }

    /// Every (pattern start, pattern index) in `hay`, overlapping, in order.
    fn hits(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        let Some(packed) = &self.packed else {
            return self.automaton_hits(hay);
        };
        let mut out = Vec::new();
        let mut at = 0;
        while at < hay.len() {
            let Some(m) = packed.find_in(hay, aho_corasick::Span::from(at..hay.len())) else {
                break;
            };
            let s = m.start();
            out.extend(
                self.long
                    .iter()
                    .filter(|&&pi| hay[s..].starts_with(self.patterns[pi]))
                    .map(|&pi| (s, pi)),
            );
            at = s + 1;
        }
        for (pi, finder) in &self.short {
            let mut at = 0;
            while let Some(s) = hay.get(at..).and_then(|rest| finder.find(rest)) {
                out.push((at + s, *pi));
                at += s + 1;
            }
        }
        out.sort_unstable();
        out
    }

    /// [`Matcher::hits`] by the full automaton.
    fn automaton_hits(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        self.automaton
            .find_overlapping_iter(hay)
            .map(|m| (m.start(), m.pattern().as_usize()))
            .collect()
    }
}

/// The search for candidates goes this many bytes at a time, so that once
/// a container claims the rest of a blob (a tar or SquashFS image that is
/// the whole file) nothing more is searched. Searching is the slowest step
/// of unpacking an uncompressed image: ≈0.6 GB/s over ELF code, where the
/// packed searcher meets many near-misses.
const SEARCH_CHUNK: usize = 1 << 20;

/// Candidate container starts at offsets `from..to` of the region
/// `blob[start..end]` being carved: (offset, format index), sorted. A
/// magic may lie past `to` (it sits `at` bytes into its header), so the
/// search reads on up to `end`; the candidates of consecutive chunks
/// concatenate to those of the whole region.
fn candidates(blob: &[u8], start: usize, end: usize, from: usize, to: usize) -> Vec<(usize, usize)> {
    let matcher = Matcher::get();
    let hay_end = to.saturating_add(matcher.reach).min(end);
    let mut hits: Vec<(usize, usize)> = matcher
        .hits(&blob[from..hay_end])
        .into_iter()
        .filter_map(|(at, pi)| {
            let (fi, magic_at) = matcher.owners[pi];
            let pos = (from + at).checked_sub(magic_at)?;
            (pos >= from && pos < to && (FORMATS[fi].carve || pos == start)).then_some((pos, fi))
        })
        .collect();
    hits.sort_unstable();
    hits.dedup();
    hits
}

/// Every signature hit in `blob` as (offset, format name), before any
/// parser has validated it: what the first pass of [`unpack`] sees. For
/// diagnostics and the scan-throughput benchmark.
pub fn signature_hits(blob: &[u8]) -> Vec<(usize, &'static str)> {
    candidates(blob, 0, blob.len(), 0, blob.len())
        .into_iter()
        .map(|(offset, fi)| (offset, FORMATS[fi].name))
        .collect()
}

/// Formats whose magic sits at the very start of `data` (for files inside
/// filesystems).
fn leading(data: &[u8]) -> Vec<(usize, usize)> {
    FORMATS
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.magics
                .iter()
                .any(|m| data.get(m.at..m.at + m.bytes.len()) == Some(m.bytes))
        })
        .map(|(fi, _)| (0, fi))
        .collect()
}

/// The candidates of one region in (offset, format) order, searched a
/// [`SEARCH_CHUNK`] at a time so that the bytes a container claims are
/// not searched at all.
#[derive(Debug, Clone)]
struct Candidates {
    start: usize,
    end: usize,
    /// Where the next chunk's search begins.
    next_chunk: usize,
    /// Found in the chunks searched so far and not yet taken, in order.
    pending: std::collections::VecDeque<(usize, usize)>,
}

impl Candidates {
    fn new(start: usize, end: usize) -> Self {
        Candidates {
            start,
            end,
            next_chunk: start,
            pending: Default::default(),
        }
    }

    fn next(&mut self, blob: &[u8]) -> Option<(usize, usize)> {
        loop {
            if let Some(c) = self.pending.pop_front() {
                return Some(c);
            }
            if self.next_chunk >= self.end {
                return None;
            }
            let from = self.next_chunk;
            let to = from.saturating_add(SEARCH_CHUNK).min(self.end);
            self.pending = candidates(blob, self.start, self.end, from, to).into();
            self.next_chunk = to;
        }
    }

    /// Drop the candidates before `cursor`, the end of what a container
    /// claimed, and search on from there.
    fn skip_to(&mut self, cursor: usize) {
        while self.pending.front().is_some_and(|&(pos, _)| pos < cursor) {
            self.pending.pop_front();
        }
        self.next_chunk = self.next_chunk.max(cursor);
    }
}

/// Parse the candidate at the start of `data` as `format`; a parser that
/// panics has not recognised its format.
fn parse_candidate(format: &format::Format, data: &[u8]) -> Option<Parsed> {
    catch_unwind(AssertUnwindSafe(|| (format.parse)(data))).ok()?.ok()
}

/// How many bytes from its start a parsed candidate claims whatever its
/// extraction gives (see [`Engine::try_parsed`]): its declared length (at
/// least one byte, at most what there is), or one byte when it declares
/// none; nothing when its confidence is low, since a low-confidence hit
/// that fails to extract claims nothing.
fn sure_claim(parsed: &Parsed, available: usize) -> usize {
    if parsed.confidence == Confidence::Low {
        return 0;
    }
    parsed.len.map_or(1, |l| {
        usize::try_from(l).unwrap_or(usize::MAX).clamp(1, available.max(1))
    })
}

/// How deep in the container chain the next container is still decoded
/// beside the current one. Firmware nests its big siblings near the top
/// (a vendor header holding a kernel and a root filesystem); below, the
/// engine recurses inline, so that deep nesting costs no more stack on a
/// worker thread than it does sequentially.
const SPECULATION_DEPTH: u32 = 4;

/// A container decoded beside the one before it, not yet taken in.
struct Ahead {
    /// Its offset and the extent it claimed, if it claimed one.
    pos: usize,
    extent: Option<usize>,
    /// Its containers, trees, gaps and spend.
    engine: Engine,
    /// The candidates after it.
    rest: Candidates,
}

impl Engine {
    /// An engine for work beside this one: no results yet, a fork of the
    /// budget (see [`Budget::fork`]).
    fn fork(&self) -> Engine {
        Engine {
            progress: self.progress.clone(),
            budget: self.budget.fork(),
            out: Unpacked::nothing_of(self.out.image.clone(), &self.out.image_name),
            speculate: self.speculate,
        }
    }

    /// Take in a fork's results after this engine's own, as if its work had
    /// run next; false (nothing taken) when its budget does not allow that.
    fn absorb(&mut self, base: budget::Spent, fork: Engine) -> bool {
        if !self.budget.absorb(base, &fork.budget) {
            return false;
        }
        let Unpacked {
            containers,
            gaps,
            filesystems,
            payloads,
            incidents,
            ..
        } = fork.out;
        self.out.containers.extend(containers);
        self.out.gaps.extend(gaps);
        self.out.filesystems.extend(filesystems);
        self.out.payloads.extend(payloads);
        self.out.incidents.extend(incidents);
        true
    }

    /// The first candidate in `rest` that parses, extracted: the container
    /// a sequential run tries next after the current one, if the current
    /// one's claim does not cover it.
    #[allow(clippy::too_many_arguments)]
    fn extract_next(
        mut self,
        mut rest: Candidates,
        blob: &Bytes,
        end: usize,
        parent: &Chain,
        label: &str,
        depth: u32,
    ) -> Option<Ahead> {
        while let Some((pos, fi)) = rest.next(blob) {
            if let Some(parsed) = parse_candidate(&FORMATS[fi], &blob[pos..end]) {
                let extent = self.try_parsed(blob, pos, end, fi, parsed, parent, label, depth);
                return Some(Ahead {
                    pos,
                    extent,
                    engine: self,
                    rest,
                });
            }
        }
        None
    }

    /// Carve `blob[start..end]` (offsets stay blob-absolute): the bytes
    /// `label` names (see [`Link::label`]) of what `parent` names.
    ///
    /// Candidates are tried in order, and one inside what an earlier one
    /// claimed is skipped. While one extracts, the next candidate that
    /// parses past what the current one surely claims is extracted beside
    /// it, by a fork of this engine (a kernel decodes while the root
    /// filesystem beside it does); its results are taken in only when the
    /// current container's claim did not cover it and the budget allows
    /// them in sequence (see [`Engine::absorb`]), so the outcome is the
    /// sequential run's, whatever the number of threads.
    fn carve(&mut self, blob: &Bytes, start: usize, end: usize, parent: &Chain, label: &str, depth: u32) {
        let mut cursor = start;
        let mut claimed: Vec<(usize, usize)> = Vec::new();
        let mut found = Candidates::new(start, end);
        while let Some((pos, fi)) = found.next(blob) {
            let Some(parsed) = parse_candidate(&FORMATS[fi], &blob[pos..end]) else {
                continue;
            };
            let (extent, ahead) = if self.speculate && depth < SPECULATION_DEPTH {
                let mut rest = found.clone();
                rest.skip_to(pos + sure_claim(&parsed, end - pos));
                let fork = self.fork();
                let base = self.budget.spent();
                let (extent, ahead) = rayon::join(
                    || self.try_parsed(blob, pos, end, fi, parsed, parent, label, depth),
                    || fork.extract_next(rest, blob, end, parent, label, depth),
                );
                (extent, ahead.map(|a| (base, a)))
            } else {
                (self.try_parsed(blob, pos, end, fi, parsed, parent, label, depth), None)
            };
            if let Some(extent) = extent {
                claimed.push((pos, pos + extent));
                cursor = pos + extent;
                found.skip_to(cursor);
            }
            if let Some((base, a)) = ahead
                && a.pos >= cursor
                && self.absorb(base, a.engine)
            {
                found = a.rest;
                if let Some(extent) = a.extent {
                    claimed.push((a.pos, a.pos + extent));
                    cursor = a.pos + extent;
                    found.skip_to(cursor);
                }
            }
        }
        // Decoded payloads (kernels, bootloaders) are analysed as blobs by
        // the inventory; only raw bytes get a gap map.
        if label != chain::PAYLOAD {
            let in_image = blob.as_ptr() == self.out.image.as_ptr() && blob.len() == self.out.image.len();
            self.record_gaps(blob, in_image, start, end, &claimed, parent);
        }
    }

    /// Identify a file inside a filesystem by its leading magic only.
    fn identify_file(&mut self, data: &Bytes, parent: &Chain, label: &str, depth: u32) {
        if data.len() < MIN_CONTAINER_FILE {
            return;
        }
        for (pos, fi) in leading(data) {
            if self
                .try_container(data, pos, data.len(), fi, parent, label, depth)
                .is_some()
            {
                return;
            }
        }
    }

    /// Parse and extract one candidate. Returns the extent it claims, or
    /// `None` if the hit is not this format.
    #[allow(clippy::too_many_arguments)]
    fn try_container(
        &mut self,
        blob: &Bytes,
        pos: usize,
        end: usize,
        fi: usize,
        parent: &Chain,
        label: &str,
        depth: u32,
    ) -> Option<usize> {
        // Formats read hostile bytes, some through other crates: a panic in
        // any of them is contained, for every format at once.
        let parsed = parse_candidate(&FORMATS[fi], &blob[pos..end])?;
        self.try_parsed(blob, pos, end, fi, parsed, parent, label, depth)
    }

    /// Extract one parsed candidate. Returns the extent it claims, or
    /// `None` if it was a chance match after all.
    #[allow(clippy::too_many_arguments)]
    fn try_parsed(
        &mut self,
        blob: &Bytes,
        pos: usize,
        end: usize,
        fi: usize,
        parsed: Parsed,
        parent: &Chain,
        label: &str,
        depth: u32,
    ) -> Option<usize> {
        let format = &FORMATS[fi];
        let data = &blob[pos..end];
        let chain = parent.child(label, pos as u64, format.name);
        self.progress.container(&chain, self.budget.bytes_used());
        let declared = parsed.len.map(|l| l as usize);
        let mut container = Container {
            format: format.name,
            offset: pos as u64,
            size: declared.unwrap_or(0) as u64,
            chain: chain.clone(),
            status: Status::Complete,
            problems: Vec::new(),
            description: parsed.description.clone(),
            confidence: parsed.confidence,
            facts: parsed.facts.clone(),
        };
        if let Err(e) = self.budget.check_depth(depth + 1) {
            container.status = Status::Failed;
            container.problems.push(e.to_string());
            let extent = declared.unwrap_or(format.magics[0].bytes.len()).max(1);
            container.size = extent as u64;
            self.out.containers.push(container);
            return Some(extent);
        }
        let region = &data[..declared.unwrap_or(data.len()).min(data.len())];
        let mut ctx = ExtractCtx {
            deadline: self.budget.extractor_deadline(),
            source: blob.clone(),
            budget: &mut self.budget,
        };
        let result = contained(format.name, || (format.extract)(region, &parsed, &mut ctx));
        let (children, extent, verify) = match result {
            Ok(x) => {
                let extent = declared
                    .or(x.consumed.map(|c| c as usize))
                    .unwrap_or(region.len())
                    .clamp(1, data.len());
                if !x.problems.is_empty() {
                    container.status = Status::Partial;
                    container.problems = x.problems;
                }
                (x.children, extent, x.verify)
            }
            // A low-confidence hit (weak magic, nothing cross-checked) that
            // does not even decode was a chance match, not a container.
            Err(_) if parsed.confidence == Confidence::Low => return None,
            Err(e) => {
                container.status = Status::Failed;
                container.problems.push(match &e {
                    ExtractError::Unsupported(m) => format!("unsupported: {m}"),
                    other => other.to_string(),
                });
                // An unknown extent is not claimed beyond the header, so that
                // later containers can still be found.
                (
                    Vec::new(),
                    declared.unwrap_or(format.magics[0].bytes.len()).max(1),
                    None,
                )
            }
        };
        container.size = extent as u64;
        let index = self.out.containers.len();
        self.out.containers.push(container);
        let Some(verify) = verify else {
            self.carve_children(children, blob, pos, end, &chain, format.name, depth);
            return Some(extent);
        };
        let check = || contained(format.name, || Ok(verify.run()));
        // Beside the children in the levels where a join's stack is
        // affordable (see SPECULATION_DEPTH), after them deeper down.
        let verified = if self.speculate && depth < SPECULATION_DEPTH {
            rayon::join(check, || {
                self.carve_children(children, blob, pos, end, &chain, format.name, depth)
            })
            .0
        } else {
            self.carve_children(children, blob, pos, end, &chain, format.name, depth);
            check()
        };
        let (facts, problems) = match verified {
            Ok(v) => (v.facts, v.problems),
            Err(e) => (Vec::new(), vec![e.to_string()]),
        };
        let container = &mut self.out.containers[index];
        container.facts.extend(facts);
        if !problems.is_empty() && container.status == Status::Complete {
            container.status = Status::Partial;
        }
        container.problems.extend(problems);
        Some(extent)
    }

    /// Carve, decode or identify what an extractor found inside the
    /// container at `pos` of `blob`, which `chain` names.
    #[allow(clippy::too_many_arguments)]
    fn carve_children(
        &mut self,
        children: Vec<Child>,
        blob: &Bytes,
        pos: usize,
        end: usize,
        chain: &Chain,
        format: &'static str,
        depth: u32,
    ) {
        for child in children {
            match child {
                Child::Range { offset, len } => {
                    let s = pos.saturating_add(offset as usize).min(end);
                    let e = s.saturating_add(len as usize).min(end);
                    self.carve(blob, s, e, chain, "", depth + 1);
                }
                Child::Payload { data } => {
                    let data = Bytes::from(data);
                    self.out.payloads.push(Payload {
                        chain: chain.clone(),
                        data: data.clone(),
                    });
                    self.carve(&data, 0, data.len(), chain, chain::PAYLOAD, depth + 1);
                }
                Child::Tree(tree) => {
                    let files: Vec<(String, Bytes)> = tree
                        .iter()
                        .filter_map(|(p, n)| match &n.kind {
                            tree::NodeKind::File(d) => Some((p.to_string(), d.clone())),
                            _ => None,
                        })
                        .collect();
                    self.out.filesystems.push(Filesystem {
                        chain: chain.clone(),
                        format,
                        tree,
                    });
                    for (file_path, data) in files {
                        self.identify_file(&data, chain, &file_path, depth + 1);
                    }
                }
            }
        }
    }

    fn record_gaps(
        &mut self,
        blob: &[u8],
        in_image: bool,
        start: usize,
        end: usize,
        claimed: &[(usize, usize)],
        location: &Chain,
    ) {
        let mut at = start;
        let mut regions = Vec::new();
        for &(s, e) in claimed {
            if s > at {
                regions.push((at, s));
            }
            at = at.max(e);
        }
        if end > at {
            regions.push((at, end));
        }
        for (s, e, padding) in regions.into_iter().flat_map(|(s, e)| split_padding(&blob[s..e], s)) {
            let bytes = &blob[s..e];
            if bytes.len() < 16 {
                continue;
            }
            let entropy = bytes::entropy(bytes);
            let gap = Gap {
                location: location.clone(),
                offset: s as u64,
                size: (e - s) as u64,
                kind: if padding {
                    GapKind::Padding
                } else {
                    GapKind::Unidentified
                },
                entropy,
                in_image,
            };
            if !padding && gap.size >= OPAQUE_REGION_MIN && entropy >= OPAQUE_REGION_ENTROPY {
                self.out.incidents.push(Incident {
                    location: location.clone(),
                    message: format!(
                        "unidentified region at {s:#x} ({} bytes, entropy {entropy:.2} bits/byte) may hold an encrypted or unsupported container",
                        gap.size
                    ),
                });
            }
            self.out.gaps.push(gap);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_and_automaton_searches_find_the_same_overlapping_hits() {
        let m = Matcher::get();
        assert!(
            m.packed.is_some(),
            "the SIMD searcher takes at most 64 patterns ({} now): share a magic instead of listing variants",
            m.patterns.len()
        );
        // Every magic, twice, overlapping and adjacent, inside noise.
        let mut hay = b"xx".to_vec();
        for p in &m.patterns {
            hay.extend_from_slice(p);
            hay.extend_from_slice(&p[..p.len() - 1]);
            hay.extend_from_slice(p);
        }
        hay.extend_from_slice(b"\xc7\x71\xc7\x71");
        let via_automaton: Vec<(usize, usize)> = m
            .automaton
            .find_overlapping_iter(&hay)
            .map(|x| (x.start(), x.pattern().as_usize()))
            .collect();
        let mut a = via_automaton.clone();
        a.sort_unstable();
        let mut b = m.hits(&hay);
        b.sort_unstable();
        assert_eq!(a, b);
        assert!(b.len() >= 2 * m.patterns.len());
    }

    #[test]
    fn packed_and_short_searches_find_what_the_full_automaton_finds() {
        // Every magic planted at an odd spacing, overlapping runs of the
        // two-byte ones (`c7 71 c7 71`), and noise with its chance hits.
        let mut blob = Vec::new();
        for f in FORMATS {
            for m in f.magics {
                blob.extend_from_slice(m.bytes);
                blob.extend_from_slice(&m.bytes[..1]);
                blob.extend_from_slice(b"..");
            }
        }
        blob.extend_from_slice(&[0xc7, 0x71, 0xc7, 0x71, 0xc7, 0x53, 0xef, 0x53, 0xef]);
        let mut x = crate::testing::Xorshift::new(0x2545_f491_4f6c_dd1d);
        for _ in 0..1 << 20 {
            blob.push(x.next_u64() as u8);
        }
        let m = Matcher::get();
        let mut want = m.automaton_hits(&blob);
        want.sort_unstable();
        assert!(
            m.packed.is_none() || !m.short.is_empty(),
            "the table has two-byte magics"
        );
        assert_eq!(m.hits(&blob), want);
        let planted = FORMATS.iter().map(|f| f.magics.len()).sum::<usize>();
        // Random bytes hold a two-byte magic about every 22 KiB.
        assert!(want.len() >= planted + 6 + 30, "{} hits", want.len());
    }

    #[test]
    fn candidates_searched_chunk_by_chunk_are_those_of_the_whole_region() {
        // Every magic at its header offset, straddling chunk boundaries of
        // 4 KiB in turn, inside a region that starts at 100.
        let chunk = 4096;
        let mut blob = vec![0x55u8; 100 + 40 * chunk];
        let mut at = 100 + chunk - 3;
        for f in FORMATS {
            for m in f.magics {
                let pos = at + m.at;
                if pos + m.bytes.len() <= blob.len() {
                    blob[pos..pos + m.bytes.len()].copy_from_slice(m.bytes);
                }
                at += chunk / 2 + 1;
            }
        }
        let (start, end) = (100, blob.len() - 10);
        let whole = candidates(&blob, start, end, start, end);
        let mut chunked = Vec::new();
        let mut from = start;
        while from < end {
            let to = (from + chunk).min(end);
            chunked.extend(candidates(&blob, start, end, from, to));
            from = to;
        }
        assert_eq!(chunked, whole);
        assert!(whole.len() >= 30, "{}", whole.len());
    }

    #[test]
    fn padding_runs_are_split_from_data() {
        let mut region = vec![0x11u8; 100];
        region.extend(vec![0xffu8; 5000]);
        region.extend(vec![0x22u8; 10]);
        region.extend(vec![0x00u8; 10]); // too short to be padding of its own
        region.extend(vec![0x00u8; 8192]);
        assert_eq!(
            split_padding(&region, 1000),
            [
                (1000, 1100, false),
                (1100, 6100, true),
                (6100, 6110, false),
                (6110, 6110 + 8202, true),
            ]
        );
        assert_eq!(split_padding(&[0xff; 20], 0), [(0, 20, true)]);
        assert_eq!(split_padding(&[1, 2, 3], 0), [(0, 3, false)]);
    }

    #[test]
    fn random_data_is_incomplete_with_a_reason() {
        // A simple LCG: deterministic bytes with high entropy.
        let mut x: u32 = 12345;
        let data: Vec<u8> = (0..200_000)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect();
        let u = unpack(data.into(), "random.bin", &UnpackOptions::default());
        assert!(!u.complete());
        assert!(u.incompleteness().iter().any(|m| m.contains("no known container")));
        assert!(u.incompleteness().iter().any(|m| m.contains("unidentified region")));
    }

    #[test]
    fn nested_gzip_in_uimage_is_followed_with_a_chain() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&vec![b'A'; 5000]).unwrap();
        let inner = gz.finish().unwrap();
        let img = formats::uimage::build("test", 2, 0, 1, &inner);
        let u = unpack(img.into(), "t.bin", &UnpackOptions::default());
        let paths: Vec<String> = u.containers.iter().map(|c| c.chain.to_string()).collect();
        assert_eq!(paths, ["t.bin@0x0:uimage", "t.bin@0x0:uimage → @0x40:gzip"]);
        assert!(u.complete(), "{:?}", u.incompleteness());
        assert_eq!(u.payloads.len(), 1);
        assert_eq!(u.payloads[0].data.len(), 5000);
    }

    #[test]
    fn unclaimed_bytes_keep_only_what_no_container_claimed() {
        let mut img = formats::uimage::build("k", 2, 0, 1, &[0x90u8; 200]);
        let claimed = img.len();
        img.extend_from_slice(b"secret=between containers\0");
        img.resize(claimed + 6000, 0xff);
        let u = unpack(img.clone().into(), "t.bin", &UnpackOptions::default());
        let masked = u.unclaimed.as_ref().expect("a region is unclaimed");
        // The header is the container's; its raw payload is carved in place
        // and, being nothing known, is content too.
        assert!(masked[..0x40].iter().all(|&b| b == 0), "the uImage header is zeroed");
        assert!(masked[0x40..claimed].iter().all(|&b| b == 0x90));
        let text = b"secret=between containers";
        assert_eq!(&masked[claimed..claimed + text.len()], text);
        // Erased flash after it is padding, not content.
        assert!(masked.len() < img.len());
        // With no container, the whole image is searched instead.
        let none = unpack(vec![0x42u8; 100].into(), "x.bin", &UnpackOptions::default());
        assert!(none.unclaimed.is_none());
    }

    #[test]
    fn a_mask_of_megabytes_is_the_same_bytes_from_its_own_mapping() {
        // Two unclaimed regions around a container, the second ending past
        // the size from which the mask is mapped rather than allocated.
        let mut img = b"first region ".repeat(100);
        let container = img.len();
        img.extend(formats::uimage::build("k", 2, 0, 1, &[0x90u8; 200]));
        let claimed = img.len();
        img.resize(FRESH_MAPPING_MIN + 5000, 0);
        let second = FRESH_MAPPING_MIN - 100;
        img[second..second + 200].copy_from_slice(&[0x5au8; 200]);
        let u = unpack(img.clone().into(), "t.bin", &UnpackOptions::default());
        let masked = u.unclaimed.as_ref().expect("regions are unclaimed");
        // It ends with the last unclaimed region, past the mapping size.
        assert_eq!(masked.len(), second + 200);
        assert!(masked.len() >= FRESH_MAPPING_MIN);
        // Every byte is the image's where no container or padding claimed
        // it, and zero where one did.
        let unidentified: Vec<(usize, usize)> = u
            .gaps
            .iter()
            .filter(|g| g.in_image && g.kind == GapKind::Unidentified)
            .map(|g| (g.offset as usize, (g.offset + g.size) as usize))
            .collect();
        assert!(unidentified.iter().any(|&(s, _)| s == 0), "{unidentified:?}");
        for (i, &b) in masked.iter().enumerate() {
            let kept = unidentified.iter().any(|&(s, e)| (s..e).contains(&i));
            assert_eq!(b, if kept { img[i] } else { 0 }, "byte {i}");
        }
        assert_eq!(&masked[..13], b"first region ");
        // The uImage header is zeroed; its payload, nothing known, is content.
        assert!(masked[container..container + 0x40].iter().all(|&b| b == 0));
        assert!(masked[container + 0x40..claimed].iter().all(|&b| b == 0x90));
        assert!(masked[second..].iter().all(|&b| b == 0x5a));
        assert!(
            masked[claimed..second].iter().all(|&b| b == 0),
            "erased flash is padding"
        );
    }

    #[test]
    fn a_panicking_extractor_is_a_failed_container_not_a_crash() {
        let r: Result<(), ExtractError> = contained("squashfs", || {
            let bytes: &[u8] = &[];
            // What a dependency does on a malformed input it did not expect.
            let _ = bytes[std::hint::black_box(3)];
            Ok(())
        });
        match r {
            Err(ExtractError::Corrupt(m)) => assert!(m.contains("squashfs reader failed"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(contained("x", || Ok::<_, ExtractError>(7)), Ok(7)));
    }

    #[test]
    fn depth_budget_stops_self_nesting() {
        let mut img = b"innermost payload".to_vec();
        for _ in 0..40 {
            img = formats::uimage::build("nest", 2, 0, 1, &img);
        }
        let u = unpack(img.into(), "nest.bin", &UnpackOptions::default());
        assert!(!u.complete());
        assert!(u.incompleteness().iter().any(|m| m.contains("depth budget exceeded")));
        assert!(u.containers.len() <= 18);
    }

    /// Everything an unpack found, as text, to compare two runs.
    fn outline(u: &Unpacked) -> String {
        let mut s = String::new();
        for c in &u.containers {
            s += &format!(
                "container {} {:?} {} {:?} {:?}\n",
                c.chain, c.status, c.size, c.problems, c.facts
            );
        }
        for g in &u.gaps {
            s += &format!("gap {} {:#x}+{} {:?}\n", g.location, g.offset, g.size, g.kind);
        }
        for i in &u.incidents {
            s += &format!("incident {} {}\n", i.location, i.message);
        }
        for f in &u.filesystems {
            for (path, node) in f.tree.iter() {
                let len = match &node.kind {
                    tree::NodeKind::File(d) => d.len(),
                    _ => 0,
                };
                s += &format!("file {} {path} {len}\n", f.chain);
            }
        }
        for p in &u.payloads {
            s += &format!("payload {} {}\n", p.chain, p.data.len());
        }
        s
    }

    /// Containers side by side: a gzip stream (its end is known only once
    /// decoded), junk, a SquashFS holding a gzip file, a uImage with a
    /// gzip payload, junk.
    fn siblings() -> Vec<u8> {
        use crate::samples::Entry;
        use std::io::Write;
        let gzip = |data: &[u8]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(data).unwrap();
            gz.finish().unwrap()
        };
        let text: Vec<u8> = (0..40_000u32).flat_map(|i| format!("{i:05}\n").into_bytes()).collect();
        let mut img = gzip(&text);
        img.extend_from_slice(&[0x5a; 1000]);
        let dirs = ["/etc", "/bin", "/lib"].map(|path| Entry::Dir { path, mode: 0o755 });
        let entries: Vec<Entry> = dirs
            .into_iter()
            .chain((0..6).map(|i| Entry::File {
                path: ["/etc/a", "/etc/b", "/bin/c", "/bin/d", "/lib/e", "/lib/f.gz"][i],
                mode: 0o644,
                data: if i == 5 {
                    gzip(&text[..50_000])
                } else {
                    text[i * 20_000..(i + 1) * 20_000].to_vec()
                },
            }))
            .collect();
        img.extend(crate::samples::squashfs(&entries, &formats::squashfs::GZIP_CODEC));
        img.extend(formats::uimage::build("k", 2, 1, 1, &gzip(&text[..30_000])));
        img.extend_from_slice(&[0xa5; 1000]);
        img
    }

    /// Decoding the next container beside the current one is invisible:
    /// on one thread (no speculation) and on several, the same containers,
    /// trees, gaps and problems, also when a byte or file budget runs out
    /// part of the way through the siblings.
    #[test]
    fn siblings_decoded_side_by_side_give_the_sequential_result_within_any_budget() {
        let img = Bytes::from(siblings());
        let run = |threads: usize, limits: &Limits| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let options = UnpackOptions {
                limits: limits.clone(),
                ..UnpackOptions::default()
            };
            outline(&pool.install(|| unpack(img.clone(), "s.bin", &options)))
        };
        let bytes = |n: u64| Limits {
            min_total_bytes: n,
            max_expansion: 0,
            ..Limits::default()
        };
        let cases = [
            ("default", Limits::default()),
            ("first stream too big", bytes(100_000)),
            ("no file fits", bytes(2_000)),
            ("filesystem cut", bytes(300_000)),
            ("uImage payload cut", bytes(400_000)),
            (
                "file count cut",
                Limits {
                    max_files: 5,
                    ..Limits::default()
                },
            ),
        ];
        let default = run(1, &Limits::default());
        assert!(default.contains("container s.bin@0x0:gzip Complete"), "{default}");
        assert!(default.contains(":squashfs Complete"), "{default}");
        assert!(default.contains("/lib/f.gz"), "{default}");
        assert!(default.contains(":uimage Complete"), "{default}");
        assert!(default.contains(":uimage 30000"), "{default}");
        for (name, limits) in &cases {
            let one = run(1, limits);
            if *name != "default" {
                assert!(one.contains("budget exceeded"), "{name}: nothing was cut\n{one}");
            }
            for threads in [2, 4] {
                assert_eq!(run(threads, limits), one, "{name} on {threads} threads");
            }
        }
    }
}
