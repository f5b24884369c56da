//! --atomic (alias --rollback-on-failure): a failed upgrade rolls back to
//! the last deployed revision as a new revision; a failed install
//! uninstalls itself. The image registry `.invalid` never pulls in berth-sim.

use crate::common::{BAD_IMAGE, Env};

fn image(d: &serde_json::Value) -> String {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_failed_atomic_upgrade_rolls_back_to_the_deployed_revision() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let before = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .unwrap();

    let out = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--set",
            BAD_IMAGE,
            "--atomic",
            "--timeout",
            "3s",
        ])
        .await
        .failed();
    assert!(
        out.stderr.contains(
            "release hello failed, and has been rolled back due to rollback-on-failure being set"
        ),
        "{}",
        out.stderr
    );
    // Helm v4's notice for the flag's old name, first; Helm's words in
    // front of the failure.
    assert!(
        out.stderr.starts_with(
            "Flag --atomic has been deprecated, use --rollback-on-failure instead\n\
             Error: UPGRADE FAILED: hello (revision 2): "
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("rollback"),
        "the rollback is shown as it happens: {}",
        out.stdout
    );

    let history = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    let rows: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().into(),
                r["description"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(rows[0].0, "superseded");
    assert_eq!(rows[1].0, "failed");
    assert!(
        rows[1].1.starts_with("Upgrade \"hello\" failed"),
        "{rows:?}"
    );
    assert_eq!(
        rows[2],
        ("deployed".to_string(), "Rollback to 1".to_string())
    );

    let after = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .unwrap();
    assert_eq!(
        image(&after),
        image(&before),
        "revision 1's template is back"
    );
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_none(),
        "the object only revision 2 had is gone"
    );
    let m1 = env
        .berth(&["get", "manifest", "hello", "--revision", "1"])
        .await
        .ok()
        .stdout;
    let m3 = env
        .berth(&["get", "manifest", "hello", "--revision", "3"])
        .await
        .ok()
        .stdout;
    assert_eq!(m1, m3);
    // The failed revision's events and the rollback's are packed once the
    // operation ends: no events file is left.
    crate::common::wait_for("the events to be packed", || async {
        crate::journal::events_files(&env).is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_failed_atomic_install_uninstalls_itself() {
    let env = Env::start().await;
    let out = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--set",
            BAD_IMAGE,
            "--rollback-on-failure",
            "--timeout",
            "3s",
        ])
        .await
        .failed();
    assert!(
        out.stderr
            .starts_with("Error: INSTALLATION FAILED: hello (revision 1): "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains(
            "release hello failed, and has been uninstalled due to rollback-on-failure being set"
        ),
        "{}",
        out.stderr
    );
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_none()
    );
    assert!(
        env.get("v1", "ConfigMap", "default", "hello")
            .await
            .is_none()
    );
    let gone = env.berth(&["history", "hello"]).await.failed();
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
    // The name is free again.
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
}

#[tokio::test]
async fn cleanup_on_fail_deletes_what_the_failed_upgrade_created() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    env.berth(&[
        "upgrade",
        "hello",
        &env.chart("1.1.0"),
        "--set",
        BAD_IMAGE,
        "--wait",
        "--cleanup-on-fail",
    ])
    .await
    .failed();
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_none(),
        "the Service the failed upgrade added is gone"
    );
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_some(),
        "what existed before stays"
    );
}

#[tokio::test]
async fn cleanup_on_fail_deletes_what_the_failed_rollback_created() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    // Revision 2 adds the metrics Service, with an image that never pulls
    // (deployed: nobody waited); revision 3 goes back to 1 without it.
    env.berth(&["upgrade", "hello", &env.chart("1.1.0"), "--set", BAD_IMAGE])
        .await
        .ok();
    env.berth(&["rollback", "hello", "1", "--wait"]).await.ok();
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_none()
    );
    env.berth(&["rollback", "hello", "2", "--wait", "--cleanup-on-fail"])
        .await
        .failed();
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_none(),
        "the Service the failed rollback added is gone"
    );
    assert!(
        env.get("apps/v1", "Deployment", "default", "hello")
            .await
            .is_some(),
        "what existed before stays"
    );
}
