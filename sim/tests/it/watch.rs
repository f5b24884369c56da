//! Watch (SIM_SPEC §4, checks W1–W5) and kube's watcher.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use crate::support::{get, raw, start, start_manual};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// Reads a watch response to its end, as lines.
async fn watch_lines(client: &kube::Client, path: &str) -> Vec<Value> {
    let req = http::Request::get(path)
        .body(kube::client::Body::from(Vec::new()))
        .unwrap();
    let resp = client.send(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn watch_from_list_rv_sees_changes_then_closes_w1() {
    let (sim, client) = start().await;
    let rv = get(&client, CMS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let path =
        format!("{CMS}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=2");
    let c2 = client.clone();
    let reader = tokio::spawn(async move { watch_lines(&c2, &path).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "w"}, "data": {"a": "1"}})),
        &[],
    )
    .await;
    raw(
        &client,
        "PATCH",
        &format!("{CMS}/w"),
        Some(&json!({"data": {"a": "2"}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    raw(&client, "DELETE", &format!("{CMS}/w"), None, &[]).await;
    let started = std::time::Instant::now();
    let lines = reader.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["type"].as_str().unwrap())
        .filter(|t| *t != "BOOKMARK")
        .collect();
    assert_eq!(types, ["ADDED", "MODIFIED", "DELETED"]);
    let rvs: Vec<u64> = lines
        .iter()
        .filter(|l| l["type"] != "BOOKMARK")
        .map(|l| {
            l["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
    assert_eq!(lines[0]["object"]["kind"], "ConfigMap");
    // The close is preceded by a bookmark with only kind, apiVersion and resourceVersion.
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "BOOKMARK");
    assert_eq!(last["object"]["kind"], "ConfigMap");
    assert!(last["object"]["metadata"]["resourceVersion"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn idle_watch_gets_bookmarks_w2() {
    let (sim, client) = start_manual().await;
    let path =
        format!("{CMS}?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=40");
    let c2 = client.clone();
    let reader = tokio::spawn(async move { watch_lines(&c2, &path).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    sim.clock().advance(Duration::from_secs(41)).await;
    let lines = reader.await.unwrap();
    let bookmarks: Vec<&Value> = lines.iter().filter(|l| l["type"] == "BOOKMARK").collect();
    assert!(bookmarks.len() >= 2, "{lines:?}");
    let obj = bookmarks[0]["object"].as_object().unwrap();
    let keys: Vec<&String> = obj.keys().collect();
    assert_eq!(keys, ["apiVersion", "kind", "metadata"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn compacted_history_gives_410_event_w3() {
    let (sim, client) = start().await;
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "old"}})),
        &[],
    )
    .await;
    sim.compact();
    let lines = watch_lines(&client, &format!("{CMS}?watch=true&resourceVersion=2")).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(lines[0]["object"]["code"], 410);
    assert_eq!(lines[0]["object"]["reason"], "Expired");
    sim.shutdown().await;
}

#[tokio::test]
async fn streaming_list_initial_events_w4() {
    let (sim, client) = start().await;
    for n in ["s1", "s2"] {
        raw(
            &client,
            "POST",
            CMS,
            Some(&json!({"metadata": {"name": n}})),
            &[],
        )
        .await;
    }
    let lines = watch_lines(
        &client,
        &format!("{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=1"),
    )
    .await;
    let added = lines.iter().filter(|l| l["type"] == "ADDED").count();
    assert!(added >= 2);
    let end = &lines[added];
    assert_eq!(end["type"], "BOOKMARK");
    assert_eq!(
        end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );

    let bad = get(&client, &format!("{CMS}?watch=true&sendInitialEvents=true")).await;
    assert_eq!(bad.status, 422);
    sim.shutdown().await;
}

#[tokio::test]
async fn relabelled_object_leaves_selection_w5() {
    let (sim, client) = start().await;
    raw(
        &client,
        "POST",
        CMS,
        Some(&json!({"metadata": {"name": "l", "labels": {"app": "x"}}})),
        &[],
    )
    .await;
    let rv = get(&client, CMS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let path =
        format!("{CMS}?watch=true&labelSelector=app%3Dx&resourceVersion={rv}&timeoutSeconds=1");
    let c2 = client.clone();
    let reader = tokio::spawn(async move { watch_lines(&c2, &path).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    raw(
        &client,
        "PATCH",
        &format!("{CMS}/l"),
        Some(&json!({"metadata": {"labels": {"app": "y"}}})),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    let lines = reader.await.unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["type"], "DELETED");
    sim.shutdown().await;
}

#[tokio::test]
async fn kube_watcher_sees_changes_and_survives_compaction() {
    let (sim, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mut stream = watcher(api.clone(), watcher::Config::default().labels("w=1"))
        .default_backoff()
        .applied_objects()
        .boxed();
    let mk = |n: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": n, "labels": {"w": "1"}}})).unwrap()
    };
    api.create(&PostParams::default(), &mk("one"))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("one"));
    sim.compact();
    sim.drop_watches(None, true);
    api.create(&PostParams::default(), &mk("two"))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|n: &String| n == "two") {
        let cm = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(cm.metadata.name.unwrap());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn kube_streaming_lists_and_metadata_watches() {
    let (sim, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let mk = |n: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": n, "labels": {"s": "1"}}})).unwrap()
    };
    api.create(&PostParams::default(), &mk("pre"))
        .await
        .unwrap();
    let mut streaming = watcher(
        api.clone(),
        watcher::Config::default().labels("s=1").streaming_lists(),
    )
    .applied_objects()
    .boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), streaming.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("pre"));
    let mut metas = watcher(
        Api::<kube::core::PartialObjectMeta<ConfigMap>>::namespaced(client.clone(), "default"),
        watcher::Config::default().labels("s=1"),
    )
    .applied_objects()
    .boxed();
    let m = tokio::time::timeout(Duration::from_secs(5), metas.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.metadata.name.as_deref(), Some("pre"));
    api.create(&PostParams::default(), &mk("post"))
        .await
        .unwrap();
    let next = tokio::time::timeout(Duration::from_secs(5), streaming.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.metadata.name.as_deref(), Some("post"));
    let m = tokio::time::timeout(Duration::from_secs(5), metas.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.metadata.name.as_deref(), Some("post"));
    let streamed = sim
        .requests()
        .iter()
        .any(|r| r.query.contains("sendInitialEvents=true"));
    assert!(streamed);
    sim.shutdown().await;
}
