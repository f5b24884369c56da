//! berthd on SIGTERM: it starts no new operations (UNAVAILABLE), lets the
//! running ones finish within `--shutdown-grace`, records those that do not
//! as interrupted, and exits with the journal flushed. Run against the real
//! berthd binary, signalled as Kubernetes signals it.

use kube::api::{Api, Patch, PatchParams};

use crate::common::{Berthd, Env, NEVER_READY, in_background, wait_for};

fn sigterm(berthd: &Berthd) {
    let pid = berthd.child.id().expect("berthd is running") as libc::pid_t;
    // SAFETY: kill(2) with a pid this test spawned; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
}

/// The upgrade of `hello` that never becomes ready, in the background.
fn stuck_upgrade(env: &Env) -> tokio::task::JoinHandle<crate::common::Out> {
    let mut args: Vec<String> = [
        "upgrade",
        "hello",
        &env.chart("1.1.0"),
        "--set",
        NEVER_READY,
        "--wait",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(env.conn_args());
    in_background(args)
}

async fn wait_until_pending(env: &Env) {
    wait_for("the upgrade to wait for its rollout", || async {
        let s = env.berth(&["status", "hello", "-o", "json"]).await;
        s.code == 0 && s.json()["info"]["status"] == "pending-upgrade"
    })
    .await;
}

async fn wait_until_logged(berthd: &Berthd, message: &str) -> serde_json::Value {
    let mut found = None;
    wait_for(message, || {
        found = berthd
            .log
            .lock()
            .unwrap()
            .iter()
            .find(|l| l["fields"]["message"] == message)
            .cloned();
        std::future::ready(found.is_some())
    })
    .await;
    found.unwrap()
}

const DRAINING: &str = "shutting down: no new operations; waiting for the running ones";

#[tokio::test]
async fn on_sigterm_a_running_upgrade_finishes_and_new_operations_are_refused() {
    let mut env = Env::without_agent().await;
    let mut berthd = Berthd::spawn(&env, &["--shutdown-grace", "5m"]).await;
    env.agent_url = berthd.url.clone();
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let upgrade = stuck_upgrade(&env);
    wait_until_pending(&env).await;

    sigterm(&berthd);
    let draining = wait_until_logged(&berthd, DRAINING).await;
    assert_eq!(draining["fields"]["operations"], 1, "{draining}");

    // A new operation is refused with UNAVAILABLE while berthd drains.
    let mut client = berth_cli::connect::connect(&env.target()).await.unwrap();
    let refused = client
        .rollback(berth::proto::RollbackRequest {
            release: "hello".into(),
            namespace: "default".into(),
            revision: 1,
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert_eq!(
        refused.message(),
        "berthd is shutting down and starts no new operations; retry once it is back"
    );
    let cli = env.berth(&["uninstall", "hello"]).await.failed();
    assert!(
        cli.stderr.contains("berthd is shutting down"),
        "{}",
        cli.stderr
    );

    // The running upgrade goes on: fix its rollout, and it completes.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.kube().await, "default");
    let fix = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {
        "kubesim.invalid/fail": null
    }}}}});
    deployments
        .patch("hello", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .unwrap();
    let upgraded = upgrade.await.unwrap().ok();
    assert!(
        upgraded.stdout.contains("hello revision 2: deployed"),
        "{}",
        upgraded.stdout
    );
    let exit = berthd.child.wait().await.unwrap();
    assert!(exit.success(), "berthd exits cleanly: {exit:?}");
    wait_until_logged(&berthd, "berthd stopped").await;

    let berthd = Berthd::spawn(&env, &[]).await;
    env.agent_url = berthd.url.clone();
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[1]["status"], "deployed", "{h}");
    assert_eq!(h[1]["description"], "Upgrade complete", "{h}");
}

#[tokio::test]
async fn on_sigterm_an_upgrade_still_running_after_the_grace_period_is_recorded_interrupted() {
    let mut env = Env::without_agent().await;
    let mut berthd = Berthd::spawn(&env, &["--shutdown-grace", "1s"]).await;
    env.agent_url = berthd.url.clone();
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let upgrade = stuck_upgrade(&env);
    wait_until_pending(&env).await;

    sigterm(&berthd);
    let cut = upgrade.await.unwrap().failed();
    let why = "Upgrade interrupted: berthd was shut down and the operation had not finished after the 1s grace period";
    assert!(
        cut.stderr.contains(why),
        "the client hears why: {}",
        cut.stderr
    );
    let exit = berthd.child.wait().await.unwrap();
    assert!(exit.success(), "berthd exits cleanly: {exit:?}");

    let berthd = Berthd::spawn(&env, &[]).await;
    env.agent_url = berthd.url.clone();
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[0]["status"], "deployed", "{h}");
    assert_eq!(h[1]["status"], "failed", "{h}");
    assert!(
        h[1]["description"].as_str().unwrap().starts_with(why),
        "{h}"
    );
    let replayed = env
        .berth(&["watch", "hello", "--events", "ndjson"])
        .await
        .failed();
    let last: serde_json::Value =
        serde_json::from_str(replayed.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "failed", "{last}");
    assert_eq!(last["reason"], "Interrupted", "{last}");
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    assert!(!status.contains("IN PROGRESS"), "no lock left: {status}");
    env.berth(&[
        "upgrade",
        "hello",
        &env.chart("1.1.0"),
        "--reset-values",
        "--wait",
    ])
    .await
    .ok();
}
