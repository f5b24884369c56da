//! What kubectl needs beyond kube: Table answers and the OpenAPI v3 parameter check.

use serde_json::json;

use crate::support::{get, raw, start};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test]
async fn get_as_table_prints_like_kubectl() {
    let (sim, client) = start().await;
    let t = raw(
        &client,
        "GET",
        "/api/v1/namespaces",
        None,
        &[("accept", TABLE)],
    )
    .await
    .json();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Status", "Age"]);
    let row = &t["rows"][0];
    assert_eq!(row["cells"][1], "Active");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert!(t["metadata"]["resourceVersion"].is_string());

    raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&json!({"metadata": {"name": "t"}, "data": {"a": "b"}})),
        &[],
    )
    .await;
    let one = raw(
        &client,
        "GET",
        "/api/v1/namespaces/default/configmaps/t?includeObject=Object",
        None,
        &[("accept", TABLE)],
    )
    .await
    .json();
    assert_eq!(one["rows"][0]["cells"][1], 1);
    assert_eq!(one["rows"][0]["object"]["kind"], "ConfigMap");
    sim.shutdown().await;
}

#[tokio::test]
async fn openapi_v3_advertises_field_validation() {
    let (sim, client) = start().await;
    let root = get(&client, "/openapi/v3").await.json();
    let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = get(&client, &url).await.json();
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "Deployment"
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert_eq!(get(&client, "/openapi/v3/apis/nope/v1").await.status, 404);
    sim.shutdown().await;
}
