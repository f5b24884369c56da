//! `berth test NAME`: run the deployed revision's `test` hooks (Helm's
//! action/release_testing.go). No revision is recorded; the release keeps
//! its status. The release is held for the duration like any operation.

use std::sync::Arc;

use berth::proto::{self, TestRequest, event::Kind};
use berth::types::{Namespace, ReleaseName};
use tokio::time::Instant;

use super::hooks::{self, HOOK_FAILED, HOOK_SUCCEEDED, Hooks};
use super::{Agent, Caller, OpError};
use crate::events::OpEvents;
use crate::journal::{OpKind, RevisionRecord};
use berth::manifest::Hook;

pub struct Prepared {
    pub op: Arc<OpEvents>,
    namespace: Namespace,
    deployed: RevisionRecord,
    include_names: Vec<String>,
    exclude_names: Vec<String>,
    logs: bool,
    /// The operation's timeout, checked (see [`super::timeout`]).
    timeout: std::time::Duration,
}

pub fn prepare(agent: &Agent, req: TestRequest, caller: Caller) -> Result<Prepared, OpError> {
    let options = req.options.as_ref();
    let timeout = super::timeout(agent, options.map_or(0, |o| o.timeout_seconds))?;
    let name = ReleaseName::parse(&req.release)?;
    let namespace = Namespace::parse(&req.namespace)?;
    let (ns, rel) = (namespace.as_str(), name.as_str());
    let deployed = agent
        .journal
        .head(ns, rel)?
        .and_then(|h| h.deployed)
        .map(|d| agent.journal.revision(ns, rel, d))
        .transpose()?
        .flatten()
        .ok_or_else(|| {
            OpError::NotFound(format!(
                "release: not found: {rel:?} has no deployed revision"
            ))
        })?;
    let op = agent
        .registry
        .start(&agent.journal, ns, rel, deployed.revision, OpKind::Test, 0)?;
    op.emit(Kind::Accepted(proto::Accepted {
        operation: proto::Operation::Test as i32,
        identity: caller.identity.clone(),
        chart_needed: false,
        previous_revision: deployed.revision,
    }));
    Ok(Prepared {
        op,
        namespace,
        deployed,
        include_names: req.include_names,
        exclude_names: req.exclude_names,
        logs: req.logs,
        timeout,
    })
}

pub async fn run(agent: Arc<Agent>, p: Prepared) {
    let op = Arc::clone(&p.op);
    super::supervise(&agent, &op, execute(&agent, p)).await;
}

async fn execute(agent: &Agent, p: Prepared) {
    let op = &p.op;
    let timeout = p.timeout;
    let stored = agent
        .journal
        .text_blob(&p.deployed.hooks_blob)
        .map(|t| hooks::from_json(&t))
        .unwrap_or_default();
    // The revision's test hooks, in its order: how their last runs are kept.
    let order: Vec<String> = stored
        .iter()
        .filter(|h| h.runs_on("test"))
        .map(|h| h.name.clone())
        .collect();
    let all = chosen(stored, &p.include_names, &p.exclude_names, p.logs);
    let tests = all.iter().filter(|h| h.runs_on("test")).count();
    let hooks = Hooks {
        op,
        namespace: p.namespace.as_str(),
        hooks: &all,
        deadline: Instant::now() + timeout,
    };
    let status = p.deployed.status.to_proto() as i32;
    let mut runs = Vec::new();
    let ran = hooks.run_recorded(agent, "test", &mut runs).await;
    // Kept with the revision, as Helm updates the release with its hooks'
    // last runs, passed or failed; `status` shows them.
    let (ns, rel) = (p.namespace.as_str(), op.release.as_str());
    if let Err(e) = agent
        .journal
        .record_test_runs(ns, rel, p.deployed.revision, runs, &order)
        .await
    {
        tracing::error!(error = %e, release = rel, "could not record the test runs");
    }
    match ran {
        Ok(()) => op.emit(Kind::Completed(proto::Completed {
            status,
            description: format!("TEST SUITE: {tests} test(s) passed"),
            notes: String::new(),
            test_hooks: order.len() as u32,
            ..Default::default()
        })),
        Err(f) => op.emit(Kind::Failed(proto::Failed {
            reason: f.reason,
            message: f.message,
            culprit: f.culprit.map(|c| *c),
            status,
        })),
    };
}

/// The hooks `helm test --filter` runs (action/release_testing.go: those
/// not excluded by name, then, if any name is included, only those), and
/// with `--logs` each keeps its output whatever its log policy says.
fn chosen(hooks: Vec<Hook>, include: &[String], exclude: &[String], logs: bool) -> Vec<Hook> {
    hooks
        .into_iter()
        .filter(|h| !exclude.contains(&h.name))
        .filter(|h| include.is_empty() || include.contains(&h.name))
        .map(|mut h| {
            if logs {
                h.output_log_policies = vec![HOOK_SUCCEEDED.into(), HOOK_FAILED.into()];
            }
            h
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str) -> Hook {
        Hook {
            name: name.into(),
            kind: "Pod".into(),
            path: format!("c/templates/{name}.yaml"),
            manifest: String::new(),
            events: vec!["test".into()],
            weight: 0,
            delete_policies: Vec::new(),
            output_log_policies: Vec::new(),
        }
    }

    #[test]
    fn filters_exclude_then_include_by_name() {
        let names = |hs: Vec<Hook>| hs.into_iter().map(|h| h.name).collect::<Vec<_>>();
        let all = || vec![hook("a"), hook("b"), hook("c")];
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(names(chosen(all(), &[], &[], false)), ["a", "b", "c"]);
        assert_eq!(
            names(chosen(all(), &s(&["a", "c"]), &[], false)),
            ["a", "c"]
        );
        assert_eq!(names(chosen(all(), &[], &s(&["b"]), false)), ["a", "c"]);
        assert_eq!(
            names(chosen(all(), &s(&["a", "b"]), &s(&["b"]), false)),
            ["a"]
        );
        let logged = chosen(all(), &[], &[], true);
        assert!(logged.iter().all(|h| h.output_log_policies.len() == 2));
    }
}
