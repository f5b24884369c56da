//! Moving releases between Helm and berth.
//!
//! `import` reads a Helm release's history from its `helm.sh/release.v1`
//! Secrets and records every revision in the journal under Helm's revision
//! numbers, so history, status, get and rollback show it and the next
//! upgrade continues from it. `export_helm` writes berth's deployed
//! revision back as a Helm release Secret so `helm` can still read (and
//! take over) the release.
//!
//! Chart bundles: Helm's release JSON carries the chart's metadata,
//! templates, files, values and schema (never its subcharts: Helm does not
//! store them). Import packs those into a bundle, stored by digest like an
//! uploaded chart, so an imported revision has a chart as any other and
//! exporting it back gives Helm the same chart. Rollback does not need it:
//! it re-applies the stored manifest.

use std::collections::BTreeMap;

use berth::proto;
use berth::types::{Namespace, ReleaseName};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::{Agent, Caller, OpError};
use crate::cluster::{ClusterError, FIELD_MANAGER};
use crate::helm_release::{self as helm, Release};
use crate::journal::{self, ChartRef, OpKind, ReleaseHead, RevisionRecord, Status, TestRun};

/// Who the journal records as having made an imported revision.
pub const IMPORTED_BY: &str = "helm";

fn names(release: &str, namespace: &str) -> Result<(ReleaseName, Namespace), OpError> {
    Ok((ReleaseName::parse(release)?, Namespace::parse(namespace)?))
}

fn kube_error(what: String, e: kube::Error) -> OpError {
    OpError::Cluster(ClusterError::Other(format!(
        "{what}: {}",
        crate::cluster::describe(&e)
    )))
}

/// One of Helm's release Secrets.
struct HelmSecret {
    name: String,
    data: Option<Vec<u8>>,
    /// The release's own labels (Helm's `--labels`), without Helm's.
    labels: BTreeMap<String, String>,
}

/// Helm's release Secrets of `name` in `ns`.
async fn helm_secrets(agent: &Agent, ns: &str, name: &str) -> Result<Vec<HelmSecret>, OpError> {
    let api: Api<Secret> = Api::namespaced(agent.cluster.client(), ns);
    let list = api
        .list(&ListParams::default().labels(&helm::selector(name)))
        .await
        .map_err(|e| kube_error(format!("listing Helm release Secrets in {ns}"), e))?;
    Ok(list
        .items
        .into_iter()
        .filter(|s| s.type_.as_deref() == Some(helm::SECRET_TYPE))
        .map(|s| HelmSecret {
            data: s
                .data
                .and_then(|mut d| d.remove(helm::DATA_KEY))
                .map(|b| b.0),
            labels: helm::release_labels(s.metadata.labels.unwrap_or_default()),
            name: s.metadata.name.unwrap_or_default(),
        })
        .collect())
}

/// Decode one Secret; errors name it.
/// The largest release JSON an imported Secret may unpack to: its chart's
/// files (base64 in the JSON) and manifest within what an upload and its
/// rendering may hold.
fn max_release_json(agent: &Agent) -> u64 {
    let s = &agent.settings;
    s.limits
        .max_unpacked
        .saturating_mul(2)
        .saturating_add(s.max_values as u64)
}

fn decode_secret(
    agent: &Agent,
    ns: &str,
    secret: &str,
    data: Option<&[u8]>,
) -> Result<Value, OpError> {
    let data = data.ok_or_else(|| {
        OpError::FailedPrecondition(format!(
            "Secret {ns}/{secret} cannot be decoded: it has no {:?} data",
            helm::DATA_KEY
        ))
    })?;
    helm::decode(data, max_release_json(agent)).map_err(|e| {
        OpError::FailedPrecondition(format!("Secret {ns}/{secret} cannot be decoded: {e}"))
    })
}

fn status_of(helm_status: &str) -> Option<Status> {
    Some(match helm_status {
        "deployed" => Status::Deployed,
        "superseded" => Status::Superseded,
        "failed" => Status::Failed,
        "uninstalled" => Status::Uninstalled,
        // An operation Helm never finished: nothing holds it any more.
        "uninstalling" | "pending-install" | "pending-upgrade" | "pending-rollback" | "unknown" => {
            Status::Failed
        }
        _ => return None,
    })
}

/// The chart of a Helm release packed as a berth bundle (sorted, fixed
/// times, so the same chart gives the same digest), and the coalesced
/// values the templates saw (`helm get values --all`).
fn chart_bundle(chart: &helm::Chart) -> Result<Vec<u8>, String> {
    let yaml = |v: &serde_json::Map<String, Value>| {
        serde_saphyr::to_string(v).unwrap_or_else(|_| Value::Object(v.clone()).to_string())
    };
    let mut files = vec![berth::chart::BufferedFile {
        name: "Chart.yaml".into(),
        data: yaml(&chart.metadata).into_bytes().into(),
    }];
    if let Some(values) = &chart.values {
        files.push(berth::chart::BufferedFile {
            name: "values.yaml".into(),
            data: yaml(values).into_bytes().into(),
        });
    }
    if let Some(schema) = chart.schema.as_deref().filter(|s| !s.is_empty()) {
        files.push(berth::chart::BufferedFile {
            name: "values.schema.json".into(),
            data: helm::decode_bytes(schema)
                .map_err(|e| format!("chart schema: {e}"))?
                .into(),
        });
    }
    for f in chart.templates.iter().chain(&chart.files) {
        files.push(berth::chart::BufferedFile {
            name: f.name.clone(),
            data: f.bytes()?.into(),
        });
    }
    let name = chart
        .metadata
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("chart");
    berth::chart::pack(&files, name).map_err(|e| e.to_string())
}

fn computed_values(chart: Option<&helm::Chart>, config: &Value) -> Value {
    let Some(chart) = chart else {
        return config.clone();
    };
    let c = berth_template::helm::Chart {
        metadata: Value::Object(chart.metadata.clone()),
        templates: Vec::new(),
        files: Vec::new(),
        values: Value::Object(chart.values.clone().unwrap_or_default()),
        schema: None,
        dependencies: Vec::new(),
        remote_schemas: Default::default(),
    };
    berth_template::helm::coalesce_values(&c, config, &mut Vec::new())
        .unwrap_or_else(|_| config.clone())
}

/// One imported revision and the blobs it refers to.
fn record_of(
    rel: &Release,
    status: Status,
    labels: &BTreeMap<String, String>,
    blobs: &mut Vec<Vec<u8>>,
) -> Result<RevisionRecord, String> {
    let meta = rel.chart.as_ref().map(|c| &c.metadata);
    let field = |k: &str| {
        meta.and_then(|m| m.get(k))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let digest = match &rel.chart {
        Some(c) => {
            let bundle = chart_bundle(c)?;
            let d = journal::digest(&bundle);
            blobs.push(bundle);
            d
        }
        None => String::new(),
    };
    let config = Value::Object(rel.config.clone().unwrap_or_default());
    let computed = computed_values(rel.chart.as_ref(), &config);
    let hooks: Vec<berth::manifest::Hook> = rel
        .hooks
        .iter()
        .map(|h| berth::manifest::Hook {
            name: h.name.clone(),
            kind: h.kind.clone(),
            path: h.path.clone(),
            manifest: h.manifest.clone(),
            events: h.events.clone(),
            weight: h.weight,
            delete_policies: h.delete_policies.clone(),
            output_log_policies: h.output_log_policies.clone(),
        })
        .collect();
    // The test hooks' last runs, which Helm's status shows.
    let test_runs = rel
        .hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .filter_map(|h| {
            Some(TestRun {
                name: h.name.clone(),
                started_ms: helm::time_ms(h.last_run.started_at.as_deref())?,
                completed_ms: helm::time_ms(h.last_run.completed_at.as_deref()).unwrap_or(0),
                phase: h.last_run.phase.clone(),
            })
        })
        .collect();
    let texts = [
        rel.manifest.clone(),
        super::hooks::to_json(&hooks),
        config.to_string(),
        computed.to_string(),
        rel.info.notes.clone(),
    ];
    let [
        manifest_blob,
        hooks_blob,
        values_blob,
        computed_values_blob,
        notes_blob,
    ] = texts.each_ref().map(|t| journal::digest(t.as_bytes()));
    blobs.extend(texts.into_iter().map(String::into_bytes));
    let when = helm::time_ms(rel.info.last_deployed.as_deref()).unwrap_or(0);
    let rollback_of = (rel.info.rollback_revision > 0).then_some(rel.info.rollback_revision);
    let operation = if rollback_of.is_some() {
        OpKind::Rollback
    } else if matches!(rel.info.status.as_str(), "uninstalled" | "uninstalling") {
        OpKind::Uninstall
    } else if rel.version == 1 {
        OpKind::Install
    } else {
        OpKind::Upgrade
    };
    Ok(RevisionRecord {
        revision: rel.version,
        status,
        operation,
        chart: ChartRef {
            name: field("name"),
            version: field("version"),
            app_version: field("appVersion"),
            digest,
        },
        description: rel.info.description.clone(),
        by: IMPORTED_BY.into(),
        client_addr: String::new(),
        client_version: String::new(),
        created_ms: when,
        updated_ms: when,
        manifest_blob,
        hooks_blob,
        values_blob,
        computed_values_blob,
        notes_blob,
        rollback_of,
        labels: labels.clone(),
        test_runs,
    })
}

/// `berth import NAME`: bring a Helm release's whole history into the
/// journal. Refused, with the journal unchanged, if berth already has the
/// release, Helm has none by that name, or any Secret cannot be decoded.
pub async fn import(
    agent: &Agent,
    req: &proto::ImportRequest,
    caller: &Caller,
) -> Result<proto::ImportResponse, OpError> {
    let (name, namespace) = names(&req.release, &req.namespace)?;
    let (ns, rel) = (namespace.as_str(), name.as_str());
    if agent.journal.head(ns, rel)?.is_some() {
        return Err(OpError::AlreadyExists(format!(
            "release {rel:?} already exists in berth's journal (namespace {ns:?}); import only takes releases berth does not manage yet"
        )));
    }
    let secrets = helm_secrets(agent, ns, rel).await?;
    if secrets.is_empty() {
        return Err(OpError::NotFound(format!(
            "no Helm release {rel:?} in namespace {ns:?} (no Secret of type {} labelled {})",
            helm::SECRET_TYPE,
            helm::selector(rel)
        )));
    }
    let mut releases: BTreeMap<u64, (Release, Status, &BTreeMap<String, String>)> = BTreeMap::new();
    for HelmSecret {
        name: secret,
        data,
        labels,
    } in &secrets
    {
        let bad = |why: String| {
            OpError::FailedPrecondition(format!("Secret {ns}/{secret} cannot be decoded: {why}"))
        };
        let value = decode_secret(agent, ns, secret, data.as_deref())?;
        let r = Release::from_json(value).map_err(bad)?;
        if r.name != rel || r.version == 0 {
            return Err(bad(format!(
                "it holds release {:?} version {}, not a version of {rel:?}",
                r.name, r.version
            )));
        }
        let status = status_of(&r.info.status)
            .ok_or_else(|| bad(format!("unknown release status {:?}", r.info.status)))?;
        if releases.insert(r.version, (r, status, labels)).is_some() {
            return Err(bad("another Secret holds the same version".into()));
        }
    }
    let mut blobs = Vec::new();
    let mut records = Vec::new();
    for (r, status, labels) in releases.values() {
        let rec = record_of(r, *status, labels, &mut blobs).map_err(|why| {
            OpError::FailedPrecondition(format!(
                "Secret {ns}/{} cannot be decoded: {why}",
                helm::secret_name(rel, r.version)
            ))
        })?;
        records.push(rec);
    }
    let latest = *releases.keys().next_back().expect("at least one Secret");
    // Helm marks the previous deployed revision superseded on each
    // upgrade; if an interrupted one left two, the newest is live.
    let deployed = releases
        .iter()
        .rev()
        .find(|(_, (_, s, _))| *s == Status::Deployed)
        .map(|(v, _)| *v);
    let first_deployed_ms = deployed
        .or(Some(latest))
        .and_then(|v| releases.get(&v))
        .and_then(|(r, _, _)| helm::time_ms(r.info.first_deployed.as_deref()))
        .unwrap_or(0);
    let head = ReleaseHead {
        namespace: ns.to_string(),
        name: rel.to_string(),
        latest,
        deployed,
        lock: None,
        first_deployed_ms,
    };
    agent
        .journal
        .import(head, records.clone(), blobs)
        .await
        .map_err(|e| match e {
            journal::JournalError::Conflict(m) => OpError::AlreadyExists(m),
            other => OpError::Journal(other),
        })?;
    tracing::info!(
        release = rel,
        namespace = ns,
        revisions = records.len(),
        latest,
        identity = %caller.identity,
        "imported a Helm release"
    );
    Ok(proto::ImportResponse {
        revisions: records.iter().map(RevisionRecord::info).collect(),
        deployed_revision: deployed.unwrap_or(0),
    })
}

/// A chart as Helm's release JSON carries it (pkg/chart/v2/chart.go).
fn chart_json(chart: &berth_template::helm::Chart) -> Value {
    let files = |fs: &[berth_template::helm::File]| -> Value {
        fs.iter()
            .map(|f| json!({"name": f.name, "data": helm::bytes_json(&f.data)}))
            .collect()
    };
    json!({
        "metadata": chart.metadata,
        "lock": null,
        "templates": files(&chart.templates),
        "values": chart.values,
        "schema": helm::bytes_json(chart.schema.as_deref().unwrap_or_default()),
        "schemamodtime": "0001-01-01T00:00:00Z",
        "files": files(&chart.files),
    })
}

/// The chart of a revision for Helm: its stored bundle, or (a revision
/// without one) the metadata Helm's list and history show.
fn revision_chart(agent: &Agent, rec: &RevisionRecord) -> Result<Value, OpError> {
    let bundle = if rec.chart.digest.is_empty() {
        None
    } else {
        agent.journal.blob(&rec.chart.digest)?
    };
    let Some(bundle) = bundle else {
        return Ok(json!({
            "metadata": {"apiVersion": "v2", "name": rec.chart.name,
                         "version": rec.chart.version, "appVersion": rec.chart.app_version},
            "lock": null, "templates": [], "values": {}, "schema": null,
            "schemamodtime": "0001-01-01T00:00:00Z", "files": [],
        }));
    };
    let bad =
        |e: String| OpError::FailedPrecondition(format!("stored chart {}: {e}", rec.chart.digest));
    let files =
        berth::chart::unpack(&bundle, &agent.settings.limits).map_err(|e| bad(e.to_string()))?;
    let loaded =
        berth::chart::build_owned(files, &agent.settings.limits).map_err(|e| bad(e.to_string()))?;
    Ok(chart_json(&loaded.chart))
}

/// Helm's release JSON (pkg/release/v1) of a berth revision.
fn release_json(agent: &Agent, head: &ReleaseHead, rec: &RevisionRecord) -> Result<Value, OpError> {
    let j = &agent.journal;
    let config = berth::values::from_json(&j.text_blob(&rec.values_blob)?).unwrap_or(json!({}));
    let hooks: Vec<Value> = super::hooks::from_json(&j.text_blob(&rec.hooks_blob)?)
        .into_iter()
        .map(|h| {
            let last_run = match rec.test_runs.iter().find(|r| r.name == h.name) {
                Some(r) => json!({
                    "started_at": helm::time_json(r.started_ms),
                    "completed_at": helm::time_json(r.completed_ms),
                    "phase": r.phase,
                }),
                None => json!({"phase": ""}),
            };
            json!({
                "name": h.name, "kind": h.kind, "path": h.path, "manifest": h.manifest,
                "events": h.events, "last_run": last_run, "weight": h.weight,
                "delete_policies": h.delete_policies,
                "output_log_policies": h.output_log_policies,
            })
        })
        .collect();
    let mut info = json!({
        "first_deployed": helm::time_json(head.first_deployed_ms.max(0)),
        "last_deployed": helm::time_json(rec.created_ms),
        "description": rec.description,
        "status": "deployed",
        "notes": j.text_blob(&rec.notes_blob)?,
    });
    if let Some(target) = rec.rollback_of {
        info["rollback_revision"] = json!(target);
    }
    let mut release = json!({
        "name": head.name,
        "info": info,
        "chart": revision_chart(agent, rec)?,
        "manifest": j.text_blob(&rec.manifest_blob)?,
        "hooks": hooks,
        "version": rec.revision,
        "namespace": head.namespace,
        // No apply_method, as releases of Helm before v4: Helm's next
        // upgrade then patches client-side and takes the fields over. With
        // "ssa" it would apply server-side without forcing and fail on
        // every field berth's apply owns (pkg/action/upgrade.go "auto").
    });
    // Go's omitempty: no config key for empty values.
    if config.as_object().is_some_and(|m| !m.is_empty()) {
        release["config"] = config;
    }
    Ok(release)
}

fn secret_body(name: &str, labels: BTreeMap<String, String>, data: Vec<u8>) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": labels},
        "type": helm::SECRET_TYPE,
        "data": {helm::DATA_KEY: ByteString(data)},
    })
}

/// `berth export-helm NAME`: write the deployed revision as Helm's release
/// Secret `sh.helm.release.v1.NAME.vN`, and mark Helm's previously deployed
/// revisions superseded, as a Helm upgrade would.
pub async fn export_helm(
    agent: &Agent,
    req: &proto::ExportHelmRequest,
    caller: &Caller,
) -> Result<proto::ExportHelmResponse, OpError> {
    let (name, namespace) = names(&req.release, &req.namespace)?;
    let (ns, rel) = (namespace.as_str(), name.as_str());
    let head = agent.journal.head(ns, rel)?.ok_or_else(|| {
        OpError::NotFound(format!("release: not found: {rel:?} in namespace {ns:?}"))
    })?;
    let deployed = head.deployed.ok_or_else(|| {
        OpError::FailedPrecondition(format!(
            "release {rel:?} has no deployed revision to export"
        ))
    })?;
    let rec = agent.journal.revision(ns, rel, deployed)?.ok_or_else(|| {
        OpError::NotFound(format!("release: not found: {rel} revision {deployed}"))
    })?;
    let release = release_json(agent, &head, &rec)?;
    let secret = helm::secret_name(rel, deployed);
    let now = journal::now_ms() / 1000;
    let api: Api<Secret> = Api::namespaced(agent.cluster.client(), ns);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    // The release's own labels beside Helm's, as Helm's driver stores them.
    let mut labels = helm::release_labels(rec.labels.clone());
    labels.extend(helm::labels(rel, "deployed", deployed, now));
    let body = secret_body(&secret, labels, helm::encode(&release));
    api.patch(&secret, &params, &Patch::Apply(&body))
        .await
        .map_err(|e| kube_error(format!("writing Secret {ns}/{secret}"), e))?;

    // Helm's own upgrade leaves exactly one deployed Secret.
    let mut superseded = Vec::new();
    for HelmSecret {
        name: other, data, ..
    } in helm_secrets(agent, ns, rel).await?
    {
        if other == secret {
            continue;
        }
        let Ok(mut value) = decode_secret(agent, ns, &other, data.as_deref()) else {
            continue;
        };
        if value["info"]["status"] != "deployed" {
            continue;
        }
        let version = value["version"].as_u64().unwrap_or(0);
        value["info"]["status"] = json!("superseded");
        let mut labels = helm::labels(rel, "superseded", version, now);
        labels.remove("createdAt");
        labels.insert("modifiedAt".into(), now.to_string());
        let body = secret_body(&other, labels, helm::encode(&value));
        api.patch(&other, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| kube_error(format!("writing Secret {ns}/{other}"), e))?;
        superseded.push(version);
    }
    superseded.sort_unstable();
    tracing::info!(
        release = rel,
        namespace = ns,
        revision = deployed,
        secret = %secret,
        identity = %caller.identity,
        "exported the deployed revision for Helm"
    );
    Ok(proto::ExportHelmResponse {
        secret_name: secret,
        revision: deployed,
        superseded_revisions: superseded,
    })
}
