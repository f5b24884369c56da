//! Rotation: the real berthd re-reads its certificate, key, client CA and
//! CRL when they change on disk; new connections get the new configuration
//! without a restart, and a replacement that does not load is logged while
//! the previous configuration goes on serving.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use berth::tls::CertAuthority;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::common::{Env, berth_raw, berthd_bin, path};

/// berthd's JSON log lines, read as they come.
struct Logs(mpsc::UnboundedReceiver<Value>);

impl Logs {
    /// The next line that satisfies `wanted`. The overall limit only keeps
    /// a broken agent from hanging the suite; nothing is timed.
    async fn wait_for(&mut self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let next = async {
            while let Some(line) = self.0.recv().await {
                if wanted(&line) {
                    return line;
                }
            }
            panic!("berthd exited before logging {what}")
        };
        tokio::time::timeout(Duration::from_secs(120), next)
            .await
            .unwrap_or_else(|_| panic!("berthd never logged {what}"))
    }
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or_default()
}

/// Start the berthd binary with `--crl` and a policy that lets every
/// authenticated client read (this test is about who gets in, not what
/// they may do); returns it, its URL and its log.
async fn spawn_berthd(env: &Env, crl: &Path) -> (tokio::process::Child, String, Logs) {
    use tokio::io::AsyncBufReadExt;
    let policy = env.dir.path().join("read-for-all.yaml");
    std::fs::write(
        &policy,
        "rules:\n  - identities: ['*']\n    namespaces: ['*']\n    role: read\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(berthd_bin())
        .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--cert", &path(&env.pki.agent_cert)])
        .args(["--key", &path(&env.pki.agent_key)])
        .args(["--client-ca", &path(&env.pki.ca_cert)])
        .args(["--crl", &path(crl)])
        .args(["--policy", &path(&policy)])
        .args(["--data", &path(&env.data_dir())])
        .args(["--kubeconfig", &path(&env.kubeconfig)])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("berthd starts");
    let (tx, rx) = mpsc::unbounded_channel();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if tx
                .send(serde_json::from_str(&line).unwrap_or_default())
                .is_err()
            {
                return;
            }
        }
    });
    let mut logs = Logs(rx);
    let up = logs
        .wait_for("that it listens", |l| message(l) == "berthd listening")
        .await;
    let url = format!("https://{}", up["fields"]["addr"].as_str().unwrap());
    (child, url, logs)
}

/// The certificate the agent presents to a new connection (DER).
async fn served_certificate(env: &Env, url: &str) -> Vec<u8> {
    let pem = |p: &Path| berth::tls::load_certs(p).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for der in pem(&env.pki.ca_cert).cert_ders() {
        roots.add(der).unwrap();
    }
    let key = berth::tls::load_key(&env.pki.client_key)
        .unwrap()
        .key_der()
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(pem(&env.pki.client_cert).cert_ders(), key)
    .unwrap();
    let addr = url.trim_start_matches("https://");
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the agent");
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn leaf(file: &Path) -> Vec<u8> {
    berth::tls::load_certs(file).unwrap().cert_ders()[0].to_vec()
}

/// `berth list` as the client with this certificate and key.
async fn list_as(env: &Env, cert: &Path, key: &Path) -> crate::common::Out {
    berth_raw(&[
        "list".into(),
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

fn reloaded(file: &Path) -> impl Fn(&Value) -> bool {
    let file = path(file);
    move |l| {
        message(l).starts_with("TLS configuration reloaded")
            && l["fields"]["files"].as_str().unwrap_or("").contains(&file)
    }
}

#[tokio::test]
async fn berthd_picks_up_rotated_files_without_a_restart() {
    let mut env = Env::without_agent().await;
    let ca_dir = env.pki.ca_cert.parent().unwrap().to_path_buf();
    let ca = CertAuthority::load_dir(&ca_dir).unwrap();
    let certs = |args: &[&str]| {
        let args: Vec<String> = ["certs"]
            .iter()
            .chain(args)
            .map(|s| s.to_string())
            .collect();
        async move { berth_raw(&args).await.ok() }
    };
    // berthd starts with a revocation list that revokes a lost laptop.
    certs(&["client", "old-laptop", "--ca-dir", &path(&ca_dir)]).await;
    certs(&["client", "mallory", "--ca-dir", &path(&ca_dir)]).await;
    let (mallory, mallory_key) = (ca_dir.join("mallory.crt"), ca_dir.join("mallory.key"));
    let crl = ca_dir.join("ca.crl");
    certs(&[
        "revoke",
        &path(&ca_dir.join("old-laptop.crt")),
        "--ca-dir",
        &path(&ca_dir),
    ])
    .await;
    let (mut berthd, url, mut logs) = spawn_berthd(&env, &crl).await;
    env.agent_url = url.clone();
    assert_eq!(
        served_certificate(&env, &url).await,
        leaf(&env.pki.agent_cert)
    );
    list_as(&env, &mallory, &mallory_key).await.ok();

    // A new agent certificate and key: new connections get them.
    let old_leaf = leaf(&env.pki.agent_cert);
    let (cert, key) = ca
        .issue_agent(&["localhost".into(), "127.0.0.1".into()], 30)
        .unwrap();
    berth::tls::write_file(&env.pki.agent_cert, &cert, false).unwrap();
    berth::tls::write_file(&env.pki.agent_key, &key, true).unwrap();
    logs.wait_for(
        "the reload of the agent's certificate and key",
        reloaded(&env.pki.agent_key),
    )
    .await;
    let new_leaf = leaf(&env.pki.agent_cert);
    assert_ne!(new_leaf, old_leaf);
    assert_eq!(served_certificate(&env, &url).await, new_leaf);
    env.berth(&["list"]).await.ok();

    // Revoking mallory: refused from then on; others are not.
    certs(&["revoke", &path(&mallory), "--ca-dir", &path(&ca_dir)]).await;
    logs.wait_for("the reload of the CRL", reloaded(&crl)).await;
    let refused = list_as(&env, &mallory, &mallory_key).await.failed();
    assert_eq!(
        refused.stderr,
        format!(
            "Error: the agent at {url} refused the client certificate {}: it has been revoked; issue a new one (berth certs client NAME --ca-dir DIR)\n",
            mallory.display()
        )
    );
    env.berth(&["list"]).await.ok();

    // A second client CA added to the bundle lets its clients in.
    let team = CertAuthority::generate("team CA").unwrap();
    let (tc, tk) = team.issue_client("team-bot", 30).unwrap();
    let (team_cert, team_key) = (
        env.dir.path().join("team.crt"),
        env.dir.path().join("team.key"),
    );
    berth::tls::write_file(&team_cert, &tc, false).unwrap();
    berth::tls::write_file(&team_key, &tk, true).unwrap();
    list_as(&env, &team_cert, &team_key).await.failed();
    let bundle = format!("{}{}", ca.cert_pem, team.cert_pem);
    berth::tls::write_file(&env.pki.ca_cert, &bundle, false).unwrap();
    logs.wait_for("the reload of the client CA", reloaded(&env.pki.ca_cert))
        .await;
    list_as(&env, &team_cert, &team_key).await.ok();

    // A broken replacement is logged, naming the file, and the previous
    // configuration goes on serving.
    std::fs::write(&env.pki.agent_cert, "-----BEGIN CERT").unwrap();
    let broken = logs
        .wait_for("the broken certificate", |l| {
            l["level"] == "ERROR" && message(l).contains("keeping the previous TLS configuration")
        })
        .await;
    assert_eq!(
        broken["fields"]["error"],
        format!(
            "{}: malformed PEM: illegal section start: \"-----BEGIN CERT\"",
            env.pki.agent_cert.display()
        )
    );
    assert_eq!(served_certificate(&env, &url).await, new_leaf);
    env.berth(&["list"]).await.ok();
    list_as(&env, &mallory, &mallory_key).await.failed();
    berthd.start_kill().unwrap();
}
