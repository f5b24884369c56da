//! `berthd`: parse flags, start the agent, serve until SIGINT/SIGTERM, then
//! shut down gracefully (running operations get `--shutdown-grace`).
//! `berthd journal check|export|import` work on a journal offline instead.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use berth_agent::journal::{Journal, check, transfer};
use clap::{Parser, Subcommand};

/// mimalloc: see README, "Decisions worth knowing".
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The berth release agent: runs in a cluster, keeps the journal of every
/// release, applies charts to its own cluster, streams progress over mTLS.
///
/// Without a subcommand berthd serves (--cert, --key, --client-ca and
/// --data are required); `berthd journal …` works on a journal offline.
#[derive(Parser, Debug)]
#[command(
    name = "berthd",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Examples:\n  berthd --cert agent.crt --key agent.key --client-ca ca.crt --data /var/lib/berthd --policy policy.yaml\n  berthd journal check --data /var/lib/berthd"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to serve gRPC on.
    #[arg(long, default_value = "0.0.0.0:7443", env = "BERTHD_LISTEN")]
    listen: SocketAddr,
    /// The agent's TLS certificate (PEM).
    #[arg(long, env = "BERTHD_CERT", required = true)]
    cert: Option<PathBuf>,
    /// The agent's private key (PEM).
    #[arg(long, env = "BERTHD_KEY", required = true)]
    key: Option<PathBuf>,
    /// CA certificate(s) that sign client certificates; clients without one are refused.
    #[arg(long, env = "BERTHD_CLIENT_CA", required = true)]
    client_ca: Option<PathBuf>,
    /// Revoked client certificates: a PEM file of CRLs signed by the client
    /// CA (`berth certs revoke` writes one). Reloaded when it changes, like
    /// the certificate, key and client CA.
    #[arg(long, env = "BERTHD_CRL")]
    crl: Option<PathBuf>,
    /// Directory of the journal.
    #[arg(long, env = "BERTHD_DATA", required = true)]
    data: Option<PathBuf>,
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
    #[command(flatten)]
    limits: berth_agent::limits::LimitFlags,
    /// How long running operations may go on after SIGTERM (or SIGINT)
    /// before they are recorded as interrupted and berthd exits; new
    /// operations are refused meanwhile. Keep it below the pod's
    /// terminationGracePeriodSeconds.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = berth::types::parse_duration)]
    shutdown_grace: Duration,
    /// Serve /healthz, /readyz and /metrics (Prometheus) over plain HTTP
    /// on this address; off unless given (e.g. 0.0.0.0:9090 in a pod).
    #[arg(long, env = "BERTHD_HTTP_LISTEN", value_name = "ADDR")]
    http_listen: Option<SocketAddr>,
    /// Check every deployed release for drift this often (e.g. 5m); off
    /// unless given. `berth drift` checks on demand either way.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    drift_interval: Option<Duration>,
    /// The journal's cache capacity (suffixes Ki, Mi, Gi); what is not
    /// cached is read from disk. Blob contents (manifests, values, charts)
    /// are not in it: they are read from the journal's pack files.
    #[arg(long, value_name = "BYTES", value_parser = berth_agent::journal::parse_cache, default_value = berth_agent::journal::DEFAULT_CACHE_FLAG)]
    journal_cache: u64,
    /// Log format.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    log_format: String,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check, back up or move a journal. Run it while no berthd serves the
    /// journal (the database is locked by the one that does).
    #[command(subcommand)]
    Journal(JournalCommand),
}

#[derive(Subcommand, Debug)]
enum JournalCommand {
    /// Verify a journal: format version, each release's revisions, deployed
    /// revision and lock, every blob and event. Prints "ok" with counts, or
    /// every problem (one per line) and exits 1.
    #[command(after_help = "Example:\n  berthd journal check --data /var/lib/berthd")]
    Check {
        /// The data directory (berthd --data).
        #[arg(long, env = "BERTHD_DATA")]
        data: PathBuf,
    },
    /// Write the whole journal as one JSON document (format
    /// berth.journal.export/v1): records as they are, blobs decompressed,
    /// events as base64 protobuf. Refuses a journal that fails its check.
    #[command(
        after_help = "Example:\n  berthd journal export --data /var/lib/berthd -o berthd-backup.json"
    )]
    Export {
        /// The data directory (berthd --data).
        #[arg(long, env = "BERTHD_DATA")]
        data: PathBuf,
        /// Write here (replaced atomically) instead of stdout.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read an export into a new journal in an empty data directory, and
    /// check it (what was written is removed again if the check fails).
    #[command(
        after_help = "Example:\n  berthd journal import --data /var/lib/berthd-new berthd-backup.json"
    )]
    Import {
        /// The data directory to create the journal in; must be empty or absent.
        #[arg(long, env = "BERTHD_DATA")]
        data: PathBuf,
        /// The export document (berthd journal export).
        file: PathBuf,
    },
}

/// `berthd journal …`: print the result, say what went wrong on stderr.
fn journal_command(cmd: JournalCommand) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("berthd: {e}");
        ExitCode::from(1)
    };
    match cmd {
        JournalCommand::Check { data } => {
            let report = match Journal::open_existing(&data).and_then(|j| check::check(&j)) {
                Ok(r) => r,
                Err(e) => return fail(&e),
            };
            if report.is_ok() {
                println!("ok: {}", report.summary());
                return ExitCode::SUCCESS;
            }
            for p in &report.problems {
                println!("{p}");
            }
            fail(&format!(
                "journal at {}: {} problem(s); {}",
                data.display(),
                report.problems.len(),
                report.summary()
            ))
        }
        JournalCommand::Export { data, output } => {
            let doc = match Journal::open_existing(&data)
                .map_err(transfer::TransferError::from)
                .and_then(|j| transfer::export(&j))
            {
                Ok(d) => d,
                Err(e) => return fail(&e),
            };
            let written = match &output {
                Some(file) => write_atomically(file, &doc),
                None => {
                    let mut out = std::io::stdout().lock();
                    serde_json::to_writer_pretty(&mut out, &doc)
                        .map_err(std::io::Error::from)
                        .and_then(|()| writeln!(out))
                }
            };
            if let Err(e) = written {
                let to = output.as_deref().map(Path::display);
                return fail(&format!(
                    "writing {}: {e}",
                    to.map(|p| p.to_string()).unwrap_or("stdout".into())
                ));
            }
            let revisions: usize = doc.releases.iter().map(|r| r.revisions.len()).sum();
            eprintln!(
                "exported {} release(s), {revisions} revision(s), {} blob(s) from {}",
                doc.releases.len(),
                doc.blobs.len(),
                data.display()
            );
            ExitCode::SUCCESS
        }
        JournalCommand::Import { data, file } => match transfer::import(&data, &file) {
            Ok(done) => {
                println!(
                    "imported into {}: ok: {}",
                    data.display(),
                    done.report.summary()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
    }
}

/// Write the export next to `file`, then rename it into place: a failed or
/// interrupted export never leaves half a backup under the name.
fn write_atomically(file: &Path, doc: &transfer::Export) -> std::io::Result<()> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    serde_json::to_writer_pretty(&mut tmp, doc)?;
    writeln!(tmp)?;
    tmp.as_file().sync_all()?;
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

fn main() -> ExitCode {
    // Before any thread but this one exists: mimalloc copies some options
    // into a thread's heap when the thread first allocates.
    berth_agent::memory::configure();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("berthd: cannot start the async runtime: {e}");
            ExitCode::from(1)
        }
    }
}

async fn run() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Journal(cmd)) = args.command {
        return journal_command(cmd);
    }
    // clap requires these when there is no subcommand.
    let (Some(cert), Some(key), Some(client_ca), Some(data)) =
        (args.cert, args.key, args.client_ca, args.data)
    else {
        eprintln!("berthd: --cert, --key, --client-ca and --data are required to serve");
        return ExitCode::from(2);
    };
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
            return ExitCode::from(2);
        }
    }
    let config = berth_agent::AgentConfig {
        listen: args.listen,
        cert,
        key,
        client_ca,
        crl: args.crl,
        data_dir: data,
        kubeconfig: args.kubeconfig,
        policy: match args.policy {
            Some(path) => berth_agent::policy::PolicySource::File(path),
            None => berth_agent::policy::PolicySource::Default { admin: args.admin },
        },
        settings: args.limits.apply(berth_agent::ops::Settings {
            default_timeout: Duration::from_secs(args.default_timeout),
            failure_grace,
            wait_rules: berth_agent::track::status::Rules {
                no_status: args.no_status_policy,
                ..Default::default()
            },
            shutdown_grace: args.shutdown_grace,
            drift_interval: args.drift_interval,
            journal_cache: args.journal_cache,
            ..Default::default()
        }),
    };
    let agent = match berth_agent::start(config).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            return ExitCode::from(1);
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
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("berthd: {e:#}");
            ExitCode::from(1)
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
