//! The Job controller (SIM_SPEC §5.6): runs pods to completion, retries failures with
//! backoff up to `backoffLimit`, honours `activeDeadlineSeconds`, and reports the 1.31+
//! condition pairs (SuccessCriteriaMet + Complete, FailureTarget + Failed).

use std::time::Duration;

use serde_json::{Value, json};

use super::WorkKey;
use super::pod::{condition_true, is_ready, owned_pods};
use super::replicaset::pod_from_template;
use crate::apiserver::{Cluster, DeleteOpts, Propagation};
use crate::clock::SimTime;
use crate::object;
use crate::store::ObjKey;

const MANAGER: &str = "kube-controller-manager";
const COMPONENT: &str = "job-controller";

fn phase(p: &Value) -> &str {
    object::str_at(p, &["status", "phase"]).unwrap_or("")
}

fn cond(t: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now, "reason": reason, "message": message})
}

pub fn reconcile(c: &mut Cluster, key: &ObjKey) {
    let Some(job) = c.store.get(key).cloned() else {
        return;
    };
    let job = (*job).clone();
    if object::is_deleting(&job) {
        return;
    }
    let rt = c.rt("batch", "jobs");
    let finished = condition_true(&job, "Complete") || condition_true(&job, "Failed");
    let ns = object::namespace(&job).to_string();
    let now = c.now();
    let now_s = now.rfc3339();
    let pods = owned_pods(c, &ns, object::uid(&job));
    let active: Vec<&Value> = pods
        .iter()
        .map(|p| &**p)
        .filter(|p| !object::is_deleting(p) && !matches!(phase(p), "Succeeded" | "Failed"))
        .collect();
    let succeeded_now = pods.iter().filter(|p| phase(p) == "Succeeded").count() as i64;
    let failed_now = pods.iter().filter(|p| phase(p) == "Failed").count() as i64;
    let prev = job.get("status").cloned().unwrap_or_else(|| json!({}));
    let succeeded = succeeded_now.max(object::i64_at(&prev, &["succeeded"]).unwrap_or(0));
    let failed = failed_now.max(object::i64_at(&prev, &["failed"]).unwrap_or(0));
    let ready = active.iter().filter(|p| is_ready(p)).count() as i64;

    let mut status = prev.as_object().cloned().unwrap_or_default();
    let start = object::str_at(&prev, &["startTime"])
        .and_then(SimTime::parse)
        .unwrap_or(now);
    let suspended = object::bool_at(&job, &["spec", "suspend"]).unwrap_or(false);
    if !suspended && !status.contains_key("startTime") {
        status.insert("startTime".into(), json!(now_s));
    }
    let completions = object::i64_at(&job, &["spec", "completions"]);
    let parallelism = object::i64_at(&job, &["spec", "parallelism"]).unwrap_or(1);
    let backoff_limit = object::i64_at(&job, &["spec", "backoffLimit"]).unwrap_or(6);
    let deadline = object::i64_at(&job, &["spec", "activeDeadlineSeconds"]);
    let mut conds: Vec<Value> = prev
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();

    if !finished && !suspended {
        let failure = if failed > backoff_limit {
            Some((
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
            ))
        } else if let Some(secs) = deadline {
            let at = start.plus(Duration::from_secs(secs.max(0) as u64));
            if now >= at {
                Some((
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                ))
            } else {
                c.work.add_at(at, WorkKey::Obj(key.clone()));
                None
            }
        } else {
            None
        };
        let done = match completions {
            Some(n) => succeeded >= n,
            None => succeeded > 0 && active.is_empty(),
        };
        let pods_rt = c.rt("", "pods");
        if let Some((reason, message)) = failure {
            for p in &active {
                let opts = DeleteOpts {
                    propagation: Some(Propagation::Background),
                    ..Default::default()
                };
                let _ = c.delete(&pods_rt, &ns, object::name(p), &opts);
            }
            conds.push(cond("FailureTarget", reason, message, &now_s));
            conds.push(cond("Failed", reason, message, &now_s));
            c.record_event(&job, "Warning", reason, message, COMPONENT);
        } else if done {
            status.insert("completionTime".into(), json!(now_s));
            let msg = "Reached expected number of succeeded pods";
            conds.push(cond(
                "SuccessCriteriaMet",
                "CompletionsReached",
                msg,
                &now_s,
            ));
            conds.push(cond("Complete", "CompletionsReached", msg, &now_s));
            c.record_event(&job, "Normal", "Completed", "Job completed", COMPONENT);
        } else {
            let remaining = completions.map(|n| n - succeeded).unwrap_or(parallelism);
            let want = parallelism.min(remaining).max(0) as usize;
            // Retry backoff after failures: base × 2^(failures-1), capped at 6 minutes.
            let base = c.cfg.timings.job_backoff_base;
            let mut blocked = false;
            if failed > 0 && !base.is_zero() && active.len() < want {
                let last_failure = pods
                    .iter()
                    .filter(|p| phase(p) == "Failed")
                    .filter_map(|p| finished_at(p))
                    .max()
                    .unwrap_or(now);
                let wait = (base * 2u32.saturating_pow((failed - 1).clamp(0, 10) as u32))
                    .min(Duration::from_secs(360));
                let at = last_failure.plus(wait);
                if now < at {
                    c.work.add_at(at, WorkKey::Obj(key.clone()));
                    blocked = true;
                }
            }
            if !blocked {
                let template = object::at(&job, &["spec", "template"])
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                for _ in active.len()..want {
                    let name = c.generate_name(&format!("{}-", object::name(&job)));
                    let pod = pod_from_template(&job, &template, &name, &[]);
                    match c.create_as_controller(&pods_rt, &ns, pod, MANAGER) {
                        Ok(_) => c.record_event(
                            &job,
                            "Normal",
                            "SuccessfulCreate",
                            &format!("Created pod: {name}"),
                            COMPONENT,
                        ),
                        Err(e) => {
                            c.record_event(
                                &job,
                                "Warning",
                                "FailedCreate",
                                &format!("Error creating: {}", e.message),
                                COMPONENT,
                            );
                            // As the controller's work queue: tried again later.
                            c.work.retry(now, key);
                            break;
                        }
                    }
                }
            }
        }
    }

    let active_now = owned_pods(c, &ns, object::uid(&job))
        .iter()
        .filter(|p| !object::is_deleting(p) && !matches!(phase(p), "Succeeded" | "Failed"))
        .count() as i64;
    for (k, v) in [
        ("active", active_now),
        ("succeeded", succeeded),
        ("failed", failed),
    ] {
        if v > 0 {
            status.insert(k.into(), json!(v));
        } else {
            status.remove(k);
        }
    }
    status.insert("ready".into(), json!(ready));
    status.insert("terminating".into(), json!(0));
    status.insert("uncountedTerminatedPods".into(), json!({}));
    if !conds.is_empty() {
        status.insert("conditions".into(), Value::Array(conds));
    }
    c.write_status(&rt, &job, Value::Object(status), MANAGER);
}

fn finished_at(p: &Value) -> Option<SimTime> {
    object::at(p, &["status", "containerStatuses"])
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|cs| {
            object::str_at(cs, &["state", "terminated", "finishedAt"]).and_then(SimTime::parse)
        })
        .max()
}
