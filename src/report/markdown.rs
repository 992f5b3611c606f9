//! Markdown view: a short merge-request summary (GitHub/GitLab flavoured).
//! The verdict, the requirement and finding counts, a findings table, and
//! the unpack completeness and coverage gaps in one collapsed section. Text
//! from the image (paths, evidence) is escaped, so it cannot add markup,
//! links or HTML to the comment.

use std::fmt::Write;

use super::i18n::Lang;
use super::model::{FindingOut, Report, Verdict};
use crate::checks::rule::Severity;

/// Evidence longer than this many characters is cut, with `…`.
pub const EVIDENCE_CHARS: usize = 100;

/// The Markdown view in English.
pub fn render(r: &Report) -> String {
    render_in(r, Lang::En)
}

/// The Markdown view in `lang`.
pub fn render_in(r: &Report, lang: Lang) -> String {
    let t = lang.strings();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## fwcert: {} ({} {}) — {}",
        t.status(r.outcome.status),
        t.exit,
        r.outcome.exit_code,
        esc(&r.image.name)
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{} `{}` · fwcert {} · {} `{}` · {} `{}` ({} {})",
        t.profile,
        r.profile.replace('`', "'"),
        r.tool.version,
        t.rules_lc,
        r.tool.rules_digest.get(..16).unwrap_or(&r.tool.rules_digest),
        t.image_sha256_lc,
        r.image.sha256,
        r.image.size,
        t.bytes
    );
    let _ = writeln!(s);

    for why in &r.outcome.reasons {
        let _ = writeln!(s, "- {}", esc(why));
    }
    let _ = writeln!(s);
    let verdicts = Verdict::ALL;
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} |",
        t.standard_lc,
        t.verdict_lc,
        t.firmware,
        verdicts.map(|v| t.verdict(v)).join(" | ")
    );
    let _ = writeln!(s, "|---|---|---|{}", "---:|".repeat(verdicts.len()));
    for st in &r.standards {
        let row: Vec<String> = verdicts
            .iter()
            .map(|v| st.counts.get(v.as_str()).copied().unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            esc(lang.pick(&st.title, &st.title_zh)),
            t.verdict(st.verdict),
            st.firmware_verdict.map_or("—", |v| t.verdict(v)),
            row.join(" | ")
        );
    }
    let _ = writeln!(s);

    let severities: Vec<Severity> = Severity::ALL.iter().rev().copied().collect();
    let names: Vec<&str> = severities.iter().map(|v| v.as_str()).collect();
    let words: Vec<&str> = severities.iter().map(|v| t.severity(*v)).collect();
    let _ = writeln!(s, "| {} | {} |", t.findings_lc, words.join(" | "));
    let _ = writeln!(s, "|---|{}", "---:|".repeat(names.len()));
    let row: Vec<String> = names
        .iter()
        .map(|n| r.summary.findings.get(n).copied().unwrap_or(0).to_string())
        .collect();
    let _ = writeln!(s, "| {} | {} |", t.count, row.join(" | "));
    let _ = writeln!(s);

    let _ = writeln!(s, "### {} ({})", t.findings, r.findings.len());
    let _ = writeln!(s);
    if r.findings.is_empty() {
        let _ = writeln!(s, "{}", t.none_found);
    } else {
        let _ = writeln!(s, "| {} | id | {} | {} |", t.severity_lc, t.location, t.evidence_lc);
        let _ = writeln!(s, "|---|---|---|---|");
        for f in &r.findings {
            let mut preview = if f.preview {
                format!(" ({})", t.preview_short)
            } else {
                String::new()
            };
            match (f.waiver, f.baseline) {
                (Some(n), _) => preview.push_str(&format!(" ({} {n})", t.waived_by)),
                (None, Some("known")) => preview.push_str(&format!(" ({})", t.known_in_baseline)),
                (None, Some(_)) => preview.push_str(&format!(" ({})", t.new_since_baseline)),
                (None, None) => {}
            }
            let _ = writeln!(
                s,
                "| {} | {}{preview} | {} | {} |",
                t.severity(f.severity),
                esc(&f.id),
                esc(&location(f)),
                esc(&shorten(&f.evidence, EVIDENCE_CHARS))
            );
        }
    }
    let _ = writeln!(s);

    if let Some(g) = &r.gate
        && !g.waivers.is_empty()
    {
        let _ = writeln!(s, "| {} | {} | {} | {} |", t.waiver, t.status, t.reasons, t.expires);
        let _ = writeln!(s, "|---|---|---|---|");
        for w in &g.waivers {
            let what = w.target();
            let _ = writeln!(
                s,
                "| {} {} | {} ({} {}) | {} ({}) | {} |",
                w.number,
                esc(&what),
                if w.state == "active" { t.active } else { t.expired },
                w.matched.len(),
                t.findings_lc,
                esc(&w.justification),
                esc(&w.owner),
                esc(&w.expires)
            );
        }
        let _ = writeln!(s);
    }
    let gaps: usize = r.unpack.reasons.len() + r.checks.iter().map(|c| c.reasons.len()).sum::<usize>();
    let _ = writeln!(s, "<details>");
    let _ = writeln!(
        s,
        "<summary>{} {}, {} {}{} {} {} {}{}; {} {}{}</summary>",
        t.unpack_summary,
        if r.unpack.complete { t.complete } else { t.incomplete },
        r.unpack.files,
        t.file_word,
        t.plural(r.unpack.files),
        t.in_word,
        r.unpack.filesystems.len(),
        t.filesystem_word,
        t.plural(r.unpack.filesystems.len()),
        gaps,
        t.coverage_gap,
        t.plural(gaps)
    );
    let _ = writeln!(s);
    if r.unpack.reasons.is_empty() {
        let _ = writeln!(s, "- {}: {}", t.unpack_lc, t.complete);
    }
    for reason in &r.unpack.reasons {
        let _ = writeln!(s, "- {}: {}", t.unpack_lc, esc(reason));
    }
    for c in &r.checks {
        if c.reasons.is_empty() {
            let _ = writeln!(s, "- {}: {}", c.family, t.complete);
        }
        for reason in &c.reasons {
            let _ = writeln!(s, "- {}: {}", c.family, esc(reason));
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "</details>");
    s
}

/// `path:line`, `path@0xoffset` or the bare path.
fn location(f: &FindingOut) -> String {
    match (f.line, f.offset) {
        (Some(l), _) => format!("{}:{l}", f.path),
        (None, Some(o)) => format!("{}@{o:#x}", f.path),
        _ => f.path.clone(),
    }
}

/// The first `max` characters of `s` (whole characters), with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", s[..at].trim_end()),
        None => s.to_string(),
    }
}

/// Escapes text for a Markdown table cell or list item: every ASCII
/// punctuation character Markdown gives a meaning to is backslash-escaped
/// (so `|` cannot split a cell, and `<`, `[`, `` ` `` cannot start HTML, a
/// link or a code span, and `$` cannot start GitHub's math), and line
/// breaks become spaces.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '<' | '>' | '(' | ')' | '#' | '|' | '!' | '~' | '&'
            | '$' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_keeps_whole_characters() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "abc…");
        assert_eq!(shorten("密码是什么", 2), "密码…");
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(esc("a|b"), "a\\|b");
        assert_eq!(esc("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(esc("[x](y)\nz"), "\\[x\\]\\(y\\) z");
        assert_eq!(esc("`sh`"), "\\`sh\\`");
        assert_eq!(esc("$1$ab$"), "\\$1\\$ab\\$");
    }
}
