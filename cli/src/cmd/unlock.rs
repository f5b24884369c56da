//! `berth unlock NAME`: abort the operation holding a release's lock (admin
//! role), for the rare case an operator must stop one. The revision it held
//! is recorded as failed, "unlocked by" the caller.

use std::io::Write;

use berth::proto;
use clap::Args;

use super::history::revision_json;
use crate::connect::{self, status_error};
use crate::output::Format;
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// Release name.
    pub name: String,
    /// Output of the result: table (text), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

/// `upgrade` for OPERATION_UPGRADE.
fn operation_name(code: i32) -> String {
    proto::Operation::try_from(code)
        .map(|o| {
            o.as_str_name()
                .trim_start_matches("OPERATION_")
                .to_lowercase()
        })
        .unwrap_or_else(|_| "operation".into())
}

pub async fn run(g: &Global, a: UnlockArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let resp = client
        .unlock(proto::UnlockRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            client: Some(proto::ClientInfo {
                client_version: berth::VERSION.to_string(),
            }),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let operation = operation_name(resp.operation);
    if a.output != Format::Table {
        let v = serde_json::json!({
            "name": a.name,
            "namespace": g.namespace,
            "operation": operation,
            "held_by": resp.held_by,
            "revision": resp.revision.as_ref().map(revision_json),
        });
        return crate::output::structured(&mut *io.out, a.output, &v);
    }
    let by = if resp.held_by.is_empty() {
        String::new()
    } else {
        format!(" (started by {})", resp.held_by)
    };
    match &resp.revision {
        Some(r) => writeln!(
            io.out,
            "release \"{}\" unlocked: the {operation} of revision {}{by} was aborted and is recorded as failed: {}",
            a.name, r.revision, r.description
        )?,
        None => writeln!(
            io.out,
            "release \"{}\" unlocked: the {operation}{by} was aborted before it recorded a revision",
            a.name
        )?,
    }
    Ok(())
}
