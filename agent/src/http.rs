//! The plain-HTTP operations port (`berthd --http-listen`): `/healthz`
//! (the process is up), `/readyz` (journal, cluster and TLS are usable;
//! see [`crate::health`]) and `/metrics` (Prometheus, OpenMetrics text).
//!
//! It carries no release data and no way to change anything, which is why
//! it can do without mTLS: kubelet probes and Prometheus cannot present
//! client certificates.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::ops::Agent;

/// Bind `addr` and serve until `shutdown`; returns the bound address.
pub async fn serve(
    agent: Arc<Agent>,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (--http-listen)"))?;
    let bound = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(agent);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    tracing::info!(addr = %bound, "berthd HTTP (health, metrics) listening");
    Ok((bound, task))
}

/// 200 with one line per condition when all hold, else 503 naming the
/// ones that do not.
async fn readyz(State(agent): State<Arc<Agent>>) -> impl IntoResponse {
    let conditions = crate::health::check(&agent).await;
    let ready = conditions.iter().all(|c| c.problem.is_none());
    let body: String = conditions
        .iter()
        .map(|c| match &c.problem {
            None => format!("{}: ok\n", c.name),
            Some(p) => format!("{}: {p}\n", c.name),
        })
        .collect();
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, body)
}

async fn metrics(State(agent): State<Arc<Agent>>) -> impl IntoResponse {
    let text = agent.registry.metrics.render(&agent);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
}
