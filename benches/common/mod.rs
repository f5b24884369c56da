//! What the benches share: where real Helm's Python lives, and medians.
//! Each bench uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `$BERTH_BENCH_PYTHON`, else the project's `.venv` (scripts/bench.sh
/// installs helm-python-sdk there from tests/requirements.txt).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("BERTH_BENCH_PYTHON") {
        return p.into();
    }
    let venv = Path::new(ROOT).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/bench.sh (it installs real Helm from tests/requirements.txt)",
        venv.display()
    );
    venv
}

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// How many times to repeat, from an environment variable or a default.
pub fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// berth-sim (fast profile, the given clock) and an in-process berthd with a
/// fresh PKI, as the lifecycle and latency benches use them.
pub struct Stack {
    pub dir: tempfile::TempDir,
    pub sim: berth_sim::SimHandle,
    pub agent: berth_agent::RunningAgent,
    pub kubeconfig: PathBuf,
    /// `--agent/--ca/--cert/--key` for the CLI.
    pub conn: Vec<String>,
}

impl Stack {
    pub async fn start(clock: berth_sim::Clock) -> Stack {
        Stack::start_with(clock, None).await
    }

    /// As [`Stack::start`], with berthd's journal in `data` (an existing
    /// journal to serve) instead of a fresh one.
    pub async fn start_with(clock: berth_sim::Clock, data: Option<PathBuf>) -> Stack {
        berth_agent::install_crypto_provider();
        let dir = tempfile::tempdir().expect("temporary directory");
        let pki = berth::tls::init_dev_pki(&dir.path().join("pki"), &["127.0.0.1".into()], "admin")
            .expect("PKI");
        let sim = berth_sim::Simulator::builder()
            .profile(berth_sim::Profile::Fast)
            .clock(clock)
            .start()
            .await
            .expect("simulator starts");
        let kubeconfig = dir.path().join("kubeconfig");
        sim.write_kubeconfig(&kubeconfig).expect("kubeconfig");
        let agent = berth_agent::start(berth_agent::AgentConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            cert: pki.agent_cert.clone(),
            key: pki.agent_key.clone(),
            client_ca: pki.ca_cert.clone(),
            crl: None,
            data_dir: data.unwrap_or_else(|| dir.path().join("data")),
            kubeconfig: Some(kubeconfig.clone()),
            policy: Default::default(),
            settings: Default::default(),
        })
        .await
        .expect("agent starts");
        let conn = vec![
            "--agent".to_string(),
            format!("https://127.0.0.1:{}", agent.addr.port()),
            "--ca".into(),
            pki.ca_cert.display().to_string(),
            "--cert".into(),
            pki.client_cert.display().to_string(),
            "--key".into(),
            pki.client_key.display().to_string(),
        ];
        Stack {
            dir,
            sim,
            agent,
            kubeconfig,
            conn,
        }
    }

    pub async fn stop(self) {
        self.agent.shutdown().await.expect("agent stops");
        self.sim.shutdown().await;
    }
}
