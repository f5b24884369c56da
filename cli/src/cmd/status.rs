//! `berth status NAME`.

use std::io::Write;

use berth::proto;
use clap::Args;

use super::history::status_name;
use crate::connect::{self, status_error};
use crate::output::{self, Format};
use crate::{CliError, Global, Io};

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Release name.
    pub name: String,
    /// Show this revision instead of the newest.
    #[arg(long, default_value = "0")]
    pub revision: u64,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(g: &Global, a: StatusArgs, io: &mut Io) -> Result<(), CliError> {
    super::check_release_name(&a.name, super::RELEASE_CONTENT_NAME)?;
    let mut client = connect::connect(&g.target()).await?;
    let r = client
        .status(proto::StatusRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            revision: a.revision,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let rev = r.revision.clone().unwrap_or_default();
    match a.output {
        Format::Table => {
            write_head(&mut *io.out, &r.name, &r.namespace, &rev)?;
            writeln!(io.out, "CHART: {}-{}", rev.chart_name, rev.chart_version)?;
            writeln!(io.out, "BY: {}", rev.by)?;
            writeln!(io.out, "DESCRIPTION: {}", rev.description)?;
            if r.in_progress_revision > 0 {
                writeln!(
                    io.out,
                    "IN PROGRESS: {} of revision {} (attach with `berth watch {}`)",
                    r.in_progress_operation, r.in_progress_revision, r.name
                )?;
            }
            if let Some(d) = &r.drift {
                writeln!(io.out, "DRIFT: {}", drift_line(d))?;
            }
            if !r.resources.is_empty() {
                writeln!(io.out, "RESOURCES:")?;
                for res in &r.resources {
                    let o = res.object.clone().unwrap_or_default();
                    writeln!(io.out, "  {}: {} ({})", o.display(), res.state, res.message)?;
                }
            }
            write_test_suite(&mut *io.out, &rev)?;
            if !r.notes.trim().is_empty() {
                writeln!(io.out, "NOTES:\n{}", r.notes.trim_end())?;
            }
            Ok(())
        }
        f => {
            let v = serde_json::json!({
                "name": r.name,
                "namespace": r.namespace,
                "version": rev.revision,
                "info": {
                    "first_deployed": output::rfc3339(r.first_deployed_unix_ms),
                    "last_deployed": output::rfc3339(rev.updated_unix_ms),
                    "description": rev.description,
                    "status": status_name(rev.status),
                    "notes": r.notes,
                },
                "chart": {"metadata": {"name": rev.chart_name, "version": rev.chart_version, "appVersion": rev.app_version}},
                "by": rev.by,
                "tests": rev.test_runs.iter().map(|t| serde_json::json!({
                    "name": t.name, "started": output::rfc3339(t.started_unix_ms),
                    "completed": output::rfc3339(t.completed_unix_ms), "phase": t.phase,
                })).collect::<Vec<_>>(),
                "resources": r.resources.iter().map(|res| {
                    let o = res.object.clone().unwrap_or_default();
                    serde_json::json!({"apiVersion": o.api_version, "kind": o.kind, "namespace": o.namespace,
                                       "name": o.name, "state": res.state, "message": res.message})
                }).collect::<Vec<_>>(),
                "drift": r.drift.as_ref().map(|d| serde_json::json!({
                    "revision": d.revision, "changed": d.changed,
                    "checked": output::rfc3339(d.checked_unix_ms)})),
                "in_progress": if r.in_progress_revision > 0 {
                    serde_json::json!({"revision": r.in_progress_revision, "operation": r.in_progress_operation})
                } else { serde_json::Value::Null },
            });
            output::structured(&mut *io.out, f, &v)
        }
    }
}

/// The first lines of Helm's status block: NAME, LAST DEPLOYED, NAMESPACE,
/// STATUS, REVISION.
pub fn write_head(
    out: &mut dyn Write,
    name: &str,
    namespace: &str,
    rev: &proto::RevisionInfo,
) -> std::io::Result<()> {
    writeln!(out, "NAME: {name}")?;
    writeln!(out, "LAST DEPLOYED: {}", output::time(rev.updated_unix_ms))?;
    writeln!(out, "NAMESPACE: {namespace}")?;
    writeln!(out, "STATUS: {}", status_name(rev.status))?;
    writeln!(out, "REVISION: {}", rev.revision)
}

/// Helm's TEST SUITE lines: each test hook's last run, "None" for a
/// revision without test hooks, nothing for one whose tests never ran.
pub fn write_test_suite(out: &mut dyn Write, rev: &proto::RevisionInfo) -> std::io::Result<()> {
    if rev.test_runs.is_empty() && rev.test_hooks == 0 {
        writeln!(out, "TEST SUITE: None")?;
    }
    for t in &rev.test_runs {
        writeln!(out, "TEST SUITE:     {}", t.name)?;
        writeln!(out, "Last Started:   {}", output::time(t.started_unix_ms))?;
        writeln!(out, "Last Completed: {}", output::time(t.completed_unix_ms))?;
        writeln!(out, "Phase:          {}", t.phase)?;
    }
    Ok(())
}

/// `n objects changed since revision N, checked at T`.
fn drift_line(d: &proto::DriftSummary) -> String {
    let what = match d.changed {
        0 => "no objects".to_string(),
        1 => "1 object".to_string(),
        n => format!("{n} objects"),
    };
    format!(
        "{what} changed since revision {}, checked at {}",
        d.revision,
        output::time(d.checked_unix_ms)
    )
}
