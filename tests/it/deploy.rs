//! deploy/chart/berthd: the chart that runs berthd renders with `berth
//! template` and berth itself installs it (both RBAC variants render; the
//! cluster one is installed into the simulator).

use crate::common::{Env, berth_raw};

fn chart() -> String {
    format!("{}/deploy/chart/berthd", env!("CARGO_MANIFEST_DIR"))
}

fn kinds(rendered: &str) -> Vec<String> {
    let mut k: Vec<String> = rendered
        .lines()
        .filter_map(|l| l.strip_prefix("kind: "))
        .map(str::to_string)
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn the_berthd_chart_renders_both_rbac_variants() {
    let args = |extra: &[&str]| {
        let mut a: Vec<String> = ["template", "berthd", &chart(), "-n", "berth-system"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let cluster = berth_raw(&args(&["--set", "image.tag=1.2.3"])).await.ok();
    assert_eq!(
        kinds(&cluster.stdout),
        [
            "ClusterRole",
            "ClusterRole",
            "ClusterRoleBinding",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment",
            "PersistentVolumeClaim",
            "Service",
            "ServiceAccount"
        ]
    );
    let o = &cluster.stdout;
    assert!(o.contains("image: \"berthd:1.2.3\""), "{o}");
    assert!(o.contains("- --http-listen=0.0.0.0:9090"), "{o}");
    assert!(o.contains("secretName: berthd-tls"), "{o}");
    assert!(
        !o.contains("--drift-interval"),
        "drift checks are off by default"
    );
    assert!(!o.contains("--journal-cache"), "berthd's default cache");

    let ns = berth_raw(&args(&[
        "--set",
        "rbac.scope=namespace",
        "--set",
        "rbac.namespaces={shop,blog}",
        "--set",
        "driftInterval=10m",
        "--set",
        "journalCache=256Mi",
    ]))
    .await
    .ok();
    let k = kinds(&ns.stdout);
    assert_eq!(k.iter().filter(|k| *k == "Role").count(), 2, "{k:?}");
    assert_eq!(k.iter().filter(|k| *k == "RoleBinding").count(), 2);
    assert!(!k.iter().any(|k| k.starts_with("Cluster")), "{k:?}");
    assert!(ns.stdout.contains("namespace: shop") && ns.stdout.contains("namespace: blog"));
    assert!(ns.stdout.contains("- --drift-interval=10m"));
    assert!(ns.stdout.contains("- --journal-cache=256Mi"));

    let bad = berth_raw(&args(&["--set", "rbac.scope=everything"]))
        .await
        .failed();
    assert!(
        bad.stderr
            .contains("rbac.scope must be cluster, namespace or none, not \"everything\""),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn berth_installs_the_berthd_chart() {
    let env = Env::start().await;
    env.berth(&[
        "install",
        "berthd",
        &chart(),
        "-n",
        "berth-system",
        "--create-namespace",
        "--set",
        "policy.rules[0].identities={ci-bot}",
    ])
    .await
    .ok();
    let d = env
        .get("apps/v1", "Deployment", "berth-system", "berthd")
        .await
        .expect("the Deployment is installed");
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        d["spec"]["template"]["spec"]["serviceAccountName"],
        "berthd"
    );
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .contains(&"--policy=/etc/berthd/policy/policy.yaml".into())
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let policy = env
        .get("v1", "ConfigMap", "berth-system", "berthd-policy")
        .await
        .unwrap();
    assert!(
        policy["data"]["policy.yaml"]
            .as_str()
            .unwrap()
            .contains("- ci-bot"),
        "{policy}"
    );
    assert!(
        env.get(
            "v1",
            "PersistentVolumeClaim",
            "berth-system",
            "berthd-journal"
        )
        .await
        .is_some()
    );
    let status = env
        .berth(&["status", "berthd", "-n", "berth-system", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(status["info"]["status"], "deployed");
    let resources = status["resources"].as_array().unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r["kind"] == "ClusterRoleBinding" && r["name"] == "berthd-charts"),
        "{resources:?}"
    );
    env.berth(&["drift", "berthd", "-n", "berth-system"])
        .await
        .ok();
}
