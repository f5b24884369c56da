//! berth drift: what changed in the cluster since the deployed revision,
//! found by server-side apply dry runs of that revision's manifest; exit 0
//! without drift, 2 with it; the agent's periodic check shows in `berth
//! status` and /metrics.

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::common::{Berthd, Env};
use crate::ops::{Metrics, http_get, http_listen_addr};

/// Change the Deployment's replicas and the ConfigMap's message the way an
/// operator would by hand: a merge patch under another field manager.
async fn edit_out_of_band(env: &Env) {
    let client = env.kube().await;
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), "default");
    let by_hand = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "hello",
            &by_hand,
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    let configmaps: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, "default");
    configmaps
        .patch(
            "hello",
            &by_hand,
            &Patch::Merge(json!({"data": {"message": "edited by hand"}})),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn drift_reports_objects_changed_out_of_band_and_nothing_right_after_install() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let clean = env.berth(&["drift", "hello"]).await.ok();
    assert_eq!(clean.stdout, "no drift: hello matches revision 1\n");

    edit_out_of_band(&env).await;
    let out = env.berth(&["drift", "hello"]).await;
    assert_eq!(out.code, 2, "drift exits 2: {out:?}");
    let o = &out.stdout;
    assert!(o.contains("default/Deployment/hello (changed)"), "{o}");
    assert!(
        o.contains("-  replicas: 5\n") && o.contains("+  replicas: 2\n"),
        "live 5 → deployed 2: {o}"
    );
    assert!(o.contains("default/ConfigMap/hello (changed)"), "{o}");
    assert!(o.contains("-  message: edited by hand\n"), "{o}");
    assert!(
        !o.contains("Service/hello"),
        "the Service did not drift: {o}"
    );
    assert!(
        out.stderr
            .contains("hello has drifted: 2 objects changed since revision 1"),
        "{}",
        out.stderr
    );

    let json = env.berth(&["drift", "hello", "-o", "json"]).await;
    assert_eq!(json.code, 2);
    let v = json.json();
    assert_eq!(v["drifted"], true);
    assert_eq!(v["revision"], 1);
    let mut kinds: Vec<_> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{}/{} {}", c["kind"], c["name"], c["change"]))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "\"ConfigMap\"/\"hello\" \"changed\"",
            "\"Deployment\"/\"hello\" \"changed\""
        ]
    );

    // A drift check changes nothing.
    let d = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 5);

    let status = env.berth(&["status", "hello"]).await.ok();
    assert!(
        status
            .stdout
            .contains("DRIFT: 2 objects changed since revision 1, checked at "),
        "{}",
        status.stdout
    );

    // Deleting an object is drift too; an upgrade restores the rest.
    let client = env.kube().await;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, "default");
    cms.delete("hello", &Default::default()).await.unwrap();
    let gone = env.berth(&["drift", "hello", "-o", "json"]).await;
    assert_eq!(gone.code, 2);
    assert!(
        gone.json()["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "ConfigMap" && c["change"] == "missing"),
        "{}",
        gone.stdout
    );
    env.berth(&["rollback", "hello", "1", "--wait"]).await.ok();
    env.berth(&["drift", "hello"]).await.ok();
}

#[tokio::test]
async fn drift_of_an_unknown_release_is_a_clear_error() {
    let env = Env::start().await;
    let out = env.berth(&["drift", "nope"]).await.failed();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("release: not found: nope"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn the_periodic_check_shows_drift_in_status_and_metrics() {
    let mut env = Env::without_agent().await;
    let agent = Berthd::spawn(
        &env,
        &["--drift-interval", "1s", "--http-listen", "127.0.0.1:0"],
    )
    .await;
    env.agent_url = agent.url.clone();
    let http = http_listen_addr(&agent).await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    edit_out_of_band(&env).await;

    // The agent checks on its own; wait for a check that saw the edit.
    let mut seen = None;
    for _ in 0..300 {
        let m = Metrics::parse(&http_get(http, "/metrics").await.1);
        if m.get("berth_drift_objects{namespace=\"default\",release=\"hello\"}") == Some(2.0) {
            seen = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let m = seen.expect("the periodic drift check reports 2 changed objects");
    assert!(m.value("berth_drift_checks_total") >= 1.0);
    let status = env
        .berth(&["status", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(status["drift"]["changed"], 2);
    assert_eq!(status["drift"]["revision"], 1);
}

/// A chart whose Secret holds `password` (and a key that stays the same).
fn secret_chart(dir: &std::path::Path, password: &str) -> String {
    crate::common::small_chart(
        &dir.join(password),
        "vault",
        &[(
            "secret.yaml",
            &format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  user: admin\n  password: {password}\n"
            ),
        )],
    )
}

#[tokio::test]
async fn diff_and_drift_mask_secrets_unless_asked_to_show_them() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (
        secret_chart(dir.path(), "hunter2"),
        secret_chart(dir.path(), "swordfish"),
    );
    env.berth(&["install", "vault", &first]).await.ok();
    // hunter2, swordfish and their base64 forms.
    let leaks = ["hunter2", "aHVudGVyMg", "swordfish", "c3dvcmRmaXNo"];
    let leaked = |text: &str| leaks.iter().any(|l| text.contains(l));

    // What an upgrade would change: which key, not what it holds.
    let out = env.berth(&["diff", "upgrade", "vault", &second]).await.ok();
    assert!(!leaked(&out.stdout), "{}", out.stdout);
    assert!(
        out.stdout.contains("-  password: '-------- # (7 bytes)'\n")
            && out.stdout.contains("+  password: '++++++++ # (9 bytes)'\n")
            && out.stdout.contains("   user: 'REDACTED # (5 bytes)'\n"),
        "{}",
        out.stdout
    );
    let shown = env
        .berth(&["diff", "upgrade", "vault", &second, "--show-secrets"])
        .await
        .ok();
    assert!(shown.stdout.contains("c3dvcmRmaXNo"), "{}", shown.stdout);

    // Between stored revisions.
    env.berth(&["upgrade", "vault", &second]).await.ok();
    let out = env
        .berth(&["diff", "revision", "vault", "1", "2"])
        .await
        .ok();
    assert!(!leaked(&out.stdout), "{}", out.stdout);
    assert!(
        out.stdout.contains("-  password: '-------- # (7 bytes)'\n"),
        "{}",
        out.stdout
    );
    let shown = env
        .berth(&["diff", "revision", "vault", "1", "2", "--show-secrets"])
        .await
        .ok();
    assert!(
        shown.stdout.contains("+  password: swordfish\n"),
        "{}",
        shown.stdout
    );

    // Changed in the cluster by hand.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(env.kube().await, "default");
    let by_hand = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    secrets
        .patch(
            "creds",
            &by_hand,
            &Patch::Merge(json!({"stringData": {"password": "hunter2"}})),
        )
        .await
        .unwrap();
    let out = env.berth(&["drift", "vault"]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(!leaked(&out.stdout), "{}", out.stdout);
    assert!(
        out.stdout.contains("password: '-------- # (7 bytes)'"),
        "{}",
        out.stdout
    );
    let out = env.berth(&["drift", "vault", "-o", "json"]).await;
    assert!(!leaked(&out.stdout), "{}", out.stdout);
    let shown = env.berth(&["drift", "vault", "--show-secrets"]).await;
    assert!(shown.stdout.contains("aHVudGVyMg=="), "{}", shown.stdout);
}
