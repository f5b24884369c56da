//! Decoding of Kubernetes protobuf request bodies for the kinds Go clients send that way.
//!
//! client-go's typed clients encode writes as `application/vnd.kubernetes.protobuf`: Helm's
//! release storage (Secrets, ConfigMaps), `--create-namespace`, and kubectl's generators
//! (`create deployment|service|job|cronjob|role|rolebinding|ingress|pdb|...`, `expose`,
//! `autoscale`). Responses stay JSON, which client-go decodes by Content-Type. Only the
//! fields those clients set are mapped (others are skipped, like unknown fields); kinds not
//! listed are a 415. Field numbers come from the `generated.proto` files of k8s.io/api and
//! apimachinery.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::status::{ApiError, ApiResult};

/// The four bytes every Kubernetes protobuf body starts with: "k8s\0".
const MAGIC: &[u8] = b"k8s\x00";

#[derive(Clone, Copy)]
enum Kind {
    Str,
    /// Bytes, as base64 in JSON.
    Bytes,
    Int,
    Bool,
    Time,
    Msg(&'static [Field]),
    RepStr,
    RepMsg(&'static [Field]),
    MapStr,
    MapBytes,
    /// map<string, Quantity>
    MapQuantity,
    /// `intstr.IntOrString`: {type, intVal, strVal}.
    IntOrStr,
    /// `resource.Quantity`: {string}.
    Quantity,
}

#[derive(Clone, Copy)]
struct Field {
    num: u64,
    name: &'static str,
    kind: Kind,
    /// A Go pointer field: a zero value was set on purpose and is kept. Non-pointer fields
    /// are always encoded, so their zero values mean "unset" and are dropped, as Go's JSON
    /// encoding (`omitempty`) would.
    keep_zero: bool,
}

const fn f(num: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        num,
        name,
        kind,
        keep_zero: false,
    }
}

/// A pointer field (see `Field::keep_zero`).
const fn p(num: u64, name: &'static str, kind: Kind) -> Field {
    Field {
        num,
        name,
        kind,
        keep_zero: true,
    }
}

const OWNER_REF: &[Field] = &[
    f(1, "kind", Kind::Str),
    f(3, "name", Kind::Str),
    f(4, "uid", Kind::Str),
    f(5, "apiVersion", Kind::Str),
    p(6, "controller", Kind::Bool),
    p(7, "blockOwnerDeletion", Kind::Bool),
];

const OBJECT_META: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "generateName", Kind::Str),
    f(3, "namespace", Kind::Str),
    f(5, "uid", Kind::Str),
    f(6, "resourceVersion", Kind::Str),
    f(7, "generation", Kind::Int),
    f(8, "creationTimestamp", Kind::Time),
    f(9, "deletionTimestamp", Kind::Time),
    p(10, "deletionGracePeriodSeconds", Kind::Int),
    f(11, "labels", Kind::MapStr),
    f(12, "annotations", Kind::MapStr),
    f(13, "ownerReferences", Kind::RepMsg(OWNER_REF)),
    f(14, "finalizers", Kind::RepStr),
];

const LABEL_SELECTOR_REQ: &[Field] = &[
    f(1, "key", Kind::Str),
    f(2, "operator", Kind::Str),
    f(3, "values", Kind::RepStr),
];

const LABEL_SELECTOR: &[Field] = &[
    f(1, "matchLabels", Kind::MapStr),
    f(2, "matchExpressions", Kind::RepMsg(LABEL_SELECTOR_REQ)),
];

const CONTAINER_PORT: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "hostPort", Kind::Int),
    f(3, "containerPort", Kind::Int),
    f(4, "protocol", Kind::Str),
    f(5, "hostIP", Kind::Str),
];

const ENV_VAR: &[Field] = &[f(1, "name", Kind::Str), f(2, "value", Kind::Str)];

const RESOURCES: &[Field] = &[
    f(1, "limits", Kind::MapQuantity),
    f(2, "requests", Kind::MapQuantity),
];

const CONTAINER: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "image", Kind::Str),
    f(3, "command", Kind::RepStr),
    f(4, "args", Kind::RepStr),
    f(5, "workingDir", Kind::Str),
    f(6, "ports", Kind::RepMsg(CONTAINER_PORT)),
    f(7, "env", Kind::RepMsg(ENV_VAR)),
    f(8, "resources", Kind::Msg(RESOURCES)),
    f(13, "terminationMessagePath", Kind::Str),
    f(14, "imagePullPolicy", Kind::Str),
    f(16, "stdin", Kind::Bool),
    f(17, "stdinOnce", Kind::Bool),
    f(18, "tty", Kind::Bool),
    f(20, "terminationMessagePolicy", Kind::Str),
];

const POD_SPEC: &[Field] = &[
    f(2, "containers", Kind::RepMsg(CONTAINER)),
    f(3, "restartPolicy", Kind::Str),
    p(4, "terminationGracePeriodSeconds", Kind::Int),
    p(5, "activeDeadlineSeconds", Kind::Int),
    f(6, "dnsPolicy", Kind::Str),
    f(7, "nodeSelector", Kind::MapStr),
    f(8, "serviceAccountName", Kind::Str),
    f(10, "nodeName", Kind::Str),
    f(15, "imagePullSecrets", Kind::RepMsg(LOCAL_REF)),
    f(16, "hostname", Kind::Str),
    f(17, "subdomain", Kind::Str),
    f(19, "schedulerName", Kind::Str),
    f(20, "initContainers", Kind::RepMsg(CONTAINER)),
    f(24, "priorityClassName", Kind::Str),
];

const POD_TEMPLATE: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(POD_SPEC)),
];

const POD: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(POD_SPEC)),
];

const ROLLING_UPDATE_DEPLOYMENT: &[Field] = &[
    p(1, "maxUnavailable", Kind::IntOrStr),
    p(2, "maxSurge", Kind::IntOrStr),
];

const DEPLOYMENT_STRATEGY: &[Field] = &[
    f(1, "type", Kind::Str),
    f(2, "rollingUpdate", Kind::Msg(ROLLING_UPDATE_DEPLOYMENT)),
];

const DEPLOYMENT_SPEC: &[Field] = &[
    p(1, "replicas", Kind::Int),
    f(2, "selector", Kind::Msg(LABEL_SELECTOR)),
    f(3, "template", Kind::Msg(POD_TEMPLATE)),
    f(4, "strategy", Kind::Msg(DEPLOYMENT_STRATEGY)),
    f(5, "minReadySeconds", Kind::Int),
    p(6, "revisionHistoryLimit", Kind::Int),
    f(7, "paused", Kind::Bool),
    p(9, "progressDeadlineSeconds", Kind::Int),
];

const DEPLOYMENT: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(DEPLOYMENT_SPEC)),
];

const SERVICE_PORT: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "protocol", Kind::Str),
    f(3, "port", Kind::Int),
    f(4, "targetPort", Kind::IntOrStr),
    f(5, "nodePort", Kind::Int),
    f(6, "appProtocol", Kind::Str),
];

const SERVICE_SPEC: &[Field] = &[
    f(1, "ports", Kind::RepMsg(SERVICE_PORT)),
    f(2, "selector", Kind::MapStr),
    f(3, "clusterIP", Kind::Str),
    f(4, "type", Kind::Str),
    f(5, "externalIPs", Kind::RepStr),
    f(7, "sessionAffinity", Kind::Str),
    f(8, "loadBalancerIP", Kind::Str),
    f(10, "externalName", Kind::Str),
    f(11, "externalTrafficPolicy", Kind::Str),
    f(18, "clusterIPs", Kind::RepStr),
];

const SERVICE: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(SERVICE_SPEC)),
];

const JOB_SPEC: &[Field] = &[
    p(1, "parallelism", Kind::Int),
    p(2, "completions", Kind::Int),
    p(3, "activeDeadlineSeconds", Kind::Int),
    f(4, "selector", Kind::Msg(LABEL_SELECTOR)),
    p(5, "manualSelector", Kind::Bool),
    f(6, "template", Kind::Msg(POD_TEMPLATE)),
    p(7, "backoffLimit", Kind::Int),
    p(8, "ttlSecondsAfterFinished", Kind::Int),
    p(9, "completionMode", Kind::Str),
    p(10, "suspend", Kind::Bool),
];

const JOB: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(JOB_SPEC)),
];

const JOB_TEMPLATE: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(JOB_SPEC)),
];

const CRON_JOB_SPEC: &[Field] = &[
    f(1, "schedule", Kind::Str),
    p(2, "startingDeadlineSeconds", Kind::Int),
    f(3, "concurrencyPolicy", Kind::Str),
    p(4, "suspend", Kind::Bool),
    f(5, "jobTemplate", Kind::Msg(JOB_TEMPLATE)),
    p(6, "successfulJobsHistoryLimit", Kind::Int),
    p(7, "failedJobsHistoryLimit", Kind::Int),
    p(8, "timeZone", Kind::Str),
];

const CRON_JOB: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(CRON_JOB_SPEC)),
];

const POLICY_RULE: &[Field] = &[
    f(1, "verbs", Kind::RepStr),
    f(2, "apiGroups", Kind::RepStr),
    f(3, "resources", Kind::RepStr),
    f(4, "resourceNames", Kind::RepStr),
    f(5, "nonResourceURLs", Kind::RepStr),
];

const ROLE: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "rules", Kind::RepMsg(POLICY_RULE)),
];

const SUBJECT: &[Field] = &[
    f(1, "kind", Kind::Str),
    f(2, "apiGroup", Kind::Str),
    f(3, "name", Kind::Str),
    f(4, "namespace", Kind::Str),
];

const ROLE_REF: &[Field] = &[
    f(1, "apiGroup", Kind::Str),
    f(2, "kind", Kind::Str),
    f(3, "name", Kind::Str),
];

const ROLE_BINDING: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "subjects", Kind::RepMsg(SUBJECT)),
    f(3, "roleRef", Kind::Msg(ROLE_REF)),
];

const SERVICE_BACKEND_PORT: &[Field] = &[f(1, "name", Kind::Str), f(2, "number", Kind::Int)];

const INGRESS_SERVICE_BACKEND: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "port", Kind::Msg(SERVICE_BACKEND_PORT)),
];

const INGRESS_BACKEND: &[Field] = &[f(4, "service", Kind::Msg(INGRESS_SERVICE_BACKEND))];

const HTTP_INGRESS_PATH: &[Field] = &[
    f(1, "path", Kind::Str),
    f(2, "backend", Kind::Msg(INGRESS_BACKEND)),
    f(3, "pathType", Kind::Str),
];

const HTTP_INGRESS_RULE: &[Field] = &[f(1, "paths", Kind::RepMsg(HTTP_INGRESS_PATH))];

/// `IngressRuleValue` is inlined in JSON: its `http` member sits on the rule itself.
const INGRESS_RULE_VALUE: &[Field] = &[f(1, "http", Kind::Msg(HTTP_INGRESS_RULE))];

const INGRESS_RULE: &[Field] = &[
    f(1, "host", Kind::Str),
    f(2, "ingressRuleValue", Kind::Msg(INGRESS_RULE_VALUE)),
];

const INGRESS_TLS: &[Field] = &[f(1, "hosts", Kind::RepStr), f(2, "secretName", Kind::Str)];

const INGRESS_SPEC: &[Field] = &[
    f(1, "defaultBackend", Kind::Msg(INGRESS_BACKEND)),
    f(2, "tls", Kind::RepMsg(INGRESS_TLS)),
    f(3, "rules", Kind::RepMsg(INGRESS_RULE)),
    f(4, "ingressClassName", Kind::Str),
];

const INGRESS: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(INGRESS_SPEC)),
];

const PDB_SPEC: &[Field] = &[
    p(1, "minAvailable", Kind::IntOrStr),
    f(2, "selector", Kind::Msg(LABEL_SELECTOR)),
    p(3, "maxUnavailable", Kind::IntOrStr),
    p(4, "unhealthyPodEvictionPolicy", Kind::Str),
];

const PDB: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(PDB_SPEC)),
];

const CROSS_VERSION_REF: &[Field] = &[
    f(1, "kind", Kind::Str),
    f(2, "name", Kind::Str),
    f(3, "apiVersion", Kind::Str),
];

const METRIC_TARGET: &[Field] = &[
    f(1, "type", Kind::Str),
    p(2, "value", Kind::Quantity),
    p(3, "averageValue", Kind::Quantity),
    p(4, "averageUtilization", Kind::Int),
];

const RESOURCE_METRIC: &[Field] = &[
    f(1, "name", Kind::Str),
    f(2, "target", Kind::Msg(METRIC_TARGET)),
];

const METRIC_SPEC: &[Field] = &[
    f(1, "type", Kind::Str),
    f(4, "resource", Kind::Msg(RESOURCE_METRIC)),
];

const HPA_SPEC: &[Field] = &[
    f(1, "scaleTargetRef", Kind::Msg(CROSS_VERSION_REF)),
    p(2, "minReplicas", Kind::Int),
    f(3, "maxReplicas", Kind::Int),
    f(4, "metrics", Kind::RepMsg(METRIC_SPEC)),
];

const HPA: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(HPA_SPEC)),
];

const SECRET: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "data", Kind::MapBytes),
    f(3, "type", Kind::Str),
    f(4, "stringData", Kind::MapStr),
    p(5, "immutable", Kind::Bool),
];

const CONFIG_MAP: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "data", Kind::MapStr),
    f(3, "binaryData", Kind::MapBytes),
    p(4, "immutable", Kind::Bool),
];

const NAMESPACE_SPEC: &[Field] = &[f(1, "finalizers", Kind::RepStr)];

const NAMESPACE: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(2, "spec", Kind::Msg(NAMESPACE_SPEC)),
];

const LOCAL_REF: &[Field] = &[f(1, "name", Kind::Str)];

const SERVICE_ACCOUNT: &[Field] = &[
    f(1, "metadata", Kind::Msg(OBJECT_META)),
    f(3, "imagePullSecrets", Kind::RepMsg(LOCAL_REF)),
    p(4, "automountServiceAccountToken", Kind::Bool),
];

const PRECONDITIONS: &[Field] = &[f(1, "uid", Kind::Str), f(2, "resourceVersion", Kind::Str)];

const DELETE_OPTIONS: &[Field] = &[
    p(1, "gracePeriodSeconds", Kind::Int),
    f(2, "preconditions", Kind::Msg(PRECONDITIONS)),
    p(3, "orphanDependents", Kind::Bool),
    p(4, "propagationPolicy", Kind::Str),
    f(5, "dryRun", Kind::RepStr),
];

const TIME: &[Field] = &[f(1, "seconds", Kind::Int)];

const INT_OR_STRING: &[Field] = &[
    f(1, "type", Kind::Int),
    f(2, "intVal", Kind::Int),
    f(3, "strVal", Kind::Str),
];

const QUANTITY: &[Field] = &[f(1, "string", Kind::Str)];

const TYPE_META: &[Field] = &[f(1, "apiVersion", Kind::Str), f(2, "kind", Kind::Str)];

const UNKNOWN: &[Field] = &[
    f(1, "typeMeta", Kind::Msg(TYPE_META)),
    f(2, "raw", Kind::Bytes),
    f(3, "contentEncoding", Kind::Str),
    f(4, "contentType", Kind::Str),
];

fn bad(msg: &str) -> ApiError {
    ApiError::bad_request(format!("error decoding protobuf body: {msg}"))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> ApiResult<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            out |= ((b & 0x7f) as u64) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(bad("varint too long"))
    }

    fn bytes(&mut self) -> ApiResult<&'a [u8]> {
        let n = self.varint()? as usize;
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| bad("truncated field"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn skip(&mut self, wire: u64) -> ApiResult<()> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.advance(8),
            2 => self.bytes().map(|_| ()),
            5 => self.advance(4),
            _ => Err(bad("unsupported wire type")),
        }
    }

    fn advance(&mut self, n: usize) -> ApiResult<()> {
        if self.pos + n > self.buf.len() {
            return Err(bad("truncated field"));
        }
        self.pos += n;
        Ok(())
    }
}

fn text(b: &[u8]) -> ApiResult<String> {
    String::from_utf8(b.to_vec()).map_err(|_| bad("invalid UTF-8"))
}

/// A map entry message {1: key, 2: value}.
fn map_entry(b: &[u8], bytes_value: bool, quantity_value: bool) -> ApiResult<(String, Value)> {
    let mut r = Reader { buf: b, pos: 0 };
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while r.pos < b.len() {
        let tag = r.varint()?;
        match (tag >> 3, tag & 7) {
            (1, 2) => k = text(r.bytes()?)?,
            (2, 2) => {
                let raw = r.bytes()?;
                v = if quantity_value {
                    decode_msg(raw, QUANTITY)?
                        .get("string")
                        .cloned()
                        .unwrap_or(json!("0"))
                } else if bytes_value {
                    json!(base64::engine::general_purpose::STANDARD.encode(raw))
                } else {
                    json!(text(raw)?)
                };
            }
            (_, wire) => r.skip(wire)?,
        }
    }
    Ok((k, v))
}

fn decode_msg(b: &[u8], fields: &[Field]) -> ApiResult<Value> {
    let mut r = Reader { buf: b, pos: 0 };
    let mut out = Map::new();
    while r.pos < b.len() {
        let tag = r.varint()?;
        let (num, wire) = (tag >> 3, tag & 7);
        let Some(field) = fields.iter().find(|f| f.num == num) else {
            r.skip(wire)?;
            continue;
        };
        let name = field.name.to_string();
        match (field.kind, wire) {
            (Kind::Str, 2) => {
                out.insert(name, json!(text(r.bytes()?)?));
            }
            (Kind::Bytes, 2) => {
                out.insert(
                    name,
                    json!(base64::engine::general_purpose::STANDARD.encode(r.bytes()?)),
                );
            }
            (Kind::Int, 0) => {
                out.insert(name, json!(r.varint()? as i64));
            }
            (Kind::Bool, 0) => {
                out.insert(name, json!(r.varint()? != 0));
            }
            (Kind::Time, 2) => {
                let t = decode_msg(r.bytes()?, TIME)?;
                let secs = t.get("seconds").and_then(Value::as_i64).unwrap_or(0);
                let s = crate::clock::SimTime(secs * 1000).rfc3339();
                out.insert(name, json!(s));
            }
            (Kind::Msg(sub), 2) => {
                out.insert(name, decode_msg(r.bytes()?, sub)?);
            }
            (Kind::RepStr, 2) => {
                let s = text(r.bytes()?)?;
                push(&mut out, name, json!(s));
            }
            (Kind::RepMsg(sub), 2) => {
                let m = decode_msg(r.bytes()?, sub)?;
                push(&mut out, name, m);
            }
            (Kind::IntOrStr, 2) => {
                let v = decode_msg(r.bytes()?, INT_OR_STRING)?;
                let out_v = match v.get("type").and_then(Value::as_i64) {
                    Some(1) => v.get("strVal").cloned().unwrap_or(json!("")),
                    _ => v.get("intVal").cloned().unwrap_or(json!(0)),
                };
                out.insert(name, out_v);
            }
            (Kind::Quantity, 2) => {
                let q = decode_msg(r.bytes()?, QUANTITY)?;
                out.insert(name, q.get("string").cloned().unwrap_or(json!("0")));
            }
            (Kind::MapQuantity, 2) => {
                let (k, v) = map_entry(r.bytes()?, false, true)?;
                let entry = out.entry(name).or_insert_with(|| json!({}));
                if let Some(m) = entry.as_object_mut() {
                    m.insert(k, v);
                }
            }
            (Kind::MapStr | Kind::MapBytes, 2) => {
                let (k, v) = map_entry(r.bytes()?, matches!(field.kind, Kind::MapBytes), false)?;
                let entry = out.entry(name).or_insert_with(|| json!({}));
                if let Some(m) = entry.as_object_mut() {
                    m.insert(k, v);
                }
            }
            (_, wire) => r.skip(wire)?,
        }
    }
    for field in fields.iter().filter(|f| !f.keep_zero) {
        let zero = match out.get(field.name) {
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            _ => false,
        };
        // A zero Time is an unset non-pointer timestamp (creationTimestamp on a new object).
        let zero_time = matches!(field.kind, Kind::Time)
            && out.get(field.name).and_then(Value::as_str) == Some(EPOCH);
        if zero || zero_time {
            out.remove(field.name);
        }
    }
    Ok(Value::Object(out))
}

const EPOCH: &str = "1970-01-01T00:00:00Z";

fn push(out: &mut Map<String, Value>, name: String, v: Value) {
    let entry = out.entry(name).or_insert_with(|| json!([]));
    if let Some(a) = entry.as_array_mut() {
        a.push(v);
    }
}

/// Decodes a `application/vnd.kubernetes.protobuf` body into the JSON form of the object.
pub fn decode(body: &[u8]) -> ApiResult<Value> {
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("missing k8s magic prefix"))?;
    let unknown = decode_msg(rest, UNKNOWN)?;
    let api_version = unknown["typeMeta"]["apiVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let kind = unknown["typeMeta"]["kind"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let raw = unknown["raw"]
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .unwrap_or_default();
    let schema = match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => SECRET,
        ("v1", "ConfigMap") => CONFIG_MAP,
        ("v1", "Namespace") => NAMESPACE,
        ("v1", "ServiceAccount") => SERVICE_ACCOUNT,
        ("v1", "Pod") => POD,
        ("v1", "Service") => SERVICE,
        ("apps/v1", "Deployment") => DEPLOYMENT,
        ("batch/v1", "Job") => JOB,
        ("batch/v1", "CronJob") => CRON_JOB,
        ("rbac.authorization.k8s.io/v1", "Role" | "ClusterRole") => ROLE,
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => ROLE_BINDING,
        ("networking.k8s.io/v1", "Ingress") => INGRESS,
        ("policy/v1", "PodDisruptionBudget") => PDB,
        ("autoscaling/v2", "HorizontalPodAutoscaler") => HPA,
        (_, "DeleteOptions") => DELETE_OPTIONS,
        _ => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("berth-sim does not decode protobuf {api_version}/{kind}; send JSON"),
            ));
        }
    };
    let mut obj = decode_msg(&raw, schema)?;
    inline_ingress_rule_values(&mut obj);
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    Ok(obj)
}

/// JSON inlines `IngressRuleValue` into each rule (`rules[].http`).
fn inline_ingress_rule_values(obj: &mut Value) {
    let Some(rules) = obj.pointer_mut("/spec/rules").and_then(Value::as_array_mut) else {
        return;
    };
    for rule in rules.iter_mut().filter_map(Value::as_object_mut) {
        if let Some(Value::Object(inner)) = rule.remove("ingressRuleValue") {
            rule.extend(inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(num: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((num << 3) | 2) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    fn varint_field(num: u64, v: u8) -> Vec<u8> {
        vec![(num << 3) as u8, v]
    }

    #[test]
    fn decodes_a_service_dropping_unset_scalars() {
        // port 80, targetPort IntOrString{type 0, intVal 8080}, nodePort 0 (always encoded).
        let target = [varint_field(1, 0), vec![0x10, 0x90, 0x3f]].concat();
        let port = [
            varint_field(3, 80),
            field(4, &target),
            varint_field(5, 0),
            field(2, b"TCP"),
        ]
        .concat();
        let spec = [field(1, &port), field(4, b"ClusterIP"), field(3, b"")].concat();
        let meta = [field(1, b"s1"), field(8, &varint_field(1, 0))].concat();
        let svc = [field(1, &meta), field(2, &spec)].concat();
        let unknown = [
            field(1, &[field(1, b"v1"), field(2, b"Service")].concat()),
            field(2, &svc),
        ]
        .concat();
        let v = decode(&[MAGIC, &unknown].concat()).unwrap();
        assert_eq!(
            v["spec"]["ports"][0],
            json!({"port": 80, "targetPort": 8080, "protocol": "TCP"})
        );
        assert!(v["spec"].get("clusterIP").is_none());
        assert!(v["metadata"].get("creationTimestamp").is_none());
    }

    #[test]
    fn decodes_a_secret_like_helm_sends() {
        let meta = [
            field(1, b"sh.helm.release.v1.demo.v1"),
            field(11, &[field(1, b"owner"), field(2, b"helm")].concat()),
        ]
        .concat();
        let secret = [
            field(1, &meta),
            field(2, &[field(1, b"release"), field(2, b"\x00\x01")].concat()),
            field(3, b"helm.sh/release.v1"),
        ]
        .concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let unknown = [field(1, &type_meta), field(2, &secret)].concat();
        let body = [MAGIC, &unknown].concat();
        let v = decode(&body).unwrap();
        assert_eq!(v["kind"], "Secret");
        assert_eq!(v["metadata"]["name"], "sh.helm.release.v1.demo.v1");
        assert_eq!(v["metadata"]["labels"]["owner"], "helm");
        assert_eq!(v["data"]["release"], "AAE=");
        assert_eq!(v["type"], "helm.sh/release.v1");
    }
}
