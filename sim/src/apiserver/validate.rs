//! Validation (SIM_SPEC §2.4): the minimum set of 422 Invalid rules, with the causes and
//! messages a real server returns.

use serde_json::Value;

use super::Cluster;
use crate::object;
use crate::resources::ResourceType;
use crate::selector::LabelSelector;
use crate::status::{ApiError, ApiResult, Cause};

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

pub fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && label_chars(s)
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, of any length.
fn label_chars(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// apimachinery's IsDNS1123Subdomain: at most 253 bytes matching its regex, whose parts
/// between dots have no length limit of their own (a 64-byte pod name is valid).
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(label_chars)
}

fn is_dns1035(s: &str) -> bool {
    is_dns_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// apimachinery's `path.IsValidPathSegmentName`.
fn path_segment_errors(name: &str) -> Vec<String> {
    if let Some(bad) = [".", ".."].into_iter().find(|b| name == *b) {
        return vec![format!("may not be '{bad}'")];
    }
    ["/", "%"]
        .into_iter()
        .filter(|bad| name.contains(bad))
        .map(|bad| format!("may not contain '{bad}'"))
        .collect()
}

impl Cluster {
    pub(super) fn validate(
        &self,
        rt: &ResourceType,
        old: Option<&Value>,
        new: &Value,
    ) -> ApiResult<()> {
        let name = object::name(new);
        let mut causes = Vec::new();
        let name_val = Value::String(name.to_string());
        let msgs: Vec<String> = match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "namespaces") => (!is_dns_label(name))
                .then(|| LABEL_MSG.into())
                .into_iter()
                .collect(),
            ("", "services") => (!is_dns1035(name))
                .then(|| DNS1035_MSG.into())
                .into_iter()
                .collect(),
            // ValidateRBACName: any path segment (`system:metrics-server`,
            // `…-clusterRole`).
            ("rbac.authorization.k8s.io", _) => path_segment_errors(name),
            _ => (!is_dns_subdomain(name))
                .then(|| SUBDOMAIN_MSG.into())
                .into_iter()
                .collect(),
        };
        if old.is_none() {
            for msg in &msgs {
                causes.push(Cause::invalid("metadata.name", &name_val, msg));
            }
        }
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets") => {
                workload(rt, old, new, &mut causes);
            }
            ("batch", "jobs") => job(old, new, &mut causes),
            ("", "pods") => {
                containers(object::at(new, &["spec"]), "spec", &mut causes);
            }
            ("", "services") => service(old, new, &mut causes),
            ("apiextensions.k8s.io", "customresourcedefinitions") => crd(new, &mut causes),
            _ => {}
        }
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(rt, name, causes))
        }
    }
}

fn containers(spec: Option<&Value>, prefix: &str, causes: &mut Vec<Cause>) {
    let list = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match list {
        None => causes.push(Cause::required(&format!("{prefix}.containers"))),
        Some(cs) if cs.is_empty() => causes.push(Cause::required(&format!("{prefix}.containers"))),
        Some(cs) => {
            for (i, c) in cs.iter().enumerate() {
                if object::str_at(c, &["name"]).is_none_or(str::is_empty) {
                    causes.push(Cause::required(&format!("{prefix}.containers[{i}].name")));
                }
                if object::str_at(c, &["image"]).is_none_or(str::is_empty) {
                    causes.push(Cause::required(&format!("{prefix}.containers[{i}].image")));
                }
            }
        }
    }
}

fn workload(rt: &ResourceType, old: Option<&Value>, new: &Value, causes: &mut Vec<Cause>) {
    let selector = object::at(new, &["spec", "selector"]);
    match selector {
        None | Some(Value::Null) => causes.push(Cause::required("spec.selector")),
        Some(sel) => {
            let ls = LabelSelector::from_object(sel);
            if ls.is_empty() {
                causes.push(Cause::invalid(
                    "spec.selector",
                    sel,
                    "empty selector is invalid for deployment",
                ));
            }
            let labels =
                object::string_map(object::at(new, &["spec", "template", "metadata", "labels"]));
            if !ls.is_empty() && !ls.matches(&labels) {
                causes.push(Cause::new(
                    "FieldValueInvalid",
                    format!(
                        "Invalid value: {labels:?}: `selector` does not match template `labels`"
                    ),
                    "spec.template.metadata.labels",
                ));
            }
        }
    }
    containers(
        object::at(new, &["spec", "template", "spec"]),
        "spec.template.spec",
        causes,
    );
    if let Some(old) = old
        && rt.plural != "statefulsets"
        && object::at(old, &["spec", "selector"]) != selector
    {
        causes.push(Cause::immutable(
            "spec.selector",
            selector.unwrap_or(&Value::Null),
        ));
    }
    if rt.plural == "deployments"
        && let Some(ru) = object::at(new, &["spec", "strategy", "rollingUpdate"])
    {
        let zero = |v: Option<&Value>| {
            matches!(v, Some(Value::Number(n)) if n.as_i64() == Some(0))
                || matches!(v, Some(Value::String(s)) if s == "0" || s == "0%")
        };
        if zero(ru.get("maxSurge")) && zero(ru.get("maxUnavailable")) {
            causes.push(Cause::invalid(
                "spec.strategy.rollingUpdate.maxUnavailable",
                ru.get("maxUnavailable").unwrap_or(&Value::Null),
                "may not be 0 when `maxSurge` is 0",
            ));
        }
    }
    if rt.plural == "statefulsets"
        && let Some(old) = old
    {
        let strip = |v: &Value| {
            let mut s = v.get("spec").cloned().unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                for k in [
                    "replicas",
                    "ordinals",
                    "template",
                    "updateStrategy",
                    "revisionHistoryLimit",
                    "persistentVolumeClaimRetentionPolicy",
                    "minReadySeconds",
                ] {
                    m.remove(k);
                }
            }
            s
        };
        if strip(old) != strip(new) {
            causes.push(Cause::forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
    }
}

fn job(old: Option<&Value>, new: &Value, causes: &mut Vec<Cause>) {
    containers(
        object::at(new, &["spec", "template", "spec"]),
        "spec.template.spec",
        causes,
    );
    let restart = object::str_at(new, &["spec", "template", "spec", "restartPolicy"]).unwrap_or("");
    if !matches!(restart, "Never" | "OnFailure") {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            format!("Unsupported value: {restart:?}: supported values: \"OnFailure\", \"Never\""),
            "spec.template.spec.restartPolicy",
        ));
    }
    if let Some(old) = old {
        for (path, field) in [
            (["spec", "selector"], "spec.selector"),
            (["spec", "template"], "spec.template"),
        ] {
            if object::at(old, &path) != object::at(new, &path) {
                causes.push(Cause::immutable(
                    field,
                    object::at(new, &path).unwrap_or(&Value::Null),
                ));
            }
        }
    }
}

fn service(old: Option<&Value>, new: &Value, causes: &mut Vec<Cause>) {
    let svc_type = object::str_at(new, &["spec", "type"]).unwrap_or("ClusterIP");
    let headless = object::str_at(new, &["spec", "clusterIP"]) == Some("None");
    let ports = object::at(new, &["spec", "ports"]).and_then(Value::as_array);
    if svc_type != "ExternalName" && !headless && ports.is_none_or(|p| p.is_empty()) {
        causes.push(Cause::required("spec.ports"));
    }
    if let Some(old) = old {
        let (o, n) = (
            object::str_at(old, &["spec", "clusterIP"]),
            object::str_at(new, &["spec", "clusterIP"]),
        );
        if o.is_some_and(|o| !o.is_empty())
            && o != n
            && svc_type == object::str_at(old, &["spec", "type"]).unwrap_or("ClusterIP")
        {
            causes.push(Cause::immutable(
                "spec.clusterIPs[0]",
                &Value::String(n.unwrap_or("").to_string()),
            ));
        }
    }
}

fn crd(new: &Value, causes: &mut Vec<Cause>) {
    let plural = object::str_at(new, &["spec", "names", "plural"]).unwrap_or("");
    let group = object::str_at(new, &["spec", "group"]).unwrap_or("");
    let name = object::name(new);
    if group.is_empty() {
        causes.push(Cause::required("spec.group"));
    }
    if plural.is_empty() {
        causes.push(Cause::required("spec.names.plural"));
    }
    if object::str_at(new, &["spec", "names", "kind"]).is_none_or(str::is_empty) {
        causes.push(Cause::required("spec.names.kind"));
    }
    if name != format!("{plural}.{group}") {
        causes.push(Cause::invalid(
            "metadata.name",
            &Value::String(name.to_string()),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let scope = object::str_at(new, &["spec", "scope"]).unwrap_or("");
    if !matches!(scope, "Namespaced" | "Cluster") {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            format!("Unsupported value: {scope:?}: supported values: \"Cluster\", \"Namespaced\""),
            "spec.scope",
        ));
    }
    let versions = object::at(new, &["spec", "versions"]).and_then(Value::as_array);
    let storage = versions
        .map(|vs| {
            vs.iter()
                .filter(|v| object::bool_at(v, &["storage"]) == Some(true))
                .count()
        })
        .unwrap_or(0);
    if versions.is_none_or(|v| v.is_empty()) {
        causes.push(Cause::required("spec.versions"));
    } else if storage != 1 {
        causes.push(Cause::invalid(
            "spec.versions",
            &Value::Null,
            "must have exactly one version marked as storage version",
        ));
    }
}
