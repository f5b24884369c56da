//! A chart's `crds/` directory, handled as Helm's install does
//! (action/install.go installCRDs): on install only, before any template's
//! object, created if absent and never updated, waited for until
//! Established, not part of the release manifest and so never deleted.
//!
//! Helm installs them before it renders, so `.Capabilities.APIVersions`
//! already lists their kinds. berth renders first (a render error must leave
//! the cluster untouched) and gives the renderer those API versions instead.

use berth::manifest::{self, Object};
use berth::proto::{self, event::Kind};
use berth::render::Crd;
use futures::StreamExt;
use tokio::time::Instant;

use super::{Agent, Failure, phase};
use crate::events::OpEvents;

const CRD_KIND: &str = "CustomResourceDefinition";

/// The CRDs of `crds/` as objects to create.
pub fn objects(crds: &[Crd]) -> Result<Vec<Object>, Failure> {
    let mut out = Vec::new();
    for crd in crds {
        let text = format!("---\n# Source: {}\n{}\n", crd.filename, crd.data);
        let objects = manifest::parse_objects(&text)
            .map_err(|e| Failure::new("ChartInvalid", e.to_string()))?;
        out.extend(objects);
    }
    Ok(out)
}

/// `group/version` and `group/version/Kind` for every served version of
/// every CRD: what discovery will list once they are Established.
pub fn api_versions(objects: &[Object]) -> Vec<String> {
    let mut out = Vec::new();
    for (gv, kind) in kinds(objects) {
        out.push(gv.clone());
        out.push(format!("{gv}/{kind}"));
    }
    out
}

/// `(group/version, Kind)` for every served version of every CRD among
/// `objects`: the kinds they add to the cluster once Established.
pub fn kinds(objects: &[Object]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for o in objects.iter().filter(|o| o.object.kind == CRD_KIND) {
        let spec = &o.body["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        else {
            continue;
        };
        for v in spec["versions"].as_array().into_iter().flatten() {
            if v["served"].as_bool() == Some(false) {
                continue;
            }
            if let Some(name) = v["name"].as_str() {
                out.push((format!("{group}/{name}"), kind.to_string()));
            }
        }
    }
    out
}

/// Create each CRD that does not exist yet, then wait until all of them are
/// Established (Helm waits up to 60 s; berth within the operation's deadline).
pub async fn install(
    agent: &Agent,
    op: &OpEvents,
    objects: &[Object],
    deadline: Instant,
) -> Result<(), Failure> {
    if objects.is_empty() {
        return Ok(());
    }
    phase(op, "crds", deadline);
    for o in objects {
        let action = agent
            .cluster
            .create_if_absent(o)
            .await
            .map_err(|e| Failure {
                reason: "CrdInstallFailed".into(),
                message: e.to_string(),
                culprit: Some(Box::new(o.object.clone())),
            })?;
        op.emit(Kind::ResourceApplied(proto::ResourceApplied {
            object: Some(o.object.clone()),
            action: action as i32,
        }));
    }
    // Waited for together, as Helm's Wait waits for all of them: a watch
    // each, a few at a time (collected first: a stream over a closure's
    // futures trips the compiler's Send check in the spawned operation).
    let waits: Vec<_> = objects
        .iter()
        .filter(|o| o.object.kind == CRD_KIND)
        .map(|o| {
            let established = agent.cluster.crd_established(&o.object.name);
            async move { (o, tokio::time::timeout_at(deadline, established).await) }
        })
        .collect();
    let mut waits = futures::stream::iter(waits).buffered(agent.settings.apply_parallelism.max(1));
    while let Some((o, established)) = waits.next().await {
        match established {
            Ok(Ok(())) => {
                op.emit(Kind::ResourceReady(proto::ResourceReady {
                    object: Some(o.object.clone()),
                    message: "Established".into(),
                    ..Default::default()
                }));
            }
            Ok(Err(e)) => {
                return Err(Failure {
                    reason: "CrdNotEstablished".into(),
                    message: e.to_string(),
                    culprit: Some(Box::new(o.object.clone())),
                });
            }
            Err(_) => {
                return Err(Failure {
                    reason: "Timeout".into(),
                    message: format!(
                        "timed out waiting for CRD {} to be Established",
                        o.object.name
                    ),
                    culprit: Some(Box::new(o.object.clone())),
                });
            }
        }
    }
    // The new kinds must resolve when the templates' objects are applied.
    agent.cluster.forget_capabilities().await;
    Ok(())
}
