//! Mutual TLS: only clients with a certificate from the agent's client CA
//! get in, and the CLI says why it could not.

use crate::common::{Env, berth_raw, path};

#[tokio::test]
async fn client_without_a_certificate_is_refused() {
    let env = Env::start().await;
    let out = berth_raw(&[
        "list".into(),
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&env.pki.ca_cert),
    ])
    .await
    .failed();
    assert!(
        out.stderr.contains("--cert"),
        "the CLI asks for a certificate: {}",
        out.stderr
    );
}

#[tokio::test]
async fn agent_refuses_a_tls_client_that_presents_no_certificate() {
    // Below the CLI: a raw TLS client that trusts the agent but offers no
    // client certificate must not complete a call.
    let env = Env::start().await;
    let ca = std::fs::read_to_string(&env.pki.ca_cert).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca))
        .domain_name("localhost");
    let result = async {
        let channel = tonic::transport::Endpoint::from_shared(env.agent_url.clone())?
            .tls_config(tls)?
            .connect()
            .await?;
        let mut client = berth::proto::release_agent_client::ReleaseAgentClient::new(channel);
        client.list(berth::proto::ListRequest::default()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await;
    assert!(
        result.is_err(),
        "a client without a certificate got an answer"
    );
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let env = Env::start().await;
    let other = berth::tls::init_dev_pki(&env.dir.path().join("other"), &[], "mallory").unwrap();
    let out = berth_raw(&[
        "list".into(),
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&env.pki.ca_cert),
        "--cert".into(),
        path(&other.client_cert),
        "--key".into(),
        path(&other.client_key),
    ])
    .await
    .failed();
    assert!(
        out.stderr.contains("cannot reach the agent"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("does not trust") || out.stderr.contains("refused"),
        "the reason is named: {}",
        out.stderr
    );
}

#[tokio::test]
async fn agent_certificate_from_an_unknown_ca_is_refused_by_the_cli() {
    let env = Env::start().await;
    let other = berth::tls::init_dev_pki(&env.dir.path().join("other"), &[], "admin").unwrap();
    let out = berth_raw(&[
        "list".into(),
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&other.ca_cert),
        "--cert".into(),
        path(&env.pki.client_cert),
        "--key".into(),
        path(&env.pki.client_key),
    ])
    .await
    .failed();
    assert!(
        out.stderr.contains("not signed by the CA"),
        "{}",
        out.stderr
    );
}

#[tokio::test]
async fn malformed_certificate_files_get_a_one_line_error() {
    let env = Env::start().await;
    let bad = env.dir.path().join("bad.crt");
    std::fs::write(&bad, "not a certificate").unwrap();
    let out = berth_raw(&[
        "list".into(),
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&bad),
        "--cert".into(),
        path(&env.pki.client_cert),
        "--key".into(),
        path(&env.pki.client_key),
    ])
    .await
    .failed();
    assert!(
        out.stderr.contains("bad.crt: no PEM certificate found"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1);
}
