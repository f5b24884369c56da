//! Early failure: what a workload's pods say that waiting will not fix
//! (an image that cannot be pulled, a container that keeps crashing, a pod
//! no node can take). A signal fails the operation once it has persisted
//! for its grace period, long before the operation's timeout, with the pod,
//! its recent Kubernetes Events and the tail of its logs as evidence.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
use serde_json::Value;

/// Grace period per signal (the Kubernetes reason), with a default for the
/// others. berthd's `--failure-grace REASON=DURATION` sets them.
#[derive(Debug, Clone)]
pub struct Grace {
    pub per_reason: BTreeMap<String, Duration>,
    pub default: Duration,
}

impl Default for Grace {
    fn default() -> Self {
        let per_reason = [
            ("ErrImagePull", 10),
            ("ImagePullBackOff", 10),
            ("InvalidImageName", 0),
            ("CrashLoopBackOff", 10),
            ("CreateContainerConfigError", 10),
            ("CreateContainerError", 10),
            ("Unschedulable", 30),
            ("FailedCreate", 10),
        ]
        .into_iter()
        .map(|(r, s)| (r.to_string(), Duration::from_secs(s)))
        .collect();
        Grace {
            per_reason,
            default: Duration::from_secs(10),
        }
    }
}

impl Grace {
    pub fn of(&self, reason: &str) -> Duration {
        self.per_reason.get(reason).copied().unwrap_or(self.default)
    }

    /// Parse `REASON=DURATION` (e.g. `ImagePullBackOff=30s`, `*=5s` for the default).
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (reason, d) = spec
            .split_once('=')
            .ok_or_else(|| format!("--failure-grace {spec:?}: expected REASON=DURATION"))?;
        let d = berth::types::parse_duration(d)
            .map_err(|e| format!("--failure-grace {spec:?}: {e}"))?;
        if reason == "*" {
            self.default = d;
        } else {
            self.per_reason.insert(reason.to_string(), d);
        }
        Ok(())
    }
}

const WAITING_FAILURES: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// A failure signal on one pod: reason, message (naming the container).
pub fn signal(pod: &Value) -> Option<(String, String)> {
    for list in ["initContainerStatuses", "containerStatuses"] {
        for c in pod["status"][list].as_array().into_iter().flatten() {
            let waiting = &c["state"]["waiting"];
            let reason = waiting["reason"].as_str().unwrap_or_default();
            if WAITING_FAILURES.contains(&reason) {
                let container = c["name"].as_str().unwrap_or_default();
                let message = waiting["message"].as_str().unwrap_or_default();
                let restarts = c["restartCount"].as_i64().unwrap_or(0);
                let mut text = format!("container {container}: {reason}");
                if !message.is_empty() {
                    text.push_str(&format!(": {message}"));
                }
                if reason == "CrashLoopBackOff" {
                    text.push_str(&format!(" ({restarts} restarts)"));
                }
                return Some((reason.to_string(), text));
            }
        }
    }
    let scheduled = pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PodScheduled")?;
    if scheduled["status"] == "False" && scheduled["reason"] == "Unschedulable" {
        let message = scheduled["message"]
            .as_str()
            .unwrap_or("no node can run it");
        return Some(("Unschedulable".into(), message.to_string()));
    }
    None
}

/// `spec.selector.matchLabels`, if the workload has any.
pub fn match_labels(workload: &Value) -> Option<BTreeMap<String, String>> {
    let labels = workload
        .pointer("/spec/selector/matchLabels")?
        .as_object()?;
    if labels.is_empty() {
        return None;
    }
    Some(
        labels
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
    )
}

/// The pod's latest Events ("Reason: message", oldest first) and the tail
/// of its first failing container's log, where the API provides them.
pub async fn evidence(
    client: kube::Client,
    namespace: &str,
    pod: &Value,
) -> (Vec<String>, Vec<String>) {
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let recent = recent_events(client.clone(), namespace, "Pod", name).await;
    let container = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["state"]["waiting"].is_object())
        .and_then(|c| c["name"].as_str())
        .map(str::to_string);
    let pods: Api<Pod> = Api::namespaced(client, namespace);
    let params = LogParams {
        container,
        tail_lines: Some(20),
        previous: true,
        ..Default::default()
    };
    let logs = match tokio::time::timeout(Duration::from_secs(2), pods.logs(name, &params)).await {
        Ok(Ok(text)) => text.lines().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    (recent, logs)
}

/// Why an object that is not ready may be stuck, in one line, as `berth
/// status` says it: the first failure signal among its pods (or of itself,
/// a Pod), else its latest Warning Event (a refused pod, a claim's
/// provisioning). None when nothing says so, or the API does not answer
/// within 2 s.
pub async fn why_stuck(
    client: kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
    live: &Value,
) -> Option<String> {
    if kind == "Pod" {
        if let Some((_, text)) = signal(live) {
            return Some(text);
        }
    } else if let Some(labels) = match_labels(live) {
        let selector = labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let params = ListParams::default().labels(&selector);
        if let Ok(Ok(list)) = tokio::time::timeout(Duration::from_secs(2), pods.list(&params)).await
        {
            let said = list.items.iter().find_map(|p| {
                let pod = serde_json::to_value(p).ok()?;
                let (_, text) = signal(&pod)?;
                Some(format!(
                    "pod {}: {text}",
                    p.metadata.name.as_deref().unwrap_or_default()
                ))
            });
            if said.is_some() {
                return said;
            }
        }
    }
    let warnings = events_of(client, namespace, kind, name, ",type=Warning").await;
    in_order(warnings).pop()
}

/// The Events of one object (`more`: further field selectors), where the
/// API gives them within 2 s: they are asked for when a wait has failed or
/// run out, or by `berth status`, not worth waiting long for. A
/// cluster-scoped object's are in `default`.
async fn events_of(
    client: kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
    more: &str,
) -> Vec<Event> {
    let namespace = if namespace.is_empty() {
        "default"
    } else {
        namespace
    };
    let events: Api<Event> = Api::namespaced(client, namespace);
    let params = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name}{more}"
    ));
    match tokio::time::timeout(Duration::from_secs(2), events.list(&params)).await {
        Ok(Ok(list)) => list.items,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, kind, name, "could not list the object's events");
            Vec::new()
        }
        Err(_) => {
            tracing::debug!(kind, name, "the object's events did not come within 2 s");
            Vec::new()
        }
    }
}

/// The latest five Events of one object ("Reason: message", oldest first),
/// where the API provides them. A cluster-scoped object's are in `default`.
pub async fn recent_events(
    client: kube::Client,
    namespace: &str,
    kind: &str,
    name: &str,
) -> Vec<String> {
    let lines = in_order(events_of(client, namespace, kind, name, "").await);
    let skip = lines.len().saturating_sub(5);
    lines.into_iter().skip(skip).collect()
}

/// Events as "Reason: message" lines in the order they were last seen:
/// their times are in seconds, so within one second in the order the API
/// server stored them (resourceVersion).
fn in_order(events: Vec<Event>) -> Vec<String> {
    let mut timeline: Vec<(String, u64, String)> = events
        .into_iter()
        .map(|e| {
            let when = serde_json::to_value(&e)
                .map(|v| super::feeds::event_time(&v).to_string())
                .unwrap_or_default();
            let stored = e
                .metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let line = format!(
                "{}: {}",
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default().trim()
            );
            (when, stored, line)
        })
        .collect();
    timeline.sort();
    timeline.into_iter().map(|(_, _, line)| line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn image_pull_crash_loop_and_unschedulable_are_signals() {
        let waiting = |reason: &str| {
            json!({"status": {"containerStatuses": [{"name": "app", "restartCount": 4,
                "state": {"waiting": {"reason": reason, "message": "details"}}}]}})
        };
        assert_eq!(
            signal(&waiting("ImagePullBackOff")),
            Some((
                "ImagePullBackOff".into(),
                "container app: ImagePullBackOff: details".into()
            ))
        );
        assert_eq!(
            signal(&waiting("CrashLoopBackOff")).unwrap().1,
            "container app: CrashLoopBackOff: details (4 restarts)"
        );
        assert_eq!(signal(&waiting("ContainerCreating")), None);
        let pending = json!({"status": {"conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/3 nodes are available"}]}});
        assert_eq!(signal(&pending).unwrap().0, "Unschedulable");
    }

    #[test]
    fn grace_is_per_reason_with_a_default() {
        let mut g = Grace::default();
        g.set("ImagePullBackOff=2s").unwrap();
        g.set("*=1m").unwrap();
        assert_eq!(g.of("ImagePullBackOff"), Duration::from_secs(2));
        assert_eq!(g.of("Other"), Duration::from_secs(60));
        assert!(g.set("nonsense").is_err());
    }
}
