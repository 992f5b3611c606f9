//! The HTML certificate: snapshots on both samples in both languages, the
//! page fetches nothing and escapes what comes from the image, and (when
//! Chromium is installed) a real headless browser loads it without console
//! messages, shows the verdict, and writes a screenshot for review under
//! the target directory (`target/tmp/fwcert-html-*.png`).

use std::path::{Path, PathBuf};
use std::process::Command;

use fwcert::report::{Lang, Report, html};
use fwcert::{ScanOptions, scan_bytes};

const SAMPLES: [&str; 2] = ["camera-default-root.bin", "camera-hardened.bin"];

fn report(name: &str) -> Report {
    let opts = ScanOptions {
        profile: "baseline".into(),
        ..ScanOptions::default()
    };
    let bytes = fwcert::samples::named(name).expect("sample exists");
    scan_bytes(bytes.into(), name, &opts).expect("sample scans")
}

#[test]
fn snapshots() {
    for name in SAMPLES {
        let r = report(name);
        let stem = name.trim_end_matches(".bin");
        for lang in Lang::ALL {
            insta::assert_snapshot!(format!("{stem}.{lang}.html"), html::render(&r, lang));
        }
    }
}

#[test]
fn the_page_is_self_contained() {
    for name in SAMPLES {
        for lang in Lang::ALL {
            let page = html::render(&report(name), lang);
            let lower = page.to_lowercase();
            for forbidden in [
                "<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "=\"http", "='http", "=\"//",
            ] {
                // (A URL quoted from the image, such as an updater's
                // download address, is text: escaped, never fetched.)
                // The SVG namespace is an identifier, never fetched.
                let hits = lower
                    .match_indices(forbidden)
                    .filter(|(at, _)| {
                        !lower[*at..]
                            .trim_start_matches(['=', '"', '\''])
                            .starts_with("http://www.w3.org/2000/svg")
                    })
                    .count();
                assert_eq!(hits, 0, "{name} {lang}: `{forbidden}` in the page");
            }
            assert!(page.contains("Content-Security-Policy"), "{name}");
            assert!(page.contains(&format!("<html lang=\"{}\">", lang.as_str())));
        }
    }
}

#[test]
fn every_finding_has_an_anchor_and_every_clause_link_resolves() {
    let r = report("camera-default-root.bin");
    let page = html::render(&r, Lang::En);
    for f in &r.findings {
        assert!(page.contains(&format!("id=\"f-{}\"", f.fingerprint)), "{}", f.id);
        // Its evidence, location and file hash are on the page.
        assert!(page.contains(&html::esc(&f.evidence)), "{}", f.id);
        assert!(page.contains(&html::esc(&f.container.to_string())), "{}", f.id);
        if let Some(h) = &f.sha256 {
            assert!(page.contains(h.as_str()), "{}", f.id);
        }
    }
    let cited: Vec<&String> = r.requirements.iter().flat_map(|q| &q.findings).collect();
    assert!(!cited.is_empty());
    for fp in cited {
        assert!(page.contains(&format!("href=\"#f-{fp}\"")), "{fp}");
    }
    // The shadow finding names its file and line.
    let shadow = r.findings.iter().find(|f| f.id == "FW-CRED-002").expect("FW-CRED-002");
    assert_eq!((shadow.path.as_str(), shadow.line), ("/etc/shadow", Some(1)));
    assert!(page.contains("<code>/etc/shadow:1</code>"), "location shown");
}

#[test]
fn text_from_the_image_is_escaped() {
    let mut r = report("camera-default-root.bin");
    let f = r.findings.first_mut().expect("the sample has findings");
    f.path = "/www/<script>alert(1)</script>.cgi".into();
    f.evidence = "password \"x\" & <b>bold</b> 'q'".into();
    r.image.name = "<img src=x onerror=alert(1)>.bin".into();
    let page = html::render(&r, Lang::En);
    assert!(!page.contains("<script>alert"), "path escaped");
    assert!(!page.contains("<img"), "image name escaped");
    assert!(!page.contains("<b>bold"), "evidence escaped");
    assert!(page.contains("/www/&lt;script&gt;alert(1)&lt;/script&gt;.cgi"));
    assert!(page.contains("password &quot;x&quot; &amp; &lt;b&gt;bold&lt;/b&gt; &#39;q&#39;"));
}

#[test]
fn chinese_page_uses_the_chinese_titles() {
    let r = report("camera-default-root.bin");
    let page = html::render(&r, Lang::ZhCn);
    let st = r.standards.first().expect("a standard");
    assert!(page.contains(&html::esc(&st.title_zh)), "{}", st.title_zh);
    let shadow = r.findings.iter().find(|f| f.id == "FW-CRED-002").expect("FW-CRED-002");
    assert!(!shadow.title_zh.is_empty());
    assert!(page.contains(&html::esc(&shadow.title_zh)));
    assert!(page.contains("不通过"), "the outcome in Chinese");
}

/// A Chromium binary: `FWCERT_CHROMIUM`, else `chromium`,
/// `chromium-browser` or `google-chrome` on the PATH.
fn chromium() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("FWCERT_CHROMIUM") {
        Some(p) => vec![PathBuf::from(p)],
        None => ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .map(PathBuf::from)
            .collect(),
    };
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Runs headless Chromium on `page` with `args`; returns its standard
/// output and the console messages it logged (`…:CONSOLE…` lines on
/// standard error with `--enable-logging=stderr`).
fn headless(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> (String, Vec<String>) {
    let out = Command::new(browser)
        .args([
            "--headless",
            // Tests run as root in CI containers, where the sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// How many pixels of the screenshot have exactly this colour.
fn pixels_of(png_path: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).expect("screenshot written"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    buf[..info.buffer_size()]
        .chunks_exact(step)
        .filter(|p| p[..3] == rgb)
        .count()
}

#[test]
fn a_headless_browser_loads_the_page_and_shows_the_verdict() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium (`apt-get install chromium`, or set FWCERT_CHROMIUM)");
        return;
    };
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let profile = tempfile::tempdir().expect("temp dir");

    // The console check works: a page that breaks its own policy logs.
    let bad = out_dir.join("fwcert-html-negative-control.html");
    std::fs::write(
        &bad,
        "<html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head><body><img src=\"http://example.invalid/x.png\"></body></html>",
    )
    .expect("write");
    let (_, console) = headless(&browser, profile.path(), &bad, &["--dump-dom"]);
    assert!(!console.is_empty(), "a blocked fetch is logged to the console");

    // (sample, status word, banner colour from the page's style)
    for (name, word, colour) in [
        ("camera-default-root.bin", "FAIL", [0xb3, 0x26, 0x1e]),
        ("camera-hardened.bin", "PASS", [0x1e, 0x7a, 0x34]),
    ] {
        for lang in Lang::ALL {
            let r = report(name);
            let stem = format!("fwcert-html-{}-{lang}", name.trim_end_matches(".bin"));
            let page = out_dir.join(format!("{stem}.html"));
            std::fs::write(&page, html::render(&r, lang)).expect("write the page");
            let (dom, console) = headless(&browser, profile.path(), &page, &["--dump-dom"]);
            assert!(console.is_empty(), "{stem}: console messages: {console:#?}");
            let shown = lang.strings().status(r.outcome.status);
            if lang == Lang::En {
                assert_eq!(shown, word);
            }
            assert!(
                dom.contains(&format!("<span class=\"word\" id=\"verdict\">{shown}</span>")),
                "{stem}: the verdict is in the rendered page"
            );
            let shot = out_dir.join(format!("{stem}.png"));
            let _ = std::fs::remove_file(&shot);
            let (_, console) = headless(
                &browser,
                profile.path(),
                &page,
                &[&format!("--screenshot={}", shot.display()), "--window-size=1200,900"],
            );
            assert!(console.is_empty(), "{stem}: console messages: {console:#?}");
            // The outcome banner is painted in the verdict's colour, large
            // enough to see on the first screen (over 1000×40 pixels).
            let painted = pixels_of(&shot, colour);
            assert!(painted > 40_000, "{stem}: {painted} pixels of the verdict colour");
            eprintln!("screenshot for review: {}", shot.display());
        }
    }
}
