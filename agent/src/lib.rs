//! berthd, the in-cluster release agent.
//!
//! Layout: [`server`] is the gRPC edge (authentication, decoding, status
//! codes); [`ops`] holds the operations as plain async functions;
//! [`journal`] is the sled-backed record of releases, revisions and events;
//! [`cluster`] talks to Kubernetes through the `kube` client; [`track`]
//! watches rollouts; [`events`] fans an operation's events out to clients;
//! [`tls`] serves mutual TLS and reloads its files when they change.
//!
//! [`start`] runs an agent in-process (tests, `berth demo`); the `berthd`
//! binary is a thin wrapper around it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use berth::proto::{self, event::Kind, release_agent_server::ReleaseAgentServer};
use tokio_util::sync::CancellationToken;

pub mod cluster;
pub mod events;
pub mod health;
pub mod http;
pub mod journal;
pub mod metrics;
pub mod ops;
pub mod policy;
pub mod server;
pub mod tls;
pub mod track;

/// Largest gRPC message either side accepts: revisions are not capped at
/// Helm's 1 MiB, so a big manifest must fit in a GetRevision answer.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024 * 1024;

/// A validated agent configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub listen: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
    /// Revoked client certificates (PEM CRLs of the client CA).
    pub crl: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub kubeconfig: Option<PathBuf>,
    /// Who may do what (berthd --policy / --admin).
    pub policy: policy::PolicySource,
    pub settings: ops::Settings,
}

/// rustls needs one process-wide crypto provider; berth compiles only ring.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An agent serving on a bound address.
pub struct RunningAgent {
    pub addr: SocketAddr,
    pub agent: Arc<ops::Agent>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningAgent {
    /// Stop accepting calls and wait for the server to end.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await.context("agent task")?
    }

    /// Serve health, readiness and metrics over plain HTTP on `addr`
    /// (`berthd --http-listen`) until the agent shuts down; returns the
    /// bound address.
    pub async fn serve_http(&self, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
        let (bound, _task) =
            http::serve(Arc::clone(&self.agent), addr, self.shutdown.clone()).await?;
        Ok(bound)
    }

    /// Serve until `signal` completes, then shut down.
    pub async fn serve_until(
        self,
        signal: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let token = self.shutdown.clone();
        tokio::select! {
            _ = signal => {}
            _ = token.cancelled() => {}
        }
        self.shutdown().await
    }
}

/// Open the journal (resolving operations a crash left pending), connect to
/// the cluster, bind the listener and serve gRPC over mutual TLS.
pub async fn start(config: AgentConfig) -> anyhow::Result<RunningAgent> {
    install_crypto_provider();
    let tls = tls::ServerTls::load(tls::TlsFiles {
        cert: config.cert.clone(),
        key: config.key.clone(),
        client_ca: config.client_ca.clone(),
        crl: config.crl.clone(),
    })
    .await?;

    let auth =
        Arc::new(policy::Authorizer::new(config.policy.clone()).map_err(anyhow::Error::msg)?);

    let journal = journal::Journal::open(&config.data_dir)?;
    let resolved = journal.recover().await?;
    for (ns, name, rev, op) in &resolved {
        tracing::warn!(namespace = %ns, release = %name, revision = rev, operation = ?op,
            "operation interrupted by a restart marked failed");
        let after = journal
            .events(ns, name, *rev, 0)?
            .last()
            .map(|e| e.seq)
            .unwrap_or(0);
        let description = journal
            .revision(ns, name, *rev)?
            .map(|r| r.description)
            .unwrap_or_default();
        journal.append_events(&[proto::Event {
            release: name.clone(),
            namespace: ns.clone(),
            revision: *rev,
            seq: after + 1,
            time_unix_ms: journal::now_ms(),
            kind: Some(Kind::Failed(proto::Failed {
                reason: "Interrupted".into(),
                message: description,
                culprit: None,
                status: proto::ReleaseStatus::Failed as i32,
            })),
        }])?;
    }
    journal.flush().await?;

    let cluster = cluster::Cluster::connect(config.kubeconfig.as_deref()).await?;
    let agent = Arc::new(ops::Agent {
        journal,
        cluster: Arc::new(cluster),
        registry: events::Registry::default(),
        settings: config.settings.clone(),
        counters: Default::default(),
        drift: Default::default(),
    });

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let svc = ReleaseAgentServer::new(server::Service::new(Arc::clone(&agent), auth))
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let shutdown = CancellationToken::new();
    // grpc.health.v1 and server reflection beside berth's own service, so
    // that grpcurl and gRPC health probes work (with a client certificate).
    let (health_reporter, health_svc) = tonic_health::server::health_reporter();
    let health = health::publish(&agent, &health_reporter, None).await;
    tokio::spawn(health::report(
        Arc::clone(&agent),
        health_reporter,
        health,
        shutdown.clone(),
    ));
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("gRPC reflection")?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("gRPC reflection")?;
    if let Some(every) = config.settings.drift_interval {
        tokio::spawn(ops::drift::watch(
            Arc::clone(&agent),
            every,
            shutdown.clone(),
        ));
    }
    let incoming = tls.serve(listener, shutdown.clone());
    let token = shutdown.clone();
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(svc)
            .add_service(health_svc)
            .add_service(reflection)
            .add_service(reflection_alpha)
            .serve_with_incoming_shutdown(incoming, token.cancelled_owned())
            .await
            .context("gRPC server")
    });
    tracing::info!(%addr, "berthd listening");
    Ok(RunningAgent {
        addr,
        agent,
        shutdown,
        task,
    })
}
