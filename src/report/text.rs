//! The human text view: verdict first, then why, then the evidence a lab
//! engineer needs to confirm each finding by hand.

use std::fmt::Write;

use super::model::{Report, Verdict};

pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "fwcert {} — {}", r.tool.version, r.image.name);
    let _ = writeln!(s, "image sha256 {}  ({} bytes)", r.image.sha256, r.image.size);
    let _ = writeln!(
        s,
        "profile {}  rules {}",
        r.profile,
        &r.tool.rules_digest[..16.min(r.tool.rules_digest.len())]
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "OUTCOME: {} (exit {})",
        r.outcome.status.to_uppercase(),
        r.outcome.exit_code
    );
    for why in &r.outcome.reasons {
        let _ = writeln!(s, "  {why}");
    }
    match (&r.declaration.name, &r.declaration.sha256) {
        (Some(name), Some(sha)) => {
            let _ = writeln!(s, "declaration {name} (sha256 {sha})");
        }
        _ => {
            let _ = writeln!(s, "no declaration: {}", r.declaration.assumptions.join("; "));
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "STANDARDS");
    for st in &r.standards {
        let counts: Vec<String> = st
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let _ = writeln!(
            s,
            "  {:<14} {} {}  (firmware: {}; {})",
            st.verdict.as_str(),
            st.title,
            st.version,
            st.firmware_verdict.map_or("none", |v| v.as_str()),
            counts.join(", ")
        );
    }
    let _ = writeln!(s);

    let _ = writeln!(
        s,
        "UNPACK ({})",
        if r.unpack.complete { "complete" } else { "INCOMPLETE" }
    );
    for c in &r.unpack.containers {
        let _ = writeln!(s, "  [{:?}] {}  ({} bytes) {}", c.status, c.path, c.size, c.description);
        if let Some(e) = &c.error {
            let _ = writeln!(s, "      ! {e}");
        }
    }
    for f in &r.unpack.filesystems {
        let _ = writeln!(
            s,
            "  filesystem {} {} files{}",
            f.container,
            f.files,
            if f.rootfs { " (root filesystem)" } else { "" }
        );
        let h = &f.hardening;
        if h.elf > 0 {
            let _ = writeln!(
                s,
                "    hardening: {} ELF ({} programs): {} executable stack, {} PIE, {} canary ({} unknown), RELRO {} full {} partial, {} fortified, {} RPATH/RUNPATH",
                h.elf,
                h.programs,
                h.exec_stack,
                h.pie,
                h.canary,
                h.canary_unknown,
                h.relro_full,
                h.relro_partial,
                h.fortified,
                h.search_path
            );
        }
    }
    for reason in &r.unpack.reasons {
        let _ = writeln!(s, "  ! {reason}");
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "FINDINGS ({})", r.findings.len());
    for f in &r.findings {
        let loc = match (f.line, f.offset) {
            (Some(l), _) => format!("{}:{l}", f.path),
            (None, Some(o)) => format!("{}@{o:#x}", f.path),
            _ => f.path.clone(),
        };
        let custom = f
            .custom_rule
            .as_ref()
            .map(|c| format!(" (custom: {c})"))
            .unwrap_or_default();
        let preview = if f.preview {
            " (preview: reported for review, fails no requirement)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {} {} [{}] {}{custom}{preview}",
            f.severity.as_str().to_uppercase(),
            f.id,
            f.rule,
            f.title
        );
        let _ = writeln!(s, "      at {loc}  in {}", f.container);
        let _ = writeln!(s, "      {}", f.evidence);
        if let Some(h) = &f.sha256 {
            let _ = writeln!(s, "      file sha256 {h}");
        }
        if let Some(h) = &f.secret_fingerprint {
            let _ = writeln!(s, "      secret {h}");
        }
    }
    let _ = writeln!(s);

    if !r.components.is_empty() {
        let _ = writeln!(s, "COMPONENTS");
        for c in &r.components {
            let _ = writeln!(s, "  {} {}  ({} in {})", c.name, c.version, c.path, c.container);
        }
        let _ = writeln!(s);
    }

    boot(&mut s, r);

    let _ = writeln!(s, "CLAUSES (FAIL and INCONCLUSIVE, with their units)");
    let mut reqs: Vec<_> = r
        .requirements
        .iter()
        .filter(|q| matches!(q.verdict, Verdict::Fail | Verdict::Inconclusive))
        .collect();
    reqs.sort_by_key(|q| q.verdict);
    for q in reqs {
        let cause = q.cause.map(|c| format!(" [{}]", c.as_str())).unwrap_or_default();
        let _ = writeln!(
            s,
            "  {:<12} {} {}  {}{cause}",
            q.verdict.as_str(),
            q.standard_title,
            q.clause,
            q.title
        );
        for why in &q.reasons {
            let _ = writeln!(s, "               {why}");
        }
        if q.verdict == Verdict::Fail {
            for fp in &q.findings {
                if let Some(f) = r.findings.iter().find(|f| &f.fingerprint == fp) {
                    let _ = writeln!(s, "               ← {} {}", f.id, f.evidence);
                }
            }
        }
    }
    let count = |v: Verdict| r.requirements.iter().filter(|q| q.verdict == v).count();
    let _ = writeln!(
        s,
        "  ({} PASS, {} OPEN (need a device test, a document or an audit), {} NOT-APPLICABLE; see the JSON report)",
        count(Verdict::Pass),
        count(Verdict::Open),
        count(Verdict::NotApplicable)
    );
    s
}

/// The boot graph: which file and line starts what, so that each services
/// or debug finding can be checked by opening one file.
fn boot(s: &mut String, r: &Report) {
    for g in &r.boot.graphs {
        let _ = writeln!(s, "BOOT {} in {} (init: {})", g.root, g.container, g.init);
        for st in &g.starts {
            let loc = match st.line {
                Some(l) => format!("{}:{l}", st.script),
                None => format!("{} (built in)", st.script),
            };
            let mut cmd = st.argv.join(" ");
            for o in &st.optional_args {
                cmd.push_str(&format!(" [{o}]"));
            }
            let mut what = match (&st.binary, &st.applet, st.applet_present) {
                (None, _, _) => " → not in the image".to_string(),
                (Some(b), Some(a), Some(false)) => format!(" → {b}: applet `{a}` NOT compiled in, does not run"),
                (Some(b), Some(a), None) => format!(" → {b}: applet `{a}`, unknown whether compiled in"),
                (Some(b), Some(a), Some(true)) => format!(" → {b} [{a}]"),
                (Some(b), None, _) if b.ends_with(st.program.trim_start_matches('-')) => String::new(),
                (Some(b), None, _) => format!(" → {b}"),
            };
            if let Some(t) = &st.tty {
                what.push_str(&format!(" on {t}"));
            }
            if !st.ports.is_empty() {
                what.push_str(&format!(" port {}", st.ports.join(",")));
            }
            let _ = writeln!(s, "  {loc}  [{} {}] {cmd}{what}", st.mechanism, st.action);
            if let Some(c) = &st.condition {
                let _ = writeln!(s, "      only if {c}");
            }
        }
        for e in &g.edges {
            let from = match e.line {
                Some(l) => format!("{}:{l}", e.from),
                None => e.from.clone(),
            };
            let cond = e
                .condition
                .as_ref()
                .map(|c| format!(" (only if {c})"))
                .unwrap_or_default();
            let _ = writeln!(s, "  {from} → {} ({}){cond}", e.to, e.how);
        }
        for gap in &g.gaps {
            let _ = writeln!(s, "  ! {gap}");
        }
        let _ = writeln!(s);
    }
    if !r.boot.uboot.is_empty() {
        let _ = writeln!(s, "U-BOOT ENVIRONMENT");
        for u in &r.boot.uboot {
            let vars: Vec<String> = u.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "  {}@{:#x} in {} ({})", u.path, u.offset, u.container, u.kind);
            for v in vars {
                let _ = writeln!(s, "      {v}");
            }
        }
        let _ = writeln!(s);
    }
}
