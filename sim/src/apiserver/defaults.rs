//! Defaulting (SIM_SPEC §2.4): the fields a real API server fills in, so that what clients
//! read back, and so drift detection, matches a real cluster. Every function is idempotent.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::Cluster;
use crate::object;
use crate::resources::ResourceType;

fn default(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.to_string(), v);
    }
}

impl Cluster {
    pub(super) fn apply_defaults(
        &mut self,
        rt: &ResourceType,
        obj: &mut Value,
        old: Option<&Value>,
    ) {
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("apps", "deployments") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "replicas", json!(1));
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "progressDeadlineSeconds", json!(600));
                let strategy = object::obj_mut(obj, &["spec", "strategy"]);
                default(strategy, "type", json!("RollingUpdate"));
                if strategy.get("type") == Some(&json!("RollingUpdate")) {
                    let ru = object::obj_mut(obj, &["spec", "strategy", "rollingUpdate"]);
                    default(ru, "maxSurge", json!("25%"));
                    default(ru, "maxUnavailable", json!("25%"));
                }
                default_template(obj, &["spec", "template"], "Always");
            }
            ("apps", "replicasets") => {
                default(object::obj_mut(obj, &["spec"]), "replicas", json!(1));
                default_template(obj, &["spec", "template"], "Always");
            }
            ("apps", "statefulsets") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "replicas", json!(1));
                default(spec, "podManagementPolicy", json!("OrderedReady"));
                default(spec, "revisionHistoryLimit", json!(10));
                default(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
                let us = object::obj_mut(obj, &["spec", "updateStrategy"]);
                default(us, "type", json!("RollingUpdate"));
                if us.get("type") == Some(&json!("RollingUpdate")) {
                    default(
                        object::obj_mut(obj, &["spec", "updateStrategy", "rollingUpdate"]),
                        "partition",
                        json!(0),
                    );
                }
                default_template(obj, &["spec", "template"], "Always");
                if let Some(Value::Array(claims)) =
                    object::at(obj, &["spec", "volumeClaimTemplates"]).cloned()
                {
                    let claims: Vec<Value> = claims
                        .into_iter()
                        .map(|mut c| {
                            default(
                                object::obj_mut(&mut c, &["spec"]),
                                "volumeMode",
                                json!("Filesystem"),
                            );
                            c
                        })
                        .collect();
                    object::set(obj, &["spec", "volumeClaimTemplates"], Value::Array(claims));
                }
            }
            ("apps", "daemonsets") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "revisionHistoryLimit", json!(10));
                let us = object::obj_mut(obj, &["spec", "updateStrategy"]);
                default(us, "type", json!("RollingUpdate"));
                if us.get("type") == Some(&json!("RollingUpdate")) {
                    let ru = object::obj_mut(obj, &["spec", "updateStrategy", "rollingUpdate"]);
                    default(ru, "maxUnavailable", json!(1));
                    default(ru, "maxSurge", json!(0));
                }
                default_template(obj, &["spec", "template"], "Always");
            }
            ("batch", "jobs") => default_job(obj),
            ("batch", "cronjobs") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "concurrencyPolicy", json!("Allow"));
                default(spec, "suspend", json!(false));
                default(spec, "successfulJobsHistoryLimit", json!(3));
                default(spec, "failedJobsHistoryLimit", json!(1));
                let jt = object::obj_mut(obj, &["spec", "jobTemplate", "spec"]);
                default(jt, "backoffLimit", json!(6));
                default_template(obj, &["spec", "jobTemplate", "spec", "template"], "Never");
            }
            ("autoscaling", "horizontalpodautoscalers") => {
                default(object::obj_mut(obj, &["spec"]), "minReplicas", json!(1));
            }
            ("", "pods") => {
                default_pod_spec(object::obj_mut(obj, &["spec"]), "Always");
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "serviceAccountName", json!("default"));
                let sa = spec
                    .get("serviceAccountName")
                    .cloned()
                    .unwrap_or(json!("default"));
                default(spec, "serviceAccount", sa);
                default(spec, "priority", json!(0));
                default(spec, "enableServiceLinks", json!(true));
                default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
                if old.is_none() && object::at(obj, &["status"]).is_none() {
                    object::set(
                        obj,
                        &["status"],
                        json!({"phase": "Pending", "qosClass": "BestEffort"}),
                    );
                }
            }
            ("", "services") => self.default_service(obj, old),
            ("", "secrets") => default_secret(obj),
            ("", "namespaces") => {
                let name = object::name(obj).to_string();
                object::obj_mut(obj, &["metadata", "labels"])
                    .insert("kubernetes.io/metadata.name".into(), Value::String(name));
                default(
                    object::obj_mut(obj, &["spec"]),
                    "finalizers",
                    json!(["kubernetes"]),
                );
                if object::at(obj, &["status", "phase"]).is_none() {
                    object::set(obj, &["status", "phase"], json!("Active"));
                }
            }
            ("", "persistentvolumeclaims") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "volumeMode", json!("Filesystem"));
                // The DefaultStorageClass admission plugin, with the class every sim cluster has.
                default(spec, "storageClassName", json!("standard"));
                if object::at(obj, &["status", "phase"]).is_none() {
                    object::set(obj, &["status", "phase"], json!("Pending"));
                }
            }
            // pkg/apis/core/v1/defaults.go SetDefaults_PersistentVolume.
            ("", "persistentvolumes") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                default(spec, "volumeMode", json!("Filesystem"));
                // Pending, then Available at once from the PV controller.
                if object::at(obj, &["status", "phase"]).is_none() {
                    object::set(obj, &["status", "phase"], json!("Available"));
                }
            }
            // pkg/apis/scheduling/v1/defaults.go.
            ("scheduling.k8s.io", "priorityclasses") => {
                default(
                    object::obj_mut(obj, &[]),
                    "preemptionPolicy",
                    json!("PreemptLowerPriority"),
                );
            }
            // pkg/apis/storage/v1/defaults.go.
            ("storage.k8s.io", "storageclasses") => {
                let sc = object::obj_mut(obj, &[]);
                default(sc, "reclaimPolicy", json!("Delete"));
                default(sc, "volumeBindingMode", json!("Immediate"));
            }
            ("storage.k8s.io", "csidrivers") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "attachRequired", json!(true));
                default(spec, "podInfoOnMount", json!(false));
                default(spec, "storageCapacity", json!(false));
                default(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
                default(spec, "requiresRepublish", json!(false));
                default(spec, "seLinuxMount", json!(false));
                if spec
                    .get("volumeLifecycleModes")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
                {
                    spec.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
                }
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                let spec = object::obj_mut(obj, &["spec"]);
                default(spec, "conversion", json!({"strategy": "None"}));
                let names = object::obj_mut(obj, &["spec", "names"]);
                if let Some(kind) = names
                    .get("kind")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                {
                    default(names, "listKind", json!(format!("{kind}List")));
                    default(names, "singular", json!(kind.to_lowercase()));
                }
            }
            _ => {}
        }
        // Kinds with a status subresource start with an empty status, as a real server returns.
        if rt.status && object::at(obj, &["status"]).is_none() {
            object::set(obj, &["status"], json!({}));
        }
    }

    fn default_service(&mut self, obj: &mut Value, old: Option<&Value>) {
        let spec = object::obj_mut(obj, &["spec"]);
        default(spec, "type", json!("ClusterIP"));
        default(spec, "sessionAffinity", json!("None"));
        let svc_type = spec
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string();
        if svc_type != "ExternalName" {
            default(spec, "ipFamilies", json!(["IPv4"]));
            default(spec, "ipFamilyPolicy", json!("SingleStack"));
            default(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer") {
            default(spec, "externalTrafficPolicy", json!("Cluster"));
        }
        let ports = spec
            .get("ports")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let old_ports = old
            .and_then(|o| object::at(o, &["spec", "ports"]))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let ports: Vec<Value> = ports
            .into_iter()
            .map(|mut p| {
                let Some(pm) = p.as_object_mut() else {
                    return p;
                };
                default(pm, "protocol", json!("TCP"));
                if let Some(port) = pm.get("port").cloned() {
                    default(pm, "targetPort", port);
                }
                if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer")
                    && pm.get("nodePort").is_none()
                {
                    let kept = old_ports
                        .iter()
                        .find(|o| o.get("port") == pm.get("port"))
                        .and_then(|o| o.get("nodePort"))
                        .cloned();
                    let np = kept.unwrap_or_else(|| json!(self.allocate_node_port()));
                    pm.insert("nodePort".into(), np);
                }
                p
            })
            .collect();
        let spec = object::obj_mut(obj, &["spec"]);
        if !ports.is_empty() {
            spec.insert("ports".into(), Value::Array(ports));
        }
        if svc_type != "ExternalName"
            && spec
                .get("clusterIP")
                .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
        {
            let ip = old
                .and_then(|o| object::str_at(o, &["spec", "clusterIP"]))
                .map(str::to_string)
                .unwrap_or_else(|| self.allocate_cluster_ip());
            let spec = object::obj_mut(obj, &["spec"]);
            spec.insert("clusterIP".into(), json!(ip));
        }
        let spec = object::obj_mut(obj, &["spec"]);
        if let Some(ip) = spec.get("clusterIP").cloned() {
            default(spec, "clusterIPs", json!([ip]));
        }
        if object::at(obj, &["status"]).is_none() {
            object::set(obj, &["status"], json!({"loadBalancer": {}}));
        }
    }
}

fn default_job(obj: &mut Value) {
    let spec = object::obj_mut(obj, &["spec"]);
    if spec.get("completions").is_none() && spec.get("parallelism").is_none() {
        spec.insert("completions".into(), json!(1));
    }
    default(spec, "parallelism", json!(1));
    default(spec, "backoffLimit", json!(6));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    let manual = spec
        .get("manualSelector")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let uid = object::uid(obj).to_string();
    let name = object::name(obj).to_string();
    if !manual && !uid.is_empty() {
        if object::at(obj, &["spec", "selector"]).is_none() {
            object::set(
                obj,
                &["spec", "selector"],
                json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
            );
        }
        let labels = object::obj_mut(obj, &["spec", "template", "metadata", "labels"]);
        default(labels, "batch.kubernetes.io/controller-uid", json!(uid));
        default(labels, "batch.kubernetes.io/job-name", json!(name));
        default(labels, "controller-uid", json!(uid));
        default(labels, "job-name", json!(name));
    }
    default_template(obj, &["spec", "template"], "");
}

fn default_secret(obj: &mut Value) {
    let m = obj.as_object_mut().expect("bodies are objects");
    default(m, "type", json!("Opaque"));
    if let Some(Value::Object(sd)) = m.remove("stringData") {
        let data = object::obj_mut(obj, &["data"]);
        for (k, v) in sd {
            let s = v.as_str().unwrap_or("").to_string();
            data.insert(
                k,
                json!(base64::engine::general_purpose::STANDARD.encode(s)),
            );
        }
    }
}

/// Defaults a pod template at `path` (its `spec`); `restart` is the default restartPolicy.
fn default_template(obj: &mut Value, path: &[&str], restart: &str) {
    if object::at(obj, path).is_none() {
        return;
    }
    let mut spec_path = path.to_vec();
    spec_path.push("spec");
    default_pod_spec(object::obj_mut(obj, &spec_path), restart);
}

fn default_pod_spec(spec: &mut Map<String, Value>, restart: &str) {
    if !restart.is_empty() {
        default(spec, "restartPolicy", json!(restart));
    }
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get_mut(list) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                let image = c
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                default(c, "imagePullPolicy", json!(pull_policy(&image)));
                default(c, "terminationMessagePath", json!("/dev/termination-log"));
                default(c, "terminationMessagePolicy", json!("File"));
                default(c, "resources", json!({}));
                if let Some(Value::Array(ports)) = c.get_mut("ports") {
                    for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                        default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

/// `Always` for `:latest` or an untagged image, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent";
    }
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// Drops fields a custom resource's structural schema does not declare, unless
/// `x-kubernetes-preserve-unknown-fields` keeps them (apiextensions pruning).
pub(super) fn prune_custom(obj: &mut Value, schema: &Value) {
    let Some(m) = obj.as_object_mut() else { return };
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    m.retain(|k, _| {
        matches!(k.as_str(), "apiVersion" | "kind" | "metadata") || props.contains_key(k)
    });
    for (k, child) in m.iter_mut() {
        if let Some(s) = props.get(k) {
            prune(child, s);
        }
    }
}

fn prune(v: &mut Value, schema: &Value) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                m.retain(|k, _| props.contains_key(k));
                for (k, child) in m.iter_mut() {
                    prune(child, &props[k]);
                }
            } else if let Some(ap) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in m.values_mut() {
                    prune(child, ap);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for i in items {
                    prune(i, s);
                }
            }
        }
        _ => {}
    }
}
