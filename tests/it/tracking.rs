//! Rollout tracking that says why: a pod signal that waiting will not fix
//! fails the operation once it outlasts its grace period (1 s in these
//! tests), long before --timeout, naming the object, the pod and the reason.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{
    BAD_IMAGE, Env, NEVER_READY, Out, Proxy, says_pull_failed, wait_for, write_chart,
};

#[tokio::test]
async fn an_unpullable_image_fails_the_upgrade_early_and_says_why() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    let out = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.1.0"),
            "--wait",
            "--timeout",
            "10m",
            "--set",
            BAD_IMAGE,
        ])
        .await
        .failed();
    // Not "Timeout": the pull failure itself ends the wait.
    assert!(
        out.stderr.contains("ErrImagePull") || out.stderr.contains("ImagePullBackOff"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Deployment/hello"), "{}", out.stderr);
    assert!(
        out.stderr.contains("pod hello-"),
        "the pod is named: {}",
        out.stderr
    );
    assert!(out.stdout.contains("    pod hello-"), "{}", out.stdout);
    assert!(
        out.stdout.contains("    event: "),
        "the pod's events are shown: {}",
        out.stdout
    );
    let history = env
        .berth(&["history", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(history[1]["status"], "failed");

    // status says why it failed and how each object is doing now.
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    assert!(status.contains("STATUS: failed"), "{status}");
    assert!(
        status.contains("DESCRIPTION: Upgrade \"hello\" failed: Deployment/hello"),
        "{status}"
    );
    assert!(status.contains("RESOURCES:\n"), "{status}");
    // With what keeps it there: its new pod's signal.
    assert!(
        status.contains("  Deployment/hello (default): in progress (")
            && status.contains("; pod hello-")
            && says_pull_failed(&status, "hello", "registry.berth.invalid/hello:"),
        "{status}"
    );
    assert!(
        status.contains("  Service/hello (default): ready (has a cluster IP)"),
        "{status}"
    );
    let json = env
        .berth(&["status", "hello", "-o", "json"])
        .await
        .ok()
        .json();
    assert!(
        json["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "ConfigMap" && r["state"] == "ready")
    );
}

#[tokio::test]
async fn a_crash_loop_fails_the_install_with_the_restart_count() {
    let env = Env::start().await;
    let out = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--wait",
            "--timeout",
            "10m",
            "--set",
            "podAnnotations.kubesim\\.invalid/fail=crash-loop",
        ])
        .await
        .failed();
    assert!(out.stderr.contains("CrashLoopBackOff"), "{}", out.stderr);
    assert!(out.stderr.contains("restarts)"), "{}", out.stderr);
}

#[tokio::test]
async fn wait_covers_statefulsets_daemonsets_claims_and_jobs() {
    let env = Env::start().await;
    let chart = crate::common::path(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/charts/workloads"),
    );
    let out = env
        .berth(&["install", "w", &chart, "--wait", "--wait-for-jobs"])
        .await
        .ok();
    let o = &out.stdout;
    for line in [
        "StatefulSet/w-db (default) ready (2/2 pods ready)",
        "DaemonSet/w-agent (default) ready (3/3 pods available)",
        "PersistentVolumeClaim/w-cache (default) ready (bound)",
        // No class: bound to the chart's own volume.
        "PersistentVolumeClaim/w-archive (default) ready (bound)",
        "Job/w-once (default) ready (complete)",
    ] {
        assert!(o.contains(line), "{line:?} missing from:\n{o}");
    }
    // An update of the StatefulSet waits for the rolling update.
    let up = env
        .berth(&["upgrade", "w", &chart, "--set", "replicas=3", "--wait"])
        .await
        .ok();
    assert!(
        up.stdout
            .contains("StatefulSet/w-db (default) ready (3/3 pods ready)"),
        "{}",
        up.stdout
    );
}

#[tokio::test]
async fn a_progress_deadline_fails_the_wait_before_the_timeout() {
    let env = Env::start().await;
    let chart = crate::common::path(
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/charts/stuck"),
    );
    // Never-ready pods are Running, not failing: only the Deployment's own
    // ProgressDeadlineExceeded condition can end this wait early.
    let out = env
        .berth(&["install", "s", &chart, "--wait", "--timeout", "10m"])
        .await
        .failed();
    assert!(
        out.stderr.contains("ProgressDeadlineExceeded"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Deployment/s-stuck"), "{}", out.stderr);
}

#[tokio::test]
async fn load_balancer_addresses_are_awaited_only_when_asked() {
    let env = Env::start().await;
    let plain = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--wait",
            "--set",
            "service.type=LoadBalancer",
        ])
        .await
        .ok();
    assert!(
        plain
            .stdout
            .contains("Service/hello (default) ready (has a cluster IP)"),
        "{}",
        plain.stdout
    );
    let asked = env
        .berth(&[
            "upgrade",
            "hello",
            &env.chart("1.0.0"),
            "--wait",
            "--wait-for-load-balancers",
            "--set",
            "service.type=LoadBalancer,replicaCount=3",
        ])
        .await
        .ok();
    assert!(
        asked
            .stdout
            .contains("Service/hello (default) ready (load balancer at "),
        "{}",
        asked.stdout
    );
}

/// The lists and watches the agent asked for since the log was cleared,
/// as "verb path", sorted.
fn watched(env: &Env) -> Vec<String> {
    let mut asked: Vec<String> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.verb == "watch" || r.verb == "list")
        .map(|r| format!("{} {}", r.verb, r.path))
        .collect();
    asked.sort();
    asked
}

#[tokio::test]
async fn objects_ready_in_the_applys_response_are_not_watched() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();

    // Nothing changes: every object is ready as the apply returns it.
    env.sim.clear_requests();
    let same = env
        .berth(&["upgrade", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    for line in [
        "Deployment/hello (default) ready (",
        "Service/hello (default) ready (has a cluster IP)",
    ] {
        assert!(
            same.stdout.contains(line),
            "{line:?} missing from:\n{}",
            same.stdout
        );
    }
    assert_eq!(watched(&env), Vec::<String>::new());

    // A new version rolls the Deployment out: it is watched until ready
    // (with its pods, once it is seen rolling), the Service, ready as
    // applied, is not.
    env.sim.clear_requests();
    let up = env
        .berth(&["upgrade", "hello", &env.chart("1.1.0"), "--wait"])
        .await
        .ok();
    assert!(
        up.stdout.contains("Deployment/hello (default) ready ("),
        "{}",
        up.stdout
    );
    let asked = watched(&env);
    for wanted in [
        "list /apis/apps/v1/namespaces/default/deployments",
        "watch /apis/apps/v1/namespaces/default/deployments",
    ] {
        assert!(
            asked.iter().any(|a| a == wanted),
            "{wanted:?} not in {asked:?}"
        );
    }
    let services: Vec<_> = asked.iter().filter(|a| a.contains("/services")).collect();
    assert!(services.is_empty(), "the Service was watched: {services:?}");
}

/// berthd speaks HTTP/2 to an API server that offers it, as client-go does:
/// an upgrade's reads, applies, lists and watches share one connection
/// instead of a TLS handshake for every watch and every concurrent apply.
#[tokio::test]
async fn an_upgrades_requests_and_watches_share_one_http2_connection() {
    let env = Env::start().await;
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    env.sim.clear_requests();
    env.berth(&["upgrade", "hello", &env.chart("1.1.0"), "--wait"])
        .await
        .ok();

    let requests = env.sim.requests();
    assert!(
        requests.iter().any(|r| r.verb == "watch") && requests.iter().any(|r| r.verb == "apply"),
        "the upgrade neither applied nor watched: {requests:?}"
    );
    let versions: BTreeSet<&str> = requests.iter().map(|r| r.http_version.as_str()).collect();
    assert_eq!(versions, BTreeSet::from(["HTTP/2.0"]));
    let connections: BTreeSet<u64> = requests.iter().map(|r| r.connection).collect();
    assert_eq!(connections.len(), 1, "{requests:?}");
    // kube's layers are on the connection: every request carried the
    // kubeconfig's token.
    let users: BTreeSet<&str> = requests.iter().map(|r| r.user.as_str()).collect();
    assert_eq!(users, BTreeSet::from(["berth-sim"]));
}

/// An API server that offers no HTTP/2 (here plain `http://`) is spoken to
/// over HTTP/1.1, and an install waits for its rollout as over HTTP/2.
#[tokio::test]
async fn an_api_server_without_http2_gets_http1() {
    let mut env = Env::plain_http_without_agent().await;
    env.start_agent().await;
    let out = env
        .berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    assert!(
        out.stdout.contains("Deployment/hello (default) ready ("),
        "{}",
        out.stdout
    );
    let requests = env.sim.requests();
    assert!(requests.iter().any(|r| r.verb == "apply"), "{requests:?}");
    let versions: BTreeSet<&str> = requests.iter().map(|r| r.http_version.as_str()).collect();
    assert_eq!(versions, BTreeSet::from(["HTTP/1.1"]));
}

/// More watches than one connection may carry (the simulator allows 200
/// streams on one HTTP/2 connection, as hyper does) do not leave other
/// requests waiting: berthd's client opens another connection once one
/// carries `STREAMS_PER_CONNECTION` requests.
#[tokio::test]
async fn watches_beyond_one_connections_streams_go_on_another() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api, WatchParams};

    let env = Env::without_agent().await;
    let cluster = berth_agent::cluster::Cluster::connect(Some(&env.kubeconfig))
        .await
        .unwrap();
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), "default");
    let mut watches = Vec::new();
    for _ in 0..250 {
        let w = tokio::time::timeout(
            Duration::from_secs(20),
            api.watch(&WatchParams::default().timeout(290), "0"),
        )
        .await
        .expect("a watch starts")
        .unwrap();
        watches.push(w);
    }
    // With every stream of one connection taken this would wait until a
    // watch ended (minutes).
    let listed = tokio::time::timeout(Duration::from_secs(20), api.list(&Default::default()))
        .await
        .expect("the list is not stuck behind the watches");
    listed.unwrap();

    let requests = env.sim.requests();
    let connections: BTreeSet<u64> = requests.iter().map(|r| r.connection).collect();
    assert_eq!(
        connections.len(),
        250_usize.div_ceil(berth_agent::cluster::STREAMS_PER_CONNECTION),
        "{connections:?}"
    );
    drop(watches);
}

/// A simulator, a proxy in front of it, and its ConfigMaps through
/// berthd's client, which keeps its connections as `connections` says.
async fn configmaps_through_proxy(
    connections: berth_agent::cluster::Connections,
) -> (Env, Proxy, kube::Api<k8s_openapi::api::core::v1::ConfigMap>) {
    configmaps_through_proxy_to(Env::without_agent().await, connections).await
}

/// [`configmaps_through_proxy`] to `env`'s simulator.
async fn configmaps_through_proxy_to(
    env: Env,
    connections: berth_agent::cluster::Connections,
) -> (Env, Proxy, kube::Api<k8s_openapi::api::core::v1::ConfigMap>) {
    let proxy = Proxy::start(env.sim.addr()).await;
    let scheme = env.sim.url().split("://").next().unwrap();
    let kubeconfig = env
        .sim
        .kubeconfig_yaml()
        .replace(env.sim.url(), &format!("{scheme}://{}", proxy.addr));
    assert!(kubeconfig.contains(&proxy.addr.to_string()), "{kubeconfig}");
    let path = env.dir.path().join("kubeconfig-through-proxy");
    std::fs::write(&path, kubeconfig).unwrap();
    let cluster = berth_agent::cluster::Cluster::connect_with(Some(&path), connections)
        .await
        .unwrap();
    let api = kube::Api::namespaced(cluster.client(), "default");
    (env, proxy, api)
}

/// Connections closed after a second without a request.
fn idle_after_a_second() -> berth_agent::cluster::Connections {
    berth_agent::cluster::Connections {
        idle_timeout: Duration::from_secs(1),
        ..Default::default()
    }
}

/// Pings after a second without a frame, given a second to be answered.
fn pinged_every_second() -> berth_agent::cluster::Connections {
    berth_agent::cluster::Connections {
        ping_after: Duration::from_secs(1),
        ping_timeout: Duration::from_secs(1),
        ..Default::default()
    }
}

/// The proxy's connections get closed, and the next request opens one anew
/// (rather than waiting on a closed or dead one).
async fn closed_and_the_next_request_opens_another(
    what: &str,
    proxy: &Proxy,
    api: &kube::Api<k8s_openapi::api::core::v1::ConfigMap>,
) {
    wait_for(what, || async { proxy.open() == 0 }).await;
    tokio::time::timeout(Duration::from_secs(30), api.list(&Default::default()))
        .await
        .expect("the next request is not stuck on the old connection")
        .unwrap();
    assert_eq!(proxy.open(), 1);
}

/// A connection to the API server that no request has used for the idle
/// timeout is closed (Go's IdleConnTimeout), and the next request opens
/// another.
#[tokio::test]
async fn a_connection_no_request_uses_is_closed() {
    let (_env, proxy, api) = configmaps_through_proxy(idle_after_a_second()).await;
    api.list(&Default::default()).await.unwrap();
    assert_eq!(proxy.open(), 1);
    closed_and_the_next_request_opens_another("the idle connection to be closed", &proxy, &api)
        .await;
}

/// Over HTTP/1.1 every concurrent request takes a connection of its own;
/// once a burst is over, at most `IDLE_CONNECTIONS_PER_SERVER` of them stay
/// open (client-go's MaxIdleConnsPerHost), not one per request of the burst.
#[tokio::test]
async fn an_http1_burst_leaves_at_most_the_idle_cap_open() {
    let env = Env::plain_http_without_agent().await;
    let (_env, proxy, api) =
        configmaps_through_proxy_to(env, berth_agent::cluster::Connections::default()).await;
    let burst = 2 * berth_agent::cluster::IDLE_CONNECTIONS_PER_SERVER;
    let params = kube::api::ListParams::default();
    let lists = (0..burst).map(|_| api.list(&params));
    for listed in futures::future::join_all(lists).await {
        listed.unwrap();
    }
    assert!(proxy.open() > berth_agent::cluster::IDLE_CONNECTIONS_PER_SERVER);
    wait_for("the connections over the idle cap to be closed", || async {
        proxy.open() == berth_agent::cluster::IDLE_CONNECTIONS_PER_SERVER
    })
    .await;
}

/// The idle timeout counts from a connection's last request, but it ends
/// no stream: a watch opened before it still gets its events after it.
#[tokio::test]
async fn a_watch_outlives_its_connections_idle_timeout() {
    use futures::StreamExt;
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{PostParams, WatchEvent, WatchParams};

    let (_env, proxy, api) = configmaps_through_proxy(idle_after_a_second()).await;
    let version = api.list(&Default::default()).await.unwrap().metadata;
    let mut watch = api
        .watch(
            &WatchParams::default().timeout(290),
            version.resource_version.as_deref().unwrap(),
        )
        .await
        .unwrap()
        .boxed();
    tokio::time::sleep(Duration::from_secs(4)).await;
    // The pool let the watch's connection go: a request opens another.
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("after-the-idle-timeout".into());
    api.create(&PostParams::default(), &cm).await.unwrap();
    assert_eq!(proxy.open(), 2);
    let event = tokio::time::timeout(Duration::from_secs(30), watch.next())
        .await
        .expect("the watch gets the event")
        .expect("the watch goes on")
        .unwrap();
    match event {
        WatchEvent::Added(cm) => {
            assert_eq!(cm.metadata.name.as_deref(), Some("after-the-idle-timeout"))
        }
        other => panic!("{other:?}"),
    }
}

/// A connection that falls silent under an open watch (a peer behind a
/// dead network: no reset, no bytes) is given up once a ping goes
/// unanswered, which ends the watch, and the next request goes over a new
/// connection instead of waiting on the dead one.
#[tokio::test]
async fn a_silent_connection_is_given_up_and_its_watch_ends() {
    use futures::StreamExt;
    use kube::api::WatchParams;

    let (_env, proxy, api) = configmaps_through_proxy(pinged_every_second()).await;
    let mut watch = api
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    proxy.silence();
    // Without the ping the watch would wait out its 290 s.
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = watch.next().await {
            if event.is_err() {
                break;
            }
        }
    })
    .await
    .expect("the watch on the silent connection ends");
    closed_and_the_next_request_opens_another("the silent connection to be closed", &proxy, &api)
        .await;
}

/// An idle connection is pinged too, so one that fell silent while nothing
/// was open on it is closed before a request would be sent on it.
#[tokio::test]
async fn an_idle_connection_that_falls_silent_is_closed_before_a_request_uses_it() {
    let (_env, proxy, api) = configmaps_through_proxy(pinged_every_second()).await;
    api.list(&Default::default()).await.unwrap();
    proxy.silence();
    closed_and_the_next_request_opens_another(
        "the silent idle connection to be closed",
        &proxy,
        &api,
    )
    .await;
}

/// The kubeconfig's `tls-server-name` is the name berthd verifies the API
/// server's certificate against (berthd builds that part of kube's client
/// itself): a name the certificate does not carry fails the operation with
/// the reason, one it carries works.
#[tokio::test]
async fn the_kubeconfigs_tls_server_name_is_verified() {
    for (name, works) in [("not-the-server.invalid", false), ("localhost", true)] {
        let mut env = Env::without_agent().await;
        let kubeconfig = std::fs::read_to_string(&env.kubeconfig).unwrap();
        let server = kubeconfig
            .lines()
            .find(|l| l.trim_start().starts_with("server:"))
            .expect("a server line")
            .to_string();
        let indent = &server[..server.len() - server.trim_start().len()];
        std::fs::write(
            &env.kubeconfig,
            kubeconfig.replace(
                &server,
                &format!("{server}\n{indent}tls-server-name: {name}"),
            ),
        )
        .unwrap();
        env.start_agent().await;
        let out = env
            .berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
            .await;
        if works {
            out.ok();
        } else {
            assert_ne!(out.code, 0, "{}", out.stdout);
            assert!(
                out.stderr.contains("certificate"),
                "no reason in: {}",
                out.stderr
            );
        }
    }
}

/// Pods their ReplicaSet cannot create (a policy webhook, a quota, a
/// missing ServiceAccount: here a fault rule on the simulator's
/// controller) fail the wait with the controller's reason once it outlasts
/// its grace period; refused for a moment, they are only waited for.
#[tokio::test]
async fn pods_admission_refuses_fail_the_wait_with_the_replica_sets_reason() {
    use berth_sim::Rule;
    let env = Env::start().await;
    let denied = "admission webhook \"pods.policy.example\" denied the request: containers must not run as root";
    let refuse = |times: Option<u64>| {
        let rule = Rule::refuse_controller_creates("pods", denied);
        match times {
            Some(n) => rule.times(n),
            None => rule,
        }
    };
    let id = env.sim.faults().add(refuse(None));
    let out = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--wait",
            "--timeout",
            "10m",
        ])
        .await
        .failed();
    // Not "Timeout": the controller's reason ends the wait.
    said_refused(&out, "hello", "Deployment/hello", denied);
    let status = env.berth(&["status", "hello"]).await.ok().stdout;
    assert!(status.contains("STATUS: failed"), "{status}");
    assert!(status.contains(denied), "{status}");

    // Once pods can be created the next upgrade waits and succeeds; a
    // refusal that passes (two pods refused, then created) is waited out.
    env.sim.faults().remove(id);
    env.sim.faults().add(refuse(Some(2)));
    let out = env
        .berth(&["upgrade", "hello", &env.chart("1.1.0"), "--wait"])
        .await
        .ok();
    assert!(
        out.stdout.contains("Deployment/hello (default) ready"),
        "{}",
        out.stdout
    );
}

/// A wait that pods refused by admission ended says so in the error, on
/// the object's progress line and on its failure line.
fn said_refused(out: &Out, release: &str, shown: &str, why: &str) {
    assert!(
        out.stderr.contains(&format!(
            "FailedCreate: Release \"{release}\" failed: {shown} (default): {why}"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!("; FailedCreate: {why}")),
        "the progress says why no pod comes: {}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("{shown} (default) failed: FailedCreate: {why}")),
        "{}",
        out.stdout
    );
}

/// A StatefulSet, DaemonSet or Job whose pods are refused has no
/// condition saying so, only its controller's FailedCreate Events: berth
/// watches those while the workload rolls out, shows the refusal on its
/// progress line and fails the wait with it once it outlasts its grace
/// period, where the wait ran out its timeout; a refusal that a created
/// pod follows is only waited out.
#[tokio::test]
async fn refused_pods_of_workloads_without_a_condition_fail_with_their_events() {
    use berth_sim::Rule;
    let env = Env::start().await;
    let denied = "admission webhook \"pods.policy.example\" denied the request: no hostPath";
    let refusing = env
        .sim
        .faults()
        .add(Rule::refuse_controller_creates("pods", denied));
    let template = "  template:\n    metadata:\n      labels: {app: x}\n    spec:\n      containers:\n      - name: x\n        image: x:1\n";
    let sts = format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  replicas: 1\n  serviceName: db\n  selector:\n    matchLabels: {{app: x}}\n{template}"
    );
    let ds = format!(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: node-agent\nspec:\n  selector:\n    matchLabels: {{app: x}}\n{template}"
    );
    let job = format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n{}      restartPolicy: Never\n",
        template.replace("labels: {app: x}", "labels: {job: x}")
    );
    let charts = [
        ("db", write_chart(&env, "db", &[("sts.yaml", &sts)])),
        (
            "node-agent",
            write_chart(&env, "node-agent", &[("ds.yaml", &ds)]),
        ),
        (
            "migrate",
            write_chart(&env, "migrate", &[("job.yaml", &job)]),
        ),
    ];
    let installs = charts.iter().map(|(name, chart)| async {
        env.berth(&[
            "install",
            name,
            chart,
            "--wait",
            "--wait-for-jobs",
            "--timeout",
            "10m",
        ])
        .await
    });
    let outs = futures::future::join_all(installs).await;
    let expected = [
        (
            "StatefulSet/db",
            "create Pod db-0 in StatefulSet db failed error: ",
        ),
        ("DaemonSet/node-agent", "Error creating: "),
        ("Job/migrate", "Error creating: "),
    ];
    for ((out, (shown, said)), (name, _)) in outs.into_iter().zip(expected).zip(&charts) {
        // Not "Timeout": the controller's Events end the wait.
        said_refused(&out.failed(), name, shown, &format!("{said}{denied}"));
    }

    // Refused twice, then created: waited out. In a namespace of its own,
    // so that the failed releases' controllers, retrying, do not take the
    // two refusals.
    env.sim.faults().remove(refusing);
    let mut twice = Rule::refuse_controller_creates("pods", denied).times(2);
    twice.matches.namespace = Some("other".into());
    env.sim.faults().add(twice);
    let out = env
        .berth(&[
            "install",
            "db",
            &charts[0].1,
            "-n",
            "other",
            "--create-namespace",
            "--wait",
            "--timeout",
            "10m",
        ])
        .await
        .ok();
    assert!(
        out.stdout.contains("StatefulSet/db (other) ready"),
        "{}",
        out.stdout
    );
}

/// A bare Pod is its own pod: an image it cannot pull fails the wait once
/// that lasts its grace period, as a workload's pods do.
#[tokio::test]
async fn a_pod_that_cannot_pull_its_image_fails_the_wait_early() {
    let env = Env::start().await;
    let out = failing_install(&env, "once", ("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: once\nspec:\n  containers:\n  - name: once\n    image: registry.berth.invalid/once:1\n"), "10m").await;
    assert!(
        out.stderr
            .contains("Release \"once\" failed: Pod/once (default): pod once: container once: ")
            && says_pull_failed(&out.stderr, "once", "registry.berth.invalid/once:1"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("\n    event: Failed: Failed to pull image"),
        "{}",
        out.stdout
    );
}

/// A wait that runs out shows what was said about the object: the Events
/// of one of its pods that is not ready, else its own (a claim's
/// provisioning). (A StatefulSet's refused pods fail it before: see
/// `refused_pods_of_workloads_without_a_condition_fail_with_their_events`.)
#[tokio::test]
async fn a_timeout_shows_the_objects_latest_events() {
    let env = Env::start().await;
    // A workload with a pod that is not ready: that pod's Events.
    let out = env
        .berth(&[
            "install",
            "hello",
            &env.chart("1.0.0"),
            "--wait",
            "--timeout",
            "3s",
            "--set",
            NEVER_READY,
        ])
        .await
        .failed();
    assert!(
        out.stdout
            .contains("Deployment/hello (default) failed: Timeout: "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\n    pod hello-"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("\n    event: Unhealthy: Readiness probe failed"),
        "{}",
        out.stdout
    );

    // A Secret the pods mount that nobody created (an `existingSecret`
    // value): the kubelet's FailedMount.
    let out = failing_install(&env, "web", ("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: web:1\n      volumes:\n      - name: tls\n        secret:\n          secretName: web-tls\n"), "3s").await;
    assert!(
        out.stdout.contains(
            "\n    event: FailedMount: MountVolume.SetUp failed for volume \"tls\" : secret \"web-tls\" not found"
        ),
        "{}",
        out.stdout
    );

    // A claim whose class does not exist: the PV controller's Event.
    let out = failing_install(&env, "data", ("pvc.yaml", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\nspec:\n  storageClassName: fast\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"), "3s").await;
    assert!(
        out.stdout
            .contains("PersistentVolumeClaim/data (default) failed: Timeout: ")
            && out.stdout.contains(
                "\n    event: ProvisioningFailed: storageclass.storage.k8s.io \"fast\" not found"
            ),
        "{}",
        out.stdout
    );
    // status says so too: its latest Warning.
    let status = env.berth(&["status", "data"]).await.ok().stdout;
    assert!(
        status.contains(
            "  PersistentVolumeClaim/data (default): in progress (waiting to be bound; ProvisioningFailed: storageclass.storage.k8s.io \"fast\" not found)"
        ),
        "{status}"
    );
}

/// A Secret the containers take a variable from that nobody created: the
/// kubelet's CreateContainerConfigError fails the wait early, in its words.
#[tokio::test]
async fn a_missing_secret_for_the_environment_fails_the_wait_early() {
    let env = Env::start().await;
    let out = failing_install(&env, "api", ("deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels: {app: api}\n  template:\n    metadata:\n      labels: {app: api}\n    spec:\n      containers:\n      - name: api\n        image: api:1\n        env:\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef: {name: api-db, key: password}\n"), "10m").await;
    assert!(
        out.stderr.contains("Deployment/api (default): pod api-")
            && out.stderr.contains(
                ": container api: CreateContainerConfigError: secret \"api-db\" not found"
            ),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("    event: Failed: Error: secret \"api-db\" not found"),
        "{}",
        out.stdout
    );
}

/// Installs `name`, a chart of one template, with `--wait` and `timeout`:
/// the install must fail; what it printed.
async fn failing_install(env: &Env, name: &str, template: (&str, &str), timeout: &str) -> Out {
    let chart = write_chart(env, name, &[template]);
    env.berth(&["install", name, &chart, "--wait", "--timeout", timeout])
        .await
        .failed()
}
