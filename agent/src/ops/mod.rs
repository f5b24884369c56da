//! Operations: install/upgrade, rollback, uninstall and the read-only
//! queries, as plain async functions over the [`Agent`] (journal, cluster
//! and running operations). No gRPC here: the service decodes requests,
//! calls these, and streams the events they emit.
//!
//! Shared here: the caller's identity, the error types, and [`deploy`], the
//! apply → prune → wait pipeline that install, upgrade and rollback share.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use berth::manifest::{self, Object};
use berth::proto::{self, ApplyAction, ObjectRef, PlanAction, event::Kind};
use futures::StreamExt;
use tokio::time::Instant;

use crate::cluster::{Before, Cluster, ClusterError, ValidationDirective};
use crate::events::{Abort, Busy, NotStarted, OpEvents, Registry, Stopped};
use crate::journal::{Finish, Journal, JournalError, Lock, RevisionRecord, Status};
use crate::track;

pub mod atomic;
pub mod crds;
pub mod diff;
pub mod drift;
pub mod hooks;
pub mod kinds;
pub mod migrate;
pub mod ownership;
pub mod query;
pub mod receive;
pub mod rollback;
pub mod test;
pub mod uninstall;
pub mod unlock;
pub mod upgrade;

/// Settings of the operations, from the agent's configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--timeout` when the client gives none (Helm's default is 5m).
    pub default_timeout: Duration,
    /// What an uploaded chart may contain.
    pub limits: berth::chart::Limits,
    /// Bytes of user-supplied values (JSON) one request may carry.
    pub max_values: usize,
    /// Objects one chart may render: resources, hooks and CRDs.
    pub max_objects: usize,
    /// Events one operation keeps (see `events::OpEvents::emit`).
    pub max_events: usize,
    /// How long a chart upload may stall between two chunks.
    pub upload_idle_timeout: Duration,
    /// Objects applied at once within one kind.
    pub apply_parallelism: usize,
    /// How long each pod failure signal may persist before it fails the
    /// operation (berthd --failure-grace).
    pub failure_grace: track::pods::Grace,
    /// What ready means where it is a choice (berthd --no-status-policy);
    /// `wait_for_load_balancers` here is the default a client can turn on.
    pub wait_rules: track::status::Rules,
    /// How long running operations may go on once berthd is asked to stop
    /// (berthd --shutdown-grace) before they are recorded as interrupted.
    pub shutdown_grace: Duration,
    /// How often every deployed release is checked for drift (berthd
    /// --drift-interval); None: only when asked (`berth drift`).
    pub drift_interval: Option<Duration>,
    /// sled's cache capacity for the journal (berthd --journal-cache).
    pub journal_cache: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_timeout: Duration::from_secs(300),
            limits: berth::chart::Limits::default(),
            max_values: 4 << 20,
            max_objects: 5_000,
            max_events: crate::events::DEFAULT_MAX_EVENTS,
            upload_idle_timeout: Duration::from_secs(30),
            apply_parallelism: 8,
            failure_grace: track::pods::Grace::default(),
            wait_rules: track::status::Rules::default(),
            shutdown_grace: Duration::from_secs(30),
            drift_interval: None,
            journal_cache: crate::journal::DEFAULT_CACHE,
        }
    }
}

impl Settings {
    /// The largest gRPC message the agent accepts: an upgrade header with
    /// values at their limit, or a chart chunk (the CLI sends 64 KiB).
    pub fn max_request_bytes(&self) -> usize {
        self.max_values.saturating_add(1 << 20).max(4 << 20)
    }
}

/// Everything an operation works with.
pub struct Agent {
    pub journal: Journal,
    pub cluster: Arc<Cluster>,
    pub registry: Registry,
    pub settings: Settings,
    pub counters: Counters,
    /// The last drift check of each release.
    pub drift: drift::Store,
}

/// Running totals since the agent started.
#[derive(Debug, Default)]
pub struct Counters {
    /// Chart bytes received in uploads (0 for uploads the agent skipped
    /// because it held the chart already).
    pub chart_bytes_received: std::sync::atomic::AtomicU64,
    /// Uploads skipped because the agent held the chart.
    pub chart_uploads_skipped: std::sync::atomic::AtomicU64,
    /// Uploads received whole: every chunk and the trailer arrived and the
    /// digest is computed (whether or not it matches the header's).
    pub chart_uploads_received: std::sync::atomic::AtomicU64,
    /// Uploads whose bytes came whole on a chart connection.
    pub chart_connections: std::sync::atomic::AtomicU64,
}

/// Who is asking, as the TLS layer established it.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The name recorded as BY: the first URI SAN, else the subject CN.
    pub identity: String,
    /// Every name of the certificate (CN, DNS and URI SANs), for the policy.
    pub names: Vec<String>,
    pub addr: String,
    pub client_version: String,
}

/// Why a request was refused before an operation started. The service maps
/// each to one gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error("{}", NotStarted::ShuttingDown)]
    ShuttingDown,
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl From<NotStarted> for OpError {
    fn from(e: NotStarted) -> Self {
        match e {
            NotStarted::Busy(b) => OpError::Busy(b),
            NotStarted::ShuttingDown => OpError::ShuttingDown,
        }
    }
}

impl From<berth::types::NameError> for OpError {
    fn from(e: berth::types::NameError) -> Self {
        OpError::Invalid(e.to_string())
    }
}

/// Why a running operation failed; recorded in the revision's description
/// and sent as the Failed event.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
    pub message: String,
    /// Boxed: a failure travels in every `Result` of an operation.
    pub culprit: Option<Box<ObjectRef>>,
}

impl Failure {
    pub fn new(reason: &str, message: impl Into<String>) -> Failure {
        Failure {
            reason: reason.to_string(),
            message: message.into(),
            culprit: None,
        }
    }
}

impl From<JournalError> for Failure {
    fn from(e: JournalError) -> Self {
        Failure::new("JournalError", e.to_string())
    }
}

/// Helm's --cleanup-on-fail, after a failed upgrade or rollback: delete
/// the objects of `applied` that `previous` did not have (this operation
/// created them).
async fn clean_up_created(
    agent: &Agent,
    op: &OpEvents,
    release: &str,
    ns: &str,
    applied: &[Object],
    previous: &[Object],
    deadline: tokio::time::Instant,
) {
    let before: HashSet<_> = previous.iter().map(|o| identity(o, ns)).collect();
    let created: Vec<_> = applied
        .iter()
        .filter(|o| !before.contains(&identity(o, ns)))
        .cloned()
        .collect();
    if created.is_empty() {
        return;
    }
    phase(op, "cleanup", deadline);
    for e in uninstall::delete_objects(agent, op, ns, created).await {
        tracing::warn!(error = %e, release, "cleanup-on-fail could not delete an object");
    }
}

/// The identity of an object across revisions: group, kind, namespace and
/// name (the version may change between chart versions).
fn identity(o: &Object, release_ns: &str) -> (String, String, String, String) {
    let group = o
        .object
        .api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("")
        .to_string();
    let ns = if o.object.namespace.is_empty() {
        release_ns
    } else {
        &o.object.namespace
    };
    (
        group,
        o.object.kind.clone(),
        ns.to_string(),
        o.object.name.clone(),
    )
}

/// The `fieldValidation` of an install or upgrade: Helm v4 refuses unknown
/// fields (Strict) unless --disable-openapi-validation (Ignore).
pub fn install_validation(options: &proto::OperationOptions) -> Option<ValidationDirective> {
    Some(if options.disable_openapi_validation {
        ValidationDirective::Ignore
    } else {
        ValidationDirective::Strict
    })
}

/// What `deploy` needs to know.
pub struct Deploy<'a> {
    pub op: &'a OpEvents,
    pub release: &'a str,
    pub namespace: &'a str,
    /// The objects of the new revision, in install order.
    pub objects: &'a [Object],
    /// The objects of the revision being replaced (for plan and prune).
    pub previous: &'a [Object],
    pub wait: bool,
    /// Helm's --wait-for-jobs.
    pub wait_for_jobs: bool,
    /// Wait for LoadBalancer Services to get an address.
    pub wait_for_load_balancers: bool,
    /// The applies' `fieldValidation` (see [`Cluster::apply`]).
    pub validation: Option<ValidationDirective>,
    pub deadline: Instant,
    /// `objects` as [`read_all`] found them, if the operation read them
    /// since nothing else it does could have changed them; else deploy
    /// reads them.
    pub before: Option<Vec<Option<Before>>>,
}

fn time_left(deadline: Instant) -> u64 {
    deadline
        .saturating_duration_since(Instant::now())
        .as_millis() as u64
}

fn phase(op: &OpEvents, name: &str, deadline: Instant) {
    op.emit(Kind::Phase(proto::PhaseStarted {
        name: name.to_string(),
        time_left_ms: time_left(deadline),
    }));
}

/// Plan, apply (kinds in install order, objects of one kind in parallel),
/// prune objects that left the chart (reverse order, honouring
/// `helm.sh/resource-policy: keep`), then wait for readiness if asked.
pub async fn deploy(agent: &Agent, d: Deploy<'_>) -> Result<(), Failure> {
    let since = track::pods_since_now();
    let new_ids: HashSet<_> = d.objects.iter().map(|o| identity(o, d.namespace)).collect();
    let old: BTreeMap<_, _> = d
        .previous
        .iter()
        .map(|o| (identity(o, d.namespace), o))
        .collect();

    let mut changes = Vec::new();
    for o in d.objects {
        let action = match old.get(&identity(o, d.namespace)) {
            None => PlanAction::Create,
            Some(prev) if prev.body == o.body => PlanAction::Unchanged,
            Some(_) => PlanAction::Update,
        };
        changes.push(proto::PlannedChange {
            object: Some(o.object.clone()),
            action: action as i32,
        });
    }
    let mut removed: Vec<&Object> = d
        .previous
        .iter()
        .filter(|o| !new_ids.contains(&identity(o, d.namespace)))
        .collect();
    manifest::sort_by_kind(
        &mut removed,
        |o| o.object.kind.as_str(),
        manifest::UNINSTALL_ORDER,
    );
    // As Helm's Update, an object that left the chart is read first and
    // left if the cluster's copy says `helm.sh/resource-policy: keep`
    // (exactly), whoever annotated it; read before the plan, which then
    // lists only what the prune deletes.
    let reads: Vec<_> = removed
        .iter()
        .map(|o| {
            let read = tokio::time::timeout_at(d.deadline, agent.cluster.get(&o.object, d.namespace));
            // Gone or unreadable: the deletion says which.
            async move { matches!(read.await, Ok(Ok(Some(live))) if manifest::kept_on_prune(&live)) }
        })
        .collect();
    let kept_live = few_at_a_time(agent, reads).await;
    let pruning = !removed.is_empty();
    let mut kept = Vec::new();
    let mut keeps = kept_live.into_iter();
    removed.retain(|o| {
        let keep = keeps.next().unwrap_or(false);
        if keep {
            kept.push(o.object.clone());
        }
        !keep
    });
    for o in &removed {
        changes.push(proto::PlannedChange {
            object: Some(o.object.clone()),
            action: PlanAction::Delete as i32,
        });
    }
    d.op.emit(Kind::Planned(proto::Planned { changes }));

    phase(d.op, "apply", d.deadline);
    let mut before = match d.before {
        Some(before) if before.len() == d.objects.len() => before,
        _ => read_all(agent, d.objects, d.release, d.namespace, d.deadline).await,
    };
    let mut targets = Vec::new();
    let mut start = 0;
    while start < d.objects.len() {
        let kind = &d.objects[start].object.kind;
        let end = d.objects[start..]
            .iter()
            .position(|o| &o.object.kind != kind)
            .map(|p| start + p)
            .unwrap_or(d.objects.len());
        // Up to apply_parallelism requests in flight (a new one starts as
        // soon as one ends, not when its batch does); results in order.
        let applies: Vec<_> = d.objects[start..end]
            .iter()
            .zip(before[start..end].iter_mut())
            .map(|(o, before)| {
                let applied = tokio::time::timeout_at(
                    d.deadline,
                    agent.cluster.apply(
                        o,
                        d.release,
                        d.namespace,
                        d.validation.clone(),
                        before.take(),
                    ),
                );
                async move { (o, applied.await) }
            })
            .collect();
        let results = few_at_a_time(agent, applies).await;
        for (o, r) in results {
            match r {
                Err(_) => {
                    return Err(Failure {
                        reason: "Timeout".into(),
                        message: format!("timed out applying {}", o.object.display()),
                        culprit: Some(Box::new(o.object.clone())),
                    });
                }
                Ok(Err(e)) => {
                    return Err(Failure {
                        reason: "ApplyFailed".into(),
                        message: e.to_string(),
                        culprit: Some(Box::new(o.object.clone())),
                    });
                }
                Ok(Ok(applied)) => {
                    let mut object = o.object.clone();
                    object.namespace = applied.namespace.clone();
                    d.op.emit(Kind::ResourceApplied(proto::ResourceApplied {
                        object: Some(object.clone()),
                        action: applied.action as i32,
                    }));
                    targets.push(track::Target {
                        object,
                        namespace: applied.namespace,
                        live: applied.live,
                    });
                }
            }
        }
        start = end;
    }

    if pruning {
        phase(d.op, "prune", d.deadline);
    }
    for object in kept {
        kept_shown(d.op, object);
    }
    // A kind's objects together, as the applies. Every deletion is tried,
    // as Helm's; the first failure is the outcome.
    let mut failed = None;
    for kind in removed.chunk_by(|a, b| a.object.kind == b.object.kind) {
        let asks: Vec<_> = kind
            .iter()
            .map(|o| {
                let deleting = agent.cluster.delete(&o.object, d.namespace);
                async move { (*o, deleting.await) }
            })
            .collect();
        for (o, deleted) in few_at_a_time(agent, asks).await {
            let deleted = match deleted {
                Ok(deleted) => deleted,
                Err(e) => {
                    failed.get_or_insert(Failure {
                        reason: "DeleteFailed".into(),
                        message: e.to_string(),
                        culprit: Some(Box::new(o.object.clone())),
                    });
                    continue;
                }
            };
            let mut object = o.object.clone();
            if object.namespace.is_empty() {
                object.namespace = agent
                    .cluster
                    .namespace_of(&o.object, d.namespace)
                    .await
                    .unwrap_or_default();
            }
            deletion_shown(d.op, object, deleted);
        }
    }
    if let Some(failure) = failed {
        return Err(failure);
    }

    if d.wait {
        phase(d.op, "wait", d.deadline);
        let rules = track::status::Rules {
            wait_for_load_balancers: d.wait_for_load_balancers
                || agent.settings.wait_rules.wait_for_load_balancers,
            ..agent.settings.wait_rules
        };
        let policy = track::Policy {
            wait_for_jobs: d.wait_for_jobs,
            rules,
            grace: agent.settings.failure_grace.clone(),
            since,
            selector: format!("{}={}", crate::cluster::RELEASE_LABEL, d.release),
        };
        track::wait_all(&agent.cluster, d.op, targets, d.deadline, &policy).await?;
    }
    Ok(())
}

/// Every object as it is now, a few at a time: what each apply compares
/// its result with ([`Cluster::read_before`]), and what an ownership check
/// looks at. Read in one go rather than each just before its apply: kinds
/// are applied one after another, and a chart of k kinds would otherwise
/// wait 2k round trips to the API server instead of k + 1. None for an
/// object that could not be read (its apply reads it again).
pub async fn read_all(
    agent: &Agent,
    objects: &[Object],
    release: &str,
    namespace: &str,
    deadline: Instant,
) -> Vec<Option<Before>> {
    let reads: Vec<_> = objects
        .iter()
        .map(|o| {
            // An apply not sent answers with the object read: kept for the
            // kinds a wait judges by their state.
            let keep = track::status::is_tracked(&o.object.api_version, &o.object.kind, true);
            let read = agent.cluster.read_before(o, release, namespace, keep);
            async move { tokio::time::timeout_at(deadline, read).await.ok()?.ok()? }
        })
        .collect();
    few_at_a_time(agent, reads).await
}

/// Tell the clients the resource policy kept an object.
pub fn kept_shown(op: &OpEvents, object: ObjectRef) {
    op.emit(Kind::ResourceApplied(proto::ResourceApplied {
        object: Some(object),
        action: ApplyAction::Kept as i32,
    }));
}

/// Tell the clients a deletion's outcome: deleted, or nothing there to
/// delete (unchanged).
pub fn deletion_shown(op: &OpEvents, object: ObjectRef, deleted: bool) {
    op.emit(Kind::ResourceApplied(proto::ResourceApplied {
        object: Some(object),
        action: if deleted {
            ApplyAction::Deleted
        } else {
            ApplyAction::Unchanged
        } as i32,
    }));
}

/// `asks` a few at a time (the agent's apply parallelism), their results
/// in the order asked. The futures come collected: a stream over a
/// closure's futures trips the compiler's Send check in a spawned
/// operation.
pub async fn few_at_a_time<F: Future>(agent: &Agent, asks: Vec<F>) -> Vec<F::Output> {
    futures::stream::iter(asks)
        .buffered(agent.settings.apply_parallelism.max(1))
        .collect()
        .await
}

/// Parse a stored revision's manifest back into objects.
pub fn objects_of(journal: &Journal, rec: &RevisionRecord) -> Result<Vec<Object>, Failure> {
    let text = journal.text_blob(&rec.manifest_blob)?;
    manifest::parse_objects(&text).map_err(|e| Failure::new("InvalidManifest", e.to_string()))
}

/// [`objects_of`] on a blocking thread: reading and parsing a large
/// manifest takes milliseconds (≈ 11 ms for 200 objects), which an async
/// worker, serving every other call meanwhile, is not held for.
pub async fn parse_revision(
    journal: &Journal,
    rec: &RevisionRecord,
) -> Result<Vec<Object>, Failure> {
    start_parsing(journal, rec).await
}

/// [`parse_revision`], started now and awaited later (an upgrade parses
/// the revision it replaces while it checks kinds and reads objects).
pub fn start_parsing(
    journal: &Journal,
    rec: &RevisionRecord,
) -> impl std::future::Future<Output = Result<Vec<Object>, Failure>> + use<> {
    let (journal, rec) = (journal.clone(), rec.clone());
    let task = tokio::task::spawn_blocking(move || objects_of(&journal, &rec));
    async move {
        task.await.unwrap_or_else(|e| {
            Err(Failure::new(
                "InternalError",
                format!("manifest parse task: {e}"),
            ))
        })
    }
}

/// Helm's `--history-max` (0: no limit), right after an operation recorded
/// its pending revision: the oldest revisions beyond it go (never the
/// deployed one or the new one), so what `history` shows once the command
/// returns is what is kept. A prune that fails is logged; the operation
/// goes on.
pub async fn prune_history(agent: &Agent, ns: &str, rel: &str, max: u32) {
    if max > 0
        && let Err(e) = agent.journal.prune_history(ns, rel, max).await
    {
        tracing::warn!(error = %e, release = rel, "could not prune history");
    }
}

/// End an operation: record the outcome, tell the clients, and flush both.
pub async fn conclude(
    agent: &Agent,
    op: &OpEvents,
    outcome: Result<Finish, (Finish, Failure)>,
    notes: String,
) -> Option<RevisionRecord> {
    let (finish, failure) = match outcome {
        Ok(f) => (f, None),
        Err((f, failure)) => (f, Some(failure)),
    };
    // The outcome and the terminal event become durable in one flush: the
    // event flusher's or the one below, whichever runs second finds nothing
    // left to write. The outcome is inserted first, so a crash keeps either
    // neither, the outcome alone (the revision is final, as a crash between
    // two flushes would leave it), or both.
    let recorded =
        agent
            .journal
            .record_finish(&op.namespace, &op.release, op.revision, finish.clone());
    let status = finish.status.to_proto() as i32;
    let record = match (recorded, failure) {
        (Ok(rec), None) => {
            op.emit(Kind::Completed(proto::Completed {
                status,
                description: finish.description,
                notes,
                test_hooks: hooks::stored_test_hooks(&agent.journal, &rec),
                ..Default::default()
            }));
            Some(rec)
        }
        (Ok(rec), Some(f)) => {
            op.emit(Kind::Failed(proto::Failed {
                reason: f.reason,
                message: finish.description,
                culprit: f.culprit.map(|c| *c),
                status,
            }));
            Some(rec)
        }
        (Err(e), _) => {
            op.emit(Kind::Failed(proto::Failed {
                reason: "JournalError".into(),
                message: format!("could not record the outcome: {e}"),
                culprit: None,
                status: proto::ReleaseStatus::Unknown as i32,
            }));
            None
        }
    };
    // Its events are all written: pack them now, in the same flush, rather
    // than in the next operation's begin, on its way to the cluster.
    let packed = match agent
        .journal
        .pack_closed(&op.namespace, &op.release, op.revision)
        .await
    {
        Ok(packed) => packed,
        Err(e) => {
            tracing::warn!(error = %e, release = %op.release, "could not pack the operation's events");
            None
        }
    };
    // Durable before the operation leaves the registry, attached client or not.
    match agent.journal.flush().await {
        Ok(()) => {
            if let Some(f) = packed {
                agent.journal.drop_packed(f);
            }
        }
        Err(e) => tracing::error!(error = %e, "could not flush the journal"),
    }
    record
}

/// Run an operation's work to its end — or until it is aborted from
/// outside ([`OpEvents::abort`]: `berth unlock`, berthd shutting down), or
/// it panics — then leave the registry. Whichever way it ends, its revision
/// is not left pending and its clients get a terminal event.
pub async fn supervise(agent: &Agent, op: &OpEvents, work: impl std::future::Future<Output = ()>) {
    use futures::FutureExt;
    let work = std::panic::AssertUnwindSafe(work).catch_unwind();
    let aborted = tokio::select! {
        biased;
        _ = op.cancelled() => op.aborted(),
        done = work => done.err().map(|panic| {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            tracing::error!(namespace = %op.namespace, release = %op.release, panic = %why,
                "an operation panicked");
            Abort {
                reason: "InternalError".into(),
                what: format!("failed: berthd hit an internal error ({why})"),
            }
        }),
    };
    if let Some(abort) = aborted {
        let released = record_abort(agent, op, &abort).await;
        op.set_stopped(Stopped { released });
    }
    // An operation stopped from outside, or that ended without
    // [`conclude`] (an --atomic recovery, whose events go on after the
    // rollback's revision began), packs its events here, while the release
    // is still its.
    if let Err(e) = agent
        .journal
        .pack_ended(&op.namespace, &op.release, op.revision)
        .await
    {
        tracing::warn!(error = %e, release = %op.release, "could not pack the operation's events");
    }
    agent.registry.end(op);
}

/// An operation stopped from outside: mark the revision it holds the lock
/// on failed (releasing the lock), and tell its clients. Returns the lock
/// released.
async fn record_abort(agent: &Agent, op: &OpEvents, abort: &Abort) -> Option<Lock> {
    let (ns, rel) = (op.namespace.as_str(), op.release.as_str());
    let description = abort.description(op.operation);
    let lock = match agent.journal.head(ns, rel) {
        Ok(head) => head.and_then(|h| h.lock),
        Err(e) => {
            tracing::error!(error = %e, release = rel, "could not read the release to record its abort");
            None
        }
    };
    let mut status = proto::ReleaseStatus::Unspecified;
    let mut released = None;
    if let Some(lock) = lock {
        let failed = Finish {
            status: Status::Failed,
            description: description.clone(),
            deploys: false,
            undeploys: false,
            supersedes: None,
        };
        match agent.journal.finish(ns, rel, lock.revision, failed).await {
            Ok(_) => {
                status = proto::ReleaseStatus::Failed;
                released = Some(lock);
            }
            Err(e) => {
                tracing::error!(error = %e, release = rel, "could not record an aborted operation")
            }
        }
    }
    tracing::warn!(namespace = ns, release = rel, revision = op.revision,
        reason = %abort.reason, "{description}");
    if !op.is_finished() {
        let message = if status == proto::ReleaseStatus::Unspecified {
            format!("{description} (before it recorded a revision)")
        } else {
            description
        };
        op.emit(Kind::Failed(proto::Failed {
            reason: abort.reason.clone(),
            message,
            culprit: None,
            status: status as i32,
        }));
    }
    released
}

/// Forget a release (uninstall without --keep-history, an --atomic install
/// that failed); the operation's later events are no longer journaled.
pub async fn purge(agent: &Agent, op: &OpEvents) -> Result<(), JournalError> {
    agent.journal.purge(&op.namespace, &op.release).await?;
    op.forgotten();
    Ok(())
}

/// Go's longest `time.Duration` in whole seconds (2562047h47m16s): Helm
/// refuses a longer `--timeout`, and every deadline below it is one the
/// clock can hold.
pub const MAX_TIMEOUT_SECS: u64 = 9_223_372_036;

/// An operation's timeout: the client's, else the agent's default. One past
/// Go's longest duration is refused (by `prepare`, before anything is
/// journaled or applied).
pub fn timeout(agent: &Agent, seconds: u64) -> Result<std::time::Duration, OpError> {
    match seconds {
        0 => Ok(agent.settings.default_timeout),
        s if s > MAX_TIMEOUT_SECS => Err(OpError::Invalid(format!(
            "timeout of {s}s is out of range: the longest is {MAX_TIMEOUT_SECS}s (2562047h47m16s)"
        ))),
        s => Ok(std::time::Duration::from_secs(s)),
    }
}

/// Fail an operation that never recorded a revision (bad chart, render
/// error): nothing changed, only the clients hear of it.
pub fn refuse(op: &OpEvents, failure: Failure) {
    op.emit(Kind::Failed(proto::Failed {
        reason: failure.reason,
        message: failure.message,
        culprit: failure.culprit.map(|c| *c),
        status: proto::ReleaseStatus::Unspecified as i32,
    }));
}

pub(crate) fn finish(status: Status, description: String, deploys: bool) -> Finish {
    Finish {
        status,
        description,
        deploys,
        undeploys: false,
        supersedes: None,
    }
}
