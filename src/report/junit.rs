//! JUnit XML view for CI test tabs: one `<testsuite>` per standard, one
//! `<testcase>` per clause. FAIL is a `<failure>` listing the findings that
//! fail the clause; INCONCLUSIVE, OPEN and NOT-APPLICABLE are `<skipped>`
//! with the verdict and its reasons; PASS is a bare test case. The counts are those of
//! the report's requirements; no time is written (the report has none).

use std::fmt::Write;

use super::model::{FindingOut, Report, RequirementOut, Verdict};

pub fn render(r: &Report) -> String {
    // Standards in the report's (profile) order, clauses in each standard's order.
    let mut suites: Vec<(&str, &str, Vec<&RequirementOut>)> = Vec::new();
    for q in &r.requirements {
        match suites.iter_mut().find(|(id, _, _)| *id == q.standard) {
            Some((_, _, qs)) => qs.push(q),
            None => suites.push((&q.standard, &q.standard_title, vec![q])),
        }
    }
    let count = |qs: &[&RequirementOut], v: &[Verdict]| qs.iter().filter(|q| v.contains(&q.verdict)).count();
    const SKIPPED: [Verdict; 3] = [Verdict::Inconclusive, Verdict::Open, Verdict::NotApplicable];
    let all: Vec<&RequirementOut> = r.requirements.iter().collect();

    let mut s = String::new();
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        attr(&format!("fwcert {} {}", r.profile, r.image.name)),
        all.len(),
        count(&all, &[Verdict::Fail]),
        count(&all, &SKIPPED),
    );
    for (id, name, qs) in &suites {
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
            attr(name),
            qs.len(),
            count(qs, &[Verdict::Fail]),
            count(qs, &SKIPPED),
        );
        s.push_str("    <properties>\n");
        for (k, v) in [
            ("standard", *id),
            ("image", r.image.name.as_str()),
            ("image.sha256", r.image.sha256.as_str()),
            ("profile", r.profile.as_str()),
            (
                "verdict",
                r.standards
                    .iter()
                    .find(|s| s.id == *id)
                    .map_or("", |s| s.verdict.as_str()),
            ),
            ("outcome", r.outcome.status),
            ("rules_digest", r.tool.rules_digest.as_str()),
        ] {
            let _ = writeln!(s, "      <property name=\"{}\" value=\"{}\"/>", attr(k), attr(v));
        }
        s.push_str("    </properties>\n");
        for q in qs {
            testcase(&mut s, r, q);
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

fn testcase(s: &mut String, r: &Report, q: &RequirementOut) {
    let _ = write!(
        s,
        "    <testcase name=\"{}\" classname=\"{}\"",
        attr(&format!("{} {}", q.clause, q.title)),
        attr(&q.standard)
    );
    let cited = || {
        q.findings
            .iter()
            .filter_map(|fp| r.findings.iter().find(|f| &f.fingerprint == fp))
    };
    match q.verdict {
        Verdict::Pass => s.push_str("/>\n"),
        Verdict::Fail => {
            let n = q.findings.len();
            let _ = writeln!(
                s,
                ">\n      <failure type=\"FAIL\" message=\"{}\">",
                attr(&format!(
                    "FAIL: {n} finding{} fail{} this clause",
                    if n == 1 { "" } else { "s" },
                    if n == 1 { "s" } else { "" }
                ))
            );
            for f in cited() {
                let _ = writeln!(s, "{}", text(&finding_line(f)));
            }
            for reason in &q.reasons {
                let _ = writeln!(s, "{}", text(reason));
            }
            s.push_str("</failure>\n    </testcase>\n");
        }
        Verdict::Inconclusive | Verdict::Open | Verdict::NotApplicable => {
            let _ = writeln!(
                s,
                ">\n      <skipped message=\"{}\">",
                attr(&format!("{}: {}", q.verdict.as_str(), q.reasons.join("; ")))
            );
            for reason in &q.reasons {
                let _ = writeln!(s, "{}", text(reason));
            }
            // An INCONCLUSIVE clause may cite the preview findings that keep it from passing.
            for f in cited() {
                let _ = writeln!(s, "{}", text(&format!("preview: {}", finding_line(f))));
            }
            s.push_str("</skipped>\n    </testcase>\n");
        }
    }
}

/// `FW-CRED-002 /etc/shadow:1 in <chain>: <evidence>` (offsets in hex).
fn finding_line(f: &FindingOut) -> String {
    let loc = match (f.line, f.offset) {
        (Some(l), _) => format!("{}:{l}", f.path),
        (None, Some(o)) => format!("{}@{o:#x}", f.path),
        _ => f.path.clone(),
    };
    // The gate's view of it, when a policy or baseline was given: the
    // failure stays (verdicts do not change), the reader sees why the job
    // may still pass.
    let gated = match (f.waiver, f.baseline) {
        (Some(n), _) => format!(" [waived by waiver {n}]"),
        (None, Some("known")) => " [in the baseline]".to_string(),
        _ => String::new(),
    };
    format!("{} {loc} in {}: {}{gated}", f.id, f.container, f.evidence)
}

/// Escapes character data: `&`, `<`, `>`, and characters XML 1.0 cannot
/// carry at all (C0 controls other than tab, newline and carriage return,
/// U+FFFE, U+FFFF), which become U+FFFD.
pub fn text(s: &str) -> String {
    escape(s, false)
}

/// Escapes an attribute value: as [`text`], plus quotes, and tab, newline
/// and carriage return as character references so that attribute-value
/// normalisation keeps them.
pub fn attr(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(text("a<b & c>d \"q\""), "a&lt;b &amp; c&gt;d \"q\"");
        assert_eq!(attr("a\"b'c\nd\te"), "a&quot;b&apos;c&#10;d&#9;e");
        assert_eq!(text("x\u{0}y\u{1b}z\r\n"), "x\u{fffd}y\u{fffd}z&#13;\n");
        assert_eq!(text("]]>"), "]]&gt;");
    }
}
