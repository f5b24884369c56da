//! Read-only queries over the journal: history, status, list, get.

use berth::proto::{self, HistoryRequest, ListRequest, StatusRequest};
use berth::types::{Namespace, ReleaseName};

use super::{Agent, OpError};
use crate::journal::{ReleaseHead, RevisionRecord, Status};

fn names(release: &str, namespace: &str) -> Result<(ReleaseName, Namespace), OpError> {
    Ok((ReleaseName::parse(release)?, Namespace::parse(namespace)?))
}

fn not_found(name: &ReleaseName) -> OpError {
    OpError::NotFound(format!("release: not found: {name}"))
}

pub fn history(agent: &Agent, req: &HistoryRequest) -> Result<proto::HistoryResponse, OpError> {
    let (name, ns) = names(&req.release, &req.namespace)?;
    let max = if req.max == 0 {
        usize::MAX
    } else {
        req.max as usize
    };
    let revs = agent.journal.history(ns.as_str(), name.as_str(), max)?;
    if revs.is_empty() {
        return Err(not_found(&name));
    }
    Ok(proto::HistoryResponse {
        revisions: revs.iter().map(RevisionRecord::info).collect(),
    })
}

fn release_info(agent: &Agent, head: &ReleaseHead, rec: &RevisionRecord) -> proto::ReleaseInfo {
    let notes = agent.journal.text_blob(&rec.notes_blob).unwrap_or_default();
    // An operation that has told its outcome is not in progress any more,
    // though it may not have left the registry yet.
    let running = agent
        .registry
        .running(&head.namespace, &head.name)
        .filter(|op| !op.is_finished());
    let (in_progress_revision, in_progress_operation) = match (&head.lock, running) {
        (Some(l), _) => (l.revision, l.operation.title().to_lowercase()),
        (None, Some(op)) => (op.revision, op.operation.title().to_lowercase()),
        (None, None) => (0, String::new()),
    };
    proto::ReleaseInfo {
        name: head.name.clone(),
        namespace: head.namespace.clone(),
        revision: Some(rec.info()),
        notes,
        in_progress_revision,
        in_progress_operation,
        first_deployed_unix_ms: head.first_deployed_ms,
        resources: Vec::new(),
        drift: agent.drift.get(&head.namespace, &head.name),
    }
}

/// The newest revision (or the one asked for), as `helm status` shows it.
pub async fn status(agent: &Agent, req: &StatusRequest) -> Result<proto::ReleaseInfo, OpError> {
    let (name, ns) = names(&req.release, &req.namespace)?;
    let head = agent
        .journal
        .head(ns.as_str(), name.as_str())?
        .ok_or_else(|| not_found(&name))?;
    let rev = if req.revision == 0 {
        head.latest
    } else {
        req.revision
    };
    let rec = agent
        .journal
        .revision(ns.as_str(), name.as_str(), rev)?
        .ok_or_else(|| OpError::NotFound(format!("release: not found: {name} revision {rev}")))?;
    let mut info = release_info(agent, &head, &rec);
    if rec.status != Status::Uninstalled {
        info.resources = live_states(agent, ns.as_str(), &rec).await;
    }
    if let Some(r) = info.revision.as_mut() {
        r.test_hooks = super::hooks::stored_test_hooks(&agent.journal, &rec);
    }
    Ok(info)
}

/// Each object of the revision as the cluster has it now: ready, in
/// progress, failed (by the same rules `--wait` uses) or missing.
async fn live_states(agent: &Agent, ns: &str, rec: &RevisionRecord) -> Vec<proto::ResourceState> {
    use crate::track::status::{Readiness, readiness};
    let Ok(objects) = super::parse_revision(&agent.journal, rec).await else {
        return Vec::new();
    };
    let reads = objects.iter().map(|o| async move {
        let mut object = o.object.clone();
        if let Ok(n) = agent.cluster.namespace_of(&o.object, ns).await {
            object.namespace = n;
        }
        let (state, message) = match agent.cluster.get(&o.object, ns).await {
            Ok(None) => (
                "missing".to_string(),
                "not found in the cluster".to_string(),
            ),
            Ok(Some(live)) => match readiness(
                &o.object.kind,
                &o.object.api_version,
                &live,
                &agent.settings.wait_rules,
            ) {
                Readiness::Ready(m) => ("ready".into(), m),
                // What keeps it there, where something says (a
                // Deployment's refused pods are in its message already).
                Readiness::Progress(p) => {
                    let said = crate::track::status::replica_failure(&live).is_some();
                    let why = match said {
                        true => None,
                        false => {
                            crate::track::pods::why_stuck(
                                agent.cluster.client(),
                                &object.namespace,
                                &o.object.kind,
                                &o.object.name,
                                &live,
                            )
                            .await
                        }
                    };
                    let message = match why {
                        Some(why) => format!("{}; {why}", p.message),
                        None => p.message,
                    };
                    ("in progress".into(), message)
                }
                Readiness::Failed(reason, m) => ("failed".into(), format!("{reason}: {m}")),
            },
            Err(e) => ("unknown".into(), e.to_string()),
        };
        proto::ResourceState {
            object: Some(object),
            state,
            message,
        }
    });
    futures::future::join_all(reads).await
}

/// Releases by namespace, newest revision each. Like `helm list`, only
/// deployed and failed releases unless `all` is set.
pub fn list(agent: &Agent, req: &ListRequest) -> Result<proto::ListResponse, OpError> {
    let ns = if req.all_namespaces {
        None
    } else {
        Some(Namespace::parse(&req.namespace)?)
    };
    let mut releases = Vec::new();
    for head in agent.journal.heads()? {
        if let Some(ns) = &ns
            && head.namespace != ns.as_str()
        {
            continue;
        }
        let Some(rec) = agent
            .journal
            .revision(&head.namespace, &head.name, head.latest)?
        else {
            continue;
        };
        let shown = req.all
            || matches!(rec.status, Status::Deployed | Status::Failed)
            || rec.status.is_pending();
        if shown {
            releases.push(release_info(agent, &head, &rec));
        }
    }
    releases.sort_by(|a, b| (&a.name, &a.namespace).cmp(&(&b.name, &b.namespace)));
    Ok(proto::ListResponse { releases })
}

pub fn get_revision(
    agent: &Agent,
    req: &proto::GetRevisionRequest,
) -> Result<proto::Revision, OpError> {
    let (name, ns) = names(&req.release, &req.namespace)?;
    let head = agent
        .journal
        .head(ns.as_str(), name.as_str())?
        .ok_or_else(|| not_found(&name))?;
    let rev = if req.revision == 0 {
        head.latest
    } else {
        req.revision
    };
    let gone = || OpError::NotFound(format!("release: not found: {name} revision {rev}"));
    let rec = agent
        .journal
        .revision(ns.as_str(), name.as_str(), rev)?
        .ok_or_else(gone)?;
    let text = |digest: &str| {
        agent
            .journal
            .revision_text(ns.as_str(), name.as_str(), rev, digest)?
            .ok_or_else(gone)
    };
    let hooks = super::hooks::from_json(&text(&rec.hooks_blob)?);
    let hooks_manifest = super::hooks::manifest_text(&hooks);
    let mut info = rec.info();
    info.test_hooks = super::hooks::test_hooks(&hooks);
    Ok(proto::Revision {
        release: head.name.clone(),
        namespace: head.namespace.clone(),
        info: Some(info),
        manifest: text(&rec.manifest_blob)?,
        values_json: text(&rec.values_blob)?,
        computed_values_json: text(&rec.computed_values_blob)?,
        notes: text(&rec.notes_blob)?,
        chart_digest: rec.chart.digest.clone(),
        hooks_manifest,
        chart_metadata_json: if req.chart_metadata {
            chart_metadata(agent, &rec.chart.digest)?
        } else {
            String::new()
        },
    })
}

/// The Chart.yaml of a stored chart, as JSON; "" if the journal has no
/// chart of that digest. The chart is unpacked as an operation unpacks it.
fn chart_metadata(agent: &Agent, digest: &str) -> Result<String, OpError> {
    // An imported Helm revision without its chart has no digest.
    if digest.is_empty() {
        return Ok(String::new());
    }
    let Some(mut bytes) = agent.journal.chart(digest)? else {
        return Ok(String::new());
    };
    let unreadable =
        |e: String| OpError::FailedPrecondition(format!("reading chart {digest}: {e}"));
    let reader = bytes.reader().map_err(|e| unreadable(e.to_string()))?;
    let limits = &agent.settings.limits;
    let keep = &mut |data| crate::spool::kept(agent.journal.path(), data);
    let files = berth::chart::unpack_keeping(reader, limits, keep)
        .map_err(|e| unreadable(e.to_string()))?;
    let loaded =
        berth::chart::build_keeping(files, limits, keep).map_err(|e| unreadable(e.to_string()))?;
    Ok(loaded.chart.metadata.to_string())
}
