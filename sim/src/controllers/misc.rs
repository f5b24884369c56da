//! Small controllers (SIM_SPEC §5.7, §1 CRDs): Service load balancers, PVC binding, Ingress
//! addresses, CRD establishment and clean-up.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::WorkKey;
use super::pod::condition_true;
use crate::apiserver::{Cluster, DeleteOpts, Propagation, WriteOpts};
use crate::clock::SimTime;
use crate::object;
use crate::resources::{GenerationPolicy, ResKey, ResourceType};
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
pub const CRD_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn created_at(obj: &Value, now: SimTime) -> SimTime {
    object::str_at(obj, &["metadata", "creationTimestamp"])
        .and_then(SimTime::parse)
        .unwrap_or(now)
}

/// Runs `f` once `delay` has passed since the object was created; otherwise sets a timer.
fn after_delay(c: &mut Cluster, key: &ObjKey, obj: &Value, delay: Duration) -> bool {
    let now = c.now();
    let due = created_at(obj, now).plus(delay);
    if now >= due {
        true
    } else {
        c.work.add_at(due, WorkKey::Obj(key.clone()));
        false
    }
}

/// A deterministic address for load balancers: 172.18.255.x.
fn lb_ip(obj: &Value) -> String {
    format!(
        "172.18.255.{}",
        1 + super::fnv32a(object::uid(obj).as_bytes()) % 250
    )
}

pub fn reconcile_service(c: &mut Cluster, key: &ObjKey) {
    let Some(svc) = c.store.get(key).cloned() else {
        return;
    };
    if object::str_at(&svc, &["spec", "type"]) != Some("LoadBalancer") || object::is_deleting(&svc)
    {
        return;
    }
    if object::at(&svc, &["status", "loadBalancer", "ingress"]).is_some() {
        return;
    }
    let delay = c.cfg.timings.lb_delay;
    if after_delay(c, key, &svc, delay) {
        let rt = c.rt("", "services");
        let status = json!({"loadBalancer": {"ingress": [{"ip": lb_ip(&svc), "ipMode": "VIP"}]}});
        c.write_status(&rt, &svc, status, "service-controller");
    }
}

pub fn reconcile_ingress(c: &mut Cluster, key: &ObjKey) {
    let Some(ing) = c.store.get(key).cloned() else {
        return;
    };
    if object::is_deleting(&ing)
        || object::at(&ing, &["status", "loadBalancer", "ingress"]).is_some()
    {
        return;
    }
    let delay = c.cfg.timings.lb_delay;
    if after_delay(c, key, &ing, delay) {
        let rt = c.rt("networking.k8s.io", "ingresses");
        let status = json!({"loadBalancer": {"ingress": [{"ip": lb_ip(&ing)}]}});
        c.write_status(&rt, &ing, status, "ingress-controller");
    }
}

pub fn reconcile_pvc(c: &mut Cluster, key: &ObjKey) {
    let Some(pvc) = c.store.get(key).cloned() else {
        release_volumes(c, key);
        return;
    };
    if object::is_deleting(&pvc) || object::str_at(&pvc, &["status", "phase"]) == Some("Bound") {
        return;
    }
    let delay = c.cfg.timings.pvc_bind_delay;
    if !after_delay(c, key, &pvc, delay) {
        return;
    }
    // What the PV controller binds it to (syncUnboundClaim): the volume
    // it names, else the smallest Available volume that fits it, else one
    // its class provisions.
    let pv_rt = c.rt("", "persistentvolumes");
    let named = object::str_at(&pvc, &["spec", "volumeName"]).filter(|v| !v.is_empty());
    let class = object::str_at(&pvc, &["spec", "storageClassName"]).unwrap_or("");
    let found = match named {
        Some(pv) => c.get_stored(&pv_rt, "", pv),
        None => best_match(c, &pvc),
    };
    // Pending, and the Event the PV controller records for it (none when
    // the volume it names does not exist).
    let pending = match (named, &found) {
        (Some(_), None) => Some(None),
        (Some(pv), Some(volume)) => claimed_by_another(volume, &pvc).then(|| {
            Some((
                "Warning",
                "FailedBinding",
                format!("volume {pv:?} already bound to a different claim."),
            ))
        }),
        (None, Some(_)) => None,
        (None, None) if class.is_empty() => Some(Some((
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set".into(),
        ))),
        (None, None) => c
            .get_stored(&c.rt("storage.k8s.io", "storageclasses"), "", class)
            .is_none()
            .then(|| {
                Some((
                    "Warning",
                    "ProvisioningFailed",
                    format!("storageclass.storage.k8s.io {class:?} not found"),
                ))
            }),
    };
    if let Some(event) = pending {
        if let Some((kind, reason, message)) = event {
            c.record_event(&pvc, kind, reason, &message, "persistentvolume-controller");
        }
        // The controller's periodic resync (15 s) tries again.
        c.work.add_at(
            c.now().plus(Duration::from_secs(15)),
            WorkKey::Obj(key.clone()),
        );
        return;
    }
    let rt = c.rt("", "persistentvolumeclaims");
    let mut bound = (*pvc).clone();
    let volume = match &found {
        Some(pv) => object::name(pv).to_string(),
        None => format!("pvc-{}", object::uid(&pvc)),
    };
    object::set(&mut bound, &["spec", "volumeName"], json!(volume));
    let ann = object::obj_mut(&mut bound, &["metadata", "annotations"]);
    ann.insert("pv.kubernetes.io/bind-completed".into(), json!("yes"));
    if named.is_none() {
        ann.insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
    }
    let Ok(bound) = c.write_object(&rt, bound, "persistentvolume-binder-controller") else {
        return;
    };
    let requested = object::at(&bound, &["spec", "resources", "requests", "storage"])
        .cloned()
        .unwrap_or(json!("1Gi"));
    let (modes, capacity) = match &found {
        // A volume that exists: it takes the claim, which gets its size
        // and modes.
        Some(pv) => {
            claim_volume(c, pv, &bound);
            (
                object::at(pv, &["spec", "accessModes"]).cloned(),
                object::at(pv, &["spec", "capacity", "storage"])
                    .cloned()
                    .unwrap_or(requested),
            )
        }
        None => {
            provision(c, &bound, class, &volume, &requested);
            (
                object::at(&bound, &["spec", "accessModes"]).cloned(),
                requested,
            )
        }
    };
    let status = json!({
        "phase": "Bound",
        "accessModes": modes.unwrap_or(json!(["ReadWriteOnce"])),
        "capacity": {"storage": capacity},
    });
    c.write_status(&rt, &bound, status, MANAGER);
}

/// Whether a volume's `claimRef` names a claim other than this one.
fn claimed_by_another(pv: &Value, pvc: &Value) -> bool {
    let Some(claim) = object::at(pv, &["spec", "claimRef"]).filter(|r| r.is_object()) else {
        return false;
    };
    let uid = object::str_at(claim, &["uid"]).unwrap_or("");
    object::str_at(claim, &["namespace"]) != Some(object::namespace(pvc))
        || object::str_at(claim, &["name"]) != Some(object::name(pvc))
        || !(uid.is_empty() || uid == object::uid(pvc))
}

/// The volume the PV controller picks for a claim that names none
/// (findByClaim, FindMatchingVolume): among the volumes with every access
/// mode the claim asks for, as large as it asks, of its volume mode and not
/// being deleted, one whose `claimRef` names the claim, else an Available
/// one, unclaimed, of the claim's class, whose labels its selector selects:
/// of those with the fewest access modes, the smallest.
fn best_match(c: &Cluster, pvc: &Value) -> Option<Arc<Value>> {
    let class = object::str_at(pvc, &["spec", "storageClassName"]).unwrap_or("");
    let mode = |o: &Value| {
        object::str_at(o, &["spec", "volumeMode"])
            .unwrap_or("Filesystem")
            .to_string()
    };
    let access = |o: &Value| -> Vec<String> {
        object::at(o, &["spec", "accessModes"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let wanted = object::str_at(pvc, &["spec", "resources", "requests", "storage"])
        .and_then(quantity)
        .unwrap_or(0.0);
    let modes = access(pvc);
    let selector = object::at(pvc, &["spec", "selector"])
        .filter(|s| s.is_object())
        .map(crate::selector::LabelSelector::from_object);
    let size = |pv: &Value| {
        object::str_at(pv, &["spec", "capacity", "storage"])
            .and_then(quantity)
            .unwrap_or(0.0)
    };
    let claimed = |pv: &Value| object::at(pv, &["spec", "claimRef"]).is_some_and(Value::is_object);
    let candidates: Vec<Arc<Value>> = c
        .store
        .list(&c.rt("", "persistentvolumes").key(), None)
        .into_iter()
        .filter(|pv| {
            let offers = access(pv);
            modes.iter().all(|m| offers.contains(m))
                && !(claimed(pv) && claimed_by_another(pv, pvc))
                && size(pv) >= wanted
                && mode(pv) == mode(pvc)
                && !object::is_deleting(pv)
        })
        .collect();
    if let Some(pre_bound) = candidates.iter().find(|pv| claimed(pv)) {
        return Some(pre_bound.clone());
    }
    candidates
        .into_iter()
        .filter(|pv| {
            object::str_at(pv, &["status", "phase"]) == Some("Available")
                && selector
                    .as_ref()
                    .is_none_or(|s| s.matches(&object::labels(pv)))
                && object::str_at(pv, &["spec", "storageClassName"]).unwrap_or("") == class
        })
        .min_by(|a, b| {
            access(a)
                .len()
                .cmp(&access(b).len())
                .then(size(a).total_cmp(&size(b)))
        })
}

/// The claim's side written on the volume it is bound to: its `claimRef`
/// (what binding by the controller writes) and the Bound phase.
fn claim_volume(c: &mut Cluster, pv: &Value, pvc: &Value) {
    let rt = c.rt("", "persistentvolumes");
    let mut claimed = pv.clone();
    let by_controller = object::at(pv, &["spec", "claimRef"]).is_none_or(|r| !r.is_object());
    object::set(
        &mut claimed,
        &["spec", "claimRef"],
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "namespace": object::namespace(pvc), "name": object::name(pvc),
               "uid": object::uid(pvc),
               "resourceVersion": object::resource_version(pvc).unwrap_or("")}),
    );
    if by_controller {
        object::obj_mut(&mut claimed, &["metadata", "annotations"])
            .insert("pv.kubernetes.io/bound-by-controller".into(), json!("yes"));
    }
    if let Ok(claimed) = c.write_object(&rt, claimed, "persistentvolume-binder-controller") {
        c.write_status(&rt, &claimed, json!({"phase": "Bound"}), MANAGER);
    }
}

/// A resource quantity's value ("10Gi", "500M", "1.5e3", "100m"), for
/// comparing sizes; None if it is not one.
fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|ch: char| ch.is_ascii_alphabetic() && ch != 'e' && ch != 'E')
        .unwrap_or(q.len());
    let (number, suffix) = match q.split_at(split) {
        // "E" is exa where no exponent follows it.
        (n, "") if n.ends_with('E') => (&n[..n.len() - 1], "E"),
        parts => parts,
    };
    let scale = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// The volume a class's provisioner makes for a claim, bound to it, as
/// kind's local-path provisioner makes them (a host path on a node).
fn provision(c: &mut Cluster, pvc: &Value, class: &str, volume: &str, storage: &Value) {
    let sc = c.get_stored(&c.rt("storage.k8s.io", "storageclasses"), "", class);
    let field = |k: &str| sc.as_deref().and_then(|sc| object::str_at(sc, &[k]));
    let provisioner = field("provisioner").unwrap_or("").to_string();
    let reclaim = field("reclaimPolicy").unwrap_or("Delete").to_string();
    let ns = object::namespace(pvc);
    let name = object::name(pvc);
    let pv = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": volume,
                     "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
        "spec": {
            "accessModes": object::at(pvc, &["spec", "accessModes"]).cloned()
                .unwrap_or(json!(["ReadWriteOnce"])),
            "capacity": {"storage": storage},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "namespace": ns, "name": name, "uid": object::uid(pvc),
                         "resourceVersion": object::resource_version(pvc).unwrap_or("")},
            "hostPath": {"path": format!("/var/local-path-provisioner/{volume}_{ns}_{name}"),
                         "type": "DirectoryOrCreate"},
            "persistentVolumeReclaimPolicy": reclaim,
            "storageClassName": class,
            "volumeMode": object::str_at(pvc, &["spec", "volumeMode"]).unwrap_or("Filesystem"),
        },
    });
    let rt = c.rt("", "persistentvolumes");
    if let Ok(pv) = c.create(&rt, "", pv, &WriteOpts::system(MANAGER)) {
        c.write_status(&rt, &pv, json!({"phase": "Bound"}), MANAGER);
    }
}

/// A deleted claim's volumes: deleted under the `Delete` reclaim policy,
/// `Released` under `Retain`.
fn release_volumes(c: &mut Cluster, key: &ObjKey) {
    let rt = c.rt("", "persistentvolumes");
    let claimed: Vec<Arc<Value>> = c
        .store
        .list(&rt.key(), None)
        .into_iter()
        .filter(|pv| {
            object::str_at(pv, &["spec", "claimRef", "namespace"]) == Some(key.ns.as_str())
                && object::str_at(pv, &["spec", "claimRef", "name"]) == Some(key.name.as_str())
                && object::str_at(pv, &["status", "phase"]) == Some("Bound")
        })
        .collect();
    for pv in claimed {
        if object::str_at(&pv, &["spec", "persistentVolumeReclaimPolicy"]) == Some("Delete") {
            let _ = c.delete(&rt, "", object::name(&pv), &DeleteOpts::default());
        } else {
            c.write_status(&rt, &pv, json!({"phase": "Released"}), MANAGER);
        }
    }
}

/// Establishes new CRDs after `crd_establish_delay`; on deletion removes their custom
/// resources, then the CRD.
pub fn reconcile_crd(c: &mut Cluster, key: &ObjKey) {
    let rt = c.rt("apiextensions.k8s.io", "customresourcedefinitions");
    let Some(crd) = c.store.get(key).cloned() else {
        refresh_custom_types(c);
        return;
    };
    let group = object::str_at(&crd, &["spec", "group"])
        .unwrap_or("")
        .to_string();
    let plural = object::str_at(&crd, &["spec", "names", "plural"])
        .unwrap_or("")
        .to_string();
    if object::is_deleting(&crd) {
        refresh_custom_types(c);
        let res = ResKey::new(&group, &plural);
        let remaining: Vec<Arc<Value>> = c.store.list(&res, None);
        if remaining.is_empty() {
            let mut obj = (*crd).clone();
            let fins: Vec<String> = object::finalizers(&obj)
                .into_iter()
                .filter(|f| f != CRD_FINALIZER)
                .collect();
            object::set_finalizers(&mut obj, &fins);
            let _ = c.write_object(&rt, obj, MANAGER);
            return;
        }
        // The kinds are gone from the registry, so delete through a throwaway type.
        let cr_rt = Arc::new(
            custom_type(&crd, &Value::Null).unwrap_or_else(|| ResourceType {
                group: group.clone(),
                version: String::new(),
                kind: String::new(),
                plural: plural.clone(),
                singular: String::new(),
                namespaced: true,
                short_names: vec![],
                categories: vec![],
                status: false,
                scale: false,
                generation: GenerationPolicy::NonMetadata,
                custom: true,
                schema: None,
            }),
        );
        for obj in remaining {
            if !object::is_deleting(&obj) {
                let opts = DeleteOpts {
                    propagation: Some(Propagation::Background),
                    ..Default::default()
                };
                let _ = c.delete(&cr_rt, object::namespace(&obj), object::name(&obj), &opts);
            }
        }
        c.work.add_at(
            c.now().plus(Duration::from_millis(200)),
            WorkKey::Obj(key.clone()),
        );
        return;
    }
    if !object::finalizers(&crd).iter().any(|f| f == CRD_FINALIZER) {
        let mut obj = (*crd).clone();
        let mut fins = object::finalizers(&obj);
        fins.push(CRD_FINALIZER.to_string());
        object::set_finalizers(&mut obj, &fins);
        let _ = c.write_object(&rt, obj, MANAGER);
        return;
    }
    let delay = c.cfg.timings.crd_establish_delay;
    if !after_delay(c, key, &crd, delay) {
        return;
    }
    let names = object::at(&crd, &["spec", "names"])
        .cloned()
        .unwrap_or(json!({}));
    let kind = object::str_at(&names, &["kind"]).unwrap_or("").to_string();
    let mut accepted = names.clone();
    if accepted.get("listKind").is_none() {
        accepted["listKind"] = json!(format!("{kind}List"));
    }
    if accepted.get("singular").is_none() {
        accepted["singular"] = json!(kind.to_lowercase());
    }
    let now = c.now().rfc3339();
    let prev_conds = object::at(&crd, &["status", "conditions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let keep_time = |t: &str| {
        prev_conds
            .iter()
            .find(|c| {
                object::str_at(c, &["type"]) == Some(t)
                    && object::str_at(c, &["status"]) == Some("True")
            })
            .and_then(|c| object::str_at(c, &["lastTransitionTime"]))
            .unwrap_or(&now)
            .to_string()
    };
    let storage: Vec<Value> = object::at(&crd, &["spec", "versions"])
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| object::bool_at(v, &["storage"]) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    let mut stored = object::at(&crd, &["status", "storedVersions"])
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s in storage {
        if !stored.contains(&s) {
            stored.push(s);
        }
    }
    let status = json!({
        "acceptedNames": accepted,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": keep_time("NamesAccepted"),
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": keep_time("Established"),
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"},
        ],
        "storedVersions": stored,
    });
    c.write_status(&rt, &crd, status, "apiextensions-apiserver");
    refresh_custom_types(c);
}

/// The resource type a CRD defines at `version` (a version object from `spec.versions`).
fn custom_type(crd: &Value, version: &Value) -> Option<ResourceType> {
    let names = object::at(crd, &["spec", "names"])?;
    let kind = object::str_at(names, &["kind"])?.to_string();
    Some(ResourceType {
        group: object::str_at(crd, &["spec", "group"])?.to_string(),
        version: object::str_at(version, &["name"]).unwrap_or("").to_string(),
        plural: object::str_at(names, &["plural"])?.to_string(),
        singular: object::str_at(names, &["singular"])
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase()),
        namespaced: object::str_at(crd, &["spec", "scope"]) != Some("Cluster"),
        short_names: string_list(names.get("shortNames")),
        categories: string_list(names.get("categories")),
        status: object::at(version, &["subresources", "status"]).is_some(),
        scale: object::at(version, &["subresources", "scale"]).is_some(),
        generation: GenerationPolicy::NonMetadata,
        custom: true,
        schema: object::at(version, &["schema", "openAPIV3Schema"]).cloned(),
        kind,
    })
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Rebuilds the registry's custom kinds from the established, non-terminating CRDs.
pub fn refresh_custom_types(c: &mut Cluster) {
    let res = ResKey::new("apiextensions.k8s.io", "customresourcedefinitions");
    let mut types = Vec::new();
    for crd in c.store.list(&res, None) {
        if object::is_deleting(&crd) || !condition_true(&crd, "Established") {
            continue;
        }
        for v in object::at(&crd, &["spec", "versions"])
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if object::bool_at(v, &["served"]) == Some(false) {
                continue;
            }
            if let Some(t) = custom_type(&crd, v) {
                types.push(Arc::new(t));
            }
        }
    }
    c.registry.set_custom(types);
}

#[cfg(test)]
mod tests {
    use super::quantity;

    #[test]
    fn quantities_compare_by_value() {
        assert_eq!(quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("500M"), Some(5e8));
        assert_eq!(quantity("1.5e3"), Some(1500.0));
        assert_eq!(quantity("2E"), Some(2e18));
        assert_eq!(quantity("100m"), Some(0.1));
        assert!(quantity("5Gi").unwrap() > quantity("5G").unwrap());
        assert_eq!(quantity("ten"), None);
        assert_eq!(quantity("1Xi"), None);
    }
}
