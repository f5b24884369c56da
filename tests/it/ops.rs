//! Operating berthd: the plain-HTTP port (/healthz, /readyz, /metrics in
//! the Prometheus text format), the standard gRPC health and reflection
//! services on the mTLS port, and one log span per operation.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{BAD_IMAGE, Berthd, Env};

/// `GET path` over plain HTTP/1.1: (status code, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// The address the real berthd logged for its --http-listen port.
pub async fn http_listen_addr(agent: &Berthd) -> SocketAddr {
    for _ in 0..200 {
        let found = agent.log.lock().unwrap().iter().find_map(|v| {
            (v["fields"]["message"] == "berthd HTTP (health, metrics) listening")
                .then(|| v["fields"]["addr"].as_str().unwrap().parse().unwrap())
        });
        if let Some(addr) = found {
            return addr;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("berthd never logged its HTTP address");
}

/// Samples of a Prometheus/OpenMetrics text exposition, by series
/// (`name{labels}` exactly as exposed).
pub struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    /// Parse the text format strictly: every line is a comment (`# HELP`,
    /// `# TYPE`, `# UNIT`, `# EOF`) or `series value`.
    pub fn parse(text: &str) -> Metrics {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if let Some(comment) = line.strip_prefix("# ") {
                let word = comment.split(' ').next().unwrap();
                assert!(
                    ["HELP", "TYPE", "UNIT", "EOF"].contains(&word),
                    "bad comment line {line:?}"
                );
                continue;
            }
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad sample line {line:?}"));
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}"));
            assert!(
                series.starts_with("berth_"),
                "every series has berth's prefix: {line:?}"
            );
            samples.insert(series.to_string(), value);
        }
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
        Metrics(samples)
    }

    pub fn get(&self, series: &str) -> Option<f64> {
        self.0.get(series).copied()
    }

    #[track_caller]
    pub fn value(&self, series: &str) -> f64 {
        self.get(series)
            .unwrap_or_else(|| panic!("no series {series} in {:#?}", self.0))
    }
}

#[tokio::test]
async fn metrics_count_operations_events_bytes_releases_and_drift() {
    let env = Env::start().await;
    let running = env.agent.as_ref().unwrap();
    let http = running
        .serve_http("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();

    let (code, body) = http_get(http, "/healthz").await;
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, body) = http_get(http, "/readyz").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body, "journal: ok\ncluster: ok\ntls: ok\n");

    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    env.berth(&["upgrade", "hello", &env.chart("1.1.0"), "--wait"])
        .await
        .ok();
    env.berth(&[
        "install",
        "broken",
        &env.chart("1.0.0"),
        "--set",
        BAD_IMAGE,
        "--wait",
    ])
    .await
    .failed();
    env.berth(&["drift", "hello"]).await.ok();

    let (code, text) = http_get(http, "/metrics").await;
    assert_eq!(code, 200);
    let m = Metrics::parse(&text);
    let ops = |verb: &str, result: &str| {
        m.get(&format!(
            "berth_operations_total{{verb=\"{verb}\",result=\"{result}\"}}"
        ))
        .unwrap_or(0.0)
    };
    assert_eq!(ops("install", "succeeded"), 1.0);
    assert_eq!(ops("install", "failed"), 1.0);
    assert_eq!(ops("upgrade", "succeeded"), 1.0);
    assert_eq!(ops("upgrade", "failed"), 0.0);
    assert_eq!(
        m.value("berth_operation_duration_seconds_count{verb=\"install\"}"),
        2.0
    );
    assert_eq!(
        m.value("berth_operation_duration_seconds_bucket{le=\"+Inf\",verb=\"upgrade\"}"),
        1.0
    );
    assert!(m.value("berth_operation_duration_seconds_sum{verb=\"install\"}") > 0.0);

    // Every event the three operations emitted, as the journal kept them.
    let mut journaled = 0;
    for (release, revisions) in [("hello", 2), ("broken", 1)] {
        for rev in 1..=revisions {
            journaled += running
                .agent
                .journal
                .events("default", release, rev, 0)
                .unwrap()
                .len();
        }
    }
    assert_eq!(m.value("berth_events_emitted_total"), journaled as f64);

    let counters = &running.agent.counters;
    // Each series against the in-process counter it reports.
    let counted = |series: &str, counter: &std::sync::atomic::AtomicU64| {
        let n = counter.load(Ordering::Relaxed);
        assert_eq!(m.value(series), n as f64, "{series}");
        n
    };
    assert!(
        counted(
            "berth_chart_bytes_received_total",
            &counters.chart_bytes_received
        ) > 0
    );
    counted(
        "berth_chart_uploads_skipped_total",
        &counters.chart_uploads_skipped,
    );
    assert!(
        counted(
            "berth_chart_uploads_received_total",
            &counters.chart_uploads_received
        ) > 0
    );
    counted("berth_chart_connections_total", &counters.chart_connections);
    assert!(m.value("berth_journal_size_bytes") > 0.0);
    assert_eq!(m.value("berth_releases{status=\"deployed\"}"), 1.0);
    assert_eq!(m.value("berth_releases{status=\"failed\"}"), 1.0);
    assert_eq!(
        m.value("berth_drift_objects{namespace=\"default\",release=\"hello\"}"),
        0.0
    );
    assert_eq!(m.value("berth_drift_checks_total"), 1.0);
    assert!(m.get("berth_event_streams_active").is_some());
}

/// A TLS channel to the agent as the admin client.
async fn channel(env: &Env) -> tonic::transport::Channel {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(&env.pki.ca_cert)))
        .identity(Identity::from_pem(
            read(&env.pki.client_cert),
            read(&env.pki.client_key),
        ))
        .domain_name("localhost");
    Endpoint::from_shared(env.agent_url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn grpc_health_and_reflection_answer_on_the_mtls_port() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let env = Env::start().await;
    let ch = channel(&env).await;
    let mut health = HealthClient::new(ch.clone());
    for service in ["", "berth.v1.ReleaseAgent"] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "service {service:?}");
    }

    let mut reflection = ServerReflectionClient::new(ch);
    let ask = |m: MessageRequest| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(m),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(vec![
            ask(MessageRequest::ListServices(String::new())),
            ask(MessageRequest::FileContainingSymbol(
                "berth.v1.ReleaseAgent".into(),
            )),
        ]))
        .await
        .unwrap()
        .into_inner();
    let listed = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("not a service list: {listed:?}");
    };
    let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"berth.v1.ReleaseAgent"), "{names:?}");
    assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    let file = answers.message().await.unwrap().unwrap();
    let Some(MessageResponse::FileDescriptorResponse(fd)) = file.message_response else {
        panic!("not a file descriptor: {file:?}");
    };
    assert!(!fd.file_descriptor_proto.is_empty());
    let raw = String::from_utf8_lossy(&fd.file_descriptor_proto[0]).into_owned();
    assert!(
        raw.contains("berth/v1/agent.proto") && raw.contains("Drift"),
        "{raw}"
    );
}

#[tokio::test]
async fn a_client_without_a_certificate_gets_no_health_answer() {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let env = Env::start().await;
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(read(
            &env.pki.ca_cert,
        )))
        .domain_name("localhost");
    let endpoint = tonic::transport::Endpoint::from_shared(env.agent_url.clone())
        .unwrap()
        .tls_config(tls)
        .unwrap();
    // TLS 1.3: the refusal shows at connect or at the first call.
    if let Ok(ch) = endpoint.connect().await {
        let r = HealthClient::new(ch)
            .check(HealthCheckRequest::default())
            .await;
        assert!(r.is_err(), "health answered without a client certificate");
    }
}

#[tokio::test]
async fn every_log_line_of_an_operation_names_its_release_namespace_revision_and_verb() {
    let mut env = Env::without_agent().await;
    let agent = Berthd::spawn(&env, &[]).await;
    env.agent_url = agent.url.clone();
    env.berth(&["install", "hello", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    env.berth(&["upgrade", "hello", &env.chart("1.1.0"), "--wait"])
        .await
        .ok();

    let lines = agent.log.lock().unwrap().clone();
    let of_op = |verb: &str| -> Vec<serde_json::Value> {
        lines
            .iter()
            .filter(|v| v["span"]["name"] == "operation" && v["span"]["verb"] == verb)
            .cloned()
            .collect()
    };
    for (verb, revision) in [("install", 1), ("upgrade", 2)] {
        let op = of_op(verb);
        let messages: Vec<_> = op
            .iter()
            .map(|v| v["fields"]["message"].as_str().unwrap_or_default())
            .collect();
        assert!(
            messages.contains(&"phase started") && messages.last() == Some(&"operation completed"),
            "{verb}: {messages:?}"
        );
        for line in &op {
            let span = &line["span"];
            assert_eq!(span["release"], "hello", "{line}");
            assert_eq!(span["namespace"], "default", "{line}");
            assert_eq!(span["revision"], revision, "{line}");
        }
    }
    // Nothing the operations logged is outside their spans.
    for v in &lines {
        let message = v["fields"]["message"].as_str().unwrap_or_default();
        if ["phase started", "operation completed", "operation failed"].contains(&message) {
            assert_eq!(v["span"]["name"], "operation", "{v}");
        }
    }
}
