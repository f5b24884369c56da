//! Is berthd ready to work? Ready means the journal answers reads, the
//! cluster's API server answers, and the TLS configuration is loaded (it is
//! whenever the agent runs: [`crate::start`] refuses to start without it,
//! and a broken replacement keeps the previous one).
//!
//! The same check answers HTTP `/readyz` and feeds the standard gRPC health
//! service (grpc.health.v1), refreshed every [`REFRESH`].

use std::sync::Arc;
use std::time::Duration;

use berth::proto::release_agent_server::ReleaseAgentServer;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::ops::Agent;
use crate::server::Service;

/// How often the gRPC health status is re-checked.
pub const REFRESH: Duration = Duration::from_secs(5);
/// How long the API server may take to answer a readiness check.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(3);

/// One readiness condition and what is wrong with it, if anything.
pub struct Condition {
    pub name: &'static str,
    pub problem: Option<String>,
}

/// Check every readiness condition.
pub async fn check(agent: &Agent) -> Vec<Condition> {
    let journal = agent.journal.ping().err().map(|e| e.to_string());
    let cluster = match tokio::time::timeout(CLUSTER_TIMEOUT, agent.cluster.server_version()).await
    {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "the API server did not answer within {}s",
            CLUSTER_TIMEOUT.as_secs()
        )),
    };
    vec![
        Condition {
            name: "journal",
            problem: journal,
        },
        Condition {
            name: "cluster",
            problem: cluster,
        },
        Condition {
            name: "tls",
            problem: None,
        },
    ]
}

/// Check once and publish the result as the gRPC health status of "" and
/// berth.v1.ReleaseAgent, logging when it differs from `last`.
pub async fn publish(
    agent: &Agent,
    reporter: &HealthReporter,
    last: Option<ServingStatus>,
) -> ServingStatus {
    let problems: Vec<String> = check(agent)
        .await
        .into_iter()
        .filter_map(|c| c.problem.map(|p| format!("{}: {p}", c.name)))
        .collect();
    let status = if problems.is_empty() {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    if last != Some(status) {
        if problems.is_empty() {
            tracing::info!("ready");
        } else {
            tracing::warn!(problems = %problems.join("; "), "not ready");
        }
    }
    reporter.set_service_status("", status).await;
    match status {
        ServingStatus::Serving => reporter.set_serving::<ReleaseAgentServer<Service>>().await,
        _ => {
            reporter
                .set_not_serving::<ReleaseAgentServer<Service>>()
                .await
        }
    }
    status
}

/// Keep the gRPC health status in step with [`check`] every [`REFRESH`]
/// until `shutdown`, starting from `last`.
pub async fn report(
    agent: Arc<Agent>,
    reporter: HealthReporter,
    mut last: ServingStatus,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        last = publish(&agent, &reporter, Some(last)).await;
    }
}
