//! `berth test NAME`: run the deployed revision's `test` hooks (Helm's
//! action/release_testing.go). No revision is recorded; the release keeps
//! its status. The release is held for the duration like any operation.

use std::sync::Arc;

use berth::proto::{self, TestRequest, event::Kind};
use berth::types::{Namespace, ReleaseName};
use tokio::time::Instant;

use super::hooks::{self, Hooks};
use super::{Agent, Caller, OpError};
use crate::events::OpEvents;
use crate::journal::{OpKind, RevisionRecord};

pub struct Prepared {
    pub op: Arc<OpEvents>,
    namespace: Namespace,
    deployed: RevisionRecord,
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
    let all = agent
        .journal
        .text_blob(&p.deployed.hooks_blob)
        .map(|t| hooks::from_json(&t))
        .unwrap_or_default();
    let tests = all
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .count();
    let hooks = Hooks {
        op,
        namespace: p.namespace.as_str(),
        hooks: &all,
        deadline: Instant::now() + timeout,
    };
    let status = p.deployed.status.to_proto() as i32;
    match hooks.run(agent, "test").await {
        Ok(()) => op.emit(Kind::Completed(proto::Completed {
            status,
            description: format!("TEST SUITE: {tests} test(s) passed"),
            notes: String::new(),
        })),
        Err(f) => op.emit(Kind::Failed(proto::Failed {
            reason: f.reason,
            message: f.message,
            culprit: f.culprit.map(|c| *c),
            status,
        })),
    };
}
