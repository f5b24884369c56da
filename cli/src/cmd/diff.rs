//! `berth diff upgrade NAME CHART [values flags]`: what an upgrade would
//! change in the live cluster (the agent renders, then applies each object
//! as a server-side dry run and compares); `berth diff revision NAME A B`:
//! the stored manifests of two revisions.

use std::io::Write;

use berth::proto::{self, event::Kind};
use clap::{Args, Subcommand};
use futures::StreamExt;

use super::install::{ValuesFlags, send_events};
use crate::connect::{self, status_error};
use crate::{CliError, Global, Io};

#[derive(Subcommand, Debug)]
pub enum DiffCommand {
    /// Show what `berth upgrade NAME CHART` would change in the cluster.
    #[command(
        after_help = "Examples:\n  berth diff upgrade web ./chart --set replicas=3\n  berth diff upgrade web ./chart -f prod.yaml --context 5"
    )]
    Upgrade(Box<DiffUpgradeArgs>),
    /// Show how two stored revisions' manifests differ.
    #[command(after_help = "Example:\n  berth diff revision web 2 3")]
    Revision(DiffRevisionArgs),
}

#[derive(Args, Debug)]
pub struct DiffUpgradeArgs {
    /// Release name.
    pub name: String,
    /// The chart: a directory, a .tgz, `repo/chart`, a chart name with
    /// --repo, or a chart archive's URL.
    pub chart: std::path::PathBuf,
    #[command(flatten)]
    pub values: ValuesFlags,
    /// Treat a missing release as an install (everything is added).
    #[arg(short = 'i', long)]
    pub install: bool,
    /// Reuse the last release's values, as `upgrade --reuse-values` would.
    #[arg(long)]
    pub reuse_values: bool,
    /// Lines of context around each change.
    #[arg(short = 'C', long, default_value_t = 3)]
    pub context: usize,
    /// Show Secrets' values (by default each value is masked: `REDACTED`,
    /// or `--------`/`++++++++` where it changes, with its length), as
    /// helm-diff's --show-secrets.
    #[arg(long)]
    pub show_secrets: bool,
    #[command(flatten)]
    pub post_render: super::install::PostRenderFlags,
    #[command(flatten)]
    pub chart_path: crate::charts::ChartPathFlags,
}

#[derive(Args, Debug)]
pub struct DiffRevisionArgs {
    /// Release name.
    pub name: String,
    /// The older revision.
    pub from: u64,
    /// The newer revision.
    pub to: u64,
    /// Lines of context around each change.
    #[arg(short = 'C', long, default_value_t = 3)]
    pub context: usize,
    /// Show Secrets' values (by default each value is masked: `REDACTED`,
    /// or `--------`/`++++++++` where it changes, with its length), as
    /// helm-diff's --show-secrets.
    #[arg(long)]
    pub show_secrets: bool,
}

pub async fn run(g: &Global, c: DiffCommand, io: &mut Io) -> Result<(), CliError> {
    match c {
        DiffCommand::Upgrade(a) => upgrade(g, *a, io).await,
        DiffCommand::Revision(a) => revision(g, a, io).await,
    }
}

async fn upgrade(g: &Global, a: DiffUpgradeArgs, io: &mut Io) -> Result<(), CliError> {
    let options = proto::OperationOptions {
        dry_run: true,
        diff: true,
        reuse_values: a.reuse_values,
        show_secrets: a.show_secrets,
        ..Default::default()
    };
    let mode = if a.install {
        proto::UpgradeMode::UpgradeOrInstall
    } else {
        proto::UpgradeMode::Upgrade
    };
    let post_render = a.post_render.resolve()?;
    let chart = crate::charts::locate(&a.chart, &a.chart_path, &mut *io.err).await?;
    let mut events = send_events(
        g,
        &a.name,
        &chart.path,
        &a.values,
        mode,
        options,
        post_render,
    )
    .await?;
    let mut changes = 0;
    while let Some(item) = events.next().await {
        let ev = item.map_err(status_error)?;
        match ev.kind {
            Some(Kind::ResourceDiff(d)) => {
                changes += 1;
                write!(io.out, "{}", crate::diff::resource(&d, a.context, io.color))?;
            }
            Some(Kind::Completed(_)) => {
                if changes == 0 {
                    writeln!(io.out, "no changes")?;
                }
                return Ok(());
            }
            Some(Kind::Failed(f)) => return Err(CliError::Failed(f.message)),
            _ => {}
        }
    }
    Err(CliError::Connect(
        "the agent closed the stream before the diff was complete".into(),
    ))
}

async fn revision(g: &Global, a: DiffRevisionArgs, io: &mut Io) -> Result<(), CliError> {
    let client = connect::connect(&g.target()).await?;
    let manifest = |revision: u64| {
        let req = proto::GetRevisionRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            revision,
            chart_metadata: false,
        };
        let mut c = client.clone();
        async move {
            c.get_revision(req)
                .await
                .map(|r| r.into_inner().manifest)
                .map_err(status_error)
        }
    };
    let mut old = manifest(a.from).await?;
    let mut new = manifest(a.to).await?;
    if !a.show_secrets {
        (old, new) = berth::secrets::redact_manifests(&old, &new);
    }
    let text = crate::diff::unified(
        &old,
        &new,
        &format!("{} revision {}", a.name, a.from),
        &format!("{} revision {}", a.name, a.to),
        a.context,
        io.color,
    );
    if text.is_empty() {
        writeln!(io.out, "no changes")?;
    } else {
        write!(io.out, "{text}")?;
    }
    Ok(())
}
