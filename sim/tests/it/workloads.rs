//! Workload controllers and failure modes (SIM_SPEC §5, checks R2–R6) plus Services, PVCs
//! and Events.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{get, raw, start_manual, start_manual_checking_pod_sources};

fn ns_path(group_version: &str, plural: &str) -> String {
    if group_version == "v1" {
        format!("/api/v1/namespaces/default/{plural}")
    } else {
        format!("/apis/{group_version}/namespaces/default/{plural}")
    }
}

fn pod_template(name: &str, annotations: Value, image: &str, restart: &str) -> Value {
    json!({"metadata": {"labels": {"app": name}, "annotations": annotations},
           "spec": {"restartPolicy": restart, "containers": [{"name": "app", "image": image}]}})
}

async fn pods(client: &kube::Client, label: &str) -> Vec<Value> {
    let l = get(
        client,
        &format!("/api/v1/namespaces/default/pods?labelSelector=app%3D{label}"),
    )
    .await
    .json();
    l["items"].as_array().cloned().unwrap_or_default()
}

fn condition<'a>(obj: &'a Value, t: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
}

#[tokio::test]
async fn image_pull_failure_exceeds_progress_deadline_r2() {
    let (sim, client) = start_manual().await;
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bad"},
        "spec": {"replicas": 1, "progressDeadlineSeconds": 30, "selector": {"matchLabels": {"app": "bad"}},
                 "template": pod_template("bad", json!({}), "registry.x.invalid/app:1", "Always")}});
    raw(
        &client,
        "POST",
        &ns_path("apps/v1", "deployments"),
        Some(&d),
        &[],
    )
    .await;
    sim.clock().advance(Duration::from_secs(5)).await;
    let p = &pods(&client, "bad").await[0];
    let reason = p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason == "ImagePullBackOff" || reason == "ErrImagePull",
        "{reason}"
    );
    assert_eq!(p["status"]["phase"], "Pending");
    sim.clock().advance(Duration::from_secs(30)).await;
    let d = get(
        &client,
        &format!("{}/bad", ns_path("apps/v1", "deployments")),
    )
    .await
    .json();
    let progressing = condition(&d, "Progressing").unwrap();
    assert_eq!(progressing["status"], "False");
    assert_eq!(progressing["reason"], "ProgressDeadlineExceeded");
    let events = get(
        &client,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DBackOff",
    )
    .await
    .json();
    assert!(!events["items"].as_array().unwrap().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn crash_loop_backs_off_r3() {
    let (sim, client) = start_manual().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "crash", "labels": {"app": "crash"}, "annotations": {"kubesim.invalid/fail": "crash-loop"}},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
    raw(&client, "POST", &ns_path("v1", "pods"), Some(&pod), &[]).await;
    sim.clock().advance(Duration::from_secs(2)).await;
    let p = get(&client, "/api/v1/namespaces/default/pods/crash")
        .await
        .json();
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(p["status"]["phase"], "Running");
    let first = cs["restartCount"].as_i64().unwrap();
    sim.clock().advance(Duration::from_secs(60)).await;
    let p = get(&client, "/api/v1/namespaces/default/pods/crash")
        .await
        .json();
    assert!(
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap()
            > first
    );
    assert_eq!(condition(&p, "Ready").unwrap()["status"], "False");
    sim.shutdown().await;
}

#[tokio::test]
async fn statefulset_orders_pods_and_updates_in_reverse_r4() {
    let (sim, client) = start_manual().await;
    let path = ns_path("apps/v1", "statefulsets");
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": pod_template("db", json!({}), "db:1", "Always"),
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}});
    raw(&client, "POST", &path, Some(&sts), &[]).await;
    let mut order = Vec::new();
    for _ in 0..20 {
        sim.clock().advance(Duration::from_millis(100)).await;
        for p in pods(&client, "db").await {
            let n = p["metadata"]["name"].as_str().unwrap().to_string();
            if !order.contains(&n) {
                order.push(n);
            }
        }
    }
    assert_eq!(order, ["db-0", "db-1", "db-2"]);
    let pvcs = get(&client, "/api/v1/namespaces/default/persistentvolumeclaims")
        .await
        .json();
    let names: Vec<&str> = pvcs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data-db-0", "data-db-1", "data-db-2"]);
    assert!(
        pvcs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"]["phase"] == "Bound")
    );

    let s = get(&client, &format!("{path}/db")).await.json();
    let old_rev = s["status"]["updateRevision"].as_str().unwrap().to_string();
    assert_eq!(s["status"]["readyReplicas"], 3);
    raw(
        &client,
        "PATCH",
        &format!("{path}/db"),
        Some(&json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "db:2"}]}}}})),
        &[("content-type", "application/strategic-merge-patch+json")],
    )
    .await;
    let mut updated_order = Vec::new();
    for _ in 0..40 {
        sim.clock().advance(Duration::from_millis(100)).await;
        for p in pods(&client, "db").await {
            let n = p["metadata"]["name"].as_str().unwrap().to_string();
            let rev = p["metadata"]["labels"]["controller-revision-hash"]
                .as_str()
                .unwrap()
                .to_string();
            if rev != old_rev && !updated_order.contains(&n) {
                updated_order.push(n);
            }
        }
    }
    assert_eq!(updated_order, ["db-2", "db-1", "db-0"]);
    let s = get(&client, &format!("{path}/db")).await.json();
    assert_eq!(
        s["status"]["currentRevision"],
        s["status"]["updateRevision"]
    );
    assert_eq!(s["status"]["updatedReplicas"], 3);
    assert!(s["status"]["observedGeneration"].as_i64() >= s["metadata"]["generation"].as_i64());
    sim.shutdown().await;
}

#[tokio::test]
async fn daemonset_runs_one_pod_per_node_r5() {
    let (sim, client) = start_manual().await;
    let path = ns_path("apps/v1", "daemonsets");
    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": pod_template("agent", json!({}), "agent:1", "Always")}});
    raw(&client, "POST", &path, Some(&ds), &[]).await;
    sim.clock().advance(Duration::from_secs(2)).await;
    let d = get(&client, &format!("{path}/agent")).await.json();
    assert_eq!(d["status"]["desiredNumberScheduled"], 3);
    assert_eq!(d["status"]["numberAvailable"], 3);
    let mut nodes: Vec<String> = pods(&client, "agent")
        .await
        .iter()
        .map(|p| p["spec"]["nodeName"].as_str().unwrap().to_string())
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        ["kubesim-node-0", "kubesim-node-1", "kubesim-node-2"]
    );
    raw(
        &client,
        "PATCH",
        &format!("{path}/agent"),
        Some(&json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "agent:2"}]}}}})),
        &[("content-type", "application/strategic-merge-patch+json")],
    )
    .await;
    for _ in 0..30 {
        sim.clock().advance(Duration::from_millis(200)).await;
    }
    let d = get(&client, &format!("{path}/agent")).await.json();
    assert_eq!(d["status"]["updatedNumberScheduled"], 3, "{}", d["status"]);
    assert_eq!(d["status"]["numberAvailable"], 3);
    assert_eq!(d["status"]["observedGeneration"], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn jobs_complete_and_fail_r6() {
    let (sim, client) = start_manual().await;
    let path = ns_path("batch/v1", "jobs");
    let flaky = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "flaky"},
        "spec": {"backoffLimit": 6, "template": pod_template("flaky", json!({"kubesim.invalid/fail-count": "2"}), "job:1", "Never")}});
    raw(&client, "POST", &path, Some(&flaky), &[]).await;
    let broken = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "broken"},
        "spec": {"backoffLimit": 2, "template": pod_template("broken", json!({"kubesim.invalid/fail": "exit:1"}), "job:1", "Never")}});
    raw(&client, "POST", &path, Some(&broken), &[]).await;
    for _ in 0..30 {
        sim.clock().advance(Duration::from_millis(200)).await;
    }
    let j = get(&client, &format!("{path}/flaky")).await.json();
    assert_eq!(j["status"]["failed"], 2, "{}", j["status"]);
    assert_eq!(j["status"]["succeeded"], 1);
    let complete = condition(&j, "Complete").unwrap();
    assert_eq!(complete["reason"], "CompletionsReached");
    assert!(condition(&j, "SuccessCriteriaMet").is_some());
    assert!(j["status"]["completionTime"].is_string());

    let j = get(&client, &format!("{path}/broken")).await.json();
    assert_eq!(j["status"]["failed"], 3, "{}", j["status"]);
    let failed = condition(&j, "Failed").unwrap();
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert!(condition(&j, "FailureTarget").is_some());
    // A template change is refused.
    let r = raw(
        &client,
        "PATCH",
        &format!("{path}/broken"),
        Some(&json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "job:2"}]}}}})),
        &[("content-type", "application/strategic-merge-patch+json")],
    )
    .await;
    assert_eq!(r.status, 422);
    sim.shutdown().await;
}

#[tokio::test]
async fn services_get_cluster_ips_and_load_balancers() {
    let (sim, client) = start_manual().await;
    let path = ns_path("v1", "services");
    let svc = json!({"metadata": {"name": "web"}, "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}});
    let s = raw(&client, "POST", &path, Some(&svc), &[]).await.json();
    let ip = s["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(ip.starts_with("10.96."), "{ip}");
    assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
    assert_eq!(s["spec"]["ports"][0]["protocol"], "TCP");
    assert!(s["spec"]["ports"][0]["nodePort"].as_i64().unwrap() >= 30000);
    sim.clock().advance(Duration::from_secs(1)).await;
    let s = get(&client, &format!("{path}/web")).await.json();
    assert!(s["status"]["loadBalancer"]["ingress"][0]["ip"].is_string());
    let mut changed = s.clone();
    changed["spec"]["clusterIP"] = json!("10.96.9.9");
    changed["spec"]["clusterIPs"] = json!(["10.96.9.9"]);
    let r = raw(&client, "PUT", &format!("{path}/web"), Some(&changed), &[]).await;
    assert_eq!(r.status, 422);
    let kubernetes = get(&client, &format!("{path}/kubernetes")).await.json();
    assert_eq!(kubernetes["spec"]["clusterIP"], "10.96.0.1");
    sim.shutdown().await;
}

#[tokio::test]
async fn events_are_deduplicated_with_counts() {
    let (sim, client) = start_manual().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "ev", "annotations": {"kubesim.invalid/fail": "crash-loop"}},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
    raw(&client, "POST", &ns_path("v1", "pods"), Some(&pod), &[]).await;
    sim.clock().advance(Duration::from_secs(120)).await;
    let events = get(&client, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dev%2Creason%3DBackOff").await.json();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0]["count"].as_i64().unwrap() >= 2);
    assert_eq!(items[0]["involvedObject"]["kind"], "Pod");
    assert_eq!(items[0]["source"]["component"], "kubelet");
    let scheduled = get(
        &client,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DScheduled",
    )
    .await
    .json();
    assert_eq!(scheduled["items"].as_array().unwrap().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn cronjobs_create_jobs_on_schedule() {
    let (sim, client) = start_manual().await;
    let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
        "spec": {"schedule": "*/1 * * * *", "successfulJobsHistoryLimit": 2,
                 "jobTemplate": {"spec": {"template": pod_template("tick", json!({}), "busybox:1", "Never")}}}});
    assert_eq!(
        raw(
            &client,
            "POST",
            &ns_path("batch/v1", "cronjobs"),
            Some(&cj),
            &[]
        )
        .await
        .status,
        201
    );
    sim.clock().advance(Duration::from_secs(61)).await;
    let jobs = get(&client, &ns_path("batch/v1", "jobs")).await.json();
    assert_eq!(jobs["items"].as_array().unwrap().len(), 1);
    for _ in 0..4 {
        sim.clock().advance(Duration::from_secs(60)).await;
    }
    let jobs = get(&client, &ns_path("batch/v1", "jobs")).await.json();
    let n = jobs["items"].as_array().unwrap().len();
    assert!(
        (2..=3).contains(&n),
        "history limit keeps 2 finished (+1 running): {n}"
    );
    let c = get(
        &client,
        &format!("{}/tick", ns_path("batch/v1", "cronjobs")),
    )
    .await
    .json();
    assert!(c["status"]["lastScheduleTime"].is_string());
    assert!(c["status"]["lastSuccessfulTime"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn pod_failure_modes_show_the_reasons_kubectl_looks_for() {
    let (sim, client) = start_manual().await;
    for (name, fail) in [
        ("nr", "never-ready"),
        ("ce", "create-error"),
        ("us", "unschedulable"),
    ] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": {"kubesim.invalid/fail": fail}},
            "spec": {"containers": [{"name": "app", "image": "app:1"}]}});
        raw(&client, "POST", &ns_path("v1", "pods"), Some(&pod), &[]).await;
    }
    sim.clock().advance(Duration::from_secs(5)).await;
    let pod = |n: &str| {
        let client = client.clone();
        let path = format!("/api/v1/namespaces/default/pods/{n}");
        async move { get(&client, &path).await.json() }
    };
    let nr = pod("nr").await;
    assert_eq!(nr["status"]["phase"], "Running");
    assert_eq!(nr["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(condition(&nr, "Ready").unwrap()["status"], "False");
    let ce = pod("ce").await;
    assert_eq!(
        ce["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "CreateContainerConfigError"
    );
    let us = pod("us").await;
    let scheduled = condition(&us, "PodScheduled").unwrap();
    assert_eq!(
        (scheduled["status"].as_str(), scheduled["reason"].as_str()),
        (Some("False"), Some("Unschedulable"))
    );
    assert!(us["spec"].get("nodeName").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn paused_deployments_and_min_ready_seconds() {
    let (sim, client) = start_manual().await;
    let path = ns_path("apps/v1", "deployments");
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "slow"},
        "spec": {"replicas": 2, "minReadySeconds": 10, "selector": {"matchLabels": {"app": "slow"}},
                 "template": pod_template("slow", json!({}), "app:1", "Always")}});
    raw(&client, "POST", &path, Some(&d), &[]).await;
    sim.clock().advance(Duration::from_secs(3)).await;
    let st = get(&client, &format!("{path}/slow")).await.json()["status"].clone();
    assert_eq!(st["readyReplicas"], 2);
    assert!(
        st.get("availableReplicas").is_none(),
        "ready but not yet available: {st}"
    );
    sim.clock().advance(Duration::from_secs(10)).await;
    let st = get(&client, &format!("{path}/slow")).await.json()["status"].clone();
    assert_eq!(st["availableReplicas"], 2);

    let merge = [("content-type", "application/merge-patch+json")];
    raw(&client, "PATCH", &format!("{path}/slow"), Some(&json!({"spec": {"paused": true, "template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}})), &merge).await;
    sim.clock().advance(Duration::from_secs(3)).await;
    let d = get(&client, &format!("{path}/slow")).await.json();
    assert_eq!(
        condition(&d, "Progressing").unwrap()["reason"],
        "DeploymentPaused"
    );
    assert_eq!(
        get(&client, &ns_path("apps/v1", "replicasets"))
            .await
            .json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "no rollout while paused"
    );
    raw(
        &client,
        "PATCH",
        &format!("{path}/slow"),
        Some(&json!({"spec": {"paused": false}})),
        &merge,
    )
    .await;
    sim.clock().advance(Duration::from_secs(30)).await;
    let d = get(&client, &format!("{path}/slow")).await.json();
    assert_eq!(
        condition(&d, "Progressing").unwrap()["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(d["status"]["updatedReplicas"], 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn job_active_deadline() {
    let (sim, client) = start_manual().await;
    let path = ns_path("batch/v1", "jobs");
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "late"},
        "spec": {"activeDeadlineSeconds": 5, "template": pod_template("late", json!({"kubesim.invalid/run-duration": "1h"}), "job:1", "Never")}});
    raw(&client, "POST", &path, Some(&job), &[]).await;
    sim.clock().advance(Duration::from_secs(6)).await;
    let j = get(&client, &format!("{path}/late")).await.json();
    assert_eq!(
        condition(&j, "Failed").unwrap()["reason"],
        "DeadlineExceeded"
    );
    sim.shutdown().await;
}

/// Names as kube-apiserver makes and checks them: a generated name is its
/// base cut to 58 bytes and five random characters (SimpleNameGenerator), so
/// a Deployment with a long name still gets its pods; a DNS subdomain has no
/// 63-byte limit between its dots.
#[tokio::test]
async fn long_names_get_pods() {
    let (sim, client) = start_manual().await;
    let name = "yace-prometheus-yet-another-cloudwatch-exporter";
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": pod_template(name, json!({}), "app:1", "Always")}});
    let r = raw(
        &client,
        "POST",
        &ns_path("apps/v1", "deployments"),
        Some(&d),
        &[],
    )
    .await;
    assert_eq!(r.status, 201);
    for _ in 0..10 {
        sim.clock().advance(Duration::from_millis(200)).await;
    }
    let pods = pods(&client, name).await;
    assert_eq!(pods.len(), 1);
    let pod = pods[0]["metadata"]["name"].as_str().unwrap();
    assert_eq!(pod.len(), 63, "{pod}");
    assert!(pod.starts_with(&format!("{name}-")), "{pod}");

    // 70 bytes without a dot: a valid name.
    let long = "c".repeat(70);
    let cm = json!({"metadata": {"name": long}});
    let r = raw(
        &client,
        "POST",
        &ns_path("v1", "configmaps"),
        Some(&cm),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.json());

    sim.shutdown().await;
}

/// Admission refusing the pods a controller creates (a quota, a policy
/// webhook), as a fault rule naming the controller's field manager: the
/// ReplicaSet reports `ReplicaFailure`, the Deployment copies it, the
/// controller tries again with backoff and both clear once pods can be
/// created.
/// Creates `body` in the default namespace; the answer's status.
async fn create(client: &kube::Client, group_version: &str, plural: &str, body: &Value) -> u16 {
    raw(
        client,
        "POST",
        &ns_path(group_version, plural),
        Some(body),
        &[],
    )
    .await
    .status
}

/// The default namespace's object `name`.
async fn read(client: &kube::Client, group_version: &str, plural: &str, name: &str) -> Value {
    get(
        client,
        &format!("{}/{name}", ns_path(group_version, plural)),
    )
    .await
    .json()
}

/// Moves the Manual clock `steps` times by `step`, the controllers running
/// at each.
async fn advance(sim: &berth_sim::SimHandle, steps: u32, step: Duration) {
    for _ in 0..steps {
        sim.clock().advance(step).await;
    }
}

#[tokio::test]
async fn refused_pods_show_as_replica_failure_until_they_can_be_created() {
    let (sim, client) = start_manual().await;
    let message = "admission webhook \"pods.policy.example\" denied the request: no root";
    let rule = berth_sim::Rule::refuse_controller_creates("pods", message);
    let id = sim.faults().add(rule);
    // A rule that does not name the manager is for clients' requests only.
    let clients_only = sim.faults().add(berth_sim::Rule::new(
        berth_sim::Match::verb("create").resource("pods"),
        berth_sim::Action::status(500),
    ));
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": pod_template("web", json!({}), "app:1", "Always")}});
    assert_eq!(create(&client, "apps/v1", "deployments", &d).await, 201);
    advance(&sim, 20, Duration::from_millis(100)).await;
    assert!(pods(&client, "web").await.is_empty());
    let rs_list = get(&client, &ns_path("apps/v1", "replicasets"))
        .await
        .json();
    let rs = &rs_list["items"][0];
    let failure = condition(rs, "ReplicaFailure").expect("the ReplicaSet's condition");
    assert_eq!(failure["status"], "True");
    assert_eq!(failure["reason"], "FailedCreate");
    assert_eq!(failure["message"], message);
    let deployment = read(&client, "apps/v1", "deployments", "web").await;
    let copied = condition(&deployment, "ReplicaFailure").expect("the Deployment's copy");
    assert_eq!(copied["reason"], "FailedCreate");
    assert_eq!(copied["message"], message);
    let events = get(
        &client,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DFailedCreate",
    )
    .await
    .json();
    assert_eq!(
        events["items"][0]["message"],
        format!("Error creating: {message}")
    );
    // Tried again with backoff: more than once in two seconds, far fewer
    // times than the controller's passes would allow.
    let tries = sim.faults().hits(id);
    assert!((2..=12).contains(&tries), "{tries} tries");
    assert_eq!(sim.faults().hits(clients_only), 0);

    sim.faults().remove(id);
    advance(&sim, 30, Duration::from_millis(200)).await;
    let pods = pods(&client, "web").await;
    assert_eq!(pods.len(), 2);
    let prefix = format!("{}-", rs["metadata"]["name"].as_str().unwrap());
    assert_eq!(pods[0]["metadata"]["generateName"], prefix);
    let rs = get(
        &client,
        &format!(
            "{}/{}",
            ns_path("apps/v1", "replicasets"),
            rs["metadata"]["name"].as_str().unwrap()
        ),
    )
    .await
    .json();
    assert!(condition(&rs, "ReplicaFailure").is_none(), "{rs}");
    let deployment = read(&client, "apps/v1", "deployments", "web").await;
    assert!(condition(&deployment, "ReplicaFailure").is_none());
    sim.shutdown().await;
}

/// The kubelet mounts a pod's ConfigMap and Secret volumes before its
/// containers start: while one is missing the pod stays ContainerCreating
/// and FailedMount Events say which; once it exists the pod starts.
#[tokio::test]
async fn a_missing_volume_source_holds_the_pod_until_it_exists() {
    let (sim, client) = start_manual_checking_pod_sources().await;
    let mut spec = pod_template("mounts", json!({}), "app:1", "Always");
    spec["spec"]["volumes"] = json!([
        {"name": "root-ca", "configMap": {"name": "kube-root-ca.crt"}},
        {"name": "extra", "secret": {"secretName": "absent", "optional": true}},
        {"name": "config", "projected": {"sources": [{"configMap": {"name": "app-config"}}]}},
    ]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "mounts", "labels": {"app": "mounts"}}, "spec": spec["spec"]});
    assert_eq!(create(&client, "v1", "pods", &pod).await, 201);
    advance(&sim, 10, Duration::from_secs(1)).await;
    let p = read(&client, "v1", "pods", "mounts").await;
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(
        p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
        "ContainerCreating"
    );
    let events = get(
        &client,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DFailedMount",
    )
    .await
    .json();
    assert_eq!(
        events["items"][0]["message"],
        "MountVolume.SetUp failed for volume \"config\" : configmap \"app-config\" not found"
    );
    assert!(events["items"][0]["count"].as_i64().unwrap() > 1);

    let cm = json!({"metadata": {"name": "app-config"}, "data": {"k": "v"}});
    assert_eq!(create(&client, "v1", "configmaps", &cm).await, 201);
    advance(&sim, 10, Duration::from_secs(1)).await;
    let p = read(&client, "v1", "pods", "mounts").await;
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    assert!(condition(&p, "Ready").is_some_and(|c| c["status"] == "True"));
    sim.shutdown().await;
}

/// A container's environment from a ConfigMap or Secret that is missing,
/// or lacks the key: CreateContainerConfigError in the kubelet's words
/// until it is there; optional ones may be missing.
#[tokio::test]
async fn a_missing_env_source_is_a_create_container_config_error_until_it_exists() {
    let (sim, client) = start_manual_checking_pod_sources().await;
    let mut spec = pod_template("envs", json!({}), "app:1", "Always");
    spec["spec"]["containers"][0]["envFrom"] =
        json!([{"secretRef": {"name": "maybe", "optional": true}}]);
    spec["spec"]["containers"][0]["env"] = json!([
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "a"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
    ]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "envs", "labels": {"app": "envs"}}, "spec": spec["spec"]});
    assert_eq!(create(&client, "v1", "pods", &pod).await, 201);
    let waiting = |p: &Value| p["status"]["containerStatuses"][0]["state"]["waiting"].clone();
    let pod_now = || async { read(&client, "v1", "pods", "envs").await };
    advance(&sim, 5, Duration::from_secs(1)).await;
    let w = waiting(&pod_now().await);
    assert_eq!(w["reason"], "CreateContainerConfigError");
    assert_eq!(w["message"], "configmap \"settings\" not found");

    let cm = json!({"metadata": {"name": "settings"}, "data": {"b": "x"}});
    create(&client, "v1", "configmaps", &cm).await;
    advance(&sim, 3, Duration::from_secs(1)).await;
    let w = waiting(&pod_now().await);
    assert_eq!(
        w["message"],
        "couldn't find key a in ConfigMap default/settings"
    );

    let patch = json!({"data": {"a": "1"}});
    raw(
        &client,
        "PATCH",
        &format!("{}/settings", ns_path("v1", "configmaps")),
        Some(&patch),
        &[("content-type", "application/merge-patch+json")],
    )
    .await;
    let secret = json!({"metadata": {"name": "creds"}, "stringData": {"password": "p"}});
    create(&client, "v1", "secrets", &secret).await;
    advance(&sim, 5, Duration::from_secs(1)).await;
    let p = pod_now().await;
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    assert!(condition(&p, "Ready").is_some_and(|c| c["status"] == "True"));
    let events = get(
        &client,
        "/api/v1/namespaces/default/events?fieldSelector=reason%3DFailed",
    )
    .await
    .json();
    assert_eq!(
        events["items"][0]["message"],
        "Error: configmap \"settings\" not found"
    );
    sim.shutdown().await;
}

/// By default the kubelet does not look for a pod's ConfigMaps and Secrets:
/// nothing here runs what would create them (a webhook's certificate Job).
#[tokio::test]
async fn by_default_pods_start_whatever_their_sources() {
    let (sim, client) = start_manual().await;
    let mut spec = pod_template("free", json!({}), "app:1", "Always");
    spec["spec"]["volumes"] = json!([{"name": "tls", "secret": {"secretName": "absent"}}]);
    spec["spec"]["containers"][0]["env"] =
        json!([{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "a"}}}]);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "free", "labels": {"app": "free"}}, "spec": spec["spec"]});
    assert_eq!(create(&client, "v1", "pods", &pod).await, 201);
    advance(&sim, 5, Duration::from_secs(1)).await;
    let p = read(&client, "v1", "pods", "free").await;
    assert_eq!(p["status"]["phase"], "Running", "{p}");
    sim.shutdown().await;
}

/// A claim binds only to what can be provisioned for it: a class that does
/// not exist (yet) leaves it Pending with ProvisioningFailed, no class at
/// all with FailedBinding; once the class exists the resync binds it.
#[tokio::test]
async fn claims_without_a_class_to_provision_them_stay_pending() {
    let (sim, client) = start_manual().await;
    let claim = |name: &str, class: &str| {
        json!({"metadata": {"name": name}, "spec": {"storageClassName": class,
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    };
    for (name, class) in [("fast-data", "fast"), ("static-data", "")] {
        let r = raw(
            &client,
            "POST",
            &ns_path("v1", "persistentvolumeclaims"),
            Some(&claim(name, class)),
            &[],
        )
        .await;
        assert_eq!(r.status, 201);
    }
    advance(&sim, 5, Duration::from_secs(1)).await;
    let phase = |name: &'static str| {
        let client = client.clone();
        async move {
            get(
                &client,
                &format!("{}/{name}", ns_path("v1", "persistentvolumeclaims")),
            )
            .await
            .json()["status"]["phase"]
                .clone()
        }
    };
    assert_eq!(phase("fast-data").await, "Pending");
    assert_eq!(phase("static-data").await, "Pending");
    let events = get(&client, "/api/v1/namespaces/default/events")
        .await
        .json();
    let said: Vec<(String, String)> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(said.contains(&(
        "ProvisioningFailed".into(),
        "storageclass.storage.k8s.io \"fast\" not found".into()
    )));
    assert!(said.contains(&(
        "FailedBinding".into(),
        "no persistent volumes available for this claim and no storage class is set".into()
    )));

    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "fast"}, "provisioner": "example.com/fast"});
    let r = raw(
        &client,
        "POST",
        "/apis/storage.k8s.io/v1/storageclasses",
        Some(&class),
        &[],
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["volumeBindingMode"], "Immediate");
    advance(&sim, 16, Duration::from_secs(1)).await;
    assert_eq!(phase("fast-data").await, "Bound");
    assert_eq!(phase("static-data").await, "Pending");

    // The class's provisioner made the volume, bound to the claim, and it
    // goes with the claim under the Delete reclaim policy.
    let claim = read(&client, "v1", "persistentvolumeclaims", "fast-data").await;
    let volume = claim["spec"]["volumeName"].as_str().unwrap().to_string();
    let pv = get(&client, &format!("/api/v1/persistentvolumes/{volume}"))
        .await
        .json();
    assert_eq!(pv["status"]["phase"], "Bound");
    assert_eq!(pv["spec"]["claimRef"]["name"], "fast-data");
    assert_eq!(pv["spec"]["claimRef"]["uid"], claim["metadata"]["uid"]);
    assert_eq!(pv["spec"]["storageClassName"], "fast");
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(pv["spec"]["capacity"]["storage"], "1Gi");
    assert_eq!(
        pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"],
        "example.com/fast"
    );
    let r = raw(
        &client,
        "DELETE",
        &format!("{}/fast-data", ns_path("v1", "persistentvolumeclaims")),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    advance(&sim, 3, Duration::from_secs(1)).await;
    let r = raw(
        &client,
        "GET",
        &format!("/api/v1/persistentvolumes/{volume}"),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 404);
    sim.shutdown().await;
}

/// Claims bind to volumes that exist, as the PV controller binds them:
/// the smallest Available one of the claim's class, with its access modes,
/// as large as asked and selected by its selector; a claim that names a
/// volume another claim holds stays Pending; the volume takes the claim.
#[tokio::test]
async fn claims_bind_to_static_volumes_that_fit_them() {
    let (sim, client) = start_manual().await;
    let volume = |name: &str, size: &str, modes: Value, labels: Value| {
        json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": labels},
            "spec": {"capacity": {"storage": size}, "accessModes": modes,
                     "storageClassName": "", "hostPath": {"path": format!("/data/{name}")}}})
    };
    for pv in [
        volume(
            "small",
            "1Gi",
            json!(["ReadWriteOnce"]),
            json!({"tier": "a"}),
        ),
        volume(
            "large",
            "5Gi",
            json!(["ReadWriteOnce", "ReadOnlyMany"]),
            json!({}),
        ),
        volume("shared", "10Gi", json!(["ReadWriteMany"]), json!({})),
    ] {
        let r = raw(&client, "POST", "/api/v1/persistentvolumes", Some(&pv), &[]).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json()["status"]["phase"], "Available");
    }
    let claim = |name: &str, size: &str, extra: Value| {
        let mut c = json!({"metadata": {"name": name}, "spec": {"storageClassName": "",
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}});
        for (k, v) in extra.as_object().unwrap() {
            c["spec"][k] = v.clone();
        }
        c
    };
    for pvc in [
        claim("data", "2G", json!({})),
        claim(
            "picky",
            "500Mi",
            json!({"selector": {"matchLabels": {"tier": "a"}}}),
        ),
        claim("huge", "20Gi", json!({})),
    ] {
        assert_eq!(
            create(&client, "v1", "persistentvolumeclaims", &pvc).await,
            201
        );
    }
    advance(&sim, 5, Duration::from_secs(1)).await;
    let data = read(&client, "v1", "persistentvolumeclaims", "data").await;
    assert_eq!(data["status"]["phase"], "Bound", "{data}");
    assert_eq!(data["spec"]["volumeName"], "large");
    assert_eq!(data["status"]["capacity"]["storage"], "5Gi");
    assert_eq!(
        data["status"]["accessModes"],
        json!(["ReadWriteOnce", "ReadOnlyMany"])
    );
    let picky = read(&client, "v1", "persistentvolumeclaims", "picky").await;
    assert_eq!(picky["spec"]["volumeName"], "small", "{picky}");
    let huge = read(&client, "v1", "persistentvolumeclaims", "huge").await;
    assert_eq!(huge["status"]["phase"], "Pending");
    let large = get(&client, "/api/v1/persistentvolumes/large").await.json();
    assert_eq!(large["status"]["phase"], "Bound");
    assert_eq!(large["spec"]["claimRef"]["name"], "data");
    assert_eq!(large["spec"]["claimRef"]["uid"], data["metadata"]["uid"]);
    assert_eq!(
        large["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"],
        "yes"
    );
    let shared = get(&client, "/api/v1/persistentvolumes/shared")
        .await
        .json();
    assert_eq!(shared["status"]["phase"], "Available");

    // A claim naming the volume another holds: Pending, and said.
    let taken = claim("taken", "1Gi", json!({"volumeName": "large"}));
    assert_eq!(
        create(&client, "v1", "persistentvolumeclaims", &taken).await,
        201
    );
    advance(&sim, 5, Duration::from_secs(1)).await;
    let taken = read(&client, "v1", "persistentvolumeclaims", "taken").await;
    assert_eq!(taken["status"]["phase"], "Pending");
    let events = get(
        &client,
        "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dtaken",
    )
    .await
    .json();
    assert_eq!(
        events["items"][0]["message"],
        "volume \"large\" already bound to a different claim."
    );
    sim.shutdown().await;
}
