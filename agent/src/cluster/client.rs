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

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use tower::ServiceBuilder;
use tower::retry::RetryLayer;

use super::ClusterError;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A client for `config`, speaking HTTP/2 where the server offers it.
///
/// Proxies keep kube's own client: tunnelling is kube's code, not ours.
pub fn client(config: kube::Config) -> Result<kube::Client, ClusterError> {
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
    // One connection carries everything, so a dead one must be noticed: a
    // ping after 30 s without a frame, the connection given up 15 s later
    // (client-go's ReadIdleTimeout and PingTimeout), which fails its
    // requests and watches, and they go on over a new connection.
    let http_client = hyper_util::client::legacy::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .http2_keep_alive_interval(Duration::from_secs(30))
        .http2_keep_alive_timeout(Duration::from_secs(15))
        .build::<_, kube::client::Body>(connector);

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
