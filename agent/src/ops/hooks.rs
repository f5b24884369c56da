//! Chart hooks, run as Helm runs them (action/hooks.go execHook): the hooks
//! of one event in weight order (then name), each created as it is (not
//! applied, not part of the release), waited for until its Jobs complete and
//! its Pods succeed, and deleted by its `helm.sh/hook-delete-policy`
//! (default `before-hook-creation`): before being created again, once all
//! hooks of the event succeeded (`hook-succeeded`), or when it fails
//! (`hook-failed`). A failing hook fails the operation.

use berth::manifest::{self, Hook, Object};
use berth::proto::{self, ApplyAction, event::Kind};
use serde_json::Value;
use tokio::time::Instant;

use super::{Agent, Failure, phase};
use crate::cluster::ClusterError;
use crate::events::OpEvents;
use crate::journal::{RevisionRecord, TestRun};
use crate::track::{self, HookEnd};

const BEFORE_HOOK_CREATION: &str = "before-hook-creation";
pub const HOOK_SUCCEEDED: &str = "hook-succeeded";
pub const HOOK_FAILED: &str = "hook-failed";

/// The hooks of a revision and where they run.
pub struct Hooks<'a> {
    pub op: &'a OpEvents,
    pub namespace: &'a str,
    pub hooks: &'a [Hook],
    pub deadline: Instant,
}

impl Hooks<'_> {
    /// Run the hooks of `event` (e.g. "pre-install"). The error reads as
    /// Helm's: "failed pre-install: …", "pre-upgrade hooks failed: …"
    /// (see [`failed`]).
    pub async fn run(&self, agent: &Agent, event: &str) -> Result<(), Failure> {
        self.run_recorded(agent, event, &mut Vec::new()).await
    }

    /// [`Hooks::run`], recording each hook's run in `runs` as Helm's
    /// execHook sets its LastRun (those after a failed one do not run).
    pub async fn run_recorded(
        &self,
        agent: &Agent,
        event: &str,
        runs: &mut Vec<TestRun>,
    ) -> Result<(), Failure> {
        let mut executing: Vec<&Hook> = self.hooks.iter().filter(|h| h.runs_on(event)).collect();
        if executing.is_empty() {
            return Ok(());
        }
        // Stable: hooks arrive sorted by kind; weight, then name, decide.
        executing.sort_by(|a, b| a.weight.cmp(&b.weight).then_with(|| a.name.cmp(&b.name)));
        phase(self.op, &format!("{event} hooks"), self.deadline);
        for (i, hook) in executing.iter().enumerate() {
            let started_ms = crate::journal::now_ms();
            let ran = self.run_one(agent, hook).await;
            runs.push(TestRun {
                name: hook.name.clone(),
                started_ms,
                completed_ms: crate::journal::now_ms(),
                phase: if ran.is_ok() { "Succeeded" } else { "Failed" }.into(),
            });
            if let Err(mut failure) = ran {
                if has_policy(hook, HOOK_FAILED) {
                    self.delete(agent, hook).await;
                }
                for done in &executing[..i] {
                    if has_policy(done, HOOK_SUCCEEDED) {
                        self.delete(agent, done).await;
                    }
                }
                failure.message = format!("{}: {}", failed(event), failure.message);
                return Err(failure);
            }
        }
        for hook in executing.iter().rev() {
            if has_policy(hook, HOOK_SUCCEEDED) {
                self.delete(agent, hook).await;
            }
        }
        Ok(())
    }

    async fn run_one(&self, agent: &Agent, hook: &Hook) -> Result<(), Failure> {
        let objects = objects(hook)?;
        if has_policy(hook, BEFORE_HOOK_CREATION) {
            for o in &objects {
                agent
                    .cluster
                    .delete_and_wait(&o.object, self.namespace)
                    .await
                    .map_err(|e| failure(o, "HookFailed", e.to_string()))?;
            }
        }
        let mut created = Vec::new();
        for o in &objects {
            let hook_failed = |e: &dyn std::fmt::Display| {
                failure(o, "HookFailed", format!("hook {} failed: {e}", hook.path))
            };
            let ns = match agent.cluster.create(o, self.namespace).await {
                Ok(ns) => ns,
                // Of a kind whose CRD this operation applied a moment ago
                // (among the templates, or an earlier hook): once the CRD
                // is Established, again.
                Err(e @ ClusterError::UnknownKind { .. }) => {
                    let Some(crd) = agent.cluster.crd_defining(&o.object).await.ok().flatten()
                    else {
                        return Err(hook_failed(&e));
                    };
                    tokio::time::timeout_at(self.deadline, agent.cluster.crd_established(&crd))
                        .await
                        .map_err(|_| {
                            hook_failed(&format!("{e} (CRD {crd} not Established in time)"))
                        })?
                        .map_err(|e| hook_failed(&e))?;
                    agent
                        .cluster
                        .create(o, self.namespace)
                        .await
                        .map_err(|e| hook_failed(&e))?
                }
                Err(e) => return Err(hook_failed(&e)),
            };
            let mut object = o.object.clone();
            object.namespace = ns.clone();
            self.op.emit(Kind::ResourceApplied(proto::ResourceApplied {
                object: Some(object.clone()),
                action: ApplyAction::Created as i32,
            }));
            created.push((o, object, ns));
        }
        // Pods older than this are earlier runs' (a second of slack for
        // clock granularity).
        let policy = track::Policy {
            grace: agent.settings.failure_grace.clone(),
            since: track::pods_since_now(),
            ..Default::default()
        };
        for (o, object, ns) in created {
            let waited = track::hook_done(
                agent.cluster.client(),
                self.op,
                &object,
                &ns,
                self.deadline,
                &policy,
            )
            .await;
            let end = match waited {
                Ok(end) => end,
                Err(stuck) => {
                    self.op.emit(Kind::ResourceFailed(stuck.event));
                    return Err(failure(o, &stuck.reason, stuck.text));
                }
            };
            let wants_logs = |when: &str| hook.output_log_policies.iter().any(|p| p == when);
            match end {
                HookEnd::Succeeded(message) => {
                    let log_lines = if wants_logs(HOOK_SUCCEEDED) {
                        hook_logs(agent, &object, &ns).await
                    } else {
                        Vec::new()
                    };
                    self.op.emit(Kind::ResourceReady(proto::ResourceReady {
                        object: Some(object),
                        message,
                        log_lines,
                    }));
                }
                HookEnd::Failed(reason, message) => {
                    let log_tail = if wants_logs(HOOK_FAILED) {
                        hook_logs(agent, &object, &ns).await
                    } else {
                        Vec::new()
                    };
                    self.op.emit(Kind::ResourceFailed(proto::ResourceFailed {
                        object: Some(object.clone()),
                        reason: reason.clone(),
                        message: message.clone(),
                        log_tail,
                        ..Default::default()
                    }));
                    let text = format!("{} failed: {reason}: {message}", object.display());
                    return Err(failure(o, &reason, text));
                }
            }
        }
        Ok(())
    }

    /// Delete a hook's objects; a failure here is logged, not fatal (Helm
    /// logs it too when the hook itself failed).
    async fn delete(&self, agent: &Agent, hook: &Hook) {
        let Ok(objects) = objects(hook) else { return };
        for o in objects {
            match agent
                .cluster
                .delete_and_wait(&o.object, self.namespace)
                .await
            {
                Ok(true) => {
                    let mut object = o.object.clone();
                    if let Ok(ns) = agent.cluster.namespace_of(&o.object, self.namespace).await {
                        object.namespace = ns;
                    }
                    self.op.emit(Kind::ResourceApplied(proto::ResourceApplied {
                        object: Some(object),
                        action: ApplyAction::Deleted as i32,
                    }));
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, hook = %hook.path, "could not delete a hook resource")
                }
            }
        }
    }
}

/// The output of a hook's containers (`helm.sh/hook-output-log-policy`):
/// a Pod's own, or those of a Job's pods; each line prefixed with its pod.
async fn hook_logs(agent: &Agent, object: &proto::ObjectRef, ns: &str) -> Vec<String> {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, LogParams};
    let pods: Api<Pod> = Api::namespaced(agent.cluster.client(), ns);
    let names = match object.kind.as_str() {
        "Pod" => vec![object.name.clone()],
        "Job" => pods
            .list(&ListParams::default().labels(&format!("job-name={}", object.name)))
            .await
            .map(|l| {
                l.items
                    .into_iter()
                    .filter_map(|p| p.metadata.name)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut lines = Vec::new();
    for name in names {
        if let Ok(text) = pods.logs(&name, &LogParams::default()).await {
            lines.extend(text.lines().map(|l| format!("{name}: {l}")));
        }
    }
    lines
}

/// What a failed hook's error starts with, as Helm words it for each
/// event: its install says "failed pre-install", its upgrade "pre-upgrade
/// hooks failed" (pkg/action/install.go, upgrade.go); its rollback and
/// uninstall add nothing to execHook's error, whose own words name the
/// event, so berth's "failed pre-rollback" names it for them.
fn failed(event: &str) -> String {
    match event {
        "pre-upgrade" | "post-upgrade" => format!("{event} hooks failed"),
        _ => format!("failed {event}"),
    }
}

fn has_policy(hook: &Hook, policy: &str) -> bool {
    if hook.delete_policies.is_empty() {
        return policy == BEFORE_HOOK_CREATION;
    }
    hook.delete_policies.iter().any(|p| p == policy)
}

fn failure(o: &Object, reason: &str, message: String) -> Failure {
    Failure {
        reason: reason.to_string(),
        message,
        culprit: Some(Box::new(o.object.clone())),
    }
}

pub(super) fn objects(hook: &Hook) -> Result<Vec<Object>, Failure> {
    let text = format!("---\n# Source: {}\n{}\n", hook.path, hook.manifest);
    manifest::parse_objects(&text).map_err(|e| Failure::new("HookInvalid", e.to_string()))
}

/// The hooks as a revision stores them (a JSON list).
pub fn to_json(hooks: &[Hook]) -> String {
    let list: Vec<Value> = hooks
        .iter()
        .map(|h| {
            serde_json::json!({
                "name": h.name, "kind": h.kind, "path": h.path, "manifest": h.manifest,
                "events": h.events, "weight": h.weight, "delete_policies": h.delete_policies,
                "output_log_policies": h.output_log_policies,
            })
        })
        .collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// Hooks as Helm prints them (`helm get hooks`, HOOKS: after a dry run):
/// each one's `---`, `# Source:` line and manifest.
pub fn manifest_text(hooks: &[Hook]) -> String {
    hooks
        .iter()
        .map(|h| format!("---\n# Source: {}\n{}\n", h.path, h.manifest))
        .collect()
}

/// How many of `hooks` are test hooks.
pub fn test_hooks(hooks: &[Hook]) -> u32 {
    hooks.iter().filter(|h| h.runs_on("test")).count() as u32
}

/// How many test hooks a stored revision has (0 if its hooks cannot be
/// read: a status line is no reason to fail).
pub fn stored_test_hooks(journal: &crate::journal::Journal, rec: &RevisionRecord) -> u32 {
    journal
        .text_blob(&rec.hooks_blob)
        .map_or(0, |t| test_hooks(&from_json(&t)))
}

/// The hooks of a stored revision.
pub fn from_json(text: &str) -> Vec<Hook> {
    let list: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    list.iter()
        .map(|h| Hook {
            name: h["name"].as_str().unwrap_or_default().to_string(),
            kind: h["kind"].as_str().unwrap_or_default().to_string(),
            path: h["path"].as_str().unwrap_or_default().to_string(),
            manifest: h["manifest"].as_str().unwrap_or_default().to_string(),
            events: strings(&h["events"]),
            weight: h["weight"].as_i64().unwrap_or(0) as i32,
            delete_policies: strings(&h["delete_policies"]),
            output_log_policies: strings(&h["output_log_policies"]),
        })
        .collect()
}
