//! ELF facts, read with goblin: what the hardening checks need to know.
//!
//! Each fact is what a loader or the kernel acts on, read from the file
//! alone: program headers (stack, RELRO, interpreter), the dynamic section
//! (BIND_NOW, PIE flag, RPATH/RUNPATH) and symbol names (stack protector,
//! FORTIFY, server socket calls).

use goblin::elf::Elf;
use goblin::elf::header::{EM_386, EM_AARCH64, EM_ARM, EM_MIPS, EM_PPC, EM_PPC64, EM_X86_64, ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::program_header::{PF_X, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP};
use serde::Serialize;

/// What the PT_GNU_STACK program header says about the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackMarker {
    /// PT_GNU_STACK with PF_X (`RWE`): the program asks for an executable stack.
    Executable,
    /// PT_GNU_STACK without PF_X (`RW`).
    NonExecutable,
    /// No PT_GNU_STACK: the kernel's per-architecture default applies
    /// ([`absent_marker_means_exec`]).
    Absent,
}

/// How much of the relocation data is read-only after start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Relro {
    /// No PT_GNU_RELRO: the GOT stays writable.
    None,
    /// PT_GNU_RELRO without BIND_NOW: the PLT part of the GOT stays writable
    /// for lazy binding.
    Partial,
    /// PT_GNU_RELRO with BIND_NOW (DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW).
    Full,
}

impl Relro {
    pub fn as_str(self) -> &'static str {
        match self {
            Relro::None => "no RELRO",
            Relro::Partial => "partial RELRO",
            Relro::Full => "full RELRO",
        }
    }
}

/// What fwcert knows about one ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElfFacts {
    pub machine: String,
    pub bits: u8,
    pub big_endian: bool,
    /// `executable`, `pie-or-shared`, `relocatable` or `other`.
    pub kind: &'static str,
    pub interpreter: Option<String>,
    pub stack: StackMarker,
    /// Whether the stack is executable when the program runs: an
    /// `Executable` marker, or an absent one on an architecture whose
    /// kernel then defaults to an executable stack.
    pub exec_stack: bool,
    /// File offset of the PT_GNU_STACK program header (evidence location).
    pub stack_header_offset: Option<u64>,
    /// A position-independent executable: ET_DYN with DF_1_PIE, or with an
    /// interpreter and DT_DEBUG. Shared libraries are neither PIE nor
    /// "no PIE".
    pub pie: bool,
    pub relro: Relro,
    pub bind_now: bool,
    /// `Some(true)` when a stack-protector symbol is named, `Some(false)`
    /// when symbols were readable and none is, `None` when the file has no
    /// symbols at all (static and stripped: nothing can be said).
    pub stack_canary: Option<bool>,
    /// Fortified libc functions imported (`__memcpy_chk`, `__sprintf_chk`…).
    pub fortified: usize,
    pub stripped: bool,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// File offset of the first RPATH or RUNPATH string (evidence location).
    pub search_path_offset: Option<u64>,
    /// Imports `bind` together with `listen`, `accept` or `recvfrom`: the
    /// calls of a program that serves the network.
    pub server_calls: bool,
}

impl ElfFacts {
    /// An executable or shared object the kernel or loader maps (not an
    /// object file or kernel module, for which hardening does not apply).
    pub fn is_loadable(&self) -> bool {
        matches!(self.kind, "executable" | "pie-or-shared")
    }

    /// A program rather than a shared library: ET_EXEC, or ET_DYN that is
    /// PIE.
    pub fn is_program(&self) -> bool {
        self.kind == "executable" || self.pie
    }

    /// `MIPS 32-bit big-endian ET_EXEC` for evidence.
    pub fn describe(&self) -> String {
        format!(
            "{} {}-bit {}-endian {}",
            self.machine,
            self.bits,
            if self.big_endian { "big" } else { "little" },
            match (self.kind, self.pie) {
                ("executable", _) => "ET_EXEC",
                ("pie-or-shared", true) => "PIE",
                ("pie-or-shared", false) => "shared object",
                _ => self.kind,
            }
        )
    }

    /// The stack fact in words.
    pub fn stack_words(&self) -> String {
        match self.stack {
            StackMarker::Executable => "an executable stack (PT_GNU_STACK RWE)".into(),
            StackMarker::NonExecutable => "a non-executable stack (PT_GNU_STACK RW)".into(),
            StackMarker::Absent if self.exec_stack => format!(
                "an executable stack (no PT_GNU_STACK: Linux on {} then maps the stack executable)",
                self.machine
            ),
            StackMarker::Absent => "no PT_GNU_STACK (non-executable on this architecture since Linux 5.8)".into(),
        }
    }
}

/// Symbols that only a stack-protector build references: GCC's
/// `-fstack-protector` calls `__stack_chk_fail` (glibc, musl) or
/// `__stack_chk_fail_local` (uClibc and i386 PIC code), and reads the guard
/// from `__stack_chk_guard` where there is no TLS slot for it (ARM, MIPS,
/// PowerPC with uClibc); ICC uses `__intel_security_cookie`.
const CANARY_SYMBOLS: &[&str] = &[
    "__stack_chk_fail",
    "__stack_chk_fail_local",
    "__stack_chk_guard",
    "__intel_security_cookie",
];

/// Whether the kernel maps the stack executable for a program without a
/// PT_GNU_STACK header on this architecture.
///
/// Linux (`fs/binfmt_elf.c`) leaves `executable_stack = EXSTACK_DEFAULT`
/// when the header is absent; `elf_read_implies_exec()` then decides
/// `READ_IMPLIES_EXEC`, and with it `VM_STACK_DEFAULT_FLAGS` /
/// `VM_DATA_FLAGS_TSK_EXEC` (`include/linux/mm.h`) add `VM_EXEC`:
/// - MIPS: `mips_elf_read_implies_exec()` (`arch/mips/kernel/elf.c`) sets
///   it on CPUs without RIXI when the header is absent; kernels before 4.8
///   ("MIPS: non-exec stack & heap when non-exec PT_GNU_STACK is present")
///   mapped every MIPS stack executable.
/// - ARM: `arm_elf_read_implies_exec()` (`arch/arm/kernel/elf.c`) returns 1
///   for `EXSTACK_DEFAULT`, and for every program on CPUs before ARMv6.
/// - x86-32 and PowerPC 32-bit: `elf_read_implies_exec()` in
///   `arch/x86/include/asm/elf.h` (`mmap_is_ia32() && EXSTACK_DEFAULT`) and
///   `arch/powerpc/include/asm/elf.h` (`is_32bit_task()`).
/// - x86-64, AArch64 and 64-bit PowerPC: not since Linux 5.8 (Kees Cook's
///   "Fix READ_IMPLIES_EXEC" series: "x86/elf: Disable automatic
///   READ_IMPLIES_EXEC on 64-bit", "arm64: … for 64-bit address spaces");
///   older kernels did, which the evidence says.
pub fn absent_marker_means_exec(machine: u16, is_64: bool) -> bool {
    match machine {
        EM_MIPS | EM_ARM | EM_386 => true,
        EM_PPC => !is_64,
        EM_X86_64 | EM_AARCH64 | EM_PPC64 => false,
        // Other architectures: most use VM_DATA_FLAGS_TSK_EXEC or an
        // executable default; say executable rather than miss it.
        _ => !is_64,
    }
}

/// Whether `data` starts like an ELF file.
pub fn is_elf(data: &[u8]) -> bool {
    data.starts_with(b"\x7fELF")
}

/// Parse ELF facts; `None` for non-ELF or malformed files.
pub fn facts(data: &[u8]) -> Option<ElfFacts> {
    if !is_elf(data) {
        return None;
    }
    let elf = Elf::parse(data).ok()?;
    let kind = match elf.header.e_type {
        ET_EXEC => "executable",
        ET_DYN => "pie-or-shared",
        ET_REL => "relocatable",
        _ => "other",
    };
    let phoff = elf.header.e_phoff;
    let phentsize = u64::from(elf.header.e_phentsize);
    let stack_header = elf
        .program_headers
        .iter()
        .enumerate()
        .find(|(_, p)| p.p_type == PT_GNU_STACK);
    let stack = match stack_header {
        Some((_, p)) if p.p_flags & PF_X != 0 => StackMarker::Executable,
        Some(_) => StackMarker::NonExecutable,
        None => StackMarker::Absent,
    };
    let stack_header_offset = stack_header.and_then(|(i, _)| phoff.checked_add(phentsize.checked_mul(i as u64)?));
    let exec_stack = match stack {
        StackMarker::Executable => true,
        StackMarker::NonExecutable => false,
        StackMarker::Absent => absent_marker_means_exec(elf.header.e_machine, elf.is_64),
    };
    let interpreter = elf
        .program_headers
        .iter()
        .any(|p| p.p_type == PT_INTERP)
        .then(|| elf.interpreter.map(str::to_string))
        .flatten();
    let bind_now = elf.dynamic.as_ref().is_some_and(|d| {
        use goblin::elf::dynamic::{DF_1_NOW, DF_BIND_NOW, DT_BIND_NOW, DT_FLAGS, DT_FLAGS_1};
        d.dyns.iter().any(|e| {
            e.d_tag == DT_BIND_NOW
                || (e.d_tag == DT_FLAGS && e.d_val & DF_BIND_NOW != 0)
                || (e.d_tag == DT_FLAGS_1 && e.d_val & DF_1_NOW != 0)
        })
    });
    let relro = match (elf.program_headers.iter().any(|p| p.p_type == PT_GNU_RELRO), bind_now) {
        (false, _) => Relro::None,
        (true, false) => Relro::Partial,
        (true, true) => Relro::Full,
    };
    // Newer linkers mark a PIE with DF_1_PIE. Older ones do not; then, as
    // checksec does, an ET_DYN with an interpreter and a DT_DEBUG entry
    // (the debugger hook only executables get) is a program. PT_INTERP
    // alone is not enough: uClibc's libraries carry one, SONAME or not.
    let dyn_has = |tag: u64, bit: u64| {
        elf.dynamic.as_ref().is_some_and(|d| {
            d.dyns
                .iter()
                .any(|e| e.d_tag == tag && (bit == 0 || e.d_val & bit != 0))
        })
    };
    let df_1_pie = dyn_has(goblin::elf::dynamic::DT_FLAGS_1, goblin::elf::dynamic::DF_1_PIE);
    let dt_debug = dyn_has(goblin::elf::dynamic::DT_DEBUG, 0);
    let pie = elf.header.e_type == ET_DYN && (df_1_pie || (interpreter.is_some() && dt_debug));

    // Each symbol table with its own string table: `.dynsym` names are in
    // `.dynstr`, `.symtab` names in `.strtab` (its sh_link). Looking a
    // `.symtab` index up in `.dynstr` reads an unrelated name.
    let dyn_names = elf.dynsyms.iter().filter_map(|s| elf.dynstrtab.get_at(s.st_name));
    let sym_names = elf.syms.iter().filter_map(|s| elf.strtab.get_at(s.st_name));
    let mut any_symbol = false;
    let mut canary = false;
    let mut fortified = std::collections::BTreeSet::new();
    let (mut bind, mut serve) = (false, false);
    for n in dyn_names.chain(sym_names).filter(|n| !n.is_empty()) {
        any_symbol = true;
        canary |= CANARY_SYMBOLS.contains(&n);
        if is_fortified(n) {
            fortified.insert(n);
        }
        bind |= n == "bind";
        serve |= matches!(n, "listen" | "accept" | "accept4" | "recvfrom" | "recvmsg");
    }
    let stack_canary = if canary {
        Some(true)
    } else {
        any_symbol.then_some(false)
    };

    let search_path_offset = elf.dynamic.as_ref().and_then(|d| {
        use goblin::elf::dynamic::{DT_RPATH, DT_RUNPATH};
        let e = d.dyns.iter().find(|e| e.d_tag == DT_RPATH || e.d_tag == DT_RUNPATH)?;
        (d.info.strtab as u64).checked_add(e.d_val)
    });
    Some(ElfFacts {
        machine: goblin::elf::header::machine_to_str(elf.header.e_machine).to_string(),
        bits: if elf.is_64 { 64 } else { 32 },
        big_endian: !elf.little_endian,
        kind,
        interpreter,
        stack,
        exec_stack,
        stack_header_offset,
        pie,
        relro,
        bind_now,
        stack_canary,
        fortified: fortified.len(),
        stripped: elf.syms.is_empty(),
        rpath: elf.rpaths.iter().map(|s| s.to_string()).collect(),
        runpath: elf.runpaths.iter().map(|s| s.to_string()).collect(),
        search_path_offset,
        server_calls: bind && serve,
    })
}

/// glibc's `-D_FORTIFY_SOURCE` replacements: `__<name>_chk` (and
/// `__<name>_chk_warn` aliases), not the stack protector's own symbols.
fn is_fortified(n: &str) -> bool {
    let Some(inner) = n.strip_prefix("__") else {
        return false;
    };
    let inner = inner.strip_suffix("_warn").unwrap_or(inner);
    inner.ends_with("_chk") && !inner.starts_with("stack_chk") && inner.len() > "_chk".len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{ElfSpec, Machine, build_elf};

    #[test]
    fn non_elf_and_garbage_give_none() {
        assert_eq!(facts(b"#!/bin/sh\n"), None);
        assert_eq!(facts(b"\x7fELF\x01\x01\x01garbage"), None);
    }

    #[test]
    fn sample_elf_is_read() {
        let elf = crate::samples::minimal_elf(b"BusyBox v1.24.1 (2016-01-01) multi-call binary");
        let f = facts(&elf).unwrap();
        assert_eq!(f.bits, 32);
        assert_eq!(f.machine, "ARM");
        assert_eq!(f.kind, "executable");
        assert_eq!(f.stack, StackMarker::NonExecutable);
        assert!(!f.exec_stack);
        assert_eq!(f.stack_header_offset, Some(52 + 32));
        assert_eq!(f.stack_canary, None, "no symbols at all: unknown");
    }

    #[test]
    fn absent_stack_header_per_architecture() {
        for (machine, big, exec) in [
            (Machine::Mips, true, true),
            (Machine::Mips, false, true),
            (Machine::Arm, false, true),
            (Machine::X86, false, true),
            (Machine::Ppc, true, true),
            (Machine::X86_64, false, false),
            (Machine::Aarch64, false, false),
        ] {
            let spec = ElfSpec {
                machine,
                big_endian: big,
                stack: None,
                ..ElfSpec::default()
            };
            let f = facts(&build_elf(&spec)).unwrap();
            assert_eq!(f.stack, StackMarker::Absent, "{machine:?}");
            assert_eq!(f.exec_stack, exec, "{machine:?} big={big}");
            assert_eq!(f.big_endian, big);
            assert_eq!(f.stack_header_offset, None);
        }
        let rwx = ElfSpec {
            machine: Machine::Mips,
            big_endian: true,
            stack: Some(true),
            ..ElfSpec::default()
        };
        let f = facts(&build_elf(&rwx)).unwrap();
        assert_eq!((f.stack, f.exec_stack), (StackMarker::Executable, true));
        assert_eq!(f.machine, "MIPS");
    }

    #[test]
    fn pie_relro_rpath_and_imports() {
        let spec = ElfSpec {
            et_dyn: true,
            dt_debug: true,
            interpreter: Some("/lib/ld-musl-arm.so.1".into()),
            relro: true,
            bind_now: true,
            rpath: Some("/tmp/lib".into()),
            imports: vec![
                "__stack_chk_fail".into(),
                "__memcpy_chk".into(),
                "__sprintf_chk".into(),
                "bind".into(),
                "listen".into(),
            ],
            ..ElfSpec::default()
        };
        let data = build_elf(&spec);
        let f = facts(&data).unwrap();
        assert!(f.pie && f.is_program());
        assert_eq!(f.relro, Relro::Full);
        assert_eq!(f.stack_canary, Some(true));
        assert_eq!(f.fortified, 2);
        assert!(f.server_calls);
        assert_eq!(f.rpath, vec!["/tmp/lib".to_string()]);
        let at = usize::try_from(f.search_path_offset.unwrap()).unwrap();
        assert_eq!(&data[at..at + 8], b"/tmp/lib");

        let lib = ElfSpec {
            et_dyn: true,
            interpreter: None,
            relro: true,
            imports: vec!["puts".into()],
            ..ElfSpec::default()
        };
        let f = facts(&build_elf(&lib)).unwrap();
        assert!(
            !f.pie && !f.is_program(),
            "ET_DYN without interpreter or DF_1_PIE is a library"
        );
        let runnable_lib = ElfSpec {
            et_dyn: true,
            interpreter: Some("/lib/ld-uClibc.so.0".into()),
            soname: Some("libc.so.0".into()),
            ..ElfSpec::default()
        };
        let libc = facts(&build_elf(&runnable_lib)).unwrap();
        assert!(!libc.pie, "a SONAME with PT_INTERP is uClibc's libc, not a PIE");
        let stub = ElfSpec {
            et_dyn: true,
            interpreter: Some("/lib/ld-uClibc.so.0".into()),
            ..ElfSpec::default()
        };
        assert!(
            !facts(&build_elf(&stub)).unwrap().pie,
            "uClibc's libnsl: PT_INTERP, no SONAME"
        );
        let old_pie = ElfSpec { dt_debug: true, ..stub };
        assert!(
            facts(&build_elf(&old_pie)).unwrap().pie,
            "PIE from a linker without DF_1_PIE"
        );
        assert_eq!(f.relro, Relro::Partial);
        assert_eq!(f.stack_canary, Some(false));
        assert!(!f.server_calls);
    }

    /// `.symtab` names are read through `.strtab`. The fixture's `.dynstr`
    /// holds `__stack_chk_fail` at the very index where `.strtab` holds
    /// `main`: the old lookup (dynstr first) saw a canary that is not there.
    #[test]
    fn symtab_names_come_from_strtab() {
        let spec = ElfSpec {
            imports: vec!["__stack_chk_fail".into()],
            symtab: vec!["__stack_chk_faim".into()],
            ..ElfSpec::default()
        };
        // In `.dynstr` "__stack_chk_fail" sits at index 1; in `.strtab`
        // "__stack_chk_faim" also at index 1: both tables are read.
        let f = facts(&build_elf(&spec)).unwrap();
        assert_eq!(f.stack_canary, Some(true));
        assert!(!f.stripped);

        let misleading = ElfSpec {
            imports: vec!["__stack_chk_fail".into()],
            symtab: vec!["main".into()],
            dynsym_in_table: false,
            ..ElfSpec::default()
        };
        // `.dynstr` still holds the name, but no dynamic symbol uses it;
        // the `.symtab` entry at index 1 is `main`.
        let f = facts(&build_elf(&misleading)).unwrap();
        assert_eq!(f.stack_canary, Some(false), "{f:?}");

        let local = ElfSpec {
            symtab: vec!["__stack_chk_fail_local".into()],
            ..ElfSpec::default()
        };
        assert_eq!(facts(&build_elf(&local)).unwrap().stack_canary, Some(true));
    }

    #[test]
    fn fortified_names() {
        assert!(is_fortified("__memcpy_chk") && is_fortified("__read_chk_warn"));
        assert!(!is_fortified("__stack_chk_fail") && !is_fortified("__chk") && !is_fortified("memcpy_chk"));
    }
}
