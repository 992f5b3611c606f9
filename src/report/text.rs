//! The human text view: verdict first, then why, then the evidence a lab
//! engineer needs to confirm each finding by hand.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::i18n::{Lang, Strings};
use super::model::{Report, Verdict};
use crate::checks::rule::Severity;

/// The text view in English.
pub fn render(r: &Report) -> String {
    render_in(r, Lang::En)
}

/// The text view in `lang` (every fixed word from [`Strings`]).
pub fn render_in(r: &Report, lang: Lang) -> String {
    render_styled(r, lang, false)
}

/// Colours for a terminal: verdicts, the outcome and severities. The words
/// are the same with or without them; the binary strips them when standard
/// output is not a terminal or `NO_COLOR` is set.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, style: Style, text: &str) -> String {
        if self.0 {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn verdict(self, v: Verdict, text: &str) -> String {
        let colour = match v {
            Verdict::Fail => AnsiColor::Red,
            Verdict::Inconclusive => AnsiColor::Yellow,
            Verdict::Open => AnsiColor::Blue,
            Verdict::Pass => AnsiColor::Green,
            Verdict::NotApplicable => AnsiColor::BrightBlack,
        };
        self.wrap(Style::new().fg_color(Some(colour.into())).bold(), text)
    }

    fn status(self, status: &str, text: &str) -> String {
        let v = match status {
            "pass" => Verdict::Pass,
            "fail" => Verdict::Fail,
            _ => Verdict::Inconclusive,
        };
        self.verdict(v, text)
    }

    fn severity(self, sev: Severity, text: &str) -> String {
        let style = match sev {
            Severity::Critical | Severity::High => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            Severity::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            Severity::Low => Style::new().fg_color(Some(AnsiColor::Blue.into())),
            Severity::Info => Style::new().dimmed(),
        };
        self.wrap(style, text)
    }
}

/// Pads `text` to `width` characters, then paints it (so the escape codes
/// do not upset the columns).
fn pad(text: &str, width: usize) -> String {
    format!("{text:<width$}")
}

/// The text view in `lang`, with terminal colours when `colour`.
pub fn render_styled(r: &Report, lang: Lang, colour: bool) -> String {
    let paint = Paint(colour);
    let t = lang.strings();
    let mut s = String::new();
    let _ = writeln!(s, "fwcert {} — {}", r.tool.version, r.image.name);
    let _ = writeln!(
        s,
        "{} sha256 {}  ({} {})",
        t.image_lc, r.image.sha256, r.image.size, t.bytes
    );
    let _ = writeln!(
        s,
        "{} {}  {} {}",
        t.profile_lc,
        r.profile,
        t.rules_lc,
        &r.tool.rules_digest[..16.min(r.tool.rules_digest.len())]
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{}: {} ({} {})",
        t.outcome.to_uppercase(),
        paint.status(r.outcome.status, t.status(r.outcome.status)),
        t.exit,
        r.outcome.exit_code
    );
    for why in &r.outcome.reasons {
        let _ = writeln!(s, "  {why}");
    }
    match (&r.declaration.name, &r.declaration.sha256) {
        (Some(name), Some(sha)) => {
            let _ = writeln!(s, "{} {name} (sha256 {sha})", t.declaration_lc);
        }
        _ => {
            let _ = writeln!(s, "{}: {}", t.no_declaration_lc, r.declaration.assumptions.join("; "));
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", t.standards.to_uppercase());
    for st in &r.standards {
        let counts: Vec<String> = st
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{n} {}", t.verdict_named(k)))
            .collect();
        let _ = writeln!(
            s,
            "  {} {} {}  ({}: {}; {})",
            paint.verdict(st.verdict, &pad(t.verdict(st.verdict), 14)),
            lang.pick(&st.title, &st.title_zh),
            st.version,
            t.firmware,
            st.firmware_verdict.map_or(t.none, |v| t.verdict(v)),
            counts.join(", ")
        );
    }
    let _ = writeln!(s);

    let _ = writeln!(
        s,
        "{} ({})",
        t.unpack.to_uppercase(),
        if r.unpack.complete { t.complete } else { t.incomplete }
    );
    for c in &r.unpack.containers {
        let _ = writeln!(
            s,
            "  [{:?}] {}  ({} {}) {}",
            c.status, c.path, c.size, t.bytes, c.description
        );
        if let Some(e) = &c.error {
            let _ = writeln!(s, "      ! {e}");
        }
    }
    for f in &r.unpack.filesystems {
        let _ = writeln!(
            s,
            "  {} {} {} {}{}",
            t.filesystem,
            f.container,
            f.files,
            t.files,
            if f.rootfs {
                format!(" ({})", t.root_filesystem)
            } else {
                String::new()
            }
        );
        let h = &f.hardening;
        if h.elf > 0 {
            let _ = writeln!(
                s,
                "    {} {} ELF ({} {}): {} {}, {} PIE, {} {} ({} {}), RELRO {} {} {} {}, {} {}, {} RPATH/RUNPATH",
                t.hardening[0],
                h.elf,
                h.programs,
                t.hardening[1],
                h.exec_stack,
                t.hardening[2],
                h.pie,
                h.canary,
                t.hardening[3],
                h.canary_unknown,
                t.hardening[4],
                h.relro_full,
                t.hardening[5],
                h.relro_partial,
                t.hardening[6],
                h.fortified,
                t.hardening[7],
                h.search_path
            );
        }
    }
    for reason in &r.unpack.reasons {
        let _ = writeln!(s, "  ! {reason}");
    }
    let _ = writeln!(s);

    let _ = writeln!(s, "{} ({})", t.findings.to_uppercase(), r.findings.len());
    for f in &r.findings {
        let loc = match (f.line, f.offset) {
            (Some(l), _) => format!("{}:{l}", f.path),
            (None, Some(o)) => format!("{}@{o:#x}", f.path),
            _ => f.path.clone(),
        };
        let custom = f
            .custom_rule
            .as_ref()
            .map(|c| format!(" ({}: {c})", t.custom))
            .unwrap_or_default();
        let preview = if f.preview {
            format!(" ({})", t.preview)
        } else {
            String::new()
        };
        let gated = match (f.waiver, f.baseline) {
            (Some(n), _) => format!(" ({} {n})", t.waived_by),
            (None, Some("known")) => format!(" ({})", t.known_in_baseline),
            (None, Some(_)) => format!(" ({})", t.new_since_baseline),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            s,
            "  {} {} [{}] {}{custom}{preview}{gated}",
            paint.severity(f.severity, &t.severity(f.severity).to_uppercase()),
            f.id,
            f.rule,
            lang.pick(&f.title, &f.title_zh)
        );
        let _ = writeln!(s, "      {} {loc}  {} {}", t.at, t.in_, f.container);
        let _ = writeln!(s, "      {}", f.evidence);
        if let Some(h) = &f.sha256 {
            let _ = writeln!(s, "      {} {h}", t.file_sha256_lc);
        }
        if let Some(h) = &f.secret_fingerprint {
            let _ = writeln!(s, "      {} {h}", t.secret_lc);
        }
    }
    let _ = writeln!(s);

    if !r.components.is_empty() {
        let _ = writeln!(s, "{}", t.components.to_uppercase());
        for c in &r.components {
            let _ = writeln!(s, "  {} {}  ({} {} {})", c.name, c.version, c.path, t.in_, c.container);
        }
        let _ = writeln!(s);
    }

    gate(&mut s, r, t);
    boot(&mut s, r, t);

    let _ = writeln!(s, "{}", t.clauses_failing);
    let mut reqs: Vec<_> = r
        .requirements
        .iter()
        .filter(|q| matches!(q.verdict, Verdict::Fail | Verdict::Inconclusive))
        .collect();
    reqs.sort_by_key(|q| q.verdict);
    for q in reqs {
        let cause = q.cause.map(|c| format!(" [{}]", t.cause(c))).unwrap_or_default();
        // The standard's title in this language, as its block gives it.
        let standard = r
            .standards
            .iter()
            .find(|st| st.id == q.standard)
            .map_or(q.standard_title.as_str(), |st| lang.pick(&st.title, &st.title_zh));
        let _ = writeln!(
            s,
            "  {} {} {}  {}{cause}",
            paint.verdict(q.verdict, &pad(t.verdict(q.verdict), 12)),
            standard,
            q.clause,
            lang.pick(&q.title, &q.title_zh)
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
        "  ({} {}, {} {} ({}), {} {}; {})",
        count(Verdict::Pass),
        t.verdict(Verdict::Pass),
        count(Verdict::Open),
        t.verdict(Verdict::Open),
        t.open_need,
        count(Verdict::NotApplicable),
        t.verdict(Verdict::NotApplicable),
        t.see_json
    );
    s
}

/// The policy's waivers and the baseline, when given: what the gate did
/// not count and why.
fn gate(s: &mut String, r: &Report, t: &Strings) {
    let Some(g) = &r.gate else { return };
    let _ = writeln!(s, "{}", t.gate.to_uppercase());
    if let Some(p) = &g.policy {
        let _ = writeln!(s, "  {} {} (sha256 {})", t.policy, p.name, p.sha256);
    }
    if let Some(d) = &g.today {
        let _ = writeln!(s, "  {} {} ({})", t.today, d.date, d.source);
    }
    if let Some(b) = &g.baseline {
        let _ = writeln!(
            s,
            "  {} {} (sha256 {}, {} {})",
            t.baseline, b.name, b.sha256, b.findings, t.findings_lc
        );
    }
    for w in &g.waivers {
        let what = w.target();
        let _ = writeln!(
            s,
            "  {} {} [{}] {what}: {} ({}, {} {}); {} {}",
            t.waiver,
            w.number,
            if w.state == "active" { t.active } else { t.expired },
            w.justification,
            w.owner,
            t.expires,
            w.expires,
            w.matched.len(),
            t.findings_lc
        );
    }
    let _ = writeln!(s);
}

/// The boot graph: which file and line starts what, so that each services
/// or debug finding can be checked by opening one file.
fn boot(s: &mut String, r: &Report, t: &Strings) {
    for g in &r.boot.graphs {
        let _ = writeln!(
            s,
            "{} {} {} {} ({}: {})",
            t.boot.to_uppercase(),
            g.root,
            t.in_,
            g.container,
            t.init,
            g.init
        );
        for st in &g.starts {
            let loc = match st.line {
                Some(l) => format!("{}:{l}", st.script),
                None => format!("{} ({})", st.script, t.built_in),
            };
            let mut cmd = st.argv.join(" ");
            for o in &st.optional_args {
                cmd.push_str(&format!(" [{o}]"));
            }
            let mut what = match (&st.binary, &st.applet, st.applet_present) {
                (None, _, _) => format!(" → {}", t.not_in_image),
                (Some(b), Some(a), Some(false)) => format!(" → {b}: applet `{a}` {}", t.applet_missing),
                (Some(b), Some(a), None) => format!(" → {b}: applet `{a}`, {}", t.applet_unknown),
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
                let _ = writeln!(s, "      {} {c}", t.condition);
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
                .map(|c| format!(" ({} {c})", t.condition))
                .unwrap_or_default();
            let _ = writeln!(s, "  {from} → {} ({}){cond}", e.to, e.how);
        }
        for gap in &g.gaps {
            let _ = writeln!(s, "  ! {gap}");
        }
        let _ = writeln!(s);
    }
    if !r.boot.uboot.is_empty() {
        let _ = writeln!(s, "{}", t.uboot.to_uppercase());
        for u in &r.boot.uboot {
            let vars: Vec<String> = u.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(s, "  {}@{:#x} {} {} ({})", u.path, u.offset, t.in_, u.container, u.kind);
            for v in vars {
                let _ = writeln!(s, "      {v}");
            }
        }
        let _ = writeln!(s);
    }
}
