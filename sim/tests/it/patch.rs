//! Patch types and dry run (SIM_SPEC §3 "Other patch types", checks A8, A10).

use serde_json::json;

use crate::support::{get, raw, start};

const CM: &str = "/api/v1/namespaces/default/configmaps/p";
const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn merge_json_and_strategic_patches_a10() {
    let (sim, client) = start().await;
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "p"}, "data": {"k": "v", "j": "w"}})),
        &[],
    )
    .await;
    let r = raw(
        &client,
        "PATCH",
        CM,
        Some(&json!({"data": {"k": null}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.json()["data"].get("k").is_none());

    let ops = json!([{"op": "test", "path": "/data/j", "value": "w"}, {"op": "replace", "path": "/data/j", "value": "x"}]);
    let r = raw(
        &client,
        "PATCH",
        CM,
        Some(&ops),
        &[("content-type", "application/json-patch+json")],
    )
    .await;
    assert_eq!(r.json()["data"]["j"], "x");
    let failing = json!([{"op": "test", "path": "/data/j", "value": "nope"}]);
    let r = raw(
        &client,
        "PATCH",
        CM,
        Some(&failing),
        &[("content-type", "application/json-patch+json")],
    )
    .await;
    assert_eq!(r.status, 422);

    let r = raw(
        &client,
        "PATCH",
        CM,
        Some(&json!({})),
        &[("content-type", "text/plain")],
    )
    .await;
    assert_eq!(r.status, 415);
    let r = raw(
        &client,
        "PATCH",
        &format!("{CMS}/missing"),
        Some(&json!({})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    assert_eq!(r.status, 404);

    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "s"},
        "spec": {"selector": {"matchLabels": {"app": "s"}}, "template": {"metadata": {"labels": {"app": "s"}},
        "spec": {"containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]}}}});
    raw(
        &client,
        "POST",
        "/apis/apps/v1/namespaces/default/deployments",
        Some(&d),
        &[],
    )
    .await;
    let smp =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "b:2"}]}}}});
    let r = raw(
        &client,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/s",
        Some(&smp),
        &[("content-type", "application/strategic-merge-patch+json")],
    )
    .await;
    let cs = r.json()["spec"]["template"]["spec"]["containers"].clone();
    assert_eq!(cs[0]["image"], "a:1");
    assert_eq!(cs[1]["image"], "b:2");
    sim.shutdown().await;
}

#[tokio::test]
async fn dry_run_changes_nothing_a8() {
    let (sim, client) = start().await;
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"k": "v"}});
    let r = raw(
        &client,
        "PATCH",
        &format!("{CM}?fieldManager=a&dryRun=All"),
        Some(&body),
        &[("content-type", "application/apply-patch+yaml")],
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["data"]["k"], "v");
    assert_eq!(get(&client, CM).await.status, 404);

    let r = raw(
        &client,
        "POST",
        &format!("{CMS}?dryRun=All"),
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(r.status, 201);
    assert!(r.json()["metadata"].get("resourceVersion").is_none());
    assert_eq!(get(&client, CM).await.status, 404);

    let created = raw(&client, "POST", CMS, Some(&body), &[]).await.json();
    let rv = created["metadata"]["resourceVersion"].clone();
    let mut changed = body.clone();
    changed["data"]["k"] = json!("w");
    let r = raw(
        &client,
        "PUT",
        &format!("{CM}?dryRun=All"),
        Some(&changed),
        &[],
    )
    .await;
    assert_eq!(r.json()["data"]["k"], "w");
    let after = get(&client, CM).await.json();
    assert_eq!(after["data"]["k"], "v");
    assert_eq!(after["metadata"]["resourceVersion"], rv);
    let r = raw(&client, "DELETE", &format!("{CM}?dryRun=All"), None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&client, CM).await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn yaml_bodies_and_metadata_only_answers() {
    let (sim, client) = start().await;
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  mode: \"0644\"\n";
    let req = http::Request::patch("/api/v1/namespaces/default/configmaps/y?fieldManager=yaml")
        .header("content-type", "application/apply-patch+yaml")
        .body(kube::client::Body::from(yaml.as_bytes().to_vec()))
        .unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.status(), 201);
    let two = "a: 1\n---\nb: 2\n";
    let req = http::Request::patch("/api/v1/namespaces/default/configmaps/y?fieldManager=yaml")
        .header("content-type", "application/apply-patch+yaml")
        .body(kube::client::Body::from(two.as_bytes().to_vec()))
        .unwrap();
    assert_eq!(client.send(req).await.unwrap().status(), 400);

    let accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let m = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/y",
        None,
        &[("accept", accept)],
    )
    .await
    .json();
    assert_eq!(m["kind"], "PartialObjectMetadata");
    assert!(m.get("data").is_none());
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    let metas = api.list_metadata(&Default::default()).await.unwrap();
    assert!(
        metas
            .items
            .iter()
            .any(|i| i.metadata.name.as_deref() == Some("y"))
    );
    sim.shutdown().await;
}
