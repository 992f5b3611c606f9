#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fwcert_fuzz::format("dm-verity", data));
