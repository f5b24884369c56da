//! Discovery (SIM_SPEC §1, checks D1–D7).

use std::collections::BTreeSet;

use kube::discovery::{self, Discovery, Scope};
use serde_json::Value;

use crate::support::{get, raw, start};

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

#[tokio::test]
async fn version_and_legacy_documents_d1_to_d4() {
    let (sim, client) = start().await;
    let v = get(&client, "/version").await.json();
    assert_eq!(v["major"], "1");
    assert_eq!(v["minor"], "35");
    assert!(v["gitVersion"].is_string());

    let api = get(&client, "/api").await.json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], serde_json::json!(["v1"]));

    let apis = get(&client, "/apis").await.json();
    for g in apis["groups"].as_array().unwrap() {
        let versions = g["versions"].as_array().unwrap();
        assert!(!versions.is_empty(), "{g}");
        assert!(g["preferredVersion"].is_object());
        for v in versions {
            let path = format!("/apis/{}", v["groupVersion"].as_str().unwrap());
            assert_eq!(get(&client, &path).await.status, 200, "{path}");
        }
    }

    let apps = get(&client, "/apis/apps/v1").await.json();
    let res = apps["resources"].as_array().unwrap();
    let d = res.iter().find(|r| r["name"] == "deployments").unwrap();
    assert_eq!(d["namespaced"], true);
    assert_eq!(d["kind"], "Deployment");
    assert_eq!(d["singularName"], "deployment");
    assert_eq!(d["shortNames"], serde_json::json!(["deploy"]));
    let verbs: BTreeSet<&str> = d["verbs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in [
        "create", "get", "list", "watch", "patch", "update", "delete",
    ] {
        assert!(verbs.contains(v));
    }
    assert!(res.iter().any(|r| r["name"] == "deployments/status"));
    sim.shutdown().await;
}

#[tokio::test]
async fn aggregated_documents_d5_d6() {
    let (sim, client) = start().await;
    let r = raw(&client, "GET", "/apis", None, &[("accept", AGGREGATED)]).await;
    let ct = r.headers["content-type"].to_str().unwrap().to_string();
    assert!(ct.contains("as=APIGroupDiscoveryList"), "{ct}");
    let doc = r.json();
    let apps = doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == "apps")
        .unwrap();
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "deployments")
        .unwrap();
    assert_eq!(deploy["scope"], "Namespaced");

    let core = raw(&client, "GET", "/api", None, &[("accept", AGGREGATED)])
        .await
        .json();
    let items = core["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let pods = items[0]["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "pods")
        .unwrap();
    assert_eq!(pods["responseKind"]["kind"], "Pod");
    sim.shutdown().await;
}

fn summary(d: &Discovery) -> BTreeSet<(String, String, String, String, bool)> {
    let mut out = BTreeSet::new();
    for g in d.groups() {
        for v in g.versions() {
            for (ar, caps) in g.versioned_resources(v) {
                out.insert((
                    ar.group,
                    ar.version,
                    ar.kind,
                    ar.plural,
                    caps.scope == Scope::Namespaced,
                ));
            }
        }
    }
    out
}

#[tokio::test]
async fn both_discovery_paths_agree_d7() {
    let (sim, client) = start().await;
    let legacy = Discovery::new(client.clone())
        .run()
        .await
        .expect("legacy discovery");
    let aggregated = Discovery::new(client.clone())
        .run_aggregated()
        .await
        .expect("aggregated discovery");
    let (a, b) = (summary(&legacy), summary(&aggregated));
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(a, b);

    let gvk = kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment");
    let (ar, caps) = discovery::pinned_kind(&client, &gvk)
        .await
        .expect("pinned kind");
    assert_eq!(ar.plural, "deployments");
    assert_eq!(caps.scope, Scope::Namespaced);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_are_status_404() {
    let (sim, client) = start().await;
    for path in [
        "/apis/nope/v1",
        "/apis/apps/v1/widgets",
        "/api/v1/namespaces/default/nodes",
        "/foo",
    ] {
        let r = get(&client, path).await;
        assert_eq!(r.status, 404, "{path}");
        let s: Value = r.json();
        assert_eq!(s["kind"], "Status");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(
            s["message"],
            "the server could not find the requested resource"
        );
    }
    sim.shutdown().await;
}
