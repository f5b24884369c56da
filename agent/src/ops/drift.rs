//! Drift: how the live objects of a release differ from its deployed
//! revision. Each object of that revision's stored manifest is applied as a
//! server-side dry run (exactly what a re-apply would send) and compared
//! with the live object, the same comparison `berth diff` makes. Fields
//! berth never set (another manager's labels, status) are not drift; fields
//! it set and someone changed (`kubectl scale`, an edited ConfigMap) are,
//! and so is an object that is gone.
//!
//! The last result per release is kept in memory ([`Store`]) for `berth
//! status` and /metrics; `berthd --drift-interval` refreshes it for every
//! deployed release ([`watch`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::proto::{self, DriftReport, DriftRequest};
use berth::types::{Namespace, ReleaseName};
use tokio_util::sync::CancellationToken;

use super::{Agent, OpError};
use crate::journal::Status;

/// The last drift check of each release.
#[derive(Default)]
pub struct Store {
    last: Mutex<BTreeMap<(String, String), proto::DriftSummary>>,
}

impl Store {
    fn record(&self, ns: &str, name: &str, summary: proto::DriftSummary) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((ns.to_string(), name.to_string()), summary);
    }

    fn forget(&self, ns: &str, name: &str) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(ns.to_string(), name.to_string()));
    }

    /// The last check of a release, if one ran.
    pub fn get(&self, ns: &str, name: &str) -> Option<proto::DriftSummary> {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Every release's last check: (namespace, name, summary).
    pub fn all(&self) -> Vec<(String, String, proto::DriftSummary)> {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((ns, name), s)| (ns.clone(), name.clone(), *s))
            .collect()
    }
}

/// Compare the deployed revision of a release with the cluster.
pub async fn check(agent: &Agent, req: &DriftRequest) -> Result<DriftReport, OpError> {
    let name = ReleaseName::parse(&req.release)?;
    let ns = Namespace::parse(&req.namespace)?;
    let (ns, name) = (ns.as_str(), name.as_str());
    let head = agent
        .journal
        .head(ns, name)?
        .ok_or_else(|| OpError::NotFound(format!("release: not found: {name}")))?;
    let Some(revision) = head.deployed else {
        return Err(OpError::FailedPrecondition(format!(
            "release {name} has no deployed revision to compare with"
        )));
    };
    let rec = agent.journal.revision(ns, name, revision)?.ok_or_else(|| {
        OpError::NotFound(format!("release: not found: {name} revision {revision}"))
    })?;
    let objects = super::parse_revision(&agent.journal, &rec)
        .await
        .map_err(|f| OpError::FailedPrecondition(f.message))?;
    let mut changes = Vec::new();
    // The server's default validation: the comparison is with what is live.
    let how = super::diff::How {
        show_secrets: req.show_secrets,
        validation: None,
    };
    for o in &objects {
        if let Some(change) = super::diff::compare(agent, o, name, ns, &how).await? {
            changes.push(change);
        }
    }
    let checked_unix_ms = crate::journal::now_ms();
    agent.registry.metrics.drift_checked();
    agent.drift.record(
        ns,
        name,
        proto::DriftSummary {
            revision,
            changed: changes.len() as u64,
            checked_unix_ms,
        },
    );
    if !changes.is_empty() {
        tracing::info!(
            namespace = ns,
            release = name,
            revision,
            changed = changes.len(),
            "drift detected"
        );
    }
    Ok(DriftReport {
        release: name.to_string(),
        namespace: ns.to_string(),
        revision,
        checked_unix_ms,
        changes,
    })
}

/// Check every deployed release each `every` until `shutdown`
/// (`berthd --drift-interval`). Releases with an operation running are
/// skipped this round: their objects are meant to be changing.
pub async fn watch(agent: Arc<Agent>, every: Duration, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let heads = match agent.journal.heads() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "drift check: cannot read the journal");
                continue;
            }
        };
        for head in heads {
            if agent
                .registry
                .running(&head.namespace, &head.name)
                .is_some()
            {
                continue;
            }
            let deployed = head.deployed.is_some()
                && matches!(
                    agent.journal.revision(&head.namespace, &head.name, head.latest),
                    Ok(Some(rec)) if rec.status != Status::Uninstalled
                );
            if !deployed {
                agent.drift.forget(&head.namespace, &head.name);
                continue;
            }
            let req = DriftRequest {
                release: head.name.clone(),
                namespace: head.namespace.clone(),
                show_secrets: false,
            };
            if let Err(e) = check(&agent, &req).await {
                tracing::warn!(namespace = %head.namespace, release = %head.name,
                    error = %e, "drift check failed");
            }
        }
    }
}
