//! A chart's crds/: created before the templates' objects on install (so a
//! custom resource of the new kind applies in the same operation), never
//! updated or deleted, skipped with --skip-crds — Helm's rules.

use crate::common::{Env, path};

fn chart() -> String {
    path(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/charts/withcrds"))
}

async fn crd_exists(env: &Env) -> bool {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(env.kube().await);
    api.get_opt("widgets.example.com").await.unwrap().is_some()
}

#[tokio::test]
async fn install_creates_crds_first_and_uninstall_leaves_them() {
    let env = Env::start().await;
    let out = env.berth(&["install", "w", &chart(), "--wait"]).await.ok();
    assert!(
        out.stdout
            .contains("CustomResourceDefinition/widgets.example.com created"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("CustomResourceDefinition/widgets.example.com ready (Established)")
    );
    let crd_line = out.stdout.find("widgets.example.com created").unwrap();
    let widget_line = out
        .stdout
        .find("Widget/w-widget (default) created")
        .expect(&out.stdout);
    assert!(
        crd_line < widget_line,
        "the CRD is created before its custom resource"
    );
    let widget = env
        .get("example.com/v1", "Widget", "default", "w-widget")
        .await
        .unwrap();
    assert_eq!(widget["spec"]["size"], 3);

    // The stored manifest is the templates' output only.
    let manifest = env.berth(&["get", "manifest", "w"]).await.ok().stdout;
    assert!(!manifest.contains("CustomResourceDefinition"), "{manifest}");

    // An upgrade does not touch crds/.
    let up = env
        .berth(&["upgrade", "w", &chart(), "--set", "widget.size=5"])
        .await
        .ok();
    assert!(
        !up.stdout.contains("CustomResourceDefinition"),
        "{}",
        up.stdout
    );
    let widget = env
        .get("example.com/v1", "Widget", "default", "w-widget")
        .await
        .unwrap();
    assert_eq!(widget["spec"]["size"], 5);

    env.berth(&["uninstall", "w"]).await.ok();
    assert!(
        env.get("example.com/v1", "Widget", "default", "w-widget")
            .await
            .is_none()
    );
    assert!(crd_exists(&env).await, "berth never deletes CRDs");
}

#[tokio::test]
async fn skip_crds_leaves_them_out() {
    let env = Env::start().await;
    let out = env
        .berth(&["install", "w", &chart(), "--skip-crds"])
        .await
        .failed();
    // Without its CRD, the custom resource's kind is unknown to the cluster.
    assert!(out.stderr.contains("Widget"), "{}", out.stderr);
    assert!(!crd_exists(&env).await);
}
