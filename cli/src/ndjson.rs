//! `--events ndjson`: every event of an operation as one JSON object per
//! line, in a schema of its own (versioned, documented in the README under
//! "Event stream schema") so scripts do not depend on the wire protocol.
//!
//! Every line has `schema` ("berth.events/v1"), `type`, `release`,
//! `namespace`, `revision`, `seq`, `time` (RFC 3339, UTC, milliseconds) and,
//! in fleet runs, `cluster`; then the fields of its type. Objects are
//! `{"apiVersion", "kind", "namespace", "name"}`. Enumerations are
//! lower-case words. New fields may be added within v1; none is removed or
//! changes meaning.

use berth::proto::{self, ApplyAction, PlanAction, ReleaseStatus, event::Kind};
use serde_json::{Map, Value, json};

pub const SCHEMA: &str = "berth.events/v1";

fn object(o: &Option<proto::ObjectRef>) -> Value {
    match o {
        Some(o) => json!({
            "apiVersion": o.api_version,
            "kind": o.kind,
            "namespace": o.namespace,
            "name": o.name,
        }),
        None => Value::Null,
    }
}

fn status(code: i32) -> &'static str {
    ReleaseStatus::try_from(code)
        .unwrap_or(ReleaseStatus::Unknown)
        .helm_name()
}

fn plan_action(code: i32) -> &'static str {
    match PlanAction::try_from(code).unwrap_or(PlanAction::Unspecified) {
        PlanAction::Create => "create",
        PlanAction::Update => "update",
        PlanAction::Unchanged => "unchanged",
        PlanAction::Delete => "delete",
        PlanAction::Unspecified => "unknown",
    }
}

fn apply_action(code: i32) -> &'static str {
    match ApplyAction::try_from(code).unwrap_or(ApplyAction::Unspecified) {
        ApplyAction::Created => "created",
        ApplyAction::Configured => "configured",
        ApplyAction::Unchanged => "unchanged",
        ApplyAction::Deleted => "deleted",
        ApplyAction::Kept => "kept",
        ApplyAction::Unspecified => "unknown",
    }
}

fn operation(code: i32) -> &'static str {
    match proto::Operation::try_from(code).unwrap_or(proto::Operation::Unspecified) {
        proto::Operation::Install => "install",
        proto::Operation::Upgrade => "upgrade",
        proto::Operation::Rollback => "rollback",
        proto::Operation::Uninstall => "uninstall",
        proto::Operation::Test => "test",
        proto::Operation::Unspecified => "unknown",
    }
}

/// One event as its JSON line (without the newline).
pub fn event(ev: &proto::Event, cluster: Option<&str>) -> String {
    let (kind, fields) = match &ev.kind {
        None => ("unknown", json!({})),
        Some(Kind::Accepted(a)) => (
            "accepted",
            json!({
                "operation": operation(a.operation),
                "identity": a.identity,
                "chartNeeded": a.chart_needed,
                "previousRevision": a.previous_revision,
            }),
        ),
        Some(Kind::ChartReceived(c)) => (
            "chartReceived",
            json!({
                "digest": c.digest,
                "size": c.size,
                "cached": c.cached,
                "chart": c.chart_name,
                "chartVersion": c.chart_version,
            }),
        ),
        Some(Kind::Rendered(r)) => ("rendered", json!({"objects": r.objects, "hooks": r.hooks})),
        Some(Kind::Planned(p)) => (
            "planned",
            json!({
                "changes": p.changes.iter().map(|c| json!({
                    "object": object(&c.object),
                    "action": plan_action(c.action),
                })).collect::<Vec<_>>(),
            }),
        ),
        Some(Kind::Phase(p)) => (
            "phase",
            json!({"name": p.name, "timeLeftMs": p.time_left_ms}),
        ),
        Some(Kind::ResourceApplied(r)) => (
            "resourceApplied",
            json!({"object": object(&r.object), "action": apply_action(r.action)}),
        ),
        Some(Kind::ResourceProgress(r)) => (
            "resourceProgress",
            json!({
                "object": object(&r.object),
                "message": r.message,
                "desired": r.desired,
                "updated": r.updated,
                "ready": r.ready,
                "available": r.available,
            }),
        ),
        Some(Kind::EventsLimited(l)) => ("eventsLimited", json!({"limit": l.limit})),
        Some(Kind::PostRender(_)) => ("postRender", json!({})),
        Some(Kind::ResourceReady(r)) => (
            "resourceReady",
            json!({"object": object(&r.object), "message": r.message, "logLines": r.log_lines}),
        ),
        Some(Kind::ResourceFailed(r)) => (
            "resourceFailed",
            json!({
                "object": object(&r.object),
                "reason": r.reason,
                "message": r.message,
                "pod": r.pod,
                "recentEvents": r.recent_events,
                "logTail": r.log_tail,
            }),
        ),
        Some(Kind::ResourceDiff(d)) => (
            "resourceDiff",
            json!({
                "object": object(&d.object),
                "action": plan_action(d.action),
                "live": d.live,
                "desired": d.desired,
            }),
        ),
        Some(Kind::Completed(c)) => (
            "completed",
            json!({
                "status": status(c.status),
                "description": c.description,
                "notes": c.notes,
                // A dry run's rendered release; empty for one that ran.
                "manifest": c.manifest,
                "hooksManifest": c.hooks_manifest,
            }),
        ),
        Some(Kind::Failed(f)) => (
            "failed",
            json!({
                "reason": f.reason,
                "message": f.message,
                "culprit": object(&f.culprit),
                // null: refused before anything was recorded.
                "status": (f.status != ReleaseStatus::Unspecified as i32).then(|| status(f.status)),
            }),
        ),
    };
    let mut line = Map::new();
    line.insert("schema".into(), SCHEMA.into());
    line.insert("type".into(), kind.into());
    if let Some(c) = cluster {
        line.insert("cluster".into(), c.into());
    }
    line.insert("release".into(), ev.release.clone().into());
    line.insert("namespace".into(), ev.namespace.clone().into());
    line.insert("revision".into(), ev.revision.into());
    line.insert("seq".into(), ev.seq.into());
    line.insert(
        "time".into(),
        chrono::DateTime::from_timestamp_millis(ev.time_unix_ms)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default()
            .into(),
    );
    if let Value::Object(f) = fields {
        line.extend(f);
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_carries_the_envelope() {
        let ev = proto::Event {
            release: "web".into(),
            namespace: "prod".into(),
            revision: 3,
            seq: 7,
            time_unix_ms: 1_700_000_000_123,
            kind: Some(Kind::ResourceApplied(proto::ResourceApplied {
                object: Some(proto::ObjectRef {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    namespace: "prod".into(),
                    name: "web".into(),
                }),
                action: ApplyAction::Configured as i32,
            })),
        };
        let v: Value = serde_json::from_str(&event(&ev, Some("eu-1"))).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["type"], "resourceApplied");
        assert_eq!(v["cluster"], "eu-1");
        assert_eq!(v["seq"], 7);
        assert_eq!(v["time"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["object"]["kind"], "Deployment");
        assert_eq!(v["action"], "configured");
    }
}
