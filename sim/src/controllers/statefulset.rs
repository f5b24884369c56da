//! The StatefulSet controller (SIM_SPEC §5.4): ordinal pods `<sts>-<i>` with PVCs from
//! `volumeClaimTemplates`, OrderedReady or Parallel management, and RollingUpdate from the
//! highest ordinal down to the partition.

use std::sync::Arc;

use serde_json::{Value, json};

use super::WorkKey;
use super::pod::{availability, is_ready, owned_pods};
use super::replicaset::pod_from_template;
use super::template_hash;
use crate::apiserver::{Cluster, DeleteOpts, WriteOpts};
use crate::object;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
const COMPONENT: &str = "statefulset-controller";
const REVISION_LABEL: &str = "controller-revision-hash";

fn ordinal(sts: &str, pod: &Value) -> Option<i64> {
    object::name(pod)
        .strip_prefix(sts)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

fn revision_of(pod: &Value) -> String {
    object::labels(pod)
        .get(REVISION_LABEL)
        .cloned()
        .unwrap_or_default()
}

fn running_ready(p: &Value) -> bool {
    !object::is_deleting(p)
        && object::str_at(p, &["status", "phase"]) == Some("Running")
        && is_ready(p)
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let Some(sts) = c.store.get(key).cloned() else {
        return;
    };
    let sts = (*sts).clone();
    if object::is_deleting(&sts) {
        return;
    }
    let name = object::name(&sts).to_string();
    let ns = object::namespace(&sts).to_string();
    let replicas = object::i64_at(&sts, &["spec", "replicas"]).unwrap_or(1);
    let parallel = object::str_at(&sts, &["spec", "podManagementPolicy"]) == Some("Parallel");
    let on_delete = object::str_at(&sts, &["spec", "updateStrategy", "type"]) == Some("OnDelete");
    let partition = object::i64_at(
        &sts,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    )
    .unwrap_or(0);
    let template = object::at(&sts, &["spec", "template"])
        .cloned()
        .unwrap_or_else(|| json!({}));
    let collision = object::i64_at(&sts, &["status", "collisionCount"]).unwrap_or(0);
    let update_rev = format!("{name}-{}", template_hash(&template, collision));
    let current_rev = object::str_at(&sts, &["status", "currentRevision"])
        .unwrap_or(&update_rev)
        .to_string();
    ensure_revision(c, &sts, &update_rev, &template);

    let pods_rt = c.rt("", "pods");
    let mut pods: Vec<(i64, Value)> = owned_pods(c, &ns, object::uid(&sts))
        .into_iter()
        .filter_map(|p| ordinal(&name, &p).map(|i| (i, (*p).clone())))
        .collect();
    pods.sort_by_key(|(i, _)| *i);
    let pod_at =
        |i: i64, pods: &[(i64, Value)]| pods.iter().find(|(o, _)| *o == i).map(|(_, p)| p.clone());

    let mut acted = false;
    let mut failed = false;
    // Create missing ordinals (one at a time unless Parallel).
    for i in 0..replicas {
        if pod_at(i, &pods).is_some() {
            continue;
        }
        if !parallel && (0..i).any(|j| !pod_at(j, &pods).as_ref().is_some_and(running_ready)) {
            break;
        }
        let rev = if i < partition && !on_delete {
            current_rev.clone()
        } else {
            update_rev.clone()
        };
        let tpl = if rev == update_rev {
            template.clone()
        } else {
            revision_template(c, &ns, &rev).unwrap_or_else(|| template.clone())
        };
        acted = true;
        if !create_pod(c, &sts, &tpl, i, &rev) {
            // The sync stops there; its status is still written.
            failed = true;
            break;
        }
        if !parallel {
            break;
        }
    }
    // Scale down from the highest ordinal.
    if !acted {
        let mut extra: Vec<&(i64, Value)> = pods.iter().filter(|(i, _)| *i >= replicas).collect();
        extra.sort_by_key(|(i, _)| -*i);
        for (i, p) in extra {
            if object::is_deleting(p) {
                if !parallel {
                    break;
                }
                continue;
            }
            let pod_name = object::name(p).to_string();
            if c.delete(&pods_rt, &ns, &pod_name, &DeleteOpts::default())
                .is_ok()
            {
                c.record_event(
                    &sts,
                    "Normal",
                    "SuccessfulDelete",
                    &format!("delete Pod {pod_name} in StatefulSet {name} successful"),
                    COMPONENT,
                );
            }
            acted = true;
            let _ = i;
            if !parallel {
                break;
            }
        }
    }
    // Rolling update: highest ordinal first, down to the partition, one pod at a time.
    if !acted && !on_delete {
        let all_ready = (0..replicas).all(|i| pod_at(i, &pods).as_ref().is_some_and(running_ready));
        if all_ready {
            for i in (partition..replicas).rev() {
                let Some(p) = pod_at(i, &pods) else { continue };
                if revision_of(&p) != update_rev {
                    let pod_name = object::name(&p).to_string();
                    if c.delete(&pods_rt, &ns, &pod_name, &DeleteOpts::default())
                        .is_ok()
                    {
                        c.record_event(
                            &sts,
                            "Normal",
                            "SuccessfulDelete",
                            &format!("delete Pod {pod_name} in StatefulSet {name} successful"),
                            COMPONENT,
                        );
                    }
                    break;
                }
            }
        }
    }

    // Status.
    let now = c.now();
    let min_ready = object::i64_at(&sts, &["spec", "minReadySeconds"]).unwrap_or(0);
    let pods: Vec<Arc<Value>> = owned_pods(c, &ns, object::uid(&sts))
        .into_iter()
        .filter(|p| ordinal(&name, p).is_some() && !object::is_deleting(p))
        .collect();
    let ready = pods.iter().filter(|p| is_ready(p)).count() as i64;
    let mut available = 0;
    for p in &pods {
        match availability(p, min_ready, now) {
            (true, _) => available += 1,
            (false, Some(at)) => c.work.add_at(at, WorkKey::Obj(key.clone())),
            _ => {}
        }
    }
    let updated = pods.iter().filter(|p| revision_of(p) == update_rev).count() as i64;
    let mut current = pods
        .iter()
        .filter(|p| revision_of(p) == current_rev)
        .count() as i64;
    let mut current_rev_out = current_rev.clone();
    let complete = pods.len() as i64 == replicas && updated == replicas && ready == replicas;
    if complete || (on_delete && current == 0) {
        current_rev_out = update_rev.clone();
        current = updated;
    }
    let mut status = serde_json::Map::new();
    status.insert("observedGeneration".into(), json!(object::generation(&sts)));
    status.insert("replicas".into(), json!(pods.len()));
    for (k, v) in [
        ("readyReplicas", ready),
        ("currentReplicas", current),
        ("updatedReplicas", updated),
    ] {
        if v != 0 {
            status.insert(k.into(), json!(v));
        }
    }
    status.insert("availableReplicas".into(), json!(available));
    status.insert("currentRevision".into(), json!(current_rev_out));
    status.insert("updateRevision".into(), json!(update_rev));
    status.insert("collisionCount".into(), json!(collision));
    let rt = c.rt("apps", "statefulsets");
    c.write_status(&rt, &sts, Value::Object(status), MANAGER);
    // As the controller's work queue: a failed sync is tried again later.
    if failed {
        c.work.retry(now, key);
    } else {
        c.work.forget(key);
    }
}

/// Whether the pod was created; a failure is recorded as the controller's
/// FailedCreate event.
fn create_pod(c: &mut Cluster, sts: &Value, template: &Value, i: i64, rev: &str) -> bool {
    let name = object::name(sts).to_string();
    let ns = object::namespace(sts).to_string();
    let pod_name = format!("{name}-{i}");
    let mut pod = pod_from_template(
        sts,
        template,
        &pod_name,
        &[
            (REVISION_LABEL, rev.to_string()),
            ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
            ("apps.kubernetes.io/pod-index", i.to_string()),
        ],
    );
    object::set(&mut pod, &["spec", "hostname"], json!(pod_name));
    if let Some(svc) = object::str_at(sts, &["spec", "serviceName"]).filter(|s| !s.is_empty()) {
        object::set(&mut pod, &["spec", "subdomain"], json!(svc));
    }
    // PVCs from volumeClaimTemplates, and the volumes that use them.
    let pvc_rt = c.rt("", "persistentvolumeclaims");
    let claims = object::at(sts, &["spec", "volumeClaimTemplates"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut volumes = object::at(&pod, &["spec", "volumes"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for claim in claims {
        let claim_name = object::name(&claim).to_string();
        let pvc_name = format!("{claim_name}-{pod_name}");
        if c.get_stored(&pvc_rt, &ns, &pvc_name).is_none() {
            let mut with_replace = template.clone();
            object::obj_mut(&mut with_replace, &[]).insert("$patch".into(), json!("replace"));
            let mut labels = object::string_map(object::at(template, &["metadata", "labels"]));
            labels.extend(object::labels(&claim));
            let pvc = json!({
                "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                "metadata": {"name": pvc_name, "namespace": ns, "labels": labels},
                "spec": claim.get("spec").cloned().unwrap_or_else(|| json!({})),
            });
            let _ = c.create(&pvc_rt, &ns, pvc, &WriteOpts::system(MANAGER));
            c.record_event(
                sts,
                "Normal",
                "SuccessfulCreate",
                &format!("create Claim {pvc_name} Pod {pod_name} in StatefulSet {name} success"),
                COMPONENT,
            );
        }
        volumes.retain(|v| object::str_at(v, &["name"]) != Some(claim_name.as_str()));
        volumes.push(json!({"name": claim_name, "persistentVolumeClaim": {"claimName": pvc_name}}));
    }
    if !volumes.is_empty() {
        object::set(&mut pod, &["spec", "volumes"], json!(volumes));
    }
    let pods_rt = c.rt("", "pods");
    match c.create_as_controller(&pods_rt, &ns, pod, MANAGER) {
        Ok(_) => {
            c.record_event(
                sts,
                "Normal",
                "SuccessfulCreate",
                &format!("create Pod {pod_name} in StatefulSet {name} successful"),
                COMPONENT,
            );
            true
        }
        Err(e) => {
            c.record_event(
                sts,
                "Warning",
                "FailedCreate",
                &format!(
                    "create Pod {pod_name} in StatefulSet {name} failed error: {}",
                    e.message
                ),
                COMPONENT,
            );
            false
        }
    }
}

/// Records a ControllerRevision for the template, as `kubectl rollout history` reads them
/// (it finds them by the owner's selector, so they carry the template labels).
pub fn ensure_revision(c: &mut Cluster, owner: &Value, rev: &str, template: &Value) {
    let rt = c.rt("apps", "controllerrevisions");
    let ns = object::namespace(owner).to_string();
    let uid = object::uid(owner).to_string();
    let max = c
        .store
        .controlled(&rt.key(), &ns, &uid)
        .filter_map(|r| object::i64_at(r, &["revision"]))
        .max()
        .unwrap_or(0);
    if let Some(existing) = c.get_stored(&rt, &ns, rev) {
        // An older template came back (a rollback): it becomes the newest revision.
        if object::i64_at(&existing, &["revision"]).unwrap_or(0) < max {
            let mut bumped = (*existing).clone();
            object::set(&mut bumped, &["revision"], json!(max + 1));
            let _ = c.write_object(&rt, bumped, MANAGER);
        }
        return;
    }
    let next = max + 1;
    let hash = rev.rsplit('-').next().unwrap_or("");
    let mut with_replace = template.clone();
    object::obj_mut(&mut with_replace, &[]).insert("$patch".into(), json!("replace"));
    let mut labels = object::string_map(object::at(template, &["metadata", "labels"]));
    labels.insert(REVISION_LABEL.to_string(), hash.to_string());
    let body = json!({
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {
            "name": rev, "namespace": ns,
            "labels": labels,
            "ownerReferences": [object::controller_owner_ref(owner)],
        },
        // As the real controllers store it: a strategic merge patch that replaces the template.
        "data": {"spec": {"template": with_replace}},
        "revision": next,
    });
    let _ = c.create(&rt, &ns, body, &WriteOpts::system(MANAGER));
}

fn revision_template(c: &Cluster, ns: &str, rev: &str) -> Option<Value> {
    let rt = c.rt("apps", "controllerrevisions");
    c.get_stored(&rt, ns, rev)
        .and_then(|r| object::at(&r, &["data", "spec", "template"]).cloned())
        .map(|mut t| {
            object::remove(&mut t, &["$patch"]);
            t
        })
}
