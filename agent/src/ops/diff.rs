//! What an install, upgrade or rollback would change, without changing it:
//! each object is applied as a server-side dry run and compared with the
//! live one; objects that would be pruned are shown as deletions. The
//! client renders the unified diffs.

use std::collections::HashSet;

use berth::manifest::Object;
use berth::proto::{self, PlanAction, event::Kind};

use super::{Agent, Failure, identity};
use crate::cluster::{ClusterError, ValidationDirective};
use crate::events::OpEvents;

/// How changes are computed and shown.
pub struct How {
    /// Secrets' values as they are, not masked (`--show-secrets`).
    pub show_secrets: bool,
    /// The dry-run applies' `fieldValidation`, as the operation would apply.
    pub validation: Option<ValidationDirective>,
}

fn yaml(v: &serde_json::Value) -> String {
    berth_template::yaml::to_yaml(v)
}

/// How applying one object would change the cluster: None when it would
/// change nothing, else the live and dry-run objects (a missing live object
/// is a creation). Shared by `berth diff` and `berth drift`.
pub async fn compare(
    agent: &Agent,
    o: &Object,
    release: &str,
    namespace: &str,
    how: &How,
) -> Result<Option<proto::ResourceDiff>, ClusterError> {
    let (live, desired) = match agent
        .cluster
        .dry_run_apply(o, release, namespace, how.validation.clone())
        .await
    {
        Ok(pair) => pair,
        // A kind the cluster does not serve yet (its CRD comes with the
        // chart's crds/; others were refused by the kinds check) or a
        // namespace still to be created: nothing is live,
        // and the rendered object is what would be sent.
        Err(ClusterError::UnknownKind { .. }) => (None, o.body.clone()),
        Err(ClusterError::Api { code: 404, .. }) => (None, o.body.clone()),
        Err(e) => return Err(e),
    };
    let action = match &live {
        None => PlanAction::Create,
        Some(l) if *l == desired => return Ok(None),
        Some(_) => PlanAction::Update,
    };
    let mut object = o.object.clone();
    if let Ok(ns) = agent.cluster.namespace_of(&o.object, namespace).await {
        object.namespace = ns;
    }
    let (mut live, mut desired) = (live, desired);
    if !how.show_secrets {
        berth::secrets::redact_pair(live.as_mut(), Some(&mut desired));
    }
    Ok(Some(proto::ResourceDiff {
        object: Some(object),
        action: action as i32,
        live: live.as_ref().map(yaml).unwrap_or_default(),
        desired: yaml(&desired),
    }))
}

/// Send each object to the API server as a dry-run apply, as the
/// operation would apply it (as many at once as applies go); the first
/// the server refuses, in install order, fails it.
pub async fn dry_run(
    agent: &Agent,
    release: &str,
    namespace: &str,
    objects: &[Object],
    how: &How,
) -> Result<(), Failure> {
    let sent: Vec<_> = objects
        .iter()
        .map(|o| {
            let compared = compare(agent, o, release, namespace, how);
            async move { (o, compared.await) }
        })
        .collect();
    let results = super::few_at_a_time(agent, sent).await;
    for (o, r) in results {
        r.map_err(|e| Failure {
            reason: "DryRunFailed".into(),
            message: e.to_string(),
            culprit: Some(Box::new(o.object.clone())),
        })?;
    }
    Ok(())
}

pub async fn diff(
    agent: &Agent,
    op: &OpEvents,
    release: &str,
    namespace: &str,
    objects: &[Object],
    previous: &[Object],
    how: &How,
) -> Result<(), Failure> {
    for o in objects {
        let change = compare(agent, o, release, namespace, how)
            .await
            .map_err(|e| Failure {
                reason: "DiffFailed".into(),
                message: e.to_string(),
                culprit: Some(Box::new(o.object.clone())),
            })?;
        if let Some(change) = change {
            op.emit(Kind::ResourceDiff(change));
        }
    }
    let kept: HashSet<_> = objects.iter().map(|o| identity(o, namespace)).collect();
    for o in previous
        .iter()
        .filter(|o| !kept.contains(&identity(o, namespace)))
    {
        let live = agent
            .cluster
            .live(&o.object, namespace)
            .await
            .map_err(|e| Failure::new("DiffFailed", e.to_string()))?;
        // What the upgrade's prune would leave (the cluster's copy says keep).
        if let Some(mut live) = live.filter(|l| !berth::manifest::kept_on_prune(l)) {
            if !how.show_secrets {
                berth::secrets::redact_pair(Some(&mut live), None);
            }
            let mut object = o.object.clone();
            if let Ok(ns) = agent.cluster.namespace_of(&o.object, namespace).await {
                object.namespace = ns;
            }
            op.emit(Kind::ResourceDiff(proto::ResourceDiff {
                object: Some(object),
                action: PlanAction::Delete as i32,
                live: yaml(&live),
                desired: String::new(),
            }));
        }
    }
    Ok(())
}
