//! The event hub of running operations.
//!
//! An operation emits typed events into its [`OpEvents`]: each gets the next
//! sequence number and a timestamp, is kept in memory, appended to the
//! journal once the operation's revision is recorded, and shown to every
//! attached client. The client that started the operation is only one
//! subscriber among others — it can disconnect and re-attach (`berth watch`)
//! without the operation noticing.
//!
//! Durability: once an operation's events go to the journal, a client sees
//! an event only after the journal holds it on disk, so what a client saw
//! is what `berth watch` replays after a crash, and the sequence numbers
//! never repeat with other content. A flusher task per operation batches
//! the flushes (one fsync for every event emitted while the previous one
//! ran). Events of an operation that records nothing (a refused chart, a
//! dry run) are shown at once: there is nothing to replay.
//!
//! [`Registry`] maps a release to its running operation; being in the
//! registry is also the in-memory half of the per-release lock (the journal
//! holds the durable half once a revision is pending). The registry is also
//! how an operation is stopped from outside: [`OpEvents::abort`] (berth
//! unlock, berthd shutting down) and [`Registry::close`] (no new ones).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use berth::proto::{self, event::Kind};
use futures::Stream;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::journal::{Journal, Lock, OpKind};
use crate::metrics::Metrics;

pub type EventStream = Pin<Box<dyn Stream<Item = Result<proto::Event, tonic::Status>> + Send>>;

struct Inner {
    events: Vec<proto::Event>,
    /// Events are written to the journal from this point on.
    persisted: bool,
    /// How many of `events` clients may see (the rest wait for a flush).
    shown: usize,
    finished: bool,
}

/// Why a running operation was stopped from outside, and how its revision
/// records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abort {
    /// The Failed event's reason: `Unlocked`, `Interrupted`, `InternalError`.
    pub reason: String,
    /// What happened, after the operation's title: "Upgrade {what}".
    pub what: String,
}

impl Abort {
    /// `berth unlock` by `identity`.
    pub fn unlocked(identity: &str) -> Abort {
        Abort {
            reason: "Unlocked".into(),
            what: format!(
                "unlocked by {identity}: the running operation was aborted; the cluster may hold a partial update"
            ),
        }
    }

    /// berthd stopping with the operation still running after its grace
    /// period.
    pub fn interrupted(grace: std::time::Duration) -> Abort {
        Abort {
            reason: "Interrupted".into(),
            what: format!(
                "interrupted: berthd was shut down and the operation had not finished after the {}s grace period; \
                 the cluster may hold a partial update",
                grace.as_secs()
            ),
        }
    }

    /// The revision's description for an operation of `kind`.
    pub fn description(&self, kind: OpKind) -> String {
        format!("{} {}", kind.title(), self.what)
    }
}

/// How an abort ended an operation.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// The lock the operation held in the journal, now released (its
    /// revision is failed); None if it had not recorded a revision.
    pub released: Option<Lock>,
}

/// The fewest events per operation an agent may be configured to keep: the
/// first ones say what the operation is, the last one how it ended.
pub const MIN_EVENTS: usize = 8;

/// berthd's default --max-events.
pub const DEFAULT_MAX_EVENTS: usize = 10_000;

/// The events of one running operation.
pub struct OpEvents {
    pub namespace: String,
    pub release: String,
    pub revision: u64,
    pub operation: OpKind,
    /// Sequence number of the event before this operation's first one
    /// (non-zero when an operation adds to a revision's events: uninstall).
    after_seq: u64,
    /// The most events kept (and journaled, and sent), the final one
    /// included; see [`OpEvents::emit`].
    max_events: usize,
    journal: Journal,
    inner: Mutex<Inner>,
    /// How many events are shown: attached clients wake when it moves and
    /// read the new ones from `inner` (no copy per client, no buffer per
    /// operation).
    shown: watch::Sender<usize>,
    /// Wakes the flusher after an event went to the journal.
    flushes: mpsc::UnboundedSender<()>,
    abort: Mutex<Option<Abort>>,
    /// Set by the supervisor once it has recorded an abort.
    stopped: Mutex<Option<Stopped>>,
    cancel: CancellationToken,
    done: CancellationToken,
    metrics: Arc<Metrics>,
    started: std::time::Instant,
}

impl OpEvents {
    /// A new operation's hub, with its flusher task (which ends with it).
    fn start(
        registry: &Registry,
        journal: Journal,
        namespace: &str,
        release: &str,
        revision: u64,
        operation: OpKind,
        after_seq: u64,
    ) -> Arc<Self> {
        let (flushes, wake) = mpsc::unbounded_channel();
        let op = Arc::new(OpEvents {
            namespace: namespace.to_string(),
            release: release.to_string(),
            revision,
            operation,
            after_seq,
            max_events: registry.max_events.max(MIN_EVENTS),
            journal,
            inner: Mutex::new(Inner {
                events: Vec::new(),
                persisted: false,
                shown: 0,
                finished: false,
            }),
            shown: watch::Sender::new(0),
            flushes,
            abort: Mutex::new(None),
            stopped: Mutex::new(None),
            cancel: CancellationToken::new(),
            done: CancellationToken::new(),
            metrics: Arc::clone(&registry.metrics),
            started: std::time::Instant::now(),
        });
        tokio::spawn(flusher(Arc::downgrade(&op), wake));
        op
    }

    /// The state, even if a panicking operation poisoned the lock: the
    /// panic is recorded as the operation's failure, and its clients must
    /// still hear of it.
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The tracing span an operation runs in: every log line of the
    /// operation carries its verb, release, namespace and revision.
    pub fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "operation",
            verb = %crate::metrics::verb(self.operation),
            release = %self.release,
            namespace = %self.namespace,
            revision = self.revision,
        )
    }

    /// Emit one event: number it, keep it, journal it (once persisted),
    /// show it (once durable).
    pub fn emit(&self, kind: Kind) -> Option<proto::Event> {
        let mut inner = self.inner();
        // At most max_events: the last but one that fits says so
        // (EventsLimited), later ones are dropped, the end is always kept.
        let kept = inner.events.len();
        let kind =
            if matches!(kind, Kind::Completed(_) | Kind::Failed(_)) || kept + 2 < self.max_events {
                kind
            } else if kept + 2 == self.max_events {
                Kind::EventsLimited(proto::EventsLimited {
                    limit: self.max_events as u64,
                })
            } else {
                return None;
            };
        let ev = proto::Event {
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            revision: self.revision,
            seq: self.after_seq + inner.events.len() as u64 + 1,
            time_unix_ms: crate::journal::now_ms(),
            kind: Some(kind),
        };
        inner.events.push(ev.clone());
        self.metrics.event_emitted();
        log(&ev);
        if ev.is_terminal() && !inner.finished {
            inner.finished = true;
            let succeeded = matches!(ev.kind, Some(Kind::Completed(_)));
            self.metrics
                .operation_finished(self.operation, succeeded, self.started.elapsed());
        }
        if inner.persisted {
            if let Err(e) = self.journal.append_events(std::slice::from_ref(&ev)) {
                tracing::error!(error = %e, "could not journal an event");
            }
            // The flusher shows it once it is on disk.
            let _ = self.flushes.send(());
        } else {
            let all = inner.events.len();
            self.show(&mut inner, all);
        }
        Some(ev)
    }

    /// Drop the documents of the PostRender events kept so far: the client
    /// that asked for them has them, and neither watchers nor the journal
    /// need them.
    pub fn forget_post_render(&self) {
        let mut inner = self.inner();
        for ev in inner.events.iter_mut() {
            if let Some(Kind::PostRender(p)) = &mut ev.kind {
                p.manifests = String::new();
            }
        }
    }

    /// Show the events up to `upto` to attached clients. Called with the
    /// lock held, so a client that reads the events after it woke finds
    /// them.
    fn show(&self, inner: &mut Inner, upto: usize) {
        let upto = upto.min(inner.events.len());
        if upto > inner.shown {
            inner.shown = upto;
            // No receivers is fine: nobody is attached right now.
            self.shown.send_replace(upto);
        }
    }

    /// The events emitted so far, for the transaction that records the
    /// revision (or takes the lock); then [`OpEvents::persisted`].
    pub fn for_journal(&self) -> Vec<proto::Event> {
        self.inner().events.clone()
    }

    /// The revision is recorded with the first `recorded` events: from now
    /// on events go to the journal. Events emitted in between are appended
    /// now.
    pub fn persisted(&self, recorded: usize) {
        let mut inner = self.inner();
        inner.persisted = true;
        let late = &inner.events[recorded.min(inner.events.len())..];
        if !late.is_empty() {
            if let Err(e) = self.journal.append_events(late) {
                tracing::error!(error = %e, "could not journal events");
            }
            let _ = self.flushes.send(());
        }
    }

    /// The release's records are gone (uninstall, or an --atomic install
    /// that failed): later events are shown, not journaled.
    pub fn forgotten(&self) {
        let mut inner = self.inner();
        inner.persisted = false;
        let all = inner.events.len();
        self.show(&mut inner, all);
    }

    /// Whether the operation's terminal event has been emitted.
    pub fn is_finished(&self) -> bool {
        self.inner().finished
    }

    /// Stop the operation from outside. The first reason given wins;
    /// returns false if it was already being stopped.
    pub fn abort(&self, why: Abort) -> bool {
        let mut abort = self.abort.lock().unwrap_or_else(|e| e.into_inner());
        if abort.is_some() {
            return false;
        }
        *abort = Some(why);
        self.cancel.cancel();
        true
    }

    /// Why the operation was stopped, if it was.
    pub fn aborted(&self) -> Option<Abort> {
        self.abort.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The supervisor recorded the abort (rather than the operation ending
    /// on its own first).
    pub fn set_stopped(&self, stopped: Stopped) {
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = Some(stopped);
    }

    /// How the operation was stopped, if an abort ended it.
    pub fn stopped(&self) -> Option<Stopped> {
        self.stopped
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Completes when [`OpEvents::abort`] is called.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Completes once the operation has ended and left the registry.
    pub async fn ended(&self) {
        self.done.cancelled().await
    }

    /// The shown events after `after_seq` (events are numbered in order
    /// from `self.after_seq + 1`).
    fn since(&self, after_seq: u64) -> Vec<proto::Event> {
        let inner = self.inner();
        let from = after_seq.saturating_sub(self.after_seq);
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(inner.shown);
        inner.events[from..inner.shown].to_vec()
    }

    /// Whether a client that has seen up to `seq` has seen the end.
    fn seen_end(&self, seq: u64) -> bool {
        let inner = self.inner();
        inner.finished
            && inner.shown == inner.events.len()
            && seq >= self.after_seq + inner.events.len() as u64
    }

    /// A stream of this operation's events after `after_seq`, ending with
    /// the terminal event.
    pub fn stream(self: &Arc<Self>, after_seq: u64) -> EventStream {
        // Subscribed before the first read: whatever is shown after that
        // read marks the receiver changed.
        let mut shown = self.shown.subscribe();
        let me = Arc::clone(self);
        let attached = self.metrics.stream_opened();
        let s = async_stream(move |tx| async move {
            let _attached = attached;
            let mut last = after_seq;
            loop {
                shown.mark_unchanged();
                for ev in me.since(last) {
                    last = ev.seq;
                    let end = ev.is_terminal();
                    if tx.send(Ok(ev)).await.is_err() || end {
                        return;
                    }
                }
                // Attached after the end (the terminal event was before
                // `after_seq`): nothing more will come.
                if me.seen_end(last) {
                    return;
                }
                // The sender lives as long as `me`: this only waits.
                if shown.changed().await.is_err() {
                    return;
                }
            }
        });
        Box::pin(s)
    }
}

/// The log line of an event worth one: phases, failures, the outcome.
/// Called inside the operation's span, which names the release.
fn log(ev: &proto::Event) {
    match &ev.kind {
        Some(Kind::Phase(p)) => tracing::info!(phase = %p.name, "phase started"),
        Some(Kind::ResourceFailed(f)) => {
            let object = f.object.as_ref().map(|o| o.display()).unwrap_or_default();
            tracing::warn!(%object, reason = %f.reason, message = %f.message, "resource failed")
        }
        Some(Kind::Completed(c)) => {
            tracing::info!(description = %c.description, "operation completed")
        }
        Some(Kind::Failed(f)) => {
            tracing::warn!(reason = %f.reason, message = %f.message, "operation failed")
        }
        _ => {}
    }
}

/// A stream fed by a spawned task through a bounded channel.
pub fn async_stream<F, Fut>(
    body: F,
) -> impl Stream<Item = Result<proto::Event, tonic::Status>> + Send
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<proto::Event, tonic::Status>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(body(tx));
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// Flush the journal after events were appended, then show them: one
/// flush for all the events emitted while the previous one ran. Ends when
/// the operation's hub is dropped.
async fn flusher(op: Weak<OpEvents>, mut wake: mpsc::UnboundedReceiver<()>) {
    while wake.recv().await.is_some() {
        while wake.try_recv().is_ok() {}
        let Some(op) = op.upgrade() else { return };
        let upto = op.inner().events.len();
        if let Err(e) = op.journal.flush().await {
            // Show them anyway: a client must not hang on a failing disk.
            tracing::error!(error = %e, "could not flush the journal");
        }
        let mut inner = op.inner();
        op.show(&mut inner, upto);
    }
}

/// Why an operation could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "another operation (install/upgrade/rollback) is in progress on {release} (revision {revision}, {operation})"
)]
pub struct Busy {
    pub release: String,
    pub revision: u64,
    pub operation: String,
}

/// Why the registry did not start an operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotStarted {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error("berthd is shutting down and starts no new operations; retry once it is back")]
    ShuttingDown,
}

/// How long a new operation waits for one that has its outcome to leave
/// the registry (a journal flush) before it is refused as busy.
pub const FINISHING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Default)]
struct Running {
    ops: HashMap<(String, String), Arc<OpEvents>>,
    /// Shutting down: no new operations.
    closed: bool,
}

/// Running operations by release.
pub struct Registry {
    running: Mutex<Running>,
    /// How many operations have ended (for [`crate::memory`]).
    ended: watch::Sender<u64>,
    /// Events kept per operation (berthd --max-events).
    max_events: usize,
    /// What the operations and their streams count.
    pub metrics: Arc<Metrics>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(DEFAULT_MAX_EVENTS)
    }
}

impl Registry {
    pub fn new(max_events: usize) -> Self {
        Registry {
            running: Mutex::default(),
            ended: watch::Sender::new(0),
            max_events,
            metrics: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the in-memory lock of a release for a new operation, whose
    /// first event follows `after_seq`.
    pub fn start(
        &self,
        journal: &Journal,
        namespace: &str,
        release: &str,
        revision: u64,
        operation: OpKind,
        after_seq: u64,
    ) -> Result<Arc<OpEvents>, NotStarted> {
        let mut running = self.lock();
        if running.closed {
            return Err(NotStarted::ShuttingDown);
        }
        let key = (namespace.to_string(), release.to_string());
        if let Some(op) = running.ops.get(&key) {
            return Err(NotStarted::Busy(Busy {
                release: release.to_string(),
                revision: op.revision,
                operation: op.operation.title().to_lowercase(),
            }));
        }
        let op = OpEvents::start(
            self,
            journal.clone(),
            namespace,
            release,
            revision,
            operation,
            after_seq,
        );
        running.ops.insert(key, Arc::clone(&op));
        Ok(op)
    }

    /// Release the in-memory lock; whoever waits for the operation's end
    /// ([`OpEvents::ended`]) goes on.
    pub fn end(&self, op: &OpEvents) {
        let mut running = self.lock();
        let key = (op.namespace.clone(), op.release.clone());
        if running
            .ops
            .get(&key)
            .is_some_and(|o| std::ptr::eq(&**o, op))
        {
            running.ops.remove(&key);
        }
        drop(running);
        self.ended.send_modify(|n| *n += 1);
        op.done.cancel();
    }

    /// Wait (at most [`FINISHING_WAIT`]) for an operation on the release
    /// that has emitted its outcome but not yet left the registry. Its
    /// clients are shown the outcome once the journal holds it, which can be
    /// before the operation's own last flush returns and it leaves: a client
    /// that starts the next operation the moment it saw the outcome (`berth
    /// rollback && berth uninstall`) would otherwise find the release busy.
    /// `namespace` as a request gives it ("" is `default`).
    pub async fn finishing(&self, namespace: &str, release: &str) {
        let Ok(namespace) = berth::types::Namespace::parse(namespace) else {
            return;
        };
        if let Some(op) = self.running(namespace.as_str(), release)
            && op.is_finished()
            && tokio::time::timeout(FINISHING_WAIT, op.ended())
                .await
                .is_err()
        {
            tracing::warn!(namespace = %op.namespace, release = %op.release,
                "an operation that has its outcome did not end within {FINISHING_WAIT:?}");
        }
    }

    /// Changes whenever an operation ends.
    pub fn ends(&self) -> watch::Receiver<u64> {
        self.ended.subscribe()
    }

    /// Whether no operation runs.
    pub fn is_idle(&self) -> bool {
        self.lock().ops.is_empty()
    }

    pub fn running(&self, namespace: &str, release: &str) -> Option<Arc<OpEvents>> {
        self.lock()
            .ops
            .get(&(namespace.to_string(), release.to_string()))
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<OpEvents>> {
        self.lock().ops.values().cloned().collect()
    }

    /// Start no new operations from now on; returns the running ones.
    pub fn close(&self) -> Vec<Arc<OpEvents>> {
        let mut running = self.lock();
        running.closed = true;
        running.ops.values().cloned().collect()
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::time::Duration;

    /// A running operation on a fresh journal (kept alive by the guard).
    fn running(
        max_events: usize,
        operation: OpKind,
        after_seq: u64,
    ) -> (tempfile::TempDir, Arc<OpEvents>) {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let op = Registry::new(max_events)
            .start(&journal, "ns", "a", 2, operation, after_seq)
            .unwrap();
        (dir, op)
    }

    fn progress(i: u32) -> Kind {
        Kind::ResourceProgress(proto::ResourceProgress {
            message: format!("step {i}"),
            ..Default::default()
        })
    }

    /// An operation that has its outcome but has not left the registry yet
    /// (its last flush) makes the next one on the release wait, not fail;
    /// one still running makes it fail at once.
    #[tokio::test]
    async fn the_next_operation_waits_for_one_that_has_its_outcome_to_leave() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let registry = Arc::new(Registry::default());
        let start = || registry.start(&journal, "ns", "a", 3, OpKind::Uninstall, 0);
        let op = registry
            .start(&journal, "ns", "a", 2, OpKind::Rollback, 0)
            .unwrap();

        registry.finishing("ns", "a").await;
        assert!(matches!(start(), Err(NotStarted::Busy(_))));

        op.emit(Kind::Completed(proto::Completed::default()));
        assert!(matches!(start(), Err(NotStarted::Busy(_))));
        let ending = tokio::spawn({
            let (registry, op) = (Arc::clone(&registry), Arc::clone(&op));
            async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                registry.end(&op);
            }
        });
        registry.finishing("ns", "a").await;
        start().expect("the finished operation has left");
        ending.await.unwrap();
    }

    #[tokio::test]
    async fn an_operation_keeps_at_most_max_events_and_always_its_end() {
        let (_dir, op) = running(MIN_EVENTS, OpKind::Install, 0);
        for i in 0..100 {
            op.emit(progress(i));
        }
        op.emit(Kind::Completed(proto::Completed::default()));
        let events: Vec<_> = op.stream(0).map(|e| e.unwrap()).collect().await;
        assert_eq!(events.len(), MIN_EVENTS);
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=MIN_EVENTS as u64).collect::<Vec<_>>());
        assert!(matches!(
            events[MIN_EVENTS - 2].kind,
            Some(Kind::EventsLimited(proto::EventsLimited { limit })) if limit == MIN_EVENTS as u64
        ));
        assert!(events[MIN_EVENTS - 1].is_terminal());
        assert!(matches!(
            &events[MIN_EVENTS - 3].kind,
            Some(Kind::ResourceProgress(p)) if p.message == "step 5"
        ));
    }

    #[tokio::test]
    async fn each_client_gets_every_event_after_its_seq_once_in_order_through_a_burst() {
        // Numbered after 10, as an uninstall's events follow its revision's.
        let (_dir, op) = running(DEFAULT_MAX_EVENTS, OpKind::Uninstall, 10);
        for i in 0..3 {
            op.emit(progress(i));
        }
        let everything = op.stream(0);
        let after_12 = op.stream(12);
        let after_13 = op.stream(13);
        // Far more events than a client reads before the next arrive.
        for i in 3..3000 {
            op.emit(progress(i));
        }
        op.emit(Kind::Completed(proto::Completed::default()));
        let seqs = |s: EventStream| s.map(|e| e.unwrap().seq).collect::<Vec<_>>();
        assert_eq!(seqs(everything).await, (11..=3011).collect::<Vec<_>>());
        assert_eq!(seqs(after_12).await, (13..=3011).collect::<Vec<_>>());
        assert_eq!(seqs(after_13).await, (14..=3011).collect::<Vec<_>>());
        // A client that has seen the end gets nothing and does not wait.
        let rest = tokio::time::timeout(Duration::from_secs(10), seqs(op.stream(3011)));
        assert_eq!(rest.await.expect("the stream ends"), Vec::<u64>::new());
    }
}
