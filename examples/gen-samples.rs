//! Write the bundled sample images to `samples/` (or the directory given).
fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "samples".into());
    std::fs::create_dir_all(&dir)?;
    for (name, bytes, answer) in fwcert::samples::all() {
        let path = std::path::Path::new(&dir).join(name);
        std::fs::write(&path, bytes)?;
        println!("{}  — {answer}", path.display());
    }
    Ok(())
}
