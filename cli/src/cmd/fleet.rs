//! `berth fleet install|upgrade|rollback|status|history`: one command, many
//! clusters of the config file, chosen by name or label selector.
//!
//! Operations run on at most `--max-parallel` clusters at once (by default
//! all, or 10 when a failure budget is set); `--canary N`
//! runs the first N clusters before the rest, and the rest only if they all
//! succeeded; after `--max-failures N` failed clusters (1 with
//! `--stop-on-failure`) no new cluster starts. Each cluster's progress lines
//! carry its name. A summary table (or `-o json|yaml`) ends the run; the
//! exit code is 0 only if every targeted cluster succeeded
//! ([`EXIT_FAILED`], [`EXIT_UNREACHABLE`] otherwise).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth::proto::{self, UpgradeMode};
use clap::{Args, Subcommand};
use tokio::sync::{Semaphore, mpsc};

use super::install::{InstallArgs, Prepared, UpgradeArgs};
use crate::config::{self, Cluster, Config};
use crate::connect::{self, status_error};
use crate::output::Format;
use crate::progress::{self, Outcome};
use crate::{CliError, Global, Io};

/// Some targeted cluster failed (or was skipped because others failed).
pub const EXIT_FAILED: i32 = 3;
/// Every cluster that did not succeed was unreachable.
pub const EXIT_UNREACHABLE: i32 = 4;

#[derive(Subcommand, Debug)]
pub enum FleetCommand {
    /// Install a chart on many clusters.
    #[command(
        after_help = "Examples:\n  berth fleet install web ./chart --selector env=staging\n  berth fleet install web ./chart --clusters eu-1,us-1 --wait"
    )]
    Install {
        #[command(flatten)]
        args: InstallArgs,
        #[command(flatten)]
        targets: Targets,
    },
    /// Upgrade a release on many clusters.
    #[command(
        after_help = "Examples:\n  berth fleet upgrade web ./chart --set image.tag=2.0 --selector 'env=prod,region in (eu,us)' --canary 1 --stop-on-failure\n  berth fleet upgrade web ./chart --install --clusters a,b,c --max-parallel 2 --rollback-failed"
    )]
    Upgrade {
        #[command(flatten)]
        args: UpgradeArgs,
        #[command(flatten)]
        targets: Targets,
    },
    /// Roll a release back on many clusters.
    #[command(
        after_help = "Examples:\n  berth fleet rollback web --selector env=prod\n  berth fleet rollback web 3 --clusters eu-1"
    )]
    Rollback {
        #[command(flatten)]
        args: super::rollback::RollbackArgs,
        #[command(flatten)]
        targets: Targets,
    },
    /// A release's status on many clusters.
    #[command(after_help = "Example:\n  berth fleet status web --selector env=prod -o json")]
    Status {
        /// Release name.
        name: String,
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Format,
        #[command(flatten)]
        targets: Targets,
    },
    /// A release's history on many clusters.
    #[command(after_help = "Example:\n  berth fleet history web --clusters eu-1,us-1")]
    History {
        /// Release name.
        name: String,
        /// At most this many revisions per cluster (0: all).
        #[arg(long, default_value = "256")]
        max: u32,
        #[arg(short = 'o', long, value_enum, default_value_t)]
        output: Format,
        #[command(flatten)]
        targets: Targets,
    },
}

/// Clusters at once when a failure budget is set and --max-parallel is not.
const PACED: usize = 10;

/// Which clusters, and how to pace them.
#[derive(Args, Debug, Clone)]
pub struct Targets {
    /// Clusters by name, comma-separated, in this order.
    #[arg(long, value_delimiter = ',', required_unless_present = "selector")]
    pub clusters: Vec<String>,
    /// Clusters whose labels match, e.g. `env=prod,region in (eu,us)`.
    #[arg(short = 'l', long, conflicts_with = "clusters")]
    pub selector: Option<String>,
    /// Clusters worked on at once [default: all of them; 10 with
    /// --stop-on-failure or --max-failures].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_parallel: Option<u32>,
    /// Run the first N clusters first; the rest only if they all succeed.
    #[arg(long, default_value = "0")]
    pub canary: usize,
    /// Start no new cluster once this many have failed.
    #[arg(long)]
    pub max_failures: Option<usize>,
    /// Start no new cluster once one has failed (--max-failures 1).
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Roll back the clusters whose operation failed (to their previous revision).
    #[arg(long)]
    pub rollback_failed: bool,
}

impl Targets {
    /// The clusters, in order: as listed, or the config file's order.
    fn resolve(&self, config: &Config) -> Result<Vec<Cluster>, CliError> {
        // Checked here, not by clap: `--stop-on-failure=false` beside a
        // budget is no conflict.
        if self.stop_on_failure && self.max_failures.is_some() {
            return Err(CliError::Usage(
                "--stop-on-failure and --max-failures cannot be used together (--stop-on-failure is --max-failures 1)".into(),
            ));
        }
        if let Some(sel) = &self.selector {
            let sel = config::Selector::parse(sel)?;
            let picked: Vec<Cluster> = config
                .clusters
                .iter()
                .filter(|c| sel.matches(&c.labels))
                .cloned()
                .collect();
            if picked.is_empty() {
                return Err(CliError::Usage(format!(
                    "--selector {:?} matches no cluster (see `berth cluster list`)",
                    self.selector.as_deref().unwrap_or_default()
                )));
            }
            return Ok(picked);
        }
        let mut seen = std::collections::HashSet::new();
        let mut picked = Vec::new();
        for name in &self.clusters {
            if seen.insert(name.as_str()) {
                picked.push(config.get(name)?.clone());
            }
        }
        Ok(picked)
    }

    /// How many clusters run at once. Each cluster's work happens on its
    /// own agent and cluster; the CLI only waits for them, so by default
    /// all go at once and a fleet takes about as long as its slowest
    /// cluster. A failure budget
    /// only means something if clusters start after others ended, so with
    /// one (and no --max-parallel) they go in tens, as before.
    fn parallel(&self, clusters: usize) -> usize {
        match self.max_parallel {
            Some(n) => n as usize,
            None if self.max_failures().is_some() => PACED,
            None => clusters.max(1),
        }
    }

    fn max_failures(&self) -> Option<usize> {
        if self.stop_on_failure {
            Some(1)
        } else {
            self.max_failures
        }
    }
}

/// How one cluster ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Succeeded,
    Failed,
    Unreachable,
    Skipped,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Succeeded => "succeeded",
            Verdict::Failed => "failed",
            Verdict::Unreachable => "unreachable",
            Verdict::Skipped => "skipped",
        }
    }
}

/// One row of the summary.
#[derive(Debug, Clone)]
pub struct ClusterResult {
    pub cluster: String,
    pub result: Verdict,
    pub revision: u64,
    pub duration: Duration,
    pub reason: String,
}

impl ClusterResult {
    fn skipped(cluster: &str, reason: String) -> ClusterResult {
        ClusterResult {
            cluster: cluster.to_string(),
            result: Verdict::Skipped,
            revision: 0,
            duration: Duration::ZERO,
            reason,
        }
    }
}

/// Unreachable: the agent could not be reached or the connection broke.
fn classify(e: &CliError) -> Verdict {
    match e {
        CliError::Connect(_) => Verdict::Unreachable,
        _ => Verdict::Failed,
    }
}

/// Lines written through it go to the shared output, prefixed with the
/// cluster's name, whole lines at a time.
struct Prefixed {
    prefix: String,
    buf: Vec<u8>,
    tx: mpsc::UnboundedSender<String>,
}

impl Write for Prefixed {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=nl).collect();
            let _ = self
                .tx
                .send(format!("{}{}", self.prefix, String::from_utf8_lossy(&line)));
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Prefixed {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let _ = self.tx.send(format!(
                "{}{}\n",
                self.prefix,
                String::from_utf8_lossy(&self.buf)
            ));
        }
    }
}

/// The operation a fleet run performs on each cluster.
enum Op {
    Upgrade(Prepared),
    Rollback(proto::RollbackRequest),
}

struct Job {
    op: Op,
    namespace: String,
    style: progress::Style,
    /// The terminal display all clusters share (Style::Live).
    display: Option<indicatif::MultiProgress>,
    color: bool,
    rollback_failed: bool,
}

impl Job {
    /// The live block of one cluster, when progress is live.
    fn live(&self, name: &str) -> Option<progress::Live> {
        self.display
            .as_ref()
            .map(|m| progress::Live::group(m, name, self.color))
    }
}

/// Run the operation on one cluster, returning its row.
async fn one(job: &Job, cluster: &Cluster, out: &mut Prefixed) -> ClusterResult {
    let start = Instant::now();
    let target = cluster.target();
    let outcome = async {
        let events: super::install::Events = match &job.op {
            Op::Upgrade(p) => super::install::send_prepared(&target, &job.namespace, p).await?,
            Op::Rollback(req) => {
                let mut client = connect::connect(&target).await?;
                Box::pin(
                    client
                        .rollback(req.clone())
                        .await
                        .map_err(status_error)?
                        .into_inner(),
                )
            }
        };
        let live = job.live(&cluster.name);
        progress::follow(events, out, job.style, Some(&cluster.name), live).await
    }
    .await;
    let mut row = ClusterResult {
        cluster: cluster.name.clone(),
        result: Verdict::Succeeded,
        revision: 0,
        duration: Duration::ZERO,
        reason: String::new(),
    };
    match outcome {
        Ok(Outcome::Completed {
            revision, status, ..
        }) => {
            row.revision = revision;
            row.reason = status.helm_name().to_string();
        }
        Ok(Outcome::Failed {
            revision,
            reason,
            message,
            ..
        }) => {
            row.result = Verdict::Failed;
            row.revision = revision;
            row.reason = format!("{reason}: {message}");
        }
        Err(e) => {
            row.result = classify(&e);
            row.reason = e.to_string();
        }
    }
    if row.result == Verdict::Failed && job.rollback_failed && matches!(job.op, Op::Upgrade(_)) {
        row.reason = format!(
            "{}; {}",
            row.reason,
            rollback_after_failure(job, cluster, out).await
        );
    }
    row.duration = start.elapsed();
    row
}

/// `--rollback-failed`: back to the revision before the failed one.
async fn rollback_after_failure(job: &Job, cluster: &Cluster, out: &mut Prefixed) -> String {
    let Op::Upgrade(p) = &job.op else {
        return String::new();
    };
    let req = proto::RollbackRequest {
        release: p.name.clone(),
        namespace: job.namespace.clone(),
        revision: 0,
        options: Some(proto::OperationOptions {
            wait: p.options.wait,
            timeout_seconds: p.options.timeout_seconds,
            history_max: p.options.history_max,
            ..Default::default()
        }),
        client: Some(proto::ClientInfo {
            client_version: berth::VERSION.to_string(),
        }),
    };
    let result = async {
        let mut client = connect::connect(&cluster.target()).await?;
        let events = client
            .rollback(req)
            .await
            .map_err(status_error)?
            .into_inner();
        let live = job.live(&format!("{} rollback", cluster.name));
        progress::follow(events, out, job.style, Some(&cluster.name), live).await
    }
    .await;
    match result {
        Ok(Outcome::Completed { revision, .. }) => {
            format!("rolled back (revision {revision})")
        }
        Ok(Outcome::Failed {
            reason, message, ..
        }) => format!("rollback failed: {reason}: {message}"),
        Err(e) => format!("rollback failed: {e}"),
    }
}

/// Schedule the job over the clusters: canaries first, then the rest with
/// at most `max_parallel` at once, starting none after `max_failures`.
async fn schedule(
    job: Arc<Job>,
    clusters: Vec<Cluster>,
    targets: &Targets,
    tx: mpsc::UnboundedSender<String>,
) -> Vec<ClusterResult> {
    let width = clusters.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let canary = targets.canary.min(clusters.len());
    let max_failures = targets.max_failures();
    let failures = Arc::new(AtomicUsize::new(0));
    let permits = Arc::new(Semaphore::new(targets.parallel(clusters.len())));
    let mut results: Vec<Option<ClusterResult>> = vec![None; clusters.len()];

    let run_wave = |indices: Vec<usize>| {
        let mut handles = Vec::new();
        let clusters = &clusters;
        let (job, failures, permits, tx) = (&job, &failures, &permits, &tx);
        async move {
            let mut skipped = Vec::new();
            for i in indices {
                let permit = Arc::clone(permits)
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let failed = failures.load(Ordering::SeqCst);
                if max_failures.is_some_and(|m| failed >= m) {
                    drop(permit);
                    skipped.push((
                        i,
                        ClusterResult::skipped(
                            &clusters[i].name,
                            format!("not started: {failed} cluster(s) had failed"),
                        ),
                    ));
                    continue;
                }
                let cluster = clusters[i].clone();
                let (job, failures, tx) = (Arc::clone(job), Arc::clone(failures), tx.clone());
                handles.push((
                    i,
                    tokio::spawn(async move {
                        let prefix = if job.style == progress::Style::Ndjson {
                            String::new()
                        } else {
                            format!("[{:<width$}] ", cluster.name)
                        };
                        let mut out = Prefixed {
                            prefix,
                            buf: Vec::new(),
                            tx,
                        };
                        let row = one(&job, &cluster, &mut out).await;
                        if row.result != Verdict::Succeeded {
                            failures.fetch_add(1, Ordering::SeqCst);
                        }
                        drop(permit);
                        row
                    }),
                ));
            }
            let mut rows = skipped;
            for (i, h) in handles {
                let row = h.await.unwrap_or_else(|e| ClusterResult {
                    cluster: clusters[i].name.clone(),
                    result: Verdict::Failed,
                    revision: 0,
                    duration: Duration::ZERO,
                    reason: format!("internal error: {e}"),
                });
                rows.push((i, row));
            }
            rows
        }
    };

    for (i, row) in run_wave((0..canary).collect()).await {
        results[i] = Some(row);
    }
    let canary_failed: Vec<&str> = results[..canary]
        .iter()
        .flatten()
        .filter(|r| r.result != Verdict::Succeeded)
        .map(|r| r.cluster.as_str())
        .collect();
    if canary_failed.is_empty() {
        for (i, row) in run_wave((canary..clusters.len()).collect()).await {
            results[i] = Some(row);
        }
    } else {
        let why = format!(
            "not started: canary {} did not succeed",
            canary_failed.join(", ")
        );
        for (i, c) in clusters.iter().enumerate().skip(canary) {
            results[i] = Some(ClusterResult::skipped(&c.name, why.clone()));
        }
    }
    results.into_iter().flatten().collect()
}

fn human(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 60.0 {
        format!("{}m{}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{s:.1}s")
    }
}

/// Print the summary and turn the results into the exit status.
fn finish(
    rows: &[ClusterResult],
    output: Format,
    out: &mut (dyn Write + Send),
) -> Result<(), CliError> {
    if output == Format::Table {
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.cluster.clone(),
                    r.result.as_str().to_string(),
                    if r.revision > 0 {
                        r.revision.to_string()
                    } else {
                        String::new()
                    },
                    human(r.duration),
                    r.reason.clone(),
                ]
            })
            .collect();
        crate::output::table(
            out,
            &["CLUSTER", "RESULT", "REVISION", "DURATION", "REASON"],
            &table,
        )?;
    } else {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "cluster": r.cluster,
                    "result": r.result.as_str(),
                    "revision": r.revision,
                    "duration_ms": r.duration.as_millis() as u64,
                    "reason": r.reason,
                })
            })
            .collect();
        crate::output::structured(out, output, &serde_json::json!({ "results": v }))?;
    }
    exit_status(rows)
}

/// Fleet progress: ndjson events (labelled with the cluster), nothing,
/// on a terminal one live block per cluster (its phase in a header line,
/// its resources below), else lines prefixed with the cluster.
fn job(g: &Global, io: &Io, op: Op, quiet: bool, output: Format, rollback_failed: bool) -> Job {
    let style = progress::Style::choose(io, g, quiet, output);
    Job {
        op,
        namespace: g.namespace.clone(),
        display: (style == progress::Style::Live).then(progress::Live::shared),
        style,
        color: io.color,
        rollback_failed,
    }
}

fn exit_status(rows: &[ClusterResult]) -> Result<(), CliError> {
    let count = |r: Verdict| rows.iter().filter(|x| x.result == r).count();
    let (failed, unreachable, skipped) = (
        count(Verdict::Failed),
        count(Verdict::Unreachable),
        count(Verdict::Skipped),
    );
    if failed + unreachable + skipped == 0 {
        return Ok(());
    }
    let message = format!(
        "{} of {} clusters succeeded ({failed} failed, {unreachable} unreachable, {skipped} skipped)",
        count(Verdict::Succeeded),
        rows.len()
    );
    let code = if failed + skipped == 0 {
        EXIT_UNREACHABLE
    } else {
        EXIT_FAILED
    };
    Err(CliError::Exit { code, message })
}

/// Drain the clusters' progress lines into `out` while `work` runs.
async fn with_lines<F>(
    rx: &mut mpsc::UnboundedReceiver<String>,
    out: &mut (dyn Write + Send),
    work: F,
) -> Result<F::Output, CliError>
where
    F: std::future::Future,
{
    tokio::pin!(work);
    loop {
        tokio::select! {
            line = rx.recv() => match line {
                Some(l) => out.write_all(l.as_bytes())?,
                None => break,
            },
            done = &mut work => {
                while let Ok(l) = rx.try_recv() {
                    out.write_all(l.as_bytes())?;
                }
                return Ok(done);
            }
        }
    }
    Ok(work.await)
}

async fn run_op(
    g: &Global,
    job: Job,
    targets: &Targets,
    output: Format,
    io: &mut Io,
) -> Result<(), CliError> {
    let config = Config::load_from(&config::path(g.config.as_deref())?)?;
    let clusters = targets.resolve(&config)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let job = Arc::new(job);
    let ndjson = job.style == progress::Style::Ndjson;
    let work = schedule(job, clusters, targets, tx);
    // stdout carries either the events (ndjson) or the summary when it is
    // machine-readable; the rest goes to stderr.
    let rows = if ndjson || output == Format::Table {
        with_lines(&mut rx, &mut *io.out, work).await?
    } else {
        with_lines(&mut rx, &mut *io.err, work).await?
    };
    if ndjson {
        finish(&rows, Format::Table, &mut *io.err)
    } else {
        finish(&rows, output, &mut *io.out)
    }
}

/// `fleet install` and `fleet upgrade`: one prepared chart, every cluster.
async fn upgrade_everywhere(
    g: &Global,
    prepared: Prepared,
    quiet: bool,
    output: Format,
    targets: &Targets,
    io: &mut Io,
) -> Result<(), CliError> {
    let job = job(
        g,
        io,
        Op::Upgrade(prepared),
        quiet,
        output,
        targets.rollback_failed,
    );
    run_op(g, job, targets, output, io).await
}

pub async fn run(g: &Global, c: FleetCommand, io: &mut Io) -> Result<(), CliError> {
    match c {
        FleetCommand::Install { args, targets } => {
            args.chart_flags.check(&args.op)?;
            let options = super::install::install_options(&args);
            let (name, chart) = args.name_and_chart()?;
            let chart = crate::charts::locate(&chart, &args.chart_path, &mut *io.err).await?;
            let mut prepared = Prepared::new(
                &name,
                &chart.path,
                &args.values,
                UpgradeMode::Install,
                options,
            )
            .await?;
            prepared.post_render = args.chart_flags.post_render.resolve()?.map(Arc::new);
            upgrade_everywhere(g, prepared, args.op.quiet, args.output, &targets, io).await
        }
        FleetCommand::Upgrade { args, targets } => {
            args.chart_flags.check(&args.op)?;
            let (mode, options) = super::install::upgrade_options(&args);
            let chart = crate::charts::locate(&args.chart, &args.chart_path, &mut *io.err).await?;
            let mut prepared =
                Prepared::new(&args.name, &chart.path, &args.values, mode, options).await?;
            prepared.post_render = args.chart_flags.post_render.resolve()?.map(Arc::new);
            upgrade_everywhere(g, prepared, args.op.quiet, args.output, &targets, io).await
        }
        FleetCommand::Rollback { args, targets } => {
            let req = super::rollback::request(g, &args);
            let job = job(g, io, Op::Rollback(req), args.op.quiet, args.output, false);
            run_op(g, job, &targets, args.output, io).await
        }
        FleetCommand::Status {
            name,
            output,
            targets,
        } => query(g, &name, &targets, output, Query::Status, io).await,
        FleetCommand::History {
            name,
            max,
            output,
            targets,
        } => query(g, &name, &targets, output, Query::History(max), io).await,
    }
}

#[derive(Clone, Copy)]
enum Query {
    Status,
    History(u32),
}

/// `fleet status|history`: ask every cluster at once and show one table
/// with a CLUSTER column (or one JSON object per cluster).
async fn query(
    g: &Global,
    name: &str,
    targets: &Targets,
    output: Format,
    what: Query,
    io: &mut Io,
) -> Result<(), CliError> {
    let config = Config::load_from(&config::path(g.config.as_deref())?)?;
    let clusters = targets.resolve(&config)?;
    let permits = Arc::new(Semaphore::new(targets.parallel(clusters.len())));
    let mut handles = Vec::new();
    for cluster in clusters {
        let (name, namespace, permits) =
            (name.to_string(), g.namespace.clone(), Arc::clone(&permits));
        handles.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let start = Instant::now();
            let answer = async {
                let mut client = connect::connect(&cluster.target()).await?;
                match what {
                    Query::Status => {
                        let info = client
                            .status(proto::StatusRequest {
                                release: name.clone(),
                                namespace,
                                revision: 0,
                            })
                            .await
                            .map_err(status_error)?
                            .into_inner();
                        Ok::<_, CliError>(vec![info_row(&info)])
                    }
                    Query::History(max) => {
                        let h = client
                            .history(proto::HistoryRequest {
                                release: name.clone(),
                                namespace,
                                max,
                            })
                            .await
                            .map_err(status_error)?
                            .into_inner();
                        Ok(h.revisions
                            .iter()
                            .map(super::history::revision_json)
                            .collect())
                    }
                }
            }
            .await;
            (cluster.name, start.elapsed(), answer)
        }));
    }
    let mut rows = Vec::new();
    let mut data = Vec::new();
    for h in handles {
        let (cluster, duration, answer) = h
            .await
            .map_err(|e| CliError::Other(format!("internal error: {e}")))?;
        match answer {
            Ok(items) => {
                let revision = items
                    .iter()
                    .filter_map(|v| v["revision"].as_u64())
                    .max()
                    .unwrap_or(0);
                rows.push(ClusterResult {
                    cluster: cluster.clone(),
                    result: Verdict::Succeeded,
                    revision,
                    duration,
                    reason: String::new(),
                });
                data.push((cluster, items));
            }
            Err(e) => rows.push(ClusterResult {
                cluster,
                result: classify(&e),
                revision: 0,
                duration,
                reason: e.to_string(),
            }),
        }
    }
    if output == Format::Table {
        let columns: &[&str] = match what {
            Query::Status => &["STATUS", "REVISION", "UPDATED", "CHART", "APP VERSION"],
            Query::History(_) => &super::history::COLUMNS,
        };
        let mut header = vec!["CLUSTER"];
        header.extend_from_slice(columns);
        let mut table = Vec::new();
        for (cluster, items) in &data {
            for v in items {
                let mut row = vec![cluster.clone()];
                for col in columns {
                    row.push(match *col {
                        "STATUS" => v["status"].as_str().unwrap_or_default().to_string(),
                        "REVISION" => v["revision"].to_string(),
                        "UPDATED" => v["updated"].as_str().unwrap_or_default().to_string(),
                        "CHART" => v["chart"].as_str().unwrap_or_default().to_string(),
                        "APP VERSION" => v["app_version"].as_str().unwrap_or_default().to_string(),
                        "BY" => v["by"].as_str().unwrap_or_default().to_string(),
                        _ => v["description"].as_str().unwrap_or_default().to_string(),
                    });
                }
                table.push(row);
            }
        }
        crate::output::table(&mut *io.out, &header, &table)?;
        for r in rows.iter().filter(|r| r.result != Verdict::Succeeded) {
            writeln!(io.err, "{}: {}: {}", r.cluster, r.result.as_str(), r.reason)?;
        }
    } else {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let items = data
                    .iter()
                    .find(|(c, _)| *c == r.cluster)
                    .map(|(_, i)| i.clone());
                let key = match what {
                    Query::Status => "status",
                    Query::History(_) => "history",
                };
                let body = match (what, items) {
                    (Query::Status, Some(mut i)) => i.pop().unwrap_or_default(),
                    (Query::History(_), Some(i)) => serde_json::Value::Array(i),
                    (_, None) => serde_json::Value::Null,
                };
                serde_json::json!({
                    "cluster": r.cluster,
                    "result": r.result.as_str(),
                    "reason": r.reason,
                    key: body,
                })
            })
            .collect();
        crate::output::structured(&mut *io.out, output, &serde_json::json!({ "results": v }))?;
    }
    exit_status(&rows)
}

/// A status answer as the fields a fleet table shows.
fn info_row(info: &proto::ReleaseInfo) -> serde_json::Value {
    let last = info.revision.clone().unwrap_or_default();
    serde_json::json!({
        "status": super::history::status_name(last.status),
        "revision": last.revision,
        "updated": crate::output::rfc3339(last.updated_unix_ms),
        "chart": format!("{}-{}", last.chart_name, last.chart_version),
        "app_version": last.app_version,
        "by": last.by,
        "description": last.description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets() -> Targets {
        Targets {
            clusters: Vec::new(),
            selector: Some("env=prod".into()),
            max_parallel: None,
            canary: 0,
            max_failures: None,
            stop_on_failure: false,
            rollback_failed: false,
        }
    }

    #[test]
    fn all_clusters_go_at_once_unless_a_failure_budget_or_max_parallel_paces_them() {
        assert_eq!(targets().parallel(50), 50);
        assert_eq!(targets().parallel(0), 1);
        let stop = Targets {
            stop_on_failure: true,
            ..targets()
        };
        assert_eq!(stop.parallel(50), PACED);
        let budget = Targets {
            max_failures: Some(3),
            ..targets()
        };
        assert_eq!(budget.parallel(50), PACED);
        let given = Targets {
            max_parallel: Some(50),
            stop_on_failure: true,
            ..targets()
        };
        assert_eq!(given.parallel(50), 50);
    }

    #[test]
    fn a_failure_budget_and_stop_on_failure_are_refused_together_but_not_a_false_one() {
        let both = Targets {
            stop_on_failure: true,
            max_failures: Some(3),
            ..targets()
        };
        let err = both.resolve(&Config::default()).unwrap_err().to_string();
        assert!(err.contains("cannot be used together"), "{err}");
        let budget = Targets {
            max_failures: Some(3),
            ..targets()
        };
        let err = budget.resolve(&Config::default()).unwrap_err().to_string();
        assert!(err.contains("matches no cluster"), "{err}");
    }
}
