//! Rollout controllers (SIM_SPEC §5): Deployments reach readiness through real intermediate
//! states, on a real clock and step by step on a manual one (checks R1, R7).

use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;

use crate::support::{start, start_manual};

fn deployment(name: &str, replicas: i32, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    })
}

/// kubectl's rollout-status "done" rule for Deployments.
fn kubectl_done(d: &Deployment) -> bool {
    let (Some(spec), Some(st)) = (&d.spec, &d.status) else {
        return false;
    };
    let want = spec.replicas.unwrap_or(1);
    let gen_ok = st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0);
    let updated = st.updated_replicas.unwrap_or(0);
    gen_ok
        && updated >= want
        && st.replicas.unwrap_or(0) <= updated
        && st.available_replicas.unwrap_or(0) >= updated
}

#[tokio::test]
async fn deployment_becomes_ready_on_a_real_clock() {
    let (sim, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    // Collect what the watch delivers while the rollout runs.
    let states = watcher(
        api.clone(),
        watcher::Config::default().fields("metadata.name=web"),
    )
    .applied_objects()
    .boxed();
    let collector = tokio::spawn(async move {
        let mut states = states;
        let mut seen = Vec::new();
        while let Some(Ok(d)) = states.next().await {
            let st = d.status.unwrap_or_default();
            let t = (
                st.updated_replicas.unwrap_or(0),
                st.ready_replicas.unwrap_or(0),
                st.available_replicas.unwrap_or(0),
            );
            seen.push(t);
            if t == (3, 3, 3) {
                break;
            }
        }
        seen
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    api.patch(
        "web",
        &PatchParams::apply("berth").force(),
        &Patch::Apply(&deployment("web", 3, "nginx:1.25")),
    )
    .await
    .unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "web", conditions::is_deployment_completed()),
    )
    .await
    .expect("ready in time")
    .unwrap()
    .unwrap();
    assert!(kubectl_done(&done), "{:?}", done.status);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    // The watch delivered intermediate states on the way.
    let seen = tokio::time::timeout(Duration::from_secs(5), collector)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.len() >= 3, "{seen:?}");
    assert_eq!(seen.last(), Some(&(3, 3, 3)));
    let status = done.status.unwrap();
    let conds = status.conditions.unwrap();
    let progressing = conds.iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(
        progressing.reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );
    let available = conds.iter().find(|c| c.type_ == "Available").unwrap();
    assert_eq!(available.status, "True");

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 3);
    for p in list.items {
        let st = p.status.unwrap();
        assert_eq!(st.phase.as_deref(), Some("Running"));
        assert!(st.pod_ip.is_some());
        assert!(
            p.spec
                .unwrap()
                .node_name
                .unwrap()
                .starts_with("kubesim-node-")
        );
        assert!(p.metadata.owner_references.unwrap()[0].controller.unwrap());
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn rolling_update_steps_on_a_manual_clock_r1() {
    let (sim, client) = start_manual().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("berth");
    api.patch(
        "web",
        &pp,
        &Patch::Apply(&deployment("web", 3, "nginx:1.25")),
    )
    .await
    .unwrap();
    // Nothing moves before the controllers run.
    assert!(
        api.get("web")
            .await
            .unwrap()
            .status
            .unwrap_or_default()
            .observed_generation
            .is_none()
    );
    sim.settle().await;
    for _ in 0..10 {
        sim.clock().advance(Duration::from_millis(250)).await;
    }
    let d = api.get("web").await.unwrap();
    assert!(kubectl_done(&d));

    // Roll out a new template and watch (updated, replicas, available) step by step.
    api.patch(
        "web",
        &pp,
        &Patch::Apply(&deployment("web", 3, "nginx:1.26")),
    )
    .await
    .unwrap();
    let d = api.get("web").await.unwrap();
    assert!(
        conditions::is_deployment_completed().matches_object(Some(&d)),
        "the documented race (R7)"
    );
    assert!(!kubectl_done(&d), "observedGeneration lags");
    let mut trace = Vec::new();
    for _ in 0..40 {
        sim.clock().advance(Duration::from_millis(100)).await;
        let st = api.get("web").await.unwrap().status.unwrap();
        let t = (
            st.updated_replicas.unwrap_or(0),
            st.replicas.unwrap_or(0),
            st.available_replicas.unwrap_or(0),
        );
        assert!(t.1 <= 4, "never more than replicas + maxSurge: {t:?}");
        assert!(t.2 >= 3, "maxUnavailable 0 keeps 3 available: {t:?}");
        if trace.last() != Some(&t) {
            trace.push(t);
        }
    }
    assert_eq!(trace.last(), Some(&(3, 3, 3)), "{trace:?}");
    assert!(trace.contains(&(1, 4, 3)), "{trace:?}");
    let d = api.get("web").await.unwrap();
    assert!(kubectl_done(&d));
    let rs: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let sets = rs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(sets.len(), 2);
    let revisions: Vec<String> = sets
        .iter()
        .map(|r| {
            r.metadata.annotations.as_ref().unwrap()["deployment.kubernetes.io/revision"].clone()
        })
        .collect();
    assert!(revisions.contains(&"2".to_string()));
    assert_eq!(
        d.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "2"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn recreate_strategy_stops_old_pods_first() {
    let (sim, client) = start_manual().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let mut d = deployment("rc", 2, "app:1");
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    let pp = PatchParams::apply("berth");
    api.patch("rc", &pp, &Patch::Apply(&d)).await.unwrap();
    sim.clock().advance(Duration::from_secs(2)).await;
    assert!(kubectl_done(&api.get("rc").await.unwrap()));
    d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
    api.patch("rc", &pp, &Patch::Apply(&d)).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for _ in 0..30 {
        sim.clock().advance(Duration::from_millis(100)).await;
        let images: Vec<String> = pods
            .list(&ListParams::default().labels("app=rc"))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .map(|p| p.spec.unwrap().containers[0].image.clone().unwrap())
            .collect();
        assert!(
            !(images.contains(&"app:1".to_string()) && images.contains(&"app:2".to_string())),
            "never both: {images:?}"
        );
    }
    assert!(kubectl_done(&api.get("rc").await.unwrap()));
    sim.shutdown().await;
}

#[tokio::test]
async fn realistic_profile_takes_seconds_of_simulated_time() {
    crate::support::init();
    // Ten times faster than the wall clock: a few simulated seconds pass in well under one.
    let sim = berth_sim::Simulator::builder()
        .profile(berth_sim::Profile::Realistic)
        .clock(berth_sim::Clock::Real { scale: 10.0 })
        .start()
        .await
        .unwrap();
    let client = crate::support::client(&sim).await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let started = sim.clock().now();
    api.patch(
        "slow",
        &PatchParams::apply("berth"),
        &Patch::Apply(&deployment("slow", 2, "app:1")),
    )
    .await
    .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(api.clone(), "slow", conditions::is_deployment_completed()),
    )
    .await
    .unwrap()
    .unwrap();
    let took = (sim.clock().now() - started).num_milliseconds();
    assert!((1500..=9000).contains(&took), "simulated {took}ms");
    sim.shutdown().await;
}

#[tokio::test]
async fn many_concurrent_waits() {
    let (sim, client) = start().await;
    let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pp = PatchParams::apply("berth");
    let mut waits = Vec::new();
    for i in 0..25 {
        let name = format!("d{i}");
        api.patch(&name, &pp, &Patch::Apply(&deployment(&name, 1, "app:1")))
            .await
            .unwrap();
        let api = api.clone();
        waits.push(tokio::spawn(async move {
            await_condition(api, &name, conditions::is_deployment_completed()).await
        }));
    }
    for w in waits {
        tokio::time::timeout(Duration::from_secs(20), w)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn manual_runs_are_deterministic_from_the_seed() {
    async fn run() -> Vec<(String, String, String)> {
        let (sim, client) = start_manual().await;
        let api: Api<Deployment> = Api::namespaced(client.clone(), "default");
        api.patch(
            "det",
            &PatchParams::apply("berth"),
            &Patch::Apply(&deployment("det", 3, "app:1")),
        )
        .await
        .unwrap();
        sim.clock().advance(Duration::from_secs(3)).await;
        api.patch(
            "det",
            &PatchParams::apply("berth"),
            &Patch::Apply(&deployment("det", 3, "app:2")),
        )
        .await
        .unwrap();
        sim.clock().advance(Duration::from_secs(3)).await;
        let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
        let out = pods
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|p| {
                (
                    p.metadata.name.unwrap(),
                    p.metadata.uid.unwrap(),
                    p.metadata.resource_version.unwrap(),
                )
            })
            .collect();
        sim.shutdown().await;
        out
    }
    let (a, b) = (run().await, run().await);
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_container_starts_at_its_start_delay_not_a_reconcile_later() {
    // SIM_SPEC §5: the reconcile latency is how long controllers take to notice a change; a
    // timer (a container's start-delay, a grace period) stands for something that happens at
    // its time, as a kubelet starts a container. With a latency of 3 s and a start-delay of
    // 100 ms, a scheduled pod runs 100 ms later, not 3.1 s (the margin is for a busy machine).
    crate::support::init();
    let mut timings = berth_sim::Profile::Fast.timings();
    timings.reconcile_latency = (Duration::from_secs(3), Duration::from_secs(3));
    timings.start_delay = Duration::from_millis(100);
    let sim = berth_sim::Simulator::builder()
        .clock(berth_sim::Clock::Real { scale: 1.0 })
        .timings(timings)
        .start()
        .await
        .unwrap();
    let client = crate::support::client(&sim).await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
    pods.patch("p", &PatchParams::apply("berth"), &Patch::Apply(&pod))
        .await
        .unwrap();
    let mut scheduled = None;
    let deadline = Instant::now() + Duration::from_secs(20);
    let running = loop {
        assert!(Instant::now() < deadline, "the pod never ran");
        let p = pods.get("p").await.unwrap();
        let spec_node = p.spec.as_ref().and_then(|s| s.node_name.clone());
        if spec_node.is_some() && scheduled.is_none() {
            scheduled = Some(Instant::now());
        }
        if p.status.and_then(|s| s.phase).as_deref() == Some("Running") {
            break Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let took = running - scheduled.expect("scheduled before it ran");
    assert!(
        took < Duration::from_millis(1500),
        "ran {took:?} after it was scheduled"
    );
    sim.shutdown().await;
}
