//! Small, realistic camera-like firmware images with a known answer, built
//! in-process (no external tools). `cargo run --example gen-samples`
//! writes them to `samples/`; a test checks the committed files are exactly
//! what this code builds, so the samples can never drift from their answers.

use std::io::Cursor;

use backhand::kind::Kind;
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};

use crate::unpack::formats::{fit, squashfs, uimage};

/// A fixed timestamp (2021-01-01) so that samples are byte-for-byte stable.
pub const EPOCH: u32 = 1_609_459_200;

/// A minimal 32-bit little-endian ARM ELF executable carrying `text` in its
/// only loadable segment, with a non-executable stack marker.
pub fn minimal_elf(text: &[u8]) -> Vec<u8> {
    const EHDR: usize = 52;
    const PHDR: usize = 32;
    let data_off = EHDR + 2 * PHDR;
    let total = data_off + text.len();
    let mut e = Vec::with_capacity(total);
    e.extend_from_slice(b"\x7fELF\x01\x01\x01\x00");
    e.extend_from_slice(&[0; 8]);
    let u16le = |v: u16| v.to_le_bytes();
    let u32le = |v: u32| v.to_le_bytes();
    e.extend_from_slice(&u16le(2)); // ET_EXEC
    e.extend_from_slice(&u16le(40)); // EM_ARM
    e.extend_from_slice(&u32le(1));
    e.extend_from_slice(&u32le(0x8000 + data_off as u32)); // entry
    e.extend_from_slice(&u32le(EHDR as u32)); // phoff
    e.extend_from_slice(&u32le(0)); // shoff
    e.extend_from_slice(&u32le(0x0500_0000)); // EABI5
    e.extend_from_slice(&u16le(EHDR as u16));
    e.extend_from_slice(&u16le(PHDR as u16));
    e.extend_from_slice(&u16le(2));
    e.extend_from_slice(&u16le(40));
    e.extend_from_slice(&u16le(0));
    e.extend_from_slice(&u16le(0));
    // PT_LOAD, R+X, the whole file.
    for v in [1u32, 0, 0x8000, 0x8000, total as u32, total as u32, 5, 0x1000] {
        e.extend_from_slice(&u32le(v));
    }
    // PT_GNU_STACK, R+W only.
    for v in [0x6474_e551u32, 0, 0, 0, 0, 0, 6, 16] {
        e.extend_from_slice(&u32le(v));
    }
    e.extend_from_slice(text);
    e
}

/// An ELF architecture the hardening fixtures can be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Machine {
    #[default]
    Arm,
    Aarch64,
    Mips,
    Ppc,
    Ppc64,
    X86,
    X86_64,
}

impl Machine {
    fn e_machine(self) -> u16 {
        match self {
            Machine::Arm => 40,
            Machine::Aarch64 => 183,
            Machine::Mips => 8,
            Machine::Ppc => 20,
            Machine::Ppc64 => 21,
            Machine::X86 => 3,
            Machine::X86_64 => 62,
        }
    }

    fn is_64(self) -> bool {
        matches!(self, Machine::Aarch64 | Machine::Ppc64 | Machine::X86_64)
    }
}

/// What [`build_elf`] puts in an ELF file: the properties the hardening
/// checks read, nothing more. The default is a 32-bit little-endian ARM
/// ET_EXEC with a non-executable stack marker and no dynamic section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfSpec {
    pub machine: Machine,
    pub big_endian: bool,
    /// ET_DYN instead of ET_EXEC.
    pub et_dyn: bool,
    /// DT_FLAGS_1 carries DF_1_PIE.
    pub df_1_pie: bool,
    /// PT_GNU_STACK: `Some(true)` RWE, `Some(false)` RW, `None` absent.
    pub stack: Option<bool>,
    /// PT_INTERP.
    pub interpreter: Option<String>,
    /// PT_GNU_RELRO.
    pub relro: bool,
    /// DT_FLAGS with DF_BIND_NOW.
    pub bind_now: bool,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    /// DT_SONAME: names a shared library.
    pub soname: Option<String>,
    /// DT_DEBUG, which linkers give executables only.
    pub dt_debug: bool,
    /// Undefined function symbols in `.dynsym` (names in `.dynstr`).
    pub imports: Vec<String>,
    /// False: the names of `imports` are in `.dynstr` but `.dynsym` holds
    /// only its null symbol (to test which string table a name is read from).
    pub dynsym_in_table: bool,
    /// Symbols of a `.symtab` section (names in `.strtab`).
    pub symtab: Vec<String>,
    /// Bytes placed after the headers (strings a rule may look for).
    pub text: Vec<u8>,
}

impl Default for ElfSpec {
    fn default() -> Self {
        ElfSpec {
            machine: Machine::Arm,
            big_endian: false,
            et_dyn: false,
            df_1_pie: false,
            stack: Some(false),
            interpreter: None,
            relro: false,
            bind_now: false,
            rpath: None,
            runpath: None,
            soname: None,
            dt_debug: false,
            imports: Vec::new(),
            dynsym_in_table: true,
            symtab: Vec::new(),
            text: Vec::new(),
        }
    }
}

/// Little writer for ELF fields of the spec's width and byte order.
struct ElfWriter {
    out: Vec<u8>,
    big: bool,
    wide: bool,
}

impl ElfWriter {
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    fn u16(&mut self, v: u16) {
        let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        self.out.extend_from_slice(&b);
    }
    fn u32(&mut self, v: u32) {
        let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        self.out.extend_from_slice(&b);
    }
    fn u64(&mut self, v: u64) {
        let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        self.out.extend_from_slice(&b);
    }
    /// An address-sized word (`Elf32_Addr` / `Elf64_Addr`).
    fn word(&mut self, v: u64) {
        if self.wide {
            self.u64(v);
        } else {
            self.u32(v as u32);
        }
    }
    fn pad_to(&mut self, at: usize) {
        self.out.resize(at.max(self.out.len()), 0);
    }
}

/// A NUL-separated string table starting with the empty name: the table
/// and the index of each name.
fn string_table<'a>(names: impl IntoIterator<Item = &'a str>) -> (Vec<u8>, Vec<usize>) {
    let mut t = vec![0u8];
    let mut at = Vec::new();
    for n in names {
        at.push(t.len());
        t.extend_from_slice(n.as_bytes());
        t.push(0);
    }
    (t, at)
}

/// Build an ELF file with exactly the hardening properties of `spec`
/// (program headers, a dynamic section with `.dynsym`/`.dynstr`/DT_HASH when
/// anything dynamic is asked for, a `.symtab` section when symbols are), so
/// that rule fixtures and unit tests can express every NX, PIE, RELRO,
/// canary, FORTIFY and RPATH case on every architecture firmware uses.
/// Everything lies in one PT_LOAD segment mapping the file at a fixed base.
/// Section headers, when there are symbols, list only `.symtab`, `.strtab`
/// and `.shstrtab`: loaders and goblin read the dynamic data through
/// PT_DYNAMIC (`readelf -Ds` shows it; plain `readelf -d` notes that no
/// `.dynamic` section header matches).
pub fn build_elf(spec: &ElfSpec) -> Vec<u8> {
    const PT_LOAD: u32 = 1;
    const PT_DYNAMIC: u32 = 2;
    const PT_INTERP: u32 = 3;
    const PT_GNU_STACK: u32 = 0x6474_e551;
    const PT_GNU_RELRO: u32 = 0x6474_e552;
    let wide = spec.machine.is_64();
    let ws = if wide { 8 } else { 4 };
    let base: u64 = if spec.et_dyn { 0 } else { 0x10000 };
    let ehsize = if wide { 64 } else { 52 };
    let phentsize = if wide { 56 } else { 32 };
    let symsize = if wide { 24 } else { 16 };
    let align = |v: usize| v.div_ceil(ws) * ws;

    let dynamic = !spec.imports.is_empty()
        || spec.rpath.is_some()
        || spec.runpath.is_some()
        || spec.soname.is_some()
        || spec.dt_debug
        || spec.bind_now
        || spec.df_1_pie
        || spec.interpreter.is_some();
    let mut phdrs = 1;
    phdrs += usize::from(spec.interpreter.is_some());
    phdrs += usize::from(dynamic);
    phdrs += usize::from(spec.stack.is_some());
    phdrs += usize::from(spec.relro);

    // Layout.
    let interp_off = ehsize + phdrs * phentsize;
    let interp = spec.interpreter.as_deref().map(|i| [i.as_bytes(), b"\0"].concat());
    let dynstr_off = interp_off + interp.as_ref().map_or(0, Vec::len);
    let (dynstr, dynstr_at) = string_table(
        spec.imports
            .iter()
            .map(String::as_str)
            .chain(spec.rpath.as_deref())
            .chain(spec.runpath.as_deref())
            .chain(spec.soname.as_deref()),
    );
    let nimports = spec.imports.len();
    let dynsyms: Vec<usize> = if spec.dynsym_in_table {
        dynstr_at[..nimports].to_vec()
    } else {
        Vec::new()
    };
    let dynsym_off = align(dynstr_off + if dynamic { dynstr.len() } else { 0 });
    let nsyms = 1 + dynsyms.len();
    let hash_off = dynsym_off + if dynamic { nsyms * symsize } else { 0 };
    let hash_len = 4 * (2 + 1 + nsyms);
    let dyn_off = align(hash_off + if dynamic { hash_len } else { 0 });
    let mut dyns: Vec<(u64, u64)> = Vec::new();
    if dynamic {
        let addr = |off: usize| base + off as u64;
        dyns.push((4, addr(hash_off))); // DT_HASH
        dyns.push((5, addr(dynstr_off))); // DT_STRTAB
        dyns.push((6, addr(dynsym_off))); // DT_SYMTAB
        dyns.push((10, dynstr.len() as u64)); // DT_STRSZ
        dyns.push((11, symsize as u64)); // DT_SYMENT
        let mut next = nimports;
        if spec.rpath.is_some() {
            dyns.push((15, dynstr_at[next] as u64)); // DT_RPATH
            next += 1;
        }
        if spec.runpath.is_some() {
            dyns.push((29, dynstr_at[next] as u64)); // DT_RUNPATH
            next += 1;
        }
        if spec.soname.is_some() {
            dyns.push((14, dynstr_at[next] as u64)); // DT_SONAME
        }
        if spec.dt_debug {
            dyns.push((21, 0)); // DT_DEBUG
        }
        if spec.bind_now {
            dyns.push((30, 0x8)); // DT_FLAGS: DF_BIND_NOW
        }
        if spec.df_1_pie {
            dyns.push((0x6fff_fffb, 0x0800_0000)); // DT_FLAGS_1: DF_1_PIE
        }
        dyns.push((0, 0)); // DT_NULL
    }
    let dyn_len = dyns.len() * 2 * ws;
    let text_off = dyn_off + dyn_len;
    let load_end = text_off + spec.text.len();
    // Sections only for `.symtab`.
    let (strtab, strtab_at) = string_table(spec.symtab.iter().map(String::as_str));
    let (shstrtab, shstr_at) = string_table([".symtab", ".strtab", ".shstrtab"]);
    let symtab_off = align(load_end);
    let strtab_off = symtab_off + (1 + spec.symtab.len()) * symsize;
    let shstrtab_off = strtab_off + strtab.len();
    let shoff = align(shstrtab_off + shstrtab.len());
    let sections = !spec.symtab.is_empty();

    let mut w = ElfWriter {
        out: Vec::new(),
        big: spec.big_endian,
        wide,
    };
    w.out.extend_from_slice(b"\x7fELF");
    w.u8(if wide { 2 } else { 1 });
    w.u8(if spec.big_endian { 2 } else { 1 });
    w.u8(1);
    w.pad_to(16);
    w.u16(if spec.et_dyn { 3 } else { 2 });
    w.u16(spec.machine.e_machine());
    w.u32(1);
    w.word(base + text_off as u64); // entry
    w.word(ehsize as u64); // phoff
    w.word(if sections { shoff as u64 } else { 0 });
    w.u32(if spec.machine == Machine::Arm { 0x0500_0000 } else { 0 });
    w.u16(ehsize as u16);
    w.u16(phentsize as u16);
    w.u16(phdrs as u16);
    w.u16(if wide { 64 } else { 40 });
    w.u16(if sections { 4 } else { 0 });
    w.u16(if sections { 3 } else { 0 });
    let phdr = |w: &mut ElfWriter, kind: u32, off: usize, size: usize, flags: u32, align: u64| {
        let (off, addr, size) = (off as u64, base + off as u64, size as u64);
        if wide {
            w.u32(kind);
            w.u32(flags);
            w.word(off);
            w.word(addr);
            w.word(addr);
            w.word(size);
            w.word(size);
            w.word(align);
        } else {
            for v in [
                kind,
                off as u32,
                addr as u32,
                addr as u32,
                size as u32,
                size as u32,
                flags,
            ] {
                w.u32(v);
            }
            w.u32(align as u32);
        }
    };
    phdr(&mut w, PT_LOAD, 0, load_end, 5, 0x1000);
    if let Some(i) = &interp {
        phdr(&mut w, PT_INTERP, interp_off, i.len(), 4, 1);
    }
    if dynamic {
        phdr(&mut w, PT_DYNAMIC, dyn_off, dyn_len, 6, ws as u64);
    }
    if let Some(x) = spec.stack {
        // RW, plus X when asked; offset, address and size 0 as linkers write it.
        let flags = if x { 7 } else { 6 };
        if wide {
            w.u32(PT_GNU_STACK);
            w.u32(flags);
            for _ in 0..5 {
                w.u64(0);
            }
            w.u64(16);
        } else {
            for v in [PT_GNU_STACK, 0, 0, 0, 0, 0, flags, 16] {
                w.u32(v);
            }
        }
    }
    if spec.relro {
        phdr(&mut w, PT_GNU_RELRO, dyn_off, dyn_len, 4, 1);
    }
    if let Some(i) = &interp {
        w.out.extend_from_slice(i);
    }
    let sym = |w: &mut ElfWriter, name: usize, info: u8| {
        if wide {
            w.u32(name as u32);
            w.u8(info);
            w.u8(0);
            w.u16(0);
            w.u64(0);
            w.u64(0);
        } else {
            w.u32(name as u32);
            w.u32(0);
            w.u32(0);
            w.u8(info);
            w.u8(0);
            w.u16(0);
        }
    };
    if dynamic {
        w.out.extend_from_slice(&dynstr);
        w.pad_to(dynsym_off);
        sym(&mut w, 0, 0);
        for n in &dynsyms {
            sym(&mut w, *n, 0x12); // STB_GLOBAL, STT_FUNC, undefined
        }
        // DT_HASH: one bucket, nchain = number of symbols, empty chains.
        w.u32(1);
        w.u32(nsyms as u32);
        for _ in 0..=nsyms {
            w.u32(0);
        }
        w.pad_to(dyn_off);
        for (tag, val) in &dyns {
            w.word(*tag);
            w.word(*val);
        }
    }
    w.pad_to(text_off);
    w.out.extend_from_slice(&spec.text);
    if sections {
        w.pad_to(symtab_off);
        sym(&mut w, 0, 0);
        for at in &strtab_at {
            sym(&mut w, *at, 0x12);
        }
        w.out.extend_from_slice(&strtab);
        w.out.extend_from_slice(&shstrtab);
        w.pad_to(shoff);
        let sh = |w: &mut ElfWriter, name: u32, kind: u32, off: usize, size: usize, link: u32, entsize: usize| {
            w.u32(name);
            w.u32(kind);
            w.word(0);
            w.word(0);
            w.word(off as u64);
            w.word(size as u64);
            w.u32(link);
            w.u32(if kind == 2 { 1 } else { 0 });
            w.word(1);
            w.word(entsize as u64);
        };
        sh(&mut w, 0, 0, 0, 0, 0, 0);
        let symtab_len = (1 + spec.symtab.len()) * symsize;
        sh(&mut w, shstr_at[0] as u32, 2, symtab_off, symtab_len, 2, symsize); // SHT_SYMTAB → .strtab
        sh(&mut w, shstr_at[1] as u32, 3, strtab_off, strtab.len(), 0, 0);
        sh(&mut w, shstr_at[2] as u32, 3, shstrtab_off, shstrtab.len(), 0, 0);
    }
    w.out
}

/// The ELF a rule fixture describes (`[fixture.elf_props."<path>"]`),
/// carrying `text`; an unknown machine, stack or RELRO word is an error
/// naming it.
pub fn elf_from_props(p: &crate::checks::rule::ElfProps, text: &[u8]) -> Result<Vec<u8>, String> {
    let machine = match p.machine.as_deref().unwrap_or("arm") {
        "arm" => Machine::Arm,
        "aarch64" => Machine::Aarch64,
        "mips" => Machine::Mips,
        "ppc" => Machine::Ppc,
        "ppc64" => Machine::Ppc64,
        "x86" => Machine::X86,
        "x86-64" => Machine::X86_64,
        m => return Err(format!("unknown machine `{m}`")),
    };
    let stack = match p.stack.as_deref().unwrap_or("rw") {
        "rw" => Some(false),
        "rwx" => Some(true),
        "absent" => None,
        s => return Err(format!("unknown stack `{s}` (rw, rwx, absent)")),
    };
    let (relro, bind_now) = match p.relro.as_deref().unwrap_or("none") {
        "none" => (false, false),
        "partial" => (true, false),
        "full" => (true, true),
        r => return Err(format!("unknown relro `{r}` (none, partial, full)")),
    };
    let interp = match machine {
        Machine::Mips | Machine::Arm | Machine::Ppc => "/lib/ld-uClibc.so.0",
        Machine::X86 => "/lib/ld-linux.so.2",
        _ => "/lib/ld-linux.so.1",
    };
    Ok(build_elf(&ElfSpec {
        machine,
        big_endian: p.big_endian,
        et_dyn: p.pie,
        df_1_pie: p.pie,
        stack,
        interpreter: (p.pie || !p.imports.is_empty()).then(|| interp.to_string()),
        relro,
        bind_now,
        rpath: p.rpath.clone(),
        runpath: p.runpath.clone(),
        soname: None,
        dt_debug: p.pie,
        imports: p.imports.clone(),
        dynsym_in_table: true,
        symtab: Vec::new(),
        text: text.to_vec(),
    }))
}

/// A BusyBox-like executable: the version banner and the applet names as
/// BusyBox stores them (one sorted, NUL-separated list), so that the boot
/// model can tell which applets are compiled in.
pub fn fake_busybox(version: &str, applets: &[&str]) -> Vec<u8> {
    let mut names: Vec<&str> = applets.to_vec();
    names.sort_unstable();
    names.dedup();
    let mut text = b"\0BusyBox v".to_vec();
    text.extend_from_slice(version.as_bytes());
    text.extend_from_slice(b" (2021-01-01 00:00:00 CST) multi-call binary.\0\xff");
    for n in names {
        text.extend_from_slice(n.as_bytes());
        text.push(0);
    }
    text.push(0);
    minimal_elf(&text)
}

/// One file to put in a sample filesystem.
pub enum Entry<'a> {
    File {
        path: &'a str,
        mode: u16,
        data: Vec<u8>,
    },
    Dir {
        path: &'a str,
        mode: u16,
    },
    Link {
        path: &'a str,
        target: &'a str,
    },
    /// A file with an owner other than root.
    OwnedFile {
        path: &'a str,
        mode: u16,
        uid: u32,
        gid: u32,
        data: Vec<u8>,
    },
    /// A directory with an owner other than root.
    OwnedDir {
        path: &'a str,
        mode: u16,
        uid: u32,
        gid: u32,
    },
}

/// Build a SquashFS 4 image with the given compressor codec.
pub fn squashfs(entries: &[Entry], codec: &'static squashfs::Codec) -> Vec<u8> {
    let mut w = FilesystemWriter::default();
    w.set_time(EPOCH);
    w.set_kind(Kind::new_v4(codec));
    // The codec statics only write gzip, lzma or xz; all have valid ids.
    if let Ok(c) = FilesystemCompressor::new(codec.writes, None) {
        w.set_compressor(c);
    }
    w.set_root_mode(0o755);
    for e in entries {
        // Sample entries are static and well-formed; a failure here is a
        // bug in the sample definition, caught by the sample tests.
        let r = match e {
            Entry::Dir { path, mode } => w.push_dir_all(path, NodeHeader::new(*mode, 0, 0, EPOCH)),
            Entry::File { path, mode, data } => {
                w.push_file(Cursor::new(data.clone()), path, NodeHeader::new(*mode, 0, 0, EPOCH))
            }
            Entry::Link { path, target } => w.push_symlink(target, path, NodeHeader::new(0o777, 0, 0, EPOCH)),
            Entry::OwnedFile {
                path,
                mode,
                uid,
                gid,
                data,
            } => w.push_file(
                Cursor::new(data.clone()),
                path,
                NodeHeader::new(*mode, *uid, *gid, EPOCH),
            ),
            Entry::OwnedDir { path, mode, uid, gid } => w.push_dir_all(path, NodeHeader::new(*mode, *uid, *gid, EPOCH)),
        };
        if let Err(err) = r {
            panic!("sample entry is invalid: {err}");
        }
    }
    let mut out = Cursor::new(Vec::new());
    if let Err(err) = w.write(&mut out) {
        panic!("writing a sample SquashFS failed: {err}");
    }
    out.into_inner()
}

/// Camera firmware really ships MD5-crypt; the sample must too.
#[allow(deprecated)]
fn md5crypt(password: &str, salt: &str) -> String {
    pwhash::md5_crypt::hash_with(format!("$1${salt}$").as_str(), password).unwrap_or_default()
}

/// A camera root filesystem. `hardened` locks root, comments telnet out,
/// puts a getty login instead of a shell on the serial console and ships a
/// current BusyBox (1.37.0, outside every range of
/// `checks/components/vulnerabilities.toml`); the default image keeps the
/// 1.24.1 that vulnerable cameras ship.
fn camera_rootfs(hardened: bool) -> Vec<Entry<'static>> {
    let busybox = fake_busybox(
        if hardened { "1.37.0" } else { "1.24.1" },
        &[
            "[", "[[", "ash", "cat", "echo", "getty", "init", "kill", "login", "ls", "mount", "ps", "rm", "sh",
            "telnetd",
        ],
    );
    let shadow = if hardened {
        "root:*:18628:0:99999:7:::\nadmin:!:18628:0:99999:7:::\n".to_string()
    } else {
        // root/xmhdipc: a Xiongmai camera default in Mirai's list.
        format!("root:{}:18628:0:99999:7:::\n", md5crypt("xmhdipc", "Zq3xJ8aW"))
    };
    let passwd = if hardened {
        "root:x:0:0:root:/root:/bin/sh\nadmin:x:1000:1000:admin:/home/admin:/bin/sh\n"
    } else {
        "root:x:0:0:root:/root:/bin/sh\n"
    };
    let rcs = if hardened {
        "#!/bin/sh\nmount -a\n# telnetd -l /bin/sh\n/usr/bin/ipcam &\n"
    } else {
        "#!/bin/sh\nmount -a\ntelnetd &\n/usr/bin/ipcam &\n"
    };
    // The updater the camera's web interface runs (not started at boot).
    // Hardened: HTTPS with a pinned CA, a signature checked with `openssl
    // dgst -verify` that stops the update when it fails, and a version
    // comparison that refuses an older image. Default: plain HTTP, the
    // verification commented out, no version check.
    let updater = if hardened {
        concat!(
            "#!/bin/sh\n",
            "# Fetch, verify and install a firmware update.\n",
            "URL=https://update.example.com/ipcam/latest.bin\n",
            "curl -sSf --cacert /etc/ssl/update-ca.pem \"$URL\" -o /tmp/fw.bin || exit 1\n",
            "curl -sSf --cacert /etc/ssl/update-ca.pem \"$URL.sig\" -o /tmp/fw.sig || exit 1\n",
            "if ! openssl dgst -sha256 -verify /etc/fw-key.pem -signature /tmp/fw.sig /tmp/fw.bin; then\n",
            "    echo 'update: bad signature' >&2\n",
            "    exit 1\n",
            "fi\n",
            "NEW_VERSION=$(tail -c 8 /tmp/fw.bin)\n",
            "CUR_VERSION=$(cat /etc/fw_version)\n",
            "if [ \"$NEW_VERSION\" -le \"$CUR_VERSION\" ]; then\n",
            "    echo 'update: not newer than the installed firmware' >&2\n",
            "    exit 1\n",
            "fi\n",
            "mtd write /tmp/fw.bin firmware\n",
        )
    } else {
        concat!(
            "#!/bin/sh\n",
            "# Fetch and install a firmware update.\n",
            "wget http://update.example.com/ipcam/latest.bin -O /tmp/fw.bin\n",
            "# openssl dgst -sha256 -verify /etc/fw-key.pem -signature /tmp/fw.sig /tmp/fw.bin || exit 1\n",
            "mtd write /tmp/fw.bin firmware\n",
        )
    };
    let inittab = if hardened {
        "::sysinit:/etc/init.d/rcS\nttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"
    } else {
        "::sysinit:/etc/init.d/rcS\nttyS0::askfirst:-/bin/sh\n"
    };
    vec![
        Entry::Dir {
            path: "bin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "etc/init.d",
            mode: 0o755,
        },
        Entry::Dir {
            path: "sbin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr/bin",
            mode: 0o755,
        },
        Entry::Dir {
            path: "usr/sbin",
            mode: 0o755,
        },
        Entry::File {
            path: "bin/busybox",
            mode: 0o755,
            data: busybox,
        },
        Entry::Link {
            path: "bin/sh",
            target: "busybox",
        },
        Entry::Link {
            path: "sbin/getty",
            target: "../bin/busybox",
        },
        Entry::Link {
            path: "sbin/init",
            target: "../bin/busybox",
        },
        Entry::Link {
            path: "bin/mount",
            target: "busybox",
        },
        Entry::Link {
            path: "usr/sbin/telnetd",
            target: "../../bin/busybox",
        },
        Entry::File {
            path: "etc/passwd",
            mode: 0o644,
            data: passwd.as_bytes().to_vec(),
        },
        Entry::File {
            path: "etc/shadow",
            mode: 0o600,
            data: shadow.into_bytes(),
        },
        Entry::File {
            path: "etc/inittab",
            mode: 0o644,
            data: inittab.as_bytes().to_vec(),
        },
        Entry::File {
            path: "etc/init.d/rcS",
            mode: 0o755,
            data: rcs.as_bytes().to_vec(),
        },
        Entry::File {
            path: "usr/bin/ipcam",
            mode: 0o755,
            data: minimal_elf(b"\0ipcam rtsp server 1.0\0rtsp://%s:554/stream\0"),
        },
        Entry::File {
            path: "usr/sbin/fw_upgrade.sh",
            mode: 0o755,
            data: updater.as_bytes().to_vec(),
        },
        Entry::File {
            path: "etc/fw_version",
            mode: 0o644,
            data: b"20240101\n".to_vec(),
        },
        Entry::File {
            path: "etc/fw-key.pem",
            mode: 0o644,
            data: UPDATE_PUBLIC_KEY.as_bytes().to_vec(),
        },
    ]
}

/// The samples' update-signing public key (P-256; its private key was
/// discarded: the samples are never updated).
const UPDATE_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYwnzJ0kj2IPsRyCHOdvNdEjZ+H4k
QdQjEoFEWrilJ3kIEk6mREs9Gj2oZ/OiRekJxmrLZt1vqqCm+qCXEBHP+g==
-----END PUBLIC KEY-----
";

/// The bytes of the bundled sample called `name`, if there is one.
pub fn named(name: &str) -> Option<Vec<u8>> {
    all()
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, bytes, _)| bytes)
}

/// Every bundled sample: (file name, bytes, what a correct scan says).
pub fn all() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let rootfs = squashfs(&camera_rootfs(false), &squashfs::LZMA_CODEC);
    let hardened = squashfs(&camera_rootfs(true), &squashfs::XZ_CODEC);
    vec![
        (
            "camera-default-root.bin",
            uimage::build("ipcam-rootfs", 7, 0, EPOCH, &rootfs),
            "FAIL: root has the Mirai default password xmhdipc (FW-CRED-002), MD5-crypt (FW-CRED-004); rcS starts telnetd (FW-SVC-001); askfirst shell on ttyS0 (FW-DEBUG-001); /usr/sbin/fw_upgrade.sh flashes an image fetched over plain HTTP with its signature check commented out and no version check (FW-UPD-003, FW-UPD-004, FW-UPD-005, FW-UPD-006)",
        ),
        (
            "camera-hardened.bin",
            fit::build(&[("rootfs", &hardened)]),
            "exit 0, ETSI EN 303 645 firmware verdict PASS: a FIT image with a signed configuration, accounts locked, telnet commented out, getty login on ttyS0 (FW-DEBUG-002, info), current BusyBox, an updater that fetches over HTTPS and checks the signature and the version before flashing; clauses that need a device test or documents stay OPEN",
        ),
    ]
}
