//! Snapshots of the library's views that are not reports: `fwcert unpack`'s
//! listing and `fwcert rules list / explain / profiles`.

use fwcert::Rules;
use fwcert::report::{listing, rules_view};
use fwcert::unpack::{UnpackOptions, unpack};

fn sample(name: &str) -> Vec<u8> {
    fwcert::samples::named(name).expect("sample exists")
}

#[test]
fn unpack_listing_of_the_samples() {
    for name in ["camera-default-root.bin", "camera-hardened.bin"] {
        let u = unpack(sample(name).into(), name, &UnpackOptions::default());
        insta::assert_snapshot!(format!("unpack-{name}"), listing::unpack_listing(&u));
    }
}

#[test]
fn unpack_listing_names_what_could_not_be_unpacked() {
    let full = sample("camera-default-root.bin");
    let cut = full[..full.len() / 2].to_vec();
    let u = unpack(cut.into(), "cut.bin", &UnpackOptions::default());
    insta::assert_snapshot!("unpack-truncated", listing::unpack_listing(&u));
}

#[test]
fn rules_list_explain_and_profiles() {
    let rules = Rules::embedded().unwrap();
    insta::assert_snapshot!("rules-list", rules_view::list(&rules));
    insta::assert_snapshot!(
        "rules-explain-FW-CRED-002",
        rules_view::explain(&rules, "FW-CRED-002").unwrap()
    );
    insta::assert_snapshot!("rules-profiles", rules_view::profiles(&rules));
    assert_eq!(rules_view::explain(&rules, "FW-NOPE-001"), None);
}

#[test]
fn rules_explain_says_a_preview_rule_decides_no_verdict() {
    let rules = Rules::embedded().unwrap();
    for r in rules.checks.rules.values() {
        let text = rules_view::explain(&rules, &r.id).unwrap();
        let preview = r.status == fwcert::checks::rule::RuleStatus::Preview;
        assert_eq!(text.contains("decide no verdict"), preview, "{}", r.id);
    }
}
