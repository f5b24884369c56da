//! berth diff: what an upgrade would change against the live cluster
//! (server-side apply dry runs), how two revisions differ, and what a
//! rollback would change — none of it changing anything.

use crate::common::Env;

#[tokio::test]
async fn diff_upgrade_shows_the_changes_and_changes_nothing() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let same = env
        .berth(&["diff", "upgrade", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    assert_eq!(same.stdout, "no changes\n");

    let out = env
        .berth(&[
            "diff",
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--set",
            "replicaCount=3",
        ])
        .await
        .ok();
    let o = &out.stdout;
    assert!(o.contains("default/Deployment/hello (changed)"), "{o}");
    assert!(o.contains("--- live/default/Deployment/hello"), "{o}");
    assert!(
        o.contains("-  replicas: 2\n") && o.contains("+  replicas: 3\n"),
        "{o}"
    );
    assert!(o.contains("default/Service/hello-metrics (added)"), "{o}");
    assert!(!o.contains('\u{1b}'), "no colour in a pipe: {o:?}");
    // Helm's --color (--colour): always colours a pipe too.
    let coloured = env
        .berth(&[
            "diff",
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--set",
            "replicaCount=3",
            "--colour=always",
        ])
        .await
        .ok();
    assert!(
        coloured
            .stdout
            .contains("\u{1b}[31m-  replicas: 2\u{1b}[0m\n\u{1b}[32m+  replicas: 3\u{1b}[0m\n"),
        "{:?}",
        coloured.stdout
    );
    assert!(
        !o.contains("resourceVersion") && !o.contains("managedFields"),
        "server fields are left out: {o}"
    );

    let d = env
        .get("apps/v1", "Deployment", "default", "hello")
        .await
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 2, "a diff changes nothing");
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_none()
    );
    let history = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(history.as_array().unwrap().len(), 1, "and records nothing");
}

#[tokio::test]
async fn diff_revision_and_rollback_dry_run() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    env.berth(&[
        "upgrade",
        "hello",
        &env.chart("1.1.0"),
        "--set",
        "replicaCount=3",
        "--wait",
    ])
    .await
    .ok();
    let out = env
        .berth(&["diff", "revision", "hello", "1", "2"])
        .await
        .ok();
    assert!(
        out.stdout
            .starts_with("--- hello revision 1\n+++ hello revision 2\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("+  replicas: 3"), "{}", out.stdout);

    let dry = env
        .berth(&["rollback", "hello", "1", "--dry-run"])
        .await
        .ok();
    assert!(
        dry.stdout
            .contains("default/Service/hello-metrics (removed)"),
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("-  replicas: 3") && dry.stdout.contains("+  replicas: 2"),
        "{}",
        dry.stdout
    );
    assert!(
        env.get("v1", "Service", "default", "hello-metrics")
            .await
            .is_some(),
        "nothing was rolled back"
    );
    let history = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(history.as_array().unwrap().len(), 2);
}
