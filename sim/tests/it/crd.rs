//! CRDs and custom resources (SIM_SPEC §1 CRDs, check D8, A10's 415).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::discovery::Discovery;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::{Value, json};

use crate::support::{get, raw, start, start_manual};

pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                 "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}}},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}},
                {"name": "v1beta1", "served": true, "storage": false,
                 "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
            ],
        },
    })
}

const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

#[tokio::test]
async fn crd_appears_in_discovery_once_established_d8() {
    let (sim, client) = start_manual().await;
    let r = raw(&client, "POST", CRDS, Some(&widget_crd()), &[]).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        get(&client, "/apis/example.com/v1").await.status,
        404,
        "not before Established"
    );
    sim.settle().await;
    let list = get(&client, "/apis/example.com/v1").await;
    assert_eq!(list.status, 200);
    assert!(
        list.json()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "widgets")
    );
    let group = get(&client, "/apis/example.com").await.json();
    assert_eq!(group["preferredVersion"]["version"], "v1");
    let crd = get(&client, &format!("{CRDS}/widgets.example.com"))
        .await
        .json();
    let conds = crd["status"]["conditions"].as_array().unwrap();
    assert!(conds.iter().any(|c| c["type"] == "Established"
        && c["status"] == "True"
        && c["reason"] == "InitialNamesAccepted"));
    assert_eq!(crd["status"]["acceptedNames"]["listKind"], "WidgetList");
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_crd_is_422() {
    let (sim, client) = start().await;
    let mut bad = widget_crd();
    bad["metadata"]["name"] = json!("wrong.example.com");
    assert_eq!(
        raw(&client, "POST", CRDS, Some(&bad), &[]).await.status,
        422
    );
    let mut bad = widget_crd();
    bad["spec"]["versions"][1]["storage"] = json!(true);
    assert_eq!(
        raw(&client, "POST", CRDS, Some(&bad), &[]).await.status,
        422
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn custom_resources_through_kube() {
    let (sim, client) = start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(widget_crd()).unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        await_condition(
            crds.clone(),
            "widgets.example.com",
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();

    let discovery = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .unwrap();
    let (ar, _) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("example.com", "v1", "Widget"))
        .expect("in discovery");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"},
                   "spec": {"size": 3, "unknown": "pruned"}});
    let created = api
        .patch("w1", &PatchParams::apply("berth"), &Patch::Apply(&w))
        .await
        .unwrap();
    assert_eq!(created.data["spec"]["size"], 3);
    assert!(
        created.data["spec"].get("unknown").is_none(),
        "pruned by the schema"
    );
    assert_eq!(created.metadata.generation, Some(1));

    // The same object at the other served version.
    let beta = ApiResource::from_gvk(&GroupVersionKind::gvk("example.com", "v1beta1", "Widget"));
    let beta_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &beta);
    let again = beta_api.get("w1").await.unwrap();
    assert_eq!(again.types.unwrap().api_version, "example.com/v1beta1");

    // Strategic merge patch is refused for custom resources.
    let r = raw(
        &client,
        "PATCH",
        "/apis/example.com/v1/namespaces/default/widgets/w1",
        Some(&json!({"spec": {"size": 4}})),
        &[("content-type", "application/strategic-merge-patch+json")],
    )
    .await;
    assert_eq!(r.status, 415);

    // Deleting the CRD deletes its resources, then the CRD; the group leaves discovery.
    crds.delete("widgets.example.com", &Default::default())
        .await
        .unwrap();
    crate::support::eventually(5, || async {
        (get(&client, &format!("{CRDS}/widgets.example.com"))
            .await
            .status
            == 404)
            .then_some(())
    })
    .await;
    assert_eq!(get(&client, "/apis/example.com/v1").await.status, 404);
    sim.shutdown().await;
}
