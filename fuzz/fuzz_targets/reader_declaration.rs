#![no_main]
//! The manufacturer's declaration (`scan --declaration`): TOML from outside
//! fwcert, parsed and checked against the standards catalogue.
use std::sync::OnceLock;

static RULES: OnceLock<fwcert::Rules> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let rules = RULES.get_or_init(|| fwcert::Rules::embedded().expect("embedded rules load"));
    let text = String::from_utf8_lossy(data);
    let _ = fwcert::standards::Declaration::parse("fuzz.toml", &text, &rules.catalog);
});
