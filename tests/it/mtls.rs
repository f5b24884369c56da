//! Mutual TLS: only clients with a current, unrevoked client certificate
//! from the agent's client CA get in; the CLI checks the agent's name and
//! CA; every refusal is one sentence naming the certificate at fault, and a
//! refused command changes nothing.

use std::path::{Path, PathBuf};

use berth::tls::CertAuthority;

use crate::common::{Env, Out, berth_raw, path};

/// A client certificate from the environment's CA with `adjust` applied to
/// its parameters, written to NAME.crt / NAME.key in the test directory.
fn client_cert(
    env: &Env,
    name: &str,
    adjust: impl FnOnce(&mut rcgen::CertificateParams),
) -> (PathBuf, PathBuf) {
    let ca = CertAuthority::load_dir(env.pki.ca_cert.parent().unwrap()).unwrap();
    let mut params = CertAuthority::client_params(name, 30).unwrap();
    adjust(&mut params);
    let (cert, key) = ca.issue(&params).unwrap();
    let (cp, kp) = (
        env.dir.path().join(format!("{name}.crt")),
        env.dir.path().join(format!("{name}.key")),
    );
    berth::tls::write_file(&cp, &cert, false).unwrap();
    berth::tls::write_file(&kp, &key, true).unwrap();
    (cp, kp)
}

/// `berth install hello` with this certificate and key.
async fn install_as(env: &Env, cert: &Path, key: &Path) -> Out {
    berth_raw(&[
        "install".into(),
        "hello".into(),
        env.chart("1.0.0"),
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&env.pki.ca_cert),
        "--cert".into(),
        path(cert),
        "--key".into(),
        path(key),
    ])
    .await
}

/// The refused install left nothing behind: no release in the journal, no
/// object in the cluster.
async fn assert_nothing_installed(env: &Env) {
    let list = env.berth(&["list", "-A", "-o", "json"]).await.ok().json();
    assert_eq!(list, serde_json::json!([]), "no release was recorded");
    assert!(
        env.get("v1", "ConfigMap", "default", "hello")
            .await
            .is_none(),
        "nothing was applied"
    );
}

/// What the agent itself answers a client that skips the CLI's own checks
/// (tonic directly, with this certificate), explained as the CLI explains it.
async fn agent_refusal(env: &Env, cert: &PathBuf, key: &PathBuf) -> String {
    let ca = std::fs::read_to_string(&env.pki.ca_cert).unwrap();
    let identity = tonic::transport::Identity::from_pem(
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    );
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca))
        .identity(identity)
        .domain_name("localhost");
    let err: Box<dyn std::error::Error> = async {
        let channel = tonic::transport::Endpoint::from_shared(env.agent_url.clone())?
            .tls_config(tls)?
            .connect()
            .await?;
        let mut client = berth::proto::release_agent_client::ReleaseAgentClient::new(channel);
        client.list(berth::proto::ListRequest::default()).await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    }
    .await
    .expect_err("the agent answered a client it should refuse");
    let at = berth::tls::Endpoint {
        url: &env.agent_url,
        ca: &env.pki.ca_cert,
        cert,
    };
    match berth::tls::explain_transport_error(err.as_ref(), &at) {
        Some(berth::tls::Explained::Refused(s)) => s,
        other => panic!("not a refusal: {other:?} from {err:?}"),
    }
}

const REISSUE: &str = "issue a new one (berth certs client NAME --ca-dir DIR)";

#[tokio::test]
async fn client_without_a_certificate_is_refused() {
    let env = Env::start().await;
    let out = berth_raw(&[
        "install".into(),
        "hello".into(),
        env.chart("1.0.0"),
        "--agent".into(),
        env.agent_url.clone(),
        "--ca".into(),
        path(&env.pki.ca_cert),
    ])
    .await
    .failed();
    assert_eq!(
        out.stderr,
        "Error: no --cert given: pass --cert FILE or set BERTH_CERT (mutual TLS is required)\n"
    );
    assert_nothing_installed(&env).await;
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
    let err = result.expect_err("a client without a certificate got an answer");
    let at = berth::tls::Endpoint {
        url: &env.agent_url,
        ca: &env.pki.ca_cert,
        cert: Path::new("-"),
    };
    assert_eq!(
        berth::tls::explain_transport_error(err.as_ref(), &at),
        Some(berth::tls::Explained::Refused(format!(
            "the agent at {} requires a client certificate: pass --cert and --key",
            env.agent_url
        )))
    );
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_refused() {
    let env = Env::start().await;
    let other = berth::tls::init_dev_pki(&env.dir.path().join("other"), &[], "mallory").unwrap();
    let out = install_as(&env, &other.client_cert, &other.client_key)
        .await
        .failed();
    assert_eq!(
        out.stderr,
        format!(
            "Error: the agent at {} refused the client certificate {}: it is not signed by the agent's client CA (berthd --client-ca); use a certificate from that CA (berth certs client NAME --ca-dir DIR)\n",
            env.agent_url,
            other.client_cert.display()
        )
    );
    assert_nothing_installed(&env).await;
}

#[tokio::test]
async fn expired_client_certificate_is_refused() {
    let env = Env::start().await;
    let (cert, key) = client_cert(&env, "expired", |p| {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let out = install_as(&env, &cert, &key).await.failed();
    assert_eq!(
        out.stderr,
        format!(
            "Error: {}: the client certificate expired on 2021-01-01 00:00:00 UTC; {REISSUE}\n",
            cert.display()
        )
    );
    assert_nothing_installed(&env).await;
    // The agent refuses it too, whatever the client checks.
    assert_eq!(
        agent_refusal(&env, &cert, &key).await,
        format!(
            "the agent at {} refused the client certificate {}: it has expired or is not yet valid by the agent's clock; issue a new one (berth certs client NAME --ca-dir DIR) or check the clocks",
            env.agent_url,
            cert.display()
        )
    );
}

#[tokio::test]
async fn client_certificate_not_yet_valid_is_refused() {
    let env = Env::start().await;
    let (cert, key) = client_cert(&env, "future", |p| {
        p.not_before = rcgen::date_time_ymd(2090, 1, 1);
        p.not_after = rcgen::date_time_ymd(2091, 1, 1);
    });
    let out = install_as(&env, &cert, &key).await.failed();
    assert_eq!(
        out.stderr,
        format!(
            "Error: {}: the client certificate is not valid before 2090-01-01 00:00:00 UTC (is this machine's clock right?)\n",
            cert.display()
        )
    );
    assert_nothing_installed(&env).await;
    assert!(
        agent_refusal(&env, &cert, &key)
            .await
            .contains("it has expired or is not yet valid by the agent's clock")
    );
}

#[tokio::test]
async fn certificate_without_client_auth_usage_is_refused() {
    let env = Env::start().await;
    let (cert, key) = client_cert(&env, "server-only", |p| {
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    });
    let out = install_as(&env, &cert, &key).await.failed();
    assert_eq!(
        out.stderr,
        format!(
            "Error: {}: the certificate is not for client authentication (extended key usage: serverAuth, clientAuth is needed); {REISSUE}\n",
            cert.display()
        )
    );
    assert_nothing_installed(&env).await;
    let unsupported = |cert: &PathBuf| {
        format!(
            "the agent at {} refused the client certificate {}: it is not for client authentication (it needs extended key usage clientAuth and key usage digitalSignature); issue a client certificate (berth certs client NAME --ca-dir DIR)",
            env.agent_url,
            cert.display()
        )
    };
    assert_eq!(agent_refusal(&env, &cert, &key).await, unsupported(&cert));

    // The key usage bits count too: webpki ignores them, berthd does not.
    let (cert, key) = client_cert(&env, "no-signing", |p| {
        p.key_usages = vec![rcgen::KeyUsagePurpose::KeyEncipherment];
    });
    let out = install_as(&env, &cert, &key).await.failed();
    assert!(
        out.stderr
            .contains("key usage does not allow digitalSignature"),
        "{}",
        out.stderr
    );
    assert_eq!(agent_refusal(&env, &cert, &key).await, unsupported(&cert));
    assert_nothing_installed(&env).await;
}

#[tokio::test]
async fn revoked_client_certificate_is_refused() {
    let mut env = Env::without_agent().await;
    let ca_dir = env.pki.ca_cert.parent().unwrap().to_path_buf();
    let (cert, key) = client_cert(&env, "mallory", |_| {});
    let out = berth_raw(&[
        "certs".into(),
        "revoke".into(),
        path(&cert),
        "--ca-dir".into(),
        path(&ca_dir),
    ])
    .await
    .ok();
    let crl = ca_dir.join("ca.crl");
    assert!(
        out.stdout
            .ends_with(&format!("\nwrote {} (1 revoked)\n", crl.display())),
        "{}",
        out.stdout
    );
    // `certs show` reads the list back: mallory's serial, revoked.
    let serial = berth_raw(&["certs".into(), "show".into(), path(&cert)])
        .await
        .ok()
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("serial: ").map(str::to_string))
        .unwrap();
    let shown = berth_raw(&["certs".into(), "show".into(), path(&crl)])
        .await
        .ok()
        .stdout;
    assert!(shown.contains("\nrevoked: 1\n"), "{shown}");
    assert!(shown.contains(&format!("\n  {serial}  since ")), "{shown}");
    env.crl = Some(crl);
    env.start_agent().await;

    let out = install_as(&env, &cert, &key).await.failed();
    assert_eq!(
        out.stderr,
        format!(
            "Error: the agent at {} refused the client certificate {}: it has been revoked; {REISSUE}\n",
            env.agent_url,
            cert.display()
        )
    );
    assert_nothing_installed(&env).await;
    // Others from the same CA are not affected.
    env.berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .ok();
    assert!(
        env.get("v1", "ConfigMap", "default", "hello")
            .await
            .is_some()
    );
}

#[tokio::test]
async fn agent_certificate_for_another_name_is_refused_by_the_cli() {
    let mut env = Env::without_agent().await;
    let ca = CertAuthority::load_dir(env.pki.ca_cert.parent().unwrap()).unwrap();
    let names = ["berthd.internal".to_string(), "localhost".to_string()];
    let (cert, key) = ca.issue_agent(&names, 30).unwrap();
    berth::tls::write_file(&env.pki.agent_cert, &cert, false).unwrap();
    berth::tls::write_file(&env.pki.agent_key, &key, true).unwrap();
    env.start_agent().await;
    let out = env
        .berth(&["install", "hello", &env.chart("1.0.0")])
        .await
        .failed();
    assert_eq!(
        out.stderr,
        format!(
            "Error: the agent's certificate at {} is not valid for \"127.0.0.1\" (it names berthd.internal, localhost); reach the agent by one of those names, or reissue its certificate for this one (berth certs init --agent-host 127.0.0.1)\n",
            env.agent_url
        )
    );
    // By a name its certificate has, the same agent answers: nothing was
    // installed.
    env.agent_url = env.agent_url.replace("127.0.0.1", "localhost");
    assert_nothing_installed(&env).await;
}

#[tokio::test]
async fn agent_certificate_from_an_unknown_ca_is_refused_by_the_cli() {
    let env = Env::start().await;
    let other = berth::tls::init_dev_pki(&env.dir.path().join("other"), &[], "admin").unwrap();
    let out = berth_raw(&[
        "install".into(),
        "hello".into(),
        env.chart("1.0.0"),
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
    assert_eq!(
        out.stderr,
        format!(
            "Error: the agent's certificate at {} is not signed by the CA in {} (--ca); pass the CA that issued the agent's certificate\n",
            env.agent_url,
            other.ca_cert.display()
        )
    );
    assert_nothing_installed(&env).await;
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

#[tokio::test]
async fn a_key_that_is_not_the_certificates_is_refused_in_one_line() {
    let env = Env::start().await;
    let (_, other_key) = client_cert(&env, "other", |_| {});
    let out = install_as(&env, &env.pki.client_cert, &other_key)
        .await
        .failed();
    assert!(
        out.stderr.contains(&format!(
            "{}: this private key is not the certificate's ({})",
            path(&other_key),
            path(&env.pki.client_cert)
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert_nothing_installed(&env).await;
}

#[tokio::test]
async fn certs_client_refuses_a_name_that_would_escape_the_ca_directory() {
    let dir = tempfile::tempdir().unwrap();
    berth::tls::init_dev_pki(dir.path(), &[], "admin").unwrap();
    let out = berth_raw(&[
        "certs".into(),
        "client".into(),
        "../evil".into(),
        "--ca-dir".into(),
        path(dir.path()),
    ])
    .await
    .failed();
    assert_eq!(
        out.stderr,
        "Error: client name \"../evil\": must be non-empty, must not start with '.' and must not contain '/', '\\' or control characters (it names NAME.crt and NAME.key)\n"
    );
    assert!(!dir.path().parent().unwrap().join("evil.crt").exists());
}
