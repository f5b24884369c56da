//! Shared fixtures: start a simulator, build a kube client from its kubeconfig, raw requests.

use std::time::Duration;

use berth_sim::{Clock, Profile, SimHandle, Simulator};
use http_body_util::BodyExt;
use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A simulator with the Fast profile on a real clock, and a client for it.
pub async fn start() -> (SimHandle, Client) {
    start_with(Clock::Real { scale: 1.0 }).await
}

/// A simulator on a Manual clock: nothing moves until `advance`/`settle`.
pub async fn start_manual() -> (SimHandle, Client) {
    start_with(Clock::Manual).await
}

pub async fn start_with(clock: Clock) -> (SimHandle, Client) {
    start_built(Simulator::builder().clock(clock)).await
}

/// A Manual clock and a kubelet that holds pods whose ConfigMaps or
/// Secrets are missing.
pub async fn start_manual_checking_pod_sources() -> (SimHandle, Client) {
    start_built(
        Simulator::builder()
            .clock(Clock::Manual)
            .check_pod_sources(true),
    )
    .await
}

async fn start_built(builder: berth_sim::SimBuilder) -> (SimHandle, Client) {
    init();
    let sim = builder
        .seed(42)
        .nodes(3)
        .profile(Profile::Fast)
        .start()
        .await
        .expect("simulator starts");
    let client = client(&sim).await;
    (sim, client)
}

pub async fn client(sim: &SimHandle) -> Client {
    let kc = Kubeconfig::from_yaml(&sim.kubeconfig_yaml()).expect("kubeconfig parses");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig is usable");
    Client::try_from(cfg).expect("client builds")
}

/// A raw response: status, headers and body text.
pub struct Raw {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl Raw {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

/// Sends one request as is (no error mapping), with an optional body and extra headers.
pub async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> Raw {
    let mut b = http::Request::builder().method(method).uri(path);
    let mut has_ct = false;
    for (k, v) in headers {
        has_ct |= k.eq_ignore_ascii_case("content-type");
        b = b.header(*k, *v);
    }
    if body.is_some() && !has_ct {
        b = b.header("content-type", "application/json");
    }
    let bytes = body
        .map(|v| serde_json::to_vec(v).unwrap())
        .unwrap_or_default();
    let req = b.body(kube::client::Body::from(bytes)).unwrap();
    let resp = client.send(req).await.expect("request is answered");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    Raw {
        status,
        headers,
        text: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub async fn get(client: &Client, path: &str) -> Raw {
    raw(client, "GET", path, None, &[]).await
}

#[allow(dead_code)]
/// Polls `f` until it returns Some, failing after `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
