//! The listener: accepts TCP connections, speaks TLS (or plain HTTP), and serves each
//! connection with hyper. Connections can be reset on demand by fault injection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::http::{App, ConnHandle, handle};

/// A TCP stream that fails (and resets, with SO_LINGER 0) once its connection is marked killed.
struct FaultIo {
    inner: TcpStream,
    conn: Arc<ConnHandle>,
}

impl FaultIo {
    fn killed(&self) -> Option<io::Error> {
        if self.conn.kill.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
            Some(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by fault injection",
            ))
        } else {
            None
        }
    }
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.killed() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Runs an HTTP/2 connection's streams (each request's handler is a task of
/// its own) as tasks of the server's tracker, dropped when `cancel` fires:
/// shutdown waits for them before it saves the state, as it waits for an
/// HTTP/1.1 connection, whose handler runs inside the connection's task.
#[derive(Clone)]
struct Streams {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl<F> hyper::rt::Executor<F> for Streams
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, stream: F) {
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = stream => {}
            }
        });
    }
}

/// Accepts connections until `cancel` fires; every connection task is tracked by `tracker`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    app: Arc<App>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        let (tcp, _) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (app, tls, cancel) = (app.clone(), tls.clone(), cancel.clone());
        let streams = Streams {
            tracker: tracker.clone(),
            cancel: cancel.clone(),
        };
        tracker.spawn(async move {
            let conn = Arc::new(ConnHandle::default());
            let io = FaultIo {
                inner: tcp,
                conn: conn.clone(),
            };
            let svc = hyper::service::service_fn(move |req| handle(app.clone(), conn.clone(), req));
            // HTTP/1.1 keeps idle connections open, as an API server keeps them for its
            // clients; hyper's default header read timeout would close them after 30s.
            let mut http1 = hyper::server::conn::http1::Builder::new();
            http1
                .timer(TokioTimer::new())
                .keep_alive(true)
                .header_read_timeout(None);
            let served: BoxFuture<'_, hyper::Result<()>> = match tls {
                Some(acceptor) => {
                    let stream = tokio::select! {
                        _ = cancel.cancelled() => return,
                        s = acceptor.accept(io) => match s {
                            Ok(s) => s,
                            Err(e) => {
                                tracing::debug!("TLS handshake failed: {e}");
                                return;
                            }
                        },
                    };
                    // HTTP/2 when the client chose it by ALPN, as a real API server
                    // (and client-go) would.
                    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                        let mut http2 = hyper::server::conn::http2::Builder::new(streams);
                        http2.timer(TokioTimer::new());
                        Box::pin(http2.serve_connection(TokioIo::new(stream), svc))
                    } else {
                        Box::pin(http1.serve_connection(TokioIo::new(stream), svc))
                    }
                }
                None => Box::pin(http1.serve_connection(TokioIo::new(io), svc)),
            };
            tokio::select! {
                _ = cancel.cancelled() => {}
                r = served => if let Err(e) = r { tracing::debug!("connection ended: {e}") },
            }
        });
    }
}
