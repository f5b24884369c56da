//! `berth drift NAME`: what changed in the cluster since the deployed
//! revision was applied. The agent applies that revision's manifest as a
//! server-side dry run and compares with the live objects; this prints the
//! unified diffs (live → what berth would restore). Exit codes follow
//! `diff`: 0 no drift, 2 drift, 1 trouble.

use std::io::Write;

use berth::proto::{self, PlanAction};
use clap::Args;

use crate::connect::{self, status_error};
use crate::output::{self, Format};
use crate::{CliError, Global, Io};

/// The exit code of a release that drifted.
pub const DRIFTED: i32 = 2;

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// Release name.
    pub name: String,
    /// Lines of context around each change.
    #[arg(short = 'C', long, default_value_t = 3)]
    pub context: usize,
    /// Show Secrets' values (by default each value is masked: `REDACTED`,
    /// or `--------`/`++++++++` where it changed, with its length).
    #[arg(long)]
    pub show_secrets: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

pub async fn run(g: &Global, a: DriftArgs, io: &mut Io) -> Result<(), CliError> {
    let mut client = connect::connect(&g.target()).await?;
    let r = client
        .drift(proto::DriftRequest {
            release: a.name.clone(),
            namespace: g.namespace.clone(),
            show_secrets: a.show_secrets,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    match a.output {
        Format::Table => {
            if r.changes.is_empty() {
                writeln!(
                    io.out,
                    "no drift: {} matches revision {}",
                    r.release, r.revision
                )?;
            }
            for d in &r.changes {
                write!(io.out, "{}", crate::diff::resource(d, a.context, io.color))?;
            }
        }
        f => {
            let v = serde_json::json!({
                "name": r.release,
                "namespace": r.namespace,
                "revision": r.revision,
                "checked": output::rfc3339(r.checked_unix_ms),
                "drifted": !r.changes.is_empty(),
                "changes": r.changes.iter().map(|d| {
                    let o = d.object.clone().unwrap_or_default();
                    let change = match PlanAction::try_from(d.action).unwrap_or(PlanAction::Unspecified) {
                        PlanAction::Create => "missing",
                        _ => "changed",
                    };
                    serde_json::json!({"apiVersion": o.api_version, "kind": o.kind,
                        "namespace": o.namespace, "name": o.name, "change": change,
                        "live": d.live, "desired": d.desired})
                }).collect::<Vec<_>>(),
            });
            output::structured(&mut *io.out, f, &v)?;
        }
    }
    if r.changes.is_empty() {
        return Ok(());
    }
    let n = r.changes.len();
    Err(CliError::Exit {
        code: DRIFTED,
        message: format!(
            "{} has drifted: {n} object{} changed since revision {}",
            r.release,
            if n == 1 { "" } else { "s" },
            r.revision
        ),
    })
}
