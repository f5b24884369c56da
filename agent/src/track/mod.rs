//! Rollout tracking: watch every applied workload until it is ready, fails,
//! or the operation's deadline passes, and say so in events.
//!
//! Readiness follows kubectl's `rollout status` rules; state comes from
//! watches (kube's `watcher`), never from polling. The walking skeleton
//! tracks Deployments; other kinds are reported ready once applied.

use std::time::Duration;

use berth::proto::{self, ObjectRef, event::Kind};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::time::Instant;

use crate::events::OpEvents;
use crate::ops::Failure;

/// One object to wait for, with the namespace it was applied to.
#[derive(Debug, Clone)]
pub struct Target {
    pub object: ObjectRef,
    pub namespace: String,
}

/// Whether berth knows how to wait for this kind.
pub fn is_tracked(object: &ObjectRef) -> bool {
    object.api_version == "apps/v1" && object.kind == "Deployment"
}

/// Wait for every target concurrently; the first failure ends the wait.
pub async fn wait_all(
    client: kube::Client,
    op: &OpEvents,
    targets: Vec<Target>,
    deadline: Instant,
) -> Result<(), Failure> {
    let waits = targets
        .into_iter()
        .filter(|t| is_tracked(&t.object))
        .map(|t| wait_deployment(client.clone(), op, t, deadline));
    let mut all = futures::stream::iter(waits).buffer_unordered(16);
    while let Some(res) = all.next().await {
        res?;
    }
    Ok(())
}

/// A Deployment's rollout state, as kubectl's rollout status computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolloutState {
    pub desired: u32,
    pub updated: u32,
    pub ready: u32,
    pub available: u32,
    pub done: bool,
    pub message: String,
    /// Set when the rollout cannot finish (ProgressDeadlineExceeded).
    pub failed: Option<(String, String)>,
}

pub fn deployment_state(d: &Deployment) -> RolloutState {
    let name = d.metadata.name.clone().unwrap_or_default();
    let generation = d.metadata.generation.unwrap_or(0);
    let spec_replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as u32;
    let status = d.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0).max(0) as u32;
    let replicas = status.replicas.unwrap_or(0).max(0) as u32;
    let ready = status.ready_replicas.unwrap_or(0).max(0) as u32;
    let available = status.available_replicas.unwrap_or(0).max(0) as u32;
    let mut st = RolloutState {
        desired: spec_replicas,
        updated,
        ready,
        available,
        done: false,
        message: String::new(),
        failed: None,
    };
    if generation > observed {
        st.message = "waiting for the deployment spec update to be observed".into();
        return st;
    }
    let deadline_exceeded = status.conditions.unwrap_or_default().into_iter().find(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if let Some(c) = deadline_exceeded {
        st.failed = Some((
            "ProgressDeadlineExceeded".into(),
            c.message
                .unwrap_or_else(|| format!("deployment {name:?} exceeded its progress deadline")),
        ));
        st.message = format!("deployment {name:?} exceeded its progress deadline");
        return st;
    }
    st.message = if updated < spec_replicas {
        format!("{updated} of {spec_replicas} new replicas updated, {available} available")
    } else if replicas > updated {
        format!("{} old replicas pending termination", replicas - updated)
    } else if available < updated {
        format!("{available} of {updated} updated replicas available")
    } else {
        st.done = true;
        format!("{available}/{spec_replicas} replicas ready")
    };
    st
}

async fn wait_deployment(
    client: kube::Client,
    op: &OpEvents,
    target: Target,
    deadline: Instant,
) -> Result<(), Failure> {
    let api: Api<Deployment> = Api::namespaced(client, &target.namespace);
    let config =
        watcher::Config::default().fields(&format!("metadata.name={}", target.object.name));
    let stream = watcher(api, config).default_backoff().applied_objects();
    futures::pin_mut!(stream);
    let mut last: Option<RolloutState> = None;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.try_next()).await;
        match next {
            Err(_) => {
                let detail = last
                    .map(|s| s.message)
                    .unwrap_or_else(|| "no status observed".into());
                return Err(Failure {
                    reason: "Timeout".into(),
                    message: format!(
                        "timed out waiting for {}: {detail}",
                        target.object.display()
                    ),
                    culprit: Some(Box::new(target.object.clone())),
                });
            }
            Ok(Ok(Some(d))) => {
                let st = deployment_state(&d);
                if last.as_ref() != Some(&st) {
                    op.emit(Kind::ResourceProgress(proto::ResourceProgress {
                        object: Some(target.object.clone()),
                        message: st.message.clone(),
                        desired: st.desired,
                        updated: st.updated,
                        ready: st.ready,
                        available: st.available,
                    }));
                }
                if let Some((reason, message)) = &st.failed {
                    op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                        object: Some(target.object.clone()),
                        reason: reason.clone(),
                        message: message.clone(),
                        ..Default::default()
                    }));
                    return Err(Failure {
                        reason: reason.clone(),
                        message: format!("{}: {message}", target.object.display()),
                        culprit: Some(Box::new(target.object.clone())),
                    });
                }
                if st.done {
                    op.emit(Kind::ResourceReady(proto::ResourceReady {
                        object: Some(target.object.clone()),
                        message: st.message.clone(),
                    }));
                    return Ok(());
                }
                last = Some(st);
            }
            Ok(Ok(None)) => {
                // The watcher only ends if the stream is dropped; treat as transient.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, object = %target.object.display(), "watch error, retrying");
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

fn job_end(job: &k8s_openapi::api::batch::v1::Job) -> Option<HookEnd> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    for c in conditions.iter().filter(|c| c.status == "True") {
        match c.type_.as_str() {
            "Complete" => return Some(HookEnd::Succeeded("job complete".into())),
            "Failed" => {
                return Some(HookEnd::Failed(
                    c.reason.clone().unwrap_or_else(|| "JobFailed".into()),
                    c.message.clone().unwrap_or_default(),
                ));
            }
            _ => {}
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(v: serde_json::Value) -> Deployment {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn unobserved_generation_is_not_done() {
        // The race SIM_SPEC §5.3 describes: old conditions still say
        // NewReplicaSetAvailable, but the controller has not seen the change.
        let d = deployment(serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 1, "selector": {}, "template": {}},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
        }));
        assert!(!deployment_state(&d).done);
    }

    #[test]
    fn complete_rollout_is_done_and_deadline_fails() {
        let d = deployment(serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}
        }));
        assert!(deployment_state(&d).done);
        let d = deployment(serde_json::json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"web-1\" has timed out progressing."}]}
        }));
        let st = deployment_state(&d);
        assert!(!st.done);
        assert_eq!(st.failed.unwrap().0, "ProgressDeadlineExceeded");
    }
}
