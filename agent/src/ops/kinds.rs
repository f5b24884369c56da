//! The kinds check: every object an operation would send to the cluster
//! must be of a kind the cluster serves, checked while planning, before the
//! revision is journaled or anything touches the cluster. Helm does the
//! same when it builds the release manifest's objects against discovery
//! (action/install.go, upgrade.go, rollback.go: `KubeClient.Build`), and
//! refuses with cli-runtime's "resource mapping not found … ensure CRDs are
//! installed first" (resource/mapper.go); without it, an unknown kind fails
//! at apply time, after the objects before it were created.
//!
//! Kinds the operation brings along pass: those of the chart's crds/,
//! created and waited for before anything else (see [`super::crds`]). A
//! CRD among the templates does not make its kind pass: it is applied with
//! the other objects, not waited for, so a custom resource of its kind
//! would fail at apply time; Helm refuses such a chart the same way.
//! Hooks are checked too: those of the events this operation runs, but for
//! a kind a CRD among the templates or the hooks defines (Helm builds each
//! hook only as it runs it, so a post-install hook of a kind the templates'
//! CRD brings, cert-manager's ClusterIssuer beside its CRDs say, works).
//!
//! Not here: whether the objects are valid (the server's apply says).

use std::collections::{HashMap, HashSet};

use berth::manifest::{Hook, Object};
use futures::StreamExt;

use super::{Agent, Failure};

/// What one operation is about to send.
pub struct Check<'a> {
    /// Helm's words for the manifest: "release manifest" (install), "new
    /// release manifest" (upgrade, rollback).
    pub manifest: &'a str,
    /// The templates' objects.
    pub objects: &'a [Object],
    /// The crds/ objects this operation creates before anything else.
    pub crds: &'a [Object],
    /// The hooks this operation runs (none with --no-hooks), and its events:
    /// (pre, post), e.g. ("pre-install", "post-install").
    pub hooks: &'a [Hook],
    pub events: (&'a str, &'a str),
}

type Kind = (String, String);

fn kind_of(o: &Object) -> Kind {
    (o.object.api_version.clone(), o.object.kind.clone())
}

/// Refuse, in one line, the first objects whose kinds the cluster does not
/// serve; every kind is asked of discovery afresh (see
/// [`crate::cluster::Cluster::serves`]), so a CRD created or deleted since
/// the agent last looked counts.
pub async fn check(agent: &Agent, c: Check<'_>) -> Result<(), Failure> {
    let brought: HashSet<Kind> = super::crds::kinds(c.crds).into_iter().collect();
    let (pre, post) = c.events;
    let mut hooks = Vec::new();
    for hook in c.hooks {
        let event = if hook.events.iter().any(|e| e == pre) {
            pre
        } else if hook.events.iter().any(|e| e == post) {
            post
        } else {
            continue;
        };
        hooks.push((event, hook, super::hooks::objects(hook)?));
    }
    // A hook's kind may also come from a CRD the operation applies before
    // the hook runs: one among the templates (before post- hooks) or among
    // its hooks (Helm builds a hook only when it runs it). Those kinds are
    // left to the hook's own run.
    let mut made_by_op: HashSet<Kind> = super::crds::kinds(c.objects).into_iter().collect();
    for (_, _, objects) in &hooks {
        made_by_op.extend(super::crds::kinds(objects));
    }
    // The objects to ask about: the templates', then the hooks'.
    let mut asked: Vec<&Object> = c
        .objects
        .iter()
        .filter(|o| !brought.contains(&kind_of(o)))
        .collect();
    for (_, _, objects) in &hooks {
        asked.extend(
            objects
                .iter()
                .filter(|o| !brought.contains(&kind_of(o)) && !made_by_op.contains(&kind_of(o))),
        );
    }
    let unknown = unserved(agent, &asked).await?;
    if unknown.is_empty() {
        return Ok(());
    }

    // Helm reports every object of the manifest it could not build; one
    // per kind keeps the line short and says as much.
    let mut reported = HashSet::new();
    let missing: Vec<&Object> = c
        .objects
        .iter()
        .filter(|o| unknown.contains(&kind_of(o)) && reported.insert(kind_of(o)))
        .collect();
    if let Some(culprit) = missing.first() {
        let errors: Vec<String> = missing.iter().map(|o| mapping_not_found(o)).collect();
        let errors = match errors.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        return Err(refusal(
            culprit,
            format!(
                "unable to build kubernetes objects from {}: {errors}",
                c.manifest
            ),
        ));
    }
    for (event, hook, objects) in &hooks {
        if let Some(o) = objects.iter().find(|o| unknown.contains(&kind_of(o))) {
            return Err(refusal(
                o,
                format!(
                    "unable to build kubernetes object for {event} hook {}: {}",
                    hook.path,
                    mapping_not_found(o)
                ),
            ));
        }
    }
    Ok(())
}

/// The kinds among `objects` the cluster does not serve, each asked once
/// (a few at a time).
async fn unserved(agent: &Agent, objects: &[&Object]) -> Result<HashSet<Kind>, Failure> {
    let mut distinct: HashMap<Kind, &Object> = HashMap::new();
    for o in objects {
        distinct.entry(kind_of(o)).or_insert(o);
    }
    // Collected first: a stream over a closure's futures trips the
    // compiler's Send check in the spawned operation.
    let asks: Vec<_> = distinct
        .into_iter()
        .map(|(kind, o)| {
            let served = agent.cluster.serves(&o.object);
            async move { (kind, o, served.await) }
        })
        .collect();
    let answers: Vec<_> = futures::stream::iter(asks)
        .buffer_unordered(agent.settings.apply_parallelism.max(1))
        .collect()
        .await;
    let mut unknown = HashSet::new();
    for (kind, o, answer) in answers {
        match answer {
            Ok(true) => {}
            Ok(false) => {
                unknown.insert(kind);
            }
            Err(e) => {
                return Err(Failure {
                    reason: "ClusterUnavailable".into(),
                    message: format!("discovery: {e}"),
                    culprit: Some(Box::new(o.object.clone())),
                });
            }
        }
    }
    Ok(unknown)
}

/// cli-runtime's words (resource/mapper.go infoForData), with the
/// template the object came from where Helm, building from a buffer, has
/// "". Its "\nensure CRDs are installed first" joins the line.
fn mapping_not_found(o: &Object) -> String {
    format!(
        "resource mapping not found for name: {:?} namespace: {:?} from {:?}: no matches for kind {:?} in version {:?}",
        o.object.name, o.object.namespace, o.source, o.object.kind, o.object.api_version
    )
}

fn refusal(culprit: &Object, message: String) -> Failure {
    Failure {
        reason: "UnknownKind".into(),
        message: format!("{message}; ensure CRDs are installed first"),
        culprit: Some(Box::new(culprit.object.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(source: &str, api_version: &str, kind: &str, name: &str) -> Object {
        let text = format!(
            "---\n# Source: {source}\napiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n"
        );
        berth::manifest::parse_objects(&text).unwrap().remove(0)
    }

    #[test]
    fn the_refusal_reads_as_helms_with_the_template_it_came_from() {
        let w = object("c/templates/w.yaml", "example.com/v1", "Widget", "w");
        let f = refusal(
            &w,
            format!(
                "unable to build kubernetes objects from release manifest: {}",
                mapping_not_found(&w)
            ),
        );
        assert_eq!(
            f.message,
            "unable to build kubernetes objects from release manifest: resource mapping not found \
             for name: \"w\" namespace: \"\" from \"c/templates/w.yaml\": no matches for kind \
             \"Widget\" in version \"example.com/v1\"; ensure CRDs are installed first"
        );
        assert_eq!(f.reason, "UnknownKind");
        assert_eq!(f.culprit.unwrap().name, "w");
    }
}
