//! A chart's crds/: created before the templates' objects on install (so a
//! custom resource of the new kind applies in the same operation), never
//! updated or deleted, skipped with --skip-crds — Helm's rules. And the
//! other side of it: an object of a kind the cluster does not serve (no CRD
//! for it, in the cluster or in the release) is refused before anything is
//! recorded or applied, as Helm refuses to build it.

use crate::common::{Env, Out, path, write_chart};

fn chart() -> String {
    path(&std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/charts/withcrds"))
}

/// A namespaced CRD of `kind` (plural: the kind in lower case with an s)
/// in `group`, version v1, any fields allowed.
fn namespaced_crd(group: &str, kind: &str) -> String {
    let singular = kind.to_lowercase();
    format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
         name: {singular}s.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names:\n    \
         plural: {singular}s\n    singular: {singular}\n    kind: {kind}\n  versions:\n    - name: v1\n      \
         served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          \
         type: object\n          x-kubernetes-preserve-unknown-fields: true\n"
    )
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

const CONFIG: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  color: {{ .Values.color | default \"blue\" }}\n";
const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-secret\nstringData:\n  token: t0k3n\n";
const WIDGET: &str =
    "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 1\n";

/// The refusal of a Widget "w" from app/templates/widget.yaml, in Helm's
/// words, on one line.
#[track_caller]
fn refused_for_widget(out: Out, manifest: &str) {
    let out = out.failed();
    let expected = format!(
        "unable to build kubernetes objects from {manifest}: resource mapping not found for name: \"w\" \
         namespace: \"\" from \"app/templates/widget.yaml\": no matches for kind \"Widget\" in version \
         \"example.com/v1\"; ensure CRDs are installed first"
    );
    assert!(out.stderr.contains(&expected), "{}", out.stderr);
    assert_eq!(
        out.stderr.trim().lines().count(),
        1,
        "one line: {}",
        out.stderr
    );
}

async fn app_objects(env: &Env) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    (
        env.get("v1", "ConfigMap", "default", "app-config").await,
        env.get("v1", "Secret", "default", "app-secret").await,
    )
}

#[tokio::test]
async fn an_install_with_a_kind_the_cluster_does_not_serve_is_refused_and_changes_nothing() {
    let env = Env::start().await;
    let chart = write_chart(
        &env,
        "app",
        &[
            ("config.yaml", CONFIG),
            ("secret.yaml", SECRET),
            ("widget.yaml", WIDGET),
        ],
    );
    refused_for_widget(
        env.berth(&["install", "app", &chart]).await,
        "release manifest",
    );
    refused_for_widget(
        env.berth(&["install", "app", &chart, "--dry-run"]).await,
        "release manifest",
    );
    refused_for_widget(
        env.berth(&["diff", "upgrade", "app", &chart, "--install"])
            .await,
        "release manifest",
    );

    // A hook of such a kind is refused too, before the templates' objects
    // are applied.
    let hook = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: h\n  \
                annotations:\n    helm.sh/hook: post-install\n";
    let hooked = write_chart(
        &env,
        "app",
        &[
            ("config.yaml", CONFIG),
            ("secret.yaml", SECRET),
            ("hook.yaml", hook),
        ],
    );
    let out = env.berth(&["install", "app", &hooked]).await.failed();
    assert!(
        out.stderr.contains(
            "unable to build kubernetes object for post-install hook app/templates/hook.yaml: \
             resource mapping not found for name: \"h\" namespace: \"\" from \"app/templates/hook.yaml\": \
             no matches for kind \"Widget\" in version \"example.com/v1\"; ensure CRDs are installed first"
        ),
        "{}",
        out.stderr
    );

    let gone = env.berth(&["history", "app"]).await.failed();
    assert!(gone.stderr.contains("not found"), "{}", gone.stderr);
    let list = env.berth(&["list", "-q"]).await.ok();
    assert_eq!(list.stdout.trim(), "", "no release was recorded");
    assert_eq!(
        app_objects(&env).await,
        (None, None),
        "the cluster is unchanged"
    );
}

#[tokio::test]
async fn an_upgrade_to_a_kind_the_cluster_does_not_serve_is_refused_and_keeps_the_revision() {
    let env = Env::start().await;
    let chart = write_chart(
        &env,
        "app",
        &[("config.yaml", CONFIG), ("secret.yaml", SECRET)],
    );
    env.berth(&["install", "app", &chart]).await.ok();
    let before = app_objects(&env).await;

    let chart = write_chart(
        &env,
        "app",
        &[("config.yaml", CONFIG), ("widget.yaml", WIDGET)],
    );
    let changed = ["--set", "color=red"];
    for extra in [&[][..], &["--dry-run"][..], &["--install"][..]] {
        let mut args = vec!["upgrade", "app", &chart];
        args.extend(changed);
        args.extend(extra);
        refused_for_widget(env.berth(&args).await, "new release manifest");
    }
    refused_for_widget(
        env.berth(&["diff", "upgrade", "app", &chart, "--set", "color=red"])
            .await,
        "new release manifest",
    );

    let history = env
        .berth(&["history", "app", "-o", "json"])
        .await
        .ok()
        .json();
    let revisions = history.as_array().unwrap();
    assert_eq!(revisions.len(), 1, "no revision was recorded: {history}");
    assert_eq!(revisions[0]["status"], "deployed", "{history}");
    let after = app_objects(&env).await;
    assert_eq!(
        after, before,
        "the cluster is unchanged (the Secret is not pruned, the ConfigMap not updated)"
    );
    assert_eq!(after.0.unwrap()["data"]["color"], "blue");
}

#[tokio::test]
async fn a_rollback_to_a_revision_whose_kind_left_the_cluster_is_refused() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let env = Env::start().await;
    // Revision 1 has a Widget (its CRD from crds/), revision 2 none.
    env.berth(&["install", "w", &chart()]).await.ok();
    let plain = write_chart(&env, "withcrds", &[("config.yaml", CONFIG)]);
    env.berth(&["upgrade", "w", &plain]).await.ok();
    // The CRD goes (and the agent has resolved Widget before).
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(env.kube().await);
    crds.delete("widgets.example.com", &Default::default())
        .await
        .unwrap();
    crate::common::wait_for("the CRD to go", || async { !crd_exists(&env).await }).await;

    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["rollback", "w", "1"];
        args.extend(extra);
        let out = env.berth(&args).await.failed();
        assert!(
            out.stderr.contains(
                "unable to build kubernetes objects from new release manifest: resource mapping not found \
                 for name: \"w-widget\" namespace: \"\" from \"withcrds/templates/widget.yaml\": no matches \
                 for kind \"Widget\" in version \"example.com/v1\"; ensure CRDs are installed first"
            ),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
    let history = env.berth(&["history", "w", "-o", "json"]).await.ok().json();
    let revisions = history.as_array().unwrap();
    assert_eq!(revisions.len(), 2, "no revision was recorded: {history}");
    assert_eq!(revisions[1]["status"], "deployed", "{history}");
    assert!(
        env.get("v1", "ConfigMap", "default", "w-config")
            .await
            .is_none(),
        "revision 1's ConfigMap was not applied"
    );
}

#[tokio::test]
async fn a_custom_resource_of_a_crd_among_the_templates_is_refused_as_helm_refuses_it() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let env = Env::start().await;
    // The CRD would be applied with the other objects, not waited for:
    // its kind belongs in crds/ (Helm: "ensure CRDs are installed first").
    let crd = &namespaced_crd("example.org", "Gadget");
    let gadget =
        "apiVersion: example.org/v1\nkind: Gadget\nmetadata:\n  name: g\nspec:\n  size: 2\n";
    let chart = write_chart(
        &env,
        "gadgets",
        &[("crd.yaml", crd), ("gadget.yaml", gadget)],
    );
    let out = env.berth(&["install", "g", &chart]).await.failed();
    assert!(
        out.stderr.contains(
            "resource mapping not found for name: \"g\" namespace: \"\" from \"gadgets/templates/gadget.yaml\": \
             no matches for kind \"Gadget\" in version \"example.org/v1\"; ensure CRDs are installed first"
        ),
        "{}",
        out.stderr
    );
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(env.kube().await);
    assert!(
        crds.get_opt("gadgets.example.org").await.unwrap().is_none(),
        "the CRD was not applied"
    );
    env.berth(&["history", "g"]).await.failed();
}

#[tokio::test]
async fn an_upgrade_or_uninstall_after_a_crd_left_goes_on_without_its_custom_resources() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let env = Env::start().await;
    // Two releases with a Widget each (the CRD from crds/); then the CRD
    // goes, and with it every Widget.
    env.berth(&["install", "w", &chart()]).await.ok();
    env.berth(&["install", "v", &chart()]).await.ok();
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(env.kube().await);
    crds.delete("widgets.example.com", &Default::default())
        .await
        .unwrap();
    crate::common::wait_for("the CRD to go", || async { !crd_exists(&env).await }).await;
    // An upgrade that drops the Widget prunes nothing of it: there is none.
    let plain = write_chart(&env, "withcrds", &[("config.yaml", CONFIG)]);
    env.berth(&["upgrade", "w", &plain]).await.ok();
    let history = env.berth(&["history", "w", "-o", "json"]).await.ok().json();
    assert_eq!(history[1]["status"], "deployed", "{history}");
    // Back to revision 1 is refused: its Widget has no kind to be.
    env.berth(&["rollback", "w", "1"]).await.failed();
    // Uninstalling a release whose deployed revision names a Widget goes
    // through, and deletes the rest.
    assert!(
        env.get("v1", "ConfigMap", "default", "v-config")
            .await
            .is_some()
    );
    env.berth(&["uninstall", "v"]).await.ok();
    assert!(
        env.get("v1", "ConfigMap", "default", "v-config")
            .await
            .is_none(),
        "the release's other objects are gone"
    );
}

#[tokio::test]
async fn a_hook_of_a_kind_the_templates_crd_defines_is_left_to_its_run() {
    let env = Env::start().await;
    // cert-manager's pattern: a CRD among the templates, and a post-install
    // hook of its kind (Helm builds a hook only when it runs it).
    let crd = &namespaced_crd("example.net", "Issuer");
    let issuer = "apiVersion: example.net/v1\nkind: Issuer\nmetadata:\n  name: default\n  \
                  annotations:\n    helm.sh/hook: post-install\nspec:\n  acme: {}\n";
    let chart = write_chart(
        &env,
        "issuers",
        &[("crd.yaml", crd), ("issuer.yaml", issuer)],
    );
    env.berth(&["install", "i", &chart]).await.ok();
    assert!(
        env.get("example.net/v1", "Issuer", "default", "default")
            .await
            .is_some(),
        "the hook ran"
    );
}

#[tokio::test]
async fn a_charts_crds_are_waited_for_together() {
    use berth_sim::faults::{Action, Match, Rule};
    let env = Env::start().await;
    let chart = write_chart(
        &env,
        "kinds",
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kinds\n",
        )],
    );
    let crds = std::path::Path::new(&chart).join("crds");
    std::fs::create_dir_all(&crds).unwrap();
    for kind in ["Alpha", "Beta", "Gamma"] {
        std::fs::write(
            crds.join(format!("{kind}.yaml")),
            namespaced_crd("example.com", kind),
        )
        .unwrap();
    }
    // Each wait's first list answered 300 ms late, so that waits in flight
    // together overlap in the simulator's log.
    env.sim.faults().add(Rule::new(
        Match {
            verb: Some("list".into()),
            resource: Some("customresourcedefinitions".into()),
            ..Match::default()
        },
        Action::delay(300),
    ));
    env.sim.clear_requests();
    let out = env.berth(&["install", "k", &chart]).await.ok();
    for kind in ["alphas", "betas", "gammas"] {
        assert!(
            out.stdout.contains(&format!(
                "CustomResourceDefinition/{kind}.example.com ready (Established)"
            )),
            "{}",
            out.stdout
        );
    }
    let waits: Vec<_> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.verb == "list" && r.query.contains("metadata.name"))
        .map(|r| (r.started, r.started + r.took))
        .collect();
    assert_eq!(waits.len(), 3, "one wait each");
    let first_done = waits.iter().map(|w| w.1).min().unwrap();
    assert!(
        waits.iter().all(|w| w.0 < first_done),
        "waited for one after another"
    );
}
