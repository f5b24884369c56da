//! Object semantics through raw HTTP and the kube client (SIM_SPEC §2, checks O1–O12).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

use crate::support::{get, raw, start};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn deployment(name: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
        },
    })
}

#[tokio::test]
async fn create_get_conflicts_o1_to_o4() {
    let (sim, client) = start().await;
    let body = json!({"metadata": {"name": "a"}, "data": {"k": "v"}});
    let r = raw(&client, "POST", CMS, Some(&body), &[]).await;
    assert_eq!(r.status, 201);
    let cm = r.json();
    assert!(cm["metadata"]["uid"].is_string());
    assert!(cm["metadata"]["creationTimestamp"].is_string());
    let rv = cm["metadata"]["resourceVersion"].as_str().unwrap();
    assert!(rv.parse::<u64>().unwrap() > 0);
    assert!(cm["metadata"].get("generation").is_none());
    assert_eq!(cm["kind"], "ConfigMap");

    let r = raw(&client, "POST", CMS, Some(&body), &[]).await;
    assert_eq!(r.status, 409);
    let s = r.json();
    assert_eq!(s["reason"], "AlreadyExists");
    assert_eq!(s["details"]["kind"], "configmaps");
    assert_eq!(s["status"], "Failure");
    assert_eq!(s["message"], "configmaps \"a\" already exists");

    let r = get(&client, &format!("{CMS}/missing")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["reason"], "NotFound");
    assert_eq!(r.json()["message"], "configmaps \"missing\" not found");

    let r = raw(
        &client,
        "POST",
        "/api/v1/namespaces/nope/configmaps",
        Some(&body),
        &[],
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "namespaces \"nope\" not found");
    assert_eq!(r.json()["details"]["kind"], "namespaces");

    // kube's get_opt relies on reason NotFound.
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    assert!(api.get_opt("missing").await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn put_preconditions_and_noops_o5_o6() {
    let (sim, client) = start().await;
    let body = json!({"metadata": {"name": "b"}, "data": {"k": "v"}});
    let cm = raw(&client, "POST", CMS, Some(&body), &[]).await.json();
    let rv = cm["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let mut same = cm.clone();
    let r = raw(&client, "PUT", &format!("{CMS}/b"), Some(&same), &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["metadata"]["resourceVersion"],
        rv.as_str(),
        "a noop PUT keeps the RV"
    );

    same["data"]["k"] = json!("w");
    let r = raw(&client, "PUT", &format!("{CMS}/b"), Some(&same), &[]).await;
    assert_eq!(r.status, 200);
    assert_ne!(r.json()["metadata"]["resourceVersion"], rv.as_str());

    // Same stale RV again: conflict.
    let r = raw(&client, "PUT", &format!("{CMS}/b"), Some(&same), &[]).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.json()["reason"], "Conflict");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("the object has been modified")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_and_generation_o7_o8_o9() {
    let (sim, client) = start().await;
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let mut bad = deployment("bad", json!({}));
    bad["spec"].as_object_mut().unwrap().remove("selector");
    let r = raw(&client, "POST", path, Some(&bad), &[]).await;
    assert_eq!(r.status, 422);
    let s = r.json();
    assert_eq!(s["reason"], "Invalid");
    assert_eq!(s["details"]["causes"][0]["field"], "spec.selector");
    assert_eq!(s["details"]["kind"], "Deployment");

    let d = raw(
        &client,
        "POST",
        path,
        Some(&deployment("web", json!({"a": "1"}))),
        &[],
    )
    .await
    .json();
    assert_eq!(d["metadata"]["generation"], 1);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let merge = [("content-type", "application/merge-patch+json")];
    let url = format!("{path}/web");
    let d = raw(
        &client,
        "PATCH",
        &url,
        Some(&json!({"metadata": {"labels": {"a": "2"}}})),
        &merge,
    )
    .await
    .json();
    assert_eq!(
        d["metadata"]["generation"], 1,
        "a label change keeps the generation"
    );
    let d = raw(
        &client,
        "PATCH",
        &url,
        Some(&json!({"spec": {"replicas": 2}})),
        &merge,
    )
    .await
    .json();
    assert_eq!(d["metadata"]["generation"], 2);
    let d = raw(
        &client,
        "PATCH",
        &url,
        Some(&json!({"metadata": {"annotations": {"x": "y"}}})),
        &merge,
    )
    .await
    .json();
    assert_eq!(d["metadata"]["generation"], 3);

    let r = raw(
        &client,
        "PATCH",
        &format!("{url}/status"),
        Some(&json!({"spec": {"replicas": 9}, "status": {"observedGeneration": 77}})),
        &merge,
    )
    .await;
    assert_eq!(r.status, 200);
    let d = r.json();
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(d["status"]["observedGeneration"], 77);
    assert_eq!(d["metadata"]["generation"], 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn lists_selectors_and_pages_o10_o11() {
    let (sim, client) = start().await;
    for (name, app) in [("x1", "a"), ("x2", "b"), ("x3", "c")] {
        let body = json!({"metadata": {"name": name, "labels": {"app": app}}});
        assert_eq!(
            raw(&client, "POST", CMS, Some(&body), &[]).await.status,
            201
        );
    }
    let body = json!({"metadata": {"name": "x4", "labels": {"app": "a", "x": "1"}}});
    raw(&client, "POST", CMS, Some(&body), &[]).await;
    let l = get(
        &client,
        &format!("{CMS}?labelSelector=app%20in%20(a%2Cb)%2C!x"),
    )
    .await
    .json();
    let names: Vec<&str> = l["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["x1", "x2"]);
    assert!(l["items"][0].get("kind").is_none());
    assert!(l["metadata"]["resourceVersion"].is_string());
    assert_eq!(l["kind"], "ConfigMapList");

    let first = get(&client, &format!("{CMS}?labelSelector=app&limit=1"))
        .await
        .json();
    let list_rv = first["metadata"]["resourceVersion"].clone();
    let mut token = first["metadata"]["continue"].as_str().unwrap().to_string();
    let mut seen = vec![first["items"][0]["metadata"]["name"].clone()];
    // A change between pages does not show up: pages come from one snapshot.
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "x0", "labels": {"app": "z"}}})),
        &[],
    )
    .await;
    loop {
        let page = get(
            &client,
            &format!("{CMS}?labelSelector=app&limit=1&continue={token}"),
        )
        .await
        .json();
        assert_eq!(page["metadata"]["resourceVersion"], list_rv);
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].clone()),
        );
        match page["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }
    assert_eq!(seen, [json!("x1"), json!("x2"), json!("x3"), json!("x4")]);
    assert_eq!(
        get(&client, &format!("{CMS}?limit=1&continue=garbage"))
            .await
            .status,
        400
    );

    assert_eq!(
        get(&client, &format!("{CMS}?fieldSelector=spec.foo%3Dx"))
            .await
            .status,
        400
    );
    let one = get(&client, &format!("{CMS}?fieldSelector=metadata.name%3Dx2"))
        .await
        .json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_returns_status_o12() {
    let (sim, client) = start().await;
    let cm = raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "d"}})),
        &[],
    )
    .await
    .json();
    let r = raw(&client, "DELETE", &format!("{CMS}/d"), None, &[]).await;
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["status"], "Success");
    assert_eq!(s["details"]["name"], "d");
    assert_eq!(s["details"]["kind"], "configmaps");
    assert_eq!(s["details"]["uid"], cm["metadata"]["uid"]);
    assert_eq!(get(&client, &format!("{CMS}/d")).await.status, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn typed_crud_through_kube() {
    let (sim, client) = start().await;
    let ns: Api<Namespace> = Api::all(client.clone());
    let names: Vec<String> = ns
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|n| n.metadata.name.unwrap())
        .collect();
    for want in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }
    let team: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    let created = ns.create(&PostParams::default(), &team).await.unwrap();
    assert_eq!(created.status.unwrap().phase.as_deref(), Some("Active"));

    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "team");
    let d: Deployment = serde_json::from_value(deployment("api", json!({"tier": "be"}))).unwrap();
    deploys.create(&PostParams::default(), &d).await.unwrap();
    let got = deploys.get("api").await.unwrap();
    assert_eq!(got.spec.unwrap().replicas, Some(1));
    let listed = deploys
        .list(&ListParams::default().labels("tier=be"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    deploys
        .delete("api", &DeleteParams::default())
        .await
        .unwrap();
    assert!(deploys.get_opt("api").await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn generate_name_scale_and_deletecollection() {
    let (sim, client) = start().await;
    let made = raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"generateName": "gen-", "labels": {"batch": "1"}}})),
        &[],
    )
    .await;
    assert_eq!(made.status, 201);
    let name = made.json()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "other", "labels": {"batch": "1"}}})),
        &[],
    )
    .await;
    let with_rv = raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "rv", "resourceVersion": "5"}})),
        &[],
    )
    .await;
    assert!(
        with_rv
            .text
            .contains("resourceVersion should not be set on objects to be created")
    );

    let gone = raw(
        &client,
        "DELETE",
        &format!("{CMS}?labelSelector=batch%3D1"),
        None,
        &[],
    )
    .await;
    assert_eq!(gone.status, 200);
    assert_eq!(gone.json()["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        get(&client, &format!("{CMS}?labelSelector=batch%3D1"))
            .await
            .json()["items"],
        json!([])
    );

    let path = "/apis/apps/v1/namespaces/default/deployments";
    raw(
        &client,
        "POST",
        path,
        Some(&deployment("sc", json!({}))),
        &[],
    )
    .await;
    let scale = get(&client, &format!("{path}/sc/scale")).await.json();
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(scale["status"]["selector"], "app=sc");
    let r = raw(
        &client,
        "PATCH",
        &format!("{path}/sc/scale"),
        Some(&json!({"spec": {"replicas": 4}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    assert_eq!(r.json()["spec"]["replicas"], 4);
    let d = get(&client, &format!("{path}/sc")).await.json();
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["generation"], 2);

    // A patch that replaces the whole object with a non-object is refused, not a crash.
    let r = raw(
        &client,
        "PATCH",
        &format!("{path}/sc"),
        Some(&json!([{"op": "replace", "path": "", "value": 5}])),
        &[("content-type", "application/json-patch+json")],
    )
    .await;
    assert!(r.status == 400 || r.status == 422, "{}", r.status);

    // Updates without fieldManager are attributed to the User-Agent prefix.
    let r = raw(
        &client,
        "PATCH",
        &format!("{path}/sc"),
        Some(&json!({"metadata": {"labels": {"ua": "1"}}})),
        &[
            ("content-type", "application/merge-patch+json"),
            ("user-agent", "helm/v4.0.0 (linux)"),
        ],
    )
    .await;
    let managers: Vec<String> = r.json()["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap().to_string())
        .collect();
    assert!(managers.contains(&"helm".to_string()), "{managers:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_fields_warn_or_fail_like_a_real_server() {
    let (sim, client) = start().await;
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let mut d = deployment("typo", json!({}));
    d["spec"]["replicaz"] = json!(2);
    let r = raw(
        &client,
        "POST",
        &format!("{path}?fieldValidation=Strict"),
        Some(&d),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "strict decoding error: unknown field \"spec.replicaz\""
    );
    let r = raw(&client, "POST", path, Some(&d), &[]).await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.headers["warning"],
        "299 - \"unknown field \\\"spec.replicaz\\\"\""
    );
    assert!(r.json()["spec"].get("replicaz").is_none());
    let mut wrong = deployment("wrong", json!({}));
    wrong["spec"]["replicas"] = json!("two");
    assert_eq!(
        raw(&client, "POST", path, Some(&wrong), &[]).await.status,
        400
    );
    sim.shutdown().await;
}

/// Names are checked per kind as kube-apiserver checks them: RBAC objects
/// take any path segment (`system:metrics-server`, upper case), the rest a
/// DNS subdomain (Services a DNS-1035 label, Namespaces a DNS label).
#[tokio::test]
async fn names_are_validated_per_kind() {
    let (sim, client) = start().await;
    let roles = "/apis/rbac.authorization.k8s.io/v1/clusterroles";
    let role = |name: &str| json!({"metadata": {"name": name}, "rules": []});
    for name in ["system:metrics-server", "otel-ta-clusterRole"] {
        let r = raw(&client, "POST", roles, Some(&role(name)), &[]).await;
        assert_eq!(r.status, 201, "{name}: {}", r.json());
    }
    let r = raw(&client, "POST", roles, Some(&role("a/b%c")), &[]).await;
    assert_eq!(r.status, 422);
    let causes = &r.json()["details"]["causes"];
    assert_eq!(
        causes[0]["message"],
        "Invalid value: \"a/b%c\": may not contain '/'"
    );
    assert_eq!(
        causes[1]["message"],
        "Invalid value: \"a/b%c\": may not contain '%'"
    );
    let r = raw(&client, "POST", roles, Some(&role("..")), &[]).await;
    assert_eq!(
        r.json()["details"]["causes"][0]["message"],
        "Invalid value: \"..\": may not be '..'"
    );

    let body = json!({"metadata": {"name": "system:cm"}});
    let r = raw(&client, "POST", CMS, Some(&body), &[]).await;
    assert_eq!(r.status, 422, "a ConfigMap's name is a DNS subdomain");
    sim.shutdown().await;
}

/// A `null` is read as Go reads it into the typed object: the zero value of
/// the field (a label or ConfigMap entry `""`, a struct field absent), not
/// refused. Charts render nulls wherever a value is left empty
/// (`version: {{ .Chart.AppVersion }}` without an appVersion).
#[tokio::test]
async fn nulls_are_read_as_go_reads_them() {
    let (sim, client) = start().await;
    let body = json!({
        "metadata": {"name": "n", "labels": {"a": null, "b": "1"}, "annotations": null},
        "data": {"k": null, "l": "v"}
    });
    let strict = format!("{CMS}?fieldValidation=Strict");
    let r = raw(&client, "POST", &strict, Some(&body), &[]).await;
    assert_eq!(r.status, 201, "{}", r.json());
    let cm = raw(&client, "GET", &format!("{CMS}/n"), None, &[])
        .await
        .json();
    assert_eq!(cm["metadata"]["labels"], json!({"a": "", "b": "1"}));
    assert!(cm["metadata"].get("annotations").is_none());
    assert_eq!(cm["data"], json!({"k": "", "l": "v"}));

    let svc = json!({"metadata": {"name": "s", "labels": {"x": null}},
        "spec": {"selector": {"app": null}, "ports": [{"port": 80, "targetPort": null}]}});
    let r = raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/services",
        Some(&svc),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json());
    assert_eq!(r.json()["spec"]["selector"], json!({"app": ""}));
    sim.shutdown().await;
}
