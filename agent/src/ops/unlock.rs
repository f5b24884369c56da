//! `berth unlock`: the operator's way out of an operation that must not go
//! on. The running operation (if this agent runs it) is aborted through
//! its supervisor, which marks the revision it holds failed — "Upgrade
//! unlocked by IDENTITY: …" — releases the lock and ends its clients'
//! streams; a lock no running operation holds is released here the same
//! way. Either way the history records it and the next operation proceeds.

use berth::proto::{self, UnlockRequest, event::Kind};
use berth::types::{Namespace, ReleaseName};

use super::{Agent, Caller, OpError};
use crate::events::Abort;
use crate::journal::{Finish, OpKind, RevisionRecord, Status};

/// What was unlocked.
#[derive(Debug)]
pub struct Unlocked {
    /// The revision the operation held, now failed (None when it had not
    /// recorded one yet).
    pub revision: Option<RevisionRecord>,
    pub operation: OpKind,
    /// Who started the operation, when the journal knows.
    pub held_by: String,
}

pub async fn unlock(
    agent: &Agent,
    req: UnlockRequest,
    caller: &Caller,
) -> Result<Unlocked, OpError> {
    let name = ReleaseName::parse(&req.release)?;
    let namespace = Namespace::parse(&req.namespace)?;
    let (ns, rel) = (namespace.as_str(), name.as_str());
    // An operation that has told its outcome is over: let it leave rather
    // than abort it, which would cut its last flush short.
    agent.registry.finishing(ns, rel).await;
    let head = agent.journal.head(ns, rel)?;
    let running = agent.registry.running(ns, rel);
    if head.is_none() && running.is_none() {
        return Err(OpError::NotFound(format!(
            "release: not found: {rel:?} in namespace {ns:?}"
        )));
    }
    let lock = head.and_then(|h| h.lock);
    let abort = Abort::unlocked(&caller.identity);
    match (running, lock) {
        (None, None) => Err(OpError::FailedPrecondition(format!(
            "release {rel:?} in namespace {ns:?} is not locked: no operation is running on it"
        ))),
        (Some(op), _) => {
            let kind = op.operation.title().to_lowercase();
            if op.is_finished() {
                return Err(OpError::FailedPrecondition(format!(
                    "the {kind} of {rel:?} has ended; nothing to unlock"
                )));
            }
            if !op.abort(abort.clone()) {
                let other = op.aborted().map(|a| a.reason).unwrap_or_default();
                return Err(OpError::FailedPrecondition(format!(
                    "the {kind} of {rel:?} is being stopped already ({other})"
                )));
            }
            op.ended().await;
            let stopped = op.stopped().ok_or_else(|| {
                OpError::FailedPrecondition(format!(
                    "the {kind} of {rel:?} ended before it could be unlocked; nothing to unlock"
                ))
            })?;
            let revision = match &stopped.released {
                Some(l) => agent.journal.revision(ns, rel, l.revision)?,
                None => None,
            };
            Ok(Unlocked {
                revision,
                operation: op.operation,
                held_by: stopped.released.map(|l| l.identity).unwrap_or_default(),
            })
        }
        (None, Some(lock)) => {
            // A lock no operation of this agent holds: release it here.
            let description = abort.description(lock.operation);
            let failed = Finish {
                status: Status::Failed,
                description: description.clone(),
                deploys: false,
                undeploys: false,
                supersedes: None,
            };
            let record = agent.journal.finish(ns, rel, lock.revision, failed).await?;
            let seq = agent.journal.last_event_seq(ns, rel, lock.revision)? + 1;
            agent.journal.append_events(&[proto::Event {
                release: rel.to_string(),
                namespace: ns.to_string(),
                revision: lock.revision,
                seq,
                time_unix_ms: crate::journal::now_ms(),
                kind: Some(Kind::Failed(proto::Failed {
                    reason: abort.reason.clone(),
                    message: description,
                    culprit: None,
                    status: proto::ReleaseStatus::Failed as i32,
                })),
            }])?;
            agent.journal.flush().await?;
            Ok(Unlocked {
                revision: Some(record),
                operation: lock.operation,
                held_by: lock.identity,
            })
        }
    }
}
