//! Template snippets rendered by real Helm (`tests/golden/cases/*.json`):
//! berth must produce the same files, or the same error message.

use berth_template::helm::{Capabilities, Chart, File, RenderOptions};
use serde_json::Value as J;

use crate::support::{self, Outcome};

/// The case's chart, or Helm's loader error for a values.yaml it cannot read.
fn chart_for(case: &J) -> Result<Chart, String> {
    let values = case.get("chart_values").and_then(J::as_str).unwrap_or("");
    if let Err(e) = berth_template::yaml::parse_values(values) {
        return Err(format!("cannot load values.yaml: {e}"));
    }
    let mut files = vec![
        File {
            name: "Chart.yaml".into(),
            data: case
                .get("chart_yaml")
                .and_then(J::as_str)
                .unwrap_or("apiVersion: v2\nname: mychart\nversion: 0.1.0\nappVersion: \"1.0\"\n")
                .as_bytes()
                .to_vec()
                .into(),
        },
        File {
            name: "values.yaml".into(),
            data: values.as_bytes().to_vec().into(),
        },
        File {
            name: "templates/t.yaml".into(),
            data: case["template"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec()
                .into(),
        },
    ];
    for (key, prefix) in [("extra", "templates/"), ("files", "")] {
        if let Some(m) = case.get(key).and_then(J::as_object) {
            for (path, text) in m {
                files.push(File {
                    name: format!("{prefix}{path}"),
                    data: text.as_str().unwrap_or_default().as_bytes().to_vec().into(),
                });
            }
        }
    }
    if let Some(m) = case.get("binary_files").and_then(J::as_object) {
        for (path, data) in m {
            files.push(File {
                name: path.clone(),
                data: hex::decode(data.as_str().unwrap_or_default())
                    .expect("hex")
                    .into(),
            });
        }
    }
    Ok(support::chart_from_files(files))
}

fn options(case: &J) -> RenderOptions<'static> {
    let mut opts = RenderOptions::new(support::release());
    let Some(o) = case.get("opts") else {
        return opts;
    };
    if let Some(v) = o.get("kube_version").and_then(J::as_str) {
        opts.capabilities.kube_version = v.to_string();
    }
    if let Some(extra) = o.get("api_versions").and_then(J::as_array) {
        let mut caps = Capabilities::default();
        caps.api_versions
            .extend(extra.iter().filter_map(J::as_str).map(String::from));
        opts.capabilities.api_versions = caps.api_versions;
    }
    opts.strict = o.get("strict").and_then(J::as_bool).unwrap_or(false);
    if let Some(n) = o.get("name").and_then(J::as_str) {
        opts.release.name = n.into();
    }
    if let Some(n) = o.get("namespace").and_then(J::as_str) {
        opts.release.namespace = n.into();
    }
    if let Some(r) = o.get("revision").and_then(J::as_u64) {
        opts.release.revision = r;
    }
    // Like the golden script: the flags are independent, is_install
    // defaults to true.
    if let Some(b) = o.get("is_upgrade").and_then(J::as_bool) {
        opts.release.is_upgrade = b;
    }
    if let Some(b) = o.get("is_install").and_then(J::as_bool) {
        opts.release.is_install = b;
    }
    opts
}

/// Runs every case of a group; returns the failures.
fn run_group(group: &str) -> (usize, Vec<String>) {
    let path = support::golden_dir()
        .join("cases")
        .join(format!("{group}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cases: Vec<J> = serde_json::from_str(&text).expect("golden json");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let want = Outcome::from_expected(&case["expected"]);
        let (got, warnings) = match chart_for(case) {
            Ok(chart) => support::render(
                &chart,
                case.get("values").unwrap_or(&J::Null),
                &options(case),
            ),
            Err(e) => (Outcome::Error(e), Vec::new()),
        };
        let want_warnings = support::expected_warnings(&case["expected"]);
        if warnings != want_warnings {
            failures.push(format!(
                "case {name}: stderr differs\n--- helm ---\n{want_warnings:#?}\n--- berth ---\n{warnings:#?}"
            ));
        }
        if case.get("known_difference").is_some() {
            // A documented divergence: only the kind of outcome must agree.
            if std::mem::discriminant(&want) != std::mem::discriminant(&got) {
                failures.push(support::describe_mismatch(name, &want, &got));
            }
            continue;
        }
        if case.get("unordered").is_some() {
            // Go produced these lines in map order (random): compare them
            // as a multiset.
            let lines = |o: &Outcome| match o {
                Outcome::Error(e) => {
                    let mut l: Vec<String> = e.lines().map(String::from).collect();
                    l.sort();
                    Outcome::Error(l.join("\n"))
                }
                other => other.clone(),
            };
            if lines(&want) != lines(&got) {
                failures.push(support::describe_mismatch(name, &want, &got));
            }
            continue;
        }
        if want != got {
            failures.push(support::describe_mismatch(name, &want, &got));
        }
    }
    (cases.len(), failures)
}

fn check(group: &str) {
    let (n, failures) = run_group(group);
    assert!(
        failures.is_empty(),
        "{} of {n} {group} cases differ from Helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn core_template_language_matches_helm() {
    check("core");
}

#[test]
fn yaml_reading_and_writing_match_helm() {
    check("yaml");
}

#[test]
fn sprig_functions_match_helm() {
    check("sprig");
}

#[test]
fn go_fmt_printing_matches_helm() {
    check("fmt");
}

#[test]
fn schema_validation_matches_helm() {
    check("schema");
}

#[test]
fn toml_matches_helm() {
    check("toml");
}

#[test]
fn crypto_matches_helm() {
    check("crypto");
}

#[test]
fn errors_match_helm() {
    check("errors");
}

#[test]
fn semver_matches_helm() {
    check("semver");
}

#[test]
fn dates_match_helm() {
    check("dates");
}

#[test]
fn template_actions_match_helm() {
    check("actions");
}

#[test]
fn template_language_checklist_matches_helm() {
    check("language");
}

#[test]
fn number_literals_complex_ones_included_match_helm() {
    check("literals");
}

#[test]
fn sprig_strings_regex_encoding_and_random_shapes_match_helm() {
    check("strings");
}

#[test]
fn sprig_lists_dicts_and_json_match_helm() {
    check("collections");
}

#[test]
fn sprig_math_and_conversions_match_helm() {
    check("numbers");
}

#[test]
fn helm_functions_and_objects_match_helm() {
    check("helm");
}

#[test]
fn toyaml_bytes_and_values_yaml_match_helm() {
    check("toyaml");
}

#[test]
fn go_printing_of_values_matches_helm() {
    check("printing");
}

#[test]
fn shapes_from_public_charts_match_helm() {
    check("realcharts");
}

#[test]
fn byte_walking_unicode_tables_and_odd_counts_match_helm() {
    check("unicode");
}
