//! The Deployment controller (SIM_SPEC §5.3), after kube-controller-manager's
//! `pkg/controller/deployment`: finds or creates the new ReplicaSet, scales ReplicaSets by
//! the RollingUpdate or Recreate strategy, and reports status and conditions.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::pod::owned_pods;
use super::{WorkKey, template_hash};
use crate::apiserver::{Cluster, DeleteOpts, Propagation};
use crate::clock::SimTime;
use crate::object;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
const COMPONENT: &str = "deployment-controller";
const REVISION: &str = "deployment.kubernetes.io/revision";

/// Resolves an int-or-percent against `total` (percentages round up or down).
pub fn resolve_int_or_percent(v: Option<&Value>, total: i64, round_up: bool, default: i64) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(default),
        Some(Value::String(s)) => match s.strip_suffix('%').and_then(|p| p.parse::<f64>().ok()) {
            Some(p) => {
                let x = p * total as f64 / 100.0;
                if round_up {
                    x.ceil() as i64
                } else {
                    x.floor() as i64
                }
            }
            None => s.parse().unwrap_or(default),
        },
        _ => default,
    }
}

fn i64_of(v: &Value, path: &[&str]) -> i64 {
    object::i64_at(v, path).unwrap_or(0)
}

fn revision(rs: &Value) -> i64 {
    object::annotation(rs, REVISION)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Pod templates equal apart from the `pod-template-hash` label (labels
/// left empty without it count as none). Compared in place: a Deployment
/// sync asks this of every ReplicaSet it owns.
fn same_template(a: Option<&Value>, b: Option<&Value>) -> bool {
    let null = Value::Null;
    let (a, b) = (a.unwrap_or(&null), b.unwrap_or(&null));
    equal_but(a, b, "metadata", |ma, mb| match (ma, mb) {
        (Some(ma), Some(mb)) => equal_but(ma, mb, "labels", |la, lb| {
            match (real_labels(la), real_labels(lb)) {
                (None, None) => true,
                (Some(la), Some(lb)) => equal_but(la, lb, POD_TEMPLATE_HASH, |_, _| true),
                _ => false,
            }
        }),
        (ma, mb) => ma == mb,
    })
}

const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Labels that say more than the pod-template hash.
fn real_labels(labels: Option<&Value>) -> Option<&Value> {
    labels.filter(|l| {
        l.as_object()
            .is_none_or(|m| m.keys().any(|k| k != POD_TEMPLATE_HASH))
    })
}

/// `a == b`, except that for two objects the member `key` is compared by
/// `same` (given each side's, if any).
fn equal_but(
    a: &Value,
    b: &Value,
    key: &str,
    same: impl FnOnce(Option<&Value>, Option<&Value>) -> bool,
) -> bool {
    let (Some(x), Some(y)) = (a.as_object(), b.as_object()) else {
        return a == b;
    };
    let others = |m: &serde_json::Map<String, Value>| m.len() - usize::from(m.contains_key(key));
    others(x) == others(y)
        && x.iter()
            .filter(|(k, _)| *k != key)
            .all(|(k, v)| y.get(k) == Some(v))
        && same(x.get(key), y.get(key))
}

/// Surge and unavailability allowances (k8s `ResolveFenceposts`).
fn fenceposts(d: &Value, replicas: i64) -> (i64, i64) {
    if object::str_at(d, &["spec", "strategy", "type"]) == Some("Recreate") {
        return (0, 0);
    }
    let ru = object::at(d, &["spec", "strategy", "rollingUpdate"]);
    let surge = resolve_int_or_percent(ru.and_then(|r| r.get("maxSurge")), replicas, true, 1);
    let mut unavailable =
        resolve_int_or_percent(ru.and_then(|r| r.get("maxUnavailable")), replicas, false, 0);
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    (surge, unavailable)
}

struct Ctx<'a> {
    d: &'a Value,
    replicas: i64,
    surge: i64,
    unavailable: i64,
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    // Stored objects are shared, not copied: a sync reads far more than it writes.
    let Some(d) = c.store.get(key).cloned() else {
        return;
    };
    if object::is_deleting(&d) {
        return;
    }
    let ns = object::namespace(&d).to_string();
    let replicas = object::i64_at(&d, &["spec", "replicas"]).unwrap_or(1);
    let (surge, unavailable) = fenceposts(&d, replicas);
    let ctx = Ctx {
        d: &d,
        replicas,
        surge,
        unavailable,
    };
    let paused = object::bool_at(&d, &["spec", "paused"]).unwrap_or(false);
    let null = Value::Null;
    let template = object::at(&d, &["spec", "template"]).unwrap_or(&null);

    let mut rss = owned_replicasets(c, &d);
    let max_rev = rss.iter().map(|rs| revision(rs)).max().unwrap_or(0);
    let mut created = None;
    let new_name = match rss
        .iter()
        .find(|rs| same_template(object::at(rs, &["spec", "template"]), Some(template)))
    {
        Some(rs) => {
            let name = object::name(rs).to_string();
            // An old template came back (a rollback): it becomes the newest revision.
            if revision(rs) < max_rev && !paused {
                let mut rs = (**rs).clone();
                object::obj_mut(&mut rs, &["metadata", "annotations"])
                    .insert(REVISION.into(), json!((max_rev + 1).to_string()));
                let rt = c.rt("apps", "replicasets");
                let _ = c.write_object(&rt, rs, MANAGER);
            }
            Some(name)
        }
        None if !paused => {
            let name = create_new_rs(c, &ctx, &rss, template, max_rev);
            created = name.clone();
            name
        }
        None => None,
    };
    rss = owned_replicasets(c, &d);
    let new_rs = new_name
        .as_ref()
        .and_then(|n| rss.iter().find(|rs| object::name(rs) == n).cloned());
    let olds: Vec<Arc<Value>> = rss
        .iter()
        .filter(|rs| Some(object::name(rs)) != new_name.as_deref())
        .cloned()
        .collect();

    if !paused && created.is_none() {
        match object::str_at(&d, &["spec", "strategy", "type"]) {
            Some("Recreate") => recreate(c, &ctx, new_rs.as_deref(), &olds),
            _ => rolling(c, &ctx, new_rs.as_deref(), &olds),
        }
        cleanup_history(c, &d, new_name.as_deref());
    }

    let rss = owned_replicasets(c, &d);
    let new_rs = new_name
        .as_ref()
        .and_then(|n| rss.iter().find(|rs| object::name(rs) == n).cloned());
    write_status(
        c,
        key,
        &ctx,
        &rss,
        new_rs.as_deref(),
        created.as_deref(),
        paused,
        &ns,
    );
}

fn owned_replicasets(c: &Cluster, d: &Value) -> Vec<Arc<Value>> {
    let rt = c.rt("apps", "replicasets");
    let uid = object::uid(d);
    let key = rt.key();
    let mut out: Vec<Arc<Value>> = c
        .store
        .controlled(&key, object::namespace(d), uid)
        .filter(|rs| !object::is_deleting(rs))
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        let ta = object::str_at(a, &["metadata", "creationTimestamp"]).unwrap_or("");
        let tb = object::str_at(b, &["metadata", "creationTimestamp"]).unwrap_or("");
        ta.cmp(tb).then(object::name(a).cmp(object::name(b)))
    });
    out
}

fn create_new_rs(
    c: &mut Cluster,
    ctx: &Ctx,
    rss: &[Arc<Value>],
    template: &Value,
    max_rev: i64,
) -> Option<String> {
    let d = ctx.d;
    let collision = i64_of(d, &["status", "collisionCount"]);
    let hash = template_hash(template, collision);
    let name = format!("{}-{hash}", object::name(d));
    let mut tpl = template.clone();
    object::obj_mut(&mut tpl, &["metadata", "labels"])
        .insert("pod-template-hash".into(), json!(hash));
    let mut selector = object::at(d, &["spec", "selector"])
        .cloned()
        .unwrap_or_else(|| json!({}));
    object::obj_mut(&mut selector, &["matchLabels"])
        .insert("pod-template-hash".into(), json!(hash));
    let labels = object::at(&tpl, &["metadata", "labels"])
        .cloned()
        .unwrap_or_else(|| json!({}));

    // Initial size: what the strategy allows right now.
    let new_replicas = match object::str_at(d, &["spec", "strategy", "type"]) {
        Some("Recreate") => {
            let old_pods = rss.iter().any(|rs| {
                i64_of(rs, &["spec", "replicas"]) > 0
                    || !owned_pods(c, object::namespace(d), object::uid(rs)).is_empty()
            });
            if old_pods { 0 } else { ctx.replicas }
        }
        _ => {
            let current: i64 = rss.iter().map(|rs| i64_of(rs, &["spec", "replicas"])).sum();
            let max_total = ctx.replicas + ctx.surge;
            if current >= max_total {
                0
            } else {
                (max_total - current).min(ctx.replicas)
            }
        }
    };
    let body = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": object::namespace(d),
            "labels": labels,
            "annotations": {
                REVISION: (max_rev + 1).to_string(),
                "deployment.kubernetes.io/desired-replicas": ctx.replicas.to_string(),
                "deployment.kubernetes.io/max-replicas": (ctx.replicas + ctx.surge).to_string(),
            },
            "ownerReferences": [object::controller_owner_ref(d)],
        },
        "spec": {
            "replicas": new_replicas,
            "minReadySeconds": i64_of(d, &["spec", "minReadySeconds"]),
            "selector": selector,
            "template": tpl,
        },
    });
    let rt = c.rt("apps", "replicasets");
    let ns = object::namespace(d).to_string();
    match c.create(
        &rt,
        &ns,
        body,
        &crate::apiserver::WriteOpts::system(MANAGER),
    ) {
        Ok(_) => {
            if new_replicas > 0 {
                c.record_event(
                    d,
                    "Normal",
                    "ScalingReplicaSet",
                    &format!("Scaled up replica set {name} from 0 to {new_replicas}"),
                    COMPONENT,
                );
            }
            Some(name)
        }
        Err(e) if e.reason == "AlreadyExists" => adopt_or_collide(c, d, &name, template),
        Err(_) => None,
    }
}

/// A ReplicaSet of that name exists but is not ours: adopt it if it is an orphan with our
/// template (as the controller's ControllerRef manager does), otherwise record a hash
/// collision so the next sync picks another name (`status.collisionCount`).
fn adopt_or_collide(c: &mut Cluster, d: &Value, name: &str, template: &Value) -> Option<String> {
    let rt = c.rt("apps", "replicasets");
    let existing = c.get_stored(&rt, object::namespace(d), name)?;
    let orphan = object::controller_ref(&existing).is_none();
    if orphan && same_template(object::at(&existing, &["spec", "template"]), Some(template)) {
        let mut adopted = (*existing).clone();
        let mut refs = object::at(&adopted, &["metadata", "ownerReferences"])
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        refs.push(object::controller_owner_ref(d));
        object::set(&mut adopted, &["metadata", "ownerReferences"], json!(refs));
        return c
            .write_object(&rt, adopted, MANAGER)
            .ok()
            .map(|_| name.to_string());
    }
    let mut status = d.get("status").cloned().unwrap_or_else(|| json!({}));
    let count = i64_of(d, &["status", "collisionCount"]) + 1;
    object::set(&mut status, &["collisionCount"], json!(count));
    let drt = c.rt("apps", "deployments");
    c.write_status(&drt, d, status, MANAGER);
    None
}

/// Sets a ReplicaSet's size, with the event kubectl shows.
fn scale(c: &mut Cluster, ctx: &Ctx, rs: &Value, to: i64) {
    let from = i64_of(rs, &["spec", "replicas"]);
    let desired = ctx.replicas.to_string();
    let max = (ctx.replicas + ctx.surge).to_string();
    if from == to
        && object::annotation(rs, "deployment.kubernetes.io/desired-replicas") == Some(&desired)
        && object::annotation(rs, "deployment.kubernetes.io/max-replicas") == Some(&max)
    {
        return; // the write would change nothing
    }
    let mut rs = rs.clone();
    let annotations = object::obj_mut(&mut rs, &["metadata", "annotations"]);
    annotations.insert(
        "deployment.kubernetes.io/desired-replicas".into(),
        json!(desired),
    );
    annotations.insert("deployment.kubernetes.io/max-replicas".into(), json!(max));
    object::set(&mut rs, &["spec", "replicas"], json!(to));
    let rt = c.rt("apps", "replicasets");
    let name = object::name(&rs).to_string();
    if c.write_object(&rt, rs, MANAGER).is_ok() && from != to {
        let dir = if to > from { "up" } else { "down" };
        c.record_event(
            ctx.d,
            "Normal",
            "ScalingReplicaSet",
            &format!("Scaled {dir} replica set {name} from {from} to {to}"),
            COMPONENT,
        );
    }
}

fn rolling(c: &mut Cluster, ctx: &Ctx, new_rs: Option<&Value>, olds: &[Arc<Value>]) {
    let Some(new_rs) = new_rs else { return };
    let spec = |rs: &Value| i64_of(rs, &["spec", "replicas"]);
    let new_spec = spec(new_rs);
    // reconcileNewReplicaSet
    if new_spec > ctx.replicas {
        scale(c, ctx, new_rs, ctx.replicas);
        return;
    }
    if new_spec < ctx.replicas {
        let current: i64 = olds.iter().map(|rs| spec(rs)).sum::<i64>() + new_spec;
        let max_total = ctx.replicas + ctx.surge;
        if current < max_total {
            let up = (max_total - current).min(ctx.replicas - new_spec);
            if up > 0 {
                scale(c, ctx, new_rs, new_spec + up);
                return;
            }
        }
    }
    // reconcileOldReplicaSets
    let old_total: i64 = olds.iter().map(|rs| spec(rs)).sum();
    if old_total == 0 {
        return;
    }
    let all_total = old_total + new_spec;
    let min_available = ctx.replicas - ctx.unavailable;
    let new_unavailable = new_spec - i64_of(new_rs, &["status", "availableReplicas"]);
    let mut max_scaled_down = all_total - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return;
    }
    // First the unhealthy replicas of old ReplicaSets, oldest first.
    let mut olds: Vec<Value> = olds.iter().map(|rs| (**rs).clone()).collect();
    let mut cleaned = 0;
    for rs in olds.iter_mut() {
        if max_scaled_down <= 0 {
            break;
        }
        let s = spec(rs);
        let unhealthy = s - i64_of(rs, &["status", "availableReplicas"]);
        if s == 0 || unhealthy <= 0 {
            continue;
        }
        let down = unhealthy.min(max_scaled_down);
        scale(c, ctx, rs, s - down);
        object::set(rs, &["spec", "replicas"], json!(s - down));
        max_scaled_down -= down;
        cleaned += down;
    }
    // Then healthy ones, as long as enough stay available.
    let available: i64 = olds
        .iter()
        .chain(std::iter::once(new_rs))
        .map(|rs| i64_of(rs, &["status", "availableReplicas"]))
        .sum();
    let _ = cleaned;
    if available <= min_available {
        return;
    }
    let mut budget = available - min_available;
    for rs in &olds {
        if budget <= 0 {
            break;
        }
        let s = spec(rs);
        if s == 0 {
            continue;
        }
        let down = s.min(budget);
        scale(c, ctx, rs, s - down);
        budget -= down;
    }
}

fn recreate(c: &mut Cluster, ctx: &Ctx, new_rs: Option<&Value>, olds: &[Arc<Value>]) {
    let mut any_scaled = false;
    for rs in olds {
        if i64_of(rs, &["spec", "replicas"]) > 0 {
            scale(c, ctx, rs, 0);
            any_scaled = true;
        }
    }
    if any_scaled {
        return;
    }
    let ns = object::namespace(ctx.d).to_string();
    if olds
        .iter()
        .any(|rs| !owned_pods(c, &ns, object::uid(rs)).is_empty())
    {
        return;
    }
    if let Some(new_rs) = new_rs
        && i64_of(new_rs, &["spec", "replicas"]) != ctx.replicas
    {
        scale(c, ctx, new_rs, ctx.replicas);
    }
}

/// Deletes scaled-down old ReplicaSets beyond `revisionHistoryLimit`.
fn cleanup_history(c: &mut Cluster, d: &Value, new_name: Option<&str>) {
    let limit = object::i64_at(d, &["spec", "revisionHistoryLimit"])
        .unwrap_or(10)
        .max(0) as usize;
    let mut idle: Vec<Arc<Value>> = owned_replicasets(c, d)
        .into_iter()
        .filter(|rs| {
            Some(object::name(rs)) != new_name
                && i64_of(rs, &["spec", "replicas"]) == 0
                && i64_of(rs, &["status", "replicas"]) == 0
        })
        .collect();
    if idle.len() <= limit {
        return;
    }
    idle.sort_by_key(|rs| revision(rs));
    let rt = c.rt("apps", "replicasets");
    let n = idle.len() - limit;
    for rs in idle.iter().take(n) {
        let opts = DeleteOpts {
            propagation: Some(Propagation::Background),
            ..Default::default()
        };
        let _ = c.delete(&rt, object::namespace(rs), object::name(rs), &opts);
    }
}

/// Replaces or adds a condition the way `SetDeploymentCondition` does: unchanged if status and
/// reason are the same; lastTransitionTime kept while the status stays.
fn set_condition(
    conds: &mut Vec<Value>,
    t: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    let existing = conds
        .iter()
        .find(|c| object::str_at(c, &["type"]) == Some(t))
        .cloned();
    if let Some(e) = &existing
        && object::str_at(e, &["status"]) == Some(status)
        && object::str_at(e, &["reason"]) == Some(reason)
    {
        return;
    }
    let ltt = match &existing {
        Some(e) if object::str_at(e, &["status"]) == Some(status) => {
            object::str_at(e, &["lastTransitionTime"])
                .unwrap_or(now)
                .to_string()
        }
        _ => now.to_string(),
    };
    conds.retain(|c| object::str_at(c, &["type"]) != Some(t));
    conds.push(json!({
        "type": t,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": ltt,
        "reason": reason,
        "message": message,
    }));
}

#[allow(clippy::too_many_arguments)]
fn write_status(
    c: &mut Cluster,
    key: &ObjKey,
    ctx: &Ctx,
    rss: &[Arc<Value>],
    new_rs: Option<&Value>,
    created: Option<&str>,
    paused: bool,
    _ns: &str,
) {
    let d = ctx.d;
    let now = c.now();
    let now_s = now.rfc3339();
    let sum = |path: &[&str]| -> i64 { rss.iter().map(|rs| i64_of(rs, path)).sum() };
    let replicas = sum(&["status", "replicas"]);
    let updated = new_rs
        .map(|rs| i64_of(rs, &["status", "replicas"]))
        .unwrap_or(0);
    let ready = sum(&["status", "readyReplicas"]);
    let available = sum(&["status", "availableReplicas"]);
    let unavailable = (sum(&["spec", "replicas"]) - available).max(0);
    let generation = object::generation(d);

    let prev = d.get("status").cloned().unwrap_or_else(|| json!({}));
    let mut conds: Vec<Value> = prev
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if available >= ctx.replicas - ctx.unavailable {
        set_condition(
            &mut conds,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            &now_s,
        );
    } else {
        set_condition(
            &mut conds,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            &now_s,
        );
    }
    let rs_name = new_rs
        .map(|rs| object::name(rs).to_string())
        .unwrap_or_default();
    if paused {
        set_condition(
            &mut conds,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
            &now_s,
        );
    } else {
        if let Some(n) = created {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                &format!("Created new replica set {n:?}"),
                &now_s,
            );
        } else if !rs_name.is_empty()
            && !conds
                .iter()
                .any(|c| object::str_at(c, &["type"]) == Some("Progressing"))
        {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                &format!("Found new replica set {rs_name:?}"),
                &now_s,
            );
        }
        let prev_i = |k: &str| prev.get(k).and_then(Value::as_i64).unwrap_or(0);
        let complete =
            updated == ctx.replicas && replicas == ctx.replicas && available == ctx.replicas;
        let progressing = updated > prev_i("updatedReplicas")
            || (replicas - updated) < (prev_i("replicas") - prev_i("updatedReplicas"))
            || ready > prev_i("readyReplicas")
            || available > prev_i("availableReplicas");
        let progress_cond = conds
            .iter()
            .find(|c| object::str_at(c, &["type"]) == Some("Progressing"))
            .cloned();
        let deadline = object::i64_at(d, &["spec", "progressDeadlineSeconds"]);
        if complete {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet {rs_name:?} has successfully progressed."),
                &now_s,
            );
        } else if progressing {
            let ltt = progress_cond
                .as_ref()
                .filter(|c| object::str_at(c, &["status"]) == Some("True"))
                .and_then(|c| object::str_at(c, &["lastTransitionTime"]))
                .unwrap_or(&now_s)
                .to_string();
            conds.retain(|c| object::str_at(c, &["type"]) != Some("Progressing"));
            conds.push(json!({
                "type": "Progressing", "status": "True", "lastUpdateTime": now_s, "lastTransitionTime": ltt,
                "reason": "ReplicaSetUpdated", "message": format!("ReplicaSet {rs_name:?} is progressing."),
            }));
        } else if let (Some(pc), Some(secs)) = (&progress_cond, deadline) {
            let reason = object::str_at(pc, &["reason"]).unwrap_or("");
            if reason != "NewReplicaSetAvailable" && reason != "ProgressDeadlineExceeded" {
                let from = object::str_at(pc, &["lastUpdateTime"])
                    .and_then(SimTime::parse)
                    .unwrap_or(now);
                let at = from.plus(Duration::from_secs(secs.max(0) as u64));
                if now > at {
                    set_condition(
                        &mut conds,
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        &format!("ReplicaSet {rs_name:?} has timed out progressing."),
                        &now_s,
                    );
                } else {
                    c.work
                        .add_at(at.plus(Duration::from_millis(1)), WorkKey::Obj(key.clone()));
                }
            }
        }
    }
    // syncRolloutStatus: the new ReplicaSet's ReplicaFailure, else an old
    // one's, becomes the Deployment's (getReplicaFailures).
    let failure = new_rs
        .into_iter()
        .chain(rss.iter().map(|rs| &**rs))
        .filter_map(|rs| object::at(rs, &["status", "conditions"])?.as_array())
        .flatten()
        .find(|c| object::str_at(c, &["type"]) == Some("ReplicaFailure"));
    match failure {
        Some(f) => {
            let field = |k: &str| object::str_at(f, &[k]).unwrap_or_default();
            let existing = conds
                .iter()
                .find(|c| object::str_at(c, &["type"]) == Some("ReplicaFailure"));
            // SetDeploymentCondition leaves one of the same status and reason.
            if !existing.is_some_and(|e| {
                object::str_at(e, &["status"]) == Some(field("status"))
                    && object::str_at(e, &["reason"]) == Some(field("reason"))
            }) {
                let body = json!({
                    "type": "ReplicaFailure",
                    "status": field("status"),
                    "lastUpdateTime": field("lastTransitionTime"),
                    "lastTransitionTime": field("lastTransitionTime"),
                    "reason": field("reason"),
                    "message": field("message"),
                });
                conds.retain(|c| object::str_at(c, &["type"]) != Some("ReplicaFailure"));
                conds.push(body);
            }
        }
        None => conds.retain(|c| object::str_at(c, &["type"]) != Some("ReplicaFailure")),
    }
    // A just-updated lastUpdateTime restarts the deadline clock.
    if !paused
        && let (Some(pc), Some(secs)) = (
            conds
                .iter()
                .find(|c| object::str_at(c, &["type"]) == Some("Progressing")),
            object::i64_at(d, &["spec", "progressDeadlineSeconds"]),
        )
        && matches!(
            object::str_at(pc, &["reason"]),
            Some("ReplicaSetUpdated" | "NewReplicaSetCreated" | "FoundNewReplicaSet")
        )
    {
        let from = object::str_at(pc, &["lastUpdateTime"])
            .and_then(SimTime::parse)
            .unwrap_or(now);
        c.work.add_at(
            from.plus(Duration::from_secs(secs.max(0) as u64))
                .plus(Duration::from_millis(1001)),
            WorkKey::Obj(key.clone()),
        );
    }

    let mut status = serde_json::Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    for (k, v) in [
        ("replicas", replicas),
        ("updatedReplicas", updated),
        ("readyReplicas", ready),
        ("availableReplicas", available),
        ("unavailableReplicas", unavailable),
    ] {
        if v != 0 {
            status.insert(k.into(), json!(v));
        }
    }
    status.insert("conditions".into(), Value::Array(conds));
    // Read from the stored object: a collision may have been recorded during this sync.
    let current = c.get_stored(
        &c.rt("apps", "deployments"),
        object::namespace(d),
        object::name(d),
    );
    if let Some(cc) = current
        .as_deref()
        .and_then(|cur| object::at(cur, &["status", "collisionCount"]))
    {
        status.insert("collisionCount".into(), cc.clone());
    }
    let mut body = Cow::Borrowed(d);
    if let Some(rs) = new_rs {
        let rev = revision(rs).to_string();
        if object::annotation(d, REVISION) != Some(rev.as_str()) {
            object::obj_mut(body.to_mut(), &["metadata", "annotations"])
                .insert(REVISION.into(), json!(rev));
        }
    }
    let rt = c.rt("apps", "deployments");
    c.write_status(&rt, &body, Value::Object(status), MANAGER);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `same_template` answered when it normalised copies.
    fn by_copies(a: Option<&Value>, b: Option<&Value>) -> bool {
        let norm = |v: Option<&Value>| {
            let mut v = v.cloned().unwrap_or(Value::Null);
            object::remove(&mut v, &["metadata", "labels", "pod-template-hash"]);
            if object::at(&v, &["metadata", "labels"])
                .and_then(Value::as_object)
                .is_some_and(|m| m.is_empty())
            {
                object::remove(&mut v, &["metadata", "labels"]);
            }
            v
        };
        norm(a) == norm(b)
    }

    #[test]
    fn templates_compare_as_their_copies_did() {
        let spec = json!({"containers": [{"name": "app", "image": "a:1"}]});
        let cases = [
            json!(null),
            json!({"spec": spec}),
            json!({"metadata": {}, "spec": spec}),
            json!({"metadata": {"labels": {}}, "spec": spec}),
            json!({"metadata": {"labels": {"pod-template-hash": "x"}}, "spec": spec}),
            json!({"metadata": {"labels": {"pod-template-hash": "y"}}, "spec": spec}),
            json!({"metadata": {"labels": {"app": "a", "pod-template-hash": "x"}}, "spec": spec}),
            json!({"metadata": {"labels": {"app": "a"}}, "spec": spec}),
            json!({"metadata": {"labels": {"app": "b"}}, "spec": spec}),
            json!({"metadata": {"labels": {"app": "a"}, "annotations": {"r": "1"}}, "spec": spec}),
            json!({"metadata": {"labels": "odd"}, "spec": spec}),
            json!({"metadata": "odd", "spec": spec}),
            json!({"metadata": {"labels": {"app": "a"}}, "spec": {"containers": []}}),
            json!({"metadata": {"labels": {"app": "a"}}}),
            json!("odd"),
        ];
        for a in &cases {
            for b in &cases {
                for (x, y) in [(Some(a), Some(b)), (None, Some(b)), (Some(a), None)] {
                    assert_eq!(same_template(x, y), by_copies(x, y), "{x:?} vs {y:?}");
                }
            }
        }
        assert!(same_template(Some(&cases[3]), Some(&cases[4])));
        assert!(same_template(Some(&cases[6]), Some(&cases[7])));
        assert!(!same_template(Some(&cases[7]), Some(&cases[8])));
    }
}
