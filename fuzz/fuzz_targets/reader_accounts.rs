#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = fwcert::inventory::accounts::parse_passwd("/etc/passwd", &text);
    let _ = fwcert::inventory::accounts::parse_shadow("/etc/shadow", &text);
    let _ = fwcert::inventory::accounts::parse_user_hash("/etc/htpasswd", &text, true);
    let _ = fwcert::inventory::accounts::scan_records("/bin/x", data);
});
