//! Readiness of one object from its live JSON: pure functions, one rule per
//! kind, following kubectl's `rollout status` viewers
//! (k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go) and Helm's
//! readiness checks. Kinds without a rule have no status worth waiting for:
//! they are ready once applied (documented in the README).

use serde_json::Value;

/// What an object's status says right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready(String),
    Progress(Progress),
    /// Reason, message: the object cannot become ready by waiting.
    Failed(String, String),
}

/// A step on the way, with replica counts where the kind has them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    pub message: String,
    pub desired: u32,
    pub updated: u32,
    pub ready: u32,
    pub available: u32,
}

impl Progress {
    fn says(message: impl Into<String>) -> Readiness {
        Readiness::Progress(Progress {
            message: message.into(),
            ..Default::default()
        })
    }
}

/// Whether berth waits for this kind at all (`wait_for_jobs`: Helm's
/// `--wait-for-jobs`; without it Jobs count as ready once created).
pub fn is_tracked(api_version: &str, kind: &str, wait_for_jobs: bool) -> bool {
    match (api_version, kind) {
        ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => true,
        ("v1", "Pod" | "PersistentVolumeClaim" | "Service") => true,
        ("batch/v1", "Job") => wait_for_jobs,
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition") => true,
        (av, _) => is_custom(av),
    }
}

/// Custom resources: API groups that Kubernetes itself does not serve.
fn is_custom(api_version: &str) -> bool {
    let Some((group, _)) = api_version.split_once('/') else {
        return false;
    };
    !(group.ends_with(".k8s.io") || group.is_empty() || BUILT_IN_GROUPS.contains(&group))
}

const BUILT_IN_GROUPS: &[&str] = &["apps", "batch", "autoscaling", "policy"];

/// The choices a user makes about waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rules {
    /// LoadBalancer Services wait for an ingress address (off by default:
    /// many clusters never provide one).
    pub wait_for_load_balancers: bool,
    /// Custom resources that report no Ready/Available condition.
    pub no_status: NoStatusPolicy,
}

/// What "ready" means for a custom resource without Ready/Available
/// conditions (berthd --no-status-policy).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NoStatusPolicy {
    /// Ready once applied (the default; like kinds without a status).
    #[default]
    Ready,
    /// Ready once a controller has written any `.status`.
    WaitForStatus,
}

impl std::str::FromStr for NoStatusPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ready" => Ok(NoStatusPolicy::Ready),
            "wait-for-status" => Ok(NoStatusPolicy::WaitForStatus),
            other => Err(format!("{other:?}: expected ready or wait-for-status")),
        }
    }
}

pub fn readiness(kind: &str, api_version: &str, obj: &Value, rules: &Rules) -> Readiness {
    match kind {
        "Deployment" => deployment(obj),
        "StatefulSet" => stateful_set(obj),
        "DaemonSet" => daemon_set(obj),
        "ReplicaSet" => replica_set(obj),
        "Pod" => pod(obj),
        "Job" => job(obj),
        "PersistentVolumeClaim" => pvc(obj),
        "Service" => service(obj, rules.wait_for_load_balancers),
        "CustomResourceDefinition" => crd(obj),
        _ if is_custom(api_version) => custom(obj, rules.no_status),
        _ => Readiness::Ready("applied".into()),
    }
}

fn num(v: &Value, path: &str) -> u32 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0).max(0) as u32
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

fn text<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path).and_then(Value::as_str).unwrap_or_default()
}

/// The condition of `kind`, if the object reports it.
fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// Why a ReplicaSet cannot make its pods (its `ReplicaFailure` condition,
/// which the Deployment controller copies to the Deployment): admission
/// refused them (a quota, a missing ServiceAccount, a policy webhook).
/// Reason and message.
pub fn replica_failure(obj: &Value) -> Option<(String, String)> {
    let c = condition(obj, "ReplicaFailure").filter(|c| c["status"] == "True")?;
    let reason = c["reason"].as_str().filter(|r| !r.is_empty());
    Some((
        reason.unwrap_or("ReplicaFailure").to_string(),
        c["message"].as_str().unwrap_or_default().to_string(),
    ))
}

fn generation_observed(obj: &Value) -> bool {
    int(obj, "/status/observedGeneration") >= int(obj, "/metadata/generation")
}

fn deployment(d: &Value) -> Readiness {
    let name = text(d, "/metadata/name");
    if !generation_observed(d) {
        return Progress::says("waiting for the deployment spec update to be observed");
    }
    if let Some(c) = condition(d, "Progressing")
        && c["reason"] == "ProgressDeadlineExceeded"
    {
        let message = c["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("deployment {name:?} exceeded its progress deadline"));
        return Readiness::Failed("ProgressDeadlineExceeded".into(), message);
    }
    let desired = d
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as u32;
    let updated = num(d, "/status/updatedReplicas");
    let replicas = num(d, "/status/replicas");
    let ready = num(d, "/status/readyReplicas");
    let available = num(d, "/status/availableReplicas");
    let mut message = if updated < desired {
        format!("{updated} of {desired} new replicas updated, {available} available")
    } else if replicas > updated {
        format!("{} old replicas pending termination", replicas - updated)
    } else if available < updated {
        format!("{available} of {updated} updated replicas available")
    } else {
        return Readiness::Ready(format!("{available}/{desired} replicas ready"));
    };
    if let Some((reason, why)) = replica_failure(d) {
        message.push_str(&format!("; {reason}: {why}"));
    }
    Readiness::Progress(Progress {
        message,
        desired,
        updated,
        ready,
        available,
    })
}

fn stateful_set(s: &Value) -> Readiness {
    if !generation_observed(s) {
        return Progress::says("waiting for the statefulset spec update to be observed");
    }
    let desired = s
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as u32;
    let ready = num(s, "/status/readyReplicas");
    let updated = num(s, "/status/updatedReplicas");
    let available = num(s, "/status/availableReplicas");
    let counts = |message: String| {
        Readiness::Progress(Progress {
            message,
            desired,
            updated,
            ready,
            available,
        })
    };
    if ready < desired {
        return counts(format!("{ready} of {desired} pods ready"));
    }
    // OnDelete: pods change only when someone deletes them; ready is all
    // that can be waited for.
    if text(s, "/spec/updateStrategy/type") == "OnDelete" {
        return Readiness::Ready(format!("{ready}/{desired} pods ready"));
    }
    let partition = num(s, "/spec/updateStrategy/rollingUpdate/partition");
    if partition > 0 {
        let wanted = desired.saturating_sub(partition);
        if updated < wanted {
            return counts(format!(
                "partitioned roll out: {updated} of {wanted} new pods updated"
            ));
        }
        return Readiness::Ready(format!("partitioned roll out complete: {updated} new pods"));
    }
    let (current, update) = (
        text(s, "/status/currentRevision"),
        text(s, "/status/updateRevision"),
    );
    if current != update {
        return counts(format!(
            "rolling update: {updated} of {desired} pods at revision {update}"
        ));
    }
    Readiness::Ready(format!("{ready}/{desired} pods ready"))
}

fn daemon_set(d: &Value) -> Readiness {
    if !generation_observed(d) {
        return Progress::says("waiting for the daemon set spec update to be observed");
    }
    let desired = num(d, "/status/desiredNumberScheduled");
    let updated = num(d, "/status/updatedNumberScheduled");
    let available = num(d, "/status/numberAvailable");
    let ready = num(d, "/status/numberReady");
    let message = if updated < desired {
        format!("{updated} of {desired} new pods updated")
    } else if available < desired {
        format!("{available} of {desired} updated pods available")
    } else {
        return Readiness::Ready(format!("{available}/{desired} pods available"));
    };
    Readiness::Progress(Progress {
        message,
        desired,
        updated,
        ready,
        available,
    })
}

fn replica_set(r: &Value) -> Readiness {
    let desired = r
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(0) as u32;
    let ready = num(r, "/status/readyReplicas");
    if generation_observed(r) && ready >= desired {
        return Readiness::Ready(format!("{ready}/{desired} replicas ready"));
    }
    let mut message = format!("{ready} of {desired} replicas ready");
    if let Some((reason, why)) = replica_failure(r) {
        message.push_str(&format!("; {reason}: {why}"));
    }
    Readiness::Progress(Progress {
        message,
        desired,
        ready,
        available: num(r, "/status/availableReplicas"),
        ..Default::default()
    })
}

fn pod(p: &Value) -> Readiness {
    match text(p, "/status/phase") {
        "Succeeded" => Readiness::Ready("succeeded".into()),
        "Failed" => Readiness::Failed("PodFailed".into(), text(p, "/status/message").to_string()),
        phase => match condition(p, "Ready") {
            Some(c) if c["status"] == "True" => Readiness::Ready("ready".into()),
            _ if phase.is_empty() => Progress::says("Pending"),
            _ => Progress::says(phase),
        },
    }
}

fn job(j: &Value) -> Readiness {
    for c in j
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "True")
    {
        match c["type"].as_str() {
            Some("Complete") => return Readiness::Ready("complete".into()),
            Some("Failed") => {
                return Readiness::Failed(
                    c["reason"].as_str().unwrap_or("JobFailed").to_string(),
                    c["message"].as_str().unwrap_or_default().to_string(),
                );
            }
            _ => {}
        }
    }
    Progress::says(format!(
        "{} active, {} succeeded, {} failed",
        num(j, "/status/active"),
        num(j, "/status/succeeded"),
        num(j, "/status/failed")
    ))
}

fn pvc(p: &Value) -> Readiness {
    match text(p, "/status/phase") {
        "Bound" => Readiness::Ready("bound".into()),
        "Lost" => Readiness::Failed("ClaimLost".into(), "the bound volume is lost".into()),
        _ => Progress::says("waiting to be bound"),
    }
}

fn service(s: &Value, wait_for_load_balancers: bool) -> Readiness {
    // ExternalName services have no address; every other type gets a
    // cluster IP (or "None" when headless).
    let has_ip = text(s, "/spec/type") == "ExternalName" || !text(s, "/spec/clusterIP").is_empty();
    if !has_ip {
        return Progress::says("waiting for a cluster IP");
    }
    if wait_for_load_balancers && text(s, "/spec/type") == "LoadBalancer" {
        let ingress = s
            .pointer("/status/loadBalancer/ingress")
            .and_then(Value::as_array);
        return match ingress.and_then(|i| i.first()) {
            Some(i) => {
                let at = i["ip"]
                    .as_str()
                    .or(i["hostname"].as_str())
                    .unwrap_or_default();
                Readiness::Ready(format!("load balancer at {at}"))
            }
            None => Progress::says("waiting for a load balancer address"),
        };
    }
    Readiness::Ready("has a cluster IP".into())
}

fn crd(c: &Value) -> Readiness {
    if let Some(n) = condition(c, "NamesAccepted")
        && n["status"] == "False"
    {
        return Readiness::Failed(
            n["reason"]
                .as_str()
                .unwrap_or("NamesNotAccepted")
                .to_string(),
            n["message"].as_str().unwrap_or_default().to_string(),
        );
    }
    match condition(c, "Established") {
        Some(e) if e["status"] == "True" => Readiness::Ready("Established".into()),
        _ => Progress::says("waiting to be Established"),
    }
}

/// Custom resources: by their `Ready` (else `Available`) condition and
/// observedGeneration when they report them; ready at once when they report
/// neither (the same policy as built-in kinds without a status).
fn custom(o: &Value, no_status: NoStatusPolicy) -> Readiness {
    let Some(c) = condition(o, "Ready").or_else(|| condition(o, "Available")) else {
        let has_status = o["status"].as_object().is_some_and(|m| !m.is_empty());
        return match no_status {
            NoStatusPolicy::WaitForStatus if !has_status => {
                Progress::says("waiting for a controller to report status")
            }
            _ => Readiness::Ready("applied (no Ready condition)".into()),
        };
    };
    if o.pointer("/status/observedGeneration").is_some() && !generation_observed(o) {
        return Progress::says("waiting for the spec update to be observed");
    }
    let kind = c["type"].as_str().unwrap_or("Ready");
    let why = c["message"]
        .as_str()
        .or(c["reason"].as_str())
        .unwrap_or_default();
    if c["status"] == "True" {
        Readiness::Ready(kind.to_string())
    } else {
        Progress::says(format!(
            "{kind}={}: {why}",
            c["status"].as_str().unwrap_or("Unknown")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn is_ready(r: Readiness) -> bool {
        matches!(r, Readiness::Ready(_))
    }

    #[test]
    fn an_unobserved_deployment_generation_is_not_ready() {
        // SIM_SPEC §5.3: old conditions still say NewReplicaSetAvailable,
        // but the controller has not seen the change yet.
        let d = json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
        });
        assert!(!is_ready(deployment(&d)));
    }

    #[test]
    fn a_deployment_is_ready_when_updated_and_available_and_fails_past_its_deadline() {
        let d = json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2}
        });
        assert!(is_ready(deployment(&d)));
        let d = json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1,
                "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                "message": "ReplicaSet \"web-1\" has timed out progressing."}]}
        });
        assert_eq!(
            deployment(&d),
            Readiness::Failed(
                "ProgressDeadlineExceeded".into(),
                "ReplicaSet \"web-1\" has timed out progressing.".into()
            )
        );
    }

    #[test]
    fn a_replica_failure_is_said_while_it_holds() {
        let d = |conditions: Value| {
            json!({"metadata": {"name": "web", "generation": 1},
                   "spec": {"replicas": 2},
                   "status": {"observedGeneration": 1, "conditions": conditions}})
        };
        let refused = d(json!([{"type": "ReplicaFailure", "status": "True",
            "reason": "FailedCreate", "message": "pods \"web-6b-\" is forbidden: exceeded quota"}]));
        assert_eq!(
            replica_failure(&refused),
            Some((
                "FailedCreate".into(),
                "pods \"web-6b-\" is forbidden: exceeded quota".into()
            ))
        );
        let Readiness::Progress(p) = deployment(&refused) else {
            panic!("still in progress");
        };
        assert_eq!(
            p.message,
            "0 of 2 new replicas updated, 0 available; FailedCreate: pods \"web-6b-\" is forbidden: exceeded quota"
        );
        let cleared =
            d(json!([{"type": "ReplicaFailure", "status": "False", "reason": "FailedCreate"}]));
        assert_eq!(replica_failure(&cleared), None);
        let unnamed = d(json!([{"type": "ReplicaFailure", "status": "True", "message": "m"}]));
        assert_eq!(
            replica_failure(&unnamed),
            Some(("ReplicaFailure".into(), "m".into()))
        );
    }

    #[test]
    fn statefulsets_honour_partition_and_on_delete() {
        let base = |strategy: Value, status: Value| {
            json!({"metadata": {"generation": 1}, "spec": {"replicas": 3, "updateStrategy": strategy},
                   "status": status})
        };
        let rolling = json!({"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1,
                             "currentRevision": "a", "updateRevision": "b"});
        assert!(!is_ready(stateful_set(&base(
            json!({"type": "RollingUpdate"}),
            rolling.clone()
        ))));
        let partitioned = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 2}});
        assert!(is_ready(stateful_set(&base(partitioned, rolling.clone()))));
        assert!(is_ready(stateful_set(&base(
            json!({"type": "OnDelete"}),
            rolling
        ))));
    }

    #[test]
    fn jobs_pvcs_services_crds_and_custom_resources() {
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "m"}]}});
        assert_eq!(
            job(&failed),
            Readiness::Failed("BackoffLimitExceeded".into(), "m".into())
        );
        assert!(is_ready(pvc(&json!({"status": {"phase": "Bound"}}))));
        assert!(!is_ready(pvc(&json!({"status": {"phase": "Pending"}}))));
        let ip = json!({"spec": {"clusterIP": "10.96.0.1"}});
        assert!(is_ready(service(&ip, false)));
        let external = json!({"spec": {"type": "ExternalName"}});
        assert!(is_ready(service(&external, false)));
        let lb = json!({"spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.2"}});
        assert!(is_ready(service(&lb, false)));
        assert!(!is_ready(service(&lb, true)));
        let est = json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert!(is_ready(crd(&est)));
        let cr = |status: &str| {
            json!({"metadata": {"generation": 2},
            "status": {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": status}]}})
        };
        assert!(is_ready(custom(&cr("True"), NoStatusPolicy::Ready)));
        assert!(!is_ready(custom(&cr("False"), NoStatusPolicy::Ready)));
        assert!(is_ready(custom(
            &json!({"spec": {}}),
            NoStatusPolicy::Ready
        )));
        let bare = json!({"spec": {}});
        assert!(!is_ready(custom(&bare, NoStatusPolicy::WaitForStatus)));
        let touched = json!({"spec": {}, "status": {"phase": "Running"}});
        assert!(is_ready(custom(&touched, NoStatusPolicy::WaitForStatus)));
        assert!(is_tracked("example.com/v1", "Widget", false));
        assert!(!is_tracked("rbac.authorization.k8s.io/v1", "Role", false));
        assert!(!is_tracked("batch/v1", "Job", false));
    }
}
