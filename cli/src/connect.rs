//! Reaching an agent: TLS material from flags or environment, one channel,
//! and TLS failures turned into sentences that name the certificate at
//! fault. TLS 1.3 reports a refused client certificate only at the first
//! call, so the channel is wrapped ([`Explaining`]) to explain failures
//! wherever they surface, with the files this connection used.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use berth::proto::release_agent_client::ReleaseAgentClient;
use berth::tls::Explained;
use tonic::codegen::{Service, StdError, http};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::CliError;

/// How to reach one agent.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub agent: Option<String>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The config file's name for this agent, for messages.
    pub cluster: Option<String>,
}

pub type Client = ReleaseAgentClient<Explaining>;

/// The agent's address and the files used to reach it.
#[derive(Debug)]
struct Peer {
    url: String,
    ca: PathBuf,
    cert: PathBuf,
}

impl Peer {
    fn explain(&self, e: &(dyn std::error::Error + 'static)) -> Option<Explained> {
        berth::tls::explain_transport_error(
            e,
            &berth::tls::Endpoint {
                url: &self.url,
                ca: &self.ca,
                cert: &self.cert,
            },
        )
    }
}

/// A transport failure already explained; [`status_error`] finds it in the
/// status tonic builds around it.
#[derive(Debug)]
struct Refusal(Explained);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Explained::Refused(s) | Explained::Unreachable(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<Explained> for CliError {
    fn from(e: Explained) -> Self {
        match e {
            Explained::Refused(s) => CliError::Tls(s),
            Explained::Unreachable(s) => CliError::Connect(s),
        }
    }
}

/// A channel whose transport failures carry their explanation.
#[derive(Clone, Debug)]
pub struct Explaining {
    channel: Channel,
    peer: Arc<Peer>,
}

fn explained(peer: &Peer, e: tonic::transport::Error) -> StdError {
    match peer.explain(&e) {
        Some(x) => Box::new(Refusal(x)),
        None => Box::new(e),
    }
}

impl Service<http::Request<tonic::body::Body>> for Explaining {
    type Response = http::Response<tonic::body::Body>;
    type Error = StdError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, StdError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), StdError>> {
        let peer = &self.peer;
        self.channel.poll_ready(cx).map_err(|e| explained(peer, e))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let call = self.channel.call(req);
        let peer = Arc::clone(&self.peer);
        Box::pin(async move { call.await.map_err(|e| explained(&peer, e)) })
    }
}

/// Normalise `host:port` to `https://host:port` and find the host the
/// agent's certificate must name.
pub fn parse_url(raw: &str) -> Result<(String, String), CliError> {
    let url = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("https://{raw}")
    };
    if !url.starts_with("https://") {
        return Err(CliError::Usage(format!(
            "--agent {raw:?}: berth only speaks https (mutual TLS)"
        )));
    }
    let authority = authority(&url);
    let host = if let Some(stripped) = authority.strip_prefix('[') {
        stripped.split(']').next().unwrap_or(stripped).to_string()
    } else {
        authority
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(authority)
            .to_string()
    };
    if host.is_empty() {
        return Err(CliError::Usage(format!("--agent {raw:?}: no host")));
    }
    // After the host: nothing, or `:` and the port's digits.
    let after_host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => authority.rfind(':').map_or("", |i| &authority[i..]),
    };
    let good_port = |rest: &str| {
        rest.strip_prefix(':').is_some_and(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u16>().is_ok_and(|p| p != 0)
        })
    };
    if !after_host.is_empty() && !good_port(after_host) {
        return Err(CliError::Usage(format!(
            "--agent {raw:?}: the port must be a number from 1 to 65535"
        )));
    }
    Ok((url, host))
}

/// The `host[:port]` of an https URL.
fn authority(url: &str) -> &str {
    let rest = url.strip_prefix("https://").unwrap_or(url);
    rest.split('/').next().unwrap_or(rest)
}

/// Where to connect for an https URL: its `host:port`, port 443 if none.
fn address(url: &str) -> String {
    let authority = authority(url);
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(h, p)| !h.is_empty() && !p.contains(']'));
    if has_port {
        authority.to_string()
    } else {
        format!("{authority}:443")
    }
}

pub async fn connect(target: &Target) -> Result<Client, CliError> {
    connect_to(target)
        .await
        .map_err(|e| match (e, &target.cluster) {
            (CliError::Connect(m), Some(c)) => CliError::Connect(format!("cluster {c}: {m}")),
            (CliError::Tls(m), Some(c)) => CliError::Tls(format!("cluster {c}: {m}")),
            (e, _) => e,
        })
}

/// The agent's URL and host, and the TLS files to reach it, read and checked.
struct Material {
    raw: String,
    url: String,
    host: String,
    ca_path: PathBuf,
    cert_path: PathBuf,
    ca: berth::tls::Pem,
    cert: berth::tls::Pem,
    key: berth::tls::Pem,
}

fn material(target: &Target) -> Result<Material, CliError> {
    let raw = target.agent.as_deref().ok_or_else(|| {
        CliError::Usage("no agent given: pass --agent URL or set BERTH_AGENT".into())
    })?;
    let need = |v: &Option<PathBuf>, flag: &str, env: &str| {
        v.clone().ok_or_else(|| {
            CliError::Usage(format!(
                "no {flag} given: pass {flag} FILE or set {env} (mutual TLS is required)"
            ))
        })
    };
    let ca_path = need(&target.ca, "--ca", "BERTH_CA")?;
    let cert_path = need(&target.cert, "--cert", "BERTH_CERT")?;
    let key_path = need(&target.key, "--key", "BERTH_KEY")?;
    let tls_err = |e: berth::tls::TlsError| CliError::Tls(e.to_string());
    let ca = berth::tls::load_certs(&ca_path).map_err(tls_err)?;
    let cert = berth::tls::load_certs(&cert_path).map_err(tls_err)?;
    let key = berth::tls::load_key(&key_path).map_err(tls_err)?;
    // Say so here rather than let the agent answer with a bare alert.
    berth::tls::check_client_certificate(&cert).map_err(tls_err)?;
    // A key of another certificate signs a handshake the agent rejects,
    // which reads as a bare "transport error".
    let provider = rustls::crypto::ring::default_provider();
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
        rustls::sign::CertifiedKey::from_der(
            cert.cert_ders(),
            key.key_der().map_err(tls_err)?,
            &provider,
        )
    {
        return Err(CliError::Tls(format!(
            "{}: this private key is not the certificate's ({})",
            key_path.display(),
            cert_path.display()
        )));
    }
    let (url, host) = parse_url(raw)?;
    Ok(Material {
        raw: raw.to_string(),
        url,
        host,
        ca_path,
        cert_path,
        ca,
        cert,
        key,
    })
}

async fn connect_to(target: &Target) -> Result<Client, CliError> {
    let m = material(target)?;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&m.ca.text))
        .identity(Identity::from_pem(&m.cert.text, &m.key.text))
        .domain_name(m.host);
    let endpoint = Endpoint::from_shared(m.url.clone())
        .map_err(|e| CliError::Usage(format!("--agent {:?}: {e}", m.raw)))?
        .tls_config(tls)
        .map_err(|e| CliError::Tls(e.to_string()))?
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Some(Duration::from_secs(30)));
    let peer = Arc::new(Peer {
        url: m.url,
        ca: m.ca_path,
        cert: m.cert_path,
    });
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| match peer.explain(&e) {
            Some(x) => x.into(),
            None => CliError::Connect(format!("{}: {}", peer.url, chain(&e))),
        })?;
    Ok(ReleaseAgentClient::new(Explaining { channel, peer })
        .max_decoding_message_size(berth_agent::MAX_MESSAGE_BYTES)
        .max_encoding_message_size(berth_agent::MAX_MESSAGE_BYTES))
}

/// A chart connection (see `UpgradeHeader.chart_connection`): TLS to the
/// agent's address with the call's client certificate and ALPN
/// `berth-chart/1`.
pub type ChartConnection = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// Open a chart connection to `target`, TCP and TLS within 10 s.
pub async fn chart_connection(target: &Target) -> Result<ChartConnection, CliError> {
    let url = target.agent.clone().unwrap_or_default();
    tokio::time::timeout(Duration::from_secs(10), open_chart_connection(target))
        .await
        .map_err(|_| CliError::Connect(format!("{url}: chart connection: timed out")))?
}

async fn open_chart_connection(target: &Target) -> Result<ChartConnection, CliError> {
    let m = material(target)?;
    let failed = |what: String| CliError::Connect(format!("{}: chart connection: {what}", m.url));
    let tls_err = |e: berth::tls::TlsError| CliError::Tls(e.to_string());
    let mut roots = rustls::RootCertStore::empty();
    for der in m.ca.cert_ders() {
        roots
            .add(der)
            .map_err(|e| CliError::Tls(format!("{}: {e}", m.ca_path.display())))?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| CliError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_client_auth_cert(m.cert.cert_ders(), m.key.key_der().map_err(tls_err)?)
    .map_err(|e| CliError::Tls(format!("{}: {e}", m.cert_path.display())))?;
    config.alpn_protocols = vec![berth::proto::CHART_ALPN.to_vec()];
    let tcp = tokio::net::TcpStream::connect(address(&m.url))
        .await
        .map_err(|e| failed(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let name = rustls::pki_types::ServerName::try_from(m.host.clone())
        .map_err(|e| CliError::Usage(format!("--agent {:?}: {e}", m.raw)))?;
    let peer = Peer {
        url: m.url.clone(),
        ca: m.ca_path.clone(),
        cert: m.cert_path.clone(),
    };
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| match peer.explain(&e) {
            Some(x) => x.into(),
            None => failed(chain(&e)),
        })
}

/// An error and its causes, one after the other.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// The innermost cause of a failure, without the documentation links
/// rustls appends.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    match text.find(": https://") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A failed call, in words: the agent's message for refusals, the
/// explanation [`Explaining`] attached for transport failures.
pub fn status_error(s: tonic::Status) -> CliError {
    use std::error::Error;
    if let Some(Refusal(x)) = s.source().and_then(|e| e.downcast_ref::<Refusal>()) {
        return x.clone().into();
    }
    match s.code() {
        tonic::Code::Unknown | tonic::Code::Unavailable | tonic::Code::Internal
            if s.source().is_some() =>
        {
            CliError::Connect(chain(&s))
        }
        tonic::Code::Unavailable
            if s.message().contains("transport") || s.message().contains("connect") =>
        {
            CliError::Connect(s.message().to_string())
        }
        tonic::Code::OutOfRange if s.message().contains("decoded message length too large") => {
            CliError::Agent(too_large(s.message()))
        }
        tonic::Code::NotFound if s.message().starts_with("release: not found") => {
            CliError::Agent(format!(
                "{} (`berth list -A` shows the releases this agent knows)",
                s.message()
            ))
        }
        _ => CliError::Agent(s.message().to_string()),
    }
}

/// tonic's refusal of a request past the agent's message limit, which is
/// its --max-values-size and 1 MiB for the rest of the request, in words.
fn too_large(message: &str) -> String {
    let number_after = |label: &str| {
        let rest = &message[message.find(label)? + label.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u64>().ok()
    };
    match (number_after("found"), number_after("the limit is:")) {
        (Some(found), Some(limit)) => format!(
            "values: the request is {found} bytes, more than the agent takes ({limit} bytes: its --max-values-size and 1 MiB for the rest)"
        ),
        _ => format!("values: the request is larger than the agent takes ({message})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_past_the_agents_limit_is_said_in_words() {
        assert_eq!(
            too_large(
                "Error, decoded message length too large: found 22977893 bytes, the limit is: 5242880 bytes"
            ),
            "values: the request is 22977893 bytes, more than the agent takes (5242880 bytes: its --max-values-size and 1 MiB for the rest)"
        );
    }

    #[test]
    fn agent_ports_are_checked() {
        for bad in [
            "https://127.0.0.1:99999",
            "127.0.0.1:0",
            "[::1]:x",
            "host:",
            "host:+443",
            "[::1]x",
        ] {
            let e = parse_url(bad).unwrap_err().to_string();
            assert!(
                e.contains("the port must be a number from 1 to 65535"),
                "{bad}: {e}"
            );
        }
        for ok in [
            "https://127.0.0.1:7443",
            "[::1]:7443",
            "agent.example",
            "[::1]",
        ] {
            assert!(parse_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn agent_urls() {
        assert_eq!(
            parse_url("127.0.0.1:7443").unwrap(),
            ("https://127.0.0.1:7443".into(), "127.0.0.1".into())
        );
        assert_eq!(
            parse_url("https://agent.example:1/").unwrap().1,
            "agent.example"
        );
        assert!(parse_url("http://x:1").is_err());
    }

    #[test]
    fn an_address_has_a_port() {
        assert_eq!(address("https://127.0.0.1:7443"), "127.0.0.1:7443");
        assert_eq!(address("https://agent.example/x"), "agent.example:443");
        assert_eq!(address("https://[::1]:8443/"), "[::1]:8443");
        assert_eq!(address("https://[::1]"), "[::1]:443");
    }
}
