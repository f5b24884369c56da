//! Rollback: re-apply a stored revision's exact rendered manifest as a new
//! revision. Nothing is re-rendered; the new revision shares the target's
//! manifest, values and notes blobs, so its manifest is byte-identical.

use std::sync::Arc;

use berth::proto::{self, RollbackRequest, event::Kind};
use berth::types::{Namespace, ReleaseName};
use tokio::time::Instant;

use super::{
    Agent, Caller, Deploy, Failure, OpError, conclude, deploy, finish, parse_revision, refuse,
};
use crate::events::{Busy, OpEvents};
use crate::journal::{self, Begin, Lock, OpKind, RevisionRecord, Status};

pub struct Prepared {
    pub op: Arc<OpEvents>,
    namespace: Namespace,
    name: ReleaseName,
    target: RevisionRecord,
    current: Option<RevisionRecord>,
    options: proto::OperationOptions,
    /// The operation's timeout, checked (see [`super::timeout`]).
    timeout: std::time::Duration,
    caller: Caller,
}

/// The longest `--description` a rollback takes (Helm's).
const MAX_DESCRIPTION: usize = 256;

/// Find the target revision and take the lock.
pub fn prepare(agent: &Agent, req: RollbackRequest, caller: Caller) -> Result<Prepared, OpError> {
    let options = req.options.as_ref();
    let timeout = super::timeout(agent, options.map_or(0, |o| o.timeout_seconds))?;
    // Helm's MaxDescriptionLength, in runes.
    let described = options.map_or(0, |o| o.description.chars().count());
    if described > MAX_DESCRIPTION {
        return Err(OpError::Invalid(format!(
            "description must be {MAX_DESCRIPTION} characters or less, got {described}"
        )));
    }
    let name = ReleaseName::parse(&req.release)?;
    let namespace = Namespace::parse(&req.namespace)?;
    let (ns, rel) = (namespace.as_str(), name.as_str());
    let head = agent.journal.head(ns, rel)?.ok_or_else(|| {
        OpError::NotFound(format!("release: not found: {rel:?} in namespace {ns:?}"))
    })?;
    if let Some(lock) = &head.lock {
        return Err(OpError::Busy(Busy {
            release: rel.to_string(),
            revision: lock.revision,
            operation: lock.operation.title().to_lowercase(),
        }));
    }
    // Helm: revision 0 means the one before the newest.
    let wanted = if req.revision == 0 {
        head.latest.saturating_sub(1)
    } else {
        req.revision
    };
    let target = match wanted {
        0 => None,
        n => agent.journal.revision(ns, rel, n)?,
    }
    .ok_or_else(|| OpError::NotFound(format!("release has no {wanted} version")))?;
    let current = match head.deployed {
        Some(d) => agent.journal.revision(ns, rel, d)?,
        None => agent.journal.revision(ns, rel, head.latest)?,
    };
    let op = agent.registry.start(
        &agent.journal,
        ns,
        rel,
        head.latest + 1,
        OpKind::Rollback,
        0,
    )?;
    op.emit(Kind::Accepted(proto::Accepted {
        operation: proto::Operation::Rollback as i32,
        identity: caller.identity.clone(),
        chart_needed: false,
        previous_revision: current.as_ref().map(|c| c.revision).unwrap_or(0),
    }));
    Ok(Prepared {
        op,
        namespace,
        name,
        target,
        current,
        options: req.options.unwrap_or_default(),
        timeout,
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
    let timeout = p.timeout;
    let deadline = Instant::now() + timeout;
    let objects = match parse_revision(&agent.journal, &p.target).await {
        Ok(o) => o,
        Err(f) => return refuse(&op, f),
    };
    let notes = agent
        .journal
        .text_blob(&p.target.notes_blob)
        .unwrap_or_default();
    let hooks = match agent.journal.text_blob(&p.target.hooks_blob) {
        Ok(text) if !p.options.no_hooks => super::hooks::from_json(&text),
        _ => Vec::new(),
    };
    op.emit(Kind::Rendered(proto::Rendered {
        objects: objects.len() as u32,
        hooks: hooks.len() as u32,
        warnings: Vec::new(),
    }));
    // The stored manifest's kinds may have left the cluster since (a CRD
    // deleted): refused before anything is recorded or applied.
    let check = super::kinds::Check {
        manifest: "new release manifest",
        objects: &objects,
        crds: &[],
        hooks: &hooks,
        events: ("pre-rollback", "post-rollback"),
    };
    if let Err(f) = super::kinds::check(agent, check).await {
        return refuse(&op, f);
    }
    let description = description(&p.options, &p.target);
    let previous = match &p.current {
        Some(c) => parse_revision(&agent.journal, c).await.unwrap_or_default(),
        None => Vec::new(),
    };
    if p.options.dry_run {
        // What the rollback would change, against the live cluster.
        if let Err(f) = super::diff::diff(
            agent,
            &op,
            rel,
            ns,
            &objects,
            &previous,
            &super::diff::How {
                show_secrets: p.options.show_secrets,
                validation: Some(crate::cluster::ValidationDirective::Ignore),
            },
        )
        .await
        {
            return refuse(&op, f);
        }
        op.emit(Kind::Completed(proto::Completed {
            status: proto::ReleaseStatus::PendingRollback as i32,
            description: proto::DRY_RUN_DESCRIPTION.into(),
            notes,
            ..Default::default()
        }));
        return;
    }
    // The target's blobs are named, not stored again: the target revision
    // names them and stays while this operation holds the release (one
    // operation per release; only an operation on it prunes it), so no
    // collection takes them before this revision names them too.
    let mut begin = begin_rollback(&p.target, op.revision, &p.caller, op.for_journal());
    begin.record.description = description.clone();
    let recorded = begin.events.len();
    if let Err(e) = agent.journal.begin(ns, rel, begin).await {
        return refuse(&op, Failure::new("JournalError", e.to_string()));
    }
    op.persisted(recorded);
    super::prune_history(agent, ns, rel, p.options.history_max).await;
    let hooks = super::hooks::Hooks {
        op: &op,
        namespace: ns,
        hooks: &hooks,
        deadline,
    };
    let result = async {
        hooks.run(agent, "pre-rollback").await?;
        let d = Deploy {
            op: &op,
            release: rel,
            namespace: ns,
            objects: &objects,
            previous: &previous,
            wait: p.options.wait,
            wait_for_jobs: p.options.wait_for_jobs,
            wait_for_load_balancers: p.options.wait_for_load_balancers,
            // Helm's rollback builds the stored manifest unvalidated.
            validation: Some(crate::cluster::ValidationDirective::Ignore),
            deadline,
            before: None,
        };
        deploy(agent, d).await?;
        hooks.run(agent, "post-rollback").await
    }
    .await;
    if result.is_err() && p.options.cleanup_on_fail {
        super::clean_up_created(agent, &op, rel, ns, &objects, &previous, deadline).await;
    }
    let outcome = match result {
        Ok(()) => Ok(finish(Status::Deployed, description, true)),
        Err(f) => Err((
            finish(
                Status::Failed,
                format!("Rollback {rel:?} failed: {}", f.message),
                false,
            ),
            f,
        )),
    };
    conclude(agent, &op, outcome, notes).await;
}

/// `--description`, else Helm's "Rollback to N".
fn description(options: &proto::OperationOptions, target: &RevisionRecord) -> String {
    match options.description.as_str() {
        "" => format!("Rollback to {}", target.revision),
        given => given.to_string(),
    }
}

/// The pending revision a rollback to `target` records as `revision`: a copy
/// of the target (same manifest, values and notes blobs, so the manifest is
/// byte-identical) with the lock taken by `caller`.
pub(super) fn begin_rollback(
    target: &RevisionRecord,
    revision: u64,
    caller: &Caller,
    events: Vec<proto::Event>,
) -> Begin {
    let now = journal::now_ms();
    Begin {
        record: RevisionRecord {
            revision,
            status: Status::PendingRollback,
            operation: OpKind::Rollback,
            description: format!("Rollback to {}", target.revision),
            by: caller.identity.clone(),
            client_addr: caller.addr.clone(),
            client_version: caller.client_version.clone(),
            created_ms: now,
            updated_ms: now,
            rollback_of: Some(target.revision),
            ..target.clone()
        },
        chart: None,
        blobs: Vec::new(),
        lock: Lock {
            revision,
            operation: OpKind::Rollback,
            since_ms: now,
            identity: caller.identity.clone(),
            previous_status: None,
        },
        events,
    }
}
