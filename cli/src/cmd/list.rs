//! `berth list [-A]`.

use berth::proto;
use clap::Args;

use super::history::status_name;
use crate::connect::{self, status_error};
use crate::output::{self, Format};
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct ListArgs {
    /// List releases in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Show every release, whatever its status (uninstalled with kept history included).
    #[arg(short = 'a', long)]
    pub all: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(g: &Global, a: ListArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let resp = client
        .list(proto::ListRequest {
            namespace: g.namespace.clone(),
            all_namespaces: a.all_namespaces,
            all: a.all,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    match a.output {
        Format::Table => {
            let rows: Vec<Vec<String>> = resp
                .releases
                .iter()
                .map(|r| {
                    let rev = r.revision.clone().unwrap_or_default();
                    vec![
                        r.name.clone(),
                        r.namespace.clone(),
                        rev.revision.to_string(),
                        output::time(rev.updated_unix_ms),
                        status_name(rev.status).to_string(),
                        format!("{}-{}", rev.chart_name, rev.chart_version),
                        rev.app_version.clone(),
                    ]
                })
                .collect();
            output::table(
                &mut *io.out,
                &[
                    "NAME",
                    "NAMESPACE",
                    "REVISION",
                    "UPDATED",
                    "STATUS",
                    "CHART",
                    "APP VERSION",
                ],
                &rows,
            )
        }
        f => {
            // Helm's list JSON: revision as a string.
            let v: Vec<_> = resp
                .releases
                .iter()
                .map(|r| {
                    let rev = r.revision.clone().unwrap_or_default();
                    serde_json::json!({
                        "name": r.name,
                        "namespace": r.namespace,
                        "revision": rev.revision.to_string(),
                        "updated": output::time(rev.updated_unix_ms),
                        "status": status_name(rev.status),
                        "chart": format!("{}-{}", rev.chart_name, rev.chart_version),
                        "app_version": rev.app_version,
                    })
                })
                .collect();
            output::structured(&mut *io.out, f, &serde_json::Value::Array(v))
        }
    }
}
