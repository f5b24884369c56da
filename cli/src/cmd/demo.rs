//! `berth demo`: the whole system on one machine. It starts a Kubernetes API
//! simulator and an agent in-process, with freshly generated certificates
//! in a temporary directory, then drives them through the real CLI code
//! over real mutual TLS: install → upgrade → rollback → history.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::Args;

use crate::{CliError, Io};

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Use the simulator's fast timings (pods ready in a fraction of a second).
    #[arg(long)]
    pub fast: bool,
    /// Keep the temporary directory (certificates, journal, kubeconfig) and print its path.
    #[arg(long)]
    pub keep: bool,
}

pub async fn run(a: DemoArgs, io: &mut Io) -> Result<(), CliError> {
    let tmp = tempfile::Builder::new().prefix("berth-demo-").tempdir()?;
    let dir = tmp.path().to_path_buf();
    let other = |e: &dyn std::fmt::Display| CliError::Other(e.to_string());

    let pki = berth::tls::init_dev_pki(
        &dir.join("pki"),
        &["localhost".into(), "127.0.0.1".into()],
        "admin",
    )
    .map_err(|e| CliError::Tls(e.to_string()))?;
    let profile = if a.fast {
        berth_sim::Profile::Fast
    } else {
        berth_sim::Profile::Realistic
    };
    let sim = berth_sim::Simulator::builder()
        .profile(profile)
        .clock(berth_sim::Clock::Real { scale: 1.0 })
        .start()
        .await
        .map_err(|e| other(&e))?;
    let kubeconfig = dir.join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig).map_err(|e| other(&e))?;
    let agent = berth_agent::start(berth_agent::AgentConfig {
        listen: "127.0.0.1:0".parse().expect("a valid address"),
        cert: pki.agent_cert.clone(),
        key: pki.agent_key.clone(),
        client_ca: pki.ca_cert.clone(),
        crl: None,
        data_dir: dir.join("data"),
        kubeconfig: Some(kubeconfig.clone()),
        policy: Default::default(),
        settings: Default::default(),
    })
    .await
    .map_err(|e| other(&e))?;

    writeln!(io.out, "berth demo")?;
    writeln!(io.out, "  Kubernetes API simulator  {}", sim.url())?;
    writeln!(
        io.out,
        "  berthd agent              https://127.0.0.1:{} (mutual TLS, client CN \"admin\")",
        agent.addr.port()
    )?;
    writeln!(io.out, "  certificates, journal     {}", dir.display())?;

    let v1 = dir.join("hello-1.0.0");
    let v2 = dir.join("hello-1.1.0");
    crate::demo::write_chart(&v1, "1.0.0")?;
    crate::demo::write_chart(&v2, "1.1.0")?;
    let conn = [
        "--agent".to_string(),
        format!("https://127.0.0.1:{}", agent.addr.port()),
        "--ca".into(),
        path(&pki.ca_cert),
        "--cert".into(),
        path(&pki.client_cert),
        "--key".into(),
        path(&pki.client_key),
    ];
    let steps: Vec<Vec<String>> = vec![
        vec!["install".into(), "hello".into(), path(&v1), "--wait".into()],
        vec![
            "upgrade".into(),
            "hello".into(),
            path(&v2),
            "--set".into(),
            "replicaCount=3".into(),
            "--set".into(),
            "message=Hello again".into(),
            "--wait".into(),
        ],
        vec![
            "rollback".into(),
            "hello".into(),
            "1".into(),
            "--wait".into(),
        ],
        vec!["history".into(), "hello".into()],
    ];
    let mut result = Ok(());
    for step in steps {
        let shown: Vec<String> = step
            .iter()
            .map(|s| s.replace(&*dir.to_string_lossy(), "$DEMO"))
            .collect();
        writeln!(io.out, "\n$ berth {}", shown.join(" "))?;
        let mut args = vec!["berth".to_string()];
        args.extend(step);
        args.extend(conn.iter().cloned());
        let code = Box::pin(crate::run(args, io)).await;
        if code != 0 {
            result = Err(CliError::Failed(format!(
                "demo step failed with exit code {code}"
            )));
            break;
        }
    }
    let _ = agent.shutdown().await;
    tokio::time::timeout(Duration::from_secs(5), sim.shutdown())
        .await
        .ok();
    if a.keep {
        let kept = tmp.keep();
        writeln!(io.out, "\nkept {}", kept.display())?;
    }
    result
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
