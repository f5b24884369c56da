//! What berthd counts, and its Prometheus exposition (`GET /metrics` on the
//! `--http-listen` port, OpenMetrics text).
//!
//! Operation outcomes, durations, emitted events and open event streams are
//! recorded as they happen by the event hub ([`crate::events`]); the rest
//! (journal size, releases by status, drift, chart bytes) is read from the
//! agent when a scrape comes, so there is one source of truth for each.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::journal::OpKind;
use crate::ops::Agent;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    verb: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerbLabels {
    verb: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReleaseLabels {
    namespace: String,
    release: String,
}

type DurationFamily = Family<VerbLabels, Histogram, fn() -> Histogram>;

/// The agent's metrics.
pub struct Metrics {
    registry: Registry,
    operations: Family<OpLabels, Counter>,
    durations: DurationFamily,
    events: Counter,
    streams: Gauge,
    chart_bytes: Counter,
    uploads_skipped: Counter,
    uploads_received: Counter,
    chart_connections: Counter,
    journal_bytes: Gauge,
    releases: Family<StatusLabels, Gauge>,
    drifted: Family<ReleaseLabels, Gauge>,
    drift_checks: Counter,
    /// One scrape at a time: scrapes bring the mirrored counters up to date.
    scrape: Mutex<()>,
}

fn duration_histogram() -> Histogram {
    // 0.1 s … ~27 min: a dry run to a long rollout.
    Histogram::new(exponential_buckets(0.1, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("berth");
        let operations = Family::<OpLabels, Counter>::default();
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        let events = Counter::default();
        let streams = Gauge::default();
        let chart_bytes = Counter::default();
        let uploads_skipped = Counter::default();
        let uploads_received = Counter::default();
        let chart_connections = Counter::default();
        let journal_bytes = Gauge::default();
        let releases = Family::<StatusLabels, Gauge>::default();
        let drifted = Family::<ReleaseLabels, Gauge>::default();
        let drift_checks = Counter::default();
        registry.register(
            "operations",
            "Operations finished, by verb (install, upgrade, rollback, uninstall, test) and result (succeeded, failed)",
            operations.clone(),
        );
        registry.register(
            "operation_duration_seconds",
            "How long operations took, from accepted to their last event",
            durations.clone(),
        );
        registry.register(
            "events_emitted",
            "Progress events emitted by operations",
            events.clone(),
        );
        registry.register(
            "event_streams_active",
            "Clients attached to a running operation's event stream",
            streams.clone(),
        );
        registry.register(
            "chart_bytes_received",
            "Chart bytes received in uploads",
            chart_bytes.clone(),
        );
        registry.register(
            "chart_uploads_skipped",
            "Uploads skipped because the agent held the chart already",
            uploads_skipped.clone(),
        );
        registry.register(
            "chart_uploads_received",
            "Chart uploads received whole and hashed",
            uploads_received.clone(),
        );
        registry.register(
            "chart_connections",
            "Chart uploads whose bytes came on a chart connection instead of as chunks",
            chart_connections.clone(),
        );
        registry.register(
            "journal_size_bytes",
            "Size of the journal on disk",
            journal_bytes.clone(),
        );
        registry.register(
            "releases",
            "Releases by the status of their newest revision",
            releases.clone(),
        );
        registry.register(
            "drift_objects",
            "Objects of the deployed revision found changed by the last drift check, per release",
            drifted.clone(),
        );
        registry.register(
            "drift_checks",
            "Drift checks run (berth drift and berthd --drift-interval)",
            drift_checks.clone(),
        );
        Metrics {
            registry,
            operations,
            durations,
            events,
            streams,
            chart_bytes,
            uploads_skipped,
            uploads_received,
            chart_connections,
            journal_bytes,
            releases,
            drifted,
            drift_checks,
            scrape: Mutex::new(()),
        }
    }
}

/// The verb label of an operation kind.
pub fn verb(kind: OpKind) -> String {
    kind.title().to_lowercase()
}

impl Metrics {
    /// An operation ended; `succeeded` is whether it completed.
    pub fn operation_finished(&self, kind: OpKind, succeeded: bool, took: Duration) {
        let verb = verb(kind);
        let result = if succeeded { "succeeded" } else { "failed" };
        self.operations
            .get_or_create(&OpLabels {
                verb: verb.clone(),
                result: result.into(),
            })
            .inc();
        self.durations
            .get_or_create(&VerbLabels { verb })
            .observe(took.as_secs_f64());
    }

    pub fn event_emitted(&self) {
        self.events.inc();
    }

    /// A client attached to an event stream; the guard detaches it.
    pub fn stream_opened(self: &std::sync::Arc<Self>) -> StreamGuard {
        self.streams.inc();
        StreamGuard(std::sync::Arc::clone(self))
    }

    pub fn drift_checked(&self) {
        self.drift_checks.inc();
    }

    /// The exposition, with the values read from the agent brought up to date.
    pub fn render(&self, agent: &Agent) -> String {
        use std::sync::atomic::Ordering;
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        // The agent's own counters only grow; mirror them by their increase.
        let received = agent.counters.chart_bytes_received.load(Ordering::Relaxed);
        self.chart_bytes
            .inc_by(received.saturating_sub(self.chart_bytes.get()));
        let skipped = agent.counters.chart_uploads_skipped.load(Ordering::Relaxed);
        self.uploads_skipped
            .inc_by(skipped.saturating_sub(self.uploads_skipped.get()));
        let whole = agent
            .counters
            .chart_uploads_received
            .load(Ordering::Relaxed);
        self.uploads_received
            .inc_by(whole.saturating_sub(self.uploads_received.get()));
        let by_connection = agent.counters.chart_connections.load(Ordering::Relaxed);
        self.chart_connections
            .inc_by(by_connection.saturating_sub(self.chart_connections.get()));
        self.journal_bytes
            .set(agent.journal.size_on_disk().unwrap_or(0) as i64);

        self.releases.clear();
        if let Ok(heads) = agent.journal.heads() {
            for head in heads {
                if let Ok(Some(rec)) =
                    agent
                        .journal
                        .revision(&head.namespace, &head.name, head.latest)
                {
                    self.releases
                        .get_or_create(&StatusLabels {
                            status: rec.status.to_proto().helm_name().to_string(),
                        })
                        .inc();
                }
            }
        }
        self.drifted.clear();
        for (ns, name, summary) in agent.drift.all() {
            self.drifted
                .get_or_create(&ReleaseLabels {
                    namespace: ns,
                    release: name,
                })
                .set(summary.changed as i64);
        }

        let mut text = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        text
    }
}

/// Holds one event stream counted as active.
pub struct StreamGuard(std::sync::Arc<Metrics>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.streams.dec();
    }
}
