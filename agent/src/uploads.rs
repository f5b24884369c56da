//! Chart connections: a big chart's bytes on a TLS connection of their own
//! instead of as chunks of the gRPC call.
//!
//! An upgrade call whose chart is needed and big enough gets a token in its
//! response metadata ([`Uploads::expect`]; never in an event, as events are
//! journaled and shown to watchers). The client opens a second TLS
//! connection to the same port with ALPN [`CHART_ALPN`] and the same client
//! certificate (the acceptor verifies it exactly as for gRPC), writes the
//! token and then the chart's bytes. The acceptor hands such a connection
//! here ([`Uploads::arrive`]): the token is looked up, the certificate's
//! identity must be the call's, and the connection goes to the call that
//! waits for it, which reads and checks the bytes as it would chunks. A
//! token is good for one connection and dies with its call.
//!
//! [`CHART_ALPN`]: berth::proto::CHART_ALPN

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::proto::CHART_TOKEN_LEN;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::server::TlsStream;

/// A chart connection, handed to the call it belongs to.
pub type Connection = TlsStream<TcpStream>;

type Token = [u8; CHART_TOKEN_LEN];

/// Charts smaller than this come as chunks: for them a second handshake
/// costs more than the framing it saves.
pub const MIN_SIZE: u64 = 1 << 20;

/// How long a chart connection may take to send its token.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The calls waiting for a chart connection, by token.
#[derive(Default)]
pub struct Uploads {
    waiting: Mutex<HashMap<Token, Waiting>>,
}

struct Waiting {
    identity: String,
    connection: oneshot::Sender<Connection>,
}

/// A call's claim on the chart connection for its token; dropping it
/// withdraws the token.
pub struct Arrival {
    token: Token,
    uploads: Arc<Uploads>,
    connection: oneshot::Receiver<Connection>,
}

impl Arrival {
    /// The connection, once it has arrived and shown the token.
    pub async fn connection(&mut self) -> Option<Connection> {
        (&mut self.connection).await.ok()
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        self.uploads.lock().remove(&self.token);
    }
}

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Token, Waiting>> {
        // A panic while holding this lock cannot leave the map half-changed.
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh token for a call made by `identity` (in hex, as the call's
    /// response metadata carries it), and the claim on its connection. None
    /// only if the system's random source fails.
    pub fn expect(self: &Arc<Self>, identity: &str) -> Option<(String, Arrival)> {
        let mut token = [0u8; CHART_TOKEN_LEN];
        rustls::crypto::ring::default_provider()
            .secure_random
            .fill(&mut token)
            .ok()?;
        let (tx, rx) = oneshot::channel();
        self.lock().insert(
            token,
            Waiting {
                identity: identity.to_string(),
                connection: tx,
            },
        );
        let arrival = Arrival {
            token,
            uploads: Arc::clone(self),
            connection: rx,
        };
        Some((hex::encode(token), arrival))
    }

    /// A connection that negotiated the chart protocol: read its token and
    /// hand it to the call waiting for it, or log why not and close it.
    pub async fn arrive(&self, mut conn: Connection, peer: SocketAddr) {
        let mut token = [0u8; CHART_TOKEN_LEN];
        match tokio::time::timeout(TOKEN_TIMEOUT, conn.read_exact(&mut token)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::info!(%peer, error = %e, "chart connection closed before its token");
                return;
            }
            Err(_) => {
                tracing::info!(%peer, "chart connection sent no token in time");
                return;
            }
        }
        let identity = conn
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(|leaf| berth::tls::identity_from_der(leaf.as_ref()));
        let waiting = {
            let mut waiting = self.lock();
            match waiting.get(&token) {
                Some(w) if Some(&w.identity) == identity.as_ref() => waiting.remove(&token),
                Some(_) => {
                    tracing::warn!(
                        %peer,
                        identity = identity.as_deref().unwrap_or("-"),
                        "chart connection refused: its certificate is not the call's"
                    );
                    return;
                }
                None => None,
            }
        };
        match waiting {
            Some(w) => {
                // The call may have ended meanwhile; then the connection
                // just closes.
                let _ = w.connection.send(conn);
            }
            None => tracing::info!(%peer, "chart connection refused: unknown or used token"),
        }
    }
}
