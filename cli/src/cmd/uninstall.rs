//! `berth uninstall NAME [--keep-history]`.

use std::io::Write;

use berth::proto;
use clap::Args;

use crate::connect::{self, status_error};
use crate::{CliError, Global, Io, progress};

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Release names (one after the other, as Helm does).
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
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
    /// Show what would be deleted; delete nothing.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "false", value_parser = clap::builder::BoolishValueParser::new())]
    pub dry_run: bool,
    /// Treat "release not found" as a successful uninstall.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// How the objects' dependents go: background, foreground or orphan.
    #[arg(long, default_value = "background", value_parser = parse_cascade)]
    pub cascade: String,
    /// Wait until every deleted object is gone (within --timeout); Helm
    /// v4's --wait=watcher|legacy|hookOnly are taken.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "watcher", default_value = "hookOnly", value_parser = super::parse_wait, value_name = "STRATEGY")]
    pub wait: bool,
    /// A custom description of the uninstalled revision (with --keep-history).
    #[arg(long, default_value = "")]
    pub description: String,
    /// Output of the result: table (text), json or yaml.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: crate::output::Format,
}

/// Helm's check of --cascade, in its words (the agent's, checked here too
/// so a bad value never reaches it).
fn parse_cascade(s: &str) -> Result<String, String> {
    berth_agent::cluster::Cascade::parse(s).map(|_| s.to_string())
}

pub async fn run(g: &Global, a: UninstallArgs, io: &mut Io) -> Result<(), CliError> {
    // One name after another, as Helm's: a bad one stops the rest, and is
    // refused in the words of Helm's uninstall (its dry run reads the
    // release instead).
    let words = if a.dry_run {
        super::RELEASE_CONTENT_NAME
    } else {
        "uninstall: Release name is invalid"
    };
    let mut client = None;
    for name in &a.names {
        super::check_release_name(name, words)?;
        let client = match &mut client {
            Some(c) => c,
            None => client.insert(connect::connect(&g.target()).await?),
        };
        uninstall(g, &a, name, client, io).await?;
    }
    Ok(())
}

async fn uninstall(
    g: &Global,
    a: &UninstallArgs,
    name: &str,
    client: &mut connect::Client,
    io: &mut Io,
) -> Result<(), CliError> {
    let req = proto::UninstallRequest {
        release: name.to_string(),
        namespace: g.namespace.clone(),
        keep_history: a.keep_history,
        options: Some(proto::OperationOptions {
            timeout_seconds: a.timeout.as_secs().max(1),
            no_hooks: a.no_hooks,
            dry_run: a.dry_run,
            wait: a.wait,
            description: a.description.clone(),
            ..Default::default()
        }),
        client: Some(proto::ClientInfo {
            client_version: berth::VERSION.to_string(),
        }),
        cascade: a.cascade.clone(),
    };
    let events = match client.uninstall(req).await {
        Ok(events) => events.into_inner(),
        // Helm's --ignore-not-found: as if it had been uninstalled.
        Err(s) if a.ignore_not_found && s.code() == tonic::Code::NotFound => {
            return done(g, a, name, 0, &[], io);
        }
        Err(s) => return Err(status_error(s)),
    };
    match progress::follow_io(events, io, g, a.quiet, a.output).await? {
        progress::Outcome::Completed { revision, kept, .. } => {
            done(g, a, name, revision, &kept, io)
        }
        progress::Outcome::Failed { message, .. } => Err(CliError::Failed(message)),
    }
}

/// Helm's last lines (what the resource policy kept, then that the release
/// is uninstalled), or the result as JSON/YAML.
fn done(
    g: &Global,
    a: &UninstallArgs,
    name: &str,
    revision: u64,
    kept: &[String],
    io: &mut Io,
) -> Result<(), CliError> {
    if g.events.is_some() {
        return Ok(());
    }
    if a.output != crate::output::Format::Table {
        let v = serde_json::json!({
            "name": name, "namespace": g.namespace, "revision": revision,
            "status": "uninstalled", "kept_history": a.keep_history, "dry_run": a.dry_run,
            "kept": kept,
        });
        return crate::output::structured(&mut *io.out, a.output, &v);
    }
    // Helm prints its response's Info with Fprintln: the list ends in a
    // newline of its own, so a blank line follows it.
    if !kept.is_empty() {
        writeln!(
            io.out,
            "These resources were kept due to the resource policy:\n{}\n",
            kept.join("\n")
        )?;
    }
    writeln!(io.out, "release \"{name}\" uninstalled")?;
    Ok(())
}
