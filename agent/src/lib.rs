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
use std::time::Duration;

use anyhow::Context;
use berth::proto::{self, event::Kind, release_agent_server::ReleaseAgentServer};
use tokio_util::sync::CancellationToken;

pub mod cluster;
pub mod events;
pub mod health;
pub mod helm_release;
pub mod http;
pub mod journal;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod ops;
pub mod policy;
pub mod server;
pub mod spool;
pub mod tls;
pub mod track;
pub mod uploads;

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

/// How long the server may take to finish its calls once the operations
/// are over (their streams end with them).
const SERVER_STOP: Duration = Duration::from_secs(5);

impl RunningAgent {
    /// Stop gracefully: start no new operations (they are refused with
    /// UNAVAILABLE), let the running ones finish within the grace period
    /// (`Settings::shutdown_grace`), record those still running as
    /// interrupted, then stop serving, with the journal flushed.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        drain(&self.agent).await;
        self.shutdown.cancel();
        let served = match tokio::time::timeout(SERVER_STOP, self.task).await {
            Ok(done) => done.context("agent task")?,
            Err(_) => {
                tracing::warn!("calls still open after the operations ended; closing them");
                Ok(())
            }
        };
        self.agent.journal.flush().await?;
        tracing::info!("berthd stopped");
        served
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

/// Refuse new operations, wait up to the grace period for the running ones,
/// then abort the rest as interrupted (their revisions failed, their
/// clients told) and wait for that to be recorded.
async fn drain(agent: &ops::Agent) {
    let running = agent.registry.close();
    let grace = agent.settings.shutdown_grace;
    tracing::info!(
        operations = running.len(),
        grace_seconds = grace.as_secs(),
        "shutting down: no new operations; waiting for the running ones"
    );
    let ended = || futures::future::join_all(running.iter().map(|op| op.ended()));
    if tokio::time::timeout(grace, ended()).await.is_ok() {
        return;
    }
    for op in &running {
        op.abort(events::Abort::interrupted(grace));
    }
    ended().await;
}

/// Load the TLS files and the policy, configure the cluster client, open the
/// journal (resolving operations a crash left pending), bind the listener
/// and serve gRPC over mutual TLS.
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

    // The kubeconfig is checked before the journal is opened (a new one is
    // created on disk), so a berthd that cannot use it leaves nothing. The
    // port is bound after recovery: until then a client is refused at once
    // rather than kept waiting in its TLS handshake.
    let cluster = cluster::Cluster::connect(config.kubeconfig.as_deref()).await?;

    let journal = journal::Journal::open_cached(&config.data_dir, config.settings.journal_cache)?;
    let refuse = |e: journal::JournalError| {
        anyhow::anyhow!(
            "journal at {}: {e} — refusing to start (`berthd journal check --data {}` lists every problem)",
            config.data_dir.display(),
            config.data_dir.display()
        )
    };
    journal.scan().map_err(refuse)?;
    let resolved = journal.recover().await.map_err(refuse)?;
    journal.resume_collection();
    match journal.sweep_charts() {
        Ok(swept) if !swept.is_empty() => tracing::info!(
            charts = swept.len(),
            "removed chart files no revision names (left by an interrupted operation)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not remove chart files no revision names"),
    }
    for (ns, name, rev, op) in &resolved {
        tracing::warn!(namespace = %ns, release = %name, revision = rev, operation = ?op,
            "operation interrupted by a restart marked failed");
        let after = journal.last_event_seq(ns, name, *rev)?;
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

    let agent = Arc::new(ops::Agent {
        journal,
        cluster: Arc::new(cluster),
        registry: events::Registry::new(config.settings.max_events),
        settings: config.settings.clone(),
        counters: Default::default(),
        drift: Default::default(),
    });

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let uploads = Arc::new(uploads::Uploads::default());
    let svc = ReleaseAgentServer::new(server::Service::new(
        Arc::clone(&agent),
        auth,
        Arc::clone(&uploads),
    ))
    .max_decoding_message_size(config.settings.max_request_bytes())
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
    tokio::spawn({
        let (agent, shutdown) = (Arc::clone(&agent), shutdown.clone());
        async move {
            memory::trim_when_idle(&agent.registry, memory::IDLE_AFTER, shutdown, memory::trim)
                .await
        }
    });
    if let Some(every) = config.settings.drift_interval {
        tokio::spawn(ops::drift::watch(
            Arc::clone(&agent),
            every,
            shutdown.clone(),
        ));
    }
    let incoming = tls.serve(listener, uploads, shutdown.clone());
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
