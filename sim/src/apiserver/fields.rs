//! Unknown and mistyped fields in built-in kinds (`fieldValidation`, SIM_SPEC §2.4).
//!
//! A real API server decodes built-in kinds into Go structs: fields the struct does not have
//! are dropped (with a warning, by default) or refused (`fieldValidation=Strict`, which
//! kubectl sends), and a value of the wrong type fails the request. The simulator gets the
//! same structs from k8s-openapi: an object is decoded into its typed form and encoded back,
//! and any member of the original that did not survive is an unknown field.
//! Custom resources are handled by schema pruning instead (`defaults::prune_custom`).

use k8s_openapi::api::admissionregistration::v1 as ar;
use k8s_openapi::api::{
    apps, batch, coordination, core, discovery, networking, node, policy, rbac, scheduling, storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
use serde_json::Value;

use crate::resources::ResourceType;
use crate::status::{ApiError, ApiResult};

/// The `fieldValidation` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    /// The server default: drop unknown fields, with a warning each.
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(s: &str) -> ApiResult<FieldValidation> {
        match s {
            "Ignore" => Ok(FieldValidation::Ignore),
            "" | "Warn" => Ok(FieldValidation::Warn),
            "Strict" => Ok(FieldValidation::Strict),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation {other:?} is invalid: must be one of Ignore, Warn, Strict"
            ))),
        }
    }
}

/// The object read into its type as kube-apiserver reads it (a `null` is the type's zero
/// value, [`super::gojson`]) and written back.
fn roundtrip<T: serde::de::DeserializeOwned + serde::Serialize>(
    v: &Value,
    apply: bool,
) -> Result<Value, serde_json::Error> {
    super::gojson::from_value::<T>(v, apply).and_then(|t| serde_json::to_value(t))
}

/// The object decoded into its typed form and encoded again; None for kinds without one.
fn typed(rt: &ResourceType, v: &Value, apply: bool) -> Option<Result<Value, serde_json::Error>> {
    use apps::v1 as a;
    use core::v1 as c;
    Some(match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "namespaces") => roundtrip::<c::Namespace>(v, apply),
        ("", "nodes") => roundtrip::<c::Node>(v, apply),
        ("", "configmaps") => roundtrip::<c::ConfigMap>(v, apply),
        ("", "secrets") => roundtrip::<c::Secret>(v, apply),
        ("", "serviceaccounts") => roundtrip::<c::ServiceAccount>(v, apply),
        ("", "events") => roundtrip::<c::Event>(v, apply),
        ("", "services") => roundtrip::<c::Service>(v, apply),
        ("", "pods") => roundtrip::<c::Pod>(v, apply),
        ("", "persistentvolumeclaims") => roundtrip::<c::PersistentVolumeClaim>(v, apply),
        ("apps", "deployments") => roundtrip::<a::Deployment>(v, apply),
        ("apps", "replicasets") => roundtrip::<a::ReplicaSet>(v, apply),
        ("apps", "statefulsets") => roundtrip::<a::StatefulSet>(v, apply),
        ("apps", "daemonsets") => roundtrip::<a::DaemonSet>(v, apply),
        ("apps", "controllerrevisions") => roundtrip::<a::ControllerRevision>(v, apply),
        ("batch", "jobs") => roundtrip::<batch::v1::Job>(v, apply),
        ("batch", "cronjobs") => roundtrip::<batch::v1::CronJob>(v, apply),
        ("networking.k8s.io", "ingresses") => roundtrip::<networking::v1::Ingress>(v, apply),
        ("networking.k8s.io", "networkpolicies") => {
            roundtrip::<networking::v1::NetworkPolicy>(v, apply)
        }
        ("rbac.authorization.k8s.io", "roles") => roundtrip::<rbac::v1::Role>(v, apply),
        ("rbac.authorization.k8s.io", "rolebindings") => {
            roundtrip::<rbac::v1::RoleBinding>(v, apply)
        }
        ("rbac.authorization.k8s.io", "clusterroles") => {
            roundtrip::<rbac::v1::ClusterRole>(v, apply)
        }
        ("rbac.authorization.k8s.io", "clusterrolebindings") => {
            roundtrip::<rbac::v1::ClusterRoleBinding>(v, apply)
        }
        ("policy", "poddisruptionbudgets") => {
            roundtrip::<policy::v1::PodDisruptionBudget>(v, apply)
        }
        ("autoscaling", "horizontalpodautoscalers") => {
            roundtrip::<k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler>(v, apply)
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            roundtrip::<apiextensions::v1::CustomResourceDefinition>(v, apply)
        }
        ("coordination.k8s.io", "leases") => roundtrip::<coordination::v1::Lease>(v, apply),
        ("", "persistentvolumes") => roundtrip::<c::PersistentVolume>(v, apply),
        ("", "resourcequotas") => roundtrip::<c::ResourceQuota>(v, apply),
        ("", "limitranges") => roundtrip::<c::LimitRange>(v, apply),
        ("", "endpoints") => roundtrip::<c::Endpoints>(v, apply),
        ("networking.k8s.io", "ingressclasses") => {
            roundtrip::<networking::v1::IngressClass>(v, apply)
        }
        ("storage.k8s.io", "storageclasses") => roundtrip::<storage::v1::StorageClass>(v, apply),
        ("storage.k8s.io", "csidrivers") => roundtrip::<storage::v1::CSIDriver>(v, apply),
        ("admissionregistration.k8s.io", plural) => match plural {
            "mutatingwebhookconfigurations" => {
                roundtrip::<ar::MutatingWebhookConfiguration>(v, apply)
            }
            "validatingwebhookconfigurations" => {
                roundtrip::<ar::ValidatingWebhookConfiguration>(v, apply)
            }
            "validatingadmissionpolicies" => roundtrip::<ar::ValidatingAdmissionPolicy>(v, apply),
            "validatingadmissionpolicybindings" => {
                roundtrip::<ar::ValidatingAdmissionPolicyBinding>(v, apply)
            }
            _ => return None,
        },
        ("apiregistration.k8s.io", "apiservices") => roundtrip::<
            k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService,
        >(v, apply),
        ("scheduling.k8s.io", "priorityclasses") => {
            roundtrip::<scheduling::v1::PriorityClass>(v, apply)
        }
        ("discovery.k8s.io", "endpointslices") => {
            roundtrip::<discovery::v1::EndpointSlice>(v, apply)
        }
        ("node.k8s.io", "runtimeclasses") => roundtrip::<node::v1::RuntimeClass>(v, apply),
        _ => return None,
    })
}

/// Paths (as `spec.template.spec.containers[0].foo`) present in `orig` but not in `kept`.
fn missing(orig: &Value, kept: &Value, path: &str, out: &mut Vec<String>) {
    match (orig, kept) {
        (Value::Object(o), Value::Object(k)) => {
            for (key, v) in o {
                if v.is_null() {
                    continue;
                }
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    Some(kv) => missing(v, kv, &p, out),
                    None => out.push(p),
                }
            }
        }
        (Value::Array(o), Value::Array(k)) if o.len() == k.len() => {
            for (i, (ov, kv)) in o.iter().zip(k).enumerate() {
                missing(ov, kv, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn remove_path(v: &mut Value, path: &str) {
    // Split "a.b[2].c" into steps.
    let mut steps: Vec<Result<usize, String>> = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        steps.push(Err(name.to_string()));
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                steps.push(Ok(i));
            }
        }
    }
    let Some((last, parents)) = steps.split_last() else {
        return;
    };
    let mut cur = v;
    for s in parents {
        let next = match s {
            Err(k) => cur.get_mut(k.as_str()),
            Ok(i) => cur.get_mut(*i),
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let (Err(k), Some(m)) = (last, cur.as_object_mut()) {
        m.remove(k);
    }
}

/// Checks a built-in object against its typed form. Unknown fields are removed (Ignore,
/// Warn: returned as warnings) or refused (Strict); a mistyped value is a 400.
/// `apply`: the body of a server-side apply, read as an unstructured object is converted
/// (a whole float is an integer).
pub fn check(
    rt: &ResourceType,
    obj: &mut Value,
    mode: FieldValidation,
    apply: bool,
) -> ApiResult<Vec<String>> {
    let mut probe = obj.clone();
    if let Some(m) = probe.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(rt.api_version()));
        m.insert("kind".into(), Value::String(rt.kind.clone()));
    }
    let kept = match typed(rt, &probe, apply) {
        None => return Ok(Vec::new()),
        Some(Ok(kept)) => kept,
        Some(Err(e)) => {
            return Err(ApiError::bad_request(format!(
                "{} in version {:?} cannot be handled as a {}: {e}",
                rt.kind, rt.version, rt.kind
            )));
        }
    };
    // What Go reads a null as is what is stored.
    super::gojson::settle(obj, &kept);
    let mut unknown = Vec::new();
    missing(&probe, &kept, "", &mut unknown);
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    if mode == FieldValidation::Strict {
        let list: Vec<String> = unknown
            .iter()
            .map(|p| format!("unknown field {p:?}"))
            .collect();
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            list.join(", ")
        )));
    }
    for p in &unknown {
        remove_path(obj, p);
    }
    Ok(match mode {
        FieldValidation::Warn => unknown
            .iter()
            .map(|p| format!("unknown field {p:?}"))
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Registry;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_found_dropped_or_refused() {
        let rt = Registry::new().lookup("apps", "v1", "deployments").unwrap();
        let mut d = json!({"metadata": {"name": "x", "labels": {"any": "key"}}, "spec": {"replicaz": 3,
            "template": {"spec": {"containers": [{"name": "a", "image": "b", "imagePolicy": "x"}]}}}});
        let warnings = check(&rt, &mut d, FieldValidation::Warn, false).unwrap();
        assert_eq!(
            warnings,
            [
                "unknown field \"spec.replicaz\"",
                "unknown field \"spec.template.spec.containers[0].imagePolicy\""
            ]
        );
        assert!(d["spec"].get("replicaz").is_none());
        assert!(
            d["spec"]["template"]["spec"]["containers"][0]
                .get("imagePolicy")
                .is_none()
        );
        assert_eq!(d["metadata"]["labels"]["any"], "key");

        let mut bad = json!({"metadata": {"name": "x"}, "spec": {"foo": 1}});
        let e = check(&rt, &mut bad, FieldValidation::Strict, false).unwrap_err();
        assert_eq!(
            e.message,
            "strict decoding error: unknown field \"spec.foo\""
        );

        let mut typed_wrong = json!({"metadata": {"name": "x"}, "spec": {"replicas": "three"}});
        assert_eq!(
            check(&rt, &mut typed_wrong, FieldValidation::Warn, false)
                .unwrap_err()
                .code,
            400
        );

        let mut quantities = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a", "image": "b",
            "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}}]}});
        let pods = Registry::new().lookup("", "v1", "pods").unwrap();
        assert!(
            check(&pods, &mut quantities, FieldValidation::Strict, false)
                .unwrap()
                .is_empty()
        );
    }
}
