//! `berth-sim`: runs the Kubernetes API simulator until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use berth_sim::{Clock, Profile, Simulator, Transport};
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "berth-sim",
    about = "A Kubernetes API server simulator for berth"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write a kubeconfig for the simulator.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Timing profile: fast or realistic.
    #[arg(long, default_value = "realistic")]
    profile: Profile,
    /// Seed of every random choice (UIDs, names, jitter).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of simulated nodes.
    #[arg(long, default_value_t = 3)]
    nodes: u32,
    /// Kubernetes version to report.
    #[arg(long, default_value = "1.35")]
    k8s_version: String,
    /// Keep cluster state in this file across restarts.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    http: bool,
    /// Speed of simulated time relative to the wall clock.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Hold a pod while a ConfigMap or Secret its volumes or environment
    /// take is missing, as a cluster's kubelet does (off by default: the
    /// simulator runs no workload, so what a chart's Job or operator would
    /// create at run time never appears).
    #[arg(long)]
    check_pod_sources: bool,
    /// A fault rule in force from the start, as JSON (repeatable), e.g.
    /// '{"match":{"verb":"create"},"action":{"type":"status","code":500},"budget":{"times":1}}'
    /// (the body `POST /_sim/v1/faults` takes).
    #[arg(long, value_name = "JSON")]
    fault: Vec<String>,
}

/// mimalloc: see README, "Decisions worth knowing".
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An error is one line on stderr and exit status 1, whatever
/// `RUST_BACKTRACE` says (main returning it would print a backtrace).
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut builder = Simulator::builder()
        .listen(args.listen)
        .profile(args.profile)
        .seed(args.seed)
        .nodes(args.nodes)
        .k8s_version(&args.k8s_version)
        .check_pod_sources(args.check_pod_sources)
        .clock(Clock::Real {
            scale: args.time_scale,
        })
        .transport(if args.http {
            Transport::Http
        } else {
            Transport::Https
        });
    if let Some(p) = args.state_file {
        builder = builder.state_file(p);
    }
    for (i, text) in args.fault.iter().enumerate() {
        let rule: berth_sim::Rule = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("--fault #{}: invalid fault rule: {e}", i + 1))?;
        builder = builder.fault(rule);
    }
    let sim = builder.start().await?;
    if let Some(path) = &args.kubeconfig_out {
        sim.write_kubeconfig(path)?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    println!("{}", sim.url());
    wait_for_signal().await?;
    sim.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (so that scripts and service managers stop it cleanly and the
/// state file is saved).
async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
