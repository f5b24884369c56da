//! API faults: with berth-sim answering 429 with Retry-After, 5xx,
//! slowly, by resetting connections or by dropping watches, every
//! operation either completes or fails with its reason recorded in the
//! release's history; `--atomic` restores the last good revision; the
//! rollout tracking resumes its watches.

use berth_sim::{Action, Match, Rule};
use serde_json::Value;

use crate::common::Env;

fn apply_of(resource: &str) -> Match {
    Match::verb("apply").resource(resource)
}

async fn history(env: &Env, name: &str) -> Vec<Value> {
    env.berth(&["history", name, "-o", "json"])
        .await
        .ok()
        .json()
        .as_array()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn throttling_and_unavailable_answers_are_retried_until_the_install_completes() {
    let env = Env::start().await;
    let faults = env.sim.faults();
    let throttled =
        faults.add(Rule::new(apply_of("deployments"), Action::status_retry_after(429, 1)).times(2));
    let unavailable = faults.add(Rule::new(apply_of("configmaps"), Action::status(503)).times(3));
    let slow = faults.add(Rule::new(Match::default(), Action::delay(40)).times(40));
    env.berth(&["install", "web", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    assert_eq!(faults.hits(throttled), 2, "both 429s were answered");
    assert_eq!(faults.hits(unavailable), 3);
    assert!(faults.hits(slow) > 0);
    let h = history(&env, "web").await;
    assert_eq!(h[0]["status"], "deployed");
}

#[tokio::test]
async fn a_failing_api_fails_the_operation_with_its_reason_recorded() {
    let env = Env::start().await;
    env.berth(&["install", "web", &env.chart("1.0.0")])
        .await
        .ok();
    let faults = env.sim.faults();
    let broken = faults.add(Rule::new(
        apply_of("deployments"),
        Action::Status {
            code: 500,
            reason: Some("InternalError".into()),
            message: Some("etcdserver: request timed out".into()),
            retry_after_s: None,
        },
    ));
    let out = env
        .berth(&["upgrade", "web", &env.chart("1.1.0")])
        .await
        .failed();
    assert!(
        out.stderr.contains("etcdserver: request timed out"),
        "{}",
        out.stderr
    );
    assert!(faults.hits(broken) >= 1);
    let h = history(&env, "web").await;
    assert_eq!(h[1]["status"], "failed");
    let why = h[1]["description"].as_str().unwrap();
    assert!(
        why.contains("Deployment") && why.contains("etcdserver: request timed out"),
        "the history says which object and why: {why}"
    );
    assert_eq!(
        h[0]["status"], "deployed",
        "the last good revision stays deployed"
    );

    // A reset connection in the middle of the apply: also a recorded failure
    // (or, if the write went through and a retry read it back, a success).
    // The Deployment's apply, the one left to do (the Services are as the
    // failed upgrade applied them: their applies are not sent).
    faults.clear();
    let reset = faults.add(Rule::new(apply_of("deployments"), Action::Reset).times(1));
    let out = env
        .berth(&["upgrade", "web", &env.chart("1.1.0"), "--set", "x=1"])
        .await;
    assert_eq!(faults.hits(reset), 1);
    let h = history(&env, "web").await;
    let last = h.last().unwrap();
    if out.code == 0 {
        assert_eq!(last["status"], "deployed");
    } else {
        assert_eq!(last["status"], "failed");
        assert!(!last["description"].as_str().unwrap().is_empty(), "{last}");
    }
    // Once the API is healthy again, the release is operable.
    faults.clear();
    env.berth(&["upgrade", "web", &env.chart("1.1.0"), "--set", "x=2"])
        .await
        .ok();
}

#[tokio::test]
async fn atomic_restores_the_last_good_revision_when_the_api_fails_mid_upgrade() {
    let env = Env::start().await;
    env.berth(&["install", "web", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let before = env
        .get("v1", "ConfigMap", "default", "web-hello")
        .await
        .unwrap();
    // The upgrade applies its ConfigMap, then the Deployment fails.
    let faults = env.sim.faults();
    faults.add(Rule::new(apply_of("deployments"), Action::status(500)).times(1));
    let out = env
        .berth(&[
            "upgrade",
            "web",
            &env.chart("1.1.0"),
            "--set",
            "replicaCount=4",
            "--atomic",
        ])
        .await
        .failed();
    assert!(
        out.stderr.contains("rolled back") || out.stdout.contains("rollback"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    let h = history(&env, "web").await;
    let statuses: Vec<&str> = h.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["superseded", "failed", "deployed"]);
    let after = env
        .get("v1", "ConfigMap", "default", "web-hello")
        .await
        .unwrap();
    assert_eq!(
        after["data"], before["data"],
        "the ConfigMap is back as it was"
    );
}

#[tokio::test]
async fn dropped_watches_resume_and_the_wait_still_ends_ready() {
    let env = Env::start().await;
    let faults = env.sim.faults();
    let closed = faults.add(
        Rule::new(
            Match::verb("watch"),
            Action::WatchCloseAfter {
                events: Some(1),
                ms: None,
            },
        )
        .times(6),
    );
    let aborted = faults.add(
        Rule::new(
            Match::verb("watch").resource("deployments"),
            Action::WatchAbortAfter {
                events: None,
                ms: Some(50),
            },
        )
        .times(3),
    );
    env.berth(&[
        "install",
        "web",
        &env.chart("1.0.0"),
        "--wait",
        "--set",
        "replicaCount=3",
    ])
    .await
    .ok();
    assert!(
        faults.hits(closed) + faults.hits(aborted) > 0,
        "watches were dropped"
    );
    let h = history(&env, "web").await;
    assert_eq!(h[0]["status"], "deployed");
}

/// Open an upgrade stream by hand: the header of an install of `name`
/// with the demo chart (declaring `digest`), then what `rest` sends.
async fn raw_upgrade(
    env: &Env,
    name: &str,
    digest: &str,
    rest: impl futures::Stream<Item = berth::proto::UpgradeRequest> + Send + 'static,
) -> tonic::Streaming<berth::proto::Event> {
    use berth::proto::{self, UpgradeRequest, upgrade_request::Msg};
    use futures::StreamExt;
    let header = proto::UpgradeHeader {
        release: name.into(),
        namespace: "default".into(),
        mode: proto::UpgradeMode::Install as i32,
        values_json: "{}".into(),
        chart_digest: digest.into(),
        chart_size: demo_bundle(env).bytes.len() as u64,
        options: Some(Default::default()),
        client: None,
        // These cases send chunks.
        chart_connection: false,
        remote_schemas: Default::default(),
    };
    let first = futures::stream::iter([UpgradeRequest {
        msg: Some(Msg::Header(header)),
    }]);
    let mut client = berth_cli::connect::connect(&env.target()).await.unwrap();
    client
        .upgrade(first.chain(rest))
        .await
        .unwrap()
        .into_inner()
}

fn demo_bundle(env: &Env) -> berth::chart::Bundle {
    berth::chart::Bundle::from_path(
        std::path::Path::new(&env.chart("1.0.0")),
        &Default::default(),
    )
    .unwrap()
}

fn chunk(bytes: &[u8]) -> berth::proto::UpgradeRequest {
    berth::proto::UpgradeRequest {
        msg: Some(berth::proto::upgrade_request::Msg::Chunk(
            bytes.to_vec().into(),
        )),
    }
}

/// How an operation's event stream ended.
async fn last_event(
    events: tonic::Streaming<berth::proto::Event>,
) -> Option<berth::proto::event::Kind> {
    use futures::StreamExt;
    let all: Vec<_> = events.collect().await;
    all.into_iter()
        .filter_map(Result::ok)
        .last()
        .and_then(|e| e.kind)
}

#[tokio::test]
async fn a_stalled_upload_times_out_without_blocking_anything_else() {
    use futures::StreamExt;
    let mut env = Env::without_agent().await;
    env.upload_idle_timeout = std::time::Duration::from_secs(2);
    env.start_agent().await;
    // A client that sends its header and one chunk, then nothing, forever.
    let digest = demo_bundle(&env).digest;
    let stalled = futures::stream::iter([chunk(&[0u8; 10])]).chain(futures::stream::pending());
    let events = raw_upgrade(&env, "stuck", &digest, stalled).await;

    // Meanwhile another release is installed, upgraded and read.
    env.berth(&["install", "other", &env.chart("1.0.0")])
        .await
        .ok();
    env.berth(&["upgrade", "other", &env.chart("1.1.0")])
        .await
        .ok();
    env.berth(&["list"]).await.ok();

    // The stalled operation ends by itself and frees its lock.
    match last_event(events).await {
        Some(berth::proto::event::Kind::Failed(f)) => {
            assert_eq!(f.reason, "UploadStalled", "{f:?}");
        }
        other => panic!("the stalled upload did not fail: {other:?}"),
    }
    let out = env.berth(&["install", "stuck", &env.chart("1.0.0")]).await;
    assert_eq!(out.code, 0, "the lock was released: {}", out.stderr);
}

#[tokio::test]
async fn a_slow_but_steady_upload_completes() {
    use futures::StreamExt;
    let mut env = Env::without_agent().await;
    env.upload_idle_timeout = std::time::Duration::from_secs(2);
    env.start_agent().await;
    let bundle = demo_bundle(&env);
    // 32 bytes every 10 ms: slow, but never idle for long.
    let pieces: Vec<_> = bundle.bytes.chunks(32).map(chunk).collect();
    let sent = bundle.bytes.len() as u64;
    let slow = futures::stream::iter(pieces)
        .then(|c| async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            c
        })
        .chain(futures::stream::iter([berth::proto::UpgradeRequest {
            msg: Some(berth::proto::upgrade_request::Msg::Trailer(
                berth::proto::UpgradeTrailer { sent_bytes: sent },
            )),
        }]));
    let events = raw_upgrade(&env, "slow", &bundle.digest, slow).await;
    match last_event(events).await {
        Some(berth::proto::event::Kind::Completed(c)) => {
            assert_eq!(c.status, berth::proto::ReleaseStatus::Deployed as i32)
        }
        other => panic!("the slow upload did not complete: {other:?}"),
    }
}
