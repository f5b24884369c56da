//! `berth import NAME` and `berth export-helm NAME`: move a release from
//! Helm to berth with its history, and hand berth's deployed revision back
//! to Helm as a release Secret.

use std::io::Write;

use berth::proto;
use clap::Args;

use super::history::{revision_json, status_name};
use crate::connect::{self, status_error};
use crate::output::Format;
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Name of the Helm release (its Secrets sh.helm.release.v1.NAME.vN).
    pub name: String,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

#[derive(Args, Debug)]
pub struct ExportHelmArgs {
    /// Release name.
    pub name: String,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

fn client_info() -> Option<proto::ClientInfo> {
    Some(proto::ClientInfo {
        client_version: berth::VERSION.to_string(),
    })
}

pub async fn import(g: &Global, a: ImportArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let r = client
        .import(proto::ImportRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            client: client_info(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if a.output != Format::Table {
        let v = serde_json::json!({
            "name": a.name,
            "namespace": g.namespace,
            "deployed_revision": r.deployed_revision,
            "revisions": r.revisions.iter().map(revision_json).collect::<Vec<_>>(),
        });
        return crate::output::structured(&mut *io.out, a.output, &v);
    }
    let latest = r.revisions.last().map(|x| x.revision).unwrap_or(0);
    writeln!(
        io.out,
        "release \"{}\" imported from Helm: {} revision(s), latest {latest} ({})",
        a.name,
        r.revisions.len(),
        r.revisions
            .last()
            .map(|x| status_name(x.status))
            .unwrap_or("unknown"),
    )?;
    if r.deployed_revision > 0 {
        writeln!(
            io.out,
            "deployed revision: {}; the next upgrade records revision {}",
            r.deployed_revision,
            latest + 1
        )?;
    }
    Ok(())
}

pub async fn export_helm(g: &Global, a: ExportHelmArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let r = client
        .export_helm(proto::ExportHelmRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            client: client_info(),
        })
        .await
        .map_err(status_error)?
        .into_inner();
    if a.output != Format::Table {
        let v = serde_json::json!({
            "name": a.name,
            "namespace": g.namespace,
            "revision": r.revision,
            "secret": r.secret_name,
            "superseded_revisions": r.superseded_revisions,
        });
        return crate::output::structured(&mut *io.out, a.output, &v);
    }
    writeln!(
        io.out,
        "release \"{}\" revision {} written for Helm as Secret {}",
        a.name, r.revision, r.secret_name
    )?;
    if !r.superseded_revisions.is_empty() {
        let list: Vec<String> = r.superseded_revisions.iter().map(u64::to_string).collect();
        writeln!(
            io.out,
            "Helm revision(s) {} marked superseded",
            list.join(", ")
        )?;
    }
    Ok(())
}
