//! Write the rule reference, `docs/rules/<family>.md` and its index, from
//! the rule files under `checks/` (a test fails when they are stale).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use fwcert::report::rules_view;
    let rules = fwcert::Rules::embedded()?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs")
        .join("rules");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("README.md"), rules_view::index_page(&rules))?;
    for family in rules_view::families(&rules) {
        let path = dir.join(format!("{family}.md"));
        std::fs::write(&path, rules_view::family_page(&rules, &family))?;
        println!("{}", path.display());
    }
    Ok(())
}
