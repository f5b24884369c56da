//! `berth history NAME`: Helm's columns plus who made each revision.

use berth::proto::{self, ReleaseStatus};
use clap::Args;

use crate::connect::{self, status_error};
use crate::output::{self, Format};
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Release name.
    pub name: String,
    /// Show at most this many revisions (the newest).
    #[arg(long, default_value = "256")]
    pub max: u32,
    /// Add a ROLLBACK column: the revision each rollback re-applied.
    #[arg(long)]
    pub show_rollback_revision: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

pub fn status_name(code: i32) -> &'static str {
    ReleaseStatus::try_from(code)
        .unwrap_or(ReleaseStatus::Unknown)
        .helm_name()
}

/// The columns of `berth history` (Helm's, and BY).
pub const COLUMNS: [&str; 7] = [
    "REVISION",
    "UPDATED",
    "STATUS",
    "CHART",
    "APP VERSION",
    "BY",
    "DESCRIPTION",
];

/// The JSON object of one revision, with Helm's keys (`rollback_revision`
/// only for a rollback, as Helm omits it).
pub fn revision_json(r: &proto::RevisionInfo) -> serde_json::Value {
    let mut v = serde_json::json!({
        "revision": r.revision,
        "updated": output::rfc3339(r.updated_unix_ms),
        "status": status_name(r.status),
        "chart": format!("{}-{}", r.chart_name, r.chart_version),
        "app_version": r.app_version,
        "description": r.description,
        "by": r.by,
        "client_address": r.client_addr,
        "client_version": r.client_version,
    });
    if r.rollback_revision > 0 {
        v["rollback_revision"] = r.rollback_revision.into();
    }
    v
}

pub async fn run(g: &Global, a: HistoryArgs, io: &mut Io) -> Result<(), CliError> {
    super::check_release_name(&a.name, "release name is invalid")?;
    let mut client = connect::connect(&g.target()).await?;
    let resp = client
        .history(proto::HistoryRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            max: a.max,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    match a.output {
        Format::Table => {
            let rows: Vec<Vec<String>> = resp
                .revisions
                .iter()
                .map(|r| {
                    let mut row = vec![
                        r.revision.to_string(),
                        output::time(r.updated_unix_ms),
                        status_name(r.status).to_string(),
                        format!("{}-{}", r.chart_name, r.chart_version),
                        r.app_version.clone(),
                        r.by.clone(),
                        r.description.clone(),
                    ];
                    if a.show_rollback_revision {
                        let rollback = match r.rollback_revision {
                            0 => String::new(),
                            n => n.to_string(),
                        };
                        row.insert(5, rollback);
                    }
                    row
                })
                .collect();
            let mut columns = COLUMNS.to_vec();
            if a.show_rollback_revision {
                columns.insert(5, "ROLLBACK");
            }
            output::table(&mut *io.out, &columns, &rows)
        }
        f => {
            let v: Vec<_> = resp.revisions.iter().map(revision_json).collect();
            output::structured(&mut *io.out, f, &serde_json::Value::Array(v))
        }
    }
}
