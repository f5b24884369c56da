//! `berth unlock`: an admin aborts the operation holding a release's lock;
//! the revision it held is recorded as failed, "unlocked by" the admin, its
//! client's command ends with that failure, and the next operation works.

use crate::common::{Berthd, Env, NEVER_READY, Out, berth_raw, in_background, path, wait_for};

const POLICY: &str = r#"
rules:
  - identities: ["admin"]
    namespaces: ["*"]
    role: admin
  - identities: ["ci-bot"]
    namespaces: ["*"]
    role: deploy
"#;

/// `args` with the connection flags of `who` (a client of the env's CA).
fn as_client(env: &Env, who: &str, args: &[&str]) -> Vec<String> {
    let dir = env.pki.ca_cert.parent().unwrap();
    let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    full.extend([
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&env.pki.ca_cert),
        "--cert".into(),
        path(&dir.join(format!("{who}.crt"))),
        "--key".into(),
        path(&dir.join(format!("{who}.key"))),
    ]);
    full
}

async fn berth_as(env: &Env, who: &str, args: &[&str]) -> Out {
    berth_raw(&as_client(env, who, args)).await
}

#[tokio::test]
async fn an_admin_unlocks_a_stuck_upgrade_and_the_next_upgrade_works() {
    let mut env = Env::without_agent().await;
    let pki = env.pki.ca_cert.parent().unwrap().to_path_buf();
    berth_raw(&[
        "certs".into(),
        "client".into(),
        "ci-bot".into(),
        "--ca-dir".into(),
        path(&pki),
    ])
    .await
    .ok();
    let policy = env.dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).unwrap();
    let berthd = Berthd::spawn(&env, &["--policy", &path(&policy)]).await;
    env.agent_url = berthd.url.clone();
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();

    // ci-bot's upgrade never becomes ready; with no --timeout it would
    // hold the release for berthd's default five minutes.
    let chart = env.chart("1.1.0");
    let stuck = in_background(as_client(
        &env,
        "ci-bot",
        &["upgrade", "hello", &chart, "--set", NEVER_READY, "--wait"],
    ));
    wait_for("the upgrade to wait for its rollout", || async {
        let s = env.berth(&["status", "hello", "-o", "json"]).await;
        s.code == 0 && s.json()["info"]["status"] == "pending-upgrade"
    })
    .await;

    let refused = berth_as(&env, "ci-bot", &["unlock", "hello"])
        .await
        .failed();
    assert!(
        refused.stderr.contains(
            "ci-bot may not unlock in namespace default: it needs the admin role there and has deploy"
        ),
        "{}",
        refused.stderr
    );
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    assert!(
        status.contains("IN PROGRESS: upgrade of revision 2"),
        "a refused unlock changes nothing: {status}"
    );

    let unlocked = env.berth(&["unlock", "hello"]).await.ok().stdout;
    assert!(
        unlocked.contains(
            "release \"hello\" unlocked: the upgrade of revision 2 (started by ci-bot) was aborted"
        ),
        "{unlocked}"
    );
    let stuck = stuck.await.unwrap().failed();
    assert!(
        stuck.stderr.contains("Upgrade unlocked by admin"),
        "the stuck client hears why: {}",
        stuck.stderr
    );

    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[0]["status"], "deployed", "{h}");
    assert_eq!(h[1]["status"], "failed", "{h}");
    assert_eq!(h[1]["by"], "ci-bot");
    assert!(
        h[1]["description"]
            .as_str()
            .unwrap()
            .starts_with("Upgrade unlocked by admin: the running operation was aborted"),
        "{h}"
    );
    let replayed = env.berth(&["watch", "hello"]).await.failed();
    assert!(
        replayed.stdout.contains("Upgrade unlocked by admin"),
        "the journal tells watchers: {}",
        replayed.stdout
    );
    let audit = berthd.logged("berthd::audit");
    assert!(
        audit.iter().any(|l| l["fields"]["message"] == "unlocked"
            && l["fields"]["identity"] == "admin"
            && l["fields"]["held_by"] == "ci-bot"
            && l["fields"]["revision"] == 2),
        "{audit:?}"
    );

    let again = env.berth(&["unlock", "hello"]).await.failed();
    assert!(
        again
            .stderr
            .contains("release \"hello\" in namespace \"default\" is not locked"),
        "{}",
        again.stderr
    );
    env.berth(&["upgrade", "hello", &chart, "--reset-values", "--wait"])
        .await
        .ok();
    let h = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(h[2]["status"], "deployed", "{h}");
    assert_eq!(h[0]["status"], "superseded", "{h}");
}
