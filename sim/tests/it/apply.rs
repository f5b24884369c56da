//! Server-side apply and managedFields (SIM_SPEC §3, checks A1–A7, A9).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::support::{get, raw, start};

const CM: &str = "/api/v1/namespaces/default/configmaps/c";
const APPLY: [(&str, &str); 1] = [("content-type", "application/apply-patch+yaml")];

async fn apply(
    client: &kube::Client,
    path: &str,
    manager: &str,
    force: bool,
    body: &Value,
) -> crate::support::Raw {
    let q = if force { "&force=true" } else { "" };
    raw(
        client,
        "PATCH",
        &format!("{path}?fieldManager={manager}{q}"),
        Some(body),
        &APPLY,
    )
    .await
}

fn cm(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": data})
}

fn entry<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find(|e| e["manager"] == manager)
}

#[tokio::test]
async fn apply_create_noop_and_required_manager_a1_a2_a3() {
    let (sim, client) = start().await;
    let r = apply(&client, CM, "a", false, &cm(json!({"k": "v"}))).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let obj = r.json();
    let mf = &obj["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "a");
    assert_eq!(mf["operation"], "Apply");
    assert_eq!(mf["fieldsType"], "FieldsV1");
    assert!(mf["fieldsV1"]["f:data"]["f:k"].is_object());
    let rv = obj["metadata"]["resourceVersion"].clone();

    let r = apply(&client, CM, "a", false, &cm(json!({"k": "v"}))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["resourceVersion"], rv);

    let r = raw(&client, "PATCH", CM, Some(&cm(json!({"k": "v"}))), &APPLY).await;
    assert_eq!(r.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn conflicts_force_and_removal_a4_a5_a6() {
    let (sim, client) = start().await;
    apply(&client, CM, "a", false, &cm(json!({"k": "v", "k2": "x"}))).await;

    let r = apply(&client, CM, "b", false, &cm(json!({"k": "other"}))).await;
    assert_eq!(r.status, 409);
    let s = r.json();
    assert_eq!(s["reason"], "Conflict");
    assert_eq!(s["details"]["causes"][0]["reason"], "FieldManagerConflict");
    assert_eq!(s["details"]["causes"][0]["field"], ".data.k");
    let msg = s["message"].as_str().unwrap();
    assert!(msg.starts_with("Apply failed with 1 conflict"), "{msg}");
    assert_eq!(
        msg,
        "Apply failed with 1 conflict: conflict with \"a\": .data.k"
    );

    let r = apply(&client, CM, "b", true, &cm(json!({"k": "other"}))).await;
    assert_eq!(r.status, 200);
    let obj = r.json();
    assert_eq!(obj["data"]["k"], "other");
    assert!(
        entry(&obj, "a").unwrap()["fieldsV1"]["f:data"]
            .get("f:k")
            .is_none()
    );
    assert!(entry(&obj, "b").unwrap()["fieldsV1"]["f:data"]["f:k"].is_object());

    // a stops applying k2: removed, since nobody else owns it.
    let obj = apply(&client, CM, "a", false, &cm(json!({}))).await.json();
    assert!(obj["data"].get("k2").is_none(), "{obj}");
    assert_eq!(obj["data"]["k"], "other");

    // Shared ownership: both apply k3 with the same value; a dropping it only disowns it.
    apply(&client, CM, "a", false, &cm(json!({"k3": "s"}))).await;
    apply(
        &client,
        CM,
        "b",
        false,
        &cm(json!({"k": "other", "k3": "s"})),
    )
    .await;
    let obj = apply(&client, CM, "a", false, &cm(json!({}))).await.json();
    assert_eq!(obj["data"]["k3"], "s");
    sim.shutdown().await;
}

#[tokio::test]
async fn apply_merges_keyed_lists_a7() {
    let (sim, client) = start().await;
    let path = "/apis/apps/v1/namespaces/default/deployments/web";
    let full = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                {"name": "c1", "image": "one:1"}, {"name": "c2", "image": "two:1"}]}},
        },
    });
    assert_eq!(apply(&client, path, "a", false, &full).await.status, 201);
    let partial = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "c2", "image": "two:2"}]}}},
    });
    let r = apply(&client, path, "b", false, &partial).await;
    assert_eq!(r.status, 409, "a owns c2's image: {}", r.text);
    assert_eq!(
        r.json()["details"]["causes"][0]["field"],
        ".spec.template.spec.containers[name=\"c2\"].image"
    );
    let obj = apply(&client, path, "b", true, &partial).await.json();
    let cs = obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(cs[0]["image"], "one:1");
    assert_eq!(cs[1]["image"], "two:2");
    let b = entry(&obj, "b").unwrap();
    assert!(b["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c2\"}"]["f:image"].is_object());
    sim.shutdown().await;
}

#[tokio::test]
async fn apply_rejects_managed_fields_and_wrong_version_a9() {
    let (sim, client) = start().await;
    let mut body = cm(json!({"k": "v"}));
    body["metadata"]["managedFields"] = json!([{"manager": "x"}]);
    let r = apply(&client, CM, "a", false, &body).await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("metadata.managedFields must be nil")
    );

    let mut body = cm(json!({}));
    body["apiVersion"] = json!("v2");
    assert_eq!(apply(&client, CM, "a", false, &body).await.status, 400);
    assert_eq!(get(&client, CM).await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn kube_apply_round_trip() {
    let (sim, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let obj = cm(json!({"k": "v"}));
    let pp = PatchParams::apply("berth").force();
    let first = api.patch("c", &pp, &Patch::Apply(&obj)).await.unwrap();
    let again = api.patch("c", &pp, &Patch::Apply(&obj)).await.unwrap();
    assert_eq!(
        first.metadata.resource_version,
        again.metadata.resource_version
    );

    let other = PatchParams::apply("other");
    let err = api
        .patch("c", &other, &Patch::Apply(&cm(json!({"k": "x"}))))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert!(s.is_conflict(), "{s:?}");
        }
        e => panic!("unexpected {e:?}"),
    }

    // A Deployment applied without defaults gets them, unowned.
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
    });
    let created = deploys.patch("web", &pp, &Patch::Apply(&d)).await.unwrap();
    assert_eq!(created.spec.as_ref().unwrap().replicas, Some(1));
    let scaled = deploys
        .patch(
            "web",
            &PatchParams::apply("hpa"),
            &Patch::Apply(
                &json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(3));
    sim.shutdown().await;
}

/// Helm renders 1000000 from values.yaml as `1e+06`. A server-side apply
/// reads it through an unstructured object, whose conversion takes a whole
/// float for an integer field (apimachinery's FromUnstructured), and stores
/// the integer; a create decodes the JSON into the type and refuses it, as
/// Go's decoder does.
#[tokio::test]
async fn apply_takes_a_whole_float_for_an_integer_field() {
    let (sim, client) = start().await;
    let path = "/apis/scheduling.k8s.io/v1/priorityclasses";
    let pc = |name: &str, value: Value| {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
               "metadata": {"name": name}, "value": value})
    };
    let r = apply(
        &client,
        &format!("{path}/a"),
        "helm",
        true,
        &pc("a", json!(1e6)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json());
    assert_eq!(r.json()["value"], json!(1_000_000));
    let r = apply(
        &client,
        &format!("{path}/b"),
        "helm",
        true,
        &pc("b", json!(1.5)),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.json());
    let r = raw(&client, "POST", path, Some(&pc("c", json!(1e6))), &[]).await;
    assert_eq!(r.status, 400, "{}", r.json());
    sim.shutdown().await;
}
