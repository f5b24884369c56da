//! The simulated kubelet and scheduler (SIM_SPEC §5.1): binds pods to nodes round-robin and
//! walks them through their lifecycle on the simulator clock, following kwok's stages.
//!
//! A pod's status is a pure function of its timeline (`PodRuntime`) and the current time, so
//! every evaluation writes the status the pod should have now and sets a timer for the next
//! change. Failure modes come from `<prefix>fail` and friends (pod annotations).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use super::WorkKey;
use super::node::{node_ip, node_name};
use crate::apiserver::Cluster;
use crate::clock::SimTime;
use crate::object;
use crate::store::ObjKey;

/// How a pod misbehaves (the `fail` knob).
#[derive(Clone, Debug, PartialEq)]
enum Fail {
    None,
    ImagePull,
    CrashLoop,
    NeverReady,
    CreateError,
    Unschedulable,
    Exit(i64),
}

/// A pod's timeline, decided when the kubelet first sees it.
#[derive(Clone, Debug)]
pub struct PodRuntime {
    scheduled_at: SimTime,
    start_at: SimTime,
    ready_at: SimTime,
    /// For run-to-completion pods: when the container exits.
    finish_at: Option<SimTime>,
    fail: Fail,
    fail_after: Duration,
    exit_code: i64,
    pod_ip: String,
    stage: Stage,
    /// Why its containers cannot be created now (an environment variable
    /// from a ConfigMap or Secret that is missing), in the kubelet's words.
    config_error: Option<String>,
}

/// The kubelet's memory: pod timelines and allocation counters.
#[derive(Default)]
pub struct Kubelet {
    runtimes: HashMap<String, PodRuntime>,
    next_node: u32,
    next_ip: HashMap<u32, u32>,
    /// Pods created so far per owner uid (for `fail-count`).
    owner_index: HashMap<String, u32>,
    /// Pods whose containers were told to stop (the `Killing` event was recorded).
    stopping: std::collections::HashSet<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    None,
    Unschedulable,
    Creating,
    CreateError,
    PullError(u32),
    PullBackOff(u32),
    Running,
    Ready,
    NotReady,
    CrashRunning(u32),
    CrashBackOff(u32),
    Succeeded,
    Failed,
}

fn knob<'a>(pod: &'a Value, prefix: &str, key: &str) -> Option<&'a str> {
    object::annotation(pod, &format!("{prefix}{key}"))
}

fn knob_duration(pod: &Value, prefix: &str, key: &str) -> Option<Duration> {
    knob(pod, prefix, key).and_then(object::parse_duration)
}

/// The registry host of an image reference, if it names one.
fn registry_host(image: &str) -> Option<&str> {
    let (first, rest) = image.split_once('/')?;
    let _ = rest;
    (first.contains('.') || first.contains(':') || first == "localhost").then_some(first)
}

fn containers(pod: &Value, list: &str) -> Vec<(String, String)> {
    object::at(pod, &["spec", list])
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        object::str_at(c, &["name"]).unwrap_or("").to_string(),
                        object::str_at(c, &["image"]).unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn hex64(seed: &str) -> String {
    let mut out = String::new();
    let mut i = 0u32;
    while out.len() < 64 {
        out.push_str(&format!(
            "{:08x}",
            super::fnv32a(format!("{seed}/{i}").as_bytes())
        ));
        i += 1;
    }
    out.truncate(64);
    out
}

fn backoff(k: u32) -> Duration {
    Duration::from_secs((10u64 << k.min(5)).min(300))
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let rt = c.rt("", "pods");
    let Some(pod) = c.store.get(key).cloned() else {
        return;
    };
    let mut pod = (*pod).clone();
    let uid = object::uid(&pod).to_string();
    let now = c.now();
    if object::is_deleting(&pod) {
        terminate(c, key, pod, now);
        return;
    }
    let prefix = c.cfg.knob_prefix.clone();
    let fail_mode = knob(&pod, &prefix, "fail").unwrap_or("");
    if object::str_at(&pod, &["spec", "nodeName"]).is_none_or(str::is_empty) {
        if fail_mode == "unschedulable" {
            let nodes = c.cfg.nodes;
            let status = json!({
                "phase": "Pending",
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": format!("0/{nodes} nodes are available: {nodes} node(s) didn't match Pod's node affinity/selector. preemption: 0/{nodes} nodes are available: {nodes} Preemption is not helpful for scheduling."),
                    "lastProbeTime": null, "lastTransitionTime": now.rfc3339(),
                }],
                "qosClass": qos_class(&pod),
            });
            let first = !c.kubelet.runtimes.contains_key(&uid);
            c.kubelet
                .runtimes
                .entry(uid.clone())
                .or_insert_with(|| PodRuntime {
                    scheduled_at: now,
                    start_at: now,
                    ready_at: now,
                    finish_at: None,
                    fail: Fail::Unschedulable,
                    fail_after: Duration::ZERO,
                    exit_code: 0,
                    pod_ip: String::new(),
                    stage: Stage::Unschedulable,
                    config_error: None,
                });
            if first {
                let msg = status["conditions"][0]["message"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                c.record_event(
                    &pod,
                    "Warning",
                    "FailedScheduling",
                    &msg,
                    "default-scheduler",
                );
            }
            c.write_status(&rt, &pod, status, "kube-scheduler");
            return;
        }
        let n = c.kubelet.next_node % c.cfg.nodes.max(1);
        c.kubelet.next_node += 1;
        object::set(&mut pod, &["spec", "nodeName"], json!(node_name(n)));
        pod = c.store_write(&rt, pod);
        let msg = format!(
            "Successfully assigned {}/{} to {}",
            object::namespace(&pod),
            object::name(&pod),
            node_name(n)
        );
        c.record_event(&pod, "Normal", "Scheduled", &msg, "default-scheduler");
    }
    if !c.kubelet.runtimes.contains_key(&uid) {
        let runtime = new_runtime(c, &pod, now);
        c.kubelet.runtimes.insert(uid.clone(), runtime);
    }
    // The kubelet mounts a pod's volumes before its containers start, and
    // retries while a ConfigMap or Secret they need is missing.
    let check = c.cfg.check_pod_sources;
    if check
        && matches!(
            c.kubelet.runtimes[&uid].stage,
            Stage::None | Stage::Creating
        )
        && c.kubelet.runtimes[&uid].start_at <= now.plus(MOUNT_RETRY)
        && let Some(missing) = missing_volume(c, &pod)
    {
        c.record_event(&pod, "Warning", "FailedMount", &missing, "kubelet");
        if let Some(r) = c.kubelet.runtimes.get_mut(&uid) {
            let to = now.plus(MOUNT_RETRY);
            let by = to.since(r.start_at);
            r.start_at = to;
            r.ready_at = r.ready_at.plus(by);
            r.finish_at = r.finish_at.map(|f| f.plus(by));
        }
    }
    // Then it creates the containers, which fails while an environment
    // variable's ConfigMap or Secret (or its key) is missing.
    let r = &c.kubelet.runtimes[&uid];
    if check
        && now >= r.start_at
        && matches!(r.stage, Stage::None | Stage::Creating | Stage::CreateError)
    {
        let missing = missing_env(c, &pod);
        if let Some(r) = c.kubelet.runtimes.get_mut(&uid) {
            match missing {
                Some(why) => {
                    r.config_error = Some(why);
                    c.work
                        .add_at(now.plus(MOUNT_RETRY), WorkKey::Obj(key.clone()));
                }
                // Created now: the timeline goes on from here.
                None if r.config_error.take().is_some() => {
                    let by = now.since(r.start_at);
                    r.start_at = now;
                    r.ready_at = r.ready_at.plus(by);
                    r.finish_at = r.finish_at.map(|f| f.plus(by));
                }
                None => {}
            }
        }
    }
    let runtime = c.kubelet.runtimes[&uid].clone();
    let (status, next, stage) = desired_status(&pod, &runtime, now);
    if stage != runtime.stage {
        emit_events(c, &pod, &runtime, runtime.stage, stage);
        if let Some(r) = c.kubelet.runtimes.get_mut(&uid) {
            r.stage = stage;
        }
    }
    c.write_status(&rt, &pod, status, "kubelet");
    if let Some(t) = next {
        c.work.add_at(t, WorkKey::Obj(key.clone()));
    }
}

/// How long the kubelet waits before mounting a pod's volumes again.
const MOUNT_RETRY: Duration = Duration::from_secs(2);

/// The first ConfigMap or Secret a pod's volumes need that does not exist,
/// in the kubelet's words (`MountVolume.SetUp failed for volume "v" :
/// configmap "c" not found`). Optional ones may be missing, and
/// `kube-root-ca.crt`, which every namespace of a cluster has, counts as
/// there.
fn missing_volume(c: &Cluster, pod: &Value) -> Option<String> {
    let ns = object::namespace(pod);
    let volumes = object::at(pod, &["spec", "volumes"])?.as_array()?;
    let needs = |source: &Value, kind: &str, name_key: &str| -> Option<String> {
        if source.get("optional").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let name = source.get(name_key).and_then(Value::as_str).unwrap_or("");
        if kind == "configmap" && name == "kube-root-ca.crt" {
            return None;
        }
        let rt = c.rt(
            "",
            if kind == "configmap" {
                "configmaps"
            } else {
                "secrets"
            },
        );
        c.get_stored(&rt, ns, name)
            .is_none()
            .then(|| format!("{kind} {name:?} not found"))
    };
    for v in volumes {
        let volume = v.get("name").and_then(Value::as_str).unwrap_or("");
        let mut sources: Vec<(&Value, &str, &str)> = Vec::new();
        if let Some(cm) = v.get("configMap") {
            sources.push((cm, "configmap", "name"));
        }
        if let Some(secret) = v.get("secret") {
            sources.push((secret, "secret", "secretName"));
        }
        for p in v
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(cm) = p.get("configMap") {
                sources.push((cm, "configmap", "name"));
            }
            if let Some(secret) = p.get("secret") {
                sources.push((secret, "secret", "name"));
            }
        }
        for (source, kind, key) in sources {
            if let Some(why) = needs(source, kind, key) {
                return Some(format!(
                    "MountVolume.SetUp failed for volume {volume:?} : {why}"
                ));
            }
        }
    }
    None
}

/// The first environment variable of a pod's containers whose ConfigMap or
/// Secret, or its key, does not exist, in the kubelet's words (`configmap
/// "c" not found`, `couldn't find key k in Secret ns/s`). Optional ones may
/// be missing.
fn missing_env(c: &Cluster, pod: &Value) -> Option<String> {
    let ns = object::namespace(pod);
    let lookup = |kind: &str, name: &str, key: Option<&str>, source: &Value| -> Option<String> {
        if source.get("optional").and_then(Value::as_bool) == Some(true) {
            return None;
        }
        let (plural, lower) = match kind {
            "ConfigMap" => ("configmaps", "configmap"),
            _ => ("secrets", "secret"),
        };
        let Some(obj) = c.get_stored(&c.rt("", plural), ns, name) else {
            return Some(format!("{lower} {name:?} not found"));
        };
        let key = key?;
        let has = ["data", "binaryData", "stringData"]
            .iter()
            .any(|field| object::at(&obj, &[field, key]).is_some());
        (!has).then(|| format!("couldn't find key {key} in {kind} {ns}/{name}"))
    };
    for list in ["initContainers", "containers"] {
        for container in object::at(pod, &["spec", list])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for from in container["envFrom"].as_array().into_iter().flatten() {
                for (field, kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")] {
                    if let Some(source) = from.get(field) {
                        let name = source["name"].as_str().unwrap_or("");
                        if let Some(why) = lookup(kind, name, None, source) {
                            return Some(why);
                        }
                    }
                }
            }
            for env in container["env"].as_array().into_iter().flatten() {
                for (field, kind) in [("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")]
                {
                    if let Some(source) = env.pointer(&format!("/valueFrom/{field}")) {
                        let name = source["name"].as_str().unwrap_or("");
                        let key = source["key"].as_str().unwrap_or("");
                        if let Some(why) = lookup(kind, name, Some(key), source) {
                            return Some(why);
                        }
                    }
                }
            }
        }
    }
    None
}

fn new_runtime(c: &mut Cluster, pod: &Value, now: SimTime) -> PodRuntime {
    let prefix = c.cfg.knob_prefix.clone();
    let t = c.cfg.timings.clone();
    let jitter_max = knob_duration(pod, &prefix, "jitter").unwrap_or(t.start_jitter);
    let jitter = if jitter_max.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_millis(c.rng.random_range(0..=jitter_max.as_millis() as u64))
    };
    let start_delay = knob_duration(pod, &prefix, "start-delay").unwrap_or(t.start_delay) + jitter;
    let ready_delay = knob_duration(pod, &prefix, "ready-delay").unwrap_or(t.ready_delay);
    let images = containers(pod, "containers");
    let mut fail = match knob(pod, &prefix, "fail").unwrap_or("") {
        "image-pull" => Fail::ImagePull,
        "crash-loop" => Fail::CrashLoop,
        "never-ready" => Fail::NeverReady,
        "create-error" => Fail::CreateError,
        "unschedulable" => Fail::Unschedulable,
        s if s.starts_with("exit:") => Fail::Exit(s[5..].trim().parse().unwrap_or(1)),
        _ => Fail::None,
    };
    if images.iter().any(|(_, img)| {
        registry_host(img).is_some_and(|h| h.split(':').next().unwrap_or(h).ends_with(".invalid"))
    }) {
        fail = Fail::ImagePull;
    }
    let exit_code: i64 = knob(pod, &prefix, "exit-code")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let restart = object::str_at(pod, &["spec", "restartPolicy"]).unwrap_or("Always");
    // `fail-count: k`: the first k pods of an owner fail.
    if let Some(k) = knob(pod, &prefix, "fail-count").and_then(|s| s.parse::<u32>().ok())
        && let Some(owner) = object::controller_ref(pod)
    {
        let idx = c.kubelet.owner_index.entry(owner.uid).or_insert(0);
        let mine = *idx;
        *idx += 1;
        if mine < k && fail == Fail::None {
            fail = Fail::Exit(exit_code);
        }
    }
    if let Fail::Exit(code) = fail
        && restart != "Never"
    {
        fail = Fail::CrashLoop;
        let _ = code;
    }
    let exit_code = match fail {
        Fail::Exit(code) => code,
        _ => exit_code,
    };
    let start_at = now.plus(start_delay);
    let run_to_completion = restart != "Always";
    let run = knob_duration(pod, &prefix, "run-duration").unwrap_or(t.run_duration);
    let node = object::str_at(pod, &["spec", "nodeName"])
        .and_then(|n| n.rsplit('-').next())
        .and_then(|i| i.parse::<u32>().ok())
        .unwrap_or(0);
    let counter = c.kubelet.next_ip.entry(node).or_insert(1);
    *counter += 1;
    let pod_ip = format!("10.244.{node}.{}", *counter % 254 + 1);
    PodRuntime {
        scheduled_at: now,
        start_at,
        ready_at: start_at.plus(ready_delay),
        finish_at: run_to_completion.then(|| start_at.plus(run)),
        fail,
        fail_after: knob_duration(pod, &prefix, "fail-after").unwrap_or(Duration::from_secs(1)),
        exit_code,
        pod_ip,
        stage: Stage::None,
        config_error: None,
    }
}

/// Deletion: the pod disappears `min(grace, pod_termination)` after the delete.
fn terminate(c: &mut Cluster, key: &ObjKey, mut pod: Value, now: SimTime) {
    let rt = c.rt("", "pods");
    let grace = object::i64_at(&pod, &["metadata", "deletionGracePeriodSeconds"])
        .unwrap_or(0)
        .max(0) as u64;
    let deadline = object::str_at(&pod, &["metadata", "deletionTimestamp"])
        .and_then(SimTime::parse)
        .unwrap_or(now);
    let started = SimTime(deadline.0 - (grace as i64) * 1000);
    let linger = Duration::from_secs(grace).min(c.cfg.timings.pod_termination);
    let gone_at = started.plus(linger);
    let uid = object::uid(&pod).to_string();
    if c.kubelet.runtimes.contains_key(&uid) && c.kubelet.stopping.insert(uid.clone()) {
        for (name, _) in containers(&pod, "containers") {
            c.record_event(
                &pod,
                "Normal",
                "Killing",
                &format!("Stopping container {name}"),
                "kubelet",
            );
        }
    }
    if grace == 0 || now >= gone_at {
        c.kubelet.runtimes.remove(&uid);
        c.kubelet.stopping.remove(&uid);
        if object::finalizers(&pod).is_empty() {
            c.store_remove(&rt, pod);
        } else if grace != 0 {
            object::set(
                &mut pod,
                &["metadata", "deletionGracePeriodSeconds"],
                json!(0),
            );
            c.store_write(&rt, pod);
        }
    } else {
        c.work.add_at(gone_at, WorkKey::Obj(key.clone()));
    }
}

fn qos_class(pod: &Value) -> &'static str {
    let has_resources = object::at(pod, &["spec", "containers"])
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("resources")
                    .and_then(Value::as_object)
                    .is_some_and(|r| !r.is_empty())
            })
        });
    if has_resources {
        "Burstable"
    } else {
        "BestEffort"
    }
}

fn cond(
    t: &str,
    status: bool,
    at: SimTime,
    reason: Option<&str>,
    message: Option<String>,
) -> Value {
    let mut c = json!({
        "type": t,
        "status": if status { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": at.rfc3339(),
    });
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// The status a pod should have at `now`, when it next changes, and its stage.
fn desired_status(pod: &Value, r: &PodRuntime, now: SimTime) -> (Value, Option<SimTime>, Stage) {
    let node = object::str_at(pod, &["spec", "nodeName"]).unwrap_or("");
    let node_idx: u32 = node
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let uid = object::uid(pod);
    let ns = object::namespace(pod);
    let name = object::name(pod);
    let specs = containers(pod, "containers");
    let names: Vec<String> = specs.iter().map(|(n, _)| n.clone()).collect();

    // (stage, phase, per-container state, ready, restartCount, lastState, next change)
    let mut next = None;
    let started = now >= r.start_at;
    let (stage, phase): (Stage, &str) = if !started {
        next = Some(r.start_at);
        match r.fail {
            Fail::CreateError => (Stage::Creating, "Pending"),
            _ => (Stage::Creating, "Pending"),
        }
    } else {
        match &r.fail {
            _ if r.config_error.is_some() => (Stage::CreateError, "Pending"),
            Fail::CreateError => (Stage::CreateError, "Pending"),
            Fail::ImagePull => {
                let mut t0 = r.start_at;
                let mut k = 0u32;
                loop {
                    let err_end = t0.plus(Duration::from_secs(1));
                    let cycle_end = err_end.plus(backoff(k));
                    if now < err_end {
                        next = Some(err_end);
                        break (Stage::PullError(k), "Pending");
                    }
                    if now < cycle_end {
                        next = Some(cycle_end);
                        break (Stage::PullBackOff(k), "Pending");
                    }
                    t0 = cycle_end;
                    k += 1;
                }
            }
            Fail::CrashLoop => {
                let mut s = r.start_at;
                let mut k = 0u32;
                loop {
                    let crash = s.plus(r.fail_after);
                    let restart = crash.plus(backoff(k));
                    if now < crash {
                        next = Some(crash);
                        break (Stage::CrashRunning(k), "Running");
                    }
                    if now < restart {
                        next = Some(restart);
                        break (Stage::CrashBackOff(k), "Running");
                    }
                    s = restart;
                    k += 1;
                }
            }
            Fail::Exit(_) => match r.finish_at {
                Some(f) if now >= f => (Stage::Failed, "Failed"),
                Some(f) => {
                    next = Some(f);
                    (Stage::Running, "Running")
                }
                None => (Stage::Running, "Running"),
            },
            Fail::NeverReady => (Stage::NotReady, "Running"),
            Fail::None | Fail::Unschedulable => match r.finish_at {
                Some(f) if now >= f => (Stage::Succeeded, "Succeeded"),
                _ => {
                    let finish = r.finish_at;
                    if now >= r.ready_at {
                        next = finish;
                        (Stage::Ready, "Running")
                    } else {
                        next = Some(match finish {
                            Some(f) => f.min(r.ready_at),
                            None => r.ready_at,
                        });
                        (Stage::Running, "Running")
                    }
                }
            },
        }
    };

    // When the current stage began, for lastTransitionTime and startedAt.
    let crash_times = |k: u32| -> (SimTime, SimTime) {
        let mut s = r.start_at;
        for i in 0..k {
            s = s.plus(r.fail_after).plus(backoff(i));
        }
        (s, s.plus(r.fail_after))
    };

    let ready = matches!(stage, Stage::Ready);
    let cycle = match stage {
        Stage::CrashRunning(k) | Stage::CrashBackOff(k) => k,
        _ => 0,
    };
    let container_status = |cname: &str, image: &str| -> Value {
        let cid = format!("containerd://{}", hex64(&format!("{uid}/{cname}/{cycle}")));
        let image_id = format!("{}@sha256:{}", image, hex64(image));
        let running = |at: SimTime| json!({"running": {"startedAt": at.rfc3339()}});
        let terminated = |code: i64, reason: &str, from: SimTime, to: SimTime| json!({"terminated": {"exitCode": code, "reason": reason, "startedAt": from.rfc3339(), "finishedAt": to.rfc3339(), "containerID": cid}});
        let (state, last, restarts, started, with_ids) = match stage {
            Stage::None | Stage::Unschedulable | Stage::Creating => (
                json!({"waiting": {"reason": "ContainerCreating"}}),
                json!({}),
                0,
                false,
                false,
            ),
            Stage::CreateError => (
                json!({"waiting": {"reason": "CreateContainerConfigError", "message": config_error(r, name)}}),
                json!({}),
                0,
                false,
                false,
            ),
            Stage::PullError(_) => (
                json!({"waiting": {"reason": "ErrImagePull", "message": format!("failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": not found")}}),
                json!({}),
                0,
                false,
                false,
            ),
            Stage::PullBackOff(_) => (
                json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}}),
                json!({}),
                0,
                false,
                false,
            ),
            Stage::Running | Stage::Ready | Stage::NotReady => {
                (running(r.start_at), json!({}), 0, true, true)
            }
            Stage::Succeeded => (
                terminated(0, "Completed", r.start_at, r.finish_at.unwrap_or(now)),
                json!({}),
                0,
                false,
                true,
            ),
            Stage::Failed => (
                terminated(r.exit_code, "Error", r.start_at, r.finish_at.unwrap_or(now)),
                json!({}),
                0,
                false,
                true,
            ),
            Stage::CrashRunning(k) => {
                let (s, _) = crash_times(k);
                let last = if k == 0 {
                    json!({})
                } else {
                    let (ps, pc) = crash_times(k - 1);
                    terminated(r.exit_code, "Error", ps, pc)
                };
                (running(s), last, k, true, true)
            }
            Stage::CrashBackOff(k) => {
                let (s, cr) = crash_times(k);
                let wait = backoff(k).as_secs();
                (
                    json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {wait}s restarting failed container={cname} pod={name}_{ns}({uid})")}}),
                    terminated(r.exit_code, "Error", s, cr),
                    k + 1,
                    false,
                    true,
                )
            }
        };
        let mut cs = json!({
            "name": cname,
            "image": image,
            "imageID": if with_ids { image_id } else { String::new() },
            "ready": ready,
            "started": started,
            "restartCount": restarts,
            "state": state,
            "lastState": last,
        });
        if with_ids {
            cs["containerID"] = json!(cid);
        }
        cs
    };
    let statuses: Vec<Value> = specs.iter().map(|(n, i)| container_status(n, i)).collect();

    let unready_msg = format!("containers with unready status: [{}]", names.join(" "));
    let completed = matches!(stage, Stage::Succeeded | Stage::Failed);
    let ready_since = match stage {
        Stage::Ready => r.ready_at,
        Stage::CrashRunning(k) | Stage::CrashBackOff(k) => crash_times(k).0,
        Stage::Succeeded | Stage::Failed => r.finish_at.unwrap_or(r.scheduled_at),
        _ => r.scheduled_at,
    };
    let ready_cond = |t: &str| {
        if ready {
            cond(t, true, ready_since, None, None)
        } else if completed {
            cond(t, false, ready_since, Some("PodCompleted"), None)
        } else {
            cond(
                t,
                false,
                ready_since,
                Some("ContainersNotReady"),
                Some(unready_msg.clone()),
            )
        }
    };
    let sandbox = started && !completed;
    let conditions = vec![
        cond(
            "PodReadyToStartContainers",
            sandbox,
            if started { r.start_at } else { r.scheduled_at },
            None,
            None,
        ),
        cond("Initialized", true, r.scheduled_at, None, None),
        ready_cond("Ready"),
        ready_cond("ContainersReady"),
        cond("PodScheduled", true, r.scheduled_at, None, None),
    ];
    let mut status = json!({
        "phase": phase,
        "conditions": conditions,
        "hostIP": node_ip(node_idx),
        "hostIPs": [{"ip": node_ip(node_idx)}],
        "startTime": r.scheduled_at.rfc3339(),
        "containerStatuses": statuses,
        "qosClass": qos_class(pod),
    });
    if started {
        status["podIP"] = json!(r.pod_ip);
        status["podIPs"] = json!([{"ip": r.pod_ip}]);
    }
    let inits = containers(pod, "initContainers");
    if !inits.is_empty() {
        let list: Vec<Value> = inits
            .iter()
            .map(|(n, i)| {
                json!({"name": n, "image": i, "imageID": "", "ready": started, "started": false, "restartCount": 0,
                       "state": if started { json!({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": r.scheduled_at.rfc3339(), "finishedAt": r.start_at.rfc3339()}}) } else { json!({"waiting": {"reason": "PodInitializing"}}) },
                       "lastState": {}})
            })
            .collect();
        status["initContainerStatuses"] = json!(list);
    }
    (status, next, stage)
}

/// Events for a change of stage.
fn emit_events(c: &mut Cluster, pod: &Value, r: &PodRuntime, old: Stage, new: Stage) {
    let specs = containers(pod, "containers");
    let runs = |s: Stage| {
        matches!(
            s,
            Stage::Running
                | Stage::Ready
                | Stage::NotReady
                | Stage::CrashRunning(_)
                | Stage::CrashBackOff(_)
                | Stage::Succeeded
                | Stage::Failed
        )
    };
    if runs(new) && !runs(old) {
        for (name, image) in &specs {
            c.record_event(
                pod,
                "Normal",
                "Pulling",
                &format!("Pulling image \"{image}\""),
                "kubelet",
            );
            let took = r.start_at.since(r.scheduled_at).as_secs_f64();
            c.record_event(
                pod,
                "Normal",
                "Pulled",
                &format!("Successfully pulled image \"{image}\" in {took:.3}s ({took:.3}s including waiting). Image size: 1048576 bytes."),
                "kubelet",
            );
            c.record_event(
                pod,
                "Normal",
                "Created",
                &format!("Created container: {name}"),
                "kubelet",
            );
            c.record_event(
                pod,
                "Normal",
                "Started",
                &format!("Started container {name}"),
                "kubelet",
            );
        }
    }
    let (uid, ns, pname) = (object::uid(pod), object::namespace(pod), object::name(pod));
    match new {
        Stage::PullError(_) => {
            for (_, image) in &specs {
                c.record_event(
                    pod,
                    "Warning",
                    "Failed",
                    &format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": not found"),
                    "kubelet",
                );
                c.record_event(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet");
            }
        }
        Stage::PullBackOff(_) => {
            for (_, image) in &specs {
                c.record_event(
                    pod,
                    "Normal",
                    "BackOff",
                    &format!("Back-off pulling image \"{image}\""),
                    "kubelet",
                );
                c.record_event(
                    pod,
                    "Warning",
                    "Failed",
                    "Error: ImagePullBackOff",
                    "kubelet",
                );
            }
        }
        Stage::CrashBackOff(_) => {
            for (name, _) in &specs {
                c.record_event(
                    pod,
                    "Warning",
                    "BackOff",
                    &format!(
                        "Back-off restarting failed container {name} in pod {pname}_{ns}({uid})"
                    ),
                    "kubelet",
                );
            }
        }
        Stage::CrashRunning(k) if k > 0 => {
            for (name, image) in &specs {
                c.record_event(
                    pod,
                    "Normal",
                    "Pulled",
                    &format!("Container image \"{image}\" already present on machine"),
                    "kubelet",
                );
                c.record_event(
                    pod,
                    "Normal",
                    "Created",
                    &format!("Created container: {name}"),
                    "kubelet",
                );
                c.record_event(
                    pod,
                    "Normal",
                    "Started",
                    &format!("Started container {name}"),
                    "kubelet",
                );
            }
        }
        Stage::CreateError => {
            let msg = format!("Error: {}", config_error(r, pname));
            c.record_event(pod, "Warning", "Failed", &msg, "kubelet");
        }
        Stage::NotReady => {
            c.record_event(
                pod,
                "Warning",
                "Unhealthy",
                "Readiness probe failed: HTTP probe failed with statuscode: 503",
                "kubelet",
            );
        }
        _ => {}
    }
}

/// Why the containers cannot be created: what is missing, or for the
/// `create-error` knob a ConfigMap named after the pod.
fn config_error(r: &PodRuntime, pod: &str) -> String {
    r.config_error
        .clone()
        .unwrap_or_else(|| format!("configmap \"{pod}-config\" not found"))
}

/// Whether a pod counts as Ready.
pub fn is_ready(pod: &Value) -> bool {
    condition_true(pod, "Ready")
}

pub fn condition_true(obj: &Value, t: &str) -> bool {
    condition(obj, t).is_some_and(|c| object::str_at(c, &["status"]) == Some("True"))
}

pub fn condition<'a>(obj: &'a Value, t: &str) -> Option<&'a Value> {
    object::at(obj, &["status", "conditions"])
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| object::str_at(c, &["type"]) == Some(t)))
}

/// Whether a pod is available: Ready for at least `min_ready` by `now`. Returns the time it
/// becomes available if it is Ready but not yet available.
pub fn availability(pod: &Value, min_ready: i64, now: SimTime) -> (bool, Option<SimTime>) {
    if !is_ready(pod) || object::is_deleting(pod) {
        return (false, None);
    }
    if min_ready <= 0 {
        return (true, None);
    }
    let since = condition(pod, "Ready")
        .and_then(|c| object::str_at(c, &["lastTransitionTime"]))
        .and_then(SimTime::parse)
        .unwrap_or(now);
    let at = since.plus(Duration::from_secs(min_ready as u64));
    if now >= at {
        (true, None)
    } else {
        (false, Some(at))
    }
}

/// Pods in `ns` controlled by the owner with `uid`.
pub fn owned_pods(c: &Cluster, ns: &str, uid: &str) -> Vec<Arc<Value>> {
    let rt = c.rt("", "pods");
    c.store.controlled(&rt.key(), ns, uid).cloned().collect()
}
