//! Builds `data/vulndb/vulndb.sqlite`, the vulnerability store embedded in
//! fwcert, from the repository's public data: the seed facts in
//! `checks/components/*.toml` and the NVD records in `data/vulndb/nvd/`.
//! Run from the repository root: `cargo run --example build-vulndb`.
//! The result is byte-for-byte reproducible (a test checks it).

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = fwcert::vulndb::build_from_repository(root)?;
    let out = root.join("data/vulndb/vulndb.sqlite");
    let tmp = root.join("data/vulndb/vulndb.sqlite.new");
    let _ = std::fs::remove_file(&tmp);
    fwcert::vulndb::write(&data, &tmp)?;
    fwcert::vulndb::read(&tmp)?;
    std::fs::rename(&tmp, &out)?;
    let s = fwcert::vulndb::status(&data);
    println!(
        "{}: {} CVEs ({} in KEV) of {} components, {} end-of-life branches; snapshot {}, KEV {}",
        out.display(),
        s.cves,
        s.kev,
        s.components,
        s.branches,
        s.snapshot,
        s.kev_catalog
    );
    Ok(())
}
