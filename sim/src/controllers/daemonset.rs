//! The DaemonSet controller (SIM_SPEC §5.5): one pod per Ready node (node selectors and
//! tolerations are ignored), RollingUpdate with `maxUnavailable`.

use std::sync::Arc;

use serde_json::{Value, json};

use super::WorkKey;
use super::deployment::resolve_int_or_percent;
use super::pod::{availability, is_ready, owned_pods};
use super::replicaset::pod_from_template;
use super::template_hash;
use crate::apiserver::{Cluster, DeleteOpts};
use crate::object;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
const COMPONENT: &str = "daemonset-controller";

fn node_of(p: &Value) -> &str {
    object::str_at(p, &["spec", "nodeName"]).unwrap_or("")
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let Some(ds) = c.store.get(key).cloned() else {
        return;
    };
    let ds = (*ds).clone();
    if object::is_deleting(&ds) {
        return;
    }
    let ns = object::namespace(&ds).to_string();
    let node_rt = c.rt("", "nodes");
    let nodes: Vec<String> = c
        .store
        .list(&node_rt.key(), None)
        .iter()
        .filter(|n| super::pod::condition_true(n, "Ready"))
        .map(|n| object::name(n).to_string())
        .collect();
    let template = object::at(&ds, &["spec", "template"])
        .cloned()
        .unwrap_or_else(|| json!({}));
    let hash = template_hash(
        &template,
        object::i64_at(&ds, &["status", "collisionCount"]).unwrap_or(0),
    );
    let generation = object::generation(&ds);
    super::statefulset::ensure_revision(
        c,
        &ds,
        &format!("{}-{hash}", object::name(&ds)),
        &template,
    );
    let pods_rt = c.rt("", "pods");
    let now = c.now();
    let min_ready = object::i64_at(&ds, &["spec", "minReadySeconds"]).unwrap_or(0);
    let is_current = |p: &Value| object::labels(p).get("controller-revision-hash") == Some(&hash);

    let pods = owned_pods(c, &ns, object::uid(&ds));
    // One pod per node: create where missing.
    let mut failed = false;
    for node in &nodes {
        if pods.iter().any(|p| node_of(p) == node) {
            continue;
        }
        let name = c.generate_name(&format!("{}-", object::name(&ds)));
        let mut pod = pod_from_template(
            &ds,
            &template,
            &name,
            &[
                ("controller-revision-hash", hash.clone()),
                ("pod-template-generation", generation.to_string()),
            ],
        );
        object::set(&mut pod, &["spec", "nodeName"], json!(node));
        match c.create_as_controller(&pods_rt, &ns, pod, MANAGER) {
            Ok(_) => c.record_event(
                &ds,
                "Normal",
                "SuccessfulCreate",
                &format!("Created pod: {name}"),
                COMPONENT,
            ),
            Err(e) => {
                c.record_event(
                    &ds,
                    "Warning",
                    "FailedCreate",
                    &format!("Error creating: {}", e.message),
                    COMPONENT,
                );
                failed = true;
            }
        }
    }
    // Rolling update: replace old pods while at most maxUnavailable nodes lack an available pod.
    let rolling = object::str_at(&ds, &["spec", "updateStrategy", "type"]) != Some("OnDelete");
    if rolling {
        let desired = nodes.len() as i64;
        let max_unavailable = resolve_int_or_percent(
            object::at(
                &ds,
                &["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"],
            ),
            desired,
            true,
            1,
        )
        .max(1);
        let live: Vec<&Value> = pods
            .iter()
            .map(|p| &**p)
            .filter(|p| !object::is_deleting(p))
            .collect();
        let unavailable = nodes
            .iter()
            .filter(|n| {
                !live
                    .iter()
                    .any(|p| node_of(p) == n.as_str() && availability(p, min_ready, now).0)
            })
            .count() as i64;
        let mut budget = max_unavailable - unavailable;
        // Unavailable old pods go first: replacing them costs no availability.
        let mut old: Vec<&&Value> = live.iter().filter(|p| !is_current(p)).collect();
        old.sort_by_key(|p| availability(p, min_ready, now).0);
        for p in old {
            let costs = availability(p, min_ready, now).0;
            if costs && budget <= 0 {
                break;
            }
            let name = object::name(p).to_string();
            if c.delete(&pods_rt, &ns, &name, &DeleteOpts::default())
                .is_ok()
            {
                c.record_event(
                    &ds,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("Deleted pod: {name}"),
                    COMPONENT,
                );
                if costs {
                    budget -= 1;
                }
            }
        }
    }

    let pods: Vec<Arc<Value>> = owned_pods(c, &ns, object::uid(&ds))
        .into_iter()
        .filter(|p| !object::is_deleting(p))
        .collect();
    let scheduled = nodes
        .iter()
        .filter(|n| pods.iter().any(|p| node_of(p) == n.as_str()))
        .count() as i64;
    let updated = pods.iter().filter(|p| is_current(p)).count() as i64;
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let mut available = 0;
    for p in &pods {
        match availability(p, min_ready, now) {
            (true, _) => available += 1,
            (false, Some(at)) => c.work.add_at(at, WorkKey::Obj(key.clone())),
            _ => {}
        }
    }
    let desired = nodes.len() as i64;
    let mut status = serde_json::Map::new();
    status.insert("currentNumberScheduled".into(), json!(scheduled));
    status.insert("numberMisscheduled".into(), json!(0));
    status.insert("desiredNumberScheduled".into(), json!(desired));
    status.insert("numberReady".into(), json!(ready));
    status.insert("observedGeneration".into(), json!(generation));
    if updated > 0 {
        status.insert("updatedNumberScheduled".into(), json!(updated));
    }
    if available > 0 {
        status.insert("numberAvailable".into(), json!(available));
    }
    if desired - available > 0 {
        status.insert("numberUnavailable".into(), json!(desired - available));
    }
    let rt = c.rt("apps", "daemonsets");
    c.write_status(&rt, &ds, Value::Object(status), MANAGER);
    // As the controller's work queue: a failed sync is tried again later.
    if failed {
        c.work.retry(now, key);
    } else {
        c.work.forget(key);
    }
}
