//! `berth test NAME`: run the deployed revision's test hooks on the agent
//! (`helm test`), showing each test's progress.

use std::io::Write;

use berth::proto;
use clap::Args;

use crate::connect::{self, status_error};
use crate::{CliError, Global, Io, progress};

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Release name.
    pub name: String,
    /// How long to wait for the tests (e.g. 5m0s).
    #[arg(long, value_parser = super::parse_duration, default_value = "5m0s")]
    pub timeout: std::time::Duration,
    /// Print only the result.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Show the output of every test's pods.
    #[arg(long)]
    pub logs: bool,
    /// Only the tests named so (name=NAME), or not those (!name=NAME);
    /// repeatable or comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "[!]name=NAME")]
    pub filter: Vec<String>,
    /// Output of the result: table (text), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
    /// Do not print the release's notes after the tests.
    #[arg(long)]
    pub hide_notes: bool,
}

pub async fn run(g: &Global, a: TestArgs, io: &mut Io) -> Result<(), CliError> {
    super::check_release_name(&a.name, "releaseTest: Release name is invalid")?;
    let mut client = connect::connect(&g.target()).await?;
    let req = proto::TestRequest {
        release: a.name.clone(),
        namespace: g.namespace.clone(),
        options: Some(proto::OperationOptions {
            timeout_seconds: a.timeout.as_secs().max(1),
            ..Default::default()
        }),
        client: Some(proto::ClientInfo {
            client_version: berth::VERSION.to_string(),
        }),
        // Helm's parsing: other attributes are ignored.
        include_names: names(&a.filter, "name="),
        exclude_names: names(&a.filter, "!name="),
        logs: a.logs,
    };
    let events = client.test(req).await.map_err(status_error)?.into_inner();
    let (revision, failed) = match progress::follow_io(events, io, g, a.quiet, a.output).await? {
        progress::Outcome::Completed {
            revision,
            description,
            ..
        } => {
            if g.events.is_some() {
                return Ok(());
            }
            if a.output != crate::output::Format::Table {
                let v = serde_json::json!({
                    "name": a.name, "namespace": g.namespace, "revision": revision,
                    "result": "succeeded", "description": description,
                });
                return crate::output::structured(&mut *io.out, a.output, &v);
            }
            (revision, None)
        }
        progress::Outcome::Failed {
            revision, message, ..
        } => (revision, Some(message)),
    };
    // As Helm's: the release with its tests' last runs, passed or failed
    // (not after a refusal: nothing ran).
    if revision > 0 && g.events.is_none() && a.output == crate::output::Format::Table {
        let r = client
            .status(proto::StatusRequest {
                release: a.name.clone(),
                namespace: g.namespace.clone(),
                revision,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        let rev = r.revision.clone().unwrap_or_default();
        super::status::write_head(&mut *io.out, &r.name, &r.namespace, &rev)?;
        writeln!(io.out, "DESCRIPTION: {}", rev.description)?;
        super::status::write_test_suite(&mut *io.out, &rev)?;
        if !a.hide_notes && !r.notes.trim().is_empty() {
            writeln!(io.out, "NOTES:\n{}", r.notes.trim())?;
        }
    }
    match failed {
        Some(message) => Err(CliError::Failed(message)),
        None => Ok(()),
    }
}

/// The names of the --filter entries that start with `prefix`.
fn names(filter: &[String], prefix: &str) -> Vec<String> {
    filter
        .iter()
        .filter_map(|f| f.strip_prefix(prefix).map(str::to_string))
        .collect()
}
