//! `berth rollback NAME [REVISION]`.

use berth::proto;
use clap::Args;

use super::install::{OpFlags, summary};
use crate::connect::{self, status_error};
use crate::{CliError, Global, Io, progress};

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// Release name.
    pub name: String,
    /// Revision to roll back to (default: the previous one).
    pub revision: Option<u64>,
    #[command(flatten)]
    pub op: OpFlags,
    /// Keep at most this many revisions (0: no limit), as for upgrade.
    #[arg(long, default_value = "0")]
    pub history_max: u32,
    /// Delete the objects this rollback created if it fails.
    #[arg(long)]
    pub cleanup_on_fail: bool,
    /// A custom description of the revision (at most 256 characters;
    /// default "Rollback to N").
    #[arg(long, default_value = "")]
    pub description: String,
    /// Output of the final summary.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
}

/// The request `berth rollback` sends.
pub fn request(g: &Global, a: &RollbackArgs) -> proto::RollbackRequest {
    proto::RollbackRequest {
        release: a.name.clone(),
        namespace: g.namespace.clone(),
        revision: a.revision.unwrap_or(0),
        options: Some(proto::OperationOptions {
            wait: a.op.wait,
            timeout_seconds: a.op.timeout.as_secs().max(1),
            dry_run: a.op.dry_run,
            // A rollback dry run shows what it would change.
            diff: a.op.dry_run,
            no_hooks: a.op.no_hooks,
            wait_for_jobs: a.op.wait_for_jobs,
            wait_for_load_balancers: a.op.wait_for_load_balancers,
            history_max: a.history_max,
            cleanup_on_fail: a.cleanup_on_fail,
            description: a.description.clone(),
            ..Default::default()
        }),
        client: Some(proto::ClientInfo {
            client_version: berth::VERSION.to_string(),
        }),
    }
}

pub async fn run(g: &Global, a: RollbackArgs, io: &mut Io) -> Result<(), CliError> {
    super::check_release_name(&a.name, "prepareRollback: Release name is invalid")?;
    let mut client = connect::connect(&g.target()).await?;
    let req = request(g, &a);
    let events = client
        .rollback(req)
        .await
        .map_err(status_error)?
        .into_inner();
    let outcome = progress::follow_io(events, io, g, a.op.quiet, a.output).await?;
    if let progress::Outcome::Completed { .. } = outcome
        && a.output == crate::output::Format::Table
    {
        writeln_ok(io)?;
        return Ok(());
    }
    summary(g, &a.name, outcome, a.output, io)
}

fn writeln_ok(io: &mut Io) -> Result<(), CliError> {
    use std::io::Write;
    writeln!(io.out, "Rollback was a success! Happy Helming!")?;
    Ok(())
}
