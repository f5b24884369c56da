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
use std::sync::Arc;

use berth::proto::{self, ObjectRef, event::Kind};
use futures::StreamExt;
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

/// The [`Policy::since`] of a wait starting now: pods created before it
/// belong to earlier revisions or runs (a second of slack for clock
/// granularity).
pub fn pods_since_now() -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
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
fn progress(op: &OpEvents, target: &Target, p: &status::Progress, refused: Option<&Signal>) {
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

/// How the watch of one object came out.
enum Outcome {
    /// Ready (for a hook: done), with what its status says.
    Ready(String),
    /// Its status says it cannot get there: reason, message.
    Failed(String, String),
    /// A failure signal outlasted its grace period: the event that says
    /// so, with the pod, its Events and its log tail where a pod's.
    Stuck(proto::ResourceFailed),
    /// The deadline passed: the event that says where it stood, with the
    /// Events of a pod not ready yet, else of the object.
    TimedOut(proto::ResourceFailed),
    WatchEnded,
}

async fn wait_one(
    cluster: &Cluster,
    op: &OpEvents,
    target: Target,
    watches: Watches,
    deadline: Instant,
    policy: &Policy,
) -> Result<(), Failure> {
    let judge = |obj: &Value| {
        status::readiness(
            &target.object.kind,
            &target.object.api_version,
            obj,
            &policy.rules,
        )
    };
    let shown = target.object.display();
    match watch_one(
        cluster.client(),
        op,
        &target,
        watches,
        deadline,
        policy,
        &judge,
    )
    .await
    {
        Outcome::Ready(message) => {
            op.emit(Kind::ResourceReady(proto::ResourceReady {
                object: Some(target.object.clone()),
                message,
                ..Default::default()
            }));
            Ok(())
        }
        Outcome::Failed(reason, message) => {
            op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                object: Some(target.object.clone()),
                reason: reason.clone(),
                message: message.clone(),
                ..Default::default()
            }));
            Err(failure(&target, &reason, format!("{shown}: {message}")))
        }
        Outcome::Stuck(failed) => {
            let text = stuck_text(&shown, &failed);
            let reason = failed.reason.clone();
            op.emit(Kind::ResourceFailed(failed));
            Err(failure(&target, &reason, text))
        }
        Outcome::TimedOut(failed) => {
            let text = format!("timed out waiting for {shown}: {}", failed.message);
            op.emit(Kind::ResourceFailed(failed));
            Err(failure(&target, "Timeout", text))
        }
        Outcome::WatchEnded => Err(failure(
            &target,
            "WatchEnded",
            format!("the watch on {shown} ended"),
        )),
    }
}

/// What a signal that outlasted its grace says of the object.
fn stuck_text(shown: &str, failed: &proto::ResourceFailed) -> String {
    match failed.pod.as_str() {
        "" => format!("{shown}: {}", failed.message),
        pod => format!("{shown}: pod {pod}: {}", failed.message),
    }
}

/// One failure signal: reason, message, when first seen, the pod (Null
/// for the object's own).
type Signal = (String, String, Instant, Arc<Value>);

/// Take a pod's state into the signals (by its name) and into `unready`,
/// the latest new pod not ready yet.
fn observe_pod(
    pod: &Arc<Value>,
    since: &str,
    signals: &mut HashMap<String, Signal>,
    unready: &mut Option<Arc<Value>>,
) {
    let name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let created = pod["metadata"]["creationTimestamp"]
        .as_str()
        .unwrap_or_default();
    let deleting = pod["metadata"]["deletionTimestamp"].is_string();
    // A signal holds until the pod is ready or gone: crash loops pass
    // through Running and image pulls alternate between ErrImagePull and
    // ImagePullBackOff, which must not restart the grace period.
    let ready = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    let current = !deleting && created >= since;
    if current && !ready {
        *unready = Some(Arc::clone(pod));
    } else if unready
        .as_ref()
        .is_some_and(|u| u["metadata"]["name"] == pod["metadata"]["name"])
    {
        *unready = None;
    }
    if !current || ready {
        signals.remove(&name);
    } else if let Some((reason, message)) = pods::signal(pod) {
        let entry = signals.entry(name).or_insert_with(|| {
            (
                reason.clone(),
                message.clone(),
                Instant::now(),
                Arc::clone(pod),
            )
        });
        *entry = (reason, message, entry.2, Arc::clone(pod));
    }
}

/// Watch one object until `judge` finds it ready or failed, a failure
/// signal of its pods or its controller outlasts its grace period, or the
/// deadline passes, saying where it stands as it goes.
async fn watch_one(
    client: kube::Client,
    op: &OpEvents,
    target: &Target,
    watches: Watches,
    deadline: Instant,
    policy: &Policy,
    judge: &(dyn Fn(&Value) -> Readiness + Sync),
) -> Outcome {
    let Watches {
        mut objects,
        pods: pod_feed,
        events: event_feed,
    } = watches;
    let is_pod = target.object.kind == "Pod" && target.object.api_version == "v1";
    let mut pod_stream: Option<feeds::Feed> = None;
    let mut event_stream: Option<feeds::Feed> = None;
    let mut signals: HashMap<String, Signal> = HashMap::new();
    // The latest of its new pods not ready yet: whose Events explain a
    // timeout (a volume that cannot mount, a failing readiness probe).
    let mut unready: Option<Arc<Value>> = None;
    let mut last: Option<Readiness> = None;
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
                    return Outcome::WatchEnded;
                };
                let now = judge(&obj);
                // A Pod waited for is its own pod: what it signals.
                if is_pod {
                    observe_pod(&obj, &policy.since, &mut signals, &mut unready);
                }
                // Pods its controller cannot create: a signal of the
                // object itself, held while its condition lasts.
                if event_feed.is_none() {
                    match status::replica_failure(&obj) {
                        Some((reason, message)) => {
                            let entry = signals.entry(OBJECT.into()).or_insert_with(|| {
                                (reason.clone(), message.clone(), Instant::now(), Arc::default())
                            });
                            *entry = (reason, message, entry.2, Arc::default());
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
                    Readiness::Ready(message) => return Outcome::Ready(message.clone()),
                    Readiness::Failed(reason, message) => {
                        return Outcome::Failed(reason.clone(), message.clone());
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
                        progress(op, target, p, event_feed.as_ref().and(signals.get(OBJECT)));
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
                        ("FailedCreate".into(), message.clone(), Instant::now(), Arc::default())
                    });
                    entry.1 = message;
                } else {
                    signals.remove(OBJECT);
                }
                if before != signals.get(OBJECT).map(|s| s.1.clone())
                    && let Some(Readiness::Progress(p)) = &last
                {
                    progress(op, target, p, signals.get(OBJECT));
                }
            }
            Some(pod) = async {
                match pod_stream.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            } => observe_pod(&pod, &policy.since, &mut signals, &mut unready),
            _ = tokio::time::sleep_until(next_expiry) => {
                let now = Instant::now();
                let expired = signals
                    .iter()
                    .find(|(_, (reason, _, seen, _))| now >= *seen + policy.grace.of(reason))
                    .map(|(name, (reason, message, _, pod))| (name.clone(), reason.clone(), message.clone(), pod.clone()));
                if let Some((pod_name, reason, message, pod)) = expired {
                    let (recent_events, log_tail) = if pod_name == OBJECT {
                        (Vec::new(), Vec::new())
                    } else {
                        pods::evidence(client.clone(), &target.namespace, &pod).await
                    };
                    return Outcome::Stuck(proto::ResourceFailed {
                        object: Some(target.object.clone()),
                        reason,
                        message,
                        pod: pod_name,
                        recent_events,
                        log_tail,
                    });
                }
                if now >= deadline {
                    let detail = match &last {
                        Some(Readiness::Progress(p)) => p.message.clone(),
                        _ => "no status observed".into(),
                    };
                    // What was said about it is often why: the Events of a
                    // pod not ready yet (a volume that cannot mount, a
                    // failing probe), else the object's own (a claim's
                    // provisioning).
                    let (pod, recent_events, log_tail) = match &unready {
                        Some(p) => {
                            let (events, logs) =
                                pods::evidence(client.clone(), &target.namespace, p).await;
                            let name = p["metadata"]["name"].as_str().unwrap_or_default();
                            (name.to_string(), events, logs)
                        }
                        None => {
                            let events = pods::recent_events(
                                client.clone(),
                                &target.namespace,
                                &target.object.kind,
                                &target.object.name,
                            )
                            .await;
                            (String::new(), events, Vec::new())
                        }
                    };
                    return Outcome::TimedOut(proto::ResourceFailed {
                        object: Some(target.object.clone()),
                        reason: "Timeout".into(),
                        message: detail,
                        pod,
                        recent_events,
                        log_tail,
                    });
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

/// A hook that will not end by waiting: a signal of its pods (an image
/// that cannot be pulled, refused creates) outlasted its grace period, or
/// the deadline passed. The event says why; `reason` and `text` are the
/// operation's failure.
#[derive(Debug, Clone)]
pub struct HookStuck {
    pub event: proto::ResourceFailed,
    pub reason: String,
    pub text: String,
}

/// Wait (by watch) until a hook resource has run: a Job until it is
/// Complete or Failed, a Pod until it Succeeded or Failed (what Helm's
/// WatchUntilReady waits for); other kinds are done once created. Their
/// pods' failure signals, and a Job's refused creates, end the wait once
/// they outlast their grace period, as in a rollout, and say where it
/// stands as it goes.
pub async fn hook_done(
    client: kube::Client,
    op: &OpEvents,
    object: &ObjectRef,
    namespace: &str,
    deadline: Instant,
    policy: &Policy,
) -> Result<HookEnd, HookStuck> {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    use kube::discovery::{ApiResource, Scope};
    let job = match (object.api_version.as_str(), object.kind.as_str()) {
        ("batch/v1", "Job") => true,
        ("v1", "Pod") => false,
        _ => return Ok(HookEnd::Succeeded("created".into())),
    };
    let ar = if job {
        ApiResource::erase::<Job>(&())
    } else {
        ApiResource::erase::<Pod>(&())
    };
    let mut feeds = feeds::Feeds::new(client.clone(), "");
    let watches = Watches {
        objects: feeds.object(&ar, &Scope::Namespaced, namespace, &object.name),
        pods: job.then(|| feeds.pods(namespace)),
        events: job.then(|| feeds.events(namespace, "Job")),
    };
    let judge = |obj: &Value| {
        let end = if job {
            serde_json::from_value::<Job>(obj.clone())
                .ok()
                .and_then(|j| job_end(&j))
        } else {
            serde_json::from_value::<Pod>(obj.clone())
                .ok()
                .and_then(|p| pod_end(&p))
        };
        match end {
            Some(HookEnd::Succeeded(m)) => Readiness::Ready(m),
            Some(HookEnd::Failed(r, m)) => Readiness::Failed(r, m),
            None if job => status::readiness("Job", "batch/v1", obj, &status::Rules::default()),
            None => Readiness::Progress(status::Progress {
                message: match obj["status"]["phase"].as_str() {
                    Some(phase) if !phase.is_empty() => phase.to_string(),
                    _ => "Pending".into(),
                },
                ..Default::default()
            }),
        }
    };
    let target = Target {
        object: object.clone(),
        namespace: namespace.to_string(),
        live: Value::Null,
    };
    let wait = watch_one(client, op, &target, watches, deadline, policy, &judge);
    let watching = feeds.run();
    futures::pin_mut!(wait, watching);
    let mut watched = false;
    let outcome = loop {
        tokio::select! {
            outcome = &mut wait => break outcome,
            // Every watch ended: the wait sees its feed close.
            _ = &mut watching, if !watched => watched = true,
        }
    };
    let shown = object.display();
    match outcome {
        Outcome::Ready(message) => Ok(HookEnd::Succeeded(message)),
        Outcome::Failed(reason, message) => Ok(HookEnd::Failed(reason, message)),
        Outcome::Stuck(event) => Err(HookStuck {
            reason: event.reason.clone(),
            text: stuck_text(&shown, &event),
            event,
        }),
        Outcome::TimedOut(event) => Err(HookStuck {
            reason: "Timeout".into(),
            text: format!("timed out waiting for {shown} to finish: {}", event.message),
            event,
        }),
        Outcome::WatchEnded => Err(HookStuck {
            reason: "WatchEnded".into(),
            text: format!("the watch on {shown} ended"),
            event: proto::ResourceFailed {
                object: Some(object.clone()),
                reason: "WatchEnded".into(),
                message: "the watch ended".into(),
                ..Default::default()
            },
        }),
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
