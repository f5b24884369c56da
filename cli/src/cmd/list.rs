//! `berth list`: `helm list`'s flags (states, --filter, sorting, paging).

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
    /// Show every release, whatever its status (the default without a
    /// state flag, as in Helm v4; kept for Helm 3 habits).
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show deployed releases (with no state flag: every state).
    #[arg(long)]
    pub deployed: bool,
    /// Show failed releases.
    #[arg(long)]
    pub failed: bool,
    /// Show pending releases (pending-install, -upgrade, -rollback).
    #[arg(long)]
    pub pending: bool,
    /// Show superseded releases.
    #[arg(long)]
    pub superseded: bool,
    /// Show uninstalled releases (uninstalled with --keep-history).
    #[arg(long)]
    pub uninstalled: bool,
    /// Show releases being uninstalled.
    #[arg(long)]
    pub uninstalling: bool,
    /// Only releases whose name matches this regular expression.
    #[arg(short = 'f', long)]
    pub filter: Option<String>,
    /// Only releases whose labels (install/upgrade --labels) match this
    /// selector, e.g. -l team=web,tier!=cache.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Sort by the last update time instead of the name.
    #[arg(short = 'd', long)]
    pub date: bool,
    /// Reverse the sort order.
    #[arg(short = 'r', long)]
    pub reverse: bool,
    /// At most this many releases (0: no limit).
    #[arg(short = 'm', long, default_value = "256")]
    pub max: usize,
    /// Skip this many releases first.
    #[arg(long, default_value = "0")]
    pub offset: usize,
    /// Only the names.
    #[arg(short = 'q', long)]
    pub short: bool,
    /// Write UPDATED with a Go time layout (in the local zone), e.g.
    /// "2006-01-02 15:04:05Z0700".
    #[arg(long, value_name = "LAYOUT")]
    pub time_format: Option<String>,
    /// No header line in the table.
    #[arg(long)]
    pub no_headers: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
}

impl ListArgs {
    /// Whether a release whose newest revision has this status is shown,
    /// as Helm v4's `helm list` decides: every state unless state flags
    /// pick some.
    fn shows(&self, status: proto::ReleaseStatus) -> bool {
        use proto::ReleaseStatus as S;
        let any = self.deployed
            || self.failed
            || self.pending
            || self.superseded
            || self.uninstalled
            || self.uninstalling;
        if self.all || !any {
            return true;
        }
        match status {
            S::Deployed => self.deployed,
            S::Failed => self.failed,
            S::PendingInstall | S::PendingUpgrade | S::PendingRollback => self.pending,
            S::Superseded => self.superseded,
            S::Uninstalled => self.uninstalled,
            S::Uninstalling => self.uninstalling,
            _ => false,
        }
    }
}

pub async fn run(g: &Global, a: ListArgs, io: &mut Io) -> Result<(), CliError> {
    let filter = a
        .filter
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .map_err(|e| CliError::Usage(format!("--filter: {e}")))?;
    let selector = a
        .selector
        .as_deref()
        .map(crate::config::Selector::parse)
        .transpose()?;
    let mut client = connect::connect(&g.target()).await?;
    let mut resp = client
        .list(proto::ListRequest {
            namespace: g.namespace.clone(),
            all_namespaces: a.all_namespaces,
            all: true,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let status_of = |r: &proto::ReleaseInfo| {
        proto::ReleaseStatus::try_from(r.revision.as_ref().map(|v| v.status).unwrap_or(0))
            .unwrap_or(proto::ReleaseStatus::Unknown)
    };
    let updated = |r: &proto::ReleaseInfo| r.revision.as_ref().map(|v| v.updated_unix_ms);
    let labels = |r: &proto::ReleaseInfo| {
        r.revision
            .as_ref()
            .map(|v| v.labels.clone().into_iter().collect())
            .unwrap_or_default()
    };
    resp.releases.retain(|r| {
        a.shows(status_of(r))
            && filter.as_ref().is_none_or(|f| f.is_match(&r.name))
            && selector.as_ref().is_none_or(|s| s.matches(&labels(r)))
    });
    if a.date {
        resp.releases.sort_by_key(|r| updated(r));
    } else {
        resp.releases
            .sort_by(|x, y| (&x.name, &x.namespace).cmp(&(&y.name, &y.namespace)));
    }
    if a.reverse {
        resp.releases.reverse();
    }
    let max = if a.max == 0 { usize::MAX } else { a.max };
    resp.releases = resp.releases.into_iter().skip(a.offset).take(max).collect();
    if a.short {
        use std::io::Write;
        for r in &resp.releases {
            writeln!(io.out, "{}", r.name)?;
        }
        return Ok(());
    }
    // As Helm's list: Go's time.String(), or the layout asked for.
    let updated = |ms: i64| match &a.time_format {
        _ if ms <= 0 => "-".to_string(),
        Some(layout) => output::go_layout(ms, layout),
        None => output::go_string(ms),
    };
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
                        updated(rev.updated_unix_ms),
                        status_name(rev.status).to_string(),
                        format!("{}-{}", rev.chart_name, rev.chart_version),
                        rev.app_version.clone(),
                    ]
                })
                .collect();
            let header = [
                "NAME",
                "NAMESPACE",
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
            ];
            if a.no_headers {
                output::table_rows(&mut *io.out, &header, &rows)
            } else {
                output::table(&mut *io.out, &header, &rows)
            }
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
                        "updated": updated(rev.updated_unix_ms),
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
