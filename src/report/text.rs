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
    let _ = writeln!(s, "VERDICT: {}", r.verdict.as_str());
    let counts: Vec<String> = r.summary.requirements.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(s, "requirements: {}", counts.join(", "));
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
        let _ = writeln!(
            s,
            "  {} {} [{}] {}",
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

    let _ = writeln!(s, "REQUIREMENTS (FAIL and INCONCLUSIVE first)");
    let mut reqs: Vec<_> = r
        .requirements
        .iter()
        .filter(|q| q.verdict != Verdict::NotTestable)
        .collect();
    reqs.sort_by_key(|q| (q.verdict, q.standard.clone()));
    for q in reqs {
        let _ = writeln!(
            s,
            "  {:<12} {} {}  {}",
            q.verdict.as_str(),
            q.standard_name,
            q.clause,
            q.title
        );
        if q.verdict == Verdict::Fail {
            for fp in &q.findings {
                if let Some(f) = r.findings.iter().find(|f| &f.fingerprint == fp) {
                    let _ = writeln!(s, "               ← {} {}", f.id, f.evidence);
                }
            }
        }
    }
    let nt = r
        .requirements
        .iter()
        .filter(|q| q.verdict == Verdict::NotTestable)
        .count();
    let _ = writeln!(
        s,
        "  ({nt} clauses are NOT-TESTABLE from firmware; see the JSON report)"
    );
    s
}
