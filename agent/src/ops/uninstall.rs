//! Uninstall: delete a release's objects in Helm's uninstall order (leaving
//! those with a `helm.sh/resource-policy` annotation), then either mark the
//! newest revision uninstalled (`--keep-history`) or forget the release.

use std::sync::Arc;

use berth::manifest::{self, OnUninstall};
use berth::proto::{self, UninstallRequest, event::Kind};
use berth::types::{Namespace, ReleaseName};
use futures::StreamExt;

use super::{Agent, Caller, Failure, OpError, parse_revision, refuse};
use crate::cluster::{Cascade, Deletion};
use crate::events::{Busy, OpEvents};
use crate::journal::{self, Finish, Lock, OpKind, RevisionRecord, Status};

pub struct Prepared {
    pub op: Arc<OpEvents>,
    namespace: Namespace,
    name: ReleaseName,
    keep_history: bool,
    options: proto::OperationOptions,
    /// How the objects are deleted (--cascade, --wait).
    deletion: Deletion,
    /// The operation's timeout, checked (see [`super::timeout`]).
    timeout: std::time::Duration,
    /// The revision whose objects are deleted.
    live: RevisionRecord,
    caller: Caller,
}

pub fn prepare(agent: &Agent, req: UninstallRequest, caller: Caller) -> Result<Prepared, OpError> {
    let options = req.options.as_ref();
    let timeout = super::timeout(agent, options.map_or(0, |o| o.timeout_seconds))?;
    let name = ReleaseName::parse(&req.release)?;
    let namespace = Namespace::parse(&req.namespace)?;
    let deletion = Deletion {
        cascade: Cascade::parse(&req.cascade).map_err(OpError::Invalid)?,
        wait: options.is_some_and(|o| o.wait),
    };
    let (ns, rel) = (namespace.as_str(), name.as_str());
    let head = agent.journal.head(ns, rel)?.ok_or_else(|| {
        OpError::NotFound(format!(
            "uninstall: Release not loaded: {rel}: release: not found"
        ))
    })?;
    if let Some(lock) = &head.lock {
        return Err(OpError::Busy(Busy {
            release: rel.to_string(),
            revision: lock.revision,
            operation: lock.operation.title().to_lowercase(),
        }));
    }
    let latest = agent
        .journal
        .revision(ns, rel, head.latest)?
        .ok_or_else(|| {
            OpError::NotFound(format!(
                "uninstall: Release not loaded: {rel}: release: not found"
            ))
        })?;
    if latest.status == Status::Uninstalled && req.keep_history {
        return Err(OpError::FailedPrecondition(format!(
            "the release named {rel:?} is already deleted"
        )));
    }
    let live = match head.deployed {
        Some(d) => agent
            .journal
            .revision(ns, rel, d)?
            .unwrap_or_else(|| latest.clone()),
        None => latest,
    };
    // The uninstall's events follow the earlier ones of the same revision.
    let after_seq = agent.journal.last_event_seq(ns, rel, head.latest)?;
    let op = agent.registry.start(
        &agent.journal,
        ns,
        rel,
        head.latest,
        OpKind::Uninstall,
        after_seq,
    )?;
    op.emit(Kind::Accepted(proto::Accepted {
        operation: proto::Operation::Uninstall as i32,
        identity: caller.identity.clone(),
        chart_needed: false,
        previous_revision: live.revision,
    }));
    Ok(Prepared {
        op,
        namespace,
        name,
        keep_history: req.keep_history,
        options: req.options.unwrap_or_default(),
        deletion,
        timeout,
        live,
        caller,
    })
}

pub async fn run(agent: Arc<Agent>, p: Prepared) {
    let op = Arc::clone(&p.op);
    super::supervise(&agent, &op, execute(&agent, p)).await;
}

async fn execute(agent: &Agent, p: Prepared) {
    let op = Arc::clone(&p.op);
    let (ns, rel) = (p.namespace.as_str(), p.name.as_str());
    let already_gone = p.live.status == Status::Uninstalled;
    let mut objects = if already_gone {
        Vec::new()
    } else {
        match parse_revision(&agent.journal, &p.live).await {
            Ok(o) => o,
            Err(f) => return refuse(&op, f),
        }
    };
    if p.options.dry_run {
        // What would go, and nothing recorded or deleted.
        let changes = deletion_order(objects)
            .into_iter()
            .filter(|o| manifest::on_uninstall(o) == OnUninstall::Delete)
            .map(|o| proto::PlannedChange {
                object: Some(o.object),
                action: proto::PlanAction::Delete as i32,
            })
            .collect();
        op.emit(Kind::Planned(proto::Planned { changes }));
        op.emit(Kind::Completed(proto::Completed {
            status: proto::ReleaseStatus::Uninstalled as i32,
            description: proto::DRY_RUN_DESCRIPTION.into(),
            notes: String::new(),
            ..Default::default()
        }));
        return;
    }
    let lock = Lock {
        revision: op.revision,
        operation: OpKind::Uninstall,
        since_ms: journal::now_ms(),
        identity: p.caller.identity.clone(),
        previous_status: None,
    };
    let events = op.for_journal();
    if let Err(e) = agent
        .journal
        .lock_latest(ns, rel, lock, Status::Uninstalling, &events)
        .await
    {
        return refuse(&op, Failure::new("JournalError", e.to_string()));
    }
    op.persisted(events.len());
    let timeout = p.timeout;
    let deadline = tokio::time::Instant::now() + timeout;
    let hooks = match agent.journal.text_blob(&p.live.hooks_blob) {
        Ok(text) if !p.options.no_hooks && !already_gone => super::hooks::from_json(&text),
        _ => Vec::new(),
    };
    let hooks = super::hooks::Hooks {
        op: &op,
        namespace: ns,
        hooks: &hooks,
        deadline,
    };
    if let Err(f) = hooks.run(agent, "pre-delete").await {
        return fail(agent, &op, f).await;
    }
    super::phase(&op, "delete", deadline);
    let deleting = delete_objects_with(agent, &op, ns, std::mem::take(&mut objects), p.deletion);
    let errors = match tokio::time::timeout_at(deadline, deleting).await {
        Ok(errors) => errors,
        Err(_) => vec!["timed out waiting for the release's objects to be deleted".to_string()],
    };
    if !errors.is_empty() {
        let message = format!(
            "uninstallation completed with {} error(s): {}",
            errors.len(),
            errors.join("; ")
        );
        let finish = Finish {
            status: Status::Failed,
            description: message.clone(),
            deploys: false,
            undeploys: false,
            supersedes: None,
        };
        super::conclude(
            agent,
            &op,
            Err((finish, Failure::new("DeleteFailed", message))),
            String::new(),
        )
        .await;
        return;
    }
    if let Err(f) = hooks.run(agent, "post-delete").await {
        return fail(agent, &op, f).await;
    }
    // Helm's --description replaces "Uninstallation complete".
    let description = match p.options.description.as_str() {
        "" => "Uninstallation complete".to_string(),
        custom => custom.to_string(),
    };
    if p.keep_history {
        let finish = Finish {
            status: Status::Uninstalled,
            description,
            deploys: false,
            undeploys: true,
            supersedes: None,
        };
        super::conclude(agent, &op, Ok(finish), String::new()).await;
    } else {
        match super::purge(agent, &op).await {
            Ok(()) => {
                op.emit(Kind::Completed(proto::Completed {
                    status: proto::ReleaseStatus::Uninstalled as i32,
                    description: format!("release \"{rel}\" uninstalled"),
                    notes: String::new(),
                    ..Default::default()
                }));
            }
            Err(e) => refuse(&op, Failure::new("JournalError", e.to_string())),
        }
    }
}

/// Record a failed uninstall (a hook failed) and tell the clients.
async fn fail(agent: &Agent, op: &OpEvents, failure: Failure) {
    let finish = Finish {
        status: Status::Failed,
        description: format!("Uninstall failed: {}", failure.message),
        deploys: false,
        undeploys: false,
        supersedes: None,
    };
    super::conclude(agent, op, Err((finish, failure)), String::new()).await;
}

/// Delete a release's objects in Helm's uninstall order, skipping those with
/// a `helm.sh/resource-policy` annotation; one event per object. Returns
/// the errors, one line each.
pub(super) async fn delete_objects(
    agent: &Agent,
    op: &OpEvents,
    ns: &str,
    objects: Vec<berth::manifest::Object>,
) -> Vec<String> {
    delete_objects_with(agent, op, ns, objects, Deletion::default()).await
}

/// `objects` in Helm's uninstall order.
fn deletion_order(mut objects: Vec<berth::manifest::Object>) -> Vec<berth::manifest::Object> {
    manifest::sort_by_kind(
        &mut objects,
        |o| o.object.kind.as_str(),
        manifest::UNINSTALL_ORDER,
    );
    objects
}

async fn delete_objects_with(
    agent: &Agent,
    op: &OpEvents,
    ns: &str,
    objects: Vec<berth::manifest::Object>,
    how: Deletion,
) -> Vec<String> {
    // What the resource policy keeps is said first, in that order too (the
    // CLI lists it as Helm's uninstall does); what it neither keeps nor
    // deletes is left unsaid, as by Helm.
    let mut deleted = Vec::new();
    for o in deletion_order(objects) {
        match manifest::on_uninstall(&o) {
            OnUninstall::Delete => deleted.push(o),
            OnUninstall::Keep => super::kept_shown(op, o.object),
            OnUninstall::Leave => {}
        }
    }
    let objects = deleted;
    let shown = |o: &berth::manifest::Object, deleted: bool| {
        super::deletion_shown(op, o.object.clone(), deleted)
    };
    // As Helm's batchPerform: one kind after another, a kind's objects
    // together (a few at a time); with --wait, every deletion is asked for
    // first and then waited for, as Helm's WaitForDelete waits for all.
    let mut errors = Vec::new();
    let mut deleting = Vec::new();
    for kind in objects.chunk_by(|a, b| a.object.kind == b.object.kind) {
        let asks: Vec<_> = kind
            .iter()
            .map(|o| {
                let asked = agent.cluster.start_delete(&o.object, ns, how);
                async move { (o, asked.await) }
            })
            .collect();
        for (o, answer) in super::few_at_a_time(agent, asks).await {
            match answer {
                Ok(Some(d)) if how.wait => deleting.push((o, d)),
                Ok(asked) => shown(o, asked.is_some()),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    // A watch each, a few at a time: the deletions all run meanwhile.
    // Collected first: a stream over a closure's futures trips the
    // compiler's Send check in the spawned operation.
    let waits: Vec<_> = deleting
        .into_iter()
        .map(|(o, d)| async move { (o, d.gone().await) })
        .collect();
    let mut gone =
        futures::stream::iter(waits).buffer_unordered(agent.settings.apply_parallelism.max(1));
    while let Some((o, went)) = gone.next().await {
        match went {
            Ok(()) => shown(o, true),
            Err(e) => errors.push(e.to_string()),
        }
    }
    errors
}
