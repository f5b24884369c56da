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
            berth_template::helm::coalesce_values(
                &chart,
                &support::as_helm_json(user),
                &mut Vec::new(),
            ),
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
        let (got, warnings) = support::render(
            &chart,
            user,
            &berth_template::helm::RenderOptions::new(support::release()),
        );
        if want != got {
            failures.push(support::describe_mismatch(variant, &want, &got));
        }
        let want_warnings = support::expected_warnings(&spec["expected"]);
        if warnings != want_warnings {
            failures.push(format!(
                "{variant}: stderr differs\n--- helm ---\n{want_warnings:#?}\n--- berth ---\n{warnings:#?}"
            ));
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

#[test]
fn library_style_chart_matches_helm() {
    check_chart("appstack");
}

/// Every warning Helm logs while it merges values (tables over scalars and
/// back, globals that are not tables, non-bool conditions and tags, missing
/// import-values tables), with the same text, once per coalescing pass.
#[test]
fn value_conflicts_warn_like_helm() {
    check_chart("conflicts");
    check_install("conflicts");
}

/// Helm v4's `releaseutil.SplitManifests`: documents of a rendered file,
/// leading whitespace trimmed, trailing whitespace kept (but for the final
/// newlines, which the manifest's layout hides).
fn split_manifests(text: &str) -> Vec<String> {
    // Go's `\s` is ASCII-only.
    let sep = regex::Regex::new(r"(?:^|[\t\n\x0C\r ]*\n)---[\t\n\x0C\r ]*").expect("regex");
    sep.split(text.trim_start())
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_start().trim_end_matches('\n').to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

/// The (source, document) pairs of an install manifest, hooks excluded,
/// in a stable order: what `helm install --dry-run` would apply.
fn manifest_docs(manifest: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = manifest
        .split("---\n# Source: ")
        .filter(|b| !b.is_empty())
        .map(|b| {
            let (source, doc) = b.split_once('\n').unwrap_or((b, ""));
            (source.to_string(), doc.trim_end_matches('\n').to_string())
        })
        .collect();
    out.sort();
    out
}

/// Renders like Helm's install action: dependencies processed, values
/// coalesced, NOTES taken from the root chart, hooks set aside.
fn install_like_helm(
    chart: &berth_template::helm::Chart,
    user: &J,
) -> Result<(Vec<(String, String)>, String), String> {
    use berth_template::helm;
    let user = support::as_helm_json(user);
    let mut log = Vec::new();
    let processed =
        helm::process_dependencies(chart, &user, &mut log).map_err(|e| e.to_string())?;
    let values = helm::coalesce_values(&processed, &user, &mut log).map_err(|e| e.to_string())?;
    let rendered = helm::render(
        &processed,
        &values,
        &helm::RenderOptions::new(support::release()),
    )
    .map_err(|e| e.to_string())?;
    let notes_key = format!("{}/templates/NOTES.txt", processed.name());
    let notes = rendered.get(&notes_key).cloned().unwrap_or_default();
    let mut docs = Vec::new();
    for (name, text) in &rendered {
        if name.ends_with("NOTES.txt") {
            continue;
        }
        for doc in split_manifests(text) {
            if !doc.contains("helm.sh/hook") {
                docs.push((name.clone(), doc));
            }
        }
    }
    docs.sort();
    Ok((docs, notes))
}

fn check_install(name: &str) {
    let dir = support::golden_dir().join("charts");
    let chart = support::load_chart(&dir.join(name));
    let golden: J = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("golden"),
    )
    .expect("json");
    let mut failures = Vec::new();
    for (variant, spec) in golden.as_object().expect("variants") {
        let want = &spec["install"];
        let got = install_like_helm(&chart, &spec["values"]);
        match (want.get("manifest").and_then(J::as_str), got) {
            (Some(manifest), Ok((docs, notes))) => {
                let want_docs = manifest_docs(manifest);
                if want_docs != docs {
                    failures.push(format!("{variant}: manifest differs\n--- helm ---\n{want_docs:#?}\n--- berth ---\n{docs:#?}"));
                }
                if want["notes"].as_str() != Some(notes.as_str()) {
                    failures.push(format!(
                        "{variant}: notes differ: helm {:?} berth {notes:?}",
                        want["notes"]
                    ));
                }
            }
            (None, Err(e)) if want["error"].as_str().is_some_and(|w| w.contains(&e)) => {}
            (_, got) => failures.push(format!("{variant}: helm {want} berth {got:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "chart {name} install:\n{}",
        failures.join("\n")
    );
}

/// Fixtures for one chart-format behaviour each (see their Chart.yaml).
const FORMAT_FIXTURES: [&str; 11] = [
    "legacy",
    "packed",
    "gates",
    "imports",
    "nulls",
    "globals",
    "notes",
    "libuser",
    "deps",
    "importshare",
    "depsnone",
];

#[test]
fn chart_format_fixtures_render_like_helm() {
    for name in FORMAT_FIXTURES {
        check_chart(name);
    }
}

#[test]
fn chart_format_fixtures_install_like_helm() {
    for name in FORMAT_FIXTURES {
        check_install(name);
    }
}

#[test]
fn charts_install_like_helm() {
    check_install("scaffold");
    check_install("umbrella");
    check_install("appstack");
}
