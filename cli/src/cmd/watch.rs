//! `berth watch NAME`: attach to the running operation of a release (or
//! replay the last one) and show its events from the start.

use berth::proto;
use clap::Args;

use crate::connect::{self, status_error};
use crate::{CliError, Global, Io, progress};

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// Release name.
    pub name: String,
    /// Revision whose operation to show (default: the newest).
    #[arg(long, default_value = "0")]
    pub revision: u64,
    /// Output of the result: table (text), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
}

pub async fn run(g: &Global, a: WatchArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let events = client
        .watch(proto::WatchRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            revision: a.revision,
            after_seq: 0,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let outcome = progress::follow_io(events, io, g, false, a.output).await?;
    if a.output == crate::output::Format::Table || g.events.is_some() {
        return match outcome {
            progress::Outcome::Completed { .. } => Ok(()),
            progress::Outcome::Failed { message, .. } => Err(CliError::Failed(message)),
        };
    }
    super::install::summary(g, &a.name, outcome, a.output, io)
}
