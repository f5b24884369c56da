//! `--atomic` (Helm's `--rollback-on-failure`): what a failed install or
//! upgrade does instead of stopping at "failed" (Helm's action/install.go
//! and action/upgrade.go failRelease).
//!
//! The failed revision is recorded first. An upgrade then rolls back to the
//! newest revision that was deployed or superseded, as one more revision
//! ("Rollback to N"); an install uninstalls what it created and forgets the
//! release. All of it runs within the original operation: its clients see
//! the recovery's events and then one Failed event that says what happened.

use std::time::Duration;

use berth::manifest::Object;
use berth::proto::{self, event::Kind};
use tokio::time::Instant;

use super::{Agent, Caller, Deploy, Failure, deploy, finish, parse_revision, phase, uninstall};
use crate::events::OpEvents;
use crate::journal::{Finish, OpKind, Status};

/// A failed install or upgrade, to recover from.
pub struct Recover<'a> {
    pub kind: OpKind,
    pub namespace: &'a str,
    pub release: &'a str,
    pub caller: &'a Caller,
    /// How the failed revision is recorded.
    pub failed: Finish,
    pub failure: Failure,
    /// The objects the failed revision applied.
    pub applied: &'a [Object],
    /// The operation's --timeout, given again to the recovery (as Helm does).
    pub timeout: Duration,
}

pub async fn recover(agent: &Agent, op: &OpEvents, r: Recover<'_>) {
    let (ns, rel) = (r.namespace, r.release);
    let original = r.failure.message.clone();
    if let Err(e) = agent
        .journal
        .finish(ns, rel, op.revision, r.failed.clone())
        .await
    {
        return emit(
            op,
            &r,
            format!("could not record the failure: {e}. original error: {original}"),
            Status::Failed,
        );
    }
    let (message, status) = match r.kind {
        OpKind::Install => match uninstall_failed(agent, op, &r).await {
            Ok(()) => (
                format!(
                    "release {rel} failed, and has been uninstalled due to rollback-on-failure being set: {original}"
                ),
                Status::Uninstalled,
            ),
            Err(e) => (
                format!(
                    "an error occurred while uninstalling the release. original install error: {original}: {e}"
                ),
                Status::Failed,
            ),
        },
        _ => match roll_back(agent, op, &r).await {
            Ok(()) => (
                format!(
                    "release {rel} failed, and has been rolled back due to rollback-on-failure being set: {original}"
                ),
                Status::Failed,
            ),
            Err(e) => (
                format!(
                    "an error occurred while rolling back the release. original upgrade error: {original}: {e}"
                ),
                Status::Failed,
            ),
        },
    };
    emit(op, &r, message, status);
}

fn emit(op: &OpEvents, r: &Recover<'_>, message: String, status: Status) {
    op.emit(Kind::Failed(proto::Failed {
        reason: r.failure.reason.clone(),
        message,
        culprit: r.failure.culprit.clone().map(|c| *c),
        status: status.to_proto() as i32,
    }));
}

/// Re-apply the newest deployed-or-superseded revision as a new revision.
async fn roll_back(agent: &Agent, op: &OpEvents, r: &Recover<'_>) -> Result<(), String> {
    let (ns, rel) = (r.namespace, r.release);
    let history = agent
        .journal
        .revisions(ns, rel)
        .map_err(|e| e.to_string())?;
    let target = history
        .iter()
        .filter(|x| matches!(x.status, Status::Deployed | Status::Superseded))
        .max_by_key(|x| x.revision)
        .ok_or("unable to find a previously successful release when attempting to rollback")?;
    let deadline = Instant::now() + r.timeout;
    phase(op, "rollback", deadline);
    let revision = history
        .iter()
        .map(|x| x.revision)
        .max()
        .unwrap_or(op.revision)
        + 1;
    let description = format!("Rollback to {}", target.revision);
    let begin = super::rollback::begin_rollback(target, revision, r.caller, Vec::new());
    agent
        .journal
        .begin(ns, rel, begin)
        .await
        .map_err(|e| e.to_string())?;
    let result = match parse_revision(&agent.journal, target).await {
        Ok(objects) => {
            let d = Deploy {
                op,
                release: rel,
                namespace: ns,
                objects: &objects,
                previous: r.applied,
                wait: true,
                wait_for_jobs: false,
                wait_for_load_balancers: false,
                // Helm's rollback builds the stored manifest unvalidated.
                validation: Some(crate::cluster::ValidationDirective::Ignore),
                deadline,
                before: None,
            };
            deploy(agent, d).await
        }
        Err(f) => Err(f),
    };
    let outcome = match &result {
        Ok(()) => finish(Status::Deployed, description, true),
        Err(f) => finish(
            Status::Failed,
            format!("Rollback {rel:?} failed: {}", f.message),
            false,
        ),
    };
    agent
        .journal
        .finish(ns, rel, revision, outcome)
        .await
        .map_err(|e| e.to_string())?;
    result.map_err(|f| f.message)
}

/// Delete what the failed install applied and forget the release.
async fn uninstall_failed(agent: &Agent, op: &OpEvents, r: &Recover<'_>) -> Result<(), String> {
    phase(op, "uninstall", Instant::now() + r.timeout);
    let errors = uninstall::delete_objects(agent, op, r.namespace, r.applied.to_vec()).await;
    if !errors.is_empty() {
        return Err(format!(
            "uninstallation completed with {} error(s): {}",
            errors.len(),
            errors.join("; ")
        ));
    }
    super::purge(agent, op).await.map_err(|e| e.to_string())
}
