//! The certificate: one self-contained HTML page a lab can print to PDF and
//! sign. A view of the report like the others: it decides nothing, it only
//! lays out what the model holds (identity, digests, one verdict block per
//! standard, clauses with their units and links to the findings, every
//! finding with its evidence, components, the unpack tree, the boot graph,
//! and an inline SVG chart).
//!
//! Self-contained on purpose: no script, no external font, stylesheet or
//! image, and a Content-Security-Policy that forbids fetching anything, so
//! opening the page (or printing it) never touches the network. Every text
//! that comes from the image or the data is escaped with [`esc`].

use std::collections::BTreeSet;
use std::fmt::Write;

use super::i18n::{Lang, Strings};
use super::model::{FindingOut, Report, RequirementOut, StandardOut, Verdict};
use crate::checks::rule::Severity;
use crate::standards::UnitKind;

pub fn render(r: &Report, lang: Lang) -> String {
    let t = lang.strings();
    let mut s = String::with_capacity(64 * 1024);
    head(&mut s, r, lang, t);
    let _ = writeln!(s, "<main>");
    outcome(&mut s, r, t);
    identity(&mut s, r, lang, t);
    standards(&mut s, r, lang, t);
    gate(&mut s, r, t);
    chart(&mut s, r, lang, t);
    clauses(&mut s, r, lang, t);
    findings(&mut s, r, lang, t);
    components(&mut s, r, t);
    unpack(&mut s, r, t);
    boot(&mut s, r, t);
    signatures(&mut s, t);
    let _ = writeln!(s, "</main>\n</body>\n</html>");
    s
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The CSS class of a verdict (colours in [`STYLE`]).
fn vclass(v: Verdict) -> &'static str {
    match v {
        Verdict::Fail => "v-fail",
        Verdict::Inconclusive => "v-inconclusive",
        Verdict::Open => "v-open",
        Verdict::Pass => "v-pass",
        Verdict::NotApplicable => "v-na",
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "pass" => "v-pass",
        "fail" => "v-fail",
        _ => "v-inconclusive",
    }
}

fn badge(v: Verdict, t: &Strings) -> String {
    format!("<span class=\"badge {}\">{}</span>", vclass(v), esc(t.verdict(v)))
}

/// The anchor of a finding, from its fingerprint (hex, but escaped anyway).
fn anchor(fingerprint: &str) -> String {
    format!("f-{}", esc(fingerprint))
}

/// `path:line`, `path@0xoffset` or the bare path, as the text view writes it.
fn location(f: &FindingOut) -> String {
    match (f.line, f.offset) {
        (Some(l), _) => format!("{}:{l}", esc(&f.path)),
        (None, Some(o)) => format!("{}@{o:#x}", esc(&f.path)),
        _ => esc(&f.path),
    }
}

const STYLE: &str = r#"
:root { --fail:#b3261e; --inconclusive:#a15c00; --open:#3b5b99; --pass:#1e7a34; --na:#666; --line:#c8c8c8; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimSun", Arial, sans-serif; font-size: 10.5pt; color: #111; margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 0 16px 24px; }
header.running { background: #f4f4f4; border-bottom: 1px solid var(--line); padding: 6px 16px; font-size: 9pt; display: flex; gap: 16px; flex-wrap: wrap; }
header.running b { font-size: 10pt; }
h1 { font-size: 18pt; margin: 18px 0 6px; }
h2 { font-size: 14pt; margin: 22px 0 8px; border-bottom: 2px solid #333; padding-bottom: 2px; }
h3 { font-size: 11.5pt; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
thead { display: table-header-group; }
tr, .finding, .std { break-inside: avoid; page-break-inside: avoid; }
code, .mono { font-family: "DejaVu Sans Mono", "Noto Sans Mono", Consolas, monospace; font-size: 9pt; overflow-wrap: anywhere; word-break: break-all; }
.badge { display: inline-block; padding: 1px 6px; border-radius: 3px; color: #fff; font-weight: bold; font-size: 9pt; white-space: nowrap; }
.v-fail { background: var(--fail); } .v-inconclusive { background: var(--inconclusive); } .v-open { background: var(--open); }
.v-pass { background: var(--pass); } .v-na { background: var(--na); }
.outcome { margin: 14px 0; padding: 12px 16px; color: #fff; border-radius: 4px; }
.outcome .word { font-size: 22pt; font-weight: bold; }
.outcome ul { margin: 6px 0 0; }
.stds { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 8px; }
.std { border: 1px solid var(--line); border-left: 6px solid #999; padding: 6px 10px; }
.std.v-fail, .std.v-inconclusive, .std.v-open, .std.v-pass, .std.v-na { background: #fff; }
.std.v-fail { border-left-color: var(--fail); } .std.v-inconclusive { border-left-color: var(--inconclusive); }
.std.v-open { border-left-color: var(--open); } .std.v-pass { border-left-color: var(--pass); } .std.v-na { border-left-color: var(--na); }
.finding { border: 1px solid var(--line); padding: 6px 10px; margin: 6px 0; }
.finding dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 4px 0 0; }
.finding dt { color: #555; }
.finding dd { margin: 0; }
.sev-critical { color: var(--fail); font-weight: bold; } .sev-high { color: #c0392b; font-weight: bold; }
.sev-medium { color: var(--inconclusive); } .sev-low { color: var(--open); } .sev-info { color: var(--na); }
.muted { color: #555; }
.tree td:first-child { white-space: nowrap; }
.note { font-size: 9pt; color: #444; }
.signature { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; margin-top: 12px; }
.signature div { border-top: 1px solid #333; padding-top: 4px; height: 60px; }
svg text { font-family: inherit; font-size: 11px; }
@page { size: A4; margin: 12mm 10mm 14mm; }
@media print {
  body { font-size: 9pt; }
  main { max-width: none; padding: 0; }
  header.running { position: fixed; top: 0; left: 0; right: 0; }
  .page-spacer { height: 34px; }
  section.major { break-before: page; page-break-before: always; }
  a { color: inherit; text-decoration: none; }
  .badge, .outcome, th, header.running { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
@media screen { .page-spacer { display: none; } }
"#;

fn head(s: &mut String, r: &Report, lang: Lang, t: &Strings) {
    let _ = writeln!(s, "<!DOCTYPE html>");
    let _ = writeln!(s, "<html lang=\"{}\">", lang.as_str());
    let _ = writeln!(s, "<head>\n<meta charset=\"utf-8\">");
    // Nothing may be fetched: no script, font, image or stylesheet from
    // anywhere; only the inline style and inline SVG.
    let _ = writeln!(
        s,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    );
    let _ = writeln!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    );
    let _ = writeln!(s, "<title>{} — {}</title>", esc(t.certificate), esc(&r.image.name));
    let _ = writeln!(s, "<style>{STYLE}</style>\n</head>\n<body>");
    // Repeated at the top of every printed page (position: fixed in print).
    let _ = writeln!(
        s,
        "<header class=\"running\"><b>{}</b><span>{} <code>{}</code></span><span>SHA-256 <code>{}</code></span><span>{}: <span class=\"badge {}\">{}</span></span></header>",
        esc(t.certificate),
        esc(t.image),
        esc(&r.image.name),
        esc(&r.image.sha256),
        esc(t.outcome),
        status_class(r.outcome.status),
        esc(t.status(r.outcome.status))
    );
    let _ = writeln!(s, "<div class=\"page-spacer\"></div>");
}

fn outcome(s: &mut String, r: &Report, t: &Strings) {
    let _ = writeln!(s, "<h1>{}</h1>", esc(t.certificate));
    let _ = writeln!(
        s,
        "<div class=\"outcome {}\" id=\"outcome\"><span class=\"word\" id=\"verdict\">{}</span> ({} {})",
        status_class(r.outcome.status),
        esc(t.status(r.outcome.status)),
        esc(t.exit),
        r.outcome.exit_code
    );
    if !r.outcome.reasons.is_empty() {
        let _ = writeln!(s, "<ul>");
        for why in &r.outcome.reasons {
            let _ = writeln!(s, "<li>{}</li>", esc(why));
        }
        let _ = writeln!(s, "</ul>");
    }
    let _ = writeln!(s, "</div>");
}

fn row(s: &mut String, key: &str, value: &str) {
    let _ = writeln!(s, "<tr><th>{}</th><td>{value}</td></tr>", esc(key));
}

fn identity(s: &mut String, r: &Report, lang: Lang, t: &Strings) {
    let _ = writeln!(s, "<section id=\"identity\"><h2>{}</h2><table>", esc(t.identity));
    row(s, t.image, &format!("<code>{}</code>", esc(&r.image.name)));
    row(s, t.image_sha256, &format!("<code>{}</code>", esc(&r.image.sha256)));
    row(s, t.size, &format!("{} {}", r.image.size, esc(t.bytes)));
    if let Some(d) = &r.declaration.device {
        for (key, value) in [
            (t.manufacturer, &d.manufacturer),
            (t.model, &d.model),
            (t.hardware_version, &d.hardware_version),
            (t.firmware_version, &d.firmware_version),
        ] {
            if !value.is_empty() {
                row(s, key, &esc(value));
            }
        }
    }
    row(s, t.tool, &format!("{} {}", esc(r.tool.name), esc(r.tool.version)));
    row(
        s,
        t.rules_digest,
        &format!("<code>{}</code>", esc(&r.tool.rules_digest)),
    );
    row(s, t.profile, &format!("<code>{}</code>", esc(&r.profile)));
    match (&r.declaration.name, &r.declaration.sha256) {
        (Some(name), Some(sha)) => row(
            s,
            t.declaration,
            &format!("<code>{}</code> SHA-256 <code>{}</code>", esc(name), esc(sha)),
        ),
        _ => {
            let items: Vec<String> = r.declaration.assumptions.iter().map(|a| esc(a)).collect();
            row(
                s,
                t.declaration,
                &format!("{}: {}", esc(t.no_declaration), items.join("; ")),
            )
        }
    }
    // The vulnerability store the components were judged with: its
    // origin, digest and snapshot dates (what end of life is judged on).
    let v = &r.tool.vulnerability_data;
    let mut shown = format!(
        "{} · CVE {} · KEV {} · EOL {}",
        esc(&v.origin),
        esc(&v.snapshot),
        esc(&v.kev_catalog),
        esc(&v.eol_snapshot)
    );
    if !v.sha256.is_empty() {
        shown.push_str(&format!("<br><code>{}</code>", esc(&v.sha256)));
    }
    row(s, t.vuln_snapshot, &shown);
    let _ = lang;
    let _ = writeln!(s, "</table></section>");
}

/// The CI policy, its waivers and the baseline, when given.
fn gate(s: &mut String, r: &Report, t: &Strings) {
    let Some(g) = &r.gate else { return };
    let _ = writeln!(s, "<section id=\"gate\"><h2>{}</h2><table>", esc(t.gate));
    if let Some(p) = &g.policy {
        row(
            s,
            t.policy,
            &format!("<code>{}</code> SHA-256 <code>{}</code>", esc(&p.name), esc(&p.sha256)),
        );
    }
    if let Some(d) = &g.today {
        row(s, t.today, &format!("{} ({})", esc(&d.date), esc(&d.source)));
    }
    if let Some(b) = &g.baseline {
        row(
            s,
            t.baseline,
            &format!(
                "<code>{}</code> SHA-256 <code>{}</code> ({} {})",
                esc(&b.name),
                esc(&b.sha256),
                b.findings,
                esc(t.findings_lc)
            ),
        );
    }
    let _ = writeln!(s, "</table>");
    if !g.waivers.is_empty() {
        let _ = writeln!(
            s,
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            esc(t.waiver),
            esc(t.status),
            esc(t.reasons),
            esc(t.expires),
            esc(t.findings)
        );
        for w in &g.waivers {
            let what = w.target();
            let links: Vec<String> = w
                .matched
                .iter()
                .map(|fp| format!("<a href=\"#{}\">{}</a>", anchor(fp), esc(fp)))
                .collect();
            let _ = writeln!(
                s,
                "<tr><td>{} <code>{}</code></td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td></tr>",
                w.number,
                esc(&what),
                esc(if w.state == "active" { t.active } else { t.expired }),
                esc(&w.justification),
                esc(&w.owner),
                esc(&w.expires),
                if links.is_empty() {
                    esc(t.none)
                } else {
                    links.join("<br>")
                }
            );
        }
        let _ = writeln!(s, "</tbody></table>");
    }
    let _ = writeln!(s, "</section>");
}

fn standard_title(st: &StandardOut, lang: Lang) -> String {
    format!("{} {}", lang.pick(&st.title, &st.title_zh), st.version)
}

fn standards(s: &mut String, r: &Report, lang: Lang, t: &Strings) {
    let _ = writeln!(
        s,
        "<section id=\"standards\"><h2>{}</h2><div class=\"stds\">",
        esc(t.standards)
    );
    for st in &r.standards {
        let counts: Vec<String> = Verdict::ALL
            .iter()
            .filter_map(|v| {
                let n = st.counts.get(v.as_str()).copied().unwrap_or(0);
                (n > 0).then(|| format!("{n} {}", esc(t.verdict(*v))))
            })
            .collect();
        let _ = writeln!(
            s,
            "<div class=\"std {}\" id=\"std-{}\"><h3><a href=\"#clauses-{}\">{}</a></h3><p>{}: {} &nbsp; {}: {}</p><p class=\"muted\">{} {}</p></div>",
            vclass(st.verdict),
            esc(&st.id),
            esc(&st.id),
            esc(&standard_title(st, lang)),
            esc(t.verdict),
            badge(st.verdict, t),
            esc(t.firmware_verdict),
            st.firmware_verdict.map_or_else(|| esc(t.none), |v| badge(v, t)),
            counts.join(", "),
            esc(t.clauses),
        );
    }
    let _ = writeln!(s, "</div><p class=\"note\">{}</p></section>", esc(t.open_note));
}

/// A horizontal bar chart in inline SVG: one bar per `(label, value, colour)`.
fn bars(s: &mut String, title: &str, rows: &[(String, usize, &str)]) {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let label_w = 260;
    let bar_w = 360;
    let h = 22 * rows.len() + 28;
    let _ = writeln!(
        s,
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{}\" height=\"{h}\" viewBox=\"0 0 {} {h}\"><title>{}</title>",
        label_w + bar_w + 50,
        label_w + bar_w + 50,
        esc(title)
    );
    let _ = writeln!(s, "<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>", esc(title));
    for (i, (label, n, colour)) in rows.iter().enumerate() {
        let y = 24 + i * 22;
        let w = n * bar_w / max;
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\">{n}</text>",
            y + 12,
            esc(label),
            label_w + w + 6,
            y + 12
        );
    }
    let _ = writeln!(s, "</svg></figure>");
}

fn chart(s: &mut String, r: &Report, lang: Lang, t: &Strings) {
    let _ = writeln!(s, "<section id=\"chart\"><h2>{}</h2>", esc(t.chart));
    let colours = ["#666666", "#3b5b99", "#a15c00", "#c0392b", "#b3261e"];
    let by_severity: Vec<(String, usize, &str)> = Severity::ALL
        .iter()
        .enumerate()
        .rev()
        .map(|(i, sev)| {
            let n = r.summary.findings.get(sev.as_str()).copied().unwrap_or(0);
            (t.severity(*sev).to_string(), n, colours[i])
        })
        .collect();
    bars(s, &format!("{} {}", t.chart, t.by_severity), &by_severity);
    // The distinct findings each standard's clauses cite.
    let by_standard: Vec<(String, usize, &str)> = r
        .standards
        .iter()
        .map(|st| {
            let cited: BTreeSet<&str> = r
                .requirements
                .iter()
                .filter(|q| q.standard == st.id)
                .flat_map(|q| q.findings.iter().map(String::as_str))
                .collect();
            (lang.pick(&st.title, &st.title_zh).to_string(), cited.len(), "#3b5b99")
        })
        .collect();
    bars(s, &format!("{} {}", t.chart, t.by_standard), &by_standard);
    let _ = writeln!(s, "</section>");
}

fn unit_kind(k: UnitKind) -> &'static str {
    match k {
        UnitKind::Conceptual => "conceptual",
        UnitKind::Functional => "functional",
    }
}

fn clause_rows(s: &mut String, reqs: &[&RequirementOut], r: &Report, lang: Lang, t: &Strings) {
    for q in reqs {
        let cause = q.cause.map(|c| format!(" [{}]", esc(t.cause(c)))).unwrap_or_default();
        let mut units = String::new();
        for u in &q.units {
            let _ = write!(
                units,
                "<div>{} <code>{}</code> {}/{}{}",
                badge(u.verdict, t),
                esc(&u.id),
                unit_kind(u.kind),
                esc(u.scope.as_str()),
                u.cause.map(|c| format!(" [{}]", esc(t.cause(c)))).unwrap_or_default()
            );
            if !u.rules.is_empty() {
                let _ = write!(
                    units,
                    " <span class=\"muted\">{}: {}</span>",
                    esc(t.rules),
                    esc(&u.rules.join(", "))
                );
            }
            for why in &u.reasons {
                let _ = write!(units, "<br><span class=\"note\">{}</span>", esc(why));
            }
            let _ = write!(units, "</div>");
        }
        let evidence: Vec<String> = q
            .findings
            .iter()
            .map(|fp| {
                let label = r
                    .findings
                    .iter()
                    .find(|f| &f.fingerprint == fp)
                    .map_or_else(|| fp.clone(), |f| format!("{} {}", f.id, f.fingerprint));
                format!("<a href=\"#{}\">{}</a>", anchor(fp), esc(&label))
            })
            .collect();
        let reasons: Vec<String> = q.reasons.iter().map(|w| esc(w)).collect();
        let _ = writeln!(
            s,
            "<tr id=\"c-{}-{}\"><td><code>{}</code></td><td>{}{}</td><td>{}{cause}</td><td>{}</td><td>{}</td></tr>",
            esc(&q.standard),
            esc(&q.clause),
            esc(&q.clause),
            esc(lang.pick(&q.title, &q.title_zh)),
            if reasons.is_empty() {
                String::new()
            } else {
                format!("<br><span class=\"note\">{}</span>", reasons.join("<br>"))
            },
            badge(q.verdict, t),
            units,
            evidence.join("<br>")
        );
    }
}

fn clauses(s: &mut String, r: &Report, lang: Lang, t: &Strings) {
    let _ = writeln!(s, "<section class=\"major\" id=\"clauses\"><h2>{}</h2>", esc(t.clauses));
    for st in &r.standards {
        let reqs: Vec<&RequirementOut> = r.requirements.iter().filter(|q| q.standard == st.id).collect();
        let _ = writeln!(
            s,
            "<h3 id=\"clauses-{}\">{} {}</h3>",
            esc(&st.id),
            esc(&standard_title(st, lang)),
            badge(st.verdict, t)
        );
        let _ = writeln!(
            s,
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            esc(t.clause),
            esc(t.title),
            esc(t.verdict),
            esc(t.units),
            esc(t.evidence)
        );
        clause_rows(s, &reqs, r, lang, t);
        let _ = writeln!(s, "</tbody></table>");
    }
    let _ = writeln!(s, "</section>");
}

fn findings(s: &mut String, r: &Report, lang: Lang, t: &Strings) {
    let _ = writeln!(
        s,
        "<section class=\"major\" id=\"findings\"><h2>{} ({})</h2>",
        esc(t.findings),
        r.findings.len()
    );
    if r.findings.is_empty() {
        let _ = writeln!(s, "<p>{}</p>", esc(t.none));
    }
    for f in &r.findings {
        let sev = f.severity.as_str();
        let _ = writeln!(
            s,
            "<div class=\"finding\" id=\"{}\"><b class=\"sev-{sev}\">{}</b> <code>{}</code> {}{}{}",
            anchor(&f.fingerprint),
            esc(t.severity(f.severity)),
            esc(&f.id),
            esc(lang.pick(&f.title, &f.title_zh)),
            f.custom_rule
                .as_ref()
                .map(|c| format!(" <span class=\"muted\">({}: {})</span>", esc(t.custom_rule), esc(c)))
                .unwrap_or_default(),
            if f.preview {
                format!(" <span class=\"muted\">({})</span>", esc(t.preview))
            } else {
                String::new()
            }
        );
        match (f.waiver, f.baseline) {
            (Some(n), _) => {
                let _ = writeln!(s, " <span class=\"badge v-na\">{} {n}</span>", esc(t.waived_by));
            }
            (None, Some("known")) => {
                let _ = writeln!(s, " <span class=\"badge v-na\">{}</span>", esc(t.known_in_baseline));
            }
            (None, Some(_)) => {
                let _ = writeln!(s, " <span class=\"badge v-open\">{}</span>", esc(t.new_since_baseline));
            }
            (None, None) => {}
        }
        let _ = writeln!(s, "<dl>");
        let _ = writeln!(s, "<dt>{}</dt><dd><code>{}</code></dd>", esc(t.path), location(f));
        let _ = writeln!(
            s,
            "<dt>{}</dt><dd><code>{}</code></dd>",
            esc(t.container),
            esc(&f.container.to_string())
        );
        let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", esc(t.evidence), esc(&f.evidence));
        if let Some(h) = &f.sha256 {
            let _ = writeln!(s, "<dt>{}</dt><dd><code>{}</code></dd>", esc(t.file_sha256), esc(h));
        }
        if let Some(h) = &f.secret_fingerprint {
            let _ = writeln!(s, "<dt>{}</dt><dd><code>{}</code></dd>", esc(t.secret), esc(h));
        }
        let _ = writeln!(s, "<dt>ID</dt><dd><code>{}</code></dd>", esc(&f.fingerprint));
        let _ = writeln!(s, "</dl></div>");
    }
    let _ = writeln!(s, "</section>");
}

fn components(s: &mut String, r: &Report, t: &Strings) {
    let _ = writeln!(s, "<section id=\"components\"><h2>{}</h2>", esc(t.components));
    if r.components.is_empty() {
        let _ = writeln!(s, "<p>{}</p></section>", esc(t.none));
        return;
    }
    let _ = writeln!(
        s,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>purl / CPE</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(t.component),
        esc(t.version),
        esc(t.path),
        esc(t.vulnerabilities),
        esc(t.end_of_life)
    );
    for c in &r.components {
        let ids: Vec<String> = c
            .vulnerabilities
            .iter()
            .map(|v| {
                let mut x = esc(&v.id);
                if let Some(score) = v.cvss {
                    let _ = write!(x, " ({score})");
                }
                if v.kev {
                    x.push_str(" KEV");
                }
                x
            })
            .collect();
        let eol = c
            .eol
            .as_ref()
            .map(|e| {
                format!(
                    "{}{}",
                    esc(e.state),
                    e.date.as_ref().map(|d| format!(" {}", esc(d))).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let ids_out = ids.join(", ");
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code><br><span class=\"note mono\">{}</span></td><td><code>{}</code><br><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            esc(&c.version),
            esc(&c.path),
            esc(&c.container.to_string()),
            esc(c.purl.as_deref().unwrap_or("")),
            esc(c.cpe.as_deref().unwrap_or("")),
            ids_out,
            eol
        );
    }
    let _ = writeln!(s, "</tbody></table></section>");
}

fn unpack(s: &mut String, r: &Report, t: &Strings) {
    let u = &r.unpack;
    let _ = writeln!(
        s,
        "<section class=\"major\" id=\"unpack\"><h2>{} ({})</h2>",
        esc(t.unpack),
        esc(if u.complete { t.complete } else { t.incomplete })
    );
    for why in &u.reasons {
        let _ = writeln!(s, "<p class=\"note\">! {}</p>", esc(why));
    }
    let _ = writeln!(
        s,
        "<table class=\"tree\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(t.container),
        esc(t.status),
        esc(t.offset),
        esc(t.size),
        esc(t.description)
    );
    for c in &u.containers {
        let depth = c.path.depth().saturating_sub(1);
        let _ = writeln!(
            s,
            "<tr><td style=\"padding-left:{}px\"><code>{}</code></td><td>{:?}</td><td><code>{:#x}</code></td><td>{}</td><td>{}{}</td></tr>",
            6 + depth * 16,
            esc(&c.path.tail()),
            c.status,
            c.offset,
            c.size,
            esc(&c.description),
            c.error
                .as_ref()
                .map(|e| format!("<br><span class=\"note\">! {}</span>", esc(e)))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(s, "</tbody></table>");
    if !u.gaps.is_empty() {
        let _ = writeln!(s, "<h3>{}</h3><table><tbody>", esc(t.gaps));
        for g in &u.gaps {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td><code>{:#x}</code></td><td>{} {}</td><td>{:?}</td><td>{:.2}</td></tr>",
                esc(&g.location.to_string()),
                g.offset,
                g.size,
                esc(t.bytes),
                g.kind,
                g.entropy
            );
        }
        let _ = writeln!(s, "</tbody></table>");
    }
    let _ = writeln!(s, "<h3>{}</h3><ul>", esc(t.filesystems));
    for f in &u.filesystems {
        let _ = writeln!(
            s,
            "<li><code>{}</code> {} — {} {}{}</li>",
            esc(&f.container.to_string()),
            esc(f.format),
            f.files,
            esc(t.files),
            if f.rootfs {
                format!(" ({})", esc(t.root_filesystem))
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(s, "</ul>");
    let _ = writeln!(
        s,
        "<h3>{}</h3><table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(t.coverage),
        esc(t.family),
        esc(t.status),
        esc(t.reasons)
    );
    for c in &r.checks {
        let reasons: Vec<String> = c.reasons.iter().map(|w| esc(w)).collect();
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.family),
            esc(if c.complete { t.complete } else { t.incomplete }),
            reasons.join("<br>")
        );
    }
    let _ = writeln!(s, "</tbody></table></section>");
}

fn boot(s: &mut String, r: &Report, t: &Strings) {
    let _ = writeln!(s, "<section id=\"boot\"><h2>{}</h2>", esc(t.boot));
    for g in &r.boot.graphs {
        let _ = writeln!(
            s,
            "<h3><code>{}</code> — <code>{}</code> ({}: {})</h3>",
            esc(&g.root),
            esc(&g.container.to_string()),
            esc(t.init),
            esc(&g.init)
        );
        let _ = writeln!(
            s,
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            esc(t.started_by),
            esc(t.mechanism),
            esc(t.command),
            esc(t.runs)
        );
        for st in &g.starts {
            let loc = match st.line {
                Some(l) => format!("{}:{l}", st.script),
                None => format!("{} ({})", st.script, t.built_in),
            };
            let mut cmd = st.argv.join(" ");
            for o in &st.optional_args {
                let _ = write!(cmd, " [{o}]");
            }
            let mut runs = match (&st.binary, &st.applet) {
                (None, _) => t.not_in_image.to_string(),
                (Some(b), Some(a)) => format!("{b} [{a}]"),
                (Some(b), None) => b.clone(),
            };
            if let Some(tty) = &st.tty {
                let _ = write!(runs, " {tty}");
            }
            if !st.ports.is_empty() {
                let _ = write!(runs, " port {}", st.ports.join(","));
            }
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{} {}</td><td><code>{}</code>{}</td><td><code>{}</code></td></tr>",
                esc(&loc),
                esc(&st.mechanism),
                esc(&st.action),
                esc(&cmd),
                st.condition
                    .as_ref()
                    .map(|c| format!(
                        "<br><span class=\"note\">{} <code>{}</code></span>",
                        esc(t.condition),
                        esc(c)
                    ))
                    .unwrap_or_default(),
                esc(&runs)
            );
        }
        let _ = writeln!(s, "</tbody></table>");
        if !g.edges.is_empty() {
            let _ = writeln!(s, "<h3>{}</h3><ul>", esc(t.links));
            for e in &g.edges {
                let from = match e.line {
                    Some(l) => format!("{}:{l}", e.from),
                    None => e.from.clone(),
                };
                let _ = writeln!(
                    s,
                    "<li><code>{}</code> → <code>{}</code> ({}){}</li>",
                    esc(&from),
                    esc(&e.to),
                    esc(&e.how),
                    e.condition
                        .as_ref()
                        .map(|c| format!(" {} <code>{}</code>", esc(t.condition), esc(c)))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(s, "</ul>");
        }
        for gap in &g.gaps {
            let _ = writeln!(s, "<p class=\"note\">! {}</p>", esc(gap));
        }
    }
    if !r.boot.uboot.is_empty() {
        let _ = writeln!(s, "<h3>{}</h3><ul>", esc(t.uboot));
        for u in &r.boot.uboot {
            let vars: Vec<String> = u.vars.iter().map(|(k, v)| format!("{}={}", esc(k), esc(v))).collect();
            let _ = writeln!(
                s,
                "<li><code>{}@{:#x}</code> in <code>{}</code> ({}): <code>{}</code></li>",
                esc(&u.path),
                u.offset,
                esc(&u.container.to_string()),
                esc(&u.kind),
                vars.join(" ")
            );
        }
        let _ = writeln!(s, "</ul>");
    }
    let _ = writeln!(s, "</section>");
}

fn signatures(s: &mut String, t: &Strings) {
    let _ = writeln!(
        s,
        "<section id=\"signatures\"><h2>{}</h2><p class=\"note\">{}</p><div class=\"signature\"><div></div><div></div></div></section>",
        esc(t.signature_block),
        esc(t.signature_note)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            esc("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("a\"b&c"), "a&quot;b&amp;c");
        assert_eq!(esc("\u{1b}[31m"), "\u{fffd}[31m");
    }
}
