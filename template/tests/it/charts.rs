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
        match (
            berth_template::helm::coalesce_values(&chart, &support::as_helm_json(user)),
            spec["coalesced"].get("values"),
        ) {
            (Ok(ours), Some(theirs)) if ours == support::as_helm_json(theirs) => {}
            (Err(e), None)
                if spec["coalesced"]["error"].as_str() == Some(e.to_string().as_str()) => {}
            (ours, _) => failures.push(format!(
                "{variant}: coalesced values differ\n helm: {}\nberth: {ours:?}",
                spec["coalesced"]
            )),
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

#[test]
fn umbrella_chart_with_subcharts_matches_helm() {
    check_chart("umbrella");
}
