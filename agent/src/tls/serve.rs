//! Serving TLS: accept TCP connections, run each handshake in its own task
//! (bounded by a timeout, so a slow or silent client holds up nobody) with
//! the configuration current at accept time, and hand finished connections
//! to tonic, or, when they asked for the chart protocol (ALPN
//! `berth-chart/1`), to the upgrade call waiting for their chart. A failed
//! handshake is logged and dropped; it never ends the accept loop. Beside
//! it, a reloader polls the files and swaps in a new configuration when
//! they change; a replacement that does not load is logged and the previous
//! configuration stays.
//!
//! The files are compared by content every [`RELOAD_EVERY`], not by mtime:
//! Kubernetes rotates a mounted Secret by swapping a symlink, which keeps
//! mtimes of the paths berthd was given, and coarse mtimes miss quick edits.

use std::sync::Arc;
use std::time::Duration;

use berth::proto::CHART_ALPN;
use berth::tls::TlsError;
use rustls::server::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::{TlsAcceptor, server::TlsStream};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use super::{Snapshot, TlsFiles};
use crate::uploads::Uploads;

/// How often the TLS files are read for changes.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);
/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, and for how many bytes, a refused connection is drained.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 256 * 1024;

/// The agent's TLS configuration, loaded and ready to serve.
pub struct ServerTls {
    files: TlsFiles,
    loaded: Snapshot,
    config: Arc<ServerConfig>,
}

impl ServerTls {
    /// Read and check the files; any problem is an error naming the file.
    pub async fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let loaded = files.read();
        let config = Arc::new(files.build(&loaded)?);
        Ok(ServerTls {
            files,
            loaded,
            config,
        })
    }

    /// Accept mutual-TLS connections on `listener` until `shutdown`, and
    /// reload the configuration when its files change. Returns the stream
    /// of established connections for tonic's `serve_with_incoming*`.
    pub fn serve(
        self,
        listener: TcpListener,
        uploads: Arc<Uploads>,
        shutdown: CancellationToken,
    ) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
        let (config_tx, config_rx) = watch::channel(Arc::clone(&self.config));
        let reloader = Reloader {
            files: self.files,
            current: self.loaded,
            rejected: None,
            config: config_tx,
        };
        tokio::spawn(reloader.run(shutdown.clone()));
        let (tx, rx) = mpsc::channel(32);
        tokio::spawn(accept_loop(listener, config_rx, tx, uploads, shutdown));
        ReceiverStream::new(rx)
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: watch::Receiver<Arc<ServerConfig>>,
    established: mpsc::Sender<std::io::Result<TlsStream<TcpStream>>>,
    uploads: Arc<Uploads>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = TlsAcceptor::from(Arc::clone(&config.borrow()));
        let established = established.clone();
        let uploads = Arc::clone(&uploads);
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let handshake =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp).into_fallible());
            let outcome = tokio::select! {
                _ = shutdown.cancelled() => return,
                outcome = handshake => outcome,
            };
            match outcome {
                Ok(Ok(stream)) if stream.get_ref().1.alpn_protocol() == Some(CHART_ALPN) => {
                    uploads.arrive(stream, peer).await;
                }
                Ok(Ok(stream)) => {
                    let _ = established.send(Ok(stream)).await;
                }
                Ok(Err((e, tcp))) => {
                    tracing::info!(peer = %peer, error = %e, "TLS handshake refused");
                    linger(tcp).await;
                }
                Err(_) => {
                    tracing::info!(peer = %peer, "TLS handshake timed out");
                }
            }
        });
    }
}

/// Close a refused connection without losing the alert that says why.
/// With TLS 1.3 the client sends its first request right behind its
/// certificate; closing with that request unread makes the kernel answer
/// with a reset, and a reset makes the client's kernel drop the alert it has
/// not read yet. So: send FIN after the alert, read and discard what the
/// client still sends until it closes (bounded), then close.
async fn linger(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tcp.shutdown().await;
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Polls the files and publishes a new configuration when they change.
struct Reloader {
    files: TlsFiles,
    current: Snapshot,
    /// The last reading that failed to load, so that it is logged once.
    rejected: Option<Snapshot>,
    config: watch::Sender<Arc<ServerConfig>>,
}

impl Reloader {
    async fn run(mut self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(RELOAD_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => self.poll().await,
            }
        }
    }

    async fn poll(&mut self) {
        let now = self.files.read();
        if now == self.current || self.rejected.as_ref() == Some(&now) {
            return;
        }
        match self.files.build(&now) {
            Ok(config) => {
                let changed = self.files.changed(&self.current, &now);
                self.config.send_replace(Arc::new(config));
                self.current = now;
                self.rejected = None;
                tracing::info!(files = %changed, "TLS configuration reloaded; new connections use it");
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    "TLS files changed but do not load; keeping the previous TLS configuration"
                );
                self.rejected = Some(now);
            }
        }
    }
}
