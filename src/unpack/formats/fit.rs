//! U-Boot FIT images: a flattened device tree (magic `d00dfeed`) whose
//! `/images/*` nodes each carry a kernel, device tree, ramdisk or rootfs,
//! either inline (`data`) or after the tree (`data-offset`/`data-size`,
//! from the end of the tree, or `data-position`, from the image start).
//!
//! fwcert reads the tree with its own minimal FDT walker (the structure
//! block is a flat token stream; every offset is checked). Each image
//! becomes a [`Child::Range`] so compressed payloads are found by carving in
//! place. The names of `hash-*` and `signature-*` nodes are recorded as
//! facts: whether an image is signed is what the boot-integrity checks ask.
//! A device tree without `/images` is not a FIT and is rejected.
//!
//! Each image's `hash-*` nodes (`algo` crc32, md5, sha1 or sha256 and a
//! `value`) are verified against its data, as U-Boot does before booting
//! it: a mismatch, or an algorithm fwcert cannot compute, leaves the
//! container partial. Signatures are not verified (that needs the vendor's
//! public key), so the tree's other properties are not vouched for. A tree
//! whose header declares more bytes than are present is a truncated
//! container, not a chance match: it fails closed.

use std::collections::BTreeMap;

use crate::unpack::bytes::be_u32;
use crate::unpack::format::{Child, Confidence, ExtractCtx, ExtractError, Extraction, Format, Magic, Parsed, Reject};

pub const FORMAT: Format = Format {
    name: "fit",
    magics: &[Magic::at_start(&[0xd0, 0x0d, 0xfe, 0xed])],
    parse,
    extract,
    carve: true,
};

const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// Deeper nesting than this is not a real FIT.
const MAX_DEPTH: usize = 32;

/// A property: its node path, name and where its value lies in the blob.
#[derive(Debug, Clone)]
struct Prop {
    node: String,
    name: String,
    value: std::ops::Range<usize>,
}

/// What the walk of a device tree found.
#[derive(Debug, Default)]
struct Tree {
    nodes: Vec<String>,
    props: Vec<Prop>,
    total: usize,
}

fn align4(x: usize) -> usize {
    x.div_ceil(4) * 4
}

fn walk(d: &[u8]) -> Result<Tree, String> {
    let h = |at: usize, what: &str| {
        be_u32(d, at)
            .map(|v| v as usize)
            .ok_or(format!("header truncated at {what}"))
    };
    if h(0, "magic")? != 0xd00d_feed {
        return Err("not a device tree magic".into());
    }
    let total = h(4, "total size")?;
    let off_struct = h(8, "structure offset")?;
    let off_strings = h(12, "strings offset")?;
    let version = h(20, "version")?;
    if version < 16 {
        return Err(format!("device tree version {version} is too old"));
    }
    let size_strings = h(32, "strings size")?;
    let size_struct = h(36, "structure size")?;
    if off_struct.saturating_add(size_struct) > total || off_strings.saturating_add(size_strings) > total {
        return Err("structure or strings block lies outside the tree's total size".into());
    }
    if total > d.len() {
        return Err(format!("tree declares {total} bytes, only {} present", d.len()));
    }
    let strings = &d[off_strings..off_strings + size_strings];
    let end = off_struct + size_struct;
    let mut tree = Tree {
        total,
        ..Tree::default()
    };
    let mut path: Vec<String> = Vec::new();
    let mut at = off_struct;
    loop {
        if at + 4 > end {
            return Err(format!("structure block ends without FDT_END at {at:#x}"));
        }
        let token = h(at, "token")? as u32;
        at += 4;
        match token {
            BEGIN_NODE => {
                let rest = &d[at..end];
                let n = memchr::memchr(0, rest).ok_or("node name is not terminated")?;
                let name = String::from_utf8_lossy(&rest[..n]).to_string();
                at = align4(at + n + 1);
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err("device tree nests too deeply".into());
                }
                tree.nodes.push(path_of(&path));
            }
            END_NODE => {
                path.pop().ok_or("unbalanced end of node")?;
            }
            PROP => {
                let len = h(at, "property length")?;
                let nameoff = h(at + 4, "property name offset")?;
                at += 8;
                if at.saturating_add(len) > end {
                    return Err(format!("property at {at:#x} runs past the structure block"));
                }
                let name_bytes = strings
                    .get(nameoff..)
                    .ok_or("property name offset outside the strings")?;
                let n = memchr::memchr(0, name_bytes).unwrap_or(name_bytes.len());
                tree.props.push(Prop {
                    node: path_of(&path),
                    name: String::from_utf8_lossy(&name_bytes[..n]).to_string(),
                    value: at..at + len,
                });
                at = align4(at + len);
            }
            NOP => {}
            END => return Ok(tree),
            other => return Err(format!("unknown structure token {other:#x} at {:#x}", at - 4)),
        }
    }
}

/// "/images/kernel" from ["", "images", "kernel"] (the root's name is empty).
fn path_of(parts: &[String]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join("/");
    format!("/{joined}")
}

impl Tree {
    fn prop(&self, node: &str, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.node == node && p.name == name)
    }

    fn text(&self, d: &[u8], node: &str, name: &str) -> Option<String> {
        let v = &d[self.prop(node, name)?.value.clone()];
        let v = v.strip_suffix(&[0]).unwrap_or(v);
        Some(String::from_utf8_lossy(v).replace('\0', ","))
    }

    fn u32(&self, d: &[u8], node: &str, name: &str) -> Option<usize> {
        let p = self.prop(node, name)?;
        (p.value.len() == 4).then(|| be_u32(d, p.value.start).map(|v| v as usize))?
    }

    /// Direct children of `/images`.
    fn images(&self) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|n| n.strip_prefix("/images/").is_some_and(|rest| !rest.contains('/')))
            .map(String::as_str)
            .collect()
    }
}

/// Where one image's data lies, relative to the FIT's start.
fn image_range(d: &[u8], t: &Tree, node: &str) -> Result<std::ops::Range<usize>, String> {
    if let Some(p) = t.prop(node, "data") {
        return Ok(p.value.clone());
    }
    let size = t.u32(d, node, "data-size").ok_or("no data, data-size missing")?;
    let start = if let Some(pos) = t.u32(d, node, "data-position") {
        pos
    } else {
        let off = t
            .u32(d, node, "data-offset")
            .ok_or("no data, data-offset or data-position")?;
        align4(t.total) + off
    };
    Ok(start..start.saturating_add(size))
}

/// A device tree header that is sane but declares more bytes than `d`
/// holds: `Some(total)`.
fn truncated_header(d: &[u8]) -> Option<usize> {
    let h = |at: usize| be_u32(d, at).map(|v| v as usize);
    let (total, off_struct, off_strings, version) = (h(4)?, h(8)?, h(12)?, h(20)?);
    let (size_strings, size_struct) = (h(32)?, h(36)?);
    let sane = h(0)? == 0xd00d_feed
        && (16..=17).contains(&version)
        && off_struct >= 40
        && off_strings >= 40
        && off_struct.saturating_add(size_struct) <= total
        && off_strings.saturating_add(size_strings) <= total;
    (sane && total > d.len()).then_some(total)
}

pub fn parse(d: &[u8]) -> Result<Parsed, Reject> {
    if let Some(total) = truncated_header(d) {
        return Ok(Parsed {
            len: Some(total as u64),
            confidence: Confidence::Medium,
            description: format!(
                "device tree (FIT?), truncated: declares {total} bytes, {} present",
                d.len()
            ),
            facts: BTreeMap::from([("truncated".to_string(), "true".to_string())]),
        });
    }
    let t = walk(d).map_err(Reject)?;
    let images = t.images();
    if images.is_empty() {
        return control_fdt(d, &t).ok_or_else(|| Reject::new("device tree has no /images node: not a FIT"));
    }
    let mut facts = BTreeMap::new();
    if let Some(desc) = t.text(d, "/", "description") {
        facts.insert("description".into(), desc);
    }
    let mut end = t.total;
    let mut names = Vec::new();
    for node in &images {
        let name = node.trim_start_matches("/images/");
        let kind = t.text(d, node, "type").unwrap_or_else(|| "unknown".into());
        let comp = t.text(d, node, "compression").unwrap_or_else(|| "none".into());
        names.push(format!("{name} ({kind}, {comp})"));
        if let Ok(r) = image_range(d, &t, node) {
            end = end.max(r.end.min(d.len()));
        }
    }
    facts.insert("images".into(), names.join("; "));
    // The kernel command line the FIT's device trees carry
    // (`/chosen/bootargs`): where a verity table or a console is set.
    let bootargs: Vec<String> = images
        .iter()
        .filter(|n| t.text(d, n, "type").as_deref() == Some("flat_dt"))
        .filter(|n| t.text(d, n, "compression").is_none_or(|c| c == "none"))
        .filter_map(|n| {
            let r = image_range(d, &t, n).ok()?;
            let sub = d.get(r)?;
            let inner = walk(sub).ok()?;
            let args = inner.text(sub, "/chosen", "bootargs")?;
            Some(format!("{}: {args}", n.trim_start_matches("/images/")))
        })
        .collect();
    if !bootargs.is_empty() {
        facts.insert("bootargs".into(), bootargs.join("; "));
    }
    let hashes: Vec<String> = t
        .nodes
        .iter()
        .filter(|n| leaf(n).starts_with("hash"))
        .map(|n| described(d, &t, n))
        .collect();
    let signature_nodes: Vec<&String> = t.nodes.iter().filter(|n| leaf(n).starts_with("signature")).collect();
    let signatures: Vec<String> = signature_nodes.iter().map(|n| signature(d, &t, n)).collect();
    // mkimage writes a signature node's `value` only when it signs (`-k`);
    // a node without one is a template that proves nothing.
    let with_value = |n: &&&String| t.prop(n, "value").is_some_and(|p| !p.value.is_empty());
    let signed_configs: Vec<String> = signature_nodes
        .iter()
        .filter(with_value)
        .filter_map(|n| {
            let conf = n.strip_prefix("/configurations/")?.split('/').next()?;
            let signs = t
                .text(d, n, "sign-images")
                .unwrap_or_else(|| "its kernel, fdt and ramdisk (default)".into());
            let key = t.text(d, n, "key-name-hint").unwrap_or_else(|| "?".into());
            Some(format!("{conf}: signs {signs} with key `{key}`"))
        })
        .collect();
    let signed = signature_nodes.iter().any(|n| with_value(&n));
    facts.insert("hash_nodes".into(), hashes.join("; "));
    facts.insert("signature_nodes".into(), signatures.join("; "));
    facts.insert("signed_configurations".into(), signed_configs.join("; "));
    facts.insert("signed".into(), signed.to_string());
    Ok(Parsed {
        len: Some(end as u64),
        confidence: Confidence::Medium,
        description: format!(
            "U-Boot FIT, {} images{}",
            images.len(),
            match (signed, signature_nodes.is_empty()) {
                (true, _) => ", signed",
                (false, false) => ", unsigned (signature nodes without a value)",
                (false, true) => ", unsigned",
            }
        ),
        facts,
    })
}

/// "/configurations/conf-1/signature-1 (sha256,rsa2048; key `dev`; signs
/// kernel,fdt; 256-byte value)": a signature node as evidence.
fn signature(d: &[u8], t: &Tree, node: &str) -> String {
    let mut parts = vec![t.text(d, node, "algo").unwrap_or_else(|| "no algo".into())];
    if let Some(k) = t.text(d, node, "key-name-hint") {
        parts.push(format!("key `{k}`"));
    }
    if let Some(s) = t.text(d, node, "sign-images") {
        parts.push(format!("signs {s}"));
    }
    match t.prop(node, "value") {
        Some(p) if !p.value.is_empty() => parts.push(format!("{}-byte value", p.value.len())),
        _ => parts.push("no value: not signed".into()),
    }
    format!("{node} ({})", parts.join("; "))
}

/// A U-Boot control device tree: no `/images`, but `/signature/key-*`
/// nodes holding the public keys U-Boot verifies FIT images with. A key
/// marked `required` (`conf` or `image`) makes U-Boot refuse an image that
/// is not signed with it; without `required` an unsigned image still
/// boots. Its keys become facts; it has no children.
fn control_fdt(d: &[u8], t: &Tree) -> Option<Parsed> {
    let keys: Vec<&String> = t
        .nodes
        .iter()
        .filter(|n| {
            n.strip_prefix("/signature/")
                .is_some_and(|k| !k.contains('/') && k.starts_with("key-"))
        })
        .collect();
    if keys.is_empty() {
        return None;
    }
    let mut described = Vec::new();
    let mut required = Vec::new();
    for k in &keys {
        let name = k.trim_start_matches("/signature/key-");
        let algo = t.text(d, k, "algo").unwrap_or_else(|| "no algo".into());
        let bits = t
            .u32(d, k, "rsa,num-bits")
            .map(|b| format!(", {b} bits"))
            .unwrap_or_default();
        let req = t.text(d, k, "required");
        described.push(format!(
            "{name} ({algo}{bits}, {})",
            req.as_deref()
                .map(|r| format!("required for {r}"))
                .unwrap_or_else(|| "not required".into())
        ));
        if let Some(r) = req {
            required.push(format!("{name} ({r})"));
        }
    }
    let facts = BTreeMap::from([
        ("control_fdt".to_string(), "true".to_string()),
        ("keys".to_string(), described.join("; ")),
        ("required_keys".to_string(), required.join("; ")),
    ]);
    Some(Parsed {
        len: Some(t.total as u64),
        confidence: Confidence::Medium,
        description: format!(
            "U-Boot control device tree, {} verified-boot key(s), {} required",
            keys.len(),
            required.len()
        ),
        facts,
    })
}

fn leaf(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// "/images/kernel/hash-1 (sha256)": a hash or signature node and its algorithm.
fn described(d: &[u8], t: &Tree, node: &str) -> String {
    match t.text(d, node, "algo") {
        Some(algo) => format!("{node} ({algo})"),
        None => node.to_string(),
    }
}

pub fn extract(d: &[u8], p: &Parsed, _: &mut ExtractCtx) -> Result<Extraction, ExtractError> {
    let t = walk(d).map_err(ExtractError::Corrupt)?;
    let mut out = Extraction::default();
    if p.facts.contains_key("control_fdt") {
        return Ok(out);
    }
    for node in t.images() {
        match image_range(d, &t, node) {
            Ok(r) if r.end <= d.len() => {
                for problem in verify_hashes(d, &t, node, &d[r.clone()]) {
                    out.problem(problem);
                }
                out.children.push(Child::Range {
                    offset: r.start as u64,
                    len: r.len() as u64,
                });
            }
            Ok(r) => out.problem(format!(
                "{node}: data at {:#x}..{:#x} runs past the {} bytes present",
                r.start,
                r.end,
                d.len()
            )),
            Err(why) => out.problem(format!("{node}: {why}")),
        }
    }
    Ok(out)
}

/// Check every `hash-*` node of an image node against its data; one
/// problem per hash that does not match or cannot be computed.
fn verify_hashes(d: &[u8], t: &Tree, node: &str, data: &[u8]) -> Vec<String> {
    use sha2::Digest;
    let prefix = format!("{node}/");
    let mut problems = Vec::new();
    for h in t.nodes.iter().filter(|n| {
        n.strip_prefix(&prefix)
            .is_some_and(|rest| !rest.contains('/') && rest.starts_with("hash"))
    }) {
        let Some(want) = t.prop(h, "value").map(|p| &d[p.value.clone()]) else {
            continue;
        };
        let algo = t.text(d, h, "algo").unwrap_or_default();
        let got: Vec<u8> = match algo.as_str() {
            "sha256" => sha2::Sha256::digest(data).to_vec(),
            "sha1" => sha1::Sha1::digest(data).to_vec(),
            "md5" => md5::Md5::digest(data).to_vec(),
            "crc32" => crc32fast::hash(data).to_be_bytes().to_vec(),
            other => {
                problems.push(format!(
                    "{h}: hash algorithm `{other}` is not supported, so the data is not verified"
                ));
                continue;
            }
        };
        if got != want {
            problems.push(format!(
                "{h}: {algo} of the data does not match the stored value: the image is damaged or altered"
            ));
        }
    }
    problems
}

/// Build a FIT with inline images (name, data) and a signed configuration
/// (a `signature-1` node with a key name, the images it signs and a value
/// of placeholder bytes, not a real signature), for tests and rule
/// fixtures.
pub fn build(images: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = FdtWriter::default();
    w.begin("");
    w.prop("description", b"test fit\0");
    w.begin("images");
    for (name, data) in images {
        w.begin(name);
        w.prop("type", b"kernel\0");
        w.prop("data", data);
        w.begin("hash-1");
        w.prop("algo", b"sha256\0");
        {
            use sha2::Digest;
            w.prop("value", &sha2::Sha256::digest(data));
        }
        w.end();
        w.end();
    }
    w.end();
    w.begin("configurations");
    w.begin("conf-1");
    w.begin("signature-1");
    w.prop("algo", b"sha256,rsa2048\0");
    w.prop("key-name-hint", b"dev\0");
    let signs: Vec<u8> = images.iter().flat_map(|(n, _)| n.bytes().chain([0])).collect();
    w.prop("sign-images", &signs);
    // Placeholder bytes where mkimage -k writes the RSA signature: fwcert
    // never verifies signatures (that needs the vendor's key).
    w.prop("value", &[0x5a; 256]);
    for _ in 0..4 {
        w.end();
    }
    w.finish()
}

/// A minimal U-Boot control device tree for tests and rule fixtures: one
/// verified-boot key `/signature/key-<name>` (`algo` sha256,rsa2048,
/// `key-name-hint`, `rsa,num-bits` 2048), with `required` = `required`
/// when given (what `mkimage -K dtb -r` writes, U-Boot
/// `doc/usage/fit/signature.rst`). No key material: fwcert never
/// verifies.
pub fn build_control(name: &str, required: Option<&str>) -> Vec<u8> {
    let z = |t: &str| [t.as_bytes(), &[0]].concat();
    let mut w = FdtWriter::default();
    w.begin("");
    w.prop("model", &z("fwcert control fdt"));
    w.begin("signature");
    w.begin(&format!("key-{name}"));
    w.prop("algo", &z("sha256,rsa2048"));
    w.prop("key-name-hint", &z(name));
    w.prop("rsa,num-bits", &2048u32.to_be_bytes());
    if let Some(r) = required {
        w.prop("required", &z(r));
    }
    for _ in 0..3 {
        w.end();
    }
    let mut d = w.finish();
    d.resize(align4(d.len()), 0);
    d
}

/// Writes a flattened device tree (version 17) node by node, for
/// [`build`] and [`build_control`]: every property name is appended to
/// the strings block (no sharing), as those builders always did.
#[derive(Default)]
struct FdtWriter {
    structure: Vec<u8>,
    strings: Vec<u8>,
}

impl FdtWriter {
    fn begin(&mut self, name: &str) {
        self.structure.extend_from_slice(&BEGIN_NODE.to_be_bytes());
        self.structure.extend_from_slice(name.as_bytes());
        self.structure.push(0);
        self.structure.resize(align4(self.structure.len()), 0);
    }

    fn prop(&mut self, name: &str, value: &[u8]) {
        let name_at = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        self.structure.extend_from_slice(&PROP.to_be_bytes());
        self.structure.extend_from_slice(&(value.len() as u32).to_be_bytes());
        self.structure.extend_from_slice(&name_at.to_be_bytes());
        self.structure.extend_from_slice(value);
        self.structure.resize(align4(self.structure.len()), 0);
    }

    fn end(&mut self) {
        self.structure.extend_from_slice(&END_NODE.to_be_bytes());
    }

    /// The blob: header, an empty memory reservation map, the structure
    /// block (ended) and the strings.
    fn finish(mut self) -> Vec<u8> {
        self.structure.extend_from_slice(&END.to_be_bytes());
        let (s, strings) = (&self.structure, &self.strings);
        let off_struct = 40 + 16;
        let off_strings = off_struct + s.len();
        let total = off_strings + strings.len();
        let mut d = Vec::new();
        for v in [
            0xd00d_feed,
            total,
            off_struct,
            off_strings,
            40,
            17,
            16,
            0,
            strings.len(),
            s.len(),
        ] {
            d.extend_from_slice(&(v as u32).to_be_bytes());
        }
        d.extend_from_slice(&[0; 16]);
        d.extend_from_slice(s);
        d.extend_from_slice(strings);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unpack::formats::testing::run;

    /// mkimage's FIT whose device tree sets `/chosen/bootargs`
    /// (tests/data/fit/make.sh, verity-bootargs.itb).
    #[test]
    fn device_tree_bootargs_are_a_fact() {
        let d = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/fit/verity-bootargs.itb"
        ))
        .unwrap();
        let (p, _) = run(&FORMAT, &d);
        assert!(
            p.facts["bootargs"].starts_with("fdt: console=ttyS0 dm-mod.create=\"vroot,,,ro,0 1740800 verity 1 "),
            "{}",
            p.facts["bootargs"]
        );
        assert_eq!(p.facts["signed"], "false");
    }

    #[test]
    fn built_control_trees_read_back() {
        let (p, _) = run(&FORMAT, &build_control("dev", Some("conf")));
        assert_eq!(p.facts["required_keys"], "dev (conf)");
        let (p, _) = run(&FORMAT, &build_control("dev", None));
        assert_eq!(p.facts["keys"], "dev (sha256,rsa2048, 2048 bits, not required)");
        assert_eq!(p.facts["required_keys"], "");
    }

    #[test]
    fn images_become_ranges_and_signatures_are_facts() {
        let mut d = build(&[("kernel", b"KERNELDATA"), ("rootfs", b"ROOT")]);
        let len = d.len() as u64;
        d.extend_from_slice(&[0xff; 32]);
        let (p, x) = run(&FORMAT, &d);
        assert_eq!(p.len, Some(len));
        assert_eq!(p.facts["signed"], "true");
        assert_eq!(
            p.facts["signature_nodes"],
            "/configurations/conf-1/signature-1 (sha256,rsa2048; key `dev`; signs kernel,rootfs; 256-byte value)"
        );
        assert_eq!(
            p.facts["signed_configurations"],
            "conf-1: signs kernel,rootfs with key `dev`"
        );
        assert!(p.facts["hash_nodes"].contains("/images/kernel/hash-1 (sha256)"));
        let x = x.unwrap();
        assert!(x.problems.is_empty(), "{:?}", x.problems);
        let got: Vec<&[u8]> = x
            .children
            .iter()
            .map(|c| match c {
                Child::Range { offset, len } => &d[*offset as usize..(*offset + *len) as usize],
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, [&b"KERNELDATA"[..], b"ROOT"]);
    }

    #[test]
    fn hostile_trees_are_rejected_without_panicking() {
        let d = build(&[("kernel", b"KERNELDATA")]);
        for cut in 0..d.len() {
            let _ = parse(&d[..cut]);
        }
        for i in 0..d.len() {
            let mut bad = d.clone();
            bad[i] ^= 0xa5;
            if let Ok(p) = parse(&bad) {
                let mut budget = crate::unpack::budget::Budget::new(Default::default(), 0);
                let mut ctx = ExtractCtx {
                    budget: &mut budget,
                    deadline: crate::unpack::budget::Deadline::far(),
                    source: Default::default(),
                };
                let _ = extract(&bad, &p, &mut ctx);
            }
        }
        let plain_dtb = {
            let mut x = build(&[]);
            // Rename "images" so that the tree has no /images node.
            let at = memchr::memmem::find(&x, b"images").unwrap();
            x[at] = b'I';
            x
        };
        assert!(parse(&plain_dtb).unwrap_err().0.contains("not a FIT"));
    }

    #[test]
    fn hashes_are_verified_against_the_data() {
        let d = build(&[("kernel", b"KERNELDATA")]);
        let (_, x) = run(&FORMAT, &d);
        assert!(x.unwrap().problems.is_empty());
        let mut bad = d.clone();
        let at = memchr::memmem::find(&bad, b"KERNELDATA").unwrap();
        bad[at] = b'X';
        let (_, x) = run(&FORMAT, &bad);
        let problems = x.unwrap().problems;
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("/images/kernel/hash-1: sha256 of the data does not match"),
            "{problems:?}"
        );
        let mut unknown = d.clone();
        let at = memchr::memmem::find(&unknown, b"sha256\0").unwrap();
        unknown[at..at + 6].copy_from_slice(b"blake9");
        let (_, x) = run(&FORMAT, &unknown);
        assert!(x.unwrap().problems[0].contains("`blake9` is not supported"));
    }

    /// FITs made by U-Boot's mkimage (tests/data/fit/make.sh): without
    /// `-k` the signature node is a template with no value, with `-k` it
    /// is signed; the control device tree `-K … -r` wrote holds the key,
    /// required for configurations.
    #[test]
    fn mkimage_signed_and_unsigned_fits_are_told_apart() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/fit/");
        let read = |n: &str| std::fs::read(format!("{dir}{n}")).unwrap();
        let (p, x) = run(&FORMAT, &read("unsigned.itb"));
        assert_eq!(p.facts["signed"], "false");
        assert_eq!(
            p.description,
            "U-Boot FIT, 2 images, unsigned (signature nodes without a value)"
        );
        assert_eq!(
            p.facts["signature_nodes"],
            "/configurations/conf-1/signature-1 (sha256,rsa2048; key `dev`; signs kernel,fdt; no value: not signed)"
        );
        assert_eq!(p.facts["signed_configurations"], "");
        assert!(x.unwrap().problems.is_empty());
        let (p, x) = run(&FORMAT, &read("signed.itb"));
        assert_eq!(p.facts["signed"], "true");
        assert_eq!(
            p.facts["signature_nodes"],
            "/configurations/conf-1/signature-1 (sha256,rsa2048; key `dev`; signs kernel,fdt; 256-byte value)"
        );
        assert_eq!(
            p.facts["signed_configurations"],
            "conf-1: signs kernel,fdt with key `dev`"
        );
        assert!(x.unwrap().problems.is_empty(), "mkimage's hashes verify");
        let (p, x) = run(&FORMAT, &read("control.dtb"));
        assert_eq!(
            p.description,
            "U-Boot control device tree, 1 verified-boot key(s), 1 required"
        );
        assert_eq!(p.facts["keys"], "dev (sha256,rsa2048, 2048 bits, required for conf)");
        assert_eq!(p.facts["required_keys"], "dev (conf)");
        assert!(x.unwrap().children.is_empty());
    }

    #[test]
    fn a_truncated_tree_is_a_failed_container_not_a_chance_match() {
        let d = build(&[("kernel", b"KERNELDATA")]);
        let cut = &d[..d.len() / 2];
        let (p, x) = run(&FORMAT, cut);
        assert_eq!(p.len, Some(d.len() as u64), "it claims what it declares");
        assert!(p.description.contains("truncated"), "{}", p.description);
        assert!(x.is_err());
    }
}
