//! The `kube` client berthd talks to its API server with.
//!
//! kube's own stack (base URI, retries, authentication, extra headers,
//! timeouts, the kubeconfig's TLS settings) over a connector that offers
//! HTTP/2 by ALPN, as client-go does. kube 5 builds its connector for
//! HTTP/1.1 only, so every watch took a connection of its own (a new one
//! and its TLS handshake once the pool had none idle) and concurrent
//! applies spread over several (9 in the 200-object upgrade bench); over
//! HTTP/2 an operation's requests and watches share one connection. A server that
//! does not offer `h2` (or plain `http://`) gets HTTP/1.1, as before.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::retry::RetryPolicy;
use kube::client::{Body, ConfigExt};
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};

use super::ClusterError;

/// Requests in flight on one connection before berthd opens another.
/// API servers cap the streams of one HTTP/2 connection (kube-apiserver at
/// 1000, Go's servers at 250, hyper's at 200) and hyper's pool never opens
/// a second connection to the same server, so without this long-lived
/// watches could take every stream and leave an apply waiting. Go's HTTP/2
/// transport opens another connection at the server's limit too.
pub const STREAMS_PER_CONNECTION: usize = 100;

/// Idle connections kept to one server (client-go's MaxIdleConnsPerHost).
/// Over HTTP/1.1 each concurrent request takes a connection of its own, so
/// a burst would otherwise leave one open per request until the idle
/// timeout; over HTTP/2 a lane has one connection.
pub const IDLE_CONNECTIONS_PER_SERVER: usize = 25;

/// How berthd keeps its connections to the API server: client-go's
/// timings by default.
#[derive(Debug, Clone, Copy)]
pub struct Connections {
    /// A connection that has carried no frame for this long is pinged,
    /// whether or not a request is open on it (client-go's
    /// `ReadIdleTimeout`).
    pub ping_after: Duration,
    /// A ping not answered within this is a dead connection: it is closed,
    /// which fails its requests and watches, and later ones open a new one
    /// (client-go's `PingTimeout`).
    pub ping_timeout: Duration,
    /// A connection no request has been sent on for this long leaves the
    /// pool (at the pool's next check, which comes as often: within twice
    /// this) and closes once its open streams (a watch's) end (Go's
    /// `IdleConnTimeout`, which client-go keeps). An idle berthd holds no
    /// connection, and those a burst of requests opened go.
    pub idle_timeout: Duration,
}

impl Default for Connections {
    fn default() -> Connections {
        Connections {
            ping_after: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(90),
        }
    }
}

/// A client for `config`, speaking HTTP/2 where the server offers it.
///
/// A configured proxy goes to kube's own client, as before (berth builds
/// kube without its proxy features, so kube refuses it with its own error).
pub fn client(
    config: kube::Config,
    connections: Connections,
) -> Result<kube::Client, ClusterError> {
    let failed = |e: kube::Error| ClusterError::Config(e.to_string());
    if config.proxy_url.is_some() {
        return kube::Client::try_from(config).map_err(failed);
    }

    let mut http = HttpConnector::new();
    http.enforce_http(false);
    // HTTP/2 writes a request as several frames; with Nagle's algorithm a
    // frame can wait for the server's delayed ACK (40 ms on Linux). Go's
    // dialer, client-go's, sets TCP_NODELAY too.
    http.set_nodelay(true);
    let tls = config.rustls_client_config().map_err(failed)?;
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let https = match &config.tls_server_name {
        Some(name) => {
            let name = rustls::pki_types::ServerName::try_from(name.clone())
                .map_err(|e| ClusterError::Config(format!("tls-server-name {name:?}: {e}")))?;
            https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name))
        }
        None => https,
    };
    // ALPN offers h2 then http/1.1; the pool multiplexes on an h2 connection.
    let https = https.enable_all_versions().wrap_connector(http);

    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    // One connection carries everything, so a dead one must be noticed:
    // pings (`Connections`). The pool's timer closes idle connections; without
    // it hyper drops one only when a later request finds it expired, so a
    // connection of a lane no request comes to would stay, pinging.
    let make = move || {
        hyper_util::client::legacy::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(connections.idle_timeout)
            .pool_max_idle_per_host(IDLE_CONNECTIONS_PER_SERVER)
            .http2_keep_alive_interval(connections.ping_after)
            .http2_keep_alive_timeout(connections.ping_timeout)
            .http2_keep_alive_while_idle(true)
            .build::<_, Body>(connector.clone())
    };
    let http_client = Lanes {
        lanes: Arc::new(Mutex::new(vec![Lane::new(make())])),
        make: Arc::new(make),
    };

    // The layers in the order kube's `ClientBuilder` stacks them.
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer().map_err(failed)?)
        .layer(config.extra_headers_layer().map_err(failed)?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// One client per connection's worth of requests (`STREAMS_PER_CONNECTION`),
/// each with its own pool: a request goes to the first with room, and a
/// new one is made when none has.
#[derive(Clone)]
struct Lanes {
    lanes: Arc<Mutex<Vec<Lane>>>,
    make: Arc<dyn Fn() -> HttpClient + Send + Sync>,
}

struct Lane {
    client: HttpClient,
    in_flight: Arc<AtomicUsize>,
}

impl Lane {
    fn new(client: HttpClient) -> Lane {
        Lane {
            client,
            in_flight: Arc::default(),
        }
    }
}

impl Lanes {
    /// The lane the next request goes to, its count already taken.
    fn take(&self) -> (HttpClient, InFlight) {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        let lane = match lanes
            .iter()
            .position(|l| l.in_flight.load(Ordering::Relaxed) < STREAMS_PER_CONNECTION)
        {
            Some(i) => &lanes[i],
            None => {
                lanes.push(Lane::new((self.make)()));
                &lanes[lanes.len() - 1]
            }
        };
        lane.in_flight.fetch_add(1, Ordering::Relaxed);
        (lane.client.clone(), InFlight(lane.in_flight.clone()))
    }
}

/// A request counted against its lane until its response body is done with
/// (read to the end or dropped, as a watch is when its wait ends) or it
/// failed.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

type Connector = hyper_timeout::TimeoutConnector<hyper_rustls::HttpsConnector<HttpConnector>>;
type HttpClient = hyper_util::client::legacy::Client<Connector, Body>;

impl tower::Service<Request<Body>> for Lanes {
    type Response = Response<Counted>;
    type Error = hyper_util::client::legacy::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let (client, in_flight) = self.take();
        let response = client.request(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Counted {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A response body that holds its request's place in its lane.
pub struct Counted {
    body: Incoming,
    _in_flight: InFlight,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
