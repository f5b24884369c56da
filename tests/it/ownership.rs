//! An install or upgrade does not take over objects that exist and belong
//! to somebody else (Helm's "exists and cannot be imported into the current
//! release"), unless asked to with --take-ownership.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;

use crate::common::{Env, write_chart};

fn config_map(name: &str, color: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  color: {color}\n")
}

async fn data_of(api: &Api<ConfigMap>, name: &str) -> (String, Option<String>) {
    let cm = api.get(name).await.unwrap();
    let color = cm.data.unwrap_or_default()["color"].clone();
    let owner = cm
        .metadata
        .annotations
        .unwrap_or_default()
        .get("meta.helm.sh/release-name")
        .cloned();
    (color, owner)
}

#[tokio::test]
async fn an_object_of_nobody_is_refused_until_taken_over() {
    let env = Env::start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.kube().await, "default");
    let mut theirs: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "settings"}, "data": {"color": "red"}}),
    )
    .unwrap();
    theirs = api.create(&PostParams::default(), &theirs).await.unwrap();
    let chart = write_chart(
        &env,
        "app",
        &[
            ("a.yaml", &config_map("app-a", "blue")),
            ("settings.yaml", &config_map("settings", "blue")),
        ],
    );
    let expected = "unable to continue with install: ConfigMap \"settings\" in namespace \"default\" \
         exists and cannot be imported into the current release: invalid ownership metadata; \
         label validation error: missing key \"berth.dev/release\": must be set to \"app\"; \
         annotation validation error: missing key \"meta.helm.sh/release-name\": must be set to \
         \"app\"; annotation validation error: missing key \"meta.helm.sh/release-namespace\": must \
         be set to \"default\"";
    for extra in [None, Some("--dry-run")] {
        let mut args = vec!["install", "app", &chart];
        args.extend(extra);
        let out = env.berth(&args).await.failed();
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{}", out.stderr);
    }
    // Nothing recorded, nothing applied, their object as it was.
    env.berth(&["history", "app"]).await.failed();
    assert!(api.get_opt("app-a").await.unwrap().is_none());
    let now = api.get("settings").await.unwrap();
    assert_eq!(
        now.metadata.resource_version,
        theirs.metadata.resource_version
    );

    env.berth(&["install", "app", &chart, "--take-ownership"])
        .await
        .ok();
    assert_eq!(
        data_of(&api, "settings").await,
        ("blue".into(), Some("app".into()))
    );
    // Once the release's, an upgrade goes on with it.
    let green = write_chart(
        &env,
        "app",
        &[("settings.yaml", &config_map("settings", "green"))],
    );
    env.berth(&["upgrade", "app", &green]).await.ok();
    assert_eq!(
        data_of(&api, "settings").await,
        ("green".into(), Some("app".into()))
    );
}

#[tokio::test]
async fn a_release_does_not_take_another_releases_objects() {
    let env = Env::start().await;
    let api: Api<ConfigMap> = Api::namespaced(env.kube().await, "default");
    let one = write_chart(
        &env,
        "one",
        &[("shared.yaml", &config_map("shared", "red"))],
    );
    env.berth(&["install", "one", &one]).await.ok();

    // Installing a second release with the same object is refused...
    let two = write_chart(
        &env,
        "two",
        &[("shared.yaml", &config_map("shared", "blue"))],
    );
    let out = env.berth(&["install", "two", &two]).await.failed();
    assert!(
        out.stderr.contains(
            "unable to continue with install: ConfigMap \"shared\" in namespace \"default\" exists \
             and cannot be imported into the current release: invalid ownership metadata; label \
             validation error: key \"berth.dev/release\" must equal \"two\": current value is \
             \"one\"; annotation validation error: key \"meta.helm.sh/release-name\" must equal \
             \"two\": current value is \"one\""
        ),
        "{}",
        out.stderr
    );
    // ...and so is an upgrade that adds it.
    let alone = write_chart(&env, "own", &[("own.yaml", &config_map("own", "blue"))]);
    env.berth(&["install", "two", &alone]).await.ok();
    let out = env.berth(&["upgrade", "two", &two]).await.failed();
    assert!(
        out.stderr.contains(
            "unable to continue with update: ConfigMap \"shared\" in namespace \"default\" exists"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(
        env.berth(&["history", "two", "-o", "json"])
            .await
            .ok()
            .json()[0]["revision"],
        1
    );
    assert_eq!(
        data_of(&api, "shared").await,
        ("red".into(), Some("one".into()))
    );

    // Once the first is uninstalled, and its object with it, the second
    // may add one of that name.
    env.berth(&["uninstall", "one"]).await.ok();
    assert!(api.get_opt("shared").await.unwrap().is_none());
    env.berth(&["upgrade", "two", &two]).await.ok();
    assert_eq!(
        data_of(&api, "shared").await,
        ("blue".into(), Some("two".into()))
    );
}
