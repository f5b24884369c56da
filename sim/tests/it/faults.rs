//! Fault injection (SIM_SPEC §6, checks F1–F3, W6) and the `/_sim/v1` control API.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use berth_sim::{Action, Match, Rule};

use crate::support::{get, raw, start};

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"f": "1"}}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn retried_503s_are_only_latency_f1() {
    let (sim, client) = start().await;
    sim.faults().add(
        Rule::new(
            Match::verb("get").resource("configmaps"),
            Action::status_retry_after(503, 0),
        )
        .times(3),
    );
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &cm("r")).await.unwrap();
    sim.clear_requests();
    api.get("r").await.expect("kube retries 503 and succeeds");
    let gets: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.verb == "get")
        .map(|r| r.status)
        .collect();
    assert_eq!(gets, [503, 503, 503, 200]);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_given_at_start_apply_from_the_first_request() {
    let sim = berth_sim::Simulator::builder()
        .profile(berth_sim::Profile::Fast)
        .fault(
            Rule::new(
                Match::verb("create").resource("configmaps"),
                Action::status(500),
            )
            .times(1),
        )
        .start()
        .await
        .expect("simulator starts");
    let client = crate::support::client(&sim).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    match api
        .create(&PostParams::default(), &cm("a"))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => assert_eq!(s.code, 500),
        e => panic!("{e:?}"),
    }
    api.create(&PostParams::default(), &cm("b"))
        .await
        .expect("the rule's budget is spent");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_500_on_apply_is_not_retried_f2() {
    let (sim, client) = start().await;
    let id = sim
        .faults()
        .add(Rule::new(Match::verb("apply"), Action::status(500)));
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let err = api
        .patch("x", &PatchParams::apply("berth"), &Patch::Apply(&cm("x")))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => assert_eq!(s.code, 500),
        e => panic!("{e:?}"),
    }
    assert_eq!(sim.faults().hits(id), 1);
    let applies = sim.requests().iter().filter(|r| r.verb == "apply").count();
    assert_eq!(applies, 1);
    assert!(sim.requests().iter().any(|r| r.field_manager == "berth"));
    sim.shutdown().await;
}

#[tokio::test]
async fn commit_then_fail_leaves_an_idempotent_apply_f3() {
    let (sim, client) = start().await;
    sim.faults()
        .add(Rule::new(Match::verb("apply"), Action::CommitThenFail { code: 500 }).times(1));
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("berth").force();
    assert!(api.patch("c", &pp, &Patch::Apply(&cm("c"))).await.is_err());
    let stored = api.get("c").await.expect("the write happened");
    let again = api.patch("c", &pp, &Patch::Apply(&cm("c"))).await.unwrap();
    assert_eq!(
        stored.metadata.resource_version,
        again.metadata.resource_version
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn resets_truncation_and_garbage_surface_as_errors() {
    let (sim, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for action in [Action::Reset, Action::Truncate, Action::Garbage] {
        let id = sim
            .faults()
            .add(Rule::new(Match::verb("list"), action.clone()).times(1));
        assert!(api.list(&Default::default()).await.is_err(), "{action:?}");
        assert_eq!(sim.faults().hits(id), 1);
        api.list(&Default::default())
            .await
            .expect("the next request is fine");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn watcher_converges_through_dropped_watches_w6() {
    let (sim, client) = start().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    sim.faults().add(
        Rule::new(
            Match::verb("watch"),
            Action::WatchAbortAfter {
                events: Some(1),
                ms: None,
            },
        )
        .times(2),
    );
    let mut stream = watcher(api.clone(), watcher::Config::default().labels("f=1"))
        .default_backoff()
        .applied_objects()
        .boxed();
    let mut seen = std::collections::BTreeSet::new();
    for n in ["a", "b", "c"] {
        api.create(&PostParams::default(), &cm(n)).await.unwrap();
    }
    while seen.len() < 3 {
        let o = tokio::time::timeout(Duration::from_secs(15), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.insert(o.metadata.name.unwrap());
    }
    // While the watcher is not looking: more changes, then history is compacted past them.
    for n in ["d", "e"] {
        api.create(&PostParams::default(), &cm(n)).await.unwrap();
    }
    sim.compact();
    sim.drop_watches(None, true);
    let mut expired = false;
    while seen.len() < 5 {
        match tokio::time::timeout(Duration::from_secs(15), stream.next())
            .await
            .unwrap()
            .unwrap()
        {
            Ok(o) => {
                seen.insert(o.metadata.name.unwrap());
            }
            // The watcher reports the 410 ERROR event, then relists.
            Err(watcher::Error::WatchError(s)) if s.code == 410 => expired = true,
            Err(_) => {}
        }
    }
    assert!(expired);
    let lists = sim.requests().iter().filter(|r| r.verb == "list").count();
    assert!(lists >= 2, "the 410 after compaction forced a relist");
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_over_http() {
    let (sim, client) = start().await;
    let rule = json!({"match": {"verb": "get", "resource": "configmaps"}, "action": {"type": "status", "code": 429}, "budget": {"times": 1}});
    let r = raw(&client, "POST", "/_sim/v1/faults", Some(&rule), &[]).await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_u64().unwrap();
    // Direct raw request: no retry layer effect visible in the status, 429 has Retry-After.
    let hit = get(&client, "/api/v1/namespaces/default/configmaps/x").await;
    assert!(hit.status == 429 || hit.status == 404);
    let faults = get(&client, "/_sim/v1/faults").await.json();
    assert_eq!(faults[0]["id"], id);
    assert_eq!(faults[0]["hits"], 1);
    let state = get(&client, "/_sim/v1/state").await.json();
    assert!(state["objects"]["namespaces"].as_u64().unwrap() >= 4);
    let requests = get(&client, "/_sim/v1/requests").await.json();
    assert!(
        requests
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == 429)
    );
    assert_eq!(
        raw(&client, "POST", "/_sim/v1/compact", None, &[])
            .await
            .status,
        200
    );
    assert_eq!(
        raw(&client, "POST", "/_sim/v1/settle", None, &[])
            .await
            .status,
        200
    );
    let dropped = raw(
        &client,
        "POST",
        "/_sim/v1/watches/drop",
        Some(&json!({"mode": "clean"})),
        &[],
    )
    .await
    .json();
    assert!(dropped["dropped"].is_u64());
    raw(
        &client,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(&json!({"metadata": {"name": "z"}})),
        &[],
    )
    .await;
    assert_eq!(
        raw(&client, "POST", "/_sim/v1/reset", None, &[])
            .await
            .status,
        200
    );
    assert_eq!(
        get(&client, "/api/v1/namespaces/default/configmaps/z")
            .await
            .status,
        404
    );
    assert_eq!(get(&client, "/api/v1/namespaces/default").await.status, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    crate::support::init();
    let dir = std::env::temp_dir().join(format!("berth-sim-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    let _ = std::fs::remove_file(&file);
    let start = || berth_sim::Simulator::builder().state_file(&file).start();
    let sim = start().await.unwrap();
    let client = crate::support::client(&sim).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &cm("kept"))
        .await
        .unwrap();
    sim.shutdown().await;

    let sim = start().await.unwrap();
    let client = crate::support::client(&sim).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let got = api.get("kept").await.unwrap();
    assert_eq!(got.metadata.uid, created.metadata.uid);
    assert!(
        sim.resource_version()
            >= created
                .metadata
                .resource_version
                .unwrap()
                .parse::<u64>()
                .unwrap()
    );
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads a watch to its end (or for `secs`), returning the event types.
async fn watch_types(client: &kube::Client, path: &str, secs: u64) -> (Vec<String>, bool) {
    use http_body_util::BodyExt;
    let req = http::Request::get(path)
        .body(kube::client::Body::from(Vec::new()))
        .unwrap();
    let resp = client.send(req).await.unwrap();
    let mut body = resp.into_body();
    let mut text = String::new();
    let mut clean = true;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => break,
            Ok(None) => break,
            Ok(Some(Err(_))) => {
                clean = false;
                break;
            }
            Ok(Some(Ok(f))) => {
                if let Ok(d) = f.into_data() {
                    text.push_str(&String::from_utf8_lossy(&d));
                }
            }
        }
    }
    let types = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| v["type"].as_str().unwrap_or("").to_string())
        .collect();
    (types, clean)
}

#[tokio::test]
async fn watch_only_faults() {
    let (sim, client) = start().await;
    let cms = "/api/v1/namespaces/default/configmaps";
    for n in ["a", "b", "c"] {
        raw(
            &client,
            "POST",
            cms,
            Some(&json!({"metadata": {"name": n}})),
            &[],
        )
        .await;
    }
    let w = |a: Action| Rule::new(Match::verb("watch"), a).times(1);

    sim.faults().add(w(Action::WatchCloseAfter {
        events: Some(2),
        ms: None,
    }));
    let (types, clean) = watch_types(&client, &format!("{cms}?watch=true"), 3).await;
    assert_eq!((types.len(), clean), (2, true));

    sim.faults().add(w(Action::WatchAbortAfter {
        events: Some(1),
        ms: None,
    }));
    let (types, clean) = watch_types(&client, &format!("{cms}?watch=true"), 3).await;
    assert_eq!(types, ["ADDED"]);
    assert!(!clean, "cut mid-chunk");

    sim.faults().add(w(Action::WatchExpire));
    let (types, _) = watch_types(&client, &format!("{cms}?watch=true&resourceVersion=1"), 3).await;
    assert_eq!(types, ["ERROR"]);

    sim.faults().add(w(Action::WatchNoInitialEndBookmark));
    let q = "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=1";
    let (types, _) = watch_types(&client, &format!("{cms}?{q}"), 3).await;
    assert_eq!(types.iter().filter(|t| *t == "ADDED").count(), 3);
    let (normal, _) = watch_types(&client, &format!("{cms}?{q}"), 3).await;
    assert_eq!(
        normal[3], "BOOKMARK",
        "without the fault the end bookmark follows the ADDED events"
    );

    sim.faults().add(w(Action::WatchStall));
    let (types, _) = watch_types(&client, &format!("{cms}?watch=true&timeoutSeconds=1"), 2).await;
    assert!(types.is_empty(), "a stalled watch sends nothing");
    sim.shutdown().await;
}

/// A fault rule the binary cannot read is refused in one line, backtraces
/// asked for or not, before anything is served: a misspelt field too,
/// which would otherwise leave the rule without effect.
#[test]
fn a_bad_fault_rule_on_the_command_line_is_one_line() {
    let refused = |rule: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_berth-sim"))
            .args(["--listen", "127.0.0.1:0", "--fault"])
            .arg(rule)
            .env("RUST_BACKTRACE", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("berth-sim runs");
        // One that took the rule serves until killed.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while child.try_wait().expect("berth-sim's status").is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("berth-sim took the rule {rule} and started");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().expect("berth-sim's output");
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(
        refused(r#"{"match":{"fieldManager":3},"action":{"type":"status","code":403}}"#),
        "Error: --fault #1: invalid fault rule: invalid type: integer `3`, expected a string at line 1 column 26\n"
    );
    assert_eq!(
        refused(
            r#"{"match":{"field_manager":"kube-controller-manager"},"action":{"type":"status","code":403}}"#
        ),
        "Error: --fault #1: invalid fault rule: unknown field `field_manager`, expected one of `verb`, `group`, `resource`, `subresource`, `namespace`, `name`, `path`, `fieldManager` at line 1 column 25\n"
    );
}

/// So is one posted to the control API: a 400 that names the field.
#[tokio::test]
async fn a_posted_fault_rule_with_a_field_it_does_not_know_is_refused() {
    let (sim, client) = start().await;
    let rule = json!({"match": {"verb": "create"}, "action": {"type": "status", "code": 500}, "budget": {"time": 1}});
    let r = raw(&client, "POST", "/_sim/v1/faults", Some(&rule), &[]).await;
    assert_eq!(r.status, 400);
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with("invalid fault rule: unknown field `time`"),
        "{message}"
    );
    assert_eq!(get(&client, "/_sim/v1/faults").await.json(), json!([]));
    sim.shutdown().await;
}
