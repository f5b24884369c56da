//! Whole charts rendered by real Helm (`tests/golden/charts/*.json`).

use serde_json::Value as J;

use crate::support::{self, Outcome};

fn check_chart(name: &str) {
    let dir = support::golden_dir().join("charts");
    let chart = support::load_chart(&dir.join(name));
    let golden: J = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("golden"),
    )
    .expect("json");
    let mut failures = Vec::new();
    for (variant, spec) in golden.as_object().expect("variants") {
        let user = &spec["values"];
        let coalesced = berth_template::helm::coalesce_values(&chart, &support::as_helm_json(user))
            .expect("coalesce");
        if coalesced != support::as_helm_json(&spec["coalesced"]) {
            failures.push(format!(
                "{variant}: coalesced values differ\n helm: {}\nberth: {}",
                spec["coalesced"], coalesced
            ));
        }
        let want = Outcome::from_expected(&spec["expected"]);
        let got = support::render(
            &chart,
            user,
            &berth_template::helm::RenderOptions::new(support::release()),
        );
        if want != got {
            failures.push(support::describe_mismatch(variant, &want, &got));
        }
    }
    assert!(
        failures.is_empty(),
        "chart {name}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn scaffold_chart_matches_helm() {
    check_chart("scaffold");
}
