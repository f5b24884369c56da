//! Showing an operation's events as they arrive: one plain, timestamped
//! line per event. (Live TTY widgets build on the same event stream.)

use std::io::Write;

use berth::proto::{self, ApplyAction, PlanAction, ReleaseStatus, event::Kind};
use futures::StreamExt;

use crate::CliError;

/// How an operation ended, as the last event said.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed {
        revision: u64,
        status: ReleaseStatus,
        description: String,
        notes: String,
    },
    Failed {
        revision: u64,
        reason: String,
        message: String,
    },
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn left(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 60 {
        format!("{}m{}s left", s / 60, s % 60)
    } else {
        format!("{s}s left")
    }
}

/// The text of one event, or None for events not worth a line.
pub fn describe(ev: &proto::Event) -> Option<String> {
    let obj = |o: &Option<proto::ObjectRef>| o.as_ref().map(|o| o.display()).unwrap_or_default();
    Some(match ev.kind.as_ref()? {
        Kind::Accepted(a) if a.operation == proto::Operation::Test as i32 => format!(
            "testing {} revision {} (by {})",
            ev.release, ev.revision, a.identity
        ),
        Kind::Accepted(a) => {
            let op = proto::Operation::try_from(a.operation)
                .unwrap_or(proto::Operation::Unspecified)
                .verb();
            format!(
                "{op} of {} accepted as revision {} (by {})",
                ev.release, ev.revision, a.identity
            )
        }
        Kind::ChartReceived(c) => {
            let how = if c.cached {
                "already held by the agent, upload skipped".to_string()
            } else {
                format!("{} uploaded", human_bytes(c.size))
            };
            format!(
                "chart {}-{} ({how}, sha256:{})",
                c.chart_name,
                c.chart_version,
                &c.digest[..c.digest.len().min(12)]
            )
        }
        Kind::Rendered(r) => format!("rendered {} objects, {} hooks", r.objects, r.hooks),
        Kind::Planned(p) => {
            let count = |a: PlanAction| p.changes.iter().filter(|c| c.action == a as i32).count();
            format!(
                "plan: {} to create, {} to update, {} unchanged, {} to delete",
                count(PlanAction::Create),
                count(PlanAction::Update),
                count(PlanAction::Unchanged),
                count(PlanAction::Delete)
            )
        }
        Kind::Phase(p) if p.time_left_ms > 0 => format!("{} ({})", p.name, left(p.time_left_ms)),
        Kind::Phase(p) => p.name.clone(),
        Kind::ResourceApplied(r) => {
            let action = ApplyAction::try_from(r.action)
                .unwrap_or(ApplyAction::Unspecified)
                .word();
            format!("  {} {action}", obj(&r.object))
        }
        Kind::ResourceProgress(r) => format!("  {}: {}", obj(&r.object), r.message),
        Kind::EventsLimited(l) => format!(
            "the agent keeps at most {} events per operation: progress is not shown until the operation ends",
            l.limit
        ),
        Kind::ResourceReady(r) => {
            let mut text = format!("  {} ready ({})", obj(&r.object), r.message);
            if !r.log_lines.is_empty() {
                text.push_str("\n    output:");
                for l in &r.log_lines {
                    text.push_str(&format!("\n      {l}"));
                }
            }
            text
        }
        Kind::ResourceDiff(d) => crate::diff::resource(d, 3, false).trim_end().to_string(),
        Kind::ResourceFailed(r) => {
            let mut text = format!("  {} failed: {}: {}", obj(&r.object), r.reason, r.message);
            if !r.pod.is_empty() {
                text.push_str(&format!("\n    pod {}", r.pod));
            }
            for e in &r.recent_events {
                text.push_str(&format!("\n    event: {e}"));
            }
            if !r.log_tail.is_empty() {
                text.push_str("\n    last log lines:");
                for l in &r.log_tail {
                    text.push_str(&format!("\n      {l}"));
                }
            }
            text
        }
        Kind::Completed(c) => {
            let st = ReleaseStatus::try_from(c.status)
                .unwrap_or(ReleaseStatus::Unknown)
                .helm_name();
            format!(
                "{} revision {}: {st} ({})",
                ev.release, ev.revision, c.description
            )
        }
        // No status: the operation was refused before it recorded anything.
        Kind::Failed(f) if f.status == ReleaseStatus::Unspecified as i32 => {
            format!("{} refused, nothing changed: {}", ev.release, f.message)
        }
        Kind::Failed(f) => format!(
            "{} revision {} failed: {}",
            ev.release, ev.revision, f.message
        ),
    })
}

/// Print events until the terminal one; return how the operation ended.
pub async fn follow<S>(
    mut stream: S,
    out: &mut (dyn Write + Send),
    quiet: bool,
) -> Result<Outcome, CliError>
where
    S: futures::Stream<Item = Result<proto::Event, tonic::Status>> + Unpin,
{
    while let Some(item) = stream.next().await {
        let ev = item.map_err(crate::connect::status_error)?;
        if !quiet && let Some(line) = describe(&ev) {
            let t = chrono::DateTime::from_timestamp_millis(ev.time_unix_ms)
                .map(|t| t.format("%H:%M:%S").to_string())
                .unwrap_or_default();
            writeln!(out, "{t} {line}")?;
        }
        match ev.kind {
            Some(Kind::Completed(c)) => {
                return Ok(Outcome::Completed {
                    revision: ev.revision,
                    status: ReleaseStatus::try_from(c.status).unwrap_or(ReleaseStatus::Unknown),
                    description: c.description,
                    notes: c.notes,
                });
            }
            Some(Kind::Failed(f)) => {
                let recorded = f.status != ReleaseStatus::Unspecified as i32;
                return Ok(Outcome::Failed {
                    // 0: refused before a revision was recorded.
                    revision: if recorded { ev.revision } else { 0 },
                    reason: f.reason,
                    message: f.message,
                });
            }
            _ => {}
        }
    }
    Err(CliError::Connect("the agent closed the event stream before the operation ended; re-attach with `berth watch`".into()))
}
