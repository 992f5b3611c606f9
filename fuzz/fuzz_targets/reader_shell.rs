#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fwcert::inventory::boot::shell::parse(&String::from_utf8_lossy(data));
});
