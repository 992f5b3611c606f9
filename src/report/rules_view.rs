//! Views of the rule set itself: `fwcert rules list / explain / profiles`
//! and the generated reference pages `docs/rules/<family>.md`.
//!
//! The pages are generated from the rule TOML under `checks/` so that they
//! cannot drift from what the binary applies; a test compares the
//! committed files with [`family_page`], and `cargo run --example
//! gen-docs` writes them again.

use std::fmt::Write as _;

use crate::checks::rule::{Engine, Rule, RuleStatus};
use crate::rules::Rules;
use crate::standards::PROFILES;

/// `fwcert rules list`: one line per rule.
pub fn list(rules: &Rules) -> String {
    let mut out = String::new();
    for r in rules.checks.rules.values() {
        let _ = writeln!(out, "{}  {:<8} {:<26} {}", r.id, r.severity.as_str(), r.name, r.title);
    }
    out
}

/// The units a rule refutes, as `(standard title, clause, unit, clause title)`.
fn units_of<'r>(rules: &'r Rules, rule: &str) -> Vec<(&'r str, String, &'r str, &'r str)> {
    let mut out = Vec::new();
    for s in rules.catalog.standards.values() {
        for c in &s.clauses {
            for u in c.units.iter().filter(|u| u.rules.iter().any(|r| r == rule)) {
                out.push((s.standard.title.as_str(), c.key(), u.id.as_str(), c.title.as_str()));
            }
        }
    }
    out
}

/// What a rule's status means for a reader of its findings.
fn status_note(r: &Rule) -> &'static str {
    match r.status {
        RuleStatus::Stable => "stable",
        RuleStatus::Preview => {
            "preview: a heuristic whose findings are reported for review but decide no verdict \
             (they never FAIL a unit; a unit they bear on is INCONCLUSIVE, cause `review`, \
             instead of PASS)"
        }
        RuleStatus::Deprecated => "deprecated: kept so that old reports stay readable",
        RuleStatus::Removed => "removed: never fires; the ID is not reused",
    }
}

/// `fwcert rules explain ID`, or `None` when there is no such rule.
pub fn explain(rules: &Rules, id: &str) -> Option<String> {
    let r = rules.checks.rule(id)?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}, {:?})\n{}\n{}\n",
        r.id,
        r.name,
        r.severity.as_str(),
        r.status,
        r.title,
        r.title_zh
    );
    if r.status != RuleStatus::Stable {
        let _ = writeln!(out, "Status: {}\n", status_note(r));
    }
    let _ = writeln!(
        out,
        "What it does\n  {}\n\nWhy it matters\n  {}\n\nExample\n  {}\n\nFix\n  {}\n",
        r.doc.what, r.doc.why, r.doc.example, r.doc.fix
    );
    let _ = writeln!(out, "Controls: {}\n", r.controls.join(", "));
    let _ = writeln!(out, "Test units its findings refute");
    let units = units_of(rules, &r.id);
    if units.is_empty() {
        let _ = writeln!(out, "  none: its findings are reported but decide no clause");
    }
    for (standard, clause, unit, title) in units {
        let _ = writeln!(out, "  {standard} {clause} unit {unit}  {title}");
    }
    Some(out)
}

/// `fwcert rules list --standard ID`: every clause with its modality,
/// confirmation and test units (kind, scope, and for firmware units the
/// rules, families and declaration section that decide them); `None` when
/// there is no such standard.
pub fn standard(rules: &Rules, id: &str) -> Option<String> {
    let s = rules.catalog.standards.get(id)?;
    let m = &s.standard;
    let mut out = String::new();
    let _ = writeln!(out, "{} {} ({}; {:?})", m.title, m.version, m.id, m.kind);
    for p in &m.parts {
        let _ = writeln!(out, "  part {}: {} (applies to {})", p.id, p.title, p.applies_to);
    }
    for c in &s.clauses {
        let mut flags = vec![
            format!("{:?}", c.modality).to_lowercase(),
            format!("{:?}", c.confirmed).to_lowercase(),
        ];
        if c.evidence_only {
            flags.push("evidence only".into());
        }
        if let Some(cond) = c.applies_if {
            flags.push(format!("applies if {}", cond.as_str()));
        }
        let _ = writeln!(out, "\n{}  {}  [{}]", c.key(), c.title, flags.join(", "));
        for d in &c.deemed_by {
            let _ = writeln!(out, "    deemed by {d}");
        }
        for u in &c.units {
            let _ = write!(
                out,
                "    {:<10} {:<10} {:<9} {}",
                u.id,
                format!("{:?}", u.kind).to_lowercase(),
                u.scope.as_str(),
                u.text
            );
            let mut how = Vec::new();
            if !u.rules.is_empty() {
                how.push(format!("rules {}", u.rules.join(" ")));
            }
            if !u.families.is_empty() {
                how.push(format!("coverage {}", u.families.join(" ")));
            }
            if let Some(d) = u.declaration {
                how.push(format!("declaration {}", d.as_str()));
            }
            if u.scope == crate::standards::Scope::Firmware && u.rules.is_empty() && u.declaration.is_none() {
                how.push("no check yet".into());
            }
            if !how.is_empty() {
                let _ = write!(out, "\n               ({})", how.join("; "));
            }
            out.push('\n');
        }
    }
    Some(out)
}

/// `fwcert rules profiles`: the profiles and the standards `--profile`
/// accepts.
pub fn profiles(rules: &Rules) -> String {
    let mut out = String::new();
    for (name, what, _) in PROFILES {
        let _ = writeln!(out, "{name:<10} {what}");
    }
    let _ = writeln!(out, "\nstandards:");
    for s in rules.catalog.standards.values() {
        let _ = writeln!(
            out,
            "  {:<24} {} {}",
            s.standard.id, s.standard.title, s.standard.version
        );
    }
    out
}

/// Families that have rules, in name order: one reference page each.
pub fn families(rules: &Rules) -> Vec<String> {
    let mut out: Vec<String> = rules.checks.rules.values().map(|r| r.family.clone()).collect();
    out.sort();
    out.dedup();
    out
}

/// Table cells must not break the Markdown table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// `docs/rules/<family>.md`: every rule of the family with its
/// documentation, fixtures and the clauses it feeds.
pub fn family_page(rules: &Rules, family: &str) -> String {
    let mine: Vec<&Rule> = rules.checks.rules.values().filter(|r| r.family == family).collect();
    let mut out = String::new();
    let _ = writeln!(out, "# `{family}` rules\n");
    let _ = writeln!(
        out,
        "<!-- Generated from checks/{family}/*.toml by `cargo run --example gen-docs`; do not edit. -->\n"
    );
    let _ = writeln!(out, "| ID | name | severity | status | title |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for r in &mine {
        let _ = writeln!(
            out,
            "| [{id}](#{anchor}) | `{}` | {} | {:?} | {} |",
            r.name,
            r.severity.as_str(),
            r.status,
            cell(&r.title),
            id = r.id,
            anchor = r.id.to_lowercase()
        );
    }
    for r in &mine {
        let _ = writeln!(out, "\n## {}\n", r.id);
        let _ = writeln!(out, "**{}** — {} ({})\n", r.name, r.title, r.title_zh);
        let engine = match r.engine {
            Engine::Code if r.patterns.is_empty() => "code in the family".to_string(),
            Engine::Code => format!("{} `[[pattern]]` entries", r.patterns.len()),
            Engine::Yara => "YARA rules under `checks/` whose `meta: id` names it".to_string(),
        };
        let _ = writeln!(
            out,
            "- severity: {}\n- status: {}\n- decided by: {engine}\n- controls: {}",
            r.severity.as_str(),
            status_note(r),
            r.controls.join(", ")
        );
        let _ = writeln!(out, "\n### What it does\n\n{}", r.doc.what.trim());
        let _ = writeln!(out, "\n### Why it matters\n\n{}", r.doc.why.trim());
        let _ = writeln!(out, "\n### Example\n\n{}", r.doc.example.trim());
        let _ = writeln!(out, "\n### Fix\n\n{}", r.doc.fix.trim());
        if !r.doc.references.is_empty() {
            let _ = writeln!(out, "\n### References\n");
            for reference in &r.doc.references {
                let _ = writeln!(out, "- {reference}");
            }
        }
        let _ = writeln!(out, "\n### Fixtures\n");
        for fx in &r.fixtures {
            // A fail fixture also says where its findings are.
            let at: Vec<String> = fx
                .findings
                .iter()
                .map(|e| match (e.line, e.offset) {
                    (Some(l), _) => format!("`{}:{l}`", e.path),
                    (None, Some(o)) => format!("`{}` offset {o}", e.path),
                    (None, None) => format!("`{}`", e.path),
                })
                .collect();
            let at = if at.is_empty() {
                String::new()
            } else {
                format!(", at {}", at.join(", "))
            };
            let _ = writeln!(out, "- `{}`: expect {:?}{at}", fx.name, fx.expect);
        }
        let _ = writeln!(out, "\n### Test units it refutes\n");
        let units = units_of(rules, &r.id);
        if units.is_empty() {
            let _ = writeln!(out, "- none: its findings are reported but decide no clause");
        }
        for (standard, clause, unit, title) in units {
            let _ = writeln!(out, "- {standard} {clause} unit {unit}: {title}");
        }
    }
    out
}

/// `docs/rules/README.md`: the index of the family pages.
pub fn index_page(rules: &Rules) -> String {
    let mut out = String::from(
        "# Rule reference\n\n<!-- Generated from checks/ by `cargo run --example gen-docs`; do not edit. -->\n\n\
         Rule IDs are stable: a retired rule keeps its ID as a tombstone and no ID is reused.\n\n\
         | family | rules |\n|---|---|\n",
    );
    for family in families(rules) {
        let n = rules.checks.rules.values().filter(|r| r.family == family).count();
        let _ = writeln!(out, "| [{family}]({family}.md) | {n} |");
    }
    out
}
