//! `berth template` renders exactly what real Helm renders: golden files in
//! tests/golden/expected come from Helm v4 itself (tests/golden/regen.py,
//! checked against live Helm by scripts/test.sh).

use std::path::PathBuf;

use crate::common::{berth_raw, path};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn template_output_matches_helm_for_every_golden_case() {
    let cases: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/golden/cases.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let values = dir.path().join(format!("{name}.json"));
        // JSON is YAML: the values reach the chart as Helm's -f would pass them.
        std::fs::write(&values, case["values"].to_string()).unwrap();
        let mut args = vec![
            "template".to_string(),
            case["release"].as_str().unwrap().to_string(),
            path(&root().join(case["chart"].as_str().unwrap())),
            "-n".into(),
            case["namespace"].as_str().unwrap().to_string(),
            "-f".into(),
            path(&values),
        ];
        if case["no_hooks"].as_bool() == Some(true) {
            args.push("--no-hooks".into());
        }
        let out = berth_raw(&args).await;
        let want =
            std::fs::read_to_string(root().join(format!("tests/golden/expected/{name}.yaml")))
                .unwrap();
        if out.code != 0 {
            failures.push(format!("{name}: exit {}: {}", out.code, out.stderr));
        } else if out.stdout != want {
            let first = out
                .stdout
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(out.stdout.lines().count().min(want.lines().count()));
            failures.push(format!(
                "{name}: first difference at line {}:\n  berth: {:?}\n  helm:  {:?}",
                first + 1,
                out.stdout.lines().nth(first),
                want.lines().nth(first)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn template_without_a_name_uses_release_name() {
    let out = berth_raw(&["template".into(), path(&root().join("cli/src/demo/chart"))])
        .await
        .ok();
    assert!(
        out.stdout.contains("name: release-name-hello"),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn template_refuses_a_missing_chart_in_one_line() {
    let out = berth_raw(&["template".into(), "x".into(), "/nonexistent/chart".into()])
        .await
        .failed();
    assert!(out.stderr.contains("/nonexistent/chart"), "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1);
}
