//! The ownership check: an install must not take over objects that exist
//! in the cluster and belong to somebody else, and an upgrade must not take
//! over those it adds. Helm refuses them in the same place (action/
//! install.go and upgrade.go, `existingResourceConflict` in validate.go):
//! otherwise the release would record an object it did not create, and its
//! uninstall (or the other owner's) would delete what the other still
//! uses. `--take-ownership` adopts them instead, as Helm's does.
//!
//! An existing object belongs to the release when its annotations name the
//! release and its namespace, and it carries berth's release label, or
//! Helm's `app.kubernetes.io/managed-by: Helm` (what Helm made for a
//! release of that name, a release `berth import` brought over, say).
//! Checked while planning, before the revision is journaled: a refusal
//! leaves the journal and the cluster as they were.

use std::collections::HashSet;

use berth::manifest::Object;
use futures::StreamExt;
use serde_json::Value;

use super::{Agent, Failure};
use crate::cluster::{
    Before, ClusterError, RELEASE_LABEL, RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION,
};

const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
const MANAGED_BY_HELM: &str = "Helm";

/// What one install or upgrade is about to apply.
pub struct Check<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    /// Helm's word for the operation: "install" or "update".
    pub operation: &'a str,
    /// The templates' objects.
    pub objects: &'a [Object],
    /// The objects of the revision being replaced: already the release's.
    pub previous: &'a [Object],
    /// `objects` as [`super::read_all`] found them, if read; else (and
    /// for those it could not read) the check reads them itself.
    pub before: Option<&'a [Option<Before>]>,
}

/// Refuse, in Helm's words, the first object new to the release that
/// exists and belongs to somebody else.
pub async fn check(agent: &Agent, c: Check<'_>) -> Result<(), Failure> {
    let known: HashSet<_> = c
        .previous
        .iter()
        .map(|o| super::identity(o, c.namespace))
        .collect();
    let new: Vec<(&Object, Option<&Before>)> = c
        .objects
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            !o.object.name.is_empty() && !known.contains(&super::identity(o, c.namespace))
        })
        .map(|(i, o)| (o, c.before.and_then(|b| b.get(i)?.as_ref())))
        .collect();
    let asks: Vec<_> = new
        .iter()
        .enumerate()
        .map(|(i, (o, before))| async move {
            let live = match before {
                Some(before) => Ok(before.metadata()),
                None => agent.cluster.get(&o.object, c.namespace).await,
            };
            (i, live)
        })
        .collect();
    let mut answers: Vec<_> = futures::stream::iter(asks)
        .buffer_unordered(agent.settings.apply_parallelism.max(1))
        .collect()
        .await;
    // The first in install order, as Helm visits them.
    answers.sort_by_key(|(i, _)| *i);
    for (i, answer) in answers {
        let o = new[i].0;
        // A kind the cluster does not serve yet (the chart's crds/, made
        // before the objects) has no objects.
        let answer = match answer {
            Err(ClusterError::UnknownKind { .. }) => Ok(None),
            other => other,
        };
        let live = answer.map_err(|e| Failure {
            reason: "ClusterUnavailable".into(),
            message: format!(
                "unable to continue with {}: could not get information about the resource {}: {e}",
                c.operation,
                described(o, None, c.namespace)
            ),
            culprit: Some(Box::new(o.object.clone())),
        })?;
        let Some(live) = live else { continue };
        if let Err(why) = owned_by(&live, c.release, c.namespace) {
            return Err(Failure {
                reason: "OwnershipConflict".into(),
                message: format!(
                    "unable to continue with {}: {} exists and cannot be imported into the current release: {why}",
                    c.operation,
                    described(o, Some(&live), c.namespace)
                ),
                culprit: Some(Box::new(o.object.clone())),
            });
        }
    }
    Ok(())
}

/// Helm's `resourceString`: `Kind "name" in namespace "ns"`, the namespace
/// empty for a cluster-scoped object.
fn described(o: &Object, live: Option<&Value>, release_ns: &str) -> String {
    let ns = match live {
        Some(live) => live["metadata"]["namespace"].as_str().unwrap_or(""),
        None if o.object.namespace.is_empty() => release_ns,
        None => &o.object.namespace,
    };
    format!(
        "{} {:?} in namespace {:?}",
        o.object.kind, o.object.name, ns
    )
}

/// Whether `live` belongs to the release, else why not in Helm's words
/// (`checkOwnership`), with berth's label where Helm names its own.
fn owned_by(live: &Value, release: &str, release_ns: &str) -> Result<(), String> {
    let meta = &live["metadata"];
    let labels = &meta["labels"];
    let annotations = &meta["annotations"];
    let mut errors = Vec::new();
    if labels[MANAGED_BY_LABEL].as_str() != Some(MANAGED_BY_HELM)
        && let Err(e) = require(labels, RELEASE_LABEL, release)
    {
        errors.push(format!("label validation error: {e}"));
    }
    for (key, want) in [
        (RELEASE_NAME_ANNOTATION, release),
        (RELEASE_NAMESPACE_ANNOTATION, release_ns),
    ] {
        if let Err(e) = require(annotations, key, want) {
            errors.push(format!("annotation validation error: {e}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("invalid ownership metadata; {}", errors.join("; ")))
    }
}

/// Helm's `requireValue`.
fn require(map: &Value, key: &str, want: &str) -> Result<(), String> {
    match map.get(key) {
        None => Err(format!("missing key {key:?}: must be set to {want:?}")),
        Some(v) if v.as_str() == Some(want) => Ok(()),
        Some(v) => Err(format!(
            "key {key:?} must equal {want:?}: current value is {:?}",
            v.as_str().unwrap_or_default()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_of_nobody_is_refused_naming_every_missing_mark() {
        let live = json!({"metadata": {"name": "x", "namespace": "default"}});
        assert_eq!(
            owned_by(&live, "b", "default").unwrap_err(),
            "invalid ownership metadata; label validation error: missing key \"berth.dev/release\": \
             must be set to \"b\"; annotation validation error: missing key \
             \"meta.helm.sh/release-name\": must be set to \"b\"; annotation validation error: \
             missing key \"meta.helm.sh/release-namespace\": must be set to \"default\""
        );
    }

    #[test]
    fn another_releases_object_is_refused_with_its_current_values() {
        let live = json!({"metadata": {
            "labels": {"berth.dev/release": "a"},
            "annotations": {"meta.helm.sh/release-name": "a", "meta.helm.sh/release-namespace": "default"},
        }});
        assert_eq!(
            owned_by(&live, "b", "default").unwrap_err(),
            "invalid ownership metadata; label validation error: key \"berth.dev/release\" must \
             equal \"b\": current value is \"a\"; annotation validation error: key \
             \"meta.helm.sh/release-name\" must equal \"b\": current value is \"a\""
        );
        // The same name in another namespace is another release.
        let live = json!({"metadata": {
            "labels": {"berth.dev/release": "b"},
            "annotations": {"meta.helm.sh/release-name": "b", "meta.helm.sh/release-namespace": "prod"},
        }});
        assert!(owned_by(&live, "b", "default").is_err());
        assert!(owned_by(&live, "b", "prod").is_ok());
    }

    #[test]
    fn helms_objects_of_the_same_release_belong_to_it() {
        let live = json!({"metadata": {
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "b", "meta.helm.sh/release-namespace": "default"},
        }});
        assert!(owned_by(&live, "b", "default").is_ok());
        assert!(owned_by(&live, "c", "default").is_err());
    }
}
