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
    match progress::follow(events, &mut *io.out, false).await? {
        progress::Outcome::Completed { .. } => Ok(()),
        progress::Outcome::Failed { message, .. } => Err(CliError::Failed(message)),
    }
}
