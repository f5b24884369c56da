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

pub type EventStream = Pin<Box<dyn Stream<Item = Result<proto::Event, tonic::Status>> + Send>>;

struct Inner {
    events: Vec<proto::Event>,
    /// Events are written to the journal from this point on.
    persisted: bool,
    finished: bool,
}

/// The fewest events per operation an agent may be configured to keep: the
/// first ones say what the operation is, the last one how it ended.
pub const MIN_EVENTS: usize = 8;

/// The events of one running operation.
pub struct OpEvents {
    pub namespace: String,
    pub release: String,
    pub revision: u64,
    pub operation: OpKind,
    /// The most events kept (and journaled, and sent), the final one
    /// included; see [`OpEvents::emit`].
    max_events: usize,
    journal: Journal,
    inner: Mutex<Inner>,
    tx: broadcast::Sender<proto::Event>,
}

impl OpEvents {
    fn new(
        journal: Journal,
        namespace: &str,
        release: &str,
        revision: u64,
        operation: OpKind,
        max_events: usize,
    ) -> Self {
        let (tx, _) = broadcast::channel(1024);
        OpEvents {
            namespace: namespace.to_string(),
            release: release.to_string(),
            revision,
            operation,
            max_events: max_events.max(MIN_EVENTS),
            journal,
            inner: Mutex::new(Inner {
                events: Vec::new(),
                persisted: false,
                finished: false,
            }),
            tx,
        }
    }

    /// Emit one event: number it, keep it, journal it (once persisted),
    /// broadcast it. An operation keeps at most `max_events` events: the
    /// last but one it may keep before its end says so (EventsLimited), the
    /// ones after it are dropped, and the terminal event is always kept.
    pub fn emit(&self, kind: Kind) {
        let mut inner = self.inner.lock().expect("event hub lock poisoned");
        let terminal = matches!(kind, Kind::Completed(_) | Kind::Failed(_));
        let kept = inner.events.len();
        let kind = if terminal || kept + 2 < self.max_events {
            kind
        } else if kept + 2 == self.max_events {
            Kind::EventsLimited(proto::EventsLimited {
                limit: self.max_events as u64,
            })
        } else {
            return;
        };
        let ev = proto::Event {
            release: self.release.clone(),
            namespace: self.namespace.clone(),
            revision: self.revision,
            seq: inner.events.len() as u64 + 1,
            time_unix_ms: crate::journal::now_ms(),
            kind: Some(kind),
        };
        inner.events.push(ev.clone());
        if ev.is_terminal() {
            inner.finished = true;
        }
        if inner.persisted
            && let Err(e) = self.journal.append_events(std::slice::from_ref(&ev))
        {
            tracing::error!(error = %e, "could not journal an event");
        }
        // No receivers is fine: nobody is attached right now.
        let _ = self.tx.send(ev);
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
        let s = async_stream(move |tx| async move {
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
pub struct Registry {
    ops: Mutex<HashMap<(String, String), Arc<OpEvents>>>,
    /// Events kept per operation (berthd --max-events).
    max_events: usize,
}

/// berthd's default --max-events.
pub const DEFAULT_MAX_EVENTS: usize = 10_000;

impl Default for Registry {
    fn default() -> Self {
        Registry::new(DEFAULT_MAX_EVENTS)
    }
}

impl Registry {
    pub fn new(max_events: usize) -> Self {
        Registry {
            ops: Mutex::new(HashMap::new()),
            max_events,
        }
    }

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
            self.max_events,
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn progress(i: u32) -> Kind {
        Kind::ResourceProgress(proto::ResourceProgress {
            message: format!("step {i}"),
            ..Default::default()
        })
    }

    #[tokio::test]
    async fn an_operation_keeps_at_most_max_events_and_always_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let registry = Registry::new(MIN_EVENTS);
        let op = registry
            .start(&journal, "ns", "a", 1, OpKind::Install)
            .unwrap();
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
}
