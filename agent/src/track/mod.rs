//! Rollout tracking: wait for every applied object until it is ready,
//! fails, or the operation's deadline passes, and say so in events.
//!
//! Readiness, by the rules of [`status`], comes first from the object the
//! apply returned, then from watches (kube's `watcher`), never from
//! polling: the watches of [`feeds`], one per kind and namespace, and for
//! workloads one on their pods, whose failure signals ([`pods`]) fail the
//! operation once they outlast their grace period instead of at the
//! timeout.

use std::collections::HashMap;

use berth::proto::{self, ObjectRef, event::Kind};
use futures::StreamExt;
use kube::api::Api;
use serde_json::Value;
use tokio::time::Instant;

use crate::cluster::Cluster;
use crate::events::OpEvents;
use crate::ops::Failure;

pub mod feeds;
pub mod pods;
pub mod status;

use status::Readiness;

/// One object to wait for, with the namespace it was applied to.
#[derive(Debug, Clone)]
pub struct Target {
    pub object: ObjectRef,
    pub namespace: String,
    /// The object as the API server returned it from the apply.
    pub live: Value,
}

/// How to wait.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Helm's --wait-for-jobs: wait for Jobs to complete.
    pub wait_for_jobs: bool,
    pub rules: status::Rules,
    pub grace: pods::Grace,
    /// Pods created before this (RFC 3339, UTC) belong to earlier revisions;
    /// their signals are not this operation's failure.
    pub since: String,
    /// Label selector that every waited-for object carries (the release's
    /// label), so one watch per kind and namespace sees them all; "" for
    /// every object of the kind.
    pub selector: String,
}

/// Wait for every target concurrently; the first failure ends the wait.
pub async fn wait_all(
    cluster: &Cluster,
    op: &OpEvents,
    targets: Vec<Target>,
    deadline: Instant,
    policy: &Policy,
) -> Result<(), Failure> {
    let mut feeds = feeds::Feeds::new(cluster.client(), &policy.selector);
    let mut waits = futures::stream::FuturesUnordered::new();
    for target in targets
        .into_iter()
        .filter(|t| status::is_tracked(&t.object.api_version, &t.object.kind, policy.wait_for_jobs))
    {
        // The apply's response is the object's state at that moment: one
        // already ready there (a Service with its cluster IP, a workload the
        // upgrade left as it was) needs no watch, nor the list and the
        // connection a watch costs.
        if let Readiness::Ready(message) = status::readiness(
            &target.object.kind,
            &target.object.api_version,
            &target.live,
            &policy.rules,
        ) {
            op.emit(Kind::ResourceReady(proto::ResourceReady {
                object: Some(target.object.clone()),
                message,
                ..Default::default()
            }));
            continue;
        }
        let (ar, caps) = match cluster.resolve(&target.object).await {
            Ok(found) => found,
            Err(e) => return Err(failure(&target, "UnknownKind", e.to_string())),
        };
        let kind = target.object.kind.as_str();
        let watches = Watches {
            objects: feeds.object(&ar, &caps.scope, &target.namespace, &target.object.name),
            pods: WORKLOADS
                .contains(&kind)
                .then(|| feeds.pods(&target.namespace)),
            events: REFUSALS_IN_EVENTS
                .contains(&kind)
                .then(|| feeds.events(&target.namespace, kind)),
        };
        waits.push(wait_one(cluster, op, target, watches, deadline, policy));
    }
    let watching = feeds.run();
    futures::pin_mut!(watching);
    let mut watched = false;
    loop {
        tokio::select! {
            done = waits.next() => match done {
                None => return Ok(()),
                Some(Err(f)) => return Err(f),
                Some(Ok(())) => {}
            },
            // Every watch ended: the waits see their feeds close.
            _ = &mut watching, if !watched => watched = true,
        }
    }
}

/// Say where a rollout stands, with what its controller's Events say
/// stops it (a Deployment's condition is in its message already).
fn progress(
    op: &OpEvents,
    target: &Target,
    p: &status::Progress,
    refused: Option<&(String, String, Instant, Value)>,
) {
    let message = match refused {
        Some((reason, why, ..)) => format!("{}; {reason}: {why}", p.message),
        None => p.message.clone(),
    };
    op.emit(Kind::ResourceProgress(proto::ResourceProgress {
        object: Some(target.object.clone()),
        message,
        desired: p.desired,
        updated: p.updated,
        ready: p.ready,
        available: p.available,
    }));
}

fn failure(target: &Target, reason: &str, message: String) -> Failure {
    Failure {
        reason: reason.to_string(),
        message,
        culprit: Some(Box::new(target.object.clone())),
    }
}

const WORKLOADS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
];

/// Workloads whose controller says it cannot create their pods only in
/// Events (`FailedCreate`), no condition: a Deployment's or ReplicaSet's
/// `ReplicaFailure` says it on the object ([`status::replica_failure`]).
const REFUSALS_IN_EVENTS: &[&str] = &["StatefulSet", "DaemonSet", "Job"];

/// What one wait watches: the object's states, and for workloads their
/// pods and the Events of their controller.
struct Watches {
    objects: feeds::Feed,
    pods: Option<std::sync::Arc<feeds::PodFeed>>,
    events: Option<std::sync::Arc<feeds::EventFeed>>,
}

/// The key of a signal of the object itself (its controller cannot create
/// its pods) among its pods' signals, which are keyed by the pod's name.
const OBJECT: &str = "";

async fn wait_one(
    cluster: &Cluster,
    op: &OpEvents,
    target: Target,
    watches: Watches,
    deadline: Instant,
    policy: &Policy,
) -> Result<(), Failure> {
    let Watches {
        mut objects,
        pods: pod_feed,
        events: event_feed,
    } = watches;
    let mut pod_stream: Option<feeds::Feed> = None;
    let mut event_stream: Option<feeds::Feed> = None;
    let mut signals: HashMap<String, (String, String, Instant, Value)> = HashMap::new();
    // The latest of its new pods not ready yet: whose Events explain a
    // timeout (a volume that cannot mount, a failing readiness probe).
    let mut unready: Option<Value> = None;
    let mut last: Option<Readiness> = None;
    let shown = target.object.display();
    loop {
        let next_expiry = signals
            .values()
            .map(|(reason, _, seen, _)| *seen + policy.grace.of(reason))
            .min()
            .unwrap_or(deadline)
            .min(deadline);
        tokio::select! {
            item = objects.recv() => {
                let Some(obj) = item else {
                    return Err(failure(&target, "WatchEnded", format!("the watch on {shown} ended")));
                };
                let now = status::readiness(
                    &target.object.kind,
                    &target.object.api_version,
                    &obj,
                    &policy.rules,
                );
                // Pods its controller cannot create: a signal of the
                // object itself, held while its condition lasts.
                if event_feed.is_none() {
                    match status::replica_failure(&obj) {
                        Some((reason, message)) => {
                            let entry = signals.entry(OBJECT.into()).or_insert_with(|| {
                                (reason.clone(), message.clone(), Instant::now(), Value::Null)
                            });
                            *entry = (reason, message, entry.2, Value::Null);
                        }
                        None => {
                            signals.remove(OBJECT);
                        }
                    }
                }
                if last.as_ref() == Some(&now) {
                    continue;
                }
                match &now {
                    Readiness::Ready(message) => {
                        op.emit(Kind::ResourceReady(proto::ResourceReady {
                            object: Some(target.object.clone()),
                            message: message.clone(),
                            ..Default::default()
                        }));
                        return Ok(());
                    }
                    Readiness::Failed(reason, message) => {
                        op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                            object: Some(target.object.clone()),
                            reason: reason.clone(),
                            message: message.clone(),
                            ..Default::default()
                        }));
                        return Err(failure(&target, reason, format!("{shown}: {message}")));
                    }
                    Readiness::Progress(p) => {
                        // Still rolling out: watch its pods for failures
                        // waiting will not fix.
                        if pod_stream.is_none()
                            && let Some(feed) = &pod_feed
                            && let Some(selector) = pods::match_labels(&obj)
                        {
                            pod_stream = Some(feed.subscribe(selector));
                        }
                        if event_stream.is_none()
                            && let Some(feed) = &event_feed
                        {
                            event_stream = Some(feed.subscribe(&target.object.name));
                        }
                        progress(op, &target, p, event_feed.as_ref().and(signals.get(OBJECT)));
                    }
                }
                last = Some(now);
            }
            Some(event) = async {
                match event_stream.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                // Its controller's word on creating its pods: a refusal
                // holds until a create succeeds.
                if feeds::event_time(&event) < policy.since.as_str() {
                    continue;
                }
                let before = signals.get(OBJECT).map(|s| s.1.clone());
                if event["reason"] == "FailedCreate" {
                    let message = event["message"].as_str().unwrap_or_default().trim().to_string();
                    let entry = signals.entry(OBJECT.into()).or_insert_with(|| {
                        ("FailedCreate".into(), message.clone(), Instant::now(), Value::Null)
                    });
                    entry.1 = message;
                } else {
                    signals.remove(OBJECT);
                }
                if before != signals.get(OBJECT).map(|s| s.1.clone())
                    && let Some(Readiness::Progress(p)) = &last
                {
                    progress(op, &target, p, signals.get(OBJECT));
                }
            }
            Some(pod) = async {
                match pod_stream.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                let name = pod["metadata"]["name"].as_str().unwrap_or_default().to_string();
                let created = pod["metadata"]["creationTimestamp"].as_str().unwrap_or_default();
                let deleting = pod["metadata"]["deletionTimestamp"].is_string();
                // A signal holds until the pod is ready or gone: crash loops
                // pass through Running and image pulls alternate between
                // ErrImagePull and ImagePullBackOff, which must not restart
                // the grace period.
                let ready = pod["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                let current = !deleting && created >= policy.since.as_str();
                if current && !ready {
                    unready = Some(pod.clone());
                } else if unready
                    .as_ref()
                    .is_some_and(|u| u["metadata"]["name"] == pod["metadata"]["name"])
                {
                    unready = None;
                }
                if deleting || ready || created < policy.since.as_str() {
                    signals.remove(&name);
                } else if let Some((reason, message)) = pods::signal(&pod) {
                    let entry = signals
                        .entry(name)
                        .or_insert_with(|| (reason.clone(), message.clone(), Instant::now(), pod.clone()));
                    *entry = (reason, message, entry.2, pod);
                }
            }
            _ = tokio::time::sleep_until(next_expiry) => {
                let now = Instant::now();
                let expired = signals
                    .iter()
                    .find(|(_, (reason, _, seen, _))| now >= *seen + policy.grace.of(reason))
                    .map(|(name, (reason, message, _, pod))| (name.clone(), reason.clone(), message.clone(), pod.clone()));
                if let Some((pod_name, reason, message, pod)) = expired {
                    if pod_name == OBJECT {
                        op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                            object: Some(target.object.clone()),
                            reason: reason.clone(),
                            message: message.clone(),
                            ..Default::default()
                        }));
                        return Err(failure(&target, &reason, format!("{shown}: {message}")));
                    }
                    let (recent_events, log_tail) =
                        pods::evidence(cluster.client(), &target.namespace, &pod).await;
                    op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                        object: Some(target.object.clone()),
                        reason: reason.clone(),
                        message: message.clone(),
                        pod: pod_name.clone(),
                        recent_events,
                        log_tail,
                    }));
                    return Err(failure(&target, &reason, format!("{shown}: pod {pod_name}: {message}")));
                }
                if now >= deadline {
                    let detail = match &last {
                        Some(Readiness::Progress(p)) => p.message.clone(),
                        _ => "no status observed".into(),
                    };
                    // What was said about it is often why: the Events of a
                    // pod not ready yet (a volume that cannot mount, a
                    // failing probe), else the object's own (a
                    // StatefulSet's refused pods, a claim's provisioning).
                    let (pod, recent_events, log_tail) = match &unready {
                        Some(p) => {
                            let (events, logs) =
                                pods::evidence(cluster.client(), &target.namespace, p).await;
                            let name = p["metadata"]["name"].as_str().unwrap_or_default();
                            (name.to_string(), events, logs)
                        }
                        None => {
                            let events = pods::recent_events(
                                cluster.client(),
                                &target.namespace,
                                &target.object.kind,
                                &target.object.name,
                            )
                            .await;
                            (String::new(), events, Vec::new())
                        }
                    };
                    op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                        object: Some(target.object.clone()),
                        reason: "Timeout".into(),
                        message: detail.clone(),
                        pod,
                        recent_events,
                        log_tail,
                    }));
                    return Err(failure(&target, "Timeout", format!("timed out waiting for {shown}: {detail}")));
                }
            }
        }
    }
}

/// How a hook resource ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEnd {
    Succeeded(String),
    /// Reason and message.
    Failed(String, String),
}

/// Wait (by watch) until a hook resource has run: a Job until it is
/// Complete or Failed, a Pod until it Succeeded or Failed (what Helm's
/// WatchUntilReady waits for); other kinds are done once created.
pub async fn hook_done(
    client: kube::Client,
    object: &ObjectRef,
    namespace: &str,
    deadline: Instant,
) -> Result<HookEnd, String> {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    use kube::runtime::wait::await_condition;
    let name = object.name.as_str();
    let timeout = |_| format!("timed out waiting for {} to finish", object.display());
    match (object.api_version.as_str(), object.kind.as_str()) {
        ("batch/v1", "Job") => {
            let api: Api<Job> = Api::namespaced(client, namespace);
            let ended = |j: Option<&Job>| job_end(j?);
            let wait = await_condition(api, name, move |j: Option<&Job>| ended(j).is_some());
            let job = tokio::time::timeout_at(deadline, wait)
                .await
                .map_err(timeout)?
                .map_err(|e| e.to_string())?;
            Ok(job
                .as_ref()
                .and_then(job_end)
                .unwrap_or(HookEnd::Succeeded(String::new())))
        }
        ("v1", "Pod") => {
            let api: Api<Pod> = Api::namespaced(client, namespace);
            let ended = |p: Option<&Pod>| pod_end(p?);
            let wait = await_condition(api, name, move |p: Option<&Pod>| ended(p).is_some());
            let pod = tokio::time::timeout_at(deadline, wait)
                .await
                .map_err(timeout)?
                .map_err(|e| e.to_string())?;
            Ok(pod
                .as_ref()
                .and_then(pod_end)
                .unwrap_or(HookEnd::Succeeded(String::new())))
        }
        _ => Ok(HookEnd::Succeeded("created".into())),
    }
}

/// A Job hook has ended when the Job readiness rule says complete or failed.
fn job_end(job: &k8s_openapi::api::batch::v1::Job) -> Option<HookEnd> {
    let json = serde_json::to_value(job).ok()?;
    match status::readiness("Job", "batch/v1", &json, &status::Rules::default()) {
        Readiness::Ready(_) => Some(HookEnd::Succeeded("job complete".into())),
        Readiness::Failed(reason, message) => Some(HookEnd::Failed(reason, message)),
        Readiness::Progress(_) => None,
    }
}

fn pod_end(pod: &k8s_openapi::api::core::v1::Pod) -> Option<HookEnd> {
    let status = pod.status.as_ref()?;
    match status.phase.as_deref()? {
        "Succeeded" => Some(HookEnd::Succeeded("pod succeeded".into())),
        "Failed" => {
            let terminated = status
                .container_statuses
                .iter()
                .flatten()
                .filter_map(|c| c.state.as_ref()?.terminated.as_ref())
                .find(|t| t.exit_code != 0);
            let message = match terminated {
                Some(t) => format!(
                    "container exited with code {}{}",
                    t.exit_code,
                    t.reason
                        .as_ref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                None => status.message.clone().unwrap_or_default(),
            };
            Some(HookEnd::Failed("PodFailed".into(), message))
        }
        _ => None,
    }
}
