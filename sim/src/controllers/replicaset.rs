//! The ReplicaSet controller (SIM_SPEC §5.2): creates and deletes pods to reach
//! `spec.replicas` and reports replica counts.

use std::sync::Arc;

use serde_json::{Value, json};

use super::WorkKey;
use super::pod::{availability, is_ready, owned_pods};
use crate::apiserver::{Cluster, DeleteOpts};
use crate::object;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
const COMPONENT: &str = "replicaset-controller";

/// A pod for `owner` built from the pod template at `template`.
pub fn pod_from_template(
    owner: &Value,
    template: &Value,
    name: &str,
    extra_labels: &[(&str, String)],
) -> Value {
    let mut meta = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generateName",
    ] {
        object::remove(&mut meta, &[k]);
    }
    let mut pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    object::set(&mut pod, &["metadata", "name"], json!(name));
    object::set(
        &mut pod,
        &["metadata", "namespace"],
        json!(object::namespace(owner)),
    );
    for (k, v) in extra_labels {
        object::obj_mut(&mut pod, &["metadata", "labels"]).insert(k.to_string(), json!(v));
    }
    object::set(
        &mut pod,
        &["metadata", "ownerReferences"],
        json!([object::controller_owner_ref(owner)]),
    );
    pod
}

/// Scale-down order: unscheduled, pending, not ready before ready; then newest first.
fn deletion_rank(p: &Value) -> (u8, std::cmp::Reverse<String>, std::cmp::Reverse<String>) {
    let scheduled = object::str_at(p, &["spec", "nodeName"]).is_some_and(|n| !n.is_empty());
    let running = object::str_at(p, &["status", "phase"]) == Some("Running");
    let rank = match (scheduled, running, is_ready(p)) {
        (false, _, _) => 0,
        (true, false, _) => 1,
        (true, true, false) => 2,
        _ => 3,
    };
    (
        rank,
        std::cmp::Reverse(
            object::str_at(p, &["metadata", "creationTimestamp"])
                .unwrap_or("")
                .to_string(),
        ),
        std::cmp::Reverse(object::name(p).to_string()),
    )
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let rt = c.rt("apps", "replicasets");
    let Some(rs) = c.store.get(key).cloned() else {
        return;
    };
    if object::is_deleting(&rs) {
        return;
    }
    let ns = object::namespace(&rs).to_string();
    let uid = object::uid(&rs).to_string();
    let desired = object::i64_at(&rs, &["spec", "replicas"])
        .unwrap_or(1)
        .max(0) as usize;
    let pods_rt = c.rt("", "pods");

    let active: Vec<Arc<Value>> = owned_pods(c, &ns, &uid)
        .into_iter()
        .filter(|p| {
            !object::is_deleting(p)
                && !matches!(
                    object::str_at(p, &["status", "phase"]),
                    Some("Succeeded" | "Failed")
                )
        })
        .collect();
    // What manageReplicas returned: the reason and the error.
    let mut failure: Option<(&str, String)> = None;
    if active.len() < desired {
        let template = object::at(&rs, &["spec", "template"])
            .cloned()
            .unwrap_or_else(|| json!({}));
        for _ in active.len()..desired {
            let prefix = format!("{}-", object::name(&rs));
            let name = c.generate_name(&prefix);
            let mut pod = pod_from_template(&rs, &template, &name, &[]);
            object::set(&mut pod, &["metadata", "generateName"], json!(prefix));
            match c.create_as_controller(&pods_rt, &ns, pod, MANAGER) {
                Ok(_) => c.record_event(
                    &rs,
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                    COMPONENT,
                ),
                // As replica_set.go's manageReplicas: the error, as an
                // event, and the rest of the batch not tried.
                Err(e) => {
                    c.record_event(
                        &rs,
                        "Warning",
                        "FailedCreate",
                        &format!("Error creating: {}", e.message),
                        COMPONENT,
                    );
                    failure = Some(("FailedCreate", e.message));
                    break;
                }
            }
        }
    } else if active.len() > desired {
        let mut doomed = active.clone();
        doomed.sort_by_key(|p| deletion_rank(p));
        for p in doomed.iter().take(active.len() - desired) {
            let name = object::name(p).to_string();
            if c.delete(&pods_rt, &ns, &name, &DeleteOpts::default())
                .is_ok()
            {
                c.record_event(
                    &rs,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {name}"),
                    COMPONENT,
                );
            }
        }
    }

    // Status from what exists now.
    let now = c.now();
    let min_ready = object::i64_at(&rs, &["spec", "minReadySeconds"]).unwrap_or(0);
    let pods: Vec<Arc<Value>> = owned_pods(c, &ns, &uid)
        .into_iter()
        .filter(|p| {
            !object::is_deleting(p)
                && !matches!(
                    object::str_at(p, &["status", "phase"]),
                    Some("Succeeded" | "Failed")
                )
        })
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count();
    let mut available = 0;
    for p in &pods {
        match availability(p, min_ready, now) {
            (true, _) => available += 1,
            (false, Some(at)) => c.work.add_at(at, WorkKey::Obj(key.clone())),
            _ => {}
        }
    }
    let sel_labels = template_labels(&rs);
    let fully_labeled = pods
        .iter()
        .filter(|p| {
            let l = object::labels(p);
            sel_labels.iter().all(|(k, v)| l.get(k) == Some(v))
        })
        .count();
    let mut status = json!({
        "replicas": pods.len(),
        "fullyLabeledReplicas": fully_labeled,
        "readyReplicas": ready,
        "availableReplicas": available,
        "observedGeneration": object::generation(&rs),
    });
    // A real server omits zero counts (omitempty).
    if let Some(m) = status.as_object_mut() {
        m.retain(|k, v| k == "replicas" || k == "observedGeneration" || v.as_u64() != Some(0));
    }
    let conditions = replica_failure(&rs, failure.as_ref(), &now.rfc3339());
    if !conditions.is_empty() {
        status["conditions"] = Value::Array(conditions);
    }
    c.write_status(&rt, &rs, status, MANAGER);
    // As the controller's work queue: a failed sync is tried again later.
    if failure.is_some() {
        c.work.retry(now, key);
    } else {
        c.work.forget(key);
    }
}

/// The conditions after a sync, as replica_set_utils.go's calculateStatus
/// keeps them: a `ReplicaFailure` is added when creating or deleting pods
/// failed and none is there yet, and removed once a sync succeeds.
fn replica_failure(rs: &Value, failure: Option<&(&str, String)>, now: &str) -> Vec<Value> {
    let mut conditions: Vec<Value> = object::at(rs, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_failure = |c: &Value| object::str_at(c, &["type"]) == Some("ReplicaFailure");
    match failure {
        Some((reason, message)) if !conditions.iter().any(is_failure) => {
            conditions.push(json!({
                "type": "ReplicaFailure",
                "status": "True",
                "lastTransitionTime": now,
                "reason": reason,
                "message": message,
            }));
        }
        Some(_) => {}
        None => conditions.retain(|c| !is_failure(c)),
    }
    conditions
}

fn template_labels(rs: &Value) -> Vec<(String, String)> {
    object::string_map(object::at(rs, &["spec", "template", "metadata", "labels"]))
        .into_iter()
        .collect()
}
