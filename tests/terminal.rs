//! Terminal output: the text view is coloured only for a terminal, and the
//! colours change no word of it.

use std::process::Command;

use fwcert::report::{Lang, text};
use fwcert::{ScanOptions, scan_bytes};

#[test]
fn colours_change_no_word() {
    let opts = ScanOptions {
        profile: "baseline".into(),
        ..ScanOptions::default()
    };
    let bytes = fwcert::samples::named("camera-default-root.bin").expect("sample");
    let r = scan_bytes(bytes.into(), "camera-default-root.bin", &opts).expect("scans");
    let escapes = regex::Regex::new("\u{1b}\\[[0-9;]*m").expect("regex");
    for lang in Lang::ALL {
        let plain = text::render_in(&r, lang);
        let coloured = text::render_styled(&r, lang, true);
        assert!(coloured.contains("\u{1b}[1m\u{1b}[31m"), "FAIL is bold red");
        assert_eq!(escapes.replace_all(&coloured, ""), plain, "{lang}");
        assert!(!plain.contains('\u{1b}'));
    }
}

#[test]
fn piped_output_is_plain() {
    for env in [None, Some(("NO_COLOR", "1"))] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fwcert"));
        cmd.args([
            "scan",
            "samples/camera-default-root.bin",
            "--standard",
            "etsi-en-303-645",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("OUTCOME: FAIL (exit 1)"), "{stdout}");
        assert!(!stdout.contains('\u{1b}'), "no escape codes when piped");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains('\u{1b}'),
            "no progress bar when piped"
        );
    }
}
