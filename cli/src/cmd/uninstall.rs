//! `berth uninstall NAME [--keep-history]`.

use std::io::Write;

use berth::proto;
use clap::Args;

use crate::connect::{self, status_error};
use crate::{CliError, Global, Io, progress};

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Release name.
    pub name: String,
    /// Keep the release's history (its status becomes uninstalled).
    #[arg(long)]
    pub keep_history: bool,
    /// How long to wait for the operation (e.g. 5m0s).
    #[arg(long, value_parser = super::parse_duration, default_value = "5m0s")]
    pub timeout: std::time::Duration,
    /// Print only the result.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Do not run the chart's pre-delete and post-delete hooks.
    #[arg(long)]
    pub no_hooks: bool,
    /// Output of the result: table (text), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
}

pub async fn run(g: &Global, a: UninstallArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let req = proto::UninstallRequest {
        release: a.name.clone(),
        namespace: g.namespace.clone(),
        keep_history: a.keep_history,
        options: Some(proto::OperationOptions {
            timeout_seconds: a.timeout.as_secs().max(1),
            no_hooks: a.no_hooks,
            ..Default::default()
        }),
        client: Some(proto::ClientInfo {
            client_version: berth::VERSION.to_string(),
        }),
    };
    let events = client
        .uninstall(req)
        .await
        .map_err(status_error)?
        .into_inner();
    match progress::follow_io(events, io, g, a.quiet, a.output).await? {
        progress::Outcome::Completed { revision, .. } => {
            if g.events.is_some() {
                return Ok(());
            }
            if a.output != crate::output::Format::Table {
                let v = serde_json::json!({
                    "name": a.name, "namespace": g.namespace, "revision": revision,
                    "status": "uninstalled", "kept_history": a.keep_history,
                });
                return crate::output::structured(&mut *io.out, a.output, &v);
            }
            writeln!(io.out, "release \"{}\" uninstalled", a.name)?;
            Ok(())
        }
        progress::Outcome::Failed { message, .. } => Err(CliError::Failed(message)),
    }
}
