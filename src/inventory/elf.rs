//! ELF facts, read with goblin: what the hardening checks need to know.

use goblin::elf::Elf;
use goblin::elf::header::{ET_DYN, ET_EXEC, ET_REL};
use goblin::elf::program_header::{PF_X, PT_GNU_RELRO, PT_GNU_STACK, PT_INTERP};
use serde::Serialize;

/// What fwcert knows about one ELF file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElfFacts {
    pub machine: String,
    pub bits: u8,
    pub big_endian: bool,
    /// `executable`, `pie-or-shared`, `relocatable` or `other`.
    pub kind: &'static str,
    pub interpreter: Option<String>,
    /// `Some(true)` when PT_GNU_STACK is executable, `None` when there is no
    /// PT_GNU_STACK (most loaders then default to an executable stack).
    pub exec_stack: Option<bool>,
    pub relro: bool,
    pub bind_now: bool,
    pub stack_canary: bool,
    pub stripped: bool,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
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
    let exec_stack = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == PT_GNU_STACK)
        .map(|p| p.p_flags & PF_X != 0);
    let relro = elf.program_headers.iter().any(|p| p.p_type == PT_GNU_RELRO);
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
    let canary_names = ["__stack_chk_fail", "__stack_chk_guard", "__intel_security_cookie"];
    let stack_canary = elf
        .dynsyms
        .iter()
        .chain(elf.syms.iter())
        .filter_map(|s| elf.dynstrtab.get_at(s.st_name).or_else(|| elf.strtab.get_at(s.st_name)))
        .any(|n| canary_names.contains(&n));
    Some(ElfFacts {
        machine: goblin::elf::header::machine_to_str(elf.header.e_machine).to_string(),
        bits: if elf.is_64 { 64 } else { 32 },
        big_endian: !elf.little_endian,
        kind,
        interpreter,
        exec_stack,
        relro,
        bind_now,
        stack_canary,
        stripped: elf.syms.is_empty(),
        rpath: elf.rpaths.iter().map(|s| s.to_string()).collect(),
        runpath: elf.runpaths.iter().map(|s| s.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(f.exec_stack, Some(false));
    }

    #[test]
    fn corpus_hardening_facts_when_available() {
        let Some(dir) = std::env::var_os("FWCERT_CORPUS") else {
            eprintln!("FWCERT_CORPUS unset: skipping corpus ELF test");
            return;
        };
        let read = |n: &str| std::fs::read(std::path::Path::new(&dir).join("elf").join(n)).unwrap();
        let hallo = facts(&read("Hallo.out")).unwrap();
        assert_eq!(hallo.kind, "pie-or-shared");
        assert!(hallo.bind_now && hallo.relro && !hallo.stack_canary);
        assert!(facts(&read("Hallo_Canary")).unwrap().stack_canary);
        let no_pie = facts(&read("Hallo_no_pie")).unwrap();
        assert_eq!(no_pie.kind, "executable");
        assert!(!no_pie.bind_now);
        assert!(!facts(&read("Hallo_rpath")).unwrap().rpath.is_empty());
        assert!(!facts(&read("Hallo_runpath")).unwrap().runpath.is_empty());
        assert!(facts(&read("Hallo_stripped")).unwrap().stripped);
    }
}
