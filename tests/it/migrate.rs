//! Moving a release from Helm to berth and back. The Helm side is real
//! Helm v4 (helm-python-sdk, installed into .venv by scripts/test.sh)
//! driving the simulator through tests/helm/migrate.py: its release
//! Secrets are the ones Helm itself writes, and it reads back what
//! `berth export-helm` writes.

use std::path::PathBuf;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::{Value, json};

use crate::common::{Env, path, real_helm_python};

/// Run tests/helm/migrate.py with real Helm; its JSON answer.
async fn helm(args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/helm/migrate.py");
    let script = path(&script);
    let out = real_helm_python(&[&[script.as_str()][..], args].concat()).await;
    serde_json::from_slice(&out).expect("the script prints JSON")
}

/// Real Helm installs `legacy` in `default`, upgrades it twice (the first
/// to a new chart version) and fails a third upgrade: revisions 1-4, with
/// 3 deployed and 4 failed. Returns Helm's view and the chart directory.
async fn helm_history(env: &Env) -> (Vec<Value>, String) {
    let work = env.dir.path().join("helm");
    std::fs::create_dir_all(&work).unwrap();
    let made = helm(&[
        "make",
        &path(&env.kubeconfig),
        &path(&work),
        "default",
        "legacy",
    ])
    .await;
    let history = made["history"].as_array().unwrap().clone();
    let statuses: Vec<&str> = history
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed", "failed"]);
    (history, path(&work.join("legacy")))
}

async fn helm_read(env: &Env) -> Value {
    helm(&["read", &path(&env.kubeconfig), "default", "legacy"]).await
}

fn config(env: &Env, name: &str) -> impl std::future::Future<Output = Option<Value>> {
    env.get("v1", "ConfigMap", "default", name)
}

#[tokio::test]
async fn helm_history_is_imported_and_upgrades_continue_from_it() {
    let env = Env::start().await;
    let (helm_rows, chart) = helm_history(&env).await;

    let imported = env.berth(&["import", "legacy", "-o", "json"]).await.ok();
    let imported = imported.json();
    assert_eq!(imported["deployed_revision"], 3);
    assert_eq!(imported["revisions"].as_array().unwrap().len(), 4);

    // history: Helm's revisions, statuses, charts and descriptions.
    let history = env.berth(&["history", "legacy", "-o", "json"]).await.ok();
    let rows = history.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for (ours, theirs) in rows.iter().zip(&helm_rows) {
        for k in ["revision", "status", "chart", "app_version", "description"] {
            assert_eq!(ours[k], theirs[k], "{k} of revision {}", theirs["revision"]);
        }
        assert_eq!(ours["by"], "helm");
    }
    assert!(
        rows[3]["description"]
            .as_str()
            .unwrap()
            .contains("no-such-namespace"),
        "Helm's failure reason is kept: {}",
        rows[3]["description"]
    );
    // status: the newest revision, as `helm status` shows it.
    let status = env.berth(&["status", "legacy", "-o", "json"]).await.ok();
    assert_eq!(
        status.json()["info"]["status"],
        "failed",
        "{}",
        status.stdout
    );

    // get: each revision's exact manifest, values, notes and hooks.
    for theirs in &helm_rows {
        let rev = theirs["revision"].to_string();
        let manifest = env
            .berth(&["get", "manifest", "legacy", "--revision", &rev])
            .await
            .ok();
        assert_eq!(
            manifest.stdout.trim_end(),
            theirs["manifest"].as_str().unwrap().trim_end()
        );
        let values = env
            .berth(&["get", "values", "legacy", "--revision", &rev, "-o", "json"])
            .await
            .ok();
        assert_eq!(values.json(), theirs["values"], "values of revision {rev}");
        let notes = env
            .berth(&["get", "notes", "legacy", "--revision", &rev])
            .await
            .ok();
        assert!(
            notes
                .stdout
                .contains(theirs["notes"].as_str().unwrap().trim())
        );
        let hooks = env
            .berth(&["get", "hooks", "legacy", "--revision", &rev])
            .await
            .ok();
        assert!(
            hooks.stdout.contains("name: legacy-hook"),
            "{}",
            hooks.stdout
        );
    }
    // Computed values: the chart's defaults under the user's.
    let all = env
        .berth(&[
            "get",
            "values",
            "legacy",
            "--revision",
            "3",
            "-a",
            "-o",
            "json",
        ])
        .await
        .ok();
    assert_eq!(
        all.json(),
        json!({"message": "three", "namespaceOverride": ""})
    );

    // The next upgrade continues Helm's numbering from the deployed revision.
    env.berth(&["upgrade", "legacy", &chart, "--set", "message=five"])
        .await
        .ok();
    let rows = env
        .berth(&["history", "legacy", "-o", "json"])
        .await
        .ok()
        .json();
    let last = &rows.as_array().unwrap()[4];
    assert_eq!(
        (last["revision"].as_u64(), last["status"].as_str()),
        (Some(5), Some("deployed"))
    );
    assert_eq!(
        rows[2]["status"], "superseded",
        "Helm's deployed revision 3 is superseded"
    );
    let cm = config(&env, "legacy-config").await.unwrap();
    assert_eq!(cm["data"]["message"], "five");

    // Rollback to an imported revision re-applies Helm's manifest.
    env.berth(&["rollback", "legacy", "2"]).await.ok();
    let cm = config(&env, "legacy-config").await.unwrap();
    assert_eq!(cm["data"], json!({"message": "two", "chart": "0.2.0"}));

    // Helm's release labels came along, and a rollback keeps its target's.
    let meta = env
        .berth(&["get", "metadata", "legacy", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(meta["labels"], json!({"team": "legacy"}), "{meta}");
    assert_eq!(meta["chart"], "legacy");

    // Export: real Helm reads berth's deployed revision 6.
    let exported = env
        .berth(&["export-helm", "legacy", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(exported["secret"], "sh.helm.release.v1.legacy.v6");
    let secret = env
        .get("v1", "Secret", "default", "sh.helm.release.v1.legacy.v6")
        .await
        .unwrap();
    assert_eq!(secret["metadata"]["labels"]["team"], "legacy");
    assert_eq!(secret["metadata"]["labels"]["owner"], "helm");
    assert_eq!(exported["superseded_revisions"], json!([3]));
    let read = helm_read(&env).await;
    assert_eq!(
        read["list"],
        json!([{"name": "legacy", "revision": 6, "status": "deployed"}])
    );
    let rows = read["history"].as_array().unwrap();
    let statuses: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (1, "superseded"),
            (2, "superseded"),
            (3, "superseded"),
            (4, "failed"),
            (6, "deployed")
        ]
    );
    let six = &rows[4];
    let ours = env
        .berth(&["get", "manifest", "legacy", "--revision", "6"])
        .await
        .ok();
    assert_eq!(
        six["manifest"].as_str().unwrap().trim_end(),
        ours.stdout.trim_end()
    );
    assert_eq!(six["values"], json!({"message": "two"}));
    assert_eq!(six["chart"], "legacy-0.2.0");
    assert_eq!(six["description"], "Rollback to 2");
    assert_eq!(six["hooks"], json!(["legacy-hook"]));
    assert_eq!(six["notes"], "legacy says two\n");

    // And Helm can take the release back: its next upgrade is revision 7.
    let work = env.dir.path().join("helm");
    let up = helm(&[
        "upgrade",
        &path(&env.kubeconfig),
        &path(&work),
        "default",
        "legacy",
        "seven",
    ])
    .await;
    assert_eq!(up, json!({"revision": 7, "status": "deployed"}));
    let cm = config(&env, "legacy-config").await.unwrap();
    assert_eq!(cm["data"]["message"], "seven");
}

/// A Secret as Helm labels a release's, holding `data` (Helm's encoding or
/// not).
async fn corrupt_secret(env: &Env, name: &str, version: u64, data: &[u8]) {
    let api: Api<Secret> = Api::namespaced(env.kube().await, "default");
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {
            "name": format!("sh.helm.release.v1.{name}.v{version}"),
            "labels": {"owner": "helm", "name": name, "status": "deployed",
                       "version": version.to_string()},
        },
        "type": "helm.sh/release.v1",
        "data": {"release": ByteString(data.to_vec())},
    }))
    .unwrap();
    api.create(&PostParams::default(), &secret).await.unwrap();
}

#[tokio::test]
async fn import_refuses_what_it_cannot_take_and_changes_nothing() {
    let env = Env::start().await;

    let none = env.berth(&["import", "nothing"]).await.failed();
    assert!(
        none.stderr
            .contains("no Helm release \"nothing\" in namespace \"default\""),
        "{}",
        none.stderr
    );

    // One undecodable Secret among Helm's: refused, naming it; nothing kept.
    helm_history(&env).await;
    // gzip's magic, then garbage.
    corrupt_secret(&env, "legacy", 5, b"H4sIAAAAAAAA/wBhZA==").await;
    let bad = env.berth(&["import", "legacy"]).await.failed();
    assert!(
        bad.stderr
            .contains("Secret default/sh.helm.release.v1.legacy.v5 cannot be decoded"),
        "{}",
        bad.stderr
    );
    assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
    let history = env.berth(&["history", "legacy"]).await.failed();
    assert!(history.stderr.contains("not found"), "{}", history.stderr);

    corrupt_secret(&env, "plain", 1, b"not base64 at all!").await;
    let bad = env.berth(&["import", "plain"]).await.failed();
    assert!(
        bad.stderr.contains("sh.helm.release.v1.plain.v1") && bad.stderr.contains("not base64"),
        "{}",
        bad.stderr
    );

    // Without it the import goes through, once.
    let api: Api<Secret> = Api::namespaced(env.kube().await, "default");
    api.delete("sh.helm.release.v1.legacy.v5", &DeleteParams::default())
        .await
        .unwrap();
    env.berth(&["import", "legacy"]).await.ok();
    let again = env.berth(&["import", "legacy"]).await.failed();
    assert!(
        again
            .stderr
            .contains("release \"legacy\" already exists in berth's journal"),
        "{}",
        again.stderr
    );
    let rows = env
        .berth(&["history", "legacy", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(rows.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn import_refuses_a_release_past_its_limit_and_a_name_too_long_to_say() {
    let env = Env::start_with(|s| {
        s.limits.max_unpacked = 1 << 20;
        s.max_values = 1000;
    })
    .await;
    // A release that unpacks past berthd's limit (a Secret's gzip may
    // unpack a thousandfold) is refused without holding it all; a huge
    // name in a release is refused in a message short enough to arrive.
    let limit = 2 * (1 << 20) + 1000;
    let bomb = berth_agent::helm_release::encode(
        &json!({"name": "bomb", "version": 1, "manifest": "x".repeat(limit as usize + 1)}),
    );
    corrupt_secret(&env, "bomb", 1, &bomb).await;
    let bad = env.berth(&["import", "bomb"]).await.failed();
    assert!(
        bad.stderr
            .contains(&format!("its release unpacks to more than {limit} bytes")),
        "{}",
        bad.stderr
    );
    let long = berth_agent::helm_release::encode(
        &json!({"name": "n".repeat(100_000), "version": 1, "info": {"status": "deployed"}}),
    );
    corrupt_secret(&env, "long", 1, &long).await;
    let bad = env.berth(&["import", "long"]).await.failed();
    assert!(
        bad.stderr
            .contains("Secret default/sh.helm.release.v1.long.v1 cannot be decoded")
            && bad.stderr.contains("bytes in all)"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.len() < 5000, "{}", bad.stderr.len());
    for name in ["bomb", "long"] {
        let history = env.berth(&["history", name]).await.failed();
        assert!(history.stderr.contains("not found"), "{}", history.stderr);
    }
}

/// `berth test`'s runs go to Helm with the release (its hooks' last_run,
/// which Helm's status prints) and come back with an import.
#[tokio::test]
async fn test_runs_travel_with_export_and_import() {
    let env = Env::start().await;
    let chart =
        path(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/charts/scaffold"));
    env.berth(&["install", "web", &chart]).await.ok();
    // As Helm's test, the release with its notes, unless --hide-notes.
    let tested = env.berth(&["test", "web"]).await.ok().stdout;
    assert!(
        tested.contains("Phase:          Succeeded\nNOTES:\n1. Get the application URL"),
        "{tested}"
    );
    let tested = env
        .berth(&["test", "web", "--hide-notes"])
        .await
        .ok()
        .stdout;
    assert!(
        !tested.contains("NOTES:") && tested.contains("Phase:          Succeeded\n"),
        "{tested}"
    );
    env.berth(&["export-helm", "web"]).await.ok();
    let api: Api<Secret> = Api::namespaced(env.kube().await, "default");
    let secret = api.get("sh.helm.release.v1.web.v1").await.unwrap();
    let data = &secret.data.unwrap()["release"].0;
    let mut release = berth_agent::helm_release::decode(data, u64::MAX).unwrap();
    let hook = release["hooks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "web-scaffold-test-connection")
        .unwrap()
        .clone();
    assert_eq!(hook["last_run"]["phase"], "Succeeded", "{hook}");
    for at in ["started_at", "completed_at"] {
        assert!(
            hook["last_run"][at].as_str().unwrap().starts_with("20"),
            "{hook}"
        );
    }

    // The same release under another name, as Helm would hold it.
    release["name"] = json!("copy");
    corrupt_secret(
        &env,
        "copy",
        1,
        &berth_agent::helm_release::encode(&release),
    )
    .await;
    env.berth(&["import", "copy"]).await.ok();
    let status = env.berth(&["status", "copy"]).await.ok().stdout;
    let started = status
        .split_once("TEST SUITE:     web-scaffold-test-connection\nLast Started:   ")
        .and_then(|(_, rest)| rest.lines().next())
        .unwrap_or_default();
    assert!(crate::common::is_ansic(started), "{status}");
    assert!(status.contains("Phase:          Succeeded\n"), "{status}");
}
