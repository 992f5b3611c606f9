//! The scaling examples in `docs/` are real: the Kubernetes Indexed Job
//! shards with its completion index over as many shards as it has
//! completions, and validates against the Kubernetes schema when
//! `kubernetes-validate` (PyPI) is installed.

use std::path::PathBuf;
use std::process::Command;

fn example() -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/examples/k8s-indexed-job.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    (path, text)
}

/// The value after `key:` on its own line, trimmed.
fn field<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .map(str::trim)
}

#[test]
fn the_indexed_job_shards_by_its_completion_index() {
    let (_, text) = example();
    assert_eq!(field(&text, "kind"), Some("Job"));
    assert_eq!(field(&text, "completionMode"), Some("Indexed"));
    let n = field(&text, "completions").unwrap();
    assert_eq!(field(&text, "parallelism"), Some(n));
    assert!(
        text.contains(&format!("--shard \"$JOB_COMPLETION_INDEX/{n}\"")),
        "every pod takes its own shard of {n}"
    );
    assert!(text.contains("-o \"/reports/shard-$JOB_COMPLETION_INDEX\""));
    assert!(text.contains("fwcert batch --merge /reports/shard-*"));
}

#[test]
fn the_indexed_job_validates_against_kubernetes() {
    let (path, _) = example();
    let Ok(out) = Command::new("kubernetes-validate").arg(&path).output() else {
        eprintln!("kubernetes-validate is not installed (pip install kubernetes-validate): skipped");
        return;
    };
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
