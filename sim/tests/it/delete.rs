//! Deletion: finalizers, propagation policies, garbage collection, namespace termination
//! (SIM_SPEC §2.7, checks O13–O15).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{eventually, get, raw, start, start_manual};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}})
}

async fn count(client: &kube::Client, path: &str) -> usize {
    get(client, path).await.json()["items"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

#[tokio::test]
async fn finalizers_hold_deletion_o13() {
    let (sim, client) = start().await;
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "f", "finalizers": ["x/y"]}})),
        &[],
    )
    .await;
    let r = raw(&client, "DELETE", &format!("{CMS}/f"), None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["metadata"]["deletionTimestamp"].is_string());
    let still = get(&client, &format!("{CMS}/f")).await;
    assert_eq!(still.status, 200);
    // New finalizers are refused once deleting.
    let add = raw(
        &client,
        "PATCH",
        &format!("{CMS}/f"),
        Some(&json!({"metadata": {"finalizers": ["x/y", "x/z"]}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    assert_eq!(add.status, 422);
    let r = raw(
        &client,
        "PATCH",
        &format!("{CMS}/f"),
        Some(&json!({"metadata": {"finalizers": null}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&client, &format!("{CMS}/f")).await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents_o14() {
    crate::support::init();
    // Pods take 2s to terminate, so the wait is visible.
    let mut timings = berth_sim::Profile::Fast.timings();
    timings.pod_termination = Duration::from_secs(2);
    let sim = berth_sim::Simulator::builder()
        .clock(berth_sim::Clock::Manual)
        .timings(timings)
        .start()
        .await
        .unwrap();
    let client = crate::support::client(&sim).await;
    raw(&client, "POST", DEPLOYS, Some(&deployment("fg", 2)), &[]).await;
    sim.clock().advance(Duration::from_secs(2)).await;
    assert_eq!(count(&client, "/api/v1/namespaces/default/pods").await, 2);
    let r = raw(
        &client,
        "DELETE",
        &format!("{DEPLOYS}/fg"),
        Some(&json!({"propagationPolicy": "Foreground"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    sim.settle().await;
    // Pods terminate gracefully; the Deployment waits for them.
    let d = get(&client, &format!("{DEPLOYS}/fg")).await;
    assert_eq!(d.status, 200);
    assert_eq!(
        count(&client, "/api/v1/namespaces/default/pods").await,
        2,
        "terminating"
    );
    sim.clock().advance(Duration::from_secs(3)).await;
    assert_eq!(count(&client, "/api/v1/namespaces/default/pods").await, 0);
    assert_eq!(
        count(&client, "/apis/apps/v1/namespaces/default/replicasets").await,
        0
    );
    assert_eq!(get(&client, &format!("{DEPLOYS}/fg")).await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn background_deletion_collects_dependents() {
    let (sim, client) = start().await;
    raw(&client, "POST", DEPLOYS, Some(&deployment("bg", 2)), &[]).await;
    eventually(5, || async {
        (count(&client, "/api/v1/namespaces/default/pods").await == 2).then_some(())
    })
    .await;
    let r = raw(&client, "DELETE", &format!("{DEPLOYS}/bg"), None, &[]).await;
    assert_eq!(r.json()["kind"], "Status");
    eventually(5, || async {
        (count(&client, "/api/v1/namespaces/default/pods").await == 0
            && count(&client, "/apis/apps/v1/namespaces/default/replicasets").await == 0)
            .then_some(())
    })
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn job_delete_orphans_pods_with_a_warning_o15() {
    let (sim, client) = start_manual().await;
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"metadata": {"annotations": {"kubesim.invalid/run-duration": "1h"}},
                              "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1"}]}}}});
    raw(
        &client,
        "POST",
        "/apis/batch/v1/namespaces/default/jobs",
        Some(&job),
        &[],
    )
    .await;
    sim.clock().advance(Duration::from_secs(1)).await;
    let r = raw(
        &client,
        "DELETE",
        "/apis/batch/v1/namespaces/default/jobs/j",
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let warning = r.headers["warning"].to_str().unwrap().to_string();
    assert!(
        warning.contains("child pods are preserved by default"),
        "{warning}"
    );
    sim.clock().advance(Duration::from_secs(1)).await;
    assert_eq!(
        get(&client, "/apis/batch/v1/namespaces/default/jobs/j")
            .await
            .status,
        404
    );
    let pods = get(&client, "/api/v1/namespaces/default/pods").await.json();
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(
        items[0]["metadata"].get("ownerReferences").is_none(),
        "{}",
        items[0]["metadata"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn terminating_namespace_refuses_content_then_disappears() {
    let (sim, client) = start_manual().await;
    raw(
        &client,
        "POST",
        "/api/v1/namespaces",
        Some(&json!({"metadata": {"name": "gone"}})),
        &[],
    )
    .await;
    sim.settle().await;
    assert_eq!(
        get(&client, "/api/v1/namespaces/gone/serviceaccounts/default")
            .await
            .status,
        200
    );
    raw(
        &client,
        "POST",
        "/api/v1/namespaces/gone/configmaps",
        Some(&json!({"metadata": {"name": "c", "finalizers": ["x/y"]}})),
        &[],
    )
    .await;
    let r = raw(&client, "DELETE", "/api/v1/namespaces/gone", None, &[]).await;
    assert_eq!(r.json()["status"]["phase"], "Terminating");
    let refused = raw(
        &client,
        "POST",
        "/api/v1/namespaces/gone/configmaps",
        Some(&json!({"metadata": {"name": "d"}})),
        &[],
    )
    .await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.json()["message"]
            .as_str()
            .unwrap()
            .contains("because it is being terminated")
    );
    sim.clock().advance(Duration::from_secs(1)).await;
    assert_eq!(
        get(&client, "/api/v1/namespaces/gone").await.status,
        200,
        "a finalizer holds the content"
    );
    raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/gone/configmaps/c",
        Some(&json!({"metadata": {"finalizers": null}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    sim.clock().advance(Duration::from_secs(1)).await;
    assert_eq!(get(&client, "/api/v1/namespaces/gone").await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn orphaned_replicasets_are_adopted_by_a_recreated_deployment() {
    let (sim, client) = start_manual().await;
    raw(&client, "POST", DEPLOYS, Some(&deployment("adopt", 2)), &[]).await;
    sim.clock().advance(Duration::from_secs(2)).await;
    let r = raw(
        &client,
        "DELETE",
        &format!("{DEPLOYS}/adopt"),
        Some(&json!({"propagationPolicy": "Orphan"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    sim.settle().await;
    assert_eq!(get(&client, &format!("{DEPLOYS}/adopt")).await.status, 404);
    let rs = get(&client, "/apis/apps/v1/namespaces/default/replicasets")
        .await
        .json();
    assert_eq!(rs["items"].as_array().unwrap().len(), 1);
    assert!(rs["items"][0]["metadata"].get("ownerReferences").is_none());
    let pods_before: Vec<Value> =
        get(&client, "/api/v1/namespaces/default/pods").await.json()["items"]
            .as_array()
            .unwrap()
            .clone();

    raw(&client, "POST", DEPLOYS, Some(&deployment("adopt", 2)), &[]).await;
    sim.clock().advance(Duration::from_secs(2)).await;
    let rs = get(&client, "/apis/apps/v1/namespaces/default/replicasets")
        .await
        .json();
    assert_eq!(
        rs["items"].as_array().unwrap().len(),
        1,
        "adopted, not duplicated"
    );
    assert_eq!(
        rs["items"][0]["metadata"]["ownerReferences"][0]["kind"],
        "Deployment"
    );
    let pods_after: Vec<Value> =
        get(&client, "/api/v1/namespaces/default/pods").await.json()["items"]
            .as_array()
            .unwrap()
            .clone();
    let names = |p: &[Value]| {
        p.iter()
            .map(|x| x["metadata"]["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&pods_before),
        names(&pods_after),
        "the pods kept running"
    );
    let d = get(&client, &format!("{DEPLOYS}/adopt")).await.json();
    assert_eq!(d["status"]["availableReplicas"], 2);
    sim.shutdown().await;
}
