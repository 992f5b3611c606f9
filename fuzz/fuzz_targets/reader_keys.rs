#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = fwcert::inventory::keys::pem::scan(data);
    let _ = fwcert::inventory::keys::x509::parse(data);
    let _ = fwcert::inventory::keys::pkcs::rsa_private(data);
});
