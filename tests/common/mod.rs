//! Helpers shared by the integration tests (`mod common;` in each).

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `python3 -c script` in the repository root with `input` on stdin
/// and returns its standard output; `None` (with the reason printed) when
/// Python, or a module in `needs` (`"jsonschema, referencing"`), is
/// missing, so that the test is skipped rather than failed. Panics with
/// Python's standard error, under `what`, when the script fails.
pub fn python(script: &str, input: &[u8], needs: &str, what: &str) -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", &format!("import {needs}")])
        .output();
    match probe {
        Err(e) => {
            eprintln!("skipped: python3 not runnable ({e})");
            return None;
        }
        Ok(o) if !o.status.success() => {
            eprintln!(
                "skipped: python3 cannot import {needs}: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return None;
        }
        Ok(_) => {}
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("python3 reads its input");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "{what}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
