//! The event hub of running operations.
//!
//! An operation emits typed events into its [`OpEvents`]: each gets the next
//! sequence number and a timestamp, is kept in memory, appended to the
//! journal once the operation's revision is recorded, and broadcast to every
//! attached client. The client that started the operation is only one
//! subscriber among others — it can disconnect and re-attach (`berth watch`)
//! without the operation noticing.
//!
//! [`Registry`] maps a release to its running operation; being in the
//! registry is also the in-memory half of the per-release lock (the journal
//! holds the durable half once a revision is pending).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use berth::proto::{self, event::Kind};
use futures::Stream;
use tokio::sync::broadcast;

use crate::journal::{Journal, OpKind};
use crate::metrics::Metrics;

pub type EventStream = Pin<Box<dyn Stream<Item = Result<proto::Event, tonic::Status>> + Send>>;

struct Inner {
    events: Vec<proto::Event>,
    /// Events are written to the journal from this point on.
    persisted: bool,
    finished: bool,
}

/// The events of one running operation.
pub struct OpEvents {
    pub namespace: String,
    pub release: String,
    pub revision: u64,
    pub operation: OpKind,
    journal: Journal,
    inner: Mutex<Inner>,
    tx: broadcast::Sender<proto::Event>,
    metrics: Arc<Metrics>,
    started: std::time::Instant,
}

impl OpEvents {
    fn new(
        journal: Journal,
        namespace: &str,
        release: &str,
        revision: u64,
        operation: OpKind,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (tx, _) = broadcast::channel(1024);
        OpEvents {
            namespace: namespace.to_string(),
            release: release.to_string(),
            revision,
            operation,
            journal,
            inner: Mutex::new(Inner {
                events: Vec::new(),
                persisted: false,
                finished: false,
            }),
            tx,
            metrics,
            started: std::time::Instant::now(),
        }
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
    /// broadcast it.
    pub fn emit(&self, kind: Kind) -> proto::Event {
        let mut inner = self.inner.lock().expect("event hub lock poisoned");
        let ev = proto::Event {
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            revision: self.revision,
            seq: inner.events.len() as u64 + 1,
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
        if inner.persisted
            && let Err(e) = self.journal.append_events(std::slice::from_ref(&ev))
        {
            tracing::error!(error = %e, "could not journal an event");
        }
        // No receivers is fine: nobody is attached right now.
        let _ = self.tx.send(ev.clone());
        ev
    }

    /// Hand over the events emitted so far for the transaction that records
    /// the revision; later events go straight to the journal.
    pub fn take_for_journal(&self) -> Vec<proto::Event> {
        let mut inner = self.inner.lock().expect("event hub lock poisoned");
        inner.persisted = true;
        inner.events.clone()
    }

    /// Events after `after_seq` so far, and a receiver for the rest.
    fn subscribe(
        &self,
        after_seq: u64,
    ) -> (Vec<proto::Event>, broadcast::Receiver<proto::Event>, bool) {
        let inner = self.inner.lock().expect("event hub lock poisoned");
        let backlog = inner
            .events
            .iter()
            .filter(|e| e.seq > after_seq)
            .cloned()
            .collect();
        (backlog, self.tx.subscribe(), inner.finished)
    }

    fn since(&self, after_seq: u64) -> Vec<proto::Event> {
        let inner = self.inner.lock().expect("event hub lock poisoned");
        inner
            .events
            .iter()
            .filter(|e| e.seq > after_seq)
            .cloned()
            .collect()
    }

    /// A stream of this operation's events after `after_seq`, ending with
    /// the terminal event.
    pub fn stream(self: &Arc<Self>, after_seq: u64) -> EventStream {
        let (backlog, mut rx, _finished) = self.subscribe(after_seq);
        let me = Arc::clone(self);
        let attached = self.metrics.stream_opened();
        let s = async_stream(move |tx| async move {
            let _attached = attached;
            let mut last = after_seq;
            for ev in backlog {
                last = ev.seq;
                let end = ev.is_terminal();
                if tx.send(Ok(ev)).await.is_err() || end {
                    return;
                }
            }
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        if ev.seq <= last {
                            continue;
                        }
                        last = ev.seq;
                        let end = ev.is_terminal();
                        if tx.send(Ok(ev)).await.is_err() || end {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Catch up from the kept events.
                        for ev in me.since(last) {
                            last = ev.seq;
                            let end = ev.is_terminal();
                            if tx.send(Ok(ev)).await.is_err() || end {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        for ev in me.since(last) {
                            if tx.send(Ok(ev)).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
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

/// Why an operation could not start.
#[derive(Debug, Clone, thiserror::Error)]
#[error("operation in progress on {release} (revision {revision}, {operation})")]
pub struct Busy {
    pub release: String,
    pub revision: u64,
    pub operation: String,
}

/// Running operations by release.
#[derive(Default)]
pub struct Registry {
    ops: Mutex<HashMap<(String, String), Arc<OpEvents>>>,
    /// What the operations and their streams count.
    pub metrics: Arc<Metrics>,
}

impl Registry {
    /// Take the in-memory lock of a release for a new operation.
    pub fn start(
        &self,
        journal: &Journal,
        namespace: &str,
        release: &str,
        revision: u64,
        operation: OpKind,
    ) -> Result<Arc<OpEvents>, Busy> {
        let mut ops = self.ops.lock().expect("registry lock poisoned");
        let key = (namespace.to_string(), release.to_string());
        if let Some(running) = ops.get(&key) {
            return Err(Busy {
                release: release.to_string(),
                revision: running.revision,
                operation: running.operation.title().to_lowercase(),
            });
        }
        let op = Arc::new(OpEvents::new(
            journal.clone(),
            namespace,
            release,
            revision,
            operation,
            Arc::clone(&self.metrics),
        ));
        ops.insert(key, Arc::clone(&op));
        Ok(op)
    }

    /// Release the in-memory lock.
    pub fn end(&self, op: &OpEvents) {
        let mut ops = self.ops.lock().expect("registry lock poisoned");
        let key = (op.namespace.clone(), op.release.clone());
        if ops.get(&key).is_some_and(|o| o.revision == op.revision) {
            ops.remove(&key);
        }
    }

    pub fn running(&self, namespace: &str, release: &str) -> Option<Arc<OpEvents>> {
        let ops = self.ops.lock().expect("registry lock poisoned");
        ops.get(&(namespace.to_string(), release.to_string()))
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<OpEvents>> {
        self.ops
            .lock()
            .expect("registry lock poisoned")
            .values()
            .cloned()
            .collect()
    }
}
