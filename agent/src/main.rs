//! `berthd`: parse flags, start the agent, serve until SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The berth release agent: runs in a cluster, keeps the journal of every
/// release, applies charts to its own cluster, streams progress over mTLS.
#[derive(Parser, Debug)]
#[command(name = "berthd", version, about)]
struct Args {
    /// Address to serve gRPC on.
    #[arg(long, default_value = "0.0.0.0:7443", env = "BERTHD_LISTEN")]
    listen: SocketAddr,
    /// The agent's TLS certificate (PEM).
    #[arg(long, env = "BERTHD_CERT")]
    cert: PathBuf,
    /// The agent's private key (PEM).
    #[arg(long, env = "BERTHD_KEY")]
    key: PathBuf,
    /// CA certificate(s) that sign client certificates; clients without one are refused.
    #[arg(long, env = "BERTHD_CLIENT_CA")]
    client_ca: PathBuf,
    /// Revoked client certificates: a PEM file of CRLs signed by the client
    /// CA (`berth certs revoke` writes one). Reloaded when it changes, like
    /// the certificate, key and client CA.
    #[arg(long, env = "BERTHD_CRL")]
    crl: Option<PathBuf>,
    /// Directory of the journal.
    #[arg(long, env = "BERTHD_DATA")]
    data: PathBuf,
    /// Kubeconfig of the cluster to manage (default: in-cluster service account).
    #[arg(long, env = "BERTHD_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Default operation timeout when a client gives none.
    #[arg(long, default_value = "300", value_name = "SECONDS")]
    default_timeout: u64,
    /// How long a pod failure signal (ImagePullBackOff, CrashLoopBackOff,
    /// Unschedulable…) may persist before it fails the operation, as
    /// REASON=DURATION (repeatable; `*=DURATION` for every other reason).
    #[arg(long, value_name = "REASON=DURATION")]
    failure_grace: Vec<String>,
    /// What "ready" means for a custom resource that reports no Ready or
    /// Available condition: ready (once applied) or wait-for-status (once a
    /// controller has written its status).
    #[arg(long, default_value = "ready", value_name = "POLICY")]
    no_status_policy: berth_agent::track::status::NoStatusPolicy,
    /// Authorization policy (YAML): which identities hold which role in
    /// which namespaces. Re-read when it changes. Without it, only the
    /// --admin identity may do anything.
    #[arg(long, env = "BERTHD_POLICY", value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The identity that is admin when no --policy is given (the client
    /// name `berth certs init` used).
    #[arg(
        long,
        default_value = "admin",
        value_name = "IDENTITY",
        conflicts_with = "policy"
    )]
    admin: String,
    /// Serve /healthz, /readyz and /metrics (Prometheus) over plain HTTP
    /// on this address; off unless given (e.g. 0.0.0.0:9090 in a pod).
    #[arg(long, env = "BERTHD_HTTP_LISTEN", value_name = "ADDR")]
    http_listen: Option<SocketAddr>,
    /// Check every deployed release for drift this often (e.g. 5m); off
    /// unless given. `berth drift` checks on demand either way.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    drift_interval: Option<Duration>,
    /// Log format.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    log_format: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTHD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if args.log_format == "json" {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let mut failure_grace = berth_agent::track::pods::Grace::default();
    for spec in &args.failure_grace {
        if let Err(e) = failure_grace.set(spec) {
            eprintln!("berthd: {e}");
            return std::process::ExitCode::from(2);
        }
    }
    let config = berth_agent::AgentConfig {
        listen: args.listen,
        cert: args.cert,
        key: args.key,
        client_ca: args.client_ca,
        crl: args.crl,
        data_dir: args.data,
        kubeconfig: args.kubeconfig,
        policy: match args.policy {
            Some(path) => berth_agent::policy::PolicySource::File(path),
            None => berth_agent::policy::PolicySource::Default { admin: args.admin },
        },
        settings: berth_agent::ops::Settings {
            default_timeout: Duration::from_secs(args.default_timeout),
            failure_grace,
            wait_rules: berth_agent::track::status::Rules {
                no_status: args.no_status_policy,
                ..Default::default()
            },
            drift_interval: args.drift_interval,
            ..Default::default()
        },
    };
    let agent = match berth_agent::start(config).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            return std::process::ExitCode::from(1);
        }
    };
    if let Some(addr) = args.http_listen
        && let Err(e) = agent.serve_http(addr).await
    {
        eprintln!("berthd: {e:#}");
        return std::process::ExitCode::from(1);
    }
    let signal = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    match agent.serve_until(signal).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// A --drift-interval: a duration like 30s, 5m or 1h, at least a second.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = berth::types::parse_duration(s)?;
    if d < Duration::from_secs(1) {
        return Err(format!("{s} is too short: check at most once a second"));
    }
    Ok(d)
}
